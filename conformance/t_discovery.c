/* t_discovery.c: §Listing Tags (end-8a/8b) and the catalog. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixtures.h"

/* The tags these tests push, in the order they must be listed. */
static const char *const tag_names[] = {"ls-a", "ls-b", "ls-c", "ls-d", "ls-e"};
#define NTAGS (sizeof(tag_names) / sizeof(*tag_names))

/* Pushed once (one image, five tags, out of order); later calls reuse. */
static int push_tags(struct ct *t)
{
	static int state; /* 0 not yet, 1 done, -1 failed */
	static const int order[NTAGS] = {2, 4, 0, 3, 1};
	struct fx_manifest m;

	if (state)
		return state > 0 ? 0 : ct_fail(t, "pushing the tags failed");
	state = -1;
	if (fx_push_image(t, ct_cfg(t)->ns, fx_tag(t, tag_names[order[0]]),
			  NULL, &m) < 0)
		return -1;
	for (size_t i = 1; i < NTAGS; i++)
		if (fx_put_manifest(t, ct_cfg(t)->ns,
				    fx_tag(t, tag_names[order[i]]), &m) < 0)
			return -1;
	state = 1;
	return 0;
}

struct list {
	char **items;
	size_t n;
	bool had_link;
};

static void list_free(void *p)
{
	struct list *l = p;

	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	free(l);
}

static struct list *list_new(struct ct *t)
{
	struct list *l = calloc(1, sizeof(*l));

	if (!l)
		abort();
	return ct_keep(t, l, list_free);
}

/* Appends the strings of array `key` of the body to l.  Returns the count
 * on this page, or -1. */
static int add_page(struct ct *t, const struct ct_resp *r, const char *key,
		    struct list *l)
{
	json_t *j = ct_json(t, r), *arr, *v;
	size_t i;

	if (!j)
		return -1;
	arr = json_object_get(j, key);
	if (json_is_null(arr) || (!arr && !strcmp(key, "tags")))
		return 0; /* distribution sends "tags": null when empty */
	if (!json_is_array(arr))
		return ct_fail(t, "%s: no '%s' array", ct_what(t, r), key);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return ct_fail(t, "%s: non-string in '%s'",
				       ct_what(t, r), key);
		l->items = realloc(l->items, (l->n + 1) * sizeof(*l->items));
		if (!l->items)
			abort();
		l->items[l->n++] = strdup(json_string_value(v));
	}
	return (int)json_array_size(arr);
}

/* GETs url and every rel="next" after it (at most 1000 pages). */
static struct list *walk(struct ct *t, const char *url, const char *key)
{
	struct list *l = list_new(t);

	for (int pages = 0; url; pages++) {
		struct ct_resp *r;

		if (pages == 1000) {
			ct_fail(t, "%s: more than 1000 pages", url);
			return NULL;
		}
		r = ct_get(t, url);
		if (ct_status(t, r, "200") < 0 || add_page(t, r, key, l) < 0)
			return NULL;
		url = ct_link_next(t, r);
		l->had_link |= url != NULL;
	}
	return l;
}

/* "lexical order (i.e. case-insensitive alphanumeric order)". */
static int check_sorted(struct ct *t, const struct list *l, const char *what)
{
	for (size_t i = 1; i < l->n; i++)
		if (strcasecmp(l->items[i - 1], l->items[i]) >= 0)
			return ct_fail(t,
				       "%s not in lexical order: '%s' "
				       "before '%s'",
				       what, l->items[i - 1], l->items[i]);
	return 0;
}

/* Repository names as path components: '/' sorts before any character
 * (distribution's order: "a/b" < "a-b"). */
static int path_rank(char c)
{
	return c == '\0' ? 0 : c == '/' ? 1 : (unsigned char)c + 2;
}

static int path_cmp(const char *a, const char *b)
{
	for (; *a && *a == *b; a++, b++)
		;
	return path_rank(*a) - path_rank(*b);
}

/* A catalog is "lexically sorted" (Docker Registry HTTP API V2): by bytes,
 * or component by component; both are taken. */
static int check_repos_sorted(struct ct *t, const struct list *l)
{
	bool bytes = true, paths = true;

	for (size_t i = 1; i < l->n; i++) {
		bytes &= strcmp(l->items[i - 1], l->items[i]) < 0;
		paths &= path_cmp(l->items[i - 1], l->items[i]) < 0;
	}
	if (bytes || paths)
		return 0;
	return check_sorted(t, l, "repositories");
}

static size_t find(const struct list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], s))
			return i;
	return (size_t)-1;
}

static char *tags_url(struct ct *t, const char *query)
{
	return ct_printf(t, "/v2/%s/tags/list%s%s", ct_cfg(t)->ns,
			 query ? "?" : "", query ? query : "");
}

static void t_tags_list(struct ct *t)
{
	struct ct_resp *r;
	json_t *j;
	const char *name;
	struct list *all;
	size_t prev = 0;

	CT_TRY(push_tags(t));
	r = ct_get(t, tags_url(t, NULL));
	CT_TRY(ct_status(t, r, "200"));
	j = ct_json(t, r);
	CT_CHECK(t, j, "not JSON");
	name = json_string_value(json_object_get(j, "name"));
	CT_CHECK(t, name && !strcmp(name, ct_cfg(t)->ns),
		 "\"name\" is '%s', want '%s'", name ? name : "(none)",
		 ct_cfg(t)->ns);
	all = walk(t, tags_url(t, NULL), "tags");
	CT_CHECK(t, all, "listing");
	CT_TRY(check_sorted(t, all, "tags"));
	for (size_t i = 0; i < NTAGS; i++) {
		size_t at = find(all, fx_tag(t, tag_names[i]));

		CT_CHECK(t, at != (size_t)-1, "tag %s missing",
			 fx_tag(t, tag_names[i]));
		CT_CHECK(t, i == 0 || at > prev, "tags out of order");
		prev = at;
	}
}

/* The first page of n must be the first n of the whole list. */
static void t_tags_n(struct ct *t)
{
	struct list *all, *page;
	struct ct_resp *r;

	CT_TRY(push_tags(t));
	all = walk(t, tags_url(t, NULL), "tags");
	CT_CHECK(t, all, "listing");
	r = ct_get(t, tags_url(t, "n=2"));
	CT_TRY(ct_status(t, r, "200"));
	page = list_new(t);
	CT_TRY(add_page(t, r, "tags", page));
	CT_CHECK(t, page->n == 2 || (page->n < 2 && ct_link_next(t, r)),
		 "n=2 gave %zu tags (and no Link) of %zu", page->n, all->n);
	for (size_t i = 0; i < page->n; i++)
		CT_CHECK(t, !strcmp(page->items[i], all->items[i]),
			 "n=2: tag %zu is '%s', want '%s'", i, page->items[i],
			 all->items[i]);
}

static void t_tags_n_last(struct ct *t)
{
	struct ct_resp *r;
	struct list *page;

	CT_TRY(push_tags(t));
	r = ct_get(t,
		   tags_url(t, ct_printf(t, "n=2&last=%s", fx_tag(t, "ls-a"))));
	CT_TRY(ct_status(t, r, "200"));
	page = list_new(t);
	CT_TRY(add_page(t, r, "tags", page));
	CT_CHECK(t, page->n == 2, "n=2&last=<ls-a> gave %zu tags, want 2",
		 page->n);
	CT_CHECK(t,
		 !strcmp(page->items[0], fx_tag(t, "ls-b")) &&
			 !strcmp(page->items[1], fx_tag(t, "ls-c")),
		 "n=2&last=<ls-a> gave [%s, %s], want the next two: [%s, %s]",
		 page->items[0], page->items[1], fx_tag(t, "ls-b"),
		 fx_tag(t, "ls-c"));
}

static void t_tags_last(struct ct *t)
{
	struct list *all, *after;
	size_t at;

	CT_TRY(push_tags(t));
	all = walk(t, tags_url(t, NULL), "tags");
	CT_CHECK(t, all, "listing");
	at = find(all, fx_tag(t, "ls-c"));
	CT_CHECK(t, at != (size_t)-1, "tag missing");
	after = walk(t, tags_url(t, ct_printf(t, "last=%s", fx_tag(t, "ls-c"))),
		     "tags");
	CT_CHECK(t, after, "listing after last");
	CT_CHECK(t, after->n == all->n - at - 1,
		 "last=<ls-c> gave %zu tags, want the %zu after it", after->n,
		 all->n - at - 1);
	for (size_t i = 0; i < after->n; i++)
		CT_CHECK(t, !strcmp(after->items[i], all->items[at + 1 + i]),
			 "last=<ls-c>: tag %zu is '%s', want '%s'", i,
			 after->items[i], all->items[at + 1 + i]);
}

static void t_tags_n_zero(struct ct *t)
{
	struct ct_resp *r;
	struct list *page;

	CT_TRY(push_tags(t));
	r = ct_get(t, tags_url(t, "n=0"));
	CT_TRY(ct_status(t, r, "200"));
	page = list_new(t);
	CT_TRY(add_page(t, r, "tags", page));
	CT_CHECK(t, page->n == 0, "n=0 gave %zu tags", page->n);
	CT_CHECK(t, !ct_hdr(r, "Link"), "n=0 has a Link header: %s",
		 ct_hdr(r, "Link"));
}

/* Walks with n=2: by Link when given, else by last. */
static void t_tags_paginate(struct ct *t)
{
	struct list *all, *got = NULL;
	struct ct_resp *r;
	const char *url;

	CT_TRY(push_tags(t));
	all = walk(t, tags_url(t, NULL), "tags");
	CT_CHECK(t, all && all->n >= NTAGS, "listing");
	got = list_new(t);
	url = tags_url(t, "n=2");
	for (int pages = 0; url && pages <= (int)all->n; pages++) {
		int k;

		r = ct_get(t, url);
		CT_TRY(ct_status(t, r, "200"));
		k = add_page(t, r, "tags", got);
		CT_TRY(k);
		CT_CHECK(t, k <= 2, "a page of n=2 has %d tags", k);
		url = ct_link_next(t, r);
		if (!url && k == 2 && got->n < all->n) {
			if (ct_cfg(t)->strict)
				CT_CHECK(t, false,
					 "n=2 with more tags left: no Link "
					 "header (--strict)");
			url = tags_url(t, ct_printf(t, "n=2&last=%s",
						    got->items[got->n - 1]));
		}
	}
	CT_CHECK(t, got->n == all->n, "pages hold %zu tags, the list %zu",
		 got->n, all->n);
	for (size_t i = 0; i < got->n; i++)
		CT_CHECK(t, !strcmp(got->items[i], all->items[i]),
			 "page walk: tag %zu is '%s', want '%s'", i,
			 got->items[i], all->items[i]);
}

static void t_tags_link(struct ct *t)
{
	struct ct_resp *r;
	const char *link;
	char *next;

	CT_TRY(push_tags(t));
	r = ct_get(t,
		   tags_url(t, ct_printf(t, "n=1&last=%s", fx_tag(t, "ls-a"))));
	CT_TRY(ct_status(t, r, "200"));
	link = ct_hdr(r, "Link");
	if (!link) {
		if (ct_cfg(t)->strict)
			CT_CHECK(t, false, "no Link header (--strict)");
		ct_skip(t, "no Link header (the spec makes it optional)");
		return;
	}
	next = ct_link_next(t, r);
	CT_CHECK(t, next, "Link '%s' has no <...>; rel=\"next\" (RFC 5988)",
		 link);
	r = ct_get(t, next);
	CT_TRY(ct_status(t, r, "200"));
	{
		struct list *page = list_new(t);

		CT_TRY(add_page(t, r, "tags", page));
		CT_CHECK(t,
			 page->n >= 1 &&
				 !strcmp(page->items[0], fx_tag(t, "ls-c")),
			 "the Link's page starts with '%s', want '%s'",
			 page->n ? page->items[0] : "(nothing)",
			 fx_tag(t, "ls-c"));
	}
}

static void t_tags_none(struct ct *t)
{
	const char *repo = fx_repo(t, "untagged");
	struct fx_manifest m;
	struct ct_resp *r;
	struct list *l;

	/* The repository exists: a manifest pushed by digest only. */
	CT_TRY(fx_push_image(t, repo, NULL, NULL, &m));
	r = ct_get(t, ct_printf(t, "/v2/%s/tags/list", repo));
	CT_TRY(ct_status(t, r, "200"));
	l = list_new(t);
	CT_TRY(add_page(t, r, "tags", l));
	CT_CHECK(t, l->n == 0, "%zu tags in a repository without tags", l->n);
}

static void t_tags_unknown_repo(struct ct *t)
{
	struct ct_resp *r = ct_get(t, ct_printf(t, "/v2/%s/tags/list",
						fx_repo(t, "never-pushed")));

	CT_TRY(ct_error(t, r, "404", "NAME_UNKNOWN", false));
}

static void t_catalog(struct ct *t)
{
	const struct ct_cfg *c = ct_cfg(t);
	struct list *all;

	CT_TRY(push_tags(t));
	all = walk(t, "/v2/_catalog", "repositories");
	CT_CHECK(t, all, "listing");
	CT_TRY(check_repos_sorted(t, all));
	CT_CHECK(t, find(all, c->ns) != (size_t)-1, "%s not listed", c->ns);
	CT_CHECK(t, find(all, c->ns2) != (size_t)-1, "%s not listed", c->ns2);
}

static void t_catalog_paginate(struct ct *t)
{
	const struct ct_cfg *c = ct_cfg(t);
	struct list *all, *got;
	struct ct_resp *r;
	const char *url = "/v2/_catalog?n=1";
	size_t at;

	CT_TRY(push_tags(t));
	all = walk(t, "/v2/_catalog", "repositories");
	CT_CHECK(t, all && all->n >= 2, "listing");
	got = list_new(t);
	for (size_t pages = 0; url && pages <= all->n; pages++) {
		int k;

		r = ct_get(t, url);
		CT_TRY(ct_status(t, r, "200"));
		k = add_page(t, r, "repositories", got);
		CT_TRY(k);
		CT_CHECK(t, k <= 1, "a page of n=1 has %d repositories", k);
		url = ct_link_next(t, r);
		if (!url && got->n < all->n)
			CT_CHECK(t, false,
				 "n=1 page %zu: no Link header but "
				 "more repositories",
				 pages + 1);
	}
	CT_CHECK(t, got->n == all->n,
		 "pages hold %zu repositories, the "
		 "list %zu",
		 got->n, all->n);
	at = find(all, c->ns);
	CT_CHECK(t, at != (size_t)-1, "%s not listed", c->ns);
	r = ct_get(t, ct_printf(t, "/v2/_catalog?n=1&last=%s", c->ns));
	CT_TRY(ct_status(t, r, "200"));
	got = list_new(t);
	CT_TRY(add_page(t, r, "repositories", got));
	if (at + 1 < all->n)
		CT_CHECK(t,
			 got->n == 1 &&
				 !strcmp(got->items[0], all->items[at + 1]),
			 "last=%s gave '%s', want '%s'", c->ns,
			 got->n ? got->items[0] : "(nothing)",
			 all->items[at + 1]);
}

/* The catalog lists repositories with content: an upload started makes
 * none (as in CNCF distribution); a manifest does.  A blob alone lists
 * the repository in distribution, not in customs (--strict). */
static void t_catalog_upload_only(struct ct *t)
{
	const char *repo = fx_repo(t, "upload-only");
	const char *blob_repo = ct_printf(t, "%s-blob", repo);
	const char *mf_repo = ct_printf(t, "%s-manifest", repo);
	/* Sorts right before all three: the page starts at them. */
	char *before = ct_strdup(t, repo);
	struct fx_manifest m;
	struct fx_blob b;
	struct ct_resp *r;
	struct list *l;

	before[strlen(before) - 1] = '\0';
	CT_CHECK(t, fx_start_upload(t, repo), "upload");
	CT_TRY(fx_push_random(t, blob_repo, 64, &b));
	CT_TRY(fx_push_image(t, mf_repo, NULL, NULL, &m));
	r = ct_get(t, ct_printf(t, "/v2/_catalog?n=3&last=%s", before));
	CT_TRY(ct_status(t, r, "200"));
	l = list_new(t);
	CT_TRY(add_page(t, r, "repositories", l));
	CT_CHECK(t, find(l, repo) == (size_t)-1,
		 "%s is listed: only an upload was started there", repo);
	CT_CHECK(t, find(l, mf_repo) != (size_t)-1,
		 "%s (with a manifest) is not listed", mf_repo);
	if (find(l, blob_repo) == (size_t)-1)
		return;
	CT_CHECK(t, !ct_cfg(t)->strict,
		 "%s is listed: it has a blob, no manifest (--strict)",
		 blob_repo);
	ct_note(t, "a repository with a blob and no manifest is listed");
}

/* A bad n: ignored (200) or 400 PAGINATION_NUMBER_INVALID, the code
 * distribution sends (not UNSUPPORTED); --strict wants the 400. */
static void n_invalid(struct ct *t, const char *url)
{
	struct ct_resp *r = ct_get(t, url);

	if (r->status == 200 && !ct_cfg(t)->strict) {
		ct_note(t, "%s: n ignored", ct_what(t, r));
		return;
	}
	CT_TRY(ct_error(t, r, "400", "PAGINATION_NUMBER_INVALID", false));
}

static void t_n_invalid(struct ct *t)
{
	CT_TRY(push_tags(t));
	n_invalid(t, ct_printf(t, "/v2/%s/tags/list?n=abc", ct_cfg(t)->ns));
	if (ct_failed(t))
		return;
	n_invalid(t, ct_printf(t, "/v2/%s/tags/list?n=-1", ct_cfg(t)->ns));
	if (ct_failed(t))
		return;
	n_invalid(t, "/v2/_catalog?n=abc");
}

const struct ct_test ct_discovery_tests[] = {
	{"discovery/tags-list",
	 "§Listing Tags, end-8a: 200, {\"name\",\"tags\"}, tags MUST be in "
	 "lexical order",
	 t_tags_list},
	{"discovery/tags-n",
	 "§Listing Tags, end-8b: n=<int> MUST give <int> results (fewer only "
	 "with a Link), from the start, in order",
	 t_tags_n},
	{"discovery/tags-n-last",
	 "§Listing Tags, end-8b: n & last: up to n tags after <last>, not "
	 "inclusive",
	 t_tags_n_last},
	{"discovery/tags-last",
	 "§Listing Tags: 'last' without n: the tags after it", t_tags_last},
	{"discovery/tags-n-zero",
	 "§Listing Tags: n=0 MUST give an empty list and MUST NOT have a "
	 "Link header",
	 t_tags_n_zero},
	{"discovery/tags-paginate",
	 "§Listing Tags: walking pages of n=2 (by Link, else by last) gives "
	 "the whole list once, in order",
	 t_tags_paginate},
	{"discovery/tags-link",
	 "§Listing Tags: Link MAY be sent; if so RFC 5988 rel=\"next\" to the "
	 "next page",
	 t_tags_link},
	{"discovery/tags-none",
	 "§Listing Tags: a repository that exists MUST be 200; the list MAY "
	 "be empty (only untagged manifests)",
	 t_tags_none},
	{"discovery/tags-unknown-repo",
	 "§Listing Tags, end-8a: 404 for an unknown repository; §Error Codes "
	 "NAME_UNKNOWN",
	 t_tags_unknown_repo},
	{"discovery/catalog",
	 "client behaviour (docker/skopeo tooling): GET /v2/_catalog lists "
	 "repositories in order (Docker Registry HTTP API V2 §Catalog)",
	 t_catalog},
	{"discovery/catalog-paginate",
	 "client behaviour: /v2/_catalog n, last and Link rel=\"next\" "
	 "(Docker Registry HTTP API V2 §Catalog Pagination)",
	 t_catalog_paginate},
	{"discovery/catalog-upload-only",
	 "client behaviour: /v2/_catalog lists repositories with manifests; "
	 "an upload alone lists none (a blob alone: --strict)",
	 t_catalog_upload_only},
	{"discovery/n-invalid",
	 "§Listing Tags / catalog: a bad n is ignored or 400 "
	 "PAGINATION_NUMBER_INVALID (distribution's code), not UNSUPPORTED",
	 t_n_invalid},
	{NULL, NULL, NULL},
};
