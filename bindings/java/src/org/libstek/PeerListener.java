package org.libstek;

/**
 * A device found by {@link Store#discoverAsync}. Called on the sync worker
 * thread; return true to stop listening.
 */
@FunctionalInterface
public interface PeerListener {
  boolean onPeer(Peer peer);
}
