/* oci.c: media types and manifest kinds (oci.h). */
#include "common/oci.h"

#include <string.h>

#include "common/banned.h"

#define OCI_N(a) (sizeof(a) / sizeof(*(a)))

static const struct {
	const char *media_type;
	enum oci_type type;
} oci_types[] = {
	{OCI_MT_MANIFEST, OCI_TYPE_MANIFEST},
	{OCI_MT_INDEX, OCI_TYPE_INDEX},
	{OCI_MT_DOCKER_MANIFEST, OCI_TYPE_MANIFEST},
	{OCI_MT_DOCKER_LIST, OCI_TYPE_INDEX},
	{OCI_MT_DOCKER_SCHEMA1, OCI_TYPE_SCHEMA1},
	{OCI_MT_DOCKER_SCHEMA1_SIGNED, OCI_TYPE_SCHEMA1},
};

static const char *const oci_layers[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

enum oci_type oci_type_of(const char *media_type)
{
	if (!media_type)
		return OCI_TYPE_OTHER;
	for (size_t i = 0; i < OCI_N(oci_types); i++)
		if (!strcmp(media_type, oci_types[i].media_type))
			return oci_types[i].type;
	return OCI_TYPE_OTHER;
}

bool oci_is_image_config(const char *media_type)
{
	return media_type && (!strcmp(media_type, OCI_MT_CONFIG) ||
			      !strcmp(media_type, OCI_MT_DOCKER_CONFIG));
}

bool oci_is_layer(const char *media_type)
{
	if (!media_type)
		return false;
	for (size_t i = 0; i < OCI_N(oci_layers); i++)
		if (!strcmp(media_type, oci_layers[i]))
			return true;
	return false;
}

bool oci_is_external_layer(const char *media_type, bool has_urls)
{
	static const char nondist[] =
		"application/vnd.oci.image.layer.nondistributable.";

	if (has_urls)
		return true;
	return media_type &&
	       (!strncmp(media_type, nondist, sizeof(nondist) - 1) ||
		!strcmp(media_type, "application/vnd.docker.image.rootfs."
				    "foreign.diff.tar.gzip"));
}

enum oci_kind oci_manifest_kind(const json_t *root)
{
	const char *mt, *cmt;

	if (!json_is_object(root))
		return OCI_KIND_ARTIFACT;
	mt = json_string_value(json_object_get(root, "mediaType"));
	if (oci_type_of(mt) == OCI_TYPE_INDEX ||
	    (!mt && json_is_array(json_object_get(root, "manifests"))))
		return OCI_KIND_INDEX;
	/* An image: its config is an image config (artifacts such as a
	 * report or a signature have their own or the empty one). */
	cmt = json_string_value(
		json_object_get(json_object_get(root, "config"), "mediaType"));
	if (json_is_array(json_object_get(root, "layers")) &&
	    !json_object_get(root, "artifactType") && oci_is_image_config(cmt))
		return OCI_KIND_IMAGE;
	return OCI_KIND_ARTIFACT;
}

enum oci_kind oci_manifest_kind_of(const char *body, size_t len)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	enum oci_kind kind = oci_manifest_kind(root);

	json_decref(root);
	return kind;
}

bool oci_desc_is_attestation(const json_t *desc)
{
	const char *t = json_string_value(
		json_object_get(json_object_get(desc, "annotations"),
				"vnd.docker.reference.type"));
	const char *os = json_string_value(
		json_object_get(json_object_get(desc, "platform"), "os"));

	return (t && !strcmp(t, "attestation-manifest")) ||
	       (os && !strcmp(os, "unknown"));
}
