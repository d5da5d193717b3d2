/* sync/invite -- see invite.h. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "sync/invite.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "crypto/crypto.h"
#include "crypto/sas.h"

static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void secret_psk(const uint8_t secret[16], uint8_t psk[32]) {
  uint8_t m[14 + 16];
  memcpy(m, "stek-invite-v1", 14);
  memcpy(m + 14, secret, 16);
  cr_hash(psk, m, sizeof m);
  cr_wipe(m, sizeof m);
}

/* 128 bits -> 26 base32 digits (the last one carries 3 bits). */
static void encode(const uint8_t secret[16], char out[27]) {
  uint32_t acc = 0;
  int bits = 0, n = 0;
  for (int i = 0; i < 16; i++) {
    acc = (acc << 8) | secret[i];
    bits += 8;
    while (bits >= 5) {
      out[n++] = digits[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  out[n++] = digits[(acc << (5 - bits)) & 31];
  out[n] = 0;
}

static int digit_value(char c) {
  if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
  if (c == 'O') c = '0';
  if (c == 'I' || c == 'L') c = '1';
  const char *p = c ? strchr(digits, c) : NULL;
  return p ? (int)(p - digits) : -1;
}

int invite_token_psk(const char *token, uint8_t psk[32]) {
  uint8_t secret[16] = {0};
  uint32_t acc = 0;
  int bits = 0, n = 0, got = 0;
  if (!token || strnlen(token, 80) >= 80) return STEK_EINVAL;
  /* The prefix in any case: "Stek-" must not be read as four digits. */
  int prefix = 1;
  for (int i = 0; i < 5 && prefix; i++)
    prefix = token[i] && (token[i] & ~0x20) == ("STEK-"[i] & ~0x20) &&
             (i < 4 || token[i] == '-');
  if (prefix) token += 5;
  for (const char *p = token; *p; p++) {
    if (*p == '-' || *p == ' ') continue;
    int v = digit_value(*p);
    if (v < 0 || got == 26) return STEK_EINVAL;
    got++;
    acc = (acc << 5) | (uint32_t)v;
    bits += 5;
    if (bits >= 8 && n < 16) {
      secret[n++] = (uint8_t)(acc >> (bits - 8));
      bits -= 8;
    }
  }
  /* 26 digits: 16 bytes and 2 spare bits, which must be zero. */
  if (got != 26 || n != 16 || (acc & ((1u << bits) - 1)) != 0) {
    cr_wipe(secret, sizeof secret);
    return STEK_EINVAL;
  }
  secret_psk(secret, psk);
  cr_wipe(secret, sizeof secret);
  return 0;
}

int stek_invite_create(stek *s, int64_t ttl_ms, char token[STEK_INVITE_BYTES]) {
  uint8_t secret[16], psk[32];
  char plain[27];
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!token || ttl_ms <= 0 || ttl_ms > STEK_INVITE_MAX_TTL_MS)
    return stek__fail(s, STEK_EINVAL, "an invitation lives 1 ms to 30 days");
  cr_random(secret, sizeof secret);
  secret_psk(secret, psk);
  encode(secret, plain);
  cr_wipe(secret, sizeof secret);
  rc = store_invite_add(s->st, s->sp, psk, stek__now_ms(s) + ttl_ms);
  cr_wipe(psk, sizeof psk);
  if (rc) {
    cr_wipe(plain, sizeof plain);
    return stek__store_fail(s, rc);
  }
  /* STEK-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XX */
  char *o = token;
  memcpy(o, "STEK", 4);
  o += 4;
  for (int i = 0; i < 26; i++) {
    if (i % 4 == 0) *o++ = '-';
    *o++ = plain[i];
  }
  *o = 0;
  cr_wipe(plain, sizeof plain);
  return stek__ok(s, 0);
}

/* A pairing offer is an invitation whose capability is public: the Noise
 * PSK authenticates nothing, the digits compared by the users do
 * (sync/session).  Kept in the same table, so that a server on another
 * handle sees it, it expires and is spent the same way. */
int stek_pair_offer(stek *s, int64_t ttl_ms) {
  uint8_t psk[32];
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (ttl_ms <= 0 || ttl_ms > STEK_PAIR_MAX_TTL_MS)
    return stek__fail(s, STEK_EINVAL, "a pairing offer lives 1 ms to an hour");
  sas_pair_psk(psk);
  rc = store_invite_add(s->st, s->sp, psk, stek__now_ms(s) + ttl_ms);
  return rc ? stek__store_fail(s, rc) : stek__ok(s, 0);
}
