/* Fuzz target: the sync protocol end to end (structure-aware).  Two
 * in-process replicas of the fixed space, fresh for every input, make edits
 * the input chooses (fuzz/replica.h: every record type, transactions),
 * then sync over an in-memory pipe while the input drops, duplicates,
 * reorders and flips frames -- a few such sessions, either side initiating
 * -- and finally run one clean session.
 *
 * Invariants: no crash, no leak, no unbounded allocation; the clean session
 * succeeds; afterwards both replicas have the same state hash (DESIGN §2:
 * convergence is the law).  A broken invariant aborts: that is the
 * fuzzer's signal. */
#include "fuzz.h"
#include "replica.h"

static uint32_t from_input(void *ctx, uint32_t bound) {
  fuzz_in *in = ctx;
  uint32_t v = bound > 256 ? fuzz_u16(in) : fuzz_u8(in);
  return v % bound;
}

static unsigned long runs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in in = {data, size};
  chooser c = {from_input, &in};
  char a_name[64], b_name[64];
  /* Fresh stores per input, so an input replays alone. */
  snprintf(a_name, sizeof a_name, "a%lu", runs);
  snprintf(b_name, sizeof b_name, "b%lu", runs++);
  replica a = {.s = fuzz_store(a_name)}, b = {.s = fuzz_store(b_name)};
  for (uint32_t i = 0, n = pick(&c, 16); i < n; i++) replica_edit(&a, &c);
  for (uint32_t i = 0, n = pick(&c, 16); i < n; i++) replica_edit(&b, &c);
  for (uint32_t k = 0, n = 1 + pick(&c, 3); k < n && in.n; k++) {
    if (pick(&c, 2)) replica_session(a.s, b.s, &c, 1);
    else replica_session(b.s, a.s, &c, 1);
    if (pick(&c, 2)) replica_edit(&a, &c);
  }
  int rc = replica_session(a.s, b.s, &c, 0);
  if (rc) {
    fprintf(stderr, "fuzz_sync: a clean session failed: %d (%s)\n", rc, stek_strerror(rc));
    abort();
  }
  if (!replica_same(a.s, b.s)) {
    fprintf(stderr, "fuzz_sync: replicas diverged after a clean session\n");
    abort();
  }
  stek_close(a.s);
  stek_close(b.s);
  char path[700];
  snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), a_name);
  fuzz_rmtree(path);
  snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), b_name);
  fuzz_rmtree(path);
  return 0;
}
