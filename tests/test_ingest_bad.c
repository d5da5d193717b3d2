/* Bad changes: every kind of damage to an ingested change is refused with
 * its own code and a message, and leaves the store exactly as it was --
 * checked by a digest of every row of every table in the SQLite file, the
 * state hash and the change count.
 *
 * The faulty changes are built here with the internal encoder and signed
 * correctly, so that the fault under test is the only one; each builder is
 * also run without its fault against a control store, which must accept
 * it. */
#include <sqlite3.h>

#include "codec/mp.h"
#include "crdt/change.h"
#include "crdt/hlc.h"
#include "crypto/crypto.h"
#include "test.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define HOUR (3600 * 1000LL)
#define DAY (24 * HOUR)

/* A: the store under attack.  B: a member writing real changes.  C: a
 * control that must accept the unfaulted builds.  F: a member whose clock
 * is 2 days ahead.  G: like A with a 3-day skew bound.  X: another space. */
enum { A, B, C, F, G, X, N_STORES };
/* A's own changes from setup(): it shares the space with B, C, F and G, and
 * each share writes a stek.member record in A's space. */
#define A_BASE_CHANGES ((X - B) * TEST_JOIN_CHANGES)
static test_dir dir;
static stek *S[N_STORES];
static test_clock clk[N_STORES];
static char path[N_STORES][600];
static uint8_t space[STEK_ID_BYTES];

/* Our own signing keys: any device may author a change, so one signed by
 * `me` is as good as a member's. */
static uint8_t me_pk[32], me_sk[64], other_pk[32], other_sk[64];
static const uint8_t rid[STEK_ID_BYTES] = {0xa1, 0xa2, 0xa3, 0xa4, 5, 6, 7, 8,
                                           9,    10,   11,   12,   13, 14, 15, 16};

typedef struct blob {
  uint8_t *p;
  size_t n;
} blob;

static void blob_free(blob *b) {
  free(b->p);
  b->p = NULL;
  b->n = 0;
}

static int take_one(void *ctx, const uint8_t *b, size_t n) {
  blob *out = ctx;
  free(out->p);
  out->p = malloc(n);
  if (!out->p) return 1;
  memcpy(out->p, b, n);
  out->n = n;
  return 0;
}

static void setup(void) {
  test_dir_make(&dir);
  for (int i = 0; i < N_STORES; i++) {
    stek_config cfg;
    char name[16];
    stek_config_init(&cfg);
    clk[i].now_ms = i == F ? T0 + 2 * DAY : T0;
    cfg.clock = test_clock_read;
    cfg.clock_ctx = &clk[i];
    if (i == G) cfg.max_clock_skew_ms = 3 * DAY;
    snprintf(name, sizeof name, "s%d.db", i);
    test_dir_file(&dir, name, path[i], sizeof path[i]);
    if (stek_open(&S[i], path[i], &cfg) != STEK_OK) {
      fprintf(stderr, "cannot open a store: %s\n", stek_errmsg(S[i]));
      exit(2);
    }
  }
  uint8_t other_space[STEK_ID_BYTES];
  if (stek_space_create(S[A], "Bezemheide", space) ||
      stek_space_create(S[X], "Elsewhere", other_space))
    exit(2);
  for (int i = B; i < X; i++) {
    uint8_t dev[STEK_DEVICE_ID_BYTES], *sealed;
    size_t len;
    stek_device_id(S[i], dev);
    if (stek_space_share(S[A], dev, &sealed, &len) ||
        stek_space_accept(S[i], sealed, len)) {
      fprintf(stderr, "cannot share the space: %s\n", stek_errmsg(S[i]));
      exit(2);
    }
    stek_free(sealed);
  }
  uint8_t seed[32];
  memset(seed, 0x11, sizeof seed);
  cr_sign_seed_keygen(me_pk, me_sk, seed);
  memset(seed, 0x22, sizeof seed);
  cr_sign_seed_keygen(other_pk, other_sk, seed);
}

static void teardown(void) {
  for (int i = 0; i < N_STORES; i++) {
    stek_close(S[i]);
    S[i] = NULL;
  }
  test_dir_remove(&dir);
}

/* ---- "unchanged in content" ---- */

static void hash_u64(cr_hasher *h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (56 - 8 * i));
  cr_hash_update(h, b, 8);
}

/* Hash every row of every ordinary table of the SQLite file (full-text
 * shadow tables included), each table in the order of all its columns. */
static int db_digest(const char *file, uint8_t out[32]) {
  sqlite3 *db = NULL;
  sqlite3_stmt *names = NULL;
  cr_hasher h;
  int rc = -1;
  if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) goto done;
  if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) goto done;
  if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table'"
                         " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
                         -1, &names, NULL) != SQLITE_OK)
    goto done;
  cr_hash_init(&h);
  int step;
  while ((step = sqlite3_step(names)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(names, 0);
    sqlite3_stmt *rows = NULL;
    char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
    int ok = sql && sqlite3_prepare_v2(db, sql, -1, &rows, NULL) == SQLITE_OK;
    sqlite3_free(sql);
    if (!ok) goto done;
    int ncol = sqlite3_column_count(rows);
    sqlite3_finalize(rows);
    rows = NULL;
    sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY 1", name);
    for (int i = 2; sql && i <= ncol; i++) {
      char *more = sqlite3_mprintf("%z,%d", sql, i);
      sql = more;
    }
    ok = sql && sqlite3_prepare_v2(db, sql, -1, &rows, NULL) == SQLITE_OK;
    sqlite3_free(sql);
    if (!ok) goto done;
    cr_hash_update(&h, (const uint8_t *)name, strlen(name) + 1);
    uint64_t n = 0;
    while ((step = sqlite3_step(rows)) == SQLITE_ROW) {
      n++;
      for (int i = 0; i < ncol; i++) {
        int t = sqlite3_column_type(rows, i);
        hash_u64(&h, (uint64_t)t);
        if (t == SQLITE_INTEGER) {
          hash_u64(&h, (uint64_t)sqlite3_column_int64(rows, i));
        } else if (t == SQLITE_FLOAT) {
          double d = sqlite3_column_double(rows, i);
          uint64_t u;
          memcpy(&u, &d, sizeof u);
          hash_u64(&h, u);
        } else if (t != SQLITE_NULL) {
          const void *p = sqlite3_column_blob(rows, i);
          int len = sqlite3_column_bytes(rows, i);
          hash_u64(&h, (uint64_t)len);
          if (len) cr_hash_update(&h, p, (size_t)len);
        }
      }
    }
    sqlite3_finalize(rows);
    if (step != SQLITE_DONE) goto done;
    hash_u64(&h, n);
  }
  if (step != SQLITE_DONE) goto done;
  cr_hash_final(&h, out);
  rc = 0;
done:
  sqlite3_finalize(names);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(db);
  return rc;
}

typedef struct snapshot {
  uint8_t db[32], state[STEK_HASH_BYTES];
  uint64_t count;
} snapshot;

static int snap(snapshot *s) {
  return db_digest(path[A], s->db) || stek_state_hash(S[A], s->state) ||
         stek_change_count(S[A], &s->count);
}

static int same(const snapshot *a, const snapshot *b) {
  return memcmp(a->db, b->db, 32) == 0 &&
         memcmp(a->state, b->state, STEK_HASH_BYTES) == 0 && a->count == b->count;
}

/* Ingest into A; it must return want, say why, and change nothing. */
static int rejects(const char *what, const uint8_t *b, size_t n, int want) {
  snapshot before, after;
  if (snap(&before)) {
    fprintf(stderr, "  %s: cannot read the store\n", what);
    return 0;
  }
  int rc = stek_ingest(S[A], b, n);
  const char *msg = stek_errmsg(S[A]);
  if (rc != want) {
    fprintf(stderr, "  %s (%zu bytes): ingest returned %d (%s), wanted %d (%s): %s\n",
            what, n, rc, stek_strerror(rc), want, stek_strerror(want), msg);
    return 0;
  }
  if (!msg[0]) {
    fprintf(stderr, "  %s: rejected without a message\n", what);
    return 0;
  }
  if (snap(&after) || !same(&before, &after)) {
    fprintf(stderr, "  %s: the store changed\n", what);
    return 0;
  }
  return 1;
}

#define REJECTS(what, blob, want)                \
  do {                                           \
    blob_t_ b_ = (blob);                         \
    int ok_ = rejects((what), b_.p, b_.n, want); \
    blob_free(&b_);                              \
    CHECK(ok_);                                  \
  } while (0)
typedef blob blob_t_;

/* The control store accepts it. */
static int accepted(int store, const char *what, const uint8_t *b, size_t n) {
  int rc = stek_ingest(S[store], b, n);
  if (rc != STEK_OK) {
    fprintf(stderr, "  control %s (%zu bytes): ingest returned %d (%s): %s\n", what, n,
            rc, stek_strerror(rc), stek_errmsg(S[store]));
    return 0;
  }
  return 1;
}

#define ACCEPTS(what, blob)                      \
  do {                                           \
    blob_t_ b_ = (blob);                         \
    int ok_ = accepted(C, (what), b_.p, b_.n);   \
    blob_free(&b_);                              \
    CHECK(ok_);                                  \
  } while (0)

/* ---- building changes, faults and all ---- */

typedef struct spec {
  uint64_t outer_ver, body_ver;     /* default 1 */
  uint32_t outer_arity, body_arity; /* default 3, 5: extra items are nil */
  const uint8_t *space;             /* default: the space of A */
  const uint8_t *author;            /* default me_pk */
  const uint8_t *sign_sk;           /* default me_sk */
  uint64_t hlc;                     /* default T0 */
  const uint8_t *hlc_raw;           /* encoded hlc, replacing hlc */
  size_t hlc_raw_len;
  const mp_writer *ops;             /* encoded ops */
  uint32_t n_ops;
  int ops_have_header;              /* ops include their array header */
  const uint8_t *body_trail;        /* bytes after the ops, inside the body */
  size_t body_trail_len;
  size_t body_cut;                  /* sign only this many body bytes (if > 0) */
  size_t sig_len;                   /* default 64 */
  const uint8_t *outer_trail;       /* bytes after the change */
  size_t outer_trail_len;
} spec;

static blob build(const spec *sp) {
  mp_writer body, out;
  uint8_t sig[CR_SIG];
  blob b = {0};
  mp_writer_init(&body);
  uint32_t body_arity = sp->body_arity ? sp->body_arity : 5;
  mp_write_array(&body, body_arity);
  mp_write_uint(&body, sp->body_ver ? sp->body_ver : 1);
  mp_write_bin(&body, sp->space ? sp->space : space, STEK_ID_BYTES);
  mp_write_bin(&body, sp->author ? sp->author : me_pk, 32);
  if (sp->hlc_raw)
    mp_write_raw(&body, sp->hlc_raw, sp->hlc_raw_len);
  else
    mp_write_uint(&body, sp->hlc ? sp->hlc : hlc_make((uint64_t)T0, 0));
  if (!sp->ops_have_header) mp_write_array(&body, sp->n_ops);
  if (sp->ops) mp_write_raw(&body, sp->ops->buf.data, sp->ops->buf.size);
  if (sp->body_trail) mp_write_raw(&body, sp->body_trail, sp->body_trail_len);
  for (uint32_t i = 5; i < body_arity; i++) mp_write_nil(&body);
  size_t blen = body.buf.size;
  if (sp->body_cut && sp->body_cut < blen) blen = sp->body_cut;
  cr_sign_msg(sig, (const uint8_t *)body.buf.data, blen, sp->sign_sk ? sp->sign_sk : me_sk);
  mp_writer_init(&out);
  uint32_t outer_arity = sp->outer_arity ? sp->outer_arity : 3;
  mp_write_array(&out, outer_arity);
  mp_write_uint(&out, sp->outer_ver ? sp->outer_ver : 1);
  mp_write_bin(&out, body.buf.data, blen);
  mp_write_bin(&out, sig, sp->sig_len ? sp->sig_len : sizeof sig);
  for (uint32_t i = 3; i < outer_arity; i++) mp_write_nil(&out);
  if (sp->outer_trail) mp_write_raw(&out, sp->outer_trail, sp->outer_trail_len);
  if (!body.err && !out.err && (b.p = malloc(out.buf.size))) {
    memcpy(b.p, out.buf.data, out.buf.size);
    b.n = out.buf.size;
  }
  mp_writer_free(&body);
  mp_writer_free(&out);
  return b;
}

/* A change of the given ops, correct but for what the spec says. */
static blob with_ops(const mp_writer *ops, uint32_t n_ops) {
  spec sp = {.ops = ops, .n_ops = n_ops};
  return build(&sp);
}

/* The head of an op: [kind, type, rid, ...] of arity items. */
static void head(mp_writer *w, uint32_t arity, uint64_t kind, const char *type) {
  mp_write_array(w, arity);
  mp_write_uint(w, kind);
  mp_write_str(w, type, strlen(type));
  mp_write_bin(w, rid, STEK_ID_BYTES);
}

static void wstr(mp_writer *w, const char *s) { mp_write_str(w, s, strlen(s)); }

/* One put op of one field whose value is given encoded. */
static blob put_raw(const char *type, const char *field, const uint8_t *value,
                    size_t value_len) {
  mp_writer w;
  mp_writer_init(&w);
  head(&w, 4, OP_PUT, type);
  mp_write_map(&w, 1);
  mp_write_str(&w, field, strlen(field));
  mp_write_raw(&w, value, value_len);
  blob b = with_ops(&w, 1);
  mp_writer_free(&w);
  return b;
}

static const uint8_t one[] = {0x01};
static blob put_one(const char *type, const char *field) {
  return put_raw(type, field, one, sizeof one);
}

/* A change holding one op of each kind. */
static void varied_ops(mp_writer *w, const char *value) {
  const char *langs[] = {"nl", "fr"};
  stek_value list = {.kind = STEK_VALUE_LIST, .list = langs, .list_len = 2};
  stek_value s = {.kind = STEK_VALUE_STR, .str = value};
  stek_value i = {.kind = STEK_VALUE_INT, .i = -40000};
  mp_writer_init(w);
  op_encode_put(w, "directory", rid, "org", &s);
  op_encode_put(w, "directory", rid, "languages", &list);
  op_encode_put(w, "directory", rid, "cost", &i);
  op_encode_put(w, "directory", rid, "phone", NULL);
  op_encode_set(w, OP_SET_ADD, "directory", rid, "tags", "free");
  op_encode_set(w, OP_SET_REMOVE, "directory", rid, "tags", "paid");
  op_encode_life(w, OP_DELETE, "task", rid);
  op_encode_life(w, OP_RESTORE, "task", rid);
}
#define VARIED_N 8

/* A real change from member B: several ops in one transaction. */
static blob member_change(void) {
  uint8_t id[STEK_ID_BYTES], other_id[STEK_ID_BYTES];
  const char *langs[] = {"nl", "fr", "ar"};
  stek_value list = {.kind = STEK_VALUE_LIST, .list = langs, .list_len = 3};
  stek_value title = {.kind = STEK_VALUE_STR, .str = "Koffie & Formulieren"};
  blob b = {0};
  stek_id_new(id);
  stek_id_new(other_id);
  clk[B].now_ms += 1000;
  if (stek_begin(S[B]) || stek_put(S[B], "schedule", id, "title", &title) ||
      stek_put(S[B], "schedule", id, "languages", &list) ||
      stek_set_add(S[B], "schedule", id, "exdates", "2026-03-05") ||
      stek_delete(S[B], "directory", other_id) || stek_commit(S[B]))
    return b;
  /* the newest change is the last by HLC */
  stek_changes(S[B], take_one, &b);
  return b;
}

/* ---- the tests ---- */

static void test_every_strict_prefix_is_truncated(void) {
  blob good = member_change();
  CHECK(good.p);
  snapshot before, after;
  CHECK(snap(&before) == 0);
  int bad = 0;
  for (size_t len = 0; len < good.n && !bad; len++) {
    uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees overreads */
    if (len) memcpy(copy, good.p, len);
    int rc = stek_ingest(S[A], copy, len);
    if (rc != STEK_ETRUNCATED || !stek_errmsg(S[A])[0]) {
      fprintf(stderr, "  prefix of %zu of %zu bytes: %d (%s)\n", len, good.n, rc,
              stek_strerror(rc));
      bad = 1;
    }
    free(copy);
  }
  CHECK(snap(&after) == 0);
  int whole = stek_ingest(S[C], good.p, good.n);
  blob_free(&good);
  CHECK(!bad);
  CHECK(same(&before, &after));
  CHECK_RC(whole, STEK_OK);
  CHECK_RC(stek_ingest(S[A], NULL, 0), STEK_ETRUNCATED);
  CHECK_RC(stek_ingest(S[A], NULL, 5), STEK_EINVAL);
}

static void test_truncated_body_signed_as_is_is_truncated(void) {
  mp_writer ops;
  varied_ops(&ops, "CAW");
  spec sp = {.ops = &ops, .n_ops = VARIED_N};
  blob full = build(&sp);
  change c;
  int decoded = full.p ? change_decode(full.p, full.n, &c) : -1;
  size_t body_len = decoded == 0 ? c.body_len : 0;
  blob_free(&full);
  CHECK_OK(decoded);
  snapshot before, after;
  CHECK(snap(&before) == 0);
  int bad = 0;
  for (size_t cut = 1; cut < body_len && !bad; cut++) {
    sp.body_cut = cut;
    blob b = build(&sp);
    int rc = stek_ingest(S[A], b.p, b.n);
    if (rc != STEK_ETRUNCATED) {
      fprintf(stderr, "  body cut at %zu of %zu: %d (%s)\n", cut, body_len, rc,
              stek_strerror(rc));
      bad = 1;
    }
    blob_free(&b);
  }
  CHECK(snap(&after) == 0);
  sp.body_cut = 0;
  blob whole = build(&sp);
  int rc = accepted(C, "varied ops", whole.p, whole.n);
  blob_free(&whole);
  mp_writer_free(&ops);
  CHECK(!bad);
  CHECK(same(&before, &after));
  CHECK(rc);
}

static blob repeat_ops(uint32_t n_ops, size_t str_len) {
  mp_writer w;
  char *big = malloc(str_len + 1);
  blob b = {0};
  if (!big) return b;
  memset(big, 'a', str_len);
  big[str_len] = 0;
  stek_value v = {.kind = STEK_VALUE_STR, .str = big};
  mp_writer_init(&w);
  for (uint32_t i = 0; i < n_ops; i++) {
    if (str_len)
      op_encode_put(&w, "task", rid, "a", &v);
    else
      op_encode_life(&w, OP_DELETE, "task", rid);
  }
  b = with_ops(&w, n_ops);
  mp_writer_free(&w);
  free(big);
  return b;
}

static blob many_fields(uint32_t n) {
  mp_writer w;
  char name[16];
  mp_writer_init(&w);
  head(&w, 4, OP_PUT, "task");
  mp_write_map(&w, n);
  for (uint32_t i = 0; i < n; i++) {
    snprintf(name, sizeof name, "f%03u", i);
    wstr(&w, name);
    mp_write_uint(&w, i);
  }
  blob b = with_ops(&w, 1);
  mp_writer_free(&w);
  return b;
}

static blob long_value(size_t len) {
  uint8_t *v = malloc(len + 5);
  blob b = {0};
  if (!v) return b;
  v[0] = 0xdb; /* str32 is canonical only from 65536 bytes on */
  v[1] = (uint8_t)(len >> 24);
  v[2] = (uint8_t)(len >> 16);
  v[3] = (uint8_t)(len >> 8);
  v[4] = (uint8_t)len;
  memset(v + 5, 'x', len);
  b = put_raw("task", "a", v, len + 5);
  free(v);
  return b;
}

static blob long_list(uint32_t items) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_array(&w, items);
  for (uint32_t i = 0; i < items; i++) wstr(&w, "nl");
  blob b = put_raw("task", "languages", (const uint8_t *)w.buf.data, w.buf.size);
  mp_writer_free(&w);
  return b;
}

static blob long_elem(size_t len) {
  mp_writer w;
  char *e = malloc(len + 1);
  blob b = {0};
  if (!e) return b;
  memset(e, 'e', len);
  e[len] = 0;
  mp_writer_init(&w);
  op_encode_set(&w, OP_SET_ADD, "task", rid, "tags", e);
  b = with_ops(&w, 1);
  mp_writer_free(&w);
  free(e);
  return b;
}

static char *name_of(size_t len, char c) {
  static char buf[128];
  memset(buf, c, len);
  buf[len] = 0;
  return buf;
}

static void test_oversized_changes_are_too_big(void) {
  /* 17 puts of 64 KiB strings: each value within its limit, the whole
   * over STEK_MAX_CHANGE_BYTES; 15 of them fit. */
  blob big = repeat_ops(17, STEK_MAX_STRING_BYTES);
  CHECK(big.p && big.n > STEK_MAX_CHANGE_BYTES);
  REJECTS("change over 1 MiB", big, STEK_ETOOBIG);
  ACCEPTS("change just under 1 MiB", repeat_ops(15, STEK_MAX_STRING_BYTES));
  /* the same length check on any bytes at all */
  uint8_t *junk = calloc(1, STEK_MAX_CHANGE_BYTES + 1);
  CHECK(junk);
  int ok = rejects("1 MiB + 1 of zeros", junk, STEK_MAX_CHANGE_BYTES + 1, STEK_ETOOBIG);
  free(junk);
  CHECK(ok);

  REJECTS("4097 ops", repeat_ops(STEK_MAX_OPS + 1, 0), STEK_ETOOBIG);
  ACCEPTS("4096 ops", repeat_ops(STEK_MAX_OPS, 0));
  REJECTS("257 fields", many_fields(STEK_MAX_FIELDS + 1), STEK_ETOOBIG);
  ACCEPTS("256 fields", many_fields(STEK_MAX_FIELDS));
  REJECTS("string of 65537 bytes", long_value(STEK_MAX_STRING_BYTES + 1), STEK_ETOOBIG);
  ACCEPTS("string of 65536 bytes", long_value(STEK_MAX_STRING_BYTES));
  REJECTS("list of 257 items", long_list(STEK_MAX_LIST_ITEMS + 1), STEK_ETOOBIG);
  ACCEPTS("list of 256 items", long_list(STEK_MAX_LIST_ITEMS));
  REJECTS("set element of 65537 bytes", long_elem(STEK_MAX_STRING_BYTES + 1), STEK_ETOOBIG);
  ACCEPTS("set element of 65536 bytes", long_elem(STEK_MAX_STRING_BYTES));
  REJECTS("field name of 65 bytes", put_one("task", name_of(65, 'f')), STEK_ETOOBIG);
  ACCEPTS("field name of 64 bytes", put_one("task", name_of(64, 'f')));
  REJECTS("type name of 65 bytes", put_one(name_of(65, 't'), "a"), STEK_ETOOBIG);
  ACCEPTS("type name of 64 bytes", put_one(name_of(64, 't'), "a"));
}

static blob find_and_replace(blob b, const char *from, const char *to) {
  size_t n = strlen(from);
  for (size_t i = 0; b.p && i + n <= b.n; i++)
    if (memcmp(b.p + i, from, n) == 0) {
      memcpy(b.p + i, to, n);
      return b;
    }
  blob_free(&b);
  return b;
}

static void test_bad_signatures_are_refused(void) {
  blob good = member_change();
  CHECK(good.p);
  static const size_t bits[] = {0, 7, 100, 511};
  for (size_t k = 0; k < sizeof bits / sizeof *bits; k++) {
    blob b = {malloc(good.n), good.n};
    CHECK(b.p);
    memcpy(b.p, good.p, good.n);
    b.p[b.n - 64 + bits[k] / 8] ^= (uint8_t)(1u << (bits[k] % 8));
    REJECTS("a bit of the signature flipped", b, STEK_ESIGNATURE);
  }
  blob zero = {malloc(good.n), good.n};
  CHECK(zero.p);
  memcpy(zero.p, good.p, good.n);
  memset(zero.p + zero.n - 64, 0, 64);
  REJECTS("an all-zero signature", zero, STEK_ESIGNATURE);
  /* the body changed after signing, still well formed */
  blob edited = {malloc(good.n), good.n};
  CHECK(edited.p);
  memcpy(edited.p, good.p, good.n);
  edited = find_and_replace(edited, "Koffie", "Koffir");
  CHECK(edited.p);
  REJECTS("a string of the body changed", edited, STEK_ESIGNATURE);
  CHECK_OK(stek_ingest(S[C], good.p, good.n));
  blob_free(&good);

  mp_writer ops;
  varied_ops(&ops, "CAW");
  spec sp = {.ops = &ops, .n_ops = VARIED_N, .sign_sk = other_sk};
  REJECTS("a body signed by another key than its author's", build(&sp), STEK_ESIGNATURE);
  uint8_t dev_b[STEK_DEVICE_ID_BYTES];
  stek_device_id(S[B], dev_b);
  sp = (spec){.ops = &ops, .n_ops = VARIED_N, .author = dev_b};
  REJECTS("a change forged in another member's name", build(&sp), STEK_ESIGNATURE);
  sp = (spec){.ops = &ops, .n_ops = VARIED_N, .author = other_pk, .sign_sk = other_sk};
  ACCEPTS("the same body signed by its author", build(&sp));
  mp_writer_free(&ops);
}

static void test_future_dated_changes_are_refused_within_a_configurable_bound(void) {
  uint8_t id[STEK_ID_BYTES];
  stek_value v = {.kind = STEK_VALUE_STR, .str = "from the day after tomorrow"};
  blob fut = {0};
  stek_id_new(id);
  CHECK_OK(stek_put(S[F], "task", id, "title", &v)); /* F's clock: T0 + 2 days */
  CHECK_OK(stek_changes(S[F], take_one, &fut));
  CHECK(fut.p);
  int ok = rejects("a change 2 days ahead, bound 24 h", fut.p, fut.n, STEK_EFUTURE);
  int lenient = stek_ingest(S[G], fut.p, fut.n); /* bound 3 days */
  /* refused for now, not for ever: once C's clock has moved on, it fits */
  int early = stek_ingest(S[C], fut.p, fut.n);
  clk[C].now_ms = T0 + 36 * HOUR;
  int later = stek_ingest(S[C], fut.p, fut.n);
  clk[C].now_ms = T0;
  blob_free(&fut);
  CHECK(ok);
  CHECK_RC(lenient, STEK_OK);
  CHECK_RC(early, STEK_EFUTURE);
  CHECK_RC(later, STEK_OK);

  mp_writer ops;
  varied_ops(&ops, "CAW");
  spec sp = {.ops = &ops, .n_ops = VARIED_N, .hlc = hlc_make((uint64_t)(T0 + 25 * HOUR), 0)};
  REJECTS("25 h ahead", build(&sp), STEK_EFUTURE);
  sp.hlc = UINT64_MAX;
  REJECTS("the end of time", build(&sp), STEK_EFUTURE);
  sp.hlc = hlc_make((uint64_t)(T0 + DAY + 1), 0);
  REJECTS("24 h and 1 ms ahead", build(&sp), STEK_EFUTURE);
  sp.hlc = hlc_make((uint64_t)(T0 + 23 * HOUR), 0xffff);
  ACCEPTS("23 h ahead", build(&sp));
  sp.hlc = hlc_make((uint64_t)(T0 + DAY), 0xffff);
  ACCEPTS("24 h ahead to the millisecond", build(&sp));
  mp_writer_free(&ops);
}

/* A change with one op whose bytes are given, after a correct prefix. */
static blob op_bytes(const uint8_t *b, size_t n) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_raw(&w, b, n);
  blob out = with_ops(&w, 1);
  mp_writer_free(&w);
  return out;
}

static void test_malformed_changes_are_refused(void) {
  mp_writer w;
  /* values not in canonical form */
  static const uint8_t int8_5[] = {0xd0, 0x05}, uint8_5[] = {0xcc, 0x05},
                       int16_m16[] = {0xd1, 0xff, 0xf0},
                       uint64_1[] = {0xcf, 0, 0, 0, 0, 0, 0, 0, 1},
                       str8_abc[] = {0xd9, 3, 'a', 'b', 'c'},
                       arr16_1[] = {0xdc, 0, 1, 0xa1, 'x'};
  REJECTS("5 as int8", put_raw("task", "a", int8_5, sizeof int8_5), STEK_EMALFORMED);
  REJECTS("5 as uint8", put_raw("task", "a", uint8_5, sizeof uint8_5), STEK_EMALFORMED);
  REJECTS("-16 as int16", put_raw("task", "a", int16_m16, sizeof int16_m16), STEK_EMALFORMED);
  REJECTS("1 as uint64", put_raw("task", "a", uint64_1, sizeof uint64_1), STEK_EMALFORMED);
  REJECTS("a 3-byte str8", put_raw("task", "a", str8_abc, sizeof str8_abc), STEK_EMALFORMED);
  REJECTS("a 1-item array16", put_raw("task", "a", arr16_1, sizeof arr16_1), STEK_EMALFORMED);
  static const uint8_t hlc_long[] = {0xcf, 0, 0, 0, 0, 0, 0, 0x03, 0xe8};
  spec sp = {0};
  mp_writer_init(&w);
  head(&w, 3, OP_DELETE, "task");
  sp = (spec){.ops = &w, .n_ops = 1, .hlc_raw = hlc_long, .hlc_raw_len = sizeof hlc_long};
  REJECTS("an HLC of 1000 in 8 bytes", build(&sp), STEK_EMALFORMED);
  static const uint8_t ops16[] = {0xdc, 0x00, 0x01};
  mp_writer w2;
  mp_writer_init(&w2);
  mp_write_raw(&w2, ops16, sizeof ops16);
  mp_write_raw(&w2, w.buf.data, w.buf.size);
  sp = (spec){.ops = &w2, .ops_have_header = 1};
  REJECTS("the op array in array16", build(&sp), STEK_EMALFORMED);
  mp_writer_free(&w2);
  mp_writer_free(&w);

  /* map keys */
  mp_writer_init(&w);
  head(&w, 4, OP_PUT, "task");
  mp_write_map(&w, 2);
  wstr(&w, "b");
  mp_write_uint(&w, 1);
  wstr(&w, "a");
  mp_write_uint(&w, 2);
  REJECTS("map keys out of order", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);
  mp_writer_init(&w);
  head(&w, 4, OP_PUT, "task");
  mp_write_map(&w, 2);
  wstr(&w, "a");
  mp_write_uint(&w, 1);
  wstr(&w, "a");
  mp_write_uint(&w, 2);
  REJECTS("a duplicate map key", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);
  mp_writer_init(&w);
  head(&w, 4, OP_PUT, "task");
  mp_write_map(&w, 0);
  REJECTS("a put of no fields", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);
  mp_writer_init(&w);
  head(&w, 4, OP_PUT, "task");
  static const uint8_t map16[] = {0xde, 0x00, 0x01, 0xa1, 'a', 0x01};
  mp_write_raw(&w, map16, sizeof map16);
  REJECTS("a 1-field map16", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);

  /* UTF-8 */
  static const uint8_t bad_utf8[] = {0xa2, 0xc3, 0x28}, overlong[] = {0xa2, 0xc0, 0xaf},
                       surrogate[] = {0xa3, 0xed, 0xa0, 0x80}, cut[] = {0xa1, 0xe2},
                       list_bad[] = {0x91, 0xa1, 0xff};
  REJECTS("invalid UTF-8 in a value", put_raw("task", "a", bad_utf8, sizeof bad_utf8), STEK_EMALFORMED);
  REJECTS("an overlong UTF-8 form", put_raw("task", "a", overlong, sizeof overlong), STEK_EMALFORMED);
  REJECTS("a UTF-16 surrogate", put_raw("task", "a", surrogate, sizeof surrogate), STEK_EMALFORMED);
  REJECTS("a cut UTF-8 sequence", put_raw("task", "a", cut, sizeof cut), STEK_EMALFORMED);
  REJECTS("invalid UTF-8 in a list", put_raw("task", "a", list_bad, sizeof list_bad), STEK_EMALFORMED);
  REJECTS("invalid UTF-8 in a field name", put_one("task", "caf\xe9"), STEK_EMALFORMED);
  mp_writer_init(&w);
  op_encode_set(&w, OP_SET_ADD, "task", rid, "tags", "\xff");
  REJECTS("invalid UTF-8 in a set element", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);

  /* names */
  REJECTS("the reserved field name id", put_one("task", "id"), STEK_EMALFORMED);
  REJECTS("the reserved field name type", put_one("task", "type"), STEK_EMALFORMED);
  REJECTS("an empty field name", put_one("task", ""), STEK_EMALFORMED);
  REJECTS("a control character in a field name", put_one("task", "a\nb"), STEK_EMALFORMED);
  REJECTS("a type with a space and capitals", put_one("Bad Type", "a"), STEK_EMALFORMED);
  REJECTS("an empty type", put_one("", "a"), STEK_EMALFORMED);
  REJECTS("a type with a slash", put_one("a/b", "a"), STEK_EMALFORMED);
  mp_writer_init(&w);
  op_encode_set(&w, OP_SET_ADD, "task", rid, "id", "x");
  REJECTS("a set named id", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);

  /* values of types a field cannot hold */
  static const uint8_t v_bin[] = {0xc4, 1, 0}, v_map[] = {0x80}, v_true[] = {0xc3},
                       v_float[] = {0xca, 0, 0, 0, 0}, v_ext[] = {0xd4, 1, 0},
                       v_list_int[] = {0x91, 0x01}, v_list_nil[] = {0x91, 0xc0},
                       v_nested[] = {0x91, 0x90}, v_never[] = {0xc1};
  REJECTS("a bin value", put_raw("task", "a", v_bin, sizeof v_bin), STEK_EMALFORMED);
  REJECTS("a map value", put_raw("task", "a", v_map, sizeof v_map), STEK_EMALFORMED);
  REJECTS("a boolean value", put_raw("task", "a", v_true, sizeof v_true), STEK_EMALFORMED);
  REJECTS("a float value", put_raw("task", "a", v_float, sizeof v_float), STEK_EMALFORMED);
  REJECTS("an ext value", put_raw("task", "a", v_ext, sizeof v_ext), STEK_EMALFORMED);
  REJECTS("an int in a list", put_raw("task", "a", v_list_int, sizeof v_list_int), STEK_EMALFORMED);
  REJECTS("a nil in a list", put_raw("task", "a", v_list_nil, sizeof v_list_nil), STEK_EMALFORMED);
  REJECTS("a list in a list", put_raw("task", "a", v_nested, sizeof v_nested), STEK_EMALFORMED);
  REJECTS("the never-used byte 0xc1", put_raw("task", "a", v_never, sizeof v_never), STEK_EMALFORMED);

  /* op shapes */
  mp_writer_init(&w);
  head(&w, 4, OP_DELETE, "task");
  mp_write_nil(&w);
  REJECTS("a delete of 4 items", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);
  mp_writer_init(&w);
  head(&w, 3, OP_PUT, "task");
  REJECTS("a put of 3 items", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);
  mp_writer_init(&w);
  head(&w, 4, OP_SET_ADD, "task");
  wstr(&w, "tags");
  REJECTS("a set add of 4 items", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);
  mp_writer_init(&w);
  head(&w, 3, 5, "task");
  REJECTS("op kind 5", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);
  mp_writer_init(&w);
  head(&w, 3, 200, "task");
  REJECTS("op kind 200", with_ops(&w, 1), STEK_EMALFORMED);
  mp_writer_free(&w);
  static const uint8_t short_rid[] = {0x93, 0x01, 0xa4, 't', 'a', 's', 'k', 0xc4, 15,
                                      1,    2,    3,    4,   5,   6,   7,   8,   9,
                                      10,   11,   12,   13,  14,  15};
  REJECTS("a 15-byte record id", op_bytes(short_rid, sizeof short_rid), STEK_EMALFORMED);
  static const uint8_t str_rid[] = {0x93, 0x01, 0xa4, 't', 'a', 's', 'k', 0xb0,
                                    'a',  'a',  'a',  'a', 'a', 'a', 'a', 'a',
                                    'a',  'a',  'a',  'a', 'a', 'a', 'a', 'a'};
  REJECTS("a record id as a string", op_bytes(str_rid, sizeof str_rid), STEK_EMALFORMED);
  static const uint8_t not_array[] = {0x81, 0xa1, 'a', 0x01};
  REJECTS("an op that is a map", op_bytes(not_array, sizeof not_array), STEK_EMALFORMED);

  /* the change's own shape */
  mp_writer_init(&w);
  head(&w, 3, OP_DELETE, "task");
  static const uint8_t nil = 0xc0;
  sp = (spec){.ops = &w, .n_ops = 1, .body_trail = &nil, .body_trail_len = 1};
  REJECTS("a byte after the ops, signed", build(&sp), STEK_EMALFORMED);
  sp = (spec){.ops = &w, .n_ops = 1, .outer_trail = &nil, .outer_trail_len = 1};
  REJECTS("a byte after the change", build(&sp), STEK_EMALFORMED);
  sp = (spec){.ops = &w, .n_ops = 1, .body_arity = 6};
  REJECTS("a body of 6 items", build(&sp), STEK_EMALFORMED);
  sp = (spec){.ops = &w, .n_ops = 1, .outer_arity = 4};
  REJECTS("a change of 4 items", build(&sp), STEK_EMALFORMED);
  sp = (spec){.ops = &w, .n_ops = 1, .sig_len = 63};
  REJECTS("a 63-byte signature", build(&sp), STEK_EMALFORMED);
  sp = (spec){.ops = NULL, .n_ops = 0};
  REJECTS("zero ops", build(&sp), STEK_EMALFORMED);
  ACCEPTS("the well-formed delete", with_ops(&w, 1));
  mp_writer_free(&w);
  ACCEPTS("a well-formed put", put_one("task", "a"));
  static const uint8_t v_neg[] = {0xd1, 0xff, 0x00}; /* -256: int16 is right */
  ACCEPTS("a canonical int16", put_raw("task", "b", v_neg, sizeof v_neg));
}

static void test_unknown_versions_are_refused(void) {
  mp_writer w;
  mp_writer_init(&w);
  head(&w, 3, OP_DELETE, "task");
  spec sp = {.ops = &w, .n_ops = 1, .outer_ver = 9};
  REJECTS("change format 9", build(&sp), STEK_EVERSION);
  sp.outer_ver = 200;
  REJECTS("change format 200", build(&sp), STEK_EVERSION);
  sp = (spec){.ops = &w, .n_ops = 1, .body_ver = 2};
  REJECTS("body format 2", build(&sp), STEK_EVERSION);
  mp_writer_free(&w);
}

static void test_changes_of_an_unknown_space_are_refused(void) {
  uint8_t id[STEK_ID_BYTES], elsewhere[STEK_ID_BYTES];
  stek_value v = {.kind = STEK_VALUE_STR, .str = "elsewhere"};
  blob b = {0};
  stek_id_new(id);
  CHECK_OK(stek_put(S[X], "task", id, "title", &v));
  CHECK_OK(stek_changes(S[X], take_one, &b));
  REJECTS("a change of another space", b, STEK_ENOSPACE);
  mp_writer w;
  mp_writer_init(&w);
  head(&w, 3, OP_DELETE, "task");
  memset(elsewhere, 0x5a, sizeof elsewhere);
  spec sp = {.ops = &w, .n_ops = 1, .space = elsewhere};
  REJECTS("a change of a made-up space", build(&sp), STEK_ENOSPACE);
  mp_writer_free(&w);
}

/* ---- random damage ---- */

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static size_t below(uint64_t *s, size_t n) { return n ? (size_t)(rng_next(s) % n) : 0; }

/* Damage b (capacity cap) in place: flips, cuts, insertions, deletions,
 * interesting bytes, repeated runs. */
static size_t mutate(uint64_t *r, uint8_t *b, size_t n, size_t cap) {
  static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                        0xbf, 0xc0, 0xc1, 0xc4, 0xc6, 0xcc, 0xcf, 0xd0,
                                        0xd3, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff};
  int times = 1 + (int)below(r, 3);
  for (int t = 0; t < times && n; t++) {
    size_t at = below(r, n), len;
    switch (below(r, 6)) {
      case 0: b[at] ^= (uint8_t)(1u << below(r, 8)); break;
      case 1: n = below(r, n); break;
      case 2:
        len = 1 + below(r, 8);
        if (n + len > cap) break;
        memmove(b + at + len, b + at, n - at);
        for (size_t i = 0; i < len; i++) b[at + i] = (uint8_t)rng_next(r);
        n += len;
        break;
      case 3:
        len = 1 + below(r, 8);
        if (at + len > n) len = n - at;
        memmove(b + at, b + at + len, n - at - len);
        n -= len;
        break;
      case 4: b[at] = interesting[below(r, sizeof interesting)]; break;
      default: {
        size_t from = below(r, n);
        len = 1 + below(r, 16);
        if (from + len > n) len = n - from;
        if (n + len > cap) break;
        uint8_t tmp[16];
        memcpy(tmp, b + from, len);
        memmove(b + at + len, b + at, n - at);
        memcpy(b + at, tmp, len);
        n += len;
      }
    }
  }
  return n;
}

static void test_random_damage_is_refused(void) {
  uint64_t seed = 20260101, r = seed;
  const char *env = getenv("STEK_MUTATION_SEED");
  if (env) r = seed = strtoull(env, NULL, 10);
  blob bases[3] = {member_change(), {0}, {0}};
  mp_writer ops;
  varied_ops(&ops, "Énergie");
  spec sp = {.ops = &ops, .n_ops = VARIED_N};
  bases[1] = build(&sp);
  mp_writer_free(&ops);
  bases[2] = put_one("task", "a");
  for (int i = 0; i < 3; i++) CHECK(bases[i].p);
  snapshot before, after;
  CHECK(snap(&before) == 0);
  int rejected = 0, accepted_valid = 0, bad = 0;
  for (int iter = 0; iter < 2000 && !bad; iter++) {
    const blob *base = &bases[below(&r, 3)];
    size_t cap = base->n + 64;
    uint8_t *b = malloc(cap);
    CHECK(b);
    memcpy(b, base->p, base->n);
    size_t n = mutate(&r, b, base->n, cap);
    uint8_t *exact = malloc(n ? n : 1); /* exactly n bytes, so ASan sees overreads */
    if (n) memcpy(exact, b, n);
    free(b);
    if (n == base->n && memcmp(exact, base->p, n) == 0) { /* undamaged */
      free(exact);
      continue;
    }
    int rc = stek_ingest(S[A], exact, n);
    if (rc < 0) {
      rejected++;
      if (!stek_errmsg(S[A])[0]) {
        fprintf(stderr, "  seed %llu iteration %d: rejected (%d) without a message\n",
                (unsigned long long)seed, iter, rc);
        bad = 1;
      }
    } else {
      change c;
      if (change_decode(exact, n, &c) == 0 && change_verify(&c) == 0) {
        accepted_valid++;
      } else {
        fprintf(stderr, "  seed %llu iteration %d: damaged change accepted (%d)\n",
                (unsigned long long)seed, iter, rc);
        bad = 1;
      }
    }
    free(exact);
  }
  for (int i = 0; i < 3; i++) blob_free(&bases[i]);
  printf("  random damage: %d rejected, %d still valid and accepted\n", rejected,
         accepted_valid);
  CHECK(!bad);
  CHECK(snap(&after) == 0);
  CHECK(accepted_valid > 0 || same(&before, &after));
}

static void test_store_is_intact_after_all_of_it(void) {
  /* A is still usable, and took nothing from any of the above: it holds
   * only the member records of its own shares. */
  uint64_t n;
  uint8_t id[STEK_ID_BYTES];
  stek_value v = {.kind = STEK_VALUE_STR, .str = "still here"};
  CHECK_OK(stek_change_count(S[A], &n));
  CHECK(n == A_BASE_CHANGES);
  stek_id_new(id);
  CHECK_OK(stek_put(S[A], "task", id, "title", &v));
  CHECK_OK(stek_change_count(S[A], &n));
  CHECK(n == A_BASE_CHANGES + 1);
}

int main(void) {
  setup();
  RUN(test_every_strict_prefix_is_truncated);
  RUN(test_truncated_body_signed_as_is_is_truncated);
  RUN(test_oversized_changes_are_too_big);
  RUN(test_bad_signatures_are_refused);
  RUN(test_future_dated_changes_are_refused_within_a_configurable_bound);
  RUN(test_malformed_changes_are_refused);
  RUN(test_unknown_versions_are_refused);
  RUN(test_changes_of_an_unknown_space_are_refused);
  RUN(test_random_damage_is_refused);
  RUN(test_store_is_intact_after_all_of_it);
  teardown();
  return test_report();
}
