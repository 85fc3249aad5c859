/* registry/scan/scan.h: the scan room's front door.
 *
 * registry/scan/ is the scan service: the job queue's workers, the DB
 * thread (reloads, imports), publishing reports as referrers, and the
 * JSON of reports.  The rest of registry/
 * calls it through this header only: serve.c starts and stops it, a
 * manifest PUT (api_manifest.c, the proxy) stores its job and calls
 * reg_scan_kick(), registry/waiters.c learns of finished scans through
 * reg_scan_on_final(), and the scan API reads reports with rs_report_in()
 * and rs_manifest_kind().  Nothing here takes a request.  scan_int.h is
 * the room's private map.
 *
 * Scan on push, the registry's side.
 *
 * A manifest PUT stores the manifest and its scan job in one transaction
 * (storage.h, "Scan jobs and reports"), then calls reg_scan_kick().  A pool
 * of worker threads takes the jobs; each has its own vulnerability DB
 * handle and reads layers straight from the blob store, so no event loop
 * ever waits for a scan.  A finished job leaves:
 *   - the report, per manifest digest, in meta.db (with the package
 *     inventory, so a new DB re-matches it without reading layers);
 *   - in every repository that has the manifest, a referrer artifact
 *     (artifactType REG_SCAN_REPORT_TYPE, the empty config, the report as
 *     its one layer, subject = the manifest, the counts as annotations)
 *     that replaces the previous one; none when nothing was read as a
 *     filesystem (REG_SCAN_NOT_IMAGE below), and the previous one goes.
 * An index waits for a job per platform manifest and lists their reports.
 *
 * The vulnerability DB is reopened when its file changes (`customs db
 * import` while the server runs, checked every few seconds), on
 * reg_scan_reload() (SIGHUP) and after reg_scan_import() (POST
 * /v2/_customs/db); then every stored report is re-matched and the ones
 * whose findings changed are replaced.
 *
 * Requests waiting for a report (?wait=N, pull policy) are held by
 * registry/waiters.c, which the pool tells of each scan that became final.
 */
#ifndef REGISTRY_SCAN_H
#define REGISTRY_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/digest.h"
#include "common/err.h"
#include "scanner/scanner.h"
#include "storage/storage.h"

struct reg_scan;
struct reg_events;

#define REG_SCAN_REPORT_TYPE "application/vnd.customs.scan.report.v1+json"
/* SBOM referrers: the artifact types syft, trivy and oras attach. */
#define REG_SCAN_SBOM_SPDX_TYPE "application/spdx+json"
#define REG_SCAN_SBOM_CDX_TYPE	"application/vnd.cyclonedx+json"
/* Referrers that carry VEX: OpenVEX (as `oras attach --artifact-type`
 * pushes it) and CycloneDX VEX BOMs. */
#define REG_SCAN_VEX_TYPES                                                     \
	"application/vnd.openvex+json", "application/vnd.cyclonedx+json"
/* Their annotation naming the inventory they were made of. */
#define REG_SCAN_SBOM_KEY "dev.customs.sbom.inventory"
/* What is said of a manifest none of whose layers was read as a filesystem
 * (an artifact, an image of random blobs): its report's "status" is
 * REG_SCAN_NOT_SCANNED, "reason" this, and it gets no referrer. */
#define REG_SCAN_NOT_IMAGE   "not a container image: nothing to scan"
#define REG_SCAN_NOT_SCANNED "not-scanned"

struct reg_scan_config {
	struct stor *st;	     /* borrowed; outlives the pool */
	int workers;		     /* threads; 0: one per core */
	int64_t lease_s;	     /* a claim's lease; 0: RS_LEASE_S */
	const char *vuln_db;	     /* the DB file; it may not exist (yet) */
	struct scan_budget budget;   /* what one image's scan may cost */
	struct scan_sandbox sandbox; /* the worker processes' limits */
	enum vuln_sev_pref sev_pref; /* whose severity first */
	struct reg_events *events;   /* scan.completed/failed; may be NULL */
	bool sbom;		     /* SBOM referrers too (--sbom-referrers) */
	bool layers; /* per-layer indexes, merged per image (--scan-layers) */
	char *const *vex_files; /* OpenVEX/CycloneDX VEX files (--vex) */
	size_t nvex_files;
};

/* Starts the workers after queueing again the jobs a crash or a restart
 * interrupted.  A missing DB is not an error: reports then say "no
 * vulnerability data". */
struct reg_scan *reg_scan_new(const struct reg_scan_config *cfg, struct err *e);
/* Stops and joins the threads (a scan in progress ends first; its job is
 * taken again at the next start); completions stop with them.  Call
 * before the HTTP server is freed. */
void reg_scan_stop(struct reg_scan *s);
void reg_scan_free(struct reg_scan *s);

/* A job was enqueued: wake a worker.  Thread-safe; s may be NULL. */
void reg_scan_kick(struct reg_scan *s);
/* Blob dg was uploaded: with per-layer indexes on, it is queued to be
 * indexed (if it is a layer) before any manifest names it.  Thread-safe;
 * s may be NULL. */
void reg_scan_layer_uploaded(struct reg_scan *s, const struct digest *dg);
/* Reopen the DB and re-match if it changed.  Async-signal-safe. */
void reg_scan_reload(struct reg_scan *s);
/* The loaded DB's version into out ("" when there is no DB). */
void reg_scan_db_version(struct reg_scan *s, char *out, size_t n);

/* A referrer of artifact_type about subject was pushed to repo: when it
 * carries VEX, the subject's report is made again (and, if it says
 * something of the whole repository, each tagged image's in repo).
 * s may be NULL. */
int reg_scan_vex_pushed(struct reg_scan *s, const char *repo,
			const struct digest *subject, const char *artifact_type,
			struct err *e);

/* Deleting a VEX referrer brings back what it suppressed:
 * reg_scan_vex_of() before the delete says whether manifest dg of repo
 * is one (and of which subject), reg_scan_vex_dropped() after it queues
 * the reports it changed.  s may be NULL. */
struct reg_scan_vex_ref {
	bool vex;  /* dg is a VEX referrer */
	bool wide; /* with statements about the whole repository */
	struct digest subject;
};
void reg_scan_vex_of(struct reg_scan *s, const char *repo,
		     const struct digest *dg, struct reg_scan_vex_ref *out);
int reg_scan_vex_dropped(struct reg_scan *s, const char *repo,
			 const struct reg_scan_vex_ref *r, struct err *e);

/* The manifest dg was deleted from repo: its report referrers there go,
 * and its job and report once no repository has it. */
int reg_scan_forget(struct stor *st, const char *repo, const struct digest *dg,
		    struct err *e);

/* --- Completions ---------------------------------------------------------
 *
 * The service knows no requests: registry/waiters.c holds them and is told
 * what ended. */

/* dg's scan became final (see reg_scan_final()).  Called from a worker
 * thread; it must be quick and must not call back into the pool. */
typedef void (*reg_scan_final_fn)(void *arg, const struct digest *dg);
/* Sets the one subscriber (fn NULL: none); arg is borrowed. */
void reg_scan_on_final(struct reg_scan *s, reg_scan_final_fn fn, void *arg);
/* True once dg has a report or will never get one. */
bool reg_scan_final(const struct stor_scan *sc);

/* A report of dg is stored: a new one, or the stored one found unchanged
 * by a scan or a re-match (what the web UI shows of it can be made now,
 * before anyone asks).  Called from a worker thread, after the report's
 * row is written; it must be quick (hand the work to another thread) and
 * must not call back into the pool. */
typedef void (*reg_scan_report_fn)(void *arg, const struct digest *dg);
/* Sets the one subscriber (fn NULL: none); arg is borrowed. */
void reg_scan_on_report(struct reg_scan *s, reg_scan_report_fn fn, void *arg);

/* --- Importing a DB (POST /v2/_customs/db) ------------------------------ */

struct reg_scan_import_result {
	struct err e; /* e.code ERR_OK on success */
	size_t records, skipped;
	bool unchanged;
	size_t rematch; /* reports queued for re-matching */
	char version[96];
};
/* Runs once per accepted import with its outcome, on the pool's DB
 * thread (or in reg_scan_free() for an import that never ran). */
typedef void (*reg_scan_import_fn)(void *arg,
				   const struct reg_scan_import_result *r);

/* Imports the feed file at path on the pool's own thread into a new DB,
 * puts it in place if it holds advisories and differs from the loaded
 * one, and re-matches.  Then deletes the file and its directory (made for
 * it alone, see reg_scan_feed_remove()) and calls done(arg, result).
 * Fails with ERR_BUSY while another import runs (path is then left to the
 * caller, and done is not called). */
int reg_scan_import(struct reg_scan *s, const char *path,
		    reg_scan_import_fn done, void *arg, struct err *e);
/* Deletes a feed file and the directory holding it. */
void reg_scan_feed_remove(const char *path);

/* --- Reading reports (scan_report.c; pure, no pool needed) ------------- */

/* A copy of report naming repo as its repository (each platform's too).
 * It shares the other members with report: read it, do not change it. */
json_t *rs_report_in(const json_t *report, const char *repo);

/* The report of a manifest that is not a container image (status
 * REG_SCAN_NOT_SCANNED, reason REG_SCAN_NOT_IMAGE), for one that never
 * gets a scan (an artifact).  The caller's. */
json_t *rs_not_image_report(const struct digest *dg, const char *media_type,
			    const char *repo);

/* Whether a manifest body is an index (1), an image manifest (0), or
 * neither (-1: not JSON, or an artifact): oci_manifest_kind_of()
 * (common/oci.h) as a number. */
int rs_manifest_kind(const char *body, size_t len);

#endif
