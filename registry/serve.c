/* serve.c: `customs serve`: config, storage, HTTP server, signals. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "registry/api_int.h"
#include "registry/authz_int.h"
#include "registry/config_int.h"
#include "registry/dbupdate_int.h"
#include "registry/events/events.h"
#include "common/xmalloc.h"
#include "registry/http/http.h"
#include "registry/limit_int.h"
#include "registry/maint_int.h"
#include "registry/policy_int.h"
#include "registry/proxy/proxy.h"
#include "registry/registry.h"
#include "registry/scan/scan.h"
#include "registry/waiters_int.h"
#include "registry/work_int.h"
#include "registry/metrics_int.h"
#include "storage/storage.h"
#include "common/banned.h"

/* For the signal handler only: http_server_stop() is async-signal-safe. */
static struct http_server *volatile serve_srv;
static struct http_server *volatile serve_msrv; /* --metrics-listen */
/* SIGHUP reloads the vulnerability DB (reg_scan_reload() is too). */
static struct reg_scan *volatile serve_scan;

static void serve_on_signal(int sig)
{
	struct http_server *srv = serve_srv;

	(void)sig;
	reg_metrics_draining();
	if (srv)
		http_server_stop(srv);
	srv = serve_msrv;
	if (srv)
		http_server_stop(srv);
}

static void serve_on_hup(int sig)
{
	(void)sig;
	reg_scan_reload(serve_scan);
}

static void serve_signals(bool install)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = install ? serve_on_signal : SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = install ? serve_on_hup : SIG_DFL;
	sigaction(SIGHUP, &sa, NULL);
}

/* Scan workers and pull policy; the DB defaults to DATA/vulndb.db. */
static int serve_scan_start(struct cfg *cfg, struct reg_ctx *ctx,
			    struct reg_policy *policy, struct err *e)
{
	struct reg_scan_config sc;

	if (!cfg->vuln_db)
		cfg->vuln_db = xasprintf("%s/vulndb.db", cfg->data);
	if (reg_policy_init(policy, cfg, e) < 0)
		return -1;
	ctx->policy = policy;
	policy->events = ctx->events;
	sc = (struct reg_scan_config){.st = ctx->st,
				      .workers = cfg->scan_workers,
				      .lease_s = cfg->scan_lease,
				      .vuln_db = cfg->vuln_db,
				      .sbom = cfg->sbom_referrers,
				      .layers = cfg->scan_layers,
				      .vex_files = cfg->vex.v,
				      .nvex_files = cfg->vex.n,
				      .events = ctx->events};
	sc.budget = (struct scan_budget){
		.layer_bytes = (int64_t)cfg->scan_max_layer_bytes,
		.image_bytes = (int64_t)cfg->scan_max_image_bytes,
		.ratio = cfg->scan_max_ratio,
		.layer_entries = cfg->scan_max_layer_entries,
		.file_bytes = (int64_t)cfg->scan_max_file_bytes,
		.packages = cfg->scan_max_packages,
		.deadline_ms = (int64_t)cfg->scan_deadline * 1000,
	};
	scan_sandbox_defaults(&sc.sandbox);
	sc.sandbox.memory_bytes = (int64_t)cfg->scan_memory;
	if (cfg->severity_source)
		vuln_sev_pref_parse(cfg->severity_source, &sc.sev_pref);
	ctx->scan = reg_scan_new(&sc, e);
	if (!ctx->scan)
		return -1;
	ctx->waiters = reg_waiters_new(ctx->st, ctx->scan);
	reg_scan_on_report(ctx->scan, api_ui_report_stored, ctx);
	reg_policy_check_db(policy, ctx->scan);
	return 0;
}

/* The feeds on a schedule, cached in DATA/advisories (dbupdate_int.h). */
static int serve_dbupdate_start(const struct cfg *cfg, struct reg_ctx *ctx,
				char **cache, struct err *e)
{
	struct reg_dbupdate_config dc = {
		.dbpath = cfg->vuln_db,
		.sources = &cfg->db_source,
		.interval_s = cfg->db_update_interval,
		.max_age_s = cfg->db_max_age,
		.scan = ctx->scan,
		.st = ctx->st,
	};

	*cache = xasprintf("%s/" VULNDB_CACHE_DIR, cfg->data);
	dc.cache_dir = *cache;
	ctx->dbupdate = reg_dbupdate_start(&dc, e);
	return ctx->dbupdate ? 0 : -1;
}

/* Webhooks (events/events.h); none configured: ctx->events stays NULL. */
static int serve_events_start(const struct cfg *cfg, struct reg_ctx *ctx,
			      struct err *e)
{
	struct reg_events_config ec = {
		.webhooks = &cfg->webhook,
		.timeout_s = cfg->webhook_timeout,
		.backoff_s = cfg->webhook_backoff,
		.backoff_max_s = cfg->webhook_backoff_max,
		.give_up_s = cfg->webhook_give_up,
	};

	return reg_events_new(&ec, ctx->st, &ctx->events, e);
}

static void serve_http_config(const struct cfg *cfg, struct http_config *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->listen = cfg->listen;
	hc->threads = cfg->threads;
	hc->tls_cert = cfg->tls_cert;
	hc->tls_key = cfg->tls_key;
	hc->port_file = cfg->port_file;
	hc->tls_client_ca = cfg->tls_client_ca;
	hc->max_conns = cfg->max_conns;
	hc->max_header_bytes = cfg->max_header_bytes;
	hc->header_timeout_s = (int)cfg->header_timeout;
	hc->idle_timeout_s = (int)cfg->idle_timeout;
}

/* Anyone who reaches a non-loopback address may push, delete and load
 * vulnerability data when nobody signs in: say so where it shows. */
static void serve_warn_open(const struct cfg *cfg)
{
	char host[256];

	if (!cfg_auth_none(cfg) ||
	    (cfg_listen_split(cfg->listen, host, sizeof(host), NULL) == 0 &&
	     *host && cfg_addr_loopback(host)))
		return;
	log_msg(LL_WARN,
		"WARNING: --listen %s with --auth none: anyone who can reach "
		"this address may push, pull and delete images without "
		"signing in (admin endpoints still answer loopback callers "
		"only); use --auth basic or token, or listen on 127.0.0.1",
		cfg->listen);
}

/* --metrics-listen: a server of its own (one loop thread, a few
 * connections: scrapers and probes), run on a thread beside the main one
 * and stopped with it. */
#define SERVE_METRICS_CONNS 64

struct serve_metrics {
	struct http_server *srv;
	pthread_t thread;
	bool running;
};

static void *serve_metrics_main(void *arg)
{
	http_server_run(arg);
	return NULL;
}

static int serve_metrics_start(const struct cfg *cfg, struct reg_ctx *ctx,
			       struct serve_metrics *m, struct err *e)
{
	struct http_config hc;
	char host[256];
	int rc;

	if (!cfg->metrics_listen)
		return 0;
	serve_http_config(cfg, &hc);
	hc.listen = cfg->metrics_listen;
	hc.threads = 1;
	hc.port_file = NULL;
	hc.tls_client_ca = NULL; /* nobody signs in there */
	hc.max_conns = SERVE_METRICS_CONNS;
	m->srv = http_server_new(&hc, reg_metrics_dispatch, ctx, e);
	if (!m->srv)
		return -1;
	rc = pthread_create(&m->thread, NULL, serve_metrics_main, m->srv);
	if (rc)
		return err_errno(e, ERR_INTERNAL, rc, "metrics thread");
	m->running = true;
	serve_msrv = m->srv;
	log_msg(LL_INFO,
		"metrics and health checks on port %d "
		"(--metrics-listen, no sign-in)",
		http_server_port(m->srv));
	if (cfg_listen_split(cfg->metrics_listen, host, sizeof(host), NULL) ==
		    0 &&
	    !cfg_addr_loopback(host))
		log_msg(LL_WARN,
			"--metrics-listen %s: anyone who can reach this "
			"address may read the metrics (repository counts, "
			"upstream errors, feed sources)",
			cfg->metrics_listen);
	return 0;
}

/* Before anything the metrics read is freed. */
static void serve_metrics_stop(struct serve_metrics *m)
{
	serve_msrv = NULL;
	if (m->running) {
		http_server_stop(m->srv);
		pthread_join(m->thread, NULL);
		m->running = false;
	}
	http_server_free(m->srv);
	m->srv = NULL;
}

/* File descriptors that are not connections: sqlite (a database, its WAL
 * and shared memory per connection, a connection per thread), the event
 * bases, scan workers, upstream connections, logs and the store. */
static long serve_fd_reserve(const struct cfg *cfg)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long threads = cfg->threads > 0 ? cfg->threads : cores;
	long workers = cfg->scan_workers > 0 ? cfg->scan_workers : cores;
	long reserve = 64 + 8 * threads + 16 * workers;

	if (cfg->mirror || cfg->upstream.n)
		reserve += 8L * cfg->proxy_workers;
	if (cfg->metrics_listen)
		reserve += 2L * SERVE_METRICS_CONNS;
	return reserve;
}

/* systemd starts services with a soft RLIMIT_NOFILE of 1024: raise it to
 * the hard limit, then keep --max-conns within what the descriptors allow,
 * so that past it clients get a 503 instead of waiting on an accept() that
 * fails with EMFILE.  Logs the values in effect. */
static int serve_fd_limits(struct cfg *cfg, struct err *e)
{
	struct rlimit rl;
	long reserve = serve_fd_reserve(cfg), fds;
	int conns;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return err_errno(e, ERR_INTERNAL, errno, "getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {rl.rlim_max, rl.rlim_max};

		/* An unlimited hard limit is capped by fs.nr_open. */
		if (want.rlim_cur == RLIM_INFINITY)
			want.rlim_cur = want.rlim_max = 1 << 20;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = want.rlim_cur;
		else
			log_errno(LL_WARN, errno,
				  "cannot raise the open-file limit from %llu",
				  (unsigned long long)rl.rlim_cur);
	}
	fds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > LONG_MAX / 2
		      ? LONG_MAX / 2
		      : (long)rl.rlim_cur;
	conns = http_conns_for_fds(fds - reserve);
	if (conns < 1)
		return err_set(
			e, ERR_INVALID,
			"%ld open files (RLIMIT_NOFILE) leave no room for "
			"connections; %ld are needed besides them",
			fds, reserve);
	if (cfg->max_conns > conns) {
		log_msg(LL_WARN,
			"--max-conns %d lowered to %d: %ld open files allowed "
			"(RLIMIT_NOFILE), %ld kept for other use",
			cfg->max_conns, conns, fds, reserve);
		cfg->max_conns = conns;
	}
	log_msg(LL_INFO, "open files: %ld allowed; connections: %d", fds,
		cfg->max_conns);
	return 0;
}

/* After a crash: temporary files and ownerless upload data (the store's
 * lock says no one else writes them); then gc on its schedule, quotas and
 * the request rate. */
static int serve_maint_start(const struct cfg *cfg, struct reg_ctx *ctx,
			     struct reg_sched **gc, struct reg_sched **scrub,
			     struct err *e)
{
	struct reg_scrub_config scc = {cfg->scrub_interval,
				       (int64_t)cfg->scrub_rate};
	struct reg_gc_config gcc = {cfg->gc_interval, cfg->gc_grace,
				    cfg->upload_ttl, cfg->gc_untagged,
				    cfg->max_sweep_share};
	struct stor_gc_stats s;

	if (stor_recover(ctx->st, &s, e) < 0)
		return -1;
	if (s.temps || s.uploads)
		log_msg(LL_INFO,
			"recovered: %zu temporary files and %zu broken uploads "
			"deleted (%lld bytes)",
			s.temps, s.uploads, (long long)s.bytes);
	ctx->quota = reg_quota_new(ctx->st, (int64_t)cfg->quota);
	ctx->limit = reg_limit_new(cfg->rate_limit, cfg->rate_burst);
	*gc = reg_gc_start(ctx->st, &gcc, e);
	if (!*gc && cfg->gc_interval > 0)
		return -1;
	*scrub = reg_scrub_start(ctx->st, &scc, e);
	return *scrub || cfg->scrub_interval <= 0 ? 0 : -1;
}

/* Over its request rate, a client gets 429 before anything else runs. */
static void serve_dispatch(struct http_req *req, void *arg)
{
	struct reg_ctx *ctx = arg;

	if (!reg_limit_reply(ctx->limit, req))
		reg_dispatch(req, arg);
}

/* glibc hands freed input buffers back to the kernel at once, so a streamed
 * upload page-faults on every piece (a quarter of a push's CPU), and each
 * thread that allocates grows an arena of its own.  Keep 16 MiB around and
 * share a few arenas: both bound RSS better than the defaults. */
static void serve_tune_malloc(void)
{
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	mallopt(M_ARENA_MAX, 2);
}

int reg_serve_main(int argc, char **argv)
{
	struct http_server *srv = NULL;
	struct http_config hc;
	struct err e = ERR_INIT;
	struct reg_ctx ctx = {0};
	struct reg_policy policy = {.deny = -1};
	struct stor_lock *lock = NULL;
	struct reg_sched *gc = NULL, *scrub = NULL;
	struct serve_metrics msrv = {0};
	char *feeds = NULL;
	enum log_level level;
	enum log_format format;
	struct cfg cfg;
	bool help;
	int rc = 1;

	if (cfg_from_args(&cfg, argc, argv, &help, &e) < 0)
		return opt_fail(&cfg_cmd, "%s", e.msg);
	if (help) {
		cfg_usage(stdout);
		rc = 0;
		goto out;
	}
	if (log_level_parse(cfg.log_level, &level) == 0)
		log_set_level(level);
	if (log_format_parse(cfg.log_format, &format) == 0)
		log_set_format(format);
	log_env_export(); /* the scan workers log alike */
	/* The event loops must never wait on a write to the log. */
	if (log_async_start(0) < 0)
		log_msg(LL_WARN, "serve: no logger thread: logs synchronously");
	serve_tune_malloc();
	serve_warn_open(&cfg);
	ctx.cfg = &cfg;
	if (serve_fd_limits(&cfg, &e) < 0)
		goto fail;
	/* One server per data directory: its crash recovery relies on it. */
	lock = stor_lock_take(cfg.data, &e);
	if (lock)
		ctx.st = stor_open_with(
			cfg.data,
			&(struct stor_opts){.storage = cfg.storage,
					    .s3 = &cfg.s3},
			&e);
	if (!ctx.st || stor_upload_states_keep(ctx.st, &e) < 0 ||
	    serve_maint_start(&cfg, &ctx, &gc, &scrub, &e) < 0 ||
	    reg_authz_new(&cfg, &ctx.auth, &e) < 0 ||
	    !(ctx.work = reg_work_new(0, &e)) ||
	    serve_events_start(&cfg, &ctx, &e) < 0 ||
	    serve_scan_start(&cfg, &ctx, &policy, &e) < 0 ||
	    serve_dbupdate_start(&cfg, &ctx, &feeds, &e) < 0 ||
	    reg_proxy_new(&cfg, ctx.st, &ctx.proxy, &e) < 0)
		goto fail;
	serve_http_config(&cfg, &hc);
	srv = http_server_new(&hc, serve_dispatch, &ctx, &e);
	if (!srv || serve_metrics_start(&cfg, &ctx, &msrv, &e) < 0)
		goto fail;
	serve_srv = srv;
	reg_events_set_port(ctx.events, http_server_port(srv));
	serve_scan = ctx.scan;
	serve_signals(true);
	http_server_run(srv);
	serve_signals(false);
	serve_srv = NULL;
	serve_scan = NULL;
	rc = 0;
	goto out;
fail:
	log_msg(LL_ERROR, "serve: %s", e.msg);
out:
	/* Workers stop before the server goes (they wake its requests);
	 * the pool after, the waiters last (closing connections ends their
	 * waits, freeing the pool an import never run).  Upstream
	 * fetches end first: they kick the scan workers.  A gc run ends at
	 * its next item. */
	serve_metrics_stop(&msrv);
	reg_sched_stop(gc);
	reg_sched_stop(scrub);
	reg_dbupdate_stop(ctx.dbupdate);
	free(feeds);
	reg_proxy_stop(ctx.proxy);
	reg_scan_stop(ctx.scan);
	reg_work_stop(ctx.work);
	http_server_free(srv);
	reg_work_free(ctx.work);
	reg_scan_free(ctx.scan);
	reg_waiters_free(ctx.waiters);
	/* After everything that makes events: the last pulls are stored. */
	reg_events_free(ctx.events);
	reg_policy_release(&policy);
	reg_proxy_free(ctx.proxy);
	auth_free(ctx.auth);
	reg_quota_free(ctx.quota);
	reg_limit_free(ctx.limit);
	stor_free(ctx.st);
	stor_lock_free(lock);
	cfg_release(&cfg);
	log_async_stop();
	return rc;
}
