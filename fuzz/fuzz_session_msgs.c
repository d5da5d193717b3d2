/* Fuzz target: the session's messages from an authenticated member
 * (sync/session after the handshake).  The harness plays the initiator
 * with fixed keys (fuzz.h): it completes a real handshake with a responder
 * session, sends its stream header, then seals each input message and sends
 * it as a frame.  So the fuzzer writes plaintext NEG / OPS / WANT / DONE /
 * ERR messages (docs/PROTOCOL.md, Session) and reaches the Negentropy
 * server, ingest and the output pump -- what a misbehaving member device
 * can do.  Input: messages as (flags: u8, length: u16 BE, bytes); flags
 * bit 0 marks the frame final.  Invariants: no crash, no leak, no
 * unbounded allocation or output (the responder's output is drained and
 * bounded by the requests). */
#include "crypto/stream.h"
#include "fuzz_sess.h"

static stek *s;

static void populate(stek *st) {
  for (int i = 0; i < 8; i++) {
    uint8_t id[16] = {(uint8_t)i};
    stek_value v = {.kind = STEK_VALUE_STR, .str = "fuzz"};
    if (stek_put(st, "directory", id, "org", &v)) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!s) {
    s = fuzz_store("msgs");
    populate(s);
  }
  sess *ss;
  noise_hs hs;
  stream st;
  if (sess_new(&ss, s, 0)) abort();
  fuzz_noise_init(&hs, 1);
  fuzz_sess_handshake(ss, &hs, &st);

  fuzz_in in = {data, size};
  uint8_t *sealed = malloc(65536 + STREAM_OVERHEAD);
  while (in.n && sess_state(ss) == SESS_RUNNING) {
    int fin = fuzz_u8(&in) & 1;
    const uint8_t *p;
    size_t n = fuzz_chunk(&in, &p), cn;
    if (stream_seal(&st, n ? p : NULL, n, sealed, 65536 + STREAM_OVERHEAD, &cn, fin)) break;
    fuzz_sess_frame(ss, sealed, cn);
    for (int k = 0; k < 64; k++) { /* the server pumps as its output drains */
      const uint8_t *o;
      size_t on;
      if (sess_output(ss, &o, &on) || on == 0) break;
      sess_consumed(ss, on);
    }
  }
  free(sealed);
  stream_wipe(&st);
  sess_free(ss);
  return 0;
}
