/* examples/json: the CLI's strict record reader and its string writer. */
#include "test.h"

#include "json.h"

static char err[256];

/* Parse a NUL-terminated document; the record, or NULL with err set. */
static json_record *parse(const char *text) {
  json_record *r = NULL;
  if (json_parse_record(text, strlen(text), &r, err, sizeof err) != 0) return NULL;
  return r;
}

/* 1 if text is refused with a message that contains want. */
static int refused(const char *text, const char *want) {
  json_record *r = NULL;
  int rc = json_parse_record(text, strlen(text), &r, err, sizeof err);
  if (rc == 0 || r != NULL) {
    fprintf(stderr, "  accepted: %s\n", text);
    json_record_free(r);
    return 0;
  }
  if (!strstr(err, want) || !strstr(err, " at byte ")) {
    fprintf(stderr, "  %s -> \"%s\", wanted \"%s ... at byte N\"\n", text, err, want);
    return 0;
  }
  return 1;
}

static void test_strings_integers_and_lists_are_read(void) {
  json_record *r = parse(" {\"org\": \"CAW\", \"minutes\": 90,\n"
                         "  \"languages\": [\"nl\", \"ar\"], \"empty\": []} \n");
  CHECK(r != NULL);
  CHECK(r->count == 4);
  CHECK(!strcmp(r->fields[0].name, "org"));
  CHECK(r->fields[0].value.kind == STEK_VALUE_STR);
  CHECK(!strcmp(r->fields[0].value.str, "CAW"));
  CHECK(r->fields[1].value.kind == STEK_VALUE_INT && r->fields[1].value.i == 90);
  CHECK(r->fields[2].value.kind == STEK_VALUE_LIST);
  CHECK(r->fields[2].value.list_len == 2);
  CHECK(!strcmp(r->fields[2].value.list[1], "ar"));
  CHECK(r->fields[3].value.kind == STEK_VALUE_LIST);
  CHECK(r->fields[3].value.list_len == 0 && r->fields[3].value.list != NULL);
  json_record_free(r);
}

static void test_empty_object_is_read(void) {
  json_record *r = parse("{}");
  CHECK(r != NULL && r->count == 0);
  json_record_free(r);
}

static void test_int64_extremes_are_read(void) {
  json_record *r = parse("{\"a\":9223372036854775807,\"b\":-9223372036854775808,"
                         "\"c\":-0,\"d\":0}");
  CHECK(r != NULL);
  CHECK(r->fields[0].value.i == INT64_MAX);
  CHECK(r->fields[1].value.i == INT64_MIN);
  CHECK(r->fields[2].value.i == 0 && r->fields[3].value.i == 0);
  json_record_free(r);
}

static void test_escapes_are_decoded(void) {
  json_record *r = parse("{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\\u00e9\\u20AC\"}");
  CHECK(r != NULL);
  CHECK(!strcmp(r->fields[0].value.str,
                "a\"b\\c/d\b\f\n\r\te\xc3\xa9\xe2\x82\xac"));
  json_record_free(r);
}

static void test_surrogate_pairs_become_utf8(void) {
  json_record *r = parse("{\"s\":\"\\ud83d\\ude00\"}"); /* U+1F600 */
  CHECK(r != NULL);
  CHECK(!strcmp(r->fields[0].value.str, "\xf0\x9f\x98\x80"));
  json_record_free(r);
}

static void test_utf8_is_passed_through(void) {
  json_record *r = parse("{\"summary.nl\":\"Hulp bij schulden \xe2\x80\x93 gratis\","
                         "\"x\":\"\xf4\x8f\xbf\xbf\"}");
  CHECK(r != NULL);
  CHECK(!strcmp(r->fields[0].name, "summary.nl"));
  CHECK(!strcmp(r->fields[0].value.str, "Hulp bij schulden \xe2\x80\x93 gratis"));
  json_record_free(r);
}

static void test_escaped_keys_are_duplicates_of_plain_ones(void) {
  CHECK(refused("{\"a\":1,\"\\u0061\":2}", "duplicate key \"a\""));
  CHECK(refused("{\"org\":\"x\", \"org\":\"y\"}", "duplicate key"));
}

static void test_values_a_record_cannot_hold_are_refused(void) {
  CHECK(refused("{\"a\":{}}", "nested objects"));
  CHECK(refused("{\"a\":null}", "null"));
  CHECK(refused("{\"a\":true}", "booleans"));
  CHECK(refused("{\"a\":false}", "booleans"));
  CHECK(refused("{\"a\":[[]]}", "nested arrays"));
  CHECK(refused("{\"a\":[{}]}", "nested objects"));
  CHECK(refused("{\"a\":[1]}", "array items must be strings"));
  CHECK(refused("{\"a\":[\"x\",null]}", "null"));
  CHECK(refused("[]", "expected a JSON object"));
  CHECK(refused("\"x\"", "expected a JSON object"));
  CHECK(refused("42", "expected a JSON object"));
}

static void test_floats_and_bad_numbers_are_refused(void) {
  CHECK(refused("{\"a\":1.5}", "floating-point"));
  CHECK(refused("{\"a\":1e3}", "floating-point"));
  CHECK(refused("{\"a\":1E3}", "floating-point"));
  CHECK(refused("{\"a\":-0.0}", "floating-point"));
  CHECK(refused("{\"a\":9223372036854775808}", "out of int64 range"));
  CHECK(refused("{\"a\":-9223372036854775809}", "out of int64 range"));
  CHECK(refused("{\"a\":99999999999999999999999}", "out of int64 range"));
  CHECK(refused("{\"a\":012}", "leading zero"));
  CHECK(refused("{\"a\":-}", "expected a digit"));
  CHECK(refused("{\"a\":+1}", "unexpected '+'"));
  CHECK(refused("{\"a\":.5}", "unexpected '.'"));
  CHECK(refused("{\"a\":0x10}", "expected ',' or '}'"));
}

static void test_syntax_errors_are_refused(void) {
  CHECK(refused("", "unexpected end of input"));
  CHECK(refused("   ", "unexpected end of input"));
  CHECK(refused("{", "unexpected end of input"));
  CHECK(refused("{\"a\"", "expected ':'"));
  CHECK(refused("{\"a\":", "unexpected end of input"));
  CHECK(refused("{\"a\":1", "expected ',' or '}'"));
  CHECK(refused("{\"a\":1,}", "expected a string key"));
  CHECK(refused("{,}", "expected a string key"));
  CHECK(refused("{a:1}", "expected a string key"));
  CHECK(refused("{'a':1}", "expected a string key"));
  CHECK(refused("{\"a\" 1}", "expected ':'"));
  CHECK(refused("{\"a\":1 \"b\":2}", "expected ',' or '}'"));
  CHECK(refused("{\"a\":[\"x\"", "expected ',' or ']'"));
  CHECK(refused("{\"a\":[\"x\",]}", "expected a string"));
  CHECK(refused("{\"a\":\"x}", "unterminated string"));
  CHECK(refused("{\"a\":\"x\\\"}", "unterminated string"));
  CHECK(refused("{} x", "trailing data"));
  CHECK(refused("{}{}", "trailing data"));
  CHECK(refused("\xef\xbb\xbf{}", "unexpected byte 0xef"));
  CHECK(refused("{\"a\":1}\x0b", "trailing data"));
}

static void test_bad_strings_are_refused(void) {
  CHECK(refused("{\"a\":\"\\x\"}", "bad escape '\\x'"));
  CHECK(refused("{\"a\":\"\\U0041\"}", "bad escape"));
  CHECK(refused("{\"a\":\"\\u12\"}", "bad \\u escape"));
  CHECK(refused("{\"a\":\"\\u12g4\"}", "bad \\u escape"));
  CHECK(refused("{\"a\":\"\\ud800\"}", "lone high surrogate"));
  CHECK(refused("{\"a\":\"\\ud800x\"}", "lone high surrogate"));
  CHECK(refused("{\"a\":\"\\ud800\\u0041\"}", "lone high surrogate"));
  CHECK(refused("{\"a\":\"\\ud800\\ud800\"}", "lone high surrogate"));
  CHECK(refused("{\"a\":\"\\udc00\"}", "lone low surrogate"));
  CHECK(refused("{\"a\":\"\\u0000\"}", "\\u0000 is not allowed"));
  CHECK(refused("{\"a\":\"tab\there\"}", "control character"));
  CHECK(refused("{\"a\":\"new\nline\"}", "control character"));
}

static void test_invalid_utf8_is_refused(void) {
  CHECK(refused("{\"a\":\"\x80\"}", "invalid UTF-8"));         /* stray continuation */
  CHECK(refused("{\"a\":\"\xc3\"}", "invalid UTF-8"));         /* cut short */
  CHECK(refused("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8"));     /* overlong '/' */
  CHECK(refused("{\"a\":\"\xe0\x80\xaf\"}", "invalid UTF-8")); /* overlong */
  CHECK(refused("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8")); /* surrogate */
  CHECK(refused("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8")); /* > U+10FFFF */
  CHECK(refused("{\"a\":\"\xff\"}", "invalid UTF-8"));
  CHECK(refused("{\"\xfe\":1}", "invalid UTF-8"));
}

static void test_error_names_the_byte_offset(void) {
  CHECK(refused("{\"a\":1,\"b\":nul}", "null is not supported at byte 11"));
  CHECK(refused("{\"a\":\"ok\",\"a\":2}", "duplicate key \"a\" at byte 10"));
}

static void test_nul_bytes_are_refused(void) {
  json_record *r = NULL;
  CHECK(json_parse_record("{\"a\":\"x\0y\"}", 11, &r, err, sizeof err) != 0);
  CHECK(r == NULL && strstr(err, "control character 0x00"));
  CHECK(json_parse_record("{}\0", 3, &r, err, sizeof err) != 0);
  CHECK(r == NULL && strstr(err, "trailing data"));
}

static void test_limits_are_enforced(void) {
  static char big[JSON_MAX_INPUT_BYTES + 2];
  char *text = big;
  json_record *r = NULL;
  memset(big, ' ', sizeof big);
  big[0] = '{';
  big[JSON_MAX_INPUT_BYTES - 1] = '}';
  CHECK(json_parse_record(big, JSON_MAX_INPUT_BYTES, &r, err, sizeof err) == 0);
  json_record_free(r);
  CHECK(json_parse_record(big, JSON_MAX_INPUT_BYTES + 1, &r, err, sizeof err) != 0);
  CHECK(strstr(err, "input too large"));

  /* 256 keys pass, 257 do not; likewise array items. */
  for (int keys = JSON_MAX_KEYS; keys <= JSON_MAX_KEYS + 1; keys++) {
    char *p = text;
    p += sprintf(p, "{");
    for (int i = 0; i < keys; i++) p += sprintf(p, "%s\"k%d\":%d", i ? "," : "", i, i);
    sprintf(p, "}");
    r = parse(text);
    CHECK((r != NULL) == (keys == JSON_MAX_KEYS));
    CHECK(r || strstr(err, "too many keys"));
    json_record_free(r);
  }
  for (int n = JSON_MAX_ITEMS; n <= JSON_MAX_ITEMS + 1; n++) {
    char *p = text;
    p += sprintf(p, "{\"l\":[");
    for (int i = 0; i < n; i++) p += sprintf(p, "%s\"i%d\"", i ? "," : "", i);
    sprintf(p, "]}");
    r = parse(text);
    CHECK((r != NULL) == (n == JSON_MAX_ITEMS));
    CHECK(r || strstr(err, "too many array items"));
    if (r) CHECK(r->fields[0].value.list_len == JSON_MAX_ITEMS);
    json_record_free(r);
  }
}

static void test_every_prefix_of_a_valid_document_is_refused(void) {
  const char *doc = "{\"org\":\"CAW\",\"n\":-12,\"l\":[\"a\",\"\\ud83d\\ude00\"],"
                    "\"s\":\"\xc3\xa9\\n\"}";
  size_t n = strlen(doc);
  for (size_t i = 0; i < n; i++) {
    json_record *r = NULL;
    CHECK(json_parse_record(doc, i, &r, err, sizeof err) != 0 && r == NULL);
  }
  json_record *r = NULL;
  CHECK(json_parse_record(doc, n, &r, err, sizeof err) == 0);
  json_record_free(r);
}

static void test_error_buffer_may_be_tiny_or_absent(void) {
  json_record *r = NULL;
  char small[8];
  CHECK(json_parse_record("{", 1, &r, small, sizeof small) != 0);
  CHECK(strlen(small) == sizeof small - 1);
  CHECK(json_parse_record("{", 1, &r, NULL, 0) != 0);
}

static void test_written_strings_are_escaped_and_read_back(void) {
  const char *s = "quote\" back\\ nl\n tab\t bell\x07 del\x7f \xe2\x82\xac";
  char buf[256];
  FILE *f = tmpfile();
  CHECK(f != NULL);
  fputs("{\"k\":", f);
  CHECK(json_write_string(f, s) == 0);
  fputs("}", f);
  rewind(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  CHECK(strstr(buf, "\\u0007") && strstr(buf, "\\\"") && strstr(buf, "\\n"));
  json_record *r = parse(buf);
  CHECK(r != NULL);
  CHECK(!strcmp(r->fields[0].value.str, s));
  json_record_free(r);
}

static void test_nested_reads_one_level_of_objects(void) {
  const char *line = "{\"at\":\"A\",\"fields\":{\"org\":\"CAW\",\"minutes\":90,"
                     "\"languages\":[\"nl\"]},\"sync\":[\"A\",\"B\"]}";
  json_record *r = NULL;
  CHECK(json_parse_nested(line, strlen(line), &r, err, sizeof err) == 0);
  CHECK(r && r->count == 3);
  CHECK(r && r->fields[0].object == NULL && r->fields[0].value.kind == STEK_VALUE_STR);
  const json_record *f = r ? r->fields[1].object : NULL;
  CHECK(f && f->count == 3 && r->fields[1].value.kind == 0);
  CHECK(f && f->fields[1].value.kind == STEK_VALUE_INT && f->fields[1].value.i == 90);
  CHECK(f && f->fields[2].value.kind == STEK_VALUE_LIST && f->fields[2].value.list_len == 1);
  CHECK(r && r->fields[2].value.kind == STEK_VALUE_LIST);
  json_record_free(r);
  /* json_parse_record() still refuses objects as values. */
  CHECK(refused(line, "nested objects are not supported"));
  /* json_parse_nested() allows one level, no more, and no duplicate keys. */
  const char *deep = "{\"a\":{\"b\":{\"c\":1}}}";
  CHECK(json_parse_nested(deep, strlen(deep), &r, err, sizeof err) != 0 && !r);
  CHECK(strstr(err, "nested objects are not supported at byte 10") != NULL);
  const char *dup = "{\"a\":{\"b\":1,\"b\":2}}";
  CHECK(json_parse_nested(dup, strlen(dup), &r, err, sizeof err) != 0 && !r);
  CHECK(strstr(err, "duplicate key") != NULL);
  const char *cut = "{\"a\":{\"b\":1}";
  CHECK(json_parse_nested(cut, strlen(cut), &r, err, sizeof err) != 0 && !r);
}

int main(void) {
  RUN(test_strings_integers_and_lists_are_read);
  RUN(test_empty_object_is_read);
  RUN(test_int64_extremes_are_read);
  RUN(test_escapes_are_decoded);
  RUN(test_surrogate_pairs_become_utf8);
  RUN(test_utf8_is_passed_through);
  RUN(test_escaped_keys_are_duplicates_of_plain_ones);
  RUN(test_values_a_record_cannot_hold_are_refused);
  RUN(test_floats_and_bad_numbers_are_refused);
  RUN(test_syntax_errors_are_refused);
  RUN(test_bad_strings_are_refused);
  RUN(test_invalid_utf8_is_refused);
  RUN(test_error_names_the_byte_offset);
  RUN(test_nul_bytes_are_refused);
  RUN(test_limits_are_enforced);
  RUN(test_every_prefix_of_a_valid_document_is_refused);
  RUN(test_error_buffer_may_be_tiny_or_absent);
  RUN(test_written_strings_are_escaped_and_read_back);
  RUN(test_nested_reads_one_level_of_objects);
  return test_report();
}
