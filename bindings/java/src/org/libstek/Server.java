package org.libstek;

/**
 * A sync server (stek_server): a native thread of its own serving the
 * spaces of the store file at a path to any number of devices, through a
 * handle of its own (the app's Store stays usable). Its limits against
 * hostile or broken peers are its {@link Options}. Its methods are
 * synchronized; close stops it (closing every connection and joining its
 * thread, so no listener of its runs after close returns) and is
 * idempotent; after close, port() and the counts throw ESTATE.
 */
public final class Server implements AutoCloseable {
  /** stek.h's defaults: STEK_SERVER_MAX_PEERS, _IDLE_MS, _SESSION_MS. */
  public static final int DEFAULT_MAX_PEERS = 64;
  public static final long DEFAULT_IDLE_MS = 30_000, DEFAULT_SESSION_MS = 900_000;

  /**
   * How a server treats its peers (stek_server_options), from stek.h's
   * defaults. Out-of-range values make {@link #start} throw EINVAL.
   */
  public static final class Options {
    int maxPeers = DEFAULT_MAX_PEERS;
    long idleMs = DEFAULT_IDLE_MS, sessionMs = DEFAULT_SESSION_MS;
    SessionListener onSessionEnd;
    PairConfirm pairConfirm;

    /** Sessions at once (>= 1); a connection beyond them is closed at once (EBUSY). */
    public Options maxPeers(int n) {
      maxPeers = n;
      return this;
    }

    /** A session is cut after this long without traffic (> 0; ETIMEDOUT). */
    public Options idleMs(long ms) {
      idleMs = ms;
      return this;
    }

    /** A session is cut after this long in all, however busy (> 0; ETIMEDOUT). */
    public Options sessionMs(long ms) {
      sessionMs = ms;
      return this;
    }

    /** Told as each session ends, on the server's thread (null: nobody). */
    public Options onSessionEnd(SessionListener l) {
      onSessionEnd = l;
      return this;
    }

    /**
     * Pairing, the member's side (stek_config.pair_confirm): after
     * {@link Store#pairOffer} on the store served, a new device that
     * connects to pair has its digits confirmed by c, on the server's
     * thread. null (the default): every pairing is refused.
     */
    public Options pairConfirm(PairConfirm c) {
      pairConfirm = c;
      return this;
    }
  }

  /** What the server's thread calls: the app's listeners, their exceptions dropped. */
  private static final class Callbacks extends Sink {
    private final SessionListener onSessionEnd;
    private final PairConfirm pairConfirm;
    private Thread confirming; // the server's thread while it asks pairConfirm; guarded by this
    private boolean stopping; // guarded by this

    Callbacks(Options o) {
      onSessionEnd = o.onSessionEnd;
      pairConfirm = o.pairConfirm;
    }

    @Override
    boolean pairConfirm(byte[] sas) {
      synchronized (this) {
        if (stopping || pairConfirm == null) return false;
        confirming = Thread.currentThread();
      }
      try {
        return pairConfirm.confirm(Native.str(sas));
      } catch (InterruptedException | RuntimeException e) {
        return false; // refused
      } finally {
        synchronized (this) {
          confirming = null;
          Thread.interrupted(); // an interrupt from stop() ends here
        }
      }
    }

    /** The server is stopping: a confirm waiting for its user gives up (interrupted). */
    synchronized void stop() {
      stopping = true;
      if (confirming != null) confirming.interrupt();
    }

    @Override
    void sessionEnd(int rc, byte[] message) {
      if (onSessionEnd == null) return;
      try {
        onSessionEnd.onSessionEnd(rc, Native.str(message));
      } catch (RuntimeException ignored) {
        // nobody on the server's thread to tell
      }
    }
  }

  private long srv; // struct jserver *, 0 once stopped; guarded by this
  private final int port;
  private final Callbacks callbacks; // null without listeners

  private Server(long srv, Callbacks callbacks) {
    this.srv = srv;
    this.port = Native.serverPort(srv);
    this.callbacks = callbacks;
  }

  /** Serve the plaintext store at storePath on 127.0.0.1:port (0: any free port). */
  public static Server start(String storePath, int port) {
    return start(storePath, port, null, new StoreOptions(), new Options());
  }

  /** {@link #start(String, int, String, StoreOptions, Options)} with the default Options. */
  public static Server start(String storePath, int port, String bindAddr, StoreOptions options) {
    return start(storePath, port, bindAddr, options, new Options());
  }

  /**
   * Serve on bindAddr:port (bindAddr a numeric address, null: 127.0.0.1;
   * "0.0.0.0" to serve the LAN). Opens the store, so with a passphrase
   * this takes an Argon2id derivation: start it off the UI thread.
   */
  public static Server start(String storePath, int port, String bindAddr, StoreOptions options,
      Options serverOptions) {
    StoreOptions o = options.copy();
    Options so = serverOptions;
    Callbacks cb = so.onSessionEnd != null || so.pairConfirm != null ? new Callbacks(so) : null;
    try {
      return new Server(Native.serverStart(Native.c(storePath), o, Native.c(bindAddr), port,
          so.maxPeers, so.idleMs, so.sessionMs, cb, so.pairConfirm != null), cb);
    } finally {
      o.wipe();
    }
  }

  private long s() {
    if (srv == 0) throw new StekException(StekException.ESTATE, "the server is stopped");
    return srv;
  }

  /** The TCP port it listens on. */
  public synchronized int port() {
    s();
    return port;
  }

  /** Sessions served so far that ended DONE. */
  public synchronized long sessionsDone() {
    return Native.serverCounts(s())[0];
  }

  /** Sessions served so far that failed. */
  public synchronized long sessionsFailed() {
    return Native.serverCounts(s())[1];
  }

  /**
   * Stop: a pairConfirm waiting for its user is interrupted (and refuses),
   * every connection is closed, the server's thread joined. Idempotent.
   */
  @Override
  public synchronized void close() {
    long p = srv;
    srv = 0;
    if (p == 0) return;
    if (callbacks != null) callbacks.stop();
    Native.serverStop(p);
  }
}
