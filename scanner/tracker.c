/* tracker.c: importing the Debian Security Tracker's JSON.
 *
 * The document (the tracker's /tracker/data/json, ~80 MB) is
 *
 *	{source: {issue: {description?, debianbug?, scope?,
 *			  releases: {codename: {status, repositories,
 *				fixed_version?, urgency, nodsa?,
 *				nodsa_reason?}}}}}
 *
 * It is streamed (vulndb_stream(), depth 2): one (source, issue) record is
 * in memory at a time.  Each release entry becomes a row of `tracker`, the
 * issue's description a row of `tracker_issue` (vulndb_int.h).
 *
 * Untrusted input: a record or release entry of the wrong shape is logged
 * (the first few) and counted as skipped; a document whose first entry is
 * not a (source, issue) record, or that holds none, is not tracker JSON
 * and fails.
 */
#include "scanner/vulndb_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/banned.h"

/* Bytes of input one (source, issue) record may span: the largest real
 * ones (a description and a dozen releases) take a few KiB. */
#define TRACKER_MAX_RECORD ((size_t)4 << 20)
/* Names (source, issue, release) longer than this are not real ones. */
#define TRACKER_MAX_NAME 200
/* Skipped entries logged one by one per file; the rest are counted. */
#define TRACKER_MAX_LOGGED 10

struct tracker_imp {
	struct vulndb_imp *imp;
	const char *path;
	sqlite3_stmt *ins_issue, *ins_row;
	size_t records; /* (source, issue) records stored */
	size_t skipped;
};

static const char *const tracker_statuses[] = {
	[TRACKER_RESOLVED] = "resolved",
	[TRACKER_OPEN] = "open",
	[TRACKER_UNDETERMINED] = "undetermined",
};

static void tracker_skip(struct tracker_imp *t, const char *source,
			 const char *issue, const char *why)
{
	if (t->skipped++ < TRACKER_MAX_LOGGED)
		log_msg(LL_WARN, "vulndb: %s: skipping %s/%s: %s", t->path,
			source ? source : "?", issue ? issue : "?", why);
}

static bool tracker_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > TRACKER_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ')
			return false;
	return true;
}

/* A string member, or NULL; *bad when present but not a string. */
static const char *tracker_str(json_t *o, const char *key, bool *bad)
{
	json_t *v = json_object_get(o, key);

	if (v && !json_is_string(v))
		*bad = true;
	return json_string_value(v);
}

static int tracker_status_parse(const char *s)
{
	for (size_t i = 0;
	     s && i < sizeof(tracker_statuses) / sizeof(*tracker_statuses); i++)
		if (!strcmp(s, tracker_statuses[i]))
			return (int)i;
	return -1;
}

/* The issue's rowid, its description kept when it has none yet. */
static int tracker_issue_id(struct tracker_imp *t, const char *issue,
			    const char *desc, sqlite3_int64 *id, struct err *e)
{
	sqlite3_stmt *st = t->ins_issue;
	int rc;

	if (vulndb_bind_text(st, 1, issue, e) < 0 ||
	    vulndb_bind_text(st, 2, desc, e) < 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return err_set(e, ERR_DB, "tracker: %s",
			       sqlite3_errmsg(t->imp->db));
	return 0;
}

/* One release entry; 1 stored, 0 skipped, -1 DB failure. */
static int tracker_release(struct tracker_imp *t, const char *source,
			   const char *issue, sqlite3_int64 *id,
			   const char *desc, const char *rel, json_t *ent,
			   struct err *e)
{
	sqlite3_stmt *st = t->ins_row;
	bool bad = false;
	int status = tracker_status_parse(tracker_str(ent, "status", &bad));
	const char *fixed = tracker_str(ent, "fixed_version", &bad);
	const char *urgency = tracker_str(ent, "urgency", &bad);
	const char *nodsa = tracker_str(ent, "nodsa", &bad);
	const char *reason = tracker_str(ent, "nodsa_reason", &bad);

	if (!json_is_object(ent) || !tracker_name_ok(rel) || status < 0 ||
	    bad || (fixed && !*fixed)) {
		tracker_skip(t, source, issue, "malformed release entry");
		return 0;
	}
	/* A no-DSA reason without the flag still flags it. */
	if (!nodsa && reason)
		nodsa = "";
	if (*id < 0 && tracker_issue_id(t, issue, desc, id, e) < 0)
		return -1;
	if (vulndb_bind_text(st, 1, rel, e) < 0 ||
	    vulndb_bind_text(st, 2, source, e) < 0 ||
	    sqlite3_bind_int64(st, 3, *id) != SQLITE_OK ||
	    sqlite3_bind_int(st, 4, status) != SQLITE_OK ||
	    vulndb_bind_text(st, 5, fixed, e) < 0 ||
	    vulndb_bind_text(st, 6, urgency, e) < 0 ||
	    vulndb_bind_text(st, 7, nodsa, e) < 0 ||
	    vulndb_bind_text(st, 8, reason, e) < 0 ||
	    vulndb_step_done(st, e) < 0)
		return err_set(e, ERR_DB, "tracker: %s",
			       sqlite3_errmsg(t->imp->db));
	return 1;
}

static int tracker_record(void *ctx, const char *const *keys, size_t depth,
			  json_t *v, struct err *e)
{
	struct tracker_imp *t = ctx;
	const char *source = depth > 0 ? keys[0] : NULL;
	const char *issue = depth > 1 ? keys[1] : NULL;
	json_t *rels = json_object_get(v, "releases"), *ent;
	sqlite3_int64 id = -1;
	/* a description of another type is left out, not a reason to skip */
	const char *desc = json_string_value(json_object_get(v, "description"));
	const char *rel;
	size_t stored = 0;

	if (depth != 2 || !source || !issue) {
		/* Not {source: {issue: ...}}: an OSV record, an NVD feed, an
		 * array... unless tracker records came first. */
		if (!t->records)
			return err_set(e, ERR_INVALID,
				       "not Debian Security Tracker JSON "
				       "(want {source: {issue: {releases: "
				       "{...}}}})");
		tracker_skip(t, source, issue, "not a (source, issue) record");
		return 0;
	}
	/* The tracker writes an issue with no release left as "[]". */
	if (json_is_array(rels) && !json_array_size(rels))
		return 0;
	if (!json_is_object(v) || !json_is_object(rels) ||
	    !tracker_name_ok(source) || !tracker_name_ok(issue)) {
		tracker_skip(t, source, issue, "malformed record");
		return 0;
	}
	json_object_foreach(rels, rel, ent) {
		int r = tracker_release(t, source, issue, &id, desc, rel, ent,
					e);

		if (r < 0)
			return -1;
		stored += (size_t)r;
	}
	if (stored)
		t->records++;
	return 0;
}

static int tracker_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
			   struct err *e)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return err_set(e, ERR_DB, "prepare: %s", sqlite3_errmsg(db));
	return 0;
}

/* Streams from the file at path, or (path NULL) from data. */
static int tracker_feed(struct tracker_imp *t, const char *path,
			const void *data, size_t len, struct err *e)
{
	struct jstream *js;
	int ret;

	if (path)
		return vulndb_stream(path, 2, TRACKER_MAX_RECORD,
				     tracker_record, t, e);
	js = jstream_new(2, TRACKER_MAX_RECORD, tracker_record, t);
	ret = jstream_feed(js, data, len, e) < 0 || jstream_end(js, e) < 0 ? -1
									   : 0;
	jstream_free(js);
	return ret;
}

static int tracker_run(struct vulndb_imp *imp, const char *name,
		       const char *path, const void *data, size_t len,
		       struct err *e)
{
	struct tracker_imp t = {imp, name, NULL, NULL, 0, 0};
	int ret = -1;

	if (tracker_prepare(imp->db,
			    "INSERT INTO tracker_issue (name, description)"
			    " VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET"
			    " description = coalesce(description,"
			    " excluded.description) RETURNING id",
			    &t.ins_issue, e) < 0 ||
	    tracker_prepare(imp->db,
			    "INSERT OR REPLACE INTO tracker (release, source,"
			    " issue, status, fixed, urgency, nodsa,"
			    " nodsa_reason) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
			    &t.ins_row, e) < 0 ||
	    tracker_feed(&t, path, data, len, e) < 0)
		goto out;
	if (t.skipped > TRACKER_MAX_LOGGED)
		log_msg(LL_WARN, "vulndb: %s: %zu malformed entries skipped",
			name, t.skipped);
	if (!t.records) {
		err_set(e, ERR_INVALID,
			"%s: no Debian Security Tracker record in it (%zu "
			"malformed entries skipped)",
			name, t.skipped);
		goto out;
	}
	ret = 0;
out:
	imp->tracker += t.records;
	imp->skipped += t.skipped;
	sqlite3_finalize(t.ins_issue);
	sqlite3_finalize(t.ins_row);
	return ret;
}

int tracker_import(struct vulndb_imp *imp, const char *path, struct err *e)
{
	return tracker_run(imp, path, path, NULL, 0, e);
}

int tracker_import_mem(struct vulndb_imp *imp, const void *data, size_t len,
		       const char *name, struct err *e)
{
	return tracker_run(imp, name, NULL, data, len, e);
}
