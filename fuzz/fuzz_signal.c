/* Fuzz target: signal_decode() and wire_format() (crdt/signal).
 * Invariants: no crash; a signal that decodes has a valid week and its MAC
 * check returns a code. */
#include "crdt/signal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) init = cr_setup() == 0 ? 1 : (abort(), 0);
  signal_msg m;
  (void)wire_format(data, size);
  if (signal_decode(data, size, &m) != 0) return 0;
  if (!signal_week_valid(m.week, SIGNAL_WEEK_LEN)) abort();
  (void)signal_verify(&m, fuzz_space_key);
  return 0;
}
