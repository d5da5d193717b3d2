/*
 * net/tcp -- see tcp.h.  Three parts: the connection pump (tcp_conn), the
 * client (stek_sync: resolve, connect, one session, its own loop on the
 * caller's thread) and the server (stek_server_*: listen, one session per
 * peer, a loop on a thread of its own, woken by uv_async to stop).
 */
#define _POSIX_C_SOURCE 200809L

#include "net/tcp.h"

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "crypto/crypto.h"
#include "sync/invite.h"

/* ---- the connection pump ------------------------------------------------ */

typedef struct wreq {
  uv_write_t req;
  tcp_conn *c;
  size_t n;
  uint8_t data[];
} wreq;

static void conn_flush(tcp_conn *c);

/* End the connection with rc, whose message is already on c->s. */
static void conn_finish(tcp_conn *c, int rc) {
  if (c->ended) return;
  c->ended = 1;
  c->rc = rc;
  if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = 0;
  c->on_end(c, rc);
}

void tcp_conn_end(tcp_conn *c, int rc) {
  if (c->ended) return;
  if (rc == STEK_ETIMEDOUT && c->s)
    stek__fail(c->s, rc, "sync: the peer sent nothing for too long");
  else if (rc == STEK_ECANCELED && c->s)
    stek__fail(c->s, rc, "sync: cancelled");
  conn_finish(c, rc);
}

static void conn_net_fail(tcp_conn *c, int uverr, const char *what) {
  if (c->ended) return;
  stek__fail(c->s, STEK_ENET, "sync: %s: %s", what, uv_strerror(uverr));
  tcp_conn_end(c, STEK_ENET);
}

/* End the connection if the session is over. */
static void conn_check(tcp_conn *c) {
  if (c->ended) return;
  int st = sess_state(c->ss);
  if (st == SESS_FAILED) {
    /* What it queued before failing (a pairing refusal) goes out first. */
    if (c->in_flight == 0) tcp_conn_end(c, sess_error(c->ss));
  } else if (st == SESS_DONE) {
    if (c->in_flight == 0) tcp_conn_end(c, STEK_OK);
  } else if (c->eof) {
    uint8_t peer[STEK_DEVICE_ID_BYTES];
    if (sess_peer(c->ss, peer) != STEK_OK)
      stek__fail(c->s, STEK_ENET,
                 "sync: the peer closed the connection during the handshake "
                 "(not serving this space?)");
    else
      stek__fail(c->s, STEK_ENET, "sync: the peer closed the connection midway");
    tcp_conn_end(c, STEK_ENET);
  }
}

static void on_write(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  tcp_conn *c = w->c;
  c->in_flight -= w->n;
  free(w);
  if (c->ended) return; /* closing: writes are cancelled */
  if (status < 0) return conn_net_fail(c, status, "sending");
  c->last_activity = uv_now(c->tcp.loop);
  if (c->on_progress) c->on_progress(c);
  conn_flush(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  tcp_conn *c = h->data;
  (void)hint;
  *buf = uv_buf_init((char *)c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  tcp_conn *c = stream->data;
  (void)buf;
  if (c->ended || nread == 0) return;
  if (nread == UV_EOF) {
    c->eof = 1;
    uv_read_stop(stream);
    c->reading = 0;
    return conn_check(c);
  }
  if (nread < 0) return conn_net_fail(c, (int)nread, "receiving");
  c->last_activity = uv_now(c->tcp.loop);
  sess_input(c->ss, c->rbuf, (size_t)nread); /* a failure shows in its state */
  if (c->on_progress) c->on_progress(c);
  conn_flush(c);
}

/* Queue what the session offers (up to TCP_WRITE_HIGH in flight), pause or
 * resume reading accordingly, and end the connection if the session is
 * over. */
static void conn_flush(tcp_conn *c) {
  while (!c->ended && c->in_flight < TCP_WRITE_HIGH) {
    const uint8_t *p;
    size_t n;
    if (sess_output(c->ss, &p, &n) != 0 || n == 0) break;
    if (n > TCP_WRITE_CHUNK) n = TCP_WRITE_CHUNK;
    wreq *w = malloc(sizeof *w + n);
    if (!w) {
      stek__fail(c->s, STEK_ENOMEM, "sync: out of memory");
      return tcp_conn_end(c, STEK_ENOMEM);
    }
    memcpy(w->data, p, n);
    w->c = c;
    w->n = n;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (r) {
      free(w);
      return conn_net_fail(c, r, "sending");
    }
    c->in_flight += n;
    sess_consumed(c->ss, n);
  }
  if (c->ended) return;
  /* sess_output() may have waited for a user (a pairing confirmation):
   * that time is not the peer's silence. */
  uv_update_time(c->tcp.loop);
  c->last_activity = uv_now(c->tcp.loop);
  if (c->in_flight >= TCP_WRITE_HIGH && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  } else if (c->in_flight < TCP_WRITE_HIGH && !c->reading && !c->eof) {
    int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (r) return conn_net_fail(c, r, "receiving");
    c->reading = 1;
  }
  conn_check(c);
}

void tcp_conn_start(tcp_conn *c) {
  c->tcp.data = c;
  c->last_activity = uv_now(c->tcp.loop);
  uv_tcp_nodelay(&c->tcp, 1); /* small request/answer messages: no Nagle delay */
  conn_flush(c);
}

/* ---- SIGPIPE ------------------------------------------------------------ */

/* Writing to a connection the peer has closed raises SIGPIPE, which kills
 * the process by default.  A library must not change the process's signal
 * dispositions, so SIGPIPE is blocked on the threads running our loops (the
 * write then fails with EPIPE) and, on the caller's thread, a SIGPIPE we
 * caused is discarded before the mask is restored. */
#ifndef _WIN32
typedef struct pipe_guard {
  sigset_t old;
  int was_pending;
} pipe_guard;

static void pipe_block(pipe_guard *g) {
  sigset_t set, pending;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &g->old);
  g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

static void pipe_restore(pipe_guard *g) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  if (!g->was_pending && !sigismember(&g->old, SIGPIPE)) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}
#else
typedef int pipe_guard;
static void pipe_block(pipe_guard *g) { (void)g; }
static void pipe_restore(pipe_guard *g) { (void)g; }
#endif

/* ---- cancellation ------------------------------------------------------- */

struct stek_cancel {
  atomic_int flag;
};

int stek_cancel_new(stek_cancel **out) {
  *out = calloc(1, sizeof **out);
  if (!*out) return STEK_ENOMEM;
  atomic_init(&(*out)->flag, 0);
  return STEK_OK;
}

void stek_cancel_trigger(stek_cancel *c) {
  if (c) atomic_store(&c->flag, 1);
}

int stek_cancel_triggered(const stek_cancel *c) {
  return c ? atomic_load(&((stek_cancel *)c)->flag) : 0;
}

void stek_cancel_free(stek_cancel *c) { free(c); }

/* ---- the client --------------------------------------------------------- */

#define CLIENT_TICK_MS 20 /* how often the cancel flag and the time limits are checked */
#define MAX_ADDRS 8

typedef struct client {
  uv_loop_t loop;
  tcp_conn conn;
  uv_timer_t timer;
  uv_getaddrinfo_t gai;
  uv_connect_t creq;
  struct sockaddr_storage addrs[MAX_ADDRS];
  int n_addrs, next_addr, last_uverr;
  int tcp_open, gai_pending, connected, finished, rc;
  const char *host;
  int port;
  uint64_t started; /* uv_now() at the start, for session_ms */
  stek_sync_options opt;
  stek_sync_stats reported;
} client;

static void client_noop_close(uv_handle_t *h) { (void)h; }

static void client_report(client *cl) {
  stek_sync_stats st;
  if (!cl->opt.progress) return;
  sess_stats(cl->conn.ss, &st);
  if (!memcmp(&st, &cl->reported, sizeof st)) return;
  cl->reported = st;
  cl->opt.progress(cl->opt.progress_ctx, &st);
}

/* The sync is over: close everything; uv_run() then returns. */
static void client_finish(client *cl, int rc) {
  if (cl->finished) return;
  cl->finished = 1;
  cl->rc = rc;
  cl->conn.ended = 1; /* no more session work, whoever ended it */
  if (rc == STEK_OK) client_report(cl);
  uv_timer_stop(&cl->timer);
  uv_close((uv_handle_t *)&cl->timer, client_noop_close);
  if (cl->gai_pending) uv_cancel((uv_req_t *)&cl->gai);
  if (cl->tcp_open) {
    cl->tcp_open = 0;
    uv_close((uv_handle_t *)&cl->conn.tcp, client_noop_close);
  }
}

static void client_on_end(tcp_conn *c, int rc) { client_finish(c->owner, rc); }

static void client_on_progress(tcp_conn *c) {
  client *cl = c->owner;
  client_report(cl);
  if (stek_cancel_triggered(cl->opt.cancel)) tcp_conn_end(c, STEK_ECANCELED);
}

static void client_fail(client *cl, int rc, const char *fmt, const char *detail) {
  if (cl->finished) return;
  stek__fail(cl->conn.s, rc, fmt, cl->host, cl->port, detail);
  client_finish(cl, rc);
}

/* The whole sync has lasted session_ms: cut it however busy it is (a
 * server trickling bytes would otherwise hold the caller for ever). */
static void client_cut(client *cl) {
  stek__fail(cl->conn.s, STEK_ETIMEDOUT,
             "sync with %s:%d: cut after %lld ms, the most a sync may last (session_ms)",
             cl->host, cl->port, (long long)cl->opt.session_ms);
  if (cl->connected) conn_finish(&cl->conn, STEK_ETIMEDOUT); /* keeps the message */
  else client_finish(cl, STEK_ETIMEDOUT);
}

static void client_tick(uv_timer_t *t) {
  client *cl = t->data;
  if (cl->finished) return;
  int rc = 0;
  if (stek_cancel_triggered(cl->opt.cancel)) rc = STEK_ECANCELED;
  else if (uv_now(&cl->loop) - cl->started >= (uint64_t)cl->opt.session_ms) {
    client_cut(cl);
    return;
  } else if (uv_now(&cl->loop) - cl->conn.last_activity >= (uint64_t)cl->opt.timeout_ms)
    rc = STEK_ETIMEDOUT;
  if (!rc) return;
  if (cl->connected) {
    tcp_conn_end(&cl->conn, rc); /* the pump says why */
    return;
  }
  if (rc == STEK_ECANCELED) client_fail(cl, rc, "sync with %s:%d: cancelled%s", "");
  else
    client_fail(cl, rc, "sync with %s:%d: %s", "no connection within the timeout");
}

static void client_connect_next(client *cl);

static void client_retry_closed(uv_handle_t *h) {
  client *cl = h->data;
  if (!cl->finished) client_connect_next(cl);
}

static void client_on_connect(uv_connect_t *req, int status) {
  client *cl = req->data;
  if (cl->finished) return;
  if (status < 0) {
    cl->last_uverr = status;
    cl->tcp_open = 0;
    cl->conn.tcp.data = cl;
    uv_close((uv_handle_t *)&cl->conn.tcp, client_retry_closed);
    return;
  }
  cl->connected = 1;
  tcp_conn_start(&cl->conn);
}

/* Try the next candidate address, or fail with the last error. */
static void client_connect_next(client *cl) {
  while (cl->next_addr < cl->n_addrs) {
    const struct sockaddr *sa = (const struct sockaddr *)&cl->addrs[cl->next_addr++];
    int r = uv_tcp_init(&cl->loop, &cl->conn.tcp);
    if (r) {
      cl->last_uverr = r;
      break;
    }
    cl->tcp_open = 1;
    cl->conn.tcp.data = cl;
    cl->creq.data = cl;
    r = uv_tcp_connect(&cl->creq, &cl->conn.tcp, sa, client_on_connect);
    if (!r) return;
    cl->last_uverr = r;
    cl->tcp_open = 0;
    uv_close((uv_handle_t *)&cl->conn.tcp, client_retry_closed);
    return;
  }
  client_fail(cl, STEK_ENET, "sync: cannot connect to %s:%d: %s",
              uv_strerror(cl->last_uverr ? cl->last_uverr : UV_EADDRNOTAVAIL));
}

static void client_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  client *cl = req->data;
  cl->gai_pending = 0;
  if (!cl->finished) {
    if (status < 0) {
      client_fail(cl, STEK_ENET, "sync: cannot resolve %s (port %d): %s",
                  uv_strerror(status));
    } else {
      for (struct addrinfo *ai = res; ai && cl->n_addrs < MAX_ADDRS; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof cl->addrs[0])
          continue;
        memcpy(&cl->addrs[cl->n_addrs++], ai->ai_addr, ai->ai_addrlen);
      }
      cl->conn.last_activity = uv_now(&cl->loop);
      client_connect_next(cl);
    }
  }
  uv_freeaddrinfo(res);
}

void stek_sync_options_init(stek_sync_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->timeout_ms = 30000;
  opt->session_ms = STEK_SYNC_SESSION_MS;
}

/* Close whatever is still open (only after a bug or a failed start) and
 * close the loop. */
static void walk_close(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void loop_dispose(uv_loop_t *loop) {
  while (uv_loop_close(loop) == UV_EBUSY) {
    uv_walk(loop, walk_close, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
  }
}

/* One client session over TCP: a sync (join_psk and confirm NULL), a join
 * by invitation (join_psk: the invitation's capability) or by pairing
 * (confirm: asked about the digits). */
static int run_client(stek *s, const char *host, int port, const stek_sync_options *opt,
                      stek_sync_stats *stats, const uint8_t *join_psk,
                      stek_pair_confirm_cb confirm, void *confirm_ctx) {
  client *cl;
  int rc = stek__need_store(s);
  if (stats) memset(stats, 0, sizeof *stats);
  if (rc) return rc;
  if (!host || !*host || port <= 0 || port > 65535)
    return stek__fail(s, STEK_EINVAL, "sync: host and a port in 1..65535 are required");
  if (opt && opt->timeout_ms <= 0)
    return stek__fail(s, STEK_EINVAL, "sync: timeout_ms must be positive");
  if (opt && opt->session_ms <= 0)
    return stek__fail(s, STEK_EINVAL, "sync: session_ms must be positive");
  if (!(cl = calloc(1, sizeof *cl))) return stek__fail(s, STEK_ENOMEM, "sync: out of memory");
  if (opt) cl->opt = *opt;
  else stek_sync_options_init(&cl->opt);
  cl->host = host;
  cl->port = port;
  cl->conn.s = s;
  cl->conn.owner = cl;
  cl->conn.on_end = client_on_end;
  cl->conn.on_progress = client_on_progress;
  if (confirm) rc = sess_new_pair(&cl->conn.ss, s, confirm, confirm_ctx);
  else if (join_psk) rc = sess_new_join(&cl->conn.ss, s, join_psk);
  else if (cl->opt.relay || !s->has_space) rc = sess_new_relay(&cl->conn.ss, s);
  else rc = sess_new(&cl->conn.ss, s, 1);
  if (rc) {
    free(cl);
    return rc;
  }
  if ((rc = uv_loop_init(&cl->loop))) {
    sess_free(cl->conn.ss);
    free(cl);
    return stek__fail(s, STEK_ENET, "sync: cannot start an event loop: %s", uv_strerror(rc));
  }
  pipe_guard pg;
  pipe_block(&pg);
  uv_timer_init(&cl->loop, &cl->timer);
  cl->timer.data = cl;
  cl->conn.last_activity = cl->started = uv_now(&cl->loop);
  int64_t tick = CLIENT_TICK_MS;
  if (cl->opt.timeout_ms < tick) tick = cl->opt.timeout_ms;
  if (cl->opt.session_ms < tick) tick = cl->opt.session_ms;
  uv_timer_start(&cl->timer, client_tick, (uint64_t)tick, (uint64_t)tick);

  /* A numeric address needs no resolver (and no thread pool). */
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  char bare[64];
  size_t hl = strlen(host);
  if (hl >= 2 && hl < sizeof bare && host[0] == '[' && host[hl - 1] == ']') {
    memcpy(bare, host + 1, hl - 2); /* "[::1]" */
    bare[hl - 2] = '\0';
  } else {
    snprintf(bare, sizeof bare, "%s", hl < sizeof bare ? host : "");
  }
  if (stek_cancel_triggered(cl->opt.cancel)) {
    client_fail(cl, STEK_ECANCELED, "sync with %s:%d: cancelled%s", "");
  } else if (uv_ip4_addr(bare, port, &a4) == 0) {
    memcpy(&cl->addrs[cl->n_addrs++], &a4, sizeof a4);
    client_connect_next(cl);
  } else if (uv_ip6_addr(bare, port, &a6) == 0) {
    memcpy(&cl->addrs[cl->n_addrs++], &a6, sizeof a6);
    client_connect_next(cl);
  } else {
    struct addrinfo hints;
    char service[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%d", port);
    cl->gai.data = cl;
    int r = uv_getaddrinfo(&cl->loop, &cl->gai, client_on_resolved, host, service, &hints);
    if (r) client_fail(cl, STEK_ENET, "sync: cannot resolve %s (port %d): %s", uv_strerror(r));
    else cl->gai_pending = 1;
  }
  uv_run(&cl->loop, UV_RUN_DEFAULT);
  loop_dispose(&cl->loop);
  pipe_restore(&pg);

  rc = cl->finished ? cl->rc : STEK_ERROR;
  if (stats) sess_stats(cl->conn.ss, stats);
  if (rc == STEK_OK) stek__ok(s, 0);
  sess_free(cl->conn.ss);
  free(cl);
  return rc;
}

int stek_sync(stek *s, const char *host, int port, const stek_sync_options *opt,
              stek_sync_stats *stats) {
  return run_client(s, host, port, opt, stats, NULL, NULL, NULL);
}

int stek_invite_accept(stek *s, const char *token, const char *host, int port,
                       const stek_sync_options *opt) {
  uint8_t psk[32];
  int rc = stek__need_store(s);
  if (rc) return rc;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  if (invite_token_psk(token, psk))
    return stek__fail(s, STEK_EINVAL, "not an invitation token (STEK-XXXX-...)");
  rc = run_client(s, host, port, opt, NULL, psk, NULL, NULL);
  cr_wipe(psk, sizeof psk);
  /* A member closes the connection on a token it does not hold: bad
   * credentials, not a network fault. */
  if (rc == STEK_ENET && strstr(stek_errmsg(s), "handshake"))
    rc = stek__fail(s, STEK_EKEY, "invite: the member at %s:%d did not accept the token"
                                  " (used, expired or unknown)", host, port);
  return rc;
}

int stek_pair_join(stek *s, const char *host, int port, stek_pair_confirm_cb confirm,
                   void *ctx, const stek_sync_options *opt, uint8_t space_out[STEK_ID_BYTES]) {
  int rc = stek__need_store(s);
  if (rc) return rc;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  if (!confirm) return stek__fail(s, STEK_EINVAL, "pair: a confirm callback is required");
  rc = run_client(s, host, port, opt, NULL, NULL, confirm, ctx);
  /* A member closes the connection at the first message when no offer is
   * open: a refusal, not a network fault. */
  if (rc == STEK_ENET && strstr(stek_errmsg(s), "handshake"))
    rc = stek__fail(s, STEK_EREFUSED, "pair: the member at %s:%d has no pairing offer open"
                                      " (none, used or expired)", host, port);
  if (!rc && space_out) memcpy(space_out, s->space_id, STEK_ID_BYTES);
  return rc;
}

/* ---- the server --------------------------------------------------------- */

#define SERVER_SWEEP_MS 1000 /* at most this long between looks for sessions to cut */

typedef struct srv_conn {
  tcp_conn c;
  struct stek_server *srv;
  struct srv_conn *prev, *next;
  int listed;
  uint64_t started; /* uv_now() at accept, for session_ms */
} srv_conn;

struct stek_server {
  stek *s;
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_async_t wake;
  uv_timer_t sweep;
  uv_thread_t thread;
  int running; /* the thread was started */
  int port, stopping, n_conns;
  stek_server_options opt;
  srv_conn *conns;
  atomic_uint_fast64_t n_done, n_failed;
  char err[320];
};

static void srv_conn_closed(uv_handle_t *h) {
  srv_conn *sc = (srv_conn *)((char *)h - offsetof(srv_conn, c.tcp));
  stek_server *srv = sc->srv;
  if (sc->listed) {
    if (sc->prev) sc->prev->next = sc->next;
    else srv->conns = sc->next;
    if (sc->next) sc->next->prev = sc->prev;
    srv->n_conns--;
  }
  sess_free(sc->c.ss);
  free(sc);
}

/* Count a session that ended (its message, if it failed, is on srv->s)
 * and tell the application. */
static void srv_count(stek_server *srv, int rc) {
  if (rc == STEK_OK) atomic_fetch_add(&srv->n_done, 1);
  else atomic_fetch_add(&srv->n_failed, 1);
  if (srv->opt.on_session_end)
    srv->opt.on_session_end(srv->opt.on_session_end_ctx, rc,
                            rc == STEK_OK ? "" : stek_errmsg(srv->s));
}

static void srv_conn_end(tcp_conn *c, int rc) {
  srv_conn *sc = c->owner;
  srv_count(sc->srv, rc);
  uv_close((uv_handle_t *)&c->tcp, srv_conn_closed);
}

static void srv_on_connection(uv_stream_t *listener, int status) {
  stek_server *srv = listener->data;
  if (status < 0 || srv->stopping) return;
  srv_conn *sc = calloc(1, sizeof *sc);
  if (!sc) return; /* the peer stays in the backlog; its timeout will tell it */
  sc->srv = srv;
  sc->c.s = srv->s;
  sc->c.owner = sc;
  sc->c.on_end = srv_conn_end;
  if (uv_tcp_init(&srv->loop, &sc->c.tcp)) {
    free(sc);
    return;
  }
  sc->c.tcp.data = &sc->c;
  /* Over the cap, or no session: accept and close at once, so that the
   * peer learns now rather than at its timeout. */
  int r = uv_accept(listener, (uv_stream_t *)&sc->c.tcp), rc = 0;
  if (r)
    rc = stek__fail(srv->s, STEK_ENET, "serve: cannot accept a connection: %s",
                    uv_strerror(r));
  else if (srv->n_conns >= srv->opt.max_peers)
    rc = stek__fail(srv->s, STEK_EBUSY,
                    "serve: connection refused: %d sessions at once already "
                    "(max_peers)", srv->opt.max_peers);
  else
    rc = sess_new(&sc->c.ss, srv->s, 0);
  if (rc) {
    srv_count(srv, rc);
    uv_close((uv_handle_t *)&sc->c.tcp, srv_conn_closed);
    return;
  }
  sc->started = uv_now(&srv->loop);
  sc->listed = 1;
  sc->next = srv->conns;
  if (srv->conns) srv->conns->prev = sc;
  srv->conns = sc;
  srv->n_conns++;
  tcp_conn_start(&sc->c);
}

/* Cut sessions past their time: idle_ms without traffic, or session_ms in
 * all however busy (a peer trickling bytes would otherwise hold a slot). */
static void srv_sweep(uv_timer_t *t) {
  stek_server *srv = t->data;
  uint64_t now = uv_now(&srv->loop);
  uint64_t idle = (uint64_t)srv->opt.idle_ms, most = (uint64_t)srv->opt.session_ms;
  for (srv_conn *sc = srv->conns, *next; sc; sc = next) {
    next = sc->next; /* ending closes, but the close callback comes later */
    if (sc->c.ended) continue;
    if (now - sc->started >= most) {
      stek__fail(srv->s, STEK_ETIMEDOUT,
                 "serve: session cut after %llu ms, the most one may last (session_ms)",
                 (unsigned long long)most);
      conn_finish(&sc->c, STEK_ETIMEDOUT);
    } else if (now - sc->c.last_activity >= idle) {
      stek__fail(srv->s, STEK_ETIMEDOUT,
                 "serve: session cut: the peer sent nothing for %llu ms (idle_ms)",
                 (unsigned long long)idle);
      conn_finish(&sc->c, STEK_ETIMEDOUT);
    }
  }
}

static void srv_on_wake(uv_async_t *a) {
  stek_server *srv = a->data;
  srv->stopping = 1;
  uv_close((uv_handle_t *)&srv->listener, NULL);
  uv_close((uv_handle_t *)&srv->sweep, NULL);
  uv_close((uv_handle_t *)&srv->wake, NULL);
  /* A session already DONE only waits for its last write's callback. */
  for (srv_conn *sc = srv->conns; sc; sc = sc->next)
    if (!sc->c.ended)
      tcp_conn_end(&sc->c, sess_state(sc->c.ss) == SESS_DONE ? STEK_OK : STEK_ECANCELED);
}

static void srv_thread(void *arg) {
  stek_server *srv = arg;
  uv_run(&srv->loop, UV_RUN_DEFAULT);
}

static int srv_fail(stek_server *srv, int rc, const char *what, const char *detail) {
  snprintf(srv->err, sizeof srv->err, "serve: %s: %s", what, detail);
  return rc;
}

void stek_server_options_init(stek_server_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->max_peers = STEK_SERVER_MAX_PEERS;
  opt->idle_ms = STEK_SERVER_IDLE_MS;
  opt->session_ms = STEK_SERVER_SESSION_MS;
}

int stek_server_start(stek_server **out, const char *store_path, const stek_config *cfg,
                      const char *bind_addr, int port, const stek_server_options *opt) {
  stek_server *srv = calloc(1, sizeof *srv);
  struct sockaddr_storage ss;
  int r, rc;
  *out = srv;
  if (!srv) return STEK_ENOMEM;
  if (opt) srv->opt = *opt;
  else stek_server_options_init(&srv->opt);
  atomic_init(&srv->n_done, 0);
  atomic_init(&srv->n_failed, 0);
  if (!bind_addr) bind_addr = "127.0.0.1";
  if (!store_path || port < 0 || port > 65535)
    return srv_fail(srv, STEK_EINVAL, "arguments", "a store path and a port in 0..65535");
  if (srv->opt.max_peers < 1 || srv->opt.idle_ms <= 0 || srv->opt.session_ms <= 0)
    return srv_fail(srv, STEK_EINVAL, "options",
                    "max_peers, idle_ms and session_ms must be positive");
  memset(&ss, 0, sizeof ss);
  if (uv_ip4_addr(bind_addr, port, (struct sockaddr_in *)&ss) &&
      uv_ip6_addr(bind_addr, port, (struct sockaddr_in6 *)&ss))
    return srv_fail(srv, STEK_EINVAL, bind_addr, "not a numeric IPv4 or IPv6 address");
  if ((rc = stek_open(&srv->s, store_path, cfg))) {
    srv_fail(srv, rc, store_path, stek_errmsg(srv->s));
    stek_close(srv->s);
    srv->s = NULL;
    return rc;
  }
  if ((r = uv_loop_init(&srv->loop))) {
    stek_close(srv->s);
    srv->s = NULL;
    return srv_fail(srv, STEK_ENET, "event loop", uv_strerror(r));
  }
  uv_tcp_init(&srv->loop, &srv->listener);
  uv_async_init(&srv->loop, &srv->wake, srv_on_wake);
  uv_timer_init(&srv->loop, &srv->sweep);
  srv->listener.data = srv->wake.data = srv->sweep.data = srv;
  r = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
  if (!r) r = uv_listen((uv_stream_t *)&srv->listener, 128, srv_on_connection);
  if (!r) {
    int len = sizeof ss;
    r = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len);
    if (!r)
      srv->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  if (!r) {
    /* Often enough that a cut comes within a quarter of the limit late. */
    int64_t every = SERVER_SWEEP_MS;
    if (srv->opt.idle_ms / 4 < every) every = srv->opt.idle_ms / 4;
    if (srv->opt.session_ms / 4 < every) every = srv->opt.session_ms / 4;
    if (every < 1) every = 1;
    r = uv_timer_start(&srv->sweep, srv_sweep, (uint64_t)every, (uint64_t)every);
  }
  if (!r) {
    /* The server's thread takes no signals: they are the application's. */
#ifndef _WIN32
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
#endif
    r = uv_thread_create(&srv->thread, srv_thread, srv);
#ifndef _WIN32
    pthread_sigmask(SIG_SETMASK, &old, NULL);
#endif
  }
  if (r) {
    char what[96];
    snprintf(what, sizeof what, "listening on %s port %d", bind_addr, port);
    srv_fail(srv, STEK_ENET, what, uv_strerror(r));
    srv->port = 0;
    loop_dispose(&srv->loop);
    stek_close(srv->s);
    srv->s = NULL;
    return STEK_ENET;
  }
  srv->running = 1;
  return STEK_OK;
}

int stek_server_port(const stek_server *srv) { return srv && srv->running ? srv->port : 0; }

const char *stek_server_errmsg(const stek_server *srv) { return srv ? srv->err : ""; }

void stek_server_counts(const stek_server *srv, uint64_t *done, uint64_t *failed) {
  stek_server *m = (stek_server *)srv; /* atomic loads take non-const */
  if (done) *done = atomic_load(&m->n_done);
  if (failed) *failed = atomic_load(&m->n_failed);
}

void stek_server_stop(stek_server *srv) {
  if (!srv) return;
  if (srv->running) {
    uv_async_send(&srv->wake);
    uv_thread_join(&srv->thread);
    loop_dispose(&srv->loop);
    stek_close(srv->s);
  }
  free(srv);
}
