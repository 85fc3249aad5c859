/* scan_int.h: what registry/scan/scan_*.c share (see scan.h).
 *
 *   scan_pool.c     threads, the DB thread (reloads), kicks, completions
 *   scan_import.c   POST /v2/_customs/db: a feed into a new DB
 *   scan_job.c      one job: scan, re-match or assemble, then publish
 *   scan_report.c   pure JSON work on reports (unit-tested)
 *   scan_publish.c  the referrer artifact in each repository
 *   scan_vex.c      VEX documents applied to each image's report
 */
#ifndef REGISTRY_SCAN_INT_H
#define REGISTRY_SCAN_INT_H

#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/oci.h"
#include "registry/scan/scan.h"

/* A job is claimed for this long (--scan-lease), and the heartbeat
 * thread renews the leases of the jobs this node runs every quarter of
 * it: a node that dies or hangs (stopped, not scheduled) stops renewing,
 * and any node takes its jobs once the lease runs out. */
#define RS_LEASE_S 120
/* Claims before a job that keeps failing for a passing reason (EMFILE,
 * EIO, a restart in the middle) fails for good: with the backoff below,
 * about half an hour of retries. */
#define RS_MAX_ATTEMPTS 8
/* First wait before retrying such a job; doubled each time, at most
 * RS_RETRY_MAX_S. */
#define RS_RETRY_S     30
#define RS_RETRY_MAX_S 600
/* How often the DB file is checked for a change. */
#define RS_DB_POLL_S 2
/* Most re-match jobs a worker claims and writes at once.  A batch costs
 * four flushes whatever its size (the claim's commit, two syncs of its
 * blobs, the rows' commit): they, not the matching, bound the rate of
 * small batches; what a job keeps until the write is a few KiB. */
#define RS_BATCH 256
/* A batch is written once the reports it holds reach this many bytes
 * (each worker holds one batch: this bounds their memory). */
#define RS_BATCH_BYTES (1u << 20)
/* Most platforms an index report lists. */
#define RS_MAX_PLATFORMS 256

struct vulndb;
struct rs_import;

/* scan_vex.c: the repository-wide statements of repositories, read at
 * most every RS_VEX_TTL_S (and at once after a VEX push here): finding
 * them walks the repository's tags. */
#define RS_VEX_TTL_S 10
struct rs_vex_cache {
	pthread_mutex_t lock; /* guards what follows */
	struct rs_vex_repo {
		char *name;
		struct scan_vex *vex;
		time_t at; /* when read */
	} * repos;
	size_t n;
	uint64_t gen; /* bumped by each VEX push: a read that began before
		       * one is not kept as fresh */
};
void rs_vex_cache_init(struct rs_vex_cache *c);
void rs_vex_cache_release(struct rs_vex_cache *c);

struct rs_worker {
	struct reg_scan *pool;
	pthread_t thread;
	bool started;
	struct vulndb *db;	/* NULL: no DB */
	char *db_note;		/* with db NULL: why, for reports */
	uint64_t db_gen;	/* of db; reopened when the pool's changes */
	struct scan_sandbox sb; /* the pool's, telling this worker's pid */
	pid_t child;		/* the scan process running, or 0 */
	/* Re-match jobs claimed with the last batch's rows, for the next
	 * batch (scan_batch.c). */
	struct stor_scan_job *ahead;
	size_t nahead;
};

struct reg_scan {
	struct stor *st;
	struct reg_events *events; /* NULL: none */
	char *db_path;
	enum vuln_sev_pref sev_pref;  /* set on each DB handle opened */
	bool sbom;		      /* publish SBOM referrers */
	bool layers;		      /* per-layer indexes (--scan-layers) */
	struct scan_vex *vex;	      /* the --vex files, or NULL */
	struct rs_vex_cache vex_wide; /* repository-wide VEX */
	struct scan_budget budget;
	struct rs_worker *workers;
	int nworkers;
	pthread_t manager;
	bool manager_started;
	int64_t lease_s;
	pthread_t heartbeat;
	bool heartbeat_started;

	pthread_mutex_t lock; /* guards what follows, to waiters */
	pthread_cond_t cond;  /* a kick or stop */
	uint64_t kicks;
	atomic_bool stop;    /* set under lock; rs_stopping() reads it alone */
	uint64_t db_gen;     /* bumped when the DB file changes */
	char db_version[96]; /* of the loaded DB; "" none */
	char db_shown[96];   /* what reg_scan_db_version() says: db_version
			      * once its re-match jobs are queued */
	dev_t db_dev;	     /* identity of the file loaded */
	ino_t db_ino;
	struct timespec db_mtime;
	off_t db_size;
	struct rs_import *import; /* queued or running, or NULL */

	sem_t wake_manager; /* posted by reg_scan_reload() and imports */
	volatile sig_atomic_t reload_asked; /* set by reg_scan_reload() */

	reg_scan_final_fn on_final; /* lock; the subscriber, or NULL */
	void *on_final_arg;
	reg_scan_report_fn on_report; /* lock; the subscriber, or NULL */
	void *on_report_arg;
};

/* scan_pool.c */
/* The current DB generation, for a worker about to run. */
uint64_t rs_db_gen(struct reg_scan *s);
/* Whether reg_scan_stop() has been called. */
bool rs_stopping(struct reg_scan *s);
/* Reloads the DB if its file changed (or when forced): new generation,
 * and the reports matched against another DB are queued again.  *rearmed
 * (if not NULL) gets how many.  On the DB thread (or before it starts). */
void rs_db_check(struct reg_scan *s, bool force, size_t *rearmed);

/* Tells the subscriber that dg's scan became final.  Thread-safe. */
void rs_notify(struct reg_scan *s, const struct digest *dg);
/* Tells the report subscriber that dg's report is stored.  Thread-safe. */
void rs_reported(struct reg_scan *s, const struct digest *dg);

/* scan_import.c: an import asked by reg_scan_import(). */
struct rs_import {
	char *path; /* the feed, deleted when done */
	reg_scan_import_fn done;
	void *arg;
	struct reg_scan_import_result r;
	bool running; /* taken by the DB thread */
};
/* Runs it on the DB thread, reports to its done callback and frees it. */
void rs_import_run(struct reg_scan *s, struct rs_import *imp);
/* One that never ran (the pool stopped first): done says so. */
void rs_import_drop(struct rs_import *imp);

/* scan_job.c: runs one claimed job to its next state. */
/* When a job that failed with c on its attempts-th claim is tried again:
 * -1 never (the image is malformed or hostile: a worker died or a limit
 * killed it; or the passing failures ran out of attempts), else a time
 * after now that doubles from RS_RETRY_S up to RS_RETRY_MAX_S.  The image
 * stays pending (and refused by a policy) until then. */
int64_t rs_retry_at(enum err_code c, int attempts, time_t now);
void rs_job_run(struct rs_worker *w, struct stor_scan_job *job);

/* A job being run (scan_job.c, and scan_batch.c for re-matches). */
struct rs_job {
	struct rs_worker *w;
	struct stor *st;
	struct stor_scan_job *job;
	char **repos;
	size_t nrepos;
	struct stor_manifest *m;
	const char *repo;     /* the repository the manifest was read from */
	struct stor_scan cur; /* the stored result, if any */
	json_t *old;	      /* cur's report, parsed */
	const char *dbv;      /* the worker's DB version, or NULL */
	const char *what;     /* for the log: "scanned", "re-matched"... */
	bool stopped;	      /* the pool stopped while layers were read */
	bool lazy;	      /* rs_job_load() leaves cur.report unparsed */
	/* The image's referrers of every type in each of repos, listed once
	 * for VEX and the report referrer (scan_batch.c); NULL: each asks
	 * storage for its type. */
	struct rs_refs *refs;
};
/* A subject's referrers in one repository. */
struct rs_refs {
	struct stor_desc *d;
	size_t n;
};
/* Reopens the worker's DB when the pool has seen it change. */
void rs_worker_db(struct rs_worker *w);
/* Loads the repositories, the manifest and the stored result.  0 when no
 * repository has the manifest any more. */
int rs_job_load(struct rs_job *j, struct err *e);
/* Frees what rs_job_load() loaded. */
void rs_job_release(struct rs_job *j);
/* stor_scan_done() and stor_scan_fail() with the job's events
 * (scan_publish.c): scan.completed, or scan.failed when it fails for good
 * (retry_at < 0), one per repository that has the manifest. */
int rs_job_done(struct rs_job *j, const json_t *report, struct err *e);
int rs_job_failed(struct rs_job *j, const char *why, int64_t retry_at,
		  struct err *e);
/* Queues the job again later, or fails it for good (see rs_retry_at()). */
void rs_job_fail(struct rs_job *j, const struct err *why);
/* The log line of a finished job (t0: when it began, CLOCK_MONOTONIC). */
void rs_job_log(const struct rs_job *j, const json_t *report,
		const struct timespec *t0);
bool rs_same_str(const char *a, const char *b);

/* scan_batch.c: claims up to RS_BATCH re-match jobs (or takes those
 * claimed ahead) and runs them with one write for all, which claims the
 * next batch ahead; false when none was due. */
bool rs_batch_run(struct rs_worker *w);
/* Gives back the jobs claimed ahead: the worker stops. */
void rs_batch_end(struct rs_worker *w);

/* scan_layers.c: per-layer indexes (see there). */
/* Claims and indexes one queued layer; false when none was due. */
bool rs_layer_run(struct rs_worker *w);
/* The report of j's image merged from its layers' indexes (the missing
 * ones indexed first); 1 when it cannot be had that way (an index, a
 * layer that is not indexed and cannot be, --scan-layers=off). */
int rs_job_layers(struct rs_job *j, const struct scan_source *src,
		  const struct scan_opts *o, json_t **out, struct err *e);

/* scan_vex.c: VEX applied per image (see there). */
/* Whether a referrer of artifact_type may carry VEX. */
bool rs_vex_type(const char *artifact_type);
/* The documents that concern j's image (NULL: none).  The caller frees. */
struct scan_vex *rs_vex_load(struct rs_job *j);
/* Applies v (may be NULL) to the image report *report, made from the
 * stored report own (NULL: none; parsed): *report becomes a new report
 * (1) when v has documents or own had VEX applied, else stays (0).
 * *report is never changed in place: it may be shared. */
int rs_vex_report(struct rs_job *j, const struct scan_vex *v, const json_t *own,
		  json_t **report, struct err *e);

/* scan_report.c */
/* The findings of a report, short, for the pull policy to read on every
 * pull without parsing the report:
 *	{"status": "complete" | "incomplete", "why": "budget X reached",
 *	 "no_data": "no advisory source covers amzn 2: ...",
 *	 "findings": [{"id", "aliases", "severity"}, ...]}
 * ("why" only when incomplete, at most RS_WHY_MAX bytes; "no_data" only
 * when OS packages went unmatched, see SCAN_NO_SOURCE).  An index's
 * findings are its platforms'.  Results stored before this form are a bare
 * findings array (policy.c reads both).  The caller frees. */
char *rs_findings(const json_t *report);
#define RS_WHY_MAX 160
/* Whether two reports say the same, ignoring when and with which DB and
 * scanner they were made. */
bool rs_report_same(const json_t *a, const json_t *b);
/* A member of a JSON object's text: its key (without quotes) and value. */
struct rs_text_span {
	size_t key, klen, val, vlen; /* offsets and lengths in the text */
};
/* The top-level members of a JSON object's text (n bytes), in order, into
 * *out (the caller's to free).  Only the structure is read, not the
 * values: for re-matching reports without parsing them (scan_batch.c).
 * -1 when it is not an object, or a key has an escape. */
int rs_text_split(const char *text, size_t n, struct rs_text_span **out,
		  size_t *count);
/* Whether a report says REG_SCAN_NOT_SCANNED (it is never published). */
bool rs_report_not_scanned(const json_t *report);
/* The same, told by a result's findings (rs_findings()'s text). */
bool rs_findings_not_scanned(const char *findings);
/* Whether an image's report read no layer as a filesystem: its
 * "filesystem_layers" is 0 (reports made before the count have none and
 * are taken as read). */
bool rs_report_unread(const json_t *report);
/* Makes report say REG_SCAN_NOT_SCANNED, REG_SCAN_NOT_IMAGE (status,
 * reason, a note) and drops its "counts"; what it read (layers, notes)
 * stays.  Idempotent. */
void rs_mark_not_image(json_t *report);
/* rs_report_in() and rs_manifest_kind() are in scan.h (the API uses them). */

/* One platform of an index. */
struct rs_platform {
	struct digest digest;
	char name[96];	  /* "linux/arm64/v8" */
	const char *skip; /* why it is not scanned, or NULL */
};
/* The platform manifests of an index body, skipping attestations; at
 * most RS_MAX_PLATFORMS.  *out is the caller's to free. */
int rs_index_platforms(const char *body, size_t len, struct rs_platform **out,
		       size_t *n, struct err *e);

/* What an index report is made of. */
struct rs_index_part {
	const struct rs_platform *p;
	const json_t *report; /* the platform's, or NULL */
	const char *why;      /* when report is NULL: why not */
};
struct rs_index_meta {
	const struct digest *digest;
	const char *media_type;
	const char *repository;
	const char *db_version; /* NULL: no vulnerability data */
	time_t now;
};
/* An index's report: header, each platform's report under "manifests",
 * counts summed, a note per platform without one.  It is "incomplete"
 * when a platform's report is, or when an image platform (p->skip NULL)
 * has no report (its scan failed): "budgets" lists the platforms' budgets
 * (each with its "platform"), "failed" those platforms
 * ({"platform", "digest", "error"}). */
json_t *rs_index_report(const struct rs_index_part *parts, size_t n,
			const struct rs_index_meta *m);

/* The subject of a referrer. */
struct rs_subject {
	const struct digest *digest;
	const char *media_type;
	int64_t size;
};
/* An artifact manifest of artifactType type: the empty config, the blob
 * (dg, len) of media type type as its one layer, subject subj,
 * annotations ann.  The caller frees it. */
char *rs_artifact_manifest(const char *type, const json_t *ann,
			   const struct digest *dg, size_t len,
			   const struct rs_subject *subj);
/* The referrer manifest for a report blob (report_dg, report_len) about
 * subj; *annotations gets its annotations object as compact JSON.  Built
 * only from its inputs (the time is the report's), so the same report
 * gives the same manifest.  Both strings are the caller's. */
char *rs_referrer_manifest(const json_t *report, const struct digest *report_dg,
			   size_t report_len, const struct rs_subject *subj,
			   char **annotations);

/* scan_publish.c: makes repo's report referrer for subject the one of
 * report (replacing others); nothing if repo no longer has it. */
/* Deletes every report referrer of subject in repo. */
int rs_unpublish(struct stor *st, const char *repo,
		 const struct digest *subject, struct err *e);
int rs_publish(struct stor *st, const char *repo, const struct digest *subject,
	       const json_t *report, struct err *e);
/* The SBOM referrers (REG_SCAN_SBOM_SPDX_TYPE, REG_SCAN_SBOM_CDX_TYPE) of
 * report's inventory, replacing others; nothing written when they are
 * there already for the same inventory (their REG_SCAN_SBOM_KEY).  Drops
 * them all when !on. */
int rs_sbom_publish(struct stor *st, const char *repo,
		    const struct digest *subject, const json_t *report, bool on,
		    struct err *e);
/* What rs_publish() would write, read but not written.  text, if not NULL,
 * is report as compact JSON (saves making it again; it must outlive p).
 * known, if not NULL, is subject's manifest as just read from repo (saves
 * reading it again). */
struct rs_pub {
	char *text, *body, *ann; /* the report, its referrer, annotations */
	struct digest refs[2];	 /* the empty config, the report */
	struct digest mdg;	 /* the referrer's */
	struct stor_blob_data blobs[2]; /* of refs */
	struct stor_manifest_put put;	/* put.repo NULL: repo lacks subject */
	struct digest *drop;		/* the other report referrers */
	size_t ndrop;
	bool in_place; /* the referrer is there alone: nothing to write */
	bool borrowed; /* text is rs_pub_plan()'s, kept by its caller */
};
/* refs, if not NULL, are subject's referrers in repo of every type (saves
 * listing them again). */
int rs_pub_plan(struct stor *st, const char *repo, const struct digest *subject,
		const struct stor_manifest *known, const struct rs_refs *refs,
		const json_t *report, const char *text, struct rs_pub *p,
		struct err *e);
void rs_pub_release(struct rs_pub *p);

#endif
