/* vulndb.h: the vulnerability database (sqlite) and the matcher.
 *
 * Data is imported, never fetched at scan time.  vulndb_import() reads OSV
 * JSON (a file, a directory tree, or a zip such as OSV's all.zip, via
 * libarchive) and Alpine secdb JSON, and atomically replaces the DB file.
 */
#ifndef SCANNER_VULNDB_H
#define SCANNER_VULNDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "scanner/inventory.h"

struct vulndb;

enum vuln_severity {
	SEV_UNKNOWN = 0,
	SEV_LOW,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
};
const char *vuln_severity_name(enum vuln_severity s); /* "CRITICAL" ... */
int vuln_severity_parse(const char *s, enum vuln_severity *out);

struct vulndb_import_stats {
	size_t records;		/* advisories stored */
	size_t skipped;		/* malformed records, each logged by name */
	bool unchanged;		/* same data as before: nothing replaced */
};

/* Imports paths into dbpath (created or atomically replaced). */
int vulndb_import(const char *dbpath, const char *const *paths, size_t npaths,
		  struct vulndb_import_stats *stats, struct err *e);

/* Opens read-only.  Each thread opens its own. */
struct vulndb *vulndb_open(const char *dbpath, struct err *e);
void vulndb_free(struct vulndb *db);
/* A version string for reports: e.g. "2026-11-28T12:00:00Z/<sha256 prefix>" */
const char *vulndb_version(const struct vulndb *db);
/* Prints counts per ecosystem and the import time. */
int vulndb_status(struct vulndb *db, FILE *out, struct err *e);

struct vuln_finding {
	size_t pkg;		/* index into inv->pkgs */
	char *id;
	char **aliases;
	size_t naliases;
	char *fixed;		/* fixed version, or NULL if none */
	enum vuln_severity severity;
	double cvss_score;	/* < 0 when unknown */
	char *cvss_vector;	/* or NULL */
	char *summary;		/* or NULL */
	char **refs;
	size_t nrefs;
};

/* Matches every package of inv; *out is the caller's (vuln_findings_free). */
int vulndb_match(struct vulndb *db, const struct scan_inventory *inv,
		 struct vuln_finding **out, size_t *count, struct err *e);
void vuln_findings_free(struct vuln_finding *f, size_t count);

#endif
