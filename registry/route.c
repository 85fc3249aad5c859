#include "registry/api_int.h"

#include <stdio.h>
#include <string.h>

#include "registry/authz_int.h"
#include "registry/metrics_int.h"
#include "registry/policy_int.h"
#include "registry/proxy/proxy.h"
#include "registry/reply_int.h"
#include "registry/ui/ui.h"
#include "common/banned.h"

/* Order matters where patterns overlap: uploads before blobs. */
static const struct reg_route reg_routes[] = {
	{"/v2/", HTTP_M_GET, ROUTE_ARG_NONE, api_base},
	{"/v2/", HTTP_M_HEAD, ROUTE_ARG_NONE, api_base},
	{"/v2/_catalog", HTTP_M_GET, ROUTE_ARG_NONE, api_catalog},
	{"<name>/tags/list", HTTP_M_GET, ROUTE_ARG_NONE, api_tags_list},
	{"<name>/manifests/<ref>", HTTP_M_GET, ROUTE_ARG_REF, api_manifest_get},
	{"<name>/manifests/<ref>", HTTP_M_HEAD, ROUTE_ARG_REF,
	 api_manifest_get},
	{"<name>/manifests/<ref>", HTTP_M_PUT, ROUTE_ARG_REF, api_manifest_put},
	{"<name>/manifests/<ref>", HTTP_M_DELETE, ROUTE_ARG_REF,
	 api_manifest_delete},
	{"<name>/blobs/uploads/", HTTP_M_POST, ROUTE_ARG_NONE,
	 api_upload_start},
	{"<name>/blobs/uploads", HTTP_M_POST, ROUTE_ARG_NONE, api_upload_start},
	{"<name>/blobs/uploads/<id>", HTTP_M_GET, ROUTE_ARG_UPLOAD,
	 api_upload_status},
	{"<name>/blobs/uploads/<id>", HTTP_M_PATCH, ROUTE_ARG_UPLOAD,
	 api_upload_patch},
	{"<name>/blobs/uploads/<id>", HTTP_M_PUT, ROUTE_ARG_UPLOAD,
	 api_upload_put},
	{"<name>/blobs/uploads/<id>", HTTP_M_DELETE, ROUTE_ARG_UPLOAD,
	 api_upload_cancel},
	{"<name>/blobs/<digest>", HTTP_M_GET, ROUTE_ARG_DIGEST, api_blob_get},
	{"<name>/blobs/<digest>", HTTP_M_HEAD, ROUTE_ARG_DIGEST, api_blob_get},
	{"<name>/blobs/<digest>", HTTP_M_DELETE, ROUTE_ARG_DIGEST,
	 api_blob_delete},
	{"<name>/referrers/<digest>", HTTP_M_GET, ROUTE_ARG_DIGEST,
	 api_referrers},
	/* Extensions (api_scan.c). */
	{"/v2/_oci/ext/discover", HTTP_M_GET, ROUTE_ARG_NONE, api_ext_discover},
	{"<name>/_oci/ext/discover", HTTP_M_GET, ROUTE_ARG_NONE,
	 api_ext_discover},
	{"<name>/_customs/scan/<ref>", HTTP_M_GET, ROUTE_ARG_REF, api_scan_get},
	{"/v2/_customs/db", HTTP_M_GET, ROUTE_ARG_NONE, api_scan_db_get},
	{"/v2/_customs/db", HTTP_M_POST, ROUTE_ARG_NONE, api_scan_db_post},
	{"/v2/_customs/doc", HTTP_M_GET, ROUTE_ARG_NONE, api_scan_doc},
	{"/v2/_customs/events/dead", HTTP_M_GET, ROUTE_ARG_NONE,
	 api_events_dead},
	/* What the web UI reads (api_ui.c). */
	{"/v2/_customs/repositories", HTTP_M_GET, ROUTE_ARG_NONE,
	 api_ui_repositories},
	{"/v2/_customs/tags", HTTP_M_GET, ROUTE_ARG_NONE, api_ui_tags},
	{"/v2/_customs/image", HTTP_M_GET, ROUTE_ARG_NONE, api_ui_image},
	{"/v2/_customs/diff", HTTP_M_GET, ROUTE_ARG_NONE, api_ui_diff},
	{"/v2/_customs/report", HTTP_M_GET, ROUTE_ARG_NONE, api_ui_report},
	{"/v2/_customs/chart", HTTP_M_GET, ROUTE_ARG_NONE, api_ui_chart},
	{"/v2/_customs/status", HTTP_M_GET, ROUTE_ARG_NONE, api_ui_status},
	/* The web UI's pages (ui/ui.h). */
	{"/ui", HTTP_M_GET, ROUTE_ARG_NONE, ui_serve},
	{"/ui/", HTTP_M_GET, ROUTE_ARG_NONE, ui_serve},
	{"/ui/index.html", HTTP_M_GET, ROUTE_ARG_NONE, ui_serve},
	{"/ui/app.js", HTTP_M_GET, ROUTE_ARG_NONE, ui_serve},
	{"/ui/app.css", HTTP_M_GET, ROUTE_ARG_NONE, ui_serve},
	{"/ui/favicon.svg", HTTP_M_GET, ROUTE_ARG_NONE, ui_serve},
	/* The token endpoint (authz.c). */
	{AUTH_TOKEN_PATH, HTTP_M_GET, ROUTE_ARG_NONE, reg_authz_token},
	{AUTH_TOKEN_PATH, HTTP_M_POST, ROUTE_ARG_NONE, reg_authz_token},
	/* Health and metrics (metrics.c). */
	{"/healthz", HTTP_M_GET, ROUTE_ARG_NONE, reg_metrics_healthz},
	{"/readyz", HTTP_M_GET, ROUTE_ARG_NONE, reg_metrics_readyz},
	{"/metrics", HTTP_M_GET, ROUTE_ARG_NONE, reg_metrics_get},
};

#define ROUTE_NAME   "<name>/"
#define ROUTE_PREFIX "/v2/"

static const char *const route_method_names[] = {
	[HTTP_M_OTHER] = NULL,	    [HTTP_M_GET] = "GET",
	[HTTP_M_HEAD] = "HEAD",	    [HTTP_M_PUT] = "PUT",
	[HTTP_M_POST] = "POST",	    [HTTP_M_PATCH] = "PATCH",
	[HTTP_M_DELETE] = "DELETE", [HTTP_M_OPTIONS] = "OPTIONS",
};

/* Matches the segments of pat (what follows "<name>/") against the end of
 * path[0..len) (what follows "/v2/"); the name is what precedes them. */
static bool route_match_tail(const char *pat, const char *path, size_t len,
			     struct reg_match *m)
{
	size_t pi = strlen(pat), si = len;

	m->arg = NULL;
	m->arg_len = 0;
	for (;;) {
		size_t pstart = pi, sstart = si;

		while (pstart > 0 && pat[pstart - 1] != '/')
			pstart--;
		while (sstart > 0 && path[sstart - 1] != '/')
			sstart--;
		if (sstart == 0)
			return false; /* nothing left for the name */
		if (pat[pstart] == '<') {
			if (sstart == si)
				return false;
			m->arg = path + sstart;
			m->arg_len = si - sstart;
		} else if (pi - pstart != si - sstart ||
			   memcmp(pat + pstart, path + sstart, pi - pstart)) {
			return false;
		}
		if (pstart == 0) {
			m->name = path;
			m->name_len = sstart - 1;
			return true;
		}
		pi = pstart - 1;
		si = sstart - 1;
	}
}

static bool route_match(const struct reg_route *r, const char *path,
			struct reg_match *m)
{
	size_t plen = strlen(ROUTE_PREFIX);

	if (strncmp(r->pattern, ROUTE_NAME, strlen(ROUTE_NAME))) {
		m->name = NULL;
		m->name_len = 0;
		m->arg = NULL;
		m->arg_len = 0;
		return !strcmp(r->pattern, path);
	}
	if (strncmp(path, ROUTE_PREFIX, plen))
		return false;
	return route_match_tail(r->pattern + strlen(ROUTE_NAME), path + plen,
				strlen(path) - plen, m);
}

static void route_allow_add(struct reg_match *m, enum http_method method)
{
	const char *name = route_method_names[method];
	size_t n = strlen(m->allow);

	if (!name || strstr(m->allow, name))
		return;
	snprintf(m->allow + n, sizeof(m->allow) - n, "%s%s", n ? ", " : "",
		 name);
}

void reg_route_find(enum http_method method, const char *path,
		    struct reg_match *m)
{
	struct reg_match cur;

	memset(m, 0, sizeof(*m));
	/* "/v2" is the base too (clients probe both). */
	if (!strcmp(path, "/v2"))
		path = "/v2/";
	/* The first row matching path and method wins; rows that match
	 * only the path make up the Allow list of a 405. */
	for (size_t i = 0; i < sizeof(reg_routes) / sizeof(reg_routes[0]);
	     i++) {
		const struct reg_route *r = &reg_routes[i];

		memset(&cur, 0, sizeof(cur));
		if (!route_match(r, path, &cur))
			continue;
		m->path_known = true;
		route_allow_add(m, r->method);
		if (r->method == method && !m->route) {
			m->route = r;
			m->name = cur.name;
			m->name_len = cur.name_len;
			m->arg = cur.arg;
			m->arg_len = cur.arg_len;
		}
	}
}

/* A GET or HEAD of a reference that is no valid tag asks for a manifest
 * that cannot exist: 404, as the conformance suites expect.  A PUT or a
 * DELETE of one is a bad request (400). */
static int route_parse_ref(const struct reg_match *m, struct reg_call *c,
			   struct err *e)
{
	enum http_method meth = m->route->method;
	struct err sub = ERR_INIT;

	if (reg_parse_ref(m->arg, m->arg_len, &c->ref, &sub) == 0)
		return 0;
	if (sub.code == ERR_MANIFEST_INVALID &&
	    (meth == HTTP_M_GET || meth == HTTP_M_HEAD))
		sub.code = ERR_MANIFEST_UNKNOWN;
	return err_set(e, sub.code, "%s", sub.msg);
}

int reg_route_parse(const struct reg_match *m, struct reg_call *c,
		    struct err *e)
{
	c->name[0] = '\0';
	if (m->name && reg_parse_name(m->name, m->name_len, c->name, e) < 0)
		return -1;
	switch (m->route->arg) {
	case ROUTE_ARG_NONE:
		return 0;
	case ROUTE_ARG_REF:
		return route_parse_ref(m, c, e);
	case ROUTE_ARG_DIGEST:
		return digest_parse(m->arg, m->arg_len, &c->digest, e);
	case ROUTE_ARG_UPLOAD:
		/* A malformed id cannot name a session: unknown, not bad. */
		if (!reg_upload_id_valid(m->arg, m->arg_len))
			return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
				       "no upload '%.*s'",
				       (int)(m->arg_len > 64 ? 64 : m->arg_len),
				       m->arg);
		memcpy(c->upload_id, m->arg, m->arg_len);
		c->upload_id[m->arg_len] = '\0';
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "bad route argument kind");
}

/* The route phase: which endpoint, with its name and argument parsed. */
static enum reg_status reg_route_phase(struct reg_call *c)
{
	struct err e = ERR_INIT;
	struct reg_match m;

	reg_route_find(http_req_method(c->req), http_req_path(c->req), &m);
	if (!m.route) {
		if (m.path_known) {
			http_reply_header(c->req, "Allow", m.allow);
			reg_reply_errorf(c->req, ERR_UNSUPPORTED,
					 "method %s not allowed here",
					 http_req_method_name(c->req));
		} else {
			reg_reply_errorf(c->req, ERR_NOT_FOUND,
					 "no endpoint at this path");
		}
		return REG_DONE;
	}
	if (reg_route_parse(&m, c, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	c->route = m.route;
	/* A pull-through name is checked (and served) as the store has it. */
	reg_proxy_map(c);
	return REG_CONTINUE;
}

static enum reg_status reg_handler_phase(struct reg_call *c)
{
	return c->route->handler(c);
}

/* In order; each hands the call on (REG_CONTINUE), or keeps it. */
static const reg_handler_fn reg_phases[] = {
	reg_route_phase,   /* which endpoint (api_int.h) */
	reg_authz_phase,   /* authz_int.h: before any body is read */
	reg_proxy_phase,   /* proxy/proxy.h */
	reg_policy_phase,  /* policy_int.h */
	reg_handler_phase, /* the route's handler (api_*.c) */
};

#define REG_NPHASES (sizeof(reg_phases) / sizeof(reg_phases[0]))

/* Runs c's phases from c->phase on. */
static void reg_phases_run(struct reg_call *c)
{
	enum reg_status st;

	for (;;) {
		st = reg_phases[c->phase](c);
		if (st != REG_CONTINUE || c->phase + 1 == REG_NPHASES)
			break;
		c->phase++;
	}
	/* Every request gets a reply: a phase that claims one it did not
	 * send is a bug, not a reason to leave the client hanging. */
	if (st != REG_DEFERRED && !http_req_replied(c->req)) {
		reg_reply_errorf(c->req, ERR_INTERNAL, "no reply from phase %u",
				 c->phase);
	}
	stor_manifest_free(c->manifest);
	c->manifest = NULL;
}

void reg_dispatch(struct http_req *req, void *arg)
{
	struct reg_call c = {.ctx = arg, .req = req};

	reg_phases_run(&c);
}

void reg_phase_resume(struct reg_call *c)
{
	c->phase++;
	reg_phases_run(c);
}
