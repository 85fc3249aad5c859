/* scan_report.c: reports as JSON: findings, comparison, index reports and
 * the referrer manifest.  No I/O here. */
#include "registry/scan/scan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "common/banned.h"

static const char *const rs_sev_keys[] = {"critical", "high", "medium", "low",
					  "unknown"};
#define RS_NSEV (sizeof(rs_sev_keys) / sizeof(rs_sev_keys[0]))
/* The counts of a report matched against no DB (as the scanner writes). */
#define RS_NO_DATA "no data"

static void rs_findings_add(json_t *out, const json_t *report)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(report, "vulnerabilities"), i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		const char *sev =
			json_string_value(json_object_get(v, "severity"));
		json_t *aliases = json_object_get(v, "aliases");

		if (!id)
			continue;
		aliases = json_is_array(aliases) ? json_incref(aliases)
						 : json_array();
		json_array_append_new(out,
				      json_pack("{s:s, s:o, s:s}", "id", id,
						"aliases", aliases, "severity",
						sev ? sev : "unknown"));
	}
}

/* Whether a report says its scan was cut short; an absent status (reports
 * made before budgets existed) reads as complete. */
static bool rs_incomplete(const json_t *report)
{
	const char *st = json_string_value(json_object_get(report, "status"));

	return st && strcmp(st, "complete");
}

/* Why a report is incomplete, in a few words: the budgets it hit ("budget
 * layer_bytes reached"), else the platforms of an index that have no
 * report.  The caller frees. */
static char *rs_incomplete_why(const json_t *report)
{
	const json_t *b, *f;
	json_t *names = json_array();
	struct buf w = BUF_INIT;
	size_t i, k;
	char *s;

	json_array_foreach(json_object_get(report, "budgets"), i, b) {
		const char *n = json_string_value(json_object_get(b, "budget"));
		bool dup = false;

		if (!n)
			continue;
		json_array_foreach(names, k, f)
			dup = dup || !strcmp(json_string_value(f), n);
		if (!dup)
			json_array_append_new(names, json_string(n));
	}
	json_array_foreach(names, i, f)
		buf_addf(&w, "%s%s", i ? ", " : "", json_string_value(f));
	if (json_array_size(names)) {
		char *list = buf_detach(&w, NULL);

		buf_addf(&w, "budget%s %s reached",
			 json_array_size(names) > 1 ? "s" : "", list);
		free(list);
	}
	json_array_foreach(json_object_get(report, "failed"), i, f) {
		const char *pl =
			json_string_value(json_object_get(f, "platform"));
		const char *why =
			json_string_value(json_object_get(f, "error"));

		buf_addf(&w, "%splatform %s not scanned: %s", w.len ? "; " : "",
			 pl ? pl : "?", why ? why : "?");
	}
	if (!w.len)
		buf_adds(&w, "the report says so");
	json_decref(names);
	s = buf_detach(&w, NULL);
	if (strlen(s) > RS_WHY_MAX) {
		/* Not inside a UTF-8 sequence: jansson takes only UTF-8. */
		size_t n = RS_WHY_MAX;

		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		s[n] = '\0';
	}
	return s;
}

char *rs_findings(const json_t *report)
{
	json_t *out = json_array(), *m, *doc;
	const json_t *mans = json_object_get(report, "manifests");
	char *s, *why = NULL;
	const char *gap = NULL;
	size_t i;

	if (json_is_array(mans))
		json_array_foreach(mans, i, m)
			rs_findings_add(out, m);
	else
		rs_findings_add(out, report);
	if (rs_report_not_scanned(report))
		why = xstrdup(REG_SCAN_NOT_IMAGE);
	else if (rs_incomplete(report))
		why = rs_incomplete_why(report);
	/* Not "complete": the policy fails closed on a status it does not
	 * know as complete. */
	doc = json_pack("{s:s, s:o}", "status",
			rs_report_not_scanned(report) ? REG_SCAN_NOT_SCANNED
			: why			      ? "incomplete"
						      : "complete",
			"findings", out);
	if (why)
		json_object_set_new(doc, "why", json_string(why));
	if (scan_report_gap(report, &gap))
		json_object_set_new(doc, "no_data", json_string(gap));
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	free(why);
	if (!s) {
		/* jansson fails only on allocation: as xmalloc would. */
		fprintf(stderr, "customs: out of memory\n");
		abort();
	}
	return s;
}

/* What a report says about an image's findings: its counts, notes and
 * vulnerabilities, each without the package's derived fields (source,
 * purl: a re-match rebuilds them from the inventory, which may spell them
 * differently); an index's, its own notes and its platforms'.  The time,
 * the DB and the scanner are left out: they change with every run. */
static json_t *rs_gist(const json_t *r)
{
	static const char *const pkg_keys[] = {"name", "version", "ecosystem",
					       "layer", "path"};
	json_t *g = json_object(), *vulns = json_array(), *mans, *m, *v;
	size_t i;

	json_object_set(g, "counts", json_object_get(r, "counts"));
	json_object_set(g, "notes", json_object_get(r, "notes"));
	/* A scan cut short is not the same as a whole one. */
	json_object_set_new(g, "status", json_boolean(!rs_incomplete(r)));
	json_object_set(g, "budgets", json_object_get(r, "budgets"));
	json_object_set(g, "failed", json_object_get(r, "failed"));
	/* What VEX took away, and by which documents (absent: none). */
	if (json_object_get(r, "suppressed"))
		json_object_set(g, "suppressed",
				json_object_get(r, "suppressed"));
	if (json_object_get(r, "vex"))
		json_object_set(g, "vex", json_object_get(r, "vex"));
	json_array_foreach(json_object_get(r, "vulnerabilities"), i, v) {
		json_t *c = json_deep_copy(v), *pkg = json_object();
		const json_t *p = json_object_get(v, "package");

		for (size_t k = 0; k < sizeof(pkg_keys) / sizeof(*pkg_keys);
		     k++)
			json_object_set(pkg, pkg_keys[k],
					json_object_get(p, pkg_keys[k]));
		json_object_set_new(c, "package", pkg);
		json_array_append_new(vulns, c);
	}
	json_object_set_new(g, "vulnerabilities", vulns);
	mans = json_object_get(r, "manifests");
	if (json_is_array(mans)) {
		json_t *gm = json_array();

		json_array_foreach(mans, i, m)
			json_array_append_new(gm, rs_gist(m));
		json_object_set_new(g, "manifests", gm);
	}
	return g;
}

bool rs_report_same(const json_t *a, const json_t *b)
{
	json_t *x = rs_gist(a), *y = rs_gist(b);
	bool same = json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return same;
}

/* Only the members on the way to "repository" are copied: a report is
 * large, and the copy is read, never changed. */
bool rs_report_not_scanned(const json_t *report)
{
	const char *st = json_string_value(json_object_get(report, "status"));

	return st && !strcmp(st, REG_SCAN_NOT_SCANNED);
}

bool rs_findings_not_scanned(const char *findings)
{
	json_t *doc = json_loads(findings ? findings : "", 0, NULL);
	bool r = rs_report_not_scanned(doc);

	json_decref(doc);
	return r;
}

bool rs_report_unread(const json_t *report)
{
	const json_t *n = json_object_get(report, "filesystem_layers");

	return json_is_integer(n) && json_integer_value(n) == 0;
}

void rs_mark_not_image(json_t *report)
{
	json_t *notes = json_object_get(report, "notes");
	const json_t *n;
	size_t i;

	json_object_set_new(report, "status",
			    json_string(REG_SCAN_NOT_SCANNED));
	json_object_set_new(report, "reason", json_string(REG_SCAN_NOT_IMAGE));
	/* Zero findings of what was never read would read as "clean". */
	json_object_del(report, "counts");
	if (!json_is_array(notes)) {
		notes = json_array();
		json_object_set_new(report, "notes", notes);
	}
	json_array_foreach(notes, i, n)
		if (!strcmp(json_string_value(n) ? json_string_value(n) : "",
			    REG_SCAN_NOT_IMAGE))
			return;
	json_array_insert_new(notes, 0, json_string(REG_SCAN_NOT_IMAGE));
}

json_t *rs_not_image_report(const struct digest *dg, const char *media_type,
			    const char *repo)
{
	char ds[DIGEST_STR_MAX];

	return json_pack("{s:i, s:s, s:s, s:s, s:{s:s, s:s?, s:s}, s:[s]}",
			 "schemaVersion", 1, "mediaType", REG_SCAN_REPORT_TYPE,
			 "status", REG_SCAN_NOT_SCANNED, "reason",
			 REG_SCAN_NOT_IMAGE, "image", "digest",
			 digest_str(dg, ds), "mediaType", media_type,
			 "repository", repo, "notes", REG_SCAN_NOT_IMAGE);
}

json_t *rs_report_in(const json_t *report, const char *repo)
{
	json_t *r = json_copy((json_t *)report), *img, *mans, *m, *copy;
	size_t i;

	img = json_object_get(r, "image");
	if (json_is_object(img)) {
		img = json_copy(img);
		json_object_set_new(img, "repository", json_string(repo));
		json_object_set_new(r, "image", img);
	}
	mans = json_object_get(r, "manifests");
	if (json_is_array(mans)) {
		copy = json_array();
		json_array_foreach(mans, i, m)
			json_array_append_new(copy, rs_report_in(m, repo));
		json_object_set_new(r, "manifests", copy);
	}
	return r;
}

int rs_manifest_kind(const char *body, size_t len)
{
	switch (oci_manifest_kind_of(body, len)) {
	case OCI_KIND_INDEX:
		return 1;
	case OCI_KIND_IMAGE:
		return 0;
	case OCI_KIND_ARTIFACT:
		break;
	}
	return -1;
}

static void rs_platform_name(const json_t *p, char *out, size_t n)
{
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch =
		json_string_value(json_object_get(p, "architecture"));
	const char *var = json_string_value(json_object_get(p, "variant"));

	snprintf(out, n, "%.30s/%.30s%s%.30s", os ? os : "?", arch ? arch : "?",
		 var ? "/" : "", var ? var : "");
}

int rs_index_platforms(const char *body, size_t len, struct rs_platform **out,
		       size_t *n, struct err *e)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *mans, *m;
	struct rs_platform *v = NULL;
	size_t i, k = 0;
	int ret = -1;

	mans = json_object_get(doc, "manifests");
	if (!json_is_array(mans)) {
		err_set(e, ERR_MANIFEST_INVALID, "index without manifests");
		goto out;
	}
	v = xcalloc(json_array_size(mans) + 1, sizeof(*v));
	json_array_foreach(mans, i, m) {
		const char *d = json_string_value(json_object_get(m, "digest"));

		if (k == RS_MAX_PLATFORMS)
			break;
		if (oci_desc_is_attestation(m) || !d ||
		    digest_parse(d, strlen(d), &v[k].digest, NULL) < 0)
			continue;
		rs_platform_name(json_object_get(m, "platform"), v[k].name,
				 sizeof(v[k].name));
		k++;
	}
	*out = v;
	*n = k;
	v = NULL;
	ret = 0;
out:
	free(v);
	json_decref(doc);
	return ret;
}

static void rs_time(time_t now, char out[32])
{
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *rs_counts_sum(const json_t *reports)
{
	json_int_t sum[RS_NSEV] = {0};
	json_t *c = json_object(), *r;
	size_t i;

	json_array_foreach(reports, i, r) {
		if (rs_report_not_scanned(r))
			continue;
		/* One platform without data: the index has none either. */
		if (!json_is_object(json_object_get(r, "counts"))) {
			json_decref(c);
			return json_string(RS_NO_DATA);
		}
		for (size_t s = 0; s < RS_NSEV; s++)
			sum[s] += json_integer_value(json_object_get(
				json_object_get(r, "counts"), rs_sev_keys[s]));
	}
	for (size_t s = 0; s < RS_NSEV; s++)
		json_object_set_new(c, rs_sev_keys[s], json_integer(sum[s]));
	return c;
}

/* The budgets a platform's report hit, each naming the platform. */
static void rs_index_budgets(json_t *out, const json_t *report,
			     const char *platform)
{
	const json_t *b;
	size_t i;

	json_array_foreach(json_object_get(report, "budgets"), i, b) {
		json_t *c = json_deep_copy(b);

		if (!json_is_object(c)) {
			json_decref(c);
			continue;
		}
		json_object_set_new(c, "platform", json_string(platform));
		json_array_append_new(out, c);
	}
}

json_t *rs_index_report(const struct rs_index_part *parts, size_t n,
			const struct rs_index_meta *m)
{
	json_t *r = json_object(), *reps = json_array(), *notes = json_array();
	json_t *budgets = json_array(), *failed = json_array();
	const json_t *scanner = NULL;
	char when[32], ds[DIGEST_STR_MAX];
	bool incomplete = false;

	for (size_t i = 0; i < n; i++) {
		const char *why = parts[i].why ? parts[i].why : "no report";

		if (parts[i].report) {
			json_array_append(reps, (json_t *)parts[i].report);
			if (!scanner)
				scanner = json_object_get(parts[i].report,
							  "scanner");
			rs_index_budgets(budgets, parts[i].report,
					 parts[i].p->name);
			/* A platform that is no filesystem has its own
			 * verdict: it does not make the index's scan cut
			 * short. */
			incomplete = incomplete ||
				     (rs_incomplete(parts[i].report) &&
				      !rs_report_not_scanned(parts[i].report));
			continue;
		}
		digest_str(&parts[i].p->digest, ds);
		json_array_append_new(
			notes, json_sprintf("platform %s (%s) not scanned: %s",
					    parts[i].p->name, ds, why));
		/* An image platform without a report: the index's scan is
		 * not whole (skipped platforms are not images). */
		if (!parts[i].p->skip) {
			incomplete = true;
			json_array_append_new(
				failed, json_pack("{s:s, s:s, s:s}", "platform",
						  parts[i].p->name, "digest",
						  ds, "error", why));
		}
	}
	if (!n)
		json_array_append_new(
			notes,
			json_string("the index lists no platform image"));
	rs_time(m->now, when);
	json_object_set_new(r, "schemaVersion", json_integer(1));
	json_object_set_new(r, "mediaType", json_string(REG_SCAN_REPORT_TYPE));
	json_object_set_new(r, "scanner",
			    scanner ? json_deep_copy(scanner)
				    : json_pack("{s:s}", "name", "customs"));
	json_object_set_new(r, "created", json_string(when));
	json_object_set_new(
		r, "db",
		m->db_version ? json_pack("{s:s}", "version", m->db_version)
			      : json_null());
	json_object_set_new(r, "image",
			    json_pack("{s:s, s:s, s:o, s:n}", "digest",
				      digest_str(m->digest, ds), "mediaType",
				      m->media_type, "repository",
				      m->repository ? json_string(m->repository)
						    : json_null(),
				      "tag"));
	json_object_set_new(r, "counts", rs_counts_sum(reps));
	json_object_set_new(r, "manifests", reps);
	json_object_set_new(r, "notes", notes);
	json_object_set_new(
		r, "status",
		json_string(incomplete ? "incomplete" : "complete"));
	if (json_array_size(budgets))
		json_object_set(r, "budgets", budgets);
	if (json_array_size(failed))
		json_object_set(r, "failed", failed);
	json_decref(budgets);
	json_decref(failed);
	return r;
}

/* The VEX documents that changed report (an index: its platforms'),
 * comma-separated, as "dev.customs.scan.vex". */
static void rs_vex_annotation(const json_t *report, json_t *a)
{
	const json_t *m, *d;
	json_t *names = json_array();
	struct buf b = BUF_INIT;
	size_t i, k;

	json_array_foreach(json_object_get(report, "vex"), k, d)
		json_array_append(names, (json_t *)d);
	json_array_foreach(json_object_get(report, "manifests"), i, m)
		json_array_foreach(json_object_get(m, "vex"), k, d)
			json_array_append(names, (json_t *)d);
	json_array_foreach(names, i, d) {
		const json_t *x;
		bool dup = false;

		json_array_foreach(names, k, x)
			if (k < i && json_equal(x, d))
				dup = true;
		if (dup || !json_is_string(d))
			continue;
		buf_addf(&b, "%s%s", b.len ? "," : "", json_string_value(d));
	}
	if (b.len)
		json_object_set_new(a, "dev.customs.scan.vex",
				    json_string(b.buf));
	buf_release(&b);
	json_decref(names);
}

static json_t *rs_annotations(const json_t *report)
{
	const json_t *counts = json_object_get(report, "counts");
	const char *dbv = json_string_value(
		json_object_get(json_object_get(report, "db"), "version"));
	const char *created =
		json_string_value(json_object_get(report, "created"));
	json_t *a = json_object();
	char key[64];

	for (size_t s = 0; s < RS_NSEV; s++) {
		snprintf(key, sizeof(key), "dev.customs.scan.%s",
			 rs_sev_keys[s]);
		if (!json_is_object(counts))
			json_object_set_new(a, key, json_string(RS_NO_DATA));
		else
			json_object_set_new(
				a, key,
				json_sprintf("%" JSON_INTEGER_FORMAT,
					     json_integer_value(json_object_get(
						     counts, rs_sev_keys[s]))));
	}
	json_object_set_new(a, "dev.customs.scan.db",
			    json_string(dbv ? dbv : "none"));
	rs_vex_annotation(report, a);
	if (created)
		json_object_set_new(a, "org.opencontainers.image.created",
				    json_string(created));
	return a;
}

char *rs_artifact_manifest(const char *type, const json_t *ann,
			   const struct digest *dg, size_t len,
			   const struct rs_subject *subj)
{
	char rd[DIGEST_STR_MAX], sd[DIGEST_STR_MAX];
	json_t *m;
	char *body;

	m = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:I}],"
		      " s:{s:s, s:s, s:I}, s:O}",
		      "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST,
		      "artifactType", type, "config", "mediaType", OCI_MT_EMPTY,
		      "digest", OCI_EMPTY_DIGEST, "size", 2, "layers",
		      "mediaType", type, "digest", digest_str(dg, rd), "size",
		      (json_int_t)len, "subject", "mediaType", subj->media_type,
		      "digest", digest_str(subj->digest, sd), "size",
		      (json_int_t)subj->size, "annotations", ann);
	body = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!body) {
		/* jansson fails only on allocation: as xmalloc would. */
		fprintf(stderr, "customs: out of memory\n");
		abort();
	}
	return body;
}

char *rs_referrer_manifest(const json_t *report, const struct digest *report_dg,
			   size_t report_len, const struct rs_subject *subj,
			   char **annotations)
{
	json_t *ann = rs_annotations(report);
	char *body = rs_artifact_manifest(REG_SCAN_REPORT_TYPE, ann, report_dg,
					  report_len, subj);

	*annotations = json_dumps(ann, JSON_COMPACT);
	json_decref(ann);
	if (!*annotations) {
		fprintf(stderr, "customs: out of memory\n");
		abort();
	}
	return body;
}

/* The end of the JSON string starting at s[i] ('"'), past its quote; 0
 * if it does not end. */
static size_t rs_text_string_end(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* The end of the JSON value starting at s[i]; 0 if it does not end. */
static size_t rs_text_value_end(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	for (; i < n; i++) {
		switch (s[i]) {
		case '"':
			i = rs_text_string_end(s, n, i);
			if (!i)
				return 0;
			if (!depth)
				return i;
			i--;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (!depth)
				return i;
			if (!--depth)
				return i + 1;
			break;
		case ',':
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			if (!depth)
				return i;
			break;
		default:
			break;
		}
	}
	return depth ? 0 : i;
}

static size_t rs_text_space(const char *s, size_t n, size_t i)
{
	while (i < n &&
	       (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

int rs_text_split(const char *text, size_t n, struct rs_text_span **out,
		  size_t *count)
{
	struct rs_text_span *v = NULL;
	size_t i = rs_text_space(text, n, 0), k, nv = 0, cap = 0;

	*out = NULL;
	*count = 0;
	if (i >= n || text[i] != '{')
		return -1;
	i = rs_text_space(text, n, i + 1);
	if (i < n && text[i] == '}')
		goto done;
	for (;;) {
		if (i >= n || text[i] != '"')
			goto bad;
		k = rs_text_string_end(text, n, i);
		/* Keys with escapes are left to the parser. */
		if (!k || memchr(text + i, '\\', k - i))
			goto bad;
		if (nv == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[nv] = (struct rs_text_span){.key = i + 1, .klen = k - i - 2};
		i = rs_text_space(text, n, k);
		if (i >= n || text[i] != ':')
			goto bad;
		i = rs_text_space(text, n, i + 1);
		k = rs_text_value_end(text, n, i);
		if (!k || k == i)
			goto bad;
		v[nv].val = i;
		v[nv++].vlen = k - i;
		i = rs_text_space(text, n, k);
		if (i < n && text[i] == '}')
			goto done;
		if (i >= n || text[i] != ',')
			goto bad;
		i = rs_text_space(text, n, i + 1);
	}
done:
	*out = v;
	*count = nv;
	return 0;
bad:
	free(v);
	return -1;
}
