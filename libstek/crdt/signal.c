/*
 * crdt/signal -- see signal.h.  The decoder is the only reader of signal
 * bytes; fixed arities mean a signal cannot smuggle an extra field (an
 * author, a device id) past it.
 */
#include "crdt/signal.h"

#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"

static const char *const themes[] = {"income", "housing", "health",  "debt",
                                     "digital", "energy", "work",    "legal",
                                     "family", "mobility", "food",   "education"};

int signal_theme_valid(const char *t, size_t len) {
  for (size_t i = 0; i < sizeof themes / sizeof *themes; i++)
    if (strlen(themes[i]) == len && memcmp(themes[i], t, len) == 0) return 1;
  return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the well-known
 * era-based method: years counted from March so the leap day is last). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2);
}

/* Monday = 0 .. Sunday = 6; 1970-01-01 was a Thursday. */
static int64_t weekday(int64_t days) { return ((days % 7) + 7 + 3) % 7; }

void iso_week_of(int y, int m, int d, char out[9]) {
  int64_t days = days_from_civil(y, m, d);
  int64_t thursday = days - weekday(days) + 3; /* its year is the week's */
  int64_t wy = year_of_days(thursday);
  int64_t week = (thursday - days_from_civil(wy, 1, 1)) / 7 + 1;
  char buf[32];
  snprintf(buf, sizeof buf, "%04d-W%02d", (int)(wy % 10000), (int)week);
  memcpy(out, buf, 8);
  out[8] = 0;
}

int signal_week_valid(const char *w, size_t len) {
  int64_t ms;
  char buf[9];
  if (len != SIGNAL_WEEK_LEN) return 0;
  memcpy(buf, w, 8);
  buf[8] = 0;
  return iso_week_start_ms(buf, &ms) == 0;
}

int iso_week_start_ms(const char *week, int64_t *ms) {
  int y = 0, wk = 0;
  for (int i = 0; i < 8; i++) {
    char c = week[i];
    int digit = c >= '0' && c <= '9';
    if ((i == 4 && c != '-') || (i == 5 && c != 'W') ||
        (i != 4 && i != 5 && !digit))
      return STEK_EMALFORMED;
  }
  if (week[8] != 0) return STEK_EMALFORMED;
  sscanf(week, "%4d-W%2d", &y, &wk);
  if (y < 1970 || wk < 1 || wk > 53) return STEK_EMALFORMED;
  int64_t jan4 = days_from_civil(y, 1, 4);
  int64_t monday = jan4 - weekday(jan4) + (int64_t)(wk - 1) * 7;
  if (year_of_days(monday + 3) != y) return STEK_EMALFORMED; /* no week 53 */
  *ms = monday * 86400000;
  return 0;
}

int wire_format(const uint8_t *buf, size_t len) {
  mp_reader r;
  uint32_t n;
  uint64_t f;
  if (len > STEK_MAX_CHANGE_BYTES) return STEK_ETOOBIG;
  mp_reader_init(&r, buf, len);
  if (mp_read_array(&r, &n, 15) || mp_read_uint(&r, &f)) return r.err;
  return f > 100 ? STEK_EVERSION : (int)f;
}

static int bad(mp_reader *r) {
  if (r->err == 0) r->err = STEK_EMALFORMED;
  return r->err;
}

/* A signal's arities are fixed: one more element would be an author, a
 * device id or a fine timestamp, which signals never carry. */
#define WHY_EXTRA "a signal with other fields than its fixed ones (signals carry no author)"

static int extra(mp_reader *r) {
  if (r->err == 0) {
    r->err = STEK_EMALFORMED;
    r->why = WHY_EXTRA;
  }
  return r->err;
}

static int read_op(mp_reader *r, signal_msg *m) {
  uint32_t n, len;
  uint64_t kind;
  if (mp_read_array(r, &n, 15) || mp_read_uint(r, &kind)) return r->err;
  if (kind == SIGNAL_RECORD && n == 5) {
    m->kind = SIGNAL_RECORD;
    if (mp_read_str(r, &m->theme, &m->theme_len, STEK_MAX_NAME_BYTES) ||
        mp_why(r, mp_read_str(r, &m->site, &m->site_len, SIGNAL_MAX_SITE), STEK_ETOOBIG,
               "a signal site over 128 bytes (STEK_SIGNAL_MAX_SITE)") ||
        mp_why(r, mp_read_str(r, &m->text, &m->text_len, SIGNAL_MAX_TEXT), STEK_ETOOBIG,
               "a signal text over 4096 bytes (STEK_SIGNAL_MAX_TEXT)") ||
        mp_read_bin(r, &m->receipt_hash, &len, 32, 0))
      return r->err;
    if (!signal_theme_valid(m->theme, m->theme_len) || m->site_len == 0)
      return bad(r);
    return 0;
  }
  if (kind == SIGNAL_WITHDRAW && n == 3) {
    m->kind = SIGNAL_WITHDRAW;
    if (mp_read_bin(r, &m->target, &len, 16, 0) ||
        mp_read_bin(r, &m->token, &len, SIGNAL_TOKEN_BYTES, 0))
      return r->err;
    return 0;
  }
  return kind == SIGNAL_RECORD || kind == SIGNAL_WITHDRAW ? extra(r) : bad(r);
}

int signal_decode(const uint8_t *buf, size_t len, signal_msg *m) {
  mp_reader r, b;
  uint32_t n, blen, slen;
  uint64_t ver;
  const char *week;
  memset(m, 0, sizeof *m);
  if (len > STEK_MAX_CHANGE_BYTES) return STEK_ETOOBIG;
  mp_reader_init(&r, buf, len);
  if (mp_read_array(&r, &n, 15) || mp_read_uint(&r, &ver)) return r.err;
  if (ver != SIGNAL_FORMAT) return STEK_EVERSION;
  if (n != 3) return STEK_EMALFORMED;
  if (mp_read_bin(&r, &m->body, &blen, 0, STEK_MAX_CHANGE_BYTES) ||
      mp_read_bin(&r, &m->mac, &slen, SIGNAL_MAC_BYTES, 0) || mp_read_end(&r))
    return r.err;
  m->body_len = blen;
  mp_reader_init(&b, m->body, m->body_len);
  if (mp_read_array(&b, &n, 15) || mp_read_uint(&b, &ver)) return b.err;
  if (ver != SIGNAL_BODY_VERSION) return STEK_EVERSION;
  if (n != 5) {
    m->why = WHY_EXTRA;
    return STEK_EMALFORMED;
  }
  if (mp_read_bin(&b, &m->space, &slen, 16, 0) ||
      mp_read_bin(&b, &m->sid, &slen, 16, 0) ||
      mp_read_str(&b, &week, &slen, SIGNAL_WEEK_LEN))
    return b.err;
  if (!signal_week_valid(week, slen)) return STEK_EMALFORMED;
  memcpy(m->week, week, SIGNAL_WEEK_LEN);
  m->week[SIGNAL_WEEK_LEN] = 0;
  if (read_op(&b, m) || mp_read_end(&b)) {
    m->why = b.why;
    return b.err;
  }
  cr_hash(m->id, m->body, m->body_len);
  return 0;
}

static void signal_key(uint8_t k[32], const uint8_t space_key[32]) {
  cr_kdf(k, 1, "stek-sig", space_key);
}

int signal_verify(const signal_msg *m, const uint8_t space_key[32]) {
  uint8_t k[32];
  signal_key(k, space_key);
  int rc = cr_mac_verify(m->mac, m->body, m->body_len, k);
  cr_wipe(k, sizeof k);
  return rc;
}

int signal_encode(mp_writer *out, const uint8_t space[16],
                  const uint8_t space_key[32], const char week[9], int kind,
                  const void *a, const char *b, const char *c,
                  const uint8_t *d, uint8_t id[STEK_HASH_BYTES]) {
  mp_writer body;
  uint8_t sid[16], mac[CR_MAC], k[32];
  cr_random(sid, sizeof sid);
  mp_writer_init(&body);
  mp_write_array(&body, 5);
  mp_write_uint(&body, SIGNAL_BODY_VERSION);
  mp_write_bin(&body, space, 16);
  mp_write_bin(&body, sid, 16);
  mp_write_str(&body, week, SIGNAL_WEEK_LEN);
  if (kind == SIGNAL_RECORD) {
    mp_write_array(&body, 5);
    mp_write_uint(&body, SIGNAL_RECORD);
    mp_write_str(&body, a, strlen(a));
    mp_write_str(&body, b, strlen(b));
    mp_write_str(&body, c, strlen(c));
    mp_write_bin(&body, d, 32);
  } else {
    mp_write_array(&body, 3);
    mp_write_uint(&body, SIGNAL_WITHDRAW);
    mp_write_bin(&body, a, 16);
    mp_write_bin(&body, d, SIGNAL_TOKEN_BYTES);
  }
  int rc = body.err;
  if (!rc) {
    const uint8_t *bb = (const uint8_t *)body.buf.data;
    signal_key(k, space_key);
    cr_mac(mac, bb, body.buf.size, k);
    cr_wipe(k, sizeof k);
    cr_hash(id, bb, body.buf.size);
    mp_writer_init(out);
    mp_write_array(out, 3);
    mp_write_uint(out, SIGNAL_FORMAT);
    mp_write_bin(out, bb, body.buf.size);
    mp_write_bin(out, mac, sizeof mac);
    rc = out->err;
    if (rc) mp_writer_free(out);
  }
  mp_writer_free(&body);
  return rc;
}

/* ---- receipts ---- */

static const char receipt_digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int signal_receipt_normalise(const char *in, char out[SIGNAL_RECEIPT_DIGITS + 1]) {
  size_t n = 0;
  for (const char *p = in; *p; p++) {
    char c = *p;
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (!strchr(receipt_digits, c) || n == SIGNAL_RECEIPT_DIGITS) return STEK_EINVAL;
    out[n++] = c;
  }
  out[n] = 0;
  return n == SIGNAL_RECEIPT_DIGITS ? 0 : STEK_EINVAL;
}

void signal_receipt_token(uint8_t t[SIGNAL_TOKEN_BYTES],
                          const char code[SIGNAL_RECEIPT_DIGITS + 1]) {
  static const char ctx[] = "stek-receipt-t:"; /* a public context string */
  uint8_t buf[sizeof ctx - 1 + SIGNAL_RECEIPT_DIGITS];
  memcpy(buf, ctx, sizeof ctx - 1);
  memcpy(buf + sizeof ctx - 1, code, SIGNAL_RECEIPT_DIGITS);
  cr_hash(t, buf, sizeof buf);
  cr_wipe(buf, sizeof buf);
}

void signal_receipt_hash(uint8_t out[32], const uint8_t t[SIGNAL_TOKEN_BYTES],
                         const uint8_t space_key[32]) {
  uint8_t k[32];
  cr_kdf(k, 2, "stek-rcp", space_key);
  cr_keyed_hash(out, t, SIGNAL_TOKEN_BYTES, k);
  cr_wipe(k, sizeof k);
}

int signal_receipt_equal(const uint8_t rh[32], const uint8_t c[32]) {
  return cr_equal(rh, c, 32);
}
