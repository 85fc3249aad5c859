/* api_list.c: the base endpoint and the lists: tags, catalog, referrers. */
#include "registry/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "registry/authz_int.h"
#include "registry/reply_int.h"
#include "common/banned.h"

/* Largest page we hand out at once; a bigger n gets this many and a Link
 * to the rest (the spec allows fewer than n when a Link is given). */
#define LIST_MAX_N 10000
/* Fewest names read from storage at once while filling a catalog page
 * past names the caller may not pull. */
#define LIST_CATALOG_BATCH 100

enum reg_status api_base(struct reg_call *c)
{
	reg_reply_json(c->req, 200, json_object());
	return REG_DONE;
}

/* Reads n and last; false if a reply (an error) was sent. */
static bool list_page(struct reg_call *c, bool is_tag, long *n,
		      const char **last)
{
	struct err e = ERR_INIT;

	*last = http_req_query_param(c->req, "last");
	if (reg_parse_page_n(http_req_query_param(c->req, "n"), LIST_MAX_N, n,
			     &e) < 0 ||
	    reg_parse_last(*last, is_tag, &e) < 0) {
		reg_reply_error(c->req, &e);
		return false;
	}
	if (*last && !**last)
		*last = NULL;
	return true;
}

/* Link: <base?last=X&n=N>; rel="next".  Tags and names need no escaping
 * in a query ([a-zA-Z0-9._/-]). */
static void list_link(struct reg_call *c, const char *base, const char *last,
		      long n)
{
	struct buf b = BUF_INIT;

	if (buf_addf(&b, "<%s?last=%s&n=%ld>; rel=\"next\"", base, last, n) ==
	    0)
		http_reply_header(c->req, "Link", b.buf);
	buf_release(&b);
}

static json_t *list_strings(char **v, size_t count)
{
	json_t *a = json_array();

	for (size_t i = 0; i < count; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

enum reg_status api_tags_list(struct reg_call *c)
{
	struct err e = ERR_INIT;
	const char *last;
	char **tags = NULL, *base;
	size_t count = 0;
	bool more = false;
	long n;

	if (!list_page(c, true, &n, &last))
		return REG_DONE;
	if (stor_tags_list(c->ctx->st, c->name, last, n, &tags, &count, &more,
			   &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	if (more && n > 0) {
		base = xasprintf("/v2/%s/tags/list", c->name);
		list_link(c, base, tags[count - 1], n);
		free(base);
	}
	reg_reply_json(c->req, 200,
		       json_pack("{s:s, s:o}", "name", c->name, "tags",
				 list_strings(tags, count)));
	stor_strv_free(tags, count);
	return REG_DONE;
}

/* Repository names; v and each name are the owner's. */
struct list_names {
	char **v;
	size_t n;
};

/* Names after `last` the caller may pull, in order, at most max + 1 (the
 * extra one says a next page exists; max < 0: all).  Storage is read in
 * batches past the names the caller may not pull, so that neither the
 * page nor its Link tells of one.  out is filled even on failure (free
 * it with stor_strv_free()). */
static int list_catalog_visible(struct reg_call *c, const char *last, long max,
				struct list_names *out, struct err *e)
{
	char *cursor = last ? xstrdup(last) : NULL, **repos;
	long batch = max < 0			? -1
		     : max < LIST_CATALOG_BATCH ? LIST_CATALOG_BATCH
						: max + 1;
	size_t count, shown;
	bool more = true;
	int ret = -1;

	out->v = NULL;
	out->n = 0;
	while (more && (max < 0 || out->n <= (size_t)max)) {
		repos = NULL;
		count = 0;
		if (stor_catalog(c->ctx->st, cursor, batch, &repos, &count,
				 &more, e) < 0)
			goto out;
		if (count) {
			free(cursor);
			cursor = xstrdup(repos[count - 1]);
		}
		shown = reg_authz_catalog(c, repos, count);
		out->v =
			xrealloc(out->v, (out->n + shown + 1) * sizeof(char *));
		for (size_t i = 0; i < count; i++) {
			if (i < shown && (max < 0 || out->n <= (size_t)max)) {
				out->v[out->n++] = repos[i];
				repos[i] = NULL;
			}
			free(repos[i]);
		}
		free(repos);
		if (!count)
			break;
	}
	ret = 0;
out:
	free(cursor);
	return ret;
}

enum reg_status api_catalog(struct reg_call *c)
{
	struct list_names names = {0};
	struct err e = ERR_INIT;
	const char *last;
	size_t shown;
	long n;

	if (!list_page(c, false, &n, &last))
		return REG_DONE;
	if (n != 0 && list_catalog_visible(c, last, n, &names, &e) < 0) {
		reg_reply_error(c->req, &e);
		stor_strv_free(names.v, names.n);
		return REG_DONE;
	}
	shown = names.n;
	/* One more than asked for: there is a next page, of names the
	 * caller may pull. */
	if (n > 0 && names.n > (size_t)n) {
		shown = (size_t)n;
		list_link(c, "/v2/_catalog", names.v[shown - 1], n);
	}
	reg_reply_json(c->req, 200,
		       json_pack("{s:o}", "repositories",
				 list_strings(names.v, shown)));
	stor_strv_free(names.v, names.n);
	return REG_DONE;
}

/* One descriptor of the referrers index. */
static json_t *list_referrer(const struct stor_desc *d)
{
	char dg[DIGEST_STR_MAX];
	json_t *o, *ann;

	o = json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest",
		      digest_str(&d->digest, dg), "size", (json_int_t)d->size);
	if (!o)
		return NULL;
	if (d->artifact_type)
		json_object_set_new(o, "artifactType",
				    json_string(d->artifact_type));
	if (d->annotations_json) {
		ann = json_loads(d->annotations_json, 0, NULL);
		if (json_is_object(ann))
			json_object_set_new(o, "annotations", ann);
		else
			json_decref(ann);
	}
	return o;
}

/* The artifactType filter.  Query decoding turns '+' into ' ', but media
 * types are full of '+' ("...+json") and never hold a space, so a client
 * that did not escape its '+' still gets what it meant.  NULL: none. */
static char *list_filter(struct reg_call *c)
{
	const char *q = http_req_query_param(c->req, "artifactType");
	char *f;

	if (!q || !*q)
		return NULL;
	f = xstrdup(q);
	for (char *p = f; *p; p++)
		if (*p == ' ')
			*p = '+';
	return f;
}

enum reg_status api_referrers(struct reg_call *c)
{
	char *filter = list_filter(c);
	struct stor_desc *descs = NULL;
	struct err e = ERR_INIT;
	size_t count = 0;
	json_t *list;

	/* The spec forbids a 404 here: an unknown repository or subject is
	 * an empty list. */
	if (stor_referrers(c->ctx->st, c->name, &c->digest, filter, &descs,
			   &count, &e) < 0 &&
	    e.code != ERR_NAME_UNKNOWN && e.code != ERR_MANIFEST_UNKNOWN) {
		reg_reply_error(c->req, &e);
		free(filter);
		return REG_DONE;
	}
	list = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(list, list_referrer(&descs[i]));
	stor_desc_free(descs, count);
	if (filter)
		http_reply_header(c->req, "OCI-Filters-Applied",
				  "artifactType");
	reg_reply_json_type(c->req, 200, OCI_MT_INDEX,
			    json_pack("{s:i, s:s, s:o}", "schemaVersion", 2,
				      "mediaType", OCI_MT_INDEX, "manifests",
				      list));
	free(filter);
	return REG_DONE;
}
