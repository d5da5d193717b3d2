/* sync/relay -- see relay.h. */
#include "sync/relay.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "crdt/change.h"
#include "crdt/hlc.h"
#include "crdt/signal.h"
#include "crypto/crypto.h"

#define RELAY_SHARE_FORMAT 1

void relay_from_space(const uint8_t space_key[32], uint8_t k_relay[32]) {
  cr_kdf(k_relay, 11, "stek-rly", space_key);
}

void relay_tag(const uint8_t k_relay[32], uint8_t tag[RELAY_TAG]) {
  cr_keyed_hash128(tag, (const uint8_t *)"tag", 3, k_relay);
}

void relay_psk(const uint8_t k_relay[32], uint8_t psk[32]) {
  cr_keyed_hash(psk, (const uint8_t *)"psk", 3, k_relay);
}

void relay_ops_key(const uint8_t space_key[32], uint8_t k_ops[32]) {
  cr_kdf(k_ops, 12, "stek-ops", space_key);
}

static void ad_of(uint8_t ad[40], const uint8_t id[32], uint64_t ts) {
  memcpy(ad, id, 32);
  for (int i = 0; i < 8; i++) ad[32 + i] = (uint8_t)(ts >> (56 - 8 * i));
}

void relay_seal(uint8_t *out, const uint8_t *wire, size_t len, const uint8_t id[32],
                uint64_t ts, const uint8_t k_ops[32]) {
  uint8_t ad[40];
  ad_of(ad, id, ts);
  /* The id is a hash of the content: a fresh nonce for every distinct op,
   * and equal ops seal equally (which only tells a relay what it knows). */
  cr_aead_seal(out, wire, len, ad, sizeof ad, id, k_ops);
}

int wire_id_ts(const uint8_t *wire, size_t len, uint8_t id[32], uint64_t *ts) {
  int f = wire_format(wire, len);
  if (f == SIGNAL_FORMAT) {
    signal_msg m;
    int64_t ms;
    int rc = signal_decode(wire, len, &m);
    if (!rc) rc = iso_week_start_ms(m.week, &ms);
    if (rc) return rc;
    memcpy(id, m.id, 32);
    *ts = hlc_make((uint64_t)ms, 0);
    return 0;
  }
  change c;
  int rc = change_decode(wire, len, &c);
  if (rc) return rc;
  memcpy(id, c.id, 32);
  *ts = c.hlc;
  return 0;
}

int relay_open(uint8_t *out, const uint8_t *sealed, size_t len, const uint8_t id[32],
               uint64_t ts, const uint8_t k_ops[32]) {
  uint8_t ad[40], got[32];
  uint64_t got_ts;
  ad_of(ad, id, ts);
  int rc = cr_aead_open(out, sealed, len, ad, sizeof ad, id, k_ops);
  if (rc) return rc;
  rc = wire_id_ts(out, len - CR_AEAD_TAG, got, &got_ts);
  if (rc) return rc;
  return memcmp(got, id, 32) == 0 && got_ts == ts ? 0 : STEK_EMALFORMED;
}

/* ---- the public API: granting and accepting a relay capability ---- */

int stek_relay_share(stek *s, const uint8_t device[STEK_DEVICE_ID_BYTES], uint8_t **out,
                     size_t *len) {
  uint8_t key[32], kr[32], tag[RELAY_TAG];
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!device || !out || !len) return STEK_EINVAL;
  *out = NULL;
  if ((rc = store_space_key(s->st, s->sp, key))) return stek__store_fail(s, rc);
  relay_from_space(key, kr);
  cr_wipe(key, sizeof key);
  relay_tag(kr, tag);
  mp_writer in, w;
  mp_writer_init(&in);
  mp_write_array(&in, 3);
  mp_write_uint(&in, RELAY_SHARE_FORMAT);
  mp_write_bin(&in, tag, sizeof tag);
  mp_write_bin(&in, kr, sizeof kr);
  cr_wipe(kr, sizeof kr);
  mp_writer_init(&w);
  mp_write_array(&w, 3);
  mp_write_str(&w, "relay", 5);
  mp_write_uint(&w, RELAY_SHARE_FORMAT);
  return stek__seal_share(s, device, &in, &w, out, len);
}

int stek_relay_accept(stek *s, const uint8_t *share, size_t len) {
  mp_reader r;
  uint32_t cnt, clen, n;
  uint64_t ver;
  const char *word;
  const uint8_t *c, *sk, *tag, *kr;
  uint8_t pk[32], plain[64];
  int rc = stek__need_store(s);
  if (rc || !share) return STEK_EINVAL;
  mp_reader_init(&r, share, len);
  if (mp_read_array(&r, &cnt, 15) || cnt != 3 || mp_read_str(&r, &word, &n, 8) ||
      n != 5 || memcmp(word, "relay", 5) || mp_read_uint(&r, &ver))
    return stek__fail(s, STEK_EMALFORMED, "not a relay share");
  if (ver != RELAY_SHARE_FORMAT)
    return stek__fail(s, STEK_EVERSION, "relay share: unsupported version");
  if (mp_read_bin(&r, &c, &clen, 0, 256) || mp_read_end(&r) ||
      clen <= CR_SEAL_OVERHEAD || clen - CR_SEAL_OVERHEAD > sizeof plain)
    return stek__fail(s, STEK_EMALFORMED, "relay share is malformed");
  store_device(s->st, pk, &sk);
  if (cr_open_as_device(plain, c, clen, pk, sk))
    return stek__fail(s, STEK_EMALFORMED,
                      "relay share does not open: damaged, or sealed to another device");
  mp_reader_init(&r, plain, clen - CR_SEAL_OVERHEAD);
  if (mp_read_array(&r, &cnt, 15) || cnt != 3 || mp_read_uint(&r, &ver) ||
      ver != RELAY_SHARE_FORMAT || mp_read_bin(&r, &tag, &n, RELAY_TAG, 0) ||
      mp_read_bin(&r, &kr, &n, 32, 0) || mp_read_end(&r)) {
    cr_wipe(plain, sizeof plain);
    return stek__fail(s, STEK_EMALFORMED, "relay share is malformed");
  }
  rc = store_relay_add(s->st, tag, kr);
  cr_wipe(plain, sizeof plain);
  return rc ? stek__store_fail(s, rc) : stek__ok(s, 0);
}

int stek_relay_count(stek *s, uint64_t *ops) {
  int rc = stek__need_store(s);
  if (rc || !ops) return STEK_EINVAL;
  rc = store_relay_op_count(s->st, ops);
  return rc ? stek__store_fail(s, rc) : stek__ok(s, 0);
}
