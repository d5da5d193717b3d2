package org.libstek;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * Pairing by six digits between two Java stores over 127.0.0.1: the
 * member (pairOffer + a Server with pairConfirm) and the new device
 * (pairJoinAsync), as tests/test_pair.c does in C.
 */
public class PairTest extends StekTestBase {
  /** One side's user: answers yes or no, and remembers what it was shown, and where. */
  private static final class User implements PairConfirm {
    final boolean answer;
    volatile String digits, thread;
    volatile int asked;

    User(boolean answer) {
      this.answer = answer;
    }

    @Override
    public boolean confirm(String d) {
      digits = d;
      thread = Thread.currentThread().getName();
      asked++;
      return answer;
    }
  }

  private final BlockingQueue<Integer> ends = new LinkedBlockingQueue<>();

  private Server serve(Store member, PairConfirm confirm) {
    return Server.start(member.path(), 0, null, new StoreOptions(),
        new Server.Options().pairConfirm(confirm).onSessionEnd((code, msg) -> ends.add(code)));
  }

  private int nextEnd() throws InterruptedException {
    Integer code = ends.poll(60, TimeUnit.SECONDS);
    if (code == null) throw new AssertionError("no session ended within 60 s");
    return code;
  }

  private static StekException failure(CompletableFuture<?> f) throws Exception {
    try {
      f.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StekException se) return se;
      throw e;
    }
    fail("the pairing succeeded");
    return null;
  }

  @Test
  public void test_both_users_confirm_the_same_digits_and_the_device_joins() throws Exception {
    User mu = new User(true), du = new User(true);
    try (Store m = openWithSpace("m.db"); Store d = Store.open(path("d.db"));
        Server srv = serve(m, mu)) {
      for (int i = 0; i < 20; i++) m.put("note", Store.newId(), "n", (long) i);
      m.pairOffer(Duration.ofMinutes(1));
      Space joined = d.pairJoinAsync("127.0.0.1", srv.port(), du).get(60, TimeUnit.SECONDS);
      assertEquals(0, nextEnd());
      assertEquals(m.currentSpace(), joined.id());
      assertEquals("team", joined.name());
      assertEquals(joined.id(), d.currentSpace());
      assertEquals(1, mu.asked);
      assertEquals(1, du.asked);
      assertTrue(mu.digits, mu.digits.matches("[0-9]{6}"));
      assertEquals(mu.digits, du.digits);
      assertTrue(mu.thread, mu.thread.startsWith("stek-server"));
      assertTrue(du.thread, du.thread.startsWith("stek-sync-"));
      // A member now: it syncs, and the replicas converge.
      d.syncAsync("127.0.0.1", srv.port(), null).get(60, TimeUnit.SECONDS);
      assertEquals(m.stateHash(), d.stateHash());
    }
  }

  private void refusedBy(boolean memberYes, boolean deviceYes) throws Exception {
    User mu = new User(memberYes), du = new User(deviceYes);
    try (Store m = openWithSpace("m.db"); Store d = Store.open(path("d.db"));
        Server srv = serve(m, mu)) {
      m.pairOffer(Duration.ofMinutes(1));
      StekException e = failure(d.pairJoinAsync("127.0.0.1", srv.port(), du));
      assertEquals(e.toString(), StekException.EREFUSED, e.code());
      assertEquals(StekException.EREFUSED, nextEnd());
      assertEquals(0, d.spaces().size());
      assertEquals(null, d.currentSpace());
      if (!memberYes) assertEquals(mu.digits, du.digits); // asked, and refused
    }
  }

  @Test
  public void test_the_members_user_refuses_and_the_device_gets_erefused() throws Exception {
    refusedBy(false, true);
  }

  @Test
  public void test_the_devices_user_refuses_and_the_device_gets_erefused() throws Exception {
    refusedBy(true, false);
  }

  @Test
  public void test_without_an_open_offer_the_pairing_is_refused() throws Exception {
    User mu = new User(true), du = new User(true);
    try (Store m = openWithSpace("m.db"); Store d = Store.open(path("d.db"));
        Server srv = serve(m, mu)) {
      StekException e = failure(d.pairJoinAsync("127.0.0.1", srv.port(), du));
      assertEquals(e.toString(), StekException.EREFUSED, e.code());
      assertEquals(0, mu.asked + du.asked);
      expectStek(StekException.EINVAL, () -> m.pairOffer(Duration.ZERO));
      expectStek(StekException.EINVAL, () -> m.pairOffer(Duration.ofMinutes(61)));
    }
  }

  @Test
  public void test_closing_the_device_interrupts_a_confirm_waiting_for_its_user() throws Exception {
    CountDownLatch asked = new CountDownLatch(1), never = new CountDownLatch(1);
    BlockingQueue<String> outcome = new LinkedBlockingQueue<>();
    try (Store m = openWithSpace("m.db"); Server srv = serve(m, new User(true))) {
      m.pairOffer(Duration.ofMinutes(1));
      Store d = Store.open(path("d.db"));
      CompletableFuture<Space> f = d.pairJoinAsync("127.0.0.1", srv.port(), digits -> {
        asked.countDown();
        try {
          never.await(); // the user never answers
          outcome.add("answered");
          return true;
        } catch (InterruptedException e) {
          outcome.add("interrupted");
          throw e;
        }
      });
      assertTrue(asked.await(60, TimeUnit.SECONDS));
      d.close(); // returns: the confirm was interrupted, the worker ended
      assertEquals("interrupted", outcome.poll(0, TimeUnit.SECONDS));
      assertTrue(f.isCancelled());
      try (Store again = Store.open(path("d.db"))) {
        assertEquals(0, again.spaces().size());
      }
    }
  }

  @Test
  public void test_closing_the_server_interrupts_the_members_confirm() throws Exception {
    CountDownLatch asked = new CountDownLatch(1), never = new CountDownLatch(1);
    BlockingQueue<String> outcome = new LinkedBlockingQueue<>();
    try (Store m = openWithSpace("m.db"); Store d = Store.open(path("d.db"))) {
      m.pairOffer(Duration.ofMinutes(1));
      Server srv = serve(m, digits -> {
        asked.countDown();
        try {
          never.await();
          return true;
        } catch (InterruptedException e) {
          outcome.add("interrupted");
          throw e;
        }
      });
      CompletableFuture<Space> f = d.pairJoinAsync("127.0.0.1", srv.port(), new User(true));
      assertTrue(asked.await(60, TimeUnit.SECONDS));
      srv.close(); // returns: the member's confirm was interrupted and refused
      assertEquals("interrupted", outcome.poll(0, TimeUnit.SECONDS));
      StekException e = failure(f);
      assertTrue(e.toString(), e.code() == StekException.EREFUSED || e.code() == StekException.ENET);
      assertEquals(0, d.spaces().size());
    }
  }
}
