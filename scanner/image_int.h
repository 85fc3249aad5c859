/* image_int.h: what an IMAGE argument names, read from any scan_source.
 * Not for other modules.
 *
 * image_resolve() turns a manifest or index digest into a list of images
 * (one per platform).  Input formats are sources plus a starting point:
 * image_layout_open() for an OCI image layout directory, image_tar_open()
 * for an OCI archive or a `docker save` tarball.
 */
#ifndef SCANNER_IMAGE_INT_H
#define SCANNER_IMAGE_INT_H

#include <archive.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/err.h"
#include "common/oci.h"
#include "scanner/scanner.h"

/* Manifests, indexes and configs are small; a bigger one is refused. */
#define IMAGE_MAX_JSON	    (4u << 20)
#define IMAGE_MAX_LAYERS    1024
#define IMAGE_MAX_PLATFORMS 256

struct image_layer {
	struct digest digest; /* blob digest (docker save: the diff_id) */
	char *media_type;     /* NULL when the format has none */
	/* Non-distributable or with urls (oci_is_external_layer()): it may
	 * be absent, and that is no failure. */
	bool external;
};

struct image {
	bool has_digest;      /* docker save tarballs have no manifest */
	struct digest digest; /* of the manifest */
	char *media_type;
	struct digest config;
	char *os, *arch, *variant;
	struct image_layer *layers;
	size_t nlayers;
	/* The config's history lines that made layers ("created_by", ""
	 * when none), in layer order; filled by image_read_config(). */
	char **history;
	size_t nhistory;
};

/* One IMAGE argument: a single image, or an index of several. */
struct image_set {
	bool is_index;
	struct digest index_digest;
	char *index_media_type;
	char *ref; /* the tag or name the input gave, or NULL */
	struct image *images;
	size_t nimages;
	char **notes; /* platforms skipped and why */
	size_t nnotes;
};

void image_set_init(struct image_set *s);
void image_set_release(struct image_set *s);
/* Moves *img to the end of s; *img is then empty. */
void image_set_take(struct image_set *s, struct image *img);

/* Reads the manifest or index dg from src into set (appending images).
 * Indexes nest at most a few levels; attestation manifests and non-image
 * artifacts are skipped with a note. */
int image_resolve(const struct scan_source *src, const struct digest *dg,
		  struct image_set *set, struct err *e);
/* Reads and parses the config of img: platform and, via diff_ids, nothing
 * else; fills img->os/arch/variant if unset. */
int image_read_config(const struct scan_source *src, struct image *img,
		      struct err *e);

/* Blob helpers. */
int image_blob_read_all(struct scan_blob *b, size_t cap, struct buf *out,
			struct err *e);
/* Opens b for libarchive with every filter and the tar format (raw: also
 * the "raw" format, to sniff what a blob is).  b stays the caller's and
 * must outlive *out. */
int image_blob_archive(struct scan_blob *b, bool raw, struct archive **out,
		       struct err *e);
/* A blob over a memory block the caller keeps alive. */
void image_blob_memory(struct scan_blob *b, const void *data, size_t len);

/* Input formats.  Each fills *src (valid until image_input_free()) and set.
 * tag may be NULL: then the input must name exactly one image (or one
 * index, which is scanned per platform). */
struct image_input;
int image_layout_open(const char *dir, const char *tag, struct image_input **in,
		      struct scan_source *src, struct image_set *set,
		      struct err *e);
int image_tar_open(const char *file, const char *tag, struct image_input **in,
		   struct scan_source *src, struct image_set *set,
		   struct err *e);
void image_input_free(struct image_input *in);

/* Picks the index.json entry of a layout (body of index.json) matching tag
 * (org.opencontainers.image.ref.name, or io.containerd.image.name ending
 * in ":tag") or the only one; then resolves it.  Shared by directories
 * and OCI archives. */
int image_layout_select(const struct scan_source *src, const char *index_json,
			size_t len, const char *tag, struct image_set *set,
			struct err *e);

/* --- The input formats' shared state (image_layout.c, image_tar.c) ----- */

struct tar_member {
	char *name; /* normalised: no "./" or leading "/" */
	int64_t size;
	int64_t offset; /* of the data in the file; -1 if unknown */
	char *cached;	/* small JSON members of compressed tarballs */
};

struct tar_alias {
	struct digest dg; /* docker save: a layer's diff_id, the config */
	size_t member;
};

struct image_input {
	char *dir;  /* layout directory */
	char *file; /* tarball */
	int fd;
	bool seekable; /* members can be read with pread */
	struct tar_member *m;
	size_t nm;
	struct tar_alias *alias;
	size_t nalias;
};

#endif
