/*
 * store/rank -- the ranking function of directory search: BM25F over the
 * columns of an FTS5 table, registered on a connection as
 * stek_bm25f(fts, weight, ...), one weight per column.
 *
 * Why not FTS5's bm25(): it divides a match's weight by the length of the
 * whole row, so an entry with more fields filled in (hours, how to refer,
 * what to bring) ranked below a sparse one whose match was in a lesser
 * column.  BM25F normalises each column by its own length against that
 * column's average, then weighs the columns: a match in a short service
 * name counts as one, however long the entry's other texts are.
 *
 * Like bm25(), it returns the negated score, so ORDER BY it gives the best
 * match first.  Must never: read anything but the FTS5 row it is given.
 */
#ifndef STEK_STORE_RANK_H
#define STEK_STORE_RANK_H

#include <sqlite3.h>

/* Register stek_bm25f() on db.  SQLITE_OK, or an SQLite error code. */
int rank_register(sqlite3 *db);

#endif
