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

/* Hashes blob dg; 1 when it is gone (gc freed it meanwhile), 2 when asked
 * to stop, 0 with *got and *size otherwise; *why on a read error. */
static int scrub_hash(struct scrub *sc, const struct digest *dg,
		      struct digest *got, int64_t *size, char why[128],
		      struct err *e)
{
	struct err e2 = ERR_INIT;
	struct hasher *h = NULL;
	int64_t fsize, total = 0;
	int fd = -1, ret = 0;
	ssize_t n;

	if (sc->b->ops->open(sc->b, dg, &fd, &fsize, &e2) < 0) {
		if (e2.code == ERR_BLOB_UNKNOWN)
			return 1;
		return err_set(e, e2.code, "%s", e2.msg);
	}
	h = hasher_new(dg->alg);
	for (;;) {
		if (!scrub_pace(sc)) {
			ret = 2;
			goto out;
		}
		n = fdio_read(fd, sc->chunk, SCRUB_CHUNK);
		if (n < 0) {
			snprintf(why, 128, "unreadable: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		hasher_update(h, sc->chunk, (size_t)n);
		total += n;
		sc->read += n;
		sc->s->bytes += n;
	}
	hasher_final(h, got);
	*size = total;
out:
	hasher_free(h);
	close(fd);
	return ret;
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
	rc = scrub_hash(sc, f->dg, &got, &size, why, e);
	if (rc < 0 || rc == 2)
		return rc < 0 ? -1 : 1;
	if (rc == 1)
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
