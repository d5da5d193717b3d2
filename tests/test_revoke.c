/* Membership and revocation: the new key epoch reaches the devices that
 * stay and no other, a revoked device completes no handshake and reads
 * nothing written after its revocation (sessions, relays, bundles), and
 * its later changes are refused -- or purged, if they came first. */
#include "api.h"
#include "test_sess.h"

static test_dir dir;
static test_clock clk = {1767225600000};

static stek *open_at(const char *name) {
  stek_config cfg;
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &clk;
  return test_store(&dir, name, &cfg);
}

static void tick(void) { clk.now_ms += 1000; }

/* One session over an in-memory pipe: 0 if both ended DONE, else the
 * client's error, or the server's (in *server_err too). */
static int pump(stek *client, stek *server, int relay, int *server_err) {
  sess *c, *sv;
  int rc = relay ? sess_new_relay(&c, client) : sess_new(&c, client, 1);
  if (rc) return rc;
  if ((rc = sess_new(&sv, server, 0))) return rc;
  test_sess_drive(c, sv);
  rc = sess_state(c) == SESS_DONE && sess_state(sv) == SESS_DONE ? 0
       : sess_error(c) ? sess_error(c) : sess_error(sv) ? sess_error(sv) : STEK_ERROR;
  if (server_err) *server_err = sess_error(sv);
  sess_free(c);
  sess_free(sv);
  return rc;
}

static int sync2(stek *a, stek *b) { return pump(a, b, 0, NULL); }

static int note(stek *s, const char *text) {
  uint8_t id[16];
  stek_value v = {.kind = STEK_VALUE_STR, .str = text};
  stek_id_new(id);
  tick();
  return stek_put(s, "note", id, "text", &v);
}

struct find {
  const char *text;
  int found;
};

static int find_cb(void *ctx, const stek_record *rec) {
  struct find *f = ctx;
  stek_value v;
  if (stek_record_find(rec, "text", &v) == 0 && v.kind == STEK_VALUE_STR &&
      !strcmp(v.str, f->text))
    f->found = 1;
  return 0;
}

static int holds(stek *s, const char *text) {
  struct find f = {text, 0};
  return stek_list(s, "note", find_cb, &f) == 0 && f.found;
}

static int count_cb(void *ctx, const stek_record *rec) {
  (void)rec;
  ++*(int *)ctx;
  return 0;
}

static int same_hash(stek *a, stek *b) {
  uint8_t ha[32], hb[32];
  return !stek_state_hash(a, ha) && !stek_state_hash(b, hb) && !memcmp(ha, hb, 32);
}

static uint64_t count(stek *s) {
  uint64_t n = 0;
  return stek_change_count(s, &n) == 0 ? n : UINT64_MAX;
}

/* The newest change's wire (by HLC), copied. */
struct last {
  uint8_t *p;
  size_t len;
};

static int last_cb(void *ctx, const uint8_t *b, size_t len) {
  struct last *l = ctx;
  free(l->p);
  l->p = malloc(len);
  memcpy(l->p, b, len);
  l->len = len;
  return 0;
}

/* a creates the space, b and d join, each writes a note, and all meet. */
static void three(stek **a, stek **b, stek **d) {
  uint8_t space[16];
  *a = open_at("a");
  *b = open_at("b");
  *d = open_at("d");
  CHECK_OK(stek_space_create(*a, "team", space));
  test_join(*a, *b);
  test_join(*a, *d);
  CHECK_OK(note(*a, "from a"));
  CHECK_OK(note(*b, "from b"));
  CHECK_OK(note(*d, "from d"));
  CHECK_OK(sync2(*b, *a));
  CHECK_OK(sync2(*d, *a));
  CHECK_OK(sync2(*b, *a));
}

static void revoke(stek *by, stek *who) {
  uint8_t dev[STEK_DEVICE_ID_BYTES];
  stek_device_id(who, dev);
  tick();
  CHECK_OK(stek_device_revoke(by, dev));
}

static void path_of(const char *name, char *out, size_t cap) { test_dir_file(&dir, name, out, cap); }

static void test_new_epoch_reaches_members_and_not_the_revoked_device(void) {
  stek *a, *b, *d;
  char bundle[600];
  uint64_t n;
  test_dir_make(&dir);
  three(&a, &b, &d);
  revoke(a, d);
  CHECK_OK(note(a, "after the revocation"));
  CHECK_OK(sync2(b, a)); /* b learns of it by sync */
  path_of("after.bundle", bundle, sizeof bundle);
  CHECK_OK(stek_bundle_export(a, bundle, 0, &n));
  /* a bundle is keyed by the newest epoch: b can read it, d cannot */
  CHECK_OK(stek_bundle_import(b, bundle, NULL, NULL));
  CHECK_RC(stek_bundle_import(d, bundle, NULL, NULL), STEK_ENOSPACE);
  CHECK(!holds(d, "after the revocation"));
  /* b's own bundle too: b computes the same epoch key as a */
  CHECK_OK(stek_bundle_export(b, bundle, 0, &n));
  CHECK_RC(stek_bundle_import(a, bundle, NULL, NULL), STEK_OK);
  CHECK_RC(stek_bundle_import(d, bundle, NULL, NULL), STEK_ENOSPACE);
  stek_close(a);
  stek_close(b);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_bundle_carries_the_revocation_to_a_member_offline(void) {
  stek *a, *b, *d;
  char bundle[600];
  uint64_t n, got;
  test_dir_make(&dir);
  three(&a, &b, &d);
  revoke(a, d);
  CHECK_OK(note(a, "by USB stick"));
  path_of("stick.bundle", bundle, sizeof bundle);
  CHECK_OK(stek_bundle_export(a, bundle, 0, &n));
  CHECK(n == count(a));
  /* b has heard of nothing: the bundle's prelude (under the space
   * secret) brings the revocation, then b opens the rest */
  CHECK_OK(stek_bundle_import(b, bundle, &got, NULL));
  CHECK(holds(b, "by USB stick"));
  CHECK(same_hash(a, b));
  /* d reads the prelude -- it learns it was revoked -- and nothing else */
  CHECK_RC(stek_bundle_import(d, bundle, NULL, NULL), STEK_ENOSPACE);
  CHECK(!holds(d, "by USB stick"));
  stek_close(a);
  stek_close(b);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_revoked_device_completes_no_handshake(void) {
  stek *a, *b, *d;
  int server_err = 0;
  test_dir_make(&dir);
  three(&a, &b, &d);
  revoke(a, d);
  CHECK_OK(sync2(b, a));
  CHECK_OK(note(a, "secret after"));
  uint64_t before = count(d);
  /* d calls a member: the member refuses after reading d's key, and
   * tells d (one ERR) that it is revoked */
  CHECK_RC(pump(d, a, 0, &server_err), STEK_EREVOKED);
  CHECK_RC(server_err, STEK_EREVOKED);
  CHECK(strstr(stek_errmsg(d), "this device was revoked") != NULL);
  CHECK(strstr(stek_errmsg(a), "the peer's device was revoked") != NULL);
  CHECK_RC(pump(d, b, 0, &server_err), STEK_EREVOKED);
  CHECK_RC(server_err, STEK_EREVOKED);
  /* a member calls d: it refuses before sending its last message (d is
   * told nothing: the member has no transport keys yet) */
  CHECK_RC(pump(a, d, 0, NULL), STEK_EREVOKED);
  CHECK(strstr(stek_errmsg(a), "the peer's device was revoked") != NULL);
  CHECK(count(d) == before);
  CHECK(!holds(d, "secret after"));
  CHECK(strstr(stek_errmsg(a), "revoked") != NULL);
  stek_close(a);
  stek_close(b);
  stek_close(d);
  test_dir_remove(&dir);
}

/* Over TCP: the revoked device's stek_sync() fails with STEK_EREVOKED and
 * says so (not "the peer closed the connection"); a member's is unaffected. */
static void test_revoked_device_is_told_over_tcp(void) {
  stek *a, *b, *d;
  stek_server *srv;
  stek_config cfg;
  char path[600];
  test_dir_make(&dir);
  three(&a, &b, &d);
  revoke(a, d);
  CHECK_OK(note(a, "secret after"));
  stek_close(a);
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &clk;
  path_of("a", path, sizeof path);
  int rc = stek_server_start(&srv, path, &cfg, "127.0.0.1", 0, NULL);
  if (rc) fprintf(stderr, "  server: %s\n", stek_server_errmsg(srv));
  CHECK_OK(rc);
  if (!rc) {
    int port = stek_server_port(srv);
    CHECK_RC(stek_sync(d, "127.0.0.1", port, NULL, NULL), STEK_EREVOKED);
    CHECK(strstr(stek_errmsg(d), "this device was revoked from the space") != NULL);
    CHECK(!holds(d, "secret after"));
    CHECK_OK(stek_sync(b, "127.0.0.1", port, NULL, NULL));
    CHECK(holds(b, "secret after"));
  }
  stek_server_stop(srv);
  stek_close(b);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_changes_of_revoked_device_after_revocation_are_refused(void) {
  stek *a, *b, *d;
  struct last w = {NULL, 0};
  uint8_t h[32], h2[32];
  test_dir_make(&dir);
  three(&a, &b, &d);
  revoke(a, d);
  CHECK_OK(note(d, "written after"));
  CHECK_OK(stek_changes(d, last_cb, &w));
  uint64_t before = count(a);
  CHECK_OK(stek_state_hash(a, h));
  CHECK_RC(stek_ingest(a, w.p, w.len), STEK_EREVOKED);
  CHECK(strstr(stek_errmsg(a), "revoked") != NULL);
  CHECK_OK(stek_state_hash(a, h2));
  CHECK(count(a) == before && !memcmp(h, h2, 32));
  CHECK(holds(a, "from d")); /* what d wrote before stays */
  free(w.p);
  stek_close(a);
  stek_close(b);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_late_revocation_purges_and_converges(void) {
  stek *a, *b, *d, *c;
  struct last w = {NULL, 0};
  test_dir_make(&dir);
  three(&a, &b, &d);
  c = open_at("c");
  test_join(a, c);
  CHECK_OK(sync2(c, a));
  uint8_t entry[16];
  stek_value org = {.kind = STEK_VALUE_STR, .str = "Laatkomer"};
  stek_id_new(entry);
  CHECK_OK(stek_put(d, "directory", entry, "org", &org)); /* before: stays */
  revoke(a, d);          /* b has not heard of it... */
  tick();
  stek_value service = {.kind = STEK_VALUE_STR, .str = "Nachtdienst"};
  CHECK_OK(stek_put(d, "directory", entry, "service", &service)); /* ...nor d */
  CHECK_OK(note(d, "late")); /* when d writes after it */
  CHECK_OK(stek_changes(d, last_cb, &w));
  CHECK_OK(sync2(d, b)); /* b takes d's changes */
  CHECK(holds(b, "late"));
  int found = 0;
  CHECK_OK(stek_directory_search(b, "Nachtdienst", NULL, NULL, count_cb, &found));
  CHECK(found == 1);
  CHECK_OK(sync2(b, a)); /* the revocation arrives: the late changes go */
  CHECK(!holds(b, "late"));
  /* the search index was rebuilt with the records: the entry is still
   * found by its org (written before), no longer by its service */
  stek_record *rec;
  stek_value v;
  CHECK_OK(stek_get(b, "directory", entry, &rec));
  CHECK_RC(stek_record_find(rec, "service", &v), STEK_ENOTFOUND);
  stek_record_free(rec);
  found = 0;
  CHECK_OK(stek_directory_search(b, "Laatkomer", NULL, NULL, count_cb, &found));
  CHECK(found == 1);
  found = 0;
  CHECK_OK(stek_directory_search(b, "Nachtdienst", NULL, NULL, count_cb, &found));
  CHECK(found == 0);
  CHECK(holds(b, "from d"));
  CHECK(same_hash(a, b));
  /* the other order at c: revocation first, then the change is refused */
  CHECK_OK(sync2(c, a));
  CHECK_RC(stek_ingest(c, w.p, w.len), STEK_EREVOKED);
  CHECK(same_hash(a, c));
  CHECK(count(a) == count(b) && count(b) == count(c));
  free(w.p);
  stek_close(a);
  stek_close(b);
  stek_close(c);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_relayed_ops_after_revocation_stay_unreadable(void) {
  stek *a, *b, *d, *r;
  uint8_t dev[32], *share;
  size_t len;
  test_dir_make(&dir);
  three(&a, &b, &d);
  r = open_at("r");
  stek_device_id(r, dev);
  CHECK_OK(stek_relay_share(a, dev, &share, &len));
  CHECK_OK(stek_relay_accept(r, share, len));
  stek_free(share);
  revoke(a, d);
  CHECK_OK(sync2(b, a));
  CHECK_OK(note(a, "relayed secret"));
  CHECK_OK(pump(a, r, 1, NULL)); /* a leaves its ops with the relay */
  uint64_t carried;
  CHECK_OK(stek_relay_count(r, &carried));
  CHECK(carried == count(a));
  /* d still holds the relay capability: it gets the sealed ops, opens
   * those of the old epoch (it has them), and not the new ones */
  uint64_t before = count(d);
  CHECK_OK(pump(d, r, 1, NULL));
  CHECK(!holds(d, "relayed secret"));
  CHECK(count(d) == before);
  /* b, a member, reads them */
  CHECK_OK(pump(b, r, 1, NULL));
  CHECK(holds(b, "relayed secret"));
  CHECK(same_hash(a, b));
  stek_close(a);
  stek_close(b);
  stek_close(d);
  stek_close(r);
  test_dir_remove(&dir);
}

static void test_device_joining_after_revocation_gets_the_epoch(void) {
  stek *a, *b, *d, *e;
  char bundle[600];
  test_dir_make(&dir);
  three(&a, &b, &d);
  revoke(a, d);
  CHECK_OK(sync2(b, a)); /* b hears of it by sync, then lets e join */
  e = open_at("e");
  test_join(b, e);
  CHECK_OK(sync2(e, b)); /* the revocation record itself comes by sync */
  CHECK_OK(note(a, "for e"));
  path_of("e.bundle", bundle, sizeof bundle);
  CHECK_OK(stek_bundle_export(a, bundle, 0, NULL));
  CHECK_OK(stek_bundle_import(e, bundle, NULL, NULL));
  CHECK(holds(e, "for e"));
  stek_close(a);
  stek_close(b);
  stek_close(d);
  stek_close(e);
  test_dir_remove(&dir);
}

static void test_mutual_revocation_resolves_by_time(void) {
  stek *a, *b, *d, *c;
  struct last ra = {NULL, 0}, rd = {NULL, 0};
  test_dir_make(&dir);
  three(&a, &b, &d);
  c = open_at("c");
  test_join(a, c);
  CHECK_OK(sync2(c, a));
  CHECK_OK(sync2(b, a));
  revoke(a, d); /* first */
  revoke(d, a); /* then d, not knowing */
  CHECK_OK(stek_changes(a, last_cb, &ra));
  CHECK_OK(stek_changes(d, last_cb, &rd));
  /* b gets d's revocation first, c gets a's first */
  CHECK_OK(stek_ingest(b, rd.p, rd.len));
  CHECK_OK(stek_ingest(b, ra.p, ra.len));
  CHECK_OK(stek_ingest(c, ra.p, ra.len));
  CHECK_RC(stek_ingest(c, rd.p, rd.len), STEK_EREVOKED);
  CHECK(same_hash(b, c));
  CHECK(count(b) == count(c));
  /* a stays, d is out: b and a still sync, d is refused */
  CHECK_OK(sync2(b, a));
  CHECK(same_hash(a, b));
  int server_err = 0;
  CHECK_RC(pump(d, c, 0, &server_err), STEK_EREVOKED);
  CHECK_RC(server_err, STEK_EREVOKED);
  free(ra.p);
  free(rd.p);
  stek_close(a);
  stek_close(b);
  stek_close(c);
  stek_close(d);
  test_dir_remove(&dir);
}

struct listing {
  uint8_t dev[4][32];
  int revoked[4];
  int n;
};

static int list_cb(void *ctx, const uint8_t device[32], int revoked) {
  struct listing *l = ctx;
  if (l->n < 4) {
    memcpy(l->dev[l->n], device, 32);
    l->revoked[l->n] = revoked;
  }
  l->n++;
  return 0;
}

static int listed_revoked(const struct listing *l, stek *s) {
  uint8_t dev[32];
  stek_device_id(s, dev);
  for (int i = 0; i < l->n && i < 4; i++)
    if (!memcmp(l->dev[i], dev, 32)) return l->revoked[i];
  return -1;
}

static void test_device_list_and_bad_requests(void) {
  stek *a, *b, *d;
  uint8_t self[32], other[32], id[16];
  struct listing l = {0};
  test_dir_make(&dir);
  three(&a, &b, &d);
  CHECK_OK(stek_device_list(a, list_cb, &l));
  CHECK(l.n == 3 && listed_revoked(&l, a) == 0 && listed_revoked(&l, d) == 0);
  stek_device_id(a, self);
  CHECK_RC(stek_device_revoke(a, self), STEK_EINVAL);
  memset(other, 7, sizeof other);
  CHECK_RC(stek_device_revoke(a, other), STEK_ENOTFOUND);
  revoke(a, d);
  uint8_t dev[32];
  stek_device_id(d, dev);
  CHECK_RC(stek_device_revoke(a, dev), STEK_ESTATE);
  memset(&l, 0, sizeof l);
  CHECK_OK(stek_device_list(a, list_cb, &l));
  CHECK(l.n == 3 && listed_revoked(&l, d) == 1 && listed_revoked(&l, b) == 0);
  /* the records behind membership are the library's own */
  stek_value v = {.kind = STEK_VALUE_STR, .str = "x"};
  stek_id_new(id);
  CHECK_RC(stek_put(a, "stek.revocation", id, "device", &v), STEK_EINVAL);
  CHECK_RC(stek_delete(a, "stek.member", id), STEK_EINVAL);
  stek_close(a);
  stek_close(b);
  stek_close(d);
  test_dir_remove(&dir);
}

/* The epoch key derivation, pinned by the vector in docs/PROTOCOL.md §16
 * (the test runs in the source tree). */
static void test_epoch_key_matches_the_protocol_vector(void) {
  uint8_t prev[32], kr[32], next[32];
  char line[128] = "epoch-key: ", buf[512];
  int found = 0;
  for (int i = 0; i < 32; i++) prev[i] = (uint8_t)i, kr[i] = (uint8_t)(0x20 + i);
  stek__epoch_next(next, prev, kr);
  for (int i = 0; i < 32; i++) snprintf(line + 11 + 2 * i, 3, "%02x", next[i]);
  FILE *f = fopen("docs/PROTOCOL.md", "r");
  CHECK(f != NULL);
  while (f && fgets(buf, sizeof buf, f))
    if (!strncmp(buf, line, strlen(line))) found = 1;
  if (f) fclose(f);
  if (!found) printf("  expected in docs/PROTOCOL.md: %s\n", line);
  CHECK(found);
}

int main(void) {
  RUN(test_new_epoch_reaches_members_and_not_the_revoked_device);
  RUN(test_bundle_carries_the_revocation_to_a_member_offline);
  RUN(test_revoked_device_completes_no_handshake);
  RUN(test_revoked_device_is_told_over_tcp);
  RUN(test_changes_of_revoked_device_after_revocation_are_refused);
  RUN(test_late_revocation_purges_and_converges);
  RUN(test_relayed_ops_after_revocation_stay_unreadable);
  RUN(test_device_joining_after_revocation_gets_the_epoch);
  RUN(test_mutual_revocation_resolves_by_time);
  RUN(test_device_list_and_bad_requests);
  RUN(test_epoch_key_matches_the_protocol_vector);
  return test_report();
}
