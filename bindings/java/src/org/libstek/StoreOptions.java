package org.libstek;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * How to open a store (stek_config): the passphrase for encryption at rest
 * (an app must give one; without it the file is plaintext SQLite, for tests
 * and tools), the Argon2id cost, where the time zone files are (Android
 * apps ship their own copy) and the device's time zone. Fluent setters; a
 * Store keeps its own copy.
 *
 * <p>Every native call that opens a store (Store, its async operations,
 * Server, Announcer) is given this object, and stekjni.c's arg_config reads
 * its fields by name -- the one place that turns it into a stek_config. A
 * new option is a field here and a line there; a field renamed without it
 * fails when the library loads. Strings are kept as UTF-8 bytes, as they
 * cross to C.
 */
public final class StoreOptions {
  // Read by stekjni.c (arg_config): keep the names and types in step.
  byte[] passphrase;
  long opslimit, memlimit;
  byte[] zoneinfoDir, localTz;

  public StoreOptions passphrase(String p) {
    return passphrase(p == null ? null : p.getBytes(StandardCharsets.UTF_8));
  }

  public StoreOptions passphrase(byte[] p) {
    if (passphrase != null) Arrays.fill(passphrase, (byte) 0);
    passphrase = p == null ? null : p.clone();
    return this;
  }

  /** Argon2id cost when the store is created or rekeyed; 0: libstek's default. */
  public StoreOptions pwhash(long opslimit, long memlimitBytes) {
    this.opslimit = opslimit;
    this.memlimit = memlimitBytes;
    return this;
  }

  /** The cheapest Argon2id cost: for tests only. */
  public StoreOptions pwhashMinimum() {
    return pwhash(1, 8192);
  }

  /** The folder of IANA TZif files; null: $TZDIR, else /usr/share/zoneinfo. */
  public StoreOptions zoneinfoDir(String dir) {
    zoneinfoDir = utf8(dir);
    return this;
  }

  /**
   * The device's IANA time zone ("Europe/Brussels"), loaded from
   * {@link #zoneinfoDir}: a signal's ISO week ({@link Signals#record}) is
   * that of the local date there, so the first hours of a Monday already
   * count as the new week. Null (the default): "Europe/Brussels". A string
   * that is not a zone name ("../etc", a space, an empty component) makes
   * opening the store throw StekException EINVAL; a well-formed name with
   * no such zone file opens, and fails the signal calls (ENOTFOUND).
   */
  public StoreOptions localTz(String zone) {
    localTz = utf8(zone);
    return this;
  }

  /** A string as C takes it (null stays null); NUL cannot cross. */
  private static byte[] utf8(String s) {
    if (s == null) return null;
    if (s.indexOf('\0') >= 0)
      throw new StekException(StekException.EINVAL, "a string holds a NUL character");
    return s.getBytes(StandardCharsets.UTF_8);
  }

  StoreOptions copy() {
    StoreOptions o = new StoreOptions();
    o.passphrase = passphrase == null ? null : passphrase.clone();
    o.opslimit = opslimit;
    o.memlimit = memlimit;
    o.zoneinfoDir = zoneinfoDir;
    o.localTz = localTz;
    return o;
  }

  void wipe() {
    if (passphrase != null) Arrays.fill(passphrase, (byte) 0);
  }
}
