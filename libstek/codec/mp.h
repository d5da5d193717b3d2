/*
 * codec/mp -- msgpack: a bounded, canonical pull reader and a writer.
 *
 * Everything that crosses a device boundary is msgpack, and where it is
 * hashed or signed it must be canonical (docs/PROTOCOL.md §1): the shortest
 * encoding of every integer and length, map keys in bytewise order, no
 * duplicates.  The reader enforces that as it goes, so "decodes" implies
 * "canonical", and it never allocates: every length and count is checked
 * against the caller's limit and against the bytes actually left before
 * anyone can act on it.  That is why it is hand-written rather than built on
 * msgpack-c's unpacker, which allocates an object tree sized by the input's
 * own claims.  Writing goes through msgpack-c's packer, which emits the
 * shortest forms.
 *
 * Must never: read past the end of its buffer, allocate, or abort on input.
 */
#ifndef STEK_CODEC_MP_H
#define STEK_CODEC_MP_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mp_reader {
  const uint8_t *p;
  const uint8_t *end;
  int err; /* first error (a negative STEK_E* code); sticky */
  /* What the caller was reading when it failed, if it said (a static
   * string naming a limit or a rule, never the input's content), so that
   * an error message can tell which limit a peer broke.  NULL otherwise. */
  const char *why;
} mp_reader;

void mp_reader_init(mp_reader *r, const uint8_t *buf, size_t len);
/* Each reader returns 0, or a negative STEK_E* code (also kept in r->err);
 * after an error every further call fails with the same code. */
int mp_read_array(mp_reader *r, uint32_t *n, uint32_t max);
int mp_read_map(mp_reader *r, uint32_t *n, uint32_t max);
int mp_read_uint(mp_reader *r, uint64_t *v);
int mp_read_int(mp_reader *r, int64_t *v);
/* A string of at most max bytes, valid UTF-8; not NUL-terminated. */
int mp_read_str(mp_reader *r, const char **s, uint32_t *len, uint32_t max);
/* A bin of exactly want bytes (want > 0), or of at most max if want == 0. */
int mp_read_bin(mp_reader *r, const uint8_t **b, uint32_t *len, uint32_t want,
                uint32_t max);
/* The type of the next item: 'i' int, 's' str, 'b' bin, 'a' array, 'm' map,
 * 'n' nil, or 0 at the end / on an unsupported type. */
int mp_peek(const mp_reader *r);
int mp_read_nil(mp_reader *r);
/* 0 if every byte was consumed, STEK_EMALFORMED if bytes are left over. */
int mp_read_end(mp_reader *r);
/* Name the cause of rc, the result of a read on r, if it is code and no
 * cause was named yet; returns rc.  E.g. mp_why(r, mp_read_str(...),
 * STEK_ETOOBIG, "a string over STEK_MAX_STRING_BYTES"). */
int mp_why(mp_reader *r, int rc, int code, const char *why);

/* True if s[0..len) is valid UTF-8 without overlongs or surrogates. */
int mp_utf8_valid(const char *s, size_t len);

/* Writer: an sbuffer with a packer over it.  Functions return 0 or
 * STEK_ENOMEM; like the reader, the first failure is sticky. */
typedef struct mp_writer {
  msgpack_sbuffer buf;
  msgpack_packer pk;
  int err;
} mp_writer;

void mp_writer_init(mp_writer *w);
void mp_writer_free(mp_writer *w);
void mp_write_array(mp_writer *w, uint32_t n);
void mp_write_map(mp_writer *w, uint32_t n);
void mp_write_uint(mp_writer *w, uint64_t v);
void mp_write_int(mp_writer *w, int64_t v);
void mp_write_str(mp_writer *w, const char *s, size_t len);
void mp_write_bin(mp_writer *w, const void *b, size_t len);
void mp_write_nil(mp_writer *w);
/* Append already-encoded msgpack bytes. */
void mp_write_raw(mp_writer *w, const void *b, size_t len);

#endif
