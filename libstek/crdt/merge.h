/*
 * crdt/merge -- the merge rules, as pure comparisons.
 *
 * Every stored fact (a field's value, a record's life, a set element's
 * presence) carries the version of the op that wrote it: (HLC, author, seq),
 * seq being the op's index in its change.  A new fact replaces the stored
 * one only if merge_wins() says so; because that is a strict total order on
 * (version, payload), the result is the maximum over all ops received,
 * whatever their order or repetition -- which is why replicas converge.
 * Ties on the whole version happen only if an author signs two different
 * changes with one HLC (a broken or hostile device); the payload then breaks
 * the tie, so even that converges.
 */
#ifndef STEK_CRDT_MERGE_H
#define STEK_CRDT_MERGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct version {
  uint64_t hlc;
  const uint8_t *author; /* 32 bytes */
  uint32_t seq;
} version;

int version_cmp(const version *a, const version *b);

/* Does (a, a_payload) win over (b, b_payload)?  Payloads are compared as
 * bytes when versions are equal; a NULL payload is the empty string. */
int merge_wins(const version *a, const uint8_t *ap, size_t alen,
               const version *b, const uint8_t *bp, size_t blen);

#endif
