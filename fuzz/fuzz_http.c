/* fuzz_http.c: request bytes through libhttp-parser and our glue
 * (http_req.c: URL and header collection under the caps, URL splitting,
 * percent-decoding, query and header lookup), then the router (route.c)
 * and the value parsers a handler would run on the headers.  Pipelined
 * requests in one input are parsed one after another, as a connection
 * would. */
#include "fuzz/fuzz.h"

#include "common/log.h"
#include "registry/api_int.h"
#include "registry/http/http.h"
#include "registry/http/http_int.h"
#include "registry/parse_int.h"

static struct http_server fz_srv;
static struct http_worker fz_w;

struct fz_conn {
	http_parser parser;
	struct http_req *req;
};

static void fz_route(struct http_req *req)
{
	static const char *const params[] = {"n",     "last", "digest",
					     "mount", "from", "artifactType"};
	char mt[REG_MEDIA_TYPE_MAX + 1];
	const char *path = http_req_path(req), *v;
	struct reg_call c;
	struct reg_match m;
	struct err e = ERR_INIT;
	int64_t a, b;
	long n;

	memset(&c, 0, sizeof(c));
	reg_route_find(http_req_method(req), path, &m);
	if (m.route)
		reg_route_parse(&m, &c, &e);
	for (size_t i = 0; i < sizeof(params) / sizeof(*params); i++) {
		v = http_req_query_param(req, params[i]);
		if (!v)
			continue;
		reg_parse_page_n(v, 1000, &n, NULL);
		reg_parse_last(v, i == 1, NULL);
		reg_parse_name(v, strlen(v), c.name, NULL);
		digest_parse(v, strlen(v), &c.digest, NULL);
	}
	v = http_req_header(req, "Range");
	if (v)
		http_parse_range(v, 4096, &a, &b);
	v = http_req_header(req, "Content-Range");
	if (v)
		reg_parse_content_range(v, strlen(v), &a, &b, NULL);
	reg_parse_media_type(http_req_header(req, "Content-Type"), mt, NULL);
	http_req_content_length(req);
	http_req_has_body(req);
}

static int fz_begin(http_parser *p)
{
	struct fz_conn *c = p->data;

	if (!c->req)
		c->req = http_req_new(NULL, &fz_w);
	return 0;
}

static int fz_url(http_parser *p, const char *at, size_t len)
{
	struct fz_conn *c = p->data;

	return http_req_add_url(c->req, at, len) < 0 ? -1 : 0;
}

static int fz_field(http_parser *p, const char *at, size_t len)
{
	struct fz_conn *c = p->data;

	return http_req_add_field(c->req, at, len, fz_srv.cfg.max_headers) ? -1
									   : 0;
}

static int fz_value(http_parser *p, const char *at, size_t len)
{
	struct fz_conn *c = p->data;

	return http_req_add_value(c->req, at, len) < 0 ? -1 : 0;
}

static int fz_headers(http_parser *p)
{
	struct fz_conn *c = p->data;

	if (http_req_finish_headers(c->req, p) != 0)
		return -1; /* the connection would answer 400 and close */
	fz_route(c->req);
	return 0;
}

static int fz_body(http_parser *p, const char *at, size_t len)
{
	(void)p;
	(void)at;
	(void)len;
	return 0;
}

static int fz_complete(http_parser *p)
{
	struct fz_conn *c = p->data;

	http_req_free(c->req);
	c->req = NULL;
	return 0;
}

static const http_parser_settings fz_settings = {
	.on_message_begin = fz_begin,
	.on_url = fz_url,
	.on_header_field = fz_field,
	.on_header_value = fz_value,
	.on_headers_complete = fz_headers,
	.on_body = fz_body,
	.on_message_complete = fz_complete,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	/* Small caps, so the fuzzer reaches them. */
	fz_srv.cfg.max_header_bytes = 4096;
	fz_srv.cfg.max_headers = 16;
	fz_w.srv = &fz_srv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_conn c;

	memset(&c, 0, sizeof(c));
	http_parser_init(&c.parser, HTTP_REQUEST);
	c.parser.data = &c;
	http_parser_execute(&c.parser, &fz_settings, (const char *)data, size);
	http_req_free(c.req);
	return 0;
}
