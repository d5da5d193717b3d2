package org.libstek;

/**
 * A sync server (stek_server): a native thread of its own serving the
 * spaces of the store file at a path to any number of devices, through a
 * handle of its own (the app's Store stays usable). Its methods are
 * synchronized; close stops it (closing every connection and joining its
 * thread) and is idempotent; after close, port() and the counts throw
 * ESTATE.
 */
public final class Server implements AutoCloseable {
  private long srv; // stek_server *, 0 once stopped; guarded by this
  private final int port;

  private Server(long srv) {
    this.srv = srv;
    this.port = Native.serverPort(srv);
  }

  /** Serve the plaintext store at storePath on 127.0.0.1:port (0: any free port). */
  public static Server start(String storePath, int port) {
    return start(storePath, port, null, new StoreOptions());
  }

  /**
   * Serve on bindAddr:port (bindAddr a numeric address, null: 127.0.0.1;
   * "0.0.0.0" to serve the LAN). Opens the store, so with a passphrase
   * this takes an Argon2id derivation: start it off the UI thread.
   */
  public static Server start(String storePath, int port, String bindAddr, StoreOptions options) {
    StoreOptions o = options.copy();
    try {
      return new Server(Native.serverStart(Native.c(storePath), o.passphrase, o.opslimit,
          o.memlimit, Native.c(o.zoneinfoDir), Native.c(bindAddr), port));
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

  @Override
  public synchronized void close() {
    long p = srv;
    srv = 0;
    if (p != 0) Native.serverStop(p);
  }
}
