/* api_ui.c: the JSON API the web UI reads (and scripts may), under
 * /v2/_customs/:
 *
 *   GET /v2/_customs/repositories[?q=TEXT]     repositories with summaries
 *   GET /v2/_customs/tags?repo=R[&n=N&last=T]  tags with scan status
 *   GET /v2/_customs/image?repo=R&ref=REF[&platform=OS/ARCH[/VAR]]
 *   GET /v2/_customs/diff?repo=R&from=REF&to=REF  findings added, fixed
 *   GET /v2/_customs/report?repo=R&ref=REF[&format=cyclonedx]
 *                                              the report, as a download
 *   GET /v2/_customs/chart?repo=R[&start=K&n=N&counts=0&series=1]
 *                                              per-tag counts, push order
 *   GET /v2/_customs/status                     failed scans, upstreams,
 *                                              whether /metrics is the caller's
 *
 * The routes are literal, so the auth phase asks only for a signed-in
 * caller; each handler then asks, per repository, the catalog's question
 * (reg_authz_catalog()): a repository the caller may not pull is left out
 * of lists and answers 404 NAME_UNKNOWN exactly as one that does not
 * exist, so that neither its name nor its tags nor its findings show.
 *
 * Times: "pushed" is when the tag was last set (pushed, or cached from an
 * upstream), "created" when its manifest came into the repository
 * (stor_tag_times()), "scanned" when the report was made.
 */
#include "registry/api_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdio.h"
#include "common/jstream.h"
#include "common/slots.h"
#include "common/xmalloc.h"
#include "registry/authz_int.h"
#include "registry/metrics_int.h"
#include "registry/policy_int.h"
#include "registry/proxy/proxy.h"
#include "registry/reply_int.h"
#include "registry/scan/scan.h"
#include "registry/ui/ui.h"
#include "registry/work_int.h"
#include "scanner/scanner.h"
#include "common/banned.h"

/* Tags per page by default, and at most. */
#define UI_TAGS_N     50
#define UI_TAGS_N_MAX 1000
/* Tags per chart page, at most: a repository of a few thousand tags is
 * one request (one query, a few dozen bytes a tag). */
#define UI_CHART_MAX 5000
/* Failed scans the status page reads, and shows at most. */
#define UI_FAILURES_READ 200
#define UI_FAILURES_SHOW 20
/* Largest config blob read for its history. */
#define UI_CONFIG_MAX (4 << 20)

static const char *const ui_sev[] = {"critical", "high", "medium", "low",
				     "unknown"};
#define UI_NSEV (sizeof(ui_sev) / sizeof(ui_sev[0]))

/* --- Access ----------------------------------------------------------------
 */

static bool ui_may_pull(struct reg_call *c, const char *name)
{
	char *v[1] = {(char *)name};

	return reg_authz_catalog(c, v, 1) == 1;
}

/* One message for unknown and hidden repositories alike. */
static void ui_reply_no_repo(struct reg_call *c, const char *name)
{
	reg_reply_errorf(c->req, ERR_NAME_UNKNOWN,
			 "repository name not known to registry: %s", name);
}

/* Reads ?repo= into name and checks the caller may pull it; false when a
 * reply (400 or 404) was sent. */
static bool ui_repo_arg(struct reg_call *c, char name[REG_NAME_MAX + 1])
{
	const char *q = http_req_query_param(c->req, "repo");
	struct err e = ERR_INIT;

	if (!q || !*q) {
		reg_reply_errorf(c->req, ERR_INVALID, "repo= is required");
		return false;
	}
	if (reg_parse_name(q, strlen(q), name, &e) < 0) {
		reg_reply_error(c->req, &e);
		return false;
	}
	if (!ui_may_pull(c, name)) {
		ui_reply_no_repo(c, name);
		return false;
	}
	return true;
}

/* Fetches the manifest named by query parameter key (a tag or digest) in
 * name; NULL when a reply was sent. */
static struct stor_manifest *ui_manifest_arg(struct reg_call *c,
					     const char *name, const char *key)
{
	const char *q = http_req_query_param(c->req, key);
	struct stor_manifest *m = NULL;
	struct err e = ERR_INIT;
	struct reg_ref ref;

	if (!q || !*q) {
		reg_reply_errorf(c->req, ERR_INVALID, "%s= is required", key);
		return NULL;
	}
	if (reg_parse_ref(q, strlen(q), &ref, &e) < 0 ||
	    stor_manifest_get(c->ctx->st, name, ref.is_digest ? NULL : ref.tag,
			      ref.is_digest ? &ref.digest : NULL, &m, &e) < 0) {
		if (e.code == ERR_NAME_UNKNOWN)
			ui_reply_no_repo(c, name);
		else
			reg_reply_error(c->req, &e);
		return NULL;
	}
	return m;
}

/* --- Summaries of one manifest ------------------------------------------- */

static const char *ui_state_name(enum stor_scan_state s)
{
	switch (s) {
	case STOR_SCAN_NONE:
		return "none";
	case STOR_SCAN_QUEUED:
		return "queued";
	case STOR_SCAN_RUNNING:
		return "running";
	case STOR_SCAN_WAITING:
		return "waiting";
	case STOR_SCAN_DONE:
		return "done";
	case STOR_SCAN_FAILED:
		break;
	}
	return "failed";
}

/* Findings per severity from a result's short findings JSON (storage's
 * "findings": {status, findings: [{id, aliases, severity}]}; older rows
 * are the bare array), and the worst of them; *status gets its status
 * ("complete", "incomplete", "not-scanned"). */
static json_t *ui_count(const char *findings, json_t **worst,
			const char **status)
{
	json_t *doc = json_loads(findings ? findings : "", 0, NULL), *list, *f;
	json_int_t n[UI_NSEV] = {0};
	size_t i, k;

	*worst = json_null();
	*status = "complete";
	list = json_is_array(doc) ? doc : json_object_get(doc, "findings");
	json_array_foreach(list, i, f) {
		const char *sev =
			json_string_value(json_object_get(f, "severity"));

		for (k = 0; k < UI_NSEV - 1; k++)
			if (sev && !strcmp(sev, ui_sev[k]))
				break;
		n[k]++;
	}
	if (json_is_object(doc)) {
		const char *st =
			json_string_value(json_object_get(doc, "status"));

		if (st && !strcmp(st, "incomplete"))
			*status = "incomplete";
		else if (st && !strcmp(st, "not-scanned"))
			*status = "not-scanned";
	}
	for (k = 0; k < UI_NSEV; k++)
		if (n[k]) {
			*worst = json_string(ui_sev[k]);
			break;
		}
	json_decref(doc);
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", ui_sev[0], n[0],
			 ui_sev[1], n[1], ui_sev[2], n[2], ui_sev[3], n[3],
			 ui_sev[4], n[4]);
}

/* The counts the report's referrer in repo carries as annotations
 * (dev.customs.scan.<severity>), with their worst; NULL when it has none
 * that are numbers.  One row read, no report: what a page of tags needs. */
static json_t *ui_referrer_counts(struct stor *st, const char *repo,
				  const struct digest *dg, json_t **worst)
{
	struct stor_desc *d = NULL;
	struct err e = ERR_INIT;
	json_t *ann = NULL, *out = NULL;
	size_t n = 0;
	char key[64];

	*worst = json_null();
	if (stor_referrers(st, repo, dg, REG_SCAN_REPORT_TYPE, &d, &n, &e) <
		    0 ||
	    n != 1 || !d[0].annotations_json)
		goto out;
	ann = json_loads(d[0].annotations_json, 0, NULL);
	out = json_object();
	for (size_t k = 0; k < UI_NSEV; k++) {
		const char *v;
		char *end;
		long long x;

		snprintf(key, sizeof(key), "dev.customs.scan.%s", ui_sev[k]);
		v = json_string_value(json_object_get(ann, key));
		x = v ? strtoll(v, &end, 10) : -1;
		if (!v || !*v || *end || x < 0) {
			json_decref(out);
			json_decref(*worst);
			*worst = json_null();
			out = NULL;
			goto out;
		}
		json_object_set_new(out, ui_sev[k], json_integer(x));
		if (x && json_is_null(*worst))
			*worst = json_string(ui_sev[k]);
	}
out:
	json_decref(ann);
	stor_desc_free(d, n);
	return out;
}

/* RFC 3339 of a unix time. */
static json_t *ui_time(int64_t t)
{
	char s[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm))
		return json_null();
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

/* --- What a list shows of a report ---------------------------------------
 *
 * A tag row's status, counts and worst are the report's own, so they are
 * kept by the report's blob (content-addressed: a new report is a new
 * blob) and a page of tags or a chart reads each report's findings once,
 * not on each view: a result's findings are as long as its list.  Kept
 * in a slot table (common/slots.h) by the report blob's digest: a new one
 * takes over the least recently used of the slots it may take. */
#define UI_BRIEF_N 2048

struct ui_brief {
	const char *status; /* "complete", "incomplete" or "not-scanned" */
	json_int_t n[UI_NSEV];
};

/* A table of values by digest (each value begins with its last use),
 * made on first use. */
struct ui_cache {
	pthread_mutex_t mu;
	struct slots t;
	size_t count, value_size;
	uint64_t tick;
};

static double ui_cache_stamp(const void *value)
{
	return (double)*(const uint64_t *)value;
}

/* dg's value, its use noted: copied to out (true), or taken over and
 * filled from out (put). */
static bool ui_cache_use(struct ui_cache *c, const struct digest *dg, void *out,
			 bool put)
{
	char ds[DIGEST_STR_MAX];
	uint64_t *v;

	pthread_mutex_lock(&c->mu);
	if (!c->t.mem)
		slots_init(&c->t, c->count, DIGEST_STR_MAX,
			   sizeof(uint64_t) + c->value_size, ui_cache_stamp);
	digest_str(dg, ds);
	v = put ? slots_get(&c->t, ds, NULL) : slots_find(&c->t, ds);
	if (v) {
		*v = ++c->tick;
		if (put)
			memcpy(v + 1, out, c->value_size);
		else
			memcpy(out, v + 1, c->value_size);
	}
	pthread_mutex_unlock(&c->mu);
	return v != NULL;
}

static struct ui_cache ui_briefs = {.mu = PTHREAD_MUTEX_INITIALIZER,
				    .count = UI_BRIEF_N,
				    .value_size = sizeof(struct ui_brief)};

/* Reads dg's findings (and the counts its report's referrer in repo
 * carries) into *b; kept when the report has a blob. */
static int ui_brief_read(struct stor *st, const char *repo,
			 const struct digest *dg, struct ui_brief *b,
			 struct err *e)
{
	/* How storage's short findings of a complete scan begin (jansson
	 * keeps the order rs_findings() packed them in). */
	static const char complete[] = "{\"status\":\"complete\",";
	json_t *counts = NULL, *worst = NULL;
	struct stor_scan sc;

	if (stor_scan_get(st, dg, false, &sc, e) < 0)
		return -1;
	memset(b, 0, sizeof(*b));
	b->status = "complete";
	if (sc.findings &&
	    !strncmp(sc.findings, complete, sizeof(complete) - 1))
		counts = ui_referrer_counts(st, repo, dg, &worst);
	if (!counts) {
		json_decref(worst);
		counts = ui_count(sc.findings, &worst, &b->status);
	}
	for (size_t k = 0; k < UI_NSEV; k++)
		b->n[k] =
			json_integer_value(json_object_get(counts, ui_sev[k]));
	if (sc.has_result && sc.in_blob)
		ui_cache_use(&ui_briefs, &sc.report_blob, b, true);
	json_decref(counts);
	json_decref(worst);
	stor_scan_release(&sc);
	return 0;
}

/* What a tag row shows of dg's scan as sc (stor_scan_peek()) has it:
 * {status, counts, worst, scanned, db, error}, and *updated (when its
 * result last changed, 0: none).  No report is read, and a report's
 * findings only the first time it is listed (ui_brief).  Without
 * vulnerability data the counts are "no data", as in the report. */
static json_t *ui_scan_json(struct stor *st, const char *repo,
			    const struct digest *dg, const struct stor_scan *sc,
			    int64_t *updated)
{
	json_t *o = json_object(), *worst = json_null(), *counts;
	struct err e = ERR_INIT;
	struct ui_brief b;
	size_t k;

	*updated = 0;
	if (sc->has_result &&
	    !(sc->in_blob &&
	      ui_cache_use(&ui_briefs, &sc->report_blob, &b, false)) &&
	    ui_brief_read(st, repo, dg, &b, &e) < 0) {
		json_object_set_new(o, "status", json_string("error"));
		json_object_set_new(o, "error", json_string(e.msg));
		return o;
	}
	json_object_set_new(o, "status", json_string(ui_state_name(sc->state)));
	if (sc->error)
		json_object_set_new(o, "error", json_string(sc->error));
	if (sc->state == STOR_SCAN_FAILED && sc->error &&
	    !strcmp(sc->error, REG_SCAN_NOT_IMAGE))
		json_object_set_new(o, "status", json_string("not-scanned"));
	if (!sc->has_result)
		return o;
	*updated = sc->updated;
	if (strcmp(b.status, "complete"))
		json_object_set_new(o, "status", json_string(b.status));
	/* not-scanned: no counts, no worst. */
	if (strcmp(b.status, "not-scanned")) {
		for (k = 0; k < UI_NSEV && !b.n[k]; k++)
			;
		if (k < UI_NSEV)
			worst = json_string(ui_sev[k]);
		if (!sc->db_version) {
			counts = json_string("no data");
		} else {
			counts = json_object();
			for (k = 0; k < UI_NSEV; k++)
				json_object_set_new(counts, ui_sev[k],
						    json_integer(b.n[k]));
		}
		json_object_set_new(o, "counts", counts);
	}
	json_object_set_new(o, "worst", worst);
	json_object_set_new(o, "scanned", ui_time(sc->updated));
	json_object_set_new(o, "db",
			    sc->db_version ? json_string(sc->db_version)
					   : json_null());
	return o;
}

/* ui_scan_json() of dg's scan as it is now. */
static json_t *ui_scan_summary(struct stor *st, const char *repo,
			       const struct digest *dg, int64_t *updated)
{
	struct err e = ERR_INIT;
	struct stor_scan sc;
	json_t *o;

	*updated = 0;
	if (stor_scan_peek(st, dg, &sc, &e) < 0)
		return json_pack("{s:s, s:s}", "status", "error", "error",
				 e.msg);
	o = ui_scan_json(st, repo, dg, &sc, updated);
	stor_scan_release(&sc);
	return o;
}

static json_t *ui_platform_str(const json_t *p)
{
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch =
		json_string_value(json_object_get(p, "architecture"));
	const char *var = json_string_value(json_object_get(p, "variant"));
	char s[128];

	if (!os && !arch)
		return NULL;
	snprintf(s, sizeof(s), "%s/%s%s%s", os ? os : "?", arch ? arch : "?",
		 var ? "/" : "", var ? var : "");
	return json_string(s);
}

/* Bytes of an image manifest: its config and layers. */
static int64_t ui_image_size(const json_t *man)
{
	int64_t n = json_integer_value(
		json_object_get(json_object_get(man, "config"), "size"));
	size_t i;
	json_t *l;

	json_array_foreach(json_object_get(man, "layers"), i, l)
		n += json_integer_value(json_object_get(l, "size"));
	return n;
}

/* An image manifest's bytes (config and layers), by its digest: the
 * manifest is content-addressed, so a page of tags reads none it has
 * read before.  An index's are not kept: they count the platforms the
 * repository has, which come and go.  A table as ui_briefs. */
#define UI_SIZE_N 2048

static struct ui_cache ui_sizes = {.mu = PTHREAD_MUTEX_INITIALIZER,
				   .count = UI_SIZE_N,
				   .value_size = sizeof(int64_t)};

/* A row's media type, platforms (taken) and size. */
static void ui_row_shape(json_t *row, const char *media_type, json_t *plats,
			 int64_t size)
{
	json_object_set_new(row, "media_type", json_string(media_type));
	json_object_set_new(row, "platforms", plats);
	json_object_set_new(row, "size", json_integer(size));
}

/* Platforms and size of a stored manifest (an index: of its children the
 * repository has). */
static void ui_manifest_shape(struct stor *st, const char *repo,
			      const struct stor_manifest *m, json_t *row)
{
	json_t *j = json_loadb(m->body, m->len, 0, NULL), *plats, *d, *p;
	struct stor_manifest *cm;
	struct err e = ERR_INIT;
	struct digest cdg;
	int64_t size = 0;
	size_t i;

	plats = json_array();
	if (json_is_array(json_object_get(j, "manifests"))) {
		json_array_foreach(json_object_get(j, "manifests"), i, d) {
			const char *ds =
				json_string_value(json_object_get(d, "digest"));

			p = ui_platform_str(json_object_get(d, "platform"));
			if (p)
				json_array_append_new(plats, p);
			cm = NULL;
			if (ds && digest_parse(ds, strlen(ds), &cdg, &e) == 0 &&
			    stor_manifest_get(st, repo, NULL, &cdg, &cm, &e) ==
				    0) {
				json_t *cj =
					json_loadb(cm->body, cm->len, 0, NULL);

				size += ui_image_size(cj);
				json_decref(cj);
			}
			stor_manifest_free(cm);
		}
	} else if (j) {
		size = ui_image_size(j);
		ui_cache_use(&ui_sizes, &m->digest, &size, true);
	}
	ui_row_shape(row, m->media_type, plats, size);
	json_decref(j);
}

/* One tag's row; NULL if its manifest went away meanwhile. */
static json_t *ui_tag_row(struct stor *st, const char *repo,
			  const struct stor_tag_time *tt, int64_t *updated)
{
	char ds[DIGEST_STR_MAX];
	struct stor_manifest *m = NULL;
	struct err e = ERR_INIT;
	int64_t size;
	json_t *row;

	row = json_pack("{s:s, s:s}", "tag", tt->tag, "digest",
			digest_str(&tt->digest, ds));
	if (tt->media_type &&
	    ui_cache_use(&ui_sizes, &tt->digest, &size, false)) {
		ui_row_shape(row, tt->media_type, json_array(), size);
	} else if (stor_manifest_get(st, repo, NULL, &tt->digest, &m, &e) ==
		   0) {
		ui_manifest_shape(st, repo, m, row);
		stor_manifest_free(m);
	} else {
		json_decref(row);
		return NULL;
	}
	json_object_set_new(row, "pushed", ui_time(tt->tagged));
	json_object_set_new(row, "created", ui_time(tt->created));
	json_object_set_new(row, "scan",
			    ui_scan_summary(st, repo, &tt->digest, updated));
	return row;
}

/* --- GET /v2/_customs/repositories ------------------------------------------
 */

/* The upstream a store name is pulled through, or NULL: --mirror takes
 * every name, --upstream PREFIX=URL those under PREFIX/ (a JSON upstream
 * from the config file says its prefix as "prefix"). */
static json_t *ui_upstream(const struct cfg *cfg, const char *name)
{
	json_t *u = NULL;

	if (cfg->mirror)
		return json_string("mirror");
	for (size_t i = 0; i < cfg->upstream.n && !u; i++) {
		const char *s = cfg->upstream.v[i], *eq = strchr(s, '=');
		char *prefix = NULL;
		json_t *o = NULL;

		if (s[0] == '{') {
			o = json_loads(s, 0, NULL);
			const char *p =
				json_string_value(json_object_get(o, "prefix"));
			if (p)
				prefix = xstrdup(p);
		} else if (eq) {
			prefix = xstrndup(s, (size_t)(eq - s));
		}
		if (prefix) {
			size_t n = strlen(prefix);

			while (n && prefix[n - 1] == '/')
				prefix[--n] = '\0';
			/* A port is stored as '_' (proxy.h). */
			for (char *p = prefix; *p; p++)
				if (*p == ':')
					*p = '_';
			if (n && !strncmp(name, prefix, n) && name[n] == '/')
				u = json_string(prefix);
		}
		free(prefix);
		json_decref(o);
	}
	return u;
}

/* A repository's summary: tags, last push, the scan of its newest image
 * (the tag set last): one listing of tag times and one tag row, however
 * many tags it has. */
static json_t *ui_repo_summary(struct reg_call *c, const char *name)
{
	struct stor *st = c->ctx->st;
	struct stor_tag_time *tt = NULL;
	struct err e = ERR_INIT;
	size_t count = 0;
	int64_t upd;
	json_t *o, *row = NULL, *up;

	if (stor_tag_times(st, name, &tt, &count, &e) < 0)
		count = 0;
	o = json_pack("{s:s, s:I}", "name", name, "tags", (json_int_t)count);
	json_object_set_new(o, "last_push",
			    ui_time(count ? tt[count - 1].tagged : 0));
	if (count)
		row = ui_tag_row(st, name, &tt[count - 1], &upd);
	if (row) {
		json_t *scan = json_object_get(row, "scan");

		json_object_set(o, "newest_tag", json_object_get(row, "tag"));
		json_object_set(o, "last_scan",
				json_object_get(scan, "scanned"));
		json_object_set(o, "worst", json_object_get(scan, "worst"));
		json_object_set(o, "counts", json_object_get(scan, "counts"));
		json_object_set(o, "scan_status",
				json_object_get(scan, "status"));
		json_decref(row);
	}
	if (!json_object_get(o, "worst"))
		json_object_set_new(o, "worst", json_null());
	up = ui_upstream(c->ctx->cfg, name);
	json_object_set_new(o, "upstream", up ? up : json_null());
	stor_tag_times_free(tt, count);
	return o;
}

enum reg_status api_ui_repositories(struct reg_call *c)
{
	const char *q = http_req_query_param(c->req, "q");
	struct err e = ERR_INIT;
	char **repos = NULL;
	size_t count = 0, shown;
	bool more = false;
	json_t *list;

	if (stor_catalog(c->ctx->st, NULL, -1, &repos, &count, &more, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	shown = reg_authz_catalog(c, repos, count);
	list = json_array();
	for (size_t i = 0; i < shown; i++) {
		if (q && *q && !strstr(repos[i], q))
			continue;
		json_array_append_new(list, ui_repo_summary(c, repos[i]));
	}
	stor_strv_free(repos, count);
	reg_reply_json(c->req, 200, json_pack("{s:o}", "repositories", list));
	return REG_DONE;
}

/* --- GET /v2/_customs/tags ---------------------------------------------------
 */

enum reg_status api_ui_tags(struct reg_call *c)
{
	char name[REG_NAME_MAX + 1];
	const char *last = http_req_query_param(c->req, "last");
	const char *ns = http_req_query_param(c->req, "n");
	struct err e = ERR_INIT;
	struct stor_tag_time *tt = NULL;
	size_t count = 0, total = 0;
	bool more = false;
	long n = UI_TAGS_N;
	int64_t upd;
	json_t *list, *all, *up;

	if (!ui_repo_arg(c, name))
		return REG_DONE;
	if ((ns && reg_parse_page_n(ns, UI_TAGS_N_MAX, &n, &e) < 0) ||
	    reg_parse_last(last, true, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	if (n < 0 || n > UI_TAGS_N_MAX)
		n = UI_TAGS_N_MAX;
	if (last && !*last)
		last = NULL;
	/* The page's rows with their times, and the total for the pager:
	 * the rest of the tags is not read. */
	if (stor_tag_page(c->ctx->st, name, last, n, &tt, &count, &more, &total,
			  &e) < 0) {
		if (e.code == ERR_NAME_UNKNOWN)
			ui_reply_no_repo(c, name);
		else
			reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	up = ui_upstream(c->ctx->cfg, name);
	list = json_array();
	for (size_t i = 0; i < count; i++) {
		json_t *row = ui_tag_row(c->ctx->st, name, &tt[i], &upd);

		if (row)
			json_array_append_new(list, row);
	}
	all = json_pack("{s:s, s:I, s:o, s:o, s:o}", "repository", name,
			"total", (json_int_t)total, "tags", list, "next",
			more && count ? json_string(tt[count - 1].tag)
				      : json_null(),
			"upstream", up ? up : json_null());
	stor_tag_times_free(tt, count);
	reg_reply_json(c->req, 200, all);
	return REG_DONE;
}

/* --- GET /v2/_customs/image --------------------------------------------------
 */

/* The config blob's "history" lines that made layers, in layer order
 * (empty_layer ones skipped); an empty array when unreadable. */
static json_t *ui_history(struct stor *st, const char *repo, const json_t *man)
{
	const char *cds = json_string_value(
		json_object_get(json_object_get(man, "config"), "digest"));
	json_t *out = json_array(), *cfg = NULL, *h;
	struct err e = ERR_INIT;
	struct digest dg;
	int64_t size = 0;
	char *buf = NULL;
	int fd = -1;
	size_t i;

	if (!cds || digest_parse(cds, strlen(cds), &dg, &e) < 0 ||
	    stor_blob_open(st, repo, &dg, &fd, &size, &e) < 0 || size < 0 ||
	    size > UI_CONFIG_MAX)
		goto out;
	buf = xmalloc((size_t)size + 1);
	if (fdio_read_all(fd, buf, (size_t)size) != size)
		goto out;
	cfg = json_loadb(buf, (size_t)size, 0, NULL);
	json_array_foreach(json_object_get(cfg, "history"), i, h) {
		const char *by;

		if (json_is_true(json_object_get(h, "empty_layer")))
			continue;
		by = json_string_value(json_object_get(h, "created_by"));
		json_array_append_new(out, json_string(by ? by : ""));
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	json_decref(cfg);
	return out;
}

/* The report's findings, flat.  Kept small: an image of 5,000 findings
 * is a megabyte or two on the wire, so neither the advisory's URL (the
 * UI derives it from the id) nor the package's layer (in "packages") is
 * repeated in each. */
static json_t *ui_findings(const json_t *rep, const char *platform)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(rep, "vulnerabilities"), i, v) {
		const json_t *p = json_object_get(v, "package");
		json_t *f = json_pack(
			"{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, "
			"s:O?, s:O?}",
			"id", json_object_get(v, "id"), "aliases",
			json_object_get(v, "aliases"), "severity",
			json_object_get(v, "severity"), "severity_source",
			json_object_get(v, "severity_source"), "package",
			json_object_get(p, "name"), "ecosystem",
			json_object_get(p, "ecosystem"), "installed",
			json_object_get(v, "installed"), "fixed",
			json_object_get(v, "fixed"), "status",
			json_object_get(v, "status"), "summary",
			json_object_get(v, "summary"));

		if (!f)
			continue;
		if (platform)
			json_object_set_new(f, "platform",
					    json_string(platform));
		json_array_append_new(out, f);
	}
	return out;
}

/* Packages grouped by layer, then ecosystem:
 * [{layer, ecosystem, packages: [{name, version, path}]}]. */
static json_t *ui_packages(const json_t *rep)
{
	json_t *groups = json_array(), *p, *g;
	size_t i, k;

	json_array_foreach(json_object_get(rep, "packages"), i, p) {
		json_t *layer = json_object_get(p, "layer");
		json_t *eco = json_object_get(p, "ecosystem");
		json_t *hit = NULL;

		json_array_foreach(groups, k, g) {
			if (json_equal(json_object_get(g, "layer"), layer) &&
			    json_equal(json_object_get(g, "ecosystem"), eco)) {
				hit = g;
				break;
			}
		}
		if (!hit) {
			hit = json_pack("{s:O, s:O, s:[]}", "layer",
					layer ? layer : json_null(),
					"ecosystem", eco ? eco : json_null(),
					"packages");
			json_array_append_new(groups, hit);
		}
		json_array_append_new(
			json_object_get(hit, "packages"),
			json_pack("{s:O?, s:O?, s:O?}", "name",
				  json_object_get(p, "name"), "version",
				  json_object_get(p, "version"), "path",
				  json_object_get(p, "path")
					  ? json_object_get(p, "path")
					  : json_null()));
	}
	return groups;
}

/* Layers of an image manifest with the history line and package count of
 * each. */
static json_t *ui_layers(struct stor *st, const char *repo, const json_t *man,
			 const json_t *rep)
{
	json_t *hist = ui_history(st, repo, man), *out = json_array(), *l, *p;
	size_t i, k;

	json_array_foreach(json_object_get(man, "layers"), i, l) {
		const json_t *dg = json_object_get(l, "digest");
		json_int_t npk = 0;

		json_array_foreach(json_object_get(rep, "packages"), k, p)
			if (json_equal(json_object_get(p, "layer"), dg))
				npk++;
		json_array_append_new(
			out,
			json_pack("{s:O?, s:O?, s:O?, s:o, s:I}", "digest", dg,
				  "size", json_object_get(l, "size"),
				  "media_type", json_object_get(l, "mediaType"),
				  "created_by",
				  i < json_array_size(hist)
					  ? json_incref(json_array_get(hist, i))
					  : json_null(),
				  "packages", npk));
	}
	json_decref(hist);
	return out;
}

/* The stored report of dg, parsed, or NULL.  With blob, *blob gets the
 * blob it was read from and *in_blob says whether there was one (rows
 * older than report blobs keep the report inline). */
static json_t *ui_report(struct stor *st, const struct digest *dg,
			 struct digest *blob, bool *in_blob)
{
	struct err e = ERR_INIT;
	struct stor_scan sc;
	json_t *r = NULL;

	if (in_blob)
		*in_blob = false;
	if (stor_scan_get(st, dg, true, &sc, &e) < 0)
		return NULL;
	if (sc.has_result && sc.report)
		r = json_loads(sc.report, 0, NULL);
	if (r && in_blob && sc.in_blob) {
		*blob = sc.report_blob;
		*in_blob = true;
	}
	stor_scan_release(&sc);
	return r;
}

/* A report read for its views: only what they use (the findings' and
 * packages' fields, os, counts, status, an index's manifests), each
 * finding built, projected and freed as the parse goes (jstream.h)
 * rather than the whole report as one tree: a report of 5,000 findings
 * is megabytes, and its tree most of the time of a first view. */
struct ui_slim {
	json_t *rep;
};

static json_t *ui_slim_finding(const json_t *v)
{
	const json_t *p = json_object_get(v, "package");

	return json_pack("{s:O?, s:O?, s:O?, s:O?, s:{s:O?, s:O?}, s:O?, "
			 "s:O?, s:O?, s:O?}",
			 "id", json_object_get(v, "id"), "aliases",
			 json_object_get(v, "aliases"), "severity",
			 json_object_get(v, "severity"), "severity_source",
			 json_object_get(v, "severity_source"), "package",
			 "name", json_object_get(p, "name"), "ecosystem",
			 json_object_get(p, "ecosystem"), "installed",
			 json_object_get(v, "installed"), "fixed",
			 json_object_get(v, "fixed"), "status",
			 json_object_get(v, "status"), "summary",
			 json_object_get(v, "summary"));
}

static json_t *ui_slim_package(const json_t *p)
{
	return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "name",
			 json_object_get(p, "name"), "version",
			 json_object_get(p, "version"), "ecosystem",
			 json_object_get(p, "ecosystem"), "layer",
			 json_object_get(p, "layer"), "path",
			 json_object_get(p, "path"));
}

static int ui_slim_fn(void *ctx, const char *const *keys, size_t depth,
		      json_t *v, struct err *e)
{
	static const char *const objs[] = {"os", "counts"};
	static const char *const lists[] = {"vulnerabilities", "packages",
					    "manifests"};
	struct ui_slim *s = ctx;
	json_t *o, *x = NULL;
	size_t i;

	(void)e;
	if (depth == 1) {
		/* A scalar member (status, counts as "no data", os null). */
		if (!strcmp(keys[0], "status") || !strcmp(keys[0], "counts") ||
		    !strcmp(keys[0], "os"))
			json_object_set(s->rep, keys[0], v);
		return 0;
	}
	for (i = 0; i < 2; i++) {
		if (strcmp(keys[0], objs[i]) || !keys[1])
			continue;
		o = json_object_get(s->rep, keys[0]);
		if (!json_is_object(o)) {
			o = json_object();
			json_object_set_new(s->rep, keys[0], o);
		}
		json_object_set(o, keys[1], v);
		return 0;
	}
	for (i = 0; i < 3; i++) {
		if (strcmp(keys[0], lists[i]) || keys[1])
			continue;
		o = json_object_get(s->rep, keys[0]);
		if (!json_is_array(o)) {
			o = json_array();
			json_object_set_new(s->rep, keys[0], o);
		}
		x = i == 0   ? ui_slim_finding(v)
		    : i == 1 ? ui_slim_package(v)
			     : json_incref(v);
		if (x)
			json_array_append_new(o, x);
		return 0;
	}
	return 0;
}

/* ui_report() for the views: the slim report (ui_slim_fn()). */
static json_t *ui_report_slim(struct stor *st, const struct digest *dg,
			      struct digest *blob, bool *in_blob)
{
	struct ui_slim s = {.rep = NULL};
	struct err e = ERR_INIT;
	struct jstream *js = NULL;
	struct stor_scan sc;

	*in_blob = false;
	if (stor_scan_get(st, dg, true, &sc, &e) < 0)
		return NULL;
	if (!sc.has_result || !sc.report)
		goto out;
	s.rep = json_object();
	js = jstream_new(2, 0, ui_slim_fn, &s);
	if (jstream_feed(js, sc.report, strlen(sc.report), &e) < 0 ||
	    jstream_end(js, &e) < 0) {
		json_decref(s.rep);
		s.rep = NULL;
		goto out;
	}
	if (sc.in_blob) {
		*blob = sc.report_blob;
		*in_blob = true;
	}
out:
	jstream_free(js);
	err_clear(&e);
	stor_scan_release(&sc);
	return s.rep;
}

/* The policy's verdict on dg: {verdict, why}. */
static json_t *ui_policy(struct reg_call *c, const struct digest *dg)
{
	static const char *const names[] = {
		[REG_POLICY_SERVE] = "serve",
		[REG_POLICY_DENY] = "deny",
		[REG_POLICY_PENDING] = "pending",
		[REG_POLICY_NONE] = "not-scanned",
	};
	const struct reg_policy *p = c->ctx->policy;
	struct err e = ERR_INIT;
	enum reg_policy_verdict v;
	struct stor_scan sc;
	char why[256] = "";

	if (!p || p->deny < 0)
		return json_pack("{s:s, s:s}", "verdict", "serve", "why",
				 "no pull policy (--deny-severity) is set");
	if (stor_scan_get(c->ctx->st, dg, false, &sc, &e) < 0)
		return json_pack("{s:s, s:s}", "verdict", "error", "why",
				 e.msg);
	v = reg_policy_decide(p, &sc, why, sizeof(why));
	stor_scan_release(&sc);
	if (v == REG_POLICY_SERVE)
		snprintf(why, sizeof(why), "%s",
			 "nothing the policy refuses was found");
	return json_pack("{s:s, s:s}", "verdict", names[v], "why", why);
}

static json_t *ui_referrers(struct stor *st, const char *repo,
			    const struct digest *dg)
{
	struct stor_desc *d = NULL;
	struct err e = ERR_INIT;
	char ds[DIGEST_STR_MAX];
	size_t n = 0;
	json_t *out = json_array(), *o;

	if (stor_referrers(st, repo, dg, NULL, &d, &n, &e) < 0)
		return out;
	for (size_t i = 0; i < n; i++) {
		o = json_pack("{s:s, s:s, s:I, s:o}", "digest",
			      digest_str(&d[i].digest, ds), "media_type",
			      d[i].media_type, "size", (json_int_t)d[i].size,
			      "artifact_type",
			      d[i].artifact_type
				      ? json_string(d[i].artifact_type)
				      : json_null());
		if (d[i].annotations_json)
			json_object_set_new(
				o, "annotations",
				json_loads(d[i].annotations_json, 0, NULL));
		json_array_append_new(out, o);
	}
	stor_desc_free(d, n);
	return out;
}

/* One image manifest's detail (a platform of an index, or the image);
 * *whole is set false when its manifest could not be read. */
static json_t *ui_image_detail(struct stor *st, const char *repo,
			       const char *dgs, const json_t *rep,
			       const char *platform, bool *whole)
{
	struct stor_manifest *m = NULL;
	struct err e = ERR_INIT;
	struct digest dg;
	json_t *man = NULL, *o;

	o = json_pack("{s:s, s:o}", "digest", dgs, "platform",
		      platform ? json_string(platform) : json_null());
	if (digest_parse(dgs, strlen(dgs), &dg, &e) == 0 &&
	    stor_manifest_get(st, repo, NULL, &dg, &m, &e) == 0)
		man = json_loadb(m->body, m->len, 0, NULL);
	if (!man)
		*whole = false;
	json_object_set_new(o, "layers",
			    man ? ui_layers(st, repo, man, rep) : json_array());
	json_object_set(o, "os", json_object_get(rep, "os"));
	json_object_set_new(o, "packages", ui_packages(rep));
	json_object_set_new(o, "findings", ui_findings(rep, platform));
	json_object_set(o, "counts", json_object_get(rep, "counts"));
	json_object_set(o, "status", json_object_get(rep, "status"));
	json_decref(man);
	stor_manifest_free(m);
	return o;
}

/* Findings of a whole report: an index's are its platforms' together. */
static json_t *ui_all_findings(const json_t *rep)
{
	json_t *mans = json_object_get(rep, "manifests"), *all, *m;
	size_t i;

	if (!json_is_array(mans))
		return ui_findings(rep, NULL);
	all = json_array();
	json_array_foreach(mans, i, m) {
		json_t *pl = ui_platform_str(json_object_get(
			json_object_get(m, "image"), "platform"));

		json_array_extend(all, ui_findings(m, json_string_value(pl)));
		json_decref(pl);
	}
	return all;
}

/* Where the report is, as JSON and as CycloneDX. */
static json_t *ui_downloads(const char *repo, const char *ds)
{
	char *u = xasprintf("/v2/_customs/report?repo=%s&ref=%s", repo, ds);
	char *x = xasprintf("%s&format=cyclonedx", u);
	json_t *o = json_pack("{s:s, s:s}", "json", u, "cyclonedx", x);

	free(u);
	free(x);
	return o;
}

/* An image's "platforms" and "image" as the JSON text that goes out is
 * kept as a view (ui.h): a report of 5,000 findings takes jansson most of
 * a second to load, dump and free, this text a millisecond to copy.
 * What else goes in (the manifest, the config) is content-addressed
 * too. */

/* Where the views are kept on disk: DATA/ui-views (NULL: memory only). */
static char *ui_views_dir(const struct reg_ctx *ctx)
{
	return ctx->cfg && ctx->cfg->data
		       ? xasprintf("%s/ui-views", ctx->cfg->data)
		       : NULL;
}

/* The key of repo's detail of what blob holds, for the platform asked
 * for (NULL: the image, or an index's first). */
static char *ui_cache_key(const char *repo, const struct digest *blob,
			  const char *platform)
{
	char ds[DIGEST_STR_MAX];

	return xasprintf("image\n%s\n%s\n%s", repo, digest_str(blob, ds),
			 platform ? platform : "");
}

/* The key of the view of every platform's findings (ui_all_findings())
 * of what blob holds, which a diff reads. */
static char *ui_findings_key(const char *repo, const struct digest *blob)
{
	char ds[DIGEST_STR_MAX];

	return xasprintf("findings\n%s\n%s", repo, digest_str(blob, ds));
}

/* Keeps f as that view (in its file only, with file_only). */
static void ui_findings_put(const char *dir, const char *repo,
			    const struct digest *blob, const json_t *f,
			    bool file_only)
{
	char *key = ui_findings_key(repo, blob);
	char *text = json_dumps(f, JSON_COMPACT);

	if (text)
		(file_only ? ui_view_put_file : ui_view_put)(dir, key, text,
							     strlen(text));
	free(text);
	free(key);
}

/* The cache key of dg's detail as its scan row names it now; NULL when
 * there is no report blob to name. */
static char *ui_image_key(struct stor *st, const char *repo,
			  const struct digest *dg, const char *platform)
{
	struct err e = ERR_INIT;
	struct stor_scan sc;
	char *key = NULL;

	if (stor_scan_get(st, dg, false, &sc, &e) < 0)
		return NULL;
	if (sc.has_result && sc.in_blob)
		key = ui_cache_key(repo, &sc.report_blob, platform);
	stor_scan_release(&sc);
	return key;
}

/* An index's platforms by child digest, as its descriptors say (and the
 * tag rows show): a child's config may say otherwise, or the same for
 * two children. */
static json_t *ui_index_platforms(const struct stor_manifest *m)
{
	json_t *j = json_loadb(m->body, m->len, 0, NULL), *out, *d, *p;
	size_t i;

	out = json_object();
	json_array_foreach(json_object_get(j, "manifests"), i, d) {
		const char *cd =
			json_string_value(json_object_get(d, "digest"));

		p = ui_platform_str(json_object_get(d, "platform"));
		if (cd && p && !json_object_get(out, cd))
			json_object_set(out, cd, p);
		json_decref(p);
	}
	json_decref(j);
	return out;
}

/* {platforms, image} of the image ds of repo from its report (an index's
 * platforms named as byidx says, else as the report does); NULL when
 * want (a platform) is not one of an index's.  *whole is set false when
 * a part could not be read. */
static json_t *ui_image_body(struct stor *st, const char *repo, const char *ds,
			     const json_t *rep, const json_t *byidx,
			     const char *want, bool *whole)
{
	json_t *mans = json_object_get(rep, "manifests"), *plats, *mr;
	json_t *detail = NULL;
	size_t i;

	plats = json_array();
	if (json_is_array(mans)) {
		json_array_foreach(mans, i, mr) {
			const json_t *img = json_object_get(mr, "image");
			const char *cd = json_string_value(
				json_object_get(img, "digest"));
			json_t *pl = cd ? json_object_get(byidx, cd) : NULL;
			const char *ps;

			pl = pl ? json_incref(pl)
				: ui_platform_str(
					  json_object_get(img, "platform"));
			ps = json_string_value(pl);
			json_array_append_new(
				plats,
				json_pack("{s:o, s:s}", "platform",
					  pl ? json_incref(pl) : json_null(),
					  "digest", cd ? cd : ""));
			/* The one asked for, else the first. */
			if (cd && !detail &&
			    (!want || (ps && !strcmp(ps, want))))
				detail = ui_image_detail(st, repo, cd, mr, ps,
							 whole);
			json_decref(pl);
		}
		if (!detail && want) {
			json_decref(plats);
			return NULL;
		}
	} else if (rep) {
		detail = ui_image_detail(st, repo, ds, rep, NULL, whole);
	}
	return json_pack("{s:o, s:o}", "platforms", plats, "image",
			 detail ? detail : json_null());
}

/* Appends an object's members, without its braces, to out. */
static int ui_add_members(struct buf *out, const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;
	int rc = -1;

	if (n >= 2 && s[0] == '{' && s[n - 1] == '}')
		rc = buf_add(out, s + 1, n - 2);
	free(s);
	return rc;
}

/* What a view made for a request leaves to write to disk once the reply
 * is out: the image's text (text.buf from head, len bytes) and, for an
 * image (not an index), its findings as the diff's view. */
struct ui_disk_job {
	char *dir;
	char name[REG_NAME_MAX + 1];
	struct digest blob; /* the report's */
	char *key;
	struct buf text;
	size_t head, len;
	json_t *findings; /* or NULL */
};

static void ui_disk_run(void *arg)
{
	struct ui_disk_job *d = arg;

	ui_view_put(d->dir, d->key, d->text.buf + d->head, d->len);
	if (d->findings)
		ui_findings_put(d->dir, d->name, &d->blob, d->findings, false);
}

static void ui_disk_done(struct http_req *req, void *arg)
{
	struct ui_disk_job *d = arg;

	(void)req;
	free(d->dir);
	free(d->key);
	buf_release(&d->text);
	json_decref(d->findings);
	free(d);
}

/* The part of an image's reply made from its report when the cache has
 * not got it, on the pool: for 5,000 findings most of a second, which on
 * the loop would stall its other clients.  Made as a report is stored
 * too (api_ui_report_stored()), with no request waiting. */
struct ui_image_job {
	struct stor *st;
	struct reg_work *work;
	char name[REG_NAME_MAX + 1];
	struct digest digest;
	char *want;	/* the platform asked for, or NULL */
	char *key;	/* its view's key as looked up, or NULL */
	char *dir;	/* ui_views_dir() */
	json_t *byidx;	/* ui_index_platforms() */
	struct buf out; /* the reply: its head comes in, the rest is added */
	bool missing;	/* want is not one of the index's platforms */
	bool failed;
	/* With a request: what to write to disk after the reply. */
	struct ui_disk_job *disk;
};

/* Views built since start: on a report stored, on a request (the
 * report's first view found none). */
static atomic_uint_fast64_t ui_built[2];

/* Adds the body of j's image to j->out from its report and keeps it as
 * a view: with later (a request), in memory at once, and j->disk says
 * what to write after the reply; without (a report stored), in its file
 * at once. */
static void ui_image_make(struct ui_image_job *j, bool later)
{
	char ds[DIGEST_STR_MAX];
	size_t head = j->out.len;
	struct ui_disk_job *d;
	struct digest blob;
	bool in_blob, whole = true;
	json_t *rep, *body, *findings = NULL;

	rep = ui_report_slim(j->st, &j->digest, &blob, &in_blob);
	body = ui_image_body(j->st, j->name, digest_str(&j->digest, ds), rep,
			     j->byidx, j->want, &whole);
	if (!body)
		j->missing = true;
	else if (ui_add_members(&j->out, body) < 0)
		j->failed = true;
	if (!body || j->failed || !in_blob || !whole)
		goto out;
	/* Under the key of the report read, which may be newer than the one
	 * looked up.  An image's findings are the diff's view too: kept
	 * while at hand (an index's are its platforms' together). */
	d = xcalloc(1, sizeof(*d));
	d->dir = j->dir ? xstrdup(j->dir) : NULL;
	memcpy(d->name, j->name, sizeof(d->name));
	d->blob = blob;
	d->key = ui_cache_key(j->name, &blob, j->want);
	d->head = head;
	d->len = j->out.len - head;
	if (!json_object_get(rep, "manifests"))
		findings = json_incref(json_object_get(
			json_object_get(body, "image"), "findings"));
	d->findings = findings;
	atomic_fetch_add(&ui_built[later], 1);
	if (later) {
		ui_view_put(NULL, d->key, j->out.buf + head, d->len);
		j->disk = d;
		goto out;
	}
	/* No one asked yet (a report stored): the file alone, so that a
	 * re-match's thousands do not crowd out the views in use. */
	ui_view_put_file(d->dir, d->key, j->out.buf + head, d->len);
	if (findings)
		ui_findings_put(d->dir, d->name, &blob, findings, true);
	ui_disk_done(NULL, d);
out:
	json_decref(body);
	json_decref(rep);
}

static void ui_image_run(void *arg)
{
	struct ui_image_job *j = arg;

	/* Kept on disk (made before a restart, or as its report was
	 * stored)? */
	if (!(j->key && j->dir && ui_view_get(j->dir, j->key, &j->out)))
		ui_image_make(j, true);
	if (!j->missing && !j->failed && buf_add(&j->out, "}", 1) < 0)
		j->failed = true;
}

static void ui_image_free(struct ui_image_job *j)
{
	buf_release(&j->out);
	json_decref(j->byidx);
	free(j->want);
	free(j->key);
	free(j->dir);
	free(j);
}

static void ui_image_done(struct http_req *req, void *arg)
{
	struct ui_image_job *j = arg;
	struct ui_disk_job *d = j->disk;
	char ds[DIGEST_STR_MAX];

	if (req && j->missing)
		reg_reply_errorf(req, ERR_MANIFEST_UNKNOWN,
				 "no platform %s in %s", j->want,
				 digest_str(&j->digest, ds));
	else if (req && j->failed)
		reg_reply_errorf(req, ERR_INTERNAL, "cannot serialise reply");
	else if (req)
		reg_reply_mem(req, 200, "application/json", j->out.buf,
			      j->out.len);
	/* The reply is out: its view's files next, on the pool (its text
	 * goes with them). */
	if (d) {
		d->text = j->out;
		j->out = (struct buf)BUF_INIT;
		if (!d->dir || !j->work ||
		    reg_work_run(j->work, NULL, ui_disk_run, ui_disk_done, d) <
			    0)
			ui_disk_done(NULL, d);
	}
	ui_image_free(j);
}

/* --- Views made as a report is stored ---------------------------------- */

/* Repositories of an image whose views are made with its report; in
 * others, its first view makes them. */
#define UI_PREBUILD_REPOS 4
/* Views being made for reports, queued or running, at most: the pool's
 * queue is the requests' too, and a re-match after a DB change stores
 * thousands of reports in a burst.  Past it a report's view is left to
 * its first view, as it was. */
#define UI_PREBUILD_MAX 4

static atomic_int ui_prebuilding;

struct ui_prebuild {
	struct stor *st;
	char *dir;
	struct digest digest;
};

/* The view of dg's image as a first look at it asks for (no platform)
 * in each repository that has it, unless kept already. */
static void ui_prebuild_run(void *arg)
{
	struct ui_prebuild *p = arg;
	struct err e = ERR_INIT;
	struct stor_scan sc;
	char **repos = NULL, *key;
	size_t n = 0;

	if (stor_scan_peek(p->st, &p->digest, &sc, &e) < 0)
		return;
	if (!sc.has_result || !sc.in_blob ||
	    stor_manifest_repos(p->st, &p->digest, &repos, &n, &e) < 0)
		goto out;
	for (size_t i = 0; i < n && i < UI_PREBUILD_REPOS; i++) {
		struct ui_image_job j = {.st = p->st, .digest = p->digest};
		struct stor_manifest *m = NULL;

		key = ui_cache_key(repos[i], &sc.report_blob, NULL);
		if (strlen(repos[i]) > REG_NAME_MAX ||
		    ui_view_has(p->dir, key) ||
		    stor_manifest_get(p->st, repos[i], NULL, &p->digest, &m,
				      &e) < 0) {
			free(key);
			continue;
		}
		free(key);
		memcpy(j.name, repos[i], strlen(repos[i]) + 1);
		j.dir = p->dir;
		j.byidx = ui_index_platforms(m);
		ui_image_make(&j, false);
		buf_release(&j.out);
		json_decref(j.byidx);
		stor_manifest_free(m);
	}
out:
	stor_strv_free(repos, n);
	stor_scan_release(&sc);
}

static void ui_prebuild_done(struct http_req *req, void *arg)
{
	struct ui_prebuild *p = arg;

	(void)req;
	free(p->dir);
	free(p);
	atomic_fetch_sub(&ui_prebuilding, 1);
}

void api_ui_report_stored(void *arg, const struct digest *dg)
{
	struct reg_ctx *ctx = arg;
	struct ui_prebuild *p;

	if (!ctx->work)
		return;
	if (atomic_fetch_add(&ui_prebuilding, 1) >= UI_PREBUILD_MAX) {
		atomic_fetch_sub(&ui_prebuilding, 1);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->st = ctx->st;
	p->dir = ui_views_dir(ctx);
	p->digest = *dg;
	/* A full queue: the first view makes it, as before. */
	if (reg_work_run(ctx->work, NULL, ui_prebuild_run, ui_prebuild_done,
			 p) < 0)
		ui_prebuild_done(NULL, p);
}

void api_ui_views_built(uint64_t *on_report, uint64_t *on_request)
{
	*on_report = atomic_load(&ui_built[0]);
	*on_request = atomic_load(&ui_built[1]);
}

enum reg_status api_ui_image(struct reg_call *c)
{
	const char *want = http_req_query_param(c->req, "platform");
	char name[REG_NAME_MAX + 1], ds[DIGEST_STR_MAX], *key = NULL;
	struct stor *st = c->ctx->st;
	struct buf out = BUF_INIT;
	struct ui_image_job *j;
	struct stor_manifest *m;
	enum reg_status rs = REG_DONE;
	json_t *o;
	int64_t upd;

	if (!ui_repo_arg(c, name) || !(m = ui_manifest_arg(c, name, "ref")))
		return REG_DONE;
	if (want && !*want)
		want = NULL;
	digest_str(&m->digest, ds);
	/* What changes without the report changing is made anew each time. */
	o = json_pack("{s:s, s:s, s:s}", "repository", name, "digest", ds,
		      "media_type", m->media_type);
	json_object_set_new(o, "scan",
			    ui_scan_summary(st, name, &m->digest, &upd));
	json_object_set_new(o, "referrers", ui_referrers(st, name, &m->digest));
	json_object_set_new(o, "policy", ui_policy(c, &m->digest));
	json_object_set_new(o, "downloads", ui_downloads(name, ds));
	if (buf_add(&out, "{", 1) < 0 || ui_add_members(&out, o) < 0 ||
	    buf_add(&out, ",", 1) < 0) {
		reg_reply_errorf(c->req, ERR_INTERNAL,
				 "cannot serialise reply");
		goto out;
	}
	key = ui_image_key(st, name, &m->digest, want);
	if (key && ui_view_get(NULL, key, &out)) {
		buf_add(&out, "}", 1);
		reg_reply_mem(c->req, 200, "application/json", out.buf,
			      out.len);
		goto out;
	}
	j = xcalloc(1, sizeof(*j));
	j->st = st;
	j->work = c->ctx->work;
	memcpy(j->name, name, sizeof(j->name));
	j->digest = m->digest;
	j->want = want ? xstrdup(want) : NULL;
	j->byidx = ui_index_platforms(m);
	j->key = key;
	key = NULL;
	j->dir = ui_views_dir(c->ctx);
	j->out = out;
	out = (struct buf)BUF_INIT;
	reg_work_call(c->ctx->work, c->req, ui_image_run, ui_image_done, j);
	rs = REG_DEFERRED;
out:
	buf_release(&out);
	free(key);
	json_decref(o);
	stor_manifest_free(m);
	return rs;
}

/* --- GET /v2/_customs/diff
 * ----------------------------------------------------- */

/* What makes two findings the same one: platform, id, package. */
static char *ui_finding_key(const json_t *f)
{
	const char *pl = json_string_value(json_object_get(f, "platform"));
	const char *id = json_string_value(json_object_get(f, "id"));
	const char *pk = json_string_value(json_object_get(f, "package"));

	return xasprintf("%s\t%s\t%s", pl ? pl : "", id ? id : "",
			 pk ? pk : "");
}

struct ui_fkey {
	char *key;
	size_t i; /* the finding's index */
};

static int ui_fkey_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ui_fkey *)a)->key,
		      ((const struct ui_fkey *)b)->key);
}

/* The keys of a's findings, sorted. */
static struct ui_fkey *ui_fkeys(const json_t *a)
{
	size_t n = json_array_size(a), i;
	struct ui_fkey *k = xcalloc(n ? n : 1, sizeof(*k));
	json_t *f;

	json_array_foreach(a, i, f) {
		k[i].key = ui_finding_key(f);
		k[i].i = i;
	}
	qsort(k, n, sizeof(*k), ui_fkey_cmp);
	return k;
}

static void ui_fkeys_free(struct ui_fkey *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(k[i].key);
	free(k);
}

/* added: to's findings from lacks; fixed: from's that to lacks; both in
 * their report's order.  One merge of the two sorted key lists. */
static void ui_minus2(const json_t *from, const json_t *to, json_t **added,
		      json_t **fixed)
{
	size_t nf = json_array_size(from), nt = json_array_size(to);
	struct ui_fkey *kf = ui_fkeys(from), *kt = ui_fkeys(to);
	bool *in_from = xcalloc(nf + 1, 1), *in_to = xcalloc(nt + 1, 1);
	size_t a = 0, b = 0, i;
	int c;

	while (a < nf && b < nt) {
		c = strcmp(kf[a].key, kt[b].key);
		if (c < 0) {
			a++;
		} else if (c > 0) {
			b++;
		} else {
			const char *k = kf[a].key;

			for (; a < nf && !strcmp(kf[a].key, k); a++)
				in_from[kf[a].i] = true;
			for (; b < nt && !strcmp(kt[b].key, k); b++)
				in_to[kt[b].i] = true;
		}
	}
	*added = json_array();
	*fixed = json_array();
	for (i = 0; i < nt; i++)
		if (!in_to[i])
			json_array_append(*added, json_array_get(to, i));
	for (i = 0; i < nf; i++)
		if (!in_from[i])
			json_array_append(*fixed, json_array_get(from, i));
	free(in_from);
	free(in_to);
	ui_fkeys_free(kf, nf);
	ui_fkeys_free(kt, nt);
}

/* A reply made from stored reports (a diff, a download), on the pool:
 * a report of thousands of findings takes jansson a good part of a
 * second, which on the loop would stall its other clients. */
struct ui_rjob {
	void (*run)(struct ui_rjob *j);
	struct stor *st;
	char name[REG_NAME_MAX + 1];
	struct digest a, b; /* the image; for a diff, from and to */
	bool cdx;	    /* a download as CycloneDX */
	char *dir;	    /* ui_views_dir() */
	/* What run made: */
	struct buf text; /* the reply as JSON text, or empty: see reply */
	json_t *reply;	 /* NULL (and no text): e says why */
	const char *ctype;
	char *disp; /* Content-Disposition, or NULL */
	struct err e;
};

static void ui_rjob_run(void *arg)
{
	struct ui_rjob *j = arg;

	j->run(j);
}

static void ui_rjob_done(struct http_req *req, void *arg)
{
	struct ui_rjob *j = arg;

	if (req && j->text.len) {
		reg_reply_mem(req, 200, j->ctype, j->text.buf, j->text.len);
	} else if (req && !j->reply) {
		reg_reply_error(req, &j->e);
	} else if (req) {
		if (j->disp)
			http_reply_header(req, "Content-Disposition", j->disp);
		reg_reply_json_type(req, 200, j->ctype, j->reply);
		j->reply = NULL;
	}
	json_decref(j->reply);
	buf_release(&j->text);
	free(j->dir);
	free(j->disp);
	err_clear(&j->e);
	free(j);
}

/* Runs j (its run, a, b and cdx set) on the pool for c. */
static enum reg_status ui_rjob_start(struct reg_call *c, const char *name,
				     struct ui_rjob *j)
{
	j->st = c->ctx->st;
	memcpy(j->name, name, sizeof(j->name));
	j->ctype = "application/json";
	j->dir = ui_views_dir(c->ctx);
	j->e = (struct err)ERR_INIT;
	reg_work_call(c->ctx->work, c->req, ui_rjob_run, ui_rjob_done, j);
	return REG_DEFERRED;
}

/* The blob dg's report is kept in; false when it has none (no report, or
 * one kept inline). */
static bool ui_report_blob(struct stor *st, const struct digest *dg,
			   struct digest *blob)
{
	struct err e = ERR_INIT;
	struct stor_scan sc;
	bool ok;

	if (stor_scan_get(st, dg, false, &sc, &e) < 0)
		return false;
	ok = sc.has_result && sc.in_blob;
	if (ok)
		*blob = sc.report_blob;
	stor_scan_release(&sc);
	return ok;
}

/* Every platform's findings of dg's report (ui_all_findings()), from its
 * view when kept, else from the report (then kept): a few hundred bytes a
 * finding where the report has kilobytes.  *blob gets the report's blob,
 * *in_blob whether it has one; NULL when there is no report. */
static json_t *ui_findings_view(struct ui_rjob *j, const struct digest *dg,
				struct digest *blob, bool *in_blob)
{
	struct buf b = BUF_INIT;
	json_t *rep, *f = NULL;
	char *key = NULL;

	*in_blob = ui_report_blob(j->st, dg, blob);
	if (*in_blob) {
		key = ui_findings_key(j->name, blob);
		if (ui_view_get(j->dir, key, &b))
			f = json_loadb(b.buf, b.len, 0, NULL);
	}
	if (f)
		goto out;
	rep = ui_report_slim(j->st, dg, blob, in_blob);
	f = rep ? ui_all_findings(rep) : NULL;
	json_decref(rep);
	if (f && *in_blob)
		ui_findings_put(j->dir, j->name, blob, f, false);
out:
	buf_release(&b);
	free(key);
	return f;
}

/* A diff is kept as a view of its two reports' blobs. */
static char *ui_diff_key(const char *repo, const struct digest *a,
			 const struct digest *b)
{
	char as[DIGEST_STR_MAX], bs[DIGEST_STR_MAX];

	return xasprintf("diff\n%s\n%s\n%s", repo, digest_str(a, as),
			 digest_str(b, bs));
}

static void ui_diff_run(struct ui_rjob *j)
{
	char fd[DIGEST_STR_MAX], td[DIGEST_STR_MAX], *key = NULL, *text = NULL;
	json_t *ff = NULL, *ft = NULL, *added, *fixed, *o = NULL;
	struct digest bf, bt;
	bool in_from, in_to;

	if (ui_report_blob(j->st, &j->a, &bf) &&
	    ui_report_blob(j->st, &j->b, &bt)) {
		key = ui_diff_key(j->name, &bf, &bt);
		if (ui_view_get(j->dir, key, &j->text))
			goto out;
	}
	ff = ui_findings_view(j, &j->a, &bf, &in_from);
	ft = ui_findings_view(j, &j->b, &bt, &in_to);
	if (!ff || !ft) {
		err_set(&j->e, ERR_NOT_FOUND, "no scan report yet for %s",
			!ff ? "from" : "to");
		goto out;
	}
	ui_minus2(ff, ft, &added, &fixed);
	o = json_pack(
		"{s:s, s:s, s:s, s:o, s:o, s:I}", "repository", j->name, "from",
		digest_str(&j->a, fd), "to", digest_str(&j->b, td), "added",
		added, "fixed", fixed, "unchanged",
		(json_int_t)(json_array_size(ft) - json_array_size(added)));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (!text || buf_adds(&j->text, text) < 0) {
		buf_release(&j->text);
		err_set(&j->e, ERR_INTERNAL, "cannot serialise reply");
		goto out;
	}
	/* Under the keys of the reports read, which may be newer than the
	 * ones looked up. */
	if (in_from && in_to) {
		free(key);
		key = ui_diff_key(j->name, &bf, &bt);
		ui_view_put(j->dir, key, j->text.buf, j->text.len);
	}
out:
	free(text);
	free(key);
	json_decref(o);
	json_decref(ff);
	json_decref(ft);
}

enum reg_status api_ui_diff(struct reg_call *c)
{
	char name[REG_NAME_MAX + 1];
	struct stor_manifest *from = NULL, *to = NULL;
	enum reg_status rs = REG_DONE;
	struct ui_rjob *j;

	if (!ui_repo_arg(c, name) ||
	    !(from = ui_manifest_arg(c, name, "from")) ||
	    !(to = ui_manifest_arg(c, name, "to")))
		goto out;
	j = xcalloc(1, sizeof(*j));
	j->run = ui_diff_run;
	j->a = from->digest;
	j->b = to->digest;
	rs = ui_rjob_start(c, name, j);
out:
	stor_manifest_free(from);
	stor_manifest_free(to);
	return rs;
}

/* --- GET /v2/_customs/report
 * -------------------------------------------------- */

static void ui_download_run(struct ui_rjob *j)
{
	char ds[DIGEST_STR_MAX];
	json_t *rep = ui_report(j->st, &j->a, NULL, NULL), *mine;

	if (!rep) {
		err_set(&j->e, ERR_NOT_FOUND, "no scan report yet for %s",
			digest_str(&j->a, ds));
		return;
	}
	mine = rs_report_in(rep, j->name);
	j->disp = xasprintf("attachment; filename=\"%.12s.%s.json\"", j->a.hex,
			    j->cdx ? "cdx" : "report");
	if (j->cdx) {
		j->reply = report_cyclonedx(mine);
		j->ctype = "application/vnd.cyclonedx+json";
		json_decref(mine);
	} else {
		j->reply = mine;
	}
	json_decref(rep);
}

enum reg_status api_ui_report(struct reg_call *c)
{
	const char *fmt = http_req_query_param(c->req, "format");
	bool cdx = fmt && !strcmp(fmt, "cyclonedx");
	char name[REG_NAME_MAX + 1];
	struct stor_manifest *m;
	struct ui_rjob *j;

	if (fmt && *fmt && !cdx && strcmp(fmt, "json")) {
		reg_reply_errorf(c->req, ERR_INVALID,
				 "format is json or cyclonedx");
		return REG_DONE;
	}
	if (!ui_repo_arg(c, name) || !(m = ui_manifest_arg(c, name, "ref")))
		return REG_DONE;
	j = xcalloc(1, sizeof(*j));
	j->run = ui_download_run;
	j->a = m->digest;
	j->cdx = cdx;
	stor_manifest_free(m);
	return ui_rjob_start(c, name, j);
}

/* --- GET /v2/_customs/chart
 * --------------------------------------------------- */

/* Every tag's counts in push order, for the repository's chart: a page of
 * up to UI_CHART_MAX from ?start= (default 0).  One query reads the tags
 * with their scans' short columns; no manifest is read, and a report's
 * findings only when no chart or page listed it before (ui_brief); with
 * counts=0 not even that (the tag names and times, for a list to pick
 * from).
 * With series=1 the page is two parallel arrays, what a chart draws:
 * "tags" (names) and "counts" ([critical, high, medium, low, unknown], or
 * null when the tag has none), a tenth of the rows' bytes. */
/* A scan's counts as a series point: [critical, ..., unknown], or null
 * when they are not numbers ("no data", no scan). */
static json_t *ui_series_counts(const json_t *counts)
{
	json_t *v;

	if (!json_is_object(counts))
		return json_null();
	v = json_array();
	for (size_t k = 0; k < UI_NSEV; k++)
		json_array_append_new(
			v, json_integer(json_integer_value(
				   json_object_get(counts, ui_sev[k]))));
	return v;
}

enum reg_status api_ui_chart(struct reg_call *c)
{
	const char *ns = http_req_query_param(c->req, "n");
	const char *ss = http_req_query_param(c->req, "start");
	const char *cs = http_req_query_param(c->req, "counts");
	const char *se = http_req_query_param(c->req, "series");
	bool want = !cs || strcmp(cs, "0"), series = se && !strcmp(se, "1");
	char name[REG_NAME_MAX + 1], ds[DIGEST_STR_MAX], **none = NULL;
	struct stor_tag_scan *tt = NULL;
	struct err e = ERR_INIT;
	size_t count = 0, start = 0, end, k;
	long n = UI_CHART_MAX;
	bool more = false;
	json_t *seen, *list, *row, *nums = NULL, *reply;
	int64_t upd;

	if (!ui_repo_arg(c, name))
		return REG_DONE;
	if (ss && *ss) {
		char *endp;
		long long v = strtoll(ss, &endp, 10);

		if (*endp || v < 0 || ss[0] == '-' || ss[0] == '+') {
			reg_reply_errorf(c->req, ERR_INVALID,
					 "start is a count of tags");
			return REG_DONE;
		}
		start = (size_t)v;
	}
	if (ns && reg_parse_page_n(ns, UI_CHART_MAX, &n, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	if (n < 0 || n > UI_CHART_MAX)
		n = UI_CHART_MAX;
	/* A listing of none tells an unknown repository. */
	if (stor_tags_list(c->ctx->st, name, NULL, 0, &none, &k, &more, &e) <
		    0 ||
	    stor_tag_scans(c->ctx->st, name, &tt, &count, &e) < 0) {
		if (e.code == ERR_NAME_UNKNOWN)
			ui_reply_no_repo(c, name);
		else
			reg_reply_error(c->req, &e);
		stor_strv_free(none, k);
		return REG_DONE;
	}
	stor_strv_free(none, k);
	seen = json_object();
	list = json_array();
	end = start < count && count - start > (size_t)n ? start + (size_t)n
							 : count;
	for (size_t i = start; i < end; i++) {
		const struct stor_tag_time *t = &tt[i].t;
		json_t *sum = json_object_get(seen, digest_str(&t->digest, ds));

		if (!sum && !want) {
			sum = json_object();
			json_object_set_new(seen, ds, sum);
		} else if (!sum) {
			sum = ui_scan_json(c->ctx->st, name, &t->digest,
					   &tt[i].scan, &upd);
			json_object_set_new(seen, ds, sum);
		}
		if (series) {
			json_array_append_new(list, json_string(t->tag));
			if (want)
				json_array_append_new(
					nums ? nums : (nums = json_array()),
					ui_series_counts(json_object_get(
						sum, "counts")));
			continue;
		}
		row = json_pack("{s:s, s:s, s:o}", "tag", t->tag, "digest", ds,
				"pushed", ui_time(t->tagged));
		/* status, counts and worst, as the tags' "scan" has them. */
		for (k = 0; want && k < 3; k++) {
			static const char *const keys[] = {"status", "counts",
							   "worst"};
			json_t *v = json_object_get(sum, keys[k]);

			json_object_set(row, keys[k], v ? v : json_null());
		}
		json_array_append_new(list, row);
	}
	reply = json_pack("{s:s, s:I, s:I, s:o, s:o}", "repository", name,
			  "total", (json_int_t)count, "start",
			  (json_int_t)start, "tags", list, "next",
			  end < count ? json_integer((json_int_t)end)
				      : json_null());
	if (series && want)
		json_object_set_new(reply, "counts",
				    nums ? nums : json_array());
	reg_reply_json(c->req, 200, reply);
	json_decref(seen);
	stor_tag_scans_free(tt, count);
	return REG_DONE;
}

/* --- GET /v2/_customs/status
 * -------------------------------------------------- */

/* The most recent failed scans of repositories the caller may pull. */
static json_t *ui_failures(struct reg_call *c, struct err *e)
{
	struct stor_scan_failure *f = NULL;
	char ds[DIGEST_STR_MAX];
	size_t n = 0;
	json_t *out;

	if (stor_scan_failures(c->ctx->st, UI_FAILURES_READ, &f, &n, e) < 0)
		return NULL;
	out = json_array();
	for (size_t i = 0; i < n && json_array_size(out) < UI_FAILURES_SHOW;
	     i++) {
		/* Not an image: nothing to scan, not a failure to show. */
		if (!f[i].repo || !ui_may_pull(c, f[i].repo) ||
		    (f[i].error && !strcmp(f[i].error, REG_SCAN_NOT_IMAGE)))
			continue;
		json_array_append_new(
			out, json_pack("{s:s, s:s, s:s?, s:o, s:i}",
				       "repository", f[i].repo, "digest",
				       digest_str(&f[i].digest, ds), "error",
				       f[i].error, "time", ui_time(f[i].when),
				       "attempts", f[i].attempts));
	}
	stor_scan_failures_free(f, n);
	return out;
}

/* One --mirror or --upstream value as {prefix, url}. */
static json_t *ui_upstream_entry(const char *s, bool mirror)
{
	const char *url = NULL, *eq = strchr(s, '=');
	json_t *o = NULL, *prefix = json_null(), *out;

	if (s[0] == '{') {
		o = json_loads(s, 0, NULL);
		url = json_string_value(json_object_get(o, "url"));
		if (json_is_string(json_object_get(o, "prefix")))
			prefix = json_copy(json_object_get(o, "prefix"));
	} else if (mirror) {
		url = s;
	} else if (eq) {
		prefix = json_stringn(s, (size_t)(eq - s));
		url = eq + 1;
	}
	/* The URL holds no credentials (they go in the config's username
	 * and password) and no path: the configuration checks so. */
	out = json_pack("{s:o, s:s?}", "prefix", prefix, "url", url);
	json_decref(o);
	return out;
}

/* What the pull-through cache did since start, in words a page can show:
 * one health line and the counts behind it (all upstreams together). */
static json_t *ui_proxy_health(struct reg_proxy *p)
{
	static const char *const kinds[] = {"manifests", "blobs"};
	static const char *const results[] = {"hit", "stale", "miss"};
	struct reg_proxy_stats s;
	json_t *o, *errs = json_object(), *k;
	uint64_t failed = 0;
	const char *health;

	reg_proxy_stats(p, &s);
	for (size_t i = 0; i < REG_PROXY_NERRORS; i++) {
		failed += s.upstream_errors[i];
		if (s.upstream_errors[i])
			json_object_set_new(
				errs, reg_proxy_error_name(i),
				json_integer((json_int_t)s.upstream_errors[i]));
	}
	health = !s.upstream_transfers		     ? "idle"
		 : !failed			     ? "ok"
		 : failed * 2 > s.upstream_transfers ? "failing"
						     : "errors";
	o = json_pack("{s:s, s:I, s:I, s:I, s:o}", "health", health,
		      "transfers", (json_int_t)s.upstream_transfers, "failed",
		      (json_int_t)failed, "bytes", (json_int_t)s.upstream_bytes,
		      "errors", errs);
	for (size_t i = 0; i < REG_PROXY_NKINDS; i++) {
		k = json_object();
		for (size_t r = 0; r < REG_PROXY_NRESULTS; r++)
			json_object_set_new(
				k, results[r],
				json_integer((json_int_t)s.requests[i][r]));
		json_object_set_new(o, kinds[i], k);
	}
	return o;
}

enum reg_status api_ui_status(struct reg_call *c)
{
	const struct cfg *cfg = c->ctx->cfg;
	struct err e = ERR_INIT;
	json_t *fails = ui_failures(c, &e), *ups;
	bool metrics;

	if (!fails) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	ups = json_array();
	if (cfg->mirror)
		json_array_append_new(ups,
				      ui_upstream_entry(cfg->mirror, true));
	for (size_t i = 0; i < cfg->upstream.n; i++)
		json_array_append_new(
			ups, ui_upstream_entry(cfg->upstream.v[i], false));
	/* Whether the page may ask for /metrics (admins only): by the
	 * rules, as a token the form asks for would be granted. */
	metrics = !c->ctx->auth || (c->who && c->who->user &&
				    auth_may(c->ctx->auth, c->who->user,
					     REG_METRICS_RESOURCE, AUTH_ADMIN));
	reg_reply_json(c->req, 200,
		       json_pack("{s:o, s:o, s:o, s:b}", "failures", fails,
				 "upstreams", ups, "proxy",
				 c->ctx->proxy ? ui_proxy_health(c->ctx->proxy)
					       : json_null(),
				 "metrics", metrics));
	return REG_DONE;
}
