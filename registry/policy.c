/* policy.c: refusing pulls of images with findings (see policy.h). */
#include "registry/policy.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/api.h"
#include "registry/reply.h"
#include "registry/scan.h"
#include "registry/scan_int.h"
#include "scanner/vulndb.h"
#include "common/banned.h"

enum policy_verdict { POLICY_SERVE, POLICY_REPLIED, POLICY_PENDING };

/* A request held for a pending report. */
struct policy_hold {
	struct reg_ctx *ctx;
	char name[REG_NAME_MAX + 1];
	struct stor_manifest *m;
	reg_policy_serve_fn serve;
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

long reg_policy_count(const struct reg_policy *p, const char *findings)
{
	json_t *all = json_loads(findings ? findings : "", 0, NULL), *f;
	enum vuln_severity sev;
	long n = 0;
	size_t i;

	if (!json_is_array(all)) {
		json_decref(all);
		return -1;
	}
	json_array_foreach(all, i, f) {
		const char *s =
			json_string_value(json_object_get(f, "severity"));

		if (!s || vuln_severity_parse(s, &sev) < 0)
			sev = SEV_UNKNOWN;
		if ((int)sev >= p->deny && !policy_exempt(p, f))
			n++;
	}
	json_decref(all);
	return n;
}

static void policy_deny(struct http_req *req, const struct reg_policy *p,
			const char *name, const struct digest *dg, long count)
{
	char ds[DIGEST_STR_MAX];

	reg_reply_errorf(req, ERR_DENIED,
			 "%s has %ld vulnerabilit%s at or above %s; report: "
			 "GET /v2/%s/_customs/scan/%s",
			 digest_str(dg, ds), count, count == 1 ? "y" : "ies",
			 vuln_severity_name((enum vuln_severity)p->deny), name,
			 ds);
}

static void policy_deny_pending(struct http_req *req, const char *name,
				const struct digest *dg, int waited)
{
	char ds[DIGEST_STR_MAX];

	reg_reply_errorf(req, ERR_DENIED,
			 "%s is still being scanned (waited %d s); its report "
			 "will be at GET /v2/%s/_customs/scan/%s",
			 digest_str(dg, ds), waited, name, ds);
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
	char ds[DIGEST_STR_MAX];
	long n;

	if (stor_scan_get(ctx->st, &m->digest, false, &sc, &e) < 0) {
		reg_reply_error(req, &e);
		return POLICY_REPLIED;
	}
	if (sc.has_result) {
		n = reg_policy_count(p, sc.findings);
		if (n < 0)
			log_msg(LL_ERROR,
				"%s: policy: findings of %s unreadable",
				http_req_id(req), digest_str(&m->digest, ds));
		if (n != 0)
			policy_deny(req, p, name, &m->digest, n < 0 ? 0 : n);
		v = n == 0 ? POLICY_SERVE : POLICY_REPLIED;
	} else if (sc.state == STOR_SCAN_FAILED) {
		log_msg(LL_WARN, "%s: policy: scan of %s failed (%s); served",
			http_req_id(req), digest_str(&m->digest, ds),
			sc.error ? sc.error : "?");
		v = POLICY_SERVE;
	} else if (sc.state == STOR_SCAN_NONE) {
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
	}
	stor_scan_release(&sc);
	return v;
}

static void policy_hold_free(struct policy_hold *h)
{
	stor_manifest_free(h->m);
	free(h);
}

static void policy_woken(struct http_req *req, void *arg,
			 enum reg_scan_wake why)
{
	struct policy_hold *h = arg;

	if (why != REG_SCAN_CLOSED) {
		switch (policy_judge(h->ctx, req, h->name, h->m)) {
		case POLICY_SERVE:
			h->serve(req, h->m);
			h->m = NULL;
			break;
		case POLICY_PENDING:
			policy_deny_pending(req, h->name, &h->m->digest,
					    h->ctx->policy->wait_s);
			break;
		case POLICY_REPLIED:
			break;
		}
	}
	policy_hold_free(h);
}

bool reg_policy_gate(struct reg_call *c, struct stor_manifest *m,
		     reg_policy_serve_fn serve)
{
	const struct reg_policy *p = c->ctx->policy;
	struct policy_hold *h;

	if (!p || p->deny < 0 || http_req_method(c->req) != HTTP_M_GET)
		return false;
	switch (policy_judge(c->ctx, c->req, c->name, m)) {
	case POLICY_SERVE:
		return false;
	case POLICY_REPLIED:
		stor_manifest_free(m);
		return true;
	case POLICY_PENDING:
		break;
	}
	if (p->wait_s <= 0 || !c->ctx->scan) {
		policy_deny_pending(c->req, c->name, &m->digest, 0);
		stor_manifest_free(m);
		return true;
	}
	h = xcalloc(1, sizeof(*h));
	h->ctx = c->ctx;
	memcpy(h->name, c->name, sizeof(h->name));
	h->m = m;
	h->serve = serve;
	reg_scan_wait(c->ctx->scan, c->req, &m->digest, p->wait_s, policy_woken,
		      h);
	return true;
}
