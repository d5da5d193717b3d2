/* sync/bundle -- see bundle.h. */
#define _POSIX_C_SOURCE 200809L /* fsync, fileno */
#include "sync/bundle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "crdt/hlc.h"
#include "crypto/crypto.h"
#include "crypto/stream.h"

_Static_assert(BUNDLE_SS_HEADER == STREAM_HEADER, "secretstream header size");
_Static_assert(BUNDLE_KEY == STREAM_KEY, "secretstream key size");

/* fixarray of 5, then fixstr of 11: "stek-bundle". */
static const uint8_t magic[13] = {0x95, 0xab, 's', 't', 'e', 'k', '-',
                                  'b',  'u',  'n', 'd', 'l', 'e'};

/* ---- keys and header ---- */

void bundle_key(uint8_t kb[BUNDLE_KEY], const uint8_t space_key[BUNDLE_KEY]) {
  cr_kdf(kb, 3, "stek-bnd", space_key);
}

/* label || salt, the input of both the tag and the stream key. */
static void labelled(uint8_t m[3 + BUNDLE_SALT], const char label[3],
                     const uint8_t salt[BUNDLE_SALT]) {
  memcpy(m, label, 3);
  memcpy(m + 3, salt, BUNDLE_SALT);
}

void bundle_tag(uint8_t tag[BUNDLE_TAG], const uint8_t kb[BUNDLE_KEY],
                const uint8_t salt[BUNDLE_SALT]) {
  uint8_t m[3 + BUNDLE_SALT];
  labelled(m, "tag", salt);
  cr_keyed_hash128(tag, m, sizeof m, kb);
}

void bundle_stream_key(uint8_t key[BUNDLE_KEY], const uint8_t kb[BUNDLE_KEY],
                       const uint8_t salt[BUNDLE_SALT]) {
  uint8_t m[3 + BUNDLE_SALT];
  labelled(m, "key", salt);
  cr_keyed_hash(key, m, sizeof m, kb);
}

/* Every field has a fixed size, so the header is written by hand: exactly
 * the canonical bytes mp_writer would give. */
void bundle_header_encode(uint8_t out[BUNDLE_HEADER_BYTES],
                          const uint8_t salt[BUNDLE_SALT],
                          const uint8_t tag[BUNDLE_TAG],
                          const uint8_t ss_header[BUNDLE_SS_HEADER]) {
  uint8_t *p = out;
  memcpy(p, magic, sizeof magic);
  p += sizeof magic;
  *p++ = BUNDLE_FORMAT;
  *p++ = 0xc4, *p++ = BUNDLE_SALT;
  memcpy(p, salt, BUNDLE_SALT);
  p += BUNDLE_SALT;
  *p++ = 0xc4, *p++ = BUNDLE_TAG;
  memcpy(p, tag, BUNDLE_TAG);
  p += BUNDLE_TAG;
  *p++ = 0xc4, *p++ = BUNDLE_SS_HEADER;
  memcpy(p, ss_header, BUNDLE_SS_HEADER);
}

/* A reader error inside the header: the file ending early stays
 * STEK_ETRUNCATED, anything else is not a bundle header. */
static int header_err(int rc) { return rc == STEK_ETRUNCATED ? rc : STEK_EMALFORMED; }

int bundle_header_decode(const uint8_t *b, size_t len, uint8_t salt[BUNDLE_SALT],
                         uint8_t tag[BUNDLE_TAG], uint8_t ss_header[BUNDLE_SS_HEADER]) {
  /* The magic first, so any file that is not a bundle says so, and the
   * version before the field count, so a later format (which may have more
   * fields) is told apart from a damaged one. */
  size_t n = len < sizeof magic ? len : sizeof magic;
  if (n >= 1 && (b[0] & 0xf0) != 0x90) return STEK_EMALFORMED;
  for (size_t i = 1; i < n; i++)
    if (b[i] != magic[i]) return STEK_EMALFORMED;
  if (len <= sizeof magic) return STEK_ETRUNCATED;
  mp_reader r;
  uint64_t format;
  const uint8_t *p[3];
  uint32_t got;
  static const uint32_t want[3] = {BUNDLE_SALT, BUNDLE_TAG, BUNDLE_SS_HEADER};
  mp_reader_init(&r, b + sizeof magic,
                 (len < BUNDLE_HEADER_BYTES ? len : BUNDLE_HEADER_BYTES) - sizeof magic);
  if (mp_read_uint(&r, &format)) return header_err(r.err);
  if (format != BUNDLE_FORMAT) return STEK_EVERSION;
  if (b[0] != magic[0]) return STEK_EMALFORMED;
  for (int i = 0; i < 3; i++)
    if (mp_read_bin(&r, &p[i], &got, want[i], 0)) return header_err(r.err);
  memcpy(salt, p[0], BUNDLE_SALT);
  memcpy(tag, p[1], BUNDLE_TAG);
  memcpy(ss_header, p[2], BUNDLE_SS_HEADER);
  return 0;
}

/* ---- export ---- */

/* The shortest msgpack bin header for len. */
static size_t bin_header(uint8_t h[5], size_t len) {
  if (len <= 0xff) {
    h[0] = 0xc4, h[1] = (uint8_t)len;
    return 2;
  }
  if (len <= 0xffff) {
    h[0] = 0xc5, h[1] = (uint8_t)(len >> 8), h[2] = (uint8_t)len;
    return 3;
  }
  h[0] = 0xc6;
  for (int i = 0; i < 4; i++) h[1 + i] = (uint8_t)(len >> (24 - 8 * i));
  return 5;
}

typedef struct writer {
  FILE *f;
  stream st;
  mp_writer body; /* the wires of the frame being filled, each a bin */
  uint32_t n;     /* wires in body */
  uint64_t count; /* wires written in all */
  int err;
} writer;

/* Seal the wires gathered so far as the next frame and write it. */
static int flush_frame(writer *w, int final) {
  mp_writer pt;
  uint8_t h[5];
  size_t clen = 0;
  mp_writer_init(&pt);
  mp_write_array(&pt, w->n);
  if (w->body.buf.size) mp_write_raw(&pt, w->body.buf.data, w->body.buf.size);
  int rc = pt.err;
  size_t cap = pt.buf.size + STREAM_OVERHEAD;
  uint8_t *ct = rc ? NULL : malloc(cap);
  if (!rc && !ct) rc = STEK_ENOMEM;
  if (!rc) rc = stream_seal(&w->st, (const uint8_t *)pt.buf.data, pt.buf.size, ct, cap,
                            &clen, final);
  if (!rc) {
    size_t hl = bin_header(h, clen);
    if (fwrite(h, 1, hl, w->f) != hl || fwrite(ct, 1, clen, w->f) != clen) rc = STEK_EIO;
  }
  free(ct);
  mp_writer_free(&pt);
  msgpack_sbuffer_clear(&w->body.buf);
  w->n = 0;
  return rc;
}

static int add_wire(void *ctx, const uint8_t *wire, size_t len) {
  writer *w = ctx;
  if (!wire || len == 0 || len > STEK_MAX_CHANGE_BYTES) {
    w->err = STEK_ECORRUPT;
    return 1;
  }
  /* 5: the widest bin header; 3: the widest array header (<= 256). */
  if (w->n == BUNDLE_MAX_WIRES || w->body.buf.size + len + 5 + 3 > BUNDLE_MAX_PLAIN) {
    if ((w->err = flush_frame(w, 0))) return 1;
  }
  mp_write_bin(&w->body, wire, len);
  if ((w->err = w->body.err)) return 1;
  w->n++;
  w->count++;
  return 0;
}

static int export_fail(stek *s, int rc, const char *path, int sys_err) {
  switch (rc) {
    case STEK_EIO:
      return stek__fail(s, rc, "cannot write %s%s%s", path, sys_err ? ": " : "",
                        sys_err ? strerror(sys_err) : "");
    case STEK_ENOMEM: return stek__fail(s, rc, "out of memory");
    case STEK_ECORRUPT: return stek__fail(s, rc, "a stored change is damaged");
    default: return stek__store_fail(s, rc);
  }
}

/* One part: header, then the wires each() gives add_wire, in frames, the
 * last one final; under the bundle key of space_key. */
static int write_part(writer *w, const uint8_t space_key[CR_SPACE_KEY],
                      int (*each)(void *ctx, store_bytes_cb cb, void *cb_ctx), void *ctx) {
  uint8_t kb[BUNDLE_KEY], key[BUNDLE_KEY], salt[BUNDLE_SALT], tag[BUNDLE_TAG];
  uint8_t ssh[BUNDLE_SS_HEADER], header[BUNDLE_HEADER_BYTES];
  bundle_key(kb, space_key);
  cr_random(salt, sizeof salt);
  bundle_tag(tag, kb, salt);
  bundle_stream_key(key, kb, salt);
  cr_wipe(kb, sizeof kb);
  int rc = stream_init(&w->st, key, key, ssh);
  cr_wipe(key, sizeof key);
  if (rc) return rc;
  bundle_header_encode(header, salt, tag, ssh);
  if (fwrite(header, 1, sizeof header, w->f) != sizeof header) rc = STEK_EIO;
  if (!rc) {
    rc = each(ctx, add_wire, w);
    if (rc > 0) rc = w->err;
  }
  if (!rc) rc = flush_frame(w, 1);
  stream_wipe(&w->st);
  return rc;
}

typedef struct source {
  stek *s;
  uint64_t since;
  store_bytes_cb cb;
  void *cb_ctx;
} source;

static int all_since(void *ctx, store_bytes_cb cb, void *cb_ctx) {
  source *src = ctx;
  return store_change_each_since(src->s->st, src->s->sp, src->since, cb, cb_ctx);
}

/* Only the changes that revoke a device (the prelude). */
static int revocation_only(void *ctx, const uint8_t *wire, size_t len) {
  source *src = ctx;
  change c;
  mp_reader r;
  if (change_decode(wire, len, &c)) return 0;
  mp_reader_init(&r, c.ops, c.ops_len);
  for (uint32_t k = 0; k < c.n_ops; k++) {
    op o;
    if (op_next(&r, &o)) return 0;
    if (o.type_len == 15 && !memcmp(o.type, "stek.revocation", 15))
      return src->cb(src->cb_ctx, wire, len);
  }
  return 0;
}

static int revocations(void *ctx, store_bytes_cb cb, void *cb_ctx) {
  source *src = ctx;
  src->cb = cb;
  src->cb_ctx = cb_ctx;
  return store_change_each(src->s->st, src->s->sp, revocation_only, src);
}

int stek_bundle_export(stek *s, const char *path, int64_t since_ms, uint64_t *count) {
  uint8_t *keys = NULL;
  size_t n_keys = 0;
  writer w;
  if (count) *count = 0;
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!path || !*path) return stek__fail(s, STEK_EINVAL, "a bundle needs a path");
  if (since_ms < 0 || since_ms > (int64_t)(INT64_MAX >> 16))
    return stek__fail(s, STEK_EINVAL, "since must be 0 or a time after 1970");
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 5);
  if (!tmp) return stek__fail(s, STEK_ENOMEM, "out of memory");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp", 5);
  if ((rc = stek__epoch_keys(s, s->sp, &keys, &n_keys))) {
    free(tmp);
    return stek__store_fail(s, rc);
  }
  memset(&w, 0, sizeof w);
  mp_writer_init(&w.body);
  source src = {s, (uint64_t)since_ms << 16, NULL, NULL};

  /* Written under path.tmp, flushed to disk, then renamed: a crash leaves
   * either no file or a whole one under the name.  After a revocation, a
   * prelude under the space secret carries the revocations, so that an
   * importer that has not heard of them can compute the newest epoch, whose
   * key the rest is under. */
  int sys_err = 0;
  w.f = fopen(tmp, "wb");
  if (!w.f) rc = STEK_EIO, sys_err = errno;
  if (!rc && n_keys > 1) rc = write_part(&w, keys, revocations, &src);
  uint64_t prelude = w.count;
  if (!rc) rc = write_part(&w, keys + 32 * (n_keys - 1), all_since, &src);
  cr_secret_free(keys);
  if (!rc && (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)) rc = STEK_EIO;
  if (w.f && fclose(w.f) != 0 && !rc) rc = STEK_EIO;
  if (!rc && rename(tmp, path) != 0) rc = STEK_EIO, sys_err = errno;
  if (rc) remove(tmp);
  mp_writer_free(&w.body);
  free(tmp);
  if (rc) return export_fail(s, rc, path, sys_err);
  if (count) *count = w.count - prelude;
  return stek__ok(s, 0);
}

/* ---- import ---- */

typedef struct reader {
  stek *s;
  FILE *f;
  const char *path;
  int ingest; /* 0: the checking pass, 1: the ingesting pass */
  int64_t sp;
  uint8_t space[STEK_ID_BYTES];
  uint8_t space_key[CR_SPACE_KEY];
  uint64_t frame, wire; /* 1-based numbers of the current ones, for messages */
  uint64_t ingested, duplicates;
  int wire_refused; /* the failure is the current wire's, not the file's */
  long start, next; /* offsets of this part's header, and of what follows it */
} reader;

/* Which held space the bundle is for: every space's tag is computed and
 * compared in constant time, whichever matches.  The space's key goes to
 * rd->space_key, K_bundle to kb. */
static int find_space(reader *rd, const uint8_t salt[BUNDLE_SALT],
                      const uint8_t tag[BUNDLE_TAG], uint8_t kb[BUNDLE_KEY]) {
  size_t n;
  int found = 0;
  int rc = store_space_count(rd->s->st, &n);
  for (size_t i = 0; !rc && i < n; i++) {
    uint8_t id[STEK_ID_BYTES], k[BUNDLE_KEY], t[BUNDLE_TAG], *keys;
    int64_t sp;
    size_t n_keys;
    rc = store_space_at(rd->s->st, i, id, NULL, 0);
    if (!rc) rc = store_space_find(rd->s->st, id, &sp);
    if (!rc) rc = stek__epoch_keys(rd->s, sp, &keys, &n_keys);
    if (rc) break;
    for (size_t e = 0; e < n_keys; e++) { /* made under any epoch we can compute */
      bundle_key(k, keys + 32 * e);
      bundle_tag(t, k, salt);
      if (cr_equal(t, tag, BUNDLE_TAG) && !found) {
        found = 1;
        rd->sp = sp;
        memcpy(rd->space, id, sizeof id);
        memcpy(rd->space_key, keys, CR_SPACE_KEY); /* signals: the space secret */
        memcpy(kb, k, BUNDLE_KEY);
      }
    }
    cr_secret_free(keys);
    cr_wipe(k, sizeof k);
  }
  if (rc) return rc;
  return found ? 0 : STEK_ENOSPACE;
}

/* The next frame's bin header: its payload length, checked against the
 * limit before anyone allocates by it. */
static int read_frame_header(FILE *f, size_t *len) {
  uint8_t h[4];
  int c = fgetc(f);
  if (c == EOF) return ferror(f) ? STEK_EIO : STEK_ETRUNCATED; /* no final frame */
  size_t n = c == 0xc4 ? 1 : c == 0xc5 ? 2 : c == 0xc6 ? 4 : 0;
  if (n == 0) return STEK_EMALFORMED;
  if (fread(h, 1, n, f) != n) return ferror(f) ? STEK_EIO : STEK_ETRUNCATED;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v << 8 | h[i];
  if ((n == 2 && v <= 0xff) || (n == 4 && v <= 0xffff)) return STEK_EMALFORMED;
  if (v > (uint64_t)BUNDLE_MAX_PLAIN + STREAM_OVERHEAD) return STEK_ETOOBIG;
  if (v < STREAM_OVERHEAD) return STEK_EMALFORMED;
  *len = (size_t)v;
  return 0;
}

/* Check one wire without storing it: its form, that it belongs to the
 * bundle's space, a change's clock and signature, a signal's MAC.  That
 * leaves the ingesting pass little to refuse (a signal's week and a
 * withdrawal's receipt are checked only there, by stek_ingest()); if it
 * does refuse one, the import stops there, as a sync would.  A wire
 * already held was checked when it was stored. */
static int check_wire(reader *rd, const uint8_t *w, size_t len) {
  stek *s = rd->s;
  int rc;
  if (wire_format(w, len) == SIGNAL_FORMAT) {
    signal_msg m;
    rc = signal_decode(w, len, &m);
    if (!rc && memcmp(m.space, rd->space, STEK_ID_BYTES) != 0) rc = STEK_EMALFORMED;
    if (!rc && (rc = store_change_has(s->st, rd->sp, m.id)) == STEK_DUPLICATE) return 0;
    if (!rc) rc = signal_verify(&m, rd->space_key);
  } else {
    change c;
    rc = change_decode(w, len, &c);
    if (!rc && memcmp(c.space, rd->space, STEK_ID_BYTES) != 0) rc = STEK_EMALFORMED;
    if (!rc && (rc = store_change_has(s->st, rd->sp, c.id)) == STEK_DUPLICATE) return 0;
    if (!rc) rc = hlc_check(c.hlc, stek__now_ms(s), s->cfg.max_clock_skew_ms);
    if (!rc) rc = change_verify(&c);
  }
  if (rc < 0 && rc != STEK_EIO) rd->wire_refused = 1;
  /* Inside an authenticated frame, a wire that ends early is malformed:
   * STEK_ETRUNCATED is kept for a file that ends early. */
  return rc == STEK_ETRUNCATED ? STEK_EMALFORMED : rc;
}

static int ingest_wire(reader *rd, const uint8_t *w, size_t len) {
  int rc = stek_ingest(rd->s, w, len);
  if (rc == STEK_OK) rd->ingested++;
  else if (rc == STEK_DUPLICATE) rd->duplicates++;
  if (rc < 0) rd->wire_refused = 1;
  return rc < 0 ? rc : 0;
}

/* The wires of one frame's plaintext. */
static int each_wire(reader *rd, const uint8_t *pt, size_t len) {
  mp_reader r;
  uint32_t n, wl;
  const uint8_t *w;
  mp_reader_init(&r, pt, len);
  int rc = mp_read_array(&r, &n, BUNDLE_MAX_WIRES);
  for (uint32_t i = 0; !rc && i < n; i++) {
    rd->wire++;
    rc = mp_read_bin(&r, &w, &wl, 0, STEK_MAX_CHANGE_BYTES);
    if (!rc) rc = rd->ingest ? ingest_wire(rd, w, wl) : check_wire(rd, w, wl);
  }
  if (!rc) rc = mp_read_end(&r);
  return rc == STEK_ETRUNCATED ? STEK_EMALFORMED : rc;
}

/* One pass over the frames, from just after the header to the end of the
 * file, which must come right after the FINAL frame. */
static int walk(reader *rd, const uint8_t key[BUNDLE_KEY],
                const uint8_t ss_header[BUNDLE_SS_HEADER]) {
  stream st;
  uint8_t unused[STREAM_HEADER];
  uint8_t *ct = NULL, *pt = NULL;
  size_t cap = 0, len = 0, plen = 0;
  int final = 0;
  rd->frame = rd->wire = 0;
  if (fseek(rd->f, rd->start + BUNDLE_HEADER_BYTES, SEEK_SET) != 0) return STEK_EIO;
  /* Only the receiving half of the stream is used. */
  int rc = stream_init(&st, key, key, unused);
  if (!rc) rc = stream_accept_header(&st, ss_header);
  while (!rc && !final) {
    rd->frame++;
    rc = read_frame_header(rd->f, &len);
    if (!rc && len > cap) {
      uint8_t *c2 = realloc(ct, len), *p2 = c2 ? realloc(pt, len) : NULL;
      if (c2) ct = c2;
      if (p2) pt = p2;
      if (!c2 || !p2) rc = STEK_ENOMEM;
      else cap = len;
    }
    if (!rc && fread(ct, 1, len, rd->f) != len)
      rc = ferror(rd->f) ? STEK_EIO : STEK_ETRUNCATED;
    if (!rc) rc = stream_open(&st, ct, len, pt, cap, &plen, &final);
    if (!rc) rc = each_wire(rd, pt, plen);
  }
  if (!rc && (rd->next = ftell(rd->f)) < 0) rc = STEK_EIO;
  stream_wipe(&st);
  free(ct);
  free(pt);
  return rc;
}

static int import_fail(reader *rd, int rc) {
  stek *s = rd->s;
  const char *p = rd->path;
  unsigned long long fr = (unsigned long long)rd->frame, wi = (unsigned long long)rd->wire;
  if (rc == STEK_EIO) return stek__fail(s, rc, "cannot read %s", p);
  if (rc == STEK_ENOMEM) return stek__fail(s, rc, "out of memory");
  if (rd->ingest) /* verified once, then not again: the file changed meanwhile */
    return stek__fail(s, rc, "%s changed while it was imported (frame %llu): %s", p, fr,
                      stek_strerror(rc));
  if (rd->wire_refused && rc <= STEK_ETRUNCATED)
    return stek__fail(s, rc, "%s: wire %llu rejected (%s); nothing imported", p, wi,
                      rc == STEK_EMALFORMED ? "malformed, or of another space"
                                            : stek_strerror(rc));
  switch (rc) {
    case STEK_ENOSPACE:
      return stek__fail(s, rc, "%s is a bundle of no space this store holds", p);
    case STEK_EVERSION:
      return stek__fail(s, rc, "%s: bundle format version not supported", p);
    case STEK_ETRUNCATED:
      return stek__fail(s, rc, "%s: bundle truncated in frame %llu (it ends before its "
                        "final frame); nothing imported", p, fr);
    case STEK_ESIGNATURE:
      return stek__fail(s, rc, "%s: frame %llu does not authenticate: the bundle is "
                        "altered or damaged; nothing imported", p, fr);
    case STEK_ETOOBIG:
      return stek__fail(s, rc, "%s: frame %llu exceeds a size or count limit; nothing "
                        "imported", p, fr);
    case STEK_EMALFORMED:
      return stek__fail(s, rc, "%s: malformed bundle (frame %llu); nothing imported", p, fr);
    default:
      return stek__store_fail(s, rc);
  }
}

/* Read and check the header of the part at rd->start: its salt, tag and
 * stream header.  At the first part only, a file that is not a bundle. */
static int read_header(reader *rd, uint8_t salt[BUNDLE_SALT], uint8_t tag[BUNDLE_TAG],
                       uint8_t ssh[BUNDLE_SS_HEADER]) {
  uint8_t head[BUNDLE_HEADER_BYTES];
  if (fseek(rd->f, rd->start, SEEK_SET) != 0) return STEK_EIO;
  size_t n = fread(head, 1, sizeof head, rd->f);
  return ferror(rd->f) ? STEK_EIO : bundle_header_decode(head, n, salt, tag, ssh);
}

/* Whether another part follows the one just walked: 0 (none), 1, or an
 * error (bytes that are not a part header). */
static int next_part(reader *rd) {
  uint8_t salt[BUNDLE_SALT], tag[BUNDLE_TAG], ssh[BUNDLE_SS_HEADER];
  if (fseek(rd->f, rd->next, SEEK_SET) != 0) return STEK_EIO;
  int c = fgetc(rd->f);
  if (c == EOF) return ferror(rd->f) ? STEK_EIO : 0;
  long at = rd->start;
  rd->start = rd->next;
  int rc = read_header(rd, salt, tag, ssh);
  rd->start = at;
  return rc ? STEK_EMALFORMED : 1;
}

int stek_bundle_import(stek *s, const char *path, uint64_t *ingested,
                       uint64_t *duplicates) {
  uint8_t salt[BUNDLE_SALT], tag[BUNDLE_TAG];
  uint8_t ssh[BUNDLE_SS_HEADER], kb[BUNDLE_KEY], key[BUNDLE_KEY];
  reader rd;
  if (ingested) *ingested = 0;
  if (duplicates) *duplicates = 0;
  int rc = stek__need_store(s);
  if (rc) return rc;
  if (!path) return stek__fail(s, STEK_EINVAL, "a bundle needs a path");
  if (s->in_tx) return stek__fail(s, STEK_ESTATE, "cannot import inside a transaction");
  memset(&rd, 0, sizeof rd);
  rd.s = s;
  rd.path = path;
  rd.f = fopen(path, "rb");
  if (!rd.f) return stek__fail(s, STEK_EIO, "cannot open %s: %s", path, strerror(errno));
  rc = read_header(&rd, salt, tag, ssh);
  if (rc == STEK_EMALFORMED) {
    fclose(rd.f);
    return stek__fail(s, rc, "%s is not a stek bundle", path);
  }
  /* Part by part (two at most: a prelude of revocations, then the rest),
   * each checked whole before anything of it is stored; the next part's
   * key may come from the revocations of the one before. */
  for (int part = 0; !rc && part < 2; part++) {
    if (part && (rc = read_header(&rd, salt, tag, ssh))) break;
    rd.ingest = 0;
    if (!rc) rc = find_space(&rd, salt, tag, kb);
    if (rc) break;
    bundle_stream_key(key, kb, salt);
    cr_wipe(kb, sizeof kb);
    rc = walk(&rd, key, ssh);
    int more = rc ? 0 : next_part(&rd);
    if (more < 0 || (more && part == 1)) rc = more < 0 ? more : STEK_EMALFORMED;
    if (!rc) {
      rd.ingest = 1;
      rc = walk(&rd, key, ssh);
    }
    cr_wipe(key, sizeof key);
    if (rc || !more) break;
    rd.start = rd.next;
  }
  cr_wipe(rd.space_key, sizeof rd.space_key);
  fclose(rd.f);
  if (ingested) *ingested = rd.ingested;
  if (duplicates) *duplicates = rd.duplicates;
  if (rc && rd.ingest && rd.wire_refused) {
    /* Refused while ingesting (the file changed since it was checked, or
     * the store failed): what came before stays, as in a sync. */
    char why[sizeof s->err];
    memcpy(why, s->err, sizeof why);
    return stek__fail(s, rc, "%s: wire %llu refused: %s", path,
                      (unsigned long long)rd.wire, why);
  }
  if (rc) return import_fail(&rd, rc);
  return stek__ok(s, 0);
}
