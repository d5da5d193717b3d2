/*
 * store/vfs -- "stek-crypt": encryption at rest, as a SQLite VFS.
 *
 * A shim over SQLite's default VFS that encrypts and authenticates every
 * byte SQLite writes to the main database, its rollback journal and its
 * WAL (and to temporary files), so that SQL, indexes and FTS5 work
 * unchanged above it.  docs/SECURITY.md ("Encryption at rest") has the
 * summary; the format never leaves the device.
 *
 * Layout.  Each file SQLite opens through the VFS is, underneath, a
 * 12288-byte header and then the file's bytes cut into 4096-byte blocks,
 * each stored as nonce(24) || XChaCha20-Poly1305-IETF ciphertext || tag(16):
 * block k of the file SQLite sees is at 12288 + k * 4136 underneath.  Every
 * write seals its blocks afresh with a random nonce; the associated data is
 * (file kind, file id, k), so a block cannot be moved within a file, to
 * another file, or between kinds.  The last block may be short (a journal
 * or WAL ends anywhere); its length is authenticated with it.  4096 is the
 * page size the stores use, so a database page is exactly one block and no
 * write to the main file ever rewrites a neighbouring page.
 *
 * The header: bytes 0..143 are magic "stek-vfs", version, kind, block size,
 * a random 16-byte file id, and for the main file the Argon2id parameters
 * and salt; then a tag (AEAD of nothing over those bytes, under a key
 * derived from the passphrase: the key check) and an unkeyed BLAKE2b-256
 * checksum of all of it (a damaged header reads as damage, not as a wrong
 * passphrase).  The rest of the first 4096 bytes is zero.  Journal and WAL
 * files also hold two sealed "durable count" slots, at 4096 and 8192.
 *
 * Keys: master = Argon2id(passphrase, salt, opslimit, memlimit); subkeys
 * for blocks, headers and slots by crypto_kdf ("stek-vfs", ids 1..3), in
 * sodium_malloc memory, wiped when the VFS is closed.
 *
 * Crashes.  A power cut can leave the tail of a journal or WAL -- what was
 * written since its last sync -- half written; SQLite expects that and
 * ignores such a tail by its checksums.  An AEAD cannot tell a torn block
 * from a tampered one, so each journal and WAL records, in its slots, how
 * many leading blocks are known durable (and at most one "hole" among them
 * being rewritten).  A block below that count that fails to authenticate is
 * damage (SQLITE_IOERR_DATA); one past it reads as zeros, i.e. as the
 * unwritten tail SQLite already copes with.  The count is raised after
 * each sync, over blocks re-read and verified; before a block below it is
 * rewritten, the count is lowered (or the hole set) and synced first.  The
 * two slots alternate with a counter, so a torn slot leaves the other.
 * The VFS reports 4096-byte sectors and no POWERSAFE_OVERWRITE, so SQLite
 * pads each WAL commit to a block boundary: a commit never shares a block
 * with the next one.  The main file needs none of this: SQLite never reads
 * a page it was writing when the power went (the WAL or journal still
 * holds it).
 *
 * Concurrency.  A new file appears with its header whole (written beside
 * it, synced, then hard-linked into place), so connections opening it at
 * once agree on one header and key.  A reader can catch a WAL block in the
 * middle of another connection's rewrite (the block where one commit ends
 * and the next begins); a block that fails is read again a few times
 * before it counts as failed.
 *
 * Must never: hand SQLite bytes that did not authenticate (zeros for an
 * unsynced log tail are "no data", by SQLite's own rules), keep a key
 * outside locked memory, or be used for a file of another store.
 */
#ifndef STEK_STORE_VFS_H
#define STEK_STORE_VFS_H

#include <stddef.h>
#include <stdint.h>

typedef struct vfs vfs;

/* What the file at path holds, judged by its first bytes. */
enum vfs_kind {
  VFS_ABSENT = 0, /* no file, or an empty one */
  VFS_PLAIN = 1,  /* a plaintext SQLite database */
  VFS_SEALED = 2, /* a store encrypted by this VFS */
  VFS_OTHER = 3   /* anything else (or unreadable) */
};
int vfs_probe(const char *path);

/* Make the VFS instance for the encrypted store at path: read its header
 * and derive its key from the passphrase (len bytes) with the header's
 * Argon2id parameters, checking it; or, when there is no store yet, draw
 * a salt and file id, derive a key with opslimit and memlimit and create
 * the file with its header.  The instance is
 * registered with SQLite under vfs_name(); open the store with that name.
 * Returns 0; STEK_EKEY for a wrong passphrase or a plaintext store (the
 * file is not modified); STEK_ECORRUPT for a damaged header; STEK_EINVAL
 * for limits out of range; STEK_ENOMEM; STEK_EIO.  err gets the reason. */
int vfs_open(vfs **out, const char *path, const char *pass, size_t len,
             uint64_t opslimit, size_t memlimit, char *err, size_t errlen);

/* The name the instance is registered under, for sqlite3_open_v2(). */
const char *vfs_name(const vfs *v);

/* 1 if, since it was made, the instance found a block or header that did
 * not authenticate: whatever code SQLite then returned, it is damage. */
int vfs_damaged(const vfs *v);

/* Unregister and wipe the keys; after every connection using it closed.
 * NULL is a no-op. */
void vfs_close(vfs *v);

#endif
