/* Alpine secdb documents (https://secdb.alpinelinux.org/v3.NN/main.json):
 *
 *   { "distroversion": "v3.18", "reponame": "main",
 *     "packages": [ { "pkg": { "name": "openssl",
 *                              "secfixes": { "3.1.1-r0": ["CVE-..."] } } } ] }
 *
 * Each (origin package, fixed version, id) becomes a secfix row.  A fixed
 * version "0" means "never affected in this release"; it is kept (status
 * counts it) and the matcher ignores it. */
#include "scanner/vulndb_int.h"

#include <string.h>

#include "common/log.h"
#include "common/banned.h"

bool secdb_is_secdb(json_t *doc)
{
	return json_is_object(doc) &&
	       json_is_array(json_object_get(doc, "packages")) &&
	       json_is_string(json_object_get(doc, "distroversion"));
}

static bool secdb_check(json_t *doc, const char **why)
{
	json_t *p, *fixes, *ids, *id;
	const char *ver, *dv;
	size_t i, j;

	dv = json_string_value(json_object_get(doc, "distroversion"));
	if (dv[0] != 'v' && strcmp(dv, "edge")) {
		*why = "distroversion is not \"vN.N\"";
		return false;
	}
	json_array_foreach(json_object_get(doc, "packages"), i, p) {
		json_t *pkg = json_object_get(p, "pkg");

		if (!json_is_string(json_object_get(pkg, "name"))) {
			*why = "package without a name";
			return false;
		}
		fixes = json_object_get(pkg, "secfixes");
		if (!fixes || json_is_null(fixes))
			continue;
		if (!json_is_object(fixes)) {
			*why = "secfixes is not an object";
			return false;
		}
		json_object_foreach(fixes, ver, ids) {
			if (!json_is_array(ids)) {
				*why = "secfixes entry is not an array";
				return false;
			}
			json_array_foreach(ids, j, id)
				if (!json_is_string(id)) {
					*why = "secfixes id is not a string";
					return false;
				}
		}
	}
	return true;
}

/* One secfixes string holds an id, sometimes several separated by blanks
 * ("CVE-2018-0732 CVE-2018-0737"); each is stored. */
static int secdb_store_ids(struct vulndb_imp *imp, const char *s, struct err *e)
{
	sqlite3_stmt *st = imp->ins_secfix;

	while (*s) {
		size_t n;

		while (*s == ' ' || *s == '\t')
			s++;
		n = strcspn(s, " \t");
		if (!n)
			break;
		if (sqlite3_bind_text(st, 5, s, (int)n, SQLITE_TRANSIENT) !=
			    SQLITE_OK ||
		    vulndb_step_done(st, e) < 0)
			return err_set(e, ERR_DB, "storing secfix: %s",
				       sqlite3_errmsg(imp->db));
		imp->secfixes++;
		s += n;
	}
	return 0;
}

int secdb_import(struct vulndb_imp *imp, json_t *doc, const char *name,
		 struct err *e)
{
	const char *why = NULL, *repo, *dv, *ver;
	sqlite3_stmt *st = imp->ins_secfix;
	json_t *p, *ids, *id;
	size_t i, j;

	if (!secdb_check(doc, &why)) {
		log_msg(LL_WARN, "vulndb: skipping %s: malformed secdb: %s",
			name, why);
		imp->skipped++;
		return REC_SKIPPED;
	}
	dv = json_string_value(json_object_get(doc, "distroversion"));
	repo = json_string_value(json_object_get(doc, "reponame"));
	json_array_foreach(json_object_get(doc, "packages"), i, p) {
		json_t *pkg = json_object_get(p, "pkg");
		const char *pname =
			json_string_value(json_object_get(pkg, "name"));

		json_object_foreach(json_object_get(pkg, "secfixes"), ver,
				    ids) {
			if (vulndb_bind_text(st, 1, dv, e) < 0 ||
			    vulndb_bind_text(st, 2, repo ? repo : "", e) < 0 ||
			    vulndb_bind_text(st, 3, pname, e) < 0 ||
			    vulndb_bind_text(st, 4, ver, e) < 0)
				return -1;
			json_array_foreach(ids, j, id)
				if (secdb_store_ids(imp, json_string_value(id),
						    e) < 0)
					return -1;
		}
	}
	return REC_STORED;
}
