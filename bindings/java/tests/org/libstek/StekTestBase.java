package org.libstek;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;

import java.io.File;
import org.junit.Rule;
import org.junit.function.ThrowingRunnable;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/** What the binding's test classes share: a folder per test, a deadline, helpers. */
public abstract class StekTestBase {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();
  @Rule public Timeout timeout = Timeout.seconds(120);

  /**
   * Changes one share writes in the sharer's space: the "stek.member" record
   * of the device it shares with, which syncs like any other change.
   */
  static final int JOIN_CHANGES = 1;

  String path(String name) {
    return new File(tmp.getRoot(), name).getPath();
  }

  Store openWithSpace(String name) {
    Store s = Store.open(path(name));
    s.createSpace("team");
    return s;
  }

  /** A second store that holds the space of a (sealed to its device). */
  Store member(Store a, String name) {
    Store b = Store.open(path(name));
    assertNotNull(b.acceptSpace(a.shareSpace(b.deviceId())));
    assertEquals(a.currentSpace(), b.currentSpace());
    return b;
  }

  static StekException expectStek(int code, ThrowingRunnable r) {
    try {
      r.run();
    } catch (StekException e) {
      assertEquals(e.toString(), code, e.code());
      assertFalse("a message", e.getMessage().isEmpty());
      return e;
    } catch (Throwable t) {
      throw new AssertionError("expected StekException " + code + ", got " + t, t);
    }
    throw new AssertionError("expected StekException " + code);
  }
}
