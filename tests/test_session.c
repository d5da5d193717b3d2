/* sync/session: two state machines over an in-memory pipe. */
#include "crypto/stream.h"
#include "sync/invite.h"
#include "sync/session.h"
#include "test_sess.h"

static const uint8_t *join_psk; /* run(): the client joins by invitation */
static int relay_client;        /* run(): the client syncs with/as a relay */
static size_t client_max_frame, server_max_frame; /* run(): 0 is the default */

/* The frames of one direction, seen as the bytes pass: msgpack bin headers
 * and the largest payload among them. */
typedef struct meter {
  uint8_t hdr[5];
  size_t hn, left, frames, largest;
} meter;

static meter to_server, to_client; /* run(): what each side was handed */

static void meter_feed(meter *m, const uint8_t *p, size_t n) {
  while (n) {
    if (m->left) {
      size_t k = n < m->left ? n : m->left;
      m->left -= k;
      p += k;
      n -= k;
      continue;
    }
    m->hdr[m->hn++] = *p++;
    n--;
    size_t h = m->hdr[0] == 0xc4 ? 2 : m->hdr[0] == 0xc5 ? 3 : 5;
    if (m->hn < h) continue;
    size_t len = 0;
    for (size_t i = 1; i < h; i++) len = len << 8 | m->hdr[i];
    m->hn = 0;
    m->left = len;
    m->frames++;
    if (len > m->largest) m->largest = len;
  }
}

static test_dir dir;

static stek *open_at(const char *name) { return test_store(&dir, name, NULL); }

static void join(stek *from, stek *to) { test_join(from, to); }

/* Move bytes both ways until both are done or one fails.  cut: stop
 * delivering server output after this many bytes (0: never).  flip: flip
 * the byte at this offset of the server's output (0: never). */
static int run(stek *client, stek *server, size_t cut, size_t flip, stek_sync_stats *cs,
               int *server_err) {
  sess *c, *sv;
  int rc = join_psk       ? sess_new_join(&c, client, join_psk)
           : relay_client ? sess_new_relay(&c, client)
                          : sess_new(&c, client, 1);
  if (rc) return rc;
  if ((rc = sess_new(&sv, server, 0))) return rc;
  if (client_max_frame && (rc = sess_set_max_frame(c, client_max_frame))) return rc;
  if (server_max_frame && (rc = sess_set_max_frame(sv, server_max_frame))) return rc;
  memset(&to_server, 0, sizeof to_server);
  memset(&to_client, 0, sizeof to_client);
  size_t from_server = 0;
  for (int round = 0; round < 100000; round++) {
    const uint8_t *p;
    size_t n;
    int moved = 0;
    if (sess_output(c, &p, &n) == 0 && n) {
      uint8_t *copy = malloc(n);
      memcpy(copy, p, n);
      sess_consumed(c, n);
      meter_feed(&to_server, copy, n);
      sess_input(sv, copy, n);
      free(copy);
      moved = 1;
    }
    if (sess_output(sv, &p, &n) == 0 && n) {
      uint8_t *copy = malloc(n);
      memcpy(copy, p, n);
      sess_consumed(sv, n);
      if (flip && from_server <= flip && flip < from_server + n) copy[flip - from_server] ^= 0x20;
      size_t give = n;
      if (cut && from_server + n > cut) give = cut > from_server ? cut - from_server : 0;
      from_server += n;
      meter_feed(&to_client, copy, give);
      if (give) sess_input(c, copy, give);
      free(copy);
      moved = 1;
      if (cut && from_server >= cut) break;
    }
    if (sess_state(c) != SESS_RUNNING && sess_state(sv) != SESS_RUNNING) break;
    if (!moved) break;
  }
  rc = sess_state(c) == SESS_DONE && sess_state(sv) == SESS_DONE ? 0
       : sess_error(c) ? sess_error(c) : sess_error(sv) ? sess_error(sv) : STEK_ERROR;
  if (cs) sess_stats(c, cs);
  if (server_err) *server_err = sess_error(sv);
  sess_free(c);
  sess_free(sv);
  return rc;
}

static int same_hash(stek *a, stek *b) {
  uint8_t ha[32], hb[32];
  return !stek_state_hash(a, ha) && !stek_state_hash(b, hb) && !memcmp(ha, hb, 32);
}

static void test_two_devices_converge(void) {
  stek_sync_stats st;
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  uint8_t space[16];
  char receipt[STEK_RECEIPT_BYTES];
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  CHECK_OK(test_put_n(a, "a", 30));
  CHECK_OK(test_put_n(b, "b", 20));
  CHECK_OK(stek_signal_record(b, "debt", "site", "text", receipt));
  CHECK_OK(run(a, b, 0, 0, &st, NULL));
  CHECK(same_hash(a, b));
  CHECK(st.ops_sent == 30 + TEST_JOIN_CHANGES && st.ops_received == 21);
  CHECK(st.round_trips >= 2 && st.round_trips <= 4);
  CHECK_OK(run(b, a, 0, 0, &st, NULL)); /* nothing left to send */
  CHECK(st.ops_sent == 0 && st.ops_received == 0);
  stek_close(a);
  stek_close(b);
  test_dir_remove(&dir);
}

static void test_three_nodes_converge_through_the_middle(void) {
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b"), *c = open_at("c");
  uint8_t space[16];
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  join(a, c);
  CHECK_OK(test_put_n(a, "a", 10));
  CHECK_OK(test_put_n(c, "c", 10));
  CHECK_OK(run(a, b, 0, 0, NULL, NULL));
  CHECK_OK(run(b, c, 0, 0, NULL, NULL));
  CHECK_OK(run(a, b, 0, 0, NULL, NULL));
  CHECK(same_hash(a, c) && same_hash(a, b)); /* a and c never met */
  stek_close(a);
  stek_close(b);
  stek_close(c);
  test_dir_remove(&dir);
}

static void test_peer_of_another_space_is_refused(void) {
  test_dir_make(&dir);
  stek *a = open_at("a"), *x = open_at("x");
  uint8_t s1[16], s2[16], before[32], after[32];
  int server_err = 0;
  CHECK_OK(stek_space_create(a, "one", s1));
  CHECK_OK(stek_space_create(x, "two", s2));
  CHECK_OK(test_put_n(x, "x", 5));
  CHECK_OK(stek_state_hash(a, before));
  CHECK(run(x, a, 0, 0, NULL, &server_err) != 0);
  CHECK(server_err == STEK_ESIGNATURE);
  CHECK_OK(stek_state_hash(a, after));
  CHECK(memcmp(before, after, 32) == 0);
  stek_close(a);
  stek_close(x);
  test_dir_remove(&dir);
}

/* n changes of about pad bytes each. */
static int put_padded(stek *s, int n, size_t pad) {
  char text[4096];
  for (int i = 0; i < n; i++) {
    uint8_t id[16];
    int k = snprintf(text, sizeof text, "b %d ", i);
    while ((size_t)k < pad && (size_t)k < sizeof text - 1) text[k++] = 'x';
    text[k] = 0;
    stek_value v = {.kind = STEK_VALUE_STR, .str = text};
    stek_id_new(id);
    int rc = stek_put(s, "directory", id, "org", &v);
    if (rc) return rc;
  }
  return 0;
}

/* Bytes of the complete frame at the start of p (n bytes), or 0. */
static size_t whole_frame(const uint8_t *p, size_t n) {
  size_t h = n && p[0] == 0xc4 ? 2 : n && p[0] == 0xc5 ? 3 : 5, len = 0;
  if (n < h) return 0;
  for (size_t i = 1; i < h; i++) len = len << 8 | p[i];
  return n >= h + len ? h + len : 0;
}

typedef struct client_state {
  uint64_t changes;
  uint8_t hash[32];
} client_state;

static int state_of(stek *s, client_state *cs) {
  int rc = stek_change_count(s, &cs->changes);
  return rc ? rc : stek_state_hash(s, cs->hash);
}

/* The client a syncs with the server b, which hands it its output one
 * frame at a time; one byte in the middle of the second large frame
 * (OPS, many changes) is flipped.  *before: a's state just before that
 * frame; *first: a's changes after the first large frame; *large: the
 * large frames handed over in all. */
static int sync_tampered(stek *a, stek *b, client_state *before, uint64_t *first,
                         size_t *large) {
  sess *c, *sv;
  uint8_t *pend = NULL; /* the server's output not yet handed over */
  size_t npend = 0;
  *large = 0;
  int rc = sess_new(&c, a, 1);
  if (!rc) rc = sess_new(&sv, b, 0);
  if (rc) return rc;
  for (int round = 0; !rc && round < 100000; round++) {
    const uint8_t *p;
    size_t n;
    int moved = 0;
    test_sess_move(c, sv, &moved);
    if (sess_output(sv, &p, &n) == 0 && n) {
      uint8_t *more = realloc(pend, npend + n);
      if (!more) exit(2);
      pend = more;
      memcpy(pend + npend, p, n);
      npend += n;
      sess_consumed(sv, n);
      moved = 1;
    }
    size_t f;
    while (!rc && (f = whole_frame(pend, npend)) > 0) {
      if (f > 8192 && ++*large == 2) {
        if ((rc = state_of(a, before))) break;
        pend[f / 2] ^= 0x20;
      }
      sess_input(c, pend, f); /* once failed, it takes nothing more */
      if (f > 8192 && *large == 1) rc = stek_change_count(a, first);
      memmove(pend, pend + f, npend - f);
      npend -= f;
    }
    if (sess_state(sv) != SESS_RUNNING || !moved) break;
  }
  if (!rc) rc = test_sess_result(c);
  free(pend);
  sess_free(c);
  sess_free(sv);
  return rc;
}

/* PROTOCOL.md §8: a frame that fails to open ends the session with
 * STEK_ESIGNATURE, and nothing from it on is stored -- not its changes,
 * nor those of the good frames the server sends after it. */
static void test_tampered_frame_drops_the_session(void) {
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  uint8_t space[16];
  uint64_t first = 0;
  size_t large = 0;
  client_state before, after;
  char msg[320];
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  CHECK_OK(put_padded(b, 40, 1000)); /* about 40 kB: three OPS messages */
  CHECK_RC(sync_tampered(a, b, &before, &first, &large), STEK_ESIGNATURE);
  CHECK(large == 3); /* a good OPS frame came after the tampered one */
  snprintf(msg, sizeof msg, "%s", stek_errmsg(a));
  CHECK(strstr(msg, "peer data") != NULL);
  CHECK_OK(state_of(a, &after));
  CHECK(first > TEST_JOIN_CHANGES);             /* the first OPS was stored */
  CHECK(before.changes == first);                /* and nothing since, until */
  CHECK(before.changes < TEST_JOIN_CHANGES + 40); /* the tampered one came */
  CHECK(after.changes == before.changes);         /* nothing from it on */
  CHECK(memcmp(after.hash, before.hash, 32) == 0);
  CHECK_OK(run(a, b, 0, 0, NULL, NULL)); /* and a clean session finishes */
  CHECK(same_hash(a, b));
  stek_close(a);
  stek_close(b);
  test_dir_remove(&dir);
}

static void test_cut_sync_resumes_with_only_what_is_missing(void) {
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  uint8_t space[16];
  uint64_t got;
  stek_sync_stats st;
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  CHECK_OK(test_put_n(b, "b", 200));
  static const size_t cuts[] = {64, 700, 7000, 25000};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++)
    run(a, b, cuts[i], 0, NULL, NULL); /* the connection dies at byte cuts[i] */
  CHECK_OK(stek_change_count(a, &got));
  got -= TEST_JOIN_CHANGES; /* a's own, not received */
  if (!(got > 0 && got < 200)) fprintf(stderr, "  got %llu\n", (unsigned long long)got);
  CHECK(got > 0 && got < 200);
  CHECK_OK(run(a, b, 0, 0, &st, NULL));
  CHECK(st.ops_received == 200 - got); /* only what was still missing */
  CHECK(same_hash(a, b));
  stek_close(a);
  stek_close(b);
  test_dir_remove(&dir);
}

/* A pair of members, a holding n changes b lacks and b n that a lacks,
 * synced with these limits: the largest frame each side was handed. */
static int sync_limited(size_t n, size_t client_max, size_t server_max, size_t *largest) {
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  uint8_t space[16];
  stek_sync_stats st;
  int rc = stek_space_create(a, "s", space);
  join(a, b);
  if (!rc) rc = test_put_n(a, "a", (int)n);
  if (!rc) rc = test_put_n(b, "b", (int)n);
  client_max_frame = client_max;
  server_max_frame = server_max;
  if (!rc) rc = run(a, b, 0, 0, &st, NULL);
  client_max_frame = server_max_frame = 0;
  if (!rc && !same_hash(a, b)) rc = STEK_ERROR;
  if (!rc && (st.ops_sent != n + TEST_JOIN_CHANGES || st.ops_received != n)) rc = STEK_ERROR;
  *largest = to_server.largest > to_client.largest ? to_server.largest : to_client.largest;
  stek_close(a);
  stek_close(b);
  test_dir_remove(&dir);
  return rc;
}

/* PROTOCOL.md §8: each side advertises the largest message it accepts and
 * both keep to the smaller -- whichever side set it, and for every message
 * (NEG, WANT, OPS), here with 300 changes each way.  The same sync with
 * the defaults uses frames far above that limit. */
static void test_frame_limit_is_the_smaller_of_both_sides(void) {
  const size_t small = SESS_MIN_FRAME;
  size_t largest;
  CHECK_OK(sync_limited(300, 0, small, &largest)); /* the server is short of memory */
  CHECK(largest <= small + STREAM_OVERHEAD);
  CHECK(to_server.frames > 10 && to_client.frames > 10);
  CHECK_OK(sync_limited(300, small, 0, &largest)); /* the client is */
  CHECK(largest <= small + STREAM_OVERHEAD);
  CHECK_OK(sync_limited(300, 0, 0, &largest));     /* control */
  CHECK(largest > 2 * small);
}

/* A limit below the protocol's minimum is refused where it is set; a peer
 * that advertises one is refused by test_hostile.c's
 * test_frame_limit_below_minimum_is_refused. */
static void test_frame_limit_has_a_minimum(void) {
  test_dir_make(&dir);
  stek *a = open_at("a");
  uint8_t space[16];
  sess *ss;
  CHECK_OK(stek_space_create(a, "s", space));
  CHECK_OK(sess_new(&ss, a, 1));
  int low = sess_set_max_frame(ss, SESS_MIN_FRAME - 1);
  int high = sess_set_max_frame(ss, SESS_MAX_FRAME + 1);
  int ok = sess_set_max_frame(ss, SESS_MIN_FRAME);
  sess_free(ss);
  stek_close(a);
  test_dir_remove(&dir);
  CHECK_RC(low, STEK_EINVAL);
  CHECK_RC(high, STEK_EINVAL);
  CHECK_OK(ok);
}

/* A change larger than the peer's limit is not sent at all: the sender
 * fails with a message naming the limit, and the peer is never handed a
 * frame over it. */
static void test_change_over_the_peer_frame_limit_is_not_sent(void) {
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  uint8_t space[16], id[16];
  char big[SESS_MIN_FRAME + 100], msg[320];
  uint64_t n;
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  stek_value v = {.kind = STEK_VALUE_STR, .str = big};
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  stek_id_new(id);
  CHECK_OK(stek_put(a, "directory", id, "org", &v));
  server_max_frame = SESS_MIN_FRAME;
  int rc = run(a, b, 0, 0, NULL, NULL);
  server_max_frame = 0;
  snprintf(msg, sizeof msg, "%s", stek_errmsg(a));
  CHECK_RC(rc, STEK_ETOOBIG);
  CHECK(strstr(msg, "max_frame of 5120 bytes") != NULL);
  CHECK(to_server.largest <= SESS_MIN_FRAME + STREAM_OVERHEAD);
  CHECK_OK(stek_change_count(b, &n));
  CHECK(n <= TEST_JOIN_CHANGES); /* at most the share's change, never the big one */
  stek_close(a);
  stek_close(b);
  test_dir_remove(&dir);
}

static test_clock clk = {1767225600000};

static stek *open_clocked(const char *name) {
  char path[600];
  stek_config cfg;
  stek *s;
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &clk;
  test_dir_file(&dir, name, path, sizeof path);
  if (stek_open(&s, path, &cfg) != STEK_OK) exit(2);
  return s;
}

static void test_invitation_joins_once_and_expires(void) {
  test_dir_make(&dir);
  stek *a = open_clocked("a"), *b = open_clocked("b"), *c = open_clocked("c");
  uint8_t space[16], psk[32], got[16];
  char token[STEK_INVITE_BYTES], lower[STEK_INVITE_BYTES];
  size_t n;
  const char *name;
  CHECK_OK(stek_space_create(a, "Bezemheide", space));
  CHECK_OK(test_put_n(a, "a", 5));
  CHECK_OK(stek_invite_create(a, 60000, token));
  CHECK(strlen(token) == STEK_INVITE_BYTES - 1 && strncmp(token, "STEK-", 5) == 0);
  for (size_t i = 0; i < sizeof token; i++)
    lower[i] = (char)((token[i] >= 'A' && token[i] <= 'Z') ? token[i] + 32 : token[i]);
  CHECK_OK(invite_token_psk(lower, psk)); /* typed in lower case: fine */
  join_psk = psk;
  int rc = run(b, a, 0, 0, NULL, NULL);
  join_psk = NULL;
  CHECK_OK(rc);
  CHECK_OK(stek_space_count(b, &n));
  CHECK(n == 1);
  CHECK_OK(stek_space_get(b, 0, got, &name));
  CHECK(memcmp(got, space, 16) == 0 && strcmp(name, "Bezemheide") == 0);
  CHECK_OK(run(b, a, 0, 0, NULL, NULL)); /* b is a member now: it syncs */
  CHECK(same_hash(a, b));

  join_psk = psk; /* the same token again: refused */
  rc = run(c, a, 0, 0, NULL, NULL);
  join_psk = NULL;
  CHECK(rc != 0);
  CHECK_OK(stek_space_count(c, &n));
  CHECK(n == 0);

  CHECK_OK(stek_invite_create(a, 60000, token)); /* expires unused */
  CHECK_OK(invite_token_psk(token, psk));
  clk.now_ms += 60001;
  join_psk = psk;
  rc = run(c, a, 0, 0, NULL, NULL);
  join_psk = NULL;
  CHECK(rc != 0);

  CHECK_OK(invite_token_psk("STEK-0000-0000-0000-0000-0000-0000-00", psk)); /* a guess */
  join_psk = psk;
  rc = run(c, a, 0, 0, NULL, NULL);
  join_psk = NULL;
  CHECK(rc != 0);
  CHECK_OK(stek_space_count(c, &n));
  CHECK(n == 0);
  CHECK_RC(invite_token_psk("STEK-1234", psk), STEK_EINVAL);
  CHECK_RC(invite_token_psk("STEK-UUUU-0000-0000-0000-0000-0000-00", psk), STEK_EINVAL);
  CHECK_RC(stek_invite_create(a, 0, token), STEK_EINVAL);
  stek_close(a);
  stek_close(b);
  stek_close(c);
  test_dir_remove(&dir);
}

/* Does the file at path hold these bytes anywhere? */
static int file_contains(const char *name, const char *needle) {
  char path[600];
  test_dir_file(&dir, name, path, sizeof path);
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  static char buf[1 << 22];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  for (size_t i = 0; i + strlen(needle) <= n; i++)
    if (!memcmp(buf + i, needle, strlen(needle))) return 1;
  return 0;
}

static void test_blind_relay_carries_ops_it_cannot_read(void) {
  test_dir_make(&dir);
  stek *a = open_at("a"), *r = open_at("r"), *c = open_at("c");
  uint8_t space[16], dev[32], *share;
  size_t len, n;
  uint64_t carried;
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, c);
  stek_device_id(r, dev);
  CHECK_OK(stek_relay_share(a, dev, &share, &len));
  CHECK_RC(stek_relay_accept(c, share, len), STEK_EMALFORMED); /* not c's */
  CHECK_OK(stek_relay_accept(r, share, len));
  stek_free(share);
  stek_value v = {.kind = STEK_VALUE_STR, .str = "GEHEIM-MARKER-1234"};
  uint8_t id[16];
  stek_id_new(id);
  CHECK_OK(stek_put(a, "directory", id, "org", &v));
  CHECK_OK(test_put_n(a, "a", 9));
  CHECK_OK(test_put_n(c, "c", 5));

  relay_client = 1;
  int rc1 = run(a, r, 0, 0, NULL, NULL); /* a hands its ops to the relay */
  int rc2 = run(r, c, 0, 0, NULL, NULL); /* the relay meets c */
  int rc3 = run(a, r, 0, 0, NULL, NULL); /* and a again: it gets c's */
  relay_client = 0;
  CHECK_OK(rc1);
  CHECK_OK(rc2);
  CHECK_OK(rc3);
  CHECK(same_hash(a, c)); /* a and c never met */
  CHECK_OK(stek_relay_count(r, &carried));
  CHECK(carried == 15 + TEST_JOIN_CHANGES);
  CHECK_OK(stek_space_count(r, &n));
  CHECK(n == 0); /* the relay holds no space, no key to read with */
  stek_close(r);
  CHECK(!file_contains("r", "GEHEIM-MARKER"));
  CHECK(!file_contains("r-wal", "GEHEIM-MARKER"));
  CHECK(file_contains("c", "GEHEIM-MARKER") || file_contains("c-wal", "GEHEIM-MARKER"));
  stek_close(a);
  stek_close(c);
  test_dir_remove(&dir);
}

int main(void) {
  RUN(test_two_devices_converge);
  RUN(test_three_nodes_converge_through_the_middle);
  RUN(test_peer_of_another_space_is_refused);
  RUN(test_tampered_frame_drops_the_session);
  RUN(test_frame_limit_is_the_smaller_of_both_sides);
  RUN(test_frame_limit_has_a_minimum);
  RUN(test_change_over_the_peer_frame_limit_is_not_sent);
  RUN(test_cut_sync_resumes_with_only_what_is_missing);
  RUN(test_invitation_joins_once_and_expires);
  RUN(test_blind_relay_carries_ops_it_cannot_read);
  return test_report();
}
