/*
 * model/schedule -- internals shared by the schedule functions
 * (model/schedule.c) and the iCalendar export (model/ics.c): a schedule
 * record read into its parsed parts.
 */
#ifndef STEK_MODEL_SCHEDULE_H
#define STEK_MODEL_SCHEDULE_H

#include "model/rrule.h"
#include "model/tz.h"
#include "stek.h"

#define STEK_DEFAULT_TZ "Europe/Brussels"
#define STEK_MAX_OCCURRENCES (1 << 20)

typedef struct schedule_entry {
  const stek_record *rec;
  const char *title, *site, *tzname; /* point into rec */
  int minutes;
  tz_local dtstart;
  int has_rule;
  rrule rule;
  tz *zone;
  rrule_exdate *ex;
  size_t n_ex;
} schedule_entry;

/* The zoneinfo directory: the config's, $TZDIR, or the default. */
const char *schedule_zoneinfo(const stek *s);
/* Parse r; STEK_EINVAL (reason in err) if it cannot be expanded. Clear
 * with schedule_entry_clear() whatever it returns. */
int schedule_entry_read(stek *s, const stek_record *r, schedule_entry *e, char *err,
                        size_t errcap);
void schedule_entry_clear(schedule_entry *e);

#endif
