/* waiters_int.h: requests held until another thread is done with them.
 *
 * The scan service knows nothing of requests: it reports a scan that
 * became final (reg_scan_on_final()) and an import that ended (its done
 * callback), from its own threads.  This is the registry's side: a held
 * request is woken on its own loop thread, times out, or ends because
 * the client went away, and its callback runs exactly once either way.
 *
 *   reg_waiters_new(st, scan)        one per server; subscribes to scan
 *   reg_waiters_scan(w, req, dg, ..)  ?wait=N and the pull policy: until
 *                                     dg's scan is final or the timeout
 *   reg_hold_new(w, req, fn, arg)     until reg_hold_wake() (an import)
 */
#ifndef REGISTRY_WAITERS_INT_H
#define REGISTRY_WAITERS_INT_H

#include "common/digest.h"
#include "registry/http/http.h"
#include "registry/scan/scan.h"
#include "storage/storage.h"

struct reg_waiters;
struct reg_hold;

enum reg_wake {
	REG_WAKE_READY,	  /* what the request waited for happened */
	REG_WAKE_TIMEOUT, /* reg_waiters_scan() only */
	REG_WAKE_CLOSED,  /* the client went away: do not reply */
};
/* Runs once per hold: on the request's loop thread, except for CLOSED
 * after reg_hold_new(), which runs where the client's going and the wake
 * have both happened (req is then NULL). */
typedef void (*reg_wake_fn)(struct http_req *req, void *arg, enum reg_wake why);

/* Waits on scan's completions; st and scan are borrowed.  Free it last:
 * after the HTTP server (closing connections ends the holds) and after
 * reg_scan_free() (which ends an import that never ran). */
struct reg_waiters *reg_waiters_new(struct stor *st, struct reg_scan *scan);
void reg_waiters_free(struct reg_waiters *w);

/* Holds req until dg's scan is final (a result, or failed for good) or
 * timeout_s passes; takes over req's close callback.  Call on req's loop
 * thread; if the scan is already final, fn still runs from the loop (not
 * from within this call). */
void reg_waiters_scan(struct reg_waiters *w, struct http_req *req,
		      const struct digest *dg, int timeout_s, reg_wake_fn fn,
		      void *arg);

/* Holds req until reg_hold_wake(); takes over req's close callback.  Call
 * on req's loop thread.  The hold is freed once fn has run. */
struct reg_hold *reg_hold_new(struct reg_waiters *w, struct http_req *req,
			      reg_wake_fn fn, void *arg);
/* Thread-safe; exactly once per hold: fn(READY) on the request's loop,
 * or fn(NULL, arg, CLOSED) here if the client went away.  h is not to be
 * used afterwards. */
void reg_hold_wake(struct reg_hold *h);

#endif
