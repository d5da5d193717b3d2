/* Fuzz target: invite_token_psk() (sync/invite), the parser of typed or
 * scanned invitation tokens.  Invariants: no crash; a token that parses
 * parses again, upper-cased, to the same capability. */
#include "fuzz.h"
#include "sync/invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) init = cr_setup() == 0 ? 1 : (abort(), 0);
  if (size > 256) return 0;
  char tok[257], up[257];
  uint8_t psk[32], psk2[32];
  memcpy(tok, data, size);
  tok[size] = 0;
  if (invite_token_psk(tok, psk) != 0) return 0;
  for (size_t i = 0; i <= size; i++)
    up[i] = (char)(tok[i] >= 'a' && tok[i] <= 'z' ? tok[i] - 32 : tok[i]);
  if (invite_token_psk(up, psk2) != 0 || memcmp(psk, psk2, 32)) abort();
  return 0;
}
