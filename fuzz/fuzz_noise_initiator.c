/* Fuzz target: noise_read_message() as the initiator (crypto/noise): a real
 * message 1 is written, then the input (whole) is read as message 2; if it
 * opens, message 3 is written and the keys split.  Keys and ephemerals are
 * fixed (fuzz.h).  Invariants: no crash; no peer id before a message
 * verified; a failed read leaves the handshake failed. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) init = cr_setup() == 0 ? 1 : (abort(), 0);
  noise_hs hs;
  uint8_t payload[NOISE_MAX_PAYLOAD], msg[NOISE_MAX_MESSAGE], id[32];
  size_t plen, mlen;
  fuzz_noise_init(&hs, 1);
  if (noise_write_message(&hs, NULL, 0, msg, sizeof msg, &mlen)) abort();
  int rc = noise_read_message(&hs, size ? data : NULL, size, payload, sizeof payload, &plen);
  if (rc) {
    if (noise_peer(&hs, id) == 0) abort();
    if (noise_next(&hs) != NOISE_FAILED && rc != STEK_EINVAL) abort();
  } else {
    uint8_t ks[32], kr[32], hh[32];
    if (noise_peer(&hs, id)) abort();
    if (noise_write_message(&hs, payload, plen > 64 ? 64 : plen, msg, sizeof msg, &mlen) ||
        noise_split(&hs, ks, kr, hh))
      abort();
  }
  noise_wipe(&hs);
  return 0;
}
