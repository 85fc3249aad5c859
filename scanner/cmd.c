/* cmd.c: `customs scan`. */
#include <limits.h>
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/opt.h"
#include "common/xmalloc.h"
#include "scanner/report_int.h"
#include "scanner/scan_int.h"
#include "scanner/vulndb_int.h"
#include "common/banned.h"

#define SCAN_DEFAULT_DB "./var/vulndb.db"

enum scan_fmt { FMT_JSON, FMT_TABLE, FMT_CYCLONEDX };

/* The options as given; scan_args_budget() makes them a scan_budget. */
struct scan_args {
	char *db; /* NULL: SCAN_DEFAULT_DB, and absent is no error */
	char *format;
	char *fail_on;
	char *severity_source;
	char *output;
	size_t layer_bytes, image_bytes, file_bytes;
	int ratio, layer_entries, packages;
	int64_t deadline_s;
	int64_t db_max_age;  /* seconds; 0: never stale */
	struct opt_list vex; /* OpenVEX files */
};

#define SA_OFF(f) offsetof(struct scan_args, f)

static const char *const scan_formats[] = {"json", "table", "cyclonedx", NULL};
static const char *const scan_sev_sources[] = {"vendor", "nvd", NULL};

/* The budgets' defaults are scan_budget_defaults() (scan_args_init). */
static const struct opt scan_opts[] = {
	{"db", OPT_STRING, 0, 0, NULL, SA_OFF(db), NULL, "FILE",
	 "vulnerability DB (default " SCAN_DEFAULT_DB "; when the default "
	 "is absent the report says there is no vulnerability data)"},
	{"format", OPT_STRING, 0, 0, "json", SA_OFF(format), scan_formats,
	 "FMT", "json, table, or cyclonedx (CycloneDX 1.5)"},
	{"fail-on", OPT_STRING, 0, 0, NULL, SA_OFF(fail_on), NULL, "LEVEL",
	 "exit 1 if a finding of LEVEL or worse exists (critical, high, "
	 "medium, low, unknown)"},
	{"severity-source", OPT_STRING, 0, 0, "vendor", SA_OFF(severity_source),
	 scan_sev_sources, "WHOSE",
	 "whose rating a finding's severity is first: vendor (a "
	 "distribution's own for its packages, then NVD's CVSS, then the "
	 "advisory's) or nvd (NVD's CVSS everywhere)"},
	{"db-max-age", OPT_DURATION, 0, 1LL << 31, "3d", SA_OFF(db_max_age),
	 NULL, "DURATION",
	 "a DB imported longer ago than this (\"3d\", \"12h\"; 0: never) "
	 "adds a note to the report and a warning"},
	{"vex", OPT_LIST, 0, 0, NULL, SA_OFF(vex), NULL, "FILE",
	 "an OpenVEX document (repeatable): its not_affected and fixed "
	 "statements move findings to \"suppressed\", out of the counts "
	 "and --fail-on"},
	{"output", OPT_STRING, 0, 0, NULL, SA_OFF(output), NULL, "FILE",
	 "write the report to FILE instead of standard output"},
	{"max-layer-bytes", OPT_SIZE, 0, 1LL << 60, NULL, SA_OFF(layer_bytes),
	 NULL, NULL, "decompressed bytes per layer"},
	{"max-image-bytes", OPT_SIZE, 0, 1LL << 60, NULL, SA_OFF(image_bytes),
	 NULL, NULL, "decompressed bytes per image"},
	{"max-ratio", OPT_INT, 0, INT_MAX, NULL, SA_OFF(ratio), NULL, NULL,
	 "decompressed:compressed bytes of a layer, checked after the first "
	 "64 MiB"},
	{"max-layer-entries", OPT_INT, 0, INT_MAX, NULL, SA_OFF(layer_entries),
	 NULL, NULL, "tar entries per layer"},
	{"max-file-bytes", OPT_SIZE, 0, 1LL << 60, NULL, SA_OFF(file_bytes),
	 NULL, NULL,
	 "bytes read of one file a detector needs; each format has its own "
	 "lower cap too"},
	{"max-packages", OPT_INT, 0, INT_MAX, NULL, SA_OFF(packages), NULL,
	 NULL,
	 "inventory entries per image: files kept for the detectors and the "
	 "packages they list"},
	{"scan-deadline", OPT_DURATION, 0, 1LL << 31, NULL, SA_OFF(deadline_s),
	 NULL, NULL, "wall clock per scan"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

static const struct opt_cmd scan_cmd = {
	.name = "scan",
	.synopsis = "[options] IMAGE",
	.notes = "IMAGE is an OCI image layout directory (DIR or DIR:TAG),\n"
		 "an OCI archive (a tar of a layout) or a `docker save`\n"
		 "tarball (FILE or FILE:TAG); skopeo's oci:, oci-archive:\n"
		 "and docker-archive: prefixes are accepted.  An image\n"
		 "index is scanned per platform.\n"
		 "\n"
		 "The --max-* flags and --scan-deadline are budgets: what\n"
		 "one scan of an untrusted image may cost.  The first\n"
		 "limit reached ends that part of the scan; the report\n"
		 "then says \"status\": \"incomplete\" and lists the budget\n"
		 "under \"budgets\".  0 means no limit.\n"
		 "\n"
		 "Exit status: 0 scanned (no finding at --fail-on level),\n"
		 "1 findings at or above --fail-on, 2 usage error or the\n"
		 "image could not be read, 3 the report was written but is\n"
		 "incomplete (a budget was hit or a layer could not be\n"
		 "read completely), 4 --fail-on cannot be judged: there\n"
		 "is no vulnerability data (the report's counts say\n"
		 "\"no data\"), or none for the image's OS (a note says\n"
		 "\"no advisory source covers ...\").",
	.opts = scan_opts,
	.max_operands = 1,
};

static void scan_args_init(struct scan_args *a)
{
	struct scan_budget d;

	memset(a, 0, sizeof(*a));
	scan_budget_defaults(&d);
	a->layer_bytes = (size_t)d.layer_bytes;
	a->image_bytes = (size_t)d.image_bytes;
	a->file_bytes = (size_t)d.file_bytes;
	a->ratio = (int)d.ratio;
	a->layer_entries = (int)d.layer_entries;
	a->packages = (int)d.packages;
	a->deadline_s = d.deadline_ms / 1000;
}

static void scan_args_budget(const struct scan_args *a, struct scan_budget *b)
{
	scan_budget_defaults(b);
	b->layer_bytes = (int64_t)a->layer_bytes;
	b->image_bytes = (int64_t)a->image_bytes;
	b->file_bytes = (int64_t)a->file_bytes;
	b->ratio = a->ratio;
	b->layer_entries = a->layer_entries;
	b->packages = a->packages;
	b->deadline_ms = a->deadline_s * 1000;
}

/* Splits IMAGE into a path that exists and an optional tag after it. */
static int scan_open_input(const char *arg, struct image_input **in,
			   struct scan_source *src, struct image_set *set,
			   struct err *e)
{
	static const char *const prefixes[] = {
		"oci:", "oci-archive:", "docker-archive:"};
	char *path = NULL;
	const char *tag = NULL;
	struct stat st;
	int r;

	for (size_t i = 0; i < 3; i++)
		if (!strncmp(arg, prefixes[i], strlen(prefixes[i])) &&
		    stat(arg, &st))
			arg += strlen(prefixes[i]);
	for (const char *p = arg;; p++) {
		if (*p && *p != ':')
			continue;
		free(path);
		path = xstrndup(arg, (size_t)(p - arg));
		if (!stat(path, &st)) {
			tag = *p ? p + 1 : NULL;
			break;
		}
		if (!*p) {
			r = err_errno(e, ERR_NOT_FOUND, errno, "%s", arg);
			goto out;
		}
	}
	if (tag && !*tag)
		tag = NULL;
	if (S_ISDIR(st.st_mode))
		r = image_layout_open(path, tag, in, src, set, e);
	else if (S_ISREG(st.st_mode))
		r = image_tar_open(path, tag, in, src, set, e);
	else
		r = err_set(e, ERR_INVALID, "%s: not a directory or a file",
			    path);
out:
	free(path);
	return r;
}

static int scan_write(const struct scan_args *a, enum scan_fmt fmt,
		      const json_t *report)
{
	FILE *out = stdout;
	json_t *bom = NULL;
	int r = 0;

	if (a->output && !(out = fopen(a->output, "w"))) {
		fprintf(stderr, "customs scan: %s: %s\n", a->output,
			strerror(errno));
		return -1;
	}
	if (fmt == FMT_TABLE) {
		r = report_write_table(out, report);
	} else {
		if (fmt == FMT_CYCLONEDX)
			bom = report_cyclonedx(report);
		r = json_dumpf(bom ? bom : report, out,
			       JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', out);
	}
	json_decref(bom);
	if (fflush(out) || ferror(out))
		r = -1;
	if (out != stdout && fclose(out))
		r = -1;
	if (r)
		fprintf(stderr, "customs scan: writing the report failed\n");
	return r;
}

/* True when a budget was hit or a layer could not be read to its end (see
 * layer.c's notes). */
static bool scan_incomplete(const json_t *report)
{
	const json_t *mans = json_object_get(report, "manifests"), *m, *n;
	size_t i, k;

	if (!report_is_complete(report))
		return true;
	if (json_is_array(mans)) {
		json_array_foreach(mans, i, m)
			if (scan_incomplete(m))
				return true;
		return false;
	}
	json_array_foreach(json_object_get(report, "notes"), k, n) {
		const char *s = json_string_value(n);

		if (s && !strncmp(s, "layer ", 6) &&
		    (strstr(s, ": read error") || strstr(s, ": not analysed")))
			return true;
	}
	return false;
}

/* "docker.io/library/alpine:3.18" names a repository and a tag; "3.18"
 * (an OCI layout's ref.name) only a tag. */
static void scan_split_ref(const char *ref, char **repo, const char **tag)
{
	const char *slash, *colon;

	*repo = NULL;
	*tag = ref;
	if (!ref)
		return;
	slash = strrchr(ref, '/');
	colon = strrchr(ref, ':');
	if (colon && (!slash || colon > slash)) {
		if (colon == ref)
			return;
		*repo = xstrndup(ref, (size_t)(colon - ref));
		*tag = colon + 1;
	} else if (slash) {
		*repo = xstrdup(ref);
		*tag = NULL;
	}
}

static struct vulndb *scan_open_db(const struct scan_args *a, char **note,
				   struct err *e)
{
	struct stat st;

	*note = NULL;
	if (!a->db && stat(SCAN_DEFAULT_DB, &st) && errno == ENOENT) {
		*note = xasprintf("%s: %s not found (import one with 'customs "
				  "db import')",
				  SCAN_NO_DB, SCAN_DEFAULT_DB);
		return NULL;
	}
	return vulndb_open(a->db ? a->db : SCAN_DEFAULT_DB, e);
}

/* The format and --fail-on level of a; a usage error's status if bad. */
static int scan_args_check(const struct scan_args *a, enum scan_fmt *fmt,
			   int *fail_on)
{
	enum vuln_severity sev;

	*fmt = FMT_JSON; /* the table's choices are checked already */
	if (!strcmp(a->format, "table"))
		*fmt = FMT_TABLE;
	else if (!strcmp(a->format, "cyclonedx"))
		*fmt = FMT_CYCLONEDX;
	*fail_on = -1;
	if (a->fail_on && report_sev_parse(a->fail_on, &sev))
		return opt_fail(&scan_cmd,
				"--fail-on: '%s' is not a severity (critical, "
				"high, medium, low, unknown)",
				a->fail_on);
	if (a->fail_on)
		*fail_on = (int)sev;
	return 0;
}

int scan_cmd_main(int argc, char **argv)
{
	struct scan_args a;
	struct opt_args args = {0};
	struct scan_budget budget;
	struct image_input *in = NULL;
	struct scan_source src = {0};
	struct image_set set;
	struct err e = ERR_INIT;
	struct vulndb *db = NULL;
	json_t *report = NULL;
	char *note = NULL, *repo = NULL;
	const char *gap = NULL;
	struct scan_vex *vex = scan_vex_new();
	enum scan_fmt fmt;
	enum vuln_sev_pref pref;
	int fail_on, rc;

	image_set_init(&set);
	scan_args_init(&a);
	if (!opt_cli(&scan_cmd, &a, argc, argv, &args, &rc))
		goto out;
	rc = 2;
	if (args.n != 1) {
		opt_fail(&scan_cmd, "expected one IMAGE");
		goto out;
	}
	if (scan_args_check(&a, &fmt, &fail_on))
		goto out;
	scan_args_budget(&a, &budget);
	for (size_t i = 0; i < a.vex.n; i++) {
		if (scan_vex_add_file(vex, a.vex.v[i], &e) < 0) {
			fprintf(stderr, "customs scan: %s\n", e.msg);
			goto out;
		}
	}
	db = scan_open_db(&a, &note, &e);
	if (!db && !note) {
		fprintf(stderr, "customs scan: %s: %s\n",
			a.db ? a.db : SCAN_DEFAULT_DB, e.msg);
		goto out;
	}
	if (db && vuln_sev_pref_parse(a.severity_source, &pref) == 0)
		vulndb_prefer(db, pref);
	if (scan_open_input(args.v[0], &in, &src, &set, &e)) {
		fprintf(stderr, "customs scan: %s\n", e.msg);
		goto out;
	}
	/* The layers are read by sandboxed workers; only small JSON (the
	 * layout's index, manifests and configs, each capped) is parsed
	 * here, and the workers' inventories are matched here. */
	struct scan_sandbox sb;
	scan_sandbox_defaults(&sb);
	struct scan_opts o = {.db = db, .db_note = note};
	scan_split_ref(set.ref, &repo, &o.tag);
	o.repository = repo;
	o.budget = &budget;
	if (scan_images(&src, &set, &o, &sb, &report, &e)) {
		fprintf(stderr, "customs scan: %s\n", e.msg);
		goto out;
	}
	scan_vex_apply(vex, report);
	if (scan_note_db_age(report, a.db_max_age, time(NULL),
			     "run 'customs db update'"))
		fprintf(stderr,
			"customs scan: warning: the vulnerability DB is older "
			"than --db-max-age (see the report's notes)\n");
	if (scan_write(&a, fmt, report))
		goto out;
	rc = 0;
	if (fail_on >= 0 && !report_has_data(report)) {
		fprintf(stderr, "customs scan: cannot judge --fail-on %s: %s\n",
			a.fail_on, note ? note : SCAN_NO_DB);
		rc = 4;
	} else if (fail_on >= 0 && report_max_severity(report) >= fail_on)
		rc = 1;
	else if (fail_on >= 0 && scan_report_gap(report, &gap)) {
		fprintf(stderr, "customs scan: cannot judge --fail-on %s: %s\n",
			a.fail_on, gap);
		rc = 4;
	} else if (scan_incomplete(report)) {
		fprintf(stderr,
			"customs scan: the scan is incomplete: a budget was "
			"hit or a layer could not be read completely (see the "
			"report's \"budgets\" and notes)\n");
		rc = 3;
	}
out:
	json_decref(report);
	scan_vex_free(vex);
	opt_args_release(&args);
	opt_release(&scan_cmd, &a);
	image_set_release(&set);
	image_input_free(in);
	vulndb_free(db);
	free(note);
	free(repo);
	return rc;
}
