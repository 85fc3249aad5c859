/* policy.h: pull policy on scan reports.
 *
 * With --deny-severity LEVEL, a manifest GET of an image whose report has
 * findings at or above LEVEL (less those --allow-vuln exempts, by id or
 * alias) is answered 403 DENIED, naming the count and the report
 * endpoint.  A manifest whose scan is still pending is held up to
 * --policy-wait seconds for its report instead of being refused at once;
 * still pending then, it is refused.  A manifest that is not an image
 * (artifacts, report referrers) or whose scan failed for good is served.
 * HEAD requests are not gated: they carry no content.
 */
#ifndef REGISTRY_POLICY_H
#define REGISTRY_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "registry/config.h"
#include "storage/storage.h"

struct reg_call;
struct http_req;

struct reg_policy {
	int deny;     /* lowest severity refused, as enum vuln_severity;
		       * -1: no policy */
	char **allow; /* advisory ids and aliases exempted */
	size_t nallow;
	int wait_s; /* --policy-wait */
};

/* From --deny-severity, --allow-vuln (repeatable, or comma-separated) and
 * --policy-wait.  ERR_INVALID for an unknown severity. */
int reg_policy_init(struct reg_policy *p, const struct cfg *cfg, struct err *e);
void reg_policy_release(struct reg_policy *p);

/* How many findings (the short JSON of storage's scan results) the policy
 * refuses; -1 if findings is not such JSON. */
long reg_policy_count(const struct reg_policy *p, const char *findings);

/* Serves a manifest that passed: headers, body; frees m. */
typedef void (*reg_policy_serve_fn)(struct http_req *req,
				    struct stor_manifest *m);

/* Called by a manifest GET with the manifest found.  Returns false when
 * the caller may serve m now.  Returns true when the policy has taken the
 * request and m: it has replied 403 (or an error), or holds the request
 * and will either serve m with serve() or refuse it later. */
bool reg_policy_gate(struct reg_call *c, struct stor_manifest *m,
		     reg_policy_serve_fn serve);

#endif
