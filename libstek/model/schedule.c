/*
 * model/schedule -- schedule entries: checked writes, cancelled dates as a
 * set, and occurrence expansion in each site's local time (model/rrule,
 * model/tz).  iCalendar export lives in model/ics.c.
 *
 * Must never: touch the process's TZ or localtime (zones come from TZif
 * files through model/tz, so threads with different zones are safe), or
 * expand without bound (the window and the rule are both capped).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "model/rrule.h"
#include "model/schedule.h"
#include "model/tz.h"
#include "stek.h"

#define MAX_WINDOW_DAYS 3700 /* about ten years */

const char *schedule_zoneinfo(const stek *s) {
  if (s->cfg.zoneinfo_dir) return s->cfg.zoneinfo_dir;
  const char *env = getenv("TZDIR");
  return env && *env ? env : TZ_DEFAULT_DIR;
}

/* ---- reading an entry ---- */

static const char *rec_str(const stek_record *r, const char *name) {
  stek_value v;
  return stek_record_find(r, name, &v) == STEK_OK && v.kind == STEK_VALUE_STR ? v.str
                                                                              : NULL;
}

int schedule_entry_read(stek *s, const stek_record *r, schedule_entry *e, char *err,
                        size_t errcap) {
  stek_value v;
  memset(e, 0, sizeof *e);
  e->rec = r;
  e->title = rec_str(r, "title");
  e->site = rec_str(r, "site");
  e->tzname = rec_str(r, "tz");
  if (!e->tzname) e->tzname = STEK_DEFAULT_TZ;
  e->minutes = 60;
  if (stek_record_find(r, "minutes", &v) == STEK_OK && v.kind == STEK_VALUE_INT &&
      v.i > 0 && v.i <= 10080)
    e->minutes = (int)v.i;
  const char *start = rec_str(r, "start");
  if (!start || rrule_parse_local(start, &e->dtstart, NULL)) {
    snprintf(err, errcap, "start is missing or not YYYY-MM-DDTHH:MM[:SS]");
    return STEK_EINVAL;
  }
  const char *rule = rec_str(r, "rrule");
  if (rule && *rule) {
    if (rrule_parse(rule, &e->rule, err, errcap)) return STEK_EINVAL;
    e->has_rule = 1;
  }
  int rc = tz_load(schedule_zoneinfo(s), e->tzname, &e->zone, err, errcap);
  if (rc) return rc;
  if (stek_record_find(r, "exdates", &v) == STEK_OK && v.kind == STEK_VALUE_LIST &&
      v.list_len) {
    e->ex = calloc(v.list_len, sizeof *e->ex);
    if (!e->ex) return STEK_ENOMEM;
    for (size_t i = 0; i < v.list_len; i++) {
      int whole;
      if (rrule_parse_local(v.list[i], &e->ex[e->n_ex].at, &whole)) continue;
      e->ex[e->n_ex++].whole_day = whole;
    }
  }
  return 0;
}

void schedule_entry_clear(schedule_entry *e) {
  tz_free(e->zone);
  free(e->ex);
  memset(e, 0, sizeof *e);
}

/* ---- checked writes ---- */

static const char *check_field(stek *s, const stek_field *f, char *err, size_t cap) {
  const stek_value *v = &f->value;
  const char *n = f->name;
  tz_local t;
  int whole;
  if (v->kind == STEK_VALUE_NONE)
    return !strcmp(n, "title") || !strcmp(n, "site") || !strcmp(n, "start")
               ? "cannot be removed"
               : NULL;
  if (!strcmp(n, "title") || !strcmp(n, "site") || !strcmp(n, "notes"))
    return v->kind == STEK_VALUE_STR ? NULL : "must be a string";
  if (!strcmp(n, "start"))
    return v->kind == STEK_VALUE_STR && !rrule_parse_local(v->str, &t, NULL)
               ? NULL
               : "must be a local time YYYY-MM-DDTHH:MM[:SS]";
  if (!strcmp(n, "tz")) {
    tz *z;
    if (v->kind != STEK_VALUE_STR) return "must be an IANA zone name";
    if (tz_load(schedule_zoneinfo(s), v->str, &z, err, cap)) return err;
    tz_free(z);
    return NULL;
  }
  if (!strcmp(n, "minutes"))
    return v->kind == STEK_VALUE_INT && v->i >= 1 && v->i <= 10080
               ? NULL
               : "must be a whole number of minutes, 1 to 10080";
  if (!strcmp(n, "rrule")) {
    rrule r;
    if (v->kind != STEK_VALUE_STR) return "must be an RRULE value";
    if (*v->str && rrule_parse(v->str, &r, err, cap)) return err;
    return NULL;
  }
  if (!strcmp(n, "exdates")) {
    if (v->kind != STEK_VALUE_LIST) return "must be a list of dates";
    for (size_t i = 0; i < v->list_len; i++)
      if (rrule_parse_local(v->list[i], &t, &whole))
        return "each must be YYYY-MM-DD or a local date-time";
    return NULL;
  }
  if (!strcmp(n, "orgs") || !strcmp(n, "languages"))
    return v->kind == STEK_VALUE_LIST ? NULL : "must be a list of strings";
  if (!strcmp(n, "cost"))
    return v->kind == STEK_VALUE_INT || v->kind == STEK_VALUE_STR
               ? NULL
               : "must be a number (cents) or a string";
  return NULL;
}

static int has_field(const stek_field *f, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(f[i].name, name) && f[i].value.kind != STEK_VALUE_NONE) return 1;
  return 0;
}

int stek_schedule_put(stek *s, const uint8_t id[STEK_ID_BYTES],
                      const stek_field *fields, size_t n) {
  char err[200];
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!id || (!fields && n)) return STEK_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!fields[i].name) return stek__fail(s, STEK_EINVAL, "a field has no name");
    err[0] = 0;
    const char *why = check_field(s, &fields[i], err, sizeof err);
    if (why)
      return stek__fail(s, STEK_EINVAL, "schedule field '%.64s': %s", fields[i].name, why);
  }
  stek_record *r;
  rc = stek_get(s, "schedule", id, &r);
  if (rc == STEK_ENOTFOUND) {
    if (!has_field(fields, n, "title") || !has_field(fields, n, "site") ||
        !has_field(fields, n, "start"))
      return stek__fail(s, STEK_EINVAL, "a new schedule entry needs title, site and start");
  } else if (rc) {
    return rc;
  } else {
    stek_record_free(r);
  }
  return stek__put_fields(s, "schedule", id, fields, n, "exdates");
}

int stek_schedule_cancel(stek *s, const uint8_t id[STEK_ID_BYTES], const char *date,
                         int cancel) {
  tz_local t;
  int whole;
  stek_record *r;
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!id || !date) return STEK_EINVAL;
  if (rrule_parse_local(date, &t, &whole))
    return stek__fail(s, STEK_EINVAL, "a date is YYYY-MM-DD or a local date-time");
  if ((rc = stek_get(s, "schedule", id, &r))) return rc;
  stek_record_free(r);
  return cancel ? stek_set_add(s, "schedule", id, "exdates", date)
                : stek_set_remove(s, "schedule", id, "exdates", date);
}

/* ---- occurrences ---- */

typedef struct occ {
  stek_occurrence o;
  char *title, *site;
} occ;

typedef struct occ_list {
  occ *v;
  size_t n, cap;
  int err;
} occ_list;

struct expand_ctx {
  occ_list *out;
  const schedule_entry *e;
  const uint8_t *id;
};

static char *dup_or_empty(const char *s) {
  size_t n = s ? strlen(s) : 0;
  char *d = malloc(n + 1);
  if (d) {
    if (n) memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

static int add_occ(void *p, const rrule_occ *ro) {
  struct expand_ctx *c = p;
  occ_list *l = c->out;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    if (cap > STEK_MAX_OCCURRENCES) return STEK_ETOOBIG;
    occ *v = realloc(l->v, cap * sizeof *v);
    if (!v) return STEK_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  occ *o = &l->v[l->n];
  memset(o, 0, sizeof *o);
  memcpy(o->o.id, c->id, STEK_ID_BYTES);
  rrule_occ_iso(ro, o->o.start);
  o->o.start_ms = ro->utc_s * 1000;
  int64_t end_s = ro->utc_s + (int64_t)c->e->minutes * 60;
  rrule_occ end;
  tz_info info;
  tz_info_at(c->e->zone, end_s, &info);
  end.utoff_s = info.utoff_s;
  end.utc_s = end_s;
  tz_local_from_seconds(end_s + info.utoff_s, &end.local);
  rrule_occ_iso(&end, o->o.end);
  o->o.end_ms = end_s * 1000;
  o->title = dup_or_empty(c->e->title);
  o->site = dup_or_empty(c->e->site);
  l->n++;
  if (!o->title || !o->site) return STEK_ENOMEM;
  return 0;
}

static int date_seconds(const char *d, int64_t *local_s) {
  tz_local t;
  int whole;
  if (rrule_parse_local(d, &t, &whole) || !whole) return STEK_EINVAL;
  *local_s = tz_local_seconds(&t);
  return 0;
}

struct occ_walk {
  stek *s;
  const char *site;
  int64_t from_local, to_local;
  occ_list *out;
  int rc;
  char err[200];
};

static int expand_one(void *p, const stek_record *r) {
  struct occ_walk *w = p;
  schedule_entry e;
  int32_t off;
  int rc = schedule_entry_read(w->s, r, &e, w->err, sizeof w->err);
  if (rc == STEK_EINVAL) { /* an entry that cannot expand is skipped */
    schedule_entry_clear(&e);
    return 0;
  }
  if (!rc && w->site && (!e.site || strcmp(e.site, w->site) != 0)) {
    schedule_entry_clear(&e);
    return 0;
  }
  if (!rc) {
    int64_t from = tz_local_to_utc(e.zone, w->from_local, &off);
    int64_t to = tz_local_to_utc(e.zone, w->to_local, &off);
    struct expand_ctx c = {w->out, &e, stek_record_id(r)};
    rc = rrule_expand(e.has_rule ? &e.rule : NULL, &e.dtstart, e.zone, e.ex, e.n_ex,
                      from, to, add_occ, &c);
  }
  schedule_entry_clear(&e);
  if (rc) w->rc = rc;
  return rc;
}

static int cmp_occ(const void *a, const void *b) {
  const occ *x = a, *y = b;
  if (x->o.start_ms != y->o.start_ms) return x->o.start_ms < y->o.start_ms ? -1 : 1;
  return memcmp(x->o.id, y->o.id, STEK_ID_BYTES);
}

int stek_schedule_occurrences(stek *s, const char *from, const char *to,
                              const char *site, stek_occurrence_cb cb, void *ctx) {
  occ_list l = {0};
  struct occ_walk w = {s, site, 0, 0, &l, 0, {0}};
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!from || !to || !cb) return STEK_EINVAL;
  if (date_seconds(from, &w.from_local) || date_seconds(to, &w.to_local))
    return stek__fail(s, STEK_EINVAL, "from and to are dates YYYY-MM-DD");
  if (w.to_local < w.from_local || w.to_local - w.from_local > MAX_WINDOW_DAYS * 86400LL)
    return stek__fail(s, STEK_EINVAL, "the window must run forward, at most %d days",
                      MAX_WINDOW_DAYS);
  rc = stek_list(s, "schedule", expand_one, &w);
  if (!rc && w.rc) rc = w.rc;
  if (!rc) {
    if (l.n) qsort(l.v, l.n, sizeof *l.v, cmp_occ);
    for (size_t i = 0; i < l.n && !rc; i++) {
      l.v[i].o.title = l.v[i].title;
      l.v[i].o.site = l.v[i].site;
      rc = cb(ctx, &l.v[i].o);
    }
  }
  for (size_t i = 0; i < l.n; i++) {
    free(l.v[i].title);
    free(l.v[i].site);
  }
  free(l.v);
  if (rc == STEK_ETOOBIG)
    return stek__fail(s, rc, "more than %d occurrences: narrow the window",
                      STEK_MAX_OCCURRENCES);
  if (rc < 0 && !*stek_errmsg(s)) return stek__fail(s, rc, "%s", stek_strerror(rc));
  return rc < 0 ? rc : stek__ok(s, rc);
}
