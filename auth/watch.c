/* watch.c: files re-read when they change (htpasswd, access rules).
 *
 * Readers take a reference to the current snapshot and drop it when done;
 * a reload parses the new file outside the lock and swaps the pointer, so a
 * slow parse never blocks a request and an old snapshot lives until its
 * last reader lets go.  Each use costs one stat(2).  A file that turns bad
 * (or, unless missing_ok, disappears) keeps the previous snapshot: an editor
 * saving half a rules file must not open the registry.
 */
#include "auth/auth_int.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/banned.h"

static void stamp_of(const struct stat *st, struct auth_stamp *s)
{
	memset(s, 0, sizeof(*s));
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtim = st->st_mtim;
}

static bool stamp_eq(const struct auth_stamp *a, const struct auth_stamp *b)
{
	if (a->missing || b->missing)
		return a->missing == b->missing;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtim.tv_sec == b->mtim.tv_sec &&
	       a->mtim.tv_nsec == b->mtim.tv_nsec;
}

int auth_read_file(const char *path, char **data, size_t *len,
		   struct auth_stamp *stamp, struct err *e)
{
	struct stat st;
	char *p = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, ret = -1;

	*data = NULL;
	*len = 0;
	memset(stamp, 0, sizeof(*stamp));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			stamp->missing = true;
			return 1;
		}
		return err_errno(e, ERR_IO, errno, "open %s", path);
	}
	if (fstat(fd, &st) < 0) {
		err_errno(e, ERR_IO, errno, "stat %s", path);
		goto out;
	}
	if (st.st_size > AUTH_FILE_MAX) {
		err_set(e, ERR_INVALID, "%s: larger than %d bytes", path,
			AUTH_FILE_MAX);
		goto out;
	}
	stamp_of(&st, stamp);
	/* Read to EOF (the size may have changed), never past the cap. */
	p = xmalloc((size_t)st.st_size + 2);
	r = fdio_read_all(fd, p, (size_t)st.st_size + 1);
	if (r < 0) {
		err_errno(e, ERR_IO, errno, "read %s", path);
		goto out;
	}
	n = (size_t)r;
	if (n == (size_t)st.st_size + 1) {
		err_set(e, ERR_IO, "%s: changed while read", path);
		goto out;
	}
	p[n] = '\0';
	*data = p;
	*len = n;
	p = NULL;
	ret = 0;
out:
	free(p);
	close(fd);
	return ret;
}

static int watch_load(struct auth_watch *w, struct auth_snap **out,
		      struct auth_stamp *stamp, struct err *e)
{
	struct err pe = ERR_INIT;
	char *data = NULL;
	size_t len;
	int r;

	r = auth_read_file(w->path, &data, &len, stamp, e);
	if (r < 0)
		return -1;
	if (r == 1 && !w->missing_ok)
		return err_set(e, ERR_INVALID, "%s %s: no such file", w->what,
			       w->path);
	r = w->parse(data ? data : "", len, out, &pe);
	free(data);
	if (r < 0)
		return err_set(e, pe.code, "%s %s: %.200s", w->what, w->path,
			       pe.msg);
	return 0;
}

int auth_watch_init(struct auth *a, struct auth_watch *w, struct err *e)
{
	(void)a;
	if (!w->path)
		return 0;
	return watch_load(w, &w->cur, &w->stamp, e);
}

static void watch_reload(struct auth *a, struct auth_watch *w,
			 const struct auth_stamp *seen)
{
	struct auth_snap *snap = NULL, *old = NULL;
	struct auth_stamp stamp;
	struct err e = ERR_INIT;

	if (watch_load(w, &snap, &stamp, &e) < 0) {
		bool first;

		/* Log once per version of the file, then keep the old one. */
		pthread_mutex_lock(&a->lock);
		first = !stamp_eq(&w->stamp, seen);
		w->stamp = *seen;
		pthread_mutex_unlock(&a->lock);
		if (first)
			log_msg(LL_WARN,
				"auth: %s not reloaded, keeping the previous "
				"one: %s",
				w->what, e.msg);
		return;
	}
	pthread_mutex_lock(&a->lock);
	old = w->cur;
	w->cur = snap;
	w->stamp = stamp;
	pthread_mutex_unlock(&a->lock);
	log_msg(LL_INFO, "auth: reloaded %s %s", w->what, w->path);
	if (old)
		auth_snap_put(a, old);
}

struct auth_snap *auth_watch_get(struct auth *a, struct auth_watch *w)
{
	struct auth_stamp now;
	struct auth_snap *s;
	struct stat st;
	bool changed;

	if (!w->path)
		return NULL;
	memset(&now, 0, sizeof(now));
	if (stat(w->path, &st) == 0)
		stamp_of(&st, &now);
	else if (errno == ENOENT)
		now.missing = true;
	else
		goto take; /* can't tell: assume unchanged */
	pthread_mutex_lock(&a->lock);
	changed = !stamp_eq(&w->stamp, &now);
	pthread_mutex_unlock(&a->lock);
	if (changed)
		watch_reload(a, w, &now);
take:
	pthread_mutex_lock(&a->lock);
	s = w->cur;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&a->lock);
	return s;
}

void auth_snap_put(struct auth *a, struct auth_snap *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&a->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&a->lock);
	if (last)
		s->destroy(s);
}

void auth_watch_release(struct auth_watch *w)
{
	if (w->cur && --w->cur->refs == 0)
		w->cur->destroy(w->cur);
	w->cur = NULL;
	free(w->path);
	w->path = NULL;
}
