/* layer_sql.c: per-layer indexes and their queue, on either engine
 * (sql_int.h; storage.h, "Layer indexes").
 *
 * A claim is one statement, as the scan queue's: on PostgreSQL nodes
 * claiming at once skip each other's rows (FOR UPDATE SKIP LOCKED).
 * gc forgets a layer's row with the blob's links (maint_sql.c).
 */
#include "storage/sql_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static const char *const sql_layer_states[] = {
	[STOR_LAYER_NONE] = "",		  [STOR_LAYER_QUEUED] = "queued",
	[STOR_LAYER_RUNNING] = "running", [STOR_LAYER_DONE] = "done",
	[STOR_LAYER_SKIPPED] = "skipped",
};

static enum stor_layer_state sql_layer_state(const char *t)
{
	for (int i = STOR_LAYER_QUEUED; t && i <= STOR_LAYER_SKIPPED; i++)
		if (!strcmp(t, sql_layer_states[i]))
			return (enum stor_layer_state)i;
	return STOR_LAYER_NONE;
}

void stor_layer_release(struct stor_layer *l)
{
	free(l->version);
	free(l->index);
	free(l->error);
	memset(l, 0, sizeof(*l));
}

int stor_layer_enqueue(struct stor *st, const struct digest *dg, struct err *e)
{
	static const struct sql_stmt q = {
		"queue layer index",
		"INSERT INTO layer_index (digest, state, created, updated)"
		" VALUES (?1, 'queued', ?2, ?2) ON CONFLICT (digest) DO "
		"NOTHING",
	};
	char ds[DIGEST_STR_MAX];

	return sql_do(stor_meta_of(st), &q, NULL, NULL, e, "si",
		      digest_str(dg, ds), sql_now()) < 0
		       ? -1
		       : 0;
}

static int sql_layer_claim_row(void *arg, const struct sql_row *r,
			       struct err *e)
{
	if (sql_col_digest(r, 0, arg, e) < 0)
		return -1;
	return 1;
}

int stor_layer_claim(struct stor *st, const struct digest *want,
		     int64_t lease_s, struct digest *out, struct err *e)
{
	static const struct sql_stmt next = {
		"claim layer index",
		"UPDATE layer_index SET state = 'running',"
		" attempts = attempts + 1, lease = ?2, updated = ?1"
		" WHERE digest = (SELECT digest FROM layer_index"
		"  WHERE state = 'queued'"
		"  OR (state = 'running' AND lease < ?1)"
		"  ORDER BY created LIMIT 1)"
		" RETURNING digest" SQL_PG(
			"UPDATE layer_index SET state = 'running',"
			" attempts = attempts + 1, lease = ?2, updated = ?1"
			" WHERE digest = (SELECT digest FROM layer_index"
			"  WHERE state = 'queued'"
			"  OR (state = 'running' AND lease < ?1)"
			"  ORDER BY created, digest LIMIT 1"
			"  FOR UPDATE SKIP LOCKED)"
			" RETURNING digest"),
	};
	static const struct sql_stmt one = {
		"claim a layer to index",
		"INSERT INTO layer_index AS l (digest, state, attempts, lease,"
		" created, updated) VALUES (?3, 'running', 1, ?2, ?1, ?1)"
		" ON CONFLICT (digest) DO UPDATE SET state = 'running',"
		" attempts = l.attempts + 1, lease = excluded.lease,"
		" updated = excluded.updated"
		" WHERE l.state = 'queued'"
		" OR (l.state = 'running' AND l.lease < excluded.updated)"
		" RETURNING digest",
	};
	char ds[DIGEST_STR_MAX];
	int64_t now = sql_now();
	int n;

	if (want)
		n = sql_do(stor_meta_of(st), &one, sql_layer_claim_row, out, e,
			   "iis", now, now + lease_s, digest_str(want, ds));
	else
		n = sql_do(stor_meta_of(st), &next, sql_layer_claim_row, out, e,
			   "ii", now, now + lease_s);
	return n < 0 ? -1 : n > 0;
}

int stor_layer_put(struct stor *st, const struct digest *dg,
		   const char *version, const char *index, struct err *e)
{
	static const struct sql_stmt q = {
		"store layer index",
		"INSERT INTO layer_index AS l (digest, state, created, updated,"
		" version, result) VALUES (?1, 'done', ?2, ?2, ?3, ?4)"
		" ON CONFLICT (digest) DO UPDATE SET state = 'done',"
		" updated = excluded.updated, version = excluded.version,"
		" result = excluded.result, error = NULL",
	};
	char ds[DIGEST_STR_MAX];

	return sql_do(stor_meta_of(st), &q, NULL, NULL, e, "siss",
		      digest_str(dg, ds), sql_now(), version, index) < 0
		       ? -1
		       : 0;
}

int stor_layer_skip(struct stor *st, const struct digest *dg, const char *why,
		    struct err *e)
{
	static const struct sql_stmt q = {
		"skip layer index",
		"UPDATE layer_index SET updated = ?2, error = ?3,"
		" state = CASE WHEN ?3 IS NULL THEN 'queued' ELSE 'skipped' END"
		" WHERE digest = ?1" SQL_PG(
			"UPDATE layer_index SET updated = ?2, error = ?3::text,"
			" state = CASE WHEN ?3::text IS NULL THEN 'queued'"
			"  ELSE 'skipped' END WHERE digest = ?1"),
	};
	char ds[DIGEST_STR_MAX];

	return sql_do(stor_meta_of(st), &q, NULL, NULL, e, "sis",
		      digest_str(dg, ds), sql_now(), why) < 0
		       ? -1
		       : 0;
}

static int sql_layer_row(void *arg, const struct sql_row *r, struct err *e)
{
	struct stor_layer *l = arg;

	(void)e;
	l->state = sql_layer_state(sql_col_text(r, 0));
	l->attempts = (int)sql_col_int64(r, 1);
	l->version = sql_col_strdup(r, 2);
	l->error = sql_col_strdup(r, 3);
	if (sql_col_count(r) > 4)
		l->index = sql_col_strdup(r, 4);
	return 1;
}

int stor_layer_get(struct stor *st, const struct digest *dg, bool with_index,
		   struct stor_layer *out, struct err *e)
{
	static const struct sql_stmt bare = {
		"read layer state",
		"SELECT state, attempts, version, error"
		" FROM layer_index WHERE digest = ?1",
	};
	static const struct sql_stmt full = {
		"read layer index",
		"SELECT state, attempts, version, error, result"
		" FROM layer_index WHERE digest = ?1",
	};
	char ds[DIGEST_STR_MAX];

	memset(out, 0, sizeof(*out));
	if (sql_do(stor_meta_of(st), with_index ? &full : &bare, sql_layer_row,
		   out, e, "s", digest_str(dg, ds)) < 0) {
		stor_layer_release(out);
		return -1;
	}
	return 0;
}

int stor_layer_recover(struct stor *st, size_t *n, struct err *e)
{
	static const struct sql_stmt q = {
		"recover layer indexes",
		"UPDATE layer_index SET state = 'queued', lease = 0"
		/* On PostgreSQL another node's claim may be taken too:
		 * indexing a layer twice stores the same index. */
		" WHERE state = 'running'",
	};
	int changes = sql_do(stor_meta_of(st), &q, NULL, NULL, e, "");

	if (changes >= 0 && n)
		*n = (size_t)changes;
	return changes < 0 ? -1 : 0;
}

static int sql_layer_count(void *arg, const struct sql_row *r, struct err *e)
{
	struct stor_layer_stats *s = arg;
	size_t n = (size_t)sql_col_int64(r, 1);

	(void)e;
	switch (sql_layer_state(sql_col_text(r, 0))) {
	case STOR_LAYER_QUEUED:
		s->queued = n;
		break;
	case STOR_LAYER_RUNNING:
		s->running = n;
		break;
	case STOR_LAYER_DONE:
		s->done = n;
		break;
	case STOR_LAYER_SKIPPED:
		s->skipped = n;
		break;
	default:
		break;
	}
	return 0;
}

int stor_layer_stats(struct stor *st, struct stor_layer_stats *out,
		     struct err *e)
{
	static const struct sql_stmt q = {
		"count layer indexes",
		"SELECT state, COUNT(*) FROM layer_index GROUP BY state",
	};

	memset(out, 0, sizeof(*out));
	return sql_do(stor_meta_of(st), &q, sql_layer_count, out, e, "") < 0
		       ? -1
		       : 0;
}
