/* storage_int.h: the backends behind storage.h.
 *
 * storage.c keeps the public API, the upload handle table and the order of
 * operations that makes a push crash-safe; the backends only move bytes
 * (struct stor_blobs) or rows (struct stor_meta).  A backend carries one
 * vtable per section of storage.h it serves, so that each section reads in
 * one place:
 *
 *	section			vtable			backend
 *	Blobs, Uploads		stor_blob_ops		blob_fs.c
 *	Blobs, Uploads,		stor_meta_ops		meta_sqlite.c
 *	Manifests, tags...
 *	Scan jobs, reports	stor_scanq_ops		scan_sqlite.c
 *	Maintenance		stor_maint_ops		maint_sqlite.c
 *				stor_blob_maint_ops	blob_fs_maint.c
 *
 * Each backend embeds its base struct first and fills in its vtables;
 * every operation must be callable from several threads at once.  Strings
 * and digests are borrowed for the call; errors go through err_set() as
 * in storage.h.
 */
#ifndef STORAGE_STORAGE_INT_H
#define STORAGE_STORAGE_INT_H

#include "storage/storage.h"
#include "common/buf.h"

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
struct stor_meta;
/* The data of one upload, open for appending while a request holds it. */
struct stor_updata;
struct stor_blob_stage;

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
	/* stor_blob_url()'s URL (may be NULL: the backend has none). */
	int (*url)(struct stor_blobs *b, const struct digest *dg,
		   int64_t expires_s, char **url_out, struct err *e);
	/* put() for several blobs, durable together (NULL: one by one). */
	int (*put_many)(struct stor_blobs *b, const struct stor_blob_data *v,
			size_t n, struct err *e);
	/* put_many() over several calls with one sync: stage() writes v's
	 * blobs under no name yet (*sp made on first use); stage_end()
	 * makes every staged blob durable and named if publish, else drops
	 * them, and frees s.  Both NULL: put_many() at each stage. */
	int (*stage)(struct stor_blobs *b, const struct stor_blob_data *v,
		     size_t n, struct stor_blob_stage **sp, struct err *e);
	int (*stage_end)(struct stor_blobs *b, struct stor_blob_stage *s,
			 bool publish, struct err *e);

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

	/* A read-only fd on an upload's data, which may still grow (a
	 * pull-through fetch that other clients follow); the caller owns
	 * it.  May be NULL: stor_upload_open_read() says ERR_UNSUPPORTED. */
	int (*up_reader)(struct stor_blobs *b, const char *id, int *fd_out,
			 struct err *e);

	/* Saved hash states of uploads (storage.c writes and checks their
	 * bytes; up_remove() deletes an upload's).  All four may be NULL:
	 * states are then not kept.  save replaces id's state; load reads
	 * at most cap bytes into buf (1: there is none).  open, at the start
	 * of the store owner's run, keeps the states if the last owner ended
	 * with close, else deletes them (after a crash a state may be ahead
	 * of the data that reached the disk); close makes data and states
	 * durable first. */
	int (*up_state_save)(struct stor_blobs *b, const char *id,
			     const void *data, size_t len, struct err *e);
	int (*up_state_load)(struct stor_blobs *b, const char *id, void *buf,
			     size_t cap, size_t *len, struct err *e);
	int (*up_state_open)(struct stor_blobs *b, struct err *e);
	int (*up_state_close)(struct stor_blobs *b, struct err *e);
};

struct stor_blobs {
	const struct stor_blob_ops *ops;
	const struct stor_blob_maint_ops *maint; /* see Maintenance below */
	/* Upload data is shared between nodes: storage.c saves the hash
	 * state at every release, not only on eviction. */
	bool shared;
	/* Where quarantine() moves things, for log lines; owned by the
	 * backend (NULL: DIR/quarantine/). */
	char *quarantine_at;
	/* stat() and open() may wait on the network (stor_blob_read_blocks()).
	 */
	bool read_blocks;
};

/* The filesystem backend: DIR/blobs/<alg>/<xx>/<hex>, DIR/uploads/<id>. */
struct stor_blobs *stor_fs_new(const char *dir, struct err *e);
/* The S3 backend (blob_s3.c): objects in a bucket, scratch under dir,
 * upload states in m's upload rows (m outlives the backend's use). */
struct stor_blobs *stor_s3_new(const char *dir, const struct stor_s3_opts *o,
			       struct stor_meta *m, struct err *e);

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

	/* Records a new upload, creating the repository if new; with lim,
	 * in the same transaction, ERR_TOOMANYREQUESTS if that would pass
	 * one of its limits. */
	int (*up_add)(struct stor_meta *m, const char *repo, const char *id,
		      const struct stor_upload_limits *lim, struct err *e);
	/* Records the size of blob dg (its content verified). */
	int (*blob_size_put)(struct stor_meta *m, const struct digest *dg,
			     int64_t size, struct err *e);
	/* The recorded size of dg (a blob's, else a manifest's); -1 when
	 * none is known (a blob stored before sizes were recorded). */
	int (*blob_size)(struct stor_meta *m, const struct digest *dg,
			 int64_t *size, struct err *e);
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

	/* The blob backend's state of upload id (an S3 multipart upload and
	 * the running hash), kept in its row so that any node can go on;
	 * deleted with the row.  put: ERR_BLOB_UPLOAD_UNKNOWN without a row;
	 * get appends it to out (bounded by out's cap), 1 if there is none.
	 * Both may be NULL (a backend without them keeps no state). */
	int (*up_state_put)(struct stor_meta *m, const char *id,
			    const char *state, struct err *e);
	int (*up_state_get)(struct stor_meta *m, const char *id,
			    struct buf *out, struct err *e);

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
			 struct stor_desc **out, size_t *count, struct err *e);

	/* stor_tag_times(); *out is the caller's. */
	int (*tag_times)(struct stor_meta *m, const char *repo,
			 struct stor_tag_time **out, size_t *count,
			 struct err *e);
	/* stor_tag_page(); *out is the caller's. */
	int (*tag_page)(struct stor_meta *m, const char *repo, const char *last,
			long n, struct stor_tag_time **out, size_t *count,
			bool *more, size_t *total, struct err *e);
	/* The repositories that have manifest dg, in lexical order. */
	int (*mf_repos)(struct stor_meta *m, const struct digest *dg,
			char ***out, size_t *count, struct err *e);

	/* stor_meta_stats(); NULL: the backend does not count. */
	int (*stats)(struct stor_meta *m, bool with_blobs,
		     struct stor_meta_stats *out, struct err *e);
};

struct stor_meta {
	const struct stor_meta_ops *ops;
	const struct stor_scanq_ops *scanq;
	const struct stor_maint_ops *maint;
	const struct stor_outbox_ops *outbox; /* NULL: no events */
};

/* The sqlite3 backend: DIR/meta.db. */
struct stor_meta *stor_sqlite_new(const char *dir, struct err *e);
/* The PostgreSQL backend (pg.c): a postgres:// URL or a libpq conninfo. */
struct stor_meta *stor_pg_new(const char *conninfo, struct err *e);
/* Whether a --meta value names PostgreSQL (else it is not valid). */
bool stor_meta_is_pg(const char *url);

/* The backends of an open store (for scan_store.c and maintenance). */
struct stor_blobs *stor_blobs_of(struct stor *st);
struct stor_meta *stor_meta_of(struct stor *st);
/* When the metadata was last written before this process opened it (the
 * newer mtime of meta.db and meta.db-wal; 0: unknown).  fsck compares it
 * with the blobs' times. */
int64_t stor_meta_written(const struct stor *st);
/* Reads exactly len bytes from the start of fd (what: the file, for
 * errors). */
int stor_read_full(int fd, char *p, size_t len, const char *what,
		   struct err *e);
/* stor_blob_hash()'s: told of the n bytes just read (0 before the
 * first read), before each read; false stops the hash. */
typedef bool (*stor_hash_step_fn)(void *arg, size_t n);

enum stor_hash_result {
	STOR_HASH_OK,	      /* *got and *size are the blob's */
	STOR_HASH_GONE,	      /* no such blob (gc freed it meanwhile) */
	STOR_HASH_STOPPED,    /* step said so */
	STOR_HASH_UNREADABLE, /* damage: why says what happened */
};

/* Hashes blob dg of b (of dg's algorithm) into *got and its length into
 * *size, reading through chunk (cap bytes); step may be NULL.  An enum
 * stor_hash_result, or -1 when the store fails (e). */
int stor_blob_hash(struct stor_blobs *b, const struct digest *dg, char *chunk,
		   size_t cap, stor_hash_step_fn step, void *arg,
		   struct digest *got, int64_t *size, char *why, size_t why_len,
		   struct err *e);
/* A blob found damaged (serve's size check, the scrub): moved to
 * DIR/quarantine/ (so it is never served and a push can store it again),
 * counted and logged with why. */
void stor_blob_damaged(struct stor *st, const struct digest *dg,
		       const char *why);

/* --- Scan queue (scan_sqlite.c) ------------------------------------------
 *
 * As the stor_scan_*() functions of storage.h, which only forward here.
 * It shares the metadata's database: a manifest PUT adds its scan job in
 * its own transaction (stor_manifest_put.enqueue_scan). */

struct stor_scanq_ops {
	int (*scan_enqueue)(struct stor_meta *m, const char *repo,
			    const struct digest *dg, bool if_absent,
			    struct err *e);
	int (*scan_claim)(struct stor_meta *m, int64_t lease_s,
			  struct stor_scan_job *job, struct err *e);
	int (*scan_recover)(struct stor_meta *m, int max_attempts, size_t *n,
			    struct err *e);
	int (*scan_renew)(struct stor_meta *m, int64_t lease_s, size_t *n,
			  struct err *e);
	/* r->report_digest is set: the report's blob is in place. */
	/* job NULL: whatever the job's state; else only while its claim
	 * runs it. */
	int (*scan_result_put)(struct stor_meta *m, const struct digest *dg,
			       const struct stor_scan_job *job,
			       const struct stor_scan_result *r, struct err *e);
	int (*scan_checked)(struct stor_meta *m,
			    const struct stor_scan_job *job,
			    const char *db_version, struct err *e);
	int (*scan_done)(struct stor_meta *m, const struct stor_scan_job *job,
			 struct err *e);
	int (*scan_fail)(struct stor_meta *m, const struct stor_scan_job *job,
			 const char *why, int64_t retry_at, struct err *e);
	int (*scan_wait)(struct stor_meta *m, const struct stor_scan_job *job,
			 const struct digest *children, size_t n, bool *ready,
			 struct err *e);
	/* stor_tag_scans(); *out is the caller's. */
	int (*tag_scans)(struct stor_meta *m, const char *repo,
			 struct stor_tag_scan **out, size_t *count,
			 struct err *e);
	int (*scan_get)(struct stor_meta *m, const struct digest *dg,
			bool with_report, bool with_findings,
			struct stor_scan *out, struct err *e);
	int (*scan_forget)(struct stor_meta *m, const struct digest *dg,
			   struct err *e);
	int (*scan_rearm)(struct stor_meta *m, const char *db_version,
			  size_t *n, struct err *e);
	int (*scan_stats)(struct stor_meta *m, struct stor_scan_stats *out,
			  struct err *e);
	/* stor_scan_failures(); *out is the caller's. */
	int (*scan_failures)(struct stor_meta *m, size_t max,
			     struct stor_scan_failure **out, size_t *count,
			     struct err *e);
	/* Claims up to max re-match jobs in one statement. */
	int (*scan_claim_rematch)(struct stor_meta *m, int64_t lease_s,
				  struct stor_scan_job *jobs, size_t max,
				  size_t *n, struct err *e);
	int (*scan_push_waiting)(struct stor_meta *m, bool *out, struct err *e);
	int (*scan_unclaim)(struct stor_meta *m,
			    const struct stor_scan_job *jobs, size_t n,
			    struct err *e);
	/* The rows of stor_scan_finish_many(); the blobs are in place.
	 * With next, the claim of stor_scan_stage_end() too. */
	int (*scan_finish_many)(struct stor_meta *m,
				const struct stor_scan_outcome *v, size_t n,
				struct stor_scan_next *next, struct err *e);
	/* Calls fn (any thread) when a scan ends on another node; NULL fn
	 * stops the calls.  NULL for a backend only one process uses. */
	void (*on_final)(struct stor_meta *m,
			 void (*fn)(void *arg, const struct digest *dg),
			 void *arg);
};

/* --- Events outbox (outbox_sqlite.c) ------------------------------------
 *
 * As the stor_outbox_*() and *_ev() functions of storage.h, which only
 * forward here (the manifest PUT's events go with mf_put). */

struct stor_outbox_ops {
	int (*add)(struct stor_meta *m, const struct stor_event *v, size_t n,
		   struct err *e);
	int (*mf_delete)(struct stor_meta *m, const char *repo,
			 const struct digest *dg, const struct stor_event *ev,
			 struct err *e);
	int (*tag_delete)(struct stor_meta *m, const char *repo,
			  const char *tag, const struct stor_event *ev,
			  struct err *e);
	int (*scan_finish)(struct stor_meta *m, const struct stor_scan_job *job,
			   bool fail, const char *why, int64_t retry_at,
			   const struct stor_event *v, size_t n, struct err *e);
	int (*route)(struct stor_meta *m, const char *endpoint,
		     stor_event_filter_fn fn, void *arg, size_t max, size_t *n,
		     struct err *e);
	int (*keep)(struct stor_meta *m, const char *const *keep, size_t n,
		    size_t *dropped, struct err *e);
	int (*due)(struct stor_meta *m, const char *endpoint, int64_t now_ms,
		   size_t max_repos, size_t per_repo,
		   struct stor_delivery **out, size_t *n, struct err *e);
	int (*done)(struct stor_meta *m, const char *endpoint,
		    const int64_t *seqs, size_t n, struct err *e);
	int (*retry)(struct stor_meta *m, const char *endpoint,
		     const int64_t *seqs, size_t n, int64_t next_ms, bool dead,
		     const char *error, struct err *e);
	int (*dead)(struct stor_meta *m, size_t max, struct stor_delivery **out,
		    size_t *n, struct err *e);
	int (*counts)(struct stor_meta *m, size_t *pending, size_t *dead,
		      struct err *e);
};

/* --- Maintenance: gc, fsck, scrub, quotas --------------------------------
 *
 * gc deletes a blob only while it holds the store's pin exclusively, after
 * checking again that nothing keeps it.  Whatever makes a blob reachable
 * (an upload finishing, a mount, a manifest PUT) holds the pin shared from
 * the moment it relies on the blob file until its row is committed, so gc
 * either sees the row or runs before the file is relied on.  The pin is a
 * flock(2) on DIR/gc.lock, so it works between processes too.
 *
 * Maintenance walks files and rows through callbacks that return < 0 to
 * fail, 0 to go on, > 0 to stop. */

/* Takes the pin, shared or (for gc) exclusive; *fd_out is released with
 * stor_unpin(). */
int stor_pin(struct stor *st, bool exclusive, int *fd_out, struct err *e);
void stor_unpin(int fd);

/* A file of the blob backend, as walk() and up_walk() report it.  Strings
 * are borrowed for the call. */
struct stor_file {
	const struct digest *dg; /* the blob, or NULL: a stray or upload */
	const char *name;	 /* path in the store, or upload id */
	bool tmp;		 /* a temporary file of uploads/ */
	int64_t size;
	int64_t changed; /* unix time of the last write or link */
	int64_t written; /* of the last write alone (kept by a
			  * restore that keeps times, unlike
			  * `changed`) */
};
typedef int (*stor_file_fn)(void *arg, const struct stor_file *f,
			    struct err *e);

struct stor_blob_maint_ops {
	/* Calls fn for every file among the blobs: a blob (f->dg set) or a
	 * name that is not one (a stray, f->dg NULL). */
	int (*walk)(struct stor_blobs *b, stor_file_fn fn, void *arg,
		    struct err *e);
	/* Calls fn for every upload's data (f->name the id) and every
	 * temporary file (f->tmp). */
	int (*up_walk)(struct stor_blobs *b, stor_file_fn fn, void *arg,
		       struct err *e);
	/* Size and last change of an upload's data. */
	int (*up_stat)(struct stor_blobs *b, const char *id, int64_t *size,
		       int64_t *changed, struct err *e);
	/* Deletes blob dg; an absent one is not an error. */
	int (*remove)(struct stor_blobs *b, const struct digest *dg,
		      struct err *e);
	/* Moves a blob or stray file of walk() out of the store, into
	 * DIR/quarantine/; a blob may be given by f->dg alone (f->name
	 * NULL). */
	int (*quarantine)(struct stor_blobs *b, const struct stor_file *f,
			  struct err *e);
	/* Deletes a temporary file of up_walk(). */
	int (*tmp_remove)(struct stor_blobs *b, const char *name,
			  struct err *e);
};

enum stor_list {
	STOR_LIST_MANIFESTS, /* repo, digest, media_type, size, other
			      * (subject), created */
	STOR_LIST_REFS,	     /* repo, digest (manifest), other (child) */
	STOR_LIST_TAGS,	     /* repo, name (tag), digest, updated */
	STOR_LIST_LINKS,     /* repo, digest (blob), created */
	STOR_LIST_UPLOADS,   /* repo, name (id), size (received),
			      * created, updated */
	STOR_LIST_REPORTS,   /* digest (image), other (its report's blob);
			      * repo "": listed for no repository alone */
};

enum stor_rel {
	STOR_REL_NONE,
	STOR_REL_TAG,	   /* name is the tag */
	STOR_REL_PARENT,   /* other lists the manifest */
	STOR_REL_REFERRER, /* other's subject is the manifest */
	STOR_REL_SUBJECT,  /* other is the manifest's subject */
};

/* A metadata row; which fields a listing fills is said at enum stor_list.
 * Strings are borrowed for the call. */
struct stor_row {
	const char *repo;
	const char *name;
	const char *media_type;
	struct digest digest;
	struct digest other;
	bool has_other;
	enum stor_rel rel;
	int64_t size, created, updated;
};
typedef int (*stor_row_fn)(void *arg, const struct stor_row *r, struct err *e);

struct stor_maint_ops {
	/* Calls fn for each row of a listing, of one repository or (repo
	 * NULL) of all. */
	int (*list)(struct stor_meta *m, enum stor_list what, const char *repo,
		    stor_row_fn fn, void *arg, struct err *e);
	/* What keeps blob dg: fn gets each manifest (repo, digest) that is
	 * dg or refers to it, and each scan result ("", the image's digest)
	 * whose report it is; *linked says whether a repository linked dg
	 * after `since` (unix time). */
	int (*blob_users)(struct stor_meta *m, const struct digest *dg,
			  int64_t since, stor_row_fn fn, void *arg,
			  bool *linked, struct err *e);
	/* Forgets every repository link of dg; *n (if not NULL) gets how
	 * many there were. */
	int (*blob_forget)(struct stor_meta *m, const struct digest *dg,
			   size_t *n, struct err *e);
	/* What keeps manifest dg of repo: fn gets its tags (name set), the
	 * manifests that list it (other = parent), its referrers (other =
	 * referrer) and its subject (other = subject), with r->rel saying
	 * which. */
	int (*mf_relations)(struct stor_meta *m, const char *repo,
			    const struct digest *dg, stor_row_fn fn, void *arg,
			    struct err *e);
	int (*up_exists)(struct stor_meta *m, const char *id, bool *out,
			 struct err *e);
	/* The database's own consistency checks; fn gets each problem in
	 * r->name. */
	int (*check)(struct stor_meta *m, stor_row_fn fn, void *arg,
		     struct err *e);
	/* stor_pin() across processes that share the metadata but not
	 * DIR/gc.lock (nodes): taken after the flock, released before.
	 * NULL: the flock is enough. */
	int (*pin)(struct stor_meta *m, bool exclusive, struct err *e);
	void (*unpin)(struct stor_meta *m, bool exclusive);
};

#endif
