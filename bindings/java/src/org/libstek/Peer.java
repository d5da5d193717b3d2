package org.libstek;

/** A device found by discovery: the space (held here) it serves, and where. */
public record Peer(String space, String host, int port) {}
