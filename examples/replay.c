/*
 * replay -- see replay.h.
 *
 * A trace is JSON Lines, one event a line (gen_trace.py):
 *   {"at":"*","put":TYPE,"id":HEX32,"fields":{...}}  the common base
 *   {"at":R,"put":TYPE,"id":HEX32,"fields":{...}}    replica R writes fields
 *   {"at":R,"del":TYPE,"id":HEX32}                    R deletes a record
 *   {"at":R,"signal":{"theme":..,"site":..,"text":..,"week":..}}
 *   {"sync":[X,Y]}                                    X syncs with Y
 *   {"expect":"converged"}                            all replicas equal
 *
 * Pass 1 reads every line with json_parse_nested() and checks it against
 * this grammar, collecting the replica names; pass 2 replays.  "*" events
 * must all come first.  They are written once, into the first replica (by
 * name), with the typed puts, and then handed to the others change by change
 * (stek_changes -> stek_ingest), as if synced earlier: that is load_ms.  A
 * sync starts a server on Y's store (port 0, 127.0.0.1) and runs stek_sync
 * from X's handle.
 */
#define _POSIX_C_SOURCE 200809L

#include "replay.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "stek.h"

enum { EXIT_FAIL = 1, EXIT_INPUT = 4 };

#define MAX_REPLICAS 64
#define MAX_NAME 16 /* a replica name: 1..16 of [A-Za-z0-9_-], a directory */

typedef struct replica {
  char name[MAX_NAME + 1];
  char path[4096]; /* DIR/NAME/stek.db */
  stek *s;
} replica;

typedef struct sync_result {
  int a, b; /* replica indexes */
  double ms;
  stek_sync_stats st;
} sync_result;

enum ev_kind { EV_PUT = 1, EV_DEL, EV_SIGNAL, EV_SYNC, EV_EXPECT };

/* One event, pointing into the parsed line. */
typedef struct event {
  int kind;
  int base;           /* "at":"*" */
  const char *at;     /* the replica, or "*" */
  const char *type;   /* put, del */
  uint8_t id[STEK_ID_BYTES];
  const json_record *fields;  /* put */
  const char *sig[3];         /* signal: theme, site, text */
  const char *pair[2];        /* sync */
} event;

typedef struct replay {
  const char *trace, *dir;
  long line;
  replica r[MAX_REPLICAS];
  int n;
  sync_result *syncs;
  size_t n_syncs, cap_syncs;
  double load_ms, edit_ms;
  int converged, expects, tty;
} replay;

#if defined(__GNUC__)
#define REPLAY_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define REPLAY_PRINTF(a, b)
#endif

/* "stek: TRACE:LINE: message" (no line when rp->line is 0), one line on
 * stderr; returns code. */
static int fail(const replay *rp, int code, const char *fmt, ...) REPLAY_PRINTF(3, 4);
static int fail(const replay *rp, int code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *p = msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  if (rp->line) fprintf(stderr, "stek: %s:%ld: %s\n", rp->trace, rp->line, msg);
  else fprintf(stderr, "stek: %s\n", msg);
  return code;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ---- reading and checking events ---------------------------------------- */

static const json_field *member(const json_record *r, const char *name) {
  for (size_t i = 0; i < r->count; i++)
    if (!strcmp(r->fields[i].name, name)) return &r->fields[i];
  return NULL;
}

static const char *string_of(const json_field *f) {
  return f && !f->object && f->value.kind == STEK_VALUE_STR ? f->value.str : NULL;
}

static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > MAX_NAME) return 0;
  return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Check the parsed line r against the grammar into *ev; 0, or a message in
 * err. */
static int read_event(const json_record *r, event *ev, char *err, size_t errlen) {
  static const char *const actions[] = {"put", "del", "signal", "sync", "expect"};
  const json_field *act = NULL, *f;
  memset(ev, 0, sizeof *ev);
  for (size_t i = 0; i < r->count; i++) {
    const char *name = r->fields[i].name;
    for (int k = 0; k < 5; k++) {
      if (strcmp(name, actions[k])) continue;
      if (act) {
        snprintf(err, errlen, "an event has one of put, del, signal, sync, expect; "
                              "this one has \"%s\" and \"%s\"", act->name, name);
        return -1;
      }
      act = &r->fields[i];
      ev->kind = EV_PUT + k;
    }
  }
  if (!act) {
    snprintf(err, errlen, "an event needs one of put, del, signal, sync, expect");
    return -1;
  }
  /* The keys each kind takes: at, id and fields only where they belong. */
  int want_at = ev->kind <= EV_SIGNAL, want_id = ev->kind <= EV_DEL,
      want_fields = ev->kind == EV_PUT;
  for (size_t i = 0; i < r->count; i++) {
    const char *name = r->fields[i].name;
    if (&r->fields[i] == act) continue;
    if ((!strcmp(name, "at") && want_at) || (!strcmp(name, "id") && want_id) ||
        (!strcmp(name, "fields") && want_fields))
      continue;
    snprintf(err, errlen, "a \"%s\" event takes no \"%.64s\"", act->name, name);
    return -1;
  }
  if (want_at) {
    ev->at = string_of(member(r, "at"));
    if (!ev->at || (strcmp(ev->at, "*") && !valid_name(ev->at))) {
      snprintf(err, errlen, "\"at\" must be \"*\" or a replica name (1 to %d of "
                            "A-Z a-z 0-9 _ -)", MAX_NAME);
      return -1;
    }
    ev->base = !strcmp(ev->at, "*");
    if (ev->base && ev->kind != EV_PUT) {
      snprintf(err, errlen, "the common base (\"at\":\"*\") holds puts only");
      return -1;
    }
  }
  if (want_id) {
    const char *hex = string_of(member(r, "id"));
    if (!hex || stek_id_from_hex(hex, ev->id) != STEK_OK) {
      snprintf(err, errlen, "\"id\" must be 32 hex digits");
      return -1;
    }
    if (!(ev->type = string_of(act))) {
      snprintf(err, errlen, "\"%s\" must be a record type (a string)", act->name);
      return -1;
    }
  }
  switch (ev->kind) {
  case EV_PUT:
    f = member(r, "fields");
    if (!f || !f->object || f->object->count == 0) {
      snprintf(err, errlen, "a put needs \"fields\": an object with at least one field");
      return -1;
    }
    ev->fields = f->object;
    return 0;
  case EV_DEL: return 0;
  case EV_SIGNAL:
    if (!act->object) {
      snprintf(err, errlen, "\"signal\" must be an object {theme, site, text}");
      return -1;
    }
    for (size_t i = 0; i < act->object->count; i++) {
      const json_field *g = &act->object->fields[i];
      static const char *const names[] = {"theme", "site", "text", "week"};
      int k = 0;
      while (k < 4 && strcmp(g->name, names[k])) k++;
      if (k == 4 || g->value.kind != STEK_VALUE_STR) {
        snprintf(err, errlen, "a signal has theme, site, text and week, all strings; "
                              "not \"%.64s\" like this", g->name);
        return -1;
      }
      /* The trace's week is ignored: the library sets a signal's week from
       * its clock, and no caller can choose it. */
      if (k < 3) ev->sig[k] = g->value.str;
    }
    if (!ev->sig[0] || !ev->sig[1]) {
      snprintf(err, errlen, "a signal needs a theme and a site");
      return -1;
    }
    if (!ev->sig[2]) ev->sig[2] = "";
    return 0;
  case EV_SYNC:
    if (act->object || act->value.kind != STEK_VALUE_LIST || act->value.list_len != 2 ||
        !valid_name(act->value.list[0]) || !valid_name(act->value.list[1]) ||
        !strcmp(act->value.list[0], act->value.list[1])) {
      snprintf(err, errlen, "\"sync\" must be two distinct replica names, [\"A\",\"B\"]");
      return -1;
    }
    ev->pair[0] = act->value.list[0];
    ev->pair[1] = act->value.list[1];
    return 0;
  default: /* EV_EXPECT */
    if (!string_of(act) || strcmp(act->value.str, "converged")) {
      snprintf(err, errlen, "\"expect\" must be \"converged\"");
      return -1;
    }
    return 0;
  }
}

/* The index of replica name, adding it if add is set; -1 if absent or full. */
static int replica_index(replay *rp, const char *name, int add) {
  for (int i = 0; i < rp->n; i++)
    if (!strcmp(rp->r[i].name, name)) return i;
  if (!add || rp->n == MAX_REPLICAS) return -1;
  strcpy(rp->r[rp->n].name, name);
  return rp->n++;
}

/* Read the next line of f into *line (without its newline): 1, 0 at the
 * end, or -1 after reporting the failure. */
static int next_line(replay *rp, FILE *f, char **line, size_t *cap) {
  errno = 0;
  ssize_t n = getline(line, cap, f);
  if (n < 0) return errno ? -fail(rp, EXIT_FAIL, "cannot read: %s", strerror(errno)) : 0;
  rp->line++;
  if (n > 0 && (*line)[n - 1] == '\n') (*line)[--n] = '\0';
  if ((size_t)n > JSON_MAX_INPUT_BYTES)
    return -fail(rp, EXIT_INPUT, "line too long (limit %u bytes)", JSON_MAX_INPUT_BYTES);
  if ((size_t)n != strlen(*line))
    return -fail(rp, EXIT_INPUT, "NUL byte in line");
  return 1;
}

/* Parse the current line into *r and *ev; 0, or EXIT_INPUT after saying why. */
static int parse_line(replay *rp, const char *line, json_record **r, event *ev) {
  char err[512];
  if (json_parse_nested(line, strlen(line), r, err, sizeof err) != 0)
    return fail(rp, EXIT_INPUT, "invalid JSON: %s", err);
  if (read_event(*r, ev, err, sizeof err) != 0) {
    json_record_free(*r);
    *r = NULL;
    return fail(rp, EXIT_INPUT, "%s", err);
  }
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const replica *)a)->name, ((const replica *)b)->name);
}

/* Pass 1: check every line, collect the replica names (sorted), and count
 * the lines into *lines. */
static int check_trace(replay *rp, FILE *f, long *lines) {
  char *line = NULL;
  size_t cap = 0;
  int rc, seen_other = 0;
  while ((rc = next_line(rp, f, &line, &cap)) == 1) {
    json_record *r = NULL;
    event ev;
    if ((rc = parse_line(rp, line, &r, &ev)) != 0) break;
    const char *names[2] = {ev.kind == EV_SYNC ? ev.pair[0] : ev.base ? NULL : ev.at,
                            ev.kind == EV_SYNC ? ev.pair[1] : NULL};
    if (ev.base && seen_other)
      rc = fail(rp, EXIT_INPUT, "the common base (\"at\":\"*\") must come before every "
                                "other event");
    seen_other |= !ev.base;
    for (int k = 0; k < 2 && !rc; k++)
      if (names[k] && replica_index(rp, names[k], 1) < 0)
        rc = fail(rp, EXIT_INPUT, "more than %d replicas", MAX_REPLICAS);
    json_record_free(r);
    if (rc) break;
  }
  free(line);
  if (rc < 0) rc = -rc;
  *lines = rp->line;
  rp->line = 0;
  if (!rc && rp->n == 0) rc = fail(rp, EXIT_INPUT, "%s names no replica", rp->trace);
  if (!rc) qsort(rp->r, (size_t)rp->n, sizeof rp->r[0], by_name);
  return rc;
}

/* ---- the stores ------------------------------------------------------------ */

/* A library failure on replica i about what; exit 4 for a value of the
 * trace the library refuses (input_exit), 1 otherwise. */
static int fail_lib(replay *rp, int i, int rc, int input_exit, const char *what) {
  int code = rc == STEK_EINVAL ? input_exit : EXIT_FAIL;
  const char *detail = i >= 0 && rp->r[i].s ? stek_errmsg(rp->r[i].s) : "";
  return fail(rp, code, "%s%s%s%s%s%s", i >= 0 ? "replica " : "",
              i >= 0 ? rp->r[i].name : "", i >= 0 ? ": " : "", what,
              *detail ? ": " : "", detail);
}

static int make_dir(const char *path) {
  return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Create a fresh store for every replica, the space in the first and
 * shared with the others (each keeps the device identity it was born with). */
static int open_replicas(replay *rp) {
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  char dir[4096], file[4200];
  uint8_t space[STEK_ID_BYTES], dev[STEK_DEVICE_ID_BYTES];
  if (make_dir(rp->dir) != 0)
    return fail(rp, EXIT_FAIL, "cannot create %s: %s", rp->dir, strerror(errno));
  for (int i = 0; i < rp->n; i++) {
    replica *r = &rp->r[i];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", rp->dir, r->name) >= sizeof dir - 16)
      return fail(rp, EXIT_FAIL, "--dir path is too long");
    if (make_dir(dir) != 0)
      return fail(rp, EXIT_FAIL, "cannot create %s: %s", dir, strerror(errno));
    if ((size_t)snprintf(r->path, sizeof r->path, "%s/stek.db", dir) >= sizeof r->path)
      return fail(rp, EXIT_FAIL, "--dir path is too long");
    for (size_t k = 0; k < sizeof suffixes / sizeof *suffixes; k++) { /* fresh */
      snprintf(file, sizeof file, "%s%s", r->path, suffixes[k]);
      if (remove(file) != 0 && errno != ENOENT)
        return fail(rp, EXIT_FAIL, "cannot remove %s: %s", file, strerror(errno));
    }
    int rc = stek_open(&r->s, r->path, NULL);
    if (rc) return fail_lib(rp, i, rc, EXIT_FAIL, "open");
  }
  int rc = stek_space_create(rp->r[0].s, "replay", space);
  if (rc) return fail_lib(rp, 0, rc, EXIT_FAIL, "space create");
  for (int i = 1; i < rp->n; i++) {
    uint8_t *sealed = NULL;
    size_t len = 0;
    stek_device_id(rp->r[i].s, dev);
    if ((rc = stek_space_share(rp->r[0].s, dev, &sealed, &len)) != STEK_OK)
      return fail_lib(rp, 0, rc, EXIT_FAIL, "space share");
    rc = stek_space_accept(rp->r[i].s, sealed, len);
    stek_free(sealed);
    if (rc < 0) return fail_lib(rp, i, rc, EXIT_FAIL, "space accept");
  }
  return 0;
}

/* ---- replaying events ------------------------------------------------------ */

/* Has j what a new schedule entry needs? */
static int is_whole_entry(const json_record *j) {
  return member(j, "title") && member(j, "site") && member(j, "start");
}

/* Write the fields of a put to replica i: schedule and directory with their
 * checked puts, other types field by field in one change. */
static int put(replay *rp, int i, const event *ev) {
  stek *s = rp->r[i].s;
  const json_record *j = ev->fields;
  stek_field f[JSON_MAX_KEYS];
  int typed = !strcmp(ev->type, "schedule") || !strcmp(ev->type, "directory"), rc;
  for (size_t k = 0; k < j->count; k++) {
    if (j->fields[k].object) return fail(rp, EXIT_INPUT, "a field value is an object");
    f[k] = (stek_field){j->fields[k].name, j->fields[k].value};
  }
  /* A partial edit of a schedule entry this replica has deleted (the trace
   * does not know) would be refused by the checked put, which takes only
   * whole new entries; it is written field by field instead, as by a
   * device that had not yet seen the delete. */
  if (typed && !strcmp(ev->type, "schedule") && !is_whole_entry(j)) {
    stek_record *r = NULL;
    rc = stek_get(s, ev->type, ev->id, &r);
    stek_record_free(r);
    if (rc != STEK_OK && rc != STEK_ENOTFOUND) return fail_lib(rp, i, rc, EXIT_FAIL, "get");
    typed = rc == STEK_OK;
  }
  if (typed) {
    rc = !strcmp(ev->type, "schedule") ? stek_schedule_put(s, ev->id, f, j->count)
                                       : stek_directory_put(s, ev->id, f, j->count);
    return rc ? fail_lib(rp, i, rc, EXIT_INPUT, "put") : 0;
  }
  if ((rc = stek_begin(s)) != STEK_OK) return fail_lib(rp, i, rc, EXIT_FAIL, "put");
  for (size_t k = 0; k < j->count && !rc; k++)
    rc = stek_put(s, ev->type, ev->id, f[k].name, &f[k].value);
  if (rc) {
    stek_rollback(s);
    return fail_lib(rp, i, rc, EXIT_INPUT, "put");
  }
  rc = stek_commit(s);
  return rc ? fail_lib(rp, i, rc, EXIT_FAIL, "put") : 0;
}

typedef struct copier {
  replay *rp;
  int failed; /* the replica an ingest failed on, or -1 */
  int rc;
  uint64_t done, total; /* changes copied, of the base's */
} copier;

/* Hand one change of the first replica to every other one. */
static int copy_change(void *ctx, const uint8_t *bytes, size_t len) {
  copier *cp = ctx;
  for (int i = 1; i < cp->rp->n; i++) {
    int rc = stek_ingest(cp->rp->r[i].s, bytes, len);
    if (rc < 0) {
      cp->failed = i;
      cp->rc = rc;
      return 1;
    }
  }
  if (cp->rp->tty && ++cp->done % 256 == 0)
    fprintf(stderr, "\rreplay: base copied to the replicas, %llu of %llu changes",
            (unsigned long long)cp->done, (unsigned long long)cp->total);
  return 0;
}

/* The base is in the first replica: copy it to the others. */
static int copy_base(replay *rp) {
  copier cp = {rp, -1, 0, 0, 0};
  int rc = stek_change_count(rp->r[0].s, &cp.total);
  if (rc) return fail_lib(rp, 0, rc, EXIT_FAIL, "change count");
  rc = stek_changes(rp->r[0].s, copy_change, &cp);
  if (rp->tty && cp.done >= 256) fputc('\n', stderr);
  if (cp.failed >= 0) return fail_lib(rp, cp.failed, cp.rc, EXIT_FAIL, "ingest of the base");
  return rc ? fail_lib(rp, 0, rc, EXIT_FAIL, "changes") : 0;
}

static int do_sync(replay *rp, const event *ev) {
  int a = replica_index(rp, ev->pair[0], 0), b = replica_index(rp, ev->pair[1], 0);
  stek_server *srv;
  stek_sync_options o;
  sync_result res = {a, b, 0, {0}};
  if (rp->n_syncs == rp->cap_syncs) {
    size_t cap = rp->cap_syncs ? 2 * rp->cap_syncs : 16;
    sync_result *more = realloc(rp->syncs, cap * sizeof *more);
    if (!more) return fail(rp, EXIT_FAIL, "out of memory");
    rp->syncs = more;
    rp->cap_syncs = cap;
  }
  int rc = stek_server_start(&srv, rp->r[b].path, NULL, "127.0.0.1", 0, NULL);
  if (rc) {
    rc = fail(rp, EXIT_FAIL, "replica %s: cannot serve: %s", rp->r[b].name,
              stek_server_errmsg(srv));
    stek_server_stop(srv);
    return rc;
  }
  stek_sync_options_init(&o);
  double t0 = now_ms();
  rc = stek_sync(rp->r[a].s, "127.0.0.1", stek_server_port(srv), &o, &res.st);
  res.ms = now_ms() - t0;
  stek_server_stop(srv);
  if (rc) return fail_lib(rp, a, rc, EXIT_FAIL, "sync");
  rp->syncs[rp->n_syncs++] = res;
  return 0;
}

/* Compare the state hashes of all replicas: 1 if equal, 0 if not, or -1
 * after reporting a failure. */
static int all_equal(replay *rp) {
  uint8_t first[STEK_HASH_BYTES], h[STEK_HASH_BYTES];
  int same = 1;
  for (int i = 0; i < rp->n; i++) {
    int rc = stek_state_hash(rp->r[i].s, i ? h : first);
    if (rc) return -fail_lib(rp, i, rc, EXIT_FAIL, "state hash");
    if (i && memcmp(h, first, sizeof h)) same = 0;
  }
  return same;
}

static int run_event(replay *rp, const event *ev) {
  int i = ev->at && !ev->base ? replica_index(rp, ev->at, 0) : 0, rc = 0;
  char receipt[STEK_RECEIPT_BYTES];
  double t0 = now_ms();
  switch (ev->kind) {
  case EV_PUT: rc = put(rp, i, ev); break;
  case EV_DEL:
    rc = stek_delete(rp->r[i].s, ev->type, ev->id);
    if (rc) rc = fail_lib(rp, i, rc, EXIT_INPUT, "delete");
    break;
  case EV_SIGNAL:
    rc = stek_signal_record(rp->r[i].s, ev->sig[0], ev->sig[1], ev->sig[2], receipt);
    if (rc) rc = fail_lib(rp, i, rc, EXIT_INPUT, "signal");
    break;
  case EV_SYNC: return do_sync(rp, ev);
  default: /* EV_EXPECT */
    rc = all_equal(rp);
    if (rc < 0) return -rc;
    rp->expects++;
    rp->converged &= rc;
    return 0;
  }
  *(ev->base ? &rp->load_ms : &rp->edit_ms) += now_ms() - t0;
  return rc;
}

/* Pass 2: replay every line. */
static int run_trace(replay *rp, FILE *f, long lines) {
  char *line = NULL;
  size_t cap = 0;
  int rc, base_copied = 0;
  while ((rc = next_line(rp, f, &line, &cap)) == 1) {
    json_record *r = NULL;
    event ev;
    if ((rc = parse_line(rp, line, &r, &ev)) != 0) break; /* changed since pass 1 */
    if (!ev.base && !base_copied) {
      double t0 = now_ms();
      rc = copy_base(rp);
      rp->load_ms += now_ms() - t0;
      base_copied = 1;
    }
    if (!rc) rc = run_event(rp, &ev);
    json_record_free(r);
    if (rc) break;
    if (rp->tty && (rp->line % 256 == 0 || ev.kind == EV_SYNC))
      fprintf(stderr, "\rreplay: line %ld of %ld", rp->line, lines);
  }
  free(line);
  if (rp->tty) fputc('\n', stderr);
  if (rc < 0) return -rc;
  rp->line = 0;
  if (!rc && !base_copied) {
    double t0 = now_ms();
    rc = copy_base(rp);
    rp->load_ms += now_ms() - t0;
  }
  return rc;
}

/* ---- the summary ------------------------------------------------------------ */

static long long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static void print_summary(replay *rp) {
  double sync_ms = 0;
  uint64_t sync_bytes = 0;
  printf("{\"replicas\":%d,\"load_ms\":%.1f,\"edit_ms\":%.1f,\"syncs\":[", rp->n,
         rp->load_ms, rp->edit_ms);
  for (size_t k = 0; k < rp->n_syncs; k++) {
    const sync_result *s = &rp->syncs[k];
    uint64_t bytes = s->st.bytes_sent + s->st.bytes_received;
    printf("%s{\"a\":", k ? "," : "");
    json_write_string(stdout, rp->r[s->a].name);
    fputs(",\"b\":", stdout);
    json_write_string(stdout, rp->r[s->b].name);
    printf(",\"ms\":%.1f,\"bytes\":%llu,\"round_trips\":%llu,\"ops_sent\":%llu,"
           "\"ops_received\":%llu}",
           s->ms, (unsigned long long)bytes, (unsigned long long)s->st.round_trips,
           (unsigned long long)s->st.ops_sent, (unsigned long long)s->st.ops_received);
    sync_ms += s->ms;
    sync_bytes += bytes;
  }
  printf("],\"sync_ms\":%.1f,\"sync_bytes\":%llu,\"store_bytes\":{", sync_ms,
         (unsigned long long)sync_bytes);
  /* The stores are closed by now: the size on disk of each, its write-ahead
   * log included if one is left. */
  for (int i = 0; i < rp->n; i++) {
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", rp->r[i].path);
    json_write_string(stdout, rp->r[i].name);
    printf(":%lld%s", file_size(rp->r[i].path) + file_size(wal), i + 1 < rp->n ? "," : "");
  }
  printf("},\"converged\":%s}\n", rp->converged ? "true" : "false");
}

int replay_trace(const char *trace_path, const char *dir) {
  replay *rp = calloc(1, sizeof *rp);
  long lines = 0;
  int rc;
  if (!rp) {
    fputs("stek: out of memory\n", stderr);
    return EXIT_FAIL;
  }
  rp->trace = trace_path;
  rp->dir = dir;
  rp->converged = 1;
  rp->tty = isatty(STDERR_FILENO);
  FILE *f = fopen(trace_path, "r");
  if (!f) rc = fail(rp, EXIT_FAIL, "cannot open %s: %s", trace_path, strerror(errno));
  else rc = check_trace(rp, f, &lines);
  if (!rc && fseek(f, 0, SEEK_SET) != 0)
    rc = fail(rp, EXIT_FAIL, "cannot read %s again: %s", trace_path, strerror(errno));
  if (!rc) rc = open_replicas(rp);
  if (!rc) rc = run_trace(rp, f, lines);
  if (!rc && rp->expects == 0) { /* no expectation: say how it ended */
    int eq = all_equal(rp);
    if (eq < 0) rc = -eq;
    else rp->converged = eq;
  }
  for (int i = 0; i < rp->n; i++) stek_close(rp->r[i].s);
  if (f) fclose(f);
  if (!rc) {
    print_summary(rp);
    if (!rp->converged) rc = fail(rp, EXIT_FAIL, "the replicas did not converge");
  }
  free(rp->syncs);
  free(rp);
  return rc;
}
