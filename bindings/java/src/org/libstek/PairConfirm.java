package org.libstek;

/**
 * Pairing by short authentication string: both screens show the same six
 * digits, both users compare them and confirm. Given the digits
 * ("042917"), return true only if the user saw the same ones on the other
 * screen and agreed; a man in the middle shows different digits.
 *
 * <p>Threads: on the new device ({@link Store#pairJoinAsync}) it is called
 * on the pairing's worker thread ("stek-sync-N"); on the member
 * ({@link Server.Options#pairConfirm}) on the server's thread
 * ("stek-server"), which serves no one else meanwhile. It may block while
 * the user decides (post a dialog to the UI thread and wait for the
 * answer), within the other side's timeout. Cancelling the pairing's
 * future, closing its Store or closing the Server interrupts a confirm
 * that is waiting: an InterruptedException (or any exception) refuses.
 */
@FunctionalInterface
public interface PairConfirm {
  boolean confirm(String digits) throws InterruptedException;
}
