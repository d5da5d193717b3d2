package org.libstek;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A directory entry of the social map (type "directory"; stek.h,
 * "Directory") as a value. Build one with {@link #builder()}, write it
 * with {@link Directory#put(DirectoryEntry)}, read it with
 * {@link Directory#getEntry(String)} or convert search results with
 * {@link #from(Record)}.
 *
 * <p>As for {@link ScheduleEntry}, a null component reads as "no such
 * field" and writes as "leave it as it is"; remove a field through the
 * Map API ({@link Directory#put(String, Map)}), which {@link #toMap()}
 * feeds.
 *
 * <ul>
 *   <li>{@code org}, {@code service} (they weigh most in search),
 *       {@code referHow} (field "refer_how"), {@code bring}, {@code hours},
 *       {@code phone}, {@code address}, {@code email}, {@code website},
 *       {@code notes}: strings;</li>
 *   <li>{@code category}: income, housing, health, debt, digital, energy,
 *       work, legal, family, mobility, food or education;</li>
 *   <li>{@code tags}: a set -- a put adds to it, never removes
 *       ({@link Store#removeFromSet} does), it reads back sorted;</li>
 *   <li>{@code languages}: a list;</li>
 *   <li>{@code summaries}: language code to plain-language text (fields
 *       "summary.nl", "summary.fr", ...);</li>
 *   <li>{@code extra}: any other fields, stored as given.</li>
 * </ul>
 */
public record DirectoryEntry(String id, String org, String service, String category,
    List<String> tags, Map<String, String> summaries, String referHow, String bring,
    String hours, String phone, String address, String email, String website, String notes,
    List<String> languages, Map<String, Object> extra) {

  /** The record type of directory entries. */
  public static final String TYPE = "directory";
  static final String SUMMARY = "summary.";

  static final Set<String> FIELDS = Set.of("org", "service", "category", "tags", "refer_how",
      "bring", "hours", "phone", "address", "email", "website", "notes", "languages");

  /** Lists and maps are copied unmodifiable (summaries and extra in name order). */
  public DirectoryEntry {
    tags = Entries.copy(tags);
    languages = Entries.copy(languages);
    summaries = summaries == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(summaries));
    extra = Entries.extra(extra, FIELDS, "directory entry");
    for (String k : extra.keySet())
      if (k.startsWith(SUMMARY))
        throw new StekException(StekException.EINVAL,
            "directory entry: '" + k + "' belongs in summaries, not in extra");
  }

  /** The summary in one language, or null. */
  public String summary(String lang) {
    return summaries.get(lang);
  }

  /** The fields to write (those set), as {@link Directory#put(String, Map)} takes them. */
  public Map<String, Object> toMap() {
    Entries.Writer w = new Entries.Writer().put("org", org).put("service", service)
        .put("category", category).put("tags", tags);
    for (Map.Entry<String, String> e : summaries.entrySet()) w.put(SUMMARY + e.getKey(), e.getValue());
    return w.put("refer_how", referHow).put("bring", bring).put("hours", hours)
        .put("phone", phone).put("address", address).put("email", email)
        .put("website", website).put("notes", notes).put("languages", languages)
        .putAll(extra).map;
  }

  /** The entry a record of type "directory" holds (EINVAL for another type). */
  public static DirectoryEntry from(Record r) {
    if (!TYPE.equals(r.type()))
      throw new StekException(StekException.EINVAL, "not a directory entry: " + r.type());
    Map<String, String> summaries = new TreeMap<>();
    for (Map.Entry<String, Object> e : r.fields().entrySet())
      if (e.getKey().startsWith(SUMMARY) && e.getValue() instanceof String s)
        summaries.put(e.getKey().substring(SUMMARY.length()), s);
    Map<String, Object> extra = Entries.others(r, FIELDS, true);
    return new DirectoryEntry(r.id(), Entries.str(r, "org"), Entries.str(r, "service"),
        Entries.str(r, "category"), Entries.list(r, "tags"), summaries,
        Entries.str(r, "refer_how"), Entries.str(r, "bring"), Entries.str(r, "hours"),
        Entries.str(r, "phone"), Entries.str(r, "address"), Entries.str(r, "email"),
        Entries.str(r, "website"), Entries.str(r, "notes"), Entries.list(r, "languages"), extra);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this entry's components, to change some of them. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.id = id;
    b.org = org;
    b.service = service;
    b.category = category;
    b.tags = tags;
    b.summaries = new TreeMap<>(summaries);
    b.referHow = referHow;
    b.bring = bring;
    b.hours = hours;
    b.phone = phone;
    b.address = address;
    b.email = email;
    b.website = website;
    b.notes = notes;
    b.languages = languages;
    b.extra = extra;
    return b;
  }

  /** Fluent setters, one per component; build() makes the entry. */
  public static final class Builder {
    private String id, org, service, category, referHow, bring, hours, phone, address, email,
        website, notes;
    private List<String> tags, languages;
    private Map<String, String> summaries = new TreeMap<>();
    private Map<String, Object> extra;

    private Builder() {}

    public Builder id(String v) { id = v; return this; }
    public Builder org(String v) { org = v; return this; }
    public Builder service(String v) { service = v; return this; }
    public Builder category(String v) { category = v; return this; }
    public Builder tags(List<String> v) { tags = v; return this; }
    /** The summary in language lang (a code such as "nl"); null drops it from this entry. */
    public Builder summary(String lang, String text) {
      if (text == null) summaries.remove(lang);
      else summaries.put(lang, text);
      return this;
    }
    public Builder referHow(String v) { referHow = v; return this; }
    public Builder bring(String v) { bring = v; return this; }
    public Builder hours(String v) { hours = v; return this; }
    public Builder phone(String v) { phone = v; return this; }
    public Builder address(String v) { address = v; return this; }
    public Builder email(String v) { email = v; return this; }
    public Builder website(String v) { website = v; return this; }
    public Builder notes(String v) { notes = v; return this; }
    public Builder languages(List<String> v) { languages = v; return this; }
    /** Other fields, stored as given (String, Long or List&lt;String&gt; values). */
    public Builder extra(Map<String, Object> v) { extra = v; return this; }

    public DirectoryEntry build() {
      return new DirectoryEntry(id, org, service, category, tags, summaries, referHow, bring,
          hours, phone, address, email, website, notes, languages, extra);
    }
  }
}
