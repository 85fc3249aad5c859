/* lfstack.c: see lfstack.h. */
#include "common/lfstack.h"

#include <stddef.h>

#include "common/banned.h"

bool lfs_push(struct lfstack *s, struct lfs_node *n)
{
	struct lfs_node *old =
		atomic_load_explicit(&s->top, memory_order_relaxed);

	do {
		n->next = old;
	} while (!atomic_compare_exchange_weak_explicit(
		&s->top, &old, n, memory_order_release, memory_order_relaxed));
	return old == NULL;
}

void lfs_take(struct lfstack *s, struct lfs_node **first,
	      struct lfs_node **last)
{
	struct lfs_node *n, *rev = NULL;

	n = atomic_exchange_explicit(&s->top, NULL, memory_order_acquire);
	if (n)
		*last = n;
	while (n) {
		struct lfs_node *next = n->next;

		n->next = rev;
		rev = n;
		n = next;
	}
	*first = rev;
}
