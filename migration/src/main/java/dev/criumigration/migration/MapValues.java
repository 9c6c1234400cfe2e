package dev.criumigration.migration;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Typed reads from the plain maps that results travel in (through Jenkins pipelines, where numbers
 * may come back as Integer, Long, BigDecimal or text). Missing or mistyped entries are usage errors
 * naming the key.
 */
final class MapValues {
    private final String what;
    private final Map<?, ?> map;

    MapValues(String what, Map<?, ?> map) {
        if (map == null) {
            throw new UsageException(what + " is missing: pass the map returned by the previous step");
        }
        this.what = what;
        this.map = map;
    }

    String string(String key) {
        Object value = map.get(key);
        if (value == null || value.toString().isEmpty()) {
            throw new UsageException(what + " has no '" + key + "': pass the map returned by the previous step unchanged");
        }
        return value.toString();
    }

    String optString(String key) {
        Object value = map.get(key);
        return value == null || value.toString().isEmpty() ? null : value.toString();
    }

    long longValue(String key, long defaultValue) {
        Object value = map.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Number number) {
            return number.longValue();
        }
        try {
            return Long.parseLong(value.toString().trim());
        } catch (NumberFormatException e) {
            throw new UsageException(what + "'s '" + key + "' is not a whole number: '" + value + "'");
        }
    }

    long longValue(String key) {
        if (map.get(key) == null) {
            throw new UsageException(what + " has no '" + key + "': pass the map returned by the previous step unchanged");
        }
        return longValue(key, 0);
    }

    int intValue(String key) {
        return Math.toIntExact(longValue(key));
    }

    int intValue(String key, int defaultValue) {
        return Math.toIntExact(longValue(key, defaultValue));
    }

    double doubleValue(String key, double defaultValue) {
        Object value = map.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Number number) {
            return number.doubleValue();
        }
        try {
            return Double.parseDouble(value.toString().trim());
        } catch (NumberFormatException e) {
            throw new UsageException(what + "'s '" + key + "' is not a number: '" + value + "'");
        }
    }

    boolean bool(String key, boolean defaultValue) {
        Object value = map.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Boolean b) {
            return b;
        }
        return switch (value.toString().trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new UsageException(what + "'s '" + key + "' is not true or false: '" + value + "'");
        };
    }

    Map<?, ?> map(String key) {
        Object value = map.get(key);
        if (!(value instanceof Map<?, ?> nested)) {
            throw new UsageException(what + " has no map '" + key + "': pass the map returned by the previous step unchanged");
        }
        return nested;
    }

    List<Object> list(String key) {
        Object value = map.get(key);
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            throw new UsageException(what + "'s '" + key + "' is not a list");
        }
        return new ArrayList<>(list);
    }
}
