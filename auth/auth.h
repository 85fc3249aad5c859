/* auth.h: who is asking, and may they do this?
 *
 * One `struct auth` per server, built from `struct auth_config` at startup
 * and shared by every event-loop thread: all functions are thread-safe.
 *
 * Identities: an htpasswd file of bcrypt hashes (re-read when it changes, so
 * `customs user add` takes effect at once), the CN of a verified TLS client
 * certificate, the subject of a bearer token, or nobody (anonymous).
 * Permissions: an access-rules file (see auth_may()), or without one, "a
 * signed-in user may do everything, anonymous users nothing".
 *
 * Modes:
 *   none   every request is allowed (the cert CN, if any, is still reported);
 *   basic  `Authorization: Basic`, challenged with `Basic realm="customs"`;
 *   token  `Authorization: Bearer <JWT>`, challenged with the token realm;
 *          JWTs come from our own token endpoint (auth_token_request(), ES256
 *          with our key) or from one external issuer we trust by its keys.
 * In basic and token modes a verified client certificate also signs in.
 *
 * How the registry calls this module:
 *   - for every request except the token route, one auth_check() per scope
 *     the operation needs: GET /v2/ with scope NULL; pulls (GET/HEAD of
 *     manifests, blobs, tags, referrers) AUTH_PULL; uploads and manifest
 *     PUTs AUTH_PULL|AUTH_PUSH; DELETEs AUTH_DELETE; GET /v2/_catalog
 *     {AUTH_SCOPE_REGISTRY, AUTH_REGISTRY_CATALOG, AUTH_PULL}; POST
 *     /v2/_customs/db {AUTH_SCOPE_REGISTRY, AUTH_REGISTRY_DB, AUTH_ADMIN};
 *     a cross-repository mount checks `from` (AUTH_PULL) with a second
 *     call and, refused, falls back to a plain upload;
 *   - on failure, reply with the error in `e` (401 UNAUTHORIZED, 403 DENIED,
 *     429 TOOMANYREQUESTS), adding `WWW-Authenticate: <res.challenge>` when
 *     it is set and `Retry-After: <res.retry_after_s>` when it is positive;
 *   - AUTH_TOKEN_PATH (GET and POST) goes to auth_token_request() without an
 *     auth_check(), the POST body read whole (capped at AUTH_TOKEN_FORM_MAX);
 *     the token realm sent to clients is base_url + AUTH_TOKEN_PATH, where
 *     base_url is how the client reached us ("https://" + Host), unless the
 *     config names a realm;
 *   - GET /v2/_catalog filters names with auth_catalog_filter();
 *   - never log the Authorization header, passwords or tokens.
 */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct auth;

enum auth_mode { AUTH_MODE_NONE, AUTH_MODE_BASIC, AUTH_MODE_TOKEN };

/* Actions, as in scopes and access rules. */
enum auth_action {
	AUTH_PULL = 1 << 0,
	AUTH_PUSH = 1 << 1,
	AUTH_DELETE = 1 << 2,
	AUTH_ADMIN = 1 << 3,
};
#define AUTH_ALL (AUTH_PULL | AUTH_PUSH | AUTH_DELETE | AUTH_ADMIN)

/* Where the built-in token endpoint lives (GET and POST). */
#define AUTH_TOKEN_PATH "/v2/_customs/token"
/* Cap on a token request's query string or POST body; larger ones fail. */
#define AUTH_TOKEN_FORM_MAX 8192
/* Registry-wide scopes: the catalog, and the vulnerability DB import
 * (POST /v2/_customs/db, needs AUTH_ADMIN). */
#define AUTH_REGISTRY_CATALOG "catalog"
#define AUTH_REGISTRY_DB      "db"

/* Every string is borrowed during auth_new() and copied.  NULL or 0 picks
 * the default given beside it. */
struct auth_config {
	enum auth_mode mode;
	const char *data_dir;	 /* where htpasswd and token.key default to */
	const char *htpasswd;	 /* DATA_DIR/htpasswd; absent file = no users */
	const char *access;	 /* access rules (JSON); see auth_may() */
	const char *service;	 /* our name: aud of tokens; "customs" */
	const char *issuer;	 /* iss of our own tokens; "customs" */
	const char *token_key;	 /* PEM private key (EC P-256 or RSA);
				  * DATA_DIR/token.key, generated if absent */
	const char *token_realm; /* token URL to send clients; default
				  * base_url + AUTH_TOKEN_PATH */
	const char *token_issuer; /* external issuer's iss ... */
	const char *token_trust;  /* ... and its PEM public keys or certs */
	int token_ttl_s;	  /* access tokens: 300 (60 .. 86400) */
	int refresh_ttl_s;	  /* refresh tokens: 30 days */
	int fail_budget;	  /* failed logins a minute from all addresses
				   * together; past it a password the login cache
				   * does not know is refused (429) unchecked.
				   * 0 = no such budget (the per-address one stays) */
};

/* Loads keys, users and rules.  NULL on a bad config, with `e` saying why
 * (ERR_INVALID, ERR_IO).  auth_free(NULL) does nothing. */
struct auth *auth_new(const struct auth_config *cfg, struct err *e);
void auth_free(struct auth *a);
enum auth_mode auth_mode(const struct auth *a);

/* What the HTTP layer knows about a request; all borrowed. */
struct auth_request {
	const char *authorization; /* the Authorization header, or NULL */
	const char *client_cn;	   /* verified client certificate CN, or NULL */
	const char *peer;	   /* client address (rate limiting), or NULL */
	const char *base_url; /* "https://host:port" as the client sees us */
	/* Set on an event-loop thread: a password the login cache does not
	 * know is not checked (bcrypt takes ~50 ms), and the call returns
	 * AUTH_LATER instead; make it again, with quick false, where
	 * blocking is fine. */
	bool quick;
};

/* What auth_check() and auth_token_request() return when req->quick is
 * set and a password must be checked. */
#define AUTH_LATER 1

enum auth_scope_type { AUTH_SCOPE_REPOSITORY, AUTH_SCOPE_REGISTRY };

/* What a request needs: `actions` (all of them) on repository `name`, or on
 * a registry-wide resource (AUTH_REGISTRY_*). */
struct auth_scope {
	enum auth_scope_type type;
	const char *name;
	unsigned actions;
};

enum auth_via { AUTH_VIA_NONE, AUTH_VIA_BASIC, AUTH_VIA_BEARER, AUTH_VIA_CERT };

/* The outcome of auth_check() and auth_token_request().  They initialise it
 * themselves; release it with auth_result_release() whatever they return.
 * The strings belong to the result. */
struct auth_result {
	char *user;	   /* signed-in name, NULL = anonymous */
	enum auth_via via; /* how `user` was established */
	char *challenge;   /* WWW-Authenticate value for the reply, or NULL */
	int retry_after_s; /* > 0: send Retry-After (with 429) */
};

void auth_result_release(struct auth_result *res);

/* May this request do `scope`?  scope NULL asks only "is the caller signed
 * in?" (GET /v2/).  Returns 0 if allowed, AUTH_LATER (only with
 * req->quick: nothing decided, `res` empty); else -1 with e->code:
 *   ERR_UNAUTHORIZED     no, bad or expired credentials (or anonymous and
 *                        not allowed): signing in may help; 401;
 *   ERR_DENIED           signed in, but the rules or the token forbid; 403;
 *   ERR_TOOMANYREQUESTS  too many failed logins from this peer, or from
 *                        everyone (auth_config.fail_budget); 429;
 *   ERR_INTERNAL         a bug or resource failure; 500.
 * `res` says who asked and which headers to send. */
int auth_check(struct auth *a, const struct auth_request *req,
	       const struct auth_scope *scope, struct auth_result *res,
	       struct err *e);

/* Access rules.  May `user` (NULL = anonymous) do all of `actions` on
 * repository `repo`?  repo NULL asks about the whole registry (granted by
 * rules whose repositories include "*").  The rules file is JSON:
 *   {"groups": {"ops": ["alice", "bob"]},
 *    "rules": [{"users": ["alice", "group:ops", "*", "anonymous"],
 *               "repositories": ["team/<*>", "library/alpine"],
 *               "actions": ["pull", "push", "delete", "admin"]}]}
 * (<*> stands for a plain star, which a C comment cannot hold after '/'.)
 * "*" is every signed-in user; "anonymous" is everyone, signed in or not.
 * Repository patterns are fnmatch(3) globs without FNM_PATHNAME: `*` also
 * matches '/', so "team/<*>" covers "team/a/b" (but not "team").  Rules add
 * up; nothing is granted unless a rule grants it.  In mode none everything
 * is allowed. */
bool auth_may(struct auth *a, const char *user, const char *repo,
	      unsigned actions);

/* GET /v2/_catalog lists only what the caller may pull.  Reorders the
 * borrowed `names` so the visible ones come first, in their original order,
 * and returns how many there are; no pointer is lost, so an owning array can
 * still be freed whole. */
size_t auth_catalog_filter(struct auth *a, const struct auth_result *who,
			   const char **names, size_t n);

enum auth_token_method { AUTH_TOKEN_GET, AUTH_TOKEN_POST };

/* A request to AUTH_TOKEN_PATH; all borrowed. */
struct auth_token_req {
	enum auth_token_method method;
	/* GET: the raw query string (after '?'); POST: the
	 * application/x-www-form-urlencoded body. */
	const char *form;
	size_t form_len;
	const char *authorization; /* GET: Basic credentials, or NULL */
	const char *client_cn;
	const char *peer;
	bool quick; /* as in struct auth_request */
};

/* The token endpoint (token mode only).
 *   GET  service, scope (repeatable; or space-separated), offline_token,
 *        account, client_id; credentials from Basic or the client cert;
 *        none means an anonymous token.
 *   POST grant_type=password (username, password) or
 *        grant_type=refresh_token (refresh_token), with client_id, service,
 *        scope (space-separated), access_type=offline.
 * The token carries the requested access the rules grant (possibly none:
 * that is not an error).  On success *json_out is the reply body (200,
 * application/json; the caller frees it):
 *   {"token", "access_token", "expires_in", "issued_at", "scope",
 *    "refresh_token" (when asked for and the user signed in by password)}.
 * Else -1 with e->code ERR_INVALID (400), ERR_UNAUTHORIZED (401, bad
 * credentials or refresh token), ERR_TOOMANYREQUESTS (429), ERR_NOT_FOUND
 * (404: not in token mode) or ERR_INTERNAL, and headers in `res` as for
 * auth_check().  With req->quick, AUTH_LATER as for auth_check(). */
int auth_token_request(struct auth *a, const struct auth_token_req *req,
		       struct auth_result *res, char **json_out, struct err *e);

/* customs user add|del NAME [--htpasswd FILE] [--data DIR]: argv[0] is
 * "user".  `add` reads the password from stdin (prompting without echo on a
 * terminal) and replaces an existing entry.  The file is rewritten
 * atomically (temp file, fsync, rename) under a lock.  Returns the exit
 * status. */
int auth_user_cmd_main(int argc, char **argv);

#endif
