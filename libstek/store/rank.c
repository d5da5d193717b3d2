/*
 * store/rank -- see rank.h.  The statistics that do not depend on the row
 * (each phrase's IDF, each column's average length) are computed at the
 * first row of a query and kept as the query's auxiliary data, as FTS5's
 * own bm25() does.
 */
#include "store/rank.h"

#include <math.h>
#include <string.h>

#define K1 1.2
#define B 0.75

typedef struct rank_stats {
  int n_phrase, n_col;
  double *idf; /* per phrase */
  double *avg; /* per column: average length in tokens */
} rank_stats;

static int count_row(const Fts5ExtensionApi *x, Fts5Context *fts, void *p) {
  (void)x;
  (void)fts;
  ++*(sqlite3_int64 *)p;
  return SQLITE_OK;
}

static int stats_load(const Fts5ExtensionApi *x, Fts5Context *fts, rank_stats **out) {
  rank_stats *st = x->xGetAuxdata(fts, 0);
  if (st) {
    *out = st;
    return SQLITE_OK;
  }
  int n_phrase = x->xPhraseCount(fts), n_col = x->xColumnCount(fts);
  size_t bytes = sizeof *st + ((size_t)n_phrase + (size_t)n_col) * sizeof(double);
  st = sqlite3_malloc64(bytes);
  if (!st) return SQLITE_NOMEM;
  memset(st, 0, bytes);
  st->n_phrase = n_phrase;
  st->n_col = n_col;
  st->idf = (double *)(st + 1);
  st->avg = st->idf + n_phrase;
  sqlite3_int64 rows = 0;
  int rc = x->xRowCount(fts, &rows);
  for (int c = 0; rc == SQLITE_OK && c < n_col; c++) {
    sqlite3_int64 total = 0;
    rc = x->xColumnTotalSize(fts, c, &total);
    st->avg[c] = rows > 0 ? (double)total / (double)rows : 0.0;
  }
  for (int p = 0; rc == SQLITE_OK && p < n_phrase; p++) {
    sqlite3_int64 hits = 0;
    rc = x->xQueryPhrase(fts, p, &hits, count_row);
    /* As bm25(): a phrase in more than half the rows still counts a little. */
    double idf = log(((double)rows - (double)hits + 0.5) / ((double)hits + 0.5));
    st->idf[p] = idf > 1e-6 ? idf : 1e-6;
  }
  if (rc == SQLITE_OK) rc = x->xSetAuxdata(fts, st, sqlite3_free);
  else sqlite3_free(st);
  if (rc == SQLITE_OK) *out = st;
  return rc;
}

/* stek_bm25f(fts, w0, w1, ...): missing weights are 1. */
static void bm25f(const Fts5ExtensionApi *x, Fts5Context *fts, sqlite3_context *ctx,
                  int n_val, sqlite3_value **val) {
  rank_stats *st = NULL;
  int rc = stats_load(x, fts, &st), n_inst = 0;
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  rc = x->xInstCount(fts, &n_inst);
  size_t cells = (size_t)st->n_phrase * (size_t)st->n_col;
  double *tf = NULL, *norm = NULL;
  if (rc == SQLITE_OK) {
    tf = sqlite3_malloc64((cells + (size_t)st->n_col + 1) * sizeof *tf);
    if (!tf) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    memset(tf, 0, (cells + (size_t)st->n_col + 1) * sizeof *tf);
    norm = tf + cells;
    /* Each column's weight over its length normalisation. */
    for (int c = 0; rc == SQLITE_OK && c < st->n_col; c++) {
      int len = 0;
      double w = c < n_val ? sqlite3_value_double(val[c]) : 1.0;
      rc = x->xColumnSize(fts, c, &len);
      double l = st->avg[c] > 0 ? (1.0 - B) + B * (double)len / st->avg[c] : 1.0;
      norm[c] = w / l;
    }
  }
  for (int i = 0; rc == SQLITE_OK && i < n_inst; i++) {
    int p, c, off;
    rc = x->xInst(fts, i, &p, &c, &off);
    if (rc == SQLITE_OK && p >= 0 && p < st->n_phrase && c >= 0 && c < st->n_col)
      tf[(size_t)p * (size_t)st->n_col + (size_t)c] += 1.0;
  }
  double score = 0.0;
  for (int p = 0; rc == SQLITE_OK && p < st->n_phrase; p++) {
    double t = 0.0;
    for (int c = 0; c < st->n_col; c++) t += tf[(size_t)p * (size_t)st->n_col + (size_t)c] * norm[c];
    score += st->idf[p] * t * (K1 + 1.0) / (t + K1);
  }
  sqlite3_free(tf);
  if (rc == SQLITE_OK) sqlite3_result_double(ctx, -score);
  else sqlite3_result_error_code(ctx, rc);
}

int rank_register(sqlite3 *db) {
  fts5_api *api = NULL;
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, NULL);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
  sqlite3_step(s);
  rc = sqlite3_finalize(s);
  if (rc != SQLITE_OK) return rc;
  if (!api || api->iVersion < 2) return SQLITE_ERROR;
  return api->xCreateFunction(api, "stek_bm25f", NULL, bm25f, NULL);
}
