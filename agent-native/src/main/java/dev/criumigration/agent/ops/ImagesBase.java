package dev.criumigration.agent.ops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The directory every images directory must be inside: the agent runs as root and mounts, writes and
 * removes there, so a mistyped path must not reach /etc or /. From {@code --images-base}, else the
 * environment's {@value #ENV}, else {@value #DEFAULT} (the Ansible role's criu_host_images_base and
 * the engine's default too).
 */
public final class ImagesBase {
  public static final String DEFAULT = "/var/lib/criu-migration/images";
  public static final String ENV = "CRIU_AGENT_IMAGES_BASE";
  /** Letters, digits and . _ - + , : @ = % between slashes: nothing a shell or a log could misread. */
  private static final Pattern PLAIN_PATH = Pattern.compile("[A-Za-z0-9._+,:@=%/-]+");

  private final Path base;

  private ImagesBase(Path base) {
    this.base = base;
  }

  /** {@code text} (an option's value), else the environment's, else the default. */
  public static ImagesBase of(String text) throws AgentException {
    String chosen = text != null ? text : System.getenv(ENV) != null ? System.getenv(ENV) : DEFAULT;
    Path path = PLAIN_PATH.matcher(chosen).matches() ? Path.of(chosen) : null;
    if (path == null || !path.isAbsolute() || !path.normalize().equals(path) || path.getNameCount() == 0) {
      throw AgentException.usage("the images base directory '" + chosen + "' must be an absolute, normalized path "
          + "other than / of letters, digits and . _ - + , : @ = %", "give one like " + DEFAULT
          + " (--images-base or " + ENV + ")");
    }
    return new ImagesBase(path);
  }

  public Path path() {
    return base;
  }

  /**
   * The images directory of a request: a plain path inside the base (relative ones are taken from the
   * current directory), which no symbolic link leads out of.
   */
  public Path imagesDir(String text) throws AgentException {
    if (text == null || text.isBlank()) {
      throw AgentException.usage("no images directory given", "give one with --images-dir DIR under " + base);
    }
    if (!PLAIN_PATH.matcher(text).matches()) {
      throw AgentException.usage("the images directory '" + printable(text) + "' has characters other than letters, "
          + "digits and . _ - + , : @ = %", "give a plain directory name under " + base);
    }
    Path dir = Path.of(text).toAbsolutePath().normalize();
    if (!dir.startsWith(base) || dir.equals(base)) {
      throw AgentException.usage("the images directory " + dir + " is not inside the images base directory " + base,
          "use a directory under " + base + ", or start the agent with --images-base (or " + ENV + ")");
    }
    Path existing = dir;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    try {
      Path realBase = Files.exists(base) ? base.toRealPath() : base;
      if (existing != null && existing.startsWith(base) && !existing.toRealPath().startsWith(realBase)) {
        throw AgentException.usage("the images directory " + dir + " leads out of the images base directory " + base
            + " through a symbolic link (to " + existing.toRealPath() + ")", "give a real directory under " + base);
      }
    } catch (IOException e) {
      throw AgentException.usage("cannot check the images directory " + dir + ": " + e.getMessage(),
          "give a directory under " + base);
    }
    return dir;
  }

  private static String printable(String text) {
    StringBuilder out = new StringBuilder();
    for (char c : text.toCharArray()) {
      out.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return base.toString();
  }
}
