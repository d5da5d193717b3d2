/* The social map: full-text search with diacritics folded, prefixes, BM25F
 * ranking, filters, and an index that follows merges from other devices. */
#include <sqlite3.h>

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

static int put_entry(stek *s, uint8_t id[16], const char *org, const char *service,
                     const char *category, const char *summary_nl,
                     const char *const *langs, size_t n_langs) {
  stek_value v = {.kind = STEK_VALUE_STR};
  stek_value l = {.kind = STEK_VALUE_LIST, .list = langs, .list_len = n_langs};
  int rc = stek_begin(s);
  stek_id_new(id);
  v.str = org;
  if (!rc) rc = stek_put(s, "directory", id, "org", &v);
  v.str = service;
  if (!rc) rc = stek_put(s, "directory", id, "service", &v);
  v.str = category;
  if (!rc) rc = stek_put(s, "directory", id, "category", &v);
  v.str = summary_nl;
  if (!rc) rc = stek_put(s, "directory", id, "summary.nl", &v);
  if (!rc) rc = stek_put(s, "directory", id, "languages", &l);
  if (!rc) rc = stek_commit(s);
  return rc;
}

struct hits {
  int n;
  uint8_t ids[8][16];
};

static int hit_cb(void *ctx, const stek_record *r) {
  struct hits *h = ctx;
  if (h->n < 8) memcpy(h->ids[h->n], stek_record_id(r), 16);
  h->n++;
  return 0;
}

static int search(stek *s, const char *q, const char *lang, const char *cat,
                  struct hits *h) {
  memset(h, 0, sizeof *h);
  return stek_directory_search(s, q, lang, cat, hit_cb, h);
}

static const char *const nl[] = {"nl"}, *const nlfr[] = {"nl", "fr"};

static void test_search_folds_diacritics_and_case(void) {
  uint8_t id[16];
  struct hits h;
  CHECK_OK(put_entry(a, id, "Fluvius", "Énergiepremie aanvragen", "energy",
                     "Hulp bij de premie", nl, 1));
  CHECK_OK(search(a, "energiepremie", NULL, NULL, &h));
  CHECK(h.n == 1 && memcmp(h.ids[0], id, 16) == 0);
  CHECK_OK(search(a, "ÉNERGIEPREMIE", NULL, NULL, &h));
  CHECK(h.n == 1);
}

static void test_search_matches_word_prefixes(void) {
  uint8_t id[16];
  struct hits h;
  CHECK_OK(put_entry(a, id, "CAW", "Schuldbemiddeling", "debt",
                     "Budgetbegeleiding en schuldhulp", nl, 1));
  CHECK_OK(search(a, "schuld", NULL, NULL, &h));
  CHECK(h.n == 1);
  CHECK_OK(search(a, "budget schuld", NULL, NULL, &h)); /* every word */
  CHECK(h.n == 1);
  CHECK_OK(search(a, "budget huur", NULL, NULL, &h));
  CHECK(h.n == 0);
}

static void test_search_ranks_org_and_service_above_summary(void) {
  uint8_t weak[16], strong[16];
  struct hits h;
  CHECK_OK(put_entry(a, weak, "OCMW", "Leefloon", "income",
                     "Ook vragen over huur en huurwaarborg", nl, 1));
  CHECK_OK(put_entry(a, strong, "Huurdersbond", "Huurwaarborg", "housing",
                     "Advies voor huurders", nl, 1));
  CHECK_OK(search(a, "huurwaarborg", NULL, NULL, &h));
  CHECK(h.n == 2);
  CHECK(memcmp(h.ids[0], strong, 16) == 0);
}

static void test_search_filters_by_category_and_language(void) {
  uint8_t x[16], y[16];
  struct hits h;
  CHECK_OK(put_entry(a, x, "Ligo", "Taalles", "education", "Nederlands leren", nl, 1));
  CHECK_OK(put_entry(a, y, "VDAB", "Taalcoaching", "work", "Nederlands op het werk", nlfr, 2));
  CHECK_OK(search(a, "nederlands", NULL, NULL, &h));
  CHECK(h.n == 2);
  CHECK_OK(search(a, "nederlands", NULL, "work", &h));
  CHECK(h.n == 1 && memcmp(h.ids[0], y, 16) == 0);
  CHECK_OK(search(a, "nederlands", "fr", NULL, &h));
  CHECK(h.n == 1 && memcmp(h.ids[0], y, 16) == 0);
}

static int copy_cb(void *ctx, const uint8_t *bytes, size_t len) {
  return stek_ingest(ctx, bytes, len) < 0;
}

static void test_index_follows_merges_from_other_devices(void) {
  uint8_t id[16];
  struct hits h;
  stek_value v = {.kind = STEK_VALUE_STR, .str = "Woonbegeleiding"};
  CHECK_OK(put_entry(a, id, "Sociaal Verhuurkantoor", "Huurhulp", "housing",
                     "Een betaalbare woning zoeken", nl, 1));
  CHECK_OK(stek_changes(a, copy_cb, b));
  CHECK_OK(search(b, "betaalbare", NULL, NULL, &h));
  CHECK(h.n == 1);
  CHECK_OK(stek_put(b, "directory", id, "service", &v)); /* b edits */
  CHECK_OK(stek_changes(b, copy_cb, a));
  CHECK_OK(search(a, "woonbegeleiding", NULL, NULL, &h));
  CHECK(h.n == 1);
  CHECK_OK(search(a, "huurhulp", NULL, NULL, &h)); /* the old text is gone */
  CHECK(h.n == 0);
  CHECK_OK(stek_delete(a, "directory", id));
  CHECK_OK(stek_changes(a, copy_cb, b));
  CHECK_OK(search(b, "betaalbare", NULL, NULL, &h));
  CHECK(h.n == 0);
}

static void test_query_syntax_cannot_be_injected(void) {
  uint8_t id[16];
  struct hits h;
  CHECK_OK(put_entry(a, id, "JAC", "Jongerenadvies", "family", "Anoniem advies", nl, 1));
  CHECK_OK(search(a, "NEAR(\" OR * AND jong", NULL, NULL, &h));
  CHECK_OK(search(a, "advies\"*", NULL, NULL, &h));
  CHECK(h.n == 1);
  CHECK_RC(search(a, " \"* ", NULL, NULL, &h), STEK_EINVAL);
}

static void test_typed_put_checks_fields_and_writes_nothing_on_error(void) {
  uint8_t id[16];
  uint64_t before, after;
  stek_record *r;
  stek_field bad[] = {{"org", {.kind = STEK_VALUE_STR, .str = "CAW"}},
                      {"category", {.kind = STEK_VALUE_STR, .str = "gossip"}}};
  stek_id_new(id);
  CHECK_OK(stek_change_count(a, &before));
  CHECK_RC(stek_directory_put(a, id, bad, 2), STEK_EINVAL);
  CHECK(strstr(stek_errmsg(a), "category") != NULL);
  CHECK_OK(stek_change_count(a, &after));
  CHECK(after == before);
  CHECK_RC(stek_get(a, "directory", id, &r), STEK_ENOTFOUND);
  bad[1].value.str = "debt";
  CHECK_OK(stek_directory_put(a, id, bad, 2));
  CHECK_OK(stek_get(a, "directory", id, &r));
  stek_record_free(r);
}

static void test_tags_added_on_two_devices_both_survive(void) {
  uint8_t id[16];
  const char *ta[] = {"schulden"}, *tb[] = {"budget"};
  stek_field fa[] = {{"org", {.kind = STEK_VALUE_STR, .str = "CAW"}},
                     {"tags", {.kind = STEK_VALUE_LIST, .list = ta, .list_len = 1}}};
  stek_field fb[] = {{"tags", {.kind = STEK_VALUE_LIST, .list = tb, .list_len = 1}}};
  stek_id_new(id);
  CHECK_OK(stek_directory_put(a, id, fa, 2));
  CHECK_OK(stek_changes(a, copy_cb, b));
  CHECK_OK(stek_directory_put(a, id, fa, 2));
  CHECK_OK(stek_directory_put(b, id, fb, 1));
  CHECK_OK(stek_changes(a, copy_cb, b));
  CHECK_OK(stek_changes(b, copy_cb, a));
  stek_record *r;
  stek_value v;
  CHECK_OK(stek_get(a, "directory", id, &r));
  int rc = stek_record_find(r, "tags", &v);
  int good = rc == STEK_OK && v.list_len == 2 && !strcmp(v.list[0], "budget") &&
             !strcmp(v.list[1], "schulden");
  stek_record_free(r);
  CHECK(good);
  struct hits h;
  CHECK_OK(search(b, "budget", NULL, "budget", &h)); /* a tag filters too */
  CHECK(h.n == 1);
}

#define S(n, v) {n, {.kind = STEK_VALUE_STR, .str = v}}
#define L(n, v, k) {n, {.kind = STEK_VALUE_LIST, .list = v, .list_len = k}}

/* Fluvius, with every field filled in and "energie" in its service, and
 * CAW with "energie" only in its summary.  FTS5's bm25() divided by the
 * whole entry's length, so the complete entry came second. */
static void test_a_complete_entry_is_not_ranked_down_for_its_length(void) {
  uint8_t caw[16], fluvius[16], other[16];
  struct hits h;
  const char *langs_caw[] = {"nl", "en", "ar"}, *langs_fl[] = {"nl", "fr", "en", "de"};
  stek_field fc[] = {S("org", "CAW"), S("service", "Budgethulp en schuldbemiddeling"),
                     S("category", "debt"),
                     S("summary.nl", "Hulp bij schulden, ook bij achterstallige energiefacturen."),
                     S("phone", "088 123 45 67"), L("languages", langs_caw, 3)};
  stek_field ff[] = {
      S("org", "Fluvius"), S("service", "Energiepremies en budgetmeter"),
      S("category", "energy"),
      S("summary.nl", "Premies voor isolatie, en een budgetmeter als je je factuur niet kan betalen."),
      S("phone", "078 35 35 34"), S("hours", "maandag tot vrijdag 8 tot 20 uur, zaterdag 9 tot 13 uur"),
      L("languages", langs_fl, 4),
      S("refer_how", "Bel het gratis nummer, of vraag het OCMW om de aanvraag te doen voor je klant"),
      S("bring", "De EAN-code van de meter, een identiteitskaart en de laatste afrekening")};
  stek_field fo[] = {S("org", "OCMW"), S("service", "Leefloon"), S("category", "income"),
                     S("summary.nl", "Een inkomen als je geen ander hebt.")};
  stek_id_new(caw);
  stek_id_new(fluvius);
  stek_id_new(other);
  CHECK_OK(stek_directory_put(a, caw, fc, sizeof fc / sizeof *fc));
  CHECK_OK(stek_directory_put(a, fluvius, ff, sizeof ff / sizeof *ff));
  CHECK_OK(stek_directory_put(a, other, fo, sizeof fo / sizeof *fo));
  CHECK_OK(search(a, "energie", NULL, NULL, &h));
  CHECK(h.n == 2);
  CHECK(memcmp(h.ids[0], fluvius, 16) == 0 && memcmp(h.ids[1], caw, 16) == 0);
  /* what to bring is searched (prose), at the lowest weight */
  CHECK_OK(search(a, "identiteitskaart", NULL, NULL, &h));
  CHECK(h.n == 1 && memcmp(h.ids[0], fluvius, 16) == 0);
}

/* Opening hours, phone numbers and language codes are not words anyone
 * searches a social map for. */
static void test_phone_hours_and_languages_are_not_indexed(void) {
  uint8_t id[16];
  struct hits h;
  const char *langs[] = {"nl", "tr"};
  stek_field f[] = {S("org", "Humanitas"), S("service", "Thuisadministratie"),
                    S("phone", "09 123 45 67"), S("hours", "dinsdagvoormiddag"),
                    S("email", "info@humanitas.example"), L("languages", langs, 2)};
  stek_id_new(id);
  CHECK_OK(stek_directory_put(a, id, f, sizeof f / sizeof *f));
  CHECK_OK(search(a, "dinsdagvoormiddag", NULL, NULL, &h));
  CHECK(h.n == 0);
  CHECK_OK(search(a, "09 123", NULL, NULL, &h));
  CHECK(h.n == 0);
  CHECK_OK(search(a, "humanitas example", NULL, NULL, &h));
  CHECK(h.n == 0);
  CHECK_OK(search(a, "thuisadministratie", "tr", NULL, &h)); /* the filter still works */
  CHECK(h.n == 1);
}

/* A store written before (schema 2) had hours in its index: opening it
 * rebuilds the index from the records. */
static void test_an_older_store_gets_its_index_rebuilt(void) {
  uint8_t id[16];
  struct hits h;
  char path[600];
  sqlite3 *db;
  stek_field f[] = {S("org", "Humanitas"), S("service", "Thuisadministratie"),
                    S("hours", "dinsdagvoormiddag")};
  stek_id_new(id);
  CHECK_OK(stek_directory_put(a, id, f, sizeof f / sizeof *f));
  stek_close(a);
  a = NULL;
  /* Make it what version 2 wrote: the hours in the "other" column. */
  test_dir_file(&dir, "a", path, sizeof path);
  CHECK(sqlite3_open(path, &db) == SQLITE_OK);
  int rc = sqlite3_exec(db, "UPDATE fts SET other = 'dinsdagvoormiddag';"
                        "UPDATE meta SET value = x'02' WHERE key = 'schema'", NULL, NULL, NULL);
  sqlite3_close(db);
  CHECK(rc == SQLITE_OK);
  a = test_store(&dir, "a", NULL);
  CHECK_OK(search(a, "dinsdagvoormiddag", NULL, NULL, &h));
  CHECK(h.n == 0);
  CHECK_OK(search(a, "thuisadministratie", NULL, NULL, &h));
  CHECK(h.n == 1 && memcmp(h.ids[0], id, 16) == 0);
  uint8_t ver = 0;
  CHECK(sqlite3_open(path, &db) == SQLITE_OK);
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema'", -1, &s, NULL) ==
          SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 1)
    ver = *(const uint8_t *)sqlite3_column_blob(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  CHECK(ver == 3);
}

#define T(fn) do { setup(); RUN(fn); teardown(); } while (0)

int main(void) {
  T(test_search_folds_diacritics_and_case);
  T(test_search_matches_word_prefixes);
  T(test_search_ranks_org_and_service_above_summary);
  T(test_search_filters_by_category_and_language);
  T(test_index_follows_merges_from_other_devices);
  T(test_query_syntax_cannot_be_injected);
  T(test_typed_put_checks_fields_and_writes_nothing_on_error);
  T(test_tags_added_on_two_devices_both_survive);
  T(test_a_complete_entry_is_not_ranked_down_for_its_length);
  T(test_phone_hours_and_languages_are_not_indexed);
  T(test_an_older_store_gets_its_index_rebuilt);
  return test_report();
}
