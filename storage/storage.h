/* storage.h: blobs on disk, metadata in sqlite3.
 *
 * Blobs are content-addressed files shared by all repositories
 * (DIR/blobs/<alg>/<2 hex>/<hex>); a repository sees a blob only once it is
 * linked to it (pushed, mounted, or referenced by a manifest pushed there).
 * A blob file exists only if its content matches its name: uploads are
 * written under DIR/uploads/, hashed while written, fsynced and renamed into
 * place.  Metadata (repositories, blob links, manifests, tags, referrers,
 * uploads, scan jobs) lives in DIR/meta.db (WAL).
 *
 * Behind this header sit two small vtables (storage_int.h): one for blob
 * bytes, one for metadata, so another backend can replace either.
 *
 * All functions are thread-safe.  Names and tags are validated by the caller
 * (registry/), digests arrive parsed.  Failures use the OCI codes of err.h
 * where one fits (ERR_BLOB_UNKNOWN, ERR_MANIFEST_UNKNOWN, ERR_NAME_UNKNOWN,
 * ERR_BLOB_UPLOAD_UNKNOWN, ERR_DIGEST_INVALID, ERR_BUSY...), else ERR_IO /
 * ERR_NOSPACE / ERR_DB.
 */
#ifndef STORAGE_STORAGE_H
#define STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/err.h"

struct stor;
struct stor_upload;

/* Opens (creating if needed) the store under dir. */
struct stor *stor_open(const char *dir, struct err *e);
/* Closes the database and any cached upload handles (their data stays on
 * disk, resumable).  stor_free(NULL) does nothing. */
void stor_free(struct stor *st);
const char *stor_dir(const struct stor *st);

/* --- Blobs ------------------------------------------------------------ */

/* Size of a blob linked to repo (repo NULL: any blob in the store).
 * ERR_BLOB_UNKNOWN if absent. */
int stor_blob_stat(struct stor *st, const char *repo, const struct digest *dg,
		   int64_t *size_out, struct err *e);
/* Opens a blob for reading; the caller owns *fd_out.  Same lookup rules as
 * stor_blob_stat(). */
int stor_blob_open(struct stor *st, const char *repo, const struct digest *dg,
		   int *fd_out, int64_t *size_out, struct err *e);
/* Links an existing blob to repo (cross-repository mount).
 * ERR_BLOB_UNKNOWN if the store does not have it. */
int stor_blob_link(struct stor *st, const char *repo, const struct digest *dg,
		   struct err *e);
/* Unlinks a blob from repo (DELETE).  The file itself is removed by gc once
 * nothing links to it.  ERR_BLOB_UNKNOWN if it was not linked. */
int stor_blob_unlink(struct stor *st, const char *repo,
		     const struct digest *dg, struct err *e);

/* --- Uploads ------------------------------------------------------------ */

#define STOR_UPLOAD_ID_MAX 40 /* a UUID and its NUL, with room to spare */

/* Starts an upload session for repo; writes its id into id_out. */
int stor_upload_start(struct stor *st, const char *repo,
		      char id_out[STOR_UPLOAD_ID_MAX], struct err *e);
/* Takes the upload for exclusive use (a second taker gets ERR_BUSY).
 * Sessions survive restarts: after one, the data on disk is re-hashed and
 * the upload resumes where that data ends.  ERR_BLOB_UPLOAD_UNKNOWN if no
 * such session exists for repo. */
int stor_upload_take(struct stor *st, const char *repo, const char *id,
		     struct stor_upload **out, struct err *e);
/* Bytes received so far. */
int64_t stor_upload_offset(const struct stor_upload *u);
const char *stor_upload_id(const struct stor_upload *u);
/* Appends to the upload (and to its running hash). */
int stor_upload_write(struct stor_upload *u, const void *data, size_t len,
		      struct err *e);
/* Gives the upload back; everything written stays, resumable.  The handle
 * is no longer the caller's. */
void stor_upload_release(struct stor_upload *u);
/* Completes the upload: checks the content against expected, fsyncs,
 * renames the blob into place and links it to the repository.  On a
 * mismatch fails with ERR_DIGEST_INVALID and deletes the upload.  Either
 * way the handle is consumed. */
int stor_upload_finish(struct stor_upload *u, const struct digest *expected,
		       struct err *e);
/* Deletes an upload session and its data (DELETE /blobs/uploads/<id>). */
int stor_upload_cancel(struct stor *st, const char *repo, const char *id,
		       struct err *e);

/* --- Manifests, tags, referrers ----------------------------------------- */

struct stor_manifest_put {
	const char *repo;
	const char *tag;		/* NULL when pushed by digest */
	const struct digest *digest;	/* of body, computed by the caller */
	const char *media_type;
	const void *body;
	size_t len;
	const struct digest *subject;	/* NULL if the manifest has none */
	/* For the referrers list: artifactType, else config.mediaType. */
	const char *artifact_type;
	const char *annotations_json;	/* the "annotations" object, or NULL */
	const struct digest *refs;	/* blobs and child manifests */
	size_t nrefs;
	bool enqueue_scan;		/* add a scan job in the same commit */
};

struct stor_manifest {
	struct digest digest;
	char *media_type;
	char *body;
	size_t len;
};

/* A descriptor of a stored manifest, as the referrers list needs it. */
struct stor_desc {
	struct digest digest;
	char *media_type;
	int64_t size;
	char *artifact_type;	/* or NULL */
	char *annotations_json; /* or NULL */
};

/* Stores the manifest body and its rows, records its refs (the caller has
 * checked they exist in the repository) and points the tag at it, in one
 * transaction.  The body must hash to m->digest (ERR_DIGEST_INVALID). */
int stor_manifest_put(struct stor *st, const struct stor_manifest_put *m,
		      struct err *e);
/* By tag (dg NULL) or by digest (tag NULL).  ERR_MANIFEST_UNKNOWN if absent.
 * The caller frees *out with stor_manifest_free(). */
int stor_manifest_get(struct stor *st, const char *repo, const char *tag,
		      const struct digest *dg, struct stor_manifest **out,
		      struct err *e);
void stor_manifest_free(struct stor_manifest *m);
bool stor_manifest_exists(struct stor *st, const char *repo,
			  const struct digest *dg);
/* Deletes the manifest from repo with every tag that points at it.
 * ERR_MANIFEST_UNKNOWN if absent. */
int stor_manifest_delete(struct stor *st, const char *repo,
			 const struct digest *dg, struct err *e);
/* Deletes one tag; the manifest stays.  ERR_MANIFEST_UNKNOWN if absent. */
int stor_tag_delete(struct stor *st, const char *repo, const char *tag,
		    struct err *e);

/* Tags of repo in lexical order, after `last` (NULL: from the start), at
 * most n (n < 0: all).  *more says whether more follow.  ERR_NAME_UNKNOWN
 * for a repository the store has never seen.  Free with stor_strv_free(). */
int stor_tags_list(struct stor *st, const char *repo, const char *last,
		   long n, char ***out, size_t *count, bool *more,
		   struct err *e);
/* Repositories in lexical order, with the same paging. */
int stor_catalog(struct stor *st, const char *last, long n, char ***out,
		 size_t *count, bool *more, struct err *e);
void stor_strv_free(char **v, size_t n);

/* Manifests in repo whose subject is dg, optionally only those of one
 * artifact type.  An unknown subject gives an empty list.  Free with
 * stor_desc_free(). */
int stor_referrers(struct stor *st, const char *repo, const struct digest *dg,
		   const char *artifact_type, struct stor_desc **out,
		   size_t *count, struct err *e);
void stor_desc_free(struct stor_desc *d, size_t count);

#endif
