/* oci.h: the OCI vocabulary: media types, and what a manifest is.
 *
 * The one place that says which media type is an index, an image manifest
 * or Docker schema 1, and whether a manifest body is an image, an index or
 * an artifact.  The API (push checks, scan-on-push), the pull-through
 * cache, the scan service and the scanner all ask here.
 */
#ifndef COMMON_OCI_H
#define COMMON_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX	"application/vnd.oci.image.index.v1+json"
#define OCI_MT_CONFIG	"application/vnd.oci.image.config.v1+json"
#define OCI_MT_EMPTY	"application/vnd.oci.empty.v1+json"
#define OCI_MT_DOCKER_MANIFEST                                                 \
	"application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_LIST                                                     \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define OCI_MT_DOCKER_SCHEMA1                                                  \
	"application/vnd.docker.distribution.manifest.v1+json"
#define OCI_MT_DOCKER_SCHEMA1_SIGNED                                           \
	"application/vnd.docker.distribution.manifest.v1+prettyjws"

/* The digest of the empty descriptor's blob, "{}" (OCI_MT_EMPTY). */
#define OCI_EMPTY_DIGEST                                                       \
	"sha256:"                                                              \
	"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* An Accept header for every manifest type the registry stores. */
#define OCI_ACCEPT_MANIFESTS                                                   \
	OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " OCI_MT_DOCKER_LIST              \
		     ", " OCI_MT_DOCKER_MANIFEST

/* What a manifest's media type says its body is. */
enum oci_type {
	OCI_TYPE_OTHER,	   /* another type: an artifact's own manifest */
	OCI_TYPE_MANIFEST, /* OCI image manifest, Docker schema 2 manifest */
	OCI_TYPE_INDEX,	   /* OCI image index, Docker manifest list */
	OCI_TYPE_SCHEMA1,  /* Docker schema 1, signed or not: refused */
};

/* The type of a media type given without parameters; NULL is
 * OCI_TYPE_OTHER. */
enum oci_type oci_type_of(const char *media_type);

/* What a manifest holds: whether scans (and the pull policy) read it. */
enum oci_kind {
	OCI_KIND_ARTIFACT, /* nothing to scan: a signature, an SBOM, a report
			    * (another config type or an artifactType), or
			    * not a JSON object at all */
	OCI_KIND_IMAGE,	   /* layers, an image config, no artifactType */
	OCI_KIND_INDEX,	   /* an index media type, or no mediaType and a
			    * manifests array */
};

/* The kind of a parsed manifest body (root borrowed; NULL and non-objects
 * are artifacts).  Reads the body alone: the mediaType field, not a
 * Content-Type. */
enum oci_kind oci_manifest_kind(const json_t *root);
/* The same for the bytes of a body. */
enum oci_kind oci_manifest_kind_of(const char *body, size_t len);

/* An image's config: OCI or Docker.  NULL is false. */
bool oci_is_image_config(const char *media_type);
/* A filesystem layer (tar, plain or compressed; OCI or Docker). */
bool oci_is_layer(const char *media_type);
/* A layer the registry need not hold: non-distributable (OCI's
 * nondistributable types, a Docker foreign layer) or with urls to fetch it
 * from elsewhere.  A manifest may list one the registry does not have
 * (sparse content, e.g. Windows base layers). */
bool oci_is_external_layer(const char *media_type, bool has_urls);
/* Whether an index's entry is an attestation (BuildKit's provenance or
 * SBOM manifests sit beside the platforms, marked one way or the other)
 * rather than a platform's image. */
bool oci_desc_is_attestation(const json_t *desc);

#endif
