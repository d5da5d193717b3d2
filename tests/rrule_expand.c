/*
 * rrule_expand -- a test helper (not a test by itself): expands recurrence
 * rules with model/rrule so that tests/test_rrule_dateutil.py can compare
 * the result with python-dateutil's.
 *
 * Each line on stdin is
 *     DTSTART;TZ;RRULE;EXDATES;FROM;TO
 * DTSTART, FROM and TO are local times "YYYY-MM-DDTHH:MM:SS" (or dates) in
 * zone TZ; the window is [FROM, TO) by UTC instant.  RRULE is an RRULE value
 * (it contains ';' itself, so the line is split at its first two and last
 * three ';'); empty means a single event.  EXDATES is a comma-separated list
 * of local date-times or dates, or empty.  For each line the occurrences
 * are printed one per line as "2026-03-05T13:30:00+01:00", then a blank
 * line; a line that fails prints "ERROR <code name>: <reason>" instead.
 * $STEK_ZONEINFO overrides the zoneinfo directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/rrule.h"
#include "model/tz.h"
#include "stek.h"

#define MAX_EX 512

static int print_occ(void *ctx, const rrule_occ *o) {
  (void)ctx;
  char iso[32];
  rrule_occ_iso(o, iso);
  printf("%s\n", iso);
  return 0;
}

static int local_utc(const tz *z, const char *s, int64_t *out) {
  tz_local t;
  int date_only;
  if (rrule_parse_local(s, &t, &date_only)) return STEK_EINVAL;
  *out = tz_local_to_utc(z, tz_local_seconds(&t), NULL);
  return STEK_OK;
}

static int one(char *line, char *err, size_t cap) {
  char *f[6];
  /* first two fields from the left, last three from the right */
  char *p = line;
  for (int i = 0; i < 2; i++) {
    f[i] = p;
    p = strchr(p, ';');
    if (!p) return snprintf(err, cap, "line has too few fields"), STEK_EINVAL;
    *p++ = 0;
  }
  char *end = p + strlen(p);
  for (int i = 5; i >= 3; i--) {
    char *q = end;
    while (q > p && q[-1] != ';') q--;
    if (q == p) return snprintf(err, cap, "line has too few fields"), STEK_EINVAL;
    f[i] = q;
    q[-1] = 0;
    end = q - 1;
  }
  f[2] = p;

  tz *z;
  int rc = tz_load(getenv("STEK_ZONEINFO"), f[1], &z, err, cap);
  if (rc) return rc;
  tz_local start;
  rrule r;
  static rrule_exdate ex[MAX_EX];
  size_t n_ex = 0;
  int64_t from, to;
  if (rrule_parse_local(f[0], &start, NULL)) {
    snprintf(err, cap, "bad DTSTART \"%s\"", f[0]);
    rc = STEK_EINVAL;
    goto out;
  }
  if (*f[2] && (rc = rrule_parse(f[2], &r, err, cap))) goto out;
  for (char *tok = f[3]; *tok;) {
    char *comma = strchr(tok, ',');
    if (comma) *comma = 0;
    if (n_ex == MAX_EX || rrule_parse_local(tok, &ex[n_ex].at, &ex[n_ex].whole_day)) {
      snprintf(err, cap, "bad EXDATE \"%s\"", tok);
      rc = STEK_EINVAL;
      goto out;
    }
    n_ex++;
    if (!comma) break;
    tok = comma + 1;
  }
  if (local_utc(z, f[4], &from) || local_utc(z, f[5], &to)) {
    snprintf(err, cap, "bad window");
    rc = STEK_EINVAL;
    goto out;
  }
  rc = rrule_expand(*f[2] ? &r : NULL, &start, z, ex, n_ex, from, to, print_occ, NULL);
  if (rc) snprintf(err, cap, "expansion failed");
out:
  tz_free(z);
  return rc;
}

int main(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (!n) continue;
    char err[256] = "";
    int rc = one(line, err, sizeof err);
    if (rc) printf("ERROR %s: %s\n", stek_strerror(rc), err);
    printf("\n");
    fflush(stdout);
  }
  free(line);
  return 0;
}
