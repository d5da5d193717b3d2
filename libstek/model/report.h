/*
 * model/report -- k-anonymous signal reports: counts by theme x site x
 * month, as CSV or as an SVG bar chart readable without JavaScript.
 *
 * A cell with fewer than k signals is suppressed: its count is never
 * printed, only marked, and no totals are printed that would let a reader
 * subtract their way back to it.  Must never: print a suppressed count, or
 * any signal's text.
 */
#ifndef STEK_MODEL_REPORT_H
#define STEK_MODEL_REPORT_H

#include <stddef.h>

typedef struct report report;

report *report_new(void);
void report_free(report *r);
/* Count one signal of this ISO week; 0 or STEK_ENOMEM / STEK_EMALFORMED. */
int report_add(report *r, const char *week, const char *theme, const char *site);
/* Render as CSV or SVG (STEK_REPORT_*) into a malloc'd string. */
int report_render(report *r, int k, int format, char **out);

#endif
