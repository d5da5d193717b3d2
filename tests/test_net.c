/* net/tcp: stek_sync() against stek_server_start() over loopback TCP.
 * Everything binds and connects to 127.0.0.1 only; servers are stopped by
 * the test that started them; nothing sleeps. */
#include <arpa/inet.h>
#include <sched.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <uv.h>

#include "test.h"

static test_dir dir;

static void path_of(const char *name, char *out, size_t cap) {
  test_dir_file(&dir, name, out, cap);
}

static stek *open_at(const char *name) {
  char path[600];
  stek *s;
  path_of(name, path, sizeof path);
  if (stek_open(&s, path, NULL) != STEK_OK) exit(2);
  return s;
}

/* Like test_join(): the share writes to's stek.member record in from's
 * space, TEST_JOIN_CHANGES changes that sync like the others. */
static void join(stek *from, stek *to) {
  uint8_t dev[32], *share;
  size_t len;
  stek_device_id(to, dev);
  if (stek_space_share(from, dev, &share, &len) || stek_space_accept(to, share, len)) exit(2);
  stek_free(share);
}

/* n changes of one record each; pad makes each about that many bytes. */
static int put_n(stek *s, const char *tag, int n, size_t pad) {
  char text[2048];
  if (pad >= sizeof text) pad = sizeof text - 1;
  for (int i = 0; i < n; i++) {
    uint8_t id[16];
    int k = snprintf(text, sizeof text, "%s %d ", tag, i);
    while ((size_t)k < pad) text[k++] = 'x';
    text[k] = '\0';
    stek_value v = {.kind = STEK_VALUE_STR, .str = text};
    stek_id_new(id);
    int rc = stek_put(s, "directory", id, "org", &v);
    if (rc) return rc;
  }
  return 0;
}

static void hash_of(const char *name, uint8_t h[32]) {
  stek *s = open_at(name);
  if (stek_state_hash(s, h)) exit(2);
  stek_close(s);
}

static uint64_t count_of(const char *name) {
  uint64_t n = 0;
  stek *s = open_at(name);
  if (stek_change_count(s, &n)) exit(2);
  stek_close(s);
  return n;
}

static int same_hash(const char *a, const char *b) {
  uint8_t ha[32], hb[32];
  hash_of(a, ha);
  hash_of(b, hb);
  return !memcmp(ha, hb, 32);
}

static int serve(stek_server **srv, const char *name) {
  char path[600];
  path_of(name, path, sizeof path);
  int rc = stek_server_start(srv, path, NULL, "127.0.0.1", 0, NULL);
  if (rc) fprintf(stderr, "  server: %s\n", stek_server_errmsg(*srv));
  return rc;
}

/* Sync the store called name with the server, opening and closing it. */
static int sync_store(const char *name, stek_server *srv, const stek_sync_options *opt,
                      stek_sync_stats *st) {
  stek *s = open_at(name);
  int rc = stek_sync(s, "127.0.0.1", stek_server_port(srv), opt, st);
  if (rc) fprintf(stderr, "  sync %s: %s\n", name, stek_errmsg(s));
  stek_close(s);
  return rc;
}

static int64_t mono_ms(void) { return (int64_t)(uv_hrtime() / 1000000); }

/* The server counts a session when its last write completes, a moment
 * after the client has returned: wait (at most 5 s) for the counts. */
static int counts_reach(stek_server *srv, uint64_t done, uint64_t failed) {
  uint64_t d, f;
  int64_t deadline = mono_ms() + 5000;
  do {
    stek_server_counts(srv, &d, &f);
    if (d == done && f == failed) return 1;
    sched_yield();
  } while (mono_ms() < deadline);
  fprintf(stderr, "  server counts: %llu done, %llu failed\n", (unsigned long long)d,
          (unsigned long long)f);
  return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_two_stores_converge_over_tcp(void) {
  stek_server *srv;
  stek_sync_stats st;
  uint8_t space[16];
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  CHECK_OK(put_n(a, "a", 30, 0));
  CHECK_OK(put_n(b, "b", 20, 0));
  stek_close(a);
  stek_close(b);
  CHECK_OK(serve(&srv, "a"));
  CHECK(stek_server_port(srv) > 0);
  CHECK_OK(sync_store("b", srv, NULL, &st));
  CHECK(st.ops_sent == 20 && st.ops_received == 30 + TEST_JOIN_CHANGES);
  CHECK(st.bytes_sent > 0 && st.bytes_received > 0 && st.round_trips >= 2);
  CHECK_OK(sync_store("b", srv, NULL, &st)); /* nothing left */
  CHECK(st.ops_sent == 0 && st.ops_received == 0);
  CHECK(counts_reach(srv, 2, 0));
  stek_server_stop(srv);
  CHECK(same_hash("a", "b"));
  CHECK(count_of("a") == 50 + TEST_JOIN_CHANGES);
  test_dir_remove(&dir);
}

static void test_three_nodes_converge_through_the_middle(void) {
  stek_server *srv;
  uint8_t space[16];
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b"), *c = open_at("c");
  CHECK_OK(stek_space_create(b, "s", space));
  join(b, a);
  join(b, c);
  CHECK_OK(put_n(a, "a", 10, 0));
  CHECK_OK(put_n(b, "b", 10, 0));
  CHECK_OK(put_n(c, "c", 10, 0));
  stek_close(a);
  stek_close(b);
  stek_close(c);
  CHECK_OK(serve(&srv, "b")); /* A and C only ever talk to B */
  CHECK_OK(sync_store("a", srv, NULL, NULL));
  CHECK_OK(sync_store("c", srv, NULL, NULL));
  CHECK_OK(sync_store("a", srv, NULL, NULL));
  stek_server_stop(srv);
  CHECK(same_hash("a", "b") && same_hash("b", "c"));
  CHECK(count_of("a") == 30 + 2 * TEST_JOIN_CHANGES); /* b shared with a and c */
  test_dir_remove(&dir);
}

#define PEERS 20

typedef struct peer {
  char name[16];
  int port, rc;
  stek_sync_stats st;
} peer;

static void peer_run(void *arg) {
  peer *p = arg;
  stek *s = open_at(p->name);
  p->rc = stek_sync(s, "127.0.0.1", p->port, NULL, &p->st);
  stek_close(s);
}

/* Every peer syncs at once from its own thread; returns how many failed. */
static int sync_all_at_once(peer *peers, int port) {
  uv_thread_t th[PEERS];
  int bad = 0;
  for (int i = 0; i < PEERS; i++) {
    peers[i].port = port;
    if (uv_thread_create(&th[i], peer_run, &peers[i])) exit(2);
  }
  for (int i = 0; i < PEERS; i++) {
    uv_thread_join(&th[i]);
    if (peers[i].rc) {
      fprintf(stderr, "  peer %d: %s\n", i, stek_strerror(peers[i].rc));
      bad++;
    }
  }
  return bad;
}

static void test_hub_serves_twenty_peers_at_once(void) {
  static peer peers[PEERS];
  stek_server *srv;
  uint8_t space[16], hub[32], h[32];
  test_dir_make(&dir);
  stek *a = open_at("hub");
  CHECK_OK(stek_space_create(a, "s", space));
  CHECK_OK(put_n(a, "hub", 20, 0));
  for (int i = 0; i < PEERS; i++) {
    snprintf(peers[i].name, sizeof peers[i].name, "p%02d", i);
    stek *p = open_at(peers[i].name);
    join(a, p);
    CHECK_OK(put_n(p, peers[i].name, 5, 0));
    stek_close(p);
  }
  stek_close(a);
  CHECK_OK(serve(&srv, "hub"));
  CHECK(sync_all_at_once(peers, stek_server_port(srv)) == 0); /* the hub gets all */
  for (int i = 0; i < PEERS; i++) CHECK(peers[i].st.ops_sent == 5);
  CHECK(sync_all_at_once(peers, stek_server_port(srv)) == 0); /* everyone gets all */
  CHECK(counts_reach(srv, 2 * PEERS, 0));
  stek_server_stop(srv);
  hash_of("hub", hub);
  CHECK(count_of("hub") == 20 + 5 * PEERS + PEERS * TEST_JOIN_CHANGES);
  for (int i = 0; i < PEERS; i++) {
    hash_of(peers[i].name, h);
    CHECK(memcmp(h, hub, 32) == 0);
  }
  test_dir_remove(&dir);
}

static void test_peer_of_another_space_is_rejected(void) {
  stek_server *srv;
  uint8_t s1[16], s2[16], before[32], after[32];
  test_dir_make(&dir);
  stek *a = open_at("a"), *x = open_at("x");
  CHECK_OK(stek_space_create(a, "one", s1));
  CHECK_OK(stek_space_create(x, "two", s2));
  CHECK_OK(put_n(a, "a", 5, 0));
  CHECK_OK(put_n(x, "x", 5, 0));
  CHECK_OK(stek_state_hash(a, before));
  stek_close(a);
  CHECK_OK(serve(&srv, "a"));
  CHECK_RC(stek_sync(x, "127.0.0.1", stek_server_port(srv), NULL, NULL), STEK_ENET);
  CHECK(strstr(stek_errmsg(x), "handshake") != NULL);
  stek_close(x);
  CHECK(counts_reach(srv, 0, 1));
  stek_server_stop(srv);
  hash_of("a", after);
  CHECK(memcmp(before, after, 32) == 0);
  CHECK(count_of("a") == 5);
  test_dir_remove(&dir);
}

typedef struct cancel_ctx {
  stek_cancel *cancel;
  int calls;
  uint64_t received_at_cancel;
} cancel_ctx;

static void cancel_on_first_ops(void *ctx, const stek_sync_stats *st) {
  cancel_ctx *c = ctx;
  c->calls++;
  if (st->ops_received > 0 && !stek_cancel_triggered(c->cancel)) {
    c->received_at_cancel = st->ops_received;
    stek_cancel_trigger(c->cancel);
  }
}

static void test_cancel_from_progress_stops_the_sync(void) {
  stek_server *srv;
  stek_sync_options opt;
  stek_sync_stats st;
  cancel_ctx cc = {0};
  uint8_t space[16];
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  CHECK_OK(put_n(a, "a", 300, 1000));
  stek_close(a);
  CHECK_OK(serve(&srv, "a"));
  CHECK_OK(stek_cancel_new(&cc.cancel));
  stek_sync_options_init(&opt);
  opt.progress = cancel_on_first_ops;
  opt.progress_ctx = &cc;
  opt.cancel = cc.cancel;
  CHECK_RC(stek_sync(b, "127.0.0.1", stek_server_port(srv), &opt, &st), STEK_ECANCELED);
  CHECK(cc.calls > 0 && cc.received_at_cancel > 0);
  CHECK(st.ops_received == cc.received_at_cancel &&
        st.ops_received < 300 + TEST_JOIN_CHANGES);
  /* A flag already set stops the next sync before it starts. */
  CHECK_RC(stek_sync(b, "127.0.0.1", stek_server_port(srv), &opt, &st), STEK_ECANCELED);
  CHECK(st.bytes_sent == 0);
  stek_cancel_free(cc.cancel);
  stek_server_stop(srv);
  stek_close(b);
  test_dir_remove(&dir);
}

/* What a progress bar sees (stek.h, stek_sync_stats). */
typedef struct progress_log {
  int calls, broken;          /* calls; those with done > total */
  int ahead;                  /* calls that knew of ops still to move */
  int bytes_ahead;            /* calls that expected bytes still to move */
  int total_fell;             /* calls whose ops_total fell below the last */
  stek_sync_stats last;
} progress_log;

static void log_progress(void *ctx, const stek_sync_stats *st) {
  progress_log *l = ctx;
  uint64_t ops = st->ops_sent + st->ops_received;
  uint64_t bytes = st->bytes_sent + st->bytes_received;
  if (ops > st->ops_total || bytes > st->bytes_total) l->broken++;
  if (ops < st->ops_total) l->ahead++;
  if (bytes < st->bytes_total) l->bytes_ahead++;
  if (l->calls && st->ops_total < l->last.ops_total) l->total_fell++;
  l->calls++;
  l->last = *st;
}

/* ops_total and bytes_total: known before the ops have moved, never below
 * what has moved, and exactly what moved at the end. */
static void test_progress_totals_reach_what_moved(void) {
  stek_server *srv;
  stek_sync_options opt;
  stek_sync_stats st;
  progress_log log = {0};
  uint8_t space[16];
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  CHECK_OK(put_n(a, "a", 200, 1000)); /* about 200 kB: many messages */
  CHECK_OK(put_n(b, "b", 50, 100));
  stek_close(a);
  CHECK_OK(serve(&srv, "a"));
  stek_sync_options_init(&opt);
  opt.progress = log_progress;
  opt.progress_ctx = &log;
  int rc = stek_sync(b, "127.0.0.1", stek_server_port(srv), &opt, &st);
  stek_server_stop(srv);
  stek_close(b);
  test_dir_remove(&dir);
  CHECK_OK(rc);
  CHECK(st.ops_sent == 50 && st.ops_received == 200 + TEST_JOIN_CHANGES);
  CHECK(log.calls > 2 && log.broken == 0 && log.total_fell == 0);
  CHECK(log.ahead > 0 && log.bytes_ahead > 0); /* totals known before the end */
  CHECK(log.last.ops_total == st.ops_sent + st.ops_received);
  CHECK(log.last.bytes_total == st.bytes_sent + st.bytes_received);
  CHECK(st.ops_total == log.last.ops_total && st.bytes_total == log.last.bytes_total);
  CHECK(st.bytes_received > 200 * 1000); /* the bytes count the ops */
}

/* A socket on 127.0.0.1 that listens (the kernel completes connections
 * into its backlog) and never says anything. */
static int silent_listener(int *port) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 4) ||
      getsockname(fd, (struct sockaddr *)&sa, &len))
    exit(2);
  *port = ntohs(sa.sin_port);
  return fd;
}

static void test_silent_peer_times_out(void) {
  stek_sync_options opt;
  stek_sync_stats st;
  uint8_t space[16];
  int port, fd;
  test_dir_make(&dir);
  stek *b = open_at("b");
  CHECK_OK(stek_space_create(b, "s", space));
  fd = silent_listener(&port);
  stek_sync_options_init(&opt);
  opt.timeout_ms = 300;
  int64_t t0 = mono_ms();
  int rc = stek_sync(b, "127.0.0.1", port, &opt, &st);
  int64_t took = mono_ms() - t0;
  int conn = accept(fd, NULL, NULL); /* the connection was made */
  if (conn >= 0) close(conn);
  close(fd);
  CHECK_RC(rc, STEK_ETIMEDOUT);
  CHECK(conn >= 0);
  CHECK(took >= 250 && took < 60000); /* timed out, and did not hang */
  CHECK(st.bytes_sent > 0 && st.bytes_received == 0); /* the first handshake message */
  stek_close(b);
  test_dir_remove(&dir);
}

/* A hostile server: accepts one connection on fd, announces a 1024-byte
 * handshake frame and sends it a byte every 50 ms, never the whole of it,
 * until the client hangs up (or 30 s have passed, so a broken client
 * cannot hang the test). */
typedef struct trickler {
  int fd, accepted, hung_up;
} trickler;

static void trickle(void *arg) {
  trickler *t = arg;
  uint64_t deadline = uv_hrtime() + 30000ull * 1000000;
  struct pollfd p = {t->fd, POLLIN, 0};
  if (poll(&p, 1, 30000) != 1) return;
  int conn = accept(t->fd, NULL, NULL);
  if (conn < 0) return;
  t->accepted = 1;
  const uint8_t head[] = {0xc5, 0x04, 0x00};
  int gone = send(conn, head, sizeof head, MSG_NOSIGNAL) != (ssize_t)sizeof head;
  for (int sent = 0; !gone && sent < 1000 && uv_hrtime() < deadline;) {
    uint8_t buf[512];
    p.fd = conn;
    p.revents = 0;
    int r = poll(&p, 1, 50);
    if (r > 0) { /* the client's first handshake message, or its hang-up */
      ssize_t n = recv(conn, buf, sizeof buf, 0);
      gone = n <= 0;
    } else if (r == 0) {
      const uint8_t b = 0;
      gone = send(conn, &b, 1, MSG_NOSIGNAL) != 1;
      sent++;
    } else {
      break;
    }
  }
  t->hung_up = gone;
  close(conn);
}

static void test_trickling_peer_is_cut_after_session_ms(void) {
  stek_sync_options opt;
  uint8_t space[16];
  trickler t = {0};
  uv_thread_t th;
  int port;
  test_dir_make(&dir);
  stek *b = open_at("b");
  CHECK_OK(stek_space_create(b, "s", space));
  t.fd = silent_listener(&port);
  if (uv_thread_create(&th, trickle, &t)) exit(2);
  stek_sync_options_init(&opt);
  /* Never idle (a byte every 50 ms against 1 s), so only session_ms can
   * end it. */
  opt.timeout_ms = 1000;
  opt.session_ms = 500;
  int64_t t0 = mono_ms();
  int rc = stek_sync(b, "127.0.0.1", port, &opt, NULL);
  int64_t took = mono_ms() - t0;
  uv_thread_join(&th);
  close(t.fd);
  CHECK_RC(rc, STEK_ETIMEDOUT);
  CHECK(strstr(stek_errmsg(b), "session_ms") != NULL);
  CHECK(t.accepted && t.hung_up); /* the client hung up, not the trickler */
  CHECK(took >= 450 && took < 25000); /* cut, and well before the trickle ran out */
  stek_close(b);
  test_dir_remove(&dir);
}

static int never_confirm(void *ctx, const char sas[7]) {
  (void)ctx;
  (void)sas;
  return 0;
}

static void test_session_ms_must_be_positive(void) {
  stek_sync_options opt;
  uint8_t space[16];
  test_dir_make(&dir);
  stek *b = open_at("b");
  CHECK_OK(stek_space_create(b, "s", space));
  stek_sync_options_init(&opt);
  CHECK(opt.session_ms == STEK_SYNC_SESSION_MS);
  opt.session_ms = -1;
  CHECK_RC(stek_sync(b, "127.0.0.1", 1, &opt, NULL), STEK_EINVAL);
  CHECK(strstr(stek_errmsg(b), "session_ms") != NULL);
  opt.session_ms = 0;
  CHECK_RC(stek_sync(b, "127.0.0.1", 1, &opt, NULL), STEK_EINVAL);
  CHECK_RC(stek_pair_join(b, "127.0.0.1", 1, never_confirm, NULL, &opt, NULL), STEK_EINVAL);
  CHECK(strstr(stek_errmsg(b), "session_ms") != NULL);
  stek_close(b);
  test_dir_remove(&dir);
}

static void test_nobody_listening_is_a_network_error(void) {
  uint8_t space[16];
  int port, fd;
  test_dir_make(&dir);
  stek *b = open_at("b");
  CHECK_OK(stek_space_create(b, "s", space));
  fd = silent_listener(&port);
  close(fd); /* the port is now (almost certainly) closed */
  CHECK_RC(stek_sync(b, "127.0.0.1", port, NULL, NULL), STEK_ENET);
  CHECK(strstr(stek_errmsg(b), "connect") != NULL);
  CHECK_RC(stek_sync(b, "127.0.0.1", 0, NULL, NULL), STEK_EINVAL);
  stek_close(b);
  test_dir_remove(&dir);
}

/* A raw connection to 127.0.0.1:port that says nothing. */
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

static void test_sessions_beyond_the_cap_are_refused(void) {
  stek_server *srv;
  uint8_t space[16];
  int fds[STEK_SERVER_MAX_PEERS];
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  stek_close(a);
  CHECK_OK(serve(&srv, "a"));
  int port = stek_server_port(srv);
  for (int i = 0; i < STEK_SERVER_MAX_PEERS; i++) fds[i] = raw_connect(port);
  /* Connections are accepted in order: these hold every slot. */
  CHECK_RC(stek_sync(b, "127.0.0.1", port, NULL, NULL), STEK_ENET);
  CHECK(counts_reach(srv, 0, 1));
  for (int i = 0; i < STEK_SERVER_MAX_PEERS; i++) close(fds[i]);
  CHECK(counts_reach(srv, 0, 1 + STEK_SERVER_MAX_PEERS)); /* slots freed */
  CHECK_OK(stek_sync(b, "127.0.0.1", port, NULL, NULL));
  stek_server_stop(srv);
  stek_close(b);
  test_dir_remove(&dir);
}

#define KILL_AFTER 20

static void exit_after_some_ops(void *ctx, const stek_sync_stats *st) {
  (void)ctx;
  if (st->ops_received >= KILL_AFTER) _exit(0); /* as if the power went */
}

static void test_killed_sync_resumes_with_only_what_is_missing(void) {
  stek_server *srv;
  stek_sync_stats st;
  uint8_t space[16];
  int status;
  /* a's changes: 400 records and, from the join, b's member record */
  const int hub_ops = 400 + TEST_JOIN_CHANGES, own_ops = 5;
  test_dir_make(&dir);
  stek *a = open_at("a"), *b = open_at("b");
  CHECK_OK(stek_space_create(a, "s", space));
  join(a, b);
  CHECK_OK(put_n(a, "a", hub_ops - TEST_JOIN_CHANGES, 1000));
  CHECK_OK(put_n(b, "b", own_ops, 0));
  stek_close(a);
  stek_close(b);
  CHECK_OK(serve(&srv, "a"));
  int port = stek_server_port(srv);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    stek_sync_options opt;
    stek *s;
    char path[600];
    path_of("b", path, sizeof path);
    if (stek_open(&s, path, NULL)) _exit(2);
    stek_sync_options_init(&opt);
    opt.progress = exit_after_some_ops;
    stek_sync(s, "127.0.0.1", port, &opt, NULL);
    _exit(3); /* the sync ended without being killed */
  }
  CHECK(pid > 0);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  uint64_t held = count_of("b");
  uint64_t got = held - (uint64_t)own_ops;
  CHECK(got >= KILL_AFTER && got < (uint64_t)hub_ops); /* kept what arrived */
  CHECK_OK(sync_store("b", srv, NULL, &st));
  CHECK(st.ops_received == (uint64_t)hub_ops - got); /* only what was missing */
  stek_server_stop(srv);
  CHECK(same_hash("a", "b"));
  CHECK(count_of("a") == (uint64_t)(hub_ops + own_ops));
  test_dir_remove(&dir);
}

static void test_invitation_over_tcp_joins_once(void) {
  stek_server *srv;
  uint8_t space[16];
  char token[STEK_INVITE_BYTES];
  size_t n;
  test_dir_make(&dir);
  stek *a = open_at("a");
  CHECK_OK(stek_space_create(a, "Bezemheide", space));
  CHECK_OK(put_n(a, "a", 10, 0));
  CHECK_OK(stek_invite_create(a, 600000, token));
  stek_close(a);
  CHECK_OK(serve(&srv, "a"));
  int port = stek_server_port(srv);
  stek *b = open_at("b"), *c = open_at("c");
  CHECK_OK(stek_invite_accept(b, token, "127.0.0.1", port, NULL));
  CHECK_OK(stek_space_count(b, &n));
  CHECK(n == 1);
  uint8_t current[16];
  CHECK_OK(stek_space_current(b, current)); /* the joined space is current */
  CHECK(memcmp(current, space, 16) == 0);
  CHECK_OK(stek_sync(b, "127.0.0.1", port, NULL, NULL));
  CHECK_RC(stek_invite_accept(c, token, "127.0.0.1", port, NULL), STEK_EKEY); /* used */
  CHECK_OK(stek_space_count(c, &n));
  CHECK(n == 0);
  CHECK_RC(stek_invite_accept(c, "not a token", "127.0.0.1", port, NULL), STEK_EINVAL);
  stek_close(b);
  stek_close(c);
  stek_server_stop(srv);
  CHECK(same_hash("a", "b"));
  test_dir_remove(&dir);
}

int main(void) {
  RUN(test_two_stores_converge_over_tcp);
  RUN(test_three_nodes_converge_through_the_middle);
  RUN(test_hub_serves_twenty_peers_at_once);
  RUN(test_peer_of_another_space_is_rejected);
  RUN(test_cancel_from_progress_stops_the_sync);
  RUN(test_progress_totals_reach_what_moved);
  RUN(test_silent_peer_times_out);
  RUN(test_trickling_peer_is_cut_after_session_ms);
  RUN(test_session_ms_must_be_positive);
  RUN(test_nobody_listening_is_a_network_error);
  RUN(test_sessions_beyond_the_cap_are_refused);
  RUN(test_killed_sync_resumes_with_only_what_is_missing);
  RUN(test_invitation_over_tcp_joins_once);
  return test_report();
}
