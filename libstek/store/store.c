/*
 * store/store -- see store.h.  Every statement used on a hot path is
 * prepared once at open; iterations prepare their own so that a callback
 * may load records while a listing is under way.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, fsync */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stek.h"
#include "store/rank.h"
#include "store/vfs.h"

/* 2: epoch_keys (members.c).  A version-1 store is brought up to 2 when
 * opened: the new table is added, nothing else changes.
 * 3: the full-text index leaves out fields that are not prose (phone,
 * hours, languages, ...; fts_column()).  A version-2 store's index is
 * rebuilt from its records when opened (fts_upgrade()). */
#define SCHEMA_VERSION 3

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS spaces(sp INTEGER PRIMARY KEY, id BLOB NOT NULL"
    " UNIQUE, name TEXT NOT NULL, key BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS changes(sp INTEGER NOT NULL, id BLOB NOT NULL,"
    " hlc INTEGER NOT NULL, wire BLOB NOT NULL, PRIMARY KEY(sp, id))"
    " WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS changes_by_hlc ON changes(sp, hlc, id);"
    "CREATE TABLE IF NOT EXISTS lives(sp INTEGER NOT NULL, type TEXT NOT NULL,"
    " rid BLOB NOT NULL, deleted INTEGER NOT NULL, hlc INTEGER NOT NULL,"
    " author BLOB NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(sp, type, rid))"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS fields(sp INTEGER NOT NULL, type TEXT NOT NULL,"
    " rid BLOB NOT NULL, name TEXT NOT NULL, value BLOB, hlc INTEGER NOT NULL,"
    " author BLOB NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY(sp, type, rid, name)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS elems(sp INTEGER NOT NULL, type TEXT NOT NULL,"
    " rid BLOB NOT NULL, name TEXT NOT NULL, elem TEXT NOT NULL,"
    " present INTEGER NOT NULL, hlc INTEGER NOT NULL, author BLOB NOT NULL,"
    " seq INTEGER NOT NULL, PRIMARY KEY(sp, type, rid, name, elem))"
    " WITHOUT ROWID;"
    /* Signals: no author anywhere.  A withdrawn signal keeps only its id,
     * week and receipt hash; withdrawals are kept so that one arriving
     * before its signal still takes effect. */
    "CREATE TABLE IF NOT EXISTS signals(sp INTEGER NOT NULL, sid BLOB NOT NULL,"
    " week TEXT NOT NULL, theme TEXT, site TEXT, text TEXT,"
    " receipt BLOB NOT NULL, withdrawn INTEGER NOT NULL,"
    " PRIMARY KEY(sp, sid)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS signals_by_receipt ON signals(sp, receipt);"
    "CREATE TABLE IF NOT EXISTS withdrawals(sp INTEGER NOT NULL,"
    " target BLOB NOT NULL, receipt BLOB NOT NULL,"
    " PRIMARY KEY(sp, target, receipt)) WITHOUT ROWID;"
    /* Full-text index of directory entries: a derived view of the live
     * records, rebuilt per record whenever a change touches it.  fts_docs
     * gives each indexed record a stable rowid. */
    /* Pending invitations: the capability a joiner proves, until used or
     * expired. */
    "CREATE TABLE IF NOT EXISTS invites(psk BLOB PRIMARY KEY, sp INTEGER NOT"
    " NULL, expires INTEGER NOT NULL, used INTEGER NOT NULL) WITHOUT ROWID;"
    /* Blind relaying: capabilities to carry other spaces' ops, and those
     * ops, sealed (sync/relay.h).  Nothing here can be read by this device. */
    "CREATE TABLE IF NOT EXISTS relays(tag BLOB PRIMARY KEY, key BLOB NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS relay_ops(tag BLOB NOT NULL, id BLOB NOT NULL,"
    " ts INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY(tag, id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS relay_ops_by_ts ON relay_ops(tag, ts, id);"
    /* Key epochs (members.c): the key each revocation started, as this
     * device received it (from the revocation, or in the space share). */
    "CREATE TABLE IF NOT EXISTS epoch_keys(sp INTEGER NOT NULL, rev BLOB NOT NULL,"
    " key BLOB NOT NULL, PRIMARY KEY(sp, rev)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS fts_docs(doc INTEGER PRIMARY KEY, sp INTEGER"
    " NOT NULL, type TEXT NOT NULL, rid BLOB NOT NULL, UNIQUE(sp, type, rid));"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(org, service, category,"
    " summary, other, tokenize='unicode61 remove_diacritics 2');";

enum {
  Q_HLC_GET, Q_HLC_SET, Q_SPACE_FIND, Q_SPACE_KEY, Q_CHANGE_HAS, Q_CHANGE_ADD,
  Q_LIFE_GET, Q_LIFE_PUT, Q_FIELD_GET, Q_FIELD_PUT, Q_ELEM_GET, Q_ELEM_PUT,
  Q_LOAD_LWW, Q_LOAD_SETS, Q_FTS_DOC, Q_FTS_DEL, Q_FTS_DOC_DEL, Q_FTS_DOC_ADD,
  Q_FTS_ADD, Q_REVOCATIONS, Q_FIELD_ANY, Q_COUNT
};

static const char *const query_sql[Q_COUNT] = {
    [Q_HLC_GET] = "SELECT value FROM meta WHERE key='hlc'",
    [Q_HLC_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES('hlc', ?1)",
    [Q_SPACE_FIND] = "SELECT sp FROM spaces WHERE id=?1",
    [Q_SPACE_KEY] = "SELECT key FROM spaces WHERE sp=?1",
    [Q_CHANGE_HAS] = "SELECT 1 FROM changes WHERE sp=?1 AND id=?2",
    [Q_CHANGE_ADD] = "INSERT INTO changes(sp, id, hlc, wire) VALUES(?1,?2,?3,?4)",
    [Q_LIFE_GET] = "SELECT deleted, hlc, author, seq FROM lives"
                   " WHERE sp=?1 AND type=?2 AND rid=?3",
    [Q_LIFE_PUT] = "INSERT OR REPLACE INTO lives VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [Q_FIELD_GET] = "SELECT value, hlc, author, seq FROM fields"
                    " WHERE sp=?1 AND type=?2 AND rid=?3 AND name=?4",
    [Q_FIELD_PUT] = "INSERT OR REPLACE INTO fields VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    [Q_ELEM_GET] = "SELECT present, hlc, author, seq FROM elems"
                   " WHERE sp=?1 AND type=?2 AND rid=?3 AND name=?4 AND elem=?5",
    [Q_ELEM_PUT] = "INSERT OR REPLACE INTO elems VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [Q_LOAD_LWW] = "SELECT name, value FROM fields WHERE sp=?1 AND type=?2 AND rid=?3"
                   " AND value IS NOT NULL ORDER BY name",
    [Q_LOAD_SETS] = "SELECT name, elem FROM elems WHERE sp=?1 AND type=?2 AND rid=?3"
                    " AND present ORDER BY name, elem",
    [Q_FTS_DOC] = "SELECT doc FROM fts_docs WHERE sp=?1 AND type=?2 AND rid=?3",
    [Q_FTS_DEL] = "DELETE FROM fts WHERE rowid=?1",
    [Q_FTS_DOC_DEL] = "DELETE FROM fts_docs WHERE doc=?1",
    [Q_FTS_DOC_ADD] = "INSERT INTO fts_docs(sp, type, rid) VALUES(?1,?2,?3) RETURNING doc",
    [Q_REVOCATIONS] = "SELECT f.rid, f.value, f.hlc, f.author, h.value FROM fields f"
                      " LEFT JOIN fields h ON h.sp=f.sp AND h.type=f.type AND h.rid=f.rid"
                      " AND h.name='shares' WHERE f.sp=?1 AND f.type=?2"
                      " AND f.name='device' AND f.value IS NOT NULL ORDER BY f.hlc, f.rid",
    [Q_FTS_ADD] = "INSERT INTO fts(rowid, org, service, category, summary, other)"
                  " VALUES(?1,?2,?3,?4,?5,?6)",
    [Q_FIELD_ANY] = "SELECT 1 FROM fields WHERE sp=?1 AND type=?2 AND rid=?3 LIMIT 1",
};

/* Full-text columns: see fts_column(). */
enum { FTS_ORG, FTS_SERVICE, FTS_CATEGORY, FTS_SUMMARY, FTS_OTHER, FTS_COLS };

/* A record to re-index (store_fts_refresh, then store_fts_flush). */
typedef struct fts_pending {
  int64_t doc;
  int indexed, add; /* has an fts row now; gets one (with these texts) */
  char *col[FTS_COLS];
} fts_pending;

struct store {
  sqlite3 *db;
  fts_pending *fts;
  size_t n_fts, cap_fts;
  sqlite3_stmt *q[Q_COUNT];
  char *path;
  int fts_upgrade; /* a version-2 store: rebuild the index (fts_upgrade()) */
  vfs *vfs; /* the encrypting VFS; NULL for a plaintext store */
  uint8_t pk[CR_SIGN_PK];
  uint8_t *sk; /* CR_SIGN_SK bytes of locked memory */
  char err[256];
};

/* ---- helpers ---- */

static int db_fail(store *st, const char *what) {
  int ext = sqlite3_extended_errcode(st->db);
  /* SQLITE_IOERR_DATA: a block of an encrypted store did not authenticate
   * (store/vfs); SQLite's own words for it are only "disk I/O error", and
   * some callers (FTS5) pass it on as another code: the VFS remembers. */
  if (ext == SQLITE_IOERR_DATA || vfs_damaged(st->vfs)) {
    ext = SQLITE_IOERR_DATA;
    snprintf(st->err, sizeof st->err,
             "%s: the store is corrupt: an encrypted block failed authentication"
             " (damaged or tampered with)", what);
  } else {
    snprintf(st->err, sizeof st->err, "%s: %s", what, sqlite3_errmsg(st->db));
  }
  if ((ext & 0xff) == SQLITE_NOMEM) return STEK_ENOMEM;
  if ((ext & 0xff) == SQLITE_CORRUPT || (ext & 0xff) == SQLITE_NOTADB ||
      ext == SQLITE_IOERR_DATA)
    return STEK_ECORRUPT;
  return STEK_EIO;
}

static sqlite3_stmt *q(store *st, int which) {
  sqlite3_stmt *s = st->q[which];
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return s;
}

/* HLCs are stored as the int64 with the same bits; they stay below 2^63
 * for any date before the year 6000, so SQL ordering holds. */
static int64_t u2i(uint64_t v) { return (int64_t)(v & INT64_MAX); }

static int exec(store *st, const char *sql) {
  return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                   : db_fail(st, "store");
}

static int step_done(store *st, sqlite3_stmt *s, const char *what) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? 0 : db_fail(st, what);
}

static void bind_key(sqlite3_stmt *s, int64_t sp, const char *type,
                     size_t type_len, const uint8_t *rid) {
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_text(s, 2, type, (int)type_len, SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, rid, 16, SQLITE_STATIC);
}

/* The single integer a query returns (a count); sp binds ?1 if >= 0. */
static int query_count(store *st, const char *sql, int64_t sp, uint64_t *n) {
  sqlite3_stmt *s;
  *n = 0;
  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) return db_fail(st, "store");
  if (sp >= 0) sqlite3_bind_int64(s, 1, sp);
  int rc = sqlite3_step(s) == SQLITE_ROW ? 0 : db_fail(st, "store");
  if (!rc) *n = (uint64_t)sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return rc;
}

/* ---- open / close ---- */

static int meta_blob(store *st, const char *key, void *out, size_t len) {
  sqlite3_stmt *s;
  int rc = STEK_ENOTFOUND;
  if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key=?1", -1, &s,
                         NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  int step = sqlite3_step(s);
  if (step == SQLITE_ROW) {
    if ((size_t)sqlite3_column_bytes(s, 0) == len) {
      memcpy(out, sqlite3_column_blob(s, 0), len);
      rc = 0;
    } else {
      snprintf(st->err, sizeof st->err, "store: meta '%s' is damaged", key);
      rc = STEK_ECORRUPT;
    }
  } else if (step != SQLITE_DONE) {
    rc = db_fail(st, "store"); /* a failed read is not an absent key */
  }
  sqlite3_finalize(s);
  return rc;
}

static int meta_put(store *st, const char *key, const void *v, size_t len) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "INSERT INTO meta(key, value) VALUES(?1,?2)",
                         -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, v, (int)len, SQLITE_STATIC);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return rc;
}

/* An existing store of this schema version, with its identity: checked by
 * plain reads, so that opening a store beside a busy writer does not queue
 * for the write lock.  1 if so (the keys are loaded), else 0 and
 * init_schema() must run. */
static int schema_ready(store *st) {
  uint8_t ver[1] = {0};
  /* Each read on its own: init_schema() writes the three in one
   * transaction, so any one present means all are; nothing is held between
   * the reads that a concurrent first open could wait on. */
  int ok = meta_blob(st, "schema", ver, 1) == 0 && ver[0] == SCHEMA_VERSION &&
           meta_blob(st, "device_pk", st->pk, CR_SIGN_PK) == 0 &&
           meta_blob(st, "device_sk", st->sk, CR_SIGN_SK) == 0;
  st->err[0] = 0; /* a new store has no meta table yet: not an error */
  return ok;
}

/* Create the schema and the device identity, once, atomically. */
static int init_schema(store *st, const uint8_t *seed) {
  int rc = exec(st, "BEGIN IMMEDIATE");
  if (rc) return rc;
  uint8_t ver[1] = {SCHEMA_VERSION};
  rc = exec(st, schema_sql);
  if (!rc) rc = meta_blob(st, "schema", ver, 1);
  if (rc == STEK_ENOTFOUND) rc = meta_put(st, "schema", ver, 1);
  if (!rc && ver[0] == 1) { /* schema_sql added what version 2 has more */
    ver[0] = 2;
    rc = exec(st, "UPDATE meta SET value=x'02' WHERE key='schema'");
  }
  /* Version 2 becomes 3 once its index is rebuilt, which needs the
   * prepared statements: connect_db() does it, in its own transaction. */
  if (!rc && ver[0] == 2) st->fts_upgrade = 1;
  else if (!rc && ver[0] != SCHEMA_VERSION) {
    snprintf(st->err, sizeof st->err,
             "store: schema version %d is not supported (this is %d)", ver[0],
             SCHEMA_VERSION);
    rc = STEK_EVERSION;
  }
  if (!rc) rc = meta_blob(st, "device_pk", st->pk, CR_SIGN_PK);
  if (!rc) rc = meta_blob(st, "device_sk", st->sk, CR_SIGN_SK);
  if (rc == STEK_ENOTFOUND) {
    if (seed) cr_sign_seed_keygen(st->pk, st->sk, seed);
    else cr_sign_keygen(st->pk, st->sk);
    rc = meta_put(st, "device_pk", st->pk, CR_SIGN_PK);
    if (!rc) rc = meta_put(st, "device_sk", st->sk, CR_SIGN_SK);
  }
  if (!rc) return exec(st, "COMMIT");
  sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static int fts_upgrade(store *st);

/* Open the SQLite connection on st->path -- through the encrypting VFS for
 * an encrypted store -- and set it up: schema, identity, statements. */
static int connect_db(store *st, const uint8_t *identity_seed) {
  int rc;
  if (sqlite3_open_v2(st->path, &st->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      st->vfs ? vfs_name(st->vfs) : NULL) != SQLITE_OK) {
    if (st->db) return db_fail(st, "cannot open store");
    snprintf(st->err, sizeof st->err, "out of memory");
    return STEK_ENOMEM;
  }
  sqlite3_busy_timeout(st->db, 5000);
  /* WAL with full sync: a committed change survives a crash or power cut.
   * 4096-byte pages (SQLite's default, fixed here at creation) are exactly
   * the encrypting VFS's blocks. */
  rc = exec(st, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                " PRAGMA foreign_keys=OFF; PRAGMA trusted_schema=OFF;"
                " PRAGMA cache_size=-16384;"); /* 16 MiB: fewer re-reads */
  if (!rc && !schema_ready(st)) rc = init_schema(st, identity_seed);
  for (int i = 0; !rc && i < Q_COUNT; i++)
    if (sqlite3_prepare_v3(st->db, query_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &st->q[i], NULL) != SQLITE_OK)
      rc = db_fail(st, "store");
  if (!rc && rank_register(st->db) != SQLITE_OK) rc = db_fail(st, "store: search ranking");
  if (!rc && st->fts_upgrade) rc = fts_upgrade(st);
  return rc;
}

/* Close the connection.  The encrypting VFS is freed right after, so the
 * connection must really be closed, not left a zombie by a statement
 * someone forgot: 0, or -1 if it had to be (then the VFS is kept). */
static int disconnect_db(store *st) {
  for (int i = 0; i < Q_COUNT; i++) {
    sqlite3_finalize(st->q[i]);
    st->q[i] = NULL;
  }
  int rc = sqlite3_close(st->db);
  if (rc != SQLITE_OK) sqlite3_close_v2(st->db);
  st->db = NULL;
  return rc == SQLITE_OK ? 0 : -1;
}

int store_open(store **out, const char *path, const uint8_t *identity_seed,
               const store_secret *secret, char *err, size_t errlen) {
  store *st = calloc(1, sizeof *st);
  int rc = 0;
  *out = NULL;
  if (!st || !(st->sk = cr_secret_alloc(CR_SIGN_SK)) || !(st->path = strdup(path))) {
    if (st) cr_secret_free(st->sk);
    free(st);
    snprintf(err, errlen, "out of memory");
    return STEK_ENOMEM;
  }
  if (secret) {
    rc = vfs_open(&st->vfs, path, secret->passphrase, secret->len, secret->opslimit,
                  secret->memlimit, st->err, sizeof st->err);
  } else if (vfs_probe(path) == VFS_SEALED) {
    snprintf(st->err, sizeof st->err, "the store is encrypted: its passphrase is needed");
    rc = STEK_EKEY;
  }
  if (!rc) rc = connect_db(st, identity_seed);
  if (!rc) {
    *out = st;
    return 0;
  }
  snprintf(err, errlen, "%s", st->err);
  store_close(st);
  return rc;
}

void store_close(store *st) {
  if (!st) return;
  if (disconnect_db(st) == 0) vfs_close(st->vfs); /* it used the VFS to the end */
  cr_secret_free(st->sk);
  store_fts_discard(st);
  free(st->fts);
  free(st->path);
  free(st);
}

/* ---- changing the passphrase ---- */

static void remove_copy(const char *tmp) {
  static const char *const suffix[] = {"", "-journal", "-wal", "-shm"};
  char name[4200];
  for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
    snprintf(name, sizeof name, "%s%s", tmp, suffix[i]);
    unlink(name);
  }
}

/* Make a rename in the directory of path durable. */
static int sync_dir(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) dir[1] = 0;
  else *slash = 0;
  int fd = open(dir, O_RDONLY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* The journal mode the connection is in after asking for mode. */
static int journal_mode(store *st, const char *mode, char *got, size_t cap) {
  char sql[64];
  sqlite3_stmt *s;
  snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", mode);
  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) return db_fail(st, "store");
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) snprintf(got, cap, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  return rc == SQLITE_ROW ? 0 : db_fail(st, "store");
}

/* The copy at tmp of the whole store, under next's key (or in the clear),
 * written and synced; st is in exclusive rollback-journal mode. */
static int write_copy(store *st, const char *tmp, const store_secret *next, vfs **nv) {
  sqlite3 *dst = NULL;
  int rc = 0;
  remove_copy(tmp);
  if (next)
    rc = vfs_open(nv, tmp, next->passphrase, next->len, next->opslimit, next->memlimit,
                  st->err, sizeof st->err);
  if (rc) return rc;
  if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      *nv ? vfs_name(*nv) : NULL) != SQLITE_OK ||
      sqlite3_exec(dst, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
    snprintf(st->err, sizeof st->err, "rekey: cannot create %.120s: %s", tmp,
             dst ? sqlite3_errmsg(dst) : "out of memory");
    sqlite3_close(dst);
    return STEK_EIO;
  }
  sqlite3_backup *b = sqlite3_backup_init(dst, "main", st->db, "main");
  int step = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
  int fin = b ? sqlite3_backup_finish(b) : SQLITE_ERROR;
  if (step != SQLITE_DONE || fin != SQLITE_OK) {
    int ext = sqlite3_extended_errcode(dst);
    snprintf(st->err, sizeof st->err, "rekey: copying the store failed: %s",
             ext == SQLITE_IOERR_DATA ? "an encrypted block failed authentication"
                                      : sqlite3_errmsg(dst));
    rc = (ext & 0xff) == SQLITE_CORRUPT || ext == SQLITE_IOERR_DATA ? STEK_ECORRUPT
                                                                     : STEK_EIO;
  }
  if (sqlite3_close(dst) != SQLITE_OK && !rc) {
    snprintf(st->err, sizeof st->err, "rekey: cannot close the copy");
    rc = STEK_EIO;
  }
  return rc;
}

/*
 * The whole store is copied through SQLite's backup API into "<path>.rekey"
 * under the new key, synced, and renamed over path; the rename is the
 * switch.  Before it the old file is whole and in use; after it, the new.
 * To make the old file's content the file alone (no WAL) and keep other
 * connections out meanwhile, the store is first put in exclusive locking
 * and rollback-journal mode -- which SQLite refuses while another
 * connection has it open.  The new file is reopened in WAL mode.
 */
int store_rekey(store *st, const store_secret *next, int *switched) {
  char tmp[4200], mode[16] = "";
  vfs *nv = NULL;
  *switched = 0;
  if (!sqlite3_get_autocommit(st->db)) {
    snprintf(st->err, sizeof st->err, "rekey: a transaction is open");
    return STEK_ESTATE;
  }
  if (snprintf(tmp, sizeof tmp, "%s.rekey", st->path) >= (int)sizeof tmp) {
    snprintf(st->err, sizeof st->err, "rekey: path too long");
    return STEK_EINVAL;
  }
  int rc = exec(st, "PRAGMA locking_mode=EXCLUSIVE");
  if (!rc) rc = journal_mode(st, "DELETE", mode, sizeof mode);
  int busy = (sqlite3_errcode(st->db) & 0xff) == SQLITE_BUSY ||
             (sqlite3_errcode(st->db) & 0xff) == SQLITE_LOCKED;
  if ((rc && busy) || (!rc && strcmp(mode, "delete"))) {
    snprintf(st->err, sizeof st->err,
             "rekey: the store is open in another handle or process; close it first");
    rc = STEK_ESTATE;
  }
  if (!rc) rc = write_copy(st, tmp, next, &nv);
  if (!rc && rename(tmp, st->path) != 0) {
    snprintf(st->err, sizeof st->err, "rekey: cannot rename the copy: %s", strerror(errno));
    rc = STEK_EIO;
  }
  if (rc) { /* nothing switched: back to how it was */
    char keep[sizeof st->err];
    memcpy(keep, st->err, sizeof keep);
    vfs_close(nv);
    remove_copy(tmp);
    sqlite3_exec(st->db, "PRAGMA locking_mode=NORMAL; PRAGMA journal_mode=WAL", NULL, NULL,
                 NULL);
    memcpy(st->err, keep, sizeof keep);
    return rc;
  }
  *switched = 1;
  sync_dir(st->path); /* the switch is made; this makes it durable */
  if (disconnect_db(st) == 0) vfs_close(st->vfs);
  st->vfs = nv;
  if ((rc = connect_db(st, NULL))) {
    char why[sizeof st->err];
    memcpy(why, st->err, sizeof why);
    snprintf(st->err, sizeof st->err,
             "the passphrase was changed, but the store could not be reopened: %.150s", why);
  }
  return rc;
}

const char *store_errmsg(store *st) { return st->err; }

void store_device(const store *st, uint8_t pk[CR_SIGN_PK],
                  const uint8_t **sk) {
  memcpy(pk, st->pk, CR_SIGN_PK);
  if (sk) *sk = st->sk;
}

int store_tx_begin(store *st) { return exec(st, "BEGIN IMMEDIATE"); }
int store_tx_commit(store *st) { return exec(st, "COMMIT"); }
void store_tx_rollback(store *st) {
  store_fts_discard(st);
  if (!sqlite3_get_autocommit(st->db))
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_hlc_get(store *st, uint64_t *hlc) {
  sqlite3_stmt *s = q(st, Q_HLC_GET);
  *hlc = 0;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *hlc = (uint64_t)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(st, "store");
}

int store_hlc_set(store *st, uint64_t hlc) {
  sqlite3_stmt *s = q(st, Q_HLC_SET);
  sqlite3_bind_int64(s, 1, u2i(hlc));
  return step_done(st, s, "store");
}

/* ---- spaces ---- */

int store_space_create(store *st, const uint8_t id[16], const char *name,
                       const uint8_t key[CR_SPACE_KEY]) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "INSERT INTO spaces(id, name, key) VALUES(?1,?2,?3)",
                         -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_blob(s, 1, id, 16, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, key, CR_SPACE_KEY, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc == SQLITE_CONSTRAINT) {
    snprintf(st->err, sizeof st->err, "space is already held");
    return STEK_EINVAL;
  }
  return rc == SQLITE_DONE ? 0 : db_fail(st, "store");
}

int store_space_count(store *st, size_t *n) {
  uint64_t v;
  int rc = query_count(st, "SELECT count(*) FROM spaces", -1, &v);
  *n = (size_t)v;
  return rc;
}

int store_space_at(store *st, size_t i, uint8_t id[16], char *name, size_t cap) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT id, name FROM spaces ORDER BY id"
                         " LIMIT 1 OFFSET ?1", -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, (int64_t)i);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 16) {
    memcpy(id, sqlite3_column_blob(s, 0), 16);
    snprintf(name, cap, "%s", (const char *)sqlite3_column_text(s, 1));
    rc = 0;
  } else {
    rc = rc == SQLITE_DONE ? STEK_ENOSPACE : db_fail(st, "store");
  }
  sqlite3_finalize(s);
  return rc;
}

int store_space_find(store *st, const uint8_t id[16], int64_t *sp) {
  sqlite3_stmt *s = q(st, Q_SPACE_FIND);
  sqlite3_bind_blob(s, 1, id, 16, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *sp = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (rc == SQLITE_ROW) return 0;
  return rc == SQLITE_DONE ? STEK_ENOSPACE : db_fail(st, "store");
}

int store_space_info(store *st, int64_t sp, uint8_t id[16], char *name, size_t cap) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT id, name FROM spaces WHERE sp=?1", -1, &s,
                         NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 16) {
    if (id) memcpy(id, sqlite3_column_blob(s, 0), 16);
    if (name) snprintf(name, cap, "%s", (const char *)sqlite3_column_text(s, 1));
  }
  sqlite3_finalize(s);
  if (rc == SQLITE_ROW) return 0;
  return rc == SQLITE_DONE ? STEK_ENOSPACE : db_fail(st, "store");
}

int store_space_key(store *st, int64_t sp, uint8_t key[CR_SPACE_KEY]) {
  sqlite3_stmt *s = q(st, Q_SPACE_KEY);
  sqlite3_bind_int64(s, 1, sp);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == CR_SPACE_KEY) {
    memcpy(key, sqlite3_column_blob(s, 0), CR_SPACE_KEY);
    rc = 0;
  } else {
    rc = rc == SQLITE_ROW ? STEK_ECORRUPT
                          : rc == SQLITE_DONE ? STEK_ENOSPACE : db_fail(st, "store");
  }
  sqlite3_reset(s);
  return rc;
}

/* ---- the op log ---- */

int store_change_has(store *st, int64_t sp, const uint8_t id[32]) {
  sqlite3_stmt *s = q(st, Q_CHANGE_HAS);
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, id, 32, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc == SQLITE_ROW) return STEK_DUPLICATE;
  return rc == SQLITE_DONE ? STEK_OK : db_fail(st, "store");
}

int store_change_add(store *st, int64_t sp, const change *c,
                     const uint8_t *wire, size_t len) {
  sqlite3_stmt *s = q(st, Q_CHANGE_ADD);
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, c->id, 32, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, u2i(c->hlc));
  sqlite3_bind_blob(s, 4, wire, (int)len, SQLITE_STATIC);
  return step_done(st, s, "store");
}

int store_change_count(store *st, int64_t sp, uint64_t *n) {
  return query_count(st, "SELECT count(*) FROM changes WHERE sp=?1", sp, n);
}

int store_change_each(store *st, int64_t sp, store_bytes_cb cb, void *ctx) {
  return store_change_each_since(st, sp, 0, cb, ctx);
}

/* ---- merging ---- */

/* Read the stored version and payload of a fact from a GET row: column 0
 * the payload, 1..3 the version.  0 if a row was there, 1 if none, -1 if
 * it is malformed, -2 if the read failed (a failed read is not "none"). */
static int read_fact(sqlite3_stmt *s, version *v, const uint8_t **p, size_t *len,
                     int64_t *flag) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return 1;
  if (rc != SQLITE_ROW) return -2;
  if (flag) *flag = sqlite3_column_int64(s, 0);
  if (p) {
    *p = sqlite3_column_blob(s, 0);
    *len = (size_t)sqlite3_column_bytes(s, 0);
  }
  v->hlc = (uint64_t)sqlite3_column_int64(s, 1);
  v->author = sqlite3_column_blob(s, 2);
  v->seq = (uint32_t)sqlite3_column_int64(s, 3);
  return sqlite3_column_bytes(s, 2) == 32 ? 0 : -1;
}

static void bind_version(sqlite3_stmt *s, int at, const version *v) {
  sqlite3_bind_int64(s, at, u2i(v->hlc));
  sqlite3_bind_blob(s, at + 1, v->author, 32, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, at + 2, v->seq);
}

/* A record's life: delete or restore.  Payload byte: 1 deleted, 0 live, so
 * on an exact tie the delete wins. */
static int apply_life(store *st, int64_t sp, const op *o, const version *v) {
  uint8_t mine = o->kind == OP_DELETE;
  sqlite3_stmt *g = q(st, Q_LIFE_GET);
  bind_key(g, sp, o->type, o->type_len, o->rid);
  version old;
  int64_t flag = 0;
  int none = read_fact(g, &old, NULL, NULL, &flag);
  uint8_t theirs = flag != 0;
  int wins = none > 0 || (none == 0 && merge_wins(v, &mine, 1, &old, &theirs, 1));
  sqlite3_reset(g);
  if (none < 0) return none == -1 ? STEK_ECORRUPT : db_fail(st, "store");
  if (!wins) return 0;
  sqlite3_stmt *s = q(st, Q_LIFE_PUT);
  bind_key(s, sp, o->type, o->type_len, o->rid);
  sqlite3_bind_int64(s, 4, mine);
  bind_version(s, 5, v);
  return step_done(st, s, "store");
}

/* fresh: the record has no field stored (nothing to merge with). */
static int apply_field(store *st, int64_t sp, const op *o, const op_field *f,
                       const version *v, int fresh) {
  sqlite3_stmt *g = q(st, Q_FIELD_GET);
  version old;
  const uint8_t *p = NULL;
  size_t len = 0;
  static const uint8_t nil = 0xc0;
  int none = 1;
  if (!fresh) {
    bind_key(g, sp, o->type, o->type_len, o->rid);
    sqlite3_bind_text(g, 4, f->name, (int)f->name_len, SQLITE_STATIC);
    none = read_fact(g, &old, &p, &len, NULL);
  }
  if (none == 0 && !p) { /* a stored NULL is an unset field: nil */
    p = &nil;
    len = 1;
  }
  int wins = none > 0 || (none == 0 && merge_wins(v, f->value, f->value_len,
                                                  &old, p, len));
  sqlite3_reset(g);
  if (none < 0) return none == -1 ? STEK_ECORRUPT : db_fail(st, "store");
  if (!wins) return 0;
  sqlite3_stmt *s = q(st, Q_FIELD_PUT);
  bind_key(s, sp, o->type, o->type_len, o->rid);
  sqlite3_bind_text(s, 4, f->name, (int)f->name_len, SQLITE_STATIC);
  if (f->value_len == 1 && f->value[0] == 0xc0)
    sqlite3_bind_null(s, 5);
  else
    sqlite3_bind_blob(s, 5, f->value, (int)f->value_len, SQLITE_STATIC);
  bind_version(s, 6, v);
  return step_done(st, s, "store");
}

/* A set element: payload byte 1 present, 0 removed (tie: present). */
static int apply_elem(store *st, int64_t sp, const op *o, const version *v) {
  uint8_t mine = o->kind == OP_SET_ADD;
  sqlite3_stmt *g = q(st, Q_ELEM_GET);
  bind_key(g, sp, o->type, o->type_len, o->rid);
  sqlite3_bind_text(g, 4, o->field, (int)o->field_len, SQLITE_STATIC);
  sqlite3_bind_text(g, 5, o->elem, (int)o->elem_len, SQLITE_STATIC);
  version old;
  int64_t flag = 0;
  int none = read_fact(g, &old, NULL, NULL, &flag);
  uint8_t theirs = flag != 0;
  int wins = none > 0 || (none == 0 && merge_wins(v, &mine, 1, &old, &theirs, 1));
  sqlite3_reset(g);
  if (none < 0) return none == -1 ? STEK_ECORRUPT : db_fail(st, "store");
  if (!wins) return 0;
  sqlite3_stmt *s = q(st, Q_ELEM_PUT);
  bind_key(s, sp, o->type, o->type_len, o->rid);
  sqlite3_bind_text(s, 4, o->field, (int)o->field_len, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, o->elem, (int)o->elem_len, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, mine);
  bind_version(s, 7, v);
  return step_done(st, s, "store");
}

int store_apply(store *st, int64_t sp, const op *o, const version *v) {
  switch (o->kind) {
    case OP_PUT: {
      version fv = *v;
      /* A record with no field yet (a load, a new entry): one lookup, not
       * one a field. */
      int fresh = 0;
      if (o->n_fields > 2) {
        sqlite3_stmt *a = q(st, Q_FIELD_ANY);
        bind_key(a, sp, o->type, o->type_len, o->rid);
        int step = sqlite3_step(a);
        sqlite3_reset(a);
        if (step != SQLITE_ROW && step != SQLITE_DONE) return db_fail(st, "store");
        fresh = step == SQLITE_DONE;
      }
      for (uint32_t k = 0; k < o->n_fields; k++) {
        int rc = apply_field(st, sp, o, &o->fields[k], &fv, fresh);
        if (rc) return rc;
      }
      return 0;
    }
    case OP_DELETE:
    case OP_RESTORE:
      return apply_life(st, sp, o, v);
    default:
      return apply_elem(st, sp, o, v);
  }
}

/* ---- reading records ---- */

void store_record_clear(store_record *r) {
  for (size_t i = 0; i < r->n_fields; i++) {
    store_field *f = &r->fields[i];
    free(f->name);
    free(f->value);
    for (size_t k = 0; k < f->n_elems; k++) free(f->elems[k]);
    free(f->elems);
  }
  free(r->fields);
  memset(r, 0, sizeof *r);
}

static char *dup_text(const unsigned char *s, int len) {
  char *d = malloc((size_t)len + 1);
  if (d) {
    memcpy(d, s, (size_t)len);
    d[len] = 0;
  }
  return d;
}

/* Append an empty field named name; NULL when out of memory. */
static store_field *add_field(store_record *r, const unsigned char *name, int len) {
  if ((r->n_fields & (r->n_fields - 1)) == 0) { /* grow at powers of two */
    size_t cap = r->n_fields ? r->n_fields * 2 : 4;
    store_field *f = realloc(r->fields, cap * sizeof *f);
    if (!f) return NULL;
    r->fields = f;
  }
  store_field *f = &r->fields[r->n_fields];
  memset(f, 0, sizeof *f);
  if (!(f->name = dup_text(name, len))) return NULL;
  r->n_fields++;
  return f;
}

/* A cached record query, bound to (sp, type, rid); reset after use. */
static int prepare_key(store *st, int which, int64_t sp, const char *type,
                       const uint8_t *rid, sqlite3_stmt **s) {
  *s = q(st, which);
  bind_key(*s, sp, type, strlen(type), rid);
  return 0;
}

static int load_lww(store *st, int64_t sp, const char *type, const uint8_t *rid,
                    store_record *r) {
  sqlite3_stmt *s;
  int rc = prepare_key(st, Q_LOAD_LWW, sp, type, rid, &s);
  while (!rc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    store_field *f = add_field(r, sqlite3_column_text(s, 0), sqlite3_column_bytes(s, 0));
    int n = sqlite3_column_bytes(s, 1);
    if (!f || !(f->value = malloc((size_t)n))) {
      rc = STEK_ENOMEM;
      break;
    }
    memcpy(f->value, sqlite3_column_blob(s, 1), (size_t)n);
    f->value_len = (size_t)n;
    rc = 0;
  }
  if (rc == SQLITE_DONE) rc = 0;
  else if (rc > 0) rc = db_fail(st, "store");
  sqlite3_reset(s);
  return rc;
}

/* Set fields: a set replaces an LWW field of the same name. */
static store_field *set_field(store_record *r, const unsigned char *name, int len) {
  for (size_t i = 0; i < r->n_fields; i++) {
    store_field *f = &r->fields[i];
    if (strlen(f->name) == (size_t)len && memcmp(f->name, name, (size_t)len) == 0) {
      if (!f->is_set) {
        free(f->value);
        f->value = NULL;
        f->value_len = 0;
        f->is_set = 1;
      }
      return f;
    }
  }
  store_field *f = add_field(r, name, len);
  if (f) f->is_set = 1;
  return f;
}

static int load_sets(store *st, int64_t sp, const char *type, const uint8_t *rid,
                     store_record *r) {
  sqlite3_stmt *s;
  int rc = prepare_key(st, Q_LOAD_SETS, sp, type, rid, &s);
  while (!rc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    store_field *f = set_field(r, sqlite3_column_text(s, 0), sqlite3_column_bytes(s, 0));
    char **e = f ? realloc(f->elems, (f->n_elems + 1) * sizeof *e) : NULL;
    if (!e) {
      rc = STEK_ENOMEM;
      break;
    }
    f->elems = e;
    if (!(e[f->n_elems] = dup_text(sqlite3_column_text(s, 1),
                                   sqlite3_column_bytes(s, 1)))) {
      rc = STEK_ENOMEM;
      break;
    }
    f->n_elems++;
    rc = 0;
  }
  if (rc == SQLITE_DONE) rc = 0;
  else if (rc > 0) rc = db_fail(st, "store");
  sqlite3_reset(s);
  return rc;
}

static int cmp_field(const void *a, const void *b) {
  return strcmp(((const store_field *)a)->name, ((const store_field *)b)->name);
}

static int is_deleted(store *st, int64_t sp, const char *type, const uint8_t *rid,
                      int *deleted) {
  sqlite3_stmt *g = q(st, Q_LIFE_GET);
  bind_key(g, sp, type, strlen(type), rid);
  int rc = sqlite3_step(g);
  *deleted = rc == SQLITE_ROW && sqlite3_column_int64(g, 0) != 0;
  sqlite3_reset(g);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(st, "store");
}

int store_record_load(store *st, int64_t sp, const char *type,
                      const uint8_t rid[16], store_record *out) {
  int deleted, rc;
  memset(out, 0, sizeof *out);
  snprintf(out->type, sizeof out->type, "%s", type);
  memcpy(out->rid, rid, 16);
  if ((rc = is_deleted(st, sp, type, rid, &deleted))) return rc;
  if (deleted) return STEK_ENOTFOUND;
  rc = load_lww(st, sp, type, rid, out);
  if (!rc) rc = load_sets(st, sp, type, rid, out);
  if (!rc && out->n_fields == 0) rc = STEK_ENOTFOUND;
  if (rc) {
    store_record_clear(out);
    return rc;
  }
  qsort(out->fields, out->n_fields, sizeof *out->fields, cmp_field);
  return 0;
}

int store_record_each(store *st, int64_t sp, const char *type,
                      store_record_cb cb, void *ctx) {
  static const char *const sql =
      "SELECT type, rid FROM (SELECT type, rid FROM fields WHERE sp=?1 AND"
      " value IS NOT NULL AND (?2 IS NULL OR type=?2) UNION SELECT type, rid"
      " FROM elems WHERE sp=?1 AND present AND (?2 IS NULL OR type=?2)) AS r"
      " WHERE NOT EXISTS (SELECT 1 FROM lives l WHERE l.sp=?1 AND"
      " l.type=r.type AND l.rid=r.rid AND l.deleted) ORDER BY type, rid";
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  if (type) sqlite3_bind_text(s, 2, type, -1, SQLITE_STATIC);
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(s, 1) != 16) continue;
    stop = cb(ctx, (const char *)sqlite3_column_text(s, 0), sqlite3_column_blob(s, 1));
  }
  int out = stop ? stop : rc == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return out;
}

/* ---- state hash ---- */

/* Hash every row of one table, in key order, as a msgpack array of its
 * columns (docs/PROTOCOL.md §5): ints as int, text as str, blobs as bin,
 * NULL as nil. */
static int hash_table(store *st, cr_hasher *h, const char *sql, int64_t sp) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  int rc, n = sqlite3_column_count(s);
  mp_writer w;
  mp_writer_init(&w);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    w.buf.size = 0;
    mp_write_array(&w, (uint32_t)n);
    for (int i = 0; i < n; i++) {
      switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER: mp_write_int(&w, sqlite3_column_int64(s, i)); break;
        case SQLITE_TEXT:
          mp_write_str(&w, (const char *)sqlite3_column_text(s, i),
                       (size_t)sqlite3_column_bytes(s, i));
          break;
        case SQLITE_BLOB:
          mp_write_bin(&w, sqlite3_column_blob(s, i), (size_t)sqlite3_column_bytes(s, i));
          break;
        default: mp_write_nil(&w); break;
      }
    }
    if (w.err) break;
    cr_hash_update(h, (const uint8_t *)w.buf.data, w.buf.size);
  }
  int out = w.err ? w.err : rc == SQLITE_DONE ? 0 : db_fail(st, "store");
  mp_writer_free(&w);
  sqlite3_finalize(s);
  return out;
}

int store_state_hash(store *st, int64_t sp, uint8_t out[32]) {
  static const char *const tables[] = {
      "SELECT type, rid, deleted, hlc, author, seq FROM lives WHERE sp=?1"
      " ORDER BY type, rid",
      "SELECT type, rid, name, value, hlc, author, seq FROM fields WHERE sp=?1"
      " ORDER BY type, rid, name",
      "SELECT type, rid, name, elem, present, hlc, author, seq FROM elems"
      " WHERE sp=?1 ORDER BY type, rid, name, elem",
      "SELECT sid, week, theme, site, text, receipt, withdrawn FROM signals"
      " WHERE sp=?1 ORDER BY sid",
      "SELECT target, receipt FROM withdrawals WHERE sp=?1 ORDER BY target, receipt",
  };
  cr_hasher h;
  /* One read transaction, so the three tables are read at one instant. */
  int own = sqlite3_get_autocommit(st->db);
  int rc = own ? exec(st, "BEGIN") : 0;
  cr_hash_init(&h);
  for (size_t i = 0; !rc && i < sizeof tables / sizeof *tables; i++) {
    static const uint8_t sep[1] = {0xc0};
    cr_hash_update(&h, sep, 1); /* nil between tables */
    rc = hash_table(st, &h, tables[i], sp);
  }
  if (own && !sqlite3_get_autocommit(st->db))
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
  cr_hash_final(&h, out);
  return rc;
}

/* ---- signals ---- */

int store_signal_add(store *st, int64_t sp, const signal_msg *m, int withdrawn) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO signals VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
                         -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, m->sid, 16, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, m->week, -1, SQLITE_STATIC);
  if (!withdrawn) { /* a withdrawn signal keeps no content (NULLs) */
    sqlite3_bind_text(s, 4, m->theme, (int)m->theme_len, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, m->site, (int)m->site_len, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, m->text, (int)m->text_len, SQLITE_STATIC);
  }
  sqlite3_bind_blob(s, 7, m->receipt_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int(s, 8, withdrawn != 0);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return rc;
}

int store_signal_withdraw(store *st, int64_t sp, const uint8_t target[16],
                          const uint8_t receipt_hash[32], int erase) {
  static const char *const sql[] = {
      "INSERT OR IGNORE INTO withdrawals VALUES(?1, ?2, ?3)",
      "UPDATE signals SET theme=NULL, site=NULL, text=NULL, withdrawn=1"
      " WHERE sp=?1 AND sid=?2"};
  for (int i = 0; i < 1 + (erase != 0); i++) {
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql[i], -1, &s, NULL) != SQLITE_OK)
      return db_fail(st, "store");
    sqlite3_bind_int64(s, 1, sp);
    sqlite3_bind_blob(s, 2, target, 16, SQLITE_STATIC);
    if (i == 0) sqlite3_bind_blob(s, 3, receipt_hash, 32, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
    sqlite3_finalize(s);
    if (rc) return rc;
  }
  return 0;
}

int store_signal_receipt(store *st, int64_t sp, const uint8_t sid[16],
                         uint8_t receipt_hash[32]) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT receipt FROM signals WHERE sp=?1 AND sid=?2", -1,
                         &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, sid, 16, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32) {
    memcpy(receipt_hash, sqlite3_column_blob(s, 0), 32);
    rc = 0;
  } else {
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? STEK_ENOTFOUND : db_fail(st, "store");
  }
  sqlite3_finalize(s);
  return rc;
}

int store_signal_withdrawals(store *st, int64_t sp, const uint8_t target[16],
                             store_withdrawal_cb cb, void *ctx) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT receipt FROM withdrawals WHERE sp=?1 AND target=?2",
                         -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, target, 16, SQLITE_STATIC);
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
    if (sqlite3_column_bytes(s, 0) == 32) stop = cb(ctx, sqlite3_column_blob(s, 0));
  int out = stop ? stop : rc == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return out;
}

int store_signal_by_receipt(store *st, int64_t sp, const uint8_t receipt_hash[32],
                            uint8_t sid[16]) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT sid FROM signals WHERE sp=?1 AND"
                         " receipt=?2 AND NOT withdrawn", -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, receipt_hash, 32, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 16) {
    memcpy(sid, sqlite3_column_blob(s, 0), 16);
    rc = 0;
  } else {
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? STEK_ENOTFOUND : db_fail(st, "store");
  }
  sqlite3_finalize(s);
  return rc;
}

int store_signal_each(store *st, int64_t sp, store_signal_cb cb, void *ctx) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT sid, week, theme, site, text FROM signals"
                         " WHERE sp=?1 AND NOT withdrawn ORDER BY week, sid",
                         -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(s, 0) != 16) continue;
    stop = cb(ctx, sqlite3_column_blob(s, 0), (const char *)sqlite3_column_text(s, 1),
              (const char *)sqlite3_column_text(s, 2),
              (const char *)sqlite3_column_text(s, 3),
              (const char *)sqlite3_column_text(s, 4));
  }
  int out = stop ? stop : rc == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return out;
}

/* ---- full-text index ---- */

/* Which column a field's text goes to: org, service, category, summary.*
 * each have theirs (weighted in search), every other string field goes to
 * "other" -- but for fields that are not prose, which are not indexed
 * (-1): no one searches for opening hours, and their tokens would only
 * lengthen the entry. */
static int fts_column(const char *name) {
  static const char *const not_prose[] = {"phone", "hours", "languages", "email", "website"};
  for (size_t i = 0; i < sizeof not_prose / sizeof *not_prose; i++)
    if (!strcmp(name, not_prose[i])) return -1;
  if (!strcmp(name, "org")) return FTS_ORG;
  if (!strcmp(name, "service")) return FTS_SERVICE;
  if (!strcmp(name, "category") || !strcmp(name, "tags")) return FTS_CATEGORY;
  if (!strncmp(name, "summary.", 8)) return FTS_SUMMARY;
  return FTS_OTHER;
}

static void text_append(char **dst, size_t *len, const char *s, size_t n, int *err) {
  char *p = realloc(*dst, *len + n + 2);
  if (!p) {
    *err = 1;
    return;
  }
  *dst = p;
  if (*len) p[(*len)++] = ' ';
  memcpy(p + *len, s, n);
  *len += n;
  p[*len] = 0;
}

/* The text of a loaded record's fields, per FTS column. */
static int fts_texts(const store_record *r, char *col[FTS_COLS], size_t len[FTS_COLS]) {
  int err = 0;
  for (size_t i = 0; i < r->n_fields && !err; i++) {
    const store_field *f = &r->fields[i];
    int c = fts_column(f->name);
    if (c < 0) continue;
    if (f->is_set) {
      for (size_t k = 0; k < f->n_elems; k++)
        text_append(&col[c], &len[c], f->elems[k], strlen(f->elems[k]), &err);
      continue;
    }
    mp_reader rd;
    const char *p;
    uint32_t n, sl;
    mp_reader_init(&rd, f->value, f->value_len);
    if (mp_peek(&rd) == 's' && !mp_read_str(&rd, &p, &sl, STEK_MAX_STRING_BYTES)) {
      text_append(&col[c], &len[c], p, sl, &err);
    } else if (mp_peek(&rd) == 'a' && !mp_read_array(&rd, &n, STEK_MAX_LIST_ITEMS)) {
      for (uint32_t k = 0; k < n && !mp_read_str(&rd, &p, &sl, STEK_MAX_STRING_BYTES); k++)
        text_append(&col[c], &len[c], p, sl, &err);
    }
  }
  return err ? STEK_ENOMEM : 0;
}

/* Run a cached statement bound to (a[, type, rid]); *out gets the first
 * column of its row, or -1 if none. */
static int run(store *st, int which, int64_t a, const char *type, const uint8_t *rid,
               int64_t *out) {
  sqlite3_stmt *s = q(st, which);
  sqlite3_bind_int64(s, 1, a);
  if (type) sqlite3_bind_text(s, 2, type, -1, SQLITE_STATIC);
  if (rid) sqlite3_bind_blob(s, 3, rid, 16, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (out) *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  if (rc == SQLITE_ROW && which == Q_FTS_DOC_ADD) rc = sqlite3_step(s); /* RETURNING */
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(st, "store");
}

/* Phase one: the fts_docs bookkeeping and the texts of one record, queued
 * for store_fts_flush(). */
int store_fts_refresh(store *st, int64_t sp, const char *type, const uint8_t rid[16]) {
  int64_t doc;
  store_record r;
  if (st->n_fts == st->cap_fts) {
    size_t cap = st->cap_fts ? st->cap_fts * 2 : 64;
    fts_pending *p = realloc(st->fts, cap * sizeof *p);
    if (!p) return STEK_ENOMEM;
    st->fts = p;
    st->cap_fts = cap;
  }
  int rc = run(st, Q_FTS_DOC, sp, type, rid, &doc);
  if (rc) return rc;
  fts_pending *f = &st->fts[st->n_fts];
  memset(f, 0, sizeof *f);
  f->indexed = doc >= 0;
  rc = store_record_load(st, sp, type, rid, &r);
  if (rc == STEK_ENOTFOUND) { /* deleted or empty: not indexed */
    if (doc < 0) return 0;
    f->doc = doc;
    st->n_fts++;
    return run(st, Q_FTS_DOC_DEL, doc, NULL, NULL, NULL);
  }
  if (rc) return rc;
  size_t len[FTS_COLS] = {0};
  rc = fts_texts(&r, f->col, len);
  store_record_clear(&r);
  if (!rc && doc < 0) rc = run(st, Q_FTS_DOC_ADD, sp, type, rid, &doc);
  f->doc = doc;
  f->add = 1;
  st->n_fts++; /* even on error: its texts are freed by the flush or discard */
  return rc;
}

void store_fts_discard(store *st) {
  for (size_t i = 0; i < st->n_fts; i++)
    for (int c = 0; c < FTS_COLS; c++) free(st->fts[i].col[c]);
  st->n_fts = 0;
}

/* Phase two: the FTS5 writes, all together.  Why apart: FTS5 flushes its
 * pending terms into a new segment at every statement savepoint, and an
 * INSERT into fts_docs (it has a unique index) opens one; interleaved, they
 * made one segment per record and the merges that follow (a third of the
 * time of a load). */
int store_fts_flush(store *st) {
  int rc = 0;
  for (size_t i = 0; !rc && i < st->n_fts; i++) {
    fts_pending *f = &st->fts[i];
    if (f->indexed) rc = run(st, Q_FTS_DEL, f->doc, NULL, NULL, NULL);
    if (!rc && f->add) {
      sqlite3_stmt *s = q(st, Q_FTS_ADD);
      sqlite3_bind_int64(s, 1, f->doc);
      for (int c = 0; c < FTS_COLS; c++)
        sqlite3_bind_text(s, 2 + c, f->col[c] ? f->col[c] : "", -1, SQLITE_STATIC);
      rc = step_done(st, s, "store");
    }
  }
  store_fts_discard(st);
  return rc;
}

static int fts_reindex(void *ctx, const char *type, const uint8_t *rid) {
  struct { store *st; int64_t sp; } *w = ctx;
  return store_fts_refresh(w->st, w->sp, type, rid);
}

/* Bring a version-2 store to 3: rebuild the whole index from the records,
 * then mark the version, in one transaction (a crash leaves version 2 and
 * the old index; another handle that upgraded first leaves nothing to do). */
static int fts_upgrade(store *st) {
  uint8_t ver[1] = {0};
  int rc = exec(st, "BEGIN IMMEDIATE");
  if (rc) return rc;
  rc = meta_blob(st, "schema", ver, 1);
  if (!rc && ver[0] == 2) {
    sqlite3_stmt *s;
    rc = exec(st, "DELETE FROM fts; DELETE FROM fts_docs;");
    if (!rc && sqlite3_prepare_v2(st->db, "SELECT sp FROM spaces ORDER BY sp", -1, &s,
                                  NULL) != SQLITE_OK)
      rc = db_fail(st, "store");
    if (!rc) {
      int step;
      while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct { store *st; int64_t sp; } w = {st, sqlite3_column_int64(s, 0)};
        rc = store_record_each(st, w.sp, "directory", fts_reindex, &w);
      }
      if (!rc && step != SQLITE_DONE) rc = db_fail(st, "store");
      sqlite3_finalize(s);
    }
    if (!rc) rc = store_fts_flush(st);
    else store_fts_discard(st);
    if (!rc) rc = exec(st, "UPDATE meta SET value=x'03' WHERE key='schema'");
  }
  if (!rc) rc = exec(st, "COMMIT");
  else sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  st->fts_upgrade = 0;
  return rc;
}

int store_fts_search(store *st, int64_t sp, const char *type, const char *match,
                     store_record_cb cb, void *ctx) {
  /* BM25F (store/rank.h) weights: org, service, category, summary, other. */
  static const char *const sql =
      "SELECT d.type, d.rid FROM fts JOIN fts_docs d ON d.doc = fts.rowid"
      " WHERE fts MATCH ?1 AND d.sp = ?2 AND d.type = ?3"
      " ORDER BY stek_bm25f(fts, 5.0, 4.0, 3.0, 2.0, 1.0), d.rid";
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_text(s, 1, match, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, sp);
  sqlite3_bind_text(s, 3, type, -1, SQLITE_STATIC);
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(s, 1) != 16) continue;
    stop = cb(ctx, (const char *)sqlite3_column_text(s, 0), sqlite3_column_blob(s, 1));
  }
  int out = stop ? stop : rc == SQLITE_DONE ? 0 : db_fail(st, "search");
  sqlite3_finalize(s);
  return out;
}

/* ---- reconciliation support ---- */

int store_items(store *st, int64_t sp, neg_item **out, size_t *n) {
  uint64_t count;
  sqlite3_stmt *s;
  *out = NULL;
  *n = 0;
  int rc = store_change_count(st, sp, &count);
  if (rc) return rc;
  neg_item *items = malloc((count ? count : 1) * sizeof *items);
  if (!items) return STEK_ENOMEM;
  if (sqlite3_prepare_v2(st->db, "SELECT hlc, id FROM changes WHERE sp=?1"
                         " ORDER BY hlc, id", -1, &s, NULL) != SQLITE_OK) {
    free(items);
    return db_fail(st, "store");
  }
  sqlite3_bind_int64(s, 1, sp);
  size_t k = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < count) {
    if (sqlite3_column_bytes(s, 1) != 32) continue;
    items[k].timestamp = (uint64_t)sqlite3_column_int64(s, 0);
    memcpy(items[k].id, sqlite3_column_blob(s, 1), 32);
    k++;
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    free(items);
    return db_fail(st, "store");
  }
  *out = items;
  *n = k;
  return 0;
}

int store_change_get(store *st, int64_t sp, const uint8_t id[32], store_bytes_cb cb,
                     void *ctx) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT wire FROM changes WHERE sp=?1 AND id=?2",
                         -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, id, 32, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    rc = cb(ctx, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
  else
    rc = rc == SQLITE_DONE ? STEK_ENOTFOUND : db_fail(st, "store");
  sqlite3_finalize(s);
  return rc;
}

/* ---- invitations ---- */

int store_invite_add(store *st, int64_t sp, const uint8_t psk[32], int64_t expires) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO invites VALUES(?1, ?2, ?3, 0)", -1, &s,
                         NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_blob(s, 1, psk, 32, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, sp);
  sqlite3_bind_int64(s, 3, expires);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return rc;
}

int store_invite_each(store *st, int64_t now, store_invite_cb cb, void *ctx) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT psk, sp FROM invites WHERE NOT used AND"
                         " expires > ?1", -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, now);
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
    if (sqlite3_column_bytes(s, 0) == 32)
      stop = cb(ctx, sqlite3_column_blob(s, 0), sqlite3_column_int64(s, 1));
  int out = stop ? stop : rc == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return out;
}

int store_invite_use(store *st, const uint8_t psk[32], int64_t now) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "UPDATE invites SET used=1 WHERE psk=?1 AND NOT"
                         " used AND expires > ?2", -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_blob(s, 1, psk, 32, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
  if (!rc && sqlite3_changes(st->db) != 1) rc = STEK_ENOTFOUND;
  sqlite3_finalize(s);
  return rc;
}

/* ---- bundles ---- */

int store_change_each_since(store *st, int64_t sp, uint64_t min_hlc,
                            store_bytes_cb cb, void *ctx) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT wire FROM changes WHERE sp=?1 AND hlc>=?2"
                         " ORDER BY hlc, id", -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_int64(s, 2, u2i(min_hlc));
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
    stop = cb(ctx, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
  int out = stop ? stop : rc == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return out;
}

/* ---- membership ---- */

int store_epoch_key_put(store *st, int64_t sp, const uint8_t rev[16], const uint8_t key[32]) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO epoch_keys VALUES(?1, ?2, ?3)", -1,
                         &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, rev, 16, SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, key, 32, SQLITE_STATIC);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return rc;
}

int store_epoch_key_get(store *st, int64_t sp, const uint8_t rev[16], uint8_t key[32]) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT key FROM epoch_keys WHERE sp=?1 AND rev=?2", -1, &s,
                         NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, rev, 16, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32) {
    memcpy(key, sqlite3_column_blob(s, 0), 32);
    rc = 0;
  } else {
    rc = rc == SQLITE_ROW ? STEK_ECORRUPT : rc == SQLITE_DONE ? STEK_ENOTFOUND
                                                              : db_fail(st, "store");
  }
  sqlite3_finalize(s);
  return rc;
}

int store_revocation_each(store *st, int64_t sp, const char *type, store_revocation_cb cb,
                          void *ctx) {
  /* Cached: every ingest asks (cb must not call back in here). */
  sqlite3_stmt *s = q(st, Q_REVOCATIONS);
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_text(s, 2, type, -1, SQLITE_STATIC);
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(s, 0) != 16 || sqlite3_column_bytes(s, 3) != 32) {
      stop = STEK_ECORRUPT;
      break;
    }
    stop = cb(ctx, sqlite3_column_blob(s, 0), sqlite3_column_blob(s, 1),
              (size_t)sqlite3_column_bytes(s, 1), (uint64_t)sqlite3_column_int64(s, 2),
              sqlite3_column_blob(s, 3), sqlite3_column_blob(s, 4),
              (size_t)sqlite3_column_bytes(s, 4));
  }
  int out = stop ? stop : rc == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_reset(s);
  return out;
}

int store_change_delete(store *st, int64_t sp, const uint8_t id[32]) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "DELETE FROM changes WHERE sp=?1 AND id=?2", -1, &s, NULL) !=
      SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_int64(s, 1, sp);
  sqlite3_bind_blob(s, 2, id, 32, SQLITE_STATIC);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return rc;
}

int store_records_clear(store *st, int64_t sp) {
  static const char *const sql[] = {
      "DELETE FROM fts WHERE rowid IN (SELECT doc FROM fts_docs WHERE sp=?1)",
      "DELETE FROM fts_docs WHERE sp=?1", "DELETE FROM lives WHERE sp=?1",
      "DELETE FROM fields WHERE sp=?1", "DELETE FROM elems WHERE sp=?1"};
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof sql / sizeof *sql; i++) {
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql[i], -1, &s, NULL) != SQLITE_OK) return db_fail(st, "store");
    sqlite3_bind_int64(s, 1, sp);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
    sqlite3_finalize(s);
  }
  return rc;
}

/* ---- blind relaying ---- */

static int exec_bind(store *st, const char *sql, const void *a, int alen, const void *b,
                     int blen) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) return db_fail(st, "store");
  sqlite3_bind_blob(s, 1, a, alen, SQLITE_STATIC);
  if (b) sqlite3_bind_blob(s, 2, b, blen, SQLITE_STATIC);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return rc;
}

int store_relay_add(store *st, const uint8_t tag[16], const uint8_t key[32]) {
  return exec_bind(st, "INSERT OR IGNORE INTO relays VALUES(?1, ?2)", tag, 16, key, 32);
}

int store_relay_each(store *st, store_relay_cb cb, void *ctx) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT tag, key FROM relays ORDER BY tag", -1, &s,
                         NULL) != SQLITE_OK)
    return db_fail(st, "store");
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
    if (sqlite3_column_bytes(s, 0) == 16 && sqlite3_column_bytes(s, 1) == 32)
      stop = cb(ctx, sqlite3_column_blob(s, 0), sqlite3_column_blob(s, 1));
  int out = stop ? stop : rc == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return out;
}

int store_relay_op_add(store *st, const uint8_t tag[16], const uint8_t id[32], uint64_t ts,
                       const uint8_t *sealed, size_t len) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO relay_ops VALUES(?1,?2,?3,?4)", -1,
                         &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_blob(s, 1, tag, 16, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, id, 32, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, u2i(ts));
  sqlite3_bind_blob(s, 4, sealed, (int)len, SQLITE_STATIC);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, "store");
  sqlite3_finalize(s);
  return rc;
}

int store_relay_op_get(store *st, const uint8_t tag[16], const uint8_t id[32],
                       uint64_t *ts, store_bytes_cb cb, void *ctx) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(st->db, "SELECT ts, sealed FROM relay_ops WHERE tag=?1 AND id=?2",
                         -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, "store");
  sqlite3_bind_blob(s, 1, tag, 16, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, id, 32, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *ts = (uint64_t)sqlite3_column_int64(s, 0);
    rc = cb(ctx, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1));
  } else {
    rc = rc == SQLITE_DONE ? STEK_ENOTFOUND : db_fail(st, "store");
  }
  sqlite3_finalize(s);
  return rc;
}

int store_relay_items(store *st, const uint8_t tag[16], neg_item **out, size_t *n) {
  sqlite3_stmt *s;
  size_t cap = 64, k = 0;
  neg_item *items = malloc(cap * sizeof *items);
  *out = NULL;
  *n = 0;
  if (!items) return STEK_ENOMEM;
  if (sqlite3_prepare_v2(st->db, "SELECT ts, id FROM relay_ops WHERE tag=?1 ORDER BY ts, id",
                         -1, &s, NULL) != SQLITE_OK) {
    free(items);
    return db_fail(st, "store");
  }
  sqlite3_bind_blob(s, 1, tag, 16, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(s, 1) != 32) continue;
    if (k == cap) {
      neg_item *p = realloc(items, cap * 2 * sizeof *items);
      if (!p) {
        rc = SQLITE_NOMEM;
        break;
      }
      items = p;
      cap *= 2;
    }
    items[k].timestamp = (uint64_t)sqlite3_column_int64(s, 0);
    memcpy(items[k++].id, sqlite3_column_blob(s, 1), 32);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    free(items);
    return rc == SQLITE_NOMEM ? STEK_ENOMEM : db_fail(st, "store");
  }
  *out = items;
  *n = k;
  return 0;
}

int store_relay_op_count(store *st, uint64_t *n) {
  return query_count(st, "SELECT count(*) FROM relay_ops", -1, n);
}
