/*
 * sync/session -- see session.h.  Message flow (client = initiator):
 *
 *   C: noise 1                        S: noise 2 {version, max_frame}
 *   C: noise 3 {version, max_frame}, stream header, NEG(initiate)
 *   S: stream header, NEG(reply)      C: OPS(what S lacks) WANT(what C
 *   lacks) NEG(next) ...              S: OPS(answer, last=1) NEG(reply) ...
 *   C: DONE (final, with its last WANT)  S: DONE (final, after the answers)
 *
 * Joining by invitation: after the handshake S sends SHARE (final).
 * Pairing (the public pairing PSK, crypto/sas.h), after the handshake:
 *
 *   S: COMMIT C                       C: NONCE Ni
 *   S: REVEAL Nr       both show the digits and ask their user
 *   C: CONFIRM 1 (or 0, final)        S: SHARE (final, only after both
 *                                         agreed; else CONFIRM 0, final)
 */
#include "sync/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "codec/mp.h"
#include "crypto/crypto.h"
#include "crypto/noise.h"
#include "crypto/sas.h"
#include "crypto/stream.h"
#include "sync/negentropy.h"
#include "sync/relay.h"

#define SESSION_VERSION 1
#define MSG_NEG 1
#define MSG_OPS 2
#define MSG_WANT 3
#define MSG_DONE 4
#define MSG_ERR 5 /* [5, code, message]: libstek sends only ERR_REVOKED */
#define MSG_SHARE 6 /* joining by invitation: the space, sealed to the joiner */
#define MSG_SEALED 7 /* ops sealed for a relay session */
#define MSG_PAIR_COMMIT 8  /* pairing: the member's commitment to Nr */
#define MSG_PAIR_NONCE 9   /* pairing: the new device's Ni */
#define MSG_PAIR_REVEAL 10 /* pairing: the member's Nr */
#define MSG_PAIR_CONFIRM 11 /* pairing: 1 the user agreed, 0 refused (final) */
/* Where a pairing session is (sess.pair). */
#define PAIR_NONE 0
#define PAIR_WAIT_COMMIT 1 /* initiator */
#define PAIR_WAIT_NONCE 2  /* responder */
#define PAIR_WAIT_REVEAL 3 /* initiator */
#define PAIR_ASK 4         /* both: ask the user once the output is out */
#define PAIR_WAIT_PEER 5   /* agreed: wait for the other side's answer */
#define PAIR_REFUSING 6    /* sent CONFIRM 0: fail once it is out */
#define RELAY_NONE 0
#define RELAY_MEMBER 1  /* we are a member talking to a relay */
#define RELAY_CARRIER 2 /* we are the relay: we hold only sealed ops */
/* The one ERR libstek sends (PROTOCOL.md §8, §16): to a revoked device,
 * and only what it knows already. */
#define ERR_REVOKED STEK_EREVOKED
#define ERR_REVOKED_TEXT "revoked"
#define WHY_PEER_REVOKED "the peer's device was revoked from the space"
#define WHY_REVOKED "this device was revoked from the space"
#define WANT_BATCH 1024       /* ids in one WANT */
/* The client's first NEG sends its newest changes as ids: edits made since
 * the last sync are then found in one round trip however large the space. */
#define NEG_RECENT 8
#define OUTPUT_LOW (64 * 1024) /* produce more output below this */
/* OPS messages stay small so that a cut connection has committed most of
 * what it carried: at least one change each, else at most this much. */
#define OPS_BUDGET (16 * 1024)
/* The progress estimate's bytes for an op before any has moved: about one
 * change with a few short fields. */
#define OP_BYTES_GUESS 256
#define WHY_MESSAGE_OPS "more than 1024 changes in one message (STEK_MAX_MESSAGE_OPS)"
#define WHY_WANT "more than 1024 ids in one WANT"
#define WHY_CHANGE_BYTES "a change over 1048576 bytes (STEK_MAX_CHANGE_BYTES)"
#define WHY_MIN_FRAME "a max_frame below 5120 bytes (SESS_MIN_FRAME) in the handshake"
/* Bytes of a WANT message around its ids, and of each id (bin8 header). */
#define WANT_OVERHEAD 16
#define WANT_ID_BYTES 34
/* Bytes of an OPS or SEALED message around its list of wires, at most. */
#define OPS_OVERHEAD 16

_Static_assert(SESS_MIN_FRAME == NEG_MIN_FRAME_SIZE_LIMIT + 1024,
               "a NEG message under the smallest limit holds Negentropy's smallest frame");

typedef struct buf {
  uint8_t *p;
  size_t len, off, cap;
} buf;

/* A FIFO of 32-byte ids. */
typedef struct idq {
  uint8_t (*ids)[32];
  size_t head, len, cap;
} idq;

struct sess {
  stek *s;
  int initiator, state, err;
  int64_t sp;
  noise_hs hs;
  stream st;
  int keyed, got_header;
  buf in, out;
  neg_item *items;
  size_t n_items;
  neg ng;
  int neg_done, neg_waiting;
  size_t max_frame; /* the smaller of both sides' (ours until the handshake) */
  size_t own_max;   /* ours: what we advertise (sess_set_max_frame) */
  idq haves, needs, wants;
  /* WANT batches, oldest first -- server: ids still to answer in each;
   * client: ids still to come in answer to each (for the progress) */
  size_t *batches;
  size_t n_batches, cap_batches;
  uint64_t wire_ops, wire_bytes; /* ops moved either way, their bytes */
  int sent_done, got_done, late_want;
  stek_sync_stats stats;
  uint8_t peer[32];
  int has_peer;
  int relay;              /* RELAY_*: a session with or as a blind relay */
  uint8_t rtag[16];       /* the relayed space's tag */
  uint8_t *kops;          /* members in a relay session: K_ops of each epoch, */
  size_t n_kops;          /* oldest first (locked memory; kops_load) */
  int join;               /* a session that admits a device by invitation */
  uint8_t invite_psk[32]; /* that invitation's capability */
  char why[200];          /* what the peer did wrong, for the message */
  int refusing;           /* fail with this once the ERR telling the peer is out */
  int pair, peer_ok;      /* PAIR_*; responder: the new device agreed */
  stek_pair_confirm_cb confirm;
  void *confirm_ctx;
  uint8_t hh[32];         /* the handshake hash */
  uint8_t ni[SAS_NONCE], nr[SAS_NONCE], commit[SAS_COMMIT];
  char sas[SAS_DIGITS + 1];
};

/* ---- small containers ---- */

static int buf_reserve(buf *b, size_t more) {
  if (b->off > 0 && b->off == b->len) b->off = b->len = 0;
  if (b->len + more <= b->cap) return 0;
  if (b->off > 0) {
    memmove(b->p, b->p + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
    if (b->len + more <= b->cap) return 0;
  }
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) return STEK_ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

static int idq_push(idq *q, const uint8_t id[32]) {
  if (q->head + q->len == q->cap) {
    if (q->head > 0) {
      memmove(q->ids, q->ids + q->head, q->len * 32);
      q->head = 0;
    }
    if (q->len == q->cap) {
      size_t cap = q->cap ? q->cap * 2 : 64;
      uint8_t(*p)[32] = realloc(q->ids, cap * 32);
      if (!p) return STEK_ENOMEM;
      q->ids = p;
      q->cap = cap;
    }
  }
  memcpy(q->ids[q->head + q->len++], id, 32);
  return 0;
}

static const uint8_t *idq_peek(const idq *q) { return q->len ? q->ids[q->head] : NULL; }
static void idq_pop(idq *q) {
  q->head++;
  q->len--;
  if (!q->len) q->head = 0;
}

/* Append a WANT batch of n ids. */
static int batch_push(sess *ss, size_t n) {
  if (ss->n_batches == ss->cap_batches) {
    size_t cap = ss->cap_batches ? ss->cap_batches * 2 : 16;
    size_t *b = realloc(ss->batches, cap * sizeof *b);
    if (!b) return STEK_ENOMEM;
    ss->batches = b;
    ss->cap_batches = cap;
  }
  ss->batches[ss->n_batches++] = n;
  return 0;
}

static void batch_pop(sess *ss) {
  memmove(ss->batches, ss->batches + 1, (ss->n_batches - 1) * sizeof *ss->batches);
  ss->n_batches--;
}

/* ---- failing ---- */

/* The message names the limit or rule the peer broke when one was noted in
 * ss->why, else the code's general reason -- never the peer's content. */
static int sess_fail(sess *ss, int rc, const char *what) {
  if (ss->state != SESS_FAILED) {
    ss->state = SESS_FAILED;
    ss->err = rc;
    stek__fail(ss->s, rc, "sync: %s: %s", what, ss->why[0] ? ss->why : stek_strerror(rc));
  }
  return ss->err;
}

/* Note why the peer's data is refused; returns rc. */
static int refuse(sess *ss, int rc, const char *why) {
  if (!ss->why[0]) snprintf(ss->why, sizeof ss->why, "%s", why);
  return rc;
}

/* The message of a change refused by stek_ingest(), kept for sess_fail(). */
static int refused_change(sess *ss, int rc) {
  return refuse(ss, rc, stek_errmsg(ss->s));
}

/* ---- framing: every frame is one msgpack bin ---- */

static int put_frame(sess *ss, const uint8_t *p, size_t n) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_bin(&w, p, n);
  int rc = w.err ? w.err : buf_reserve(&ss->out, w.buf.size);
  if (!rc) {
    memcpy(ss->out.p + ss->out.len, w.buf.data, w.buf.size);
    ss->out.len += w.buf.size;
  }
  mp_writer_free(&w);
  return rc;
}

/* Seal a message (already msgpack) into a frame. */
static int send_msg(sess *ss, mp_writer *m, int final) {
  size_t cap = m->buf.size + STREAM_OVERHEAD;
  uint8_t *c = malloc(cap);
  size_t n;
  int rc = m->err ? m->err : c ? 0 : STEK_ENOMEM;
  if (!rc) rc = stream_seal(&ss->st, (const uint8_t *)m->buf.data, m->buf.size, c, cap, &n, final);
  if (!rc) rc = put_frame(ss, c, n);
  free(c);
  mp_writer_free(m);
  return rc ? sess_fail(ss, rc, "sending") : 0;
}

/* ---- handshake ---- */

static void space_psk(uint8_t psk[32], const uint8_t key[32]) {
  cr_kdf(psk, 10, "stek-cap", key);
}

/* Payload of noise messages 2 and 3: [version, max_frame]. */
static int hs_payload(const sess *ss, uint8_t out[16], size_t *n) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_array(&w, 2);
  mp_write_uint(&w, SESSION_VERSION);
  mp_write_uint(&w, ss->own_max);
  int rc = w.err;
  if (!rc) {
    memcpy(out, w.buf.data, w.buf.size);
    *n = w.buf.size;
  }
  mp_writer_free(&w);
  return rc;
}

static int read_hs_payload(sess *ss, const uint8_t *p, size_t n) {
  mp_reader r;
  uint32_t cnt;
  uint64_t ver, max;
  mp_reader_init(&r, p, n);
  if (mp_read_array(&r, &cnt, 15) || mp_read_uint(&r, &ver)) return r.err;
  if (ver != SESSION_VERSION) return STEK_EVERSION;
  if (cnt != 2 || mp_read_uint(&r, &max) || mp_read_end(&r)) return STEK_EMALFORMED;
  if (max < SESS_MIN_FRAME) return refuse(ss, STEK_EMALFORMED, WHY_MIN_FRAME);
  /* Each side sends nothing larger than the other accepts: the smaller. */
  ss->max_frame = max < ss->own_max ? (size_t)max : ss->own_max;
  return 0;
}

/* Start the handshake with capability psk. */
static int hs_init_psk(sess *ss, const uint8_t psk[32]) {
  uint8_t pk[32], xsk[32], xpk[32];
  const uint8_t *sk;
  store_device(ss->s->st, pk, &sk);
  int rc = cr_x25519_from_sign_sk(xsk, sk);
  if (!rc) rc = cr_x25519_from_sign_pk(xpk, pk);
  if (!rc) rc = noise_init(&ss->hs, ss->initiator, psk, xsk, xpk, pk);
  cr_wipe(xsk, sizeof xsk);
  return rc;
}

/* Start the handshake with the capability of space sp. */
static int hs_init(sess *ss, int64_t sp) {
  uint8_t key[32], psk[32];
  int rc = store_space_key(ss->s->st, sp, key);
  space_psk(psk, key);
  if (!rc) rc = hs_init_psk(ss, psk);
  cr_wipe(key, sizeof key);
  cr_wipe(psk, sizeof psk);
  return rc;
}

static int load_items(sess *ss) {
  int rc = ss->relay == RELAY_CARRIER
               ? store_relay_items(ss->s->st, ss->rtag, &ss->items, &ss->n_items)
               : store_items(ss->s->st, ss->sp, &ss->items, &ss->n_items);
  if (rc) return rc;
  return neg_init(&ss->ng, ss->items, ss->n_items, ss->max_frame - 1024);
}

static int write_hs(sess *ss, const uint8_t *payload, size_t plen) {
  uint8_t msg[NOISE_MAX_MESSAGE];
  size_t n;
  int rc = noise_write_message(&ss->hs, payload, plen, msg, sizeof msg, &n);
  if (!rc) rc = put_frame(ss, msg, n);
  return rc;
}

/* Both sides, after the third message: transport keys, our header. */
static int start_stream(sess *ss) {
  uint8_t ks[32], kr[32], hh[32], header[STREAM_HEADER];
  int rc = noise_split(&ss->hs, ks, kr, hh);
  if (!rc) memcpy(ss->hh, hh, sizeof hh);
  if (!rc) rc = noise_peer(&ss->hs, ss->peer);
  if (!rc) rc = stream_init(&ss->st, ks, kr, header);
  cr_wipe(ks, sizeof ks);
  cr_wipe(kr, sizeof kr);
  if (!rc) rc = put_frame(ss, header, sizeof header);
  if (!rc) {
    ss->keyed = 1;
    ss->has_peer = 1;
  }
  return rc;
}

/* ---- the messages (PROTOCOL.md §8, "Messages") ---- */

void sess_msg_neg(mp_writer *w, const uint8_t *m, size_t n) {
  mp_write_array(w, 2);
  mp_write_uint(w, MSG_NEG);
  mp_write_bin(w, m, n);
}

void sess_msg_ops(mp_writer *w, int sealed, uint32_t n, const void *list, size_t len,
                  int last) {
  mp_write_array(w, 3);
  mp_write_uint(w, sealed ? MSG_SEALED : MSG_OPS);
  mp_write_array(w, n);
  mp_write_raw(w, list, len);
  mp_write_uint(w, last ? 1 : 0);
}

void sess_msg_want(mp_writer *w, const uint8_t (*ids)[32], uint32_t n) {
  mp_write_array(w, 2);
  mp_write_uint(w, MSG_WANT);
  mp_write_array(w, n);
  for (uint32_t i = 0; i < n; i++) mp_write_bin(w, ids[i], 32);
}

void sess_msg_done(mp_writer *w) {
  mp_write_array(w, 1);
  mp_write_uint(w, MSG_DONE);
}

void sess_msg_err(mp_writer *w, int code, const char *message) {
  mp_write_array(w, 3);
  mp_write_uint(w, MSG_ERR);
  mp_write_int(w, code);
  mp_write_str(w, message, strlen(message));
}

static int send_neg(sess *ss, const uint8_t *m, size_t n) {
  mp_writer w;
  mp_writer_init(&w);
  sess_msg_neg(&w, m, n);
  ss->neg_waiting = 1;
  ss->stats.round_trips++;
  return send_msg(ss, &w, 0);
}

/* Member side of a relay session on space sp: psk, tag and sealing key. */
static int member_relay_keys(sess *ss, int64_t sp, uint8_t psk[32]) {
  uint8_t key[32], kr[32];
  int rc = store_space_key(ss->s->st, sp, key);
  if (rc) return rc;
  relay_from_space(key, kr);
  relay_tag(kr, ss->rtag);
  relay_psk(kr, psk);
  cr_wipe(key, sizeof key);
  cr_wipe(kr, sizeof kr);
  return 0;
}

/* Responder: the reply to a first message that opened. */
static int responder_reply(sess *ss) {
  uint8_t out[16];
  size_t on;
  int rc = hs_payload(ss, out, &on);
  return rc ? rc : write_hs(ss, out, on);
}

struct invite_try {
  sess *ss;
  const uint8_t *p;
  size_t n;
};

static int try_invite(void *ctx, const uint8_t *psk, int64_t sp) {
  struct invite_try *t = ctx;
  uint8_t payload[64];
  size_t plen;
  int rc = hs_init_psk(t->ss, psk);
  if (rc) return rc;
  if (noise_read_message(&t->ss->hs, t->p, t->n, payload, sizeof payload, &plen) == 0) {
    uint8_t pair_psk[32];
    sas_pair_psk(pair_psk);
    t->ss->sp = sp;
    t->ss->join = 1;
    memcpy(t->ss->invite_psk, psk, 32);
    if (cr_equal(psk, pair_psk, 32)) {
      t->ss->pair = PAIR_WAIT_NONCE;
      t->ss->confirm = t->ss->s->cfg.pair_confirm;
      t->ss->confirm_ctx = t->ss->s->cfg.pair_confirm_ctx;
    }
    return 1;
  }
  noise_wipe(&t->ss->hs);
  return 0;
}

static int try_relay(void *ctx, const uint8_t *tag, const uint8_t *key) {
  struct invite_try *t = ctx;
  uint8_t psk[32], payload[64];
  size_t plen;
  relay_psk(key, psk);
  int rc = hs_init_psk(t->ss, psk);
  cr_wipe(psk, sizeof psk);
  if (rc) return rc;
  if (noise_read_message(&t->ss->hs, t->p, t->n, payload, sizeof payload, &plen) == 0) {
    t->ss->relay = RELAY_CARRIER;
    memcpy(t->ss->rtag, tag, 16);
    return 1;
  }
  noise_wipe(&t->ss->hs);
  return 0;
}

/* Responder: the first message names no space; find the held space (or
 * pending invitation) whose capability key opens it. */
static int responder_first(sess *ss, const uint8_t *p, size_t n) {
  size_t count = 0;
  uint8_t id[16], payload[64];
  char name[8];
  size_t plen;
  int rc = store_space_count(ss->s->st, &count);
  for (size_t i = 0; !rc && i < count; i++) {
    int64_t sp;
    rc = store_space_at(ss->s->st, i, id, name, sizeof name);
    if (!rc) rc = store_space_find(ss->s->st, id, &sp);
    if (!rc) rc = hs_init(ss, sp);
    if (rc) break;
    if (noise_read_message(&ss->hs, p, n, payload, sizeof payload, &plen) == 0) {
      ss->sp = sp;
      return responder_reply(ss);
    }
    noise_wipe(&ss->hs);
  }
  if (rc) return rc;
  /* A relay talking to us, a member: the relay capability of a held space. */
  for (size_t i = 0; !rc && i < count; i++) {
    int64_t sp;
    uint8_t psk[32];
    rc = store_space_at(ss->s->st, i, id, name, sizeof name);
    if (!rc) rc = store_space_find(ss->s->st, id, &sp);
    if (!rc) rc = member_relay_keys(ss, sp, psk);
    if (!rc) rc = hs_init_psk(ss, psk);
    cr_wipe(psk, sizeof psk);
    if (rc) break;
    if (noise_read_message(&ss->hs, p, n, payload, sizeof payload, &plen) == 0) {
      ss->sp = sp;
      ss->relay = RELAY_MEMBER;
      return responder_reply(ss);
    }
    noise_wipe(&ss->hs);
  }
  if (rc) return rc;
  struct invite_try t = {ss, p, n};
  rc = store_invite_each(ss->s->st, stek__now_ms(ss->s), try_invite, &t);
  /* A pairing offer is spent by the first attempt, whatever comes of it:
   * one guess at the digits per offer. */
  if (rc == 1 && ss->pair) {
    rc = store_invite_use(ss->s->st, ss->invite_psk, stek__now_ms(ss->s));
    if (rc) return rc == STEK_ENOTFOUND ? STEK_ESIGNATURE : rc;
    rc = 1;
  }
  if (rc == 1) return responder_reply(ss);
  if (rc) return rc;
  /* We relay for the initiator's space. */
  rc = store_relay_each(ss->s->st, try_relay, &t);
  if (rc == 1) return responder_reply(ss);
  return rc ? rc : STEK_ESIGNATURE; /* a stranger: nothing held fits */
}

/* Responder, invitation session: spend the invitation, send the space. */
static int send_share(sess *ss) {
  uint8_t *share = NULL;
  size_t len = 0;
  /* (a pairing offer was spent at the first message) */
  int rc = ss->pair ? 0 : store_invite_use(ss->s->st, ss->invite_psk, stek__now_ms(ss->s));
  if (rc == STEK_ENOTFOUND) return STEK_ESTATE; /* used meanwhile, or expired */
  if (!rc) rc = stek__space_share(ss->s, ss->sp, ss->peer, &share, &len);
  if (rc) return rc;
  mp_writer w;
  mp_writer_init(&w);
  mp_write_array(&w, 2);
  mp_write_uint(&w, MSG_SHARE);
  mp_write_bin(&w, share, len);
  free(share);
  ss->sent_done = ss->got_done = 1;
  return send_msg(ss, &w, 1);
}

/* A member of the space talks only to members: the peer's device key,
 * known once its handshake message is read, must not be revoked (an
 * initiator so never sends message 3 to a revoked responder, nor a
 * responder anything after message 3 to a revoked initiator but the ERR
 * that tells it, tell_revoked()).  Relays and joiners are not members and
 * are not asked. */
static int refuse_revoked(sess *ss) {
  uint8_t peer[32];
  if (ss->join || ss->relay != RELAY_NONE) return 0;
  int rc = noise_peer(&ss->hs, peer);
  if (!rc) rc = stek__revoked(ss->s, ss->sp, peer, NULL);
  return rc == 1 ? STEK_EREVOKED : rc;
}

/* Responder, the initiator's device revoked: the transport keys exist once
 * message 3 is read, so tell it -- our stream header and one ERR (final),
 * nothing else -- and fail once that is out (update_state).  The revoked
 * device learns only that it is revoked, which it may as well know. */
static int tell_revoked(sess *ss) {
  mp_writer w;
  int rc = start_stream(ss);
  if (rc) return rc;
  refuse(ss, STEK_EREVOKED, WHY_PEER_REVOKED);
  ss->refusing = STEK_EREVOKED;
  mp_writer_init(&w);
  sess_msg_err(&w, ERR_REVOKED, ERR_REVOKED_TEXT);
  ss->sent_done = 1; /* nothing more from this side */
  return send_msg(ss, &w, 1);
}

/* ---- pairing (crypto/sas.h) ---- */

static int pair_send(sess *ss, uint64_t type, const uint8_t *b, size_t n, int final) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_array(&w, 2);
  mp_write_uint(&w, type);
  if (b) mp_write_bin(&w, b, n);
  else mp_write_uint(&w, n);
  return send_msg(ss, &w, final);
}

/* Responder, once the channel is up: commit to Nr before seeing Ni. */
static int pair_send_commit(sess *ss) {
  cr_random(ss->nr, sizeof ss->nr);
  sas_commit(ss->commit, ss->hh, ss->nr);
  return pair_send(ss, MSG_PAIR_COMMIT, ss->commit, sizeof ss->commit, 0);
}

/* Both, once the digits are known and everything sent before is out (so
 * that both screens show them at the same time): ask the user. */
static int pair_ask(sess *ss) {
  int ok = ss->confirm ? ss->confirm(ss->confirm_ctx, ss->sas) != 0 : 0;
  if (!ok) {
    ss->pair = PAIR_REFUSING;
    return pair_send(ss, MSG_PAIR_CONFIRM, NULL, 0, 1);
  }
  ss->pair = PAIR_WAIT_PEER;
  if (ss->initiator) return pair_send(ss, MSG_PAIR_CONFIRM, NULL, 1, 0);
  return ss->peer_ok ? send_share(ss) : 0;
}

/* A pairing message: [type, bin32] or [CONFIRM, 0|1]. */
static int on_pair(sess *ss, uint64_t type, mp_reader *r, uint32_t cnt, int final) {
  const uint8_t *b = NULL;
  uint32_t len;
  uint64_t v = 0;
  if (!ss->pair || cnt != 2) return STEK_EMALFORMED;
  if (type == MSG_PAIR_CONFIRM ? mp_read_uint(r, &v) : mp_read_bin(r, &b, &len, 32, 0))
    return STEK_EMALFORMED;
  if (mp_read_end(r)) return r->err;
  switch (type) {
    case MSG_PAIR_COMMIT:
      if (!ss->initiator || ss->pair != PAIR_WAIT_COMMIT || final) return STEK_EMALFORMED;
      memcpy(ss->commit, b, SAS_COMMIT);
      cr_random(ss->ni, sizeof ss->ni);
      ss->pair = PAIR_WAIT_REVEAL;
      return pair_send(ss, MSG_PAIR_NONCE, ss->ni, sizeof ss->ni, 0);
    case MSG_PAIR_NONCE:
      if (ss->initiator || ss->pair != PAIR_WAIT_NONCE || final) return STEK_EMALFORMED;
      memcpy(ss->ni, b, SAS_NONCE);
      sas_digits(ss->sas, ss->hh, ss->ni, ss->nr);
      ss->pair = PAIR_ASK;
      return pair_send(ss, MSG_PAIR_REVEAL, ss->nr, sizeof ss->nr, 0);
    case MSG_PAIR_REVEAL:
      if (!ss->initiator || ss->pair != PAIR_WAIT_REVEAL || final) return STEK_EMALFORMED;
      memcpy(ss->nr, b, SAS_NONCE);
      if (sas_check(ss->commit, ss->hh, ss->nr)) return STEK_ESIGNATURE; /* Nr was changed */
      sas_digits(ss->sas, ss->hh, ss->ni, ss->nr);
      ss->pair = PAIR_ASK;
      return 0;
    case MSG_PAIR_CONFIRM:
      if (v > 1 || (v == 0) != (final != 0)) return STEK_EMALFORMED;
      if (ss->pair == PAIR_REFUSING) return 0; /* both said no */
      if (v == 0) return STEK_EREFUSED;
      if (ss->initiator) return STEK_EMALFORMED; /* the member agrees by sending the space */
      if (ss->pair == PAIR_ASK && !ss->peer_ok) {
        ss->peer_ok = 1;
        return 0;
      }
      return ss->pair == PAIR_WAIT_PEER && !ss->peer_ok ? (ss->peer_ok = 1, send_share(ss))
                                                        : STEK_EMALFORMED;
    default:
      return STEK_EMALFORMED;
  }
}

static int handshake_input(sess *ss, const uint8_t *p, size_t n) {
  uint8_t payload[NOISE_MAX_PAYLOAD], out[16];
  size_t plen, on;
  int rc;
  if (!ss->initiator && noise_next(&ss->hs) == 0) return responder_first(ss, p, n);
  rc = noise_read_message(&ss->hs, p, n, payload, sizeof payload, &plen);
  if (!rc) rc = read_hs_payload(ss, payload, plen);
  if (!rc) rc = refuse_revoked(ss);
  /* An initiator refuses at message 2, before it has transport keys: it
   * closes without message 3 (which would name it to the revoked device). */
  if (rc == STEK_EREVOKED && !ss->initiator) return tell_revoked(ss);
  if (rc == STEK_EREVOKED) return refuse(ss, rc, WHY_PEER_REVOKED);
  if (rc) return rc;
  if (ss->initiator) { /* message 2 read: write 3, then start */
    rc = hs_payload(ss, out, &on);
    if (!rc) rc = write_hs(ss, out, on);
  }
  if (!rc) rc = start_stream(ss);
  if (!rc && ss->pair) return ss->initiator ? 0 : pair_send_commit(ss);
  if (!rc && ss->join) return ss->initiator ? 0 : send_share(ss);
  if (!rc) rc = load_items(ss);
  if (!rc && ss->initiator) {
    uint8_t *m;
    size_t mn;
    rc = neg_initiate_recent(&ss->ng, NEG_RECENT, &m, &mn);
    if (!rc) {
      rc = send_neg(ss, m, mn);
      neg_msg_free(m);
    }
  }
  return rc;
}

/* ---- messages ---- */

static int have_cb(void *ctx, const uint8_t id[32]) {
  return idq_push(&((sess *)ctx)->haves, id);
}

static int need_cb(void *ctx, const uint8_t id[32]) {
  return idq_push(&((sess *)ctx)->needs, id);
}

static int on_neg(sess *ss, const uint8_t *m, size_t n) {
  uint8_t *out = NULL;
  size_t on = 0;
  int rc;
  if (ss->initiator) {
    ss->neg_waiting = 0;
    rc = neg_reconcile_client(&ss->ng, m, n, &out, &on, have_cb, need_cb, ss);
    if (!rc && !out) ss->neg_done = 1;
  } else {
    rc = neg_reconcile_server(&ss->ng, m, n, &out, &on);
  }
  if (!rc && out) {
    if (ss->initiator) rc = send_neg(ss, out, on);
    else {
      mp_writer w;
      mp_writer_init(&w);
      sess_msg_neg(&w, out, on);
      rc = send_msg(ss, &w, 0);
    }
  }
  neg_msg_free(out);
  return rc;
}

/* Client: n ops came in answer to the oldest unanswered WANT, and last
 * closes it (the server answers WANTs in order, each OPS within one). */
static int answered(sess *ss, uint32_t n, uint64_t last) {
  if (!ss->initiator) return 0;
  if (ss->n_batches) ss->batches[0] -= n < ss->batches[0] ? n : ss->batches[0];
  if (!last) return 0;
  if (!ss->n_batches) return STEK_EMALFORMED; /* an answer to nothing */
  batch_pop(ss);
  return 0;
}

static int on_ops(sess *ss, mp_reader *r, uint32_t cnt) {
  uint32_t n, len;
  uint64_t last = 0;
  const uint8_t *wire;
  if (cnt != 3) return STEK_EMALFORMED;
  if (mp_read_array(r, &n, STEK_MAX_MESSAGE_OPS))
    return r->err == STEK_ETOOBIG ? refuse(ss, r->err, WHY_MESSAGE_OPS) : r->err;
  /* One transaction for the whole message: one disk sync, not one a change. */
  int rc = n ? stek__batch_begin(ss->s) : 0;
  for (uint32_t i = 0; !rc && i < n; i++) {
    if (mp_read_bin(r, &wire, &len, 0, STEK_MAX_CHANGE_BYTES)) {
      rc = r->err == STEK_ETOOBIG ? refuse(ss, r->err, WHY_CHANGE_BYTES) : r->err;
      break;
    }
    ss->wire_ops++;
    ss->wire_bytes += len;
    rc = stek__ingest_in(ss->s, ss->sp, wire, len);
    /* STEK_DUPLICATE; or a revoked author's, refused: the peer has not
     * heard of the revocation yet (it will from us). */
    if (rc > 0 || rc == STEK_EREVOKED) rc = 0;
    else if (rc < 0) refused_change(ss, rc);
  }
  if (n) {
    int end = stek__batch_end(ss->s, rc == 0);
    if (!rc) rc = end;
  }
  if (rc) return rc;
  ss->stats.ops_received += n;
  if (mp_read_uint(r, &last) || mp_read_end(r)) return r->err;
  return answered(ss, n, last);
}

/* Member in a relay session: K_ops of every epoch this device can compute
 * (sealing uses the newest; opening tries each, newest first). */
static int kops_load(sess *ss) {
  uint8_t *keys;
  size_t n;
  if (ss->kops) return 0;
  int rc = stek__epoch_keys(ss->s, ss->sp, &keys, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) relay_ops_key(keys + 32 * i, keys + 32 * i);
  ss->kops = keys;
  ss->n_kops = n;
  return 0;
}

static int open_sealed(sess *ss, uint8_t *wire, const uint8_t *sealed, size_t len,
                       const uint8_t id[32], uint64_t ts) {
  int rc = kops_load(ss);
  for (size_t i = ss->n_kops; !rc && i-- > 0;) {
    rc = relay_open(wire, sealed, len, id, ts, ss->kops + 32 * i);
    if (rc != STEK_ESIGNATURE || i == 0) return rc;
    rc = 0;
  }
  return rc;
}

/* A SEALED message: [7, [[ts, id, sealed], ...], last].  A member opens
 * and ingests each op; a relay keeps them as they are. */
static int on_sealed(sess *ss, mp_reader *r, uint32_t cnt) {
  uint32_t n, k, len;
  uint64_t last = 0, ts;
  const uint8_t *id, *sealed;
  if (ss->relay == RELAY_NONE || cnt != 3) return STEK_EMALFORMED;
  if (mp_read_array(r, &n, STEK_MAX_MESSAGE_OPS))
    return r->err == STEK_ETOOBIG ? refuse(ss, r->err, WHY_MESSAGE_OPS) : r->err;
  int brc = n && ss->relay == RELAY_MEMBER ? stek__batch_begin(ss->s) : 0;
  if (brc) return brc;
  for (uint32_t i = 0; i < n; i++) {
    int rc;
    if (mp_read_array(r, &k, 3) || k != 3 || mp_read_uint(r, &ts) ||
        mp_read_bin(r, &id, &len, 32, 0) ||
        mp_read_bin(r, &sealed, &len, 0, STEK_MAX_CHANGE_BYTES + CR_AEAD_TAG))
      rc = r->err ? r->err : STEK_EMALFORMED;
    else
    if (ss->relay == RELAY_CARRIER) {
      rc = store_relay_op_add(ss->s->st, ss->rtag, id, ts, sealed, len);
    } else if (len < CR_AEAD_TAG) {
      rc = STEK_ETRUNCATED;
    } else {
      uint8_t *wire = malloc(len);
      rc = wire ? open_sealed(ss, wire, sealed, len, id, ts) : STEK_ENOMEM;
      /* Sealed under an epoch this device cannot compute (a later one than
       * it knows of, or one it was revoked from): not stored, asked for
       * again next time. */
      int skip = rc == STEK_ESIGNATURE;
      if (!rc && (rc = stek__ingest_in(ss->s, ss->sp, wire, len - CR_AEAD_TAG)) < 0 &&
          rc != STEK_EREVOKED)
        refused_change(ss, rc);
      free(wire);
      /* STEK_DUPLICATE, or the change of a revoked author */
      if (skip || rc > 0 || rc == STEK_EREVOKED) rc = 0;
    }
    if (rc < 0) {
      if (n && ss->relay == RELAY_MEMBER) stek__batch_end(ss->s, 0);
      return rc;
    }
    ss->stats.ops_received++;
    ss->wire_ops++;
    ss->wire_bytes += len;
  }
  if (n && ss->relay == RELAY_MEMBER && (brc = stek__batch_end(ss->s, 1))) return brc;
  if (mp_read_uint(r, &last) || mp_read_end(r)) return r->err;
  return answered(ss, n, last);
}

static int on_want(sess *ss, mp_reader *r, uint32_t cnt) {
  uint32_t n, len;
  const uint8_t *id;
  if (ss->initiator || cnt != 2) return STEK_EMALFORMED;
  if (mp_read_array(r, &n, WANT_BATCH))
    return r->err == STEK_ETOOBIG ? refuse(ss, r->err, WHY_WANT) : r->err;
  for (uint32_t i = 0; i < n; i++) {
    if (mp_read_bin(r, &id, &len, 32, 0)) return r->err;
    int rc = idq_push(&ss->wants, id);
    if (rc) return rc;
  }
  if (mp_read_end(r)) return r->err;
  return batch_push(ss, n);
}

static int on_message(sess *ss, const uint8_t *p, size_t n, int final) {
  mp_reader r;
  uint32_t cnt, len;
  uint64_t type;
  const uint8_t *b;
  mp_reader_init(&r, p, n);
  if (mp_read_array(&r, &cnt, 15) || mp_read_uint(&r, &type)) return r.err;
  if (ss->got_done) return STEK_EMALFORMED; /* nothing may follow DONE */
  switch (type) {
    case MSG_NEG:
      if (cnt != 2 || mp_read_bin(&r, &b, &len, 0, (uint32_t)ss->max_frame) || mp_read_end(&r))
        return r.err ? r.err : STEK_EMALFORMED;
      return on_neg(ss, b, len);
    case MSG_OPS:
      if (ss->relay != RELAY_NONE) return STEK_EMALFORMED; /* relays see no plaintext */
      return on_ops(ss, &r, cnt);
    case MSG_SEALED: return on_sealed(ss, &r, cnt);
    case MSG_WANT: return on_want(ss, &r, cnt);
    case MSG_DONE:
      if (cnt != 1 || mp_read_end(&r) || !final) return STEK_EMALFORMED;
      if (ss->initiator && ss->n_batches) return STEK_EMALFORMED; /* a WANT unanswered */
      ss->got_done = 1;
      return 0;
    case MSG_PAIR_COMMIT:
    case MSG_PAIR_NONCE:
    case MSG_PAIR_REVEAL:
    case MSG_PAIR_CONFIRM: return on_pair(ss, type, &r, cnt, final);
    case MSG_SHARE: {
      if (!ss->join || !ss->initiator || cnt != 2 || !final ||
          (ss->pair && ss->pair != PAIR_WAIT_PEER) ||
          mp_read_bin(&r, &b, &len, 0, 4096) || mp_read_end(&r))
        return STEK_EMALFORMED;
      int rc = stek_space_accept(ss->s, b, len);
      if (rc < 0) return rc;
      ss->sent_done = ss->got_done = 1;
      return 0;
    }
    case MSG_ERR: {
      int64_t code;
      const char *msg;
      if (cnt != 3 || mp_read_int(&r, &code) || mp_read_str(&r, &msg, &len, 256))
        return STEK_EMALFORMED;
      /* The peer says this device was revoked (it knows; its text is not
       * shown).  Any other code: the peer gave up, its reason its own. */
      if (code == ERR_REVOKED) return refuse(ss, STEK_EREVOKED, WHY_REVOKED);
      return STEK_ERROR;
    }
    default:
      return STEK_EMALFORMED;
  }
}

static int on_frame(sess *ss, const uint8_t *p, size_t n) {
  if (!ss->keyed) return handshake_input(ss, p, n);
  if (!ss->got_header) {
    if (n != STREAM_HEADER) return STEK_EMALFORMED;
    ss->got_header = 1;
    return stream_accept_header(&ss->st, p);
  }
  if (n < STREAM_OVERHEAD) return STEK_ETRUNCATED;
  uint8_t *plain = malloc(n - STREAM_OVERHEAD + 1);
  size_t pn;
  int final;
  if (!plain) return STEK_ENOMEM;
  int rc = stream_open(&ss->st, p, n, plain, n - STREAM_OVERHEAD + 1, &pn, &final);
  if (!rc) rc = on_message(ss, plain, pn, final);
  free(plain);
  return rc;
}

/* ---- producing output lazily ---- */

/* Append the op with this id to list, as this session's peer takes it: a
 * wire (members), or [ts, id, sealed] (relay sessions).  0, STEK_ENOTFOUND
 * or an error. */
struct one_ctx {
  sess *ss;
  mp_writer *list;
  const uint8_t *id;
  uint64_t ts;
};

static int append_wire(void *p, const uint8_t *b, size_t len) {
  struct one_ctx *c = p;
  sess *ss = c->ss;
  if (ss->relay == RELAY_NONE) {
    mp_write_bin(c->list, b, len);
    return 0;
  }
  uint8_t id[32];
  uint64_t ts = c->ts;
  uint8_t *sealed = NULL;
  if (ss->relay == RELAY_MEMBER) { /* seal our own op for the relay */
    int rc = wire_id_ts(b, len, id, &ts);
    if (rc) return STEK_ECORRUPT;
    if ((rc = kops_load(ss))) return rc;
    if (!(sealed = malloc(len + CR_AEAD_TAG))) return STEK_ENOMEM;
    relay_seal(sealed, b, len, id, ts, ss->kops + 32 * (ss->n_kops - 1));
    b = sealed;
    len += CR_AEAD_TAG;
  }
  mp_write_array(c->list, 3);
  mp_write_uint(c->list, ts);
  mp_write_bin(c->list, c->id, 32);
  mp_write_bin(c->list, b, len);
  free(sealed);
  return 0;
}

static int append_one(sess *ss, const uint8_t *id, mp_writer *list) {
  struct one_ctx c = {ss, list, id, 0};
  if (ss->relay == RELAY_CARRIER)
    return store_relay_op_get(ss->s->st, ss->rtag, id, &c.ts, append_wire, &c);
  return store_change_get(ss->s->st, ss->sp, id, append_wire, &c);
}

/* One OPS (or, with a relay, SEALED) message from a queue of ids, up to the
 * frame budget (and, for a server, never past the end of the current WANT
 * batch, which `last` then closes). */
static int send_ops(sess *ss, idq *q, size_t limit, int server) {
  mp_writer list, w;
  uint32_t n = 0;
  size_t used = 0; /* ids taken off the queue: sent or no longer held */
  size_t budget = ss->max_frame - 1024 < OPS_BUDGET ? ss->max_frame - 1024 : OPS_BUDGET;
  mp_writer_init(&list);
  while (idq_peek(q) && used < limit && n < STEK_MAX_MESSAGE_OPS) {
    size_t before = list.buf.size;
    int rc = append_one(ss, idq_peek(q), &list);
    if (rc == STEK_ENOTFOUND) { /* asked for something we do not hold */
      idq_pop(q);
      used++;
      continue;
    }
    if (!rc && list.err) rc = list.err;
    if (rc) {
      mp_writer_free(&list);
      return sess_fail(ss, rc, "reading the store");
    }
    if (list.buf.size > budget && n > 0) {
      list.buf.size = before; /* does not fit: next message */
      break;
    }
    /* Alone, it still does not fit in a message the peer accepts: the
     * peer would refuse the frame, so it is not sent. */
    if (list.buf.size + OPS_OVERHEAD > ss->max_frame) {
      snprintf(ss->why, sizeof ss->why,
               "a change of %zu bytes does not fit the peer's max_frame of %zu bytes",
               list.buf.size - before, ss->max_frame);
      mp_writer_free(&list);
      return sess_fail(ss, STEK_ETOOBIG, "sending");
    }
    idq_pop(q);
    used++;
    n++;
    ss->stats.ops_sent++;
    ss->wire_ops++;
    ss->wire_bytes += list.buf.size - before;
  }
  mp_writer_init(&w);
  sess_msg_ops(&w, ss->relay != RELAY_NONE, n, list.buf.data, list.buf.size,
               server && used >= limit);
  mp_writer_free(&list);
  if (server && ss->n_batches) ss->batches[0] -= used <= ss->batches[0] ? used : ss->batches[0];
  return send_msg(ss, &w, 0);
}

/* Server: answer the oldest WANT batch, one OPS at a time. */
static int pump_server(sess *ss) {
  while (ss->n_batches && ss->out.len - ss->out.off < OUTPUT_LOW) {
    size_t want = ss->batches[0];
    int rc = send_ops(ss, &ss->wants, want, 1);
    if (rc) return rc;
    if (ss->batches[0] == 0) batch_pop(ss);
  }
  if (ss->got_done && !ss->n_batches && !ss->sent_done) {
    mp_writer w;
    mp_writer_init(&w);
    sess_msg_done(&w);
    ss->sent_done = 1;
    return send_msg(ss, &w, 1);
  }
  return 0;
}

/* Client: push what the server lacks, ask for what we lack, finish. */
static int pump_client(sess *ss) {
  while (ss->haves.len && ss->out.len - ss->out.off < OUTPUT_LOW) {
    int rc = send_ops(ss, &ss->haves, (size_t)-1, 0);
    if (rc) return rc;
  }
  /* As many ids as fit in a message the server accepts, up to 1024. */
  size_t batch = (ss->max_frame - WANT_OVERHEAD) / WANT_ID_BYTES;
  if (batch > WANT_BATCH) batch = WANT_BATCH;
  while (ss->needs.len) {
    mp_writer w;
    uint32_t n = (uint32_t)(ss->needs.len < batch ? ss->needs.len : batch);
    int rc = batch_push(ss, n);
    if (rc) return sess_fail(ss, rc, "sending");
    mp_writer_init(&w);
    sess_msg_want(&w, (const uint8_t(*)[32])ss->needs.ids + ss->needs.head, n);
    for (uint32_t i = 0; i < n; i++) idq_pop(&ss->needs);
    if (ss->neg_done && !ss->late_want) {
      ss->late_want = 1; /* this answer is one more wait */
      ss->stats.round_trips++;
    }
    rc = send_msg(ss, &w, 0);
    if (rc) return rc;
  }
  /* DONE goes with the last WANT, not after its answer: the server answers
   * every WANT before its own DONE, so this saves the last half round trip. */
  if (ss->neg_done && !ss->haves.len && !ss->sent_done) {
    mp_writer w;
    mp_writer_init(&w);
    sess_msg_done(&w);
    ss->sent_done = 1;
    return send_msg(ss, &w, 1);
  }
  return 0;
}

static int pump(sess *ss) {
  if (ss->refusing) return 0; /* only the ERR goes out */
  if (ss->state == SESS_RUNNING && ss->pair == PAIR_ASK && ss->out.len == ss->out.off) {
    int rc = pair_ask(ss);
    if (rc) return sess_fail(ss, rc, "pairing");
  }
  if (ss->state != SESS_RUNNING || !ss->keyed || !ss->got_header || ss->join) return 0;
  return ss->initiator ? pump_client(ss) : pump_server(ss);
}

static void update_state(sess *ss) {
  /* A refusal fails the session once the peer has been told. */
  if (ss->state == SESS_RUNNING && ss->refusing && ss->out.len == ss->out.off)
    sess_fail(ss, ss->refusing, "handshake");
  if (ss->state == SESS_RUNNING && ss->pair == PAIR_REFUSING && ss->out.len == ss->out.off)
    sess_fail(ss, STEK_EREFUSED, "pairing");
  if (ss->state == SESS_RUNNING && ss->sent_done && ss->got_done &&
      ss->out.len == ss->out.off)
    ss->state = SESS_DONE;
}

/* ---- the interface ---- */

int sess_new(sess **out, stek *s, int initiator) {
  int rc = stek__need_store(s);
  *out = NULL;
  if (rc) return rc;
  if (initiator && (rc = stek__need_space(s))) return rc;
  sess *ss = calloc(1, sizeof *ss);
  if (!ss) return STEK_ENOMEM;
  ss->s = s;
  ss->initiator = initiator;
  ss->max_frame = ss->own_max = SESS_MAX_FRAME;
  if (initiator) {
    ss->sp = s->sp;
    rc = hs_init(ss, ss->sp);
    if (!rc) rc = write_hs(ss, NULL, 0);
    ss->stats.round_trips = 1; /* the handshake */
  }
  if (rc) {
    sess_free(ss);
    return stek__fail(s, rc, "sync: cannot start: %s", stek_strerror(rc));
  }
  *out = ss;
  return 0;
}

struct first_relay {
  uint8_t tag[16], key[32];
  int found;
};

static int take_first_relay(void *ctx, const uint8_t *tag, const uint8_t *key) {
  struct first_relay *f = ctx;
  memcpy(f->tag, tag, 16);
  memcpy(f->key, key, 32);
  f->found = 1;
  return 1;
}

int sess_new_relay(sess **out, stek *s) {
  uint8_t psk[32];
  int rc = stek__need_store(s);
  *out = NULL;
  if (rc) return rc;
  sess *ss = calloc(1, sizeof *ss);
  if (!ss) return STEK_ENOMEM;
  ss->s = s;
  ss->initiator = 1;
  ss->max_frame = ss->own_max = SESS_MAX_FRAME;
  if (s->has_space) { /* a member syncing with a relay */
    ss->relay = RELAY_MEMBER;
    ss->sp = s->sp;
    rc = member_relay_keys(ss, ss->sp, psk);
  } else { /* a relay syncing with a member or another relay */
    struct first_relay f = {{0}, {0}, 0};
    rc = store_relay_each(s->st, take_first_relay, &f);
    if (rc == 1) rc = 0;
    if (!rc && !f.found) rc = STEK_ENOSPACE;
    ss->relay = RELAY_CARRIER;
    memcpy(ss->rtag, f.tag, 16);
    relay_psk(f.key, psk);
    cr_wipe(f.key, sizeof f.key);
  }
  if (!rc) rc = hs_init_psk(ss, psk);
  cr_wipe(psk, sizeof psk);
  if (!rc) rc = write_hs(ss, NULL, 0);
  ss->stats.round_trips = 1;
  if (rc) {
    sess_free(ss);
    return stek__fail(s, rc, "relay sync: cannot start: %s", stek_strerror(rc));
  }
  *out = ss;
  return 0;
}

int sess_new_join(sess **out, stek *s, const uint8_t psk[32]) {
  int rc = stek__need_store(s);
  *out = NULL;
  if (rc) return rc;
  sess *ss = calloc(1, sizeof *ss);
  if (!ss) return STEK_ENOMEM;
  ss->s = s;
  ss->initiator = 1;
  ss->join = 1;
  ss->max_frame = ss->own_max = SESS_MAX_FRAME;
  memcpy(ss->invite_psk, psk, 32);
  rc = hs_init_psk(ss, psk);
  if (!rc) rc = write_hs(ss, NULL, 0);
  ss->stats.round_trips = 1;
  if (rc) {
    sess_free(ss);
    return stek__fail(s, rc, "invite: cannot start: %s", stek_strerror(rc));
  }
  *out = ss;
  return 0;
}

int sess_new_pair(sess **out, stek *s, stek_pair_confirm_cb confirm, void *ctx) {
  uint8_t psk[32];
  sas_pair_psk(psk);
  int rc = sess_new_join(out, s, psk);
  if (!rc) {
    (*out)->pair = PAIR_WAIT_COMMIT;
    (*out)->confirm = confirm;
    (*out)->confirm_ctx = ctx;
  }
  return rc;
}

int sess_set_max_frame(sess *ss, size_t max) {
  if (max < SESS_MIN_FRAME || max > SESS_MAX_FRAME) return STEK_EINVAL;
  /* The initiator's limit goes out in message 3, after the first input. */
  if (ss->stats.bytes_received) return STEK_ESTATE;
  ss->max_frame = ss->own_max = max;
  return 0;
}

void sess_free(sess *ss) {
  if (!ss) return;
  cr_wipe(ss->hh, sizeof ss->hh);
  cr_wipe(ss->ni, sizeof ss->ni);
  cr_wipe(ss->nr, sizeof ss->nr);
  cr_wipe(ss->commit, sizeof ss->commit);
  cr_wipe(ss->sas, sizeof ss->sas);
  noise_wipe(&ss->hs);
  stream_wipe(&ss->st);
  cr_wipe(ss->invite_psk, sizeof ss->invite_psk);
  cr_secret_free(ss->kops);
  free(ss->in.p);
  free(ss->out.p);
  free(ss->items);
  free(ss->haves.ids);
  free(ss->needs.ids);
  free(ss->wants.ids);
  free(ss->batches);
  free(ss);
}

/* Length of the bin frame at p (header + payload), 0 if incomplete, or a
 * negative code. */
static long frame_size(const uint8_t *p, size_t n, size_t max, size_t *hdr) {
  if (n < 1) return 0;
  size_t h, len;
  if (p[0] == 0xc4) h = 2;
  else if (p[0] == 0xc5) h = 3;
  else if (p[0] == 0xc6) h = 5;
  else return STEK_EMALFORMED;
  if (n < h) return 0;
  len = h == 2 ? p[1] : h == 3 ? ((size_t)p[1] << 8 | p[2])
                               : ((size_t)p[1] << 24 | (size_t)p[2] << 16 |
                                  (size_t)p[3] << 8 | p[4]);
  if ((h == 3 && len < 0x100) || (h == 5 && len < 0x10000)) return STEK_EMALFORMED;
  if (len > max) return STEK_ETOOBIG;
  *hdr = h;
  return n >= h + len ? (long)(h + len) : 0;
}

int sess_input(sess *ss, const uint8_t *in, size_t len) {
  if (ss->state == SESS_FAILED) return ss->err;
  ss->stats.bytes_received += len;
  /* Keep what arrived; the frame header's length is checked against the
   * limit as soon as it is complete, before any more is kept for it. */
  if (buf_reserve(&ss->in, len)) return sess_fail(ss, STEK_ENOMEM, "receiving");
  memcpy(ss->in.p + ss->in.len, in, len);
  ss->in.len += len;
  for (;;) {
    size_t hdr = 0;
    /* Refusing: whatever else the peer sent is not read. */
    if (ss->refusing) {
      ss->in.off = ss->in.len;
      break;
    }
    /* Until the handshake is done only handshake messages may come. */
    size_t max = ss->keyed ? ss->max_frame + STREAM_OVERHEAD : NOISE_MAX_MESSAGE;
    long need = frame_size(ss->in.p + ss->in.off, ss->in.len - ss->in.off, max, &hdr);
    if (need == STEK_ETOOBIG) {
      snprintf(ss->why, sizeof ss->why, "a frame over the limit of %zu bytes (%s)", max,
               !ss->keyed                          ? "NOISE_MAX_MESSAGE, before the handshake ends"
               : ss->max_frame == SESS_MAX_FRAME ? "SESS_MAX_FRAME"
                                                   : "the max_frame agreed in the handshake");
    }
    if (need < 0) return sess_fail(ss, (int)need, "bad frame");
    if (need == 0) break;
    int rc = on_frame(ss, ss->in.p + ss->in.off + hdr, (size_t)need - hdr);
    ss->in.off += (size_t)need;
    if (rc) return sess_fail(ss, rc, "peer data");
    if ((rc = pump(ss))) return rc;
  }
  if (ss->in.off == ss->in.len) ss->in.off = ss->in.len = 0;
  update_state(ss);
  return ss->state == SESS_FAILED ? ss->err : 0;
}

int sess_output(sess *ss, const uint8_t **out, size_t *len) {
  if (ss->state == SESS_FAILED) {
    *out = NULL;
    *len = 0;
    return ss->err;
  }
  int rc = pump(ss);
  /* out.p is NULL until something was written: no offset on a null pointer */
  *out = ss->out.p ? ss->out.p + ss->out.off : NULL;
  *len = ss->out.len - ss->out.off;
  return rc;
}

void sess_consumed(sess *ss, size_t n) {
  if (n > ss->out.len - ss->out.off) n = ss->out.len - ss->out.off;
  ss->out.off += n;
  ss->stats.bytes_sent += n;
  if (ss->out.off == ss->out.len) ss->out.off = ss->out.len = 0;
  update_state(ss);
}

int sess_state(const sess *ss) { return ss->state; }
int sess_error(const sess *ss) { return ss->err; }
/* Ops this side knows are still to move: the client's to send and to ask
 * for, and those asked for whose answer has not come; the server's asked
 * for and not yet sent.  (What the client will send the server is the
 * client's to know.) */
static uint64_t ops_left(const sess *ss) {
  uint64_t n = ss->initiator ? ss->haves.len + ss->needs.len : ss->wants.len;
  if (ss->initiator)
    for (size_t i = 0; i < ss->n_batches; i++) n += ss->batches[i];
  return n;
}

/* The counters, with the totals known so far (stek.h, stek_sync_stats):
 * bytes_total adds to the bytes moved those already produced and not yet
 * handed over, and for each op still to move the mean bytes of those that
 * moved (OP_BYTES_GUESS before any has). */
void sess_stats(const sess *ss, stek_sync_stats *st) {
  *st = ss->stats;
  uint64_t left = ss->state == SESS_DONE ? 0 : ops_left(ss);
  uint64_t per_op = ss->wire_ops ? ss->wire_bytes / ss->wire_ops : OP_BYTES_GUESS;
  st->ops_total = st->ops_sent + st->ops_received + left;
  st->bytes_total = st->bytes_sent + st->bytes_received + (ss->out.len - ss->out.off) +
                    left * per_op;
}

int sess_peer(const sess *ss, uint8_t id[STEK_DEVICE_ID_BYTES]) {
  if (!ss->has_peer) return STEK_ESTATE;
  memcpy(id, ss->peer, 32);
  return 0;
}
