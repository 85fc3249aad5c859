/* scanner.h: the scanner's one public header, for registry/, main and the
 * tests of other modules.  Everything else in scanner/ is private (_int.h).
 *
 * What it offers:
 *   - the subcommands `customs scan`, `customs db` and `customs
 *     scan-worker` (scan_cmd_main() ...: each parses its own argv, argv[0]
 *     being the subcommand, and returns the process exit status);
 *   - scanning an image read through a scan_source, one callback that
 *     opens a blob by digest, with its layers parsed in sandboxed worker
 *     processes and within a scan_budget: scan_run_sandboxed();
 *   - re-matching a stored report against the current DB without reading
 *     any layer: scan_rematch();
 *   - the vulnerability DB: vulndb_import(), vulndb_open(), its version;
 *   - severities, as reports and policies spell them.
 *
 * How the registry calls it: it wraps its blob store in a scan_source
 * (stor_blob_open() already gives an fd), opens one vulndb per worker
 * thread and scans each pushed image:
 *
 *	static int job_open_blob(void *ctx, const struct digest *dg,
 *				 struct scan_blob *b, struct err *e)
 *	{
 *		struct scan_job *j = ctx;
 *
 *		scan_blob_init(b);
 *		b->offset = 0;
 *		return stor_blob_open(j->st, j->repo, dg, &b->fd, &b->size, e);
 *	}
 *
 *	struct scan_source src = { job_open_blob, job };
 *	struct scan_opts o = { .db = db, .repository = job->repo };
 *	struct scan_sandbox sb;
 *	json_t *report;
 *
 *	scan_sandbox_defaults(&sb);
 *	if (scan_run_sandboxed(&src, &dg, &o, &sb, &report, &e) == 0) {
 *		char *text = json_dumps(report, JSON_COMPACT);
 *		... store text, build the referrer from report's "counts" ...
 *	}
 *
 * The report is JSON (DESIGN.md "The report"): "counts" {critical, high,
 * medium, low, unknown}, "status" "complete" | "incomplete", "db"
 * {version} | null, "layers", "filesystem_layers" (how many of them
 * decoded as tar: 0 means nothing was read as a filesystem; reports made
 * before the count lack it), "packages", "vulnerabilities", "notes", ...;
 * an index gets one report per platform in "manifests".
 *
 * Layers are streamed once, in order, through libarchive (gzip, zstd or
 * plain tar); only files a detector wants are read, each under a size cap,
 * and nothing is written to disk.  Every call uses its own state, so scans
 * may run on several threads at once (each with its own vulndb handle).
 */
#ifndef SCANNER_SCANNER_H
#define SCANNER_SCANNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/digest.h"
#include "common/err.h"

/* --- Subcommands --------------------------------------------------------- */

/* customs scan [--db F] [--format json|table|cyclonedx] [--fail-on LEVEL]
 *              IMAGE */
int scan_cmd_main(int argc, char **argv);
/* customs db import [--db F] PATH... | customs db status [--db F] */
int scan_db_cmd_main(int argc, char **argv);
/* `customs scan-worker`: the sandbox worker's side (its parent is on fd 3). */
int scan_worker_main(int argc, char **argv);

/* --- Where the image comes from ------------------------------------------ */

/* An open blob: either a byte range of an fd (fd >= 0: bytes
 * [offset, offset + size) are the blob; read with pread, so the fd may be
 * shared), or a pull reader (fd == -1). */
struct scan_blob {
	int fd; /* closed by scan_blob_close() */
	int64_t offset;
	int64_t size; /* -1 if unknown (readers only) */
	/* Pull reader: sets *buf to the next bytes and returns their count,
	 * 0 at the end, -1 on error (detail in e). */
	ssize_t (*read)(void *ctx, const void **buf, struct err *e);
	void (*close)(void *ctx); /* releases ctx */
	void *ctx;
};

/* fd -1, offset 0, size -1, no reader. */
void scan_blob_init(struct scan_blob *b);
/* Closes the fd or the reader; the blob is then as after init. */
void scan_blob_close(struct scan_blob *b);

struct scan_source {
	/* Opens blob dg into *b (initialised by the callee).  Fails with
	 * ERR_BLOB_UNKNOWN when the source does not have it. */
	int (*open_blob)(void *ctx, const struct digest *dg,
			 struct scan_blob *b, struct err *e);
	void *ctx;
};

/* --- What a scan may cost ------------------------------------------------ */

/* Untrusted images are read within these; the first limit reached ends
 * that part of the scan and makes the report "incomplete" (never a silent
 * skip).  0 means "no limit" for each.
 *
 * A report carries
 *	"status": "complete" | "incomplete",
 *	"budgets": [ {"budget": "layer_bytes", "limit": 4294967296,
 *		      "layer": "sha256:…", "detail": "…"}, … ]
 * ("budgets" only when one was hit).  An absent "status" (reports made
 * before budgets existed) reads as "complete". */
struct scan_budget {
	int64_t layer_bytes;   /* decompressed bytes per layer */
	int64_t image_bytes;   /* decompressed bytes per image, all layers */
	int64_t ratio;	       /* decompressed : compressed bytes of a layer,
				* checked once SCAN_RATIO_FLOOR bytes are out */
	int64_t layer_entries; /* tar entries per layer */
	int64_t file_bytes;    /* bytes read of one file a detector wants */
	int64_t packages;      /* inventory entries per image */
	int64_t deadline_ms;   /* wall clock per scan */
};
#define SCAN_RATIO_FLOOR ((int64_t)64 << 20)

/* Fills b with the defaults (see scan.c for the figures behind them). */
void scan_budget_defaults(struct scan_budget *b);

/* --- Scanning ------------------------------------------------------------ */

struct vulndb;

/* A note given as scan_opts.db_note must start so: a re-match with a DB
 * then drops it. */
#define SCAN_NO_DB "no vulnerability data"
/* A report note starting so names OS packages no advisory source covers
 * ("no advisory source covers amzn 2: its 104 rpm packages were not
 * matched", or a DB without its advisories: "... the vulnerability DB
 * holds no Rocky Linux advisories"): their absence of findings means
 * nothing, so `customs scan
 * --fail-on` cannot judge the image and the pull policy does not serve it
 * as clean (--policy-without-db allow does). */
#define SCAN_NO_SOURCE "no advisory source covers"
/* A report note starting so says the OS packages were matched against
 * another distribution's advisories (CentOS against Red Hat's). */
#define SCAN_OTHER_SOURCE "matched against another distribution's advisories"
/* Whether a report (or, for an index, one of its platforms) has such a
 * note; *note (may be NULL) gets it, borrowed from the report. */
bool scan_report_gap(const json_t *report, const char **note);

struct scan_opts {
	const struct scan_budget *budget; /* NULL: scan_budget_defaults() */
	struct vulndb *db;	/* NULL: no vulnerability data (the report
				 * says so and lists no vulnerabilities) */
	const char *db_note;	/* with db NULL: the note saying why */
	const char *repository; /* for the report, or NULL */
	const char *tag;	/* for the report, or NULL */
	time_t now;		/* report time; 0: time(NULL) */
};

/* Untrusted layers are parsed in worker processes, never in the caller's
 * address space.  Each image gets a fresh `customs scan-worker` (spawned
 * from exe, so nothing of the caller's memory, locks or descriptors is
 * inherited) that:
 *   - has address-space, CPU-time, file-size (0), open-file and core (0)
 *     limits, and drops to nobody when started as root;
 *   - runs under a seccomp filter that allows reading, memory and the
 *     socket to its parent, and opening files read-only: it cannot write
 *     a file, start a process or reach a network;
 *   - asks its parent for each blob and gets a descriptor (SCM_RIGHTS),
 *     or a pipe the parent fills for sources that are not files;
 *   - sends back the report without findings: matching against the
 *     vulnerability DB happens in the caller, with scan_rematch().
 * A worker that crashes, is killed by a limit or outlives the deadline
 * (the budget's plus a grace) ends that image's scan with ERR_INVALID
 * ("worker died: ...") or ERR_TOO_LARGE ("... limit"): both mean "this
 * input is hostile, do not retry".  ERR_IO means a passing failure of
 * the caller's side (opening a blob, spawning): retry later.
 */
struct scan_sandbox {
	const char *exe;      /* the customs binary; NULL: /proc/self/exe */
	int64_t memory_bytes; /* address space of a worker; 0: no limit */
	int64_t report_bytes; /* largest report taken from a worker */
	int grace_s;	      /* beyond the budget's deadline */
	int unsafe_inprocess; /* 1: no worker (tests of the scanner only) */
	/* Told each worker's pid as it starts, and 0 before it is reaped,
	 * so a caller that stops may kill it; NULL: nobody is told. */
	void (*track)(void *ctx, pid_t pid);
	void *track_ctx;
};
#define SCAN_SANDBOX_MEMORY ((int64_t)1 << 30)
#define SCAN_SANDBOX_REPORT ((int64_t)32 << 20)
#define SCAN_SANDBOX_GRACE  10

void scan_sandbox_defaults(struct scan_sandbox *sb);

/* Scans the image manifest or image index dg, each image read by a
 * sandboxed worker; opts->db is used here, in the caller, to match the
 * workers' inventories.  For an index, each platform image is scanned and
 * gets its own report inside the index's report.  On success *report is
 * a new reference the caller json_decref()s.  Fails only when the image
 * itself cannot be read (manifest, index or config missing or malformed,
 * not a container image) or a worker failed as above; unreadable layers
 * and files become notes in the report instead. */
int scan_run_sandboxed(const struct scan_source *src, const struct digest *dg,
		       const struct scan_opts *opts,
		       const struct scan_sandbox *sb, json_t **report,
		       struct err *e);

/* --- Per-layer indexes ----------------------------------------------------
 *
 * A layer is read once, alone, by digest, into an index (JSON): the files
 * its detectors read, each with what it yielded, keyed by in-image path,
 * and what the layer removes from the layers below it (whiteouts, opaque
 * directories, links and executables over lower paths).  An image's
 * report is then a merge of its layers' indexes in order: per path the
 * topmost layer's file, whiteouts honoured, then the OS, the packages
 * (each naming the layer that brought it in) and the findings as a scan
 * of the whole image gives them.  The budgets apply per layer when it is
 * indexed; the image-wide ones (image_bytes, packages) to the merge.
 *
 * An index carries "v": SCAN_LAYER_INDEX_V; one of another version is
 * not merged (the layer is indexed again).  Bump it when a detector
 * changes what it finds. */
#define SCAN_LAYER_INDEX_V "customs-layer-index/3"

/* Whether idx may stand for its layer under budget b: an index whose
 * reading hit a budget is the layer's only under the limits it was made
 * with (an operator who raises one gets the layer read again). */
bool scan_layer_index_current(const json_t *idx, const struct scan_budget *b);

/* Whether a blob's first bytes (len of them, 262 or more for tar) look
 * like a layer: gzip, zstd or tar.  Configs and other JSON do not. */
bool scan_layer_sniff(const void *head, size_t len);

/* Indexes layer dg of src in a sandboxed worker (as scan_run_sandboxed(),
 * with budget b, NULL for the defaults).  *index is the caller's.  A blob
 * that is no archive gets an index all the same (a note, no files). */
int scan_layer_index_sandboxed(const struct scan_source *src,
			       const struct digest *dg,
			       const struct scan_budget *b,
			       const struct scan_sandbox *sb, json_t **index,
			       struct err *e);

/* Where the merge finds a layer's index: get() sets *index (a new
 * reference) and returns 1, or returns 0 when dg has none (yet), or -1. */
struct scan_layer_lookup {
	int (*get)(void *ctx, const struct digest *dg, json_t **index,
		   struct err *e);
	void *ctx;
};

/* The report of image manifest dg made from its layers' indexes (only the
 * manifest and config are read from src; opts->db matches here).  It says
 * "layer_index": "merged".  Returns 1, and no report, when a layer has
 * no index (get() was asked for every layer, so a caller may note them
 * all) or dg is an index; else as scan_run_sandboxed(). */
int scan_run_layers(const struct scan_source *src, const struct digest *dg,
		    const struct scan_opts *opts,
		    const struct scan_layer_lookup *lk, json_t **report,
		    struct err *e);

/* Confines the calling process as a worker is confined (limits with
 * memory_bytes and cpu_s, 0 for none; nobody; the seccomp filter).  For
 * processes that parse untrusted bytes themselves, such as the fuzz
 * drivers.  Irreversible. */
int scan_sandbox_enter(int64_t memory_bytes, int cpu_s);

/* Re-matches a stored report against db (NULL: no data) without reading
 * any layer: the inventory is taken from the report itself.  The new
 * report keeps the image, OS, packages and notes; *out is the caller's. */
int scan_rematch(const json_t *report, struct vulndb *db, time_t now,
		 json_t **out, struct err *e);

/* SBOMs of a report's inventory (its image, os, layers, packages and
 * completeness; not its findings, notes or usage).  scan_sbom_inventory()
 * returns that part of report, plus its "created", and sets *key to the
 * digest of the part (without "created"): two reports with the same key
 * give SBOMs that differ at most in their time.  Both results are the
 * caller's. */
enum scan_sbom_format {
	SCAN_SBOM_SPDX,	     /* SPDX 2.3 JSON */
	SCAN_SBOM_CYCLONEDX, /* CycloneDX 1.5 JSON */
};
json_t *scan_sbom_inventory(const json_t *report, struct digest *key);
json_t *scan_sbom(const json_t *report, enum scan_sbom_format f);

/* VEX: OpenVEX documents (and CycloneDX VEX BOMs, read as OpenVEX) that
 * say which findings do not apply (vex.c says how statements are
 * matched).  scan_vex_add() parses and checks one
 * document (text, len; not kept), named name in the reports it changes.
 * scan_vex_apply() moves the findings a not_affected or fixed statement
 * covers from "vulnerabilities" to "suppressed", marks the others a
 * statement covers, makes the counts again and lists the documents used
 * in "vex"; v NULL or empty changes nothing. */
struct scan_vex;
struct scan_vex *scan_vex_new(void);
int scan_vex_add(struct scan_vex *v, const char *name, const char *text,
		 size_t len, struct err *e);
/* scan_vex_add() of a file's content, named by its path. */
int scan_vex_add_file(struct scan_vex *v, const char *path, struct err *e);
void scan_vex_apply(const struct scan_vex *v, json_t *report);
void scan_vex_free(struct scan_vex *v);
/* scan_vex_add() keeping only the statements about a whole repository
 * (a product pkg:oci/NAME without a digest): 1, and nothing added, when
 * it has none. */
int scan_vex_add_wide(struct scan_vex *v, const char *name, const char *text,
		      size_t len, struct err *e);
/* Whether v holds a document named name. */
bool scan_vex_has(const struct scan_vex *v, const char *name);
/* How many documents v holds (0 for NULL). */
size_t scan_vex_count(const struct scan_vex *v);
/* Adds src's documents to dst (shared, not copied; src may be NULL). */
void scan_vex_merge(struct scan_vex *dst, const struct scan_vex *src);
/* Whether scan_vex_apply() changed report (it lists documents in "vex"). */
bool scan_vex_applied(const json_t *report);
/* Drops what scan_vex_apply() added beside the findings ("suppressed",
 * "vex"): for a report whose findings were made again (a re-match). */
void scan_vex_clear(json_t *report);

/* --- The vulnerability DB ------------------------------------------------ */

/* Data is imported, never fetched at scan time.  vulndb_import() reads OSV
 * JSON (a file, a directory tree, or a zip such as OSV's all.zip) and
 * Alpine secdb JSON, and atomically replaces the DB file. */
struct vulndb_import_stats {
	size_t records; /* advisories stored */
	size_t skipped; /* malformed records, each logged by name */
	bool unchanged; /* same data as before: nothing replaced */
};

/* Imports paths into dbpath (created or atomically replaced), each read
 * as VULNDB_AUTO. */
int vulndb_import(const char *dbpath, const char *const *paths, size_t npaths,
		  struct vulndb_import_stats *stats, struct err *e);

/* What an input holds.  VULNDB_AUTO tells OSV records and Alpine secdb
 * documents apart by their content, in files, directory trees and
 * archives; the large feeds that are streamed are named:
 *   VULNDB_DEBIAN_TRACKER  the Debian Security Tracker's JSON
 *   VULNDB_NVD             NVD CVE API 2.0 JSON or a 2.0 feed file
 * Streamed inputs may be compressed (gzip, xz, zstd). */
enum vulndb_kind {
	VULNDB_AUTO = 0,
	VULNDB_OSV,
	VULNDB_ALPINE_SECDB,
	VULNDB_DEBIAN_TRACKER,
	VULNDB_NVD,
};
/* "osv", "alpine-secdb", "debian-tracker", "nvd" (and "auto"); -1 when s
 * names no kind. */
int vulndb_kind_parse(const char *s, enum vulndb_kind *out);
const char *vulndb_kind_name(enum vulndb_kind k);

struct vulndb_input {
	const char *path;
	enum vulndb_kind kind;
	const char *source; /* its name in the DB's status, or NULL */
	size_t records;	    /* out: records stored from it */
	size_t skipped;	    /* out: malformed records skipped */
};

/* Imports the inputs into dbpath, as vulndb_import() does. */
int vulndb_import_inputs(const char *dbpath, struct vulndb_input *in, size_t n,
			 struct vulndb_import_stats *stats, struct err *e);

/* --- Keeping the DB current (feeds.c) -------------------------------------
 *
 * vulndb_update() downloads each source into its own cache directory
 * (conditional GET: an unchanged feed costs one request), verifies what
 * the source publishes (sizes, x-goog-hash, NVD's .meta), keeps the last
 * good copy when a download fails, and imports every source's copy into a
 * new DB that replaces the old one only when something changed. */
/* The cache's name in a data directory (DATA/advisories). */
#define VULNDB_CACHE_DIR "advisories"

struct vulndb_source {
	char *name; /* unique: status and cache directory */
	enum vulndb_kind kind;
	char *url; /* http or https */
};
/* "KIND=URL" (kind as vulndb_kind_parse(), not auto); the name is
 * "KIND:" + host and path.  out is the caller's (vulndb_source_release). */
int vulndb_source_parse(const char *spec, struct vulndb_source *out,
			struct err *e);
void vulndb_source_release(struct vulndb_source *s);
void vulndb_sources_free(struct vulndb_source *v, size_t n);

/* Which public feeds the defaults hold.  all: every one; else the OSV
 * ecosystems named (OSV's names: "Debian", "PyPI", ...) and the Alpine
 * branches ("v3.19"); the Debian tracker with "Debian", NVD always. */
struct vulndb_want {
	bool all;
	const char *const *ecosystems;
	size_t necosystems;
	const char *const *alpine;
	size_t nalpine;
};
/* The public feeds (OSV per ecosystem, Alpine secdb per branch, the Debian
 * Security Tracker, NVD 2.0 yearly up to now's year and modified).  *out
 * is the caller's (vulndb_sources_free). */
void vulndb_sources_default(const struct vulndb_want *want, time_t now,
			    struct vulndb_source **out, size_t *n);

struct vulndb_fetch_limits {
	int connect_timeout_s; /* to connect (DNS and TLS included) */
	int stall_timeout_s;   /* under 1 KiB/s this long ends a download */
	int timeout_s;	       /* one request, all of it */
	int64_t max_bytes;     /* one download's body */
	int attempts;	       /* tries for passing failures (5xx, network) */
	int backoff_s;	       /* first wait between them, then doubled */
	int max_redirects;
};
#define VULNDB_FETCH_MAX_BYTES ((int64_t)2 << 30)
void vulndb_fetch_defaults(struct vulndb_fetch_limits *l);

/* A CycloneDX 1.5 BOM of a report, its findings included (report_cdx.c);
 * the caller's.  The web UI's download. */
json_t *report_cyclonedx(const json_t *report);

struct vulndb_update_opts {
	const char *dbpath;
	const char *cache_dir; /* one directory per source in it */
	const struct vulndb_source *sources;
	size_t nsources;
	struct vulndb_fetch_limits limits;
	/* Asked between and during downloads; true ends the update (serve
	 * stopping).  NULL: never. */
	bool (*stopping)(void *ctx);
	void *ctx;
};
struct vulndb_update_result {
	size_t fetched;	  /* sources with a new copy */
	size_t unchanged; /* sources the server said are unchanged */
	size_t failed;	  /* sources whose download or copy failed */
	bool imported;	  /* an import ran */
	bool swapped;	  /* ... and replaced the DB file */
	size_t records;	  /* in the DB */
};
/* Runs one update.  Fails (-1, e says which sources and why) when a
 * source failed or the import did; the other sources are still imported,
 * and a source that failed keeps its previous copy.  The DB file is
 * replaced only by a complete new DB, and only if its content changed. */
int vulndb_update(const struct vulndb_update_opts *o,
		  struct vulndb_update_result *r, struct err *e);
/* Per source, from the cache: [{"name", "kind", "url", "last_success"
 * (RFC 3339 or null), "age_s" (or null), "records", "last_error" (or
 * null), "last_attempt"}], sorted by name.  A new reference. */
json_t *vulndb_sources_status(const char *cache_dir, time_t now);
/* When the DB at dbpath was imported (unix time); 0 if unknown. */
time_t vulndb_import_time(const char *dbpath);
/* The import time a DB version names ("<import time>/<hash>"); 0 if
 * none. */
time_t vulndb_version_time(const char *version);
/* When the DB report was matched against is older than max_age_s at now
 * (max_age_s > 0), adds a note saying so, ending with what to do (hint),
 * and returns the age in seconds; else 0.  A report's DB age is about
 * now: callers add it to what they show, not to what they store. */
int64_t scan_note_db_age(json_t *report, int64_t max_age_s, time_t now,
			 const char *hint);

/* Opens read-only.  Each thread opens its own. */
struct vulndb *vulndb_open(const char *dbpath, struct err *e);
void vulndb_free(struct vulndb *db);
/* A version string for reports: e.g. "2026-11-28T12:00:00Z/<sha256 prefix>";
 * borrowed from db. */
const char *vulndb_version(const struct vulndb *db);

/* --- Severities ---------------------------------------------------------- */

enum vuln_severity {
	SEV_UNKNOWN = 0,
	SEV_LOW,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
};
const char *vuln_severity_name(enum vuln_severity s); /* "CRITICAL" ... */

/* Whose rating a finding shows first: a distribution's own (Ubuntu
 * priority, Debian urgency) for its packages, then NVD's CVSS, then the
 * advisory's; or NVD's CVSS everywhere (--severity-source nvd). */
enum vuln_sev_pref {
	VULN_PREFER_VENDOR = 0,
	VULN_PREFER_NVD,
};
/* "vendor" or "nvd"; -1 otherwise. */
int vuln_sev_pref_parse(const char *s, enum vuln_sev_pref *out);
/* Sets db's preference (default VULN_PREFER_VENDOR) for its matches. */
void vulndb_prefer(struct vulndb *db, enum vuln_sev_pref p);
/* Any case; also the words advisories use ("moderate", "important",
 * "negligible", ...).  -1 if unknown. */
int vuln_severity_parse(const char *s, enum vuln_severity *out);

#endif
