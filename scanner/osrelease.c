/* osrelease.c: os-release(5) and etc/alpine-release. */
#include "scanner/osrelease_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "scanner/detect_int.h"
#include "common/banned.h"

/* Unquotes a value the way os-release(5) allows: "..." or '...' with
 * backslash escapes inside double quotes, or a bare word. */
static char *osrel_value(const char *v, size_t len)
{
	struct buf b = BUF_INIT;
	char q = 0;

	if (len && (v[0] == '"' || v[0] == '\'')) {
		q = v[0];
		v++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		if (q && v[i] == q)
			break;
		if (q == '"' && v[i] == '\\' && i + 1 < len)
			i++;
		buf_add(&b, &v[i], 1);
	}
	return buf_detach(&b, NULL);
}

static void osrel_set(char **field, const char *v, size_t len)
{
	free(*field);
	*field = osrel_value(v, len);
}

void osrel_parse(const char *data, size_t len, struct scan_os *os)
{
	struct det_lines it = {data, data + len};
	const char *line, *eq;
	size_t n, klen;

	while (det_next_line(&it, &line, &n)) {
		if (n > DET_MAX_FIELD || !n || line[0] == '#')
			continue;
		eq = memchr(line, '=', n);
		if (!eq)
			continue;
		klen = (size_t)(eq - line);
		n -= klen + 1;
		if (klen == 2 && !memcmp(line, "ID", 2))
			osrel_set(&os->id, eq + 1, n);
		else if (klen == 10 && !memcmp(line, "VERSION_ID", 10))
			osrel_set(&os->version_id, eq + 1, n);
		else if (klen == 11 && !memcmp(line, "PRETTY_NAME", 11))
			osrel_set(&os->pretty_name, eq + 1, n);
		else if (klen == 16 && !memcmp(line, "VERSION_CODENAME", 16))
			osrel_set(&os->codename, eq + 1, n);
	}
}

void osrel_parse_alpine(const char *data, size_t len, struct scan_os *os)
{
	struct det_lines it = {data, data + len};
	const char *line;
	size_t n;

	if (!det_next_line(&it, &line, &n) || !n || n > 64)
		return;
	free(os->id);
	os->id = xstrdup("alpine");
	free(os->version_id);
	os->version_id = xstrndup(line, n);
}

enum scan_eco osrel_dpkg_eco(const struct scan_os *os)
{
	return os->id && !strcmp(os->id, "ubuntu") ? ECO_UBUNTU : ECO_DEBIAN;
}

enum scan_eco osrel_apk_eco(const struct scan_os *os)
{
	if (os->id && !strcmp(os->id, "wolfi"))
		return ECO_WOLFI;
	if (os->id && !strcmp(os->id, "chainguard"))
		return ECO_CHAINGUARD;
	return ECO_ALPINE;
}
