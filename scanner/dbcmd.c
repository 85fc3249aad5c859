/* customs db: import and inspect the vulnerability DB. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/err.h"
#include "common/opt.h"
#include "common/xmalloc.h"
#include "scanner/scanner.h"
#include "scanner/vulndb_int.h"
#include "common/banned.h"

#define DBCMD_DEFAULT_DATA "./var"

struct dbcmd_opts {
	char *db;		/* --db, or DATA/vulndb.db */
	char *data;		/* --data */
	struct opt_list source; /* --source KIND=URL; none: the defaults */
	int connect_timeout;	/* seconds */
	int stall_timeout;	/* seconds under 1 KiB/s */
	int attempts;		/* per download */
	size_t max_download;	/* bytes of one download */
};

#define DB_OFF(f) offsetof(struct dbcmd_opts, f)

static const struct opt dbcmd_opts[] = {
	{"db", OPT_STRING, 0, 0, NULL, DB_OFF(db), NULL, "FILE",
	 "the DB (default DATA/vulndb.db)"},
	/* serve's name for it, in a shared --config file */
	{"vuln-db", OPT_STRING, 0, 0, NULL, DB_OFF(db), NULL, "FILE", NULL},
	{"data", OPT_STRING, 0, 0, NULL, DB_OFF(data), NULL, "DIR",
	 "the data directory (default " DBCMD_DEFAULT_DATA ")"},
	{"source", OPT_LIST, 0, 0, NULL, DB_OFF(source), NULL, "KIND=URL",
	 "update: a feed to fetch (repeatable; replaces the configured "
	 "list, which defaults to the public feeds)"},
	/* serve's name for it, in a shared --config file */
	{"db-source", OPT_LIST, 0, 0, NULL, DB_OFF(source), NULL, "KIND=URL",
	 NULL},
	{"connect-timeout", OPT_INT, 1, 3600, "30", DB_OFF(connect_timeout),
	 NULL, "SECONDS", "update: to connect to a feed server"},
	{"stall-timeout", OPT_INT, 1, 3600, "60", DB_OFF(stall_timeout), NULL,
	 "SECONDS", "update: a download under 1 KiB/s this long is cut off"},
	{"attempts", OPT_INT, 1, 20, "4", DB_OFF(attempts), NULL, "N",
	 "update: tries per download on passing failures (5xx, network)"},
	{"max-download", OPT_SIZE, 1024, 1LL << 40, "2GiB",
	 DB_OFF(max_download), NULL, "SIZE", "update: largest feed file"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

static const struct opt_cmd dbcmd_cmd = {
	.name = "db",
	.synopsis = "import|update|status [options] [[KIND=]PATH...]",
	.notes = "import  reads OSV JSON (a .json file, a directory tree of "
		 "them,\n"
		 "        or an archive such as OSV's per-ecosystem all.zip) "
		 "and\n"
		 "        Alpine secdb JSON, and atomically replaces the DB;\n"
		 "        KIND=PATH names what PATH holds: osv, alpine-secdb,\n"
		 "        debian-tracker (the Security Tracker's JSON) or nvd\n"
		 "        (NVD CVE JSON 2.0, a feed file, gzip'd or not);\n"
		 "        importing unchanged inputs again changes nothing\n"
		 "update  downloads the feeds (--source, or the configured\n"
		 "        db-source list, or the public feeds) into\n"
		 "        DATA/advisories/ (one directory per feed),\n"
		 "        asking only for what changed, and imports them; a\n"
		 "        feed that fails keeps its previous copy (exit 1)\n"
		 "status  prints the DB version, import time and counts per\n"
		 "        ecosystem, and per feed its last update and error",
	.opts = dbcmd_opts,
	.max_operands = -1,
	.flags = OPT_SHARED_FILE,
};

/* PATH, or KIND=PATH for a kind that content does not tell. */
static void dbcmd_input(const char *arg, struct vulndb_input *in)
{
	const char *eq = strchr(arg, '=');
	char *kind = eq ? xstrndup(arg, (size_t)(eq - arg)) : NULL;

	memset(in, 0, sizeof(*in));
	in->path = arg;
	if (kind && vulndb_kind_parse(kind, &in->kind) == 0)
		in->path = eq + 1;
	free(kind);
}

static int dbcmd_import(struct dbcmd_opts *o, const char **paths, size_t npaths,
			bool default_dir)
{
	struct vulndb_import_stats stats;
	struct vulndb_input *in;
	struct err e = ERR_INIT;
	int rc;

	if (!npaths)
		return opt_fail(&dbcmd_cmd, "import needs a PATH");
	/* The default data directory is ours to create; a named one is not. */
	if (default_dir && mkdir(DBCMD_DEFAULT_DATA, 0755) < 0 &&
	    errno != EEXIST) {
		fprintf(stderr, "customs db import: mkdir %s: %s\n",
			DBCMD_DEFAULT_DATA, strerror(errno));
		return 1;
	}
	in = xcalloc(npaths, sizeof(*in));
	for (size_t i = 0; i < npaths; i++)
		dbcmd_input(paths[i], &in[i]);
	rc = vulndb_import_inputs(o->db, in, npaths, &stats, &e);
	free(in);
	if (rc < 0) {
		fprintf(stderr, "customs db import: %s\n", e.msg);
		return 1;
	}
	if (stats.unchanged)
		printf("%s is up to date: the inputs have not changed"
		       " (%zu records)\n",
		       o->db, stats.records);
	else
		printf("imported %zu records into %s (%zu malformed skipped)\n",
		       stats.records, o->db, stats.skipped);
	return 0;
}

/* The feeds' cache: DATA/advisories, or beside --db. */
static char *dbcmd_cache_dir(const struct dbcmd_opts *o)
{
	char *copy, *dir;

	if (o->data)
		return xasprintf("%s/" VULNDB_CACHE_DIR, o->data);
	copy = xstrdup(o->db);
	dir = xasprintf("%s/" VULNDB_CACHE_DIR, dirname(copy));
	free(copy);
	return dir;
}

/* Per feed: its name, last success and age, records, last error. */
static void dbcmd_print_sources(const char *cache)
{
	json_t *v = vulndb_sources_status(cache, time(NULL)), *row;
	size_t i;

	if (!json_array_size(v))
		printf("feeds:       none fetched (customs db update)\n");
	else
		printf("feeds:\n");
	json_array_foreach(v, i, row) {
		json_t *age = json_object_get(row, "age_s");
		const char *ok =
			json_string_value(json_object_get(row, "last_success"));
		const char *err =
			json_string_value(json_object_get(row, "last_error"));

		printf("  %s\n",
		       json_string_value(json_object_get(row, "name")));
		if (ok)
			printf("    last success %s (%lldh%02lldm ago), "
			       "%lld records\n",
			       ok, (long long)(json_integer_value(age) / 3600),
			       (long long)(json_integer_value(age) % 3600 / 60),
			       (long long)json_integer_value(
				       json_object_get(row, "records")));
		else
			printf("    never fetched\n");
		if (err)
			printf("    last error: %s\n", err);
	}
	json_decref(v);
}

static int dbcmd_status(struct dbcmd_opts *o, const char **extra, size_t nextra)
{
	struct err e = ERR_INIT;
	struct vulndb *db;
	char *cache = dbcmd_cache_dir(o);
	int ret = 0;

	if (nextra) {
		free(cache);
		return opt_fail(&dbcmd_cmd, "status takes no PATH ('%s')",
				extra[0]);
	}
	db = vulndb_open(o->db, &e);
	if (!db) {
		fprintf(stderr, "customs db status: %s\n", e.msg);
		dbcmd_print_sources(cache);
		free(cache);
		return 1;
	}
	printf("database:    %s\n", o->db);
	if (vulndb_status(db, stdout, &e) < 0) {
		fprintf(stderr, "customs db status: %s\n", e.msg);
		ret = 1;
	}
	dbcmd_print_sources(cache);
	vulndb_free(db);
	free(cache);
	return ret;
}

static int dbcmd_update(struct dbcmd_opts *o, const char **extra, size_t nextra,
			bool default_dir)
{
	struct vulndb_update_opts uo = {.dbpath = o->db};
	struct vulndb_update_result r;
	struct vulndb_source *src = NULL;
	struct err e = ERR_INIT;
	size_t n = 0;
	char *cache = NULL;
	int ret = 1;

	if (nextra)
		return opt_fail(&dbcmd_cmd,
				"update takes no PATH ('%s'); use --source "
				"KIND=URL",
				extra[0]);
	if (o->source.n) {
		src = xcalloc(o->source.n, sizeof(*src));
		for (; n < o->source.n; n++)
			if (vulndb_source_parse(o->source.v[n], &src[n], &e) <
			    0) {
				ret = opt_fail(&dbcmd_cmd, "%s", e.msg);
				goto out;
			}
	} else {
		vulndb_sources_default(NULL, time(NULL), &src, &n);
	}
	if (default_dir && mkdir(DBCMD_DEFAULT_DATA, 0755) < 0 &&
	    errno != EEXIST) {
		fprintf(stderr, "customs db update: mkdir %s: %s\n",
			DBCMD_DEFAULT_DATA, strerror(errno));
		goto out;
	}
	cache = dbcmd_cache_dir(o);
	uo.cache_dir = cache;
	uo.sources = src;
	uo.nsources = n;
	vulndb_fetch_defaults(&uo.limits);
	uo.limits.connect_timeout_s = o->connect_timeout;
	uo.limits.stall_timeout_s = o->stall_timeout;
	uo.limits.attempts = o->attempts;
	uo.limits.max_bytes = (int64_t)o->max_download;
	ret = vulndb_update(&uo, &r, &e) < 0 ? 1 : 0;
	printf("%zu feed(s): %zu new, %zu unchanged, %zu failed; %s\n", n,
	       r.fetched, r.unchanged, r.failed,
	       r.swapped		  ? "the DB was replaced"
	       : r.imported && !r.records ? "the DB is unchanged"
	       : r.imported		  ? "same data: the DB is unchanged"
			    : "nothing to import: the DB is unchanged");
	if (r.swapped)
		printf("%zu records in %s\n", r.records, o->db);
	if (ret)
		fprintf(stderr, "customs db update: %s\n", e.msg);
out:
	vulndb_sources_free(src, n);
	free(cache);
	return ret;
}

int scan_db_cmd_main(int argc, char **argv)
{
	struct dbcmd_opts o = {0};
	struct opt_args args = {0};
	const char *sub;
	int ret;

	if (!opt_cli(&dbcmd_cmd, &o, argc, argv, &args, &ret))
		goto out;
	sub = args.n ? args.v[0] : NULL;
	if (!sub) {
		ret = opt_fail(&dbcmd_cmd, "expected import, update or status");
		goto out;
	}
	if (strcmp(sub, "import") && strcmp(sub, "status") &&
	    strcmp(sub, "update")) {
		ret = opt_fail(&dbcmd_cmd, "unknown subcommand '%s'", sub);
		goto out;
	}
	if (!o.db)
		o.db = xasprintf("%s/vulndb.db",
				 o.data ? o.data : DBCMD_DEFAULT_DATA);
	if (!strcmp(sub, "import"))
		ret = dbcmd_import(&o, args.v + 1, args.n - 1,
				   !o.data && !strcmp(o.db, DBCMD_DEFAULT_DATA
						      "/vulndb.db"));
	else if (!strcmp(sub, "update"))
		ret = dbcmd_update(&o, args.v + 1, args.n - 1,
				   !o.data && !strcmp(o.db, DBCMD_DEFAULT_DATA
						      "/vulndb.db"));
	else
		ret = dbcmd_status(&o, args.v + 1, args.n - 1);
out:
	opt_args_release(&args);
	opt_release(&dbcmd_cmd, &o);
	return ret;
}
