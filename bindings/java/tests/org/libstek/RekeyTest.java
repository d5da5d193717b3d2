package org.libstek;

import static org.junit.Assert.assertEquals;

import java.util.concurrent.TimeUnit;
import org.junit.Test;

/** Store.rekey (stek_rekey): a new passphrase for the whole store. */
public class RekeyTest extends StekTestBase {
  private static StoreOptions pass(String p) {
    return new StoreOptions().passphrase(p).pwhashMinimum();
  }

  @Test
  public void test_rekey_changes_the_passphrase_and_the_store_stays_usable() throws Exception {
    String id = Store.newId();
    try (Store a = Store.open(path("a.db"), pass("old one")); Store b = Store.open(path("b.db"))) {
      a.createSpace("team");
      a.put("note", id, "a", "1");
      b.acceptSpace(a.shareSpace(b.deviceId()));
      a.rekey("new one");
      assertEquals("1", a.get("note", id).getString("a"));
      a.put("note", id, "a", "2");
      // An async operation opens its own handle: with the new passphrase.
      try (Server srv = Server.start(b.path(), 0)) {
        a.syncAsync("127.0.0.1", srv.port(), null).get(60, TimeUnit.SECONDS);
      }
      assertEquals(a.stateHash(), b.stateHash());
    }
    expectStek(StekException.EKEY, () -> Store.open(path("a.db"), pass("old one")));
    try (Store a = Store.open(path("a.db"), pass("new one"))) {
      assertEquals("2", a.get("note", id).getString("a"));
    }
  }

  @Test
  public void test_rekey_encrypts_a_plaintext_store() {
    try (Store a = openWithSpace("a.db")) {
      a.rekey("secret".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    expectStek(StekException.EKEY, () -> Store.open(path("a.db")));
    try (Store a = Store.open(path("a.db"), pass("secret"))) {
      assertEquals(1, a.spaces().size());
    }
  }

  @Test
  public void test_rekey_is_refused_while_another_handle_is_open_or_in_a_transaction() {
    try (Store a = Store.open(path("a.db"), pass("old"))) {
      a.createSpace("team");
      try (Store other = Store.open(path("a.db"), pass("old"))) {
        expectStek(StekException.ESTATE, () -> a.rekey("new"));
        assertEquals(1, other.spaces().size());
      }
      a.begin();
      expectStek(StekException.ESTATE, () -> a.rekey("new"));
      a.rollback();
      expectStek(StekException.EINVAL, () -> a.rekey(""));
    }
    // Nothing changed: the old passphrase still opens it.
    try (Store a = Store.open(path("a.db"), pass("old"))) {
      assertEquals(1, a.spaces().size());
    }
  }
}
