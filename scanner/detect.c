/* detect.c: which files the detectors want, and the shared helpers. */
#include "scanner/detect_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "scanner/meter_int.h"
#include "scanner/osrelease_int.h"
#include "common/banned.h"

static bool det_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

static const char *det_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* True when path is <...>/node_modules/<name>/package.json or
 * <...>/node_modules/@scope/<name>/package.json. */
static bool det_npm_installed(const char *path)
{
	const char *p, *nm = NULL;

	for (p = path; (p = strstr(p, "node_modules/")); p++)
		if (p == path || p[-1] == '/')
			nm = p;
	if (!nm || !det_ends(path, "/package.json"))
		return false;
	p = nm + strlen("node_modules/");
	if (*p == '@') {
		p = strchr(p, '/');
		if (!p)
			return false;
		p++;
	}
	p = strchr(p, '/');
	return p && !strcmp(p, "/package.json") && p != nm + 13;
}

/* usr/local/bin/python3.N or usr/local/lib/libpython3.N.so[.1.0]: the
 * interpreter an official python image builds from source. */
static bool det_python_rt_path(const char *path)
{
	bool bin = !strncmp(path, "usr/local/bin/python3.", 22);
	const char *p = path + (bin ? 22 : 25);

	if (!bin && strncmp(path, "usr/local/lib/libpython3.", 25))
		return false;
	if (*p < '0' || *p > '9')
		return false;
	p += strspn(p, "0123456789");
	/* Not python3.12-config, nor libpython3.12.a. */
	return bin ? !*p : !strncmp(p, ".so", 3);
}

static void det_set(struct det_want *w, enum det_kind kind, size_t max,
		    bool prefix, bool read)
{
	w->kind = kind;
	w->max = max;
	w->prefix = prefix;
	w->read = read;
}

bool det_want_file(const char *path, unsigned mode, struct det_want *w)
{
	const char *base = det_base(path);

	(void)mode;
	det_set(w, DET_NONE, 0, false, false);
	if (!strcmp(path, "etc/os-release") ||
	    !strcmp(path, "usr/lib/os-release"))
		det_set(w, DET_OSRELEASE, 64 << 10, true, true);
	else if (!strcmp(path, "etc/alpine-release"))
		det_set(w, DET_ALPINE_RELEASE, 4 << 10, true, true);
	else if (!strcmp(path, "var/lib/dpkg/status"))
		det_set(w, DET_DPKG, DET_MAX_FILE, false, true);
	else if (!strncmp(path, "var/lib/dpkg/status.d/", 22) &&
		 !strchr(path + 22, '/') && path[22] &&
		 !det_ends(path, ".md5sums"))
		det_set(w, DET_DPKG_D, DET_MAX_FILE, false, true);
	else if (!strcmp(path, "lib/apk/db/installed"))
		det_set(w, DET_APK, DET_MAX_FILE, false, true);
	else if (!strcmp(path, "var/lib/rpm/rpmdb.sqlite") ||
		 !strcmp(path, "usr/lib/sysimage/rpm/rpmdb.sqlite"))
		det_set(w, DET_RPM_SQLITE, DET_MAX_RPMDB, false, true);
	else if (!strcmp(path, "var/lib/rpm/Packages") ||
		 !strcmp(path, "usr/lib/sysimage/rpm/Packages"))
		det_set(w, DET_RPM_BDB, DET_MAX_RPMDB, false, true);
	else if (!strcmp(path, "var/lib/rpm/Packages.db") ||
		 !strcmp(path, "usr/lib/sysimage/rpm/Packages.db"))
		det_set(w, DET_RPM_NDB, DET_MAX_RPMDB, false, true);
	else if ((!strcmp(base, "METADATA") &&
		  det_ends(path, ".dist-info/METADATA")) ||
		 (!strcmp(base, "PKG-INFO") &&
		  det_ends(path, ".egg-info/PKG-INFO")) ||
		 det_ends(base, ".egg-info"))
		det_set(w, DET_PYTHON, DET_MAX_HEADERS, true, true);
	else if (!strcmp(base, "package-lock.json") ||
		 det_ends(path, "node_modules/.package-lock.json"))
		det_set(w, DET_NPM_LOCK, DET_MAX_FILE, false, true);
	else if (!strcmp(base, "package.json") && det_npm_installed(path))
		det_set(w, DET_NPM_PKG, 1 << 20, false, true);
	else if (det_ends(base, ".jar") || det_ends(base, ".war") ||
		 det_ends(base, ".ear"))
		det_set(w, DET_JAVA, DET_MAX_JAR, false, true);
	else if (!strcmp(path, "usr/local/bin/node") ||
		 !strcmp(path, "nodejs/bin/node"))
		det_set(w, DET_NODE, DET_MAX_RUNTIME, false, true);
	else if (det_python_rt_path(path))
		det_set(w, DET_PYTHON_RT, DET_MAX_RUNTIME, false, true);
	else if (!strcmp(path, "opt/java/openjdk/release") ||
		 (!strncmp(path, "usr/local/openjdk-", 18) &&
		  det_ends(path, "/release") &&
		  strchr(path + 18, '/') == path + strlen(path) - 8))
		det_set(w, DET_JAVA_RELEASE, 64 << 10, true, true);
	else if (!strncmp(path, "root/buildinfo/content_manifests/", 33) &&
		 !strchr(path + 33, '/') && det_ends(path + 33, ".json"))
		det_set(w, DET_CONTENT_MANIFEST, DET_MAX_MANIFEST, false, true);
	return w->kind != DET_NONE;
}

bool det_want_link(const char *path)
{
	return !strcmp(path, "etc/os-release") ||
	       !strcmp(path, "usr/lib/os-release") ||
	       !strcmp(path, "etc/alpine-release");
}

bool det_maybe_exec(unsigned mode)
{
	return (mode & 0111) != 0;
}

bool det_is_elf(const void *data, size_t len)
{
	return len >= 4 && !memcmp(data, "\177ELF", 4);
}

void det_out_init(struct det_out *o)
{
	inv_init(&o->inv);
	o->loc = NULL;
	o->loc_alloc = 0;
	o->max_pkgs = 0;
	o->full = false;
}

void det_out_release(struct det_out *o)
{
	for (size_t i = 0; i < o->inv.npkgs && o->loc; i++)
		free(o->loc[i]);
	free(o->loc);
	inv_release(&o->inv);
	det_out_init(o);
}

void det_out_add(struct det_out *o, const struct scan_pkg *p, const char *loc)
{
	size_t i = o->inv.npkgs;

	if (o->max_pkgs && i >= o->max_pkgs) {
		o->full = true;
		return;
	}
	inv_add_pkg(&o->inv, p);
	if (o->loc_alloc < o->inv.alloc) {
		o->loc = xrealloc(o->loc, o->inv.alloc * sizeof(*o->loc));
		memset(o->loc + o->loc_alloc, 0,
		       (o->inv.alloc - o->loc_alloc) * sizeof(*o->loc));
		o->loc_alloc = o->inv.alloc;
	}
	o->loc[i] = loc ? xstrdup(loc) : NULL;
}

void det_out_found(struct det_out *o, const struct det_file *f,
		   const struct scan_pkg *p, const char *loc)
{
	struct scan_pkg q = *p;

	q.layer = (char *)f->layer;
	q.path = (char *)f->path;
	det_out_add(o, &q, loc);
}

void det_run(enum det_kind kind, const struct det_file *f, struct det_out *out)
{
	switch (kind) {
	case DET_OSRELEASE:
		osrel_parse(f->data, f->len, &out->inv.os);
		break;
	case DET_ALPINE_RELEASE:
		osrel_parse_alpine(f->data, f->len, &out->inv.os);
		break;
	case DET_DPKG:
		det_dpkg(f, false, out);
		break;
	case DET_DPKG_D:
		det_dpkg(f, true, out);
		break;
	case DET_APK:
		det_apk(f, out);
		break;
	case DET_RPM_SQLITE:
		det_rpm_sqlite(f, out);
		break;
	case DET_RPM_BDB:
		det_rpm_bdb(f, out);
		break;
	case DET_RPM_NDB:
		det_rpm_ndb(f, out);
		break;
	case DET_PYTHON:
		det_python(f, out);
		break;
	case DET_NPM_LOCK:
		det_npm_lock(f, out);
		break;
	case DET_NPM_PKG:
		det_npm_pkg(f, out);
		break;
	case DET_JAVA:
		det_java(f, out);
		break;
	case DET_GO:
		det_go(f, out);
		break;
	case DET_NODE:
		det_node(f, out);
		break;
	case DET_PYTHON_RT:
		det_python_rt(f, out);
		break;
	case DET_JAVA_RELEASE:
		det_java_release(f, out);
		break;
	case DET_CONTENT_MANIFEST:
		det_content_manifest(f, out);
		break;
	case DET_NONE:
		break;
	}
}

bool det_field(const char *line, size_t n, const char *key, bool nocase,
	       const char **v, size_t *vn)
{
	size_t k = strlen(key);

	if (n <= k || line[k] != ':' ||
	    (nocase ? strncasecmp(line, key, k) : memcmp(line, key, k)))
		return false;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	*v = line;
	*vn = n;
	return true;
}

bool det_next_line(struct det_lines *it, const char **line, size_t *len)
{
	const char *nl;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	*line = it->p;
	*len = (size_t)((nl ? nl : it->end) - it->p);
	it->p = nl ? nl + 1 : it->end;
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	return true;
}

bool det_printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

bool det_json_affordable(const struct det_file *f, struct det_out *out,
			 size_t max_values, size_t max_depth)
{
	size_t values = 1, depth = 0;
	bool str = false;

	for (size_t i = 0; i < f->len; i++) {
		char c = f->data[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
			continue;
		}
		if (c == '"') {
			str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth) {
				meter_hit(f->meter, BUDGET_FILE_BYTES,
					  (int64_t)max_depth, f->layer,
					  "%s: JSON nested deeper than %zu "
					  "levels",
					  f->path, max_depth);
				goto fail;
			}
		} else if (c == ']' || c == '}') {
			depth -= depth > 0;
		} else if (c == ',' || c == ':') {
			if (++values > max_values) {
				meter_hit(f->meter, BUDGET_FILE_BYTES,
					  (int64_t)max_values, f->layer,
					  "%s: over %zu JSON values", f->path,
					  max_values);
				goto fail;
			}
		}
	}
	return true;
fail:
	inv_add_note(&out->inv,
		     "%s: not analysed: too costly to parse (see \"budgets\")",
		     f->path);
	return false;
}

json_t *det_json_object(const struct det_file *f, struct det_out *out,
			size_t max_values, size_t max_depth)
{
	json_error_t jerr;
	json_t *doc;

	if (!det_json_affordable(f, out, max_values, max_depth))
		return NULL;
	doc = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &jerr);
	if (json_is_object(doc))
		return doc;
	inv_add_note(&out->inv,
		     "%s: not analysed: malformed JSON (%s, line %d)", f->path,
		     doc ? "not an object" : jerr.text, doc ? 1 : jerr.line);
	json_decref(doc);
	return NULL;
}
