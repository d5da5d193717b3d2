package org.libstek;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the native side reports results that come one by one (records,
 * occurrences, signals, spaces, peers, progress, changes). Runs on the
 * thread of the native call, during it. By default each item is collected
 * in {@link #items}; subclasses forward progress and peers to listeners.
 * Its methods must never throw into native code: user code they call is
 * wrapped, and its failure kept in {@link #failure}.
 */
class Sink {
  final List<Object> items = new ArrayList<>();
  Throwable failure;

  private String recType, recId;
  private Map<String, Object> recFields;

  void recordBegin(byte[] type, byte[] id) {
    recType = Native.str(type);
    recId = Native.hex(id);
    recFields = new LinkedHashMap<>();
  }

  void fieldInt(byte[] name, long v) {
    recFields.put(Native.str(name), v);
  }

  void fieldStr(byte[] name, byte[] v) {
    recFields.put(Native.str(name), Native.str(v));
  }

  void fieldList(byte[] name, byte[][] v) {
    List<String> l = new ArrayList<>(v.length);
    for (byte[] e : v) l.add(Native.str(e));
    recFields.put(Native.str(name), List.copyOf(l));
  }

  void recordEnd() {
    items.add(new Record(recType, recId, recFields));
    recFields = null;
  }

  void occurrence(byte[] id, byte[] start, byte[] end, long startMs, long endMs, byte[] title,
      byte[] site) {
    items.add(new Occurrence(Native.hex(id), Native.str(start), Native.str(end), startMs, endMs,
        Native.str(title), Native.str(site)));
  }

  void signal(byte[] id, byte[] week, byte[] theme, byte[] site, byte[] text) {
    items.add(new Signal(Native.hex(id), Native.str(week), Native.str(theme), Native.str(site),
        Native.str(text)));
  }

  void space(byte[] id, byte[] name) {
    items.add(new Space(Native.hex(id), Native.str(name)));
  }

  /** A discovered peer; true stops the discovery. */
  boolean peer(byte[] space, byte[] host, int port) {
    items.add(new Peer(Native.hex(space), Native.str(host), port));
    return false;
  }

  SyncStats last;

  void progress(long sent, long received, long total, long bytesSent, long bytesReceived,
      long roundTrips, long bytesTotal) {
    last = new SyncStats(sent, received, total, bytesSent, bytesReceived, roundTrips,
        bytesTotal);
  }

  /** Pairing: do the users see the same six digits and agree? (false: refuse) */
  boolean pairConfirm(byte[] sas) {
    return false;
  }

  /** A server's session ended (on the server's thread): rc 0 or a STEK_E* code. */
  void sessionEnd(int rc, byte[] message) {}

  /** A committed change on the handle this sink is installed on: queued. */
  void changed(byte[] type, byte[] id, int origin) {
    items.add(new Change(Native.str(type), Native.hex(id),
        origin == 2 ? ChangeListener.Origin.REMOTE : ChangeListener.Origin.LOCAL));
  }

  record Change(String type, String id, ChangeListener.Origin origin) {}

  @SuppressWarnings("unchecked")
  <T> List<T> take() {
    List<T> out = (List<T>) List.copyOf(items);
    items.clear();
    return out;
  }
}
