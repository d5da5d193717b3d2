/*
 * fuzz/replica.h -- replicas driven by a source of choices, shared by the
 * protocol fuzz target (fuzz_sync.c: the choices are the fuzz input) and
 * the deterministic simulator (tests/stek_sim.c: the choices come from a
 * seeded PRNG).
 *
 *   replica_edit()     one random edit of any record type: generic records
 *                      (put / delete / restore / set add / set remove),
 *                      schedules, directory entries, signals and their
 *                      withdrawal, or a transaction of several that commits
 *                      or rolls back;
 *   replica_session()  one sync session between two stores over an
 *                      in-memory pipe, whose frames the choices may drop,
 *                      duplicate, reorder (hold back) or flip a bit of.
 *
 * Header-only; include after fuzz.h.
 */
#ifndef STEK_FUZZ_REPLICA_H
#define STEK_FUZZ_REPLICA_H

#include "fuzz.h"
#include "sync/session.h"

/* Where choices come from: next(ctx, bound) is in [0, bound), bound > 0. */
typedef struct chooser {
  uint32_t (*next)(void *ctx, uint32_t bound);
  void *ctx;
} chooser;

static inline uint32_t pick(chooser *c, uint32_t bound) {
  return bound > 1 ? c->next(c->ctx, bound) % bound : 0;
}

#define REPLICA_RECEIPTS 8
#define REPLICA_IDS 6

typedef struct replica {
  stek *s;
  char receipts[REPLICA_RECEIPTS][STEK_RECEIPT_BYTES];
  int n_receipts;
} replica;

static inline void replica_rid(chooser *c, uint8_t id[16]) {
  memset(id, 0, 16);
  id[0] = 0xa0;
  id[15] = (uint8_t)pick(c, REPLICA_IDS); /* few ids, so edits conflict */
}

static const char *const replica_words[] = {"", "a", "b", "Énergie", "huur", "OCMW",
                                            "zz", "x y", "taal", "\xe2\x82\xac"};
#define REPLICA_WORD(c) replica_words[pick(c, sizeof replica_words / sizeof *replica_words)]

static inline void replica_value(chooser *c, stek_value *v, const char **items) {
  memset(v, 0, sizeof *v);
  switch (pick(c, 3)) {
    case 0:
      v->kind = STEK_VALUE_INT;
      v->i = (int64_t)pick(c, 7) - 3;
      if (pick(c, 8) == 0) v->i = pick(c, 2) ? INT64_MAX : INT64_MIN;
      break;
    case 1:
      v->kind = STEK_VALUE_STR;
      v->str = REPLICA_WORD(c);
      break;
    default:
      v->kind = STEK_VALUE_LIST;
      v->list_len = pick(c, 4);
      for (size_t i = 0; i < v->list_len; i++) items[i] = REPLICA_WORD(c);
      v->list = items;
  }
}

static const char *const replica_fields[] = {"org", "note", "n", "tags", "summary.nl"};

static inline int replica_edit_one(replica *r, chooser *c) {
  uint8_t id[16];
  const char *items[4];
  stek_value v;
  const char *field = replica_fields[pick(c, 5)];
  replica_rid(c, id);
  switch (pick(c, 11)) {
    case 0:
    case 1:
      replica_value(c, &v, items);
      return stek_put(r->s, "note", id, field, pick(c, 6) ? &v : NULL);
    case 2: return stek_delete(r->s, "note", id);
    case 3: return stek_restore(r->s, "note", id);
    case 4: return stek_set_add(r->s, "note", id, "tags", REPLICA_WORD(c));
    case 5: return stek_set_remove(r->s, "note", id, "tags", REPLICA_WORD(c));
    case 6: {
      static const char *const rules[] = {"FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "FREQ=DAILY;COUNT=5",
                                          "FREQ=MONTHLY;BYDAY=-1FR", "bad"};
      static const char *const ex[] = {"2026-01-08", "2026-01-22T13:30"};
      stek_field f[5] = {
          {"title", {.kind = STEK_VALUE_STR, .str = REPLICA_WORD(c)}},
          {"site", {.kind = STEK_VALUE_STR, .str = pick(c, 2) ? "Bezemheide" : "Kiosk"}},
          {"start", {.kind = STEK_VALUE_STR, .str = "2026-01-08T13:30"}},
          {"rrule", {.kind = STEK_VALUE_STR, .str = rules[pick(c, 4)]}},
          {"exdates", {.kind = STEK_VALUE_LIST, .list = ex, .list_len = pick(c, 3)}}};
      return stek_schedule_put(r->s, id, f, 2 + pick(c, 4));
    }
    case 7:
      return stek_schedule_cancel(r->s, id, pick(c, 2) ? "2026-01-22" : "2026-02-05",
                                  (int)pick(c, 2));
    case 8: {
      static const char *const cats[] = {"income", "housing", "energy", "nonsense"};
      const char *tags[2] = {REPLICA_WORD(c), REPLICA_WORD(c)};
      stek_field f[3] = {
          {"org", {.kind = STEK_VALUE_STR, .str = REPLICA_WORD(c)}},
          {"category", {.kind = STEK_VALUE_STR, .str = cats[pick(c, 4)]}},
          {"tags", {.kind = STEK_VALUE_LIST, .list = tags, .list_len = pick(c, 3)}}};
      return stek_directory_put(r->s, id, f, 1 + pick(c, 3));
    }
    case 9: {
      static const char *const themes[] = {"debt", "energy", "housing"};
      char receipt[STEK_RECEIPT_BYTES];
      int rc = stek_signal_record(r->s, themes[pick(c, 3)], pick(c, 2) ? "Bezemheide" : "Kiosk",
                                  REPLICA_WORD(c), receipt);
      if (rc == 0) {
        memcpy(r->receipts[r->n_receipts % REPLICA_RECEIPTS], receipt, sizeof receipt);
        r->n_receipts++;
      }
      return rc;
    }
    default: {
      if (!r->n_receipts) return stek_signal_withdraw(r->s, "0000-0000-0000");
      int n = r->n_receipts < REPLICA_RECEIPTS ? r->n_receipts : REPLICA_RECEIPTS;
      return stek_signal_withdraw(r->s, r->receipts[pick(c, (uint32_t)n)]);
    }
  }
}

/* One edit, or (1 in 8) a transaction of up to four that commits or rolls
 * back.  Returns the last libstek code (errors of bad input are expected:
 * "bad" rules, unknown categories, missing records). */
static inline int replica_edit(replica *r, chooser *c) {
  if (pick(c, 8)) return replica_edit_one(r, c);
  int rc = stek_begin(r->s);
  if (rc) return rc;
  for (uint32_t i = 0, n = 1 + pick(c, 4); i < n; i++) replica_edit_one(r, c);
  return pick(c, 4) ? stek_commit(r->s) : stek_rollback(r->s);
}

/* ---- an in-memory pipe of frames ---- */

typedef struct frame {
  uint8_t *p;
  size_t n;
} frame;

typedef struct fifo {
  frame *f;
  size_t n, cap;
} fifo;

static inline void fifo_push(fifo *q, const uint8_t *p, size_t n, int front) {
  if (q->n == q->cap) {
    q->cap = q->cap ? q->cap * 2 : 16;
    if (!(q->f = realloc(q->f, q->cap * sizeof *q->f))) abort();
  }
  frame fr = {malloc(n ? n : 1), n};
  if (!fr.p) abort();
  memcpy(fr.p, p, n);
  if (front) {
    memmove(q->f + 1, q->f, q->n * sizeof *q->f);
    q->f[0] = fr;
  } else {
    q->f[q->n] = fr;
  }
  q->n++;
}

static inline void fifo_clear(fifo *q) {
  for (size_t i = 0; i < q->n; i++) free(q->f[i].p);
  q->n = 0;
}

/* Length of the bin frame at p (sessions write whole frames). */
static inline size_t frame_len(const uint8_t *p, size_t n) {
  if (n >= 2 && p[0] == 0xc4) return 2 + (size_t)p[1];
  if (n >= 3 && p[0] == 0xc5) return 3 + ((size_t)p[1] << 8 | p[2]);
  if (n >= 5 && p[0] == 0xc6)
    return 5 + ((size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4]);
  return n;
}

/* Faults per frame, out of 64 when `faults` is set: drop, duplicate, hold
 * back (it goes after the frames sent after it), flip one bit. */
static inline void pipe_send(fifo *q, const uint8_t *p, size_t n, chooser *c, int faults) {
  while (n) {
    size_t fl = frame_len(p, n);
    if (fl > n) fl = n;
    uint32_t f = faults ? pick(c, 64) : 63;
    if (f == 0) { /* drop */
    } else if (f == 1) {
      fifo_push(q, p, fl, 0);
      fifo_push(q, p, fl, 0);
    } else if (f == 2 && q->n) { /* swap with the frame queued before it */
      fifo_push(q, p, fl, 0);
      frame t = q->f[q->n - 1];
      q->f[q->n - 1] = q->f[q->n - 2];
      q->f[q->n - 2] = t;
    } else if (f == 3) {
      fifo_push(q, p, fl, 0);
      frame *fr = &q->f[q->n - 1];
      if (fr->n) fr->p[pick(c, (uint32_t)fr->n)] ^= (uint8_t)(1u << pick(c, 8));
    } else {
      fifo_push(q, p, fl, 0);
    }
    p += fl;
    n -= fl;
  }
}

/* Deliver the queued frames to ss, in order, possibly in pieces. */
static inline void pipe_deliver(fifo *q, sess *ss, chooser *c) {
  for (size_t i = 0; i < q->n; i++) {
    size_t off = 0, n = q->f[i].n;
    while (off < n) { /* split a frame sometimes, as TCP does */
      size_t k = pick(c, 4) ? n - off : 1 + pick(c, (uint32_t)(n - off));
      sess_input(ss, q->f[i].p + off, k);
      off += k;
    }
  }
  fifo_clear(q);
}

/* One session, a initiating, b responding, over the pipe.  With faults the
 * choices may break it; without, it must finish.  0 when both sides are
 * DONE, else the first side's error (or STEK_ETIMEDOUT when it stalled). */
static inline int replica_session(stek *a, stek *b, chooser *c, int faults) {
  sess *sa, *sb;
  fifo ab = {.n = 0}, ba = {.n = 0};
  int rc = sess_new(&sa, a, 1);
  if (rc) return rc;
  if ((rc = sess_new(&sb, b, 0))) {
    sess_free(sa);
    return rc;
  }
  for (int round = 0; round < 100000; round++) {
    const uint8_t *p;
    size_t n;
    int moved = 0;
    if (sess_output(sa, &p, &n) == 0 && n) {
      pipe_send(&ab, p, n, c, faults);
      sess_consumed(sa, n);
      moved = 1;
    }
    if (sess_output(sb, &p, &n) == 0 && n) {
      pipe_send(&ba, p, n, c, faults);
      sess_consumed(sb, n);
      moved = 1;
    }
    moved |= ab.n || ba.n;
    if (!faults || pick(c, 4)) pipe_deliver(&ab, sb, c);
    if (!faults || pick(c, 4)) pipe_deliver(&ba, sa, c);
    if (sess_state(sa) != SESS_RUNNING && sess_state(sb) != SESS_RUNNING) break;
    if (!moved) break;
  }
  fifo_clear(&ab);
  fifo_clear(&ba);
  free(ab.f);
  free(ba.f);
  if (sess_state(sa) == SESS_DONE && sess_state(sb) == SESS_DONE) rc = 0;
  else if (sess_error(sa)) rc = sess_error(sa);
  else if (sess_error(sb)) rc = sess_error(sb);
  else rc = STEK_ETIMEDOUT;
  sess_free(sa);
  sess_free(sb);
  return rc;
}

static inline int replica_same(stek *a, stek *b) {
  uint8_t ha[32], hb[32];
  return !stek_state_hash(a, ha) && !stek_state_hash(b, hb) && !memcmp(ha, hb, 32);
}

#endif
