/* Bundles: an encrypted file of a space's changes, importable in any order,
 * any number of times; a truncated, altered or foreign file is refused with
 * nothing stored, and the file names neither the space nor a device. */
#include <sodium.h>

#include "api.h"
#include "crypto/stream.h"
#include "sync/bundle.h"
#include "test.h"

#define DAY_MS 86400000LL
#define T0 1767225600000LL /* Thursday 2026-01-01 00:00 UTC */

static test_dir dir;
static stek *a, *b, *c; /* a, b: devices of one space; c: of another */
static uint8_t space[STEK_ID_BYTES];
static test_clock clk;
/* a's changes after setup(): sharing the space with b wrote b's stek.member
 * record in it (at T0), which b has not taken yet. */
#define A_BASE TEST_JOIN_CHANGES

static stek *open_at(const char *name) {
  char path[600];
  stek_config cfg;
  stek *s;
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &clk;
  test_dir_file(&dir, name, path, sizeof path);
  if (stek_open(&s, path, &cfg) != STEK_OK) {
    fprintf(stderr, "open: %s\n", stek_errmsg(s));
    exit(2);
  }
  return s;
}

static void setup(void) {
  uint8_t dev[STEK_DEVICE_ID_BYTES], other[STEK_ID_BYTES];
  uint8_t *share;
  size_t len;
  clk.now_ms = T0;
  test_dir_make(&dir);
  a = open_at("a.db");
  b = open_at("b.db");
  c = open_at("c.db");
  stek_device_id(b, dev);
  if (stek_space_create(a, "Bezemheide", space) || stek_space_share(a, dev, &share, &len) ||
      stek_space_accept(b, share, len) || stek_space_create(c, "Elders", other)) {
    fprintf(stderr, "setup: %s / %s\n", stek_errmsg(a), stek_errmsg(b));
    exit(2);
  }
  stek_free(share);
}

static void teardown(void) {
  stek_close(a);
  stek_close(b);
  stek_close(c);
  test_dir_remove(&dir);
}

#define T(fn)     \
  do {            \
    setup();      \
    RUN(fn);      \
    teardown();   \
  } while (0)

static void path_of(const char *name, char out[600]) { test_dir_file(&dir, name, out, 600); }

static int put_str(stek *s, const uint8_t id[STEK_ID_BYTES], const char *field,
                   const char *str) {
  stek_value v = {STEK_VALUE_STR, 0, str, NULL, 0};
  return stek_put(s, "directory", id, field, &v);
}

/* n small changes on one record, and (if sig) one signal. */
static int write_some(stek *s, int n, const char *tag, int sig) {
  uint8_t id[STEK_ID_BYTES];
  char v[64], receipt[STEK_RECEIPT_BYTES];
  stek_id_new(id);
  for (int i = 0; i < n; i++) {
    snprintf(v, sizeof v, "%s %d", tag, i);
    int rc = put_str(s, id, i % 2 ? "service" : "org", v);
    if (rc) return rc;
  }
  return sig ? stek_signal_record(s, "energy", "Bezemheide", tag, receipt) : 0;
}

typedef struct snapshot {
  uint64_t count;
  uint8_t hash[STEK_HASH_BYTES];
} snapshot;

static int snap(stek *s, snapshot *out) {
  int rc = stek_change_count(s, &out->count);
  return rc ? rc : stek_state_hash(s, out->hash);
}

static int same(const snapshot *x, const snapshot *y) {
  return x->count == y->count && !memcmp(x->hash, y->hash, sizeof x->hash);
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static int spill(const char *path, const uint8_t *bytes, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int bad = fwrite(bytes, 1, len, f) != len;
  return fclose(f) != 0 || bad ? -1 : 0;
}

/* ---- round trips ---- */

static void test_round_trip_between_two_devices(void) {
  char path[600];
  uint64_t n, ingested, dups;
  snapshot sa, sb;
  path_of("a.bundle", path);
  CHECK_OK(write_some(a, 5, "CAW", 1));
  CHECK_OK(stek_bundle_export(a, path, 0, &n));
  CHECK(n == A_BASE + 6);
  CHECK(access(path, F_OK) == 0);
  char tmp[620];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(access(tmp, F_OK) != 0); /* renamed into place */
  CHECK_OK(stek_bundle_import(b, path, &ingested, &dups));
  CHECK(ingested == A_BASE + 6 && dups == 0);
  CHECK_OK(snap(a, &sa));
  CHECK_OK(snap(b, &sb));
  CHECK(same(&sa, &sb));
}

static void test_empty_space_exports_a_valid_empty_bundle(void) {
  char path[600];
  uint64_t n = 99, ingested = 99, dups = 99;
  path_of("empty.bundle", path);
  /* b: a's share wrote b's member record in a's log, b holds no change. */
  CHECK_OK(stek_bundle_export(b, path, 0, &n));
  CHECK(n == 0);
  CHECK_OK(stek_bundle_import(a, path, &ingested, &dups));
  CHECK(ingested == 0 && dups == 0);
}

static void test_import_twice_counts_duplicates(void) {
  char path[600];
  uint64_t n, ingested, dups;
  snapshot before, after;
  path_of("a.bundle", path);
  CHECK_OK(write_some(a, 4, "Ligo", 1));
  CHECK_OK(stek_bundle_export(a, path, 0, &n));
  CHECK_OK(stek_bundle_import(b, path, &ingested, &dups));
  CHECK(ingested == n && dups == 0);
  CHECK_OK(snap(b, &before));
  CHECK_OK(stek_bundle_import(b, path, &ingested, &dups));
  CHECK(ingested == 0 && dups == n);
  CHECK_OK(snap(b, &after));
  CHECK(same(&before, &after));
  /* The exporter itself holds everything: all duplicates too. */
  CHECK_OK(stek_bundle_import(a, path, &ingested, &dups));
  CHECK(ingested == 0 && dups == n);
}

static void test_since_keeps_changes_from_that_time_on(void) {
  char path[600];
  uint64_t n, ingested, dups;
  path_of("since.bundle", path);
  CHECK_OK(write_some(a, 3, "early", 0));         /* Thursday 2026-01-01 */
  clk.now_ms = T0 + 6 * DAY_MS + 12 * 3600000LL; /* Wednesday 2026-01-07 12:00 */
  CHECK_OK(write_some(a, 2, "late", 1)); /* the signal is dated Monday 2026-01-05 */
  CHECK_OK(stek_bundle_export(a, path, clk.now_ms, &n));
  CHECK(n == 2);
  CHECK_OK(stek_bundle_export(a, path, T0 + 4 * DAY_MS, &n)); /* Monday 00:00 */
  CHECK(n == 3);
  CHECK_OK(stek_bundle_export(a, path, T0 + 1, &n));
  CHECK(n == 3);
  CHECK_OK(stek_bundle_export(a, path, T0, &n));
  CHECK(n == A_BASE + 6); /* the member record is dated T0 too */
  CHECK_OK(stek_bundle_import(b, path, &ingested, &dups));
  CHECK(ingested == A_BASE + 6);
  CHECK_RC(stek_bundle_export(a, path, -1, &n), STEK_EINVAL);
}

/* Two devices edit the same record concurrently and exchange incremental
 * bundles in opposite orders: both end in the same state. */
static void test_bundles_in_reverse_order_converge(void) {
  char p1[600], p2[600], p3[600];
  uint64_t n;
  snapshot sa, sb;
  uint8_t id[STEK_ID_BYTES];
  path_of("a1.bundle", p1);
  path_of("a2.bundle", p2);
  path_of("b1.bundle", p3);
  stek_id_new(id);
  CHECK_OK(put_str(a, id, "org", "CAW"));
  CHECK_OK(write_some(a, 3, "first", 1));
  CHECK_OK(stek_bundle_export(a, p1, 0, &n));
  clk.now_ms += DAY_MS;
  CHECK_OK(put_str(a, id, "org", "OCMW"));
  CHECK_OK(stek_delete(a, "directory", id));
  CHECK_OK(write_some(a, 2, "second", 0));
  CHECK_OK(stek_bundle_export(a, p2, clk.now_ms, &n));
  CHECK(n == 4);
  CHECK_OK(put_str(b, id, "org", "Ligo")); /* concurrent, same clock */
  CHECK_OK(stek_restore(b, "directory", id));
  CHECK_OK(write_some(b, 2, "b", 1));
  CHECK_OK(stek_bundle_export(b, p3, 0, &n));

  CHECK_OK(stek_bundle_import(b, p2, NULL, NULL)); /* newest first */
  CHECK_OK(stek_bundle_import(b, p1, NULL, NULL));
  CHECK_OK(stek_bundle_import(a, p3, NULL, NULL));
  CHECK_OK(stek_bundle_import(a, p2, NULL, NULL)); /* its own, again */
  CHECK_OK(snap(a, &sa));
  CHECK_OK(snap(b, &sb));
  CHECK(same(&sa, &sb));
}

static void test_large_export_spans_several_frames(void) {
  char path[600];
  uint64_t n, ingested, dups;
  snapshot sa, sb;
  path_of("big.bundle", path);
  CHECK_OK(write_some(a, BUNDLE_MAX_WIRES + 3, "many", 0));
  CHECK_OK(stek_bundle_export(a, path, 0, &n));
  CHECK(n == A_BASE + BUNDLE_MAX_WIRES + 3);
  /* Count the frames: bin headers after the file header. */
  size_t len, at = BUNDLE_HEADER_BYTES, frames = 0, first_end = 0;
  uint8_t *f = slurp(path, &len);
  CHECK(f);
  while (at < len) {
    size_t hl = f[at] == 0xc4 ? 1 : f[at] == 0xc5 ? 2 : 4, fl = 0;
    for (size_t i = 0; i < hl; i++) fl = fl << 8 | f[at + 1 + i];
    at += 1 + hl + fl;
    if (!frames++) first_end = at;
  }
  CHECK(at == len && frames == 2);
  /* Cut after a whole frame: the final one is missing. */
  char cut[600];
  path_of("cut.bundle", cut);
  int ok = spill(cut, f, first_end) == 0;
  int rc1 = stek_bundle_import(b, cut, NULL, NULL);
  /* Leave the first frame out: the second does not open in its place. */
  memmove(f + BUNDLE_HEADER_BYTES, f + first_end, len - first_end);
  ok = ok && spill(cut, f, len - (first_end - BUNDLE_HEADER_BYTES)) == 0;
  int rc2 = stek_bundle_import(b, cut, NULL, NULL);
  free(f);
  CHECK(ok);
  CHECK_RC(rc1, STEK_ETRUNCATED);
  CHECK_RC(rc2, STEK_ESIGNATURE);
  CHECK_OK(stek_change_count(b, &ingested));
  CHECK(ingested == 0);
  CHECK_OK(stek_bundle_import(b, path, &ingested, &dups));
  CHECK(ingested == n && dups == 0);
  CHECK_OK(snap(a, &sa));
  CHECK_OK(snap(b, &sb));
  CHECK(same(&sa, &sb));
}

/* ---- rejection ---- */

/* A small bundle of a's (two changes and a signal, after the member
 * record), b holding the member record and one of the changes already. */
static int small_bundle(char path[600], uint8_t **bytes, size_t *len) {
  uint64_t n;
  path_of("small.bundle", path);
  int rc = write_some(a, 1, "shared", 0);
  if (!rc) rc = stek_bundle_export(a, path, 0, &n);
  if (!rc) rc = stek_bundle_import(b, path, NULL, NULL);
  if (!rc) rc = write_some(a, 1, "new", 1);
  if (!rc) rc = stek_bundle_export(a, path, 0, &n);
  if (!rc && !(*bytes = slurp(path, len))) rc = STEK_EIO;
  return rc;
}

static void test_every_truncation_is_refused_with_nothing_stored(void) {
  char path[600], cut[600];
  uint8_t *bytes;
  size_t len;
  snapshot before, after;
  uint64_t ingested = 7, dups = 7;
  CHECK_OK(small_bundle(path, &bytes, &len));
  path_of("cut.bundle", cut);
  CHECK_OK(snap(b, &before));
  int ok = 1;
  for (size_t k = 0; k < len && ok; k++) {
    ok = spill(cut, bytes, k) == 0;
    int rc = stek_bundle_import(b, cut, &ingested, &dups);
    if (rc != STEK_ETRUNCATED || ingested || dups) {
      fprintf(stderr, "  cut at %zu: %s (%s)\n", k, stek_strerror(rc), stek_errmsg(b));
      ok = 0;
    }
    if (snap(b, &after) || !same(&before, &after)) ok = 0;
  }
  free(bytes);
  CHECK(ok);
  CHECK_OK(stek_bundle_import(b, path, &ingested, &dups));
  CHECK(ingested == 2 && dups == A_BASE + 1);
}

/* Where each byte of the file lies, and so what flipping it must give. */
enum { R_STRUCT, R_VERSION, R_KEYED, R_SS_HEADER, R_FRAME_HEADER, R_FRAME };

static int region(const uint8_t *f, size_t len, size_t at) {
  if (at < 13 || at == 14 || at == 15 || at == 32 || at == 33 || at == 50 || at == 51)
    return R_STRUCT;
  if (at == 13) return R_VERSION;
  if (at < 50) return R_KEYED; /* salt, tag */
  if (at < BUNDLE_HEADER_BYTES) return R_SS_HEADER;
  size_t p = BUNDLE_HEADER_BYTES;
  while (p < len) {
    size_t hl = f[p] == 0xc4 ? 1 : f[p] == 0xc5 ? 2 : 4, fl = 0;
    for (size_t i = 0; i < hl; i++) fl = fl << 8 | f[p + 1 + i];
    if (at <= p + hl) return R_FRAME_HEADER;
    if (at < p + 1 + hl + fl) return R_FRAME;
    p += 1 + hl + fl;
  }
  return -1;
}

static int flip_code_ok(int where, int rc) {
  switch (where) {
    case R_STRUCT: return rc == STEK_EMALFORMED;
    case R_VERSION: return rc == STEK_EVERSION || rc == STEK_EMALFORMED;
    case R_KEYED: return rc == STEK_ENOSPACE;
    case R_SS_HEADER:
    case R_FRAME: return rc == STEK_ESIGNATURE;
    case R_FRAME_HEADER:
      return rc == STEK_EMALFORMED || rc == STEK_ETRUNCATED || rc == STEK_ESIGNATURE ||
             rc == STEK_ETOOBIG;
    default: return 0;
  }
}

static void test_every_bit_flip_is_refused_with_nothing_stored(void) {
  char path[600], bad[600];
  uint8_t *bytes;
  size_t len;
  snapshot before, after;
  uint64_t ingested = 7, dups = 7;
  CHECK_OK(small_bundle(path, &bytes, &len));
  path_of("flipped.bundle", bad);
  CHECK_OK(snap(b, &before));
  int ok = 1;
  for (size_t k = 0; k < len * 8 && ok; k++) {
    bytes[k / 8] ^= (uint8_t)(1u << (k % 8));
    ok = spill(bad, bytes, len) == 0;
    bytes[k / 8] ^= (uint8_t)(1u << (k % 8));
    int rc = stek_bundle_import(b, bad, &ingested, &dups);
    int where = region(bytes, len, k / 8);
    if (!flip_code_ok(where, rc) || ingested || dups) {
      fprintf(stderr, "  flip of bit %zu (byte %zu, region %d): %s (%s)\n", k % 8, k / 8,
              where, stek_strerror(rc), stek_errmsg(b));
      ok = 0;
    }
    /* Anything stored would add a change; the hash is compared at the end. */
    if (stek_change_count(b, &after.count) || after.count != before.count) ok = 0;
  }
  CHECK(ok);
  CHECK_OK(snap(b, &after));
  CHECK(same(&before, &after));
  /* Bytes after the final frame are refused too. */
  uint8_t *longer = malloc(len + 1);
  CHECK(longer);
  memcpy(longer, bytes, len);
  longer[len] = 0xc0;
  ok = spill(bad, longer, len + 1) == 0;
  free(longer);
  free(bytes);
  CHECK(ok);
  CHECK_RC(stek_bundle_import(b, bad, NULL, NULL), STEK_EMALFORMED);
  CHECK_OK(snap(b, &after));
  CHECK(same(&before, &after));
}

static void test_bundle_of_a_space_not_held_is_enospace(void) {
  char path[600];
  snapshot before, after;
  uint64_t ingested = 7, dups = 7;
  path_of("a.bundle", path);
  CHECK_OK(write_some(a, 2, "CAW", 1));
  CHECK_OK(write_some(c, 2, "other", 0));
  CHECK_OK(stek_bundle_export(a, path, 0, NULL));
  CHECK_OK(snap(c, &before));
  CHECK_RC(stek_bundle_import(c, path, &ingested, &dups), STEK_ENOSPACE);
  CHECK(ingested == 0 && dups == 0);
  CHECK(strstr(stek_errmsg(c), "no space"));
  CHECK_OK(snap(c, &after));
  CHECK(same(&before, &after));
}

static void test_files_that_are_not_bundles_are_emalformed(void) {
  char path[600];
  path_of("junk", path);
  CHECK(spill(path, (const uint8_t *)"BEGIN:VCALENDAR\r\n", 17) == 0);
  CHECK_RC(stek_bundle_import(b, path, NULL, NULL), STEK_EMALFORMED);
  static const uint8_t change_stream[] = {0xc4, 0x03, 0x93, 0x01, 0xc0};
  CHECK(spill(path, change_stream, sizeof change_stream) == 0);
  CHECK_RC(stek_bundle_import(b, path, NULL, NULL), STEK_EMALFORMED);
  path_of("missing", path);
  CHECK_RC(stek_bundle_import(b, path, NULL, NULL), STEK_EIO);
  path_of("no/such/dir/x.bundle", path);
  CHECK_RC(stek_bundle_export(a, path, 0, NULL), STEK_EIO);
}

/* A member's bundle that authenticates, but carries a change whose
 * signature is forged after a good one: the checking pass refuses it, so
 * not even the good change is stored. */
typedef struct wires {
  mp_writer *pt;
  int n;
} wires;

/* Append each wire as a bin, the second with its last byte (in the
 * signature) flipped: the first is b's member record, good. */
static int add_forging_second(void *ctx, const uint8_t *bytes, size_t len) {
  wires *w = ctx;
  uint8_t copy[4096];
  if (len > sizeof copy) return 1;
  memcpy(copy, bytes, len);
  if (++w->n == 2) copy[len - 1] ^= 1;
  mp_write_bin(w->pt, copy, len);
  return 0;
}

static void test_forged_change_inside_an_authentic_bundle_stores_nothing(void) {
  uint8_t key[CR_SPACE_KEY], kb[BUNDLE_KEY], sk[BUNDLE_KEY], salt[BUNDLE_SALT],
      tag[BUNDLE_TAG], ssh[BUNDLE_SS_HEADER], head[BUNDLE_HEADER_BYTES];
  uint8_t ct[8192];
  size_t clen;
  snapshot before, after;
  char path[600];
  stream st;
  mp_writer pt;
  CHECK_OK(write_some(a, 2, "CAW", 0));
  /* The bundle, made by hand from the library's own pieces. */
  CHECK_OK(store_space_key(a->st, a->sp, key));
  bundle_key(kb, key);
  randombytes_buf(salt, sizeof salt);
  bundle_tag(tag, kb, salt);
  bundle_stream_key(sk, kb, salt);
  CHECK_OK(stream_init(&st, sk, sk, ssh));
  bundle_header_encode(head, salt, tag, ssh);
  mp_writer_init(&pt);
  mp_write_array(&pt, A_BASE + 2);
  wires w = {&pt, 0};
  CHECK_OK(stek_changes(a, add_forging_second, &w));
  CHECK(w.n == A_BASE + 2 && pt.buf.size + STREAM_OVERHEAD <= sizeof ct - 3);
  CHECK_OK(stream_seal(&st, (const uint8_t *)pt.buf.data, pt.buf.size, ct + 3,
                       sizeof ct - 3, &clen, 1));
  mp_writer_free(&pt);
  stream_wipe(&st);
  CHECK(clen > 0xff && clen <= 0xffff);
  ct[0] = 0xc5, ct[1] = (uint8_t)(clen >> 8), ct[2] = (uint8_t)clen;
  path_of("forged.bundle", path);
  FILE *f = fopen(path, "wb");
  CHECK(f);
  fwrite(head, 1, sizeof head, f);
  fwrite(ct, 1, clen + 3, f);
  CHECK(fclose(f) == 0);

  CHECK_OK(snap(b, &before));
  CHECK_RC(stek_bundle_import(b, path, NULL, NULL), STEK_ESIGNATURE);
  CHECK(strstr(stek_errmsg(b), "wire 2"));
  CHECK_OK(snap(b, &after));
  CHECK(same(&before, &after));
}

/* ---- privacy ---- */

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k) {
  for (size_t i = 0; i + k <= n; i++)
    if (!memcmp(hay + i, needle, k)) return 1;
  return 0;
}

static void test_bundle_names_neither_space_nor_device(void) {
  char path[600];
  uint8_t dev_a[STEK_DEVICE_ID_BYTES], dev_b[STEK_DEVICE_ID_BYTES];
  size_t len;
  CHECK_OK(write_some(a, 3, "CAW", 1));
  CHECK_OK(write_some(b, 3, "Ligo", 1));
  CHECK_OK(stek_bundle_export(b, (path_of("b.bundle", path), path), 0, NULL));
  CHECK_OK(stek_bundle_import(a, path, NULL, NULL));
  CHECK_OK(stek_bundle_export(a, (path_of("a.bundle", path), path), 0, NULL));
  uint8_t *f = slurp(path, &len);
  CHECK(f);
  stek_device_id(a, dev_a);
  stek_device_id(b, dev_b);
  /* Not even 8 consecutive bytes of any of them. */
  int leak = 0;
  for (size_t i = 0; i + 8 <= STEK_ID_BYTES; i++) leak |= contains(f, len, space + i, 8);
  for (size_t i = 0; i + 8 <= STEK_DEVICE_ID_BYTES; i++)
    leak |= contains(f, len, dev_a + i, 8) | contains(f, len, dev_b + i, 8);
  free(f);
  CHECK(!leak);
}

static void test_two_bundles_of_the_same_changes_share_nothing(void) {
  char p1[600], p2[600];
  size_t n1, n2;
  CHECK_OK(write_some(a, 3, "CAW", 1));
  path_of("one.bundle", p1);
  path_of("two.bundle", p2);
  CHECK_OK(stek_bundle_export(a, p1, 0, NULL));
  CHECK_OK(stek_bundle_export(a, p2, 0, NULL));
  uint8_t *x = slurp(p1, &n1), *y = slurp(p2, &n2);
  CHECK(x && y && n1 == n2);
  /* Salt, tag and stream header all differ... */
  int fields_differ = memcmp(x + 16, y + 16, 16) && memcmp(x + 34, y + 34, 16) &&
                      memcmp(x + 52, y + 52, 24);
  /* ...and the ciphertext agrees only where chance has it (1 in 256). */
  size_t equal = 0, hl = x[76] == 0xc4 ? 2 : x[76] == 0xc5 ? 3 : 5;
  for (size_t i = 76 + hl; i < n1; i++) equal += x[i] == y[i];
  free(x);
  free(y);
  CHECK(fields_differ);
  CHECK(equal < (n1 - 76) / 32 + 4);
}

/* ---- the format itself ---- */

static void unhex(const char *h, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) sscanf(h + 2 * i, "%2hhx", &out[i]);
}

/* The vector of docs/PROTOCOL.md, "Bundle": keys, header and frame, then
 * the whole file imported by a store holding a space with that key. */
static void test_protocol_md_vector(void) {
  uint8_t sk[32], salt[16], ssh[24], kb[32], tag[16], key[32], head[BUNDLE_HEADER_BYTES];
  uint8_t want[BUNDLE_HEADER_BYTES], frame[20], out[4];
  for (int i = 0; i < 32; i++) sk[i] = (uint8_t)i;
  for (int i = 0; i < 16; i++) salt[i] = (uint8_t)(0x80 + i);
  for (int i = 0; i < 24; i++) ssh[i] = (uint8_t)(0xa0 + i);
  bundle_key(kb, sk);
  bundle_tag(tag, kb, salt);
  bundle_stream_key(key, kb, salt);
  uint8_t w32[32], w16[16];
  unhex("78dc4d1c123de71471a95a37aa40b54907abfa940a705bbb2b8d213257fbdf23", w32, 32);
  CHECK(!memcmp(kb, w32, 32));
  unhex("045f7ec4058aac09c8c970ca36e40124", w16, 16);
  CHECK(!memcmp(tag, w16, 16));
  unhex("77b3bfd3400a0d92a51c4e31fa3e470e0bf5bbf198f29edc48fa90d6c8e8ebe0", w32, 32);
  CHECK(!memcmp(key, w32, 32));
  bundle_header_encode(head, salt, tag, ssh);
  unhex("95ab7374656b2d62756e646c6501c410808182838485868788898a8b8c8d8e8f"
        "c410045f7ec4058aac09c8c970ca36e40124c418a0a1a2a3a4a5a6a7a8a9aaab"
        "acadaeafb0b1b2b3b4b5b6b7", want, sizeof want);
  CHECK(!memcmp(head, want, sizeof want));
  uint8_t s2[16], t2[16], h2[24];
  CHECK_OK(bundle_header_decode(head, sizeof head, s2, t2, h2));
  CHECK(!memcmp(s2, salt, 16) && !memcmp(t2, tag, 16) && !memcmp(h2, ssh, 24));
  unhex("c4129ccc09b7d48bcb70e4b53eb80d74bf466eb2", frame, sizeof frame);
  stream st;
  size_t olen;
  int final;
  CHECK_OK(stream_init(&st, key, key, h2));
  CHECK_OK(stream_accept_header(&st, ssh));
  CHECK_OK(stream_open(&st, frame + 2, sizeof frame - 2, out, sizeof out, &olen, &final));
  stream_wipe(&st);
  CHECK(olen == 1 && out[0] == 0x90 && final);

  /* A store that holds a space with this key (sealed to it by hand). */
  uint8_t dev[STEK_DEVICE_ID_BYTES], sid[STEK_ID_BYTES] = {0xa0}, sealed[256], share[300];
  mp_writer inner;
  mp_writer_init(&inner);
  mp_write_array(&inner, 4);
  mp_write_uint(&inner, 1);
  mp_write_bin(&inner, sid, sizeof sid);
  mp_write_str(&inner, "vector", 6);
  mp_write_bin(&inner, sk, sizeof sk);
  stek_device_id(c, dev);
  size_t ilen = inner.buf.size;
  CHECK(ilen + CR_SEAL_OVERHEAD <= sizeof sealed);
  CHECK_OK(cr_seal_to_device(sealed, (const uint8_t *)inner.buf.data, ilen, dev));
  mp_writer_free(&inner);
  size_t slen = ilen + CR_SEAL_OVERHEAD;
  share[0] = 0x92, share[1] = 0x01, share[2] = 0xc4, share[3] = (uint8_t)slen;
  memcpy(share + 4, sealed, slen);
  CHECK_OK(stek_space_accept(c, share, slen + 4));
  char path[600];
  path_of("vector.bundle", path);
  FILE *f = fopen(path, "wb");
  CHECK(f);
  fwrite(want, 1, sizeof want, f);
  fwrite(frame, 1, sizeof frame, f);
  CHECK(fclose(f) == 0);
  uint64_t ingested = 9, dups = 9;
  CHECK_OK(stek_bundle_import(c, path, &ingested, &dups));
  CHECK(ingested == 0 && dups == 0);
  CHECK_RC(stek_bundle_import(b, path, NULL, NULL), STEK_ENOSPACE);
  head[13] = 2;
  CHECK_RC(bundle_header_decode(head, sizeof head, s2, t2, h2), STEK_EVERSION);
}

int main(void) {
  if (sodium_init() < 0) return 2;
  T(test_round_trip_between_two_devices);
  T(test_empty_space_exports_a_valid_empty_bundle);
  T(test_import_twice_counts_duplicates);
  T(test_since_keeps_changes_from_that_time_on);
  T(test_bundles_in_reverse_order_converge);
  T(test_large_export_spans_several_frames);
  T(test_every_truncation_is_refused_with_nothing_stored);
  T(test_every_bit_flip_is_refused_with_nothing_stored);
  T(test_bundle_of_a_space_not_held_is_enospace);
  T(test_files_that_are_not_bundles_are_emalformed);
  T(test_forged_change_inside_an_authentic_bundle_stores_nothing);
  T(test_bundle_names_neither_space_nor_device);
  T(test_two_bundles_of_the_same_changes_share_nothing);
  T(test_protocol_md_vector);
  return test_report();
}
