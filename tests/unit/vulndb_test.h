/* vulndb_test.h: helpers the vulnerability DB's unit tests share
 * (test_vulndb.c, test_tracker.c): temporary files, inventories, matching.
 * Include it after cmocka.h: the helpers assert with it. */
#ifndef TESTS_UNIT_VULNDB_TEST_H
#define TESTS_UNIT_VULNDB_TEST_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "scanner/inventory_int.h"
#include "scanner/vulndb_int.h"

static inline void write_file(const char *dir, const char *name,
			      const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static inline char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0;

	if (!f)
		return xstrdup("");
	if (getdelim(&s, &n, '\0', f) < 0) {
		free(s);
		s = xstrdup("");
	}
	fclose(f);
	return s;
}

static inline void rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path))) {
		while ((de = readdir(d))) {
			char *sub;

			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			sub = xasprintf("%s/%s", path, de->d_name);
			rm_rf(sub);
			free(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static inline void inv_os(struct scan_inventory *inv, const char *id,
			  const char *version_id, const char *pretty)
{
	inv->os.id = id ? xstrdup(id) : NULL;
	inv->os.version_id = version_id ? xstrdup(version_id) : NULL;
	inv->os.pretty_name = pretty ? xstrdup(pretty) : NULL;
}

static inline void inv_pkg(struct scan_inventory *inv, enum scan_eco eco,
			   const char *name, const char *version,
			   const char *src, const char *src_version)
{
	struct scan_pkg p = {eco,	  (char *)name,	       (char *)version,
			     (char *)src, (char *)src_version, NULL,
			     NULL,	  SCAN_CONF_HIGH,      NULL};

	inv_add_pkg(inv, &p);
}

static inline struct vuln_finding *
match(struct vulndb *h, const struct scan_inventory *inv, size_t *n)
{
	struct vuln_finding *f = NULL;
	struct err e = ERR_INIT;

	if (vulndb_match(h, inv, &f, n, &e) < 0)
		fail_msg("match: %s", e.msg);
	return f;
}

/* The finding of id for the package named name, or NULL. */
static inline const struct vuln_finding *find(const struct scan_inventory *inv,
					      const struct vuln_finding *f,
					      size_t n, const char *name,
					      const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].id, id) &&
		    !strcmp(inv->pkgs[f[i].pkg].name, name))
			return &f[i];
	return NULL;
}

static inline bool has_string(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

#endif
