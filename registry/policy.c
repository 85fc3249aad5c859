/* policy.c: refusing pulls of images with findings, or whose scan did
 * not complete (see policy_int.h). */
#include "registry/policy_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/api_int.h"
#include "registry/events/events.h"
#include "registry/metrics_int.h"
#include "registry/reply_int.h"
#include "registry/scan/scan.h"
#include "registry/waiters_int.h"
#include "registry/work_int.h"
#include "scanner/scanner.h"
#include "common/banned.h"

enum policy_verdict { POLICY_SERVE, POLICY_REPLIED, POLICY_PENDING };

#define POLICY_NO_DB_MSG                                                       \
	"no vulnerability data: the image was scanned without a "              \
	"vulnerability DB"

/* A request held for a pending report. */
struct policy_hold {
	struct reg_call call; /* a copy: dispatch has returned */
	struct stor_manifest *m;
	reg_policy_serve_fn serve; /* NULL: the policy phase's call */
};

static void policy_allow_add(struct reg_policy *p, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n)
		return;
	p->allow = xrealloc(p->allow, (p->nallow + 1) * sizeof(*p->allow));
	p->allow[p->nallow++] = xstrndup(s, n);
}

int reg_policy_init(struct reg_policy *p, const struct cfg *cfg, struct err *e)
{
	enum vuln_severity sev;

	memset(p, 0, sizeof(*p));
	p->deny = -1;
	p->wait_s = cfg->policy_wait;
	p->allow_errors = cfg->policy_on_scan_error &&
			  !strcmp(cfg->policy_on_scan_error, "allow");
	p->allow_without_db = cfg->policy_without_db &&
			      !strcmp(cfg->policy_without_db, "allow");
	for (size_t i = 0; i < cfg->allow_vuln.n; i++) {
		const char *v = cfg->allow_vuln.v[i], *comma;

		while ((comma = strchr(v, ','))) {
			policy_allow_add(p, v, (size_t)(comma - v));
			v = comma + 1;
		}
		policy_allow_add(p, v, strlen(v));
	}
	if (!cfg->deny_severity || !*cfg->deny_severity)
		return 0;
	if (vuln_severity_parse(cfg->deny_severity, &sev) < 0) {
		reg_policy_release(p);
		return err_set(e, ERR_INVALID,
			       "--deny-severity: '%s' is not one of critical, "
			       "high, medium, low, unknown",
			       cfg->deny_severity);
	}
	p->deny = (int)sev;
	return 0;
}

void reg_policy_release(struct reg_policy *p)
{
	for (size_t i = 0; i < p->nallow; i++)
		free(p->allow[i]);
	free(p->allow);
	p->allow = NULL;
	p->nallow = 0;
}

static bool policy_allowed(const struct reg_policy *p, const char *id)
{
	for (size_t i = 0; id && i < p->nallow; i++)
		if (!strcmp(p->allow[i], id))
			return true;
	return false;
}

/* Whether a finding {"id", "aliases", "severity"} is exempted. */
static bool policy_exempt(const struct reg_policy *p, const json_t *f)
{
	const json_t *a;
	size_t i;

	if (policy_allowed(p, json_string_value(json_object_get(f, "id"))))
		return true;
	json_array_foreach(json_object_get(f, "aliases"), i, a)
		if (policy_allowed(p, json_string_value(a)))
			return true;
	return false;
}

void reg_policy_check_db(const struct reg_policy *p, struct reg_scan *scan)
{
	char v[96] = "";

	if (p->deny < 0)
		return;
	if (scan)
		reg_scan_db_version(scan, v, sizeof(v));
	if (v[0])
		return;
	log_msg(LL_WARN,
		"--deny-severity without a vulnerability DB: images scanned "
		"now have no vulnerability data and are %s until one is "
		"loaded (customs db import, or POST /v2/_customs/db)",
		p->allow_without_db ? "served (--policy-without-db allow)"
				    : "refused");
}

/* Counts the findings of a JSON array the policy refuses. */
static long policy_count_array(const struct reg_policy *p, const json_t *all)
{
	enum vuln_severity sev;
	const json_t *f;
	long n = 0;
	size_t i;

	json_array_foreach(all, i, f) {
		const char *s =
			json_string_value(json_object_get(f, "severity"));

		if (!s || vuln_severity_parse(s, &sev) < 0)
			sev = SEV_UNKNOWN;
		if ((int)sev >= p->deny && !policy_exempt(p, f))
			n++;
	}
	return n;
}

int reg_policy_read(const struct reg_policy *p, const char *findings,
		    struct reg_policy_findings *out)
{
	json_t *doc = json_loads(findings ? findings : "", 0, NULL);
	const json_t *all = doc;
	const char *st, *why;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (json_is_object(doc)) {
		all = json_object_get(doc, "findings");
		st = json_string_value(json_object_get(doc, "status"));
		if (!st)
			goto out;
		/* Anything but "complete" is not: fail closed. */
		out->incomplete = strcmp(st, "complete") != 0;
		why = json_string_value(json_object_get(doc, "why"));
		if (out->incomplete)
			snprintf(out->why, sizeof(out->why), "%s",
				 why ? why : st);
		why = json_string_value(json_object_get(doc, "no_data"));
		if (why)
			snprintf(out->no_data, sizeof(out->no_data), "%s", why);
	}
	if (!json_is_array(all))
		goto out;
	out->refused = policy_count_array(p, all);
	ret = 0;
out:
	json_decref(doc);
	return ret;
}

long reg_policy_count(const struct reg_policy *p, const char *findings)
{
	struct reg_policy_findings f;

	if (reg_policy_read(p, findings, &f) < 0)
		return -1;
	return f.refused;
}

enum reg_policy_verdict reg_policy_decide(const struct reg_policy *p,
					  const struct stor_scan *sc, char *why,
					  size_t n)
{
	struct reg_policy_findings f;

	why[0] = '\0';
	if (sc->has_result) {
		if (reg_policy_read(p, sc->findings, &f) < 0) {
			snprintf(why, n, "scan report unreadable");
			return REG_POLICY_DENY;
		}
		if (f.refused > 0) {
			snprintf(why, n, "%ld vulnerabilit%s at or above %s",
				 f.refused, f.refused == 1 ? "y" : "ies",
				 vuln_severity_name(
					 (enum vuln_severity)p->deny));
			return REG_POLICY_DENY;
		}
		if (f.incomplete && !p->allow_errors) {
			snprintf(why, n, "scan incomplete: %s", f.why);
			return REG_POLICY_DENY;
		}
		if (!sc->db_version && !p->allow_without_db) {
			snprintf(why, n, "%s", POLICY_NO_DB_MSG);
			return REG_POLICY_DENY;
		}
		/* No findings for packages nothing was looked up for is not
		 * "clean". */
		if (f.no_data[0] && !p->allow_without_db) {
			snprintf(why, n, "no vulnerability data: %s",
				 f.no_data);
			return REG_POLICY_DENY;
		}
		return REG_POLICY_SERVE;
	}
	switch (sc->state) {
	case STOR_SCAN_FAILED:
		if (p->allow_errors)
			return REG_POLICY_SERVE;
		snprintf(why, n, "scan failed: %s",
			 sc->error ? sc->error : "unknown error");
		return REG_POLICY_DENY;
	case STOR_SCAN_NONE:
		return REG_POLICY_NONE;
	default:
		return REG_POLICY_PENDING;
	}
}

static void policy_event(const struct reg_policy *p, struct http_req *req,
			 const char *name, const struct digest *dg,
			 const char *why)
{
	struct reg_event_target t = {.repo = name, .dg = dg};
	struct reg_event_src src;

	reg_event_src_init(&src, req, NULL);
	reg_events_defer(p->events, "policy.denied", &t, &src,
			 json_pack("{s:{s:s}}", "policy", "reason", why));
	reg_event_src_release(&src);
}

/* 403 DENIED: why, then where the report is.  why is cut short rather
 * than the report URL. */
static void policy_deny(const struct reg_policy *p, struct http_req *req,
			const char *name, const struct digest *dg,
			const char *why)
{
	char ds[DIGEST_STR_MAX], tail[REG_NAME_MAX + DIGEST_STR_MAX + 64];
	struct err e = ERR_INIT;
	int room;

	snprintf(tail, sizeof(tail), "; report: GET /v2/%s/_customs/scan/%s",
		 name, digest_str(dg, ds));
	room = (int)sizeof(e.msg) - 1 - (int)strlen(tail);
	err_set(&e, ERR_DENIED, "%.*s%s", room > 0 ? room : 0, why, tail);
	reg_metrics_policy(false);
	if (p->events)
		policy_event(p, req, name, dg, why);
	reg_reply_error(req, &e);
}

/* Judges m by its stored scan; may enqueue a scan it lacks. */
static enum policy_verdict policy_judge(struct reg_ctx *ctx,
					struct http_req *req, const char *name,
					const struct stor_manifest *m)
{
	const struct reg_policy *p = ctx->policy;
	enum policy_verdict v = POLICY_PENDING;
	struct err e = ERR_INIT;
	struct stor_scan sc;
	char ds[DIGEST_STR_MAX], why[256];

	if (stor_scan_get(ctx->st, &m->digest, false, &sc, &e) < 0) {
		reg_reply_error(req, &e);
		return POLICY_REPLIED;
	}
	switch (reg_policy_decide(p, &sc, why, sizeof(why))) {
	case REG_POLICY_SERVE:
		if (!sc.has_result && sc.state == STOR_SCAN_FAILED)
			http_req_logf(req, LL_WARN,
				      "policy: scan of %s failed (%s); served "
				      "(--policy-on-scan-error allow)",
				      digest_str(&m->digest, ds),
				      sc.error ? sc.error : "?");
		v = POLICY_SERVE;
		break;
	case REG_POLICY_DENY:
		policy_deny(p, req, name, &m->digest, why);
		v = POLICY_REPLIED;
		break;
	case REG_POLICY_PENDING:
		break;
	case REG_POLICY_NONE:
		/* Artifacts are not scanned; an image pushed before scanning
		 * existed is, now. */
		if (rs_manifest_kind(m->body, m->len) < 0) {
			v = POLICY_SERVE;
		} else if (stor_scan_enqueue(ctx->st, name, &m->digest, false,
					     &e) < 0) {
			reg_reply_error(req, &e);
			v = POLICY_REPLIED;
		} else {
			reg_scan_kick(ctx->scan);
		}
		break;
	}
	stor_scan_release(&sc);
	if (v == POLICY_SERVE)
		reg_metrics_policy(true);
	return v;
}

/* Still pending after waiting waited seconds: true to serve it under
 * --policy-on-scan-error allow; else refused (replied). */
static bool policy_still_pending(struct http_req *req,
				 const struct reg_policy *p, const char *name,
				 const struct stor_manifest *m, int waited)
{
	char why[64], ds[DIGEST_STR_MAX];

	if (p->allow_errors) {
		http_req_logf(req, LL_WARN,
			      "policy: %s still being scanned after %d s; "
			      "served (--policy-on-scan-error allow)",
			      digest_str(&m->digest, ds), waited);
		reg_metrics_policy(true);
		return true;
	}
	snprintf(why, sizeof(why), "still being scanned after %d s", waited);
	policy_deny(p, req, name, &m->digest, why);
	return false;
}

/* A held request passed: served by its gate's caller, or by the rest of
 * the phases (with the manifest judged). */
static void policy_pass(struct policy_hold *h)
{
	struct stor_manifest *m = h->m;

	h->m = NULL;
	if (h->serve) {
		h->serve(h->call.req, m);
		return;
	}
	h->call.manifest = m;
	reg_phase_resume(&h->call);
}

static void policy_hold_free(struct policy_hold *h)
{
	stor_manifest_free(h->m);
	free(h);
}

static void policy_woken(struct http_req *req, void *arg, enum reg_wake why)
{
	struct policy_hold *h = arg;
	struct reg_ctx *ctx = h->call.ctx;

	if (why != REG_WAKE_CLOSED) {
		switch (policy_judge(ctx, req, h->call.name, h->m)) {
		case POLICY_SERVE:
			policy_pass(h);
			break;
		case POLICY_PENDING:
			if (policy_still_pending(req, ctx->policy, h->call.name,
						 h->m, ctx->policy->wait_s))
				policy_pass(h);
			break;
		case POLICY_REPLIED:
			break;
		}
	}
	policy_hold_free(h);
}

static bool policy_applies(const struct reg_call *c)
{
	const struct reg_policy *p = c->ctx->policy;
	enum http_method method = http_req_method(c->req);

	/* HEAD as GET: a HEAD's 200 lets a client serve its cached copy. */
	return p && p->deny >= 0 &&
	       (method == HTTP_M_GET || method == HTTP_M_HEAD);
}

/* The gate of reg_policy_gate() and of the policy phase (serve NULL:
 * a held call resumes its phases). */
static enum reg_status policy_gate(struct reg_call *c, struct stor_manifest *m,
				   reg_policy_serve_fn serve)
{
	const struct reg_policy *p = c->ctx->policy;
	struct policy_hold *h;

	switch (policy_judge(c->ctx, c->req, c->name, m)) {
	case POLICY_SERVE:
		return REG_CONTINUE;
	case POLICY_REPLIED:
		stor_manifest_free(m);
		return REG_DONE;
	case POLICY_PENDING:
		break;
	}
	if (p->wait_s <= 0 || !c->ctx->scan) {
		if (policy_still_pending(c->req, p, c->name, m, 0))
			return REG_CONTINUE;
		stor_manifest_free(m);
		return REG_DONE;
	}
	h = xcalloc(1, sizeof(*h));
	h->call = *c;
	h->call.manifest = NULL;
	h->m = m;
	h->serve = serve;
	reg_waiters_scan(c->ctx->waiters, c->req, &m->digest, p->wait_s,
			 policy_woken, h);
	return REG_DEFERRED;
}

enum reg_status reg_policy_gate(struct reg_call *c, struct stor_manifest *m,
				reg_policy_serve_fn serve)
{
	if (!policy_applies(c))
		return REG_CONTINUE;
	return policy_gate(c, m, serve);
}

/* The policy phase's read where reads block (stor_blob_read_blocks(): an
 * S3 object not cached, PostgreSQL a round trip away), on the pool, as
 * the handler's own; the judging goes on on the loop. */
struct policy_read {
	struct reg_call call; /* the phase's copy */
	struct stor_manifest *m;
	int rc;
	struct err e;
};

static void policy_read_run(void *arg)
{
	struct policy_read *r = arg;
	const struct reg_ref *ref = &r->call.ref;

	r->rc = stor_manifest_get(
		r->call.ctx->st, r->call.name, ref->is_digest ? NULL : ref->tag,
		ref->is_digest ? &ref->digest : NULL, &r->m, &r->e);
}

static void policy_read_done(struct http_req *req, void *arg)
{
	struct policy_read *r = arg;
	struct stor_manifest *m = r->m; /* policy_gate() takes it */

	if (!req)
		stor_manifest_free(m);
	else if (r->rc < 0)
		reg_reply_error(req, &r->e);
	else if (policy_gate(&r->call, m, NULL) == REG_CONTINUE) {
		r->call.manifest = m; /* the handler serves this one */
		reg_phase_resume(&r->call);
	}
	err_clear(&r->e);
	free(r);
}

enum reg_status reg_policy_phase(struct reg_call *c)
{
	const struct reg_ref *ref = &c->ref;
	struct stor_manifest *m = NULL;
	struct policy_read *r;
	struct err e = ERR_INIT;
	enum reg_status st;

	if (c->route->handler != api_manifest_get || !policy_applies(c))
		return REG_CONTINUE;
	if (stor_blob_read_blocks(c->ctx->st)) {
		r = xcalloc(1, sizeof(*r));
		r->call = *c;
		r->e = (struct err)ERR_INIT;
		reg_work_call(c->ctx->work, c->req, policy_read_run,
			      policy_read_done, r);
		return REG_DEFERRED;
	}
	if (stor_manifest_get(
		    c->ctx->st, c->name, ref->is_digest ? NULL : ref->tag,
		    ref->is_digest ? &ref->digest : NULL, &m, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	st = policy_gate(c, m, NULL);
	if (st == REG_CONTINUE)
		c->manifest = m; /* the handler serves this one */
	return st;
}
