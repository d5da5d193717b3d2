package org.libstek;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What {@link ScheduleEntry} and {@link DirectoryEntry} share: reading a
 * field of a {@link Record} by kind, and building the Map of fields that
 * the Map API ({@link Schedule#put(String, Map)}, {@link Directory#put(String,
 * Map)}) writes -- the typed classes are a layer over it.
 */
final class Entries {
  private Entries() {}

  static String str(Record r, String name) {
    return r.getString(name);
  }

  static Long num(Record r, String name) {
    return r.getLong(name);
  }

  /** A list field, or null if the record has none. */
  static List<String> list(Record r, String name) {
    return r.get(name) instanceof List ? r.getList(name) : null;
  }

  /** An unmodifiable copy (null stays null: "not set"). */
  static List<String> copy(List<String> l) {
    return l == null ? null : List.copyOf(l);
  }

  /**
   * The other fields of an entry, unmodifiable and in name order; a name the
   * entry has a component for is refused, so that one field has one place.
   */
  static Map<String, Object> extra(Map<String, ?> extra, Set<String> known, String what) {
    if (extra == null || extra.isEmpty()) return Map.of();
    Map<String, Object> out = new TreeMap<>();
    for (Map.Entry<String, ?> e : extra.entrySet()) {
      if (known.contains(e.getKey()) || e.getKey().equals("id") || e.getKey().equals("type"))
        throw new StekException(StekException.EINVAL,
            what + ": '" + e.getKey() + "' has a component of its own, not an extra field");
      out.put(e.getKey(), e.getValue() instanceof List<?> l ? List.copyOf(l) : e.getValue());
    }
    return Collections.unmodifiableMap(out);
  }

  /** The fields of r not in known (nor "summary.*" when summaries is set). */
  static Map<String, Object> others(Record r, Set<String> known, boolean summaries) {
    Map<String, Object> out = new TreeMap<>();
    for (Map.Entry<String, Object> e : r.fields().entrySet())
      if (!known.contains(e.getKey()) && !(summaries && e.getKey().startsWith(DirectoryEntry.SUMMARY)))
        out.put(e.getKey(), e.getValue());
    return out;
  }

  /** Fields to write, in the order added; null values are left out. */
  static final class Writer {
    final Map<String, Object> map = new LinkedHashMap<>();

    Writer put(String name, Object value) {
      if (value != null) map.put(name, value);
      return this;
    }

    Writer putAll(Map<String, ?> fields) {
      map.putAll(fields);
      return this;
    }
  }
}
