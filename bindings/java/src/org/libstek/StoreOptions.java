package org.libstek;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * How to open a store (stek_config): the passphrase for encryption at rest
 * (an app must give one; without it the file is plaintext SQLite, for tests
 * and tools), the Argon2id cost, and where the time zone files are (Android
 * apps ship their own copy). Fluent setters; a Store keeps its own copy.
 */
public final class StoreOptions {
  byte[] passphrase;
  long opslimit, memlimit;
  String zoneinfoDir;

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
    zoneinfoDir = dir;
    return this;
  }

  StoreOptions copy() {
    StoreOptions o = new StoreOptions();
    o.passphrase = passphrase == null ? null : passphrase.clone();
    o.opslimit = opslimit;
    o.memlimit = memlimit;
    o.zoneinfoDir = zoneinfoDir;
    return o;
  }

  void wipe() {
    if (passphrase != null) Arrays.fill(passphrase, (byte) 0);
  }
}
