package org.libstek;

import java.util.List;
import java.util.Map;

/**
 * The social map: directory entries (type "directory") with org, service,
 * category (income, housing, health, debt, digital, energy, work, legal,
 * family, mobility, food, education), tags (a set), summary.LANG,
 * refer_how, bring, hours, phone, languages. Obtained with
 * {@link Store#directory()}; locks the Store as its methods do.
 */
public final class Directory {
  private final Store store;

  Directory(Store store) {
    this.store = store;
  }

  /** Create an entry; returns its id. */
  public String put(Map<String, ?> fields) {
    String id = Store.newId();
    put(id, fields);
    return id;
  }

  /** Write (checked) fields in one change; tags are added, never removed, by a put. */
  public void put(String id, Map<String, ?> fields) {
    Fields f = new Fields(fields);
    synchronized (store) {
      try {
        Native.typedPut(store.h(), 1, Native.id(id), f.names, f.values);
      } finally {
        store.deliver();
      }
    }
  }

  public Record get(String id) {
    return store.get("directory", id);
  }

  /**
   * Prefix search, case and diacritics ignored, best match first. lang and
   * category (either may be null) narrow it. EINVAL if the query has no words.
   */
  public List<Record> search(String query, String lang, String category) {
    Sink s = new Sink();
    synchronized (store) {
      Native.directorySearch(store.h(), Native.c(query), Native.c(lang), Native.c(category), s);
    }
    return s.take();
  }
}
