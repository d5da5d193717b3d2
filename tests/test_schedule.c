/* Schedule entries: checked writes, cancelled dates as a set that merges,
 * occurrences in local time across DST, per site, and the iCalendar form. */
#include "test.h"

static test_dir dir;
static stek *a, *b;

static void setup(void) {
  uint8_t space[16];
  test_dir_make(&dir);
  a = test_store(&dir, "a", NULL);
  b = test_store(&dir, "b", NULL);
  if (stek_space_create(a, "s", space)) exit(2);
  test_join(a, b);
}

static void teardown(void) {
  stek_close(a);
  stek_close(b);
  test_dir_remove(&dir);
}

#define STR(n, v) {n, {.kind = STEK_VALUE_STR, .str = v}}
#define INT(n, v) {n, {.kind = STEK_VALUE_INT, .i = v}}

static int copy_cb(void *ctx, const uint8_t *bytes, size_t len) {
  return stek_ingest(ctx, bytes, len) < 0;
}

struct occs {
  int n;
  char start[16][32];
  char site[16][64];
};

static int occ_cb(void *ctx, const stek_occurrence *o) {
  struct occs *c = ctx;
  if (c->n < 16) {
    snprintf(c->start[c->n], 32, "%s", o->start);
    snprintf(c->site[c->n], 64, "%s", o->site);
  }
  c->n++;
  return 0;
}

static void test_weekly_entry_keeps_local_time_across_dst(void) {
  uint8_t id[16];
  struct occs c = {0};
  stek_field f[] = {STR("title", "Koffie & Formulieren"), STR("site", "Kantine Bezemheide"),
                    STR("start", "2026-03-19T13:30:00"), INT("minutes", 150),
                    STR("rrule", "FREQ=WEEKLY;BYDAY=TH")};
  stek_id_new(id);
  CHECK_OK(stek_schedule_put(a, id, f, 5));
  CHECK_OK(stek_schedule_occurrences(a, "2026-03-19", "2026-04-03", NULL, occ_cb, &c));
  CHECK(c.n == 3);
  CHECK(!strcmp(c.start[0], "2026-03-19T13:30:00+01:00"));
  CHECK(!strcmp(c.start[1], "2026-03-26T13:30:00+01:00"));
  CHECK(!strcmp(c.start[2], "2026-04-02T13:30:00+02:00")); /* after 29 March */
}

static void test_cancellations_from_two_devices_both_survive(void) {
  uint8_t id[16];
  struct occs c = {0};
  stek_field f[] = {STR("title", "Digipunt"), STR("site", "Buurthuis Mozaiek"),
                    STR("start", "2026-01-05T09:00:00"), STR("rrule", "FREQ=WEEKLY;BYDAY=MO")};
  stek_id_new(id);
  CHECK_OK(stek_schedule_put(a, id, f, 4));
  CHECK_OK(stek_changes(a, copy_cb, b));
  CHECK_OK(stek_schedule_cancel(a, id, "2026-01-12", 1)); /* offline, each */
  CHECK_OK(stek_schedule_cancel(b, id, "2026-01-19", 1));
  CHECK_OK(stek_changes(a, copy_cb, b));
  CHECK_OK(stek_changes(b, copy_cb, a));
  CHECK_OK(stek_schedule_occurrences(a, "2026-01-05", "2026-01-27", NULL, occ_cb, &c));
  CHECK(c.n == 2); /* the 5th and the 26th: both cancellations held */
  CHECK(!strcmp(c.start[0], "2026-01-05T09:00:00+01:00"));
  CHECK(!strcmp(c.start[1], "2026-01-26T09:00:00+01:00"));
  c.n = 0;
  CHECK_OK(stek_schedule_cancel(a, id, "2026-01-12", 0)); /* reinstated */
  CHECK_OK(stek_schedule_occurrences(a, "2026-01-05", "2026-01-27", NULL, occ_cb, &c));
  CHECK(c.n == 3);
}

static void test_occurrences_filter_by_site_and_sort_by_start(void) {
  uint8_t x[16], y[16];
  struct occs c = {0};
  stek_field fx[] = {STR("title", "Kookclub"), STR("site", "Den Botaniek"),
                     STR("start", "2026-05-04T17:00:00"), STR("rrule", "FREQ=DAILY;COUNT=3")};
  stek_field fy[] = {STR("title", "Fietsatelier"), STR("site", "Ter Plekke"),
                     STR("start", "2026-05-04T10:00:00"), STR("rrule", "FREQ=DAILY;COUNT=3")};
  stek_id_new(x);
  stek_id_new(y);
  CHECK_OK(stek_schedule_put(a, x, fx, 4));
  CHECK_OK(stek_schedule_put(a, y, fy, 4));
  CHECK_OK(stek_schedule_occurrences(a, "2026-05-01", "2026-06-01", NULL, occ_cb, &c));
  CHECK(c.n == 6 && !strcmp(c.site[0], "Ter Plekke") && !strcmp(c.site[1], "Den Botaniek"));
  c.n = 0;
  CHECK_OK(stek_schedule_occurrences(a, "2026-05-01", "2026-06-01", "Den Botaniek", occ_cb, &c));
  CHECK(c.n == 3);
}

static void test_bad_fields_are_refused_and_nothing_is_written(void) {
  uint8_t id[16];
  uint64_t before, after;
  stek_id_new(id);
  CHECK_OK(stek_change_count(a, &before));
  stek_field bad_rule[] = {STR("title", "x"), STR("site", "y"), STR("start", "2026-01-01T10:00"),
                           STR("rrule", "FREQ=FORTNIGHTLY")};
  CHECK_RC(stek_schedule_put(a, id, bad_rule, 4), STEK_EINVAL);
  CHECK(strstr(stek_errmsg(a), "rrule") != NULL);
  stek_field bad_tz[] = {STR("title", "x"), STR("site", "y"), STR("start", "2026-01-01T10:00"),
                         STR("tz", "Europe/Atlantis")};
  CHECK_RC(stek_schedule_put(a, id, bad_tz, 4), STEK_EINVAL);
  stek_field bad_start[] = {STR("title", "x"), STR("site", "y"), STR("start", "2026-02-30T10:00")};
  CHECK_RC(stek_schedule_put(a, id, bad_start, 3), STEK_EINVAL);
  stek_field missing[] = {STR("title", "x")};
  CHECK_RC(stek_schedule_put(a, id, missing, 1), STEK_EINVAL);
  stek_field minutes[] = {STR("title", "x"), STR("site", "y"), STR("start", "2026-01-01T10:00"),
                          INT("minutes", 0)};
  CHECK_RC(stek_schedule_put(a, id, minutes, 4), STEK_EINVAL);
  CHECK_OK(stek_change_count(a, &after));
  CHECK(after == before);
  struct occs c = {0};
  CHECK_RC(stek_schedule_occurrences(a, "2026-01-01", "2040-01-01", NULL, occ_cb, &c),
           STEK_EINVAL); /* a window over ten years */
  CHECK_RC(stek_schedule_occurrences(a, "2026-13-01", "2027-01-01", NULL, occ_cb, &c),
           STEK_EINVAL);
}

static void test_other_zone_is_expanded_in_its_own_local_time(void) {
  uint8_t id[16];
  struct occs c = {0};
  stek_field f[] = {STR("title", "Call"), STR("site", "Tokyo office"),
                    STR("start", "2026-03-27T09:00:00"), STR("tz", "Asia/Tokyo"),
                    STR("rrule", "FREQ=DAILY;COUNT=4")};
  stek_id_new(id);
  CHECK_OK(stek_schedule_put(a, id, f, 5));
  CHECK_OK(stek_schedule_occurrences(a, "2026-03-27", "2026-04-01", NULL, occ_cb, &c));
  CHECK(c.n == 4 && !strcmp(c.start[3], "2026-03-30T09:00:00+09:00"));
}

static void test_ics_has_folded_crlf_lines_and_one_event_per_entry(void) {
  uint8_t id[16];
  char *ics;
  char title[200];
  memset(title, 'x', sizeof title - 1);
  title[sizeof title - 1] = 0;
  stek_field f[] = {STR("title", title), STR("site", "Kantine; Bezemheide, Gent"),
                    STR("start", "2026-03-05T13:30:00"), STR("rrule", "FREQ=WEEKLY;BYDAY=TH"),
                    {"exdates", {.kind = STEK_VALUE_LIST,
                                 .list = (const char *const[]){"2026-03-12"}, .list_len = 1}}};
  stek_id_new(id);
  CHECK_OK(stek_schedule_put(a, id, f, 5));
  CHECK_OK(stek_schedule_ics(a, NULL, &ics));
  int ok_lines = 1;
  for (char *p = ics, *e; *p; p = e + 2) {
    e = strstr(p, "\r\n");
    if (!e || e - p > 75) ok_lines = 0;
    if (!e) break;
  }
  int good = ok_lines && strstr(ics, "BEGIN:VCALENDAR\r\n") == ics &&
             strstr(ics, "LOCATION:Kantine\\; Bezemheide\\, Gent\r\n") &&
             strstr(ics, "RRULE:FREQ=WEEKLY;BYDAY=TH\r\n") &&
             strstr(ics, "EXDATE;TZID=Europe/Brussels:20260312T133000\r\n") &&
             strstr(ics, "TZID:Europe/Brussels\r\n") && strstr(ics, "\r\n ");
  stek_free(ics);
  CHECK(good);
}

static void test_typed_put_removes_a_field_given_no_value(void) {
  uint8_t id[16];
  struct occs c = {0};
  stek_field f[] = {STR("title", "Kookclub"), STR("site", "Den Botaniek"),
                    STR("start", "2026-05-04T17:00:00"), STR("rrule", "FREQ=DAILY")};
  stek_field once[] = {{"rrule", {.kind = STEK_VALUE_NONE}}};
  stek_field keep[] = {{"title", {.kind = STEK_VALUE_NONE}}};
  stek_id_new(id);
  CHECK_OK(stek_schedule_put(a, id, f, 4));
  CHECK_OK(stek_schedule_put(a, id, once, 1)); /* now a one-off */
  CHECK_RC(stek_schedule_put(a, id, keep, 1), STEK_EINVAL);
  CHECK_OK(stek_schedule_occurrences(a, "2026-05-01", "2026-06-01", NULL, occ_cb, &c));
  CHECK(c.n == 1);
}

static void test_zoneinfo_location_is_configurable(void) {
  char path[600], zdir[600];
  stek_config cfg;
  stek *s;
  uint8_t space[16], id[16];
  stek_field f[] = {STR("title", "x"), STR("site", "y"), STR("start", "2026-01-01T10:00"),
                    STR("tz", "Europe/Brussels")};
  test_dir_file(&dir, "zones", zdir, sizeof zdir); /* an empty zoneinfo */
  CHECK(mkdir(zdir, 0700) == 0);
  stek_config_init(&cfg);
  cfg.zoneinfo_dir = zdir;
  test_dir_file(&dir, "z", path, sizeof path);
  CHECK_OK(stek_open(&s, path, &cfg));
  CHECK_OK(stek_space_create(s, "z", space));
  stek_id_new(id);
  int rc = stek_schedule_put(s, id, f, 4); /* the zone is not in that folder */
  stek_close(s);
  CHECK_RC(rc, STEK_EINVAL);
}

#define T(fn) do { setup(); RUN(fn); teardown(); } while (0)

int main(void) {
  T(test_weekly_entry_keeps_local_time_across_dst);
  T(test_cancellations_from_two_devices_both_survive);
  T(test_occurrences_filter_by_site_and_sort_by_start);
  T(test_bad_fields_are_refused_and_nothing_is_written);
  T(test_other_zone_is_expanded_in_its_own_local_time);
  T(test_ics_has_folded_crlf_lines_and_one_event_per_entry);
  T(test_typed_put_removes_a_field_given_no_value);
  T(test_zoneinfo_location_is_configurable);
  return test_report();
}
