/* test_events.c: webhook events (registry/events/) and the outbox they go
 * through (storage.h): signatures, envelopes, filters, backoff, endpoint
 * parsing, and on a real store the routing, per-repository order, retries,
 * dead letters and durability across a reopen. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "storage/storage.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opt.h"
#include "common/xmalloc.h"
#include "registry/events/events_int.h"
#define TMPSTORE_PG /* the outbox runs on PostgreSQL too: see tmpstore.h */
#include "tests/unit/tmpstore.h"
#include "common/banned.h"

static void test_sign(void **state)
{
	char hex[65];

	(void)state;
	/* RFC 4231, test case 2. */
	assert_int_equal(
		ev_sign("Jefe", "what do ya want for nothing?", 28, hex), 0);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
				 "5a003f089d2739839dec58b964ec3843");
}

static void test_envelope(void **state)
{
	const char *bodies[] = {"{\"a\":1}", "{\"b\":2}"};
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(ev_envelope(&b, bodies, 2), 0);
	assert_int_equal(b.len, strlen("{\"events\":[{\"a\":1},{\"b\":2}]}"));
	assert_memory_equal(b.buf, "{\"events\":[{\"a\":1},{\"b\":2}]}", b.len);
	buf_release(&b);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(ev_backoff_ms(1, 1000, 300000), 1000);
	assert_int_equal(ev_backoff_ms(2, 1000, 300000), 2000);
	assert_int_equal(ev_backoff_ms(4, 1000, 300000), 8000);
	/* Capped, however many attempts. */
	assert_int_equal(ev_backoff_ms(9, 1000, 300000), 256000);
	assert_int_equal(ev_backoff_ms(10, 1000, 300000), 300000);
	assert_int_equal(ev_backoff_ms(100000, 1000, 300000), 300000);
}

static const struct reg_events_config ev_defaults = {
	.timeout_s = 10,
	.backoff_s = 1,
	.backoff_max_s = 300,
	.give_up_s = 86400,
};

static void test_endpoint_parse(void **state)
{
	struct ev_endpoint ep;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(ev_endpoint_parse("http://127.0.0.1:9/hook",
					   &ev_defaults, &ep, &e),
			 0);
	assert_string_equal(ep.name, "http://127.0.0.1:9/hook");
	assert_null(ep.secret);
	assert_int_equal(ep.timeout_ms, 10000);
	assert_int_equal(ep.give_up_ms, 86400000);
	assert_true(ev_endpoint_wants(&ep, "pull", "any/repo"));
	ev_endpoint_release(&ep);

	assert_int_equal(
		ev_endpoint_parse(
			"{\"name\":\"ci\",\"url\":\"https://ci.example/h\","
			"\"secret\":\"s3\",\"headers\":{\"Authorization\":"
			"\"Bearer x\"},\"events\":[\"push\",\"scan.*\"],"
			"\"repos\":\"team/*\",\"timeout\":\"2s\","
			"\"backoff\":1,\"backoff_max\":\"4s\","
			"\"give_up\":\"1m\"}",
			&ev_defaults, &ep, &e),
		0);
	assert_string_equal(ep.name, "ci");
	assert_string_equal(ep.secret, "s3");
	assert_int_equal(ep.nheaders, 1);
	assert_string_equal(ep.headers[0], "Authorization: Bearer x");
	assert_int_equal(ep.timeout_ms, 2000);
	assert_int_equal(ep.backoff_max_ms, 4000);
	assert_int_equal(ep.give_up_ms, 60000);
	/* Filters: actions and repositories by glob. */
	assert_true(ev_endpoint_wants(&ep, "push", "team/app"));
	assert_true(ev_endpoint_wants(&ep, "scan.completed", "team/a/b"));
	assert_false(ev_endpoint_wants(&ep, "pull", "team/app"));
	assert_false(ev_endpoint_wants(&ep, "push", "other/app"));
	/* An event about no repository passes the repository filter. */
	assert_false(ev_endpoint_wants(&ep, "db.updated", ""));
	ev_endpoint_release(&ep);

	/* What is wrong is said. */
	assert_int_equal(ev_endpoint_parse("ftp://x", &ev_defaults, &ep, &e),
			 -1);
	assert_non_null(strstr(e.msg, "http://"));
	e = (struct err)ERR_INIT;
	assert_int_equal(ev_endpoint_parse("{\"url\":\"http://x\",\"bogus\":1}",
					   &ev_defaults, &ep, &e),
			 -1);
	assert_non_null(strstr(e.msg, "bogus"));
	assert_int_equal(ev_endpoint_parse("{\"url\":\"http://x\",\"headers\":"
					   "{\"X-A\":\"a\\r\\nX-B: b\"}}",
					   &ev_defaults, &ep, &e),
			 -1);
	assert_int_equal(ev_endpoint_parse("{\"url\":\"http://x\",\"timeout\":"
					   "\"soon\"}",
					   &ev_defaults, &ep, &e),
			 -1);
	assert_int_equal(ev_endpoint_parse("[1]", &ev_defaults, &ep, &e), -1);
}

/* The envelope's event, as distribution's listeners read it. */
static void test_event_make(void **state)
{
	struct reg_events ev = {.host = "reg.example", .instance = "inst-1"};
	struct digest dg = dg_of("manifest");
	struct reg_event_target t = {.repo = "team/app",
				     .tag = "v1",
				     .dg = &dg,
				     .media_type = "application/x",
				     .size = 8};
	struct reg_event_src src = {.id = (char *)"r-1",
				    .addr = (char *)"10.0.0.1",
				    .host = (char *)"reg.example:5000",
				    .method = (char *)"PUT",
				    .useragent = (char *)"docker/27",
				    .actor = (char *)"bob"};
	char ds[DIGEST_STR_MAX], *text, *url;
	json_t *o;

	(void)state;
	atomic_store(&ev.port, 5000);
	assert_null(reg_event_make(NULL, "push", &t, &src, NULL));
	text = reg_event_make(&ev, "push", &t, &src,
			      json_pack("{s:{s:i}}", "scan", "n", 1));
	assert_non_null(text);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_int_equal(strlen(json_string_value(json_object_get(o, "id"))),
			 36);
	assert_non_null(json_string_value(json_object_get(o, "timestamp")));
	assert_string_equal(json_string_value(json_object_get(o, "action")),
			    "push");
	digest_str(&dg, ds);
	{
		json_t *tg = json_object_get(o, "target");

		assert_string_equal(
			json_string_value(json_object_get(tg, "mediaType")),
			"application/x");
		assert_string_equal(
			json_string_value(json_object_get(tg, "digest")), ds);
		assert_int_equal(
			json_integer_value(json_object_get(tg, "size")), 8);
		assert_int_equal(
			json_integer_value(json_object_get(tg, "length")), 8);
		assert_string_equal(
			json_string_value(json_object_get(tg, "repository")),
			"team/app");
		assert_string_equal(
			json_string_value(json_object_get(tg, "tag")), "v1");
		url = xasprintf("http://reg.example:5000/v2/team/app/"
				"manifests/%s",
				ds);
		assert_string_equal(
			json_string_value(json_object_get(tg, "url")), url);
		free(url);
	}
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "request"),
						  "useragent")),
		"docker/27");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(o, "request"), "id")),
			    "r-1");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(o, "actor"), "name")),
			    "bob");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(o, "source"), "addr")),
			    "reg.example:5000");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "source"),
						  "instanceID")),
		"inst-1");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(o, "scan"), "n")),
			 1);
	json_decref(o);
	free(text);
}

/* --- The outbox, on a real store ------------------------------------------ */

#define fx tmpstore_fx

static int fx_setup(void **state)
{
	return tmpstore_fx_setup(state, "events");
}

static bool take_all(void *arg, const char *action, const char *repo)
{
	(void)arg;
	(void)action;
	(void)repo;
	return true;
}

static bool take_pushes(void *arg, const char *action, const char *repo)
{
	(void)arg;
	(void)repo;
	return !strcmp(action, "push");
}

static void add(struct fx *fx, const char *action, const char *repo,
		const char *body)
{
	struct stor_event ev = {action, repo, body};
	struct err e = ERR_INIT;

	assert_int_equal(stor_event_add(fx->st, &ev, 1, &e), 0);
}

static size_t route(struct fx *fx, const char *ep, stor_event_filter_fn fn)
{
	struct err e = ERR_INIT;
	size_t n = 0;

	assert_int_equal(stor_outbox_route(fx->st, ep, fn, NULL, 100, &n, &e),
			 0);
	return n;
}

/* The bodies due for ep at now_ms, joined with spaces. */
static char *due(struct fx *fx, const char *ep, int64_t now_ms, int64_t *seqs,
		 size_t *nseqs)
{
	struct stor_delivery *d = NULL;
	struct err e = ERR_INIT;
	size_t n = 0;
	struct buf b;

	assert_int_equal(
		stor_outbox_due(fx->st, ep, now_ms, 10, 10, &d, &n, &e), 0);
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		buf_addf(&b, "%s%s", i ? " " : "", d[i].body);
		if (seqs)
			seqs[i] = d[i].seq;
	}
	if (nseqs)
		*nseqs = n;
	stor_delivery_free(d, n);
	buf_adds(&b, "");
	return buf_detach(&b, NULL);
}

/* Rows of the outbox table: events kept. */
static int outbox_rows(struct fx *fx)
{
	char path[300];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int n = -1;

	if (tmpstore_pg())
		return (int)tmpstore_pg_sql(fx->dir,
					    "SELECT count(*) FROM outbox");
	snprintf(path, sizeof(path), "%s/meta.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox",
					    -1, &q, NULL),
			 SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* Asserts what due() gives. */
static void expect_due(struct fx *fx, const char *ep, int64_t now_ms,
		       int64_t *seqs, size_t *nseqs, const char *want)
{
	char *s = due(fx, ep, now_ms, seqs, nseqs);

	assert_string_equal(s, want);
	free(s);
}

static void test_outbox_order(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	int64_t seqs[16];
	size_t n, pending, dead;
	/* A new endpoint starts at the newest event: history is not
	 * replayed. */
	add(fx, "push", "a", "\"old\"");
	assert_int_equal(route(fx, "hook", take_all), 0);
	assert_int_equal(route(fx, "pushes", take_pushes), 0);
	expect_due(fx, "hook", INT64_MAX, NULL, NULL, "");

	add(fx, "push", "a", "\"a1\"");
	add(fx, "push", "b", "\"b1\"");
	add(fx, "pull", "a", "\"a2\"");
	add(fx, "db.updated", "", "\"db\"");
	assert_int_equal(route(fx, "hook", take_all), 4);
	assert_int_equal(route(fx, "pushes", take_pushes), 4);
	/* Per repository, in order. */
	expect_due(fx, "hook", INT64_MAX, seqs, &n,
		   "\"a1\" \"a2\" \"b1\" \"db\"");
	expect_due(fx, "pushes", INT64_MAX, NULL, NULL, "\"a1\" \"b1\"");

	/* a fails: its events wait for the retry time, b's go on. */
	assert_int_equal(stor_outbox_retry(fx->st, "hook", seqs, 2, 5000, false,
					   "HTTP status 500", &e),
			 0);
	expect_due(fx, "hook", 4999, NULL, NULL, "\"b1\" \"db\"");
	assert_int_equal(stor_outbox_done(fx->st, "hook", seqs + 2, 2, &e), 0);
	add(fx, "push", "a", "\"a3\"");
	assert_int_equal(route(fx, "hook", take_all), 1);
	/* a3 waits behind a1 and a2. */
	expect_due(fx, "hook", 4999, NULL, NULL, "");
	expect_due(fx, "hook", 5000, NULL, NULL, "\"a1\" \"a2\" \"a3\"");

	/* Survives a reopen (a restart). */
	stor_free(fx->st);
	fx->st = stor_open(fx->dir, &e);
	assert_non_null(fx->st);
	expect_due(fx, "hook", 5000, seqs, &n, "\"a1\" \"a2\" \"a3\"");

	/* Given up on a1: dead, listed, and no longer blocking a. */
	assert_int_equal(stor_outbox_retry(fx->st, "hook", seqs, 1, 0, true,
					   "HTTP status 500", &e),
			 0);
	expect_due(fx, "hook", 5000, NULL, NULL, "\"a2\" \"a3\"");
	{
		struct stor_delivery *d = NULL;

		assert_int_equal(stor_outbox_dead(fx->st, 10, &d, &n, &e), 0);
		assert_int_equal(n, 1);
		assert_string_equal(d[0].body, "\"a1\"");
		assert_string_equal(d[0].endpoint, "hook");
		assert_string_equal(d[0].error, "HTTP status 500");
		assert_int_equal(d[0].attempts, 2);
		stor_delivery_free(d, n);
	}
	assert_int_equal(stor_outbox_counts(fx->st, &pending, &dead, &e), 0);
	assert_int_equal(pending, 2 + 2);
	assert_int_equal(dead, 1);

	/* An endpoint no longer configured is forgotten. */
	{
		const char *keep[] = {"hook"};

		assert_int_equal(stor_outbox_keep(fx->st, keep, 1, &n, &e), 0);
		assert_int_equal(n, 2);
	}
	assert_int_equal(stor_outbox_counts(fx->st, &pending, &dead, &e), 0);
	assert_int_equal(pending, 2);
}

/* A scan's end and its events go together: done, then failed for good. */
static void test_outbox_scan_finish(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	const char *body = "{\"scan\":1}";
	struct digest d = dg_of(body);
	struct stor_event done = {"scan.done", "r", "\"done\""};
	struct stor_event failed = {"scan.failed", "r", "\"failed\""};
	struct stor_manifest_put p = {
		.repo = "r",
		.digest = &d,
		.media_type = "application/vnd.oci.image.manifest.v1+json",
		.body = body,
		.len = strlen(body),
		.enqueue_scan = true,
	};
	struct stor_scan_job job;
	struct stor_scan sc;

	assert_int_equal(route(fx, "hook", take_all), 0);
	assert_int_equal(stor_manifest_put(fx->st, &p, &e), 0);
	assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 1);
	assert_int_equal(stor_scan_done_ev(fx->st, &job, &done, 1, &e), 0);
	stor_scan_job_release(&job);
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_DONE);
	stor_scan_release(&sc);

	assert_int_equal(stor_scan_enqueue(fx->st, "r", &d, false, &e), 0);
	assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 1);
	assert_int_equal(
		stor_scan_fail_ev(fx->st, &job, "broken", -1, &failed, 1, &e),
		0);
	stor_scan_job_release(&job);
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_FAILED);
	stor_scan_release(&sc);
	assert_int_equal(route(fx, "hook", take_all), 2);
	expect_due(fx, "hook", INT64_MAX, NULL, NULL, "\"done\" \"failed\"");
}

/* The event of a change is written with it, or not at all. */
static void test_outbox_atomic(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	const char *body = "{\"schemaVersion\":2}";
	struct digest d = dg_of(body), other = dg_of("nothing");
	struct stor_event ev = {"push", "r", "\"pushed\""};
	struct stor_event del = {"delete", "r", "\"deleted\""};
	struct stor_manifest_put p = {
		.repo = "r",
		.tag = "v1",
		.digest = &d,
		.media_type = "application/vnd.oci.image.manifest.v1+json",
		.body = body,
		.len = strlen(body),
		.events = &ev,
		.nevents = 1,
	};

	assert_int_equal(route(fx, "hook", take_all), 0);
	assert_int_equal(stor_manifest_put(fx->st, &p, &e), 0);
	/* A delete that fails stores no event. */
	assert_int_equal(stor_manifest_delete_ev(fx->st, "r", &other, &del, &e),
			 -1);
	assert_int_equal(e.code, ERR_MANIFEST_UNKNOWN);
	assert_int_equal(stor_tag_delete_ev(fx->st, "r", "nope", &del, &e), -1);
	assert_int_equal(stor_tag_delete_ev(fx->st, "r", "v1", &del, &e), 0);
	assert_int_equal(stor_manifest_delete_ev(fx->st, "r", &d, &del, &e), 0);
	assert_int_equal(route(fx, "hook", take_all), 3);
	expect_due(fx, "hook", INT64_MAX, NULL, NULL,
		   "\"pushed\" \"deleted\" \"deleted\"");
	/* Delivered events are pruned; those no endpoint wants too. */
	{
		int64_t seqs[3];
		size_t n = 0;

		free(due(fx, "hook", INT64_MAX, seqs, &n));
		assert_int_equal(n, 3);
		assert_int_equal(stor_outbox_done(fx->st, "hook", seqs, n, &e),
				 0);
		assert_int_equal(outbox_rows(fx), 0);
		assert_int_equal(route(fx, "pushes", take_pushes), 0);
		add(fx, "pull", "r", "\"unwanted\"");
		assert_int_equal(route(fx, "pushes", take_pushes), 1);
		assert_int_equal(outbox_rows(fx), 1);
		assert_int_equal(route(fx, "hook", take_pushes), 1);
		assert_int_equal(outbox_rows(fx), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_endpoint_parse),
		cmocka_unit_test(test_event_make),
		cmocka_unit_test_setup_teardown(test_outbox_order, fx_setup,
						tmpstore_fx_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_scan_finish,
						fx_setup, tmpstore_fx_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_atomic, fx_setup,
						tmpstore_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
