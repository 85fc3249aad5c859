/* scan_import.c: POST /v2/_customs/db, on the DB thread.
 *
 * The feed is imported into a new DB file beside the live one, which it
 * replaces (rename) only if it holds advisories and differs from it: a
 * truncated or wrong upload must not leave the registry without data, and
 * the same feed posted again must not re-match every report.  The
 * outcome goes to the caller's done callback; the request behind it is
 * registry/'s business (api_scan.c, waiters.c).
 */
#include "registry/scan/scan_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "scanner/scanner.h"
#include "common/banned.h"

static void rs_import_free(struct rs_import *imp)
{
	if (!imp)
		return;
	free(imp->path);
	free(imp);
}

void reg_scan_feed_remove(const char *path)
{
	char *copy = xstrdup(path);

	if (unlink(path) < 0 && errno != ENOENT)
		log_errno(LL_WARN, errno, "scan: remove %s", path);
	if (rmdir(dirname(copy)) < 0)
		log_errno(LL_WARN, errno, "scan: remove the feed's directory");
	free(copy);
}

int reg_scan_import(struct reg_scan *s, const char *path,
		    reg_scan_import_fn done, void *arg, struct err *e)
{
	struct rs_import *imp;

	pthread_mutex_lock(&s->lock);
	if (s->import) {
		pthread_mutex_unlock(&s->lock);
		return err_set(e, ERR_BUSY, "another DB import is running");
	}
	imp = xcalloc(1, sizeof(*imp));
	imp->path = xstrdup(path);
	imp->done = done;
	imp->arg = arg;
	s->import = imp;
	pthread_mutex_unlock(&s->lock);
	sem_post(&s->wake_manager);
	return 0;
}

/* The content part of a DB version ("<import time>/<content hash>"). */
static const char *rs_version_content(const char *v)
{
	const char *slash = strrchr(v, '/');

	return slash ? slash + 1 : v;
}

/* Makes a rename into dir durable. */
static void rs_sync_dir(const char *file)
{
	char *copy = xstrdup(file);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);

	if (fd < 0 || fsync(fd) < 0)
		log_errno(LL_WARN, errno, "scan: sync the DB's directory");
	if (fd >= 0)
		close(fd);
	free(copy);
}

/* Puts the new DB at tmp in place unless it is empty or the same data. */
static int rs_install(struct reg_scan *s, const char *tmp,
		      struct reg_scan_import_result *r, struct err *e)
{
	char cur[sizeof(s->db_version)];
	struct vulndb *db;

	if (!r->records)
		return err_set(e, ERR_INVALID,
			       "the feed holds no advisory (%zu malformed "
			       "record(s) skipped): the DB is unchanged",
			       r->skipped);
	db = vulndb_open(tmp, e);
	if (!db)
		return -1;
	reg_scan_db_version(s, cur, sizeof(cur));
	r->unchanged =
		cur[0] && !strcmp(rs_version_content(cur),
				  rs_version_content(vulndb_version(db)));
	vulndb_free(db);
	if (r->unchanged)
		return 0;
	if (rename(tmp, s->db_path) < 0)
		return err_errno(e, ERR_IO, errno, "install the new DB");
	rs_sync_dir(s->db_path);
	return 0;
}

static void rs_import_feed(struct reg_scan *s, struct rs_import *imp)
{
	struct reg_scan_import_result *r = &imp->r;
	struct vulndb_import_stats stats = {0};
	const char *paths[1] = {imp->path};
	char *tmp = xasprintf("%s.import", s->db_path);

	r->e = (struct err)ERR_INIT;
	if (unlink(tmp) < 0 && errno != ENOENT)
		log_errno(LL_WARN, errno, "scan: remove %s", tmp);
	if (vulndb_import(tmp, paths, 1, &stats, &r->e) == 0) {
		r->records = stats.records;
		r->skipped = stats.skipped;
		if (rs_install(s, tmp, r, &r->e) == 0) {
			rs_db_check(s, false, &r->rematch);
			log_msg(LL_INFO,
				"scan: imported %zu advisories (%zu skipped)%s",
				r->records, r->skipped,
				r->unchanged ? ": the DB is unchanged" : "");
		}
	}
	if (r->e.code != ERR_OK)
		log_msg(LL_WARN, "scan: import: %s", r->e.msg);
	if (unlink(tmp) < 0 && errno != ENOENT)
		log_errno(LL_WARN, errno, "scan: remove %s", tmp);
	free(tmp);
}

void rs_import_run(struct reg_scan *s, struct rs_import *imp)
{
	rs_import_feed(s, imp);
	reg_scan_feed_remove(imp->path);
	reg_scan_db_version(s, imp->r.version, sizeof(imp->r.version));
	pthread_mutex_lock(&s->lock);
	s->import = NULL;
	pthread_mutex_unlock(&s->lock);
	imp->done(imp->arg, &imp->r);
	rs_import_free(imp);
}

void rs_import_drop(struct rs_import *imp)
{
	reg_scan_feed_remove(imp->path);
	err_set(&imp->r.e, ERR_IO, "the registry is stopping");
	imp->done(imp->arg, &imp->r);
	rs_import_free(imp);
}
