/*
 * crypto/noise -- the session handshake: Noise_XXpsk0_25519_ChaChaPoly_SHA256.
 *
 * Two devices of one space authenticate each other and agree on transport
 * keys, following the Noise Protocol Framework (revision 34, noiseprotocol.
 * org) with libsodium's X25519, ChaCha20-Poly1305 (IETF) and SHA-256 /
 * HMAC-SHA-256.  The pre-shared key is the space's capability key; the
 * prologue "stek/1" binds the protocol version.  Three messages:
 *
 *     -> psk, e                      (initiator)
 *     <- e, ee, s, es                (responder; payload: its device id)
 *     -> s, se                       (initiator; payload: its device id)
 *
 * Why psk0 and not psk3: with psk3 the first two messages do not depend on
 * the space key, so any stranger who connects gets a message 2 and with it
 * the responder's static key (a stable identifier of the device, linkable to
 * its device id), and a stranger who answers a connection gets the
 * initiator's static key in message 3 before the space key is ever checked.
 * psk0 mixes the space key in before the first message: a stranger cannot
 * write a message 1 the responder accepts (it fails there, before any DH or
 * reply), and cannot read anything a member sends, so it learns neither
 * which space nor which device is present.  What psk0 costs: message 1's
 * payload is protected by the space key alone (no forward secrecy) and can
 * be replayed, so it should stay empty (stek sends nothing there); a
 * replayed message 1 gets a message 2 the replayer cannot decrypt, but that
 * reply shows the responder belongs to the recorded initiator's space -- a
 * caller that must hide even that can refuse ephemeral keys it has already
 * seen.
 *
 * Each side's static key is its Ed25519 device key converted to X25519
 * (cr_x25519_from_sign_*).  Messages 2 and 3 carry the sender's device id
 * (its Ed25519 public key) before the caller's payload; the reader checks
 * that it converts to the static key the peer proved it holds, so after the
 * handshake noise_peer() names a device that really took part.  Whether that
 * device is a member is the caller's decision.
 *
 * A pure state machine: bytes in, bytes out; no allocation, no I/O.  The
 * caller owns the noise_hs and frames the messages.
 *
 * Must never: trust a peer's static key, device id or payload before its
 * MAC verified, accept a message larger than NOISE_MAX_MESSAGE, go on after
 * any failure (the handshake is dead; the caller drops the connection), or
 * abort on bad input.
 */
#ifndef STEK_CRYPTO_NOISE_H
#define STEK_CRYPTO_NOISE_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_PROTOCOL "Noise_XXpsk0_25519_ChaChaPoly_SHA256"
#define NOISE_PROLOGUE "stek/1"
#define NOISE_KEY 32
#define NOISE_HASH 32
#define NOISE_ID 32 /* an Ed25519 device id */
#define NOISE_TAG 16
/* The caller's payload in one message, at most. */
#define NOISE_MAX_PAYLOAD 1024
/* The largest handshake message (message 2 with the largest payload). */
#define NOISE_MAX_MESSAGE (2 * 32 + NOISE_ID + NOISE_MAX_PAYLOAD + 2 * NOISE_TAG)

/* What a handshake expects next (noise_next()). */
#define NOISE_WRITE 1  /* call noise_write_message() */
#define NOISE_READ 2   /* call noise_read_message() */
#define NOISE_DONE 3   /* call noise_split() */
#define NOISE_SPLIT 4  /* keys taken; only noise_peer() is left */
#define NOISE_FAILED 5 /* a call failed; drop the connection */

/* One side of one handshake.  The caller owns it; the fields are private.
 * Not shared between threads. */
typedef struct noise_hs {
  int state, initiator, step, with_id, peer_known, has_k, fixed_e;
  unsigned psk_mask;
  uint64_t n;
  uint8_t ck[NOISE_HASH], h[NOISE_HASH], k[NOISE_KEY];
  uint8_t s_sk[32], s_pk[32], e_sk[32], e_pk[32], re[32], rs[32];
  uint8_t psk[4][NOISE_KEY];
  uint8_t id[NOISE_ID], peer_id[NOISE_ID];
} noise_hs;

/* Start a handshake.  psk is the space's capability key; static_sk/pk the
 * device's X25519 key pair (converted from its Ed25519 key pair), device_id
 * its Ed25519 public key.  0, or STEK_EINVAL if static_pk is not the public
 * key of static_sk or not the conversion of device_id. */
int noise_init(noise_hs *hs, int initiator, const uint8_t psk[NOISE_KEY],
               const uint8_t static_sk[32], const uint8_t static_pk[32],
               const uint8_t device_id[NOISE_ID]);

/* Everything noise_init() fixes, for tests and published vectors only:
 * another prologue, other psk positions (bit i of psk_mask puts a psk
 * token at position i, one key per set bit in psks, in order), a fixed
 * ephemeral key, or (device_id NULL) bare payloads with no device id. */
typedef struct noise_params {
  int initiator;
  const uint8_t *prologue;
  size_t prologue_len;
  unsigned psk_mask;
  const uint8_t (*psks)[NOISE_KEY];
  const uint8_t *static_sk, *static_pk;
  const uint8_t *ephemeral_sk; /* NULL: a fresh random key */
  const uint8_t *device_id;    /* NULL: no device id in the payloads */
} noise_params;
int noise_init_params(noise_hs *hs, const noise_params *p);

/* What hs expects next: NOISE_WRITE, NOISE_READ, NOISE_DONE, NOISE_SPLIT or
 * NOISE_FAILED. */
int noise_next(const noise_hs *hs);

/* Size of the next message with a payload of len bytes (written or read),
 * or 0 if no message is next. */
size_t noise_message_size(const noise_hs *hs, size_t len);

/* Write the next message with payload (len bytes, at most
 * NOISE_MAX_PAYLOAD) into out (cap bytes); *outlen gets its size.  0, or
 * STEK_ESTATE (not this side's turn, or failed), STEK_ETOOBIG (payload too
 * large), STEK_EINVAL (cap below noise_message_size(); nothing changes), or
 * STEK_EMALFORMED (the peer's ephemeral key is a small-order point). */
int noise_write_message(noise_hs *hs, const uint8_t *payload, size_t len,
                        uint8_t *out, size_t cap, size_t *outlen);

/* Read the peer's next message (len bytes); its payload (without the device
 * id) goes to payload_out (cap bytes), its size to *payload_len.  0, or
 * STEK_ESIGNATURE (a MAC failed: a stranger without the space key, a
 * tampered message, or a device id that does not match the static key),
 * STEK_ETRUNCATED / STEK_ETOOBIG (too short / too long), STEK_EMALFORMED (a
 * small-order key), STEK_ESTATE (not this side's turn, or failed), or
 * STEK_EINVAL (cap too small for the payload; nothing changes).  Every
 * error but the last two makes the handshake fail for good. */
int noise_read_message(noise_hs *hs, const uint8_t *in, size_t len,
                       uint8_t *payload_out, size_t cap, size_t *payload_len);

/* After the third message: the transport keys (key_send for what this side
 * sends) and the handshake hash, which both sides share and may use for
 * channel binding.  Every other secret in hs is wiped.  0 or STEK_ESTATE. */
int noise_split(noise_hs *hs, uint8_t key_send[NOISE_KEY],
                uint8_t key_recv[NOISE_KEY], uint8_t handshake_hash[NOISE_HASH]);

/* The peer's device id, once its message carrying it was read and checked
 * (initiator: after message 2; responder: after message 3).  0 or
 * STEK_ESTATE. */
int noise_peer(const noise_hs *hs, uint8_t device_id[NOISE_ID]);

/* Wipe every secret in hs; call it when done, whatever happened. */
void noise_wipe(noise_hs *hs);

#endif
