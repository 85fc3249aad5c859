/* apk version ordering: the token walk of apk-tools' version compare
 * (Gentoo-style digit{.digit}...{letter}{_suf{#}}...{-r#}).  Both strings
 * are cut into typed tokens in lock step; the first differing value or
 * token type decides.  Numbers are digit strings, so there is no overflow. */
#include "scanner/version_int.h"

#include <string.h>

#include "common/banned.h"

enum apk_tok {
	APK_INVALID = -1,
	APK_DIGIT_OR_ZERO, /* after '.': leading zeros are significant */
	APK_DIGIT,
	APK_LETTER,
	APK_SUFFIX,
	APK_SUFFIX_NO,
	APK_REVISION_NO,
	APK_END,
};

/* A token's value: a digit run, or a small integer (letters, suffix ranks,
 * minus the count of leading zeros after a dot). */
struct apk_val {
	const char *d;
	size_t n;
	long small;
	bool num;
};

struct apk_str {
	const char *p;
	size_t len;
};

static bool apk_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool apk_islower(char c)
{
	return c >= 'a' && c <= 'z';
}

static void apk_skip(struct apk_str *s, size_t n)
{
	s->p += n;
	s->len -= n;
}

/* Decides the type of the token that starts at s (consuming separators). */
static void apk_next_type(enum apk_tok *type, struct apk_str *s)
{
	enum apk_tok n = APK_INVALID;

	if (!s->len || !s->p[0]) {
		n = APK_END;
	} else if ((*type == APK_DIGIT || *type == APK_DIGIT_OR_ZERO) &&
		   apk_islower(s->p[0])) {
		n = APK_LETTER;
	} else if (*type == APK_LETTER && apk_isdigit(s->p[0])) {
		n = APK_DIGIT;
	} else if (*type == APK_SUFFIX && apk_isdigit(s->p[0])) {
		n = APK_SUFFIX_NO;
	} else {
		if (s->p[0] == '.') {
			n = APK_DIGIT_OR_ZERO;
		} else if (s->p[0] == '_') {
			n = APK_SUFFIX;
		} else if (s->p[0] == '-' && s->len > 1 && s->p[1] == 'r') {
			n = APK_REVISION_NO;
			apk_skip(s, 1);
		}
		apk_skip(s, 1);
	}
	/* Tokens only move forward, but for these three steps back. */
	if (n < *type && !((n == APK_DIGIT_OR_ZERO && *type == APK_DIGIT) ||
			   (n == APK_SUFFIX && *type == APK_SUFFIX_NO) ||
			   (n == APK_DIGIT && *type == APK_LETTER)))
		n = APK_INVALID;
	*type = n;
}

static bool apk_suffix(const struct apk_str *s, long *rank, size_t *len)
{
	static const char *const pre[] = {"alpha", "beta", "pre", "rc"};
	static const char *const post[] = {"cvs", "svn", "git", "hg", "p"};
	size_t i, n;

	for (i = 0; i < sizeof(pre) / sizeof(*pre); i++) {
		n = strlen(pre[i]);
		if (n <= s->len && !memcmp(pre[i], s->p, n)) {
			*rank = (long)i - (long)(sizeof(pre) / sizeof(*pre));
			*len = n;
			return true;
		}
	}
	for (i = 0; i < sizeof(post) / sizeof(*post); i++) {
		n = strlen(post[i]);
		if (n <= s->len && !memcmp(post[i], s->p, n)) {
			*rank = (long)i;
			*len = n;
			return true;
		}
	}
	return false;
}

/* Reads the token of the given type at s, then finds the next type. */
static struct apk_val apk_get(enum apk_tok *type, struct apk_str *s)
{
	struct apk_val v = {NULL, 0, 0, false};
	enum apk_tok nt = APK_INVALID;
	size_t i = 0;

	if (!s->len) {
		*type = APK_END;
		return v;
	}
	switch (*type) {
	case APK_DIGIT_OR_ZERO:
		if (s->p[0] == '0') {
			while (i < s->len && s->p[i] == '0')
				i++;
			nt = APK_DIGIT;
			v.small = -(long)i;
			break;
		}
		/* fall through */
	case APK_DIGIT:
	case APK_SUFFIX_NO:
	case APK_REVISION_NO:
		while (i < s->len && apk_isdigit(s->p[i]))
			i++;
		v.d = s->p;
		v.n = i;
		v.num = true;
		break;
	case APK_LETTER:
		v.small = (unsigned char)s->p[0];
		i = 1;
		break;
	case APK_SUFFIX:
		if (apk_suffix(s, &v.small, &i))
			break;
		/* fall through */
	default:
		*type = APK_INVALID;
		v.small = -1;
		return v;
	}
	apk_skip(s, i);
	if (!s->len)
		*type = APK_END;
	else if (nt != APK_INVALID)
		*type = nt;
	else
		apk_next_type(type, s);
	return v;
}

static int apk_valcmp(const struct apk_val *a, const struct apk_val *b)
{
	unsigned long long x = 0;
	size_t i, n;
	const char *d;

	if (a->num && b->num)
		return ver_numcmp(a->d, a->n, b->d, b->n);
	if (!a->num && !b->num)
		return (a->small > b->small) - (a->small < b->small);
	if (!a->num)
		return -apk_valcmp(b, a);
	/* a is a digit run, b a small integer. */
	if (b->small < 0)
		return 1;
	d = a->d;
	n = a->n;
	while (n && *d == '0') {
		d++;
		n--;
	}
	if (n > 18)
		return 1;
	for (i = 0; i < n; i++)
		x = x * 10 + (unsigned long long)(d[i] - '0');
	return (x > (unsigned long long)b->small) -
	       (x < (unsigned long long)b->small);
}

int ver_cmp_apk(const char *a, const char *b)
{
	struct apk_str sa = {a, strlen(a)}, sb = {b, strlen(b)};
	enum apk_tok at = APK_DIGIT, bt = APK_DIGIT, tt;
	struct apk_val av = {NULL, 0, 0, false}, bv = av;
	int c = 0;

	while (at == bt && at != APK_END && at != APK_INVALID && !c) {
		av = apk_get(&at, &sa);
		bv = apk_get(&bt, &sb);
		c = apk_valcmp(&av, &bv);
	}
	if (c)
		return c;
	if (at == bt)
		return 0;
	/* Same so far: the longer one is newer, unless what it has more of
	 * is a pre-release suffix. */
	tt = at;
	if (at == APK_SUFFIX && apk_get(&tt, &sa).small < 0)
		return -1;
	tt = bt;
	if (bt == APK_SUFFIX && apk_get(&tt, &sb).small < 0)
		return 1;
	if (at > bt)
		return -1;
	if (bt > at)
		return 1;
	return 0;
}
