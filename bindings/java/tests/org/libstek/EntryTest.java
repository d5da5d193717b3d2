package org.libstek;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.Test;

/** ScheduleEntry and DirectoryEntry: typed values over the Map API. */
public class EntryTest extends StekTestBase {
  private static ScheduleEntry permanence() {
    return ScheduleEntry.builder().title("Permanence énergie").site("Kantine")
        .start("2026-03-22T10:00").tz("Europe/Brussels").minutes(90)
        .rrule("FREQ=WEEKLY;BYDAY=SU").exdates(List.of("2026-04-05", "2026-04-12"))
        .orgs(List.of("OCMW", "Samenlevingsopbouw")).languages(List.of("nl", "fr"))
        .costCents(250L).notes("Bring your bills").extra(Map.of("room", "B 1.2", "seats", 12L))
        .build();
  }

  @Test
  public void test_schedule_entry_round_trip() {
    try (Store s = openWithSpace("a.db")) {
      ScheduleEntry e = permanence();
      String id = s.schedule().put(e);
      assertTrue(id.matches("[0-9a-f]{32}"));
      assertEquals(e.toBuilder().id(id).build(), s.schedule().getEntry(id));
      assertEquals(List.of(s.schedule().getEntry(id)), s.schedule().entries());
      // The same record through the Map API underneath.
      Record r = s.schedule().get(id);
      assertEquals("Permanence énergie", r.getString("title"));
      assertEquals(Long.valueOf(90), r.getLong("minutes"));
      assertEquals(Long.valueOf(250), r.getLong("cost"));
      assertEquals("B 1.2", r.getString("room"));
      // And what the schedule makes of it: 22 and 29 March, not 5 April.
      assertEquals(2, s.schedule().occurrences("2026-03-22", "2026-04-06", "Kantine").size());
      assertNull(s.schedule().getEntry(Store.newId()));
    }
  }

  @Test
  public void test_schedule_entry_writes_only_the_fields_it_sets() {
    try (Store s = openWithSpace("a.db")) {
      String id = s.schedule().put(permanence());
      s.schedule().put(ScheduleEntry.builder().id(id).minutes(120).costText("free").build());
      ScheduleEntry back = s.schedule().getEntry(id);
      assertEquals(permanence().toBuilder().id(id).minutes(120).costText("free").build(), back);
      assertNull(back.costCents());
      // Removing a field is the Map API's job.
      s.schedule().put(id, java.util.Collections.singletonMap("notes", null));
      assertNull(s.schedule().getEntry(id).notes());
    }
  }

  @Test
  public void test_schedule_entry_is_checked_as_the_map_api_is() {
    try (Store s = openWithSpace("a.db")) {
      StekException e = expectStek(StekException.EINVAL,
          () -> s.schedule().put(permanence().toBuilder().minutes(0).build()));
      assertTrue(e.getMessage(), e.getMessage().contains("minutes"));
      expectStek(StekException.EINVAL,
          () -> s.schedule().put(ScheduleEntry.builder().title("no site, no start").build()));
      expectStek(StekException.EINVAL,
          () -> ScheduleEntry.builder().extra(Map.of("title", "twice")).build());
      assertEquals(List.of(), s.schedule().entries());
    }
  }

  @Test
  public void test_directory_entry_round_trip() {
    try (Store s = openWithSpace("a.db")) {
      DirectoryEntry e = DirectoryEntry.builder().org("Énergie Solidaire").service("Budget help")
          .category("energy").tags(List.of("bills", "heating")).summary("fr", "Aide pour vos factures")
          .summary("nl", "Hulp bij uw facturen").referHow("Call first").bring("Your last bill")
          .hours("Tue 9-12").phone("+32 2 000 00 00").address("Rue Haute 1").email("a@b.be")
          .website("https://example.org").notes("Also in Arabic").languages(List.of("fr", "nl", "ar"))
          .extra(Map.of("capacity", 20L)).build();
      String id = s.directory().put(e);
      DirectoryEntry back = s.directory().getEntry(id);
      assertEquals(e.toBuilder().id(id).build(), back);
      assertEquals("Hulp bij uw facturen", back.summary("nl"));
      assertEquals("Call first", s.directory().get(id).getString("refer_how"));
      assertEquals("Aide pour vos factures", s.directory().get(id).getString("summary.fr"));
      // Search results convert too.
      List<Record> found = s.directory().search("energie", "nl", "energy");
      assertEquals(1, found.size());
      assertEquals(back, DirectoryEntry.from(found.get(0)));
      assertEquals(List.of(back), s.directory().entries());
      // Tags are a set: a put adds, it does not replace.
      s.directory().put(DirectoryEntry.builder().id(id).tags(List.of("debt")).build());
      assertEquals(List.of("bills", "debt", "heating"), s.directory().getEntry(id).tags());
      expectStek(StekException.EINVAL,
          () -> s.directory().put(DirectoryEntry.builder().category("nonsense").build()));
    }
  }

  @Test
  public void test_an_entry_is_read_only_from_a_record_of_its_type() {
    try (Store s = openWithSpace("a.db")) {
      String id = s.schedule().put(permanence());
      expectStek(StekException.EINVAL, () -> DirectoryEntry.from(s.schedule().get(id)));
      String note = Store.newId();
      s.put("note", note, "a", "1");
      expectStek(StekException.EINVAL, () -> ScheduleEntry.from(s.get("note", note)));
    }
  }
}
