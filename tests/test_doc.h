/*
 * test_doc.h -- reading test vectors out of docs/PROTOCOL.md, so that the
 * document and the code cannot drift apart.  A vector is a "key: value"
 * line inside the section whose heading starts with the given prefix
 * ("## 12."); a hex value continues on the lines after it that start with
 * two spaces.  The tests that use it run in the source tree (ctest's
 * WORKING_DIRECTORY).
 */
#ifndef STEK_TEST_DOC_H
#define STEK_TEST_DOC_H

#include <stdio.h>
#include <string.h>

#define TEST_DOC "docs/PROTOCOL.md"

/* The value of key in section, continuation lines joined, into out (cap
 * bytes, NUL-terminated): 0, or -1 if it is not there. */
static inline int doc_text(const char *section, const char *key, char *out, size_t cap) {
  FILE *f = fopen(TEST_DOC, "r");
  char line[1024];
  int in = 0, found = 0;
  size_t klen = strlen(key), n = 0;
  if (!f || cap == 0) {
    if (f) fclose(f);
    return -1;
  }
  out[0] = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!strncmp(line, "## ", 3)) {
      if (found) break;
      in = !strncmp(line, section, strlen(section));
      continue;
    }
    if (!in) continue;
    const char *v = NULL;
    if (found) {
      if (strncmp(line, "  ", 2) || line[2] == ' ' || !line[2]) break;
      v = line + 2;
    } else if (!strncmp(line, key, klen) && !strncmp(line + klen, ": ", 2)) {
      v = line + klen + 2;
      found = 1;
    }
    if (!v) continue;
    size_t vl = strlen(v);
    if (n + vl >= cap) {
      found = 0;
      break;
    }
    memcpy(out + n, v, vl + 1);
    n += vl;
  }
  fclose(f);
  return found ? 0 : -1;
}

/* The same, as bytes from hex: its length, or -1. */
static inline long doc_hex(const char *section, const char *key, uint8_t *out, size_t cap) {
  static char text[16384];
  size_t n = 0;
  if (doc_text(section, key, text, sizeof text)) return -1;
  for (const char *p = text; p[0]; p += 2) {
    unsigned v;
    if (!p[1] || n == cap || sscanf(p, "%2x", &v) != 1) return -1;
    out[n++] = (uint8_t)v;
  }
  return (long)n;
}

#endif
