/* eco_sqlite.c: what the stored reports name, for the feed updater
 * (stor_scan_ecosystems() in storage.h).  One read-only query over
 * scan_results; the reports are parsed by sqlite's JSON functions. */
#include "storage/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "common/banned.h"

struct eco_rows {
	char **v;
	size_t n, alloc;
};

static int eco_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	struct eco_rows *r = arg;
	char *v = sq_col_strdup(s, 0);

	(void)e;
	if (!v)
		return 0;
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 16;
		r->v = xrealloc(r->v, r->alloc * sizeof(*r->v));
	}
	r->v[r->n++] = v;
	return 0;
}

int stor_scan_ecosystems(struct stor *st, char ***out, size_t *n, struct err *e)
{
	static const struct sql_stmt q = {
		"list the reports' ecosystems",
		"SELECT DISTINCT p.value ->> 'ecosystem' FROM scan_results,"
		" json_each(scan_results.report, '$.packages') AS p"
		" WHERE json_valid(scan_results.report)"
		" UNION SELECT DISTINCT 'os:' || (report ->> '$.os.id') || ':' "
		"||"
		" coalesce(report ->> '$.os.version_id', '')"
		" FROM scan_results WHERE json_valid(report) AND"
		" report ->> '$.os.id' IS NOT NULL",
	};
	struct eco_rows r = {NULL, 0, 0};

	/* Reports kept as text predate the report blobs, and so any
	 * PostgreSQL metadata: there it names none. */
	if (!sql_is(stor_meta_of(st), &sql_sqlite)) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (sq_do(sq_of(stor_meta_of(st)), &q, eco_row, &r, e, "") < 0) {
		for (size_t i = 0; i < r.n; i++)
			free(r.v[i]);
		free(r.v);
		return -1;
	}
	*out = r.v;
	*n = r.n;
	return 0;
}
