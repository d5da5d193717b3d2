/* Fuzz target: the pairing messages a new device sends to a member
 * (sync/session, docs/PROTOCOL.md §9 "Pairing").  The harness opens a
 * pairing offer on a member store, plays the new device with fixed keys:
 * a real handshake under the public pairing PSK, its stream header, then
 * each input message sealed as a frame -- so the fuzzer writes plaintext
 * NONCE / CONFIRM / anything else against the member's COMMIT, REVEAL,
 * confirmation and SHARE.  Input: one byte whose bit 0 is the member's
 * user's answer, then messages as (flags: u8, length: u16 BE, bytes); flags
 * bit 0 marks the frame final.  Invariants: no crash, no leak, no
 * unbounded output; the offer is spent after every attempt. */
#include "crypto/sas.h"
#include "crypto/stream.h"
#include "fuzz_sess.h"

static stek *s;
static int answer;

static int member_confirm(void *ctx, const char sas[7]) {
  (void)ctx;
  if (strlen(sas) != 6) abort(); /* an invariant of ours, not outside data */
  return answer;
}

/* fuzz_noise_init() with the public pairing PSK. */
static void pair_noise_init(noise_hs *hs) {
  uint8_t seed[32] = {'f', 'u', 'z', 'z', '-', 'p', 'a', 'i', 'r'}, psk[32];
  sas_pair_psk(psk);
  fuzz_noise_keys(hs, 1, seed, 0x51, psk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!s) {
    char path[700];
    stek_config cfg;
    uint8_t dev[32];
    mp_writer w;
    stek_config_init(&cfg);
    cfg.clock = fuzz_clock_read;
    cfg.clock_ctx = &fuzz_now;
    cfg.pair_confirm = member_confirm;
    snprintf(path, sizeof path, "%s/pair", fuzz_tmpdir());
    int rc = stek_open(&s, path, &cfg);
    if (rc) fuzz_die("stek_open", rc);
    stek_device_id(s, dev);
    fuzz_space_share(dev, &w);
    rc = stek_space_accept(s, (const uint8_t *)w.buf.data, w.buf.size);
    mp_writer_free(&w);
    if (rc < 0) fuzz_die("stek_space_accept", rc);
  }
  fuzz_in in = {data, size};
  answer = fuzz_u8(&in) & 1;
  sess *ss;
  noise_hs hs;
  stream st;
  if (stek_pair_offer(s, 60000)) fuzz_die("stek_pair_offer", STEK_ERROR);
  if (sess_new(&ss, s, 0)) abort();
  pair_noise_init(&hs);
  fuzz_sess_handshake(ss, &hs, &st); /* the member's header and COMMIT drained */

  uint8_t *sealed = malloc(65536 + STREAM_OVERHEAD);
  while (in.n && sess_state(ss) == SESS_RUNNING) {
    int fin = fuzz_u8(&in) & 1;
    const uint8_t *p;
    size_t n = fuzz_chunk(&in, &p), cn;
    if (stream_seal(&st, n ? p : NULL, n, sealed, 65536 + STREAM_OVERHEAD, &cn, fin)) break;
    fuzz_sess_frame(ss, sealed, cn);
    for (int k = 0; k < 8; k++) { /* REVEAL, then the question, CONFIRM or SHARE */
      const uint8_t *o;
      size_t on;
      if (sess_output(ss, &o, &on) || on == 0) break;
      sess_consumed(ss, on);
    }
  }
  free(sealed);
  stream_wipe(&st);
  sess_free(ss);
  /* One attempt per offer: a second pairing finds none. */
  uint8_t first[NOISE_MAX_MESSAGE];
  size_t mn;
  if (sess_new(&ss, s, 0)) abort();
  pair_noise_init(&hs);
  if (noise_write_message(&hs, NULL, 0, first, sizeof first, &mn)) abort();
  fuzz_sess_frame(ss, first, mn);
  if (sess_state(ss) != SESS_FAILED) abort();
  noise_wipe(&hs);
  sess_free(ss);
  return 0;
}
