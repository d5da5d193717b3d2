/*
 * test.h -- the tiny harness every C test uses.
 *
 * A test file defines functions named after the behaviour they check
 * (test_delete_beats_concurrent_update) and lists them in main() with RUN().
 * CHECK() stops the current test on the first failed condition and records
 * where; the program prints one line per test and exits non-zero if any
 * failed.  Helpers for temporary stores live here too, so that every test
 * gets a fresh directory under $TMPDIR that is removed afterwards.
 */
#ifndef STEK_TEST_H
#define STEK_TEST_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* also set by tests/CMakeLists.txt */
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stek.h"

static int test_failed_now;
static int test_passed, test_failed;

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,    \
              #cond);                                                       \
      test_failed_now = 1;                                                  \
      return;                                                               \
    }                                                                       \
  } while (0)

/* Check a libstek call returned want; print both codes' names if not. */
#define CHECK_RC(call, want)                                                \
  do {                                                                      \
    int rc_ = (call);                                                       \
    if (rc_ != (want)) {                                                    \
      fprintf(stderr, "  %s:%d: %s returned %d (%s), wanted %d (%s)\n",     \
              __FILE__, __LINE__, #call, rc_, stek_strerror(rc_), (want),   \
              stek_strerror(want));                                         \
      test_failed_now = 1;                                                  \
      return;                                                               \
    }                                                                       \
  } while (0)

#define CHECK_OK(call) CHECK_RC(call, STEK_OK)

#define RUN(fn)                                                             \
  do {                                                                      \
    test_failed_now = 0;                                                    \
    fn();                                                                   \
    if (test_failed_now) {                                                  \
      test_failed++;                                                        \
      printf("FAIL %s\n", #fn);                                             \
    } else {                                                                \
      test_passed++;                                                        \
      printf("ok   %s\n", #fn);                                             \
    }                                                                       \
    fflush(stdout);                                                         \
  } while (0)

static inline int test_report(void) {
  printf("%d passed, %d failed\n", test_passed, test_failed);
  return test_failed ? 1 : 0;
}

/* ---- temporary directories ---- */

static inline void test_rmtree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[4096];
      if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
        test_rmtree(sub);
    }
    closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

typedef struct test_dir {
  char path[512];
} test_dir;

static inline void test_dir_make(test_dir *t) {
  const char *base = getenv("TMPDIR");
  snprintf(t->path, sizeof t->path, "%s/stek-test-XXXXXX", base ? base : "/tmp");
  if (!mkdtemp(t->path)) {
    perror("mkdtemp");
    exit(2);
  }
}

static inline void test_dir_file(const test_dir *t, const char *name, char *out,
                                 size_t cap) {
  snprintf(out, cap, "%s/%s", t->path, name);
}

static inline void test_dir_remove(test_dir *t) { test_rmtree(t->path); }

/* ---- stores ---- */

/* Open (creating) the store called name in t, or exit(2): a test cannot go
 * on without its stores. */
static inline stek *test_store(const test_dir *t, const char *name, const stek_config *cfg) {
  char path[600];
  stek *s;
  test_dir_file(t, name, path, sizeof path);
  if (stek_open(&s, path, cfg) != STEK_OK) {
    fprintf(stderr, "cannot open %s: %s\n", path, stek_errmsg(s));
    exit(2);
  }
  return s;
}

/* Make to a member of from's current space (sealed share), or exit(2).
 * Sharing records the device as a member: one change in from's space
 * (TEST_JOIN_CHANGES), which reaches to by the next sync like any other. */
#define TEST_JOIN_CHANGES 1
static inline void test_join(stek *from, stek *to) {
  uint8_t dev[STEK_DEVICE_ID_BYTES], *share;
  size_t len;
  stek_device_id(to, dev);
  if (stek_space_share(from, dev, &share, &len) || stek_space_accept(to, share, len)) {
    fprintf(stderr, "cannot share the space: %s / %s\n", stek_errmsg(from), stek_errmsg(to));
    exit(2);
  }
  stek_free(share);
}

/* Write n "directory" records, one change each, their org "TAG i". */
static inline int test_put_n(stek *s, const char *tag, int n) {
  for (int i = 0; i < n; i++) {
    uint8_t id[16];
    char text[64];
    snprintf(text, sizeof text, "%s %d", tag, i);
    stek_value v = {.kind = STEK_VALUE_STR, .str = text};
    stek_id_new(id);
    int rc = stek_put(s, "directory", id, "org", &v);
    if (rc) return rc;
  }
  return 0;
}

/* ---- a controllable clock ---- */

typedef struct test_clock {
  int64_t now_ms;
} test_clock;

static inline int64_t test_clock_read(void *ctx) {
  return ((test_clock *)ctx)->now_ms;
}

#endif
