/* customs db: import and inspect the vulnerability DB. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/opt.h"
#include "common/xmalloc.h"
#include "scanner/scanner.h"
#include "scanner/vulndb_int.h"
#include "common/banned.h"

#define DBCMD_DEFAULT_DATA "./var"

struct dbcmd_opts {
	char *db;   /* --db, or DATA/vulndb.db */
	char *data; /* --data */
};

#define DB_OFF(f) offsetof(struct dbcmd_opts, f)

static const struct opt dbcmd_opts[] = {
	{"db", OPT_STRING, 0, 0, NULL, DB_OFF(db), NULL, "FILE",
	 "the DB (default DATA/vulndb.db)"},
	/* serve's name for it, in a shared --config file */
	{"vuln-db", OPT_STRING, 0, 0, NULL, DB_OFF(db), NULL, "FILE", NULL},
	{"data", OPT_STRING, 0, 0, NULL, DB_OFF(data), NULL, "DIR",
	 "the data directory (default " DBCMD_DEFAULT_DATA ")"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

static const struct opt_cmd dbcmd_cmd = {
	.name = "db",
	.synopsis = "import|status [options] [[KIND=]PATH...]",
	.notes = "import  reads OSV JSON (a .json file, a directory tree of "
		 "them,\n"
		 "        or an archive such as OSV's per-ecosystem all.zip) "
		 "and\n"
		 "        Alpine secdb JSON, and atomically replaces the DB;\n"
		 "        KIND=PATH names what PATH holds: osv, alpine-secdb,\n"
		 "        debian-tracker (the Security Tracker's JSON) or nvd\n"
		 "        (NVD CVE JSON 2.0, a feed file, gzip'd or not);\n"
		 "        importing unchanged inputs again changes nothing\n"
		 "status  prints the DB version, import time and counts per\n"
		 "        ecosystem",
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

static int dbcmd_status(struct dbcmd_opts *o, const char **extra, size_t nextra)
{
	struct err e = ERR_INIT;
	struct vulndb *db;
	int ret = 0;

	if (nextra)
		return opt_fail(&dbcmd_cmd, "status takes no PATH ('%s')",
				extra[0]);
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
	struct dbcmd_opts o = {NULL, NULL};
	struct opt_args args = {0};
	const char *sub;
	int ret;

	if (!opt_cli(&dbcmd_cmd, &o, argc, argv, &args, &ret))
		goto out;
	sub = args.n ? args.v[0] : NULL;
	if (!sub) {
		ret = opt_fail(&dbcmd_cmd, "expected import or status");
		goto out;
	}
	if (strcmp(sub, "import") && strcmp(sub, "status")) {
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
	else
		ret = dbcmd_status(&o, args.v + 1, args.n - 1);
out:
	opt_args_release(&args);
	opt_release(&dbcmd_cmd, &o);
	return ret;
}
