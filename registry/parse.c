#include "registry/parse_int.h"

#include <string.h>

#include "common/banned.h"

static bool parse_is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool parse_is_alnum(char c)
{
	return parse_is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool parse_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Skips one [a-z0-9]+ run starting at *i; false if there is none. */
static bool parse_name_run(const char *s, size_t len, size_t *i)
{
	if (*i == len || !parse_is_lower_alnum(s[*i]))
		return false;
	while (*i < len && parse_is_lower_alnum(s[*i]))
		(*i)++;
	return true;
}

/* Skips one separator (".", "_", "__" or "-+") starting at *i. */
static bool parse_name_sep(const char *s, size_t len, size_t *i)
{
	switch (s[*i]) {
	case '.':
		(*i)++;
		return true;
	case '_':
		(*i)++;
		if (*i < len && s[*i] == '_')
			(*i)++;
		return true;
	case '-':
		while (*i < len && s[*i] == '-')
			(*i)++;
		return true;
	default:
		return false;
	}
}

bool reg_name_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > REG_NAME_MAX)
		return false;
	for (;;) {
		/* One path component: runs joined by separators. */
		if (!parse_name_run(s, len, &i))
			return false;
		while (i < len && s[i] != '/') {
			if (!parse_name_sep(s, len, &i) ||
			    !parse_name_run(s, len, &i))
				return false;
		}
		if (i == len)
			return true;
		i++; /* the '/' */
	}
}

int reg_parse_name(const char *s, size_t len, char out[REG_NAME_MAX + 1],
		   struct err *e)
{
	if (len > REG_NAME_MAX)
		return err_set(e, ERR_NAME_INVALID,
			       "repository name is %zu bytes, more than %d",
			       len, REG_NAME_MAX);
	if (!reg_name_valid(s, len))
		return err_set(e, ERR_NAME_INVALID,
			       "invalid repository name '%.*s': components are "
			       "[a-z0-9] runs joined by '.', '_', '__' or '-'",
			       (int)len, s);
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

bool reg_tag_valid(const char *s, size_t len)
{
	if (len == 0 || len > REG_TAG_MAX)
		return false;
	if (!parse_is_alnum(s[0]) && s[0] != '_')
		return false;
	for (size_t i = 1; i < len; i++)
		if (!parse_is_alnum(s[i]) && s[i] != '_' && s[i] != '.' &&
		    s[i] != '-')
			return false;
	return true;
}

int reg_parse_ref(const char *s, size_t len, struct reg_ref *out, struct err *e)
{
	if (memchr(s, ':', len)) {
		if (digest_parse(s, len, &out->digest, e) < 0)
			return -1;
		out->is_digest = true;
		out->tag[0] = '\0';
		return 0;
	}
	if (!reg_tag_valid(s, len))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "invalid tag '%.*s': must match "
			       "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}",
			       (int)(len > 200 ? 200 : len), s);
	out->is_digest = false;
	memcpy(out->tag, s, len);
	out->tag[len] = '\0';
	return 0;
}

bool reg_upload_id_valid(const char *s, size_t len)
{
	if (len == 0 || len > REG_UPLOAD_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!parse_is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* Parses a run of decimal digits at *i into *out; false if there is none
 * or it does not fit in int64_t. */
static bool parse_u63(const char *s, size_t len, size_t *i, int64_t *out)
{
	int64_t v = 0;
	size_t start = *i;

	while (*i < len && parse_is_digit(s[*i])) {
		int d = s[*i] - '0';

		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		(*i)++;
	}
	if (*i == start)
		return false;
	*out = v;
	return true;
}

int reg_parse_content_range(const char *s, size_t len, int64_t *start,
			    int64_t *end, struct err *e)
{
	int64_t a, b;
	size_t i = 0;

	if (!parse_u63(s, len, &i, &a) || i == len || s[i++] != '-' ||
	    !parse_u63(s, len, &i, &b) || i != len)
		return err_set(e, ERR_BLOB_UPLOAD_INVALID,
			       "Content-Range '%.*s' is not of the form a-b",
			       (int)(len > 64 ? 64 : len), s);
	if (b < a)
		return err_set(e, ERR_RANGE_INVALID,
			       "Content-Range %lld-%lld ends before it starts",
			       (long long)a, (long long)b);
	*start = a;
	*end = b;
	return 0;
}

int reg_parse_page_n(const char *s, long max_n, long *out, struct err *e)
{
	size_t i = 0, len;
	int64_t v;

	if (!s) {
		*out = -1;
		return 0;
	}
	len = strlen(s);
	if (!parse_u63(s, len, &i, &v) || i != len)
		return err_set(e, ERR_PAGINATION_INVALID,
			       "n must be a non-negative integer");
	*out = v > max_n ? max_n : (long)v;
	return 0;
}

int reg_parse_last(const char *s, bool is_tag, struct err *e)
{
	size_t len;

	if (!s || !*s)
		return 0;
	len = strlen(s);
	if (is_tag ? !reg_tag_valid(s, len) : !reg_name_valid(s, len))
		return err_set(e, is_tag ? ERR_TAG_INVALID : ERR_NAME_INVALID,
			       "last must be a %s",
			       is_tag ? "tag" : "repository name");
	return 0;
}

/* RFC 6838 restricted-name characters. */
static bool parse_is_mt_char(char c)
{
	return parse_is_alnum(c) || (c && strchr("!#$&-^_.+", c));
}

static bool parse_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int reg_parse_media_type(const char *s, char out[REG_MEDIA_TYPE_MAX + 1],
			 struct err *e)
{
	size_t a = 0, b, slash = 0;

	out[0] = '\0';
	if (!s)
		return 0;
	while (parse_is_blank(s[a]))
		a++;
	b = a;
	while (s[b] && s[b] != ';' && !parse_is_blank(s[b]))
		b++;
	if (b == a)
		return 0;
	if (b - a > REG_MEDIA_TYPE_MAX)
		return err_set(e, ERR_INVALID, "media type is too long");
	for (size_t i = a; i < b; i++) {
		if (s[i] == '/' && !slash && i > a)
			slash = i;
		else if (!parse_is_mt_char(s[i]))
			return err_set(e, ERR_INVALID,
				       "invalid media type '%.*s'",
				       (int)(b - a), s + a);
	}
	if (!slash || slash + 1 == b)
		return err_set(e, ERR_INVALID,
			       "media type '%.*s' is not type/subtype",
			       (int)(b - a), s + a);
	for (size_t i = b; s[i] && s[i] != ';'; i++)
		if (!parse_is_blank(s[i]))
			return err_set(e, ERR_INVALID,
				       "junk after media type '%.*s'",
				       (int)(b - a), s + a);
	memcpy(out, s + a, b - a);
	out[b - a] = '\0';
	return 0;
}
