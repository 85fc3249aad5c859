/* ct.h: the conformance harness: tests, checks, HTTP requests, helpers.
 *
 * The suite is independent of customs (it must judge any registry), so it
 * links only libcurl, jansson and libcrypto and shares no code with the
 * server.
 *
 * A test is a function `void fn(struct ct *t)`.  Everything a test allocates
 * through this API (responses, strings, JSON) belongs to the test and is
 * freed when it ends, so a test may simply return on failure.  The first
 * failure message is kept (curl's Curl_failf): later checks that fail as a
 * consequence do not hide the cause.
 */
#ifndef CONFORMANCE_CT_H
#define CONFORMANCE_CT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* "sha512:" + 128 hex + NUL */
#define CT_DIGEST_MAX 136

struct ct_cfg {
	char *base;	   /* "http://host:port", no trailing slash */
	char *hostport;	   /* "host:port", for the client tools */
	char *ns;	   /* repository the tests push to */
	char *ns2;	   /* the cross-mount repository */
	char *user, *pass; /* OCI_USERNAME / OCI_PASSWORD, or NULL */
	char run[9];	   /* random hex: makes tags unique per run */
	char *clients_dir; /* conformance/clients */
	char *work;	   /* scratch directory of this run */
	bool strict;	   /* optional features count as required (customs) */
	int verbose;
};

enum ct_result { CT_PASS, CT_FAIL, CT_SKIP };

struct ct;
typedef void (*ct_fn)(struct ct *t);

struct ct_test {
	const char *name;    /* "<group>/<what>", e.g. "push/chunked" */
	const char *section; /* what it checks and where that is written */
	ct_fn fn;
};

/* Test tables, each ended by an entry with name NULL. */
extern const struct ct_test ct_base_tests[];
extern const struct ct_test ct_pull_tests[];
extern const struct ct_test ct_push_tests[];
extern const struct ct_test ct_upload_tests[];
extern const struct ct_test ct_manifest_tests[];
extern const struct ct_test ct_discovery_tests[];
extern const struct ct_test ct_referrers_tests[];
extern const struct ct_test ct_management_tests[];
extern const struct ct_test ct_compat_tests[];
extern const struct ct_test ct_client_tests[];

/* --- results ------------------------------------------------------------ */

const struct ct_cfg *ct_cfg(const struct ct *t);
/* Records a failure (the first one wins) and returns -1. */
int ct_fail(struct ct *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Marks the test skipped with a reason (unless it already failed). */
void ct_skip(struct ct *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool ct_failed(const struct ct *t);
/* Adds a line to the test's transcript (shown with failures, in JUnit). */
void ct_note(struct ct *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Fails and returns from the calling test when cond is false. */
#define CT_CHECK(t, cond, ...)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			ct_fail((t), __VA_ARGS__);                             \
			return;                                                \
		}                                                              \
	} while (0)
/* For helpers that return int: the call already recorded the failure. */
#define CT_TRY(expr)                                                           \
	do {                                                                   \
		if ((expr) < 0)                                                \
			return;                                                \
	} while (0)

/* --- test-owned memory -------------------------------------------------- */

/* Hands p to the test: free_fn(p) runs when the test ends.  Returns p. */
void *ct_keep(struct ct *t, void *p, void (*free_fn)(void *));
char *ct_strdup(struct ct *t, const char *s);
char *ct_printf(struct ct *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* n random bytes (never fails). */
unsigned char *ct_random(struct ct *t, size_t n);

/* --- HTTP --------------------------------------------------------------- */

struct ct_header {
	char *name;
	char *value;
};

struct ct_resp {
	long status; /* 0 when the request failed at the transport level */
	const char *method;
	char *url; /* the absolute URL that was asked */
	struct ct_header *hdrs;
	size_t nhdrs;
	char *body; /* NUL-terminated for convenience; len excludes it */
	size_t len;
};

enum ct_req_flags {
	CT_STREAM = 1 << 0, /* send the body with Transfer-Encoding: chunked */
	CT_EXPECT = 1 << 1, /* send Expect: 100-continue */
};

/* Sends one request.  url is absolute or a path on the registry.  hdrs is a
 * NULL-terminated list of "Name: value" lines, or NULL.  POST, PUT and PATCH
 * always carry a body (len 0 gives Content-Length: 0).  Never returns NULL:
 * a transport error is recorded as a failure and gives status 0.  401
 * replies are answered once with OCI_USERNAME/OCI_PASSWORD (Basic, or a
 * Bearer token from the challenge's realm). */
struct ct_resp *ct_do(struct ct *t, const char *method, const char *url,
		      const char *const *hdrs, const void *body, size_t len,
		      unsigned flags);
/* Shorthands without headers and body. */
struct ct_resp *ct_get(struct ct *t, const char *url);
struct ct_resp *ct_head(struct ct *t, const char *url);

/* First header of that name (case-insensitive), or NULL. */
const char *ct_hdr(const struct ct_resp *r, const char *name);
/* Header values of that name joined with ", " (NULL if none). */
const char *ct_hdr_all(struct ct *t, const struct ct_resp *r, const char *name);
/* Location resolved against the request URL (relative or absolute are both
 * fine); fails the test and returns NULL when it is missing. */
char *ct_location(struct ct *t, const struct ct_resp *r);
/* The rel="next" target of the Link header, resolved; NULL if none. */
char *ct_link_next(struct ct *t, const struct ct_resp *r);
/* url with "name=value" appended as a query parameter ('?' or '&'). */
char *ct_url_param(struct ct *t, const char *url, const char *param);
/* Makes url absolute (a path is taken relative to the registry). */
char *ct_url(struct ct *t, const char *url);
/* "METHOD /path?query" of the request, for messages. */
const char *ct_what(struct ct *t, const struct ct_resp *r);

/* Checks the status is one of `statuses` ("202" or "201|202"). */
int ct_status(struct ct *t, const struct ct_resp *r, const char *statuses);
/* An error reply: status in `statuses` and, except for HEAD, a body in the
 * spec's error format (§Error Codes) with a code in `codes` ("A|B").
 * With body_optional a non-JSON body is accepted (the spec lets a 4xx carry
 * any body); a JSON one must still be well formed. */
int ct_error(struct ct *t, const struct ct_resp *r, const char *statuses,
	     const char *codes, bool body_optional);
/* Parses the body as JSON; fails the test on error.  Owned by the test. */
json_t *ct_json(struct ct *t, const struct ct_resp *r);
/* Compact JSON text (keys in insertion order), owned by the test. */
char *ct_dump(struct ct *t, json_t *j);
/* Takes a reference (for json_pack results) and returns j. */
json_t *ct_jkeep(struct ct *t, json_t *j);

/* --- digests ------------------------------------------------------------ */

/* out = "alg:hex" of data; alg is "sha256" or "sha512". */
void ct_digest(const char *alg, const void *data, size_t len,
	       char out[CT_DIGEST_MAX]);
char *ct_digest_s(struct ct *t, const char *alg, const void *data, size_t len);
/* A digest of random bytes: content nobody pushed. */
char *ct_digest_unknown(struct ct *t);
bool ct_is_digest(const char *s);

/* UTF-8 text without control characters (other than \t, \n, \r); data
 * must be NUL-terminated (as response bodies are). */
bool ct_is_text(const void *data, size_t len);

/* --- running ------------------------------------------------------------ */

struct ct_http;
struct ct_http *ct_http_new(const struct ct_cfg *cfg);
void ct_http_free(struct ct_http *h);

struct ct_run_opts {
	const char *junit;   /* path or NULL */
	const char *only;    /* extended regex on test names, or NULL */
	const char *exclude; /* extended regex on test names, or NULL */
	bool list;	     /* print the tests and their sections */
};
/* Runs the selected tests in table order, prints one line per test and the
 * summary line; returns the number of failures (-1 on a setup error). */
int ct_run_all(const struct ct_cfg *cfg, const struct ct_run_opts *o);

#endif
