/* api.h: the /v2/ API, inside registry/.
 *
 * reg_dispatch() is the HTTP server's dispatch callback: it matches the
 * route table (route.c), parses the name and the reference, digest or
 * upload id into a struct reg_call, and calls the endpoint's handler.
 * Every handler ends in exactly one reg_reply_*() (reply.h), either at
 * once or, when it reads a body, from the body callbacks.
 */
#ifndef REGISTRY_API_H
#define REGISTRY_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/err.h"
#include "common/oci.h"
#include "registry/config.h"
#include "registry/http/http.h"
#include "registry/parse.h"
#include "storage/storage.h"

/* What every handler shares; lives as long as the server. */
struct reg_scan;
struct reg_policy;
struct auth;
struct auth_result;
struct reg_proxy;
struct reg_work;
struct reg_waiters;

struct reg_ctx {
	struct stor *st;
	const struct cfg *cfg;
	struct reg_scan *scan;		   /* scan workers (scan.h), or NULL */
	struct reg_waiters *waiters;	   /* waiters.h; with scan */
	const struct reg_policy *policy;   /* pull policy (policy.h), or NULL */
	struct auth *auth;		   /* authz.h; NULL with --auth none */
	struct reg_proxy *proxy;	   /* proxy.h; NULL: no upstream */
	struct reg_quota *quota;	   /* maint.h; NULL: no --quota */
	struct reg_limit *limit;	   /* limit.h; NULL: no --rate-limit */
	struct reg_work *work; /* work.h: blocking steps; NULL: run inline */
};

/* One request, as the route table parsed it.  Lives on reg_dispatch()'s
 * stack: a handler that reads a body copies what it needs. */
struct reg_call {
	struct reg_ctx *ctx;
	struct http_req *req;
	char name[REG_NAME_MAX + 1];	       /* "" for /v2/ and _catalog */
	struct reg_ref ref;		       /* ROUTE_ARG_REF */
	struct digest digest;		       /* ROUTE_ARG_DIGEST */
	char upload_id[REG_UPLOAD_ID_MAX + 1]; /* ROUTE_ARG_UPLOAD */
	const struct auth_result *who;	       /* who is asking (authz.h) */
};

typedef void (*reg_handler_fn)(struct reg_call *c);

enum reg_route_arg {
	ROUTE_ARG_NONE,
	ROUTE_ARG_REF,
	ROUTE_ARG_DIGEST,
	ROUTE_ARG_UPLOAD,
};

/* A route: a path pattern, a method and its handler.  Patterns are either
 * literal ("/v2/_catalog") or "<name>/a/b/<arg>", matched from the right:
 * the trailing segments match literally (an <arg> matches any non-empty
 * segment, a trailing '/' an empty one) and <name> takes what is left. */
struct reg_route {
	const char *pattern;
	enum http_method method;
	enum reg_route_arg arg;
	reg_handler_fn handler;
};

/* The result of matching a path against the table. */
struct reg_match {
	const struct reg_route *route; /* NULL: no route for this method */
	bool path_known;	       /* some route has this path */
	char allow[64];		       /* methods of that path, for 405 */
	const char *name;	       /* into the path, or NULL */
	size_t name_len;
	const char *arg; /* into the path, or NULL */
	size_t arg_len;
};

/* Matches method and path against the route table (pure; unit-tested). */
void reg_route_find(enum http_method method, const char *path,
		    struct reg_match *m);
/* Fills c from a match: checks the name and parses the argument. */
int reg_route_parse(const struct reg_match *m, struct reg_call *c,
		    struct err *e);
/* The http_dispatch_fn; arg is the struct reg_ctx. */
void reg_dispatch(struct http_req *req, void *arg);
/* Runs a call that passed its auth check: the pull-through cache or the
 * route's handler.  c may be a copy made after dispatch (authz.c). */
void reg_route_run(struct reg_call *c, const struct reg_route *r);

/* Handlers (api_*.c). */
void api_base(struct reg_call *c);
void api_catalog(struct reg_call *c);
void api_tags_list(struct reg_call *c);
void api_referrers(struct reg_call *c);
void api_blob_get(struct reg_call *c);
void api_blob_delete(struct reg_call *c);
void api_upload_start(struct reg_call *c);
void api_upload_status(struct reg_call *c);
void api_upload_patch(struct reg_call *c);
void api_upload_put(struct reg_call *c);
void api_upload_cancel(struct reg_call *c);
void api_manifest_get(struct reg_call *c);
void api_manifest_put(struct reg_call *c);
void api_manifest_delete(struct reg_call *c);
/* The _customs extension (api_scan.c). */
void api_scan_get(struct reg_call *c);
void api_scan_db_get(struct reg_call *c);
void api_scan_db_post(struct reg_call *c);
void api_scan_doc(struct reg_call *c);
void api_ext_discover(struct reg_call *c);

/* --- Manifest parsing (api_mparse.c) ------------------------------------ */

/* A descriptor the manifest points at. */
struct reg_mdesc {
	struct digest digest;
	int64_t size;
	bool is_manifest; /* a child of an index */
	bool has_urls;	  /* foreign layer: need not be in the store */
};

struct reg_manifest {
	char media_type[REG_MEDIA_TYPE_MAX + 1];
	enum oci_type type; /* of media_type: which fields the body needs */
	enum oci_kind kind; /* what scans see in it; an artifact when type is
			     * OCI_TYPE_OTHER */
	struct reg_mdesc *descs; /* config first, then layers/manifests */
	size_t ndescs;
	bool has_subject;
	struct digest subject;
	char *artifact_type; /* artifactType, else config.mediaType; or NULL */
	char *annotations_json; /* compact "annotations" object, or NULL */
};

/* Parses and checks a manifest body.  content_type is the request's
 * Content-Type (parameters allowed; NULL if absent).  Schema 1, malformed
 * JSON or descriptors, and a Content-Type that disagrees with the body's
 * mediaType give ERR_MANIFEST_INVALID.  Release m with
 * reg_manifest_release() (also after a failure). */
int reg_manifest_parse(const char *body, size_t len, const char *content_type,
		       struct reg_manifest *m, struct err *e);
void reg_manifest_release(struct reg_manifest *m);

#endif
