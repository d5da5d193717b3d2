/* crdt/hlc -- see hlc.h. */
#include "crdt/hlc.h"

#include "stek.h"

static uint64_t clamp_ms(int64_t now_ms) {
  if (now_ms < 0) return 0;
  if ((uint64_t)now_ms > HLC_MAX_MS) return HLC_MAX_MS;
  return (uint64_t)now_ms;
}

int hlc_tick(uint64_t last, int64_t now_ms, uint64_t *out) {
  uint64_t now = clamp_ms(now_ms);
  if (now > hlc_ms(last)) {
    *out = hlc_make(now, 0);
    return 0;
  }
  /* The wall clock is behind or equal: count on from last.  When the
   * counter is full this carries into the millisecond, which is still a
   * valid, strictly larger timestamp. */
  if (last == UINT64_MAX) return STEK_EFUTURE;
  *out = last + 1;
  return 0;
}

int hlc_check(uint64_t remote, int64_t now_ms, int64_t max_skew_ms) {
  uint64_t now = clamp_ms(now_ms);
  uint64_t skew = max_skew_ms < 0 ? 0 : (uint64_t)max_skew_ms;
  uint64_t bound = now + skew > HLC_MAX_MS ? HLC_MAX_MS : now + skew;
  return hlc_ms(remote) > bound ? STEK_EFUTURE : 0;
}
