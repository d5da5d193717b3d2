package org.libstek;

import java.util.List;
import java.util.Map;

/**
 * The social map: directory entries (type "directory") with org, service,
 * category (income, housing, health, debt, digital, energy, work, legal,
 * family, mobility, food, education), tags (a set), summary.LANG,
 * refer_how, bring, hours, phone, address, email, website, notes,
 * languages -- as {@link DirectoryEntry} values ({@link #put(DirectoryEntry)},
 * {@link #getEntry}, {@link #entries}) over the Map API underneath
 * ({@link #put(String, Map)}, {@link #get}). Obtained with
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

  /**
   * Write the fields an entry sets, in one change: a new entry (a fresh id)
   * if its id is null, else that entry. Returns the id.
   */
  public String put(DirectoryEntry entry) {
    String id = entry.id() != null ? entry.id() : Store.newId();
    put(id, entry.toMap());
    return id;
  }

  /** The entry, or null. */
  public DirectoryEntry getEntry(String id) {
    Record r = get(id);
    return r == null ? null : DirectoryEntry.from(r);
  }

  /** Every live entry of the current space, by id. */
  public List<DirectoryEntry> entries() {
    return store.records(DirectoryEntry.TYPE).stream().map(DirectoryEntry::from).toList();
  }

  /** The entry as a generic record, or null. */
  public Record get(String id) {
    return store.get(DirectoryEntry.TYPE, id);
  }

  /**
   * Prefix search, case and diacritics ignored, best match first. lang and
   * category (either may be null) narrow it. EINVAL if the query has no words.
   * {@link DirectoryEntry#from(Record)} turns a result into an entry.
   */
  public List<Record> search(String query, String lang, String category) {
    Sink s = new Sink();
    synchronized (store) {
      Native.directorySearch(store.h(), Native.c(query), Native.c(lang), Native.c(category), s);
    }
    return s.take();
  }
}
