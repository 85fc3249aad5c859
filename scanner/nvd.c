/* nvd.c: NVD CVE API 2.0 JSON (API pages, the nvdcve-2.0-*.json.gz feed
 * files, or one bare "cve" object) into the vulnerability DB, streamed.
 *
 * The envelope {"format": "NVD_CVE", ..., "vulnerabilities": [{"cve":
 * {...}}, ...]} is read at depth 2, one {"cve": ...} at a time, so a year
 * feed (hundreds of MB) never sits in memory whole.  A bare record's
 * members arrive at depths 1 and 2 instead and are put back together.
 *
 * Per CVE and per CVSS version (4.0, 3.1, 3.0, 2.0) one metric is kept,
 * the best ranked:
 *   4  "Primary" by NVD itself (nvd@nist.gov)
 *   3  "Primary" by someone else (a CNA NVD lists as Primary)
 *   2  "Secondary" by the record's CNA (its sourceIdentifier)
 *   1  any other "Secondary": an ADP such as CISA-ADP, never taken for
 *      NVD's own
 * first in the record on a tie.  Rejected records are dropped, and drop
 * an older copy; when a CVE comes twice (a history snapshot and the main
 * feed), the later lastModified wins whatever the order of the inputs.
 */
#include "scanner/vulndb_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "scanner/cvss_int.h"
#include "common/banned.h"

/* Largest {"cve": ...} value: NVD's biggest records (long CPE lists) are a
 * few MB; past this the import fails rather than grow without bound. */
#define NVD_MAX_RECORD ((size_t)16 << 20)
#define NVD_MAX_ID     64
#define NVD_MAX_VECTOR 512

static const struct {
	const char *key, *version;
} nvd_versions[] = {
	{"cvssMetricV40", "4.0"},
	{"cvssMetricV31", "3.1"},
	{"cvssMetricV30", "3.0"},
	{"cvssMetricV2", "2.0"},
};
#define NVD_NVERSIONS (sizeof(nvd_versions) / sizeof(*nvd_versions))

struct nvd_ctx {
	struct vulndb_imp *imp;
	const char *path;
	sqlite3_stmt *find, *del, *del_cvss, *ins, *ins_cvss;
	json_t *bare; /* a bare record's members, as they come */
	size_t n;     /* records seen */
};

/* One chosen metric, borrowed from the record. */
struct nvd_metric {
	int rank;
	const char *vector, *source, *type;
	double score;
	enum vuln_severity sev;
};

static int nvd_rank(const char *source, const char *type, const char *cna)
{
	if (!strcmp(type, "Primary"))
		return strcmp(source, "nvd@nist.gov") ? 3 : 4;
	return cna && !strcmp(source, cna) ? 2 : 1;
}

/* Reads one metric object; false when it lacks what we keep. */
static bool nvd_metric_read(json_t *m, const char *cna, struct nvd_metric *out)
{
	json_t *data = json_object_get(m, "cvssData");
	json_t *score = json_object_get(data, "baseScore");
	const char *sev;
	struct cvss_score cs;

	out->source = json_string_value(json_object_get(m, "source"));
	out->type = json_string_value(json_object_get(m, "type"));
	out->vector = json_string_value(json_object_get(data, "vectorString"));
	if (!out->source || !out->type || !out->vector || !*out->vector ||
	    strlen(out->vector) > NVD_MAX_VECTOR ||
	    strlen(out->source) > NVD_MAX_VECTOR)
		return false;
	out->rank = nvd_rank(out->source, out->type, cna);
	if (json_is_number(score)) {
		out->score = json_number_value(score);
	} else if (cvss_compute(out->vector, &cs, NULL) == 0) {
		out->score = cs.score;
	} else {
		return false;
	}
	if (!(out->score >= 0 && out->score <= 10))
		return false;
	/* v2 keeps baseSeverity beside cvssData, v3 and v4 inside it. */
	sev = json_string_value(json_object_get(data, "baseSeverity"));
	if (!sev)
		sev = json_string_value(json_object_get(m, "baseSeverity"));
	if (!sev || vuln_severity_parse(sev, &out->sev) < 0 ||
	    out->sev == SEV_UNKNOWN) {
		cs.major = strncmp(out->vector, "CVSS:", 5) ? 2 : 3;
		cs.minor = 0;
		cs.score = out->score;
		out->sev = cvss_severity(&cs);
	}
	return true;
}

/* The best metric of one version's array; false when none is usable. */
static bool nvd_best(json_t *metrics, const char *cna, struct nvd_metric *best)
{
	struct nvd_metric m;
	bool found = false;
	size_t i;
	json_t *v;

	json_array_foreach(metrics, i, v) {
		if (!nvd_metric_read(v, cna, &m))
			continue;
		if (!found || m.rank > best->rank) {
			*best = m;
			found = true;
		}
	}
	return found;
}

/* Removes the stored copy of id and its metrics. */
static int nvd_delete(struct nvd_ctx *c, const char *id, struct err *e)
{
	if (vulndb_bind_text(c->del_cvss, 1, id, e) < 0 ||
	    vulndb_step_done(c->del_cvss, e) < 0 ||
	    vulndb_bind_text(c->del, 1, id, e) < 0 ||
	    vulndb_step_done(c->del, e) < 0)
		return -1;
	return 0;
}

/* 1: a copy at least as new is stored (keep it); 0: go on (an older copy
 * was deleted, or there was none); -1: DB error. */
static int nvd_replace_older(struct nvd_ctx *c, const char *id,
			     const char *modified, struct err *e)
{
	const char *old;
	bool keep, counted;
	int rc;

	rc = vulndb_find_stored(c->imp, c->find, id, "nvd lookup", e);
	if (rc <= 0)
		return rc;
	old = (const char *)sqlite3_column_text(c->find, 0);
	keep = old && strcmp(old, modified) >= 0;
	counted = !sqlite3_column_int(c->find, 1);
	sqlite3_reset(c->find);
	if (keep)
		return 1;
	if (nvd_delete(c, id, e) < 0)
		return -1;
	if (counted)
		c->imp->nvd--;
	return 0;
}

static int nvd_store_metric(struct nvd_ctx *c, const char *id,
			    const char *version, const struct nvd_metric *m,
			    struct err *e)
{
	sqlite3_stmt *st = c->ins_cvss;

	if (vulndb_bind_text(st, 1, id, e) < 0 ||
	    vulndb_bind_text(st, 2, version, e) < 0 ||
	    vulndb_bind_text(st, 3, m->vector, e) < 0 ||
	    sqlite3_bind_double(st, 4, m->score) != SQLITE_OK ||
	    sqlite3_bind_int(st, 5, (int)m->sev) != SQLITE_OK ||
	    vulndb_bind_text(st, 6, m->source, e) < 0 ||
	    vulndb_bind_text(st, 7, m->type, e) < 0 ||
	    sqlite3_bind_int(st, 8, m->rank) != SQLITE_OK)
		return err_set(e, ERR_DB, "nvd: bind: %s",
			       sqlite3_errmsg(c->imp->db));
	return vulndb_step_done(st, e);
}

static bool nvd_is_cve_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n < 9 || n > NVD_MAX_ID || strncmp(id, "CVE-", 4))
		return false;
	for (size_t i = 4; i < n; i++)
		if (!(id[i] >= '0' && id[i] <= '9') && id[i] != '-')
			return false;
	return true;
}

/* One "cve" object.  Malformed: logged and counted as skipped. */
static int nvd_record(struct nvd_ctx *c, json_t *cve, struct err *e)
{
	const char *id = json_string_value(json_object_get(cve, "id"));
	const char *mod =
		json_string_value(json_object_get(cve, "lastModified"));
	const char *status =
		json_string_value(json_object_get(cve, "vulnStatus"));
	const char *cna =
		json_string_value(json_object_get(cve, "sourceIdentifier"));
	json_t *metrics = json_object_get(cve, "metrics");
	bool rejected = status && !strcmp(status, "Rejected");
	struct nvd_metric m = {0};
	int r;

	c->n++;
	if (!json_is_object(cve) || !nvd_is_cve_id(id) || !mod ||
	    strlen(mod) > NVD_MAX_ID || (metrics && !json_is_object(metrics))) {
		log_msg(LL_WARN,
			"vulndb: skipping %s record %zu: not an NVD CVE record "
			"(id, lastModified, metrics)",
			c->path, c->n);
		c->imp->skipped++;
		return 0;
	}
	r = nvd_replace_older(c, id, mod, e);
	if (r)
		return r < 0 ? -1 : 0;
	/* A rejected record stays as a marker, so an older copy read later
	 * cannot come back; vulndb_finish() deletes the markers. */
	if (vulndb_bind_text(c->ins, 1, id, e) < 0 ||
	    vulndb_bind_text(c->ins, 2, mod, e) < 0 ||
	    sqlite3_bind_int(c->ins, 3, rejected) != SQLITE_OK ||
	    vulndb_step_done(c->ins, e) < 0)
		return -1;
	if (rejected)
		return 0;
	for (size_t i = 0; i < NVD_NVERSIONS; i++)
		if (nvd_best(json_object_get(metrics, nvd_versions[i].key), cna,
			     &m) &&
		    nvd_store_metric(c, id, nvd_versions[i].version, &m, e) < 0)
			return -1;
	c->imp->nvd++;
	return 0;
}

/* A bare record's members: the scalars we read and the metrics arrays. */
static void nvd_bare_add(struct nvd_ctx *c, const char *const *keys,
			 size_t depth, json_t *v)
{
	static const char *const scalars[] = {"id", "sourceIdentifier",
					      "lastModified", "vulnStatus"};
	json_t *m;
	size_t i;

	if (depth == 1) {
		for (i = 0; i < sizeof(scalars) / sizeof(*scalars); i++)
			if (keys[0] && !strcmp(keys[0], scalars[i]))
				json_object_set(c->bare, keys[0], v);
		return;
	}
	if (depth != 2 || !keys[0] || !keys[1] || strcmp(keys[0], "metrics"))
		return;
	for (i = 0; i < NVD_NVERSIONS; i++)
		if (!strcmp(keys[1], nvd_versions[i].key))
			break;
	if (i == NVD_NVERSIONS)
		return; /* kept: only what a record of its own would use */
	m = json_object_get(c->bare, "metrics");
	if (!m) {
		m = json_object();
		json_object_set_new(c->bare, "metrics", m);
	}
	json_object_set(m, keys[1], v);
}

static int nvd_value(void *ctx, const char *const *keys, size_t depth,
		     json_t *v, struct err *e)
{
	struct nvd_ctx *c = ctx;

	if (depth == 2 && keys[0] && !strcmp(keys[0], "vulnerabilities") &&
	    !keys[1])
		return nvd_record(c, json_object_get(v, "cve"), e);
	if (keys[0] && strcmp(keys[0], "vulnerabilities"))
		nvd_bare_add(c, keys, depth, v);
	return 0;
}

static int nvd_prepare(struct nvd_ctx *c, const char *sql, sqlite3_stmt **st,
		       struct err *e)
{
	if (sqlite3_prepare_v2(c->imp->db, sql, -1, st, NULL) != SQLITE_OK)
		return err_set(e, ERR_DB, "prepare: %s",
			       sqlite3_errmsg(c->imp->db));
	return 0;
}

int nvd_import(struct vulndb_imp *imp, const char *path, struct err *e)
{
	struct nvd_ctx c = {.imp = imp, .path = path, .bare = json_object()};
	int ret = -1;

	if (nvd_prepare(&c, "SELECT modified, rejected FROM nvd WHERE cve = ?1",
			&c.find, e) < 0 ||
	    nvd_prepare(&c, "DELETE FROM nvd WHERE cve = ?1", &c.del, e) < 0 ||
	    nvd_prepare(&c, "DELETE FROM nvd_cvss WHERE cve = ?1", &c.del_cvss,
			e) < 0 ||
	    nvd_prepare(&c,
			"INSERT INTO nvd (cve, modified, rejected)"
			" VALUES (?1, ?2, ?3)",
			&c.ins, e) < 0 ||
	    nvd_prepare(&c,
			"INSERT INTO nvd_cvss (cve, version, vector, score,"
			" severity, source, type, rank)"
			" VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
			&c.ins_cvss, e) < 0)
		goto out;
	if (vulndb_stream(path, 2, NVD_MAX_RECORD, nvd_value, &c, e) < 0)
		goto out;
	if (json_object_get(c.bare, "id") && nvd_record(&c, c.bare, e) < 0)
		goto out;
	if (!c.n)
		log_msg(LL_WARN, "vulndb: %s holds no NVD CVE record", path);
	log_msg(LL_DEBUG, "vulndb: %s: %zu NVD records", path, c.n);
	ret = 0;
out:
	sqlite3_finalize(c.find);
	sqlite3_finalize(c.del);
	sqlite3_finalize(c.del_cvss);
	sqlite3_finalize(c.ins);
	sqlite3_finalize(c.ins_cvss);
	json_decref(c.bare);
	return ret;
}
