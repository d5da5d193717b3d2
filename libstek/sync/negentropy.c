/* sync/negentropy -- see negentropy.h.
 *
 * The reply to a message is built range by range, exactly as the reference
 * does, because peers compare our messages byte for byte in the vectors and
 * the frame size limit cuts where the reference cuts:
 *   - Skip ranges are not sent at once but merged into the next range that
 *     is sent (a pending skip is dropped at the end of the message);
 *   - a fingerprint that differs is split into 16 buckets, or into an id
 *     list when the range holds fewer than 32 of our items;
 *   - when the reply would pass frame_size_limit - 200 bytes, the range
 *     being answered is dropped and one fingerprint of everything after it,
 *     up to infinity, ends the message.
 * Incoming messages are decoded twice: once to check them whole (so a bad
 * byte anywhere leaves no trace), once to answer them.
 */
#include "sync/negentropy.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "stek.h"

enum { MODE_SKIP = 0, MODE_FINGERPRINT = 1, MODE_IDLIST = 2 };

/* Ranges of fewer than twice this many items go as id lists. */
#define BUCKETS 16
/* The reference keeps this much room under the frame size limit. */
#define FRAME_SLACK 200
#define VARINT_MAX 10

/* A bound: items below it (timestamp, then id padded with zeros) are in
 * the range; the first prefix_len bytes of id are sent. */
typedef struct bound {
  uint64_t timestamp;
  uint8_t id[NEG_ID_BYTES];
  size_t prefix_len;
} bound;

static const bound infinity = {UINT64_MAX, {0}, 0};

/* ---- growing output buffers ---- */

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
  int oom;
} buf;

static void put(buf *b, const void *src, size_t n) {
  if (b->oom || n == 0) return;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
      if (cap > SIZE_MAX / 2) {
        b->oom = 1;
        return;
      }
      cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}

static size_t varint_encode(uint8_t out[VARINT_MAX], uint64_t v) {
  uint8_t rev[VARINT_MAX];
  size_t n = 0;
  do {
    rev[n++] = (uint8_t)(v & 0x7f);
    v >>= 7;
  } while (v);
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)(rev[n - 1 - i] | (i + 1 < n ? 0x80 : 0));
  return n;
}

static void put_varint(buf *b, uint64_t v) {
  uint8_t tmp[VARINT_MAX];
  put(b, tmp, varint_encode(tmp, v));
}

/* ---- the state of one message being written ---- */

typedef struct writer {
  const neg *n;
  uint64_t last_timestamp; /* timestamps are sent as deltas */
} writer;

/* Appended to b in the order they are encoded: the delta chain follows
 * encoding order, even for bytes later thrown away, as in the reference. */
static void put_bound(writer *w, buf *b, const bound *bd) {
  if (bd->timestamp == UINT64_MAX) {
    w->last_timestamp = UINT64_MAX;
    put_varint(b, 0);
  } else {
    uint64_t delta = bd->timestamp - w->last_timestamp;
    w->last_timestamp = bd->timestamp;
    put_varint(b, delta + 1);
  }
  put_varint(b, bd->prefix_len);
  put(b, bd->id, bd->prefix_len);
}

/* ---- items ---- */

static int cmp_item_bound(const neg_item *it, const bound *bd) {
  if (it->timestamp != bd->timestamp) return it->timestamp < bd->timestamp ? -1 : 1;
  return memcmp(it->id, bd->id, NEG_ID_BYTES);
}

static int cmp_bounds(const bound *a, const bound *b) {
  if (a->timestamp != b->timestamp) return a->timestamp < b->timestamp ? -1 : 1;
  return memcmp(a->id, b->id, NEG_ID_BYTES);
}

/* The first index in [begin, end) whose item is not below bd. */
static size_t lower_bound(const neg *n, size_t begin, size_t end, const bound *bd) {
  while (begin < end) {
    size_t mid = begin + (end - begin) / 2;
    if (cmp_item_bound(&n->items[mid], bd) < 0)
      begin = mid + 1;
    else
      end = mid;
  }
  return begin;
}

static bound bound_of_item(const neg_item *it) {
  bound bd;
  bd.timestamp = it->timestamp;
  memcpy(bd.id, it->id, NEG_ID_BYTES);
  bd.prefix_len = NEG_ID_BYTES;
  return bd;
}

/* The shortest bound above prev and not above curr (prev < curr). */
static bound minimal_bound(const neg_item *prev, const neg_item *curr) {
  bound bd;
  memset(&bd, 0, sizeof bd);
  bd.timestamp = curr->timestamp;
  if (curr->timestamp != prev->timestamp) return bd;
  size_t shared = 0;
  while (shared < NEG_ID_BYTES && curr->id[shared] == prev->id[shared]) shared++;
  bd.prefix_len = shared < NEG_ID_BYTES ? shared + 1 : NEG_ID_BYTES;
  memcpy(bd.id, curr->id, bd.prefix_len);
  return bd;
}

/* SHA-256 of (the ids of items [begin, end) summed as 256-bit little-endian
 * integers mod 2^256, then the count as a varint), first 16 bytes. */
static void fingerprint(const neg *n, size_t begin, size_t end,
                        uint8_t out[NEG_FINGERPRINT_BYTES]) {
  uint64_t sum[4] = {0, 0, 0, 0};
  for (size_t i = begin; i < end; i++) {
    const uint8_t *id = n->items[i].id;
    uint64_t carry = 0;
    for (int limb = 0; limb < 4; limb++) {
      uint64_t x = 0;
      for (int k = 7; k >= 0; k--) x = (x << 8) | id[limb * 8 + k];
      uint64_t s = sum[limb] + x;
      uint64_t c = s < x;
      s += carry;
      c |= s < carry;
      sum[limb] = s;
      carry = c;
    }
  }
  uint8_t input[NEG_ID_BYTES + VARINT_MAX];
  for (int limb = 0; limb < 4; limb++)
    for (int k = 0; k < 8; k++) input[limb * 8 + k] = (uint8_t)(sum[limb] >> (8 * k));
  size_t len = NEG_ID_BYTES + varint_encode(input + NEG_ID_BYTES, (uint64_t)(end - begin));
  uint8_t hash[CR_SHA256];
  cr_sha256(hash, input, len);
  memcpy(out, hash, NEG_FINGERPRINT_BYTES);
}

/* Describe items [lower, upper), which end at ub: as one id list if few,
 * else as 16 fingerprinted buckets of nearly equal size. */
static void split_range(writer *w, buf *o, size_t lower, size_t upper, const bound *ub) {
  const neg *n = w->n;
  size_t count = upper - lower;
  if (count < 2 * BUCKETS) {
    put_bound(w, o, ub);
    put_varint(o, MODE_IDLIST);
    put_varint(o, count);
    for (size_t i = lower; i < upper; i++) put(o, n->items[i].id, NEG_ID_BYTES);
    return;
  }
  size_t per = count / BUCKETS, extra = count % BUCKETS, curr = lower;
  for (size_t i = 0; i < BUCKETS; i++) {
    size_t size = per + (i < extra ? 1 : 0);
    uint8_t fp[NEG_FINGERPRINT_BYTES];
    fingerprint(n, curr, curr + size, fp);
    curr += size;
    bound next = curr == upper ? *ub : minimal_bound(&n->items[curr - 1], &n->items[curr]);
    put_bound(w, o, &next);
    put_varint(o, MODE_FINGERPRINT);
    put(o, fp, NEG_FINGERPRINT_BYTES);
  }
}

static int exceeds_frame(const neg *n, size_t len) {
  return n->frame_size_limit && len > n->frame_size_limit - FRAME_SLACK;
}

/* ---- reading a message ---- */

typedef struct reader {
  const uint8_t *p;
  size_t len;
  uint64_t last_timestamp;
} reader;

typedef struct range {
  bound upper;
  uint64_t mode;
  const uint8_t *payload; /* the fingerprint, or the ids of an id list */
  size_t ids;
} range;

/* A varint as written by the reference: most significant digit first, as
 * few digits as possible, at most 64 bits. */
static int read_varint(reader *r, uint64_t *v) {
  uint64_t x = 0;
  size_t i = 0;
  for (;;) {
    if (i >= r->len) return STEK_EMALFORMED;
    uint8_t byte = r->p[i];
    if (i == 0 && byte == 0x80) return STEK_EMALFORMED; /* leading zero digit */
    if (x > (UINT64_MAX >> 7)) return STEK_EMALFORMED;  /* more than 64 bits */
    x = (x << 7) | (byte & 0x7f);
    i++;
    if (!(byte & 0x80)) break;
  }
  r->p += i;
  r->len -= i;
  *v = x;
  return 0;
}

static int read_bound(reader *r, bound *bd) {
  uint64_t enc, len;
  int rc = read_varint(r, &enc);
  if (rc) return rc;
  /* 0 is infinity; otherwise 1 + the delta, saturating at infinity. */
  uint64_t t = (enc == 0 ? UINT64_MAX : enc - 1) + r->last_timestamp;
  if (t < r->last_timestamp) t = UINT64_MAX;
  r->last_timestamp = t;
  if ((rc = read_varint(r, &len))) return rc;
  if (len > NEG_ID_BYTES || len > r->len) return STEK_EMALFORMED;
  memset(bd, 0, sizeof *bd);
  bd->timestamp = t;
  bd->prefix_len = (size_t)len;
  memcpy(bd->id, r->p, bd->prefix_len);
  r->p += len;
  r->len -= len;
  return 0;
}

static int read_range(reader *r, range *g) {
  int rc = read_bound(r, &g->upper);
  if (rc || (rc = read_varint(r, &g->mode))) return rc;
  g->payload = NULL;
  g->ids = 0;
  if (g->mode == MODE_SKIP) return 0;
  if (g->mode == MODE_FINGERPRINT) {
    if (r->len < NEG_FINGERPRINT_BYTES) return STEK_EMALFORMED;
    g->payload = r->p;
    r->p += NEG_FINGERPRINT_BYTES;
    r->len -= NEG_FINGERPRINT_BYTES;
    return 0;
  }
  if (g->mode == MODE_IDLIST) {
    uint64_t count;
    if ((rc = read_varint(r, &count))) return rc;
    if (count > r->len / NEG_ID_BYTES) return STEK_EMALFORMED;
    g->payload = r->p;
    g->ids = (size_t)count;
    r->p += g->ids * NEG_ID_BYTES;
    r->len -= g->ids * NEG_ID_BYTES;
    return 0;
  }
  return STEK_EMALFORMED;
}

/* Decode every range of a message body; bounds must not go down. */
static int check_message(const uint8_t *body, size_t len) {
  reader r = {body, len, 0};
  bound prev;
  memset(&prev, 0, sizeof prev);
  while (r.len) {
    range g;
    int rc = read_range(&r, &g);
    if (rc) return rc;
    if (cmp_bounds(&g.upper, &prev) < 0) return STEK_EMALFORMED;
    prev = g.upper;
  }
  return 0;
}

/* ---- the client's view of an id list ---- */

static int cmp_ids(const void *a, const void *b) { return memcmp(a, b, NEG_ID_BYTES); }

static size_t find_id(const uint8_t *sorted, size_t count, const uint8_t *id) {
  size_t lo = 0, hi = count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(sorted + mid * NEG_ID_BYTES, id, NEG_ID_BYTES);
    if (c == 0) return mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return SIZE_MAX;
}

typedef struct reporter {
  neg_id_fn have, need;
  void *ctx;
} reporter;

enum { SEEN_OURS = 1, REPORTED = 2 };

/* Compare the server's ids (ids, count) with ours in [lower, upper):
 * report ours it lacks in our order, then its ids we lack in its order. */
static int compare_id_list(const neg *n, size_t lower, size_t upper,
                           const uint8_t *ids, size_t count, const reporter *rep) {
  uint8_t *sorted = NULL, *flags = NULL;
  size_t unique = 0;
  int rc = 0;
  if (count) {
    /* count was checked against the message length: this is bounded by
     * what was received, not by what was claimed. */
    sorted = malloc(count * NEG_ID_BYTES);
    flags = calloc(count, 1);
    if (!sorted || !flags) {
      rc = STEK_ENOMEM;
      goto out;
    }
    memcpy(sorted, ids, count * NEG_ID_BYTES);
    qsort(sorted, count, NEG_ID_BYTES, cmp_ids);
    for (size_t i = 0; i < count; i++)
      if (unique == 0 || memcmp(sorted + (unique - 1) * NEG_ID_BYTES,
                                sorted + i * NEG_ID_BYTES, NEG_ID_BYTES))
        memmove(sorted + unique++ * NEG_ID_BYTES, sorted + i * NEG_ID_BYTES, NEG_ID_BYTES);
  }
  for (size_t i = lower; i < upper; i++) {
    size_t at = find_id(sorted, unique, n->items[i].id);
    if (at != SIZE_MAX)
      flags[at] |= SEEN_OURS;
    else if (rep->have && (rc = rep->have(rep->ctx, n->items[i].id)))
      goto out;
  }
  for (size_t i = 0; i < count; i++) {
    size_t at = find_id(sorted, unique, ids + i * NEG_ID_BYTES);
    if (flags[at]) continue;
    flags[at] = REPORTED;
    if (rep->need && (rc = rep->need(rep->ctx, ids + i * NEG_ID_BYTES))) goto out;
  }
out:
  free(sorted);
  free(flags);
  return rc;
}

/* ---- answering a message ---- */

/* Answer the ranges of body (already checked) into *full, after its
 * version byte.  rep is NULL on the server. */
static int answer(const neg *n, const uint8_t *body, size_t len, buf *full,
                  const reporter *rep) {
  reader r = {body, len, 0};
  writer w = {n, 0};
  buf o = {NULL, 0, 0, 0};
  bound prev;
  memset(&prev, 0, sizeof prev);
  size_t prev_index = 0;
  int skip = 0, rc = 0;

  while (r.len) {
    range g;
    if ((rc = read_range(&r, &g))) break;
    o.len = 0;
    size_t lower = prev_index;
    size_t upper = lower_bound(n, prev_index, n->count, &g.upper);

    if (g.mode == MODE_SKIP) {
      skip = 1;
    } else if (g.mode == MODE_FINGERPRINT) {
      uint8_t ours[NEG_FINGERPRINT_BYTES];
      fingerprint(n, lower, upper, ours);
      if (memcmp(ours, g.payload, NEG_FINGERPRINT_BYTES) != 0) {
        if (skip) {
          skip = 0;
          put_bound(&w, &o, &prev);
          put_varint(&o, MODE_SKIP);
        }
        split_range(&w, &o, lower, upper, &g.upper);
      } else {
        skip = 1;
      }
    } else if (rep) { /* an id list, on the client */
      skip = 1;
      if ((rc = compare_id_list(n, lower, upper, g.payload, g.ids, rep))) break;
    } else { /* an id list, on the server: answer with ours */
      if (skip) {
        skip = 0;
        put_bound(&w, &o, &prev);
        put_varint(&o, MODE_SKIP);
      }
      bound end = g.upper;
      size_t sent = 0;
      for (size_t i = lower; i < upper; i++) {
        if (exceeds_frame(n, full->len + sent * NEG_ID_BYTES)) {
          /* Stop here; the rest gets the closing fingerprint below. */
          end = bound_of_item(&n->items[i]);
          upper = i;
          break;
        }
        sent++;
      }
      put_bound(&w, &o, &end);
      put_varint(&o, MODE_IDLIST);
      put_varint(&o, sent);
      for (size_t i = lower; i < lower + sent; i++) put(&o, n->items[i].id, NEG_ID_BYTES);
      put(full, o.p, o.len);
      o.len = 0;
    }

    if (exceeds_frame(n, full->len + o.len)) {
      uint8_t rest[NEG_FINGERPRINT_BYTES];
      fingerprint(n, upper, n->count, rest);
      put_bound(&w, full, &infinity);
      put_varint(full, MODE_FINGERPRINT);
      put(full, rest, NEG_FINGERPRINT_BYTES);
      break;
    }
    put(full, o.p, o.len);
    prev_index = upper;
    prev = g.upper;
  }
  if (!rc && (o.oom || full->oom)) rc = STEK_ENOMEM;
  free(o.p);
  return rc;
}

static int reconcile(neg *n, const uint8_t *in, size_t len, uint8_t **out,
                     size_t *outlen, const reporter *rep) {
  *out = NULL;
  *outlen = 0;
  if (len > NEG_MAX_MESSAGE) return STEK_ETOOBIG;
  if (len == 0 || !in) return STEK_EMALFORMED;

  uint8_t version = NEG_PROTOCOL_V1;
  buf full = {NULL, 0, 0, 0};
  if (in[0] < 0x60 || in[0] > 0x6f) return STEK_EMALFORMED;
  if (in[0] != NEG_PROTOCOL_V1) {
    /* Another version of the protocol: the server names the one it speaks
     * so the client can retry with it; a client cannot go on. */
    if (rep) return STEK_EVERSION;
    put(&full, &version, 1);
    if (full.oom) return STEK_ENOMEM;
    *out = full.p;
    *outlen = full.len;
    return 0;
  }
  int rc = check_message(in + 1, len - 1);
  if (rc) return rc;

  put(&full, &version, 1);
  rc = answer(n, in + 1, len - 1, &full, rep);
  if (!rc && full.oom) rc = STEK_ENOMEM;
  if (rc || (rep && full.len == 1)) { /* a client with nothing to ask is done */
    free(full.p);
    return rc;
  }
  *out = full.p;
  *outlen = full.len;
  return 0;
}

/* ---- the API ---- */

int neg_init(neg *n, const neg_item *items, size_t count, size_t frame_size_limit) {
  if (!n || (count && !items)) return STEK_EINVAL;
  if (frame_size_limit && frame_size_limit < NEG_MIN_FRAME_SIZE_LIMIT) return STEK_EINVAL;
  for (size_t i = 0; i < count; i++) {
    if (items[i].timestamp == UINT64_MAX) return STEK_EINVAL;
    if (i && (items[i - 1].timestamp > items[i].timestamp ||
              (items[i - 1].timestamp == items[i].timestamp &&
               memcmp(items[i - 1].id, items[i].id, NEG_ID_BYTES) >= 0)))
      return STEK_EINVAL;
  }
  n->items = items;
  n->count = count;
  n->frame_size_limit = frame_size_limit;
  n->initiator = 0;
  return 0;
}

int neg_initiate(neg *n, uint8_t **msg, size_t *len) {
  *msg = NULL;
  *len = 0;
  if (n->initiator) return STEK_ESTATE;
  uint8_t version = NEG_PROTOCOL_V1;
  buf full = {NULL, 0, 0, 0};
  writer w = {n, 0};
  put(&full, &version, 1);
  split_range(&w, &full, 0, n->count, &infinity);
  if (full.oom) {
    free(full.p);
    return STEK_ENOMEM;
  }
  n->initiator = 1;
  *msg = full.p;
  *len = full.len;
  return 0;
}

int neg_initiate_recent(neg *n, size_t recent, uint8_t **msg, size_t *len) {
  *msg = NULL;
  *len = 0;
  if (n->initiator) return STEK_ESTATE;
  if (recent == 0 || n->count < recent + 2 * BUCKETS) return neg_initiate(n, msg, len);
  uint8_t version = NEG_PROTOCOL_V1;
  buf full = {NULL, 0, 0, 0};
  writer w = {n, 0};
  size_t split = n->count - recent;
  bound mid = minimal_bound(&n->items[split - 1], &n->items[split]);
  put(&full, &version, 1);
  split_range(&w, &full, 0, split, &mid);
  put_bound(&w, &full, &infinity);
  put_varint(&full, MODE_IDLIST);
  put_varint(&full, recent);
  for (size_t i = split; i < n->count; i++) put(&full, n->items[i].id, NEG_ID_BYTES);
  if (full.oom) {
    free(full.p);
    return STEK_ENOMEM;
  }
  n->initiator = 1;
  *msg = full.p;
  *len = full.len;
  return 0;
}

int neg_reconcile_server(neg *n, const uint8_t *in, size_t len, uint8_t **out,
                         size_t *outlen) {
  *out = NULL;
  *outlen = 0;
  if (n->initiator) return STEK_ESTATE;
  return reconcile(n, in, len, out, outlen, NULL);
}

int neg_reconcile_client(neg *n, const uint8_t *in, size_t len, uint8_t **out,
                         size_t *outlen, neg_id_fn have, neg_id_fn need, void *ctx) {
  *out = NULL;
  *outlen = 0;
  if (!n->initiator) return STEK_ESTATE;
  reporter rep = {have, need, ctx};
  return reconcile(n, in, len, out, outlen, &rep);
}

void neg_msg_free(uint8_t *msg) { free(msg); }
