/*
 * fuzz/fuzz.h -- what every fuzz target, the replay driver and the corpus
 * generator share: a fixed space, a fixed "member" signing key, a fixed
 * clock, and stores in a temporary directory that is removed at exit.
 *
 * Why fixed: a seed made by fuzz/make_corpus (a change of the space, a
 * bundle, a session's first message) only means something to a store that
 * holds the same space key, and a change is only fresh to a store whose
 * clock agrees.  So the space id and key, the author key used for re-signed
 * inputs and the clock are constants here, and every store a target opens
 * joins that space.  These are test keys: never use them for anything else.
 *
 * Header-only (static functions), so each target is one .c file.  Only the
 * fuzz targets, make_corpus and the simulator include it.
 */
#ifndef STEK_FUZZ_H
#define STEK_FUZZ_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/mp.h"
#include "crypto/crypto.h"
#include "crypto/noise.h"
#include "stek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-01-01T00:00:00Z, the clock of every fuzz store. */
#define FUZZ_NOW_MS INT64_C(1767225600000)

static const uint8_t fuzz_space_id[16] = {0x5e, 0x4b, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                          0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d};
static const uint8_t fuzz_space_key[32] = {
    0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x73, 0x70, 0x61, 0x63, 0x65, 0x2d, 0x6b, 0x65, 0x79, 0x00, 0x01,
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11};
/* Seed of the Ed25519 key that re-signs fuzzed change bodies. */
static const uint8_t fuzz_author_seed[32] = {'f', 'u', 'z', 'z', '-', 'a', 'u', 't', 'h', 'o', 'r'};

static inline int64_t fuzz_clock_read(void *ctx) { return *(const int64_t *)ctx; }
static int64_t fuzz_now __attribute__((unused)) = FUZZ_NOW_MS;

static inline void fuzz_rmtree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[1024];
      if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
        fuzz_rmtree(sub);
    }
    closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static char fuzz_dir[512] __attribute__((unused));

static inline void fuzz_dir_cleanup(void) {
  if (fuzz_dir[0]) fuzz_rmtree(fuzz_dir);
}

/* The process's temporary directory (made on first use, removed at exit). */
static inline const char *fuzz_tmpdir(void) {
  if (!fuzz_dir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/stek-fuzz-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(fuzz_dir)) {
      perror("mkdtemp");
      abort();
    }
    atexit(fuzz_dir_cleanup);
  }
  return fuzz_dir;
}

static inline void fuzz_die(const char *what, int rc) {
  fprintf(stderr, "fuzz setup: %s: %d (%s)\n", what, rc, stek_strerror(rc));
  abort();
}

/* The sealed share of the fixed space for device dev, as
 * stek_space_share() writes it (stek.c). */
static inline void fuzz_space_share(const uint8_t dev[32], mp_writer *w) {
  mp_writer in;
  uint8_t sealed[256];
  mp_writer_init(&in);
  mp_write_array(&in, 4);
  mp_write_uint(&in, 1);
  mp_write_bin(&in, fuzz_space_id, 16);
  mp_write_str(&in, "fuzz", 4);
  mp_write_bin(&in, fuzz_space_key, 32);
  if (in.buf.size + CR_SEAL_OVERHEAD > sizeof sealed ||
      cr_seal_to_device(sealed, (const uint8_t *)in.buf.data, in.buf.size, dev))
    fuzz_die("seal", STEK_ERROR);
  mp_writer_init(w);
  mp_write_array(w, 2);
  mp_write_uint(w, 1);
  mp_write_bin(w, sealed, in.buf.size + CR_SEAL_OVERHEAD);
  mp_writer_free(&in);
}

/* Open (creating) store `name` in the temp dir, on the fixed clock, and
 * make the fixed space its current one. */
static inline stek *fuzz_store(const char *name) {
  char path[700];
  stek_config cfg;
  stek *s;
  uint8_t dev[32];
  mp_writer w;
  stek_config_init(&cfg);
  cfg.clock = fuzz_clock_read;
  cfg.clock_ctx = &fuzz_now;
  snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), name);
  int rc = stek_open(&s, path, &cfg);
  if (rc) fuzz_die("stek_open", rc);
  stek_device_id(s, dev);
  fuzz_space_share(dev, &w);
  rc = stek_space_accept(s, (const uint8_t *)w.buf.data, w.buf.size);
  mp_writer_free(&w);
  if (rc < 0) fuzz_die("stek_space_accept", rc);
  return s;
}

/* Sign body as the fixed author and wrap it as a change wire:
 * [1, bin(body), bin(sig)].  out is initialised here. */
static inline void fuzz_sign_change(const uint8_t *body, size_t len, mp_writer *out) {
  uint8_t pk[32], sk[64], sig[64];
  cr_sign_seed_keygen(pk, sk, fuzz_author_seed);
  cr_sign_msg(sig, body, len, sk);
  mp_writer_init(out);
  mp_write_array(out, 3);
  mp_write_uint(out, 1);
  mp_write_bin(out, body, len);
  mp_write_bin(out, sig, 64);
}

/* MAC body with the fixed space's signal key and wrap it as a signal wire:
 * [2, bin(body), bin(mac)] (crdt/signal.c). */
static inline void fuzz_mac_signal(const uint8_t *body, size_t len, mp_writer *out) {
  uint8_t k[32], mac[CR_MAC];
  cr_kdf(k, 1, "stek-sig", fuzz_space_key);
  cr_mac(mac, body, len, k);
  mp_writer_init(out);
  mp_write_array(out, 3);
  mp_write_uint(out, 2);
  mp_write_bin(out, body, len);
  mp_write_bin(out, mac, CR_MAC);
}

/* One side of a handshake with fixed keys: the space capability of the
 * fixed space, static keys from fixed seeds and a fixed ephemeral key, so
 * that messages recorded by make_corpus are valid for the targets. */
/* A Noise XXpsk0 handshake state for the device whose Ed25519 key comes
 * from seed, with the ephemeral key e_byte repeated and the given PSK. */
static inline void fuzz_noise_keys(noise_hs *hs, int initiator, const uint8_t seed[32],
                                   uint8_t e_byte, const uint8_t psk[32]) {
  uint8_t pk[32], sk[64], xpk[32], xsk[32], e[32], psks[1][32];
  cr_sign_seed_keygen(pk, sk, seed);
  if (cr_x25519_from_sign_pk(xpk, pk) || cr_x25519_from_sign_sk(xsk, sk))
    fuzz_die("x25519", STEK_ERROR);
  memset(e, e_byte, sizeof e);
  memcpy(psks[0], psk, 32);
  noise_params p = {.initiator = initiator,
                    .prologue = (const uint8_t *)NOISE_PROLOGUE,
                    .prologue_len = sizeof NOISE_PROLOGUE - 1,
                    .psk_mask = 1u,
                    .psks = (const uint8_t (*)[32])psks,
                    .static_sk = xsk,
                    .static_pk = xpk,
                    .ephemeral_sk = e,
                    .device_id = pk};
  if (noise_init_params(hs, &p)) fuzz_die("noise_init_params", STEK_ERROR);
}

static inline void fuzz_noise_init(noise_hs *hs, int initiator) {
  uint8_t seed[32] = {'f', 'u', 'z', 'z', '-', 'd', 'e', 'v', (uint8_t)initiator};
  uint8_t psk[32];
  cr_kdf(psk, 10, "stek-cap", fuzz_space_key); /* sync/session.c */
  fuzz_noise_keys(hs, initiator, seed, (uint8_t)(0x40 + initiator), psk);
}

/* A bounded cursor over the fuzz input, for structure-aware targets. */
typedef struct fuzz_in {
  const uint8_t *p;
  size_t n;
} fuzz_in;

static inline uint8_t fuzz_u8(fuzz_in *in) {
  if (!in->n) return 0;
  in->n--;
  return *in->p++;
}

static inline uint16_t fuzz_u16(fuzz_in *in) {
  uint16_t hi = fuzz_u8(in);
  return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* The next chunk: a 2-byte big-endian length, then that many bytes (fewer
 * if the input ends).  0 when nothing is left. */
static inline size_t fuzz_chunk(fuzz_in *in, const uint8_t **p) {
  if (!in->n) return 0;
  size_t len = fuzz_u16(in);
  if (len > in->n) len = in->n;
  *p = in->p;
  in->p += len;
  in->n -= len;
  return len;
}

#endif
