/* dbupdate.c: the vulnerability data on a schedule (dbupdate_int.h). */
#include "registry/dbupdate_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/maint_int.h"
#include "registry/scan/scan.h"
#include "scanner/scanner.h"
#include "storage/storage.h"
#include "common/banned.h"

/* With updates off, how often the DB's age is looked at. */
#define DBU_AGE_CHECK_S 3600

/* The thread (freed by mt_start() if it cannot start). */
struct dbu_thread {
	struct maint_thread t; /* first */
	struct reg_dbupdate *u;
};

struct reg_dbupdate {
	struct dbu_thread *th; /* NULL: no thread */
	struct reg_dbupdate_config c;
	struct vulndb_source *src;
	size_t nsrc;
	bool configured;      /* src is --db-source's, not the defaults */
	pthread_mutex_t lock; /* guards what follows */
	json_t *sources;      /* vulndb_sources_status() at status_at */
	time_t status_at;
	time_t last_run; /* 0: none yet */
	char last_error[256];
};

int64_t reg_db_version_age(const char *version, time_t now)
{
	time_t t = vulndb_version_time(version);

	return t ? (int64_t)(now - t) : -1;
}

/* The status of the sources in use (the cache may hold others, from an
 * earlier configuration). */
static void dbu_refresh(struct reg_dbupdate *u)
{
	time_t now = time(NULL);
	json_t *s = vulndb_sources_status(u->c.cache_dir, now), *row;
	size_t i;

	json_array_foreach(s, i, row) {
		const char *name =
			json_string_value(json_object_get(row, "name"));
		size_t j = 0;

		while (j < u->nsrc && strcmp(u->src[j].name, name))
			j++;
		if (j == u->nsrc) {
			json_array_remove(s, i);
			i--;
		}
	}

	pthread_mutex_lock(&u->lock);
	json_decref(u->sources);
	u->sources = s;
	u->status_at = now;
	pthread_mutex_unlock(&u->lock);
}

static void dbu_check_age(struct reg_dbupdate *u)
{
	time_t t = vulndb_import_time(u->c.dbpath), now = time(NULL);

	if (u->c.max_age_s <= 0 || !t || now - t <= u->c.max_age_s)
		return;
	log_msg(LL_WARN,
		"vulnerability DB %s was imported %lld hours ago, more than "
		"--db-max-age (%lld hours): reports say so; see GET "
		"/v2/_customs/db for each source's last error",
		u->c.dbpath, (long long)((now - t) / 3600),
		(long long)(u->c.max_age_s / 3600));
}

/* "os:alpine:3.18.4" -> "v3.18"; NULL for anything else. */
static char *dbu_alpine_branch(const char *os)
{
	const char *v = os + strlen("os:alpine:");
	const char *dot = strchr(v, '.');
	size_t n;

	if (strncmp(os, "os:alpine:", strlen("os:alpine:")) || !dot || dot == v)
		return NULL;
	n = (size_t)(dot - v) + 1 + strspn(dot + 1, "0123456789");
	if (n == (size_t)(dot - v) + 1)
		return NULL;
	return xasprintf("v%.*s", (int)n, v);
}

static void dbu_log_sources(const struct reg_dbupdate *u, const char *why)
{
	struct buf b;

	buf_init(&b, 8192);
	for (size_t i = 0; i < u->nsrc; i++)
		buf_addf(&b, "%s%s", i ? " " : "", u->src[i].name);
	log_msg(LL_INFO, "db update: %zu public feed(s) for %s: %s", u->nsrc,
		why, b.buf);
	buf_release(&b);
}

/* Without configured sources: the public feeds of the ecosystems and
 * Alpine branches the stored reports name, or all of them while there is
 * no report (a new registry gets its first images' data at once).  The
 * list replaces u->src. */
static void dbu_default_sources(struct reg_dbupdate *u)
{
	struct vulndb_want want = {.all = true};
	struct err e = ERR_INIT;
	char **names = NULL, **branches = NULL;
	size_t n = 0, nb = 0;

	if (u->c.st && stor_scan_ecosystems(u->c.st, &names, &n, &e) < 0)
		log_msg(LL_WARN,
			"db update: which feeds the images use: %s "
			"(fetching them all)",
			e.msg);
	if (n) {
		branches = xcalloc(n, sizeof(*branches));
		for (size_t i = 0; i < n; i++) {
			char *b = dbu_alpine_branch(names[i]);

			if (b)
				branches[nb++] = b;
		}
		want = (struct vulndb_want){false, (const char *const *)names,
					    n, (const char *const *)branches,
					    nb};
	}
	vulndb_sources_free(u->src, u->nsrc);
	vulndb_sources_default(&want, time(NULL), &u->src, &u->nsrc);
	dbu_log_sources(u, n ? "what the stored images use"
			     : "every ecosystem (no image stored yet)");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	for (size_t i = 0; i < nb; i++)
		free(branches[i]);
	free(names);
	free(branches);
}

static bool dbu_stopping(void *arg)
{
	return mt_stopping(&((struct reg_dbupdate *)arg)->th->t);
}

static void dbu_run(void *arg)
{
	struct reg_dbupdate *u = ((struct dbu_thread *)arg)->u;
	struct vulndb_update_opts o = {
		.dbpath = u->c.dbpath,
		.cache_dir = u->c.cache_dir,
		.sources = u->src,
		.nsources = u->nsrc,
		.stopping = dbu_stopping,
		.ctx = u,
	};
	struct vulndb_update_result r;
	struct err e = ERR_INIT;
	int rc;

	if (u->c.interval_s > 0) {
		if (!u->configured) {
			dbu_default_sources(u);
			o.sources = u->src;
			o.nsources = u->nsrc;
		}
		vulndb_fetch_defaults(&o.limits);
		rc = vulndb_update(&o, &r, &e);
		log_msg(rc < 0 ? LL_WARN : LL_INFO,
			"db update: %zu new, %zu unchanged, %zu failed%s%s%s",
			r.fetched, r.unchanged, r.failed,
			r.swapped ? "; the DB was replaced" : "",
			rc < 0 ? ": " : "", rc < 0 ? e.msg : "");
		if (r.swapped)
			reg_scan_reload(u->c.scan);
		pthread_mutex_lock(&u->lock);
		u->last_run = time(NULL);
		snprintf(u->last_error, sizeof(u->last_error), "%s",
			 rc < 0 ? e.msg : "");
		pthread_mutex_unlock(&u->lock);
		dbu_refresh(u);
	}
	dbu_check_age(u);
}

struct reg_dbupdate *reg_dbupdate_start(const struct reg_dbupdate_config *c,
					struct err *e)
{
	struct reg_dbupdate *u = xcalloc(1, sizeof(*u));
	const struct opt_list *l = c->sources;

	u->c = *c;
	pthread_mutex_init(&u->lock, NULL);
	if (l && l->n) {
		u->configured = true;
		u->src = xcalloc(l->n, sizeof(*u->src));
		for (; u->nsrc < l->n; u->nsrc++)
			if (vulndb_source_parse(l->v[u->nsrc], &u->src[u->nsrc],
						e) < 0)
				goto fail;
	} else {
		vulndb_sources_default(NULL, time(NULL), &u->src, &u->nsrc);
	}
	dbu_refresh(u);
	dbu_check_age(u);
	if (c->interval_s <= 0 && c->max_age_s <= 0)
		return u;
	u->th = xcalloc(1, sizeof(*u->th));
	u->th->u = u;
	u->th = mt_start(&u->th->t,
			 c->interval_s > 0 ? c->interval_s : DBU_AGE_CHECK_S,
			 dbu_run, "db update", e);
	if (!u->th)
		goto fail;
	if (c->interval_s > 0)
		log_msg(LL_INFO,
			"db update: %zu source(s), every %lld s, into %s",
			u->nsrc, (long long)c->interval_s, c->cache_dir);
	return u;
fail:
	reg_dbupdate_stop(u);
	return NULL;
}

void reg_dbupdate_stop(struct reg_dbupdate *u)
{
	if (!u)
		return;
	if (u->th)
		mt_stop(&u->th->t);
	vulndb_sources_free(u->src, u->nsrc);
	json_decref(u->sources);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static json_t *dbu_time(time_t t)
{
	char s[32];
	struct tm tm;

	if (!t)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

json_t *reg_dbupdate_status(struct reg_dbupdate *u)
{
	time_t now = time(NULL);
	json_t *out, *srcs, *row;
	size_t i;

	pthread_mutex_lock(&u->lock);
	srcs = json_deep_copy(u->sources);
	json_array_foreach(srcs, i, row) {
		json_t *age = json_object_get(row, "age_s");

		if (json_is_integer(age))
			json_integer_set(age, json_integer_value(age) +
						      (now - u->status_at));
	}
	out = json_pack("{s:I, s:I, s:o, s:o, s:o}", "interval_s",
			(json_int_t)(u->c.interval_s > 0 ? u->c.interval_s : 0),
			"max_age_s", (json_int_t)u->c.max_age_s, "last_run",
			dbu_time(u->last_run), "last_error",
			u->last_error[0] ? json_string(u->last_error)
					 : json_null(),
			"sources", srcs ? srcs : json_array());
	pthread_mutex_unlock(&u->lock);
	return out;
}
