/*
 * test_discovery.c -- LAN discovery: the beacon format (sync/beacon) and
 * the announcer and listener over real UDP (net/discovery).
 *
 * Network traffic goes to 127.0.0.1 only: every announcer here is given
 * that address, every listener binds it, and the port is one the kernel
 * just said was free, so parallel runs do not meet.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "crypto/crypto.h"
#include "net/discovery.h"
#include "sync/beacon.h"
#include "test.h"

/* ---- helpers ---- */

static void hex_to(const char *hex, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
}

static void fill(uint8_t *b, size_t n, uint8_t first) {
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(first + i);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A UDP port on 127.0.0.1 that was free a moment ago. */
static uint16_t free_udp_port(void) {
  struct sockaddr_in sa = {0};
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    perror("free_udp_port");
    exit(2);
  }
  close(fd);
  return ntohs(sa.sin_port);
}

/* 2026-01-01T00:00:00Z: window 2945376. */
#define T0 1767225600000LL
#define VECTOR_HEX                                                          \
  "9401c410808182838485868788898a8b8c8d8e8fc410a10ec34f31a1c983c2de557b01" \
  "05d900cd1267"

/* ---- the beacon format ---- */

static void test_beacon_matches_the_published_vector(void) {
  uint8_t key[32], salt[16], b[BEACON_MAX_BYTES], want[41], kb[32], kb_want[32];
  size_t len;
  fill(key, 32, 0x00);
  fill(salt, 16, 0x80);
  hex_to(VECTOR_HEX, want, sizeof want);
  CHECK_OK(beacon_encode(b, &len, key, T0 + 123456, 4711, salt));
  CHECK(len == sizeof want);
  CHECK(!memcmp(b, want, len));
  beacon_key(kb, key);
  hex_to("58c631f75af05a053f11ff79a22e797481896c03ff81ea3fdf75905cde88b80a",
         kb_want, 32);
  CHECK(!memcmp(kb, kb_want, 32));
  /* docs/PROTOCOL.md states the same bytes (ctest runs in the source tree). */
  FILE *f = fopen("docs/PROTOCOL.md", "rb");
  CHECK(f != NULL);
  static char doc[1 << 20];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[n] = 0;
  CHECK(strstr(doc, "beacon: 9401c410808182838485868788898a8b8c8d8e8fc410a10ec34f31a1c983c2de") &&
        strstr(doc, "\n  557b0105d900cd1267") &&
        strstr(doc, "k_beacon: 58c631f75af05a053f11ff79a22e797481896c03ff81ea3fdf75905cde88b80a"));
}

static void test_member_recognises_its_space(void) {
  uint8_t keys[3][32], b[BEACON_MAX_BYTES];
  size_t len;
  uint16_t port = 0;
  for (int i = 0; i < 3; i++) cr_random(keys[i], 32);
  CHECK_OK(beacon_encode(b, &len, keys[1], T0, 40000, NULL));
  CHECK(beacon_match(b, len, (const uint8_t(*)[32])keys, 3, T0, &port) == 1);
  CHECK(port == 40000);
  CHECK(beacon_match(b, len, (const uint8_t(*)[32])keys + 1, 1, T0, NULL) == 0);
}

static void test_stranger_does_not_recognise(void) {
  uint8_t mine[32], theirs[2][32], b[BEACON_MAX_BYTES];
  size_t len;
  uint16_t port = 7;
  cr_random(mine, 32);
  cr_random(theirs, sizeof theirs);
  CHECK_OK(beacon_encode(b, &len, mine, T0, 40000, NULL));
  CHECK_RC(beacon_match(b, len, (const uint8_t(*)[32])theirs, 2, T0, &port),
           STEK_ENOTFOUND);
  CHECK(port == 7); /* untouched */
  CHECK_RC(beacon_match(b, len, NULL, 0, T0, &port), STEK_ENOTFOUND);
}

static void test_adjacent_windows_accepted_others_rejected(void) {
  uint8_t key[1][32], b[BEACON_MAX_BYTES];
  size_t len;
  const uint8_t(*k)[32] = (const uint8_t(*)[32])key;
  cr_random(key[0], 32);
  CHECK_OK(beacon_encode(b, &len, key[0], T0, 1, NULL));
  CHECK(beacon_match(b, len, k, 1, T0 - 1, NULL) == 0);           /* window before */
  CHECK(beacon_match(b, len, k, 1, T0 + 2 * 600000 - 1, NULL) == 0); /* after */
  CHECK_RC(beacon_match(b, len, k, 1, T0 + 2 * 600000, NULL), STEK_ENOTFOUND);
  CHECK_RC(beacon_match(b, len, k, 1, T0 - 600000 - 1, NULL), STEK_ENOTFOUND);
  CHECK_RC(beacon_match(b, len, k, 1, T0 + 24 * 3600 * 1000LL, NULL), STEK_ENOTFOUND);
  /* before the epoch nothing is sent, nothing matches */
  CHECK_RC(beacon_encode(b, &len, key[0], -1, 1, NULL), STEK_EINVAL);
  CHECK_RC(beacon_match(b, len, k, 1, -1, NULL), STEK_ENOTFOUND);
}

static void test_tags_of_two_windows_are_unlinkable(void) {
  uint8_t key[32], salt[16], a[BEACON_MAX_BYTES], b[BEACON_MAX_BYTES];
  size_t la, lb;
  cr_random(key, 32);
  fill(salt, 16, 0x80);
  /* Even with the same salt and port, a new window gives a new tag. */
  CHECK_OK(beacon_encode(a, &la, key, T0, 4711, salt));
  CHECK_OK(beacon_encode(b, &lb, key, T0 + 600000, 4711, salt));
  CHECK(la == lb && memcmp(a + 22, b + 22, 16) != 0);
  /* And two beacons of one window share neither salt nor tag. */
  CHECK_OK(beacon_encode(a, &la, key, T0, 4711, NULL));
  CHECK_OK(beacon_encode(b, &lb, key, T0, 4711, NULL));
  CHECK(memcmp(a + 4, b + 4, 16) != 0 && memcmp(a + 22, b + 22, 16) != 0);
}

static void test_altered_beacon_not_recognised(void) {
  uint8_t key[1][32], b[BEACON_MAX_BYTES];
  size_t len;
  const uint8_t(*k)[32] = (const uint8_t(*)[32])key;
  cr_random(key[0], 32);
  CHECK_OK(beacon_encode(b, &len, key[0], T0, 4711, NULL));
  CHECK(b[len - 3] == 0xcd);
  for (size_t i = 4; i < len; i++) { /* every salt, tag and port byte */
    if (i == 20 || i == 21 || i == len - 3) continue; /* bin8 header, uint16 marker */
    b[i] ^= 0x01;
    CHECK_RC(beacon_match(b, len, k, 1, T0, NULL), STEK_ENOTFOUND);
    b[i] ^= 0x01;
  }
  CHECK(beacon_match(b, len, k, 1, T0, NULL) == 0);
}

static void test_malformed_beacons_rejected(void) {
  uint8_t key[1][32], b[64], good[BEACON_MAX_BYTES];
  size_t len;
  const uint8_t(*k)[32] = (const uint8_t(*)[32])key;
  cr_random(key[0], 32);
  CHECK_OK(beacon_encode(good, &len, key[0], T0, 4711, NULL));
#define TRY(want)                                                          \
  CHECK_RC(beacon_match(b, n, k, 1, T0, NULL), want)
  size_t n;
  /* another format version */
  memcpy(b, good, len), n = len, b[1] = 2;
  TRY(STEK_EVERSION);
  b[0] = 0x91, n = 2;
  TRY(STEK_EVERSION);
  /* three fields, five fields */
  memcpy(b, good, len), n = len - 3, b[0] = 0x93;
  TRY(STEK_EMALFORMED);
  memcpy(b, good, len), b[0] = 0x95, b[len] = 0x00, n = len + 1;
  TRY(STEK_EMALFORMED);
  /* a trailing byte */
  memcpy(b, good, len), b[len] = 0x00, n = len + 1;
  TRY(STEK_EMALFORMED);
  /* not an array; an empty array; a map */
  b[0] = 0x01, n = 1;
  TRY(STEK_EMALFORMED);
  b[0] = 0x90, n = 1;
  TRY(STEK_EMALFORMED);
  b[0] = 0x80, n = 1;
  TRY(STEK_EMALFORMED);
  /* a salt of 15 bytes (and the rest shifted) */
  memcpy(b, good, len), b[3] = 15, n = len;
  CHECK(beacon_match(b, n, k, 1, T0, NULL) < 0 &&
        beacon_match(b, n, k, 1, T0, NULL) != STEK_ENOTFOUND);
  /* a str where the salt's bin should be */
  memcpy(b, good, len), b[2] = 0xd9, n = len;
  TRY(STEK_EMALFORMED);
  /* port non-canonical (uint16 for 5), and over 65535 */
  memcpy(b, good, len), b[len - 2] = 0x00, b[len - 1] = 0x05, n = len;
  TRY(STEK_EMALFORMED);
  memcpy(b, good, len - 3);
  b[len - 3] = 0xce, b[len - 2] = 0x00, b[len - 1] = 0x01, b[len] = 0x00, b[len + 1] = 0x00;
  n = len + 2;
  TRY(STEK_EMALFORMED);
  /* a negative port */
  memcpy(b, good, len - 3), b[len - 3] = 0xff, n = len - 2;
  TRY(STEK_EMALFORMED);
  /* a huge datagram is not read at all */
  memset(b, 0x94, sizeof b), n = sizeof b;
  TRY(STEK_EMALFORMED);
#undef TRY
}

static void test_truncated_beacons_rejected(void) {
  uint8_t key[1][32], b[BEACON_MAX_BYTES];
  size_t len;
  const uint8_t(*k)[32] = (const uint8_t(*)[32])key;
  cr_random(key[0], 32);
  CHECK_OK(beacon_encode(b, &len, key[0], T0, 4711, NULL));
  for (size_t n = 0; n < len; n++)
    CHECK_RC(beacon_match(b, n, k, 1, T0, NULL), STEK_ETRUNCATED);
  CHECK_RC(beacon_match(NULL, 0, k, 1, T0, NULL), STEK_ETRUNCATED);
}

static void test_random_bytes_never_match(void) {
  uint8_t key[2][32], b[64];
  const uint8_t(*k)[32] = (const uint8_t(*)[32])key;
  cr_random(key, sizeof key);
  for (int i = 0; i < 20000; i++) {
    size_t n = cr_uniform(sizeof b + 1);
    cr_random(b, n);
    if (n > 1 && (i & 1)) b[0] = 0x94, b[1] = 0x01; /* get past the header */
    int rc = beacon_match(b, n, k, 2, T0, NULL);
    CHECK(rc < 0);
  }
}

/* ---- over UDP on 127.0.0.1 ---- */

typedef struct world {
  test_dir dir;
  char a_path[600], b_path[600], c_path[600];
  stek *a, *b, *c;  /* a and b share a space; c holds another */
  uint8_t space[STEK_ID_BYTES], other[STEK_ID_BYTES];
  uint16_t port;
} world;

static int world_make(world *w) {
  uint8_t dev[STEK_DEVICE_ID_BYTES], *sealed = NULL;
  size_t len;
  memset(w, 0, sizeof *w);
  test_dir_make(&w->dir);
  test_dir_file(&w->dir, "a.db", w->a_path, sizeof w->a_path);
  test_dir_file(&w->dir, "b.db", w->b_path, sizeof w->b_path);
  test_dir_file(&w->dir, "c.db", w->c_path, sizeof w->c_path);
  if (stek_open(&w->a, w->a_path, NULL) || stek_open(&w->b, w->b_path, NULL) ||
      stek_open(&w->c, w->c_path, NULL))
    return -1;
  if (stek_space_create(w->a, "team", w->space) ||
      stek_space_create(w->c, "elsewhere", w->other))
    return -1;
  stek_device_id(w->b, dev);
  if (stek_space_share(w->a, dev, &sealed, &len)) return -1;
  int rc = stek_space_accept(w->b, sealed, len);
  stek_free(sealed);
  w->port = free_udp_port();
  return rc;
}

static void world_free(world *w) {
  stek_close(w->a);
  stek_close(w->b);
  stek_close(w->c);
  test_dir_remove(&w->dir);
}

static stek_announcer *announce(const world *w, const char *path, int64_t period) {
  stek_announce_options o;
  stek_announcer *an = NULL;
  stek_announce_options_init(&o);
  o.address = "127.0.0.1";
  o.port = w->port;
  o.period_ms = period;
  o.serve_port = 4711;
  if (stek_announcer_start(&an, path, NULL, &o) != STEK_OK) {
    fprintf(stderr, "  announcer: %s\n", stek_announcer_errmsg(an));
    stek_announcer_stop(an);
    return NULL;
  }
  return an;
}

static stek_discover_options listen_opts(const world *w, int64_t timeout) {
  stek_discover_options o;
  stek_discover_options_init(&o);
  o.address = "127.0.0.1";
  o.port = w->port;
  o.timeout_ms = timeout;
  return o;
}

typedef struct found {
  int calls;
  stek_peer peer;
  int answer; /* what the callback returns */
} found;

static int on_peer(void *ctx, const stek_peer *p) {
  found *f = ctx;
  f->calls++;
  f->peer = *p;
  return f->answer;
}

static void test_member_finds_announcer_over_loopback(void) {
  world w;
  found f = {0, {{0}, {0}, 0}, 1};
  CHECK(world_make(&w) == 0);
  stek_announcer *an = announce(&w, w.a_path, 200);
  CHECK(an != NULL);
  stek_discover_options o = listen_opts(&w, 5000);
  int64_t t = mono_ms();
  int rc = stek_discover(w.b, &o, on_peer, &f);
  int64_t took = mono_ms() - t;
  stek_announcer_stop(an);
  world_free(&w);
  CHECK_RC(rc, 1); /* stopped by the callback, not the timeout */
  CHECK(f.calls == 1);
  CHECK(!memcmp(f.peer.space, w.space, STEK_ID_BYTES));
  CHECK(!strcmp(f.peer.host, "127.0.0.1"));
  CHECK(f.peer.port == 4711);
  CHECK(took < 3000); /* about one period; far under the timeout */
}

static void test_each_device_reported_once_per_run(void) {
  world w;
  found f = {0, {{0}, {0}, 0}, 0};
  disc_stats st = {0, 0};
  CHECK(world_make(&w) == 0);
  stek_announcer *an = announce(&w, w.a_path, 20);
  CHECK(an != NULL);
  stek_discover_options o = listen_opts(&w, 400);
  int rc = disc_listen(w.b, &o, on_peer, &f, &st);
  uint64_t rounds = disc_announcer_rounds(an);
  stek_announcer_stop(an);
  world_free(&w);
  CHECK_OK(rc); /* ran to its timeout */
  CHECK(rounds >= 3);
  CHECK(st.recognised >= 2);
  CHECK(f.calls == 1);
}

static void test_store_of_another_space_sees_nothing(void) {
  world w;
  found f = {0, {{0}, {0}, 0}, 1};
  disc_stats st = {0, 0};
  CHECK(world_make(&w) == 0);
  stek_announcer *an = announce(&w, w.a_path, 20);
  CHECK(an != NULL);
  stek_discover_options o = listen_opts(&w, 400);
  int rc = disc_listen(w.c, &o, on_peer, &f, &st);
  stek_announcer_stop(an);
  world_free(&w);
  CHECK_OK(rc);
  CHECK(st.heard >= 2); /* the beacons arrived ... */
  CHECK(st.recognised == 0 && f.calls == 0); /* ... and meant nothing */
}

static void test_discover_needs_a_space_and_an_address(void) {
  world w;
  stek *empty;
  char path[600];
  CHECK(world_make(&w) == 0);
  test_dir_file(&w.dir, "empty.db", path, sizeof path);
  CHECK_OK(stek_open(&empty, path, NULL));
  stek_discover_options o = listen_opts(&w, 10);
  int rc1 = stek_discover(empty, &o, on_peer, NULL);
  o.address = "localhost"; /* numeric addresses only */
  int rc2 = stek_discover(w.b, &o, on_peer, NULL);
  o.address = "127.0.0.1";
  o.timeout_ms = -1;
  int rc3 = stek_discover(w.b, &o, on_peer, NULL);
  stek_close(empty);
  world_free(&w);
  CHECK_RC(rc1, STEK_ENOSPACE);
  CHECK_RC(rc2, STEK_EINVAL);
  CHECK_RC(rc3, STEK_EINVAL);
}

static void test_announcer_rejects_bad_options(void) {
  world w;
  stek_announcer *an = NULL;
  stek_announce_options o;
  CHECK(world_make(&w) == 0);
  stek_announce_options_init(&o);
  o.address = "not-an-address";
  int rc1 = stek_announcer_start(&an, w.a_path, NULL, &o);
  int has_msg = an && *stek_announcer_errmsg(an);
  stek_announcer_stop(an);
  o.address = "127.0.0.1";
  o.period_ms = 0;
  int rc2 = stek_announcer_start(&an, w.a_path, NULL, &o);
  stek_announcer_stop(an);
  stek_announcer_stop(NULL);
  world_free(&w);
  CHECK_RC(rc1, STEK_EINVAL);
  CHECK(has_msg);
  CHECK_RC(rc2, STEK_EINVAL);
}

int main(void) {
  if (cr_setup() != 0) return 2;
  RUN(test_beacon_matches_the_published_vector);
  RUN(test_member_recognises_its_space);
  RUN(test_stranger_does_not_recognise);
  RUN(test_adjacent_windows_accepted_others_rejected);
  RUN(test_tags_of_two_windows_are_unlinkable);
  RUN(test_altered_beacon_not_recognised);
  RUN(test_malformed_beacons_rejected);
  RUN(test_truncated_beacons_rejected);
  RUN(test_random_bytes_never_match);
  RUN(test_member_finds_announcer_over_loopback);
  RUN(test_each_device_reported_once_per_run);
  RUN(test_store_of_another_space_sees_nothing);
  RUN(test_discover_needs_a_space_and_an_address);
  RUN(test_announcer_rejects_bad_options);
  return test_report();
}
