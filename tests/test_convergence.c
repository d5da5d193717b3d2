/* Convergence, as a property: for many seeds, K replicas (2..4) of one space
 * make random, heavily conflicting edits on a few records under skewed and
 * jumping clocks, swap changes in random partial batches with duplicates
 * between more edits, and finally all receive everything.  Every replica
 * must then hold the same changes, the same state hash and the same records.
 *
 *   STEK_CONVERGENCE_SEEDS=n   run seeds 1..n (default 200)
 *   STEK_CONVERGENCE_SEED=n    replay seed n only (printed as "seed n")
 *
 * Everything random comes from one splitmix64 stream per seed, so a seed
 * replays exactly (record ids included; only device keys differ, and they
 * decide ties only where the HLCs are equal). */
#include <stdarg.h>
#include <time.h>

#include "test.h"

/* ---- deterministic randomness ---- */

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint32_t below(uint64_t *s, uint32_t n) { return (uint32_t)(rng_next(s) % n); }
static int chance(uint64_t *s, uint32_t pct) { return below(s, 100) < pct; }

/* ---- a bag of encoded changes ---- */

typedef struct blob {
  uint8_t *p;
  size_t n;
} blob;

typedef struct pool {
  blob *v;
  size_t n, cap;
} pool;

static int pool_add(void *ctx, const uint8_t *b, size_t n) {
  pool *p = ctx;
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    blob *v = realloc(p->v, cap * sizeof *v);
    if (!v) return 1;
    p->v = v;
    p->cap = cap;
  }
  uint8_t *copy = malloc(n ? n : 1);
  if (!copy) return 1;
  memcpy(copy, b, n);
  p->v[p->n++] = (blob){copy, n};
  return 0;
}

static void pool_free(pool *p) {
  for (size_t i = 0; i < p->n; i++) free(p->v[i].p);
  free(p->v);
  memset(p, 0, sizeof *p);
}

static int blob_cmp(const void *a, const void *b) {
  const blob *x = a, *y = b;
  if (x->n != y->n) return x->n < y->n ? -1 : 1;
  return memcmp(x->p, y->p, x->n);
}

/* The number of distinct changes in p (sorts p). */
static size_t pool_distinct(pool *p) {
  size_t d = 0;
  if (p->n == 0) return 0;
  qsort(p->v, p->n, sizeof *p->v, blob_cmp);
  for (size_t i = 0; i < p->n; i++)
    if (i == 0 || blob_cmp(&p->v[i - 1], &p->v[i]) != 0) d++;
  return d;
}

/* ---- text of all records, one JSON line each ---- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf;

static void sbuf_put(sbuf *b, const char *s) {
  size_t len = strlen(s);
  if (b->n + len + 2 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + len + 2) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, len);
  b->n += len;
  b->p[b->n++] = '\n';
  b->p[b->n] = 0;
}

static int json_line(void *ctx, const stek_record *r) {
  char *j = stek_record_json(r);
  if (!j) return 1;
  sbuf_put(ctx, j);
  stek_free(j);
  return 0;
}

/* ---- one world: K replicas of a space ---- */

#define MAX_K 4
#define MAX_IDS 5
#define HOUR (3600 * 1000LL)

typedef struct world {
  uint64_t seed, rng;
  int k, n;          /* replicas editing; handles open (k, +1 late joiner) */
  int lockstep;      /* all wall clocks read the same */
  test_dir dir;
  stek *s[MAX_K + 1];
  test_clock clk[MAX_K + 1];
  int64_t t0;
  uint8_t ids[MAX_IDS][STEK_ID_BYTES];
  int n_ids;
  char why[1024];
  uint64_t local_changes, deliveries;
} world;

static int failf(world *w, const char *fmt, ...) {
  if (!w->why[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof w->why, fmt, ap);
    va_end(ap);
  }
  return 1;
}

/* Call a libstek function on replica i; any result but want fails the seed. */
#define TRY_RC(w, i, call, want)                                             \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != (want))                                                       \
      return failf(w, "%s:%d: replica %d: %s returned %d (%s): %s", __FILE__, \
                   __LINE__, (i), #call, rc_, stek_strerror(rc_),            \
                   stek_errmsg((w)->s[i]));                                  \
  } while (0)
#define TRY(w, i, call) TRY_RC(w, i, call, STEK_OK)

static int open_replica(world *w, int i) {
  char path[700], name[32];
  stek_config cfg;
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &w->clk[i];
  /* Device keys from the seed too, so that ties on equal HLCs (broken by
   * author) replay exactly. */
  uint8_t identity[32] = {0};
  memcpy(identity, &w->seed, sizeof w->seed);
  identity[31] = (uint8_t)i;
  cfg.identity_seed = identity;
  w->clk[i].now_ms = w->lockstep ? w->t0 : w->t0 + (int64_t)below(&w->rng, 2 * HOUR) - HOUR;
  snprintf(name, sizeof name, "r%d.db", i);
  test_dir_file(&w->dir, name, path, sizeof path);
  int rc = stek_open(&w->s[i], path, &cfg);
  w->n = i + 1;
  if (rc) return failf(w, "replica %d: stek_open: %s", i, stek_errmsg(w->s[i]));
  return 0;
}

/* Let replica i join the space replica 0 created. */
static int join(world *w, int i) {
  uint8_t dev[STEK_DEVICE_ID_BYTES];
  uint8_t *sealed = NULL;
  size_t len = 0;
  stek_device_id(w->s[i], dev);
  TRY(w, 0, stek_space_share(w->s[0], dev, &sealed, &len));
  int rc = stek_space_accept(w->s[i], sealed, len);
  stek_free(sealed);
  TRY(w, i, rc);
  return 0;
}

/* Move replica i's wall clock: mostly forward, often not at all (so the HLC
 * counter runs), sometimes backwards, now and then an hour back.  Clocks
 * stay within 6 h of t0, so no replica is ever past the 24 h bound. */
static void tick(world *w, int i) {
  int64_t t = w->clk[i].now_ms;
  uint32_t r = below(&w->rng, 100);
  if (r < 40) t += below(&w->rng, 3);
  else if (r < 80) t += below(&w->rng, 60000);
  else if (r < 95) t -= below(&w->rng, 60000);
  else t -= HOUR;
  if (t < w->t0 - 6 * HOUR) t = w->t0 - 6 * HOUR;
  if (t > w->t0 + 6 * HOUR) t = w->t0 + 6 * HOUR;
  if (w->lockstep)
    for (int j = 0; j < w->n; j++) w->clk[j].now_ms = t;
  else
    w->clk[i].now_ms = t;
}

static const char *const types[] = {"task", "directory"};
/* "c" is written both as a plain field and as a set: a set replaces a plain
 * field of the same name when read, which must converge too. */
static const char *const fields[] = {"a", "org", "c", "summary.nl"};
static const char *const set_fields[] = {"tags", "c"};
static const char *const strs[] = {"x", "y", "z", "", "Énergie", "koffie & formulieren"};
static const char *const elems[] = {"2026-03-05", "2026-03-12", "nl", "fr", "x"};
#define N_OF(a) (sizeof(a) / sizeof *(a))
#define PICK(w, a) (a)[below(&(w)->rng, (uint32_t)N_OF(a))]

/* One random write on replica i. */
static int edit(world *w, int i) {
  stek *s = w->s[i];
  const char *type = PICK(w, types);
  const uint8_t *id = w->ids[below(&w->rng, (uint32_t)w->n_ids)];
  const char *field = PICK(w, fields);
  uint32_t what = below(&w->rng, 100);
  stek_value v = {0};
  const char *list[3];
  if (what < 25) {
    v.kind = STEK_VALUE_STR;
    v.str = PICK(w, strs);
    TRY(w, i, stek_put(s, type, id, field, &v));
  } else if (what < 35) {
    static const int64_t ints[] = {0, 1, -1, 300, -40000, INT64_MAX, INT64_MIN};
    v.kind = STEK_VALUE_INT;
    v.i = PICK(w, ints);
    TRY(w, i, stek_put(s, type, id, field, &v));
  } else if (what < 45) {
    v.kind = STEK_VALUE_LIST;
    v.list_len = below(&w->rng, 4);
    for (size_t k = 0; k < v.list_len; k++) list[k] = PICK(w, strs);
    v.list = list;
    TRY(w, i, stek_put(s, type, id, field, &v));
  } else if (what < 55) {
    TRY(w, i, stek_put(s, type, id, field, NULL));
  } else if (what < 63) {
    TRY(w, i, stek_delete(s, type, id));
  } else if (what < 71) {
    TRY(w, i, stek_restore(s, type, id));
  } else if (what < 88) {
    TRY(w, i, stek_set_add(s, type, id, PICK(w, set_fields), PICK(w, elems)));
  } else {
    TRY(w, i, stek_set_remove(s, type, id, PICK(w, set_fields), PICK(w, elems)));
  }
  return 0;
}

/* A burst of local work on replica i: single writes and transactions,
 * some rolled back. */
static int work(world *w, int i) {
  uint32_t n = below(&w->rng, 10);
  for (uint32_t e = 0; e < n; e++) {
    tick(w, i);
    if (chance(&w->rng, 25)) {
      uint32_t m = 1 + below(&w->rng, 5);
      int commit = chance(&w->rng, 80);
      uint64_t before, after;
      TRY(w, i, stek_change_count(w->s[i], &before));
      TRY(w, i, stek_begin(w->s[i]));
      for (uint32_t k = 0; k < m; k++) {
        if (edit(w, i)) return 1;
        if (chance(&w->rng, 20)) tick(w, i); /* the change keeps its HLC */
      }
      if (commit) {
        TRY(w, i, stek_commit(w->s[i]));
      } else {
        TRY(w, i, stek_rollback(w->s[i]));
      }
      TRY(w, i, stek_change_count(w->s[i], &after));
      if (after != before + (uint64_t)commit)
        return failf(w, "replica %d: a %s transaction made %llu changes", i,
                     commit ? "committed" : "rolled back",
                     (unsigned long long)(after - before));
      w->local_changes += (uint64_t)commit;
    } else {
      if (edit(w, i)) return 1;
      w->local_changes++;
    }
  }
  return 0;
}

static int deliver(world *w, int j, const blob *b) {
  int rc = stek_ingest(w->s[j], b->p, b->n);
  w->deliveries++;
  if (rc != STEK_OK && rc != STEK_DUPLICATE)
    return failf(w, "replica %d: stek_ingest returned %d (%s): %s", j, rc,
                 stek_strerror(rc), stek_errmsg(w->s[j]));
  return 0;
}

/* Some replicas' changes, to some replicas: a random selection with
 * repeats, in random order. */
static int exchange_partial(world *w) {
  pool p = {0};
  int rc = 0;
  for (int i = 0; !rc && i < w->k; i++)
    if (chance(&w->rng, 60) && stek_changes(w->s[i], pool_add, &p))
      rc = failf(w, "replica %d: stek_changes failed", i);
  for (int j = 0; !rc && j < w->k && p.n; j++) {
    if (!chance(&w->rng, 60)) continue;
    uint32_t m = below(&w->rng, (uint32_t)p.n * 2 + 1);
    for (uint32_t d = 0; !rc && d < m; d++)
      rc = deliver(w, j, &p.v[below(&w->rng, (uint32_t)p.n)]);
  }
  pool_free(&p);
  return rc;
}

/* Everything to everyone, each in its own random order, with duplicates. */
static int exchange_all(world *w, pool *p) {
  size_t *order = malloc((p->n ? p->n : 1) * sizeof *order);
  if (!order) return failf(w, "out of memory");
  int rc = 0;
  for (int j = 0; !rc && j < w->n; j++) {
    for (size_t i = 0; i < p->n; i++) order[i] = i;
    for (size_t i = p->n; i > 1; i--) {
      size_t r = below(&w->rng, (uint32_t)i), t = order[i - 1];
      order[i - 1] = order[r];
      order[r] = t;
    }
    for (size_t i = 0; !rc && i < p->n; i++) {
      rc = deliver(w, j, &p->v[order[i]]);
      if (!rc && chance(&w->rng, 10))
        rc = deliver(w, j, &p->v[order[below(&w->rng, (uint32_t)i + 1)]]);
    }
  }
  free(order);
  return rc;
}

/* What a replica shows: every record, then the results of a few directory
 * searches (a derived full-text index, kept as changes arrive, ranked by
 * BM25F then id), one JSON line each. */
static int listing(stek *s, sbuf *b) {
  static const char *const queries[] = {"x", "energie", "koffie formulieren", "fr", "y z"};
  if (stek_list(s, NULL, json_line, b)) return 1;
  for (size_t q = 0; q < N_OF(queries); q++) {
    char head[64];
    snprintf(head, sizeof head, "search \"%s\":", queries[q]);
    sbuf_put(b, head);
    if (stek_directory_search(s, queries[q], NULL, NULL, json_line, b)) return 1;
  }
  return b->oom;
}

/* Show the first line where two listings differ. */
static int diff_listing(world *w, int i, const char *a, const char *b) {
  size_t line = 1;
  const char *la = a, *lb = b;
  while (*a && *a == *b) {
    if (*a == '\n') {
      line++;
      la = a + 1;
      lb = b + 1;
    }
    a++;
    b++;
  }
  int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
  return failf(w, "replica %d lists other records than replica 0 (line %zu):\n"
               "    r0: %.*s\n    r%d: %.*s", i, line, na, la, i, nb, lb);
}

static int check_converged(world *w, size_t distinct) {
  uint8_t h0[STEK_HASH_BYTES], h[STEK_HASH_BYTES];
  uint64_t c0, c;
  sbuf l0 = {0}, l = {0};
  int rc = 0;
  TRY(w, 0, stek_state_hash(w->s[0], h0));
  TRY(w, 0, stek_change_count(w->s[0], &c0));
  if (c0 != distinct)
    return failf(w, "replica 0 holds %llu changes, %zu were made",
                 (unsigned long long)c0, distinct);
  if (listing(w->s[0], &l0)) {
    free(l0.p);
    return failf(w, "replica 0: listing failed: %s", stek_errmsg(w->s[0]));
  }
  for (int i = 1; !rc && i < w->n; i++) {
    l.n = 0;
    if (l.p) l.p[0] = 0;
    if (stek_change_count(w->s[i], &c) || c != c0)
      rc = failf(w, "replica %d holds %llu changes, replica 0 %llu", i,
                 (unsigned long long)c, (unsigned long long)c0);
    else if (listing(w->s[i], &l))
      rc = failf(w, "replica %d: listing failed: %s", i, stek_errmsg(w->s[i]));
    else if (strcmp(l0.p ? l0.p : "", l.p ? l.p : "") != 0)
      rc = diff_listing(w, i, l0.p ? l0.p : "", l.p ? l.p : "");
    else if (stek_state_hash(w->s[i], h) || memcmp(h, h0, sizeof h) != 0)
      rc = failf(w, "replica %d: state hash differs from replica 0's", i);
  }
  free(l0.p);
  free(l.p);
  return rc;
}

static int run_world(world *w) {
  pool all = {0};
  w->rng = w->seed * 0x2545f4914f6cdd1dull + 1;
  w->k = 2 + (int)below(&w->rng, MAX_K - 1);
  w->lockstep = chance(&w->rng, 25);
  w->t0 = 1767225600000LL + (int64_t)below(&w->rng, 365) * 24 * HOUR; /* 2026 */
  w->n_ids = 2 + (int)below(&w->rng, MAX_IDS - 1);
  for (int r = 0; r < w->n_ids; r++)
    for (int b = 0; b < STEK_ID_BYTES; b++) w->ids[r][b] = (uint8_t)rng_next(&w->rng);
  int late = chance(&w->rng, 30);
  int rounds = 1 + (int)below(&w->rng, 5);
  uint8_t space[STEK_ID_BYTES];

  for (int i = 0; i < w->k; i++)
    if (open_replica(w, i)) return 1;
  TRY(w, 0, stek_space_create(w->s[0], "Bezemheide", space));
  for (int i = 1; i < w->k; i++)
    if (join(w, i)) return 1;

  for (int round = 0; round < rounds; round++) {
    for (int i = 0; i < w->k; i++)
      if (work(w, i)) return 1;
    if (round + 1 < rounds && exchange_partial(w)) return 1;
  }
  if (late && (open_replica(w, w->k) || join(w, w->k))) return 1;

  int rc = 0;
  for (int i = 0; !rc && i < w->k; i++)
    if (stek_changes(w->s[i], pool_add, &all))
      rc = failf(w, "replica %d: stek_changes failed", i);
  if (!rc) rc = exchange_all(w, &all);
  if (!rc) rc = check_converged(w, pool_distinct(&all));
  pool_free(&all);
  return rc;
}

static int run_seed(uint64_t seed, world *w) {
  memset(w, 0, sizeof *w);
  w->seed = seed;
  test_dir_make(&w->dir);
  int rc = run_world(w);
  for (int i = 0; i < w->n; i++) stek_close(w->s[i]);
  test_dir_remove(&w->dir);
  if (rc)
    fprintf(stderr, "  seed %llu (K=%d%s%s): %s\n  replay: STEK_CONVERGENCE_SEED=%llu\n",
            (unsigned long long)seed, w->k, w->lockstep ? ", lockstep clocks" : "",
            w->n > w->k ? ", late joiner" : "", w->why, (unsigned long long)seed);
  return rc;
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  return strtoull(v, NULL, 10);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_random_replicas_converge(void) {
  world *w = malloc(sizeof *w);
  CHECK(w);
  uint64_t first = 1, count = env_u64("STEK_CONVERGENCE_SEEDS", 200);
  if (getenv("STEK_CONVERGENCE_SEED")) {
    first = env_u64("STEK_CONVERGENCE_SEED", 1);
    count = 1;
  }
  uint64_t failed = 0, changes = 0, deliveries = 0;
  double t = now_s();
  for (uint64_t seed = first; seed < first + count; seed++) {
    if (run_seed(seed, w)) failed++;
    changes += w->local_changes;
    deliveries += w->deliveries;
  }
  printf("  %llu seeds from %llu: %llu local changes, %llu deliveries, %.1f s\n",
         (unsigned long long)count, (unsigned long long)first,
         (unsigned long long)changes, (unsigned long long)deliveries, now_s() - t);
  free(w);
  CHECK(failed == 0);
}

int main(void) {
  RUN(test_random_replicas_converge);
  return test_report();
}
