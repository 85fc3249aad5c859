/* customs db: import and inspect the vulnerability DB. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "scanner/scanner.h"
#include "scanner/vulndb.h"
#include "common/banned.h"

#define DBCMD_DEFAULT_DATA "./var"

struct dbcmd_opts {
	char *db;	   /* --db, or DATA/vulndb.db */
	char *data;	   /* --data */
	char *config;	   /* --config */
	const char **args; /* the operands */
	size_t nargs;
};

static void dbcmd_usage(FILE *out)
{
	fprintf(out,
		"usage: customs db import [--db FILE] PATH...\n"
		"       customs db status [--db FILE]\n"
		"\n"
		"import  reads OSV JSON (a .json file, a directory tree of "
		"them,\n"
		"        or an archive such as OSV's per-ecosystem all.zip) "
		"and\n"
		"        Alpine secdb JSON, and atomically replaces the DB;\n"
		"        importing unchanged inputs again changes nothing\n"
		"status  prints the DB version, import time and counts per\n"
		"        ecosystem\n"
		"\n"
		"options:\n"
		"  --db FILE      the DB (default DATA/vulndb.db)\n"
		"  --data DIR     the data directory (default %s)\n"
		"  --config FILE  JSON file with the same options: {\"db\": "
		"...,\n"
		"                 \"data\": ...}; flags win over it\n"
		"  --help         this text\n",
		DBCMD_DEFAULT_DATA);
}

/* "--name VALUE" or "--name=VALUE"; advances *i past what it used. */
static int dbcmd_value(int argc, char **argv, int *i, const char *name,
		       char **out)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) || (a[n] && a[n] != '='))
		return 0;
	if (a[n] == '=') {
		free(*out);
		*out = xstrdup(a + n + 1);
		return 1;
	}
	if (*i + 1 >= argc) {
		fprintf(stderr, "customs db: %s needs a value\n", name);
		return -1;
	}
	free(*out);
	*out = xstrdup(argv[++*i]);
	return 1;
}

static int dbcmd_config(struct dbcmd_opts *o)
{
	static const char *const keys[] = {"db", "vuln-db", "data"};
	json_error_t jerr;
	json_t *cfg = json_load_file(o->config, 0, &jerr);
	int ret = -1;

	if (!cfg) {
		fprintf(stderr, "customs db: %s:%d: %s\n", o->config, jerr.line,
			jerr.text);
		return -1;
	}
	if (!json_is_object(cfg)) {
		fprintf(stderr, "customs db: %s: not a JSON object\n",
			o->config);
		goto out;
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++) {
		json_t *v = json_object_get(cfg, keys[k]);
		char **dst = k < 2 ? &o->db : &o->data;

		if (!v)
			continue;
		if (!json_is_string(v)) {
			fprintf(stderr,
				"customs db: %s: \"%s\" must be a string\n",
				o->config, keys[k]);
			goto out;
		}
		if (!*dst)
			*dst = xstrdup(json_string_value(v));
	}
	ret = 0;
out:
	json_decref(cfg);
	return ret;
}

/* Returns 0, 1 for --help, or -1 for a usage error. */
static int dbcmd_parse(int argc, char **argv, struct dbcmd_opts *o)
{
	bool operands = false;
	int i, r;

	o->args = xcalloc((size_t)argc + 1, sizeof(*o->args));
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (operands || a[0] != '-' || !a[1]) {
			o->args[o->nargs++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			operands = true;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if ((r = dbcmd_value(argc, argv, &i, "--db", &o->db)) ||
		    (r = dbcmd_value(argc, argv, &i, "--data", &o->data)) ||
		    (r = dbcmd_value(argc, argv, &i, "--config", &o->config))) {
			if (r < 0)
				return -1;
			continue;
		}
		fprintf(stderr, "customs db: unknown option '%s'\n", a);
		return -1;
	}
	if (o->config && dbcmd_config(o) < 0)
		return -1;
	if (!o->db)
		o->db = xasprintf("%s/vulndb.db",
				  o->data ? o->data : DBCMD_DEFAULT_DATA);
	return 0;
}

static void dbcmd_release(struct dbcmd_opts *o)
{
	free(o->db);
	free(o->data);
	free(o->config);
	free(o->args);
}

static int dbcmd_import(struct dbcmd_opts *o, bool default_dir)
{
	struct vulndb_import_stats stats;
	struct err e = ERR_INIT;

	if (!o->nargs) {
		fprintf(stderr, "customs db import: no PATH given\n");
		dbcmd_usage(stderr);
		return 2;
	}
	/* The default data directory is ours to create; a named one is not. */
	if (default_dir && mkdir(DBCMD_DEFAULT_DATA, 0755) < 0 &&
	    errno != EEXIST) {
		fprintf(stderr, "customs db import: mkdir %s: %s\n",
			DBCMD_DEFAULT_DATA, strerror(errno));
		return 1;
	}
	if (vulndb_import(o->db, o->args, o->nargs, &stats, &e) < 0) {
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

static int dbcmd_status(struct dbcmd_opts *o)
{
	struct err e = ERR_INIT;
	struct vulndb *db;
	int ret = 0;

	if (o->nargs) {
		fprintf(stderr, "customs db status: unexpected '%s'\n",
			o->args[0]);
		return 2;
	}
	db = vulndb_open(o->db, &e);
	if (!db) {
		fprintf(stderr, "customs db status: %s\n", e.msg);
		return 1;
	}
	printf("database:    %s\n", o->db);
	if (vulndb_status(db, stdout, &e) < 0) {
		fprintf(stderr, "customs db status: %s\n", e.msg);
		ret = 1;
	}
	vulndb_free(db);
	return ret;
}

int scan_db_cmd_main(int argc, char **argv)
{
	struct dbcmd_opts o = {NULL, NULL, NULL, NULL, 0};
	const char *sub = argc > 1 ? argv[1] : NULL;
	int ret = 2, r;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") ||
	    !strcmp(sub, "help")) {
		dbcmd_usage(sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	if (strcmp(sub, "import") && strcmp(sub, "status")) {
		fprintf(stderr, "customs db: unknown subcommand '%s'\n", sub);
		dbcmd_usage(stderr);
		return 2;
	}
	r = dbcmd_parse(argc, argv, &o);
	if (r > 0) {
		dbcmd_usage(stdout);
		ret = 0;
	} else if (r == 0 && !strcmp(sub, "import")) {
		ret = dbcmd_import(&o,
				   !o.data && !strcmp(o.db, DBCMD_DEFAULT_DATA
						      "/vulndb.db"));
	} else if (r == 0) {
		ret = dbcmd_status(&o);
	}
	dbcmd_release(&o);
	return ret;
}
