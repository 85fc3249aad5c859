/* ct_int.h: internals shared by harness.c and http.c (not for tests). */
#ifndef CONFORMANCE_CT_INT_H
#define CONFORMANCE_CT_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "ct.h"

/* A growable string; p is NULL until the first append.  Allocation failure
 * aborts (a test harness has nothing better to do). */
struct sbuf {
	char *p;
	size_t len, alloc;
};

void sbuf_add(struct sbuf *b, const void *data, size_t len);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* The text so far ("" when empty); stays owned by b. */
const char *sbuf_str(const struct sbuf *b);
void sbuf_release(struct sbuf *b);

void *ct_xmalloc(size_t n);
void *ct_xrealloc(void *p, size_t n);
char *ct_xstrdup(const char *s);

struct ct_keep {
	void *p;
	void (*free_fn)(void *);
};

struct ct {
	const struct ct_cfg *cfg;
	struct ct_http *http;
	enum ct_result result;
	char *msg;	 /* first failure, or the skip reason */
	struct sbuf log; /* transcript of requests and notes */
	struct ct_keep *keeps;
	size_t nkeeps, akeeps;
};

#endif
