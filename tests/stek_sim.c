/*
 * stek-sim -- the deterministic simulator (DESIGN §8, docs/FUZZING.md).
 *
 *   stek-sim --seed S --count N [--replicas R] [--steps K] [--verbose]
 *
 * runs seeds S .. S+N-1.  Each seed: R replicas (default 3) in temporary
 * stores share one space; for K steps (default 40) the seed's PRNG picks
 * random edits of every record type (generic records, schedules, directory
 * entries, signals and withdrawals, transactions that commit or roll back),
 * pairwise sync sessions over an in-memory pipe that drops, duplicates,
 * reorders and flips frames, change transfers (stek_changes + stek_ingest,
 * shuffled, partly dropped, duplicated), bundles (export since a random
 * time, import), partitions (two groups that cannot reach each other for a
 * while), crashes (a store closed with a transaction open, then reopened),
 * revocations (any replica revokes any but the first, even one revoked
 * itself that has not heard of it yet, so revocations cross) and clock
 * steps, on a test clock (stek_config.clock) with a per-replica skew.  At
 * the end the partition heals, every replica syncs with the first and
 * back -- cleanly, or refused as revoked -- and every replica the first
 * does not count as revoked (the live ones, at least two) must have the
 * same state hash; else it prints
 * "stek-sim: seed S diverged" and exits 1.  All randomness comes from the
 * seed (splitmix64), so "--seed S --count 1" replays a failure exactly
 * (random keys and salts inside libstek differ, but no decision does).
 *
 * ctest runs --seed 1 --count 1000; a long run is --count 100000.
 */
#include <errno.h>

#include "fuzz.h"
#include "replica.h"

#define MAX_REPLICAS 16

static int verbose;

/* ---- randomness: splitmix64 ---- */

static uint64_t rng_state;

static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint32_t rng_pick(void *ctx, uint32_t bound) {
  (void)ctx;
  return (uint32_t)(rng_next() % bound);
}

static chooser rng = {rng_pick, NULL};

/* ---- replicas ---- */

typedef struct node {
  replica r;
  char path[700];
  int64_t skew_ms; /* this device's clock error */
  int group;       /* partition side */
} node;

static int64_t sim_now;
static node nodes[MAX_REPLICAS];
static int n_nodes;
static uint8_t space[16];

static int64_t node_clock(void *ctx) { return sim_now + ((node *)ctx)->skew_ms; }

static void node_open(node *n) {
  stek_config cfg;
  stek_config_init(&cfg);
  cfg.clock = node_clock;
  cfg.clock_ctx = n;
  int rc = stek_open(&n->r.s, n->path, &cfg);
  if (rc) {
    fprintf(stderr, "stek-sim: cannot open %s: %s\n", n->path, stek_errmsg(n->r.s));
    exit(2);
  }
}

static void setup(uint64_t seed, int replicas, char *dir, size_t cap) {
  const char *base = getenv("TMPDIR");
  snprintf(dir, cap, "%s/stek-sim-XXXXXX", base ? base : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    exit(2);
  }
  rng_state = seed;
  sim_now = FUZZ_NOW_MS + (int64_t)(rng_next() % (365ULL * 86400000));
  n_nodes = replicas;
  for (int i = 0; i < n_nodes; i++) {
    node *n = &nodes[i];
    memset(n, 0, sizeof *n);
    snprintf(n->path, sizeof n->path, "%s/r%d", dir, i);
    n->skew_ms = (int64_t)(rng_next() % 1200000) - 600000; /* +-10 min */
    node_open(n);
    if (i == 0) {
      if (stek_space_create(n->r.s, "sim", space)) exit(2);
    } else {
      uint8_t dev[32], *share;
      size_t len;
      stek_device_id(n->r.s, dev);
      if (stek_space_share(nodes[0].r.s, dev, &share, &len) ||
          stek_space_accept(n->r.s, share, len) < 0)
        exit(2);
      stek_free(share);
    }
  }
}

static void teardown(const char *dir) {
  for (int i = 0; i < n_nodes; i++) stek_close(nodes[i].r.s);
  fuzz_rmtree(dir);
}

/* ---- transfers ---- */

typedef struct wire_list {
  uint8_t **p;
  size_t *n, count, cap;
} wire_list;

static int collect(void *ctx, const uint8_t *b, size_t len) {
  wire_list *w = ctx;
  if (w->count == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 64;
    w->p = realloc(w->p, w->cap * sizeof *w->p);
    w->n = realloc(w->n, w->cap * sizeof *w->n);
    if (!w->p || !w->n) abort();
  }
  w->p[w->count] = malloc(len);
  memcpy(w->p[w->count], b, len);
  w->n[w->count++] = len;
  return 0;
}

/* Hand a's changes to b one by one: shuffled, some dropped, some twice. */
static void transfer_changes(stek *a, stek *b) {
  wire_list w = {0};
  stek_changes(a, collect, &w);
  for (size_t i = w.count; i > 1; i--) { /* Fisher-Yates */
    size_t j = rng_next() % i;
    uint8_t *tp = w.p[i - 1];
    size_t tn = w.n[i - 1];
    w.p[i - 1] = w.p[j], w.n[i - 1] = w.n[j];
    w.p[j] = tp, w.n[j] = tn;
  }
  for (size_t i = 0; i < w.count; i++) {
    uint32_t f = pick(&rng, 8);
    if (f == 0) continue; /* lost */
    int rc = stek_ingest(b, w.p[i], w.n[i]);
    if (rc < 0 && verbose) fprintf(stderr, "  ingest: %s\n", stek_errmsg(b));
    if (f == 1) stek_ingest(b, w.p[i], w.n[i]); /* again */
  }
  for (size_t i = 0; i < w.count; i++) free(w.p[i]);
  free(w.p);
  free(w.n);
}

static void transfer_bundle(const char *dir, stek *a, stek *b) {
  char path[700];
  snprintf(path, sizeof path, "%s/bundle", dir);
  int64_t since = pick(&rng, 2) ? 0 : sim_now - (int64_t)pick(&rng, 3600) * 1000;
  if (stek_bundle_export(a, path, since, NULL)) return;
  int rc = stek_bundle_import(b, path, NULL, NULL);
  if (rc < 0 && verbose) fprintf(stderr, "  bundle: %s\n", stek_errmsg(b));
  if (pick(&rng, 4) == 0) stek_bundle_import(b, path, NULL, NULL); /* twice */
}

/* A crash: writes inside a transaction, then the store is closed without
 * commit (stek_close rolls back, as a killed process's journal does). */
static void crash(node *n) {
  if (stek_begin(n->r.s) == 0)
    for (uint32_t k = 0, m = 1 + pick(&rng, 3); k < m; k++) replica_edit_one(&n->r, &rng);
  stek_close(n->r.s);
  node_open(n);
}

/* A revokes b: a new key epoch without it.  Refused (and ignored) when a
 * does not know b yet, or knows it revoked. */
static void revoke(node *a, node *b, int *revocations) {
  uint8_t dev[32];
  stek_device_id(b->r.s, dev);
  int rc = stek_device_revoke(a->r.s, dev);
  if (rc == 0) (*revocations)++;
  if (verbose) fprintf(stderr, "  revoke %d by %d: %s\n", (int)(b - nodes), (int)(a - nodes),
                       rc ? stek_errmsg(a->r.s) : "ok");
}

static int revoked_cb(void *ctx, const uint8_t device[32], int revoked) {
  for (int i = 0; revoked && i < n_nodes; i++) {
    uint8_t dev[32];
    stek_device_id(nodes[i].r.s, dev);
    if (!memcmp(dev, device, 32)) ((int *)ctx)[i] = 1;
  }
  return 0;
}

/* ---- one seed ---- */

static int run_seed(uint64_t seed, int replicas, int steps) {
  char dir[512];
  setup(seed, replicas, dir, sizeof dir);
  int partitioned = 0, revocations = 0, revoked[MAX_REPLICAS] = {0};
  for (int step = 0; step < steps; step++) {
    sim_now += (int64_t)pick(&rng, 120000);
    node *a = &nodes[pick(&rng, (uint32_t)n_nodes)];
    node *b = &nodes[pick(&rng, (uint32_t)n_nodes)];
    uint32_t what = pick(&rng, 100);
    int reachable = a != b && (!partitioned || a->group == b->group);
    if (what < 2) { /* keep two live replicas at least */
      if (a != b && b != &nodes[0] && revocations < n_nodes - 2) revoke(a, b, &revocations);
    } else if (what < 50) {
      replica_edit(&a->r, &rng);
    } else if (what < 68) {
      if (reachable) {
        int rc = replica_session(a->r.s, b->r.s, &rng, pick(&rng, 2));
        if (verbose) fprintf(stderr, "  step %d: session %d->%d: %d\n", step,
                             (int)(a - nodes), (int)(b - nodes), rc);
      }
    } else if (what < 78) {
      if (reachable) transfer_changes(a->r.s, b->r.s);
    } else if (what < 86) {
      if (a != b) transfer_bundle(dir, a->r.s, b->r.s); /* a USB stick crosses partitions */
    } else if (what < 92) {
      crash(a);
    } else if (what < 97) {
      partitioned = !partitioned;
      for (int i = 0; i < n_nodes; i++) nodes[i].group = (int)pick(&rng, 2);
    } else {
      sim_now += (int64_t)pick(&rng, 3) * 86400000; /* a day or two offline */
    }
  }
  /* Heal: everyone with the first replica, then back.  A revoked replica
   * is refused (STEK_EREVOKED on either side). */
  int ok = 1, failed[MAX_REPLICAS] = {0};
  for (int pass = 0; pass < 2; pass++)
    for (int i = 1; i < n_nodes; i++)
      failed[i] = replica_session(nodes[i].r.s, nodes[0].r.s, &rng, 0);
  if (stek_device_list(nodes[0].r.s, revoked_cb, revoked)) ok = 0;
  for (int i = 1; ok && i < n_nodes; i++)
    if (failed[i] && !revoked[i]) {
      fprintf(stderr, "stek-sim: seed %llu: clean session %d->0 failed: %s (%s)\n",
              (unsigned long long)seed, i, stek_strerror(failed[i]), stek_errmsg(nodes[i].r.s));
      ok = 0;
    }
  for (int i = 1; ok && i < n_nodes; i++) {
    if (revoked[i]) continue; /* not live: it holds what it held */
    if (!replica_same(nodes[0].r.s, nodes[i].r.s)) {
      fprintf(stderr, "stek-sim: seed %llu: replica %d differs from 0\n",
              (unsigned long long)seed, i);
      ok = 0;
    }
  }
  teardown(dir);
  return ok ? 0 : 1;
}

static int parse_u64(const char *s, uint64_t *v) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *v = x;
  return 0;
}

int main(int argc, char **argv) {
  uint64_t seed = 1, count = 1, replicas = 3, steps = 40;
  for (int i = 1; i < argc; i++) {
    uint64_t *dst = !strcmp(argv[i], "--seed")       ? &seed
                    : !strcmp(argv[i], "--count")    ? &count
                    : !strcmp(argv[i], "--replicas") ? &replicas
                    : !strcmp(argv[i], "--steps")    ? &steps
                                                     : NULL;
    if (!strcmp(argv[i], "--verbose")) {
      verbose = 1;
      continue;
    }
    if (!dst || i + 1 == argc || parse_u64(argv[++i], dst) || replicas < 2 ||
        replicas > MAX_REPLICAS) {
      fprintf(stderr,
              "usage: stek-sim --seed S --count N [--replicas R (2..%d)] [--steps K] "
              "[--verbose]\n",
              MAX_REPLICAS);
      return 2;
    }
  }
  for (uint64_t k = 0; k < count; k++) {
    if (run_seed(seed + k, (int)replicas, (int)steps)) {
      printf("stek-sim: seed %llu diverged\n", (unsigned long long)(seed + k));
      printf("replay: stek-sim --seed %llu --count 1 --replicas %llu --steps %llu\n",
             (unsigned long long)(seed + k), (unsigned long long)replicas,
             (unsigned long long)steps);
      return 1;
    }
  }
  printf("stek-sim: %llu seeds from %llu converged (%llu replicas, %llu steps)\n",
         (unsigned long long)count, (unsigned long long)seed, (unsigned long long)replicas,
         (unsigned long long)steps);
  return 0;
}
