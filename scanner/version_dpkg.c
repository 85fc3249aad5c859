/* dpkg version ordering (deb-version(7)). */
#include "scanner/version_int.h"

#include <string.h>

#include "common/banned.h"

struct dpkg_ver {
	const char *epoch, *up, *rev;
	size_t elen, ulen, rlen;
};

static bool dpkg_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool dpkg_isalpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void dpkg_parse(const char *s, struct dpkg_ver *v)
{
	const char *colon = strchr(s, ':');
	const char *dash;
	const char *p;

	v->epoch = s;
	v->elen = 0;
	if (colon && colon > s) {
		for (p = s; p < colon && dpkg_isdigit(*p); p++)
			;
		if (p == colon) {
			v->elen = (size_t)(colon - s);
			s = colon + 1;
		}
	}
	dash = strrchr(s, '-');
	v->up = s;
	if (dash) {
		v->ulen = (size_t)(dash - s);
		v->rev = dash + 1;
		v->rlen = strlen(dash + 1);
	} else {
		v->ulen = strlen(s);
		v->rev = "";
		v->rlen = 0;
	}
}

/* The weight of a non-digit character; 0 stands for the end of the part. */
static int dpkg_order(const char *p, const char *end)
{
	if (p >= end || dpkg_isdigit(*p))
		return 0;
	if (dpkg_isalpha(*p))
		return (unsigned char)*p;
	if (*p == '~')
		return -1;
	return (unsigned char)*p + 256;
}

/* dpkg's verrevcmp(): alternate runs of non-digits (compared by weight)
 * and digits (compared by value). */
static int dpkg_verrevcmp(const char *a, size_t alen, const char *b,
			  size_t blen)
{
	const char *ae = a + alen, *be = b + blen;

	while (a < ae || b < be) {
		const char *ad, *bd;
		int c;

		while ((a < ae && !dpkg_isdigit(*a)) ||
		       (b < be && !dpkg_isdigit(*b))) {
			int ac = dpkg_order(a, ae), bc = dpkg_order(b, be);

			if (ac != bc)
				return ac < bc ? -1 : 1;
			if (a < ae)
				a++;
			if (b < be)
				b++;
		}
		for (ad = a; ad < ae && dpkg_isdigit(*ad); ad++)
			;
		for (bd = b; bd < be && dpkg_isdigit(*bd); bd++)
			;
		c = ver_numcmp(a, (size_t)(ad - a), b, (size_t)(bd - b));
		if (c)
			return c;
		a = ad;
		b = bd;
	}
	return 0;
}

int ver_cmp_dpkg(const char *a, const char *b)
{
	struct dpkg_ver va, vb;
	int c;

	dpkg_parse(a, &va);
	dpkg_parse(b, &vb);
	c = ver_numcmp(va.epoch, va.elen, vb.epoch, vb.elen);
	if (!c)
		c = dpkg_verrevcmp(va.up, va.ulen, vb.up, vb.ulen);
	if (!c)
		c = dpkg_verrevcmp(va.rev, va.rlen, vb.rev, vb.rlen);
	return c;
}
