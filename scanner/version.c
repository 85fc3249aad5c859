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
	const struct eco_info *ei = eco_info(eco);
	int c;

	if (ei->cmp)
		return ei->cmp(a, b);
	c = strcmp(a, b);
	return (c > 0) - (c < 0);
}
