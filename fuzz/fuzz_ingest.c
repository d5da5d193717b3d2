/* Fuzz target: stek_ingest() on a store holding the fixed space.
 *
 * The first byte picks how the rest is used:
 *   0 (mod 3)  a wire as received (a change or a signal) -- the signature
 *              or MAC must already be right, so mostly the decoder runs;
 *   1          a change *body*, signed here with the fixed author key, so
 *              the fuzzer reaches the merge and the store with any ops a
 *              misbehaving member device could sign;
 *   2          a signal body, MACed here with the space's signal key.
 * Invariants: no crash, no leak; a rejected input leaves the state hash
 * unchanged (DESIGN §4: bad input changes nothing already stored). */
#include "fuzz.h"

static stek *s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!s) s = fuzz_store("ingest");
  if (size < 1) return 0;
  uint8_t before[32], after[32];
  mp_writer w;
  const uint8_t *wire = data + 1;
  size_t len = size - 1;
  int mode = data[0] % 3, rc;
  if (stek_state_hash(s, before)) abort();
  if (mode == 1) fuzz_sign_change(data + 1, size - 1, &w);
  if (mode == 2) fuzz_mac_signal(data + 1, size - 1, &w);
  if (mode) {
    wire = (const uint8_t *)w.buf.data;
    len = w.buf.size;
  }
  rc = stek_ingest(s, wire, len);
  if (mode) mp_writer_free(&w);
  if (rc < 0) {
    if (stek_state_hash(s, after)) abort();
    if (memcmp(before, after, 32)) {
      fprintf(stderr, "rejected input (%d) changed the state\n", rc);
      abort();
    }
  }
  return 0;
}
