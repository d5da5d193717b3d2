/* model/tz -- see tz.h.  The TZif layout is RFC 8536; the footer is a
 * POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"). */
#define _POSIX_C_SOURCE 200809L
#include "model/tz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stek.h"

/* Offsets beyond +-25:59:59 are not a real zone (RFC 8536 3.2). */
#define MAX_UTOFF 93599
/* Transition times beyond +-2^59 s (zic's "big bang") are refused, so that
 * time + offset arithmetic cannot overflow. */
#define MAX_TIME ((int64_t)1 << 59)
#define MAX_FOOTER 255

/* The instants of 0001-01-01 and 10000-01-01, UTC: the range we compute in. */
#define MIN_S (INT64_C(-62135596800))
#define MAX_S (INT64_C(253402300800))

typedef struct ttype {
  int32_t utoff;
  uint8_t isdst;
  char abbr[TZ_MAX_ABBR + 1];
} ttype;

/* One date rule of a POSIX TZ string. */
typedef struct prule {
  char kind; /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
  int a, b, c;
  int32_t time; /* seconds after local midnight, may be negative or > 24h */
} prule;

struct tz {
  char name[TZ_MAX_NAME + 1];
  size_t n_trans;
  int64_t *at;
  uint8_t *idx;
  size_t n_types;
  ttype *types;
  /* footer: 0 none (the last type lasts), 1 fixed (std), 2 std and dst */
  int footer;
  tz_info std, dst;
  prule start, end; /* to dst (in standard time), to std (in dst time) */
};

static void seterr(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t cap, const char *fmt, ...) {
  if (!err || !cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

/* ---- civil calendar (H. Hinnant's algorithms) ---- */

static int64_t fdiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t tz_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
  int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (mm <= 2);
  *m = mm;
  *d = dd;
}

int tz_weekday(int64_t days) { return (int)(((days % 7) + 7 + 3) % 7); }

int tz_is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int tz_month_days(int64_t y, int m) {
  static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return len[m - 1] + (m == 2 && tz_is_leap(y));
}

int tz_local_valid(const tz_local *t) {
  return t->year >= 1 && t->year <= 9999 && t->month >= 1 && t->month <= 12 &&
         t->day >= 1 && t->day <= tz_month_days(t->year, t->month) && t->hour >= 0 &&
         t->hour <= 23 && t->minute >= 0 && t->minute <= 59 && t->second >= 0 &&
         t->second <= 59;
}

int64_t tz_local_seconds(const tz_local *t) {
  return tz_days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600 +
         t->minute * 60 + t->second;
}

void tz_local_from_seconds(int64_t s, tz_local *t) {
  int64_t days = fdiv(s, 86400), rem = s - days * 86400, y;
  tz_civil_from_days(days, &y, &t->month, &t->day);
  t->year = (int)y;
  t->hour = (int)(rem / 3600);
  t->minute = (int)(rem / 60 % 60);
  t->second = (int)(rem % 60);
}

static int64_t clamp_s(int64_t t) { return t < MIN_S ? MIN_S : t > MAX_S ? MAX_S : t; }

static int64_t year_of(int64_t utc_s) {
  int64_t y;
  int m, d;
  tz_civil_from_days(fdiv(clamp_s(utc_s), 86400), &y, &m, &d);
  return y;
}

/* ---- zone names ---- */

int tz_name_check(const char *name) {
  if (!name) return STEK_EINVAL;
  size_t n = strlen(name);
  if (n == 0 || n > TZ_MAX_NAME || name[0] == '/') return STEK_EINVAL;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '+' || c == '-' || c == '/';
    if (!ok) return STEK_EINVAL;
  }
  /* every component non-empty and neither "." nor ".." */
  const char *p = name;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
      return STEK_EINVAL;
    if (!e) break;
    p = e + 1;
    if (!*p) return STEK_EINVAL; /* trailing '/' */
  }
  return STEK_OK;
}

/* ---- POSIX TZ strings ---- */

/* An abbreviation: <[A-Za-z0-9+-]+> or [A-Za-z]{3,}. */
static int p_abbr(const char **pp, char out[TZ_MAX_ABBR + 1]) {
  const char *p = *pp;
  size_t n = 0;
  if (*p == '<') {
    p++;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-') {
      if (n < TZ_MAX_ABBR) out[n++] = *p;
      p++;
    }
    if (*p != '>' || n == 0) return -1;
    p++;
  } else {
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
      if (n < TZ_MAX_ABBR) out[n++] = *p;
      p++;
    }
    if (p - *pp < 3) return -1;
  }
  out[n] = 0;
  *pp = p;
  return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh, in seconds. */
static int p_hms(const char **pp, int maxh, int32_t *out) {
  const char *p = *pp;
  int sign = 1;
  if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
  int v[3] = {0, 0, 0};
  for (int k = 0; k < 3; k++) {
    if (k > 0) {
      if (*p != ':') break;
      p++;
    }
    int digits = 0, x = 0;
    while (*p >= '0' && *p <= '9' && digits < 3) x = x * 10 + (*p++ - '0'), digits++;
    if (digits == 0 || (k > 0 && digits != 2)) return -1;
    v[k] = x;
  }
  if (v[0] > maxh || v[1] > 59 || v[2] > 59) return -1;
  *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
  *pp = p;
  return 0;
}

static int p_num(const char **pp, int lo, int hi, int *out) {
  const char *p = *pp;
  int x = 0, digits = 0;
  while (*p >= '0' && *p <= '9' && digits < 4) x = x * 10 + (*p++ - '0'), digits++;
  if (digits == 0 || x < lo || x > hi) return -1;
  *out = x;
  *pp = p;
  return 0;
}

static int p_rule(const char **pp, prule *r) {
  const char *p = *pp;
  if (*p == 'J') {
    p++;
    r->kind = 'J';
    if (p_num(&p, 1, 365, &r->a)) return -1;
  } else if (*p == 'M') {
    p++;
    r->kind = 'M';
    if (p_num(&p, 1, 12, &r->a) || *p++ != '.' || p_num(&p, 1, 5, &r->b) || *p++ != '.' ||
        p_num(&p, 0, 6, &r->c))
      return -1;
  } else {
    r->kind = 'N';
    if (p_num(&p, 0, 365, &r->a)) return -1;
  }
  r->time = 7200;
  if (*p == '/') {
    p++;
    if (p_hms(&p, 167, &r->time)) return -1;
  }
  *pp = p;
  return 0;
}

/* Parse a TZif footer into z (footer, std, dst, start, end). */
static int parse_posix(tz *z, const char *s) {
  const char *p = s;
  int32_t off;
  if (!*p) {
    z->footer = 0;
    return 0;
  }
  if (p_abbr(&p, z->std.abbr) || p_hms(&p, 24, &off)) return -1;
  z->std.utoff_s = -off; /* POSIX counts west */
  z->std.isdst = 0;
  if (!*p) {
    z->footer = 1;
    return 0;
  }
  if (p_abbr(&p, z->dst.abbr)) return -1;
  z->dst.utoff_s = z->std.utoff_s + 3600;
  if (*p && *p != ',') {
    if (p_hms(&p, 24, &off)) return -1;
    z->dst.utoff_s = -off;
  }
  z->dst.isdst = 1;
  /* TZif footers spell their rules out; POSIX's implementation-defined
   * default has no place in one. */
  if (*p++ != ',' || p_rule(&p, &z->start) || *p++ != ',' || p_rule(&p, &z->end) || *p)
    return -1;
  z->footer = 2;
  return 0;
}

/* The day (since the epoch) a rule names in year y. */
static int64_t rule_day(const prule *r, int64_t y) {
  int64_t jan1 = tz_days_from_civil(y, 1, 1);
  if (r->kind == 'J') return jan1 + r->a - 1 + (tz_is_leap(y) && r->a >= 60);
  if (r->kind == 'N') return jan1 + r->a;
  int64_t first = tz_days_from_civil(y, r->a, 1);
  int wd = (tz_weekday(first) + 1) % 7; /* POSIX: 0 = Sunday */
  int64_t d = first + (r->c - wd + 7) % 7 + (int64_t)(r->b - 1) * 7;
  int64_t next = first + tz_month_days(y, r->a);
  while (d >= next) d -= 7; /* week 5 means the last */
  return d;
}

typedef struct rtrans {
  int64_t utc;
  int to_dst;
} rtrans;

/* The footer rule's two transitions of year y, in order (a tie puts the
 * change to standard time first, so that a year-round DST rule such as
 * "EST5EDT,0/0,J365/25" stays in DST). */
static void rule_year(const tz *z, int64_t y, rtrans out[2]) {
  rtrans a = {rule_day(&z->start, y) * 86400 + z->start.time - z->std.utoff_s, 1};
  rtrans b = {rule_day(&z->end, y) * 86400 + z->end.time - z->dst.utoff_s, 0};
  if (b.utc <= a.utc) {
    out[0] = b, out[1] = a;
  } else {
    out[0] = a, out[1] = b;
  }
}

static void rule_info_at(const tz *z, int64_t t, tz_info *out) {
  if (z->footer == 1) {
    *out = z->std;
    return;
  }
  int64_t y = year_of(t);
  int to_dst = -1;
  int64_t best = INT64_MIN;
  for (int64_t k = y - 2; k <= y + 1; k++) {
    rtrans r[2];
    rule_year(z, k, r);
    for (int i = 0; i < 2; i++)
      if (r[i].utc <= t && r[i].utc >= best) best = r[i].utc, to_dst = r[i].to_dst;
  }
  *out = to_dst == 1 ? z->dst : z->std;
}

/* ---- lookups ---- */

static void type_info(const tz *z, size_t type, tz_info *out) {
  const ttype *t = &z->types[type];
  out->utoff_s = t->utoff;
  out->isdst = t->isdst;
  memcpy(out->abbr, t->abbr, sizeof out->abbr);
}

/* Index of the first transition at or after t. */
static size_t lower_bound(const tz *z, int64_t t) {
  size_t lo = 0, hi = z->n_trans;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (z->at[mid] < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void tz_info_at(const tz *z, int64_t t, tz_info *out) {
  if (z->n_trans == 0) {
    if (z->footer)
      rule_info_at(z, t, out);
    else
      type_info(z, 0, out);
    return;
  }
  if (t >= z->at[z->n_trans - 1] && z->footer) {
    rule_info_at(z, t, out);
    return;
  }
  size_t i = lower_bound(z, t + (t < INT64_MAX)); /* first transition > t */
  if (i == 0)
    type_info(z, 0, out); /* before the first transition: type 0 */
  else
    type_info(z, z->idx[i - 1], out);
}

static int info_eq(const tz_info *a, const tz_info *b) {
  return a->utoff_s == b->utoff_s && a->isdst == b->isdst && !strcmp(a->abbr, b->abbr);
}

typedef void (*trans_fn)(void *ctx, const tz_transition *t);

/* Every transition with utc in [from, to), in order. */
static void each_transition(const tz *z, int64_t from, int64_t to, trans_fn fn, void *ctx) {
  from = clamp_s(from);
  to = clamp_s(to);
  if (from >= to) return;
  tz_transition tr;
  for (size_t i = lower_bound(z, from); i < z->n_trans && z->at[i] < to; i++) {
    if (i + 1 == z->n_trans && z->footer) break; /* the footer governs from here */
    type_info(z, i ? z->idx[i - 1] : 0, &tr.before);
    type_info(z, z->idx[i], &tr.after);
    tr.utc_s = z->at[i];
    if (!info_eq(&tr.before, &tr.after)) fn(ctx, &tr);
  }
  if (!z->footer) return;
  int64_t after = INT64_MIN; /* the footer's rule starts at the last transition */
  if (z->n_trans) {
    after = z->at[z->n_trans - 1];
    if (after >= from && after < to) {
      tr.utc_s = after;
      tz_info_at(z, after - 1, &tr.before);
      tz_info_at(z, after, &tr.after);
      if (!info_eq(&tr.before, &tr.after)) fn(ctx, &tr);
    }
  }
  if (z->footer != 2) return;
  int64_t y0 = year_of(from > after ? from : after) - 1, y1 = year_of(to) + 1;
  if (y0 < 1) y0 = 1;
  if (y1 > 9999) y1 = 9999;
  for (int64_t y = y0; y <= y1; y++) {
    rtrans r[2];
    rule_year(z, y, r);
    for (int k = 0; k < 2; k++) {
      if (r[k].utc <= after || r[k].utc < from || r[k].utc >= to) continue;
      tr.utc_s = r[k].utc;
      tz_info_at(z, r[k].utc - 1, &tr.before);
      tz_info_at(z, r[k].utc, &tr.after);
      if (!info_eq(&tr.before, &tr.after)) fn(ctx, &tr);
    }
  }
}

typedef struct collect {
  tz_transition *out;
  size_t cap, n;
} collect;

static void collect_one(void *ctx, const tz_transition *t) {
  collect *c = ctx;
  if (c->n < c->cap) c->out[c->n] = *t;
  c->n++;
}

void tz_transitions(const tz *z, int64_t from_s, int64_t to_s, tz_transition *out,
                    size_t cap, size_t *n) {
  collect c = {out, out ? cap : 0, 0};
  each_transition(z, from_s, to_s, collect_one, &c);
  *n = c.n;
}

typedef struct resolve {
  int64_t local;
  int32_t off;
} resolve;

static void resolve_one(void *ctx, const tz_transition *t) {
  resolve *r = ctx;
  /* In force once the old wall clock reaches the transition. */
  if (t->utc_s + t->before.utoff_s <= r->local) r->off = t->after.utoff_s;
}

int64_t tz_local_to_utc(const tz *z, int64_t local_s, int32_t *utoff_s) {
  /* Offsets are within +-26 h, so only transitions within two days of the
   * local time (read as UTC) can decide. */
  int64_t l = clamp_s(local_s);
  resolve r = {l, tz_offset_at(z, l - 2 * 86400)};
  each_transition(z, l - 2 * 86400, l + 2 * 86400, resolve_one, &r);
  if (utoff_s) *utoff_s = r.off;
  return l - r.off;
}

/* ---- TZif ---- */

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct hdr {
  uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
  uint64_t size; /* of the data block after the header */
} hdr;

#define HDR_BYTES 44

/* Read a header and check its block fits in avail bytes; used (the block
 * this reader decodes) also checks the counts' consistency. */
static int read_hdr(const uint8_t *p, size_t avail, int tsize, int used, hdr *h,
                    char *err, size_t cap) {
  if (avail < HDR_BYTES || memcmp(p, "TZif", 4)) {
    seterr(err, cap, "not a TZif file");
    return STEK_EMALFORMED;
  }
  h->isutcnt = be32(p + 20);
  h->isstdcnt = be32(p + 24);
  h->leapcnt = be32(p + 28);
  h->timecnt = be32(p + 32);
  h->typecnt = be32(p + 36);
  h->charcnt = be32(p + 40);
  /* 64-bit arithmetic: every count is below 2^32, so no overflow. */
  h->size = (uint64_t)h->timecnt * (uint64_t)(tsize + 1) + (uint64_t)h->typecnt * 6 +
            h->charcnt + (uint64_t)h->leapcnt * (uint64_t)(tsize + 4) + h->isstdcnt +
            h->isutcnt;
  if (h->size > avail - HDR_BYTES) {
    seterr(err, cap, "TZif counts exceed the file's size");
    return STEK_EMALFORMED;
  }
  if (!used) return STEK_OK; /* a v2+ file's v1 block is skipped unread */
  if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
      (h->isstdcnt && h->isstdcnt != h->typecnt) ||
      (h->isutcnt && h->isutcnt != h->typecnt)) {
    seterr(err, cap, "TZif header counts are inconsistent");
    return STEK_EMALFORMED;
  }
  return STEK_OK;
}

/* Decode a data block (tsize 4 or 8 bytes per time) into z. */
static int read_data(tz *z, const uint8_t *p, const hdr *h, int tsize, char *err,
                     size_t cap) {
  if (h->leapcnt) {
    seterr(err, cap, "zones with leap seconds (right/...) are not supported");
    return STEK_EINVAL;
  }
  z->n_trans = h->timecnt;
  z->n_types = h->typecnt;
  z->at = calloc(h->timecnt ? h->timecnt : 1, sizeof *z->at);
  z->idx = calloc(h->timecnt ? h->timecnt : 1, 1);
  z->types = calloc(h->typecnt, sizeof *z->types);
  if (!z->at || !z->idx || !z->types) {
    seterr(err, cap, "out of memory");
    return STEK_ENOMEM;
  }
  const uint8_t *times = p, *idx = p + (size_t)h->timecnt * (size_t)tsize;
  const uint8_t *tt = idx + h->timecnt, *chars = tt + (size_t)h->typecnt * 6;
  for (size_t i = 0; i < h->timecnt; i++) {
    int64_t t = tsize == 8 ? be64(times + i * 8) : (int64_t)(int32_t)be32(times + i * 4);
    if (t < -MAX_TIME || t > MAX_TIME || (i && t <= z->at[i - 1])) {
      seterr(err, cap, "TZif transition times out of range or order");
      return STEK_EMALFORMED;
    }
    z->at[i] = t;
    if (idx[i] >= h->typecnt) {
      seterr(err, cap, "TZif transition names no such type");
      return STEK_EMALFORMED;
    }
    z->idx[i] = idx[i];
  }
  for (size_t i = 0; i < h->typecnt; i++) {
    const uint8_t *q = tt + i * 6;
    int32_t off = (int32_t)be32(q);
    if (off < -MAX_UTOFF || off > MAX_UTOFF || q[4] > 1 || q[5] >= h->charcnt) {
      seterr(err, cap, "TZif time type out of range");
      return STEK_EMALFORMED;
    }
    z->types[i].utoff = off;
    z->types[i].isdst = q[4];
    const char *a = (const char *)chars + q[5];
    size_t room = h->charcnt - q[5];
    const char *nul = memchr(a, 0, room);
    if (!nul) {
      seterr(err, cap, "TZif abbreviation not terminated");
      return STEK_EMALFORMED;
    }
    size_t n = (size_t)(nul - a);
    if (n > TZ_MAX_ABBR) n = TZ_MAX_ABBR;
    memcpy(z->types[i].abbr, a, n);
    z->types[i].abbr[n] = 0;
  }
  return STEK_OK;
}

int tz_parse(const uint8_t *buf, size_t len, const char *name, tz **out, char *err,
             size_t cap) {
  *out = NULL;
  hdr h;
  if (len < 5) {
    seterr(err, cap, "not a TZif file");
    return STEK_EMALFORMED;
  }
  uint8_t version = buf[4];
  int rc = read_hdr(buf, len, 4, version == 0, &h, err, cap);
  if (rc) return rc;
  if (version != 0 && (version < '2' || version > '4')) {
    seterr(err, cap, "unknown TZif version");
    return STEK_EMALFORMED;
  }
  tz *z = calloc(1, sizeof *z);
  if (!z) return STEK_ENOMEM;
  if (name) snprintf(z->name, sizeof z->name, "%s", name);
  const uint8_t *p = buf + HDR_BYTES;
  size_t left = len - HDR_BYTES;
  int tsize = 4;
  if (version >= '2') { /* skip the 32-bit block, read the 64-bit one */
    p += h.size;
    left -= (size_t)h.size;
    tsize = 8;
    rc = read_hdr(p, left, 8, 1, &h, err, cap);
    if (rc) goto fail;
    p += HDR_BYTES;
    left -= HDR_BYTES;
  }
  rc = read_data(z, p, &h, tsize, err, cap);
  if (rc) goto fail;
  if (version >= '2') {
    p += h.size;
    left -= (size_t)h.size;
    /* "\n" footer "\n" */
    const uint8_t *nl = left > 1 && p[0] == '\n' ? memchr(p + 1, '\n', left - 1) : NULL;
    size_t flen = nl ? (size_t)(nl - p - 1) : 0;
    char footer[MAX_FOOTER + 1];
    if (!nl || flen > MAX_FOOTER) {
      seterr(err, cap, "TZif footer missing or too long");
      rc = STEK_EMALFORMED;
      goto fail;
    }
    memcpy(footer, p + 1, flen);
    footer[flen] = 0;
    if (memchr(footer, 0, flen) || parse_posix(z, footer)) {
      seterr(err, cap, "TZif footer is not a POSIX TZ string");
      rc = STEK_EMALFORMED;
      goto fail;
    }
  }
  *out = z;
  return STEK_OK;
fail:
  tz_free(z);
  return rc;
}

int tz_load(const char *dir, const char *name, tz **out, char *err, size_t cap) {
  *out = NULL;
  if (tz_name_check(name)) {
    seterr(err, cap, "bad time zone name");
    return STEK_EINVAL;
  }
  if (!dir) dir = TZ_DEFAULT_DIR;
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
    seterr(err, cap, "zoneinfo path too long");
    return STEK_EINVAL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    seterr(err, cap, "no time zone %s in %s", name, dir);
    return STEK_ENOTFOUND;
  }
  struct stat st;
  if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
    fclose(f);
    seterr(err, cap, "no time zone %s in %s", name, dir);
    return STEK_ENOTFOUND;
  }
  uint8_t *buf = malloc(TZ_MAX_FILE_BYTES + 1);
  if (!buf) {
    fclose(f);
    return STEK_ENOMEM;
  }
  size_t len = fread(buf, 1, TZ_MAX_FILE_BYTES + 1, f);
  int bad = ferror(f);
  fclose(f);
  int rc;
  if (bad) {
    seterr(err, cap, "cannot read %s", path);
    rc = STEK_EIO;
  } else if (len > TZ_MAX_FILE_BYTES) {
    seterr(err, cap, "%s is too large for a TZif file", path);
    rc = STEK_EMALFORMED;
  } else {
    rc = tz_parse(buf, len, name, out, err, cap);
  }
  free(buf);
  return rc;
}

void tz_free(tz *z) {
  if (!z) return;
  free(z->at);
  free(z->idx);
  free(z->types);
  free(z);
}

const char *tz_name(const tz *z) { return z->name; }
