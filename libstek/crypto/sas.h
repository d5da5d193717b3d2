/*
 * crypto/sas -- the numeric comparison of pairing by short authentication
 * string (docs/SECURITY.md §Pairing): the commit/reveal of Bluetooth
 * Secure Simple Pairing's numeric comparison, as analysed by Vaudenay
 * (SAS-MCA), run inside a Noise handshake keyed by a public PSK.
 *
 *   C   = BLAKE2b-256(key = h, "commit" || Nr)
 *   SAS = BE64(BLAKE2b-256(h || Ni || Nr)[0..8]) mod 10^6, six digits
 *
 * h is the Noise handshake hash (it binds both static and ephemeral keys),
 * Ni and Nr 32 random bytes of the initiator and the responder.  The
 * responder commits to Nr before it sees Ni, so a man in the middle cannot
 * choose keys or nonces to make the digits match: one try in 10^6.
 *
 * Must never: compare a commitment with memcmp, or derive anything else
 * from these nonces.
 */
#ifndef STEK_CRYPTO_SAS_H
#define STEK_CRYPTO_SAS_H

#include <stdint.h>

#define SAS_NONCE 32
#define SAS_COMMIT 32
#define SAS_DIGITS 6

/* The public PSK of a pairing handshake: BLAKE2b-256("stek-pair/1"). */
void sas_pair_psk(uint8_t psk[32]);
/* C from h and Nr. */
void sas_commit(uint8_t c[SAS_COMMIT], const uint8_t h[32], const uint8_t nr[SAS_NONCE]);
/* 0 if c commits to nr under h (constant time), else STEK_ESIGNATURE. */
int sas_check(const uint8_t c[SAS_COMMIT], const uint8_t h[32], const uint8_t nr[SAS_NONCE]);
/* The six digits and a NUL. */
void sas_digits(char out[SAS_DIGITS + 1], const uint8_t h[32], const uint8_t ni[SAS_NONCE],
                const uint8_t nr[SAS_NONCE]);

#endif
