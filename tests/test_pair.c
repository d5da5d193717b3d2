/* Pairing by short authentication string (stek_pair_offer(),
 * stek_pair_join(); docs/SECURITY.md §Pairing): the session state machine
 * fed from memory, then once over loopback TCP. */
#include <stdatomic.h>

#include "codec/mp.h"
#include "crypto/crypto.h"
#include "crypto/noise.h"
#include "crypto/sas.h"
#include "crypto/stream.h"
#include "test_sess.h"

/* docs/PROTOCOL.md §Pairing, computed independently (Python's hashlib). */
#define PAIR_VECTOR_SAS "745081"
#define PAIR_VECTOR_COMMIT "954f46cee63678ae95724f837e49c932d7bda2d8bf2435305ea4ae4988e45a6d"
#define PAIR_VECTOR_PSK "46cdbc9796aeaf1b1ab7ff5d25386081013d77145c87f6a6cccc1ad8ab7f4bfd"

/* docs/PROTOCOL.md §Session: the pairing message types. */
#define MSG_PAIR_COMMIT_ 8
#define MSG_PAIR_REVEAL_ 10

static test_dir dir;
static test_clock clk = {1767225600000};

/* One side's user: the answer it gives and the digits it was shown. */
typedef struct user {
  int answer, asked;
  char sas[7];
} user;

static int user_confirm(void *ctx, const char sas[7]) {
  user *u = ctx;
  memcpy(u->sas, sas, 7);
  u->asked++;
  return u->answer;
}

/* A store whose server-side user is u (NULL: no pair_confirm). */
static stek *open_user(const char *name, user *u) {
  stek_config cfg;
  stek_config_init(&cfg);
  cfg.clock = test_clock_read;
  cfg.clock_ctx = &clk;
  if (u) {
    cfg.pair_confirm = user_confirm;
    cfg.pair_confirm_ctx = u;
  }
  return test_store(&dir, name, &cfg);
}

/* device pairs with member, the device's user being u; the results of
 * both sides in *dev_rc and *mem_rc. */
static void pair(stek *device, stek *member, user *u, int *dev_rc, int *mem_rc) {
  sess *c = NULL, *sv = NULL;
  *dev_rc = sess_new_pair(&c, device, user_confirm, u);
  *mem_rc = sess_new(&sv, member, 0);
  if (!*dev_rc && !*mem_rc) {
    test_sess_drive(c, sv);
    *dev_rc = test_sess_result(c);
    *mem_rc = test_sess_result(sv);
  }
  sess_free(c);
  sess_free(sv);
}

/* An ordinary sync of a with b: 0 or an error. */
static int sync_once(stek *a, stek *b) {
  sess *c, *sv;
  int rc = sess_new(&c, a, 1);
  if (rc) return rc;
  if ((rc = sess_new(&sv, b, 0))) {
    sess_free(c);
    return rc;
  }
  test_sess_drive(c, sv);
  rc = test_sess_result(c) ? test_sess_result(c) : test_sess_result(sv);
  sess_free(c);
  sess_free(sv);
  return rc;
}

static int same_hash(stek *a, stek *b) {
  uint8_t ha[32], hb[32];
  return !stek_state_hash(a, ha) && !stek_state_hash(b, hb) && !memcmp(ha, hb, 32);
}

static size_t spaces(stek *s) {
  size_t n = 99;
  stek_space_count(s, &n);
  return n;
}

static void test_pair_both_screens_show_the_same_digits_and_the_device_gets_the_space(void) {
  test_dir_make(&dir);
  user mu = {1, 0, ""}, du = {1, 0, ""};
  stek *m = open_user("m", &mu), *d = open_user("d", NULL);
  uint8_t space[16], got[16];
  int drc, mrc;
  CHECK_OK(stek_space_create(m, "Bezemheide", space));
  CHECK_OK(test_put_n(m, "m", 20));
  CHECK_OK(stek_pair_offer(m, 60000));
  pair(d, m, &du, &drc, &mrc);
  CHECK_OK(drc);
  CHECK_OK(mrc);
  CHECK(mu.asked == 1 && du.asked == 1);
  CHECK(strlen(mu.sas) == 6 && strspn(mu.sas, "0123456789") == 6);
  CHECK(strcmp(mu.sas, du.sas) == 0);
  CHECK_OK(stek_space_current(d, got));
  CHECK(memcmp(got, space, 16) == 0);
  CHECK_OK(sync_once(d, m)); /* a member now: it syncs */
  CHECK(same_hash(m, d));
  stek_close(m);
  stek_close(d);
  test_dir_remove(&dir);
}

/* One user says no: both sides end STEK_EREFUSED and the new device holds
 * no space; a member that refuses was asked the digits the device showed
 * (a device that refuses may end it before the member's user answers). */
static void refused_by(int member_yes, int device_yes) {
  test_dir_make(&dir);
  user mu = {member_yes, 0, ""}, du = {device_yes, 0, ""};
  stek *m = open_user("m", &mu), *d = open_user("d", NULL);
  uint8_t space[16];
  int drc, mrc;
  CHECK_OK(stek_space_create(m, "Bezemheide", space));
  CHECK_OK(stek_pair_offer(m, 60000));
  pair(d, m, &du, &drc, &mrc);
  CHECK_RC(drc, STEK_EREFUSED);
  CHECK_RC(mrc, STEK_EREFUSED);
  if (!member_yes) CHECK(mu.asked == 1 && du.asked == 1 && strcmp(mu.sas, du.sas) == 0);
  CHECK(spaces(d) == 0);
  stek_close(m);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_pair_refused_by_the_members_user_is_refused_on_both_sides(void) {
  refused_by(0, 1);
}

static void test_pair_refused_by_the_new_devices_user_is_refused_on_both_sides(void) {
  refused_by(1, 0);
}

static void test_pair_member_without_a_confirm_callback_refuses(void) {
  test_dir_make(&dir);
  user du = {1, 0, ""};
  stek *m = open_user("m", NULL), *d = open_user("d", NULL);
  uint8_t space[16];
  int drc, mrc;
  CHECK_OK(stek_space_create(m, "Bezemheide", space));
  CHECK_OK(stek_pair_offer(m, 60000));
  pair(d, m, &du, &drc, &mrc);
  CHECK_RC(drc, STEK_EREFUSED);
  CHECK_RC(mrc, STEK_EREFUSED);
  CHECK(spaces(d) == 0);
  stek_close(m);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_pair_without_an_open_offer_is_refused_at_the_first_message(void) {
  test_dir_make(&dir);
  user mu = {1, 0, ""}, du = {1, 0, ""};
  stek *m = open_user("m", &mu), *d = open_user("d", NULL);
  uint8_t space[16];
  int drc, mrc;
  CHECK_OK(stek_space_create(m, "Bezemheide", space));
  pair(d, m, &du, &drc, &mrc);
  CHECK(drc != 0);
  CHECK_RC(mrc, STEK_ESIGNATURE); /* no capability opens the first message */
  CHECK(mu.asked == 0 && du.asked == 0);
  CHECK(spaces(d) == 0);
  stek_close(m);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_pair_offer_allows_one_attempt_only(void) {
  test_dir_make(&dir);
  user mu = {0, 0, ""}, du = {1, 0, ""};
  stek *m = open_user("m", &mu), *d = open_user("d", NULL);
  uint8_t space[16];
  int drc, mrc;
  CHECK_OK(stek_space_create(m, "Bezemheide", space));
  CHECK_OK(stek_pair_offer(m, 60000));
  pair(d, m, &du, &drc, &mrc); /* the first attempt is refused... */
  CHECK_RC(mrc, STEK_EREFUSED);
  mu.answer = 1;
  mu.asked = 0;
  pair(d, m, &du, &drc, &mrc); /* ...and closed the offer */
  CHECK_RC(mrc, STEK_ESIGNATURE);
  CHECK(drc != 0 && mu.asked == 0);
  CHECK(spaces(d) == 0);
  /* A success spends it too. */
  CHECK_OK(stek_pair_offer(m, 60000));
  pair(d, m, &du, &drc, &mrc);
  CHECK_OK(drc);
  stek *e = open_user("e", NULL);
  pair(e, m, &du, &drc, &mrc);
  CHECK_RC(mrc, STEK_ESIGNATURE);
  CHECK(spaces(e) == 0);
  stek_close(e);
  stek_close(m);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_pair_offer_expires(void) {
  test_dir_make(&dir);
  user mu = {1, 0, ""}, du = {1, 0, ""};
  stek *m = open_user("m", &mu), *d = open_user("d", NULL);
  uint8_t space[16];
  int drc, mrc;
  CHECK_OK(stek_space_create(m, "Bezemheide", space));
  CHECK_RC(stek_pair_offer(m, 0), STEK_EINVAL);
  CHECK_RC(stek_pair_offer(m, STEK_PAIR_MAX_TTL_MS + 1), STEK_EINVAL);
  CHECK_OK(stek_pair_offer(m, 60000));
  clk.now_ms += 60001;
  pair(d, m, &du, &drc, &mrc);
  CHECK_RC(mrc, STEK_ESIGNATURE);
  CHECK(drc != 0 && mu.asked == 0 && du.asked == 0);
  CHECK(spaces(d) == 0);
  stek_close(m);
  stek_close(d);
  test_dir_remove(&dir);
}

/* Mallory sits between the member Alice and the new device Bob: she pairs
 * with each as the other (her own device key and space), relaying nothing
 * she cannot open.  Each leg agrees with itself, but Alice and Bob see
 * different digits (equal only by chance, 10^-6), so their users refuse. */
static void test_pair_man_in_the_middle_shows_different_digits(void) {
  test_dir_make(&dir);
  user alice = {1, 0, ""}, bob = {1, 0, ""}, mal_as_device = {1, 0, ""},
       mal_as_member = {1, 0, ""};
  stek *a = open_user("a", &alice), *b = open_user("b", NULL);
  stek *mal = open_user("mal", &mal_as_member), *mal2 = open_user("mal2", NULL);
  uint8_t space[16], fake[16];
  int rc1, rc2;
  CHECK_OK(stek_space_create(a, "Bezemheide", space));
  CHECK_OK(stek_pair_offer(a, 60000));
  CHECK_OK(stek_space_create(mal, "Bezemheide", fake));
  CHECK_OK(stek_pair_offer(mal, 60000));
  pair(mal2, a, &mal_as_device, &rc1, &rc2); /* Mallory -> Alice */
  CHECK_OK(rc1);
  pair(b, mal, &bob, &rc1, &rc2); /* Bob -> Mallory */
  CHECK_OK(rc1);
  CHECK(strcmp(alice.sas, mal_as_device.sas) == 0);
  CHECK(strcmp(bob.sas, mal_as_member.sas) == 0);
  CHECK(strcmp(alice.sas, bob.sas) != 0);
  stek_close(a);
  stek_close(b);
  stek_close(mal);
  stek_close(mal2);
  test_dir_remove(&dir);
}

/* The commitment binds Nr (and h): a reveal of another nonce, or under
 * another handshake, does not open it. */
static void test_pair_commitment_fails_for_a_changed_nonce(void) {
  uint8_t h[32], nr[32], c[32];
  for (int i = 0; i < 32; i++) h[i] = (uint8_t)i, nr[i] = (uint8_t)(0x40 + i);
  sas_commit(c, h, nr);
  CHECK_OK(sas_check(c, h, nr));
  nr[31] ^= 1;
  CHECK_RC(sas_check(c, h, nr), STEK_ESIGNATURE);
  nr[31] ^= 1;
  h[0] ^= 1;
  CHECK_RC(sas_check(c, h, nr), STEK_ESIGNATURE);
}

/* ---- a member that lies: the test plays it with crypto/noise and
 * crypto/stream, to change Nr between COMMIT and REVEAL ---- */

typedef struct liar {
  sess *dev;            /* the new device's session */
  uint8_t in[8192];     /* what the device sent, not yet read */
  size_t in_len;
  stream st;
} liar;

/* Take everything the device has to send. */
static void liar_take(liar *l) {
  const uint8_t *p;
  size_t n;
  while (sess_output(l->dev, &p, &n) == 0 && n && l->in_len + n <= sizeof l->in) {
    memcpy(l->in + l->in_len, p, n);
    l->in_len += n;
    sess_consumed(l->dev, n);
  }
}

/* The next frame the device sent (a bin8 or bin16): its payload into out. */
static size_t liar_frame(liar *l, uint8_t *out, size_t cap) {
  size_t h, n;
  liar_take(l);
  if (l->in_len < 2) return 0;
  if (l->in[0] == 0xc4) h = 2, n = l->in[1];
  else if (l->in[0] == 0xc5 && l->in_len >= 3) h = 3, n = (size_t)l->in[1] << 8 | l->in[2];
  else return 0;
  if (l->in_len < h + n || n > cap) return 0;
  memcpy(out, l->in + h, n);
  memmove(l->in, l->in + h + n, l->in_len - h - n);
  l->in_len -= h + n;
  return n;
}

static void liar_send(liar *l, const uint8_t *p, size_t n) {
  mp_writer w;
  mp_writer_init(&w);
  mp_write_bin(&w, p, n);
  sess_input(l->dev, (const uint8_t *)w.buf.data, w.buf.size);
  mp_writer_free(&w);
}

/* Seal [type, bin32] and send it. */
static void liar_msg(liar *l, uint8_t type, const uint8_t b[32]) {
  uint8_t m[36] = {0x92, type, 0xc4, 0x20}, c[36 + STREAM_OVERHEAD];
  size_t cn;
  memcpy(m + 4, b, 32);
  if (stream_seal(&l->st, m, sizeof m, c, sizeof c, &cn, 0) == 0) liar_send(l, c, cn);
}

/* Pair device (whose user u agrees) with a member played here that
 * reveals nr_xor ^ Nr instead of its committed Nr.  The device's result. */
static int pair_with_liar(stek *device, user *u, uint8_t nr_xor) {
  liar l = {0};
  noise_hs hs;
  uint8_t seed[32] = {'l', 'i', 'a', 'r'}, pk[32], sk[64], xpk[32], xsk[32], psk[32];
  uint8_t m[NOISE_MAX_MESSAGE], pl[NOISE_MAX_PAYLOAD], ks[32], kr[32], hh[32];
  uint8_t hdr[STREAM_HEADER], nr[32], c[32];
  size_t n, pn;
  static const uint8_t hello[] = {0x92, 0x01, 0xce, 0x00, 0x11, 0x00, 0x00}; /* [1, 1114112] */
  cr_sign_seed_keygen(pk, sk, seed);
  sas_pair_psk(psk);
  if (cr_x25519_from_sign_pk(xpk, pk) || cr_x25519_from_sign_sk(xsk, sk) ||
      noise_init(&hs, 0, psk, xsk, xpk, pk) || sess_new_pair(&l.dev, device, user_confirm, u))
    return STEK_ERROR;
  int rc = STEK_ERROR;
  /* message 1 in, 2 out, 3 and the device's stream header in */
  if (!(n = liar_frame(&l, m, sizeof m)) || noise_read_message(&hs, m, n, pl, sizeof pl, &pn) ||
      noise_write_message(&hs, hello, sizeof hello, m, sizeof m, &n))
    goto out;
  liar_send(&l, m, n);
  if (!(n = liar_frame(&l, m, sizeof m)) || noise_read_message(&hs, m, n, pl, sizeof pl, &pn) ||
      noise_split(&hs, ks, kr, hh) || stream_init(&l.st, ks, kr, hdr) ||
      liar_frame(&l, m, sizeof m) != STREAM_HEADER || stream_accept_header(&l.st, m))
    goto out;
  liar_send(&l, hdr, sizeof hdr);
  /* COMMIT to Nr, read the device's NONCE, REVEAL another Nr */
  cr_random(nr, sizeof nr);
  sas_commit(c, hh, nr);
  liar_msg(&l, MSG_PAIR_COMMIT_, c);
  if (!liar_frame(&l, m, sizeof m)) goto out; /* NONCE */
  nr[0] ^= nr_xor;
  liar_msg(&l, MSG_PAIR_REVEAL_, nr);
  liar_take(&l);
  rc = sess_state(l.dev) == SESS_FAILED ? sess_error(l.dev) : 0;
out:
  noise_wipe(&hs);
  stream_wipe(&l.st);
  sess_free(l.dev);
  return rc;
}

static void test_pair_device_refuses_a_reveal_that_breaks_the_commitment(void) {
  test_dir_make(&dir);
  user du = {1, 0, ""};
  stek *d = open_user("d", NULL);
  CHECK_OK(pair_with_liar(d, &du, 0)); /* honest: the device asks its user */
  CHECK(du.asked == 1);
  du.asked = 0;
  CHECK_RC(pair_with_liar(d, &du, 1), STEK_ESIGNATURE); /* Nr changed */
  CHECK(du.asked == 0); /* no digits shown */
  CHECK(spaces(d) == 0);
  stek_close(d);
  test_dir_remove(&dir);
}

/* docs/PROTOCOL.md §Pairing: h = 00..1f, Ni = 20..3f, Nr = 40..5f. */
static void test_pair_sas_vector_of_protocol_md(void) {
  uint8_t h[32], ni[32], nr[32], c[32], psk[32];
  char sas[7], hex[65], line[256];
  for (int i = 0; i < 32; i++) h[i] = (uint8_t)i, ni[i] = (uint8_t)(0x20 + i),
                               nr[i] = (uint8_t)(0x40 + i);
  sas_digits(sas, h, ni, nr);
  CHECK(strcmp(sas, PAIR_VECTOR_SAS) == 0);
  sas_commit(c, h, nr);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", c[i]);
  CHECK(strcmp(hex, PAIR_VECTOR_COMMIT) == 0);
  sas_pair_psk(psk);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", psk[i]);
  CHECK(strcmp(hex, PAIR_VECTOR_PSK) == 0);
  /* The document says the same. */
  FILE *f = fopen("docs/PROTOCOL.md", "r");
  int seen = 0;
  CHECK(f);
  while (fgets(line, sizeof line, f))
    seen |= (strstr(line, "SAS = " PAIR_VECTOR_SAS) ? 1 : 0) |
            (strstr(line, "C   = " PAIR_VECTOR_COMMIT) ? 2 : 0) |
            (strstr(line, "psk = " PAIR_VECTOR_PSK) ? 4 : 0);
  fclose(f);
  CHECK(seen == 7);
}

/* ---- over TCP ---- */

typedef struct srv_user {
  atomic_int asked;
  int answer;
  char sas[7];
} srv_user;

static int srv_confirm(void *ctx, const char sas[7]) {
  srv_user *u = ctx;
  memcpy(u->sas, sas, 7);
  atomic_fetch_add(&u->asked, 1);
  return u->answer;
}

static int start_member_server(stek_server **srv, const char *name, srv_user *u) {
  char path[600];
  stek_config cfg;
  stek_config_init(&cfg);
  cfg.pair_confirm = srv_confirm;
  cfg.pair_confirm_ctx = u;
  test_dir_file(&dir, name, path, sizeof path);
  return stek_server_start(srv, path, &cfg, "127.0.0.1", 0, NULL);
}

static void test_pair_over_tcp_joins_and_syncs(void) {
  test_dir_make(&dir);
  srv_user mu = {0, 1, ""};
  user du = {1, 0, ""};
  atomic_init(&mu.asked, 0);
  stek *m = test_store(&dir, "m", NULL), *d = test_store(&dir, "d", NULL);
  stek_server *srv;
  uint8_t space[16], got[16];
  CHECK_OK(stek_space_create(m, "Bezemheide", space));
  CHECK_OK(test_put_n(m, "m", 10));
  CHECK_OK(start_member_server(&srv, "m", &mu));
  int port = stek_server_port(srv);
  /* No offer yet: refused at the first message. */
  CHECK_RC(stek_pair_join(d, "127.0.0.1", port, user_confirm, &du, NULL, got), STEK_EREFUSED);
  CHECK(du.asked == 0);
  CHECK_OK(stek_pair_offer(m, 60000));
  CHECK_OK(stek_pair_join(d, "127.0.0.1", port, user_confirm, &du, NULL, got));
  CHECK(memcmp(got, space, 16) == 0);
  CHECK(atomic_load(&mu.asked) == 1 && du.asked == 1 && strcmp(mu.sas, du.sas) == 0);
  CHECK_OK(stek_sync(d, "127.0.0.1", port, NULL, NULL));
  CHECK(same_hash(m, d));
  stek_server_stop(srv);
  stek_close(m);
  stek_close(d);
  test_dir_remove(&dir);
}

static void test_pair_over_tcp_refused_by_the_member(void) {
  test_dir_make(&dir);
  srv_user mu = {0, 0, ""};
  user du = {1, 0, ""};
  atomic_init(&mu.asked, 0);
  stek *m = test_store(&dir, "m", NULL), *d = test_store(&dir, "d", NULL);
  stek_server *srv;
  uint8_t space[16], got[16];
  CHECK_OK(stek_space_create(m, "Bezemheide", space));
  CHECK_OK(start_member_server(&srv, "m", &mu));
  CHECK_OK(stek_pair_offer(m, 60000));
  CHECK_RC(stek_pair_join(d, "127.0.0.1", stek_server_port(srv), user_confirm, &du, NULL, got),
           STEK_EREFUSED);
  CHECK(spaces(d) == 0);
  CHECK_RC(stek_pair_join(d, "127.0.0.1", stek_server_port(srv), NULL, NULL, NULL, got),
           STEK_EINVAL);
  stek_server_stop(srv);
  stek_close(m);
  stek_close(d);
  test_dir_remove(&dir);
}

int main(void) {
  RUN(test_pair_both_screens_show_the_same_digits_and_the_device_gets_the_space);
  RUN(test_pair_refused_by_the_members_user_is_refused_on_both_sides);
  RUN(test_pair_refused_by_the_new_devices_user_is_refused_on_both_sides);
  RUN(test_pair_member_without_a_confirm_callback_refuses);
  RUN(test_pair_without_an_open_offer_is_refused_at_the_first_message);
  RUN(test_pair_offer_allows_one_attempt_only);
  RUN(test_pair_offer_expires);
  RUN(test_pair_man_in_the_middle_shows_different_digits);
  RUN(test_pair_commitment_fails_for_a_changed_nonce);
  RUN(test_pair_device_refuses_a_reveal_that_breaks_the_commitment);
  RUN(test_pair_sas_vector_of_protocol_md);
  RUN(test_pair_over_tcp_joins_and_syncs);
  RUN(test_pair_over_tcp_refused_by_the_member);
  return test_report();
}
