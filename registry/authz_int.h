/* authz_int.h: the /v2/ API's side of auth/ (auth/auth.h says who may do what;
 * this file says what each route needs and puts the answer on the wire).
 *
 *   - reg_authz_new() turns the serve config into a `struct auth` (none in
 *     --auth none: then every check below passes without a look);
 *   - reg_authz_phase() is the auth phase of reg_dispatch() (api.h): after
 *     the route and its name are parsed, before any body is read: a
 *     refused PATCH or PUT never reaches storage, and the HTTP layer drops
 *     its body;
 *   - handlers ask again where one request touches a second resource (a
 *     cross-repository mount) or lists several (the catalog);
 *   - the built-in token endpoint (AUTH_TOKEN_PATH) is a handler here.
 * Nothing here logs an Authorization header, a password or a token.
 */
#ifndef REGISTRY_AUTHZ_INT_H
#define REGISTRY_AUTHZ_INT_H

#include <stddef.h>

#include "auth/auth.h"
#include "common/err.h"
#include "registry/api_int.h"
#include "registry/config_int.h"

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

/* The auth phase: may call c (of route c->route) go on?
 *   REG_CONTINUE  yes; c->who says who asks (attached to the request, so
 *                 it lives as long as the request), or is NULL when no
 *                 check was made (--auth none, an open route);
 *   REG_DONE      no: the reply (401, 403 or 429 with WWW-Authenticate /
 *                 Retry-After) is sent;
 *   REG_DEFERRED  a password is being checked on ctx->work's threads
 *                 (bcrypt would stall the event loop; inline without a
 *                 pool): the call goes on from there (reg_phase_resume()
 *                 on a copy of c), or is refused. */
enum reg_status reg_authz_phase(struct reg_call *c);

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
enum reg_status reg_authz_token(struct reg_call *c);

#endif
