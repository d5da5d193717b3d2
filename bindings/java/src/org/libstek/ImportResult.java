package org.libstek;

/** What a bundle import did: changes stored, and changes already held. */
public record ImportResult(long ingested, long duplicates) {}
