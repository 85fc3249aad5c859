#include "registry/config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "storage/storage.h"
#include "common/banned.h"

#define CFG_OFF(field) offsetof(struct cfg, field)

static const char *const cfg_log_levels[] = {"debug", "info", "warn", "error",
					     NULL};

static const char *const cfg_auth_modes[] = {"none", "basic", "token", NULL};

static const char *const cfg_allow_deny[] = {"allow", "deny", NULL};

static const char *const cfg_severities[] = {"critical", "high", "medium",
					     "low",	 "unknown", NULL};

const struct cfg_option cfg_options[] = {
	{"listen", CFG_STRING, 0, 0, ":5000", CFG_OFF(listen), NULL, "ADDR",
	 "address to listen on: host:port, [v6]:port or :port"},
	{"data", CFG_STRING, 0, 0, "./var", CFG_OFF(data), NULL, "DIR",
	 "data directory (blobs, uploads, meta.db)"},
	{"threads", CFG_INT, 0, 256, "0", CFG_OFF(threads), NULL, "N",
	 "event-loop threads; 0 = one per core"},
	{"tls-cert", CFG_STRING, 0, 0, NULL, CFG_OFF(tls_cert), NULL, "FILE",
	 "PEM certificate chain; serves HTTPS"},
	{"tls-key", CFG_STRING, 0, 0, NULL, CFG_OFF(tls_key), NULL, "FILE",
	 "PEM private key of --tls-cert"},
	{"max-manifest", CFG_SIZE, 1024, 1LL << 30, "4MiB",
	 CFG_OFF(max_manifest), NULL, "SIZE",
	 "largest manifest accepted (413 above)"},
	{"log-level", CFG_STRING, 0, 0, "info", CFG_OFF(log_level),
	 cfg_log_levels, "LEVEL", "debug, info, warn or error"},
	{"port-file", CFG_STRING, 0, 0, NULL, CFG_OFF(port_file), NULL, "FILE",
	 "write the bound port to FILE (useful with port 0)"},
	{"config", CFG_STRING, 0, 0, NULL, CFG_OFF(config), NULL, "FILE",
	 "JSON object of these options (keys without the dashes)"},
	{"scan-workers", CFG_INT, 0, 256, "0", CFG_OFF(scan_workers), NULL, "N",
	 "vulnerability scan threads; 0 = one per core"},
	{"vuln-db", CFG_STRING, 0, 0, NULL, CFG_OFF(vuln_db), NULL, "FILE",
	 "vulnerability DB (customs db import); default DATA/vulndb.db"},
	{"deny-severity", CFG_STRING, 0, 0, NULL, CFG_OFF(deny_severity),
	 cfg_severities, "LEVEL",
	 "refuse manifest GETs of images with findings at or above LEVEL "
	 "(critical, high, medium, low, unknown)"},
	{"allow-vuln", CFG_LIST, 0, 0, NULL, CFG_OFF(allow_vuln), NULL, "ID",
	 "advisory id or alias --deny-severity ignores (comma-separated ok)"},
	{"policy-wait", CFG_INT, 0, 3600, "30", CFG_OFF(policy_wait), NULL, "S",
	 "seconds a gated pull waits for a pending scan before refusing"},
	{"policy-on-scan-error", CFG_STRING, 0, 0, "deny",
	 CFG_OFF(policy_on_scan_error), cfg_allow_deny, "MODE",
	 "deny (403) or allow images whose scan failed, was cut short or is "
	 "pending after --policy-wait, under --deny-severity"},
	{"policy-without-db", CFG_STRING, 0, 0, "deny",
	 CFG_OFF(policy_without_db), cfg_allow_deny, "MODE",
	 "deny (403) or allow images scanned without a vulnerability DB, "
	 "under --deny-severity"},
	{"scan-wait-max", CFG_INT, 0, 3600, "600", CFG_OFF(scan_wait_max), NULL,
	 "S", "longest ?wait on the scan endpoint"},
	{"max-db-upload", CFG_SIZE, 1024, 1LL << 40, "2GiB",
	 CFG_OFF(max_db_upload), NULL, "SIZE",
	 "largest feed POST /v2/_customs/db accepts"},
	/* Scan budgets: a limit reached makes the report "incomplete" (the
	 * policy refuses it); a worker killed by one fails the scan. */
	{"scan-memory", CFG_SIZE, 0, 1LL << 40, "1GiB", CFG_OFF(scan_memory),
	 NULL, "SIZE", "address-space limit of a scan worker process; 0 = none"},
	{"scan-deadline", CFG_INT, 0, 86400, "120", CFG_OFF(scan_deadline),
	 NULL, "S", "wall-clock seconds one image's scan may take; 0 = none"},
	{"scan-max-layer-bytes", CFG_SIZE, 0, 1LL << 50, "8GiB",
	 CFG_OFF(scan_max_layer_bytes), NULL, "SIZE",
	 "decompressed bytes read of one layer; 0 = no limit"},
	{"scan-max-image-bytes", CFG_SIZE, 0, 1LL << 50, "16GiB",
	 CFG_OFF(scan_max_image_bytes), NULL, "SIZE",
	 "decompressed bytes read of all layers of an image; 0 = no limit"},
	{"scan-max-ratio", CFG_INT, 0, 1000000, "100", CFG_OFF(scan_max_ratio),
	 NULL, "N",
	 "decompressed:compressed ratio of a layer (past 64 MiB); 0 = none"},
	{"scan-max-layer-entries", CFG_INT, 0, INT_MAX, "500000",
	 CFG_OFF(scan_max_layer_entries), NULL, "N",
	 "tar entries in one layer; 0 = no limit"},
	{"scan-max-file-bytes", CFG_SIZE, 0, 1LL << 40, "256MiB",
	 CFG_OFF(scan_max_file_bytes), NULL, "SIZE",
	 "bytes read of one file a detector wants; 0 = no limit"},
	{"scan-max-packages", CFG_INT, 0, INT_MAX, "20000",
	 CFG_OFF(scan_max_packages), NULL, "N",
	 "packages in one image's inventory; 0 = no limit"},
	{"auth", CFG_STRING, 0, 0, "none", CFG_OFF(auth), cfg_auth_modes, "MODE",
	 "none, basic (htpasswd users) or token (Bearer JWTs from "
	 "/v2/_customs/token)"},
	{"htpasswd", CFG_STRING, 0, 0, NULL, CFG_OFF(htpasswd), NULL, "FILE",
	 "users and bcrypt hashes (customs user add); default DATA/htpasswd"},
	{"access", CFG_STRING, 0, 0, NULL, CFG_OFF(access), NULL, "FILE",
	 "access rules (JSON); without it signed-in users may do anything"},
	{"token-key", CFG_STRING, 0, 0, NULL, CFG_OFF(token_key), NULL, "FILE",
	 "PEM key (EC P-256 or RSA) our tokens are signed with; default "
	 "DATA/token.key, made when absent"},
	{"token-issuer", CFG_STRING, 0, 0, NULL, CFG_OFF(token_issuer), NULL,
	 "NAME", "iss of an external token issuer to trust"},
	{"token-trust", CFG_STRING, 0, 0, NULL, CFG_OFF(token_trust), NULL,
	 "FILE", "PEM public keys or certificates of --token-issuer"},
	{"token-realm", CFG_STRING, 0, 0, NULL, CFG_OFF(token_realm), NULL,
	 "URL", "token URL sent in challenges; default the URL the client "
	 "used + /v2/_customs/token"},
	{"token-service", CFG_STRING, 0, 0, "customs", CFG_OFF(token_service),
	 NULL, "NAME", "our service name (the aud tokens must carry)"},
	{"token-ttl", CFG_INT, 60, 86400, "300", CFG_OFF(token_ttl), NULL, "S",
	 "lifetime of the access tokens we issue"},
	{"login-fail-budget", CFG_INT, 0, 1000000, "300",
	 CFG_OFF(login_fail_budget), NULL, "N",
	 "failed logins a minute, all clients together (429 above, but for "
	 "passwords verified in the last 5 minutes); 0: none"},
	{"tls-client-ca", CFG_STRING, 0, 0, NULL, CFG_OFF(tls_client_ca), NULL,
	 "FILE", "PEM CAs whose client certificates sign in (CN = user)"},
	{"mirror", CFG_STRING, 0, 0, NULL, CFG_OFF(mirror), NULL, "URL",
	 "pull-through cache of this registry for every name (what "
	 "registry-mirrors expect); in the config file an object "
	 "{url, username, password, ca}"},
	{"upstream", CFG_LIST, 0, 0, NULL, CFG_OFF(upstream), NULL,
	 "PREFIX=URL",
	 "pull names under PREFIX through URL (docker.io/=https://"
	 "registry-1.docker.io); in the config file also an object "
	 "{prefix, url, username, password, ca}"},
	{"proxy-ttl", CFG_DURATION, 0, 1LL << 31, "5m", CFG_OFF(proxy_ttl),
	 NULL, "DURATION",
	 "a pulled-through tag is served this long before the upstream is "
	 "asked again (a HEAD)"},
	{"proxy-workers", CFG_INT, 1, 256, "16", CFG_OFF(proxy_workers), NULL,
	 "N", "threads fetching from upstreams"},
	{"upstream-redirect-allow", CFG_LIST, 0, 0, NULL,
	 CFG_OFF(upstream_redirect_allow), NULL, "HOST",
	 "host (HOST, HOST:PORT, *.DOMAIN) upstreams may redirect to besides"
	 " their own and public https hosts; per upstream: redirect_allow"},
	{"upstream-timeout", CFG_DURATION, 1, 1LL << 31, "1h",
	 CFG_OFF(upstream_timeout), NULL, "DURATION",
	 "an upstream blob fetch taking longer is cut off (manifests: 2m)"},
	{"gc-interval", CFG_DURATION, 0, 1LL << 31, "1h", CFG_OFF(gc_interval),
	 NULL, "DURATION", "run gc this often while serving; 0: never"},
	{"gc-grace", CFG_DURATION, 0, 1LL << 31, "1h", CFG_OFF(gc_grace), NULL,
	 "DURATION", "gc keeps blobs and manifests younger than this, so a "
		     "push in flight is never cut"},
	{"gc-untagged", CFG_BOOL, 0, 0, "false", CFG_OFF(gc_untagged), NULL,
	 NULL, "gc also deletes manifests that no tag reaches"},
	{"max-sweep-share", CFG_INT, 0, 100, "50", CFG_OFF(max_sweep_share),
	 NULL, "PERCENT",
	 "a gc run that would free more of the blobs' bytes than this "
	 "frees none and logs why (lost metadata?); 100: no limit"},
	{"scrub-interval", CFG_DURATION, 0, 1LL << 31, "24h",
	 CFG_OFF(scrub_interval), NULL, "DURATION",
	 "re-hash every blob this often (a low-priority background pass; a "
	 "damaged blob is quarantined and logged); 0: never"},
	{"scrub-rate", CFG_SIZE, 0, 1LL << 40, "20MiB", CFG_OFF(scrub_rate),
	 NULL, "SIZE", "bytes a second the scrub reads at most; 0: no cap"},
	{"upload-ttl", CFG_DURATION, 0, 1LL << 31, "24h", CFG_OFF(upload_ttl),
	 NULL, "DURATION", "upload sessions idle this long expire, with "
			   "their data; 0: never"},
	{"quota", CFG_SIZE, 0, 1LL << 60, "0", CFG_OFF(quota), NULL, "SIZE",
	 "storage per repository, uploads in progress included (507 DENIED "
	 "above); 0: none"},
	{"max-uploads-per-repo", CFG_INT, 0, 1000000, "256",
	 CFG_OFF(max_uploads_per_repo), NULL, "N",
	 "open upload sessions per repository (429 above); 0: no limit"},
	{"max-uploads-per-client", CFG_INT, 0, 1000000, "128",
	 CFG_OFF(max_uploads_per_client), NULL, "N",
	 "open upload sessions per signed-in user, else per address (429 "
	 "above); 0: no limit"},
	{"max-blob", CFG_SIZE, 0, 1LL << 50, "0", CFG_OFF(max_blob), NULL,
	 "SIZE", "largest blob accepted (413 above); 0: no cap"},
	{"rate-limit", CFG_INT, 0, 1000000, "0", CFG_OFF(rate_limit), NULL,
	 "N", "requests a second per client address (429 above); 0: none"},
	{"rate-burst", CFG_INT, 1, 1000000, "100", CFG_OFF(rate_burst), NULL,
	 "N", "requests a client may send at once under --rate-limit"},
	{"max-conns", CFG_INT, 1, 1000000, "4096", CFG_OFF(max_conns), NULL,
	 "N", "simultaneous connections (503 above)"},
	{"max-header-bytes", CFG_SIZE, 1024, 16LL << 20, "64KiB",
	 CFG_OFF(max_header_bytes), NULL, "SIZE",
	 "request line and headers (431 above)"},
	{"header-timeout", CFG_DURATION, 1, 3600, "30", CFG_OFF(header_timeout),
	 NULL, "DURATION", "time to send a request's headers (slow clients "
			   "are cut off)"},
	{"idle-timeout", CFG_DURATION, 1, 86400, "120", CFG_OFF(idle_timeout),
	 NULL, "DURATION", "a kept-alive or stalled connection is closed "
			   "after this"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

static void *cfg_field(struct cfg *c, const struct cfg_option *o)
{
	return (char *)c + o->offset;
}

/* Compares option names ignoring '-', '_' and case: "max-manifest",
 * "max_manifest", "maxManifest" and "maxmanifest" are one option. */
static bool cfg_name_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-' || *a == '_')
			a++;
		while (*b == '-' || *b == '_')
			b++;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}

static const struct cfg_option *cfg_find(const char *name)
{
	for (const struct cfg_option *o = cfg_options; o->name; o++)
		if (cfg_name_eq(o->name, name))
			return o;
	return NULL;
}

static int cfg_parse_number(const struct cfg_option *o, const char *value,
			    long long *out, struct err *e)
{
	static const struct {
		const char *suffix;
		int shift;
	} units[] = {
		{"", 0},     {"k", 10}, {"K", 10},   {"KiB", 10}, {"M", 20},
		{"MiB", 20}, {"G", 30}, {"GiB", 30}, {"T", 40},	  {"TiB", 40},
	};
	char *end;
	long long v;
	int shift = -1;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (end == value || errno)
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].suffix))
			shift = units[i].shift;
	if (shift < 0 || (shift && o->type != CFG_SIZE))
		goto bad;
	if (v > (LLONG_MAX >> shift) || v < (LLONG_MIN >> shift))
		goto range;
	v *= 1LL << shift;
	if (v < o->min || v > o->max)
		goto range;
	*out = v;
	return 0;
bad:
	return err_set(e, ERR_INVALID, "--%s: '%s' is not %s", o->name, value,
		       o->type == CFG_SIZE ? "a size" : "an integer");
range:
	return err_set(e, ERR_INVALID, "--%s: %s is out of range [%lld, %lld]",
		       o->name, value, o->min, o->max);
}

static int cfg_parse_duration(const struct cfg_option *o, const char *value,
			      int64_t *out, struct err *e)
{
	int64_t v = stor_parse_duration(value);

	if (v < 0)
		return err_set(e, ERR_INVALID,
			       "--%s: '%s' is not a duration (90s, 15m, 1h, "
			       "7d)",
			       o->name, value);
	if (v < o->min || v > o->max)
		return err_set(e, ERR_INVALID,
			       "--%s: %s is out of range [%llds, %llds]",
			       o->name, value, o->min, o->max);
	*out = v;
	return 0;
}

static int cfg_parse_bool(const struct cfg_option *o, const char *value,
			  bool *out, struct err *e)
{
	if (!strcasecmp(value, "true") || !strcmp(value, "1") ||
	    !strcasecmp(value, "yes"))
		*out = true;
	else if (!strcasecmp(value, "false") || !strcmp(value, "0") ||
		 !strcasecmp(value, "no"))
		*out = false;
	else
		return err_set(e, ERR_INVALID, "--%s: '%s' is not a boolean",
			       o->name, value);
	return 0;
}

static int cfg_check_choice(const struct cfg_option *o, const char *value,
			    struct err *e)
{
	if (!o->choices)
		return 0;
	for (const char *const *ch = o->choices; *ch; ch++)
		if (!strcmp(*ch, value))
			return 0;
	return err_set(e, ERR_INVALID, "--%s: '%s' is not one of the choices",
		       o->name, value);
}

static int cfg_apply(struct cfg *c, const struct cfg_option *o,
		     const char *value, struct err *e)
{
	void *f = cfg_field(c, o);
	struct cfg_list *l;
	long long v;

	switch (o->type) {
	case CFG_STRING:
		if (cfg_check_choice(o, value, e) < 0)
			return -1;
		free(*(char **)f);
		*(char **)f = xstrdup(value);
		return 0;
	case CFG_INT:
		if (cfg_parse_number(o, value, &v, e) < 0)
			return -1;
		*(int *)f = (int)v;
		return 0;
	case CFG_SIZE:
		if (cfg_parse_number(o, value, &v, e) < 0)
			return -1;
		*(size_t *)f = (size_t)v;
		return 0;
	case CFG_BOOL:
		return cfg_parse_bool(o, value, (bool *)f, e);
	case CFG_DURATION:
		return cfg_parse_duration(o, value, (int64_t *)f, e);
	case CFG_LIST:
		l = f;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = xstrdup(value);
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "--%s: bad option type", o->name);
}

void cfg_defaults(struct cfg *c)
{
	struct err e = ERR_INIT;

	memset(c, 0, sizeof(*c));
	for (const struct cfg_option *o = cfg_options; o->name; o++) {
		if (o->def && cfg_apply(c, o, o->def, &e) < 0) {
			/* A bad default is a bug in the table above. */
			fprintf(stderr, "customs: bad default: %s\n", e.msg);
			abort();
		}
	}
}

int cfg_set(struct cfg *c, const char *name, const char *value, struct err *e)
{
	const struct cfg_option *o = cfg_find(name);

	if (!o)
		return err_set(e, ERR_INVALID, "unknown option '%s'", name);
	return cfg_apply(c, o, value, e);
}

/* An object, kept as its compact text (see config.h). */
static int cfg_apply_object(struct cfg *c, const struct cfg_option *o,
			    json_t *v, struct err *e)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (!text)
		return err_set(e, ERR_INTERNAL, "%s: cannot encode", o->name);
	rc = cfg_apply(c, o, text, e);
	free(text);
	return rc;
}

/* One JSON value: strings as on the command line, integers for numbers,
 * true/false for booleans, an array of strings for lists; an object (or
 * objects in a list) for string and list options as their text. */
static int cfg_set_json(struct cfg *c, const char *key, json_t *v,
			struct err *e)
{
	const struct cfg_option *o = cfg_find(key);
	char num[32];
	size_t i;
	json_t *it;

	if (!o)
		return err_set(e, ERR_INVALID, "unknown option '%s'", key);
	if (json_is_string(v))
		return cfg_apply(c, o, json_string_value(v), e);
	if (json_is_object(v) &&
	    (o->type == CFG_STRING || o->type == CFG_LIST) && !o->choices)
		return cfg_apply_object(c, o, v, e);
	if (json_is_integer(v) && (o->type == CFG_INT || o->type == CFG_SIZE ||
				   o->type == CFG_DURATION)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return cfg_apply(c, o, num, e);
	}
	if (json_is_boolean(v) && o->type == CFG_BOOL)
		return cfg_apply(c, o, json_is_true(v) ? "true" : "false", e);
	if (json_is_array(v) && o->type == CFG_LIST) {
		json_array_foreach(v, i, it) {
			if (json_is_object(it)) {
				if (cfg_apply_object(c, o, it, e) < 0)
					return -1;
				continue;
			}
			if (!json_is_string(it))
				return err_set(e, ERR_INVALID,
					       "%s: list items must be strings"
					       " or objects",
					       key);
			if (cfg_apply(c, o, json_string_value(it), e) < 0)
				return -1;
		}
		return 0;
	}
	return err_set(e, ERR_INVALID, "%s: value has the wrong JSON type",
		       key);
}

int cfg_load_file(struct cfg *c, const char *path, struct err *e)
{
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	int rc = -1;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(e, ERR_INVALID, "%s:%d: %s", path, jerr.line,
			       jerr.text);
	if (!json_is_object(root)) {
		err_set(e, ERR_INVALID, "%s: not a JSON object", path);
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (cfg_name_eq(key, "config")) {
			err_set(e, ERR_INVALID, "%s: 'config' cannot nest",
				path);
			goto out;
		}
		if (cfg_set_json(c, key, v, e) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Splits argv[*i] into an option and its value ("--x=v" or "--x v"). */
static int cfg_next_flag(int argc, char **argv, int *i,
			 const struct cfg_option **opt, const char **value,
			 char **owned, struct err *e)
{
	const char *arg = argv[*i], *eq;
	const struct cfg_option *o;

	*owned = NULL;
	if (strncmp(arg, "--", 2) || !arg[2])
		return err_set(e, ERR_INVALID, "unexpected argument '%s'", arg);
	arg += 2;
	eq = strchr(arg, '=');
	*owned = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
	o = cfg_find(*owned);
	if (!o)
		return err_set(e, ERR_INVALID, "unknown option '--%s'", *owned);
	if (eq)
		*value = eq + 1;
	else if (o->type == CFG_BOOL)
		*value = "true";
	else if (*i + 1 < argc)
		*value = argv[++*i];
	else
		return err_set(e, ERR_INVALID, "--%s needs a value", o->name);
	*opt = o;
	return 0;
}

static bool cfg_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

/* Finds --config among the flags (it must be read before the others). */
static int cfg_find_config(int argc, char **argv, struct cfg *c, struct err *e)
{
	const struct cfg_option *o;
	const char *value;
	char *owned;
	int rc = 0;

	for (int i = 1; i < argc && rc == 0; i++) {
		rc = cfg_next_flag(argc, argv, &i, &o, &value, &owned, e);
		if (rc == 0 && o->offset == CFG_OFF(config))
			rc = cfg_apply(c, o, value, e);
		free(owned);
	}
	return rc;
}

int cfg_from_args(struct cfg *c, int argc, char **argv, bool *help,
		  struct err *e)
{
	const struct cfg_option *o;
	const char *value;
	char *owned;
	int rc = -1;

	*help = false;
	cfg_defaults(c);
	for (int i = 1; i < argc; i++) {
		if (cfg_is_help(argv[i])) {
			*help = true;
			return 0;
		}
	}
	if (cfg_find_config(argc, argv, c, e) < 0)
		goto out;
	if (c->config && cfg_load_file(c, c->config, e) < 0)
		goto out;
	for (int i = 1; i < argc; i++) {
		if (cfg_next_flag(argc, argv, &i, &o, &value, &owned, e) < 0 ||
		    (o->offset != CFG_OFF(config) &&
		     cfg_apply(c, o, value, e) < 0)) {
			free(owned);
			goto out;
		}
		free(owned);
	}
	rc = cfg_validate(c, e);
out:
	if (rc < 0)
		cfg_release(c);
	return rc;
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
	if (!c->data || !*c->data)
		return err_set(e, ERR_INVALID, "--data is empty");
	return 0;
}

void cfg_usage(FILE *out, const char *cmd)
{
	char flag[64];

	fprintf(out, "usage: customs %s [options]\n\noptions:\n", cmd);
	for (const struct cfg_option *o = cfg_options; o->name; o++) {
		snprintf(flag, sizeof(flag), "--%s%s%s", o->name,
			 o->type == CFG_BOOL ? "" : " ",
			 o->type == CFG_BOOL ? "" : o->arg);
		fprintf(out, "  %-24s %s", flag, o->help);
		if (o->def)
			fprintf(out, " (default %s)", o->def);
		if (o->type == CFG_LIST)
			fprintf(out, " (repeatable)");
		fputc('\n', out);
	}
	fprintf(out, "  %-24s %s\n", "--help", "show this help");
}

void cfg_release(struct cfg *c)
{
	for (const struct cfg_option *o = cfg_options; o->name; o++) {
		void *f = cfg_field(c, o);
		struct cfg_list *l;

		if (o->type == CFG_STRING) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (o->type == CFG_LIST) {
			l = f;
			for (size_t i = 0; i < l->n; i++)
				free(l->v[i]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
		}
	}
}
