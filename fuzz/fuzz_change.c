/* Fuzz target: change_decode() and op iteration (crdt/change), the one
 * place outside bytes become a change.  Invariants: no crash, no read
 * outside the input; a change that decodes re-walks its ops without error
 * and its signature check returns a code (never crashes). */
#include "crdt/change.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) init = cr_setup() == 0 ? 1 : (abort(), 0);
  change c;
  if (change_decode(data, size, &c) != 0) return 0;
  mp_reader r;
  mp_reader_init(&r, c.ops, c.ops_len);
  static op o; /* large (256 fields): keep it off the stack */
  for (uint32_t i = 0; i < c.n_ops; i++)
    if (op_next(&r, &o) != 0) abort(); /* decode said the ops were fine */
  (void)change_verify(&c);
  return 0;
}
