/* Fuzz target: beacon_decode() and beacon_match() (sync/beacon), what a
 * device does with any UDP datagram on the discovery port.  Invariants: no
 * crash; match succeeds only on a beacon that decodes, and names a port
 * equal to the decoded one. */
#include "fuzz.h"
#include "sync/beacon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) init = cr_setup() == 0 ? 1 : (abort(), 0);
  uint8_t salt[BEACON_SALT], tag[BEACON_TAG], keys[2][BEACON_KEY];
  uint16_t port = 0, mport = 0;
  int drc = beacon_decode(data, size, salt, tag, &port);
  memset(keys[0], 0x33, sizeof keys[0]);
  memcpy(keys[1], fuzz_space_key, sizeof keys[1]);
  int mrc = beacon_match(data, size, (const uint8_t (*)[BEACON_KEY])keys, 2, FUZZ_NOW_MS, &mport);
  if (mrc >= 0 && (drc != 0 || mport != port || mrc > 1)) abort();
  return 0;
}
