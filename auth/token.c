/* token.c: the built-in token endpoint (distribution's token.md, oauth.md,
 * scope.md).
 *
 * The token carries the intersection of what was asked and what the rules
 * grant; less than asked is not an error (token.md).
 *
 * Refresh tokens are JWTs signed with our key, with their own audience
 * ("<service>/refresh", so they never pass as access tokens) and a
 * fingerprint of the user's password hash ("pwf").  Kept nowhere, they
 * survive restarts and work on every instance sharing the key, cost no
 * memory, and still die when the user is deleted or changes password.
 */
#include "auth/auth_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/banned.h"

#define FORM_PARAMS_MAX 64

struct form {
	size_t n;
	char *name[FORM_PARAMS_MAX];
	char *val[FORM_PARAMS_MAX];
	size_t vlen[FORM_PARAMS_MAX];
};

/* Everything a token request decides before the token is made. */
struct token_ctx {
	struct auth_scope_item items[AUTH_SCOPES_MAX];
	size_t nitems;
	bool offline;	  /* a refresh token was asked for */
	bool by_password; /* signed in with a password: may get one */
	unsigned char fp[16];
	const char *refresh; /* the refresh token presented, borrowed */
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* application/x-www-form-urlencoded: '+' is a space, %XX a byte; %00 is
 * refused. */
static char *form_decode(const char *s, size_t len, size_t *len_out)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				OPENSSL_cleanse(out, o);
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*len_out = o;
	return out;
}

static void form_release(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->name[i]);
		OPENSSL_cleanse(f->val[i], f->vlen[i]);
		free(f->val[i]);
	}
	f->n = 0;
}

static int form_parse(const char *s, size_t len, struct form *f, struct err *e)
{
	const char *end = s + len;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(pe - s));
		size_t nl;

		if (pe == s) {
			s = pe + 1;
			continue;
		}
		if (f->n == FORM_PARAMS_MAX)
			return err_set(e, ERR_INVALID, "too many parameters");
		f->vlen[f->n] = 0;
		f->name[f->n] =
			form_decode(s, (size_t)((eq ? eq : pe) - s), &nl);
		f->val[f->n] = eq ? form_decode(eq + 1, (size_t)(pe - eq - 1),
						&f->vlen[f->n])
				  : xstrdup("");
		f->n++;
		if (!f->name[f->n - 1] || !f->val[f->n - 1])
			return err_set(e, ERR_INVALID,
				       "malformed form encoding");
		s = amp ? amp + 1 : end;
	}
	return 0;
}

/* A parameter that may appear once; *out NULL if absent. */
static int form_get(const struct form *f, const char *name, const char **out,
		    struct err *e)
{
	*out = NULL;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->name[i], name))
			continue;
		if (*out)
			return err_set(e, ERR_INVALID, "parameter %s repeated",
				       name);
		*out = f->val[i];
	}
	return 0;
}

/* --- Scopes --------------------------------------------------------------- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	       c == '/' || c == ':';
}

static bool type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* resourcetype := value [ '(' value ')' ]; the class is ignored. */
static bool parse_type(const char *s, size_t len, size_t *base_len)
{
	size_t i = 0;

	while (i < len && type_char(s[i]))
		i++;
	*base_len = i;
	if (i == 0)
		return false;
	if (i == len)
		return true;
	if (s[i] != '(' || s[len - 1] != ')' || len - i < 3)
		return false;
	for (i++; i < len - 1; i++)
		if (!type_char(s[i]))
			return false;
	return true;
}

int auth_scope_parse(const char *s, size_t len, struct auth_scope_item *out,
		     struct err *e)
{
	const char *c1 = memchr(s, ':', len), *c2 = NULL, *p, *end = s + len;
	size_t tlen, nlen, colons = 0;

	for (p = s; p < end; p++)
		if (*p == ':')
			c2 = p;
	if (!c1 || c1 == c2 || !parse_type(s, (size_t)(c1 - s), &tlen))
		return err_set(e, ERR_INVALID, "malformed scope");
	nlen = (size_t)(c2 - c1 - 1);
	if (nlen == 0 || nlen > AUTH_NAME_MAX)
		return err_set(e, ERR_INVALID, "malformed scope name");
	for (p = c1 + 1; p < c2; p++) {
		if (!name_char(*p))
			return err_set(e, ERR_INVALID, "malformed scope name");
		colons += *p == ':';
	}
	if (colons > 1)
		return err_set(e, ERR_INVALID, "malformed scope name");
	memset(out, 0, sizeof(*out));
	memcpy(out->name, c1 + 1, nlen);
	for (p = c2 + 1; p <= end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *ae = comma ? comma : end;

		out->actions |= auth_action_parse(p, (size_t)(ae - p));
		p = ae + 1;
	}
	if (tlen == 10 && !memcmp(s, "repository", 10))
		out->type = AUTH_SCOPE_REPOSITORY;
	else if (tlen == 8 && !memcmp(s, "registry", 8))
		out->type = AUTH_SCOPE_REGISTRY;
	else
		return 0;
	return 1;
}

/* Adds one scope string (possibly a space-separated list). */
static int add_scopes(struct token_ctx *t, const char *s, struct err *e)
{
	while (*s) {
		const char *sp = strchr(s, ' ');
		size_t len = sp ? (size_t)(sp - s) : strlen(s);
		struct auth_scope_item it;
		size_t i;
		int r;

		if (len) {
			r = auth_scope_parse(s, len, &it, e);
			if (r < 0)
				return -1;
			for (i = 0; r && i < t->nitems; i++) {
				if (t->items[i].type == it.type &&
				    !strcmp(t->items[i].name, it.name)) {
					t->items[i].actions |= it.actions;
					break;
				}
			}
			if (r && i == t->nitems) {
				if (t->nitems == AUTH_SCOPES_MAX)
					return err_set(e, ERR_INVALID,
						       "too many scopes");
				t->items[t->nitems++] = it;
			}
		}
		s += len;
		while (*s == ' ')
			s++;
	}
	return 0;
}

static int collect_scopes(const struct form *f, struct token_ctx *t,
			  struct err *e)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->name[i], "scope") &&
		    add_scopes(t, f->val[i], e) < 0)
			return -1;
	return 0;
}

/* --- Sign-in ---------------------------------------------------------- */

static int refresh_login(struct auth *a, const char *rt, const char *peer,
			 struct token_ctx *t, struct auth_result *res,
			 struct err *e)
{
	struct auth_claims c;
	unsigned char *pwf = NULL, fp[16];
	size_t n = 0;
	bool ok;
	int wait = auth_rl_wait(&a->rl, peer, a->now());

	if (wait > 0) {
		res->retry_after_s = wait;
		return err_set(e, ERR_TOOMANYREQUESTS,
			       "too many failed logins; retry in %d s", wait);
	}
	ok = auth_jwt_verify(a, rt, strlen(rt), a->refresh_aud, &c, NULL) == 0;
	if (ok) {
		const char *s =
			json_string_value(json_object_get(c.root, "pwf"));

		pwf = s ? auth_b64url_decode(s, strlen(s), &n) : NULL;
		ok = c.own && c.sub && *c.sub && pwf && n == 16 &&
		     auth_user_fingerprint(a, c.sub, fp) &&
		     CRYPTO_memcmp(fp, pwf, 16) == 0;
	}
	if (ok) {
		res->user = xstrdup(c.sub);
		res->via = AUTH_VIA_BEARER;
		t->refresh = rt;
	}
	free(pwf);
	auth_claims_release(&c);
	if (ok)
		return 0;
	auth_rl_fail(&a->rl, peer, a->now());
	log_msg(LL_WARN, "auth: bad refresh token from %s", peer ? peer : "?");
	res->challenge = xstrdup("Basic realm=\"customs\"");
	return err_set(e, ERR_UNAUTHORIZED, "invalid refresh token");
}

/* The OAuth2 form (oauth.md). */
static int token_post(struct auth *a, const struct auth_token_req *req,
		      const struct form *f, struct token_ctx *t,
		      struct auth_result *res, struct err *e)
{
	const char *grant, *client, *user, *pass, *rt, *access_type;
	int r;

	if (form_get(f, "grant_type", &grant, e) < 0 ||
	    form_get(f, "client_id", &client, e) < 0 ||
	    form_get(f, "username", &user, e) < 0 ||
	    form_get(f, "password", &pass, e) < 0 ||
	    form_get(f, "refresh_token", &rt, e) < 0 ||
	    form_get(f, "access_type", &access_type, e) < 0)
		return -1;
	if (!client || !*client)
		return err_set(e, ERR_INVALID, "client_id is required");
	if (grant && !strcmp(grant, "password")) {
		if (!user || !pass)
			return err_set(e, ERR_INVALID,
				       "username and password are required");
		r = auth_login(a, req->peer, user, pass, req->quick, t->fp, res,
			       e);
		if (r != 0)
			return r;
		t->by_password = true;
		t->offline = access_type && !strcmp(access_type, "offline");
		return 0;
	}
	if (grant && !strcmp(grant, "refresh_token")) {
		if (!rt)
			return err_set(e, ERR_INVALID,
				       "refresh_token is required");
		return refresh_login(a, rt, req->peer, t, res, e);
	}
	return err_set(e, ERR_INVALID, "unsupported grant_type");
}

/* The GET form (token.md): Basic credentials, a client certificate, or
 * nobody. */
static int token_get(struct auth *a, const struct auth_token_req *req,
		     const struct form *f, struct token_ctx *t,
		     struct auth_result *res, struct err *e)
{
	const char *offline, *account, *cred;
	int r;

	if (form_get(f, "offline_token", &offline, e) < 0 ||
	    form_get(f, "account", &account, e) < 0)
		return -1;
	if (req->authorization) {
		cred = auth_header_cred(req->authorization, "Basic");
		if (!cred) {
			res->challenge = xstrdup("Basic realm=\"customs\"");
			return err_set(e, ERR_UNAUTHORIZED,
				       "Basic credentials required");
		}
		r = auth_basic_login(a, cred, req->peer, req->quick, t->fp, res,
				     e);
		if (r != 0)
			return r;
		t->by_password = true;
	} else if (req->client_cn && auth_user_name_ok(req->client_cn)) {
		res->user = xstrdup(req->client_cn);
		res->via = AUTH_VIA_CERT;
	}
	if (account && *account && res->user && strcmp(account, res->user))
		return err_set(e, ERR_INVALID,
			       "account does not match the credentials");
	t->offline =
		offline && (!strcmp(offline, "true") || !strcmp(offline, "1"));
	return 0;
}

/* --- Tokens --------------------------------------------------------------- */

static char *random_id(void)
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return NULL;
	return auth_b64url_encode(r, sizeof(r));
}

static int sign_claims(struct auth *a, json_t *claims, char **out,
		       struct err *e)
{
	json_t *hdr;
	char *h = NULL, *c = NULL;
	int ret = -1;

	hdr = json_pack("{s:s, s:s, s:s}", "typ", "JWT", "alg",
			a->own.alg == AUTH_ALG_ES256 ? "ES256" : "RS256", "kid",
			a->own.kid);
	if (hdr)
		h = json_dumps(hdr, JSON_COMPACT);
	if (claims)
		c = json_dumps(claims, JSON_COMPACT);
	if (!h || !c)
		err_set(e, ERR_INTERNAL, "cannot encode token");
	else
		ret = auth_jws_sign(&a->own, h, c, out, e);
	json_decref(hdr);
	free(h);
	free(c);
	return ret;
}

/* iss, sub, aud, exp, nbf, iat, jti. */
static json_t *std_claims(struct auth *a, const char *sub, const char *aud,
			  time_t now, int ttl)
{
	char *jti = random_id();
	json_t *c = NULL;

	if (jti)
		c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss",
			      a->issuer, "sub", sub ? sub : "", "aud", aud,
			      "exp", (json_int_t)(now + ttl), "nbf",
			      (json_int_t)now, "iat", (json_int_t)now, "jti",
			      jti);
	free(jti);
	return c;
}

/* Grants what the rules allow of each item; fills the access claim and
 * the "scope" string of what was granted. */
static json_t *grant_access(struct auth *a, const char *user,
			    const struct token_ctx *t, struct buf *scope)
{
	json_t *access = json_array();

	for (size_t i = 0; i < t->nitems; i++) {
		const struct auth_scope_item *it = &t->items[i];
		unsigned g =
			auth_granted(a, user, it->type, it->name) & it->actions;
		json_t *acts = json_array();

		if (!g) {
			json_decref(acts);
			continue;
		}
		for (unsigned bit = 1; bit <= AUTH_ADMIN; bit <<= 1) {
			struct buf one = BUF_INIT;

			if (!(g & bit))
				continue;
			auth_actions_str(&one, bit);
			json_array_append_new(acts, json_string(one.buf));
			buf_release(&one);
		}
		json_array_append_new(
			access, json_pack("{s:s, s:s, s:o}", "type",
					  it->type == AUTH_SCOPE_REPOSITORY
						  ? "repository"
						  : "registry",
					  "name", it->name, "actions", acts));
		buf_addf(scope, "%s%s:%s:", scope->len ? " " : "",
			 it->type == AUTH_SCOPE_REPOSITORY ? "repository"
							   : "registry",
			 it->name);
		auth_actions_str(scope, g);
	}
	return access;
}

static int make_refresh(struct auth *a, const char *user,
			const unsigned char fp[16], time_t now, char **out,
			struct err *e)
{
	json_t *c = std_claims(a, user, a->refresh_aud, now, a->refresh_ttl_s);
	char *pwf = auth_b64url_encode(fp, 16);
	int r;

	if (c)
		json_object_set_new(c, "pwf", json_string(pwf));
	r = sign_claims(a, c, out, e);
	json_decref(c);
	free(pwf);
	return r;
}

static int token_reply(struct auth *a, const struct token_ctx *t,
		       const struct auth_result *res, char **json_out,
		       struct err *e)
{
	struct buf scope = BUF_INIT;
	time_t now = a->now();
	json_t *claims, *reply = NULL;
	char *tok = NULL, *refresh = NULL, issued[32];
	struct tm tm;
	int ret = -1;

	claims = std_claims(a, res->user, a->service, now, a->token_ttl_s);
	if (claims)
		json_object_set_new(claims, "access",
				    grant_access(a, res->user, t, &scope));
	if (sign_claims(a, claims, &tok, e) < 0)
		goto out;
	if (t->offline && t->by_password && res->user &&
	    make_refresh(a, res->user, t->fp, now, &refresh, e) < 0)
		goto out;
	gmtime_r(&now, &tm);
	strftime(issued, sizeof(issued), "%Y-%m-%dT%H:%M:%SZ", &tm);
	reply = json_pack("{s:s, s:s, s:i, s:s, s:s}", "token", tok,
			  "access_token", tok, "expires_in", a->token_ttl_s,
			  "issued_at", issued, "scope", scope.buf);
	if (reply && (refresh || t->refresh))
		json_object_set_new(
			reply, "refresh_token",
			json_string(refresh ? refresh : t->refresh));
	*json_out = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	if (!*json_out) {
		err_set(e, ERR_INTERNAL, "cannot encode token reply");
		goto out;
	}
	log_msg(LL_INFO, "auth: token for %s: [%s]%s",
		res->user ? res->user : "anonymous", scope.buf,
		refresh ? " +refresh" : "");
	ret = 0;
out:
	json_decref(claims);
	json_decref(reply);
	free(tok);
	free(refresh);
	buf_release(&scope);
	return ret;
}

int auth_token_request(struct auth *a, const struct auth_token_req *req,
		       struct auth_result *res, char **json_out, struct err *e)
{
	struct form f;
	struct token_ctx t;
	const char *service;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
	f.n = 0;
	*json_out = NULL;
	if (a->mode != AUTH_MODE_TOKEN)
		return err_set(e, ERR_NOT_FOUND, "no token service here");
	if (req->form_len > AUTH_TOKEN_FORM_MAX)
		return err_set(e, ERR_INVALID, "token request too large");
	if (form_parse(req->form ? req->form : "",
		       req->form ? req->form_len : 0, &f, e) < 0 ||
	    form_get(&f, "service", &service, e) < 0)
		goto out;
	if (service && strcmp(service, a->service)) {
		err_set(e, ERR_INVALID, "unknown service");
		goto out;
	}
	if (collect_scopes(&f, &t, e) < 0)
		goto out;
	if (req->method == AUTH_TOKEN_POST)
		ret = token_post(a, req, &f, &t, res, e);
	else
		ret = token_get(a, req, &f, &t, res, e);
	if (ret == 0)
		ret = token_reply(a, &t, res, json_out, e);
out:
	OPENSSL_cleanse(t.fp, sizeof(t.fp));
	form_release(&f);
	return ret;
}
