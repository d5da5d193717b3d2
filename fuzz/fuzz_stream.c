/* Fuzz target: stream_open() (crypto/stream).  The input's first 24 bytes
 * are the peer's header, then chunks (2-byte length, bytes), each a frame
 * opened in turn under fixed keys.  Frames from make_corpus are real
 * frames under those keys.  Invariants: no crash; once a frame fails (other
 * than EINVAL/ESTATE) every later one fails too; nothing after a final
 * frame opens. */
#include "crypto/stream.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) init = cr_setup() == 0 ? 1 : (abort(), 0);
  if (size < STREAM_HEADER) return 0;
  stream st;
  uint8_t ks[32], kr[32], hdr[STREAM_HEADER], out[65536];
  memset(ks, 1, sizeof ks);
  memset(kr, 2, sizeof kr);
  if (stream_init(&st, ks, kr, hdr) || stream_accept_header(&st, data)) abort();
  fuzz_in in = {data + STREAM_HEADER, size - STREAM_HEADER};
  int dead = 0, ended = 0;
  const uint8_t *p;
  size_t pn, on;
  while (in.n) {
    int fin = 0;
    pn = fuzz_chunk(&in, &p);
    int rc = stream_open(&st, pn ? p : NULL, pn, out, sizeof out, &on, &fin);
    if (rc == 0 && (dead || ended)) abort();
    if (rc && rc != STEK_EINVAL && rc != STEK_ESTATE) dead = 1;
    if (rc == 0 && fin) ended = 1;
  }
  stream_wipe(&st);
  return 0;
}
