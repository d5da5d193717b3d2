package org.libstek;

/**
 * Sync progress. Called on the library's sync worker thread (named
 * "stek-sync-N"), never on the thread that called syncAsync: post to your
 * UI thread yourself (Android: {@code runOnUiThread}). It must return
 * quickly; an exception it throws is ignored.
 */
@FunctionalInterface
public interface SyncListener {
  void onProgress(SyncStats stats);
}
