package org.libstek;

/**
 * What a sync did (stek_sync_stats): ops moved and known so far (for a
 * progress bar: {@code (opsSent + opsReceived) / opsTotal}), bytes on the
 * wire, round trips.
 */
public record SyncStats(long opsSent, long opsReceived, long opsTotal, long bytesSent,
    long bytesReceived, long roundTrips) {}
