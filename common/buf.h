/* buf.h: a growable byte buffer with a size cap (git's strbuf, curl's dynbuf).
 *
 * Invariants: `buf` is never NULL and always NUL-terminated, so b.buf can be
 * used as a C string; `len` excludes the terminator.  A buffer initialised
 * with BUF_INIT points at a shared empty string and allocates on first write.
 * `cap` bounds len: an append that would exceed it fails with -1, releases
 * the buffer (so nothing half-appended survives) and leaves it empty.
 * cap 0 means no cap; use it only for data we produce ourselves.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap;
};

extern char buf_empty[];
#define BUF_INIT                                                               \
	{                                                                      \
		buf_empty, 0, 0, 0                                             \
	}

void buf_init(struct buf *b, size_t cap);
/* Frees the contents; the buffer is then as after buf_init (same cap). */
void buf_release(struct buf *b);
/* Hands the bytes to the caller (who frees them); the buffer is reset. */
char *buf_detach(struct buf *b, size_t *len_out);
void buf_reset(struct buf *b);

int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
