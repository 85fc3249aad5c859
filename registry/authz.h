/* authz.h: the /v2/ API's side of auth/ (auth/auth.h says who may do what;
 * this file says what each route needs and puts the answer on the wire).
 *
 *   - reg_authz_new() turns the serve config into a `struct auth` (none in
 *     --auth none: then every check below passes without a look);
 *   - reg_dispatch() calls reg_authz_check() once the route and its name
 *     are parsed and before any body is read: a refused PATCH or PUT never
 *     reaches storage, and the HTTP layer drops its body;
 *   - handlers ask again where one request touches a second resource (a
 *     cross-repository mount) or lists several (the catalog);
 *   - the built-in token endpoint (AUTH_TOKEN_PATH) is a handler here.
 * Nothing here logs an Authorization header, a password or a token.
 */
#ifndef REGISTRY_AUTHZ_H
#define REGISTRY_AUTHZ_H

#include <stddef.h>

#include "auth/auth.h"
#include "common/err.h"
#include "registry/api.h"
#include "registry/config.h"

/* Builds the auth module from --auth and friends.  *out is NULL in mode
 * none (the other auth flags are then refused, --tls-client-ca aside). */
int reg_authz_new(const struct cfg *cfg, struct auth **out, struct err *e);

enum reg_authz_need {
	REG_AUTHZ_OPEN,	     /* no check (the token endpoint) */
	REG_AUTHZ_SIGNED_IN, /* auth_check() with scope NULL */
	REG_AUTHZ_SCOPE,     /* auth_check() with *scope */
};

/* What a call of route r on repository name ("" if none) needs; fills
 * *scope (borrowing name) for REG_AUTHZ_SCOPE.  Routes not known here by
 * their handler get a rule by method: with a name, GET/HEAD pull, DELETE
 * delete, other methods pull+push; without one, GET/HEAD only need a
 * signed-in caller and other methods admin on the registry. */
enum reg_authz_need reg_authz_need(const struct reg_route *r, const char *name,
				   struct auth_scope *scope);

enum reg_authz_verdict {
	REG_AUTHZ_GO,	   /* go on with the call */
	REG_AUTHZ_REFUSED, /* the reply (401, 403 or 429 with
			    * WWW-Authenticate / Retry-After) is sent */
	REG_AUTHZ_LATER,   /* a password is being checked off the loop:
			    * the call goes on (reg_route_run() on a copy
			    * of c) or is refused from there */
};

/* May call c go on?  Sets c->who to *who (filled here; the caller releases
 * it with auth_result_release() whatever this returns).  Passwords the
 * login cache does not know are checked on ctx->work's threads (bcrypt
 * would stall the event loop), or inline without a pool. */
enum reg_authz_verdict reg_authz_check(struct reg_call *c,
				       const struct reg_route *r,
				       struct auth_result *who);

/* A mount into c->name from repository `from` (NULL: no `from` given).
 * 1: go ahead; 0: not allowed, start a plain upload instead (the spec's
 * 202); -1: refused with a reply sent (a token of ours that a new one
 * would widen: 401 whose challenge names both repositories, as CNCF
 * distribution asks, so the client fetches a token for both). */
int reg_authz_mount(struct reg_call *c, const char *from);

/* Catalog filtering: moves the names the caller may pull to the front (in
 * order) and returns how many there are; every pointer is kept. */
size_t reg_authz_catalog(struct reg_call *c, char **names, size_t n);

/* GET and POST AUTH_TOKEN_PATH (auth_token_request()). */
void reg_authz_token(struct reg_call *c);

#endif
