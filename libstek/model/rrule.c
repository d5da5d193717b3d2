/* model/rrule -- see rrule.h.  The expansion walks periods as
 * python-dateutil's rrule._iter does, so that the two agree day for day. */
#include "model/rrule.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stek.h"

static const char *const WD[7] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
static const char *const FREQ[5] = {"", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"};

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...) {
  if (err && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
  }
  return STEK_EINVAL;
}

static int upper(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }

static int ieq(const char *a, size_t n, const char *b) {
  if (strlen(b) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (upper((unsigned char)a[i]) != b[i]) return 0;
  return 1;
}

/* A signed decimal of at most 6 digits filling [p, p+n) exactly. */
static int p_int(const char *p, size_t n, int allow_sign, long *out) {
  size_t i = 0;
  int neg = 0;
  if (n && allow_sign && (p[0] == '+' || p[0] == '-')) neg = p[i++] == '-';
  if (i == n || n - i > 6) return -1;
  long v = 0;
  for (; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  *out = neg ? -v : v;
  return 0;
}

static int p_weekday(const char *p, size_t n) {
  for (int i = 0; i < 7; i++)
    if (ieq(p, n, WD[i])) return i;
  return -1;
}

/* n exact digits at p. */
static int digits(const char *p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 0;
}

/* YYYYMMDD[THHMMSS[Z]] */
static int p_until(const char *p, size_t n, rrule *r) {
  tz_local *t = &r->until;
  memset(t, 0, sizeof *t);
  if (n != 8 && n != 15 && n != 16) return -1;
  if (digits(p, 4, &t->year) || digits(p + 4, 2, &t->month) || digits(p + 6, 2, &t->day))
    return -1;
  r->until_kind = RRULE_UNTIL_DATE;
  if (n > 8) {
    if (upper((unsigned char)p[8]) != 'T' || digits(p + 9, 2, &t->hour) ||
        digits(p + 11, 2, &t->minute) || digits(p + 13, 2, &t->second))
      return -1;
    r->until_kind = RRULE_UNTIL_LOCAL;
    if (n == 16) {
      if (upper((unsigned char)p[15]) != 'Z') return -1;
      r->until_kind = RRULE_UNTIL_UTC;
    }
  }
  return tz_local_valid(t) ? 0 : -1;
}

static int cmp_day(const void *a, const void *b) {
  const rrule_day *x = a, *y = b;
  if (x->n != y->n) return x->n < y->n ? -1 : 1;
  return (x->wd > y->wd) - (x->wd < y->wd);
}
static int cmp_i8(const void *a, const void *b) {
  return (*(const int8_t *)a > *(const int8_t *)b) - (*(const int8_t *)a < *(const int8_t *)b);
}
static int cmp_i16(const void *a, const void *b) {
  return (*(const int16_t *)a > *(const int16_t *)b) -
         (*(const int16_t *)a < *(const int16_t *)b);
}
static int cmp_i64(const void *a, const void *b) {
  return (*(const int64_t *)a > *(const int64_t *)b) -
         (*(const int64_t *)a < *(const int64_t *)b);
}

/* Sort a list and drop duplicates; returns the new length. */
static size_t sort_unique(void *base, size_t n, size_t size,
                          int (*cmp)(const void *, const void *)) {
  if (n < 2) return n;
  qsort(base, n, size, cmp);
  char *b = base;
  size_t k = 1;
  for (size_t i = 1; i < n; i++)
    if (cmp(b + (k - 1) * size, b + i * size)) memmove(b + k++ * size, b + i * size, size);
  return k;
}

/* Parse one comma-separated BYxxx list with item(). */
typedef int (*item_fn)(rrule *r, const char *p, size_t n);

static int item_month(rrule *r, const char *p, size_t n) {
  long v;
  if (p_int(p, n, 0, &v) || v < 1 || v > 12) return -1;
  r->bymonth |= (uint16_t)(1u << v);
  return 0;
}
static int item_monthday(rrule *r, const char *p, size_t n) {
  long v;
  if (p_int(p, n, 1, &v) || v == 0 || v < -31 || v > 31) return -1;
  r->bymonthday[r->n_bymonthday++] = (int8_t)v;
  return 0;
}
static int item_setpos(rrule *r, const char *p, size_t n) {
  long v;
  if (p_int(p, n, 1, &v) || v == 0 || v < -366 || v > 366) return -1;
  r->bysetpos[r->n_bysetpos++] = (int16_t)v;
  return 0;
}
static int item_day(rrule *r, const char *p, size_t n) {
  if (n < 2) return -1;
  int wd = p_weekday(p + n - 2, 2);
  long v = 0;
  if (wd < 0 || (n > 2 && (p_int(p, n - 2, 1, &v) || v == 0 || v < -53 || v > 53))) return -1;
  r->byday[r->n_byday].n = (int8_t)v;
  r->byday[r->n_byday].wd = (uint8_t)wd;
  r->n_byday++;
  return 0;
}

static int p_list(rrule *r, const char *name, const char *p, size_t n, size_t *count,
                  item_fn item, char *err, size_t cap) {
  size_t items = 0;
  const char *end = p + n;
  for (;;) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    size_t len = c ? (size_t)(c - p) : (size_t)(end - p);
    if (items == RRULE_MAX_LIST)
      return fail(err, cap, "%s has more than %d values", name, RRULE_MAX_LIST);
    if (item(r, p, len))
      return fail(err, cap, "%s value \"%.*s\" is not valid", name, (int)(len > 24 ? 24 : len),
                  p);
    items++;
    if (!c) break;
    p = c + 1;
  }
  if (count) *count = items;
  return 0;
}

int rrule_parse(const char *text, rrule *r, char *err, size_t cap) {
  memset(r, 0, sizeof *r);
  if (err && cap) err[0] = 0;
  if (!text) return fail(err, cap, "no RRULE");
  size_t len = strlen(text);
  if (len > RRULE_MAX_TEXT) return fail(err, cap, "RRULE longer than %d bytes", RRULE_MAX_TEXT);
  if (len >= 6 && ieq(text, 6, "RRULE:")) text += 6, len -= 6;
  if (!len) return fail(err, cap, "empty RRULE");
  enum { P_FREQ, P_INTERVAL, P_COUNT, P_UNTIL, P_BYMONTH, P_BYMONTHDAY, P_BYDAY, P_BYSETPOS,
         P_WKST, P_N };
  static const char *const names[P_N] = {"FREQ",       "INTERVAL", "COUNT",
                                         "UNTIL",      "BYMONTH",  "BYMONTHDAY",
                                         "BYDAY",      "BYSETPOS", "WKST"};
  static const char *const unsupported[] = {"BYSECOND", "BYMINUTE", "BYHOUR", "BYYEARDAY",
                                            "BYWEEKNO"};
  int seen[P_N] = {0};
  r->interval = 1;
  const char *p = text, *end = text + len;
  for (;;) {
    const char *semi = memchr(p, ';', (size_t)(end - p));
    size_t plen = semi ? (size_t)(semi - p) : (size_t)(end - p);
    const char *eq = memchr(p, '=', plen);
    if (!plen) return fail(err, cap, "empty rule part (stray ';')");
    if (!eq) return fail(err, cap, "rule part \"%.*s\" has no '='", (int)(plen > 24 ? 24 : plen), p);
    size_t nlen = (size_t)(eq - p), vlen = plen - nlen - 1;
    const char *v = eq + 1;
    int k = -1;
    for (int i = 0; i < P_N; i++)
      if (ieq(p, nlen, names[i])) k = i;
    if (k < 0) {
      for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (ieq(p, nlen, unsupported[i]))
          return fail(err, cap, "%s is not supported", unsupported[i]);
      return fail(err, cap, "unknown rule part \"%.*s\"", (int)(nlen > 24 ? 24 : nlen), p);
    }
    if (seen[k]) return fail(err, cap, "%s given twice", names[k]);
    seen[k] = 1;
    if (!vlen) return fail(err, cap, "%s has no value", names[k]);
    long x;
    int wd;
    switch (k) {
      case P_FREQ:
        for (int f = RRULE_DAILY; f <= RRULE_YEARLY; f++)
          if (ieq(v, vlen, FREQ[f])) r->freq = f;
        if (!r->freq) {
          if (ieq(v, vlen, "SECONDLY") || ieq(v, vlen, "MINUTELY") || ieq(v, vlen, "HOURLY"))
            return fail(err, cap, "FREQ=%.*s is not supported", (int)vlen, v);
          return fail(err, cap, "FREQ \"%.*s\" is not a frequency",
                      (int)(vlen > 24 ? 24 : vlen), v);
        }
        break;
      case P_INTERVAL:
        if (p_int(v, vlen, 0, &x) || x < 1 || x > RRULE_MAX_INTERVAL)
          return fail(err, cap, "INTERVAL must be 1..%d", RRULE_MAX_INTERVAL);
        r->interval = (int)x;
        break;
      case P_COUNT:
        if (p_int(v, vlen, 0, &x) || x < 1 || x > RRULE_MAX_COUNT)
          return fail(err, cap, "COUNT must be 1..%d", RRULE_MAX_COUNT);
        r->count = (int)x;
        break;
      case P_UNTIL:
        if (p_until(v, vlen, r))
          return fail(err, cap, "UNTIL must be a date YYYYMMDD or a date-time YYYYMMDDTHHMMSSZ");
        break;
      case P_WKST:
        if ((wd = p_weekday(v, vlen)) < 0) return fail(err, cap, "WKST must be MO..SU");
        r->wkst = wd;
        break;
      case P_BYMONTH:
        if (p_list(r, names[k], v, vlen, NULL, item_month, err, cap)) return STEK_EINVAL;
        break;
      case P_BYMONTHDAY:
        if (p_list(r, names[k], v, vlen, NULL, item_monthday, err, cap)) return STEK_EINVAL;
        break;
      case P_BYDAY:
        if (p_list(r, names[k], v, vlen, NULL, item_day, err, cap)) return STEK_EINVAL;
        break;
      case P_BYSETPOS:
        if (p_list(r, names[k], v, vlen, NULL, item_setpos, err, cap)) return STEK_EINVAL;
        break;
    }
    if (!semi) break;
    p = semi + 1;
  }
  if (!r->freq) return fail(err, cap, "FREQ is required");
  if (r->count && r->until_kind) return fail(err, cap, "COUNT and UNTIL exclude each other");
  for (size_t i = 0; i < r->n_byday; i++) {
    int n = r->byday[i].n;
    if (n && (r->freq == RRULE_DAILY || r->freq == RRULE_WEEKLY))
      return fail(err, cap, "BYDAY ordinals (like 2TH) need FREQ=MONTHLY or YEARLY");
    if (r->freq == RRULE_MONTHLY && (n > 5 || n < -5))
      return fail(err, cap, "a monthly BYDAY ordinal must be -5..5");
  }
  if (r->n_bymonthday && r->freq == RRULE_WEEKLY)
    return fail(err, cap, "BYMONTHDAY cannot be used with FREQ=WEEKLY");
  r->n_byday = sort_unique(r->byday, r->n_byday, sizeof *r->byday, cmp_day);
  r->n_bymonthday = sort_unique(r->bymonthday, r->n_bymonthday, 1, cmp_i8);
  r->n_bysetpos = sort_unique(r->bysetpos, r->n_bysetpos, sizeof *r->bysetpos, cmp_i16);
  return STEK_OK;
}

/* ---- formatting ---- */

typedef struct sbuf {
  char *p;
  size_t cap, n;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(b->n < b->cap ? b->p + b->n : NULL, b->n < b->cap ? b->cap - b->n : 0,
                    fmt, ap);
  va_end(ap);
  if (k > 0) b->n += (size_t)k;
}

int rrule_format(const rrule *r, char *out, size_t cap) {
  sbuf b = {out, cap, 0};
  if (cap) out[0] = 0;
  if (r->freq < RRULE_DAILY || r->freq > RRULE_YEARLY) return STEK_EINVAL;
  put(&b, "FREQ=%s", FREQ[r->freq]);
  if (r->interval > 1) put(&b, ";INTERVAL=%d", r->interval);
  if (r->count) put(&b, ";COUNT=%d", r->count);
  const tz_local *u = &r->until;
  if (r->until_kind == RRULE_UNTIL_DATE)
    put(&b, ";UNTIL=%04d%02d%02d", u->year, u->month, u->day);
  else if (r->until_kind)
    put(&b, ";UNTIL=%04d%02d%02dT%02d%02d%02d%s", u->year, u->month, u->day, u->hour,
        u->minute, u->second, r->until_kind == RRULE_UNTIL_UTC ? "Z" : "");
  if (r->bymonth) {
    const char *sep = ";BYMONTH=";
    for (int m = 1; m <= 12; m++)
      if (r->bymonth & (1u << m)) put(&b, "%s%d", sep, m), sep = ",";
  }
  for (size_t i = 0; i < r->n_bymonthday; i++)
    put(&b, "%s%d", i ? "," : ";BYMONTHDAY=", r->bymonthday[i]);
  for (size_t i = 0; i < r->n_byday; i++) {
    put(&b, "%s", i ? "," : ";BYDAY=");
    if (r->byday[i].n) put(&b, "%d", r->byday[i].n);
    put(&b, "%s", WD[r->byday[i].wd % 7]);
  }
  for (size_t i = 0; i < r->n_bysetpos; i++)
    put(&b, "%s%d", i ? "," : ";BYSETPOS=", r->bysetpos[i]);
  if (r->wkst) put(&b, ";WKST=%s", WD[r->wkst % 7]);
  if (b.n >= cap) {
    if (cap) out[0] = 0;
    return STEK_ETOOBIG;
  }
  return STEK_OK;
}

void rrule_until_to_utc(const rrule *r, const tz *z, rrule *out) {
  *out = *r;
  if (r->until_kind != RRULE_UNTIL_DATE && r->until_kind != RRULE_UNTIL_LOCAL) return;
  tz_local t = r->until;
  if (r->until_kind == RRULE_UNTIL_DATE) t.hour = 23, t.minute = 59, t.second = 59;
  int64_t utc = tz_local_to_utc(z, tz_local_seconds(&t), NULL);
  tz_local_from_seconds(utc, &out->until);
  if (!tz_local_valid(&out->until)) { /* beyond year 9999 in UTC: keep it local */
    *out = *r;
    return;
  }
  out->until_kind = RRULE_UNTIL_UTC;
}

int rrule_parse_local(const char *s, tz_local *t, int *date_only) {
  memset(t, 0, sizeof *t);
  if (!s) return STEK_EINVAL;
  size_t n = strlen(s);
  if (n < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &t->year) ||
      digits(s + 5, 2, &t->month) || digits(s + 8, 2, &t->day))
    return STEK_EINVAL;
  if (n == 10) {
    if (!date_only) return STEK_EINVAL;
    *date_only = 1;
    return tz_local_valid(t) ? STEK_OK : STEK_EINVAL;
  }
  if ((n != 16 && n != 19) || s[10] != 'T' || s[13] != ':' || digits(s + 11, 2, &t->hour) ||
      digits(s + 14, 2, &t->minute))
    return STEK_EINVAL;
  if (n == 19 && (s[16] != ':' || digits(s + 17, 2, &t->second))) return STEK_EINVAL;
  if (date_only) *date_only = 0;
  return tz_local_valid(t) ? STEK_OK : STEK_EINVAL;
}

void rrule_occ_iso(const rrule_occ *o, char out[32]) {
  int32_t off = o->utoff_s;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  const tz_local *t = &o->local;
  int k = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", t->year, t->month,
                   t->day, t->hour, t->minute, t->second, sign, (int)(off / 3600),
                   (int)(off / 60 % 60));
  if (off % 60 && k > 0 && k < 28) snprintf(out + k, 32 - (size_t)k, ":%02d", (int)(off % 60));
}

/* ---- expansion ---- */

typedef struct expand {
  const rrule *r;
  const tz *z;
  int freq, interval;
  int64_t tod;         /* DTSTART's time of day, seconds */
  int64_t start_local; /* DTSTART, local seconds */
  int64_t start_day;
  /* the effective filters, after dateutil's defaults */
  uint16_t bymonth;
  const int8_t *mday;
  size_t n_mday;
  int8_t default_mday;
  uint8_t plain_wd;      /* bit per weekday selected without ordinal */
  const rrule_day *nth;  /* the ordinal BYDAY entries */
  size_t n_nth;
  int64_t until_utc, until_local;
  /* sorted EXDATEs */
  int64_t *ex_times, *ex_days;
  size_t n_ex_times, n_ex_days;
  uint32_t produced;
  int64_t from, to;
  rrule_occ_cb cb;
  void *ctx;
  int cb_rc; /* what cb returned to stop the walk (any non-zero value) */
} expand;

/* Does the rule select day d?  [rs, re) is the range ordinals count in. */
static int select_day(const expand *e, int64_t d, int64_t rs, int64_t re) {
  int64_t y;
  int m, md;
  tz_civil_from_days(d, &y, &m, &md);
  if (e->bymonth && !(e->bymonth & (1u << m))) return 0;
  if (e->n_mday) {
    int mlen = tz_month_days(y, m), ok = 0;
    for (size_t i = 0; i < e->n_mday && !ok; i++) {
      int v = e->mday[i];
      ok = v > 0 ? v == md : mlen + v + 1 == md;
    }
    if (!ok) return 0;
  }
  if (e->plain_wd || e->n_nth) {
    int wd = tz_weekday(d);
    if (e->plain_wd & (1u << wd)) return 1;
    for (size_t i = 0; i < e->n_nth; i++) {
      if (e->nth[i].wd != wd) continue;
      int64_t fwd = (d - rs) / 7 + 1, back = -((re - 1 - d) / 7 + 1);
      if (e->nth[i].n == fwd || e->nth[i].n == back) return 1;
    }
    return 0;
  }
  return 1;
}

static int in_sorted(const int64_t *a, size_t n, int64_t key) {
  return n && bsearch(&key, a, n, sizeof *a, cmp_i64) != NULL;
}

enum { GO_ON = 0, DONE = 1 };

/* One selected day: the occurrence checks in dateutil's order.  Returns
 * GO_ON, or DONE when the series or the window is over or the callback
 * stopped the walk (its code then in e->cb_rc). */
static int emit(expand *e, int64_t day) {
  int64_t local = day * 86400 + e->tod;
  if (local < e->start_local) return GO_ON;
  const rrule *r = e->r;
  int32_t off = 0;
  int64_t utc = 0;
  /* An offset is within +-26 h: far from the window and from UNTIL, the
   * zone need not be asked. */
  int need = local + 2 * 86400 >= e->from || (r && r->until_kind == RRULE_UNTIL_UTC &&
                                              local + 2 * 86400 >= e->until_utc);
  if (need) utc = tz_local_to_utc(e->z, local, &off);
  if (r && r->until_kind) {
    if (r->until_kind == RRULE_UNTIL_UTC ? utc > e->until_utc
        : r->until_kind == RRULE_UNTIL_DATE ? day > e->until_local / 86400
                                            : local > e->until_local)
      return DONE;
  }
  uint32_t index = e->produced++;
  if (r && r->count && index >= (uint32_t)r->count) return DONE;
  if (in_sorted(e->ex_times, e->n_ex_times, local) || in_sorted(e->ex_days, e->n_ex_days, day))
    return GO_ON;
  if (!need) return GO_ON;
  if (utc >= e->to) return DONE;
  if (utc < e->from) return GO_ON;
  rrule_occ o;
  tz_local_from_seconds(local, &o.local);
  o.utoff_s = off;
  o.utc_s = utc;
  o.index = index;
  /* The walk's own DONE is 1 too: keep the callback's code apart. */
  e->cb_rc = e->cb(e->ctx, &o);
  return e->cb_rc ? DONE : GO_ON;
}

/* Days [a, b) of one period; the rule's selection, BYSETPOS, then emit.
 * [rs, re) is the range BYDAY ordinals count in (a month or a year). */
static int period(expand *e, int64_t a, int64_t b) {
  int64_t days[372];
  size_t n = 0;
  int yearly_by_year = e->freq == RRULE_YEARLY && !e->bymonth;
  for (int64_t d = a; d < b && n < sizeof days / sizeof *days; d++) {
    int64_t rs = a, re = b;
    if (e->n_nth && !yearly_by_year) { /* ordinals count within the month */
      int64_t y;
      int m, md;
      tz_civil_from_days(d, &y, &m, &md);
      rs = d - md + 1;
      re = rs + tz_month_days(y, m);
    }
    if (select_day(e, d, rs, re)) days[n++] = d;
  }
  const rrule *r = e->r;
  if (r && r->n_bysetpos) {
    int64_t pick[RRULE_MAX_LIST];
    size_t k = 0;
    for (size_t i = 0; i < r->n_bysetpos; i++) {
      int64_t pos = r->bysetpos[i], at = pos > 0 ? pos - 1 : (int64_t)n + pos;
      if (at >= 0 && at < (int64_t)n) pick[k++] = days[at];
    }
    k = sort_unique(pick, k, sizeof *pick, cmp_i64);
    memcpy(days, pick, k * sizeof *pick);
    n = k;
  }
  for (size_t i = 0; i < n; i++) {
    int rc = emit(e, days[i]);
    if (rc) return rc;
  }
  return GO_ON;
}

static int load_exdates(expand *e, const rrule_exdate *ex, size_t n) {
  if (n > RRULE_MAX_EXDATES) return STEK_EINVAL;
  if (!n) return STEK_OK;
  e->ex_times = malloc(n * sizeof *e->ex_times);
  e->ex_days = malloc(n * sizeof *e->ex_days);
  if (!e->ex_times || !e->ex_days) return STEK_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    tz_local t = ex[i].at;
    if (ex[i].whole_day) t.hour = t.minute = t.second = 0;
    if (!tz_local_valid(&t)) return STEK_EINVAL;
    if (ex[i].whole_day)
      e->ex_days[e->n_ex_days++] = tz_days_from_civil(t.year, t.month, t.day);
    else
      e->ex_times[e->n_ex_times++] = tz_local_seconds(&t);
  }
  qsort(e->ex_times, e->n_ex_times, sizeof *e->ex_times, cmp_i64);
  qsort(e->ex_days, e->n_ex_days, sizeof *e->ex_days, cmp_i64);
  return STEK_OK;
}

static int walk(expand *e) {
  int64_t sd = e->start_day;
  int64_t sy;
  int sm, smd;
  tz_civil_from_days(sd, &sy, &sm, &smd);
  int64_t week0 = sd - (tz_weekday(sd) - (e->r ? e->r->wkst : 0) + 7) % 7;
  const int64_t last_day = tz_days_from_civil(10000, 1, 1); /* dateutil stops at 9999 */
  for (int64_t k = 0; k < RRULE_MAX_PERIODS; k++) {
    int64_t a, b, step = k * e->interval;
    switch (e->freq) {
      case RRULE_YEARLY:
        if (sy + step > 9999) return STEK_OK;
        a = tz_days_from_civil(sy + step, 1, 1);
        b = tz_days_from_civil(sy + step + 1, 1, 1);
        break;
      case RRULE_MONTHLY: {
        int64_t mi = sy * 12 + (sm - 1) + step;
        if (mi / 12 > 9999) return STEK_OK;
        a = tz_days_from_civil(mi / 12, (int)(mi % 12) + 1, 1);
        b = a + tz_month_days(mi / 12, (int)(mi % 12) + 1);
        break;
      }
      case RRULE_WEEKLY:
        a = week0 + step * 7;
        b = a + 7;
        if (a < sd) a = sd; /* dateutil's first week starts at DTSTART */
        break;
      default:
        a = sd + step;
        b = a + 1;
        break;
    }
    if (a >= last_day) return STEK_OK;
    if (b > last_day) b = last_day;
    /* Every later occurrence is at least a + tod local, so beyond the
     * window once that is two days past its end. */
    if (a * 86400 + e->tod - 2 * 86400 >= e->to) return STEK_OK;
    if (e->r && e->r->until_kind) { /* past UNTIL: even a rule that never
                                        selects a day ends here */
      int64_t first = a * 86400 + e->tod;
      if (e->r->until_kind == RRULE_UNTIL_UTC ? first - 2 * 86400 > e->until_utc
                                              : first > e->until_local + 86400)
        return STEK_OK;
    }
    int rc = period(e, a, b);
    if (rc == DONE) return STEK_OK;
    if (rc) return rc;
  }
  return STEK_ETOOBIG;
}

int rrule_expand(const rrule *r, const tz_local *dtstart, const tz *z,
                 const rrule_exdate *ex, size_t n_ex, int64_t from_s, int64_t to_s,
                 rrule_occ_cb cb, void *ctx) {
  if (!dtstart || !z || !cb || !tz_local_valid(dtstart)) return STEK_EINVAL;
  if (r && (r->freq < RRULE_DAILY || r->freq > RRULE_YEARLY || r->interval < 1 ||
            r->interval > RRULE_MAX_INTERVAL || r->count < 0 || r->count > RRULE_MAX_COUNT ||
            r->n_byday > RRULE_MAX_LIST || r->n_bymonthday > RRULE_MAX_LIST ||
            r->n_bysetpos > RRULE_MAX_LIST))
    return STEK_EINVAL;
  expand e;
  memset(&e, 0, sizeof e);
  e.r = r;
  e.z = z;
  e.from = from_s;
  e.to = to_s;
  e.cb = cb;
  e.ctx = ctx;
  e.start_local = tz_local_seconds(dtstart);
  e.start_day = tz_days_from_civil(dtstart->year, dtstart->month, dtstart->day);
  e.tod = dtstart->hour * 3600 + dtstart->minute * 60 + dtstart->second;
  int rc = load_exdates(&e, ex, n_ex);
  if (rc) goto out;
  if (!r) { /* a single occurrence: a one-day DAILY walk with COUNT=1 */
    e.freq = RRULE_DAILY;
    e.interval = 1;
    rc = period(&e, e.start_day, e.start_day + 1);
    rc = rc == DONE ? STEK_OK : rc;
    goto out;
  }
  e.freq = r->freq;
  e.interval = r->interval;
  e.bymonth = r->bymonth;
  e.mday = r->bymonthday;
  e.n_mday = r->n_bymonthday;
  for (size_t i = 0; i < r->n_byday; i++)
    if (!r->byday[i].n) e.plain_wd |= (uint8_t)(1u << r->byday[i].wd);
  e.nth = r->byday;
  e.n_nth = 0;
  /* ordinal entries sort before (n < 0) and after (n > 0) the plain ones;
   * select_day skips non-matching weekdays, so pass the whole list when
   * any ordinal is present */
  for (size_t i = 0; i < r->n_byday; i++)
    if (r->byday[i].n) e.n_nth = r->n_byday;
  /* dateutil's defaults when no BYDAY / BYMONTHDAY narrows the period */
  if (!r->n_byday && !r->n_bymonthday) {
    e.default_mday = (int8_t)dtstart->day;
    if (r->freq == RRULE_YEARLY) {
      if (!e.bymonth) e.bymonth = (uint16_t)(1u << dtstart->month);
      e.mday = &e.default_mday, e.n_mday = 1;
    } else if (r->freq == RRULE_MONTHLY) {
      e.mday = &e.default_mday, e.n_mday = 1;
    } else if (r->freq == RRULE_WEEKLY) {
      e.plain_wd = (uint8_t)(1u << tz_weekday(e.start_day));
    }
  }
  if (r->until_kind == RRULE_UNTIL_UTC) {
    e.until_utc = tz_local_seconds(&r->until);
  } else if (r->until_kind) {
    e.until_local = tz_local_seconds(&r->until);
  }
  rc = walk(&e);
out:
  free(e.ex_times);
  free(e.ex_days);
  return !rc && e.cb_rc ? e.cb_rc : rc;
}
