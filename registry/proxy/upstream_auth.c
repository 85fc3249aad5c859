/* upstream_auth.c: WWW-Authenticate challenges, the token endpoint, and the
 * tokens we hold until they expire.  Nothing here logs a token or a
 * password. */
#include "registry/proxy/upstream_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/* The spec's default when a token reply has no expires_in. */
#define UPS_TOKEN_TTL_DEFAULT 60

/* --- Parsing
 * ------------------------------------------------------------------ */

static const char *ups_skip(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	return p;
}

/* A token or a quoted string into out (truncated to n); returns the end,
 * or NULL when malformed. */
static const char *ups_param_value(const char *p, char *out, size_t n)
{
	size_t k = 0;

	if (*p != '"') {
		while (*p && *p != ',' && *p != ' ' && *p != '\t') {
			if (k + 1 < n)
				out[k++] = *p;
			p++;
		}
		out[k] = '\0';
		return p;
	}
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (k + 1 < n)
			out[k++] = *p;
	}
	out[k] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

/* Copies s, cut to n - 1 bytes. */
static void ups_copy(char *out, size_t n, const char *s)
{
	size_t len = strnlen(s, n - 1);

	memcpy(out, s, len);
	out[len] = '\0';
}

int ups_parse_challenge(const char *hdr, struct ups_challenge *out)
{
	const char *p = hdr ? hdr : "", *k;
	char value[512];
	size_t kl;

	memset(out, 0, sizeof(*out));
	p = ups_skip(p);
	if (!strncasecmp(p, "Bearer", 6) && (p[6] == ' ' || !p[6]))
		out->scheme = UPS_AUTH_BEARER;
	else if (!strncasecmp(p, "Basic", 5) && (p[5] == ' ' || !p[5]))
		out->scheme = UPS_AUTH_BASIC;
	else
		return -1;
	p += out->scheme == UPS_AUTH_BEARER ? 6 : 5;
	for (p = ups_skip(p); *p; p = ups_skip(p)) {
		k = p;
		while (*p && *p != '=' && *p != ' ' && *p != ',')
			p++;
		kl = (size_t)(p - k);
		if (*p != '=')
			break; /* the next challenge's scheme: ours is done */
		p = ups_param_value(p + 1, value, sizeof(value));
		if (!p)
			return -1;
		if (kl == 5 && !strncasecmp(k, "realm", 5))
			ups_copy(out->realm, sizeof(out->realm), value);
		else if (kl == 7 && !strncasecmp(k, "service", 7))
			ups_copy(out->service, sizeof(out->service), value);
		else if (kl == 5 && !strncasecmp(k, "scope", 5))
			ups_copy(out->scope, sizeof(out->scope), value);
	}
	if (out->scheme == UPS_AUTH_BEARER &&
	    strncasecmp(out->realm, "https://", 8) &&
	    strncasecmp(out->realm, "http://", 7))
		return -1;
	return 0;
}

int ups_parse_token(const char *body, size_t len, char **token_out,
		    long *ttl_out, struct err *e)
{
	json_t *root = json_loadb(body, len, 0, NULL), *ttl;
	const char *tok;
	int rc = -1;

	tok = json_string_value(json_object_get(root, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(root, "access_token"));
	if (!tok || !*tok) {
		err_set(e, ERR_UPSTREAM, "token reply has no token");
		goto out;
	}
	/* A token is a header value: no CR/LF or other controls. */
	for (const char *p = tok; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			err_set(e, ERR_UPSTREAM, "token reply has a bad token");
			goto out;
		}
	}
	ttl = json_object_get(root, "expires_in");
	*ttl_out = json_is_integer(ttl) && json_integer_value(ttl) > 0
			   ? (long)json_integer_value(ttl)
			   : UPS_TOKEN_TTL_DEFAULT;
	*token_out = xstrdup(tok);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* --- The cache
 * ----------------------------------------------------------------- */

static void ups_token_free(struct ups_token *t)
{
	free(t->scope);
	free(t->token);
	free(t);
}

/* Finds (r, scope) and drops expired entries on the way; under tlock. */
static struct ups_token *ups_token_find(struct ups *u,
					const struct ups_remote *r,
					const char *scope, time_t now)
{
	struct ups_token **pp = &u->tokens, *t, *found = NULL;

	while ((t = *pp)) {
		if (t->token && t->expires <= now) {
			*pp = t->next;
			ups_token_free(t);
			u->ntokens--;
			continue;
		}
		if (t->r == r && !strcmp(t->scope, scope))
			found = t;
		pp = &t->next;
	}
	return found;
}

static void ups_token_add(struct ups *u, const struct ups_remote *r,
			  const char *scope, const char *token, time_t expires)
{
	struct ups_token *t, **pp;
	time_t now = time(NULL);

	pthread_mutex_lock(&u->tlock);
	t = ups_token_find(u, r, scope, now);
	if (!t) {
		/* Full: the oldest entry (the list's tail) goes. */
		if (u->ntokens >= UPS_TOKENS_MAX) {
			for (pp = &u->tokens; (*pp)->next; pp = &(*pp)->next)
				;
			ups_token_free(*pp);
			*pp = NULL;
			u->ntokens--;
		}
		t = xcalloc(1, sizeof(*t));
		t->r = r;
		t->scope = xstrdup(scope);
		t->next = u->tokens;
		u->tokens = t;
		u->ntokens++;
	}
	free(t->token);
	t->token = token ? xstrdup(token) : NULL;
	t->expires = expires;
	pthread_mutex_unlock(&u->tlock);
}

char *ups_token_header(struct ups *u, const struct ups_remote *r,
		       const char *scope)
{
	struct ups_token *t;
	char *h = NULL;

	pthread_mutex_lock(&u->tlock);
	t = ups_token_find(u, r, scope, time(NULL));
	if (t && t->token)
		h = xasprintf("Authorization: Bearer %s", t->token);
	pthread_mutex_unlock(&u->tlock);
	return h;
}

bool ups_wants_basic(struct ups *u, const struct ups_remote *r)
{
	struct ups_token *t;
	bool yes;

	if (!r->username)
		return false;
	pthread_mutex_lock(&u->tlock);
	t = ups_token_find(u, r, "", time(NULL));
	yes = t && !t->token;
	pthread_mutex_unlock(&u->tlock);
	return yes;
}

void ups_note_basic(struct ups *u, const struct ups_remote *r)
{
	ups_token_add(u, r, "", NULL, 0);
}

void ups_token_drop(struct ups *u, const struct ups_remote *r,
		    const char *scope)
{
	struct ups_token *t;

	pthread_mutex_lock(&u->tlock);
	t = ups_token_find(u, r, scope, time(NULL));
	if (t && t->token)
		t->expires = 0; /* gone at the next find */
	pthread_mutex_unlock(&u->tlock);
}

void ups_tokens_free(struct ups *u)
{
	struct ups_token *t, *next;

	for (t = u->tokens; t; t = next) {
		next = t->next;
		ups_token_free(t);
	}
	u->tokens = NULL;
	u->ntokens = 0;
}

/* --- The token endpoint
 * ------------------------------------------------------- */

static size_t ups_token_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	return buf_add(b, p, size * n) < 0 ? 0 : size * n;
}

static char *ups_token_url(CURL *h, const struct ups_challenge *ch,
			   const char *scope)
{
	const char *sc = ch->scope[0] ? ch->scope : scope;
	char *svc = curl_easy_escape(h, ch->service, 0);
	char *esc = curl_easy_escape(h, sc, 0);
	char *url;

	url = xasprintf("%s%sservice=%s&scope=%s", ch->realm,
			strchr(ch->realm, '?') ? "&" : "?", svc ? svc : "",
			esc ? esc : "");
	curl_free(svc);
	curl_free(esc);
	return url;
}

int ups_token_fetch(struct ups_conn *c, const struct ups_remote *r,
		    const struct ups_challenge *ch, const char *scope,
		    struct err *e)
{
	struct buf body;
	char *url, *token = NULL, host[300];
	long status = 0, ttl;
	enum ups_hop hop;
	CURLcode rc;
	int ret = -1;

	buf_init(&body, UPS_TOKEN_BODY_MAX);
	url = ups_token_url(c->curl, ch, scope);
	/* The realm is the upstream's word, like a redirect. */
	hop = ups_hop_of(r, url);
	if (hop == UPS_HOP_REFUSED) {
		ups_url_host(url, host, sizeof(host));
		err_set(e, ERR_UPSTREAM,
			"upstream %s: refused its token realm at %s (not its "
			"own host, not https, not in its redirect allow list)",
			r->host, host);
		goto out;
	}
	ups_conn_setup(c, r, hop);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)UPS_SMALL_TIMEOUT_S);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, ups_token_write);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
	if (r->username) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH,
				 (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->curl, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(c->curl, CURLOPT_PASSWORD, r->password);
	}
	rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK && c->refused) {
		ups_guard_error(c, r, url, e);
		goto out;
	}
	if (rc != CURLE_OK) {
		err_set(e, ERR_UPSTREAM, "upstream %s: token endpoint: %s",
			r->host,
			c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		goto out;
	}
	if (status == 401 || status == 403) {
		err_set(e, ERR_DENIED,
			"upstream %s: its token endpoint refused %s (%ld)",
			r->host, r->username ? "our credentials" : "us",
			status);
		goto out;
	}
	if (status != 200) {
		err_set(e, ERR_UPSTREAM,
			"upstream %s: token endpoint replied %ld", r->host,
			status);
		goto out;
	}
	if (ups_parse_token(body.buf, body.len, &token, &ttl, e) < 0)
		goto out;
	if (ttl > 2 * UPS_TOKEN_SLACK_S)
		ttl -= UPS_TOKEN_SLACK_S;
	else
		ttl /= 2;
	ups_token_add(c->u, r, scope, token, time(NULL) + ttl);
	log_msg(LL_DEBUG, "upstream %s: token for %s, %ld s", r->host, scope,
		ttl);
	ret = 0;
out:
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	free(token);
	free(url);
	buf_release(&body);
	return ret;
}
