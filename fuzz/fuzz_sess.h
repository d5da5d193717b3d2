/*
 * fuzz_sess.h -- feeding a sync session (sync/session.h) by hand, for the
 * targets that play one side of a session: fuzz_session_msgs, fuzz_pair.
 */
#ifndef STEK_FUZZ_SESS_H
#define STEK_FUZZ_SESS_H

#include "crypto/stream.h"
#include "fuzz.h"
#include "sync/session.h"

/* Give the session p as one frame (msgpack bin). */
static inline void fuzz_sess_frame(sess *ss, const uint8_t *p, size_t n) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_bin(&w, p, n);
  sess_input(ss, (const uint8_t *)w.buf.data, w.buf.size);
  mp_writer_free(&w);
}

/* Take the session's pending output; return the first frame's payload,
 * copied to first if it fits cap (in the handshake each output is one
 * frame). */
static inline size_t fuzz_sess_drain(sess *ss, uint8_t *first, size_t cap) {
  const uint8_t *out;
  size_t on, got = 0;
  if (sess_output(ss, &out, &on) == 0 && on) {
    size_t h = out[0] == 0xc4 ? 2 : out[0] == 0xc5 ? 3 : 5;
    if (first && on > h && on - h <= cap) {
      memcpy(first, out + h, on - h);
      got = on - h;
    }
    sess_consumed(ss, on);
  }
  return got;
}

/* Play the initiator of ss's handshake with hs (fuzz_noise_init() or the
 * like): messages 1 to 3, hello [1, 1114112] in message 3, then the
 * stream header, so that ss is RUNNING with st keyed to match.  Its
 * output so far is drained. */
static inline void fuzz_sess_handshake(sess *ss, noise_hs *hs, stream *st) {
  uint8_t m[NOISE_MAX_MESSAGE], pl[NOISE_MAX_PAYLOAD], ks[32], kr[32], hh[32];
  uint8_t hdr[STREAM_HEADER];
  size_t mn, pn;
  static const uint8_t hello[] = {0x92, 0x01, 0xce, 0x00, 0x11, 0x00, 0x00}; /* [1, 1114112] */
  if (noise_write_message(hs, NULL, 0, m, sizeof m, &mn)) abort();
  fuzz_sess_frame(ss, m, mn);
  mn = fuzz_sess_drain(ss, m, sizeof m);
  if (noise_read_message(hs, m, mn, pl, sizeof pl, &pn)) abort();
  if (noise_write_message(hs, hello, sizeof hello, m, sizeof m, &mn)) abort();
  fuzz_sess_frame(ss, m, mn);
  if (noise_split(hs, ks, kr, hh) || stream_init(st, ks, kr, hdr)) abort();
  noise_wipe(hs);
  fuzz_sess_frame(ss, hdr, sizeof hdr);
  if (sess_state(ss) != SESS_RUNNING) abort();
  fuzz_sess_drain(ss, NULL, 0);
}

#endif
