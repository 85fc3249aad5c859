#include "registry/config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "storage/storage.h"

#include "common/banned.h"

#define CFG_OFF(field) offsetof(struct cfg, field)

static const char *const cfg_log_levels[] = {"debug", "info", "warn", "error",
					     NULL};

static const char *const cfg_log_formats[] = {"text", "json", NULL};

static const char *const cfg_auth_modes[] = {"none", "basic", "token", NULL};

static const char *const cfg_allow_deny[] = {"allow", "deny", NULL};
static const char *const cfg_sev_sources[] = {"vendor", "nvd", NULL};

static const char *const cfg_severities[] = {"critical", "high",    "medium",
					     "low",	 "unknown", NULL};

const struct opt cfg_options[] = {
	{"listen", OPT_STRING, 0, 0, ":5000", CFG_OFF(listen), NULL, "ADDR",
	 "address to listen on: host:port, [v6]:port or :port (127.0.0.1 "
	 "with --auth none, else every interface); port 0: any free one"},
	{"metrics-listen", OPT_STRING, 0, 0, NULL, CFG_OFF(metrics_listen),
	 NULL, "ADDR",
	 "also serve /metrics, /healthz and /readyz, and nothing else, on "
	 "ADDR, to anyone who reaches it (no sign-in): host:port, [v6]:port "
	 "or :port (127.0.0.1)"},
	{"data", OPT_STRING, 0, 0, "./var", CFG_OFF(data), NULL, "DIR",
	 "data directory (blobs, uploads, meta.db)"},
	{"meta", OPT_STRING, 0, 0, NULL, CFG_OFF(meta), NULL, "URL",
	 "metadata in PostgreSQL (postgres://... or a libpq conninfo; "
	 "password from PGPASSWORD or ~/.pgpass) instead of DIR/meta.db"},
	STOR_OPT_ROWS(struct cfg, storage, s3),
	{"s3-redirect", OPT_BOOL, 0, 0, "false", CFG_OFF(s3_redirect), NULL,
	 NULL,
	 "blob GETs answer 307 to a presigned S3 URL: clients fetch (and "
	 "Range) from S3 directly"},
	{"s3-redirect-expiry", OPT_DURATION, 1, 604800, "15m",
	 CFG_OFF(s3_redirect_expiry), NULL, "DURATION",
	 "how long a --s3-redirect URL is good for (S3 allows 7 days)"},
	{"threads", OPT_INT, 0, 256, "0", CFG_OFF(threads), NULL, "N",
	 "event-loop threads; 0 = one per core"},
	{"tls-cert", OPT_STRING, 0, 0, NULL, CFG_OFF(tls_cert), NULL, "FILE",
	 "PEM certificate chain; serves HTTPS"},
	{"tls-key", OPT_STRING, 0, 0, NULL, CFG_OFF(tls_key), NULL, "FILE",
	 "PEM private key of --tls-cert"},
	{"max-manifest", OPT_SIZE, 1024, 1LL << 30, "4MiB",
	 CFG_OFF(max_manifest), NULL, "SIZE",
	 "largest manifest accepted (413 above)"},
	{"refuse-sparse", OPT_BOOL, 0, 0, "false", CFG_OFF(refuse_sparse), NULL,
	 NULL,
	 "refuse manifests listing what the registry does not hold: an "
	 "index's missing platforms, absent non-distributable layers "
	 "(MANIFEST_BLOB_UNKNOWN)"},
	{"log-level", OPT_STRING, 0, 0, "info", CFG_OFF(log_level),
	 cfg_log_levels, "LEVEL", "debug, info, warn or error"},
	{"log-format", OPT_STRING, 0, 0, "text", CFG_OFF(log_format),
	 cfg_log_formats, "FORMAT",
	 "text, or json: one object per line (ts, level, msg, request_id, "
	 "and an access line's method, path, status, bytes, duration_ms, "
	 "remote, user)"},
	{"port-file", OPT_STRING, 0, 0, NULL, CFG_OFF(port_file), NULL, "FILE",
	 "write the bound port to FILE (useful with port 0)"},
	{"scan-workers", OPT_INT, 0, 256, "0", CFG_OFF(scan_workers), NULL, "N",
	 "vulnerability scan threads; 0 = one per core"},
	{"scan-layers", OPT_BOOL, 0, 0, "true", CFG_OFF(scan_layers), NULL,
	 NULL,
	 "index each layer once, when its upload completes, and make an "
	 "image's report by merging its layers' indexes; false scans each "
	 "image whole"},
	{"sbom-referrers", OPT_BOOL, 0, 0, "true", CFG_OFF(sbom_referrers),
	 NULL, NULL,
	 "publish each scanned image's inventory as SBOM referrers too "
	 "(SPDX 2.3 and CycloneDX 1.5 JSON)"},
	{"vex", OPT_LIST, 0, 0, NULL, CFG_OFF(vex), NULL, "FILE",
	 "an OpenVEX or CycloneDX VEX document applied to every report "
	 "(VEX referrers of images apply too)"},
	{"vuln-db", OPT_STRING, 0, 0, NULL, CFG_OFF(vuln_db), NULL, "FILE",
	 "vulnerability DB (customs db import); default DATA/vulndb.db"},
	{"deny-severity", OPT_STRING, 0, 0, NULL, CFG_OFF(deny_severity),
	 cfg_severities, "LEVEL",
	 "refuse manifest GETs of images with findings at or above LEVEL "
	 "(critical, high, medium, low, unknown)"},
	{"severity-source", OPT_STRING, 0, 0, "vendor",
	 CFG_OFF(severity_source), cfg_sev_sources, "WHOSE",
	 "nvd: findings take NVD's CVSS rating before a distribution's "
	 "own; vendor: Ubuntu's priority or Debian's urgency first for "
	 "their packages"},
	{"allow-vuln", OPT_LIST, 0, 0, NULL, CFG_OFF(allow_vuln), NULL, "ID",
	 "advisory id or alias --deny-severity ignores (comma-separated ok)"},
	{"policy-wait", OPT_INT, 0, 3600, "30", CFG_OFF(policy_wait), NULL,
	 "SECONDS",
	 "seconds a gated pull waits for a pending scan before refusing"},
	{"policy-on-scan-error", OPT_STRING, 0, 0, "deny",
	 CFG_OFF(policy_on_scan_error), cfg_allow_deny, "MODE",
	 "deny (403) or allow images whose scan failed, was cut short or is "
	 "pending after --policy-wait, under --deny-severity"},
	{"policy-without-db", OPT_STRING, 0, 0, "deny",
	 CFG_OFF(policy_without_db), cfg_allow_deny, "MODE",
	 "deny (403) or allow images scanned without a vulnerability DB, "
	 "under --deny-severity"},
	{"scan-wait-max", OPT_INT, 0, 3600, "600", CFG_OFF(scan_wait_max), NULL,
	 "SECONDS", "longest ?wait on the scan endpoint"},
	{"db-update-interval", OPT_DURATION, 0, 1LL << 31, "6h",
	 CFG_OFF(db_update_interval), NULL, "DURATION",
	 "download the vulnerability feeds this often and re-match the "
	 "reports when they changed; 0: never (air-gapped: db import)"},
	{"db-source", OPT_LIST, 0, 0, NULL, CFG_OFF(db_source), NULL,
	 "KIND=URL",
	 "a feed to update from (osv, alpine-secdb, debian-tracker, nvd; "
	 "repeatable); none: the public feeds"},
	{"db-max-age", OPT_DURATION, 0, 1LL << 31, "3d", CFG_OFF(db_max_age),
	 NULL, "DURATION",
	 "an older vulnerability DB adds a note to every report and a "
	 "warning to the log; 0: no check"},
	{"max-db-upload", OPT_SIZE, 1024, 1LL << 40, "2GiB",
	 CFG_OFF(max_db_upload), NULL, "SIZE",
	 "largest feed POST /v2/_customs/db accepts"},
	/* Scan budgets: a limit reached makes the report "incomplete" (the
	 * policy refuses it); a worker killed by one fails the scan. */
	{"scan-memory", OPT_SIZE, 0, 1LL << 40, "1GiB", CFG_OFF(scan_memory),
	 NULL, "SIZE",
	 "address-space limit of a scan worker process; 0 = none"},
	{"scan-lease", OPT_DURATION, 4, 86400, "2m", CFG_OFF(scan_lease), NULL,
	 "DURATION",
	 "a running scan job's lease, renewed while it runs: a node that "
	 "stops (dies, hangs) loses its jobs to the other nodes after this"},
	{"scan-deadline", OPT_INT, 0, 86400, "120", CFG_OFF(scan_deadline),
	 NULL, "SECONDS",
	 "wall-clock seconds one image's scan may take; 0 = none"},
	{"scan-max-layer-bytes", OPT_SIZE, 0, 1LL << 50, "8GiB",
	 CFG_OFF(scan_max_layer_bytes), NULL, "SIZE",
	 "decompressed bytes read of one layer; 0 = no limit"},
	{"scan-max-image-bytes", OPT_SIZE, 0, 1LL << 50, "16GiB",
	 CFG_OFF(scan_max_image_bytes), NULL, "SIZE",
	 "decompressed bytes read of all layers of an image; 0 = no limit"},
	{"scan-max-ratio", OPT_INT, 0, 1000000, "100", CFG_OFF(scan_max_ratio),
	 NULL, "N",
	 "decompressed:compressed ratio of a layer (past 64 MiB); 0 = none"},
	{"scan-max-layer-entries", OPT_INT, 0, INT_MAX, "500000",
	 CFG_OFF(scan_max_layer_entries), NULL, "N",
	 "tar entries in one layer; 0 = no limit"},
	{"scan-max-file-bytes", OPT_SIZE, 0, 1LL << 40, "256MiB",
	 CFG_OFF(scan_max_file_bytes), NULL, "SIZE",
	 "bytes read of one file a detector wants; 0 = no limit"},
	{"scan-max-packages", OPT_INT, 0, INT_MAX, "20000",
	 CFG_OFF(scan_max_packages), NULL, "N",
	 "packages in one image's inventory; 0 = no limit"},
	{"auth", OPT_STRING, 0, 0, "none", CFG_OFF(auth), cfg_auth_modes,
	 "MODE",
	 "none, basic (htpasswd users) or token (Bearer JWTs from "
	 "/v2/_customs/token)"},
	{"htpasswd", OPT_STRING, 0, 0, NULL, CFG_OFF(htpasswd), NULL, "FILE",
	 "users and bcrypt hashes (customs user add); default DATA/htpasswd"},
	{"access", OPT_STRING, 0, 0, NULL, CFG_OFF(access), NULL, "FILE",
	 "access rules (JSON); without it signed-in users may do anything"},
	{"token-key", OPT_STRING, 0, 0, NULL, CFG_OFF(token_key), NULL, "FILE",
	 "PEM key (EC P-256 or RSA) our tokens are signed with; default "
	 "DATA/token.key, made when absent"},
	{"token-issuer", OPT_STRING, 0, 0, NULL, CFG_OFF(token_issuer), NULL,
	 "NAME", "iss of an external token issuer to trust"},
	{"token-trust", OPT_STRING, 0, 0, NULL, CFG_OFF(token_trust), NULL,
	 "FILE", "PEM public keys or certificates of --token-issuer"},
	{"token-realm", OPT_STRING, 0, 0, NULL, CFG_OFF(token_realm), NULL,
	 "URL",
	 "token URL sent in challenges; default the URL the client "
	 "used + /v2/_customs/token"},
	{"token-service", OPT_STRING, 0, 0, "customs", CFG_OFF(token_service),
	 NULL, "NAME", "our service name (the aud tokens must carry)"},
	{"token-ttl", OPT_INT, 60, 86400, "300", CFG_OFF(token_ttl), NULL,
	 "SECONDS", "lifetime of the access tokens we issue"},
	{"login-fail-budget", OPT_INT, 0, 1000000, "300",
	 CFG_OFF(login_fail_budget), NULL, "N",
	 "failed logins a minute, all clients together (429 above, but for "
	 "passwords verified in the last 5 minutes); 0: none"},
	{"tls-client-ca", OPT_STRING, 0, 0, NULL, CFG_OFF(tls_client_ca), NULL,
	 "FILE", "PEM CAs whose client certificates sign in (CN = user)"},
	{"mirror", OPT_STRING, 0, 0, NULL, CFG_OFF(mirror), NULL, "URL",
	 "pull-through cache of this registry for every name (what "
	 "registry-mirrors expect); in the config file an object "
	 "{url, username, password, ca}"},
	{"upstream", OPT_LIST, 0, 0, NULL, CFG_OFF(upstream), NULL,
	 "PREFIX=URL",
	 "pull names under PREFIX through URL (docker.io/=https://"
	 "registry-1.docker.io); in the config file also an object "
	 "{prefix, url, username, password, ca}"},
	{"proxy-ttl", OPT_DURATION, 0, 1LL << 31, "5m", CFG_OFF(proxy_ttl),
	 NULL, "DURATION",
	 "a pulled-through tag is served this long before the upstream is "
	 "asked again (a HEAD)"},
	{"proxy-workers", OPT_INT, 1, 256, "16", CFG_OFF(proxy_workers), NULL,
	 "N", "threads fetching from upstreams"},
	{"upstream-redirect-allow", OPT_LIST, 0, 0, NULL,
	 CFG_OFF(upstream_redirect_allow), NULL, "HOST",
	 "host (HOST, HOST:PORT, *.DOMAIN) upstreams may redirect to besides"
	 " their own and public https hosts; per upstream: redirect_allow"},
	{"upstream-timeout", OPT_DURATION, 1, 1LL << 31, "1h",
	 CFG_OFF(upstream_timeout), NULL, "DURATION",
	 "an upstream blob fetch taking longer is cut off (manifests: 2m)"},
	{"gc-interval", OPT_DURATION, 0, 1LL << 31, "1h", CFG_OFF(gc_interval),
	 NULL, "DURATION", "run gc this often while serving; 0: never"},
	{"gc-grace", OPT_DURATION, 0, 1LL << 31, "1h", CFG_OFF(gc_grace), NULL,
	 "DURATION",
	 "gc keeps blobs and manifests younger than this, so a "
	 "push in flight is never cut"},
	{"gc-untagged", OPT_BOOL, 0, 0, "false", CFG_OFF(gc_untagged), NULL,
	 NULL, "gc also deletes manifests that no tag reaches"},
	{"max-sweep-share", OPT_INT, 0, 100, "50", CFG_OFF(max_sweep_share),
	 NULL, "PERCENT",
	 "a gc run that would free more of the blobs' bytes than this "
	 "frees none and logs why (lost metadata?); 100: no limit"},
	{"scrub-interval", OPT_DURATION, 0, 1LL << 31, "24h",
	 CFG_OFF(scrub_interval), NULL, "DURATION",
	 "re-hash every blob this often (a low-priority background pass; a "
	 "damaged blob is quarantined and logged); 0: never"},
	{"scrub-rate", OPT_SIZE, 0, 1LL << 40, "20MiB", CFG_OFF(scrub_rate),
	 NULL, "SIZE", "bytes a second the scrub reads at most; 0: no cap"},
	{"upload-ttl", OPT_DURATION, 0, 1LL << 31, "24h", CFG_OFF(upload_ttl),
	 NULL, "DURATION",
	 "upload sessions idle this long expire, with "
	 "their data; 0: never"},
	{"quota", OPT_SIZE, 0, 1LL << 60, "0", CFG_OFF(quota), NULL, "SIZE",
	 "storage per repository, uploads in progress included (507 DENIED "
	 "above); 0: none"},
	{"max-uploads-per-repo", OPT_INT, 0, 1000000, "256",
	 CFG_OFF(max_uploads_per_repo), NULL, "N",
	 "open upload sessions per repository (429 above); 0: no limit"},
	{"max-uploads-per-client", OPT_INT, 0, 1000000, "128",
	 CFG_OFF(max_uploads_per_client), NULL, "N",
	 "open upload sessions per signed-in user, else per address (429 "
	 "above); 0: no limit"},
	{"max-blob", OPT_SIZE, 0, 1LL << 50, "0", CFG_OFF(max_blob), NULL,
	 "SIZE", "largest blob accepted (413 above); 0: no cap"},
	{"rate-limit", OPT_INT, 0, 1000000, "0", CFG_OFF(rate_limit), NULL, "N",
	 "requests a second per client address (429 above); 0: none"},
	{"rate-burst", OPT_INT, 1, 1000000, "100", CFG_OFF(rate_burst), NULL,
	 "N", "requests a client may send at once under --rate-limit"},
	{"max-conns", OPT_INT, 1, 1000000, "4096", CFG_OFF(max_conns), NULL,
	 "N", "simultaneous connections (503 above)"},
	{"max-header-bytes", OPT_SIZE, 1024, 16LL << 20, "64KiB",
	 CFG_OFF(max_header_bytes), NULL, "SIZE",
	 "request line and headers (431 above)"},
	{"header-timeout", OPT_DURATION, 1, 3600, "30s",
	 CFG_OFF(header_timeout), NULL, "DURATION",
	 "time to send a request's headers (slow clients "
	 "are cut off)"},
	{"idle-timeout", OPT_DURATION, 1, 86400, "2m", CFG_OFF(idle_timeout),
	 NULL, "DURATION",
	 "a kept-alive or stalled connection is closed "
	 "after this"},
	{"webhook", OPT_LIST, 0, 0, NULL, CFG_OFF(webhook), NULL, "URL",
	 "POST every event (push, pull, delete, scan.completed, scan.failed, "
	 "policy.denied, db.updated) to URL; in the config file "
	 "also an object {name, url, secret, headers, events, repos, "
	 "timeout, backoff, backoff_max, give_up}"},
	{"webhook-timeout", OPT_DURATION, 1, 3600, "10s",
	 CFG_OFF(webhook_timeout), NULL, "DURATION",
	 "a webhook POST taking longer fails (and is retried)"},
	{"webhook-backoff", OPT_DURATION, 1, 86400, "1s",
	 CFG_OFF(webhook_backoff), NULL, "DURATION",
	 "first retry of a failed webhook POST after this; doubled each "
	 "time"},
	{"webhook-backoff-max", OPT_DURATION, 1, 86400, "5m",
	 CFG_OFF(webhook_backoff_max), NULL, "DURATION",
	 "webhook retries at most this far apart"},
	{"webhook-give-up", OPT_DURATION, 0, 1LL << 31, "24h",
	 CFG_OFF(webhook_give_up), NULL, "DURATION",
	 "an event not delivered this long after it happened is given up "
	 "(GET /v2/_customs/events/dead); 0: never"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

const struct opt_cmd cfg_cmd = {
	.name = "serve",
	.opts = cfg_options,
};

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	opt_defaults(&cfg_cmd, c);
}

int cfg_set(struct cfg *c, const char *name, const char *value, struct err *e)
{
	return opt_set(&cfg_cmd, c, name, value, e);
}

int cfg_load_file(struct cfg *c, const char *path, struct err *e)
{
	return opt_load_file(&cfg_cmd, c, path, e);
}

/* A listen address without a host (":PORT") becomes this host's only. */
static void cfg_listen_local(char **listen)
{
	char *l;

	if (!*listen || (*listen)[0] != ':')
		return;
	l = xasprintf("127.0.0.1%s", *listen);
	free(*listen);
	*listen = l;
}

int cfg_from_args(struct cfg *c, int argc, char **argv, bool *help,
		  struct err *e)
{
	struct opt_args args;
	int rc;

	cfg_defaults(c);
	rc = stor_opts_check_argv(argc, argv, e);
	if (rc == 0)
		rc = opt_parse(&cfg_cmd, c, argc, argv, &args, e);
	else
		memset(&args, 0, sizeof(args));
	*help = args.help;
	opt_args_release(&args);
	if (rc == 0 && !*help)
		rc = cfg_validate(c, e);
	if (rc == 0 && !*help)
		rc = stor_meta_set(c->meta, e);
	if (rc == 0 && !*help) {
		/* Without sign-in, only this host may reach us unless asked
		 * for; no one signs in on the metrics listener. */
		if (cfg_auth_none(c))
			cfg_listen_local(&c->listen);
		cfg_listen_local(&c->metrics_listen);
	}
	if (rc < 0)
		cfg_release(c);
	return rc;
}

static int cfg_check_listen(const char *flag, const char *v, struct err *e)
{
	if (cfg_listen_split(v, NULL, 0, NULL) == 0)
		return 0;
	return err_set(e, ERR_INVALID,
		       "--%s %s: want host:port, [v6]:port or "
		       ":port with a port from 0 to 65535",
		       flag, v);
}

int cfg_validate(const struct cfg *c, struct err *e)
{
	if (!c->tls_cert != !c->tls_key)
		return err_set(e, ERR_INVALID,
			       "--tls-cert and --tls-key go together");
	if (c->tls_client_ca && !c->tls_cert)
		return err_set(e, ERR_INVALID,
			       "--tls-client-ca needs --tls-cert");
	if (!c->listen || !*c->listen)
		return err_set(e, ERR_INVALID, "--listen is empty");
	if (cfg_check_listen("listen", c->listen, e) < 0 ||
	    (c->metrics_listen &&
	     cfg_check_listen("metrics-listen", c->metrics_listen, e) < 0))
		return -1;
	if (!c->data || !*c->data)
		return err_set(e, ERR_INVALID, "--data is empty");
	if (c->storage && !strcmp(c->storage, "s3") &&
	    (!c->s3.endpoint || !c->s3.bucket))
		return err_set(e, ERR_INVALID,
			       "--storage s3 needs --s3-endpoint and "
			       "--s3-bucket");
	if (c->s3_redirect && (!c->storage || strcmp(c->storage, "s3")))
		return err_set(e, ERR_INVALID,
			       "--s3-redirect needs --storage s3");
	return 0;
}

bool cfg_auth_none(const struct cfg *c)
{
	return !c->auth || !strcmp(c->auth, "none");
}

int cfg_listen_split(const char *listen, char *host, size_t host_size,
		     int *port)
{
	const char *colon, *h = listen, *hend;
	char *end;
	long p;

	if (listen[0] == '[') {
		h = listen + 1;
		hend = strchr(listen, ']');
		if (!hend || hend[1] != ':')
			return -1;
		colon = hend + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -1;
		hend = colon;
	}
	/* Digits only: strtol would take "+80", " 80" or "0x50". */
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || p > 65535)
		return -1;
	if (host) {
		if ((size_t)(hend - h) >= host_size)
			return -1;
		memcpy(host, h, (size_t)(hend - h));
		host[hend - h] = '\0';
	}
	if (port)
		*port = (int)p;
	return 0;
}

bool cfg_addr_loopback(const char *addr)
{
	/* ::1, or 127.x.y.z mapped (::ffff:127.0.0.1, a dual-stack peer). */
	static const unsigned char lo6[16] = {[15] = 1};
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	unsigned char a[16];

	if (!strcmp(addr, "localhost"))
		return true;
	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, addr, a) != 1)
		return false;
	return !memcmp(a, lo6, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
}

void cfg_usage(FILE *out)
{
	opt_usage(&cfg_cmd, NULL, out);
}

void cfg_release(struct cfg *c)
{
	opt_release(&cfg_cmd, c);
}
