/*
 * codec/mp -- see mp.h.  The reader checks canonical form at each header:
 * an integer or length encoded in more bytes than its value needs is
 * refused, so that one logical value has exactly one encoding and hashes
 * and signatures over bytes are well defined.
 */
#include "codec/mp.h"

#include <string.h>

#include "stek.h"

void mp_reader_init(mp_reader *r, const uint8_t *buf, size_t len) {
  r->p = buf;
  r->end = buf + len;
  r->err = 0;
  r->why = NULL;
}

int mp_why(mp_reader *r, int rc, int code, const char *why) {
  if (rc == code && !r->why) r->why = why;
  return rc;
}

static int fail(mp_reader *r, int code) {
  if (r->err == 0) r->err = code;
  return r->err;
}

static size_t left(const mp_reader *r) { return (size_t)(r->end - r->p); }

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* Read an n-byte big-endian number following the type byte. */
static int take(mp_reader *r, int n, uint64_t *v) {
  if (left(r) < (size_t)n) return fail(r, STEK_ETRUNCATED);
  *v = be(r->p, n);
  r->p += n;
  return 0;
}

int mp_peek(const mp_reader *r) {
  if (r->err || r->p >= r->end) return 0;
  uint8_t t = *r->p;
  if (t <= 0x7f || t >= 0xe0 || (t >= 0xcc && t <= 0xd3)) return 'i';
  if ((t & 0xe0) == 0xa0 || (t >= 0xd9 && t <= 0xdb)) return 's';
  if (t >= 0xc4 && t <= 0xc6) return 'b';
  if ((t & 0xf0) == 0x90 || t == 0xdc || t == 0xdd) return 'a';
  if ((t & 0xf0) == 0x80 || t == 0xde || t == 0xdf) return 'm';
  if (t == 0xc0) return 'n';
  return 0;
}

/* Read a container header: fix form (mask) or 16/32-bit forms. */
static int read_count(mp_reader *r, uint8_t fixbase, uint8_t t16, uint32_t *n,
                      uint32_t max) {
  if (r->err) return r->err;
  if (left(r) < 1) return fail(r, STEK_ETRUNCATED);
  uint8_t t = *r->p++;
  uint64_t v;
  if ((t & 0xf0) == fixbase) {
    v = t & 0x0f;
  } else if (t == t16) {
    if (take(r, 2, &v)) return r->err;
    if (v < 16) return fail(r, STEK_EMALFORMED);
  } else if (t == t16 + 1) {
    if (take(r, 4, &v)) return r->err;
    if (v <= 0xffff) return fail(r, STEK_EMALFORMED);
  } else {
    return fail(r, STEK_EMALFORMED);
  }
  if (v > max) return fail(r, STEK_ETOOBIG);
  /* Each element takes at least one byte: a count larger than what is
   * left is a truncated input, whatever the limit. */
  if (v > left(r)) return fail(r, STEK_ETRUNCATED);
  *n = (uint32_t)v;
  return 0;
}

int mp_read_array(mp_reader *r, uint32_t *n, uint32_t max) {
  return read_count(r, 0x90, 0xdc, n, max);
}

int mp_read_map(mp_reader *r, uint32_t *n, uint32_t max) {
  int rc = read_count(r, 0x80, 0xde, n, max);
  if (rc == 0 && (uint64_t)*n * 2 > left(r)) return fail(r, STEK_ETRUNCATED);
  return rc;
}

int mp_read_uint(mp_reader *r, uint64_t *v) {
  if (r->err) return r->err;
  if (left(r) < 1) return fail(r, STEK_ETRUNCATED);
  uint8_t t = *r->p++;
  if (t <= 0x7f) {
    *v = t;
    return 0;
  }
  static const uint64_t floor_of[4] = {0x80, 0x100, 0x10000, 0x100000000ull};
  if (t < 0xcc || t > 0xcf) return fail(r, STEK_EMALFORMED);
  int k = t - 0xcc;
  if (take(r, 1 << k, v)) return r->err;
  if (*v < floor_of[k]) return fail(r, STEK_EMALFORMED);
  return 0;
}

int mp_read_int(mp_reader *r, int64_t *v) {
  if (r->err) return r->err;
  if (left(r) < 1) return fail(r, STEK_ETRUNCATED);
  uint8_t t = *r->p;
  if (t <= 0x7f || (t >= 0xcc && t <= 0xcf)) {
    uint64_t u;
    if (mp_read_uint(r, &u)) return r->err;
    if (u > (uint64_t)INT64_MAX) return fail(r, STEK_EMALFORMED);
    *v = (int64_t)u;
    return 0;
  }
  r->p++;
  if (t >= 0xe0) {
    *v = (int8_t)t;
    return 0;
  }
  /* int8..int64 hold only negatives in canonical form, each below the
   * range of the next shorter form. */
  static const int64_t ceil_of[4] = {-33, -129, -32769, -2147483649ll};
  if (t < 0xd0 || t > 0xd3) return fail(r, STEK_EMALFORMED);
  int k = t - 0xd0, n = 1 << k;
  uint64_t u;
  if (take(r, n, &u)) return r->err;
  int64_t s;
  if (n == 8) {
    memcpy(&s, &u, sizeof s);
  } else {
    uint64_t sign = 1ull << (n * 8 - 1);
    s = (u & sign) ? -(int64_t)((sign << 1) - u) : (int64_t)u;
  }
  if (s > ceil_of[k]) return fail(r, STEK_EMALFORMED);
  *v = s;
  return 0;
}

int mp_read_nil(mp_reader *r) {
  if (r->err) return r->err;
  if (left(r) < 1) return fail(r, STEK_ETRUNCATED);
  if (*r->p != 0xc0) return fail(r, STEK_EMALFORMED);
  r->p++;
  return 0;
}

/* Shared by str and bin: header with an 8/16/32-bit length (fixstr too). */
static int read_blob(mp_reader *r, int is_str, const uint8_t **b, uint32_t *len,
                     uint32_t max) {
  if (r->err) return r->err;
  if (left(r) < 1) return fail(r, STEK_ETRUNCATED);
  uint8_t t = *r->p++;
  uint8_t t8 = is_str ? 0xd9 : 0xc4;
  uint64_t v;
  if (is_str && (t & 0xe0) == 0xa0) {
    v = t & 0x1f;
  } else if (t >= t8 && t <= t8 + 2) {
    int k = t - t8;
    if (take(r, 1 << k, &v)) return r->err;
    static const uint64_t str_floor[3] = {32, 0x100, 0x10000};
    static const uint64_t bin_floor[3] = {0, 0x100, 0x10000};
    if (v < (is_str ? str_floor : bin_floor)[k]) return fail(r, STEK_EMALFORMED);
  } else {
    return fail(r, STEK_EMALFORMED);
  }
  if (v > max) return fail(r, STEK_ETOOBIG);
  if (v > left(r)) return fail(r, STEK_ETRUNCATED);
  *b = r->p;
  *len = (uint32_t)v;
  r->p += v;
  return 0;
}

int mp_read_str(mp_reader *r, const char **s, uint32_t *len, uint32_t max) {
  const uint8_t *b;
  if (read_blob(r, 1, &b, len, max)) return r->err;
  if (!mp_utf8_valid((const char *)b, *len)) return fail(r, STEK_EMALFORMED);
  *s = (const char *)b;
  return 0;
}

int mp_read_bin(mp_reader *r, const uint8_t **b, uint32_t *len, uint32_t want,
                uint32_t max) {
  if (read_blob(r, 0, b, len, want ? want : max)) return r->err;
  if (want && *len != want) return fail(r, STEK_EMALFORMED);
  return 0;
}

int mp_read_end(mp_reader *r) {
  if (r->err) return r->err;
  return r->p == r->end ? 0 : fail(r, STEK_EMALFORMED);
}

int mp_utf8_valid(const char *str, size_t len) {
  const uint8_t *s = (const uint8_t *)str, *e = s + len;
  while (s < e) {
    uint8_t c = *s;
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) { s++; continue; }
    if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)(e - s) < n) return 0;
    for (size_t i = 1; i < n; i++) {
      if ((s[i] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    s += n;
  }
  return 1;
}

/* ---- writer ---- */

void mp_writer_init(mp_writer *w) {
  msgpack_sbuffer_init(&w->buf);
  msgpack_packer_init(&w->pk, &w->buf, msgpack_sbuffer_write);
  w->err = 0;
}

void mp_writer_free(mp_writer *w) { msgpack_sbuffer_destroy(&w->buf); }

static void check(mp_writer *w, int rc) {
  if (rc != 0 && w->err == 0) w->err = STEK_ENOMEM;
}

void mp_write_array(mp_writer *w, uint32_t n) { check(w, msgpack_pack_array(&w->pk, n)); }
void mp_write_map(mp_writer *w, uint32_t n) { check(w, msgpack_pack_map(&w->pk, n)); }
void mp_write_uint(mp_writer *w, uint64_t v) { check(w, msgpack_pack_uint64(&w->pk, v)); }
void mp_write_int(mp_writer *w, int64_t v) { check(w, msgpack_pack_int64(&w->pk, v)); }
void mp_write_nil(mp_writer *w) { check(w, msgpack_pack_nil(&w->pk)); }

void mp_write_str(mp_writer *w, const char *s, size_t len) {
  check(w, msgpack_pack_str_with_body(&w->pk, s, len));
}

void mp_write_bin(mp_writer *w, const void *b, size_t len) {
  check(w, msgpack_pack_bin_with_body(&w->pk, b, len));
}

void mp_write_raw(mp_writer *w, const void *b, size_t len) {
  check(w, msgpack_sbuffer_write(&w->buf, b, len));
}
