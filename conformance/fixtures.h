/* fixtures.h: pushing the content tests need.
 *
 * Every helper checks what it does (status, Location) and returns -1 after
 * recording a failure, so a test reads `CT_TRY(fx_push_blob(...))`.  Strings
 * and buffers they return belong to the test.
 */
#ifndef CONFORMANCE_FIXTURES_H
#define CONFORMANCE_FIXTURES_H

#include "ct.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG	"application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER	"application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_EMPTY	"application/vnd.oci.empty.v1+json"
#define MT_DOCKER_MANIFEST                                                     \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST                                                         \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER	 "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Accept header of a client that takes every manifest type we push. */
#define ACCEPT_ALL                                                             \
	"Accept: " MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST   \
	", " MT_DOCKER_LIST

struct fx_blob {
	char digest[CT_DIGEST_MAX];
	const unsigned char *data;
	size_t size;
};

struct fx_manifest {
	char digest[CT_DIGEST_MAX]; /* sha256 of body */
	const char *media_type;
	char *body;
	size_t len;
};

/* A repository of this run that exists nowhere yet ("<ns>-<run>-<what>"). */
char *fx_repo(struct ct *t, const char *what);
/* A tag unique to this run ("<run>-<what>"). */
char *fx_tag(struct ct *t, const char *what);

/* Monolithic POST then PUT (§Pushing a blob monolithically).  alg names the
 * digest sent ("sha256"/"sha512"); digest_out may be NULL. */
int fx_push_blob(struct ct *t, const char *repo, const void *data, size_t len,
		 const char *alg, char *digest_out);
/* n random bytes pushed to repo. */
int fx_push_random(struct ct *t, const char *repo, size_t n,
		   struct fx_blob *out);

/* POST /v2/<repo>/blobs/uploads/ with Content-Length: 0 (a chunked
 * upload's start); checks 202 and returns the resolved Location, or NULL. */
char *fx_start_upload(struct ct *t, const char *repo);
/* PATCH data[off, off+len) to loc with Content-Range "off-(off+len-1)";
 * the status is left to the caller. */
struct ct_resp *fx_patch(struct ct *t, const char *loc,
			 const unsigned char *data, size_t off, size_t len);
/* Checks a chunk was taken: 202, Location, Range "0-<end>".  Returns the
 * new Location (to use next, §Pushing a blob in chunks) or NULL. */
char *fx_chunk_ok(struct ct *t, const struct ct_resp *r, size_t end);
/* The closing PUT: loc?digest=<digest>, with data[off, off+len) as the
 * final chunk when len > 0 (with Content-Range if range is set). */
struct ct_resp *fx_close(struct ct *t, const char *loc, const char *digest,
			 const unsigned char *data, size_t off, size_t len,
			 bool range);
/* GET /v2/<repo>/blobs/<digest> is 200 with exactly data. */
int fx_check_blob(struct ct *t, const char *repo, const char *digest,
		  const void *data, size_t len);

/* A descriptor object (new reference). */
json_t *fx_desc(const char *media_type, const char *digest, size_t size);
json_t *fx_blob_desc(const char *media_type, const struct fx_blob *b);
json_t *fx_manifest_desc(const struct fx_manifest *m);

/* Fills m from a body text: digest, media type; the text is copied. */
void fx_manifest_set(struct ct *t, struct fx_manifest *m,
		     const char *media_type, const char *body, size_t len);
/* PUT /v2/<repo>/manifests/<ref> (ref NULL: by digest); checks 201,
 * Location and, if present, Docker-Content-Digest. */
int fx_put_manifest(struct ct *t, const char *repo, const char *ref,
		    const struct fx_manifest *m);
/* Pushes a fresh image config and a 512-byte random layer to repo. */
int fx_push_parts(struct ct *t, const char *repo, struct fx_blob *config,
		  struct fx_blob *layer);
/* Pushes a fresh config and one layer to repo and builds an image manifest
 * over them (not pushed).  extra's members are added to the manifest
 * (reference stolen; may be NULL); artifact_config uses the empty config
 * descriptor of the artifact guidelines instead of an image config. */
int fx_make_image(struct ct *t, const char *repo, json_t *extra,
		  bool artifact_config, struct fx_manifest *out);
/* fx_make_image() then fx_put_manifest(). */
int fx_push_image(struct ct *t, const char *repo, const char *ref,
		  json_t *extra, struct fx_manifest *out);
/* An index over the given manifests (not pushed); extra as above. */
void fx_make_index(struct ct *t, const struct fx_manifest *const *children,
		   size_t n, json_t *extra, struct fx_manifest *out);

/* The image the pull tests share: pushed once per run to cfg->ns, tagged
 * "<run>-base", config + two layers.  NULL (and the test failed) when it
 * could not be pushed; later calls fail at once with the same reason. */
struct fx_base {
	struct fx_blob config, layer[2];
	struct fx_manifest manifest;
	char *tag;
};
const struct fx_base *fx_base_image(struct ct *t);
void fx_cleanup(void);

/* Status checks for DELETE: 202 passes; 400/405 (deletion disabled, which
 * the spec allows) skips unless --strict.  Returns 0 on 202, -1
 * otherwise (the test is then failed or skipped). */
int fx_delete_status(struct ct *t, const struct ct_resp *r, const char *what);

#endif
