/* Importing OSV JSON and Alpine secdb into the vulnerability DB.
 *
 * Inputs are files, directory trees (every *.json and archive in them, in
 * name order) and archives such as OSV's all.zip (every *.json entry), read
 * with libarchive.  A first pass hashes the input bytes: when the hash is
 * the one the current DB was built from, nothing is done.  Otherwise a new
 * DB is built in a temporary file next to the target, fsynced and renamed
 * over it, so readers see the old DB or the new one, never a mix.
 */
#include "scanner/vulndb_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/* Largest JSON document we read (a whole secdb file, one OSV record, or a
 * feed published as one array). */
#define VULNDB_MAX_DOC	 ((size_t)256 << 20)
#define VULNDB_MAX_DEPTH 32

/* Called for each input document (imp != NULL) or input file (hashing). */
struct vulndb_walk {
	struct vulndb_imp *imp; /* importing, or NULL when hashing */
	struct hasher *h;	/* hashing, or NULL when importing */
	struct err *e;
	size_t root_len;       /* of the input path being walked */
	enum vulndb_kind kind; /* of the input being walked */
};

static const char *const vulndb_kinds[] = {
	[VULNDB_AUTO] = "auto",
	[VULNDB_OSV] = "osv",
	[VULNDB_ALPINE_SECDB] = "alpine-secdb",
	[VULNDB_DEBIAN_TRACKER] = "debian-tracker",
	[VULNDB_NVD] = "nvd",
};

int vulndb_kind_parse(const char *s, enum vulndb_kind *out)
{
	for (size_t i = 0; i < sizeof(vulndb_kinds) / sizeof(*vulndb_kinds);
	     i++)
		if (!strcmp(s, vulndb_kinds[i])) {
			*out = (enum vulndb_kind)i;
			return 0;
		}
	return -1;
}

const char *vulndb_kind_name(enum vulndb_kind k)
{
	return (size_t)k < sizeof(vulndb_kinds) / sizeof(*vulndb_kinds)
		       ? vulndb_kinds[k]
		       : "?";
}

/* Streamed kinds are read as one document each, never loaded whole. */
static bool vulndb_kind_streamed(enum vulndb_kind k)
{
	return k == VULNDB_DEBIAN_TRACKER || k == VULNDB_NVD;
}

static bool vulndb_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n >= s && !strcasecmp(name + n - s, suffix);
}

static bool vulndb_is_json(const char *name)
{
	return vulndb_has_suffix(name, ".json");
}

static bool vulndb_is_archive(const char *name)
{
	static const char *const exts[] = {".zip", ".tar",    ".tar.gz",
					   ".tgz", ".tar.xz", ".tar.zst"};

	for (size_t i = 0; i < sizeof(exts) / sizeof(*exts); i++)
		if (vulndb_has_suffix(name, exts[i]))
			return true;
	return false;
}

int vulndb_bind_text(sqlite3_stmt *st, int col, const char *s, struct err *e)
{
	int rc = s ? sqlite3_bind_text(st, col, s, -1, SQLITE_TRANSIENT)
		   : sqlite3_bind_null(st, col);

	if (rc != SQLITE_OK)
		return err_set(e, ERR_DB, "bind: %s",
			       sqlite3_errmsg(sqlite3_db_handle(st)));
	return 0;
}

int vulndb_step_done(sqlite3_stmt *st, struct err *e)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return err_set(e, ERR_DB, "%s",
			       sqlite3_errmsg(sqlite3_db_handle(st)));
	return 0;
}

int vulndb_find_stored(struct vulndb_imp *imp, sqlite3_stmt *find,
		       const char *id, const char *what, struct err *e)
{
	int rc;

	if (vulndb_bind_text(find, 1, id, e) < 0)
		return -1;
	rc = sqlite3_step(find);
	if (rc == SQLITE_ROW) {
		imp->duplicates++;
		return 1;
	}
	sqlite3_reset(find);
	if (rc != SQLITE_DONE)
		return err_set(e, ERR_DB, "%s: %s", what,
			       sqlite3_errmsg(imp->db));
	return 0;
}

/* Records of every kind stored so far. */
static size_t vulndb_imp_records(const struct vulndb_imp *imp)
{
	return imp->advisories + imp->secfixes + imp->tracker + imp->nvd;
}

/* --- One document ------------------------------------------------------- */

int vulndb_doc(struct vulndb_imp *imp, const char *data, size_t len,
	       const char *name, struct err *e)
{
	json_error_t jerr;
	json_t *doc = json_loadb(data, len, 0, &jerr);
	int ret = 0;

	if (!doc) {
		log_msg(LL_WARN, "vulndb: skipping %s: bad JSON at line %d: %s",
			name, jerr.line, jerr.text);
		imp->skipped++;
		return 0;
	}
	if (secdb_is_secdb(doc)) {
		ret = secdb_import(imp, doc, name, e);
	} else if (json_is_array(doc)) {
		size_t i;
		json_t *rec;

		json_array_foreach(doc, i, rec) {
			char *sub = xasprintf("%s[%zu]", name, i);

			ret = osv_import(imp, rec, sub, e);
			free(sub);
			if (ret < 0)
				break;
		}
	} else {
		ret = osv_import(imp, doc, name, e);
	}
	json_decref(doc);
	return ret < 0 ? -1 : 0;
}

/* --- Walking the inputs ------------------------------------------------- */

static int vulndb_read_fd(int fd, const char *path, struct buf *b,
			  struct err *e)
{
	char chunk[65536];
	ssize_t n;

	while ((n = fdio_read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)n) < 0)
			return err_set(e, ERR_TOO_LARGE,
				       "%s is larger than %zu MiB", path,
				       VULNDB_MAX_DOC >> 20);
	if (n < 0)
		return err_errno(e, ERR_IO, errno, "read %s", path);
	return 0;
}

static void vulndb_hash_name(struct hasher *h, const char *name)
{
	hasher_update(h, name, strlen(name) + 1);
}

/* Files are hashed under their names relative to the input path, so that
 * "./feeds" and "/srv/feeds" are the same data. */
static void vulndb_hash_path(struct vulndb_walk *w, const char *path)
{
	const char *rel = path + w->root_len;
	const char *slash = strrchr(path, '/');

	if (!*rel)
		rel = slash ? slash + 1 : path;
	while (*rel == '/')
		rel++;
	vulndb_hash_name(w->h, rel);
}

static int vulndb_json_file(struct vulndb_walk *w, const char *path)
{
	struct buf b;
	int fd, ret = -1;

	buf_init(&b, VULNDB_MAX_DOC);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(w->e, ERR_IO, errno, "open %s", path);
	if (vulndb_read_fd(fd, path, &b, w->e) < 0)
		goto out;
	if (w->h) {
		vulndb_hash_path(w, path);
		hasher_update(w->h, b.buf, b.len);
		ret = 0;
	} else {
		ret = vulndb_doc(w->imp, b.buf, b.len, path, w->e);
	}
out:
	close(fd);
	buf_release(&b);
	return ret;
}

/* Hashing an archive hashes its bytes; importing reads its *.json. */
static int vulndb_hash_file(struct vulndb_walk *w, const char *path)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_errno(w->e, ERR_IO, errno, "open %s", path);
	vulndb_hash_path(w, path);
	while ((n = fdio_read(fd, chunk, sizeof(chunk))) > 0)
		hasher_update(w->h, chunk, (size_t)n);
	if (n < 0)
		err_errno(w->e, ERR_IO, errno, "read %s", path);
	close(fd);
	return n < 0 ? -1 : 0;
}

static int vulndb_archive_entry(struct vulndb_walk *w, struct archive *a,
				const char *path, const char *entry)
{
	char *name = xasprintf("%s:%s", path, entry);
	struct buf b;
	char chunk[65536];
	la_ssize_t n;
	int ret = -1;

	buf_init(&b, VULNDB_MAX_DOC);
	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		if (buf_add(&b, chunk, (size_t)n) < 0) {
			err_set(w->e, ERR_TOO_LARGE,
				"%s is larger than %zu MiB", name,
				VULNDB_MAX_DOC >> 20);
			goto out;
		}
	}
	if (n < 0) {
		err_set(w->e, ERR_IO, "%s: %s", name, archive_error_string(a));
		goto out;
	}
	ret = vulndb_doc(w->imp, b.buf, b.len, name, w->e);
out:
	buf_release(&b);
	free(name);
	return ret;
}

static int vulndb_archive(struct vulndb_walk *w, const char *path)
{
	struct archive *a;
	struct archive_entry *ent;
	int rc, ret = -1;

	if (w->h)
		return vulndb_hash_file(w, path);
	a = archive_read_new();
	archive_read_support_format_all(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		err_set(w->e, ERR_INVALID,
			"%s: not JSON or a readable archive: %s", path,
			archive_error_string(a));
		goto out;
	}
	while ((rc = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *entry = archive_entry_pathname(ent);

		if (archive_entry_filetype(ent) != AE_IFREG || !entry ||
		    !vulndb_is_json(entry))
			continue;
		if (vulndb_archive_entry(w, a, path, entry) < 0)
			goto out;
	}
	if (rc != ARCHIVE_EOF) {
		err_set(w->e, ERR_IO, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_read_free(a);
	return ret;
}

static int vulndb_walk_path(struct vulndb_walk *w, const char *path, bool top,
			    int depth);

static int vulndb_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's *.json files and archives, recursively, in name order. */
static int vulndb_walk_dir(struct vulndb_walk *w, const char *path, int depth)
{
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (depth > VULNDB_MAX_DEPTH)
		return err_set(w->e, ERR_INVALID,
			       "%s: directories nest too deep", path);
	d = opendir(path);
	if (!d)
		return err_errno(w->e, ERR_IO, errno, "opendir %s", path);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), vulndb_name_cmp);
	for (i = 0; i < n; i++) {
		char *sub = xasprintf("%s/%s", path, names[i]);

		if (!ret)
			ret = vulndb_walk_path(w, sub, false, depth + 1);
		free(sub);
		free(names[i]);
	}
	free(names);
	return ret;
}

/* One file of a streamed kind. */
static int vulndb_streamed_file(struct vulndb_walk *w, const char *path)
{
	if (w->h)
		return vulndb_hash_file(w, path);
	switch (w->kind) {
	case VULNDB_DEBIAN_TRACKER:
		return tracker_import(w->imp, path, w->e);
	case VULNDB_NVD:
		return nvd_import(w->imp, path, w->e);
	default:
		return err_set(w->e, ERR_UNSUPPORTED,
			       "%s: %s feeds cannot be imported", path,
			       vulndb_kind_name(w->kind));
	}
}

static int vulndb_walk_path(struct vulndb_walk *w, const char *path, bool top,
			    int depth)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_errno(w->e, ERR_IO, errno, "%s", path);
	if (S_ISDIR(st.st_mode))
		return vulndb_walk_dir(w, path, depth);
	if (!S_ISREG(st.st_mode))
		return top ? err_set(w->e, ERR_INVALID, "%s: not a file", path)
			   : 0;
	if (vulndb_kind_streamed(w->kind))
		return vulndb_streamed_file(w, path);
	if (vulndb_is_json(path))
		return vulndb_json_file(w, path);
	/* Named on the command line: try it as an archive, whatever its
	 * name; inside directories only archive names are read. */
	if (top || vulndb_is_archive(path))
		return vulndb_archive(w, path);
	return 0;
}

static int vulndb_walk_all(struct vulndb_walk *w, struct vulndb_input *in,
			   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vulndb_imp before =
			w->imp ? *w->imp : (struct vulndb_imp){0};

		w->root_len = strlen(in[i].path);
		w->kind = in[i].kind;
		if (w->h)
			vulndb_hash_name(w->h, vulndb_kind_name(in[i].kind));
		if (vulndb_walk_path(w, in[i].path, true, 0) < 0)
			return -1;
		if (!w->imp)
			continue;
		in[i].records = vulndb_imp_records(w->imp) -
				vulndb_imp_records(&before);
		in[i].skipped = w->imp->skipped - before.skipped;
	}
	return 0;
}

/* --- Streamed inputs ---------------------------------------------------- */

struct archive *vulndb_raw_open(const char *path, struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;

	/* "raw" reads any bytes as one entry, decompressed by the filters. */
	archive_read_support_format_raw(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		err_set(e, ERR_INVALID, "%s: %s", path,
			archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

int vulndb_stream(const char *path, size_t depth, size_t max_value,
		  jstream_fn fn, void *ctx, struct err *e)
{
	struct archive *a = vulndb_raw_open(path, e);
	struct jstream *js = jstream_new(depth, max_value, fn, ctx);
	la_ssize_t n;
	int ret = -1;

	if (!a)
		goto out;
	for (;;) {
		char buf[65536];

		n = archive_read_data(a, buf, sizeof(buf));
		if (n < 0) {
			err_set(e, ERR_INVALID, "%s: %s", path,
				archive_error_string(a));
			goto out;
		}
		if (!n)
			break;
		if (jstream_feed(js, buf, (size_t)n, e) < 0)
			goto out;
	}
	if (jstream_end(js, e) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0 && strncmp(e->msg, path, strlen(path))) {
		struct err inner = *e;

		err_clear(e);
		err_set(e, inner.code, "%s: %s", path, inner.msg);
	}
	jstream_free(js);
	archive_read_free(a);
	return ret;
}

/* --- The DB file -------------------------------------------------------- */

static const char vulndb_schema_sql[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE advisory ("
	" id INTEGER PRIMARY KEY, vid TEXT NOT NULL UNIQUE,"
	" summary TEXT, details TEXT, modified TEXT, published TEXT,"
	" withdrawn TEXT, aliases TEXT NOT NULL, refs TEXT NOT NULL,"
	" severity INTEGER NOT NULL, cvss_score REAL, cvss_vector TEXT,"
	" vendor_sev INTEGER NOT NULL);"
	"CREATE TABLE affected ("
	" adv INTEGER NOT NULL, ecosystem TEXT NOT NULL,"
	" eco_base TEXT NOT NULL, name TEXT NOT NULL, ranges TEXT,"
	" versions TEXT, severity INTEGER NOT NULL, cvss_score REAL,"
	" cvss_vector TEXT, vendor_sev INTEGER NOT NULL);"
	"CREATE TABLE secfix (distro TEXT NOT NULL, repo TEXT NOT NULL,"
	" name TEXT NOT NULL, fixed TEXT NOT NULL, vid TEXT NOT NULL);"
	"CREATE TABLE tracker_issue (id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE, description TEXT);"
	/* The key is the matcher's lookup: release, then source. */
	"CREATE TABLE tracker (release TEXT NOT NULL, source TEXT NOT NULL,"
	" issue INTEGER NOT NULL, status INTEGER NOT NULL, fixed TEXT,"
	" urgency TEXT, nodsa TEXT, nodsa_reason TEXT,"
	" PRIMARY KEY (release, source, issue)) WITHOUT ROWID;"
	"CREATE TABLE nvd (cve TEXT PRIMARY KEY, modified TEXT NOT NULL,"
	" rejected INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE nvd_cvss (cve TEXT NOT NULL, version TEXT NOT NULL,"
	" vector TEXT NOT NULL, score REAL NOT NULL, severity INTEGER NOT NULL,"
	" source TEXT NOT NULL, type TEXT NOT NULL, rank INTEGER NOT NULL,"
	" PRIMARY KEY (cve, version)) WITHOUT ROWID;"
	/* Replacing a duplicate record deletes its rows by adv. */
	"CREATE INDEX affected_adv ON affected (adv);";

static const char vulndb_index_sql[] =
	"CREATE INDEX affected_pkg ON affected (eco_base, name);"
	"CREATE INDEX secfix_pkg ON secfix (distro, name);"
	/* Rejected CVEs were kept as markers only (nvd.c). */
	"DELETE FROM nvd WHERE rejected = 1;";

static int vulndb_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
			  struct err *e)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return err_set(e, ERR_DB, "prepare: %s", sqlite3_errmsg(db));
	return 0;
}

void vulndb_imp_release(struct vulndb_imp *imp)
{
	sqlite3_finalize(imp->find_adv);
	sqlite3_finalize(imp->del_adv);
	sqlite3_finalize(imp->del_aff);
	sqlite3_finalize(imp->ins_adv);
	sqlite3_finalize(imp->ins_aff);
	sqlite3_finalize(imp->ins_secfix);
	sqlite3_close(imp->db);
	memset(imp, 0, sizeof(*imp));
}

static int vulndb_exec(sqlite3 *db, const char *sql, struct err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, ERR_DB, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int vulndb_imp_open(struct vulndb_imp *imp, const char *path, struct err *e)
{
	memset(imp, 0, sizeof(*imp));
	if (sqlite3_open_v2(path, &imp->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return err_set(e, ERR_DB, "open %s: %s", path,
			       imp->db ? sqlite3_errmsg(imp->db) : "no memory");
	/* A file nobody reads until it is complete: no journal needed. */
	if (vulndb_exec(imp->db,
			"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			"PRAGMA page_size=8192;",
			e) < 0 ||
	    vulndb_exec(imp->db, vulndb_schema_sql, e) < 0 ||
	    vulndb_exec(imp->db, "BEGIN", e) < 0)
		return -1;
	if (vulndb_prepare(imp->db,
			   "SELECT id, modified FROM advisory WHERE vid = ?1",
			   &imp->find_adv, e) < 0 ||
	    vulndb_prepare(imp->db, "DELETE FROM advisory WHERE id = ?1",
			   &imp->del_adv, e) < 0 ||
	    vulndb_prepare(imp->db, "DELETE FROM affected WHERE adv = ?1",
			   &imp->del_aff, e) < 0)
		return -1;
	if (vulndb_prepare(imp->db,
			   "INSERT INTO advisory (vid, summary, details,"
			   " modified, published, withdrawn, aliases, refs,"
			   " severity, cvss_score, cvss_vector, vendor_sev)"
			   " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
			   &imp->ins_adv, e) < 0 ||
	    vulndb_prepare(imp->db,
			   "INSERT INTO affected (adv, ecosystem, eco_base,"
			   " name, ranges, versions, severity, cvss_score,"
			   " cvss_vector, vendor_sev)"
			   " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
			   &imp->ins_aff, e) < 0 ||
	    vulndb_prepare(imp->db,
			   "INSERT INTO secfix (distro, repo, name, fixed, vid)"
			   " VALUES (?1,?2,?3,?4,?5)",
			   &imp->ins_secfix, e) < 0)
		return -1;
	return 0;
}

static int vulndb_set_meta(sqlite3 *db, const char *key, const char *value,
			   struct err *e)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (vulndb_prepare(db, "INSERT OR REPLACE INTO meta VALUES (?1, ?2)",
			   &st, e) < 0)
		return -1;
	if (vulndb_bind_text(st, 1, key, e) == 0 &&
	    vulndb_bind_text(st, 2, value, e) == 0 &&
	    vulndb_step_done(st, e) == 0)
		ret = 0;
	sqlite3_finalize(st);
	return ret;
}

/* [{"path", "kind", "source", "records", "skipped"}, ...] */
static char *vulndb_inputs_json(const struct vulndb_input *in, size_t n)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s?, s:I, s:I}", "path",
				     in[i].path, "kind",
				     vulndb_kind_name(in[i].kind), "source",
				     in[i].source, "records",
				     (json_int_t)in[i].records, "skipped",
				     (json_int_t)in[i].skipped));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static int vulndb_finish(struct vulndb_imp *imp, const char *hash,
			 const struct vulndb_input *in, size_t n, struct err *e)
{
	char stamp[32], num[32];
	time_t now = time(NULL);
	struct tm tm;
	char *inputs = vulndb_inputs_json(in, n);
	int ret = -1;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(num, sizeof(num), "%d", VULNDB_SCHEMA);
	if (vulndb_set_meta(imp->db, "schema", num, e) < 0 ||
	    vulndb_set_meta(imp->db, "content_hash", hash, e) < 0 ||
	    vulndb_set_meta(imp->db, "import_time", stamp, e) < 0 ||
	    vulndb_set_meta(imp->db, "inputs", inputs, e) < 0)
		goto out;
	snprintf(num, sizeof(num), "%zu", vulndb_imp_records(imp));
	if (vulndb_set_meta(imp->db, "records", num, e) < 0)
		goto out;
	snprintf(num, sizeof(num), "%zu", imp->skipped);
	if (vulndb_set_meta(imp->db, "skipped", num, e) < 0 ||
	    vulndb_exec(imp->db, vulndb_index_sql, e) < 0 ||
	    vulndb_exec(imp->db, "COMMIT", e) < 0)
		goto out;
	ret = 0;
out:
	free(inputs);
	return ret;
}

/* The content hash the DB at path was built from, or NULL. */
static char *vulndb_current_hash(const char *path, size_t *records)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *hash = NULL;

	if (access(path, F_OK) < 0 ||
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT (SELECT value FROM meta WHERE key ="
			       " 'content_hash'), (SELECT value FROM meta WHERE"
			       " key = 'records'), (SELECT value FROM meta"
			       " WHERE key = 'schema')",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
	    sqlite3_column_int(st, 2) == VULNDB_SCHEMA) {
		hash = xstrdup((const char *)sqlite3_column_text(st, 0));
		*records = (size_t)sqlite3_column_int64(st, 1);
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return hash;
}

static int vulndb_fsync_path(const char *path, bool dir, struct err *e)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "open %s", path);
	if (fsync(fd) < 0) {
		err_errno(e, ERR_IO, errno, "fsync %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int vulndb_publish(const char *tmp, const char *dbpath, struct err *e)
{
	char *copy = xstrdup(dbpath);
	int ret = -1;

	if (vulndb_fsync_path(tmp, false, e) < 0)
		goto out;
	if (rename(tmp, dbpath) < 0) {
		err_errno(e, ERR_IO, errno, "rename %s to %s", tmp, dbpath);
		goto out;
	}
	ret = vulndb_fsync_path(dirname(copy), true, e);
out:
	free(copy);
	return ret;
}

static int vulndb_hash_inputs(struct vulndb_input *in, size_t n,
			      char out[DIGEST_STR_MAX], struct err *e)
{
	struct vulndb_walk w = {NULL, hasher_new(DIGEST_SHA256), e, 0,
				VULNDB_AUTO};
	struct digest dg;
	char tag[32];
	int ret;

	/* The schema and the importer's revision are part of the hash: a
	 * new importer rebuilds. */
	snprintf(tag, sizeof(tag), "customs-vulndb-%d.%d", VULNDB_SCHEMA,
		 VULNDB_IMPORTER);
	vulndb_hash_name(w.h, tag);
	ret = vulndb_walk_all(&w, in, n);
	hasher_final(w.h, &dg);
	hasher_free(w.h);
	digest_str(&dg, out);
	return ret;
}

int vulndb_import(const char *dbpath, const char *const *paths, size_t npaths,
		  struct vulndb_import_stats *stats, struct err *e)
{
	struct vulndb_input *in = xcalloc(npaths ? npaths : 1, sizeof(*in));
	int ret;

	for (size_t i = 0; i < npaths; i++)
		in[i].path = paths[i];
	ret = vulndb_import_inputs(dbpath, in, npaths, stats, e);
	free(in);
	return ret;
}

int vulndb_import_inputs(const char *dbpath, struct vulndb_input *in,
			 size_t npaths, struct vulndb_import_stats *stats,
			 struct err *e)
{
	struct vulndb_imp imp = {0};
	struct vulndb_walk w = {&imp, NULL, e, 0, VULNDB_AUTO};
	char hash[DIGEST_STR_MAX], *tmp = NULL, *cur = NULL;
	size_t records = 0;
	int fd, ret = -1;

	memset(stats, 0, sizeof(*stats));
	if (!npaths)
		return err_set(e, ERR_INVALID, "nothing to import");
	if (vulndb_hash_inputs(in, npaths, hash, e) < 0)
		return -1;
	cur = vulndb_current_hash(dbpath, &records);
	if (cur && !strcmp(cur, hash)) {
		stats->unchanged = true;
		stats->records = records;
		free(cur);
		return 0;
	}
	free(cur);
	tmp = xasprintf("%s.tmp-XXXXXX", dbpath);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "create %s", tmp);
		free(tmp);
		return -1;
	}
	/* mkstemp() makes it 0600; the server reads it as another process. */
	if (fchmod(fd, 0644) < 0) {
		err_errno(e, ERR_IO, errno, "chmod %s", tmp);
		close(fd);
		goto out;
	}
	close(fd);
	if (vulndb_imp_open(&imp, tmp, e) < 0 ||
	    vulndb_walk_all(&w, in, npaths) < 0 ||
	    vulndb_finish(&imp, hash, in, npaths, e) < 0)
		goto out;
	stats->records = vulndb_imp_records(&imp);
	stats->skipped = imp.skipped;
	/* A feed with nothing usable in it is a mistake, not an empty DB:
	 * keep the data we have. */
	if (!stats->records) {
		err_set(e, ERR_INVALID,
			"no valid advisory in the input (%zu skipped); %s left "
			"as it was",
			stats->skipped, dbpath);
		goto out;
	}
	vulndb_imp_release(&imp);
	if (vulndb_publish(tmp, dbpath, e) < 0)
		goto out;
	log_msg(LL_INFO, "vulndb: imported %zu records into %s (%zu skipped)",
		stats->records, dbpath, stats->skipped);
	ret = 0;
out:
	vulndb_imp_release(&imp);
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	return ret;
}
