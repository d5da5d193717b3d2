/*
 * sync/beacon -- the LAN discovery beacon: bytes a device broadcasts so that
 * members of its spaces find it, and that tell anyone else nothing
 * (docs/PROTOCOL.md, "Discovery beacon").
 *
 *   beacon   = [1, salt: bin(16), tag: bin(16), port: uint (<= 65535)]
 *   K_beacon = crypto_kdf_derive_from_key(32, 4, "stek-bcn", space_key)
 *   window   = floor(unix_ms / 600000)                 (10-minute windows)
 *   tag      = BLAKE2b-128(key = K_beacon,
 *                "beacon" || u64be(window) || salt || u16be(port))
 *
 * The salt is fresh for every beacon, so two beacons of one device share no
 * byte an outsider could link, within a window or across windows.  A
 * listener accepts the window before and after its own (clock skew).
 *
 * Pure functions of bytes in, bytes out: no sockets (net/discovery sends
 * and receives them), no store.  Must never: trust or allocate by the
 * input, compare a tag other than in constant time, or abort on input.
 */
#ifndef STEK_SYNC_BEACON_H
#define STEK_SYNC_BEACON_H

#include <stddef.h>
#include <stdint.h>

#define BEACON_FORMAT 1
#define BEACON_SALT 16
#define BEACON_TAG 16
#define BEACON_WINDOW_MS 600000
/* The longest encoding: 1 + 1 + 18 + 18 + 3 (a uint16 port). */
#define BEACON_MAX_BYTES 41
#define BEACON_KEY 32 /* a space key, and K_beacon */

/* The window of a time (floor division); STEK_EINVAL before the epoch. */
int beacon_window(int64_t unix_ms, uint64_t *window);

/* K_beacon of a space key. */
void beacon_key(uint8_t kb[BEACON_KEY], const uint8_t space_key[BEACON_KEY]);

/* The tag of (window, salt, port) under K_beacon. */
void beacon_tag(uint8_t tag[BEACON_TAG], const uint8_t kb[BEACON_KEY],
                uint64_t window, const uint8_t salt[BEACON_SALT], uint16_t port);

/* Encode a beacon for the space with this key at time now_ms, carrying the
 * port where the sender serves sync, with the given salt (tests, vectors)
 * or a fresh random one (salt NULL).  out gets *len <= BEACON_MAX_BYTES
 * bytes.  0, or STEK_EINVAL for a time before the epoch. */
int beacon_encode(uint8_t out[BEACON_MAX_BYTES], size_t *len,
                  const uint8_t space_key[BEACON_KEY], int64_t now_ms,
                  uint16_t port, const uint8_t *salt);

/* Decode only: the salt, tag and port of a beacon.  0; STEK_ETRUNCATED
 * if it ends early; STEK_EVERSION for another format; STEK_EMALFORMED for
 * anything else that is not a canonical beacon. */
int beacon_decode(const uint8_t *b, size_t len, uint8_t salt[BEACON_SALT],
                  uint8_t tag[BEACON_TAG], uint16_t *port);

/* Which of n spaces (keys[i] the i-th space key) sent the beacon b, if its
 * tag is right for the window of now_ms or the one before or after: the
 * index (>= 0), with the beacon's port in *port (may be NULL).
 * STEK_ENOTFOUND if none did; a decode error as beacon_decode().  Every
 * candidate is computed and compared in constant time, whatever matches. */
int beacon_match(const uint8_t *b, size_t len, const uint8_t (*keys)[BEACON_KEY],
                 size_t n, int64_t now_ms, uint16_t *port);

#endif
