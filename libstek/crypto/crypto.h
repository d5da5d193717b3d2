/*
 * crypto/crypto -- thin, named wrappers over libsodium.
 *
 * Nothing outside crypto/ calls libsodium directly, so every construction
 * the library relies on is listed here (and in docs/SECURITY.md):
 *   - device signatures: Ed25519 (crypto_sign_detached)
 *   - ids and hashes: BLAKE2b-256 (crypto_generichash)
 *   - sealing a space's keys to a device: crypto_box_seal to the X25519 key
 *     converted from the device's Ed25519 key (crypto_sign_ed25519_pk_to_
 *     curve25519), as libsodium documents for reusing one identity key.
 *   - Negentropy fingerprints: SHA-256 (crypto_hash_sha256), fixed by that
 *     protocol.
 *   - the session handshake: Noise_XXpsk0_25519_ChaChaPoly_SHA256
 *     (crypto/noise), with static keys converted from the devices' Ed25519
 *     keys as for sealing; then one crypto_secretstream_xchacha20poly1305
 *     each way (crypto/stream).
 *   - pairing by six digits: the numeric-comparison commit/reveal of
 *     Bluetooth SSP (SAS-MCA) over the Noise handshake hash, keyed and
 *     unkeyed BLAKE2b-256 (crypto/sas).
 *   - LAN discovery beacons: keyed BLAKE2b-128 under a crypto_kdf subkey
 *     of the space key (sync/beacon).
 *   - bundles: crypto_secretstream_xchacha20poly1305 (crypto/stream) under
 *     a keyed BLAKE2b-256 of a crypto_kdf subkey of the space key and a
 *     salt, recognised by a keyed BLAKE2b-128 tag (sync/bundle).
 *   - encryption at rest: XChaCha20-Poly1305-IETF per 4 KiB block under
 *     crypto_kdf subkeys of an Argon2id (crypto_pwhash) key (store/vfs).
 *
 * Names carry the prefix cr_ so they never collide with libsodium's own.
 *
 * Must never: invent a primitive, leave a secret in unlocked or unwiped
 * memory longer than needed, or compare MACs with memcmp.
 */
#ifndef STEK_CRYPTO_H
#define STEK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CR_SIGN_PK 32
#define CR_SIGN_SK 64
#define CR_SIG 64
#define CR_HASH 32
#define CR_SPACE_KEY 32
#define CR_SEAL_OVERHEAD 48

/* sodium_init() once; 0 or STEK_ERROR. */
int cr_setup(void);
void cr_random(void *buf, size_t len);
void cr_sign_keygen(uint8_t pk[CR_SIGN_PK], uint8_t sk[CR_SIGN_SK]);
void cr_sign_msg(uint8_t sig[CR_SIG], const uint8_t *m, size_t len,
                     const uint8_t sk[CR_SIGN_SK]);
/* 0 if sig is a valid signature of m by pk, else STEK_ESIGNATURE. */
int cr_verify_msg(const uint8_t sig[CR_SIG], const uint8_t *m, size_t len,
                      const uint8_t pk[CR_SIGN_PK]);
void cr_hash(uint8_t out[CR_HASH], const uint8_t *m, size_t len);

/* Incremental BLAKE2b-256 (the state hash). */
typedef struct cr_hasher { _Alignas(64) unsigned char st[384]; } cr_hasher;
void cr_hash_init(cr_hasher *h);
void cr_hash_update(cr_hasher *h, const uint8_t *m, size_t len);
void cr_hash_final(cr_hasher *h, uint8_t out[CR_HASH]);

/* Seal m to the device with Ed25519 public key pk: out gets len +
 * CR_SEAL_OVERHEAD bytes.  0, or STEK_EINVAL for an unusable key. */
int cr_seal_to_device(uint8_t *out, const uint8_t *m, size_t len,
                          const uint8_t pk[CR_SIGN_PK]);
/* Open a sealed box with this device's key pair: out gets len -
 * CR_SEAL_OVERHEAD bytes.  0, or STEK_EMALFORMED if it does not open. */
int cr_open_as_device(uint8_t *out, const uint8_t *c, size_t len,
                          const uint8_t pk[CR_SIGN_PK],
                          const uint8_t sk[CR_SIGN_SK]);

/* Subkey derivation from a 32-byte master key (crypto_kdf, BLAKE2b):
 * ctx is exactly 8 characters naming the purpose. */
void cr_kdf(uint8_t sub[32], uint64_t id, const char ctx[8], const uint8_t key[32]);
/* HMAC-SHA-512-256 (crypto_auth); verify is constant time: 0 or
 * STEK_ESIGNATURE. */
#define CR_MAC 32
void cr_mac(uint8_t mac[CR_MAC], const uint8_t *m, size_t len, const uint8_t key[32]);
int cr_mac_verify(const uint8_t mac[CR_MAC], const uint8_t *m, size_t len,
                  const uint8_t key[32]);
/* Keyed BLAKE2b-256. */
void cr_keyed_hash(uint8_t out[CR_HASH], const uint8_t *m, size_t len,
                   const uint8_t key[32]);
/* Keyed BLAKE2b with a 16-byte output (BLAKE2b-128, not a truncation of
 * BLAKE2b-256: the output length is a parameter of the hash): the tag of a
 * discovery beacon (sync/beacon). */
#define CR_TAG128 16
void cr_keyed_hash128(uint8_t out[CR_TAG128], const uint8_t *m, size_t len,
                      const uint8_t key[32]);
/* Constant-time equality of two n-byte strings: 1 if equal. */
int cr_equal(const void *a, const void *b, size_t n);
/* A uniformly random integer below bound. */
uint32_t cr_uniform(uint32_t bound);

/* XChaCha20-Poly1305-IETF (crypto_aead_xchacha20poly1305_ietf): out gets
 * len + CR_AEAD_TAG bytes; open returns 0 or STEK_ESIGNATURE. */
#define CR_AEAD_TAG 16
#define CR_AEAD_NONCE 24
void cr_aead_seal(uint8_t *out, const uint8_t *m, size_t len, const uint8_t *ad,
                  size_t adlen, const uint8_t nonce[CR_AEAD_NONCE], const uint8_t key[32]);
int cr_aead_open(uint8_t *out, const uint8_t *c, size_t len, const uint8_t *ad,
                 size_t adlen, const uint8_t nonce[CR_AEAD_NONCE], const uint8_t key[32]);

/* Password hashing: Argon2id v1.3 (crypto_pwhash, ALG_ARGON2ID13), the key
 * of an encrypted store from its passphrase (store/vfs).  Limits out of
 * libsodium's range are STEK_EINVAL; a failed allocation STEK_ENOMEM. */
#define CR_PWHASH_SALT 16
int cr_pwhash(uint8_t *out, size_t outlen, const char *pass, size_t passlen,
              const uint8_t salt[CR_PWHASH_SALT], uint64_t opslimit, size_t memlimit);

/* Locked, guarded memory for secrets (sodium_malloc); wiped on free. */
void *cr_secret_alloc(size_t len);
void cr_secret_free(void *p);
void cr_wipe(void *p, size_t len);

/* SHA-256, only where an outside protocol fixes it (Negentropy's
 * fingerprints); our own hashes are BLAKE2b. */
#define CR_SHA256 32
void cr_sha256(uint8_t out[CR_SHA256], const uint8_t *m, size_t len);

/* A device's Ed25519 key pair from a 32-byte seed (tests, vectors). */
void cr_sign_seed_keygen(uint8_t pk[CR_SIGN_PK], uint8_t sk[CR_SIGN_SK],
                         const uint8_t seed[32]);

/* X25519 keys converted from a device's Ed25519 keys
 * (crypto_sign_ed25519_{pk,sk}_to_curve25519), the static keys of the Noise
 * handshake.  0, or STEK_EINVAL for a key that has no such conversion (a
 * small-order or non-canonical point). */
#define CR_X25519 32
int cr_x25519_from_sign_pk(uint8_t x[CR_X25519], const uint8_t pk[CR_SIGN_PK]);
int cr_x25519_from_sign_sk(uint8_t x[CR_X25519], const uint8_t sk[CR_SIGN_SK]);
/* 1 if x is the X25519 key converted from the Ed25519 key pk (constant
 * time), else 0: how a handshake ties the static key a peer proved it holds
 * to the device id it claims. */
int cr_x25519_is_sign_pk(const uint8_t x[CR_X25519], const uint8_t pk[CR_SIGN_PK]);

#endif
