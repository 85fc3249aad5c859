/* rpmdb_bdb.c: the rpm database in its BerkeleyDB form (var/lib/rpm/Packages:
 * RHEL/CentOS 7 and 8, SLES 12, Amazon Linux 2, Fedora before 33).
 *
 * Read by hand, an exception to preferring a library: libdb trusts its
 * files (a crafted database is memory corruption inside the scanner) and
 * wants a writable environment; Debian 12's librpm9 (4.18) links no libdb,
 * its read-only bdb_ro backend needs a database directory on disk and
 * rpm's macro and Lua machinery, and it is built without ndb.  The file
 * is a plain hash table we only need to list.
 *
 * Layout (all integers in the file's byte order, which the meta page's
 * magic tells): page 0 is the hash meta page (magic 0x061561 at 12, page
 * size at 20); every other page starts with a 26-byte header (next_pgno
 * at 16, entries at 20, hf_offset at 22, type at 25).  A hash page holds
 * `entries` u16 item offsets from byte 26: key, value, key, value.  Keys
 * are 4-byte header numbers (0 holds the next free number, not a
 * package); values are rpm header blobs, inline (H_KEYDATA) or, as rpm
 * always writes them, off-page (H_OFFPAGE: first overflow page and total
 * length; each overflow page carries hf_offset bytes from byte 26).
 *
 * Every page is visited once in file order, so bucket chains cannot loop;
 * an overflow page serving twice (a cycle, or two values sharing it) is
 * an error, which also bounds the bytes copied by the file's size.
 */
#include "scanner/detect_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "scanner/meter_int.h"
#include "common/banned.h"

#define BDB_HASH_MAGIC	0x00061561u
#define BDB_BTREE_MAGIC 0x00053162u
#define BDB_PAGE_HDR	26

enum {
	BDB_P_HASH_UNSORTED = 2,
	BDB_P_OVERFLOW = 7,
	BDB_P_HASHMETA = 8,
	BDB_P_HASH = 13,
};
enum { BDB_H_KEYDATA = 1, BDB_H_OFFPAGE = 3 };

struct bdb {
	struct rpmdb_walk *w;
	const unsigned char *p;
	size_t len;
	uint32_t psize, npages;
	bool be;
	unsigned char *used; /* overflow pages already read, one bit each */
	struct buf val;	     /* the value being read */
	bool done;	     /* the callback asked to stop */
};

static int bdb_stop(struct bdb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records why the walk stopped early; returns -1. */
static int bdb_stop(struct bdb *b, const char *fmt, ...)
{
	int n = snprintf(b->w->why, sizeof(b->w->why), "read stopped early: ");
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->w->why + n, sizeof(b->w->why) - (size_t)n, fmt, ap);
	va_end(ap);
	b->w->stopped = true;
	return -1;
}

static uint32_t bdb_u32(const struct bdb *b, const unsigned char *p)
{
	if (b->be)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static uint16_t bdb_u16(const struct bdb *b, const unsigned char *p)
{
	return b->be ? (uint16_t)(p[0] << 8 | p[1])
		     : (uint16_t)(p[1] << 8 | p[0]);
}

static const unsigned char *bdb_page(const struct bdb *b, uint32_t n)
{
	return b->p + (size_t)n * b->psize;
}

/* Copies the overflow chain from pgno (tlen bytes) into b->val. */
static int bdb_overflow(struct bdb *b, uint32_t pgno, uint32_t tlen)
{
	buf_reset(&b->val);
	if (tlen > DET_MAX_RPM_BLOB || tlen > b->len)
		return bdb_stop(b, "value of %u bytes is too large", tlen);
	while (b->val.len < tlen) {
		const unsigned char *pg;
		uint32_t n;

		if (!pgno || pgno >= b->npages)
			return bdb_stop(b, "overflow chain broken at page %u",
					pgno);
		if (b->used[pgno / 8] & (1u << (pgno % 8)))
			return bdb_stop(b, "overflow page %u reached twice",
					pgno);
		b->used[pgno / 8] |= (unsigned char)(1u << (pgno % 8));
		pg = bdb_page(b, pgno);
		n = bdb_u16(b, pg + 22);
		if (pg[25] != BDB_P_OVERFLOW || !n ||
		    n > b->psize - BDB_PAGE_HDR || n > tlen - b->val.len)
			return bdb_stop(b,
					"page %u is not a valid overflow page",
					pgno);
		buf_add(&b->val, pg + BDB_PAGE_HDR, n);
		pgno = bdb_u32(b, pg + 16);
	}
	return 0;
}

/* The values of one hash page; -1 (b->w->why set) if it is malformed. */
static int bdb_hash_page(struct bdb *b, uint32_t n)
{
	const unsigned char *pg = bdb_page(b, n);
	uint16_t entries = bdb_u16(b, pg + 20);
	uint32_t prev = b->psize;

	if (entries > (b->psize - BDB_PAGE_HDR) / 2 || entries % 2)
		return bdb_stop(b, "page %u: %u entries", n, entries);
	for (uint16_t i = 0; i < entries && !b->done; i += 2) {
		uint16_t ko = bdb_u16(b, pg + BDB_PAGE_HDR + 2 * i);
		uint16_t vo = bdb_u16(b, pg + BDB_PAGE_HDR + 2 * i + 2);
		const unsigned char *k = pg + ko, *v = pg + vo;

		/* Items are laid out from the page's end down: each one
		 * ends where the one before it starts. */
		if (ko < BDB_PAGE_HDR + 2 * entries || ko >= prev ||
		    vo < BDB_PAGE_HDR + 2 * entries || vo >= ko)
			return bdb_stop(b, "page %u: item offsets out of order",
					n);
		prev = vo;
		if (k[0] != BDB_H_KEYDATA || (uint32_t)ko + 5 > b->psize) {
			b->w->bad++;
			continue;
		}
		if (bdb_u32(b, k + 1) == 0)
			continue; /* the next-free-number record */
		if (v[0] == BDB_H_OFFPAGE && vo + 12u <= ko) {
			if (bdb_overflow(b, bdb_u32(b, v + 4),
					 bdb_u32(b, v + 8)))
				return -1;
		} else if (v[0] == BDB_H_KEYDATA) {
			buf_reset(&b->val);
			buf_add(&b->val, v + 1, (size_t)(ko - vo - 1));
		} else {
			b->w->bad++; /* duplicates: rpm never writes them */
			continue;
		}
		b->done = !b->w->fn(b->w->arg, b->val.buf, b->val.len);
	}
	return 0;
}

/* Checks the meta page; NULL if it is a hash database we can read. */
static const char *bdb_meta(struct bdb *b)
{
	uint32_t magic;

	if (b->len < 512)
		return "too short for a BerkeleyDB file";
	magic = bdb_u32(b, b->p + 12);
	if (magic != BDB_HASH_MAGIC && magic != BDB_BTREE_MAGIC) {
		b->be = true;
		magic = bdb_u32(b, b->p + 12);
	}
	if (magic == BDB_BTREE_MAGIC)
		return "a BerkeleyDB btree (an rpm index), not Packages";
	if (magic != BDB_HASH_MAGIC)
		return "not a BerkeleyDB hash database";
	b->psize = bdb_u32(b, b->p + 20);
	if (b->psize < 512 || b->psize > 65536 || (b->psize & (b->psize - 1)))
		return "bad page size";
	if (b->p[25] != BDB_P_HASHMETA)
		return "page 0 is not a hash meta page";
	/* A trailing partial page is ignored; pages past the end are
	 * rejected where they are named. */
	b->npages = (uint32_t)(b->len / b->psize);
	return NULL;
}

int rpmdb_bdb_walk(const struct det_file *f, struct rpmdb_walk *w)
{
	struct bdb b = {.w = w,
			.p = (const unsigned char *)f->data,
			.len = f->len,
			.val = BUF_INIT};
	const char *why;
	int ret = -1;

	why = bdb_meta(&b);
	if (why) {
		snprintf(w->why, sizeof(w->why),
			 "not analysed: not an rpm BerkeleyDB database (%s)",
			 why);
		goto out;
	}
	b.used = xcalloc((size_t)b.npages / 8 + 1, 1);
	for (uint32_t n = 1; n < b.npages && !b.done; n++) {
		unsigned char type = bdb_page(&b, n)[25];

		if (meter_expired(f->meter, f->layer)) {
			bdb_stop(&b, "it took too long");
			goto out;
		}
		if ((type == BDB_P_HASH || type == BDB_P_HASH_UNSORTED) &&
		    bdb_hash_page(&b, n))
			goto out;
	}
	ret = 0;
out:
	free(b.used);
	buf_release(&b.val);
	return ret;
}
