/* Fuzz target: stek_bundle_import() (sync/bundle) on a store holding the
 * fixed space.  The first byte picks the mode:
 *   even  the rest is a bundle file as found on a USB stick;
 *   odd   the rest is frame *plaintexts* as chunks (2-byte length, bytes):
 *         the harness writes a valid header for the fixed space and seals
 *         each chunk as the next frame (the last one final), so the fuzzer
 *         reaches the wire list and the checks behind the encryption.
 * Invariants: no crash, no leak; an import that fails stores nothing
 * (state hash unchanged) unless it failed while ingesting. */
#include "crypto/stream.h"
#include "fuzz.h"
#include "sync/bundle.h"

static stek *s;
static char path[700];

static void write_sealed(FILE *f, const uint8_t *data, size_t size) {
  uint8_t kb[32], salt[BUNDLE_SALT] = {0}, tag[BUNDLE_TAG], key[32], ssh[STREAM_HEADER];
  uint8_t head[BUNDLE_HEADER_BYTES];
  stream st;
  bundle_key(kb, fuzz_space_key);
  bundle_tag(tag, kb, salt);
  bundle_stream_key(key, kb, salt);
  if (stream_init(&st, key, key, ssh)) abort();
  bundle_header_encode(head, salt, tag, ssh);
  fwrite(head, 1, sizeof head, f);
  fuzz_in in = {data, size};
  uint8_t *ct = malloc(65536 + STREAM_OVERHEAD);
  do {
    const uint8_t *p = NULL;
    size_t n = fuzz_chunk(&in, &p), cn;
    if (stream_seal(&st, p, n, ct, 65536 + STREAM_OVERHEAD, &cn, in.n == 0)) abort();
    uint8_t h[3] = {0xc4, (uint8_t)cn};
    if (cn > 0xff) h[0] = 0xc5, h[1] = (uint8_t)(cn >> 8), h[2] = (uint8_t)cn;
    fwrite(h, 1, cn > 0xff ? 3 : 2, f);
    fwrite(ct, 1, cn, f);
  } while (in.n);
  free(ct);
  stream_wipe(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!s) {
    s = fuzz_store("bundle");
    snprintf(path, sizeof path, "%s/input.bundle", fuzz_tmpdir());
  }
  if (size < 1) return 0;
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (data[0] & 1) write_sealed(f, data + 1, size - 1);
  else fwrite(data + 1, 1, size - 1, f);
  if (fclose(f)) abort();
  uint8_t before[32], after[32];
  uint64_t got = 0, dup = 0;
  if (stek_state_hash(s, before)) abort();
  int rc = stek_bundle_import(s, path, &got, &dup);
  if (stek_state_hash(s, after)) abort();
  if (rc < 0 && got == 0 && memcmp(before, after, 32)) abort();
  return 0;
}
