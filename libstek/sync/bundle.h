/*
 * sync/bundle -- the bundle: an encrypted, authenticated file of the
 * changes and signals of one space, to carry on a USB stick or send any way
 * at all (docs/PROTOCOL.md, "Bundle").
 *
 *   file     = header frame* final_frame             (msgpack objects, back to back)
 *   header   = ["stek-bundle", 1, salt: bin(16), tag: bin(16), ss_header: bin(24)]
 *   frame    = bin(crypto_secretstream_xchacha20poly1305 message)
 *   plain    = [wire: bin, ...]                       (<= 256 wires, <= 4 MiB)
 *   K_bundle = crypto_kdf_derive_from_key(32, 3, "stek-bnd", space_key)
 *   tag      = BLAKE2b-128(key = K_bundle, "tag" || salt)
 *   key      = BLAKE2b-256(key = K_bundle, "key" || salt)
 *
 * The salt is fresh for every bundle, so nothing in the file names the
 * space or a device, and two bundles of one space cannot be linked; only a
 * holder of the space key recognises the tag.  The last frame carries the
 * secretstream FINAL tag, so a truncated file is told apart from a whole one.
 *
 * Importing reads the file twice: first it opens and checks every frame and
 * wire to the FINAL tag, storing nothing; only then does it ingest.  The
 * pure pieces (keys, header) are here for the tests and vectors; the public
 * stek_bundle_export() / stek_bundle_import() are in bundle.c too, as the
 * file is this format's only transport.  Must never: allocate by a length
 * before checking it against its limit, store a wire of a file that has not
 * verified to its end, or compare a tag other than in constant time.
 */
#ifndef STEK_SYNC_BUNDLE_H
#define STEK_SYNC_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define BUNDLE_FORMAT 1
#define BUNDLE_SALT 16
#define BUNDLE_TAG 16
#define BUNDLE_SS_HEADER 24 /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define BUNDLE_KEY 32
/* The header is always exactly this long: every field has a fixed size. */
#define BUNDLE_HEADER_BYTES 76
#define BUNDLE_MAX_WIRES 256
#define BUNDLE_MAX_PLAIN (4u << 20) /* one frame's plaintext */

/* K_bundle of a space key. */
void bundle_key(uint8_t kb[BUNDLE_KEY], const uint8_t space_key[BUNDLE_KEY]);
/* The tag and the secretstream key of a bundle with this salt. */
void bundle_tag(uint8_t tag[BUNDLE_TAG], const uint8_t kb[BUNDLE_KEY],
                const uint8_t salt[BUNDLE_SALT]);
void bundle_stream_key(uint8_t key[BUNDLE_KEY], const uint8_t kb[BUNDLE_KEY],
                       const uint8_t salt[BUNDLE_SALT]);

/* The header's exact bytes. */
void bundle_header_encode(uint8_t out[BUNDLE_HEADER_BYTES],
                          const uint8_t salt[BUNDLE_SALT],
                          const uint8_t tag[BUNDLE_TAG],
                          const uint8_t ss_header[BUNDLE_SS_HEADER]);
/* Decode the first len bytes of a file (at most BUNDLE_HEADER_BYTES are
 * looked at).  0; STEK_EMALFORMED if it is not a bundle header;
 * STEK_EVERSION for a bundle of another format version; STEK_ETRUNCATED if
 * the file ends inside a header that is right so far. */
int bundle_header_decode(const uint8_t *b, size_t len, uint8_t salt[BUNDLE_SALT],
                         uint8_t tag[BUNDLE_TAG], uint8_t ss_header[BUNDLE_SS_HEADER]);

#endif
