/*
 * fuzz_sess.h -- feeding a sync session (sync/session.h) by hand, for the
 * targets that play one side of a session: fuzz_session_msgs, fuzz_pair.
 */
#ifndef STEK_FUZZ_SESS_H
#define STEK_FUZZ_SESS_H

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

#endif
