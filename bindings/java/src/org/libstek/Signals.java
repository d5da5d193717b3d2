package org.libstek;

import java.util.List;

/**
 * Anonymous signals of under-protection: no author, only the ISO week.
 * Obtained with {@link Store#signals()}; locks the Store as its methods do.
 */
public final class Signals {
  public enum Format {
    CSV(1), SVG(2);

    final int code;

    Format(int code) {
      this.code = code;
    }
  }

  /** The usual k-anonymity threshold of a report. */
  public static final int DEFAULT_K = 5;

  private final Store store;

  Signals(Store store) {
    this.store = store;
  }

  /**
   * Record a signal (theme from the directory's category vocabulary, site
   * 1..128 bytes, text at most 4096); returns the visitor's receipt code
   * "XXXX-XXXX-XXXX", the only way to withdraw it.
   */
  public String record(String theme, String site, String text) {
    synchronized (store) {
      try {
        return Native.str(Native.signalRecord(store.h(), Native.c(theme), Native.c(site),
            Native.c(text)));
      } finally {
        store.deliver();
      }
    }
  }

  /** Withdraw the signal of a receipt code; false if no live signal has it. */
  public boolean withdraw(String receipt) {
    synchronized (store) {
      try {
        return Native.signalWithdraw(store.h(), Native.c(receipt));
      } finally {
        store.deliver();
      }
    }
  }

  /** The live signals, by (week, id). */
  public List<Signal> list() {
    Sink s = new Sink();
    synchronized (store) {
      Native.signalList(store.h(), s);
    }
    return s.take();
  }

  /** Counts by theme x site x month; cells under k are suppressed ("&lt;k"). */
  public String report(int k, Format format) {
    synchronized (store) {
      return Native.str(Native.signalReport(store.h(), k, format.code));
    }
  }
}
