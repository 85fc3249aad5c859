/* blob_s3_int.h: what the S3 blob backend shares between blob_s3.c (bytes
 * and uploads) and blob_s3_maint.c (walks, removal, quarantine), and the
 * upload state it keeps in the metadata (unit-tested on its own).
 */
#ifndef STORAGE_BLOB_S3_INT_H
#define STORAGE_BLOB_S3_INT_H

#include "storage/storage_int.h"
#include "storage/s3_int.h"

#include <pthread.h>

/* Parts of one multipart upload: S3 allows 10000. */
#define S3UP_PARTS_MAX 10000
/* The text of a state: its parts' ETags and the hash. */
#define S3UP_TEXT_MAX ((size_t)2 << 20)

/* An upload's state between requests, on whichever node:
 *	data = parts (in S3, under the multipart upload mpu_id) + tail
 * The tail (under a part's size) sits in node-local scratch while a request
 * holds the upload, and in S3 as PREFIX/uploads/<id>.tail between
 * requests, so that any node can go on.  hash is storage.c's saved hash
 * state (opaque here), hex-encoded: hasher_save()'s copy of the fields of
 * OpenSSL's low-level SHA256_CTX, a plain struct (EVP has no export of a
 * running digest), so the nodes must share an architecture. */
struct s3up {
	char *mpu_id;	     /* NULL: no part sent yet */
	int64_t parts_bytes; /* in the parts */
	int64_t tail;	     /* bytes in the tail */
	char **etags;	     /* part i+1's ETag */
	size_t nparts;
	unsigned char *hash;
	size_t hash_len;
};

void s3up_release(struct s3up *u);
/* The state as text (appended to out). */
int s3up_encode(const struct s3up *u, struct buf *out);
/* Parses text[0..len) into u (released first); ERR_INVALID if malformed. */
int s3up_decode(const char *text, size_t len, struct s3up *u, struct err *e);
/* Adds a part's ETag (copied). */
void s3up_add_part(struct s3up *u, const char *etag, int64_t len);

struct s3_blobs {
	struct stor_blobs base;
	struct s3 *s3;
	struct stor_meta *meta;
	char *dir;    /* DIR/s3: node-local scratch */
	char *cache;  /* DIR/s3/cache: blobs read, by digest */
	char *prefix; /* "" or "p/" */
	size_t part_size;
	size_t cache_max; /* 0: no cache */
	/* A completed upload larger than this is copied to its blob's key
	 * part by part (S3's single copy stops at 5 GiB). */
	int64_t copy_max;
	pthread_mutex_t evict; /* one eviction pass at a time */
	pthread_mutex_t open_lock;
	struct stor_updata *open; /* uploads held now (up_reader) */
};

static inline struct s3_blobs *s3b_of(struct stor_blobs *b)
{
	return (struct s3_blobs *)b;
}

/* PREFIX/blobs/<alg>/<hex>, PREFIX/uploads/<id>, ... (caller frees). */
char *s3b_blob_key(const struct s3_blobs *b, const struct digest *dg);
char *s3b_key(const struct s3_blobs *b, const char *fmt, const char *id);
/* DIR/s3/uploads/<id>: the tail being filled (caller frees). */
char *s3b_tail_path(const struct s3_blobs *b, const char *id);
/* Drops the node-local copy of dg, if any. */
void s3b_uncache(struct s3_blobs *b, const struct digest *dg);
/* Aborts id's multipart uploads and deletes its objects and scratch. */
int s3b_up_remove(struct stor_blobs *b, const char *id, struct err *e);

extern const struct stor_blob_maint_ops stor_s3_maint_ops;

#endif
