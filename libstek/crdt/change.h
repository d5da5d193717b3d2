/*
 * crdt/change -- the change: encoding, decoding and checking.
 *
 * A change is one local transaction: an author device, an HLC timestamp and
 * a list of ops, signed by the author.  Wire form (docs/PROTOCOL.md §3):
 *
 *   change = [1, body: bin, sig: bin(64)]
 *   body   = [1, space: bin(16), author: bin(32), hlc: uint, ops: [op...]]
 *   id     = BLAKE2b-256(body),  sig = Ed25519(author, body)
 *
 * change_decode() is the one place outside bytes become a change: it checks
 * every length, count, name and value against the limits in stek.h and the
 * canonical form, but not the signature (change_verify) nor the clock.
 * Pure: no I/O, no allocation.
 */
#ifndef STEK_CRDT_CHANGE_H
#define STEK_CRDT_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "codec/mp.h"
#include "stek.h"

#define CHANGE_FORMAT 1

enum op_kind {
  OP_PUT = 0,
  OP_DELETE = 1,
  OP_RESTORE = 2,
  OP_SET_ADD = 3,
  OP_SET_REMOVE = 4
};

typedef struct op_field {
  const char *name;
  uint32_t name_len;
  const uint8_t *value; /* canonical msgpack: int, str, [str...] or nil */
  uint32_t value_len;
} op_field;

typedef struct op {
  int kind;
  const char *type;
  uint32_t type_len;
  const uint8_t *rid; /* STEK_ID_BYTES */
  /* OP_PUT */
  uint32_t n_fields;
  op_field fields[STEK_MAX_FIELDS];
  /* OP_SET_ADD, OP_SET_REMOVE */
  const char *field;
  uint32_t field_len;
  const char *elem;
  uint32_t elem_len;
} op;

typedef struct change {
  const uint8_t *body;
  size_t body_len;
  const uint8_t *sig;
  const uint8_t *space;  /* STEK_ID_BYTES */
  const uint8_t *author; /* STEK_DEVICE_ID_BYTES */
  uint64_t hlc;
  uint32_t n_ops;
  const uint8_t *ops; /* the encoded ops, n_ops of them */
  size_t ops_len;
  uint8_t id[STEK_HASH_BYTES];
  /* After a failed decode: which limit or rule the bytes broke (a static
   * string, never their content), or NULL if nothing more precise than
   * the code is known. */
  const char *why;
} change;

/* Decode and check the form of a wire change; fills *c with pointers into
 * buf.  0 or STEK_ETOOBIG / ETRUNCATED / EMALFORMED / EVERSION. */
int change_decode(const uint8_t *buf, size_t len, change *c);
/* 0 if the signature is the author's over the body, else STEK_ESIGNATURE. */
int change_verify(const change *c);

/* Iterate the ops of a decoded change: call with *r initialised over
 * c->ops; each call fills *o.  The ops were checked by change_decode(). */
int op_next(mp_reader *r, op *o);

/* Decode and check one op (the same rules change_decode applies). */
int op_decode(mp_reader *r, op *o);

/* Encoders used by local writes; each appends one op to w. */
void op_encode_put(mp_writer *w, const char *type, const uint8_t *rid,
                   const char *field, const stek_value *v);
/* One put of n fields (1..STEK_MAX_FIELDS), names already in the order
 * the format wants (bytewise ascending, no repeats); a NULL value unsets. */
void op_encode_put_fields(mp_writer *w, const char *type, const uint8_t *rid,
                          const char *const *names, const stek_value *const *values,
                          size_t n);
void op_encode_life(mp_writer *w, int kind, const char *type, const uint8_t *rid);
void op_encode_set(mp_writer *w, int kind, const char *type, const uint8_t *rid,
                   const char *field, const char *elem);

/* Assemble, sign and encode a change from encoded ops; out is a fresh
 * writer holding the wire form, id its id. */
int change_encode(mp_writer *out, const uint8_t space[STEK_ID_BYTES],
                  const uint8_t author_pk[32], const uint8_t author_sk[64],
                  uint64_t hlc, const uint8_t *ops, size_t ops_len,
                  uint32_t n_ops, uint8_t id[STEK_HASH_BYTES]);

/* True if type / field names follow the rules of stek.h. */
int name_type_valid(const char *s, size_t len);
int name_field_valid(const char *s, size_t len);

#endif
