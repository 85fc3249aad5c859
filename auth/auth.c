/* auth.c: the module's lifecycle and auth_check().
 *
 * 401 or 403?  UNAUTHORIZED when signing in (again) could help: nobody
 * signed in, bad credentials, a bad or expired token, or a token of ours
 * that lacks a scope the rules would grant (the client then fetches a new
 * one: the challenge says error="insufficient_scope").  DENIED when a
 * signed-in caller is refused by the rules, or by a token that cannot be
 * widened (RFC 6750 §3.1).
 */
#include "auth/auth_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/banned.h"

#define DEFAULT_SERVICE "customs"
#define DEFAULT_ISSUER	"customs"
#define BASIC_CHALLENGE "Basic realm=\"customs\""

static time_t wall_clock(void)
{
	return time(NULL);
}

void auth_set_clock(struct auth *a, time_t (*now)(void))
{
	a->now = now;
}

enum auth_mode auth_mode(const struct auth *a)
{
	return a->mode;
}

void auth_result_release(struct auth_result *res)
{
	if (!res)
		return;
	free(res->user);
	free(res->challenge);
	memset(res, 0, sizeof(*res));
}

static char *path_or(const char *path, const char *dir, const char *name)
{
	if (path)
		return xstrdup(path);
	if (dir)
		return xasprintf("%s/%s", dir, name);
	return NULL;
}

static int config_check(const struct auth_config *cfg, struct err *e)
{
	if (cfg->mode != AUTH_MODE_NONE && cfg->mode != AUTH_MODE_BASIC &&
	    cfg->mode != AUTH_MODE_TOKEN)
		return err_set(e, ERR_INVALID, "unknown auth mode");
	if (cfg->mode == AUTH_MODE_NONE && cfg->access)
		return err_set(e, ERR_INVALID,
			       "--access needs --auth basic or token");
	if (!cfg->token_issuer != !cfg->token_trust)
		return err_set(e, ERR_INVALID,
			       "--token-issuer and "
			       "--token-trust go together");
	if (cfg->token_issuer && cfg->mode != AUTH_MODE_TOKEN)
		return err_set(e, ERR_INVALID,
			       "--token-issuer needs --auth token");
	if (cfg->token_issuer &&
	    !strcmp(cfg->token_issuer,
		    cfg->issuer ? cfg->issuer : DEFAULT_ISSUER))
		return err_set(e, ERR_INVALID,
			       "the external token issuer "
			       "must not share our issuer name");
	if (cfg->token_ttl_s &&
	    (cfg->token_ttl_s < 60 || cfg->token_ttl_s > 86400))
		return err_set(e, ERR_INVALID,
			       "token lifetime must be 60..86400 s");
	if (cfg->refresh_ttl_s < 0)
		return err_set(e, ERR_INVALID, "bad refresh token lifetime");
	if (cfg->mode == AUTH_MODE_TOKEN && !cfg->token_key && !cfg->data_dir)
		return err_set(e, ERR_INVALID,
			       "token mode needs --token-key or a data dir");
	return 0;
}

static int load_keys(struct auth *a, const struct auth_config *cfg,
		     struct err *e)
{
	char *path;
	int r;

	if (a->mode != AUTH_MODE_TOKEN)
		return 0;
	path = path_or(cfg->token_key, cfg->data_dir, "token.key");
	r = auth_key_load_private(&a->own, path, !cfg->token_key, e);
	free(path);
	if (r < 0)
		return -1;
	if (cfg->token_trust &&
	    auth_keyset_load(&a->ext, cfg->token_trust, e) < 0)
		return -1;
	return 0;
}

struct auth *auth_new(const struct auth_config *cfg, struct err *e)
{
	struct auth *a;

	if (config_check(cfg, e) < 0)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	auth_rl_init(&a->rl);
	a->rl.budget = cfg->fail_budget > 0 ? cfg->fail_budget : 0;
	a->rl.gtokens = a->rl.budget;
	a->now = wall_clock;
	a->mode = cfg->mode;
	a->service = xstrdup(cfg->service ? cfg->service : DEFAULT_SERVICE);
	a->issuer = xstrdup(cfg->issuer ? cfg->issuer : DEFAULT_ISSUER);
	a->refresh_aud = xasprintf("%s/refresh", a->service);
	a->realm = cfg->token_realm ? xstrdup(cfg->token_realm) : NULL;
	a->ext_issuer = cfg->token_issuer ? xstrdup(cfg->token_issuer) : NULL;
	a->token_ttl_s = cfg->token_ttl_s ? cfg->token_ttl_s : 300;
	a->refresh_ttl_s =
		cfg->refresh_ttl_s ? cfg->refresh_ttl_s : 30 * 24 * 3600;
	a->users.what = "htpasswd";
	a->users.missing_ok = true;
	a->users.parse = auth_users_parse;
	a->users.path = path_or(cfg->htpasswd, cfg->data_dir, "htpasswd");
	a->rules.what = "access rules";
	a->rules.parse = auth_rules_parse;
	a->rules.path = cfg->access ? xstrdup(cfg->access) : NULL;
	if (RAND_bytes(a->cache_key, sizeof(a->cache_key)) != 1) {
		err_set(e, ERR_INTERNAL, "no random bytes");
		goto fail;
	}
	if (auth_watch_init(a, &a->users, e) < 0 ||
	    auth_watch_init(a, &a->rules, e) < 0 || load_keys(a, cfg, e) < 0)
		goto fail;
	return a;
fail:
	auth_free(a);
	return NULL;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	auth_watch_release(&a->users);
	auth_watch_release(&a->rules);
	auth_key_release(&a->own);
	auth_keyset_release(&a->ext);
	auth_rl_release(&a->rl);
	OPENSSL_cleanse(a->cache, sizeof(a->cache));
	OPENSSL_cleanse(a->cache_key, sizeof(a->cache_key));
	pthread_mutex_destroy(&a->lock);
	free(a->service);
	free(a->issuer);
	free(a->refresh_aud);
	free(a->realm);
	free(a->ext_issuer);
	free(a);
}

/* --- Challenges ----------------------------------------------------------- */

/* Appends sep key="value", value quoted (RFC 7230 quoted-string). */
static void add_param(struct buf *b, const char *sep, const char *key,
		      const char *val)
{
	buf_addf(b, "%s%s=\"", sep, key);
	for (; *val; val++) {
		if (*val == '"' || *val == '\\')
			buf_add(b, "\\", 1);
		if ((unsigned char)*val >= ' ' && *val != 0x7f)
			buf_add(b, val, 1);
	}
	buf_add(b, "\"", 1);
}

static void scope_str(struct buf *b, enum auth_scope_type type,
		      const char *name, unsigned actions)
{
	buf_addf(b, "%s:%s:",
		 type == AUTH_SCOPE_REPOSITORY ? "repository" : "registry",
		 name);
	/* distribution's convention, which other token servers expect */
	if (type == AUTH_SCOPE_REGISTRY && !strcmp(name, AUTH_REGISTRY_CATALOG))
		buf_adds(b, "*");
	else
		auth_actions_str(b, actions);
}

/* The challenge for this mode; error is NULL, "invalid_token" or
 * "insufficient_scope". */
static char *challenge(struct auth *a, const struct auth_request *req,
		       const struct auth_scope *scope, const char *error)
{
	struct buf b = BUF_INIT, sc = BUF_INIT;
	const char *base = req && req->base_url ? req->base_url : "";
	char *realm;

	if (a->mode != AUTH_MODE_TOKEN)
		return xstrdup(BASIC_CHALLENGE);
	realm = a->realm ? xstrdup(a->realm)
			 : xasprintf("%s%s", base, AUTH_TOKEN_PATH);
	buf_adds(&b, "Bearer ");
	add_param(&b, "", "realm", realm);
	add_param(&b, ",", "service", a->service);
	if (scope) {
		scope_str(&sc, scope->type, scope->name, scope->actions);
		add_param(&b, ",", "scope", sc.buf);
	}
	if (error)
		add_param(&b, ",", "error", error);
	free(realm);
	buf_release(&sc);
	return buf_detach(&b, NULL);
}

static int refuse(struct auth *a, const struct auth_request *req,
		  const struct auth_scope *scope, const char *error,
		  enum err_code code, struct auth_result *res, struct err *e,
		  const char *msg)
{
	free(res->challenge);
	res->challenge = challenge(a, req, scope, error);
	return err_set(e, code, "%s", msg);
}

/* --- Sign-in ------------------------------------------------------------ */

static int too_many(struct auth_result *res, int wait, const char *who,
		    struct err *e)
{
	res->retry_after_s = wait;
	return err_set(e, ERR_TOOMANYREQUESTS,
		       "too many failed logins%s; retry in %d s", who, wait);
}

int auth_login(struct auth *a, const char *peer, const char *user,
	       const char *pass, bool quick, unsigned char fp[16],
	       struct auth_result *res, struct err *e)
{
	int wait = auth_rl_wait(&a->rl, peer, a->now());
	bool name_ok = auth_user_name_ok(user), known;
	int r;

	if (wait > 0)
		return too_many(res, wait, "", e);
	/* A password the cache knows costs nothing: it passes even when
	 * everyone's budget is spent, so signed-in users keep working
	 * through a storm of bad logins. */
	known = name_ok && auth_password_cached(a, user, pass, fp);
	if (!known && name_ok) {
		wait = quick ? auth_rl_global_wait(&a->rl, a->now())
			     : auth_rl_global_take(&a->rl, a->now());
		if (wait > 0)
			return too_many(res, wait, " on this registry", e);
		if (quick)
			return AUTH_LATER;
	}
	r = known ? 1 : name_ok ? auth_password_check(a, user, pass, fp, e) : 0;
	if (!known && name_ok && r != 0)
		auth_rl_global_refund(&a->rl); /* not a failed login */
	if (r < 0)
		return -1;
	if (r == 0) {
		auth_rl_fail(&a->rl, peer, a->now());
		log_msg(LL_WARN, "auth: failed login from %s",
			peer ? peer : "?");
		free(res->challenge);
		res->challenge = xstrdup(BASIC_CHALLENGE);
		return err_set(e, ERR_UNAUTHORIZED,
			       "invalid username or password");
	}
	free(res->user);
	res->user = xstrdup(user);
	res->via = AUTH_VIA_BASIC;
	return 0;
}

int auth_basic_login(struct auth *a, const char *cred, const char *peer,
		     bool quick, unsigned char fp[16], struct auth_result *res,
		     struct err *e)
{
	unsigned char *dec;
	char *colon;
	size_t len;
	int r;

	dec = auth_b64_decode(cred, strlen(cred), &len);
	if (!dec || len > AUTH_USER_MAX + 1 + AUTH_PASS_MAX ||
	    memchr(dec, '\0', len) || !(colon = strchr((char *)dec, ':'))) {
		if (dec)
			OPENSSL_cleanse(dec, len);
		free(dec);
		free(res->challenge);
		res->challenge = xstrdup(BASIC_CHALLENGE);
		return err_set(e, ERR_UNAUTHORIZED,
			       "malformed Basic credentials");
	}
	*colon = '\0';
	r = auth_login(a, peer, (char *)dec, colon + 1, quick, fp, res, e);
	OPENSSL_cleanse(dec, len);
	free(dec);
	return r;
}

/* "Scheme <credentials>": the credentials if scheme matches, else NULL. */
const char *auth_header_cred(const char *hdr, const char *scheme)
{
	size_t n = strlen(scheme);

	if (strncasecmp(hdr, scheme, n) || hdr[n] != ' ')
		return NULL;
	hdr += n;
	while (*hdr == ' ')
		hdr++;
	return hdr;
}

static bool cn_ok(const char *cn)
{
	return cn && auth_user_name_ok(cn);
}

/* --- Checks --------------------------------------------------------------- */

/* Basic sign-in, a client certificate, or nobody: the rules decide. */
static int check_rules(struct auth *a, const struct auth_request *req,
		       const struct auth_scope *scope, struct auth_result *res,
		       struct err *e)
{
	unsigned g;

	if (!scope) {
		if (res->user)
			return 0;
		return refuse(a, req, NULL, NULL, ERR_UNAUTHORIZED, res, e,
			      "authentication required");
	}
	g = auth_granted(a, res->user, scope->type, scope->name);
	if ((g & scope->actions) == scope->actions)
		return 0;
	if (!res->user)
		return refuse(a, req, scope, NULL, ERR_UNAUTHORIZED, res, e,
			      "authentication required");
	return err_set(e, ERR_DENIED,
		       "requested access to the resource is "
		       "denied");
}

static int check_bearer(struct auth *a, const struct auth_request *req,
			const char *tok, const struct auth_scope *scope,
			struct auth_result *res, struct err *e)
{
	struct auth_claims c;
	struct err ve = ERR_INIT;
	unsigned g;
	int ret = -1;

	if (auth_jwt_verify(a, tok, strlen(tok), a->service, &c, &ve) < 0 ||
	    (c.own && json_object_get(c.root, "pwf"))) {
		log_msg(LL_INFO, "auth: bearer token refused from %s: %s",
			req->peer ? req->peer : "?",
			ve.code ? ve.msg
				: "refresh token used as access token");
		ret = refuse(a, req, scope, "invalid_token", ERR_UNAUTHORIZED,
			     res, e, ve.code ? ve.msg : "invalid token");
		goto out;
	}
	res->via = AUTH_VIA_BEARER;
	res->user = c.sub && *c.sub ? xstrdup(c.sub) : NULL;
	if (!scope) {
		ret = 0;
		goto out;
	}
	g = auth_claims_granted(&c, scope->type, scope->name);
	if ((g & scope->actions) == scope->actions) {
		ret = 0;
		goto out;
	}
	/* Would a new token of ours carry it?  Then ask for one. */
	g = c.own ? auth_granted(a, res->user, scope->type, scope->name) : 0;
	if (!res->user || (g & scope->actions) == scope->actions)
		ret = refuse(a, req, scope, "insufficient_scope",
			     ERR_UNAUTHORIZED, res, e,
			     "token does not cover this request");
	else
		ret = refuse(a, req, scope, "insufficient_scope", ERR_DENIED,
			     res, e,
			     "requested access to the resource is "
			     "denied");
out:
	auth_claims_release(&c);
	return ret;
}

int auth_check(struct auth *a, const struct auth_request *req,
	       const struct auth_scope *scope, struct auth_result *res,
	       struct err *e)
{
	const char *cred;
	int r;

	memset(res, 0, sizeof(*res));
	if (cn_ok(req->client_cn)) {
		res->user = xstrdup(req->client_cn);
		res->via = AUTH_VIA_CERT;
	}
	if (a->mode == AUTH_MODE_NONE)
		return 0;
	if (!req->authorization)
		return check_rules(a, req, scope, res, e);
	/* Credentials in the header replace the certificate's. */
	free(res->user);
	res->user = NULL;
	res->via = AUTH_VIA_NONE;
	if (a->mode == AUTH_MODE_BASIC) {
		cred = auth_header_cred(req->authorization, "Basic");
		if (!cred)
			return refuse(a, req, scope, NULL, ERR_UNAUTHORIZED,
				      res, e, "Basic credentials required");
		r = auth_basic_login(a, cred, req->peer, req->quick, NULL, res,
				     e);
		if (r != 0)
			return r;
		return check_rules(a, req, scope, res, e);
	}
	cred = auth_header_cred(req->authorization, "Bearer");
	if (!cred)
		return refuse(a, req, scope, NULL, ERR_UNAUTHORIZED, res, e,
			      "bearer token required");
	return check_bearer(a, req, cred, scope, res, e);
}
