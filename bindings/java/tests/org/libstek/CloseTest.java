package org.libstek;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/**
 * Store.close() while its async operations run: they are cancelled, close
 * waits for their workers, and no listener of the Store is called once
 * close has returned.
 */
public class CloseTest extends StekTestBase {
  private static final int OPS = 400;

  /** A store with OPS changes, and a member of its space with none of them. */
  private Store[] pair() {
    Store a = openWithSpace("a.db");
    for (int i = 0; i < OPS; i++) a.put("note", Store.newId(), "n", (long) i);
    return new Store[] {a, member(a, "b.db")};
  }

  /** Counts listener calls, and those made after close() returned. */
  private static final class Watch {
    final AtomicBoolean closed = new AtomicBoolean();
    final AtomicInteger calls = new AtomicInteger(), late = new AtomicInteger();

    void call() {
      calls.incrementAndGet();
      if (closed.get()) late.incrementAndGet();
    }
  }

  /** Wait for the future to end however it ends (the old close left it running). */
  private static void settle(CompletableFuture<?> f) throws Exception {
    try {
      f.get(60, TimeUnit.SECONDS);
    } catch (CancellationException | ExecutionException ended) {
      // cancelled by close, or failed: either way it is over
    }
  }

  private void closeDuringSync(boolean waitForProgress) throws Exception {
    Store[] s = pair();
    try (Store a = s[0]; Server srv = Server.start(a.path(), 0)) {
      Store b = s[1];
      Watch changes = new Watch(), progress = new Watch();
      b.setChangeListener((type, id, origin) -> changes.call());
      CountDownLatch moving = new CountDownLatch(1);
      CompletableFuture<SyncStats> f = b.syncAsync("127.0.0.1", srv.port(), st -> {
        progress.call();
        moving.countDown();
      });
      if (waitForProgress) assertTrue(moving.await(60, TimeUnit.SECONDS));
      b.close();
      changes.closed.set(true);
      progress.closed.set(true);
      assertTrue("close cancels the sync", f.isCancelled());
      settle(f);
      assertEquals("change listener calls after close", 0, changes.late.get());
      assertEquals("progress calls after close", 0, progress.late.get());
      // The worker has closed its own handle, the file is free: the store
      // reopens and syncs to the end.
      try (Store again = Store.open(b.path())) {
        again.syncAsync("127.0.0.1", srv.port(), null).get(60, TimeUnit.SECONDS);
        assertEquals(a.stateHash(), again.stateHash());
      }
    }
  }

  @Test
  public void test_close_right_after_starting_a_sync_stops_its_listeners() throws Exception {
    closeDuringSync(false);
  }

  @Test
  public void test_close_in_the_middle_of_a_sync_stops_its_listeners() throws Exception {
    closeDuringSync(true);
  }

  @Test
  public void test_close_from_a_progress_listener_does_not_deadlock() throws Exception {
    Store[] s = pair();
    try (Store a = s[0]; Server srv = Server.start(a.path(), 0)) {
      Store b = s[1];
      Watch changes = new Watch();
      b.setChangeListener((type, id, origin) -> changes.call());
      CompletableFuture<SyncStats> f = b.syncAsync("127.0.0.1", srv.port(), st -> {
        b.close(); // on the worker, inside a callback: cancels, cannot wait for itself
        changes.closed.set(true);
      });
      settle(f);
      assertTrue(b.isClosed());
      assertTrue(f.isCancelled());
      assertEquals(0, changes.late.get());
    }
  }

  @Test
  public void test_discovery_listener_is_not_called_after_close() throws Exception {
    int udp;
    try (java.net.DatagramSocket free = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
      udp = free.getLocalPort();
    }
    try (Store a = openWithSpace("a.db")) {
      Store b = member(a, "b.db");
      Watch peers = new Watch();
      CompletableFuture<java.util.List<Peer>> f =
          b.discoverAsync(60_000, "127.0.0.1", udp, p -> {
            peers.call();
            return false; // go on listening
          });
      b.close();
      peers.closed.set(true);
      assertTrue(f.isCancelled());
      // Beacons arrive from now on; the first one ends the run, unheard.
      try (Announcer an = Announcer.start(a.path(), 4711, new StoreOptions(),
          new Announcer.Options().address("127.0.0.1").port(udp).periodMs(10))) {
        assertEquals(4711, an.servePort());
        assertTrue("the worker ended", b.awaitTasks(60_000));
      }
      assertEquals(0, peers.late.get());
    }
  }
}
