/* proxy_int.h: what registry/proxy/proxy*.c share (see proxy.h).
 *
 *   proxy.c           config, name mapping, dispatch, tag freshness
 *   proxy_manifest.c  manifests: revalidation, fetch, store, waiters
 *   proxy_blob.c      blobs: one fetch per digest, clients following it
 *   proxy_part.c      a HEAD or range of a blob not stored: just that
 *   upstream*.c       the libcurl client of upstreams (upstream.h,
 *                     upstream_int.h)
 *
 * Threads: handlers run on the loop threads; fetches on the upstream
 * pool's threads (upstream.h).  One mutex, p->lock, guards the in-flight
 * tables, every in-flight entry's state and waiter lists, and the
 * freshness table.  A loop thread is woken with http_req_defer(), always
 * called under p->lock by the side that takes a waiter off its list, so
 * a client's request destructor (which takes p->lock too) either finds
 * its waiter still listed or knows a defer is pending (which the HTTP
 * layer drops).
 */
#ifndef REGISTRY_PROXY_INT_H
#define REGISTRY_PROXY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "registry/proxy/proxy.h"
#include "registry/proxy/upstream.h"

/* A tag whose upstream failed is served from the store this long before
 * the upstream is tried again (at most --proxy-ttl). */
#define PX_RETRY_S 30
/* Freshness entries kept at most; past that the table starts over. */
#define PX_FRESH_MAX	 65536
#define PX_FRESH_BUCKETS 4096

/* Where a repository's pulls go. */
struct px_map {
	const struct ups_remote *r;
	char local[REG_NAME_MAX + 1];	/* the name in our store */
	char remote[REG_NAME_MAX + 16]; /* the name at the upstream */
};

struct px_fresh {
	struct px_fresh *next;
	time_t until;
	char key[]; /* "repo:tag" */
};

/* An index stored while the store lacked some of its platform manifests:
 * when one comes, the index's references are brought up to date. */
#define PX_PARTIAL_MAX 1024
/* Tags of a repository whose indexes are looked at too when a platform
 * manifest comes in (the partial list does not outlive a restart). */
#define PX_ADOPT_TAGS 256
struct px_partial {
	struct px_partial *next;
	struct digest dg;
	char repo[REG_NAME_MAX + 1];
};

struct pxm;
struct pxb;

struct reg_proxy {
	struct stor *st;
	struct ups *ups;
	struct ups_remote *remotes; /* by prefix length, longest first */
	size_t nremotes;
	int64_t ttl; /* seconds */
	size_t max_manifest;
	size_t max_blob; /* --max-blob; 0: none */
	char *data;	 /* the data directory, for its free space */

	pthread_mutex_t lock;
	struct pxm *manifests; /* in flight */
	struct pxb *blobs;     /* in flight */
	struct px_fresh *fresh[PX_FRESH_BUCKETS];
	size_t nfresh;
	struct px_partial *partials; /* newest first */
	size_t npartials;

	/* reg_proxy_stats() */
	atomic_uint_fast64_t served[REG_PROXY_NKINDS][REG_PROXY_NRESULTS];
};

/* proxy.c */
/* Counts a client's request (reg_proxy_stats()). */
void px_count(struct reg_proxy *p, enum reg_proxy_kind k,
	      enum reg_proxy_result r);
/* The upstream of name, if any. */
bool px_lookup(const struct reg_proxy *p, const char *name, struct px_map *m);
/* Whether tag was confirmed by the upstream less than ttl ago. */
bool px_fresh(struct reg_proxy *p, const char *repo, const char *tag);
/* The upstream confirmed tag now (or failed: then for less long). */
void px_fresh_set(struct reg_proxy *p, const char *repo, const char *tag,
		  bool confirmed);
void px_fresh_free(struct reg_proxy *p);

/* proxy_manifest.c: GET and HEAD of /v2/<name>/manifests/<ref>. */
void px_manifest_get(struct reg_proxy *p, struct reg_call *c,
		     const struct px_map *m);
void px_partials_free(struct reg_proxy *p);

/* proxy_blob.c: GET and HEAD of /v2/<name>/blobs/<digest>. */
void px_blob_get(struct reg_proxy *p, struct reg_call *c,
		 const struct px_map *m);
/* Serves req (a GET or HEAD of blob dg) from the fetch of it into the
 * store, starting it if none runs. */
void px_blob_follow(struct reg_proxy *p, struct http_req *req,
		    const struct px_map *map, const struct digest *dg);
/* On a fetch thread: makes blob dg (size bytes per its descriptor, -1 if
 * unknown) present and linked in m->local, fetching it (or waiting for
 * the fetch in progress) if the store lacks it. */
int px_blob_ensure(struct ups_conn *conn, struct reg_proxy *p,
		   const struct px_map *m, const struct digest *dg,
		   int64_t size, struct err *e);

/* proxy_part.c: a HEAD, or a GET of ranges, of a blob the store lacks is
 * asked of the upstream as such, and not stored. */
/* Whether req asks for no more than a part: a HEAD, or a Range that may
 * go on to the upstream (not "bytes=0-"). */
bool px_part_wanted(struct http_req *req);
/* Whether a Range header may go on to the upstream as it is: "bytes="
 * then offsets, '-', ',' and spaces, at most 256 bytes; not "bytes=0-"
 * (the whole blob). */
bool px_range_forwardable(const char *h);
/* Whether an upstream's Content-Range cr ("bytes A-B/N") is the one-range
 * ask ("bytes=A-", "bytes=A-B", "bytes=-S") of a body of length bytes. */
bool px_content_range_ok(const char *cr, const char *ask, int64_t length);
void px_part_get(struct reg_proxy *p, struct http_req *req,
		 const struct px_map *map, const struct digest *dg);

#endif
