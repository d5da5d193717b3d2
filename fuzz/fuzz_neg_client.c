/* Fuzz target: neg_reconcile_client() (sync/negentropy), fed server
 * replies after a real first message.  The input is a sequence of chunks
 * (2-byte length, bytes), each one server reply.  Invariants: no crash, no
 * unbounded allocation; every reported id is 32 bytes in the callback. */
#include "fuzz.h"
#include "sync/negentropy.h"

#define N_ITEMS 200

static neg_item items[N_ITEMS];
static size_t reported;

static int seen(void *ctx, const uint8_t id[NEG_ID_BYTES]) {
  (void)ctx;
  reported += id[0] + id[31] > 0; /* touch both ends */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    for (size_t i = 0; i < N_ITEMS; i++) {
      items[i].timestamp = 1000 + i / 2;
      cr_hash(items[i].id, (const uint8_t *)&i, sizeof i);
      items[i].id[0] = (uint8_t)(i % 2);
    }
    init = 1;
  }
  if (size < 1) return 0;
  fuzz_in in = {data + 1, size - 1};
  neg n;
  size_t count = data[0] & 1 ? N_ITEMS : data[0] % 13;
  size_t limit = data[0] & 2 ? NEG_MIN_FRAME_SIZE_LIMIT : 0;
  if (neg_init(&n, items, count, limit)) abort();
  uint8_t *msg = NULL;
  size_t len = 0;
  if (neg_initiate(&n, &msg, &len)) abort();
  neg_msg_free(msg);
  const uint8_t *p;
  size_t pn;
  for (int round = 0; round < 16 && in.n; round++) {
    pn = fuzz_chunk(&in, &p);
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = neg_reconcile_client(&n, p, pn, &out, &outlen, seen, seen, NULL);
    neg_msg_free(out);
    if (rc || !out) break;
  }
  return 0;
}
