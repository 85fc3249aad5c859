/* metrics.c: GET /metrics, /healthz and /readyz (metrics_int.h). */
#include "registry/metrics_int.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "registry/api_int.h"
#include "registry/dbupdate_int.h"
#include "registry/proxy/proxy.h"
#include "registry/events/events.h"
#include "registry/reply_int.h"
#include "registry/scan/scan.h"
#include "storage/storage.h"
#include "common/banned.h"

enum rm_route {
	RM_BLOB,
	RM_MANIFEST,
	RM_UPLOAD,
	RM_TAGS,
	RM_CATALOG,
	RM_REFERRERS,
	RM_SCAN,
	RM_HEALTH,
	RM_OTHER,
	RM_NROUTES
};

static const char *const rm_route_names[RM_NROUTES] = {
	"blob",	     "manifest", "upload", "tags",  "catalog",
	"referrers", "scan",	 "health", "other",
};

#define RM_NMETHODS (HTTP_M_OPTIONS + 1)
static const char *const rm_method_names[RM_NMETHODS] = {
	[HTTP_M_OTHER] = "OTHER",   [HTTP_M_GET] = "GET",
	[HTTP_M_HEAD] = "HEAD",	    [HTTP_M_PUT] = "PUT",
	[HTTP_M_POST] = "POST",	    [HTTP_M_PATCH] = "PATCH",
	[HTTP_M_DELETE] = "DELETE", [HTTP_M_OPTIONS] = "OPTIONS",
};

/* Status classes 1xx..5xx; anything else counts as 5xx. */
#define RM_NCLASSES 5

static const double rm_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				   0.5,	  1,	2.5,   5,    10,  30};
#define RM_NBOUNDS (sizeof(rm_bounds) / sizeof(rm_bounds[0]))

enum rm_outcome {
	RM_SCAN_OK,
	RM_SCAN_INCOMPLETE,
	RM_SCAN_FAILED,
	RM_NOUTCOMES
};
static const char *const rm_outcome_names[RM_NOUTCOMES] = {"ok", "incomplete",
							   "failed"};
/* The report's "counts" keys. */
static const char *const rm_sevs[] = {"critical", "high", "medium", "low",
				      "unknown"};
#define RM_NSEVS (sizeof(rm_sevs) / sizeof(rm_sevs[0]))

static const double rm_scan_bounds[] = {0.1, 0.5, 1,  2.5, 5,
					10,  30,  60, 120, 300};
#define RM_NSCANBOUNDS (sizeof(rm_scan_bounds) / sizeof(rm_scan_bounds[0]))

static struct {
	atomic_uint_fast64_t requests[RM_NROUTES][RM_NMETHODS][RM_NCLASSES];
	atomic_uint_fast64_t latency[RM_NROUTES][RM_NBOUNDS + 1];
	atomic_uint_fast64_t latency_ms[RM_NROUTES];
	atomic_uint_fast64_t bytes_in[RM_NROUTES];
	atomic_uint_fast64_t bytes_out[RM_NROUTES];
	atomic_uint_fast64_t scans[RM_NOUTCOMES];
	atomic_uint_fast64_t scan_time[RM_NSCANBOUNDS + 1];
	atomic_uint_fast64_t scan_ms;
	atomic_uint_fast64_t findings[RM_NSEVS];
	atomic_uint_fast64_t policy[2];	 /* denied, allowed */
	atomic_uint_fast64_t gc_runs[2]; /* failed, ok */
	atomic_uint_fast64_t gc_bytes;
	atomic_uint_fast64_t layers[RM_NLAYERS]; /* by enum reg_metrics_layer */
	atomic_int draining;
	atomic_long conns;
} rm;

/* The route class from the path alone: the HTTP layer that reports a
 * request knows no route (and a 404 has none). */
static enum rm_route rm_classify(const char *path)
{
	if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz") ||
	    !strcmp(path, "/metrics"))
		return RM_HEALTH;
	if (strncmp(path, "/v2/", 4))
		return RM_OTHER;
	if (strstr(path, "/blobs/uploads"))
		return RM_UPLOAD;
	if (strstr(path, "/blobs/"))
		return RM_BLOB;
	if (strstr(path, "/manifests/"))
		return RM_MANIFEST;
	if (strstr(path, "/tags/list"))
		return RM_TAGS;
	if (!strcmp(path, "/v2/_catalog"))
		return RM_CATALOG;
	if (strstr(path, "/referrers/"))
		return RM_REFERRERS;
	if (strstr(path, "/_customs/"))
		return RM_SCAN;
	return RM_OTHER;
}

static size_t rm_bucket(const double *bounds, size_t n, long ms)
{
	size_t b = 0;

	while (b < n && (double)ms / 1000.0 > bounds[b])
		b++;
	return b;
}

void reg_metrics_request(enum http_method method, const char *path, int status,
			 int64_t bytes_in, uint64_t bytes_out, long ms)
{
	enum rm_route r = rm_classify(path ? path : "");
	size_t m = (unsigned)method < RM_NMETHODS ? (size_t)method : 0;
	size_t cl = status >= 100 && status < 600 ? (size_t)status / 100 - 1
						  : RM_NCLASSES - 1;
	size_t b;

	if (ms < 0)
		ms = 0;
	b = rm_bucket(rm_bounds, RM_NBOUNDS, ms);
	atomic_fetch_add_explicit(&rm.requests[r][m][cl], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&rm.latency[r][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rm.latency_ms[r], (uint64_t)ms,
				  memory_order_relaxed);
	if (bytes_in > 0)
		atomic_fetch_add_explicit(&rm.bytes_in[r], (uint64_t)bytes_in,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&rm.bytes_out[r], bytes_out,
				  memory_order_relaxed);
}

void reg_metrics_conn(int delta)
{
	atomic_fetch_add_explicit(&rm.conns, delta, memory_order_relaxed);
}

void reg_metrics_scan(const json_t *report, const struct timespec *t0)
{
	const char *st = json_string_value(json_object_get(report, "status"));
	const json_t *counts = json_object_get(report, "counts");
	enum rm_outcome o = !report			   ? RM_SCAN_FAILED
			    : st && strcmp(st, "complete") ? RM_SCAN_INCOMPLETE
							   : RM_SCAN_OK;
	struct timespec t1;
	long ms;

	atomic_fetch_add_explicit(&rm.scans[o], 1, memory_order_relaxed);
	for (size_t i = 0; i < RM_NSEVS; i++) {
		json_int_t n =
			json_integer_value(json_object_get(counts, rm_sevs[i]));

		if (n > 0)
			atomic_fetch_add_explicit(&rm.findings[i], (uint64_t)n,
						  memory_order_relaxed);
	}
	if (!t0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long)(t1.tv_sec - t0->tv_sec) * 1000 +
	     (t1.tv_nsec - t0->tv_nsec) / 1000000;
	if (ms < 0)
		ms = 0;
	atomic_fetch_add_explicit(
		&rm.scan_time[rm_bucket(rm_scan_bounds, RM_NSCANBOUNDS, ms)], 1,
		memory_order_relaxed);
	atomic_fetch_add_explicit(&rm.scan_ms, (uint64_t)ms,
				  memory_order_relaxed);
}

void reg_metrics_policy(bool allowed)
{
	atomic_fetch_add_explicit(&rm.policy[allowed], 1, memory_order_relaxed);
}

void reg_metrics_gc(bool ok, int64_t bytes)
{
	atomic_fetch_add_explicit(&rm.gc_runs[ok], 1, memory_order_relaxed);
	if (bytes > 0)
		atomic_fetch_add_explicit(&rm.gc_bytes, (uint64_t)bytes,
					  memory_order_relaxed);
}

void reg_metrics_layer(enum reg_metrics_layer what, uint64_t n)
{
	atomic_fetch_add_explicit(&rm.layers[what], n, memory_order_relaxed);
}

bool reg_metrics_quiet(const char *path)
{
	return path && (!strcmp(path, "/healthz") || !strcmp(path, "/readyz"));
}

void reg_metrics_draining(void)
{
	atomic_store(&rm.draining, 1);
}

/* --- Exposition ---------------------------------------------------------- */

int rm_label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		const char *esc = *v == '\\'   ? "\\\\"
				  : *v == '"'  ? "\\\""
				  : *v == '\n' ? "\\n"
					       : NULL;

		if (esc ? buf_adds(b, esc) : buf_add(b, v, 1))
			return -1;
	}
	return 0;
}

int rm_histogram(struct buf *b, const char *name, const char *labels,
		 const double *bounds, const uint64_t *counts, size_t n,
		 double sum)
{
	const char *sep = *labels ? "," : "";
	uint64_t cum = 0;
	int rc = 0;

	for (size_t i = 0; i <= n; i++) {
		cum += counts[i];
		if (i < n)
			rc |= buf_addf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n",
				       name, labels, sep, bounds[i],
				       (unsigned long long)cum);
		else
			rc |= buf_addf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
				       name, labels, sep,
				       (unsigned long long)cum);
	}
	/* No labels: no braces (valid either way, but the usual form). */
	rc |= buf_addf(b, "%s_sum%s%s%s %.15g\n", name, *labels ? "{" : "",
		       labels, *labels ? "}" : "", sum);
	rc |= buf_addf(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "",
		       labels, *labels ? "}" : "", (unsigned long long)cum);
	return rc ? -1 : 0;
}

static uint64_t rm_load(atomic_uint_fast64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void rm_head(struct buf *b, const char *name, const char *type,
		    const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void rm_gauge(struct buf *b, const char *name, const char *help,
		     long long v)
{
	rm_head(b, name, "gauge", help);
	buf_addf(b, "%s %lld\n", name, v);
}

/* A counter without labels. */
static void rm_counter(struct buf *b, const char *name, const char *help,
		       uint64_t v)
{
	rm_head(b, name, "counter", help);
	buf_addf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* One sample of a counter with one label. */
static void rm_sample(struct buf *b, const char *name, const char *label,
		      const char *value, uint64_t v)
{
	buf_addf(b, "%s{%s=\"%s\"} %llu\n", name, label, value,
		 (unsigned long long)v);
}

/* A counter with one label: values[i]'s count is v[i]. */
static void rm_family(struct buf *b, const char *name, const char *help,
		      const char *label, const char *const *values,
		      atomic_uint_fast64_t *v, size_t n)
{
	rm_head(b, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		rm_sample(b, name, label, values[i], rm_load(&v[i]));
}

static void rm_requests(struct buf *b)
{
	static const char *const cls[RM_NCLASSES] = {"1xx", "2xx", "3xx", "4xx",
						     "5xx"};

	rm_head(b, "customs_http_requests_total", "counter",
		"Requests finished, by route class, method and status class.");
	for (size_t r = 0; r < RM_NROUTES; r++)
		for (size_t m = 0; m < RM_NMETHODS; m++)
			for (size_t c = 0; c < RM_NCLASSES; c++) {
				uint64_t v = rm_load(&rm.requests[r][m][c]);

				if (v)
					buf_addf(b,
						 "customs_http_requests_total{"
						 "route=\"%s\",method=\"%s\","
						 "code=\"%s\"} %llu\n",
						 rm_route_names[r],
						 rm_method_names[m], cls[c],
						 (unsigned long long)v);
			}
	rm_head(b, "customs_http_request_duration_seconds", "histogram",
		"Time from request head to reply end, by route class.");
	for (size_t r = 0; r < RM_NROUTES; r++) {
		uint64_t counts[RM_NBOUNDS + 1];
		char labels[64];

		for (size_t i = 0; i <= RM_NBOUNDS; i++)
			counts[i] = rm_load(&rm.latency[r][i]);
		snprintf(labels, sizeof(labels), "route=\"%s\"",
			 rm_route_names[r]);
		rm_histogram(b, "customs_http_request_duration_seconds", labels,
			     rm_bounds, counts, RM_NBOUNDS,
			     (double)rm_load(&rm.latency_ms[r]) / 1000.0);
	}
	rm_family(b, "customs_http_request_bytes_total",
		  "Request body bytes (declared Content-Length), by route "
		  "class.",
		  "route", rm_route_names, rm.bytes_in, RM_NROUTES);
	rm_family(b, "customs_http_response_bytes_total",
		  "Reply bytes sent, by route class.", "route", rm_route_names,
		  rm.bytes_out, RM_NROUTES);
}

/* Read from the store at scrape time: the queue is the database's. */
static void rm_scans(struct buf *b, struct stor *st)
{
	struct stor_scan_stats s;
	struct err e = ERR_INIT;

	rm_counter(b, "customs_blobs_damaged_total",
		   "Blobs found damaged and quarantined since start.",
		   stor_blob_damage_count(st));
	if (stor_scan_stats(st, &s, &e) < 0)
		return;
	rm_head(b, "customs_scan_jobs", "gauge", "Scan jobs by state.");
	buf_addf(b,
		 "customs_scan_jobs{state=\"queued\"} %zu\n"
		 "customs_scan_jobs{state=\"running\"} %zu\n"
		 "customs_scan_jobs{state=\"waiting\"} %zu\n"
		 "customs_scan_jobs{state=\"done\"} %zu\n"
		 "customs_scan_jobs{state=\"failed\"} %zu\n",
		 s.queued, s.running, s.waiting, s.done, s.failed);
	rm_gauge(b, "customs_scan_results", "Stored scan reports.",
		 (long long)s.results);
}

static const char *const rm_layer_names[] = {
	[REG_LAYER_INDEXED] = "indexed",
	[REG_LAYER_SKIPPED] = "skipped",
	[REG_LAYER_IMAGE] = "image",
	[REG_LAYER_MERGED] = "merged",
};

static void rm_counters(struct buf *b)
{
	static const char *const decisions[] = {"denied", "allowed"};
	static const char *const gc_outcomes[] = {"failed", "ok"};
	uint64_t counts[RM_NSCANBOUNDS + 1];
	uint64_t on_report, on_request;

	rm_family(b, "customs_scans_total",
		  "Scan jobs ended since start, by outcome (failed: attempts).",
		  "outcome", rm_outcome_names, rm.scans, RM_NOUTCOMES);
	rm_head(b, "customs_scan_duration_seconds", "histogram",
		"Time a scan job took, ok or incomplete ones.");
	for (size_t i = 0; i <= RM_NSCANBOUNDS; i++)
		counts[i] = rm_load(&rm.scan_time[i]);
	rm_histogram(b, "customs_scan_duration_seconds", "", rm_scan_bounds,
		     counts, RM_NSCANBOUNDS,
		     (double)rm_load(&rm.scan_ms) / 1000.0);
	rm_family(b, "customs_scan_findings_total",
		  "Findings in the reports of scans ended since start.",
		  "severity", rm_sevs, rm.findings, RM_NSEVS);
	rm_family(b, "customs_policy_decisions_total",
		  "Manifest pulls the pull policy judged, by decision.",
		  "decision", decisions, rm.policy, 2);
	rm_family(b, "customs_gc_runs_total",
		  "Garbage collections the server ran, by outcome.", "outcome",
		  gc_outcomes, rm.gc_runs, 2);
	rm_family(b, "customs_scan_layers_total",
		  "Layers since start: read alone into an index (indexed), "
		  "found not to be layers (skipped), read as part of a "
		  "whole image (image), reports merged from indexes "
		  "(merged).",
		  "how", rm_layer_names, rm.layers, RM_NLAYERS);
	rm_counter(b, "customs_gc_freed_bytes_total",
		   "Bytes the server's garbage collections freed.",
		   rm_load(&rm.gc_bytes));
	api_ui_views_built(&on_report, &on_request);
	rm_head(b, "customs_ui_views_built_total", "counter",
		"Image views the web UI made from reports since start: as "
		"the report was stored (report), or on the first request "
		"that found none (request).");
	buf_addf(b,
		 "customs_ui_views_built_total{when=\"report\"} %llu\n"
		 "customs_ui_views_built_total{when=\"request\"} %llu\n",
		 (unsigned long long)on_report, (unsigned long long)on_request);
}

static void rm_gauges(struct buf *b, struct reg_scan *scan)
{
	char version[96] = "";
	int64_t age;

	rm_gauge(b, "customs_http_connections",
		 "Connections open (refused ones until their 503 is out).",
		 atomic_load_explicit(&rm.conns, memory_order_relaxed));
	if (scan)
		reg_scan_db_version(scan, version, sizeof(version));
	age = version[0] ? reg_db_version_age(version, time(NULL)) : -1;
	/* No DB (or an unknown age): no sample rather than a made-up one. */
	rm_head(b, "customs_vulndb_age_seconds", "gauge",
		"Age of the vulnerability DB in use.");
	if (age >= 0)
		buf_addf(b, "customs_vulndb_age_seconds %lld\n",
			 (long long)age);
}

/* --- Store, pull-through cache, feeds, sqlite ---------------------------- */

/* The blobs' count costs a pass over every link: counted again at most
 * once a minute, whoever scrapes how often. */
#define RM_BLOBS_EVERY_S 60

static struct {
	pthread_mutex_t lock;
	time_t at; /* 0: never */
	int64_t blobs, bytes;
} rm_blobs = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};

/* Counts over the metadata: omitted where the backend keeps none. */
static void rm_store(struct buf *b, struct stor *st)
{
	struct stor_meta_stats s;
	struct err e = ERR_INIT;
	time_t now = time(NULL);
	bool fresh;
	int rc;

	pthread_mutex_lock(&rm_blobs.lock);
	fresh = rm_blobs.at && now >= rm_blobs.at &&
		now - rm_blobs.at < RM_BLOBS_EVERY_S;
	rc = stor_meta_stats(st, !fresh, &s, &e);
	if (rc == 0 && !fresh) {
		rm_blobs.at = now;
		rm_blobs.blobs = s.blobs;
		rm_blobs.bytes = s.blob_bytes;
	}
	s.blobs = rm_blobs.blobs;
	s.blob_bytes = rm_blobs.bytes;
	pthread_mutex_unlock(&rm_blobs.lock);
	if (rc < 0)
		return;
	rm_gauge(b, "customs_repositories", "Repositories in the store.",
		 (long long)s.repos);
	rm_gauge(b, "customs_manifests",
		 "Manifests in the store (one per repository holding it).",
		 (long long)s.manifests);
	rm_gauge(b, "customs_blobs",
		 "Blobs linked to at least one repository (counted at most "
		 "once a minute).",
		 (long long)s.blobs);
	rm_gauge(b, "customs_blob_bytes",
		 "Bytes of the blobs linked to a repository (those whose "
		 "size was recorded at upload; at most once a minute).",
		 (long long)s.blob_bytes);
	rm_gauge(b, "customs_uploads_in_progress",
		 "Open upload sessions (started, neither finished, "
		 "cancelled nor expired).",
		 (long long)s.uploads);
}

static void rm_proxy(struct buf *b, struct reg_proxy *p)
{
	static const char *const kinds[REG_PROXY_NKINDS] = {"manifest", "blob"};
	static const char *const results[REG_PROXY_NRESULTS] = {"hit", "stale",
								"miss"};
	struct reg_proxy_stats s;

	reg_proxy_stats(p, &s);
	rm_head(b, "customs_proxy_requests_total", "counter",
		"Pulls of proxied names, by kind and by whether the store "
		"had it (hit), had it past --proxy-ttl (stale) or not (miss).");
	for (size_t k = 0; k < REG_PROXY_NKINDS; k++)
		for (size_t r = 0; r < REG_PROXY_NRESULTS; r++)
			/* A blob never changes: never stale. */
			if (k != REG_PROXY_BLOB || r != REG_PROXY_STALE)
				buf_addf(b,
					 "customs_proxy_requests_total{kind="
					 "\"%s\",result=\"%s\"} %llu\n",
					 kinds[k], results[r],
					 (unsigned long long)s.requests[k][r]);
	rm_counter(b, "customs_proxy_upstream_requests_total",
		   "Requests to upstream registries (with their redirects and "
		   "token requests).",
		   s.upstream_transfers);
	rm_head(b, "customs_proxy_upstream_errors_total", "counter",
		"Upstream requests that failed, by why.");
	for (size_t i = 0; i < REG_PROXY_NERRORS; i++)
		rm_sample(b, "customs_proxy_upstream_errors_total", "kind",
			  reg_proxy_error_name(i), s.upstream_errors[i]);
	rm_counter(b, "customs_proxy_upstream_bytes_total",
		   "Body bytes of successful upstream replies.",
		   s.upstream_bytes);
}

/* One gauge sample per feed source, labelled with its name. */
static void rm_source_sample(struct buf *b, const char *metric,
			     const char *source, long long v)
{
	buf_addf(b, "%s{source=\"", metric);
	rm_label_value(b, source);
	buf_addf(b, "\"} %lld\n", v);
}

/* The feeds of the scheduled update (--db-source): none without it. */
static void rm_sources(struct buf *b, struct reg_dbupdate *u)
{
	static const char *const names[] = {"customs_vulndb_source_records",
					    "customs_vulndb_source_age_seconds",
					    "customs_vulndb_source_failing"};
	static const char *const helps[] = {
		"Records of the feed source's last good copy.",
		"Age of the feed source's last good copy.",
		"1 when the source's last download or import failed."};
	json_t *st = u ? reg_dbupdate_status(u) : NULL;
	json_t *srcs = json_object_get(st, "sources"), *row;
	size_t i;

	for (size_t m = 0; m < 3; m++) {
		rm_head(b, names[m], "gauge", helps[m]);
		json_array_foreach(srcs, i, row) {
			const char *name =
				json_string_value(json_object_get(row, "name"));
			json_t *err = json_object_get(row, "last_error");
			json_t *v = m == 0   ? json_object_get(row, "records")
				    : m == 1 ? json_object_get(row, "age_s")
					     : NULL;

			if (!name)
				continue;
			if (m == 2)
				rm_source_sample(b, names[m], name,
						 err && !json_is_null(err));
			else if (json_is_integer(v))
				rm_source_sample(
					b, names[m], name,
					(long long)json_integer_value(v));
		}
	}
	json_decref(st);
}

static void rm_sqlite(struct buf *b)
{
	struct stor_busy_stats s;

	stor_busy_stats(&s);
	rm_counter(b, "customs_sqlite_busy_waits_total",
		   "Statements that found meta.db locked and waited.", s.waits);
	rm_counter(b, "customs_sqlite_busy_timeouts_total",
		   "Waits for meta.db's lock that ran out (the statement "
		   "failed).",
		   s.gave_up);
	rm_head(b, "customs_sqlite_busy_wait_seconds_total", "counter",
		"Time statements spent waiting for meta.db's lock.");
	buf_addf(b, "customs_sqlite_busy_wait_seconds_total %.6f\n", s.seconds);
}

/* --- Handlers ------------------------------------------------------------ */

enum reg_status reg_metrics_healthz(struct reg_call *c)
{
	reg_reply_mem(c->req, 200, "text/plain", "ok\n", 3);
	return REG_DONE;
}

enum reg_status reg_metrics_readyz(struct reg_call *c)
{
	struct stor_scan_stats s;
	struct err e = ERR_INIT;
	json_t *not = json_array();

	if (stor_scan_stats(c->ctx->st, &s, &e) < 0)
		json_array_append_new(not, json_string("db"));
	if (access(c->ctx->cfg->data, W_OK) < 0)
		json_array_append_new(not, json_string("data_dir"));
	if (atomic_load(&rm.draining))
		json_array_append_new(not, json_string("draining"));
	if (!c->ctx->scan)
		json_array_append_new(not, json_string("scan_workers"));
	if (json_array_size(not ) == 0) {
		json_decref(not );
		reg_reply_mem(c->req, 200, "text/plain", "ready\n", 6);
		return REG_DONE;
	}
	reg_reply_json(c->req, 503, json_pack("{s:o}", "not_ready", not ));
	return REG_DONE;
}

static bool rm_loopback(const char *peer)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!peer)
		return false;
	if (inet_pton(AF_INET, peer, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, peer, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

static enum reg_status rm_reply(struct reg_call *c)
{
	struct buf b;

	buf_init(&b, 0);
	rm_requests(&b);
	rm_scans(&b, c->ctx->st);
	rm_counters(&b);
	rm_gauges(&b, c->ctx->scan);
	rm_store(&b, c->ctx->st);
	rm_proxy(&b, c->ctx->proxy);
	rm_sources(&b, c->ctx->dbupdate);
	rm_sqlite(&b);
	reg_events_metrics(c->ctx->events, c->ctx->st, &b);
	reg_reply_mem(c->req, 200, "text/plain; version=0.0.4; charset=utf-8",
		      b.buf, b.len);
	buf_release(&b);
	return REG_DONE;
}

enum reg_status reg_metrics_get(struct reg_call *c)
{
	/* With auth on, the auth phase asked for admin; without, only
	 * this host may look. */
	if (!c->ctx->auth && !rm_loopback(http_req_peer(c->req))) {
		reg_reply_errorf(c->req, ERR_DENIED,
				 "metrics are for loopback callers or admins");
		return REG_DONE;
	}
	return rm_reply(c);
}

/* --metrics-listen: the three paths, to whoever reaches the address. */
void reg_metrics_dispatch(struct http_req *req, void *arg)
{
	struct reg_call c = {.ctx = arg, .req = req};
	const char *path = http_req_path(req);

	if (strcmp(path, "/metrics") && strcmp(path, "/healthz") &&
	    strcmp(path, "/readyz")) {
		reg_reply_errorf(req, ERR_NOT_FOUND,
				 "this listener serves /metrics, /healthz "
				 "and /readyz only");
		return;
	}
	if (http_req_method(req) != HTTP_M_GET) {
		http_reply_header(req, "Allow", "GET");
		reg_reply_errorf(req, ERR_UNSUPPORTED,
				 "method %s not allowed here",
				 http_req_method_name(req));
		return;
	}
	if (!strcmp(path, "/metrics"))
		rm_reply(&c);
	else if (!strcmp(path, "/healthz"))
		reg_metrics_healthz(&c);
	else
		reg_metrics_readyz(&c);
}
