/*
 * net/discovery.c -- the announcer and the listener of LAN discovery (see
 * discovery.h).  Each runs its own libuv loop: the listener on the caller's
 * thread for one stek_discover() call, the announcer on a thread it owns,
 * woken by a uv_async to stop.
 */
#define _POSIX_C_SOURCE 200809L
#include "net/discovery.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "sync/beacon.h"

#define DEFAULT_TIMEOUT_MS 5000
#define MIN_PERIOD_MS 10
/* Devices remembered per run, to report each once; more are not reported. */
#define MAX_PEERS 4096
/* A beacon is far shorter; anything longer arrives cut (UV_UDP_PARTIAL)
 * and is dropped. */
#define RECV_BUF 512

/* ---- options ---- */

void stek_discover_options_init(stek_discover_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->timeout_ms = DEFAULT_TIMEOUT_MS;
  opt->port = STEK_DISCOVERY_PORT;
}

void stek_announce_options_init(stek_announce_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->period_ms = STEK_DISCOVERY_PERIOD_MS;
  opt->port = STEK_DISCOVERY_PORT;
}

/* A numeric IPv4 or IPv6 address and a port; STEK_EINVAL otherwise. */
static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return 0;
  return STEK_EINVAL;
}

/* ---- the spaces' keys, in locked memory for as short as possible ---- */

typedef struct space_keys {
  uint8_t (*keys)[BEACON_KEY]; /* cr_secret_alloc */
  uint8_t (*ids)[STEK_ID_BYTES];
  size_t n;
} space_keys;

static void keys_free(space_keys *k) {
  if (k->keys) cr_secret_free(k->keys);
  free(k->ids);
  memset(k, 0, sizeof *k);
}

/* Every space s's store holds; on failure the message is in s. */
static int keys_load(stek *s, space_keys *k) {
  char name[256];
  size_t n = 0;
  int64_t sp;
  memset(k, 0, sizeof *k);
  int rc = store_space_count(s->st, &n);
  if (rc) return stek__store_fail(s, rc);
  if (n == 0) return 0;
  k->keys = cr_secret_alloc(n * BEACON_KEY);
  k->ids = calloc(n, STEK_ID_BYTES);
  if (!k->keys || !k->ids) {
    keys_free(k);
    return stek__fail(s, STEK_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    rc = store_space_at(s->st, i, k->ids[i], name, sizeof name);
    if (!rc) rc = store_space_find(s->st, k->ids[i], &sp);
    if (!rc) rc = store_space_key(s->st, sp, k->keys[i]);
    if (rc == STEK_ENOSPACE) break; /* a space went meanwhile: use the rest */
    if (rc) {
      keys_free(k);
      return stek__store_fail(s, rc);
    }
    k->n = i + 1;
  }
  return 0;
}

/* ---- the listener ---- */

typedef struct listener {
  stek *s;
  space_keys k;
  stek_peer_cb cb;
  void *ctx;
  int rc; /* cb's non-zero answer */
  int done;
  stek_peer *seen;
  size_t n_seen;
  disc_stats *st;
  uv_udp_t udp;
  uv_timer_t timer;
  uint8_t buf[RECV_BUF];
} listener;

static void listen_finish(listener *l) {
  if (l->done) return;
  l->done = 1;
  uv_close((uv_handle_t *)&l->udp, NULL);
  uv_close((uv_handle_t *)&l->timer, NULL);
}

static void on_timeout(uv_timer_t *t) { listen_finish(t->data); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  listener *l = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)l->buf, sizeof l->buf);
}

static int seen_before(listener *l, const stek_peer *p) {
  for (size_t i = 0; i < l->n_seen; i++)
    if (!memcmp(l->seen[i].space, p->space, STEK_ID_BYTES) &&
        !strcmp(l->seen[i].host, p->host) && l->seen[i].port == p->port)
      return 1;
  return 0;
}

static void on_datagram(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags) {
  listener *l = h->data;
  stek_peer p;
  (void)buf;
  if (nread <= 0 || !from || (flags & UV_UDP_PARTIAL) || l->done) return;
  if (l->st) l->st->heard++;
  int i = beacon_match(l->buf, (size_t)nread, (const uint8_t(*)[BEACON_KEY])l->k.keys,
                       l->k.n, stek__now_ms(l->s), &p.port);
  if (i < 0) return; /* not ours, or not a beacon: nothing to say */
  if (l->st) l->st->recognised++;
  memset(p.host, 0, sizeof p.host);
  if (uv_ip_name(from, p.host, sizeof p.host) != 0) return;
  memcpy(p.space, l->k.ids[i], STEK_ID_BYTES);
  if (seen_before(l, &p) || l->n_seen == MAX_PEERS) return;
  l->seen[l->n_seen++] = p;
  int rc = l->cb ? l->cb(l->ctx, &p) : 0;
  if (rc) {
    l->rc = rc;
    listen_finish(l);
  }
}

int disc_listen(stek *s, const stek_discover_options *opt, stek_peer_cb cb,
                void *ctx, disc_stats *st) {
  stek_discover_options def;
  struct sockaddr_storage addr;
  uv_loop_t loop;
  listener *l;
  int rc, uvrc;
  if (stek__need_store(s)) return STEK_EINVAL;
  if (!opt) {
    stek_discover_options_init(&def);
    opt = &def;
  }
  if (opt->timeout_ms < 0)
    return stek__fail(s, STEK_EINVAL, "discovery: negative timeout");
  if (parse_addr(opt->address ? opt->address : "0.0.0.0", opt->port, &addr))
    return stek__fail(s, STEK_EINVAL, "discovery: not a numeric IP address: %s",
                      opt->address);
  if (!(l = calloc(1, sizeof *l)) || !(l->seen = calloc(MAX_PEERS, sizeof *l->seen))) {
    free(l);
    return stek__fail(s, STEK_ENOMEM, "out of memory");
  }
  l->s = s, l->cb = cb, l->ctx = ctx, l->st = st;
  if ((rc = keys_load(s, &l->k)) != 0) goto out;
  if (l->k.n == 0) {
    rc = stek__fail(s, STEK_ENOSPACE, "discovery: this store holds no space");
    goto out;
  }
  if ((uvrc = uv_loop_init(&loop)) != 0) {
    rc = stek__fail(s, STEK_ERROR, "discovery: %s", uv_strerror(uvrc));
    goto out;
  }
  uv_udp_init(&loop, &l->udp);
  uv_timer_init(&loop, &l->timer);
  l->udp.data = l->timer.data = l;
  uvrc = uv_udp_bind(&l->udp, (const struct sockaddr *)&addr, UV_UDP_REUSEADDR);
  if (!uvrc && !opt->address) /* no multicast route is no reason to fail */
    (void)uv_udp_set_membership(&l->udp, STEK_DISCOVERY_GROUP, NULL, UV_JOIN_GROUP);
  if (!uvrc) uvrc = uv_udp_recv_start(&l->udp, on_alloc, on_datagram);
  if (!uvrc) uvrc = uv_timer_start(&l->timer, on_timeout, (uint64_t)opt->timeout_ms, 0);
  rc = 0;
  if (uvrc) {
    rc = stek__fail(s, STEK_EIO, "discovery: cannot listen on %s port %u: %s",
                    opt->address ? opt->address : "0.0.0.0", (unsigned)opt->port,
                    uv_strerror(uvrc));
    listen_finish(l);
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* until both handles are closed */
  uv_loop_close(&loop);
  if (!rc) rc = l->rc ? l->rc : stek__ok(s, STEK_OK);
out:
  keys_free(&l->k);
  free(l->seen);
  free(l);
  return rc;
}

int stek_discover(stek *s, const stek_discover_options *opt, stek_peer_cb cb,
                  void *ctx) {
  return disc_listen(s, opt, cb, ctx, NULL);
}

/* ---- the announcer ---- */

struct stek_announcer {
  stek *s; /* the announcer's own handle, used only by its thread once started */
  char err[320];
  uint16_t serve_port;
  uint64_t period_ms;
  struct sockaddr_storage dest[2];
  int n_dest;
  uv_loop_t loop;
  uv_udp_t udp;
  uv_timer_t timer;
  uv_async_t wake;
  uv_thread_t thread;
  int have_loop, have_thread;
  atomic_uint_fast64_t rounds;
};

static int announcer_fail(stek_announcer *a, int rc, const char *what, int uvrc) {
  snprintf(a->err, sizeof a->err, "announcer: %s%s%s", what, uvrc ? ": " : "",
           uvrc ? uv_strerror(uvrc) : "");
  return rc;
}

/* One round: a fresh beacon per space held now, to every destination.  A
 * round that fails (the store busy, a send refused) is simply skipped: the
 * next comes one period later, and beacons are best effort anyway. */
static void on_round(uv_timer_t *t) {
  stek_announcer *a = t->data;
  space_keys k;
  uint8_t b[BEACON_MAX_BYTES];
  size_t len;
  if (keys_load(a->s, &k) != 0) return;
  int64_t now = stek__now_ms(a->s);
  for (size_t i = 0; i < k.n; i++) {
    if (beacon_encode(b, &len, k.keys[i], now, a->serve_port, NULL) != 0) continue;
    uv_buf_t buf = uv_buf_init((char *)b, (unsigned)len);
    for (int d = 0; d < a->n_dest; d++)
      (void)uv_udp_try_send(&a->udp, &buf, 1, (const struct sockaddr *)&a->dest[d]);
  }
  keys_free(&k);
  atomic_fetch_add(&a->rounds, 1);
}

static void on_wake(uv_async_t *h) {
  stek_announcer *a = h->data;
  uv_close((uv_handle_t *)&a->udp, NULL);
  uv_close((uv_handle_t *)&a->timer, NULL);
  uv_close((uv_handle_t *)&a->wake, NULL);
}

static void announcer_main(void *arg) {
  stek_announcer *a = arg;
  uv_run(&a->loop, UV_RUN_DEFAULT); /* until on_wake closes every handle */
}

int stek_announcer_start(stek_announcer **out, const char *store_path,
                         const stek_config *cfg, const stek_announce_options *opt) {
  stek_announce_options def;
  struct sockaddr_storage any;
  int uvrc, rc;
  stek_announcer *a = calloc(1, sizeof *a);
  if (!out) {
    free(a);
    return STEK_EINVAL;
  }
  *out = a;
  if (!a) return STEK_ENOMEM;
  atomic_init(&a->rounds, 0);
  if (!opt) {
    stek_announce_options_init(&def);
    opt = &def;
  }
  if (opt->period_ms < MIN_PERIOD_MS)
    return announcer_fail(a, STEK_EINVAL, "period under 10 ms", 0);
  a->serve_port = opt->serve_port;
  a->period_ms = (uint64_t)opt->period_ms;
  if (opt->address) {
    if (parse_addr(opt->address, opt->port, &a->dest[0]))
      return announcer_fail(a, STEK_EINVAL, "not a numeric IP address", 0);
    a->n_dest = 1;
  } else {
    parse_addr(STEK_DISCOVERY_BROADCAST, opt->port, &a->dest[0]);
    parse_addr(STEK_DISCOVERY_GROUP, opt->port, &a->dest[1]);
    a->n_dest = 2;
  }
  if ((rc = stek_open(&a->s, store_path, cfg)) != 0) {
    snprintf(a->err, sizeof a->err, "announcer: %s", stek_errmsg(a->s));
    return rc;
  }
  if ((uvrc = uv_loop_init(&a->loop)) != 0)
    return announcer_fail(a, STEK_ERROR, "event loop", uvrc);
  a->have_loop = 1;
  uv_udp_init(&a->loop, &a->udp);
  uv_timer_init(&a->loop, &a->timer);
  uvrc = uv_async_init(&a->loop, &a->wake, on_wake);
  a->udp.data = a->timer.data = a->wake.data = a;
  if (uvrc) {
    uv_close((uv_handle_t *)&a->udp, NULL);
    uv_close((uv_handle_t *)&a->timer, NULL);
    return announcer_fail(a, STEK_ERROR, "event loop", uvrc);
  }
  /* Bind now, on the caller's thread, so that a socket problem is the
   * caller's answer rather than a thread's silent failure. */
  parse_addr(a->dest[0].ss_family == AF_INET6 ? "::" : "0.0.0.0", 0, &any);
  uvrc = uv_udp_bind(&a->udp, (const struct sockaddr *)&any, 0);
  /* Whatever the destination: an address given may be the broadcast one
   * (without SO_BROADCAST every send fails, EACCES) or the group. */
  if (!uvrc) uvrc = uv_udp_set_broadcast(&a->udp, 1);
  /* Scoped to the link: no router forwards it. */
  if (!uvrc) uvrc = uv_udp_set_multicast_ttl(&a->udp, 1);
  if (!uvrc) uvrc = uv_timer_start(&a->timer, on_round, 0, a->period_ms);
  if (!uvrc) uvrc = uv_thread_create(&a->thread, announcer_main, a);
  if (uvrc) {
    on_wake(&a->wake);
    return announcer_fail(a, STEK_EIO, "cannot set up the UDP socket", uvrc);
  }
  a->have_thread = 1;
  return STEK_OK;
}

void stek_announcer_stop(stek_announcer *a) {
  if (!a) return;
  if (a->have_thread) {
    uv_async_send(&a->wake);
    uv_thread_join(&a->thread);
  }
  if (a->have_loop) {
    uv_run(&a->loop, UV_RUN_DEFAULT); /* a failed start: finish the closes */
    uv_loop_close(&a->loop);
  }
  stek_close(a->s);
  free(a);
}

const char *stek_announcer_errmsg(const stek_announcer *a) {
  return a ? a->err : "no announcer";
}

uint64_t disc_announcer_rounds(const stek_announcer *a) {
  return atomic_load(&((stek_announcer *)a)->rounds);
}
