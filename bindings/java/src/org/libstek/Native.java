package org.libstek;

import java.nio.charset.StandardCharsets;

/**
 * The JNI entry points (bindings/java/jni/stekjni.c) and the conversions at
 * the boundary: strings cross as byte[] of standard UTF-8, ids as byte[16].
 * Package-private: apps use {@link Store}.
 *
 * <p>Each entry point wraps one stek.h call -- or, where a flag picks
 * between siblings, one of a pair (deleteOrRestore, setElement, txn,
 * typedPut, scheduleCancel); {@code spaces} walks stek_space_count and
 * stek_space_get; the network calls fill their stek_*_options on the way.
 * Not bound, on purpose: stek_ingest and stek_changes (raw changes: sync
 * and bundles carry them), stek_id_to_hex / stek_id_from_hex (done here in
 * Java), stek_record_find and stek_record_json (a {@link Record} is a
 * Map), stek_cancel_triggered (Future.isCancelled), stek_version_number
 * (the version string), stek_errmsg alone (every failure throws it), the
 * stek_*_init and *_free functions (used inside the wrappers).
 * {@code debugHeapInUse} is the one entry point that is no stek.h call:
 * the leak test's measure.
 *
 * <p>The library is loaded from the file named by the system property
 * {@code org.libstek.jni} if set, else by {@code System.loadLibrary("stekjni")}
 * (java.library.path; on Android, the APK's lib/ABI folder).
 */
final class Native {
  private Native() {}

  static {
    String file = System.getProperty("org.libstek.jni");
    if (file != null && !file.isEmpty()) System.load(file);
    else System.loadLibrary("stekjni");
  }

  /** A Java string as UTF-8 bytes (null stays null); NUL cannot cross. */
  static byte[] c(String s) {
    if (s == null) return null;
    if (s.indexOf('\0') >= 0)
      throw new StekException(StekException.EINVAL, "a string holds a NUL character");
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String str(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  static byte[] id(String hex) {
    return unhex(hex, 16, "an id is 32 hex digits");
  }

  static byte[] deviceId(String hex) {
    return unhex(hex, 32, "a device id is 64 hex digits");
  }

  // (java.util.HexFormat would do, but Android has it only from API 34.)
  private static byte[] unhex(String hex, int n, String what) {
    if (hex == null || hex.length() != 2 * n)
      throw new StekException(StekException.EINVAL, what + ": " + hex);
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      int hi = Character.digit(hex.charAt(2 * i), 16), lo = Character.digit(hex.charAt(2 * i + 1), 16);
      if (hi < 0 || lo < 0) throw new StekException(StekException.EINVAL, what + ": " + hex);
      out[i] = (byte) (hi << 4 | lo);
    }
    return out;
  }

  static String hex(byte[] b) {
    if (b == null) return null;
    StringBuilder sb = new StringBuilder(2 * b.length);
    for (byte x : b) sb.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
    return sb.toString();
  }

  /**
   * A field value as the native side takes it: null, Long, byte[] (a
   * string) or byte[][] (a list of strings).
   */
  static Object value(Object v) {
    if (v == null) return null;
    if (v instanceof Long) return v;
    if (v instanceof Integer || v instanceof Short || v instanceof Byte)
      return ((Number) v).longValue();
    if (v instanceof String) return c((String) v);
    if (v instanceof Iterable<?> || v instanceof String[]) {
      java.util.List<byte[]> out = new java.util.ArrayList<>();
      Iterable<?> it = v instanceof String[] ? java.util.Arrays.asList((String[]) v) : (Iterable<?>) v;
      for (Object e : it) {
        if (!(e instanceof String))
          throw new StekException(StekException.EINVAL, "a list value holds only strings");
        out.add(c((String) e));
      }
      return out.toArray(new byte[0][]);
    }
    throw new StekException(StekException.EINVAL,
        "a field value is a String, a Long (or Integer) or a List<String>, not "
            + v.getClass().getName());
  }

  // ---- Library
  static native byte[] version();
  static native byte[] strerror(int code);
  static native byte[] newId();
  /**
   * Test only: the bytes of C heap in use in the process (glibc's
   * mallinfo2: uordblks + hblkhd), or -1 where that cannot be known (not
   * glibc, or under AddressSanitizer).
   */
  static native long debugHeapInUse();

  // ---- Store (h: the handle from open(); 0 throws ESTATE). Every call
  // that opens a store takes its StoreOptions whole (stekjni.c's
  // arg_config reads the fields).
  static native long open(byte[] path, StoreOptions options);
  static native void close(long h);
  static native void rekey(long h, byte[] passphrase);
  static native void setChangeSink(long h, Sink sink);
  static native byte[] deviceId(long h);
  static native byte[] spaceCreate(long h, byte[] name);
  static native void spaces(long h, Sink sink);
  static native byte[] spaceCurrent(long h);
  static native void spaceUse(long h, byte[] id);
  static native byte[] spaceShare(long h, byte[] device);
  static native int spaceAccept(long h, byte[] sealed);
  static native byte[] devices(long h);
  static native void deviceRevoke(long h, byte[] device);
  static native byte[] relayShare(long h, byte[] device);
  static native void relayAccept(long h, byte[] share);
  static native long relayCount(long h);

  // ---- Records
  static native void put(long h, byte[] type, byte[] id, byte[] field, Object value);
  static native void deleteOrRestore(long h, byte[] type, byte[] id, boolean restore);
  static native void setElement(long h, byte[] type, byte[] id, byte[] field, byte[] element,
      boolean add);
  static native void txn(long h, int op);
  static native boolean get(long h, byte[] type, byte[] id, Sink sink);
  static native void list(long h, byte[] type, Sink sink);
  static native long changeCount(long h);
  static native byte[] stateHash(long h);

  // ---- Typed records (kind 0 schedule, 1 directory)
  static native void typedPut(long h, int kind, byte[] id, byte[][] names, Object[] values);
  static native void scheduleCancel(long h, byte[] id, byte[] date, boolean cancel);
  static native void scheduleOccurrences(long h, byte[] from, byte[] to, byte[] site, Sink sink);
  static native byte[] scheduleIcs(long h, byte[] site);
  static native void directorySearch(long h, byte[] q, byte[] lang, byte[] category, Sink sink);

  // ---- Bundles
  static native long bundleExport(long h, byte[] path, long sinceMs);
  static native long[] bundleImport(long h, byte[] path);

  // ---- Signals
  static native byte[] signalRecord(long h, byte[] theme, byte[] site, byte[] text);
  static native boolean signalWithdraw(long h, byte[] receipt);
  static native void signalList(long h, Sink sink);
  static native byte[] signalReport(long h, int k, int format);

  // ---- Sync (these block: only ever called on a Sync worker thread)
  static native long cancelNew();
  static native void cancelTrigger(long cancel);
  static native void cancelFree(long cancel);
  static native void sync(long h, byte[] host, int port, int timeoutMs, long sessionMs,
      boolean relay, long cancel, Sink progress);
  static native void inviteAccept(long h, byte[] token, byte[] host, int port, int timeoutMs,
      long cancel);
  static native byte[] inviteCreate(long h, long ttlMs);
  static native void discover(long h, long timeoutMs, byte[] address, int port, Sink sink);

  // ---- Pairing (pairJoin blocks: a Sync worker only)
  static native void pairOffer(long h, long ttlMs);
  static native byte[] pairJoin(long h, byte[] host, int port, int timeoutMs, long cancel,
      Sink sink);

  // ---- Announcer
  static native long announcerStart(byte[] path, StoreOptions options, int servePort,
      long periodMs, byte[] address, int port);
  static native void announcerStop(long announcer);

  // ---- Server
  static native long serverStart(byte[] path, StoreOptions options, byte[] bindAddr, int port,
      int maxPeers, long idleMs, long sessionMs, Sink sink, boolean pair);
  static native int serverPort(long srv);
  static native long[] serverCounts(long srv);
  static native void serverStop(long srv);
}
