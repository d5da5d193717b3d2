/*
 * sync/relay -- blind relaying: carrying a space's ops without its keys.
 *
 * A member can make any device a relay for its space by sealing it a relay
 * capability (stek_relay_share): K_relay = kdf(space_key, 11, "stek-rly").
 * From it come only
 *   tag  = BLAKE2b-128(key = K_relay, "tag")   which space, opaquely
 *   psk  = BLAKE2b-256(key = K_relay, "psk")   the handshake capability
 * while ops travel sealed under K_ops = kdf(space_key, 12, "stek-ops"),
 * which K_relay does not give: XChaCha20-Poly1305 with nonce = the first 24
 * bytes of the op id and the op's (id, timestamp) as associated data.  A
 * relay so stores (tag, id, timestamp, sealed) -- exactly what Negentropy
 * needs -- and learns nothing of the content.  Must never: let a relay
 * derive K_ops or the space key, or let a member ingest a sealed op whose
 * content does not hash to the id it came under.
 */
#ifndef STEK_SYNC_RELAY_H
#define STEK_SYNC_RELAY_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_TAG 16

/* Relay keys of a space (member side). */
void relay_from_space(const uint8_t space_key[32], uint8_t k_relay[32]);
void relay_tag(const uint8_t k_relay[32], uint8_t tag[RELAY_TAG]);
void relay_psk(const uint8_t k_relay[32], uint8_t psk[32]);
void relay_ops_key(const uint8_t space_key[32], uint8_t k_ops[32]);

/* Seal a wire (a change or signal, id and ts its own): out gets len + 16
 * bytes.  Open checks the tag and that the content's id is id: 0,
 * STEK_ESIGNATURE or STEK_EMALFORMED. */
void relay_seal(uint8_t *out, const uint8_t *wire, size_t len, const uint8_t id[32],
                uint64_t ts, const uint8_t k_ops[32]);
int relay_open(uint8_t *out, const uint8_t *sealed, size_t len, const uint8_t id[32],
               uint64_t ts, const uint8_t k_ops[32]);

/* The id and timestamp of a wire (change: its HLC; signal: its week start
 * << 16), or a negative code. */
int wire_id_ts(const uint8_t *wire, size_t len, uint8_t id[32], uint64_t *ts);

#endif
