package dev.criumigration.migration;

import java.util.regex.Pattern;

/** Checks remote paths given by callers before they reach an agent or a command line. */
public final class Paths {
    /** Letters, digits and . _ - + , : @ = % between slashes: nothing a shell or a log could misread. */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._+,:@=%/-]+");

    private Paths() {}

    /** An absolute, normalized path of plain characters; null stays null. */
    public static String absolute(String path, String what) {
        if (path == null) {
            return null;
        }
        if (!path.startsWith("/")) {
            throw new UsageException(what + " must be an absolute path, got '" + printable(path) + "'");
        }
        if (!PLAIN.matcher(path).matches()) {
            throw new UsageException(what + " '" + printable(path) + "' has characters other than letters, digits "
                    + "and . _ - + , : @ = %: give a plain directory name");
        }
        for (String part : path.split("/")) {
            if (part.equals("..") || part.equals(".")) {
                throw new UsageException(what + " must not contain '.' or '..' components, got '" + path + "'");
            }
        }
        if (path.matches("/+")) {
            throw new UsageException(what + " must not be the root directory");
        }
        return path.replaceAll("/+", "/").replaceFirst("(.)/$", "$1");
    }

    /**
     * {@code path} ({@link #absolute} already) inside {@code base}; {@code baseItself} allows the base too.
     * The agents refuse anything else, so this only says so before anything starts.
     */
    public static String inside(String path, String base, String what, boolean baseItself) {
        if (path.equals(base) ? !baseItself : !path.startsWith(base + "/")) {
            throw new UsageException(what + " " + path + " is not inside the images base directory " + base + ": use "
                    + "a directory under it, or set the images base (--images-base, SshSettings.imagesBase)");
        }
        return path;
    }

    /** Control characters shown as \xNN, so that a message cannot forge lines. */
    public static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (char c : text.toCharArray()) {
            out.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return out.toString();
    }
}
