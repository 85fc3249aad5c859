/* proxy.c: the pull-through cache's setup, which names go where, the
 * dispatch hook, and how fresh each pulled tag is. */
#include "registry/proxy/proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/reply_int.h"
#include "common/banned.h"

/* --- Setup ------------------------------------------------------------------
 */

static int px_remote_cmp(const void *a, const void *b)
{
	const struct ups_remote *x = a, *y = b;
	size_t lx = strlen(x->prefix), ly = strlen(y->prefix);

	return lx == ly ? strcmp(x->prefix, y->prefix) : (lx > ly ? -1 : 1);
}

static int px_add_remote(struct reg_proxy *p, const struct cfg *cfg,
			 const char *text, bool mirror, struct err *e)
{
	const struct cfg_list *allow = &cfg->upstream_redirect_allow;
	struct ups_remote r;

	if (ups_remote_parse(text, mirror, &r, e) < 0)
		return -1;
	for (size_t i = 0; i < allow->n; i++) {
		if (ups_remote_allow(&r, allow->v[i], e) < 0) {
			ups_remote_release(&r);
			return -1;
		}
	}
	for (size_t i = 0; i < p->nremotes; i++) {
		if (!strcmp(p->remotes[i].prefix, r.prefix)) {
			err_set(e, ERR_INVALID, "two upstreams for %s",
				mirror ? "--mirror" : r.prefix);
			ups_remote_release(&r);
			return -1;
		}
	}
	p->remotes = xrealloc(p->remotes, (p->nremotes + 1) * sizeof(r));
	p->remotes[p->nremotes++] = r;
	return 0;
}

static void px_log_remotes(const struct reg_proxy *p)
{
	for (size_t i = 0; i < p->nremotes; i++) {
		const struct ups_remote *r = &p->remotes[i];

		bool ported = r->ns && strchr(r->ns, ':');

		log_msg(LL_INFO, "pull-through: %s%s%s%s%s -> %s%s%s%s",
			r->prefix[0] ? r->prefix : "every name",
			r->prefix[0] ? "*" : "", ported ? " (?ns=" : "",
			ported ? r->ns : "", ported ? ")" : "", r->url,
			r->username ? " (with credentials)" : "",
			r->ca ? " (own CA bundle)" : "",
			r->nallow ? " (redirect allow list)" : "");
	}
}

int reg_proxy_new(const struct cfg *cfg, struct stor *st,
		  struct reg_proxy **out, struct err *e)
{
	struct reg_proxy *p;

	*out = NULL;
	if (!cfg->mirror && !cfg->upstream.n)
		return 0;
	p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->st = st;
	p->ttl = cfg->proxy_ttl;
	p->max_manifest = cfg->max_manifest;
	p->max_blob = cfg->max_blob;
	p->data = xstrdup(cfg->data);
	if (cfg->mirror && px_add_remote(p, cfg, cfg->mirror, true, e) < 0)
		goto fail;
	for (size_t i = 0; i < cfg->upstream.n; i++)
		if (px_add_remote(p, cfg, cfg->upstream.v[i], false, e) < 0)
			goto fail;
	qsort(p->remotes, p->nremotes, sizeof(*p->remotes), px_remote_cmp);
	p->ups = ups_new(cfg->proxy_workers, cfg->upstream_timeout, e);
	if (!p->ups)
		goto fail;
	px_log_remotes(p);
	*out = p;
	return 0;
fail:
	reg_proxy_free(p);
	return -1;
}

void reg_proxy_stop(struct reg_proxy *p)
{
	if (!p || !p->ups)
		return;
	ups_cancel(p->ups);
	ups_free(p->ups);
	p->ups = NULL;
}

void reg_proxy_free(struct reg_proxy *p)
{
	if (!p)
		return;
	reg_proxy_stop(p);
	for (size_t i = 0; i < p->nremotes; i++)
		ups_remote_release(&p->remotes[i]);
	free(p->remotes);
	free(p->data);
	px_fresh_free(p);
	px_partials_free(p);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* --- Names ------------------------------------------------------------------
 */

bool px_lookup(const struct reg_proxy *p, const char *name, struct px_map *m)
{
	for (size_t i = 0; i < p->nremotes; i++) {
		const struct ups_remote *r = &p->remotes[i];
		size_t plen = strlen(r->prefix);
		const char *rest = name + plen;

		if (plen && (strncmp(name, r->prefix, plen) || !*rest))
			continue;
		m->r = r;
		snprintf(m->local, sizeof(m->local), "%s", name);
		/* Docker Hub keeps its official images under library/. */
		snprintf(m->remote, sizeof(m->remote), "%s%s",
			 r->docker_hub && !strchr(rest, '/') ? "library/" : "",
			 rest);
		return true;
	}
	return false;
}

void reg_proxy_map(struct reg_call *c)
{
	struct reg_proxy *p = c->ctx->proxy;
	const char *ns;
	char name[REG_NAME_MAX + 1];

	if (!p || !c->name[0])
		return;
	ns = http_req_query_param(c->req, "ns");
	if (!ns || !*ns)
		return;
	for (size_t i = 0; i < p->nremotes; i++) {
		const struct ups_remote *r = &p->remotes[i];

		if (!r->ns || strcasecmp(r->ns, ns))
			continue;
		if ((size_t)snprintf(name, sizeof(name), "%s%s", r->prefix,
				     c->name) >= sizeof(name))
			return; /* too long to prefix: left as it is */
		memcpy(c->name, name, sizeof(name));
		http_reply_header(c->req, "OCI-Namespace", r->ns);
		return;
	}
}

static bool px_is_push(reg_handler_fn h)
{
	return h == api_manifest_put || h == api_upload_start ||
	       h == api_upload_status || h == api_upload_patch ||
	       h == api_upload_put || h == api_upload_cancel;
}

enum reg_status reg_proxy_phase(struct reg_call *c)
{
	struct reg_proxy *p = c->ctx->proxy;
	reg_handler_fn handler = c->route->handler;
	struct px_map m;

	if (!p || !c->name[0] || !px_lookup(p, c->name, &m))
		return REG_CONTINUE;
	/* The cache replies, now or once it has what was asked for. */
	if (handler == api_manifest_get) {
		px_manifest_get(p, c, &m);
		return REG_DEFERRED;
	}
	if (handler == api_blob_get) {
		px_blob_get(p, c, &m);
		return REG_DEFERRED;
	}
	/* Lists, deletes (cache eviction) and scans are the store's. */
	if (!px_is_push(handler))
		return REG_CONTINUE;
	if (!m.r->prefix[0])
		reg_reply_errorf(c->req, ERR_UNSUPPORTED,
				 "this registry is a pull-through cache of %s "
				 "and takes no pushes",
				 m.r->host);
	else
		reg_reply_errorf(c->req, ERR_UNSUPPORTED,
				 "%s is pulled through %s and takes no pushes;"
				 " push to a name outside %s",
				 c->name, m.r->host, m.r->prefix);
	return REG_DONE;
}

/* --- Counters ---------------------------------------------------------------
 */

_Static_assert(REG_PROXY_NERRORS == UPS_NFAILS,
	       "proxy.h's error count follows upstream.h's");

void px_count(struct reg_proxy *p, enum reg_proxy_kind k,
	      enum reg_proxy_result r)
{
	atomic_fetch_add_explicit(&p->served[k][r], 1, memory_order_relaxed);
}

void reg_proxy_stats(struct reg_proxy *p, struct reg_proxy_stats *out)
{
	struct ups_stats u;

	memset(out, 0, sizeof(*out));
	if (!p)
		return;
	for (size_t k = 0; k < REG_PROXY_NKINDS; k++)
		for (size_t r = 0; r < REG_PROXY_NRESULTS; r++)
			out->requests[k][r] = atomic_load_explicit(
				&p->served[k][r], memory_order_relaxed);
	ups_stats(p->ups, &u);
	out->upstream_transfers = u.transfers;
	out->upstream_bytes = u.bytes;
	for (size_t i = 0; i < UPS_NFAILS; i++)
		out->upstream_errors[i] = u.fails[i];
}

const char *reg_proxy_error_name(size_t i)
{
	return ups_fail_name((enum ups_fail)i);
}

/* --- Freshness --------------------------------------------------------------
 */

static size_t px_fresh_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % PX_FRESH_BUCKETS;
}

static struct px_fresh *px_fresh_find(struct reg_proxy *p, const char *key)
{
	struct px_fresh *f;

	for (f = p->fresh[px_fresh_hash(key)]; f; f = f->next)
		if (!strcmp(f->key, key))
			return f;
	return NULL;
}

bool px_fresh(struct reg_proxy *p, const char *repo, const char *tag)
{
	char key[REG_NAME_MAX + REG_TAG_MAX + 2];
	struct px_fresh *f;
	bool yes;

	snprintf(key, sizeof(key), "%s:%s", repo, tag);
	pthread_mutex_lock(&p->lock);
	f = px_fresh_find(p, key);
	yes = f && f->until > time(NULL);
	pthread_mutex_unlock(&p->lock);
	return yes;
}

void px_fresh_set(struct reg_proxy *p, const char *repo, const char *tag,
		  bool confirmed)
{
	char key[REG_NAME_MAX + REG_TAG_MAX + 2];
	int64_t s = confirmed || p->ttl < PX_RETRY_S ? p->ttl : PX_RETRY_S;
	struct px_fresh *f;
	size_t b;

	snprintf(key, sizeof(key), "%s:%s", repo, tag);
	pthread_mutex_lock(&p->lock);
	f = px_fresh_find(p, key);
	if (!f) {
		/* Forgetting only costs a HEAD each. */
		if (p->nfresh >= PX_FRESH_MAX)
			px_fresh_free(p);
		b = px_fresh_hash(key);
		f = xcalloc(1, sizeof(*f) + strlen(key) + 1);
		memcpy(f->key, key, strlen(key) + 1);
		f->next = p->fresh[b];
		p->fresh[b] = f;
		p->nfresh++;
	}
	f->until = time(NULL) + s;
	pthread_mutex_unlock(&p->lock);
}

void px_fresh_free(struct reg_proxy *p)
{
	struct px_fresh *f, *next;

	for (size_t b = 0; b < PX_FRESH_BUCKETS; b++) {
		for (f = p->fresh[b]; f; f = next) {
			next = f->next;
			free(f);
		}
		p->fresh[b] = NULL;
	}
	p->nfresh = 0;
}
