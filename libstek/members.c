/*
 * members.c -- who belongs to a space: the replicated set of device keys,
 * revocation, and the key epochs revocations start (docs/PROTOCOL.md
 * "Membership and key epochs"; docs/SECURITY.md "Revocation").
 *
 * Both live in the op log as records of reserved types, so they sync,
 * merge and travel in bundles like any record:
 *   stek.member      id = BLAKE2b-128(device key); device = key, hex.
 *                    Written by the member who shares the space with it.
 *   stek.revocation  id random; device = the revoked key, hex; shares =
 *                    [hex(key) ‖ hex(crypto_box_seal(K_r, key)), ...], K_r
 *                    fresh, one share per device the revoker counts as a
 *                    member, itself included, the revoked one not.
 * A revocation's HLC and author are the version of its device field.
 * Revocations count in (HLC, id) order; one written by a device revoked at
 * an earlier HLC is void, as is a second one of the same device.  A change
 * of a revoked device dated after its revocation is refused at ingest, and
 * purged if it came first (then the records are rebuilt from the log, so
 * replicas converge whatever the order).  The key of epoch n:
 *   K^0 = the space secret
 *   K^n = BLAKE2b-256(key = K^(n-1), "stek-epoch" || K_rn)
 * A device that lacks one K_r (the one revoked, above all) can compute no
 * later epoch.  Sessions still open with the space capability from K^0 --
 * each side refuses a revoked peer by its device key -- while what leaves
 * a session (ops sealed for relays, bundles) is keyed by the newest epoch.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "crdt/change.h"
#include "crypto/crypto.h"

#define MEMBER_TYPE "stek.member"
#define REVOCATION_TYPE "stek.revocation"
#define SHARE_SEALED (32 + CR_SEAL_OVERHEAD)
#define SHARE_HEX (2 * (32 + SHARE_SEALED))

static void to_hex(char *out, const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = 0;
}

static int from_hex(uint8_t *out, const char *s, size_t n) {
  for (size_t i = 0; i < 2 * n; i++) {
    char c = s[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return -1;
    out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] << 4) | v : v);
  }
  return 0;
}

/* A device key from a record's device field (a msgpack str of 64 hex). */
static int device_value(const uint8_t *v, size_t len, uint8_t pk[32]) {
  mp_reader r;
  const char *s;
  uint32_t n;
  mp_reader_init(&r, v, len);
  if (mp_read_str(&r, &s, &n, 64) || n != 64 || mp_read_end(&r)) return -1;
  return from_hex(pk, s, 32);
}

/* ---- revocations ---- */

static int find(const stek__revs *r, const uint8_t device[32], uint64_t *at) {
  for (size_t i = 0; i < r->n; i++)
    if (!memcmp(r->v[i].device, device, 32)) {
      if (at) *at = r->v[i].hlc;
      return 1;
    }
  return 0;
}

static int collect(void *ctx, const uint8_t *rid, const uint8_t *dv, size_t dlen,
                   uint64_t hlc, const uint8_t *author, const uint8_t *shares, size_t slen) {
  stek__revs *r = ctx;
  uint64_t at;
  stek__rev e;
  if (device_value(dv, dlen, e.device)) return 0; /* not a revocation: ignored */
  if (find(r, author, &at) && at < hlc) return 0;  /* its author was revoked first */
  if (find(r, e.device, NULL)) return 0;           /* revoked already */
  if ((r->n & (r->n - 1)) == 0) {
    stek__rev *v = realloc(r->v, (r->n ? 2 * r->n : 4) * sizeof *v);
    if (!v) return STEK_ENOMEM;
    r->v = v;
  }
  memcpy(e.rid, rid, 16);
  memcpy(e.author, author, 32);
  e.hlc = hlc;
  e.shares = NULL;
  e.shares_len = 0;
  if (shares && slen && !(e.shares = malloc(slen))) return STEK_ENOMEM;
  if (e.shares) {
    memcpy(e.shares, shares, slen);
    e.shares_len = slen;
  }
  r->v[r->n++] = e;
  return 0;
}

void stek__revs_free(stek__revs *r) {
  for (size_t i = 0; i < r->n; i++) free(r->v[i].shares);
  free(r->v);
  memset(r, 0, sizeof *r);
}

int stek__revs_load(stek *s, int64_t sp, stek__revs *out) {
  memset(out, 0, sizeof *out);
  int rc = store_revocation_each(s->st, sp, REVOCATION_TYPE, collect, out);
  if (rc) stek__revs_free(out);
  return rc;
}

int stek__revoked(stek *s, int64_t sp, const uint8_t device[32], uint64_t *at) {
  stek__revs r;
  int rc = stek__revs_load(s, sp, &r);
  if (rc) return rc;
  rc = find(&r, device, at);
  stek__revs_free(&r);
  return rc;
}

/* ---- key epochs ---- */

/* K_r of revocation e as this device holds it: from the table (a space
 * share gave it), else its own share in e. */
static int epoch_key(stek *s, int64_t sp, const stek__rev *e, uint8_t key[32]) {
  int rc = store_epoch_key_get(s->st, sp, e->rid, key);
  if (rc != STEK_ENOTFOUND) return rc;
  uint8_t pk[32], sealed[SHARE_SEALED];
  char mine[65];
  const uint8_t *sk;
  mp_reader r;
  uint32_t n, len;
  const char *str;
  store_device(s->st, pk, &sk);
  to_hex(mine, pk, 32);
  mp_reader_init(&r, e->shares, e->shares_len);
  if (!e->shares || mp_read_array(&r, &n, STEK_MAX_LIST_ITEMS)) return STEK_ENOTFOUND;
  for (uint32_t i = 0; i < n; i++) {
    if (mp_read_str(&r, &str, &len, STEK_MAX_STRING_BYTES)) break;
    if (len != SHARE_HEX || memcmp(str, mine, 64) || from_hex(sealed, str + 64, SHARE_SEALED))
      continue;
    if (cr_open_as_device(key, sealed, sizeof sealed, pk, sk) == 0) return 0;
  }
  return STEK_ENOTFOUND;
}

void stek__epoch_next(uint8_t next[32], const uint8_t prev[32], const uint8_t kr[32]) {
  uint8_t m[10 + 32];
  memcpy(m, "stek-epoch", 10);
  memcpy(m + 10, kr, 32);
  cr_keyed_hash(next, m, sizeof m, prev);
  cr_wipe(m, sizeof m);
}

int stek__epoch_keys(stek *s, int64_t sp, uint8_t **keys, size_t *n) {
  stek__revs r;
  uint8_t k[32];
  int rc = stek__revs_load(s, sp, &r);
  if (rc) return rc;
  *n = 0;
  *keys = cr_secret_alloc(32 * (r.n + 1));
  if (!*keys) rc = STEK_ENOMEM;
  if (!rc) rc = store_space_key(s->st, sp, *keys);
  for (size_t i = 0; !rc && i < r.n; i++) {
    if (epoch_key(s, sp, &r.v[i], k)) break; /* no later epoch is ours */
    stek__epoch_next(*keys + 32 * (i + 1), *keys + 32 * i, k);
    cr_wipe(k, sizeof k);
    *n = i + 1;
  }
  if (!rc) (*n)++;
  stek__revs_free(&r);
  if (rc && *keys) {
    cr_secret_free(*keys);
    *keys = NULL;
  }
  return rc;
}

int stek__epoch_current(stek *s, int64_t sp, uint8_t key[32]) {
  uint8_t *keys;
  size_t n;
  int rc = stek__epoch_keys(s, sp, &keys, &n);
  if (rc) return rc;
  memcpy(key, keys + 32 * (n - 1), 32);
  cr_secret_free(keys);
  return 0;
}

int stek__epoch_share(stek *s, int64_t sp, mp_writer *w) {
  stek__revs r;
  uint8_t k[32];
  size_t n = 0;
  int rc = stek__revs_load(s, sp, &r);
  while (!rc && n < r.n && epoch_key(s, sp, &r.v[n], k) == 0) n++;
  mp_write_array(w, (uint32_t)n);
  for (size_t i = 0; !rc && i < n; i++) {
    rc = epoch_key(s, sp, &r.v[i], k);
    mp_write_array(w, 2);
    mp_write_bin(w, r.v[i].rid, 16);
    mp_write_bin(w, k, 32);
  }
  cr_wipe(k, sizeof k);
  stek__revs_free(&r);
  return rc;
}

/* ---- after a revocation arrives: purge, rebuild ---- */

/* A growing array of 32-byte keys (device keys, change ids). */
typedef struct devset {
  uint8_t (*v)[32];
  size_t n, cap;
} devset;

static int keys_push(devset *d, const uint8_t k[32]) {
  if (d->n == d->cap) {
    size_t cap = d->cap ? 2 * d->cap : 16;
    uint8_t(*v)[32] = realloc(d->v, cap * 32);
    if (!v) return STEK_ENOMEM;
    d->v = v;
    d->cap = cap;
  }
  memcpy(d->v[d->n++], k, 32);
  return 0;
}

/* Add pk unless it is there already. */
static int devset_add(devset *d, const uint8_t pk[32]) {
  for (size_t i = 0; i < d->n; i++)
    if (!memcmp(d->v[i], pk, 32)) return 0;
  return keys_push(d, pk);
}


struct purge {
  const stek__revs *r;
  devset ids; /* the changes to drop */
};

static int purge_scan(void *ctx, const uint8_t *wire, size_t len) {
  struct purge *p = ctx;
  change c;
  uint64_t at;
  if (change_decode(wire, len, &c)) return 0; /* a signal: no author */
  if (!find(p->r, c.author, &at) || c.hlc <= at) return 0;
  return keys_push(&p->ids, c.id);
}

struct replay {
  stek *s;
  int64_t sp;
};

static int replay_one(void *ctx, const uint8_t *wire, size_t len) {
  struct replay *rp = ctx;
  change c;
  mp_reader r;
  if (change_decode(wire, len, &c)) return 0; /* signals live apart */
  mp_reader_init(&r, c.ops, c.ops_len);
  for (uint32_t k = 0; k < c.n_ops; k++) {
    op o;
    version v = {c.hlc, c.author, k};
    int rc = op_next(&r, &o);
    if (!rc) rc = store_apply(rp->s->st, rp->sp, &o, &v);
    if (rc) return rc;
  }
  return 0;
}

static int reindex(void *ctx, const char *type, const uint8_t *rid) {
  struct replay *rp = ctx;
  return store_fts_refresh(rp->s->st, rp->sp, type, rid);
}

int stek__members_settle(stek *s, int64_t sp) {
  stek__revs r;
  struct purge p = {0};
  int rc = stek__revs_load(s, sp, &r);
  if (rc || r.n == 0) {
    stek__revs_free(&r);
    return rc;
  }
  uint64_t first = r.v[0].hlc;
  for (size_t i = 1; i < r.n; i++)
    if (r.v[i].hlc < first) first = r.v[i].hlc;
  p.r = &r;
  rc = store_change_each_since(s->st, sp, first + 1, purge_scan, &p);
  for (size_t i = 0; !rc && i < p.ids.n; i++) rc = store_change_delete(s->st, sp, p.ids.v[i]);
  if (!rc && p.ids.n) {
    /* The records are a function of the log: replay what is left. */
    struct replay rp = {s, sp};
    rc = store_records_clear(s->st, sp);
    if (!rc) rc = store_change_each(s->st, sp, replay_one, &rp);
    if (!rc) rc = store_record_each(s->st, sp, "directory", reindex, &rp);
    if (!rc) rc = store_fts_flush(s->st); /* nothing left queued behind */
    else store_fts_discard(s->st);
    /* A purged revocation may have made another one count again. */
    if (!rc) rc = stek__members_settle(s, sp);
  }
  free(p.ids.v);
  stek__revs_free(&r);
  return rc;
}

/* ---- devices ---- */

static int add_author(void *ctx, const uint8_t *wire, size_t len) {
  change c;
  return change_decode(wire, len, &c) ? 0 : devset_add(ctx, c.author);
}

static int add_member(void *ctx, const uint8_t *rid, const uint8_t *dv, size_t dlen,
                      uint64_t hlc, const uint8_t *author, const uint8_t *shares, size_t slen) {
  uint8_t pk[32];
  (void)rid, (void)hlc, (void)author, (void)shares, (void)slen;
  return device_value(dv, dlen, pk) ? 0 : devset_add(ctx, pk);
}

static int cmp_dev(const void *a, const void *b) { return memcmp(a, b, 32); }

/* Every device the space knows of: members, authors of changes and this
 * device, sorted by key. */
static int devices(stek *s, int64_t sp, devset *d) {
  uint8_t self[32];
  store_device(s->st, self, NULL);
  memset(d, 0, sizeof *d);
  int rc = devset_add(d, self);
  if (!rc) rc = store_revocation_each(s->st, sp, MEMBER_TYPE, add_member, d);
  if (!rc) rc = store_change_each(s->st, sp, add_author, d);
  if (!rc && d->n) qsort(d->v, d->n, 32, cmp_dev);
  return rc;
}

int stek_device_list(stek *s, stek_device_cb cb, void *ctx) {
  int rc = stek__need_space(s);
  devset d;
  stek__revs r;
  if (rc) return rc;
  if (!cb) return STEK_EINVAL;
  if ((rc = devices(s, s->sp, &d))) {
    free(d.v);
    return stek__store_fail(s, rc);
  }
  if ((rc = stek__revs_load(s, s->sp, &r))) {
    free(d.v);
    return stek__store_fail(s, rc);
  }
  for (size_t i = 0; i < r.n && !rc; i++) rc = devset_add(&d, r.v[i].device);
  if (!rc) qsort(d.v, d.n, 32, cmp_dev);
  for (size_t i = 0; !rc && i < d.n; i++) rc = cb(ctx, d.v[i], find(&r, d.v[i], NULL));
  free(d.v);
  stek__revs_free(&r);
  return rc < 0 ? stek__fail(s, rc, "%s", stek_strerror(rc)) : stek__ok(s, rc);
}

/* Write a record of a reserved type: only the library may. */
static int put_reserved(stek *s, const char *type, const uint8_t rid[16],
                        const stek_field *f, size_t n) {
  s->internal = 1;
  int rc = stek__put_fields(s, type, rid, f, n, NULL);
  s->internal = 0;
  return rc;
}

int stek__member_add(stek *s, int64_t sp, const uint8_t device[32]) {
  uint8_t rid[16], h[32], id[STEK_ID_BYTES];
  char hex[65];
  if (s->in_tx || s->batch) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  if (!s->has_space || sp != s->sp) { /* write in space sp, then come back */
    int had = s->has_space, rc;
    int64_t was = s->sp;
    uint8_t was_id[STEK_ID_BYTES];
    memcpy(was_id, s->space_id, sizeof was_id);
    rc = store_space_info(s->st, sp, id, NULL, 0);
    if (!rc) rc = stek_space_use(s, id);
    if (!rc) rc = stek__member_add(s, sp, device);
    if (had && s->sp != was) {
      int urc = stek_space_use(s, was_id);
      if (!rc) rc = urc;
    } else if (!had) {
      s->has_space = 0;
    }
    return rc;
  }
  uint8_t self[32];
  store_device(s->st, self, NULL);
  if (!memcmp(self, device, 32)) return stek__ok(s, 0); /* counted as a member anyway */
  cr_hash(h, device, 32);
  memcpy(rid, h, 16);
  to_hex(hex, device, 32);
  stek_record *rec;
  if (stek__record_load(s, MEMBER_TYPE, rid, &rec) == 0) {
    stek_record_free(rec);
    return stek__ok(s, 0); /* a member already */
  }
  stek_field f = {"device", {.kind = STEK_VALUE_STR, .str = hex}};
  return put_reserved(s, MEMBER_TYPE, rid, &f, 1);
}

int stek_device_revoke(stek *s, const uint8_t device[STEK_DEVICE_ID_BYTES]) {
  int rc = stek__need_space(s);
  uint8_t self[32], key[32], rid[16];
  devset d;
  stek__revs r;
  if (rc) return rc;
  if (!device) return STEK_EINVAL;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  store_device(s->st, self, NULL);
  if (!memcmp(self, device, 32))
    return stek__fail(s, STEK_EINVAL, "a device cannot revoke itself");
  if ((rc = devices(s, s->sp, &d)) || (rc = stek__revs_load(s, s->sp, &r))) {
    free(d.v);
    return stek__store_fail(s, rc);
  }
  if (find(&r, self, NULL)) rc = stek__fail(s, STEK_EREVOKED, "this device was revoked");
  else if (find(&r, device, NULL))
    rc = stek__fail(s, STEK_ESTATE, "that device is revoked already");
  else if (!bsearch(device, d.v, d.n, 32, cmp_dev))
    rc = stek__fail(s, STEK_ENOTFOUND, "no such device in this space");
  /* One share of a fresh key per device that stays. */
  char **shares = calloc(d.n, sizeof *shares);
  size_t n = 0;
  if (!rc && !shares) rc = STEK_ENOMEM;
  cr_random(key, sizeof key);
  for (size_t i = 0; !rc && i < d.n; i++) {
    uint8_t sealed[SHARE_SEALED];
    if (!memcmp(d.v[i], device, 32) || find(&r, d.v[i], NULL)) continue;
    if (!(shares[n] = malloc(SHARE_HEX + 1))) rc = STEK_ENOMEM;
    else if (cr_seal_to_device(sealed, key, sizeof key, d.v[i])) free(shares[n]); /* not a key */
    else {
      to_hex(shares[n], d.v[i], 32);
      to_hex(shares[n] + 64, sealed, sizeof sealed);
      n++;
    }
  }
  cr_wipe(key, sizeof key);
  if (!rc && n > STEK_MAX_LIST_ITEMS)
    rc = stek__fail(s, STEK_ETOOBIG, "a revocation reaches at most %d devices",
                    STEK_MAX_LIST_ITEMS);
  if (!rc) {
    char hex[65];
    to_hex(hex, device, 32);
    stek_field f[2] = {
        {"device", {.kind = STEK_VALUE_STR, .str = hex}},
        {"shares", {.kind = STEK_VALUE_LIST, .list = (const char *const *)shares, .list_len = n}}};
    cr_random(rid, sizeof rid);
    rc = put_reserved(s, REVOCATION_TYPE, rid, f, 2);
  }
  for (size_t i = 0; shares && i < n; i++) free(shares[i]);
  free(shares);
  free(d.v);
  stek__revs_free(&r);
  return rc < 0 && !s->err[0] ? stek__fail(s, rc, "%s", stek_strerror(rc)) : rc;
}

int stek__reserved_type(const char *type) { return strncmp(type, "stek.", 5) == 0; }
