/*
 * model/tz -- IANA time zones read from the system's zoneinfo (TZif files,
 * RFC 8536, versions 1 to 4) by our own bounded reader.
 *
 * A schedule's start is a wall-clock time at a site ("13:30 in Brussels"),
 * so expanding it needs the zone's UTC offset on every date, for any zone,
 * on any thread.  localtime() and the TZ variable are process-wide state,
 * so this module never touches them: a tz handle is immutable once loaded
 * and may be shared by any number of threads.  The zoneinfo directory is a
 * parameter (Android keeps its zones elsewhere).  Times after a file's last
 * transition follow the POSIX TZ rule in the file's footer, so 2040 is as
 * right as 2026.
 *
 * Must never: read TZ or call localtime/mktime; read a file outside the
 * zoneinfo directory (zone names are checked); trust a count in a file
 * before checking it against the file's size.
 *
 * Times here are int64_t seconds (names ending in _s): UTC seconds since
 * the Unix epoch, or "local seconds" (the same count for a wall-clock
 * time read as if it were UTC; see tz_local_seconds()).
 */
#ifndef STEK_MODEL_TZ_H
#define STEK_MODEL_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_MAX_NAME 128            /* bytes of a zone name, without NUL */
#define TZ_MAX_FILE_BYTES (1 << 20) /* a real TZif file is a few KiB */
#define TZ_MAX_ABBR 15             /* bytes of an abbreviation kept */

typedef struct tz tz;

/* A wall-clock date and time (proleptic Gregorian, year 1..9999). */
typedef struct tz_local {
  int year, month, day;     /* month 1..12, day 1..31 */
  int hour, minute, second; /* 0..23, 0..59, 0..59 */
} tz_local;

/* What is in force at an instant. */
typedef struct tz_info {
  int32_t utoff_s; /* seconds east of UTC: +3600 for CET */
  int isdst;
  char abbr[TZ_MAX_ABBR + 1]; /* "CET", "CEST", "+03" */
} tz_info;

/* One change of offset, abbreviation or DST flag. */
typedef struct tz_transition {
  int64_t utc_s;  /* the first second of the new rule */
  tz_info before, after;
} tz_transition;

/* 0 if name is a safe zone name ("Europe/Brussels", "Etc/GMT+1"):
 * 1..TZ_MAX_NAME bytes of [A-Za-z0-9_+-/], no leading '/', no empty, "."
 * or ".." component.  STEK_EINVAL otherwise. */
int tz_name_check(const char *name);

/* Load zone name from dir (NULL: TZ_DEFAULT_DIR).  STEK_EINVAL for a bad
 * name, STEK_ENOTFOUND if there is no such file, STEK_EMALFORMED if it is
 * not a well-formed TZif file, STEK_ENOMEM.  err (may be NULL) receives a
 * one-line reason on failure. */
int tz_load(const char *dir, const char *name, tz **out, char *err, size_t errcap);

/* Parse TZif bytes (what tz_load reads; also the fuzzing entry point).
 * name is only remembered (may be NULL). */
int tz_parse(const uint8_t *buf, size_t len, const char *name, tz **out, char *err,
             size_t errcap);

void tz_free(tz *z);
const char *tz_name(const tz *z);

/* What is in force at UTC instant utc_s. */
void tz_info_at(const tz *z, int64_t utc_s, tz_info *out);
static inline int32_t tz_offset_at(const tz *z, int64_t utc_s) {
  tz_info i;
  tz_info_at(z, utc_s, &i);
  return i.utoff_s;
}

/*
 * The UTC instant of a wall-clock time (local seconds); *utoff_s gets the
 * offset used, so utc = local - *utoff_s.  The rule (python-dateutil's
 * tz.gettz zones, which the recurrence tests compare against): a transition
 * takes effect when the wall clock *as it ran before the transition* reaches
 * it.  Hence:
 *   - a time in the spring gap (02:30 on the last Sunday of March in
 *     Brussels) keeps its wall time and takes the new offset: 02:30+02:00,
 *     i.e. 00:30 UTC;
 *   - a time in the autumn overlap (02:30 on the last Sunday of October)
 *     is the first of the two, still in summer time: 02:30+02:00.
 * (For a non-DST shift of the standard offset dateutil's answer can differ
 * inside the gap; no zone of ours does that in the years that matter.)
 */
int64_t tz_local_to_utc(const tz *z, int64_t local_s, int32_t *utoff_s);
/* (local_s is clamped to years 1..9999 first, so no input overflows.) */

/* The transitions with utc_s in [from_s, to_s), in order: up to cap of them
 * into out (may be NULL if cap is 0), *n = how many there are in all (more
 * than cap: call again with a larger buffer).  Years are clamped to
 * 1..9999.  For VTIMEZONE generation. */
void tz_transitions(const tz *z, int64_t from_s, int64_t to_s, tz_transition *out,
                    size_t cap, size_t *n);

/* ---- civil calendar arithmetic (proleptic Gregorian) ---- */

/* Days since 1970-01-01 of a date (month 1..12). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
/* The date of a day count. */
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* 0 = Monday .. 6 = Sunday. */
int tz_weekday(int64_t days);
int tz_is_leap(int64_t y);
int tz_month_days(int64_t y, int m);
/* 1 if t is a valid date-time in years 1..9999. */
int tz_local_valid(const tz_local *t);
/* Local seconds of a wall-clock time, and back. */
int64_t tz_local_seconds(const tz_local *t);
void tz_local_from_seconds(int64_t local_s, tz_local *t);

#endif
