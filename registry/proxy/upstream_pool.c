/* upstream_pool.c: the threads that talk to upstreams, each with its own
 * curl handle; they share connections, DNS and TLS sessions through one
 * curl share handle. */
#include "registry/proxy/upstream_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/banned.h"

static pthread_once_t ups_once = PTHREAD_ONCE_INIT;
static CURLcode ups_global_rc;

static void ups_global_init(void)
{
	ups_global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static void ups_share_lock(CURL *h, curl_lock_data data,
			   curl_lock_access access, void *arg)
{
	struct ups *u = arg;

	(void)h;
	(void)access;
	pthread_mutex_lock(&u->share_locks[data]);
}

static void ups_share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct ups *u = arg;

	(void)h;
	pthread_mutex_unlock(&u->share_locks[data]);
}

int ups_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		 curl_off_t ultotal, curl_off_t ulnow)
{
	struct ups *u = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(&u->cancel) ? 1 : 0;
}

static struct ups_job *ups_next_job(struct ups *u)
{
	struct ups_job *j;

	pthread_mutex_lock(&u->lock);
	while (!u->head && !u->stop)
		pthread_cond_wait(&u->cond, &u->lock);
	j = u->head;
	if (j) {
		u->head = j->next;
		if (!u->head)
			u->tail = NULL;
	}
	pthread_mutex_unlock(&u->lock);
	return j;
}

static void *ups_thread(void *arg)
{
	struct ups_conn c = {.u = arg};
	struct ups_job *j;

	c.curl = curl_easy_init();
	if (!c.curl) {
		/* Without a handle this thread cannot fetch; the others
		 * can, so it only leaves. */
		log_msg(LL_ERROR, "upstream: curl_easy_init failed");
		return NULL;
	}
	/* After a stop the queue is still run: jobs clean up (their
	 * transfers fail at once, as ups_cancel() has been called). */
	while ((j = ups_next_job(c.u))) {
		log_set_request_id(j->rid);
		j->fn(&c, j->arg);
		log_set_request_id(NULL);
		free(j);
	}
	curl_easy_cleanup(c.curl);
	return NULL;
}

static void ups_release(struct ups *u)
{
	if (u->share)
		curl_share_cleanup(u->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&u->share_locks[i]);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->tlock);
	ups_tokens_free(u);
	free(u->threads);
	free(u);
}

static int ups_share_new(struct ups *u, struct err *e)
{
	u->share = curl_share_init();
	if (!u->share)
		return err_set(e, ERR_INTERNAL, "curl_share_init failed");
	curl_share_setopt(u->share, CURLSHOPT_LOCKFUNC, ups_share_lock);
	curl_share_setopt(u->share, CURLSHOPT_UNLOCKFUNC, ups_share_unlock);
	curl_share_setopt(u->share, CURLSHOPT_USERDATA, u);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(u->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	return 0;
}

struct ups *ups_new(int nthreads, int64_t timeout_s, struct err *e)
{
	struct ups *u;
	int rc;

	pthread_once(&ups_once, ups_global_init);
	if (ups_global_rc != CURLE_OK) {
		err_set(e, ERR_INTERNAL, "curl_global_init: %s",
			curl_easy_strerror(ups_global_rc));
		return NULL;
	}
	u = xcalloc(1, sizeof(*u));
	u->timeout_s = timeout_s > 0 ? timeout_s : UPS_SMALL_TIMEOUT_S;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&u->share_locks[i], NULL);
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	pthread_mutex_init(&u->tlock, NULL);
	atomic_init(&u->cancel, false);
	if (ups_share_new(u, e) < 0) {
		ups_release(u);
		return NULL;
	}
	u->threads = xcalloc((size_t)(nthreads > 0 ? nthreads : 1),
			     sizeof(*u->threads));
	for (int i = 0; i < nthreads; i++) {
		rc = pthread_create(&u->threads[i], NULL, ups_thread, u);
		if (rc) {
			err_errno(e, ERR_INTERNAL, rc, "upstream thread");
			ups_free(u);
			return NULL;
		}
		u->nthreads++;
	}
	return u;
}

void ups_cancel(struct ups *u)
{
	if (u)
		atomic_store(&u->cancel, true);
}

void ups_submit(struct ups *u, ups_job_fn fn, void *arg)
{
	struct ups_job *j = xcalloc(1, sizeof(*j));

	j->fn = fn;
	j->arg = arg;
	memcpy(j->rid, log_request_id(), strlen(log_request_id()) + 1);
	pthread_mutex_lock(&u->lock);
	if (u->tail)
		u->tail->next = j;
	else
		u->head = j;
	u->tail = j;
	pthread_cond_signal(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

void ups_free(struct ups *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	for (int i = 0; i < u->nthreads; i++)
		pthread_join(u->threads[i], NULL);
	ups_release(u);
}
