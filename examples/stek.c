/*
 * stek -- the command-line tool over libstek (contract: CLI.md).
 *
 *   stek --store DIR [--space ID] COMMAND ...
 *
 * DIR holds one device's store, DIR/stek.db.  Each command is a row of the
 * table at the bottom: its words, the arguments it takes, whether it needs
 * the store, and the function that runs it.  The dispatcher checks the
 * arguments against the row before the store is opened, so a usage error
 * never creates or touches a store.
 *
 * Exit codes: 0 success, 1 failure, 2 usage, 3 bad credentials or keys,
 * 4 malformed input (JSON, change streams, peer data).  Every failure is one
 * line on stderr starting "stek: ".
 *
 * Must never: print secrets, or leave a half-written record (writes of one
 * command are one transaction).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "replay.h"
#include "stek.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_CREDS = 3, EXIT_INPUT = 4 };

enum { STORE_NONE, STORE_CREATE, STORE_OPEN };

#define MAX_POS 3  /* positional arguments of any command */
#define MAX_OPTS 4 /* options of any command */
#define MAX_SHARE_BYTES (64u * 1024)

typedef struct cli {
  const char *store_dir;
  const char *space_hex; /* --space ID, or NULL */
  const char *pass_file; /* --passphrase-file FILE, or NULL */
  char *pass;            /* the store's passphrase; NULL: a plaintext store */
  size_t pass_len;
  stek *s;
} cli;

/* A record type with its own commands ("schedule put", "directory get"):
 * its name, and the library's checked put for it. */
typedef int (*typed_put_fn)(stek *s, const uint8_t id[STEK_ID_BYTES],
                            const stek_field *fields, size_t n);
typedef struct kind {
  const char *type;
  typed_put_fn put;
} kind;

/* The commands of a group named after a kind ("schedule get ID") act on
 * that type; "record get TYPE ID" names its type. */
static const kind kinds[] = {{"schedule", stek_schedule_put},
                             {"directory", stek_directory_put}};

typedef struct args {
  const char *name; /* the command's words, for messages */
  const kind *kind; /* the row's record type; NULL for "record ..." */
  const char *pos[MAX_POS];
  int npos;
  const char *opt[MAX_OPTS]; /* by index in command.opts; NULL if absent,
                                "" for a flag given */
} args;

typedef struct command {
  const char *name; /* one or two words: "init", "record put" */
  const char *usage;
  int min_pos, max_pos;
  const char *opts[MAX_OPTS]; /* options, e.g. "--id"; flags as usage says */
  int store;
  int (*run)(cli *c, const args *a);
  const char *help;
} command;

/* ---- messages ----------------------------------------------------------- */

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Print "stek: <message>" as one line on stderr and return code.  Control
 * characters (from names in the user's input) are shown as '?', so that the
 * message stays one line. */
static int fail(int code, const char *fmt, ...) CLI_PRINTF(2, 3);
static int fail(int code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *p = msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  fprintf(stderr, "stek: %s\n", msg);
  return code;
}

/* The failure of a call on the store when it reported STEK_ENOSPACE: say
 * what the user should do about it. */
static int fail_space(cli *c) {
  size_t n = 0;
  if (c->space_hex)
    return fail(EXIT_FAIL, "no space %s in this store (see 'stek space list')",
                c->space_hex);
  if (stek_space_count(c->s, &n) == STEK_OK && n == 0)
    return fail(EXIT_FAIL, "no space: run 'stek --store %s init --space NAME'",
                c->store_dir);
  if (n > 1)
    return fail(EXIT_FAIL, "several spaces: pass --space ID (see 'stek space list')");
  return fail(EXIT_FAIL, "no space chosen: %s", stek_errmsg(c->s));
}

/* Report the failure rc of a library call about what.  input_exit is the
 * exit code for STEK_EINVAL: EXIT_INPUT when the bad argument came from the
 * user (JSON, a type name), EXIT_FAIL when it is this program's fault. */
static int fail_lib(cli *c, int rc, int input_exit, const char *what) {
  const char *detail = c->s ? stek_errmsg(c->s) : "";
  int code = EXIT_FAIL;
  if (rc == STEK_ENOSPACE && c->s) return fail_space(c);
  if (rc <= STEK_ETRUNCATED && rc >= STEK_EVERSION) code = EXIT_INPUT;
  if (rc == STEK_EINVAL) code = input_exit;
  if (rc == STEK_EKEY || rc == STEK_EREFUSED) code = EXIT_CREDS;
  if (!*detail || !strcmp(detail, stek_strerror(rc)))
    return fail(code, "%s: %s", what, stek_strerror(rc));
  return fail(code, "%s: %s: %s", what, stek_strerror(rc), detail);
}

static void print_hex(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  putchar('\n');
}

/* Exactly 2*n hex digits into b[n]; -1 otherwise. */
static int parse_hex(const char *hex, uint8_t *b, size_t n) {
  if (strlen(hex) != 2 * n) return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    char pair[3] = {hex[2 * i], hex[2 * i + 1], 0};
    if (!strchr("0123456789abcdefABCDEF", pair[0]) ||
        !strchr("0123456789abcdefABCDEF", pair[1]) || sscanf(pair, "%2x", &v) != 1)
      return -1;
    b[i] = (uint8_t)v;
  }
  return 0;
}

static int parse_id(const char *hex, uint8_t id[STEK_ID_BYTES], const char *what) {
  if (stek_id_from_hex(hex, id) != STEK_OK)
    return fail(EXIT_USAGE, "%s must be 32 hex digits, not '%s'", what, hex);
  return 0;
}

/* ---- files -------------------------------------------------------------- */

/* Read all of f into a fresh NUL-terminated *out.  0 on success, -1 on a
 * read error, 1 if f holds more than limit bytes. */
static int read_all(FILE *f, size_t limit, char **out, size_t *len) {
  size_t cap = 0, n = 0, got;
  char *buf = NULL;
  do {
    if (n == cap) {
      char *more = cap <= limit ? realloc(buf, (cap ? 2 * cap : 4096) + 1) : NULL;
      if (!more) break; /* over the limit, or out of memory */
      buf = more;
      cap = cap ? 2 * cap : 4096;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
  } while (got > 0);
  if (!buf || n > limit || ferror(f) || !feof(f)) {
    free(buf);
    return n > limit ? 1 : -1;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

/* mkdir -p, with mode for the directories it makes. */
static int make_dirs(const char *path, mode_t mode) {
  char buf[4096];
  if (strlen(path) >= sizeof buf) return -1;
  strcpy(buf, path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, mode) != 0 && errno != EEXIST ? -1 : 0;
}

/* ---- opening the store -------------------------------------------------- */

/* The store's passphrase: the first line of --passphrase-file (without its
 * line ending), else $STEK_PASSPHRASE, else none -- a plaintext store, for
 * tests and tools.  A store is encrypted if it was created with one, and
 * then opens only with it (a wrong one: exit 3). */
static int load_passphrase(cli *c) {
  char buf[1024];
  const char *env = getenv("STEK_PASSPHRASE");
  size_t n = 0;
  if (c->pass_file) {
    FILE *fp = fopen(c->pass_file, "rb");
    if (!fp) return fail(EXIT_FAIL, "cannot read %s: %s", c->pass_file, strerror(errno));
    n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    if (n && buf[n - 1] == '\n') n--;
    if (n && buf[n - 1] == '\r') n--;
    if (!n) return fail(EXIT_CREDS, "the passphrase in %s is empty", c->pass_file);
  } else if (env && *env) {
    n = strlen(env);
    if (n > sizeof buf) n = sizeof buf;
    memcpy(buf, env, n);
  }
  if (n && !(c->pass = malloc(n))) return fail(EXIT_FAIL, "out of memory");
  if (n) memcpy(c->pass, buf, n);
  c->pass_len = n;
  memset(buf, 0, sizeof buf);
  return 0;
}

static stek_config store_config(const cli *c) {
  stek_config cfg;
  stek_config_init(&cfg);
  cfg.passphrase = c->pass;
  cfg.passphrase_len = c->pass_len;
  return cfg;
}

/* Open DIR/stek.db (creating DIR and the store when create is set) and
 * choose --space if given. */
static int open_store(cli *c, int create) {
  char path[4096];
  uint8_t sp[STEK_ID_BYTES];
  if (!c->store_dir) return fail(EXIT_USAGE, "--store DIR is required");
  if ((size_t)snprintf(path, sizeof path, "%s/stek.db", c->store_dir) >= sizeof path)
    return fail(EXIT_USAGE, "--store path is too long");
  if (c->space_hex && parse_id(c->space_hex, sp, "--space"))
    return EXIT_USAGE;
  if (create && make_dirs(c->store_dir, 0700) != 0)
    return fail(EXIT_FAIL, "cannot create %s: %s", c->store_dir, strerror(errno));
  if (!create && access(path, F_OK) != 0)
    return fail(EXIT_FAIL, "no store in %s: run 'stek --store %s init'",
                c->store_dir, c->store_dir);
  int rc = load_passphrase(c);
  if (rc) return rc;
  stek_config cfg = store_config(c);
  rc = stek_open(&c->s, path, &cfg);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, path);
  if (c->space_hex && (rc = stek_space_use(c->s, sp)) != STEK_OK)
    return fail_lib(c, rc, EXIT_FAIL, "--space");
  return 0;
}

/* ---- init, device, spaces ----------------------------------------------- */

static int cmd_init(cli *c, const args *a) {
  uint8_t id[STEK_ID_BYTES];
  char hex[33];
  if (!a->opt[0]) return 0; /* the store exists now; nothing else to do */
  int rc = stek_space_create(c->s, a->opt[0], id);
  if (rc) return fail_lib(c, rc, EXIT_INPUT, "init --space");
  stek_id_to_hex(id, hex);
  puts(hex);
  return 0;
}

static int cmd_device_id(cli *c, const args *a) {
  uint8_t id[STEK_DEVICE_ID_BYTES];
  (void)a;
  stek_device_id(c->s, id);
  print_hex(id, sizeof id);
  return 0;
}

static int print_device(void *ctx, const uint8_t device[STEK_DEVICE_ID_BYTES], int revoked) {
  char hex[2 * STEK_DEVICE_ID_BYTES + 1];
  (void)ctx;
  for (int i = 0; i < STEK_DEVICE_ID_BYTES; i++) snprintf(hex + 2 * i, 3, "%02x", device[i]);
  printf("{\"device\":\"%s\",\"revoked\":%s}\n", hex, revoked ? "true" : "false");
  return 0;
}

/* device list: the devices of the current space, JSON Lines. */
static int cmd_device_list(cli *c, const args *a) {
  (void)a;
  int rc = stek_device_list(c->s, print_device, NULL);
  return rc ? fail_lib(c, rc, EXIT_FAIL, "device list") : 0;
}

/* device revoke DEVICE_ID: a new key epoch without that device. */
static int cmd_device_revoke(cli *c, const args *a) {
  uint8_t dev[STEK_DEVICE_ID_BYTES];
  if (parse_hex(a->pos[0], dev, sizeof dev) != 0)
    return fail(EXIT_USAGE, "DEVICE_ID must be 64 hex digits, not '%s'", a->pos[0]);
  int rc = stek_device_revoke(c->s, dev);
  return rc ? fail_lib(c, rc, EXIT_INPUT, "device revoke") : 0;
}

static int cmd_space_list(cli *c, const args *a) {
  size_t n;
  char hex[33];
  (void)a;
  int rc = stek_space_count(c->s, &n);
  for (size_t i = 0; rc == STEK_OK && i < n; i++) {
    uint8_t id[STEK_ID_BYTES];
    const char *name;
    if ((rc = stek_space_get(c->s, i, id, &name)) != STEK_OK) break;
    stek_id_to_hex(id, hex);
    printf("{\"id\":\"%s\",\"name\":", hex);
    json_write_string(stdout, name);
    puts("}");
  }
  return rc ? fail_lib(c, rc, EXIT_FAIL, "space list") : 0;
}

/* Write n bytes to a new file only its owner can read. */
static int write_private(const char *path, const uint8_t *b, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (!f) {
    if (fd >= 0) close(fd);
    return fail(EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
  }
  size_t put = fwrite(b, 1, n, f);
  if (fclose(f) != 0 || put != n)
    return fail(EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
  return 0;
}

static int cmd_space_share(cli *c, const args *a) {
  uint8_t dev[STEK_DEVICE_ID_BYTES], *sealed = NULL;
  size_t len = 0;
  if (parse_hex(a->pos[0], dev, sizeof dev) != 0)
    return fail(EXIT_USAGE, "DEVICE_ID must be 64 hex digits, not '%s'", a->pos[0]);
  int rc = stek_space_share(c->s, dev, &sealed, &len);
  if (rc) return fail_lib(c, rc, EXIT_INPUT, "space share");
  rc = write_private(a->pos[1], sealed, len);
  stek_free(sealed);
  return rc;
}

/* Read a share file (space or relay) into a fresh *buf. */
static int read_share(const char *path, char **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return fail(EXIT_FAIL, "cannot open %s: %s", path, strerror(errno));
  int rd = read_all(f, MAX_SHARE_BYTES, buf, len);
  fclose(f);
  if (rd) return rd > 0 ? fail(EXIT_INPUT, "%s: too big for a share", path)
                        : fail(EXIT_FAIL, "cannot read %s", path);
  return 0;
}

static int cmd_space_accept(cli *c, const args *a) {
  char *buf;
  size_t len;
  int rc = read_share(a->pos[0], &buf, &len);
  if (rc) return rc;
  rc = stek_space_accept(c->s, (const uint8_t *)buf, len);
  free(buf);
  if (rc < 0) return fail_lib(c, rc, EXIT_INPUT, "space accept");
  return 0; /* STEK_DUPLICATE: already a member, which is what was asked */
}

/* ---- records ------------------------------------------------------------ */

/* Read the record's JSON from --json or stdin and parse it. */
static int read_record(const char *json, json_record **r) {
  char *buf = NULL, err[256];
  size_t len;
  if (!json) {
    int rd = read_all(stdin, JSON_MAX_INPUT_BYTES, &buf, &len);
    if (rd > 0)
      return fail(EXIT_INPUT, "invalid JSON: input too large (limit %u bytes)",
                  JSON_MAX_INPUT_BYTES);
    if (rd < 0) return fail(EXIT_FAIL, "cannot read standard input");
  }
  int rc = json_parse_record(json ? json : buf, json ? strlen(json) : len, r, err,
                             sizeof err);
  free(buf);
  return rc ? fail(EXIT_INPUT, "invalid JSON: %s", err) : 0;
}

static int is_reserved(const char *name) {
  return !strcmp(name, "id") || !strcmp(name, "type");
}

/* The JSON may carry "id" and "type" (as 'record get' prints them), so that
 * a record read can be written back: they must agree with the arguments,
 * and an "id" is used when --id is absent.  *id_hex gets the id to use. */
static int check_reserved(const json_record *r, const char *type,
                          const char **id_hex) {
  size_t fields = 0;
  for (size_t i = 0; i < r->count; i++) {
    const json_field *f = &r->fields[i];
    fields += !is_reserved(f->name);
    if (!is_reserved(f->name)) continue;
    if (f->value.kind != STEK_VALUE_STR)
      return fail(EXIT_INPUT, "JSON \"%s\" must be a string", f->name);
    if (!strcmp(f->name, "type") && strcmp(f->value.str, type) != 0)
      return fail(EXIT_INPUT, "JSON \"type\" is \"%.64s\" but TYPE is \"%.64s\"",
                  f->value.str, type);
    if (!strcmp(f->name, "id") && *id_hex && strcasecmp(f->value.str, *id_hex))
      return fail(EXIT_INPUT, "JSON \"id\" differs from --id");
    if (!strcmp(f->name, "id")) *id_hex = f->value.str;
  }
  return fields ? 0 : fail(EXIT_INPUT, "the record has no fields");
}

/* The TYPE and ID arguments of a record command: fixed by the row for typed
 * commands ("schedule get ID"), the first positionals for "record ...". */
static const char *arg_type(const args *a) {
  return a->kind ? a->kind->type : a->npos ? a->pos[0] : NULL;
}
static const char *arg_id(const args *a) { return a->pos[a->kind ? 0 : 1]; }

/* Write every field of r to (type, id) with stek_put(), all in one change. */
static int put_fields(cli *c, const char *type, const uint8_t *id,
                      const json_record *r) {
  char what[128];
  int rc = stek_begin(c->s);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, "record put");
  for (size_t i = 0; i < r->count; i++) {
    const json_field *f = &r->fields[i];
    if (is_reserved(f->name)) continue;
    if ((rc = stek_put(c->s, type, id, f->name, &f->value)) != STEK_OK) {
      snprintf(what, sizeof what, "field \"%.64s\"", f->name);
      rc = fail_lib(c, rc, EXIT_INPUT, what);
      stek_rollback(c->s);
      return rc;
    }
  }
  rc = stek_commit(c->s);
  return rc ? fail_lib(c, rc, EXIT_FAIL, "record put") : 0;
}

/* Hand the fields of r to the type's checked put, which writes them in one
 * change or not at all. */
static int put_typed(cli *c, const args *a, const uint8_t *id, const json_record *r) {
  stek_field *f = calloc(r->count, sizeof *f);
  size_t n = 0;
  if (!f) return fail(EXIT_FAIL, "out of memory");
  for (size_t i = 0; i < r->count; i++)
    if (!is_reserved(r->fields[i].name))
      f[n++] = (stek_field){r->fields[i].name, r->fields[i].value};
  int rc = a->kind->put(c->s, id, f, n);
  free(f);
  return rc ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

/* record put TYPE / schedule put / directory put: [--id ID] [--json J]. */
static int cmd_put(cli *c, const args *a) {
  const char *type = arg_type(a), *id_hex = a->opt[0];
  uint8_t id[STEK_ID_BYTES];
  char hex[33];
  json_record *r = NULL;
  int rc = read_record(a->opt[1], &r);
  if (!rc) rc = check_reserved(r, type, &id_hex);
  if (!rc && id_hex && stek_id_from_hex(id_hex, id) != STEK_OK) /* --id or JSON */
    rc = fail(a->opt[0] ? EXIT_USAGE : EXIT_INPUT,
              "the record id must be 32 hex digits, not '%.40s'", id_hex);
  if (!rc && !id_hex) stek_id_new(id);
  if (!rc) rc = a->kind ? put_typed(c, a, id, r) : put_fields(c, type, id, r);
  json_record_free(r);
  if (rc) return rc;
  stek_id_to_hex(id, hex);
  puts(hex);
  return 0;
}

/* Read the live record named by the command's TYPE and ID into *r (NULL
 * to check only that it exists); 0, or EXIT_* after saying why not. */
static int load_record(cli *c, const args *a, uint8_t id[STEK_ID_BYTES],
                       stek_record **r) {
  stek_record *got = NULL;
  if (parse_id(arg_id(a), id, "ID")) return EXIT_USAGE;
  int rc = stek_get(c->s, arg_type(a), id, &got);
  if (rc == STEK_ENOTFOUND) return fail(EXIT_FAIL, "no such record");
  if (rc) return fail_lib(c, rc, EXIT_INPUT, a->name);
  if (r) *r = got;
  else stek_record_free(got);
  return 0;
}

static int print_record(void *ctx, const stek_record *r) {
  char *json = stek_record_json(r);
  (void)ctx;
  if (!json) return STEK_ENOMEM;
  puts(json);
  stek_free(json);
  return 0;
}

static int cmd_get(cli *c, const args *a) {
  uint8_t id[STEK_ID_BYTES];
  stek_record *r = NULL;
  int rc = load_record(c, a, id, &r);
  if (rc) return rc;
  rc = print_record(NULL, r);
  stek_record_free(r);
  return rc ? fail(EXIT_FAIL, "out of memory") : 0;
}

static int cmd_list(cli *c, const args *a) {
  int rc = stek_list(c->s, arg_type(a), print_record, NULL);
  return rc ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

static int cmd_delete(cli *c, const args *a) {
  uint8_t id[STEK_ID_BYTES];
  /* Deleting what this store has never seen is almost always a typo. */
  int rc = load_record(c, a, id, NULL);
  if (rc) return rc;
  rc = stek_delete(c->s, arg_type(a), id);
  return rc ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

static int cmd_state_hash(cli *c, const args *a) {
  uint8_t h[STEK_HASH_BYTES];
  (void)a;
  int rc = stek_state_hash(c->s, h);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, "state-hash");
  print_hex(h, sizeof h);
  return 0;
}

/* ---- changes: a stream of msgpack bin objects --------------------------- */

typedef struct exporter {
  FILE *f;
  uint64_t n;
} exporter;

/* The shortest msgpack bin header for len: bin8, bin16 or bin32. */
static size_t bin_header(uint8_t h[5], size_t len) {
  if (len <= 0xff) {
    h[0] = 0xc4, h[1] = (uint8_t)len;
    return 2;
  }
  if (len <= 0xffff) {
    h[0] = 0xc5, h[1] = (uint8_t)(len >> 8), h[2] = (uint8_t)len;
    return 3;
  }
  h[0] = 0xc6;
  for (int i = 0; i < 4; i++) h[1 + i] = (uint8_t)(len >> (24 - 8 * i));
  return 5;
}

static int export_one(void *ctx, const uint8_t *bytes, size_t len) {
  exporter *e = ctx;
  uint8_t h[5];
  size_t hl = bin_header(h, len);
  if (fwrite(h, 1, hl, e->f) != hl || fwrite(bytes, 1, len, e->f) != len)
    return 1; /* positive: ours, not the library's */
  e->n++;
  return 0;
}

static int cmd_changes_export(cli *c, const args *a) {
  const char *path = a->pos[0];
  exporter e = {fopen(path, "wb"), 0};
  if (!e.f) return fail(EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
  int rc = stek_changes(c->s, export_one, &e);
  int bad = fclose(e.f) != 0 || rc > 0;
  if (rc < 0 || bad) {
    remove(path);
    return rc < 0 ? fail_lib(c, rc, EXIT_FAIL, "changes export")
                  : fail(EXIT_FAIL, "cannot write %s", path);
  }
  printf("{\"exported\":%llu}\n", (unsigned long long)e.n);
  return 0;
}

/* Read the next bin header of the stream: its size in bytes and *len, 0 at
 * a clean end, -1 if it is not a bin header or is cut short. */
static int read_bin_header(FILE *f, size_t *len) {
  uint8_t h[4];
  int c = fgetc(f);
  size_t n = c == 0xc4 ? 1 : c == 0xc5 ? 2 : c == 0xc6 ? 4 : 0;
  if (c == EOF) return 0;
  if (n == 0 || fread(h, 1, n, f) != n) return -1;
  *len = 0;
  for (size_t i = 0; i < n; i++) *len = *len << 8 | h[i];
  return (int)n + 1;
}

typedef struct importer {
  uint64_t ingested, duplicates, offset;
  uint8_t *buf;
} importer;

/* Ingest the next change of f.  1 when one was read, 0 at the end, or
 * EXIT_* after reporting the failure. */
static int import_one(cli *c, FILE *f, importer *im) {
  size_t len;
  int h = read_bin_header(f, &len);
  uint64_t at = im->offset, n = im->ingested + im->duplicates;
  if (h == 0) return 0;
  im->offset += h > 0 ? (uint64_t)h + len : 0;
  if (h < 0)
    return fail(EXIT_INPUT, "change %llu at byte %llu: not a msgpack bin header",
                (unsigned long long)n + 1, (unsigned long long)at);
  if (len > STEK_MAX_CHANGE_BYTES)
    return fail(EXIT_INPUT, "change %llu at byte %llu: %zu bytes, over the limit",
                (unsigned long long)n + 1, (unsigned long long)at, len);
  if (fread(im->buf, 1, len, f) != len)
    return fail(EXIT_INPUT, "change %llu at byte %llu: truncated",
                (unsigned long long)n + 1, (unsigned long long)at);
  int rc = stek_ingest(c->s, im->buf, len);
  if (rc == STEK_OK) im->ingested++;
  if (rc == STEK_DUPLICATE) im->duplicates++;
  if (rc >= 0) return 1;
  char what[96];
  snprintf(what, sizeof what, "change %llu at byte %llu", (unsigned long long)n + 1,
           (unsigned long long)at);
  if (rc == STEK_ENOSPACE) /* peer data naming a space we do not hold */
    return fail(EXIT_INPUT, "%s: belongs to a space this store does not hold", what);
  return fail_lib(c, rc, EXIT_INPUT, what);
}

static int cmd_changes_import(cli *c, const args *a) {
  importer im = {0, 0, 0, malloc(STEK_MAX_CHANGE_BYTES)};
  FILE *f = fopen(a->pos[0], "rb");
  int rc = 0, tty = isatty(STDERR_FILENO);
  if (!f || !im.buf) {
    rc = f ? fail(EXIT_FAIL, "out of memory")
           : fail(EXIT_FAIL, "cannot open %s: %s", a->pos[0], strerror(errno));
  }
  while (!rc && (rc = import_one(c, f, &im)) == 1) {
    rc = 0;
    if (tty && (im.ingested + im.duplicates) % 256 == 0)
      fprintf(stderr, "\rimporting: %llu changes",
              (unsigned long long)(im.ingested + im.duplicates));
  }
  if (tty && im.ingested + im.duplicates >= 256) fputc('\n', stderr);
  if (!rc && ferror(f)) rc = fail(EXIT_FAIL, "cannot read %s", a->pos[0]);
  if (f) fclose(f);
  free(im.buf);
  if (rc) return rc;
  printf("{\"ingested\":%llu,\"duplicates\":%llu}\n",
         (unsigned long long)im.ingested, (unsigned long long)im.duplicates);
  return 0;
}

/* ---- bundles: encrypted files of a space's changes ----------------------- */

/* Days from 1970-01-01 to a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* --since: milliseconds since the epoch, or a UTC date "YYYY-MM-DD" with an
 * optional time "THH:MM[:SS]" and "Z".  -1 if it is neither. */
static int64_t parse_since(const char *v) {
  int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
  char *end;
  if (*v >= '0' && *v <= '9' && !strchr(v, '-')) {
    errno = 0;
    long long ms = strtoll(v, &end, 10);
    return *end || errno || ms < 0 ? -1 : (int64_t)ms;
  }
  if (sscanf(v, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
  const char *t = v + 10;
  if (*t == 'T') {
    int k = 0;
    if (sscanf(t, "T%2d:%2d%n", &h, &mi, &k) != 2 || k != 6) return -1;
    t += k;
    if (*t == ':' && (sscanf(t, ":%2d%n", &sec, &k) != 1 || k != 3)) return -1;
    if (*t == ':') t += 3;
  }
  if (*t == 'Z') t++;
  if (*t || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      sec > 59)
    return -1;
  return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL;
}

/* bundle export FILE [--since DATE|MS] */
static int cmd_bundle_export(cli *c, const args *a) {
  int64_t since = 0;
  uint64_t n;
  if (a->opt[0] && (since = parse_since(a->opt[0])) < 0)
    return fail(EXIT_USAGE, "--since must be a date (YYYY-MM-DD[THH:MM[:SS]], UTC) or "
                "milliseconds since 1970, not '%.64s'", a->opt[0]);
  int rc = stek_bundle_export(c->s, a->pos[0], since, &n);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, a->name);
  printf("{\"exported\":%llu}\n", (unsigned long long)n);
  return 0;
}

/* bundle import FILE */
static int cmd_bundle_import(cli *c, const args *a) {
  uint64_t ingested, dups;
  int rc = stek_bundle_import(c->s, a->pos[0], &ingested, &dups);
  if (rc == STEK_ENOSPACE)
    return fail(EXIT_FAIL, "%s is a bundle of no space this store holds (join the "
                "space first)", a->pos[0]);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, a->name);
  printf("{\"ingested\":%llu,\"duplicates\":%llu}\n", (unsigned long long)ingested,
         (unsigned long long)dups);
  return 0;
}

/* ---- schedules ---------------------------------------------------------- */

/* schedule cancel / uncancel ID DATE: add or remove one cancelled date. */
static int schedule_cancel(cli *c, const args *a, int cancel) {
  uint8_t id[STEK_ID_BYTES];
  int rc = load_record(c, a, id, NULL);
  if (rc) return rc;
  rc = stek_schedule_cancel(c->s, id, a->pos[1], cancel);
  return rc ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

static int cmd_schedule_cancel(cli *c, const args *a) { return schedule_cancel(c, a, 1); }
static int cmd_schedule_uncancel(cli *c, const args *a) { return schedule_cancel(c, a, 0); }

static int print_occurrence(void *ctx, const stek_occurrence *o) {
  char hex[33];
  (void)ctx;
  stek_id_to_hex(o->id, hex);
  printf("{\"id\":\"%s\",\"start\":", hex);
  json_write_string(stdout, o->start);
  fputs(",\"end\":", stdout);
  json_write_string(stdout, o->end);
  fputs(",\"title\":", stdout);
  json_write_string(stdout, o->title ? o->title : "");
  fputs(",\"site\":", stdout);
  json_write_string(stdout, o->site ? o->site : "");
  puts("}");
  return 0;
}

/* schedule occurrences --from DATE --to DATE [--site NAME] */
static int cmd_schedule_occurrences(cli *c, const args *a) {
  int rc = stek_schedule_occurrences(c->s, a->opt[0], a->opt[1], a->opt[2],
                                     print_occurrence, NULL);
  return rc ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

/* schedule ics [--site NAME]: the VCALENDAR, byte for byte (CRLF lines). */
static int cmd_schedule_ics(cli *c, const args *a) {
  char *ics = NULL;
  int rc = stek_schedule_ics(c->s, a->opt[0], &ics);
  if (rc) return fail_lib(c, rc, EXIT_INPUT, a->name);
  fputs(ics, stdout);
  stek_free(ics);
  return 0;
}

/* ---- directory search ---------------------------------------------------- */

/* directory search QUERY [--lang LANG] [--category CAT] */
static int cmd_directory_search(cli *c, const args *a) {
  int rc = stek_directory_search(c->s, a->pos[0], a->opt[0], a->opt[1],
                                 print_record, NULL);
  return rc ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

/* ---- anonymous signals --------------------------------------------------- */

/* The theme, site and text of a signal's JSON, into v[0..2].  Nothing else
 * is taken: the library sets the week, and a signal has no id of the
 * caller's choosing. */
static int signal_fields(const json_record *r, const char *v[3]) {
  static const char *const names[3] = {"theme", "site", "text"};
  for (size_t i = 0; i < r->count; i++) {
    const json_field *f = &r->fields[i];
    int k = 0;
    while (k < 3 && strcmp(f->name, names[k])) k++;
    if (!strcmp(f->name, "week"))
      return fail(EXIT_INPUT, "a signal's \"week\" is set by the library from "
                              "today's date; leave it out");
    if (k == 3)
      return fail(EXIT_INPUT, "a signal has theme, site and text, not \"%.64s\"",
                  f->name);
    if (f->value.kind != STEK_VALUE_STR)
      return fail(EXIT_INPUT, "a signal's \"%s\" must be a string", names[k]);
    v[k] = f->value.str;
  }
  if (!v[0] || !v[1]) return fail(EXIT_INPUT, "a signal needs a theme and a site");
  if (!v[2]) v[2] = "";
  return 0;
}

/* signal record [--json J]: prints the receipt code. */
static int cmd_signal_record(cli *c, const args *a) {
  json_record *r = NULL;
  const char *v[3] = {NULL, NULL, NULL};
  char receipt[STEK_RECEIPT_BYTES];
  int rc = read_record(a->opt[0], &r);
  if (!rc) rc = signal_fields(r, v);
  if (!rc && (rc = stek_signal_record(c->s, v[0], v[1], v[2], receipt)) != STEK_OK)
    rc = fail_lib(c, rc, EXIT_INPUT, a->name);
  json_record_free(r);
  if (!rc) puts(receipt);
  return rc;
}

/* signal withdraw RECEIPT: 4 if it is not a receipt code, 1 if no live
 * signal has it. */
static int cmd_signal_withdraw(cli *c, const args *a) {
  int rc = stek_signal_withdraw(c->s, a->pos[0]);
  return rc ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

static int print_signal(void *ctx, const stek_signal *sg) {
  char hex[33];
  (void)ctx;
  stek_id_to_hex(sg->id, hex);
  printf("{\"id\":\"%s\",\"week\":", hex);
  json_write_string(stdout, sg->week);
  fputs(",\"theme\":", stdout);
  json_write_string(stdout, sg->theme);
  fputs(",\"site\":", stdout);
  json_write_string(stdout, sg->site);
  fputs(",\"text\":", stdout);
  json_write_string(stdout, sg->text);
  puts("}");
  return 0;
}

static int cmd_signal_list(cli *c, const args *a) {
  int rc = stek_signal_list(c->s, print_signal, NULL);
  return rc ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

/* --k N: an integer 1..1000000 (the option's own syntax, so a bad value is a
 * usage error, like a bad ID). */
static int parse_k(const char *text, int *k) {
  char *end;
  errno = 0;
  long v = text ? strtol(text, &end, 10) : STEK_REPORT_DEFAULT_K;
  if (text && (errno || end == text || *end || v < 1 || v > 1000000))
    return fail(EXIT_USAGE, "--k must be a whole number of at least 1, not '%.40s'",
                text);
  *k = (int)v;
  return 0;
}

/* signal report [--k N] [--format csv|svg] */
static int cmd_signal_report(cli *c, const args *a) {
  const char *fmt = a->opt[1] ? a->opt[1] : "csv";
  int k = 0, format = !strcmp(fmt, "csv") ? STEK_REPORT_CSV
                  : !strcmp(fmt, "svg") ? STEK_REPORT_SVG : 0;
  char *out = NULL;
  if (parse_k(a->opt[0], &k)) return EXIT_USAGE;
  if (!format) return fail(EXIT_USAGE, "--format must be csv or svg, not '%.40s'", fmt);
  int rc = stek_signal_report(c->s, k, format, &out);
  if (rc) return fail_lib(c, rc, EXIT_INPUT, a->name);
  fputs(out, stdout);
  stek_free(out);
  return 0;
}

/* ---- discovery ---------------------------------------------------------- */

/* Print a device found, if it serves the space asked for (--space) or any
 * space when none was. */
static int print_peer(void *ctx, const stek_peer *p) {
  const char *want = ctx;
  char hex[33];
  stek_id_to_hex(p->space, hex);
  if (want && strcasecmp(want, hex) != 0) return 0;
  printf("{\"space\":\"%s\",\"host\":\"%s\",\"port\":%u}\n", hex, p->host,
         (unsigned)p->port);
  fflush(stdout); /* a reader sees each device as it is found */
  return 0;
}

static int cmd_discover(cli *c, const args *a) {
  stek_discover_options o;
  stek_discover_options_init(&o);
  if (a->opt[0]) {
    char *end;
    double sec = strtod(a->opt[0], &end);
    if (end == a->opt[0] || *end || !(sec >= 0 && sec <= 86400))
      return fail(EXIT_USAGE, "--timeout must be seconds from 0 to 86400, not '%s'",
                  a->opt[0]);
    o.timeout_ms = (int64_t)(sec * 1000);
  }
  o.address = a->opt[1]; /* --bind: a numeric address, e.g. 127.0.0.1 in tests */
  if (a->opt[2]) {
    char *end;
    long port = strtol(a->opt[2], &end, 10);
    if (end == a->opt[2] || *end || port < 1 || port > 65535)
      return fail(EXIT_USAGE, "--port must be 1 to 65535, not '%s'", a->opt[2]);
    o.port = (uint16_t)port;
  }
  int rc = stek_discover(c->s, &o, print_peer, (void *)c->space_hex);
  return rc ? fail_lib(c, rc, EXIT_USAGE, a->name) : 0; /* EINVAL: --bind */
}

/* ---- serving and syncing over TCP -------------------------------------- */

/* --port P: 0..65535 (0: any free port), or 1..65535 when min is 1. */
static int parse_port(const char *text, long min, int *port) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > 65535)
    return fail(EXIT_USAGE, "port must be %ld to 65535, not '%.40s'", min, text);
  *port = (int)v;
  return 0;
}

/* HOST:PORT (an IPv6 address as [ADDR]:PORT) into host[size] and *port;
 * what names the argument in the message.  0, or EXIT_USAGE after saying
 * why not. */
static int parse_host_port(const char *arg, const char *what, char *host, size_t size,
                           int *port) {
  const char *colon = strrchr(arg, ':'), *h = arg;
  size_t n = colon ? (size_t)(colon - arg) : 0;
  if (arg[0] == '[' && n >= 2 && arg[n - 1] == ']') h++, n -= 2; /* [::1]:P */
  if (!colon || n == 0 || n >= size || (strchr(arg, ':') != colon && arg[0] != '['))
    return fail(EXIT_USAGE, "%s needs HOST:PORT (an IPv6 address as [ADDR]:PORT), not '%.80s'",
                what, arg);
  memcpy(host, h, n);
  host[n] = '\0';
  return parse_port(colon + 1, 1, port) ? EXIT_USAGE : 0;
}

/* serve [--port P] [--bind ADDR] [--announce] [--announce-to ADDR:PORT]:
 * print {"port":P} once listening (and announcing), then serve until
 * SIGINT or SIGTERM, and stop cleanly. */
static int cmd_serve(cli *c, const args *a) {
  char path[4096], to_host[64];
  int port = 47110, to_port = 0, code = 0;
  stek_server *srv;
  stek_announcer *ann = NULL;
  sigset_t stop, old;
  int sig;
  if (a->opt[0] && parse_port(a->opt[0], 0, &port)) return EXIT_USAGE;
  if (a->opt[3] && parse_host_port(a->opt[3], "--announce-to", to_host, sizeof to_host,
                                   &to_port))
    return EXIT_USAGE;
  snprintf(path, sizeof path, "%s/stek.db", c->store_dir);
  stek_close(c->s); /* the server (and the announcer) open their own handles */
  c->s = NULL;
  /* SIGINT and SIGTERM are taken with sigwait() below rather than by a
   * handler, so stopping runs as ordinary code.  Block them before the
   * server's and the announcer's threads start, which inherit the mask. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, &old);
  stek_config cfg = store_config(c);
  int rc = stek_server_start(&srv, path, &cfg, a->opt[1], port, NULL);
  if (rc) code = fail(rc == STEK_EINVAL ? EXIT_USAGE : EXIT_FAIL, "%s",
                      stek_server_errmsg(srv));
  if (!code && (a->opt[2] || a->opt[3])) { /* --announce-to implies --announce */
    stek_announce_options ao;
    stek_announce_options_init(&ao);
    ao.serve_port = (uint16_t)stek_server_port(srv);
    if (a->opt[3]) {
      ao.address = to_host;
      ao.port = (uint16_t)to_port;
    }
    if ((rc = stek_announcer_start(&ann, path, &cfg, &ao)) != STEK_OK)
      code = fail(rc == STEK_EINVAL ? EXIT_USAGE : EXIT_FAIL, "announce: %s",
                  ann ? stek_announcer_errmsg(ann) : stek_strerror(rc));
  }
  if (!code) {
    printf("{\"port\":%d}\n", stek_server_port(srv));
    fflush(stdout);
    while (sigwait(&stop, &sig) != 0) {
    }
  }
  stek_announcer_stop(ann);
  stek_server_stop(srv);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return code;
}

static void sync_progress(void *ctx, const stek_sync_stats *st) {
  (void)ctx;
  fprintf(stderr, "\rsync: %llu of %llu ops, %llu of about %llu bytes  ",
          (unsigned long long)(st->ops_sent + st->ops_received),
          (unsigned long long)st->ops_total,
          (unsigned long long)(st->bytes_sent + st->bytes_received),
          (unsigned long long)st->bytes_total);
}

/* --timeout S into o (0), or EXIT_USAGE. */
static int parse_sync_timeout(const char *text, stek_sync_options *o) {
  char *end;
  double sec = text ? strtod(text, &end) : 0;
  if (!text) return 0;
  if (end == text || *end || !(sec > 0 && sec <= 86400))
    return fail(EXIT_USAGE, "--timeout must be seconds above 0, up to 86400, not '%s'",
                text);
  o->timeout_ms = (int)(sec * 1000) > 0 ? (int)(sec * 1000) : 1;
  return 0;
}

/* Sync c's store with host:port once, with progress on a terminal. */
static int sync_with(cli *c, const char *host, int port, stek_sync_options *o,
                     stek_sync_stats *st) {
  int tty = isatty(STDERR_FILENO);
  if (tty) o->progress = sync_progress;
  int rc = stek_sync(c->s, host, port, o, st);
  if (tty && st->bytes_sent + st->bytes_received > 0) fputc('\n', stderr);
  return rc;
}

/* The members of a sync summary, without braces. */
static void print_sync_stats(const stek_sync_stats *st) {
  printf("\"ops_sent\":%llu,\"ops_received\":%llu,\"bytes_sent\":%llu,"
         "\"bytes_received\":%llu,\"round_trips\":%llu",
         (unsigned long long)st->ops_sent, (unsigned long long)st->ops_received,
         (unsigned long long)st->bytes_sent, (unsigned long long)st->bytes_received,
         (unsigned long long)st->round_trips);
}

/* sync HOST:PORT [--timeout S] [--relay]: one sync with a serving peer (a
 * blind relay with --relay); a JSON summary.  A store that holds no space
 * but a relay capability syncs as a relay by itself. */
static int cmd_sync(cli *c, const args *a) {
  char host[256];
  stek_sync_options o;
  stek_sync_stats st;
  int port;
  if (parse_host_port(a->pos[0], "sync", host, sizeof host, &port)) return EXIT_USAGE;
  stek_sync_options_init(&o);
  if (parse_sync_timeout(a->opt[0], &o)) return EXIT_USAGE;
  o.relay = a->opt[1] != NULL;
  int rc = sync_with(c, host, port, &o, &st);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, a->name);
  putchar('{');
  print_sync_stats(&st);
  puts("}");
  return 0;
}

/* ---- invitations --------------------------------------------------------- */

/* invite create [--ttl SECONDS]: a one-time token, valid 24 h by default. */
static int cmd_invite_create(cli *c, const args *a) {
  char token[STEK_INVITE_BYTES], *end;
  long long ttl = 24 * 3600;
  if (a->opt[0]) {
    errno = 0;
    ttl = strtoll(a->opt[0], &end, 10);
    if (errno || end == a->opt[0] || *end || ttl < 1 ||
        ttl > STEK_INVITE_MAX_TTL_MS / 1000)
      return fail(EXIT_USAGE, "--ttl must be 1 to %lld seconds (30 days), not '%.40s'",
                  STEK_INVITE_MAX_TTL_MS / 1000, a->opt[0]);
  }
  int rc = stek_invite_create(c->s, (int64_t)ttl * 1000, token);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, a->name);
  puts(token);
  return 0;
}

/* Has text the shape of a token, "STEK-" and 26 base32 digits (hyphens
 * and spaces aside)?  The library checks it fully; this only keeps a typo
 * from creating a store. */
static int token_shaped(const char *t) {
  int digits = 0;
  if (!strncasecmp(t, "STEK-", 5)) t += 5;
  for (; *t; t++) {
    if (*t == '-' || *t == ' ') continue;
    if (!strchr("0123456789ABCDEFGHIJKLMNOPQRSTVWXYZabcdefghijklmnopqrstvwxyz", *t))
      return 0;
    digits++;
  }
  return digits == 26;
}

static int open_store(cli *c, int create);

/* The ids of the spaces the store holds, into a fresh *ids (*n of them). */
static int space_ids(stek *s, uint8_t (**ids)[STEK_ID_BYTES], size_t *n) {
  const char *name;
  int rc = stek_space_count(s, n);
  *ids = rc ? NULL : calloc(*n ? *n : 1, sizeof **ids);
  if (!rc && !*ids) rc = STEK_ENOMEM;
  for (size_t i = 0; !rc && i < *n; i++) rc = stek_space_get(s, i, (*ids)[i], &name);
  return rc;
}

/* The id of the space that the accept joined: the one held now and not
 * before (or the only one, if it was held already).  The API has no call
 * for "the current space", so it is found by difference. */
static int joined_space(stek *s, uint8_t (*before)[STEK_ID_BYTES], size_t n_before,
                        char hex[33]) {
  uint8_t(*after)[STEK_ID_BYTES];
  size_t n_after;
  int rc = space_ids(s, &after, &n_after);
  strcpy(hex, "");
  for (size_t i = 0; !rc && i < n_after && !*hex; i++) {
    size_t j = 0;
    while (j < n_before && memcmp(before[j], after[i], STEK_ID_BYTES)) j++;
    if (j == n_before || n_after == 1) stek_id_to_hex(after[i], hex);
  }
  free(after);
  return rc;
}

/* invite accept TOKEN --peer HOST:PORT: create the store if missing, join
 * the space through the member serving at HOST:PORT, then sync with it and
 * print {"space":ID, <the sync summary>}.  Exit 4 for what is not a token,
 * 3 for a token the member refuses (used, expired or unknown). */
static int cmd_invite_accept(cli *c, const args *a) {
  char host[256], hex[33];
  uint8_t(*before)[STEK_ID_BYTES] = NULL;
  size_t n_before = 0;
  stek_sync_options o;
  stek_sync_stats st;
  int port, rc;
  if (parse_host_port(a->opt[0], "--peer", host, sizeof host, &port)) return EXIT_USAGE;
  if (!token_shaped(a->pos[0]))
    return fail(EXIT_INPUT, "not an invitation token (STEK-XXXX-XXXX-...): '%.60s'",
                a->pos[0]);
  if ((rc = open_store(c, 1)) != 0) return rc;
  if ((rc = space_ids(c->s, &before, &n_before)) != STEK_OK) {
    free(before);
    return fail_lib(c, rc, EXIT_FAIL, a->name);
  }
  stek_sync_options_init(&o);
  rc = stek_invite_accept(c->s, a->pos[0], host, port, &o);
  if (!rc) rc = joined_space(c->s, before, n_before, hex);
  free(before);
  /* STEK_EKEY: the member refused the token (exit 3); STEK_EINVAL: not a
   * token at all (exit 4). */
  if (rc) return fail_lib(c, rc, EXIT_INPUT, a->name);
  /* The joined space is current: fetch its content from the same member. */
  rc = sync_with(c, host, port, &o, &st);
  if (rc) {
    fail_lib(c, rc, EXIT_FAIL, "joined the space, but the first sync failed (run "
                               "'stek sync HOST:PORT' again)");
    return EXIT_FAIL;
  }
  printf("{\"space\":\"%s\",", hex);
  print_sync_stats(&st);
  puts("}");
  return 0;
}

/* ---- pairing by six digits ---------------------------------------------- */

/* Show the digits on stderr and read the user's answer from stdin: a line
 * starting with y or Y confirms; anything else, or end of input, refuses.
 * Called on the session's thread (the server's, for pair offer). */
typedef struct pair_user {
  char sas[7];
  int yes;
  atomic_int answered; /* set last: pair offer's main thread reads it */
} pair_user;

static int ask_pair(void *ctx, const char sas[7]) {
  pair_user *u = ctx;
  char line[64];
  memcpy(u->sas, sas, 7);
  fprintf(stderr, "pairing code: %.3s %.3s -- does the other screen show the same? [y/N] ",
          sas, sas + 3);
  fflush(stderr);
  u->yes = fgets(line, sizeof line, stdin) && (line[0] == 'y' || line[0] == 'Y');
  if (!u->yes) fputc('\n', stderr);
  atomic_store(&u->answered, 1);
  return u->yes;
}

/* pair offer [--port P] [--bind ADDR] [--ttl SECONDS]: open a one-shot
 * pairing offer (10 minutes by default), serve, print {"port":P}; when a new
 * device connects, show the digits and ask y/n on stdin; after that one
 * attempt print {"sas":..., "paired":true} (exit 0) or say it was refused
 * (exit 3).  Ends early on SIGINT/SIGTERM or when the offer expires. */
static int cmd_pair_offer(cli *c, const args *a) {
  char path[4096], *end;
  int port = 47110, code = 0;
  long long ttl = 600;
  stek_server *srv = NULL;
  pair_user u = {"", 0, 0};
  sigset_t stop, old;
  atomic_init(&u.answered, 0);
  if (a->opt[0] && parse_port(a->opt[0], 0, &port)) return EXIT_USAGE;
  if (a->opt[2]) {
    errno = 0;
    ttl = strtoll(a->opt[2], &end, 10);
    if (errno || end == a->opt[2] || *end || ttl < 1 || ttl > STEK_PAIR_MAX_TTL_MS / 1000)
      return fail(EXIT_USAGE, "--ttl must be 1 to %lld seconds (an hour), not '%.40s'",
                  STEK_PAIR_MAX_TTL_MS / 1000, a->opt[2]);
  }
  int rc = stek_pair_offer(c->s, (int64_t)ttl * 1000);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, a->name);
  snprintf(path, sizeof path, "%s/stek.db", c->store_dir);
  stek_close(c->s); /* the server opens its own handle */
  c->s = NULL;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, &old);
  stek_config cfg = store_config(c);
  cfg.pair_confirm = ask_pair;
  cfg.pair_confirm_ctx = &u;
  rc = stek_server_start(&srv, path, &cfg, a->opt[1], port, NULL);
  if (rc) code = fail(rc == STEK_EINVAL ? EXIT_USAGE : EXIT_FAIL, "%s",
                      stek_server_errmsg(srv));
  if (!code) {
    printf("{\"port\":%d}\n", stek_server_port(srv));
    fflush(stdout);
  }
  /* Wait for the pairing session to end after the user answered, the
   * offer to expire, or a signal.  The counts are read before the answer
   * flag: while it is unset the pairing session cannot have ended, so the
   * counts last read then do not include it. */
  uint64_t done0 = 0, failed0 = 0, done, failed;
  struct timespec tick = {0, 20 * 1000 * 1000};
  for (long long waited = 0; !code; waited += 20) {
    if (sigtimedwait(&stop, NULL, &tick) > 0) {
      code = fail(EXIT_FAIL, "pair offer: interrupted");
      break;
    }
    stek_server_counts(srv, &done, &failed);
    if (!atomic_load(&u.answered)) {
      done0 = done, failed0 = failed;
      if (waited > ttl * 1000 + 1000) code = fail(EXIT_FAIL, "pair offer: the offer expired unused");
      continue;
    }
    if (done + failed == done0 + failed0) continue;
    if (!u.yes || done == done0) {
      code = fail(EXIT_CREDS, "pair offer: %s", stek_strerror(STEK_EREFUSED));
      break;
    }
    printf("{\"sas\":\"%s\",\"paired\":true}\n", u.sas);
    fflush(stdout);
    /* The new device syncs right after pairing: serve that session too,
     * for a minute at most, before stopping. */
    for (long long w = 0; w < 60000 && done + failed < done0 + failed0 + 2; w += 20) {
      if (sigtimedwait(&stop, NULL, &tick) > 0) break;
      stek_server_counts(srv, &done, &failed);
    }
    break;
  }
  stek_server_stop(srv);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return code;
}

/* pair join HOST:PORT [--timeout S]: create the store if missing, pair with
 * the member offering at HOST:PORT (show the digits, ask y/n on stdin),
 * then sync with it and print {"space":ID, "sas":..., <sync summary>}.
 * Exit 3 if either side refused or no offer was open. */
static int cmd_pair_join(cli *c, const args *a) {
  char host[256], hex[33];
  uint8_t space[STEK_ID_BYTES];
  stek_sync_options o;
  stek_sync_stats st;
  pair_user u = {"", 0, 0};
  int port, rc;
  atomic_init(&u.answered, 0);
  if (parse_host_port(a->pos[0], "pair join", host, sizeof host, &port)) return EXIT_USAGE;
  stek_sync_options_init(&o);
  o.timeout_ms = 300000; /* the member's user is deciding meanwhile */
  if (parse_sync_timeout(a->opt[0], &o)) return EXIT_USAGE;
  if ((rc = open_store(c, 1)) != 0) return rc;
  rc = stek_pair_join(c->s, host, port, ask_pair, &u, &o, space);
  if (rc) return fail_lib(c, rc, EXIT_INPUT, a->name);
  stek_id_to_hex(space, hex);
  stek_sync_options_init(&o);
  rc = sync_with(c, host, port, &o, &st);
  if (rc) {
    fail_lib(c, rc, EXIT_FAIL, "paired, but the first sync failed (run "
                               "'stek sync HOST:PORT' again)");
    return EXIT_FAIL;
  }
  printf("{\"space\":\"%s\",\"sas\":\"%s\",", hex, u.sas);
  print_sync_stats(&st);
  puts("}");
  return 0;
}

/* ---- blind relays -------------------------------------------------------- */

/* relay share DEVICE_ID FILE: a relay capability for that device. */
static int cmd_relay_share(cli *c, const args *a) {
  uint8_t dev[STEK_DEVICE_ID_BYTES], *sealed = NULL;
  size_t len = 0;
  if (parse_hex(a->pos[0], dev, sizeof dev) != 0)
    return fail(EXIT_USAGE, "DEVICE_ID must be 64 hex digits, not '%s'", a->pos[0]);
  int rc = stek_relay_share(c->s, dev, &sealed, &len);
  if (rc) return fail_lib(c, rc, EXIT_INPUT, a->name);
  rc = write_private(a->pos[1], sealed, len);
  stek_free(sealed);
  return rc;
}

/* relay accept FILE: carry, unread, the ops of the space it is for. */
static int cmd_relay_accept(cli *c, const args *a) {
  char *buf;
  size_t len;
  int rc = read_share(a->pos[0], &buf, &len);
  if (rc) return rc;
  rc = stek_relay_accept(c->s, (const uint8_t *)buf, len);
  free(buf);
  return rc < 0 ? fail_lib(c, rc, EXIT_INPUT, a->name) : 0;
}

/* relay count: {"ops":N}, the sealed ops carried for relayed spaces. */
static int cmd_relay_count(cli *c, const args *a) {
  uint64_t n;
  int rc = stek_relay_count(c->s, &n);
  if (rc) return fail_lib(c, rc, EXIT_FAIL, a->name);
  printf("{\"ops\":%llu}\n", (unsigned long long)n);
  return 0;
}

/* replay TRACE --dir DIR (examples/replay.c). */
static int cmd_replay(cli *c, const args *a) {
  (void)c;
  return replay_trace(a->pos[0], a->opt[0]);
}

static int cmd_help(cli *c, const args *a);

/* ---- the command table -------------------------------------------------- */

static const command commands[] = {
    {"init", "[--space NAME]", 0, 0, {"--space"}, STORE_CREATE, cmd_init,
     "create the store; with --space, a new space (prints its id)"},
    {"device id", "", 0, 0, {0}, STORE_OPEN, cmd_device_id,
     "print this device's id (64 hex)"},
    {"device list", "", 0, 0, {0}, STORE_OPEN, cmd_device_list,
     "the devices of the space and whether revoked, JSON Lines"},
    {"device revoke", "DEVICE_ID", 1, 1, {0}, STORE_OPEN, cmd_device_revoke,
     "revoke a device: a new space key for the others, carried by sync"},
    {"space list", "", 0, 0, {0}, STORE_OPEN, cmd_space_list,
     "the spaces held, JSON Lines"},
    {"space share", "DEVICE_ID FILE", 2, 2, {0}, STORE_OPEN, cmd_space_share,
     "seal the space to another device, into FILE"},
    {"space accept", "FILE", 1, 1, {0}, STORE_OPEN, cmd_space_accept,
     "join the space sealed to this device in FILE"},
    {"record put", "TYPE [--id ID] [--json JSON]", 1, 1, {"--id", "--json"},
     STORE_OPEN, cmd_put,
     "set the fields of a JSON object (--json or stdin); prints the id"},
    {"record get", "TYPE ID", 2, 2, {0}, STORE_OPEN, cmd_get,
     "print one record as JSON"},
    {"record list", "[TYPE]", 0, 1, {0}, STORE_OPEN, cmd_list,
     "the live records, JSON Lines"},
    {"record delete", "TYPE ID", 2, 2, {0}, STORE_OPEN, cmd_delete,
     "delete a record"},
    {"schedule put", "[--id ID] [--json JSON]", 0, 0, {"--id", "--json"},
     STORE_OPEN, cmd_put, "write a schedule entry (checked); prints the id"},
    {"schedule get", "ID", 1, 1, {0}, STORE_OPEN, cmd_get,
     "print one schedule entry as JSON"},
    {"schedule list", "", 0, 0, {0}, STORE_OPEN, cmd_list,
     "the schedule entries, JSON Lines"},
    {"schedule delete", "ID", 1, 1, {0}, STORE_OPEN, cmd_delete,
     "delete a schedule entry"},
    {"schedule cancel", "ID DATE", 2, 2, {0}, STORE_OPEN, cmd_schedule_cancel,
     "cancel the occurrence on DATE (YYYY-MM-DD)"},
    {"schedule uncancel", "ID DATE", 2, 2, {0}, STORE_OPEN, cmd_schedule_uncancel,
     "reinstate a cancelled occurrence"},
    {"schedule occurrences", "--from DATE --to DATE [--site NAME]", 0, 0,
     {"--from", "--to", "--site"}, STORE_OPEN, cmd_schedule_occurrences,
     "occurrences starting in [from, to), JSON Lines"},
    {"schedule ics", "[--site NAME]", 0, 0, {"--site"}, STORE_OPEN, cmd_schedule_ics,
     "the schedule as an iCalendar (RFC 5545) file"},
    {"directory put", "[--id ID] [--json JSON]", 0, 0, {"--id", "--json"},
     STORE_OPEN, cmd_put, "write a directory entry (checked); prints the id"},
    {"directory get", "ID", 1, 1, {0}, STORE_OPEN, cmd_get,
     "print one directory entry as JSON"},
    {"directory list", "", 0, 0, {0}, STORE_OPEN, cmd_list,
     "the directory entries, JSON Lines"},
    {"directory delete", "ID", 1, 1, {0}, STORE_OPEN, cmd_delete,
     "delete a directory entry"},
    {"directory search", "QUERY [--lang LANG] [--category CAT]", 1, 1,
     {"--lang", "--category"}, STORE_OPEN, cmd_directory_search,
     "full-text search, best match first, JSON Lines"},
    {"signal record", "[--json JSON]", 0, 0, {"--json"}, STORE_OPEN,
     cmd_signal_record, "record {theme, site, text}; prints a receipt code"},
    {"signal withdraw", "RECEIPT", 1, 1, {0}, STORE_OPEN, cmd_signal_withdraw,
     "withdraw the signal of that receipt code"},
    {"signal list", "", 0, 0, {0}, STORE_OPEN, cmd_signal_list,
     "the live signals, JSON Lines"},
    {"signal report", "[--k N] [--format csv|svg]", 0, 0, {"--k", "--format"},
     STORE_OPEN, cmd_signal_report,
     "counts by theme x site x month, cells under k (5) suppressed"},
    {"state-hash", "", 0, 0, {0}, STORE_OPEN, cmd_state_hash,
     "the hash of the space's state (equal on converged replicas)"},
    {"changes export", "FILE", 1, 1, {0}, STORE_OPEN, cmd_changes_export,
     "write all changes of the space to FILE"},
    {"changes import", "FILE", 1, 1, {0}, STORE_OPEN, cmd_changes_import,
     "ingest the changes in FILE; prints a JSON summary"},
    {"bundle export", "FILE [--since DATE|MS]", 1, 1, {"--since"}, STORE_OPEN,
     cmd_bundle_export, "write the space's changes (since a UTC date or ms) to an encrypted bundle"},
    {"bundle import", "FILE", 1, 1, {0}, STORE_OPEN, cmd_bundle_import,
     "ingest an encrypted bundle of any space held; prints a JSON summary"},
    {"serve", "[--port P] [--bind ADDR] [--announce] [--announce-to ADDR:PORT]", 0, 0,
     {"--port", "--bind", "--announce", "--announce-to"}, STORE_OPEN, cmd_serve,
     "serve sync on 127.0.0.1:47110 (and announce it); prints {\"port\":P}; until "
     "SIGINT/SIGTERM"},
    {"sync", "HOST:PORT [--timeout S] [--relay]", 1, 1, {"--timeout", "--relay"},
     STORE_OPEN, cmd_sync,
     "sync once with a serving peer (a blind relay); prints a JSON summary"},
    {"invite create", "[--ttl SECONDS]", 0, 0, {"--ttl"}, STORE_OPEN, cmd_invite_create,
     "print a one-time invitation token to the space, valid 24 h (or --ttl)"},
    {"invite accept", "TOKEN --peer HOST:PORT", 1, 1, {"--peer"}, STORE_NONE,
     cmd_invite_accept,
     "join a space through a serving member (creates the store), then sync; JSON summary"},
    {"pair offer", "[--port P] [--bind ADDR] [--ttl SECONDS]", 0, 0,
     {"--port", "--bind", "--ttl"}, STORE_OPEN, cmd_pair_offer,
     "serve one pairing (10 min, or --ttl): show 6 digits, ask y/n; prints {\"port\":P}"},
    {"pair join", "HOST:PORT [--timeout S]", 1, 1, {"--timeout"}, STORE_NONE, cmd_pair_join,
     "join a space by comparing 6 digits with a member's pair offer (y/n), then sync"},
    {"relay share", "DEVICE_ID FILE", 2, 2, {0}, STORE_OPEN, cmd_relay_share,
     "let another device carry the space's ops unread: its capability into FILE"},
    {"relay accept", "FILE", 1, 1, {0}, STORE_OPEN, cmd_relay_accept,
     "carry the ops of the space whose relay capability is in FILE"},
    {"relay count", "", 0, 0, {0}, STORE_OPEN, cmd_relay_count,
     "the sealed ops carried for relayed spaces: {\"ops\":N}"},
    {"replay", "TRACE --dir DIR", 1, 1, {"--dir"}, STORE_NONE, cmd_replay,
     "replay a workload trace over one store per replica in DIR; a JSON summary"},
    {"discover", "[--timeout S] [--bind ADDR] [--port P]", 0, 0,
     {"--timeout", "--bind", "--port"}, STORE_OPEN, cmd_discover,
     "listen S (5) s for devices serving the spaces held, JSON Lines"},
    {"help", "", 0, 0, {0}, STORE_NONE, cmd_help, "this text"},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

/* ---- help and dispatch -------------------------------------------------- */

static void print_usage(FILE *f) {
  fputs("usage: stek --store DIR [--space ID] [--passphrase-file FILE] COMMAND ...\n"
        "\ncommands:\n", f);
  for (size_t i = 0; i < n_commands; i++) {
    char line[128];
    snprintf(line, sizeof line, "%s%s%s", commands[i].name,
             *commands[i].usage ? " " : "", commands[i].usage);
    if (strlen(line) > 44) fprintf(f, "  %s\n  %-44s %s\n", line, "", commands[i].help);
    else fprintf(f, "  %-44s %s\n", line, commands[i].help);
  }
  fputs("\nexit codes: 0 ok, 1 failure, 2 usage, 3 bad credentials, "
        "4 malformed input\n", f);
}

static int cmd_help(cli *c, const args *a) {
  (void)c, (void)a;
  print_usage(stdout);
  return 0;
}

static int usage_of(const command *cmd) {
  return fail(EXIT_USAGE, "usage: stek [--store DIR] %s%s%s", cmd->name,
              *cmd->usage ? " " : "", cmd->usage);
}

/* The kind whose type is cmd's first word, or NULL. */
static const kind *kind_of(const command *cmd) {
  size_t n = strcspn(cmd->name, " ");
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strlen(kinds[i].type) == n && !strncmp(cmd->name, kinds[i].type, n))
      return &kinds[i];
  return NULL;
}

/* Is option k required?  The usage says so: an option not in brackets
 * ("--from DATE --to DATE [--site NAME]"). */
static int opt_required(const command *cmd, int k) {
  size_t n = strlen(cmd->opts[k]);
  for (const char *p = cmd->usage; (p = strstr(p, cmd->opts[k])) != NULL; p += n)
    if ((p == cmd->usage || p[-1] != '[') && (p[n] == ' ' || !p[n])) return 1;
  return 0;
}

/* Is option k a flag, taking no value?  The usage says so: "[--relay]". */
static int opt_is_flag(const command *cmd, int k) {
  size_t n = strlen(cmd->opts[k]);
  for (const char *p = cmd->usage; (p = strstr(p, cmd->opts[k])) != NULL; p += n)
    if (p > cmd->usage && p[-1] == '[' && p[n] == ']') return 1;
  return 0;
}

/* Fill a from argv by cmd's row: flags (--x), value options (--x V or
 * --x=V) and positionals; anything else is a usage error. */
static int parse_args(const command *cmd, int argc, char **argv, args *a) {
  int opts_done = 0;
  memset(a, 0, sizeof *a);
  a->name = cmd->name;
  a->kind = kind_of(cmd);
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (!opts_done && !strcmp(arg, "--")) {
      opts_done = 1;
      continue;
    }
    if (opts_done || strncmp(arg, "--", 2) != 0 || !arg[2]) {
      if (a->npos == cmd->max_pos) return usage_of(cmd);
      a->pos[a->npos++] = arg;
      continue;
    }
    size_t k = 0, nl = strcspn(arg, "=");
    while (k < MAX_OPTS && cmd->opts[k] &&
           (strlen(cmd->opts[k]) != nl || strncmp(cmd->opts[k], arg, nl)))
      k++;
    if (k == MAX_OPTS || !cmd->opts[k]) return usage_of(cmd);
    if (opt_is_flag(cmd, (int)k)) {
      if (arg[nl] == '=') return usage_of(cmd);
      a->opt[k] = "";
    } else if (arg[nl] == '=') a->opt[k] = arg + nl + 1;
    else if (i + 1 < argc) a->opt[k] = argv[++i];
    else return usage_of(cmd);
  }
  for (int k = 0; k < MAX_OPTS && cmd->opts[k]; k++)
    if (!a->opt[k] && opt_required(cmd, k)) return usage_of(cmd);
  return a->npos < cmd->min_pos ? usage_of(cmd) : 0;
}

/* The row whose words start argv; *words gets how many. */
static const command *find_command(int argc, char **argv, int *words) {
  for (size_t i = 0; i < n_commands; i++) {
    const char *name = commands[i].name, *sp = strchr(name, ' ');
    size_t first = sp ? (size_t)(sp - name) : strlen(name);
    if (strlen(argv[0]) != first || strncmp(argv[0], name, first)) continue;
    if (!sp) {
      *words = 1;
      return &commands[i];
    }
    if (argc > 1 && !strcmp(argv[1], sp + 1)) {
      *words = 2;
      return &commands[i];
    }
  }
  return NULL;
}

/* No row matched argv: name the subcommands if argv[0] is a group. */
static int fail_unknown(int argc, char **argv) {
  char subs[256] = "";
  size_t n = strlen(argv[0]);
  for (size_t i = 0; i < n_commands; i++) {
    const char *name = commands[i].name;
    if (strncmp(name, argv[0], n) || name[n] != ' ') continue;
    size_t used = strlen(subs);
    snprintf(subs + used, sizeof subs - used, "%s%s", used ? "|" : "", name + n + 1);
  }
  if (*subs && argc < 2)
    return fail(EXIT_USAGE, "usage: stek [--store DIR] %s %s ...", argv[0], subs);
  return fail(EXIT_USAGE, "unknown command '%s%s%s' (try 'stek --help')", argv[0],
              argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
}

enum { GLOBAL_HELP = -0x100, GLOBAL_VERSION = -0x101 };

/* Global options before the command: the index of the command, -EXIT_* after
 * a usage error, or GLOBAL_HELP / GLOBAL_VERSION. */
static int parse_globals(cli *c, int argc, char **argv) {
  int i = 1;
  for (; i < argc && !strncmp(argv[i], "-", 1); i++) {
    const char *arg = argv[i];
    const char **slot = !strcmp(arg, "--store") ? &c->store_dir
                        : !strcmp(arg, "--space") ? &c->space_hex
                        : NULL;
    if (!strcmp(arg, "--passphrase-file")) slot = &c->pass_file;
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return GLOBAL_HELP;
    if (!strcmp(arg, "--version")) return GLOBAL_VERSION;
    if (!slot) return -fail(EXIT_USAGE, "unknown option '%s' (try 'stek --help')", arg);
    if (i + 1 >= argc) return -fail(EXIT_USAGE, "%s needs a value", arg);
    *slot = argv[++i];
  }
  return i;
}

static int run(int argc, char **argv) {
  cli c = {0};
  args a;
  int words, i = parse_globals(&c, argc, argv);
  if (i == GLOBAL_HELP) return cmd_help(&c, NULL);
  if (i == GLOBAL_VERSION) return printf("stek %s\n", stek_version()) < 0;
  if (i < 0) return -i;
  if (i >= argc) return fail(EXIT_USAGE, "missing command (try 'stek --help')");
  const command *cmd = find_command(argc - i, argv + i, &words);
  if (!cmd) return fail_unknown(argc - i, argv + i);
  int rc = parse_args(cmd, argc - i - words, argv + i + words, &a);
  if (!rc && cmd->store != STORE_NONE) rc = open_store(&c, cmd->store == STORE_CREATE);
  if (!rc) rc = cmd->run(&c, &a);
  stek_close(c.s);
  if (c.pass) memset(c.pass, 0, c.pass_len);
  free(c.pass);
  return rc;
}

int main(int argc, char **argv) {
  int rc = run(argc, argv);
  if (fflush(stdout) != 0 || ferror(stdout))
    return rc ? rc : fail(EXIT_FAIL, "cannot write to standard output");
  return rc;
}
