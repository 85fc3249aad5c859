/* layer.c: the layer walk (see layer.h). */
#include "scanner/layer_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/xmalloc.h"
#include "scanner/detect_int.h"
#include "scanner/meter_int.h"
#include "scanner/osrelease_int.h"
#include "common/banned.h"

#define LAYER_MAX_LINK_HOPS 8

enum cand_type { CAND_FILE, CAND_LINK, CAND_HARDLINK };

/* What one wanted file yielded.  Identical files (same detector, same
 * content) share one, so a file is analysed once however often an image
 * holds it, and listed once (hard links resolve to it as well). */
struct cand_res {
	unsigned refs;
	enum det_kind kind;
	char key[129];	 /* sha256 hex of the content; "" for none */
	bool collected;	 /* already listed by layer_collect() */
	int64_t charged; /* inventory entries charged to the meter */
	struct det_out out;
	struct cand_res *next; /* hash chain */
};

/* A file some detector wanted (res: what it yielded), or a link. */
struct cand {
	char *path;
	enum cand_type type;
	char *target; /* links: resolved in-image path */
	enum det_kind kind;
	size_t seq;	      /* entry order within its layer */
	bool dead;	      /* removed by a later layer */
	struct cand_res *res; /* CAND_FILE only; never NULL there */
	char *layer;	      /* sharing another layer's res: this one's */
};

struct cand_vec {
	struct cand **v;
	size_t n, alloc;
};

/* Inventory entries (the meter's "packages"): each cand kept costs one,
 * each package a detector found one more.  Freed cands and results give
 * theirs back, so the count is what the walk holds. */
struct layer_walk {
	struct cand_vec all; /* lower layers, sorted by path */
	struct cand_vec cur; /* the layer being read, in entry order */
	struct scan_inventory notes;
	size_t dotdot; /* entries refused for ".." in this layer */
	size_t layers;
	size_t fs_layers;     /* layers that decoded as tar */
	struct scan_meter *m; /* borrowed, or &own */
	struct scan_meter own;
	const char *layer;     /* digest of the layer being read */
	bool layer_stop;       /* a budget ended this layer */
	struct cand_res **tab; /* results by content, chained */
	size_t tab_size, tab_n;
	json_t *rec; /* indexing: the removals of the layer being read */
};

static uint64_t res_hash(const char *key)
{
	uint64_t h = 0;

	for (int i = 0; i < 16 && key[i]; i++)
		h = h << 4 | (uint64_t)(key[i] <= '9' ? key[i] - '0'
						      : key[i] - 'a' + 10);
	return h;
}

static void res_insert(struct layer_walk *w, struct cand_res *r)
{
	size_t i;

	if (w->tab_n + 1 > w->tab_size / 4 * 3) {
		size_t n = w->tab_size ? w->tab_size * 2 : 64;
		struct cand_res **t = xcalloc(n, sizeof(*t));

		for (i = 0; i < w->tab_size; i++) {
			while (w->tab[i]) {
				struct cand_res *x = w->tab[i];

				w->tab[i] = x->next;
				x->next = t[res_hash(x->key) % n];
				t[res_hash(x->key) % n] = x;
			}
		}
		free(w->tab);
		w->tab = t;
		w->tab_size = n;
	}
	i = res_hash(r->key) % w->tab_size;
	r->next = w->tab[i];
	w->tab[i] = r;
	w->tab_n++;
}

static struct cand_res *res_find(struct layer_walk *w, enum det_kind kind,
				 const char *key)
{
	struct cand_res *r;

	if (!w->tab_size)
		return NULL;
	for (r = w->tab[res_hash(key) % w->tab_size]; r; r = r->next)
		if (r->kind == kind && !strcmp(r->key, key))
			return r;
	return NULL;
}

/* A new result with one reference; key NULL: not shared. */
static struct cand_res *res_new(struct layer_walk *w, enum det_kind kind,
				const char *key)
{
	struct cand_res *r = xcalloc(1, sizeof(*r));

	r->refs = 1;
	r->kind = kind;
	det_out_init(&r->out);
	if (key) {
		snprintf(r->key, sizeof(r->key), "%s", key);
		res_insert(w, r);
	}
	return r;
}

static void res_charge(struct layer_walk *w, struct cand_res *r)
{
	r->charged = (int64_t)r->out.inv.npkgs;
	w->m->entries += r->charged;
	meter_peak(w->m);
}

static void res_unref(struct layer_walk *w, struct cand_res *r)
{
	if (!r || --r->refs)
		return;
	if (r->key[0]) {
		struct cand_res **pp = &w->tab[res_hash(r->key) % w->tab_size];

		while (*pp != r)
			pp = &(*pp)->next;
		*pp = r->next;
		w->tab_n--;
	}
	w->m->entries -= r->charged;
	det_out_release(&r->out);
	free(r);
}

static void cand_free(struct layer_walk *w, struct cand *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->target);
	free(c->layer);
	res_unref(w, c->res);
	w->m->entries--;
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

static void vec_release(struct layer_walk *w, struct cand_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		cand_free(w, v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

struct layer_walk *layer_walk_new(struct scan_meter *m)
{
	struct layer_walk *w = xcalloc(1, sizeof(*w));
	struct scan_budget none = {0};

	inv_init(&w->notes);
	meter_init(&w->own, &none, 0);
	w->m = m ? m : &w->own;
	return w;
}

void layer_walk_free(struct layer_walk *w)
{
	if (!w)
		return;
	vec_release(w, &w->all);
	vec_release(w, &w->cur);
	inv_release(&w->notes);
	free(w->tab);
	json_decref(w->rec);
	meter_release(&w->own);
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

/* Indexing a layer alone: what it removes from the layers below, which
 * are unknown then ("t": the path and its tree, "u": under a directory,
 * "x": the path only), replayed by layer_walk_import(). */
static void layer_rec(struct layer_walk *w, const char *how, const char *path)
{
	if (w->rec)
		json_array_append_new(w->rec, json_pack("[ss]", how, path));
}

static void remove_tree(struct layer_walk *w, const char *path)
{
	remove_exact(w, path);
	remove_under(w, path);
}

static void layer_packages_hit(struct layer_walk *w)
{
	meter_hit(w->m, BUDGET_PACKAGES, w->m->lim.packages, w->layer,
		  "over %lld inventory entries (files kept for the detectors "
		  "and the packages they list); later ones were not analysed",
		  (long long)w->m->lim.packages);
}

/* Whether the walk may keep one more inventory entry (the packages
 * budget); records the hit when not. */
static bool layer_room(struct layer_walk *w)
{
	int64_t lim = w->m->lim.packages;

	if (!lim || w->m->entries < lim)
		return true;
	layer_packages_hit(w);
	return false;
}

/* The packages a detector may still add (0: no limit). */
static size_t layer_pkg_room(struct layer_walk *w)
{
	int64_t lim = w->m->lim.packages;

	if (!lim)
		return 0;
	return w->m->entries < lim ? (size_t)(lim - w->m->entries) : 1;
}

static struct cand *cand_new(struct layer_walk *w, const char *path,
			     enum cand_type type, enum det_kind kind)
{
	struct cand *c = xcalloc(1, sizeof(*c));

	c->path = xstrdup(path);
	c->type = type;
	c->kind = kind;
	c->seq = w->cur.n;
	vec_push(&w->cur, c);
	w->m->entries++;
	meter_peak(w->m);
	return c;
}

/* Checks the layer's byte budgets and the deadline; true when the layer
 * must not be read further (the hit is recorded). */
static bool layer_over(struct layer_walk *w, struct archive *a)
{
	const struct scan_budget *lim = &w->m->lim;
	int64_t out, in;

	if (w->layer_stop)
		return true;
	out = archive_filter_bytes(a, 0);
	in = archive_filter_bytes(a, -1);
	if (meter_expired(w->m, w->layer)) {
		w->layer_stop = true;
	} else if (lim->layer_bytes && out > lim->layer_bytes) {
		meter_hit(w->m, BUDGET_LAYER_BYTES, lim->layer_bytes, w->layer,
			  "over %lld bytes decompressed",
			  (long long)lim->layer_bytes);
		w->layer_stop = true;
	} else if (lim->image_bytes &&
		   w->m->image_bytes + out > lim->image_bytes) {
		meter_hit(w->m, BUDGET_IMAGE_BYTES, lim->image_bytes, w->layer,
			  "the image's layers decompress to over %lld bytes",
			  (long long)lim->image_bytes);
		w->layer_stop = true;
	} else if (lim->ratio && out > SCAN_RATIO_FLOOR &&
		   out / (in > 0 ? in : 1) > lim->ratio) {
		meter_hit(w->m, BUDGET_RATIO, lim->ratio, w->layer,
			  "%lld bytes decompressed from %lld (over %lld:1)",
			  (long long)out, (long long)in, (long long)lim->ratio);
		w->layer_stop = true;
	}
	return w->layer_stop;
}

enum lr { LR_OK, LR_TOOBIG, LR_NOTELF, LR_ERR, LR_STOP };

/* Reads the current entry's data into out, at most max bytes (prefix:
 * stop there quietly).  elf: give up unless the data starts with the ELF
 * magic.  Holes of sparse entries read as zeros.  LR_STOP: a budget ended
 * the layer. */
static enum lr layer_read(struct layer_walk *w, struct archive *a, size_t max,
			  bool prefix, bool elf, struct buf *out)
{
	const void *blk;
	la_int64_t off;
	size_t n;
	int r;

	buf_init(out, max);
	for (;;) {
		if (layer_over(w, a))
			return LR_STOP;
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

			buf_add(out, zeros,
				z < sizeof(zeros) ? z : sizeof(zeros));
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

/* Runs c's detector on data, or shares the result of an identical file
 * already analysed. */
static void layer_detect(struct layer_walk *w, struct cand *c,
			 const struct buf *data)
{
	struct det_file f = {c->path, w->layer, data->buf, data->len, w->m};
	struct digest dg;
	struct cand_res *r;

	if ((int64_t)data->len > w->m->used.file_bytes)
		w->m->used.file_bytes = (int64_t)data->len;
	digest_of(DIGEST_SHA256, data->buf, data->len, &dg);
	r = res_find(w, c->kind, dg.hex);
	if (r) {
		r->refs++;
		c->res = r;
		c->layer = xstrdup(w->layer);
		return;
	}
	r = c->res = res_new(w, c->kind, dg.hex);
	r->out.max_pkgs = layer_pkg_room(w);
	det_run(c->kind, &f, &r->out);
	if (r->out.full)
		layer_packages_hit(w);
	res_charge(w, r);
}

/* A file its detector does not read: a result with a note only. */
static void layer_unread(struct layer_walk *w, struct cand *c, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));
static void layer_unread(struct layer_walk *w, struct cand *c, const char *fmt,
			 ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	c->res = res_new(w, c->kind, NULL);
	inv_add_note(&c->res->out.inv, "%s", b.buf);
	buf_release(&b);
}

/* A Go binary candidate (an exec bit, not wanted by path).  Every
 * executable ELF up to the cap is read to look for Go build information;
 * a larger one is noted, not a budget hit: most are not Go at all. */
static int layer_go(struct layer_walk *w, struct archive *a, const char *path,
		    int64_t size)
{
	int64_t cap = DET_MAX_GO, lim = w->m->lim.file_bytes;
	struct buf data = BUF_INIT;
	struct cand *c;
	enum lr r;

	if (lim && cap > lim)
		cap = lim;
	if (size > cap) {
		/* Peek only: a huge non-ELF file must not cost a note. */
		r = layer_read(w, a, 64, true, true, &data);
		buf_release(&data);
		if (r == LR_OK && layer_room(w)) {
			c = cand_new(w, path, CAND_FILE, DET_GO);
			layer_unread(w, c,
				     "%s: not analysed: too large (%lld bytes)",
				     path, (long long)size);
		}
		return r == LR_ERR ? -1 : 0;
	}
	r = layer_read(w, a, (size_t)cap, false, true, &data);
	if (r == LR_OK && layer_room(w)) {
		struct cand_res *res;

		c = cand_new(w, path, CAND_FILE, DET_GO);
		layer_detect(w, c, &data);
		res = c->res;
		if (!res->out.inv.npkgs && !res->out.inv.nnotes) {
			/* Not a Go binary: forget it (the cand is last). */
			w->cur.n--;
			cand_free(w, c);
		}
	}
	buf_release(&data);
	return r == LR_ERR ? -1 : 0;
}

/* A regular file: does a detector want it?  Returns -1 on a read error. */
static int layer_file(struct layer_walk *w, struct archive *a,
		      struct archive_entry *ent, const char *path)
{
	unsigned mode = archive_entry_perm(ent);
	int64_t size = archive_entry_size(ent);
	int64_t lim = w->m->lim.file_bytes;
	struct buf data = BUF_INIT;
	struct det_want want;
	struct cand *c;
	size_t cap;
	enum lr r;

	if (!det_want_file(path, mode, &want)) {
		if (!det_maybe_exec(mode) || size < 64)
			return 0;
		return layer_go(w, a, path, size);
	}
	if (!layer_room(w))
		return 0;
	c = cand_new(w, path, CAND_FILE, want.kind);
	if (!want.read) {
		layer_detect(w, c, &data);
		return 0;
	}
	cap = want.max;
	if (!want.prefix && lim && (int64_t)cap > lim)
		cap = (size_t)lim;
	if (size > (int64_t)cap && !want.prefix) {
		r = LR_TOOBIG;
	} else {
		r = layer_read(w, a, cap, want.prefix, false, &data);
		if (r == LR_OK)
			layer_detect(w, c, &data);
	}
	if (r == LR_TOOBIG) {
		/* The detector needs the whole file: what it would have listed
		 * is unknown, so the scan is incomplete. */
		meter_hit(w->m, BUDGET_FILE_BYTES, (int64_t)cap, w->layer,
			  "%s: %lld bytes, over the %zu its detector reads",
			  path, (long long)size, cap);
		layer_unread(w, c, "%s: not analysed: too large (%lld bytes)",
			     path, (long long)size);
	} else if (!c->res) {
		layer_unread(w, c, "%s: not analysed: %s", path,
			     r == LR_STOP ? "the layer's budget ran out"
					  : "read error");
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
		layer_rec(w, "u", dir);
	} else if (base[4]) {
		victim = *dir ? xasprintf("%s/%s", dir, base + 4)
			      : xstrdup(base + 4);
		remove_tree(w, victim);
		layer_rec(w, "t", victim);
		free(victim);
	}
	free(dir);
	return true;
}

static int layer_entry(struct layer_walk *w, struct archive *a,
		       struct archive_entry *ent)
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
		if (w->rec && det_want_file(path, 0644, &want))
			layer_rec(w, "x", path);
		goto out;
	}
	remove_tree(w, path);
	/* An index keeps the entries that may replace what a detector read
	 * below: links (a directory turned into a symlink) and executables
	 * (a Go binary replaced).  Its own wanted files replace by path. */
	if (w->rec &&
	    (hard || type == AE_IFLNK ||
	     (type == AE_IFREG && det_maybe_exec(archive_entry_perm(ent)))))
		layer_rec(w, "t", path);
	if (hard) {
		char *target = layer_path_norm(hard);

		if (target &&
		    (det_want_file(path, 0, &want) || det_want_link(path)) &&
		    layer_room(w)) {
			c = cand_new(w, path, CAND_HARDLINK, want.kind);
			c->target = target;
			target = NULL;
		}
		free(target);
	} else if (type == AE_IFLNK) {
		const char *t = archive_entry_symlink(ent);

		if (t && det_want_link(path) && layer_room(w)) {
			c = cand_new(w, path, CAND_LINK, DET_NONE);
			c->target = layer_link_resolve(path, t);
		}
	} else if (type == AE_IFREG) {
		r = layer_file(w, a, ent, path);
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
	struct cand_vec out = {0};
	size_t i = 0, j = 0;

	if (w->cur.n)
		qsort(w->cur.v, w->cur.n, sizeof(*w->cur.v), cand_cmp);
	while (i < w->all.n || j < w->cur.n) {
		struct cand *lo = i < w->all.n ? w->all.v[i] : NULL;
		struct cand *up = j < w->cur.n ? w->cur.v[j] : NULL;
		int c;

		if (lo && lo->dead) {
			cand_free(w, lo);
			i++;
			continue;
		}
		if (up && j + 1 < w->cur.n &&
		    !strcmp(up->path, w->cur.v[j + 1]->path)) {
			cand_free(w, up);
			j++;
			continue;
		}
		c = !lo ? 1 : !up ? -1 : strcmp(lo->path, up->path);
		if (c < 0) {
			vec_push(&out, lo);
			i++;
		} else {
			if (c == 0) {
				cand_free(w, lo);
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

/* Reads what is left of the current entry, so that a compressed layer is
 * never skipped in one uninterruptible call: the budgets and the deadline
 * are checked between blocks.  Plain tar is skipped by seeking instead.
 * Returns -1 on a read error. */
static int layer_drain(struct layer_walk *w, struct archive *a)
{
	const void *blk;
	la_int64_t off;
	size_t n;
	int r;

	if (archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE)
		return 0;
	while (!layer_over(w, a)) {
		r = archive_read_data_block(a, &blk, &n, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return -1;
	}
	return 0;
}

static void layer_usage(struct layer_walk *w, struct archive *a, size_t entries)
{
	struct scan_usage *u = &w->m->used;
	int64_t out = archive_filter_bytes(a, 0),
		in = archive_filter_bytes(a, -1);

	w->m->image_bytes += out;
	if (out > u->layer_bytes)
		u->layer_bytes = out;
	if (in > 0 && out / in > u->ratio)
		u->ratio = out / in;
	if ((int64_t)entries > u->layer_entries)
		u->layer_entries = (int64_t)entries;
}

int layer_walk_archive(struct layer_walk *w, struct archive *a,
		       const char *digest, struct err *e)
{
	int64_t max_entries = w->m->lim.layer_entries;
	struct archive_entry *ent;
	size_t entries = 0;
	int r = ARCHIVE_EOF, rc = 0;

	w->dotdot = 0;
	w->layer = digest;
	w->layer_stop = false;
	while (!layer_over(w, a)) {
		r = archive_read_next_header(a, &ent);
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			break;
		if (max_entries && (int64_t)entries >= max_entries) {
			meter_hit(w->m, BUDGET_LAYER_ENTRIES, max_entries,
				  digest, "over %lld tar entries",
				  (long long)max_entries);
			w->layer_stop = true;
			break;
		}
		entries++;
		if (layer_entry(w, a, ent) || layer_drain(w, a)) {
			r = ARCHIVE_FATAL;
			break;
		}
	}
	if (w->layer_stop) {
		err_set(e, ERR_TOO_LARGE,
			"layer %s: a scan budget ended its reading", digest);
		layer_walk_note(w,
				"layer %s: reading stopped after %zu entries "
				"by a scan budget (see \"budgets\"); the rest "
				"of this layer was not analysed",
				digest, entries);
		rc = -1;
	} else if (r != ARCHIVE_EOF) {
		const char *msg = archive_error_string(a);

		err_set(e, ERR_INVALID, "layer %s: %s", digest,
			msg ? msg : "unreadable");
		layer_walk_note(w,
				"layer %s: read error after %zu entries (%s); "
				"the rest of this layer was not analysed",
				digest, entries, msg ? msg : "unreadable");
		rc = -1;
	}
	if (w->dotdot)
		layer_walk_note(
			w,
			"layer %s: %zu entries with '..' in their path skipped",
			digest, w->dotdot);
	/* A filesystem layer: a tar with entries, or an empty tar (not an
	 * empty blob, nor bytes no reader recognised). */
	if (entries > 0 || (r == ARCHIVE_EOF &&
			    (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) ==
				    ARCHIVE_FORMAT_TAR))
		w->fs_layers++;
	layer_usage(w, a, entries);
	layer_commit(w);
	w->layer = NULL;
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
	static const char *const files[] = {"etc/os-release",
					    "usr/lib/os-release"};
	struct cand *c;

	for (size_t i = 0; i < 2 && !os->id; i++) {
		c = layer_follow(w, files[i]);
		if (c && c->kind == DET_OSRELEASE && c->res->out.inv.os.id) {
			const struct scan_os *s = &c->res->out.inv.os;

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
	if (c && c->kind == DET_ALPINE_RELEASE && c->res->out.inv.os.id) {
		free(os->id);
		os->id = xstrdup("alpine");
		os->version_id = dup_or_null(c->res->out.inv.os.version_id);
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

/* Lists what the surviving files yielded.  A result is listed once: a
 * hard link to a file listed already, or a file identical to one, adds
 * nothing. */
static void layer_collect(struct layer_walk *w, struct det_out *all)
{
	for (size_t i = 0; i < w->all.n; i++) {
		struct cand *c = w->all.v[i], *t = c;
		struct cand_res *r;

		if (c->type == CAND_LINK)
			continue;
		if (c->type == CAND_HARDLINK)
			t = layer_follow(w, c->path);
		if (!t || t->type != CAND_FILE || t->res->collected)
			continue;
		r = t->res;
		r->collected = true;
		for (size_t k = 0; k < r->out.inv.npkgs; k++) {
			struct scan_pkg p = r->out.inv.pkgs[k];
			const char *loc = r->out.loc ? r->out.loc[k] : NULL;
			char *own = NULL;

			p.path = c->path;
			if (t->layer)
				p.layer = t->layer;
			if (r->kind == DET_DPKG || r->kind == DET_DPKG_D)
				p.eco = osrel_dpkg_eco(&all->inv.os);
			else if (r->kind == DET_APK)
				p.eco = osrel_apk_eco(&all->inv.os);
			/* An installed package.json is where it lies. */
			if (r->kind == DET_NPM_PKG && loc &&
			    strrchr(c->path, '/'))
				loc = own = xstrndup(
					c->path,
					(size_t)(strrchr(c->path, '/') -
						 c->path));
			det_out_add(all, &p, loc);
			free(own);
		}
		for (size_t k = 0; k < r->out.inv.nnotes; k++)
			inv_add_note(&all->inv, "%s", r->out.inv.notes[k]);
		for (size_t k = 0; k < r->out.inv.ncontent_sets; k++)
			inv_add_content_set(&all->inv,
					    r->out.inv.content_sets[k]);
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
	inv->fs_layers = w->fs_layers;
	inv->os = all.inv.os;
	memset(&all.inv.os, 0, sizeof(all.inv.os));
	for (size_t i = 0; i < all.inv.npkgs; i++)
		if (!drop[i])
			inv_add_pkg(inv, &all.inv.pkgs[i]);
	for (size_t i = 0; i < all.inv.nnotes; i++)
		inv_add_note(inv, "%s", all.inv.notes[i]);
	for (size_t i = 0; i < all.inv.ncontent_sets; i++)
		inv_add_content_set(inv, all.inv.content_sets[i]);
	free(drop);
	det_out_release(&all);
	vec_release(w, &w->all);
	inv_release(&w->notes);
}

/* --- Per-layer indexes ----------------------------------------------------
 *
 * A layer read alone is kept as JSON; replaying the indexes of an image's
 * layers in order (layer_walk_import()) leaves the walk as reading the
 * layers would.  Detector kinds are named, so that a new kind does not
 * shift the stored ones. */

static const char *const layer_kind_names[] = {
	[DET_NONE] = "none",
	[DET_OSRELEASE] = "os-release",
	[DET_ALPINE_RELEASE] = "alpine-release",
	[DET_DPKG] = "dpkg",
	[DET_DPKG_D] = "dpkg.d",
	[DET_APK] = "apk",
	[DET_RPM_SQLITE] = "rpm-sqlite",
	[DET_RPM_BDB] = "rpm-bdb",
	[DET_RPM_NDB] = "rpm-ndb",
	[DET_PYTHON] = "python",
	[DET_NPM_LOCK] = "npm-lock",
	[DET_NPM_PKG] = "npm-pkg",
	[DET_JAVA] = "java",
	[DET_GO] = "go",
	[DET_NODE] = "node",
	[DET_PYTHON_RT] = "python-runtime",
	[DET_JAVA_RELEASE] = "java-release",
	[DET_CONTENT_MANIFEST] = "content-manifest",
};
#define LAYER_NKINDS (sizeof(layer_kind_names) / sizeof(layer_kind_names[0]))

static json_t *layer_kind_json(enum det_kind k)
{
	char n[32];

	if ((size_t)k < LAYER_NKINDS && layer_kind_names[k])
		return json_string(layer_kind_names[k]);
	snprintf(n, sizeof(n), "k%d", (int)k);
	return json_string(n);
}

static enum det_kind layer_kind_parse(const char *s)
{
	for (size_t i = 0; s && i < LAYER_NKINDS; i++)
		if (layer_kind_names[i] && !strcmp(layer_kind_names[i], s))
			return (enum det_kind)i;
	if (s && s[0] == 'k')
		return (enum det_kind)strtol(s + 1, NULL, 10);
	return DET_NONE;
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *layer_res_json(const struct cand_res *r)
{
	const struct scan_inventory *inv = &r->out.inv;
	json_t *o = json_object(), *pkgs = json_array(), *notes = json_array();

	json_object_set_new(o, "k", layer_kind_json(r->kind));
	json_object_set_new(o, "key", json_string(r->key));
	if (inv->os.id || inv->os.version_id)
		json_object_set_new(
			o, "os",
			json_pack("{s:o, s:o, s:o, s:o}", "id",
				  jstr_or_null(inv->os.id), "version_id",
				  jstr_or_null(inv->os.version_id),
				  "pretty_name",
				  jstr_or_null(inv->os.pretty_name), "codename",
				  jstr_or_null(inv->os.codename)));
	for (size_t i = 0; i < inv->npkgs; i++) {
		const struct scan_pkg *p = &inv->pkgs[i];

		json_t *pj = json_pack(
			"{s:s, s:o, s:o, s:o, s:o, s:o}", "e",
			scan_eco_name(p->eco), "n", jstr_or_null(p->name), "v",
			jstr_or_null(p->version), "sn",
			jstr_or_null(p->src_name), "sv",
			jstr_or_null(p->src_version), "loc",
			jstr_or_null(r->out.loc ? r->out.loc[i] : NULL));

		/* How a package not read from a database was identified. */
		if (p->conf != SCAN_CONF_HIGH) {
			json_object_set_new(pj, "c", json_integer(p->conf));
			json_object_set_new(pj, "ev",
					    jstr_or_null(p->evidence));
		}
		json_array_append_new(pkgs, pj);
	}
	for (size_t i = 0; i < inv->nnotes; i++)
		json_array_append_new(notes, json_string(inv->notes[i]));
	if (inv->ncontent_sets) {
		json_t *cs = json_array();

		for (size_t i = 0; i < inv->ncontent_sets; i++)
			json_array_append_new(
				cs, json_string(inv->content_sets[i]));
		json_object_set_new(o, "cs", cs);
	}
	json_object_set_new(o, "pkgs", pkgs);
	json_object_set_new(o, "notes", notes);
	return o;
}

void layer_walk_record(struct layer_walk *w)
{
	json_decref(w->rec);
	w->rec = json_array();
}

json_t *layer_walk_export(struct layer_walk *w)
{
	json_t *files = json_array(), *notes = json_array(), *o;

	layer_commit(w);
	for (size_t i = 0; i < w->all.n; i++) {
		const struct cand *c = w->all.v[i];
		static const char *const types[] = {"f", "l", "h"};

		o = c->type == CAND_FILE ? layer_res_json(c->res)
					 : json_object();
		json_object_set_new(o, "p", json_string(c->path));
		json_object_set_new(o, "t", json_string(types[c->type]));
		if (c->type != CAND_FILE) {
			json_object_set_new(o, "k", layer_kind_json(c->kind));
			json_object_set_new(o, "to", jstr_or_null(c->target));
		}
		json_array_append_new(files, o);
	}
	for (size_t i = 0; i < w->notes.nnotes; i++)
		json_array_append_new(notes, json_string(w->notes.notes[i]));
	return json_pack("{s:b, s:O, s:o, s:o}", "fs", w->fs_layers > 0, "rm",
			 w->rec ? w->rec : json_array(), "files", files,
			 "notes", notes);
}

static const char *layer_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A file's result from its index entry, or one it shares by content. */
static struct cand_res *layer_res_import(struct layer_walk *w, struct cand *c,
					 const json_t *f)
{
	const char *key = layer_jstr(f, "key");
	const json_t *os = json_object_get(f, "os"), *p, *n;
	struct cand_res *r;
	size_t i;

	if (key && strlen(key) == 64) {
		r = res_find(w, c->kind, key);
		if (r) {
			r->refs++;
			c->layer = xstrdup(w->layer);
			return r;
		}
	}
	r = res_new(w, c->kind, key && strlen(key) == 64 ? key : NULL);
	if (json_is_object(os) && layer_jstr(os, "id")) {
		r->out.inv.os.id = xstrdup(layer_jstr(os, "id"));
		r->out.inv.os.version_id =
			dup_or_null(layer_jstr(os, "version_id"));
		r->out.inv.os.pretty_name =
			dup_or_null(layer_jstr(os, "pretty_name"));
		r->out.inv.os.codename =
			dup_or_null(layer_jstr(os, "codename"));
	} else if (json_is_object(os)) {
		r->out.inv.os.version_id =
			dup_or_null(layer_jstr(os, "version_id"));
	}
	json_array_foreach(json_object_get(f, "pkgs"), i, p) {
		struct scan_pkg pk = {
			.eco = eco_by_name(layer_jstr(p, "e")),
			.name = (char *)layer_jstr(p, "n"),
			.version = (char *)layer_jstr(p, "v"),
			.src_name = (char *)layer_jstr(p, "sn"),
			.src_version = (char *)layer_jstr(p, "sv"),
			.layer = (char *)w->layer,
			.path = c->path,
			.evidence = (char *)layer_jstr(p, "ev"),
		};
		json_int_t conf = json_integer_value(json_object_get(p, "c"));

		if (conf > SCAN_CONF_HIGH && conf <= SCAN_CONF_LOW)
			pk.conf = (enum scan_conf)conf;

		if (pk.name && pk.version)
			det_out_add(&r->out, &pk, layer_jstr(p, "loc"));
	}
	json_array_foreach(json_object_get(f, "notes"), i, n)
		if (json_is_string(n))
			inv_add_note(&r->out.inv, "%s", json_string_value(n));
	json_array_foreach(json_object_get(f, "cs"), i, n)
		inv_add_content_set(&r->out.inv, json_string_value(n));
	res_charge(w, r);
	return r;
}

int layer_walk_import(struct layer_walk *w, const json_t *idx,
		      const char *digest, struct err *e)
{
	const json_t *rm = json_object_get(idx, "rm"), *files, *x;
	size_t i;

	files = json_object_get(idx, "files");
	if (!json_is_array(rm) || !json_is_array(files))
		return err_set(e, ERR_INVALID, "layer %s: malformed index",
			       digest);
	w->layer = digest;
	json_array_foreach(rm, i, x) {
		const char *how = json_string_value(json_array_get(x, 0));
		const char *path = json_string_value(json_array_get(x, 1));

		if (!how || !path)
			continue;
		if (how[0] == 'u')
			remove_under(w, path);
		else if (how[0] == 'x')
			remove_exact(w, path);
		else
			remove_tree(w, path);
	}
	json_array_foreach(files, i, x) {
		const char *path = layer_jstr(x, "p"), *t = layer_jstr(x, "t");
		enum cand_type type;
		struct cand *c;

		if (!path || !t || !*path)
			continue;
		type = t[0] == 'l'   ? CAND_LINK
		       : t[0] == 'h' ? CAND_HARDLINK
				     : CAND_FILE;
		remove_tree(w, path);
		c = cand_new(w, path, type,
			     layer_kind_parse(layer_jstr(x, "k")));
		if (type == CAND_FILE)
			c->res = layer_res_import(w, c, x);
		else
			c->target = dup_or_null(layer_jstr(x, "to"));
	}
	json_array_foreach(json_object_get(idx, "notes"), i, x)
		if (json_is_string(x))
			layer_walk_note(w, "%s", json_string_value(x));
	if (json_is_true(json_object_get(idx, "fs")))
		w->fs_layers++;
	layer_commit(w);
	w->layer = NULL;
	w->layers++;
	return 0;
}
