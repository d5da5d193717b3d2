/*
 * api.h -- internals shared by the files that implement stek.h: the handle
 * and the helpers every public function uses to report errors and check
 * its state.  stek.c holds the generic core; the model/ files the typed records.
 * Never included by anything outside libstek/.
 */
#ifndef STEK_API_INTERNAL_H
#define STEK_API_INTERNAL_H

#include <stdint.h>

#include "codec/mp.h"
#include "stek.h"
#include "store/store.h"

typedef struct touched {
  char type[STEK_MAX_NAME_BYTES + 1];
  uint8_t rid[STEK_ID_BYTES];
} touched;

struct stek {
  store *st;
  stek_config cfg;
  char err[320];
  /* current space */
  int has_space;
  int64_t sp;
  uint8_t space_id[STEK_ID_BYTES];
  char space_name[256];
  char name_buf[256]; /* stek_space_get()'s answer */
  /* the local transaction under way, if any */
  int in_tx, explicit_tx;
  uint64_t tx_hlc;
  mp_writer ops;
  uint32_t n_ops;
  /* records touched by the transaction, for the change callback */
  touched *touch;
  size_t n_touch, cap_touch;
  int touch_err;
  stek_change_cb cb;
  void *cb_ctx;
  int internal; /* the library writes a record of a reserved type */
  /* a batch of ingests in one transaction (stek__batch_begin) */
  int batch;
  int64_t batch_sp;
};

struct stek_record {
  store_record r;
  stek_value *vals;
  char **mem; /* per field: decoded string / list storage */
};

/* Internal names carry the stek__ prefix (as libuv's uv__), so a static
 * link cannot collide with an application's own. */

/* Set the handle's message and return rc. */
int stek__fail(stek *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Clear the message after success; returns rc. */
int stek__ok(stek *s, int rc);
/* Carry the store's message up. */
int stek__store_fail(stek *s, int rc);
/* STEK_EINVAL without a store, STEK_ENOSPACE without a current space. */
int stek__need_store(stek *s);
int stek__need_space(stek *s);
/* Load a live record of the current space (STEK_ENOTFOUND otherwise). */
int stek__record_load(stek *s, const char *type, const uint8_t *id, stek_record **out);
/* Write fields of one record as one change (joining an open transaction
 * if there is one).  The list field named set_field (may be NULL) is added
 * element by element to a set instead of replacing a value. */
int stek__put_fields(stek *s, const char *type, const uint8_t *id,
                     const stek_field *fields, size_t n, const char *set_field);
/* Seal space sp's id, name and key to device (stek_space_share()). */
int stek__space_share(stek *s, int64_t sp, const uint8_t device[STEK_DEVICE_ID_BYTES],
                      uint8_t **out, size_t *len);
/* Ingest many changes in one transaction (a sync session's OPS message):
 * between begin and end, stek_ingest() writes without committing; end
 * commits them all (keep) or none (!keep), then notifies. */
int stek__batch_begin(stek *s);
/* stek_ingest(), but only of a change or signal of space sp (sp < 0: any
 * held space): a sync session takes only its own space's changes, so that
 * a member of one space cannot write into another the store holds
 * (STEK_ENOSPACE). */
int stek__ingest_in(stek *s, int64_t sp, const uint8_t *buf, size_t len);
int stek__batch_end(stek *s, int keep);
/* Seal the encoded in (wiped and freed) to device, append it as a bin to
 * the outer header already in w (freed), and return the whole in *out
 * (stek_free()).  The tail of stek_space_share() and stek_relay_share(). */
int stek__seal_share(stek *s, const uint8_t device[STEK_DEVICE_ID_BYTES], mp_writer *in,
                     mp_writer *w, uint8_t **out, size_t *len);
/* ---- membership (members.c) ---- */

/* The revocations of a space that count, in (HLC, id) order. */
typedef struct stek__rev {
  uint8_t rid[16], device[32], author[32];
  uint64_t hlc;
  uint8_t *shares; /* the shares field, msgpack */
  size_t shares_len;
} stek__rev;
typedef struct stek__revs {
  stek__rev *v;
  size_t n;
} stek__revs;
int stek__revs_load(stek *s, int64_t sp, stek__revs *out);
void stek__revs_free(stek__revs *r);
/* 1 (and *at, the revocation's HLC, if not NULL) if device is revoked in
 * space sp, 0 if not, or a negative code. */
int stek__revoked(stek *s, int64_t sp, const uint8_t device[32], uint64_t *at);
/* The epoch keys this device can compute, oldest (the space secret) first:
 * *n >= 1 keys of 32 bytes in *keys, locked memory (cr_secret_free). */
int stek__epoch_keys(stek *s, int64_t sp, uint8_t **keys, size_t *n);
/* K^n from K^(n-1) and K_r: BLAKE2b-256(key = prev, "stek-epoch" || kr). */
void stek__epoch_next(uint8_t next[32], const uint8_t prev[32], const uint8_t kr[32]);
/* The newest of them. */
int stek__epoch_current(stek *s, int64_t sp, uint8_t key[32]);
/* Append [[rid, K_r]...] of the epochs this device holds (a space share). */
int stek__epoch_share(stek *s, int64_t sp, mp_writer *w);
/* Record device as a member of space sp (a change, unless it is one). */
int stek__member_add(stek *s, int64_t sp, const uint8_t device[32]);
/* After a revocation arrived: purge the changes it refuses and replay the
 * log into the records if any went.  Inside the ingest's transaction. */
int stek__members_settle(stek *s, int64_t sp);
/* Non-zero for a type only the library may write ("stek."...). */
int stek__reserved_type(const char *type);

/* The configured wall clock. */
int64_t stek__now_ms(const stek *s);

#endif
