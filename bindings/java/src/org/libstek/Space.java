package org.libstek;

/** A space the store holds: its id (32 hex digits) and name. */
public record Space(String id, String name) {}
