/* dbupdate_int.h: `customs serve` keeps its vulnerability data current.
 *
 * A thread (maint_int.h's schedule, never an event loop) runs
 * vulndb_update() (scanner.h) every --db-update-interval over the
 * --db-source list, or when none is configured the public feeds of what
 * the stored reports use (all of them while there is none); after a
 * run that replaced the DB it asks the scan service to reload, which
 * re-matches every stored report as after POST /v2/_customs/db.  Each
 * run, and every hour with updates off, a DB older than --db-max-age is
 * logged as a warning.  GET /v2/_customs/db shows the per-source status
 * kept here.
 */
#ifndef REGISTRY_DBUPDATE_INT_H
#define REGISTRY_DBUPDATE_INT_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "common/opt.h"

struct reg_scan;
struct stor;

struct reg_dbupdate_config {
	const char *dbpath;
	const char *cache_dir;		/* DATA/advisories */
	const struct opt_list *sources; /* KIND=URL; none: the defaults */
	int64_t interval_s;		/* <= 0: no updates */
	int64_t max_age_s;		/* <= 0: no age check */
	struct reg_scan *scan;		/* told after a swap; may be NULL */
	struct stor *st; /* the reports say which default feeds are used */
};

/* Parses the sources (a bad one fails with ERR_INVALID) and starts the
 * thread when there is anything to do.  All borrowed pointers outlive
 * the updater. */
struct reg_dbupdate *reg_dbupdate_start(const struct reg_dbupdate_config *c,
					struct err *e);
/* Ends a download in progress, joins the thread, frees.  NULL: nothing. */
void reg_dbupdate_stop(struct reg_dbupdate *u);
/* {"interval_s", "max_age_s", "last_run", "last_error", "sources": [...]}
 * as of the last run (ages as of now); a new reference. */
json_t *reg_dbupdate_status(struct reg_dbupdate *u);
/* The age in seconds of the DB a report names ("<import time>/<hash>"),
 * or -1 when it cannot tell. */
int64_t reg_db_version_age(const char *version, time_t now);

#endif
