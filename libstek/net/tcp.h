/*
 * net/tcp -- sync sessions over TCP on libuv: stek_sync() connects and runs
 * one initiator session on the caller's thread; stek_server_start() listens
 * and runs one responder session per connection on a thread of its own
 * (stek.h has the contract of both).
 *
 * Inside, a tcp_conn pumps bytes between a socket and a sync/session state
 * machine: what arrives goes to sess_input(), what sess_output() offers is
 * copied into uv_write()s (never more than it offers, and no more than
 * TCP_WRITE_HIGH bytes queued; reading pauses above that, so a peer that
 * does not read cannot make us buffer without bound).  Reads use one
 * bounded buffer per connection.
 *
 * Must never: block the loop, use a stek handle from another thread than
 * the loop's, or let a connection outlive its loop.
 */
#ifndef STEK_NET_TCP_H
#define STEK_NET_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "stek.h"
#include "sync/session.h"

#define TCP_READ_BYTES (64 * 1024)   /* one read at most */
#define TCP_WRITE_CHUNK (64 * 1024)  /* one uv_write at most */
#define TCP_WRITE_HIGH (256 * 1024)  /* queued bytes above which reading pauses */

typedef struct tcp_conn tcp_conn;

struct tcp_conn {
  uv_tcp_t tcp;       /* initialised (and closed) by the owner */
  stek *s;            /* for error messages; used on the loop thread only */
  sess *ss;           /* owned by the owner */
  void *owner;
  /* Called after bytes moved (stats may have changed); may end the
   * connection with tcp_conn_end(). */
  void (*on_progress)(tcp_conn *c);
  /* Called once when the session is over: rc 0 (DONE, everything written)
   * or a negative code, its message already on s.  The owner then closes
   * tcp; no callback comes after this one. */
  void (*on_end)(tcp_conn *c, int rc);
  uint64_t last_activity; /* uv_now() of the last read, write or start */
  size_t in_flight;       /* bytes in uv_write()s not yet completed */
  int reading, eof, ended, rc;
  uint8_t rbuf[TCP_READ_BYTES];
};

/* Start reading and writing on the connected c->tcp. */
void tcp_conn_start(tcp_conn *c);
/* End the session now with rc (its message already set on c->s, or set
 * here for STEK_ETIMEDOUT / STEK_ECANCELED); no-op if it has ended. */
void tcp_conn_end(tcp_conn *c, int rc);

#endif
