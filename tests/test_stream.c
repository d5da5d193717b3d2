/* crypto/stream: the encrypted session after the handshake. */
#include "crypto/crypto.h"
#include "crypto/noise.h"
#include "crypto/stream.h"
#include "test.h"

/* Two ends of one session with fresh keys, headers exchanged. */
static int pair(stream *a, stream *b) {
  uint8_t ab[32], ba[32], ha[STREAM_HEADER], hb[STREAM_HEADER];
  cr_random(ab, sizeof ab);
  cr_random(ba, sizeof ba);
  if (stream_init(a, ab, ba, ha) || stream_init(b, ba, ab, hb)) return -1;
  cr_wipe(ab, sizeof ab);
  cr_wipe(ba, sizeof ba);
  return stream_accept_header(a, hb) || stream_accept_header(b, ha) ? -1 : 0;
}

typedef struct frame {
  uint8_t b[256];
  size_t len;
} frame;

static int seal(stream *s, const char *text, frame *f, int final) {
  return stream_seal(s, (const uint8_t *)text, strlen(text), f->b, sizeof f->b, &f->len, final);
}

/* Open f and compare with text; the return code of stream_open. */
static int open_is(stream *s, const frame *f, const char *text, int want_final) {
  uint8_t out[256];
  size_t len;
  int final;
  int rc = stream_open(s, f->b, f->len, out, sizeof out, &len, &final);
  if (rc) return rc;
  return len == strlen(text) && !memcmp(out, text, len) && final == want_final ? 0 : STEK_ERROR;
}

static void test_frames_round_trip_both_ways(void) {
  stream a, b;
  frame f;
  CHECK(pair(&a, &b) == 0);
  CHECK_OK(seal(&a, "one", &f, 0));
  CHECK(f.len == 3 + STREAM_OVERHEAD);
  CHECK_OK(open_is(&b, &f, "one", 0));
  CHECK_OK(seal(&b, "answer", &f, 0));
  CHECK_OK(open_is(&a, &f, "answer", 0));
  CHECK_OK(seal(&a, "", &f, 0)); /* empty frames are frames too */
  CHECK_OK(open_is(&b, &f, "", 0));
  CHECK_OK(seal(&a, "two", &f, 0));
  CHECK_OK(open_is(&b, &f, "two", 0));
  stream_wipe(&a);
  stream_wipe(&b);
}

static void test_keys_from_the_handshake_make_a_working_session(void) {
  uint8_t psk[32], seed[32], id[2][32], sk[2][64], xs[2][32], xp[2][32];
  uint8_t send[2][32], recv[2][32], hash[32], hdr[2][STREAM_HEADER];
  uint8_t msg[NOISE_MAX_MESSAGE], got[NOISE_MAX_PAYLOAD];
  size_t len, glen;
  noise_hs hs[2];
  stream st[2];
  frame f;
  cr_random(psk, sizeof psk);
  for (int s = 0; s < 2; s++) {
    cr_random(seed, sizeof seed);
    cr_sign_seed_keygen(id[s], sk[s], seed);
    CHECK_OK(cr_x25519_from_sign_sk(xs[s], sk[s]));
    CHECK_OK(cr_x25519_from_sign_pk(xp[s], id[s]));
    CHECK_OK(noise_init(&hs[s], s == 0, psk, xs[s], xp[s], id[s]));
  }
  for (int m = 0; m < 3; m++) {
    CHECK_OK(noise_write_message(&hs[m % 2], NULL, 0, msg, sizeof msg, &len));
    CHECK_OK(noise_read_message(&hs[1 - m % 2], msg, len, got, sizeof got, &glen));
  }
  for (int s = 0; s < 2; s++) {
    CHECK_OK(noise_split(&hs[s], send[s], recv[s], hash));
    CHECK_OK(stream_init(&st[s], send[s], recv[s], hdr[s]));
    cr_wipe(send[s], 32);
    cr_wipe(recv[s], 32);
  }
  CHECK_OK(stream_accept_header(&st[0], hdr[1]));
  CHECK_OK(stream_accept_header(&st[1], hdr[0]));
  CHECK_OK(seal(&st[0], "from the initiator", &f, 0));
  CHECK_OK(open_is(&st[1], &f, "from the initiator", 0));
  CHECK_OK(seal(&st[1], "from the responder", &f, 1));
  CHECK_OK(open_is(&st[0], &f, "from the responder", 1));
  for (int s = 0; s < 2; s++) {
    noise_wipe(&hs[s]);
    stream_wipe(&st[s]);
  }
}

static void test_a_tampered_frame_is_rejected_and_ends_the_session(void) {
  stream a, b;
  frame f, next;
  CHECK(pair(&a, &b) == 0);
  CHECK_OK(seal(&a, "payload", &f, 0));
  size_t n = f.len;
  for (size_t at = 0; at < n; at++) {
    CHECK(pair(&a, &b) == 0);
    CHECK_OK(seal(&a, "payload", &f, 0));
    CHECK_OK(seal(&a, "next", &next, 0));
    f.b[at] ^= 0x20;
    CHECK_RC(open_is(&b, &f, "payload", 0), STEK_ESIGNATURE);
    /* The session is dead: even the genuine frame is refused. */
    f.b[at] ^= 0x20;
    CHECK_RC(open_is(&b, &f, "payload", 0), STEK_ESTATE);
    CHECK_RC(open_is(&b, &next, "next", 0), STEK_ESTATE);
  }
  stream_wipe(&a);
  stream_wipe(&b);
}

static void test_reordered_frames_are_rejected(void) {
  stream a, b;
  frame f1, f2;
  CHECK(pair(&a, &b) == 0);
  CHECK_OK(seal(&a, "first", &f1, 0));
  CHECK_OK(seal(&a, "second", &f2, 0));
  CHECK_RC(open_is(&b, &f2, "second", 0), STEK_ESIGNATURE);
  stream_wipe(&a);
  stream_wipe(&b);
}

static void test_a_replayed_frame_is_rejected(void) {
  stream a, b;
  frame f1, f2;
  CHECK(pair(&a, &b) == 0);
  CHECK_OK(seal(&a, "first", &f1, 0));
  CHECK_OK(seal(&a, "second", &f2, 0));
  CHECK_OK(open_is(&b, &f1, "first", 0));
  CHECK_RC(open_is(&b, &f1, "first", 0), STEK_ESIGNATURE);
  stream_wipe(&a);
  stream_wipe(&b);
}

static void test_a_frame_from_another_session_is_rejected(void) {
  stream a, b, c, d;
  frame f;
  CHECK(pair(&a, &b) == 0);
  CHECK(pair(&c, &d) == 0);
  CHECK_OK(seal(&c, "elsewhere", &f, 0));
  CHECK_RC(open_is(&b, &f, "elsewhere", 0), STEK_ESIGNATURE);
  /* a frame bounced back to its own sender does not open either */
  CHECK_OK(seal(&a, "echo", &f, 0));
  CHECK_RC(open_is(&a, &f, "echo", 0), STEK_ESIGNATURE);
  stream_wipe(&a);
  stream_wipe(&b);
  stream_wipe(&c);
  stream_wipe(&d);
}

static void test_truncated_frames_are_rejected(void) {
  stream a, b;
  frame f;
  uint8_t out[256];
  size_t len;
  int final;
  CHECK(pair(&a, &b) == 0);
  CHECK_OK(seal(&a, "a frame", &f, 0));
  for (size_t cut = 0; cut < f.len; cut++) {
    CHECK(pair(&a, &b) == 0);
    CHECK_OK(seal(&a, "a frame", &f, 0));
    int rc = stream_open(&b, f.b, cut, out, sizeof out, &len, &final);
    CHECK(rc == (cut < STREAM_OVERHEAD ? STEK_ETRUNCATED : STEK_ESIGNATURE));
  }
  stream_wipe(&a);
  stream_wipe(&b);
}

static void test_the_final_frame_closes_each_direction(void) {
  stream a, b;
  frame f, late;
  CHECK(pair(&a, &b) == 0);
  CHECK_OK(seal(&a, "not yet", &f, 0));
  CHECK_OK(open_is(&b, &f, "not yet", 0)); /* a cut here shows: no final */
  CHECK_OK(seal(&a, "bye", &f, 1));
  CHECK_RC(seal(&a, "too late", &late, 0), STEK_ESTATE);
  CHECK_OK(open_is(&b, &f, "bye", 1));
  CHECK_RC(open_is(&b, &f, "bye", 1), STEK_ESTATE);
  /* the other direction is still open */
  CHECK_OK(seal(&b, "reply", &f, 1));
  CHECK_OK(open_is(&a, &f, "reply", 1));
  stream_wipe(&a);
  stream_wipe(&b);
}

static void test_headers_come_first_and_once(void) {
  uint8_t ab[32], ba[32], ha[STREAM_HEADER], hb[STREAM_HEADER];
  stream a, b;
  frame f;
  cr_random(ab, sizeof ab);
  cr_random(ba, sizeof ba);
  CHECK_OK(stream_init(&a, ab, ba, ha));
  CHECK_OK(stream_init(&b, ba, ab, hb));
  CHECK_OK(seal(&a, "early", &f, 0)); /* sealing needs no peer header */
  CHECK_RC(open_is(&b, &f, "early", 0), STEK_ESTATE);
  ha[0] ^= 1; /* a tampered header makes the first frame fail */
  CHECK_OK(stream_accept_header(&b, ha));
  CHECK_RC(stream_accept_header(&b, ha), STEK_ESTATE);
  CHECK_RC(open_is(&b, &f, "early", 0), STEK_ESIGNATURE);
  stream_wipe(&a);
  stream_wipe(&b);
}

static void test_buffer_sizes_are_checked_without_harm(void) {
  stream a, b;
  frame f;
  uint8_t out[8];
  size_t len;
  int final;
  CHECK(pair(&a, &b) == 0);
  CHECK_RC(stream_seal(&a, (const uint8_t *)"abc", 3, f.b, 3 + STREAM_OVERHEAD - 1, &f.len, 0),
           STEK_EINVAL);
  CHECK_OK(seal(&a, "0123456789", &f, 0));
  CHECK_RC(stream_open(&b, f.b, f.len, out, sizeof out, &len, &final), STEK_EINVAL);
  CHECK_OK(open_is(&b, &f, "0123456789", 0)); /* nothing was lost */
  stream_wipe(&a);
  stream_wipe(&b);
}

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t k = 0; k < n; k++)
    if (b[k]) return 0;
  return 1;
}

static void test_keys_are_wiped(void) {
  uint8_t ab[32], ba[32], ha[STREAM_HEADER], hb[STREAM_HEADER];
  stream a, b;
  frame f;
  cr_random(ab, sizeof ab);
  cr_random(ba, sizeof ba);
  CHECK_OK(stream_init(&a, ab, ba, ha));
  CHECK_OK(stream_init(&b, ba, ab, hb));
  CHECK(!all_zero(a.key_recv, sizeof a.key_recv));
  CHECK_OK(stream_accept_header(&a, hb)); /* the receive key is now in the state */
  CHECK(all_zero(a.key_recv, sizeof a.key_recv));
  CHECK_OK(seal(&a, "last", &f, 1)); /* after the final frame the send state goes */
  CHECK(all_zero(a.push, sizeof a.push));
  CHECK_OK(stream_accept_header(&b, ha));
  CHECK_OK(open_is(&b, &f, "last", 1));
  CHECK(all_zero(b.pull, sizeof b.pull));
  stream_wipe(&a);
  stream_wipe(&b);
  CHECK(all_zero(&a, sizeof a) && all_zero(&b, sizeof b));
  /* a failure wipes the receiving state */
  CHECK(pair(&a, &b) == 0);
  CHECK_OK(seal(&a, "x", &f, 0));
  f.b[0] ^= 1;
  CHECK_RC(open_is(&b, &f, "x", 0), STEK_ESIGNATURE);
  CHECK(all_zero(b.pull, sizeof b.pull));
  stream_wipe(&a);
  stream_wipe(&b);
}

int main(void) {
  if (cr_setup()) return 2;
  RUN(test_frames_round_trip_both_ways);
  RUN(test_keys_from_the_handshake_make_a_working_session);
  RUN(test_a_tampered_frame_is_rejected_and_ends_the_session);
  RUN(test_reordered_frames_are_rejected);
  RUN(test_a_replayed_frame_is_rejected);
  RUN(test_a_frame_from_another_session_is_rejected);
  RUN(test_truncated_frames_are_rejected);
  RUN(test_the_final_frame_closes_each_direction);
  RUN(test_headers_come_first_and_once);
  RUN(test_buffer_sizes_are_checked_without_harm);
  RUN(test_keys_are_wiped);
  return test_report();
}
