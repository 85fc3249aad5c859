/* The vulnerability DB for readers: open, version, status. */
#include "scanner/vulndb_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "common/banned.h"

static const char *const sev_names[] = {"UNKNOWN", "LOW", "MEDIUM", "HIGH",
					"CRITICAL"};

const char *vuln_severity_name(enum vuln_severity s)
{
	if ((size_t)s >= sizeof(sev_names) / sizeof(*sev_names))
		return "UNKNOWN";
	return sev_names[s];
}

/* The words databases use, by rank: GHSA says MODERATE, Red Hat
 * IMPORTANT, Debian "unimportant", Ubuntu "negligible". */
static const struct {
	const char *word;
	enum vuln_severity sev;
} sev_words[] = {
	{"critical", SEV_CRITICAL}, {"high", SEV_HIGH},
	{"important", SEV_HIGH},    {"moderate", SEV_MEDIUM},
	{"medium", SEV_MEDIUM},	    {"low", SEV_LOW},
	{"negligible", SEV_LOW},    {"unimportant", SEV_LOW},
	{"none", SEV_LOW},	    {"unknown", SEV_UNKNOWN},
};

int vuln_severity_parse(const char *s, enum vuln_severity *out)
{
	size_t n = strlen(s);

	/* Debian's tracker marks some urgencies "low**". */
	while (n && (s[n - 1] == '*' || s[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < sizeof(sev_words) / sizeof(*sev_words); i++) {
		if (strlen(sev_words[i].word) == n &&
		    !strncasecmp(s, sev_words[i].word, n)) {
			*out = sev_words[i].sev;
			return 0;
		}
	}
	return -1;
}

static char *vulndb_meta(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

struct vulndb *vulndb_open(const char *dbpath, struct err *e)
{
	struct vulndb *db = xcalloc(1, sizeof(*db));
	char *schema = NULL, *stamp = NULL, *hash = NULL;

	if (access(dbpath, R_OK) < 0) {
		err_set(e, ERR_NOT_FOUND,
			"no vulnerability DB at %s (run 'customs db import')",
			dbpath);
		goto fail;
	}
	if (sqlite3_open_v2(dbpath, &db->db,
			    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		err_set(e, ERR_DB, "open %s: %s", dbpath,
			db->db ? sqlite3_errmsg(db->db) : "no memory");
		goto fail;
	}
	schema = vulndb_meta(db->db, "schema");
	if (!schema || strtol(schema, NULL, 10) != VULNDB_SCHEMA) {
		err_set(e, ERR_DB,
			"%s: vulnerability DB schema %s, this build reads %d"
			" (run 'customs db import' again)",
			dbpath, schema ? schema : "unknown", VULNDB_SCHEMA);
		goto fail;
	}
	stamp = vulndb_meta(db->db, "import_time");
	hash = vulndb_meta(db->db, "content_hash");
	snprintf(db->version, sizeof(db->version), "%s/%.12s",
		 stamp ? stamp : "unknown",
		 hash && strchr(hash, ':') ? strchr(hash, ':') + 1 : "unknown");
	if (vulndb_match_prepare(db, e) < 0)
		goto fail;
	free(schema);
	free(stamp);
	free(hash);
	return db;
fail:
	free(schema);
	free(stamp);
	free(hash);
	vulndb_free(db);
	return NULL;
}

void vulndb_free(struct vulndb *db)
{
	if (!db)
		return;
	sqlite3_finalize(db->q_affected);
	sqlite3_finalize(db->q_secfix);
	sqlite3_finalize(db->q_advisory);
	sqlite3_finalize(db->q_nvd);
	sqlite3_finalize(db->q_held);
	sqlite3_close(db->db);
	free(db);
}

const char *vulndb_version(const struct vulndb *db)
{
	return db->version;
}

int vuln_sev_pref_parse(const char *s, enum vuln_sev_pref *out)
{
	if (!strcmp(s, "vendor"))
		*out = VULN_PREFER_VENDOR;
	else if (!strcmp(s, "nvd"))
		*out = VULN_PREFER_NVD;
	else
		return -1;
	return 0;
}

void vulndb_prefer(struct vulndb *db, enum vuln_sev_pref p)
{
	db->pref = p;
}

static int vulndb_status_rows(struct vulndb *db, FILE *out, const char *title,
			      const char *sql, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return err_set(e, ERR_DB, "status: %s", sqlite3_errmsg(db->db));
	fprintf(out, "%s\n", title);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(out, "  %-36s %8lld %s\n", sqlite3_column_text(st, 0),
			sqlite3_column_int64(st, 1),
			sqlite3_column_text(st, 2)
				? (const char *)sqlite3_column_text(st, 2)
				: "");
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(e, ERR_DB, "status: %s", sqlite3_errmsg(db->db));
	return 0;
}

static long long vulndb_count(struct vulndb *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int vulndb_status(struct vulndb *db, FILE *out, struct err *e)
{
	char *stamp = vulndb_meta(db->db, "import_time");
	char *hash = vulndb_meta(db->db, "content_hash");
	char *skipped = vulndb_meta(db->db, "skipped");
	int ret;

	fprintf(out, "version:     %s\n", db->version);
	fprintf(out, "schema:      %d\n", VULNDB_SCHEMA);
	fprintf(out, "imported:    %s\n", stamp ? stamp : "unknown");
	fprintf(out, "content:     %s\n", hash ? hash : "unknown");
	fprintf(out, "advisories:  %lld (%lld withdrawn)\n",
		vulndb_count(db, "SELECT count(*) FROM advisory"),
		vulndb_count(db, "SELECT count(*) FROM advisory"
				 " WHERE withdrawn IS NOT NULL"));
	fprintf(out, "secdb fixes: %lld\n",
		vulndb_count(db, "SELECT count(*) FROM secfix"));
	fprintf(out, "tracker:     %lld release entries, %lld issues\n",
		vulndb_count(db, "SELECT count(*) FROM tracker"),
		vulndb_count(db, "SELECT count(*) FROM tracker_issue"));
	fprintf(out, "NVD CVEs:    %lld (%lld with CVSS)\n",
		vulndb_count(db, "SELECT count(*) FROM nvd"),
		vulndb_count(db, "SELECT count(DISTINCT cve) FROM nvd_cvss"));
	fprintf(out, "skipped:     %s (malformed at import)\n",
		skipped ? skipped : "0");
	ret = vulndb_status_rows(
		db, out, "advisories per ecosystem:",
		"SELECT ecosystem, count(DISTINCT adv), '' FROM affected"
		" GROUP BY ecosystem ORDER BY ecosystem",
		e);
	if (!ret)
		ret = vulndb_status_rows(
			db, out, "secdb fixes per release:",
			"SELECT distro || '/' || repo, count(*),"
			" count(DISTINCT name) || ' packages' FROM secfix"
			" GROUP BY distro, repo ORDER BY distro, repo",
			e);
	free(stamp);
	free(hash);
	free(skipped);
	return ret;
}
