package org.libstek;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The library-owned threads that do network work (stek_sync,
 * stek_invite_accept, stek_pair_join, stek_discover block the thread that
 * calls them).
 *
 * <p>A cached pool of daemon threads named "stek-sync-N": a thread per
 * running operation, idle ones ending after 60 s. Each operation opens a
 * stek handle of its own on the store's file on its worker thread (stek
 * handles are single-threaded; distinct handles on one file may run at
 * once), uses the space the app's Store has current, runs, closes the
 * handle, and completes its future -- all on that worker thread. The
 * app's Store is not locked meanwhile.
 *
 * <p>Each operation is a {@link Task}, registered with its Store from
 * submission to the end of its worker ({@link Store#close()} cancels them
 * and waits for that end). Cancelling a task triggers its stek_cancel
 * flag; the flag is freed by the worker after the native call has
 * returned, under the task's lock, so a cancel racing with the end never
 * touches freed memory.
 *
 * <p>Every callback into app code (progress, peers, remote changes) goes
 * through {@link Store#callback}, which drops it once the Store is closed.
 */
final class Sync {
  private Sync() {}

  private static final AtomicInteger COUNT = new AtomicInteger();
  private static final ThreadFactory FACTORY = r -> {
    Thread t = new Thread(r, "stek-sync-" + COUNT.incrementAndGet());
    t.setDaemon(true);
    return t;
  };
  private static final ExecutorService POOL = Executors.newCachedThreadPool(FACTORY);

  record Target(String path, StoreOptions options, String space) {}

  interface Job<T> {
    T run(Store worker, long cancel, Task<T> task);
  }

  static final class Task<T> extends CompletableFuture<T> {
    private long cancel; // stek_cancel *, guarded by this; 0 once freed
    private Thread worker; // guarded by this; set while the job runs
    private boolean confirming; // guarded by this; the worker is in a PairConfirm
    /** Whether Store.close() waits for this task's end (not for a discovery, which stek.h cannot cancel). */
    final boolean closeWaits;
    private final CountDownLatch ended = new CountDownLatch(1);

    Task(long cancel, boolean closeWaits) {
      this.cancel = cancel;
      this.closeWaits = closeWaits;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      synchronized (this) {
        if (cancel != 0) Native.cancelTrigger(cancel);
        // A PairConfirm waiting for its user is interrupted (and refuses):
        // the native call cannot end before it returns.
        if (confirming && worker != Thread.currentThread()) worker.interrupt();
      }
      return super.cancel(mayInterruptIfRunning);
    }

    /** The worker enters a PairConfirm; false if the task is cancelled (refuse). */
    synchronized boolean enterConfirm() {
      if (isCancelled()) return false;
      confirming = true;
      return true;
    }

    /** The worker left it: no more interrupts, and one that came is cleared. */
    synchronized void exitConfirm() {
      confirming = false;
      Thread.interrupted();
    }

    /** Mark the job as running on the current thread; false if cancelled already. */
    private synchronized boolean begin() {
      if (isCancelled()) return false;
      worker = Thread.currentThread();
      return true;
    }

    /** The job is over: free the flag. */
    private synchronized void finish() {
      worker = null;
      if (cancel != 0) Native.cancelFree(cancel);
      cancel = 0;
    }

    /** Whether the current thread is this task's worker. */
    synchronized boolean isWorker() {
      return worker == Thread.currentThread();
    }

    /** Wait for the worker to be done with the task (its handle closed); false at the timeout. */
    boolean awaitEnd(long timeoutMs) throws InterruptedException {
      return ended.await(timeoutMs, TimeUnit.MILLISECONDS);
    }
  }

  /** Run job on a worker for parent (which has registered nothing yet); call with parent's lock. */
  static <T> Task<T> submit(Store parent, Target t, boolean closeWaits, Job<T> job) {
    Task<T> task = new Task<>(Native.cancelNew(), closeWaits);
    parent.tasks.add(task);
    try {
      POOL.execute(() -> run(parent, t, job, task));
    } catch (RuntimeException e) {
      parent.tasks.remove(task);
      task.finish();
      t.options().wipe();
      throw e;
    }
    return task;
  }

  private static <T> void run(Store parent, Target t, Job<T> job, Task<T> task) {
    T result = null;
    Throwable failure = null;
    try {
      if (task.begin()) {
        long cancel;
        synchronized (task) {
          cancel = task.cancel;
        }
        try (Store w = Store.openWorker(t)) {
          w.forwardChangesTo(parent);
          result = job.run(w, cancel, task);
        }
      }
    } catch (Throwable e) {
      failure = e;
    } finally {
      t.options().wipe();
      task.finish();
      parent.tasks.remove(task);
      task.ended.countDown();
    }
    if (task.isCancelled()) return;
    if (failure != null) task.completeExceptionally(failure);
    else task.complete(result);
  }

  /** Progress to a SyncListener, while the Store is open; its exceptions are dropped. */
  static final class ProgressSink extends Sink {
    private final Store parent;
    private final SyncListener listener;

    ProgressSink(Store parent, SyncListener listener) {
      this.parent = parent;
      this.listener = listener;
    }

    @Override
    void progress(long sent, long received, long total, long bytesSent, long bytesReceived,
        long roundTrips, long bytesTotal) {
      super.progress(sent, received, total, bytesSent, bytesReceived, roundTrips, bytesTotal);
      if (listener == null) return;
      SyncStats st = last;
      parent.callback(() -> {
        try {
          listener.onProgress(st);
        } catch (RuntimeException ignored) {
          // a listener's bug must not break the sync
        }
      });
    }
  }

  /**
   * The new device's side of a pairing: the digits to its PairConfirm, on
   * the worker thread. Not serialized with the Store's other callbacks
   * (the user may take a while): cancelling the task, or closing the
   * Store, interrupts it instead, and it refuses.
   */
  static final class PairSink extends Sink {
    private final Task<?> task;
    private final PairConfirm confirm;

    PairSink(Task<?> task, PairConfirm confirm) {
      this.task = task;
      this.confirm = confirm;
    }

    @Override
    boolean pairConfirm(byte[] sas) {
      if (!task.enterConfirm()) return false;
      try {
        return confirm.confirm(Native.str(sas)) && !task.isCancelled();
      } catch (InterruptedException | RuntimeException e) {
        return false;
      } finally {
        task.exitConfirm();
      }
    }
  }

  /** Peers to a PeerListener while the Store is open; a closed Store stops the run. */
  static final class PeerSink extends Sink {
    private final Store parent;
    private final PeerListener listener;

    PeerSink(Store parent, PeerListener listener) {
      this.parent = parent;
      this.listener = listener;
    }

    @Override
    boolean peer(byte[] space, byte[] host, int port) {
      super.peer(space, host, port);
      Peer p = (Peer) items.get(items.size() - 1);
      boolean[] stop = {false};
      boolean open = parent.callback(() -> {
        if (listener == null) return;
        try {
          stop[0] = listener.onPeer(p);
        } catch (RuntimeException e) {
          failure = e;
          stop[0] = true;
        }
      });
      return stop[0] || !open;
    }
  }
}
