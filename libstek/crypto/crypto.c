/* crypto/crypto -- see crypto.h. */
#include "crypto/crypto.h"

#include <sodium.h>
#include <string.h>

#include "stek.h"

_Static_assert(sizeof(cr_hasher) >= sizeof(crypto_generichash_state),
               "cr_hasher too small");
_Static_assert(crypto_sign_PUBLICKEYBYTES == CR_SIGN_PK, "pk size");
_Static_assert(crypto_sign_SECRETKEYBYTES == CR_SIGN_SK, "sk size");
_Static_assert(crypto_sign_BYTES == CR_SIG, "sig size");
_Static_assert(crypto_box_SEALBYTES == CR_SEAL_OVERHEAD, "seal size");

int cr_setup(void) { return sodium_init() < 0 ? STEK_ERROR : 0; }

void cr_random(void *buf, size_t len) { randombytes_buf(buf, len); }

void cr_sign_keygen(uint8_t pk[CR_SIGN_PK], uint8_t sk[CR_SIGN_SK]) {
  crypto_sign_keypair(pk, sk);
}

void cr_sign_msg(uint8_t sig[CR_SIG], const uint8_t *m, size_t len,
                     const uint8_t sk[CR_SIGN_SK]) {
  crypto_sign_detached(sig, NULL, m, len, sk);
}

int cr_verify_msg(const uint8_t sig[CR_SIG], const uint8_t *m, size_t len,
                      const uint8_t pk[CR_SIGN_PK]) {
  return crypto_sign_verify_detached(sig, m, len, pk) == 0 ? 0 : STEK_ESIGNATURE;
}

void cr_hash(uint8_t out[CR_HASH], const uint8_t *m, size_t len) {
  crypto_generichash(out, CR_HASH, m, len, NULL, 0);
}

void cr_hash_init(cr_hasher *h) {
  crypto_generichash_init((crypto_generichash_state *)h->st, NULL, 0, CR_HASH);
}

void cr_hash_update(cr_hasher *h, const uint8_t *m, size_t len) {
  crypto_generichash_update((crypto_generichash_state *)h->st, m, len);
}

void cr_hash_final(cr_hasher *h, uint8_t out[CR_HASH]) {
  crypto_generichash_final((crypto_generichash_state *)h->st, out, CR_HASH);
}

int cr_seal_to_device(uint8_t *out, const uint8_t *m, size_t len,
                          const uint8_t pk[CR_SIGN_PK]) {
  uint8_t xpk[crypto_box_PUBLICKEYBYTES];
  if (crypto_sign_ed25519_pk_to_curve25519(xpk, pk) != 0) return STEK_EINVAL;
  return crypto_box_seal(out, m, len, xpk) == 0 ? 0 : STEK_ERROR;
}

int cr_open_as_device(uint8_t *out, const uint8_t *c, size_t len,
                          const uint8_t pk[CR_SIGN_PK],
                          const uint8_t sk[CR_SIGN_SK]) {
  uint8_t xpk[crypto_box_PUBLICKEYBYTES], xsk[crypto_box_SECRETKEYBYTES];
  if (len < CR_SEAL_OVERHEAD) return STEK_ETRUNCATED;
  if (crypto_sign_ed25519_pk_to_curve25519(xpk, pk) != 0 ||
      crypto_sign_ed25519_sk_to_curve25519(xsk, sk) != 0) {
    sodium_memzero(xsk, sizeof xsk);
    return STEK_ERROR;
  }
  int rc = crypto_box_seal_open(out, c, len, xpk, xsk);
  sodium_memzero(xsk, sizeof xsk);
  return rc == 0 ? 0 : STEK_EMALFORMED;
}

void cr_kdf(uint8_t sub[32], uint64_t id, const char ctx[8], const uint8_t key[32]) {
  crypto_kdf_derive_from_key(sub, 32, id, ctx, key);
}

_Static_assert(crypto_auth_BYTES == CR_MAC, "mac size");
_Static_assert(crypto_auth_KEYBYTES == 32, "mac key size");

void cr_mac(uint8_t mac[CR_MAC], const uint8_t *m, size_t len, const uint8_t key[32]) {
  crypto_auth(mac, m, len, key);
}

int cr_mac_verify(const uint8_t mac[CR_MAC], const uint8_t *m, size_t len,
                  const uint8_t key[32]) {
  return crypto_auth_verify(mac, m, len, key) == 0 ? 0 : STEK_ESIGNATURE;
}

void cr_keyed_hash(uint8_t out[CR_HASH], const uint8_t *m, size_t len,
                   const uint8_t key[32]) {
  crypto_generichash(out, CR_HASH, m, len, key, 32);
}

void cr_keyed_hash128(uint8_t out[CR_TAG128], const uint8_t *m, size_t len,
                      const uint8_t key[32]) {
  crypto_generichash(out, CR_TAG128, m, len, key, 32);
}

int cr_equal(const void *a, const void *b, size_t n) {
  return sodium_memcmp(a, b, n) == 0;
}

uint32_t cr_uniform(uint32_t bound) { return randombytes_uniform(bound); }

_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == CR_AEAD_TAG, "aead tag");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == CR_AEAD_NONCE, "aead nonce");

void cr_aead_seal(uint8_t *out, const uint8_t *m, size_t len, const uint8_t *ad,
                  size_t adlen, const uint8_t nonce[CR_AEAD_NONCE], const uint8_t key[32]) {
  crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, m, len, ad, adlen, NULL, nonce, key);
}

int cr_aead_open(uint8_t *out, const uint8_t *c, size_t len, const uint8_t *ad,
                 size_t adlen, const uint8_t nonce[CR_AEAD_NONCE], const uint8_t key[32]) {
  if (len < CR_AEAD_TAG) return STEK_ETRUNCATED;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, c, len, ad, adlen,
                                                    nonce, key) == 0
             ? 0
             : STEK_ESIGNATURE;
}

_Static_assert(crypto_pwhash_argon2id_SALTBYTES == CR_PWHASH_SALT, "pwhash salt");
_Static_assert(STEK_PWHASH_OPSLIMIT_MIN == crypto_pwhash_argon2id_OPSLIMIT_MIN, "ops min");
_Static_assert(STEK_PWHASH_MEMLIMIT_MIN == crypto_pwhash_argon2id_MEMLIMIT_MIN, "mem min");
_Static_assert(STEK_PWHASH_OPSLIMIT_DEFAULT == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
               "ops default");
_Static_assert(STEK_PWHASH_MEMLIMIT_DEFAULT == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
               "mem default");

int cr_pwhash(uint8_t *out, size_t outlen, const char *pass, size_t passlen,
              const uint8_t salt[CR_PWHASH_SALT], uint64_t opslimit, size_t memlimit) {
  if (opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX ||
      passlen > crypto_pwhash_argon2id_PASSWD_MAX || outlen < crypto_pwhash_argon2id_BYTES_MIN)
    return STEK_EINVAL;
  /* Fails only when the memory cannot be had (the limits are checked). */
  return crypto_pwhash(out, outlen, pass, passlen, salt, opslimit, memlimit,
                       crypto_pwhash_ALG_ARGON2ID13) == 0
             ? 0
             : STEK_ENOMEM;
}

void *cr_secret_alloc(size_t len) { return sodium_malloc(len); }
void cr_secret_free(void *p) { sodium_free(p); }
void cr_wipe(void *p, size_t len) { sodium_memzero(p, len); }

_Static_assert(crypto_hash_sha256_BYTES == CR_SHA256, "sha256 size");

void cr_sha256(uint8_t out[CR_SHA256], const uint8_t *m, size_t len) {
  crypto_hash_sha256(out, m, len);
}

void cr_sign_seed_keygen(uint8_t pk[CR_SIGN_PK], uint8_t sk[CR_SIGN_SK],
                         const uint8_t seed[32]) {
  crypto_sign_seed_keypair(pk, sk, seed);
}

_Static_assert(crypto_scalarmult_curve25519_BYTES == CR_X25519, "x25519 size");

int cr_x25519_from_sign_pk(uint8_t x[CR_X25519], const uint8_t pk[CR_SIGN_PK]) {
  return crypto_sign_ed25519_pk_to_curve25519(x, pk) == 0 ? 0 : STEK_EINVAL;
}

int cr_x25519_from_sign_sk(uint8_t x[CR_X25519], const uint8_t sk[CR_SIGN_SK]) {
  return crypto_sign_ed25519_sk_to_curve25519(x, sk) == 0 ? 0 : STEK_EINVAL;
}

int cr_x25519_is_sign_pk(const uint8_t x[CR_X25519], const uint8_t pk[CR_SIGN_PK]) {
  uint8_t conv[CR_X25519];
  if (crypto_sign_ed25519_pk_to_curve25519(conv, pk) != 0) return 0;
  return sodium_memcmp(conv, x, CR_X25519) == 0;
}
