/*
 * sync/invite -- invitation tokens: a one-time, expiring capability to join
 * a space through a serving member.
 *
 * A token is 128 random bits written as 26 Crockford base32 digits in
 * groups of four ("STEK-XXXX-XXXX-...-XX"): short enough to type, and
 * upper-case letters, digits and '-' only, so it fits a QR code's compact
 * alphanumeric mode.  The member keeps only the capability derived from it
 * (psk = BLAKE2b-256("stek-invite-v1" || secret)) with an expiry; the
 * joiner proves it in the session handshake and receives the space sealed
 * to its device key.  Must never: accept a token twice or after expiry.
 *
 * Pairing offers (stek_pair_offer()) live here too: an invitation whose
 * capability is the public pairing PSK (crypto/sas.h), one at a time.
 */
#ifndef STEK_SYNC_INVITE_H
#define STEK_SYNC_INVITE_H

#include <stdint.h>

/* Parse a token into its capability: 0 or STEK_EINVAL. */
int invite_token_psk(const char *token, uint8_t psk[32]);

#endif
