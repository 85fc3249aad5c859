/* test_lfstack.c: the lock-free stack (common/lfstack.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/lfstack.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/banned.h"

#define PUSHERS 4
#define EACH	20000

struct item {
	struct lfs_node node;
	int pusher, seq;
};

struct pusher {
	struct lfstack *s;
	struct item *items;
	int id, empties;
};

static void *push_all(void *arg)
{
	struct pusher *p = arg;

	for (int i = 0; i < EACH; i++) {
		p->items[i].pusher = p->id;
		p->items[i].seq = i;
		if (lfs_push(p->s, &p->items[i].node))
			p->empties++;
	}
	return NULL;
}

/* Every node comes out exactly once, each pusher's in its own order,
 * while the taker empties the stack under the pushers. */
static void test_push_take(void **state)
{
	static struct item items[PUSHERS][EACH];
	struct lfstack s = {NULL};
	struct pusher p[PUSHERS];
	pthread_t t[PUSHERS];
	int next[PUSHERS] = {0}, got = 0, takes = 0, empties = 0;
	struct lfs_node *first, *last = NULL, *n;

	(void)state;
	for (int i = 0; i < PUSHERS; i++) {
		p[i] = (struct pusher){&s, items[i], i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, push_all, &p[i]),
				 0);
	}
	while (got < PUSHERS * EACH) {
		lfs_take(&s, &first, &last);
		if (!first)
			continue;
		takes++;
		for (n = first; n; n = n->next) {
			struct item *it = (struct item *)n;

			assert_int_equal(it->seq, next[it->pusher]);
			next[it->pusher]++;
			got++;
			if (!n->next)
				assert_ptr_equal(n, last);
		}
	}
	for (int i = 0; i < PUSHERS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(next[i], EACH);
		empties += p[i].empties;
	}
	/* A push onto an empty stack says so: once per take at least. */
	assert_true(empties >= takes);
	lfs_take(&s, &first, &last);
	assert_null(first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_take),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
