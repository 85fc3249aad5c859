/* vex.c: OpenVEX documents applied to a report.
 *
 * A statement applies to a finding when its vulnerability (name or an
 * alias) is the finding's id or one of its aliases, and one of its
 * products names the finding's package: the product itself, or, when the
 * product is the image (a pkg:oci purl or its sha-256 hash) or a package
 * of it, one of its subcomponents.  A product without subcomponents that
 * is the image covers all its packages.  purls match as the purl spec and
 * OpenVEX say: type, namespace and name equal; version and each qualifier
 * equal when the statement's purl has them (a less specific purl matches
 * more specific ones).  Of the statements that apply, the last loaded
 * wins.
 *
 * not_affected and fixed move the finding from "vulnerabilities" to
 * "suppressed"; affected and under_investigation leave it there, both
 * with a "vex" member {status, justification, impact_statement,
 * action_statement, document}; the counts are made again from what is
 * left, and "vex" lists the documents that changed something.
 */
#include "scanner/scanner.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scanner/report_int.h"
#include "common/banned.h"

#define VEX_MAX_BYTES	   (8 << 20)
#define VEX_MAX_STATEMENTS 100000
#define VEX_CONTEXT	   "https://openvex.dev/ns"

struct vex_doc {
	char *name; /* where it came from: a file, a referrer digest */
	json_t *doc;
};

struct scan_vex {
	struct vex_doc *docs;
	size_t n;
};

struct scan_vex *scan_vex_new(void)
{
	return xcalloc(1, sizeof(struct scan_vex));
}

void scan_vex_free(struct scan_vex *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->docs[i].name);
		json_decref(v->docs[i].doc);
	}
	free(v->docs);
	free(v);
}

static const char *vstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool vex_status_ok(const char *s)
{
	return s && (!strcmp(s, "not_affected") || !strcmp(s, "affected") ||
		     !strcmp(s, "fixed") || !strcmp(s, "under_investigation"));
}

/* The checks a reader needs (the schema's, less what does not change a
 * match: a document without "@id" or "timestamp" is still read). */
static int vex_check(const json_t *doc, const char *name, struct err *e)
{
	const char *ctx = vstr(doc, "@context");
	const json_t *st = json_object_get(doc, "statements"), *s;
	size_t i;

	if (!ctx || strncmp(ctx, VEX_CONTEXT, strlen(VEX_CONTEXT)))
		return err_set(e, ERR_INVALID,
			       "%s: not an OpenVEX document (@context)", name);
	if (!json_is_array(st))
		return err_set(e, ERR_INVALID, "%s: no statements", name);
	if (json_array_size(st) > VEX_MAX_STATEMENTS)
		return err_set(e, ERR_INVALID, "%s: more than %d statements",
			       name, VEX_MAX_STATEMENTS);
	json_array_foreach(st, i, s) {
		const char *status = vstr(s, "status");

		if (!json_is_object(s) ||
		    !vstr(json_object_get(s, "vulnerability"), "name"))
			return err_set(
				e, ERR_INVALID,
				"%s: statement %zu: no vulnerability name",
				name, i);
		if (!vex_status_ok(status))
			return err_set(e, ERR_INVALID,
				       "%s: statement %zu: bad status", name,
				       i);
		if (!strcmp(status, "not_affected") &&
		    !vstr(s, "justification") && !vstr(s, "impact_statement"))
			return err_set(
				e, ERR_INVALID,
				"%s: statement %zu: not_affected without "
				"justification or impact_statement",
				name, i);
	}
	return 0;
}

/* --- CycloneDX VEX -------------------------------------------------------
 *
 * A CycloneDX BOM's vulnerabilities[] with an analysis are read as OpenVEX
 * statements: state not_affected and false_positive as not_affected (the
 * justification kept, the detail as impact statement), resolved and
 * resolved_with_pedigree as fixed, exploitable as affected, in_triage as
 * under_investigation; affects[].ref (a bom-ref, or a BOM-Link
 * urn:cdx:SERIAL/VERSION#bom-ref) as products by the purl of the component
 * it names, or the bom-ref itself when it is a purl.  The references'
 * ids are aliases. */

static bool vex_is_cdx(const json_t *doc)
{
	const char *f = vstr(doc, "bomFormat");

	return f && !strcmp(f, "CycloneDX");
}

static const char *cdx_status(const char *state)
{
	static const char *const map[][2] = {
		{"not_affected", "not_affected"},
		{"false_positive", "not_affected"},
		{"resolved", "fixed"},
		{"resolved_with_pedigree", "fixed"},
		{"exploitable", "affected"},
		{"in_triage", "under_investigation"},
	};

	for (size_t i = 0; state && i < sizeof(map) / sizeof(*map); i++)
		if (!strcmp(state, map[i][0]))
			return map[i][1];
	return NULL;
}

/* The purl of the component whose bom-ref is ref, searching comps and
 * their nested components (depth-bounded: the input is untrusted). */
static const char *cdx_ref_purl(const json_t *comps, const char *ref, int depth)
{
	const json_t *c;
	size_t i;

	if (depth > 16)
		return NULL;
	json_array_foreach(comps, i, c) {
		const char *got;

		if (vstr(c, "bom-ref") && !strcmp(vstr(c, "bom-ref"), ref))
			return vstr(c, "purl");
		got = cdx_ref_purl(json_object_get(c, "components"), ref,
				   depth + 1);
		if (got)
			return got;
	}
	return NULL;
}

/* The product a ref names: {"@id": purl}, or NULL. */
static json_t *cdx_product(const json_t *bom, const char *ref)
{
	const json_t *meta = json_object_get(bom, "metadata");
	const json_t *mc = json_object_get(meta, "component");
	const char *hash, *purl;
	json_t *one;

	if (!ref)
		return NULL;
	hash = strncmp(ref, "urn:cdx:", 8) ? NULL : strchr(ref, '#');
	if (hash)
		ref = hash + 1;
	if (!strncmp(ref, "pkg:", 4))
		return json_pack("{s:s}", "@id", ref);
	purl = cdx_ref_purl(json_object_get(bom, "components"), ref, 0);
	if (!purl && mc) {
		one = json_pack("[O]", mc);
		purl = cdx_ref_purl(one, ref, 0);
		json_decref(one);
	}
	return purl ? json_pack("{s:s}", "@id", purl) : NULL;
}

static json_t *cdx_statement(const json_t *bom, const json_t *v)
{
	const json_t *an = json_object_get(v, "analysis"), *a, *r;
	const char *status = cdx_status(vstr(an, "state"));
	json_t *s, *prods = json_array(), *aliases = json_array();
	size_t i;

	if (!status || !vstr(v, "id")) {
		json_decref(prods);
		json_decref(aliases);
		return NULL;
	}
	json_array_foreach(json_object_get(v, "affects"), i, a) {
		json_t *p = cdx_product(bom, vstr(a, "ref"));

		if (p)
			json_array_append_new(prods, p);
	}
	json_array_foreach(json_object_get(v, "references"), i, r)
		if (vstr(r, "id"))
			json_array_append_new(aliases,
					      json_string(vstr(r, "id")));
	s = json_pack("{s:{s:s, s:o}, s:s, s:o}", "vulnerability", "name",
		      vstr(v, "id"), "aliases", aliases, "status", status,
		      "products", prods);
	if (!strcmp(status, "not_affected")) {
		const char *j = vstr(an, "justification");

		json_object_set_new(s, "impact_statement",
				    json_string(vstr(an, "detail")
							? vstr(an, "detail")
							: vstr(an, "state")));
		if (j)
			json_object_set_new(s, "justification", json_string(j));
	} else if (vstr(an, "detail")) {
		json_object_set_new(s, "action_statement",
				    json_string(vstr(an, "detail")));
	}
	return s;
}

/* A CycloneDX BOM as an OpenVEX document, or NULL (e) when it says no
 * analysis of any vulnerability. */
static json_t *vex_from_cdx(const json_t *bom, const char *name, struct err *e)
{
	const json_t *vulns = json_object_get(bom, "vulnerabilities"), *v;
	json_t *o, *st = json_array();
	size_t i;

	if (json_array_size(vulns) > VEX_MAX_STATEMENTS) {
		json_decref(st);
		err_set(e, ERR_INVALID, "%s: more than %d vulnerabilities",
			name, VEX_MAX_STATEMENTS);
		return NULL;
	}
	json_array_foreach(vulns, i, v) {
		json_t *s = cdx_statement(bom, v);

		if (s)
			json_array_append_new(st, s);
	}
	if (!json_array_size(st)) {
		json_decref(st);
		err_set(e, ERR_NOT_FOUND,
			"%s: a CycloneDX BOM without vulnerability analyses "
			"(not VEX)",
			name);
		return NULL;
	}
	o = json_pack("{s:s, s:o}", "@context", VEX_CONTEXT "/v0.2.0",
		      "statements", st);
	if (vstr(bom, "serialNumber"))
		json_object_set_new(o, "@id",
				    json_string(vstr(bom, "serialNumber")));
	return o;
}

int scan_vex_add(struct scan_vex *v, const char *name, const char *text,
		 size_t len, struct err *e)
{
	json_error_t je;
	json_t *doc;

	if (len > VEX_MAX_BYTES)
		return err_set(e, ERR_INVALID, "%s: VEX document over %d bytes",
			       name, VEX_MAX_BYTES);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return err_set(e, ERR_INVALID, "%s: line %d: %s", name, je.line,
			       je.text);
	if (vex_is_cdx(doc)) {
		json_t *o = vex_from_cdx(doc, name, e);

		json_decref(doc);
		if (!o)
			return -1;
		doc = o;
	}
	if (vex_check(doc, name, e) < 0) {
		json_decref(doc);
		return -1;
	}
	v->docs = xrealloc(v->docs, (v->n + 1) * sizeof(*v->docs));
	v->docs[v->n++] = (struct vex_doc){xstrdup(name), doc};
	return 0;
}

int scan_vex_add_file(struct scan_vex *v, const char *path, struct err *e)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t len;
	int ret;

	if (!f)
		return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
	/* One byte over the cap tells an over-long file. */
	text = xmalloc((size_t)VEX_MAX_BYTES + 1);
	len = fread(text, 1, (size_t)VEX_MAX_BYTES + 1, f);
	if (ferror(f))
		ret = err_set(e, ERR_IO, "%s: read error", path);
	else
		ret = scan_vex_add(v, path, text, len, e);
	fclose(f);
	free(text);
	return ret;
}

size_t scan_vex_count(const struct scan_vex *v)
{
	return v ? v->n : 0;
}

void scan_vex_merge(struct scan_vex *dst, const struct scan_vex *src)
{
	for (size_t i = 0; src && i < src->n; i++) {
		dst->docs =
			xrealloc(dst->docs, (dst->n + 1) * sizeof(*dst->docs));
		dst->docs[dst->n++] =
			(struct vex_doc){xstrdup(src->docs[i].name),
					 json_incref(src->docs[i].doc)};
	}
}

/* --- purls ------------------------------------------------------------- */

struct purl {
	char *type, *path, *version; /* path: namespace/name, decoded */
	char **qk, **qv;	     /* qualifiers, decoded */
	size_t nq;
};

static char *purl_dec(const char *s, size_t n)
{
	char *o = xmalloc(n + 1), *p = o;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char h[3] = {s[i + 1], s[i + 2], 0};

			*p++ = (char)strtol(h, NULL, 16);
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = 0;
	return o;
}

static void purl_release(struct purl *p)
{
	free(p->type);
	free(p->path);
	free(p->version);
	for (size_t i = 0; i < p->nq; i++) {
		free(p->qk[i]);
		free(p->qv[i]);
	}
	free(p->qk);
	free(p->qv);
	memset(p, 0, sizeof(*p));
}

/* Splits s; -1 if it is no purl. */
static int purl_parse(const char *s, struct purl *p)
{
	const char *t, *end, *q, *at, *slash;

	memset(p, 0, sizeof(*p));
	if (!s || strncmp(s, "pkg:", 4))
		return -1;
	s += 4;
	while (*s == '/')
		s++;
	end = s + strcspn(s, "#");
	q = memchr(s, '?', (size_t)(end - s));
	if (!q)
		q = end;
	slash = memchr(s, '/', (size_t)(q - s));
	if (!slash)
		return -1;
	p->type = xstrndup(s, (size_t)(slash - s));
	for (char *c = p->type; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	t = slash + 1;
	at = NULL;
	for (const char *c = t; c < q; c++)
		if (*c == '@')
			at = c;
	p->path = purl_dec(t, (size_t)((at ? at : q) - t));
	if (at)
		p->version = purl_dec(at + 1, (size_t)(q - at - 1));
	while (q < end) {
		const char *k = q + 1, *amp, *eq;

		amp = memchr(k, '&', (size_t)(end - k));
		if (!amp)
			amp = end;
		eq = memchr(k, '=', (size_t)(amp - k));
		if (eq && eq > k) {
			p->qk = xrealloc(p->qk, (p->nq + 1) * sizeof(char *));
			p->qv = xrealloc(p->qv, (p->nq + 1) * sizeof(char *));
			p->qk[p->nq] = xstrndup(k, (size_t)(eq - k));
			for (char *c = p->qk[p->nq]; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			p->qv[p->nq++] =
				purl_dec(eq + 1, (size_t)(amp - eq - 1));
		}
		q = amp;
	}
	return 0;
}

/* Whether pattern (a statement's purl) matches pkg. */
static bool purl_match(const struct purl *pat, const struct purl *pkg)
{
	if (strcmp(pat->type, pkg->type) || strcmp(pat->path, pkg->path))
		return false;
	if (pat->version &&
	    (!pkg->version || strcmp(pat->version, pkg->version)))
		return false;
	for (size_t i = 0; i < pat->nq; i++) {
		bool found = false;

		for (size_t k = 0; k < pkg->nq && !found; k++)
			found = !strcmp(pat->qk[i], pkg->qk[k]) &&
				!strcmp(pat->qv[i], pkg->qv[k]);
		if (!found)
			return false;
	}
	return true;
}

/* Whether id is the purl of a repository: pkg:oci without a version
 * (digest). */
static bool purl_is_repo(const char *id)
{
	struct purl p;
	bool hit;

	if (purl_parse(id, &p) < 0)
		return false;
	hit = !strcmp(p.type, "oci") && !p.version;
	purl_release(&p);
	return hit;
}

/* Whether statement s names a repository among its products. */
static bool stmt_wide(const json_t *s)
{
	const json_t *prod;
	size_t i;

	json_array_foreach(json_object_get(s, "products"), i, prod)
		if (purl_is_repo(vstr(prod, "@id")))
			return true;
	return false;
}

int scan_vex_add_wide(struct scan_vex *v, const char *name, const char *text,
		      size_t len, struct err *e)
{
	json_t *st, *kept;
	const json_t *s;
	size_t i;

	if (scan_vex_add(v, name, text, len, e) < 0)
		return -1;
	st = json_object_get(v->docs[v->n - 1].doc, "statements");
	kept = json_array();
	json_array_foreach(st, i, s)
		if (stmt_wide(s))
			json_array_append(kept, (json_t *)s);
	json_object_set_new(v->docs[v->n - 1].doc, "statements", kept);
	if (json_array_size(kept))
		return 0;
	v->n--;
	free(v->docs[v->n].name);
	json_decref(v->docs[v->n].doc);
	return 1;
}

bool scan_vex_has(const struct scan_vex *v, const char *name)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (!strcmp(v->docs[i].name, name))
			return true;
	return false;
}

/* --- matching ---------------------------------------------------------- */

/* What a finding is matched against. */
struct vex_target {
	const json_t *report; /* the image's */
	struct purl pkg;      /* the finding's package */
	bool has_pkg;
};

/* The purls a component names: "@id" and identifiers.purl. */
static bool comp_matches(const json_t *c, const struct purl *pkg)
{
	const char *ids[2] = {vstr(c, "@id"),
			      vstr(json_object_get(c, "identifiers"), "purl")};
	bool hit = false;

	for (size_t i = 0; i < 2 && !hit; i++) {
		struct purl p;

		if (purl_parse(ids[i], &p) < 0)
			continue;
		hit = purl_match(&p, pkg);
		purl_release(&p);
	}
	return hit;
}

/* Whether product c is the image: a pkg:oci purl of its name (and digest,
 * if it has a version), or its digest as a sha-256 hash. */
static bool comp_is_image(const json_t *c, const json_t *report)
{
	const json_t *img = json_object_get(report, "image");
	const char *repo = vstr(img, "repository"), *dg = vstr(img, "digest");
	const char *ids[2] = {vstr(c, "@id"),
			      vstr(json_object_get(c, "identifiers"), "purl")};
	const char *h = vstr(json_object_get(c, "hashes"), "sha-256");
	const char *base = repo ? strrchr(repo, '/') : NULL;
	bool hit = false;

	base = base ? base + 1 : repo;
	if (h && dg && !strncmp(dg, "sha256:", 7) && !strcmp(h, dg + 7))
		return true;
	for (size_t i = 0; i < 2 && !hit; i++) {
		struct purl p;

		if (purl_parse(ids[i], &p) < 0)
			continue;
		hit = !strcmp(p.type, "oci") && base && !strcmp(p.path, base) &&
		      (!p.version || (dg && !strcmp(p.version, dg)));
		purl_release(&p);
	}
	return hit;
}

/* Whether product c is a package of the report (a binary that brought
 * its own dependencies, listed as subcomponents). */
static bool comp_in_report(const json_t *c, const json_t *report)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(report, "packages"), i, p) {
		struct purl pp;
		bool hit;

		if (purl_parse(vstr(p, "purl"), &pp) < 0)
			continue;
		hit = comp_matches(c, &pp);
		purl_release(&pp);
		if (hit)
			return true;
	}
	return false;
}

static bool stmt_names_vuln(const json_t *s, const json_t *finding)
{
	const json_t *v = json_object_get(s, "vulnerability"), *a, *b;
	const json_t *fal = json_object_get(finding, "aliases");
	const char *fid = vstr(finding, "id");
	json_t *names = json_array();
	size_t i, k;
	bool hit = false;

	json_array_append(names, json_object_get(v, "name"));
	json_array_foreach(json_object_get(v, "aliases"), i, a)
		json_array_append(names, (json_t *)a);
	json_array_foreach(names, i, a) {
		const char *n = json_string_value(a);

		if (!n)
			continue;
		if (fid && !strcmp(n, fid))
			hit = true;
		json_array_foreach(fal, k, b)
			if (json_is_string(b) &&
			    !strcmp(n, json_string_value(b)))
				hit = true;
	}
	json_decref(names);
	return hit;
}

static bool stmt_names_pkg(const json_t *s, const struct vex_target *t)
{
	const json_t *prod, *sub;
	size_t i, k;

	json_array_foreach(json_object_get(s, "products"), i, prod) {
		const json_t *subs = json_object_get(prod, "subcomponents");
		bool image = comp_is_image(prod, t->report);

		if (t->has_pkg && comp_matches(prod, &t->pkg))
			return true;
		if (!json_array_size(subs)) {
			if (image)
				return true;
			continue;
		}
		if (!image && !comp_in_report(prod, t->report))
			continue;
		json_array_foreach(subs, k, sub)
			if (t->has_pkg && comp_matches(sub, &t->pkg))
				return true;
	}
	return false;
}

/* The statement that applies to finding (the last one loaded), or NULL;
 * *doc its document. */
static const json_t *vex_find(const struct scan_vex *v, const json_t *report,
			      const json_t *finding, const struct vex_doc **doc)
{
	struct vex_target t = {.report = report};
	const json_t *hit = NULL, *s;
	size_t i;

	t.has_pkg =
		purl_parse(vstr(json_object_get(finding, "package"), "purl"),
			   &t.pkg) == 0;
	for (size_t d = 0; d < v->n; d++)
		json_array_foreach(
			json_object_get(v->docs[d].doc, "statements"), i, s)
			if (stmt_names_vuln(s, finding) &&
			    stmt_names_pkg(s, &t)) {
				hit = s;
				*doc = &v->docs[d];
			}
	if (t.has_pkg)
		purl_release(&t.pkg);
	return hit;
}

static json_t *vex_member(const json_t *s, const struct vex_doc *d)
{
	static const char *const keys[] = {"justification", "impact_statement",
					   "action_statement"};
	json_t *o = json_pack("{s:s, s:s}", "status", vstr(s, "status"),
			      "document", d->name);

	if (vstr(d->doc, "@id"))
		json_object_set_new(o, "document_id",
				    json_string(vstr(d->doc, "@id")));
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (vstr(s, keys[i]))
			json_object_set_new(o, keys[i],
					    json_string(vstr(s, keys[i])));
	return o;
}

/* Adds name to used once. */
static void vex_used(json_t *used, const char *name)
{
	const json_t *u;
	size_t k;

	json_array_foreach(used, k, u)
		if (!strcmp(json_string_value(u), name))
			return;
	json_array_append_new(used, json_string(name));
}

static void vex_image(const struct scan_vex *v, json_t *r, json_t *used)
{
	json_t *vulns = json_object_get(r, "vulnerabilities"), *keep, *supp;
	json_t *f;
	size_t i;
	bool changed = false;

	if (!json_is_array(vulns))
		return;
	keep = json_array();
	/* An index's platforms come with their own. */
	supp = json_is_array(json_object_get(r, "suppressed"))
		       ? json_copy(json_object_get(r, "suppressed"))
		       : json_array();
	json_array_foreach(vulns, i, f) {
		const struct vex_doc *d = NULL;
		const json_t *s = vex_find(v, r, f, &d);
		const char *st;

		if (!s) {
			json_array_append(keep, f);
			continue;
		}
		changed = true;
		st = vstr(s, "status");
		json_object_set_new(f, "vex", vex_member(s, d));
		vex_used(used, d->name);
		if (!strcmp(st, "not_affected") || !strcmp(st, "fixed"))
			json_array_append(supp, f);
		else
			json_array_append(keep, f);
	}
	if (changed) {
		json_object_set(r, "vulnerabilities", keep);
		json_object_set(r, "suppressed", supp);
		report_recount(r);
	}
	json_decref(keep);
	json_decref(supp);
}

static void vex_clear_one(json_t *r)
{
	json_object_del(r, "suppressed");
	json_object_del(r, "vex");
}

void scan_vex_clear(json_t *report)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(report, "manifests"), i, m)
		vex_clear_one(m);
	vex_clear_one(report);
}

bool scan_vex_applied(const json_t *report)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(report, "manifests"), i, m)
		if (json_object_get(m, "vex"))
			return true;
	return json_object_get(report, "vex") != NULL;
}

void scan_vex_apply(const struct scan_vex *v, json_t *report)
{
	json_t *used = json_array(), *m;
	size_t i;

	if (!v || !v->n) {
		json_decref(used);
		return;
	}
	if (json_is_array(json_object_get(report, "manifests"))) {
		json_array_foreach(json_object_get(report, "manifests"), i, m)
			vex_image(v, m, used);
		if (json_array_size(used))
			report_sum_counts(report);
	} else {
		vex_image(v, report, used);
	}
	if (json_array_size(used))
		json_object_set(report, "vex", used);
	json_decref(used);
}
