/* gc.c: garbage collection, upload expiry, crash recovery, and the locks
 * that let them run beside a serving registry.
 *
 * A run goes: expire idle upload sessions; delete upload data and
 * temporary files that no session owns; (if asked) delete manifests no tag
 * reaches; then sweep the blobs.  The database's indexes are the mark
 * phase: for each blob file old enough, a query asks whether a manifest is
 * it or lists it, or a repository linked it within the grace period.  So
 * memory stays flat however large the store (but for the list of blobs
 * found unused).  Before any of those goes, their share of the store is
 * weighed: more than max_sweep_share means the metadata was likely lost
 * (a deleted meta.db-wal) and the sweep is refused unless forced.  Each
 * blob is then checked again under the exclusive pin before its links and
 * file go.
 */
#include "storage/gc_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

/* --- String sets -------------------------------------------------------- */

struct stor_sset {
	char **v;
	size_t cap; /* a power of two */
	size_t n;
};

static uint64_t sset_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct stor_sset *stor_sset_new(void)
{
	struct stor_sset *set = xcalloc(1, sizeof(*set));

	set->cap = 64;
	set->v = xcalloc(set->cap, sizeof(*set->v));
	return set;
}

void stor_sset_free(struct stor_sset *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->cap; i++)
		free(set->v[i]);
	free(set->v);
	free(set);
}

static size_t sset_slot(char **v, size_t cap, const char *s)
{
	size_t i = (size_t)sset_hash(s) & (cap - 1);

	while (v[i] && strcmp(v[i], s))
		i = (i + 1) & (cap - 1);
	return i;
}

static void sset_grow(struct stor_sset *set)
{
	size_t cap = set->cap * 2;
	char **v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < set->cap; i++)
		if (set->v[i])
			v[sset_slot(v, cap, set->v[i])] = set->v[i];
	free(set->v);
	set->v = v;
	set->cap = cap;
}

bool stor_sset_add(struct stor_sset *set, const char *s)
{
	size_t i;

	if (2 * (set->n + 1) > set->cap)
		sset_grow(set);
	i = sset_slot(set->v, set->cap, s);
	if (set->v[i])
		return false;
	set->v[i] = xstrdup(s);
	set->n++;
	return true;
}

bool stor_sset_has(const struct stor_sset *set, const char *s)
{
	return set && set->v[sset_slot(set->v, set->cap, s)] != NULL;
}

const char *stor_mf_key(const char *repo, const struct digest *dg,
			char out[STOR_MF_KEY_MAX])
{
	char ds[DIGEST_STR_MAX];

	snprintf(out, STOR_MF_KEY_MAX, "%s@%s", repo, digest_str(dg, ds));
	return out;
}

/* --- Locks ---------------------------------------------------------------- */

static int gc_lock_open(const char *dir, const char *name, int *fd_out,
			struct err *e)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "open %s", path);
		free(path);
		return -1;
	}
	free(path);
	*fd_out = fd;
	return 0;
}

/* Pins that the metadata backend holds too (stor_maint_ops.pin), by the
 * pin's fd: stor_unpin() gets nothing else. */
struct gc_pin {
	int fd;
	struct stor_meta *m;
	bool exclusive;
	struct gc_pin *next;
};
static pthread_mutex_t gc_pins_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gc_pin *gc_pins;

int stor_pin(struct stor *st, bool exclusive, int *fd_out, struct err *e)
{
	struct stor_meta *m = stor_meta_of(st);
	struct gc_pin *p;
	int fd;

	if (gc_lock_open(stor_dir(st), "gc.lock", &fd, e) < 0)
		return -1;
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		err_errno(e, ERR_IO, errno, "lock %s/gc.lock", stor_dir(st));
		close(fd);
		return -1;
	}
	if (m->maint->pin) {
		if (m->maint->pin(m, exclusive, e) < 0) {
			close(fd);
			return -1;
		}
		p = xmalloc(sizeof(*p));
		*p = (struct gc_pin){fd, m, exclusive, NULL};
		pthread_mutex_lock(&gc_pins_lock);
		p->next = gc_pins;
		gc_pins = p;
		pthread_mutex_unlock(&gc_pins_lock);
	}
	*fd_out = fd;
	return 0;
}

void stor_unpin(int fd)
{
	struct gc_pin **pp, *p = NULL;

	if (fd < 0)
		return;
	pthread_mutex_lock(&gc_pins_lock);
	for (pp = &gc_pins; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			p = *pp;
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&gc_pins_lock);
	if (p) {
		p->m->maint->unpin(p->m, p->exclusive);
		free(p);
	}
	close(fd);
}

struct stor_lock {
	int fd;
};

struct stor_lock *stor_lock_take(const char *dir, struct err *e)
{
	struct stor_lock *l;
	int fd;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		err_errno(e, ERR_IO, errno, "mkdir %s", dir);
		return NULL;
	}
	if (gc_lock_open(dir, "serve.lock", &fd, e) < 0)
		return NULL;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			err_set(e, ERR_BUSY,
				"%s is in use by another customs process", dir);
		else
			err_errno(e, ERR_IO, errno, "lock %s/serve.lock", dir);
		close(fd);
		return NULL;
	}
	l = xmalloc(sizeof(*l));
	l->fd = fd;
	return l;
}

void stor_lock_free(struct stor_lock *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l);
}

/* --- Uploads and temporary files ------------------------------------------ */

void stor_gc_opts_init(struct stor_gc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->grace_s = STOR_GC_GRACE_DEFAULT;
	o->upload_ttl_s = STOR_UPLOAD_TTL_DEFAULT;
	o->max_sweep_share = STOR_GC_MAX_SWEEP_DEFAULT;
}

void stor_gc_note(struct stor_gc_run *g, const char *kind, const char *name,
		  int64_t size)
{
	if (g->o->on_free)
		g->o->on_free(g->o->arg, kind, name, size);
}

struct gc_session {
	char *repo, *id;
	int64_t updated;
};

struct gc_sessions {
	struct gc_session *v;
	size_t n, alloc;
};

static int gc_session_add(void *arg, const struct stor_row *r, struct err *e)
{
	struct gc_sessions *ss = arg;

	(void)e;
	if (ss->n == ss->alloc) {
		ss->alloc = ss->alloc ? 2 * ss->alloc : 16;
		ss->v = xrealloc(ss->v, ss->alloc * sizeof(*ss->v));
	}
	ss->v[ss->n].repo = xstrdup(r->repo);
	ss->v[ss->n].id = xstrdup(r->name ? r->name : "");
	ss->v[ss->n].updated = r->updated;
	ss->n++;
	return 0;
}

static void gc_sessions_release(struct gc_sessions *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		free(ss->v[i].repo);
		free(ss->v[i].id);
	}
	free(ss->v);
}

/* Whether session u is over: idle for longer than the TTL (its row or its
 * data, whichever changed last), or without data (nobody can resume it). */
static int gc_session_over(struct stor_gc_run *g, const struct gc_session *u,
			   bool *over, int64_t *size, struct err *e)
{
	struct err e2 = ERR_INIT;
	int64_t changed, last = u->updated;

	*over = false;
	*size = 0;
	if (g->b->maint->up_stat(g->b, u->id, size, &changed, &e2) < 0) {
		if (e2.code != ERR_BLOB_UPLOAD_UNKNOWN)
			return err_set(e, e2.code, "%s", e2.msg);
		*over = g->o->exclusive || last <= g->cutoff;
		return 0;
	}
	if (changed > last)
		last = changed;
	*over = g->o->upload_ttl_s > 0 && last <= g->now - g->o->upload_ttl_s;
	return 0;
}

bool stor_gc_stopping(const struct stor_gc_run *g)
{
	return g->o->stopping && g->o->stopping(g->o->stop_arg);
}

static int gc_expire_one(struct stor_gc_run *g, const struct gc_session *u,
			 struct err *e)
{
	struct err e2 = ERR_INIT;
	int64_t size;
	bool over;

	if (gc_session_over(g, u, &over, &size, e) < 0)
		return -1;
	if (!over)
		return 0;
	if (!g->o->dry_run &&
	    stor_upload_cancel(g->st, u->repo, u->id, &e2) < 0) {
		/* In use by a request, or gone meanwhile: not ours. */
		if (e2.code == ERR_BUSY || e2.code == ERR_BLOB_UPLOAD_UNKNOWN)
			return 0;
		return err_set(e, e2.code, "%s", e2.msg);
	}
	g->s->uploads++;
	g->s->bytes += size;
	stor_gc_note(g, "upload", u->id, size);
	return 0;
}

/* Upload sessions that are over, with their data. */
static int gc_expire_uploads(struct stor_gc_run *g, struct err *e)
{
	struct gc_sessions ss = {0};
	int ret = -1;

	if (g->m->maint->list(g->m, STOR_LIST_UPLOADS, NULL, gc_session_add,
			      &ss, e) < 0)
		goto out;
	for (size_t i = 0; i < ss.n && !stor_gc_stopping(g); i++)
		if (gc_expire_one(g, &ss.v[i], e) < 0)
			goto out;
	ret = 0;
out:
	gc_sessions_release(&ss);
	return ret;
}

/* A file of uploads/ that no session owns: a temporary file, or data whose
 * session is gone (a crash between creating the data and its row). */
static int gc_upload_file(void *arg, const struct stor_file *f, struct err *e)
{
	struct stor_gc_run *g = arg;
	bool owned = false;

	if (stor_gc_stopping(g))
		return 1;
	if (!g->o->exclusive && f->changed > g->cutoff)
		return 0;
	if (!f->tmp && g->m->maint->up_exists(g->m, f->name, &owned, e) < 0)
		return -1;
	if (owned)
		return 0;
	if (!g->o->dry_run &&
	    (f->tmp ? g->b->maint->tmp_remove(g->b, f->name, e)
		    : g->b->ops->up_remove(g->b, f->name, e)) < 0)
		return -1;
	if (f->tmp)
		g->s->temps++;
	else
		g->s->uploads++;
	g->s->bytes += f->size;
	stor_gc_note(g, f->tmp ? "temp" : "upload", f->name, f->size);
	return 0;
}

/* --- Blobs ------------------------------------------------------------------
 */

struct gc_use {
	struct stor_gc_run *g;
	bool used;
};

static int gc_user(void *arg, const struct stor_row *r, struct err *e)
{
	struct gc_use *u = arg;
	char key[STOR_MF_KEY_MAX];

	(void)e;
	if (stor_sset_has(u->g->gone, stor_mf_key(r->repo, &r->digest, key)))
		return 0;
	u->used = true;
	return 1;
}

static int gc_blob_used(struct stor_gc_run *g, const struct digest *dg,
			bool *used, struct err *e)
{
	struct gc_use u = {g, false};
	bool linked = false;

	if (g->m->maint->blob_users(g->m, dg, g->cutoff, gc_user, &u, &linked,
				    e) < 0)
		return -1;
	*used = u.used || linked;
	return 0;
}

/* Under the exclusive pin: nothing can start relying on dg meanwhile.
 * Links go before the file, so a crash in between leaves an orphan file
 * (the next run frees it), never a link to nothing. */
static int gc_blob_free(struct stor_gc_run *g, const struct digest *dg,
			bool *freed, struct err *e)
{
	bool used;
	int pin, ret = -1;

	*freed = false;
	if (stor_pin(g->st, true, &pin, e) < 0)
		return -1;
	if (gc_blob_used(g, dg, &used, e) < 0)
		goto out;
	if (!used) {
		if (g->m->maint->blob_forget(g->m, dg, NULL, e) < 0 ||
		    g->b->maint->remove(g->b, dg, e) < 0)
			goto out;
		*freed = true;
	}
	ret = 0;
out:
	stor_unpin(pin);
	return ret;
}

/* The walk: counts every blob and notes those nothing keeps. */
static int gc_blob(void *arg, const struct stor_file *f, struct err *e)
{
	struct stor_gc_run *g = arg;
	bool used;

	if (stor_gc_stopping(g))
		return 1;
	if (!f->dg)
		return 0; /* strays are for fsck */
	g->s->total_bytes += f->size;
	/* Young blobs may be a push in flight. */
	if (f->changed > g->cutoff)
		goto keep;
	if (gc_blob_used(g, f->dg, &used, e) < 0)
		return -1;
	if (used)
		goto keep;
	if (g->ncand == g->acand) {
		g->acand = g->acand ? 2 * g->acand : 64;
		g->cand = xrealloc(g->cand, g->acand * sizeof(*g->cand));
	}
	g->cand[g->ncand].dg = *f->dg;
	g->cand[g->ncand].size = f->size;
	g->ncand++;
	g->s->sweep_blobs++;
	g->s->sweep_bytes += f->size;
	return 0;
keep:
	g->s->blobs_kept++;
	return 0;
}

/* Whether the sweep would free more than its share of the store. */
static bool gc_over_share(const struct stor_gc_run *g)
{
	const struct stor_gc_stats *s = g->s;
	int share = g->o->max_sweep_share;
	size_t total = s->blobs_kept + s->sweep_blobs;

	if (share >= 100 || !s->sweep_blobs)
		return false;
	if (share < 0)
		share = 0;
	if (s->total_bytes > 0)
		return (double)s->sweep_bytes * 100 >
		       (double)s->total_bytes * share;
	return s->sweep_blobs * 100 > total * (size_t)share;
}

static int gc_sweep(struct stor_gc_run *g, struct err *e)
{
	struct stor_gc_stats *s = g->s;
	char ds[DIGEST_STR_MAX];
	bool freed = true;

	s->over_share = gc_over_share(g);
	if (s->over_share && !g->o->force && !g->o->dry_run) {
		err_set(e, ERR_DENIED,
			"refusing to free %zu of %zu blobs (%lld of "
			"%lld bytes): more than %d%% of the store.  "
			"The metadata may be lost (run customs fsck); "
			"--force frees them anyway",
			s->sweep_blobs, s->sweep_blobs + s->blobs_kept,
			(long long)s->sweep_bytes, (long long)s->total_bytes,
			g->o->max_sweep_share);
		s->blobs_kept += s->sweep_blobs;
		return -1;
	}
	for (size_t i = 0; i < g->ncand; i++) {
		if (stor_gc_stopping(g)) {
			s->blobs_kept += g->ncand - i;
			break;
		}
		if (!g->o->dry_run &&
		    gc_blob_free(g, &g->cand[i].dg, &freed, e) < 0)
			return -1;
		if (!freed) {
			s->blobs_kept++;
			continue;
		}
		s->blobs++;
		s->bytes += g->cand[i].size;
		stor_gc_note(g, "blob", digest_str(&g->cand[i].dg, ds),
			     g->cand[i].size);
	}
	return 0;
}

/* --- Runs ------------------------------------------------------------------
 */

static void gc_run_init(struct stor_gc_run *g, struct stor *st,
			const struct stor_gc_opts *o, struct stor_gc_stats *s)
{
	memset(g, 0, sizeof(*g));
	memset(s, 0, sizeof(*s));
	g->st = st;
	g->b = stor_blobs_of(st);
	g->m = stor_meta_of(st);
	g->o = o;
	g->s = s;
	g->now = (int64_t)time(NULL);
	g->cutoff = g->now - (o->grace_s > 0 ? o->grace_s : 0);
}

int stor_gc(struct stor *st, const struct stor_gc_opts *o,
	    struct stor_gc_stats *out, struct err *e)
{
	struct stor_gc_stats s;
	struct stor_gc_run g;
	int ret = -1;

	gc_run_init(&g, st, o, &s);
	if (gc_expire_uploads(&g, e) < 0 ||
	    g.b->maint->up_walk(g.b, gc_upload_file, &g, e) < 0)
		goto out;
	if (o->untagged && stor_gc_untagged(&g, e) < 0)
		goto out;
	if (g.b->maint->walk(g.b, gc_blob, &g, e) < 0 || gc_sweep(&g, e) < 0)
		goto out;
	ret = 0;
out:
	stor_sset_free(g.gone);
	free(g.cand);
	if (out)
		*out = s;
	return ret;
}

int stor_recover(struct stor *st, struct stor_gc_stats *out, struct err *e)
{
	struct stor_gc_opts o;
	struct stor_gc_stats s;
	struct stor_gc_run g;
	int ret = -1;

	stor_gc_opts_init(&o);
	o.exclusive = true;
	o.upload_ttl_s = 0; /* only sessions without data */
	gc_run_init(&g, st, &o, &s);
	if (gc_expire_uploads(&g, e) == 0 &&
	    g.b->maint->up_walk(g.b, gc_upload_file, &g, e) == 0)
		ret = 0;
	if (out)
		*out = s;
	return ret;
}
