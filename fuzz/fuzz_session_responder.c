/* Fuzz target: a responder session (sync/session) fed the input as the
 * peer's bytes: frame parsing, the first handshake message tried against
 * every held space and pending invitation, and whatever follows.  A seed
 * holds a real first message of the fixed space, which opens here (psk0's
 * first message depends only on the space key).  The input is fed in
 * pieces whose sizes come from its first byte, to exercise reassembly.
 * Invariants: no crash, no leak; a stranger's bytes never change the store
 * (state hash). */
#include "fuzz.h"
#include "sync/session.h"

static stek *s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t before[32], after[32];
  if (!s) {
    char token[STEK_INVITE_BYTES];
    s = fuzz_store("responder");
    if (stek_invite_create(s, 3600 * 1000, token)) abort(); /* one pending */
  }
  if (size < 1) return 0;
  size_t piece = data[0] ? data[0] : size;
  sess *ss;
  if (stek_state_hash(s, before) || sess_new(&ss, s, 0)) abort();
  for (size_t off = 1; off < size && sess_state(ss) == SESS_RUNNING; off += piece) {
    size_t n = size - off < piece ? size - off : piece;
    const uint8_t *out;
    size_t on;
    sess_input(ss, data + off, n);
    if (sess_output(ss, &out, &on) == 0) sess_consumed(ss, on);
  }
  sess_free(ss);
  if (stek_state_hash(s, after)) abort();
  if (memcmp(before, after, 32)) abort(); /* nobody completed a handshake */
  return 0;
}
