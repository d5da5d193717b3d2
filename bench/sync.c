/*
 * bench/sync -- sync measurements over loopback TCP (stek_server_start /
 * stek_sync), printing one JSON object.
 *
 *   sync scale STORE WORKDIR
 *     STORE holds one space (written by `load stek`).  A fresh device in
 *     WORKDIR joins the space and syncs it all from a server on STORE
 *     (initial sync: ops/s), then syncs once with nothing new (idle), then
 *     once after 1 edit (one field of one record) on STORE: round trips
 *     and bytes on the wire, both directions, handshake included.
 *
 *   sync hub TRACE WORKDIR --peers P --records M --edits E
 *     One device (the hub) holds the first M base records of TRACE and
 *     serves; P peers, each a fresh device that joined the space and wrote
 *     E records of its own, sync with it at once from P threads (round 1),
 *     then all again (round 2, which brings each the others' edits).  All
 *     P+1 state hashes must then be equal.
 *
 *   sync wire STORE N
 *     What the last N changes of STORE (by HLC: after `stek replay`, the
 *     offline edits) are made of on the wire: signature, author key, space
 *     id, HLC, the ops, and the msgpack framing around them (bytes).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crdt/change.h"
#include "trace.h"

static void usage(void) {
  fprintf(stderr, "usage: sync scale STORE WORKDIR\n"
                  "       sync hub TRACE WORKDIR --peers P --records M --edits E\n"
                  "       sync wire STORE N\n");
  exit(2);
}

static void join(stek *from, stek *to) {
  uint8_t dev[STEK_DEVICE_ID_BYTES], *share;
  size_t len;
  stek_device_id(to, dev);
  bench_check(stek_space_share(from, dev, &share, &len), from, "share");
  bench_check(stek_space_accept(to, share, len), to, "accept");
  stek_free(share);
}

static int count_cb(void *ctx, const uint8_t *bytes, size_t len) {
  uint64_t *n = ctx;
  change c;
  if (change_decode(bytes, len, &c)) return -100;
  /* field ops: a put of k fields is k (one record's put is one op of ~10
   * fields), any other op is one */
  mp_reader r;
  mp_reader_init(&r, c.ops, c.ops_len);
  for (uint32_t k = 0; k < c.n_ops; k++) {
    op o;
    if (op_next(&r, &o)) return -100;
    n[0] += o.kind == OP_PUT ? o.n_fields : 1;
  }
  n[1] += 1;
  n[2] += len;
  return 0;
}

static stek_server *serve(const char *path) {
  stek_server *srv;
  int rc = stek_server_start(&srv, path, NULL, "127.0.0.1", 0, NULL);
  if (rc) {
    fprintf(stderr, "bench: server: %s\n", stek_server_errmsg(srv));
    exit(1);
  }
  return srv;
}

static void print_stats(const char *name, const stek_sync_stats *st, double ms) {
  printf("\"%s\":{\"ms\":%.1f,\"ops_sent\":%llu,\"ops_received\":%llu,\"bytes_sent\":%llu,"
         "\"bytes_received\":%llu,\"bytes\":%llu,\"round_trips\":%llu}",
         name, ms, (unsigned long long)st->ops_sent, (unsigned long long)st->ops_received,
         (unsigned long long)st->bytes_sent, (unsigned long long)st->bytes_received,
         (unsigned long long)(st->bytes_sent + st->bytes_received),
         (unsigned long long)st->round_trips);
}

static stek_sync_stats sync_once(stek *s, int port, double *ms) {
  stek_sync_stats st;
  memset(&st, 0, sizeof st);
  double t0 = bench_now_ms();
  int rc = stek_sync(s, "127.0.0.1", port, NULL, &st);
  *ms = bench_now_ms() - t0;
  bench_check(rc, s, "sync");
  return st;
}

static int first_record(void *ctx, const stek_record *r) {
  memcpy(ctx, stek_record_id(r), STEK_ID_BYTES);
  return 1;
}

static int scale(const char *store, const char *dir) {
  char bpath[1100];
  snprintf(bpath, sizeof bpath, "%s/b.db", dir);
  unlink(bpath);
  stek *a, *b;
  bench_check(stek_open(&a, store, NULL), a, "open a");
  bench_check(stek_open(&b, bpath, NULL), b, "open b");
  uint64_t cnt[3] = {0, 0, 0};
  bench_check(stek_changes(a, count_cb, cnt), a, "count ops");
  join(a, b);
  stek_server *srv = serve(store);
  int port = stek_server_port(srv);
  double t_init, t_idle, t_edit;
  stek_sync_stats init = sync_once(b, port, &t_init);
  long rss_after_init = bench_peak_rss_kb();
  stek_sync_stats idle = sync_once(b, port, &t_idle);
  /* 1 edit: one field of the first directory record, on the served store */
  uint8_t rid[STEK_ID_BYTES];
  bench_check(stek_list(a, "directory", first_record, rid), a, "list");
  stek_field f = {"hours", {.kind = STEK_VALUE_STR, .str = "ma-do 13:00-16:30"}};
  bench_check(stek_directory_put(a, rid, &f, 1), a, "edit");
  stek_sync_stats edit = sync_once(b, port, &t_edit);
  uint8_t ha[STEK_HASH_BYTES], hb[STEK_HASH_BYTES];
  bench_check(stek_state_hash(a, ha), a, "hash");
  bench_check(stek_state_hash(b, hb), b, "hash");
  stek_server_stop(srv);
  printf("{\"ops\":%llu,\"changes\":%llu,\"change_bytes\":%llu,", (unsigned long long)cnt[0],
         (unsigned long long)cnt[1], (unsigned long long)cnt[2]);
  print_stats("initial", &init, t_init);
  printf(",\"initial_ops_per_s\":%.0f,", (double)init.ops_received / (t_init / 1e3));
  print_stats("idle", &idle, t_idle);
  printf(",");
  print_stats("edit", &edit, t_edit);
  printf(",\"edit_payload_bytes\":%zu,\"converged\":%s,\"peak_rss_kb\":%ld,"
         "\"peak_rss_kb_after_initial\":%ld}\n",
         strlen("{\"hours\":\"ma-do 13:00-16:30\"}") + STEK_ID_BYTES,
         memcmp(ha, hb, sizeof ha) ? "false" : "true", bench_peak_rss_kb(), rss_after_init);
  stek_close(a);
  stek_close(b);
  return 0;
}

typedef struct peer {
  stek *s;
  int port;
  stek_sync_stats st;
  double ms;
  int rc;
  char err[256];
} peer;

static void *peer_sync(void *arg) {
  peer *p = arg;
  memset(&p->st, 0, sizeof p->st);
  double t0 = bench_now_ms();
  p->rc = stek_sync(p->s, "127.0.0.1", p->port, NULL, &p->st);
  p->ms = bench_now_ms() - t0;
  if (p->rc) snprintf(p->err, sizeof p->err, "%s", stek_errmsg(p->s));
  return NULL;
}

static double round_all(peer *ps, int n, uint64_t *bytes, uint64_t *rt, double *max_ms) {
  pthread_t th[STEK_SERVER_MAX_PEERS];
  double t0 = bench_now_ms();
  for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, peer_sync, &ps[i]);
  for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
  double ms = bench_now_ms() - t0;
  *bytes = *rt = 0;
  *max_ms = 0;
  for (int i = 0; i < n; i++) {
    if (ps[i].rc) {
      fprintf(stderr, "bench: hub: peer %d: %s (%s)\n", i, stek_strerror(ps[i].rc), ps[i].err);
      exit(1);
    }
    *bytes += ps[i].st.bytes_sent + ps[i].st.bytes_received;
    if (ps[i].st.round_trips > *rt) *rt = ps[i].st.round_trips;
    if (ps[i].ms > *max_ms) *max_ms = ps[i].ms;
  }
  return ms;
}

static int hub(const char *tpath, const char *dir, int npeers, long records, int edits) {
  char path[1100];
  if (npeers < 1 || npeers > STEK_SERVER_MAX_PEERS) usage();
  snprintf(path, sizeof path, "%s/hub.db", dir);
  unlink(path);
  stek *h;
  uint8_t space[STEK_ID_BYTES];
  bench_check(stek_open(&h, path, NULL), h, "open hub");
  bench_check(stek_space_create(h, "bench", space), h, "space");
  trace_reader r;
  trace_ev e;
  trace_open(&r, tpath);
  long n = 0;
  bench_check(stek_begin(h), h, "begin");
  while (n < records && trace_next(&r, &e)) {
    if (e.at != '*' || e.kind != EV_PUT) break;
    bench_check(trace_put(h, &e), h, "put");
    trace_ev_free(&e);
    if (++n % 400 == 0) {
      bench_check(stek_commit(h), h, "commit");
      bench_check(stek_begin(h), h, "begin");
    }
  }
  bench_check(stek_commit(h), h, "commit");
  trace_close(&r);
  peer ps[STEK_SERVER_MAX_PEERS];
  stek_server *srv = serve(path);
  for (int i = 0; i < npeers; i++) {
    char pp[1100];
    snprintf(pp, sizeof pp, "%s/peer%02d.db", dir, i);
    unlink(pp);
    memset(&ps[i], 0, sizeof ps[i]);
    bench_check(stek_open(&ps[i].s, pp, NULL), ps[i].s, "open peer");
    join(h, ps[i].s);
    ps[i].port = stek_server_port(srv);
    for (int k = 0; k < edits; k++) {
      uint8_t id[STEK_ID_BYTES];
      char org[64];
      snprintf(org, sizeof org, "peer %d edit %d", i, k);
      stek_field f[2] = {{"org", {.kind = STEK_VALUE_STR, .str = org}},
                         {"category", {.kind = STEK_VALUE_STR, .str = "digital"}}};
      stek_id_new(id);
      bench_check(stek_directory_put(ps[i].s, id, f, 2), ps[i].s, "peer edit");
    }
  }
  uint64_t b1, b2, rt1, rt2;
  double max1, max2;
  double ms1 = round_all(ps, npeers, &b1, &rt1, &max1);
  double ms2 = round_all(ps, npeers, &b2, &rt2, &max2);
  uint64_t done, failed;
  stek_server_counts(srv, &done, &failed);
  stek_server_stop(srv);
  uint8_t hh[STEK_HASH_BYTES], hp[STEK_HASH_BYTES];
  bench_check(stek_state_hash(h, hh), h, "hash");
  int converged = 1;
  for (int i = 0; i < npeers; i++) {
    bench_check(stek_state_hash(ps[i].s, hp), ps[i].s, "hash");
    if (memcmp(hh, hp, sizeof hh)) converged = 0;
    stek_close(ps[i].s);
  }
  uint64_t cnt[3] = {0, 0, 0};
  bench_check(stek_changes(h, count_cb, cnt), h, "count ops");
  stek_close(h);
  printf("{\"peers\":%d,\"base_records\":%ld,\"edits_per_peer\":%d,\"hub_ops\":%llu,"
         "\"round1_ms\":%.1f,\"round1_max_peer_ms\":%.1f,\"round1_bytes\":%llu,\"round1_max_rt\":%llu,"
         "\"round2_ms\":%.1f,\"round2_max_peer_ms\":%.1f,\"round2_bytes\":%llu,\"round2_max_rt\":%llu,"
         "\"total_ms\":%.1f,\"sessions_done\":%llu,\"sessions_failed\":%llu,\"converged\":%s,"
         "\"peak_rss_kb\":%ld}\n",
         npeers, n, edits, (unsigned long long)cnt[0], ms1, max1, (unsigned long long)b1,
         (unsigned long long)rt1, ms2, max2, (unsigned long long)b2, (unsigned long long)rt2,
         ms1 + ms2, (unsigned long long)done, (unsigned long long)failed,
         converged ? "true" : "false", bench_peak_rss_kb());
  return converged ? 0 : 1;
}

typedef struct wire_sum {
  uint64_t skip, n, wire, ops;
} wire_sum;

static int wire_cb(void *ctx, const uint8_t *bytes, size_t len) {
  wire_sum *w = ctx;
  change c;
  if (w->skip) {
    w->skip--;
    return 0;
  }
  if (change_decode(bytes, len, &c)) return -100;
  w->n++;
  w->wire += len;
  w->ops += c.ops_len;
  return 0;
}

static int wire(const char *path, long last) {
  stek *s = NULL;
  uint64_t count = 0;
  bench_check(stek_open(&s, path, NULL), s, "open");
  bench_check(stek_change_count(s, &count), s, "count");
  wire_sum w = {count > (uint64_t)last ? count - (uint64_t)last : 0, 0, 0, 0};
  bench_check(stek_changes(s, wire_cb, &w), s, "changes");
  stek_close(s);
  /* Fixed parts of every change (docs/PROTOCOL.md §3), with their msgpack
   * headers: sig bin8 64, author bin8 32, space bin8 16, hlc uint64. */
  uint64_t sig = 66, author = 34, space = 18, hlc = 9;
  uint64_t framing = w.wire - w.ops - w.n * (sig + author + space + hlc);
  printf("{\"changes\":%llu,\"wire\":%llu,\"signature\":%llu,\"author\":%llu,"
         "\"space\":%llu,\"hlc\":%llu,\"ops\":%llu,\"framing\":%llu}\n",
         (unsigned long long)w.n, (unsigned long long)w.wire, (unsigned long long)(w.n * sig),
         (unsigned long long)(w.n * author), (unsigned long long)(w.n * space),
         (unsigned long long)(w.n * hlc), (unsigned long long)w.ops,
         (unsigned long long)framing);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "wire")) return wire(argv[2], atol(argv[3]));
  if (argc < 4) usage();
  if (!strcmp(argv[1], "scale")) return scale(argv[2], argv[3]);
  if (strcmp(argv[1], "hub")) usage();
  int peers = 20, edits = 5;
  long records = 1000;
  for (int i = 4; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--peers")) peers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--records")) records = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--edits")) edits = atoi(argv[i + 1]);
    else usage();
  }
  return hub(argv[2], argv[3], peers, records, edits);
}
