/*
 * stek.c -- the public API: handles, spaces, local transactions, ingest,
 * records.  It joins the rooms: crdt/ decides (encoding, clocks, merge
 * order), store/ keeps, crypto/ signs and seals.  A local write and an
 * ingested change go through the same path -- decode, then store_apply() --
 * so a replica's own ops and a peer's are merged by one rule.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strnlen */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/mp.h"
#include "crdt/change.h"
#include "crdt/hlc.h"
#include "crdt/merge.h"
#include "crdt/signal.h"
#include "crypto/crypto.h"
#include "model/report.h"
#include "model/schedule.h"
#include "model/tz.h"
#include "stek.h"
#include "store/store.h"
#include "api.h"

#define DEFAULT_SKEW_MS (24 * 3600 * 1000LL)
#define MAX_UTC_OFFSET_MS (14 * 3600 * 1000LL) /* Pacific/Kiritimati, UTC+14 */
#define SPACE_SHARE_FORMAT 1

/* ---- errors ---- */

int stek__fail(stek *s, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  return rc;
}

int stek__ok(stek *s, int rc) {
  if (rc >= 0) s->err[0] = 0;
  return rc;
}

/* Carry a store failure's message up. */
int stek__store_fail(stek *s, int rc) {
  return stek__fail(s, rc, "%s", store_errmsg(s->st));
}

const char *stek_errmsg(const stek *s) { return s ? s->err : "no handle"; }

const char *stek_version(void) { return STEK_VERSION_STRING; }
int stek_version_number(void) { return STEK_VERSION_NUMBER; }
void stek_free(void *p) { free(p); }

/* ---- ids ---- */

void stek_id_new(uint8_t id[STEK_ID_BYTES]) {
  if (cr_setup() == 0) cr_random(id, STEK_ID_BYTES);
}

void stek_id_to_hex(const uint8_t id[STEK_ID_BYTES], char hex[33]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < STEK_ID_BYTES; i++) {
    hex[2 * i] = digits[id[i] >> 4];
    hex[2 * i + 1] = digits[id[i] & 15];
  }
  hex[32] = 0;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int stek_id_from_hex(const char *hex, uint8_t id[STEK_ID_BYTES]) {
  if (!hex || strlen(hex) != 32) return STEK_EINVAL;
  for (int i = 0; i < STEK_ID_BYTES; i++) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return STEK_EINVAL;
    id[i] = (uint8_t)(hi << 4 | lo);
  }
  return STEK_OK;
}

/* ---- open / close ---- */

static int64_t system_clock(void *ctx) {
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t stek__now_ms(const stek *s) { return s->cfg.clock(s->cfg.clock_ctx); }

void stek_config_init(stek_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->max_clock_skew_ms = DEFAULT_SKEW_MS;
  cfg->pwhash_opslimit = STEK_PWHASH_OPSLIMIT_DEFAULT;
  cfg->pwhash_memlimit = STEK_PWHASH_MEMLIMIT_DEFAULT;
}

static int use_space_at(stek *s, size_t i) {
  uint8_t id[STEK_ID_BYTES];
  int rc = store_space_at(s->st, i, id, s->space_name, sizeof s->space_name);
  return rc ? stek__store_fail(s, rc) : stek_space_use(s, id);
}

static char *copy_string(const char *str) {
  size_t n = strlen(str) + 1;
  char *c = malloc(n);
  return c ? memcpy(c, str, n) : NULL;
}

int stek_open(stek **out, const char *path, const stek_config *cfg) {
  stek *s = calloc(1, sizeof *s);
  size_t n = 0;
  *out = s;
  if (!s) return STEK_ENOMEM;
  stek_config_init(&s->cfg);
  if (cfg) s->cfg = *cfg;
  if (!s->cfg.clock) s->cfg.clock = system_clock;
  /* The handle keeps its own copies of the strings it reads later. */
  const char *zdir = s->cfg.zoneinfo_dir, *ltz = s->cfg.local_tz;
  s->cfg.zoneinfo_dir = s->cfg.local_tz = NULL;
  if ((zdir && !(s->cfg.zoneinfo_dir = copy_string(zdir))) ||
      (ltz && !(s->cfg.local_tz = copy_string(ltz))))
    return stek__fail(s, STEK_ENOMEM, "out of memory");
  if (!path) return stek__fail(s, STEK_EINVAL, "no store path given");
  if (cr_setup()) return stek__fail(s, STEK_ERROR, "libsodium failed to initialise");
  if (!s->cfg.pwhash_opslimit) s->cfg.pwhash_opslimit = STEK_PWHASH_OPSLIMIT_DEFAULT;
  if (!s->cfg.pwhash_memlimit) s->cfg.pwhash_memlimit = STEK_PWHASH_MEMLIMIT_DEFAULT;
  store_secret secret = {s->cfg.passphrase, s->cfg.passphrase_len, s->cfg.pwhash_opslimit,
                         s->cfg.pwhash_memlimit};
  s->cfg.passphrase = NULL; /* the caller's memory: not kept */
  s->cfg.passphrase_len = 0;
  if (secret.passphrase && !secret.len)
    return stek__fail(s, STEK_EINVAL, "empty passphrase");
  if (s->cfg.local_tz && tz_name_check(s->cfg.local_tz))
    return stek__fail(s, STEK_EINVAL, "local_tz is not an IANA time zone name");
  int rc = store_open(&s->st, path, s->cfg.identity_seed, secret.passphrase ? &secret : NULL,
                      s->err, sizeof s->err);
  s->cfg.identity_seed = NULL; /* used once, at creation; not kept */
  if (rc) return rc;
  rc = store_space_count(s->st, &n);
  if (rc) return stek__store_fail(s, rc);
  if (n == 1) return use_space_at(s, 0);
  return STEK_OK;
}

static void tx_reset(stek *s) {
  if (s->in_tx) mp_writer_free(&s->ops);
  s->in_tx = s->explicit_tx = 0;
  s->n_ops = 0;
  s->n_touch = 0;
  s->touch_err = 0;
}

void stek_close(stek *s) {
  if (!s) return;
  if (s->st && s->in_tx) store_tx_rollback(s->st);
  tx_reset(s);
  store_close(s->st);
  free(s->touch);
  free((char *)s->cfg.zoneinfo_dir);
  free((char *)s->cfg.local_tz);
  free(s);
}

void stek_device_id(const stek *s, uint8_t id[STEK_DEVICE_ID_BYTES]) {
  store_device(s->st, id, NULL);
}

int stek_rekey(stek *s, const char *new_passphrase, size_t len) {
  int switched;
  if (stek__need_store(s)) return STEK_EINVAL;
  if (new_passphrase && !len) return stek__fail(s, STEK_EINVAL, "empty passphrase");
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  store_secret next = {new_passphrase, len, s->cfg.pwhash_opslimit, s->cfg.pwhash_memlimit};
  int rc = store_rekey(s->st, new_passphrase ? &next : NULL, &switched);
  if (rc) {
    stek__store_fail(s, rc);
    if (switched) { /* the new store is in place but this handle is lost */
      store_close(s->st);
      s->st = NULL;
    }
    return rc;
  }
  return stek__ok(s, STEK_OK);
}

/* ---- spaces ---- */

int stek__need_store(stek *s) {
  if (!s || !s->st) return STEK_EINVAL;
  return 0;
}

int stek_space_create(stek *s, const char *name, uint8_t id[STEK_ID_BYTES]) {
  uint8_t key[CR_SPACE_KEY];
  if (stek__need_store(s) || !id) return STEK_EINVAL;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  if (!name) name = "";
  if (strlen(name) > 255 || !mp_utf8_valid(name, strlen(name)))
    return stek__fail(s, STEK_EINVAL, "space name must be UTF-8 of at most 255 bytes");
  cr_random(id, STEK_ID_BYTES);
  cr_random(key, sizeof key);
  int rc = store_space_create(s->st, id, name, key);
  cr_wipe(key, sizeof key);
  if (rc) return stek__store_fail(s, rc);
  return stek__ok(s, stek_space_use(s, id));
}

int stek_space_count(stek *s, size_t *count) {
  if (stek__need_store(s) || !count) return STEK_EINVAL;
  int rc = store_space_count(s->st, count);
  return rc ? stek__store_fail(s, rc) : stek__ok(s, 0);
}

int stek_space_get(stek *s, size_t i, uint8_t id[STEK_ID_BYTES], const char **name) {
  if (stek__need_store(s) || !id) return STEK_EINVAL;
  int rc = store_space_at(s->st, i, id, s->name_buf, sizeof s->name_buf);
  if (rc) return rc == STEK_ENOSPACE ? stek__fail(s, rc, "no space at index %zu", i)
                                     : stek__store_fail(s, rc);
  if (name) *name = s->name_buf; /* valid until the next call, as documented */
  return stek__ok(s, 0);
}

int stek_space_current(stek *s, uint8_t id[STEK_ID_BYTES]) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!id) return STEK_EINVAL;
  memcpy(id, s->space_id, STEK_ID_BYTES);
  return stek__ok(s, 0);
}

int stek_space_use(stek *s, const uint8_t id[STEK_ID_BYTES]) {
  int64_t sp;
  if (stek__need_store(s) || !id) return STEK_EINVAL;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  int rc = store_space_find(s->st, id, &sp);
  if (rc == STEK_ENOSPACE) return stek__fail(s, rc, "this store holds no such space");
  if (!rc) rc = store_space_info(s->st, sp, NULL, s->space_name, sizeof s->space_name);
  if (rc) return stek__store_fail(s, rc);
  s->sp = sp;
  memcpy(s->space_id, id, STEK_ID_BYTES);
  s->has_space = 1;
  return stek__ok(s, 0);
}

int stek__need_space(stek *s) {
  if (stek__need_store(s)) return STEK_EINVAL;
  if (!s->has_space)
    return stek__fail(s, STEK_ENOSPACE, "no current space: create or choose one");
  return 0;
}

int stek_space_share(stek *s, const uint8_t device[STEK_DEVICE_ID_BYTES],
                     uint8_t **out, size_t *len) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  return stek__space_share(s, s->sp, device, out, len);
}

int stek__space_share(stek *s, int64_t sp, const uint8_t device[STEK_DEVICE_ID_BYTES],
                      uint8_t **out, size_t *len) {
  uint8_t key[CR_SPACE_KEY], space_id[STEK_ID_BYTES];
  char space_name[256];
  int rc;
  if (!device || !out || !len) return STEK_EINVAL;
  *out = NULL;
  uint8_t x[32];
  if (cr_x25519_from_sign_pk(x, device)) return stek__fail(s, STEK_EINVAL, "not a valid device id");
  /* The device becomes a member: it will get the key of later epochs. */
  if ((rc = stek__member_add(s, sp, device))) return rc;
  rc = store_space_key(s->st, sp, key);
  if (!rc) rc = store_space_info(s->st, sp, space_id, space_name, sizeof space_name);
  if (rc) return stek__store_fail(s, rc);
  mp_writer in, w;
  mp_writer_init(&in);
  mp_write_array(&in, 5);
  mp_write_uint(&in, SPACE_SHARE_FORMAT);
  mp_write_bin(&in, space_id, STEK_ID_BYTES);
  mp_write_str(&in, space_name, strlen(space_name));
  mp_write_bin(&in, key, sizeof key);
  cr_wipe(key, sizeof key);
  if ((rc = stek__epoch_share(s, sp, &in))) {
    cr_wipe(in.buf.data, in.buf.size);
    mp_writer_free(&in);
    return stek__store_fail(s, rc);
  }
  mp_writer_init(&w);
  mp_write_array(&w, 2);
  mp_write_uint(&w, SPACE_SHARE_FORMAT);
  return stek__seal_share(s, device, &in, &w, out, len);
}

int stek__seal_share(stek *s, const uint8_t device[STEK_DEVICE_ID_BYTES], mp_writer *in,
                     mp_writer *w, uint8_t **out, size_t *len) {
  size_t clen = in->buf.size + CR_SEAL_OVERHEAD;
  uint8_t *sealed = malloc(clen);
  int rc = in->err ? in->err : w->err ? w->err : sealed ? 0 : STEK_ENOMEM;
  if (!rc) rc = cr_seal_to_device(sealed, (const uint8_t *)in->buf.data, in->buf.size, device);
  cr_wipe(in->buf.data, in->buf.size);
  mp_writer_free(in);
  if (!rc) {
    mp_write_bin(w, sealed, clen);
    rc = w->err;
  }
  free(sealed);
  if (!rc && !(*out = malloc(w->buf.size))) rc = STEK_ENOMEM;
  if (!rc) {
    memcpy(*out, w->buf.data, w->buf.size);
    *len = w->buf.size;
  }
  mp_writer_free(w);
  if (rc == STEK_EINVAL) return stek__fail(s, rc, "not a valid device id");
  return rc ? stek__fail(s, rc, "%s", stek_strerror(rc)) : stek__ok(s, 0);
}

/* Decode the opened share: [1, id, name, key, epochs]; *epochs is left at
 * the array of [rev, key] pairs (4 elements: none). */
static int read_share(const uint8_t *p, size_t n, const uint8_t **id,
                      char name[256], const uint8_t **key, mp_reader *epochs) {
  mp_reader r;
  uint32_t cnt, len, name_len, k;
  uint64_t ver;
  const char *nm;
  const uint8_t *b;
  mp_reader_init(&r, p, n);
  if (mp_read_array(&r, &cnt, 15) || mp_read_uint(&r, &ver)) return r.err;
  if (ver != SPACE_SHARE_FORMAT) return STEK_EVERSION;
  if ((cnt != 4 && cnt != 5) || mp_read_bin(&r, id, &len, STEK_ID_BYTES, 0) ||
      mp_read_str(&r, &nm, &name_len, 255) ||
      mp_read_bin(&r, key, &len, CR_SPACE_KEY, 0))
    return r.err ? r.err : STEK_EMALFORMED;
  *epochs = r;
  if (cnt == 5) { /* check the pairs now, read them after */
    if (mp_read_array(&r, &k, 4096)) return r.err;
    for (uint32_t i = 0; i < k; i++)
      if (mp_read_array(&r, &len, 2) || len != 2 || mp_read_bin(&r, &b, &len, 16, 0) ||
          mp_read_bin(&r, &b, &len, 32, 0))
        return r.err ? r.err : STEK_EMALFORMED;
  }
  if (mp_read_end(&r)) return r.err;
  memcpy(name, nm, name_len);
  name[name_len] = 0;
  return 0;
}

/* Keep the epoch keys a share carried. */
static int keep_epochs(stek *s, int64_t sp, mp_reader *r) {
  uint32_t k, len;
  const uint8_t *rev, *key;
  if (r->p == r->end) return 0; /* a share without epochs */
  mp_read_array(r, &k, 4096);
  for (uint32_t i = 0; i < k; i++) {
    mp_read_array(r, &len, 2);
    mp_read_bin(r, &rev, &len, 16, 0);
    mp_read_bin(r, &key, &len, 32, 0);
    if (r->err) return STEK_EMALFORMED;
    int rc = store_epoch_key_put(s->st, sp, rev, key);
    if (rc) return rc;
  }
  return 0;
}

int stek_space_accept(stek *s, const uint8_t *sealed, size_t len) {
  mp_reader r;
  uint32_t cnt, clen;
  uint64_t ver;
  const uint8_t *c, *id, *key, *sk;
  uint8_t pk[CR_SIGN_PK];
  char name[256];
  int64_t sp;
  if (stek__need_store(s) || !sealed) return STEK_EINVAL;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  mp_reader_init(&r, sealed, len);
  if (mp_read_array(&r, &cnt, 15) || mp_read_uint(&r, &ver))
    return stek__fail(s, r.err, "space share: %s", stek_strerror(r.err));
  if (ver != SPACE_SHARE_FORMAT)
    return stek__fail(s, STEK_EVERSION, "space share: format %llu is not supported",
                (unsigned long long)ver);
  if (cnt != 2 || mp_read_bin(&r, &c, &clen, 0, 4096) || mp_read_end(&r) ||
      clen <= CR_SEAL_OVERHEAD)
    return stek__fail(s, r.err ? r.err : STEK_EMALFORMED, "space share is malformed");
  uint8_t *plain = cr_secret_alloc(clen - CR_SEAL_OVERHEAD);
  if (!plain) return STEK_ENOMEM;
  store_device(s->st, pk, &sk);
  int rc = cr_open_as_device(plain, c, clen, pk, sk);
  if (rc) {
    cr_secret_free(plain);
    return stek__fail(s, STEK_EMALFORMED,
                "space share does not open: damaged, or sealed to another device");
  }
  mp_reader epochs;
  rc = read_share(plain, clen - CR_SEAL_OVERHEAD, &id, name, &key, &epochs);
  if (!rc) {
    rc = store_space_find(s->st, id, &sp);
    if (rc == STEK_ENOSPACE) {
      rc = store_space_create(s->st, id, name, key);
      if (!rc) rc = store_space_find(s->st, id, &sp);
    } else if (rc == 0) {
      rc = STEK_DUPLICATE;
    }
    if (rc >= 0) { /* a share may bring epochs a held space lacks */
      int erc = keep_epochs(s, sp, &epochs);
      if (erc) rc = erc;
    }
  }
  uint8_t idc[STEK_ID_BYTES];
  if (rc >= 0) memcpy(idc, id, sizeof idc);
  cr_secret_free(plain);
  if (rc < 0) return stek__fail(s, rc, "space share: %s", stek_strerror(rc));
  int urc = stek_space_use(s, idc);
  return urc ? urc : stek__ok(s, rc);
}

/* ---- local transactions ---- */

static void touch(stek *s, const char *type, size_t type_len, const uint8_t *rid) {
  if (s->n_touch == s->cap_touch) {
    size_t cap = s->cap_touch ? s->cap_touch * 2 : 8;
    touched *t = realloc(s->touch, cap * sizeof *t);
    if (!t) {
      s->touch_err = 1;
      return;
    }
    s->touch = t;
    s->cap_touch = cap;
  }
  touched *t = &s->touch[s->n_touch++];
  memset(t->type, 0, sizeof t->type);
  memcpy(t->type, type, type_len);
  memcpy(t->rid, rid, STEK_ID_BYTES);
}

static int cmp_touched(const void *a, const void *b) {
  return memcmp(a, b, sizeof(touched));
}

/* Sort the touched records and drop repeats. */
static void touched_unique(stek *s) {
  size_t n = 0;
  if (s->n_touch == 0) return; /* touch may be NULL: qsort(NULL, 0) is UB */
  qsort(s->touch, s->n_touch, sizeof *s->touch, cmp_touched);
  for (size_t i = 0; i < s->n_touch; i++)
    if (n == 0 || cmp_touched(&s->touch[n - 1], &s->touch[i]) != 0)
      s->touch[n++] = s->touch[i];
  s->n_touch = n;
}

/* Record types whose text is full-text indexed (stek_directory_search). */
static int indexed_type(const char *type) { return strcmp(type, "directory") == 0; }

/* Before a commit: bring derived indexes up to date for what changed. */
static int refresh_indexes(stek *s, int64_t sp) {
  if (s->touch_err) return stek__fail(s, STEK_ENOMEM, "out of memory");
  touched_unique(s);
  for (size_t i = 0; i < s->n_touch; i++) {
    if (!indexed_type(s->touch[i].type)) continue;
    int rc = store_fts_refresh(s->st, sp, s->touch[i].type, s->touch[i].rid);
    if (rc) {
      store_fts_discard(s->st);
      return stek__store_fail(s, rc);
    }
  }
  int rc = store_fts_flush(s->st);
  return rc ? stek__store_fail(s, rc) : 0;
}

/* After a commit: one callback per record, in (type, id) order. */
static void notify(stek *s, int origin) {
  if (!s->cb) return;
  for (size_t i = 0; i < s->n_touch; i++)
    s->cb(s->cb_ctx, s->touch[i].type, s->touch[i].rid, origin);
}

static int tx_open(stek *s, int explicit_tx) {
  uint64_t last;
  int rc = store_tx_begin(s->st);
  if (rc) return stek__store_fail(s, rc);
  rc = store_hlc_get(s->st, &last);
  if (!rc) rc = hlc_tick(last, stek__now_ms(s), &s->tx_hlc);
  if (rc) {
    store_tx_rollback(s->st);
    return rc == STEK_EFUTURE ? stek__fail(s, rc, "clock exhausted") : stek__store_fail(s, rc);
  }
  mp_writer_init(&s->ops);
  s->in_tx = 1;
  s->explicit_tx = explicit_tx;
  s->n_ops = 0;
  s->n_touch = 0;
  return 0;
}

int stek_begin(stek *s) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "transactions do not nest");
  return stek__ok(s, tx_open(s, 1));
}

int stek_rollback(stek *s) {
  if (stek__need_store(s)) return STEK_EINVAL;
  if (!s->in_tx) return stek__fail(s, STEK_ESTATE, "no transaction is open");
  store_tx_rollback(s->st);
  tx_reset(s);
  return stek__ok(s, 0);
}

static int tx_commit(stek *s) {
  mp_writer wire;
  change c;
  const uint8_t *sk;
  uint8_t pk[CR_SIGN_PK];
  int rc = 0;
  if (s->n_ops > 0) {
    store_device(s->st, pk, &sk);
    rc = s->ops.err;
    if (!rc) rc = change_encode(&wire, s->space_id, pk, sk, s->tx_hlc,
                                (const uint8_t *)s->ops.buf.data, s->ops.buf.size,
                                s->n_ops, c.id);
    if (!rc) {
      c.hlc = s->tx_hlc;
      rc = store_change_add(s->st, s->sp, &c, (const uint8_t *)wire.buf.data,
                            wire.buf.size);
      mp_writer_free(&wire);
      if (!rc) rc = store_hlc_set(s->st, s->tx_hlc);
    }
  }
  if (!rc && (rc = refresh_indexes(s, s->sp))) {
    store_tx_rollback(s->st);
    tx_reset(s);
    return rc;
  }
  if (!rc) rc = store_tx_commit(s->st);
  if (rc) {
    if (rc != STEK_ETOOBIG && rc != STEK_ENOMEM) stek__store_fail(s, rc);
    else stek__fail(s, rc, "change: %s", stek_strerror(rc));
    store_tx_rollback(s->st);
    tx_reset(s);
    return rc;
  }
  notify(s, STEK_ORIGIN_LOCAL);
  tx_reset(s);
  return stek__ok(s, 0);
}

int stek_commit(stek *s) {
  if (stek__need_store(s)) return STEK_EINVAL;
  if (!s->in_tx || !s->explicit_tx)
    return stek__fail(s, STEK_ESTATE, "no transaction is open");
  return tx_commit(s);
}

/* The single write path: the op, already encoded into one, is decoded and
 * checked exactly as a peer's would be, merged, and kept for the change. */
static int write_op(stek *s, mp_writer *one) {
  int rc = stek__need_space(s);
  op o;
  mp_reader r;
  if (rc) return rc;
  if (one->err) return stek__fail(s, one->err, "out of memory");
  if (s->in_tx && s->n_ops >= STEK_MAX_OPS)
    return stek__fail(s, STEK_ETOOBIG, "a change holds at most %d ops", STEK_MAX_OPS);
  if (s->in_tx && s->ops.buf.size + one->buf.size > STEK_MAX_CHANGE_BYTES - 256)
    return stek__fail(s, STEK_ETOOBIG, "a change holds at most %u bytes",
                STEK_MAX_CHANGE_BYTES);
  mp_reader_init(&r, (const uint8_t *)one->buf.data, one->buf.size);
  rc = op_decode(&r, &o);
  if (rc == STEK_ETOOBIG)
    return stek__fail(s, rc, "a value exceeds its limit (strings %d bytes, lists %d items)",
                STEK_MAX_STRING_BYTES, STEK_MAX_LIST_ITEMS);
  if (rc)
    return stek__fail(s, STEK_EINVAL,
                "invalid type or field name, or a string that is not UTF-8");
  int auto_tx = !s->in_tx;
  if (auto_tx && (rc = tx_open(s, 0))) return rc;
  uint8_t pk[CR_SIGN_PK];
  store_device(s->st, pk, NULL);
  version v = {s->tx_hlc, pk, s->n_ops};
  rc = store_apply(s->st, s->sp, &o, &v);
  if (rc) {
    stek__store_fail(s, rc);
    if (auto_tx) {
      store_tx_rollback(s->st);
      tx_reset(s);
    }
    return rc;
  }
  mp_write_raw(&s->ops, one->buf.data, one->buf.size);
  s->n_ops++;
  touch(s, o.type, o.type_len, o.rid);
  return auto_tx ? tx_commit(s) : stek__ok(s, 0);
}

static int check_value(const stek_value *v) {
  if (!v) return 0;
  if (v->kind == STEK_VALUE_INT) return 0;
  if (v->kind == STEK_VALUE_STR) return v->str ? 0 : STEK_EINVAL;
  if (v->kind != STEK_VALUE_LIST) return STEK_EINVAL;
  if (v->list_len > STEK_MAX_LIST_ITEMS) return STEK_ETOOBIG;
  if (v->list_len && !v->list) return STEK_EINVAL;
  for (size_t i = 0; i < v->list_len; i++)
    if (!v->list[i]) return STEK_EINVAL;
  return 0;
}

/* Strings longer than any limit are refused before they are copied. */
static int too_long(const char *s, size_t max) { return strnlen(s, max + 1) > max; }

static int check_args(stek *s, const char *type, const uint8_t *id,
                      const char *field) {
  if (stek__need_store(s)) return STEK_EINVAL;
  if (!type || !id || (field == NULL && type == NULL))
    return stek__fail(s, STEK_EINVAL, "type and id are required");
  if (too_long(type, STEK_MAX_NAME_BYTES) || (field && too_long(field, STEK_MAX_NAME_BYTES)))
    return stek__fail(s, STEK_EINVAL, "names are at most %d bytes", STEK_MAX_NAME_BYTES);
  if (stek__reserved_type(type) && !s->internal)
    return stek__fail(s, STEK_EINVAL, "types starting \"stek.\" are the library's own");
  return 0;
}

static int finish_write(stek *s, mp_writer *w) {
  int rc = write_op(s, w);
  mp_writer_free(w);
  return rc;
}

/* The checks of one field of a put, before anything is encoded. */
static int check_put(stek *s, const char *type, const uint8_t *id, const char *field,
                     const stek_value *value) {
  int rc = check_args(s, type, id, field ? field : "");
  if (rc) return rc;
  if (!field) return stek__fail(s, STEK_EINVAL, "a field name is required");
  if ((rc = check_value(value)))
    return stek__fail(s, rc, "invalid value (kind, NULL string, or over %d list items)",
                STEK_MAX_LIST_ITEMS);
  if (value && value->kind == STEK_VALUE_STR &&
      too_long(value->str, STEK_MAX_STRING_BYTES))
    return stek__fail(s, STEK_ETOOBIG, "strings are at most %d bytes", STEK_MAX_STRING_BYTES);
  for (size_t i = 0; value && value->kind == STEK_VALUE_LIST && i < value->list_len; i++)
    if (too_long(value->list[i], STEK_MAX_STRING_BYTES))
      return stek__fail(s, STEK_ETOOBIG, "strings are at most %d bytes", STEK_MAX_STRING_BYTES);
  return 0;
}

int stek_put(stek *s, const char *type, const uint8_t id[STEK_ID_BYTES],
             const char *field, const stek_value *value) {
  mp_writer w;
  int rc = check_put(s, type, id, field, value);
  if (rc) return rc;
  mp_writer_init(&w);
  op_encode_put(&w, type, id, field, value);
  return finish_write(s, &w);
}

/* Fields of a typed put, by name (bytewise, as the format orders a put's
 * map), then by position: of a repeated name the last one counts. */
typedef struct put_slot {
  const char *name;
  const stek_value *value;
  size_t at;
} put_slot;

static int cmp_slot(const void *a, const void *b) {
  const put_slot *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : x->at < y->at ? -1 : x->at > y->at;
}

/* All plain fields of a record as one put op (or one per STEK_MAX_FIELDS):
 * the type and id once, not once a field, and one lookup to merge with. */
static int put_many(stek *s, const char *type, const uint8_t *id, put_slot *slots, size_t n) {
  const char *names[STEK_MAX_FIELDS];
  const stek_value *values[STEK_MAX_FIELDS];
  int rc = 0;
  qsort(slots, n, sizeof *slots, cmp_slot);
  size_t k = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    if (i + 1 < n && !strcmp(slots[i].name, slots[i + 1].name)) continue; /* a later one */
    names[k] = slots[i].name;
    values[k++] = slots[i].value;
    if (k == STEK_MAX_FIELDS || i + 1 == n) {
      mp_writer w;
      mp_writer_init(&w);
      op_encode_put_fields(&w, type, id, names, values, k);
      rc = finish_write(s, &w);
      k = 0;
    }
  }
  return rc;
}

static int life(stek *s, int kind, const char *type, const uint8_t *id) {
  mp_writer w;
  int rc = check_args(s, type, id, NULL);
  if (rc) return rc;
  mp_writer_init(&w);
  op_encode_life(&w, kind, type, id);
  return finish_write(s, &w);
}

int stek__put_fields(stek *s, const char *type, const uint8_t *id,
                     const stek_field *fields, size_t n, const char *set_field) {
  int own = !s->in_tx, rc = 0;
  put_slot *slots = n ? malloc(n * sizeof *slots) : NULL;
  size_t n_slots = 0;
  if (n && !slots) return stek__fail(s, STEK_ENOMEM, "out of memory");
  for (size_t i = 0; !rc && i < n; i++) {
    const stek_field *f = &fields[i];
    if (set_field && f->name && !strcmp(f->name, set_field) && f->value.kind == STEK_VALUE_LIST)
      continue;
    const stek_value *v = f->value.kind == STEK_VALUE_NONE ? NULL : &f->value;
    rc = check_put(s, type, id, f->name, v);
    slots[n_slots++] = (put_slot){f->name, v, i};
  }
  if (rc) {
    free(slots);
    return rc;
  }
  if (own && (rc = stek_begin(s))) {
    free(slots);
    return rc;
  }
  if (n_slots) rc = put_many(s, type, id, slots, n_slots);
  free(slots);
  for (size_t i = 0; !rc && i < n; i++) {
    const stek_field *f = &fields[i];
    if (set_field && !strcmp(f->name, set_field) && f->value.kind == STEK_VALUE_LIST)
      for (size_t k = 0; !rc && k < f->value.list_len; k++)
        rc = stek_set_add(s, type, id, f->name, f->value.list[k]);
  }
  if (!own) return rc;
  if (rc) {
    char why[sizeof s->err];
    memcpy(why, s->err, sizeof why);
    stek_rollback(s);
    memcpy(s->err, why, sizeof why); /* keep the reason, not the rollback's */
    return rc;
  }
  return stek_commit(s);
}

int stek_delete(stek *s, const char *type, const uint8_t id[STEK_ID_BYTES]) {
  return life(s, OP_DELETE, type, id);
}

int stek_restore(stek *s, const char *type, const uint8_t id[STEK_ID_BYTES]) {
  return life(s, OP_RESTORE, type, id);
}

static int set_op(stek *s, int kind, const char *type, const uint8_t *id,
                  const char *field, const char *elem) {
  mp_writer w;
  int rc = check_args(s, type, id, field ? field : "");
  if (rc) return rc;
  if (!field || !elem) return stek__fail(s, STEK_EINVAL, "field and element are required");
  if (too_long(elem, STEK_MAX_STRING_BYTES))
    return stek__fail(s, STEK_ETOOBIG, "strings are at most %d bytes", STEK_MAX_STRING_BYTES);
  mp_writer_init(&w);
  op_encode_set(&w, kind, type, id, field, elem);
  return finish_write(s, &w);
}

int stek_set_add(stek *s, const char *type, const uint8_t id[STEK_ID_BYTES],
                 const char *field, const char *element) {
  return set_op(s, OP_SET_ADD, type, id, field, element);
}

int stek_set_remove(stek *s, const char *type, const uint8_t id[STEK_ID_BYTES],
                    const char *field, const char *element) {
  return set_op(s, OP_SET_REMOVE, type, id, field, element);
}

/* ---- ingest ---- */

/* Why a change was refused: the limit or rule it broke when the decoder
 * named one (why, static text), else the code's general reason.  Never the
 * change's content. */
static int ingest_fail(stek *s, int rc, const char *why) {
  if (why && (rc == STEK_ETOOBIG || rc == STEK_EMALFORMED))
    return stek__fail(s, rc, "change rejected: %s", why);
  switch (rc) {
    case STEK_ETOOBIG: return stek__fail(s, rc, "change rejected: a size or count exceeds its limit");
    case STEK_ETRUNCATED: return stek__fail(s, rc, "change rejected: truncated");
    case STEK_EMALFORMED: return stek__fail(s, rc, "change rejected: malformed or not canonical");
    case STEK_EVERSION: return stek__fail(s, rc, "change rejected: unsupported format version");
    case STEK_ENOSPACE: return stek__fail(s, rc, "change rejected: its space is not held here");
    case STEK_EFUTURE:
      return stek__fail(s, rc, "change rejected: dated more than %lld ms ahead of this "
                               "device's clock (max_clock_skew_ms)",
                        (long long)s->cfg.max_clock_skew_ms);
    case STEK_ESIGNATURE: return stek__fail(s, rc, "change rejected: signature does not verify");
    case STEK_EREVOKED:
      return stek__fail(s, rc, "change rejected: its author was revoked before writing it");
    default: return stek__store_fail(s, rc);
  }
}

static int ingest_signal(stek *s, int64_t want_sp, const uint8_t *buf, size_t len);

/* A change or signal of another space than the one asked for. */
static int other_space(stek *s) {
  return stek__fail(s, STEK_ENOSPACE, "change rejected: of another space than this session's");
}

/* Give up an ingest transaction. */
static int ingest_abort(stek *s, int rc) {
  store_tx_rollback(s->st);
  s->n_touch = 0;
  return rc;
}

/* Commit an ingest transaction: indexes, commit, then the callbacks. */
static int ingest_finish(stek *s, int64_t sp) {
  int rc = sp >= 0 && s->n_touch ? refresh_indexes(s, sp) : 0;
  if (!rc && (rc = store_tx_commit(s->st))) stek__store_fail(s, rc);
  if (rc) return ingest_abort(s, rc);
  notify(s, STEK_ORIGIN_REMOTE);
  s->n_touch = 0;
  return stek__ok(s, STEK_OK);
}

int stek_ingest(stek *s, const uint8_t *buf, size_t len) {
  return stek__ingest_in(s, -1, buf, len);
}

int stek__ingest_in(stek *s, int64_t want_sp, const uint8_t *buf, size_t len) {
  change c;
  int64_t sp;
  uint64_t last;
  if (stek__need_store(s) || (!buf && len)) return STEK_EINVAL;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "cannot ingest inside a transaction");
  if (wire_format(buf, len) == SIGNAL_FORMAT) return ingest_signal(s, want_sp, buf, len);
  int rc = change_decode(buf, len, &c);
  if (!rc) rc = store_space_find(s->st, c.space, &sp);
  if (!rc && want_sp >= 0 && sp != want_sp) return other_space(s);
  if (!rc) rc = store_change_has(s->st, sp, c.id);
  if (rc == STEK_DUPLICATE) return stek__ok(s, rc);
  if (!rc) rc = hlc_check(c.hlc, stek__now_ms(s), s->cfg.max_clock_skew_ms);
  if (!rc) rc = change_verify(&c);
  uint64_t revoked_at;
  int revoked = rc ? 0 : stek__revoked(s, sp, c.author, &revoked_at);
  if (revoked < 0) return stek__store_fail(s, revoked);
  if (revoked && c.hlc > revoked_at) rc = STEK_EREVOKED;
  if (rc) return ingest_fail(s, rc, c.why);

  int own = !s->batch; /* in a batch, the batch owns the transaction */
  if (own && (rc = store_tx_begin(s->st))) return stek__store_fail(s, rc);
  rc = store_change_has(s->st, sp, c.id); /* another handle may have won */
  if (rc == STEK_DUPLICATE) {
    if (own) store_tx_rollback(s->st);
    return stek__ok(s, rc);
  }
  if (own) {
    s->n_touch = 0;
    s->touch_err = 0;
  }
  if (!rc) rc = store_change_add(s->st, sp, &c, buf, len);
  mp_reader r;
  int membership = 0;
  mp_reader_init(&r, c.ops, c.ops_len);
  for (uint32_t k = 0; !rc && k < c.n_ops; k++) {
    op o;
    version v = {c.hlc, c.author, k};
    rc = op_next(&r, &o);
    if (!rc) rc = store_apply(s->st, sp, &o, &v);
    if (!rc) touch(s, o.type, o.type_len, o.rid);
    if (!rc && o.type_len == 15 && !memcmp(o.type, "stek.revocation", 15)) membership = 1;
  }
  if (!rc && membership) rc = stek__members_settle(s, sp);
  if (!rc) rc = store_hlc_get(s->st, &last);
  if (!rc) rc = store_hlc_set(s->st, hlc_merge(last, c.hlc));
  if (rc) return own ? ingest_abort(s, stek__store_fail(s, rc)) : stek__store_fail(s, rc);
  if (!own) {
    s->batch_sp = sp;
    return stek__ok(s, STEK_OK);
  }
  return ingest_finish(s, sp);
}

/* ---- batches: many ingests, one transaction (sync sessions) ---- */

int stek__batch_begin(stek *s) {
  if (s->in_tx || s->batch) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  int rc = store_tx_begin(s->st);
  if (rc) return stek__store_fail(s, rc);
  s->batch = 1;
  s->batch_sp = -1;
  s->n_touch = 0;
  s->touch_err = 0;
  return 0;
}

int stek__batch_end(stek *s, int keep) {
  if (!s->batch) return STEK_ESTATE;
  s->batch = 0;
  if (!keep) return ingest_abort(s, STEK_OK);
  return ingest_finish(s, s->batch_sp);
}

int stek_changes(stek *s, stek_bytes_cb cb, void *ctx) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!cb) return STEK_EINVAL;
  rc = store_change_each(s->st, s->sp, cb, ctx);
  return rc < 0 ? stek__store_fail(s, rc) : stek__ok(s, rc);
}

int stek_change_count(stek *s, uint64_t *count) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!count) return STEK_EINVAL;
  rc = store_change_count(s->st, s->sp, count);
  return rc ? stek__store_fail(s, rc) : stek__ok(s, 0);
}

int stek_state_hash(stek *s, uint8_t hash[STEK_HASH_BYTES]) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!hash) return STEK_EINVAL;
  rc = store_state_hash(s->st, s->sp, hash);
  return rc ? stek__store_fail(s, rc) : stek__ok(s, 0);
}

void stek_set_change_callback(stek *s, stek_change_cb cb, void *ctx) {
  if (!s) return;
  s->cb = cb;
  s->cb_ctx = ctx;
}

/* ---- reading records ---- */

static char *copy_str(const char *p, uint32_t n) {
  char *d = malloc((size_t)n + 1);
  if (d) {
    memcpy(d, p, n);
    d[n] = 0;
  }
  return d;
}

/* Turn the i-th stored field into a stek_value; mem[i] keeps its storage:
 * one block with the pointer array (lists) followed by the strings. */
static int decode_field(stek_record *rec, size_t i) {
  store_field *f = &rec->r.fields[i];
  stek_value *v = &rec->vals[i];
  memset(v, 0, sizeof *v);
  if (f->is_set) {
    v->kind = STEK_VALUE_LIST;
    v->list = (const char *const *)f->elems;
    v->list_len = f->n_elems;
    return 0;
  }
  mp_reader r;
  const char *p;
  uint32_t n, len;
  mp_reader_init(&r, f->value, f->value_len);
  switch (mp_peek(&r)) {
    case 'i':
      v->kind = STEK_VALUE_INT;
      if (mp_read_int(&r, &v->i)) return STEK_ECORRUPT;
      break;
    case 's':
      v->kind = STEK_VALUE_STR;
      if (mp_read_str(&r, &p, &len, STEK_MAX_STRING_BYTES)) return STEK_ECORRUPT;
      if (!(rec->mem[i] = copy_str(p, len))) return STEK_ENOMEM;
      v->str = rec->mem[i];
      break;
    case 'a': {
      v->kind = STEK_VALUE_LIST;
      if (mp_read_array(&r, &n, STEK_MAX_LIST_ITEMS)) return STEK_ECORRUPT;
      /* One block: n pointers, then the strings with their NULs; the
       * encoded size bounds the strings' total. */
      size_t size = n * sizeof(char *) + f->value_len + n;
      char **items = malloc(size ? size : 1);
      if (!items) return STEK_ENOMEM;
      rec->mem[i] = (char *)items;
      char *text = (char *)(items + n);
      for (uint32_t k = 0; k < n; k++) {
        if (mp_read_str(&r, &p, &len, STEK_MAX_STRING_BYTES)) return STEK_ECORRUPT;
        memcpy(text, p, len);
        text[len] = 0;
        items[k] = text;
        text += len + 1;
      }
      v->list = (const char *const *)items;
      v->list_len = n;
      break;
    }
    default:
      return STEK_ECORRUPT;
  }
  return mp_read_end(&r) ? STEK_ECORRUPT : 0;
}

void stek_record_free(stek_record *rec) {
  if (!rec) return;
  for (size_t i = 0; rec->mem && i < rec->r.n_fields; i++) free(rec->mem[i]);
  free(rec->mem);
  free(rec->vals);
  store_record_clear(&rec->r);
  free(rec);
}

int stek__record_load(stek *s, const char *type, const uint8_t *id,
                       stek_record **out) {
  stek_record *rec = calloc(1, sizeof *rec);
  if (!rec) return STEK_ENOMEM;
  int rc = store_record_load(s->st, s->sp, type, id, &rec->r);
  size_t n = rec->r.n_fields;
  if (!rc && (!(rec->vals = calloc(n ? n : 1, sizeof *rec->vals)) ||
              !(rec->mem = calloc(n ? n : 1, sizeof *rec->mem))))
    rc = STEK_ENOMEM;
  for (size_t i = 0; !rc && i < n; i++) rc = decode_field(rec, i);
  if (rc) {
    stek_record_free(rec);
    return rc;
  }
  *out = rec;
  return 0;
}

int stek_get(stek *s, const char *type, const uint8_t id[STEK_ID_BYTES],
             stek_record **out) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!out) return STEK_EINVAL;
  *out = NULL;
  if ((rc = check_args(s, type, id, NULL))) return rc;
  if (!name_type_valid(type, strlen(type)))
    return stek__fail(s, STEK_EINVAL, "invalid record type");
  rc = stek__record_load(s, type, id, out);
  if (rc == STEK_ENOTFOUND) return stek__fail(s, rc, "no such record");
  if (rc == STEK_ECORRUPT) return stek__fail(s, rc, "a stored field is damaged");
  return rc ? stek__store_fail(s, rc) : stek__ok(s, 0);
}

const char *stek_record_type(const stek_record *r) { return r->r.type; }
const uint8_t *stek_record_id(const stek_record *r) { return r->r.rid; }
size_t stek_record_field_count(const stek_record *r) { return r->r.n_fields; }

int stek_record_field(const stek_record *r, size_t i, const char **name,
                      stek_value *value) {
  if (!r || i >= r->r.n_fields) return STEK_EINVAL;
  if (name) *name = r->r.fields[i].name;
  if (value) *value = r->vals[i];
  return STEK_OK;
}

int stek_record_find(const stek_record *r, const char *name, stek_value *value) {
  if (!r || !name) return STEK_EINVAL;
  for (size_t i = 0; i < r->r.n_fields; i++)
    if (strcmp(r->r.fields[i].name, name) == 0)
      return stek_record_field(r, i, NULL, value);
  return STEK_ENOTFOUND;
}

struct list_ctx {
  stek *s;
  stek_record_cb cb;
  void *ctx;
  int err;
  const char *type; /* NULL: all types */
};

static int list_one(void *p, const char *type, const uint8_t *rid) {
  struct list_ctx *l = p;
  stek_record *rec;
  if (!l->type && stek__reserved_type(type)) return 0; /* "all": the app's own */
  int rc = stek__record_load(l->s, type, rid, &rec);
  if (rc == STEK_ENOTFOUND) return 0;
  if (rc) {
    l->err = rc;
    return rc;
  }
  rc = l->cb(l->ctx, rec);
  stek_record_free(rec);
  return rc;
}

int stek_list(stek *s, const char *type, stek_record_cb cb, void *ctx) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!cb) return STEK_EINVAL;
  if (type && !name_type_valid(type, strlen(type)))
    return stek__fail(s, STEK_EINVAL, "invalid record type");
  struct list_ctx l = {s, cb, ctx, 0, type};
  rc = store_record_each(s->st, s->sp, type, list_one, &l);
  if (l.err) return l.err == STEK_ECORRUPT ? stek__fail(s, l.err, "a stored field is damaged")
                                           : stek__store_fail(s, l.err);
  return rc < 0 ? stek__store_fail(s, rc) : stek__ok(s, rc);
}

/* ---- JSON form of a record ---- */

typedef struct jbuf {
  char *p;
  size_t len, cap;
  int err;
} jbuf;

static void jput(jbuf *b, const char *s, size_t n) {
  if (b->err) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->err = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void jstr(jbuf *b, const char *s) {
  jput(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      jput(b, esc, 2);
    } else if (*c < 0x20 || *c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      jput(b, esc, 6);
    } else {
      jput(b, (const char *)c, 1);
    }
  }
  jput(b, "\"", 1);
}

char *stek_record_json(const stek_record *r) {
  jbuf b = {0};
  char hex[33], num[32];
  stek_id_to_hex(r->r.rid, hex);
  jput(&b, "{\"id\":", 6);
  jstr(&b, hex);
  jput(&b, ",\"type\":", 8);
  jstr(&b, r->r.type);
  for (size_t i = 0; i < r->r.n_fields; i++) {
    const stek_value *v = &r->vals[i];
    jput(&b, ",", 1);
    jstr(&b, r->r.fields[i].name);
    jput(&b, ":", 1);
    if (v->kind == STEK_VALUE_INT) {
      snprintf(num, sizeof num, "%lld", (long long)v->i);
      jput(&b, num, strlen(num));
    } else if (v->kind == STEK_VALUE_STR) {
      jstr(&b, v->str);
    } else {
      jput(&b, "[", 1);
      for (size_t k = 0; k < v->list_len; k++) {
        if (k) jput(&b, ",", 1);
        jstr(&b, v->list[k]);
      }
      jput(&b, "]", 1);
    }
  }
  jput(&b, "}", 1);
  if (b.err) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

/* ---- anonymous signals ---- */

/* Receipt codes: 12 Crockford base32 digits (60 bits), shown in groups of
 * four (crdt/signal.h).  Neither stored nor sent: a withdrawal carries t,
 * a hash of the code, and a signal the receipt hash, t keyed with a key
 * derived from the space secret (so an outsider cannot test guesses). */
static const char receipt_digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The receipt hash of a typed code; the code and t are wiped. */
static void receipt_hash_of(uint8_t rh[32], uint8_t t[SIGNAL_TOKEN_BYTES], char code[13],
                            const uint8_t space_key[32]) {
  signal_receipt_token(t, code);
  cr_wipe(code, 13);
  signal_receipt_hash(rh, t, space_key);
}

struct withdrawn_ctx {
  const uint8_t *receipt_hash;
  int match;
};

/* Every withdrawal is compared (no early exit), in constant time. */
static int withdrawal_matches(void *p, const uint8_t receipt_hash[32]) {
  struct withdrawn_ctx *c = p;
  c->match |= signal_receipt_equal(c->receipt_hash, receipt_hash);
  return 0;
}

/* The ISO week of today's date in the device's zone (stek_config.local_tz,
 * default Europe/Brussels), read from its TZif file as schedules are: the
 * issue asks for the local date, and in UTC the first hour or two of a
 * Belgian Monday would still count as the week before. */
static int this_week(stek *s, char week[9]) {
  char err[160] = "";
  tz *z;
  const char *name = s->cfg.local_tz ? s->cfg.local_tz : STEK_DEFAULT_TZ;
  int rc = tz_load(schedule_zoneinfo(s), name, &z, err, sizeof err);
  if (rc) return stek__fail(s, rc, "the device's time zone: %s", err);
  int64_t now_s = stek__now_ms(s) / 1000;
  int64_t local_s = now_s + tz_offset_at(z, now_s);
  tz_free(z);
  tz_local t;
  tz_local_from_seconds(local_s, &t);
  iso_week_of(t.year, t.month, t.day, week);
  return 0;
}

static int ingest_signal(stek *s, int64_t want_sp, const uint8_t *buf, size_t len) {
  signal_msg m;
  change c;
  int64_t sp, week_ms;
  uint8_t key[CR_SPACE_KEY], rh[32];
  int rc = signal_decode(buf, len, &m);
  if (!rc) rc = store_space_find(s->st, m.space, &sp);
  if (!rc && want_sp >= 0 && sp != want_sp) return other_space(s);
  if (!rc) rc = store_change_has(s->st, sp, m.id);
  if (rc == STEK_DUPLICATE) return stek__ok(s, rc);
  if (!rc && iso_week_start_ms(m.week, &week_ms)) rc = STEK_EMALFORMED;
  /* Too far ahead if its week starts after now + the allowed skew: against
   * the start of this week instead, a sender a few minutes ahead across
   * Monday 00:00 UTC would be refused (stek-sim seed 634).  The week is
   * the sender's local one, whose Monday begins up to 14 hours (UTC+14,
   * the largest offset in use) before Monday 00:00 UTC. */
  if (!rc && week_ms - MAX_UTC_OFFSET_MS > stek__now_ms(s) + s->cfg.max_clock_skew_ms)
    rc = STEK_EFUTURE;
  if (!rc) rc = store_space_key(s->st, sp, key);
  if (!rc) rc = signal_verify(&m, key);
  if (!rc && m.kind == SIGNAL_WITHDRAW) signal_receipt_hash(rh, m.token, key);
  cr_wipe(key, sizeof key);
  if (rc) return ingest_fail(s, rc, m.why);

  int own = !s->batch;
  if (own && (rc = store_tx_begin(s->st))) return stek__store_fail(s, rc);
  memcpy(c.id, m.id, sizeof c.id);
  c.hlc = hlc_make((uint64_t)week_ms, 0);
  rc = store_change_has(s->st, sp, m.id);
  if (rc == STEK_DUPLICATE) {
    if (own) store_tx_rollback(s->st);
    return stek__ok(s, rc);
  }
  if (!rc) rc = store_change_add(s->st, sp, &c, buf, len);
  /* A withdrawal takes effect iff the receipt hash of its t is the
   * signal's, whichever of the two arrives first. */
  if (!rc && m.kind == SIGNAL_RECORD) {
    struct withdrawn_ctx w = {m.receipt_hash, 0};
    rc = store_signal_withdrawals(s->st, sp, m.sid, withdrawal_matches, &w);
    if (!rc) rc = store_signal_add(s->st, sp, &m, w.match);
  } else if (!rc) {
    uint8_t target_rh[32];
    int match = 0;
    rc = store_signal_receipt(s->st, sp, m.target, target_rh);
    if (!rc) match = signal_receipt_equal(target_rh, rh);
    if (rc == STEK_ENOTFOUND) rc = 0; /* the signal may come later */
    if (!rc) rc = store_signal_withdraw(s->st, sp, m.target, rh, match);
  }
  if (!own) return rc ? stek__store_fail(s, rc) : stek__ok(s, STEK_OK);
  if (!rc) rc = store_tx_commit(s->st);
  if (rc) {
    stek__store_fail(s, rc);
    store_tx_rollback(s->st);
    return rc;
  }
  return stek__ok(s, STEK_OK);
}

/* Encode a signal message of this space and ingest it like a peer's. */
static int signal_write(stek *s, int kind, const void *a, const char *b,
                        const char *c, const uint8_t *d, const uint8_t *key) {
  mp_writer w;
  uint8_t id[32];
  char week[9];
  int rc = this_week(s, week);
  if (rc) return rc;
  rc = signal_encode(&w, s->space_id, key, week, kind, a, b, c, d, id);
  if (rc) return stek__fail(s, rc, "out of memory");
  rc = ingest_signal(s, -1, (const uint8_t *)w.buf.data, w.buf.size);
  mp_writer_free(&w);
  return rc;
}

int stek_signal_record(stek *s, const char *theme, const char *site,
                       const char *text, char receipt[STEK_RECEIPT_BYTES]) {
  uint8_t key[CR_SPACE_KEY], rh[32], t[SIGNAL_TOKEN_BYTES];
  char code[13];
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!theme || !site || !text || !receipt) return STEK_EINVAL;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  if (!signal_theme_valid(theme, strlen(theme)))
    return stek__fail(s, STEK_EINVAL, "unknown theme (see stek.h for the vocabulary)");
  size_t sl = strnlen(site, SIGNAL_MAX_SITE + 1), tl = strnlen(text, SIGNAL_MAX_TEXT + 1);
  if (sl == 0) return stek__fail(s, STEK_EINVAL, "a signal needs a site");
  if (sl > SIGNAL_MAX_SITE || tl > SIGNAL_MAX_TEXT)
    return stek__fail(s, STEK_ETOOBIG, "site must be 1..%d bytes, text at most %d",
                      SIGNAL_MAX_SITE, SIGNAL_MAX_TEXT);
  if (!mp_utf8_valid(site, sl) || !mp_utf8_valid(text, tl))
    return stek__fail(s, STEK_EINVAL, "site and text must be UTF-8");
  if ((rc = store_space_key(s->st, s->sp, key))) return stek__store_fail(s, rc);
  for (int i = 0; i < 12; i++) code[i] = receipt_digits[cr_uniform(32)];
  code[12] = 0;
  snprintf(receipt, STEK_RECEIPT_BYTES, "%.4s-%.4s-%.4s", code, code + 4, code + 8);
  receipt_hash_of(rh, t, code, key);
  cr_wipe(t, sizeof t);
  rc = signal_write(s, SIGNAL_RECORD, theme, site, text, rh, key);
  cr_wipe(key, sizeof key);
  if (rc) {
    cr_wipe(receipt, STEK_RECEIPT_BYTES);
    return rc;
  }
  return stek__ok(s, 0);
}

int stek_signal_withdraw(stek *s, const char *receipt) {
  uint8_t key[CR_SPACE_KEY], rh[32], sid[16], t[SIGNAL_TOKEN_BYTES];
  char code[13];
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!receipt) return STEK_EINVAL;
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "a transaction is open");
  if (strnlen(receipt, 64) >= 64 || signal_receipt_normalise(receipt, code))
    return stek__fail(s, STEK_EINVAL, "a receipt code is 12 letters and digits");
  if ((rc = store_space_key(s->st, s->sp, key))) return stek__store_fail(s, rc);
  receipt_hash_of(rh, t, code, key);
  rc = store_signal_by_receipt(s->st, s->sp, rh, sid);
  if (rc == STEK_ENOTFOUND) stek__fail(s, rc, "no signal with that receipt code");
  else if (!rc) rc = signal_write(s, SIGNAL_WITHDRAW, sid, NULL, NULL, t, key);
  else stek__store_fail(s, rc);
  cr_wipe(t, sizeof t);
  cr_wipe(key, sizeof key);
  return rc ? rc : stek__ok(s, 0);
}

struct signal_ctx {
  stek_signal_cb cb;
  void *ctx;
};

static int signal_one(void *p, const uint8_t *sid, const char *week,
                      const char *theme, const char *site, const char *text) {
  struct signal_ctx *c = p;
  stek_signal sig;
  memcpy(sig.id, sid, sizeof sig.id);
  sig.week = week;
  sig.theme = theme ? theme : "";
  sig.site = site ? site : "";
  sig.text = text ? text : "";
  return c->cb(c->ctx, &sig);
}

int stek_signal_list(stek *s, stek_signal_cb cb, void *ctx) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!cb) return STEK_EINVAL;
  struct signal_ctx c = {cb, ctx};
  rc = store_signal_each(s->st, s->sp, signal_one, &c);
  return rc < 0 ? stek__store_fail(s, rc) : stek__ok(s, rc);
}

static int report_one(void *p, const uint8_t *sid, const char *week,
                      const char *theme, const char *site, const char *text) {
  (void)sid;
  (void)text;
  return report_add(p, week, theme ? theme : "", site ? site : "");
}

int stek_signal_report(stek *s, int k, int format, char **out) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!out) return STEK_EINVAL;
  *out = NULL;
  if (k < 1) return stek__fail(s, STEK_EINVAL, "k must be at least 1");
  report *r = report_new();
  if (!r) return STEK_ENOMEM;
  rc = store_signal_each(s->st, s->sp, report_one, r);
  if (rc > 0) rc = stek__fail(s, STEK_ECORRUPT, "a stored signal is damaged");
  else if (rc < 0) stek__store_fail(s, rc);
  if (!rc) rc = report_render(r, k, format, out);
  report_free(r);
  if (rc == STEK_EINVAL) return stek__fail(s, rc, "unknown report format");
  return rc ? rc : stek__ok(s, 0);
}
