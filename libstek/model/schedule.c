/* model/schedule -- schedule entries (in progress: replaced this session). */
#include "api.h"
#include "stek.h"

int stek_schedule_put(stek *s, const uint8_t id[STEK_ID_BYTES],
                      const stek_field *fields, size_t n) {
  (void)id, (void)fields, (void)n;
  return stek__fail(s, STEK_ERROR, "schedules are not built yet");
}

int stek_schedule_cancel(stek *s, const uint8_t id[STEK_ID_BYTES], const char *date,
                         int cancel) {
  (void)id, (void)date, (void)cancel;
  return stek__fail(s, STEK_ERROR, "schedules are not built yet");
}

int stek_schedule_occurrences(stek *s, const char *from, const char *to,
                              const char *site, stek_occurrence_cb cb, void *ctx) {
  (void)from, (void)to, (void)site, (void)cb, (void)ctx;
  return stek__fail(s, STEK_ERROR, "schedules are not built yet");
}

int stek_schedule_ics(stek *s, const char *site, char **out) {
  (void)site, (void)out;
  return stek__fail(s, STEK_ERROR, "schedules are not built yet");
}
