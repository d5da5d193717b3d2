package org.libstek;

/**
 * One occurrence of a schedule entry: the entry's id, local start and end
 * with their UTC offset ("2026-03-05T13:30:00+01:00"), the same as UTC
 * milliseconds, and the entry's title and site ("" if none).
 */
public record Occurrence(String id, String start, String end, long startMs, long endMs,
    String title, String site) {}
