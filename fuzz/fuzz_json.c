/* Fuzz target: json_parse_record() (examples/json), the stek CLI's record
 * input.  Invariants: no crash, no leak; on success every field has a name
 * and a value of a kind a record holds; on failure *out is NULL and the
 * message is a NUL-terminated line. */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_record *r = (json_record *)1;
  char err[200];
  if (json_parse_record((const char *)data, size, &r, err, sizeof err) != 0) {
    if (r != NULL || !memchr(err, 0, sizeof err)) abort();
    return 0;
  }
  for (size_t i = 0; i < r->count; i++) {
    const json_field *f = &r->fields[i];
    if (!f->name) abort();
    if (f->value.kind == STEK_VALUE_STR && !f->value.str) abort();
    if (f->value.kind == STEK_VALUE_LIST)
      for (size_t k = 0; k < f->value.list_len; k++)
        if (!f->value.list[k]) abort();
    if (f->value.kind < STEK_VALUE_INT || f->value.kind > STEK_VALUE_LIST) abort();
  }
  json_record_free(r);
  return 0;
}
