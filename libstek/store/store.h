/*
 * store/store -- SQLite: device identity, spaces, the op log and the
 * materialized records.
 *
 * Schema (one file -- encrypted by store/vfs when the store has a passphrase;
 * docs/PROTOCOL.md does not cover it, it never leaves the device):
 *   meta(key, value)                     schema version, device keys, HLC
 *   spaces(sp, id, name, key)            sp: a local integer handle
 *   changes(sp, id, hlc, wire)           the op log: every change as received
 *   lives(sp, type, rid, deleted, ver)   last delete / restore of a record
 *   fields(sp, type, rid, name, value, ver)   LWW field values (NULL: unset)
 *   elems(sp, type, rid, name, elem, present, ver)  set elements
 * where ver is (hlc, author, seq).
 *
 * Applying an op writes the winner of the stored and the new fact by
 * crdt/merge's rule; the op log is the truth, the rest could be rebuilt
 * from it.  Must never: decide a merge itself, or hold a transaction across
 * calls other than store_tx_begin/commit/rollback.
 */
#ifndef STEK_STORE_H
#define STEK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/change.h"
#include "crdt/merge.h"
#include "crdt/signal.h"
#include "crypto/crypto.h"
#include "sync/negentropy.h"

typedef struct store store;

/* Called for each record an op touched. */
typedef void (*store_touch_cb)(void *ctx, const char *type, size_t type_len,
                               const uint8_t *rid);

/* The passphrase of an encrypted store, and the Argon2id cost of a new
 * key (store/vfs). */
typedef struct store_secret {
  const char *passphrase;
  size_t len;
  uint64_t opslimit;
  size_t memlimit;
} store_secret;

/* Open or create; err receives a message on failure.  The device key pair
 * is created on first open (from identity_seed if not NULL: simulators);
 * sk is copied into locked memory.  With a secret the store is encrypted
 * (through store/vfs); without, a plaintext SQLite file.  STEK_EKEY for a
 * wrong passphrase, a plaintext store given one or an encrypted store given
 * none -- the file untouched. */
int store_open(store **out, const char *path, const uint8_t *identity_seed,
               const store_secret *secret, char *err, size_t errlen);
void store_close(store *st);

/* Re-encrypt the whole store under next (NULL: in the clear) by a copy
 * renamed over it (see store.c for why an interruption loses nothing).
 * STEK_ESTATE inside a transaction or while another connection has the
 * store open.  *switched tells whether the new file took the old one's
 * place; if it did and the result is a failure, the store could not be
 * reopened and st is fit only for store_errmsg() and store_close(). */
int store_rekey(store *st, const store_secret *next, int *switched);
const char *store_errmsg(store *st);
void store_device(const store *st, uint8_t pk[CR_SIGN_PK],
                  const uint8_t **sk);

int store_tx_begin(store *st);
int store_tx_commit(store *st);
void store_tx_rollback(store *st);

/* The clock state (read inside a transaction for writes). */
int store_hlc_get(store *st, uint64_t *hlc);
int store_hlc_set(store *st, uint64_t hlc);

int store_space_create(store *st, const uint8_t id[16], const char *name,
                       const uint8_t key[CR_SPACE_KEY]);
int store_space_count(store *st, size_t *n);
/* i-th space by id; name copied into name (NUL-terminated, truncated). */
int store_space_at(store *st, size_t i, uint8_t id[16], char *name, size_t cap);
/* Local handle of space id: STEK_ENOSPACE if not held. */
int store_space_find(store *st, const uint8_t id[16], int64_t *sp);
int store_space_key(store *st, int64_t sp, uint8_t key[CR_SPACE_KEY]);
/* The id and name of space sp (either may be NULL). */
int store_space_info(store *st, int64_t sp, uint8_t id[16], char *name, size_t cap);

/* STEK_DUPLICATE if held, STEK_OK if not. */
int store_change_has(store *st, int64_t sp, const uint8_t id[32]);
int store_change_add(store *st, int64_t sp, const change *c,
                     const uint8_t *wire, size_t len);
int store_change_count(store *st, int64_t sp, uint64_t *n);
typedef int (*store_bytes_cb)(void *ctx, const uint8_t *b, size_t len);
int store_change_each(store *st, int64_t sp, store_bytes_cb cb, void *ctx);

/* Every (timestamp, id) of the space, sorted, for reconciliation; free
 * *out with free(). */
int store_items(store *st, int64_t sp, neg_item **out, size_t *n);
/* Call cb with the wire bytes of one change, or STEK_ENOTFOUND. */
int store_change_get(store *st, int64_t sp, const uint8_t id[32], store_bytes_cb cb,
                     void *ctx);

/* Invitations: a one-time capability (psk) to join space sp until expires
 * (ms).  store_invite_use() marks it used, or STEK_ENOTFOUND if it is
 * used, expired or unknown.  Adding a psk already there replaces it: a
 * pairing offer (whose psk is public, crypto/sas.h) replaces the last. */
int store_invite_add(store *st, int64_t sp, const uint8_t psk[32], int64_t expires);
typedef int (*store_invite_cb)(void *ctx, const uint8_t *psk, int64_t sp);
int store_invite_each(store *st, int64_t now, store_invite_cb cb, void *ctx);
int store_invite_use(store *st, const uint8_t psk[32], int64_t now);

/* Blind relaying (sync/relay.h): capabilities held as a relay, and the
 * sealed ops carried for them. */
int store_relay_add(store *st, const uint8_t tag[16], const uint8_t key[32]);
typedef int (*store_relay_cb)(void *ctx, const uint8_t *tag, const uint8_t *key);
int store_relay_each(store *st, store_relay_cb cb, void *ctx);
int store_relay_op_add(store *st, const uint8_t tag[16], const uint8_t id[32], uint64_t ts,
                       const uint8_t *sealed, size_t len);
int store_relay_op_get(store *st, const uint8_t tag[16], const uint8_t id[32],
                       uint64_t *ts, store_bytes_cb cb, void *ctx);
int store_relay_items(store *st, const uint8_t tag[16], neg_item **out, size_t *n);
int store_relay_op_count(store *st, uint64_t *n);

/* Membership (members.c).  The key revocation rev (a record id) started,
 * as this device holds it: STEK_ENOTFOUND if it does not. */
int store_epoch_key_put(store *st, int64_t sp, const uint8_t rev[16], const uint8_t key[32]);
int store_epoch_key_get(store *st, int64_t sp, const uint8_t rev[16], uint8_t key[32]);
/* Each record of type with a "device" field, in (HLC, id) order of that
 * field's version: the record id, the field's value, its HLC and author,
 * and the "shares" field's value (NULL, 0 if none). */
typedef int (*store_revocation_cb)(void *ctx, const uint8_t *rid, const uint8_t *device,
                                   size_t dlen, uint64_t hlc, const uint8_t *author,
                                   const uint8_t *shares, size_t slen);
int store_revocation_each(store *st, int64_t sp, const char *type, store_revocation_cb cb,
                          void *ctx);
/* Drop one change from the op log, and all materialized records of a space
 * (to replay the log after a purge). */
int store_change_delete(store *st, int64_t sp, const uint8_t id[32]);
int store_records_clear(store *st, int64_t sp);

/* Merge one op written at version v into the materialized state. */
int store_apply(store *st, int64_t sp, const op *o, const version *v);

/* Records: a loaded record (fields, then set fields merged in by name). */
typedef struct store_field {
  char *name;
  int is_set;           /* elems holds the set's elements */
  uint8_t *value;       /* canonical msgpack (LWW fields) */
  size_t value_len;
  char **elems;
  size_t n_elems;
} store_field;

typedef struct store_record {
  char type[STEK_MAX_NAME_BYTES + 1];
  uint8_t rid[16];
  store_field *fields;
  size_t n_fields;
} store_record;

/* STEK_ENOTFOUND unless live. */
int store_record_load(store *st, int64_t sp, const char *type,
                      const uint8_t rid[16], store_record *out);
void store_record_clear(store_record *r);
/* Each live record of type (all if NULL), ordered by (type, rid). */
typedef int (*store_record_cb)(void *ctx, const char *type, const uint8_t *rid);
int store_record_each(store *st, int64_t sp, const char *type,
                      store_record_cb cb, void *ctx);

int store_state_hash(store *st, int64_t sp, uint8_t out[32]);

/* Signals (crdt/signal.h).  A record is stored once; a withdrawal is kept
 * and blanks the signal it names if the receipt hash matches, now or on
 * the signal's arrival.  The caller decides whether it matches (comparing
 * hashes in constant time, crdt/signal.h): store_signal_receipt() gives a
 * signal's receipt hash, store_signal_withdrawals() those of the
 * withdrawals naming it so far. */
int store_signal_add(store *st, int64_t sp, const signal_msg *m, int withdrawn);
int store_signal_withdraw(store *st, int64_t sp, const uint8_t target[16],
                          const uint8_t receipt_hash[32], int erase);
/* STEK_ENOTFOUND if the space holds no signal sid. */
int store_signal_receipt(store *st, int64_t sp, const uint8_t sid[16],
                         uint8_t receipt_hash[32]);
/* cb with the receipt hash of each withdrawal of target; non-zero stops
 * and is returned. */
typedef int (*store_withdrawal_cb)(void *ctx, const uint8_t receipt_hash[32]);
int store_signal_withdrawals(store *st, int64_t sp, const uint8_t target[16],
                             store_withdrawal_cb cb, void *ctx);
int store_signal_by_receipt(store *st, int64_t sp, const uint8_t receipt_hash[32],
                            uint8_t sid[16]);
typedef int (*store_signal_cb)(void *ctx, const uint8_t *sid, const char *week,
                               const char *theme, const char *site,
                               const char *text);
int store_signal_each(store *st, int64_t sp, store_signal_cb cb, void *ctx);

/* Full-text index (FTS5, diacritics folded): re-index one record as it is
 * now (removing it if deleted), inside the caller's transaction.  The FTS5
 * writes are queued: store_fts_flush() does them, for every record queued,
 * before the commit; store_fts_discard() (and a rollback) drops them. */
int store_fts_refresh(store *st, int64_t sp, const char *type, const uint8_t rid[16]);
int store_fts_flush(store *st);
void store_fts_discard(store *st);
/* Records of type matching an FTS5 query, best (bm25) first. */
int store_fts_search(store *st, int64_t sp, const char *type, const char *match,
                     store_record_cb cb, void *ctx);

/* As store_change_each(), only the changes with hlc >= min_hlc (a signal's
 * hlc is the start of its week): what a bundle --since carries. */
int store_change_each_since(store *st, int64_t sp, uint64_t min_hlc,
                            store_bytes_cb cb, void *ctx);

#endif
