/* OSV records (https://ossf.github.io/osv-schema/) into the vulnerability
 * DB.  A record is checked for the shapes we rely on; one that does not
 * have them is skipped whole and named in the log, never half stored. */
#include "scanner/vulndb_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "scanner/cvss_int.h"
#include "scanner/eco_int.h"
#include "common/banned.h"

/* Why a record is malformed; set by the checks below. */
struct osv_why {
	char msg[160];
};

static bool osv_bad(struct osv_why *w, const char *msg)
{
	snprintf(w->msg, sizeof(w->msg), "%s", msg);
	return false;
}

static bool osv_opt_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return !v || json_is_string(v) || json_is_null(v);
}

static bool osv_string_array(json_t *a)
{
	size_t i;
	json_t *v;

	if (!a || json_is_null(a))
		return true;
	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, v)
		if (!json_is_string(v))
			return false;
	return true;
}

static bool osv_check_event(json_t *ev)
{
	static const char *const kinds[] = {"introduced", "fixed",
					    "last_affected", "limit"};
	int n = 0;

	if (!json_is_object(ev))
		return false;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
		json_t *v = json_object_get(ev, kinds[k]);

		if (!v)
			continue;
		if (!json_is_string(v))
			return false;
		n++;
	}
	return n == 1;
}

static bool osv_check_affected(json_t *af, struct osv_why *w)
{
	json_t *pkg, *ranges, *r;
	size_t i, j;

	if (!json_is_object(af))
		return osv_bad(w, "affected[] entry is not an object");
	pkg = json_object_get(af, "package");
	if (pkg && !json_is_null(pkg) &&
	    (!json_is_object(pkg) ||
	     !json_is_string(json_object_get(pkg, "ecosystem")) ||
	     !json_is_string(json_object_get(pkg, "name"))))
		return osv_bad(w, "package needs string ecosystem and name");
	if (!osv_string_array(json_object_get(af, "versions")))
		return osv_bad(w, "versions is not an array of strings");
	ranges = json_object_get(af, "ranges");
	if (!ranges || json_is_null(ranges))
		return true;
	if (!json_is_array(ranges))
		return osv_bad(w, "ranges is not an array");
	json_array_foreach(ranges, i, r) {
		json_t *events = json_object_get(r, "events"), *ev;

		if (!json_is_object(r) ||
		    !json_is_string(json_object_get(r, "type")))
			return osv_bad(w, "range without a type");
		if (!json_is_array(events))
			return osv_bad(w, "range without events");
		json_array_foreach(events, j, ev)
			if (!osv_check_event(ev))
				return osv_bad(w, "bad range event");
	}
	return true;
}

static bool osv_check(json_t *rec, struct osv_why *w)
{
	json_t *v, *af;
	size_t i;

	if (!json_is_object(rec))
		return osv_bad(w, "not a JSON object");
	v = json_object_get(rec, "id");
	if (!json_is_string(v) || !json_string_length(v))
		return osv_bad(w, "no id");
	if (json_string_length(v) > 256)
		return osv_bad(w, "id too long");
	if (!osv_opt_string(rec, "summary") ||
	    !osv_opt_string(rec, "details") ||
	    !osv_opt_string(rec, "modified") ||
	    !osv_opt_string(rec, "published") ||
	    !osv_opt_string(rec, "withdrawn"))
		return osv_bad(w, "a text field is not a string");
	if (!osv_string_array(json_object_get(rec, "aliases")) ||
	    !osv_string_array(json_object_get(rec, "upstream")))
		return osv_bad(w,
			       "aliases/upstream is not an array of strings");
	v = json_object_get(rec, "references");
	if (v && !json_is_null(v) && !json_is_array(v))
		return osv_bad(w, "references is not an array");
	v = json_object_get(rec, "severity");
	if (v && !json_is_null(v) && !json_is_array(v))
		return osv_bad(w, "severity is not an array");
	v = json_object_get(rec, "affected");
	if (v && !json_is_null(v) && !json_is_array(v))
		return osv_bad(w, "affected is not an array");
	json_array_foreach(v, i, af)
		if (!osv_check_affected(af, w))
			return false;
	return true;
}

/* --- Severity ----------------------------------------------------------- */

/* The ratings an OSV record or affected[] entry gives: the advisory's own
 * (sev; score < 0 and vector NULL when there is no usable vector; vector
 * is borrowed from the JSON) and a distribution's own (vendor). */
struct osv_sev {
	enum vuln_severity sev;
	double score;
	const char *vector;
	enum vuln_severity vendor;
};

static int osv_cvss_rank(const char *type)
{
	if (!strcmp(type, "CVSS_V4"))
		return 3;
	if (!strcmp(type, "CVSS_V3"))
		return 2;
	if (!strcmp(type, "CVSS_V2"))
		return 1;
	return 0;
}

/* A severity word in obj[key], if obj has one we know. */
static bool osv_sev_word(json_t *obj, const char *key, enum vuln_severity *out)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) &&
	       vuln_severity_parse(json_string_value(v), out) == 0;
}

/* The highest Ubuntu priority of a severity[] array, or SEV_UNKNOWN. */
static enum vuln_severity osv_ubuntu_priority(json_t *severity)
{
	enum vuln_severity best = SEV_UNKNOWN, v;
	size_t i;
	json_t *s;

	json_array_foreach(severity, i, s) {
		const char *type =
			json_string_value(json_object_get(s, "type"));
		const char *score =
			json_string_value(json_object_get(s, "score"));

		if (type && score && !strcmp(type, "Ubuntu") &&
		    vuln_severity_parse(score, &v) == 0 && v > best)
			best = v;
	}
	return best;
}

/* A distribution's own rating: Ubuntu's priority (the "Ubuntu" severity
 * type of schema 1.7, ecosystem_specific.ubuntu_priority of 1.6, or per
 * CVE in a USN's database_specific.cves_map, the highest), Debian's
 * urgency, or, for an OS package (os), a severity word. */
static enum vuln_severity osv_vendor(json_t *severity, json_t *eco_specific,
				     json_t *db_specific, bool os)
{
	enum vuln_severity v = osv_ubuntu_priority(severity), w;
	json_t *c;
	size_t i;

	if (v != SEV_UNKNOWN ||
	    osv_sev_word(eco_specific, "ubuntu_priority", &v) ||
	    osv_sev_word(eco_specific, "urgency", &v))
		return v;
	json_array_foreach(
		json_object_get(json_object_get(db_specific, "cves_map"),
				"cves"),
		i, c) {
		w = osv_ubuntu_priority(json_object_get(c, "severity"));
		if (w > v)
			v = w;
	}
	if (v == SEV_UNKNOWN && os &&
	    !osv_sev_word(eco_specific, "severity", &v))
		osv_sev_word(db_specific, "severity", &v);
	return v;
}

/* The advisory's own rating from the CVSS vectors (v4, else v3, else v2),
 * or else the severity words; the vendor's from osv_vendor(). */
static void osv_severity(json_t *severity, json_t *eco_specific,
			 json_t *db_specific, bool os, struct osv_sev *out)
{
	int best = 0;
	size_t i;
	json_t *s;

	out->sev = SEV_UNKNOWN;
	out->score = -1;
	out->vector = NULL;
	out->vendor = osv_vendor(severity, eco_specific, db_specific, os);
	json_array_foreach(severity, i, s) {
		const char *type =
			json_string_value(json_object_get(s, "type"));
		const char *score =
			json_string_value(json_object_get(s, "score"));
		struct cvss_score cs;
		int rank;

		if (!type || !score)
			continue;
		rank = osv_cvss_rank(type);
		if (rank > best && cvss_compute(score, &cs, NULL) == 0) {
			best = rank;
			out->sev = cvss_severity(&cs);
			out->score = cs.score;
			out->vector = score;
		}
	}
	if (out->sev != SEV_UNKNOWN || os)
		return;
	/* GHSA: database_specific.severity; others:
	 * ecosystem_specific.severity. */
	if (!osv_sev_word(eco_specific, "severity", &out->sev))
		osv_sev_word(db_specific, "severity", &out->sev);
}

/* Red Hat's rating of an erratum, where Red Hat and its rebuilds put it:
 * a reference to Red Hat's classification page (".../classification/
 * #important": Red Hat's records) or the summary's first word
 * ("Important: curl security update": AlmaLinux, Rocky Linux). */
static enum vuln_severity osv_errata_rating(json_t *rec)
{
	static const char cls[] = "/security/updates/classification/#";
	static const char *const words[] = {"Critical", "Important", "Moderate",
					    "Low"};
	const char *sum = json_string_value(json_object_get(rec, "summary"));
	enum vuln_severity v = SEV_UNKNOWN;
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(rec, "references"), i, r) {
		const char *url = json_string_value(json_object_get(r, "url"));
		const char *p = url ? strstr(url, cls) : NULL;

		if (p && vuln_severity_parse(p + strlen(cls), &v) == 0)
			return v;
	}
	for (i = 0; sum && i < sizeof(words) / sizeof(*words); i++) {
		size_t n = strlen(words[i]);

		if (!strncmp(sum, words[i], n) && sum[n] == ':') {
			vuln_severity_parse(words[i], &v);
			return v;
		}
	}
	return SEV_UNKNOWN;
}

/* --- Storing ------------------------------------------------------------ */

static void osv_alias_add(json_t *out, const char *id, const char *a)
{
	bool seen = !strcmp(a, id);

	for (size_t j = 0; !seen && j < json_array_size(out); j++)
		seen = !strcmp(a, json_string_value(json_array_get(out, j)));
	if (!seen)
		json_array_append_new(out, json_string(a));
}

/* Ubuntu's records name their CVE as "UBUNTU-CVE-…" (upstream, or the id
 * itself) or in "related", and leave aliases empty: the CVE id is what
 * NVD's data is found by. */
static void osv_ubuntu_cves(json_t *rec, const char *id, json_t *out)
{
	static const char *const keys[] = {"upstream", "related"};
	bool ubuntu = !strncmp(id, "UBUNTU-", 7) || !strncmp(id, "USN-", 4);
	json_t *v;
	size_t i;

	if (!strncmp(id, "UBUNTU-CVE-", 11))
		osv_alias_add(out, id, id + 7);
	for (size_t k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(rec, keys[k]), i, v) {
			const char *a = json_string_value(v);

			if (!a)
				continue;
			if (!strncmp(a, "UBUNTU-CVE-", 11))
				osv_alias_add(out, id, a + 7);
			else if (ubuntu && !strncmp(a, "CVE-", 4))
				osv_alias_add(out, id, a);
		}
	}
}

/* aliases, then upstream ids, then the CVE ids of Ubuntu's records,
 * without repeats or the record's own id. */
static char *osv_aliases(json_t *rec, const char *id)
{
	static const char *const keys[] = {"aliases", "upstream"};
	json_t *out = json_array(), *v;
	char *s;
	size_t i;

	for (size_t k = 0; k < 2; k++)
		json_array_foreach(json_object_get(rec, keys[k]), i, v)
			osv_alias_add(out, id, json_string_value(v));
	osv_ubuntu_cves(rec, id, out);
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return s;
}

static char *osv_refs(json_t *rec)
{
	json_t *out = json_array(), *r;
	char *s;
	size_t i;

	json_array_foreach(json_object_get(rec, "references"), i, r) {
		json_t *url = json_object_get(r, "url");

		if (json_is_string(url))
			json_array_append(out, url);
	}
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return s;
}

/* The ECOSYSTEM and SEMVER ranges as compact JSON, or NULL if none. */
static char *osv_ranges(json_t *af)
{
	json_t *out = json_array(), *r;
	char *s = NULL;
	size_t i;

	json_array_foreach(json_object_get(af, "ranges"), i, r) {
		const char *type =
			json_string_value(json_object_get(r, "type"));

		if (strcmp(type, "ECOSYSTEM") && strcmp(type, "SEMVER"))
			continue;
		json_array_append_new(
			out, json_pack("{sssO}", "type", type, "events",
				       json_object_get(r, "events")));
	}
	if (json_array_size(out))
		s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return s;
}

/* Binds sev, score, vector and vendor at col .. col + 3. */
static int osv_bind_sev(sqlite3_stmt *st, int col, const struct osv_sev *sev,
			struct err *e)
{
	if (sqlite3_bind_int(st, col, (int)sev->sev) != SQLITE_OK ||
	    sqlite3_bind_int(st, col + 3, (int)sev->vendor) != SQLITE_OK ||
	    (sev->score >= 0 ? sqlite3_bind_double(st, col + 1, sev->score)
			     : sqlite3_bind_null(st, col + 1)) != SQLITE_OK)
		return err_set(e, ERR_DB, "bind: %s",
			       sqlite3_errmsg(sqlite3_db_handle(st)));
	return vulndb_bind_text(st, col + 2, sev->vector, e);
}

/* rec_sev: the record's ratings; errata: its osv_errata_rating(), the
 * vendor's for OS packages. */
static int osv_store_affected(struct vulndb_imp *imp, sqlite3_int64 adv,
			      json_t *af, const struct osv_sev *rec_sev,
			      enum vuln_severity errata, struct err *e)
{
	json_t *pkg = json_object_get(af, "package");
	const char *eco, *name, *colon;
	char *base = NULL, *norm = NULL, *ranges = NULL, *versions = NULL;
	const struct eco_info *ei;
	struct osv_sev sev;
	sqlite3_stmt *st = imp->ins_aff;
	bool os;
	int ret = -1;

	if (!json_is_object(pkg))
		return 0; /* GIT-only entries name no package */
	eco = json_string_value(json_object_get(pkg, "ecosystem"));
	name = json_string_value(json_object_get(pkg, "name"));
	colon = strchr(eco, ':');
	base = colon ? xstrndup(eco, (size_t)(colon - eco)) : xstrdup(eco);
	ei = eco_by_osv(base);
	if (ei && ei->names == ECO_NAMES_PEP503)
		norm = eco_pep503(name);
	ranges = osv_ranges(af);
	if (json_array_size(json_object_get(af, "versions")))
		versions = json_dumps(json_object_get(af, "versions"),
				      JSON_COMPACT);
	os = eco_osv_is_os(base);
	osv_severity(json_object_get(af, "severity"),
		     json_object_get(af, "ecosystem_specific"),
		     json_object_get(af, "database_specific"), os, &sev);
	if (sev.sev == SEV_UNKNOWN) {
		sev.sev = rec_sev->sev;
		sev.score = rec_sev->score;
		sev.vector = rec_sev->vector;
	}
	if (sev.vendor == SEV_UNKNOWN && os)
		sev.vendor = errata;
	/* A distribution's record-level word is its own rating too. */
	if (sev.vendor == SEV_UNKNOWN)
		sev.vendor =
			os && rec_sev->sev != SEV_UNKNOWN && !rec_sev->vector
				? rec_sev->sev
				: rec_sev->vendor;
	if (sqlite3_bind_int64(st, 1, adv) != SQLITE_OK ||
	    vulndb_bind_text(st, 2, eco, e) < 0 ||
	    vulndb_bind_text(st, 3, base, e) < 0 ||
	    vulndb_bind_text(st, 4, norm ? norm : name, e) < 0 ||
	    vulndb_bind_text(st, 5, ranges, e) < 0 ||
	    vulndb_bind_text(st, 6, versions, e) < 0 ||
	    osv_bind_sev(st, 7, &sev, e) < 0 || vulndb_step_done(st, e) < 0) {
		err_set(e, ERR_DB, "storing affected: %s",
			sqlite3_errmsg(imp->db));
		goto out;
	}
	ret = 0;
out:
	free(base);
	free(norm);
	free(ranges);
	free(versions);
	return ret;
}

/* Drops an older copy of the record; returns 1 if the stored copy is as
 * new as rec (keep it), 0 to go on storing, -1 on error. */
static int osv_replace_older(struct vulndb_imp *imp, const char *id,
			     const char *modified, struct err *e)
{
	sqlite3_int64 old;
	const char *oldmod;
	int rc, keep;

	rc = vulndb_find_stored(imp, imp->find_adv, id, "lookup", e);
	if (rc <= 0)
		return rc;
	old = sqlite3_column_int64(imp->find_adv, 0);
	oldmod = (const char *)sqlite3_column_text(imp->find_adv, 1);
	keep = oldmod && (!modified || strcmp(oldmod, modified) >= 0);
	sqlite3_reset(imp->find_adv);
	if (keep)
		return 1;
	if (sqlite3_bind_int64(imp->del_aff, 1, old) != SQLITE_OK ||
	    vulndb_step_done(imp->del_aff, e) < 0 ||
	    sqlite3_bind_int64(imp->del_adv, 1, old) != SQLITE_OK ||
	    vulndb_step_done(imp->del_adv, e) < 0)
		return err_set(e, ERR_DB, "replace: %s",
			       sqlite3_errmsg(imp->db));
	imp->advisories--;
	return 0;
}

static int osv_store(struct vulndb_imp *imp, json_t *rec, struct err *e)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *modified =
		json_string_value(json_object_get(rec, "modified"));
	char *aliases = NULL, *refs = NULL;
	sqlite3_stmt *st = imp->ins_adv;
	struct osv_sev sev;
	enum vuln_severity errata;
	sqlite3_int64 adv;
	json_t *af;
	size_t i;
	int ret = -1, r;

	r = osv_replace_older(imp, id, modified, e);
	if (r)
		return r < 0 ? -1 : 0;
	aliases = osv_aliases(rec, id);
	refs = osv_refs(rec);
	osv_severity(json_object_get(rec, "severity"), NULL,
		     json_object_get(rec, "database_specific"), false, &sev);
	errata = osv_errata_rating(rec);
	if (vulndb_bind_text(st, 1, id, e) < 0 ||
	    vulndb_bind_text(st, 2,
			     json_string_value(json_object_get(rec, "summary")),
			     e) < 0 ||
	    vulndb_bind_text(st, 3,
			     json_string_value(json_object_get(rec, "details")),
			     e) < 0 ||
	    vulndb_bind_text(st, 4, modified, e) < 0 ||
	    vulndb_bind_text(
		    st, 5, json_string_value(json_object_get(rec, "published")),
		    e) < 0 ||
	    vulndb_bind_text(
		    st, 6, json_string_value(json_object_get(rec, "withdrawn")),
		    e) < 0 ||
	    vulndb_bind_text(st, 7, aliases, e) < 0 ||
	    vulndb_bind_text(st, 8, refs, e) < 0 ||
	    osv_bind_sev(st, 9, &sev, e) < 0 || vulndb_step_done(st, e) < 0)
		goto out;
	adv = sqlite3_last_insert_rowid(imp->db);
	json_array_foreach(json_object_get(rec, "affected"), i, af)
		if (osv_store_affected(imp, adv, af, &sev, errata, e) < 0)
			goto out;
	imp->advisories++;
	ret = 0;
out:
	free(aliases);
	free(refs);
	return ret;
}

int osv_import(struct vulndb_imp *imp, json_t *rec, const char *name,
	       struct err *e)
{
	struct osv_why why;

	if (!osv_check(rec, &why)) {
		log_msg(LL_WARN,
			"vulndb: skipping %s: malformed OSV record: %s", name,
			why.msg);
		imp->skipped++;
		return REC_SKIPPED;
	}
	if (osv_store(imp, rec, e) < 0)
		return -1;
	return REC_STORED;
}
