/* The generic record API: put / get / delete / restore / sets / list,
 * transactions and the change callback, on one store. */
#include "test.h"

static test_dir dir;
static stek *s;

static void open_fresh(void) {
  char path[600];
  uint8_t space[STEK_ID_BYTES];
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  if (stek_open(&s, path, NULL) != STEK_OK ||
      stek_space_create(s, "Bezemheide", space) != STEK_OK) {
    fprintf(stderr, "cannot open a store: %s\n", stek_errmsg(s));
    exit(2);
  }
}

static void close_fresh(void) {
  stek_close(s);
  s = NULL;
  test_dir_remove(&dir);
}

static const stek_value *str(const char *v) {
  static stek_value val;
  val = (stek_value){.kind = STEK_VALUE_STR, .str = v};
  return &val;
}

static void test_put_then_get_returns_fields(void) {
  uint8_t id[STEK_ID_BYTES];
  stek_record *r;
  stek_value v;
  const char *langs[] = {"nl", "fr"};
  stek_value list = {.kind = STEK_VALUE_LIST, .list = langs, .list_len = 2};
  stek_value num = {.kind = STEK_VALUE_INT, .i = -42};
  stek_id_new(id);
  CHECK_OK(stek_put(s, "directory", id, "org", str("CAW")));
  CHECK_OK(stek_put(s, "directory", id, "languages", &list));
  CHECK_OK(stek_put(s, "directory", id, "cost", &num));
  CHECK_OK(stek_get(s, "directory", id, &r));
  CHECK(stek_record_field_count(r) == 3);
  CHECK(stek_record_find(r, "org", &v) == STEK_OK && v.kind == STEK_VALUE_STR &&
        strcmp(v.str, "CAW") == 0);
  CHECK(stek_record_find(r, "cost", &v) == STEK_OK && v.i == -42);
  CHECK(stek_record_find(r, "languages", &v) == STEK_OK && v.list_len == 2 &&
        strcmp(v.list[1], "fr") == 0);
  CHECK(stek_record_find(r, "missing", &v) == STEK_ENOTFOUND);
  char *json = stek_record_json(r);
  char hex[33], want[256];
  stek_id_to_hex(id, hex);
  snprintf(want, sizeof want,
           "{\"id\":\"%s\",\"type\":\"directory\",\"cost\":-42,"
           "\"languages\":[\"nl\",\"fr\"],\"org\":\"CAW\"}", hex);
  CHECK(json && strcmp(json, want) == 0);
  stek_free(json);
  stek_record_free(r);
}

static void test_later_put_overwrites_field(void) {
  uint8_t id[STEK_ID_BYTES];
  stek_record *r;
  stek_value v;
  stek_id_new(id);
  CHECK_OK(stek_put(s, "directory", id, "hours", str("ma 9-12")));
  CHECK_OK(stek_put(s, "directory", id, "hours", str("di 13-16")));
  CHECK_OK(stek_get(s, "directory", id, &r));
  CHECK(stek_record_find(r, "hours", &v) == STEK_OK && strcmp(v.str, "di 13-16") == 0);
  stek_record_free(r);
}

static void test_put_null_removes_field(void) {
  uint8_t id[STEK_ID_BYTES];
  stek_record *r;
  stek_id_new(id);
  CHECK_OK(stek_put(s, "directory", id, "a", str("1")));
  CHECK_OK(stek_put(s, "directory", id, "b", str("2")));
  CHECK_OK(stek_put(s, "directory", id, "a", NULL));
  CHECK_OK(stek_get(s, "directory", id, &r));
  CHECK(stek_record_field_count(r) == 1);
  stek_record_free(r);
  CHECK_OK(stek_put(s, "directory", id, "b", NULL));
  CHECK_RC(stek_get(s, "directory", id, &r), STEK_ENOTFOUND);
}

static void test_delete_hides_record_and_later_put_does_not_resurrect(void) {
  uint8_t id[STEK_ID_BYTES];
  stek_record *r;
  stek_id_new(id);
  CHECK_OK(stek_put(s, "schedule", id, "title", str("Kookclub")));
  CHECK_OK(stek_delete(s, "schedule", id));
  CHECK_RC(stek_get(s, "schedule", id, &r), STEK_ENOTFOUND);
  CHECK_OK(stek_put(s, "schedule", id, "title", str("Kookclub 2")));
  CHECK_RC(stek_get(s, "schedule", id, &r), STEK_ENOTFOUND);
  CHECK_OK(stek_restore(s, "schedule", id));
  CHECK_OK(stek_get(s, "schedule", id, &r));
  stek_value v;
  CHECK(stek_record_find(r, "title", &v) == STEK_OK && strcmp(v.str, "Kookclub 2") == 0);
  stek_record_free(r);
}

static void test_set_elements_add_and_remove(void) {
  uint8_t id[STEK_ID_BYTES];
  stek_record *r;
  stek_value v;
  stek_id_new(id);
  CHECK_OK(stek_set_add(s, "schedule", id, "exdates", "2026-03-05"));
  CHECK_OK(stek_set_add(s, "schedule", id, "exdates", "2026-01-01"));
  CHECK_OK(stek_set_add(s, "schedule", id, "exdates", "2026-02-01"));
  CHECK_OK(stek_set_remove(s, "schedule", id, "exdates", "2026-02-01"));
  CHECK_OK(stek_get(s, "schedule", id, &r));
  CHECK(stek_record_find(r, "exdates", &v) == STEK_OK && v.kind == STEK_VALUE_LIST);
  CHECK(v.list_len == 2 && strcmp(v.list[0], "2026-01-01") == 0 &&
        strcmp(v.list[1], "2026-03-05") == 0);
  stek_record_free(r);
}

static void test_transaction_is_one_change_and_rollback_discards(void) {
  uint8_t id[STEK_ID_BYTES];
  uint64_t before, after;
  stek_record *r;
  stek_id_new(id);
  CHECK_OK(stek_change_count(s, &before));
  CHECK_OK(stek_begin(s));
  CHECK_OK(stek_put(s, "directory", id, "org", str("OCMW")));
  CHECK_OK(stek_put(s, "directory", id, "service", str("Leefloon")));
  CHECK_OK(stek_get(s, "directory", id, &r)); /* reads see the open tx */
  stek_record_free(r);
  CHECK_OK(stek_commit(s));
  CHECK_OK(stek_change_count(s, &after));
  CHECK(after == before + 1);

  uint8_t other[STEK_ID_BYTES];
  stek_id_new(other);
  CHECK_OK(stek_begin(s));
  CHECK_OK(stek_put(s, "directory", other, "org", str("VDAB")));
  CHECK_OK(stek_rollback(s));
  CHECK_RC(stek_get(s, "directory", other, &r), STEK_ENOTFOUND);
  CHECK_OK(stek_change_count(s, &after));
  CHECK(after == before + 1);
}

static void test_transaction_misuse_is_a_state_error(void) {
  CHECK_RC(stek_commit(s), STEK_ESTATE);
  CHECK_RC(stek_rollback(s), STEK_ESTATE);
  CHECK_OK(stek_begin(s));
  CHECK_RC(stek_begin(s), STEK_ESTATE);
  CHECK_OK(stek_commit(s)); /* an empty transaction commits nothing */
}

static void test_invalid_arguments_are_refused(void) {
  uint8_t id[STEK_ID_BYTES];
  stek_id_new(id);
  CHECK_RC(stek_put(s, "Bad Type", id, "f", str("x")), STEK_EINVAL);
  CHECK_RC(stek_put(s, "t", id, "", str("x")), STEK_EINVAL);
  CHECK_RC(stek_put(s, "t", id, "id", str("x")), STEK_EINVAL);
  CHECK_RC(stek_put(s, "t", id, "f", str("\xff\xfe")), STEK_EINVAL);
  CHECK_RC(stek_put(s, "t", id, "f", NULL), STEK_OK);
  stek_value bad = {.kind = 99};
  CHECK_RC(stek_put(s, "t", id, "f", &bad), STEK_EINVAL);
  char *big = malloc(STEK_MAX_STRING_BYTES + 2);
  CHECK(big);
  memset(big, 'a', STEK_MAX_STRING_BYTES + 1);
  big[STEK_MAX_STRING_BYTES + 1] = 0;
  int rc = stek_put(s, "t", id, "f", str(big));
  free(big);
  CHECK_RC(rc, STEK_ETOOBIG);
  CHECK(strlen(stek_errmsg(s)) > 0);
}

struct seen {
  int calls;
  int origin;
  char type[80];
};

static void on_change(void *ctx, const char *type, const uint8_t id[16], int origin) {
  struct seen *seen = ctx;
  (void)id;
  seen->calls++;
  seen->origin = origin;
  snprintf(seen->type, sizeof seen->type, "%s", type);
}

static void test_change_callback_fires_once_per_record_after_commit(void) {
  uint8_t id[STEK_ID_BYTES];
  struct seen seen = {0};
  stek_id_new(id);
  stek_set_change_callback(s, on_change, &seen);
  CHECK_OK(stek_begin(s));
  CHECK_OK(stek_put(s, "directory", id, "a", str("1")));
  CHECK_OK(stek_put(s, "directory", id, "b", str("2")));
  CHECK(seen.calls == 0);
  CHECK_OK(stek_commit(s));
  stek_set_change_callback(s, NULL, NULL);
  CHECK(seen.calls == 1 && seen.origin == STEK_ORIGIN_LOCAL &&
        strcmp(seen.type, "directory") == 0);
}

static int count_cb(void *ctx, const stek_record *r) {
  (void)r;
  ++*(int *)ctx;
  return 0;
}

static void test_list_by_type_skips_deleted(void) {
  uint8_t a[STEK_ID_BYTES], b[STEK_ID_BYTES];
  int n = 0;
  stek_id_new(a);
  stek_id_new(b);
  CHECK_OK(stek_put(s, "kind.x", a, "f", str("1")));
  CHECK_OK(stek_put(s, "kind.x", b, "f", str("2")));
  CHECK_OK(stek_delete(s, "kind.x", b));
  CHECK_OK(stek_list(s, "kind.x", count_cb, &n));
  CHECK(n == 1);
}

static void test_records_survive_reopen(void) {
  uint8_t id[STEK_ID_BYTES], h1[32], h2[32];
  char path[600];
  stek_record *r;
  stek_id_new(id);
  CHECK_OK(stek_put(s, "directory", id, "org", str("Ligo")));
  CHECK_OK(stek_state_hash(s, h1));
  stek_close(s);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  CHECK_OK(stek_open(&s, path, NULL)); /* one space: it is current again */
  CHECK_OK(stek_get(s, "directory", id, &r));
  stek_record_free(r);
  CHECK_OK(stek_state_hash(s, h2));
  CHECK(memcmp(h1, h2, 32) == 0);
}

static void test_ids_round_trip_through_hex(void) {
  uint8_t id[STEK_ID_BYTES], back[STEK_ID_BYTES];
  char hex[33];
  stek_id_new(id);
  stek_id_to_hex(id, hex);
  CHECK_OK(stek_id_from_hex(hex, back));
  CHECK(memcmp(id, back, sizeof id) == 0);
  CHECK_RC(stek_id_from_hex("xyz", back), STEK_EINVAL);
  CHECK_RC(stek_id_from_hex("0123456789abcdef0123456789abcdeg", back), STEK_EINVAL);
}

/* Every result code stek.h defines (STEK_OK, STEK_DUPLICATE and each
 * STEK_E...) has its own message: not the fallback for unknown codes, and
 * no two alike.  The codes are read from the header, so a code added
 * later without a message fails here. */
static void test_every_code_has_a_message(void) {
  FILE *f = fopen(STEK_PUBLIC_HEADER, "r");
  char line[512], name[64];
  int codes[64], n = 0, value;
  const char *unknown = stek_strerror(-1000);
  CHECK(f != NULL);
  while (f && fgets(line, sizeof line, f)) {
    if (sscanf(line, "#define STEK_%63[A-Z_] (%d)", name, &value) != 2 &&
        sscanf(line, "#define STEK_%63[A-Z_] %d", name, &value) != 2)
      continue;
    if (strcmp(name, "OK") != 0 && strcmp(name, "DUPLICATE") != 0 &&
        (name[0] != 'E' || name[1] == '\0'))
      continue;
    CHECK(n < 64);
    codes[n++] = value;
  }
  if (f) fclose(f);
  CHECK(n >= 23); /* STEK_OK, STEK_DUPLICATE, STEK_ERROR ... STEK_EBUSY */
  for (int i = 0; i < n; i++) {
    const char *m = stek_strerror(codes[i]);
    CHECK(m && *m && strcmp(m, unknown) != 0);
    for (int j = 0; j < i; j++) CHECK(strcmp(m, stek_strerror(codes[j])) != 0);
  }
  CHECK(strcmp(stek_version(), STEK_VERSION_STRING) == 0);
  CHECK(stek_version_number() == STEK_VERSION_NUMBER);
}

static void test_space_share_gives_id_name_and_keys_to_that_device_only(void) {
  test_dir other;
  char path[600];
  stek *b, *c;
  uint8_t dev[32], id[16], got[16], *share;
  size_t len, n;
  const char *name;
  test_dir_make(&other);
  test_dir_file(&other, "b.db", path, sizeof path);
  CHECK_OK(stek_open(&b, path, NULL));
  test_dir_file(&other, "c.db", path, sizeof path);
  CHECK_OK(stek_open(&c, path, NULL));
  stek_device_id(b, dev);
  CHECK_OK(stek_space_get(s, 0, id, &name));
  uint8_t cur[16];
  CHECK_OK(stek_space_current(s, cur));
  CHECK(memcmp(cur, id, 16) == 0);
  CHECK_RC(stek_space_current(c, cur), STEK_ENOSPACE);
  CHECK_OK(stek_space_share(s, dev, &share, &len));
  CHECK_RC(stek_space_accept(c, share, len), STEK_EMALFORMED); /* not c's */
  CHECK_OK(stek_space_accept(b, share, len));
  CHECK_RC(stek_space_accept(b, share, len), STEK_DUPLICATE);
  share[len / 2] ^= 1;
  CHECK_RC(stek_space_accept(c, share, len), STEK_EMALFORMED);
  stek_free(share);
  CHECK_OK(stek_space_count(b, &n));
  CHECK(n == 1);
  CHECK_OK(stek_space_get(b, 0, got, &name));
  CHECK(memcmp(got, id, 16) == 0 && strcmp(name, "Bezemheide") == 0);
  CHECK(strcmp(stek_errmsg(b), "") == 0);
  stek_close(b);
  stek_close(c);
  test_dir_remove(&other);
}

static void test_identity_seed_makes_the_device_key_reproducible(void) {
  test_dir other;
  char p1[600], p2[600], p3[600];
  uint8_t seed[32] = {7}, d1[32], d2[32], d3[32];
  stek_config cfg;
  stek *x, *y, *z;
  stek_config_init(&cfg);
  cfg.identity_seed = seed;
  test_dir_make(&other);
  test_dir_file(&other, "1", p1, sizeof p1);
  test_dir_file(&other, "2", p2, sizeof p2);
  test_dir_file(&other, "3", p3, sizeof p3);
  CHECK_OK(stek_open(&x, p1, &cfg));
  CHECK_OK(stek_open(&y, p2, &cfg));
  CHECK_OK(stek_open(&z, p3, NULL));
  stek_device_id(x, d1);
  stek_device_id(y, d2);
  stek_device_id(z, d3);
  stek_close(x);
  stek_close(y);
  stek_close(z);
  test_dir_remove(&other);
  CHECK(memcmp(d1, d2, 32) == 0);
  CHECK(memcmp(d1, d3, 32) != 0);
}

#define T(fn) do { open_fresh(); RUN(fn); close_fresh(); } while (0)

int main(void) {
  T(test_put_then_get_returns_fields);
  T(test_later_put_overwrites_field);
  T(test_put_null_removes_field);
  T(test_delete_hides_record_and_later_put_does_not_resurrect);
  T(test_set_elements_add_and_remove);
  T(test_transaction_is_one_change_and_rollback_discards);
  T(test_transaction_misuse_is_a_state_error);
  T(test_invalid_arguments_are_refused);
  T(test_change_callback_fires_once_per_record_after_commit);
  T(test_list_by_type_skips_deleted);
  T(test_records_survive_reopen);
  T(test_ids_round_trip_through_hex);
  T(test_every_code_has_a_message);
  T(test_space_share_gives_id_name_and_keys_to_that_device_only);
  T(test_identity_seed_makes_the_device_key_reproducible);
  return test_report();
}
