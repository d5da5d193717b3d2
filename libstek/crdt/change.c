/*
 * crdt/change -- see change.h.  Decoding walks the bytes once with the
 * bounded reader; a value is kept as its raw canonical msgpack, so what is
 * stored and hashed is exactly what was signed.
 */
#include "crdt/change.h"

#include <string.h>

#include "crypto/crypto.h"

int name_type_valid(const char *s, size_t len) {
  if (len == 0 || len > STEK_MAX_NAME_BYTES) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

int name_field_valid(const char *s, size_t len) {
  if (len == 0 || len > STEK_MAX_NAME_BYTES) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) return 0;
  }
  if ((len == 2 && memcmp(s, "id", 2) == 0) ||
      (len == 4 && memcmp(s, "type", 4) == 0))
    return 0; /* reserved: they name the record in its JSON form */
  return mp_utf8_valid(s, len);
}

static int bad(mp_reader *r) {
  if (r->err == 0) r->err = STEK_EMALFORMED;
  return r->err;
}

/* Bytewise order, a prefix first: the canonical order of map keys. */
static int name_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen) {
  int c = memcmp(a, b, alen < blen ? alen : blen);
  if (c) return c;
  return alen < blen ? -1 : alen > blen;
}

/* The limits, as error messages name them (docs/PROTOCOL.md, "Limits"). */
#define WHY_CHANGE "a change over 1048576 bytes (STEK_MAX_CHANGE_BYTES)"
#define WHY_OPS "more than 4096 ops in one change (STEK_MAX_OPS)"
#define WHY_FIELDS "more than 256 fields in one put (STEK_MAX_FIELDS)"
#define WHY_NAME "a type or field name over 64 bytes (STEK_MAX_NAME_BYTES)"
#define WHY_STRING "a string over 65536 bytes (STEK_MAX_STRING_BYTES)"
#define WHY_LIST "a list of more than 256 strings (STEK_MAX_LIST_ITEMS)"
#define WHY_NESTED "a value nested deeper than a list of strings"
#define WHY_VALUE "a value that is not an integer, string, nil or list of strings"

static int read_name(mp_reader *r, const char **s, uint32_t *len) {
  return mp_why(r, mp_read_str(r, s, len, STEK_MAX_NAME_BYTES), STEK_ETOOBIG, WHY_NAME);
}

static int read_string(mp_reader *r, const char **s, uint32_t *len) {
  return mp_why(r, mp_read_str(r, s, len, STEK_MAX_STRING_BYTES), STEK_ETOOBIG, WHY_STRING);
}

static int why_bad(mp_reader *r, const char *why) {
  if (r->err == 0) {
    r->err = STEK_EMALFORMED;
    r->why = why;
  }
  return r->err;
}

/* A field value: an integer, a string, nil or a list of strings -- one
 * level of nesting at most, so no depth limit is needed beyond that. */
static int read_value(mp_reader *r) {
  const char *s;
  uint32_t n, len;
  int64_t i;
  switch (mp_peek(r)) {
    case 'i': return mp_read_int(r, &i);
    case 's': return read_string(r, &s, &len);
    case 'n': return mp_read_nil(r);
    case 'a':
      if (mp_why(r, mp_read_array(r, &n, STEK_MAX_LIST_ITEMS), STEK_ETOOBIG, WHY_LIST))
        return r->err;
      for (uint32_t k = 0; k < n; k++) {
        int t = mp_peek(r);
        if (t == 'a' || t == 'm') return why_bad(r, WHY_NESTED);
        if (read_string(r, &s, &len)) return r->err;
      }
      return 0;
    case 'm': return why_bad(r, WHY_NESTED);
    default:
      if (r->p >= r->end && !r->err) r->err = STEK_ETRUNCATED;
      return why_bad(r, WHY_VALUE);
  }
}

static int read_put_fields(mp_reader *r, op *o) {
  if (mp_why(r, mp_read_map(r, &o->n_fields, STEK_MAX_FIELDS), STEK_ETOOBIG, WHY_FIELDS))
    return r->err;
  if (o->n_fields == 0) return bad(r);
  for (uint32_t k = 0; k < o->n_fields; k++) {
    op_field *f = &o->fields[k];
    if (read_name(r, &f->name, &f->name_len)) return r->err;
    if (!name_field_valid(f->name, f->name_len)) return bad(r);
    if (k > 0 && name_cmp(o->fields[k - 1].name, o->fields[k - 1].name_len,
                          f->name, f->name_len) >= 0)
      return bad(r); /* keys out of order or repeated */
    f->value = r->p;
    if (read_value(r)) return r->err;
    f->value_len = (uint32_t)(r->p - f->value);
  }
  return 0;
}

int op_decode(mp_reader *r, op *o) {
  static const uint32_t arity[] = {4, 3, 3, 5, 5};
  uint32_t n, len;
  uint64_t kind;
  const uint8_t *rid;
  if (mp_read_array(r, &n, 15) || mp_read_uint(r, &kind)) return r->err;
  if (kind > OP_SET_REMOVE || n != arity[kind]) return bad(r);
  o->kind = (int)kind;
  o->n_fields = 0;
  if (read_name(r, &o->type, &o->type_len)) return r->err;
  if (!name_type_valid(o->type, o->type_len)) return bad(r);
  if (mp_read_bin(r, &rid, &len, STEK_ID_BYTES, 0)) return r->err;
  o->rid = rid;
  if (kind == OP_PUT) return read_put_fields(r, o);
  if (kind == OP_SET_ADD || kind == OP_SET_REMOVE) {
    if (read_name(r, &o->field, &o->field_len)) return r->err;
    if (!name_field_valid(o->field, o->field_len)) return bad(r);
    return read_string(r, &o->elem, &o->elem_len);
  }
  return 0;
}

int op_next(mp_reader *r, op *o) { return op_decode(r, o); }

int change_decode(const uint8_t *buf, size_t len, change *c) {
  mp_reader r, b;
  uint32_t n, blen, slen;
  uint64_t ver;
  c->why = NULL;
  if (len > STEK_MAX_CHANGE_BYTES) {
    c->why = WHY_CHANGE;
    return STEK_ETOOBIG;
  }
  mp_reader_init(&r, buf, len);
  if (mp_read_array(&r, &n, 15) || mp_read_uint(&r, &ver)) return r.err;
  if (ver != CHANGE_FORMAT) return STEK_EVERSION;
  if (n != 3) return STEK_EMALFORMED;
  if (mp_read_bin(&r, &c->body, &blen, 0, STEK_MAX_CHANGE_BYTES) ||
      mp_read_bin(&r, &c->sig, &slen, 64, 0) || mp_read_end(&r))
    return r.err;
  c->body_len = blen;

  mp_reader_init(&b, c->body, c->body_len);
  if (mp_read_array(&b, &n, 15) || mp_read_uint(&b, &ver)) return b.err;
  if (ver != CHANGE_FORMAT) return STEK_EVERSION;
  if (n != 5) return STEK_EMALFORMED;
  if (mp_read_bin(&b, &c->space, &slen, STEK_ID_BYTES, 0) ||
      mp_read_bin(&b, &c->author, &slen, STEK_DEVICE_ID_BYTES, 0) ||
      mp_read_uint(&b, &c->hlc) ||
      mp_why(&b, mp_read_array(&b, &c->n_ops, STEK_MAX_OPS), STEK_ETOOBIG, WHY_OPS))
    goto fail;
  if (c->n_ops == 0) return STEK_EMALFORMED;
  c->ops = b.p;
  for (uint32_t k = 0; k < c->n_ops; k++) {
    op o;
    if (op_decode(&b, &o)) goto fail;
  }
  c->ops_len = (size_t)(b.p - c->ops);
  if (mp_read_end(&b)) return b.err;
  cr_hash(c->id, c->body, c->body_len);
  return 0;
fail:
  c->why = b.why;
  return b.err;
}

int change_verify(const change *c) {
  return cr_verify_msg(c->sig, c->body, c->body_len, c->author);
}

static void write_head(mp_writer *w, int kind, uint32_t n, const char *type,
                       const uint8_t *rid) {
  mp_write_array(w, n);
  mp_write_uint(w, (uint64_t)kind);
  mp_write_str(w, type, strlen(type));
  mp_write_bin(w, rid, STEK_ID_BYTES);
}

static void write_value(mp_writer *w, const stek_value *v);

void op_encode_put(mp_writer *w, const char *type, const uint8_t *rid,
                   const char *field, const stek_value *v) {
  op_encode_put_fields(w, type, rid, &field, &v, 1);
}

void op_encode_put_fields(mp_writer *w, const char *type, const uint8_t *rid,
                          const char *const *names, const stek_value *const *values,
                          size_t n) {
  write_head(w, OP_PUT, 4, type, rid);
  mp_write_map(w, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    mp_write_str(w, names[i], strlen(names[i]));
    write_value(w, values[i]);
  }
}

static void write_value(mp_writer *w, const stek_value *v) {
  if (!v) {
    mp_write_nil(w);
  } else if (v->kind == STEK_VALUE_INT) {
    mp_write_int(w, v->i);
  } else if (v->kind == STEK_VALUE_STR) {
    mp_write_str(w, v->str, strlen(v->str));
  } else {
    mp_write_array(w, (uint32_t)v->list_len);
    for (size_t k = 0; k < v->list_len; k++)
      mp_write_str(w, v->list[k], strlen(v->list[k]));
  }
}

void op_encode_life(mp_writer *w, int kind, const char *type, const uint8_t *rid) {
  write_head(w, kind, 3, type, rid);
}

void op_encode_set(mp_writer *w, int kind, const char *type, const uint8_t *rid,
                   const char *field, const char *elem) {
  write_head(w, kind, 5, type, rid);
  mp_write_str(w, field, strlen(field));
  mp_write_str(w, elem, strlen(elem));
}

int change_encode(mp_writer *out, const uint8_t space[STEK_ID_BYTES],
                  const uint8_t author_pk[32], const uint8_t author_sk[64],
                  uint64_t hlc, const uint8_t *ops, size_t ops_len,
                  uint32_t n_ops, uint8_t id[STEK_HASH_BYTES]) {
  mp_writer body;
  uint8_t sig[CR_SIG];
  mp_writer_init(&body);
  mp_write_array(&body, 5);
  mp_write_uint(&body, CHANGE_FORMAT);
  mp_write_bin(&body, space, STEK_ID_BYTES);
  mp_write_bin(&body, author_pk, STEK_DEVICE_ID_BYTES);
  mp_write_uint(&body, hlc);
  mp_write_array(&body, n_ops);
  mp_write_raw(&body, ops, ops_len);
  int rc = body.err;
  if (rc == 0 && body.buf.size > STEK_MAX_CHANGE_BYTES - 80) rc = STEK_ETOOBIG;
  if (rc == 0) {
    const uint8_t *bb = (const uint8_t *)body.buf.data;
    cr_hash(id, bb, body.buf.size);
    cr_sign_msg(sig, bb, body.buf.size, author_sk);
    mp_writer_init(out);
    mp_write_array(out, 3);
    mp_write_uint(out, CHANGE_FORMAT);
    mp_write_bin(out, bb, body.buf.size);
    mp_write_bin(out, sig, sizeof sig);
    rc = out->err;
    if (rc) mp_writer_free(out);
  }
  mp_writer_free(&body);
  return rc;
}
