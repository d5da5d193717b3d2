package org.libstek;

import java.time.LocalDate;
import java.util.List;
import java.util.Map;

/**
 * Schedule entries (type "schedule"): activities and permanences at a
 * site, with recurrence (RRULE) in the entry's own time zone. Obtained with
 * {@link Store#schedule()}; locks the Store as its methods do.
 *
 * <p>Entries are written and read as {@link ScheduleEntry} values
 * ({@link #put(ScheduleEntry)}, {@link #getEntry}, {@link #entries}), over
 * the Map API underneath ({@link #put(String, Map)}, {@link #get}): fields
 * (stek.h, "Schedules") title, site, start ("YYYY-MM-DDTHH:MM" local; these
 * three required on creation), tz (IANA, default "Europe/Brussels"),
 * minutes, rrule ("FREQ=WEEKLY;BYDAY=TH"), exdates, orgs, languages
 * (lists), cost (Long cents or String), notes. In a Map a null value
 * removes a field.
 */
public final class Schedule {
  private final Store store;

  Schedule(Store store) {
    this.store = store;
  }

  /** Create an entry; returns its id. */
  public String put(Map<String, ?> fields) {
    String id = Store.newId();
    put(id, fields);
    return id;
  }

  /** Write (checked) fields of an entry in one change; EINVAL says which field is wrong. */
  public void put(String id, Map<String, ?> fields) {
    Fields f = new Fields(fields);
    synchronized (store) {
      try {
        Native.typedPut(store.h(), 0, Native.id(id), f.names, f.values);
      } finally {
        store.deliver();
      }
    }
  }

  /**
   * Write the fields an entry sets, in one change: a new entry (a fresh id)
   * if its id is null, else that entry (created if it does not exist).
   * Returns the id. EINVAL says which field is wrong.
   */
  public String put(ScheduleEntry entry) {
    String id = entry.id() != null ? entry.id() : Store.newId();
    put(id, entry.toMap());
    return id;
  }

  /** The entry, or null. */
  public ScheduleEntry getEntry(String id) {
    Record r = get(id);
    return r == null ? null : ScheduleEntry.from(r);
  }

  /** Every live entry of the current space, by id. */
  public List<ScheduleEntry> entries() {
    return store.records(ScheduleEntry.TYPE).stream().map(ScheduleEntry::from).toList();
  }

  /** The entry as a generic record, or null. */
  public Record get(String id) {
    return store.get(ScheduleEntry.TYPE, id);
  }

  /** Cancel one date ("YYYY-MM-DD") of an entry; cancellations merge across devices. */
  public void cancel(String id, String date) {
    cancelOrReinstate(id, date, true);
  }

  public void reinstate(String id, String date) {
    cancelOrReinstate(id, date, false);
  }

  private void cancelOrReinstate(String id, String date, boolean cancel) {
    synchronized (store) {
      try {
        Native.scheduleCancel(store.h(), Native.id(id), Native.c(date), cancel);
      } finally {
        store.deliver();
      }
    }
  }

  /**
   * Occurrences starting on a local date in [from, to) ("YYYY-MM-DD"), of
   * site (null: all sites), sorted by start. Expanded in local time across
   * DST changes.
   */
  public List<Occurrence> occurrences(String from, String to, String site) {
    Sink s = new Sink();
    synchronized (store) {
      Native.scheduleOccurrences(store.h(), Native.c(from), Native.c(to), Native.c(site), s);
    }
    return s.take();
  }

  public List<Occurrence> occurrences(LocalDate from, LocalDate to, String site) {
    return occurrences(from.toString(), to.toString(), site);
  }

  /** The occurrences of one day at a site ("today's schedule"). */
  public List<Occurrence> day(LocalDate date, String site) {
    return occurrences(date, date.plusDays(1), site);
  }

  /** The entries (of site, or all) as an RFC 5545 VCALENDAR. */
  public String ics(String site) {
    synchronized (store) {
      return Native.str(Native.scheduleIcs(store.h(), Native.c(site)));
    }
  }
}
