package org.libstek;

/**
 * LAN discovery, the announcing side (stek_announcer): a native thread of
 * its own sends a beacon for each space of the store at a path, every
 * period, saying "sync is served here on this TCP port". Only devices of
 * the same space recognise a beacon ({@link Store#discoverAsync}); to
 * anyone else it is random bytes. It opens a handle of its own on the store
 * (so a passphrase costs an Argon2id derivation: start it off the UI
 * thread) and re-reads the spaces each round, so a space joined meanwhile
 * is announced too. Its methods are synchronized; close stops it (joining
 * its thread) and is idempotent.
 *
 * <pre>
 * try (Server srv = Server.start(path, 0, "0.0.0.0", opts);
 *      Announcer an = Announcer.start(path, srv.port(), opts, new Announcer.Options())) { ... }
 * </pre>
 */
public final class Announcer implements AutoCloseable {
  private long an; // stek_announcer *, 0 once stopped; guarded by this
  private final int servePort;

  /**
   * Where and how often to announce: by default to the broadcast address
   * and the multicast group (address null) on UDP port 47115, every 2 s.
   * Tests and special setups name an address (a numeric IPv4 or IPv6 one,
   * "127.0.0.1" for one machine) and a port of their own.
   */
  public static final class Options {
    String address;
    int port = 47115;
    long periodMs = 2000;

    /** A numeric address to send to; null: broadcast and the multicast group. */
    public Options address(String a) {
      address = a;
      return this;
    }

    /** The UDP port to send to (default 47115). */
    public Options port(int p) {
      port = p;
      return this;
    }

    /** Time between two rounds of beacons, at least 10 ms (default 2000); the first goes at once. */
    public Options periodMs(long ms) {
      periodMs = ms;
      return this;
    }
  }

  private Announcer(long an, int servePort) {
    this.an = an;
    this.servePort = servePort;
  }

  /** Announce the plaintext store at storePath, serving on servePort, with the default options. */
  public static Announcer start(String storePath, int servePort) {
    return start(storePath, servePort, new StoreOptions(), new Options());
  }

  /**
   * Announce the spaces of the store at storePath (opened with options) as
   * served on TCP port servePort. EINVAL for a bad address or period.
   */
  public static Announcer start(String storePath, int servePort, StoreOptions options,
      Options announce) {
    StoreOptions o = options.copy();
    try {
      return new Announcer(Native.announcerStart(Native.c(storePath), o, servePort,
          announce.periodMs, Native.c(announce.address), announce.port), servePort);
    } finally {
      o.wipe();
    }
  }

  /** The TCP port the beacons name; ESTATE once closed. */
  public synchronized int servePort() {
    if (an == 0) throw new StekException(StekException.ESTATE, "the announcer is stopped");
    return servePort;
  }

  public synchronized boolean isClosed() {
    return an == 0;
  }

  /** Stop announcing: wake its thread, join it, close its handle. Idempotent. */
  @Override
  public synchronized void close() {
    long p = an;
    an = 0;
    if (p != 0) Native.announcerStop(p);
  }
}
