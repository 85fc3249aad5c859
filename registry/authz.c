/* authz.c: what each route needs of auth/, and the replies it sends. */
#include "registry/authz_int.h"
#include "registry/metrics_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/reply_int.h"
#include "registry/ui/ui.h"
#include "registry/work_int.h"
#include "common/banned.h"

/* --- Set-up --------------------------------------------------------------- */

/* The first auth flag set in cfg that mode `mode` has no use for. */
static const char *authz_stray_flag(const struct cfg *cfg, enum auth_mode mode)
{
	if (mode == AUTH_MODE_NONE) {
		if (cfg->htpasswd)
			return "htpasswd";
		if (cfg->access)
			return "access";
	}
	if (mode != AUTH_MODE_TOKEN) {
		if (cfg->token_key)
			return "token-key";
		if (cfg->token_issuer)
			return "token-issuer";
		if (cfg->token_trust)
			return "token-trust";
		if (cfg->token_realm)
			return "token-realm";
	}
	return NULL;
}

int reg_authz_new(const struct cfg *cfg, struct auth **out, struct err *e)
{
	struct auth_config ac;
	const char *stray;

	*out = NULL;
	memset(&ac, 0, sizeof(ac));
	if (!cfg->auth || !strcmp(cfg->auth, "none"))
		ac.mode = AUTH_MODE_NONE;
	else if (!strcmp(cfg->auth, "basic"))
		ac.mode = AUTH_MODE_BASIC;
	else if (!strcmp(cfg->auth, "token"))
		ac.mode = AUTH_MODE_TOKEN;
	else
		return err_set(e, ERR_INVALID, "--auth: unknown mode '%s'",
			       cfg->auth);
	stray = authz_stray_flag(cfg, ac.mode);
	if (stray)
		return err_set(e, ERR_INVALID, "--%s needs --auth %s", stray,
			       ac.mode == AUTH_MODE_NONE ? "basic or token"
							 : "token");
	if (ac.mode == AUTH_MODE_NONE) {
		if (cfg->tls_client_ca)
			log_msg(LL_WARN, "auth: --tls-client-ca without "
					 "--auth: certificates are checked "
					 "but grant nothing more");
		return 0;
	}
	ac.data_dir = cfg->data;
	ac.htpasswd = cfg->htpasswd;
	ac.access = cfg->access;
	ac.service = cfg->token_service;
	ac.token_key = cfg->token_key;
	ac.token_realm = cfg->token_realm;
	ac.token_issuer = cfg->token_issuer;
	ac.token_trust = cfg->token_trust;
	ac.token_ttl_s = cfg->token_ttl;
	ac.fail_budget = cfg->login_fail_budget;
	*out = auth_new(&ac, e);
	if (!*out)
		return -1;
	log_msg(LL_INFO, "auth: %s%s%s", cfg->auth,
		cfg->access ? ", rules from " : "",
		cfg->access ? cfg->access : "");
	return 0;
}

/* --- What a route needs --------------------------------------------------- */

/* Routes whose need the method rule below would get wrong, or that name a
 * registry-wide resource. */
static const struct {
	reg_handler_fn handler;
	enum reg_authz_need need;
	const char *resource; /* registry scope; NULL: the repository */
	unsigned actions;
} authz_routes[] = {
	{reg_authz_token, REG_AUTHZ_OPEN, NULL, 0},
	{reg_metrics_healthz, REG_AUTHZ_OPEN, NULL, 0},
	{reg_metrics_readyz, REG_AUTHZ_OPEN, NULL, 0},
	/* The web UI's static pages hold no data: open, so that its sign-in
	 * form can load (its API calls are checked as any). */
	{ui_serve, REG_AUTHZ_OPEN, NULL, 0},
	{reg_metrics_get, REG_AUTHZ_SCOPE, REG_METRICS_RESOURCE, AUTH_ADMIN},
	{api_base, REG_AUTHZ_SIGNED_IN, NULL, 0},
	{api_catalog, REG_AUTHZ_SCOPE, AUTH_REGISTRY_CATALOG, AUTH_PULL},
	{api_scan_db_post, REG_AUTHZ_SCOPE, AUTH_REGISTRY_DB, AUTH_ADMIN},
	{api_events_dead, REG_AUTHZ_SCOPE, AUTH_REGISTRY_DB, AUTH_ADMIN},
	/* Every step of an upload is a push (CNCF distribution agrees),
	 * checking its status and cancelling it included. */
	{api_upload_start, REG_AUTHZ_SCOPE, NULL, AUTH_PULL | AUTH_PUSH},
	{api_upload_status, REG_AUTHZ_SCOPE, NULL, AUTH_PULL | AUTH_PUSH},
	{api_upload_patch, REG_AUTHZ_SCOPE, NULL, AUTH_PULL | AUTH_PUSH},
	{api_upload_put, REG_AUTHZ_SCOPE, NULL, AUTH_PULL | AUTH_PUSH},
	{api_upload_cancel, REG_AUTHZ_SCOPE, NULL, AUTH_PULL | AUTH_PUSH},
};

enum reg_authz_need reg_authz_need(const struct reg_route *r, const char *name,
				   struct auth_scope *scope)
{
	bool read = r->method == HTTP_M_GET || r->method == HTTP_M_HEAD;

	memset(scope, 0, sizeof(*scope));
	scope->type = AUTH_SCOPE_REPOSITORY;
	scope->name = name;
	for (size_t i = 0; i < sizeof(authz_routes) / sizeof(*authz_routes);
	     i++) {
		if (authz_routes[i].handler != r->handler)
			continue;
		if (authz_routes[i].resource) {
			scope->type = AUTH_SCOPE_REGISTRY;
			scope->name = authz_routes[i].resource;
		}
		scope->actions = authz_routes[i].actions;
		return authz_routes[i].need;
	}
	if (!name || !*name) {
		if (read)
			return REG_AUTHZ_SIGNED_IN;
		/* A registry-wide change we do not know: admins only. */
		scope->type = AUTH_SCOPE_REGISTRY;
		scope->name = AUTH_REGISTRY_DB;
		scope->actions = AUTH_ADMIN;
		return REG_AUTHZ_SCOPE;
	}
	if (read)
		scope->actions = AUTH_PULL;
	else if (r->method == HTTP_M_DELETE)
		scope->actions = AUTH_DELETE;
	else
		scope->actions = AUTH_PULL | AUTH_PUSH;
	return REG_AUTHZ_SCOPE;
}

/* --- Checks --------------------------------------------------------------- */

/* A Host header fit to build our URL from: a host name or address and an
 * optional port, nothing a header or a quoted string could choke on. */
static bool authz_host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 255)
		return false;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-_:[]") == n;
}

/* "http(s)://Host", as the client reached us; NULL without a usable Host
 * (the realm is then the bare path). */
static char *authz_base_url(struct http_req *req)
{
	const char *host = http_req_header(req, "Host");

	if (!host || !authz_host_ok(host))
		return NULL;
	return xasprintf("%s://%s", http_req_is_tls(req) ? "https" : "http",
			 host);
}

static void authz_request(struct http_req *req, const char *base,
			  struct auth_request *ar)
{
	memset(ar, 0, sizeof(*ar));
	ar->authorization = http_req_header(req, "Authorization");
	ar->client_cn = http_req_client_cn(req);
	ar->peer = http_req_peer(req);
	ar->base_url = base;
}

/* The work pool is full: the client retries in a moment. */
static void authz_busy(struct http_req *req)
{
	struct err e = ERR_INIT;

	err_set(&e, ERR_TOOMANYREQUESTS, "too many logins in progress");
	http_reply_header(req, "Retry-After", "1");
	reg_reply_error(req, &e);
}

/* A refusal: its headers, then the error body. */
static void authz_reply(struct http_req *req, const struct auth_result *res,
			const char *challenge, const struct err *e)
{
	char secs[16];

	if (challenge)
		http_reply_header(req, "WWW-Authenticate", challenge);
	else if (res->challenge)
		http_reply_header(req, "WWW-Authenticate", res->challenge);
	if (res->retry_after_s > 0) {
		snprintf(secs, sizeof(secs), "%d", res->retry_after_s);
		http_reply_header(req, "Retry-After", secs);
	}
	reg_reply_error(req, e);
}

/* quick: AUTH_LATER rather than a bcrypt check (auth.h). */
static int authz_run(struct reg_call *c, const struct auth_scope *scope,
		     bool quick, struct auth_result *res, struct err *e)
{
	struct auth_request ar;
	char *base = authz_base_url(c->req);
	int rc;

	authz_request(c->req, base, &ar);
	ar.quick = quick;
	rc = auth_check(c->ctx->auth, &ar, scope, res, e);
	free(base);
	return rc;
}

/* A Bearer challenge whose scope also names `extra`: scope="A" becomes
 * scope="A extra" (scopes hold no quotes: names are [a-z0-9._/-]).  NULL if
 * ch has no scope to widen. */
static char *authz_widen(const char *ch, const char *extra)
{
	const char *at = ch ? strstr(ch, "scope=\"") : NULL, *end;

	if (!at)
		return NULL;
	at += strlen("scope=\"");
	end = strchr(at, '"');
	if (!end)
		return NULL;
	return xasprintf("%.*s %s%s", (int)(end - ch), ch, extra, end);
}

/* The source of a cross-repository mount (POST ?mount=&from=), else NULL. */
static const char *authz_mount_from(struct reg_call *c,
				    const struct reg_route *r)
{
	const char *from = http_req_query_param(c->req, "from");

	if (r->handler != api_upload_start ||
	    !http_req_query_param(c->req, "mount") || !from ||
	    !reg_name_valid(from, strlen(from)))
		return NULL;
	return from;
}

/* A refusal of call c of route r. */
static void authz_refuse(struct reg_call *c, const struct reg_route *r,
			 const struct auth_result *who, const struct err *e)
{
	const char *from;
	char *extra, *ch = NULL;

	/* A mount needs pull on its source too (reg_authz_mount()): as CNCF
	 * distribution does, the challenge asks for both at once. */
	from = authz_mount_from(c, r);
	if (from) {
		extra = xasprintf("repository:%s:pull", from);
		ch = authz_widen(who->challenge, extra);
		free(extra);
	}
	authz_reply(c->req, who, ch, e);
	free(ch);
}

/* A check waiting for a password: everything it needs, copied (the
 * request may go while the pool thread works). */
struct authz_job {
	struct reg_call call;
	char *authorization, *client_cn, *peer, *base;
	struct auth_result who;
	struct err err;
	int rc;
};

/* Frees a copy that may hold a password. */
static void authz_wipe(char *s, size_t len)
{
	if (s) {
		OPENSSL_cleanse(s, len);
		free(s);
	}
}

static void authz_job_free(struct authz_job *j)
{
	authz_wipe(j->authorization,
		   j->authorization ? strlen(j->authorization) : 0);
	free(j->client_cn);
	free(j->peer);
	free(j->base);
	auth_result_release(&j->who);
	free(j);
}

static char *strdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* On a work thread. */
static void authz_job_run(void *arg)
{
	struct authz_job *j = arg;
	struct auth_request ar = {
		.authorization = j->authorization,
		.client_cn = j->client_cn,
		.peer = j->peer,
		.base_url = j->base,
	};
	struct auth_scope scope;
	enum reg_authz_need need;

	need = reg_authz_need(j->call.route, j->call.name, &scope);
	j->rc = auth_check(j->call.ctx->auth, &ar,
			   need == REG_AUTHZ_SCOPE ? &scope : NULL, &j->who,
			   &j->err);
}

static void authz_who_free(void *ptr, bool gone)
{
	(void)gone;
	auth_result_release(ptr);
	free(ptr);
}

/* Moves *res into a copy that lives as long as req (c->who of the call
 * and of its copies). */
static const struct auth_result *authz_who_keep(struct http_req *req,
						struct auth_result *res)
{
	struct auth_result *who = xmalloc(sizeof(*who));

	*who = *res;
	memset(res, 0, sizeof(*res));
	http_req_attach(req, who, authz_who_free);
	http_req_set_user(req, who->user); /* for the access line */
	return who;
}

/* Back on the loop: go on with the phases, or refuse. */
static void authz_job_done(struct http_req *req, void *arg)
{
	struct authz_job *j = arg;

	if (req && j->rc == 0) {
		j->call.who = authz_who_keep(req, &j->who);
		reg_phase_resume(&j->call);
	} else if (req) {
		authz_refuse(&j->call, j->call.route, &j->who, &j->err);
	}
	authz_job_free(j);
}

static enum reg_status authz_later(struct reg_call *c)
{
	struct authz_job *j = xcalloc(1, sizeof(*j));
	struct auth_request ar;

	j->call = *c;
	j->base = authz_base_url(c->req);
	authz_request(c->req, j->base, &ar);
	j->authorization = strdup_or_null(ar.authorization);
	j->client_cn = strdup_or_null(ar.client_cn);
	j->peer = strdup_or_null(ar.peer);
	if (reg_work_run(c->ctx->work, c->req, authz_job_run, authz_job_done,
			 j) < 0) {
		authz_job_free(j);
		authz_busy(c->req);
		return REG_DONE;
	}
	return REG_DEFERRED;
}

/* --auth none: admin routes (the DB upload, and any route the method rule
 * makes admin-only) answer loopback callers only, for nobody signs in to
 * prove they may. */
static enum reg_status authz_open_admin(struct reg_call *c,
					enum reg_authz_need need,
					const struct auth_scope *scope)
{
	const char *peer = http_req_peer(c->req);
	struct err e = ERR_INIT;

	if (need != REG_AUTHZ_SCOPE || !(scope->actions & AUTH_ADMIN) ||
	    (peer && cfg_addr_loopback(peer)))
		return REG_CONTINUE;
	err_set(&e, ERR_DENIED,
		"admin endpoints answer only loopback callers while --auth is "
		"none; call from the registry's host, or turn on --auth");
	reg_reply_error(c->req, &e);
	return REG_DONE;
}

enum reg_status reg_authz_phase(struct reg_call *c)
{
	struct auth_result res = {0};
	struct err e = ERR_INIT;
	enum reg_status st = REG_DONE;
	struct auth_scope scope;
	enum reg_authz_need need;
	int rc;

	c->who = NULL;
	need = reg_authz_need(c->route, c->name, &scope);
	if (!c->ctx->auth)
		return authz_open_admin(c, need, &scope);
	if (need == REG_AUTHZ_OPEN)
		return REG_CONTINUE;
	rc = authz_run(c, need == REG_AUTHZ_SCOPE ? &scope : NULL,
		       c->ctx->work != NULL, &res, &e);
	if (rc == AUTH_LATER) {
		st = authz_later(c);
	} else if (rc == 0) {
		c->who = authz_who_keep(c->req, &res);
		st = REG_CONTINUE;
	} else {
		authz_refuse(c, c->route, &res, &e);
	}
	auth_result_release(&res);
	return st;
}

int reg_authz_mount(struct reg_call *c, const char *from)
{
	struct auth_scope scope = {AUTH_SCOPE_REPOSITORY, from, AUTH_PULL};
	struct auth *a = c->ctx->auth;
	struct auth_result res;
	struct err e = ERR_INIT;
	char *ch = NULL, *target;
	int rc;

	if (!a)
		return 1;
	/* Without `from` any blob in the store could be linked by its digest
	 * alone: with auth on, only a named source we may pull from. */
	if (!from)
		return 0;
	target = xasprintf("repository:%s:pull,push", c->name);
	/* The credentials were just checked for c itself, so the login
	 * cache knows them: no bcrypt on the loop here. */
	if (authz_run(c, &scope, false, &res, &e) == 0) {
		rc = 1;
	} else if (e.code == ERR_UNAUTHORIZED &&
		   auth_mode(a) == AUTH_MODE_TOKEN &&
		   auth_may(a, c->who ? c->who->user : NULL, from, AUTH_PULL) &&
		   (ch = authz_widen(res.challenge, target))) {
		/* A token that a new one would widen: ask for it. */
		authz_reply(c->req, &res, ch, &e);
		free(ch);
		rc = -1;
	} else {
		rc = 0;
	}
	auth_result_release(&res);
	free(target);
	return rc;
}

size_t reg_authz_catalog(struct reg_call *c, char **names, size_t n)
{
	if (!c->ctx->auth || !c->who)
		return n;
	/* char ** to const char **: the filter only reorders pointers. */
	return auth_catalog_filter(c->ctx->auth, c->who, (const char **)names,
				   n);
}

/* --- The token endpoint --------------------------------------------------- */

/* A POST body: it may hold a password, so it sits in one fixed buffer
 * (never moved by a realloc) and is wiped before it is freed. */
struct authz_tok {
	struct auth *auth;
	struct reg_work *work;
	size_t len;
	char form[AUTH_TOKEN_FORM_MAX + 1];
};

static void authz_tok_free(struct authz_tok *t)
{
	OPENSSL_cleanse(t->form, sizeof(t->form));
	free(t);
}

/* The reply to a token request that auth_token_request() answered. */
static void authz_token_send(struct http_req *req, int rc,
			     const struct auth_result *res, const char *json,
			     const struct err *e)
{
	if (rc < 0) {
		authz_reply(req, res, NULL, e);
		return;
	}
	/* RFC 6749 §5.1: tokens are not to be cached. */
	http_reply_header(req, "Cache-Control", "no-store");
	http_reply_header(req, "Pragma", "no-cache");
	reg_reply_mem(req, 200, "application/json", json, strlen(json));
}

/* A token request waiting for a password check, with copies of what it
 * needs (the form may hold the password: wiped before it is freed). */
struct authz_tokjob {
	struct auth *auth;
	struct auth_token_req tr; /* points at the copies below */
	char *form, *authorization, *client_cn, *peer;
	size_t form_len;
	struct auth_result res;
	struct err err;
	char *json;
	int rc;
};

static void authz_tokjob_free(struct authz_tokjob *j)
{
	authz_wipe(j->form, j->form_len);
	authz_wipe(j->authorization,
		   j->authorization ? strlen(j->authorization) : 0);
	free(j->client_cn);
	free(j->peer);
	auth_result_release(&j->res);
	free(j->json);
	free(j);
}

static void authz_tokjob_run(void *arg)
{
	struct authz_tokjob *j = arg;

	j->rc = auth_token_request(j->auth, &j->tr, &j->res, &j->json, &j->err);
}

static void authz_tokjob_done(struct http_req *req, void *arg)
{
	struct authz_tokjob *j = arg;

	if (req)
		authz_token_send(req, j->rc, &j->res, j->json, &j->err);
	authz_tokjob_free(j);
}

static enum reg_status authz_token_later(struct auth *a, struct reg_work *work,
					 struct http_req *req,
					 const struct auth_token_req *tr)
{
	struct authz_tokjob *j = xcalloc(1, sizeof(*j));

	j->auth = a;
	j->form = xmalloc(tr->form_len + 1);
	memcpy(j->form, tr->form, tr->form_len);
	j->form[tr->form_len] = '\0';
	j->form_len = tr->form_len;
	j->authorization = strdup_or_null(tr->authorization);
	j->client_cn = strdup_or_null(tr->client_cn);
	j->peer = strdup_or_null(tr->peer);
	j->tr = (struct auth_token_req){
		.method = tr->method,
		.form = j->form,
		.form_len = j->form_len,
		.authorization = j->authorization,
		.client_cn = j->client_cn,
		.peer = j->peer,
	};
	if (reg_work_run(work, req, authz_tokjob_run, authz_tokjob_done, j) <
	    0) {
		authz_tokjob_free(j);
		authz_busy(req);
		return REG_DONE;
	}
	return REG_DEFERRED;
}

/* Answers a token request; a password the login cache does not know is
 * checked on a work thread. */
static enum reg_status authz_token_reply(struct auth *a, struct reg_work *work,
					 struct http_req *req,
					 enum auth_token_method method,
					 const char *form, size_t len)
{
	struct auth_token_req tr = {
		.method = method,
		.form = form,
		.form_len = len,
		.authorization = http_req_header(req, "Authorization"),
		.client_cn = http_req_client_cn(req),
		.peer = http_req_peer(req),
		.quick = work != NULL,
	};
	enum reg_status st = REG_DONE;
	struct auth_result res;
	struct err e = ERR_INIT;
	char *json = NULL;
	int rc;

	rc = auth_token_request(a, &tr, &res, &json, &e);
	if (rc == AUTH_LATER)
		st = authz_token_later(a, work, req, &tr);
	else
		authz_token_send(req, rc, &res, json, &e);
	auth_result_release(&res);
	free(json);
	return st;
}

static int authz_tok_data(struct http_req *req, const void *data, size_t len,
			  void *arg)
{
	struct authz_tok *t = arg;

	if (len <= AUTH_TOKEN_FORM_MAX - t->len) {
		memcpy(t->form + t->len, data, len);
		t->len += len;
		return 0;
	}
	reg_reply_errorf(req, ERR_TOO_LARGE, "token request over %d bytes",
			 AUTH_TOKEN_FORM_MAX);
	return -1;
}

static void authz_tok_end(struct http_req *req, void *arg)
{
	struct authz_tok *t = arg;

	t->form[t->len] = '\0';
	authz_token_reply(t->auth, t->work, req, AUTH_TOKEN_POST, t->form,
			  t->len);
	/* A password goes now, not when the reply has been written. */
	OPENSSL_cleanse(t->form, sizeof(t->form));
}

static void authz_tok_dtor(void *ptr, bool gone)
{
	(void)gone;
	authz_tok_free(ptr);
}

enum reg_status reg_authz_token(struct reg_call *c)
{
	const char *q = http_req_query(c->req);
	struct authz_tok *t;

	if (!c->ctx->auth || auth_mode(c->ctx->auth) != AUTH_MODE_TOKEN) {
		reg_reply_errorf(c->req, ERR_NOT_FOUND,
				 "no token service here");
		return REG_DONE;
	}
	if (http_req_method(c->req) != HTTP_M_POST)
		return authz_token_reply(c->ctx->auth, c->ctx->work, c->req,
					 AUTH_TOKEN_GET, q ? q : "",
					 q ? strlen(q) : 0);
	if (!http_req_has_body(c->req))
		return authz_token_reply(c->ctx->auth, c->ctx->work, c->req,
					 AUTH_TOKEN_POST, "", 0);
	if (http_req_content_length(c->req) > AUTH_TOKEN_FORM_MAX) {
		reg_reply_errorf(c->req, ERR_TOO_LARGE,
				 "token request over %d bytes",
				 AUTH_TOKEN_FORM_MAX);
		return REG_DONE;
	}
	t = xcalloc(1, sizeof(*t));
	t->auth = c->ctx->auth;
	t->work = c->ctx->work;
	http_req_attach(c->req, t, authz_tok_dtor);
	http_req_body(c->req, authz_tok_data, authz_tok_end, t);
	return REG_DEFERRED;
}
