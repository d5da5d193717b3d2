/*
 * json -- the strict, bounded JSON reader and writer of the stek CLI.
 *
 * A hand-written recursive-descent reader over RFC 8259 text, narrowed to
 * what a record can hold (see json.h).  The depth is fixed by the grammar
 * (object -> array -> string; json_parse_nested() adds one object level,
 * counted in parser.nest), so there is no unbounded recursion.  Strings
 * are scanned for their closing quote before any memory is taken, and the
 * decoded form is never longer than the escaped one, so one allocation of
 * the escaped length always suffices.
 */
#include "json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
  const unsigned char *p;
  size_t len;
  size_t pos;
  char *err;
  size_t errlen;
  int nest; /* objects still allowed as values: 0, or 1 (json_parse_nested) */
} parser;

#if defined(__GNUC__)
#define JSON_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define JSON_PRINTF(a, b)
#endif

/* Record the failure "<what> at byte <at>" and return -1. */
static int fail_at(parser *ps, size_t at, const char *fmt, ...) JSON_PRINTF(3, 4);
static int fail_at(parser *ps, size_t at, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (ps->errlen > 0) snprintf(ps->err, ps->errlen, "%s at byte %zu", what, at);
  return -1;
}

/* "unexpected end of input", or the unexpected byte at pos, named. */
static int fail_unexpected(parser *ps, const char *expected) {
  if (ps->pos >= ps->len)
    return fail_at(ps, ps->pos, "unexpected end of input, expected %s", expected);
  unsigned c = ps->p[ps->pos];
  if (c >= 0x21 && c < 0x7f)
    return fail_at(ps, ps->pos, "unexpected '%c', expected %s", (int)c, expected);
  return fail_at(ps, ps->pos, "unexpected byte 0x%02x, expected %s", c, expected);
}

static int peek(const parser *ps) {
  return ps->pos < ps->len ? ps->p[ps->pos] : -1;
}

static void skip_ws(parser *ps) {
  while (ps->pos < ps->len) {
    unsigned char c = ps->p[ps->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
    ps->pos++;
  }
}

/* ---- strings ------------------------------------------------------------ */

static int hex4(const unsigned char *s, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = s[i];
    uint32_t d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v << 4 | d;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18);
  o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* The length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t need;
  unsigned lo = 0x80, hi = 0xbf; /* range of the second byte */
  if (c >= 0xc2 && c <= 0xdf) need = 2;
  else if (c >= 0xe0 && c <= 0xef) need = 3;
  else if (c >= 0xf0 && c <= 0xf4) need = 4;
  else return 0;
  if (c == 0xe0) lo = 0xa0;
  if (c == 0xed) hi = 0x9f;
  if (c == 0xf0) lo = 0x90;
  if (c == 0xf4) hi = 0x8f;
  if (n < need || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < need; i++)
    if (s[i] < 0x80 || s[i] > 0xbf) return 0;
  return need;
}

/* Decode the \u escape at s[j] ('\\') into o; s[0..end) is the string body.
 * Sets *used to the escaped bytes consumed and returns the bytes written,
 * or 0 after recording the failure. */
static size_t decode_u(parser *ps, size_t j, size_t end, char *o, size_t *used) {
  const unsigned char *s = ps->p;
  uint32_t cp, lo;
  if (j + 6 > end || hex4(s + j + 2, &cp) != 0) {
    fail_at(ps, j, "bad \\u escape (want 4 hex digits)");
    return 0;
  }
  *used = 6;
  if (cp >= 0xdc00 && cp <= 0xdfff) {
    fail_at(ps, j, "lone low surrogate \\u%04x", (unsigned)cp);
    return 0;
  }
  if (cp >= 0xd800 && cp <= 0xdbff) {
    if (j + 12 > end || s[j + 6] != '\\' || s[j + 7] != 'u' ||
        hex4(s + j + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
      fail_at(ps, j, "lone high surrogate \\u%04x", (unsigned)cp);
      return 0;
    }
    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    *used = 12;
  }
  if (cp == 0) {
    fail_at(ps, j, "\\u0000 is not allowed in strings");
    return 0;
  }
  return put_utf8(o, cp);
}

/* One escape at s[j] ('\\'): its decoded bytes into o, as decode_u(). */
static size_t decode_escape(parser *ps, size_t j, size_t end, char *o,
                            size_t *used) {
  static const char from[] = "\"\\/bfnrt";
  static const char to[] = "\"\\/\b\f\n\r\t";
  unsigned char e = ps->p[j + 1];
  if (e == 'u') return decode_u(ps, j, end, o, used);
  const char *hit = e ? strchr(from, e) : NULL;
  if (!hit) {
    if (e >= 0x21 && e < 0x7f) fail_at(ps, j, "bad escape '\\%c'", (int)e);
    else fail_at(ps, j, "bad escape (byte 0x%02x after '\\')", (unsigned)e);
    return 0;
  }
  *o = to[hit - from];
  *used = 2;
  return 1;
}

/* Decode the body s[start..end) into out (room for end-start+1 bytes). */
static int decode_body(parser *ps, size_t start, size_t end, char *out) {
  const unsigned char *s = ps->p;
  size_t j = start, o = 0;
  while (j < end) {
    unsigned c = s[j];
    size_t used, n;
    if (c < 0x20)
      return fail_at(ps, j, "control character 0x%02x in string (escape it)", c);
    if (c == '\\') {
      n = decode_escape(ps, j, end, out + o, &used);
      if (n == 0) return -1;
    } else if (c >= 0x80) {
      n = used = utf8_len(s + j, end - j);
      if (n == 0) return fail_at(ps, j, "invalid UTF-8");
      memcpy(out + o, s + j, n);
    } else {
      out[o] = (char)c;
      n = used = 1;
    }
    o += n;
    j += used;
  }
  out[o] = '\0';
  return 0;
}

/* Parse the string at pos ('"') into a fresh NUL-terminated *out. */
static int parse_string(parser *ps, char **out) {
  size_t start = ps->pos + 1, end = start;
  while (end < ps->len && ps->p[end] != '"')
    end += ps->p[end] == '\\' ? 2 : 1;
  if (end >= ps->len) return fail_at(ps, ps->pos, "unterminated string");
  char *buf = malloc(end - start + 1);
  if (!buf) return fail_at(ps, ps->pos, "out of memory");
  if (decode_body(ps, start, end, buf) != 0) {
    free(buf);
    return -1;
  }
  ps->pos = end + 1;
  *out = buf;
  return 0;
}

/* ---- numbers ------------------------------------------------------------ */

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int parse_int(parser *ps, int64_t *out) {
  size_t start = ps->pos;
  int neg = peek(ps) == '-';
  uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  if (neg) ps->pos++;
  if (!is_digit(peek(ps))) return fail_unexpected(ps, "a digit");
  if (peek(ps) == '0' && ps->pos + 1 < ps->len && is_digit(ps->p[ps->pos + 1]))
    return fail_at(ps, start, "leading zero in number");
  while (is_digit(peek(ps))) {
    unsigned d = (unsigned)(ps->p[ps->pos] - '0');
    if (v > (limit - d) / 10)
      return fail_at(ps, start, "integer out of int64 range");
    v = v * 10 + d;
    ps->pos++;
  }
  int c = peek(ps);
  if (c == '.' || c == 'e' || c == 'E')
    return fail_at(ps, start, "floating-point numbers are not supported "
                              "(integers only)");
  if (!neg) *out = (int64_t)v;
  else *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  return 0;
}

/* ---- arrays, values, the object ---------------------------------------- */

static int fail_value(parser *ps, int in_array) {
  switch (peek(ps)) {
  case '{': return fail_at(ps, ps->pos, "nested objects are not supported");
  case '[': return fail_at(ps, ps->pos, "nested arrays are not supported");
  case 't': case 'f':
    return fail_at(ps, ps->pos, "booleans are not supported");
  case 'n': return fail_at(ps, ps->pos, "null is not supported");
  default: break;
  }
  if (in_array && (peek(ps) == '-' || is_digit(peek(ps))))
    return fail_at(ps, ps->pos, "array items must be strings");
  return fail_unexpected(ps, in_array ? "a string" : "a value");
}

static void free_items(char **items, size_t n) {
  for (size_t i = 0; i < n; i++) free(items[i]);
}

/* Parse the array at pos ('[') of strings into f->items / f->value. */
static int parse_array(parser *ps, json_field *f) {
  char *tmp[JSON_MAX_ITEMS];
  size_t n = 0;
  ps->pos++;
  skip_ws(ps);
  if (peek(ps) != ']') {
    for (;;) {
      if (peek(ps) != '"') goto bad_value;
      if (n == JSON_MAX_ITEMS) {
        fail_at(ps, ps->pos, "too many array items (limit %d)", JSON_MAX_ITEMS);
        goto fail;
      }
      if (parse_string(ps, &tmp[n]) != 0) goto fail;
      n++;
      skip_ws(ps);
      if (peek(ps) == ']') break;
      if (peek(ps) != ',') {
        fail_unexpected(ps, "',' or ']'");
        goto fail;
      }
      ps->pos++;
      skip_ws(ps);
    }
  }
  ps->pos++; /* ']' */
  /* At least one slot, so that an empty list is never a NULL pointer. */
  f->items = calloc(n ? n : 1, sizeof *f->items);
  if (!f->items) {
    fail_at(ps, ps->pos, "out of memory");
    goto fail;
  }
  memcpy(f->items, tmp, n * sizeof *tmp);
  f->value.kind = STEK_VALUE_LIST;
  f->value.list = (const char *const *)f->items;
  f->value.list_len = n;
  return 0;
bad_value:
  fail_value(ps, 1);
fail:
  free_items(tmp, n);
  return -1;
}

static json_record *record_new(void);
static int parse_object(parser *ps, json_record *r);

/* The object at pos ('{') as the value of f (json_parse_nested() only). */
static int parse_child(parser *ps, json_field *f) {
  f->object = record_new();
  if (!f->object) return fail_at(ps, ps->pos, "out of memory");
  ps->nest--;
  int rc = parse_object(ps, f->object);
  ps->nest++;
  return rc;
}

static int parse_value(parser *ps, json_field *f) {
  int c = peek(ps);
  if (c == '"') {
    char *s;
    if (parse_string(ps, &s) != 0) return -1;
    f->items = calloc(1, sizeof *f->items);
    if (!f->items) {
      free(s);
      return fail_at(ps, ps->pos, "out of memory");
    }
    f->items[0] = s; /* owned through items, so that freeing is uniform */
    f->value.kind = STEK_VALUE_STR;
    f->value.str = s;
    return 0;
  }
  if (c == '-' || is_digit(c)) {
    f->value.kind = STEK_VALUE_INT;
    return parse_int(ps, &f->value.i);
  }
  if (c == '[') return parse_array(ps, f);
  if (c == '{' && ps->nest > 0) return parse_child(ps, f);
  return fail_value(ps, 0);
}

static void free_field(json_field *f) {
  free(f->name);
  json_record_free(f->object);
  if (f->items) {
    free_items(f->items, f->value.kind == STEK_VALUE_LIST ? f->value.list_len : 1);
    free(f->items);
  }
}

static int is_duplicate(const json_record *r, const char *name) {
  for (size_t i = 0; i < r->count; i++)
    if (strcmp(r->fields[i].name, name) == 0) return 1;
  return 0;
}

/* One "key": value member at pos into r->fields[r->count]. */
static int parse_member(parser *ps, json_record *r) {
  size_t at = ps->pos;
  char *name;
  if (peek(ps) != '"') return fail_unexpected(ps, "a string key");
  if (r->count == JSON_MAX_KEYS)
    return fail_at(ps, at, "too many keys (limit %d)", JSON_MAX_KEYS);
  if (parse_string(ps, &name) != 0) return -1;
  if (is_duplicate(r, name)) {
    fail_at(ps, at, "duplicate key \"%.64s\"", name);
    free(name);
    return -1;
  }
  json_field *f = &r->fields[r->count++]; /* the record owns it from here */
  memset(f, 0, sizeof *f);
  f->name = name;
  skip_ws(ps);
  if (peek(ps) != ':') return fail_unexpected(ps, "':'");
  ps->pos++;
  skip_ws(ps);
  return parse_value(ps, f);
}

static int parse_object(parser *ps, json_record *r) {
  ps->pos++; /* '{' */
  skip_ws(ps);
  if (peek(ps) == '}') {
    ps->pos++;
    return 0;
  }
  for (;;) {
    if (parse_member(ps, r) != 0) return -1;
    skip_ws(ps);
    if (peek(ps) == '}') {
      ps->pos++;
      return 0;
    }
    if (peek(ps) != ',') return fail_unexpected(ps, "',' or '}'");
    ps->pos++;
    skip_ws(ps);
  }
}

static json_record *record_new(void) {
  json_record *r = calloc(1, sizeof *r);
  if (r) r->fields = calloc(JSON_MAX_KEYS, sizeof *r->fields);
  if (r && !r->fields) {
    free(r);
    r = NULL;
  }
  return r;
}

static int parse_document(const char *text, size_t len, int nest, json_record **out,
                          char *err, size_t errlen) {
  parser ps = {(const unsigned char *)text, len, 0, err, errlen, nest};
  json_record *r;
  *out = NULL;
  if (errlen > 0) err[0] = '\0';
  if (len > JSON_MAX_INPUT_BYTES)
    return fail_at(&ps, JSON_MAX_INPUT_BYTES, "input too large (limit %u bytes)",
                   JSON_MAX_INPUT_BYTES);
  if (len > 0 && !text) return fail_at(&ps, 0, "no input");
  skip_ws(&ps);
  if (peek(&ps) != '{') return fail_unexpected(&ps, "a JSON object '{'");
  if (!(r = record_new())) return fail_at(&ps, 0, "out of memory");
  if (parse_object(&ps, r) != 0) goto fail;
  skip_ws(&ps);
  if (ps.pos < ps.len) {
    fail_at(&ps, ps.pos, "trailing data after the object");
    goto fail;
  }
  *out = r;
  return 0;
fail:
  json_record_free(r);
  return -1;
}

int json_parse_record(const char *text, size_t len, json_record **out,
                      char *err, size_t errlen) {
  return parse_document(text, len, 0, out, err, errlen);
}

int json_parse_nested(const char *text, size_t len, json_record **out,
                      char *err, size_t errlen) {
  return parse_document(text, len, 1, out, err, errlen);
}

void json_record_free(json_record *r) {
  if (!r) return;
  for (size_t i = 0; i < r->count; i++) free_field(&r->fields[i]);
  free(r->fields);
  free(r);
}

/* ---- writing ------------------------------------------------------------ */

int json_write_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    case '\b': fputs("\\b", f); break;
    case '\f': fputs("\\f", f); break;
    default:
      if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p);
      else fputc(*p, f);
    }
  }
  fputc('"', f);
  return ferror(f) ? -1 : 0;
}
