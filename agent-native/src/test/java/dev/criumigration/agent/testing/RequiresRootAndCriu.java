package dev.criumigration.agent.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Marks a test class (or method) that runs real CRIU as root: skipped without them, failed under
 * {@code CI=true}. See {@link TestGate}.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RequiresRootAndCriu.Gate.class)
public @interface RequiresRootAndCriu {

    final class Gate implements BeforeAllCallback, BeforeEachCallback {
        @Override
        public void beforeAll(ExtensionContext context) {
            TestGate.requireRootAndCriu();
        }

        @Override
        public void beforeEach(ExtensionContext context) {
            TestGate.requireRootAndCriu();
        }
    }
}
