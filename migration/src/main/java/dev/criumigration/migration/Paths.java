package dev.criumigration.migration;

/** Checks remote paths given by callers before they reach an agent. */
final class Paths {
    private Paths() {}

    /** An absolute, normalized path with no NUL or newline; null stays null. */
    static String absolute(String path, String what) {
        if (path == null) {
            return null;
        }
        if (!path.startsWith("/") || path.contains("\0") || path.contains("\n")) {
            throw new UsageException(what + " must be an absolute path, got '" + path + "'");
        }
        for (String part : path.split("/")) {
            if (part.equals("..") || part.equals(".")) {
                throw new UsageException(what + " must not contain '.' or '..' components, got '" + path + "'");
            }
        }
        if (path.equals("/")) {
            throw new UsageException(what + " must not be the root directory");
        }
        return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }
}
