/*
 * model/directory -- the social map: full-text search over directory
 * entries.  The index itself (FTS5, unicode61 with diacritics removed) is
 * kept by store/ and refreshed inside every transaction that touches a
 * directory record, local or ingested, so it always follows merges.
 *
 * Must never: pass user text to FTS5 unquoted (its query syntax is not the
 * user's to drive), or list a record that is deleted.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "crdt/signal.h"
#include "stek.h"

/* A user's words become FTS5 prefix terms, each quoted: `"schuld"* "gent"*`.
 * Words are split at ASCII spaces and punctuation; other bytes (letters
 * with diacritics, any script) stay in the word. */
static char *build_match(const char *q) {
  size_t n = strlen(q);
  char *m = malloc(n * 2 + 8 * (n / 2 + 1) + 1);
  size_t len = 0;
  int words = 0;
  if (!m) return NULL;
  for (const unsigned char *p = (const unsigned char *)q; *p;) {
    while (*p && *p < 0x80 && !((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                                (*p >= 'A' && *p <= 'Z')))
      p++;
    if (!*p) break;
    if (words++) m[len++] = ' ';
    m[len++] = '"';
    while (*p && (*p >= 0x80 || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= 'A' && *p <= 'Z')))
      m[len++] = (char)*p++;
    m[len++] = '"';
    m[len++] = '*';
  }
  m[len] = 0;
  if (!words) {
    free(m);
    return NULL;
  }
  return m;
}

struct search {
  stek *s;
  const char *lang, *category;
  stek_record_cb cb;
  void *ctx;
  int err;
};

/* Does the record serve lang: listed in "languages", or has summary.<lang>? */
static int speaks(const stek_record *r, const char *lang) {
  stek_value v;
  char field[STEK_MAX_NAME_BYTES + 1];
  if (stek_record_find(r, "languages", &v) == STEK_OK) {
    if (v.kind == STEK_VALUE_STR && strcmp(v.str, lang) == 0) return 1;
    for (size_t i = 0; v.kind == STEK_VALUE_LIST && i < v.list_len; i++)
      if (strcmp(v.list[i], lang) == 0) return 1;
  }
  if (strlen(lang) + 8 > STEK_MAX_NAME_BYTES) return 0;
  memcpy(field, "summary.", 8);
  strcpy(field + 8, lang);
  return stek_record_find(r, field, &v) == STEK_OK;
}

static int in_category(const stek_record *r, const char *category) {
  stek_value v;
  if (stek_record_find(r, "category", &v) == STEK_OK && v.kind == STEK_VALUE_STR &&
      strcmp(v.str, category) == 0)
    return 1;
  if (stek_record_find(r, "tags", &v) == STEK_OK)
    for (size_t i = 0; v.kind == STEK_VALUE_LIST && i < v.list_len; i++)
      if (strcmp(v.list[i], category) == 0) return 1;
  return 0;
}

static int search_one(void *p, const char *type, const uint8_t *rid) {
  struct search *se = p;
  stek_record *rec;
  int rc = stek__record_load(se->s, type, rid, &rec);
  if (rc == STEK_ENOTFOUND) return 0;
  if (rc) {
    se->err = rc;
    return rc;
  }
  if ((!se->lang || speaks(rec, se->lang)) &&
      (!se->category || in_category(rec, se->category)))
    rc = se->cb(se->ctx, rec);
  stek_record_free(rec);
  return rc;
}

int stek_directory_search(stek *s, const char *query, const char *lang,
                          const char *category, stek_record_cb cb, void *ctx) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!query || !cb) return STEK_EINVAL;
  if (strlen(query) > 1024) return stek__fail(s, STEK_ETOOBIG, "query is over 1024 bytes");
  char *match = build_match(query);
  if (!match) return stek__fail(s, STEK_EINVAL, "the query has no words to search for");
  struct search se = {s, lang, category, cb, ctx, 0};
  rc = store_fts_search(s->st, s->sp, "directory", match, search_one, &se);
  free(match);
  if (se.err) return stek__store_fail(s, se.err);
  return rc < 0 ? stek__store_fail(s, rc) : stek__ok(s, rc);
}

/* ---- typed writes ---- */

static int is_list_of_strings(const stek_value *v) { return v->kind == STEK_VALUE_LIST; }

static const char *const directory_strings[] = {"org", "service", "refer_how", "bring",
                                                "hours", "phone", "address", "email",
                                                "website", "notes"};

/* Check one directory field; NULL if fine, else the reason. */
static const char *directory_check(const stek_field *f) {
  const stek_value *v = &f->value;
  if (v->kind == STEK_VALUE_NONE) return NULL; /* removal */
  if (!strcmp(f->name, "category")) {
    if (v->kind != STEK_VALUE_STR || !signal_theme_valid(v->str, strlen(v->str)))
      return "category must be one of income, housing, health, debt, digital, "
             "energy, work, legal, family, mobility, food, education";
    return NULL;
  }
  if (!strcmp(f->name, "tags") || !strcmp(f->name, "languages"))
    return is_list_of_strings(v) ? NULL : "tags and languages are lists of strings";
  if (!strncmp(f->name, "summary.", 8)) {
    size_t n = strlen(f->name + 8);
    if (n < 2 || n > 8) return "summary.LANG needs a language code such as nl or fr";
    return v->kind == STEK_VALUE_STR ? NULL : "a summary is a string";
  }
  for (size_t i = 0; i < sizeof directory_strings / sizeof *directory_strings; i++)
    if (!strcmp(f->name, directory_strings[i]))
      return v->kind == STEK_VALUE_STR ? NULL : "this field is a string";
  return NULL;
}

int stek_directory_put(stek *s, const uint8_t id[STEK_ID_BYTES],
                       const stek_field *fields, size_t n) {
  int rc = stek__need_space(s);
  if (rc) return rc;
  if (!id || (!fields && n)) return STEK_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!fields[i].name) return stek__fail(s, STEK_EINVAL, "a field has no name");
    const char *why = directory_check(&fields[i]);
    if (why) return stek__fail(s, STEK_EINVAL, "directory field '%.64s': %s", fields[i].name, why);
  }
  return stek__put_fields(s, "directory", id, fields, n, "tags");
}
