/* config_int.h: the settings of `customs serve`.
 *
 * One table row per option (common/opt.h): its name, type, bounds,
 * default, the offset of its field in struct cfg, and its help.  The same
 * name is the flag and the key of the `--config FILE` JSON object, as for
 * every command.  A JSON object given for a string or list option is kept
 * as its compact JSON text (an upstream with its credentials, which have
 * no place on a command line).  Adding an option is adding a field to
 * struct cfg and a row to the table in config.c.
 *
 * Once cfg_from_args() succeeds the config is validated and read-only.
 * String fields are owned by the struct (cfg_release frees them) and are
 * NULL when unset without a default.
 */
#ifndef REGISTRY_CONFIG_INT_H
#define REGISTRY_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/opt.h"
#include "storage/storage.h"

/* A repeatable option's values, by serve's name. */
#define cfg_list opt_list

struct cfg {
	char *listen;		    /* host:port */
	char *metrics_listen;	    /* host:port of /metrics alone, or NULL */
	char *data;		    /* data directory */
	char *storage;		    /* fs|s3: where blobs live */
	struct stor_s3_opts s3;	    /* --s3-*: with --storage s3 */
	bool s3_redirect;	    /* blob GETs answer 307 to S3 */
	int64_t s3_redirect_expiry; /* seconds its URL is good for */
	char *meta;  /* PostgreSQL URL or conninfo; NULL: sqlite */
	int threads; /* event-loop threads, 0 = cores */
	char *tls_cert;
	char *tls_key;
	size_t max_manifest; /* bytes */
	bool refuse_sparse;  /* manifests must list only content we hold */
	char *log_level;     /* debug|info|warn|error */
	char *log_format;    /* text|json */
	char *port_file;     /* write the bound port here */
	/* Scanning (scan.h, policy.h). */
	int scan_workers;	    /* scan threads, 0 = cores */
	bool sbom_referrers;	    /* SBOM referrers of scanned images */
	bool scan_layers;	    /* per-layer indexes, merged per image */
	struct cfg_list vex;	    /* VEX files applied to every report */
	char *vuln_db;		    /* NULL: DATA/vulndb.db */
	char *deny_severity;	    /* NULL: no pull policy */
	char *severity_source;	    /* vendor|nvd: whose rating first */
	struct cfg_list allow_vuln; /* advisories the policy ignores */
	int policy_wait;	    /* seconds a pull waits for a report */
	char *policy_on_scan_error; /* allow|deny: failed, cut short, pending */
	char *policy_without_db;    /* allow|deny: no vulnerability data */
	int scan_wait_max;	    /* cap of ?wait on the scan endpoint */
	size_t max_db_upload;	    /* POST /v2/_customs/db body cap */
	int64_t db_update_interval; /* seconds between updates; 0: none */
	struct cfg_list db_source;  /* KIND=URL feeds; none: the defaults */
	int64_t db_max_age;	    /* seconds; an older DB is noted */
	/* What one image's scan may cost (scanner/scan.h, scan_budget and
	 * scan_sandbox); 0: no limit. */
	size_t scan_memory;	     /* address space of a scan worker */
	int64_t scan_lease;	     /* seconds; renewed while a job runs */
	int scan_deadline;	     /* seconds per image */
	size_t scan_max_layer_bytes; /* decompressed, per layer */
	size_t scan_max_image_bytes; /* decompressed, all layers */
	int scan_max_ratio;	     /* decompressed : compressed */
	int scan_max_layer_entries;  /* tar entries per layer */
	size_t scan_max_file_bytes;  /* of one file a detector reads */
	int scan_max_packages;	     /* inventory entries per image */
	/* Authentication (authz.h, auth/auth.h). */
	char *auth;	     /* none|basic|token */
	char *htpasswd;	     /* NULL: DATA/htpasswd */
	char *access;	     /* access rules (JSON), or NULL */
	char *token_key;     /* NULL: DATA/token.key */
	char *token_issuer;  /* an external issuer we trust ... */
	char *token_trust;   /* ... by these PEM keys or certificates */
	char *token_realm;   /* NULL: our URL + AUTH_TOKEN_PATH */
	char *token_service; /* aud of tokens */
	int token_ttl;	     /* seconds an access token lives */
	char *tls_client_ca; /* PEM CAs of client certificates (mTLS) */
	/* Pull-through cache (proxy.h).  An upstream is "URL" (--mirror) or
	 * "PREFIX=URL" (--upstream), or the compact text of a JSON object
	 * with credentials and a CA from the config file. */
	char *mirror;		  /* the upstream every name maps to */
	struct cfg_list upstream; /* name prefixes and their upstreams */
	int64_t proxy_ttl;	  /* seconds a cached tag is fresh */
	int proxy_workers;	  /* threads fetching from upstreams */
	struct cfg_list upstream_redirect_allow; /* hosts any may redirect to */
	int64_t upstream_timeout; /* seconds a blob fetch may take */
	/* Reliability and limits (maint.h, limit.h; durations in seconds). */
	int64_t gc_interval;	    /* online gc between runs; 0: none */
	int64_t gc_grace;	    /* gc keeps anything younger */
	bool gc_untagged;	    /* gc deletes manifests no tag reaches */
	int max_sweep_share;	    /* % of blob bytes one gc run may free */
	int64_t scrub_interval;	    /* between scrub passes; 0: none */
	size_t scrub_rate;	    /* bytes a second the scrub reads */
	int64_t upload_ttl;	    /* idle upload sessions expire; 0: never */
	size_t quota;		    /* bytes per repository; 0: none */
	size_t max_blob;	    /* largest blob upload; 0: no cap */
	int max_uploads_per_repo;   /* open upload sessions; 0: no limit */
	int max_uploads_per_client; /* per user, else address; 0: none */
	int rate_limit;		    /* requests a second per client; 0: none */
	int rate_burst;		    /* requests a client may send at once */
	int max_conns;		    /* simultaneous connections */
	int login_fail_budget;	    /* failed logins a minute, all clients */
	size_t max_header_bytes;    /* request line and headers */
	int64_t header_timeout;	    /* to receive a request's headers */
	int64_t idle_timeout;	    /* keep-alive and body idle */
	/* Events and webhooks (events/events.h; durations in seconds). */
	struct cfg_list webhook; /* URL, or an endpoint object's JSON */
	int64_t webhook_timeout;
	int64_t webhook_backoff;
	int64_t webhook_backoff_max;
	int64_t webhook_give_up;
};

/* The option table, terminated by a row with name NULL, and the command
 * (for opt_fail()). */
extern const struct opt cfg_options[];
extern const struct opt_cmd cfg_cmd;

/* Fills c with the defaults. */
void cfg_defaults(struct cfg *c);
/* Sets option `name` from text (as a flag would). */
int cfg_set(struct cfg *c, const char *name, const char *value, struct err *e);
/* Applies a JSON object of options. */
int cfg_load_file(struct cfg *c, const char *path, struct err *e);
/* Defaults, then --config FILE, then the other flags; then validates.
 * argv[0] is the subcommand name.  On --help sets *help and returns 0
 * without validating.  Unknown flags and stray arguments are errors.
 * On failure c is released. */
int cfg_from_args(struct cfg *c, int argc, char **argv, bool *help,
		  struct err *e);
/* Cross-option checks (e.g. a TLS cert needs its key). */
int cfg_validate(const struct cfg *c, struct err *e);
/* --auth none (or unset). */
bool cfg_auth_none(const struct cfg *c);
/* Splits a --listen value ("host:port", "[v6]:port", ":port"; host ""
 * for any) into host (if not NULL) and *port (if not NULL); -1 if it is
 * malformed, the port is not 0..65535, or the host does not fit. */
int cfg_listen_split(const char *listen, char *host, size_t host_size,
		     int *port);
/* Is addr (an IP address in text, or "localhost") a loopback address? */
bool cfg_addr_loopback(const char *addr);
void cfg_usage(FILE *out);
void cfg_release(struct cfg *c);

#endif
