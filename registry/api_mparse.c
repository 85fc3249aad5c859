/* api_mparse.c: what a pushed manifest says, checked before it is stored. */
#include "registry/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "common/banned.h"

#define MPARSE_SCHEMA1_MSG                                                     \
	"Docker schema 1 manifests are not supported; push schema 2 or OCI"

/* Checks one descriptor; `what` names it in errors ("layers[2]"). */
static int mparse_desc(json_t *d, const char *what, struct reg_mdesc *out,
		       struct err *e)
{
	json_t *mt, *dg, *size, *urls;
	struct err sub = ERR_INIT;
	const char *s;

	if (!json_is_object(d))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s is not a descriptor object", what);
	mt = json_object_get(d, "mediaType");
	dg = json_object_get(d, "digest");
	size = json_object_get(d, "size");
	urls = json_object_get(d, "urls");
	if (!json_is_string(mt))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s has no mediaType string", what);
	if (!json_is_string(dg))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s has no digest string", what);
	s = json_string_value(dg);
	if (digest_parse(s, json_string_length(dg), &out->digest, &sub) < 0)
		return err_set(e, ERR_MANIFEST_INVALID, "%s: %s", what,
			       sub.msg);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return err_set(e, ERR_MANIFEST_INVALID, "%s has no valid size",
			       what);
	if (urls && !json_is_array(urls))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s: urls is not an array", what);
	out->size = json_integer_value(size);
	out->has_urls = urls && json_array_size(urls) > 0;
	out->external =
		oci_is_external_layer(json_string_value(mt), out->has_urls);
	out->is_manifest = false;
	return 0;
}

static int mparse_add(struct reg_manifest *m, json_t *d, const char *what,
		      bool is_manifest, struct err *e)
{
	struct reg_mdesc *out = &m->descs[m->ndescs];

	if (mparse_desc(d, what, out, e) < 0)
		return -1;
	out->is_manifest = is_manifest;
	m->ndescs++;
	return 0;
}

/* Adds the descriptors of array `key` (required or not). */
static int mparse_array(struct reg_manifest *m, json_t *root, const char *key,
			bool required, bool is_manifest, struct err *e)
{
	json_t *a = json_object_get(root, key), *d;
	char what[48];
	size_t i;

	if (!a && !required)
		return 0;
	if (!json_is_array(a))
		return err_set(e, ERR_MANIFEST_INVALID, "%s %s an array", key,
			       a ? "is not" : "is missing; it must be");
	json_array_foreach(a, i, d) {
		snprintf(what, sizeof(what), "%s[%zu]", key, i);
		if (mparse_add(m, d, what, is_manifest, e) < 0)
			return -1;
	}
	return 0;
}

static size_t mparse_count(json_t *root)
{
	static const char *const keys[] = {"layers", "manifests", "blobs"};
	size_t n = 1; /* config */

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		n += json_array_size(json_object_get(root, keys[i]));
	return n;
}

/* config, layers, manifests (and an artifact's blobs), by kind. */
static int mparse_refs(struct reg_manifest *m, json_t *root, struct err *e)
{
	json_t *config = json_object_get(root, "config");
	bool image = m->type == OCI_TYPE_MANIFEST;

	m->descs = xcalloc(mparse_count(root), sizeof(*m->descs));
	if (image && !config)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "an image manifest needs a config");
	if (config && mparse_add(m, config, "config", false, e) < 0)
		return -1;
	if (m->type != OCI_TYPE_INDEX &&
	    (mparse_array(m, root, "layers", image, false, e) < 0 ||
	     mparse_array(m, root, "blobs", false, false, e) < 0))
		return -1;
	if (m->type != OCI_TYPE_MANIFEST &&
	    mparse_array(m, root, "manifests", m->type == OCI_TYPE_INDEX, true,
			 e) < 0)
		return -1;
	return 0;
}

/* subject, artifactType, annotations. */
static int mparse_extras(struct reg_manifest *m, json_t *root, struct err *e)
{
	json_t *subject = json_object_get(root, "subject");
	json_t *at = json_object_get(root, "artifactType");
	json_t *ann = json_object_get(root, "annotations"), *v;
	json_t *config = json_object_get(root, "config");
	struct reg_mdesc d;
	const char *key;

	if (subject) {
		if (mparse_desc(subject, "subject", &d, e) < 0)
			return -1;
		m->has_subject = true;
		m->subject = d.digest;
	}
	if (at && !json_is_string(at))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "artifactType is not a string");
	if (at && json_string_length(at))
		m->artifact_type = xstrdup(json_string_value(at));
	else if (m->type != OCI_TYPE_INDEX &&
		 json_is_string(json_object_get(config, "mediaType")))
		m->artifact_type = xstrdup(json_string_value(
			json_object_get(config, "mediaType")));
	if (!ann)
		return 0;
	if (!json_is_object(ann))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "annotations is not an object");
	json_object_foreach(ann, key, v) {
		if (!json_is_string(v))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "annotation '%s' is not a string", key);
	}
	m->annotations_json = json_dumps(ann, JSON_COMPACT);
	return 0;
}

/* Settles the media type from the Content-Type and the body's own
 * mediaType field. */
static int mparse_media_type(struct reg_manifest *m, json_t *root,
			     const char *content_type, struct err *e)
{
	char ct[REG_MEDIA_TYPE_MAX + 1], body_mt[REG_MEDIA_TYPE_MAX + 1];
	json_t *v = json_object_get(root, "mediaType");
	struct err sub = ERR_INIT;

	if (reg_parse_media_type(content_type, ct, &sub) < 0)
		return err_set(e, ERR_MANIFEST_INVALID, "Content-Type: %s",
			       sub.msg);
	/* A generic type says nothing: the body decides (as in CNCF
	 * distribution). */
	if (!strcmp(ct, "application/json"))
		ct[0] = '\0';
	body_mt[0] = '\0';
	if (v &&
	    (!json_is_string(v) ||
	     reg_parse_media_type(json_string_value(v), body_mt, &sub) < 0 ||
	     strcmp(body_mt, json_string_value(v))))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "mediaType is not a valid media type");
	if (oci_type_of(ct) == OCI_TYPE_SCHEMA1 ||
	    oci_type_of(body_mt) == OCI_TYPE_SCHEMA1)
		return err_set(e, ERR_MANIFEST_INVALID, MPARSE_SCHEMA1_MSG);
	if (ct[0] && body_mt[0] && strcmp(ct, body_mt))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "Content-Type %s does not match the manifest's "
			       "mediaType %s",
			       ct, body_mt);
	if (body_mt[0])
		memcpy(m->media_type, body_mt, sizeof(body_mt));
	else if (ct[0])
		memcpy(m->media_type, ct, sizeof(ct));
	else
		snprintf(m->media_type, sizeof(m->media_type), "%s",
			 json_object_get(root, "manifests") ? OCI_MT_INDEX
							    : OCI_MT_MANIFEST);
	m->type = oci_type_of(m->media_type);
	return 0;
}

static int mparse_schema_version(struct reg_manifest *m, json_t *root,
				 struct err *e)
{
	json_t *v = json_object_get(root, "schemaVersion");

	if (json_is_integer(v) && json_integer_value(v) == 1)
		return err_set(e, ERR_MANIFEST_INVALID, MPARSE_SCHEMA1_MSG);
	if (m->type != OCI_TYPE_OTHER &&
	    (!json_is_integer(v) || json_integer_value(v) != 2))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "schemaVersion must be 2");
	return 0;
}

int reg_manifest_parse(const char *body, size_t len, const char *content_type,
		       struct reg_manifest *m, struct err *e)
{
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "manifest is not valid JSON (line %d): %s",
			       jerr.line, jerr.text);
	if (!json_is_object(root)) {
		err_set(e, ERR_MANIFEST_INVALID,
			"manifest is not a JSON object");
		goto out;
	}
	if (mparse_media_type(m, root, content_type, e) < 0 ||
	    mparse_schema_version(m, root, e) < 0 ||
	    mparse_refs(m, root, e) < 0 || mparse_extras(m, root, e) < 0)
		goto out;
	/* What scan-on-push decides by, from this one parse. */
	m->kind = m->type == OCI_TYPE_OTHER ? OCI_KIND_ARTIFACT
					    : oci_manifest_kind(root);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void reg_manifest_release(struct reg_manifest *m)
{
	free(m->descs);
	free(m->artifact_type);
	free(m->annotations_json);
	memset(m, 0, sizeof(*m));
}
