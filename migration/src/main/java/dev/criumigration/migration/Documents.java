package dev.criumigration.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine's documents (reports, step results, the state file, the command line's JSON) through one
 * JSON library. Step results travel as plain maps through Jenkins pipelines, where numbers come back
 * as Integer, Long, BigDecimal or text: reading them accepts any of those, and a missing or mistyped
 * entry is a usage error that names it. Required entries are the record components marked
 * {@code @JsonProperty(required = true)}.
 */
public final class Documents {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)  // a newer engine's extra keys
            .enable(DeserializationFeature.USE_LONG_FOR_INTS)            // one integer type in parsed maps
            .build();
    private static final ObjectWriter PRETTY = MAPPER.writer(new DefaultPrettyPrinter()
            .withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                    .withArrayValueSpacing(Separators.Spacing.AFTER))
            .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n"))
            .withObjectIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n")));
    private static final String PASS_IT_UNCHANGED = "pass the map returned by the previous step unchanged";

    private Documents() {}

    /** The document as plain maps, lists, strings, numbers and booleans, in its declared order. */
    public static Map<String, Object> toMap(Object document) {
        return MAPPER.convertValue(document, new TypeReference<LinkedHashMap<String, Object>>() {});
    }

    /** Reads a map made by {@link #toMap} (or handed back by a pipeline); {@code what} names it in errors. */
    public static <T extends Record> T fromMap(Map<?, ?> map, Class<T> type, String what) {
        if (map == null) {
            throw new UsageException(what + " is missing: pass the map returned by the previous step");
        }
        requireEntries(map, type, what);
        try {
            return MAPPER.convertValue(map, type);
        } catch (IllegalArgumentException e) {
            throw new UsageException(what + "'s '" + pathOf(e) + "' is not what it should be ("
                    + rootMessage(e) + "): " + PASS_IT_UNCHANGED);
        }
    }

    /** Indented JSON of a document or a map, with a final newline left to the caller. */
    public static String toJson(Object document) {
        try {
            return PRETTY.writeValueAsString(document);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the engine's documents are plain values", e);
        }
    }

    /** A JSON object as a map; anything else is a usage error saying what was wrong. */
    public static Map<String, Object> parseObject(String json) {
        try {
            return MAPPER.readValue(json, new TypeReference<LinkedHashMap<String, Object>>() {});
        } catch (JsonProcessingException e) {
            throw new UsageException("not a JSON object: " + e.getOriginalMessage());
        }
    }

    /** The entries a record (and the records inside it) cannot be read without, checked before reading. */
    private static void requireEntries(Map<?, ?> map, Class<?> type, String what) {
        for (RecordComponent component : type.getRecordComponents()) {
            JsonProperty property = component.getAnnotation(JsonProperty.class);
            Object value = map.get(component.getName());
            if (property != null && property.required() && (value == null || value.toString().isEmpty())) {
                throw new UsageException(what + " has no '" + component.getName() + "': " + PASS_IT_UNCHANGED);
            }
            if (component.getType().isRecord() && value instanceof Map<?, ?> nested) {
                requireEntries(nested, component.getType(), what + "'s '" + component.getName() + "'");
            } else if (component.getType().isRecord() && value != null) {
                throw new UsageException(what + "'s '" + component.getName() + "' is not a map: " + PASS_IT_UNCHANGED);
            } else if (value instanceof List<?> list
                    && component.getGenericType() instanceof ParameterizedType listType
                    && listType.getActualTypeArguments()[0] instanceof Class<?> element && element.isRecord()) {
                for (Object item : list) {
                    if (!(item instanceof Map<?, ?> itemMap)) {
                        throw new UsageException(what + "'s '" + component.getName() + "' must be a list of maps");
                    }
                    requireEntries(itemMap, element, "an entry of " + what + "'s '" + component.getName() + "'");
                }
            }
        }
    }

    private static String pathOf(IllegalArgumentException e) {
        if (e.getCause() instanceof JsonMappingException mapping) {
            StringBuilder path = new StringBuilder();
            for (JsonMappingException.Reference reference : mapping.getPath()) {
                if (reference.getFieldName() != null) {
                    path.append(path.isEmpty() ? "" : ".").append(reference.getFieldName());
                } else if (reference.getIndex() >= 0) {
                    path.append('[').append(reference.getIndex()).append(']');
                }
            }
            return path.toString();
        }
        return "?";
    }

    private static String rootMessage(IllegalArgumentException e) {
        return e.getCause() instanceof JsonMappingException mapping ? mapping.getOriginalMessage()
                .lines().findFirst().orElse("") : String.valueOf(e.getMessage());
    }
}
