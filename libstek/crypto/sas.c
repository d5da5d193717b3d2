/* crypto/sas -- see sas.h. */
#include "crypto/sas.h"

#include <string.h>

#include "crypto/crypto.h"
#include "stek.h"

void sas_pair_psk(uint8_t psk[32]) { cr_hash(psk, (const uint8_t *)"stek-pair/1", 11); }

void sas_commit(uint8_t c[SAS_COMMIT], const uint8_t h[32], const uint8_t nr[SAS_NONCE]) {
  uint8_t m[6 + SAS_NONCE];
  memcpy(m, "commit", 6);
  memcpy(m + 6, nr, SAS_NONCE);
  cr_keyed_hash(c, m, sizeof m, h);
  cr_wipe(m, sizeof m);
}

int sas_check(const uint8_t c[SAS_COMMIT], const uint8_t h[32], const uint8_t nr[SAS_NONCE]) {
  uint8_t want[SAS_COMMIT];
  sas_commit(want, h, nr);
  int ok = cr_equal(want, c, SAS_COMMIT);
  cr_wipe(want, sizeof want);
  return ok ? 0 : STEK_ESIGNATURE;
}

void sas_digits(char out[SAS_DIGITS + 1], const uint8_t h[32], const uint8_t ni[SAS_NONCE],
                const uint8_t nr[SAS_NONCE]) {
  uint8_t m[32 + 2 * SAS_NONCE], d[CR_HASH];
  memcpy(m, h, 32);
  memcpy(m + 32, ni, SAS_NONCE);
  memcpy(m + 32 + SAS_NONCE, nr, SAS_NONCE);
  cr_hash(d, m, sizeof m);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | d[i];
  /* 2^64 mod 10^6 is a bias below 2^-44 per value: negligible. */
  v %= 1000000u;
  for (int i = SAS_DIGITS - 1; i >= 0; i--) {
    out[i] = (char)('0' + v % 10);
    v /= 10;
  }
  out[SAS_DIGITS] = 0;
  cr_wipe(m, sizeof m);
  cr_wipe(d, sizeof d);
}
