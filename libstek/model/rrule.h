/*
 * model/rrule -- RFC 5545 recurrence rules: parse, format, expand.
 *
 * A schedule entry recurs by an RRULE ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH")
 * from a DTSTART that is a wall-clock time in the site's zone.  Expansion
 * keeps the wall-clock time (13:30 stays 13:30 in summer and in winter) and
 * gives each occurrence's UTC offset and instant.  It agrees with
 * python-dateutil's rrule (tests/test_rrule_dateutil.py checks it):
 *   - an occurrence is a day the rule's BYxxx parts select in each period
 *     (year, month, week from WKST, day), at DTSTART's time; days before
 *     DTSTART are not occurrences and do not count;
 *   - DTSTART is an occurrence only if the rule selects it (dateutil; RFC
 *     5545 would count it anyway, so the iCalendar export, model/ics.c,
 *     writes the first occurrence as DTSTART);
 *   - COUNT counts from DTSTART whatever the window, and EXDATEs are removed
 *     after COUNT has been applied (they use up their place in the count);
 *   - UNTIL in UTC form bounds the UTC instant, in date form the local date,
 *     in floating form the wall-clock time; all inclusive;
 *   - wall-clock times in a DST gap or overlap resolve as tz_local_to_utc()
 *     says.
 *
 * Supported: FREQ=DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL, COUNT, UNTIL,
 * BYMONTH, BYMONTHDAY (+-1..31), BYDAY (with ordinals +-1..5 for MONTHLY,
 * +-1..53 for YEARLY), BYSETPOS, WKST.  Refused with a reason: anything
 * else (BYHOUR, BYWEEKNO, ..., SECONDLY..HOURLY).
 *
 * Must never: loop without bound on a hostile rule (COUNT, INTERVAL and
 * the number of periods walked are capped), or allocate more than the
 * caller's EXDATE list.
 */
#ifndef STEK_MODEL_RRULE_H
#define STEK_MODEL_RRULE_H

#include <stddef.h>
#include <stdint.h>

#include "model/tz.h"

#define RRULE_MAX_TEXT 512        /* bytes of an RRULE value */
#define RRULE_MAX_COUNT 10000     /* COUNT=1..this */
#define RRULE_MAX_INTERVAL 1000   /* INTERVAL=1..this */
#define RRULE_MAX_LIST 64         /* entries of one BYxxx list */
#define RRULE_MAX_EXDATES 100000  /* EXDATEs one expansion takes */
#define RRULE_MAX_PERIODS 4000000 /* periods one expansion may walk */

enum { RRULE_DAILY = 1, RRULE_WEEKLY, RRULE_MONTHLY, RRULE_YEARLY };
enum { RRULE_UNTIL_NONE = 0, RRULE_UNTIL_DATE, RRULE_UNTIL_UTC, RRULE_UNTIL_LOCAL };

typedef struct rrule_day {
  int8_t n;   /* ordinal: 0 = every such weekday, 2 = the second, -1 = the last */
  uint8_t wd; /* 0 = MO .. 6 = SU */
} rrule_day;

typedef struct rrule {
  int freq;
  int interval;       /* >= 1 */
  int count;          /* 0 = no COUNT */
  int until_kind;     /* RRULE_UNTIL_* */
  tz_local until;     /* the date (time 00:00:00), UTC or local date-time */
  int wkst;           /* 0 = MO .. 6 = SU */
  uint16_t bymonth;   /* bit m (1..12) set: month m selected; 0 = none given */
  size_t n_byday, n_bymonthday, n_bysetpos;
  rrule_day byday[RRULE_MAX_LIST];       /* sorted, no duplicates */
  int8_t bymonthday[RRULE_MAX_LIST];     /* sorted, no duplicates */
  int16_t bysetpos[RRULE_MAX_LIST];      /* sorted, no duplicates */
} rrule;

/* Parse an RRULE value (an optional "RRULE:" prefix is accepted; names
 * are case-insensitive).  STEK_EINVAL with a one-line reason in err (may be
 * NULL) for anything malformed, out of range, unsupported or contradictory
 * (COUNT with UNTIL, ordinals in BYDAY of a WEEKLY rule, ...). */
int rrule_parse(const char *text, rrule *out, char *err, size_t errcap);

/* Write r canonically (for iCalendar export and for storing): parts in the
 * order FREQ, INTERVAL (if not 1), COUNT or UNTIL, BYMONTH, BYMONTHDAY,
 * BYDAY, BYSETPOS, WKST (if not MO); lists sorted; upper case.  Two rules
 * that parse the same format the same.  STEK_ETOOBIG if cap is too small
 * (RRULE_MAX_TEXT always suffices), else STEK_OK. */
int rrule_format(const rrule *r, char *out, size_t cap);

/* The same rule with a DATE or floating UNTIL turned into the UTC form
 * that means the same in zone z (a DATE: the end of that local day).  RFC
 * 5545 wants UNTIL in UTC when DTSTART has a TZID, so export uses this. */
void rrule_until_to_utc(const rrule *r, const tz *z, rrule *out);

/* "YYYY-MM-DDTHH:MM:SS" (or "...THH:MM") and "YYYY-MM-DD" (time 00:00:00,
 * *date_only = 1).  STEK_EINVAL if malformed or not a real date-time.
 * date_only may be NULL, then a date alone is refused. */
int rrule_parse_local(const char *text, tz_local *out, int *date_only);

/* An EXDATE: one occurrence (its local date-time), or every occurrence on a
 * local date (whole_day). */
typedef struct rrule_exdate {
  tz_local at;
  int whole_day;
} rrule_exdate;

typedef struct rrule_occ {
  tz_local local;   /* wall-clock time in the zone */
  int32_t utoff_s;  /* its UTC offset, seconds east */
  int64_t utc_s;    /* local - utoff */
  uint32_t index;   /* 0 for the first occurrence from DTSTART, counting
                       cancelled ones (the position COUNT counts) */
} rrule_occ;

/* Return 0 to go on, non-zero to stop (rrule_expand then returns it). */
typedef int (*rrule_occ_cb)(void *ctx, const rrule_occ *o);

/* Call cb, in order, for each occurrence of rule r (NULL: the single
 * occurrence at dtstart) from dtstart in zone z, less the EXDATEs, whose
 * UTC instant is in [from_s, to_s).  STEK_OK; STEK_EINVAL if dtstart (or an
 * EXDATE) is not a valid date-time or n_ex > RRULE_MAX_EXDATES;
 * STEK_ETOOBIG if more than RRULE_MAX_PERIODS periods would be walked;
 * STEK_ENOMEM; or what cb returned. */
int rrule_expand(const rrule *r, const tz_local *dtstart, const tz *z,
                 const rrule_exdate *ex, size_t n_ex, int64_t from_s, int64_t to_s,
                 rrule_occ_cb cb, void *ctx);

/* Format an occurrence as "2026-03-05T13:30:00+01:00" (26 bytes + NUL). */
void rrule_occ_iso(const rrule_occ *o, char out[32]);

#endif
