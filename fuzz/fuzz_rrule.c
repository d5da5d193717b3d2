/* Fuzz target: rrule_parse() and rrule_parse_local() (model/rrule), the
 * recurrence rules and local date-times a schedule is given.  A rule that
 * parses is formatted, re-parsed and formatted again (the canonical form is
 * a fixed point), and expanded over one year in Europe/Brussels if the
 * system has that zone.  Invariants: no crash; format(parse(format(r))) ==
 * format(r); expansion terminates (bounded by RRULE_MAX_PERIODS). */
#include "fuzz.h"
#include "model/rrule.h"

static tz *zone;

static int count_occ(void *ctx, const rrule_occ *o) {
  (void)o;
  return ++*(int *)ctx >= 500; /* enough: stop */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    if (tz_load(NULL, "Europe/Brussels", &zone, NULL, 0)) zone = NULL;
    init = 1;
  }
  if (size > RRULE_MAX_TEXT * 2) return 0;
  char text[RRULE_MAX_TEXT * 2 + 1], err[128], f1[RRULE_MAX_TEXT], f2[RRULE_MAX_TEXT];
  memcpy(text, data, size);
  text[size] = 0;
  tz_local t;
  int date_only;
  (void)rrule_parse_local(text, &t, &date_only);
  (void)rrule_parse_local(text, &t, NULL);
  rrule r, r2;
  if (rrule_parse(text, &r, err, sizeof err) != 0) return 0;
  if (rrule_format(&r, f1, sizeof f1)) abort();
  if (rrule_parse(f1, &r2, err, sizeof err)) {
    fprintf(stderr, "canonical form does not parse: %s (%s)\n", f1, err);
    abort();
  }
  if (rrule_format(&r2, f2, sizeof f2) || strcmp(f1, f2)) {
    fprintf(stderr, "format not a fixed point: %s / %s\n", f1, f2);
    abort();
  }
  if (zone) {
    tz_local start = {2026, 1, 5, 13, 30, 0};
    rrule_exdate ex = {{2026, 1, 12, 13, 30, 0}, 0};
    int n = 0;
    rrule ru;
    (void)rrule_expand(&r, &start, zone, &ex, 1, 1767225600, 1767225600 + 366 * 86400,
                       count_occ, &n);
    rrule_until_to_utc(&r, zone, &ru);
  }
  return 0;
}
