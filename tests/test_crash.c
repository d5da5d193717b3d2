/*
 * A kill at any moment loses no committed change and never corrupts the
 * store (DESIGN §5).  A child process writes records in a loop and reports
 * each one on a pipe only after stek_put() returned (committed); the parent
 * kills it with SIGKILL after a varying number of reports -- wherever it is,
 * often inside a transaction -- then reopens the store and checks that it
 * is intact, that every reported record is there, and that it still takes
 * writes.  No sleeps: the parent paces itself on the pipe.
 */
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "test.h"

static void child(const char *path, int fd) {
  stek *s;
  if (stek_open(&s, path, NULL) != STEK_OK) _exit(3);
  for (uint32_t i = 0;; i++) {
    uint8_t id[STEK_ID_BYTES] = {0};
    memcpy(id, &i, sizeof i);
    stek_value v = {.kind = STEK_VALUE_INT, .i = i};
    if (stek_begin(s) || stek_put(s, "log", id, "n", &v) ||
        stek_put(s, "log", id, "m", &v) || stek_commit(s))
      _exit(4);
    if (write(fd, &i, sizeof i) != sizeof i) _exit(5);
  }
}

static int integrity_ok(const char *path) {
  sqlite3 *db;
  sqlite3_stmt *st;
  int good = 0;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return 0;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    good = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return good;
}

static void test_kill_during_writes_loses_no_committed_change(void) {
  test_dir dir;
  char path[600];
  uint8_t space[STEK_ID_BYTES];
  stek *s;
  test_dir_make(&dir);
  test_dir_file(&dir, "stek.db", path, sizeof path);
  CHECK_OK(stek_open(&s, path, NULL));
  CHECK_OK(stek_space_create(s, "crash", space));
  stek_close(s);

  for (int round = 0; round < 5; round++) {
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
    int reports = 0, want = 3 + round * 7;
    while (reports < want && read(fds[0], &got, sizeof got) == sizeof got) {
      last = got;
      reports++;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    CHECK(reports == want);
    CHECK(WIFSIGNALED(status));

    CHECK(integrity_ok(path));
    CHECK_OK(stek_open(&s, path, NULL));
    for (uint32_t i = 0; i <= last; i++) {
      uint8_t id[STEK_ID_BYTES] = {0};
      stek_record *r;
      memcpy(id, &i, sizeof i);
      int rc = stek_get(s, "log", id, &r);
      if (rc != STEK_OK) fprintf(stderr, "  round %d: record %u lost\n", round, i);
      CHECK_OK(rc);
      CHECK(stek_record_field_count(r) == 2); /* a change is all or nothing */
      stek_record_free(r);
    }
    uint8_t id[STEK_ID_BYTES] = {0xff};
    stek_value v = {.kind = STEK_VALUE_STR, .str = "after the crash"};
    CHECK_OK(stek_put(s, "log", id, "note", &v));
    stek_close(s);
  }
  test_dir_remove(&dir);
}

int main(void) {
  RUN(test_kill_during_writes_loses_no_committed_change);
  return test_report();
}
