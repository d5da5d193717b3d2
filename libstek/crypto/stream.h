/*
 * crypto/stream -- the encrypted session after the handshake.
 *
 * One crypto_secretstream_xchacha20poly1305 per direction, keyed by the keys
 * noise_split() gives.  Each side first sends its STREAM_HEADER bytes (a
 * random nonce, not secret) and then frames; each frame is the plaintext
 * plus STREAM_OVERHEAD bytes, authenticated and bound to its place in the
 * stream, so a dropped, repeated, reordered or altered frame does not open.
 * The last frame a side sends is marked final, so a truncated session is
 * told apart from a finished one.  The caller length-prefixes the frames.
 *
 * A pure state machine: no allocation, no I/O.  The caller owns the stream.
 *
 * Must never: return a plaintext whose frame did not verify, go on after a
 * frame failed (the session is dead), or keep a key longer than needed.
 */
#ifndef STEK_CRYPTO_STREAM_H
#define STEK_CRYPTO_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_KEY 32
#define STREAM_HEADER 24
#define STREAM_OVERHEAD 17

/* Both directions of one session.  The fields are private.  Not shared
 * between threads (one thread may seal while another opens only if the
 * caller serialises each direction). */
typedef struct stream {
  _Alignas(16) unsigned char push[64];
  _Alignas(16) unsigned char pull[64];
  uint8_t key_recv[STREAM_KEY]; /* until the peer's header arrives */
  int send_state, recv_state;
} stream;

/* Start a session with the keys from noise_split(); header_out gets the
 * bytes to send before any frame.  The caller should wipe its copies of the
 * keys.  0 or STEK_ERROR. */
int stream_init(stream *st, const uint8_t key_send[STREAM_KEY],
                const uint8_t key_recv[STREAM_KEY], uint8_t header_out[STREAM_HEADER]);

/* Take the peer's header (the first STREAM_HEADER bytes it sent).  0, or
 * STEK_ESTATE if one was already taken. */
int stream_accept_header(stream *st, const uint8_t header[STREAM_HEADER]);

/* Seal len bytes of plaintext as the next frame into out (cap bytes, at
 * least len + STREAM_OVERHEAD); *outlen gets its size.  final marks the
 * last frame this side sends.  0, or STEK_ESTATE (after a final frame or a
 * failure), or STEK_EINVAL (cap too small; nothing changes). */
int stream_seal(stream *st, const uint8_t *plaintext, size_t len, uint8_t *out,
                size_t cap, size_t *outlen, int final);

/* Open the peer's next frame (len bytes) into out (cap bytes, at least
 * len - STREAM_OVERHEAD); *outlen gets the plaintext's size and *final
 * whether the peer marked it its last.  0, or STEK_ESIGNATURE (the frame
 * is altered, repeated, out of order, from another session or key: the
 * construction cannot tell these apart), STEK_ETRUNCATED (shorter than
 * STREAM_OVERHEAD), STEK_EMALFORMED (a tag stek never sends), STEK_ESTATE
 * (no header yet, after the final frame, or after a failure), or
 * STEK_EINVAL (cap too small; nothing changes).  Any error but the last
 * two ends the receiving side for good. */
int stream_open(stream *st, const uint8_t *in, size_t len, uint8_t *out,
                size_t cap, size_t *outlen, int *final);

/* Wipe both directions' state; call it when done, whatever happened. */
void stream_wipe(stream *st);

#endif
