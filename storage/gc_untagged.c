/* gc_untagged.c: `gc --gc-untagged`, the manifests no tag reaches.
 *
 * One repository at a time (memory grows with the largest repository, not
 * the store): its manifests are the nodes; a manifest reaches the children
 * it lists (index platforms), its referrers (signatures, SBOMs, scan
 * reports) and its subject.  Tagged manifests and those younger than the
 * grace period are the roots.  What is not reached is deleted, each after
 * a check under the exclusive pin that nothing new holds it: a tag pushed
 * since, an index listing it, a referrer or subject outside the doomed
 * set.
 */
#include "storage/gc_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

struct ut_node {
	struct digest dg;
	int64_t size, created;
	bool reached;
};

struct ut_edge {
	struct digest from, to;
};

struct ut_repo {
	const char *name;
	struct ut_node *nodes;
	size_t nnodes, anodes;
	struct ut_edge *edges;
	size_t nedges, aedges;
	struct digest *roots;
	size_t nroots, aroots;
};

static int ut_node_cmp(const void *a, const void *b)
{
	return digest_cmp(&((const struct ut_node *)a)->dg,
			  &((const struct ut_node *)b)->dg);
}

static int ut_edge_cmp(const void *a, const void *b)
{
	return digest_cmp(&((const struct ut_edge *)a)->from,
			  &((const struct ut_edge *)b)->from);
}

static void *ut_grow(void *v, size_t n, size_t *alloc, size_t size)
{
	if (n < *alloc)
		return v;
	*alloc = *alloc ? 2 * *alloc : 16;
	return xrealloc(v, *alloc * size);
}

static void ut_edge_add(struct ut_repo *r, const struct digest *from,
			const struct digest *to)
{
	r->edges = ut_grow(r->edges, r->nedges, &r->aedges, sizeof(*r->edges));
	r->edges[r->nedges].from = *from;
	r->edges[r->nedges].to = *to;
	r->nedges++;
}

static void ut_root_add(struct ut_repo *r, const struct digest *dg)
{
	r->roots = ut_grow(r->roots, r->nroots, &r->aroots, sizeof(*r->roots));
	r->roots[r->nroots++] = *dg;
}

struct ut_load {
	struct ut_repo *r;
	int64_t cutoff;
};

static int ut_load_manifest(void *arg, const struct stor_row *row,
			    struct err *e)
{
	struct ut_load *l = arg;
	struct ut_repo *r = l->r;
	struct ut_node *n;

	(void)e;
	r->nodes = ut_grow(r->nodes, r->nnodes, &r->anodes, sizeof(*r->nodes));
	n = &r->nodes[r->nnodes++];
	memset(n, 0, sizeof(*n));
	n->dg = row->digest;
	n->size = row->size;
	n->created = row->created;
	if (row->has_other) {
		/* A referrer and its subject keep each other. */
		ut_edge_add(r, &row->digest, &row->other);
		ut_edge_add(r, &row->other, &row->digest);
	}
	if (row->created > l->cutoff)
		ut_root_add(r, &row->digest);
	return 0;
}

static int ut_load_ref(void *arg, const struct stor_row *row, struct err *e)
{
	struct ut_load *l = arg;

	(void)e;
	ut_edge_add(l->r, &row->digest, &row->other);
	return 0;
}

static int ut_load_tag(void *arg, const struct stor_row *row, struct err *e)
{
	struct ut_load *l = arg;

	(void)e;
	ut_root_add(l->r, &row->digest);
	return 0;
}

static struct ut_node *ut_find(struct ut_repo *r, const struct digest *dg)
{
	struct ut_node key;

	key.dg = *dg;
	return bsearch(&key, r->nodes, r->nnodes, sizeof(*r->nodes),
		       ut_node_cmp);
}

/* Marks everything reachable from the roots (the roots array doubles as
 * the work list). */
static void ut_mark(struct ut_repo *r)
{
	struct ut_edge key, *ed;
	struct ut_node *n;
	struct digest dg;

	while (r->nroots) {
		dg = r->roots[--r->nroots];
		n = ut_find(r, &dg);
		if (!n || n->reached)
			continue;
		n->reached = true;
		key.from = dg;
		ed = bsearch(&key, r->edges, r->nedges, sizeof(*r->edges),
			     ut_edge_cmp);
		if (!ed)
			continue;
		while (ed > r->edges && !digest_cmp(&ed[-1].from, &dg))
			ed--;
		for (; ed < r->edges + r->nedges && !digest_cmp(&ed->from, &dg);
		     ed++)
			ut_root_add(r, &ed->to);
	}
}

struct ut_check {
	struct stor_gc_run *g;
	const char *repo;
	const struct stor_sset *doomed;
	bool held;
};

/* A relation keeps the manifest unless its other end is doomed too. */
static int ut_relation(void *arg, const struct stor_row *row, struct err *e)
{
	struct ut_check *c = arg;
	char key[STOR_MF_KEY_MAX];

	(void)e;
	if (row->rel == STOR_REL_TAG) {
		c->held = true;
		return 1;
	}
	if (!row->has_other ||
	    stor_sset_has(c->doomed, stor_mf_key(c->repo, &row->other, key)))
		return 0;
	/* A subject is only a manifest once pushed. */
	if (row->rel == STOR_REL_SUBJECT &&
	    !stor_manifest_exists(c->g->st, c->repo, &row->other))
		return 0;
	c->held = true;
	return 1;
}

static int ut_delete(struct stor_gc_run *g, const char *repo,
		     const struct ut_node *n, const struct stor_sset *doomed,
		     bool *deleted, struct err *e)
{
	struct ut_check c = {g, repo, doomed, false};
	struct err e2 = ERR_INIT;
	int pin, ret = -1;

	*deleted = false;
	if (stor_pin(g->st, true, &pin, e) < 0)
		return -1;
	if (g->m->maint->mf_relations(g->m, repo, &n->dg, ut_relation, &c, e) <
	    0)
		goto out;
	if (!c.held) {
		if (stor_manifest_delete(g->st, repo, &n->dg, &e2) < 0) {
			if (e2.code != ERR_MANIFEST_UNKNOWN) {
				err_set(e, e2.code, "%s", e2.msg);
				goto out;
			}
		} else {
			*deleted = true;
		}
	}
	ret = 0;
out:
	stor_unpin(pin);
	/* Its scan job and report, unless another repository has it. */
	if (*deleted && stor_scan_forget(g->st, &n->dg, &e2) < 0)
		ret = err_set(e, e2.code, "%s", e2.msg);
	return ret;
}

static int ut_sweep(struct stor_gc_run *g, struct ut_repo *r, struct err *e)
{
	struct stor_sset *doomed = stor_sset_new();
	char key[STOR_MF_KEY_MAX];
	bool deleted;
	int ret = -1;

	for (size_t i = 0; i < r->nnodes; i++)
		if (!r->nodes[i].reached)
			stor_sset_add(
				doomed,
				stor_mf_key(r->name, &r->nodes[i].dg, key));
	for (size_t i = 0; i < r->nnodes && !stor_gc_stopping(g); i++) {
		struct ut_node *n = &r->nodes[i];

		if (n->reached)
			continue;
		stor_mf_key(r->name, &n->dg, key);
		if (g->o->dry_run) {
			if (!g->gone)
				g->gone = stor_sset_new();
			stor_sset_add(g->gone, key);
			deleted = true;
		} else if (ut_delete(g, r->name, n, doomed, &deleted, e) < 0) {
			goto out;
		}
		if (!deleted)
			continue;
		g->s->manifests++;
		stor_gc_note(g, "manifest", key, n->size);
	}
	ret = 0;
out:
	stor_sset_free(doomed);
	return ret;
}

static int ut_repo(struct stor_gc_run *g, const char *name, struct err *e)
{
	struct ut_repo r = {0};
	struct ut_load l = {&r, g->cutoff};
	int ret = -1;

	r.name = name;
	if (g->m->maint->list(g->m, STOR_LIST_MANIFESTS, name, ut_load_manifest,
			      &l, e) < 0 ||
	    g->m->maint->list(g->m, STOR_LIST_REFS, name, ut_load_ref, &l, e) <
		    0 ||
	    g->m->maint->list(g->m, STOR_LIST_TAGS, name, ut_load_tag, &l, e) <
		    0)
		goto out;
	qsort(r.nodes, r.nnodes, sizeof(*r.nodes), ut_node_cmp);
	qsort(r.edges, r.nedges, sizeof(*r.edges), ut_edge_cmp);
	ut_mark(&r);
	ret = ut_sweep(g, &r, e);
out:
	free(r.nodes);
	free(r.edges);
	free(r.roots);
	return ret;
}

int stor_gc_untagged(struct stor_gc_run *g, struct err *e)
{
	char **repos = NULL;
	size_t n = 0;
	bool more;
	int ret = -1;

	if (g->m->ops->catalog(g->m, NULL, -1, &repos, &n, &more, e) < 0)
		return -1;
	for (size_t i = 0; i < n && !stor_gc_stopping(g); i++)
		if (ut_repo(g, repos[i], e) < 0)
			goto out;
	ret = 0;
out:
	stor_strv_free(repos, n);
	return ret;
}
