/* sync/negentropy: byte-for-byte agreement with the reference vectors,
 * refusal of malformed messages, and the cost of a small difference. */
#include "sync/negentropy.h"

#include "crypto/crypto.h"
#include "test.h"

#define VECTOR_DIR "tests/vectors/negentropy"

/* ---- a tiny JSON reader, enough for the vector files ---- */

enum { J_OBJECT, J_ARRAY, J_STRING, J_NUMBER, J_LITERAL };

/* A value; strings and numbers point into the source text, unescaped (the
 * vectors use no escapes where the test looks). */
typedef struct jnode {
  int type;
  const char *text;
  size_t len;
  const char *key; /* when a member of an object */
  size_t keylen;
  struct jnode *child, *next;
} jnode;

static void json_free(jnode *n) {
  while (n) {
    jnode *next = n->next;
    json_free(n->child);
    free(n);
    n = next;
  }
}

static void json_space(const char **p, const char *end) {
  while (*p < end && (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t')) (*p)++;
}

/* A string's contents after the opening quote; *p ends past the closing. */
static int json_string(const char **p, const char *end, const char **s, size_t *len) {
  const char *q = *p;
  while (q < end && *q != '"') {
    if (*q == '\\') q++;
    q++;
  }
  if (q >= end) return -1;
  *s = *p;
  *len = (size_t)(q - *p);
  *p = q + 1;
  return 0;
}

static jnode *json_value(const char **p, const char *end, int depth) {
  json_space(p, end);
  if (*p >= end || depth > 16) return NULL;
  jnode *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  char c = **p;
  if (c == '{' || c == '[') {
    n->type = c == '{' ? J_OBJECT : J_ARRAY;
    (*p)++;
    jnode **tail = &n->child;
    json_space(p, end);
    if (*p < end && **p == (c == '{' ? '}' : ']')) {
      (*p)++;
      return n;
    }
    for (;;) {
      const char *key = NULL;
      size_t keylen = 0;
      if (c == '{') {
        json_space(p, end);
        if (*p >= end || **p != '"') goto bad;
        (*p)++;
        if (json_string(p, end, &key, &keylen)) goto bad;
        json_space(p, end);
        if (*p >= end || **p != ':') goto bad;
        (*p)++;
      }
      jnode *kid = json_value(p, end, depth + 1);
      if (!kid) goto bad;
      kid->key = key;
      kid->keylen = keylen;
      *tail = kid;
      tail = &kid->next;
      json_space(p, end);
      if (*p < end && **p == ',') {
        (*p)++;
        continue;
      }
      if (*p < end && **p == (c == '{' ? '}' : ']')) {
        (*p)++;
        return n;
      }
      goto bad;
    }
  }
  if (c == '"') {
    n->type = J_STRING;
    (*p)++;
    if (json_string(p, end, &n->text, &n->len)) goto bad;
    return n;
  }
  n->type = (c == '-' || (c >= '0' && c <= '9')) ? J_NUMBER : J_LITERAL;
  n->text = *p;
  while (*p < end && !strchr(",]} \n\r\t", **p)) (*p)++;
  n->len = (size_t)(*p - n->text);
  if (n->len) return n;
bad:
  json_free(n);
  return NULL;
}

static const jnode *json_get(const jnode *obj, const char *key) {
  if (!obj || obj->type != J_OBJECT) return NULL;
  for (const jnode *k = obj->child; k; k = k->next)
    if (k->keylen == strlen(key) && !memcmp(k->key, key, k->keylen)) return k;
  return NULL;
}

static size_t json_count(const jnode *arr) {
  size_t n = 0;
  for (const jnode *k = arr ? arr->child : NULL; k; k = k->next) n++;
  return n;
}

static int parse_u64(const char *s, size_t len, uint64_t *out) {
  uint64_t v = 0;
  if (len == 0 || len > 20) return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decode len hex digits into a fresh buffer (never NULL on success). */
static uint8_t *unhex(const char *s, size_t len, size_t *outlen) {
  if (len % 2) return NULL;
  uint8_t *b = malloc(len / 2 + 1);
  if (!b) return NULL;
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(b);
      return NULL;
    }
    b[i] = (uint8_t)(hi << 4 | lo);
  }
  *outlen = len / 2;
  return b;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *bigger = realloc(buf, cap *= 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
      }
      buf = bigger;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

/* ---- sets of ids reported by the client ---- */

typedef struct idset {
  uint8_t (*ids)[NEG_ID_BYTES];
  size_t len, cap;
} idset;

static int idset_add(void *ctx, const uint8_t id[NEG_ID_BYTES]) {
  idset *s = ctx;
  if (s->len == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    void *p = realloc(s->ids, cap * NEG_ID_BYTES);
    if (!p) return STEK_ENOMEM;
    s->ids = p;
    s->cap = cap;
  }
  memcpy(s->ids[s->len++], id, NEG_ID_BYTES);
  return 0;
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, NEG_ID_BYTES); }

static void idset_sort(idset *s) {
  if (s->len) qsort(s->ids, s->len, NEG_ID_BYTES, cmp_id);
}

/* Drop repeats from a sorted set. */
static void idset_unique(idset *s) {
  size_t u = 0;
  for (size_t i = 0; i < s->len; i++)
    if (!u || memcmp(s->ids[u - 1], s->ids[i], NEG_ID_BYTES)) memmove(s->ids[u++], s->ids[i], NEG_ID_BYTES);
  s->len = u;
}

typedef struct reported {
  idset have, need;
} reported;

static int on_have(void *ctx, const uint8_t id[NEG_ID_BYTES]) {
  return idset_add(&((reported *)ctx)->have, id);
}
static int on_need(void *ctx, const uint8_t id[NEG_ID_BYTES]) {
  return idset_add(&((reported *)ctx)->need, id);
}

static void reported_free(reported *r) {
  free(r->have.ids);
  free(r->need.ids);
  memset(r, 0, sizeof *r);
}

/* ---- replaying a vector ---- */

typedef struct side {
  neg_item *items;
  size_t count;
  size_t limit;
} side;

static int load_side(const jnode *v, const char *name, side *s) {
  const jnode *obj = json_get(v, name), *items = json_get(obj, "items");
  const jnode *limit = json_get(obj, "frame_size_limit");
  uint64_t lim;
  if (!items || !limit || parse_u64(limit->text, limit->len, &lim)) return -1;
  s->limit = (size_t)lim;
  s->count = json_count(items);
  s->items = calloc(s->count ? s->count : 1, sizeof *s->items);
  if (!s->items) return -1;
  size_t i = 0;
  for (const jnode *it = items->child; it; it = it->next, i++) {
    const jnode *ts = it->child, *id = ts ? ts->next : NULL;
    size_t idlen;
    uint8_t *raw;
    if (!id || parse_u64(ts->text, ts->len, &s->items[i].timestamp) ||
        !(raw = unhex(id->text, id->len, &idlen)))
      return -1;
    if (idlen == NEG_ID_BYTES) memcpy(s->items[i].id, raw, NEG_ID_BYTES);
    free(raw);
    if (idlen != NEG_ID_BYTES) return -1;
  }
  return 0;
}

/* The ids of a JSON array of hex strings, sorted. */
static int load_ids(const jnode *arr, idset *s) {
  if (!arr) return -1;
  for (const jnode *k = arr->child; k; k = k->next) {
    size_t len;
    uint8_t *raw = unhex(k->text, k->len, &len);
    int bad = !raw || len != NEG_ID_BYTES || idset_add(s, raw);
    free(raw);
    if (bad) return -1;
  }
  idset_sort(s);
  return 0;
}

static int idsets_equal(const idset *a, const idset *b) {
  return a->len == b->len && (a->len == 0 || !memcmp(a->ids, b->ids, a->len * NEG_ID_BYTES));
}

/* Play both sides of one vector: every message we produce must equal the
 * recorded one, and the client must report the recorded have and need. */
static int replay(const char *path) {
  size_t srclen;
  char *src = read_file(path, &srclen);
  if (!src) return fprintf(stderr, "  cannot read %s\n", path), -1;
  const char *p = src;
  jnode *v = json_value(&p, src + srclen, 0);
  side cs = {0}, ss = {0};
  reported got = {0}, want = {0};
  neg client, server;
  uint8_t *expect = NULL, *out = NULL, *prev = NULL;
  size_t prevlen = 0;
  int ok = -1;
  const jnode *msgs = json_get(v, "messages");
  if (!v || !msgs || load_side(v, "client", &cs) || load_side(v, "server", &ss) ||
      load_ids(json_get(v, "have"), &want.have) || load_ids(json_get(v, "need"), &want.need)) {
    fprintf(stderr, "  %s: not a vector\n", path);
    goto done;
  }
  if (neg_init(&client, cs.items, cs.count, cs.limit) ||
      neg_init(&server, ss.items, ss.count, ss.limit)) {
    fprintf(stderr, "  %s: items refused\n", path);
    goto done;
  }
  size_t i = 0;
  for (const jnode *m = msgs->child; m; m = m->next, i++) {
    const jnode *from = json_get(m, "from"), *hex = json_get(m, "hex");
    size_t explen, outlen;
    if (!from || !hex || !(expect = unhex(hex->text, hex->len, &explen))) goto done;
    int rc, is_client = from->len == 6 && !memcmp(from->text, "client", 6);
    if (i == 0)
      rc = neg_initiate(&client, &out, &outlen);
    else if (is_client)
      rc = neg_reconcile_client(&client, prev, prevlen, &out, &outlen, on_have, on_need, &got);
    else
      rc = neg_reconcile_server(&server, prev, prevlen, &out, &outlen);
    if (rc || !out || outlen != explen || memcmp(out, expect, explen)) {
      fprintf(stderr, "  %s: message %zu (%s) differs (rc %d, %zu bytes, want %zu)\n",
              path, i, is_client ? "client" : "server", rc, outlen, explen);
      goto done;
    }
    if ((i % 2 == 0) != is_client) goto done; /* turns alternate */
    neg_msg_free(out);
    out = NULL;
    free(prev);
    prev = expect; /* the next side reads what was recorded */
    prevlen = explen;
    expect = NULL;
  }
  size_t outlen;
  if (i == 0 || i % 2 || neg_reconcile_client(&client, prev, prevlen, &out, &outlen, on_have, on_need, &got) ||
      out != NULL || outlen != 0) {
    fprintf(stderr, "  %s: client not done after the last message\n", path);
    goto done;
  }
  idset_sort(&got.have);
  idset_sort(&got.need);
  if (!idsets_equal(&got.have, &want.have) || !idsets_equal(&got.need, &want.need)) {
    fprintf(stderr, "  %s: have/need differ\n", path);
    goto done;
  }
  ok = 0;
done:
  neg_msg_free(out);
  free(expect);
  free(prev);
  free(cs.items);
  free(ss.items);
  reported_free(&got);
  reported_free(&want);
  json_free(v);
  free(src);
  return ok;
}

static void test_every_vector_replays_byte_for_byte(void) {
  const char *names[] = {"identical", "client_has_one_more", "server_has_one_more",
                         "many_differences", "frame_size_limit",
                         "empty_client_frame_limit", "both_empty"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s.json", VECTOR_DIR, names[i]);
    CHECK(replay(path) == 0);
  }
  /* Any vector added later is replayed too. */
  DIR *d = opendir(VECTOR_DIR);
  CHECK(d != NULL);
  struct dirent *e;
  int failed = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 5, ".json")) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", VECTOR_DIR, e->d_name);
    failed |= replay(path) != 0;
  }
  closedir(d);
  CHECK(!failed);
}

/* ---- hand-made messages ---- */

static const neg_item two_items[] = {
    {12345, {0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
             0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
             0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee}},
    {20000, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
             1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
};

/* The server's reply to hex, or its error code. */
static int serve_hex(const char *hex, uint8_t **out, size_t *outlen) {
  neg s;
  size_t len = 0;
  uint8_t *in = unhex(hex, strlen(hex), &len);
  if (!in || neg_init(&s, two_items, 2, 0)) {
    free(in);
    return STEK_ERROR;
  }
  int rc = neg_reconcile_server(&s, in, len, out, outlen);
  free(in);
  return rc;
}

/* Feed a client that has initiated the hex of a server reply. */
static int client_hex(const char *hex) {
  neg c;
  uint8_t *msg, *out;
  size_t len, outlen;
  if (neg_init(&c, two_items, 2, 0) || neg_initiate(&c, &msg, &len)) return STEK_ERROR;
  neg_msg_free(msg);
  uint8_t *in = unhex(hex, strlen(hex), &len);
  if (!in) return STEK_ERROR;
  int rc = neg_reconcile_client(&c, in, len, &out, &outlen, NULL, NULL, NULL);
  if (rc && (out || outlen)) rc = STEK_ERROR; /* an error returns nothing */
  neg_msg_free(out);
  free(in);
  return rc;
}

static int reply_is(const char *hex, const char *want_hex) {
  uint8_t *out;
  size_t outlen, wantlen;
  int rc = serve_hex(hex, &out, &outlen);
  uint8_t *want = unhex(want_hex, strlen(want_hex), &wantlen);
  int same = rc == 0 && want && outlen == wantlen && !memcmp(out, want, wantlen);
  neg_msg_free(out);
  free(want);
  return same;
}

#define EE32 "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define ONES32 "0101010101010101010101010101010101010101010101010101010101010101"

/* Replies checked against the reference server (see the vectors' README). */
static void test_an_empty_id_list_gets_all_of_the_servers_ids(void) {
  CHECK(reply_is("6100000200", "6100000202" EE32 ONES32));
}

static void test_a_zero_fingerprint_is_split_into_an_id_list(void) {
  CHECK(reply_is("6100000100000000000000000000000000000000", "6100000202" EE32 ONES32));
}

static void test_an_equal_bound_makes_an_empty_range(void) {
  CHECK(reply_is("6100000200000000", "6100000202" EE32 ONES32));
}

/* A timestamp delta past infinity saturates: the second range is empty. */
static void test_after_infinity_every_bound_is_infinity(void) {
  CHECK(reply_is("61000000020000", "61"));
}

static void test_server_answers_another_version_with_its_own(void) {
  CHECK(reply_is("62aabbccddeeff", "61"));
  CHECK(reply_is("6f", "61"));
  CHECK(reply_is("60", "61"));
}

static void test_client_refuses_another_version(void) {
  CHECK_RC(client_hex("62"), STEK_EVERSION);
  CHECK_RC(client_hex("01"), STEK_EMALFORMED);
}

static void test_a_byte_outside_the_version_range_is_malformed(void) {
  uint8_t *out;
  size_t outlen;
  CHECK_RC(serve_hex("01", &out, &outlen), STEK_EMALFORMED);
  CHECK_RC(serve_hex("70", &out, &outlen), STEK_EMALFORMED);
  CHECK(out == NULL && outlen == 0);
}

/* Each of these is refused whole, by server and client alike. */
static const char *const malformed[] = {
    "",                                   /* no version byte */
    "6181",                               /* varint cut short */
    "6100",                               /* bound without its id length */
    "61000000" "81",                      /* second range cut inside a varint */
    "618001000000",                       /* varint with a leading zero digit */
    "61ffffffffffffffffff7f0000",         /* varint wider than 64 bits */
    "6182808080808080808000" "0000",      /* 2^64 exactly */
    "61000003",                           /* mode 3 */
    "610000ff7f",                         /* an enormous mode */
    "6100" "21" "000000000000000000000000000000000000000000000000000000000000000000" "00",
    /* an id prefix of 33 bytes */
    "610001",                             /* a prefix longer than the message */
    "61000001" "0102030405",              /* fingerprint cut short */
    "61000002ffffffff0f",                 /* 2^32 ids claimed, none sent */
    "6100000202" EE32,                    /* 2 ids claimed, one sent */
    "6102012000" "0101010200",            /* bounds out of order: (1, 20..) then (1, 01..) */
};

static void test_malformed_messages_are_refused(void) {
  for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
    static uint8_t sentinel;
    uint8_t *out = &sentinel; /* must be reset on error */
    size_t outlen = 1;
    int rc = serve_hex(malformed[i], &out, &outlen);
    if (rc != STEK_EMALFORMED) fprintf(stderr, "  server took malformed[%zu]\n", i);
    CHECK_RC(rc, STEK_EMALFORMED);
    CHECK(out == NULL && outlen == 0);
    if (i == 0) continue; /* the client reads an empty reply the same way */
    CHECK_RC(client_hex(malformed[i]), STEK_EMALFORMED);
  }
}

static void test_a_message_over_the_limit_is_too_big(void) {
  neg s;
  uint8_t *big = calloc(NEG_MAX_MESSAGE + 1, 1), *out;
  size_t outlen;
  CHECK(big != NULL);
  big[0] = NEG_PROTOCOL_V1;
  CHECK_OK(neg_init(&s, two_items, 2, 0));
  int rc = neg_reconcile_server(&s, big, NEG_MAX_MESSAGE + 1, &out, &outlen);
  free(big);
  CHECK_RC(rc, STEK_ETOOBIG);
}

static void test_init_refuses_what_the_protocol_cannot_carry(void) {
  neg n;
  neg_item bad[2];
  memcpy(bad, two_items, sizeof bad);
  CHECK_RC(neg_init(&n, two_items, 2, 4095), STEK_EINVAL);
  CHECK_OK(neg_init(&n, two_items, 2, 4096));
  bad[0] = two_items[1]; /* duplicate */
  CHECK_RC(neg_init(&n, bad, 2, 0), STEK_EINVAL);
  bad[0].timestamp = 30000; /* out of order */
  CHECK_RC(neg_init(&n, bad, 2, 0), STEK_EINVAL);
  bad[0].timestamp = 1;
  bad[1].timestamp = UINT64_MAX; /* reserved for infinity */
  CHECK_RC(neg_init(&n, bad, 2, 0), STEK_EINVAL);
}

static void test_roles_are_kept_apart(void) {
  neg n;
  uint8_t *msg, *out;
  size_t len, outlen;
  CHECK_OK(neg_init(&n, two_items, 2, 0));
  CHECK_RC(neg_reconcile_client(&n, (const uint8_t *)"a", 1, &out, &outlen, NULL, NULL, NULL),
           STEK_ESTATE);
  CHECK_OK(neg_initiate(&n, &msg, &len));
  neg_msg_free(msg);
  CHECK_RC(neg_initiate(&n, &msg, &len), STEK_ESTATE);
  CHECK_RC(neg_reconcile_server(&n, (const uint8_t *)"a", 1, &out, &outlen), STEK_ESTATE);
}

/* ---- generated sets ---- */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static void random_item(uint64_t *seed, neg_item *it, uint64_t spread) {
  it->timestamp = (UINT64_C(1767225600000) << 16) + splitmix(seed) % spread;
  for (int k = 0; k < 4; k++) {
    uint64_t r = splitmix(seed);
    memcpy(it->id + 8 * k, &r, 8);
  }
}

static int cmp_item(const void *a, const void *b) {
  const neg_item *x = a, *y = b;
  if (x->timestamp != y->timestamp) return x->timestamp < y->timestamp ? -1 : 1;
  return memcmp(x->id, y->id, NEG_ID_BYTES);
}

typedef struct run_cost {
  size_t round_trips, bytes, messages;
} run_cost;

/* How many newest items the client's first message sends as an id list
 * (neg_initiate_recent); 0: neg_initiate. */
static size_t first_recent;

/* Reconcile client against server to the end; 0 or an error. */
static int sync_sets(const neg_item *ci, size_t cn, size_t climit, const neg_item *si,
                     size_t sn, size_t slimit, reported *got, run_cost *cost) {
  neg c, s;
  uint8_t *msg = NULL, *reply = NULL;
  size_t len, replylen;
  int rc;
  memset(cost, 0, sizeof *cost);
  if ((rc = neg_init(&c, ci, cn, climit)) || (rc = neg_init(&s, si, sn, slimit))) return rc;
  if ((rc = first_recent ? neg_initiate_recent(&c, first_recent, &msg, &len)
                         : neg_initiate(&c, &msg, &len)))
    return rc;
  while (msg) {
    if (climit && len > climit) rc = STEK_ETOOBIG;
    cost->bytes += len;
    cost->messages++;
    if (rc || (rc = neg_reconcile_server(&s, msg, len, &reply, &replylen))) break;
    if (slimit && replylen > slimit) rc = STEK_ETOOBIG;
    cost->round_trips++;
    cost->bytes += replylen;
    cost->messages++;
    neg_msg_free(msg);
    msg = NULL;
    if (rc || (rc = neg_reconcile_client(&c, reply, replylen, &msg, &len, on_have, on_need, got)))
      break;
    neg_msg_free(reply);
    reply = NULL;
    if (cost->round_trips > 1000) rc = STEK_ERROR;
  }
  neg_msg_free(msg);
  neg_msg_free(reply);
  return rc;
}

/* The cost of one difference in 100 000 items: rounds and bytes, not time.
 * 100 000 / 16 / 16 / 16 < 32: after three splits into 16 buckets
 * (client, server, client) the server answers the one differing bucket with
 * an id list, so two round trips suffice; the bound leaves room for one. */
static void check_one_difference_costs_little(int extra_on_client, size_t limit) {
  enum { N = 100000 };
  neg_item *items = malloc((N + 1) * sizeof *items);
  reported got = {0};
  run_cost cost;
  CHECK(items != NULL);
  uint64_t seed = 42;
  for (size_t i = 0; i < N + 1; i++) random_item(&seed, &items[i], UINT64_C(1) << 40);
  qsort(items, N + 1, sizeof *items, cmp_item);
  /* The odd one out is somewhere in the middle; the rest are shared. */
  neg_item odd = items[N / 3];
  neg_item *fewer = malloc(N * sizeof *fewer);
  if (!fewer) free(items);
  CHECK(fewer != NULL);
  memcpy(fewer, items, (N / 3) * sizeof *items);
  memcpy(fewer + N / 3, items + N / 3 + 1, (N - N / 3) * sizeof *items);
  int rc = extra_on_client ? sync_sets(items, N + 1, limit, fewer, N, limit, &got, &cost)
                           : sync_sets(fewer, N, limit, items, N + 1, limit, &got, &cost);
  free(items);
  free(fewer);
  idset *want = extra_on_client ? &got.have : &got.need, *none = extra_on_client ? &got.need : &got.have;
  int right = rc == 0 && want->len == 1 && none->len == 0 && !memcmp(want->ids[0], odd.id, NEG_ID_BYTES);
  reported_free(&got);
  printf("     1 difference in 100000 (%s extra, limit %zu): %zu round trips, %zu bytes\n",
         extra_on_client ? "client" : "server", limit, cost.round_trips, cost.bytes);
  CHECK(right);
  CHECK(cost.round_trips <= 3);
  CHECK(cost.bytes <= 4096);
}

static void test_one_difference_in_100000_items_costs_three_round_trips_and_4kb(void) {
  check_one_difference_costs_little(1, 0);
  if (test_failed_now) return;
  check_one_difference_costs_little(0, 0);
  if (test_failed_now) return;
  check_one_difference_costs_little(0, NEG_MIN_FRAME_SIZE_LIMIT);
}

/* The session's first message: the newest items as an id list.  A server
 * that holds one item newer than all of the client's (an edit since the
 * last sync) is found in one round trip, and the reconciliation of any two
 * sets still ends with their exact difference. */
static void test_recent_id_list_settles_a_new_item_in_one_round_trip(void) {
  enum { N = 100000, RECENT = 8 };
  neg_item *items = malloc((N + 1) * sizeof *items);
  CHECK(items != NULL);
  uint64_t seed = 43;
  for (size_t i = 0; i < N + 1; i++) random_item(&seed, &items[i], UINT64_C(1) << 40);
  qsort(items, N + 1, sizeof *items, cmp_item);
  neg c, s;
  uint8_t *msg = NULL, *reply = NULL, *next = NULL;
  size_t len = 0, replylen = 0, nextlen = 0;
  reported got = {0};
  int rc = neg_init(&c, items, N, 0);
  if (!rc) rc = neg_init(&s, items, N + 1, 0);
  if (!rc) rc = neg_initiate_recent(&c, RECENT, &msg, &len);
  if (!rc) rc = neg_reconcile_server(&s, msg, len, &reply, &replylen);
  if (!rc) rc = neg_reconcile_client(&c, reply, replylen, &next, &nextlen, on_have, on_need, &got);
  int right = rc == 0 && next == NULL && got.need.len == 1 && got.have.len == 0 &&
              !memcmp(got.need.ids[0], items[N].id, NEG_ID_BYTES) && len + replylen <= 2048;
  printf("     1 newer item in 100000, %d recent as ids: %zu + %zu bytes\n", RECENT, len, replylen);
  neg_msg_free(msg);
  neg_msg_free(reply);
  neg_msg_free(next);
  reported_free(&got);
  free(items);
  CHECK(right);
}

static void test_recent_id_list_of_few_items_is_the_plain_first_message(void) {
  neg_item items[40];
  uint64_t seed = 5;
  for (size_t i = 0; i < 40; i++) random_item(&seed, &items[i], 1000);
  qsort(items, 40, sizeof *items, cmp_item);
  neg a, b;
  uint8_t *ma = NULL, *mb = NULL;
  size_t la = 0, lb = 0;
  CHECK_OK(neg_init(&a, items, 39, 0));
  CHECK_OK(neg_init(&b, items, 39, 0));
  CHECK_OK(neg_initiate(&a, &ma, &la));
  CHECK_OK(neg_initiate_recent(&b, 8, &mb, &lb));
  int same = la == lb && !memcmp(ma, mb, la);
  neg_msg_free(ma);
  neg_msg_free(mb);
  CHECK(same);
  CHECK_RC(neg_initiate_recent(&b, 8, &mb, &lb), STEK_ESTATE);
}

/* Random sets both ways, with and without frame limits: the client learns
 * exactly the difference (the reference may repeat an id under frame limits,
 * so repeats are dropped before comparing). */
static void test_random_sets_reconcile_to_their_difference(void) {
  uint64_t seed = 7;
  for (int round = 0; round < 48; round++) {
    first_recent = round >= 24 ? 8 : 0; /* the session's first message too */
    size_t shared = splitmix(&seed) % 3000, conly = splitmix(&seed) % 300, sonly = splitmix(&seed) % 300;
    if (round % 6 == 0) conly = 0;
    if (round % 6 == 1) sonly = 0;
    size_t total = shared + conly + sonly;
    uint64_t spread = round % 3 == 0 ? 20 : UINT64_C(1) << 30; /* crowded timestamps too */
    neg_item *all = malloc((total + 1) * sizeof *all);
    neg_item *ci = malloc((total + 1) * sizeof *ci), *si = malloc((total + 1) * sizeof *si);
    reported got = {0}, want = {0};
    run_cost cost;
    int ok = all && ci && si;
    size_t cn = 0, sn = 0;
    for (size_t i = 0; ok && i < total; i++) random_item(&seed, &all[i], spread);
    for (size_t i = 0; ok && i < total; i++) {
      if (i < shared + conly) ci[cn++] = all[i];
      if (i < shared || i >= shared + conly) si[sn++] = all[i];
      if (i >= shared && i < shared + conly) ok &= !idset_add(&want.have, all[i].id);
      if (i >= shared + conly) ok &= !idset_add(&want.need, all[i].id);
    }
    if (ok) {
      qsort(ci, cn, sizeof *ci, cmp_item);
      qsort(si, sn, sizeof *si, cmp_item);
      size_t climit = round % 4 == 2 ? 4096 : 0, slimit = round % 4 >= 2 ? 4096 + round * 100 : 0;
      ok = sync_sets(ci, cn, climit, si, sn, slimit, &got, &cost) == 0;
    }
    idset_sort(&got.have);
    idset_unique(&got.have);
    idset_sort(&got.need);
    idset_unique(&got.need);
    idset_sort(&want.have);
    idset_sort(&want.need);
    ok = ok && idsets_equal(&got.have, &want.have) && idsets_equal(&got.need, &want.need);
    free(all);
    free(ci);
    free(si);
    reported_free(&got);
    reported_free(&want);
    if (!ok) fprintf(stderr, "  round %d\n", round);
    first_recent = 0;
    CHECK(ok);
  }
}

/* Every message of a vector, cut short or with one byte changed, gets an
 * answer or an error, never a crash (run this under ASan/UBSan). */
static void test_damaged_vector_messages_never_crash(void) {
  size_t srclen;
  char *src = read_file(VECTOR_DIR "/frame_size_limit.json", &srclen);
  CHECK(src != NULL);
  const char *p = src;
  jnode *v = json_value(&p, src + srclen, 0);
  side ss = {0};
  neg server;
  int ok = v && !load_side(v, "server", &ss) && !neg_init(&server, ss.items, ss.count, ss.limit);
  uint64_t seed = 99;
  size_t i = 0;
  for (const jnode *m = ok ? json_get(v, "messages")->child : NULL; m; m = m->next, i++) {
    const jnode *hex = json_get(m, "hex");
    size_t len;
    uint8_t *msg = unhex(hex->text, hex->len, &len);
    if (!msg) {
      ok = 0;
      break;
    }
    for (int k = 0; k < 300 && len; k++) {
      uint8_t *copy = malloc(len), *out;
      size_t cut = len, outlen;
      if (!copy) break;
      memcpy(copy, msg, len);
      if (k % 3 == 0)
        cut = splitmix(&seed) % len;
      else
        copy[splitmix(&seed) % len] ^= (uint8_t)(1u << (splitmix(&seed) % 8));
      if (i % 2 == 0) { /* a client message: the server reads it */
        int rc = neg_reconcile_server(&server, copy, cut, &out, &outlen);
        ok &= rc == 0 ? out != NULL : out == NULL;
        neg_msg_free(out);
      } else { /* a server message: a fresh client reads it */
        neg c;
        uint8_t *first;
        size_t flen;
        reported got = {0};
        side cs = {0};
        if (!load_side(v, "client", &cs) && !neg_init(&c, cs.items, cs.count, cs.limit) &&
            !neg_initiate(&c, &first, &flen)) {
          neg_msg_free(first);
          int rc = neg_reconcile_client(&c, copy, cut, &out, &outlen, on_have, on_need, &got);
          ok &= rc <= 0 && (rc == 0 || out == NULL);
          neg_msg_free(out);
        }
        free(cs.items);
        reported_free(&got);
      }
      free(copy);
    }
    free(msg);
  }
  free(ss.items);
  json_free(v);
  free(src);
  CHECK(ok);
}

int main(void) {
  if (cr_setup() != 0) return 2;
  RUN(test_every_vector_replays_byte_for_byte);
  RUN(test_an_empty_id_list_gets_all_of_the_servers_ids);
  RUN(test_a_zero_fingerprint_is_split_into_an_id_list);
  RUN(test_an_equal_bound_makes_an_empty_range);
  RUN(test_after_infinity_every_bound_is_infinity);
  RUN(test_server_answers_another_version_with_its_own);
  RUN(test_client_refuses_another_version);
  RUN(test_a_byte_outside_the_version_range_is_malformed);
  RUN(test_malformed_messages_are_refused);
  RUN(test_a_message_over_the_limit_is_too_big);
  RUN(test_init_refuses_what_the_protocol_cannot_carry);
  RUN(test_roles_are_kept_apart);
  RUN(test_one_difference_in_100000_items_costs_three_round_trips_and_4kb);
  RUN(test_recent_id_list_settles_a_new_item_in_one_round_trip);
  RUN(test_recent_id_list_of_few_items_is_the_plain_first_message);
  RUN(test_random_sets_reconcile_to_their_difference);
  RUN(test_damaged_vector_messages_never_crash);
  return test_report();
}
