/* Hostile peers: every limit a peer can reach, and every forgery it can
 * try, is refused with its own code and a message that names the limit
 * (never the peer's data), and stores nothing.
 *
 * The test is the hostile peer.  In memory it is a member device of the
 * space that runs the handshake and the transport itself (crypto/noise,
 * crypto/stream) and then sends whatever bytes it likes to a real responder
 * session (sync/session) of the store under attack; over 127.0.0.1 it is a
 * raw socket against a real server (net/tcp) with small limits.  Nothing
 * sleeps: waits are on events, each with a generous deadline. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <uv.h>

#include "api.h"
#include "codec/mp.h"
#include "crdt/change.h"
#include "crdt/hlc.h"
#include "crdt/signal.h"
#include "crypto/crypto.h"
#include "crypto/noise.h"
#include "crypto/stream.h"
#include "store/store.h"
#include "sync/session.h"
#include "test.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z, a Thursday of 2026-W01 */
#define DAY (24 * 3600 * 1000LL)
#define MSG_OPS 2          /* docs/PROTOCOL.md, "Session": [2, [change...], last] */
#define MARK "zq7"         /* in every hostile string: no message may repeat it */
#define HANDSHAKE_FAILED (-1000) /* attack(): matches no expected code */
#define DEADLINE_MS 30000  /* bounds a hang only; no test needs anything near it */

static test_dir dir;
static test_clock clk = {T0};
static stek *A;   /* the store under attack: spaces S1 (current) and S2 */
static stek *H;   /* the hostile peer: a member of S1 only */
static char a_path[600];
static uint8_t s1[STEK_ID_BYTES], s2[STEK_ID_BYTES];
static uint8_t h_pk[32];
static const uint8_t *h_sk;
static const uint8_t rid[STEK_ID_BYTES] = {0xb1, 0xb2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

typedef struct blob {
  uint8_t *p;
  size_t n;
} blob;

static blob blob_of(const mp_writer *w) {
  blob b = {malloc(w->buf.size ? w->buf.size : 1), w->buf.size};
  if (!b.p || w->err) exit(2);
  memcpy(b.p, w->buf.data, w->buf.size);
  return b;
}

static void setup(void) {
  stek_config cfg;
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &clk;
  test_dir_make(&dir);
  test_dir_file(&dir, "a", a_path, sizeof a_path);
  A = test_store(&dir, "a", &cfg);
  H = test_store(&dir, "h", &cfg);
  if (stek_space_create(A, "other", s2) || stek_space_create(A, "main", s1)) exit(2);
  test_join(A, H); /* S1, A's current space */
  store_device(H->st, h_pk, &h_sk);
}

static void teardown(void) {
  stek_close(A);
  stek_close(H);
  test_dir_remove(&dir);
}

/* ---- "nothing stored" ---- */

typedef struct snapshot {
  uint8_t hash[STEK_HASH_BYTES];
  uint64_t n1, n2; /* changes of S1 and S2 */
} snapshot;

static int snap(snapshot *sn) {
  int rc = stek_state_hash(A, sn->hash);
  if (!rc) rc = stek_change_count(A, &sn->n1);
  if (!rc) rc = stek_space_use(A, s2);
  if (!rc) rc = stek_change_count(A, &sn->n2);
  if (!rc) rc = stek_space_use(A, s1);
  return rc;
}

static int unchanged(const snapshot *before) {
  snapshot now;
  return snap(&now) == 0 && !memcmp(now.hash, before->hash, sizeof now.hash) &&
         now.n1 == before->n1 && now.n2 == before->n2;
}

/* The message names what it should and repeats none of the peer's data. */
static int says(const char *msg, const char *what) {
  if (!strstr(msg, what) || strstr(msg, MARK)) {
    fprintf(stderr, "  message \"%s\" does not name \"%s\" (or repeats data)\n", msg, what);
    return 0;
  }
  return 1;
}

/* ---- building changes, signals and messages ---- */

/* A change of space sp by author, signed with sk (any key: a forgery
 * signs with another than the author's). */
static blob change_of(const uint8_t *sp, const uint8_t *author, const uint8_t *sk,
                      uint64_t hlc, const mp_writer *ops, uint32_t n_ops) {
  mp_writer body, out;
  uint8_t sig[CR_SIG];
  mp_writer_init(&body);
  mp_write_array(&body, 5);
  mp_write_uint(&body, CHANGE_FORMAT);
  mp_write_bin(&body, sp, STEK_ID_BYTES);
  mp_write_bin(&body, author, STEK_DEVICE_ID_BYTES);
  mp_write_uint(&body, hlc);
  mp_write_array(&body, n_ops);
  mp_write_raw(&body, ops->buf.data, ops->buf.size);
  cr_sign_msg(sig, (const uint8_t *)body.buf.data, body.buf.size, sk);
  mp_writer_init(&out);
  mp_write_array(&out, 3);
  mp_write_uint(&out, CHANGE_FORMAT);
  mp_write_bin(&out, body.buf.data, body.buf.size);
  mp_write_bin(&out, sig, sizeof sig);
  blob b = blob_of(&out);
  mp_writer_free(&body);
  mp_writer_free(&out);
  return b;
}

/* H's own change of S1 at T0 + k ms. */
static blob h_change(const mp_writer *ops, uint32_t n_ops, uint64_t k) {
  return change_of(s1, h_pk, h_sk, hlc_make((uint64_t)T0 + k, 0), ops, n_ops);
}

/* The head of a put of n fields to record rid of type "zq7rec". */
static void put_head(mp_writer *w, uint32_t n_fields) {
  mp_write_array(w, 4);
  mp_write_uint(w, OP_PUT);
  mp_write_str(w, MARK "rec", strlen(MARK "rec"));
  mp_write_bin(w, rid, STEK_ID_BYTES);
  mp_write_map(w, n_fields);
}

/* A string of len bytes starting with MARK. */
static char *marked(size_t len) {
  char *s = malloc(len + 1);
  if (!s) exit(2);
  memset(s, 'x', len);
  memcpy(s, MARK, len < 3 ? len : 3);
  s[len] = 0;
  return s;
}

/* One put of n fields "f0000".. (in canonical order), each a string of
 * len bytes. */
static void put_fields(mp_writer *w, uint32_t n, size_t len) {
  char name[16], *v = marked(len);
  put_head(w, n);
  for (uint32_t i = 0; i < n; i++) {
    snprintf(name, sizeof name, "f%04u", (unsigned)i);
    mp_write_str(w, name, strlen(name));
    mp_write_str(w, v, len);
  }
  free(v);
}

/* One put of one field whose value is given encoded. */
static void put_raw(mp_writer *w, const char *field, const mp_writer *value) {
  put_head(w, 1);
  mp_write_str(w, field, strlen(field));
  mp_write_raw(w, value->buf.data, value->buf.size);
}

/* An OPS message carrying n changes. */
static blob ops_msg(const blob *changes, uint32_t n) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_array(&w, 3);
  mp_write_uint(&w, MSG_OPS);
  mp_write_array(&w, n);
  for (uint32_t i = 0; i < n; i++) mp_write_bin(&w, changes[i].p, changes[i].n);
  mp_write_uint(&w, 0);
  blob b = blob_of(&w);
  mp_writer_free(&w);
  return b;
}

/* ---- the hostile peer, in memory ---- */

static uint64_t peer_max_frame = SESS_MAX_FRAME; /* what H advertises */

typedef struct peer {
  sess *v; /* the victim's responder session */
  noise_hs hs;
  stream st;
} peer;

static int frame_to(sess *v, const uint8_t *p, size_t n) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_bin(&w, p, n);
  int rc = w.err ? w.err : sess_input(v, (const uint8_t *)w.buf.data, w.buf.size);
  mp_writer_free(&w);
  return rc;
}

/* The payload of the victim's next frame (all its output is taken). */
static int frame_from(sess *v, uint8_t *out, size_t cap, size_t *n) {
  const uint8_t *p;
  size_t len, h, fl;
  int rc = sess_output(v, &p, &len);
  if (rc || len < 1) return rc ? rc : STEK_ETRUNCATED;
  if (p[0] != 0xc4 && p[0] != 0xc5) return STEK_EMALFORMED; /* small frames only */
  h = p[0] == 0xc4 ? 2 : 3;
  if (len < h) return STEK_ETRUNCATED;
  fl = h == 2 ? p[1] : ((size_t)p[1] << 8 | p[2]);
  if (len < h + fl || fl > cap) return STEK_EMALFORMED;
  memcpy(out, p + h, fl);
  *n = fl;
  sess_consumed(v, len);
  return 0;
}

/* Handshake as H, a member of S1, with a fresh responder session of A. */
static int peer_open(peer *pe) {
  uint8_t xsk[32], xpk[32], key[32], psk[32], msg[NOISE_MAX_MESSAGE], pl[NOISE_MAX_PAYLOAD];
  uint8_t ks[32], kr[32], hh[32], header[STREAM_HEADER];
  size_t n, pn;
  memset(pe, 0, sizeof *pe);
  int rc = sess_new(&pe->v, A, 0);
  if (!rc) rc = cr_x25519_from_sign_sk(xsk, h_sk);
  if (!rc) rc = cr_x25519_from_sign_pk(xpk, h_pk);
  if (!rc) rc = store_space_key(H->st, H->sp, key);
  if (!rc) cr_kdf(psk, 10, "stek-cap", key); /* the space capability, as sync/session */
  if (!rc) rc = noise_init(&pe->hs, 1, psk, xsk, xpk, h_pk);
  cr_wipe(xsk, sizeof xsk);
  cr_wipe(key, sizeof key);
  if (!rc) rc = noise_write_message(&pe->hs, NULL, 0, msg, sizeof msg, &n);
  if (!rc) rc = frame_to(pe->v, msg, n);
  if (!rc) rc = frame_from(pe->v, msg, sizeof msg, &n);
  if (!rc) rc = noise_read_message(&pe->hs, msg, n, pl, sizeof pl, &pn);
  if (!rc) {
    mp_writer w; /* [version, max_frame] */
    mp_writer_init(&w);
    mp_write_array(&w, 2);
    mp_write_uint(&w, 1);
    mp_write_uint(&w, peer_max_frame);
    rc = noise_write_message(&pe->hs, (const uint8_t *)w.buf.data, w.buf.size, msg,
                             sizeof msg, &n);
    mp_writer_free(&w);
  }
  if (!rc) rc = frame_to(pe->v, msg, n);
  if (!rc) rc = noise_split(&pe->hs, ks, kr, hh);
  if (!rc) rc = stream_init(&pe->st, ks, kr, header);
  if (!rc) rc = frame_to(pe->v, header, sizeof header);
  if (!rc) rc = frame_from(pe->v, msg, sizeof msg, &n); /* A's stream header */
  if (!rc && n != STREAM_HEADER) rc = STEK_EMALFORMED;
  return rc;
}

static void peer_close(peer *pe) {
  sess_free(pe->v);
  noise_wipe(&pe->hs);
  stream_wipe(&pe->st);
}

/* Seal a message as the next frame and hand it to the victim. */
static int peer_send_tagged(peer *pe, const blob *m, int final) {
  size_t cap = m->n + STREAM_OVERHEAD, n;
  uint8_t *c = malloc(cap);
  int rc = c ? stream_seal(&pe->st, m->p, m->n, c, cap, &n, final) : STEK_ENOMEM;
  if (!rc) rc = frame_to(pe->v, c, n);
  free(c);
  return rc;
}

static int peer_send(peer *pe, const blob *m) { return peer_send_tagged(pe, m, 0); }

/* One session that sends the message m (freed): the victim's code, its
 * message copied to msg. */
static int attack(blob m, char *msg, size_t cap) {
  peer pe;
  int rc = peer_open(&pe);
  if (rc) {
    fprintf(stderr, "  handshake: %s: %s\n", stek_strerror(rc), stek_errmsg(A));
    rc = HANDSHAKE_FAILED;
  } else {
    rc = peer_send(&pe, &m);
  }
  snprintf(msg, cap, "%s", stek_errmsg(A));
  peer_close(&pe);
  free(m.p);
  return rc;
}

/* One session sending an OPS message of the one change c (freed). */
static int attack_with(blob c, char *msg, size_t cap) {
  blob m = ops_msg(&c, 1);
  free(c.p);
  return attack(m, msg, cap);
}

/* ---- the hostile peer over TCP, against a real server ---- */

typedef struct ends {
  uv_mutex_t mu;
  uv_cond_t cv;
  int n, rc[64];
  char msg[64][320];
} ends;

static void on_end(void *ctx, int rc, const char *msg) {
  ends *e = ctx;
  uv_mutex_lock(&e->mu);
  if (e->n < 64) {
    e->rc[e->n] = rc;
    snprintf(e->msg[e->n], sizeof e->msg[0], "%s", msg);
    e->n++;
  }
  uv_cond_signal(&e->cv);
  uv_mutex_unlock(&e->mu);
}

/* Wait until n sessions have ended (at most DEADLINE_MS); 1 if they did. */
static int ended(ends *e, int n) {
  uint64_t deadline = uv_hrtime() + (uint64_t)DEADLINE_MS * 1000000;
  uv_mutex_lock(&e->mu);
  while (e->n < n) {
    uint64_t now = uv_hrtime();
    if (now >= deadline || uv_cond_timedwait(&e->cv, &e->mu, deadline - now) == UV_ETIMEDOUT)
      break;
  }
  int ok = e->n >= n;
  uv_mutex_unlock(&e->mu);
  if (!ok) fprintf(stderr, "  only %d of %d sessions ended\n", e->n, n);
  return ok;
}

static stek_server *serve(ends *e, int max_peers, int64_t idle_ms, int64_t session_ms) {
  stek_server_options o;
  stek_server *srv;
  memset(e, 0, sizeof *e);
  if (uv_mutex_init(&e->mu) || uv_cond_init(&e->cv)) exit(2);
  stek_server_options_init(&o);
  o.max_peers = max_peers;
  o.idle_ms = idle_ms;
  o.session_ms = session_ms;
  o.on_session_end = on_end;
  o.on_session_end_ctx = e;
  if (stek_server_start(&srv, a_path, NULL, "127.0.0.1", 0, &o)) {
    fprintf(stderr, "  server: %s\n", stek_server_errmsg(srv));
    exit(2);
  }
  return srv;
}

static void unserve(stek_server *srv, ends *e) {
  stek_server_stop(srv);
  uv_cond_destroy(&e->cv);
  uv_mutex_destroy(&e->mu);
}

static int raw_connect(int port) {
  struct sockaddr_in sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((uint16_t)port);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) exit(2);
  return fd;
}

/* Wait up to ms for the server to close fd: 1 if it did. */
static int closed_within(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  uint8_t b[256];
  uint64_t deadline = uv_hrtime() + (uint64_t)ms * 1000000;
  for (;;) {
    uint64_t now = uv_hrtime();
    if (now >= deadline) return 0;
    if (poll(&p, 1, (int)((deadline - now) / 1000000) + 1) > 0) {
      ssize_t r = recv(fd, b, sizeof b, 0);
      if (r <= 0) return 1; /* EOF, or reset */
    }
  }
}

/* ---- tests: limits ------------------------------------------------------ */

static void test_frame_over_limit_is_refused(void) {
  snapshot before;
  char msg[320];
  peer pe;
  setup();
  CHECK_OK(snap(&before));
  /* A stranger, before any handshake: a frame longer than a handshake
   * message is refused at its header, before a byte of it is kept. */
  sess *v;
  const uint8_t big[] = {0xc6, 0x00, 0x10, 0x00, 0x00}; /* bin32: 1 MiB follows */
  CHECK_OK(sess_new(&v, A, 0));
  int rc = sess_input(v, big, sizeof big);
  snprintf(msg, sizeof msg, "%s", stek_errmsg(A));
  sess_free(v);
  CHECK_RC(rc, STEK_ETOOBIG);
  CHECK(says(msg, "NOISE_MAX_MESSAGE"));
  /* A member, after the handshake: a frame over SESS_MAX_FRAME. */
  size_t over = SESS_MAX_FRAME + STREAM_OVERHEAD + 1;
  const uint8_t huge[] = {0xc6, (uint8_t)(over >> 24), (uint8_t)(over >> 16),
                          (uint8_t)(over >> 8), (uint8_t)over};
  CHECK_OK(peer_open(&pe));
  rc = sess_input(pe.v, huge, sizeof huge);
  snprintf(msg, sizeof msg, "%s", stek_errmsg(A));
  peer_close(&pe);
  CHECK_RC(rc, STEK_ETOOBIG);
  CHECK(says(msg, "SESS_MAX_FRAME"));
  /* The same over TCP: the server drops the connection and says why. */
  ends e;
  stek_server *srv = serve(&e, 4, DEADLINE_MS * 2, DEADLINE_MS * 2);
  int fd = raw_connect(stek_server_port(srv));
  const uint8_t worst[] = {0xc6, 0xff, 0xff, 0xff, 0xff};
  CHECK(send(fd, worst, sizeof worst, MSG_NOSIGNAL) == (ssize_t)sizeof worst);
  int was_closed = closed_within(fd, DEADLINE_MS);
  close(fd);
  int all_ended = ended(&e, 1);
  unserve(srv, &e);
  CHECK(was_closed && all_ended);
  CHECK_RC(e.rc[0], STEK_ETOOBIG);
  CHECK(says(e.msg[0], "frame over the limit"));
  CHECK(unchanged(&before));
  teardown();
}

static void test_frame_limit_below_minimum_is_refused(void) {
  snapshot before;
  char msg[320];
  peer pe;
  setup();
  CHECK_OK(snap(&before));
  /* H advertises a max_frame of one byte less than the protocol's least:
   * refused when message 3 is read, before anything is stored. */
  peer_max_frame = SESS_MIN_FRAME - 1;
  int rc = peer_open(&pe);
  snprintf(msg, sizeof msg, "%s", stek_errmsg(A));
  peer_close(&pe);
  /* Control: the least itself is taken. */
  peer_max_frame = SESS_MIN_FRAME;
  int least = peer_open(&pe);
  peer_close(&pe);
  peer_max_frame = SESS_MAX_FRAME;
  CHECK_RC(rc, STEK_EMALFORMED);
  CHECK(says(msg, "SESS_MIN_FRAME"));
  CHECK_OK(least);
  CHECK(unchanged(&before));
  teardown();
}

static void test_too_many_ops_in_one_message(void) {
  snapshot before;
  char msg[320];
  blob c[STEK_MAX_MESSAGE_OPS + 1];
  setup();
  CHECK_OK(snap(&before));
  for (uint32_t i = 0; i <= STEK_MAX_MESSAGE_OPS; i++) {
    mp_writer ops;
    mp_writer_init(&ops);
    put_fields(&ops, 1, 8);
    c[i] = h_change(&ops, 1, i);
    mp_writer_free(&ops);
  }
  blob m = ops_msg(c, STEK_MAX_MESSAGE_OPS + 1);
  for (uint32_t i = 0; i <= STEK_MAX_MESSAGE_OPS; i++) free(c[i].p);
  CHECK_RC(attack(m, msg, sizeof msg), STEK_ETOOBIG);
  CHECK(says(msg, "STEK_MAX_MESSAGE_OPS"));
  CHECK(unchanged(&before));
  teardown();
}

static void test_too_many_ops_in_one_change(void) {
  snapshot before;
  char msg[320];
  mp_writer ops;
  setup();
  CHECK_OK(snap(&before));
  mp_writer_init(&ops);
  for (int i = 0; i <= STEK_MAX_OPS; i++) put_fields(&ops, 1, 4);
  blob c = h_change(&ops, STEK_MAX_OPS + 1, 0);
  mp_writer_free(&ops);
  CHECK_RC(attack_with(c, msg, sizeof msg), STEK_ETOOBIG);
  CHECK(says(msg, "STEK_MAX_OPS"));
  CHECK(unchanged(&before));
  teardown();
}

static void test_record_over_size_limit(void) {
  snapshot before;
  char msg[320];
  mp_writer ops;
  setup();
  CHECK_OK(snap(&before));
  /* One record of 17 fields of 63 000 bytes: every field within its own
   * limits, the change over STEK_MAX_CHANGE_BYTES (and within a frame). */
  mp_writer_init(&ops);
  put_fields(&ops, 17, 63000);
  blob c = h_change(&ops, 1, 0);
  mp_writer_free(&ops);
  CHECK(c.n > STEK_MAX_CHANGE_BYTES && c.n < SESS_MAX_FRAME - 64);
  CHECK_RC(stek_ingest(A, c.p, c.n), STEK_ETOOBIG); /* from anywhere */
  CHECK(says(stek_errmsg(A), "STEK_MAX_CHANGE_BYTES"));
  CHECK_RC(attack_with(c, msg, sizeof msg), STEK_ETOOBIG); /* from a peer */
  CHECK(says(msg, "STEK_MAX_CHANGE_BYTES"));
  CHECK(unchanged(&before));
  teardown();
}

static void test_too_many_fields(void) {
  snapshot before;
  char msg[320];
  mp_writer ops;
  setup();
  CHECK_OK(snap(&before));
  mp_writer_init(&ops);
  put_fields(&ops, STEK_MAX_FIELDS + 1, 4);
  blob c = h_change(&ops, 1, 0);
  mp_writer_free(&ops);
  CHECK_RC(attack_with(c, msg, sizeof msg), STEK_ETOOBIG);
  CHECK(says(msg, "STEK_MAX_FIELDS"));
  CHECK(unchanged(&before));
  teardown();
}

/* A put of one field named field whose value is v (freed). */
static blob one_value(const char *field, mp_writer *v) {
  mp_writer ops;
  mp_writer_init(&ops);
  put_raw(&ops, field, v);
  blob c = h_change(&ops, 1, 0);
  mp_writer_free(&ops);
  mp_writer_free(v);
  return c;
}

static void test_string_over_limit(void) {
  snapshot before;
  char msg[320], *s = marked(STEK_MAX_STRING_BYTES + 1);
  mp_writer v;
  setup();
  CHECK_OK(snap(&before));
  /* A string value */
  mp_writer_init(&v);
  mp_write_str(&v, s, STEK_MAX_STRING_BYTES + 1);
  CHECK_RC(attack_with(one_value("f", &v), msg, sizeof msg), STEK_ETOOBIG);
  CHECK(says(msg, "STEK_MAX_STRING_BYTES"));
  /* A field name */
  mp_writer_init(&v);
  mp_write_int(&v, 1);
  s[STEK_MAX_NAME_BYTES + 1] = 0;
  CHECK_RC(attack_with(one_value(s, &v), msg, sizeof msg), STEK_ETOOBIG);
  CHECK(says(msg, "STEK_MAX_NAME_BYTES"));
  /* A list of too many strings */
  mp_writer_init(&v);
  mp_write_array(&v, STEK_MAX_LIST_ITEMS + 1);
  for (int i = 0; i <= STEK_MAX_LIST_ITEMS; i++) mp_write_str(&v, MARK, 3);
  CHECK_RC(attack_with(one_value("f", &v), msg, sizeof msg), STEK_ETOOBIG);
  CHECK(says(msg, "STEK_MAX_LIST_ITEMS"));
  free(s);
  CHECK(unchanged(&before));
  teardown();
}

static void test_nesting_too_deep(void) {
  snapshot before;
  char msg[320];
  mp_writer v;
  setup();
  CHECK_OK(snap(&before));
  /* [["zq7"]]: values nest one level (a list of strings) at most */
  mp_writer_init(&v);
  mp_write_array(&v, 1);
  mp_write_array(&v, 1);
  mp_write_str(&v, MARK, 3);
  CHECK_RC(attack_with(one_value("f", &v), msg, sizeof msg), STEK_EMALFORMED);
  CHECK(says(msg, "nested deeper than a list of strings"));
  /* {"zq7": 1}: no maps as values either */
  mp_writer_init(&v);
  mp_write_map(&v, 1);
  mp_write_str(&v, MARK, 3);
  mp_write_int(&v, 1);
  CHECK_RC(attack_with(one_value("f", &v), msg, sizeof msg), STEK_EMALFORMED);
  CHECK(says(msg, "nested deeper"));
  CHECK(unchanged(&before));
  teardown();
}

static void test_hlc_drift_over_bound(void) {
  snapshot before;
  char msg[320];
  mp_writer ops;
  setup();
  CHECK_OK(snap(&before));
  mp_writer_init(&ops);
  put_fields(&ops, 1, 8);
  blob c = h_change(&ops, 1, DAY + 1); /* 24 h and 1 ms ahead of A's clock */
  mp_writer_free(&ops);
  CHECK_RC(attack_with(c, msg, sizeof msg), STEK_EFUTURE);
  CHECK(says(msg, "max_clock_skew_ms"));
  CHECK(says(msg, "86400000"));
  CHECK(unchanged(&before));
  teardown();
}

static void test_session_time_limit(void) {
  snapshot before;
  ends e;
  setup();
  CHECK_OK(snap(&before));
  /* Never idle (a byte every 20 ms against 60 s idle_ms), so only the
   * 100 ms session_ms can end it. */
  stek_server *srv = serve(&e, 4, 2 * DEADLINE_MS, 100);
  int fd = raw_connect(stek_server_port(srv));
  const uint8_t head[] = {0xc5, 0x04, 0x00}; /* a 1024-byte handshake frame */
  int cut = send(fd, head, sizeof head, MSG_NOSIGNAL) != (ssize_t)sizeof head;
  for (int i = 0; !cut && i < 1000; i++) { /* never the whole frame */
    const uint8_t b = 0;
    cut = send(fd, &b, 1, MSG_NOSIGNAL) != 1 || closed_within(fd, 20);
  }
  if (!cut) cut = closed_within(fd, DEADLINE_MS);
  close(fd);
  int all_ended = ended(&e, 1);
  unserve(srv, &e);
  CHECK(cut && all_ended);
  CHECK_RC(e.rc[0], STEK_ETIMEDOUT);
  CHECK(says(e.msg[0], "session_ms"));
  CHECK(unchanged(&before));
  teardown();
}

static void test_idle_session_is_cut(void) {
  ends e;
  setup();
  stek_server *srv = serve(&e, 4, 100, 2 * DEADLINE_MS);
  int fd = raw_connect(stek_server_port(srv));
  int cut = closed_within(fd, DEADLINE_MS);
  close(fd);
  int all_ended = ended(&e, 1);
  unserve(srv, &e);
  CHECK(cut && all_ended);
  CHECK_RC(e.rc[0], STEK_ETIMEDOUT);
  CHECK(says(e.msg[0], "idle_ms"));
  teardown();
}

static void test_concurrent_sessions_limit(void) {
  ends e;
  setup();
  stek_server *srv = serve(&e, 2, 2 * DEADLINE_MS, 2 * DEADLINE_MS);
  int port = stek_server_port(srv);
  /* Connections are accepted in order: the first two take both slots. */
  int fd1 = raw_connect(port), fd2 = raw_connect(port), fd3 = raw_connect(port);
  int third_closed = closed_within(fd3, DEADLINE_MS);
  int one_ended = ended(&e, 1);
  close(fd3);
  close(fd1); /* frees a slot: a member now gets a session */
  int slot_freed = ended(&e, 2);
  stek_sync_options opt;
  stek_sync_options_init(&opt);
  int rc = stek_sync(H, "127.0.0.1", port, &opt, NULL);
  close(fd2);
  int all_ended = ended(&e, 4);
  unserve(srv, &e);
  CHECK(third_closed && one_ended && slot_freed && all_ended);
  CHECK_RC(e.rc[0], STEK_EBUSY);
  CHECK(says(e.msg[0], "max_peers"));
  CHECK_OK(rc);
  teardown();
}

/* ---- tests: forgeries --------------------------------------------------- */

static void test_forged_signature(void) {
  snapshot before;
  char msg[320];
  mp_writer ops;
  uint8_t a_pk[32];
  const uint8_t *a_sk;
  setup();
  CHECK_OK(snap(&before));
  store_device(A->st, a_pk, &a_sk);
  mp_writer_init(&ops);
  put_fields(&ops, 1, 8);
  /* Claims A as its author; H signs it. */
  blob c = change_of(s1, a_pk, h_sk, hlc_make((uint64_t)T0, 0), &ops, 1);
  mp_writer_free(&ops);
  CHECK_RC(attack_with(c, msg, sizeof msg), STEK_ESIGNATURE);
  CHECK(says(msg, "change rejected: signature does not verify"));
  CHECK(unchanged(&before));
  teardown();
}

static void test_replayed_op(void) {
  snapshot before;
  char msg[320];
  mp_writer ops;
  setup();
  mp_writer_init(&ops);
  put_fields(&ops, 1, 8);
  blob c = h_change(&ops, 1, 0);
  mp_writer_free(&ops);
  blob copy = {malloc(c.n), c.n};
  CHECK(copy.p != NULL);
  memcpy(copy.p, c.p, c.n);
  CHECK_OK(attack_with(c, msg, sizeof msg)); /* the first time it is taken */
  CHECK_OK(snap(&before));
  /* Replayed, from anywhere and in a session: held already, nothing
   * written, and the session goes on (an honest race does this too). */
  CHECK_RC(stek_ingest(A, copy.p, copy.n), STEK_DUPLICATE);
  CHECK_OK(attack_with(copy, msg, sizeof msg));
  CHECK(unchanged(&before));
  teardown();
}

static void test_op_of_another_space(void) {
  snapshot before;
  char msg[320];
  mp_writer ops;
  uint8_t unknown[STEK_ID_BYTES];
  setup();
  CHECK_OK(snap(&before));
  /* S2 is held by A, but this session (and H) are of S1 only. */
  mp_writer_init(&ops);
  put_fields(&ops, 1, 8);
  blob c = change_of(s2, h_pk, h_sk, hlc_make((uint64_t)T0, 0), &ops, 1);
  CHECK_RC(attack_with(c, msg, sizeof msg), STEK_ENOSPACE);
  CHECK(says(msg, "another space"));
  /* A space A does not hold at all. */
  stek_id_new(unknown);
  c = change_of(unknown, h_pk, h_sk, hlc_make((uint64_t)T0, 0), &ops, 1);
  mp_writer_free(&ops);
  CHECK_RC(attack_with(c, msg, sizeof msg), STEK_ENOSPACE);
  CHECK(says(msg, "space"));
  CHECK(unchanged(&before));
  teardown();
}

/* A signal record of S1, MACed with the space's key as any member can;
 * author non-NULL adds it as a sixth element of the body. */
static blob signal_of(const uint8_t *author) {
  mp_writer body, out;
  uint8_t key[CR_SPACE_KEY], k[32], mac[CR_MAC], sid[16], rh[32];
  if (store_space_key(H->st, H->sp, key)) exit(2);
  cr_random(sid, sizeof sid);
  cr_random(rh, sizeof rh);
  mp_writer_init(&body);
  mp_write_array(&body, author ? 6 : 5);
  mp_write_uint(&body, SIGNAL_BODY_VERSION);
  mp_write_bin(&body, s1, 16);
  mp_write_bin(&body, sid, 16);
  mp_write_str(&body, "2026-W01", SIGNAL_WEEK_LEN);
  mp_write_array(&body, 5);
  mp_write_uint(&body, SIGNAL_RECORD);
  mp_write_str(&body, "debt", 4);
  mp_write_str(&body, MARK "site", 7);
  mp_write_str(&body, MARK "text", 7);
  mp_write_bin(&body, rh, 32);
  if (author) mp_write_bin(&body, author, STEK_DEVICE_ID_BYTES);
  cr_kdf(k, 1, "stek-sig", key); /* the signal key, as crdt/signal */
  cr_mac(mac, (const uint8_t *)body.buf.data, body.buf.size, k);
  mp_writer_init(&out);
  mp_write_array(&out, 3);
  mp_write_uint(&out, SIGNAL_FORMAT);
  mp_write_bin(&out, body.buf.data, body.buf.size);
  mp_write_bin(&out, mac, sizeof mac);
  blob b = blob_of(&out);
  mp_writer_free(&body);
  mp_writer_free(&out);
  cr_wipe(key, sizeof key);
  cr_wipe(k, sizeof k);
  return b;
}

static void test_signal_with_author_field(void) {
  snapshot before;
  char msg[320];
  setup();
  CHECK_OK(snap(&before));
  CHECK_RC(attack_with(signal_of(h_pk), msg, sizeof msg), STEK_EMALFORMED);
  CHECK(says(msg, "signals carry no author"));
  CHECK(unchanged(&before));
  /* Control: the same signal without the author is taken. */
  CHECK_OK(attack_with(signal_of(NULL), msg, sizeof msg));
  CHECK(!unchanged(&before));
  teardown();
}

/* ---- the session messages of docs/PROTOCOL.md ------------------------- */

typedef struct row {
  char name[128];
  uint8_t b[64];
  size_t n;
} row;

/* Hex bytes separated by spaces, where "a .. b" stands for every byte from
 * a to b: into r; 0, or -1 if something else is there. */
static int row_bytes(row *r, const char *hex, size_t len) {
  int range = 0;
  r->n = 0;
  for (size_t i = 0; i < len;) {
    if (hex[i] == ' ') {
      i++;
    } else if (i + 1 < len && hex[i] == '.' && hex[i + 1] == '.') {
      range = 1;
      i += 2;
    } else {
      unsigned v;
      if (i + 1 >= len || sscanf(hex + i, "%2x", &v) != 1 || r->n == sizeof r->b) return -1;
      if (range) {
        if (!r->n) return -1;
        for (unsigned x = r->b[r->n - 1] + 1u; x < v && r->n < sizeof r->b; x++)
          r->b[r->n++] = (uint8_t)x;
        range = 0;
      }
      if (r->n == sizeof r->b) return -1;
      r->b[r->n++] = (uint8_t)v;
      i += 2;
    }
  }
  return range ? -1 : 0;
}

/* The table after "Message encodings" in §8: "| name | `hex` |" rows. */
static int read_message_table(row *rows, int max) {
  FILE *f = fopen("docs/PROTOCOL.md", "r"); /* ctest runs in the source tree */
  char line[512];
  int n = 0, seen = 0, in = 0;
  if (!f) return -1;
  while (fgets(line, sizeof line, f) && n < max) {
    if (strncmp(line, "Message encodings", 17) == 0) seen = 1;
    if (seen && strncmp(line, "| message | hex |", 17) == 0) {
      in = 1;
      continue;
    }
    if (!in || strncmp(line, "| --", 4) == 0) continue;
    if (strncmp(line, "| ", 2)) break; /* the table is over */
    char *bar = strchr(line + 2, '|'), *tick = bar ? strchr(bar, '`') : NULL;
    char *end = tick ? strchr(tick + 1, '`') : NULL;
    if (!end) break;
    *bar = 0;
    snprintf(rows[n].name, sizeof rows[n].name, "%.127s", line + 2);
    if (row_bytes(&rows[n], tick + 1, (size_t)(end - tick - 1))) break;
    n++;
  }
  fclose(f);
  return n;
}

/* PROTOCOL.md §8: the table of message encodings is what the session
 * writes (its encoders, byte for byte), and what it reads: each row, sent
 * by a member, is taken -- but ERR, after which the session ends. */
static void test_session_messages_match_protocol_md(void) {
  row rows[8];
  int n = read_message_table(rows, 8), checked = 0;
  CHECK(n == 6);
  setup();
  for (int i = 0; i < n; i++) {
    const row *r = &rows[i];
    mp_writer w;
    uint8_t id[32], negm[5] = {0x61, 0, 0, 2, 0}; /* an empty client's first */
    int final = 0, want_rc = 0;
    mp_writer_init(&w);
    for (int k = 0; k < 32; k++) id[k] = (uint8_t)k;
    if (!strncmp(r->name, "DONE", 4)) {
      sess_msg_done(&w);
      final = 1; /* DONE carries the FINAL tag */
    } else if (!strncmp(r->name, "NEG with an empty client's first", 32)) {
      sess_msg_neg(&w, negm, sizeof negm);
    } else if (!strncmp(r->name, "WANT one id", 11)) {
      sess_msg_want(&w, (const uint8_t(*)[32])id, 1);
    } else if (!strncmp(r->name, "OPS, no wires, last", 19)) {
      sess_msg_ops(&w, 0, 0, NULL, 0, 1);
    } else if (!strncmp(r->name, "ERR code -12", 12)) {
      sess_msg_err(&w, STEK_EMALFORMED, "malformed");
      want_rc = STEK_ERROR; /* the peer gave up: its reason is its own */
      final = 1;
    } else if (!strncmp(r->name, "ERR code -20", 12)) {
      sess_msg_err(&w, STEK_EREVOKED, "revoked");
      want_rc = STEK_EREVOKED; /* the peer says this device was revoked */
      final = 1;
    } else {
      fprintf(stderr, "  unknown row \"%s\"\n", r->name);
      CHECK(0);
    }
    int same = (w.buf.size == r->n && !memcmp(w.buf.data, r->b, r->n));
    mp_writer_free(&w);
    if (!same) fprintf(stderr, "  row \"%s\": the encoder writes other bytes\n", r->name);
    CHECK(same);
    peer pe;
    blob m = {(uint8_t *)r->b, r->n};
    int rc = peer_open(&pe);
    if (!rc) rc = peer_send_tagged(&pe, &m, final);
    peer_close(&pe);
    if (rc != want_rc) fprintf(stderr, "  row \"%s\": %s\n", r->name, stek_errmsg(A));
    CHECK_RC(rc, want_rc);
    checked++;
  }
  CHECK(checked == 6);
  teardown();
}

/* Control for all of the above: the hostile peer's well-formed change is
 * stored, so each refusal is the fault under test and not the harness. */
static void test_a_well_formed_change_from_the_same_peer_is_taken(void) {
  snapshot before;
  char msg[320];
  mp_writer ops;
  uint64_t n;
  setup();
  CHECK_OK(snap(&before));
  mp_writer_init(&ops);
  put_fields(&ops, STEK_MAX_FIELDS, 16);
  blob c = h_change(&ops, 1, DAY); /* exactly at the drift bound */
  mp_writer_free(&ops);
  CHECK_OK(attack_with(c, msg, sizeof msg));
  CHECK_OK(stek_change_count(A, &n));
  CHECK(n == before.n1 + 1);
  teardown();
}

int main(void) {
  RUN(test_frame_over_limit_is_refused);
  RUN(test_frame_limit_below_minimum_is_refused);
  RUN(test_too_many_ops_in_one_message);
  RUN(test_too_many_ops_in_one_change);
  RUN(test_record_over_size_limit);
  RUN(test_too_many_fields);
  RUN(test_string_over_limit);
  RUN(test_nesting_too_deep);
  RUN(test_hlc_drift_over_bound);
  RUN(test_session_time_limit);
  RUN(test_idle_session_is_cut);
  RUN(test_concurrent_sessions_limit);
  RUN(test_forged_signature);
  RUN(test_replayed_op);
  RUN(test_op_of_another_space);
  RUN(test_signal_with_author_field);
  RUN(test_a_well_formed_change_from_the_same_peer_is_taken);
  RUN(test_session_messages_match_protocol_md);
  return test_report();
}
