package org.libstek.example;

import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.libstek.DirectoryEntry;
import org.libstek.Occurrence;
import org.libstek.Store;
import org.libstek.StoreOptions;
import org.libstek.SyncListener;
import org.libstek.SyncStats;

/**
 * The core of the team's tablet app, without its screens: what a screen
 * calls. On Android, keep one TabletCore per process, call the local
 * methods from a background executor or the UI thread (they are quick
 * local reads and writes), and hand sync() a listener that posts to the
 * UI thread (runOnUiThread) -- its callbacks come on a libstek worker.
 *
 * <pre>java ... org.libstek.example.TabletCore STORE SITE [HOST:PORT]</pre>
 */
public final class TabletCore implements AutoCloseable {
  private final Store store;

  public TabletCore(String path, StoreOptions options) {
    store = Store.open(path, options);
  }

  /** Today's activities and permanences at a site, in time order. */
  public List<Occurrence> todaysSchedule(String site) {
    return store.schedule().day(LocalDate.now(), site);
  }

  /** The social map: services matching what the visitor asks, in their language. */
  public List<DirectoryEntry> searchSocialMap(String query, String lang) {
    return store.directory().search(query, lang, null).stream().map(DirectoryEntry::from).toList();
  }

  /** An anonymous signal; the receipt code is for the visitor, to withdraw it. */
  public String recordSignal(String theme, String site, String text) {
    return store.signals().record(theme, site, text);
  }

  /** Sync with a peer on a libstek worker thread; never blocks the caller. */
  public CompletableFuture<SyncStats> sync(String host, int port, SyncListener progress) {
    return store.syncAsync(host, port, progress);
  }

  @Override
  public void close() {
    store.close();
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: TabletCore STORE SITE [HOST:PORT]");
      System.exit(2);
    }
    String host = null;
    int port = 0;
    if (args.length > 2) {
      int colon = args[2].lastIndexOf(':');
      host = args[2].substring(0, colon);
      port = Integer.parseInt(args[2].substring(colon + 1));
    }
    // A real app gives a passphrase (from the Android Keystore); the demo
    // store is a plaintext one made by the stek CLI.
    try (TabletCore app = new TabletCore(args[0], new StoreOptions())) {
      if (host != null) {
        SyncStats st = app.sync(host, port, null).get(60, TimeUnit.SECONDS);
        System.out.println("synced: " + st.opsReceived() + " ops in");
      }
      System.out.println("today at " + args[1] + ":");
      for (Occurrence o : app.todaysSchedule(args[1]))
        System.out.println("  " + o.start().substring(11, 16) + "-" + o.end().substring(11, 16)
            + "  " + o.title());
      System.out.println("social map, \"energie\":");
      for (DirectoryEntry e : app.searchSocialMap("energie", null))
        System.out.println("  " + e.org() + " (" + e.category() + ")");
      System.out.println("signal receipt: "
          + app.recordSignal("energy", args[1], "Cannot pay the heating bill"));
      if (host != null) {
        SyncStats st = app.sync(host, port, s -> { }).get(60, TimeUnit.SECONDS);
        System.out.println("synced: " + st.opsSent() + " ops out");
      }
    }
  }
}
