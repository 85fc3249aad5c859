/* registry/proxy/proxy.h: the proxy room's front door.
 *
 * registry/proxy/ is the pull-through cache and its libcurl client of
 * upstream registries (upstream*.c, behind upstream.h, which is private
 * to this folder).  The rest of registry/ calls it through this header
 * only: serve.c sets it up from the configuration, its phase in route.c
 * sees every request on a proxied name before the ordinary handlers; it
 * stores what it pulls through storage.h and queues scans through
 * registry/scan/.
 * proxy_int.h and upstream_int.h are the room's private maps.
 *
 * The pull-through cache.
 *
 * With --mirror URL every repository is pulled through one upstream (what
 * dockerd's registry-mirrors and containerd's mirrors expect); with
 * --upstream PREFIX=URL (repeatable) names under PREFIX are, with PREFIX
 * taken off for the upstream (docker.io/library/debian is library/debian
 * at https://registry-1.docker.io).  A pull carrying ?ns=HOST (containerd
 * sends it) goes to the upstream whose prefix is HOST/; a prefix with a
 * port, registry.local:5000/, is kept in the store as registry.local_5000/
 * (a repository name has no ':') and taken by ?ns=registry.local:5000.
 * Names that map to
 * no upstream are ordinary local repositories; a push into a proxied name
 * is refused with UNSUPPORTED.
 *
 * What comes through is stored like a push and scanned like one:
 *   - a manifest by tag is served from the store while fresh (--proxy-ttl
 *     seconds since the upstream last confirmed it); then a HEAD asks the
 *     upstream for the tag's digest, and only a changed digest is fetched.
 *     When the upstream cannot be reached or fails, the stored copy is
 *     served and the fact logged; a tag never stored gives the upstream's
 *     error, or MANIFEST_UNKNOWN (404) saying why when the upstream cannot
 *     be reached or fails (clients print a 404's message, not a 502's).
 *     A manifest by digest is immutable: fetched once.
 *   - a new image manifest is served at once from memory; its config and
 *     layers are fetched into the store (joining any client's fetch of
 *     them), then the manifest is stored with its scan job, so the store
 *     never holds a manifest without its blobs.  An index is stored at
 *     once, with the platform manifests the store has as its references.
 *     The pull policy gates image manifests (an index is judged by the
 *     platform manifest a client pulls next).
 *   - a blob is fetched once however many clients of a repository ask at
 *     the same time: the fetch writes it to an upload in the store, every
 *     client (range requests too) is served from that file as it grows,
 *     and its last MiB (all of a smaller blob) goes out only once the
 *     digest is verified and the blob committed.  An upstream that fails
 *     half-way, or sends other bytes than the digest, leaves nothing
 *     stored: a client gets a 502, or, mid-body, sees the connection cut
 *     (never a whole wrong body).  --max-blob and the store's free space
 *     bound what an upstream may send (refused on its Content-Length or
 *     the manifest's size, cut off past it), and a redirect is followed
 *     only where that upstream may send us (upstream.h).  A blob the
 *     store holds for another repository is served once the upstream
 *     confirms (a HEAD) that this one has it too.
 *   - a HEAD, or a GET of ranges, of a blob neither stored nor being
 *     fetched asks the upstream for just that (a HEAD; the ranges,
 *     streamed through and not stored): a client reading a part of a big
 *     layer does not make us fetch all of it.  "bytes=0-" is a whole GET.
 *   - catalog and tags/list show what the store holds.
 */
#ifndef REGISTRY_PROXY_H
#define REGISTRY_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "registry/api_int.h"
#include "registry/config_int.h"
#include "storage/storage.h"

struct reg_proxy;

/* From --mirror, --upstream, --proxy-ttl and --proxy-workers.  *out is
 * NULL (and 0 returned) when no upstream is configured. */
int reg_proxy_new(const struct cfg *cfg, struct stor *st,
		  struct reg_proxy **out, struct err *e);
/* Ends transfers in progress and joins the fetch threads.  Call after the
 * HTTP server has stopped running (no request waits any more). */
void reg_proxy_stop(struct reg_proxy *p);
void reg_proxy_free(struct reg_proxy *p);

/* After the route table parsed c, before access checks: a ?ns= that
 * names an upstream's source host puts its prefix in front of c->name
 * (and the reply says OCI-Namespace). */
void reg_proxy_map(struct reg_call *c);
/* The proxy phase (api_int.h), after auth: a pull of a proxied name goes
 * through the cache (REG_DEFERRED: it replies, at once or later) and a
 * push into one is refused (REG_DONE); REG_CONTINUE for the rest (local
 * names, lists, deletes, scans). */
enum reg_status reg_proxy_phase(struct reg_call *c);

/* What the cache did since start, for /metrics.  A client's GET or HEAD
 * of a manifest or blob of a proxied name is a hit when the store served
 * it without asking the upstream, stale when the store had the tag but
 * past --proxy-ttl (the upstream is asked whether it changed), and a miss
 * when the store lacked it.  Upstream transfers count every request to an
 * upstream, the fetches of an image's blobs too. */
enum reg_proxy_kind { REG_PROXY_MANIFEST, REG_PROXY_BLOB, REG_PROXY_NKINDS };
enum reg_proxy_result {
	REG_PROXY_HIT,
	REG_PROXY_STALE,
	REG_PROXY_MISS,
	REG_PROXY_NRESULTS
};
#define REG_PROXY_NERRORS 11
struct reg_proxy_stats {
	uint64_t requests[REG_PROXY_NKINDS][REG_PROXY_NRESULTS];
	uint64_t upstream_transfers;
	uint64_t upstream_bytes; /* body bytes of successful replies */
	/* Failed transfers by why; reg_proxy_error_name() names each. */
	uint64_t upstream_errors[REG_PROXY_NERRORS];
};
/* Zeros when p is NULL (no upstream configured). */
void reg_proxy_stats(struct reg_proxy *p, struct reg_proxy_stats *out);
/* "connect", "timeout", "transfer", "refused", "too_large", "auth",
 * "denied", "rate_limited", "server_error", "status", "content". */
const char *reg_proxy_error_name(size_t i);

#endif
