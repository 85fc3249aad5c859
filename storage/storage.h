/* storage.h: blobs on disk, metadata in sqlite3.
 *
 * Blobs are content-addressed files shared by all repositories
 * (DIR/blobs/<alg>/<2 hex>/<hex>); a repository sees a blob only once it is
 * linked to it (pushed, mounted, or referenced by a manifest pushed there).
 * A blob file exists only if its content matches its name: uploads are
 * written under DIR/uploads/, hashed while written, fsynced and renamed into
 * place.  Metadata (repositories, blob links, manifests, tags, referrers,
 * uploads, scan jobs and results) lives in DIR/meta.db (WAL).
 *
 * This is the module's one public header (other modules include nothing
 * else of storage/), in five sections.  The split is behind it: each
 * section is implemented in one place, over its own vtable of
 * storage_int.h, so that another backend can replace any of them:
 *
 *	section			front		backend (vtable)
 *	Blobs, Uploads		storage.c	blob_fs.c (stor_blob_ops),
 *						meta_sql.c (stor_meta_ops)
 *	Manifests, tags,	storage.c	meta_sql.c (stor_meta_ops)
 *	referrers
 *	Scan jobs and reports	scan_store.c	scan_sql.c (stor_scanq_ops)
 *	Maintenance		gc.c, fsck.c,	maint_sql.c (stor_maint_ops),
 *				scrub.c, ...	blob_fs_maint.c
 *						(stor_blob_maint_ops)
 *
 * The scan queue and maintenance share the metadata's database (a push
 * adds its scan job in its own transaction) but not its vtable: each has
 * its own, and its SQL in its own file, beside the code that runs it.
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
struct stor_event;

/* Where stor_open() keeps the metadata from now on, for the whole
 * process: NULL (the default) for DIR/meta.db, or a PostgreSQL database as
 * a postgres:// URL or a libpq conninfo ("host=... dbname=..."; a password
 * is best left to PGPASSWORD or ~/.pgpass).  ERR_INVALID for anything
 * else.  With PostgreSQL, several processes (nodes) may share the
 * metadata; DIR still holds the blobs, uploads and locks of this one. */
int stor_meta_set(const char *url, struct err *e);
/* Whether stor_open() keeps the metadata outside DIR (PostgreSQL). */
bool stor_meta_shared(void);

/* Opens (creating if needed) the store under dir. */
struct stor *stor_open(const char *dir, struct err *e);

/* Blobs in an S3 bucket (Ceph RGW, AWS, MinIO...) instead of DIR/blobs/:
 * objects PREFIX/blobs/<alg>/<hex>; dir then holds the metadata and
 * node-local scratch (upload parts being filled, blobs being served).
 * Strings are borrowed for stor_open_with(). */
struct stor_s3_opts {
	char *endpoint; /* http(s)://host[:port] */
	char *region;
	char *bucket;
	char *prefix;	   /* "" or "a/b": keys start with "a/b/" */
	char *access_key;  /* NULL: $AWS_ACCESS_KEY_ID */
	char *secret_key;  /* NULL: $AWS_SECRET_ACCESS_KEY */
	char *ca_file;	   /* NULL: the system's CAs */
	bool virtual_host; /* bucket.host/key; else host/bucket/key */
	size_t part_size;  /* multipart part; >= 5 MiB */
	size_t cache_max;  /* node-local copies of blobs served; 0: none */
};
#define STOR_S3_PART_MIN ((size_t)5 << 20)
/* The backends of a store; NULL fields are the defaults. */
struct stor_opts {
	const char *storage; /* "fs" (default) or "s3" */
	const struct stor_s3_opts *s3;
};
/* The option rows (common/opt.h) of struct stor_s3_opts embedded as
 * FIELD of TYPE, and --storage as SFIELD, for every command that opens a
 * store.  The credentials are accepted from the config file and the
 * environment only (stor_opts_check_argv()). */
#define STOR_OPT_ROWS(TYPE, SFIELD, FIELD)                                     \
	{"storage",                                                            \
	 OPT_STRING,                                                           \
	 0,                                                                    \
	 0,                                                                    \
	 "fs",                                                                 \
	 offsetof(TYPE, SFIELD),                                               \
	 stor_storage_kinds,                                                   \
	 "KIND",                                                               \
	 "where blobs live: fs (DIR/blobs) or s3 (--s3-*)"},                   \
		{"s3-endpoint",                                                \
		 OPT_STRING,                                                   \
		 0,                                                            \
		 0,                                                            \
		 NULL,                                                         \
		 offsetof(TYPE, FIELD.endpoint),                               \
		 NULL,                                                         \
		 "URL",                                                        \
		 "S3 endpoint, http(s)://host[:port]"},                        \
		{"s3-region",                                                  \
		 OPT_STRING,                                                   \
		 0,                                                            \
		 0,                                                            \
		 "us-east-1",                                                  \
		 offsetof(TYPE, FIELD.region),                                 \
		 NULL,                                                         \
		 "REGION",                                                     \
		 "S3 region signed for (Ceph RGW: its zonegroup, default)"},   \
		{"s3-bucket", OPT_STRING, 0,                                   \
		 0,	      NULL,	  offsetof(TYPE, FIELD.bucket),        \
		 NULL,	      "BUCKET",	  "S3 bucket of the blobs"},           \
		{"s3-prefix", OPT_STRING, 0,                                   \
		 0,	      "",	  offsetof(TYPE, FIELD.prefix),        \
		 NULL,	      "PREFIX",	  "key prefix in the bucket"},         \
		{"s3-ca", OPT_STRING, 0,                                       \
		 0,	  NULL,	      offsetof(TYPE, FIELD.ca_file),           \
		 NULL,	  "FILE",     "PEM CA bundle of an https endpoint"},   \
		{"s3-virtual-host",                                            \
		 OPT_BOOL,                                                     \
		 0,                                                            \
		 0,                                                            \
		 "false",                                                      \
		 offsetof(TYPE, FIELD.virtual_host),                           \
		 NULL,                                                         \
		 NULL,                                                         \
		 "virtual-host addressing (bucket.host); default path-style"}, \
		{"s3-part-size",                                               \
		 OPT_SIZE,                                                     \
		 5LL << 20,                                                    \
		 5LL << 30,                                                    \
		 "8MiB",                                                       \
		 offsetof(TYPE, FIELD.part_size),                              \
		 NULL,                                                         \
		 "SIZE",                                                       \
		 "multipart part size of S3 uploads (buffered under --data)"}, \
		{"s3-cache",                                                   \
		 OPT_SIZE,                                                     \
		 0,                                                            \
		 1LL << 50,                                                    \
		 "1GiB",                                                       \
		 offsetof(TYPE, FIELD.cache_max),                              \
		 NULL,                                                         \
		 "SIZE",                                                       \
		 "node-local copies of blobs read from S3 (under --data; "     \
		 "least "                                                      \
		 "recently used go first); 0: fetch for every read"},          \
		{"s3-access-key",                                              \
		 OPT_STRING,                                                   \
		 0,                                                            \
		 0,                                                            \
		 NULL,                                                         \
		 offsetof(TYPE, FIELD.access_key),                             \
		 NULL,                                                         \
		 "KEY",                                                        \
		 "S3 access key, in the config file only (else "               \
		 "$AWS_ACCESS_KEY_ID)"},                                       \
	{                                                                      \
		"s3-secret-key", OPT_STRING, 0, 0, NULL,                       \
			offsetof(TYPE, FIELD.secret_key), NULL, "KEY",         \
			"S3 secret key, in the config file only (else "        \
			"$AWS_SECRET_ACCESS_KEY)"                              \
	}
/* The rows of a command run on a store from the shell (gc, fsck, backup,
 * restore): --data (DATA_HELP says what it is to the command), --meta
 * and STOR_OPT_ROWS.  TYPE has the fields data, meta, storage and s3. */
#define STOR_CMD_OPT_ROWS(TYPE, DATA_HELP)                                     \
	{"data", OPT_STRING, 0,	       0, "./var", offsetof(TYPE, data),       \
	 NULL,	 "DIR",	     DATA_HELP},                                       \
		{"meta",                                                       \
		 OPT_STRING,                                                   \
		 0,                                                            \
		 0,                                                            \
		 NULL,                                                         \
		 offsetof(TYPE, meta),                                         \
		 NULL,                                                         \
		 "URL",                                                        \
		 "metadata in PostgreSQL (as serve's --meta)"},                \
		STOR_OPT_ROWS(TYPE, storage, s3)
extern const char *const stor_storage_kinds[];
/* Refuses S3 credentials given as flags in argv (they would show in
 * ps); ERR_INVALID. */
int stor_opts_check_argv(int argc, char **argv, struct err *e);
struct opt_cmd;
struct opt_args;
/* opt_cli() (common/opt.h) of a command whose rows include
 * STOR_OPT_ROWS, refusing S3 credentials given as flags first (a usage
 * error). */
bool stor_cmd_cli(const struct opt_cmd *cmd, void *dst, int argc, char **argv,
		  struct opt_args *args, int *status);
/* Opens the store under dir with the backends of o (NULL: defaults). */
struct stor *stor_open_with(const char *dir, const struct stor_opts *o,
			    struct err *e);
/* Closes the database and any cached upload handles (their data stays on
 * disk, resumable).  stor_free(NULL) does nothing. */
void stor_free(struct stor *st);
const char *stor_dir(const struct stor *st);

/* The lock of a store's owner (`customs serve`), a flock(2) on
 * DIR/serve.lock: taken without waiting, ERR_BUSY if another process
 * holds it.  stor_lock_free(NULL) does nothing. */
struct stor_lock;
struct stor_lock *stor_lock_take(const char *dir, struct err *e);
void stor_lock_free(struct stor_lock *l);

/* --- Blobs ------------------------------------------------------------ */

/* Size of a blob linked to repo (repo NULL: any blob in the store).
 * ERR_BLOB_UNKNOWN if absent.  A file whose size differs from the size
 * recorded when the blob was stored is damaged: it is moved to
 * DIR/quarantine/, logged and counted (stor_blob_damage_count()), and the
 * blob is then ERR_BLOB_UNKNOWN, so it is never served and a client that
 * pushes it again stores it anew. */
int stor_blob_stat(struct stor *st, const char *repo, const struct digest *dg,
		   int64_t *size_out, struct err *e);
/* Opens a blob for reading; the caller owns *fd_out.  Same lookup rules as
 * stor_blob_stat(). */
int stor_blob_open(struct stor *st, const char *repo, const struct digest *dg,
		   int *fd_out, int64_t *size_out, struct err *e);
/* Whether stor_blob_stat() and stor_blob_open() may wait on the network
 * (S3 blobs: a HEAD, or a whole object fetched on a cache miss;
 * PostgreSQL metadata: a round trip), so that an event loop hands them to
 * a pool; else they only read local files. */
bool stor_blob_read_blocks(struct stor *st);
/* A URL that fetches dg's bytes straight from the blob backend for
 * expires_s seconds (S3: a presigned GET), once dg is visible in repo as
 * for stor_blob_stat(); the caller frees *url_out.  ERR_UNSUPPORTED when
 * the backend has none (the filesystem). */
int stor_blob_url(struct stor *st, const char *repo, const struct digest *dg,
		  int64_t expires_s, char **url_out, struct err *e);
/* Blobs found damaged (by those checks or the scrub) since the store
 * was opened. */
size_t stor_blob_damage_count(struct stor *st);
/* Links an existing blob to repo (cross-repository mount).
 * ERR_BLOB_UNKNOWN if the store does not have it. */
int stor_blob_link(struct stor *st, const char *repo, const struct digest *dg,
		   struct err *e);
/* Unlinks a blob from repo (DELETE).  The file itself is removed by gc once
 * nothing links to it.  ERR_BLOB_UNKNOWN if it was not linked. */
int stor_blob_unlink(struct stor *st, const char *repo, const struct digest *dg,
		     struct err *e);
/* Stores a small blob held in memory and links it to repo (a report, the
 * empty config); *dg_out gets its sha256 digest. */
int stor_blob_put(struct stor *st, const char *repo, const void *data,
		  size_t len, struct digest *dg_out, struct err *e);

/* --- Uploads ------------------------------------------------------------ */

#define STOR_UPLOAD_ID_MAX 40 /* a UUID and its NUL, with room to spare */

/* Called by the process that owns the store (serve, holding its lock):
 * from now on running upload hashes are saved beside their uploads when
 * evicted and at stor_free(), and those of the last owner are taken up
 * again if it stopped cleanly (else they are dropped: the finish re-reads
 * the data).  Without it no state is saved or read. */
int stor_upload_states_keep(struct stor *st, struct err *e);
/* Starts an upload session for repo; writes its id into id_out. */
int stor_upload_start(struct stor *st, const char *repo,
		      char id_out[STOR_UPLOAD_ID_MAX], struct err *e);

/* Bounds on open upload sessions (each holds a row and data until it
 * finishes, is cancelled or expires).  A limit <= 0 is none. */
struct stor_upload_limits {
	const char *client; /* who opens it ("addr 10.0.0.1", "user bob") */
	long max_per_repo;
	long max_per_client;
};
/* stor_upload_start(), refused with ERR_TOOMANYREQUESTS when repo, or
 * lim->client, already has as many open sessions as its limit allows. */
int stor_upload_start_limited(struct stor *st, const char *repo,
			      const struct stor_upload_limits *lim,
			      char id_out[STOR_UPLOAD_ID_MAX], struct err *e);
/* Takes the upload for exclusive use (a second taker gets ERR_BUSY).
 * Sessions survive restarts: the upload resumes where the data on disk
 * ends, with its running sha256 if it was kept (stor_upload_states_keep())
 * or in memory.  Never reads the data, so it is quick wherever it runs.
 * ERR_BLOB_UPLOAD_UNKNOWN if no such session exists for repo. */
int stor_upload_take(struct stor *st, const char *repo, const char *id,
		     struct stor_upload **out, struct err *e);
/* Bytes received so far by upload id of repo, without taking it, so a
 * status poll never turns away the request that writes: ERR_BUSY while a
 * request holds it, ERR_BLOB_UPLOAD_UNKNOWN if there is no such session. */
int stor_upload_status(struct stor *st, const char *repo, const char *id,
		       int64_t *offset, struct err *e);
/* Bytes received so far. */
int64_t stor_upload_offset(const struct stor_upload *u);
/* Whether finishing with a digest of alg needs no re-read of the data:
 * true for sha256 while the running hash is known. */
bool stor_upload_hash_known(const struct stor_upload *u, enum digest_alg alg);
const char *stor_upload_id(const struct stor_upload *u);
/* Appends to the upload (and to its running hash). */
int stor_upload_write(struct stor_upload *u, const void *data, size_t len,
		      struct err *e);
/* A read-only fd on the upload's data as it grows, for readers that follow
 * the writer (a pull-through fetch streamed to several clients); the
 * caller owns it.  Bytes up to the offset of a finished write are there to
 * read; the fd stays readable after the upload finishes or is cancelled.
 * ERR_UNSUPPORTED where the blob backend cannot do it. */
int stor_upload_open_read(struct stor_upload *u, int *fd_out, struct err *e);
/* Gives the upload back; everything written stays, resumable.  The handle
 * is no longer the caller's. */
void stor_upload_release(struct stor_upload *u);
/* Completes the upload: checks the content against expected, fsyncs,
 * renames the blob into place and links it to the repository.  On a
 * mismatch fails with ERR_DIGEST_INVALID and deletes the upload.  Either
 * way the handle is consumed.  Blocks: the fsync, and unless
 * stor_upload_hash_known(), a read of all the data; not for an event-loop
 * thread. */
int stor_upload_finish(struct stor_upload *u, const struct digest *expected,
		       struct err *e);
/* Deletes an upload session and its data (DELETE /blobs/uploads/<id>). */
int stor_upload_cancel(struct stor *st, const char *repo, const char *id,
		       struct err *e);

/* --- Manifests, tags, referrers ----------------------------------------- */

struct stor_manifest_put {
	const char *repo;
	const char *tag;	     /* NULL when pushed by digest */
	const struct digest *digest; /* of body, computed by the caller */
	const char *media_type;
	const void *body;
	size_t len;
	const struct digest *subject; /* NULL if the manifest has none */
	/* For the referrers list: artifactType, else config.mediaType. */
	const char *artifact_type;
	const char *annotations_json; /* the "annotations" object, or NULL */
	const struct digest *refs;    /* blobs and child manifests */
	size_t nrefs;
	/* What the manifest lists but the repository need not hold (sparse
	 * content: an index's platforms not pushed, non-distributable
	 * layers).  Recorded as references too, so that gc keeps them once
	 * they arrive, but never verified. */
	const struct digest *sparse;
	size_t nsparse;
	/* More tags (a PUT by digest with ?tag=), set in the same commit. */
	const char *const *tags;
	size_t ntags;
	bool enqueue_scan; /* add a scan job in the same commit */
	/* With enqueue_scan, the DB version reports are made with now (""
	 * without a DB), or NULL.  The job is then left alone when the
	 * push changes nothing its report depends on: the manifest was
	 * tagged in repo already (so it is published there, and the
	 * repository's VEX statements, which tagged images carry, are the
	 * same), its job is done and its report was matched against that
	 * DB.  The report in place serves: no job, no new report. */
	const char *scan_db;
	/* Store the manifest only while its subject is a manifest of repo,
	 * checked in the same transaction (PostgreSQL: its row is locked
	 * until the commit, so a DELETE of the subject waits for it);
	 * ERR_MANIFEST_UNKNOWN, nothing written, once the subject is gone.
	 * The scan's referrers set it: one published while the image is
	 * deleted is either seen by the DELETE's clean-up or not made. */
	bool if_subject;
	/* Check again, under the gc pin, that every ref is still in the
	 * repository (linked, or a manifest there) and its file present;
	 * ERR_MANIFEST_BLOB_UNKNOWN if gc freed one since the caller's
	 * check.  Registry pushes set it. */
	bool verify_refs;
	/* Events written in the same commit (the outbox below), or none. */
	const struct stor_event *events;
	size_t nevents;
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
int stor_tags_list(struct stor *st, const char *repo, const char *last, long n,
		   char ***out, size_t *count, bool *more, struct err *e);
/* One tag with its times: when it was last set, and when its manifest came
 * into the repository (pushed, or cached from an upstream). */
struct stor_tag_time {
	char *tag;
	struct digest digest;
	int64_t tagged;	  /* unix time */
	int64_t created;  /* unix time */
	char *media_type; /* its manifest's */
};
/* Every tag of repo with its times, in the order they were set (then by
 * name); none for an unknown repository.  Free with
 * stor_tag_times_free(). */
int stor_tag_times(struct stor *st, const char *repo,
		   struct stor_tag_time **out, size_t *count, struct err *e);
/* A page of them as stor_tags_list() pages the names (lexical order,
 * after last, at most n, *more), with *total the tags repo has: what a
 * page of a long list needs, without reading the rest.  ERR_NAME_UNKNOWN
 * for a repository the store has never seen.  Free with
 * stor_tag_times_free(). */
int stor_tag_page(struct stor *st, const char *repo, const char *last, long n,
		  struct stor_tag_time **out, size_t *count, bool *more,
		  size_t *total, struct err *e);
void stor_tag_times_free(struct stor_tag_time *v, size_t n);
/* Repositories that hold a manifest, in lexical order, with the same
 * paging (an upload or a blob link alone lists none, as in CNCF
 * distribution). */
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

/* The repositories that have manifest dg, in lexical order.  Free with
 * stor_strv_free(). */
int stor_manifest_repos(struct stor *st, const struct digest *dg, char ***out,
			size_t *count, struct err *e);

/* --- Scan jobs and reports ----------------------------------------------
 *
 * Results are per manifest digest: one job and at most one result for a
 * digest, however many repositories and tags name it.  A manifest PUT with
 * enqueue_scan adds (or re-arms) the job in the manifest's own
 * transaction, so a crash loses neither.  A job goes
 *
 *	queued -> running (claimed, with a lease) -> done | failed
 *	                  -> waiting (an index whose platforms are pending)
 *	                     -> queued (when one of them finishes)
 *
 * Re-arming a job bumps its generation: a job re-armed while running (the
 * image pushed to another repository, a new vulnerability DB) goes back to
 * queued when it finishes instead of to done, so that work is not lost.
 * A result keeps the report JSON, which lists the package inventory (so a
 * re-match needs no layer), the findings in short form (for pull policy),
 * the DB version the report came from and the one it was last checked
 * against.  Digests of children are borrowed; strings returned are the
 * caller's, freed by the matching _release().
 */

enum stor_scan_state {
	STOR_SCAN_NONE, /* no job for this digest */
	STOR_SCAN_QUEUED,
	STOR_SCAN_RUNNING,
	STOR_SCAN_WAITING,
	STOR_SCAN_DONE,
	STOR_SCAN_FAILED,
};

/* A claimed job. */
struct stor_scan_job {
	struct digest digest;
	char *repo;   /* the repository it was last pushed to */
	int64_t gen;  /* generation at the claim */
	int attempts; /* claims since it last finished, this one too */
	/* This claim's token (random, one per claim): the job's rows are
	 * changed on its behalf only while the job still holds it, so a
	 * claimant whose lease ran out and whose job was claimed again
	 * finishes nothing (ERR_BUSY). */
	int64_t claim;
	/* The request that queued it (the log's request id of the thread
	 * that pushed), or NULL (a re-match after a DB change). */
	char *request_id;
};
void stor_scan_job_release(struct stor_scan_job *job);

/* A report is stored once, as a blob (content-addressed: the same bytes
 * as the referrer that carries it, when there is one); its row names the
 * blob.  gc keeps the blobs that rows name. */
struct stor_scan_result {
	const char *report;	/* report JSON */
	const char *findings;	/* short JSON for the pull policy (opaque
				 * here; see rs_findings()) */
	const char *db_version; /* of the report's findings; NULL: no data */
	/* report's digest, if the caller has it (not hashed again), or
	 * NULL */
	const struct digest *report_digest;
};

/* The state of one digest's scan. */
struct stor_scan {
	enum stor_scan_state state;
	int attempts;
	char *error; /* why it failed, or NULL */
	bool has_result;
	char *report; /* if asked for and has_result (NULL if its blob
		       * is lost: see report_blob) */
	bool in_blob; /* the report is kept as blob report_blob (rows
		       * written before that keep it inline) */
	struct digest report_blob;
	char *findings;	  /* if has_result */
	char *db_version; /* of the report; NULL: no data */
	char *checked_db; /* last DB matched against; NULL: none */
	int64_t updated;  /* when the result last changed (unix time) */
	int64_t claim;	  /* the running claim's token (0: none) */
};
void stor_scan_release(struct stor_scan *s);

struct stor_scan_stats {
	size_t queued, running, waiting, done, failed;
	size_t results;
};

/* Adds a job for dg (pushed to repo) as a manifest PUT does: a done or
 * failed job is re-armed.  With if_absent, an existing job of any state
 * is left alone (an index asking for its platforms). */
int stor_scan_enqueue(struct stor *st, const char *repo,
		      const struct digest *dg, bool if_absent, struct err *e);
/* Claims the next job: queued ones by priority (pushes before re-matches)
 * and age, else a running one whose lease expired.  Returns 1 with *job
 * filled, 0 when there is none. */
int stor_scan_claim(struct stor *st, int64_t lease_s, struct stor_scan_job *job,
		    struct err *e);
/* The heartbeat of a node's running jobs: the lease of each job this
 * process claimed and still runs (PostgreSQL: owned by its session; sqlite:
 * every running job, as one server holds meta.db) is pushed to lease_s
 * from now.  *n (may be NULL) gets how many.  A job another node took
 * over after its lease ran out is not ours any more and is left alone. */
int stor_scan_renew(struct stor *st, int64_t lease_s, size_t *n, struct err *e);
/* At startup: jobs left running by a crash or a restart are queued again,
 * or failed once they have been claimed max_attempts times. */
int stor_scan_recover(struct stor *st, int max_attempts, size_t *n,
		      struct err *e);
/* Stores (or replaces) the result of dg: the report's blob (durable
 * first), then its row.  The row is not written if the job is gone (the
 * image was deleted meanwhile). */
int stor_scan_result_put(struct stor *st, const struct digest *dg,
			 const struct stor_scan_result *r, struct err *e);
/* stor_scan_result_put() of the claimed job's digest, whose row is
 * written only while the job is still that claim's (see
 * stor_scan_done()): ERR_BUSY else. */
int stor_scan_result_put_claimed(struct stor *st,
				 const struct stor_scan_job *job,
				 const struct stor_scan_result *r,
				 struct err *e);
/* Notes that the result of job's image was matched against db_version
 * (NULL: no data) and found unchanged; ERR_BUSY, nothing noted, once the
 * job is not that claim's. */
int stor_scan_checked(struct stor *st, const struct stor_scan_job *job,
		      const char *db_version, struct err *e);
/* The job is finished: done, or queued again if it was re-armed since the
 * claim.  Index jobs waiting for it are queued.  This and the other
 * calls that take a claimed job (fail, wait, the _ev and batch forms)
 * change nothing once the job is not that claim's any more (its lease
 * ran out and it was claimed again, or it finished): ERR_BUSY. */
int stor_scan_done(struct stor *st, const struct stor_scan_job *job,
		   struct err *e);
/* The job failed: queued again, not before retry_at (unix time), or with
 * retry_at < 0 failed for good with why (index jobs waiting for it are
 * then queued). */
int stor_scan_fail(struct stor *st, const struct stor_scan_job *job,
		   const char *why, int64_t retry_at, struct err *e);
/* An index job and its platform manifests: adds a job for each child that
 * has none and, unless every child is done or failed (*ready), parks the
 * index job as waiting; it is queued again when a child finishes. */
int stor_scan_wait(struct stor *st, const struct stor_scan_job *job,
		   const struct digest *children, size_t n, bool *ready,
		   struct err *e);
/* The job and result of dg; out->state is STOR_SCAN_NONE and has_result
 * false when the store has neither.  The report text is read only when
 * with_report. */
int stor_scan_get(struct stor *st, const struct digest *dg, bool with_report,
		  struct stor_scan *out, struct err *e);
/* stor_scan_get() without the report, the findings or checked_db (all
 * NULL): the state, time, version, report blob and a running job's claim
 * token, which a list of many images or a claim's check needs; a result's
 * findings are as long as its list, and this reads none of them. */
int stor_scan_peek(struct stor *st, const struct digest *dg,
		   struct stor_scan *out, struct err *e);
/* Every tag of repo with its times (stor_tag_times()) and its image's
 * scan as stor_scan_peek() has it: a chart of a repository's tags, in
 * one query.  Free with stor_tag_scans_free(). */
struct stor_tag_scan {
	struct stor_tag_time t;
	struct stor_scan scan;
};
int stor_tag_scans(struct stor *st, const char *repo,
		   struct stor_tag_scan **out, size_t *count, struct err *e);
void stor_tag_scans_free(struct stor_tag_scan *v, size_t n);
/* Calls fn (from another thread) when a scan of dg ends on any node that
 * shares the metadata, this one included (PostgreSQL: NOTIFY); a
 * store only one process uses never calls it (the scan service says so
 * in process).  fn NULL stops the calls; once it returns none is left
 * running. */
void stor_scan_on_final(struct stor *st,
			void (*fn)(void *arg, const struct digest *dg),
			void *arg);
/* Deletes the job and result of dg unless a repository still has dg. */
int stor_scan_forget(struct stor *st, const struct digest *dg, struct err *e);
/* After a vulnerability DB change: every done job whose result was not
 * matched against db_version (NULL: no data) is queued again at low
 * priority, and running or waiting ones are re-armed; *n says how many. */
int stor_scan_rearm(struct stor *st, const char *db_version, size_t *n,
		    struct err *e);
int stor_scan_stats(struct stor *st, struct stor_scan_stats *out,
		    struct err *e);
/* A job that failed for good, as the status page lists it. */
struct stor_scan_failure {
	char *repo;
	struct digest digest;
	char *error;  /* or NULL */
	int64_t when; /* unix time of the failure */
	int attempts;
};
/* The max most recent failed jobs, newest first.  Free with
 * stor_scan_failures_free(). */
int stor_scan_failures(struct stor *st, size_t max,
		       struct stor_scan_failure **out, size_t *count,
		       struct err *e);
void stor_scan_failures_free(struct stor_scan_failure *v, size_t n);

/* Re-matching after a DB change, in batches: one write for many jobs. */
/* Claims up to max jobs that stor_scan_rearm() queued, as
 * stor_scan_claim() would, in one statement; none while a push waits
 * (pushes come first).  *n gets how many; each of jobs[0..*n) is the
 * caller's to release. */
int stor_scan_claim_rematch(struct stor *st, int64_t lease_s,
			    struct stor_scan_job *jobs, size_t max, size_t *n,
			    struct err *e);
/* Whether a push's job is queued and due (re-matches wait for it). */
int stor_scan_push_waiting(struct stor *st, bool *out, struct err *e);
/* Gives claimed jobs back untouched, queued as they were before the claim
 * (their attempt not counted): a batch that stops early for a push.  A
 * job no longer its claim's is left alone. */
int stor_scan_unclaim(struct stor *st, const struct stor_scan_job *jobs,
		      size_t n, struct err *e);
/* A small blob held in memory; digest is data's, as the caller computed
 * it from these bytes (not hashed again). */
struct stor_blob_data {
	const struct digest *digest;
	const void *data;
	size_t len;
};
/* A report referrer to store in put->repo: its blobs (linked to that
 * repository, as stor_blob_put() does), then the manifest, then the
 * referrers it replaces there deleted (absent ones are no error).  With
 * put->if_subject, none of it once the subject is gone from put->repo. */
struct stor_scan_referrer {
	const struct stor_manifest_put *put;
	const struct stor_blob_data *blobs;
	size_t nblobs;
	const struct digest *drop;
	size_t ndrop;
};
/* What one re-matched job leaves. */
struct stor_scan_outcome {
	const struct stor_scan_job *job;
	const struct stor_scan_result *result; /* NULL: findings unchanged */
	const char *checked_db; /* result NULL: as stor_scan_checked() */
	const struct stor_scan_referrer *refs;
	size_t nrefs;
	bool *left_out; /* or NULL: set true when the job was left out */
};
/* Finishes claimed jobs: each one's result (or checked DB), referrers and
 * stor_scan_done().  The blobs (a result's report among them, if no
 * referrer carries it) are made durable together, then every row changes
 * in one transaction: all or nothing (blobs left over by a failure are
 * gc's).  An outcome whose job is no longer its claim's (see
 * stor_scan_done()) is left out (*left_out says so): its rows are the
 * new claim's to write. */
int stor_scan_finish_many(struct stor *st, const struct stor_scan_outcome *v,
			  size_t n, struct err *e);
/* stor_scan_finish_many() in lots, with one sync for all: each
 * stor_scan_stage() writes the blobs of its outcomes where nothing names
 * them yet (their data may be freed after; *sp is made by the first
 * call); stor_scan_stage_end() makes every staged blob durable and named,
 * then writes the rows of v[0..n) (each result with its report_digest)
 * in one transaction, and frees s.  stor_scan_stage_drop() forgets the
 * staged blobs instead.  gc is held off from the first stage to the end
 * (see gc.c). */
struct stor_scan_stage;
int stor_scan_stage(struct stor *st, struct stor_scan_stage **sp,
		    const struct stor_scan_outcome *v, size_t n, struct err *e);
/* With next, the same transaction also claims up to next->max re-match
 * jobs into next->jobs, as stor_scan_claim_rematch() would (next->n says
 * how many; none when it fails): a worker goes on to its next batch
 * without waiting for another's transaction to claim it. */
struct stor_scan_next {
	int64_t lease_s;
	struct stor_scan_job *jobs;
	size_t max, n;
};
int stor_scan_stage_end(struct stor *st, struct stor_scan_stage *s,
			const struct stor_scan_outcome *v, size_t n,
			struct stor_scan_next *next, struct err *e);
void stor_scan_stage_drop(struct stor *st, struct stor_scan_stage *s);

/* --- Layer indexes (layer_sql.c) ------------------------------------------
 *
 * One row per layer blob, by digest: the queue of layers to index (a blob
 * upload that completes queues its digest) and, once read, the layer's
 * index (opaque JSON here; scanner.h says what it holds) with the index
 * format's version.  A row is kept while the blob is: gc forgets it with
 * the blob's links.  A crash leaves queued rows queued and running ones
 * to stor_layer_recover(). */

enum stor_layer_state {
	STOR_LAYER_NONE, /* no row */
	STOR_LAYER_QUEUED,
	STOR_LAYER_RUNNING,
	STOR_LAYER_DONE,    /* index holds the result */
	STOR_LAYER_SKIPPED, /* not a layer (sniffed) or failed for good */
};

struct stor_layer {
	enum stor_layer_state state;
	int attempts;
	char *version; /* of the index format; NULL unless done */
	char *index;   /* if asked for and done */
	char *error;   /* why it was skipped, or NULL */
};
void stor_layer_release(struct stor_layer *l);

/* Queues dg unless it has a row (a done, skipped or queued one stays). */
int stor_layer_enqueue(struct stor *st, const struct digest *dg, struct err *e);
/* Claims the oldest queued layer, else a running one whose lease ran
 * out: 1 with *out set, 0 when there is none.  With want non-NULL, only
 * that digest (queued, stale, or without a row: then it gets one). */
int stor_layer_claim(struct stor *st, const struct digest *want,
		     int64_t lease_s, struct digest *out, struct err *e);
/* A claimed layer's index (version: its format's). */
int stor_layer_put(struct stor *st, const struct digest *dg,
		   const char *version, const char *index, struct err *e);
/* A claimed layer is not indexed: why says so (skipped for good), or
 * with why NULL it is queued again. */
int stor_layer_skip(struct stor *st, const struct digest *dg, const char *why,
		    struct err *e);
/* dg's row (state STOR_LAYER_NONE when there is none); the index text
 * only when with_index. */
int stor_layer_get(struct stor *st, const struct digest *dg, bool with_index,
		   struct stor_layer *out, struct err *e);
/* At startup: layers left running are queued again (*n: how many). */
int stor_layer_recover(struct stor *st, size_t *n, struct err *e);
struct stor_layer_stats {
	size_t queued, running, done, skipped;
};
int stor_layer_stats(struct stor *st, struct stor_layer_stats *out,
		     struct err *e);

/* --- Events outbox (outbox.c, outbox_sql.c) -----------------------------
 *
 * Events to deliver to webhook endpoints (registry/events/), kept in the
 * metadata's database so that an event is stored if and only if the
 * change that causes it is: a manifest PUT carries its events
 * (stor_manifest_put.events), deletes and scan completions have _ev
 * variants that write them in their own transaction.  Each endpoint has
 * a cursor over the events; stor_outbox_route() turns the events past it
 * into that endpoint's delivery rows (those its filter takes), which stay
 * until delivered, or are marked dead when the endpoint gives up.
 * Events no endpoint needs any more are pruned.  Times here are unix
 * milliseconds.  ERR_UNSUPPORTED where the metadata backend has none. */

struct stor_event {
	const char *action; /* "push", "pull", "scan.completed", ... */
	const char *repo;   /* "" when it is about no repository */
	const char *body;   /* the event's JSON object, as delivered */
};

/* Stores events on their own (no change of the store goes with them). */
int stor_event_add(struct stor *st, const struct stor_event *v, size_t n,
		   struct err *e);
/* stor_manifest_delete() and stor_tag_delete() with ev (NULL: none)
 * written in the same transaction. */
int stor_manifest_delete_ev(struct stor *st, const char *repo,
			    const struct digest *dg,
			    const struct stor_event *ev, struct err *e);
int stor_tag_delete_ev(struct stor *st, const char *repo, const char *tag,
		       const struct stor_event *ev, struct err *e);
/* stor_scan_done() and stor_scan_fail() with events in the same
 * transaction. */
int stor_scan_done_ev(struct stor *st, const struct stor_scan_job *job,
		      const struct stor_event *v, size_t n, struct err *e);
int stor_scan_fail_ev(struct stor *st, const struct stor_scan_job *job,
		      const char *why, int64_t retry_at,
		      const struct stor_event *v, size_t n, struct err *e);

/* Whether endpoint wants an event (evaluated inside a transaction: quick,
 * no I/O). */
typedef bool (*stor_event_filter_fn)(void *arg, const char *action,
				     const char *repo);
/* Gives endpoint a delivery row for each of the next (at most max) events
 * past its cursor that fn takes, and moves the cursor past them; *n gets
 * how many events were looked at.  An endpoint seen the first time starts
 * at the newest event (history is not replayed).  Also prunes the events
 * that no cursor and no delivery needs any more. */
int stor_outbox_route(struct stor *st, const char *endpoint,
		      stor_event_filter_fn fn, void *arg, size_t max, size_t *n,
		      struct err *e);
/* Forgets every endpoint but keep[0..n) (their cursors and deliveries,
 * dead or not); *dropped gets how many deliveries went. */
int stor_outbox_keep(struct stor *st, const char *const *keep, size_t n,
		     size_t *dropped, struct err *e);

struct stor_delivery {
	int64_t seq;
	char *endpoint;
	char *action;
	char *repo;
	char *body;
	int attempts;
	int64_t created; /* when it was routed (ms) */
	char *error;	 /* last failure, or NULL */
};
void stor_delivery_free(struct stor_delivery *v, size_t n);

/* What endpoint may send now, in order per repository: for each
 * repository (at most max_repos) whose oldest live delivery is due at
 * now_ms, that delivery and up to per_repo - 1 more of it, in seq order
 * (a repository's deliveries go together and are retried together).
 * Free *out with stor_delivery_free(). */
int stor_outbox_due(struct stor *st, const char *endpoint, int64_t now_ms,
		    size_t max_repos, size_t per_repo,
		    struct stor_delivery **out, size_t *n, struct err *e);
/* Delivered: the rows go. */
int stor_outbox_done(struct stor *st, const char *endpoint, const int64_t *seqs,
		     size_t n, struct err *e);
/* Failed again: attempts + 1, the error, and either the next try at
 * next_ms or (dead) no more tries. */
int stor_outbox_retry(struct stor *st, const char *endpoint,
		      const int64_t *seqs, size_t n, int64_t next_ms, bool dead,
		      const char *error, struct err *e);
/* The dead deliveries of every endpoint, newest first, at most max. */
int stor_outbox_dead(struct stor *st, size_t max, struct stor_delivery **out,
		     size_t *n, struct err *e);
/* Deliveries waiting (live) and given up (dead), all endpoints. */
int stor_outbox_counts(struct stor *st, size_t *pending, size_t *dead,
		       struct err *e);

/* --- Maintenance: gc, fsck (gc.c, gc_untagged.c, fsck.c) ----------------
 *
 * gc frees what nothing keeps: blobs that no manifest (its body, config,
 * layers, index children, referrers and scan reports are all manifests or
 * their references) and no recent repository link (a push whose manifest
 * is still to come) keeps, once they are older than the grace period;
 * upload sessions idle for longer than the upload TTL, with their data;
 * upload data and temporary files that no session owns; and, when asked,
 * manifests that no tag reaches.  It runs beside a serving registry: a
 * push in flight is never cut (storage_int.h explains the pin).
 *
 * fsck proves the promises: every blob file re-hashed against its name,
 * every manifest's body and references present and intact, every
 * repository link backed by a file, the database's own checks.
 */

#define STOR_GC_GRACE_DEFAULT (60 * 60) /* 1 h */
/* gc frees at most this share (percent of the blobs' bytes) in one run
 * unless forced: more means the metadata was probably lost. */
#define STOR_GC_MAX_SWEEP_DEFAULT 50
#define STOR_UPLOAD_TTL_DEFAULT	  (24 * 60 * 60) /* 24 h */

/* What gc (or fsck) found: kind ("blob", "manifest", "upload", "temp"...),
 * a name and a size in bytes (-1: none).  Strings are borrowed. */
typedef void (*stor_note_fn)(void *arg, const char *kind, const char *name,
			     int64_t size);

struct stor_gc_opts {
	int64_t grace_s;      /* keep anything younger than this */
	int64_t upload_ttl_s; /* idle sessions expire; <= 0: never */
	bool untagged;	      /* delete manifests no tag reaches */
	bool dry_run;	      /* report, change nothing */
	/* Refuse (ERR_DENIED, freeing no blob) a sweep of more than this
	 * percentage of the blobs' bytes, unless force; >= 100: no limit.
	 * A lost meta.db-wal makes every blob look unreferenced: this keeps
	 * gc from deleting the registry's content. */
	int max_sweep_share;
	bool force;
	/* No other process uses the store (the caller holds its lock):
	 * temporary files are garbage whatever their age. */
	bool exclusive;
	stor_note_fn on_free; /* each thing freed; may be NULL */
	void *arg;
	/* Asked between items; true ends the run early (a server that is
	 * stopping).  May be NULL. */
	bool (*stopping)(void *arg);
	void *stop_arg;
};

struct stor_gc_stats {
	size_t blobs, manifests, uploads, temps; /* freed */
	int64_t bytes;				 /* freed */
	size_t blobs_kept;
	/* The sweep: blobs (bytes) found unreferenced, of all the blobs;
	 * over_share when that passes max_sweep_share (a dry run or a
	 * forced run goes on; else the sweep is refused). */
	size_t sweep_blobs;
	int64_t sweep_bytes, total_bytes;
	bool over_share;
};

/* Fills o with the defaults (grace 1 h, upload TTL 24 h, sweep share
 * 50 %). */
void stor_gc_opts_init(struct stor_gc_opts *o);
/* One collection.  *out (if not NULL) gets what it freed. */
int stor_gc(struct stor *st, const struct stor_gc_opts *o,
	    struct stor_gc_stats *out, struct err *e);

enum stor_fsck_kind {
	/* Damage: fsck fails. */
	STOR_FSCK_CORRUPT,  /* a blob whose content does not match */
	STOR_FSCK_STRAY,    /* a file among the blobs that is not one */
	STOR_FSCK_MISSING,  /* a manifest or link names an absent blob */
	STOR_FSCK_MANIFEST, /* a manifest that lost its body or a ref */
	STOR_FSCK_DB,	    /* the database's own checks */
	/* The metadata looks lost or rolled back (no repository at all, or
	 * blobs nothing refers to that are newer than its last write: a
	 * deleted meta.db-wal, an old meta.db restored). */
	STOR_FSCK_LOST,
	/* Garbage for gc: reported, fails only with strict. */
	STOR_FSCK_ORPHAN, /* a blob nothing refers to */
	STOR_FSCK_UPLOAD, /* upload data without a session, or back */
	STOR_FSCK_TEMP,	  /* a temporary file left by a crash */
};

struct stor_fsck_opts {
	bool repair; /* quarantine corrupt blobs and strays */
	bool strict; /* garbage counts as a problem too */
	/* Re-hash only blobs written or linked at or after this unix time
	 * (0: all); the rest are checked for presence and size. */
	int64_t since;
	/* As for gc: no other process uses the store. */
	bool exclusive;
	/* Each problem, one line of text.  May be NULL. */
	void (*on_problem)(void *arg, enum stor_fsck_kind kind,
			   const char *msg);
	void *arg;
};

struct stor_fsck_stats {
	size_t blobs, hashed, manifests, links, uploads;
	int64_t bytes_hashed;
	size_t problems[STOR_FSCK_TEMP + 1]; /* by kind */
	size_t damage;			     /* problems that fail fsck */
	size_t quarantined;
	int64_t started; /* unix time */
};

/* Checks the store; returns 0 when it could run (whatever it found: see
 * out->damage), -1 when it could not. */
int stor_fsck(struct stor *st, const struct stor_fsck_opts *o,
	      struct stor_fsck_stats *out, struct err *e);

/* --- Maintenance: scrub (scrub.c) ----------------------------------------
 *
 * Re-hashes every blob, at a bounded rate, beside a serving registry.  A
 * blob whose content does not match its name, or whose size differs from
 * the recorded one, is damaged: it goes to DIR/quarantine/, is logged and
 * counted (stor_blob_damage_count()), and is never served again; a push of
 * the blob stores it anew.  A blob found intact whose size was unknown
 * (stored by an older customs) gets its size recorded. */

struct stor_scrub_opts {
	int64_t rate; /* bytes a second at most; <= 0: as fast as it can */
	/* Sleeps secs (to keep the rate); false ends the pass (a server
	 * that is stopping).  May be NULL: no pacing. */
	bool (*pause)(void *arg, double secs);
	/* Asked between reads; true ends the pass.  May be NULL. */
	bool (*stopping)(void *arg);
	void *arg;
};

struct stor_scrub_stats {
	size_t blobs;	/* verified */
	size_t damaged; /* of those, quarantined */
	int64_t bytes;	/* read */
	double seconds;
};

/* One pass over every blob.  Returns -1 only when it could not run. */
int stor_scrub(struct stor *st, const struct stor_scrub_opts *o,
	       struct stor_scrub_stats *out, struct err *e);

/* --- Maintenance: recovery, quotas, commands ----------------------------- */

/* After a crash, with the store's lock held: deletes temporary files and
 * upload data that no session owns (nothing can be writing them). */
int stor_recover(struct stor *st, struct stor_gc_stats *out, struct err *e);

/* The bytes repo takes: the blobs linked to it (each once), its
 * manifests and the data of its open upload sessions (quota.c).  Costs a
 * stat per blob: callers cache it. */
int stor_repo_usage(struct stor *st, const char *repo, int64_t *bytes,
		    struct err *e);

/* What the metadata holds, for /metrics: repositories, manifests, open
 * upload sessions and, with_blobs, the blobs linked to at least one
 * repository with the bytes of those whose size was recorded at upload
 * (all but blobs stored by old versions; else both are -1).  Counts over
 * the tables: the blobs' cost a pass over every link (about 0.1 s for
 * 200,000), the rest an index scan each.  ERR_UNSUPPORTED where the
 * metadata backend cannot count. */
struct stor_meta_stats {
	int64_t repos, manifests, uploads, blobs, blob_bytes;
};
int stor_meta_stats(struct stor *st, bool with_blobs,
		    struct stor_meta_stats *out, struct err *e);

/* How often, since the process started, a statement of any store found
 * meta.db locked (by another writer, or another process) and waited for
 * it, how many of those waits ran out (the statement failed),
 * and the seconds spent waiting in all (for /metrics). */
struct stor_busy_stats {
	uint64_t waits;
	uint64_t gave_up;
	double seconds;
};
void stor_busy_stats(struct stor_busy_stats *out);

/* What the stored reports name (eco_sqlite.c), for the feed updater to
 * fetch only what the images use: each package ecosystem once ("Debian",
 * "PyPI") and each OS as "os:<id>:<version_id>" ("os:alpine:3.18.4").
 * Parses every report: call it rarely.  *out (the array and each string)
 * is the caller's. */
int stor_scan_ecosystems(struct stor *st, char ***out, size_t *n,
			 struct err *e);

/* `customs gc` and `customs fsck`: argv[0] is the subcommand; returns the
 * exit status. */
int stor_gc_cmd_main(int argc, char **argv);
int stor_fsck_cmd_main(int argc, char **argv);
/* `customs backup DEST` and `customs restore BACKUP` (backup.c). */
int stor_backup_cmd_main(int argc, char **argv);
int stor_restore_cmd_main(int argc, char **argv);

#endif
