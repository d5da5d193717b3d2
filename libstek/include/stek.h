/*
 * stek.h -- the public interface of libstek.
 *
 * libstek is an encrypted, conflict-free replicated store for schedules,
 * directory entries and anonymous signals, synced peer to peer between the
 * devices of a team.  This is the only header an application includes.
 *
 * Conventions (as in libuv and SQLite):
 *   - Every handle is opaque (stek *, stek_record *).
 *   - Functions returning int return STEK_OK (0), a positive informational
 *     code where documented, or a negative STEK_E* code; stek_strerror()
 *     names any code and stek_errmsg() gives the detail of the last failure
 *     on a handle.
 *   - What the library allocates, the caller releases with the matching
 *     stek_*_free() function.  Callbacks never own what they are handed.
 *   - Times are int64_t milliseconds since the Unix epoch, UTC.
 *   - Record ids and space ids are 16 bytes (32 hex digits in text),
 *     device ids are 32-byte Ed25519 public keys.
 *
 * Thread rules: a stek handle may be used by one thread at a time; distinct
 * handles (even on the same store file) may be used from distinct threads
 * concurrently.  Callbacks run on the thread that made the call that fired
 * them, before that call returns, and must not call back into the handle
 * except through the stek_record they are given.
 */
#ifndef STEK_H
#define STEK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(STEK_SHARED_BUILD)
#define STEK_API __declspec(dllexport)
#elif defined(__GNUC__)
#define STEK_API __attribute__((visibility("default")))
#else
#define STEK_API
#endif

/* ---- Version ------------------------------------------------------------ */

#define STEK_VERSION_MAJOR 0
#define STEK_VERSION_MINOR 1
#define STEK_VERSION_PATCH 0
#define STEK_VERSION_STRING "0.1.0"
/* MAJOR*10000 + MINOR*100 + PATCH, for compile-time comparisons. */
#define STEK_VERSION_NUMBER \
  (STEK_VERSION_MAJOR * 10000 + STEK_VERSION_MINOR * 100 + STEK_VERSION_PATCH)

/* The version of the library linked at run time, e.g. "0.1.0". */
STEK_API const char *stek_version(void);
/* The same as STEK_VERSION_NUMBER, of the library linked at run time. */
STEK_API int stek_version_number(void);

/* ---- Result codes ------------------------------------------------------- */

#define STEK_OK 0
/* stek_ingest(): the change was already held; nothing was written. */
#define STEK_DUPLICATE 1

#define STEK_ERROR (-1)      /* unspecified failure */
#define STEK_ENOMEM (-2)     /* out of memory */
#define STEK_EINVAL (-3)     /* invalid argument from the caller */
#define STEK_EIO (-4)        /* the store could not be read or written */
#define STEK_ENOTFOUND (-5)  /* no such record */
#define STEK_ESTATE (-6)     /* call not valid now (e.g. commit without begin) */
#define STEK_ENOSPACE (-7)   /* no such space, or no space chosen */
#define STEK_ECORRUPT (-8)   /* stored data is damaged */
/* Rejections of outside bytes (a change from a peer, a file, a caller): */
#define STEK_ETRUNCATED (-10) /* input ends before its encoding does */
#define STEK_ETOOBIG (-11)    /* a size or count exceeds its limit */
#define STEK_EMALFORMED (-12) /* not a well-formed, canonical encoding */
#define STEK_ESIGNATURE (-13) /* signature does not verify */
#define STEK_EFUTURE (-14)    /* timestamp too far ahead of this clock */
#define STEK_EVERSION (-15)   /* unknown format version */
/* Sync over the network (stek_sync(), stek_server_start()): */
#define STEK_ETIMEDOUT (-16)  /* the peer went quiet, or a session ran, longer than allowed */
#define STEK_ECANCELED (-17)  /* cancelled by the caller */
#define STEK_ENET (-18)       /* cannot resolve, connect, bind, or the connection broke */
/* Encryption at rest (stek_open(), stek_rekey()): */
#define STEK_EKEY (-19)       /* wrong passphrase or key */
#define STEK_EREVOKED (-20)   /* the device was revoked from the space */
#define STEK_EBUSY (-22)      /* too many concurrent sessions */
/* Pairing (stek_pair_join(), stek_pair_offer()): */
#define STEK_EREFUSED (-21)   /* the other side or the user did not confirm the pairing code */

/* A static, human-readable description of a result code. */
STEK_API const char *stek_strerror(int code);

/* ---- Limits (fixed by the format; see docs/PROTOCOL.md, "Limits") -------- */

/* What a peer, a bundle or a caller sends is refused beyond these with
 * STEK_ETOOBIG (and nothing is stored); the message in stek_errmsg() names
 * the limit, never the data.  Values nest one level at most -- an integer,
 * a string, nil or a list of strings -- deeper is STEK_EMALFORMED.  Also
 * limited elsewhere: clock drift (stek_config.max_clock_skew_ms,
 * STEK_EFUTURE), a sync frame (1 MiB + 64 KiB; 1 152 bytes before the
 * handshake ends), and a server's sessions (stek_server_options). */

#define STEK_ID_BYTES 16          /* record and space ids */
#define STEK_DEVICE_ID_BYTES 32   /* Ed25519 public key */
#define STEK_HASH_BYTES 32        /* BLAKE2b-256: change ids, state hash */
#define STEK_MAX_CHANGE_BYTES (1u << 20) /* one encoded change */
#define STEK_MAX_OPS 4096         /* ops in one change */
#define STEK_MAX_FIELDS 256       /* fields in one put op */
#define STEK_MAX_NAME_BYTES 64    /* a type or field name */
#define STEK_MAX_STRING_BYTES 65536 /* a string value or set element */
#define STEK_MAX_LIST_ITEMS 256   /* strings in one list value */
/* Changes in one sync message (OPS or SEALED); a sender packs at most
 * this many, a receiver refuses more (STEK_ETOOBIG) before reading any. */
#define STEK_MAX_MESSAGE_OPS 1024

/* ---- Opening a store ---------------------------------------------------- */

typedef struct stek stek;

typedef struct stek_config {
  /* Changes dated more than this far ahead of the local clock are refused
   * (STEK_EFUTURE).  Default 24 hours; tablets' clocks are often wrong. */
  int64_t max_clock_skew_ms;
  /* The wall clock, in ms since the epoch (UTC).  NULL: the system clock.
   * Tests and simulators pass their own. */
  int64_t (*clock)(void *clock_ctx);
  void *clock_ctx;
  /* Where the IANA time zone files (TZif) are.  NULL: $TZDIR, else
   * /usr/share/zoneinfo.  Android apps point this at their own copy.
   * stek_open() copies the string: it need not outlive the call. */
  const char *zoneinfo_dir;
  /* For simulators and tests only: 32 bytes from which the device key pair
   * is derived when the store is created, so that a run replays exactly.
   * NULL (always, in an app): a fresh random identity. */
  const uint8_t *identity_seed;
  /* Encryption at rest: the store's passphrase, passphrase_len bytes (any
   * bytes, at least one).  The store key is derived from it with Argon2id,
   * and everything SQLite writes -- the database, its journal and WAL -- is
   * encrypted and authenticated (docs/SECURITY.md).  NULL: the store is a
   * plaintext SQLite file, for tests and tools only -- an app must give a
   * passphrase.  A store created with a passphrase does not open without
   * the right one, nor a plaintext store with one: STEK_EKEY, and nothing
   * is changed (stek_rekey() encrypts a plaintext store).  The pointer is
   * not kept after stek_open() returns. */
  const char *passphrase;
  size_t passphrase_len;
  /* Argon2id cost of the key derivation when a store is created or its
   * passphrase changed; an existing store keeps the cost it was given.
   * Defaults STEK_PWHASH_OPSLIMIT_DEFAULT and STEK_PWHASH_MEMLIMIT_DEFAULT
   * (libsodium's "interactive": 64 MiB, a fraction of a second); a slow
   * tablet may lower them, tests use the _MIN values.  0: the default. */
  unsigned long long pwhash_opslimit;
  size_t pwhash_memlimit;
  /* Pairing by short authentication string (stek_pair_offer()): on a
   * server, asked whether the six digits shown match those on the new
   * device's screen (see stek_pair_confirm_cb).  NULL: every pairing is
   * refused. */
  int (*pair_confirm)(void *pair_confirm_ctx, const char sas[7]);
  void *pair_confirm_ctx;
  /* The device's IANA time zone ("Europe/Brussels"), read from
   * zoneinfo_dir: the ISO week of a signal (stek_signal_record()) is that
   * of the local date there, so the first hours of a Monday in Brussels
   * already count as the new week.  NULL: "Europe/Brussels".  A name that
   * is not a zone name is STEK_EINVAL from stek_open(); a zone that cannot
   * be loaded fails the signal calls (STEK_ENOTFOUND, STEK_EMALFORMED).
   * stek_open() copies the string, as it does zoneinfo_dir. */
  const char *local_tz;
} stek_config;

/* Argon2id cost limits for stek_config (those of libsodium's crypto_pwhash
 * for Argon2id v1.3; the _MAX values are libstek's own bounds). */
#define STEK_PWHASH_OPSLIMIT_MIN 1ULL
#define STEK_PWHASH_OPSLIMIT_DEFAULT 2ULL
#define STEK_PWHASH_OPSLIMIT_MAX 64ULL
#define STEK_PWHASH_MEMLIMIT_MIN ((size_t)8192)
#define STEK_PWHASH_MEMLIMIT_DEFAULT ((size_t)67108864)
#define STEK_PWHASH_MEMLIMIT_MAX ((size_t)1 << 30)

/* Fill *cfg with the defaults.  Always call before setting fields, so code
 * keeps compiling and behaving as fields are added. */
STEK_API void stek_config_init(stek_config *cfg);

/* Open (creating if missing) the store in the SQLite file at path.  On the
 * first open a device identity (an Ed25519 key pair) is created.  cfg may be
 * NULL for the defaults.  As in SQLite, *out receives a handle even when the
 * open fails (except on STEK_ENOMEM, where it is NULL), so that
 * stek_errmsg() can tell why; close it with stek_close() either way. */
STEK_API int stek_open(stek **out, const char *path, const stek_config *cfg);

/* Close the handle; a transaction still open is rolled back.  NULL is a no-op. */
STEK_API void stek_close(stek *s);

/* The detail of the last failure on s (never NULL; "" after success). */
STEK_API const char *stek_errmsg(const stek *s);

/* This device's id: its Ed25519 public key. */
STEK_API void stek_device_id(const stek *s, uint8_t id[STEK_DEVICE_ID_BYTES]);

/* Change the store's passphrase: copy the whole store, encrypted under a
 * key derived from new_passphrase (len bytes, at least one) with the
 * handle's pwhash_* cost, to "<path>.rekey" beside it, then rename it over
 * the store; the rename is the switch, so an interruption at any moment
 * leaves either the old store under the old passphrase or the new one
 * under the new.  new_passphrase NULL writes a plaintext store (tools
 * only); a plaintext store given a passphrase is encrypted.  The handle
 * stays open on the new store.  STEK_ESTATE inside a transaction or while
 * another handle has the store open (close it first). */
STEK_API int stek_rekey(stek *s, const char *new_passphrase, size_t len);

/* ---- Spaces ------------------------------------------------------------- */

/* Create a new space (fresh id and secret keys) named name (UTF-8, may be
 * empty), and make it the current space.  Its id goes to id. */
STEK_API int stek_space_create(stek *s, const char *name,
                               uint8_t id[STEK_ID_BYTES]);

/* The number of spaces the store holds. */
STEK_API int stek_space_count(stek *s, size_t *count);

/* The id and name of the i-th space (ordered by id); name points into s and
 * stays valid until the next call on s. */
STEK_API int stek_space_get(stek *s, size_t i, uint8_t id[STEK_ID_BYTES],
                            const char **name);

/* The id of the current space, or STEK_ENOSPACE if none is chosen. */
STEK_API int stek_space_current(stek *s, uint8_t id[STEK_ID_BYTES]);

/* Make the space with this id the current one.  When a store holds exactly
 * one space it is current from open on; record calls without a current space
 * fail with STEK_ENOSPACE. */
STEK_API int stek_space_use(stek *s, const uint8_t id[STEK_ID_BYTES]);

/* Seal this space's id, name and secret keys to another device, given its
 * device id, so that it can join the space (stek_space_accept()).  Only that
 * device can open the result (crypto_box_seal to its key); *out is freed
 * with stek_free().  Invitations over the network build on this. */
STEK_API int stek_space_share(stek *s, const uint8_t device[STEK_DEVICE_ID_BYTES],
                              uint8_t **out, size_t *len);

/* Join the space sealed to this device by stek_space_share(), and make it
 * current.  STEK_DUPLICATE if the space is already held; STEK_EMALFORMED if
 * the bytes are damaged or were sealed to another device. */
STEK_API int stek_space_accept(stek *s, const uint8_t *sealed, size_t len);

/* ---- Members and revocation --------------------------------------------- */

/*
 * The members of a space are a replicated set of device keys: sharing the
 * space with a device (stek_space_share(), an invitation) records it, and
 * every author of a change counts too.  stek_device_revoke() starts a new
 * key epoch: a fresh key sealed to each remaining device (crypto_box_seal),
 * carried by sync like any change.  From then on, members that know of the
 * revocation refuse the revoked device's handshakes (STEK_EREVOKED on both
 * sides: a revoked device's stek_sync() to such a member is told so), refuse
 * (and purge) its changes dated after the revocation, and seal what leaves
 * a session -- ops for relays, bundles -- under the new epoch's key, which
 * the revoked device cannot compute.  Any member may revoke any other
 * device; a revocation cannot be undone (make the device join again).  The
 * records behind this have types starting "stek.", which only the library
 * writes (STEK_EINVAL from stek_put() and the like).
 * docs/SECURITY.md "Revocation" says what it does not protect.
 */

/* Called once per device of the current space, in key order; revoked is
 * non-zero for a revoked one.  Non-zero from cb stops the listing and is
 * returned. */
typedef int (*stek_device_cb)(void *ctx, const uint8_t device[STEK_DEVICE_ID_BYTES],
                              int revoked);
STEK_API int stek_device_list(stek *s, stek_device_cb cb, void *ctx);

/* Revoke device from the current space (one change).  STEK_ENOTFOUND if
 * the space knows no such device, STEK_ESTATE if it is revoked already,
 * STEK_EINVAL for this device itself, STEK_EREVOKED if this device was
 * revoked, STEK_ETOOBIG past 256 remaining devices. */
STEK_API int stek_device_revoke(stek *s, const uint8_t device[STEK_DEVICE_ID_BYTES]);

/* ---- Records ------------------------------------------------------------ */

/*
 * A record is a map of fields, named by (type, id) within a space.  A type is
 * 1..64 bytes of [a-z0-9_.-]; a field name is 1..64 bytes of UTF-8 without
 * control characters.  Field values are integers, strings (valid UTF-8) or
 * lists of strings.  The field names "id" and "type" are reserved (they
 * name the record in its JSON form).  Concurrent writes to one field resolve last-writer-wins
 * by (HLC, author); a delete is a tombstone that no write undoes, only an
 * explicit stek_restore() that is later than it.  A set field (stek_set_add /
 * stek_set_remove) merges element by element, so adds made on two devices
 * both survive; it reads back as a sorted list.
 *
 * Every write outside stek_begin()/stek_commit() is its own change.
 */

enum stek_value_kind {
  STEK_VALUE_NONE = 0, /* typed puts: remove the field (as stek_put(NULL)) */
  STEK_VALUE_INT = 1,
  STEK_VALUE_STR = 2,
  STEK_VALUE_LIST = 3
};

typedef struct stek_value {
  int kind;                 /* an enum stek_value_kind */
  int64_t i;                /* STEK_VALUE_INT */
  const char *str;          /* STEK_VALUE_STR: NUL-terminated UTF-8 */
  const char *const *list;  /* STEK_VALUE_LIST: list_len strings */
  size_t list_len;
} stek_value;

/* Fill id with a fresh random record id. */
STEK_API void stek_id_new(uint8_t id[STEK_ID_BYTES]);
/* 32 lowercase hex digits and a NUL into hex[33]. */
STEK_API void stek_id_to_hex(const uint8_t id[STEK_ID_BYTES], char hex[33]);
/* Parse exactly 32 hex digits; STEK_EINVAL otherwise. */
STEK_API int stek_id_from_hex(const char *hex, uint8_t id[STEK_ID_BYTES]);

/* Set field to value; value NULL removes the field. */
STEK_API int stek_put(stek *s, const char *type, const uint8_t id[STEK_ID_BYTES],
                      const char *field, const stek_value *value);
/* Delete the record (a tombstone). */
STEK_API int stek_delete(stek *s, const char *type,
                         const uint8_t id[STEK_ID_BYTES]);
/* Undo deletes of the record made before this call (by HLC). */
STEK_API int stek_restore(stek *s, const char *type,
                          const uint8_t id[STEK_ID_BYTES]);
/* Add / remove one element of a set field. */
STEK_API int stek_set_add(stek *s, const char *type,
                          const uint8_t id[STEK_ID_BYTES], const char *field,
                          const char *element);
STEK_API int stek_set_remove(stek *s, const char *type,
                             const uint8_t id[STEK_ID_BYTES],
                             const char *field, const char *element);

/* Transactions: the writes between begin and commit become one change,
 * atomically; reads inside see them.  rollback discards them.  Transactions
 * do not nest (STEK_ESTATE). */
STEK_API int stek_begin(stek *s);
STEK_API int stek_commit(stek *s);
STEK_API int stek_rollback(stek *s);

typedef struct stek_record stek_record;

/* Read a live record: STEK_ENOTFOUND if it has no fields or is deleted.
 * Free *out with stek_record_free(). */
STEK_API int stek_get(stek *s, const char *type, const uint8_t id[STEK_ID_BYTES],
                      stek_record **out);
STEK_API void stek_record_free(stek_record *r);

STEK_API const char *stek_record_type(const stek_record *r);
STEK_API const uint8_t *stek_record_id(const stek_record *r);
/* Fields are ordered by name (bytewise). */
STEK_API size_t stek_record_field_count(const stek_record *r);
/* The i-th field's name and value; both point into r. */
STEK_API int stek_record_field(const stek_record *r, size_t i,
                               const char **name, stek_value *value);
/* The value of the named field, or STEK_ENOTFOUND. */
STEK_API int stek_record_find(const stek_record *r, const char *name,
                              stek_value *value);
/* The record as one line of JSON, {"id":"<hex>","type":..,<fields>}; free
 * with stek_free().  NULL if out of memory. */
STEK_API char *stek_record_json(const stek_record *r);
/* Free memory the library returned (stek_record_json()). */
STEK_API void stek_free(void *p);

/* Call cb for each live record of type (all types if type is NULL, but
 * for the library's own "stek." types, which only a type given by name
 * lists) in the current space, ordered by (type, id).  A non-zero return
 * from cb stops the listing and is returned.  (The change callback, below,
 * does report changes to "stek." records: membership changes.) */
typedef int (*stek_record_cb)(void *ctx, const stek_record *r);
STEK_API int stek_list(stek *s, const char *type, stek_record_cb cb, void *ctx);

/* ---- Change notification ------------------------------------------------ */

enum stek_origin { STEK_ORIGIN_LOCAL = 1, STEK_ORIGIN_REMOTE = 2 };

/* Called once per record touched by a committed change (local or ingested),
 * after the commit.  The record may now be deleted; read it with stek_get()
 * after the triggering call returns, not from inside the callback. */
typedef void (*stek_change_cb)(void *ctx, const char *type,
                               const uint8_t id[STEK_ID_BYTES], int origin);
/* Install (or with NULL remove) the change callback of s. */
STEK_API void stek_set_change_callback(stek *s, stek_change_cb cb, void *ctx);

/* ---- Changes: the replication unit -------------------------------------- */

/* Ingest one encoded change from anywhere: check its form, limits, clock and
 * signature, store it and merge it.  Returns STEK_OK if it was stored,
 * STEK_DUPLICATE if it was already held, or a negative code; a rejected
 * change leaves the store unchanged.  The change names its own space, which
 * the store must hold (STEK_ENOSPACE otherwise). */
STEK_API int stek_ingest(stek *s, const uint8_t *change, size_t len);

/* Call cb with each change of the current space, ordered by (HLC, id).  The
 * bytes are valid only during the call.  A non-zero return from cb stops
 * the walk and is returned. */
typedef int (*stek_bytes_cb)(void *ctx, const uint8_t *bytes, size_t len);
STEK_API int stek_changes(stek *s, stek_bytes_cb cb, void *ctx);

/* The number of changes the current space holds. */
STEK_API int stek_change_count(stek *s, uint64_t *count);

/* The state hash of the current space: BLAKE2b-256 over its materialized
 * state (docs/PROTOCOL.md).  Replicas holding the same changes have equal
 * hashes, whatever order the changes arrived in. */
STEK_API int stek_state_hash(stek *s, uint8_t hash[STEK_HASH_BYTES]);

/* ---- Sync ---------------------------------------------------------------- */

/* What a sync did, for a summary or a progress bar.  bytes count
 * everything on the wire, handshake included; round_trips the times one
 * side had to wait for the other's answer.
 *
 * The totals are what is known so far, so they grow as reconciliation
 * finds differences.  ops_total = ops_sent + ops_received + the ops this
 * side knows are still to move (found missing on either side and not yet
 * sent, or asked for and not yet received).  bytes_total = bytes_sent +
 * bytes_received + an estimate of the bytes of those ops (the mean size of
 * the ops moved so far, 256 bytes each before any has) + bytes already
 * produced and not yet sent; it does not foresee reconciliation messages
 * to come, and may shrink when the mean does.  Always
 * ops_sent + ops_received <= ops_total and bytes_sent + bytes_received <=
 * bytes_total; when a sync succeeds both are equalities.  A progress bar:
 * (bytes_sent + bytes_received) / bytes_total. */
typedef struct stek_sync_stats {
  uint64_t ops_sent, ops_received;
  uint64_t ops_total; /* known so far: sent + received + still to move */
  uint64_t bytes_sent, bytes_received;
  uint64_t round_trips;
  /* Members are only ever added here, at the end. */
  uint64_t bytes_total; /* known so far: sent + received + estimated to move */
} stek_sync_stats;

/*
 * A cancellation flag for stek_sync().  stek_cancel_trigger() may be called
 * from any thread, from a progress callback or from a signal handler (it is
 * one atomic store); the sync it is attached to notices within about 20 ms
 * (at once when triggered from its own progress callback) and fails with
 * STEK_ECANCELED.  A triggered flag stays set: a sync started with it fails
 * at once.  Free it only after every sync using it has returned.
 */
typedef struct stek_cancel stek_cancel;
STEK_API int stek_cancel_new(stek_cancel **out);
STEK_API void stek_cancel_trigger(stek_cancel *c);
STEK_API int stek_cancel_triggered(const stek_cancel *c);
STEK_API void stek_cancel_free(stek_cancel *c);

/* Progress: called on the thread running stek_sync(), whenever ops or
 * bytes have moved, with the counters so far.  It must not call into the
 * stek handle being synced (it may trigger a cancel). */
typedef void (*stek_progress_cb)(void *ctx, const stek_sync_stats *stats);

typedef struct stek_sync_options {
  /* Fail with STEK_ETIMEDOUT when nothing at all (connecting included) has
   * happened on the connection for this long.  Default 30 000 ms. */
  int timeout_ms;
  stek_progress_cb progress; /* may be NULL */
  void *progress_ctx;
  stek_cancel *cancel; /* may be NULL */
  /* Non-zero: the peer is a blind relay (stek_relay_share()).  A member
   * then exchanges its current space's ops sealed; a store that holds no
   * space but a relay capability always syncs this way. */
  int relay;
  /* Fail with STEK_ETIMEDOUT once the whole sync (connecting included)
   * has lasted this long, however busy the connection: a peer that
   * trickles a byte now and then cannot hold the caller for ever.  Must be
   * positive (STEK_EINVAL otherwise); default STEK_SYNC_SESSION_MS, the
   * same as a server's own limit, so no sync a default server allows is
   * cut short by its client. */
  int64_t session_ms;
} stek_sync_options;

#define STEK_SYNC_SESSION_MS 900000 /* default session_ms: 15 min */

/* Fill *opt with the defaults.  Always call before setting fields. */
STEK_API void stek_sync_options_init(stek_sync_options *opt);

/*
 * Sync the current space of s once with a device serving it at host:port
 * (a numeric IPv4 or IPv6 address, or a name to resolve), over TCP, and
 * return when done: STEK_OK once both sides hold the same changes, or
 * STEK_ETIMEDOUT, STEK_ECANCELED, STEK_ENET (no connection, or it broke;
 * also a peer that closes during the handshake, as a server does for a
 * device of another space), STEK_EREVOKED (this device was revoked: the
 * server says so), or the session's own failure (bad peer data:
 * STEK_EMALFORMED and the like); the detail is in stek_errmsg(s).  Every
 * change received is committed as it arrives, so a sync that fails midway
 * loses nothing and the next one sends only what is still missing.
 * opt may be NULL for the defaults; stats (may be NULL) receives the
 * counters, also after a failure.
 *
 * Thread rules: blocks the calling thread, which runs its own event loop;
 * s is used only on that thread and only during the call.  Distinct
 * handles may sync from distinct threads at once.
 */
STEK_API int stek_sync(stek *s, const char *host, int port,
                       const stek_sync_options *opt, stek_sync_stats *stats);

/*
 * A sync server: a thread of its own serving the spaces held by the store
 * at store_path to several devices at once, each connection its own
 * session.  Its limits against hostile or broken peers are in
 * stek_server_options (opt NULL: the defaults below):
 *   - at most max_peers sessions at once; a connection beyond them is
 *     accepted and closed at once (STEK_EBUSY);
 *   - a session is cut after idle_ms without traffic (STEK_ETIMEDOUT) and
 *     after session_ms in all, however busy (STEK_ETIMEDOUT): a peer that
 *     trickles bytes cannot hold a slot for ever.  What a cut session
 *     received is kept; its peer resumes with a new one.
 * It opens its own handle on the store (cfg may be NULL), so the
 * application may go on using its own handles on the same file meanwhile.
 *
 * bind_addr is a numeric IPv4 or IPv6 address (NULL: "127.0.0.1"); port 0
 * takes any free port (see stek_server_port()).  As stek_open(), *out
 * receives a handle even when the start fails (except on STEK_ENOMEM), so
 * that stek_server_errmsg() can tell why; release it with
 * stek_server_stop() either way.  STEK_EINVAL for options out of range.
 *
 * Thread rules: the functions below may be called from any one thread at a
 * time (not from a signal handler); stek_server_stop() wakes the server's
 * thread, closes every connection, joins the thread and frees the server.
 */
#define STEK_SERVER_MAX_PEERS 64        /* default max_peers */
#define STEK_SERVER_IDLE_MS 30000       /* default idle_ms: 30 s */
#define STEK_SERVER_SESSION_MS 900000   /* default session_ms: 15 min */
typedef struct stek_server stek_server;

/* Called on the server's thread as each session ends (a refused
 * connection too): rc is STEK_OK or the negative code it failed with, msg
 * its detail ("" after success; it names the limit a peer broke, never
 * the peer's data; valid during the call).  It must not block or call
 * into the server. */
typedef void (*stek_session_end_cb)(void *ctx, int rc, const char *msg);

typedef struct stek_server_options {
  int max_peers;      /* sessions at once, >= 1; default STEK_SERVER_MAX_PEERS */
  int64_t idle_ms;    /* > 0; default STEK_SERVER_IDLE_MS */
  int64_t session_ms; /* > 0; default STEK_SERVER_SESSION_MS */
  stek_session_end_cb on_session_end; /* may be NULL */
  void *on_session_end_ctx;
} stek_server_options;

/* Fill *opt with the defaults.  Always call before setting fields. */
STEK_API void stek_server_options_init(stek_server_options *opt);

STEK_API int stek_server_start(stek_server **out, const char *store_path,
                               const stek_config *cfg, const char *bind_addr,
                               int port, const stek_server_options *opt);
/* The port the server listens on (0 if it failed to start). */
STEK_API int stek_server_port(const stek_server *srv);
/* The detail of the start failure ("" after success; never NULL). */
STEK_API const char *stek_server_errmsg(const stek_server *srv);
/* Sessions served so far that ended DONE, and that failed. */
STEK_API void stek_server_counts(const stek_server *srv, uint64_t *done,
                                 uint64_t *failed);
/* Stop and free the server; NULL is a no-op. */
STEK_API void stek_server_stop(stek_server *srv);

/* ---- Discovery ----------------------------------------------------------- */

/*
 * LAN discovery: a device announces, by UDP beacons, that it serves sync for
 * its spaces; devices of the same space recognise the beacons, anyone else
 * sees random bytes.  A beacon carries a tag keyed by the space's secret
 * and the current 10-minute window, salted afresh each time: it names no
 * space or device, and two beacons cannot be linked (docs/PROTOCOL.md,
 * "Discovery beacon").
 *
 * By default beacons go to both UDP broadcast 255.255.255.255 (the local
 * link; SO_BROADCAST) and the administratively scoped multicast group
 * 239.255.47.115 (TTL 1), on port 47115; a listener binds 0.0.0.0:47115
 * (SO_REUSEADDR, so several listeners share it) and joins the group.  Tests
 * and special setups give an address and port of their own instead.
 */

#define STEK_DISCOVERY_PORT 47115
#define STEK_DISCOVERY_BROADCAST "255.255.255.255"
#define STEK_DISCOVERY_GROUP "239.255.47.115"
#define STEK_DISCOVERY_PERIOD_MS 2000

/* A device found: a space this store holds, and where its sync is served
 * (the beacon's sender address and the TCP port the beacon names). */
typedef struct stek_peer {
  uint8_t space[STEK_ID_BYTES];
  char host[46]; /* numeric IPv4 or IPv6 address, NUL-terminated */
  uint16_t port;
} stek_peer;

/* Called once per distinct (space, host, port) found in one discovery run.
 * A non-zero return stops the run, and stek_discover() returns it. */
typedef int (*stek_peer_cb)(void *ctx, const stek_peer *peer);

typedef struct stek_discover_options {
  /* How long to listen, in ms; default 5000. */
  int64_t timeout_ms;
  /* Where to listen: a numeric IPv4 or IPv6 address, or NULL for 0.0.0.0
   * with the multicast group joined (only then is the group joined). */
  const char *address;
  /* UDP port to listen on; default STEK_DISCOVERY_PORT. */
  uint16_t port;
} stek_discover_options;

/* Fill *opt with the defaults; always call before setting fields. */
STEK_API void stek_discover_options_init(stek_discover_options *opt);

/* Listen for beacons of the spaces s holds, for opt->timeout_ms (opt NULL:
 * the defaults), calling cb for each device found.  Blocks the calling
 * thread, on a libuv loop of its own; s is busy for the whole call (the
 * same thread rules as any call on s: cb must not call into s).  Returns
 * STEK_OK at the timeout, cb's non-zero return if it stopped the run,
 * STEK_ENOSPACE if s holds no space, STEK_EIO if the port cannot be bound
 * (the reason in stek_errmsg()).  A device that announces hears its own
 * beacons too: a beacon names no device. */
STEK_API int stek_discover(stek *s, const stek_discover_options *opt,
                           stek_peer_cb cb, void *ctx);

typedef struct stek_announce_options {
  /* The TCP port where this device serves sync, carried in the beacons. */
  uint16_t serve_port;
  /* Time between two rounds of beacons, in ms; default
   * STEK_DISCOVERY_PERIOD_MS, at least 10.  The first round goes at once. */
  int64_t period_ms;
  /* Where to send: a numeric IPv4 or IPv6 address (STEK_DISCOVERY_BROADCAST
   * or STEK_DISCOVERY_GROUP alone too), or NULL for both the broadcast
   * address and the multicast group above. */
  const char *address;
  /* UDP port to send to; default STEK_DISCOVERY_PORT. */
  uint16_t port;
} stek_announce_options;

/* Fill *opt with the defaults; always call before setting fields. */
STEK_API void stek_announce_options_init(stek_announce_options *opt);

typedef struct stek_announcer stek_announcer;

/* Start announcing the spaces of the store at store_path (cfg: as for
 * stek_open(); NULL for the defaults): one beacon per space held -- read
 * afresh each round, so a space joined meanwhile is announced too -- every
 * period.  The announcer opens its own handle on the store and runs on a
 * thread of its own until stek_announcer_stop(); the caller's handles are
 * not touched, and the calls on one announcer must come from one thread at
 * a time.  As with stek_open(), *out receives a handle even when the start
 * fails (except on STEK_ENOMEM, where it is NULL), for
 * stek_announcer_errmsg(); stop it either way.  STEK_EIO if the socket
 * cannot be set up. */
STEK_API int stek_announcer_start(stek_announcer **out, const char *store_path,
                                  const stek_config *cfg,
                                  const stek_announce_options *opt);

/* Stop announcing: wake the announcer's loop, wait for its thread to end,
 * close its store handle and free it.  NULL is a no-op. */
STEK_API void stek_announcer_stop(stek_announcer *a);

/* Why the start failed (never NULL; "" if it did not). */
STEK_API const char *stek_announcer_errmsg(const stek_announcer *a);

/* ---- Invitations --------------------------------------------------------- */

/* "STEK-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XX" and a NUL. */
#define STEK_INVITE_BYTES 38
#define STEK_INVITE_MAX_TTL_MS (30LL * 24 * 3600 * 1000)

/* Create a one-time invitation to the current space, valid for ttl_ms.
 * Give the token to the new device (typed, or as a QR code); it joins with
 * stek_invite_accept() through this store while it serves.  The token
 * works once, and not after it expires. */
STEK_API int stek_invite_create(stek *s, int64_t ttl_ms, char token[STEK_INVITE_BYTES]);

/* Join a space with an invitation token, through the member serving at
 * host:port (blocking, like stek_sync(); opt may be NULL).  On success the
 * space is held and current: run stek_sync() to fetch its content.
 * STEK_EINVAL for a malformed token, STEK_EKEY if the member refused it
 * (used, expired or unknown), STEK_ENET if it could not be reached. */
struct stek_sync_options;
STEK_API int stek_invite_accept(stek *s, const char *token, const char *host, int port,
                                const struct stek_sync_options *opt);

/* ---- Pairing by short authentication string ---------------------------- */

/*
 * A new device joins without typing a token: a member opens a pairing
 * offer, the new device connects to the member's server, both screens show
 * the same six digits, both users confirm, and the member sends the space
 * sealed to the new device (as an invitation does).  The handshake is
 * Noise XX with a public PSK, so only the digits authenticate the peers:
 * a man in the middle is caught when the users compare them, except with
 * probability 10^-6 (docs/SECURITY.md §Pairing).
 *
 * Confirmation: called with the six digits and a NUL ("042917"); return
 * non-zero only if the user saw the same digits on the other screen and
 * agreed.  It is called on the thread running the session (on a member,
 * the server's thread, which serves no one else meanwhile: answer within
 * the peer's timeout).
 */
typedef int (*stek_pair_confirm_cb)(void *ctx, const char sas[7]);

#define STEK_PAIR_MAX_TTL_MS (60LL * 60 * 1000)

/* Member: open a one-shot pairing offer to the current space for ttl_ms
 * (1 ms to an hour), replacing any offer still open.  A server on this
 * store then accepts one pairing connection, asking its config's
 * pair_confirm.  The offer closes at the first pairing attempt, whatever
 * its outcome, so an attacker gets one guess in 10^6 per offer. */
STEK_API int stek_pair_offer(stek *s, int64_t ttl_ms);

/* New device: pair with the member serving at host:port (blocking, like
 * stek_sync(); opt may be NULL).  confirm (required) is asked with the
 * digits.  On success the space is held and current, its id in space_out
 * (may be NULL): run stek_sync() to fetch its content.  STEK_EREFUSED if
 * either user did not confirm, or the member had no pairing offer open
 * (none, used or expired); STEK_ESIGNATURE if the member's reveal did not
 * match its commitment (an attack); STEK_ENET if unreachable. */
STEK_API int stek_pair_join(stek *s, const char *host, int port, stek_pair_confirm_cb confirm,
                            void *ctx, const struct stek_sync_options *opt,
                            uint8_t space_out[STEK_ID_BYTES]);

/* ---- Blind relays ------------------------------------------------------- */

/* Let the device with this id carry the current space's ops without being
 * able to read them: it gets a relay capability sealed to it (free *out
 * with stek_free()).  A relay stores ops sealed under a key it does not
 * have, with only their id and timestamp, and hands them on to members. */
STEK_API int stek_relay_share(stek *s, const uint8_t device[STEK_DEVICE_ID_BYTES],
                              uint8_t **out, size_t *len);
/* On the relay: accept a capability sealed to this device. */
STEK_API int stek_relay_accept(stek *s, const uint8_t *share, size_t len);
/* How many sealed ops this store carries for spaces it relays. */
STEK_API int stek_relay_count(stek *s, uint64_t *ops);

/* ---- Typed records ----------------------------------------------------- */

/* One named value, for the typed put functions below. */
typedef struct stek_field {
  const char *name;
  stek_value value;
} stek_field;

/* ---- Schedules ----------------------------------------------------------- */

/*
 * A schedule entry (type "schedule") is an activity or a permanence at a
 * site.  stek_schedule_put() writes fields in one change, after checking
 * the ones it knows:
 *   title, site, notes        strings (title and site required on creation)
 *   start                     local time "YYYY-MM-DDTHH:MM[:SS]" (required
 *                             on creation)
 *   tz                        IANA zone, default "Europe/Brussels"
 *   minutes                   duration, 1..10080
 *   rrule                     an RFC 5545 RRULE value, e.g.
 *                             "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"
 *   exdates                   cancelled dates ("YYYY-MM-DD" or local
 *                             date-times): ADDED to the entry's set of
 *                             cancelled dates, never removed by a put, so
 *                             cancellations made on two devices both survive
 *   orgs, languages           lists of strings
 *   cost                      an integer (euro cents) or a string
 * Other fields are stored as given; a field whose value.kind is
 * STEK_VALUE_NONE is removed (title, site and start cannot be).  A value
 * that does not check out is STEK_EINVAL with the reason in stek_errmsg(),
 * and nothing is written.
 */
STEK_API int stek_schedule_put(stek *s, const uint8_t id[STEK_ID_BYTES],
                               const stek_field *fields, size_t n);

/* Cancel (cancel != 0) or reinstate one date of a schedule entry. */
STEK_API int stek_schedule_cancel(stek *s, const uint8_t id[STEK_ID_BYTES],
                                  const char *date, int cancel);

typedef struct stek_occurrence {
  uint8_t id[STEK_ID_BYTES]; /* the schedule entry */
  char start[32];            /* local, with offset: "2026-03-05T13:30:00+01:00" */
  char end[32];              /* start + minutes (default 60) */
  int64_t start_ms, end_ms;  /* UTC */
  const char *title, *site;  /* never NULL ("" if the entry has none) */
} stek_occurrence;
typedef int (*stek_occurrence_cb)(void *ctx, const stek_occurrence *o);

/* The occurrences of the live schedule entries (of site, if not NULL) that
 * start on a local date in [from, to) ("YYYY-MM-DD", each entry's own zone),
 * sorted by start, then entry id.  Recurring entries expand by their RRULE
 * minus cancelled dates, in local time across DST changes.  The window is
 * at most 3700 days (STEK_EINVAL beyond); entries that cannot be expanded
 * (written without checks through stek_put) are skipped. */
STEK_API int stek_schedule_occurrences(stek *s, const char *from, const char *to,
                                       const char *site, stek_occurrence_cb cb,
                                       void *ctx);

/* The live schedule entries (of site, if not NULL) as an RFC 5545
 * VCALENDAR (a VTIMEZONE for every zone used, RRULE, EXDATE; UID = record
 * id; CRLF, folded at 75 octets; control characters other than tab and
 * newline dropped from text).  DTSTART is each entry's first occurrence,
 * which may be later than its start: RFC 5545 counts DTSTART as an
 * occurrence even where the rule does not select it, libstek does not, and
 * so calendar apps show what stek_schedule_occurrences() gives.  Free *out
 * with stek_free(). */
STEK_API int stek_schedule_ics(stek *s, const char *site, char **out);

/* ---- Directory: the social map ----------------------------------------- */

/*
 * Directory entries are records of type "directory" with fields such as
 * org, service, category (income, housing, health, debt, digital, energy,
 * work, legal, family, mobility, food, education), tags (free, a set),
 * summary.nl / summary.fr / ... (plain-language text per language),
 * refer_how, bring, hours, phone, languages (a list).  Their text is
 * indexed for full-text search as it changes, here or on any device --
 * but for phone, hours, languages, email and website, which are not prose
 * and are not searched.
 */

/* Write a directory entry's fields in one change, checked: category must
 * be one of the vocabulary above; tags and languages are lists of strings
 * (tags are a set: added, never removed by a put); summary.LANG,
 * refer_how, bring, hours, phone, org, service are strings.  Other fields
 * are stored as given; a field whose value.kind is STEK_VALUE_NONE is
 * removed. */
STEK_API int stek_directory_put(stek *s, const uint8_t id[STEK_ID_BYTES],
                                const stek_field *fields, size_t n);

/* Search directory entries: every word of query must match the start of a
 * word of the entry (prefix search; case and diacritics do not matter:
 * "energie" finds "Énergie").  Best match first: BM25F over org,
 * service, category and tags, summaries, other text (weighted 5, 4, 3, 2,
 * 1), each normalised by its own length, so an entry is not ranked down
 * for having more fields filled in.  lang (may be NULL) keeps entries whose "languages" list it
 * or that have a summary.<lang>; category (may be NULL) keeps entries of
 * that category or tag.  STEK_EINVAL if the query has no words. */
STEK_API int stek_directory_search(stek *s, const char *query, const char *lang,
                                   const char *category, stek_record_cb cb,
                                   void *ctx);

/* ---- Bundles ------------------------------------------------------------ */

/*
 * A bundle is an encrypted, authenticated file of the changes and signals
 * of one space, to carry on a USB stick or send any way at all (format:
 * docs/PROTOCOL.md, "Bundle").  It names neither the space nor any device:
 * only a device holding the space's key can tell which space it is for or
 * read it, and two bundles of the same changes share no byte an outsider
 * could link.  Importing is idempotent and order-free: bundles may arrive
 * in any order, any number of times, and replicas converge.
 */

/* Write every change and signal of the current space whose timestamp is at
 * or after since_ms to a bundle at path (since_ms 0: all of them).  A
 * change's timestamp is its HLC's milliseconds; a signal's, the start
 * (Monday 00:00 UTC) of its ISO week.  The file is written to "<path>.tmp",
 * flushed to disk and renamed to path, so a crash never leaves a partial
 * bundle under the name; an existing file at path is replaced.  *count
 * (may be NULL) receives the number of changes written.  STEK_ENOSPACE
 * without a current space, STEK_EINVAL for a negative since_ms, STEK_EIO
 * if the file cannot be written. */
STEK_API int stek_bundle_export(stek *s, const char *path, int64_t since_ms,
                                uint64_t *count);

/* Import the bundle at path, of any space s holds (the current space does
 * not matter and does not change).  The whole file is first decrypted and
 * checked to its end -- every frame, and every change's form, space, clock
 * and signature -- with nothing stored; only then is each change ingested
 * as by stek_ingest().  *ingested and *duplicates (either may be NULL)
 * receive the changes stored and the changes already held.  A bad file
 * stores nothing: STEK_ETRUNCATED if it ends before its final frame,
 * STEK_ESIGNATURE if a frame does not authenticate (altered, reordered,
 * or a frame of another bundle) or a change's signature does not verify,
 * STEK_EMALFORMED if it is not a bundle or its structure is wrong,
 * STEK_EVERSION for a later format version, STEK_ETOOBIG for a frame over
 * its limit, STEK_EFUTURE for a change dated too far ahead, STEK_ENOSPACE
 * if it is a bundle of no space s holds.  STEK_EIO if the file cannot be
 * read; STEK_ESTATE inside a transaction.  (A wire that passes these checks
 * but that stek_ingest() still refuses -- a signal dated too far ahead --
 * stops the import there, keeping what came before, as a sync does.) */
STEK_API int stek_bundle_import(stek *s, const char *path, uint64_t *ingested,
                                uint64_t *duplicates);

/* ---- Anonymous signals -------------------------------------------------- */

/*
 * A signal is an anonymous observation of under-protection.  It carries no
 * author, device id, device signature or fine timestamp: only the ISO week
 * (set here from the local date in the device's zone, stek_config.local_tz,
 * default Europe/Brussels: Monday 00:30 in Brussels is Sunday 23:30 UTC and
 * already the new week), and it is authenticated only as written
 * by a member of the space.  Recording one returns a receipt code for the
 * visitor; the code is neither stored nor sent -- the signal carries a
 * keyed hash of it and a withdrawal an unkeyed one (docs/PROTOCOL.md §5)
 * -- and withdrawing the signal needs the code.
 */

/* "XXXX-XXXX-XXXX" (Crockford base32) and a NUL. */
#define STEK_RECEIPT_BYTES 15
#define STEK_SIGNAL_MAX_TEXT 4096
#define STEK_SIGNAL_MAX_SITE 128

/* Record a signal.  theme is one of income, housing, health, debt, digital,
 * energy, work, legal, family, mobility, food, education; site is 1..128
 * bytes, text at most 4096 (UTF-8).  The receipt code goes to receipt. */
STEK_API int stek_signal_record(stek *s, const char *theme, const char *site,
                                const char *text,
                                char receipt[STEK_RECEIPT_BYTES]);

/* Withdraw the signal a receipt code belongs to (case, spaces and hyphens
 * do not matter; O reads as 0, I and L as 1).  STEK_ENOTFOUND if no live
 * signal has that receipt.  Its theme, site and text are erased here and,
 * as the withdrawal syncs, on every replica. */
STEK_API int stek_signal_withdraw(stek *s, const char *receipt);

typedef struct stek_signal {
  uint8_t id[STEK_ID_BYTES]; /* random; says nothing of the author */
  const char *week;          /* "2026-W05" */
  const char *theme;
  const char *site;
  const char *text;
} stek_signal;

/* Each live signal of the current space, ordered by (week, id). */
typedef int (*stek_signal_cb)(void *ctx, const stek_signal *signal);
STEK_API int stek_signal_list(stek *s, stek_signal_cb cb, void *ctx);

/* Signal report: counts by theme x site x month (the month of each ISO
 * week's Thursday).  Cells with fewer than k signals (k >= 1; 5 is the
 * usual threshold) are suppressed: marked, never counted, and no totals are
 * given.  format: STEK_REPORT_CSV (RFC 4180, header month,theme,site,
 * signals; a suppressed count reads "<k") or STEK_REPORT_SVG (a bar chart
 * that needs no JavaScript).  *out is freed with stek_free(). */
enum { STEK_REPORT_CSV = 1, STEK_REPORT_SVG = 2 };
#define STEK_REPORT_DEFAULT_K 5
STEK_API int stek_signal_report(stek *s, int k, int format, char **out);

#ifdef __cplusplus
}
#endif
#endif /* STEK_H */
