/* api_list.c: the base endpoint and the lists: tags, catalog, referrers. */
#include "registry/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "registry/authz.h"
#include "registry/reply.h"
#include "common/banned.h"

/* Largest page we hand out at once; a bigger n gets this many and a Link
 * to the rest (the spec allows fewer than n when a Link is given). */
#define LIST_MAX_N 10000

void api_base(struct reg_call *c)
{
	reg_reply_json(c->req, 200, json_object());
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

void api_tags_list(struct reg_call *c)
{
	struct err e = ERR_INIT;
	const char *last;
	char **tags = NULL, *base;
	size_t count = 0;
	bool more = false;
	long n;

	if (!list_page(c, true, &n, &last))
		return;
	if (stor_tags_list(c->ctx->st, c->name, last, n, &tags, &count, &more,
			   &e) < 0) {
		reg_reply_error(c->req, &e);
		return;
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
}

void api_catalog(struct reg_call *c)
{
	struct err e = ERR_INIT;
	const char *last;
	char **repos = NULL;
	size_t count = 0, shown;
	bool more = false;
	long n;

	if (!list_page(c, false, &n, &last))
		return;
	if (stor_catalog(c->ctx->st, last, n, &repos, &count, &more, &e) < 0) {
		reg_reply_error(c->req, &e);
		return;
	}
	if (more && n > 0)
		list_link(c, "/v2/_catalog", repos[count - 1], n);
	/* Only what the caller may pull; the page may come out short (the
	 * Link still goes on from where storage stopped). */
	shown = reg_authz_catalog(c, repos, count);
	reg_reply_json(
		c->req, 200,
		json_pack("{s:o}", "repositories", list_strings(repos, shown)));
	stor_strv_free(repos, count);
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

void api_referrers(struct reg_call *c)
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
		return;
	}
	list = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(list, list_referrer(&descs[i]));
	stor_desc_free(descs, count);
	if (filter)
		http_reply_header(c->req, "OCI-Filters-Applied",
				  "artifactType");
	reg_reply_json_type(
		c->req, 200, "application/vnd.oci.image.index.v1+json",
		json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
			  "application/vnd.oci.image.index.v1+json",
			  "manifests", list));
	free(filter);
}
