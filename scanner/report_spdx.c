/* report_spdx.c: a report's inventory as an SBOM (SPDX 2.3 JSON, or
 * CycloneDX through report_cdx.c without its findings).
 *
 * An SBOM says what an image holds, not what is wrong with it: it is made
 * from the report's inventory members only (scan_sbom_inventory()), so a
 * re-match against a new DB, which changes only findings, notes and the
 * time, gives the same inventory and its SBOMs need not be published
 * again.
 */
#include "scanner/report_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/xmalloc.h"
#include "scanner/scanner.h"
#include "common/banned.h"

/* What an SBOM is made of (and "created", for its time). */
static const char *const sbom_keys[] = {
	"image", "os", "layers", "packages", "status", "budgets", "manifests"};

static json_t *sbom_reduce(const json_t *r)
{
	json_t *o = json_object();

	for (size_t i = 0; i < sizeof(sbom_keys) / sizeof(*sbom_keys); i++) {
		const json_t *v = json_object_get(r, sbom_keys[i]);
		const json_t *m;
		size_t k;
		json_t *a;

		if (!v)
			continue;
		if (strcmp(sbom_keys[i], "manifests") || !json_is_array(v)) {
			json_object_set(o, sbom_keys[i], (json_t *)v);
			continue;
		}
		a = json_array();
		json_array_foreach(v, k, m)
			json_array_append_new(a, sbom_reduce(m));
		json_object_set_new(o, "manifests", a);
	}
	return o;
}

json_t *scan_sbom_inventory(const json_t *report, struct digest *key)
{
	json_t *inv = sbom_reduce(report);
	char *text = json_dumps(inv, JSON_COMPACT | JSON_SORT_KEYS);

	if (!text) {
		/* jansson fails only on allocation: as xmalloc would. */
		fprintf(stderr, "customs: out of memory\n");
		abort();
	}
	digest_of(DIGEST_SHA256, text, strlen(text), key);
	free(text);
	if (json_is_string(json_object_get(report, "created")))
		json_object_set(inv, "created",
				json_object_get(report, "created"));
	return inv;
}

static const char *sstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* SPDX identifiers allow letters, digits, '.' and '-' only. */
static char *spdx_id(const char *kind, const char *ref)
{
	char *id = xasprintf("SPDXRef-%s-%s", kind, ref);

	for (char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-'))
			*c = '-';
	return id;
}

static json_t *spdx_image(const json_t *r, const char *id)
{
	const json_t *img = json_object_get(r, "image");
	const char *name = sstr(img, "repository"), *dg = sstr(img, "digest");
	json_t *p;

	if (!name)
		name = dg ? dg : "image";
	p = json_pack("{s:s, s:s, s:s, s:b, s:s}", "SPDXID", id, "name", name,
		      "downloadLocation", "NOASSERTION", "filesAnalyzed", 0,
		      "primaryPackagePurpose", "CONTAINER");
	if (dg) {
		json_object_set_new(p, "versionInfo", json_string(dg));
		if (!strncmp(dg, "sha256:", 7))
			json_object_set_new(p, "checksums",
					    json_pack("[{s:s, s:s}]",
						      "algorithm", "SHA256",
						      "checksumValue", dg + 7));
	}
	return p;
}

static json_t *spdx_package(const json_t *p, const char *id)
{
	json_t *o =
		json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "SPDXID", id,
			  "name", sstr(p, "name"), "downloadLocation",
			  "NOASSERTION", "filesAnalyzed", 0, "licenseConcluded",
			  "NOASSERTION", "licenseDeclared", "NOASSERTION",
			  "copyrightText", "NOASSERTION");
	const json_t *src = json_object_get(p, "source");

	if (sstr(p, "version"))
		json_object_set_new(o, "versionInfo",
				    json_string(sstr(p, "version")));
	if (sstr(p, "purl"))
		json_object_set_new(
			o, "externalRefs",
			json_pack("[{s:s, s:s, s:s}]", "referenceCategory",
				  "PACKAGE-MANAGER", "referenceType", "purl",
				  "referenceLocator", sstr(p, "purl")));
	if (sstr(p, "path") || sstr(p, "layer")) {
		const char *how = sstr(p, "identified_by");
		char *c = xasprintf("layer %s, %s%s%s%s%s",
				    sstr(p, "layer") ? sstr(p, "layer") : "?",
				    sstr(p, "path") ? sstr(p, "path") : "?",
				    how ? "; identified by " : "",
				    how ? how : "", how ? ", confidence " : "",
				    how && sstr(p, "confidence")
					    ? sstr(p, "confidence")
					    : "");

		json_object_set_new(o, "sourceInfo", json_string(c));
		free(c);
	}
	if (json_is_object(src) && sstr(src, "name"))
		json_object_set_new(
			o, "comment",
			json_sprintf("source package %s %s", sstr(src, "name"),
				     sstr(src, "version") ? sstr(src, "version")
							  : ""));
	return o;
}

static void spdx_rel(json_t *rels, const char *a, const char *type,
		     const char *b)
{
	json_array_append_new(rels,
			      json_pack("{s:s, s:s, s:s}", "spdxElementId", a,
					"relationshipType", type,
					"relatedSpdxElement", b));
}

/* One image (img_id) and its packages, ids prefixed by prefix. */
static void spdx_add_image(const json_t *r, const char *img_id,
			   const char *prefix, json_t *pkgs, json_t *rels)
{
	const json_t *p;
	size_t i;

	json_array_append_new(pkgs, spdx_image(r, img_id));
	json_array_foreach(json_object_get(r, "packages"), i, p) {
		char ref[64];
		char *id;

		if (!sstr(p, "name"))
			continue;
		snprintf(ref, sizeof(ref), "%s%zu", prefix, i);
		id = spdx_id("Package", ref);
		json_array_append_new(pkgs, spdx_package(p, id));
		spdx_rel(rels, img_id, "CONTAINS", id);
		free(id);
	}
}

static json_t *report_spdx(const json_t *inv, const struct digest *key)
{
	const json_t *img = json_object_get(inv, "image"), *m;
	const char *name = sstr(img, "repository"), *created;
	json_t *doc, *pkgs = json_array(), *rels = json_array();
	char *ns, *dname;
	size_t i;

	if (!name)
		name = sstr(img, "digest") ? sstr(img, "digest") : "image";
	created = sstr(inv, "created");
	/* Unique per inventory, as the spec asks of a namespace. */
	ns = xasprintf("https://spdx.org/spdxdocs/customs-%s", key->hex);
	dname = xasprintf("%s%s%s", name, sstr(img, "digest") ? "@" : "",
			  sstr(img, "digest") ? sstr(img, "digest") : "");
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}}",
			"spdxVersion", "SPDX-2.3", "dataLicense", "CC0-1.0",
			"SPDXID", "SPDXRef-DOCUMENT", "name", dname,
			"documentNamespace", ns, "creationInfo", "created",
			created ? created : "1970-01-01T00:00:00Z", "creators",
			"Tool: customs-" SCAN_VERSION);
	free(ns);
	free(dname);
	spdx_rel(rels, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image");
	spdx_add_image(inv, "SPDXRef-Image", "", pkgs, rels);
	json_array_foreach(json_object_get(inv, "manifests"), i, m) {
		char ref[32], prefix[32];
		char *id;

		snprintf(ref, sizeof(ref), "%zu", i);
		snprintf(prefix, sizeof(prefix), "%zu-", i);
		id = spdx_id("Image", ref);
		spdx_add_image(m, id, prefix, pkgs, rels);
		spdx_rel(rels, "SPDXRef-Image", "CONTAINS", id);
		free(id);
	}
	json_object_set_new(doc, "packages", pkgs);
	json_object_set_new(doc, "relationships", rels);
	return doc;
}

json_t *scan_sbom(const json_t *report, enum scan_sbom_format f)
{
	struct digest key;
	json_t *inv = scan_sbom_inventory(report, &key), *doc;

	if (f == SCAN_SBOM_SPDX) {
		doc = report_spdx(inv, &key);
	} else {
		doc = report_cyclonedx(inv);
		json_object_del(doc, "vulnerabilities");
	}
	json_decref(inv);
	return doc;
}
