/* crdt/merge -- see merge.h. */
#include "crdt/merge.h"

#include <string.h>

int version_cmp(const version *a, const version *b) {
  if (a->hlc != b->hlc) return a->hlc < b->hlc ? -1 : 1;
  int c = memcmp(a->author, b->author, 32);
  if (c) return c < 0 ? -1 : 1;
  if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
  return 0;
}

int merge_wins(const version *a, const uint8_t *ap, size_t alen,
               const version *b, const uint8_t *bp, size_t blen) {
  int c = version_cmp(a, b);
  if (c) return c > 0;
  size_t n = alen < blen ? alen : blen;
  c = n ? memcmp(ap, bp, n) : 0;
  if (c) return c > 0;
  return alen > blen;
}
