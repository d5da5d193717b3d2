package org.libstek;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A schedule entry (type "schedule"; stek.h, "Schedules") as a value: an
 * activity or a permanence at a site, with its recurrence in its own time
 * zone. Build one with {@link #builder()}, write it with
 * {@link Schedule#put(ScheduleEntry)}, read it with
 * {@link Schedule#getEntry(String)}.
 *
 * <p>Every component may be null. Read back, null means the entry has no
 * such field; written, it means "leave the field as it is" -- so an entry
 * holding only an id and {@code minutes} updates the minutes alone. To
 * remove a field, write a Map with a null value ({@link Schedule#put(String,
 * Map)}, the layer under this class: {@link #toMap()} is what is written).
 *
 * <ul>
 *   <li>{@code title}, {@code site}, {@code start} (local "YYYY-MM-DDTHH:MM[:SS]"):
 *       required when the entry is created;</li>
 *   <li>{@code tz}: an IANA zone (libstek's default "Europe/Brussels");</li>
 *   <li>{@code minutes}: 1 to 10080 (occurrences last 60 without it);</li>
 *   <li>{@code rrule}: an RFC 5545 RRULE value, "FREQ=WEEKLY;BYDAY=TH";</li>
 *   <li>{@code exdates}: cancelled dates, a set -- a put adds to it, never
 *       removes ({@link Schedule#reinstate} does), and it reads back sorted;</li>
 *   <li>{@code orgs}, {@code languages}: lists of strings;</li>
 *   <li>cost: {@code costCents} (euro cents) or {@code costText}, not both;</li>
 *   <li>{@code notes}; {@code extra}: any other fields (String, Long or
 *       List&lt;String&gt;), stored as given.</li>
 * </ul>
 * {@code id} is the record id (32 hex digits), null for an entry not yet
 * written. A field of another kind than its component's (written through
 * the generic API) reads as null -- and so is left alone by a write back.
 */
public record ScheduleEntry(String id, String title, String site, String start, String tz,
    Integer minutes, String rrule, List<String> exdates, List<String> orgs,
    List<String> languages, Long costCents, String costText, String notes,
    Map<String, Object> extra) {

  /** The record type of schedule entries. */
  public static final String TYPE = "schedule";

  static final Set<String> FIELDS = Set.of("title", "site", "start", "tz", "minutes", "rrule",
      "exdates", "orgs", "languages", "cost", "notes");

  /** Lists and extra are copied unmodifiable; EINVAL for two costs or a clashing extra. */
  public ScheduleEntry {
    if (costCents != null && costText != null)
      throw new StekException(StekException.EINVAL, "a cost is in cents or a text, not both");
    exdates = Entries.copy(exdates);
    orgs = Entries.copy(orgs);
    languages = Entries.copy(languages);
    extra = Entries.extra(extra, FIELDS, "schedule entry");
  }

  /** The fields to write (those set), as {@link Schedule#put(String, Map)} takes them. */
  public Map<String, Object> toMap() {
    return new Entries.Writer().put("title", title).put("site", site).put("start", start)
        .put("tz", tz).put("minutes", minutes == null ? null : (long) minutes)
        .put("rrule", rrule).put("exdates", exdates).put("orgs", orgs)
        .put("languages", languages).put("cost", costCents != null ? costCents : costText)
        .put("notes", notes).putAll(extra).map;
  }

  /** The entry a record of type "schedule" holds (EINVAL for another type). */
  public static ScheduleEntry from(Record r) {
    if (!TYPE.equals(r.type()))
      throw new StekException(StekException.EINVAL, "not a schedule entry: " + r.type());
    Long minutes = Entries.num(r, "minutes");
    return new ScheduleEntry(r.id(), Entries.str(r, "title"), Entries.str(r, "site"),
        Entries.str(r, "start"), Entries.str(r, "tz"),
        minutes == null || minutes != minutes.intValue() ? null : minutes.intValue(),
        Entries.str(r, "rrule"), Entries.list(r, "exdates"), Entries.list(r, "orgs"),
        Entries.list(r, "languages"), Entries.num(r, "cost"), Entries.str(r, "cost"),
        Entries.str(r, "notes"), Entries.others(r, FIELDS, false));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this entry's components, to change some of them. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.id = id;
    b.title = title;
    b.site = site;
    b.start = start;
    b.tz = tz;
    b.minutes = minutes;
    b.rrule = rrule;
    b.exdates = exdates;
    b.orgs = orgs;
    b.languages = languages;
    b.costCents = costCents;
    b.costText = costText;
    b.notes = notes;
    b.extra = extra;
    return b;
  }

  /** Fluent setters, one per component; build() makes the entry. */
  public static final class Builder {
    private String id, title, site, start, tz, rrule, costText, notes;
    private Integer minutes;
    private Long costCents;
    private List<String> exdates, orgs, languages;
    private Map<String, Object> extra;

    private Builder() {}

    public Builder id(String v) { id = v; return this; }
    public Builder title(String v) { title = v; return this; }
    public Builder site(String v) { site = v; return this; }
    /** Local time "YYYY-MM-DDTHH:MM[:SS]" in the entry's zone. */
    public Builder start(String v) { start = v; return this; }
    public Builder start(java.time.LocalDateTime v) {
      start = v == null ? null : v.withNano(0).toString();
      return this;
    }
    public Builder tz(String v) { tz = v; return this; }
    public Builder minutes(Integer v) { minutes = v; return this; }
    public Builder rrule(String v) { rrule = v; return this; }
    public Builder exdates(List<String> v) { exdates = v; return this; }
    public Builder orgs(List<String> v) { orgs = v; return this; }
    public Builder languages(List<String> v) { languages = v; return this; }
    /** The cost in euro cents (clears a cost text). */
    public Builder costCents(Long v) { costCents = v; if (v != null) costText = null; return this; }
    /** The cost as a text, "free", "pay what you can" (clears a cost in cents). */
    public Builder costText(String v) { costText = v; if (v != null) costCents = null; return this; }
    public Builder notes(String v) { notes = v; return this; }
    /** Other fields, stored as given (String, Long or List&lt;String&gt; values). */
    public Builder extra(Map<String, Object> v) { extra = v; return this; }

    public ScheduleEntry build() {
      return new ScheduleEntry(id, title, site, start, tz, minutes, rrule, exdates, orgs,
          languages, costCents, costText, notes, extra);
    }
  }
}
