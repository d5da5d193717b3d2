package org.libstek;

/**
 * Told as each session of a {@link Server} ends -- a refused connection
 * too. Called on the server's own thread (named "stek-server" while it
 * calls), which serves no one meanwhile: return quickly, and do not call
 * the Server. Its exceptions are dropped.
 */
@FunctionalInterface
public interface SessionListener {
  /**
   * code: 0 if the session ended well, else its StekException code --
   * EBUSY (over maxPeers), ETIMEDOUT (idleMs or sessionMs), EREFUSED (a
   * pairing refused), ENET, ... message: the detail ("" after success); it
   * names the limit a peer broke, never the peer's data.
   */
  void onSessionEnd(int code, String message);
}
