/*
 * json -- the strict, bounded JSON reader and writer of the stek CLI.
 *
 * The CLI takes records as JSON objects (--json or stdin) and hands their
 * fields to stek_put().  Only what a record can hold is accepted: one object
 * whose values are strings, integers (int64) or arrays of strings.  Anything
 * else -- nested objects, null, booleans, floats, duplicate keys, invalid
 * UTF-8, bad escapes, trailing bytes -- is refused with a message saying what
 * and at which byte offset, so that a typo never becomes a half-written
 * record.  Every size is bounded before memory is allocated for it.
 *
 * Must never: read outside the given bytes, abort, or crash on any input
 * (it is fuzzed).  It knows nothing of stores; it only borrows stek_value.
 */
#ifndef STEK_EXAMPLES_JSON_H
#define STEK_EXAMPLES_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "stek.h"

#define JSON_MAX_INPUT_BYTES (1u << 20) /* the whole document */
#define JSON_MAX_KEYS 256               /* members of the object */
#define JSON_MAX_ITEMS 256              /* strings in one array */
#define JSON_MAX_DEPTH 2                /* the object, and arrays in it */

struct json_record;

/* One member of the object.  value.str / value.list point into this field
 * (items holds the list's strings); all of it is freed with the record.
 * Only from json_parse_nested(): a value that is itself an object is in
 * object, with value.kind 0. */
typedef struct json_field {
  char *name;
  stek_value value;
  char **items;
  struct json_record *object;
} json_field;

typedef struct json_record {
  size_t count;
  json_field *fields; /* in document order */
} json_record;

/* Parse text[0..len) as one record object.  On success return 0 and set
 * *out (free with json_record_free()).  On failure return -1, set *out to
 * NULL and write a one-line message ("duplicate key \"org\" at byte 31") to
 * err (errlen bytes, may be 0).  text need not be NUL-terminated; a NUL byte
 * in it is an error like any other stray byte. */
int json_parse_record(const char *text, size_t len, json_record **out,
                      char *err, size_t errlen);

/* As json_parse_record(), but a member's value may also be an object of the
 * record form (strings, integers, arrays of strings -- no deeper), read
 * into that field's object: a line of a workload trace,
 * {"at":"A","put":"schedule","id":..,"fields":{..}}.  Limits as above, for
 * the whole document and for each object. */
int json_parse_nested(const char *text, size_t len, json_record **out,
                      char *err, size_t errlen);

/* Free a record from json_parse_record() or json_parse_nested(); NULL is a
 * no-op. */
void json_record_free(json_record *r);

/* Write s (UTF-8, NUL-terminated) to f as a JSON string with its quotes,
 * escaping '"', '\\' and control characters.  Returns 0, or -1 if f fails. */
int json_write_string(FILE *f, const char *s);

#endif
