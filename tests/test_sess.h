/*
 * test_sess.h -- two sync session state machines (sync/session.h) joined by
 * an in-memory pipe, for the tests that drive sessions by hand.
 */
#ifndef STEK_TEST_SESS_H
#define STEK_TEST_SESS_H

#include "sync/session.h"
#include "test.h"

/* Hand what from has to send to to; *moved = 1 if anything went. */
static inline void test_sess_move(sess *from, sess *to, int *moved) {
  const uint8_t *p;
  size_t n;
  if (sess_output(from, &p, &n) == 0 && n) {
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    sess_consumed(from, n);
    sess_input(to, copy, n);
    free(copy);
    *moved = 1;
  }
}

/* Move bytes both ways until both sessions are over or nothing moves. */
static inline void test_sess_drive(sess *c, sess *sv) {
  for (int round = 0; round < 100000; round++) {
    int moved = 0;
    test_sess_move(c, sv, &moved);
    test_sess_move(sv, c, &moved);
    if (sess_state(c) != SESS_RUNNING && sess_state(sv) != SESS_RUNNING) break;
    if (!moved) break;
  }
}

/* A session's result: 0 if DONE, else its error (STEK_ERROR if it is still
 * running: it hung). */
static inline int test_sess_result(const sess *ss) {
  return sess_state(ss) == SESS_DONE ? 0 : sess_error(ss) ? sess_error(ss) : STEK_ERROR;
}

#endif
