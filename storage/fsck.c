/* fsck.c: proves the store's promises, or says which one broke.
 *
 *  1. the database's own checks (integrity, foreign keys);
 *  2. every file among the blobs: a blob whose content hashes to its name
 *     (re-hashed unless older than --since), or a stray; with repair both
 *     go to DIR/quarantine/; a blob nothing refers to is an orphan;
 *  3. every manifest: its body present, intact and of its recorded size;
 *     each descriptor of the body (config, layers, index children, an
 *     artifact's blobs) present and intact and recorded as a reference
 *     (gc keeps only what is recorded).  Sparse content is no damage:
 *     an index's child that is not a manifest of the repository (never
 *     pushed, or not pulled through yet), an absent non-distributable
 *     layer.  A manifest that lost something is named with its tags;
 *  4. every repository link backed by a blob file, and every scan result
 *     by its report's blob;
 *  5. upload sessions and their data, and temporary files.
 *
 * Orphans, ownerless upload data and old temporary files are garbage that
 * gc frees, not damage: they are listed, and fail fsck only with strict.
 * Except when the metadata itself looks lost: no repository at all while
 * blobs exist, or several orphans newer than meta.db's last write (a
 * deleted meta.db-wal, an old meta.db put back).  Then the orphans are
 * the registry's content, not garbage, and fsck says so (as damage), so
 * nobody runs gc on them.
 */
#include "storage/gc_int.h"
#include "common/fdio.h"
#include "common/oci.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

#define FSCK_CHUNK (256 * 1024)
/* A manifest body is read whole; the registry caps them far lower. */
#define FSCK_BODY_MAX (64 * 1024 * 1024)
/* Temporary files younger than this may belong to a running server. */
#define FSCK_TEMP_AGE (60 * 60)
/* A blob is newer than the metadata when its file changed this long after
 * meta.db's last write (a push writes its row right after the file). */
#define FSCK_LOST_SLACK 60
/* A crash between a blob file and its row leaves one orphan per upload
 * in flight; more than this many newer than the metadata is no crash. */
#define FSCK_LOST_MIN 3

struct fsck {
	struct stor *st;
	struct stor_blobs *b;
	struct stor_meta *m;
	const struct stor_fsck_opts *o;
	struct stor_fsck_stats *s;
	/* Blobs found corrupt ("alg:hex"); quarantined ones too. */
	struct stor_sset *bad;
	/* The recorded references of the current repository ("parent>child").
	 */
	struct stor_sset *refs;
	char *refs_repo;
	/* Orphans, and those newer than the metadata's last write. */
	size_t orphans, newer;
	int64_t orphan_bytes, newest;
};

static bool fsck_is_damage(const struct fsck *f, enum stor_fsck_kind kind)
{
	return kind < STOR_FSCK_ORPHAN || f->o->strict;
}

static void fsck_problem(struct fsck *f, enum stor_fsck_kind kind,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fsck_problem(struct fsck *f, enum stor_fsck_kind kind,
			 const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->s->problems[kind]++;
	if (fsck_is_damage(f, kind))
		f->s->damage++;
	if (f->o->on_problem)
		f->o->on_problem(f->o->arg, kind, msg);
}

/* --- 1. The database ------------------------------------------------------ */

static int fsck_db_problem(void *arg, const struct stor_row *r, struct err *e)
{
	(void)e;
	fsck_problem(arg, STOR_FSCK_DB, "meta.db: %s", r->name);
	return 0;
}

/* --- 2. Blob files ----------------------------------------------------------
 */

/* stor_hash_step_fn: counts what was read. */
static bool fsck_step(void *arg, size_t n)
{
	struct fsck *f = arg;

	f->s->bytes_hashed += (int64_t)n;
	return true;
}

static void fsck_quarantine(struct fsck *f, const struct stor_file *file,
			    const char *what)
{
	struct err e2 = ERR_INIT;

	if (!f->o->repair)
		return;
	if (f->b->maint->quarantine(f->b, file, &e2) < 0) {
		fsck_problem(f, file->dg ? STOR_FSCK_CORRUPT : STOR_FSCK_STRAY,
			     "%s could not be quarantined: %s", what, e2.msg);
		return;
	}
	f->s->quarantined++;
}

static int fsck_verify(struct fsck *f, const struct stor_file *file,
		       struct err *e)
{
	char ds[DIGEST_STR_MAX], gs[DIGEST_STR_MAX], why[256] = "";
	char *chunk = xmalloc(FSCK_CHUNK);
	struct digest got;
	int64_t size;
	int rc;

	/* An unreadable blob is damage, not a failure of fsck. */
	rc = stor_blob_hash(f->b, file->dg, chunk, FSCK_CHUNK, fsck_step, f,
			    &got, &size, why, sizeof(why), e);
	free(chunk);
	if (rc < 0 || rc == STOR_HASH_GONE)
		return rc < 0 ? -1 : 0;
	f->s->hashed++;
	digest_str(file->dg, ds);
	if (rc == STOR_HASH_OK && digest_eq(&got, file->dg))
		return 0;
	stor_sset_add(f->bad, ds);
	if (rc == STOR_HASH_OK)
		snprintf(why, sizeof(why), "content hashes to %s",
			 digest_str(&got, gs));
	fsck_problem(f, STOR_FSCK_CORRUPT, "corrupt blob %s (%lld bytes): %s%s",
		     ds, (long long)file->size, why,
		     f->o->repair ? "; moved to quarantine" : "");
	fsck_quarantine(f, file, ds);
	return 0;
}

static int fsck_any_user(void *arg, const struct stor_row *r, struct err *e)
{
	(void)r;
	(void)e;
	*(bool *)arg = true;
	return 1;
}

static int fsck_orphan(struct fsck *f, const struct stor_file *file,
		       struct err *e)
{
	char ds[DIGEST_STR_MAX];
	bool used = false, linked = false;

	if (f->m->maint->blob_users(f->m, file->dg, INT64_MIN, fsck_any_user,
				    &used, &linked, e) < 0)
		return -1;
	if (used || linked)
		return 0;
	fsck_problem(f, STOR_FSCK_ORPHAN,
		     "orphan blob %s (%lld bytes): nothing refers to it (gc "
		     "frees it)",
		     digest_str(file->dg, ds), (long long)file->size);
	f->orphans++;
	f->orphan_bytes += file->size;
	/* The time of the data, not of the inode: a restore from a backup
	 * that keeps times makes every inode new. */
	if (file->written > f->newest)
		f->newest = file->written;
	if (stor_meta_written(f->st) > 0 &&
	    file->written > stor_meta_written(f->st) + FSCK_LOST_SLACK)
		f->newer++;
	return 0;
}

static const char *fsck_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
	return out;
}

/* Whether the orphans are the registry's content whose metadata was lost
 * (see the top of this file). */
static int fsck_lost(struct fsck *f, struct err *e)
{
	char when[32], newest[32];

	(void)e;
	if (!f->orphans)
		return 0;
	/* meta.db knows nothing: no manifest, link or upload session. */
	if (!f->s->manifests && !f->s->links && !f->s->uploads) {
		fsck_problem(f, STOR_FSCK_LOST,
			     "meta.db knows no repository, yet the store holds "
			     "%zu blobs (%lld bytes) that nothing refers to: "
			     "the metadata looks lost (a deleted meta.db-wal?)."
			     "  Do not run gc: restore meta.db and "
			     "meta.db-wal from a backup, or push the images "
			     "again",
			     f->orphans, (long long)f->orphan_bytes);
		return 0;
	}
	if (f->newer < FSCK_LOST_MIN)
		return 0;
	fsck_problem(f, STOR_FSCK_LOST,
		     "%zu blobs that nothing refers to are newer than "
		     "meta.db's last write (%s; the newest %s): its recent "
		     "writes look lost (a deleted meta.db-wal, an old meta.db "
		     "put back).  Do not run gc: restore meta.db and "
		     "meta.db-wal, or push those images again",
		     f->newer, fsck_time(stor_meta_written(f->st), when),
		     fsck_time(f->newest, newest));
	return 0;
}

static int fsck_file(void *arg, const struct stor_file *file, struct err *e)
{
	struct fsck *f = arg;
	char ds[DIGEST_STR_MAX];

	if (!file->dg) {
		fsck_problem(f, STOR_FSCK_STRAY,
			     "stray file %s/%s: not a blob%s", stor_dir(f->st),
			     file->name,
			     f->o->repair ? "; moved to quarantine" : "");
		fsck_quarantine(f, file, file->name);
		return 0;
	}
	f->s->blobs++;
	if (file->changed >= f->o->since && fsck_verify(f, file, e) < 0)
		return -1;
	if (stor_sset_has(f->bad, digest_str(file->dg, ds)))
		return 0;
	return fsck_orphan(f, file, e);
}

/* --- 3. Manifests
 * ------------------------------------------------------------- */

struct fsck_tags {
	char list[256];
	size_t len;
};

static int fsck_tag(void *arg, const struct stor_row *r, struct err *e)
{
	struct fsck_tags *t = arg;

	(void)e;
	if (r->rel != STOR_REL_TAG || t->len >= sizeof(t->list))
		return 0;
	t->len += (size_t)snprintf(t->list + t->len, sizeof(t->list) - t->len,
				   "%s%s", t->len ? ", " : "", r->name);
	return 0;
}

/* "repo@digest (tags: a, b)", or "(untagged)". */
static const char *fsck_mf_name(struct fsck *f, const char *repo,
				const struct digest *dg, char out[512])
{
	struct fsck_tags t = {"", 0};
	char ds[DIGEST_STR_MAX];

	f->m->maint->mf_relations(f->m, repo, dg, fsck_tag, &t, NULL);
	snprintf(out, 512, "%s@%s (%s%s)", repo, digest_str(dg, ds),
		 t.len ? "tags: " : "untagged", t.list);
	return out;
}

/* Whether blob dg is there and intact; *why says otherwise. */
static int fsck_blob_ok(struct fsck *f, const struct digest *dg,
			const char **why, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct err e2 = ERR_INIT;
	int64_t size;

	if (stor_sset_has(f->bad, digest_str(dg, ds))) {
		*why = f->o->repair ? "corrupt, quarantined" : "corrupt";
		return 0;
	}
	if (f->b->ops->stat(f->b, dg, &size, &e2) == 0) {
		*why = NULL;
		return 0;
	}
	if (e2.code != ERR_BLOB_UNKNOWN)
		return err_set(e, e2.code, "%s", e2.msg);
	*why = "missing";
	return 0;
}

static int fsck_load_refs(void *arg, const struct stor_row *r, struct err *e)
{
	struct fsck *f = arg;
	char key[2 * DIGEST_STR_MAX + 2], a[DIGEST_STR_MAX], b[DIGEST_STR_MAX];

	(void)e;
	snprintf(key, sizeof(key), "%s>%s", digest_str(&r->digest, a),
		 digest_str(&r->other, b));
	stor_sset_add(f->refs, key);
	return 0;
}

/* The recorded references of repo, loaded once per repository (the
 * manifests come sorted by repository). */
static int fsck_refs_of(struct fsck *f, const char *repo, struct err *e)
{
	if (f->refs_repo && !strcmp(f->refs_repo, repo))
		return 0;
	stor_sset_free(f->refs);
	free(f->refs_repo);
	f->refs = stor_sset_new();
	f->refs_repo = xstrdup(repo);
	return f->m->maint->list(f->m, STOR_LIST_REFS, repo, fsck_load_refs, f,
				 e);
}

struct fsck_mf {
	struct fsck *f;
	const struct stor_row *r;
	char name[512];
	bool named;
};

static const char *fsck_mf_label(struct fsck_mf *mf)
{
	if (!mf->named)
		fsck_mf_name(mf->f, mf->r->repo, &mf->r->digest, mf->name);
	mf->named = true;
	return mf->name;
}

/* One descriptor of the body. */
static int fsck_desc(struct fsck_mf *mf, json_t *d, bool is_child,
		     struct err *e)
{
	struct fsck *f = mf->f;
	const char *s = json_string_value(json_object_get(d, "digest"));
	char ds[DIGEST_STR_MAX], ms[DIGEST_STR_MAX];
	char key[2 * DIGEST_STR_MAX + 2];
	json_t *urls = json_object_get(d, "urls");
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	const char *why;
	struct digest dg;

	if (!s || digest_parse(s, strlen(s), &dg, NULL) < 0) {
		fsck_problem(f, STOR_FSCK_MANIFEST,
			     "manifest %s: a descriptor has a bad digest",
			     fsck_mf_label(mf));
		return 0;
	}
	/* Sparse content: an index's platform never pushed (or deleted
	 * since, or not pulled through yet) is no damage; a lost body of
	 * one that is a manifest here is reported with that manifest. */
	if (is_child && !stor_manifest_exists(f->st, mf->r->repo, &dg))
		return 0;
	if (fsck_blob_ok(f, &dg, &why, e) < 0)
		return -1;
	/* A non-distributable layer may live elsewhere. */
	if (why && !strcmp(why, "missing") && !is_child &&
	    oci_is_external_layer(mt, json_array_size(urls) > 0))
		return 0;
	if (why) {
		fsck_problem(f, STOR_FSCK_MANIFEST,
			     "manifest %s lost %s %s (%s)", fsck_mf_label(mf),
			     is_child ? "manifest" : "blob",
			     digest_str(&dg, ds), why);
		return 0;
	}
	snprintf(key, sizeof(key), "%s>%s", digest_str(&mf->r->digest, ms),
		 digest_str(&dg, ds));
	if (!stor_sset_has(f->refs, key))
		fsck_problem(f, STOR_FSCK_MANIFEST,
			     "manifest %s: %s is not recorded as a reference "
			     "(gc would not keep it)",
			     fsck_mf_label(mf), ds);
	return 0;
}

static int fsck_descs(struct fsck_mf *mf, json_t *root, struct err *e)
{
	static const char *const arrays[] = {"layers", "blobs", "manifests"};
	json_t *config = json_object_get(root, "config"), *a, *d;
	size_t i;

	if (json_is_object(config) && fsck_desc(mf, config, false, e) < 0)
		return -1;
	for (size_t k = 0; k < sizeof(arrays) / sizeof(*arrays); k++) {
		a = json_object_get(root, arrays[k]);
		json_array_foreach(a, i, d) {
			if (json_is_object(d) &&
			    fsck_desc(mf, d, k == 2, e) < 0)
				return -1;
		}
	}
	return 0;
}

/* Reads the body (size bytes) of manifest r; NULL with *why on damage. */
static char *fsck_body(struct fsck *f, const struct stor_row *r,
		       const char **why, struct err *e)
{
	struct err e2 = ERR_INIT;
	char *body = NULL;
	int64_t size;
	int fd;

	*why = NULL;
	if (f->b->ops->open(f->b, &r->digest, &fd, &size, &e2) < 0) {
		if (e2.code != ERR_BLOB_UNKNOWN) {
			err_set(e, e2.code, "%s", e2.msg);
			return NULL;
		}
		*why = "its body is missing";
		return NULL;
	}
	if (size != r->size || size > FSCK_BODY_MAX) {
		*why = "its body has the wrong size";
		goto out;
	}
	body = xmalloc((size_t)size + 1);
	if (fdio_pread_all(fd, body, (size_t)size, 0) != size) {
		*why = "its body is unreadable";
		free(body);
		body = NULL;
		goto out;
	}
	body[size] = '\0';
out:
	close(fd);
	return body;
}

static int fsck_manifest(void *arg, const struct stor_row *r, struct err *e)
{
	struct fsck_mf mf = {arg, r, "", false};
	struct fsck *f = mf.f;
	const char *why = NULL;
	char ds[DIGEST_STR_MAX];
	json_t *root = NULL;
	char *body = NULL;
	int ret = -1;

	f->s->manifests++;
	if (stor_sset_has(f->bad, digest_str(&r->digest, ds)))
		why = f->o->repair ? "its body is corrupt (quarantined)"
				   : "its body is corrupt";
	else
		body = fsck_body(f, r, &why, e);
	if (!body && !why)
		return -1;
	if (why) {
		fsck_problem(f, STOR_FSCK_MANIFEST, "manifest %s: %s",
			     fsck_mf_label(&mf), why);
		ret = 0;
		goto out;
	}
	root = json_loads(body, 0, NULL);
	if (!json_is_object(root)) {
		fsck_problem(f, STOR_FSCK_MANIFEST,
			     "manifest %s: its body is not a JSON object",
			     fsck_mf_label(&mf));
		ret = 0;
		goto out;
	}
	if (fsck_refs_of(f, r->repo, e) < 0)
		goto out;
	ret = fsck_descs(&mf, root, e);
out:
	json_decref(root);
	free(body);
	return ret;
}

/* --- 4. Repository links
 * ------------------------------------------------------ */

struct fsck_lost {
	char *repo;
	struct digest dg;
};

struct fsck_links {
	struct fsck *f;
	struct fsck_lost *v;
	size_t n, alloc;
};

static int fsck_link(void *arg, const struct stor_row *r, struct err *e)
{
	struct fsck_links *l = arg;
	const char *why;

	l->f->s->links++;
	if (fsck_blob_ok(l->f, &r->digest, &why, e) < 0)
		return -1;
	if (!why)
		return 0;
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	l->v[l->n].repo = xstrdup(r->repo);
	l->v[l->n].dg = r->digest;
	l->n++;
	return 0;
}

/* A link seen without its blob may have been freed by gc meanwhile (the
 * links go, then the file, under the exclusive pin): each is looked at
 * again under the shared pin, where both are settled. */
static int fsck_lost_check(struct fsck *f, const struct fsck_lost *l,
			   struct err *e)
{
	char ds[DIGEST_STR_MAX];
	bool linked = false;
	const char *why;

	if (f->m->ops->blob_linked(f->m, l->repo, &l->dg, &linked, e) < 0 ||
	    fsck_blob_ok(f, &l->dg, &why, e) < 0)
		return -1;
	if (linked && why)
		fsck_problem(f, STOR_FSCK_MISSING,
			     "repository %s lost blob %s (%s)", l->repo,
			     digest_str(&l->dg, ds), why);
	return 0;
}

static int fsck_links(struct fsck *f, struct err *e)
{
	struct fsck_links l = {f, NULL, 0, 0};
	int pin = -1, ret = -1;

	if (f->m->maint->list(f->m, STOR_LIST_LINKS, NULL, fsck_link, &l, e) <
	    0)
		goto out;
	if (l.n && stor_pin(f->st, false, &pin, e) < 0)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		if (fsck_lost_check(f, &l.v[i], e) < 0)
			goto out;
	ret = 0;
out:
	stor_unpin(pin);
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].repo);
	free(l.v);
	return ret;
}

/* A scan result whose report blob is absent: looked at again under the
 * pin, as links are (a re-match may have replaced the row, and gc freed
 * the blob it named). */
static int fsck_report(void *arg, const struct stor_row *r, struct err *e)
{
	struct fsck *f = arg;
	char ds[DIGEST_STR_MAX], rs[DIGEST_STR_MAX];
	struct stor_scan sc;
	const char *why;
	int pin, ret = -1;

	if (fsck_blob_ok(f, &r->other, &why, e) < 0)
		return -1;
	if (!why)
		return 0;
	if (stor_pin(f->st, false, &pin, e) < 0)
		return -1;
	if (stor_scan_get(f->st, &r->digest, false, &sc, e) < 0)
		goto out;
	if (sc.in_blob && digest_eq(&sc.report_blob, &r->other) &&
	    fsck_blob_ok(f, &r->other, &why, e) == 0 && why)
		fsck_problem(f, STOR_FSCK_MISSING,
			     "scan report of %s lost blob %s (%s)",
			     digest_str(&r->digest, ds),
			     digest_str(&r->other, rs), why);
	stor_scan_release(&sc);
	ret = 0;
out:
	stor_unpin(pin);
	return ret;
}

/* --- 5. Uploads
 * ------------------------------------------------------------------ */

static int fsck_upload_file(void *arg, const struct stor_file *file,
			    struct err *e)
{
	struct fsck *f = arg;
	bool owned = false;

	if (file->tmp) {
		if (f->o->exclusive ||
		    file->changed < f->s->started - FSCK_TEMP_AGE)
			fsck_problem(f, STOR_FSCK_TEMP,
				     "temporary file %s/uploads/%s (%lld "
				     "bytes) left behind (gc frees it)",
				     stor_dir(f->st), file->name,
				     (long long)file->size);
		return 0;
	}
	if (f->m->maint->up_exists(f->m, file->name, &owned, e) < 0)
		return -1;
	if (!owned &&
	    (f->o->exclusive || file->changed < f->s->started - FSCK_TEMP_AGE))
		fsck_problem(f, STOR_FSCK_UPLOAD,
			     "upload data %s (%lld bytes) has no session (gc "
			     "frees it)",
			     file->name, (long long)file->size);
	return 0;
}

static int fsck_session(void *arg, const struct stor_row *r, struct err *e)
{
	struct fsck *f = arg;
	struct err e2 = ERR_INIT;
	int64_t size, changed;

	f->s->uploads++;
	if (f->b->maint->up_stat(f->b, r->name, &size, &changed, &e2) == 0)
		return 0;
	if (e2.code != ERR_BLOB_UPLOAD_UNKNOWN)
		return err_set(e, e2.code, "%s", e2.msg);
	fsck_problem(f, STOR_FSCK_UPLOAD,
		     "upload session %s of %s has no data (gc ends it)",
		     r->name, r->repo);
	return 0;
}

int stor_fsck(struct stor *st, const struct stor_fsck_opts *o,
	      struct stor_fsck_stats *out, struct err *e)
{
	struct stor_fsck_stats s;
	struct fsck f;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	s.started = (int64_t)time(NULL);
	f.st = st;
	f.b = stor_blobs_of(st);
	f.m = stor_meta_of(st);
	f.o = o;
	f.s = &s;
	f.bad = stor_sset_new();
	if (f.m->maint->check(f.m, fsck_db_problem, &f, e) < 0 ||
	    f.b->maint->walk(f.b, fsck_file, &f, e) < 0 ||
	    f.m->maint->list(f.m, STOR_LIST_MANIFESTS, NULL, fsck_manifest, &f,
			     e) < 0 ||
	    fsck_links(&f, e) < 0 ||
	    f.m->maint->list(f.m, STOR_LIST_REPORTS, NULL, fsck_report, &f, e) <
		    0 ||
	    f.m->maint->list(f.m, STOR_LIST_UPLOADS, NULL, fsck_session, &f,
			     e) < 0 ||
	    f.b->maint->up_walk(f.b, fsck_upload_file, &f, e) < 0 ||
	    fsck_lost(&f, e) < 0)
		goto out;
	ret = 0;
out:
	stor_sset_free(f.bad);
	stor_sset_free(f.refs);
	free(f.refs_repo);
	if (out)
		*out = s;
	return ret;
}
