package org.libstek;

/**
 * What a sync did (stek_sync_stats): ops moved and known so far, bytes on
 * the wire, round trips, and the bytes expected in all (known so far: what
 * moved plus an estimate of what is still to move; equal to what moved
 * once a sync succeeded). A progress bar:
 * {@code (bytesSent + bytesReceived) / (double) bytesTotal}, or by ops
 * {@code (opsSent + opsReceived) / (double) opsTotal}.
 */
public record SyncStats(long opsSent, long opsReceived, long opsTotal, long bytesSent,
    long bytesReceived, long roundTrips, long bytesTotal) {}
