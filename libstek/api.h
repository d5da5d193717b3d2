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
/* The configured wall clock. */
int64_t stek__now_ms(const stek *s);

#endif
