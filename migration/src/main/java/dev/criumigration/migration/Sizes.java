package dev.criumigration.migration;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes as people and tmpfs write them: "512M", "2G", "64m", "1048576". */
public final class Sizes {
    private static final Pattern SIZE = Pattern.compile("([0-9]{1,12})([KMGT]?)(I?B)?", Pattern.CASE_INSENSITIVE);

    private Sizes() {}

    /** Bytes in {@code text}; a usage error naming {@code what} when it is not a size. */
    public static long parse(String text, String what) {
        Matcher m = text == null ? null : SIZE.matcher(text.trim());
        if (m == null || !m.matches()) {
            throw new UsageException(what + " '" + text + "' is not a size: write a number with K, M or G, e.g. 512M or 2G");
        }
        long number = Long.parseLong(m.group(1));
        int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        if (number == 0) {
            throw new UsageException(what + " must be more than zero");
        }
        if (Long.numberOfLeadingZeros(number) <= shift) {
            throw new UsageException(what + " '" + text + "' is too large");
        }
        return number << shift;
    }

    /** The canonical tmpfs form of {@code bytes}, rounded up to whole MiB: "17M". */
    public static String megabytes(long bytes) {
        return ((bytes + (1 << 20) - 1) >> 20) + "M";
    }

    /** For people: "16.0 MiB", "1.50 GiB", "512 B". */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1 << 20) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        if (bytes < 1L << 30) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
        }
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
