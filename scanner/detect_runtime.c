/* detect_runtime.c: language runtimes installed outside a package manager,
 * where their official images put them, by the version they embed:
 *   Node.js   usr/local/bin/node, nodejs/bin/node (distroless): the
 *             binary holds "node.js/v20.11.0" (the inspector's
 *             /json/version "Browser" value, "node.js/" NODE_VERSION)
 *   Python    usr/local/bin/python3.N, usr/local/lib/libpython3.N.so*:
 *             Py_GetVersion()'s PY_VERSION, a "\0" "3.N.x" "\0" string
 *             whose 3.N is the one in the file name
 *   OpenJDK   opt/java/openjdk/release (eclipse-temurin),
 *             usr/local/openjdk-N/release (the old openjdk images):
 *             SEMANTIC_VERSION="17.0.9+9" or JAVA_VERSION="17.0.9"
 * Runtimes a distribution packages (usr/bin/node, usr/lib/jvm) are its
 * package database's to report, with its backported fixes.  The files are
 * untrusted: every search is bounded by the file's length, a version is
 * digits and dots, and a file without one adds nothing.
 */
#define _GNU_SOURCE /* memmem */
#include "scanner/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "common/banned.h"

#define RT_MAX_VERSION 32

static void rt_add(const struct det_file *f, const char *name, const char *ver,
		   const char *evidence, struct det_out *out)
{
	struct scan_pkg p = {.eco = ECO_RUNTIME, .conf = SCAN_CONF_MEDIUM};

	p.name = (char *)name;
	p.version = (char *)ver;
	p.evidence = (char *)evidence;
	det_out_found(out, f, &p, NULL);
}

/* Length of the "N.N.N" at p (at most end), 0 if there is none; parts
 * dotted parts exactly. */
static size_t rt_dotted(const char *p, const char *end, int parts)
{
	const char *s = p;

	for (int i = 0; i < parts; i++) {
		const char *d = p;

		if (i && (p >= end || *p++ != '.'))
			return 0;
		d = p;
		while (p < end && *p >= '0' && *p <= '9' && p - d < 9)
			p++;
		if (p == d)
			return 0;
	}
	return (size_t)(p - s);
}

void det_node(const struct det_file *f, struct det_out *out)
{
	static const char tag[] = "node.js/v";
	const char *p = f->data, *end = f->data + f->len, *hit;
	char ver[RT_MAX_VERSION];
	size_t n;

	while ((hit = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1))) {
		p = hit + sizeof(tag) - 1;
		n = rt_dotted(p, end, 3);
		if (n && n < sizeof(ver)) {
			memcpy(ver, p, n);
			ver[n] = '\0';
			rt_add(f, "node", ver,
			       "binary: node.js/v version string", out);
			return;
		}
	}
	if (det_is_elf(f->data, f->len))
		inv_add_note(&out->inv, "%s: no Node.js version found",
			     f->path);
}

/* "3.12" from ".../python3.12" or ".../libpython3.12.so.1.0". */
static bool rt_python_minor(const char *path, char *mm, size_t size)
{
	const char *base = strrchr(path, '/'), *p;
	size_t n;

	base = base ? base + 1 : path;
	if (!strncmp(base, "libpython", 9))
		p = base + 9;
	else if (!strncmp(base, "python", 6))
		p = base + 6;
	else
		return false;
	n = rt_dotted(p, p + strlen(p), 2);
	if (!n || n >= size || p[0] != '3')
		return false;
	memcpy(mm, p, n);
	mm[n] = '\0';
	return true;
}

/* PY_VERSION: "3.12.1", "3.13.0rc2", "3.11.4+" as a NUL-delimited string. */
void det_python_rt(const struct det_file *f, struct det_out *out)
{
	const char *p = f->data, *end = f->data + f->len, *hit;
	char mm[16], pat[20], ver[RT_MAX_VERSION];
	size_t n, k;

	if (!rt_python_minor(f->path, mm, sizeof(mm)))
		return;
	k = (size_t)snprintf(pat, sizeof(pat), "%c%s.", '\0', mm);
	while ((hit = memmem(p, (size_t)(end - p), pat, k))) {
		const char *v = hit + 1, *q;

		p = hit + 1;
		n = rt_dotted(v, end, 3);
		if (!n)
			continue;
		q = v + n;
		/* PY_VERSION's release level: "a1", "b3", "rc2"; a "+"
		 * marks a build past the release. */
		if (q < end && (*q == 'a' || *q == 'b' || *q == 'r')) {
			q += *q == 'r' && q + 1 < end && q[1] == 'c' ? 2 : 1;
			if (q[-1] == 'r' || !rt_dotted(q, end, 1))
				continue;
			q += rt_dotted(q, end, 1);
		}
		if (q < end && *q == '+')
			q++;
		if (q >= end || *q || q - v >= RT_MAX_VERSION)
			continue;
		/* Kept as the binary says: semver orders "3.13.0rc2"
		 * before 3.13.0, as a pre-release is. */
		memcpy(ver, v, (size_t)(q - v));
		ver[q - v] = '\0';
		if (ver[strlen(ver) - 1] == '+')
			ver[strlen(ver) - 1] = '\0';
		rt_add(f, "python", ver, "binary: Py_GetVersion() string", out);
		return;
	}
	if (det_is_elf(f->data, f->len))
		inv_add_note(&out->inv, "%s: no Python version found", f->path);
}

/* KEY="value" from a release file; NULL if absent or not a version. */
static char *rt_release_get(const struct det_file *f, const char *key)
{
	struct det_lines it = {f->data, f->data + f->len};
	size_t k = strlen(key), n;
	const char *line;

	while (det_next_line(&it, &line, &n)) {
		if (n < k + 3 || memcmp(line, key, k) || line[k] != '=' ||
		    line[k + 1] != '"' || line[n - 1] != '"')
			continue;
		line += k + 2;
		n -= k + 3;
		if (!n || n >= RT_MAX_VERSION)
			return NULL;
		return xstrndup(line, n);
	}
	return NULL;
}

/* True when the version ends at p: the string's end, or a build. */
static bool rt_java_end(char c)
{
	return c == '\0' || c == '+' || c == '-';
}

/* "17.0.9+9" -> "17.0.9"; "11.0.20.1" stays; "1.8.0_392" -> "8.0.392"
 * (how Bitnami and the JDK 8 SEMANTIC_VERSION write it); "21" ->
 * "21.0.0".  NULL if it is not such a version. */
static char *rt_java_version(const char *v)
{
	const char *end = v + strlen(v);
	size_t n;

	if (!strncmp(v, "1.8.0_", 6) && (n = rt_dotted(v + 6, end, 1)) &&
	    rt_java_end(v[6 + n]))
		return xasprintf("8.0.%.*s", (int)n, v + 6);
	for (int parts = 4; parts >= 1; parts--) {
		n = rt_dotted(v, end, parts);
		if (n && rt_java_end(v[n]))
			return parts >= 3
				       ? xstrndup(v, n)
				       : xasprintf("%.*s%s", (int)n, v,
						   parts == 2 ? ".0" : ".0.0");
	}
	return NULL;
}

void det_java_release(const struct det_file *f, struct det_out *out)
{
	static const char *const keys[] = {"SEMANTIC_VERSION", "JAVA_VERSION"};
	char *raw = NULL, *ver = NULL, *impl = NULL, *ev = NULL;

	for (size_t i = 0; i < 2 && !ver; i++) {
		free(raw);
		raw = rt_release_get(f, keys[i]);
		ver = raw ? rt_java_version(raw) : NULL;
		if (ver) {
			impl = rt_release_get(f, "IMPLEMENTOR");
			if (impl && !det_printable(impl)) {
				free(impl);
				impl = NULL;
			}
			ev = xasprintf("release file: %s%s%s%s", keys[i],
				       impl ? " (" : "", impl ? impl : "",
				       impl ? ")" : "");
		}
	}
	if (ver)
		rt_add(f, "java", ver, ev, out);
	else
		inv_add_note(&out->inv, "%s: no Java version found", f->path);
	free(raw);
	free(ver);
	free(impl);
	free(ev);
}
