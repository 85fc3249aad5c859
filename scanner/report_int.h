/* report_int.h: the scan report (DESIGN.md "The report") and its renderings.
 *
 * The JSON report is the one source of truth: the table and CycloneDX
 * outputs are rendered from it, and a stored report can be re-matched
 * (its package list is the inventory).  Layout of one image's report:
 *
 *   schemaVersion, mediaType, scanner {name, version}, created,
 *   db {version} | null, image {digest, mediaType, repository, tag,
 *   config, platform}, os {id, version_id, pretty_name, codename} | null,
 *   layers [digest], layer_history [{digest, created_by | null}] (the
 *   config's history line that made each layer), layer_index "merged"
 *   (only for a report merged from per-layer indexes), packages [{name,
 * version, ecosystem, source {name, version} | null, layer, path, purl}],
 * vulnerabilities [{id, aliases, package {name, version, ecosystem, source,
 * layer, path, purl}, installed, fixed | null, severity, severity_source, cvss
 * [...], summary, references}], counts {critical, high, medium, low, unknown},
 * notes, status "complete" | "incomplete", budgets [{budget, limit, layer,
 * detail}] (only when incomplete: the scan budgets hit, see scanner.h), usage
 * {layer_bytes, image_bytes, ratio, layer_entries, file_bytes, packages,
 * deadline_ms}: what the scan used of each budget (the largest layer, file,
 * ...; for tuning them).
 *
 * A finding's severity_source says whose rating "severity" is: the
 * distribution's (its os-release id: "debian", "ubuntu"), "nvd",
 * "advisory" or "unknown" (vulndb_rate.c says how it is chosen).  "cvss"
 * lists the CVSS ratings known: NVD's per version {version, vector, score,
 * severity, source "nvd", cve, assigner (who scored it), type (Primary,
 * Secondary)}, then the advisory's own {..., source "advisory"}.
 *
 * An index's report has the same header, "manifests": [one report per
 * platform], counts summed over them, notes about skipped platforms, and
 * a status that is "incomplete" when any platform's is.
 */
#ifndef SCANNER_REPORT_INT_H
#define SCANNER_REPORT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "common/err.h"
#include "scanner/image_int.h"
#include "scanner/inventory_int.h"
#include "scanner/vulndb_int.h"

#define SCAN_VERSION	  "0.1.0"
#define REPORT_MEDIA_TYPE "application/vnd.customs.scan.report.v1+json"
/* "status" values (scanner.h, struct scan_budget). */
#define REPORT_COMPLETE "complete"
/* "counts" of a report matched against no DB: zeros would read as clean. */
#define REPORT_NO_DATA	  "no data"
#define REPORT_INCOMPLETE "incomplete"

struct report_meta {
	const char *db_version; /* NULL: no vulnerability data */
	const char *db_note;	/* with db_version NULL: why, for the notes */
	const char *repository; /* or NULL */
	const char *tag;	/* or NULL */
	time_t now;
	/* The DB the findings come from, or NULL: whether it holds the
	 * OS's advisories decides the notes (vulndb_match_gap()). */
	struct vulndb *db;
};

/* Parses a severity word, any case; -1 if unknown. */
int report_sev_parse(const char *s, enum vuln_severity *out);

/* The report of one image; f[i].pkg indexes inv->pkgs. */
json_t *report_image(const struct image *img, const struct scan_inventory *inv,
		     const struct vuln_finding *f, size_t nf,
		     const struct report_meta *m);
/* The report of an index; steals the reference to reports (an array of
 * report_image() results). */
json_t *report_index(const struct image_set *set, json_t *reports,
		     const struct report_meta *m);

/* Sets an image report's "status" from budgets (the hits, as
 * meter_budgets() gives them; the reference is stolen): "incomplete"
 * with "budgets" when there is any, else "complete". */
void report_set_budgets(json_t *report, json_t *budgets);
/* False when the report, or a platform of an index's report, says
 * "incomplete"; a report without "status" is complete. */
bool report_is_complete(const json_t *report);

/* Replaces the "vulnerabilities" and "counts" of an image report, and the
 * notes on how its OS packages were matched against db (NULL: none). */
void report_set_findings(json_t *report, const struct scan_inventory *inv,
			 const struct vuln_finding *f, size_t nf,
			 struct vulndb *db);
/* Re-stamps a report copied for re-matching: time, DB, and the DB note. */
void report_restamp(json_t *report, const struct report_meta *m);
/* Highest severity counted in a report (an index's counts are its
 * platforms' sum), as an enum vuln_severity; -1 when it has no finding. */
int report_max_severity(const json_t *report);
/* False when the report was matched against no DB (counts "no data"). */
bool report_has_data(const json_t *report);
/* Makes an image report's counts again from its "vulnerabilities"
 * (unless it has no data). */
void report_recount(json_t *report);
/* Sums the counts of an index report's manifests into its own. */
void report_sum_counts(json_t *index_report);

/* The inventory a report lists (for re-matching). */
int report_inventory(const json_t *report, struct scan_inventory *inv,
		     struct err *e);

/* Renderings. */
int report_write_table(FILE *out, const json_t *report);
/* A CycloneDX 1.5 BOM of the report (vulnerabilities included). */
json_t *report_cyclonedx(const json_t *report);
/* Package URL of a report package object; caller frees. */
char *report_purl(const struct scan_pkg *p, const struct scan_os *os);

#endif
