/* maint_cmd.c: `customs gc` and `customs fsck`.
 *
 * Options as every command takes them (common/opt.h); the `--config FILE`
 * of `customs serve` works: keys these commands do not know are left to
 * serve.  A command that can take
 * the store's lock runs alone (no server): temporary files are garbage
 * whatever their age, and a server started meanwhile is refused.
 */
#define _XOPEN_SOURCE 700 /* strptime */

#include "storage/gc_int.h"
#include "common/opt.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

#define FSCK_STATE "fsck.state"

struct maint_args {
	char *data;
	char *storage;
	struct stor_s3_opts s3;
	char *meta;
	bool dry_run, untagged, quiet, repair, strict, force;
	int64_t grace_s, upload_ttl_s;
	int max_sweep_share;
	char *since;
};

#define MO_OFF(f) offsetof(struct maint_args, f)

/* Defaults without a text come from storage.h (maint_start()). */
static const struct opt gc_opts[] = {
	STOR_CMD_OPT_ROWS(struct maint_args, "data directory"),
	{"dry-run", OPT_BOOL, 0, 0, NULL, MO_OFF(dry_run), NULL, NULL,
	 "say what would be freed, free nothing"},
	{"gc-grace", OPT_DURATION, 0, 1LL << 31, NULL, MO_OFF(grace_s), NULL,
	 NULL, "keep blobs and manifests younger than this"},
	{"upload-ttl", OPT_DURATION, 0, 1LL << 31, NULL, MO_OFF(upload_ttl_s),
	 NULL, NULL, "end upload sessions idle this long; 0: never"},
	{"gc-untagged", OPT_BOOL, 0, 0, NULL, MO_OFF(untagged), NULL, NULL,
	 "also delete manifests that no tag reaches"},
	{"max-sweep-share", OPT_INT, 0, 100, NULL, MO_OFF(max_sweep_share),
	 NULL, "PERCENT",
	 "refuse to free more than this share of the blobs' bytes (100: no "
	 "limit): so much garbage means lost metadata"},
	{"force", OPT_BOOL, 0, 0, NULL, MO_OFF(force), NULL, NULL,
	 "free the blobs even past --max-sweep-share"},
	{"quiet", OPT_BOOL, 0, 0, NULL, MO_OFF(quiet), NULL, NULL,
	 "print only the summary"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

static const struct opt fsck_opts[] = {
	STOR_CMD_OPT_ROWS(struct maint_args, "data directory"),
	{"repair", OPT_BOOL, 0, 0, NULL, MO_OFF(repair), NULL, NULL,
	 "move corrupt blobs and stray files to DIR/quarantine/"},
	{"since", OPT_STRING, 0, 0, NULL, MO_OFF(since), NULL, "WHEN",
	 "re-hash only blobs written since WHEN: unix time, a duration "
	 "ago (24h), YYYY-MM-DD[THH:MM:SSZ], or 'last' (the last clean "
	 "run)"},
	{"strict", OPT_BOOL, 0, 0, NULL, MO_OFF(strict), NULL, NULL,
	 "garbage (orphans, stale uploads) fails fsck too"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

/* The file may be serve's: the keys of its other options are left. */
static const struct opt_cmd gc_cmd = {
	.name = "gc",
	.notes = "Frees unreferenced blobs, expired uploads and temporary "
		 "files\n(and untagged manifests with --gc-untagged).",
	.opts = gc_opts,
	.flags = OPT_SHARED_FILE,
};

static const struct opt_cmd fsck_cmd = {
	.name = "fsck",
	.notes = "Checks every blob against its digest, every manifest's "
		 "references and\nevery repository link.  Exit status: 0 "
		 "clean, 1 damage found, 2 could not run.",
	.opts = fsck_opts,
	.flags = OPT_SHARED_FILE,
};

/* One run of gc or fsck: its options, then its store. */
struct maint {
	const struct opt_cmd *cmd;
	struct maint_args a;
	struct opt_args args;
	struct stor_lock *lock; /* NULL: a server holds it */
	struct stor *st;
};

/* The options of cmd into m; true if the command is to run, else *rc is
 * its exit status.  Either way maint_end() follows. */
static bool maint_start(struct maint *m, const struct opt_cmd *cmd, int argc,
			char **argv, int *rc)
{
	memset(m, 0, sizeof(*m));
	m->cmd = cmd;
	m->a.grace_s = STOR_GC_GRACE_DEFAULT;
	m->a.upload_ttl_s = STOR_UPLOAD_TTL_DEFAULT;
	m->a.max_sweep_share = STOR_GC_MAX_SWEEP_DEFAULT;
	return stor_cmd_cli(cmd, &m->a, argc, argv, &m->args, rc);
}

/* Opens the existing store (fsck and gc never create one) and takes its
 * lock if no server holds it; -1 (said on stderr) on failure. */
static int maint_open(struct maint *m)
{
	const struct maint_args *a = &m->a;
	const char *cmd = m->cmd->name;
	struct err e = ERR_INIT;
	struct stat sb;
	char *db;

	if (a->meta && stor_meta_set(a->meta, &e) < 0)
		goto fail;
	/* With shared metadata, DIR holds this node's blobs alone. */
	db = stor_meta_shared() ? xstrdup(a->data)
				: xasprintf("%s/meta.db", a->data);
	if (stat(db, &sb) < 0) {
		fprintf(stderr, "customs %s: no store in %s (%s)\n", cmd,
			a->data, strerror(errno));
		free(db);
		return -1;
	}
	free(db);
	m->lock = stor_lock_take(a->data, &e);
	if (!m->lock && e.code != ERR_BUSY)
		goto fail;
	err_clear(&e);
	m->st = stor_open_with(
		a->data,
		&(struct stor_opts){.storage = a->storage, .s3 = &a->s3}, &e);
	if (m->st)
		return 0;
fail:
	fprintf(stderr, "customs %s: %s\n", cmd, e.msg);
	return -1;
}

/* Releases what m holds; returns rc, the exit status. */
static int maint_end(struct maint *m, int rc)
{
	fflush(stdout);
	stor_free(m->st);
	stor_lock_free(m->lock);
	opt_args_release(&m->args);
	opt_release(m->cmd, &m->a);
	return rc;
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
	struct stor_gc_stats s;
	struct stor_gc_opts o;
	struct gc_print p;
	struct err e = ERR_INIT;
	struct maint m;
	const struct maint_args *a = &m.a;
	int rc;

	if (!maint_start(&m, &gc_cmd, argc, argv, &rc))
		goto out;
	rc = 1;
	if (maint_open(&m) < 0)
		goto out;
	stor_gc_opts_init(&o);
	o.grace_s = a->grace_s;
	o.upload_ttl_s = a->upload_ttl_s;
	o.untagged = a->untagged;
	o.dry_run = a->dry_run;
	o.max_sweep_share = a->max_sweep_share;
	o.force = a->force;
	o.exclusive = m.lock != NULL;
	p.dry_run = a->dry_run;
	p.quiet = a->quiet;
	o.on_free = gc_print_freed;
	o.arg = &p;
	if (!m.lock && !a->quiet)
		printf("a server is running: collecting beside it\n");
	if (stor_gc(m.st, &o, &s, &e) < 0) {
		fprintf(stderr, "customs gc: %s\n", e.msg);
		goto out;
	}
	printf("gc: %s %zu blobs, %zu manifests, %zu uploads, %zu temporary "
	       "files: %lld bytes; %zu blobs kept\n",
	       a->dry_run ? "would free" : "freed", s.blobs, s.manifests,
	       s.uploads, s.temps, (long long)s.bytes, s.blobs_kept);
	if (s.over_share)
		printf("gc: that is more than %d%% of the blobs' bytes (%lld "
		       "of %lld)%s\n",
		       o.max_sweep_share, (long long)s.sweep_bytes,
		       (long long)s.total_bytes,
		       a->dry_run ? ": without --force gc refuses" : "");
	rc = 0;
out:
	return maint_end(&m, rc);
}

/* --- fsck ------------------------------------------------------------------
 */

static const char *const fsck_kind_names[] = {
	[STOR_FSCK_CORRUPT] = "corrupt", [STOR_FSCK_STRAY] = "stray",
	[STOR_FSCK_MISSING] = "missing", [STOR_FSCK_MANIFEST] = "manifest",
	[STOR_FSCK_DB] = "database",	 [STOR_FSCK_LOST] = "metadata",
	[STOR_FSCK_ORPHAN] = "orphan",	 [STOR_FSCK_UPLOAD] = "upload",
	[STOR_FSCK_TEMP] = "temp",
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
	d = opt_duration(when);
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
	struct stor_fsck_stats s;
	struct stor_fsck_opts o;
	struct err e = ERR_INIT;
	struct maint m;
	struct maint_args *a = &m.a;
	int64_t verified;
	int rc;

	if (!maint_start(&m, &fsck_cmd, argc, argv, &rc))
		goto out;
	/* Digests are checked on S3's bytes, not on node-local copies. */
	a->s3.cache_max = 0;
	rc = 2;
	memset(&o, 0, sizeof(o));
	if (a->since) {
		o.since = fsck_since(a->data, a->since);
		if (o.since < 0 && strcmp(a->since, "last")) {
			opt_fail(&fsck_cmd,
				 "--since: '%s' is not a time or a duration",
				 a->since);
			goto out;
		}
		if (o.since < 0) {
			fprintf(stderr, "customs fsck: --since last: no clean "
					"run recorded\n");
			goto out;
		}
	}
	if (maint_open(&m) < 0)
		goto out;
	o.repair = a->repair;
	o.strict = a->strict;
	o.exclusive = m.lock != NULL;
	o.on_problem = fsck_print;
	if (stor_fsck(m.st, &o, &s, &e) < 0) {
		fprintf(stderr, "customs fsck: %s\n", e.msg);
		goto out;
	}
	fsck_summary(&s, a->data);
	/* Everything up to this run's start is verified if the blobs before
	 * `since` were verified by an earlier run. */
	verified = fsck_state_read(a->data);
	if (!s.damage &&
	    (o.since == 0 || (verified >= 0 && o.since <= verified)))
		fsck_state_write(a->data, s.started);
	rc = s.damage ? 1 : 0;
out:
	return maint_end(&m, rc);
}
