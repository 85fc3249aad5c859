/* feeds.c: keeping the vulnerability DB current (scanner.h, "Keeping the
 * DB current"; the cache's layout is in feeds_int.h).
 *
 * An update downloads every source into its cache directory, each on its
 * own (one failing does not stop the others, and keeps its previous
 * copy), then imports the copies of all sources into a new DB beside the
 * live one.  A new copy that the importer refuses (unreadable, or not one
 * valid record) is put back to the previous one and the import is run
 * again without it: the DB is only ever replaced by one built from good
 * copies, and only when its content changed (a rebuild of the same data
 * would make the registry re-match every report for nothing).
 */
#include "scanner/feeds_int.h"

#include <archive.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "scanner/eco_int.h"
#include "scanner/vulndb_int.h"
#include "common/banned.h"

/* A state file or a .meta is small; anything larger is not one. */
#define FEED_STATE_MAX ((size_t)64 << 10)
#define FEED_META_MAX  ((int64_t)4 << 10)

/* --- Sources ------------------------------------------------------------- */

void vulndb_source_release(struct vulndb_source *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->url);
	memset(s, 0, sizeof(*s));
}

void vulndb_sources_free(struct vulndb_source *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		vulndb_source_release(&v[i]);
	free(v);
}

int vulndb_source_parse(const char *spec, struct vulndb_source *out,
			struct err *e)
{
	const char *eq = strchr(spec, '=');
	char *kind = eq ? xstrndup(spec, (size_t)(eq - spec)) : NULL;
	const char *url = eq ? eq + 1 : NULL, *rest;
	enum vulndb_kind k;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!kind || vulndb_kind_parse(kind, &k) < 0 || k == VULNDB_AUTO) {
		free(kind);
		return err_set(e, ERR_INVALID,
			       "source '%s': expected KIND=URL, KIND one of "
			       "osv, alpine-secdb, debian-tracker, nvd",
			       spec);
	}
	free(kind);
	if (!strncasecmp(url, "https://", 8))
		rest = url + 8;
	else if (!strncasecmp(url, "http://", 7))
		rest = url + 7;
	else
		return err_set(e, ERR_INVALID,
			       "source '%s': only http and https URLs", spec);
	n = strcspn(rest, "?#");
	if (!n || *rest == '/')
		return err_set(e, ERR_INVALID, "source '%s': no host", spec);
	out->kind = k;
	out->url = xstrdup(url);
	out->name = xasprintf("%s:%.*s", vulndb_kind_name(k), (int)n, rest);
	return 0;
}

static void feed_add(struct vulndb_source **v, size_t *n, size_t *alloc,
		     enum vulndb_kind k, char *name, char *url)
{
	if (*n == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 32;
		*v = xrealloc(*v, *alloc * sizeof(**v));
	}
	(*v)[*n].kind = k;
	(*v)[*n].name = name;
	(*v)[*n].url = url;
	(*n)++;
}

static bool feed_wanted(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* Reports name an ecosystem by its row's name, which is not always the
 * OSV ecosystem holding its advisories ("Runtime": "Bitnami"). */
static bool feed_osv_wanted(const struct vulndb_want *want, const char *osv)
{
	const struct eco_info *ei = eco_by_osv(osv);

	return feed_wanted(want->ecosystems, want->necosystems, osv) ||
	       (ei &&
		feed_wanted(want->ecosystems, want->necosystems, ei->name));
}

/* OSV's ecosystems that the detectors know. */
static const char *const feed_osv_ecos[] = {
	"Debian",
	"Ubuntu",
	"Alpine",
	"PyPI",
	"npm",
	"Go",
	"Maven",
	"crates.io",
	"Bitnami", /* runtimes: node, python, java (ECO_RUNTIME) */
	/* rpm and apk distributions (CentOS is matched with Red Hat's) */
	"Red Hat",
	"Rocky Linux",
	"AlmaLinux",
	"SUSE",
	"openSUSE",
	"Wolfi",
	"Chainguard",
	"Mageia",
};
/* Alpine branches with security support, and edge, when the defaults were
 * last reviewed; serve adds the ones its images use. */
static const char *const feed_alpine_branches[] = {
	"v3.19", "v3.20", "v3.21", "v3.22", "v3.23", "edge",
};

#define FEED_OSV_URL	 "https://osv-vulnerabilities.storage.googleapis.com"
#define FEED_ALPINE_URL	 "https://secdb.alpinelinux.org"
#define FEED_TRACKER_URL "https://security-tracker.debian.org/tracker/data/json"
#define FEED_NVD_URL	 "https://nvd.nist.gov/feeds/json/cve/2.0"
/* NVD's yearly feeds start with CVE-2002 (older CVEs are in it too). */
#define FEED_NVD_FIRST_YEAR 2002

/* The URL of an OSV ecosystem's archive; its name may hold spaces. */
static char *feed_osv_url(const char *eco)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/", FEED_OSV_URL);
	for (const char *p = eco; *p; p++)
		buf_addf(&b, *p == ' ' ? "%%20" : "%c", *p);
	buf_addf(&b, "/all.zip");
	return buf_detach(&b, NULL);
}

void vulndb_sources_default(const struct vulndb_want *want, time_t now,
			    struct vulndb_source **out, size_t *count)
{
	struct vulndb_source *v = NULL;
	size_t n = 0, alloc = 0;
	bool all = !want || want->all;
	struct tm tm;
	int year;

	for (size_t i = 0; i < sizeof(feed_osv_ecos) / sizeof(*feed_osv_ecos);
	     i++)
		if (all || feed_osv_wanted(want, feed_osv_ecos[i]))
			feed_add(&v, &n, &alloc, VULNDB_OSV,
				 xasprintf("osv:%s", feed_osv_ecos[i]),
				 feed_osv_url(feed_osv_ecos[i]));
	for (size_t i = 0; all && i < sizeof(feed_alpine_branches) /
						  sizeof(*feed_alpine_branches);
	     i++)
		for (int r = 0; r < 2; r++)
			feed_add(&v, &n, &alloc, VULNDB_ALPINE_SECDB,
				 xasprintf("alpine-secdb:%s/%s",
					   feed_alpine_branches[i],
					   r ? "community" : "main"),
				 xasprintf(FEED_ALPINE_URL "/%s/%s.json",
					   feed_alpine_branches[i],
					   r ? "community" : "main"));
	for (size_t i = 0; !all && i < want->nalpine; i++)
		for (int r = 0; r < 2; r++)
			feed_add(&v, &n, &alloc, VULNDB_ALPINE_SECDB,
				 xasprintf("alpine-secdb:%s/%s",
					   want->alpine[i],
					   r ? "community" : "main"),
				 xasprintf(FEED_ALPINE_URL "/%s/%s.json",
					   want->alpine[i],
					   r ? "community" : "main"));
	if (all || feed_wanted(want->ecosystems, want->necosystems, "Debian"))
		feed_add(&v, &n, &alloc, VULNDB_DEBIAN_TRACKER,
			 xstrdup("debian-tracker"), xstrdup(FEED_TRACKER_URL));
	gmtime_r(&now, &tm);
	year = tm.tm_year + 1900;
	for (int y = FEED_NVD_FIRST_YEAR; y <= year; y++)
		feed_add(&v, &n, &alloc, VULNDB_NVD, xasprintf("nvd:%d", y),
			 xasprintf(FEED_NVD_URL "/nvdcve-2.0-%d.json.gz", y));
	feed_add(&v, &n, &alloc, VULNDB_NVD, xstrdup("nvd:modified"),
		 xstrdup(FEED_NVD_URL "/nvdcve-2.0-modified.json.gz"));
	*out = v;
	*count = n;
}

/* --- Names on disk -------------------------------------------------------- */

static char *feed_safe(const char *s, size_t n)
{
	char *out = xstrndup(s, n);

	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		      *p == '_'))
			*p = '_';
	/* Never "." or "..", never hidden. */
	if (out[0] == '.')
		out[0] = '_';
	return out;
}

char *feed_dir_name(const char *name)
{
	return feed_safe(name, strlen(name));
}

char *feed_file_name(const char *url)
{
	size_t end = strcspn(url, "?#"), start = end;
	const char *scheme = strstr(url, "://");
	size_t host = scheme ? (size_t)(scheme - url) + 3 : 0;

	while (start > host && url[start - 1] != '/')
		start--;
	/* No path segment (or only the host): a fixed name. */
	if (start == host || start == end || end - start > 128)
		return xstrdup("feed");
	return feed_safe(url + start, end - start);
}

/* --- State ---------------------------------------------------------------- */

static void feed_str(char *dst, size_t cap, json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(dst, cap, "%s", v ? v : "");
}

void feed_state_load(const char *dir, struct feed_state *st)
{
	char *path = xasprintf("%s/state.json", dir);
	json_t *o = json_load_file(path, 0, NULL);

	memset(st, 0, sizeof(*st));
	free(path);
	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	feed_str(st->etag, sizeof(st->etag), o, "etag");
	feed_str(st->last_modified, sizeof(st->last_modified), o,
		 "last_modified");
	feed_str(st->sha256, sizeof(st->sha256), o, "sha256");
	feed_str(st->url, sizeof(st->url), o, "url");
	feed_str(st->last_error, sizeof(st->last_error), o, "last_error");
	st->last_success =
		json_integer_value(json_object_get(o, "last_success"));
	st->last_attempt =
		json_integer_value(json_object_get(o, "last_attempt"));
	st->records = json_integer_value(json_object_get(o, "records"));
	st->skipped = json_integer_value(json_object_get(o, "skipped"));
	st->pending = json_is_true(json_object_get(o, "pending"));
	json_decref(o);
}

static json_t *feed_nonempty(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

int feed_state_save(const char *dir, const struct vulndb_source *src,
		    const char *file, const struct feed_state *st,
		    struct err *e)
{
	char *path = xasprintf("%s/state.json", dir);
	char *tmp = xasprintf("%s/state.json.tmp", dir);
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:o, s:I, s:I,"
		" s:b}",
		"name", src->name, "kind", vulndb_kind_name(src->kind), "url",
		src->url, "file", file, "etag", feed_nonempty(st->etag),
		"last_modified", feed_nonempty(st->last_modified), "sha256",
		feed_nonempty(st->sha256), "last_success",
		(json_int_t)st->last_success, "last_attempt",
		(json_int_t)st->last_attempt, "last_error",
		feed_nonempty(st->last_error), "records",
		(json_int_t)st->records, "skipped", (json_int_t)st->skipped,
		"pending", st->pending);
	int ret = -1;

	if (json_dump_file(o, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) < 0) {
		err_set(e, ERR_IO, "write %s", tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		err_errno(e, ERR_IO, errno, "rename %s", tmp);
		goto out;
	}
	ret = 0;
out:
	json_decref(o);
	free(tmp);
	free(path);
	return ret;
}

/* --- NVD's .meta ---------------------------------------------------------- */

int feed_meta_parse(const char *text, size_t len, struct feed_meta *m,
		    struct err *e)
{
	const char *p = text, *end = text + len;

	m->size = -1;
	m->sha256[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		if (n > 5 && !strncmp(p, "size:", 5)) {
			m->size = 0;
			for (size_t i = 5; i < n; i++) {
				if (p[i] < '0' || p[i] > '9' || i > 22)
					return err_set(e, ERR_INVALID,
						       ".meta: bad size");
				m->size = m->size * 10 + (p[i] - '0');
			}
		} else if (n > 7 && !strncmp(p, "sha256:", 7)) {
			if (n - 7 != 64)
				return err_set(e, ERR_INVALID,
					       ".meta: bad sha256");
			for (size_t i = 0; i < 64; i++) {
				char c = p[7 + i];

				if (c >= 'A' && c <= 'F')
					c = (char)(c - 'A' + 'a');
				if (!((c >= '0' && c <= '9') ||
				      (c >= 'a' && c <= 'f')))
					return err_set(e, ERR_INVALID,
						       ".meta: bad sha256");
				m->sha256[i] = c;
			}
			m->sha256[64] = '\0';
		}
		p += n;
		while (p < end && (*p == '\r' || *p == '\n' || *p == ' '))
			p++;
	}
	if (m->size < 0 || !m->sha256[0])
		return err_set(e, ERR_INVALID, ".meta: no size or sha256 line");
	return 0;
}

/* The sha256 and size of the JSON in path (gzip'd or not). */
static int feed_json_digest(const char *path, char hex[FEED_SHA_MAX],
			    int64_t *size, struct err *e)
{
	struct archive *a = vulndb_raw_open(path, e);
	struct hasher *h = hasher_new(DIGEST_SHA256);
	char buf[65536], full[DIGEST_STR_MAX];
	struct digest dg;
	la_ssize_t n;
	int ret = -1;

	*size = 0;
	if (!a)
		goto out;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		hasher_update(h, buf, (size_t)n);
		*size += n;
	}
	if (n < 0) {
		err_set(e, ERR_INVALID, "%s: %s", path,
			archive_error_string(a));
		goto out;
	}
	hasher_final(h, &dg);
	digest_str(&dg, full);
	snprintf(hex, FEED_SHA_MAX, "%s", strchr(full, ':') + 1);
	ret = 0;
out:
	hasher_free(h);
	if (a)
		archive_read_free(a);
	return ret;
}

/* NVD publishes X.meta beside X.json.gz (X.json.zip, X.json). */
static char *feed_meta_url(const char *url)
{
	static const char *const exts[] = {".json.gz", ".json.zip", ".json"};
	size_t n = strlen(url);

	for (size_t i = 0; i < sizeof(exts) / sizeof(*exts); i++) {
		size_t x = strlen(exts[i]);

		if (n > x && !strcasecmp(url + n - x, exts[i]))
			return xasprintf("%.*s.meta", (int)(n - x), url);
	}
	return NULL;
}

/* --- One source ----------------------------------------------------------- */

/* A source during an update. */
struct feed_src {
	const struct vulndb_source *src;
	char *dir, *file, *copy, *prev; /* dir, file name, paths */
	struct feed_state st;		/* as it will be saved */
	struct feed_state old;		/* as loaded */
	bool changed;			/* a new copy came this run */
	bool failed;			/* this run's download failed */
	bool have;			/* a copy is there to import */
};

static void feed_src_release(struct feed_src *f)
{
	free(f->dir);
	free(f->file);
	free(f->copy);
	free(f->prev);
}

static int feed_mkdir(const char *path, struct err *e)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_errno(e, ERR_IO, errno, "mkdir %s", path);
	return 0;
}

/* Fetches the .meta of an NVD feed; 1 when it says the copy is current,
 * 0 when the feed is to be fetched (meta->sha256 "" if there is none). */
static int feed_nvd_meta(const struct vulndb_update_opts *o, struct feed_src *f,
			 struct feed_meta *meta, struct err *e)
{
	char *url = feed_meta_url(f->src->url);
	char *path = xasprintf("%s/meta.part", f->dir);
	struct feed_get g = {.url = url,
			     .path = path,
			     .max_bytes = FEED_META_MAX,
			     .lim = &o->limits,
			     .stopping = o->stopping,
			     .ctx = o->ctx};
	struct err me = ERR_INIT;
	char text[FEED_META_MAX + 1];
	ssize_t n = -1;
	int fd, ret = 0;

	meta->sha256[0] = '\0';
	meta->size = -1;
	if (!url)
		goto out;
	if (feed_get(&g, &me) < 0) {
		/* A mirror may not carry it: the feed is still checked by
		 * its size, and by the importer. */
		if (g.h.status == 404) {
			log_msg(LL_INFO, "db update: %s: no .meta (%s)",
				f->src->name, me.msg);
			goto out;
		}
		ret = err_set(e, me.code, "%s", me.msg);
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n < 0) {
		ret = err_errno(e, ERR_IO, errno, "read %s", path);
		goto out;
	}
	if (feed_meta_parse(text, (size_t)n, meta, &me) < 0) {
		ret = err_set(e, ERR_UPSTREAM, "%s: %s", url, me.msg);
		goto out;
	}
	if (f->have && !strcmp(meta->sha256, f->old.sha256))
		ret = 1;
out:
	unlink(path);
	free(path);
	free(url);
	return ret;
}

static int feed_verify_meta(const struct feed_meta *meta, const char *path,
			    const char *url, struct err *e)
{
	char hex[FEED_SHA_MAX];
	int64_t size;

	if (!meta->sha256[0])
		return 0;
	if (feed_json_digest(path, hex, &size, e) < 0)
		return -1;
	if (size != meta->size || strcmp(hex, meta->sha256))
		return err_set(e, ERR_UPSTREAM,
			       "%s: %lld bytes with sha256 %.12s..., its .meta "
			       "says %lld bytes, %.12s...: corrupt download",
			       url, (long long)size, hex, (long long)meta->size,
			       meta->sha256);
	return 0;
}

/* Downloads one source; its state says what happened. */
static void feed_fetch(const struct vulndb_update_opts *o, struct feed_src *f,
		       struct vulndb_update_result *r)
{
	struct feed_meta meta = {-1, ""};
	char *part = xasprintf("%s.part", f->copy);
	bool same_url = !strcmp(f->old.url, f->src->url);
	struct feed_get g = {
		.url = f->src->url,
		.path = part,
		.etag = f->have && same_url ? f->old.etag : NULL,
		.last_modified =
			f->have && same_url ? f->old.last_modified : NULL,
		.max_bytes = o->limits.max_bytes,
		.lim = &o->limits,
		.stopping = o->stopping,
		.ctx = o->ctx,
	};
	struct err e = ERR_INIT;
	int rc = 0;

	f->st.last_attempt = (int64_t)time(NULL);
	if (f->src->kind == VULNDB_NVD)
		rc = feed_nvd_meta(o, f, &meta, &e);
	if (rc == 1 && same_url) {
		g.not_modified = true;
	} else if (rc < 0 || feed_get(&g, &e) < 0 ||
		   (!g.not_modified &&
		    feed_verify_meta(&meta, part, f->src->url, &e) < 0)) {
		goto fail;
	}
	if (g.not_modified) {
		r->unchanged++;
		f->st.last_success = f->st.last_attempt;
		f->st.last_error[0] = '\0';
		goto out;
	}
	if (f->have && rename(f->copy, f->prev) < 0) {
		err_errno(&e, ERR_IO, errno, "rename %s", f->copy);
		goto fail;
	}
	if (rename(part, f->copy) < 0) {
		err_errno(&e, ERR_IO, errno, "rename %s", part);
		if (f->have)
			rename(f->prev, f->copy);
		goto fail;
	}
	snprintf(f->st.etag, sizeof(f->st.etag), "%s", g.h.etag);
	snprintf(f->st.last_modified, sizeof(f->st.last_modified), "%s",
		 g.h.last_modified);
	snprintf(f->st.sha256, sizeof(f->st.sha256), "%s", meta.sha256);
	snprintf(f->st.url, sizeof(f->st.url), "%s", f->src->url);
	f->st.last_success = f->st.last_attempt;
	f->st.last_error[0] = '\0';
	f->st.pending = true;
	f->changed = f->have = true;
	r->fetched++;
	log_msg(LL_INFO, "db update: %s: %lld bytes in %d request(s)",
		f->src->name, (long long)g.bytes, g.attempts);
	goto out;
fail:
	unlink(part);
	f->failed = true;
	r->failed++;
	snprintf(f->st.last_error, sizeof(f->st.last_error), "%s%s", e.msg,
		 f->have ? " (the previous copy is kept)" : "");
	log_msg(LL_WARN, "db update: %s: %s", f->src->name, f->st.last_error);
out:
	free(part);
}

/* A new copy the importer refused: back to the previous one (or none). */
static void feed_roll_back(struct feed_src *f, const char *why)
{
	if (rename(f->prev, f->copy) < 0) {
		unlink(f->copy);
		f->have = false;
	}
	f->st = f->old;
	f->st.last_attempt = (int64_t)time(NULL);
	snprintf(f->st.last_error, sizeof(f->st.last_error), "%s%s", why,
		 f->have ? " (the previous copy is kept)" : "");
	f->changed = false;
	f->failed = true;
	log_msg(LL_WARN, "db update: %s: %s", f->src->name, f->st.last_error);
}

/* --- The import ----------------------------------------------------------- */

/* The content part of a DB's version ("<import time>/<content hash>");
 * NULL when there is no readable DB at path.  The caller frees. */
static char *feed_db_content(const char *path)
{
	struct err e = ERR_INIT;
	struct vulndb *db = vulndb_open(path, &e);
	const char *slash;
	char *c;

	if (!db)
		return NULL;
	slash = strrchr(vulndb_version(db), '/');
	c = xstrdup(slash ? slash + 1 : vulndb_version(db));
	vulndb_free(db);
	return c;
}

time_t vulndb_version_time(const char *version)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!version ||
	    sscanf(version, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

int64_t scan_note_db_age(json_t *report, int64_t max_age_s, time_t now,
			 const char *hint)
{
	const char *v = json_string_value(
		json_object_get(json_object_get(report, "db"), "version"));
	time_t t = v ? vulndb_version_time(v) : 0;
	json_t *notes;

	if (max_age_s <= 0 || !t || now - t <= max_age_s)
		return 0;
	notes = json_copy(json_object_get(report, "notes"));
	if (!json_is_array(notes)) {
		json_decref(notes);
		notes = json_array();
	}
	json_array_append_new(
		notes, json_sprintf("vulnerability data is %lld hours old (DB "
				    "%s), older than --db-max-age: recent "
				    "advisories are missing; %s",
				    (long long)((now - t) / 3600), v, hint));
	json_object_set_new(report, "notes", notes);
	return (int64_t)(now - t);
}

time_t vulndb_import_time(const char *dbpath)
{
	struct err e = ERR_INIT;
	struct vulndb *db = vulndb_open(dbpath, &e);
	time_t t;

	if (!db)
		return 0;
	t = vulndb_version_time(vulndb_version(db));
	vulndb_free(db);
	return t;
}

/* Which source a failed import names (by its copy's path), or -1. */
static int feed_blamed(struct feed_src *fs, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++)
		if (fs[i].changed && strstr(msg, fs[i].copy))
			return (int)i;
	return -1;
}

/* Imports every copy into tmp; a new copy that fails the import, or
 * gives no record, is rolled back and the import run again. */
static int feed_import_all(struct feed_src *fs, size_t n, const char *tmp,
			   struct vulndb_import_stats *stats, struct err *e)
{
	struct vulndb_input *in = xcalloc(n, sizeof(*in));
	size_t *of = xcalloc(n, sizeof(*of));
	int ret = -1;

	for (size_t round = 0; round <= n; round++) {
		size_t k = 0;
		bool again = false;
		int bad;

		for (size_t i = 0; i < n; i++) {
			if (!fs[i].have)
				continue;
			memset(&in[k], 0, sizeof(in[k]));
			in[k].path = fs[i].copy;
			in[k].kind = fs[i].src->kind;
			in[k].source = fs[i].src->name;
			of[k++] = i;
		}
		if (!k) {
			err_set(e, ERR_NOT_FOUND,
				"no source has been downloaded yet");
			break;
		}
		unlink(tmp);
		err_clear(e);
		if (vulndb_import_inputs(tmp, in, k, stats, e) < 0) {
			bad = feed_blamed(fs, n, e->msg);
			if (bad >= 0) {
				feed_roll_back(&fs[bad], e->msg);
				continue;
			}
			/* Not one copy's fault that we can tell: without
			 * the new copies, if there were any. */
			for (size_t i = 0; i < n; i++)
				if (fs[i].changed) {
					feed_roll_back(&fs[i], e->msg);
					again = true;
				}
			if (!again)
				break;
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			struct feed_src *f = &fs[of[j]];

			f->st.records = (int64_t)in[j].records;
			f->st.skipped = (int64_t)in[j].skipped;
			if (f->changed && !in[j].records) {
				char *why = xasprintf(
					"the new copy holds no valid record "
					"(%zu skipped)",
					in[j].skipped);

				feed_roll_back(f, why);
				free(why);
				again = true;
			}
		}
		if (!again) {
			ret = 0;
			break;
		}
	}
	if (ret < 0)
		unlink(tmp);
	free(in);
	free(of);
	return ret;
}

/* Puts tmp in place of the DB unless it holds the same data. */
static int feed_install(const char *tmp, const char *dbpath, bool *swapped,
			struct err *e)
{
	char *cur = feed_db_content(dbpath), *next = feed_db_content(tmp);
	int ret = -1;

	*swapped = false;
	if (!next) {
		err_set(e, ERR_DB, "the new DB cannot be read");
		goto out;
	}
	if (cur && !strcmp(cur, next)) {
		unlink(tmp);
		ret = 0;
		goto out;
	}
	if (vulndb_publish(tmp, dbpath, e) < 0)
		goto out;
	*swapped = true;
	ret = 0;
out:
	free(cur);
	free(next);
	return ret;
}

/* --- The update ----------------------------------------------------------- */

static bool feed_stopping(const struct vulndb_update_opts *o)
{
	return o->stopping && o->stopping(o->ctx);
}

/* Runs the import when a copy is newer than the DB (or there is no DB). */
static int feed_import(const struct vulndb_update_opts *o, struct feed_src *fs,
		       size_t n, struct vulndb_update_result *r, struct err *e)
{
	struct vulndb_import_stats stats;
	char *tmp = xasprintf("%s.update", o->dbpath);
	bool need = access(o->dbpath, F_OK) < 0;
	int ret = -1;

	for (size_t i = 0; i < n; i++)
		need = need || (fs[i].have && fs[i].st.pending);
	if (!need) {
		ret = 0;
		goto out;
	}
	r->imported = true;
	if (feed_import_all(fs, n, tmp, &stats, e) < 0 ||
	    feed_install(tmp, o->dbpath, &r->swapped, e) < 0)
		goto out;
	r->records = stats.records;
	for (size_t i = 0; i < n; i++) {
		fs[i].st.pending = false;
		/* The DB holds it now: the copy it replaced can go. */
		unlink(fs[i].prev);
	}
	log_msg(LL_INFO, "db update: %zu records from %zu source(s)%s",
		stats.records, n,
		r->swapped ? "" : ": same data, the DB is unchanged");
	ret = 0;
out:
	unlink(tmp);
	free(tmp);
	return ret;
}

static void feed_src_init(const struct vulndb_update_opts *o,
			  const struct vulndb_source *src, struct feed_src *f)
{
	char *d = feed_dir_name(src->name);

	memset(f, 0, sizeof(*f));
	f->src = src;
	f->dir = xasprintf("%s/%s", o->cache_dir, d);
	f->file = feed_file_name(src->url);
	f->copy = xasprintf("%s/%s", f->dir, f->file);
	f->prev = xasprintf("%s.prev", f->copy);
	free(d);
	feed_state_load(f->dir, &f->old);
	f->st = f->old;
	f->have = access(f->copy, R_OK) == 0;
	/* A crash between the renames of feed_fetch(): the copy is gone,
	 * the previous one is still good. */
	if (!f->have && rename(f->prev, f->copy) == 0)
		f->have = true;
}

/* e: how many failed, and the first one's reason. */
static void feed_summary(const struct feed_src *fs, size_t n,
			 const struct vulndb_update_result *r, struct err *e)
{
	for (size_t i = 0; i < n; i++)
		if (fs[i].failed) {
			err_set(e, ERR_UPSTREAM,
				"%zu of %zu source(s) failed; %s: %s",
				r->failed, n, fs[i].src->name,
				fs[i].st.last_error);
			return;
		}
}

int vulndb_update(const struct vulndb_update_opts *o,
		  struct vulndb_update_result *r, struct err *e)
{
	struct feed_src *fs =
		xcalloc(o->nsources ? o->nsources : 1, sizeof(*fs));
	struct err ie = ERR_INIT;
	char *lock_path = NULL;
	size_t n = 0;
	int lock = -1, ret = -1, rc;

	memset(r, 0, sizeof(*r));
	if (!o->nsources) {
		free(fs);
		return err_set(e, ERR_INVALID, "no source to update from");
	}
	if (feed_mkdir(o->cache_dir, e) < 0)
		goto out;
	/* serve's updater and `customs db update` share the cache: one at
	 * a time (the lock goes with the process). */
	lock_path = xasprintf("%s/.lock", o->cache_dir);
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0) {
		err_errno(e, ERR_IO, errno, "open %s", lock_path);
		goto out;
	}
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		err_set(e, errno == EWOULDBLOCK ? ERR_BUSY : ERR_IO,
			"another update of %s is running", o->cache_dir);
		goto out;
	}
	for (; n < o->nsources; n++) {
		feed_src_init(o, &o->sources[n], &fs[n]);
		if (feed_mkdir(fs[n].dir, e) < 0) {
			n++;
			goto out;
		}
	}
	for (size_t i = 0; i < n && !feed_stopping(o); i++)
		feed_fetch(o, &fs[i], r);
	if (feed_stopping(o)) {
		err_set(e, ERR_IO, "stopped");
		goto save;
	}
	rc = feed_import(o, fs, n, r, &ie);
	/* Copies the import refused were rolled back: failed after all. */
	r->failed = r->fetched = 0;
	for (size_t i = 0; i < n; i++) {
		r->failed += fs[i].failed;
		r->fetched += fs[i].changed;
	}
	if (rc < 0)
		err_set(e, ie.code, "import: %s; the DB is unchanged", ie.msg);
	else if (!r->failed)
		ret = 0;
	else
		feed_summary(fs, n, r, e);
save:
	for (size_t i = 0; i < n; i++) {
		struct err se = ERR_INIT;

		if (feed_state_save(fs[i].dir, fs[i].src, fs[i].file, &fs[i].st,
				    &se) < 0)
			log_msg(LL_WARN, "db update: %s: %s", fs[i].src->name,
				se.msg);
	}
out:
	for (size_t i = 0; i < n; i++)
		feed_src_release(&fs[i]);
	free(fs);
	if (lock >= 0)
		close(lock);
	free(lock_path);
	return ret;
}

/* --- Status --------------------------------------------------------------- */

static json_t *feed_time(int64_t t)
{
	char s[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return json_null();
	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

static int feed_by_name(const void *a, const void *b)
{
	return strcmp(
		json_string_value(json_object_get(*(json_t *const *)a, "name")),
		json_string_value(
			json_object_get(*(json_t *const *)b, "name")));
}

json_t *vulndb_sources_status(const char *cache_dir, time_t now)
{
	json_t **v = NULL, *out = json_array();
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *d = opendir(cache_dir);

	while (d && (de = readdir(d))) {
		char *path =
			xasprintf("%s/%s/state.json", cache_dir, de->d_name);
		json_t *o = de->d_name[0] == '.'
				    ? NULL
				    : json_load_file(path, 0, NULL);
		json_t *row;
		int64_t ok;

		free(path);
		if (!json_is_object(o) ||
		    !json_is_string(json_object_get(o, "name"))) {
			json_decref(o);
			continue;
		}
		ok = json_integer_value(json_object_get(o, "last_success"));
		row = json_pack(
			"{s:O, s:O?, s:O?, s:o, s:o, s:I, s:O?, s:o}", "name",
			json_object_get(o, "name"), "kind",
			json_object_get(o, "kind"), "url",
			json_object_get(o, "url"), "last_success",
			feed_time(ok), "age_s",
			ok > 0 ? json_integer((json_int_t)(now - ok))
			       : json_null(),
			"records",
			json_integer_value(json_object_get(o, "records")),
			"last_error", json_object_get(o, "last_error"),
			"last_attempt",
			feed_time(json_integer_value(
				json_object_get(o, "last_attempt"))));
		json_decref(o);
		if (!row)
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		v[n++] = row;
	}
	if (d)
		closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), feed_by_name);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, v[i]);
	free(v);
	return out;
}
