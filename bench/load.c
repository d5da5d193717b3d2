/*
 * bench/load -- write the base records of a trace through libstek, or the
 * same rows into plain SQLite, and print one JSON object of measurements.
 *
 *   load stek   TRACE STORE  [--batch N] [--records M]
 *   load sqlite TRACE DBFILE [--batch N] [--records M]
 *
 * stek: each base record through its typed put (stek_directory_put,
 * stek_schedule_put), N records a transaction (stek_begin/stek_commit).
 * sqlite: the baseline -- one table (id, type, json), the record's fields
 * as the JSON text of the trace, N rows a transaction, with the same
 * pragmas as libstek's store (WAL, synchronous=FULL).
 * ms is the whole loop; write_ms leaves out the time spent reading and
 * parsing the trace (parse_ms), the same work in both modes.
 * The trace is streamed (one line in memory at a time), so peak RSS is the
 * store's, plus the same small reading overhead in both modes.
 *
 *   load breakdown STORE DBFILE
 *     The parts of libstek's write that any signed op log pays, timed on the
 *     changes STORE holds (written by `load stek`): BLAKE2b-256 of each
 *     change body (its id), an Ed25519 signature of it, and the op log
 *     alone: the wires inserted into plain SQLite (changes(id, hlc, wire)
 *     and the (hlc, id) index libstek keeps, same pragmas, one transaction
 *     a change, as libstek commits them).
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crdt/change.h"
#include "trace.h"

static void usage(void) {
  fprintf(stderr, "usage: load stek|sqlite TRACE PATH [--batch N] [--records M]\n"
                  "       load breakdown STORE DBFILE\n");
  exit(2);
}

static void sq_check(int rc, sqlite3 *db, const char *what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  fprintf(stderr, "bench: sqlite %s: %s\n", what, sqlite3_errmsg(db));
  exit(1);
}

typedef struct wires {
  uint8_t **p;
  size_t *len, n, cap;
} wires;

static int keep_wire(void *ctx, const uint8_t *b, size_t len) {
  wires *w = ctx;
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 256;
    w->p = realloc(w->p, w->cap * sizeof *w->p);
    w->len = realloc(w->len, w->cap * sizeof *w->len);
    if (!w->p || !w->len) exit(1);
  }
  w->p[w->n] = malloc(len);
  if (!w->p[w->n]) exit(1);
  memcpy(w->p[w->n], b, len);
  w->len[w->n++] = len;
  return 0;
}

/* Copy the rows of select (over STORE attached as s) into a new table made
 * by create, in txs transactions; the time of the inserts and commits. */
static double copy_rows(sqlite3 *db, const char *store, const char *what, const char *create,
                        const char *select, const char *insert, int cols, size_t txs) {
  sqlite3_stmt *sel, *ins, *cnt;
  char attach[4200];
  snprintf(attach, sizeof attach, "ATTACH '%s' AS s", store);
  sq_check(sqlite3_exec(db, attach, NULL, NULL, NULL), db, "attach");
  sq_check(sqlite3_exec(db, create, NULL, NULL, NULL), db, what);
  char count[256];
  snprintf(count, sizeof count, "SELECT count(*) FROM s.%s", what);
  sq_check(sqlite3_prepare_v2(db, count, -1, &cnt, NULL), db, "count");
  sq_check(sqlite3_step(cnt), db, "count");
  long long rows = sqlite3_column_int64(cnt, 0), per = rows / (long long)(txs ? txs : 1) + 1, k = 0;
  sqlite3_finalize(cnt);
  sq_check(sqlite3_prepare_v2(db, select, -1, &sel, NULL), db, "select");
  sq_check(sqlite3_prepare_v2(db, insert, -1, &ins, NULL), db, "insert");
  double ms = 0, t = bench_now_ms();
  sq_check(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db, "begin");
  while (sqlite3_step(sel) == SQLITE_ROW) {
    for (int c = 0; c < cols; c++) sqlite3_bind_value(ins, c + 1, sqlite3_column_value(sel, c));
    double t1 = bench_now_ms();
    sq_check(sqlite3_step(ins), db, "insert");
    sqlite3_reset(ins);
    if (++k % per == 0) {
      sq_check(sqlite3_exec(db, "COMMIT; BEGIN", NULL, NULL, NULL), db, "commit");
    }
    ms += bench_now_ms() - t1;
  }
  sq_check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
  (void)t;
  sqlite3_finalize(sel);
  sqlite3_finalize(ins);
  sq_check(sqlite3_exec(db, "DETACH s", NULL, NULL, NULL), db, "detach");
  return ms;
}

static int breakdown(const char *store, const char *dbfile) {
  stek *s = NULL;
  wires w = {0};
  bench_check(stek_open(&s, store, NULL), s, "open");
  bench_check(stek_changes(s, keep_wire, &w), s, "changes");
  stek_close(s);
  if (sodium_init() < 0) return 1;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  unsigned char sig[crypto_sign_BYTES], h[32];
  crypto_sign_keypair(pk, sk);
  long long body_bytes = 0, wire_bytes = 0;
  double hash_ms = 0, sign_ms = 0, t;
  for (size_t i = 0; i < w.n; i++) {
    change c;
    if (change_decode(w.p[i], w.len[i], &c)) return 1;
    body_bytes += (long long)c.body_len;
    wire_bytes += (long long)w.len[i];
    t = bench_now_ms();
    crypto_generichash(h, sizeof h, c.body, c.body_len, NULL, 0);
    hash_ms += bench_now_ms() - t;
    t = bench_now_ms();
    crypto_sign_detached(sig, NULL, c.body, c.body_len, sk);
    sign_ms += bench_now_ms() - t;
  }
  sqlite3 *db;
  sqlite3_stmt *ins;
  unlink(dbfile);
  sq_check(sqlite3_open(dbfile, &db), db, "open");
  sq_check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                            "CREATE TABLE changes(id BLOB PRIMARY KEY, hlc INTEGER NOT NULL,"
                            " wire BLOB NOT NULL) WITHOUT ROWID;"
                            "CREATE INDEX changes_by_hlc ON changes(hlc, id);",
                        NULL, NULL, NULL),
           db, "schema");
  sq_check(sqlite3_prepare_v2(db, "INSERT INTO changes VALUES (?, ?, ?)", -1, &ins, NULL), db,
           "prepare");
  double t0 = bench_now_ms();
  for (size_t i = 0; i < w.n; i++) {
    change c;
    if (change_decode(w.p[i], w.len[i], &c)) return 1;
    sq_check(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db, "begin");
    sqlite3_bind_blob(ins, 1, c.id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, (sqlite3_int64)c.hlc);
    sqlite3_bind_blob(ins, 3, w.p[i], (int)w.len[i], SQLITE_STATIC);
    sq_check(sqlite3_step(ins), db, "insert");
    sqlite3_reset(ins);
    sq_check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
  }
  double oplog_ms = bench_now_ms() - t0;
  sqlite3_finalize(ins);
  /* The materialized rows and the full-text index alone: STORE's own rows
   * copied into the same tables of a plain SQLite file, in as many
   * transactions as STORE has changes. */
  double fields_ms = copy_rows(db, store, "fields",
                               "CREATE TABLE fields(sp INTEGER NOT NULL, type TEXT NOT NULL,"
                               " rid BLOB NOT NULL, name TEXT NOT NULL, value BLOB, hlc INTEGER"
                               " NOT NULL, author BLOB NOT NULL, seq INTEGER NOT NULL,"
                               " PRIMARY KEY(sp, type, rid, name)) WITHOUT ROWID",
                               "SELECT * FROM s.fields ORDER BY hlc, seq, name",
                               "INSERT INTO fields VALUES(?,?,?,?,?,?,?,?)",
                               8, w.n);
  double fts_ms = copy_rows(db, store, "fts",
                            "CREATE VIRTUAL TABLE fts USING fts5(org, service, category, summary,"
                            " other, tokenize='unicode61 remove_diacritics 2')",
                            "SELECT rowid, org, service, category, summary, other FROM s.fts",
                            "INSERT INTO fts(rowid, org, service, category, summary, other)"
                            " VALUES(?,?,?,?,?,?)",
                            6, w.n);
  sqlite3_close(db);
  printf("{\"mode\":\"breakdown\",\"changes\":%zu,\"body_bytes\":%lld,\"wire_bytes\":%lld,"
         "\"hash_ms\":%.1f,\"sign_ms\":%.1f,\"oplog_ms\":%.1f,\"fields_ms\":%.1f,"
         "\"fts_ms\":%.1f,\"plain_bytes\":%lld}\n",
         w.n, body_bytes, wire_bytes, hash_ms, sign_ms, oplog_ms, fields_ms, fts_ms,
         bench_store_bytes(dbfile));
  for (size_t i = 0; i < w.n; i++) free(w.p[i]);
  free(w.p);
  free(w.len);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "breakdown")) return breakdown(argv[2], argv[3]);
  if (argc < 4) usage();
  const char *mode = argv[1], *path = argv[2], *store = argv[3];
  long batch = 1000, limit = -1;
  for (int i = 4; i < argc; i++) {
    if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atol(argv[++i]);
    else if (!strcmp(argv[i], "--records") && i + 1 < argc) limit = atol(argv[++i]);
    else usage();
  }
  if (batch < 1) usage();
  int is_stek = !strcmp(mode, "stek");
  if (!is_stek && strcmp(mode, "sqlite")) usage();
  unlink(store);

  stek *s = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *ins = NULL;
  uint8_t space[STEK_ID_BYTES];
  double t_open = bench_now_ms();
  if (is_stek) {
    bench_check(stek_open(&s, store, NULL), s, "open");
    bench_check(stek_space_create(s, "bench", space), s, "space");
  } else {
    sq_check(sqlite3_open(store, &db), db, "open");
    sq_check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                              "CREATE TABLE records(id BLOB PRIMARY KEY, type TEXT NOT NULL,"
                              " json TEXT NOT NULL) WITHOUT ROWID;",
                          NULL, NULL, NULL),
             db, "schema");
    sq_check(sqlite3_prepare_v2(db, "INSERT INTO records(id, type, json) VALUES (?, ?, ?)", -1,
                                &ins, NULL),
             db, "prepare");
  }

  trace_reader r;
  trace_ev e;
  trace_open(&r, path);
  long n = 0, in_tx = 0;
  long long json_bytes = 0, line_bytes = 0;
  double t0 = bench_now_ms(), parse_ms = 0, tp;
  while ((limit < 0 || n < limit) && (tp = bench_now_ms(), trace_next(&r, &e))) {
    parse_ms += bench_now_ms() - tp;
    if (e.at != '*' || e.kind != EV_PUT) {
      trace_ev_free(&e);
      break;
    }
    if (!in_tx) {
      if (is_stek) bench_check(stek_begin(s), s, "begin");
      else sq_check(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db, "begin");
    }
    if (is_stek) {
      bench_check(trace_put(s, &e), s, "put");
    } else {
      const char *fj = r.buf + (e.line_len - 1 - e.fields_json_len);
      sqlite3_bind_blob(ins, 1, e.id, STEK_ID_BYTES, SQLITE_STATIC);
      sqlite3_bind_text(ins, 2, e.type, -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 3, fj, (int)e.fields_json_len, SQLITE_STATIC);
      sq_check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
    }
    json_bytes += (long long)e.fields_json_len;
    line_bytes += (long long)e.line_len + 1;
    n++;
    if (++in_tx == batch) {
      if (is_stek) bench_check(stek_commit(s), s, "commit");
      else sq_check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
      in_tx = 0;
    }
    trace_ev_free(&e);
  }
  if (in_tx) {
    if (is_stek) bench_check(stek_commit(s), s, "commit");
    else sq_check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
  }
  double ms = bench_now_ms() - t0;
  trace_close(&r);
  uint64_t changes = 0;
  if (is_stek) {
    bench_check(stek_change_count(s, &changes), s, "count");
    stek_close(s);
  } else {
    sqlite3_finalize(ins);
    sqlite3_close(db);
  }
  /* after close: the WAL is checkpointed into the file */
  printf("{\"mode\":\"%s\",\"records\":%ld,\"batch\":%ld,\"ms\":%.1f,\"records_per_s\":%.0f,"
         "\"parse_ms\":%.1f,\"write_ms\":%.1f,\"write_records_per_s\":%.0f,\"open_ms\":%.1f,\"changes\":%llu,\"store_bytes\":%lld,\"fields_json_bytes\":%lld,"
         "\"trace_line_bytes\":%lld,\"peak_rss_kb\":%ld}\n",
         mode, n, batch, ms, n / (ms / 1e3), parse_ms, ms - parse_ms,
         n / ((ms - parse_ms) / 1e3), t0 - t_open, (unsigned long long)changes,
         bench_store_bytes(store), json_bytes, line_bytes, bench_peak_rss_kb());
  return 0;
}
