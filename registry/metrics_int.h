/* metrics_int.h: GET /metrics (Prometheus text format 0.0.4), /healthz and
 * /readyz.
 *
 * Counters are process-wide atomics (relaxed: a scrape may see one request
 * counted but not yet its bytes, never a torn value), so the request path
 * takes no lock.  The HTTP layer reports each finished request once, from
 * the access log (reg_metrics_request()); gauges that live in the store (the
 * scan queue) are read at scrape time.
 */
#ifndef REGISTRY_METRICS_INT_H
#define REGISTRY_METRICS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "common/buf.h"
#include "registry/api_int.h"
#include "registry/http/http.h"

/* The registry-wide auth resource of GET /metrics (admin action). */
#define REG_METRICS_RESOURCE "metrics"

/* One finished request (the access-log line): method, decoded path, status,
 * declared request body length (-1: none or chunked), reply bytes, time. */
void reg_metrics_request(enum http_method method, const char *path, int status,
			 int64_t bytes_in, uint64_t bytes_out, long ms);
/* A connection opened (1) or closed (-1). */
void reg_metrics_conn(int delta);
/* A scan job ended (the scan log line): report NULL is a failed attempt
 * (retried or not), else ok or incomplete by its status; t0 (NULL with a
 * failure) is when it started. */
void reg_metrics_scan(const json_t *report, const struct timespec *t0);
/* The pull policy served (true) or refused (false) a manifest. */
void reg_metrics_policy(bool allowed);
/* A gc run of the server ended: ok, and the bytes it freed. */
void reg_metrics_gc(bool ok, int64_t bytes);
/* Layers the scan service read (scan/scan_layers.c). */
enum reg_metrics_layer {
	REG_LAYER_INDEXED, /* a layer read alone into its index */
	REG_LAYER_SKIPPED, /* a blob sniffed and found not to be a layer */
	REG_LAYER_IMAGE,   /* a layer read as part of a whole image */
	REG_LAYER_MERGED,  /* a report merged from its layers' indexes */
	RM_NLAYERS
};
void reg_metrics_layer(enum reg_metrics_layer what, uint64_t n);
/* Paths polled by load balancers: their access-log line is debug only. */
bool reg_metrics_quiet(const char *path);
/* From a SIGTERM handler (async-signal-safe): /readyz says 503 from now. */
void reg_metrics_draining(void);

/* Handlers (route.c's table; authz.c says who may call them). */
enum reg_status reg_metrics_healthz(struct reg_call *c);
enum reg_status reg_metrics_readyz(struct reg_call *c);
enum reg_status reg_metrics_get(struct reg_call *c);
/* The dispatch of the --metrics-listen server (arg: the struct reg_ctx):
 * GET /metrics, /healthz and /readyz, without sign-in or the loopback
 * rule (its address is its access control); 404 for anything else. */
void reg_metrics_dispatch(struct http_req *req, void *arg);

/* Exposition helpers, exposed for the unit tests. */
/* Appends v as a label value: backslash, double quote and newline escaped. */
int rm_label_value(struct buf *b, const char *v);
/* One histogram's lines: counts[i] observations in bucket i (not
 * cumulative; i == n is above the last bound), bounds in seconds; labels
 * is a rendered label list without braces ("" for none). */
int rm_histogram(struct buf *b, const char *name, const char *labels,
		 const double *bounds, const uint64_t *counts, size_t n,
		 double sum);

#endif
