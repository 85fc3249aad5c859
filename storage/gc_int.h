/* gc_int.h: what gc.c, gc_untagged.c, fsck.c and maint_cmd.c share.
 * Nothing outside storage/ includes this. */
#ifndef STORAGE_GC_INT_H
#define STORAGE_GC_INT_H

#include "storage/storage_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A set of strings (an open-addressing hash table); it copies what it is
 * given.  stor_sset_free(NULL) does nothing. */
struct stor_sset;
struct stor_sset *stor_sset_new(void);
void stor_sset_free(struct stor_sset *s);
/* Adds s; returns true if it was not there yet. */
bool stor_sset_add(struct stor_sset *set, const char *s);
bool stor_sset_has(const struct stor_sset *set, const char *s);

/* "repo@alg:hex", the key of a manifest in a set. */
#define STOR_MF_KEY_MAX (256 + DIGEST_STR_MAX)
const char *stor_mf_key(const char *repo, const struct digest *dg,
			char out[STOR_MF_KEY_MAX]);

/* One gc run. */
struct stor_gc_run {
	struct stor *st;
	struct stor_blobs *b;
	struct stor_meta *m;
	const struct stor_gc_opts *o;
	struct stor_gc_stats *s;
	int64_t now;
	int64_t cutoff; /* now - grace */
	/* Manifests a dry run would have deleted (their refs do not keep
	 * blobs); NULL when none. */
	struct stor_sset *gone;
	/* The sweep's candidates: blobs found unreferenced on the walk. */
	struct stor_gc_cand *cand;
	size_t ncand, acand;
};

struct stor_gc_cand {
	struct digest dg;
	int64_t size;
};

void stor_gc_note(struct stor_gc_run *g, const char *kind, const char *name,
		  int64_t size);
/* Whether the caller asked the run to end early. */
bool stor_gc_stopping(const struct stor_gc_run *g);
/* Deletes (or with dry_run, collects into g->gone) the manifests that no
 * tag reaches and that are older than the grace period. */
int stor_gc_untagged(struct stor_gc_run *g, struct err *e);

#endif
