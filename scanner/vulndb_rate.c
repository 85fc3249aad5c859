/* vulndb_rate.c: the severity a finding shows.
 *
 * A finding may have three ratings: the distribution's own for its
 * packages (Ubuntu priority, Debian urgency), NVD's CVSS for its CVE, and
 * the advisory's own (its CVSS vector or a word such as GHSA's).  As
 * Trivy and Clair do, the vendor's comes first: it rates the package as
 * that distribution builds it; then NVD's; then the advisory's; else
 * "unknown".  VULN_PREFER_NVD puts NVD's first.
 *
 * NVD's rating of a CVE is its v4.0 metric, else the better ranked of
 * v3.1 and v3.0 (nvd.c's ranks; v3.1 on a tie), else v2 (whose bands have
 * no critical).  A finding whose id is not a CVE (DSA, USN, GHSA...) takes
 * the CVE among its aliases that NVD rates highest.
 */
#include "scanner/vulndb_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scanner/cvss_int.h"
#include "common/banned.h"

#define RATE_NVD_ROWS 4 /* one per CVSS version */

struct rate_nvd {
	struct vuln_cvss c[RATE_NVD_ROWS];
	int rank[RATE_NVD_ROWS];
	size_t n;
	enum vuln_severity sev; /* NVD's rating, SEV_UNKNOWN if none */
};

/* Frees what one rating owns (not the rating itself). */
static void cvss_release(struct vuln_cvss *c)
{
	free(c->vector);
	free(c->cve);
	free(c->assigner);
	free(c->type);
}

void vuln_cvss_free(struct vuln_cvss *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		cvss_release(&c[i]);
	free(c);
}

static void rate_nvd_release(struct rate_nvd *r)
{
	for (size_t i = 0; i < r->n; i++)
		cvss_release(&r->c[i]);
	memset(r, 0, sizeof(*r));
}

static char *rate_col(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s ? xstrdup((const char *)s) : NULL;
}

/* NVD's rating of one CVE from its rows (v4.0, v3.x, v2, in that order). */
static enum vuln_severity rate_nvd_pick(const struct rate_nvd *r)
{
	int v3 = -1;

	for (size_t i = 0; i < r->n; i++) {
		const char *v = r->c[i].version;

		if (!strcmp(v, "4.0"))
			return r->c[i].severity;
		if (v[0] == '3' && (v3 < 0 || r->rank[i] > r->rank[v3] ||
				    (r->rank[i] == r->rank[v3] &&
				     strcmp(v, r->c[v3].version) > 0)))
			v3 = (int)i;
	}
	if (v3 >= 0)
		return r->c[v3].severity;
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->c[i].version, "2.0"))
			return r->c[i].severity;
	return SEV_UNKNOWN;
}

/* Reads NVD's rows for cve into *r (emptied first). */
static int rate_nvd_read(struct vulndb *db, const char *cve, struct rate_nvd *r,
			 struct err *e)
{
	sqlite3_stmt *st = db->q_nvd;
	int rc;

	rate_nvd_release(r);
	if (vulndb_bind_text(st, 1, cve, e) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->n < RATE_NVD_ROWS) {
		struct vuln_cvss *c = &r->c[r->n];

		snprintf(c->version, sizeof(c->version), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		c->vector = rate_col(st, 1);
		c->score = sqlite3_column_double(st, 2);
		c->severity = (enum vuln_severity)sqlite3_column_int(st, 3);
		c->assigner = rate_col(st, 4);
		c->type = rate_col(st, 5);
		c->cve = xstrdup(cve);
		c->nvd = true;
		r->rank[r->n++] = sqlite3_column_int(st, 6);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return err_set(e, ERR_DB, "nvd lookup: %s",
			       sqlite3_errmsg(db->db));
	r->sev = rate_nvd_pick(r);
	return 0;
}

static bool rate_is_cve(const char *id)
{
	return !strncmp(id, "CVE-", 4);
}

/* NVD's data for f: its own id if a CVE, else its CVE alias rated
 * highest.  *best is left empty when NVD has nothing. */
static int rate_nvd(struct vulndb *db, const struct vuln_finding *f,
		    struct rate_nvd *best, struct err *e)
{
	struct rate_nvd cur = {0};
	int ret = 0;

	if (rate_is_cve(f->id))
		return rate_nvd_read(db, f->id, best, e);
	for (size_t i = 0; i < f->naliases; i++) {
		if (!rate_is_cve(f->aliases[i]))
			continue;
		if (rate_nvd_read(db, f->aliases[i], &cur, e) < 0) {
			ret = -1;
			break;
		}
		if (cur.n && (!best->n || cur.sev > best->sev)) {
			rate_nvd_release(best);
			*best = cur;
			memset(&cur, 0, sizeof(cur));
		}
	}
	rate_nvd_release(&cur);
	return ret;
}

/* f->cvss: NVD's rows, then the advisory's own vector. */
static void rate_cvss_list(struct vuln_finding *f, struct rate_nvd *nvd)
{
	size_t n = nvd->n + (f->cvss_vector ? 1 : 0);

	vuln_cvss_free(f->cvss, f->ncvss);
	f->cvss = n ? xcalloc(n, sizeof(*f->cvss)) : NULL;
	f->ncvss = n;
	if (nvd->n)
		memcpy(f->cvss, nvd->c, nvd->n * sizeof(*nvd->c));
	nvd->n = 0; /* moved */
	if (f->cvss_vector) {
		struct vuln_cvss *c = &f->cvss[n - 1];
		struct cvss_score cs;

		/* osv.c stores only vectors cvss_compute() reads. */
		if (cvss_compute(f->cvss_vector, &cs, NULL) == 0)
			snprintf(c->version, sizeof(c->version), "%d.%d",
				 cs.major, cs.minor);
		c->vector = xstrdup(f->cvss_vector);
		c->score = f->cvss_score;
		c->severity = f->adv_severity;
	}
}

int vuln_rate(struct vulndb *db, struct vuln_finding *f, size_t n,
	      struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct rate_nvd nvd = {0};
		bool vendor = f[i].vendor_severity != SEV_UNKNOWN;
		bool by_nvd;

		if (rate_nvd(db, &f[i], &nvd, e) < 0) {
			rate_nvd_release(&nvd);
			return -1;
		}
		by_nvd = nvd.sev != SEV_UNKNOWN &&
			 (!vendor || db->pref == VULN_PREFER_NVD);
		if (by_nvd) {
			f[i].severity = nvd.sev;
			f[i].severity_source = SEVSRC_NVD;
		} else if (vendor) {
			f[i].severity = f[i].vendor_severity;
			f[i].severity_source = SEVSRC_VENDOR;
		} else if (f[i].adv_severity != SEV_UNKNOWN) {
			f[i].severity = f[i].adv_severity;
			f[i].severity_source = SEVSRC_ADVISORY;
		} else {
			f[i].severity = SEV_UNKNOWN;
			f[i].severity_source = SEVSRC_UNKNOWN;
		}
		rate_cvss_list(&f[i], &nvd);
		rate_nvd_release(&nvd);
	}
	return 0;
}
