/* detect_rpm.c: the rpm database in its sqlite form (rpm >= 4.16:
 * var/lib/rpm/rpmdb.sqlite, usr/lib/sysimage/rpm/rpmdb.sqlite).
 *
 * The file is opened from memory with sqlite3_deserialize(); each row of
 * the Packages table holds one rpm header blob:
 *   be32 il (index entries), be32 dl (data bytes),
 *   il * { be32 tag, be32 type, be32 offset, be32 count },
 *   dl bytes of data.
 * Every read is bounds-checked: the blob is untrusted.  So is the whole
 * database: it is opened read-only and defensive, Packages must be a real
 * table, and sqlite runs under the limits of rpm_open().
 */
#include "scanner/detect_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scanner/meter_int.h"
#include "common/banned.h"

enum {
	RPMTAG_NAME = 1000,
	RPMTAG_VERSION = 1001,
	RPMTAG_RELEASE = 1002,
	RPMTAG_EPOCH = 1003,
	RPMTAG_ARCH = 1022,
	RPMTAG_SOURCERPM = 1044,
};
enum { RPM_INT32 = 4, RPM_STRING = 6, RPM_I18NSTRING = 9 };

#define RPM_MAX_INDEX 0xffff
#define RPM_MAX_DATA  0x0fffffff

static uint32_t rpm_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static char *rpm_string(const unsigned char *data, uint32_t dl, uint32_t off)
{
	const unsigned char *end;

	if (off >= dl)
		return NULL;
	end = memchr(data + off, '\0', dl - off);
	if (!end || end - (data + off) > DET_MAX_FIELD)
		return NULL;
	return xstrdup((const char *)data + off);
}

int rpm_hdr_parse(const void *bytes, size_t len, struct rpm_hdr *h)
{
	const unsigned char *blob = bytes, *ent, *data;
	uint32_t il, dl;

	memset(h, 0, sizeof(*h));
	h->epoch = -1;
	if (len < 8)
		return -1;
	il = rpm_be32(blob);
	dl = rpm_be32(blob + 4);
	if (il > RPM_MAX_INDEX || dl > RPM_MAX_DATA ||
	    8 + (size_t)il * 16 + dl > len)
		return -1;
	ent = blob + 8;
	data = ent + (size_t)il * 16;
	for (uint32_t i = 0; i < il; i++, ent += 16) {
		uint32_t tag = rpm_be32(ent), type = rpm_be32(ent + 4);
		uint32_t off = rpm_be32(ent + 8), cnt = rpm_be32(ent + 12);
		char **dst = NULL;

		switch (tag) {
		case RPMTAG_NAME:
			dst = &h->name;
			break;
		case RPMTAG_VERSION:
			dst = &h->version;
			break;
		case RPMTAG_RELEASE:
			dst = &h->release;
			break;
		case RPMTAG_ARCH:
			dst = &h->arch;
			break;
		case RPMTAG_SOURCERPM:
			dst = &h->srpm;
			break;
		case RPMTAG_EPOCH:
			if (type == RPM_INT32 && cnt >= 1 && dl >= 4 &&
			    off <= dl - 4)
				h->epoch = (long)rpm_be32(data + off);
			continue;
		default:
			continue;
		}
		if ((type == RPM_STRING || type == RPM_I18NSTRING) && !*dst)
			*dst = rpm_string(data, dl, off);
	}
	return h->name && h->version && h->release ? 0 : -1;
}

void rpm_hdr_release(struct rpm_hdr *h)
{
	free(h->name);
	free(h->version);
	free(h->release);
	free(h->arch);
	free(h->srpm);
}

static const char *rpm_rchr(const char *s, char c, size_t n)
{
	while (n--)
		if (s[n] == c)
			return s + n;
	return NULL;
}

/* "openssl-1.1.1k-4.cm2.src.rpm" -> name "openssl", version "1.1.1k-4.cm2" */
static void rpm_srpm_split(const char *srpm, char **name, char **ver)
{
	size_t n = strlen(srpm);
	const char *rel, *v;

	*name = *ver = NULL;
	if (n > 8 && !strcmp(srpm + n - 8, ".src.rpm"))
		n -= 8;
	else if (n > 10 && !strcmp(srpm + n - 10, ".nosrc.rpm"))
		n -= 10;
	else
		return;
	rel = rpm_rchr(srpm, '-', n);
	if (!rel || rel == srpm)
		return;
	v = rpm_rchr(srpm, '-', (size_t)(rel - srpm));
	if (!v || v == srpm)
		return;
	*name = xstrndup(srpm, (size_t)(v - srpm));
	*ver = xstrndup(v + 1, n - (size_t)(v + 1 - srpm));
}

static void rpm_emit(const struct det_file *f, const struct rpm_hdr *h,
		     struct det_out *out)
{
	struct scan_pkg p = {.eco = ECO_RPM};
	char *sname = NULL, *sver = NULL;

	if (h->epoch > 0)
		p.version = xasprintf("%ld:%s-%s", h->epoch, h->version,
				      h->release);
	else
		p.version = xasprintf("%s-%s", h->version, h->release);
	if (h->srpm)
		rpm_srpm_split(h->srpm, &sname, &sver);
	p.name = h->name;
	p.src_name = sname;
	/* The source rpm carries no epoch; it shares the binary's. */
	if (sver && strcmp(sver, p.version)) {
		if (h->epoch > 0)
			p.src_version = xasprintf("%ld:%s", h->epoch, sver);
		else
			p.src_version = xstrdup(sver);
		if (!strcmp(p.src_version, p.version)) {
			free(p.src_version);
			p.src_version = NULL;
		}
	}
	det_out_found(out, f, &p, NULL);
	free(p.version);
	free(p.src_version);
	free(sname);
	free(sver);
}

enum rpm_blob_kind det_rpm_blob(const struct det_file *f, const void *blob,
				size_t len, struct det_out *out)
{
	enum rpm_blob_kind k = RPM_BLOB_PKG;
	struct rpm_hdr h = {.epoch = -1};

	if (!blob || !len || rpm_hdr_parse(blob, len, &h))
		k = RPM_BLOB_BAD;
	else if (!strcmp(h.name, "gpg-pubkey"))
		k = RPM_BLOB_KEY; /* imported keys, not software */
	else
		rpm_emit(f, &h, out);
	rpm_hdr_release(&h);
	return k;
}

/* What an image-supplied database may cost: the sqlite limits below, a
 * progress handler that stops at the scan's deadline (or after
 * RPM_MAX_STEPS handler calls without one), no temp file, and a process
 * heap limit (sqlite has none per connection). */
#define RPM_MAX_ROW	 (64 << 20) /* one header blob */
#define RPM_PROGRESS_OPS 10000	    /* VM steps between handler calls */
#define RPM_MAX_STEPS	 100000	    /* handler calls: 1e9 VM steps */
#define RPM_HEAP_LIMIT	 ((sqlite3_int64)1 << 30)

static const struct {
	int id, value;
} rpm_limits[] = {
	{SQLITE_LIMIT_LENGTH, RPM_MAX_ROW},
	{SQLITE_LIMIT_SQL_LENGTH, 100000},
	{SQLITE_LIMIT_COLUMN, 200},
	{SQLITE_LIMIT_EXPR_DEPTH, 100},
	{SQLITE_LIMIT_COMPOUND_SELECT, 4},
	{SQLITE_LIMIT_VDBE_OP, 25000},
	{SQLITE_LIMIT_FUNCTION_ARG, 8},
	{SQLITE_LIMIT_ATTACHED, 0},
	{SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 100},
	{SQLITE_LIMIT_VARIABLE_NUMBER, 10},
	{SQLITE_LIMIT_TRIGGER_DEPTH, 1},
	{SQLITE_LIMIT_WORKER_THREADS, 0},
};

static const int rpm_dbconfig[][2] = {
	{SQLITE_DBCONFIG_DEFENSIVE, 1},
	{SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
	{SQLITE_DBCONFIG_ENABLE_TRIGGER, 0},
	{SQLITE_DBCONFIG_ENABLE_VIEW, 0},
	{SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0},
};

struct rpm_ctx {
	const struct det_file *f;
	unsigned steps;
	bool timeout;
};

static int rpm_progress(void *arg)
{
	struct rpm_ctx *c = arg;

	if (++c->steps > RPM_MAX_STEPS ||
	    meter_expired(c->f->meter, c->f->layer))
		c->timeout = true;
	return c->timeout;
}

static pthread_once_t rpm_heap_once = PTHREAD_ONCE_INIT;

static void rpm_heap_limit(void)
{
	if (sqlite3_hard_heap_limit64(-1) == 0)
		sqlite3_hard_heap_limit64(RPM_HEAP_LIMIT);
}

static int rpm_open(const struct det_file *f, struct rpm_ctx *ctx,
		    sqlite3 **out)
{
	unsigned char *copy;
	sqlite3 *db = NULL;

	pthread_once(&rpm_heap_once, rpm_heap_limit);
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL))
		goto fail;
	for (size_t i = 0; i < sizeof(rpm_dbconfig) / sizeof(*rpm_dbconfig);
	     i++)
		if (sqlite3_db_config(db, rpm_dbconfig[i][0],
				      rpm_dbconfig[i][1],
				      (int *)NULL) != SQLITE_OK)
			goto fail;
	for (size_t i = 0; i < sizeof(rpm_limits) / sizeof(*rpm_limits); i++)
		sqlite3_limit(db, rpm_limits[i].id, rpm_limits[i].value);
	sqlite3_progress_handler(db, RPM_PROGRESS_OPS, rpm_progress, ctx);
	/* Sorts and such stay in memory (under the heap limit), never in a
	 * temp file on the host's disk. */
	if (sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL))
		goto fail;
	copy = sqlite3_malloc64(f->len ? f->len : 1);
	if (!copy)
		goto fail;
	memcpy(copy, f->data, f->len);
	/* A WAL-mode file (bytes 18 and 19 are 2) cannot be read from memory;
	 * as a legacy-mode file its checkpointed content reads fine. */
	if (f->len >= 100 && copy[18] == 2 && copy[19] == 2)
		copy[18] = copy[19] = 1;
	if (sqlite3_deserialize(db, "main", copy, (sqlite3_int64)f->len,
				(sqlite3_int64)f->len,
				SQLITE_DESERIALIZE_FREEONCLOSE |
					SQLITE_DESERIALIZE_READONLY))
		goto fail;
	if (sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL))
		goto fail;
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return -1;
}

/* Whether Packages is a plain table: not a view, not a virtual table
 * (whose module would run code the image chose).  NULL if so, else why. */
static const char *rpm_check_schema(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const char *why = "no Packages table";
	int n = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT type, sql FROM sqlite_master"
			       " WHERE name = 'Packages' COLLATE NOCASE",
			       -1, &st, NULL))
		return "unreadable schema";
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *sql = (const char *)sqlite3_column_text(st, 1);

		n++;
		if (!type || strcmp(type, "table"))
			why = "Packages is not a table";
		else if (!sql || !sqlite3_strnicmp(sql, "CREATE VIRTUAL", 14))
			why = "Packages is a virtual table";
		else
			why = NULL;
		if (why)
			break;
	}
	if (n > 1)
		why = "Packages defined twice";
	sqlite3_finalize(st);
	return why;
}

void det_rpm_sqlite(const struct det_file *f, struct det_out *out)
{
	struct rpm_ctx ctx = {.f = f};
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	size_t bad = 0;
	const char *why;
	int rc;

	if (rpm_open(f, &ctx, &db)) {
		inv_add_note(
			&out->inv,
			"%s: not analysed: not an rpm sqlite database (%s)",
			f->path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	why = rpm_check_schema(db);
	if (!why &&
	    sqlite3_prepare_v2(db, "SELECT blob FROM Packages", -1, &st, NULL))
		why = sqlite3_errmsg(db);
	if (why) {
		if (ctx.timeout)
			goto stopped;
		inv_add_note(
			&out->inv,
			"%s: not analysed: not an rpm sqlite database (%s)",
			f->path, why);
		goto out;
	}
	while (!out->full && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);

		if (det_rpm_blob(f, blob, n > 0 ? (size_t)n : 0, out) ==
		    RPM_BLOB_BAD)
			bad++;
	}
	if (out->full) {
		; /* the packages budget: the walk records it */
	} else if (ctx.timeout) {
		goto stopped;
	} else if (rc == SQLITE_TOOBIG || rc == SQLITE_NOMEM) {
		meter_hit(f->meter, BUDGET_FILE_BYTES, RPM_MAX_ROW, f->layer,
			  "%s: rpm database read stopped: %s", f->path,
			  sqlite3_errmsg(db));
		inv_add_note(&out->inv,
			     "%s: rpm database read stopped early: %s", f->path,
			     sqlite3_errmsg(db));
	} else if (rc != SQLITE_DONE) {
		inv_add_note(&out->inv,
			     "%s: rpm database read stopped early: %s", f->path,
			     sqlite3_errmsg(db));
	}
	if (bad)
		inv_add_note(&out->inv, "%s: %zu malformed rpm headers skipped",
			     f->path, bad);
	goto out;
stopped:
	/* The deadline (or, without one, the step cap) stopped sqlite. */
	if (!meter_was_hit(f->meter, BUDGET_DEADLINE))
		meter_hit(f->meter, BUDGET_DEADLINE,
			  f->meter ? f->meter->lim.deadline_ms : 0, f->layer,
			  "%s: reading the rpm database took too long",
			  f->path);
	inv_add_note(&out->inv,
		     "%s: rpm database read stopped early: it took too long",
		     f->path);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
}

struct rpmdb_emit {
	const struct det_file *f;
	struct det_out *out;
	size_t bad;
};

static bool rpmdb_emit_blob(void *arg, const void *blob, size_t len)
{
	struct rpmdb_emit *e = arg;

	if (det_rpm_blob(e->f, blob, len, e->out) == RPM_BLOB_BAD)
		e->bad++;
	return !e->out->full;
}

/* The BerkeleyDB and NDB detectors: walk, emit, note what went wrong. */
static void rpmdb_run(const struct det_file *f, struct det_out *out,
		      int (*walk)(const struct det_file *, struct rpmdb_walk *))
{
	struct rpmdb_emit e = {.f = f, .out = out};
	struct rpmdb_walk w = {.fn = rpmdb_emit_blob, .arg = &e};

	if (walk(f, &w))
		inv_add_note(&out->inv, "%s: %s", f->path, w.why);
	if (e.bad + w.bad)
		inv_add_note(&out->inv, "%s: %zu malformed rpm headers skipped",
			     f->path, e.bad + w.bad);
}

void det_rpm_bdb(const struct det_file *f, struct det_out *out)
{
	rpmdb_run(f, out, rpmdb_bdb_walk);
}

void det_rpm_ndb(const struct det_file *f, struct det_out *out)
{
	rpmdb_run(f, out, rpmdb_ndb_walk);
}
