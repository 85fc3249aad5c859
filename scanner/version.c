#include "scanner/version_int.h"

#include <string.h>

#include "common/banned.h"

int ver_numcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c;

	while (alen && *a == '0') {
		a++;
		alen--;
	}
	while (blen && *b == '0') {
		b++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	c = memcmp(a, b, alen);
	return (c > 0) - (c < 0);
}

int ver_cmp(enum scan_eco eco, const char *a, const char *b)
{
	int c;

	switch (eco) {
	case ECO_DEBIAN:
	case ECO_UBUNTU:
		return ver_cmp_dpkg(a, b);
	case ECO_ALPINE:
		return ver_cmp_apk(a, b);
	case ECO_RPM:
		return ver_cmp_rpm(a, b);
	case ECO_PYPI:
		return ver_cmp_pep440(a, b);
	case ECO_NPM:
	case ECO_GO:
	case ECO_CRATES:
		return ver_cmp_semver(a, b);
	case ECO_MAVEN:
		return ver_cmp_maven(a, b);
	case ECO_UNKNOWN:
		break;
	}
	c = strcmp(a, b);
	return (c > 0) - (c < 0);
}
