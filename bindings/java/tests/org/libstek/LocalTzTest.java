package org.libstek;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.temporal.IsoFields;
import java.util.List;
import org.junit.Test;

/**
 * StoreOptions.localTz: the zone whose local date sets a signal's ISO week
 * (stek_config.local_tz), carried to every path that opens a store. The
 * binding has no injectable clock, so the weeks are checked against
 * java.time at the same moment, in two zones 25 hours apart.
 */
public class LocalTzTest extends StekTestBase {
  /** The ISO week ("2026-W05") of today's date in zone, as stek formats it. */
  private static String isoWeekNow(String zone) {
    LocalDate d = LocalDate.now(ZoneId.of(zone));
    return String.format("%04d-W%02d", d.get(IsoFields.WEEK_BASED_YEAR),
        d.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
  }

  /**
   * Record a signal in a new store opened with localTz(zone) and return its
   * week, checked against the week in zone just before and just after the
   * call (either: the week may turn in between).
   */
  private String signalWeek(String name, String zone) {
    try (Store s = Store.open(path(name), new StoreOptions().localTz(zone))) {
      s.createSpace("team");
      String before = isoWeekNow(zone);
      s.signals().record("energy", "Kantine", "x");
      String after = isoWeekNow(zone);
      List<Signal> list = s.signals().list();
      assertEquals(1, list.size());
      String week = list.get(0).week();
      assertTrue(zone + ": signal week " + week + ", local week " + before + " / " + after,
          week.equals(before) || week.equals(after));
      return week;
    }
  }

  @Test
  public void test_signal_week_is_that_of_the_local_date_in_local_tz() {
    // UTC+14 and UTC-11: local dates a day (or two) apart, so in the hours
    // around each Monday 00:00 the two weeks differ, and each must be its
    // own zone's.
    assertNotNull(signalWeek("kiritimati.db", "Pacific/Kiritimati"));
    assertNotNull(signalWeek("pago.db", "Pacific/Pago_Pago"));
  }

  @Test
  public void test_local_tz_that_is_no_zone_name_fails_open_with_einval() {
    for (String bad : new String[] {"../etc", "Europe/../../etc/passwd", "/etc/localtime",
        "Europe/Brussels ", "", "Europe//Brussels"}) {
      expectStek(StekException.EINVAL,
          () -> Store.open(path("bad.db"), new StoreOptions().localTz(bad)).close());
    }
  }

  @Test
  public void test_local_tz_reaches_server_and_announcer() {
    try (Store a = openWithSpace("a.db")) {
      StoreOptions bad = new StoreOptions().localTz("../etc");
      expectStek(StekException.EINVAL, () -> Server.start(a.path(), 0, null, bad).close());
      expectStek(StekException.EINVAL, () -> Announcer.start(a.path(), 4711, bad,
          new Announcer.Options().address("127.0.0.1")).close());
    }
  }

  @Test
  public void test_well_formed_name_of_no_zone_opens_but_fails_signals_with_enotfound() {
    // The default (Europe/Brussels) would load: ENOTFOUND shows that the
    // store looked for this zone instead.
    try (Store s = Store.open(path("a.db"), new StoreOptions().localTz("Not/AZone"))) {
      s.createSpace("team");
      expectStek(StekException.ENOTFOUND, () -> s.signals().record("energy", "Kantine", "x"));
    }
  }

  @Test
  public void test_local_tz_is_looked_up_in_zoneinfo_dir() throws Exception {
    File dir = tmp.newFolder("zoneinfo", "Test");
    Files.copy(Path.of("/usr/share/zoneinfo/Pacific/Kiritimati"), new File(dir, "Ahead").toPath());
    StoreOptions o = new StoreOptions().zoneinfoDir(dir.getParent()).localTz("Test/Ahead");
    try (Store s = Store.open(path("a.db"), o)) {
      s.createSpace("team");
      String before = isoWeekNow("Pacific/Kiritimati");
      s.signals().record("energy", "Kantine", "x");
      String after = isoWeekNow("Pacific/Kiritimati");
      String week = s.signals().list().get(0).week();
      assertTrue(week + " is " + before + " or " + after, week.equals(before) || week.equals(after));
    }
  }

  @Test
  public void test_copy_keeps_every_option() throws Exception {
    // The async operations reopen the store from a copy: an option that
    // copy() forgets would be lost there alone.
    StoreOptions o = new StoreOptions().passphrase("p").pwhash(3, 1 << 20)
        .zoneinfoDir("/z").localTz("Pacific/Kiritimati");
    StoreOptions c = o.copy();
    for (Field f : StoreOptions.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) continue;
      Object v = f.get(o), w = f.get(c);
      assertNotNull(f.getName() + " is set in the test", v);
      if (v instanceof byte[]) assertArrayEquals(f.getName(), (byte[]) v, (byte[]) w);
      else assertEquals(f.getName(), v, w);
    }
  }
}
