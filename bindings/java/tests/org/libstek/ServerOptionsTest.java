package org.libstek;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/** Server.Options (stek_server_options): the limits a server puts on its peers. */
public class ServerOptionsTest extends StekTestBase {
  /** A session's end as the listener heard it. */
  private record End(int code, String message, String thread) {}

  private final BlockingQueue<End> ends = new LinkedBlockingQueue<>();

  private Server.Options options() {
    return new Server.Options().onSessionEnd(
        (code, msg) -> ends.add(new End(code, msg, Thread.currentThread().getName())));
  }

  private End nextEnd() throws InterruptedException {
    End e = ends.poll(60, TimeUnit.SECONDS);
    if (e == null) throw new AssertionError("no session ended within 60 s");
    return e;
  }

  /** A connection that says nothing: it holds a session slot. */
  private static Socket mute(int port) throws Exception {
    return new Socket(InetAddress.getLoopbackAddress(), port);
  }

  /** Whether the server closes s within 60 s. */
  private static boolean closedByServer(Socket s) throws Exception {
    s.setSoTimeout(60_000);
    InputStream in = s.getInputStream();
    try {
      while (in.read() >= 0) {
        // the server's handshake bytes, if any
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (java.io.IOException reset) {
      return true;
    }
  }

  @Test
  public void test_a_connection_beyond_max_peers_is_closed_with_ebusy() throws Exception {
    try (Store a = openWithSpace("a.db"); Store b = member(a, "b.db");
        Server srv = Server.start(a.path(), 0, null, new StoreOptions(), options().maxPeers(1))) {
      try (Socket first = mute(srv.port()); Socket second = mute(srv.port())) {
        assertTrue("the second connection is closed at once", closedByServer(second));
        End e = nextEnd();
        assertEquals(StekException.EBUSY, e.code());
        assertTrue(e.message(), e.message().contains("max_peers"));
        assertTrue(e.thread(), e.thread().startsWith("stek-server"));
        assertTrue(first.isConnected()); // holding the one slot
      }
      nextEnd(); // the first one's session, ended by its close
      // The slot is free: a member syncs.
      b.syncAsync("127.0.0.1", srv.port(), null).get(60, TimeUnit.SECONDS);
      assertEquals(a.stateHash(), b.stateHash());
      assertEquals(0, nextEnd().code());
      assertEquals(1, srv.sessionsDone());
    }
  }

  @Test
  public void test_an_idle_session_is_cut_after_idle_ms() throws Exception {
    try (Store a = openWithSpace("a.db");
        Server srv = Server.start(a.path(), 0, null, new StoreOptions(), options().idleMs(100));
        Socket s = mute(srv.port())) {
      assertTrue(closedByServer(s));
      End e = nextEnd();
      assertEquals(StekException.ETIMEDOUT, e.code());
      assertTrue(e.message(), e.message().contains("idle_ms"));
    }
  }

  @Test
  public void test_a_session_is_cut_after_session_ms_however_busy() throws Exception {
    try (Store a = openWithSpace("a.db");
        Server srv = Server.start(a.path(), 0, null, new StoreOptions(), options().sessionMs(100));
        Socket s = mute(srv.port())) {
      assertTrue(closedByServer(s));
      End e = nextEnd();
      assertEquals(StekException.ETIMEDOUT, e.code());
      assertTrue(e.message(), e.message().contains("session_ms"));
    }
  }

  @Test
  public void test_options_out_of_range_are_refused() {
    try (Store a = openWithSpace("a.db")) {
      expectStek(StekException.EINVAL,
          () -> Server.start(a.path(), 0, null, new StoreOptions(), new Server.Options().maxPeers(0)));
      expectStek(StekException.EINVAL,
          () -> Server.start(a.path(), 0, null, new StoreOptions(), new Server.Options().idleMs(0)));
      expectStek(StekException.EINVAL,
          () -> Server.start(a.path(), 0, null, new StoreOptions(), new Server.Options().sessionMs(-1)));
    }
  }
}
