/* http_req.c: a request's parsed head, its accessors, and the small parsers
 * (percent-decoding, query strings, Range) that need no connection. */
#include "registry/http/http_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "registry/metrics_int.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/* Room for the NULs we add between the URL, names and values. */
#define HBUF_SLACK(max_headers) ((size_t)(max_headers)*2 + 8)

/* splitmix64's finaliser: a bijection, so a worker's ids never repeat
 * before its counter wraps, and they look random. */
static uint64_t rid_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

bool http_request_id_ok(const char *s)
{
	size_t n;

	for (n = 0; s && s[n]; n++)
		if (n >= LOG_REQUEST_ID_MAX || (unsigned char)s[n] <= ' ' ||
		    (unsigned char)s[n] >= 0x7f)
			return false;
	return n > 0;
}

struct http_req *http_req_new(struct http_conn *c, struct http_worker *w)
{
	const struct http_config *cfg = &w->srv->cfg;
	struct http_req *req = xcalloc(1, sizeof(*req));

	req->conn = c;
	req->w = w;
	buf_init(&req->hbuf,
		 cfg->max_header_bytes + HBUF_SLACK(cfg->max_headers));
	req->hstate = HS_URL;
	req->method_name = "-";
	req->clen = -1;
	req->user_clen = -1;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	snprintf(req->id, sizeof(req->id), "%016" PRIx64,
		 rid_mix(w->rid_seed + ++w->nreq * 0x9e3779b97f4a7c15ULL));
	return req;
}

void http_req_free(struct http_req *req)
{
	struct http_qval *q, *next;

	if (!req)
		return;
	for (q = req->qvals; q; q = next) {
		next = q->next;
		free(q);
	}
	if (req->rhdrs)
		evbuffer_free(req->rhdrs);
	buf_release(&req->hbuf);
	free(req->hoff);
	free(req->hdrs);
	free(req->path);
	free(req->raw_path);
	free(req->query);
	free(req->log_note);
	free(req->user);
	free(req);
}

/* Ends the URL, name or value being collected with a NUL. */
static int hbuf_terminate(struct http_req *req)
{
	return buf_add(&req->hbuf, "", 1);
}

static void hoff_push(struct http_req *req, size_t off)
{
	if (req->nhoff == req->hoff_alloc) {
		req->hoff_alloc = req->hoff_alloc ? req->hoff_alloc * 2 : 16;
		req->hoff = xrealloc(req->hoff,
				     sizeof(*req->hoff) * req->hoff_alloc);
	}
	req->hoff[req->nhoff++] = off;
}

int http_req_add_url(struct http_req *req, const char *at, size_t len)
{
	if (req->hstate != HS_URL)
		return -1;
	return buf_add(&req->hbuf, at, len);
}

int http_req_add_field(struct http_req *req, const char *at, size_t len,
		       int max_headers)
{
	if (req->hstate == HS_DONE)
		return 0; /* a chunked body's trailer: ignored */
	if (req->hstate != HS_FIELD) {
		if (req->nhoff / 2 >= max_headers)
			return -1;
		if (hbuf_terminate(req) < 0)
			return -1;
		hoff_push(req, req->hbuf.len);
		req->hstate = HS_FIELD;
	}
	return buf_add(&req->hbuf, at, len);
}

int http_req_add_value(struct http_req *req, const char *at, size_t len)
{
	if (req->hstate == HS_DONE)
		return 0;
	if (req->hstate == HS_URL)
		return -1;
	if (req->hstate != HS_VALUE) {
		if (hbuf_terminate(req) < 0)
			return -1;
		hoff_push(req, req->hbuf.len);
		req->hstate = HS_VALUE;
	}
	return buf_add(&req->hbuf, at, len);
}

static enum http_method method_from_parser(unsigned m)
{
	switch (m) {
	case HTTP_GET:
		return HTTP_M_GET;
	case HTTP_HEAD:
		return HTTP_M_HEAD;
	case HTTP_PUT:
		return HTTP_M_PUT;
	case HTTP_POST:
		return HTTP_M_POST;
	case HTTP_PATCH:
		return HTTP_M_PATCH;
	case HTTP_DELETE:
		return HTTP_M_DELETE;
	case HTTP_OPTIONS:
		return HTTP_M_OPTIONS;
	default:
		return HTTP_M_OTHER;
	}
}

/* Trims the value's trailing blanks (the parser keeps them). */
static void trim_value(char *v)
{
	size_t n = strlen(v);

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
}

static void index_headers(struct http_req *req)
{
	char *base = req->hbuf.buf;
	int i;

	/* A name without a value callback (cannot happen with http_parser,
	 * but cheap to guard) gets an empty value. */
	if (req->nhoff % 2)
		hoff_push(req, req->hbuf.len - 1);
	req->nhdrs = req->nhoff / 2;
	req->hdrs = xcalloc(req->nhdrs ? req->nhdrs : 1, sizeof(*req->hdrs));
	for (i = 0; i < req->nhdrs; i++) {
		req->hdrs[i].name = base + req->hoff[2 * i];
		req->hdrs[i].value = base + req->hoff[2 * i + 1];
		trim_value(base + req->hoff[2 * i + 1]);
	}
}

static bool expects_continue(const struct http_req *req)
{
	const char *v = http_req_header(req, "Expect");

	return v && !strcasecmp(v, "100-continue");
}

static int split_url(struct http_req *req, bool is_connect)
{
	const char *url = req->hbuf.buf;
	struct http_parser_url u;
	const char *p;
	size_t n;

	if (!strcmp(url, "*")) {
		req->path = xstrdup("*");
		req->raw_path = xstrdup("*");
		return 0;
	}
	http_parser_url_init(&u);
	if (http_parser_parse_url(url, strlen(url), is_connect, &u) ||
	    !(u.field_set & (1 << UF_PATH)))
		return 400;
	p = url + u.field_data[UF_PATH].off;
	n = u.field_data[UF_PATH].len;
	req->raw_path = xstrndup(p, n);
	req->path = http_pct_decode(p, n, false);
	if (!req->path)
		return 400;
	if (u.field_set & (1 << UF_QUERY))
		req->query = xstrndup(url + u.field_data[UF_QUERY].off,
				      u.field_data[UF_QUERY].len);
	return 0;
}

/* How many headers are named `name`. */
static int header_count(const struct http_req *req, const char *name)
{
	int i, n = 0;

	for (i = 0; i < req->nhdrs; i++)
		if (!strcasecmp(req->hdrs[i].name, name))
			n++;
	return n;
}

/* The client's X-Request-Id replaces ours when it is acceptable; a
 * hostile one (control bytes, kilobytes) is ignored, not cut. */
static void take_request_id(struct http_req *req)
{
	const char *rid = http_req_header(req, "X-Request-Id");

	if (http_request_id_ok(rid))
		memcpy(req->id, rid, strlen(rid) + 1);
}

int http_req_finish_headers(struct http_req *req, const http_parser *p)
{
	if (hbuf_terminate(req) < 0)
		return 431;
	req->hstate = HS_DONE;
	index_headers(req);
	take_request_id(req);
	req->method = method_from_parser(p->method);
	req->method_name = http_method_str((enum http_parser_method)p->method);
	req->chunked = p->flags & F_CHUNKED;
	/* RFC 9112 6.3: a Transfer-Encoding whose last coding is not chunked
	 * leaves the body's length unknown; 400 and close, and the handler
	 * never runs (the parser only says so after the headers). */
	if (p->uses_transfer_encoding && !req->chunked)
		return 400;
	if (!req->chunked && (p->flags & F_CONTENTLENGTH)) {
		if (p->content_length > INT64_MAX)
			return 400;
		req->clen = (int64_t)p->content_length;
	}
	req->has_body = req->chunked || req->clen > 0;
	req->keep_alive = http_should_keep_alive(p);
	req->http10 =
		p->http_major < 1 || (p->http_major == 1 && p->http_minor == 0);
	req->upgrade = p->upgrade;
	/* RFC 9112 3.2: an HTTP/1.1 request without Host, or any request
	 * with several, is a 400. */
	if (header_count(req, "Host") > 1 ||
	    (!req->http10 && header_count(req, "Host") != 1))
		return 400;
	req->expect_continue = p->http_major == 1 && p->http_minor >= 1 &&
			       expects_continue(req);
	return split_url(req, p->method == HTTP_CONNECT);
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *http_pct_decode(const char *src, size_t len, bool plus_space)
{
	char *out = xmalloc(len + 1);
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		char ch = src[i];

		if (ch == '%') {
			if (len - i < 3)
				goto fail;
			hi = unhex((unsigned char)src[i + 1]);
			lo = unhex((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				goto fail;
			ch = (char)(hi * 16 + lo);
			i += 2;
		} else if (ch == '+' && plus_space) {
			ch = ' ';
		}
		if (ch == '\0')
			goto fail;
		out[o++] = ch;
	}
	out[o] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

/* The access log shows the raw path (never the query: it may hold tokens),
 * with anything unprintable escaped so a line stays one line. */
static void log_path(const char *raw, char *out, size_t cap)
{
	size_t o = 0;

	for (; *raw && o + 4 < cap; raw++) {
		unsigned char ch = (unsigned char)*raw;

		if (ch <= ' ' || ch >= 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

void http_req_log(struct http_req *req)
{
	struct timespec now;
	char path[512];
	long ms;
	struct log_field f[] = {
		{"request_id", req->id, 0},
		{"method", req->method_name, 0},
		{"path", path, 0},
		{"status", NULL, req->status},
		{"bytes", NULL, (int64_t)req->bytes},
		{"duration_ms", NULL, 0},
		{"remote", http_conn_peer(req->conn), 0},
		{"user", req->user, 0},
	};

	if (req->logged)
		return;
	req->logged = true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(now.tv_sec - req->start.tv_sec) * 1000 +
	     (now.tv_nsec - req->start.tv_nsec) / 1000000;
	log_path(req->raw_path ? req->raw_path : "-", path, sizeof(path));
	reg_metrics_request(req->method, req->path, req->status,
			    http_req_content_length(req), req->bytes, ms);
	f[5].num = ms;
	/* No user: the field is left out. */
	log_fields(reg_metrics_quiet(req->path) ? LL_DEBUG : LL_INFO, f,
		   req->user ? 8 : 7, "%s %s %d %" PRIu64 " %ld %s%s%s",
		   req->method_name, path, req->status, req->bytes, ms,
		   http_conn_peer(req->conn), req->log_note ? " " : "",
		   req->log_note ? req->log_note : "");
}

void http_req_set_user(struct http_req *req, const char *user)
{
	free(req->user);
	req->user = user ? xstrdup(user) : NULL;
}

void http_req_log_note(struct http_req *req, const char *note)
{
	free(req->log_note);
	req->log_note = xstrdup(note);
}

enum http_method http_req_method(const struct http_req *req)
{
	return req->method;
}

const char *http_req_method_name(const struct http_req *req)
{
	return req->method_name;
}

const char *http_req_path(const struct http_req *req)
{
	return req->path;
}

const char *http_req_query(const struct http_req *req)
{
	return req->query;
}

static const char *keep_qval(struct http_req *req, char *value)
{
	size_t n = strlen(value) + 1;
	struct http_qval *q = xmalloc(sizeof(*q) + n);

	memcpy(q->value, value, n);
	q->next = req->qvals;
	req->qvals = q;
	free(value);
	return q->value;
}

/* Does the encoded name s[0..n) decode to `name`? */
static bool qname_is(const char *s, size_t n, const char *name)
{
	char *d = http_pct_decode(s, n, true);
	bool same = d && !strcmp(d, name);

	free(d);
	return same;
}

const char *http_req_query_param(const struct http_req *creq, const char *name)
{
	struct http_req *req = (struct http_req *)creq;
	const char *p = req->query, *amp, *eq;
	char *v;

	while (p && *p) {
		amp = strchr(p, '&');
		if (!amp)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (!eq)
			eq = amp;
		if (qname_is(p, (size_t)(eq - p), name)) {
			if (eq == amp)
				return keep_qval(req, xstrdup(""));
			v = http_pct_decode(eq + 1, (size_t)(amp - eq - 1),
					    true);
			return v ? keep_qval(req, v) : NULL;
		}
		p = *amp ? amp + 1 : amp;
	}
	return NULL;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
	int i;

	for (i = 0; i < req->nhdrs; i++)
		if (!strcasecmp(req->hdrs[i].name, name))
			return req->hdrs[i].value;
	return NULL;
}

int64_t http_req_content_length(const struct http_req *req)
{
	return req->clen;
}

bool http_req_has_body(const struct http_req *req)
{
	return req->has_body;
}

const char *http_req_peer(const struct http_req *req)
{
	return http_conn_peer(req->conn);
}

const char *http_req_id(const struct http_req *req)
{
	return req->id;
}

bool http_req_is_tls(const struct http_req *req)
{
	return http_conn_is_tls(req->conn);
}

const char *http_req_client_cn(const struct http_req *req)
{
	return http_conn_client_cn(req->conn);
}

struct event_base *http_req_base(const struct http_req *req)
{
	return req->w->base;
}

bool http_req_replied(const struct http_req *req)
{
	return req->replied || req->close_notified;
}

void http_req_attach(struct http_req *req, void *ptr, http_dtor_fn dtor)
{
	struct http_cleanup *cl = xmalloc(sizeof(*cl));

	cl->ptr = ptr;
	cl->dtor = dtor;
	cl->next = req->cleanups;
	req->cleanups = cl;
}

void http_req_detach(struct http_req *req, void *ptr)
{
	struct http_cleanup **pp, *cl;

	for (pp = &req->cleanups; (cl = *pp); pp = &cl->next) {
		if (cl->ptr == ptr) {
			*pp = cl->next;
			free(cl);
			return;
		}
	}
}

void http_req_cleanup(struct http_req *req, bool gone)
{
	struct http_cleanup *cl;

	/* Popped before the call: a destructor may attach (it runs too). */
	while ((cl = req->cleanups)) {
		req->cleanups = cl->next;
		cl->dtor(cl->ptr, gone);
		free(cl);
	}
}

/* Parses a decimal int64 at *s, moving *s past it; -1 if none or too big. */
static int parse_pos(const char **s, int64_t *out)
{
	const char *p = *s;
	int64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One range-spec, p up to its end: 1 and [*off, *off + *len), 0 for
 * garbage, -1 when unsatisfiable. */
static int range_one(const char *p, int64_t size, int64_t *off, int64_t *len)
{
	int64_t first = -1, last = -1, n;

	p = skip_ows(p);
	if (*p == '-') {
		p++;
		if (parse_pos(&p, &n) < 0 || *skip_ows(p))
			return 0;
		if (n == 0)
			return -1;
		if (size == 0)
			return 0; /* nothing to slice: the (empty) whole */
		*len = n < size ? n : size;
		*off = size - *len;
		return 1;
	}
	if (parse_pos(&p, &first) < 0 || *p++ != '-')
		return 0;
	p = skip_ows(p);
	if (*p && parse_pos(&p, &last) < 0)
		return 0;
	if (*skip_ows(p) || (last >= 0 && last < first))
		return 0;
	if (first >= size)
		return -1;
	if (last < 0 || last >= size)
		last = size - 1;
	*off = first;
	*len = last - first + 1;
	return 1;
}

/* After "bytes=": the range set, or NULL for another unit. */
static const char *range_set(const char *hdr)
{
	const char *p;

	if (!hdr)
		return NULL;
	p = skip_ows(hdr);
	if (strncasecmp(p, "bytes", 5))
		return NULL;
	p = skip_ows(p + 5);
	return *p == '=' ? p + 1 : NULL;
}

int http_parse_range(const char *hdr, int64_t size, int64_t *off, int64_t *len)
{
	const char *p = range_set(hdr);

	if (!p || size < 0 || strchr(p, ','))
		return 0; /* another unit, or several ranges: serve it all */
	return range_one(p, size, off, len);
}

static int range_cmp(const void *a, const void *b)
{
	const struct http_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sorts r[0..n) and merges the ranges that overlap; returns how many are
 * left. */
static int range_coalesce(struct http_range *r, int n)
{
	int k = 0;

	qsort(r, (size_t)n, sizeof(*r), range_cmp);
	for (int i = 1; i < n; i++) {
		int64_t end = r[k].off + r[k].len;

		if (r[i].off < end) {
			if (r[i].off + r[i].len > end)
				r[k].len = r[i].off + r[i].len - r[k].off;
		} else {
			r[++k] = r[i];
		}
	}
	return n ? k + 1 : 0;
}

int http_parse_ranges(const char *hdr, int64_t size, struct http_range *out,
		      int max)
{
	const char *p = range_set(hdr), *end;
	char one[64];
	int n = 0, unsat = 0, r;
	bool overlap = false;

	if (!p || size < 0)
		return 0;
	for (;; p = end + 1) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) >= sizeof(one))
			return 0; /* no sane range-spec is that long */
		memcpy(one, p, (size_t)(end - p));
		one[end - p] = '\0';
		if (*skip_ows(one)) {
			/* RFC 9110 §14.2: a server may ignore the header;
			 * past max the whole blob is the cheaper answer. */
			if (n == max)
				return 0;
			r = range_one(one, size, &out[n].off, &out[n].len);
			if (r == 0)
				return 0;
			if (r < 0)
				unsat++; /* §14.1.2: the others may be served */
			else
				n++;
		}
		if (!*end)
			break;
	}
	if (n == 0)
		return unsat ? -1 : 0;
	for (int i = 0; i < n && !overlap; i++)
		for (int j = i + 1; j < n && !overlap; j++)
			overlap = out[i].off < out[j].off + out[j].len &&
				  out[j].off < out[i].off + out[i].len;
	/* Disjoint ranges are answered as asked, in order (clients match
	 * parts to requests); overlapping ones are merged (§14.2: "MAY
	 * coalesce"), so the body never exceeds the blob. */
	return overlap ? range_coalesce(out, n) : n;
}

struct http_timer {
	struct event *ev;
	void (*fn)(void *arg);
	void *arg;
	char rid[LOG_REQUEST_ID_MAX + 1]; /* the request may be gone */
};

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct http_timer *t = arg;

	(void)fd;
	(void)what;
	log_set_request_id(t->rid);
	t->fn(t->arg);
	log_set_request_id(NULL);
}

struct http_timer *http_timer_new(struct http_req *req, int secs,
				  void (*fn)(void *arg), void *arg)
{
	struct http_timer *t = xcalloc(1, sizeof(*t));
	struct timeval tv = {secs > 0 ? secs : 0, 0};

	t->fn = fn;
	t->arg = arg;
	memcpy(t->rid, req->id, sizeof(t->rid));
	t->ev = evtimer_new(req->w->base, timer_fire, t);
	if (!t->ev || evtimer_add(t->ev, &tv) < 0) {
		http_req_logf(req, LL_ERROR, "cannot arm a timer");
		abort();
	}
	return t;
}

void http_timer_free(struct http_timer *t)
{
	if (!t)
		return;
	event_free(t->ev);
	free(t);
}
