/*
 * sync/negentropy -- range-based set reconciliation, Negentropy protocol V1.
 *
 * Two peers each hold a sorted set of items (timestamp, 32-byte id); the
 * client learns which ids it has that the server lacks ("have") and which
 * the server has that it lacks ("need"), in a number of round trips and
 * bytes that grow with the size of the difference, not of the sets.  The
 * messages are byte for byte those of the reference implementation
 * (github.com/hoytech/negentropy, docs/negentropy-protocol-v1.md): version
 * byte 0x61, then ranges of (bound, mode, payload) with varint-coded,
 * delta-coded bounds; modes Skip, Fingerprint (16 bytes: SHA-256 of the sum
 * of the ids mod 2^256 and the varint count) and IdList.  Vectors checked
 * against the reference live in tests/vectors/negentropy/.
 *
 * A pure state machine: bytes in, bytes out.  The caller moves the messages
 * (TCP, a bundle, a simulator) and supplies the items; this module keeps a
 * pointer to them and allocates only the messages it returns and, on the
 * client, scratch space bounded by the size of the message received.
 *
 * Must never: trust a count or length from the peer before checking it
 * against the bytes actually received, allocate in proportion to what the
 * peer claims, or abort on malformed input (it gets STEK_EMALFORMED).
 */
#ifndef STEK_SYNC_NEGENTROPY_H
#define STEK_SYNC_NEGENTROPY_H

#include <stddef.h>
#include <stdint.h>

#define NEG_PROTOCOL_V1 0x61
#define NEG_ID_BYTES 32
#define NEG_FINGERPRINT_BYTES 16
/* The reference refuses smaller frame size limits (0 means no limit). */
#define NEG_MIN_FRAME_SIZE_LIMIT 4096
/* Largest message accepted from a peer: STEK_ETOOBIG beyond it.  A server
 * without a frame size limit answers an empty client with every id it has,
 * so this allows a million ids; peers on a network should set a limit. */
#define NEG_MAX_MESSAGE ((size_t)48 << 20)

/* One element of a set.  The timestamp UINT64_MAX is reserved (it encodes
 * "infinity" on the wire). */
typedef struct neg_item {
  uint64_t timestamp;
  uint8_t id[NEG_ID_BYTES];
} neg_item;

/* One side of a reconciliation.  The caller owns it and the items, which
 * must stay unchanged while it is in use.  No thread may share a neg. */
typedef struct neg {
  const neg_item *items;
  size_t count;
  size_t frame_size_limit;
  int initiator; /* set by neg_initiate(): this side is the client */
} neg;

/* Told one id; ctx is the caller's.  Return 0 to go on, or a negative
 * STEK_E* code to stop the reconciliation with that code.  The id is only
 * valid during the call. */
typedef int (*neg_id_fn)(void *ctx, const uint8_t id[NEG_ID_BYTES]);

/* Prepare n over count items sorted ascending by timestamp, then by id
 * (bytewise), without duplicates.  frame_size_limit is 0 (no limit) or at
 * least NEG_MIN_FRAME_SIZE_LIMIT: every message this side sends then fits
 * in it, and the protocol takes more rounds instead.  0, or STEK_EINVAL for
 * unsorted or duplicate items, a reserved timestamp, or a bad limit. */
int neg_init(neg *n, const neg_item *items, size_t count,
             size_t frame_size_limit);

/* Client: the first message, in *msg (free with neg_msg_free()).  0,
 * STEK_ESTATE if n already initiated, or STEK_ENOMEM. */
int neg_initiate(neg *n, uint8_t **msg, size_t *len);

/* Client: a first message that sends the newest `recent` items as an id
 * list (from the bound below them to infinity) and the older ones as
 * neg_initiate() would send all of them (16 fingerprinted buckets, or one id
 * list if few).  Still a Negentropy V1 message that any server answers; it
 * costs recent * 32 bytes more each way, and settles in one round trip a
 * difference made only of items newer than the client's newest `recent`
 * (the usual case: edits since the last sync).  With recent == 0, or fewer
 * than recent + 32 items, the same as neg_initiate().  Same codes. */
int neg_initiate_recent(neg *n, size_t recent, uint8_t **msg, size_t *len);

/* Server: the reply to a client message, always at least one byte.  A
 * message of another 0x6X protocol version gets the one-byte reply
 * NEG_PROTOCOL_V1, as the reference does, so the client can downgrade.
 * 0, STEK_EMALFORMED (nothing is returned), STEK_ETOOBIG (len above
 * NEG_MAX_MESSAGE), STEK_ESTATE (n is a client) or STEK_ENOMEM. */
int neg_reconcile_server(neg *n, const uint8_t *in, size_t len,
                         uint8_t **out, size_t *outlen);

/* Client: take a server reply, report ids through have (ours, not the
 * server's) and need (the server's, not ours), either of which may be NULL,
 * and produce the next message.  *out == NULL and *outlen == 0 mean the
 * reconciliation is complete.  The message is checked whole before any
 * callback runs; a callback's error or STEK_ENOMEM can still stop it after
 * some ids were reported.  0, STEK_EMALFORMED, STEK_EVERSION (the server
 * speaks another version), STEK_ETOOBIG, STEK_ESTATE (not initiated),
 * STEK_ENOMEM, or a callback's code. */
int neg_reconcile_client(neg *n, const uint8_t *in, size_t len,
                         uint8_t **out, size_t *outlen, neg_id_fn have,
                         neg_id_fn need, void *ctx);

/* Free a message returned by this module (NULL is fine). */
void neg_msg_free(uint8_t *msg);

#endif
