/* s3_int.h: a small S3 client (the subset the blob store needs).
 *
 * libcurl signs with its built-in SigV4 (CURLOPT_AWS_SIGV4) rather than
 * Debian's libs3: libcurl is already linked (feeds), takes a CA bundle and
 * streams bodies from and to file descriptors, while libs3 (unmaintained
 * since 2019) drives its own event loop, builds with libxml2 and curl
 * anyway, and has no multipart state we could save between requests.
 * Responses are parsed with libxml2 within a size budget.
 *
 * Keys are given raw ("p/blobs/sha256/ab..."); the client encodes them
 * as S3 does before curl signs the path as written.  Every call may run
 * on several threads at once (each takes its own curl handle from a small
 * pool that keeps connections alive).  Strings are borrowed for the call.
 * Errors: ERR_NOT_FOUND for a missing key or upload, ERR_IO otherwise,
 * with S3's <Code> and <Message> in the text.
 */
#ifndef STORAGE_S3_INT_H
#define STORAGE_S3_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"

struct s3_cfg {
	const char *endpoint; /* http(s)://host[:port] */
	const char *region;
	const char *bucket;
	const char *access_key;
	const char *secret_key;
	const char *ca_file; /* NULL: the system's CAs */
	bool virtual_host;   /* bucket.host/key, else host/bucket/key */
};

struct s3;

/* Copies what it needs of cfg.  NULL (with e set) on a bad endpoint. */
struct s3 *s3_new(const struct s3_cfg *cfg, struct err *e);
void s3_free(struct s3 *s);

/* Appends s percent-encoded as S3 signs it: all but A-Z a-z 0-9 - . _ ~
 * (and '/' when keep_slash, for paths) become %XX. */
int s3_encode(struct buf *out, const char *s, bool keep_slash);

/* A URL that lets anyone holding it send method (GET) on key for
 * expires_s seconds from now (SigV4 query signing); the caller frees it. */
char *s3_presign(struct s3 *s, const char *method, const char *key,
		 int64_t expires_s, time_t now);

/* HEAD: size and last change (unix time) of key. */
int s3_head(struct s3 *s, const char *key, int64_t *size, int64_t *mtime,
	    struct err *e);
/* GET bytes [off, off+len) of key (len < 0: to the end) written to fd at
 * its current position; *got the bytes written. */
int s3_get_fd(struct s3 *s, const char *key, int64_t off, int64_t len, int fd,
	      int64_t *got, struct err *e);
/* GET key, calling fn for each piece (fn returns < 0 to stop: the call
 * fails with fn's error). */
typedef int (*s3_data_fn)(void *arg, const void *data, size_t len,
			  struct err *e);
int s3_get_cb(struct s3 *s, const char *key, s3_data_fn fn, void *arg,
	      struct err *e);
/* PUT key from memory, or len bytes of fd from off; sha256_hex is the
 * body's (S3 checks it) or NULL. */
int s3_put(struct s3 *s, const char *key, const void *data, size_t len,
	   struct err *e);
int s3_put_fd(struct s3 *s, const char *key, int fd, int64_t off, int64_t len,
	      const char *sha256_hex, struct err *e);
/* DELETE key; a missing one is no error. */
int s3_delete(struct s3 *s, const char *key, struct err *e);
/* Server-side copy (S3 caps a single copy at 5 GiB). */
int s3_copy(struct s3 *s, const char *src, const char *dst, struct err *e);
/* The same for an object of size bytes, any size: a multipart upload of
 * dst whose parts (part bytes each, the last less; S3 wants 5 MiB to
 * 5 GiB) are copied from ranges of src (UploadPartCopy).  Aborted on
 * failure. */
int s3_copy_parts(struct s3 *s, const char *src, int64_t size, int64_t part,
		  const char *dst, struct err *e);

/* Multipart uploads.  *upload_id and *etag are the caller's to free. */
int s3_mpu_create(struct s3 *s, const char *key, char **upload_id,
		  struct err *e);
int s3_mpu_part(struct s3 *s, const char *key, const char *upload_id,
		int partno, int fd, int64_t off, int64_t len,
		const char *sha256_hex, char **etag, struct err *e);
/* etags[i] is part i+1's. */
int s3_mpu_complete(struct s3 *s, const char *key, const char *upload_id,
		    char *const *etags, size_t n, struct err *e);
/* An upload already gone is no error. */
int s3_mpu_abort(struct s3 *s, const char *key, const char *upload_id,
		 struct err *e);

/* Every object under prefix, in key order. */
struct s3_object {
	const char *key;
	int64_t size;
	int64_t mtime;
};
typedef int (*s3_object_fn)(void *arg, const struct s3_object *o,
			    struct err *e);
int s3_list(struct s3 *s, const char *prefix, s3_object_fn fn, void *arg,
	    struct err *e);
/* Every multipart upload in progress under prefix: fn gets (key, id). */
typedef int (*s3_mpu_fn)(void *arg, const char *key, const char *upload_id,
			 struct err *e);
int s3_mpu_list(struct s3 *s, const char *prefix, s3_mpu_fn fn, void *arg,
		struct err *e);

#endif
