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
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

static void usage(void) {
  fprintf(stderr, "usage: load stek|sqlite TRACE PATH [--batch N] [--records M]\n");
  exit(2);
}

static void sq_check(int rc, sqlite3 *db, const char *what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  fprintf(stderr, "bench: sqlite %s: %s\n", what, sqlite3_errmsg(db));
  exit(1);
}

int main(int argc, char **argv) {
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
