/* layer.c: the layer walk (see layer.h). */
#include "scanner/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "scanner/detect.h"
#include "scanner/osrelease.h"
#include "common/banned.h"

#define LAYER_MAX_LINK_HOPS 8

enum cand_type { CAND_FILE, CAND_LINK, CAND_HARDLINK };

/* A file some detector wanted, and what it yielded. */
struct cand {
	char *path;
	enum cand_type type;
	char *target;		/* links: resolved in-image path */
	enum det_kind kind;
	size_t seq;		/* entry order within its layer */
	bool dead;		/* removed by a later layer */
	struct det_out out;
};

struct cand_vec {
	struct cand **v;
	size_t n, alloc;
};

struct layer_walk {
	struct cand_vec all;	/* lower layers, sorted by path */
	struct cand_vec cur;	/* the layer being read, in entry order */
	struct scan_inventory notes;
	size_t dotdot;		/* entries refused for ".." in this layer */
	size_t layers;
};

static void cand_free(struct cand *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->target);
	det_out_release(&c->out);
	free(c);
}

static void vec_push(struct cand_vec *v, struct cand *c)
{
	if (v->n == v->alloc) {
		v->alloc = v->alloc ? v->alloc * 2 : 64;
		v->v = xrealloc(v->v, v->alloc * sizeof(*v->v));
	}
	v->v[v->n++] = c;
}

static void vec_release(struct cand_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		cand_free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

struct layer_walk *layer_walk_new(void)
{
	struct layer_walk *w = xcalloc(1, sizeof(*w));

	inv_init(&w->notes);
	return w;
}

void layer_walk_free(struct layer_walk *w)
{
	if (!w)
		return;
	vec_release(&w->all);
	vec_release(&w->cur);
	inv_release(&w->notes);
	free(w);
}

void layer_walk_note(struct layer_walk *w, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	inv_add_note(&w->notes, "%s", b.buf);
	buf_release(&b);
}

char *layer_path_norm(const char *name)
{
	size_t n = strlen(name), j = 0;
	char *out = xmalloc(n + 1);
	const char *p = name;

	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return NULL;
		}
		if (len && !(len == 1 && p[0] == '.')) {
			if (j)
				out[j++] = '/';
			memcpy(out + j, p, len);
			j += len;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	out[j] = '\0';
	if (!j) {
		free(out);
		return NULL;
	}
	return out;
}

char *layer_link_resolve(const char *linkpath, const char *target)
{
	struct buf b = BUF_INIT;
	const char *slash = strrchr(linkpath, '/'), *p;
	char *out;

	if (target[0] != '/' && slash)
		buf_add(&b, linkpath, (size_t)(slash - linkpath));
	for (p = target; *p;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *up = strrchr(b.buf, '/');

			if (up)
				b.len = (size_t)(up - b.buf);
			else
				b.len = 0; /* ".." at the root stays there */
			b.buf[b.len] = '\0';
		} else if (len && !(len == 1 && p[0] == '.')) {
			if (b.len)
				buf_add(&b, "/", 1);
			buf_add(&b, p, len);
		}
		p += len;
		while (*p == '/')
			p++;
	}
	if (!b.len) {
		buf_release(&b);
		return NULL;
	}
	out = buf_detach(&b, NULL);
	return out;
}

/* First index of all whose path is >= key. */
static size_t lower_bound(const struct cand_vec *v, const char *key)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v->v[mid]->path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void remove_exact(struct layer_walk *w, const char *path)
{
	size_t i = lower_bound(&w->all, path);

	if (i < w->all.n && !strcmp(w->all.v[i]->path, path))
		w->all.v[i]->dead = true;
}

/* Removes everything below dir ("" = the whole tree). */
static void remove_under(struct layer_walk *w, const char *dir)
{
	char *prefix = *dir ? xasprintf("%s/", dir) : xstrdup("");
	size_t plen = strlen(prefix);

	for (size_t i = lower_bound(&w->all, prefix);
	     i < w->all.n && !strncmp(w->all.v[i]->path, prefix, plen); i++)
		w->all.v[i]->dead = true;
	free(prefix);
}

static void remove_tree(struct layer_walk *w, const char *path)
{
	remove_exact(w, path);
	remove_under(w, path);
}

static struct cand *cand_new(struct layer_walk *w, const char *path,
			     enum cand_type type, enum det_kind kind)
{
	struct cand *c = xcalloc(1, sizeof(*c));

	c->path = xstrdup(path);
	c->type = type;
	c->kind = kind;
	c->seq = w->cur.n;
	det_out_init(&c->out);
	vec_push(&w->cur, c);
	return c;
}

enum lr { LR_OK, LR_TOOBIG, LR_NOTELF, LR_ERR };

/* Reads the current entry's data into out, at most max bytes (prefix:
 * stop there quietly).  elf: give up unless the data starts with the ELF
 * magic.  Holes of sparse entries read as zeros. */
static enum lr layer_read(struct archive *a, size_t max, bool prefix,
			  bool elf, struct buf *out)
{
	const void *blk;
	la_int64_t off;
	size_t n;
	int r;

	buf_init(out, max);
	for (;;) {
		r = archive_read_data_block(a, &blk, &n, &off);
		if (r == ARCHIVE_EOF)
			return LR_OK;
		if (r < ARCHIVE_WARN)
			return LR_ERR;
		if (elf && out->len == 0 && (off != 0 || !det_is_elf(blk, n)))
			return LR_NOTELF;
		if (off < 0 || (uint64_t)off >= max) {
			if (prefix)
				return LR_OK;
			return LR_TOOBIG;
		}
		while (out->len < (size_t)off) {
			static const char zeros[4096];
			size_t z = (size_t)off - out->len;

			buf_add(out, zeros, z < sizeof(zeros) ? z : sizeof(zeros));
		}
		if (n > max - out->len) {
			if (!prefix)
				return LR_TOOBIG;
			n = max - out->len;
		}
		buf_add(out, blk, n);
		if (prefix && out->len == max)
			return LR_OK;
	}
}

static void layer_detect(struct cand *c, const char *layer, struct buf *data)
{
	struct det_file f = { c->path, layer, data->buf, data->len };

	det_run(c->kind, &f, &c->out);
}

/* A regular file: does a detector want it?  Returns -1 on a read error. */
static int layer_file(struct layer_walk *w, struct archive *a,
		      struct archive_entry *ent, const char *path,
		      const char *layer)
{
	unsigned mode = archive_entry_perm(ent);
	int64_t size = archive_entry_size(ent);
	struct buf data = BUF_INIT;
	struct det_want want;
	struct cand *c;
	enum lr r;

	if (det_want_file(path, mode, &want)) {
		c = cand_new(w, path, CAND_FILE, want.kind);
		if (!want.read) {
			layer_detect(c, layer, &data);
			return 0;
		}
		if (size > (int64_t)want.max && !want.prefix) {
			inv_add_note(&c->out.inv, "%s: not analysed: too large (%lld bytes)",
				     path, (long long)size);
			return 0;
		}
		r = layer_read(a, want.max, want.prefix, false, &data);
		if (r == LR_TOOBIG)
			inv_add_note(&c->out.inv, "%s: not analysed: too large",
				     path);
		else if (r == LR_OK)
			layer_detect(c, layer, &data);
		buf_release(&data);
		return r == LR_ERR ? -1 : 0;
	}
	if (!det_maybe_exec(mode) || size < 64)
		return 0;
	if (size > (int64_t)DET_MAX_GO) {
		/* Peek only: a huge non-ELF file must not cost a note. */
		r = layer_read(a, 64, true, true, &data);
		buf_release(&data);
		if (r == LR_OK) {
			c = cand_new(w, path, CAND_FILE, DET_GO);
			inv_add_note(&c->out.inv, "%s: not analysed: too large (%lld bytes)",
				     path, (long long)size);
		}
		return r == LR_ERR ? -1 : 0;
	}
	r = layer_read(a, DET_MAX_GO, false, true, &data);
	if (r == LR_OK) {
		struct det_out out;
		struct det_file f = { path, layer, data.buf, data.len };

		det_out_init(&out);
		det_go(&f, &out);
		if (out.inv.npkgs || out.inv.nnotes) {
			c = cand_new(w, path, CAND_FILE, DET_GO);
			det_out_release(&c->out);
			c->out = out;
		} else {
			det_out_release(&out);
		}
	}
	buf_release(&data);
	return r == LR_ERR ? -1 : 0;
}

/* A whiteout entry: removes from lower layers.  True if name was one. */
static bool layer_whiteout(struct layer_walk *w, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *dir, *victim;

	if (strncmp(base, ".wh.", 4))
		return false;
	dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);
	if (!strcmp(base, ".wh..wh..opq")) {
		remove_under(w, dir);
	} else if (base[4]) {
		victim = *dir ? xasprintf("%s/%s", dir, base + 4)
			      : xstrdup(base + 4);
		remove_tree(w, victim);
		free(victim);
	}
	free(dir);
	return true;
}

static int layer_entry(struct layer_walk *w, struct archive *a,
		       struct archive_entry *ent, const char *layer)
{
	const char *name = archive_entry_pathname(ent);
	const char *hard = archive_entry_hardlink(ent);
	unsigned type = archive_entry_filetype(ent);
	struct det_want want;
	struct cand *c;
	char *path;
	int r = 0;

	if (!name)
		return 0;
	path = layer_path_norm(name);
	if (!path) {
		if (strstr(name, ".."))
			w->dotdot++;
		return 0;
	}
	if (layer_whiteout(w, path))
		goto out;
	if (type == AE_IFDIR && !hard) {
		remove_exact(w, path); /* a directory over a file */
		goto out;
	}
	remove_tree(w, path);
	if (hard) {
		char *target = layer_path_norm(hard);

		if (target && (det_want_file(path, 0, &want) ||
			       det_want_link(path))) {
			c = cand_new(w, path, CAND_HARDLINK, want.kind);
			c->target = target;
			target = NULL;
		}
		free(target);
	} else if (type == AE_IFLNK) {
		const char *t = archive_entry_symlink(ent);

		if (t && det_want_link(path)) {
			c = cand_new(w, path, CAND_LINK, DET_NONE);
			c->target = layer_link_resolve(path, t);
		}
	} else if (type == AE_IFREG) {
		r = layer_file(w, a, ent, path, layer);
	}
out:
	free(path);
	return r;
}

static int cand_cmp(const void *x, const void *y)
{
	const struct cand *a = *(struct cand *const *)x;
	const struct cand *b = *(struct cand *const *)y;
	int c = strcmp(a->path, b->path);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Merges the layer just read into all: the upper copy of a path wins, and
 * within one layer the last entry does (as when extracting). */
static void layer_commit(struct layer_walk *w)
{
	struct cand_vec out = { 0 };
	size_t i = 0, j = 0;

	if (w->cur.n)
		qsort(w->cur.v, w->cur.n, sizeof(*w->cur.v), cand_cmp);
	while (i < w->all.n || j < w->cur.n) {
		struct cand *lo = i < w->all.n ? w->all.v[i] : NULL;
		struct cand *up = j < w->cur.n ? w->cur.v[j] : NULL;
		int c;

		if (lo && lo->dead) {
			cand_free(lo);
			i++;
			continue;
		}
		if (up && j + 1 < w->cur.n &&
		    !strcmp(up->path, w->cur.v[j + 1]->path)) {
			cand_free(up);
			j++;
			continue;
		}
		c = !lo ? 1 : !up ? -1 : strcmp(lo->path, up->path);
		if (c < 0) {
			vec_push(&out, lo);
			i++;
		} else {
			if (c == 0) {
				cand_free(lo);
				i++;
			}
			vec_push(&out, up);
			j++;
		}
	}
	free(w->all.v);
	free(w->cur.v);
	w->all = out;
	memset(&w->cur, 0, sizeof(w->cur));
}

int layer_walk_archive(struct layer_walk *w, struct archive *a,
		       const char *digest, struct err *e)
{
	struct archive_entry *ent;
	size_t entries = 0;
	int r, rc = 0;

	w->dotdot = 0;
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		entries++;
		if (layer_entry(w, a, ent, digest)) {
			r = ARCHIVE_FATAL;
			break;
		}
	}
	if (r != ARCHIVE_EOF) {
		const char *msg = archive_error_string(a);

		err_set(e, ERR_INVALID, "layer %s: %s", digest,
			msg ? msg : "unreadable");
		layer_walk_note(w, "layer %s: read error after %zu entries (%s); the rest of this layer was not analysed",
				digest, entries, msg ? msg : "unreadable");
		rc = -1;
	}
	if (w->dotdot)
		layer_walk_note(w, "layer %s: %zu entries with '..' in their path skipped",
				digest, w->dotdot);
	layer_commit(w);
	w->layers++;
	return rc;
}

static struct cand *layer_find(struct layer_walk *w, const char *path)
{
	size_t i = lower_bound(&w->all, path);

	return i < w->all.n && !strcmp(w->all.v[i]->path, path) ? w->all.v[i]
								: NULL;
}

/* Follows symlinks and hard links to the file a path ends at. */
static struct cand *layer_follow(struct layer_walk *w, const char *path)
{
	struct cand *c = layer_find(w, path);

	for (int hops = 0; c && c->type != CAND_FILE; hops++) {
		if (hops == LAYER_MAX_LINK_HOPS || !c->target)
			return NULL;
		c = layer_find(w, c->target);
	}
	return c;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void layer_os(struct layer_walk *w, struct scan_os *os)
{
	static const char *const files[] = { "etc/os-release",
					     "usr/lib/os-release" };
	struct cand *c;

	for (size_t i = 0; i < 2 && !os->id; i++) {
		c = layer_follow(w, files[i]);
		if (c && c->kind == DET_OSRELEASE && c->out.inv.os.id) {
			const struct scan_os *s = &c->out.inv.os;

			os->id = xstrdup(s->id);
			os->version_id = dup_or_null(s->version_id);
			os->pretty_name = dup_or_null(s->pretty_name);
			os->codename = dup_or_null(s->codename);
		}
	}
	if (os->id && strcmp(os->id, "alpine"))
		return;
	if (os->version_id)
		return;
	c = layer_follow(w, "etc/alpine-release");
	if (c && c->kind == DET_ALPINE_RELEASE && c->out.inv.os.id) {
		free(os->id);
		os->id = xstrdup("alpine");
		os->version_id = dup_or_null(c->out.inv.os.version_id);
	}
}

/* 0: package-lock.json, 1: hidden lockfile, 2: installed package.json */
static int npm_rank(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;

	if (!strcmp(base, "package-lock.json"))
		return 0;
	return !strcmp(base, ".package-lock.json") ? 1 : 2;
}

struct npm_ent {
	size_t idx;
	const char *loc;
	int rank;
};

static int npm_ent_cmp(const void *x, const void *y)
{
	const struct npm_ent *a = x, *b = y;
	int c = strcmp(a->loc, b->loc);

	if (c)
		return c;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* One package per npm install location: a lockfile entry, unless the
 * installed package.json there says another version. */
static void npm_dedupe(const struct det_out *all, bool *drop)
{
	struct npm_ent *v = xcalloc(all->inv.npkgs + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < all->inv.npkgs; i++) {
		if (!all->loc[i])
			continue;
		v[n].idx = i;
		v[n].loc = all->loc[i];
		v[n].rank = npm_rank(all->inv.pkgs[i].path);
		n++;
	}
	qsort(v, n, sizeof(*v), npm_ent_cmp);
	for (size_t i = 0; i < n;) {
		size_t end = i, keep = i;

		while (end < n && !strcmp(v[end].loc, v[i].loc))
			end++;
		for (size_t k = i; k < end; k++)
			if (v[k].rank == 2 &&
			    strcmp(all->inv.pkgs[v[k].idx].version,
				   all->inv.pkgs[v[keep].idx].version))
				keep = k;
		for (size_t k = i; k < end; k++)
			drop[v[k].idx] = k != keep;
		i = end;
	}
	free(v);
}

static void layer_collect(struct layer_walk *w, struct det_out *all)
{
	for (size_t i = 0; i < w->all.n; i++) {
		struct cand *c = w->all.v[i], *t = c;

		if (c->type == CAND_LINK)
			continue;
		if (c->type == CAND_HARDLINK)
			t = layer_follow(w, c->path);
		if (!t || t->type != CAND_FILE)
			continue;
		for (size_t k = 0; k < t->out.inv.npkgs; k++) {
			struct scan_pkg p = t->out.inv.pkgs[k];

			p.path = c->path;
			if (t->kind == DET_DPKG || t->kind == DET_DPKG_D)
				p.eco = osrel_dpkg_eco(&all->inv.os);
			det_out_add(all, &p, t->out.loc ? t->out.loc[k] : NULL);
		}
		for (size_t k = 0; k < t->out.inv.nnotes; k++)
			inv_add_note(&all->inv, "%s", t->out.inv.notes[k]);
	}
}

void layer_walk_finish(struct layer_walk *w, struct scan_inventory *inv)
{
	struct det_out all;
	bool *drop;

	layer_commit(w);
	det_out_init(&all);
	for (size_t i = 0; i < w->notes.nnotes; i++)
		inv_add_note(&all.inv, "%s", w->notes.notes[i]);
	layer_os(w, &all.inv.os);
	layer_collect(w, &all);
	drop = xcalloc(all.inv.npkgs + 1, sizeof(*drop));
	npm_dedupe(&all, drop);
	inv_release(inv);
	inv->os = all.inv.os;
	memset(&all.inv.os, 0, sizeof(all.inv.os));
	for (size_t i = 0; i < all.inv.npkgs; i++)
		if (!drop[i])
			inv_add_pkg(inv, &all.inv.pkgs[i]);
	for (size_t i = 0; i < all.inv.nnotes; i++)
		inv_add_note(inv, "%s", all.inv.notes[i]);
	free(drop);
	det_out_release(&all);
	vec_release(&w->all);
	inv_release(&w->notes);
}
