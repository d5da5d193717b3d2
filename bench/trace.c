/* bench/trace: see trace.h. */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static const json_field *find(const json_record *r, const char *name) {
  for (size_t i = 0; i < r->count; i++)
    if (!strcmp(r->fields[i].name, name)) return &r->fields[i];
  return NULL;
}

static void die(const char *path, size_t lineno, const char *msg) {
  fprintf(stderr, "bench: %s:%zu: %s\n", path, lineno, msg);
  exit(1);
}

void trace_open(trace_reader *r, const char *path) {
  memset(r, 0, sizeof *r);
  r->path = path;
  if (!(r->f = fopen(path, "rb"))) die(path, 0, "cannot open");
}

void trace_close(trace_reader *r) {
  if (r->f) fclose(r->f);
  free(r->buf);
  memset(r, 0, sizeof *r);
}

void trace_ev_free(trace_ev *e) {
  json_record_free(e->line);
  memset(e, 0, sizeof *e);
}

int trace_next(trace_reader *r, trace_ev *e) {
  ssize_t len;
  const char *path = r->path;
  for (;;) {
    if ((len = getline(&r->buf, &r->cap, r->f)) <= 0) return 0;
    r->lineno++;
    while (len && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r')) len--;
    if (len) break;
  }
  char *line = r->buf;
  size_t lineno = r->lineno;
  memset(e, 0, sizeof *e);
  char err[200];
  if (json_parse_nested(line, (size_t)len, &e->line, err, sizeof err)) die(path, lineno, err);
  e->line_len = (size_t)len;
  const json_field *at = find(e->line, "at"), *f2;
  if (at && at->value.kind == STEK_VALUE_STR) e->at = at->value.str[0];
  if ((f2 = find(e->line, "put")) || (f2 = find(e->line, "del"))) {
    e->kind = !strcmp(f2->name, "put") ? EV_PUT : EV_DEL;
    if (f2->value.kind != STEK_VALUE_STR || strlen(f2->value.str) >= sizeof e->type)
      die(path, lineno, "bad type");
    strcpy(e->type, f2->value.str);
    const json_field *id = find(e->line, "id");
    if (!id || id->value.kind != STEK_VALUE_STR || stek_id_from_hex(id->value.str, e->id))
      die(path, lineno, "bad id");
    if (e->kind == EV_PUT) {
      const json_field *fl = find(e->line, "fields");
      if (!fl || !fl->object) die(path, lineno, "put without fields");
      e->fields = fl->object;
      const char *p = strstr(line, "\"fields\": ");
      size_t off = p ? (size_t)(p - line) + 10 : 0;
      /* the fields object runs to the line's last '}' but one */
      e->fields_json_len = p ? (size_t)len - off - 1 : 0;
    }
  } else if ((f2 = find(e->line, "signal"))) {
    e->kind = EV_SIGNAL;
    e->signal = f2->object;
  } else if ((f2 = find(e->line, "sync"))) {
    e->kind = EV_SYNC;
    if (f2->value.kind != STEK_VALUE_LIST || f2->value.list_len != 2) die(path, lineno, "bad sync");
    e->sync[0] = f2->value.list[0][0];
    e->sync[1] = f2->value.list[1][0];
  } else if (find(e->line, "expect")) {
    e->kind = EV_EXPECT;
  } else {
    die(path, lineno, "unknown event");
  }
  return 1;
}

void trace_read(trace *t, const char *path) {
  trace_reader r;
  trace_open(&r, path);
  memset(t, 0, sizeof *t);
  size_t cap = 0;
  int base_done = 0;
  trace_ev e;
  while (trace_next(&r, &e)) {
    if (t->n == cap) {
      cap = cap ? cap * 2 : 1024;
      t->ev = realloc(t->ev, cap * sizeof *t->ev);
      if (!t->ev) die(path, r.lineno, "out of memory");
    }
    if (e.at == '*' && !base_done) {
      t->n_base++;
      t->base_json_bytes += e.line_len + 1;
    } else {
      base_done = 1;
    }
    t->ev[t->n++] = e;
  }
  trace_close(&r);
}

void trace_free(trace *t) {
  for (size_t i = 0; i < t->n; i++) json_record_free(t->ev[i].line);
  free(t->ev);
  memset(t, 0, sizeof *t);
}

int trace_put(stek *s, const trace_ev *e) {
  stek_field fl[JSON_MAX_KEYS];
  size_t n = e->fields->count;
  for (size_t i = 0; i < n; i++) {
    fl[i].name = e->fields->fields[i].name;
    fl[i].value = e->fields->fields[i].value;
  }
  if (!strcmp(e->type, "directory")) return stek_directory_put(s, e->id, fl, n);
  if (!strcmp(e->type, "schedule")) return stek_schedule_put(s, e->id, fl, n);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) rc = stek_put(s, e->type, e->id, fl[i].name, &fl[i].value);
  return rc;
}

static const char *sigfield(const json_record *r, const char *name) {
  const json_field *f = find(r, name);
  return f && f->value.kind == STEK_VALUE_STR ? f->value.str : "";
}

int trace_apply(stek *s, const trace_ev *e) {
  char receipt[STEK_RECEIPT_BYTES];
  switch (e->kind) {
  case EV_PUT: return trace_put(s, e);
  case EV_DEL: return stek_delete(s, e->type, e->id);
  case EV_SIGNAL:
    return stek_signal_record(s, sigfield(e->signal, "theme"), sigfield(e->signal, "site"),
                              sigfield(e->signal, "text"), receipt);
  default: return 0;
  }
}

double bench_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

long bench_peak_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

long long bench_store_bytes(const char *path) {
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  long long total = 0;
  for (size_t i = 0; i < 4; i++) {
    char p[1100];
    struct stat st;
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    if (!stat(p, &st)) total += st.st_size;
  }
  return total;
}

void bench_check(int rc, stek *s, const char *what) {
  if (rc >= 0) return;
  fprintf(stderr, "bench: %s: %s (%s)\n", what, stek_strerror(rc), s ? stek_errmsg(s) : "");
  exit(1);
}
