/* model/tz: time zones from TZif files, without the process's TZ. */
#include <pthread.h>

#include "model/rrule.h"
#include "model/tz.h"
#include "test.h"

/* UTC seconds of a UTC date-time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s) {
  tz_local t = {y, mo, d, h, mi, s};
  return tz_local_seconds(&t);
}

static tz *brussels(void) {
  tz *z = NULL;
  char err[128];
  if (tz_load(NULL, "Europe/Brussels", &z, err, sizeof err)) {
    fprintf(stderr, "  cannot load Europe/Brussels: %s\n", err);
    return NULL;
  }
  return z;
}

static void test_brussels_springs_forward_on_the_last_sunday_of_march_2026(void) {
  tz *z = brussels();
  CHECK(z);
  tz_info i;
  tz_info_at(z, utc(2026, 3, 29, 0, 59, 59), &i);
  CHECK(i.utoff_s == 3600 && !i.isdst && !strcmp(i.abbr, "CET"));
  tz_info_at(z, utc(2026, 3, 29, 1, 0, 0), &i);
  CHECK(i.utoff_s == 7200 && i.isdst && !strcmp(i.abbr, "CEST"));
  tz_free(z);
}

static void test_brussels_falls_back_on_the_last_sunday_of_october_2026(void) {
  tz *z = brussels();
  CHECK(z);
  CHECK(tz_offset_at(z, utc(2026, 10, 25, 0, 59, 59)) == 7200);
  CHECK(tz_offset_at(z, utc(2026, 10, 25, 1, 0, 0)) == 3600);
  CHECK(tz_offset_at(z, utc(2026, 7, 1, 12, 0, 0)) == 7200);
  CHECK(tz_offset_at(z, utc(2026, 12, 24, 12, 0, 0)) == 3600);
  tz_free(z);
}

/* 2040 lies past the file's table of transitions: the footer rule
 * "CET-1CEST,M3.5.0,M10.5.0/3" decides. */
static void test_brussels_2040_follows_the_footer_rule(void) {
  tz *z = brussels();
  CHECK(z);
  CHECK(tz_offset_at(z, utc(2040, 3, 25, 0, 59, 59)) == 3600); /* last Sunday: 25th */
  CHECK(tz_offset_at(z, utc(2040, 3, 25, 1, 0, 0)) == 7200);
  CHECK(tz_offset_at(z, utc(2040, 10, 28, 0, 59, 59)) == 7200); /* last Sunday: 28th */
  CHECK(tz_offset_at(z, utc(2040, 10, 28, 1, 0, 0)) == 3600);
  tz_transition tr[4];
  size_t n;
  tz_transitions(z, utc(2040, 1, 1, 0, 0, 0), utc(2041, 1, 1, 0, 0, 0), tr, 4, &n);
  CHECK(n == 2);
  CHECK(tr[0].utc_s == utc(2040, 3, 25, 1, 0, 0));
  CHECK(tr[0].before.utoff_s == 3600 && tr[0].after.utoff_s == 7200);
  CHECK(!strcmp(tr[0].before.abbr, "CET") && !strcmp(tr[0].after.abbr, "CEST"));
  CHECK(tr[1].utc_s == utc(2040, 10, 28, 1, 0, 0) && tr[1].after.utoff_s == 3600);
  tz_free(z);
}

static void test_transitions_of_2026_for_vtimezone(void) {
  tz *z = brussels();
  CHECK(z);
  tz_transition tr[1];
  size_t n;
  tz_transitions(z, utc(2026, 1, 1, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0), tr, 1, &n);
  CHECK(n == 2); /* only one fits, both are counted */
  CHECK(tr[0].utc_s == utc(2026, 3, 29, 1, 0, 0) && tr[0].after.isdst);
  tz_transitions(z, utc(2000, 1, 1, 0, 0, 0), utc(2050, 1, 1, 0, 0, 0), NULL, 0, &n);
  CHECK(n == 100);
  tz_free(z);
}

static int64_t local(int y, int mo, int d, int h, int mi) {
  tz_local t = {y, mo, d, h, mi, 0};
  return tz_local_seconds(&t);
}

/* The spring gap keeps the wall time and takes summer time (dateutil). */
static void test_a_time_in_the_spring_gap_takes_the_summer_offset(void) {
  tz *z = brussels();
  CHECK(z);
  int32_t off;
  CHECK(tz_local_to_utc(z, local(2026, 3, 29, 1, 59), &off) == utc(2026, 3, 29, 0, 59, 0));
  CHECK(off == 3600);
  CHECK(tz_local_to_utc(z, local(2026, 3, 29, 2, 30), &off) == utc(2026, 3, 29, 0, 30, 0));
  CHECK(off == 7200);
  CHECK(tz_local_to_utc(z, local(2026, 3, 29, 3, 0), &off) == utc(2026, 3, 29, 1, 0, 0));
  CHECK(off == 7200);
  tz_free(z);
}

/* The autumn overlap resolves to the first of the two times (summer). */
static void test_a_time_in_the_autumn_overlap_is_the_first_one(void) {
  tz *z = brussels();
  CHECK(z);
  int32_t off;
  CHECK(tz_local_to_utc(z, local(2026, 10, 25, 2, 30), &off) == utc(2026, 10, 25, 0, 30, 0));
  CHECK(off == 7200);
  CHECK(tz_local_to_utc(z, local(2026, 10, 25, 3, 0), &off) == utc(2026, 10, 25, 2, 0, 0));
  CHECK(off == 3600);
  /* the same in 2040, from the footer rule */
  CHECK(tz_local_to_utc(z, local(2040, 10, 28, 2, 30), &off) == utc(2040, 10, 28, 0, 30, 0));
  CHECK(tz_local_to_utc(z, local(2040, 3, 25, 2, 30), &off) == utc(2040, 3, 25, 0, 30, 0));
  CHECK(off == 7200);
  tz_free(z);
}

static void test_bad_zone_names_are_refused(void) {
  static const char *bad[] = {"../../etc/passwd", "/etc/passwd", "Europe/../../x",
                              "Europe//Brussels", "Europe/Brussels/", "", "Europe/Br\xc3\xbcssel",
                              "Europe/Brussels\n", "a b", "Europe/.", "..", "Europe\\Brussels"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tz *z = (tz *)1;
    char err[128] = "";
    CHECK_RC(tz_name_check(bad[i]), STEK_EINVAL);
    CHECK_RC(tz_load(NULL, bad[i], &z, err, sizeof err), STEK_EINVAL);
    CHECK(z == NULL && strstr(err, "name"));
  }
  CHECK_RC(tz_name_check(NULL), STEK_EINVAL);
  char longname[TZ_MAX_NAME + 2];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  CHECK_RC(tz_name_check(longname), STEK_EINVAL);
  CHECK_OK(tz_name_check("Europe/Brussels"));
  CHECK_OK(tz_name_check("Etc/GMT+1"));
  CHECK_OK(tz_name_check("America/Port-au-Prince"));
}

static void test_a_missing_zone_is_not_found(void) {
  tz *z;
  CHECK_RC(tz_load(NULL, "Europe/Atlantis", &z, NULL, 0), STEK_ENOTFOUND);
  CHECK_RC(tz_load(NULL, "Europe", &z, NULL, 0), STEK_ENOTFOUND); /* a directory */
}

/* Read a file whole (test helper). */
static size_t slurp(const char *path, uint8_t *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

static int spill(const char *path, const uint8_t *buf, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(buf, 1, n, f);
  return fclose(f) || w != n ? -1 : 0;
}

/* The zoneinfo directory is a parameter (Android keeps zones elsewhere). */
static void test_the_zoneinfo_directory_is_a_parameter(void) {
  static uint8_t buf[65536];
  size_t n = slurp(TZ_DEFAULT_DIR "/Europe/Brussels", buf, sizeof buf);
  CHECK(n > 0);
  test_dir d;
  test_dir_make(&d);
  char path[700];
  test_dir_file(&d, "Site", path, sizeof path);
  mkdir(path, 0700);
  test_dir_file(&d, "Site/Zone", path, sizeof path);
  CHECK(spill(path, buf, n) == 0);
  tz *z = NULL;
  int rc = tz_load(d.path, "Site/Zone", &z, NULL, 0);
  test_dir_remove(&d);
  CHECK_OK(rc);
  CHECK(!strcmp(tz_name(z), "Site/Zone"));
  CHECK(tz_offset_at(z, utc(2026, 7, 1, 0, 0, 0)) == 7200);
  tz_free(z);
}

static void test_a_damaged_file_is_malformed(void) {
  static uint8_t good[65536], buf[65536];
  size_t n = slurp(TZ_DEFAULT_DIR "/Europe/Brussels", good, sizeof good);
  CHECK(n > 100);
  test_dir d;
  test_dir_make(&d);
  char path[700];
  test_dir_file(&d, "Bad", path, sizeof path);
  int rc_trunc, rc_garbage, rc_counts, rc_empty;
  tz *z = NULL;
  /* cut short */
  spill(path, good, n / 2);
  rc_trunc = tz_load(d.path, "Bad", &z, NULL, 0);
  /* not TZif at all */
  spill(path, (const uint8_t *)"Europe/Brussels\n", 16);
  rc_garbage = tz_load(d.path, "Bad", &z, NULL, 0);
  /* a header claiming 2^32-1 transitions */
  memcpy(buf, good, n);
  memset(buf + 32, 0xff, 4);
  spill(path, buf, n);
  char err[128] = "";
  rc_counts = tz_load(d.path, "Bad", &z, err, sizeof err);
  spill(path, buf, 0);
  rc_empty = tz_load(d.path, "Bad", &z, NULL, 0);
  test_dir_remove(&d);
  CHECK_RC(rc_trunc, STEK_EMALFORMED);
  CHECK_RC(rc_garbage, STEK_EMALFORMED);
  CHECK_RC(rc_counts, STEK_EMALFORMED);
  CHECK(strstr(err, "size"));
  CHECK_RC(rc_empty, STEK_EMALFORMED);
  CHECK(z == NULL);
}

/* Random damage never crashes (ASan watches); it parses or is refused. */
static void test_random_damage_never_crashes(void) {
  static uint8_t good[65536], buf[65536];
  size_t n = slurp(TZ_DEFAULT_DIR "/Europe/Brussels", good, sizeof good);
  CHECK(n > 100);
  uint32_t seed = 12345;
  for (int round = 0; round < 3000; round++) {
    memcpy(buf, good, n);
    size_t len = n;
    int flips = 1 + round % 8;
    for (int k = 0; k < flips; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (seed >> 8) % n;
      seed = seed * 1103515245u + 12345u;
      buf[at] = (uint8_t)(seed >> 16);
    }
    if (round % 5 == 0) len = (seed >> 4) % n;
    tz *z = NULL;
    int rc = tz_parse(buf, len, "x", &z, NULL, 0);
    CHECK(rc == STEK_OK || rc == STEK_EMALFORMED || rc == STEK_EINVAL);
    if (rc == STEK_OK) {
      int32_t off;
      (void)tz_offset_at(z, utc(2026, 3, 29, 1, 0, 0));
      (void)tz_local_to_utc(z, local(2040, 3, 25, 2, 30), &off);
      size_t nt;
      tz_transitions(z, round ? utc(1900, 1, 1, 0, 0, 0) : INT64_MIN,
                     round ? utc(2100, 1, 1, 0, 0, 0) : INT64_MAX, NULL, 0, &nt);
      tz_free(z);
    }
  }
}

/* A version 1 file (32-bit times, no footer): the last type lasts. */
static void test_a_version_1_file_is_read(void) {
  static uint8_t buf[65536];
  size_t n = slurp(TZ_DEFAULT_DIR "/Europe/Brussels", buf, sizeof buf);
  CHECK(n > 100 && buf[4] >= '2');
  buf[4] = 0; /* read as version 1: only its first, 32-bit block */
  tz *z = NULL;
  CHECK_OK(tz_parse(buf, n, "v1", &z, NULL, 0));
  CHECK(tz_offset_at(z, utc(2026, 3, 29, 0, 59, 59)) == 3600);
  CHECK(tz_offset_at(z, utc(2026, 3, 29, 1, 0, 0)) == 7200);
  CHECK(tz_offset_at(z, utc(2040, 7, 1, 0, 0, 0)) == 3600); /* no rule after 2037 */
  tz_free(z);
}

/* A TZif v2 file with no transitions, one type and the given footer. */
static size_t tzif_with_footer(uint8_t *buf, const char *footer) {
  size_t n = 0;
  for (int block = 0; block < 2; block++) {
    memcpy(buf + n, "TZif2", 5);
    memset(buf + n + 5, 0, 39);
    buf[n + 39] = 1; /* typecnt */
    buf[n + 43] = 4; /* charcnt */
    n += 44;
    memset(buf + n, 0, 6); /* utoff 0, isdst 0, desigidx 0 */
    n += 6;
    memcpy(buf + n, "UTC", 4);
    n += 4;
  }
  buf[n++] = '\n';
  memcpy(buf + n, footer, strlen(footer));
  n += strlen(footer);
  buf[n++] = '\n';
  return n;
}

static void test_footer_rules_in_all_three_date_forms(void) {
  uint8_t buf[256];
  tz *z;
  /* Mm.w.d with /time: the US rule, second Sunday of March 2027 = 14th */
  CHECK_OK(tz_parse(buf, tzif_with_footer(buf, "EST5EDT,M3.2.0,M11.1.0"), NULL, &z, NULL, 0));
  CHECK(tz_offset_at(z, utc(2027, 3, 14, 6, 59, 59)) == -5 * 3600);
  CHECK(tz_offset_at(z, utc(2027, 3, 14, 7, 0, 0)) == -4 * 3600);
  CHECK(tz_offset_at(z, utc(2027, 11, 7, 5, 59, 59)) == -4 * 3600);
  CHECK(tz_offset_at(z, utc(2027, 11, 7, 6, 0, 0)) == -5 * 3600);
  tz_free(z);
  /* Jn ignores Feb 29: J60 is March 1st even in 2028 */
  CHECK_OK(tz_parse(buf, tzif_with_footer(buf, "AAA-1BBB,J60,J300"), NULL, &z, NULL, 0));
  CHECK(tz_offset_at(z, utc(2028, 3, 1, 0, 59, 59)) == 3600);
  CHECK(tz_offset_at(z, utc(2028, 3, 1, 1, 0, 0)) == 7200);
  tz_free(z);
  /* n counts from zero and includes Feb 29: 59 is Feb 29 in 2028 */
  CHECK_OK(tz_parse(buf, tzif_with_footer(buf, "AAA-1BBB,59,299"), NULL, &z, NULL, 0));
  CHECK(tz_offset_at(z, utc(2028, 2, 29, 0, 59, 59)) == 3600);
  CHECK(tz_offset_at(z, utc(2028, 2, 29, 1, 0, 0)) == 7200);
  CHECK(tz_offset_at(z, utc(2027, 3, 1, 1, 0, 0)) == 7200); /* day 59 of 2027 */
  tz_free(z);
  /* negative times (version 3), quoted names: Nuuk's rule since 2023 */
  CHECK_OK(tz_parse(buf, tzif_with_footer(buf, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0"), NULL, &z,
                    NULL, 0));
  tz_info i;
  tz_info_at(z, utc(2026, 3, 29, 0, 59, 59), &i); /* Sat 23:00 -02 = Sun 01:00Z */
  CHECK(i.utoff_s == -7200 && !strcmp(i.abbr, "-02"));
  tz_info_at(z, utc(2026, 3, 29, 1, 0, 0), &i);
  CHECK(i.utoff_s == -3600 && !strcmp(i.abbr, "-01") && i.isdst);
  tz_free(z);
  /* a fixed zone */
  CHECK_OK(tz_parse(buf, tzif_with_footer(buf, "<+0530>-5:30"), NULL, &z, NULL, 0));
  CHECK(tz_offset_at(z, utc(2031, 6, 1, 0, 0, 0)) == 5 * 3600 + 1800);
  tz_free(z);
  /* nonsense footers */
  static const char *bad[] = {"CET-1CEST", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0",
                              "CE-1", "CET-1CEST,J0,J300", "CET-1CEST,M3.5.0/200,M10.5.0",
                              "CET-25", "CET-1CEST,M3.5.0,M10.5.0x"};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    z = NULL;
    CHECK_RC(tz_parse(buf, tzif_with_footer(buf, bad[k]), NULL, &z, NULL, 0), STEK_EMALFORMED);
    CHECK(z == NULL);
  }
}

/* ---- two threads, two zones ---- */

typedef struct job {
  const char *zone;
  int64_t at;          /* a UTC instant */
  int32_t want_offset; /* its offset in zone */
  int64_t occ_sum;     /* sum of UTC instants of a year of weekly 13:30 */
  int ok;
} job;

static int sum_occ(void *ctx, const rrule_occ *o) {
  *(int64_t *)ctx += o->utc_s;
  return 0;
}

static int64_t weekly_sum(const tz *z) {
  rrule r;
  tz_local start = {2026, 1, 1, 13, 30, 0};
  int64_t sum = 0;
  if (rrule_parse("FREQ=WEEKLY;BYDAY=TH", &r, NULL, 0)) return -1;
  if (rrule_expand(&r, &start, z, NULL, 0, utc(2026, 1, 1, 0, 0, 0),
                   utc(2027, 1, 1, 0, 0, 0), sum_occ, &sum)) return -1;
  return sum;
}

static void *run_job(void *arg) {
  job *j = arg;
  j->ok = 1;
  for (int k = 0; k < 200 && j->ok; k++) {
    tz *z = NULL;
    if (tz_load(NULL, j->zone, &z, NULL, 0)) {
      j->ok = 0;
      break;
    }
    if (tz_offset_at(z, j->at) != j->want_offset) j->ok = 0;
    if (k % 20 == 0 && weekly_sum(z) != j->occ_sum) j->ok = 0;
    tz_free(z);
  }
  return NULL;
}

static void test_two_threads_with_two_zones_do_not_interfere(void) {
  tz *b = brussels(), *t = NULL;
  CHECK(b);
  CHECK_OK(tz_load(NULL, "Asia/Tokyo", &t, NULL, 0));
  job jobs[2] = {{"Europe/Brussels", utc(2026, 7, 1, 0, 0, 0), 7200, weekly_sum(b), 0},
                 {"Asia/Tokyo", utc(2026, 7, 1, 0, 0, 0), 9 * 3600, weekly_sum(t), 0}};
  CHECK(jobs[0].occ_sum != jobs[1].occ_sum);
  tz_free(b);
  tz_free(t);
  pthread_t th[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  CHECK(jobs[0].ok && jobs[1].ok);
}

static void test_calendar_arithmetic_round_trips(void) {
  for (int64_t d = tz_days_from_civil(1, 1, 1); d < tz_days_from_civil(10000, 1, 1); d += 97) {
    int64_t y;
    int m, md;
    tz_civil_from_days(d, &y, &m, &md);
    CHECK(tz_days_from_civil(y, m, md) == d);
  }
  CHECK(tz_weekday(tz_days_from_civil(2026, 3, 5)) == 3); /* a Thursday */
  CHECK(tz_weekday(tz_days_from_civil(1970, 1, 1)) == 3);
  CHECK(tz_month_days(2028, 2) == 29 && tz_month_days(2100, 2) == 28);
}

int main(void) {
  RUN(test_brussels_springs_forward_on_the_last_sunday_of_march_2026);
  RUN(test_brussels_falls_back_on_the_last_sunday_of_october_2026);
  RUN(test_brussels_2040_follows_the_footer_rule);
  RUN(test_transitions_of_2026_for_vtimezone);
  RUN(test_a_time_in_the_spring_gap_takes_the_summer_offset);
  RUN(test_a_time_in_the_autumn_overlap_is_the_first_one);
  RUN(test_bad_zone_names_are_refused);
  RUN(test_a_missing_zone_is_not_found);
  RUN(test_the_zoneinfo_directory_is_a_parameter);
  RUN(test_a_damaged_file_is_malformed);
  RUN(test_random_damage_never_crashes);
  RUN(test_a_version_1_file_is_read);
  RUN(test_footer_rules_in_all_three_date_forms);
  RUN(test_two_threads_with_two_zones_do_not_interfere);
  RUN(test_calendar_arithmetic_round_trips);
  return test_report();
}
