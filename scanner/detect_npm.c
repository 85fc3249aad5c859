/* detect_npm.c: package-lock.json (lockfile v1 "dependencies" tree, v2/v3
 * "packages" map), npm's hidden lockfile node_modules/.package-lock.json,
 * and the package.json of each installed package.
 *
 * Each package carries its install location ("app/node_modules/a/
 * node_modules/b") so that the scan can keep one entry per installed copy
 * when a lockfile and the installed package.json files both name it.
 */
#include "scanner/detect_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "scanner/meter_int.h"
#include "common/banned.h"

#define NPM_MAX_DEPTH 64
/* What a lockfile may cost jansson, which spends ~50-100 bytes a value
 * (the file cap alone would let 64 MiB of "0," take ~3 GiB), and keeps
 * the nesting well below its own 2048 limit.  A large real lockfile has
 * ~10 values a package: 2 M values is ~200k packages. */
#define NPM_MAX_JSON_VALUES 2000000
#define NPM_MAX_JSON_DEPTH  256

/* The directory the lockfile describes ("" for the image root). */
static char *npm_root(const char *path)
{
	static const char hidden[] = "node_modules/.package-lock.json";
	size_t n = strlen(path), h = strlen(hidden);
	const char *slash;

	if (n >= h && !strcmp(path + n - h, hidden) &&
	    (n == h || path[n - h - 1] == '/'))
		return xstrndup(path, n > h ? n - h - 1 : 0);
	slash = strrchr(path, '/');
	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
}

static char *npm_join(const char *dir, const char *rel)
{
	return *dir ? xasprintf("%s/%s", dir, rel) : xstrdup(rel);
}

static bool npm_str_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n && n <= DET_MAX_FIELD && !strchr(s, ' ');
}

static void npm_add(const struct det_file *f, const char *name,
		    const char *version, const char *loc, struct det_out *out)
{
	struct scan_pkg p = {.eco = ECO_NPM};

	p.name = (char *)name;
	p.version = (char *)version;
	det_out_found(out, f, &p, loc);
}

/* The name of the package at key "node_modules/a/node_modules/@s/b". */
static const char *npm_key_name(const char *key)
{
	const char *p = key, *last = NULL;

	while ((p = strstr(p, "node_modules/"))) {
		if (p == key || p[-1] == '/')
			last = p + 13;
		p += 13;
	}
	return last;
}

static void npm_packages(const struct det_file *f, json_t *pkgs,
			 const char *root, struct det_out *out, size_t *bad)
{
	const char *key, *name, *version;
	json_t *v;

	json_object_foreach(pkgs, key, v) {
		char *loc;

		if (strncmp(key, "node_modules/", 13) &&
		    !strstr(key, "/node_modules/"))
			continue; /* the project itself, or a workspace */
		if (!json_is_object(v) ||
		    json_is_true(json_object_get(v, "link")))
			continue;
		version = json_string_value(json_object_get(v, "version"));
		name = json_string_value(json_object_get(v, "name"));
		if (!name)
			name = npm_key_name(key);
		if (!npm_str_ok(name) || !npm_str_ok(version)) {
			(*bad)++;
			continue;
		}
		loc = npm_join(root, key);
		npm_add(f, name, version, loc, out);
		free(loc);
	}
}

static void npm_deps(const struct det_file *f, json_t *deps, const char *at,
		     int depth, struct det_out *out, size_t *bad)
{
	const char *name, *version;
	json_t *v;

	if (!json_is_object(deps))
		return;
	if (depth > NPM_MAX_DEPTH) {
		(*bad)++;
		return;
	}
	json_object_foreach(deps, name, v) {
		char *loc;

		version = json_string_value(json_object_get(v, "version"));
		if (!npm_str_ok(name) || !npm_str_ok(version)) {
			(*bad)++;
			continue;
		}
		loc = xasprintf("%s%snode_modules/%s", at, *at ? "/" : "",
				name);
		/* "file:" and git versions are not registry versions. */
		if (!strchr(version, ':'))
			npm_add(f, name, version, loc, out);
		npm_deps(f, json_object_get(v, "dependencies"), loc, depth + 1,
			 out, bad);
		free(loc);
	}
}

void det_npm_lock(const struct det_file *f, struct det_out *out)
{
	json_t *doc, *pkgs;
	size_t bad = 0;
	char *root;

	doc = det_json_object(f, out, NPM_MAX_JSON_VALUES, NPM_MAX_JSON_DEPTH);
	if (!doc)
		return;
	root = npm_root(f->path);
	pkgs = json_object_get(doc, "packages");
	if (json_is_object(pkgs))
		npm_packages(f, pkgs, root, out, &bad);
	else
		npm_deps(f, json_object_get(doc, "dependencies"), root, 0, out,
			 &bad);
	if (bad)
		inv_add_note(&out->inv, "%s: %zu malformed entries skipped",
			     f->path, bad);
	free(root);
	json_decref(doc);
}

void det_npm_pkg(const struct det_file *f, struct det_out *out)
{
	const char *name, *version, *slash;
	json_error_t jerr;
	json_t *doc;
	char *loc;

	doc = json_loadb(f->data, f->len, 0, &jerr);
	name = json_string_value(json_object_get(doc, "name"));
	version = json_string_value(json_object_get(doc, "version"));
	if (!doc) {
		inv_add_note(&out->inv,
			     "%s: not analysed: malformed JSON (%s, line %d)",
			     f->path, jerr.text, jerr.line);
	} else if (npm_str_ok(name) && npm_str_ok(version)) {
		slash = strrchr(f->path, '/');
		loc = xstrndup(f->path, (size_t)(slash - f->path));
		npm_add(f, name, version, loc, out);
		free(loc);
	}
	json_decref(doc);
}
