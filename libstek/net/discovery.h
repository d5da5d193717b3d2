/*
 * net/discovery -- LAN discovery over UDP on libuv: the announcer (a thread
 * that sends a beacon per space held, every period) and the listener
 * (stek_discover(): recognise beacons for a while, report each device
 * once).  The beacon bytes are sync/beacon's; this module only moves them.
 *
 * Defaults (stek.h, docs/PROTOCOL.md): broadcast 255.255.255.255 and
 * multicast 239.255.47.115 (TTL 1), UDP port 47115.  Tests pass 127.0.0.1
 * and a port of their own, and must never send anywhere else.
 *
 * Must never: send anything but beacons, keep a space key beyond one round
 * (announcer) or one run (listener) or outside locked memory, trust a
 * datagram's length, or run a callback on a thread other than the caller's.
 */
#ifndef STEK_NET_DISCOVERY_H
#define STEK_NET_DISCOVERY_H

#include <stdint.h>

#include "stek.h"

/* What a listener saw, for tests: datagrams heard, beacons recognised. */
typedef struct disc_stats {
  uint64_t heard, recognised;
} disc_stats;

/* stek_discover(), counting into *st (may be NULL). */
int disc_listen(stek *s, const stek_discover_options *opt, stek_peer_cb cb,
                void *ctx, disc_stats *st);

/* Rounds of beacons an announcer has sent so far (any thread). */
uint64_t disc_announcer_rounds(const stek_announcer *a);

#endif
