/*
 * model/ics -- iCalendar (RFC 5545) export of schedule entries.
 *
 * One VTIMEZONE per zone used, listing its real transitions (from the TZif
 * data) from a year before the earliest entry to ten years after this one;
 * one VEVENT per entry with DTSTART in local time, DURATION, RRULE and
 * EXDATE.  Text is escaped (§3.3.11), control characters other than tab
 * and newline dropped, lines end in CRLF and are folded at 75 octets
 * without splitting a UTF-8 character (§3.1).
 *
 * DTSTART is the entry's first occurrence, not its stored start: RFC 5545
 * counts DTSTART as an instance (and in COUNT) even when the rule does not
 * select it, where libstek, like python-dateutil, does not (model/rrule.h).
 * Starting at the first occurrence, which lies in a period of the rule's
 * own INTERVAL grid, every reader gets the occurrences libstek gives.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "model/schedule.h"
#include "stek.h"

typedef struct out {
  char *p;
  size_t len, cap;
  int err;
} out;

static void raw(out *o, const char *s, size_t n) {
  if (o->err) return;
  if (o->len + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + n + 1) cap *= 2;
    char *p = realloc(o->p, cap);
    if (!p) {
      o->err = 1;
      return;
    }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = 0;
}

/* Emit one content line, folded: at most 75 octets a line, continuation
 * lines start with a space; never inside a UTF-8 sequence. */
static void line(out *o, const char *s) {
  size_t n = strlen(s), at = 0, room = 75;
  while (n - at > room) {
    size_t cut = at + room;
    while (cut > at && ((unsigned char)s[cut] & 0xc0) == 0x80) cut--;
    raw(o, s + at, cut - at);
    raw(o, "\r\n ", 3);
    at = cut;
    room = 74;
  }
  raw(o, s + at, n - at);
  raw(o, "\r\n", 2);
}

static void linef(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void linef(out *o, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  line(o, buf);
}

/* NAME:escaped text (TEXT value, RFC 5545 §3.3.11). */
static void text_line(out *o, const char *name, const char *text) {
  size_t n = strlen(name) + 1 + 2 * strlen(text) + 1;
  char *b = malloc(n);
  if (!b) {
    o->err = 1;
    return;
  }
  char *w = b + sprintf(b, "%s:", name);
  for (const char *p = text; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '\\' || c == ';' || c == ',') {
      *w++ = '\\';
      *w++ = *p;
    } else if (c == '\n') {
      *w++ = '\\';
      *w++ = 'n';
    } else if ((c >= 0x20 && c != 0x7f) || c == '\t') {
      *w++ = *p; /* TEXT allows no other CONTROL (§3.3.11): \r, ESC, ... */
    }
  }
  *w = 0;
  line(o, b);
  free(b);
}

static void stamp(char out_[16], const tz_local *t) {
  snprintf(out_, 16, "%04u%02u%02uT%02u%02u%02u", (unsigned)t->year % 10000u,
           (unsigned)t->month % 100u, (unsigned)t->day % 100u, (unsigned)t->hour % 100u,
           (unsigned)t->minute % 100u, (unsigned)t->second % 100u);
}

static void offset(char out_[16], int32_t s) {
  int a = s < 0 ? -s : s;
  snprintf(out_, 16, "%c%02d%02d", s < 0 ? '-' : '+', (a / 3600) % 100, (a / 60) % 60);
}

#define MAX_TRANSITIONS 256

static void vtimezone(out *o, const tz *z, int64_t from_s, int64_t to_s) {
  tz_transition tr[MAX_TRANSITIONS];
  size_t n = 0;
  char dt[16], f[16], t[16];
  tz_transitions(z, from_s, to_s, tr, MAX_TRANSITIONS, &n);
  line(o, "BEGIN:VTIMEZONE");
  linef(o, "TZID:%s", tz_name(z));
  if (n == 0) { /* no change in range: one rule for all time */
    tz_info i;
    tz_info_at(z, from_s, &i);
    offset(f, i.utoff_s);
    line(o, "BEGIN:STANDARD");
    line(o, "DTSTART:19700101T000000");
    linef(o, "TZOFFSETFROM:%s", f);
    linef(o, "TZOFFSETTO:%s", f);
    if (*i.abbr) linef(o, "TZNAME:%s", i.abbr);
    line(o, "END:STANDARD");
  }
  for (size_t k = 0; k < n; k++) {
    tz_local at;
    const char *kind = tr[k].after.isdst ? "DAYLIGHT" : "STANDARD";
    /* DTSTART is the wall-clock time of the change as it ran before. */
    tz_local_from_seconds(tr[k].utc_s + tr[k].before.utoff_s, &at);
    stamp(dt, &at);
    offset(f, tr[k].before.utoff_s);
    offset(t, tr[k].after.utoff_s);
    linef(o, "BEGIN:%s", kind);
    linef(o, "DTSTART:%s", dt);
    linef(o, "TZOFFSETFROM:%s", f);
    linef(o, "TZOFFSETTO:%s", t);
    if (*tr[k].after.abbr) linef(o, "TZNAME:%s", tr[k].after.abbr);
    linef(o, "END:%s", kind);
  }
  line(o, "END:VTIMEZONE");
}

static int stop_at_first(void *ctx, const rrule_occ *occ) {
  *(tz_local *)ctx = occ->local;
  return 1;
}

/* The first occurrence of e's rule, cancelled dates included (EXDATE
 * removes those): 1 and its wall-clock time in *first, or 0 if the rule
 * selects no day at all (within the expander's bounds). */
static int first_occurrence(const schedule_entry *e, tz_local *first) {
  if (!e->has_rule) return 0;
  int64_t from = tz_local_seconds(&e->dtstart) - 2 * 86400; /* any offset */
  int64_t to = from + 400 * 366 * 86400LL; /* a whole Gregorian cycle */
  return rrule_expand(&e->rule, &e->dtstart, e->zone, NULL, 0, from, to, stop_at_first,
                      first) == 1;
}

/* extra (may be NULL): one more date-time to exclude, the stored start of
 * an entry whose rule selects nothing. */
static void exdates(out *o, const schedule_entry *e, const tz_local *extra) {
  if (!e->n_ex && !extra) return;
  size_t cap = 32 + (e->n_ex + 1) * 17 + strlen(e->tzname);
  char *b = malloc(cap);
  if (!b) {
    o->err = 1;
    return;
  }
  size_t w = (size_t)snprintf(b, cap, "EXDATE;TZID=%s:", e->tzname);
  for (size_t i = 0; i < e->n_ex; i++) {
    tz_local t = e->ex[i].at;
    if (e->ex[i].whole_day) { /* the occurrence on that date */
      t.hour = e->dtstart.hour;
      t.minute = e->dtstart.minute;
      t.second = e->dtstart.second;
    }
    char dt[16];
    stamp(dt, &t);
    w += (size_t)snprintf(b + w, cap - w, "%s%s", i ? "," : "", dt);
  }
  if (extra) {
    char dt[16];
    stamp(dt, extra);
    w += (size_t)snprintf(b + w, cap - w, "%s%s", e->n_ex ? "," : "", dt);
  }
  line(o, b);
  free(b);
}

static void vevent(out *o, const schedule_entry *e, const char *dtstamp) {
  char hex[33], dt[16], rule[RRULE_MAX_TEXT + 8];
  tz_local start = e->dtstart;
  /* A rule that selects nothing: the stored start is excluded, or RFC
   * 5545 readers would show it as the one occurrence. */
  int none = e->has_rule && !first_occurrence(e, &start);
  stek_id_to_hex(stek_record_id(e->rec), hex);
  stamp(dt, &start);
  line(o, "BEGIN:VEVENT");
  linef(o, "UID:%s", hex);
  linef(o, "DTSTAMP:%s", dtstamp);
  linef(o, "DTSTART;TZID=%s:%s", e->tzname, dt);
  linef(o, "DURATION:PT%dM", e->minutes);
  if (e->title) text_line(o, "SUMMARY", e->title);
  if (e->site) text_line(o, "LOCATION", e->site);
  /* RFC 5545 §3.3.10: with a DTSTART in a zone, UNTIL must be in UTC. */
  rrule r;
  if (e->has_rule) rrule_until_to_utc(&e->rule, e->zone, &r);
  if (e->has_rule && rrule_format(&r, rule, sizeof rule) == 0) {
    char l[RRULE_MAX_TEXT + 16];
    snprintf(l, sizeof l, "RRULE:%s", rule);
    line(o, l);
  }
  exdates(o, e, none ? &e->dtstart : NULL);
  stek_value v;
  if (stek_record_find(e->rec, "notes", &v) == STEK_OK && v.kind == STEK_VALUE_STR)
    text_line(o, "DESCRIPTION", v.str);
  line(o, "END:VEVENT");
}

struct ics_walk {
  stek *s;
  const char *site;
  schedule_entry *e;
  size_t n, cap;
  int rc;
};

static int collect(void *p, const stek_record *r) {
  struct ics_walk *w = p;
  char err[200];
  stek_record *copy;
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 16;
    schedule_entry *e = realloc(w->e, cap * sizeof *e);
    if (!e) return w->rc = STEK_ENOMEM;
    w->e = e;
    w->cap = cap;
  }
  /* The listing's record is only lent: load our own to keep. */
  int rc = stek_get(w->s, stek_record_type(r), stek_record_id(r), &copy);
  if (rc) return w->rc = rc;
  schedule_entry *e = &w->e[w->n];
  rc = schedule_entry_read(w->s, copy, e, err, sizeof err);
  if (rc || (w->site && (!e->site || strcmp(e->site, w->site)))) {
    schedule_entry_clear(e);
    stek_record_free(copy);
    return rc == STEK_ENOMEM ? (w->rc = rc) : 0; /* skip what cannot export */
  }
  w->n++;
  return 0;
}

int stek_schedule_ics(stek *s, const char *site, char **result) {
  struct ics_walk w = {s, site, NULL, 0, 0, 0};
  out o = {0};
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!result) return STEK_EINVAL;
  *result = NULL;
  rc = stek_list(s, "schedule", collect, &w);
  if (!rc) rc = w.rc;
  if (!rc) {
    tz_local now;
    char dtstamp[20];
    int64_t now_s = stek__now_ms(s) / 1000;
    tz_local_from_seconds(now_s, &now);
    stamp(dtstamp, &now);
    strcat(dtstamp, "Z");
    int64_t first = now_s;
    for (size_t i = 0; i < w.n; i++) {
      int64_t t = tz_local_seconds(&w.e[i].dtstart);
      if (t < first) first = t;
    }
    line(&o, "BEGIN:VCALENDAR");
    line(&o, "VERSION:2.0");
    line(&o, "PRODID:-//libstek//libstek " STEK_VERSION_STRING "//EN");
    line(&o, "CALSCALE:GREGORIAN");
    /* One VTIMEZONE per zone, however many: every TZID an event names
     * must be defined in the file (RFC 5545 §3.2.19). */
    for (size_t i = 0; i < w.n; i++) {
      int seen = 0;
      for (size_t k = 0; k < i && !seen; k++) seen = !strcmp(w.e[k].tzname, w.e[i].tzname);
      if (!seen) vtimezone(&o, w.e[i].zone, first - 366 * 86400LL, now_s + 3660 * 86400LL);
    }
    for (size_t i = 0; i < w.n; i++) vevent(&o, &w.e[i], dtstamp);
    line(&o, "END:VCALENDAR");
    if (o.err) rc = STEK_ENOMEM;
  }
  for (size_t i = 0; i < w.n; i++) {
    const stek_record *r = w.e[i].rec;
    schedule_entry_clear(&w.e[i]);
    stek_record_free((stek_record *)r);
  }
  free(w.e);
  if (rc) {
    free(o.p);
    return rc < 0 && !*stek_errmsg(s) ? stek__fail(s, rc, "%s", stek_strerror(rc)) : rc;
  }
  *result = o.p;
  return stek__ok(s, 0);
}
