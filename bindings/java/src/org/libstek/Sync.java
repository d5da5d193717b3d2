package org.libstek;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The library-owned threads that do network work (stek_sync,
 * stek_invite_accept, stek_discover block the thread that calls them).
 *
 * <p>A cached pool of daemon threads named "stek-sync-N": a thread per
 * running operation, idle ones ending after 60 s. Each operation opens a
 * stek handle of its own on the store's file on its worker thread (stek
 * handles are single-threaded; distinct handles on one file may run at
 * once), uses the space the app's Store has current, runs, closes the
 * handle, and completes its future -- all on that worker thread. The
 * app's Store is not locked meanwhile.
 *
 * <p>Cancelling a future triggers the operation's stek_cancel flag; the
 * flag is freed by the worker after the native call has returned, under
 * the future's lock, so a cancel racing with the end never touches freed
 * memory.
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
    T run(Store worker, long cancel);
  }

  static final class Task<T> extends CompletableFuture<T> {
    private long cancel; // guarded by this; 0 once freed

    Task(long cancel) {
      this.cancel = cancel;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      synchronized (this) {
        if (cancel != 0) Native.cancelTrigger(cancel);
      }
      return super.cancel(mayInterruptIfRunning);
    }

    synchronized void free() {
      if (cancel != 0) Native.cancelFree(cancel);
      cancel = 0;
    }
  }

  static <T> CompletableFuture<T> submit(Store parent, Target t, Job<T> job) {
    Task<T> task = new Task<>(Native.cancelNew());
    try {
      POOL.execute(() -> run(parent, t, job, task));
    } catch (RuntimeException e) {
      task.free();
      t.options().wipe();
      throw e;
    }
    return task;
  }

  private static <T> void run(Store parent, Target t, Job<T> job, Task<T> task) {
    T result = null;
    Throwable failure = null;
    long cancel;
    synchronized (task) {
      cancel = task.cancel;
    }
    try (Store w = Store.openWorker(t)) {
      w.forwardChangesTo(parent);
      result = job.run(w, cancel);
    } catch (Throwable e) {
      failure = e;
    } finally {
      t.options().wipe();
      task.free();
    }
    if (failure != null) task.completeExceptionally(failure);
    else task.complete(result);
  }

  /** Progress to a SyncListener; its exceptions are dropped. */
  static final class ProgressSink extends Sink {
    private final SyncListener listener;

    ProgressSink(SyncListener listener) {
      this.listener = listener;
    }

    @Override
    void progress(long sent, long received, long total, long bytesSent, long bytesReceived,
        long roundTrips, long bytesTotal) {
      super.progress(sent, received, total, bytesSent, bytesReceived, roundTrips, bytesTotal);
      if (listener == null) return;
      try {
        listener.onProgress(last);
      } catch (RuntimeException ignored) {
        // a listener's bug must not break the sync
      }
    }
  }

  static final class PeerSink extends Sink {
    private final PeerListener listener;

    PeerSink(PeerListener listener) {
      this.listener = listener;
    }

    @Override
    boolean peer(byte[] space, byte[] host, int port) {
      super.peer(space, host, port);
      if (listener == null) return false;
      try {
        return listener.onPeer((Peer) items.get(items.size() - 1));
      } catch (RuntimeException e) {
        failure = e;
        return true;
      }
    }
  }
}
