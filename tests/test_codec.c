/* codec/mp: the bounded, canonical msgpack reader and the writer. */
#include "codec/mp.h"
#include "test.h"

static mp_reader rd(const void *b, size_t n) {
  mp_reader r;
  mp_reader_init(&r, b, n);
  return r;
}

static void test_shortest_integers_are_read(void) {
  uint64_t u;
  int64_t i;
  mp_reader r = rd("\x7f", 1);
  CHECK_OK(mp_read_uint(&r, &u));
  CHECK(u == 127);
  r = rd("\xcc\x80", 2);
  CHECK_OK(mp_read_uint(&r, &u));
  CHECK(u == 128);
  r = rd("\xcf\x01\x00\x00\x00\x00\x00\x00\x00", 9);
  CHECK_OK(mp_read_uint(&r, &u));
  CHECK(u == (UINT64_C(1) << 56));
  r = rd("\xe0", 1);
  CHECK_OK(mp_read_int(&r, &i));
  CHECK(i == -32);
  r = rd("\xd0\xdf", 2);
  CHECK_OK(mp_read_int(&r, &i));
  CHECK(i == -33);
  r = rd("\xd1\xff\x7f", 3);
  CHECK_OK(mp_read_int(&r, &i));
  CHECK(i == -129);
  r = rd("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9);
  CHECK_OK(mp_read_int(&r, &i));
  CHECK(i == INT64_MIN);
}

static void test_longer_than_needed_integers_are_malformed(void) {
  uint64_t u;
  int64_t i;
  mp_reader r = rd("\xcc\x05", 2); /* 5 fits a fixint */
  CHECK_RC(mp_read_uint(&r, &u), STEK_EMALFORMED);
  r = rd("\xcd\x00\xff", 3);
  CHECK_RC(mp_read_uint(&r, &u), STEK_EMALFORMED);
  r = rd("\xd0\x05", 2); /* a positive in a signed form */
  CHECK_RC(mp_read_int(&r, &i), STEK_EMALFORMED);
  r = rd("\xd0\xf0", 2); /* -16 fits a negative fixint */
  CHECK_RC(mp_read_int(&r, &i), STEK_EMALFORMED);
  r = rd("\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 9); /* > INT64_MAX */
  CHECK_RC(mp_read_int(&r, &i), STEK_EMALFORMED);
}

static void test_lengths_and_counts_are_checked_before_use(void) {
  uint32_t n, len;
  const char *s;
  const uint8_t *b;
  mp_reader r = rd("\xdd\xff\xff\xff\xff", 5); /* 4 G elements, 0 bytes */
  CHECK_RC(mp_read_array(&r, &n, UINT32_MAX), STEK_ETRUNCATED);
  r = rd("\x93\x01\x02\x03", 4);
  CHECK_RC(mp_read_array(&r, &n, 2), STEK_ETOOBIG);
  r = rd("\xa5hey", 4);
  CHECK_RC(mp_read_str(&r, &s, &len, 100), STEK_ETRUNCATED);
  r = rd("\xa3hey", 4);
  CHECK_RC(mp_read_str(&r, &s, &len, 2), STEK_ETOOBIG);
  r = rd("\xc4\x02\x01\x02", 4);
  CHECK_RC(mp_read_bin(&r, &b, &len, 3, 0), STEK_EMALFORMED); /* wrong size */
  r = rd("\xd9\x03hey", 5); /* str8 for a fixstr length */
  CHECK_RC(mp_read_str(&r, &s, &len, 10), STEK_EMALFORMED);
  r = rd("\xdc\x00\x01\x01", 4); /* array16 for one element */
  CHECK_RC(mp_read_array(&r, &n, 10), STEK_EMALFORMED);
}

static void test_errors_are_sticky(void) {
  uint64_t u;
  mp_reader r = rd("\xc1\x01", 2);
  CHECK_RC(mp_read_uint(&r, &u), STEK_EMALFORMED);
  CHECK_RC(mp_read_uint(&r, &u), STEK_EMALFORMED);
  CHECK_RC(mp_read_end(&r), STEK_EMALFORMED);
}

static void test_invalid_utf8_is_malformed(void) {
  static const char *bad[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                              "\xe2\x82", "\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK(!mp_utf8_valid(bad[i], strlen(bad[i])));
  const char *good = "Budgethulp \xe2\x80\x94 \xf0\x9f\x98\x80";
  CHECK(mp_utf8_valid(good, strlen(good)));
}

static void test_writer_output_reads_back_canonically(void) {
  int64_t ints[] = {0, 1, 127, 128, 255, 256, 65535, 65536, -1, -32, -33, -128,
                    -129, -32768, -32769, INT64_MIN, INT64_MAX};
  mp_writer w;
  mp_writer_init(&w);
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) mp_write_int(&w, ints[i]);
  char big[300];
  memset(big, 'x', sizeof big);
  mp_write_str(&w, big, 31);
  mp_write_str(&w, big, 32);
  mp_write_str(&w, big, 300);
  mp_write_bin(&w, big, 255);
  mp_write_bin(&w, big, 256);
  CHECK(w.err == 0);
  mp_reader r = rd(w.buf.data, w.buf.size);
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
    int64_t v;
    CHECK_OK(mp_read_int(&r, &v));
    CHECK(v == ints[i]);
  }
  const char *s;
  const uint8_t *b;
  uint32_t len;
  CHECK_OK(mp_read_str(&r, &s, &len, 1000));
  CHECK(len == 31);
  CHECK_OK(mp_read_str(&r, &s, &len, 1000));
  CHECK(len == 32);
  CHECK_OK(mp_read_str(&r, &s, &len, 1000));
  CHECK(len == 300);
  CHECK_OK(mp_read_bin(&r, &b, &len, 0, 1000));
  CHECK(len == 255);
  CHECK_OK(mp_read_bin(&r, &b, &len, 256, 0));
  CHECK_OK(mp_read_end(&r));
  mp_writer_free(&w);
}

int main(void) {
  RUN(test_shortest_integers_are_read);
  RUN(test_longer_than_needed_integers_are_malformed);
  RUN(test_lengths_and_counts_are_checked_before_use);
  RUN(test_errors_are_sticky);
  RUN(test_invalid_utf8_is_malformed);
  RUN(test_writer_output_reads_back_canonically);
  return test_report();
}
