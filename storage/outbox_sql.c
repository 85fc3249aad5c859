/* outbox_sql.c: the events outbox in the metadata database (see
 * storage.h), on either engine (sql_int.h).
 *
 * outbox holds each event once; outbox_cursors says how far each
 * endpoint has routed; outbox_deliveries holds what an endpoint has still
 * to receive, or gave up on (dead = 1).  Events are written inside the
 * transaction of the change that causes them (sql_outbox_put() from the
 * metadata vtable, and the _ev operations here, which run the other files'
 * statements and the insert in one transaction).
 *
 * On PostgreSQL several nodes write events at once: a routing cursor that
 * passed seq N must never see an event below N commit later, so each
 * insert takes a transaction lock first (seq order is then commit order),
 * and a router locks its cursor's row (two nodes route an endpoint one
 * after the other).
 */
#include "storage/sql_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "common/banned.h"

int sql_outbox_put(struct sql_conn *c, const struct stor_event *v, size_t n,
		   struct err *e)
{
	static const struct sql_stmt q = {
		"store event",
		"INSERT INTO outbox (action, repo, created, body)"
		" VALUES (?1, ?2, ?3, ?4)",
	};
	/* Held to the commit: seq order is commit order. */
	static const struct sql_stmt lock = {
		"lock the outbox",
		"" SQL_PG("SELECT pg_advisory_xact_lock(7166761325952827395)"),
	};
	int64_t now = sql_now_ms();

	if (n && sql_run(c, &lock, NULL, NULL, e, "") < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (sql_run(c, &q, NULL, NULL, e, "ssis", v[i].action,
			    v[i].repo ? v[i].repo : "", now, v[i].body) < 0)
			return -1;
	return 0;
}

struct ob_events {
	const struct stor_event *v;
	size_t n;
};

static int ob_add_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	const struct ob_events *a = arg;

	return sql_outbox_put(c, a->v, a->n, e);
}

static int ob_add(struct stor_meta *m, const struct stor_event *v, size_t n,
		  struct err *e)
{
	struct ob_events a = {v, n};

	return n ? sql_txn(m, ob_add_fn, &a, e) : 0;
}

/* A delete and its event: which delete, of what. */
struct ob_del {
	const char *repo;
	const char *key; /* digest text or tag */
	bool tag;
	const struct stor_event *ev;
};

static int ob_del_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	const struct ob_del *a = arg;

	if ((a->tag ? sql_tag_delete_in(c, a->repo, a->key, e)
		    : sql_mf_delete_in(c, a->repo, a->key, e)) < 0)
		return -1;
	return a->ev ? sql_outbox_put(c, a->ev, 1, e) : 0;
}

static int ob_mf_delete(struct stor_meta *m, const char *repo,
			const struct digest *dg, const struct stor_event *ev,
			struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct ob_del a = {repo, digest_str(dg, ds), false, ev};

	return sql_txn(m, ob_del_fn, &a, e);
}

static int ob_tag_delete(struct stor_meta *m, const char *repo, const char *tag,
			 const struct stor_event *ev, struct err *e)
{
	struct ob_del a = {repo, tag, true, ev};

	return sql_txn(m, ob_del_fn, &a, e);
}

struct ob_finish {
	const struct stor_scan_job *job;
	bool fail;
	const char *why;
	int64_t retry_at;
	struct ob_events ev;
};

static int ob_finish_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	const struct ob_finish *a = arg;

	if (sql_scan_finish_in(c, a->job, a->fail, a->why, a->retry_at, e) < 0)
		return -1;
	return sql_outbox_put(c, a->ev.v, a->ev.n, e);
}

static int ob_scan_finish(struct stor_meta *m, const struct stor_scan_job *job,
			  bool fail, const char *why, int64_t retry_at,
			  const struct stor_event *v, size_t n, struct err *e)
{
	struct ob_finish a = {job, fail, why, retry_at, {v, n}};

	return sql_txn(m, ob_finish_fn, &a, e);
}

/* --- Routing ---------------------------------------------------------------
 */

static const struct sql_stmt ob_prune_q = {
	"prune events",
	"DELETE FROM outbox WHERE seq <= (SELECT min(seq) FROM outbox_cursors)"
	" AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d"
	" WHERE d.seq = outbox.seq)",
};

/* One event past a cursor, as routing reads it. */
struct ob_ev_row {
	int64_t seq;
	char *action, *repo;
};

struct ob_ev_rows {
	struct ob_ev_row *v;
	size_t n, max;
};

static int ob_ev_row(void *arg, const struct sql_row *s, struct err *e)
{
	struct ob_ev_rows *r = arg;
	struct ob_ev_row *row;

	(void)e;
	if (r->n == r->max)
		return 1;
	row = &r->v[r->n++];
	row->seq = sql_col_int64(s, 0);
	row->action = sql_col_strdup(s, 1);
	row->repo = sql_col_strdup(s, 2);
	return 0;
}

struct ob_route {
	const char *endpoint;
	stor_event_filter_fn fn;
	void *arg;
	size_t max;
	size_t *n;
};

/* Makes the cursor if the endpoint is new: *cursor < 0 then. */
static int ob_cursor(struct sql_conn *c, const char *endpoint, int64_t *cursor,
		     struct err *e)
{
	static const struct sql_stmt get = {
		"read event cursor",
		"SELECT seq FROM outbox_cursors WHERE endpoint = ?1" SQL_PG(
			"SELECT seq FROM outbox_cursors WHERE endpoint = ?1"
			" FOR UPDATE"),
	};
	static const struct sql_stmt add = {
		"add event cursor",
		"INSERT INTO outbox_cursors (endpoint, seq)"
		" SELECT ?1, coalesce(max(seq), 0) FROM outbox" SQL_PG(
			"INSERT INTO outbox_cursors (endpoint, seq)"
			" SELECT ?1, coalesce(max(seq), 0) FROM outbox"
			" ON CONFLICT DO NOTHING"),
	};
	int n;

	*cursor = -1;
	n = sql_run(c, &get, sql_row_int64, cursor, e, "s", endpoint);
	if (n < 0)
		return -1;
	if (n == 0 && sql_run(c, &add, NULL, NULL, e, "s", endpoint) < 0)
		return -1;
	return 0;
}

static int ob_route_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt next = {
		"read new events",
		"SELECT seq, action, repo FROM outbox WHERE seq > ?1"
		" ORDER BY seq LIMIT ?2",
	};
	static const struct sql_stmt add = {
		"add event delivery",
		"INSERT INTO outbox_deliveries (endpoint, seq, repo, created)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	};
	static const struct sql_stmt move = {
		"move event cursor",
		"UPDATE outbox_cursors SET seq = ?2 WHERE endpoint = ?1",
	};
	/* The events just routed that no endpoint wants: the last cursor
	 * to pass an event prunes it (delivered ones go at done). */
	static const struct sql_stmt prune = {
		"prune routed events",
		"DELETE FROM outbox WHERE seq > ?1 AND seq <= ?2"
		" AND seq <= (SELECT min(seq) FROM outbox_cursors)"
		" AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d"
		" WHERE d.seq = outbox.seq)",
	};
	const struct ob_route *a = arg;
	struct ob_ev_rows r = {xcalloc(a->max + 1, sizeof(*r.v)), 0, a->max};
	int64_t cursor, now = sql_now_ms();
	int ret = -1;

	*a->n = 0;
	if (ob_cursor(c, a->endpoint, &cursor, e) < 0)
		goto out;
	if (cursor < 0) {
		ret = 0;
		goto out;
	}
	if (sql_run(c, &next, ob_ev_row, &r, e, "ii", cursor, (int64_t)a->max) <
	    0)
		goto out;
	for (size_t i = 0; i < r.n; i++)
		if (a->fn(a->arg, r.v[i].action, r.v[i].repo) &&
		    sql_run(c, &add, NULL, NULL, e, "sisi", a->endpoint,
			    r.v[i].seq, r.v[i].repo, now) < 0)
			goto out;
	if (r.n && (sql_run(c, &move, NULL, NULL, e, "si", a->endpoint,
			    r.v[r.n - 1].seq) < 0 ||
		    sql_run(c, &prune, NULL, NULL, e, "ii", cursor,
			    r.v[r.n - 1].seq) < 0))
		goto out;
	*a->n = r.n;
	ret = 0;
out:
	for (size_t i = 0; i < r.n; i++) {
		free(r.v[i].action);
		free(r.v[i].repo);
	}
	free(r.v);
	return ret;
}

static int ob_route(struct stor_meta *m, const char *endpoint,
		    stor_event_filter_fn fn, void *arg, size_t max, size_t *n,
		    struct err *e)
{
	struct ob_route a = {endpoint, fn, arg, max ? max : 1, n};

	return sql_txn(m, ob_route_fn, &a, e);
}

struct ob_keep {
	const char *const *keep;
	size_t n;
	size_t *dropped;
};

static int ob_name_row(void *arg, const struct sql_row *s, struct err *e)
{
	struct ob_ev_rows *r = arg;

	(void)e;
	if (r->n == r->max) {
		r->max = r->max ? 2 * r->max : 8;
		r->v = xrealloc(r->v, r->max * sizeof(*r->v));
	}
	memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
	r->v[r->n++].action = sql_col_strdup(s, 0);
	return 0;
}

static int ob_keep_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt names = {
		"list event endpoints",
		"SELECT endpoint FROM outbox_cursors UNION"
		" SELECT DISTINCT endpoint FROM outbox_deliveries",
	};
	static const struct sql_stmt drop = {
		"drop endpoint deliveries",
		"DELETE FROM outbox_deliveries WHERE endpoint = ?1",
	};
	static const struct sql_stmt cursor = {
		"drop event cursor",
		"DELETE FROM outbox_cursors WHERE endpoint = ?1",
	};
	const struct ob_keep *a = arg;
	struct ob_ev_rows r = {0};
	int ret = -1, k;

	*a->dropped = 0;
	if (sql_run(c, &names, ob_name_row, &r, e, "") < 0)
		goto out;
	for (size_t i = 0; i < r.n; i++) {
		size_t j;

		for (j = 0; j < a->n && strcmp(a->keep[j], r.v[i].action); j++)
			;
		if (j < a->n || !r.v[i].action)
			continue;
		k = sql_run(c, &drop, NULL, NULL, e, "s", r.v[i].action);
		if (k < 0 ||
		    sql_run(c, &cursor, NULL, NULL, e, "s", r.v[i].action) < 0)
			goto out;
		*a->dropped += (size_t)k;
	}
	if (sql_run(c, &ob_prune_q, NULL, NULL, e, "") < 0)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; i < r.n; i++)
		free(r.v[i].action);
	free(r.v);
	return ret;
}

static int ob_keep(struct stor_meta *m, const char *const *keep, size_t n,
		   size_t *dropped, struct err *e)
{
	struct ob_keep a = {keep, n, dropped};

	return sql_txn(m, ob_keep_fn, &a, e);
}

/* --- Delivery --------------------------------------------------------------
 */

/* The columns every delivery listing selects, in this order. */
#define OB_DELIVERY_COLS                                                       \
	"d.seq, d.endpoint, o.action, d.repo, o.body, d.attempts,"             \
	" d.created, d.error"

struct ob_deliveries {
	struct stor_delivery *v;
	size_t n, alloc;
};

static int ob_delivery_row(void *arg, const struct sql_row *s, struct err *e)
{
	struct ob_deliveries *r = arg;
	struct stor_delivery *d;

	(void)e;
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 16;
		r->v = xrealloc(r->v, r->alloc * sizeof(*r->v));
	}
	d = &r->v[r->n++];
	d->seq = sql_col_int64(s, 0);
	d->endpoint = sql_col_strdup(s, 1);
	d->action = sql_col_strdup(s, 2);
	d->repo = sql_col_strdup(s, 3);
	d->body = sql_col_strdup(s, 4);
	d->attempts = (int)sql_col_int64(s, 5);
	d->created = sql_col_int64(s, 6);
	d->error = sql_col_strdup(s, 7);
	if (!d->body)
		d->body = xstrdup("{}");
	return 0;
}

static int ob_due(struct stor_meta *m, const char *endpoint, int64_t now_ms,
		  size_t max_repos, size_t per_repo, struct stor_delivery **out,
		  size_t *n, struct err *e)
{
	/* A repository's head: its oldest delivery not given up on (one
	 * walk of the index, however many wait). */
	static const struct sql_stmt heads = {
		"read due event repositories",
		"SELECT d.repo FROM (SELECT repo, min(seq) AS seq"
		"  FROM outbox_deliveries WHERE endpoint = ?1 AND dead = 0"
		"  GROUP BY repo) h"
		" JOIN outbox_deliveries d ON d.endpoint = ?1 AND d.seq = h.seq"
		" WHERE d.next_at <= ?2 ORDER BY h.seq LIMIT ?3",
	};
	static const struct sql_stmt rows = {
		"read due events",
		"SELECT " OB_DELIVERY_COLS " FROM outbox_deliveries d"
		" JOIN outbox o ON o.seq = d.seq"
		" WHERE d.endpoint = ?1 AND d.repo = ?2 AND d.dead = 0"
		" ORDER BY d.seq LIMIT ?3",
	};
	struct ob_ev_rows repos = {0};
	struct ob_deliveries r = {0};
	int ret = -1;

	if (sql_do(m, &heads, ob_name_row, &repos, e, "sii", endpoint, now_ms,
		   (int64_t)max_repos) < 0)
		goto out;
	for (size_t i = 0; i < repos.n; i++)
		if (sql_do(m, &rows, ob_delivery_row, &r, e, "ssi", endpoint,
			   repos.v[i].action ? repos.v[i].action : "",
			   (int64_t)per_repo) < 0)
			goto out;
	ret = 0;
out:
	for (size_t i = 0; i < repos.n; i++)
		free(repos.v[i].action);
	free(repos.v);
	if (ret < 0) {
		stor_delivery_free(r.v, r.n);
		r.v = NULL;
		r.n = 0;
	}
	*out = r.v;
	*n = r.n;
	return ret;
}

struct ob_mark {
	const char *endpoint;
	const int64_t *seqs;
	size_t n;
	bool done;
	int64_t next_ms;
	bool dead;
	const char *error;
};

static int ob_mark_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt del = {
		"drop delivered event",
		"DELETE FROM outbox_deliveries WHERE endpoint = ?1 AND seq = "
		"?2",
	};
	static const struct sql_stmt prune = {
		"prune delivered event",
		"DELETE FROM outbox WHERE seq = ?1"
		" AND seq <= (SELECT min(seq) FROM outbox_cursors)"
		" AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d"
		" WHERE d.seq = ?1)",
	};
	static const struct sql_stmt retry = {
		"note failed delivery",
		"UPDATE outbox_deliveries SET attempts = attempts + 1,"
		" next_at = ?3, dead = ?4, error = ?5"
		" WHERE endpoint = ?1 AND seq = ?2",
	};
	const struct ob_mark *a = arg;

	for (size_t i = 0; i < a->n; i++) {
		if (a->done &&
		    (sql_run(c, &del, NULL, NULL, e, "si", a->endpoint,
			     a->seqs[i]) < 0 ||
		     sql_run(c, &prune, NULL, NULL, e, "i", a->seqs[i]) < 0))
			return -1;
		if (!a->done && sql_run(c, &retry, NULL, NULL, e, "siiis",
					a->endpoint, a->seqs[i], a->next_ms,
					(int64_t)a->dead, a->error) < 0)
			return -1;
	}
	return 0;
}

static int ob_done(struct stor_meta *m, const char *endpoint,
		   const int64_t *seqs, size_t n, struct err *e)
{
	struct ob_mark a = {endpoint, seqs, n, true, 0, false, NULL};

	return n ? sql_txn(m, ob_mark_fn, &a, e) : 0;
}

static int ob_retry(struct stor_meta *m, const char *endpoint,
		    const int64_t *seqs, size_t n, int64_t next_ms, bool dead,
		    const char *error, struct err *e)
{
	struct ob_mark a = {endpoint, seqs, n, false, next_ms, dead, error};

	return n ? sql_txn(m, ob_mark_fn, &a, e) : 0;
}

static int ob_dead(struct stor_meta *m, size_t max, struct stor_delivery **out,
		   size_t *n, struct err *e)
{
	static const struct sql_stmt q = {
		"list dead events",
		"SELECT " OB_DELIVERY_COLS " FROM outbox_deliveries d"
		" JOIN outbox o ON o.seq = d.seq WHERE d.dead = 1"
		" ORDER BY d.seq DESC LIMIT ?1",
	};
	struct ob_deliveries r = {0};
	int ret = sql_do(m, &q, ob_delivery_row, &r, e, "i", (int64_t)max);

	if (ret < 0) {
		stor_delivery_free(r.v, r.n);
		r.v = NULL;
		r.n = 0;
	}
	*out = r.v;
	*n = r.n;
	return ret < 0 ? -1 : 0;
}

struct ob_counts {
	size_t *pending, *dead;
};

static int ob_counts_row(void *arg, const struct sql_row *s, struct err *e)
{
	const struct ob_counts *c = arg;

	(void)e;
	*c->pending = (size_t)sql_col_int64(s, 0);
	*c->dead = (size_t)sql_col_int64(s, 1);
	return 1;
}

static int ob_counts(struct stor_meta *m, size_t *pending, size_t *dead,
		     struct err *e)
{
	static const struct sql_stmt q = {
		"count event deliveries",
		"SELECT count(*) FILTER (WHERE dead = 0),"
		" count(*) FILTER (WHERE dead = 1) FROM outbox_deliveries",
	};
	struct ob_counts c = {pending, dead};

	*pending = *dead = 0;
	return sql_do(m, &q, ob_counts_row, &c, e, "") < 0 ? -1 : 0;
}

const struct stor_outbox_ops sql_outbox_ops = {
	.add = ob_add,
	.mf_delete = ob_mf_delete,
	.tag_delete = ob_tag_delete,
	.scan_finish = ob_scan_finish,
	.route = ob_route,
	.keep = ob_keep,
	.due = ob_due,
	.done = ob_done,
	.retry = ob_retry,
	.dead = ob_dead,
	.counts = ob_counts,
};
