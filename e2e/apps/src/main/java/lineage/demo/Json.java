package lineage.demo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Jackson helpers for the JSON record values. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** Parses a JSON object; null, blank or malformed input and non-objects yield null. */
    public static ObjectNode parseObject(String s) {
        if (s == null || s.isBlank()) {
            return null;
        }
        try {
            JsonNode n = MAPPER.readTree(s);
            return n instanceof ObjectNode ? (ObjectNode) n : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + value, e);
        }
    }

    /** Text of a field, or null when the field is absent, null or the node is null. */
    public static String text(JsonNode n, String field) {
        if (n == null) {
            return null;
        }
        JsonNode f = n.get(field);
        return f == null || f.isNull() ? null : f.asText();
    }

    public static long longValue(JsonNode n, String field, long def) {
        if (n == null) {
            return def;
        }
        JsonNode f = n.get(field);
        return f == null || f.isNull() || !f.isNumber() && !f.isTextual() ? def : f.asLong(def);
    }
}
