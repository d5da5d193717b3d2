/*
 * Encryption at rest (DESIGN §4 "lost or stolen tablet", §5): with a
 * passphrase, nothing SQLite writes -- database, WAL, journal -- holds a
 * record's text or a plaintext SQLite header; the right passphrase gives
 * the data back (search included), a wrong one STEK_EKEY with the files
 * untouched; a flipped byte is STEK_ECORRUPT, never different data; a
 * passphrase change keeps everything; a kill mid-write loses no commit.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "store/vfs.h"
#include "test.h"

#define MARKER "zebracornish"
#define PASS "correct horse battery staple"
#define NEWPASS "tr0ub4dor&3"

static stek_config config(const char *pass) {
  stek_config cfg;
  stek_config_init(&cfg);
  cfg.passphrase = pass;
  cfg.passphrase_len = pass ? strlen(pass) : 0;
  cfg.pwhash_opslimit = STEK_PWHASH_OPSLIMIT_MIN; /* fast, for tests */
  cfg.pwhash_memlimit = STEK_PWHASH_MEMLIMIT_MIN;
  return cfg;
}

static int open_with(stek **s, const char *path, const char *pass) {
  stek_config cfg = config(pass);
  return stek_open(s, path, &cfg);
}

/* ---- files ---- */

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  uint8_t *buf = NULL;
  *len = 0;
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  if (buf) *len = fread(buf, 1, (size_t)n, fp);
  fclose(fp);
  return buf;
}

static int spit(const char *path, const uint8_t *buf, size_t len) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return -1;
  size_t n = fwrite(buf, 1, len, fp);
  return fclose(fp) == 0 && n == len ? 0 : -1;
}

static int copy_file(const char *from, const char *to) {
  size_t len;
  uint8_t *buf = slurp(from, &len);
  int rc = buf ? spit(to, buf, len) : -1;
  free(buf);
  return rc;
}

static int contains(const uint8_t *hay, size_t n, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = 0; i + m <= n; i++)
    if (hay[i] == (uint8_t)needle[0] && !memcmp(hay + i, needle, m)) return 1;
  return 0;
}

/* How many files in dir contain needle (each named on stderr); *files
 * gets the number of files scanned, *bytes their total size. */
static int scan_dir(const char *dir, const char *needle, int *files, size_t *bytes) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int hits = 0;
  *files = 0;
  *bytes = 0;
  while (d && (e = readdir(d))) {
    char path[1024];
    size_t len;
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    uint8_t *buf = slurp(path, &len);
    if (!buf) continue;
    (*files)++;
    *bytes += len;
    if (contains(buf, len, needle)) {
      fprintf(stderr, "  %s holds \"%s\"\n", e->d_name, needle);
      hits++;
    }
    free(buf);
  }
  if (d) closedir(d);
  return hits;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* Every file of dir, concatenated with its name: to see that nothing
 * changed. */
static char *dir_image(const char *dir, size_t *len) {
  char *img = NULL;
  size_t n = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  char *names[32];
  int k = 0;
  while (d && (e = readdir(d)) && k < 32)
    if (e->d_name[0] != '.') names[k++] = strdup(e->d_name);
  if (d) closedir(d);
  for (int i = 0; i < k; i++) /* readdir order is not stable: sort */
    for (int j = i + 1; j < k; j++)
      if (strcmp(names[i], names[j]) > 0) {
        char *t = names[i];
        names[i] = names[j];
        names[j] = t;
      }
  for (int i = 0; i < k; i++) {
    char path[1024];
    size_t flen;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    uint8_t *buf = slurp(path, &flen);
    size_t nl = strlen(names[i]);
    img = realloc(img, n + nl + 1 + flen);
    memcpy(img + n, names[i], nl + 1);
    if (flen) memcpy(img + n + nl + 1, buf, flen);
    n += nl + 1 + flen;
    free(buf);
    free(names[i]);
  }
  *len = n;
  return img;
}

/* ---- content ---- */

#define STR(n, v) {n, {.kind = STEK_VALUE_STR, .str = v}}

/* A space with directory entries, a schedule and signals, each carrying
 * MARKER; n entries make the store span many pages. */
static int fill(stek *s, int n) {
  uint8_t space[STEK_ID_BYTES], id[STEK_ID_BYTES];
  char receipt[STEK_RECEIPT_BYTES], summary[600];
  int rc = stek_space_create(s, "at-rest", space);
  for (int i = 0; !rc && i < n; i++) {
    snprintf(summary, sizeof summary,
             "Hulp bij energiefacturen %d: " MARKER " budgetbegeleiding, premies,"
             " sociaal tarief, afbetalingsplan en een luisterend oor voor wie de"
             " rekening niet meer rond krijgt; breng je laatste factuur mee.",
             i);
    stek_field f[] = {STR("org", "OCMW Bezemheide"), STR("service", "Energiecafé " MARKER),
                      STR("category", "energy"), STR("summary.nl", summary)};
    stek_id_new(id);
    rc = stek_directory_put(s, id, f, 4);
  }
  stek_field sch[] = {STR("title", "Koffie " MARKER), STR("site", "Kantine Bezemheide"),
                      STR("start", "2026-03-19T13:30:00"),
                      STR("rrule", "FREQ=WEEKLY;BYDAY=TH")};
  stek_id_new(id);
  if (!rc) rc = stek_schedule_put(s, id, sch, 4);
  for (int i = 0; !rc && i < 3; i++)
    rc = stek_signal_record(s, "energy", "Bezemheide", "afgesloten " MARKER, receipt);
  return rc;
}

typedef struct text {
  char *p;
  size_t n;
} text;

static void add(text *t, const char *s) {
  size_t m = strlen(s);
  t->p = realloc(t->p, t->n + m + 2);
  memcpy(t->p + t->n, s, m);
  t->p[t->n + m] = '\n';
  t->n += m + 1;
  t->p[t->n] = 0;
}

static int dump_record(void *ctx, const stek_record *r) {
  char *json = stek_record_json(r);
  add(ctx, json ? json : "(no memory)");
  stek_free(json);
  return 0;
}

static int dump_signal(void *ctx, const stek_signal *g) {
  char line[4600];
  snprintf(line, sizeof line, "%s %s %s %s", g->week, g->theme, g->site, g->text);
  add(ctx, line);
  return 0;
}

/* Everything the store gives back, as text; the first failing call's code. */
static int dump(stek *s, text *t) {
  uint8_t hash[STEK_HASH_BYTES];
  char hex[33];
  uint64_t changes;
  int rc = stek_list(s, NULL, dump_record, t);
  if (!rc) rc = stek_signal_list(s, dump_signal, t);
  if (!rc) rc = stek_directory_search(s, MARKER, NULL, NULL, dump_record, t);
  if (!rc) rc = stek_change_count(s, &changes);
  if (!rc) rc = stek_state_hash(s, hash);
  if (!rc) {
    stek_id_to_hex(hash, hex); /* the first half is enough to compare */
    add(t, hex);
  }
  return rc;
}

/* Open path and read everything: 0 and the text, or the failing code. */
static int open_and_dump(const char *path, const char *pass, text *t) {
  stek *s;
  int rc = open_with(&s, path, pass);
  if (!rc) rc = dump(s, t);
  if (rc && rc != STEK_ECORRUPT && rc != STEK_EKEY)
    fprintf(stderr, "  %s: %s\n", stek_strerror(rc), stek_errmsg(s));
  if (rc == STEK_ECORRUPT && !strstr(stek_errmsg(s), "corrupt") &&
      !strstr(stek_errmsg(s), "malformed")) {
    fprintf(stderr, "  corruption without saying so: %s\n", stek_errmsg(s));
    rc = STEK_ERROR;
  }
  stek_close(s);
  return rc;
}

/* ---- tests ---- */

static void test_no_marker_or_sqlite_header_in_any_file(void) {
  test_dir dir;
  char path[600], wal[620];
  stek *s;
  int files, open_files;
  size_t bytes, open_bytes;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  snprintf(wal, sizeof wal, "%s-wal", path);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(fill(s, 60));
  /* While open: the database, its WAL and -shm. */
  CHECK(exists(wal));
  CHECK(scan_dir(dir.path, MARKER, &open_files, &open_bytes) == 0);
  CHECK(scan_dir(dir.path, "SQLite format 3", &open_files, &open_bytes) == 0);
  CHECK(open_files >= 3 && open_bytes > 100000);
  stek_close(s);
  /* Closed: the database alone (the WAL was checkpointed away). */
  CHECK(scan_dir(dir.path, MARKER, &files, &bytes) == 0);
  CHECK(scan_dir(dir.path, "SQLite format 3", &files, &bytes) == 0);
  CHECK(files >= 1 && bytes > 100000);
  /* Nor in fragments that a page boundary could not split. */
  CHECK(scan_dir(dir.path, "Bezemheide", &files, &bytes) == 0);
  CHECK(scan_dir(dir.path, "CREATE TABLE", &files, &bytes) == 0);
  test_dir_remove(&dir);
}

/* The rollback journal, which a store in WAL mode does not use, through
 * the VFS directly: PERSIST keeps the journal file, full of old pages. */
static void test_rollback_journal_is_encrypted_too(void) {
  test_dir dir;
  char path[600], journal[620], err[256];
  vfs *v;
  sqlite3 *db;
  int files;
  size_t bytes, jlen;
  test_dir_make(&dir);
  test_dir_file(&dir, "plain.db", path, sizeof path);
  snprintf(journal, sizeof journal, "%s-journal", path);
  CHECK_OK(vfs_open(&v, path, PASS, strlen(PASS), 1, 8192, err, sizeof err));
  CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs_name(v)) ==
        SQLITE_OK);
  CHECK(sqlite3_exec(db,
                     "PRAGMA journal_mode=PERSIST; CREATE TABLE t(x);"
                     " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<500)"
                     " INSERT INTO t SELECT '" MARKER " row ' || i FROM n;"
                     " UPDATE t SET x = 'changed ' || x; DELETE FROM t WHERE rowid % 2 = 0;",
                     NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
  free(slurp(journal, &jlen));
  CHECK(jlen > 20000); /* the journal holds the old pages */
  CHECK(scan_dir(dir.path, MARKER, &files, &bytes) == 0);
  CHECK(scan_dir(dir.path, "SQLite format 3", &files, &bytes) == 0);
  CHECK(files == 2);
  /* ... and the data reads back through it. */
  sqlite3_stmt *st;
  CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, vfs_name(v)) == SQLITE_OK);
  CHECK(sqlite3_prepare_v2(db, "SELECT count(*), min(x) FROM t", -1, &st, NULL) == SQLITE_OK);
  CHECK(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == 250);
  CHECK(!strcmp((const char *)sqlite3_column_text(st, 1), "changed " MARKER " row 1"));
  sqlite3_finalize(st);
  sqlite3_close(db);
  vfs_close(v);
  test_dir_remove(&dir);
}

static void test_right_passphrase_gives_everything_back(void) {
  test_dir dir;
  char path[600];
  stek *s;
  text before = {0}, after = {0};
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(fill(s, 40));
  CHECK_OK(dump(s, &before));
  stek_close(s);
  CHECK_OK(open_and_dump(path, PASS, &after));
  CHECK(after.n > 10000 && after.n == before.n && !memcmp(after.p, before.p, after.n));
  CHECK(contains((const uint8_t *)after.p, after.n, "afgesloten " MARKER));
  /* Full-text search works above the VFS: 40 entries found by a word. */
  int hits = 0;
  for (char *p = after.p; (p = strstr(p, "\"Energiecaf")); p++) hits++;
  CHECK(hits == 80); /* each entry once in the listing, once in the search */
  free(before.p);
  free(after.p);
  test_dir_remove(&dir);
}

static void test_wrong_passphrase_is_ekey_and_changes_nothing(void) {
  test_dir dir;
  char path[600];
  stek *s;
  size_t n1, n2;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(fill(s, 5));
  stek_close(s);
  char *img1 = dir_image(dir.path, &n1);
  CHECK_RC(open_with(&s, path, "correct horse battery stapler"), STEK_EKEY);
  CHECK(strstr(stek_errmsg(s), "passphrase") != NULL);
  stek_close(s);
  CHECK_RC(open_with(&s, path, "x"), STEK_EKEY);
  stek_close(s);
  char *img2 = dir_image(dir.path, &n2);
  CHECK(n1 == n2 && !memcmp(img1, img2, n1)); /* same files, same bytes */
  CHECK(!strcmp(stek_strerror(STEK_EKEY), "wrong passphrase or key"));
  free(img1);
  free(img2);
  test_dir_remove(&dir);
}

static void test_plaintext_and_encrypted_stores_do_not_mix(void) {
  test_dir dir;
  char plain[600], sealed[600];
  stek *s;
  size_t n1, n2;
  test_dir_make(&dir);
  test_dir_file(&dir, "plain.db", plain, sizeof plain);
  test_dir_file(&dir, "sealed.db", sealed, sizeof sealed);
  CHECK_OK(stek_open(&s, plain, NULL));
  CHECK_OK(fill(s, 2));
  stek_close(s);
  CHECK_OK(open_with(&s, sealed, PASS));
  CHECK_OK(fill(s, 2));
  stek_close(s);
  char *img1 = dir_image(dir.path, &n1);
  CHECK_RC(open_with(&s, plain, PASS), STEK_EKEY);
  CHECK(strstr(stek_errmsg(s), "not encrypted") != NULL);
  stek_close(s);
  CHECK_RC(stek_open(&s, sealed, NULL), STEK_EKEY);
  CHECK(strstr(stek_errmsg(s), "passphrase") != NULL);
  stek_close(s);
  stek_config cfg = config(PASS);
  cfg.passphrase_len = 0;
  CHECK_RC(stek_open(&s, sealed, &cfg), STEK_EINVAL);
  stek_close(s);
  char *img2 = dir_image(dir.path, &n2);
  CHECK(n1 == n2 && !memcmp(img1, img2, n1));
  free(img1);
  free(img2);
  test_dir_remove(&dir);
}

/* Read the whole logical file through the VFS, as SQLite would: the code
 * of the first failing read. */
static int read_all_through_vfs(const char *path, const char *pass) {
  char err[256];
  vfs *v;
  sqlite3 *db = NULL;
  sqlite3_file *fp = NULL;
  sqlite3_int64 size = 0;
  uint8_t buf[1000];
  int rc = vfs_open(&v, path, pass, strlen(pass), 1, 8192, err, sizeof err);
  if (rc) return rc == STEK_ECORRUPT ? SQLITE_IOERR_DATA : SQLITE_ERROR;
  rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, vfs_name(v));
  if (rc) rc = sqlite3_extended_errcode(db); /* it reads block 0 already */
  if (!rc) rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fp);
  if (!rc) rc = fp->pMethods->xFileSize(fp, &size);
  /* Odd-sized reads at odd offsets: every block, and its edges. */
  for (sqlite3_int64 at = 0; !rc && at < size; at += sizeof buf)
    rc = fp->pMethods->xRead(fp, buf, size - at < (int)sizeof buf ? (int)(size - at) : (int)sizeof buf,
                             at);
  sqlite3_close(db);
  vfs_close(v);
  return rc;
}

static void flip(const char *path, size_t at) {
  size_t len;
  uint8_t *buf = slurp(path, &len);
  if (buf && at < len) {
    buf[at] ^= 0x20;
    spit(path, buf, len);
  }
  free(buf);
}

/* Every block of the database (and its header) with one byte flipped:
 * the VFS refuses the block; the API gives STEK_ECORRUPT or, where the
 * block is not read, exactly the data -- never different data. */
static void test_flipped_byte_in_database_is_corruption(void) {
  test_dir dir;
  char path[600], copy[600];
  stek *s;
  text good = {0};
  size_t len;
  int corrupt = 0, blocks = 0;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  test_dir_file(&dir, "copy.db", copy, sizeof copy);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(fill(s, 30));
  CHECK_OK(dump(s, &good));
  stek_close(s);
  free(slurp(path, &len));
  CHECK(len > 12288 + 20 * 4136);
  CHECK(read_all_through_vfs(path, PASS) == SQLITE_OK);
  /* Header bytes: magic, kind, salt, cost, nonce, tag, checksum, padding. */
  static const size_t header_at[] = {3, 9, 20, 40, 60, 80, 100, 120, 500};
  for (size_t i = 0; i < sizeof header_at / sizeof *header_at; i++) {
    text t = {0};
    CHECK(copy_file(path, copy) == 0);
    flip(copy, header_at[i]);
    int rc = open_and_dump(copy, PASS, &t);
    free(t.p);
    CHECK_RC(rc, STEK_ECORRUPT);
  }
  /* A byte in each block, moving through it: nonce, ciphertext, tag. */
  for (size_t at = 12288; at < len; at += 4136) {
    text t = {0};
    size_t where = at + (size_t)(blocks * 977) % 4136;
    if (where >= len) where = len - 1;
    CHECK(copy_file(path, copy) == 0);
    flip(copy, where);
    int raw = read_all_through_vfs(copy, PASS);
    if (raw != SQLITE_IOERR_DATA)
      fprintf(stderr, "  byte %zu (block %d of %zu bytes): raw read %d\n", where, blocks, len, raw);
    CHECK(raw == SQLITE_IOERR_DATA);
    int rc = open_and_dump(copy, PASS, &t);
    if (rc == STEK_ECORRUPT) corrupt++;
    else CHECK(rc == 0 && t.n == good.n && !memcmp(t.p, good.p, t.n));
    free(t.p);
    blocks++;
  }
  fprintf(stderr, "  %d of %d damaged blocks were read through the API (STEK_ECORRUPT);"
                  " the others left the data as it was\n", corrupt, blocks);
  CHECK(corrupt >= blocks / 2);
  free(good.p);
  test_dir_remove(&dir);
}

/* A crash image: the database and its WAL as a kill would leave them. */
static int crash_image(const char *from, const char *to) {
  char a[700], b[700];
  snprintf(a, sizeof a, "%s-wal", from);
  snprintf(b, sizeof b, "%s-wal", to);
  unlink(b);
  snprintf(b, sizeof b, "%s-shm", to);
  unlink(b);
  snprintf(b, sizeof b, "%s-wal", to);
  return copy_file(from, to) || copy_file(a, b);
}

static void test_flipped_byte_in_wal_is_corruption(void) {
  test_dir dir;
  char path[600], copy[600], wal[620];
  stek *s;
  text good = {0}, t0 = {0};
  size_t len;
  int corrupt = 0, blocks = 0;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  test_dir_file(&dir, "copy.db", copy, sizeof copy);
  snprintf(wal, sizeof wal, "%s-wal", copy);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(fill(s, 25));
  CHECK_OK(dump(s, &good));
  /* s stays open: its WAL holds the commits. */
  CHECK(crash_image(path, copy) == 0);
  free(slurp(wal, &len));
  CHECK(len > 12288 + 10 * 4136);
  CHECK_OK(open_and_dump(copy, PASS, &t0)); /* the image is whole */
  CHECK(t0.n == good.n && !memcmp(t0.p, good.p, t0.n));
  static const size_t header_at[] = {3, 9, 20, 80, 100, 120, 500};
  for (size_t i = 0; i < sizeof header_at / sizeof *header_at; i++) {
    text t = {0};
    CHECK(crash_image(path, copy) == 0);
    flip(wal, header_at[i]);
    int rc = open_and_dump(copy, PASS, &t);
    free(t.p);
    CHECK_RC(rc, STEK_ECORRUPT);
  }
  size_t n_blocks = (len - 12288 + 4135) / 4136;
  for (size_t at = 12288, k = 0; at < len; at += 4136, k++) {
    text t = {0};
    if (k % 7 && k + 3 < n_blocks) continue; /* a sample, and the tail */
    size_t where = at + (size_t)(blocks * 1231) % 4136;
    if (where >= len) where = len - 1;
    CHECK(crash_image(path, copy) == 0);
    flip(wal, where);
    int rc = open_and_dump(copy, PASS, &t);
    if (rc == STEK_ECORRUPT) corrupt++;
    else CHECK(rc == 0 && t.n == good.n && !memcmp(t.p, good.p, t.n));
    free(t.p);
    blocks++;
  }
  fprintf(stderr, "  %d of %d damaged WAL blocks: STEK_ECORRUPT; the others (the unsynced"
                  " tail) left the data as it was\n", corrupt, blocks);
  CHECK(corrupt >= blocks - 2);
  stek_close(s);
  free(good.p);
  free(t0.p);
  test_dir_remove(&dir);
}

/* What a power cut leaves: the blocks written since the last sync torn
 * or never written.  The commits before stay; no corruption is claimed. */
static void test_torn_wal_tail_keeps_earlier_commits(void) {
  test_dir dir;
  char path[600], copy[600], wal[620];
  stek *s;
  text good = {0}, t = {0};
  size_t len1, len2;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  test_dir_file(&dir, "copy.db", copy, sizeof copy);
  snprintf(wal, sizeof wal, "%s-wal", copy);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(fill(s, 10));
  CHECK_OK(dump(s, &good));
  CHECK(crash_image(path, copy) == 0);
  uint8_t *synced = slurp(wal, &len1); /* the WAL as of the last commit */
  /* One more commit, whose blocks then "tear": garbage past the old end. */
  uint8_t id[STEK_ID_BYTES];
  stek_field f[] = {STR("org", "later " MARKER), STR("category", "energy")};
  stek_id_new(id);
  CHECK_OK(stek_directory_put(s, id, f, 2));
  CHECK(crash_image(path, copy) == 0);
  uint8_t *later = slurp(wal, &len2);
  CHECK(synced && later && len2 > len1);
  /* The header region (slots) as of the first image, as if the slot write
   * after the second sync was lost; the new blocks half garbage. */
  memcpy(later, synced, 12288);
  for (size_t i = len1 - (len1 - 12288) % 4136; i < len2; i += 7) later[i] ^= 0x5a;
  CHECK(spit(wal, later, len2) == 0);
  CHECK_OK(open_and_dump(copy, PASS, &t));
  CHECK(t.n == good.n && !memcmp(t.p, good.p, t.n));
  stek_close(s);
  free(synced);
  free(later);
  free(good.p);
  free(t.p);
  test_dir_remove(&dir);
}

static void test_rekey_keeps_everything_under_the_new_passphrase(void) {
  test_dir dir;
  char path[600], tmp[620];
  stek *s, *other;
  text before = {0}, after = {0}, live = {0};
  int files;
  size_t bytes;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.rekey", path);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(fill(s, 20));
  CHECK_OK(dump(s, &before));
  /* Not while another handle has the store open, nor in a transaction. */
  CHECK_OK(open_with(&other, path, PASS));
  CHECK_RC(stek_rekey(s, NEWPASS, strlen(NEWPASS)), STEK_ESTATE);
  CHECK(!exists(tmp));
  stek_close(other);
  CHECK_OK(stek_begin(s));
  CHECK_RC(stek_rekey(s, NEWPASS, strlen(NEWPASS)), STEK_ESTATE);
  CHECK_OK(stek_rollback(s));
  CHECK_RC(stek_rekey(s, NEWPASS, 0), STEK_EINVAL);
  /* Both handles still work after the refusals. */
  CHECK_OK(dump(s, &live));
  CHECK(live.n == before.n);
  CHECK_OK(stek_rekey(s, NEWPASS, strlen(NEWPASS)));
  CHECK(!exists(tmp));
  /* The handle goes on, on the new store. */
  uint8_t id[STEK_ID_BYTES];
  stek_field f[] = {STR("org", "after the rekey"), STR("category", "energy")};
  stek_id_new(id);
  CHECK_OK(stek_directory_put(s, id, f, 2));
  stek_close(s);
  CHECK_RC(open_and_dump(path, PASS, &after), STEK_EKEY);
  CHECK_OK(open_and_dump(path, NEWPASS, &after));
  CHECK(contains((const uint8_t *)after.p, after.n, "after the rekey"));
  CHECK(after.n > before.n && contains((const uint8_t *)after.p, after.n, "afgesloten " MARKER));
  CHECK(scan_dir(dir.path, MARKER, &files, &bytes) == 0);
  CHECK(scan_dir(dir.path, "SQLite format 3", &files, &bytes) == 0);
  CHECK(files == 1);
  free(before.p);
  free(after.p);
  free(live.p);
  test_dir_remove(&dir);
}

static void test_rekey_encrypts_a_plaintext_store(void) {
  test_dir dir;
  char path[600];
  stek *s;
  text before = {0}, after = {0};
  int files;
  size_t bytes;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  CHECK_OK(open_with(&s, path, NULL));
  CHECK_OK(fill(s, 10));
  CHECK_OK(dump(s, &before));
  CHECK(scan_dir(dir.path, MARKER, &files, &bytes) > 0); /* plaintext, as before */
  CHECK_OK(stek_rekey(s, PASS, strlen(PASS)));
  stek_close(s);
  CHECK(scan_dir(dir.path, MARKER, &files, &bytes) == 0);
  CHECK(scan_dir(dir.path, "SQLite format 3", &files, &bytes) == 0);
  CHECK_RC(stek_open(&s, path, NULL), STEK_EKEY);
  stek_close(s);
  CHECK_OK(open_and_dump(path, PASS, &after));
  CHECK(after.n == before.n && !memcmp(after.p, before.p, after.n));
  free(before.p);
  free(after.p);
  test_dir_remove(&dir);
}

/* Two handles on one encrypted store (as the server and the announcer):
 * each sees the other's commits, through WAL restarts and checkpoints. */
static void test_two_handles_share_an_encrypted_store(void) {
  test_dir dir;
  char path[600];
  stek *a, *b;
  uint8_t space[STEK_ID_BYTES];
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  CHECK_OK(open_with(&a, path, PASS));
  CHECK_OK(stek_space_create(a, "shared", space));
  CHECK_OK(open_with(&b, path, PASS));
  CHECK_OK(stek_space_use(b, space));
  for (int i = 0; i < 300; i++) {
    stek *w = i % 3 ? a : b, *r = i % 3 ? b : a;
    uint8_t id[STEK_ID_BYTES] = {0};
    stek_record *rec;
    stek_value v = {.kind = STEK_VALUE_INT, .i = i}, got;
    memcpy(id, &i, sizeof i);
    CHECK_OK(stek_put(w, "log", id, "n", &v));
    CHECK_OK(stek_get(r, "log", id, &rec));
    CHECK_OK(stek_record_find(rec, "n", &got));
    CHECK(got.i == i);
    stek_record_free(rec);
  }
  uint64_t na, nb;
  CHECK_OK(stek_change_count(a, &na));
  CHECK_OK(stek_change_count(b, &nb));
  CHECK(na == 300 && nb == 300);
  stek_close(a);
  stek_close(b);
  text t = {0};
  CHECK_OK(open_and_dump(path, PASS, &t));
  free(t.p);
  test_dir_remove(&dir);
}

/* A reader on its own handle and thread while another writes: the reader
 * may catch a WAL block in the middle of its rewrite (the one where a
 * commit ends and the next begins), and must read it again, not report
 * damage. */
typedef struct race {
  const char *path;
  atomic_int done, reads, reader_stopped;
  int writer_rc, reader_rc;
} race;

static void *race_writer(void *arg) {
  race *r = arg;
  stek *s;
  int rc = open_with(&s, r->path, PASS);
  /* Keep writing until the reader has read at least 100 times, however
   * slow either thread is: the count depends on progress, not on time. */
  for (int i = 0; !rc && (i < 300 || (r->reads < 100 && !r->reader_stopped)); i++) {
    uint8_t id[STEK_ID_BYTES] = {1};
    stek_value v = {.kind = STEK_VALUE_INT, .i = i};
    memcpy(id + 1, &i, sizeof i);
    rc = stek_put(s, "log", id, "n", &v);
  }
  stek_close(s);
  r->writer_rc = rc;
  r->done = 1;
  return NULL;
}

static int count_cb(void *ctx, const stek_record *rec) {
  (void)rec;
  ++*(int *)ctx;
  return 0;
}

static void *race_reader(void *arg) {
  race *r = arg;
  stek *s;
  int rc = open_with(&s, r->path, PASS), last = 0;
  while (!rc && !r->done) {
    int n = 0;
    rc = stek_list(s, "log", count_cb, &n);
    if (!rc && n < last) rc = STEK_ERROR; /* a commit went missing */
    last = n;
    r->reads++;
  }
  if (rc) fprintf(stderr, "  reader: %s: %s\n", stek_strerror(rc), stek_errmsg(s));
  stek_close(s);
  r->reader_rc = rc;
  r->reader_stopped = 1;
  return NULL;
}

static void test_reader_beside_a_writer_never_sees_damage(void) {
  test_dir dir;
  char path[600];
  stek *s;
  uint8_t space[STEK_ID_BYTES];
  pthread_t w, rd;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(stek_space_create(s, "race", space));
  stek_close(s);
  race r = {.path = path, .done = 0, .reads = 0, .reader_stopped = 0};
  CHECK(pthread_create(&rd, NULL, race_reader, &r) == 0);
  CHECK(pthread_create(&w, NULL, race_writer, &r) == 0);
  pthread_join(w, NULL);
  pthread_join(rd, NULL);
  CHECK_OK(r.writer_rc);
  CHECK_OK(r.reader_rc);
  CHECK(r.reads >= 100);
  test_dir_remove(&dir);
}

/* Four handles opening a store that does not exist yet, at once: one
 * creates it (salt, header, identity), the others open that one. */
typedef struct opener {
  const char *path;
  int rc;
  uint8_t device[STEK_DEVICE_ID_BYTES];
} opener;

static void *open_one(void *arg) {
  opener *o = arg;
  stek *s;
  o->rc = open_with(&s, o->path, PASS);
  if (!o->rc) stek_device_id(s, o->device);
  else fprintf(stderr, "  open: %s: %s\n", stek_strerror(o->rc), stek_errmsg(s));
  stek_close(s);
  return NULL;
}

static void test_first_opens_at_once_agree_on_one_store(void) {
  test_dir dir;
  char path[600];
  pthread_t t[4];
  opener o[4];
  test_dir_make(&dir);
  for (int round = 0; round < 5; round++) {
    snprintf(path, sizeof path, "%s/s%d.db", dir.path, round);
    for (int i = 0; i < 4; i++) {
      o[i].path = path;
      CHECK(pthread_create(&t[i], NULL, open_one, &o[i]) == 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
      CHECK_OK(o[i].rc);
      CHECK(!memcmp(o[i].device, o[0].device, sizeof o[0].device));
    }
  }
  test_dir_remove(&dir);
}

static void child(const char *path, int fd) {
  stek *s;
  if (open_with(&s, path, PASS) != STEK_OK) _exit(3);
  for (uint32_t i = 0;; i++) {
    uint8_t id[STEK_ID_BYTES] = {0};
    memcpy(id, &i, sizeof i);
    stek_value v = {.kind = STEK_VALUE_INT, .i = i};
    if (stek_begin(s) || stek_put(s, "log", id, "n", &v) || stek_put(s, "log", id, "m", &v) ||
        stek_commit(s))
      _exit(4);
    if (write(fd, &i, sizeof i) != sizeof i) _exit(5);
  }
}

static void test_kill_during_encrypted_writes_loses_no_commit(void) {
  test_dir dir;
  char path[600];
  uint8_t space[STEK_ID_BYTES];
  stek *s;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  CHECK_OK(open_with(&s, path, PASS));
  CHECK_OK(stek_space_create(s, "crash", space));
  stek_close(s);
  uint32_t total = 0;
  for (int round = 0; round < 4; round++) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      child(path, fds[1]);
    }
    close(fds[1]);
    uint32_t last = 0, got;
    int reports = 0;
    while (reports < 40 + 37 * round && read(fds[0], &got, sizeof got) == sizeof got) {
      last = got;
      reports++;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    CHECK(reports > 0);
    CHECK_OK(open_with(&s, path, PASS));
    for (uint32_t i = 0; i <= last; i++) {
      uint8_t id[STEK_ID_BYTES] = {0};
      stek_record *r;
      memcpy(id, &i, sizeof i);
      CHECK_OK(stek_get(s, "log", id, &r));
      stek_record_free(r);
    }
    stek_close(s);
    total += last + 1;
  }
  CHECK(total > 100);
  test_dir_remove(&dir);
}

int main(void) {
  RUN(test_no_marker_or_sqlite_header_in_any_file);
  RUN(test_rollback_journal_is_encrypted_too);
  RUN(test_right_passphrase_gives_everything_back);
  RUN(test_wrong_passphrase_is_ekey_and_changes_nothing);
  RUN(test_plaintext_and_encrypted_stores_do_not_mix);
  RUN(test_flipped_byte_in_database_is_corruption);
  RUN(test_flipped_byte_in_wal_is_corruption);
  RUN(test_torn_wal_tail_keeps_earlier_commits);
  RUN(test_rekey_keeps_everything_under_the_new_passphrase);
  RUN(test_rekey_encrypts_a_plaintext_store);
  RUN(test_two_handles_share_an_encrypted_store);
  RUN(test_reader_beside_a_writer_never_sees_damage);
  RUN(test_first_opens_at_once_agree_on_one_store);
  RUN(test_kill_during_encrypted_writes_loses_no_commit);
  return test_report();
}
