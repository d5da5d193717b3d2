/* Fuzz target: neg_reconcile_server() (sync/negentropy), the server side
 * of Negentropy V1, over a fixed set of items, with and without a frame
 * size limit (first byte).  Invariants: no crash, no unbounded allocation
 * (ASan's allocator limit), a reply of at least one byte on success. */
#include "fuzz.h"
#include "sync/negentropy.h"

#define N_ITEMS 300

static neg_item items[N_ITEMS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    for (size_t i = 0; i < N_ITEMS; i++) { /* sorted: timestamps grow */
      items[i].timestamp = 1000 + i / 3;
      cr_hash(items[i].id, (const uint8_t *)&i, sizeof i);
      items[i].id[0] = (uint8_t)(i % 3); /* ids ascend within a timestamp */
    }
    init = 1;
  }
  if (size < 1) return 0;
  neg n;
  size_t count = data[0] & 1 ? N_ITEMS : data[0] % 17;
  size_t limit = data[0] & 2 ? NEG_MIN_FRAME_SIZE_LIMIT : 0;
  if (neg_init(&n, items, count, limit)) abort();
  uint8_t *out = NULL;
  size_t outlen = 0;
  int rc = neg_reconcile_server(&n, data + 1, size - 1, &out, &outlen);
  if (rc == 0 && (!out || outlen < 1)) abort();
  if (rc == 0 && limit && outlen > limit) abort();
  neg_msg_free(out);
  return 0;
}
