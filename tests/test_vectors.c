/*
 * The change encoding, pinned byte for byte by the test vectors in
 * docs/PROTOCOL.md.  The test reads the vectors from the document itself, so
 * the spec and the code cannot drift apart: each vector's ops are rebuilt
 * here with the library's encoders, signed with the vector's seed, and the
 * result must equal the document's hex exactly; the document's change must
 * also decode to the same id, author, space and HLC.
 *
 * The same for the vectors of the space share (§7), the invitation token
 * (§9) and the blind relay (§12), whose values were computed independently
 * (Python's hashlib and pyca/cryptography) before the code was run on them.
 *
 * `test_vectors --print` prints the vectors in the document's format (used
 * to write them; a change to the format must update the document).
 */
#include <sodium.h>

#include "api.h"
#include "codec/mp.h"
#include "crdt/change.h"
#include "crdt/hlc.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "sync/invite.h"
#include "sync/relay.h"
#include "sync/session.h"
#include "test.h"
#include "test_doc.h"

#define MAX_HEX 4096

typedef struct vec {
  char name[64];
  char seed[MAX_HEX], space[MAX_HEX], hlc[64], ops[MAX_HEX], change[MAX_HEX],
      id[MAX_HEX];
} vec;

static void fill(uint8_t *b, size_t n, uint8_t start) {
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(start + i);
}

/* The ops of each named vector, built with the library's encoders. */
static int build_ops(const char *name, mp_writer *w, uint32_t *n) {
  uint8_t rid[16];
  fill(rid, 16, 0x10);
  if (strcmp(name, "put-one-field") == 0) {
    stek_value v = {.kind = STEK_VALUE_STR, .str = "CAW"};
    op_encode_put(w, "directory", rid, "org", &v);
    *n = 1;
  } else if (strcmp(name, "put-values-delete-set") == 0) {
    const char *langs[] = {"nl", "fr"};
    stek_value i = {.kind = STEK_VALUE_INT, .i = -1};
    stek_value l = {.kind = STEK_VALUE_LIST, .list = langs, .list_len = 2};
    op_encode_put(w, "schedule", rid, "cost", &i);
    op_encode_put(w, "schedule", rid, "languages", &l);
    op_encode_put(w, "schedule", rid, "notes", NULL);
    op_encode_set(w, OP_SET_ADD, "schedule", rid, "exdates", "2026-03-05");
    op_encode_life(w, OP_DELETE, "schedule", rid);
    *n = 5;
  } else if (strcmp(name, "restore-and-unicode") == 0) {
    stek_value v = {.kind = STEK_VALUE_STR,
                    .str = "Budgethulp \xe2\x80\x94 gratis, \xe2\x82\xac" "0"};
    op_encode_life(w, OP_RESTORE, "directory", rid);
    op_encode_set(w, OP_SET_REMOVE, "directory", rid, "tags", "schulden");
    op_encode_put(w, "directory", rid, "summary.nl", &v);
    *n = 3;
  } else {
    return -1;
  }
  return 0;
}

static const char *const names[] = {"put-one-field", "put-values-delete-set",
                                    "restore-and-unicode"};

static void hex(char *out, const uint8_t *b, size_t n) {
  sodium_bin2hex(out, n * 2 + 1, b, n);
}

/* Encode one vector from its inputs into v (all hex). */
static int make(const char *name, vec *v) {
  uint8_t seed[32], pk[32], sk[64], space[16], id[32];
  mp_writer ops, wire;
  uint32_t n;
  uint64_t hlc = hlc_make(UINT64_C(1767225600000), 7); /* 2026-01-01T00:00Z */
  fill(seed, 32, 0x00);
  fill(space, 16, 0xa0);
  crypto_sign_seed_keypair(pk, sk, seed);
  mp_writer_init(&ops);
  if (build_ops(name, &ops, &n)) return -1;
  if (change_encode(&wire, space, pk, sk, hlc, (uint8_t *)ops.buf.data,
                    ops.buf.size, n, id))
    return -1;
  snprintf(v->name, sizeof v->name, "%s", name);
  hex(v->seed, seed, 32);
  hex(v->space, space, 16);
  snprintf(v->hlc, sizeof v->hlc, "%llu", (unsigned long long)hlc);
  hex(v->ops, (uint8_t *)ops.buf.data, ops.buf.size);
  hex(v->change, (uint8_t *)wire.buf.data, wire.buf.size);
  hex(v->id, id, 32);
  mp_writer_free(&ops);
  mp_writer_free(&wire);
  return 0;
}

static void print_wrapped(const char *key, const char *hexs) {
  size_t len = strlen(hexs);
  printf("%s:", key);
  for (size_t i = 0; i < len; i += 64) printf("%s%.64s\n", i ? "  " : " ", hexs + i);
  if (!len) printf("\n");
}

/* Read the vectors out of the document: blocks of "key: value" lines, hex
 * values continued on lines that start with two spaces. */
static int parse_doc(const char *path, vec *out, int max) {
  FILE *f = fopen(path, "r");
  char line[512];
  int n = -1;
  char *cur = NULL;
  size_t cap = 0;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    char *val;
    if (strncmp(line, "vector: ", 8) == 0 && n + 1 < max) {
      n++;
      memset(&out[n], 0, sizeof out[n]);
      snprintf(out[n].name, sizeof out[n].name, "%.63s", line + 8);
      cur = NULL;
      continue;
    }
    if (n < 0) continue;
    if (cur && strncmp(line, "  ", 2) == 0 && line[2] != ' ') {
      strncat(cur, line + 2, cap - strlen(cur) - 1);
      continue;
    }
    cur = NULL;
    if (!(val = strstr(line, ": "))) continue;
    *val = 0;
    val += 2;
    struct { const char *key; char *dst; size_t cap; } keys[] = {
        {"seed", out[n].seed, MAX_HEX}, {"space", out[n].space, MAX_HEX},
        {"hlc", out[n].hlc, 64},        {"ops", out[n].ops, MAX_HEX},
        {"change", out[n].change, MAX_HEX}, {"id", out[n].id, MAX_HEX}};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
      if (strcmp(line, keys[k].key) == 0) {
        snprintf(keys[k].dst, keys[k].cap, "%s", val);
        cur = keys[k].dst;
        cap = keys[k].cap;
      }
  }
  fclose(f);
  return n + 1;
}

static const char *doc_path = "docs/PROTOCOL.md";
static vec doc[16];
static int n_doc;

static void test_document_has_at_least_three_vectors(void) {
  CHECK(n_doc >= 3);
}

static void test_encoder_matches_every_vector_byte_for_byte(void) {
  for (int i = 0; i < n_doc; i++) {
    vec mine;
    CHECK(make(doc[i].name, &mine) == 0);
    if (strcmp(mine.ops, doc[i].ops) || strcmp(mine.change, doc[i].change) ||
        strcmp(mine.id, doc[i].id) || strcmp(mine.seed, doc[i].seed) ||
        strcmp(mine.space, doc[i].space) || strcmp(mine.hlc, doc[i].hlc))
      fprintf(stderr, "  vector %s differs from the document\n", doc[i].name);
    CHECK(strcmp(mine.ops, doc[i].ops) == 0);
    CHECK(strcmp(mine.change, doc[i].change) == 0);
    CHECK(strcmp(mine.id, doc[i].id) == 0);
  }
}

static void test_document_changes_decode_and_verify(void) {
  for (int i = 0; i < n_doc; i++) {
    uint8_t wire[MAX_HEX / 2], id[32], seed[32], pk[32], sk[64];
    size_t len, idlen, slen;
    change c;
    char space[40];
    CHECK(sodium_hex2bin(wire, sizeof wire, doc[i].change, strlen(doc[i].change),
                         NULL, &len, NULL) == 0);
    CHECK(sodium_hex2bin(id, 32, doc[i].id, 64, NULL, &idlen, NULL) == 0);
    CHECK(sodium_hex2bin(seed, 32, doc[i].seed, 64, NULL, &slen, NULL) == 0);
    crypto_sign_seed_keypair(pk, sk, seed);
    CHECK_OK(change_decode(wire, len, &c));
    CHECK_OK(change_verify(&c));
    CHECK(memcmp(c.id, id, 32) == 0);
    CHECK(memcmp(c.author, pk, 32) == 0);
    hex(space, c.space, 16);
    CHECK(strcmp(space, doc[i].space) == 0);
    CHECK(c.hlc == strtoull(doc[i].hlc, NULL, 10));
  }
}

/* ---- §7, §9, §12 ---- */

static test_dir dir;

/* Open a sealed share as device s -- [1, sealed: bin] (cnt 2) or
 * ["relay", 1, sealed: bin] (cnt 3): the plaintext into out, its length,
 * or -1. */
static long open_share(stek *s, const uint8_t *share, size_t len, uint32_t cnt, uint8_t *out) {
  mp_reader r;
  uint32_t n, clen, wlen;
  uint64_t ver;
  const char *word;
  const uint8_t *c, *sk;
  uint8_t pk[32];
  mp_reader_init(&r, share, len);
  if (mp_read_array(&r, &n, 15) || n != cnt) return -1;
  if (cnt == 3 && (mp_read_str(&r, &word, &wlen, 8) || wlen != 5)) return -1;
  if (mp_read_uint(&r, &ver) || ver != 1) return -1;
  if (mp_read_bin(&r, &c, &clen, 0, 4096) || clen <= CR_SEAL_OVERHEAD) return -1;
  store_device(s->st, pk, &sk);
  if (cr_open_as_device(out, c, clen, pk, sk)) return -1;
  return (long)(clen - CR_SEAL_OVERHEAD);
}

/* A store that holds the space of §7's vector, by accepting its inner part
 * sealed to it; NULL if it does not. */
static stek *holder_of_the_vector_space(const char *name) {
  uint8_t inner[256], sealed[256 + CR_SEAL_OVERHEAD], dev[32];
  long n = doc_hex("## 7.", "inner", inner, sizeof inner);
  stek *s = test_store(&dir, name, NULL);
  stek_device_id(s, dev);
  if (n < 0 || cr_seal_to_device(sealed, inner, (size_t)n, dev)) return s;
  mp_writer w;
  mp_writer_init(&w);
  mp_write_array(&w, 2);
  mp_write_uint(&w, 1);
  mp_write_bin(&w, sealed, (size_t)n + CR_SEAL_OVERHEAD);
  if (stek_space_accept(s, (const uint8_t *)w.buf.data, w.buf.size))
    fprintf(stderr, "  accept: %s\n", stek_errmsg(s));
  mp_writer_free(&w);
  return s;
}

static void test_space_share_vector_of_protocol_md(void) {
  uint8_t inner[256], got[256], id[16], dev[32], *share;
  const char *name;
  size_t len, count;
  test_dir_make(&dir);
  long n = doc_hex("## 7.", "inner", inner, sizeof inner);
  stek *x = holder_of_the_vector_space("x"), *y = test_store(&dir, "y", NULL);
  CHECK(n > 0);
  /* Read: the space of the vector. */
  CHECK_OK(stek_space_count(x, &count));
  CHECK(count == 1);
  CHECK_OK(stek_space_get(x, 0, id, &name));
  for (int i = 0; i < 16; i++) CHECK(id[i] == 0xa0 + i);
  CHECK(strcmp(name, "Bezemheide") == 0);
  /* Written: sharing it on seals exactly the vector's inner part. */
  stek_device_id(y, dev);
  CHECK_OK(stek_space_share(x, dev, &share, &len));
  long m = open_share(y, share, len, 2, got);
  stek_free(share);
  CHECK(m == n && !memcmp(got, inner, (size_t)n));
  stek_close(x);
  stek_close(y);
  test_dir_remove(&dir);
}

static void test_invitation_vector_of_protocol_md(void) {
  char token[64], lower[64];
  uint8_t secret[16], psk[32], got[32], m[14 + 16];
  CHECK(doc_text("## 9.", "token", token, sizeof token) == 0);
  CHECK(doc_hex("## 9.", "secret", secret, sizeof secret) == 16);
  CHECK(doc_hex("## 9.", "psk", psk, sizeof psk) == 32);
  /* psk = BLAKE2b-256("stek-invite-v1" || secret), and the token decodes
   * to it, as typed or in lower case. */
  memcpy(m, "stek-invite-v1", 14);
  memcpy(m + 14, secret, 16);
  crypto_generichash(got, 32, m, sizeof m, NULL, 0);
  CHECK(!memcmp(got, psk, 32));
  CHECK_OK(invite_token_psk(token, got));
  CHECK(!memcmp(got, psk, 32));
  for (size_t i = 0; i <= strlen(token); i++)
    lower[i] = (char)(token[i] >= 'A' && token[i] <= 'Z' ? token[i] + 32 : token[i]);
  CHECK_OK(invite_token_psk(lower, got));
  CHECK(!memcmp(got, psk, 32));
}

static void test_relay_vector_of_protocol_md(void) {
  uint8_t key[32], want[1024], k[32], tag[16], id[32], sealed[512], wire[512], opened[512];
  uint8_t dev[32], *share;
  uint64_t ts;
  size_t wlen, slen;
  const char *S = "## 12.";
  CHECK(doc_hex(S, "space_key", key, 32) == 32);
  relay_from_space(key, k);
  CHECK(doc_hex(S, "k_relay", want, sizeof want) == 32 && !memcmp(k, want, 32));
  relay_tag(k, tag);
  CHECK(doc_hex(S, "tag", want, sizeof want) == 16 && !memcmp(tag, want, 16));
  relay_psk(k, want + 64);
  CHECK(doc_hex(S, "psk", want, 64) == 32 && !memcmp(want + 64, want, 32));
  uint8_t kops[32];
  relay_ops_key(key, kops);
  CHECK(doc_hex(S, "k_ops", want, sizeof want) == 32 && !memcmp(kops, want, 32));
  /* The op: the change of §15's put-one-field vector. */
  int v = -1;
  for (int i = 0; i < n_doc; i++)
    if (!strcmp(doc[i].name, "put-one-field")) v = i;
  CHECK(v >= 0);
  CHECK(sodium_hex2bin(wire, sizeof wire, doc[v].change, strlen(doc[v].change), NULL, &wlen,
                       NULL) == 0);
  CHECK_OK(wire_id_ts(wire, wlen, id, &ts));
  relay_seal(sealed, wire, wlen, id, ts, kops);
  slen = wlen + CR_AEAD_TAG;
  CHECK(doc_hex(S, "sealed", want, sizeof want) == (long)slen && !memcmp(sealed, want, slen));
  CHECK_OK(relay_open(opened, sealed, slen, id, ts, kops));
  CHECK(!memcmp(opened, wire, wlen));
  /* A SEALED message carrying it alone, the last of its batch. */
  mp_writer one, msg;
  mp_writer_init(&one);
  mp_write_array(&one, 3);
  mp_write_uint(&one, ts);
  mp_write_bin(&one, id, 32);
  mp_write_bin(&one, sealed, slen);
  mp_writer_init(&msg);
  sess_msg_ops(&msg, 1, 1, one.buf.data, one.buf.size, 1);
  long mlen = doc_hex(S, "message", want, sizeof want);
  int same = mlen == (long)msg.buf.size && !memcmp(msg.buf.data, want, msg.buf.size);
  mp_writer_free(&one);
  mp_writer_free(&msg);
  CHECK(same);
  /* The relay share of the vector's space seals exactly share_inner. */
  test_dir_make(&dir);
  stek *x = holder_of_the_vector_space("x"), *r = test_store(&dir, "r", NULL);
  size_t len;
  stek_device_id(r, dev);
  int rc = stek_relay_share(x, dev, &share, &len);
  long got = rc ? -1 : open_share(r, share, len, 3, opened);
  int accepted = rc ? rc : stek_relay_accept(r, share, len);
  if (!rc) stek_free(share);
  stek_close(x);
  stek_close(r);
  test_dir_remove(&dir);
  CHECK_OK(rc);
  CHECK_OK(accepted);
  long ilen = doc_hex(S, "share_inner", want, sizeof want);
  CHECK(ilen > 0 && got == ilen && !memcmp(opened, want, (size_t)ilen));
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 2;
  if (argc > 1 && strcmp(argv[1], "--print") == 0) {
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
      vec v;
      if (make(names[i], &v)) return 2;
      printf("vector: %s\n", v.name);
      print_wrapped("seed", v.seed);
      print_wrapped("space", v.space);
      printf("hlc: %s\n", v.hlc);
      print_wrapped("ops", v.ops);
      print_wrapped("change", v.change);
      print_wrapped("id", v.id);
      printf("\n");
    }
    return 0;
  }
  if (argc > 1) doc_path = argv[1];
  n_doc = parse_doc(doc_path, doc, 16);
  if (n_doc < 0) {
    fprintf(stderr, "cannot read %s\n", doc_path);
    return 2;
  }
  RUN(test_document_has_at_least_three_vectors);
  RUN(test_encoder_matches_every_vector_byte_for_byte);
  RUN(test_document_changes_decode_and_verify);
  RUN(test_space_share_vector_of_protocol_md);
  RUN(test_invitation_vector_of_protocol_md);
  RUN(test_relay_vector_of_protocol_md);
  return test_report();
}
