/* scrub.c: re-hashes stored blobs at a bounded rate, beside a serving
 * registry (storage.h).
 *
 * A blob whose content no longer hashes to its name (bit rot, a bad disk,
 * someone editing files), or whose file has another size than recorded,
 * goes to DIR/quarantine/ through stor_blob_damaged(): never served again
 * (GET and HEAD answer 404 BLOB_UNKNOWN), counted, logged, and stored anew
 * by the next push of it.  A blob that checks out and whose size was not
 * recorded yet (stored by an older customs) gets its size recorded, so
 * serving checks it from then on.
 */
#include "storage/storage_int.h"
#include "common/fdio.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

#define SCRUB_CHUNK (256 * 1024)

struct scrub {
	struct stor *st;
	struct stor_blobs *b;
	struct stor_meta *m;
	const struct stor_scrub_opts *o;
	struct stor_scrub_stats *s;
	char *chunk;
	double t0;    /* when the pass started */
	int64_t read; /* bytes read in this pass */
};

static double scrub_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keeps the pass at o->rate bytes a second; false once asked to stop. */
static bool scrub_pace(struct scrub *sc)
{
	double due, now;

	if (sc->o->rate <= 0)
		return !(sc->o->stopping && sc->o->stopping(sc->o->arg));
	due = sc->t0 + (double)sc->read / (double)sc->o->rate;
	now = scrub_now();
	if (due > now && sc->o->pause)
		return sc->o->pause(sc->o->arg, due - now);
	return !(sc->o->stopping && sc->o->stopping(sc->o->arg));
}

int stor_blob_hash(struct stor_blobs *b, const struct digest *dg, char *chunk,
		   size_t cap, stor_hash_step_fn step, void *arg,
		   struct digest *got, int64_t *size, char *why, size_t why_len,
		   struct err *e)
{
	struct err e2 = ERR_INIT;
	struct hasher *h = NULL;
	int fd = -1, ret = STOR_HASH_OK;
	ssize_t n = 0;
	int64_t fsize;

	if (b->ops->open(b, dg, &fd, &fsize, &e2) < 0) {
		if (e2.code == ERR_BLOB_UNKNOWN)
			return STOR_HASH_GONE;
		return err_set(e, e2.code, "%s", e2.msg);
	}
	h = hasher_new(dg->alg);
	*size = 0;
	for (;;) {
		if (step && !step(arg, (size_t)n)) {
			ret = STOR_HASH_STOPPED;
			break;
		}
		n = fdio_read(fd, chunk, cap);
		if (n < 0) {
			snprintf(why, why_len, "unreadable: %s",
				 strerror(errno));
			ret = STOR_HASH_UNREADABLE;
			break;
		}
		if (n == 0)
			break;
		hasher_update(h, chunk, (size_t)n);
		*size += n;
	}
	if (ret == STOR_HASH_OK)
		hasher_final(h, got);
	hasher_free(h);
	close(fd);
	return ret;
}

/* stor_hash_step_fn: counts what was read, then keeps the pace. */
static bool scrub_step(void *arg, size_t n)
{
	struct scrub *sc = arg;

	sc->read += (int64_t)n;
	sc->s->bytes += (int64_t)n;
	return scrub_pace(sc);
}

static int scrub_blob(void *arg, const struct stor_file *f, struct err *e)
{
	struct scrub *sc = arg;
	char why[128] = "", gs[DIGEST_STR_MAX];
	struct err e2 = ERR_INIT;
	struct digest got;
	int64_t size = 0, want;
	int rc;

	if (!f->dg) /* strays are for fsck */
		return 0;
	rc = stor_blob_hash(sc->b, f->dg, sc->chunk, SCRUB_CHUNK, scrub_step,
			    sc, &got, &size, why, sizeof(why), e);
	if (rc < 0 || rc == STOR_HASH_STOPPED)
		return rc < 0 ? -1 : 1;
	if (rc == STOR_HASH_GONE)
		return 0;
	sc->s->blobs++;
	if (sc->m->ops->blob_size(sc->m, f->dg, &want, e) < 0)
		return -1;
	if (!why[0] && !digest_eq(&got, f->dg))
		snprintf(why, sizeof(why), "content hashes to %s",
			 digest_str(&got, gs));
	if (!why[0] && want >= 0 && want != size)
		snprintf(why, sizeof(why), "%lld bytes on disk, %lld stored",
			 (long long)size, (long long)want);
	if (why[0]) {
		sc->s->damaged++;
		stor_blob_damaged(sc->st, f->dg, why);
		return 0;
	}
	/* Intact: now its size is known. */
	if (want < 0 && sc->m->ops->blob_size_put(sc->m, f->dg, size, &e2) < 0)
		return err_set(e, e2.code, "%s", e2.msg);
	return 0;
}

int stor_scrub(struct stor *st, const struct stor_scrub_opts *o,
	       struct stor_scrub_stats *out, struct err *e)
{
	struct stor_scrub_stats s;
	struct scrub sc;
	int ret;

	memset(&s, 0, sizeof(s));
	memset(&sc, 0, sizeof(sc));
	sc.st = st;
	sc.b = stor_blobs_of(st);
	sc.m = stor_meta_of(st);
	sc.o = o;
	sc.s = &s;
	sc.chunk = xmalloc(SCRUB_CHUNK);
	sc.t0 = scrub_now();
	ret = sc.b->maint->walk(sc.b, scrub_blob, &sc, e);
	s.seconds = scrub_now() - sc.t0;
	free(sc.chunk);
	if (out)
		*out = s;
	return ret < 0 ? -1 : 0;
}
