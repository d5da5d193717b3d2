/* model/report -- see report.h. */
#include "model/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/signal.h"
#include "stek.h"

typedef struct cell {
  char month[8]; /* "2026-03" */
  char theme[STEK_MAX_NAME_BYTES + 1];
  char site[STEK_SIGNAL_MAX_SITE + 1];
  long count;
} cell;

struct report {
  cell *cells;
  size_t n, cap;
};

report *report_new(void) { return calloc(1, sizeof(report)); }

void report_free(report *r) {
  if (r) free(r->cells);
  free(r);
}

/* A week belongs to the month of its Thursday (as it belongs to the year
 * of its Thursday in ISO 8601). */
static int week_month(const char *week, char month[8]) {
  int64_t ms;
  if (iso_week_start_ms(week, &ms)) return STEK_EMALFORMED;
  int64_t days = ms / 86400000 + 3;
  /* civil date of a day count (era-based method, as in crdt/signal.c) */
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  int64_t y = yoe + era * 400 + (m <= 2);
  char buf[32];
  snprintf(buf, sizeof buf, "%04d-%02d", (int)(y % 10000), m);
  memcpy(month, buf, 7);
  month[7] = 0;
  return 0;
}

static int cell_cmp(const cell *a, const char *month, const char *theme,
                    const char *site) {
  int c = strcmp(a->month, month);
  if (!c) c = strcmp(a->theme, theme);
  if (!c) c = strcmp(a->site, site);
  return c;
}

int report_add(report *r, const char *week, const char *theme, const char *site) {
  char month[8];
  if (week_month(week, month)) return STEK_EMALFORMED;
  if (strlen(theme) > STEK_MAX_NAME_BYTES || strlen(site) > STEK_SIGNAL_MAX_SITE)
    return STEK_EMALFORMED;
  size_t lo = 0, hi = r->n; /* cells stay sorted: binary search */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = cell_cmp(&r->cells[mid], month, theme, site);
    if (c == 0) {
      r->cells[mid].count++;
      return 0;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    cell *c = realloc(r->cells, cap * sizeof *c);
    if (!c) return STEK_ENOMEM;
    r->cells = c;
    r->cap = cap;
  }
  memmove(&r->cells[lo + 1], &r->cells[lo], (r->n - lo) * sizeof(cell));
  cell *c = &r->cells[lo];
  memset(c, 0, sizeof *c);
  memcpy(c->month, month, sizeof c->month);
  snprintf(c->theme, sizeof c->theme, "%s", theme);
  snprintf(c->site, sizeof c->site, "%s", site);
  c->count = 1;
  r->n++;
  return 0;
}

/* A growing string. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int err;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(sbuf *b, const char *fmt, ...) {
  va_list ap;
  if (b->err) return;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->err = 1;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap <= b->len + (size_t)n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->err = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

/* RFC 4180: quote a field that holds a comma, quote or line break. */
static void csv_field(sbuf *b, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    put(b, "%s", s);
    return;
  }
  put(b, "\"");
  for (; *s; s++) put(b, *s == '"' ? "\"\"" : "%c", *s);
  put(b, "\"");
}

static void xml_text(sbuf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<': put(b, "&lt;"); break;
      case '>': put(b, "&gt;"); break;
      case '&': put(b, "&amp;"); break;
      case '"': put(b, "&quot;"); break;
      default: put(b, "%c", *s);
    }
  }
}

static void render_csv(report *r, int k, sbuf *b) {
  put(b, "month,theme,site,signals\r\n");
  for (size_t i = 0; i < r->n; i++) {
    cell *c = &r->cells[i];
    put(b, "%s,%s,", c->month, c->theme);
    csv_field(b, c->site);
    if (c->count < k) put(b, ",<%d\r\n", k);
    else put(b, ",%ld\r\n", c->count);
  }
}

static void render_svg(report *r, int k, sbuf *b) {
  const int row = 22, label_w = 420, bar_w = 360, top = 56;
  long max = 1;
  for (size_t i = 0; i < r->n; i++)
    if (r->cells[i].count >= k && r->cells[i].count > max) max = r->cells[i].count;
  int height = top + (int)r->n * row + 40;
  put(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
         "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\" "
         "role=\"img\" aria-labelledby=\"title\">\n",
      label_w + bar_w + 80, height, label_w + bar_w + 80, height);
  put(b, "<title id=\"title\">Signals by month, theme and site (cells under %d "
         "suppressed)</title>\n", k);
  put(b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
  put(b, "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Signals "
         "by month, theme and site</text>\n");
  put(b, "<text x=\"10\" y=\"44\" fill=\"#555555\">Cells with fewer than %d "
         "signals are suppressed (grey, no count).</text>\n", k);
  for (size_t i = 0; i < r->n; i++) {
    cell *c = &r->cells[i];
    int y = top + (int)i * row;
    put(b, "<text x=\"10\" y=\"%d\">%s \xc2\xb7 %s \xc2\xb7 ", y + 15, c->month, c->theme);
    xml_text(b, c->site);
    put(b, "</text>\n");
    if (c->count < k) {
      put(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"#dddddd\"/>"
             "<text x=\"%d\" y=\"%d\" fill=\"#555555\">fewer than %d</text>\n",
          label_w, y + 2, bar_w / 10, label_w + bar_w / 10 + 6, y + 15, k);
    } else {
      int w = (int)((long)bar_w * c->count / max);
      put(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"#2a6f97\"/>"
             "<text x=\"%d\" y=\"%d\">%ld</text>\n",
          label_w, y + 2, w < 1 ? 1 : w, label_w + w + 6, y + 15, c->count);
    }
  }
  if (r->n == 0)
    put(b, "<text x=\"10\" y=\"%d\">No signals.</text>\n", top + 15);
  put(b, "</svg>\n");
}

int report_render(report *r, int k, int format, char **out) {
  sbuf b = {0};
  *out = NULL;
  if (k < 1 || (format != STEK_REPORT_CSV && format != STEK_REPORT_SVG))
    return STEK_EINVAL;
  if (format == STEK_REPORT_CSV) render_csv(r, k, &b);
  else render_svg(r, k, &b);
  if (b.err || !b.p) {
    free(b.p);
    return STEK_ENOMEM;
  }
  *out = b.p;
  return 0;
}
