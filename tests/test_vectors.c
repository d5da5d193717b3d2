/*
 * The change encoding, pinned byte for byte by the test vectors in
 * docs/PROTOCOL.md.  The test reads the vectors from the document itself, so
 * the spec and the code cannot drift apart: each vector's ops are rebuilt
 * here with the library's encoders, signed with the vector's seed, and the
 * result must equal the document's hex exactly; the document's change must
 * also decode to the same id, author, space and HLC.
 *
 * `test_vectors --print` prints the vectors in the document's format (used
 * to write them; a change to the format must update the document).
 */
#include <sodium.h>

#include "codec/mp.h"
#include "crdt/change.h"
#include "crdt/hlc.h"
#include "test.h"

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
      snprintf(out[n].name, sizeof out[n].name, "%s", line + 8);
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
  return test_report();
}
