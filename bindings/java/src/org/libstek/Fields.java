package org.libstek;

import java.util.Map;

/** A Map of fields as the typed puts take them (names, values). */
final class Fields {
  final byte[][] names;
  final Object[] values;

  Fields(Map<String, ?> fields) {
    names = new byte[fields.size()][];
    values = new Object[fields.size()];
    int i = 0;
    for (Map.Entry<String, ?> e : fields.entrySet()) {
      names[i] = Native.c(e.getKey());
      values[i] = Native.value(e.getValue());
      i++;
    }
  }
}
