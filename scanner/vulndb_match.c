/* Matching an inventory against the vulnerability DB.
 *
 * Each package is looked up by (ecosystem, name) through an index, with
 * statements prepared once per DB handle:
 *   dpkg on Debian  "Debian:<VERSION_ID major>", source name and version
 *   dpkg on Ubuntu  "Ubuntu:<VERSION_ID>" (and its ":LTS" form; the
 *                   "Ubuntu:Pro:" streams need ESM packages and are left out)
 *   apk             "Alpine:v<major.minor>", origin name; and Alpine secdb
 *                   of release "v<major.minor>"
 *   rpm             by os-release ID (eco_rpm_osv()): Red Hat (the
 *                   streams the image's content sets name, else
 *                   "enterprise_linux:<major>", see match_rh_streams();
 *                   CentOS Linux too), Rocky Linux, AlmaLinux, openSUSE
 *                   and SUSE (PRETTY_NAME), Photon OS, Mageia, openEuler;
 *                   binary and source names.  Other rpm distributions
 *                   (CBL-Mariner, Fedora, Amazon Linux, CentOS Stream...)
 *                   have no OSV ecosystem: vulndb_match_gap() names them,
 *                   and OSes whose advisories the DB lacks.
 *   PyPI (PEP 503 names), npm, Go, Maven, crates.io: the bare ecosystem.
 * An affected[] entry counts when its ecosystem is the bare name or names
 * the image's release.  OSV semantics: a version in `versions`, or in an
 * ECOSYSTEM/SEMVER range (events sorted, "0" first; introduced / fixed /
 * last_affected / limit), is affected; entries are OR-ed; withdrawn
 * records are ignored.  Findings are unique per (package, id); each is
 * then rated by vuln_rate() (vulndb_rate.c).
 */
#include "scanner/vulndb_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scanner/eco_int.h"
#include "scanner/version_int.h"
#include "common/banned.h"

#define MATCH_MAX_STREAMS 8

struct match_query {
	const struct eco_info *ei;
	const struct eco_osv *osv;
	char release[128]; /* "" when the image's release is unknown */
	const char *names[2];
	size_t nnames;
	char *owned[2];
	const char *version;
	enum scan_eco eco;
	char secdb[128];    /* Alpine secdb release, or "" */
	const char *vendor; /* the OS's id for its packages, or NULL */
	/* Red Hat: the streams that apply ("enterprise_linux:8",
	 * "rhel_eus:8.8"), from the content sets or the major release. */
	char streams[MATCH_MAX_STREAMS][48];
	size_t nstreams;
};

struct match_out {
	struct vuln_finding *f;
	size_t n, alloc;
};

/* --- Choosing the ecosystem --------------------------------------------- */

/* The leading run of s up to the ndots'th dot ("3.18.0", 2 -> "3.18"). */
static void match_release_part(const char *s, int ndots, char *out, size_t size)
{
	size_t n = 0;

	while (s[n] && (s[n] != '.' || ndots-- > 1) && s[n] != '_')
		n++;
	snprintf(out, size, "%.*s", (int)n, s);
}

/* The release osv names, from os-release ("" when unknown). */
static void match_os_release(const struct scan_os *os,
			     const struct eco_osv *osv, char *out, size_t size)
{
	const char *src = osv->part < 0 ? os->pretty_name : os->version_id;
	char part[128];

	if (!src)
		return;
	if (osv->part > 0) {
		match_release_part(src, osv->part, part, sizeof(part));
		src = part;
	}
	snprintf(out, size, "%s%s", osv->prefix ? osv->prefix : "", src);
}

/* "openssl-3.0.7-1.el9.src.rpm" -> "openssl"; a bare name stays. */
static char *match_srpm_name(const char *src)
{
	size_t n = strlen(src);
	char *s;

	if (n < 8 || strcmp(src + n - 8, ".src.rpm"))
		return xstrdup(src);
	s = xstrndup(src, n - 8);
	for (int i = 0; i < 2; i++) {
		char *dash = strrchr(s, '-');

		if (dash && dash != s)
			*dash = '\0';
	}
	return s;
}

static void match_add_name(struct match_query *q, const char *name, char *owned)
{
	if (!name || (q->nnames && !strcmp(q->names[0], name))) {
		free(owned);
		return;
	}
	q->owned[q->nnames] = owned;
	q->names[q->nnames++] = name;
}

/* The OSV ecosystem of ei's packages on os, or NULL when none. */
static const struct eco_osv *match_osv_of(const struct eco_info *ei,
					  const struct scan_os *os)
{
	return ei->flags & ECO_OSV_BY_OS ? eco_rpm_osv(os) : &ei->osv;
}

static void match_add_stream(struct match_query *q, const char *product,
			     const char *version, size_t vlen)
{
	char s[sizeof(q->streams[0])];

	if (!vlen || q->nstreams == MATCH_MAX_STREAMS ||
	    snprintf(s, sizeof(s), "%s:%.*s", product, (int)vlen, version) >=
		    (int)sizeof(s))
		return;
	for (size_t i = 0; i < q->nstreams; i++)
		if (!strcmp(q->streams[i], s))
			return;
	memcpy(q->streams[q->nstreams++], s, sizeof(s));
}

/* One content set's Red Hat stream, if it is RHEL's:
 *   rhel-8-for-x86_64-baseos-rpms[__8]        enterprise_linux:8
 *   rhel-7-server-rpms                        enterprise_linux:7
 *   rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_8  rhel_eus:8.8
 *   rhel-9-for-x86_64-appstream-e4s-rpms      rhel_e4s:<VERSION_ID x.y>
 * as Red Hat's repository-to-cpe.json maps them (eus, aus, e4s, tus);
 * the minor release of an extended stream without "__M_DOT_m" is the
 * image's.  The repository part of the CPE is not compared: a package
 * name belongs to one repository of a release. */
static void match_rh_stream(struct match_query *q, const char *cs,
			    const struct scan_os *os)
{
	static const char *const xus[] = {"eus", "aus", "e4s", "tus"};
	const char *p = cs + 5, *end = strstr(cs, "__"), *minor = NULL;
	size_t major = strspn(p, "0123456789"), mlen = 0;
	char product[32];

	if (strncmp(cs, "rhel-", 5) || !major || p[major] != '-')
		return;
	if (!end) {
		end = cs + strlen(cs);
	} else if (strstr(end, "_DOT_")) {
		minor = end + 2;
		mlen = strlen(minor);
		/* "8_DOT_8", made "8.8" below */
		if (strspn(minor, "0123456789_DOT") != mlen)
			return;
	}
	for (size_t i = 0; i < sizeof(xus) / sizeof(*xus); i++) {
		size_t n = strlen(xus[i]);

		for (const char *t = p + major; t && t < end;
		     t = memchr(t + 1, '-', (size_t)(end - t - 1))) {
			char v[32];
			size_t vl = 0;

			if (strncmp(t + 1, xus[i], n) || t[1 + n] != '-')
				continue;
			/* RHEL 10 names its EUS stream so (Red Hat's CPE
			 * guidelines). */
			snprintf(product, sizeof(product), "%s%s",
				 strtol(p, NULL, 10) >= 10 &&
						 !strcmp(xus[i], "eus")
					 ? "enterprise_linux_"
					 : "rhel_",
				 xus[i]);
			if (minor) {
				for (size_t k = 0;
				     k < mlen && vl + 1 < sizeof(v); k++) {
					if (!strncmp(minor + k, "_DOT_", 5)) {
						v[vl++] = '.';
						k += 4;
					} else {
						v[vl++] = minor[k];
					}
				}
				match_add_stream(q, product, v, vl);
			} else if (os->version_id &&
				   strchr(os->version_id, '.')) {
				match_release_part(os->version_id, 2, v,
						   sizeof(v));
				match_add_stream(q, product, v, strlen(v));
			}
			return;
		}
	}
	match_add_stream(q, "enterprise_linux", p, major);
}

/* The Red Hat streams of inv: its content sets', else the main stream of
 * its major release (what Trivy assumes without content sets too). */
static void match_rh_streams(const struct scan_inventory *inv,
			     struct match_query *q)
{
	for (size_t i = 0; i < inv->ncontent_sets; i++)
		match_rh_stream(q, inv->content_sets[i], &inv->os);
	if (!q->nstreams && q->release[0])
		match_add_stream(q, "enterprise_linux", q->release,
				 strlen(q->release));
}

/* Fills q for p; false when nothing in the DB can apply to p. */
static bool match_query_init(const struct scan_inventory *inv,
			     const struct scan_pkg *p, struct match_query *q)
{
	const struct scan_os *os = &inv->os;
	const char *src = p->src_name ? p->src_name : p->name;
	char *s;

	memset(q, 0, sizeof(*q));
	q->ei = eco_info(p->eco);
	q->eco = p->eco;
	q->version = p->version;
	q->vendor = q->ei->flags & ECO_OS_PACKAGE ? os->id : NULL;
	q->osv = match_osv_of(q->ei, os);
	if (!q->osv || !q->osv->eco)
		return false;
	match_os_release(os, q->osv, q->release, sizeof(q->release));
	if (q->osv->rule == ECO_REL_REDHAT)
		match_rh_streams(inv, q);
	if ((q->ei->flags & ECO_CODENAME) && !os->version_id &&
	    debian_release_number(os->codename))
		snprintf(q->release, sizeof(q->release), "%s",
			 debian_release_number(os->codename));
	if ((q->ei->flags & ECO_SECDB) && os->version_id)
		snprintf(q->secdb, sizeof(q->secdb), "%s", q->release);
	if ((q->ei->flags & ECO_SOURCE_VERSION) && p->src_version)
		q->version = p->src_version;
	switch (q->ei->names) {
	case ECO_NAMES_BINARY:
		match_add_name(q, p->name, NULL);
		break;
	case ECO_NAMES_SOURCE:
		match_add_name(q, src, NULL);
		break;
	case ECO_NAMES_SRPM:
		match_add_name(q, p->name, NULL);
		if (p->src_name) {
			s = match_srpm_name(p->src_name);
			match_add_name(q, s, s);
		}
		break;
	case ECO_NAMES_PEP503:
		s = eco_pep503(p->name);
		match_add_name(q, s, s);
		break;
	}
	return q->nnames > 0 && q->version;
}

static void match_query_release(struct match_query *q)
{
	for (size_t i = 0; i < q->nnames; i++)
		free(q->owned[i]);
}

/* Red Hat's ecosystems are CPE-like, "<product>:<version>::<repository>":
 * "enterprise_linux:8::appstream" is RHEL 8's main stream (every 8.x
 * image), "rhel_eus:8.8::baseos" (and rhel_aus, rhel_e4s, rhel_tus) a
 * stream of extended support for one minor release, "ocp_tools:4.15::el9"
 * another product's.  Only the image's streams apply (q->streams): an
 * image is on an extended-support stream only when its content sets say
 * so, as Trivy and Clair read them; os-release is the same either way.
 * An image on an extended stream is not matched against the main one:
 * its fixes come later there, in versions its stream never gets.  (Red
 * Hat's guidance also asks for the main stream's records of a CVE the
 * extended stream has no fix for; that needs the CVEs of each record,
 * which the DB does not keep for Red Hat's.)  From RHEL 10 the streams
 * are "enterprise_linux:10.0" and "enterprise_linux_eus:10.2". */
static bool match_redhat(const char *stream, const struct match_query *q)
{
	static const char main_stream[] = "enterprise_linux:";

	for (size_t i = 0; i < q->nstreams; i++) {
		const char *s = q->streams[i];
		size_t n = strlen(s);

		if (strncmp(stream, s, n))
			continue;
		if (!stream[n] || stream[n] == ':')
			return true;
		/* From RHEL 10 the main stream names its minor release too
		 * ("enterprise_linux:10.0"). */
		if (stream[n] == '.' &&
		    !strncmp(s, main_stream, sizeof(main_stream) - 1) &&
		    !strchr(s, '.') &&
		    strtol(s + sizeof(main_stream) - 1, NULL, 10) >= 10)
			return true;
	}
	return false;
}

/* Does an affected[] ecosystem ("Debian:12", "Ubuntu:22.04:LTS") apply? */
static bool match_release(const struct match_query *q, const char *eco)
{
	const char *base = q->osv->eco;
	const char *suffix = eco + strlen(base);
	size_t rl = strlen(q->release);

	if (strncmp(eco, base, strlen(base)) || (*suffix && *suffix != ':'))
		return false;
	if (!*suffix)
		return q->osv->rule != ECO_REL_REDHAT;
	suffix++;
	if (q->osv->rule == ECO_REL_NONE || !rl)
		return false;
	switch (q->osv->rule) {
	case ECO_REL_EXACT:
		/* SUSE's PRETTY_NAME "SUSE Linux Enterprise Server 12" is
		 * its records' "SUSE:Linux Enterprise Server 12". */
		return !strcmp(suffix, q->release) ||
		       (q->osv->part < 0 &&
			!strncmp(q->release, base, strlen(base)) &&
			q->release[strlen(base)] == ' ' &&
			!strcmp(suffix, q->release + strlen(base) + 1));
	case ECO_REL_UBUNTU:
		return !strncmp(suffix, q->release, rl) &&
		       (!suffix[rl] || !strcmp(suffix + rl, ":LTS"));
	case ECO_REL_REDHAT:
		return match_redhat(suffix, q);
	case ECO_REL_PREFIX:
		return !strncmp(suffix, q->release, rl) &&
		       (!suffix[rl] || suffix[rl] == '-');
	case ECO_REL_NONE:
		break;
	}
	return false;
}

/* --- OSV ranges --------------------------------------------------------- */

enum ev_kind { EV_INTRODUCED, EV_FIXED, EV_LAST_AFFECTED, EV_LIMIT };

struct osv_event {
	enum ev_kind kind;
	const char *v;
	size_t idx;
};

static int match_vcmp(const struct match_query *q, bool semver, const char *a,
		      const char *b)
{
	return semver ? ver_cmp_semver(a, b) : ver_cmp(q->eco, a, b);
}

static bool ev_is_zero(const struct osv_event *ev)
{
	return ev->kind == EV_INTRODUCED && !strcmp(ev->v, "0");
}

/* Version order, "0" (introduced) first, then the order in the record. */
static int ev_cmp(const struct match_query *q, bool semver,
		  const struct osv_event *a, const struct osv_event *b)
{
	int c;

	if (ev_is_zero(a) || ev_is_zero(b))
		c = ev_is_zero(b) - ev_is_zero(a);
	else
		c = match_vcmp(q, semver, a->v, b->v);
	if (!c)
		c = a->idx < b->idx ? -1 : 1;
	return c;
}

static size_t ev_collect(json_t *events, struct osv_event *evs)
{
	static const char *const kinds[] = {"introduced", "fixed",
					    "last_affected", "limit"};
	size_t i, n = 0;
	json_t *ev;

	json_array_foreach(events, i, ev) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
			json_t *v = json_object_get(ev, kinds[k]);

			if (!json_is_string(v))
				continue;
			evs[n].kind = (enum ev_kind)k;
			evs[n].v = json_string_value(v);
			evs[n].idx = n;
			n++;
			break;
		}
	}
	return n;
}

/* Evaluates one range for q->version.  *next_fixed gets the first fixed
 * version above it (whether or not it is affected). */
static bool match_range(const struct match_query *q, json_t *range,
			const char **next_fixed)
{
	json_t *events = json_object_get(range, "events");
	bool semver = !strcmp(json_string_value(json_object_get(range, "type")),
			      "SEMVER");
	const char *v = q->version;
	bool vuln = false, limited = false, below_limit = false;
	struct osv_event *evs;
	size_t n, i, j;

	*next_fixed = NULL;
	if (!json_array_size(events))
		return false;
	evs = xmalloc(json_array_size(events) * sizeof(*evs));
	n = ev_collect(events, evs);
	for (i = 1; i < n; i++) { /* insertion sort: ranges are short */
		struct osv_event t = evs[i];

		for (j = i; j > 0 && ev_cmp(q, semver, &evs[j - 1], &t) > 0;
		     j--)
			evs[j] = evs[j - 1];
		evs[j] = t;
	}
	for (i = 0; i < n; i++) {
		switch (evs[i].kind) {
		case EV_INTRODUCED:
			if (ev_is_zero(&evs[i]) ||
			    match_vcmp(q, semver, v, evs[i].v) >= 0)
				vuln = true;
			break;
		case EV_FIXED:
			if (match_vcmp(q, semver, v, evs[i].v) >= 0)
				vuln = false;
			else if (!*next_fixed)
				*next_fixed = evs[i].v;
			break;
		case EV_LAST_AFFECTED:
			if (match_vcmp(q, semver, v, evs[i].v) > 0)
				vuln = false;
			break;
		case EV_LIMIT:
			limited = true;
			if (!strcmp(evs[i].v, "*") ||
			    match_vcmp(q, semver, v, evs[i].v) < 0)
				below_limit = true;
			break;
		}
	}
	/* The fix of an affected version is the first fix above it, unless
	 * a last_affected closes its interval first. */
	for (i = 0; vuln && i < n; i++) {
		if (evs[i].kind == EV_LAST_AFFECTED &&
		    match_vcmp(q, semver, v, evs[i].v) <= 0) {
			*next_fixed = NULL;
			break;
		}
		if (evs[i].kind == EV_FIXED &&
		    match_vcmp(q, semver, v, evs[i].v) < 0)
			break;
	}
	free(evs);
	return vuln && (!limited || below_limit);
}

static bool match_versions(const struct match_query *q, json_t *versions)
{
	size_t i;
	json_t *v;

	json_array_foreach(versions, i, v)
		if (!strcmp(json_string_value(v), q->version))
			return true;
	/* PyPI lists raw upstream strings ("0.3.2.RC1"): compare in order. */
	if (!(q->ei->flags & ECO_VERSIONS_BY_ORDER))
		return false;
	json_array_foreach(versions, i, v)
		if (!ver_cmp(q->eco, json_string_value(v), q->version))
			return true;
	return false;
}

/* Is q->version affected by one affected[] entry?  *fixed gets the fix. */
static bool match_affected(const struct match_query *q, const char *ranges,
			   const char *versions, const char **fixed,
			   json_t **keep)
{
	json_t *rs = ranges ? json_loads(ranges, 0, NULL) : NULL, *r;
	bool hit = false;
	const char *first_fix = NULL, *nf;
	size_t i;

	*fixed = NULL;
	json_array_foreach(rs, i, r) {
		if (match_range(q, r, &nf)) {
			hit = true;
			*fixed = nf;
			break;
		}
		if (!first_fix)
			first_fix = nf;
	}
	if (!hit && versions) {
		json_t *vs = json_loads(versions, 0, NULL);

		hit = match_versions(q, vs);
		json_decref(vs);
		if (hit)
			*fixed = first_fix;
	}
	*keep = rs; /* *fixed points into it */
	return hit;
}

/* --- Findings ----------------------------------------------------------- */

static char **match_strings(const char *json, size_t *n, const char *extra)
{
	json_t *a = json ? json_loads(json, 0, NULL) : NULL, *v;
	char **out = xcalloc(json_array_size(a) + 2, sizeof(*out));
	size_t i;

	*n = 0;
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			out[(*n)++] = xstrdup(json_string_value(v));
	if (extra)
		out[(*n)++] = xstrdup(extra);
	json_decref(a);
	return out;
}

static bool match_has_alnum(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z'))
			return true;
	return false;
}

/* A one-line summary: the record's summary, or the first line of its
 * details that has words in it (details may open with a "---" rule). */
char *match_summary(const unsigned char *text)
{
	const char *s = (const char *)text;

	while (s && *s) {
		size_t n;

		while (*s == ' ' || *s == '\t')
			s++;
		n = strcspn(s, "\r\n");
		if (match_has_alnum(s, n))
			return xstrndup(s, n > 240 ? 240 : n);
		s += n;
		s += strspn(s, "\r\n");
	}
	return NULL;
}

struct match_hit {
	size_t pkg;
	const char *id, *fixed, *aliases, *refs, *extra_ref, *vector;
	const unsigned char *summary;
	enum vuln_severity sev;
	double score;
	enum vuln_severity vendor_sev;
	const char *vendor;
};

/* Adds a finding unless the package has one with this id already. */
static void match_emit(struct match_out *out, size_t first,
		       const struct match_hit *h)
{
	struct vuln_finding *f;

	for (size_t i = first; i < out->n; i++) {
		if (strcmp(out->f[i].id, h->id))
			continue;
		if (!out->f[i].fixed && h->fixed)
			out->f[i].fixed = xstrdup(h->fixed);
		return;
	}
	if (out->n == out->alloc) {
		out->alloc = out->alloc ? 2 * out->alloc : 16;
		out->f = xrealloc(out->f, out->alloc * sizeof(*out->f));
	}
	f = &out->f[out->n++];
	memset(f, 0, sizeof(*f));
	f->pkg = h->pkg;
	f->id = xstrdup(h->id);
	f->fixed = h->fixed ? xstrdup(h->fixed) : NULL;
	f->aliases = match_strings(h->aliases, &f->naliases, NULL);
	f->refs = match_strings(h->refs, &f->nrefs, h->extra_ref);
	f->adv_severity = h->sev;
	f->vendor_severity = h->vendor ? h->vendor_sev : SEV_UNKNOWN;
	f->vendor = h->vendor && h->vendor_sev != SEV_UNKNOWN
			    ? xstrdup(h->vendor)
			    : NULL;
	f->cvss_score = h->score;
	f->cvss_vector = h->vector ? xstrdup(h->vector) : NULL;
	f->summary = match_summary(h->summary);
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static int match_osv(struct vulndb *db, const struct match_query *q,
		     const char *name, size_t pkg, struct match_out *out,
		     size_t first, struct err *e)
{
	sqlite3_stmt *st = db->q_affected;
	int rc;

	if (vulndb_bind_text(st, 1, q->osv->eco, e) < 0 ||
	    vulndb_bind_text(st, 2, name, e) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct match_hit h;
		json_t *keep = NULL;
		const char *fixed;

		if (!match_release(q, col_text(st, 4)))
			continue;
		if (match_affected(q, col_text(st, 5), col_text(st, 6), &fixed,
				   &keep)) {
			h.pkg = pkg;
			h.id = col_text(st, 0);
			h.summary = sqlite3_column_text(st, 1);
			h.aliases = col_text(st, 2);
			h.refs = col_text(st, 3);
			h.extra_ref = NULL;
			h.fixed = fixed;
			h.sev = (enum vuln_severity)sqlite3_column_int(st, 7);
			h.score = sqlite3_column_type(st, 8) == SQLITE_NULL
					  ? -1
					  : sqlite3_column_double(st, 8);
			h.vector = col_text(st, 9);
			h.vendor_sev =
				(enum vuln_severity)sqlite3_column_int(st, 10);
			h.vendor = q->vendor;
			match_emit(out, first, &h);
		}
		json_decref(keep);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return err_set(e, ERR_DB, "match: %s", sqlite3_errmsg(db->db));
	return 0;
}

/* The details of an advisory with this id, if one was imported (an OSV
 * CVE record gives a secdb finding its summary and severity). */
static void match_secdb_enrich(struct vulndb *db, struct match_hit *h)
{
	sqlite3_stmt *st = db->q_advisory;

	sqlite3_bind_text(st, 1, h->id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		h->summary = sqlite3_column_text(st, 0);
		h->aliases = col_text(st, 1);
		h->refs = col_text(st, 2);
		h->sev = (enum vuln_severity)sqlite3_column_int(st, 3);
		h->score = sqlite3_column_type(st, 4) == SQLITE_NULL
				   ? -1
				   : sqlite3_column_double(st, 4);
		h->vector = col_text(st, 5);
	}
}

/* secdb: affected by X when X is listed under a fixed version K != "0"
 * and installed < K; the fix is the smallest such K.  Rows come ordered
 * by id. */
static int match_secdb(struct vulndb *db, const struct match_query *q,
		       const char *name, size_t pkg, struct match_out *out,
		       size_t first, struct err *e)
{
	sqlite3_stmt *st = db->q_secfix;
	char *id = NULL, *fix = NULL;
	int rc;

	if (vulndb_bind_text(st, 1, q->secdb, e) < 0 ||
	    vulndb_bind_text(st, 2, name, e) < 0)
		return -1;
	for (;;) {
		const char *k = NULL, *x = NULL;

		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			k = col_text(st, 0);
			x = col_text(st, 1);
		}
		if (id && (!x || strcmp(x, id))) {
			struct match_hit h = {.pkg = pkg,
					      .id = id,
					      .fixed = fix,
					      .sev = SEV_UNKNOWN,
					      .score = -1};
			char *ref = xasprintf(
				"https://security.alpinelinux.org/vuln/%s", id);

			match_secdb_enrich(db, &h);
			h.extra_ref = ref;
			match_emit(out, first, &h);
			sqlite3_reset(db->q_advisory);
			free(ref);
			free(id);
			free(fix);
			id = fix = NULL;
		}
		if (rc != SQLITE_ROW)
			break;
		if (!strcmp(k, "0") || ver_cmp_apk(q->version, k) >= 0)
			continue;
		if (!id) {
			id = xstrdup(x);
			fix = xstrdup(k);
		} else if (ver_cmp_apk(k, fix) < 0) {
			free(fix);
			fix = xstrdup(k);
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return err_set(e, ERR_DB, "match: %s", sqlite3_errmsg(db->db));
	return 0;
}

static int match_pkg(struct vulndb *db, const struct scan_inventory *inv,
		     size_t pkg, struct tracker_match *tm,
		     struct match_out *out, struct err *e)
{
	struct match_query q;
	size_t first = out->n;
	int ret = 0;

	if (!match_query_init(inv, &inv->pkgs[pkg], &q)) {
		match_query_release(&q);
		return 0;
	}
	for (size_t i = 0; !ret && i < q.nnames; i++) {
		ret = match_osv(db, &q, q.names[i], pkg, out, first, e);
		if (!ret && q.secdb[0])
			ret = match_secdb(db, &q, q.names[i], pkg, out, first,
					  e);
	}
	if (!ret)
		ret = tracker_match_pkg(tm, inv, pkg, &out->f, &out->n,
					&out->alloc, first, e);
	match_query_release(&q);
	return ret;
}

/* Whether db holds any advisory of the OS ecosystem osv of ei's packages:
 * OSV records, or Alpine's secdb, or the Debian Security Tracker's data.
 * A DB that cannot say holds none (the image is then not taken as
 * clean). */
static bool match_held(struct vulndb *db, const struct eco_info *ei,
		       const struct eco_osv *osv)
{
	sqlite3_stmt *st = db->q_held;
	bool held;

	if (sqlite3_bind_text(st, 1, osv->eco, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
	    sqlite3_bind_int(st, 2, (ei->flags & ECO_SECDB) != 0) !=
		    SQLITE_OK ||
	    sqlite3_bind_int(st, 3, (ei->flags & ECO_TRACKER) != 0) !=
		    SQLITE_OK)
		return false;
	held = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return held;
}

char *vulndb_match_gap(struct vulndb *db, const struct scan_inventory *inv)
{
	const struct scan_os *os = &inv->os;
	const struct eco_osv *last = NULL, *missing = NULL;
	const char *type = NULL;
	bool last_held = false;
	size_t n = 0;

	for (size_t i = 0; i < inv->npkgs; i++) {
		const struct eco_info *ei = eco_info(inv->pkgs[i].eco);
		const struct eco_osv *osv = match_osv_of(ei, os);

		if (!(ei->flags & ECO_OS_PACKAGE))
			continue;
		if (osv && osv->eco && db) {
			if (osv != last) {
				last = osv;
				last_held = match_held(db, ei, osv);
			}
			if (last_held)
				continue;
			missing = osv;
		} else if (osv && osv->eco) {
			continue;
		}
		n++;
		type = ei->purl_type;
	}
	if (!n)
		return NULL;
	return xasprintf(
		"%s %s%s%s: %s%s%sits %zu %s package%s %s not matched",
		SCAN_NO_SOURCE, os->id ? os->id : "an OS without os-release",
		os->version_id ? " " : "", os->version_id ? os->version_id : "",
		missing ? "the vulnerability DB holds no " : "",
		missing ? missing->eco : "", missing ? " advisories, so " : "",
		n, type, n == 1 ? "" : "s", n == 1 ? "was" : "were");
}

char *vulndb_match_other(const struct scan_inventory *inv)
{
	const struct scan_os *os = &inv->os;
	const struct eco_osv *osv = eco_rpm_osv(os);
	char rel[128] = "";
	size_t n = 0;

	if (!eco_rpm_rebuild(os))
		return NULL;
	for (size_t i = 0; i < inv->npkgs; i++)
		if (eco_info(inv->pkgs[i].eco)->flags & ECO_OSV_BY_OS)
			n++;
	if (!n)
		return NULL;
	match_os_release(os, osv, rel, sizeof(rel));
	return xasprintf(
		"%s: the %zu rpm package%s of %s%s%s %s matched "
		"against %s's for release %s, as a rebuild's "
		"versions track those of the distribution it "
		"rebuilds",
		SCAN_OTHER_SOURCE, n, n == 1 ? "" : "s", os->id,
		os->version_id ? " " : "", os->version_id ? os->version_id : "",
		n == 1 ? "was" : "were", osv->eco, rel[0] ? rel : "unknown");
}

int vulndb_match(struct vulndb *db, const struct scan_inventory *inv,
		 struct vuln_finding **out, size_t *count, struct err *e)
{
	struct match_out mo = {NULL, 0, 0};
	struct tracker_match *tm;

	if (tracker_match_open(db, &inv->os, &tm, e) < 0)
		return -1;
	for (size_t i = 0; i < inv->npkgs; i++) {
		if (match_pkg(db, inv, i, tm, &mo, e) < 0) {
			tracker_match_free(tm);
			vuln_findings_free(mo.f, mo.n);
			return -1;
		}
	}
	tracker_match_free(tm);
	if (vuln_rate(db, mo.f, mo.n, e) < 0) {
		vuln_findings_free(mo.f, mo.n);
		return -1;
	}
	*out = mo.f;
	*count = mo.n;
	return 0;
}

void vuln_findings_free(struct vuln_finding *f, size_t count)
{
	for (size_t i = 0; f && i < count; i++) {
		free(f[i].id);
		for (size_t j = 0; j < f[i].naliases; j++)
			free(f[i].aliases[j]);
		free(f[i].aliases);
		free(f[i].fixed);
		free(f[i].cvss_vector);
		free(f[i].vendor);
		free(f[i].vendor_rating);
		vuln_cvss_free(f[i].cvss, f[i].ncvss);
		free(f[i].summary);
		for (size_t j = 0; j < f[i].nrefs; j++)
			free(f[i].refs[j]);
		free(f[i].refs);
	}
	free(f);
}

int vulndb_match_prepare(struct vulndb *db, struct err *e)
{
	static const char affected_sql[] =
		"SELECT a.vid, coalesce(a.summary, substr(a.details, 1, 400)),"
		" a.aliases, a.refs, f.ecosystem, f.ranges, f.versions,"
		" f.severity, f.cvss_score, f.cvss_vector, f.vendor_sev"
		" FROM affected f JOIN advisory a ON a.id = f.adv"
		" WHERE f.eco_base = ?1 AND f.name = ?2"
		" AND a.withdrawn IS NULL ORDER BY a.vid, f.rowid";
	static const char secfix_sql[] =
		"SELECT fixed, vid FROM secfix WHERE distro = ?1 AND name = ?2"
		" ORDER BY vid";
	static const char advisory_sql[] =
		"SELECT coalesce(summary, substr(details, 1, 400)), aliases,"
		" refs, severity, cvss_score, cvss_vector FROM advisory"
		" WHERE vid = ?1 AND withdrawn IS NULL";
	static const char held_sql[] =
		"SELECT EXISTS (SELECT 1 FROM affected WHERE eco_base = ?1)"
		" OR (?2 AND EXISTS (SELECT 1 FROM secfix))"
		" OR (?3 AND EXISTS (SELECT 1 FROM tracker))";
	static const char nvd_sql[] =
		"SELECT version, vector, score, severity, source, type, rank"
		" FROM nvd_cvss WHERE cve = ?1 ORDER BY version DESC";

	if (sqlite3_prepare_v2(db->db, affected_sql, -1, &db->q_affected,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->db, secfix_sql, -1, &db->q_secfix, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(db->db, advisory_sql, -1, &db->q_advisory,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->db, nvd_sql, -1, &db->q_nvd, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(db->db, held_sql, -1, &db->q_held, NULL) !=
		    SQLITE_OK)
		return err_set(e, ERR_DB, "prepare: %s",
			       sqlite3_errmsg(db->db));
	return 0;
}
