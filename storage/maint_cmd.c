/* maint_cmd.c: `customs gc` and `customs fsck`.
 *
 * Flags take `--name value` or `--name=value`; `--config FILE` reads the
 * same names from a JSON object (the file of `customs serve` works: keys
 * these commands do not know are left to serve).  A command that can take
 * the store's lock runs alone (no server): temporary files are garbage
 * whatever their age, and a server started meanwhile is refused.
 */
#define _XOPEN_SOURCE 700 /* strptime */

#include "storage/gc_int.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

#define FSCK_STATE "fsck.state"

struct maint_args {
	const char *cmd;
	char *data;
	bool dry_run, untagged, quiet, repair, strict, force;
	int64_t grace_s, upload_ttl_s;
	int64_t max_sweep_share;
	char *since;
};

enum maint_opt_type { MO_STRING, MO_BOOL, MO_DURATION, MO_PERCENT };

struct maint_opt {
	const char *name;
	enum maint_opt_type type;
	size_t offset;
	bool gc, fsck; /* which command takes it */
	const char *arg, *help;
};

#define MO_OFF(f) offsetof(struct maint_args, f)

static const struct maint_opt maint_opts[] = {
	{"data", MO_STRING, MO_OFF(data), true, true, "DIR",
	 "data directory (default ./var)"},
	{"dry-run", MO_BOOL, MO_OFF(dry_run), true, false, NULL,
	 "say what would be freed, free nothing"},
	{"gc-grace", MO_DURATION, MO_OFF(grace_s), true, false, "DURATION",
	 "keep blobs and manifests younger than this (default 1h)"},
	{"upload-ttl", MO_DURATION, MO_OFF(upload_ttl_s), true, false,
	 "DURATION",
	 "end upload sessions idle this long (default 24h; 0: "
	 "never)"},
	{"gc-untagged", MO_BOOL, MO_OFF(untagged), true, false, NULL,
	 "also delete manifests that no tag reaches"},
	{"max-sweep-share", MO_PERCENT, MO_OFF(max_sweep_share), true, false,
	 "PERCENT",
	 "refuse to free more than this share of the blobs' bytes "
	 "(default 50; 100: no limit): so much garbage means lost "
	 "metadata"},
	{"force", MO_BOOL, MO_OFF(force), true, false, NULL,
	 "free the blobs even past --max-sweep-share"},
	{"repair", MO_BOOL, MO_OFF(repair), false, true, NULL,
	 "move corrupt blobs and stray files to DIR/quarantine/"},
	{"since", MO_STRING, MO_OFF(since), false, true, "WHEN",
	 "re-hash only blobs written since WHEN: unix time, a duration "
	 "ago (24h), YYYY-MM-DD[THH:MM:SSZ], or 'last' (the last clean "
	 "run)"},
	{"strict", MO_BOOL, MO_OFF(strict), false, true, NULL,
	 "garbage (orphans, stale uploads) fails fsck too"},
	{"quiet", MO_BOOL, MO_OFF(quiet), true, false, NULL,
	 "print only the summary"},
	{NULL, 0, 0, false, false, NULL, NULL},
};

/* Option names match ignoring '-', '_' and case, as serve's do. */
static bool maint_name_eq(const char *a, const char *b, size_t blen)
{
	const char *bend = b + blen;

	for (;;) {
		while (*a == '-' || *a == '_')
			a++;
		while (b < bend && (*b == '-' || *b == '_'))
			b++;
		if (!*a || b == bend)
			return !*a && b == bend;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

static const struct maint_opt *maint_find(const struct maint_args *a,
					  const char *name, size_t len)
{
	bool gc = !strcmp(a->cmd, "gc");

	for (const struct maint_opt *o = maint_opts; o->name; o++)
		if ((gc ? o->gc : o->fsck) && maint_name_eq(o->name, name, len))
			return o;
	return NULL;
}

static int maint_set(struct maint_args *a, const struct maint_opt *o,
		     const char *value)
{
	void *f = (char *)a + o->offset;
	int64_t d;

	switch (o->type) {
	case MO_STRING:
		free(*(char **)f);
		*(char **)f = xstrdup(value);
		return 0;
	case MO_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "1"))
			*(bool *)f = true;
		else if (!strcmp(value, "false") || !strcmp(value, "0"))
			*(bool *)f = false;
		else
			break;
		return 0;
	case MO_DURATION:
		d = stor_parse_duration(value);
		if (d < 0)
			break;
		*(int64_t *)f = d;
		return 0;
	case MO_PERCENT:
		if (!*value || strspn(value, "0123456789") != strlen(value) ||
		    strlen(value) > 3 || strtol(value, NULL, 10) > 100)
			break;
		*(int64_t *)f = strtol(value, NULL, 10);
		return 0;
	}
	fprintf(stderr, "customs %s: --%s: bad value '%s'\n", a->cmd, o->name,
		value);
	return -1;
}

/* Known keys of a JSON config; the others belong to serve. */
static int maint_config(struct maint_args *a, const char *path)
{
	const struct maint_opt *o;
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	char num[32];
	int rc = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		fprintf(stderr, "customs %s: %s:%d: %s\n", a->cmd, path,
			jerr.line, root ? "not a JSON object" : jerr.text);
		json_decref(root);
		return -1;
	}
	json_object_foreach(root, key, v) {
		o = maint_find(a, key, strlen(key));
		if (!o || rc < 0)
			continue;
		if (json_is_string(v))
			rc = maint_set(a, o, json_string_value(v));
		else if (json_is_boolean(v))
			rc = maint_set(a, o,
				       json_is_true(v) ? "true" : "false");
		else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
			rc = maint_set(a, o, num);
		} else {
			fprintf(stderr,
				"customs %s: %s: %s has the wrong "
				"type\n",
				a->cmd, path, key);
			rc = -1;
		}
	}
	json_decref(root);
	return rc;
}

static void maint_usage(FILE *out, const char *cmd)
{
	bool gc = !strcmp(cmd, "gc");
	char flag[64];

	fprintf(out, "usage: customs %s [options]\n\n%s\n\noptions:\n", cmd,
		gc ? "Frees unreferenced blobs, expired uploads and temporary "
		     "files\n(and untagged manifests with --gc-untagged)."
		   : "Checks every blob against its digest, every manifest's "
		     "references and\nevery repository link.  Exit status: 0 "
		     "clean, 1 damage found, 2 could not run.");
	for (const struct maint_opt *o = maint_opts; o->name; o++) {
		if (!(gc ? o->gc : o->fsck))
			continue;
		snprintf(flag, sizeof(flag), "--%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-24s %s\n", flag, o->help);
	}
	fprintf(out, "  %-24s %s\n  %-24s %s\n", "--config FILE",
		"JSON object of these options", "--help", "show this help");
}

/* 0 to run, 1 for --help, -1 on a usage error. */
static int maint_parse(struct maint_args *a, int argc, char **argv)
{
	const struct maint_opt *o;
	const char *arg, *eq, *value;
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	for (int i = 1; i < argc; i++) {
		arg = argv[i];
		if (strncmp(arg, "--", 2) || !arg[2]) {
			fprintf(stderr,
				"customs %s: unexpected argument '%s'\n",
				a->cmd, arg);
			return -1;
		}
		arg += 2;
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		if (maint_name_eq("config", arg, len)) {
			value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!value || maint_config(a, value) < 0)
				return -1;
			continue;
		}
		o = maint_find(a, arg, len);
		if (!o) {
			fprintf(stderr, "customs %s: unknown option '--%.*s'\n",
				a->cmd, (int)len, arg);
			return -1;
		}
		if (eq)
			value = eq + 1;
		else if (o->type == MO_BOOL)
			value = "true";
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			fprintf(stderr, "customs %s: --%s needs a value\n",
				a->cmd, o->name);
			return -1;
		}
		if (maint_set(a, o, value) < 0)
			return -1;
	}
	return 0;
}

/* Opens an existing store (fsck and gc never create one) and takes its
 * lock if no server holds it. */
static struct stor *maint_open(const struct maint_args *a,
			       struct stor_lock **lock)
{
	struct err e = ERR_INIT;
	struct stat sb;
	struct stor *st;
	char *db;

	db = xasprintf("%s/meta.db", a->data);
	if (stat(db, &sb) < 0) {
		fprintf(stderr, "customs %s: no store in %s (%s)\n", a->cmd,
			a->data, strerror(errno));
		free(db);
		return NULL;
	}
	free(db);
	*lock = stor_lock_take(a->data, &e);
	if (!*lock && e.code != ERR_BUSY) {
		fprintf(stderr, "customs %s: %s\n", a->cmd, e.msg);
		return NULL;
	}
	err_clear(&e);
	st = stor_open(a->data, &e);
	if (!st) {
		fprintf(stderr, "customs %s: %s\n", a->cmd, e.msg);
		stor_lock_free(*lock);
		*lock = NULL;
	}
	return st;
}

static void maint_args_init(struct maint_args *a, const char *cmd)
{
	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->data = xstrdup("./var");
	a->grace_s = STOR_GC_GRACE_DEFAULT;
	a->upload_ttl_s = STOR_UPLOAD_TTL_DEFAULT;
	a->max_sweep_share = STOR_GC_MAX_SWEEP_DEFAULT;
}

static void maint_args_release(struct maint_args *a)
{
	free(a->data);
	free(a->since);
}

/* --- gc ------------------------------------------------------------------- */

struct gc_print {
	bool dry_run, quiet;
};

static void gc_print_freed(void *arg, const char *kind, const char *name,
			   int64_t size)
{
	const struct gc_print *p = arg;

	if (!p->quiet)
		printf("%s %s %s (%lld bytes)\n",
		       p->dry_run ? "would free" : "freed", kind, name,
		       (long long)size);
}

int stor_gc_cmd_main(int argc, char **argv)
{
	struct stor_lock *lock = NULL;
	struct stor_gc_stats s;
	struct stor_gc_opts o;
	struct maint_args a;
	struct gc_print p;
	struct err e = ERR_INIT;
	struct stor *st = NULL;
	int rc;

	maint_args_init(&a, "gc");
	rc = maint_parse(&a, argc, argv);
	if (rc > 0)
		maint_usage(stdout, "gc");
	else if (rc < 0)
		fprintf(stderr, "'customs gc --help' lists the options.\n");
	if (rc) {
		rc = rc > 0 ? 0 : 2;
		goto out;
	}
	rc = 1;
	st = maint_open(&a, &lock);
	if (!st)
		goto out;
	stor_gc_opts_init(&o);
	o.grace_s = a.grace_s;
	o.upload_ttl_s = a.upload_ttl_s;
	o.untagged = a.untagged;
	o.dry_run = a.dry_run;
	o.max_sweep_share = (int)a.max_sweep_share;
	o.force = a.force;
	o.exclusive = lock != NULL;
	p.dry_run = a.dry_run;
	p.quiet = a.quiet;
	o.on_free = gc_print_freed;
	o.arg = &p;
	if (!lock && !a.quiet)
		printf("a server is running: collecting beside it\n");
	if (stor_gc(st, &o, &s, &e) < 0) {
		fprintf(stderr, "customs gc: %s\n", e.msg);
		goto out;
	}
	printf("gc: %s %zu blobs, %zu manifests, %zu uploads, %zu temporary "
	       "files: %lld bytes; %zu blobs kept\n",
	       a.dry_run ? "would free" : "freed", s.blobs, s.manifests,
	       s.uploads, s.temps, (long long)s.bytes, s.blobs_kept);
	if (s.over_share)
		printf("gc: that is more than %d%% of the blobs' bytes (%lld "
		       "of %lld)%s\n",
		       o.max_sweep_share, (long long)s.sweep_bytes,
		       (long long)s.total_bytes,
		       a.dry_run ? ": without --force gc refuses" : "");
	rc = 0;
out:
	fflush(stdout);
	stor_free(st);
	stor_lock_free(lock);
	maint_args_release(&a);
	return rc;
}

/* --- fsck ------------------------------------------------------------------
 */

static const char *const fsck_kind_names[] = {
	[STOR_FSCK_CORRUPT] = "corrupt", [STOR_FSCK_STRAY] = "stray",
	[STOR_FSCK_MISSING] = "missing", [STOR_FSCK_MANIFEST] = "manifest",
	[STOR_FSCK_DB] = "database",	 [STOR_FSCK_LOST] = "metadata",
	[STOR_FSCK_ORPHAN] = "orphan",
	[STOR_FSCK_UPLOAD] = "upload",	 [STOR_FSCK_TEMP] = "temp",
};

static void fsck_print(void *arg, enum stor_fsck_kind kind, const char *msg)
{
	(void)arg;
	printf("%s: %s\n", fsck_kind_names[kind], msg);
}

/* The time up to which a clean run has verified every blob. */
static int64_t fsck_state_read(const char *dir)
{
	char *path = xasprintf("%s/" FSCK_STATE, dir);
	long long v = -1;
	FILE *f = fopen(path, "r");

	free(path);
	if (!f)
		return -1;
	if (fscanf(f, "verified %lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void fsck_state_write(const char *dir, int64_t t)
{
	char *tmp = xasprintf("%s/" FSCK_STATE ".tmp", dir);
	char *path = xasprintf("%s/" FSCK_STATE, dir);
	FILE *f = fopen(tmp, "w");

	if (f) {
		fprintf(f, "verified %lld\n", (long long)t);
		if (fflush(f) == 0 && fsync(fileno(f)) == 0 && fclose(f) == 0)
			rename(tmp, path);
		else
			fclose(f);
	}
	unlink(tmp);
	free(tmp);
	free(path);
}

static bool fsck_all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* WHEN of --since as a unix time; -1 if malformed or (last) unknown. */
static int64_t fsck_since(const char *dir, const char *when)
{
	struct tm tm;
	const char *end;
	int64_t d;

	if (!strcmp(when, "last"))
		return fsck_state_read(dir);
	if (fsck_all_digits(when))
		return (int64_t)strtoll(when, NULL, 10);
	d = stor_parse_duration(when);
	if (d >= 0)
		return (int64_t)time(NULL) - d;
	memset(&tm, 0, sizeof(tm));
	end = strptime(when, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end && *end == 'Z')
		end++;
	if (!end || *end)
		return -1;
	return (int64_t)timegm(&tm);
}

/* Files in DIR/quarantine/: damaged blobs that serve, its scrub or
 * fsck --repair moved aside. */
static size_t fsck_quarantine_count(const char *dir)
{
	char *path = xasprintf("%s/quarantine", dir);
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	free(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void fsck_summary(const struct stor_fsck_stats *s, const char *dir)
{
	size_t quarantine = fsck_quarantine_count(dir);

	size_t garbage = s->problems[STOR_FSCK_ORPHAN] +
			 s->problems[STOR_FSCK_UPLOAD] +
			 s->problems[STOR_FSCK_TEMP];

	printf("fsck: %zu blobs (%zu re-hashed, %lld bytes), %zu manifests, "
	       "%zu links, %zu uploads: ",
	       s->blobs, s->hashed, (long long)s->bytes_hashed, s->manifests,
	       s->links, s->uploads);
	if (s->damage)
		printf("%zu problems", s->damage);
	else
		printf("clean");
	if (garbage)
		printf("; %zu garbage for gc", garbage);
	if (s->quarantined)
		printf("; %zu files quarantined", s->quarantined);
	printf("\n");
	if (quarantine)
		printf("quarantine: %zu damaged files in %s/quarantine/ (moved "
		       "there by serve, its scrub or --repair; a push of such "
		       "a blob stores it again)\n",
		       quarantine, dir);
}

int stor_fsck_cmd_main(int argc, char **argv)
{
	struct stor_lock *lock = NULL;
	struct stor_fsck_stats s;
	struct stor_fsck_opts o;
	struct maint_args a;
	struct err e = ERR_INIT;
	struct stor *st = NULL;
	int64_t verified;
	int rc;

	maint_args_init(&a, "fsck");
	rc = maint_parse(&a, argc, argv);
	if (rc > 0)
		maint_usage(stdout, "fsck");
	else if (rc < 0)
		fprintf(stderr, "'customs fsck --help' lists the options.\n");
	if (rc) {
		rc = rc > 0 ? 0 : 2;
		goto out;
	}
	rc = 2;
	memset(&o, 0, sizeof(o));
	if (a.since) {
		o.since = fsck_since(a.data, a.since);
		if (o.since < 0) {
			fprintf(stderr, "customs fsck: --since %s: %s\n",
				a.since,
				strcmp(a.since, "last")
					? "not a time or duration"
					: "no clean run recorded");
			goto out;
		}
	}
	st = maint_open(&a, &lock);
	if (!st)
		goto out;
	o.repair = a.repair;
	o.strict = a.strict;
	o.exclusive = lock != NULL;
	o.on_problem = fsck_print;
	if (stor_fsck(st, &o, &s, &e) < 0) {
		fprintf(stderr, "customs fsck: %s\n", e.msg);
		goto out;
	}
	fsck_summary(&s, a.data);
	/* Everything up to this run's start is verified if the blobs before
	 * `since` were verified by an earlier run. */
	verified = fsck_state_read(a.data);
	if (!s.damage &&
	    (o.since == 0 || (verified >= 0 && o.since <= verified)))
		fsck_state_write(a.data, s.started);
	rc = s.damage ? 1 : 0;
out:
	fflush(stdout);
	stor_free(st);
	stor_lock_free(lock);
	maint_args_release(&a);
	return rc;
}
