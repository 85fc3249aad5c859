/* scan.h: scanning an image read through any blob source.
 *
 * The scanner sees an image only through a scan_source, one callback that
 * opens a blob by digest.  `customs scan` wraps OCI layout directories and
 * tarballs in one; the registry wraps its blob store, where
 * stor_blob_open() already gives an fd:
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
 *	json_t *report;
 *
 *	if (scan_run(&src, &manifest_digest, &o, &report, &e) == 0) {
 *		char *text = json_dumps(report, JSON_COMPACT);
 *		... store text, build the referrer from report's "counts" ...
 *	}
 *
 * Layers are streamed once, in order, through libarchive (gzip, zstd or
 * plain tar); only files a detector wants are read, each under a size cap,
 * and nothing is written to disk.  Every call uses its own state, so scans
 * may run on several threads at once (each with its own vulndb handle).
 */
#ifndef SCANNER_SCAN_H
#define SCANNER_SCAN_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/digest.h"
#include "common/err.h"

struct vulndb;

/* An open blob: either a byte range of an fd (fd >= 0: bytes
 * [offset, offset + size) are the blob; read with pread, so the fd may be
 * shared), or a pull reader (fd == -1). */
struct scan_blob {
	int fd;			/* closed by scan_blob_close() */
	int64_t offset;
	int64_t size;		/* -1 if unknown (readers only) */
	/* Pull reader: sets *buf to the next bytes and returns their count,
	 * 0 at the end, -1 on error (detail in e). */
	ssize_t (*read)(void *ctx, const void **buf, struct err *e);
	void (*close)(void *ctx);	/* releases ctx */
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

/* What one scan may cost.  Untrusted images are read within these; the
 * first limit reached ends that part of the scan and makes the report
 * "incomplete" (never a silent skip).  0 means "no limit" for each.
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

struct scan_opts {
	const struct scan_budget *budget; /* NULL: scan_budget_defaults() */
	struct vulndb *db;	/* NULL: no vulnerability data (the report
				 * says so and lists no vulnerabilities) */
	const char *db_note;	/* with db NULL: the note saying why */
	const char *repository; /* for the report, or NULL */
	const char *tag;	/* for the report, or NULL */
	time_t now;		/* report time; 0: time(NULL) */
};

/* Scans the image manifest or image index dg; for an index, each platform
 * image is scanned and gets its own report inside the index's report.
 * On success *report is a new reference the caller json_decref()s.
 * Fails only when the image itself cannot be read (manifest, index or
 * config missing or malformed, not a container image); unreadable layers
 * and files become notes in the report instead. */
int scan_run(const struct scan_source *src, const struct digest *dg,
	     const struct scan_opts *opts, json_t **report, struct err *e);

/* Re-matches a stored report against db (NULL: no data) without reading
 * any layer: the inventory is taken from the report itself.  The new
 * report keeps the image, OS, packages and notes; *out is the caller's. */
int scan_rematch(const json_t *report, struct vulndb *db, time_t now,
		 json_t **out, struct err *e);

/* Highest severity found in a report ("critical" ... "unknown"), as an
 * index into the report's "counts" order: 4 critical, 3 high, 2 medium,
 * 1 low, 0 unknown; -1 when the report has no finding. */
int scan_report_max_severity(const json_t *report);

#endif
