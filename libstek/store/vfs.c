/*
 * store/vfs -- "stek-crypt", the encrypting VFS; the format and the reasons
 * for it are in vfs.h.  Offsets: "logical" is the file SQLite sees,
 * "physical" the file underneath.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, link, fsync */
#include "store/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "stek.h"

#define BLK 4096                            /* logical bytes per block */
#define OVH (CR_AEAD_NONCE + CR_AEAD_TAG)   /* 40 */
#define PBLK (BLK + OVH)                    /* a full block underneath */
#define HDR 12288                           /* the header region */
#define STATIC_LEN 144                      /* its written part */
#define SLOT_AT(i) (4096 * (1 + (i)))
#define SLOT_PLAIN 24                       /* counter, durable blocks, hole */
#define SLOT_LEN (CR_AEAD_NONCE + SLOT_PLAIN + CR_AEAD_TAG)
#define NO_HOLE UINT64_MAX
#define FORMAT_VERSION 1
#define ALG_ARGON2ID13 2
/* A block that fails to authenticate is read again this many times, with
 * growing pauses (about 13 ms in all), before it counts as failed: a reader
 * can catch a block in the middle of another connection's rewrite of it
 * (the block that ends one WAL commit and starts the next). */
#define READ_TRIES 8

static const uint8_t magic[8] = {'s', 't', 'e', 'k', '-', 'v', 'f', 's'};

/* File kinds, from SQLite's open flags; part of every block's AD. */
enum { K_MAIN = 1, K_WAL, K_JOURNAL, K_SUPER, K_TEMP_DB, K_TEMP_JOURNAL, K_SUBJOURNAL,
       K_TRANSIENT };

struct vfs {
  sqlite3_vfs base; /* first: SQLite hands this pointer back */
  sqlite3_vfs *under;
  uint8_t *keys;    /* 96 bytes of locked memory: blocks, headers, slots */
  uint8_t hdr[STATIC_LEN]; /* the main file's header */
  int create;       /* the main file is empty or torn: write hdr when SQLite opens it */
  int damaged;      /* a block or header failed authentication (sticky) */
  int registered;
  char name[48];
};

#define KEY_BLOCKS(v) ((v)->keys)
#define KEY_HEADER(v) ((v)->keys + 32)
#define KEY_SLOTS(v) ((v)->keys + 64)

typedef struct cfile {
  sqlite3_file base;
  vfs *v;
  sqlite3_file *under; /* the default VFS's file, right after this struct */
  int kind;
  int log;             /* a journal or WAL: durable-count slots */
  uint8_t prefix[32];  /* header bytes 0..31: magic, version, kind, file id */
  int dirty;           /* log: blocks written since the last sync ... */
  uint64_t dirty_hi;   /* ... the highest of them */
  uint8_t raw[PBLK];   /* one block as stored */
  uint8_t plain[BLK];  /* one block in clear */
} cfile;

typedef struct durable {
  uint64_t ctr;    /* slot counter: the higher valid slot wins */
  uint64_t blocks; /* blocks [0, blocks) are durable and must authenticate */
  uint64_t hole;   /* except this one, being rewritten (NO_HOLE: none) */
} durable;

/* ---- little helpers ---- */

static void put64(uint8_t *p, uint64_t x) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get64(const uint8_t *p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--) x = x << 8 | p[i];
  return x;
}

static int all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

static int64_t logical_size(int64_t phys) {
  if (phys <= HDR) return 0;
  int64_t d = phys - HDR, tail = d % PBLK;
  return d / PBLK * BLK + (tail > OVH ? tail - OVH : 0);
}

static int kind_of(int flags) {
  if (flags & SQLITE_OPEN_MAIN_DB) return K_MAIN;
  if (flags & SQLITE_OPEN_WAL) return K_WAL;
  if (flags & SQLITE_OPEN_MAIN_JOURNAL) return K_JOURNAL;
  if (flags & SQLITE_OPEN_SUPER_JOURNAL) return K_SUPER;
  if (flags & SQLITE_OPEN_TEMP_DB) return K_TEMP_DB;
  if (flags & SQLITE_OPEN_TEMP_JOURNAL) return K_TEMP_JOURNAL;
  if (flags & SQLITE_OPEN_SUBJOURNAL) return K_SUBJOURNAL;
  return K_TRANSIENT;
}

static int uread(cfile *f, void *buf, int n, int64_t off) {
  return f->under->pMethods->xRead(f->under, buf, n, off);
}

static int uwrite(cfile *f, const void *buf, int n, int64_t off) {
  return f->under->pMethods->xWrite(f->under, buf, n, off);
}

static int usize(cfile *f, int64_t *phys) {
  sqlite3_int64 sz = 0;
  int rc = f->under->pMethods->xFileSize(f->under, &sz);
  *phys = sz;
  return rc;
}

static int usync(cfile *f) { return f->under->pMethods->xSync(f->under, SQLITE_SYNC_NORMAL); }

/* ---- the header ---- */

/*
 *   0  magic "stek-vfs"        40  opslimit (u64 LE)   main file only
 *   8  version, kind           48  memlimit (u64 LE)   main file only
 *  10  0, 0                    56  salt[16]            main file only
 *  12  block size (u32 LE)     72  nonce[24]
 *  16  file id[16]             96  tag[16]: AEAD of nothing, AD = bytes 0..71
 *  32  algorithm (2: Argon2id13; 0), then 7 zero bytes
 * 112  checksum[32]: BLAKE2b-256 of bytes 0..111
 */
static void header_seal(const vfs *v, uint8_t h[STATIC_LEN]) {
  cr_random(h + 72, CR_AEAD_NONCE);
  cr_aead_seal(h + 96, NULL, 0, h, 72, h + 72, KEY_HEADER(v));
  cr_hash(h + 112, h, 112);
}

static void header_init(uint8_t h[STATIC_LEN], int kind) {
  memset(h, 0, STATIC_LEN);
  memcpy(h, magic, 8);
  h[8] = FORMAT_VERSION;
  h[9] = (uint8_t)kind;
  h[12] = BLK & 0xff;
  h[13] = BLK >> 8;
  cr_random(h + 16, 16);
}

/* 0 if h is a well-formed header of this kind (not yet its tag). */
static int header_form(const uint8_t h[STATIC_LEN], int kind) {
  uint8_t sum[CR_HASH];
  cr_hash(sum, h, 112);
  if (memcmp(h, magic, 8) || !cr_equal(sum, h + 112, CR_HASH)) return -1;
  if (h[8] != FORMAT_VERSION || h[9] != kind || h[10] || h[11] ||
      (h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24) != BLK)
    return -1;
  return 0;
}

static int header_tag_ok(const vfs *v, const uint8_t h[STATIC_LEN]) {
  return cr_aead_open(NULL, h + 96, CR_AEAD_TAG, h, 72, h + 72, KEY_HEADER(v)) == 0;
}

/* The unwritten parts of the header region must be zero. */
static int header_padding_ok(const uint8_t *region, size_t n, int log) {
  for (size_t i = STATIC_LEN; i < n; i++) {
    if (log && ((i >= SLOT_AT(0) && i < SLOT_AT(0) + SLOT_LEN) ||
                (i >= SLOT_AT(1) && i < SLOT_AT(1) + SLOT_LEN)))
      continue;
    if (region[i]) return 0;
  }
  return 1;
}

/* ---- durable-count slots (journal and WAL) ---- */

static void slot_ad(const cfile *f, int i, uint8_t ad[33]) {
  memcpy(ad, f->prefix, 32);
  ad[32] = (uint8_t)i;
}

/* The newest valid slot; none valid: nothing is durable. */
static void slots_read(cfile *f, durable *d) {
  uint8_t s[SLOT_LEN], p[SLOT_PLAIN], ad[33];
  d->ctr = 0;
  d->blocks = 0;
  d->hole = NO_HOLE;
  for (int i = 0; i < 2; i++) {
    slot_ad(f, i, ad);
    if (uread(f, s, SLOT_LEN, SLOT_AT(i)) != SQLITE_OK ||
        cr_aead_open(p, s + CR_AEAD_NONCE, SLOT_LEN - CR_AEAD_NONCE, ad, sizeof ad, s,
                     KEY_SLOTS(f->v)) != 0)
      continue;
    if (get64(p) > d->ctr) {
      d->ctr = get64(p);
      d->blocks = get64(p + 8);
      d->hole = get64(p + 16);
    }
  }
}

/* Write d (its ctr already advanced) over the older slot. */
static int slot_write(cfile *f, const durable *d) {
  uint8_t s[SLOT_LEN], p[SLOT_PLAIN], ad[33];
  int i = (int)(d->ctr % 2);
  put64(p, d->ctr);
  put64(p + 8, d->blocks);
  put64(p + 16, d->hole);
  slot_ad(f, i, ad);
  cr_random(s, CR_AEAD_NONCE);
  cr_aead_seal(s + CR_AEAD_NONCE, p, SLOT_PLAIN, ad, sizeof ad, s, KEY_SLOTS(f->v));
  return uwrite(f, s, SLOT_LEN, SLOT_AT(i));
}

/* SQLite may pass an I/O error on under a vaguer code (FTS5 reports a
 * failed read of its config as "vtable constructor failed"): the instance
 * remembers, for vfs_damaged(). */
static int damage(cfile *f) {
  f->v->damaged = 1;
  return SQLITE_IOERR_DATA;
}

static int must_authenticate(cfile *f, uint64_t k) {
  durable d;
  if (!f->log) return 1;
  slots_read(f, &d);
  return k < d.blocks && k != d.hole;
}

/* ---- blocks ---- */

static void block_ad(const cfile *f, uint64_t k, uint8_t ad[25]) {
  ad[0] = (uint8_t)f->kind;
  memcpy(ad + 1, f->prefix + 16, 16);
  put64(ad + 17, k);
}

/* Read and open block k into f->plain.  *len: its length (0: absent).
 * 1 if it authenticated or is absent, 0 if not (then *len is its
 * length as stored), or a negative SQLite-style failure as -rc. */
static int block_fetch(cfile *f, uint64_t k, size_t *len) {
  int64_t phys, off = HDR + (int64_t)k * PBLK;
  uint8_t ad[25];
  int rc = usize(f, &phys);
  *len = 0;
  if (rc) return -rc;
  if (phys <= off) return 1;
  int n = phys - off < PBLK ? (int)(phys - off) : PBLK;
  *len = n > OVH ? (size_t)(n - OVH) : 0;
  if (n <= OVH) return 0;
  rc = uread(f, f->raw, n, off);
  if (rc != SQLITE_OK) return rc == SQLITE_IOERR_SHORT_READ ? 0 : -rc;
  block_ad(f, k, ad);
  return cr_aead_open(f->plain, f->raw + CR_AEAD_NONCE, (size_t)(n - CR_AEAD_NONCE), ad,
                      sizeof ad, f->raw, KEY_BLOCKS(f->v)) == 0;
}

/* Block k in clear into f->plain, *len its length.  A block that does not
 * authenticate is SQLITE_IOERR_DATA where it must, else (a log's unsynced
 * tail) zeros. */
static int block_read(cfile *f, uint64_t k, size_t *len, int tries) {
  for (int i = 0; i < tries; i++) {
    int ok = block_fetch(f, k, len);
    if (ok < 0) return -ok;
    if (ok) return SQLITE_OK;
    if (i + 1 < tries) f->v->under->xSleep(f->v->under, 100 << i);
  }
  if (must_authenticate(f, k)) return damage(f);
  memset(f->plain, 0, BLK);
  return SQLITE_OK;
}

/* Before block k of a log is written over: if it is among the durable
 * blocks, make it the hole (or, with a hole already, lower the count
 * below both), durably, so that a torn write of it reads as a torn tail
 * rather than as damage. */
static int before_rewrite(cfile *f, uint64_t k) {
  durable d;
  slots_read(f, &d);
  if (k >= d.blocks || k == d.hole) return SQLITE_OK;
  if (d.hole == NO_HOLE) {
    d.hole = k;
  } else {
    d.blocks = d.hole < k ? d.hole : k;
    d.hole = NO_HOLE;
  }
  d.ctr++;
  int rc = slot_write(f, &d);
  return rc ? rc : usync(f);
}

/* Seal f->plain[0..len) as block k and write it. */
static int block_write(cfile *f, uint64_t k, size_t len) {
  uint8_t ad[25];
  int rc = f->log ? before_rewrite(f, k) : SQLITE_OK;
  if (rc) return rc;
  block_ad(f, k, ad);
  cr_random(f->raw, CR_AEAD_NONCE);
  cr_aead_seal(f->raw + CR_AEAD_NONCE, f->plain, len, ad, sizeof ad, f->raw,
               KEY_BLOCKS(f->v));
  rc = uwrite(f, f->raw, (int)len + OVH, HDR + (int64_t)k * PBLK);
  if (!rc && f->log) {
    if (!f->dirty || k > f->dirty_hi) f->dirty_hi = k;
    f->dirty = 1;
  }
  return rc;
}

/* ---- sqlite3_io_methods ---- */

static int cx_close(sqlite3_file *file) {
  cfile *f = (cfile *)file;
  int rc = f->under->pMethods->xClose(f->under);
  cr_wipe(f->plain, sizeof f->plain);
  cr_wipe(f->raw, sizeof f->raw);
  return rc;
}

static int cx_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 ofst) {
  cfile *f = (cfile *)file;
  uint8_t *out = buf;
  int64_t phys, got = 0;
  int rc = usize(f, &phys);
  if (rc) return rc;
  int64_t lsize = logical_size(phys);
  for (int64_t k = ofst / BLK; k * BLK < ofst + amt && k * BLK < lsize; k++) {
    size_t len;
    int64_t start = k * BLK;
    if ((rc = block_read(f, (uint64_t)k, &len, READ_TRIES))) return rc;
    int64_t lo = (ofst > start ? ofst : start) - start;
    int64_t hi = (ofst + amt < start + (int64_t)len ? ofst + amt : start + (int64_t)len) - start;
    if (hi <= lo) break;
    memcpy(out + (start + lo - ofst), f->plain + lo, (size_t)(hi - lo));
    got = start + hi - ofst;
    if (len < BLK) break;
  }
  if (got < amt) {
    memset(out + got, 0, (size_t)(amt - got));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

/* Write buf at ofst: each block it touches is read (when it keeps bytes
 * that are not overwritten), changed and sealed afresh.  A write past the
 * end first fills the gap with zeros, as a plain file would read. */
static int cx_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 ofst) {
  cfile *f = (cfile *)file;
  const uint8_t *in = buf;
  int64_t phys;
  if (amt <= 0) return SQLITE_OK;
  int rc = usize(f, &phys);
  if (rc) return rc;
  int64_t lsize = logical_size(phys);
  int64_t first = ofst / BLK, last = (ofst + amt - 1) / BLK;
  int64_t k = lsize < ofst && lsize / BLK < first ? lsize / BLK : first;
  for (; k <= last; k++) {
    int64_t start = k * BLK;
    size_t elen = lsize > start ? (size_t)(lsize - start < BLK ? lsize - start : BLK) : 0;
    size_t lo = 0, hi = 0, newlen = BLK;
    if (k >= first) {
      lo = (size_t)((ofst > start ? ofst : start) - start);
      hi = (size_t)((ofst + amt < start + BLK ? ofst + amt : start + BLK) - start);
      newlen = hi > elen ? hi : elen;
    } else if (elen == BLK) {
      continue; /* a whole block before the write: untouched */
    }
    if (elen > 0 && !(k >= first && lo == 0 && hi >= elen)) {
      size_t got;
      if ((rc = block_read(f, (uint64_t)k, &got, 1))) return rc;
      if (got < elen) memset(f->plain + got, 0, elen - got);
    }
    if (newlen > elen) memset(f->plain + elen, 0, newlen - elen);
    if (hi > lo) memcpy(f->plain + lo, in + (start + (int64_t)lo - ofst), hi - lo);
    if ((rc = block_write(f, (uint64_t)k, newlen))) return rc;
  }
  return SQLITE_OK;
}

static int cx_truncate(sqlite3_file *file, sqlite3_int64 size) {
  cfile *f = (cfile *)file;
  int64_t phys;
  size_t len = 0;
  int rc = usize(f, &phys);
  if (rc) return rc;
  int64_t lsize = logical_size(phys);
  if (size > lsize) { /* grow with zeros, as a plain file would */
    static const uint8_t zeros[BLK];
    for (int64_t at = lsize; !rc && at < size; at += BLK) {
      int n = size - at < BLK ? (int)(size - at) : BLK;
      rc = cx_write(file, zeros, n, at);
    }
    return rc;
  }
  if (size == lsize) return SQLITE_OK;
  uint64_t k = (uint64_t)(size / BLK);
  size_t rest = (size_t)(size % BLK);
  if (f->log) { /* blocks at and past k stop being durable, first */
    durable d;
    slots_read(f, &d);
    if (d.blocks > k || (d.hole != NO_HOLE && d.hole >= k)) {
      if (d.blocks > k) d.blocks = k;
      if (d.hole != NO_HOLE && d.hole >= k) d.hole = NO_HOLE;
      d.ctr++;
      if ((rc = slot_write(f, &d)) || (rc = usync(f))) return rc;
    }
  }
  if (rest && (rc = block_read(f, k, &len, 1))) return rc;
  if (len < rest) memset(f->plain + len, 0, rest - len);
  rc = f->under->pMethods->xTruncate(f->under, HDR + (int64_t)k * PBLK);
  if (!rc && rest) rc = block_write(f, k, rest);
  return rc;
}

/* A journal's or WAL's sync also raises its durable count over the
 * blocks this handle wrote that now read back whole (and clears a hole
 * that does).  The slot is written after the sync and not synced itself:
 * lost, it leaves the older, lower count, which only tolerates more. */
static int cx_sync(sqlite3_file *file, int flags) {
  cfile *f = (cfile *)file;
  durable d;
  size_t len;
  int rc = f->under->pMethods->xSync(f->under, flags);
  if (rc || !f->log || !f->dirty) return rc;
  f->dirty = 0;
  slots_read(f, &d);
  uint64_t blocks = d.blocks, hole = d.hole;
  if (hole != NO_HOLE && (hole >= blocks || block_fetch(f, hole, &len) == 1)) hole = NO_HOLE;
  while (blocks <= f->dirty_hi && block_fetch(f, blocks, &len) == 1 && len > 0) blocks++;
  if (blocks == d.blocks && hole == d.hole) return SQLITE_OK;
  d.blocks = blocks;
  d.hole = hole;
  d.ctr++;
  return slot_write(f, &d);
}

static int cx_file_size(sqlite3_file *file, sqlite3_int64 *size) {
  cfile *f = (cfile *)file;
  int64_t phys;
  int rc = usize(f, &phys);
  if (rc) return rc;
  if (f->log) { /* durable blocks cannot have gone: that is a cut file */
    durable d;
    slots_read(f, &d);
    uint64_t present = phys > HDR ? (uint64_t)((phys - HDR + PBLK - 1) / PBLK) : 0;
    if (d.blocks > present) return damage(f);
  }
  *size = logical_size(phys);
  return SQLITE_OK;
}

static int cx_lock(sqlite3_file *file, int lock) {
  cfile *f = (cfile *)file;
  return f->under->pMethods->xLock(f->under, lock);
}

static int cx_unlock(sqlite3_file *file, int lock) {
  cfile *f = (cfile *)file;
  return f->under->pMethods->xUnlock(f->under, lock);
}

static int cx_check_reserved(sqlite3_file *file, int *out) {
  cfile *f = (cfile *)file;
  return f->under->pMethods->xCheckReservedLock(f->under, out);
}

static int cx_file_control(sqlite3_file *file, int op, void *arg) {
  cfile *f = (cfile *)file;
  switch (op) {
    /* Preallocation would extend the file underneath with bytes that are
     * not blocks; the file grows by writes instead. */
    case SQLITE_FCNTL_SIZE_HINT:
    case SQLITE_FCNTL_CHUNK_SIZE: return SQLITE_OK;
    /* Batch-atomic writes are never advertised (see below). */
    case SQLITE_FCNTL_BEGIN_ATOMIC_WRITE:
    case SQLITE_FCNTL_COMMIT_ATOMIC_WRITE:
    case SQLITE_FCNTL_ROLLBACK_ATOMIC_WRITE: return SQLITE_NOTFOUND;
    default: return f->under->pMethods->xFileControl(f->under, op, arg);
  }
}

/* One block is the unit a write may tear. */
static int cx_sector_size(sqlite3_file *file) {
  (void)file;
  return BLK;
}

/* No POWERSAFE_OVERWRITE (a write rewrites whole blocks, so it may tear
 * bytes beside it: SQLite then pads WAL commits to a block boundary), no
 * atomic or sequential writes, no safe append: none holds underneath. */
static int cx_device_characteristics(sqlite3_file *file) {
  cfile *f = (cfile *)file;
  return f->under->pMethods->xDeviceCharacteristics(f->under) &
         (SQLITE_IOCAP_IMMUTABLE | SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN);
}

/* The wal-index (-shm) is shared memory, not file content: passed through
 * in the clear (docs/SECURITY.md says what it shows). */
static int cx_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp) {
  cfile *f = (cfile *)file;
  return f->under->pMethods->xShmMap(f->under, pg, pgsz, extend, pp);
}

static int cx_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
  cfile *f = (cfile *)file;
  return f->under->pMethods->xShmLock(f->under, offset, n, flags);
}

static void cx_shm_barrier(sqlite3_file *file) {
  cfile *f = (cfile *)file;
  f->under->pMethods->xShmBarrier(f->under);
}

static int cx_shm_unmap(sqlite3_file *file, int del) {
  cfile *f = (cfile *)file;
  return f->under->pMethods->xShmUnmap(f->under, del);
}

/* Version 2: shared memory, but no xFetch -- SQLite must never map the
 * file (it would see ciphertext). */
static const sqlite3_io_methods io_methods = {
    2,           cx_close,          cx_read,        cx_write,
    cx_truncate, cx_sync,           cx_file_size,   cx_lock,
    cx_unlock,   cx_check_reserved, cx_file_control, cx_sector_size,
    cx_device_characteristics, cx_shm_map, cx_shm_lock, cx_shm_barrier,
    cx_shm_unmap, NULL,          NULL,
};

/* ---- opening a file ---- */

/* Create the file name holding exactly hdr, atomically: whoever opens it
 * sees no file or the whole header, never a part, and of two creating it
 * at once one wins (the loser uses the winner's).  0 created, 1 it
 * existed, -1 failed. */
static int create_with_header(const char *name, const uint8_t *hdr, size_t len) {
  char tmp[4200];
  int rc = -1;
  if (snprintf(tmp, sizeof tmp, "%s.stek-new-XXXXXX", name) >= (int)sizeof tmp) return -1;
  int fd = mkstemp(tmp);
  if (fd < 0) return -1;
  int ok = write(fd, hdr, len) == (ssize_t)len && fsync(fd) == 0;
  close(fd);
  if (ok && link(tmp, name) == 0) {
    rc = 0;
  } else if (ok && errno == EEXIST) {
    rc = 1;
  } else if (ok) { /* a file system without hard links: exclusive create */
    fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      rc = write(fd, hdr, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
      close(fd);
    } else if (errno == EEXIST) {
      rc = 1;
    }
  }
  unlink(tmp);
  return rc;
}

/* Read or write the header of a file just opened underneath. */
static int header_open(cfile *f) {
  vfs *v = f->v;
  uint8_t region[HDR];
  int64_t phys;
  int rc = usize(f, &phys);
  if (rc) return rc;
  if (f->kind == K_MAIN) {
    int n = phys < HDR ? (int)phys : HDR;
    rc = n ? uread(f, region, n, 0) : SQLITE_OK;
    if (rc && rc != SQLITE_IOERR_SHORT_READ) return rc;
    if (phys <= HDR && v->create &&
        (n < STATIC_LEN || header_form(region, K_MAIN) != 0)) {
      /* A new store in an empty file, or a creation cut short: never
       * over a header, which another opener may just have written. */
      if ((rc = f->under->pMethods->xTruncate(f->under, 0)) ||
          (rc = uwrite(f, v->hdr, STATIC_LEN, 0)) || (rc = usync(f)))
        return rc;
      v->create = 0;
    } else {
      if (rc || n < STATIC_LEN || memcmp(region, v->hdr, STATIC_LEN) ||
          !header_padding_ok(region, (size_t)n, 0))
        return rc && rc != SQLITE_IOERR_SHORT_READ ? rc : damage(f);
    }
    memcpy(f->prefix, v->hdr, 32);
    return SQLITE_OK;
  }
  /* A header shorter than it should be may still be being written by
   * another connection (without hard links; see create_with_header()). */
  for (int i = 0; f->log && phys < STATIC_LEN && i < READ_TRIES; i++) {
    f->v->under->xSleep(f->v->under, 100 << i);
    if ((rc = usize(f, &phys))) return rc;
  }
  if (phys > 0) {
    int n = phys < HDR ? (int)phys : HDR;
    rc = uread(f, region, n, 0);
    if (rc && rc != SQLITE_IOERR_SHORT_READ) return rc;
    if (!rc && n >= STATIC_LEN && header_form(region, f->kind) == 0 &&
        header_tag_ok(v, region) && header_padding_ok(region, (size_t)n, f->log)) {
      memcpy(f->prefix, region, 32);
      return SQLITE_OK;
    }
    /* A bad header over data is damage; with no data after it, a file
     * whose creation was cut short, made again below. */
    if (phys > HDR) return damage(f);
    if ((rc = f->under->pMethods->xTruncate(f->under, 0))) return rc;
  }
  header_init(region, f->kind);
  header_seal(v, region);
  memcpy(f->prefix, region, 32);
  rc = uwrite(f, region, STATIC_LEN, 0);
  /* A log's header is durable before any of its blocks can be, so a bad
   * header in front of blocks is always damage. */
  if (!rc && f->log) rc = usync(f);
  return rc;
}

static int vx_open(sqlite3_vfs *pv, sqlite3_filename name, sqlite3_file *file, int flags,
                   int *out_flags) {
  vfs *v = (vfs *)pv;
  cfile *f = (cfile *)file;
  memset(f, 0, sizeof *f);
  f->v = v;
  f->under = (sqlite3_file *)(f + 1);
  f->kind = kind_of(flags);
  f->log = f->kind == K_WAL || f->kind == K_JOURNAL || f->kind == K_SUPER;
  int exists = 1;
  if (f->log && name && (flags & SQLITE_OPEN_CREATE) &&
      v->under->xAccess(v->under, name, SQLITE_ACCESS_EXISTS, &exists) == SQLITE_OK &&
      !exists) { /* made here, header first, so no opener sees it without */
    uint8_t h[STATIC_LEN];
    header_init(h, f->kind);
    header_seal(v, h);
    create_with_header(name, h, STATIC_LEN); /* if it fails, header_open() tries */
  }
  int rc = v->under->xOpen(v->under, name, f->under, flags, out_flags);
  if (rc) return rc;
  if ((rc = header_open(f))) {
    f->under->pMethods->xClose(f->under);
    return rc;
  }
  f->base.pMethods = &io_methods;
  return SQLITE_OK;
}

/* ---- the rest of sqlite3_vfs: the default VFS's own ---- */

#define UNDER(p) (((vfs *)(p))->under)

static int vx_delete(sqlite3_vfs *p, const char *name, int sync_dir) {
  return UNDER(p)->xDelete(UNDER(p), name, sync_dir);
}
static int vx_access(sqlite3_vfs *p, const char *name, int flags, int *out) {
  return UNDER(p)->xAccess(UNDER(p), name, flags, out);
}
static int vx_full_pathname(sqlite3_vfs *p, const char *name, int n, char *out) {
  return UNDER(p)->xFullPathname(UNDER(p), name, n, out);
}
static void *vx_dl_open(sqlite3_vfs *p, const char *name) {
  return UNDER(p)->xDlOpen(UNDER(p), name);
}
static void vx_dl_error(sqlite3_vfs *p, int n, char *msg) {
  UNDER(p)->xDlError(UNDER(p), n, msg);
}
static void (*vx_dl_sym(sqlite3_vfs *p, void *h, const char *sym))(void) {
  return UNDER(p)->xDlSym(UNDER(p), h, sym);
}
static void vx_dl_close(sqlite3_vfs *p, void *h) { UNDER(p)->xDlClose(UNDER(p), h); }
static int vx_randomness(sqlite3_vfs *p, int n, char *out) {
  return UNDER(p)->xRandomness(UNDER(p), n, out);
}
static int vx_sleep(sqlite3_vfs *p, int us) { return UNDER(p)->xSleep(UNDER(p), us); }
static int vx_current_time(sqlite3_vfs *p, double *t) {
  return UNDER(p)->xCurrentTime(UNDER(p), t);
}
static int vx_last_error(sqlite3_vfs *p, int n, char *msg) {
  return UNDER(p)->xGetLastError(UNDER(p), n, msg);
}
static int vx_current_time64(sqlite3_vfs *p, sqlite3_int64 *t) {
  return UNDER(p)->xCurrentTimeInt64(UNDER(p), t);
}

/* ---- the instance ---- */

int vfs_probe(const char *path) {
  uint8_t h[16];
  FILE *fp = fopen(path, "rb");
  if (!fp) return errno == ENOENT ? VFS_ABSENT : VFS_OTHER;
  size_t n = fread(h, 1, sizeof h, fp);
  fclose(fp);
  if (n == 0) return VFS_ABSENT;
  if (n == 16 && !memcmp(h, "SQLite format 3", 16)) return VFS_PLAIN;
  if (n >= 8 && !memcmp(h, magic, 8)) return VFS_SEALED;
  return VFS_OTHER;
}

static int fail(char *err, size_t errlen, int rc, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  return rc;
}

/* Master key from the passphrase, then the three subkeys. */
static int derive(vfs *v, const char *pass, size_t len, const uint8_t *salt, uint64_t ops,
                  size_t mem) {
  uint8_t *master = cr_secret_alloc(32);
  if (!master) return STEK_ENOMEM;
  int rc = cr_pwhash(master, 32, pass, len, salt, ops, mem);
  for (int i = 0; !rc && i < 3; i++) cr_kdf(v->keys + 32 * i, (uint64_t)i + 1, "stek-vfs", master);
  cr_secret_free(master);
  return rc;
}

/* The header region of the main file: *n bytes of it read (0: none). */
static int read_region(const char *path, uint8_t region[HDR], size_t *n, int64_t *size) {
  FILE *fp = fopen(path, "rb");
  *n = 0;
  *size = 0;
  if (!fp) return errno == ENOENT ? 0 : STEK_EIO;
  *n = fread(region, 1, HDR, fp);
  int bad = ferror(fp) || fseek(fp, 0, SEEK_END) != 0;
  long end = bad ? -1 : ftell(fp);
  fclose(fp);
  if (bad || end < 0) return STEK_EIO;
  *size = end;
  return 0;
}

static int open_existing(vfs *v, const uint8_t *region, size_t n, const char *pass,
                         size_t len, char *err, size_t errlen) {
  const uint8_t *h = region;
  if (header_form(h, K_MAIN) != 0 || h[32] != ALG_ARGON2ID13 || !all_zero(h + 33, 7) ||
      !header_padding_ok(region, n, 0))
    return fail(err, errlen, STEK_ECORRUPT,
                "the encrypted store's header is corrupt (damaged or tampered with)");
  uint64_t ops = get64(h + 40), mem = get64(h + 48);
  if (ops < STEK_PWHASH_OPSLIMIT_MIN || ops > STEK_PWHASH_OPSLIMIT_MAX ||
      mem < STEK_PWHASH_MEMLIMIT_MIN || mem > STEK_PWHASH_MEMLIMIT_MAX)
    return fail(err, errlen, STEK_ECORRUPT,
                "the encrypted store's header is corrupt (key derivation cost out of range)");
  int rc = derive(v, pass, len, h + 56, ops, (size_t)mem);
  if (rc) return fail(err, errlen, rc, "cannot derive the store key (out of memory)");
  if (!header_tag_ok(v, h))
    return fail(err, errlen, STEK_EKEY, "wrong passphrase for this store");
  memcpy(v->hdr, h, STATIC_LEN);
  v->create = 0; /* (set by a first pass that found no file) */
  return 0;
}

static int prepare_new(vfs *v, const char *pass, size_t len, uint64_t ops, size_t mem,
                       char *err, size_t errlen) {
  uint8_t *h = v->hdr;
  if (ops < STEK_PWHASH_OPSLIMIT_MIN || ops > STEK_PWHASH_OPSLIMIT_MAX ||
      mem < STEK_PWHASH_MEMLIMIT_MIN || mem > STEK_PWHASH_MEMLIMIT_MAX)
    return fail(err, errlen, STEK_EINVAL, "pwhash_opslimit or pwhash_memlimit out of range");
  header_init(h, K_MAIN);
  h[32] = ALG_ARGON2ID13;
  put64(h + 40, ops);
  put64(h + 48, mem);
  cr_random(h + 56, CR_PWHASH_SALT);
  int rc = derive(v, pass, len, h + 56, ops, mem);
  if (rc) return fail(err, errlen, rc, "cannot derive the store key (out of memory)");
  header_seal(v, h);
  v->create = 1;
  return 0;
}

int vfs_open(vfs **out, const char *path, const char *pass, size_t len, uint64_t opslimit,
             size_t memlimit, char *err, size_t errlen) {
  uint8_t region[HDR];
  size_t n;
  int64_t size;
  *out = NULL;
  if (!pass || !len) return fail(err, errlen, STEK_EINVAL, "empty passphrase");
  if (cr_setup()) return fail(err, errlen, STEK_ERROR, "libsodium failed to initialise");
  vfs *v = calloc(1, sizeof *v);
  if (!v || !(v->keys = cr_secret_alloc(96))) {
    free(v);
    return fail(err, errlen, STEK_ENOMEM, "out of memory");
  }
  int rc, again = 1;
retry:
  rc = read_region(path, region, &n, &size);
  if (rc) {
    fail(err, errlen, rc, "cannot read the store file");
  } else if (n >= 16 && !memcmp(region, "SQLite format 3", 16)) {
    rc = fail(err, errlen, STEK_EKEY,
              "the store is not encrypted: open it without a passphrase"
              " (stek_rekey() encrypts it)");
  } else if (n >= 8 && !memcmp(region, magic, 8) && size > HDR) {
    rc = open_existing(v, region, n, pass, len, err, errlen);
  } else if (n >= STATIC_LEN && header_form(region, K_MAIN) == 0) {
    /* A store with a header and no data yet: its salt stands. */
    rc = open_existing(v, region, n, pass, len, err, errlen);
  } else if (size <= HDR && (n < 8 || !memcmp(region, magic, 8) || all_zero(region, n))) {
    /* No store, or a creation cut short before any data.  A new file is
     * made whole here; one that exists is written when SQLite opens it. */
    rc = prepare_new(v, pass, len, opslimit, memlimit, err, errlen);
    if (!rc && n == 0 && again) {
      int made = create_with_header(path, v->hdr, STATIC_LEN);
      if (made == 0) v->create = 0;
      again = 0;
      if (made == 1) goto retry; /* another opener made it first: use its */
    }
  } else {
    rc = fail(err, errlen, STEK_ECORRUPT,
              "the store file is corrupt, or not a stek store");
  }
  if (!rc) {
    v->under = sqlite3_vfs_find(NULL);
    if (!v->under) rc = fail(err, errlen, STEK_ERROR, "SQLite has no default VFS");
  }
  if (rc) {
    vfs_close(v);
    return rc;
  }
  snprintf(v->name, sizeof v->name, "stek-crypt-%p", (void *)v);
  sqlite3_vfs *b = &v->base;
  b->iVersion = 2;
  b->szOsFile = (int)sizeof(cfile) + v->under->szOsFile;
  b->mxPathname = v->under->mxPathname;
  b->zName = v->name;
  b->pAppData = v;
  b->xOpen = vx_open;
  b->xDelete = vx_delete;
  b->xAccess = vx_access;
  b->xFullPathname = vx_full_pathname;
  b->xDlOpen = vx_dl_open;
  b->xDlError = vx_dl_error;
  b->xDlSym = vx_dl_sym;
  b->xDlClose = vx_dl_close;
  b->xRandomness = vx_randomness;
  b->xSleep = vx_sleep;
  b->xCurrentTime = vx_current_time;
  b->xGetLastError = vx_last_error;
  b->xCurrentTimeInt64 = vx_current_time64;
  if (sqlite3_vfs_register(b, 0) != SQLITE_OK) {
    vfs_close(v);
    return fail(err, errlen, STEK_ERROR, "cannot register the encrypting VFS");
  }
  v->registered = 1;
  *out = v;
  return 0;
}

const char *vfs_name(const vfs *v) { return v->name; }

int vfs_damaged(const vfs *v) { return v && v->damaged; }

void vfs_close(vfs *v) {
  if (!v) return;
  if (v->registered) sqlite3_vfs_unregister(&v->base);
  cr_secret_free(v->keys);
  free(v);
}
