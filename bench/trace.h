/*
 * bench/trace -- read a workload trace of ../shared/workloads/gen_trace.py
 * (JSON Lines) into memory, and write its records through libstek.
 */
#ifndef STEK_BENCH_TRACE_H
#define STEK_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "stek.h"

enum ev_kind { EV_PUT = 1, EV_DEL, EV_SIGNAL, EV_SYNC, EV_EXPECT };

typedef struct trace_ev {
  int kind;
  char at;               /* '*' (every replica), 'A', 'B', ... */
  char type[16];         /* "directory" / "schedule" */
  uint8_t id[STEK_ID_BYTES];
  json_record *line;     /* the whole parsed line */
  const json_record *fields; /* EV_PUT: the "fields" object (points into line) */
  const json_record *signal; /* EV_SIGNAL */
  char sync[2];          /* EV_SYNC */
  size_t fields_json_len; /* EV_PUT: bytes of the "fields" object's JSON text */
  size_t line_len;        /* bytes of the line, without its newline */
} trace_ev;

typedef struct trace {
  trace_ev *ev;
  size_t n;
  size_t n_base; /* the leading "*" events */
  size_t base_json_bytes; /* bytes of the base lines (the raw JSON size) */
} trace;

/* Read the trace at path; exits with a message on any failure. */
void trace_read(trace *t, const char *path);

/* Streaming: the next event of f (path for messages) into *e; 1 if there
 * was one, 0 at the end; exits on malformed input.  Free with
 * trace_ev_free(). */
typedef struct trace_reader {
  FILE *f;
  const char *path;
  size_t lineno;
  char *buf;
  size_t cap;
} trace_reader;
void trace_open(trace_reader *r, const char *path);
int trace_next(trace_reader *r, trace_ev *e);
void trace_ev_free(trace_ev *e);
void trace_close(trace_reader *r);
void trace_free(trace *t);

/* Write one put event through the typed put of its type (directory,
 * schedule; others through stek_put field by field). */
int trace_put(stek *s, const trace_ev *e);
/* Apply any event that writes (put, del, signal). */
int trace_apply(stek *s, const trace_ev *e);

/* Milliseconds of a monotonic clock. */
double bench_now_ms(void);
/* Peak resident set size of this process, in KiB (getrusage). */
long bench_peak_rss_kb(void);
/* Size in bytes of a SQLite store: the file plus its -wal and -shm. */
long long bench_store_bytes(const char *path);
/* Exit with a message if rc is negative. */
void bench_check(int rc, stek *s, const char *what);

#endif
