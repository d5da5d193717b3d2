package org.libstek;

/** A live anonymous signal: random id, ISO week ("2026-W05"), theme, site, text. */
public record Signal(String id, String week, String theme, String site, String text) {}
