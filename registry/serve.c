/* serve.c: `customs serve`: config, storage, HTTP server, signals. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "registry/api.h"
#include "registry/config.h"
#include "common/xmalloc.h"
#include "registry/http.h"
#include "registry/policy.h"
#include "registry/registry.h"
#include "registry/scan.h"
#include "storage/storage.h"
#include "common/banned.h"

/* For the signal handler only: http_server_stop() is async-signal-safe. */
static struct http_server *volatile serve_srv;
/* SIGHUP reloads the vulnerability DB (reg_scan_reload() is too). */
static struct reg_scan *volatile serve_scan;

static void serve_on_signal(int sig)
{
	struct http_server *srv = serve_srv;

	(void)sig;
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
	sc = (struct reg_scan_config){ctx->st, cfg->scan_workers, cfg->vuln_db};
	ctx->scan = reg_scan_new(&sc, e);
	return ctx->scan ? 0 : -1;
}

static void serve_http_config(const struct cfg *cfg, struct http_config *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->listen = cfg->listen;
	hc->threads = cfg->threads;
	hc->tls_cert = cfg->tls_cert;
	hc->tls_key = cfg->tls_key;
	hc->port_file = cfg->port_file;
}

int reg_serve_main(int argc, char **argv)
{
	struct http_server *srv = NULL;
	struct http_config hc;
	struct err e = ERR_INIT;
	struct reg_ctx ctx = {0};
	struct reg_policy policy = {.deny = -1};
	enum log_level level;
	struct cfg cfg;
	bool help;
	int rc = 1;

	if (cfg_from_args(&cfg, argc, argv, &help, &e) < 0) {
		fprintf(stderr, "customs serve: %s\n", e.msg);
		fprintf(stderr, "'customs serve --help' lists the options.\n");
		return 2;
	}
	if (help) {
		cfg_usage(stdout, "serve");
		rc = 0;
		goto out;
	}
	if (log_level_parse(cfg.log_level, &level) == 0)
		log_set_level(level);
	ctx.cfg = &cfg;
	ctx.st = stor_open(cfg.data, &e);
	if (!ctx.st || serve_scan_start(&cfg, &ctx, &policy, &e) < 0)
		goto fail;
	serve_http_config(&cfg, &hc);
	srv = http_server_new(&hc, reg_dispatch, &ctx, &e);
	if (!srv)
		goto fail;
	serve_srv = srv;
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
	 * the pool after (closing connections ends their waits). */
	reg_scan_stop(ctx.scan);
	http_server_free(srv);
	reg_scan_free(ctx.scan);
	reg_policy_release(&policy);
	stor_free(ctx.st);
	cfg_release(&cfg);
	return rc;
}
