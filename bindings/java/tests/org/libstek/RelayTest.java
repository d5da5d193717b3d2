package org.libstek;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/** Blind relays (stek_relay_*): a store that carries a space's changes it cannot read. */
public class RelayTest extends StekTestBase {
  private static final String MARKER = "GEHEIM-MARKER-1234";

  @Test
  public void test_two_members_that_never_meet_converge_through_a_blind_relay() throws Exception {
    try (Store a = openWithSpace("a.db"); Store c = member(a, "c.db");
        Store r = Store.open(path("r.db"))) {
      assertEquals(0, r.relayCount());
      byte[] cap = a.shareRelay(r.deviceId());
      expectStek(StekException.EMALFORMED, () -> c.acceptRelay(cap)); // sealed to r, not c
      r.acceptRelay(cap);
      assertEquals(0, r.spaces().size()); // no space, no key to read with
      a.put("directory", Store.newId(), "org", MARKER);
      for (int i = 0; i < 9; i++) a.put("note", Store.newId(), "n", (long) i);
      c.put("note", Store.newId(), "from", "c");

      try (Server relay = Server.start(r.path(), 0)) {
        int port = relay.port();
        a.syncAsync("127.0.0.1", port, 0, true, null).get(60, TimeUnit.SECONDS);
        assertEquals(10 + JOIN_CHANGES, r.relayCount());
        c.syncAsync("127.0.0.1", port, 0, true, null).get(60, TimeUnit.SECONDS);
        assertNotEquals(a.stateHash(), c.stateHash()); // a lacks c's change yet
        a.syncAsync("127.0.0.1", port, 0, true, null).get(60, TimeUnit.SECONDS);
      }
      assertEquals(a.stateHash(), c.stateHash());
      assertEquals(11 + JOIN_CHANGES, r.relayCount());
    }
    for (String f : new String[] {"r.db", "r.db-wal"})
      if (Files.exists(Paths.get(path(f))))
        assertTrue(f, !new String(Files.readAllBytes(Paths.get(path(f))),
            java.nio.charset.StandardCharsets.ISO_8859_1).contains(MARKER));
  }
}
