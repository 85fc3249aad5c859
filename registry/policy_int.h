/* policy_int.h: pull policy on scan reports.
 *
 * With --deny-severity LEVEL, a manifest GET or HEAD of an image is served
 * only when its scan completed and found nothing at or above LEVEL (less
 * what --allow-vuln exempts, by id or alias).  Otherwise it is answered
 * 403 DENIED, the message naming why and the report endpoint
 * (GET /v2/<name>/_customs/scan/<digest>):
 *   - "N vulnerabilities at or above LEVEL";
 *   - "scan failed: <reason>" (failed for good, no report);
 *   - "scan incomplete: budget <name> reached" (the report's "status" is
 *     "incomplete": a budget cut it short, or a platform of an index has
 *     no report);
 *   - "still being scanned after N s": a pending scan is held up to
 *     --policy-wait seconds for its report first;
 *   - "no vulnerability data": the report was made without a DB.
 * --policy-on-scan-error allow serves the failed, incomplete (judged on
 * what was found) and pending ones; --policy-without-db allow those
 * without data.  A HEAD is judged exactly like a GET (same status and
 * headers, no body): a client's cache must not serve what a GET refuses.
 * A manifest that is not an image (artifacts, report referrers) is served.
 */
#ifndef REGISTRY_POLICY_INT_H
#define REGISTRY_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "registry/api_int.h"
#include "registry/config_int.h"
#include "storage/storage.h"

struct reg_scan;
struct reg_events;

struct reg_policy {
	int deny;     /* lowest severity refused, as enum vuln_severity;
		       * -1: no policy */
	char **allow; /* advisory ids and aliases exempted */
	size_t nallow;
	int wait_s;		   /* --policy-wait */
	bool allow_errors;	   /* --policy-on-scan-error allow */
	bool allow_without_db;	   /* --policy-without-db allow */
	struct reg_events *events; /* policy.denied; may be NULL */
};

/* From --deny-severity, --allow-vuln (repeatable, or comma-separated),
 * --policy-wait, --policy-on-scan-error and --policy-without-db.
 * ERR_INVALID for an unknown severity. */
int reg_policy_init(struct reg_policy *p, const struct cfg *cfg, struct err *e);
void reg_policy_release(struct reg_policy *p);

/* At start: warns when the policy is on and scan has no vulnerability DB
 * (every image is then refused, or served by --policy-without-db allow). */
void reg_policy_check_db(const struct reg_policy *p, struct reg_scan *scan);

/* What the short JSON of a scan result (storage's findings, see
 * rs_findings()) says to the policy. */
struct reg_policy_findings {
	long refused;	   /* findings the policy refuses */
	bool incomplete;   /* the scan was cut short */
	char why[192];	   /* if incomplete: why, e.g. "budget X reached" */
	char no_data[192]; /* OS packages no advisory source covers, or "" */
};
/* Reads findings: the current object form, or the bare array results
 * stored before it (read as complete).  -1 if it is neither. */
int reg_policy_read(const struct reg_policy *p, const char *findings,
		    struct reg_policy_findings *out);
/* Shorthand: how many findings the policy refuses; -1 if unreadable. */
long reg_policy_count(const struct reg_policy *p, const char *findings);

enum reg_policy_verdict {
	REG_POLICY_SERVE,
	REG_POLICY_DENY,    /* why says why */
	REG_POLICY_PENDING, /* queued or running: wait, then deny or serve */
	REG_POLICY_NONE,    /* no job: scan it if it is an image */
};
/* Judges a stored scan (state, error, findings, db_version) with no I/O;
 * on DENY, why[n] gets the reason (without the report URL). */
enum reg_policy_verdict reg_policy_decide(const struct reg_policy *p,
					  const struct stor_scan *sc, char *why,
					  size_t n);

/* Serves a manifest that passed: headers, body; frees m. */
typedef void (*reg_policy_serve_fn)(struct http_req *req,
				    struct stor_manifest *m);

/* The policy phase (api.h): a manifest GET or HEAD of the store's own
 * (the proxy phase took the pulled-through ones) is looked up and judged.
 *   REG_CONTINUE  served: c->manifest is the manifest judged, for the
 *                 handler (the tag may move meanwhile);
 *   REG_DONE      refused with 403 (or an error: no such manifest);
 *   REG_DEFERRED  held for its report: then refused, or the phases go on
 *                 (reg_phase_resume()) with c->manifest set.
 * Any other call: REG_CONTINUE with nothing looked up. */
enum reg_status reg_policy_phase(struct reg_call *c);

/* The same gate for a manifest GET or HEAD that found m itself (the
 * pull-through cache).  REG_CONTINUE: the caller serves m now (it keeps
 * m).  Else the policy took the request and m: REG_DONE, it replied 403
 * (or an error); REG_DEFERRED, it holds the request and will serve m with
 * serve() or refuse it later. */
enum reg_status reg_policy_gate(struct reg_call *c, struct stor_manifest *m,
				reg_policy_serve_fn serve);

#endif
