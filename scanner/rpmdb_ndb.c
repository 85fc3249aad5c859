/* rpmdb_ndb.c: the rpm database in its NDB form (Packages.db: SUSE and
 * openSUSE 15, rpm's "ndb" backend).
 *
 * Read by hand (see rpmdb_bdb.c): no Debian library reads it, Debian's
 * librpm being built without the ndb backend; the format is two tables.  All
 * integers are little-endian u32.  Bytes 0..31 are the header: 'RpmP', version
 * 0, generation, slot_npages, next_pkgidx.  The rest of the first slot_npages
 * 4096-byte pages are 16-byte slots: 'Slot', pkgidx (0: free), blkoff, blkcnt,
 * in 16-byte blocks.  A blob area starts with 'BlbS', pkgidx (the slot's),
 * generation, bloblen, then the rpm header blob.
 *
 * Blob areas of a sound file never overlap, so the bytes all slots name
 * together may not exceed the file: that bounds the work of any input.
 */
#include "scanner/detect_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scanner/meter_int.h"
#include "common/banned.h"

#define NDB_MAGIC      0x506d7052u /* 'RpmP' */
#define NDB_SLOT_MAGIC 0x746f6c53u /* 'Slot' */
#define NDB_BLOB_MAGIC 0x53626c42u /* 'BlbS' */
#define NDB_PAGE       4096u
#define NDB_BLK	       16u
#define NDB_MAX_PAGES  4096u /* slot pages: a million packages */

static uint32_t ndb_u32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

/* Hands the blob of one slot to w->fn; -1 with w->why set if the file
 * is malformed.  *total: the bytes of the blobs seen so far. */
static int ndb_slot(const struct det_file *f, const unsigned char *s,
		    size_t data_start, size_t *total, struct rpmdb_walk *w,
		    bool *done)
{
	const unsigned char *p = (const unsigned char *)f->data;
	uint32_t idx = ndb_u32(s + 4);
	uint64_t off = (uint64_t)ndb_u32(s + 8) * NDB_BLK;
	uint64_t len = (uint64_t)ndb_u32(s + 12) * NDB_BLK;
	uint32_t bloblen;

	if (ndb_u32(s) != NDB_SLOT_MAGIC) {
		snprintf(w->why, sizeof(w->why),
			 "read stopped early: bad slot magic");
		return -1;
	}
	if (!idx)
		return 0; /* a free slot */
	if (off < data_start || len < NDB_BLK || off + len > f->len ||
	    len > f->len - *total) {
		snprintf(w->why, sizeof(w->why),
			 "read stopped early: package %u: blob outside the "
			 "file or overlapping others",
			 idx);
		return -1;
	}
	*total += len;
	p += off;
	bloblen = ndb_u32(p + 12);
	if (ndb_u32(p) != NDB_BLOB_MAGIC || ndb_u32(p + 4) != idx ||
	    bloblen > len - NDB_BLK || bloblen > DET_MAX_RPM_BLOB) {
		w->bad++;
		return 0;
	}
	*done = !w->fn(w->arg, p + NDB_BLK, bloblen);
	return 0;
}

int rpmdb_ndb_walk(const struct det_file *f, struct rpmdb_walk *w)
{
	const unsigned char *p = (const unsigned char *)f->data;
	size_t total = 0, end;
	bool done = false;
	uint32_t npages;

	if (f->len < 32 || ndb_u32(p) != NDB_MAGIC || ndb_u32(p + 4) != 0) {
		snprintf(w->why, sizeof(w->why),
			 "not analysed: not an rpm NDB database");
		return -1;
	}
	npages = ndb_u32(p + 12);
	if (!npages || npages > NDB_MAX_PAGES ||
	    (size_t)npages * NDB_PAGE > f->len) {
		snprintf(w->why, sizeof(w->why),
			 "not analysed: NDB slot table of %u pages does not "
			 "fit",
			 npages);
		return -1;
	}
	end = (size_t)npages * NDB_PAGE;
	/* The header takes the first two slot positions. */
	for (size_t o = 32; o < end && !done; o += 16) {
		if ((o & (NDB_PAGE - 1)) == 0 &&
		    meter_expired(f->meter, f->layer)) {
			snprintf(w->why, sizeof(w->why),
				 "read stopped early: it took too long");
			w->stopped = true;
			return -1;
		}
		if (ndb_slot(f, p + o, end, &total, w, &done)) {
			w->stopped = true;
			return -1;
		}
	}
	return 0;
}
