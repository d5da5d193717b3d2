package org.libstek;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A live record as read: its type, id (32 hex digits) and fields, ordered
 * by name, each a {@code String}, a {@code Long} or an unmodifiable
 * {@code List<String>}.
 */
public final class Record {
  private final String type, id;
  private final Map<String, Object> fields;

  Record(String type, String id, Map<String, Object> fields) {
    this.type = type;
    this.id = id;
    this.fields = Collections.unmodifiableMap(fields);
  }

  public String type() { return type; }
  public String id() { return id; }
  /** Every field, unmodifiable, in name order. */
  public Map<String, Object> fields() { return fields; }
  public Object get(String field) { return fields.get(field); }
  /** The field if it is a string, else null. */
  public String getString(String field) {
    Object v = fields.get(field);
    return v instanceof String ? (String) v : null;
  }
  /** The field if it is an integer, else null. */
  public Long getLong(String field) {
    Object v = fields.get(field);
    return v instanceof Long ? (Long) v : null;
  }
  /** The field if it is a list, else an empty list. */
  @SuppressWarnings("unchecked")
  public List<String> getList(String field) {
    Object v = fields.get(field);
    return v instanceof List ? (List<String>) v : List.of();
  }

  @Override
  public String toString() {
    return type + "/" + id + " " + fields;
  }
}
