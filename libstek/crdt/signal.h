/*
 * crdt/signal -- the anonymous signal: encoding, decoding and checking.
 *
 * A signal must not say who wrote it (DESIGN §4): it carries no author, no
 * device key, no device signature and no HLC, only the ISO week.  It is
 * authenticated as "written by a member of this space" by a MAC keyed with
 * a key derived from the space secret.  Wire form (docs/PROTOCOL.md §4a):
 *
 *   signal = [2, body: bin, mac: bin(32)]
 *   body   = [2, space: bin(16), sid: bin(16), week: str, op]
 *   op     = [0, theme: str, site: str, text: str, receipt_hash: bin(32)]
 *          | [1, target: bin(16), t: bin(32)]
 *   id     = BLAKE2b-256(body);  mac = HMAC-SHA-512-256(K_signal, body)
 *   t            = BLAKE2b-256("stek-receipt-t:" || normalised code)
 *   receipt_hash = BLAKE2b-256(key = K_receipt, t)
 *
 * sid is random, so two signals from two devices differ only in content.
 * The receipt code itself is never stored or sent: a withdrawal carries t,
 * and a replica checks it against the signal's receipt_hash.
 * Pure: no I/O, no allocation.
 */
#ifndef STEK_CRDT_SIGNAL_H
#define STEK_CRDT_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

#include "codec/mp.h"
#include "stek.h"

#define SIGNAL_FORMAT 2 /* first element of the wire array */
/* Body version 1 carried the plain receipt code in a withdrawal; it is
 * refused (STEK_EVERSION). */
#define SIGNAL_BODY_VERSION 2
#define SIGNAL_TOKEN_BYTES 32 /* t, the hash of a receipt code */
#define SIGNAL_MAX_TEXT 4096
#define SIGNAL_MAX_SITE 128
#define SIGNAL_RECEIPT_CHARS 14 /* "XXXX-XXXX-XXXX" */
#define SIGNAL_RECEIPT_DIGITS 12
#define SIGNAL_MAC_BYTES 32
#define SIGNAL_WEEK_LEN 8 /* "2026-W05" */

enum { SIGNAL_RECORD = 0, SIGNAL_WITHDRAW = 1 };

typedef struct signal_msg {
  const uint8_t *body;
  size_t body_len;
  const uint8_t *mac;
  const uint8_t *space; /* 16 */
  const uint8_t *sid;   /* 16 */
  char week[SIGNAL_WEEK_LEN + 1];
  int kind;
  /* SIGNAL_RECORD */
  const char *theme, *site, *text;
  uint32_t theme_len, site_len, text_len;
  const uint8_t *receipt_hash; /* 32 */
  /* SIGNAL_WITHDRAW */
  const uint8_t *target; /* 16 */
  const uint8_t *token;  /* t: SIGNAL_TOKEN_BYTES */
  uint8_t id[STEK_HASH_BYTES];
  /* After a failed decode: which limit or rule was broken (static text,
   * never the content), or NULL. */
  const char *why;
} signal_msg;

/* The first element of a wire array: 1 for a change, 2 for a signal, or a
 * negative code if buf does not start like either. */
int wire_format(const uint8_t *buf, size_t len);

/* Decode and check form; pointers into buf.  Does not check the MAC. */
int signal_decode(const uint8_t *buf, size_t len, signal_msg *m);
/* 0 if the MAC verifies under the space key, else STEK_ESIGNATURE. */
int signal_verify(const signal_msg *m, const uint8_t space_key[32]);

/* Encode a signal (kind SIGNAL_RECORD: a..d are theme, site, text and the
 * 32-byte receipt hash; SIGNAL_WITHDRAW: a is the 16-byte target, d the
 * token t) with a fresh random sid.  out is initialised by the call. */
int signal_encode(mp_writer *out, const uint8_t space[16],
                  const uint8_t space_key[32], const char week[9], int kind,
                  const void *a, const char *b, const char *c,
                  const uint8_t *d, uint8_t id[STEK_HASH_BYTES]);

/* Receipts.  A code is 12 Crockford base32 digits; normalising drops '-'
 * and ' ', upper-cases, reads O as 0 and I, L as 1: 0, or STEK_EINVAL if
 * what is left is not 12 such digits. */
int signal_receipt_normalise(const char *in, char out[SIGNAL_RECEIPT_DIGITS + 1]);
/* t of a normalised code: what a withdrawal carries instead of the code. */
void signal_receipt_token(uint8_t t[SIGNAL_TOKEN_BYTES],
                          const char code[SIGNAL_RECEIPT_DIGITS + 1]);
/* The receipt hash a signal carries: t keyed with the space's receipt key,
 * so that only members can test a guess. */
void signal_receipt_hash(uint8_t out[32], const uint8_t t[SIGNAL_TOKEN_BYTES],
                         const uint8_t space_key[32]);
/* 1 if receipt hash rh and candidate c are equal; constant time, so that a
 * replica checking withdrawals says nothing by its timing of how much of a
 * forged one matched. */
int signal_receipt_equal(const uint8_t rh[32], const uint8_t c[32]);

/* The week "YYYY-Www" is well formed (weeks 01..53). */
int signal_week_valid(const char *w, size_t len);
/* ISO week of a civil date (proleptic Gregorian), and the UTC ms of the
 * Monday 00:00 that starts a week string. */
void iso_week_of(int y, int m, int d, char out[9]);
int iso_week_start_ms(const char *week, int64_t *ms);

/* Theme vocabulary (DESIGN §1, issue "Records"). */
int signal_theme_valid(const char *t, size_t len);

#endif
