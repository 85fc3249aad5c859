/* storage_int.h: the two backends behind storage.h.
 *
 * storage.c keeps the public API, the upload handle table and the order of
 * operations that makes a push crash-safe; the backends only move bytes
 * (struct stor_blobs) or rows (struct stor_meta).  Each backend embeds its
 * base struct first and fills in `ops`; every operation must be callable
 * from several threads at once.  Strings and digests are borrowed for the
 * call; errors go through err_set() as in storage.h.
 */
#ifndef STORAGE_STORAGE_INT_H
#define STORAGE_STORAGE_INT_H

#include "storage/storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of an upload id: a UUID in its 8-4-4-4-12 text form. */
#define STOR_UUID_LEN 36

/* Idle upload handles kept with their running hash; older ones are
 * dropped and re-hashed from their data when taken again. */
#define STOR_IDLE_MAX 256

/* Writes a random (version 4) UUID and its NUL into out. */
int stor_uuid(char out[STOR_UUID_LEN + 1], struct err *e);
/* Whether id looks like one of ours; checked before any path is built. */
bool stor_upload_id_valid(const char *id);

/* --- Blob bytes (filesystem now; an object store later) ---------------- */

struct stor_blobs;
/* The data of one upload, open for appending while a request holds it. */
struct stor_updata;

struct stor_blob_ops {
	void (*free)(struct stor_blobs *b);
	/* Size of the blob; ERR_BLOB_UNKNOWN if the store lacks it. */
	int (*stat)(struct stor_blobs *b, const struct digest *dg,
		    int64_t *size_out, struct err *e);
	/* A read-only fd on the blob, owned by the caller. */
	int (*open)(struct stor_blobs *b, const struct digest *dg, int *fd_out,
		    int64_t *size_out, struct err *e);
	/* Stores a small blob whose content the caller verified. */
	int (*put)(struct stor_blobs *b, const struct digest *dg,
		   const void *data, size_t len, struct err *e);

	/* Creates empty data for a new upload. */
	int (*up_create)(struct stor_blobs *b, const char *id, struct err *e);
	/* Opens the data for appending; *size_out is its current length.
	 * ERR_BLOB_UPLOAD_UNKNOWN if there is none. */
	int (*up_open)(struct stor_blobs *b, const char *id,
		       struct stor_updata **out, int64_t *size_out,
		       struct err *e);
	/* Appends all of data, or fails leaving the data as it was. */
	int (*up_append)(struct stor_updata *d, const void *data, size_t len,
			 struct err *e);
	void (*up_close)(struct stor_updata *d);
	/* Feeds the whole data to h; *size_out is its length. */
	int (*up_hash)(struct stor_blobs *b, const char *id, struct hasher *h,
		       int64_t *size_out, struct err *e);
	/* Makes the (verified) data durable and visible as blob dg; an
	 * existing blob dg is kept.  The upload's data stays until
	 * up_remove(). */
	int (*up_commit)(struct stor_blobs *b, const char *id,
			 struct stor_updata *d, const struct digest *dg,
			 struct err *e);
	/* Deletes the data; absent data is not an error. */
	int (*up_remove)(struct stor_blobs *b, const char *id, struct err *e);
};

struct stor_blobs {
	const struct stor_blob_ops *ops;
};

/* The filesystem backend: DIR/blobs/<alg>/<xx>/<hex>, DIR/uploads/<id>. */
struct stor_blobs *stor_fs_new(const char *dir, struct err *e);

/* --- Metadata (sqlite3 now; PostgreSQL later) ---------------------------- */

struct stor_meta;

struct stor_meta_ops {
	void (*free)(struct stor_meta *m);

	int (*blob_linked)(struct stor_meta *m, const char *repo,
			   const struct digest *dg, bool *out, struct err *e);
	/* Links dg to repo, creating the repository if new. */
	int (*blob_link)(struct stor_meta *m, const char *repo,
			 const struct digest *dg, struct err *e);
	/* ERR_BLOB_UNKNOWN if it was not linked. */
	int (*blob_unlink)(struct stor_meta *m, const char *repo,
			   const struct digest *dg, struct err *e);

	/* Records a new upload, creating the repository if new. */
	int (*up_add)(struct stor_meta *m, const char *repo, const char *id,
		      struct err *e);
	/* ERR_BLOB_UPLOAD_UNKNOWN unless upload id belongs to repo. */
	int (*up_find)(struct stor_meta *m, const char *repo, const char *id,
		       struct err *e);
	/* Notes how far the upload got (for status and stale-upload gc). */
	int (*up_touch)(struct stor_meta *m, const char *id, int64_t offset,
			struct err *e);
	/* In one transaction: links dg to repo, forgets the upload. */
	int (*up_done)(struct stor_meta *m, const char *repo, const char *id,
		       const struct digest *dg, struct err *e);
	/* ERR_BLOB_UPLOAD_UNKNOWN unless upload id belongs to repo. */
	int (*up_remove)(struct stor_meta *m, const char *repo, const char *id,
			 struct err *e);

	/* The rows of stor_manifest_put(), in one transaction. */
	int (*mf_put)(struct stor_meta *m, const struct stor_manifest_put *mp,
		      struct err *e);
	/* By tag or by digest; fills *dg_out, *media_type (caller frees)
	 * and *size.  ERR_MANIFEST_UNKNOWN if absent. */
	int (*mf_find)(struct stor_meta *m, const char *repo, const char *tag,
		       const struct digest *dg, struct digest *dg_out,
		       char **media_type, int64_t *size, struct err *e);
	int (*mf_delete)(struct stor_meta *m, const char *repo,
			 const struct digest *dg, struct err *e);
	int (*tag_delete)(struct stor_meta *m, const char *repo,
			  const char *tag, struct err *e);
	int (*tags_list)(struct stor_meta *m, const char *repo,
			 const char *last, long n, char ***out, size_t *count,
			 bool *more, struct err *e);
	int (*catalog)(struct stor_meta *m, const char *last, long n,
		       char ***out, size_t *count, bool *more, struct err *e);
	int (*referrers)(struct stor_meta *m, const char *repo,
			 const struct digest *dg, const char *artifact_type,
			 struct stor_desc **out, size_t *count,
			 struct err *e);
};

struct stor_meta {
	const struct stor_meta_ops *ops;
};

/* The sqlite3 backend: DIR/meta.db. */
struct stor_meta *stor_sqlite_new(const char *dir, struct err *e);

#endif
