/* vulndb_int.h: the vulnerability database (sqlite) and the matcher;
 * what vulndb*.c, osv.c and secdb.c share, and what scan.c and report.c
 * take from the matcher.  Not for other modules: they use scanner.h.
 *
 * The DB is one sqlite file, built in a temporary file next to the target
 * and renamed over it (see vulndb_import.c).  Tables:
 *
 *   meta(key, value)       schema, content_hash, import_time, records,
 *                          skipped, inputs
 *   advisory               one row per OSV record: vid (the OSV id),
 *                          summary, details, modified, published, withdrawn,
 *                          aliases (JSON array: aliases, then upstream ids),
 *                          refs (JSON array of URLs), severity (enum
 *                          vuln_severity), cvss_score, cvss_vector
 *   affected               one row per affected[] entry with a package:
 *                          adv (advisory rowid), ecosystem as written
 *                          ("Debian:12"), eco_base ("Debian"), name (PEP 503
 *                          normalised for PyPI), ranges (JSON, ECOSYSTEM and
 *                          SEMVER ranges only), versions (JSON array or NULL),
 *                          and the severity that applies to this package
 *   secfix                 Alpine secdb: distro ("v3.18"), repo ("main"),
 *                          name (origin), fixed (the secfixes key), vid
 *   tracker_issue          Debian Security Tracker: one row per issue
 *                          ("CVE-2024-1", "TEMP-0290435-0B57B5"): name,
 *                          description (the first one seen, or NULL)
 *   tracker                one row per (release, source package, issue):
 *                          release ("bookworm"), source, issue
 *                          (tracker_issue rowid), status (enum
 *                          tracker_status), fixed (fixed_version or NULL;
 *                          "0": not affected), urgency as written
 *                          ("unimportant", "high**", "not yet assigned",
 *                          "end-of-life"), nodsa (the no-DSA comment, ""
 *                          included, or NULL when not flagged) and
 *                          nodsa_reason ("", "ignored", "postponed")
 *   nvd                    one row per NVD CVE record (nvd.c): cve,
 *                          modified (its lastModified: the later copy
 *                          wins), rejected (1 only during the import)
 *   nvd_cvss               per CVE and CVSS version ("4.0", "3.1", "3.0",
 *                          "2.0") the metric nvd.c chose: vector, score,
 *                          severity, source (who scored it: nvd@nist.gov,
 *                          a CNA, an ADP), type (Primary, Secondary), rank
 *                          (4 NVD Primary, 3 other Primary, 2 the CNA's
 *                          Secondary, 1 other Secondary such as CISA-ADP)
 *
 * advisory and affected rows carry two ratings: severity/cvss_score/
 * cvss_vector, the advisory's own (from its CVSS vectors, else a severity
 * word such as GHSA's), and vendor_sev, a distribution's own rating (Ubuntu
 * priority, Debian urgency, a distribution's database_specific severity)
 * or 0 (SEV_UNKNOWN) when there is none.
 *
 * Lookups go through the indexes affected(eco_base, name),
 * secfix(distro, name), tracker's key (release, source, issue) and
 * nvd_cvss's key (cve, version).
 */
#ifndef SCANNER_VULNDB_INT_H
#define SCANNER_VULNDB_INT_H

#include <archive.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "common/jstream.h"
#include "scanner/inventory_int.h"
#include "scanner/scanner.h"

/* Bump when the schema or the meaning of stored data changes: an older DB
 * is then refused by vulndb_open() and rebuilt by the next import. */
#define VULNDB_SCHEMA 3
/* Bump when the importer reads the same records into different rows (e.g.
 * a rating it used to drop): a DB stays readable, but the next import of
 * unchanged feeds rebuilds it instead of skipping. */
#define VULNDB_IMPORTER 2

/* An open DB (vulndb.c); the statements are the matcher's, prepared once
 * and reused for every package. */
struct vulndb {
	sqlite3 *db;
	sqlite3_stmt *q_affected, *q_secfix, *q_advisory, *q_nvd;
	sqlite3_stmt *q_held; /* does it hold an OS ecosystem's advisories? */
	char version[96];
	enum vuln_sev_pref pref; /* vulndb_prefer() */
};

/* Prints counts per ecosystem and the import time. */
int vulndb_status(struct vulndb *db, FILE *out, struct err *e);

/* What the distribution says of a finding.  UNSET (OSV, secdb): "fixed"
 * when a fixed version is known, else "affected". */
enum vuln_status {
	VULN_STATUS_UNSET = 0,
	VULN_AFFECTED,		  /* no fix yet */
	VULN_FIXED,		  /* a fixed version newer than the installed */
	VULN_FIX_DEFERRED,	  /* Debian no-dsa / postponed: no fix yet */
	VULN_WILL_NOT_FIX,	  /* Debian ignored */
	VULN_END_OF_LIFE,	  /* Debian urgency end-of-life: no support */
	VULN_UNDER_INVESTIGATION, /* Debian undetermined */
};
/* "affected", "fixed", "fix_deferred", ... (UNSET as above). */
const char *vuln_status_name(enum vuln_status s, const char *fixed);
/* Where a finding's severity comes from (vuln_rate()). */
enum vuln_sev_source {
	SEVSRC_UNKNOWN = 0,
	SEVSRC_VENDOR,	 /* the distribution's own rating: f->vendor */
	SEVSRC_NVD,	 /* NVD's CVSS of the CVE */
	SEVSRC_ADVISORY, /* the advisory's own (its CVSS or word) */
};

/* One CVSS rating a finding shows. */
struct vuln_cvss {
	char version[4]; /* "4.0", "3.1", "3.0", "2.0" */
	char *vector;
	double score;
	enum vuln_severity severity;
	bool nvd;	/* NVD's (for cve), else the advisory's own */
	char *cve;	/* NVD: the CVE it rates */
	char *assigner; /* NVD: who scored it (nvd@nist.gov, a CNA...) */
	char *type;	/* NVD: "Primary" or "Secondary" */
};

struct vuln_finding {
	size_t pkg;		 /* index into inv->pkgs */
	enum vuln_status status; /* what the distribution says */
	char *id;
	char **aliases;
	size_t naliases;
	char *fixed; /* fixed version, or NULL if none */
	/* The severity shown, and where it came from: set by vuln_rate()
	 * from the ratings below. */
	enum vuln_severity severity;
	enum vuln_sev_source severity_source;
	/* The advisory's own rating. */
	enum vuln_severity adv_severity;
	double cvss_score; /* < 0 when unknown */
	char *cvss_vector; /* or NULL */
	/* The distribution's own rating (Ubuntu priority, Debian urgency),
	 * SEV_UNKNOWN when none; vendor names it ("ubuntu", "debian"). */
	enum vuln_severity vendor_severity;
	char *vendor;
	/* The ratings a report shows (NVD's, then the advisory's own). */
	struct vuln_cvss *cvss;
	size_t ncvss;
	char *summary; /* or NULL */
	char **refs;
	size_t nrefs;
	/* The vendor's rating as it writes it (Debian urgency: "unimportant",
	 * "high**", "not yet assigned", "end-of-life"), or NULL. */
	char *vendor_rating;
};

/* Frees n ratings and the array. */
void vuln_cvss_free(struct vuln_cvss *c, size_t n);

/* Rates findings (severity, severity_source, cvss) from their vendor and
 * advisory ratings and NVD's data in db, as db's preference says:
 * vendor > NVD > advisory > unknown, or NVD first with VULN_PREFER_NVD.
 * vulndb_match() calls it; a matcher of another source that adds findings
 * later calls it for those. */
int vuln_rate(struct vulndb *db, struct vuln_finding *f, size_t n,
	      struct err *e);

/* Matches every package of inv; *out is the caller's (vuln_findings_free). */
int vulndb_match(struct vulndb *db, const struct scan_inventory *inv,
		 struct vuln_finding **out, size_t *count, struct err *e);
void vuln_findings_free(struct vuln_finding *f, size_t count);
/* When inv holds OS packages no advisory source covers (rpm on Amazon
 * Linux, Fedora, CentOS Stream...; none of them publishes OSV records), or
 * whose advisories db (NULL: not asked) does not hold (a Rocky Linux
 * image, a DB without Rocky Linux records): a note starting with
 * SCAN_NO_SOURCE that says so, else NULL.  The caller frees.  Such an
 * image is never "clean": nothing was looked up for them. */
char *vulndb_match_gap(struct vulndb *db, const struct scan_inventory *inv);
/* When inv's OS rebuilds another distribution whose advisories its rpm
 * packages were matched against (CentOS Linux: Red Hat's), a note
 * starting with SCAN_OTHER_SOURCE that says so, else NULL; caller frees. */
char *vulndb_match_other(const struct scan_inventory *inv);

/* Prepares the matcher's statements (vulndb_match.c). */
int vulndb_match_prepare(struct vulndb *db, struct err *e);

/* The import in progress (vulndb_import.c owns it). */
struct vulndb_imp {
	sqlite3 *db;
	sqlite3_stmt *find_adv, *del_adv, *del_aff, *ins_adv, *ins_aff,
		*ins_secfix;
	size_t advisories; /* OSV records stored */
	size_t secfixes;   /* secdb (package, CVE, version) rows stored */
	size_t tracker;	   /* tracker (source, issue) records stored */
	size_t skipped;	   /* malformed records */
	size_t duplicates; /* records replaced or ignored by id */
	size_t nvd;	   /* NVD CVE records stored */
};

/* Opens an import into a new DB at path (":memory:" works: the fuzzer
 * uses it), schema created, statements prepared, inside BEGIN. */
int vulndb_imp_open(struct vulndb_imp *imp, const char *path, struct err *e);
void vulndb_imp_release(struct vulndb_imp *imp);
/* Imports one JSON document: an OSV record, an array of them, or an
 * Alpine secdb document.  Malformed input is logged and counted as
 * skipped; -1 only when the DB fails. */
int vulndb_doc(struct vulndb_imp *imp, const char *data, size_t len,
	       const char *name, struct err *e);

/* Outcome of importing one record or document. */
enum vulndb_rec { REC_STORED, REC_SKIPPED };

/* Imports one parsed OSV record; name says where it came from (for the
 * log).  A malformed record is logged and gives REC_SKIPPED; -1 is a
 * failure of the DB (e set). */
int osv_import(struct vulndb_imp *imp, json_t *rec, const char *name,
	       struct err *e);

/* True for an Alpine secdb document (top-level "packages" and
 * "distroversion"). */
bool secdb_is_secdb(json_t *doc);
/* Imports a secdb document; like osv_import(). */
int secdb_import(struct vulndb_imp *imp, json_t *doc, const char *name,
		 struct err *e);

/* tracker.status, as the tracker's JSON says it. */
enum tracker_status {
	TRACKER_RESOLVED = 0,
	TRACKER_OPEN,
	TRACKER_UNDETERMINED,
};

/* Imports the Debian Security Tracker JSON at path, streamed
 * (tracker.c).  Malformed entries are logged and counted as skipped; a
 * document that is not tracker-shaped fails (ERR_INVALID). */
int tracker_import(struct vulndb_imp *imp, const char *path, struct err *e);
/* The same from memory (the fuzzer); name is for messages. */
int tracker_import_mem(struct vulndb_imp *imp, const void *data, size_t len,
		       const char *name, struct err *e);

/* Matching against the tracker (vulndb_tracker.c), per vulndb_match()
 * call: NULL in *out (and 0) when the image is not Debian or the DB has
 * no tracker data for its release; OSV matching then works alone. */
struct tracker_match;
int tracker_match_open(struct vulndb *db, const struct scan_os *os,
		       struct tracker_match **out, struct err *e);
void tracker_match_free(struct tracker_match *tm);
/* Adds the tracker's findings for package pkg to (*f)[0..*n) and folds
 * the OSV findings in [first, *n) that name the same CVEs (DSA/DLA,
 * DEBIAN-CVE records) into them as aliases: one row per (package, CVE). */
int tracker_match_pkg(struct tracker_match *tm,
		      const struct scan_inventory *inv, size_t pkg,
		      struct vuln_finding **f, size_t *n, size_t *alloc,
		      size_t first, struct err *e);

/* Debian release number <-> codename ("12" <-> "bookworm"); NULL when
 * unknown. */
const char *debian_release_number(const char *codename);
const char *debian_release_codename(const char *number);

/* A one-line summary of an advisory text (vulndb_match.c); caller frees. */
char *match_summary(const unsigned char *text);
/* Imports an NVD CVE API 2.0 JSON file (plain or compressed), streamed;
 * malformed records are logged and skipped, -1 when the file is not
 * JSON, a record is too large, or the DB fails. */
int nvd_import(struct vulndb_imp *imp, const char *path, struct err *e);

/* Streams the JSON file at path (plain or compressed) through jstream:
 * fn gets each value at depth (see common/jstream.h).  For the streamed
 * kinds' importers. */
int vulndb_stream(const char *path, size_t depth, size_t max_value,
		  jstream_fn fn, void *ctx, struct err *e);

/* Opens path (plain or compressed) for archive_read_data() of its bytes,
 * decompressed; NULL (e set) if it cannot be read.  The caller
 * archive_read_free()s it.  For vulndb_stream() and feeds.c. */
struct archive *vulndb_raw_open(const char *path, struct err *e);

/* Makes the finished temporary DB tmp the DB: fsync, rename, fsync the
 * directory so that the rename itself survives a crash. */
int vulndb_publish(const char *tmp, const char *dbpath, struct err *e);

/* sqlite3 helpers: bind a string or NULL; step a statement that returns no
 * rows and reset it.  Failures set e (ERR_DB) and return -1. */
int vulndb_bind_text(sqlite3_stmt *st, int col, const char *s, struct err *e);
int vulndb_step_done(sqlite3_stmt *st, struct err *e);
/* Looks up the stored copy of record id with find (id its first
 * parameter): 1 when there is one (imp->duplicates counts it; read its
 * row, then reset find), 0 when there is none, -1 on error ("what: ...").
 * find is reset but on 1. */
int vulndb_find_stored(struct vulndb_imp *imp, sqlite3_stmt *find,
		       const char *id, const char *what, struct err *e);

#endif
