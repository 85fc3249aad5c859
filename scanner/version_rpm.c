/* rpm version ordering: rpmvercmp() on epoch, version and release. */
#include "scanner/version_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/banned.h"
#include "common/xmalloc.h"

static bool rpm_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool rpm_isalpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool rpm_isalnum(char c)
{
	return rpm_isdigit(c) || rpm_isalpha(c);
}

/* Compares [a, ae) with [b, be): runs of digits by value, runs of letters
 * with strcmp, everything else (bytes >= 0x80 too) separates runs. */
static int rpm_vercmp(const char *a, const char *ae, const char *b,
		      const char *be)
{
	if ((size_t)(ae - a) == (size_t)(be - b) &&
	    !memcmp(a, b, (size_t)(ae - a)))
		return 0;
	for (;;) {
		const char *as, *bs;
		bool num;
		int c;

		while (a < ae && !rpm_isalnum(*a) && *a != '~' && *a != '^')
			a++;
		while (b < be && !rpm_isalnum(*b) && *b != '~' && *b != '^')
			b++;
		/* '~' sorts before anything, the end of the string too. */
		if ((a < ae && *a == '~') || (b < be && *b == '~')) {
			if (a >= ae || *a != '~')
				return 1;
			if (b >= be || *b != '~')
				return -1;
			a++;
			b++;
			continue;
		}
		/* '^' sorts after the end of the string, before the rest. */
		if ((a < ae && *a == '^') || (b < be && *b == '^')) {
			if (a >= ae)
				return -1;
			if (b >= be)
				return 1;
			if (*a != '^')
				return 1;
			if (*b != '^')
				return -1;
			a++;
			b++;
			continue;
		}
		if (a >= ae || b >= be)
			break;
		as = a;
		bs = b;
		num = rpm_isdigit(*a);
		if (num) {
			while (a < ae && rpm_isdigit(*a))
				a++;
			while (b < be && rpm_isdigit(*b))
				b++;
		} else {
			while (a < ae && rpm_isalpha(*a))
				a++;
			while (b < be && rpm_isalpha(*b))
				b++;
		}
		/* Different kinds of run: a number is newer than letters. */
		if (b == bs)
			return num ? 1 : -1;
		if (num) {
			c = ver_numcmp(as, (size_t)(a - as), bs,
				       (size_t)(b - bs));
		} else {
			size_t al = (size_t)(a - as), bl = (size_t)(b - bs);

			c = memcmp(as, bs, al < bl ? al : bl);
			if (!c)
				c = (al > bl) - (al < bl);
		}
		if (c)
			return c < 0 ? -1 : 1;
	}
	if (a >= ae && b >= be)
		return 0;
	return a >= ae ? -1 : 1;
}

struct rpm_evr {
	const char *e, *ee, *v, *ve, *r, *re;
};

/* epoch is the leading digits when a ':' ends them; the release is what
 * follows the last '-'. */
static void rpm_parse(const char *s, struct rpm_evr *p)
{
	const char *q = s, *dash, *end = s + strlen(s);

	while (rpm_isdigit(*q))
		q++;
	if (*q == ':') {
		p->e = s;
		p->ee = q;
		s = q + 1;
	} else {
		p->e = p->ee = "";
	}
	dash = strrchr(s, '-');
	p->v = s;
	if (dash) {
		p->ve = dash;
		p->r = dash + 1;
		p->re = end;
	} else {
		p->ve = end;
		p->r = p->re = NULL;
	}
}

int ver_cmp_rpm(const char *a, const char *b)
{
	struct rpm_evr pa, pb;
	int c;

	rpm_parse(a, &pa);
	rpm_parse(b, &pb);
	c = ver_numcmp(pa.e, (size_t)(pa.ee - pa.e), pb.e,
		       (size_t)(pb.ee - pb.e));
	if (!c)
		c = rpm_vercmp(pa.v, pa.ve, pb.v, pb.ve);
	if (c)
		return c;
	/* A missing release sorts before any release, even an empty one. */
	if (!pa.r || !pb.r)
		return (pa.r != NULL) - (pb.r != NULL);
	return rpm_vercmp(pa.r, pa.re, pb.r, pb.re);
}
