/*
 * sync/session -- one sync session between two devices of a space, as a
 * state machine: bytes in, bytes out.  No sockets: net/ feeds it from TCP,
 * tests and the simulator feed it from memory (docs/PROTOCOL.md §Session).
 *
 *   handshake   Noise_XXpsk0 keyed by the space capability (crypto/noise)
 *   transport   crypto_secretstream each way (crypto/stream)
 *   messages    HELLO, NEG (Negentropy V1), OPS, WANT, DONE, ERR; SHARE
 *               (invitations); PAIR_COMMIT/NONCE/REVEAL/CONFIRM (pairing)
 *
 * Every change received is ingested (and committed) as it arrives, so a
 * session cut at any byte loses nothing already received, and the next
 * session sends only what is still missing.  Outgoing changes are produced
 * lazily as the output drains, so memory stays bounded whatever the peer
 * asks for.
 *
 * Must never: trust a length before checking it, buffer more than one frame
 * of input, or store anything from a peer that did not complete the
 * handshake.
 */
#ifndef STEK_SYNC_SESSION_H
#define STEK_SYNC_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "codec/mp.h"
#include "stek.h"

#define SESS_RUNNING 0
#define SESS_DONE 1
#define SESS_FAILED 2

/* Frames: a msgpack bin each, at most this many bytes of payload. */
#define SESS_MAX_FRAME ((size_t)(STEK_MAX_CHANGE_BYTES + 64 * 1024))
/* The smallest max_frame a side may advertise in the handshake: the
 * Negentropy minimum (4096) plus 1024 for the message around it. */
#define SESS_MIN_FRAME ((size_t)(4096 + 1024))

typedef struct sess sess;

/* A session on s's current space (initiator) or on whichever held space the
 * initiator's first message proves (responder). */
int sess_new(sess **out, stek *s, int initiator);
/* An initiator session that joins a space by invitation: psk is the
 * invitation's capability (sync/invite.h).  It ends when the responder's
 * space share has been accepted (the space then is s's current one). */
int sess_new_join(sess **out, stek *s, const uint8_t psk[32]);
/* An initiator session that joins a space by pairing (crypto/sas.h): the
 * public pairing PSK, then the commit/reveal of the digits, which confirm
 * is asked about.  It ends as sess_new_join()'s does, or fails with
 * STEK_EREFUSED if either user did not confirm.  A responder enters this
 * mode by itself when a pairing offer is open (stek_pair_offer()) and
 * asks s's config's pair_confirm. */
int sess_new_pair(sess **out, stek *s, stek_pair_confirm_cb confirm, void *ctx);
/* An initiator session with a blind relay: a member (s has a current
 * space) sends and receives its ops sealed; a relay (no current space)
 * carries the sealed ops of the space it relays. */
int sess_new_relay(sess **out, stek *s);
void sess_free(sess *ss);

/* The largest message this side accepts, advertised to the peer in the
 * handshake (default SESS_MAX_FRAME): the session then uses the smaller of
 * both sides' limits, each way.  A device short of memory sets it lower;
 * it then cannot receive a change that does not fit in one message under
 * it.  0, STEK_EINVAL (outside SESS_MIN_FRAME..SESS_MAX_FRAME) or
 * STEK_ESTATE (not before the session's first sess_input()). */
int sess_set_max_frame(sess *ss, size_t max);

/* The messages a session sends (PROTOCOL.md §8, "Messages"), each the
 * plaintext of one secretstream message, appended to w:
 *   NEG   [1, m: bin]
 *   OPS   [2, [wire: bin, ...], last: 0/1]; SEALED (sealed != 0) [7, ...]:
 *         list is the n elements already encoded (len bytes)
 *   WANT  [3, [id: bin(32), ...]]
 *   DONE  [4]
 *   ERR   [5, code: int, message: str] (libstek sends only STEK_EREVOKED,
 *         "revoked", to a revoked device) */
void sess_msg_neg(mp_writer *w, const uint8_t *m, size_t n);
void sess_msg_ops(mp_writer *w, int sealed, uint32_t n, const void *list, size_t len,
                  int last);
void sess_msg_want(mp_writer *w, const uint8_t (*ids)[32], uint32_t n);
void sess_msg_done(mp_writer *w);
void sess_msg_err(mp_writer *w, int code, const char *message);

/* Bytes received from the peer, any split.  0, or a negative code after
 * which the session has failed (its message in stek_errmsg()). */
int sess_input(sess *ss, const uint8_t *in, size_t len);
/* Bytes to send now (*len may be 0); mark n of them sent with
 * sess_consumed().  0 or a negative code (the session failed). */
int sess_output(sess *ss, const uint8_t **out, size_t *len);
void sess_consumed(sess *ss, size_t n);
/* SESS_RUNNING, SESS_DONE (both sides said DONE and all output is out) or
 * SESS_FAILED. */
int sess_state(const sess *ss);
/* The error that failed the session (0 if none). */
int sess_error(const sess *ss);
/* Counters so far. */
void sess_stats(const sess *ss, stek_sync_stats *st);
/* The peer's device id, once authenticated; 0 or STEK_ESTATE. */
int sess_peer(const sess *ss, uint8_t id[STEK_DEVICE_ID_BYTES]);

#endif
