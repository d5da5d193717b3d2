/* model/rrule: RFC 5545 recurrence rules, parsed, formatted, expanded. */
#include "model/rrule.h"
#include "model/tz.h"
#include "test.h"

/* ---- parsing ---- */

/* rrule_parse must refuse text with STEK_EINVAL and a reason containing
 * want. */
static int refuses(const char *text, const char *want) {
  rrule r;
  char err[200] = "";
  int rc = rrule_parse(text, &r, err, sizeof err);
  if (rc != STEK_EINVAL || !strstr(err, want)) {
    fprintf(stderr, "  \"%s\": rc %d, message \"%s\", wanted \"%s\"\n", text, rc, err, want);
    return 0;
  }
  return 1;
}

static void test_parse_errors_say_what_is_wrong(void) {
  CHECK(refuses("", "empty"));
  CHECK(refuses("INTERVAL=2", "FREQ is required"));
  CHECK(refuses("FREQ=FORTNIGHTLY", "not a frequency"));
  CHECK(refuses("FREQ=HOURLY", "FREQ=HOURLY is not supported"));
  CHECK(refuses("FREQ=DAILY;FREQ=WEEKLY", "FREQ given twice"));
  CHECK(refuses("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"));
  CHECK(refuses("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO is not supported"));
  CHECK(refuses("FREQ=DAILY;X-COLOUR=red", "unknown rule part \"X-COLOUR\""));
  CHECK(refuses("FREQ=DAILY;;COUNT=2", "empty rule part"));
  CHECK(refuses("FREQ=DAILY;", "empty rule part"));
  CHECK(refuses("FREQ=DAILY;COUNT", "has no '='"));
  CHECK(refuses("FREQ=DAILY;COUNT=", "COUNT has no value"));
  CHECK(refuses("FREQ=DAILY;COUNT=0", "COUNT must be 1..10000"));
  CHECK(refuses("FREQ=DAILY;COUNT=10001", "COUNT must be"));
  CHECK(refuses("FREQ=DAILY;COUNT=99999999999999999999", "COUNT must be"));
  CHECK(refuses("FREQ=DAILY;COUNT=-3", "COUNT must be"));
  CHECK(refuses("FREQ=DAILY;INTERVAL=0", "INTERVAL must be 1..1000"));
  CHECK(refuses("FREQ=DAILY;INTERVAL=1001", "INTERVAL must be"));
  CHECK(refuses("FREQ=DAILY;COUNT=3;UNTIL=20260101", "COUNT and UNTIL exclude each other"));
  CHECK(refuses("FREQ=DAILY;UNTIL=20260230", "UNTIL must be"));
  CHECK(refuses("FREQ=DAILY;UNTIL=2026-01-01", "UNTIL must be"));
  CHECK(refuses("FREQ=DAILY;UNTIL=20260101T250000Z", "UNTIL must be"));
  CHECK(refuses("FREQ=WEEKLY;BYDAY=2TH", "ordinals (like 2TH) need FREQ=MONTHLY or YEARLY"));
  CHECK(refuses("FREQ=MONTHLY;BYDAY=6TH", "monthly BYDAY ordinal must be -5..5"));
  CHECK(refuses("FREQ=YEARLY;BYDAY=54MO", "BYDAY value \"54MO\" is not valid"));
  CHECK(refuses("FREQ=MONTHLY;BYDAY=0MO", "BYDAY value \"0MO\""));
  CHECK(refuses("FREQ=MONTHLY;BYDAY=TH,XX", "BYDAY value \"XX\""));
  CHECK(refuses("FREQ=MONTHLY;BYDAY=TH,", "BYDAY value \"\""));
  CHECK(refuses("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY value \"32\""));
  CHECK(refuses("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY value \"0\""));
  CHECK(refuses("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY value"));
  CHECK(refuses("FREQ=YEARLY;BYMONTH=13", "BYMONTH value \"13\""));
  CHECK(refuses("FREQ=YEARLY;BYMONTH=-1", "BYMONTH value"));
  CHECK(refuses("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS value"));
  CHECK(refuses("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367", "BYSETPOS value"));
  CHECK(refuses("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"));
  CHECK(refuses("FREQ=WEEKLY;WKST=XX", "WKST must be MO..SU"));
  /* bounded: long lists and long texts */
  char text[RRULE_MAX_TEXT + 64];
  strcpy(text, "FREQ=MONTHLY;BYMONTHDAY=1");
  for (int i = 0; i < 64; i++) strcat(text, ",2");
  CHECK(refuses(text, "more than 64 values"));
  memset(text, 'A', sizeof text - 1);
  text[sizeof text - 1] = 0;
  CHECK(refuses(text, "longer than"));
  CHECK_RC(rrule_parse(NULL, &(rrule){0}, NULL, 0), STEK_EINVAL);
}

static void test_format_is_canonical(void) {
  rrule r, again;
  char out[RRULE_MAX_TEXT], out2[RRULE_MAX_TEXT];
  CHECK_OK(rrule_parse("rrule:wkst=su;byday=th,tu,TU;interval=2;freq=weekly", &r, NULL, 0));
  CHECK_OK(rrule_format(&r, out, sizeof out));
  CHECK(!strcmp(out, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU"));
  static const char *const rules[] = {
      "FREQ=MONTHLY;BYDAY=-1FR",
      "FREQ=MONTHLY;COUNT=12;BYDAY=2TH",
      "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
      "FREQ=MONTHLY;UNTIL=20261231T225959Z;BYMONTHDAY=-1,1,15",
      "FREQ=MONTHLY;UNTIL=20261231;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
      "FREQ=DAILY;INTERVAL=3;UNTIL=20261231T120000",
      "FREQ=YEARLY;BYMONTH=1,7;BYDAY=-2MO,FR,1MO", /* by ordinal, then day */
  };
  for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
    CHECK_OK(rrule_parse(rules[i], &r, NULL, 0));
    CHECK_OK(rrule_format(&r, out, sizeof out));
    if (strcmp(out, rules[i])) fprintf(stderr, "  %s -> %s\n", rules[i], out);
    CHECK(!strcmp(out, rules[i]));
    CHECK_OK(rrule_parse(out, &again, NULL, 0));
    CHECK_OK(rrule_format(&again, out2, sizeof out2));
    CHECK(!strcmp(out, out2));
  }
  CHECK_RC(rrule_format(&r, out, 10), STEK_ETOOBIG);
  CHECK(out[0] == 0);
}

static void test_local_times_and_dates_parse(void) {
  tz_local t;
  int date_only = -1;
  CHECK_OK(rrule_parse_local("2026-03-05T13:30:00", &t, &date_only));
  CHECK(t.year == 2026 && t.month == 3 && t.day == 5 && t.hour == 13 && t.minute == 30 &&
        date_only == 0);
  CHECK_OK(rrule_parse_local("2026-03-05T13:30", &t, NULL));
  CHECK_OK(rrule_parse_local("2028-02-29", &t, &date_only));
  CHECK(date_only == 1 && t.day == 29 && t.hour == 0);
  CHECK_RC(rrule_parse_local("2026-03-05", &t, NULL), STEK_EINVAL);
  static const char *bad[] = {"2027-02-29", "2026-13-01", "2026-3-5", "2026-03-05T24:00:00",
                              "2026-03-05 13:30:00", "2026-03-05T13:30:00Z", "0000-01-01",
                              "2026-03-05T13:60", "", "2026-03-05T13:30:0"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK_RC(rrule_parse_local(bad[i], &t, &date_only), STEK_EINVAL);
}

/* ---- expansion ---- */

typedef struct got {
  int n;
  char iso[64][32];
  int64_t utc[64];
  uint32_t index[64];
} got;

static int keep(void *ctx, const rrule_occ *o) {
  got *g = ctx;
  if (g->n == 64) return 99;
  rrule_occ_iso(o, g->iso[g->n]);
  g->utc[g->n] = o->utc_s;
  g->index[g->n] = o->index;
  g->n++;
  return 0;
}

static int64_t at_utc(const tz *z, const char *local) {
  tz_local t;
  int date_only;
  if (rrule_parse_local(local, &t, &date_only)) return INT64_MIN;
  return tz_local_to_utc(z, tz_local_seconds(&t), NULL);
}

/* Expand rule from start over the local window [from, to) into g. */
static int expand(const char *rule, const char *start, const char *exdates, const char *from,
                  const char *to, got *g) {
  tz *z;
  int rc = tz_load(NULL, "Europe/Brussels", &z, NULL, 0);
  if (rc) return rc;
  rrule r;
  char err[200];
  tz_local s;
  rrule_exdate ex[8];
  size_t n_ex = 0;
  memset(g, 0, sizeof *g);
  if (rule && (rc = rrule_parse(rule, &r, err, sizeof err))) goto out;
  if ((rc = rrule_parse_local(start, &s, NULL))) goto out;
  for (const char *p = exdates; p && *p && n_ex < 8;) {
    char one[32];
    size_t len = strcspn(p, ",");
    snprintf(one, sizeof one, "%.*s", (int)len, p);
    if ((rc = rrule_parse_local(one, &ex[n_ex].at, &ex[n_ex].whole_day))) goto out;
    n_ex++;
    p += len + (p[len] == ',');
  }
  rc = rrule_expand(rule ? &r : NULL, &s, z, ex, n_ex, at_utc(z, from), at_utc(z, to), keep, g);
out:
  tz_free(z);
  return rc;
}

/* "Koffie & Formulieren": every other Thursday 13:30 stays 13:30 across the
 * change to summer time; only the offset moves. */
static void test_every_other_thursday_keeps_1330_across_march_dst(void) {
  got g;
  CHECK_OK(expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "2026-03-05T13:30:00", NULL,
                  "2026-03-01", "2026-04-20", &g));
  CHECK(g.n == 4);
  CHECK(!strcmp(g.iso[0], "2026-03-05T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[1], "2026-03-19T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[2], "2026-04-02T13:30:00+02:00"));
  CHECK(!strcmp(g.iso[3], "2026-04-16T13:30:00+02:00"));
  CHECK(g.utc[2] - g.utc[1] == 14 * 86400 - 3600); /* an hour less in UTC */
}

static void test_october_change_back_to_winter_time(void) {
  got g;
  CHECK_OK(expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "2026-03-05T13:30:00", NULL,
                  "2026-10-15", "2026-11-15", &g));
  CHECK(g.n == 3);
  CHECK(!strcmp(g.iso[0], "2026-10-15T13:30:00+02:00"));
  CHECK(!strcmp(g.iso[1], "2026-10-29T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[2], "2026-11-12T13:30:00+01:00"));
}

static void test_monthly_second_thursday(void) {
  got g;
  CHECK_OK(expand("FREQ=MONTHLY;BYDAY=2TH", "2026-01-08T13:30:00", NULL, "2026-01-01",
                  "2026-05-01", &g));
  CHECK(g.n == 4);
  CHECK(!strcmp(g.iso[0], "2026-01-08T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[1], "2026-02-12T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[2], "2026-03-12T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[3], "2026-04-09T13:30:00+02:00"));
}

static void test_monthly_last_friday(void) {
  got g;
  CHECK_OK(expand("FREQ=MONTHLY;BYDAY=-1FR", "2026-01-30T10:00:00", NULL, "2026-01-01",
                  "2026-05-01", &g));
  CHECK(g.n == 4);
  CHECK(!strcmp(g.iso[0], "2026-01-30T10:00:00+01:00"));
  CHECK(!strcmp(g.iso[1], "2026-02-27T10:00:00+01:00"));
  CHECK(!strcmp(g.iso[2], "2026-03-27T10:00:00+01:00"));
  CHECK(!strcmp(g.iso[3], "2026-04-24T10:00:00+02:00"));
}

static void test_monthly_last_day_of_the_month(void) {
  got g;
  CHECK_OK(expand("FREQ=MONTHLY;BYMONTHDAY=-1", "2026-01-31T18:00:00", NULL, "2026-01-01",
                  "2026-05-01", &g));
  CHECK(g.n == 4);
  CHECK(!strcmp(g.iso[0], "2026-01-31T18:00:00+01:00"));
  CHECK(!strcmp(g.iso[1], "2026-02-28T18:00:00+01:00"));
  CHECK(!strcmp(g.iso[2], "2026-03-31T18:00:00+02:00"));
  CHECK(!strcmp(g.iso[3], "2026-04-30T18:00:00+02:00"));
  CHECK_OK(expand("FREQ=MONTHLY;BYMONTHDAY=-1", "2026-01-31T18:00:00", NULL, "2028-02-01",
                  "2028-03-01", &g));
  CHECK(g.n == 1 && !strcmp(g.iso[0], "2028-02-29T18:00:00+01:00"));
}

/* Cancelled dates use up their place in COUNT (RFC 5545, dateutil). */
static void test_count_counts_cancelled_dates(void) {
  got g;
  CHECK_OK(expand("FREQ=WEEKLY;BYDAY=MO;COUNT=5", "2026-02-02T13:30:00",
                  "2026-02-09T13:30:00,2026-02-23", "2026-01-01", "2027-01-01", &g));
  CHECK(g.n == 3);
  CHECK(!strcmp(g.iso[0], "2026-02-02T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[1], "2026-02-16T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[2], "2026-03-02T13:30:00+01:00"));
  CHECK(g.index[0] == 0 && g.index[1] == 2 && g.index[2] == 4);
}

/* An EXDATE at another time of day cancels nothing. */
static void test_exdate_must_match_the_time(void) {
  got g;
  CHECK_OK(expand("FREQ=WEEKLY;BYDAY=MO;COUNT=2", "2026-02-02T13:30:00", "2026-02-09T13:00:00",
                  "2026-01-01", "2027-01-01", &g));
  CHECK(g.n == 2);
}

static void test_count_counts_from_dtstart_not_from_the_window(void) {
  got g;
  CHECK_OK(expand("FREQ=WEEKLY;BYDAY=MO;COUNT=5", "2026-02-02T13:30:00", NULL, "2026-02-20",
                  "2027-01-01", &g));
  CHECK(g.n == 2);
  CHECK(!strcmp(g.iso[0], "2026-02-23T13:30:00+01:00"));
  CHECK(!strcmp(g.iso[1], "2026-03-02T13:30:00+01:00"));
  CHECK(g.index[1] == 4);
}

/* UNTIL in UTC is inclusive: 09:00+02:00 is 07:00Z. */
static void test_until_utc_is_inclusive(void) {
  got g;
  CHECK_OK(expand("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T070000Z", "2026-06-02T09:00:00", NULL,
                  "2026-01-01", "2027-01-01", &g));
  CHECK(g.n == 5 && !strcmp(g.iso[4], "2026-06-30T09:00:00+02:00"));
  CHECK_OK(expand("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630T065959Z", "2026-06-02T09:00:00", NULL,
                  "2026-01-01", "2027-01-01", &g));
  CHECK(g.n == 4);
}

/* UNTIL as a date includes that whole local day. */
static void test_until_date_includes_the_day(void) {
  got g;
  CHECK_OK(expand("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630", "2026-06-02T21:00:00", NULL,
                  "2026-01-01", "2027-01-01", &g));
  CHECK(g.n == 5 && !strcmp(g.iso[4], "2026-06-30T21:00:00+02:00"));
  /* and exports as the UTC end of that day */
  rrule r, u;
  char out[RRULE_MAX_TEXT];
  tz *z;
  CHECK_OK(tz_load(NULL, "Europe/Brussels", &z, NULL, 0));
  CHECK_OK(rrule_parse("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260630", &r, NULL, 0));
  rrule_until_to_utc(&r, z, &u);
  tz_free(z);
  CHECK_OK(rrule_format(&u, out, sizeof out));
  CHECK(!strcmp(out, "FREQ=WEEKLY;UNTIL=20260630T215959Z;BYDAY=TU"));
}

static void test_a_whole_day_exdate_cancels_that_date(void) {
  got g;
  CHECK_OK(expand("FREQ=DAILY;COUNT=3", "2026-05-01T09:00:00", "2026-05-02", "2026-01-01",
                  "2027-01-01", &g));
  CHECK(g.n == 2 && !strcmp(g.iso[1], "2026-05-03T09:00:00+02:00"));
}

static void test_a_single_event_without_a_rule(void) {
  got g;
  CHECK_OK(expand(NULL, "2026-05-01T09:00:00", NULL, "2026-01-01", "2027-01-01", &g));
  CHECK(g.n == 1 && !strcmp(g.iso[0], "2026-05-01T09:00:00+02:00") && g.index[0] == 0);
  CHECK_OK(expand(NULL, "2026-05-01T09:00:00", "2026-05-01", "2026-01-01", "2027-01-01", &g));
  CHECK(g.n == 0);
  CHECK_OK(expand(NULL, "2026-05-01T09:00:00", NULL, "2026-06-01", "2027-01-01", &g));
  CHECK(g.n == 0);
}

/* A start in the spring gap keeps its wall time (dateutil's reading). */
static void test_a_daily_rule_through_the_gap_and_the_overlap(void) {
  got g;
  CHECK_OK(expand("FREQ=DAILY;COUNT=3", "2026-03-28T02:30:00", NULL, "2026-01-01", "2027-01-01",
                  &g));
  CHECK(g.n == 3);
  CHECK(!strcmp(g.iso[0], "2026-03-28T02:30:00+01:00"));
  CHECK(!strcmp(g.iso[1], "2026-03-29T02:30:00+02:00"));
  CHECK(!strcmp(g.iso[2], "2026-03-30T02:30:00+02:00"));
  CHECK_OK(expand("FREQ=DAILY;COUNT=3", "2026-10-24T02:30:00", NULL, "2026-01-01", "2027-01-01",
                  &g));
  CHECK(!strcmp(g.iso[1], "2026-10-25T02:30:00+02:00"));
  CHECK(!strcmp(g.iso[2], "2026-10-26T02:30:00+01:00"));
}

static void test_yearly_in_2040_uses_the_footer_rule(void) {
  got g;
  CHECK_OK(expand("FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU", "2026-03-29T13:30:00", NULL,
                  "2040-01-01", "2041-01-01", &g));
  CHECK(g.n == 2);
  CHECK(!strcmp(g.iso[0], "2040-03-25T13:30:00+02:00"));
  CHECK(!strcmp(g.iso[1], "2040-10-28T13:30:00+01:00"));
}

static void test_last_workday_with_bysetpos(void) {
  got g;
  CHECK_OK(expand("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "2026-01-01T16:00:00", NULL,
                  "2026-01-01", "2026-06-01", &g));
  CHECK(g.n == 5);
  CHECK(!strcmp(g.iso[0], "2026-01-30T16:00:00+01:00"));
  CHECK(!strcmp(g.iso[4], "2026-05-29T16:00:00+02:00"));
}

/* WKST decides which weeks an INTERVAL=2 rule keeps. */
static void test_wkst_matters_every_other_week(void) {
  got su, mo;
  CHECK_OK(expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU;WKST=SU", "2026-01-04T10:00:00", NULL,
                  "2026-01-01", "2026-01-31", &su));
  CHECK_OK(expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU;WKST=MO", "2026-01-04T10:00:00", NULL,
                  "2026-01-01", "2026-01-31", &mo));
  CHECK(su.n == 4 && mo.n == 4);
  CHECK(!strcmp(su.iso[1], "2026-01-06T10:00:00+01:00")); /* same week from Sunday */
  CHECK(!strcmp(mo.iso[1], "2026-01-13T10:00:00+01:00")); /* Sunday ended a week */
}

static int stop_at_two(void *ctx, const rrule_occ *o) {
  (void)o;
  return ++*(int *)ctx == 2 ? 42 : 0;
}

static void test_the_callback_can_stop_the_expansion(void) {
  tz *z;
  CHECK_OK(tz_load(NULL, "Europe/Brussels", &z, NULL, 0));
  rrule r;
  tz_local s = {2026, 1, 1, 9, 0, 0};
  int seen = 0;
  CHECK_OK(rrule_parse("FREQ=DAILY", &r, NULL, 0));
  int rc = rrule_expand(&r, &s, z, NULL, 0, INT64_MIN, INT64_MAX, stop_at_two, &seen);
  tz_free(z);
  CHECK(rc == 42 && seen == 2);
}

static int stop_with_one(void *ctx, const rrule_occ *o) {
  *(tz_local *)ctx = o->local;
  return 1;
}

/* 1 is also the walk's own "series over": the caller must still get it. */
static void test_the_callback_can_stop_the_expansion_with_one(void) {
  tz *z;
  CHECK_OK(tz_load(NULL, "Europe/Brussels", &z, NULL, 0));
  rrule r;
  tz_local s = {2026, 1, 1, 9, 0, 0}, first = {0};
  CHECK_OK(rrule_parse("FREQ=WEEKLY;BYDAY=MO", &r, NULL, 0));
  int rc = rrule_expand(&r, &s, z, NULL, 0, INT64_MIN, INT64_MAX, stop_with_one, &first);
  int monday = first.day;
  int rc_single = rrule_expand(NULL, &s, z, NULL, 0, INT64_MIN, INT64_MAX, stop_with_one,
                               &first);
  tz_free(z);
  CHECK(rc == 1 && monday == 5 && rc_single == 1);
}

static int count_all(void *ctx, const rrule_occ *o) {
  (void)o;
  ++*(long *)ctx;
  return 0;
}

/* Rules that never match, or an endless window, still end. */
static void test_hostile_rules_terminate(void) {
  tz *z;
  CHECK_OK(tz_load(NULL, "Europe/Brussels", &z, NULL, 0));
  rrule r;
  tz_local s = {2026, 1, 1, 9, 0, 0};
  long n = 0;
  CHECK_OK(rrule_parse("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", &r, NULL, 0));
  int rc1 = rrule_expand(&r, &s, z, NULL, 0, INT64_MIN, INT64_MAX, count_all, &n);
  CHECK_OK(rrule_parse("FREQ=YEARLY;INTERVAL=1000;COUNT=10000", &r, NULL, 0));
  int rc2 = rrule_expand(&r, &s, z, NULL, 0, INT64_MIN, INT64_MAX, count_all, &n);
  CHECK_OK(rrule_parse("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31;UNTIL=99991231", &r, NULL, 0));
  int rc3 = rrule_expand(&r, &s, z, NULL, 0, INT64_MIN, INT64_MAX, count_all, &n);
  tz_local bad = {2026, 2, 30, 9, 0, 0};
  int rc4 = rrule_expand(&r, &bad, z, NULL, 0, INT64_MIN, INT64_MAX, count_all, &n);
  rrule_exdate ex = {{2026, 2, 30, 0, 0, 0}, 1};
  int rc5 = rrule_expand(&r, &s, z, &ex, 1, INT64_MIN, INT64_MAX, count_all, &n);
  int rc6 = rrule_expand(&r, &s, z, &ex, RRULE_MAX_EXDATES + 1, 0, 0, count_all, &n);
  tz_free(z);
  CHECK_OK(rc1);
  CHECK_OK(rc2);
  CHECK_OK(rc3);
  CHECK(n == 8); /* years 2026, 3026, ... 9026 */
  CHECK_RC(rc4, STEK_EINVAL);
  CHECK_RC(rc5, STEK_EINVAL);
  CHECK_RC(rc6, STEK_EINVAL);
}

/* Random rule text built from real tokens: parses or is refused, never
 * crashes (ASan watches), and whatever parses formats and re-parses to the
 * same text. */
static uint32_t rnd(uint32_t *seed, uint32_t n) {
  *seed = *seed * 1103515245u + 12345u;
  return (*seed >> 16) % n;
}

static void test_random_rule_text_parses_or_is_refused(void) {
  static const char *const freq[] = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", ""};
  static const char *const name[] = {"INTERVAL", "COUNT",    "UNTIL", "BYDAY", "BYMONTHDAY",
                                     "BYMONTH",  "BYSETPOS", "WKST",  "FREQ",  "BYHOUR", "X"};
  static const char *const val[] = {"1",  "2",  "-1", "31", "-31", "12", "0",  "366",
                                    "MO", "TH", "SU", "2TH", "-1FR", "53MO", "+3WE",
                                    "20261231", "20261231T120000Z", "99999999", "", "x"};
  uint32_t seed = 7;
  int parsed = 0;
  for (int round = 0; round < 20000; round++) {
    char text[600];
    int len = snprintf(text, sizeof text, "%sFREQ=%s", rnd(&seed, 4) ? "" : "rrule:",
                       freq[rnd(&seed, 6)]);
    int parts = (int)rnd(&seed, 4);
    for (int k = 0; k < parts && len < 500; k++) {
      len += snprintf(text + len, sizeof text - (size_t)len, ";%s=%s", name[rnd(&seed, 11)],
                      val[rnd(&seed, 20)]);
      while (rnd(&seed, 3) == 0 && len < 500)
        len += snprintf(text + len, sizeof text - (size_t)len, ",%s", val[rnd(&seed, 20)]);
    }
    rrule r, again;
    char err[200], out[RRULE_MAX_TEXT], out2[RRULE_MAX_TEXT];
    int rc = rrule_parse(text, &r, err, sizeof err);
    CHECK(rc == STEK_OK || (rc == STEK_EINVAL && err[0]));
    if (rc) continue;
    parsed++;
    CHECK_OK(rrule_format(&r, out, sizeof out));
    CHECK_OK(rrule_parse(out, &again, NULL, 0));
    CHECK_OK(rrule_format(&again, out2, sizeof out2));
    CHECK(!strcmp(out, out2));
  }
  CHECK(parsed > 1000);
}

int main(void) {
  RUN(test_parse_errors_say_what_is_wrong);
  RUN(test_format_is_canonical);
  RUN(test_local_times_and_dates_parse);
  RUN(test_every_other_thursday_keeps_1330_across_march_dst);
  RUN(test_october_change_back_to_winter_time);
  RUN(test_monthly_second_thursday);
  RUN(test_monthly_last_friday);
  RUN(test_monthly_last_day_of_the_month);
  RUN(test_count_counts_cancelled_dates);
  RUN(test_exdate_must_match_the_time);
  RUN(test_count_counts_from_dtstart_not_from_the_window);
  RUN(test_until_utc_is_inclusive);
  RUN(test_until_date_includes_the_day);
  RUN(test_a_whole_day_exdate_cancels_that_date);
  RUN(test_a_single_event_without_a_rule);
  RUN(test_a_daily_rule_through_the_gap_and_the_overlap);
  RUN(test_yearly_in_2040_uses_the_footer_rule);
  RUN(test_last_workday_with_bysetpos);
  RUN(test_the_callback_can_stop_the_expansion_with_one);
  RUN(test_wkst_matters_every_other_week);
  RUN(test_the_callback_can_stop_the_expansion);
  RUN(test_hostile_rules_terminate);
  RUN(test_random_rule_text_parses_or_is_refused);
  return test_report();
}
