package org.libstek;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * LAN discovery between two Java stores: one announces (Announcer) and
 * serves, the other's discoverAsync finds it. Everything goes to
 * 127.0.0.1 on a free UDP port, as tests/test_discovery.c does.
 */
public class DiscoveryTest extends StekTestBase {
  private static int freeUdpPort() throws Exception {
    try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  public void test_member_discovers_an_announcing_store_and_syncs_with_it() throws Exception {
    int udp = freeUdpPort();
    try (Store a = openWithSpace("a.db"); Store b = member(a, "b.db")) {
      a.put("note", Store.newId(), "from", "a");
      try (Server srv = Server.start(a.path(), 0);
          Announcer an = Announcer.start(a.path(), srv.port(), new StoreOptions(),
              new Announcer.Options().address("127.0.0.1").port(udp).periodMs(100))) {
        assertEquals(srv.port(), an.servePort());
        List<String> threads = new CopyOnWriteArrayList<>();
        long timeoutMs = 60_000;
        long t0 = System.nanoTime();
        List<Peer> peers = b.discoverAsync(timeoutMs, "127.0.0.1", udp, p -> {
          threads.add(Thread.currentThread().getName());
          return true; // the first one will do: stop listening
        }).get(90, TimeUnit.SECONDS);
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue("stopped by the listener, not the timeout: " + tookMs, tookMs < timeoutMs);
        assertEquals(List.of(new Peer(a.currentSpace(), "127.0.0.1", srv.port())), peers);
        assertEquals(1, threads.size());
        assertTrue(threads.get(0), threads.get(0).startsWith("stek-sync-"));
        // What was found is where to sync.
        Peer p = peers.get(0);
        b.syncAsync(p.host(), p.port(), null).get(60, TimeUnit.SECONDS);
        assertEquals(a.stateHash(), b.stateHash());
      }
    }
  }

  @Test
  public void test_a_store_of_another_space_hears_nothing() throws Exception {
    int udp = freeUdpPort();
    try (Store a = openWithSpace("a.db"); Store c = openWithSpace("c.db");
        Announcer an = Announcer.start(a.path(), 4711, new StoreOptions(),
            new Announcer.Options().address("127.0.0.1").port(udp).periodMs(10))) {
      assertEquals(4711, an.servePort());
      // Beacons arrive every 10 ms; none is c's: it hears nobody till its timeout.
      assertEquals(List.of(), c.discoverAsync(300, "127.0.0.1", udp, p -> true).get(60, TimeUnit.SECONDS));
    }
  }

  @Test
  public void test_announcer_refuses_bad_options_and_closes_twice() {
    try (Store a = openWithSpace("a.db")) {
      expectStek(StekException.EINVAL, () -> Announcer.start(a.path(), 4711, new StoreOptions(),
          new Announcer.Options().address("not-an-address")));
      expectStek(StekException.EINVAL, () -> Announcer.start(a.path(), 4711, new StoreOptions(),
          new Announcer.Options().address("127.0.0.1").periodMs(0)));
      Announcer an = Announcer.start(a.path(), 4711, new StoreOptions(),
          new Announcer.Options().address("127.0.0.1").port(9));
      an.close();
      an.close();
      assertTrue(an.isClosed());
      expectStek(StekException.ESTATE, an::servePort);
    }
  }
}
