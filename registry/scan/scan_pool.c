/* scan_pool.c: the scan workers and the DB thread.
 *
 * Workers claim jobs from meta.db; with none due they sleep on a condition
 * variable until reg_scan_kick() or a second passes (retries wait in the
 * queue with a not-before time).  The DB thread ("manager") watches the
 * vulnerability DB file, runs imports, and when the DB changes bumps a
 * generation (workers reopen their handles) and re-arms the jobs whose
 * reports were matched against another DB.  Imports (scan_import.c) run
 * on the DB thread too.
 */
#include "registry/scan/scan_int.h"

#include <malloc.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/events/events.h"
#include "scanner/scanner.h"
#include "common/banned.h"

uint64_t rs_db_gen(struct reg_scan *s)
{
	uint64_t gen;

	pthread_mutex_lock(&s->lock);
	gen = s->db_gen;
	pthread_mutex_unlock(&s->lock);
	return gen;
}

bool rs_stopping(struct reg_scan *s)
{
	return atomic_load(&s->stop);
}

void reg_scan_db_version(struct reg_scan *s, char *out, size_t n)
{
	pthread_mutex_lock(&s->lock);
	snprintf(out, n, "%s", s->db_shown);
	pthread_mutex_unlock(&s->lock);
}

/* The version shown becomes the loaded one: whoever sees it and then an
 * idle queue knows the re-match is done. */
static void rs_db_show(struct reg_scan *s, const char *version)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->db_shown, sizeof(s->db_shown), "%s", version);
	pthread_mutex_unlock(&s->lock);
}

bool reg_scan_final(const struct stor_scan *sc)
{
	return sc->has_result || sc->state == STOR_SCAN_NONE ||
	       sc->state == STOR_SCAN_DONE || sc->state == STOR_SCAN_FAILED;
}

void reg_scan_on_final(struct reg_scan *s, reg_scan_final_fn fn, void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->on_final = fn;
	s->on_final_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

void rs_notify(struct reg_scan *s, const struct digest *dg)
{
	reg_scan_final_fn fn;
	void *arg;

	pthread_mutex_lock(&s->lock);
	fn = s->on_final;
	arg = s->on_final_arg;
	pthread_mutex_unlock(&s->lock);
	if (fn)
		fn(arg, dg);
}

void reg_scan_on_report(struct reg_scan *s, reg_scan_report_fn fn, void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->on_report = fn;
	s->on_report_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

void rs_reported(struct reg_scan *s, const struct digest *dg)
{
	reg_scan_report_fn fn;
	void *arg;

	pthread_mutex_lock(&s->lock);
	fn = s->on_report;
	arg = s->on_report_arg;
	pthread_mutex_unlock(&s->lock);
	if (fn)
		fn(arg, dg);
}

void reg_scan_kick(struct reg_scan *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->kicks++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void reg_scan_reload(struct reg_scan *s)
{
	if (!s)
		return;
	s->reload_asked = 1;
	sem_post(&s->wake_manager);
}

/* --- Workers ------------------------------------------------------------ */

/* Sleeps until a kick after `seen`, a stop, or a second. */
static void rs_idle(struct reg_scan *s, uint64_t seen)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	pthread_mutex_lock(&s->lock);
	while (!s->stop && s->kicks == seen)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->lock);
}

static void *rs_worker_main(void *arg)
{
	struct rs_worker *w = arg;
	struct reg_scan *s = w->pool;
	struct stor_scan_job job;
	uint64_t seen;
	bool stop;
	int rc;

	for (;;) {
		struct err e = ERR_INIT;

		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		seen = s->kicks;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		if (rs_batch_run(w)) {
			malloc_trim(0);
			continue;
		}
		rc = stor_scan_claim(s->st, s->lease_s, &job, &e);
		if (rc == 1) {
			rs_job_run(w, &job);
			stor_scan_job_release(&job);
			/* A scan's layer buffers are large and short-lived:
			 * give them back rather than let the arena keep them.
			 */
			malloc_trim(0);
			continue;
		}
		if (rc < 0)
			log_msg(LL_ERROR, "scan: claim: %s", e.msg);
		/* Scan jobs first: a push waits for them. */
		if (rc == 0 && rs_layer_run(w)) {
			malloc_trim(0);
			continue;
		}
		rs_idle(s, seen);
	}
	rs_batch_end(w);
	vulndb_free(w->db);
	free(w->db_note);
	return NULL;
}

/* --- The DB ------------------------------------------------------------- */

/* Reads the DB file's version; "" when there is none usable. */
static void rs_db_read_version(struct reg_scan *s, char *out, size_t n)
{
	struct err e = ERR_INIT;
	struct vulndb *db = vulndb_open(s->db_path, &e);

	out[0] = '\0';
	if (db)
		snprintf(out, n, "%s", vulndb_version(db));
	else if (e.code != ERR_NOT_FOUND)
		log_msg(LL_WARN, "scan: vulnerability DB: %s", e.msg);
	vulndb_free(db);
}

static bool rs_db_same_file(const struct reg_scan *s, const struct stat *st)
{
	return s->db_dev == st->st_dev && s->db_ino == st->st_ino &&
	       s->db_size == st->st_size &&
	       s->db_mtime.tv_sec == st->st_mtim.tv_sec &&
	       s->db_mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* db.updated: a new DB (an update, an import, a file replaced and
 * SIGHUP), not the one found at start. */
static void rs_db_event(struct reg_scan *s, const char *version, size_t n)
{
	struct reg_event_target t = {0};

	reg_events_note(s->events, "db.updated", &t, NULL,
			json_pack("{s:{s:s?, s:I}}", "db", "version",
				  version[0] ? version : NULL, "rematch",
				  (json_int_t)n));
}

void rs_db_check(struct reg_scan *s, bool force, size_t *rearmed)
{
	char version[sizeof(s->db_version)];
	struct err e = ERR_INIT;
	struct stat st;
	bool changed, present, first;
	size_t n = 0;

	if (rearmed)
		*rearmed = 0;
	present = stat(s->db_path, &st) == 0;
	if (!present)
		memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&s->lock);
	changed = force || !rs_db_same_file(s, &st);
	pthread_mutex_unlock(&s->lock);
	if (!changed)
		return;
	rs_db_read_version(s, version, sizeof(version));
	pthread_mutex_lock(&s->lock);
	s->db_dev = st.st_dev;
	s->db_ino = st.st_ino;
	s->db_size = st.st_size;
	s->db_mtime = st.st_mtim;
	first = s->db_gen == 0;
	changed = strcmp(version, s->db_version) != 0 || first;
	if (changed) {
		snprintf(s->db_version, sizeof(s->db_version), "%s", version);
		s->db_gen++;
	}
	pthread_mutex_unlock(&s->lock);
	if (!changed)
		return;
	if (stor_scan_rearm(s->st, version[0] ? version : NULL, &n, &e) < 0) {
		log_msg(LL_ERROR, "scan: re-arm after DB change: %s", e.msg);
		rs_db_show(s, version);
		return;
	}
	rs_db_show(s, version);
	log_msg(LL_INFO, "scan: vulnerability DB %s; %zu report(s) to re-match",
		version[0] ? version
			   : "absent (reports say: no vulnerability "
			     "data)",
		n);
	if (rearmed)
		*rearmed = n;
	if (!first)
		rs_db_event(s, version, n);
	reg_scan_kick(s);
}

/* --- The manager thread ------------------------------------------------- */

static void *rs_manager_main(void *arg)
{
	struct reg_scan *s = arg;
	struct rs_import *imp;
	struct timespec ts;
	bool stop;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += RS_DB_POLL_S;
		while (sem_timedwait(&s->wake_manager, &ts) < 0 &&
		       errno == EINTR)
			;
		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		imp = s->import;
		if (imp && !imp->running)
			imp->running = true;
		else
			imp = NULL;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		if (imp) {
			rs_import_run(s, imp);
			continue;
		}
		rs_db_check(s, s->reload_asked != 0, NULL);
		s->reload_asked = 0;
	}
	return NULL;
}

/* --- The heartbeat ------------------------------------------------------ */

/* Renews this node's leases every quarter lease until the pool stops;
 * a thread of its own, so that neither a long scan nor an import on the
 * DB thread holds it up. */
static void *rs_heartbeat_main(void *arg)
{
	struct reg_scan *s = arg;
	int64_t every = s->lease_s / 4 > 0 ? s->lease_s / 4 : 1;
	struct timespec ts;
	struct err e;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += every;
		while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock,
							  &ts) != ETIMEDOUT)
			;
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->lock);
		e = (struct err)ERR_INIT;
		if (stor_scan_renew(s->st, s->lease_s, NULL, &e) < 0)
			log_msg(LL_WARN, "scan: renewing leases: %s", e.msg);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* --- Lifecycle ----------------------------------------------------------- */

static int rs_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* A worker thread's scan process started (pid) or is about to be reaped
 * (0); reg_scan_stop() kills the live ones. */
static void rs_track(void *ctx, pid_t pid)
{
	struct rs_worker *w = ctx;

	pthread_mutex_lock(&w->pool->lock);
	w->child = pid;
	pthread_mutex_unlock(&w->pool->lock);
}

static int rs_start(struct reg_scan *s, const struct scan_sandbox *sb,
		    struct err *e)
{
	int rc;

	for (int i = 0; i < s->nworkers; i++) {
		s->workers[i].pool = s;
		s->workers[i].sb = *sb;
		s->workers[i].sb.track = rs_track;
		s->workers[i].sb.track_ctx = &s->workers[i];
		rc = pthread_create(&s->workers[i].thread, NULL, rs_worker_main,
				    &s->workers[i]);
		if (rc)
			return err_errno(e, ERR_INTERNAL, rc,
					 "start scan worker");
		s->workers[i].started = true;
	}
	rc = pthread_create(&s->manager, NULL, rs_manager_main, s);
	if (rc)
		return err_errno(e, ERR_INTERNAL, rc, "start scan DB thread");
	s->manager_started = true;
	rc = pthread_create(&s->heartbeat, NULL, rs_heartbeat_main, s);
	if (rc)
		return err_errno(e, ERR_INTERNAL, rc, "start scan heartbeat");
	s->heartbeat_started = true;
	return 0;
}

struct reg_scan *reg_scan_new(const struct reg_scan_config *cfg, struct err *e)
{
	struct reg_scan *s = xcalloc(1, sizeof(*s));
	size_t n = 0;

	s->st = cfg->st;
	s->events = cfg->events;
	s->budget = cfg->budget;
	s->db_path = xstrdup(cfg->vuln_db);
	s->sev_pref = cfg->sev_pref;
	s->layers = cfg->layers;
	s->sbom = cfg->sbom;
	s->nworkers = cfg->workers > 0 ? cfg->workers : rs_cores();
	s->lease_s = cfg->lease_s > 0 ? cfg->lease_s : RS_LEASE_S;
	s->workers = xcalloc((size_t)s->nworkers, sizeof(*s->workers));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	sem_init(&s->wake_manager, 0, 0);
	rs_vex_cache_init(&s->vex_wide);
	if (cfg->nvex_files) {
		s->vex = scan_vex_new();
		for (size_t i = 0; i < cfg->nvex_files; i++)
			if (scan_vex_add_file(s->vex, cfg->vex_files[i], e) < 0)
				goto fail;
	}
	if (stor_scan_recover(s->st, RS_MAX_ATTEMPTS, &n, e) < 0)
		goto fail;
	if (n)
		log_msg(LL_INFO, "scan: %zu interrupted job(s) queued again",
			n);
	if (s->layers && stor_layer_recover(s->st, &n, e) < 0)
		goto fail;
	if (s->layers && n)
		log_msg(LL_INFO,
			"scan: %zu interrupted layer index(es) "
			"queued again",
			n);
	rs_db_check(s, true, NULL);
	if (rs_start(s, &cfg->sandbox, e) < 0)
		goto fail;
	log_msg(LL_INFO, "scan: %d worker(s)", s->nworkers);
	return s;
fail:
	reg_scan_stop(s);
	reg_scan_free(s);
	return NULL;
}

void reg_scan_stop(struct reg_scan *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	/* A scan in progress is cut short; its job is taken again at the
	 * next start. */
	for (int i = 0; s->workers && i < s->nworkers; i++)
		if (s->workers[i].child > 0)
			kill(s->workers[i].child, SIGKILL);
	pthread_mutex_unlock(&s->lock);
	sem_post(&s->wake_manager);
	for (int i = 0; i < s->nworkers; i++) {
		if (s->workers[i].started)
			pthread_join(s->workers[i].thread, NULL);
		s->workers[i].started = false;
	}
	if (s->manager_started)
		pthread_join(s->manager, NULL);
	s->manager_started = false;
	if (s->heartbeat_started)
		pthread_join(s->heartbeat, NULL);
	s->heartbeat_started = false;
}

void reg_scan_free(struct reg_scan *s)
{
	if (!s)
		return;
	if (s->import)
		rs_import_drop(s->import);
	sem_destroy(&s->wake_manager);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->workers);
	free(s->db_path);
	scan_vex_free(s->vex);
	rs_vex_cache_release(&s->vex_wide);
	free(s);
}
