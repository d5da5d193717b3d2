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

/* organisers and languages are lists of strings, cost a number of cents or
 * a string, notes a string: any other kind is refused, naming the field,
 * and nothing is written -- on a new entry or on an existing one. */
static void test_wrong_field_types_are_refused_and_nothing_is_written(void) {
  uint8_t fresh[16], old[16];
  uint64_t before, after;
  stek_record *r;
  static const char *const two[] = {"CAW", "OCMW"};
  stek_value list = {.kind = STEK_VALUE_LIST, .list = two, .list_len = 2};
  stek_value str = {.kind = STEK_VALUE_STR, .str = "CAW"};
  stek_value num = {.kind = STEK_VALUE_INT, .i = 250};
  struct {
    const char *field;
    stek_value wrong;
  } cases[] = {{"orgs", str}, {"orgs", num},      {"languages", str}, {"languages", num},
               {"cost", list}, {"notes", num},    {"notes", list},    {"exdates", str}};
  stek_field base[] = {STR("title", "Kookclub"), STR("site", "Den Botaniek"),
                       STR("start", "2026-05-04T17:00:00"), STR("notes", "Breng een schort mee")};
  stek_id_new(fresh);
  stek_id_new(old);
  CHECK_OK(stek_schedule_put(a, old, base, 4));
  CHECK_OK(stek_change_count(a, &before));
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    stek_field f[] = {STR("title", "Kookclub"), STR("site", "Den Botaniek"),
                      STR("start", "2026-05-04T17:00:00"), {cases[i].field, cases[i].wrong}};
    CHECK_RC(stek_schedule_put(a, fresh, f, 4), STEK_EINVAL);
    CHECK(strstr(stek_errmsg(a), cases[i].field) != NULL);
    CHECK_RC(stek_schedule_put(a, old, &f[3], 1), STEK_EINVAL);
  }
  CHECK_OK(stek_change_count(a, &after));
  CHECK(after == before);
  CHECK_RC(stek_get(a, "schedule", fresh, &r), STEK_ENOTFOUND);
  CHECK_OK(stek_get(a, "schedule", old, &r));
  stek_value v;
  int kept = stek_record_find(r, "notes", &v) == STEK_OK && v.kind == STEK_VALUE_STR &&
             !strcmp(v.str, "Breng een schort mee") &&
             stek_record_find(r, "orgs", &v) == STEK_ENOTFOUND &&
             stek_record_find(r, "cost", &v) == STEK_ENOTFOUND;
  stek_record_free(r);
  CHECK(kept);
  /* the right kinds are taken */
  stek_field good[] = {{"orgs", list}, {"languages", list}, {"cost", num}, STR("notes", "Gratis")};
  CHECK_OK(stek_schedule_put(a, old, good, 4));
  good[2].value = str;
  CHECK_OK(stek_schedule_put(a, old, &good[2], 1)); /* cost as a string */
}

/* Cancelled dates are a set: a typed put with exdates ADDS its dates, so
 * two devices that each cancel a date with a put, concurrently, both keep
 * theirs after the merge (as with stek_schedule_cancel). */
static void test_exdates_put_on_two_devices_both_survive(void) {
  uint8_t id[16];
  struct occs c = {0};
  stek_field f[] = {STR("title", "Digipunt"), STR("site", "Buurthuis Mozaiek"),
                    STR("start", "2026-01-05T09:00:00"), STR("rrule", "FREQ=WEEKLY;BYDAY=MO")};
  stek_field on_a[] = {{"exdates", {.kind = STEK_VALUE_LIST,
                                    .list = (const char *const[]){"2026-01-12"}, .list_len = 1}}};
  stek_field on_b[] = {{"exdates", {.kind = STEK_VALUE_LIST,
                                    .list = (const char *const[]){"2026-01-19"}, .list_len = 1}},
                       STR("notes", "Zaal 2")};
  stek_id_new(id);
  CHECK_OK(stek_schedule_put(a, id, f, 4));
  CHECK_OK(stek_changes(a, copy_cb, b));
  CHECK_OK(stek_schedule_put(a, id, on_a, 1)); /* offline, each */
  CHECK_OK(stek_schedule_put(b, id, on_b, 2));
  CHECK_OK(stek_changes(a, copy_cb, b));
  CHECK_OK(stek_changes(b, copy_cb, a));
  CHECK_OK(stek_schedule_occurrences(a, "2026-01-05", "2026-01-27", NULL, occ_cb, &c));
  CHECK(c.n == 2); /* the 5th and the 26th */
  CHECK(!strcmp(c.start[0], "2026-01-05T09:00:00+01:00"));
  CHECK(!strcmp(c.start[1], "2026-01-26T09:00:00+01:00"));
  uint8_t ha[32], hb[32];
  CHECK_OK(stek_state_hash(a, ha));
  CHECK_OK(stek_state_hash(b, hb));
  CHECK(memcmp(ha, hb, 32) == 0);
  stek_record *r;
  stek_value v;
  CHECK_OK(stek_get(b, "schedule", id, &r));
  int both = stek_record_find(r, "exdates", &v) == STEK_OK && v.kind == STEK_VALUE_LIST &&
             v.list_len == 2 && !strcmp(v.list[0], "2026-01-12") &&
             !strcmp(v.list[1], "2026-01-19");
  stek_record_free(r);
  CHECK(both);
  /* a later put with exdates adds, never replaces: both stay */
  CHECK_OK(stek_schedule_put(a, id, on_a, 1));
  c.n = 0;
  CHECK_OK(stek_schedule_occurrences(a, "2026-01-05", "2026-01-27", NULL, occ_cb, &c));
  CHECK(c.n == 2);
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

/* Every TZID an event names has its VTIMEZONE, however many zones (there
 * was a limit of 16, past which events named undefined zones). */
static void test_ics_defines_every_zone_its_events_use(void) {
  static const char *const zones[] = {
      "Europe/Brussels", "Europe/Paris",    "Europe/Amsterdam",  "Europe/Berlin",
      "Europe/London",   "Europe/Madrid",   "Europe/Rome",       "Europe/Lisbon",
      "Europe/Warsaw",   "Europe/Athens",   "Europe/Istanbul",   "Africa/Casablanca",
      "Africa/Kinshasa", "Asia/Tokyo",      "Asia/Kolkata",      "America/New_York",
      "America/Sao_Paulo", "Australia/Sydney", "Pacific/Auckland", "Asia/Damascus"};
  enum { N = sizeof zones / sizeof *zones };
  char *ics;
  CHECK_OK(stek_begin(a));
  for (int i = 0; i < N; i++) {
    uint8_t id[16];
    stek_field f[] = {STR("title", "Overleg"), STR("site", "Online"),
                      STR("start", "2026-02-02T10:00:00"), STR("tz", zones[i])};
    stek_id_new(id);
    CHECK_OK(stek_schedule_put(a, id, f, 4));
    CHECK_OK(stek_schedule_put(a, id, f, 4)); /* a zone used twice: one VTIMEZONE */
  }
  CHECK_OK(stek_commit(a));
  CHECK_OK(stek_schedule_ics(a, NULL, &ics));
  int n_vtz = 0, all_defined = 1;
  for (const char *p = ics; (p = strstr(p, "BEGIN:VTIMEZONE\r\n")); p++) n_vtz++;
  for (int i = 0; i < N; i++) {
    char want[80];
    snprintf(want, sizeof want, "\r\nTZID:%s\r\n", zones[i]);
    if (!strstr(ics, want)) all_defined = 0;
  }
  stek_free(ics);
  CHECK(n_vtz == N);
  CHECK(all_defined);
}

/* RFC 5545 TEXT allows no control character but tab; a newline is
 * escaped as \n. */
static void test_ics_text_drops_control_characters(void) {
  uint8_t id[16];
  char *ics;
  stek_field f[] = {STR("title", "Koffie\x1b[31m rood\x7f\tklaar\x01"),
                    STR("site", "Kantine\x0b Bezemheide"),
                    STR("notes", "regel 1\r\nregel 2\x0c"),
                    STR("start", "2026-03-05T13:30:00")};
  stek_id_new(id);
  CHECK_OK(stek_schedule_put(a, id, f, 4));
  CHECK_OK(stek_schedule_ics(a, NULL, &ics));
  int clean = 1;
  for (const char *p = ics; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '\r' && p[1] == '\n') {
      p++;
      continue;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) clean = 0;
  }
  int kept = strstr(ics, "\r\nSUMMARY:Koffie[31m rood\tklaar\r\n") &&
             strstr(ics, "\r\nLOCATION:Kantine Bezemheide\r\n") &&
             strstr(ics, "\r\nDESCRIPTION:regel 1\\nregel 2\r\n");
  if (!kept) fprintf(stderr, "%s", ics);
  stek_free(ics);
  CHECK(clean);
  CHECK(kept);
}

/* DTSTART is the first occurrence: RFC 5545 readers count DTSTART as an
 * instance even when the rule does not select it; libstek does not. */
static void test_ics_dtstart_is_the_first_occurrence(void) {
  uint8_t id[16], none[16];
  char *ics;
  stek_field f[] = {STR("title", "Digipunt"), STR("site", "Buurthuis Mozaiek"),
                    STR("start", "2026-01-01T09:00:00"), /* a Thursday */
                    STR("rrule", "FREQ=WEEKLY;BYDAY=MO;COUNT=3")};
  stek_field g[] = {STR("title", "Nooit"), STR("site", "Buurthuis Mozaiek"),
                    STR("start", "2026-01-01T10:00:00"),
                    STR("rrule", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")};
  stek_id_new(id);
  stek_id_new(none);
  CHECK_OK(stek_schedule_put(a, id, f, 4));
  CHECK_OK(stek_schedule_put(a, none, g, 4));
  CHECK_OK(stek_schedule_ics(a, NULL, &ics));
  int first = strstr(ics, "DTSTART;TZID=Europe/Brussels:20260105T090000\r\n") != NULL &&
              !strstr(ics, "DTSTART;TZID=Europe/Brussels:20260101T090000");
  /* a rule that selects no day keeps its start, cancelled */
  int cancelled = strstr(ics, "DTSTART;TZID=Europe/Brussels:20260101T100000\r\n") &&
                  strstr(ics, "EXDATE;TZID=Europe/Brussels:20260101T100000\r\n");
  stek_free(ics);
  CHECK(first);
  CHECK(cancelled);
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

/* The handle keeps its own copies of zoneinfo_dir and local_tz: the
 * caller's strings may be gone right after stek_open(). */
static void test_config_strings_need_not_outlive_open(void) {
  char path[600];
  stek_config cfg;
  stek *s;
  uint8_t space[16], id[16];
  char *zdir = strdup("/usr/share/zoneinfo"), *ltz = strdup("Europe/Brussels");
  stek_field f[] = {STR("title", "x"), STR("site", "y"), STR("start", "2026-01-01T10:00")};
  char receipt[STEK_RECEIPT_BYTES];
  stek_config_init(&cfg);
  cfg.zoneinfo_dir = zdir;
  cfg.local_tz = ltz;
  test_dir_file(&dir, "copies", path, sizeof path);
  CHECK_OK(stek_open(&s, path, &cfg));
  memset(zdir, 'x', strlen(zdir)); /* what a freed, reused buffer may hold */
  memset(ltz, 'x', strlen(ltz));
  free(zdir);
  free(ltz);
  CHECK_OK(stek_space_create(s, "z", space));
  stek_id_new(id);
  CHECK_OK(stek_schedule_put(s, id, f, 3));
  CHECK_OK(stek_signal_record(s, "debt", "y", "", receipt));
  stek_close(s);
}

#define T(fn) do { setup(); RUN(fn); teardown(); } while (0)

int main(void) {
  T(test_weekly_entry_keeps_local_time_across_dst);
  T(test_cancellations_from_two_devices_both_survive);
  T(test_occurrences_filter_by_site_and_sort_by_start);
  T(test_bad_fields_are_refused_and_nothing_is_written);
  T(test_wrong_field_types_are_refused_and_nothing_is_written);
  T(test_exdates_put_on_two_devices_both_survive);
  T(test_other_zone_is_expanded_in_its_own_local_time);
  T(test_ics_has_folded_crlf_lines_and_one_event_per_entry);
  T(test_ics_defines_every_zone_its_events_use);
  T(test_ics_text_drops_control_characters);
  T(test_ics_dtstart_is_the_first_occurrence);
  T(test_typed_put_removes_a_field_given_no_value);
  T(test_zoneinfo_location_is_configurable);
  T(test_config_strings_need_not_outlive_open);
  return test_report();
}
