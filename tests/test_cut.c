/* A sync cut at every byte (PROTOCOL.md §8): a member with changes
 * another lacks syncs with it over the in-memory pipe, and the connection
 * dies after k bytes of the transcript -- for every k from 0 to its
 * length, both directions counted in the order the bytes are sent; once
 * with the changes going to the server, once coming from it.  After each
 * cut: nothing either side held is gone, nothing appeared that neither
 * side had, each store is exactly the state of its changes (the state
 * hash of a fresh store given the same changes), and the next clean sync
 * moves exactly the changes still missing and converges.
 *
 * Every cut starts from copies of the same two store files (or from the
 * stores a cut that committed nothing left as they were), so each replays
 * the same transcript: only keys and nonces differ, never a length. */
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>

#include "test_sess.h"

#define EACH 5 /* changes one side has that the other lacks (and the share's) */
#define MAX_HELD 32

static test_dir dir;

/* The changes a store holds, as wires, in stek_changes() order. */
typedef struct held {
  uint8_t *wire[MAX_HELD];
  size_t len[MAX_HELD], n;
} held;

static int add_wire(void *ctx, const uint8_t *b, size_t len) {
  held *h = ctx;
  if (h->n == MAX_HELD || !(h->wire[h->n] = malloc(len))) return STEK_ENOMEM;
  memcpy(h->wire[h->n], b, len);
  h->len[h->n++] = len;
  return 0;
}

static void held_free(held *h) {
  for (size_t i = 0; i < h->n; i++) free(h->wire[i]);
  h->n = 0;
}

static int held_of(stek *s, held *h) {
  held_free(h);
  return stek_changes(s, add_wire, h);
}

static int holds(const held *h, const uint8_t *w, size_t len) {
  for (size_t i = 0; i < h->n; i++)
    if (h->len[i] == len && !memcmp(h->wire[i], w, len)) return 1;
  return 0;
}

/* Every change of a is in b or (c non-NULL) in c. */
static int within(const held *a, const held *b, const held *c) {
  for (size_t i = 0; i < a->n; i++)
    if (!holds(b, a->wire[i], a->len[i]) && !(c && holds(c, a->wire[i], a->len[i])))
      return 0;
  return 1;
}

/* ---- store files ---- */

static void sub_path(const char *sub, const char *name, char *out, size_t cap) {
  if (snprintf(out, cap, "%s/%s%s%s", dir.path, sub, name ? "/" : "", name ? name : "") >=
      (int)cap) {
    fprintf(stderr, "path too long: %s/%s\n", dir.path, sub);
    exit(2);
  }
}

static stek *open_in(const char *sub, const char *name) {
  char path[700];
  stek *s;
  sub_path(sub, name, path, sizeof path);
  if (stek_open(&s, path, NULL) != STEK_OK) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  return s;
}

/* Copy every file of folder from into folder to (made if need be). */
static void copy_folder(const char *from, const char *to) {
  char src[700], dst[700], buf[1 << 16];
  sub_path(to, NULL, dst, sizeof dst);
  mkdir(dst, 0700);
  sub_path(from, NULL, src, sizeof src);
  DIR *d = opendir(src);
  struct dirent *e;
  if (!d) exit(2);
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    sub_path(from, e->d_name, src, sizeof src);
    sub_path(to, e->d_name, dst, sizeof dst);
    int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ssize_t n;
    if (in < 0 || out < 0) exit(2);
    while ((n = read(in, buf, sizeof buf)) > 0)
      if (write(out, buf, (size_t)n) != n) exit(2);
    close(in);
    close(out);
  }
  closedir(d);
}

static void remove_folder(const char *sub) {
  char path[700];
  sub_path(sub, NULL, path, sizeof path);
  test_rmtree(path);
}

/* ---- the cut pipe ---- */

/* Move output from -> to, delivering at most *budget bytes (SIZE_MAX: no
 * limit); *moved = 1 if anything went. */
static void move_upto(sess *from, sess *to, size_t *budget, int *moved) {
  const uint8_t *p;
  size_t n;
  if (*budget == 0 || sess_output(from, &p, &n) != 0 || n == 0) return;
  size_t give = n < *budget ? n : *budget;
  uint8_t *copy = malloc(give);
  if (!copy) exit(2);
  memcpy(copy, p, give);
  sess_consumed(from, n);
  if (*budget != SIZE_MAX) *budget -= give;
  sess_input(to, copy, give);
  free(copy);
  *moved = 1;
}

/* A sync of client with server over a connection that dies after cut
 * bytes (SIZE_MAX: a clean one).  The bytes delivered go to *sent, the
 * client's counters to *st; the result is test_sess_result(client). */
static int sync_cut(stek *client, stek *server, size_t cut, size_t *sent, stek_sync_stats *st) {
  sess *c, *sv;
  size_t budget = cut;
  if (sess_new(&c, client, 1) || sess_new(&sv, server, 0)) exit(2);
  for (int round = 0; round < 100000; round++) {
    int moved = 0;
    move_upto(c, sv, &budget, &moved);
    move_upto(sv, c, &budget, &moved);
    if (sess_state(c) != SESS_RUNNING && sess_state(sv) != SESS_RUNNING) break;
    if (!moved) break;
  }
  int rc = test_sess_result(c);
  if (sent) *sent = cut == SIZE_MAX ? 0 : cut - budget;
  if (st) sess_stats(c, st);
  sess_free(c);
  sess_free(sv);
  return rc;
}

/* ---- "exactly the state of its changes" ---- */

/* The state hashes of the sets of changes seen so far (a cut leaves one of
 * a few): the first time a set is seen, a fresh store of the space is
 * given exactly those changes. */
typedef struct witness {
  uint8_t set[32], hash[32];
} witness;

static witness seen[64];
static size_t n_seen;

static void set_digest(const held *h, uint8_t out[32]) {
  crypto_generichash_state g;
  crypto_generichash_init(&g, NULL, 0, 32);
  for (size_t i = 0; i < h->n; i++) crypto_generichash_update(&g, h->wire[i], h->len[i]);
  crypto_generichash_final(&g, out, 32);
}

/* The state hash of a store holding exactly h; keys shares the space
 * (writing a change of its own: a store kept for this alone). */
static int hash_of_set(const held *h, stek *keys, uint8_t out[32]) {
  uint8_t set[32], dev[STEK_DEVICE_ID_BYTES], *share;
  size_t len;
  set_digest(h, set);
  for (size_t i = 0; i < n_seen; i++)
    if (!memcmp(seen[i].set, set, 32)) return memcpy(out, seen[i].hash, 32), 0;
  if (n_seen == sizeof seen / sizeof *seen) return STEK_ENOMEM;
  stek *w = open_in("witness", NULL);
  stek_device_id(w, dev);
  int rc = stek_space_share(keys, dev, &share, &len);
  if (!rc) {
    rc = stek_space_accept(w, share, len);
    stek_free(share);
  }
  for (size_t i = 0; !rc && i < h->n; i++) rc = stek_ingest(w, h->wire[i], h->len[i]);
  if (!rc) rc = stek_state_hash(w, out);
  stek_close(w);
  remove_folder("witness");
  remove_folder("witness-wal");
  remove_folder("witness-shm");
  if (rc) return rc;
  memcpy(seen[n_seen].set, set, 32);
  memcpy(seen[n_seen++].hash, out, 32);
  return 0;
}

/* After a cut: nothing held before is gone, nothing appeared that neither
 * side had, and each store is exactly the state of the changes it holds. */
static int cut_kept_everything(stek *a, stek *b, const held *a0, const held *b0, held *a1,
                               held *b1, stek *keys) {
  uint8_t ha[32], hb[32], wa[32], wb[32];
  return !held_of(a, a1) && !held_of(b, b1) &&            /* */
         within(a0, a1, NULL) && within(b0, b1, NULL) &&  /* nothing gone */
         within(a1, a0, b0) && within(b1, a0, b0) &&      /* nothing invented */
         !stek_state_hash(a, ha) && !stek_state_hash(b, hb) &&
         !hash_of_set(a1, keys, wa) && !hash_of_set(b1, keys, wb) &&
         !memcmp(ha, wa, 32) && !memcmp(hb, wb, 32);
}

/* The next clean sync moves exactly what is missing on each side, and
 * both end in the state the uncut sync ends in. */
static int clean_sync_completes(stek *a, stek *b, const held *a1, const held *b1,
                                uint64_t total, const uint8_t final_hash[32]) {
  stek_sync_stats st;
  uint8_t ha[32], hb[32];
  return !sync_cut(a, b, SIZE_MAX, NULL, &st) && st.ops_received == total - a1->n &&
         st.ops_sent == total - b1->n && !stek_state_hash(a, ha) && !stek_state_hash(b, hb) &&
         !memcmp(ha, final_hash, 32) && !memcmp(hb, final_hash, 32);
}

/* m is a member holding EACH changes (and the share's) that n lacks, n
 * holds nothing; they sync with m as the client if m_client, else as the
 * server, cut at every byte of the transcript in turn. */
static void cut_everywhere(int m_client) {
  held m0 = {0}, n0 = {0}, m1 = {0}, n1 = {0};
  uint8_t space[16], final_hash[32];
  stek_sync_stats st;
  size_t length, sent;
  char path[700];
  test_dir_make(&dir);
  n_seen = 0;
  /* The two stores every cut starts from, in folder "proto". */
  sub_path("proto", NULL, path, sizeof path);
  CHECK(mkdir(path, 0700) == 0);
  stek *m = open_in("proto", "m"), *n = open_in("proto", "n");
  CHECK_OK(stek_space_create(m, "s", space));
  test_join(m, n);
  CHECK_OK(test_put_n(m, "m", EACH));
  CHECK_OK(held_of(m, &m0));
  CHECK_OK(held_of(n, &n0));
  stek_close(m);
  stek_close(n);
  const uint64_t total = m0.n;
  CHECK(m0.n == EACH + TEST_JOIN_CHANGES && n0.n == 0);
  copy_folder("proto", "keys"); /* a member that builds the witnesses */
  stek *keys = open_in("keys", "m");

  /* The uncut transcript: its length, and the state both end in. */
  copy_folder("proto", "cut");
  m = open_in("cut", "m");
  n = open_in("cut", "n");
  stek *c = m_client ? m : n, *sv = m_client ? n : m;
  CHECK_OK(sync_cut(c, sv, (size_t)1 << 30, &length, &st));
  CHECK_OK(stek_state_hash(m, final_hash));
  stek_close(m);
  stek_close(n);
  remove_folder("cut");
  CHECK((m_client ? st.ops_sent : st.ops_received) == total);
  CHECK(length > 1000);

  /* A cut that committed nothing leaves both stores as they were: the
   * next cut runs on them as they are, and the clean sync after the last
   * of such a run checks all of them (it is the next clean sync of each).
   * Otherwise the next cut starts from fresh copies. */
  m = n = NULL;
  size_t first = 0; /* the first cut since the last clean sync */
  for (size_t k = 0; k < length; k++) {
    if (!m) {
      copy_folder("proto", "cut");
      m = open_in("cut", "m");
      n = open_in("cut", "n");
      c = m_client ? m : n;
      sv = m_client ? n : m;
      first = k;
    }
    sync_cut(c, sv, k, &sent, NULL);
    int kept = sent == k && cut_kept_everything(m, n, &m0, &n0, &m1, &n1, keys);
    if (!kept) fprintf(stderr, "  cut at byte %zu of %zu\n", k, length);
    CHECK(kept);
    if (n1.n == n0.n && k + 1 < length) continue; /* nothing committed */
    int resumed = m_client ? clean_sync_completes(m, n, &m1, &n1, total, final_hash)
                           : clean_sync_completes(n, m, &n1, &m1, total, final_hash);
    if (!resumed)
      fprintf(stderr, "  clean sync after the cuts at bytes %zu..%zu (%zu of %zu held)\n",
              first, k, n1.n, m1.n);
    CHECK(resumed);
    stek_close(m);
    stek_close(n);
    m = n = NULL;
    remove_folder("cut");
  }
  CHECK(n_seen == 2); /* both states a cut can leave were seen: before, after */
  stek_close(keys);
  held_free(&m0);
  held_free(&n0);
  held_free(&m1);
  held_free(&n1);
  test_dir_remove(&dir);
}

static void test_sync_to_the_server_cut_at_every_byte_loses_nothing(void) {
  cut_everywhere(1);
}

static void test_sync_from_the_server_cut_at_every_byte_loses_nothing(void) {
  cut_everywhere(0);
}

int main(void) {
  RUN(test_sync_to_the_server_cut_at_every_byte_loses_nothing);
  RUN(test_sync_from_the_server_cut_at_every_byte_loses_nothing);
  return test_report();
}
