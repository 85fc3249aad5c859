/* cmd.c: `customs scan`. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "scanner/image.h"
#include "scanner/report.h"
#include "scanner/scan.h"
#include "scanner/scanner.h"
#include "scanner/vulndb.h"
#include "common/banned.h"

#define SCAN_DEFAULT_DB "./var/vulndb.db"

enum scan_fmt { FMT_JSON, FMT_TABLE, FMT_CYCLONEDX };

struct scan_args {
	const char *db;
	bool db_given;
	enum scan_fmt fmt;
	int fail_on;		/* enum vuln_severity, or -1 */
	const char *output;
	const char *image;
	json_t *config;		/* --config FILE, kept for its strings */
	struct scan_budget budget;
};

/* The budget flags: name, field, whether the value is a byte size (with
 * an optional k/M/G suffix, powers of 1024), a scale applied to it. */
static const struct {
	const char *name;
	size_t off;
	bool size;
	int64_t scale;
} scan_budget_opts[] = {
	{ "max-layer-bytes", offsetof(struct scan_budget, layer_bytes), true, 1 },
	{ "max-image-bytes", offsetof(struct scan_budget, image_bytes), true, 1 },
	{ "max-ratio", offsetof(struct scan_budget, ratio), false, 1 },
	{ "max-layer-entries", offsetof(struct scan_budget, layer_entries), false, 1 },
	{ "max-file-bytes", offsetof(struct scan_budget, file_bytes), true, 1 },
	{ "max-packages", offsetof(struct scan_budget, packages), false, 1 },
	{ "scan-deadline", offsetof(struct scan_budget, deadline_ms), false, 1000 },
};
#define SCAN_NBUDGET (sizeof(scan_budget_opts) / sizeof(*scan_budget_opts))

/* "123", or with size: "64k", "4M", "4MiB", "1G".  0 means no limit. */
static int scan_parse_count(const char *s, bool size, int64_t scale,
			    int64_t *out)
{
	unsigned long long v;
	int64_t mul = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (size && *end) {
		switch (*end) {
		case 'k': case 'K': mul = (int64_t)1 << 10; break;
		case 'm': case 'M': mul = (int64_t)1 << 20; break;
		case 'g': case 'G': mul = (int64_t)1 << 30; break;
		case 't': case 'T': mul = (int64_t)1 << 40; break;
		default: return -1;
		}
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end || v > (unsigned long long)(INT64_MAX / mul / scale))
		return -1;
	*out = (int64_t)v * mul * scale;
	return 0;
}

static void scan_size_str(int64_t v, char out[32])
{
	if (v && !(v % ((int64_t)1 << 30)))
		snprintf(out, 32, "%lldG", (long long)(v >> 30));
	else if (v && !(v % ((int64_t)1 << 20)))
		snprintf(out, 32, "%lldM", (long long)(v >> 20));
	else
		snprintf(out, 32, "%lld", (long long)v);
}

static void scan_usage(FILE *out)
{
	struct scan_budget d;
	char sz[3][32];

	scan_budget_defaults(&d);
	scan_size_str(d.layer_bytes, sz[0]);
	scan_size_str(d.image_bytes, sz[1]);
	scan_size_str(d.file_bytes, sz[2]);
	fprintf(out,
		"usage: customs scan [--db F] [--format json|table|cyclonedx]\n"
		"                    [--fail-on LEVEL] [--output F] [--config F]\n"
		"                    [budget flags] IMAGE\n"
		"\n"
		"IMAGE is an OCI image layout directory (DIR or DIR:TAG), an OCI\n"
		"archive (a tar of a layout) or a `docker save` tarball (FILE or\n"
		"FILE:TAG); skopeo's oci:, oci-archive: and docker-archive: prefixes\n"
		"are accepted.  An image index is scanned per platform.\n"
		"\n"
		"  --db F          vulnerability DB (default %s; when the default is\n"
		"                  absent the report says there is no vulnerability data)\n"
		"  --format FMT    json (default), table, or cyclonedx (CycloneDX 1.5)\n"
		"  --fail-on LEVEL exit 1 if a finding of LEVEL or worse exists\n"
		"                  (critical, high, medium, low, unknown)\n"
		"  --output F      write the report to F instead of standard output\n"
		"  --config F      JSON file with the same options (\"db\", \"format\",\n"
		"                  \"fail-on\", \"output\", the budgets); flags override it\n"
		"\n"
		"Budgets: what one scan of an untrusted image may cost.  The first limit\n"
		"reached ends that part of the scan; the report then says \"status\":\n"
		"\"incomplete\" and lists the budget under \"budgets\".  0 means no limit;\n"
		"sizes take k, M, G suffixes (powers of 1024).\n"
		"  --max-layer-bytes N    decompressed bytes per layer (default %s)\n"
		"  --max-image-bytes N    decompressed bytes per image (default %s)\n"
		"  --max-ratio N          decompressed:compressed bytes of a layer, checked\n"
		"                         after the first 64 MiB (default %lld)\n"
		"  --max-layer-entries N  tar entries per layer (default %lld)\n"
		"  --max-file-bytes N     bytes read of one file a detector needs; each\n"
		"                         format has its own lower cap too (default %s)\n"
		"  --max-packages N       inventory entries per image: files kept for the\n"
		"                         detectors and the packages they list (default %lld)\n"
		"  --scan-deadline SECS   wall clock per scan (default %lld)\n"
		"\n"
		"Exit status: 0 scanned (no finding at --fail-on level), 1 findings at\n"
		"or above --fail-on, 2 usage error or the image could not be read,\n"
		"3 the report was written but is incomplete (a budget was hit or a layer\n"
		"could not be read completely).\n",
		SCAN_DEFAULT_DB, sz[0], sz[1], (long long)d.ratio,
		(long long)d.layer_entries, sz[2], (long long)d.packages,
		(long long)(d.deadline_ms / 1000));
}

static int scan_set(struct scan_args *a, const char *opt, const char *val)
{
	enum vuln_severity sev;

	if (!strcmp(opt, "db")) {
		a->db = val;
		a->db_given = true;
	} else if (!strcmp(opt, "format")) {
		if (!strcmp(val, "json"))
			a->fmt = FMT_JSON;
		else if (!strcmp(val, "table"))
			a->fmt = FMT_TABLE;
		else if (!strcmp(val, "cyclonedx"))
			a->fmt = FMT_CYCLONEDX;
		else
			return -1;
	} else if (!strcmp(opt, "fail-on")) {
		if (report_sev_parse(val, &sev))
			return -1;
		a->fail_on = (int)sev;
	} else if (!strcmp(opt, "output")) {
		a->output = val;
	} else {
		for (size_t i = 0; i < SCAN_NBUDGET; i++)
			if (!strcmp(opt, scan_budget_opts[i].name))
				return scan_parse_count(val, scan_budget_opts[i].size,
					scan_budget_opts[i].scale,
					(int64_t *)((char *)&a->budget +
						    scan_budget_opts[i].off));
		return -1;
	}
	return 0;
}

static int scan_config(struct scan_args *a, const char *file)
{
	json_error_t jerr;
	const char *key;
	json_t *v;

	a->config = json_load_file(file, 0, &jerr);
	if (!json_is_object(a->config)) {
		fprintf(stderr, "customs scan: %s: %s\n", file,
			a->config ? "not a JSON object" : jerr.text);
		return -1;
	}
	json_object_foreach(a->config, key, v) {
		if (!json_is_string(v) ||
		    scan_set(a, key, json_string_value(v))) {
			fprintf(stderr, "customs scan: %s: bad option \"%s\"\n",
				file, key);
			return -1;
		}
	}
	return 0;
}

/* Returns 0, 1 for --help, -1 for a usage error. */
static int scan_parse(int argc, char **argv, struct scan_args *a)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "max-layer-bytes", required_argument, NULL, '0' },
		{ "max-image-bytes", required_argument, NULL, '1' },
		{ "max-ratio", required_argument, NULL, '2' },
		{ "max-layer-entries", required_argument, NULL, '3' },
		{ "max-file-bytes", required_argument, NULL, '4' },
		{ "max-packages", required_argument, NULL, '5' },
		{ "scan-deadline", required_argument, NULL, '6' },
		{ NULL, 0, NULL, 0 },
	};
	const char *names[128] = { ['d'] = "db", ['f'] = "format",
				   ['F'] = "fail-on", ['o'] = "output" };
	int c;

	for (size_t i = 0; i < SCAN_NBUDGET; i++)
		names['0' + i] = scan_budget_opts[i].name;
	/* --config first, so that flags override it wherever it appears. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strncmp(argv[i], "--config=", 9) &&
		    scan_config(a, argv[i] + 9))
			return -1;
		if (!strcmp(argv[i], "--config") && i + 1 < argc &&
		    scan_config(a, argv[++i]))
			return -1;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == 'c')
			continue;
		if (c == '?' || c < 0 || c >= 128 || !names[c] ||
		    scan_set(a, names[c], optarg)) {
			if (c != '?')
				fprintf(stderr, "customs scan: bad value for --%s: %s\n",
					names[c], optarg);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "customs scan: expected one IMAGE\n");
		return -1;
	}
	a->image = argv[optind];
	return 0;
}

/* Splits IMAGE into a path that exists and an optional tag after it. */
static int scan_open_input(const char *arg, struct image_input **in,
			   struct scan_source *src, struct image_set *set,
			   struct err *e)
{
	static const char *const prefixes[] = { "oci:", "oci-archive:",
						"docker-archive:" };
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
		r = err_set(e, ERR_INVALID, "%s: not a directory or a file", path);
out:
	free(path);
	return r;
}

static int scan_write(const struct scan_args *a, const json_t *report)
{
	FILE *out = stdout;
	json_t *bom = NULL;
	int r = 0;

	if (a->output && !(out = fopen(a->output, "w"))) {
		fprintf(stderr, "customs scan: %s: %s\n", a->output,
			strerror(errno));
		return -1;
	}
	if (a->fmt == FMT_TABLE) {
		r = report_write_table(out, report);
	} else {
		if (a->fmt == FMT_CYCLONEDX)
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
	if (stat(a->db, &st) && errno == ENOENT && !a->db_given) {
		*note = xasprintf("%s: %s not found (import one with 'customs db import')",
				  REPORT_NO_DB, a->db);
		return NULL;
	}
	return vulndb_open(a->db, e);
}

int scan_cmd_main(int argc, char **argv)
{
	struct scan_args a = { .db = SCAN_DEFAULT_DB, .fail_on = -1 };
	struct image_input *in = NULL;
	struct scan_source src = { 0 };
	struct image_set set;
	struct err e = ERR_INIT;
	struct vulndb *db = NULL;
	json_t *report = NULL;
	char *note = NULL, *repo = NULL;
	int r, rc = 2;

	image_set_init(&set);
	scan_budget_defaults(&a.budget);
	r = scan_parse(argc, argv, &a);
	if (r) {
		scan_usage(r > 0 ? stdout : stderr);
		rc = r > 0 ? 0 : 2;
		goto out;
	}
	db = scan_open_db(&a, &note, &e);
	if (!db && !note) {
		fprintf(stderr, "customs scan: %s: %s\n", a.db, e.msg);
		goto out;
	}
	if (scan_open_input(a.image, &in, &src, &set, &e)) {
		fprintf(stderr, "customs scan: %s\n", e.msg);
		goto out;
	}
	/* The layers are read by sandboxed workers; only small JSON (the
	 * layout's index, manifests and configs, each capped) is parsed
	 * here, and the workers' inventories are matched here. */
	struct scan_sandbox sb;
	scan_sandbox_defaults(&sb);
	struct scan_opts o = { .db = db, .db_note = note,
			       .image_fn = scan_image_sandboxed,
			       .image_ctx = &sb };
	scan_split_ref(set.ref, &repo, &o.tag);
	o.repository = repo;
	o.budget = &a.budget;
	if (scan_images(&src, &set, &o, &report, &e)) {
		fprintf(stderr, "customs scan: %s\n", e.msg);
		goto out;
	}
	if (scan_write(&a, report))
		goto out;
	rc = 0;
	if (a.fail_on >= 0 && scan_report_max_severity(report) >= a.fail_on)
		rc = 1;
	else if (scan_incomplete(report)) {
		fprintf(stderr, "customs scan: the scan is incomplete: a budget was hit or a layer could not be read completely (see the report's \"budgets\" and notes)\n");
		rc = 3;
	}
out:
	json_decref(report);
	json_decref(a.config);
	image_set_release(&set);
	image_input_free(in);
	vulndb_free(db);
	free(note);
	free(repo);
	return rc;
}
