/* crypto/stream -- see stream.h. */
#include "crypto/stream.h"

#include <sodium.h>
#include <string.h>

#include "stek.h"

typedef crypto_secretstream_xchacha20poly1305_state ss_state;
_Static_assert(sizeof(ss_state) <= 64, "stream state too small");
_Static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == STREAM_KEY, "key");
_Static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == STREAM_HEADER, "hdr");
_Static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == STREAM_OVERHEAD, "abytes");

/* Each direction is waiting for its header (receive side only), open,
 * closed by a final frame, or failed. */
enum { S_NONE, S_WAIT_HEADER, S_OPEN, S_CLOSED, S_FAILED };

void stream_wipe(stream *st) { sodium_memzero(st, sizeof *st); }

int stream_init(stream *st, const uint8_t key_send[STREAM_KEY],
                const uint8_t key_recv[STREAM_KEY], uint8_t header_out[STREAM_HEADER]) {
  memset(st, 0, sizeof *st);
  if (crypto_secretstream_xchacha20poly1305_init_push((ss_state *)st->push, header_out,
                                                      key_send) != 0) {
    stream_wipe(st);
    return STEK_ERROR;
  }
  memcpy(st->key_recv, key_recv, STREAM_KEY);
  st->send_state = S_OPEN;
  st->recv_state = S_WAIT_HEADER;
  return 0;
}

int stream_accept_header(stream *st, const uint8_t header[STREAM_HEADER]) {
  if (st->recv_state != S_WAIT_HEADER) return STEK_ESTATE;
  /* init_pull only fails for a bad key, which a split key never is. */
  int rc = crypto_secretstream_xchacha20poly1305_init_pull((ss_state *)st->pull, header,
                                                           st->key_recv);
  sodium_memzero(st->key_recv, sizeof st->key_recv);
  st->recv_state = rc == 0 ? S_OPEN : S_FAILED;
  return rc == 0 ? 0 : STEK_ERROR;
}

int stream_seal(stream *st, const uint8_t *plaintext, size_t len, uint8_t *out,
                size_t cap, size_t *outlen, int final) {
  unsigned long long clen;
  if (st->send_state != S_OPEN) return STEK_ESTATE;
  if (cap < STREAM_OVERHEAD || cap - STREAM_OVERHEAD < len || (len && !plaintext))
    return STEK_EINVAL;
  unsigned char tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                            : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  if (crypto_secretstream_xchacha20poly1305_push((ss_state *)st->push, out, &clen,
                                                 plaintext, len, NULL, 0, tag) != 0) {
    sodium_memzero(st->push, sizeof st->push);
    st->send_state = S_FAILED;
    return STEK_ERROR;
  }
  *outlen = (size_t)clen;
  if (final) {
    /* Nothing more may be sent: the key has done its work. */
    sodium_memzero(st->push, sizeof st->push);
    st->send_state = S_CLOSED;
  }
  return 0;
}

static int recv_fail(stream *st, int rc) {
  sodium_memzero(st->pull, sizeof st->pull);
  st->recv_state = S_FAILED;
  return rc;
}

int stream_open(stream *st, const uint8_t *in, size_t len, uint8_t *out,
                size_t cap, size_t *outlen, int *final) {
  unsigned long long mlen;
  unsigned char tag;
  if (st->recv_state != S_OPEN) return STEK_ESTATE;
  if (len < STREAM_OVERHEAD) return recv_fail(st, STEK_ETRUNCATED);
  if (cap < len - STREAM_OVERHEAD) return STEK_EINVAL;
  /* The stream's nonce is implicit and moves on with each frame, so a
   * frame that is repeated or out of order fails the MAC like an altered
   * one: all of them are STEK_ESIGNATURE. */
  if (crypto_secretstream_xchacha20poly1305_pull((ss_state *)st->pull, out, &mlen, &tag,
                                                 in, len, NULL, 0) != 0)
    return recv_fail(st, STEK_ESIGNATURE);
  if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
      tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    sodium_memzero(out, (size_t)mlen);
    return recv_fail(st, STEK_EMALFORMED);
  }
  *outlen = (size_t)mlen;
  *final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  if (*final) {
    sodium_memzero(st->pull, sizeof st->pull);
    st->recv_state = S_CLOSED;
  }
  return 0;
}
