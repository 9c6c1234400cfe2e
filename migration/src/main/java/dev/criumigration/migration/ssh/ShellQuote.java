package dev.criumigration.migration.ssh;

import java.util.List;
import java.util.regex.Pattern;

/**
 * SSH runs a command line through the login shell, so every argument is quoted on its own: the
 * command line is built from argv, never from a string a user typed.
 */
public final class ShellQuote {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private ShellQuote() {}

    public static String quote(String argument) {
        if (argument.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("an argument contains a NUL byte");
        }
        if (!argument.isEmpty() && SAFE.matcher(argument).matches()) {
            return argument;
        }
        return "'" + argument.replace("'", "'\\''") + "'";
    }

    public static String join(List<String> argv) {
        StringBuilder line = new StringBuilder();
        for (String argument : argv) {
            if (line.length() > 0) {
                line.append(' ');
            }
            line.append(quote(argument));
        }
        return line.toString();
    }
}
