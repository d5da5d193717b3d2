package org.libstek;

import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Assume;
import org.junit.Test;

/**
 * No leaks across the JNI boundary: the C heap in use (glibc's mallinfo2,
 * Native.debugHeapInUse) stays flat over thousands of cycles that take
 * every kind of argument and result across. Run in a JVM of its own
 * (ctest java_leaks), since other tests' threads allocate too. It stands
 * in for LeakSanitizer, which cannot run in a JVM, so it is skipped where
 * mallinfo2 means nothing: under ASan, or without glibc 2.33.
 */
public class LeakTest extends StekTestBase {
  private static final int WARM_UP = 300, CYCLES = 2000, BATCHES = 8;
  private static final long BOUND = 256 * 1024;

  /** Ten fixed ids, so the store's live size (and so its caches) stays the same. */
  private static final String[] IDS = new String[10];

  static {
    for (int i = 0; i < IDS.length; i++) IDS[i] = Store.newId();
  }

  private static void cycle(String p, int i) {
    try (Store s = Store.open(p)) {
      String id = IDS[i % IDS.length];
      s.put("note", id, Map.of("i", (long) i, "s", "x".repeat(200), "l", List.of("a", "b")));
      s.get("note", id); // a record crosses back
      s.records("note");
      s.directory().put(id, Map.of("org", "Énergie " + i, "category", "energy",
          "tags", List.of("t" + i % 3)));
      s.directory().search("energie", "nl", null);
      s.schedule().occurrences("2026-01-01", "2026-01-08", null);
      s.signals().list();
      s.stateHash();
      try {
        s.get("note", "bad"); // an error crosses too
      } catch (StekException expected) {
        // EINVAL
      }
      try {
        s.schedule().put(Map.of("title", "no site"));
      } catch (StekException expected) {
        // EINVAL with a message from stek_errmsg
      }
    }
  }

  private static long heap() {
    System.gc();
    return Native.debugHeapInUse();
  }

  @Test
  public void test_open_put_get_list_search_close_cycles_keep_the_c_heap_flat() {
    Assume.assumeFalse("ASan's allocator: mallinfo2 does not see it",
        Boolean.getBoolean("org.libstek.sanitized"));
    Assume.assumeTrue("mallinfo2 (glibc 2.33+) is needed", Native.debugHeapInUse() >= 0);
    String p = path("leak.db");
    try (Store s = Store.open(p)) {
      s.createSpace("team");
      s.schedule().put(ScheduleEntry.builder().title("Permanence").site("Kantine")
          .start("2026-01-05T10:00").rrule("FREQ=DAILY").build());
      s.signals().record("energy", "Kantine", "x");
    }
    for (int i = 0; i < WARM_UP; i++) cycle(p, i);
    // The JVM allocates from the same heap now and then (a one-off jump of
    // tens of kB, or a release): a leak shows as growth in every batch, so
    // the median batch's growth, times the batches, is the estimate.
    long[] step = new long[BATCHES];
    long last = heap();
    for (int b = 0; b < BATCHES; b++) {
      for (int i = 0; i < CYCLES / BATCHES; i++) cycle(p, WARM_UP + b * CYCLES / BATCHES + i);
      long now = heap();
      step[b] = now - last;
      last = now;
    }
    long[] sorted = step.clone();
    Arrays.sort(sorted);
    long growth = sorted[BATCHES / 2] * BATCHES;
    String what = "the C heap grew by " + growth + " bytes over " + CYCLES
        + " cycles (median batch times " + BATCHES + "; batches " + Arrays.toString(step) + ")";
    System.out.println("LeakTest: " + what);
    assertTrue(what, growth < BOUND);
  }
}
