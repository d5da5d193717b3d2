/* Fuzz target: an initiator session (sync/session) after a real first
 * message: the input is fed as the responder's bytes (message 2 and on).
 * The input is fed in pieces whose sizes come from its first byte.
 * Invariants: no crash, no leak, the store is unchanged (no responder
 * without the space key can get past message 2). */
#include "fuzz.h"
#include "sync/session.h"

static stek *s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t before[32], after[32];
  if (!s) s = fuzz_store("initiator");
  if (size < 1) return 0;
  size_t piece = data[0] ? data[0] : size;
  sess *ss;
  const uint8_t *out;
  size_t on;
  if (stek_state_hash(s, before) || sess_new(&ss, s, 1)) abort();
  if (sess_output(ss, &out, &on) || on == 0) abort(); /* message 1 */
  sess_consumed(ss, on);
  for (size_t off = 1; off < size && sess_state(ss) == SESS_RUNNING; off += piece) {
    size_t n = size - off < piece ? size - off : piece;
    sess_input(ss, data + off, n);
    if (sess_output(ss, &out, &on) == 0) sess_consumed(ss, on);
  }
  sess_free(ss);
  if (stek_state_hash(s, after)) abort();
  if (memcmp(before, after, 32)) abort();
  return 0;
}
