/* report_cdx.c: the report as a CycloneDX 1.5 BOM (JSON): the image as
 * metadata.component, its packages as components (with purls), and the
 * findings in "vulnerabilities", each affecting a component by bom-ref.
 * For an index each platform image is a "container" component with its
 * packages nested inside.
 */
#include "scanner/report_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/xmalloc.h"
#include "common/banned.h"

static const char *cstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void cdx_prop(json_t *props, const char *name, const char *value)
{
	if (value)
		json_array_append_new(props, json_pack("{s:s, s:s}", "name",
						       name, "value", value));
}

static json_t *cdx_component(const json_t *p, const char *ref)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "type", "library",
			      "bom-ref", ref, "name", cstr(p, "name"),
			      "version", cstr(p, "version"));
	json_t *props = json_array();
	const json_t *src = json_object_get(p, "source");

	if (cstr(p, "purl"))
		json_object_set_new(c, "purl", json_string(cstr(p, "purl")));
	cdx_prop(props, "customs:ecosystem", cstr(p, "ecosystem"));
	cdx_prop(props, "customs:layer", cstr(p, "layer"));
	cdx_prop(props, "customs:path", cstr(p, "path"));
	cdx_prop(props, "customs:confidence", cstr(p, "confidence"));
	cdx_prop(props, "customs:identified-by", cstr(p, "identified_by"));
	if (json_is_object(src)) {
		cdx_prop(props, "customs:source:name", cstr(src, "name"));
		cdx_prop(props, "customs:source:version", cstr(src, "version"));
	}
	json_object_set_new(c, "properties", props);
	return c;
}

/* Where an advisory id comes from. */
static json_t *cdx_source(const char *id)
{
	static const struct {
		const char *prefix, *name, *url;
	} srcs[] = {
		{"GHSA-", "GitHub Advisory Database",
		 "https://github.com/advisories/"},
		{"CVE-", "NVD", "https://nvd.nist.gov/vuln/detail/"},
		{"DSA-", "Debian",
		 "https://security-tracker.debian.org/tracker/"},
		{"DLA-", "Debian",
		 "https://security-tracker.debian.org/tracker/"},
		{"PYSEC-", "PyPA", "https://osv.dev/vulnerability/"},
		{"GO-", "Go Vulnerability Database",
		 "https://pkg.go.dev/vuln/"},
	};
	char *url;
	json_t *o;

	for (size_t i = 0; i < sizeof(srcs) / sizeof(*srcs); i++) {
		if (!strncmp(id, srcs[i].prefix, strlen(srcs[i].prefix))) {
			url = xasprintf("%s%s", srcs[i].url, id);
			o = json_pack("{s:s, s:s}", "name", srcs[i].name, "url",
				      url);
			free(url);
			return o;
		}
	}
	url = xasprintf("https://osv.dev/vulnerability/%s", id);
	o = json_pack("{s:s, s:s}", "name", "OSV", "url", url);
	free(url);
	return o;
}

static const char *cdx_method(const char *vector)
{
	if (!vector)
		return "other";
	if (!strncmp(vector, "CVSS:3.1/", 9))
		return "CVSSv31";
	if (!strncmp(vector, "CVSS:3.0/", 9))
		return "CVSSv3";
	if (!strncmp(vector, "CVSS:4.0/", 9))
		return "CVSSv4";
	if (!strncmp(vector, "AV:", 3))
		return "CVSSv2";
	return "other";
}

/* One CVSS rating of the report as a CycloneDX rating. */
static json_t *cdx_rating(const json_t *c, const char *id)
{
	const char *vec = cstr(c, "vector"), *cve = cstr(c, "cve");
	bool nvd = !strcmp(cstr(c, "source"), "nvd");
	json_t *r = json_pack("{s:s, s:s}", "severity", cstr(c, "severity"),
			      "method", cdx_method(vec));

	json_object_set_new(r, "source", cdx_source(nvd && cve ? cve : id));
	if (nvd)
		json_object_set_new(json_object_get(r, "source"), "name",
				    json_string("NVD"));
	if (json_is_number(json_object_get(c, "score")))
		json_object_set(r, "score", json_object_get(c, "score"));
	if (vec)
		json_object_set_new(r, "vector", json_string(vec));
	return r;
}

/* The ratings, the one the report's severity comes from first: a CVSS
 * rating of its source, or the vendor's own (method "other"). */
static json_t *cdx_ratings(const json_t *v, const char *id)
{
	const char *src = cstr(v, "severity_source"),
		   *sev = cstr(v, "severity");
	const json_t *c;
	json_t *out = json_array();
	size_t i, first = (size_t)-1;

	if (!src)
		src = "unknown";
	json_array_foreach(json_object_get(v, "cvss"), i, c)
		if (first == (size_t)-1 && cstr(c, "source") &&
		    !strcmp(cstr(c, "source"), src) && cstr(c, "severity") &&
		    sev && !strcmp(cstr(c, "severity"), sev))
			first = i;
	if (first == (size_t)-1)
		json_array_append_new(
			out, json_pack("{s:s, s:{s:s}, s:s}", "severity",
				       sev ? sev : "unknown", "source", "name",
				       src, "method", "other"));
	else
		json_array_append_new(
			out,
			cdx_rating(json_array_get(json_object_get(v, "cvss"),
						  first),
				   id));
	json_array_foreach(json_object_get(v, "cvss"), i, c)
		if (i != first && cstr(c, "source") && cstr(c, "severity"))
			json_array_append_new(out, cdx_rating(c, id));
	return out;
}

/* What CycloneDX has no field for: whose rating the severity is, and the
 * distribution's status ("fix_deferred", "will_not_fix", ...). */
static json_t *cdx_vuln_props(const json_t *v)
{
	static const char *const keys[] = {"severity_source", "status"};
	json_t *props = json_array();
	char name[64];

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		if (!cstr(v, keys[i]))
			continue;
		snprintf(name, sizeof(name), "customs:%s", keys[i]);
		json_array_append_new(props,
				      json_pack("{s:s, s:s}", "name", name,
						"value", cstr(v, keys[i])));
	}
	return props;
}

static json_t *cdx_vuln(const json_t *v, const char *ref, size_t n)
{
	const json_t *a;
	const char *id = cstr(v, "id");
	json_t *o, *refs = json_array(), *adv = json_array();
	char bref[64];
	size_t i;

	snprintf(bref, sizeof(bref), "vuln-%zu", n);
	o = json_pack("{s:s, s:s, s:o, s:o}", "bom-ref", bref, "id", id,
		      "source", cdx_source(id), "ratings", cdx_ratings(v, id));
	json_object_set_new(o, "properties", cdx_vuln_props(v));
	if (cstr(v, "summary"))
		json_object_set_new(o, "description",
				    json_string(cstr(v, "summary")));
	json_array_foreach(json_object_get(v, "aliases"), i, a)
		if (json_is_string(a))
			json_array_append_new(
				refs,
				json_pack("{s:s, s:o}", "id",
					  json_string_value(a), "source",
					  cdx_source(json_string_value(a))));
	json_array_foreach(json_object_get(v, "references"), i, a)
		if (json_is_string(a))
			json_array_append_new(adv,
					      json_pack("{s:s}", "url",
							json_string_value(a)));
	if (json_array_size(refs))
		json_object_set_new(o, "references", refs);
	else
		json_decref(refs);
	if (json_array_size(adv))
		json_object_set_new(o, "advisories", adv);
	else
		json_decref(adv);
	if (cstr(v, "fixed")) {
		char *rec =
			xasprintf("Upgrade %s to %s or later",
				  cstr(json_object_get(v, "package"), "name"),
				  cstr(v, "fixed"));

		json_object_set_new(o, "recommendation", json_string(rec));
		free(rec);
	}
	json_object_set_new(o, "affects",
			    json_pack("[{s:s, s:[{s:s, s:s}]}]", "ref", ref,
				      "versions", "version",
				      cstr(v, "installed"), "status",
				      "affected"));
	return o;
}

/* Adds one image's packages to comps and its findings to vulns.  Package
 * objects are matched to findings by identity of content (same name,
 * version, path, layer). */
static void cdx_image(const json_t *r, const char *prefix, json_t *comps,
		      json_t *vulns)
{
	const json_t *pkgs = json_object_get(r, "packages"), *p, *v;
	size_t i, k;

	json_array_foreach(pkgs, i, p) {
		char ref[96];

		snprintf(ref, sizeof(ref), "%spkg-%zu", prefix, i);
		json_array_append_new(comps, cdx_component(p, ref));
	}
	json_array_foreach(json_object_get(r, "vulnerabilities"), i, v) {
		const json_t *vp = json_object_get(v, "package");
		char ref[96] = "";

		json_array_foreach(pkgs, k, p) {
			if (json_equal(json_object_get(p, "name"),
				       json_object_get(vp, "name")) &&
			    json_equal(json_object_get(p, "version"),
				       json_object_get(vp, "version")) &&
			    json_equal(json_object_get(p, "path"),
				       json_object_get(vp, "path")) &&
			    json_equal(json_object_get(p, "layer"),
				       json_object_get(vp, "layer"))) {
				snprintf(ref, sizeof(ref), "%spkg-%zu", prefix,
					 k);
				break;
			}
		}
		if (ref[0])
			json_array_append_new(
				vulns,
				cdx_vuln(v, ref, json_array_size(vulns)));
	}
}

static json_t *cdx_container(const json_t *r, const char *ref)
{
	const json_t *img = json_object_get(r, "image");
	const char *name = cstr(img, "repository");
	const char *dg = cstr(img, "digest");
	json_t *c;

	if (!name)
		name = dg ? dg : cstr(img, "config");
	c = json_pack("{s:s, s:s, s:s}", "type", "container", "bom-ref", ref,
		      "name", name ? name : "image");
	if (dg)
		json_object_set_new(c, "version", json_string(dg));
	return c;
}

/* Whether a scan saw all of the image: a composition per image (the
 * top one, and each platform of an index), "incomplete" when a budget
 * ended the scan early, with the budgets as metadata properties. */
static void cdx_composition(json_t *comps, json_t *props, const json_t *r,
			    const char *ref)
{
	const json_t *b;
	size_t i;

	json_array_append_new(
		comps,
		json_pack("{s:s, s:[s]}", "aggregate",
			  report_is_complete(r) ? "complete" : "incomplete",
			  "assemblies", ref));
	json_array_foreach(json_object_get(r, "budgets"), i, b) {
		char *v = xasprintf("%s: %s", cstr(b, "budget"),
				    cstr(b, "detail") ? cstr(b, "detail") : "");

		cdx_prop(props, "customs:budget", v);
		free(v);
	}
}

/* urn:uuid from the report's digest: the same report, the same BOM. */
static char *cdx_serial(const json_t *report)
{
	char *text = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS);
	struct digest d;
	char *h;

	digest_of(DIGEST_SHA256, text, strlen(text), &d);
	free(text);
	h = d.hex;
	h[12] = '4'; /* version 4 layout, variant bits below */
	h[16] = "89ab"[h[16] % 4];
	return xasprintf("urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
			 h + 16, h + 20);
}

json_t *report_cyclonedx(const json_t *report)
{
	const json_t *mans = json_object_get(report, "manifests"), *m;
	json_t *bom, *comps = json_array(), *vulns = json_array();
	json_t *compo = json_array(), *props = json_array();
	char *serial = cdx_serial(report);
	size_t i;

	bom = json_pack("{s:s, s:s, s:s, s:i}", "bomFormat", "CycloneDX",
			"specVersion", "1.5", "serialNumber", serial, "version",
			1);
	free(serial);
	json_object_set_new(bom, "metadata",
			    json_pack("{s:s, s:{s:[{s:s, s:s, s:s}]}, s:o}",
				      "timestamp", cstr(report, "created"),
				      "tools", "components", "type",
				      "application", "name", "customs",
				      "version", SCAN_VERSION, "component",
				      cdx_container(report, "image")));
	cdx_prop(props, "customs:status",
		 report_is_complete(report) ? REPORT_COMPLETE
					    : REPORT_INCOMPLETE);
	cdx_composition(compo, props, report, "image");
	if (json_is_array(mans)) {
		json_array_foreach(mans, i, m) {
			char ref[32], prefix[32];
			json_t *c, *nested = json_array();

			snprintf(ref, sizeof(ref), "image-%zu", i);
			snprintf(prefix, sizeof(prefix), "image-%zu-", i);
			c = cdx_container(m, ref);
			cdx_image(m, prefix, nested, vulns);
			json_object_set_new(c, "components", nested);
			json_array_append_new(comps, c);
			cdx_composition(compo, props, m, ref);
		}
	} else {
		cdx_image(report, "", comps, vulns);
	}
	json_object_set_new(json_object_get(bom, "metadata"), "properties",
			    props);
	json_object_set_new(bom, "components", comps);
	json_object_set_new(bom, "compositions", compo);
	json_object_set_new(bom, "vulnerabilities", vulns);
	return bom;
}
