/* Fuzz target: tz_parse() (model/tz), the TZif reader, and the queries on
 * a zone that parsed.  Invariants: no crash, no leak, no read outside the
 * buffer; queries over years 1..9999 terminate; the transitions count is
 * consistent between a sizing call and a filling call. */
#include "fuzz.h"
#include "model/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tz *z;
  char err[128];
  if (tz_parse(data, size, "Fuzz/Zone", &z, err, sizeof err) != 0) return 0;
  static const int64_t at[] = {INT64_MIN / 2, -62135596800, 0, 1767225600, 4102444800,
                               253402300799, INT64_MAX / 2};
  for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
    tz_info info;
    int32_t off;
    tz_info_at(z, at[i], &info);
    (void)tz_local_to_utc(z, at[i], &off);
  }
  size_t n = 0, n2 = 0;
  tz_transition tr[64];
  tz_transitions(z, 1735689600, 1767225600 + 5 * 31622400, NULL, 0, &n);
  tz_transitions(z, 1735689600, 1767225600 + 5 * 31622400, tr, 64, &n2);
  if (n != n2) abort();
  (void)tz_name(z);
  tz_free(z);
  return 0;
}
