/* report.c: the JSON report. */
#include "scanner/report_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "scanner/eco_int.h"
#include "common/banned.h"

static const char *const sev_names[] = {
	[SEV_UNKNOWN] = "unknown",   [SEV_LOW] = "low",
	[SEV_MEDIUM] = "medium",     [SEV_HIGH] = "high",
	[SEV_CRITICAL] = "critical",
};

static const char *report_sev_name(enum vuln_severity s)
{
	if ((int)s < 0 || s > SEV_CRITICAL)
		return "unknown";
	return sev_names[s];
}

int report_sev_parse(const char *s, enum vuln_severity *out)
{
	for (int i = SEV_UNKNOWN; i <= SEV_CRITICAL; i++) {
		if (!strcasecmp(s, sev_names[i])) {
			*out = (enum vuln_severity)i;
			return 0;
		}
	}
	if (!strcasecmp(s, "moderate")) {
		*out = SEV_MEDIUM;
		return 0;
	}
	return -1;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void report_time(time_t now, char out[32])
{
	struct tm tm;

	if (!now)
		now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Percent-encodes all but purl's unreserved characters (and '/' when
 * keep_slash: namespaces with several segments). */
static void purl_enc(struct buf *b, const char *s, bool keep_slash)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '.' || c == '-' || c == '_' ||
		    c == '~' || (keep_slash && c == '/'))
			buf_add(b, s, 1);
		else
			buf_addf(b, "%%%02X", c);
	}
}

static void purl_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* name "ns<sep>rest" as "ns/rest", each part encoded; without sep, the
 * name alone. */
static void purl_split(struct buf *b, const char *name, char sep)
{
	const char *c = strchr(name, sep);
	char *ns;

	if (!c) {
		purl_enc(b, name, false);
		return;
	}
	ns = xstrndup(name, (size_t)(c - name));
	purl_enc(b, ns, false);
	buf_adds(b, "/");
	purl_enc(b, c + 1, false);
	free(ns);
}

static void purl_name(struct buf *b, const struct eco_info *ei,
		      const struct scan_pkg *p)
{
	char *n;

	switch (ei->purl_name) {
	case ECO_PURL_LOWER:
		n = xstrdup(p->src_name ? p->src_name : p->name);
		purl_lower(n);
		purl_enc(b, n, false);
		free(n);
		break;
	case ECO_PURL_GROUP:
		purl_split(b, p->name, ':');
		break;
	case ECO_PURL_SCOPE:
		if (p->name[0] == '@')
			purl_split(b, p->name, '/');
		else
			purl_enc(b, p->name, false);
		break;
	case ECO_PURL_NAME:
	case ECO_PURL_PATH:
		purl_enc(b, p->name, ei->purl_name == ECO_PURL_PATH);
		break;
	}
}

char *report_purl(const struct scan_pkg *p, const struct scan_os *os)
{
	const struct eco_info *ei = eco_info(p->eco);
	const char *osid = os && os->id ? os->id : NULL;
	const char *ver = p->version, *colon;
	struct buf b = BUF_INIT;
	char *epoch = NULL;
	char sep = '?';

	buf_addf(&b, "pkg:%s/", ei->purl_type);
	if (ei->purl_ns) {
		buf_addf(&b, "%s/", ei->purl_ns);
	} else if (ei->flags & ECO_OS_PACKAGE) {
		purl_enc(&b, osid ? osid : "unknown", false);
		buf_adds(&b, "/");
	}
	colon = strchr(ver, ':');
	if ((ei->flags & ECO_PURL_EPOCH) && colon) {
		epoch = xstrndup(ver, (size_t)(colon - ver));
		ver = colon + 1;
	}
	purl_name(&b, ei, p);
	buf_adds(&b, "@");
	purl_enc(&b, ver, false);
	if (!(ei->flags & ECO_OS_PACKAGE))
		goto out;
	if (epoch) {
		buf_addf(&b, "%cepoch=", sep);
		purl_enc(&b, epoch, false);
		sep = '&';
	}
	if (osid && os->version_id) {
		buf_addf(&b, "%cdistro=", sep);
		if (!(ei->flags & ECO_PURL_DISTRO_BARE)) {
			purl_enc(&b, osid, false);
			buf_adds(&b, "-");
		}
		purl_enc(&b, os->version_id, false);
		sep = '&';
	}
	if (p->src_name && strcmp(p->src_name, p->name)) {
		buf_addf(&b, "%cupstream=", sep);
		purl_enc(&b, p->src_name, false);
	}
out:
	free(epoch);
	return buf_detach(&b, NULL);
}

static json_t *report_source(const struct scan_pkg *p)
{
	if (!p->src_name && !p->src_version)
		return json_null();
	return json_pack("{s:o, s:o}", "name",
			 jstr(p->src_name ? p->src_name : p->name), "version",
			 jstr(p->src_version ? p->src_version : p->version));
}

static const char *const report_confs[] = {
	[SCAN_CONF_HIGH] = "high",
	[SCAN_CONF_MEDIUM] = "medium",
	[SCAN_CONF_LOW] = "low",
};

static const char *report_conf_name(enum scan_conf c)
{
	return (unsigned)c < sizeof(report_confs) / sizeof(*report_confs)
		       ? report_confs[c]
		       : "low";
}

static enum scan_conf report_conf_parse(const char *s)
{
	for (size_t i = 0;
	     s && i < sizeof(report_confs) / sizeof(*report_confs); i++)
		if (!strcmp(s, report_confs[i]))
			return (enum scan_conf)i;
	return SCAN_CONF_HIGH;
}

static json_t *report_pkg(const struct scan_pkg *p, const struct scan_os *os)
{
	char *purl = report_purl(p, os);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "name",
			      p->name, "version", p->version, "ecosystem",
			      scan_eco_name(p->eco), "source", report_source(p),
			      "layer", jstr(p->layer), "path", jstr(p->path),
			      "purl", purl);

	/* Only packages not read from a package database say how they were
	 * identified, so database reports keep their shape. */
	if (p->conf != SCAN_CONF_HIGH) {
		json_object_set_new(o, "confidence",
				    json_string(report_conf_name(p->conf)));
		json_object_set_new(o, "identified_by", jstr(p->evidence));
	}
	free(purl);
	return o;
}

static json_t *report_strv(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* "severity_source": the vendor's name, "nvd", "advisory" or "unknown". */
static const char *report_sev_source(const struct vuln_finding *f)
{
	switch (f->severity_source) {
	case SEVSRC_VENDOR:
		return f->vendor ? f->vendor : "vendor";
	case SEVSRC_NVD:
		return "nvd";
	case SEVSRC_ADVISORY:
		return "advisory";
	case SEVSRC_UNKNOWN:
		break;
	}
	return "unknown";
}

/* [{version, vector, score, severity, source "nvd" | "advisory", and for
 * NVD's: cve, assigner, type}] */
static json_t *report_cvss(const struct vuln_finding *f)
{
	json_t *a = json_array();

	for (size_t i = 0; i < f->ncvss; i++) {
		const struct vuln_cvss *c = &f->cvss[i];
		json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s}", "version",
				      c->version, "vector", c->vector, "score",
				      c->score >= 0 ? json_real(c->score)
						    : json_null(),
				      "severity", report_sev_name(c->severity),
				      "source", c->nvd ? "nvd" : "advisory");

		if (c->nvd)
			json_object_update_new(
				o, json_pack("{s:o, s:o, s:o}", "cve",
					     jstr(c->cve), "assigner",
					     jstr(c->assigner), "type",
					     jstr(c->type)));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *report_vuln(const struct vuln_finding *f,
			   const struct scan_inventory *inv)
{
	const struct scan_pkg *p = &inv->pkgs[f->pkg];

	return json_pack(
		"{s:s, s:o, s:o, s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "id",
		f->id, "aliases", report_strv(f->aliases, f->naliases),
		"package", report_pkg(p, &inv->os), "installed", p->version,
		"fixed", jstr(f->fixed), "severity",
		report_sev_name(f->severity), "severity_source",
		report_sev_source(f), "cvss", report_cvss(f), "summary",
		jstr(f->summary), "references", report_strv(f->refs, f->nrefs));
}

/* Adds what the distribution says of f to its entry o: "status" (every
 * finding has one) and "vendor_severity" {source, rating} or null. */
static json_t *report_vuln_vendor(json_t *o, const struct vuln_finding *f)
{
	json_object_set_new(o, "status",
			    json_string(vuln_status_name(f->status, f->fixed)));
	json_object_set_new(o, "vendor_severity",
			    f->vendor_rating
				    ? json_pack("{s:s, s:s}", "source",
						f->vendor ? f->vendor : "",
						"rating", f->vendor_rating)
				    : json_null());
	return o;
}

struct vref {
	const struct vuln_finding *f;
	const struct scan_inventory *inv;
};

static int vref_cmp(const void *x, const void *y)
{
	const struct vref *a = x, *b = y;
	int c;

	if (a->f->severity != b->f->severity)
		return a->f->severity > b->f->severity ? -1 : 1;
	c = strcmp(a->inv->pkgs[a->f->pkg].name, b->inv->pkgs[b->f->pkg].name);
	if (c)
		return c;
	c = strcmp(a->f->id, b->f->id);
	if (c)
		return c;
	return a->f->pkg < b->f->pkg ? -1 : a->f->pkg > b->f->pkg;
}

static json_t *report_counts(const size_t c[SEV_CRITICAL + 1])
{
	return json_pack(
		"{s:I, s:I, s:I, s:I, s:I}", "critical",
		(json_int_t)c[SEV_CRITICAL], "high", (json_int_t)c[SEV_HIGH],
		"medium", (json_int_t)c[SEV_MEDIUM], "low",
		(json_int_t)c[SEV_LOW], "unknown", (json_int_t)c[SEV_UNKNOWN]);
}

static json_t *report_header(const struct report_meta *m)
{
	char when[32];

	report_time(m->now, when);
	return json_pack("{s:i, s:s, s:{s:s, s:s}, s:s, s:s, s:o}",
			 "schemaVersion", 1, "mediaType", REPORT_MEDIA_TYPE,
			 "scanner", "name", "customs", "version", SCAN_VERSION,
			 "created", when, "status", REPORT_COMPLETE, "db",
			 m->db_version
				 ? json_pack("{s:s}", "version", m->db_version)
				 : json_null());
}

static json_t *report_platform(const struct image *img)
{
	json_t *p = json_object();

	if (img->os)
		json_object_set_new(p, "os", json_string(img->os));
	if (img->arch)
		json_object_set_new(p, "architecture", json_string(img->arch));
	if (img->variant)
		json_object_set_new(p, "variant", json_string(img->variant));
	return p;
}

static json_t *report_os(const struct scan_inventory *inv)
{
	const struct scan_os *os = &inv->os;
	json_t *o, *cs;

	if (!os->id)
		return json_null();
	o = json_pack("{s:s, s:o, s:o, s:o}", "id", os->id, "version_id",
		      jstr(os->version_id), "pretty_name",
		      jstr(os->pretty_name), "codename", jstr(os->codename));
	if (inv->ncontent_sets) {
		cs = json_array();
		for (size_t i = 0; i < inv->ncontent_sets; i++)
			json_array_append_new(
				cs, json_string(inv->content_sets[i]));
		json_object_set_new(o, "content_sets", cs);
	}
	return o;
}

static bool report_is_gap(const json_t *n)
{
	return json_is_string(n) &&
	       !strncmp(json_string_value(n), SCAN_NO_SOURCE,
			strlen(SCAN_NO_SOURCE));
}

/* The notes on how OS packages were matched: a gap, or advisories of
 * another distribution (CentOS against Red Hat's). */
static bool report_is_match_note(const json_t *n)
{
	return report_is_gap(n) ||
	       (json_is_string(n) &&
		!strncmp(json_string_value(n), SCAN_OTHER_SOURCE,
			 strlen(SCAN_OTHER_SOURCE)));
}

/* The notes on OS packages no advisory source covers, or that another
 * distribution's advisories cover, as of inv and db (a new scanner or DB
 * may cover what an older one did not). */
static void report_gap_note(json_t *r, const struct scan_inventory *inv,
			    struct vulndb *db)
{
	json_t *kept = json_array(), *n;
	char *gap = vulndb_match_gap(db, inv);
	char *other = db && !gap ? vulndb_match_other(inv) : NULL;
	size_t i;

	json_array_foreach(json_object_get(r, "notes"), i, n)
		if (!report_is_match_note(n))
			json_array_append(kept, n);
	if (gap)
		json_array_append_new(kept, json_string(gap));
	if (other)
		json_array_append_new(kept, json_string(other));
	free(gap);
	free(other);
	json_object_set_new(r, "notes", kept);
}

bool scan_report_gap(const json_t *report, const char **note)
{
	const json_t *n;
	size_t i;

	json_array_foreach(json_object_get(report, "manifests"), i, n)
		if (scan_report_gap(n, note))
			return true;
	json_array_foreach(json_object_get(report, "notes"), i, n) {
		if (report_is_gap(n)) {
			if (note)
				*note = json_string_value(n);
			return true;
		}
	}
	return false;
}

void report_set_findings(json_t *r, const struct scan_inventory *inv,
			 const struct vuln_finding *f, size_t nf,
			 struct vulndb *db)
{
	size_t counts[SEV_CRITICAL + 1] = {0};
	struct vref *v = xcalloc(nf + 1, sizeof(*v));
	json_t *vulns = json_array();

	for (size_t i = 0; i < nf; i++) {
		v[i].f = &f[i];
		v[i].inv = inv;
	}
	qsort(v, nf, sizeof(*v), vref_cmp);
	for (size_t i = 0; i < nf; i++) {
		json_array_append_new(
			vulns,
			report_vuln_vendor(report_vuln(v[i].f, inv), v[i].f));
		counts[v[i].f->severity <= SEV_CRITICAL ? v[i].f->severity
							: 0]++;
	}
	free(v);
	json_object_set_new(r, "vulnerabilities", vulns);
	json_object_set_new(r, "counts", report_counts(counts));
	report_gap_note(r, inv, db);
}

static void report_db_note(json_t *r, const struct report_meta *m)
{
	json_t *notes = json_object_get(r, "notes"), *kept = json_array(), *n;
	size_t i;

	json_array_foreach(notes, i, n)
		if (!json_is_string(n) ||
		    strncmp(json_string_value(n), SCAN_NO_DB,
			    strlen(SCAN_NO_DB)))
			json_array_append(kept, n);
	if (!m->db_version) {
		json_array_append_new(
			kept,
			json_string(m->db_note ? m->db_note : SCAN_NO_DB));
		json_object_set_new(r, "counts", json_string(REPORT_NO_DATA));
	}
	json_object_set_new(r, "notes", kept);
}

void report_restamp(json_t *r, const struct report_meta *m)
{
	json_t *h = report_header(m);

	json_object_set(r, "created", json_object_get(h, "created"));
	json_object_set(r, "db", json_object_get(h, "db"));
	json_object_set(r, "scanner", json_object_get(h, "scanner"));
	json_decref(h);
	if (!json_is_array(json_object_get(r, "manifests")))
		report_db_note(r, m);
}

/* Each layer with the config's history line that created it (null when
 * the config has none for it). */
static json_t *report_history(const struct image *img)
{
	json_t *a = json_array();
	char ds[DIGEST_STR_MAX];

	for (size_t i = 0; i < img->nlayers; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:o}", "digest",
				     digest_str(&img->layers[i].digest, ds),
				     "created_by",
				     i < img->nhistory
					     ? json_string(img->history[i])
					     : json_null()));
	return a;
}

json_t *report_image(const struct image *img, const struct scan_inventory *inv,
		     const struct vuln_finding *f, size_t nf,
		     const struct report_meta *m)
{
	json_t *r = report_header(m), *pkgs = json_array();
	json_t *layers = json_array();
	char ds[DIGEST_STR_MAX], cs[DIGEST_STR_MAX];

	json_object_set_new(
		r, "image",
		json_pack("{s:o, s:s, s:o, s:o, s:s, s:o}", "digest",
			  img->has_digest
				  ? json_string(digest_str(&img->digest, ds))
				  : json_null(),
			  "mediaType", img->media_type, "repository",
			  jstr(m->repository), "tag", jstr(m->tag), "config",
			  digest_str(&img->config, cs), "platform",
			  report_platform(img)));
	json_object_set_new(r, "os", report_os(inv));
	for (size_t i = 0; i < img->nlayers; i++)
		json_array_append_new(
			layers,
			json_string(digest_str(&img->layers[i].digest, ds)));
	json_object_set_new(r, "layers", layers);
	json_object_set_new(r, "layer_history", report_history(img));
	json_object_set_new(r, "filesystem_layers",
			    json_integer((json_int_t)inv->fs_layers));
	for (size_t i = 0; i < inv->npkgs; i++)
		json_array_append_new(pkgs,
				      report_pkg(&inv->pkgs[i], &inv->os));
	json_object_set_new(r, "packages", pkgs);
	report_set_findings(r, inv, f, nf, m->db);
	json_object_set_new(r, "notes", report_strv(inv->notes, inv->nnotes));
	report_gap_note(r, inv, m->db);
	report_db_note(r, m);
	return r;
}

void report_set_budgets(json_t *r, json_t *budgets)
{
	if (!json_array_size(budgets)) {
		json_decref(budgets);
		json_object_set_new(r, "status", json_string(REPORT_COMPLETE));
		json_object_del(r, "budgets");
		return;
	}
	json_object_set_new(r, "status", json_string(REPORT_INCOMPLETE));
	json_object_set_new(r, "budgets", budgets);
}

bool report_is_complete(const json_t *r)
{
	const json_t *mans = json_object_get(r, "manifests"), *m;
	const char *st = json_string_value(json_object_get(r, "status"));
	size_t i;

	if (st && strcmp(st, REPORT_COMPLETE))
		return false;
	json_array_foreach(mans, i, m)
		if (!report_is_complete(m))
			return false;
	return true;
}

int report_max_severity(const json_t *report)
{
	const json_t *c = json_object_get(report, "counts");

	for (int s = SEV_CRITICAL; s >= SEV_UNKNOWN; s--)
		if (json_integer_value(json_object_get(c, sev_names[s])) > 0)
			return s;
	return -1;
}

bool report_has_data(const json_t *report)
{
	return json_is_object(json_object_get(report, "counts"));
}

void report_recount(json_t *r)
{
	size_t counts[SEV_CRITICAL + 1] = {0}, i;
	const json_t *v;

	if (!report_has_data(r))
		return;
	json_array_foreach(json_object_get(r, "vulnerabilities"), i, v) {
		enum vuln_severity s = SEV_UNKNOWN;
		const char *w =
			json_string_value(json_object_get(v, "severity"));

		if (w && report_sev_parse(w, &s) < 0)
			s = SEV_UNKNOWN;
		counts[s]++;
	}
	json_object_set_new(r, "counts", report_counts(counts));
}

void report_sum_counts(json_t *r)
{
	size_t counts[SEV_CRITICAL + 1] = {0}, i;
	json_t *rep;

	json_array_foreach(json_object_get(r, "manifests"), i, rep) {
		json_t *c = json_object_get(rep, "counts");

		if (!report_has_data(rep)) {
			json_object_set_new(r, "counts",
					    json_string(REPORT_NO_DATA));
			return;
		}

		for (int s = SEV_UNKNOWN; s <= SEV_CRITICAL; s++)
			counts[s] += (size_t)json_integer_value(
				json_object_get(c, sev_names[s]));
	}
	json_object_set_new(r, "counts", report_counts(counts));
}

json_t *report_index(const struct image_set *set, json_t *reports,
		     const struct report_meta *m)
{
	json_t *r = report_header(m);
	char ds[DIGEST_STR_MAX];

	json_object_set_new(
		r, "image",
		json_pack("{s:s, s:s, s:o, s:o}", "digest",
			  digest_str(&set->index_digest, ds), "mediaType",
			  set->index_media_type ? set->index_media_type
						: OCI_MT_INDEX,
			  "repository", jstr(m->repository), "tag",
			  jstr(m->tag)));
	json_object_set_new(r, "manifests", reports);
	report_sum_counts(r);
	json_object_set_new(r, "notes", report_strv(set->notes, set->nnotes));
	/* The index is as complete as its least complete platform. */
	json_object_set_new(r, "status",
			    json_string(report_is_complete(r)
						? REPORT_COMPLETE
						: REPORT_INCOMPLETE));
	return r;
}

static char *jdup(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? xstrdup(s) : NULL;
}

int report_inventory(const json_t *report, struct scan_inventory *inv,
		     struct err *e)
{
	json_t *pkgs = json_object_get(report, "packages"), *p, *os, *notes, *n;
	size_t i;

	if (!json_is_array(pkgs))
		return err_set(e, ERR_INVALID, "report without a package list");
	inv_release(inv);
	os = json_object_get(report, "os");
	inv->os.id = jdup(os, "id");
	inv->os.version_id = jdup(os, "version_id");
	inv->os.pretty_name = jdup(os, "pretty_name");
	inv->os.codename = jdup(os, "codename");
	json_array_foreach(json_object_get(os, "content_sets"), i, n)
		inv_add_content_set(inv, json_string_value(n));
	json_array_foreach(pkgs, i, p) {
		json_t *src = json_object_get(p, "source");
		struct scan_pkg q = {0};

		q.eco = eco_by_name(
			json_string_value(json_object_get(p, "ecosystem")));
		q.name = (char *)json_string_value(json_object_get(p, "name"));
		q.version = (char *)json_string_value(
			json_object_get(p, "version"));
		if (!q.name || !q.version) {
			inv_release(inv);
			return err_set(
				e, ERR_INVALID,
				"report package %zu without name or version",
				i);
		}
		q.src_name =
			(char *)json_string_value(json_object_get(src, "name"));
		q.src_version = (char *)json_string_value(
			json_object_get(src, "version"));
		/* Keep src_name as the report spells it, so a re-match writes
		 * the same "source" a scan wrote; only a source version equal
		 * to the package's is implied. */
		if (q.src_version && !strcmp(q.src_version, q.version))
			q.src_version = NULL;
		q.layer =
			(char *)json_string_value(json_object_get(p, "layer"));
		q.path = (char *)json_string_value(json_object_get(p, "path"));
		q.conf = report_conf_parse(
			json_string_value(json_object_get(p, "confidence")));
		q.evidence = (char *)json_string_value(
			json_object_get(p, "identified_by"));
		inv_add_pkg(inv, &q);
	}
	notes = json_object_get(report, "notes");
	json_array_foreach(notes, i, n)
		if (json_is_string(n) &&
		    strncmp(json_string_value(n), SCAN_NO_DB,
			    strlen(SCAN_NO_DB)))
			inv_add_note(inv, "%s", json_string_value(n));
	return 0;
}
