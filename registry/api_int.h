/* api_int.h: the /v2/ API, inside registry/.
 *
 * reg_dispatch() is the HTTP server's dispatch callback.  Like nginx, it
 * runs a request through a list of phases (route.c), in order:
 *   route    match the route table, parse the name and the reference,
 *            digest or upload id into a struct reg_call;
 *   auth     may the caller do this (authz.h), before any body is read;
 *   proxy    a pull-through name: the cache answers (proxy/proxy.h);
 *   policy   a manifest GET or HEAD: its scan verdict (policy.h);
 *   handler  the route's handler (api_*.c).
 * Each phase and handler returns an enum reg_status: REG_CONTINUE hands
 * the call to the next phase, REG_DONE says it replied, REG_DEFERRED that
 * the reply (or the rest of the phases, reg_phase_resume()) comes later
 * from a callback.  Every request ends in exactly one reg_reply_*()
 * (reply.h).  What a phase or handler keeps for later is attached to the
 * request (http_req_attach()) and freed when the request ends.
 */
#ifndef REGISTRY_API_INT_H
#define REGISTRY_API_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/err.h"
#include "common/oci.h"
#include "registry/config_int.h"
#include "registry/http/http.h"
#include "registry/parse_int.h"
#include "storage/storage.h"

/* What every handler shares; lives as long as the server. */
struct reg_scan;
struct reg_policy;
struct auth;
struct auth_result;
struct reg_proxy;
struct reg_work;
struct reg_waiters;
struct reg_events;

struct reg_ctx {
	struct stor *st;
	const struct cfg *cfg;
	struct reg_scan *scan;		 /* scan workers (scan.h), or NULL */
	struct reg_waiters *waiters;	 /* waiters.h; with scan */
	const struct reg_policy *policy; /* pull policy (policy.h), or NULL */
	struct auth *auth;		 /* authz.h; NULL with --auth none */
	struct reg_proxy *proxy;	 /* proxy.h; NULL: no upstream */
	struct reg_quota *quota;	 /* maint.h; NULL: no --quota */
	struct reg_limit *limit;	 /* limit.h; NULL: no --rate-limit */
	struct reg_work *work; /* work.h: blocking steps; NULL: run inline */
	struct reg_dbupdate *dbupdate; /* dbupdate_int.h, or NULL */
	struct reg_events *events;     /* events/events.h; NULL: none */
};

/* One request, as the route table parsed it.  Lives on reg_dispatch()'s
 * stack: a phase that defers keeps a copy (its pointers live as long as
 * the request, manifest aside) and resumes that; a handler that reads a
 * body copies what it needs. */
struct reg_call {
	struct reg_ctx *ctx;
	struct http_req *req;
	const struct reg_route *route;	       /* from the route phase */
	unsigned phase;			       /* the phase running */
	char name[REG_NAME_MAX + 1];	       /* "" for /v2/ and _catalog */
	struct reg_ref ref;		       /* ROUTE_ARG_REF */
	struct digest digest;		       /* ROUTE_ARG_DIGEST */
	char upload_id[REG_UPLOAD_ID_MAX + 1]; /* ROUTE_ARG_UPLOAD */
	/* Who is asking (authz.h); NULL: anyone (no auth, an open route). */
	const struct auth_result *who;
	/* The manifest the policy phase judged: the handler takes it (sets
	 * NULL); one left is freed after the phases. */
	struct stor_manifest *manifest;
};

/* What a phase or a handler did with a call (nginx's NGX_DECLINED,
 * NGX_OK, NGX_AGAIN). */
enum reg_status {
	REG_CONTINUE, /* not this phase's: the next one goes on */
	REG_DONE,     /* replied */
	REG_DEFERRED, /* taken: a callback replies, or resumes the phases,
		       * later (or has already) */
};

typedef enum reg_status (*reg_handler_fn)(struct reg_call *c);

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
/* The http_dispatch_fn; arg is the struct reg_ctx.  Runs the phases. */
void reg_dispatch(struct http_req *req, void *arg);
/* Goes on with the phases after the one that deferred c (on the request's
 * loop thread, the request alive); c is that phase's copy of the call. */
void reg_phase_resume(struct reg_call *c);

/* Handlers (api_*.c): REG_DONE, or REG_DEFERRED when a callback replies. */
enum reg_status api_base(struct reg_call *c);
enum reg_status api_catalog(struct reg_call *c);
enum reg_status api_tags_list(struct reg_call *c);
enum reg_status api_referrers(struct reg_call *c);
enum reg_status api_blob_get(struct reg_call *c);
enum reg_status api_blob_delete(struct reg_call *c);
enum reg_status api_upload_start(struct reg_call *c);
enum reg_status api_upload_status(struct reg_call *c);
enum reg_status api_upload_patch(struct reg_call *c);
enum reg_status api_upload_put(struct reg_call *c);
enum reg_status api_upload_cancel(struct reg_call *c);
enum reg_status api_manifest_get(struct reg_call *c);
enum reg_status api_manifest_put(struct reg_call *c);
enum reg_status api_manifest_delete(struct reg_call *c);
/* The _customs extension (api_scan.c). */
enum reg_status api_scan_get(struct reg_call *c);
enum reg_status api_scan_db_get(struct reg_call *c);
enum reg_status api_scan_db_post(struct reg_call *c);
enum reg_status api_scan_doc(struct reg_call *c);
enum reg_status api_ext_discover(struct reg_call *c);
/* GET /v2/_customs/events/dead (events/events_api.c). */
enum reg_status api_events_dead(struct reg_call *c);
/* What the web UI reads (api_ui.c). */
enum reg_status api_ui_repositories(struct reg_call *c);
enum reg_status api_ui_tags(struct reg_call *c);
enum reg_status api_ui_image(struct reg_call *c);
enum reg_status api_ui_diff(struct reg_call *c);
enum reg_status api_ui_report(struct reg_call *c);
enum reg_status api_ui_chart(struct reg_call *c);
enum reg_status api_ui_status(struct reg_call *c);
/* A report of dg was stored (reg_scan_on_report(), arg: the struct
 * reg_ctx): the view of its image the UI's first look asks for is made
 * on the pool, so that look reads no report. */
void api_ui_report_stored(void *arg, const struct digest *dg);
/* Image views made since start: as reports were stored, and on requests
 * that found none. */
void api_ui_views_built(uint64_t *on_report, uint64_t *on_request);

/* --- Manifest parsing (api_mparse.c) ------------------------------------ */

/* A descriptor the manifest points at. */
struct reg_mdesc {
	struct digest digest;
	int64_t size;
	bool is_manifest; /* a child of an index */
	bool has_urls;	  /* foreign layer: need not be in the store */
	/* Non-distributable or with urls (oci_is_external_layer()): may be
	 * absent from the store. */
	bool external;
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
