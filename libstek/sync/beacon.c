/*
 * sync/beacon.c -- encode and recognise discovery beacons (see beacon.h).
 */
#include "sync/beacon.h"

#include <limits.h>
#include <string.h>

#include "codec/mp.h"
#include "crypto/crypto.h"
#include "stek.h"

#define TAG_LABEL "beacon"
#define TAG_LABEL_LEN 6
#define TAG_INPUT (TAG_LABEL_LEN + 8 + BEACON_SALT + 2)

int beacon_window(int64_t unix_ms, uint64_t *window) {
  if (unix_ms < 0) return STEK_EINVAL;
  *window = (uint64_t)unix_ms / BEACON_WINDOW_MS;
  return 0;
}

void beacon_key(uint8_t kb[BEACON_KEY], const uint8_t space_key[BEACON_KEY]) {
  cr_kdf(kb, 4, "stek-bcn", space_key);
}

void beacon_tag(uint8_t tag[BEACON_TAG], const uint8_t kb[BEACON_KEY],
                uint64_t window, const uint8_t salt[BEACON_SALT], uint16_t port) {
  uint8_t m[TAG_INPUT], *p = m;
  memcpy(p, TAG_LABEL, TAG_LABEL_LEN);
  p += TAG_LABEL_LEN;
  for (int i = 7; i >= 0; i--) *p++ = (uint8_t)(window >> (8 * i));
  memcpy(p, salt, BEACON_SALT);
  p += BEACON_SALT;
  *p++ = (uint8_t)(port >> 8);
  *p++ = (uint8_t)port;
  cr_keyed_hash128(tag, m, sizeof m, kb);
}

/* The layout is fixed but for the port's width, so it is written by hand:
 * no allocation, and exactly the canonical bytes mp_writer would give. */
int beacon_encode(uint8_t out[BEACON_MAX_BYTES], size_t *len,
                  const uint8_t space_key[BEACON_KEY], int64_t now_ms,
                  uint16_t port, const uint8_t *salt) {
  uint64_t window;
  uint8_t kb[BEACON_KEY], fresh[BEACON_SALT], tag[BEACON_TAG];
  if (beacon_window(now_ms, &window)) return STEK_EINVAL;
  if (!salt) {
    cr_random(fresh, sizeof fresh);
    salt = fresh;
  }
  beacon_key(kb, space_key);
  beacon_tag(tag, kb, window, salt, port);
  cr_wipe(kb, sizeof kb);
  uint8_t *p = out;
  *p++ = 0x94; /* fixarray of 4 */
  *p++ = BEACON_FORMAT;
  *p++ = 0xc4, *p++ = BEACON_SALT; /* bin8 */
  memcpy(p, salt, BEACON_SALT);
  p += BEACON_SALT;
  *p++ = 0xc4, *p++ = BEACON_TAG;
  memcpy(p, tag, BEACON_TAG);
  p += BEACON_TAG;
  if (port <= 0x7f) {
    *p++ = (uint8_t)port;
  } else if (port <= 0xff) {
    *p++ = 0xcc, *p++ = (uint8_t)port;
  } else {
    *p++ = 0xcd, *p++ = (uint8_t)(port >> 8), *p++ = (uint8_t)port;
  }
  *len = (size_t)(p - out);
  return 0;
}

int beacon_decode(const uint8_t *b, size_t len, uint8_t salt[BEACON_SALT],
                  uint8_t tag[BEACON_TAG], uint16_t *port) {
  mp_reader r;
  uint32_t n, got;
  uint64_t format, v;
  const uint8_t *bs, *bt;
  if (!b) return STEK_ETRUNCATED;
  /* Nothing longer can be a beacon of this format; say so before reading. */
  if (len > BEACON_MAX_BYTES) return STEK_EMALFORMED;
  mp_reader_init(&r, b, len);
  /* A later format may have more fields: read the version first, so that
   * it is reported as such rather than as damage. */
  if (mp_read_array(&r, &n, 16) == STEK_ETOOBIG) return STEK_EMALFORMED;
  if (r.err || n < 1 || mp_read_uint(&r, &format)) return r.err ? r.err : STEK_EMALFORMED;
  if (format != BEACON_FORMAT) return STEK_EVERSION;
  if (n != 4) return STEK_EMALFORMED;
  mp_read_bin(&r, &bs, &got, BEACON_SALT, BEACON_SALT);
  mp_read_bin(&r, &bt, &got, BEACON_TAG, BEACON_TAG);
  mp_read_uint(&r, &v);
  if (mp_read_end(&r)) return r.err;
  if (v > UINT16_MAX) return STEK_EMALFORMED;
  memcpy(salt, bs, BEACON_SALT);
  memcpy(tag, bt, BEACON_TAG);
  *port = (uint16_t)v;
  return 0;
}

int beacon_match(const uint8_t *b, size_t len, const uint8_t (*keys)[BEACON_KEY],
                 size_t n, int64_t now_ms, uint16_t *port) {
  uint8_t salt[BEACON_SALT], tag[BEACON_TAG], want[BEACON_TAG], kb[BEACON_KEY];
  uint16_t p;
  uint64_t window;
  int found = STEK_ENOTFOUND;
  if ((n && !keys) || n > INT_MAX) return STEK_EINVAL;
  int rc = beacon_decode(b, len, salt, tag, &p);
  if (rc) return rc;
  if (beacon_window(now_ms, &window)) return STEK_ENOTFOUND;
  /* Every space and window is tried even after a match, so the time taken
   * says nothing about which one matched. */
  for (size_t i = 0; i < n; i++) {
    beacon_key(kb, keys[i]);
    for (int d = -1; d <= 1; d++) {
      if (d < 0 && window == 0) continue;
      beacon_tag(want, kb, window + (uint64_t)(int64_t)d, salt, p);
      int eq = cr_equal(want, tag, BEACON_TAG);
      if (eq && found == STEK_ENOTFOUND) found = (int)i;
    }
  }
  cr_wipe(kb, sizeof kb);
  if (found >= 0 && port) *port = p;
  return found;
}
