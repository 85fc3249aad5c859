/* sql.c: the engine-neutral half of the SQL layer (see sql_int.h): the
 * calls the vtables make, handed to the store's driver. */
#include "storage/sql_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xmalloc.h"
#include "common/banned.h"

struct sql_db *sql_db_of(struct stor_meta *m)
{
	return (struct sql_db *)m;
}

bool sql_is(struct stor_meta *m, const struct sql_driver *d)
{
	return m && sql_db_of(m)->drv == d;
}

const char *sql_text(const struct sql_stmt *q, const struct sql_driver *d,
		     size_t *len)
{
	const char *t = q->sql, *pg = strchr(t, SQL_PG_MARK);

	if (d == &sql_pg && pg)
		t = pg + 1;
	*len = d == &sql_pg || !pg ? strlen(t) : (size_t)(pg - t);
	return *len ? t : NULL;
}

bool sql_runs(const struct sql_stmt *q, const struct sql_driver *d)
{
	size_t len;

	return sql_text(q, d, &len) != NULL;
}

int sql_run(struct sql_conn *c, const struct sql_stmt *q, sql_row_fn fn,
	    void *arg, struct err *e, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = c->drv->run(c, q, fn, arg, e, fmt, ap);
	va_end(ap);
	return ret;
}

int sql_do(struct stor_meta *m, const struct sql_stmt *q, sql_row_fn fn,
	   void *arg, struct err *e, const char *fmt, ...)
{
	struct sql_db *db = sql_db_of(m);
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = db->drv->run_do(db, q, fn, arg, e, fmt, ap);
	va_end(ap);
	return ret;
}

int sql_txn(struct stor_meta *m, sql_txn_fn fn, const void *arg, struct err *e)
{
	struct sql_db *db = sql_db_of(m);

	return db->drv->txn(db, fn, arg, false, e);
}

int sql_txn_lazy(struct stor_meta *m, sql_txn_fn fn, const void *arg,
		 struct err *e)
{
	struct sql_db *db = sql_db_of(m);

	return db->drv->txn(db, fn, arg, true, e);
}

const char *sql_col_text(const struct sql_row *r, int col)
{
	return r->drv->col_text(r, col);
}

int64_t sql_col_int64(const struct sql_row *r, int col)
{
	return r->drv->col_int64(r, col);
}

int sql_col_count(const struct sql_row *r)
{
	return r->drv->col_count(r);
}

void sql_free(struct stor_meta *m)
{
	if (m)
		sql_db_of(m)->drv->free(m);
}

void sql_owner(struct stor_meta *m, char pid[24], char start[64])
{
	struct sql_db *db = sql_db_of(m);

	*pid = *start = '\0';
	if (db->drv->owner)
		db->drv->owner(db, pid, start);
}

void sql_on_final(struct stor_meta *m,
		  void (*fn)(void *arg, const struct digest *dg), void *arg)
{
	if (sql_db_of(m)->drv->on_final)
		sql_db_of(m)->drv->on_final(m, fn, arg);
}

int sql_check(struct stor_meta *m, stor_row_fn fn, void *arg, struct err *e)
{
	return sql_db_of(m)->drv->check(m, fn, arg, e);
}

int sql_pin(struct stor_meta *m, bool exclusive, struct err *e)
{
	const struct sql_driver *d = sql_db_of(m)->drv;

	return d->pin ? d->pin(m, exclusive, e) : 0;
}

void sql_unpin(struct stor_meta *m, bool exclusive)
{
	const struct sql_driver *d = sql_db_of(m)->drv;

	if (d->unpin)
		d->unpin(m, exclusive);
}

char *sql_col_strdup(const struct sql_row *r, int col)
{
	const char *t = sql_col_text(r, col);

	return t ? xstrdup(t) : NULL;
}

int sql_col_digest(const struct sql_row *r, int col, struct digest *out,
		   struct err *e)
{
	const char *t = sql_col_text(r, col);

	if (!t || digest_parse(t, strlen(t), out, NULL) < 0)
		return err_set(e, ERR_DB, "%s: malformed digest '%.80s'",
			       r->drv->name, t ? t : "(null)");
	return 0;
}

int sql_row_int64(void *arg, const struct sql_row *r, struct err *e)
{
	(void)e;
	*(int64_t *)arg = sql_col_int64(r, 0);
	return 0;
}

int64_t sql_now(void)
{
	return (int64_t)time(NULL);
}

int64_t sql_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
