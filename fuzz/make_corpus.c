/*
 * fuzz/make_corpus.c -- write the seed corpora of the fuzz targets from real
 * runs: two stores of the fixed space (fuzz.h) make edits of every kind and
 * sync; the changes, signals, bundle, session bytes, handshake messages and
 * Negentropy messages they produce become the seeds, each file in the form
 * its target reads.  Run once and commit the output (docs/FUZZING.md):
 *
 *     build/fuzz/make_corpus fuzz/corpus
 *
 * It only adds or replaces its own files (seed-*), so regression inputs
 * saved beside them stay.  Keys and salts are random, so a rerun writes
 * different but equivalent seeds.
 */
#include "crdt/change.h"
#include "crdt/signal.h"
#include "crypto/stream.h"
#include "fuzz.h"
#include "replica.h"
#include "sync/beacon.h"
#include "sync/negentropy.h"

static const char *outdir;

static void put_file(const char *target, const char *name, const void *p, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", outdir, target);
  mkdir(outdir, 0755);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/%s/seed-%s", outdir, target, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
    perror(path);
    exit(1);
  }
}

static void put_str(const char *target, const char *name, const char *s) {
  put_file(target, name, s, strlen(s));
}

/* A byte, then p: the mode byte several targets start with. */
static void put_with(const char *target, const char *name, uint8_t first, const void *p,
                     size_t n) {
  uint8_t *b = malloc(n + 1);
  b[0] = first;
  memcpy(b + 1, p, n);
  put_file(target, name, b, n + 1);
  free(b);
}

/* Append a chunk (2-byte big-endian length, bytes) to w. */
static void chunk(msgpack_sbuffer *w, const void *p, size_t n) {
  uint8_t h[2] = {(uint8_t)(n >> 8), (uint8_t)n};
  msgpack_sbuffer_write(w, (const char *)h, 2);
  msgpack_sbuffer_write(w, p, n);
}

static uint64_t prng = 0x5eed;
static uint32_t from_prng(void *ctx, uint32_t bound) {
  (void)ctx;
  prng = prng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(prng >> 33) % bound;
}

/* ---- changes and signals from a real store ---- */

typedef struct wires {
  uint8_t *p[64];
  size_t n[64], count;
} wires;

static int keep_wire(void *ctx, const uint8_t *b, size_t len) {
  wires *w = ctx;
  if (w->count < 64 && len < 4096) {
    w->p[w->count] = malloc(len);
    memcpy(w->p[w->count], b, len);
    w->n[w->count++] = len;
  }
  return 0;
}

static void fixed_author_change(int which, mp_writer *out, change *c) {
  mp_writer ops;
  uint8_t pk[32], sk[64], id[32], rid[16] = {0xa0};
  const char *items[2] = {"nl", "fr"};
  stek_value v = {.kind = STEK_VALUE_STR, .str = "OCMW Bezemheide"};
  stek_value l = {.kind = STEK_VALUE_LIST, .list = items, .list_len = 2};
  stek_value i = {.kind = STEK_VALUE_INT, .i = -42};
  mp_writer_init(&ops);
  uint32_t n = 0;
  if (which == 0) {
    op_encode_put(&ops, "directory", rid, "org", &v), n++;
    op_encode_put(&ops, "directory", rid, "languages", &l), n++;
    op_encode_put(&ops, "note", rid, "n", &i), n++;
    op_encode_put(&ops, "note", rid, "gone", NULL), n++;
  } else if (which == 1) {
    op_encode_life(&ops, OP_DELETE, "note", rid), n++;
    op_encode_life(&ops, OP_RESTORE, "note", rid), n++;
  } else if (which == 3) {
    /* A revocation (members.c): a device key, one share of 224 hex digits
     * (recipient key, sealed epoch key); seals nothing that opens. */
    static char device[65], share[225];
    memset(device, '1', 64);
    memset(share, 'a', 224);
    const char *shares[1] = {share};
    stek_value d = {.kind = STEK_VALUE_STR, .str = device};
    stek_value s = {.kind = STEK_VALUE_LIST, .list = shares, .list_len = 1};
    op_encode_put(&ops, "stek.revocation", rid, "device", &d), n++;
    op_encode_put(&ops, "stek.revocation", rid, "shares", &s), n++;
  } else {
    op_encode_set(&ops, OP_SET_ADD, "schedule", rid, "exdates", "2026-01-22"), n++;
    op_encode_set(&ops, OP_SET_REMOVE, "schedule", rid, "exdates", "2026-01-22"), n++;
  }
  cr_sign_seed_keygen(pk, sk, fuzz_author_seed);
  if (change_encode(out, fuzz_space_id, pk, sk, (uint64_t)FUZZ_NOW_MS << 16 | (uint64_t)which,
                    (const uint8_t *)ops.buf.data, ops.buf.size, n, id) ||
      change_decode((const uint8_t *)out->buf.data, out->buf.size, c))
    abort();
  mp_writer_free(&ops);
}

static void seeds_changes(stek *a, wires *all) {
  stek_changes(a, keep_wire, all);
  int nc = 0, ns = 0;
  char name[32];
  for (size_t i = 0; i < all->count; i++) {
    int sig = wire_format(all->p[i], all->n[i]) == SIGNAL_FORMAT;
    if (sig && ns < 4) {
      snprintf(name, sizeof name, "signal-%d", ns++);
      put_file("signal", name, all->p[i], all->n[i]);
      put_with("ingest", name, 0, all->p[i], all->n[i]);
      signal_msg m;
      if (signal_decode(all->p[i], all->n[i], &m) == 0)
        put_with("ingest", name[0] == 's' && ns == 1 ? "signal-body" : "signal-body-2", 2, m.body,
                 m.body_len);
    } else if (!sig && nc < 6) {
      snprintf(name, sizeof name, "change-%d", nc++);
      put_file("change", name, all->p[i], all->n[i]);
      put_with("ingest", name, 0, all->p[i], all->n[i]);
    }
  }
  for (int k = 0; k < 4; k++) {
    mp_writer w;
    change c;
    fixed_author_change(k, &w, &c);
    snprintf(name, sizeof name, "fixed-%d", k);
    put_file("change", name, w.buf.data, w.buf.size);
    put_with("ingest", name, 0, w.buf.data, w.buf.size);
    snprintf(name, sizeof name, "body-%d", k);
    put_with("ingest", name, 1, c.body, c.body_len);
    mp_writer_free(&w);
  }
}

/* ---- bundles ---- */

static void seeds_bundle(stek *a, const wires *all) {
  char path[700];
  uint64_t count;
  snprintf(path, sizeof path, "%s/seed.bundle", fuzz_tmpdir());
  if (stek_bundle_export(a, path, FUZZ_NOW_MS + 1, &count)) abort(); /* a few */
  FILE *f = fopen(path, "rb");
  uint8_t buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  put_with("bundle", "export-recent", 0, buf, n);
  if (stek_bundle_export(a, path, 0, &count)) abort();
  f = fopen(path, "rb");
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (n < 8192) put_with("bundle", "export-all", 0, buf, n);
  /* plaintext mode: frames of wires, and an empty final frame */
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_write(&sb, "\x01", 1);
  for (int fr = 0; fr < 2; fr++) {
    mp_writer pt;
    mp_writer_init(&pt);
    size_t k = fr == 0 && all->count > 3 ? 3 : 1;
    mp_write_array(&pt, (uint32_t)k);
    for (size_t i = 0; i < k && i < all->count; i++) mp_write_bin(&pt, all->p[i], all->n[i]);
    chunk(&sb, pt.buf.data, pt.buf.size);
    mp_writer_free(&pt);
  }
  chunk(&sb, "\x90", 1);
  put_file("bundle", "sealed-frames", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* ---- sessions ---- */

/* Run a session a -> b and keep the first output of each side. */
static void seeds_session(stek *a, stek *b) {
  sess *sa, *sb;
  const uint8_t *p;
  size_t n;
  if (sess_new(&sa, a, 1) || sess_new(&sb, b, 0)) abort();
  if (sess_output(sa, &p, &n) || !n) abort();
  put_with("session_responder", "msg1", 0, p, n);
  put_with("session_responder", "msg1-bytewise", 1, p, n);
  put_with("session_responder", "msg1-split7", 7, p, n);
  uint8_t m1[256];
  memcpy(m1, p, n);
  size_t m1n = n;
  sess_input(sb, p, n);
  sess_consumed(sa, n);
  if (sess_output(sb, &p, &n) || !n) abort();
  put_with("session_initiator", "msg2", 0, p, n);
  put_with("session_initiator", "msg2-bytewise", 1, p, n);
  /* the responder fed message 1 twice, and message 1 then garbage */
  uint8_t twice[512];
  memcpy(twice, m1, m1n);
  memcpy(twice + m1n, m1, m1n);
  put_with("session_responder", "msg1-twice", 0, twice, 2 * m1n);
  sess_free(sa);
  sess_free(sb);
  /* a whole clean session, to keep the real message flow covered */
  chooser c = {from_prng, NULL};
  if (replica_session(a, b, &c, 0)) abort();
}

/* Plaintext session messages (fuzz_session_msgs). */
static void msg(msgpack_sbuffer *sb, int final, const mp_writer *w) {
  uint8_t f = (uint8_t)final;
  msgpack_sbuffer_write(sb, (const char *)&f, 1);
  chunk(sb, w->buf.data, w->buf.size);
}

static void seeds_session_msgs(const wires *all) {
  neg n;
  neg_item items[4];
  uint8_t *m;
  size_t mn;
  for (int i = 0; i < 4; i++) {
    items[i].timestamp = (uint64_t)FUZZ_NOW_MS + (uint64_t)i;
    memset(items[i].id, i + 1, 32);
  }
  const char *names[] = {"neg-done", "ops-want-done", "err"};
  for (int k = 0; k < 3; k++) {
    msgpack_sbuffer sb;
    mp_writer w;
    msgpack_sbuffer_init(&sb);
    if (k == 0) {
      if (neg_init(&n, items, 4, 0) || neg_initiate(&n, &m, &mn)) abort();
      mp_writer_init(&w);
      mp_write_array(&w, 2);
      mp_write_uint(&w, 1);
      mp_write_bin(&w, m, mn);
      msg(&sb, 0, &w);
      mp_writer_free(&w);
      neg_msg_free(m);
    } else if (k == 1) {
      mp_writer_init(&w);
      mp_write_array(&w, 3);
      mp_write_uint(&w, 2);
      mp_write_array(&w, all->count < 2 ? (uint32_t)all->count : 2);
      for (size_t i = 0; i < 2 && i < all->count; i++) mp_write_bin(&w, all->p[i], all->n[i]);
      mp_write_uint(&w, 0);
      msg(&sb, 0, &w);
      mp_writer_free(&w);
      mp_writer_init(&w);
      mp_write_array(&w, 2);
      mp_write_uint(&w, 3);
      mp_write_array(&w, 2);
      mp_write_bin(&w, items[0].id, 32);
      mp_write_bin(&w, items[1].id, 32);
      msg(&sb, 0, &w);
      mp_writer_free(&w);
    } else {
      mp_writer_init(&w);
      mp_write_array(&w, 3);
      mp_write_uint(&w, 5);
      mp_write_int(&w, -6);
      mp_write_str(&w, "busy", 4);
      msg(&sb, 1, &w);
      mp_writer_free(&w);
    }
    if (k < 2) {
      mp_writer_init(&w);
      mp_write_array(&w, 1);
      mp_write_uint(&w, 4);
      msg(&sb, 1, &w);
      mp_writer_free(&w);
    }
    put_file("session_msgs", names[k], sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
  }
}

/* ---- handshake and stream (fixed keys, as the targets use) ---- */

static void seeds_noise(void) {
  noise_hs i, r;
  uint8_t m1[NOISE_MAX_MESSAGE], m2[NOISE_MAX_MESSAGE], m3[NOISE_MAX_MESSAGE];
  uint8_t pl[NOISE_MAX_PAYLOAD];
  static const uint8_t hello[] = {0x92, 0x01, 0xce, 0x00, 0x11, 0x00, 0x00};
  size_t n1, n2, n3, pn;
  fuzz_noise_init(&i, 1);
  fuzz_noise_init(&r, 0);
  if (noise_write_message(&i, NULL, 0, m1, sizeof m1, &n1) ||
      noise_read_message(&r, m1, n1, pl, sizeof pl, &pn) ||
      noise_write_message(&r, hello, sizeof hello, m2, sizeof m2, &n2) ||
      noise_read_message(&i, m2, n2, pl, sizeof pl, &pn) ||
      noise_write_message(&i, hello, sizeof hello, m3, sizeof m3, &n3) ||
      noise_read_message(&r, m3, n3, pl, sizeof pl, &pn))
    abort();
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  chunk(&sb, m1, n1);
  put_file("noise_responder", "msg1", sb.data, sb.size);
  chunk(&sb, m3, n3);
  put_file("noise_responder", "msg1-msg3", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  put_file("noise_initiator", "msg2", m2, n2);
  put_file("noise_initiator", "msg1-as-msg2", m1, n1);
  noise_wipe(&i);
  noise_wipe(&r);
}

static void seeds_stream(void) {
  stream st;
  uint8_t ks[32], kr[32], hdr[STREAM_HEADER], ct[256];
  size_t cn;
  memset(ks, 2, sizeof ks); /* what the target receives with */
  memset(kr, 1, sizeof kr);
  if (stream_init(&st, ks, kr, hdr)) abort();
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_write(&sb, (const char *)hdr, sizeof hdr);
  const char *pt[] = {"\x92\x01\xc4\x01\x61", "", "\x91\x04"};
  size_t pl[] = {5, 0, 2};
  for (int k = 0; k < 3; k++) {
    if (stream_seal(&st, (const uint8_t *)pt[k], pl[k], ct, sizeof ct, &cn, k == 2)) abort();
    chunk(&sb, ct, cn);
  }
  put_file("stream", "three-frames", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  stream_wipe(&st);
}

/* ---- Negentropy: the targets' own item sets (fuzz_neg_*.c) ---- */

static void neg_items(neg_item *it, size_t count, size_t per) {
  for (size_t i = 0; i < count; i++) {
    it[i].timestamp = 1000 + i / per;
    cr_hash(it[i].id, (const uint8_t *)&i, sizeof i);
    it[i].id[0] = (uint8_t)(i % per);
  }
}

static void seeds_neg(void) {
  static neg_item srv[300], cli[200], other[200];
  neg_items(srv, 300, 3);
  neg_items(cli, 200, 2);
  for (size_t i = 0; i < 200; i++) { /* a set that overlaps half of srv */
    other[i] = srv[i < 100 ? i : i + 50];
  }
  struct {
    size_t n;
    const neg_item *it;
    uint8_t first;
    const char *name;
  } cases[] = {{0, other, 1, "empty-client"},
               {200, other, 1, "overlap"},
               {200, other, 3, "overlap-limit"},
               {12, srv, 0, "small"}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    neg n;
    uint8_t *m;
    size_t mn;
    if (neg_init(&n, cases[k].it, cases[k].n, cases[k].first & 2 ? 4096 : 0) ||
        neg_initiate(&n, &m, &mn))
      abort();
    if (mn < 4096) put_with("neg_server", cases[k].name, cases[k].first, m, mn);
    neg_msg_free(m);
  }
  { /* the session's first message: the newest 8 items as an id list */
    neg n;
    uint8_t *m;
    size_t mn;
    if (neg_init(&n, other, 200, 0) || neg_initiate_recent(&n, 8, &m, &mn)) abort();
    if (mn < 4096) put_with("neg_server", "overlap-recent", 1, m, mn);
    neg_msg_free(m);
  }
  /* client side: the target initiates over cli (first byte odd: all 200,
   * even: first % 13); a server over other items answers. */
  uint8_t firsts[] = {1, 3, 10};
  for (size_t k = 0; k < sizeof firsts; k++) {
    neg c, s;
    uint8_t *m, *r;
    size_t mn, rn, count = firsts[k] & 1 ? 200 : firsts[k] % 13;
    size_t limit = firsts[k] & 2 ? 4096 : 0;
    if (neg_init(&c, cli, count, limit) || neg_initiate(&c, &m, &mn) ||
        neg_init(&s, other, 60, limit) || neg_reconcile_server(&s, m, mn, &r, &rn))
      abort();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_write(&sb, (const char *)&firsts[k], 1);
    chunk(&sb, r, rn);
    if (sb.size < 4096) {
      char name[32];
      snprintf(name, sizeof name, "reply-%u", firsts[k]);
      put_file("neg_client", name, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    neg_msg_free(m);
    neg_msg_free(r);
  }
  put_file("neg_client", "version-only", "\x01\x00\x01\x61", 4);
}

/* ---- text inputs ---- */

static void seeds_text(stek *a) {
  char token[STEK_INVITE_BYTES];
  if (stek_invite_create(a, 60000, token)) abort();
  put_str("invite", "token", token);
  for (char *p = token; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
  put_str("invite", "lower", token);
  put_str("invite", "short", "STEK-1234");
  put_str("invite", "oil", "STEK-OIL0-0000-0000-0000-0000-0000-00");

  uint8_t b[BEACON_MAX_BYTES];
  size_t bn;
  static const uint8_t salt[BEACON_SALT] = {1, 2, 3};
  if (beacon_encode(b, &bn, fuzz_space_key, FUZZ_NOW_MS, 4711, salt)) abort();
  put_file("beacon", "fixed-space", b, bn);
  if (beacon_encode(b, &bn, fuzz_space_key, FUZZ_NOW_MS - 600000, 65535, NULL)) abort();
  put_file("beacon", "window-before", b, bn);
  uint8_t other[32] = {9};
  if (beacon_encode(b, &bn, other, FUZZ_NOW_MS, 1, NULL)) abort();
  put_file("beacon", "other-space", b, bn);

  static const char *const rules[] = {
      "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
      "RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=12",
      "FREQ=MONTHLY;BYMONTHDAY=1,15,-1;UNTIL=20261231T235959Z",
      "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU;BYSETPOS=1;WKST=SU",
      "freq=daily;until=20260301",
      "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20260301T120000",
      "FREQ=YEARLY;BYDAY=20MO",
      "2026-03-05T13:30",
      "2026-03-29T02:30:00"};
  for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
    char name[16];
    snprintf(name, sizeof name, "%zu", i);
    put_str("rrule", name, rules[i]);
  }

  static const char *const zones[] = {"Europe/Brussels", "Etc/UTC", "Asia/Kolkata",
                                      "Australia/Lord_Howe", "America/St_Johns"};
  for (size_t i = 0; i < sizeof zones / sizeof *zones; i++) {
    char path[256], name[64];
    uint8_t buf[8192];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zones[i]);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    snprintf(name, sizeof name, "%s", zones[i]);
    for (char *p = name; *p; p++)
      if (*p == '/') *p = '-';
    put_file("tz", name, buf, n);
  }

  static const char *const json[] = {
      "{\"org\":\"OCMW Bezemheide\",\"category\":\"income\",\"tags\":[\"free\",\"walk-in\"]}",
      ("{\"title\":\"Permanentie\",\"site\":\"Kiosk\",\"start\":\"2026-03-05T13:30\","
       "\"minutes\":90,\"rrule\":\"FREQ=WEEKLY;BYDAY=TH\"}"),
      "{\"summary.nl\":\"Hulp bij \\u00e9nergie \\\"facturen\\\"\\n\",\"cost\":-1}",
      " { } ",
      "{\"a\":1,\"a\":2}",
      "{\"n\":9223372036854775807,\"m\":-9223372036854775808,\"l\":[]}",
      "{\"x\":\"\\ud83d\\ude00\"}"};
  for (size_t i = 0; i < sizeof json / sizeof *json; i++) {
    char name[16];
    snprintf(name, sizeof name, "%zu", i);
    put_str("json", name, json[i]);
  }
}

static void seeds_sync(void) {
  for (int k = 0; k < 6; k++) {
    uint8_t b[512];
    size_t n = 64 + (size_t)from_prng(NULL, 448);
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)from_prng(NULL, 256);
    char name[16];
    snprintf(name, sizeof name, "random-%d", k);
    put_file("sync", name, b, n);
  }
  uint8_t calm[64] = {8, 8}; /* edits on both, then clean sessions only */
  put_file("sync", "calm", calm, sizeof calm);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTDIR (e.g. fuzz/corpus)\n", argv[0]);
    return 2;
  }
  outdir = argv[1];
  replica a = {.s = fuzz_store("a")}, b = {.s = fuzz_store("b")};
  chooser c = {from_prng, NULL};
  for (int i = 0; i < 40; i++) replica_edit(&a, &c);
  for (int i = 0; i < 30; i++) replica_edit(&b, &c);
  char receipt[STEK_RECEIPT_BYTES];
  if (stek_signal_record(a.s, "debt", "Kiosk", "seed", receipt) ||
      stek_signal_withdraw(a.s, receipt))
    abort();
  fuzz_now += 1000; /* so that a bundle "since" keeps only what follows */
  for (int i = 0; i < 4; i++) replica_edit(&a, &c);
  static wires all;
  seeds_changes(a.s, &all);
  seeds_bundle(a.s, &all);
  seeds_session(a.s, b.s);
  seeds_session_msgs(&all);
  seeds_noise();
  seeds_stream();
  seeds_neg();
  seeds_text(a.s);
  seeds_sync();
  for (size_t i = 0; i < all.count; i++) free(all.p[i]);
  stek_close(a.s);
  stek_close(b.s);
  printf("seed corpora written to %s\n", outdir);
  return 0;
}
