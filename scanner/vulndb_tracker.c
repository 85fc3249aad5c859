/* vulndb_tracker.c: matching dpkg packages on Debian against the Debian
 * Security Tracker's data (imported by tracker.c).
 *
 * The image's release is os-release's VERSION_CODENAME, else its
 * VERSION_ID's codename.  A binary package is looked up by its source
 * package and source version ("Source: name (version)", else the binary's
 * version), compared as dpkg does.  Each (source, issue) entry of the
 * release gives at most one finding per binary package:
 *
 *   resolved, fixed_version "0"          nothing (Debian: not affected)
 *   resolved, installed >= fixed_version nothing
 *   resolved, installed <  fixed_version fixed (with the fixed version)
 *   open, nodsa_reason "ignored"         will_not_fix
 *   open, nodsa_reason "postponed"       fix_deferred
 *   open, no-dsa (nodsa_reason "")       fix_deferred
 *   open, urgency "end-of-life"          end_of_life (no security support)
 *   open                                 affected
 *   undetermined                         under_investigation
 *
 * Severity: the urgency is kept as written in vendor_severity (source
 * "debian"); severity is the urgency's rank when it has one ("low**" and
 * "high**", NVD's rank as the tracker copies it, included).  "unimportant"
 * (Debian: no security impact worth an update) is reported, as severity
 * low; "not yet assigned" and "end-of-life" leave severity to the OSV
 * record of the same id, if one was imported, else unknown.
 *
 * DSA/DLA records (OSV "Debian:12" ecosystem) and DEBIAN-CVE records name
 * the CVEs they fix.  When the tracker has an entry for such a CVE, the OSV
 * finding is folded into the tracker's (its id added to the aliases) or,
 * when the tracker says the package is not affected, dropped: one row per
 * (package, CVE).  OSV findings naming no CVE the tracker knows stay.
 */
#include "scanner/vulndb_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/xmalloc.h"
#include "scanner/version_int.h"
#include "common/banned.h"

#define TRACKER_URL "https://security-tracker.debian.org/tracker/"

struct tracker_match {
	struct vulndb *db;
	sqlite3_stmt *q_rows;
	char release[64];
};

static const char *const debian_releases[][2] = {
	{"squeeze", "6"},   {"wheezy", "7"},  {"jessie", "8"},
	{"stretch", "9"},   {"buster", "10"}, {"bullseye", "11"},
	{"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"},
	{"duke", "15"},
};

static const char *debian_release_lookup(const char *s, int from)
{
	for (size_t i = 0;
	     s && i < sizeof(debian_releases) / sizeof(*debian_releases); i++)
		if (!strcmp(s, debian_releases[i][from]))
			return debian_releases[i][!from];
	return NULL;
}

const char *debian_release_number(const char *codename)
{
	return debian_release_lookup(codename, 0);
}

const char *debian_release_codename(const char *number)
{
	return debian_release_lookup(number, 1);
}

const char *vuln_status_name(enum vuln_status s, const char *fixed)
{
	switch (s) {
	case VULN_STATUS_UNSET:
		return fixed ? "fixed" : "affected";
	case VULN_AFFECTED:
		return "affected";
	case VULN_FIXED:
		return "fixed";
	case VULN_FIX_DEFERRED:
		return "fix_deferred";
	case VULN_WILL_NOT_FIX:
		return "will_not_fix";
	case VULN_END_OF_LIFE:
		return "end_of_life";
	case VULN_UNDER_INVESTIGATION:
		return "under_investigation";
	}
	return "affected";
}

/* The release the tracker names the image's OS by, or "". */
static void tracker_os_release(const struct scan_os *os, char *out, size_t size)
{
	const char *name = os->codename;
	char major[16];

	if ((!name || !*name) && os->version_id) {
		snprintf(major, sizeof(major), "%.*s",
			 (int)strspn(os->version_id, "0123456789"),
			 os->version_id);
		name = debian_release_codename(major);
	}
	snprintf(out, size, "%s", name ? name : "");
}

int tracker_match_open(struct vulndb *db, const struct scan_os *os,
		       struct tracker_match **out, struct err *e)
{
	struct tracker_match *tm = xcalloc(1, sizeof(*tm));
	sqlite3_stmt *any = NULL;
	int rc;

	*out = NULL;
	tm->db = db;
	tracker_os_release(os, tm->release, sizeof(tm->release));
	if (!tm->release[0] || !os->id || strcmp(os->id, "debian"))
		goto none;
	if (sqlite3_prepare_v2(db->db,
			       "SELECT 1 FROM tracker WHERE release = ?1"
			       " LIMIT 1",
			       -1, &any, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(any, 1, tm->release, -1, SQLITE_STATIC) !=
		    SQLITE_OK)
		goto fail;
	rc = sqlite3_step(any);
	if (rc == SQLITE_DONE)
		goto none;
	if (rc != SQLITE_ROW)
		goto fail;
	if (sqlite3_prepare_v2(
		    db->db,
		    "SELECT i.name, i.description, t.status, t.fixed,"
		    " t.urgency, t.nodsa, t.nodsa_reason FROM tracker t"
		    " JOIN tracker_issue i ON i.id = t.issue"
		    " WHERE t.release = ?1 AND t.source = ?2 ORDER BY i.name",
		    -1, &tm->q_rows, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_finalize(any);
	*out = tm;
	return 0;
none:
	sqlite3_finalize(any);
	tracker_match_free(tm);
	return 0;
fail:
	err_set(e, ERR_DB, "tracker: %s", sqlite3_errmsg(db->db));
	sqlite3_finalize(any);
	tracker_match_free(tm);
	return -1;
}

void tracker_match_free(struct tracker_match *tm)
{
	if (!tm)
		return;
	sqlite3_finalize(tm->q_rows);
	free(tm);
}

/* One tracker row: the finding's status, or UNSET for no finding. */
static enum vuln_status tracker_status(sqlite3_stmt *st, const char *sver)
{
	const char *fixed = (const char *)sqlite3_column_text(st, 3);
	const char *urgency = (const char *)sqlite3_column_text(st, 4);
	const char *reason = (const char *)sqlite3_column_text(st, 6);

	switch (sqlite3_column_int(st, 2)) {
	case TRACKER_RESOLVED:
		if (!fixed || !strcmp(fixed, "0") ||
		    ver_cmp_dpkg(sver, fixed) >= 0)
			return VULN_STATUS_UNSET;
		return VULN_FIXED;
	case TRACKER_OPEN:
		if (reason && !strcmp(reason, "ignored"))
			return VULN_WILL_NOT_FIX;
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			return VULN_FIX_DEFERRED;
		if (urgency && !strcmp(urgency, "end-of-life"))
			return VULN_END_OF_LIFE;
		return VULN_AFFECTED;
	case TRACKER_UNDETERMINED:
		return VULN_UNDER_INVESTIGATION;
	}
	return VULN_STATUS_UNSET;
}

/* Severity, CVSS and summary of an OSV record with the same id, where
 * Debian gave none. */
static void tracker_enrich(struct tracker_match *tm, struct vuln_finding *f)
{
	sqlite3_stmt *st = tm->db->q_advisory;

	sqlite3_bind_text(st, 1, f->id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (!f->summary)
			f->summary = match_summary(sqlite3_column_text(st, 0));
		if (f->severity == SEV_UNKNOWN)
			f->severity =
				(enum vuln_severity)sqlite3_column_int(st, 3);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			f->cvss_score = sqlite3_column_double(st, 4);
		if (sqlite3_column_text(st, 5))
			f->cvss_vector = xstrdup(
				(const char *)sqlite3_column_text(st, 5));
	}
	sqlite3_reset(st);
}

static void tracker_finding(struct tracker_match *tm, sqlite3_stmt *st,
			    size_t pkg, enum vuln_status status,
			    struct vuln_finding *f)
{
	const char *urgency = (const char *)sqlite3_column_text(st, 4);
	enum vuln_severity sev = SEV_UNKNOWN;

	f->pkg = pkg;
	f->status = status;
	f->id = xstrdup((const char *)sqlite3_column_text(st, 0));
	f->aliases = xcalloc(1, sizeof(*f->aliases));
	if (status == VULN_FIXED)
		f->fixed = xstrdup((const char *)sqlite3_column_text(st, 3));
	if (urgency && vuln_severity_parse(urgency, &sev) == 0)
		f->severity = f->vendor_severity = sev;
	f->cvss_score = -1;
	f->summary = match_summary(sqlite3_column_text(st, 1));
	f->refs = xcalloc(1, sizeof(*f->refs));
	f->refs[f->nrefs++] = xasprintf(TRACKER_URL "%s", f->id);
	if (urgency) {
		f->vendor_rating = xstrdup(urgency);
		f->vendor = xstrdup("debian");
	}
	tracker_enrich(tm, f);
}

/* The CVE (or TEMP) id an OSV id or alias stands for, or NULL:
 * "CVE-2024-1" and "DEBIAN-CVE-2024-1" both give "CVE-2024-1". */
static const char *tracker_cve(const char *id)
{
	if (!strncmp(id, "DEBIAN-", 7))
		id += 7;
	if (!strncmp(id, "CVE-", 4) || !strncmp(id, "TEMP-", 5))
		return id;
	return NULL;
}

/* The tracker entries of one package: every issue it names (findings or
 * not), sorted, and the findings. */
struct tracker_set {
	char **issues;
	ssize_t *finding; /* per issue: index into f, or -1 */
	size_t nissues, ialloc;
	struct vuln_finding *f;
	size_t nf, falloc;
};

static void tracker_set_release(struct tracker_set *s)
{
	for (size_t i = 0; i < s->nissues; i++)
		free(s->issues[i]);
	free(s->issues);
	free(s->finding);
	vuln_findings_free(s->f, s->nf);
}

/* The index of id in s->issues, or -(where it would go) - 1. */
static ssize_t tracker_set_find(const struct tracker_set *s, const char *id)
{
	size_t lo = 0, hi = s->nissues;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->issues[mid], id);

		if (!c)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(ssize_t)lo - 1;
}

/* Inserts issue id at its place; with_finding: it gets a new finding,
 * returned (zeroed), else NULL. */
static struct vuln_finding *tracker_set_add(struct tracker_set *s,
					    const char *id, bool with_finding)
{
	size_t at = (size_t)(-tracker_set_find(s, id) - 1);

	if (s->nissues == s->ialloc) {
		s->ialloc = s->ialloc ? 2 * s->ialloc : 16;
		s->issues = xrealloc(s->issues, s->ialloc * sizeof(*s->issues));
		s->finding =
			xrealloc(s->finding, s->ialloc * sizeof(*s->finding));
	}
	memmove(s->issues + at + 1, s->issues + at,
		(s->nissues - at) * sizeof(*s->issues));
	memmove(s->finding + at + 1, s->finding + at,
		(s->nissues - at) * sizeof(*s->finding));
	s->issues[at] = xstrdup(id);
	s->finding[at] = -1;
	s->nissues++;
	if (!with_finding)
		return NULL;
	if (s->nf == s->falloc) {
		s->falloc = s->falloc ? 2 * s->falloc : 16;
		s->f = xrealloc(s->f, s->falloc * sizeof(*s->f));
	}
	s->finding[at] = (ssize_t)s->nf;
	memset(&s->f[s->nf], 0, sizeof(*s->f));
	return &s->f[s->nf++];
}

static void tracker_add_alias(struct vuln_finding *f, const char *id)
{
	for (size_t i = 0; i < f->naliases; i++)
		if (!strcmp(f->aliases[i], id))
			return;
	f->aliases =
		xrealloc(f->aliases, (f->naliases + 1) * sizeof(*f->aliases));
	f->aliases[f->naliases++] = xstrdup(id);
}

static char *tracker_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* A row for a CVE the tracker does not list, from OSV finding o that
 * names it next to ones it does: o's fix and details, o's id an alias. */
static void tracker_from_osv(struct vuln_finding *f,
			     const struct vuln_finding *o, const char *cve)
{
	*f = *o;
	f->id = xstrdup(cve);
	f->aliases = xcalloc(1, sizeof(*f->aliases));
	f->naliases = 0;
	tracker_add_alias(f, o->id);
	f->fixed = tracker_dup(o->fixed);
	f->cvss_vector = tracker_dup(o->cvss_vector);
	f->summary = tracker_dup(o->summary);
	f->vendor = tracker_dup(o->vendor);
	f->vendor_rating = tracker_dup(o->vendor_rating);
	f->refs = xcalloc(o->nrefs + 1, sizeof(*f->refs));
	for (size_t i = 0; i < o->nrefs; i++)
		f->refs[i] = xstrdup(o->refs[i]);
}

/* Folds OSV finding o into the tracker's findings; false (o stays as it
 * is) when it names no issue the tracker has for this package. */
static bool tracker_fold(struct tracker_set *s, const struct vuln_finding *o)
{
	bool known = false;

	for (size_t i = 0; !known && i <= o->naliases; i++) {
		const char *cve = tracker_cve(i ? o->aliases[i - 1] : o->id);

		known = cve && tracker_set_find(s, cve) >= 0;
	}
	for (size_t i = 0; known && i <= o->naliases; i++) {
		const char *cve = tracker_cve(i ? o->aliases[i - 1] : o->id);
		ssize_t k = cve ? tracker_set_find(s, cve) : -1;
		struct vuln_finding *f;

		if (cve && k < 0) {
			f = tracker_set_add(s, cve, true);
			tracker_from_osv(f, o, cve);
			continue;
		}
		if (k < 0 || s->finding[k] < 0)
			continue;
		f = &s->f[s->finding[k]];
		tracker_add_alias(f, o->id);
		if (f->severity == SEV_UNKNOWN)
			f->severity = o->severity;
	}
	return known;
}

static int tracker_collect(struct tracker_match *tm, const struct scan_pkg *p,
			   size_t pkg, struct tracker_set *s, struct err *e)
{
	sqlite3_stmt *st = tm->q_rows;
	const char *src = p->src_name ? p->src_name : p->name;
	const char *sver = p->src_version ? p->src_version : p->version;
	int rc;

	if (vulndb_bind_text(st, 1, tm->release, e) < 0 ||
	    vulndb_bind_text(st, 2, src, e) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum vuln_status status = tracker_status(st, sver);
		struct vuln_finding *f = tracker_set_add(
			s, (const char *)sqlite3_column_text(st, 0),
			status != VULN_STATUS_UNSET);

		if (f)
			tracker_finding(tm, st, pkg, status, f);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return err_set(e, ERR_DB, "tracker: %s",
			       sqlite3_errmsg(tm->db->db));
	return 0;
}

int tracker_match_pkg(struct tracker_match *tm,
		      const struct scan_inventory *inv, size_t pkg,
		      struct vuln_finding **f, size_t *n, size_t *alloc,
		      size_t first, struct err *e)
{
	const struct scan_pkg *p = &inv->pkgs[pkg];
	struct tracker_set s = {0};
	struct vuln_finding *folded;
	size_t kept = first, nfolded = 0;

	if (!tm || p->eco != ECO_DEBIAN)
		return 0;
	if (tracker_collect(tm, p, pkg, &s, e) < 0) {
		tracker_set_release(&s);
		return -1;
	}
	folded = xcalloc(*n - first + 1, sizeof(*folded));
	for (size_t i = first; i < *n; i++) {
		if (tracker_fold(&s, &(*f)[i]))
			folded[nfolded++] = (*f)[i];
		else
			(*f)[kept++] = (*f)[i];
	}
	vuln_findings_free(folded, nfolded);
	*n = kept;
	if (*n + s.nf > *alloc) {
		*alloc = *n + s.nf;
		*f = xrealloc(*f, *alloc * sizeof(**f));
	}
	memcpy(*f + *n, s.f, s.nf * sizeof(*s.f));
	*n += s.nf;
	s.nf = 0; /* moved */
	tracker_set_release(&s);
	return 0;
}
