/* PEP 440 version ordering, as the Python `packaging` library orders
 * versions (its normalisation of spellings included).  Strings that do not
 * parse are "legacy" versions, ordered by setuptools' legacy key and before
 * every valid version (packaging < 22's LegacyVersion). */
#include "scanner/version_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/banned.h"
#include "common/xmalloc.h"

enum pep_pre { PRE_NONE = -1, PRE_A, PRE_B, PRE_RC };

struct pep_num {
	const char *d;
	size_t n;
	bool set;
};

struct pep440 {
	bool legacy;
	struct pep_num epoch;
	const char *rel; /* "1.2.3": digits and dots */
	size_t rellen;
	enum pep_pre pre;
	struct pep_num pre_n, post, dev;
	const char *local; /* after '+', or NULL */
	size_t locallen;
};

static bool pep_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool pep_isalnum(char c)
{
	return pep_isdigit(c) || (c >= 'a' && c <= 'z');
}

static bool pep_issep(char c)
{
	return c == '-' || c == '_' || c == '.';
}

static bool pep_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* s is lower case.  Reads one of words at *p; the words are listed
 * longest first so that "preview" wins over "pre". */
static int pep_word(const char **p, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(words[i]);

		if (!strncmp(*p, words[i], l)) {
			*p += l;
			return (int)i;
		}
	}
	return -1;
}

static struct pep_num pep_digits(const char **p)
{
	struct pep_num num = {*p, 0, false};

	while (pep_isdigit((*p)[num.n]))
		num.n++;
	num.set = num.n > 0;
	*p += num.n;
	return num;
}

/* [-_.]? word [-_.]? digits?  Returns the word's index or -1 (nothing
 * consumed).  An absent number is 0. */
static int pep_segment(const char **p, const char *const *words, size_t n,
		       struct pep_num *num)
{
	const char *q = *p;
	int w;

	if (pep_issep(*q))
		q++;
	w = pep_word(&q, words, n);
	if (w < 0)
		return -1;
	/* The separator may stand without a number ("1.0a."). */
	if (pep_issep(*q))
		q++;
	*num = pep_digits(&q);
	if (!num->set) {
		num->d = "0";
		num->n = 1;
		num->set = true;
	}
	*p = q;
	return w;
}

static bool pep_parse_local(const char **p, struct pep440 *v)
{
	const char *q = *p + 1;

	if (**p != '+')
		return true;
	v->local = q;
	for (;;) {
		if (!pep_isalnum(*q))
			return false;
		while (pep_isalnum(*q))
			q++;
		if (!pep_issep(*q) || !pep_isalnum(q[1]))
			break;
		q++;
	}
	v->locallen = (size_t)(q - v->local);
	*p = q;
	return true;
}

/* s is lower case.  Fills v; returns false when s is not PEP 440. */
static bool pep_parse(const char *s, struct pep440 *v)
{
	static const char *const pre_words[] = {
		"alpha", "beta", "preview", "pre", "rc", "a", "b", "c"};
	static const enum pep_pre pre_kind[] = {PRE_A,	PRE_B, PRE_RC, PRE_RC,
						PRE_RC, PRE_A, PRE_B,  PRE_RC};
	static const char *const post_words[] = {"post", "rev", "r"};
	static const char *const dev_words[] = {"dev"};
	const char *p = s, *q;
	int w;

	memset(v, 0, sizeof(*v));
	v->pre = PRE_NONE;
	while (pep_isspace(*p))
		p++;
	if (*p == 'v')
		p++;
	q = p;
	v->epoch = pep_digits(&q);
	if (v->epoch.set && *q == '!') {
		p = q + 1;
	} else {
		v->epoch.d = "0";
		v->epoch.n = 1;
		v->epoch.set = true;
	}
	v->rel = p;
	if (!pep_isdigit(*p))
		return false;
	while (pep_isdigit(*p) || (*p == '.' && pep_isdigit(p[1])))
		p++;
	v->rellen = (size_t)(p - v->rel);
	w = pep_segment(&p, pre_words, sizeof(pre_words) / sizeof(*pre_words),
			&v->pre_n);
	if (w >= 0)
		v->pre = pre_kind[w];
	if (*p == '-' && pep_isdigit(p[1])) {
		p++;
		v->post = pep_digits(&p);
	} else {
		pep_segment(&p, post_words, 3, &v->post);
	}
	pep_segment(&p, dev_words, 1, &v->dev);
	if (!pep_parse_local(&p, v))
		return false;
	while (pep_isspace(*p))
		p++;
	return *p == '\0';
}

/* Release segments compare numerically, the shorter padded with zeros. */
static int pep_relcmp(const struct pep440 *a, const struct pep440 *b)
{
	const char *pa = a->rel, *ea = a->rel + a->rellen;
	const char *pb = b->rel, *eb = b->rel + b->rellen;

	while (pa < ea || pb < eb) {
		const char *da = pa, *db = pb;
		int c;

		while (pa < ea && *pa != '.')
			pa++;
		while (pb < eb && *pb != '.')
			pb++;
		c = ver_numcmp(da, (size_t)(pa - da), db, (size_t)(pb - db));
		if (c)
			return c;
		if (pa < ea)
			pa++;
		if (pb < eb)
			pb++;
	}
	return 0;
}

/* Compares optional numbers where "absent" sorts as `absent` (-1 before
 * every number, +1 after). */
static int pep_optcmp(const struct pep_num *a, const struct pep_num *b,
		      int absent)
{
	if (!a->set || !b->set) {
		if (a->set == b->set)
			return 0;
		return a->set ? -absent : absent;
	}
	return ver_numcmp(a->d, a->n, b->d, b->n);
}

/* packaging's pre key: a dev release with neither pre nor post sorts
 * before every pre-release of its release; no pre-release sorts after. */
static int pep_prekey(const struct pep440 *v)
{
	if (v->pre == PRE_NONE && !v->post.set && v->dev.set)
		return -2;
	if (v->pre == PRE_NONE)
		return 3;
	return (int)v->pre;
}

static bool pep_alldigits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!pep_isdigit(s[i]))
			return false;
	return n > 0;
}

/* Local segments: numbers by value and after words, words by strcmp, a
 * longer local after its prefix; no local sorts first. */
static int pep_localcmp(const struct pep440 *a, const struct pep440 *b)
{
	const char *pa = a->local, *pb = b->local;
	const char *ea = pa + a->locallen, *eb = pb + b->locallen;

	if (!pa || !pb)
		return (pa != NULL) - (pb != NULL);
	for (;;) {
		const char *sa = pa, *sb = pb;
		size_t la, lb;
		bool na, nb;
		int c;

		if (pa >= ea || pb >= eb)
			return (pa < ea) - (pb < eb);
		while (pa < ea && !pep_issep(*pa))
			pa++;
		while (pb < eb && !pep_issep(*pb))
			pb++;
		la = (size_t)(pa - sa);
		lb = (size_t)(pb - sb);
		na = pep_alldigits(sa, la);
		nb = pep_alldigits(sb, lb);
		if (na && nb) {
			c = ver_numcmp(sa, la, sb, lb);
		} else if (na != nb) {
			c = na ? 1 : -1;
		} else {
			c = memcmp(sa, sb, la < lb ? la : lb);
			if (!c)
				c = (la > lb) - (la < lb);
		}
		if (c)
			return c < 0 ? -1 : 1;
		if (pa < ea)
			pa++;
		if (pb < eb)
			pb++;
	}
}

static int pep_cmp_valid(const struct pep440 *a, const struct pep440 *b)
{
	int c;

	c = ver_numcmp(a->epoch.d, a->epoch.n, b->epoch.d, b->epoch.n);
	if (!c)
		c = pep_relcmp(a, b);
	if (!c) {
		int ka = pep_prekey(a), kb = pep_prekey(b);

		c = (ka > kb) - (ka < kb);
		if (!c && a->pre != PRE_NONE)
			c = ver_numcmp(a->pre_n.d, a->pre_n.n, b->pre_n.d,
				       b->pre_n.n);
	}
	if (!c)
		c = pep_optcmp(&a->post, &b->post, -1);
	if (!c)
		c = pep_optcmp(&a->dev, &b->dev, 1);
	if (!c)
		c = pep_localcmp(a, b);
	return c;
}

/* --- Legacy versions ---------------------------------------------------- */

struct pep_legacy {
	char **parts;
	size_t n, alloc;
};

static void legacy_push(struct pep_legacy *k, char *part)
{
	if (k->n == k->alloc) {
		k->alloc = k->alloc ? 2 * k->alloc : 16;
		k->parts = xrealloc(k->parts, k->alloc * sizeof(*k->parts));
	}
	k->parts[k->n++] = part;
}

static void legacy_pop(struct pep_legacy *k)
{
	free(k->parts[--k->n]);
}

/* One piece of re.split(r"(\d+|[a-z]+|\.|-)", s), mapped like
 * setuptools' _parse_version_parts(); NULL when it is skipped. */
static char *legacy_part(const char *p, size_t n)
{
	static const char *const from[] = {"pre", "preview", "-", "rc", "dev"};
	static const char *const to[] = {"c", "c", "final-", "c", "@"};

	if (!n || (n == 1 && *p == '.'))
		return NULL;
	for (size_t i = 0; i < sizeof(from) / sizeof(*from); i++) {
		if (strlen(from[i]) == n && !memcmp(from[i], p, n)) {
			p = to[i];
			n = strlen(to[i]);
			break;
		}
	}
	if (pep_isdigit(*p)) {
		size_t pad = n < 8 ? 8 - n : 0;
		char *s = xmalloc(pad + n + 1);

		memset(s, '0', pad);
		memcpy(s + pad, p, n);
		s[pad + n] = '\0';
		return s;
	}
	return xasprintf("*%.*s", (int)n, p);
}

/* setuptools' _legacy_cmpkey(): drop "-" before a pre-release tag and
 * trailing zeros of each numeric series. */
static void legacy_add(struct pep_legacy *k, char *part)
{
	if (!part)
		return;
	if (part[0] == '*') {
		if (strcmp(part, "*final") < 0)
			while (k->n && !strcmp(k->parts[k->n - 1], "*final-"))
				legacy_pop(k);
		while (k->n && !strcmp(k->parts[k->n - 1], "00000000"))
			legacy_pop(k);
	}
	legacy_push(k, part);
}

static size_t legacy_match(const char *p)
{
	size_t n = 0;

	if (pep_isdigit(*p)) {
		while (pep_isdigit(p[n]))
			n++;
	} else if (*p >= 'a' && *p <= 'z') {
		while (p[n] >= 'a' && p[n] <= 'z')
			n++;
	} else if (*p == '.' || *p == '-') {
		n = 1;
	}
	return n;
}

static void legacy_key(const char *s, struct pep_legacy *k)
{
	const char *p = s, *gap = s;

	while (*p) {
		size_t n = legacy_match(p);

		if (!n) {
			p++;
			continue;
		}
		legacy_add(k, legacy_part(gap, (size_t)(p - gap)));
		legacy_add(k, legacy_part(p, n));
		p += n;
		gap = p;
	}
	legacy_add(k, legacy_part(gap, (size_t)(p - gap)));
	legacy_add(k, xstrdup("*final"));
}

static void legacy_release(struct pep_legacy *k)
{
	while (k->n)
		legacy_pop(k);
	free(k->parts);
}

static int pep_cmp_legacy(const char *a, const char *b)
{
	struct pep_legacy ka = {NULL, 0, 0}, kb = {NULL, 0, 0};
	size_t i;
	int c = 0;

	legacy_key(a, &ka);
	legacy_key(b, &kb);
	for (i = 0; !c && i < ka.n && i < kb.n; i++)
		c = strcmp(ka.parts[i], kb.parts[i]);
	if (!c)
		c = (ka.n > kb.n) - (ka.n < kb.n);
	legacy_release(&ka);
	legacy_release(&kb);
	return (c > 0) - (c < 0);
}

/* ------------------------------------------------------------------------ */

static char *pep_lower(const char *s)
{
	char *l = xstrdup(s);

	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

int ver_cmp_pep440(const char *a, const char *b)
{
	char *la = pep_lower(a), *lb = pep_lower(b);
	struct pep440 va, vb;
	int c;

	va.legacy = !pep_parse(la, &va);
	vb.legacy = !pep_parse(lb, &vb);
	if (va.legacy && vb.legacy)
		c = pep_cmp_legacy(la, lb);
	else if (va.legacy || vb.legacy)
		c = va.legacy ? -1 : 1;
	else
		c = pep_cmp_valid(&va, &vb);
	free(la);
	free(lb);
	return c;
}
