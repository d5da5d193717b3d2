/*
 * crdt/hlc -- the hybrid logical clock.
 *
 * An HLC timestamp is a uint64: the high 48 bits are wall-clock
 * milliseconds since the Unix epoch, the low 16 bits a logical counter
 * (Kulkarni et al., "Logical Physical Clocks", 2014).  It orders a device's
 * own changes even when its wall clock stands still or jumps back, and it
 * moves forward past every timestamp the device has seen, so causally later
 * writes win last-writer-wins.  Timestamps more than max_skew ahead of the
 * wall clock are refused: one wrong tablet must not drag every clock into
 * the future.
 *
 * Pure functions: the caller reads the wall clock and persists the state.
 */
#ifndef STEK_CRDT_HLC_H
#define STEK_CRDT_HLC_H

#include <stdint.h>

#define HLC_LOGICAL_BITS 16
#define HLC_MAX_MS ((UINT64_C(1) << 48) - 1)

static inline uint64_t hlc_ms(uint64_t t) { return t >> HLC_LOGICAL_BITS; }
static inline uint64_t hlc_make(uint64_t ms, uint64_t logical) {
  return (ms << HLC_LOGICAL_BITS) | logical;
}

/* The timestamp for a local event after last, at wall time now_ms: strictly
 * greater than last.  0 on success, STEK_EFUTURE if the clock is exhausted
 * (last is at the end of the 48-bit range). */
int hlc_tick(uint64_t last, int64_t now_ms, uint64_t *out);

/* Check a received timestamp against the wall clock: STEK_EFUTURE if it is
 * more than max_skew_ms ahead of now_ms, else 0. */
int hlc_check(uint64_t remote, int64_t now_ms, int64_t max_skew_ms);

/* The clock state after receiving remote (already checked): max(last,
 * remote).  The next hlc_tick() then lands after both. */
static inline uint64_t hlc_merge(uint64_t last, uint64_t remote) {
  return remote > last ? remote : last;
}

#endif
