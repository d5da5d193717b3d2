package org.libstek;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An open store: one stek handle (stek.h, "Opening a store").
 *
 * <h2>Threads and locking</h2>
 * A stek handle may be used by one thread at a time, so every method of a
 * Store (and of its {@link #schedule()}, {@link #directory()} and
 * {@link #signals()} views) is {@code synchronized} on the Store: any thread
 * may call them, one at a time. The native pointer lives in {@link #handle}
 * and is read only under that lock, so {@link #close()} -- which frees it
 * under that lock -- can never do so while a call or a callback is using it; after close
 * every method throws {@link StekException} with code
 * {@link StekException#ESTATE}, and close is idempotent. Close also cancels
 * the Store's async operations and stops their listeners: see
 * {@link #close()}.
 *
 * <p>Network work never runs on the caller's thread: {@link #syncAsync},
 * {@link #acceptInviteAsync}, {@link #pairJoinAsync} and
 * {@link #discoverAsync} run on the library's
 * own worker threads ("stek-sync-N", a cached pool of daemon threads), each
 * opening a handle of its own on the same store file (distinct handles may be
 * used from distinct threads at once), so the Store stays usable -- and its
 * lock free -- while they run.  The other methods do local disk work and
 * return quickly; bundle export/import and open (Argon2id with a passphrase)
 * take longer: call them off the UI thread.
 *
 * <h2>Change listener</h2>
 * See {@link #setChangeListener}.
 */
public final class Store implements AutoCloseable {
  /** The native handle (a struct jstek *), 0 once closed. Guarded by this. */
  private long handle;
  private final String path;
  private final StoreOptions options;
  private boolean inTransaction;
  private volatile ChangeListener listener;
  /** The async operations running for this Store (Sync.Task), from submit to their worker's end. */
  final Set<Sync.Task<?>> tasks = ConcurrentHashMap.newKeySet();
  /**
   * Held while a callback of an async operation runs (remote changes,
   * progress, peers), so that close() can wait for one in progress; see
   * {@link #callback}.
   */
  private final Object callbackLock = new Object();
  /** Set by close(): the async operations' callbacks are dropped from then on. */
  private volatile boolean callbacksOff;
  /** Queues the changes the native callback reports during a call. */
  private final Sink changes = new Sink();
  private final Schedule schedule = new Schedule(this);
  private final Directory directory = new Directory(this);
  private final Signals signals = new Signals(this);

  private Store(String path, StoreOptions options, long handle) {
    this.path = path;
    this.options = options;
    this.handle = handle;
  }

  /** Open (creating if missing) the plaintext store at path: tests and tools only. */
  public static Store open(String path) {
    return open(path, new StoreOptions());
  }

  /** Open (creating if missing) the store at path; throws EKEY on a wrong passphrase. */
  public static Store open(String path, StoreOptions options) {
    StoreOptions o = options.copy();
    long h = Native.open(Native.c(path), o);
    Store s = new Store(path, o, h);
    try {
      List<Space> sp = s.spaces();
      if (sp.size() == 1) s.useSpace(sp.get(0).id());
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** The library's version, e.g. "0.1.0". */
  public static String version() {
    return Native.str(Native.version());
  }

  /** A fresh random record id (32 hex digits). */
  public static String newId() {
    return Native.hex(Native.newId());
  }

  public String path() {
    return path;
  }

  /**
   * Close the store. Idempotent; afterwards every method throws ESTATE.
   *
   * <ol>
   *   <li>Under the Store's lock -- so after any call in progress -- the
   *       change listener is removed, the async operations' callbacks are
   *       switched off, and the handle is closed (an open transaction is
   *       rolled back).</li>
   *   <li>Every running async operation ({@link #syncAsync},
   *       {@link #acceptInviteAsync}, {@link #pairJoinAsync},
   *       {@link #discoverAsync}) is cancelled: its future completes with a
   *       CancellationException, its native call is told to stop
   *       (stek_cancel: within ~20 ms), and a {@link PairConfirm} waiting
   *       for its user is interrupted.</li>
   *   <li>close then waits for a callback of theirs that is running (a
   *       listener in progress finishes first) and for their workers to end
   *       (each closes its own handle on the file). It does not wait for a
   *       discovery, which stek.h cannot interrupt: that worker ends at the
   *       next beacon or at its timeout, without calling its listener.</li>
   * </ol>
   * So once close returns, no listener of this Store (change, progress,
   * peer) is called again, and -- but for a discovery -- no worker holds the
   * store file. Called from inside such a listener or with the Store's lock
   * held (in a change listener, an {@code inTransaction} body), close
   * cannot wait without deadlocking: it does steps 1 and 2 only, and the
   * callbacks still come to nothing.
   */
  @Override
  public void close() {
    List<Sync.Task<?>> running;
    synchronized (this) {
      long h = handle;
      if (h == 0) return;
      handle = 0;
      callbacksOff = true;
      listener = null;
      running = new ArrayList<>(tasks);
      Native.close(h);
      options.wipe();
    }
    for (Sync.Task<?> t : running) t.cancel(true);
    if (Thread.holdsLock(this) || Thread.holdsLock(callbackLock)) return;
    synchronized (callbackLock) {
      // a callback in progress has ended; later ones see callbacksOff
    }
    boolean interrupted = false;
    for (Sync.Task<?> t : running) {
      if (!t.closeWaits || t.isWorker()) continue;
      while (true) {
        try {
          t.awaitEnd(Long.MAX_VALUE);
          break;
        } catch (InterruptedException e) {
          interrupted = true; // finish waiting: the promise is that they have ended
        }
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
  }

  /**
   * Run a callback of an async operation (on its worker thread) unless the
   * Store is closed; false if it was dropped. Callbacks of a Store run one
   * at a time, never with the Store's lock held by this binding.
   */
  boolean callback(Runnable r) {
    if (callbacksOff) return false;
    synchronized (callbackLock) {
      if (callbacksOff) return false;
      r.run();
      return true;
    }
  }

  /** Wait for the async operations (all of them, discoveries too) to end: for tests. */
  boolean awaitTasks(long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    for (Sync.Task<?> t : new ArrayList<>(tasks))
      if (!t.awaitEnd(Math.max(0, (deadline - System.nanoTime()) / 1_000_000))) return false;
    return tasks.isEmpty();
  }

  /**
   * Change the store's passphrase (stek_rekey): the whole store is copied,
   * encrypted under a key derived from the new passphrase with this
   * Store's Argon2id cost, beside the file, then renamed over it -- an
   * interruption leaves either the old store or the new one, never a mix.
   * A plaintext store given a passphrase is encrypted; null writes a
   * plaintext store (tools only). The Store stays open, and its async
   * operations open their handles with the new passphrase from now on.
   * Disk work on the calling thread: call it off the UI thread. ESTATE in
   * a transaction or while another handle has the file open -- a
   * {@link Server}, an {@link Announcer}, another Store, or one of this
   * Store's running async operations.
   */
  public void rekey(String newPassphrase) {
    byte[] p = newPassphrase == null ? null : newPassphrase.getBytes(StandardCharsets.UTF_8);
    try {
      rekey(p);
    } finally {
      if (p != null) Arrays.fill(p, (byte) 0);
    }
  }

  /** {@link #rekey(String)} with the passphrase as bytes (any bytes, at least one). */
  public synchronized void rekey(byte[] newPassphrase) {
    Native.rekey(h(), newPassphrase);
    options.passphrase(newPassphrase);
  }

  public synchronized boolean isClosed() {
    return handle == 0;
  }

  /** The handle, or ESTATE once closed. Call with the lock held. */
  long h() {
    if (handle == 0) throw new StekException(StekException.ESTATE, "the store is closed");
    return handle;
  }

  // ---- Change listener

  /**
   * Install (or with null remove) the listener told of each record a
   * committed change touches. Threads: it runs on the thread that made the
   * change, right after the Store call that made it has returned from
   * libstek and before that call returns to its caller, with the Store's
   * lock held -- so it may read the store (stek.h forbids calls from inside
   * the native callback; this binding queues the changes and delivers them
   * after it). Changes received by {@link #syncAsync} or
   * {@link #acceptInviteAsync} are delivered (origin REMOTE) on the sync
   * worker thread, without the lock, one callback at a time, before the
   * future completes -- and never once {@link #close()} has returned; those
   * of {@link #importBundle} on its caller's thread. An exception the
   * listener throws reaches the caller of the write, which has been
   * committed.
   */
  public synchronized void setChangeListener(ChangeListener l) {
    Native.setChangeSink(h(), l == null ? null : changes);
    listener = l;
  }

  /** Deliver the changes queued during the last native call. Lock held. */
  void deliver() {
    if (changes.items.isEmpty()) return;
    List<Sink.Change> todo = changes.take();
    ChangeListener l = listener;
    if (l == null) return;
    RuntimeException first = null;
    for (Sink.Change c : todo) {
      try {
        l.onChange(c.type(), c.id(), c.origin());
      } catch (RuntimeException e) {
        if (first == null) first = e;
      }
    }
    if (first != null) throw first;
  }

  // ---- Identity and spaces

  /** This device's id: its Ed25519 public key, 64 hex digits. */
  public synchronized String deviceId() {
    return Native.hex(Native.deviceId(h()));
  }

  /** Create a space and make it current; returns its id. */
  public synchronized String createSpace(String name) {
    return Native.hex(Native.spaceCreate(h(), Native.c(name == null ? "" : name)));
  }

  /** The spaces the store holds, ordered by id. */
  public synchronized List<Space> spaces() {
    Sink s = new Sink();
    Native.spaces(h(), s);
    return s.take();
  }

  public synchronized void useSpace(String id) {
    Native.spaceUse(h(), Native.id(id));
  }

  /**
   * The current space's id (stek_space_current), or null if none is chosen:
   * the one space of a store that holds one, else the last one created,
   * used, accepted or joined (acceptInviteAsync, pairJoinAsync).
   */
  public synchronized String currentSpace() {
    return Native.hex(Native.spaceCurrent(h()));
  }

  /** Seal the current space to another device (its 64-hex-digit id). */
  public synchronized byte[] shareSpace(String deviceId) {
    return Native.spaceShare(h(), Native.deviceId(deviceId));
  }

  /**
   * The devices of the current space, in key order: device id (64 hex
   * digits) to whether it is revoked.
   */
  public synchronized Map<String, Boolean> devices() {
    byte[] b = Native.devices(h());
    Map<String, Boolean> out = new java.util.LinkedHashMap<>();
    for (int i = 0; i + 33 <= b.length; i += 33)
      out.put(Native.hex(java.util.Arrays.copyOfRange(b, i, i + 32)), b[i + 32] != 0);
    return out;
  }

  /**
   * Revoke a device from the current space: a new space key for the devices
   * that stay, carried by sync; the revoked device is refused by every
   * member that knows of it (StekException.EREVOKED if this one is).
   */
  public synchronized void revokeDevice(String deviceId) {
    Native.deviceRevoke(h(), Native.deviceId(deviceId));
  }

  /**
   * Join a space sealed to this device by shareSpace and make it current;
   * returns its id, or null if the space was already held.
   */
  public synchronized String acceptSpace(byte[] sealed) {
    Set<String> before = spaceIds();
    int rc = Native.spaceAccept(h(), sealed);
    if (rc != 0) return null;
    for (String id : spaceIds())
      if (!before.contains(id)) return id;
    return null;
  }

  // ---- Blind relays

  /**
   * Let the device with this id (64 hex digits) carry the current space's
   * changes without being able to read them: a relay capability sealed to
   * that device, to hand it (file, QR code) for {@link #acceptRelay}.
   * Members then sync with the relay with {@code relay = true}
   * ({@link #syncAsync(String, int, int, boolean, SyncListener)}).
   */
  public synchronized byte[] shareRelay(String deviceId) {
    return Native.relayShare(h(), Native.deviceId(deviceId));
  }

  /**
   * On the relay: accept a capability sealed to this device (EMALFORMED if
   * it was sealed to another). The relay holds sealed changes, with only
   * their id and timestamp, and hands them on to members; it never holds
   * the space's key.
   */
  public synchronized void acceptRelay(byte[] share) {
    Native.relayAccept(h(), share);
  }

  /** How many sealed changes this store carries for the spaces it relays. */
  public synchronized long relayCount() {
    return Native.relayCount(h());
  }

  private Set<String> spaceIds() {
    Set<String> ids = new HashSet<>();
    for (Space s : spaces()) ids.add(s.id());
    return ids;
  }

  // ---- Generic records

  /**
   * Write fields of a record as one change (inside a transaction: part of
   * it). Values are String, Long (or Integer) or List&lt;String&gt;; a null
   * value removes the field.
   */
  public synchronized void put(String type, String id, Map<String, ?> fields) {
    long h = h();
    byte[] t = Native.c(type), i = Native.id(id);
    boolean own = !inTransaction && fields.size() > 1;
    if (own) begin();
    boolean ok = false;
    try {
      for (Map.Entry<String, ?> e : fields.entrySet())
        Native.put(h, t, i, Native.c(e.getKey()), Native.value(e.getValue()));
      ok = true;
    } finally {
      if (own) {
        if (ok) commit();
        else rollback();
      } else {
        deliver();
      }
    }
  }

  /** Set one field (null removes it). */
  public synchronized void put(String type, String id, String field, Object value) {
    try {
      Native.put(h(), Native.c(type), Native.id(id), Native.c(field), Native.value(value));
    } finally {
      deliver();
    }
  }

  /** The live record, or null if it has no fields or is deleted. */
  public synchronized Record get(String type, String id) {
    Sink s = new Sink();
    if (!Native.get(h(), Native.c(type), Native.id(id), s)) return null;
    return (Record) s.items.get(0);
  }

  /** Delete the record (a tombstone that only a later restore undoes). */
  public synchronized void delete(String type, String id) {
    try {
      Native.deleteOrRestore(h(), Native.c(type), Native.id(id), false);
    } finally {
      deliver();
    }
  }

  public synchronized void restore(String type, String id) {
    try {
      Native.deleteOrRestore(h(), Native.c(type), Native.id(id), true);
    } finally {
      deliver();
    }
  }

  /** Add one element to a set field (merges element by element across devices). */
  public synchronized void addToSet(String type, String id, String field, String element) {
    try {
      Native.setElement(h(), Native.c(type), Native.id(id), Native.c(field), Native.c(element), true);
    } finally {
      deliver();
    }
  }

  public synchronized void removeFromSet(String type, String id, String field, String element) {
    try {
      Native.setElement(h(), Native.c(type), Native.id(id), Native.c(field), Native.c(element), false);
    } finally {
      deliver();
    }
  }

  /** The live records of type (null: all types) in the current space, by (type, id). */
  public synchronized List<Record> records(String type) {
    Sink s = new Sink();
    Native.list(h(), Native.c(type), s);
    return s.take();
  }

  // ---- Transactions

  /**
   * Begin a transaction: the writes until commit become one change. It
   * belongs to the handle, not to a thread: while it is open, writes from
   * any thread join it. Prefer {@link #inTransaction}, which holds the lock
   * throughout. Transactions do not nest (ESTATE).
   */
  public synchronized void begin() {
    Native.txn(h(), 0);
    inTransaction = true;
  }

  public synchronized void commit() {
    try {
      Native.txn(h(), 1);
      inTransaction = false;
    } finally {
      deliver();
    }
  }

  public synchronized void rollback() {
    inTransaction = false;
    Native.txn(h(), 2);
  }

  /**
   * Run body in a transaction, holding the Store's lock: committed if it
   * returns, rolled back (and the exception rethrown) if it throws.
   */
  public synchronized void inTransaction(Runnable body) {
    begin();
    boolean ok = false;
    try {
      body.run();
      ok = true;
    } finally {
      if (ok) {
        commit();
      } else if (handle != 0) {
        try {
          rollback();
        } catch (StekException ignored) {
          // the body's exception matters more
        }
      }
    }
  }

  // ---- Replication state

  public synchronized long changeCount() {
    return Native.changeCount(h());
  }

  /** The current space's state hash (64 hex digits): equal on converged replicas. */
  public synchronized String stateHash() {
    return Native.hex(Native.stateHash(h()));
  }

  // ---- Typed views

  public Schedule schedule() {
    return schedule;
  }

  public Directory directory() {
    return directory;
  }

  public Signals signals() {
    return signals;
  }

  // ---- Bundles

  /** Write the current space's changes since sinceMs (0: all) to a bundle; returns their count. */
  public synchronized long exportBundle(String path, long sinceMs) {
    return Native.bundleExport(h(), Native.c(path), sinceMs);
  }

  /** Import a bundle of any space held (checked whole before anything is stored). */
  public synchronized ImportResult importBundle(String path) {
    try {
      long[] r = Native.bundleImport(h(), Native.c(path));
      return new ImportResult(r[0], r[1]);
    } finally {
      deliver();
    }
  }

  // ---- Invitations

  /** A one-time token ("STEK-XXXX-...") to the current space, valid for ttl. */
  public synchronized String createInvite(Duration ttl) {
    return Native.str(Native.inviteCreate(h(), ttl.toMillis()));
  }

  // ---- Network: on the sync worker threads (Sync)

  /** {@link #syncAsync(String, int, int, boolean, SyncListener)} with default timeout, no relay. */
  public CompletableFuture<SyncStats> syncAsync(String host, int port, SyncListener progress) {
    return syncAsync(host, port, 0, false, progress);
  }

  /**
   * Sync the current space once with the device serving it at host:port, on
   * a library worker thread; returns at once. progress (may be null) is
   * called on that worker thread. The future completes (on the worker
   * thread) with the final stats, or exceptionally with a StekException
   * (ENET, ETIMEDOUT, ...); cancel(true) stops the sync within ~20 ms
   * (ECANCELED). timeoutMs 0: libstek's default (30 s of silence).
   */
  public CompletableFuture<SyncStats> syncAsync(String host, int port, int timeoutMs,
      boolean relay, SyncListener progress) {
    return syncAsync(host, port, timeoutMs, 0, relay, progress);
  }

  /**
   * {@link #syncAsync(String, int, int, boolean, SyncListener)} that also
   * fails with ETIMEDOUT once the whole sync has lasted sessionMs, however
   * busy (a peer trickling bytes cannot hold it for ever). sessionMs 0:
   * libstek's default (15 minutes); negative: EINVAL.
   */
  public CompletableFuture<SyncStats> syncAsync(String host, int port, int timeoutMs,
      long sessionMs, boolean relay, SyncListener progress) {
    return submit(true, (w, cancel, task) -> {
      Sync.ProgressSink sink = new Sync.ProgressSink(this, progress);
      w.runSync(host, port, timeoutMs, sessionMs, relay, cancel, sink);
      return sink.last;
    });
  }

  /**
   * Join a space with an invitation token through the member serving at
   * host:port, on a worker thread. The future gives the space joined, which
   * this Store then uses as its current space; run syncAsync to fetch its
   * content.
   */
  public CompletableFuture<Space> acceptInviteAsync(String token, String host, int port) {
    return submit(true, (w, cancel, task) -> {
      Set<String> before = w.spaceIds();
      synchronized (w) {
        Native.inviteAccept(w.h(), Native.c(token), Native.c(host), port, 0, cancel);
      }
      Space joined = null;
      for (Space s : w.spaces())
        if (!before.contains(s.id())) joined = s;
      if (joined == null)
        throw new StekException(StekException.ERROR, "the invitation joined no new space");
      synchronized (this) {
        if (handle != 0) useSpace(joined.id());
      }
      return joined;
    });
  }

  // ---- Pairing by six digits

  /**
   * The member's side of a pairing: open a one-shot pairing offer to the
   * current space for ttl (1 ms to an hour), replacing any still open. A
   * {@link Server} on this store's file started with
   * {@link Server.Options#pairConfirm} then accepts one pairing
   * connection: both screens show six digits, both users confirm, and the
   * new device gets the space. The offer closes at the first attempt,
   * whatever its outcome (one guess in 10^6 per offer).
   */
  public synchronized void pairOffer(Duration ttl) {
    Native.pairOffer(h(), ttl.toMillis());
  }

  /** {@link #pairJoinAsync(String, int, int, PairConfirm)} waiting up to 5 minutes for the member. */
  public CompletableFuture<Space> pairJoinAsync(String host, int port, PairConfirm confirm) {
    return pairJoinAsync(host, port, 300_000, confirm);
  }

  /**
   * The new device's side of a pairing: connect to the member serving at
   * host:port with a pairing offer open, show confirm the six digits (on
   * the worker thread; it may wait for its user), and on success hold the
   * space and make it this Store's current one; run {@link #syncAsync}
   * then to fetch its content. On a worker thread; returns at once.
   * timeoutMs: how long the member may stay silent -- its user is deciding
   * meanwhile (0: libstek's 30 s). The future fails with EREFUSED if
   * either user did not confirm or the member had no offer open,
   * ESIGNATURE if the member's reveal broke its commitment (an attack),
   * ENET if unreachable; cancel(true) interrupts a confirm that waits.
   */
  public CompletableFuture<Space> pairJoinAsync(String host, int port, int timeoutMs,
      PairConfirm confirm) {
    if (confirm == null) throw new StekException(StekException.EINVAL, "a PairConfirm is required");
    return submit(true, (w, cancel, task) -> {
      byte[] space;
      synchronized (w) {
        space = Native.pairJoin(w.h(), Native.c(host), port, timeoutMs, cancel,
            new Sync.PairSink(task, confirm));
      }
      String id = Native.hex(space);
      Space joined = null;
      for (Space sp : w.spaces())
        if (sp.id().equals(id)) joined = sp;
      if (joined == null)
        throw new StekException(StekException.ERROR, "the pairing joined no space");
      synchronized (this) {
        if (handle != 0) useSpace(id);
      }
      return joined;
    });
  }

  /**
   * Listen for LAN beacons of the spaces held, for timeoutMs (0: 5 s), on a
   * worker thread; listener (may be null) hears each peer on that thread
   * and may stop the run. address/udpPort: null/0 for the standard ones.
   */
  public CompletableFuture<List<Peer>> discoverAsync(long timeoutMs, String address, int udpPort,
      PeerListener listener) {
    return submit(false, (w, cancel, task) -> {
      Sync.PeerSink sink = new Sync.PeerSink(this, listener);
      synchronized (w) {
        Native.discover(w.h(), timeoutMs, Native.c(address), udpPort, sink);
      }
      return sink.take();
    });
  }

  /**
   * Start job on a worker with what it needs to open its own handle, read
   * under the lock (so close() either comes first -- ESTATE -- or finds the
   * task registered and cancels it). closeWaits: whether close() waits for
   * it (job honours the cancel flag).
   */
  private synchronized <T> CompletableFuture<T> submit(boolean closeWaits, Sync.Job<T> job) {
    h();
    return Sync.submit(this, new Sync.Target(path, options.copy(), currentSpace()), closeWaits,
        job);
  }

  /** Open a worker's handle (on the worker thread). */
  static Store openWorker(Sync.Target t) {
    long h = Native.open(Native.c(t.path()), t.options());
    Store w = new Store(t.path(), t.options(), h);
    if (t.space() != null) w.useSpace(t.space());
    return w;
  }

  /** The blocking sync, on a worker's own Store. */
  synchronized void runSync(String host, int port, int timeoutMs, long sessionMs, boolean relay,
      long cancel, Sink progress) {
    try {
      Native.sync(h(), Native.c(host), port, timeoutMs, sessionMs, relay, cancel, progress);
    } finally {
      deliver();
    }
  }

  /** Forward a worker's changes to the app's listener (on the worker thread) while parent is open. */
  void forwardChangesTo(Store parent) {
    setChangeListener((type, id, origin) -> parent.callback(() -> {
      ChangeListener l = parent.listener;
      try {
        if (l != null) l.onChange(type, id, origin);
      } catch (RuntimeException ignored) {
        // the sync itself succeeded; nobody on this thread to tell
      }
    }));
  }
}
