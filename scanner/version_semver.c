/* SemVer 2.0 precedence (npm, crates.io, Go), parsed leniently: real
 * version strings carry a "v" (Go), two or four components, or junk. */
#include "scanner/version_int.h"

#include <string.h>

#include "common/banned.h"

#define SEMVER_CORE 3

struct semver {
	/* The first three numeric components; missing ones are "0". */
	const char *num[SEMVER_CORE];
	size_t nlen[SEMVER_CORE];
	/* Pre-release identifiers (without the '-'), or NULL for none. */
	const char *pre;
	size_t prelen;
};

static bool sv_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* Numeric components are digit runs separated by '.'; the first other
 * character starts the rest.  A fourth component, a "+build" and anything
 * after '+' are ignored; a '-' or any other character starts the
 * pre-release, which runs to '+' or the end. */
static void semver_parse(const char *s, struct semver *v)
{
	const char *end, *plus;
	size_t n = 0;

	if (*s == 'v' || *s == 'V')
		s++;
	plus = strchr(s, '+');
	end = plus ? plus : s + strlen(s);
	for (size_t i = 0; i < SEMVER_CORE; i++) {
		v->num[i] = "0";
		v->nlen[i] = 1;
	}
	v->pre = NULL;
	v->prelen = 0;
	while (s < end && sv_isdigit(*s)) {
		const char *d = s;

		while (s < end && sv_isdigit(*s))
			s++;
		if (n < SEMVER_CORE) {
			v->num[n] = d;
			v->nlen[n] = (size_t)(s - d);
		}
		n++;
		if (s < end && *s == '.' && s + 1 < end && sv_isdigit(s[1]))
			s++;
		else
			break;
	}
	/* More than three components: the extra ones are build data. */
	while (n > SEMVER_CORE && s < end && (*s == '.' || sv_isdigit(*s)))
		s++;
	if (s < end && *s == '.')
		s++;
	if (s >= end)
		return;
	if (*s == '-')
		s++;
	v->pre = s;
	v->prelen = (size_t)(end - s);
}

static bool sv_alldigits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sv_isdigit(s[i]))
			return false;
	return true;
}

struct sv_iter {
	const char *p, *end;
	bool done;
};

/* The next dot-separated identifier; "a." has an empty last one. */
static bool sv_next(struct sv_iter *it, const char **id, size_t *len)
{
	if (it->done)
		return false;
	*id = it->p;
	while (it->p < it->end && *it->p != '.')
		it->p++;
	*len = (size_t)(it->p - *id);
	if (it->p < it->end)
		it->p++;
	else
		it->done = true;
	return true;
}

/* Identifiers: numbers by value and before words, words in ASCII order, a
 * longer list after its prefix. */
static int semver_precmp(const char *a, size_t alen, const char *b, size_t blen)
{
	struct sv_iter ia = {a, a + alen, false}, ib = {b, b + blen, false};

	for (;;) {
		const char *ai = NULL, *bi = NULL;
		size_t al = 0, bl = 0;
		bool ga, gb, an, bn;
		int c;

		ga = sv_next(&ia, &ai, &al);
		gb = sv_next(&ib, &bi, &bl);
		if (!ga || !gb)
			return (int)ga - (int)gb;
		an = sv_alldigits(ai, al);
		bn = sv_alldigits(bi, bl);
		if (an && bn) {
			c = ver_numcmp(ai, al, bi, bl);
		} else if (an != bn) {
			c = an ? -1 : 1;
		} else {
			c = memcmp(ai, bi, al < bl ? al : bl);
			if (!c)
				c = (al > bl) - (al < bl);
		}
		if (c)
			return c < 0 ? -1 : 1;
	}
}

int ver_cmp_semver(const char *a, const char *b)
{
	struct semver va, vb;
	int c;

	semver_parse(a, &va);
	semver_parse(b, &vb);
	for (size_t i = 0; i < SEMVER_CORE; i++) {
		c = ver_numcmp(va.num[i], va.nlen[i], vb.num[i], vb.nlen[i]);
		if (c)
			return c;
	}
	/* A pre-release sorts before the release. */
	if (!va.pre || !vb.pre)
		return (va.pre == NULL) - (vb.pre == NULL);
	return semver_precmp(va.pre, va.prelen, vb.pre, vb.prelen);
}
