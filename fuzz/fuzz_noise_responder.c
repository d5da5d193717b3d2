/* Fuzz target: noise_read_message() as the responder (crypto/noise).  The
 * input is two chunks (2-byte length, bytes): message 1, then -- if it
 * opened and message 2 was written -- message 3.  Keys and ephemerals are
 * fixed (fuzz.h), so recorded messages in the corpus open.  Invariants:
 * no crash; a failed read leaves the handshake failed for good; the peer id
 * is known only after a successful message 3. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) init = cr_setup() == 0 ? 1 : (abort(), 0);
  fuzz_in in = {data, size};
  noise_hs hs;
  uint8_t payload[NOISE_MAX_PAYLOAD], msg[NOISE_MAX_MESSAGE], id[32];
  size_t plen, mlen;
  const uint8_t *p;
  size_t pn = fuzz_chunk(&in, &p);
  fuzz_noise_init(&hs, 0);
  int rc = noise_read_message(&hs, pn ? p : NULL, pn, payload, sizeof payload, &plen);
  if (rc) {
    if (noise_next(&hs) != NOISE_FAILED && rc != STEK_EINVAL) abort();
    goto out;
  }
  if (noise_write_message(&hs, payload, plen, msg, sizeof msg, &mlen)) goto out;
  pn = fuzz_chunk(&in, &p);
  rc = noise_read_message(&hs, pn ? p : NULL, pn, payload, sizeof payload, &plen);
  if (rc) {
    if (noise_peer(&hs, id) == 0) abort();
    goto out;
  }
  uint8_t ks[32], kr[32], hh[32];
  if (noise_next(&hs) != NOISE_DONE || noise_split(&hs, ks, kr, hh) || noise_peer(&hs, id))
    abort();
out:
  noise_wipe(&hs);
  return 0;
}
