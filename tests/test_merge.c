/* The merge rules, one by one, between stores of one space whose wall
 * clocks the tests set: last writer wins by (HLC, author), deletes and
 * restores, sets, idempotent and order-free ingest, and the HLC under clock
 * jumps and skew. */
#include "crdt/change.h"
#include "crdt/hlc.h"
#include "test.h"

#define MAX_NODES 5
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define HOUR (3600 * 1000LL)

typedef struct node {
  stek *s;
  test_clock clk;
  uint8_t dev[STEK_DEVICE_ID_BYTES];
} node;

static test_dir dir;
static node N[MAX_NODES];
static int n_nodes;
static uint8_t space[STEK_ID_BYTES];

/* n stores, all at wall time T0, all holding one space. */
static int deliver_one(void *ctx, const uint8_t *b, size_t len) {
  return stek_ingest(ctx, b, len) < 0;
}

static void deliver_all(int from, int to) {
  if (stek_changes(N[from].s, deliver_one, N[to].s) != STEK_OK) {
    fprintf(stderr, "cannot deliver changes: %s\n", stek_errmsg(N[to].s));
    exit(2);
  }
}

static void setup(int n) {
  test_dir_make(&dir);
  n_nodes = n;
  for (int i = 0; i < n; i++) {
    char path[600], name[16];
    stek_config cfg;
    stek_config_init(&cfg);
    N[i].clk.now_ms = T0 - 1000; /* the joins happen a second before T0 */
    cfg.clock = test_clock_read;
    cfg.clock_ctx = &N[i].clk;
    snprintf(name, sizeof name, "n%d.db", i);
    test_dir_file(&dir, name, path, sizeof path);
    if (stek_open(&N[i].s, path, &cfg) != STEK_OK) {
      fprintf(stderr, "cannot open a store: %s\n", stek_errmsg(N[i].s));
      exit(2);
    }
    stek_device_id(N[i].s, N[i].dev);
  }
  if (stek_space_create(N[0].s, "Bezemheide", space) != STEK_OK) exit(2);
  for (int i = 1; i < n; i++) {
    uint8_t *sealed;
    size_t len;
    if (stek_space_share(N[0].s, N[i].dev, &sealed, &len) != STEK_OK ||
        stek_space_accept(N[i].s, sealed, len) != STEK_OK) {
      fprintf(stderr, "cannot share the space: %s\n", stek_errmsg(N[i].s));
      exit(2);
    }
    stek_free(sealed);
  }
  /* Every node starts from the same base: node 0's member records (one
   * change a join, TEST_JOIN_CHANGES), dated before T0. */
  for (int i = 1; i < n; i++) deliver_all(0, i);
  for (int i = 0; i < n; i++) N[i].clk.now_ms = T0;
}

static void teardown(void) {
  for (int i = 0; i < n_nodes; i++) {
    stek_close(N[i].s);
    N[i].s = NULL;
  }
  n_nodes = 0;
  test_dir_remove(&dir);
}

/* ---- moving changes ---- */

typedef struct bag {
  uint8_t *p[256];
  size_t n[256];
  size_t count;
  int skip_base;
} bag;

static int bag_add(void *ctx, const uint8_t *b, size_t n) {
  bag *g = ctx;
  change c;
  if (change_decode(b, n, &c) == 0 && hlc_ms(c.hlc) < (uint64_t)T0 &&
      g->skip_base)
    return 0; /* setup()'s base, which every node holds */
  if (g->count == 256 || !(g->p[g->count] = malloc(n))) return 1;
  memcpy(g->p[g->count], b, n);
  g->n[g->count++] = n;
  return 0;
}

static void bag_free(bag *g) {
  for (size_t i = 0; i < g->count; i++) free(g->p[i]);
  g->count = 0;
}

/* Ingest every change of from into to; STEK_OK or the first failure. */
static int sync_one_way(int from, int to) {
  bag *g = calloc(1, sizeof *g);
  int rc = g ? stek_changes(N[from].s, bag_add, g) : STEK_ENOMEM;
  for (size_t i = 0; rc == STEK_OK && i < g->count; i++) {
    rc = stek_ingest(N[to].s, g->p[i], g->n[i]);
    if (rc == STEK_DUPLICATE) rc = STEK_OK;
    if (rc) fprintf(stderr, "  ingest: %s\n", stek_errmsg(N[to].s));
  }
  if (g) bag_free(g);
  free(g);
  return rc;
}

static int sync_pair(int a, int b) {
  int rc = sync_one_way(a, b);
  return rc ? rc : sync_one_way(b, a);
}

/* The one change of node i whose id is not in known (or the only one). */
typedef struct newest {
  const uint8_t (*known)[STEK_HASH_BYTES];
  size_t n_known;
  uint8_t *bytes;
  size_t len;
  int found;
} newest;

static int find_new(void *ctx, const uint8_t *b, size_t n) {
  newest *w = ctx;
  change c;
  if (change_decode(b, n, &c)) return 1;
  if (hlc_ms(c.hlc) < (uint64_t)T0) return 0; /* setup()'s base */
  for (size_t i = 0; i < w->n_known; i++)
    if (memcmp(w->known[i], c.id, STEK_HASH_BYTES) == 0) return 0;
  free(w->bytes);
  w->bytes = malloc(n);
  if (!w->bytes) return 1;
  memcpy(w->bytes, b, n);
  w->len = n;
  w->found++;
  return 0;
}

/* Decode a change held in w (copied out), so c points into w->bytes. */
static int last_change(int i, const uint8_t (*known)[STEK_HASH_BYTES], size_t n_known,
                       newest *w, change *c) {
  memset(w, 0, sizeof *w);
  w->known = known;
  w->n_known = n_known;
  if (stek_changes(N[i].s, find_new, w) || w->found != 1) return -1;
  return change_decode(w->bytes, w->len, c);
}

/* ---- reading ---- */

static const stek_value *str(const char *v) {
  static stek_value val;
  val = (stek_value){.kind = STEK_VALUE_STR, .str = v};
  return &val;
}

/* The string value of a field of a live record, into out; "" with
 * STEK_ENOTFOUND if the record or the field is absent. */
static int field_of(int i, const char *type, const uint8_t *id, const char *field,
                    char *out, size_t cap) {
  stek_record *r;
  stek_value v;
  out[0] = 0;
  int rc = stek_get(N[i].s, type, id, &r);
  if (rc) return rc;
  rc = stek_record_find(r, field, &v);
  if (!rc && v.kind == STEK_VALUE_STR) snprintf(out, cap, "%s", v.str);
  else if (!rc && v.kind == STEK_VALUE_LIST) {
    size_t at = 0;
    for (size_t k = 0; k < v.list_len && at < cap; k++)
      at += (size_t)snprintf(out + at, cap - at, "%s%s", k ? "," : "", v.list[k]);
  } else if (!rc && v.kind == STEK_VALUE_INT) {
    snprintf(out, cap, "%lld", (long long)v.i);
  }
  stek_record_free(r);
  return rc;
}

static int same_state(int a, int b) {
  uint8_t ha[STEK_HASH_BYTES], hb[STEK_HASH_BYTES];
  uint64_t ca, cb;
  return stek_state_hash(N[a].s, ha) == STEK_OK &&
         stek_state_hash(N[b].s, hb) == STEK_OK && memcmp(ha, hb, sizeof ha) == 0 &&
         stek_change_count(N[a].s, &ca) == STEK_OK &&
         stek_change_count(N[b].s, &cb) == STEK_OK && ca == cb;
}

/* ---- the tests ---- */

static void concurrent_write_case(int ahead) {
  uint8_t id[STEK_ID_BYTES];
  char v0[64], v1[64];
  stek_id_new(id);
  /* Node `ahead` writes 1 s later by its wall clock, so with a higher HLC. */
  N[ahead].clk.now_ms = N[1 - ahead].clk.now_ms + 1000;
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("from 0")));
  CHECK_OK(stek_put(N[1].s, "task", id, "title", str("from 1")));
  CHECK_OK(sync_pair(0, 1));
  CHECK_OK(field_of(0, "task", id, "title", v0, sizeof v0));
  CHECK_OK(field_of(1, "task", id, "title", v1, sizeof v1));
  CHECK(strcmp(v0, ahead ? "from 1" : "from 0") == 0);
  CHECK(strcmp(v1, v0) == 0);
  CHECK(same_state(0, 1));
}

static void test_concurrent_writes_to_one_field_resolve_by_hlc_then_author(void) {
  /* By HLC, whichever author is later, both ways round. */
  setup(2);
  concurrent_write_case(0);
  teardown();
  if (test_failed_now) return;
  setup(2);
  concurrent_write_case(1);
  teardown();
  if (test_failed_now) return;

  /* Equal HLCs (same wall clock, fresh stores): the larger author wins. */
  setup(2);
  uint8_t id[STEK_ID_BYTES];
  char v0[64], v1[64];
  newest w0, w1;
  change c0, c1;
  stek_id_new(id);
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("from 0")));
  CHECK_OK(stek_put(N[1].s, "task", id, "title", str("from 1")));
  int ok = last_change(0, NULL, 0, &w0, &c0) == 0 && last_change(1, NULL, 0, &w1, &c1) == 0;
  int tie = ok && c0.hlc == c1.hlc && c0.hlc == hlc_make((uint64_t)T0, 0);
  free(w0.bytes);
  free(w1.bytes);
  if (!tie) teardown();
  CHECK(tie); /* the precondition: both changes carry the same HLC */
  int winner = memcmp(N[0].dev, N[1].dev, STEK_DEVICE_ID_BYTES) > 0 ? 0 : 1;
  int rc = sync_pair(0, 1);
  int r0 = field_of(0, "task", id, "title", v0, sizeof v0);
  int r1 = field_of(1, "task", id, "title", v1, sizeof v1);
  int same = same_state(0, 1);
  teardown();
  CHECK_OK(rc);
  CHECK_OK(r0);
  CHECK_OK(r1);
  CHECK(strcmp(v0, winner ? "from 1" : "from 0") == 0);
  CHECK(strcmp(v1, v0) == 0);
  CHECK(same);
}

static void test_writes_to_different_fields_both_survive(void) {
  uint8_t id[STEK_ID_BYTES];
  char a[64], b[64];
  setup(2);
  stek_id_new(id);
  CHECK_OK(stek_put(N[0].s, "directory", id, "org", str("CAW")));
  CHECK_OK(sync_pair(0, 1));
  N[0].clk.now_ms += 10;
  N[1].clk.now_ms += 20;
  CHECK_OK(stek_put(N[0].s, "directory", id, "hours", str("ma 9-12")));
  CHECK_OK(stek_put(N[1].s, "directory", id, "phone", str("02 123 45 67")));
  CHECK_OK(sync_pair(0, 1));
  for (int i = 0; i < 2; i++) {
    CHECK_OK(field_of(i, "directory", id, "org", a, sizeof a));
    CHECK(strcmp(a, "CAW") == 0);
    CHECK_OK(field_of(i, "directory", id, "hours", a, sizeof a));
    CHECK_OK(field_of(i, "directory", id, "phone", b, sizeof b));
    CHECK(strcmp(a, "ma 9-12") == 0 && strcmp(b, "02 123 45 67") == 0);
  }
  CHECK(same_state(0, 1));
  teardown();
}

static void test_delete_beats_concurrent_update(void) {
  uint8_t id[STEK_ID_BYTES];
  char v[64];
  setup(2);
  stek_id_new(id);
  CHECK_OK(stek_put(N[0].s, "schedule", id, "title", str("Kookclub")));
  CHECK_OK(sync_pair(0, 1));
  /* Node 1 deletes; node 0, not knowing, updates -- even later by HLC. */
  N[1].clk.now_ms += 10;
  N[0].clk.now_ms += 20;
  CHECK_OK(stek_delete(N[1].s, "schedule", id));
  CHECK_OK(stek_put(N[0].s, "schedule", id, "title", str("Kookclub 2")));
  CHECK_OK(stek_put(N[0].s, "schedule", id, "site", str("Bezemheide")));
  CHECK_OK(sync_pair(0, 1));
  CHECK_RC(field_of(0, "schedule", id, "title", v, sizeof v), STEK_ENOTFOUND);
  CHECK_RC(field_of(1, "schedule", id, "title", v, sizeof v), STEK_ENOTFOUND);
  CHECK(same_state(0, 1));
  teardown();
}

static void test_older_write_does_not_undo_delete(void) {
  uint8_t id[STEK_ID_BYTES];
  char v[64];
  setup(3);
  stek_id_new(id);
  /* Node 0 writes at T0; node 1 deletes an hour later; node 2 receives
   * the delete before the older write. */
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("old")));
  N[1].clk.now_ms += HOUR;
  CHECK_OK(stek_delete(N[1].s, "task", id));
  N[2].clk.now_ms += HOUR;
  CHECK_OK(sync_one_way(1, 2));
  CHECK_OK(sync_one_way(0, 2));
  CHECK_RC(field_of(2, "task", id, "title", v, sizeof v), STEK_ENOTFOUND);
  /* and the other way round on node 1: the older write arrives last */
  CHECK_OK(sync_one_way(0, 1));
  CHECK_RC(field_of(1, "task", id, "title", v, sizeof v), STEK_ENOTFOUND);
  CHECK_OK(sync_one_way(1, 0));
  CHECK_RC(field_of(0, "task", id, "title", v, sizeof v), STEK_ENOTFOUND);
  CHECK(same_state(0, 1) && same_state(1, 2));
  /* the write is kept underneath: a restore shows it */
  N[2].clk.now_ms += 1;
  CHECK_OK(stek_restore(N[2].s, "task", id));
  CHECK_OK(field_of(2, "task", id, "title", v, sizeof v));
  CHECK(strcmp(v, "old") == 0);
  teardown();
}

static void test_restore_after_delete_brings_record_back(void) {
  uint8_t id[STEK_ID_BYTES];
  char v[64];
  setup(2);
  stek_id_new(id);
  CHECK_OK(stek_put(N[0].s, "directory", id, "org", str("OCMW")));
  CHECK_OK(sync_pair(0, 1));
  N[1].clk.now_ms += 10;
  CHECK_OK(stek_delete(N[1].s, "directory", id));
  CHECK_OK(sync_pair(0, 1));
  CHECK_RC(field_of(0, "directory", id, "org", v, sizeof v), STEK_ENOTFOUND);
  /* Node 0's clock is behind node 1's, but having seen the delete its
   * restore is later by HLC. */
  CHECK_OK(stek_restore(N[0].s, "directory", id));
  CHECK_OK(sync_pair(0, 1));
  for (int i = 0; i < 2; i++) {
    CHECK_OK(field_of(i, "directory", id, "org", v, sizeof v));
    CHECK(strcmp(v, "OCMW") == 0);
  }
  CHECK(same_state(0, 1));
  teardown();
}

static void test_restore_older_than_a_concurrent_delete_does_not_undo_it(void) {
  uint8_t id[STEK_ID_BYTES];
  char v[64];
  setup(2);
  stek_id_new(id);
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("x")));
  CHECK_OK(sync_pair(0, 1));
  N[0].clk.now_ms += 10;
  N[1].clk.now_ms += 20;
  CHECK_OK(stek_restore(N[0].s, "task", id)); /* earlier by HLC */
  CHECK_OK(stek_delete(N[1].s, "task", id));
  CHECK_OK(sync_pair(0, 1));
  CHECK_RC(field_of(0, "task", id, "title", v, sizeof v), STEK_ENOTFOUND);
  CHECK_RC(field_of(1, "task", id, "title", v, sizeof v), STEK_ENOTFOUND);
  CHECK(same_state(0, 1));
  teardown();
}

static void test_set_adds_from_two_devices_both_survive(void) {
  uint8_t id[STEK_ID_BYTES];
  char v[128];
  setup(2);
  stek_id_new(id);
  CHECK_OK(stek_put(N[0].s, "schedule", id, "title", str("Koffie & Formulieren")));
  CHECK_OK(sync_pair(0, 1));
  N[0].clk.now_ms += 10;
  N[1].clk.now_ms += 20;
  CHECK_OK(stek_set_add(N[0].s, "schedule", id, "exdates", "2026-03-12"));
  CHECK_OK(stek_set_add(N[1].s, "schedule", id, "exdates", "2026-03-05"));
  CHECK_OK(stek_set_add(N[1].s, "schedule", id, "exdates", "2026-04-02"));
  CHECK_OK(sync_pair(0, 1));
  for (int i = 0; i < 2; i++) {
    CHECK_OK(field_of(i, "schedule", id, "exdates", v, sizeof v));
    CHECK(strcmp(v, "2026-03-05,2026-03-12,2026-04-02") == 0);
  }
  CHECK(same_state(0, 1));
  teardown();
}

static void test_ingest_is_idempotent(void) {
  uint8_t id[STEK_ID_BYTES], h1[STEK_HASH_BYTES], h2[STEK_HASH_BYTES];
  uint64_t c1, c2;
  bag g = {0};
  setup(2);
  stek_id_new(id);
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("once")));
  CHECK_OK(stek_changes(N[0].s, bag_add, &g));
  CHECK(g.count == 1 + TEST_JOIN_CHANGES);
  size_t k = g.count - 1; /* the newest: "once" (the join's came before) */
  int rc1 = stek_ingest(N[1].s, g.p[k], g.n[k]);
  stek_state_hash(N[1].s, h1);
  stek_change_count(N[1].s, &c1);
  int rc2 = stek_ingest(N[1].s, g.p[k], g.n[k]);
  stek_state_hash(N[1].s, h2);
  stek_change_count(N[1].s, &c2);
  int rc3 = stek_ingest(N[0].s, g.p[k], g.n[k]); /* its own change, back */
  bag_free(&g);
  CHECK_RC(rc1, STEK_OK);
  CHECK_RC(rc2, STEK_DUPLICATE);
  CHECK_RC(rc3, STEK_DUPLICATE);
  CHECK(memcmp(h1, h2, sizeof h1) == 0 && c1 == c2 && c1 == 1 + TEST_JOIN_CHANGES);
  CHECK(same_state(0, 1));
  teardown();
}

static void test_ingest_order_does_not_matter(void) {
  uint8_t ids[3][STEK_ID_BYTES];
  bag g = {.skip_base = 1};
  const char *langs[] = {"nl", "fr"};
  stek_value list = {.kind = STEK_VALUE_LIST, .list = langs, .list_len = 2};
  stek_value num = {.kind = STEK_VALUE_INT, .i = 250};
  setup(5);
  for (int k = 0; k < 3; k++) stek_id_new(ids[k]);
  /* Nodes 0 and 1 write concurrently to the same records. */
  for (int round = 0; round < 3; round++) {
    for (int a = 0; a < 2; a++) {
      N[a].clk.now_ms += 7 + a;
      CHECK_OK(stek_put(N[a].s, "directory", ids[round], "org", str(a ? "CAW" : "OCMW")));
      CHECK_OK(stek_put(N[a].s, "directory", ids[(round + 1) % 3], "languages", &list));
      CHECK_OK(stek_begin(N[a].s));
      CHECK_OK(stek_put(N[a].s, "task", ids[round], "cost", &num));
      CHECK_OK(stek_set_add(N[a].s, "task", ids[round], "tags", a ? "x" : "y"));
      CHECK_OK(stek_commit(N[a].s));
      if (round == 1) CHECK_OK(stek_delete(N[a].s, "task", ids[(round + a) % 3]));
      if (round == 2) CHECK_OK(stek_restore(N[a].s, "task", ids[1]));
      CHECK_OK(stek_set_remove(N[a].s, "task", ids[round], "tags", "x"));
      CHECK_OK(stek_put(N[a].s, "directory", ids[2], "org", NULL));
    }
  }
  CHECK_OK(stek_changes(N[0].s, bag_add, &g));
  CHECK_OK(stek_changes(N[1].s, bag_add, &g));
  size_t n = g.count;
  int rc = 0;
  /* node 2: forward; node 3: backward; node 4: interleaved odd/even */
  for (size_t i = 0; !rc && i < n; i++) {
    rc = stek_ingest(N[2].s, g.p[i], g.n[i]);
    if (!rc) rc = stek_ingest(N[3].s, g.p[n - 1 - i], g.n[n - 1 - i]);
  }
  for (size_t i = 1; !rc && i < n; i += 2) rc = stek_ingest(N[4].s, g.p[i], g.n[i]);
  for (size_t i = 0; !rc && i < n; i += 2) rc = stek_ingest(N[4].s, g.p[i], g.n[i]);
  bag_free(&g);
  CHECK_OK(rc);
  CHECK_OK(sync_pair(0, 1));
  for (int i = 1; i < 5; i++) CHECK(same_state(0, i));
  teardown();
}

static void test_hlc_never_goes_backwards_when_clock_jumps_back(void) {
  uint8_t id[STEK_ID_BYTES];
  newest w1 = {0}, w2 = {0}, w3 = {0};
  change c1, c2, c3;
  setup(1);
  stek_id_new(id);
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("first")));
  int rc1 = last_change(0, NULL, 0, &w1, &c1);
  N[0].clk.now_ms -= HOUR; /* the wall clock jumps an hour back */
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("second")));
  int rc2 = last_change(0, (const uint8_t(*)[STEK_HASH_BYTES])c1.id, 1, &w2, &c2);
  uint8_t known[2][STEK_HASH_BYTES];
  memcpy(known[0], c1.id, STEK_HASH_BYTES);
  memcpy(known[1], c2.id, STEK_HASH_BYTES);
  N[0].clk.now_ms -= 24 * HOUR; /* and a day further back */
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("third")));
  int rc3 = last_change(0, (const uint8_t(*)[STEK_HASH_BYTES])known, 2, &w3, &c3);
  int ok = rc1 == 0 && rc2 == 0 && rc3 == 0;
  uint64_t h1 = ok ? c1.hlc : 0, h2 = ok ? c2.hlc : 0, h3 = ok ? c3.hlc : 0;
  free(w1.bytes);
  free(w2.bytes);
  free(w3.bytes);
  char v[64];
  int rv = field_of(0, "task", id, "title", v, sizeof v);
  teardown();
  CHECK(ok);
  CHECK(h1 == hlc_make((uint64_t)T0, 0));
  CHECK(h2 > h1 && h3 > h2);
  CHECK(hlc_ms(h3) == (uint64_t)T0); /* counted on, not jumped back */
  CHECK_OK(rv);
  CHECK(strcmp(v, "third") == 0); /* the latest write still wins */
}

static void test_remote_hlc_advances_local_clock(void) {
  uint8_t id[STEK_ID_BYTES];
  newest wb = {0}, wa = {0};
  change cb, ca;
  char v0[64], v1[64];
  setup(2);
  stek_id_new(id);
  /* Node 1's clock is 5 hours ahead (within the 24 h bound). */
  N[1].clk.now_ms = T0 + 5 * HOUR;
  CHECK_OK(stek_put(N[1].s, "task", id, "title", str("from the future")));
  CHECK_OK(sync_one_way(1, 0));
  CHECK_OK(field_of(0, "task", id, "title", v0, sizeof v0));
  CHECK(strcmp(v0, "from the future") == 0);
  /* Node 0 writes after seeing it, at its own wall time T0: it must win. */
  CHECK_OK(stek_put(N[0].s, "task", id, "title", str("later")));
  int rcb = last_change(1, NULL, 0, &wb, &cb);
  int rca = last_change(0, (const uint8_t(*)[STEK_HASH_BYTES])cb.id, 1, &wa, &ca);
  int ok = rcb == 0 && rca == 0 && ca.hlc > cb.hlc;
  free(wb.bytes);
  free(wa.bytes);
  CHECK(ok);
  CHECK_OK(sync_pair(0, 1));
  CHECK_OK(field_of(0, "task", id, "title", v0, sizeof v0));
  CHECK_OK(field_of(1, "task", id, "title", v1, sizeof v1));
  CHECK(strcmp(v0, "later") == 0 && strcmp(v1, "later") == 0);
  CHECK(same_state(0, 1));
  teardown();
}

struct seen {
  int calls, local, remote;
  char types[4][16];
  uint8_t ids[4][STEK_ID_BYTES];
};

static void on_change(void *ctx, const char *type, const uint8_t id[STEK_ID_BYTES],
                      int origin) {
  struct seen *s = ctx;
  if (s->calls < 4) {
    snprintf(s->types[s->calls], sizeof s->types[0], "%s", type);
    memcpy(s->ids[s->calls], id, STEK_ID_BYTES);
  }
  s->calls++;
  if (origin == STEK_ORIGIN_LOCAL) s->local++;
  if (origin == STEK_ORIGIN_REMOTE) s->remote++;
}

static void test_change_callback_reports_remote_origin(void) {
  uint8_t a[STEK_ID_BYTES], b[STEK_ID_BYTES];
  struct seen seen = {0};
  setup(2);
  stek_id_new(a);
  stek_id_new(b);
  stek_set_change_callback(N[0].s, on_change, &seen);
  CHECK_OK(stek_begin(N[1].s));
  CHECK_OK(stek_put(N[1].s, "task", a, "title", str("one")));
  CHECK_OK(stek_set_add(N[1].s, "task", a, "tags", "x"));
  CHECK_OK(stek_delete(N[1].s, "directory", b));
  CHECK_OK(stek_commit(N[1].s));
  CHECK_OK(sync_one_way(1, 0));
  /* one call per record, remote, (type, id) order */
  CHECK(seen.calls == 2 && seen.remote == 2 && seen.local == 0);
  CHECK(strcmp(seen.types[0], "directory") == 0 && memcmp(seen.ids[0], b, 16) == 0);
  CHECK(strcmp(seen.types[1], "task") == 0 && memcmp(seen.ids[1], a, 16) == 0);
  /* a duplicate changes nothing and reports nothing */
  CHECK_OK(sync_one_way(1, 0));
  CHECK(seen.calls == 2);
  /* and a local write reports local */
  CHECK_OK(stek_put(N[0].s, "task", a, "title", str("two")));
  CHECK(seen.calls == 3 && seen.local == 1);
  stek_set_change_callback(N[0].s, NULL, NULL);
  teardown();
}

/* Run a test and close whatever stores a failed CHECK left open. */
#define RUN_T(fn)            \
  do {                       \
    RUN(fn);                 \
    if (n_nodes) teardown(); \
  } while (0)

int main(void) {
  RUN_T(test_concurrent_writes_to_one_field_resolve_by_hlc_then_author);
  RUN_T(test_writes_to_different_fields_both_survive);
  RUN_T(test_delete_beats_concurrent_update);
  RUN_T(test_older_write_does_not_undo_delete);
  RUN_T(test_restore_after_delete_brings_record_back);
  RUN_T(test_restore_older_than_a_concurrent_delete_does_not_undo_it);
  RUN_T(test_set_adds_from_two_devices_both_survive);
  RUN_T(test_ingest_is_idempotent);
  RUN_T(test_ingest_order_does_not_matter);
  RUN_T(test_hlc_never_goes_backwards_when_clock_jumps_back);
  RUN_T(test_remote_hlc_advances_local_clock);
  RUN_T(test_change_callback_reports_remote_origin);
  return test_report();
}
