/* feeds_int.h: what feeds.c (sources, state, the update) and
 * feeds_fetch.c (one download with libcurl) share; the pure parts are
 * unit-tested (tests/unit/test_feeds.c).
 *
 * Each source has a directory CACHE/<dir>/ holding its last good copy
 * (CACHE/<dir>/<file>, the URL's last path segment) and state.json:
 *	{"name", "kind", "url", "file", "etag", "last_modified", "sha256",
 *	 "last_success", "last_attempt", "last_error", "records", "skipped",
 *	 "pending"}
 * (times in unix seconds; "sha256" is the NVD .meta's, of the copy;
 * "pending": the copy is newer than the DB).  A download goes to
 * <file>.part; the copy it replaces is kept as <file>.prev until the
 * import has taken the new one.
 */
#ifndef SCANNER_FEEDS_INT_H
#define SCANNER_FEEDS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "scanner/scanner.h"

#define FEED_ETAG_MAX 256
#define FEED_LM_MAX   64
#define FEED_SHA_MAX  65

/* A source's state.json, as read. */
struct feed_state {
	char etag[FEED_ETAG_MAX];	 /* validators of the copy */
	char last_modified[FEED_LM_MAX]; /* "" when none */
	char sha256[FEED_SHA_MAX];	 /* NVD .meta of the copy, or "" */
	char url[1024];			 /* the copy came from */
	int64_t last_success;		 /* 0: never */
	int64_t last_attempt;		 /* 0: never */
	char last_error[320];		 /* "" when the last run worked */
	int64_t records, skipped;	 /* in the DB from this source */
	bool pending;			 /* copy not yet in the DB */
};

/* Reads dir/state.json; a missing or unreadable one gives a zeroed state
 * (the source is then fetched unconditionally). */
void feed_state_load(const char *dir, struct feed_state *st);
/* Writes dir/state.json (temporary file, renamed). */
int feed_state_save(const char *dir, const struct vulndb_source *src,
		    const char *file, const struct feed_state *st,
		    struct err *e);

/* A source's directory name: its name with every byte outside
 * [A-Za-z0-9._-] as '_'.  The caller frees. */
char *feed_dir_name(const char *name);
/* The file name of a source's copy: the URL's last path segment (without
 * query), made safe as above; "feed" when there is none.  Caller frees. */
char *feed_file_name(const char *url);

/* Response headers that matter, parsed one line at a time. */
struct feed_headers {
	long status; /* of the last response (redirects) */
	char etag[FEED_ETAG_MAX];
	char last_modified[FEED_LM_MAX];
	char md5[32];	     /* x-goog-hash md5= (base64), or "" */
	char crc32c[16];     /* x-goog-hash crc32c= (base64) */
	bool encoded;	     /* a Content-Encoding was applied */
	bool ranges;	     /* Accept-Ranges: bytes */
	int64_t length;	     /* Content-Length, -1 if none */
	int64_t range_start; /* Content-Range of a 206, else -1 */
	int64_t range_total; /* its total, -1 if "*" or none */
};
void feed_headers_init(struct feed_headers *h);
/* One header line as libcurl gives it (with its CRLF); a status line
 * starts a new response and clears what the previous one said. */
void feed_headers_line(struct feed_headers *h, const char *line, size_t len);

/* NVD's .meta: "size:<bytes of the JSON>" and "sha256:<hex>" lines. */
struct feed_meta {
	int64_t size;		   /* -1 if absent */
	char sha256[FEED_SHA_MAX]; /* lower case, "" if absent */
};
/* -1 (e set) when neither line is there or one is malformed. */
int feed_meta_parse(const char *text, size_t len, struct feed_meta *m,
		    struct err *e);

/* CRC-32C (Castagnoli), as Google Cloud Storage's x-goog-hash has it. */
uint32_t feed_crc32c(uint32_t crc, const void *data, size_t len);

/* One download (feeds_fetch.c). */
struct feed_get {
	const char *url;
	const char *path;	   /* written here (created or replaced) */
	const char *etag;	   /* conditional GET when not NULL/"" */
	const char *last_modified; /* likewise */
	int64_t max_bytes;	   /* of the body */
	const struct vulndb_fetch_limits *lim;
	bool (*stopping)(void *ctx);
	void *ctx;
	/* out */
	bool not_modified;     /* 304: path untouched */
	struct feed_headers h; /* of the response that was kept */
	int64_t bytes;	       /* in path */
	int attempts;	       /* requests made */
};
/* GETs g->url into g->path with retries, resume and the checks the
 * headers allow (Content-Length or Content-Range total, x-goog-hash).
 * On failure path is removed and e says why. */
int feed_get(struct feed_get *g, struct err *e);
/* Sleeps s seconds unless stopping() says to stop first: false then. */
bool feed_sleep(int s, bool (*stopping)(void *ctx), void *ctx);

#endif
