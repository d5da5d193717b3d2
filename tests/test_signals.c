/* Anonymous signals: receipts, withdrawal, merge, and the privacy promise
 * that nothing of the device that wrote a signal is stored or sent. */
#include <sodium.h>
#include <sqlite3.h>

#include "codec/mp.h"
#include "crdt/signal.h"
#include "crypto/crypto.h"
#include "test.h"

static test_dir dir;
static stek *a, *b;
static test_clock clk = {1767225600000}; /* Thursday 2026-01-01: week 2026-W01 */

static stek *open_at(const char *name) {
  char path[600];
  stek_config cfg;
  stek *s;
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &clk;
  test_dir_file(&dir, name, path, sizeof path);
  if (stek_open(&s, path, &cfg) != STEK_OK) {
    fprintf(stderr, "open: %s\n", stek_errmsg(s));
    exit(2);
  }
  return s;
}

static int copy_cb(void *ctx, const uint8_t *bytes, size_t len) {
  return stek_ingest(ctx, bytes, len) < 0;
}

static void sync_into(stek *to, stek *from) { stek_changes(from, copy_cb, to); }

/* Is this change on the wire a signal (or a withdrawal), not a record's
 * change -- such as the stek.member record the join wrote? */
static int is_signal(const uint8_t *bytes, size_t len) {
  return len > 1 && bytes[0] == 0x93 && bytes[1] == SIGNAL_FORMAT;
}

/* Two devices in one space. */
static void setup(void) {
  uint8_t space[16], dev[32];
  uint8_t *share;
  size_t len;
  test_dir_make(&dir);
  a = open_at("a.db");
  b = open_at("b.db");
  stek_device_id(b, dev);
  if (stek_space_create(a, "Bezemheide", space) || stek_space_share(a, dev, &share, &len) ||
      stek_space_accept(b, share, len)) {
    fprintf(stderr, "setup: %s / %s\n", stek_errmsg(a), stek_errmsg(b));
    exit(2);
  }
  stek_free(share);
  /* The share wrote one change in a's space, the stek.member record of b
   * (TEST_JOIN_CHANGES); b takes it now, so both start from one log. */
  sync_into(b, a);
}

static void teardown(void) {
  stek_close(a);
  stek_close(b);
  test_dir_remove(&dir);
}

struct found {
  int n;
  char week[9], theme[32], text[128];
};

static int find_cb(void *ctx, const stek_signal *sig) {
  struct found *f = ctx;
  f->n++;
  snprintf(f->week, sizeof f->week, "%s", sig->week);
  snprintf(f->theme, sizeof f->theme, "%s", sig->theme);
  snprintf(f->text, sizeof f->text, "%s", sig->text);
  return 0;
}

static void test_record_sets_week_and_returns_receipt(void) {
  char receipt[STEK_RECEIPT_BYTES];
  struct found f = {0};
  CHECK_OK(stek_signal_record(a, "energy", "Kantine Bezemheide",
                              "Zonder smartphone geen energiepremie", receipt));
  CHECK(strlen(receipt) == 14 && receipt[4] == '-' && receipt[9] == '-');
  CHECK_OK(stek_signal_list(a, find_cb, &f));
  CHECK(f.n == 1 && strcmp(f.week, "2026-W01") == 0 && strcmp(f.theme, "energy") == 0);
}

/* The week of the signal a fresh store in zone (NULL: the default) records
 * at UTC instant now_ms, into week[9]. */
static int week_recorded_at(int64_t now_ms, const char *zone, char week[9]) {
  test_clock at = {now_ms};
  stek_config cfg;
  stek *s;
  uint8_t space[16];
  char receipt[STEK_RECEIPT_BYTES], path[600], name[32];
  struct found f = {0};
  static int n_stores;
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &at;
  cfg.local_tz = zone;
  snprintf(name, sizeof name, "week%d.db", n_stores++);
  test_dir_file(&dir, name, path, sizeof path);
  int rc = stek_open(&s, path, &cfg);
  if (!rc) rc = stek_space_create(s, "week", space);
  if (!rc) rc = stek_signal_record(s, "energy", "Kantine Bezemheide", "x", receipt);
  if (!rc) rc = stek_signal_list(s, find_cb, &f);
  if (!rc && f.n != 1) rc = STEK_ERROR;
  memcpy(week, f.week, 9);
  stek_close(s);
  return rc;
}

/* Sunday 2026-01-04 23:30 UTC is Monday 00:30 in Brussels: already the
 * week of Monday 5 January, 2026-W02, though the UTC date is in W01. */
static void test_signal_week_is_that_of_the_local_date(void) {
  char w[9];
  CHECK_OK(week_recorded_at(1767569400000, NULL, w)); /* 2026-01-04T23:30Z */
  CHECK(strcmp(w, "2026-W02") == 0);
  CHECK_OK(week_recorded_at(1767569400000, "Europe/Brussels", w));
  CHECK(strcmp(w, "2026-W02") == 0);
  /* Half a minute earlier it is Sunday 23:59:30 in Brussels: still W01. */
  CHECK_OK(week_recorded_at(1767567570000, NULL, w)); /* 2026-01-04T22:59:30Z */
  CHECK(strcmp(w, "2026-W01") == 0);
  /* Summer time: Sunday 2026-03-29 22:30 UTC is Monday 00:30 CEST (+02:00). */
  CHECK_OK(week_recorded_at(1774823400000, NULL, w));
  CHECK(strcmp(w, "2026-W14") == 0);
  /* The reverse boundary, west of UTC: Monday 2026-01-05 03:00 UTC is still
   * Sunday 22:00 in New York, the week before; in UTC it would be W02. */
  CHECK_OK(week_recorded_at(1767582000000, "America/New_York", w));
  CHECK(strcmp(w, "2026-W01") == 0);
  CHECK_OK(week_recorded_at(1767582000000, "Etc/UTC", w));
  CHECK(strcmp(w, "2026-W02") == 0);
}

/* A signal written in a zone east of UTC, early on Monday, names a week
 * that starts (Monday 00:00 UTC) after the receiver's clock: it is not
 * "from the future", even with no clock skew allowed. */
static void test_signal_of_a_local_monday_is_not_refused_as_future(void) {
  test_clock at = {1767569400000}; /* Sunday 23:30 UTC, Monday 00:30 Brussels */
  stek_config cfg;
  stek *s;
  uint8_t space[16];
  char receipt[STEK_RECEIPT_BYTES], path[600];
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &at;
  cfg.max_clock_skew_ms = 0;
  test_dir_file(&dir, "skew.db", path, sizeof path);
  CHECK_OK(stek_open(&s, path, &cfg));
  int rc = stek_space_create(s, "skew", space);
  if (!rc) rc = stek_signal_record(s, "energy", "Kantine Bezemheide", "x", receipt);
  stek_close(s);
  CHECK_OK(rc);
}

static void test_local_tz_must_be_a_zone_name(void) {
  stek_config cfg;
  stek *s;
  char path[600], receipt[STEK_RECEIPT_BYTES];
  uint8_t space[16];
  stek_config_init(&cfg);
  cfg.local_tz = "../../etc/passwd";
  test_dir_file(&dir, "badtz.db", path, sizeof path);
  int rc = stek_open(&s, path, &cfg);
  stek_close(s);
  CHECK_RC(rc, STEK_EINVAL);
  cfg.local_tz = "Europe/Atlantis"; /* a good name, but no such zone */
  CHECK_OK(stek_open(&s, path, &cfg));
  rc = stek_space_create(s, "tz", space);
  if (!rc) rc = stek_signal_record(s, "energy", "site", "x", receipt);
  stek_close(s);
  CHECK_RC(rc, STEK_ENOTFOUND);
}

static void test_unknown_theme_and_oversized_text_are_refused(void) {
  char receipt[STEK_RECEIPT_BYTES], big[STEK_SIGNAL_MAX_TEXT + 2];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  CHECK_RC(stek_signal_record(a, "gossip", "site", "text", receipt), STEK_EINVAL);
  CHECK_RC(stek_signal_record(a, "debt", "site", big, receipt), STEK_ETOOBIG);
  CHECK_RC(stek_signal_record(a, "debt", "", "text", receipt), STEK_EINVAL);
}

static void test_withdraw_needs_the_receipt_and_syncs(void) {
  char receipt[STEK_RECEIPT_BYTES], lower[STEK_RECEIPT_BYTES];
  struct found f = {0};
  CHECK_OK(stek_signal_record(a, "debt", "Buurthuis Mozaiek", "Aanmaningskosten", receipt));
  sync_into(b, a);
  CHECK_OK(stek_signal_list(b, find_cb, &f));
  CHECK(f.n == 1);
  CHECK_RC(stek_signal_withdraw(a, "0000-0000-0000"), STEK_ENOTFOUND);
  CHECK_RC(stek_signal_withdraw(a, "not a code"), STEK_EINVAL);
  for (int i = 0; i < STEK_RECEIPT_BYTES; i++)
    lower[i] = (char)((receipt[i] >= 'A' && receipt[i] <= 'Z') ? receipt[i] + 32 : receipt[i]);
  CHECK_OK(stek_signal_withdraw(a, lower)); /* case does not matter */
  CHECK_RC(stek_signal_withdraw(a, receipt), STEK_ENOTFOUND); /* already */
  sync_into(b, a);
  f.n = 0;
  CHECK_OK(stek_signal_list(b, find_cb, &f));
  CHECK(f.n == 0);
  uint8_t ha[32], hb[32];
  CHECK_OK(stek_state_hash(a, ha));
  CHECK_OK(stek_state_hash(b, hb));
  CHECK(memcmp(ha, hb, 32) == 0);
}

struct grab {
  uint8_t *m[2];
  size_t l[2];
  int n;
};

/* Keeps the signals and withdrawals only. */
static int grab_cb(void *ctx, const uint8_t *bytes, size_t len) {
  struct grab *g = ctx;
  if (!is_signal(bytes, len)) return 0;
  if (g->n >= 2 || !(g->m[g->n] = malloc(len))) return 1;
  memcpy(g->m[g->n], bytes, len);
  g->l[g->n++] = len;
  return 0;
}

static void test_withdrawal_arriving_first_still_erases_the_signal(void) {
  char receipt[STEK_RECEIPT_BYTES];
  CHECK_OK(stek_signal_record(a, "housing", "Den Botaniek", "Wachtlijst", receipt));
  CHECK_OK(stek_signal_withdraw(a, receipt));
  /* Deliver a's changes to b newest first: the withdrawal before the signal. */
  struct grab g = {{NULL, NULL}, {0, 0}, 0};
  CHECK_OK(stek_changes(a, grab_cb, &g));
  CHECK(g.n == 2);
  /* Same week, so order by id: find which one is the withdrawal. */
  signal_msg m0;
  CHECK_OK(signal_decode(g.m[0], g.l[0], &m0));
  int w = m0.kind == SIGNAL_WITHDRAW ? 0 : 1;
  int rc1 = stek_ingest(b, g.m[w], g.l[w]);
  int rc2 = stek_ingest(b, g.m[1 - w], g.l[1 - w]);
  free(g.m[0]);
  free(g.m[1]);
  CHECK_OK(rc1);
  CHECK_OK(rc2);
  struct found f = {0};
  CHECK_OK(stek_signal_list(b, find_cb, &f));
  CHECK(f.n == 0);
  uint8_t ha[32], hb[32];
  CHECK_OK(stek_state_hash(a, ha));
  CHECK_OK(stek_state_hash(b, hb));
  CHECK(memcmp(ha, hb, 32) == 0);
}

/* Keeps the last signal (by format, not by position: the log holds the
 * stek.member record of the join too, and it may sort last). */
static int last_cb(void *ctx, const uint8_t *bytes, size_t len) {
  struct { uint8_t buf[8192]; size_t len; } *last = ctx;
  if (is_signal(bytes, len) && len <= sizeof last->buf) {
    memcpy(last->buf, bytes, len);
    last->len = len;
  }
  return 0;
}

static void test_forged_or_foreign_signal_is_refused(void) {
  char receipt[STEK_RECEIPT_BYTES];
  struct { uint8_t buf[8192]; size_t len; } last = {{0}, 0};
  CHECK_OK(stek_signal_record(a, "work", "Kom-Af Op Post", "Geen bereik VDAB", receipt));
  CHECK_OK(stek_changes(a, last_cb, &last));
  CHECK(last.len > 40);
  last.buf[last.len - 1] ^= 1; /* the MAC */
  CHECK_RC(stek_ingest(b, last.buf, last.len), STEK_ESIGNATURE);
  last.buf[last.len - 1] ^= 1;
  /* A store that does not hold the space refuses it. */
  stek *c = open_at("c.db");
  uint8_t other[16];
  CHECK_OK(stek_space_create(c, "other", other));
  CHECK_RC(stek_ingest(c, last.buf, last.len), STEK_ENOSPACE);
  stek_close(c);
}

/* ---- privacy ---- */

static int contains_any_window(const uint8_t *hay, size_t n, const uint8_t *key,
                               size_t klen) {
  const size_t w = 6; /* any 6 consecutive bytes of a key */
  for (size_t k = 0; k + w <= klen; k++)
    for (size_t i = 0; i + w <= n; i++)
      if (memcmp(hay + i, key + k, w) == 0) return 1;
  return 0;
}

/* Everything this device could be recognised by: its id (public key), its
 * secret key, read from the store itself. */
static int device_secrets(const char *file, uint8_t pk[32], uint8_t sk[64]) {
  char path[600];
  sqlite3 *db;
  sqlite3_stmt *st;
  int got = 0;
  test_dir_file(&dir, file, path, sizeof path);
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return 0;
  if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &st, NULL) == SQLITE_OK)
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *k = (const char *)sqlite3_column_text(st, 0);
      if (!strcmp(k, "device_pk") && sqlite3_column_bytes(st, 1) == 32)
        memcpy(pk, sqlite3_column_blob(st, 1), 32), got++;
      if (!strcmp(k, "device_sk") && sqlite3_column_bytes(st, 1) == 64)
        memcpy(sk, sqlite3_column_blob(st, 1), 64), got++;
    }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return got == 2;
}

/* Every stored byte about signals: the signal rows and the op log rows
 * that hold signals, concatenated. */
static size_t stored_signal_bytes(const char *file, uint8_t *out, size_t cap) {
  char path[600];
  sqlite3 *db;
  sqlite3_stmt *st;
  size_t n = 0;
  static const char *const sql[] = {
      "SELECT * FROM signals", "SELECT * FROM withdrawals",
      "SELECT * FROM changes WHERE substr(wire, 1, 2) = x'9302'"};
  test_dir_file(&dir, file, path, sizeof path);
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return 0;
  for (size_t q = 0; q < 3; q++) {
    if (sqlite3_prepare_v2(db, sql[q], -1, &st, NULL) != SQLITE_OK) continue;
    while (sqlite3_step(st) == SQLITE_ROW)
      for (int c = 0; c < sqlite3_column_count(st); c++) {
        size_t len = (size_t)sqlite3_column_bytes(st, c);
        const void *p = sqlite3_column_blob(st, c);
        if (p && n + len <= cap) {
          memcpy(out + n, p, len);
          n += len;
        }
      }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

static void test_stored_and_sent_signal_bytes_carry_no_device_identifier(void) {
  char receipt[STEK_RECEIPT_BYTES];
  uint8_t pk[32], sk[64];
  struct { uint8_t buf[8192]; size_t len; } sent = {{0}, 0};
  static uint8_t stored[1 << 16];
  CHECK_OK(stek_signal_record(a, "digital", "Watersportbaan markt",
                              "Geen hulp bij itsme-registratie", receipt));
  CHECK_OK(stek_changes(a, last_cb, &sent)); /* what sync would send */
  CHECK(sent.len > 0 && sent.buf[1] == SIGNAL_FORMAT);
  CHECK(device_secrets("a.db", pk, sk));
  CHECK(!contains_any_window(sent.buf, sent.len, pk, 32));
  CHECK(!contains_any_window(sent.buf, sent.len, sk, 64));
  size_t n = stored_signal_bytes("a.db", stored, sizeof stored);
  CHECK(n > sent.len);
  CHECK(!contains_any_window(stored, n, pk, 32));
  CHECK(!contains_any_window(stored, n, sk, 64));
  /* and the receiving replica stores nothing of the author either */
  sync_into(b, a);
  n = stored_signal_bytes("b.db", stored, sizeof stored);
  CHECK(n > sent.len);
  CHECK(!contains_any_window(stored, n, pk, 32));
  /* the decoded form has no field that could hold one */
  signal_msg m;
  CHECK_OK(signal_decode(sent.buf, sent.len, &m));
  CHECK(m.kind == SIGNAL_RECORD && strcmp(m.week, "2026-W01") == 0);
}

/* Does needle occur in any column of any row of any table of the store
 * file, or anywhere in the file and its WAL as raw bytes? */
static int store_holds(const char *file, const char *needle) {
  char path[600], wal[620];
  sqlite3 *db;
  sqlite3_stmt *tables, *st;
  size_t nl = strlen(needle);
  int found = 0;
  test_dir_file(&dir, file, path, sizeof path);
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return -1;
  if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table'", -1,
                         &tables, NULL) != SQLITE_OK)
    return -1;
  int n_tables = 0;
  while (sqlite3_step(tables) == SQLITE_ROW) {
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", sqlite3_column_text(tables, 0));
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) continue;
    n_tables++;
    while (sqlite3_step(st) == SQLITE_ROW)
      for (int c = 0; c < sqlite3_column_count(st); c++) {
        const uint8_t *p = sqlite3_column_blob(st, c);
        size_t len = (size_t)sqlite3_column_bytes(st, c);
        for (size_t i = 0; p && i + nl <= len; i++)
          if (memcmp(p + i, needle, nl) == 0) found = 1;
      }
    sqlite3_finalize(st);
  }
  sqlite3_finalize(tables);
  sqlite3_close(db);
  if (n_tables < 5) return -1; /* the scan must have seen the store */
  snprintf(wal, sizeof wal, "%s-wal", path);
  const char *files[] = {path, wal};
  for (int f = 0; f < 2; f++) {
    FILE *in = fopen(files[f], "rb");
    if (!in) continue;
    static uint8_t buf[1 << 22];
    size_t len = fread(buf, 1, sizeof buf, in);
    fclose(in);
    for (size_t i = 0; i + nl <= len; i++)
      if (memcmp(buf + i, needle, nl) == 0) found = 1;
  }
  return found;
}

/* The receipt code is what links a visitor's slip of paper to a signal:
 * only hashes of it are kept or sent, on the recording device and on every
 * replica, before and after the withdrawal. */
static void test_receipt_code_is_never_stored_or_sent(void) {
  char receipt[STEK_RECEIPT_BYTES], digits[13];
  CHECK_OK(stek_signal_record(a, "debt", "Buurthuis Mozaiek", "Aanmaningskosten", receipt));
  snprintf(digits, sizeof digits, "%.4s%.4s%.4s", receipt, receipt + 5, receipt + 10);
  sync_into(b, a);
  CHECK(store_holds("a.db", receipt) == 0 && store_holds("a.db", digits) == 0);
  CHECK(store_holds("b.db", receipt) == 0 && store_holds("b.db", digits) == 0);
  CHECK_OK(stek_signal_withdraw(a, receipt));
  sync_into(b, a);
  struct found f = {0};
  CHECK_OK(stek_signal_list(b, find_cb, &f));
  CHECK(f.n == 0); /* the withdrawal did reach b */
  CHECK(store_holds("a.db", receipt) == 0 && store_holds("a.db", digits) == 0);
  CHECK(store_holds("b.db", receipt) == 0 && store_holds("b.db", digits) == 0);
  /* and what a sync sends: the withdrawal carries t, not the code */
  struct grab g = {{NULL, NULL}, {0, 0}, 0};
  CHECK_OK(stek_changes(a, grab_cb, &g));
  int leaked = 0, withdrawals = 0;
  for (int i = 0; i < g.n; i++) {
    signal_msg m;
    if (signal_decode(g.m[i], g.l[i], &m) == 0 && m.kind == SIGNAL_WITHDRAW) withdrawals++;
    for (size_t k = 0; k + 12 <= g.l[i]; k++)
      if (memcmp(g.m[i] + k, digits, 12) == 0) leaked = 1;
    free(g.m[i]);
  }
  CHECK(g.n == 2 && withdrawals == 1 && !leaked);
}

/* The space key, read from a (plaintext) test store. */
static int space_key_of(const char *file, uint8_t key[32]) {
  char path[600];
  sqlite3 *db;
  sqlite3_stmt *st;
  int got = 0;
  test_dir_file(&dir, file, path, sizeof path);
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return 0;
  if (sqlite3_prepare_v2(db, "SELECT key FROM spaces", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
    memcpy(key, sqlite3_column_blob(st, 0), 32);
    got = 1;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return got;
}

/* A member who does not have the receipt can write a withdrawal (the MAC
 * is the space's), but its t does not hash to the signal's receipt hash:
 * the signal stays, whichever arrives first. */
static void test_withdrawal_with_a_wrong_token_erases_nothing(void) {
  char receipt[STEK_RECEIPT_BYTES];
  uint8_t key[32], space[16], wrong[SIGNAL_TOKEN_BYTES], id[32];
  struct { uint8_t buf[8192]; size_t len; } sig = {{0}, 0};
  CHECK_OK(stek_signal_record(a, "health", "Den Botaniek", "Geen huisarts", receipt));
  CHECK_OK(stek_changes(a, last_cb, &sig));
  signal_msg m;
  CHECK_OK(signal_decode(sig.buf, sig.len, &m));
  CHECK(space_key_of("a.db", key));
  CHECK_OK(stek_space_current(a, space));
  mp_writer w;
  memset(wrong, 0x5a, sizeof wrong);
  CHECK_OK(signal_encode(&w, space, key, "2026-W01", SIGNAL_WITHDRAW, m.sid, NULL, NULL,
                         wrong, id));
  /* on b the forged withdrawal comes first, on a after the signal */
  int rc_b = stek_ingest(b, (const uint8_t *)w.buf.data, w.buf.size);
  int rc_a = stek_ingest(a, (const uint8_t *)w.buf.data, w.buf.size);
  mp_writer_free(&w);
  CHECK_OK(rc_b);
  CHECK_OK(rc_a);
  sync_into(b, a);
  struct found fa = {0}, fb = {0};
  CHECK_OK(stek_signal_list(a, find_cb, &fa));
  CHECK_OK(stek_signal_list(b, find_cb, &fb));
  CHECK(fa.n == 1 && fb.n == 1 && strcmp(fb.text, "Geen huisarts") == 0);
  CHECK_OK(stek_signal_withdraw(b, receipt)); /* the right code still works */
  sync_into(a, b);
  fa.n = 0;
  CHECK_OK(stek_signal_list(a, find_cb, &fa));
  CHECK(fa.n == 0);
}

/* Body version 1 withdrawals carried the plain code: a replica refuses
 * one (STEK_EVERSION) and stores nothing of it. */
static void test_old_withdrawal_carrying_the_code_is_refused(void) {
  uint8_t key[32], space[16], sid[16] = {0}, k[32], mac[32];
  uint64_t before, after;
  mp_writer body, out;
  CHECK(space_key_of("a.db", key));
  CHECK_OK(stek_space_current(a, space));
  mp_writer_init(&body);
  mp_write_array(&body, 5);
  mp_write_uint(&body, 1);
  mp_write_bin(&body, space, 16);
  mp_write_bin(&body, sid, 16);
  mp_write_str(&body, "2026-W01", 8);
  mp_write_array(&body, 3);
  mp_write_uint(&body, SIGNAL_WITHDRAW);
  mp_write_bin(&body, sid, 16);
  mp_write_str(&body, "0123456789AB", 12);
  cr_kdf(k, 1, "stek-sig", key);
  cr_mac(mac, (const uint8_t *)body.buf.data, body.buf.size, k);
  mp_writer_init(&out);
  mp_write_array(&out, 3);
  mp_write_uint(&out, SIGNAL_FORMAT);
  mp_write_bin(&out, body.buf.data, body.buf.size);
  mp_write_bin(&out, mac, sizeof mac);
  CHECK_OK(stek_change_count(a, &before));
  int rc = stek_ingest(a, (const uint8_t *)out.buf.data, out.buf.size);
  mp_writer_free(&body);
  mp_writer_free(&out);
  CHECK_RC(rc, STEK_EVERSION);
  CHECK_OK(stek_change_count(a, &after));
  CHECK(after == before);
}

static void test_signals_from_two_devices_are_indistinguishable_in_form(void) {
  char ra[STEK_RECEIPT_BYTES], rb[STEK_RECEIPT_BYTES];
  struct { uint8_t buf[8192]; size_t len; } sa = {{0}, 0}, sb = {{0}, 0};
  CHECK_OK(stek_signal_record(a, "food", "Den Botaniek", "Voedselpakket te laat", ra));
  CHECK_OK(stek_signal_record(b, "food", "Den Botaniek", "Voedselpakket te laat", rb));
  CHECK_OK(stek_changes(a, last_cb, &sa));
  CHECK_OK(stek_changes(b, last_cb, &sb));
  CHECK(sa.len == sb.len);
  signal_msg ma, mb;
  CHECK_OK(signal_decode(sa.buf, sa.len, &ma));
  CHECK_OK(signal_decode(sb.buf, sb.len, &mb));
  /* Equal except where fresh randomness goes: the sid, the receipt hash
   * (of a random code) and the MAC over them. */
  for (size_t i = 0; i < sa.len; i++) {
    const uint8_t *pa = sa.buf + i;
    int random_part = (pa >= ma.sid && pa < ma.sid + 16) ||
                      (pa >= ma.receipt_hash && pa < ma.receipt_hash + 32) ||
                      (pa >= ma.mac && pa < ma.mac + 32);
    if (!random_part) CHECK(sa.buf[i] == sb.buf[i]);
  }
  CHECK(ma.sid - sa.buf == mb.sid - sb.buf);
  CHECK(ma.mac - sa.buf == mb.mac - sb.buf);
}

static int hex_is(const uint8_t *bytes, size_t n, const char *hex) {
  char h[2 * 64 + 1];
  for (size_t i = 0; i < n; i++) snprintf(h + 2 * i, 3, "%02x", bytes[i]);
  return strcmp(h, hex) == 0;
}

/* The vector in docs/PROTOCOL.md §5. */
static void test_receipt_hashes_match_the_protocol(void) {
  char code[13];
  uint8_t t[SIGNAL_TOKEN_BYTES], key[32], rh[32];
  CHECK_OK(signal_receipt_normalise("0123-4567-89ab", code));
  CHECK(strcmp(code, "0123456789AB") == 0);
  CHECK_OK(signal_receipt_normalise("O123 4567 89AB", code)); /* O reads as 0 */
  CHECK(strcmp(code, "0123456789AB") == 0);
  CHECK_RC(signal_receipt_normalise("0123-4567-89AU", code), STEK_EINVAL);
  CHECK_RC(signal_receipt_normalise("0123-4567-89ABC", code), STEK_EINVAL);
  signal_receipt_token(t, code);
  CHECK(hex_is(t, sizeof t, "1002a078ca3203cda9cb4a9da2d1c7dc83fae716956d93fd32dd79dabcc44113"));
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  signal_receipt_hash(rh, t, key);
  CHECK(hex_is(rh, sizeof rh, "ac735c1fe67aee99944053fc2a8e5f55b7f0bbaf7bd6e1b72a9c77cfa737017b"));
  CHECK(signal_receipt_equal(rh, rh));
  t[0] ^= 1;
  CHECK(!signal_receipt_equal(rh, t));
}

static void test_iso_weeks_follow_the_calendar(void) {
  char w[9];
  int64_t ms;
  iso_week_of(2026, 1, 1, w);
  CHECK(strcmp(w, "2026-W01") == 0);
  iso_week_of(2027, 1, 1, w); /* a Friday: still the last week of 2026 */
  CHECK(strcmp(w, "2026-W53") == 0);
  iso_week_of(2024, 12, 30, w);
  CHECK(strcmp(w, "2025-W01") == 0);
  CHECK_OK(iso_week_start_ms("2026-W01", &ms));
  CHECK(ms == 1766966400000); /* Monday 2025-12-29 */
  CHECK_RC(iso_week_start_ms("2025-W53", &ms), STEK_EMALFORMED);
  CHECK_RC(iso_week_start_ms("2026-W00", &ms), STEK_EMALFORMED);
  CHECK_RC(iso_week_start_ms("2026W01x", &ms), STEK_EMALFORMED);
}

static void test_report_suppresses_cells_under_k(void) {
  char receipt[STEK_RECEIPT_BYTES], *csv, *svg;
  for (int i = 0; i < 6; i++)
    CHECK_OK(stek_signal_record(a, "energy", "Kantine Bezemheide", "premie", receipt));
  for (int i = 0; i < 2; i++)
    CHECK_OK(stek_signal_record(a, "debt", "Buurthuis \"Mozaiek\", Gent", "x", receipt));
  CHECK_OK(stek_signal_record(a, "work", "Den Botaniek", "y", receipt));
  CHECK_OK(stek_signal_withdraw(a, receipt)); /* withdrawn: not counted */
  CHECK_OK(stek_signal_report(a, 5, STEK_REPORT_CSV, &csv));
  const char *want = "month,theme,site,signals\r\n"
                     "2026-01,debt,\"Buurthuis \"\"Mozaiek\"\", Gent\",<5\r\n"
                     "2026-01,energy,Kantine Bezemheide,6\r\n";
  int same = strcmp(csv, want) == 0;
  if (!same) fprintf(stderr, "  got:\n%s", csv);
  stek_free(csv);
  CHECK(same);
  CHECK_OK(stek_signal_report(a, 5, STEK_REPORT_SVG, &svg));
  same = strstr(svg, "<svg") && strstr(svg, "fewer than 5") && strstr(svg, ">6</text>") &&
         !strstr(svg, ">2</text>") && !strstr(svg, "<script") &&
         strstr(svg, "&quot;Mozaiek&quot;");
  stek_free(svg);
  CHECK(same);
  CHECK_OK(stek_signal_report(a, 2, STEK_REPORT_CSV, &csv));
  same = strstr(csv, "Gent\",2\r\n") != NULL;
  stek_free(csv);
  CHECK(same);
  CHECK_RC(stek_signal_report(a, 0, STEK_REPORT_CSV, &csv), STEK_EINVAL);
  CHECK_RC(stek_signal_report(a, 5, 99, &csv), STEK_EINVAL);
}

#define T(fn) do { setup(); RUN(fn); teardown(); } while (0)

int main(void) {
  if (sodium_init() < 0) return 2;
  T(test_record_sets_week_and_returns_receipt);
  T(test_signal_week_is_that_of_the_local_date);
  T(test_signal_of_a_local_monday_is_not_refused_as_future);
  T(test_local_tz_must_be_a_zone_name);
  T(test_unknown_theme_and_oversized_text_are_refused);
  T(test_withdraw_needs_the_receipt_and_syncs);
  T(test_withdrawal_arriving_first_still_erases_the_signal);
  T(test_forged_or_foreign_signal_is_refused);
  T(test_stored_and_sent_signal_bytes_carry_no_device_identifier);
  T(test_receipt_code_is_never_stored_or_sent);
  T(test_withdrawal_with_a_wrong_token_erases_nothing);
  T(test_old_withdrawal_carrying_the_code_is_refused);
  T(test_signals_from_two_devices_are_indistinguishable_in_form);
  T(test_report_suppresses_cells_under_k);
  RUN(test_iso_weeks_follow_the_calendar);
  RUN(test_receipt_hashes_match_the_protocol);
  return test_report();
}
