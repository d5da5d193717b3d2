/* crdt/hlc: the hybrid logical clock. */
#include "crdt/hlc.h"
#include "test.h"

static void test_tick_follows_the_wall_clock(void) {
  uint64_t t;
  CHECK_OK(hlc_tick(0, 1000, &t));
  CHECK(t == hlc_make(1000, 0));
}

static void test_tick_counts_when_the_clock_stands_still(void) {
  uint64_t t1, t2;
  CHECK_OK(hlc_tick(0, 1000, &t1));
  CHECK_OK(hlc_tick(t1, 1000, &t2));
  CHECK(t2 == t1 + 1 && hlc_ms(t2) == 1000);
}

static void test_tick_never_goes_backwards_when_the_clock_does(void) {
  uint64_t t1, t2;
  CHECK_OK(hlc_tick(0, 5000, &t1));
  CHECK_OK(hlc_tick(t1, 10, &t2)); /* the wall clock jumped back */
  CHECK(t2 > t1);
  CHECK_OK(hlc_tick(t2, -50, &t1)); /* even before the epoch */
  CHECK(t1 > t2);
}

static void test_counter_overflow_carries_into_the_millisecond(void) {
  uint64_t t;
  CHECK_OK(hlc_tick(hlc_make(1000, 0xffff), 1000, &t));
  CHECK(t == hlc_make(1001, 0));
  CHECK_RC(hlc_tick(UINT64_MAX, 1000, &t), STEK_EFUTURE);
}

static void test_merge_takes_the_larger(void) {
  CHECK(hlc_merge(hlc_make(5, 1), hlc_make(7, 0)) == hlc_make(7, 0));
  CHECK(hlc_merge(hlc_make(9, 1), hlc_make(7, 0)) == hlc_make(9, 1));
  uint64_t t;
  CHECK_OK(hlc_tick(hlc_merge(hlc_make(5, 0), hlc_make(9000, 3)), 100, &t));
  CHECK(t > hlc_make(9000, 3));
}

static void test_check_refuses_timestamps_beyond_the_bound(void) {
  int64_t now = 1767225600000;
  CHECK_OK(hlc_check(hlc_make((uint64_t)now, 0), now, 0));
  CHECK_OK(hlc_check(hlc_make((uint64_t)now + 1000, 5), now, 1000));
  CHECK_RC(hlc_check(hlc_make((uint64_t)now + 1001, 0), now, 1000), STEK_EFUTURE);
  CHECK_RC(hlc_check(UINT64_MAX, now, INT64_MAX), STEK_OK); /* bound saturates */
  CHECK_RC(hlc_check(UINT64_MAX, now, 1000), STEK_EFUTURE);
}

int main(void) {
  RUN(test_tick_follows_the_wall_clock);
  RUN(test_tick_counts_when_the_clock_stands_still);
  RUN(test_tick_never_goes_backwards_when_the_clock_does);
  RUN(test_counter_overflow_carries_into_the_millisecond);
  RUN(test_merge_takes_the_larger);
  RUN(test_check_refuses_timestamps_beyond_the_bound);
  return test_report();
}
