/* api_scan.c: the _customs extension and its discovery.
 *
 *   GET  /v2/<name>/_customs/scan/<ref>[?wait=N]   a manifest's report
 *   GET  /v2/_customs/db                            DB version, queue, feeds
 *   POST /v2/_customs/db                            import a feed (body)
 *   GET  /v2/_oci/ext/discover, /v2/<name>/_oci/ext/discover
 *   GET  /v2/_customs/doc                           what these are
 *
 * Beyond DESIGN.md's shapes, and why:
 *   - <ref> may be a tag too: CI scripts know the tag they pushed;
 *   - a scan that failed for good (not a container image, unreadable
 *     config) answers 422 {"status":"failed","error"}: it is neither
 *     pending (202) nor a server fault (5xx), and a CI gate must stop;
 *   - a manifest that is not a container image (an artifact, or an
 *     image none of whose layers is a filesystem) answers 200 with a
 *     report whose "status" is "not-scanned" and "reason" "not a
 *     container image: nothing to scan": final, so ?wait=N returns at
 *     once, and no "counts" a client could read as "clean"; an unknown
 *     one is 404 MANIFEST_UNKNOWN as the issue asks;
 *   - GET /v2/_customs/db (DB version and queue counts) lets operators
 *     and tests see when a re-match is over;
 *   - discovery's "url" is /v2/_customs/doc, served here: the extension
 *     has no public page.
 */
#include "registry/api_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/dbupdate_int.h"
#include "registry/reply_int.h"
#include "registry/scan/scan.h"
#include "registry/waiters_int.h"
#include "common/banned.h"

/* --- GET /v2/<name>/_customs/scan/<ref> --------------------------------- */

struct scan_wait_ctx {
	struct reg_ctx *ctx;
	char name[REG_NAME_MAX + 1];
	struct digest dg;
};

static void scan_reply_report(struct reg_ctx *ctx, struct http_req *req,
			      const char *name, const char *text)
{
	json_t *r = json_loads(text, 0, NULL), *mine;

	if (!r) {
		reg_reply_errorf(req, ERR_DB, "stored report is not JSON");
		return;
	}
	mine = rs_report_in(r, name);
	json_decref(r);
	/* A DB older than --db-max-age: said in what is served, not stored. */
	scan_note_db_age(mine, ctx->cfg->db_max_age, time(NULL),
			 "see GET /v2/_customs/db");
	reg_reply_json(req, 200, mine);
}

static void scan_reply_pending(struct http_req *req, enum stor_scan_state s)
{
	http_reply_header(req, "Retry-After", "1");
	reg_reply_json(req, 202,
		       json_pack("{s:s}", "status",
				 s == STOR_SCAN_QUEUED ? "queued" : "running"));
}

/* Replies with the state of dg's scan; false (nothing sent) when it is
 * pending and the caller may wait. */
static bool scan_answer(struct reg_ctx *ctx, struct http_req *req,
			const char *name, const struct digest *dg, bool last)
{
	struct err e = ERR_INIT;
	struct stor_scan sc;
	bool replied = true;

	if (stor_scan_get(ctx->st, dg, true, &sc, &e) < 0) {
		reg_reply_error(req, &e);
		return true;
	}
	if (sc.has_result && !sc.report) {
		/* Its blob is lost: the next scan of the image makes it. */
		reg_reply_errorf(req, ERR_DB, "the stored report is lost");
		stor_scan_release(&sc);
		return true;
	}
	if (sc.has_result && sc.report) {
		scan_reply_report(ctx, req, name, sc.report);
	} else if (sc.state == STOR_SCAN_FAILED && sc.error &&
		   !strcmp(sc.error, REG_SCAN_NOT_IMAGE)) {
		/* A job that found no image: as for an artifact. */
		reg_reply_json(req, 200, rs_not_image_report(dg, NULL, name));
	} else if (sc.state == STOR_SCAN_FAILED) {
		/* The image cannot be scanned (not a container image,
		 * unreadable config): 422, not the 5xx of a server fault. */
		reg_reply_json(req, 422,
			       json_pack("{s:s, s:s}", "status", "failed",
					 "error",
					 sc.error ? sc.error : "scan failed"));
	} else if (sc.state == STOR_SCAN_NONE) {
		/* Forgotten meanwhile: the manifest was deleted. */
		reg_reply_errorf(req, ERR_MANIFEST_UNKNOWN,
				 "manifest unknown in %s", name);
	} else if (last) {
		scan_reply_pending(req, sc.state);
	} else {
		replied = false;
	}
	stor_scan_release(&sc);
	return replied;
}

static void scan_woken(struct http_req *req, void *arg, enum reg_wake why)
{
	struct scan_wait_ctx *w = arg;

	if (why != REG_WAKE_CLOSED)
		scan_answer(w->ctx, req, w->name, &w->dg, true);
	free(w);
}

/* A manifest without a job: an image pushed before scanning existed is
 * queued now; an artifact has nothing to scan.  True when it replied. */
static bool scan_ensure_job(struct reg_call *c, const struct stor_manifest *m)
{
	struct err e = ERR_INIT;
	struct stor_scan sc;
	bool none;

	if (stor_scan_get(c->ctx->st, &m->digest, false, &sc, &e) < 0) {
		reg_reply_error(c->req, &e);
		return true;
	}
	none = sc.state == STOR_SCAN_NONE && !sc.has_result;
	stor_scan_release(&sc);
	if (!none)
		return false;
	if (rs_manifest_kind(m->body, m->len) < 0) {
		/* Final, as a report: a client waiting for one stops. */
		reg_reply_json(c->req, 200,
			       rs_not_image_report(&m->digest, m->media_type,
						   c->name));
		return true;
	}
	if (stor_scan_enqueue(c->ctx->st, c->name, &m->digest, false, &e) < 0) {
		reg_reply_error(c->req, &e);
		return true;
	}
	reg_scan_kick(c->ctx->scan);
	return false;
}

enum reg_status api_scan_get(struct reg_call *c)
{
	const struct reg_ref *ref = &c->ref;
	const char *wait_s = http_req_query_param(c->req, "wait");
	struct stor_manifest *m = NULL;
	struct scan_wait_ctx *w;
	enum reg_status st = REG_DONE;
	struct err e = ERR_INIT;
	long wait = 0;

	if (wait_s && reg_parse_page_n(wait_s, c->ctx->cfg->scan_wait_max,
				       &wait, &e) < 0) {
		reg_reply_errorf(c->req, ERR_INVALID,
				 "wait must be a number of seconds");
		return REG_DONE;
	}
	if (stor_manifest_get(
		    c->ctx->st, c->name, ref->is_digest ? NULL : ref->tag,
		    ref->is_digest ? &ref->digest : NULL, &m, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	if (scan_ensure_job(c, m) ||
	    scan_answer(c->ctx, c->req, c->name, &m->digest,
			wait <= 0 || !c->ctx->scan))
		goto out;
	w = xcalloc(1, sizeof(*w));
	w->ctx = c->ctx;
	memcpy(w->name, c->name, sizeof(w->name));
	w->dg = m->digest;
	reg_waiters_scan(c->ctx->waiters, c->req, &m->digest, (int)wait,
			 scan_woken, w);
	st = REG_DEFERRED;
out:
	stor_manifest_free(m);
	return st;
}

/* --- The vulnerability DB ------------------------------------------------ */

enum reg_status api_scan_db_get(struct reg_call *c)
{
	struct stor_scan_stats st;
	struct err e = ERR_INIT;
	char version[96] = "";
	int64_t age;

	if (stor_scan_stats(c->ctx->st, &st, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	if (c->ctx->scan)
		reg_scan_db_version(c->ctx->scan, version, sizeof(version));
	age = version[0] ? reg_db_version_age(version, time(NULL)) : -1;
	reg_reply_json(
		c->req, 200,
		json_pack("{s:o, s:o, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I},"
			  " s:o}",
			  "version",
			  version[0] ? json_string(version) : json_null(),
			  "age_s", age >= 0 ? json_integer(age) : json_null(),
			  "stale",
			  c->ctx->cfg->db_max_age > 0 &&
				  age > c->ctx->cfg->db_max_age,
			  "scans", "queued", (json_int_t)st.queued, "running",
			  (json_int_t)st.running, "waiting",
			  (json_int_t)st.waiting, "done", (json_int_t)st.done,
			  "failed", (json_int_t)st.failed, "reports",
			  (json_int_t)st.results, "update",
			  c->ctx->dbupdate
				  ? reg_dbupdate_status(c->ctx->dbupdate)
				  : json_null()));
	return REG_DONE;
}

/* A feed being received into a temporary file beside the DB; freed when
 * the request ends. */
struct db_post {
	struct reg_ctx *ctx;
	int fd;
	char *path;
	uint64_t got;
	bool imported; /* the import took the file */
};

static void db_post_free(struct db_post *d, bool remove_file)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	if (remove_file)
		reg_scan_feed_remove(d->path);
	free(d->path);
	free(d);
}

static int db_post_data(struct http_req *req, const void *data, size_t len,
			void *arg)
{
	struct db_post *d = arg;
	struct err e = ERR_INIT;

	d->got += len;
	if (d->got > d->ctx->cfg->max_db_upload) {
		err_set(&e, ERR_TOO_LARGE,
			"feed is larger than --max-db-upload (%zu bytes)",
			d->ctx->cfg->max_db_upload);
		reg_reply_error(req, &e);
		return -1;
	}
	if (fdio_write_all(d->fd, data, len) < 0) {
		err_errno(&e, ERR_IO, errno, "write feed");
		reg_reply_error(req, &e);
		return -1;
	}
	return 0;
}

/* An import under way: its outcome, and the request waiting for it. */
struct db_import {
	struct reg_hold *hold;
	struct reg_scan_import_result r;
};

/* On the scan pool's DB thread. */
static void db_import_done(void *arg, const struct reg_scan_import_result *r)
{
	struct db_import *imp = arg;

	imp->r = *r;
	reg_hold_wake(imp->hold);
}

static void db_import_woken(struct http_req *req, void *arg, enum reg_wake why)
{
	struct db_import *imp = arg;
	const struct reg_scan_import_result *r = &imp->r;

	if (why == REG_WAKE_CLOSED)
		goto out;
	if (r->e.code != ERR_OK) {
		reg_reply_error(req, &r->e);
		goto out;
	}
	reg_reply_json(
		req, 200,
		json_pack("{s:o, s:I, s:I, s:b, s:I}", "version",
			  r->version[0] ? json_string(r->version) : json_null(),
			  "records", (json_int_t)r->records, "skipped",
			  (json_int_t)r->skipped, "unchanged", r->unchanged,
			  "rematch", (json_int_t)r->rematch));
out:
	free(imp);
}

static void db_post_end(struct http_req *req, void *arg)
{
	struct db_post *d = arg;
	struct db_import *imp;
	struct err e = ERR_INIT;

	int rc = fsync(d->fd);

	if (close(d->fd) < 0)
		rc = -1;
	d->fd = -1;
	if (rc < 0) {
		err_errno(&e, ERR_IO, errno, "write feed");
		reg_reply_error(req, &e);
		return;
	}
	if (!d->got) {
		err_set(&e, ERR_INVALID,
			"send the feed (OSV JSON, a zip of it, or Alpine "
			"secdb JSON) as the body");
		reg_reply_error(req, &e);
		return;
	}
	/* The import takes the file, the hold the request's close callback.
	 * A refused import is replied to through the hold as well. */
	imp = xcalloc(1, sizeof(*imp));
	imp->hold = reg_hold_new(d->ctx->waiters, req, db_import_woken, imp);
	imp->r.e = (struct err)ERR_INIT;
	if (reg_scan_import(d->ctx->scan, d->path, db_import_done, imp,
			    &imp->r.e) < 0) {
		reg_hold_wake(imp->hold);
		return;
	}
	d->imported = true;
}

static void db_post_dtor(void *ptr, bool gone)
{
	struct db_post *d = ptr;

	(void)gone;
	db_post_free(d, !d->imported);
}

/* The feed goes into a directory of its own beside the DB, under a fixed
 * name: the importer hashes the name with the content, and the same feed
 * posted twice must look the same.  JSON feeds are read as JSON, anything
 * else as an archive (all.zip). */
static int db_post_create(const char *db_path, bool json, char **path,
			  struct err *e)
{
	char *copy = xstrdup(db_path);
	char *dir = xasprintf("%s/.feed-XXXXXX", dirname(copy));
	int fd = -1;

	free(copy);
	if (!mkdtemp(dir)) {
		err_errno(e, ERR_IO, errno, "create a directory for the feed");
		free(dir);
		return -1;
	}
	*path = xasprintf("%s/feed%s", dir, json ? ".json" : "");
	fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "create the feed file");
		reg_scan_feed_remove(*path);
		free(*path);
		*path = NULL;
	}
	free(dir);
	return fd;
}

enum reg_status api_scan_db_post(struct reg_call *c)
{
	const char *ctype = http_req_header(c->req, "Content-Type");
	int64_t cl = http_req_content_length(c->req);
	size_t cap = c->ctx->cfg->max_db_upload;
	bool json = ctype && strstr(ctype, "json");
	struct err e = ERR_INIT;
	struct db_post *d;

	if (!c->ctx->scan) {
		reg_reply_errorf(c->req, ERR_UNSUPPORTED,
				 "scanning is not running");
		return REG_DONE;
	}
	if (cl >= 0 && (uint64_t)cl > cap) {
		reg_reply_errorf(c->req, ERR_TOO_LARGE,
				 "feed is larger than --max-db-upload (%zu "
				 "bytes)",
				 cap);
		return REG_DONE;
	}
	d = xcalloc(1, sizeof(*d));
	d->ctx = c->ctx;
	d->fd = db_post_create(c->ctx->cfg->vuln_db, json, &d->path, &e);
	if (d->fd < 0) {
		reg_reply_error(c->req, &e);
		free(d);
		return REG_DONE;
	}
	http_req_attach(c->req, d, db_post_dtor);
	http_req_body(c->req, db_post_data, db_post_end, d);
	return REG_DEFERRED;
}

/* --- Discovery ------------------------------------------------------------ */

#define SCAN_DOC_PATH "/v2/_customs/doc"

static json_t *scan_extension(bool repo_level)
{
	json_t *ep = repo_level ? json_pack("[s]", "_customs/scan")
				: json_pack("[s, s, s]", "_customs/scan",
					    "_customs/db", "_customs/doc");

	return json_pack("{s:[{s:s, s:s, s:s, s:o}]}", "extensions", "name",
			 "_customs", "description",
			 "vulnerability reports of pushed images "
			 "(scan/<digest>[?wait=N]) and the vulnerability DB "
			 "they are matched against (db)",
			 "url", SCAN_DOC_PATH, "endpoints", ep);
}

enum reg_status api_ext_discover(struct reg_call *c)
{
	reg_reply_json(c->req, 200, scan_extension(c->name[0] != '\0'));
	return REG_DONE;
}

static const char scan_doc[] =
	"# _customs: scan reports\n"
	"\n"
	"Every pushed image (manifest or index) is scanned for known\n"
	"vulnerabilities; results are per manifest digest.\n"
	"\n"
	"- `GET /v2/<name>/_customs/scan/<digest or tag>[?wait=N]`: 200 with\n"
	"  the report (JSON, media type " REG_SCAN_REPORT_TYPE "); 202\n"
	"  `{\"status\":\"queued\"|\"running\"}` while pending (with `wait`,\n"
	"  held up to N seconds first); 422 `{\"status\":\"failed\",\n"
	"  \"error\"}` when the image cannot be scanned; 404 in the spec's\n"
	"  error format for an unknown manifest.  An index's report lists\n"
	"  each platform's report under `manifests`.\n"
	"- The same report is a referrer of the manifest\n"
	"  (`GET /v2/<name>/referrers/<digest>`): artifactType\n"
	"  " REG_SCAN_REPORT_TYPE ", the report as its one layer,\n"
	"  annotations `dev.customs.scan.{critical,high,medium,low,unknown}`,\n"
	"  `dev.customs.scan.db`, `org.opencontainers.image.created`.\n"
	"- `GET /v2/_customs/db`: the DB version and age, the scan queue,\n"
	"  and under `update` each feed's last success, age, records and\n"
	"  last error (`customs db update`, run by the server every\n"
	"  `--db-update-interval`).\n"
	"- `POST /v2/_customs/db`: imports the body (OSV JSON, a zip of it\n"
	"  such as OSV's all.zip, or Alpine secdb JSON) as the new DB; the\n"
	"  stored reports are then re-matched and replaced where their\n"
	"  findings change.  200 with the version and counts.\n";

enum reg_status api_scan_doc(struct reg_call *c)
{
	reg_reply_mem(c->req, 200, "text/markdown; charset=utf-8", scan_doc,
		      sizeof(scan_doc) - 1);
	return REG_DONE;
}
