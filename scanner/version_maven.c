/* Maven version ordering: the item tree of Maven's ComparableVersion.
 *
 * A version is a list of items split at '.', with a new sub-list at each
 * '-' and at each transition between digits and letters.  Integers compare
 * by value; qualifiers by rank (alpha < beta < milestone < rc < snapshot <
 * "" < sp < any other, others alphabetically); trailing "null" items (0,
 * "", empty lists) are dropped from every list.  When kinds differ, a
 * qualifier < a list < an integer. */
#include "scanner/version_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/banned.h"
#include "common/xmalloc.h"

enum mvn_kind { MVN_INT, MVN_STR, MVN_LIST };

struct mvn_item {
	enum mvn_kind kind;
	const char *s; /* INT: digits without leading zeros;
			* STR: the qualifier, aliases resolved */
	size_t n;
	char rank[2]; /* STR: known qualifier's rank, "" if unknown */
	struct mvn_item **items; /* LIST */
	size_t nitems, alloc;
};

struct mvn_parse {
	char *buf; /* the version, lower case */
	struct mvn_item *root, *cur;
	struct mvn_item **lists; /* every list, in creation order */
	size_t nlists, lists_alloc;
};

static const char *const mvn_qualifiers[] = {
	"alpha", "beta", "milestone", "rc", "snapshot", "", "sp"};
#define MVN_RELEASE_RANK '5'

static bool mvn_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static struct mvn_item *mvn_new(enum mvn_kind kind, const char *s, size_t n)
{
	struct mvn_item *it = xcalloc(1, sizeof(*it));

	it->kind = kind;
	it->s = s;
	it->n = n;
	return it;
}

static void mvn_free(struct mvn_item *it)
{
	if (!it)
		return;
	for (size_t i = 0; i < it->nitems; i++)
		mvn_free(it->items[i]);
	free(it->items);
	free(it);
}

static void mvn_append(struct mvn_item *list, struct mvn_item *it)
{
	if (list->nitems == list->alloc) {
		list->alloc = list->alloc ? 2 * list->alloc : 4;
		list->items = xrealloc(list->items,
				       list->alloc * sizeof(*list->items));
	}
	list->items[list->nitems++] = it;
}

static struct mvn_item *mvn_int(const char *s, size_t n)
{
	while (n && *s == '0') {
		s++;
		n--;
	}
	return mvn_new(MVN_INT, s, n);
}

static bool mvn_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !memcmp(s, word, n);
}

static struct mvn_item *mvn_str(const char *s, size_t n, bool before_digit)
{
	struct mvn_item *it;

	if (before_digit && n == 1) {
		if (*s == 'a')
			s = "alpha";
		else if (*s == 'b')
			s = "beta";
		else if (*s == 'm')
			s = "milestone";
		n = strlen(s);
	}
	if (mvn_is(s, n, "ga") || mvn_is(s, n, "final") ||
	    mvn_is(s, n, "release"))
		n = 0;
	else if (mvn_is(s, n, "cr"))
		s = "rc"; /* same length */
	it = mvn_new(MVN_STR, s, n);
	for (size_t i = 0; i < sizeof(mvn_qualifiers) / sizeof(*mvn_qualifiers);
	     i++) {
		if (mvn_is(s, n, mvn_qualifiers[i])) {
			it->rank[0] = (char)('0' + i);
			break;
		}
	}
	return it;
}

static void mvn_add(struct mvn_parse *p, bool digit, size_t from, size_t to)
{
	if (from == to)
		mvn_append(p->cur, mvn_new(MVN_INT, "", 0));
	else if (digit)
		mvn_append(p->cur, mvn_int(p->buf + from, to - from));
	else
		mvn_append(p->cur, mvn_str(p->buf + from, to - from, false));
}

static void mvn_sublist(struct mvn_parse *p)
{
	struct mvn_item *l = mvn_new(MVN_LIST, NULL, 0);

	mvn_append(p->cur, l);
	p->cur = l;
	if (p->nlists == p->lists_alloc) {
		p->lists_alloc = p->lists_alloc ? 2 * p->lists_alloc : 8;
		p->lists =
			xrealloc(p->lists, p->lists_alloc * sizeof(*p->lists));
	}
	p->lists[p->nlists++] = l;
}

static bool mvn_isnull(const struct mvn_item *it)
{
	switch (it->kind) {
	case MVN_INT:
		return it->n == 0;
	case MVN_STR:
		return it->rank[0] == MVN_RELEASE_RANK;
	case MVN_LIST:
		return it->nitems == 0;
	}
	return false;
}

/* Drops trailing null items; non-null sub-lists are looked past, the
 * first other non-null item stops it. */
static void mvn_normalize(struct mvn_item *list)
{
	for (size_t i = list->nitems; i-- > 0;) {
		struct mvn_item *it = list->items[i];

		if (mvn_isnull(it)) {
			mvn_free(it);
			memmove(list->items + i, list->items + i + 1,
				(list->nitems - i - 1) * sizeof(*list->items));
			list->nitems--;
		} else if (it->kind != MVN_LIST) {
			break;
		}
	}
}

static struct mvn_item *mvn_parse(const char *version, char **buf_out)
{
	struct mvn_parse p = {NULL, NULL, NULL, NULL, 0, 0};
	bool digit = false;
	size_t i, start = 0, len;

	p.buf = xstrdup(version);
	len = strlen(p.buf);
	for (i = 0; i < len; i++)
		if (p.buf[i] >= 'A' && p.buf[i] <= 'Z')
			p.buf[i] = (char)(p.buf[i] - 'A' + 'a');
	p.root = p.cur = mvn_new(MVN_LIST, NULL, 0);
	for (i = 0; i < len; i++) {
		char c = p.buf[i];

		if (c == '.' || c == '-') {
			mvn_add(&p, digit, start, i);
			start = i + 1;
			if (c == '-')
				mvn_sublist(&p);
		} else if (mvn_isdigit(c)) {
			if (!digit && i > start) {
				mvn_append(p.cur, mvn_str(p.buf + start,
							  i - start, true));
				start = i;
				mvn_sublist(&p);
			}
			digit = true;
		} else {
			if (digit && i > start) {
				mvn_add(&p, true, start, i);
				start = i;
				mvn_sublist(&p);
			}
			digit = false;
		}
	}
	if (len > start)
		mvn_add(&p, digit, start, len);
	while (p.nlists)
		mvn_normalize(p.lists[--p.nlists]);
	mvn_normalize(p.root);
	free(p.lists);
	*buf_out = p.buf;
	return p.root;
}

static int mvn_strcmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (!c)
		c = (an > bn) - (an < bn);
	return (c > 0) - (c < 0);
}

/* Maven compares qualifiers by the string "<rank>" or "7-<qualifier>". */
static int mvn_qualcmp(const struct mvn_item *a, const struct mvn_item *b)
{
	if (a->rank[0] && b->rank[0])
		return (a->rank[0] > b->rank[0]) - (a->rank[0] < b->rank[0]);
	if (a->rank[0] || b->rank[0])
		return a->rank[0] ? -1 : 1;
	return mvn_strcmp(a->s, a->n, b->s, b->n);
}

static int mvn_cmp(const struct mvn_item *a, const struct mvn_item *b);

/* Compares a with nothing (the shorter side of a list comparison). */
static int mvn_cmp_null(const struct mvn_item *a)
{
	switch (a->kind) {
	case MVN_INT:
		return a->n ? 1 : 0;
	case MVN_STR:
		if (!a->rank[0])
			return 1;
		return (a->rank[0] > MVN_RELEASE_RANK) -
		       (a->rank[0] < MVN_RELEASE_RANK);
	case MVN_LIST:
		for (size_t i = 0; i < a->nitems; i++) {
			int c = mvn_cmp_null(a->items[i]);

			if (c)
				return c;
		}
		return 0;
	}
	return 0;
}

static int mvn_kind_order(enum mvn_kind k)
{
	return k == MVN_STR ? 0 : k == MVN_LIST ? 1 : 2;
}

static int mvn_cmp(const struct mvn_item *a, const struct mvn_item *b)
{
	if (a->kind != b->kind) {
		int ka = mvn_kind_order(a->kind), kb = mvn_kind_order(b->kind);

		return ka < kb ? -1 : 1;
	}
	switch (a->kind) {
	case MVN_INT:
		return ver_numcmp(a->s, a->n, b->s, b->n);
	case MVN_STR:
		return mvn_qualcmp(a, b);
	case MVN_LIST:
		for (size_t i = 0; i < a->nitems || i < b->nitems; i++) {
			int c;

			if (i >= a->nitems)
				c = -mvn_cmp_null(b->items[i]);
			else if (i >= b->nitems)
				c = mvn_cmp_null(a->items[i]);
			else
				c = mvn_cmp(a->items[i], b->items[i]);
			if (c)
				return c;
		}
		return 0;
	}
	return 0;
}

int ver_cmp_maven(const char *a, const char *b)
{
	char *ba, *bb;
	struct mvn_item *ia = mvn_parse(a, &ba), *ib = mvn_parse(b, &bb);
	int c = mvn_cmp(ia, ib);

	mvn_free(ia);
	mvn_free(ib);
	free(ba);
	free(bb);
	return c;
}
