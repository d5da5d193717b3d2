/*
 * crypto/noise -- see noise.h.
 *
 * The names below follow the Noise specification (revision 34) so the code
 * can be read beside it: §5.1 CipherState (k, n), §5.2 SymmetricState (ck,
 * h: mix_key, mix_hash, mix_key_and_hash, encrypt_and_hash, split), §5.3
 * HandshakeState (s, e, rs, re: the tokens), §9 the psk modifiers.  The
 * pattern is always XX; which psk tokens it carries is a bit mask so the
 * same code replays published vectors for XXpsk3, XXpsk0+psk1 and others.
 */
#include "crypto/noise.h"

#include <sodium.h>
#include <string.h>

#include "crypto/crypto.h"
#include "stek.h"

_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == NOISE_TAG, "tag");
_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == NOISE_KEY, "key");
_Static_assert(crypto_hash_sha256_BYTES == NOISE_HASH, "hash");
_Static_assert(crypto_auth_hmacsha256_KEYBYTES == NOISE_HASH, "hmac key");
_Static_assert(crypto_scalarmult_BYTES == 32, "dh");

enum { T_E, T_S, T_EE, T_ES, T_SE, T_PSK /* + position 0..3 */ };
#define MAX_TOKENS 8

/* The tokens of message m (0, 1, 2) of XX with hs's psk modifiers: psk0
 * opens message 1, pskN (N >= 1) closes message N (§9.2). */
static int tokens(const noise_hs *hs, int m, int t[MAX_TOKENS]) {
  int n = 0;
  if (m == 0 && (hs->psk_mask & 1u)) t[n++] = T_PSK;
  if (m == 0) {
    t[n++] = T_E;
  } else if (m == 1) {
    t[n++] = T_E, t[n++] = T_EE, t[n++] = T_S, t[n++] = T_ES;
  } else {
    t[n++] = T_S, t[n++] = T_SE;
  }
  if (hs->psk_mask & (1u << (m + 1))) t[n++] = T_PSK + m + 1;
  return n;
}

/* Messages 0 and 2 are the initiator's. */
static int my_turn(const noise_hs *hs) { return (hs->step % 2 == 0) == !!hs->initiator; }

static int carries_id(const noise_hs *hs) { return hs->with_id && hs->step > 0; }

/* Bytes of the current message around a payload of len bytes: walks the
 * tokens the way writing or reading will, to know where a key is set. */
static size_t message_size(const noise_hs *hs, size_t len) {
  int t[MAX_TOKENS], nt = tokens(hs, hs->step, t), hk = hs->has_k;
  size_t size = 0;
  for (int i = 0; i < nt; i++) {
    if (t[i] == T_E) {
      size += 32;
      if (hs->psk_mask) hk = 1;
    } else if (t[i] == T_S) {
      size += 32 + (hk ? NOISE_TAG : 0);
    } else {
      hk = 1; /* ee, es, se and psk all call MixKey */
    }
  }
  return size + (carries_id(hs) ? NOISE_ID : 0) + len + (hk ? NOISE_TAG : 0);
}

/* ---- HKDF and SymmetricState (§4.3, §5.2) ---- */

/* HKDF(ck, ikm) with HMAC-SHA-256: two or (o3 non-NULL) three outputs.  o1
 * may be ck itself. */
static void hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t len,
                 uint8_t o1[32], uint8_t o2[32], uint8_t o3[32]) {
  uint8_t temp[32], buf[33];
  crypto_auth_hmacsha256(temp, ikm, len, ck);
  buf[0] = 0x01;
  crypto_auth_hmacsha256(o1, buf, 1, temp);
  memcpy(buf, o1, 32);
  buf[32] = 0x02;
  crypto_auth_hmacsha256(o2, buf, 33, temp);
  if (o3) {
    memcpy(buf, o2, 32);
    buf[32] = 0x03;
    crypto_auth_hmacsha256(o3, buf, 33, temp);
  }
  sodium_memzero(temp, sizeof temp);
  sodium_memzero(buf, sizeof buf);
}

static void mix_hash(noise_hs *hs, const uint8_t *data, size_t len) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, hs->h, sizeof hs->h);
  crypto_hash_sha256_update(&st, data, len);
  crypto_hash_sha256_final(&st, hs->h);
  sodium_memzero(&st, sizeof st);
}

static void mix_key(noise_hs *hs, const uint8_t *ikm, size_t len) {
  hkdf(hs->ck, ikm, len, hs->ck, hs->k, NULL);
  hs->has_k = 1;
  hs->n = 0;
}

static void mix_key_and_hash(noise_hs *hs, const uint8_t ikm[NOISE_KEY]) {
  uint8_t temp_h[32];
  hkdf(hs->ck, ikm, NOISE_KEY, hs->ck, temp_h, hs->k);
  mix_hash(hs, temp_h, sizeof temp_h);
  sodium_memzero(temp_h, sizeof temp_h);
  hs->has_k = 1;
  hs->n = 0;
}

/* ChaChaPoly's nonce: 32 zero bits, then n as 64 bits little-endian. */
static void make_nonce(uint8_t nonce[12], uint64_t n) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* Encrypt len bytes of pt (with h as associated data) into out, which gets
 * len + NOISE_TAG bytes if a key is set, else pt itself; then hash them. */
static int encrypt_and_hash(noise_hs *hs, const uint8_t *pt, size_t len,
                            uint8_t *out, size_t *outlen) {
  if (!hs->has_k) {
    memmove(out, pt, len);
    *outlen = len;
  } else {
    uint8_t nonce[12];
    unsigned long long clen;
    if (hs->n == UINT64_MAX) return STEK_ERROR; /* §5.1: nonce exhausted */
    make_nonce(nonce, hs->n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, len, hs->h,
                                              sizeof hs->h, NULL, nonce, hs->k);
    hs->n++;
    *outlen = (size_t)clen;
  }
  mix_hash(hs, out, *outlen);
  return 0;
}

/* The reverse; ct is len bytes (the caller checked len >= NOISE_TAG when a
 * key is set).  STEK_ESIGNATURE if the MAC does not verify. */
static int decrypt_and_hash(noise_hs *hs, const uint8_t *ct, size_t len,
                            uint8_t *out, size_t *outlen) {
  if (!hs->has_k) {
    memmove(out, ct, len);
    *outlen = len;
  } else {
    uint8_t nonce[12];
    unsigned long long mlen;
    if (hs->n == UINT64_MAX) return STEK_ERROR;
    make_nonce(nonce, hs->n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, len, hs->h,
                                                  sizeof hs->h, nonce, hs->k) != 0)
      return STEK_ESIGNATURE;
    hs->n++;
    *outlen = (size_t)mlen;
  }
  mix_hash(hs, ct, len);
  return 0;
}

/* MixKey(DH(sk, pk)).  X25519 gives all zeros for a small-order point;
 * libsodium refuses it, and so do we (it would make the key public). */
static int mix_dh(noise_hs *hs, const uint8_t sk[32], const uint8_t pk[32]) {
  uint8_t shared[32];
  if (crypto_scalarmult(shared, sk, pk) != 0) return STEK_EMALFORMED;
  mix_key(hs, shared, sizeof shared);
  sodium_memzero(shared, sizeof shared);
  return 0;
}

/* ---- HandshakeState (§5.3) ---- */

void noise_wipe(noise_hs *hs) { sodium_memzero(hs, sizeof *hs); }

/* Any failure ends the handshake: nothing of it may be used again. */
static int fail(noise_hs *hs, int rc) {
  noise_wipe(hs);
  hs->state = NOISE_FAILED;
  return rc;
}

static void advance(noise_hs *hs) {
  hs->step++;
  hs->state = hs->step == 3 ? NOISE_DONE : my_turn(hs) ? NOISE_WRITE : NOISE_READ;
}

int noise_init_params(noise_hs *hs, const noise_params *p) {
  uint8_t pk[32];
  memset(hs, 0, sizeof *hs);
  hs->state = NOISE_FAILED;
  if (!p->static_sk || !p->static_pk || (p->psk_mask & ~0xfu) ||
      (p->psk_mask && !p->psks) || (p->prologue_len && !p->prologue))
    return STEK_EINVAL;
  /* A mismatched key pair would fail the peer's MAC much later, with no
   * hint why; catch it here. */
  if (crypto_scalarmult_base(pk, p->static_sk) != 0 ||
      !cr_equal(pk, p->static_pk, sizeof pk) ||
      (p->device_id && !cr_x25519_is_sign_pk(p->static_pk, p->device_id)))
    return STEK_EINVAL;
  hs->initiator = !!p->initiator;
  hs->psk_mask = p->psk_mask;
  for (int i = 0, k = 0; i < 4; i++)
    if (p->psk_mask & (1u << i)) memcpy(hs->psk[i], p->psks[k++], NOISE_KEY);
  memcpy(hs->s_sk, p->static_sk, 32);
  memcpy(hs->s_pk, p->static_pk, 32);
  if (p->ephemeral_sk) {
    memcpy(hs->e_sk, p->ephemeral_sk, 32);
    if (crypto_scalarmult_base(hs->e_pk, hs->e_sk) != 0) return fail(hs, STEK_EINVAL);
    hs->fixed_e = 1;
  }
  if (p->device_id) {
    hs->with_id = 1;
    memcpy(hs->id, p->device_id, NOISE_ID);
  }

  /* InitializeSymmetric(protocol_name): a name of up to 32 bytes is h
   * itself, zero-padded; a longer one is hashed. */
  char name[64] = "Noise_XX";
  const char *sep = "";
  for (int i = 0; i < 4; i++) {
    if (!(p->psk_mask & (1u << i))) continue;
    size_t at = strlen(name);
    memcpy(name + at, sep, strlen(sep));
    at += strlen(sep);
    memcpy(name + at, "psk", 3);
    name[at + 3] = (char)('0' + i);
    name[at + 4] = '\0';
    sep = "+";
  }
  strcat(name, "_25519_ChaChaPoly_SHA256");
  size_t nlen = strlen(name);
  if (nlen <= NOISE_HASH)
    memcpy(hs->h, name, nlen); /* the rest is already zero */
  else
    crypto_hash_sha256(hs->h, (const uint8_t *)name, nlen);
  memcpy(hs->ck, hs->h, NOISE_HASH);
  mix_hash(hs, p->prologue ? p->prologue : (const uint8_t *)"", p->prologue_len);
  hs->state = hs->initiator ? NOISE_WRITE : NOISE_READ;
  return 0;
}

int noise_init(noise_hs *hs, int initiator, const uint8_t psk[NOISE_KEY],
               const uint8_t static_sk[32], const uint8_t static_pk[32],
               const uint8_t device_id[NOISE_ID]) {
  const uint8_t (*psks)[NOISE_KEY] = (const uint8_t (*)[NOISE_KEY])psk;
  noise_params p = {
      .initiator = initiator,
      .prologue = (const uint8_t *)NOISE_PROLOGUE,
      .prologue_len = sizeof NOISE_PROLOGUE - 1,
      .psk_mask = 1u, /* psk0: see noise.h for why */
      .psks = psks,
      .static_sk = static_sk,
      .static_pk = static_pk,
      .device_id = device_id,
  };
  if (!psk || !device_id) {
    memset(hs, 0, sizeof *hs);
    hs->state = NOISE_FAILED;
    return STEK_EINVAL;
  }
  return noise_init_params(hs, &p);
}

int noise_next(const noise_hs *hs) { return hs->state; }

size_t noise_message_size(const noise_hs *hs, size_t len) {
  return hs->state == NOISE_WRITE || hs->state == NOISE_READ ? message_size(hs, len) : 0;
}

int noise_write_message(noise_hs *hs, const uint8_t *payload, size_t len,
                        uint8_t *out, size_t cap, size_t *outlen) {
  uint8_t plain[NOISE_ID + NOISE_MAX_PAYLOAD];
  int t[MAX_TOKENS], nt, rc = 0;
  size_t pos = 0, n, idlen;
  if (hs->state != NOISE_WRITE) return STEK_ESTATE;
  if (len > NOISE_MAX_PAYLOAD) return STEK_ETOOBIG;
  if (cap < message_size(hs, len) || (len && !payload)) return STEK_EINVAL;
  nt = tokens(hs, hs->step, t);
  for (int i = 0; i < nt && rc == 0; i++) {
    switch (t[i]) {
    case T_E:
      if (!hs->fixed_e) {
        randombytes_buf(hs->e_sk, sizeof hs->e_sk);
        crypto_scalarmult_base(hs->e_pk, hs->e_sk);
      }
      memcpy(out + pos, hs->e_pk, 32);
      pos += 32;
      mix_hash(hs, hs->e_pk, 32);
      if (hs->psk_mask) mix_key(hs, hs->e_pk, 32); /* §9.2 */
      break;
    case T_S:
      rc = encrypt_and_hash(hs, hs->s_pk, 32, out + pos, &n);
      pos += n;
      break;
    case T_EE: rc = mix_dh(hs, hs->e_sk, hs->re); break;
    case T_ES: rc = hs->initiator ? mix_dh(hs, hs->e_sk, hs->rs) : mix_dh(hs, hs->s_sk, hs->re); break;
    case T_SE: rc = hs->initiator ? mix_dh(hs, hs->s_sk, hs->re) : mix_dh(hs, hs->e_sk, hs->rs); break;
    default: mix_key_and_hash(hs, hs->psk[t[i] - T_PSK]); break;
    }
  }
  if (rc) return fail(hs, rc);
  idlen = carries_id(hs) ? NOISE_ID : 0;
  memcpy(plain, hs->id, idlen);
  if (len) memcpy(plain + idlen, payload, len);
  rc = encrypt_and_hash(hs, plain, idlen + len, out + pos, &n);
  sodium_memzero(plain, sizeof plain);
  if (rc) return fail(hs, rc);
  *outlen = pos + n;
  advance(hs);
  return 0;
}

int noise_read_message(noise_hs *hs, const uint8_t *in, size_t len,
                       uint8_t *payload_out, size_t cap, size_t *payload_len) {
  uint8_t plain[NOISE_ID + NOISE_MAX_PAYLOAD];
  int t[MAX_TOKENS], nt, rc = 0;
  size_t pos = 0, n, sz, idlen = carries_id(hs) ? NOISE_ID : 0, overhead;
  if (hs->state != NOISE_READ) return STEK_ESTATE;
  /* Every length is fixed by the pattern except the payload's, so check
   * them all before touching anything. */
  overhead = message_size(hs, 0);
  if (len < overhead) return fail(hs, STEK_ETRUNCATED);
  if (len - overhead > NOISE_MAX_PAYLOAD) return fail(hs, STEK_ETOOBIG);
  if (cap < len - overhead) return STEK_EINVAL;
  nt = tokens(hs, hs->step, t);
  for (int i = 0; i < nt && rc == 0; i++) {
    switch (t[i]) {
    case T_E:
      memcpy(hs->re, in + pos, 32);
      pos += 32;
      mix_hash(hs, hs->re, 32);
      if (hs->psk_mask) mix_key(hs, hs->re, 32);
      break;
    case T_S:
      sz = 32 + (hs->has_k ? NOISE_TAG : 0);
      rc = decrypt_and_hash(hs, in + pos, sz, hs->rs, &n);
      pos += sz;
      break;
    case T_EE: rc = mix_dh(hs, hs->e_sk, hs->re); break;
    case T_ES: rc = hs->initiator ? mix_dh(hs, hs->e_sk, hs->rs) : mix_dh(hs, hs->s_sk, hs->re); break;
    case T_SE: rc = hs->initiator ? mix_dh(hs, hs->s_sk, hs->re) : mix_dh(hs, hs->e_sk, hs->rs); break;
    default: mix_key_and_hash(hs, hs->psk[t[i] - T_PSK]); break;
    }
  }
  if (rc) return fail(hs, rc);
  rc = decrypt_and_hash(hs, in + pos, len - pos, plain, &n);
  if (rc == 0 && idlen) {
    /* The peer proved it holds rs (es or se); the id must be its twin. */
    if (!cr_x25519_is_sign_pk(hs->rs, plain)) rc = STEK_ESIGNATURE;
    memcpy(hs->peer_id, plain, NOISE_ID);
    hs->peer_known = rc == 0;
  }
  if (rc == 0) {
    if (n > idlen) memcpy(payload_out, plain + idlen, n - idlen);
    *payload_len = n - idlen;
  }
  sodium_memzero(plain, sizeof plain);
  if (rc) return fail(hs, rc);
  advance(hs);
  return 0;
}

int noise_split(noise_hs *hs, uint8_t key_send[NOISE_KEY],
                uint8_t key_recv[NOISE_KEY], uint8_t handshake_hash[NOISE_HASH]) {
  uint8_t k1[32], k2[32], peer[NOISE_ID];
  int with_id = hs->with_id, known = hs->peer_known;
  if (hs->state != NOISE_DONE) return STEK_ESTATE;
  hkdf(hs->ck, (const uint8_t *)"", 0, k1, k2, NULL);
  memcpy(key_send, hs->initiator ? k1 : k2, NOISE_KEY);
  memcpy(key_recv, hs->initiator ? k2 : k1, NOISE_KEY);
  memcpy(handshake_hash, hs->h, NOISE_HASH);
  memcpy(peer, hs->peer_id, NOISE_ID);
  noise_wipe(hs);
  sodium_memzero(k1, sizeof k1);
  sodium_memzero(k2, sizeof k2);
  hs->state = NOISE_SPLIT;
  hs->with_id = with_id;
  hs->peer_known = known;
  memcpy(hs->peer_id, peer, NOISE_ID);
  return 0;
}

int noise_peer(const noise_hs *hs, uint8_t device_id[NOISE_ID]) {
  if (!hs->peer_known) return STEK_ESTATE;
  memcpy(device_id, hs->peer_id, NOISE_ID);
  return 0;
}
