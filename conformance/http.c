/* http.c: requests through one libcurl handle (one kept-alive connection),
 * responses owned by the test, and the checks that read them. */
#include <ctype.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ct_int.h"

/* No response of a conformance test is legitimately bigger (the largest is
 * the 4 MiB manifest); a registry that streams more is cut off. */
#define CT_MAX_BODY (64u << 20)
/* After this many time-outs the registry is taken for hung. */
#define CT_MAX_TIMEOUTS 10

struct ct_http {
	CURL *curl;
	const struct ct_cfg *cfg;
	char *bearer; /* the last token obtained; tried first */
	bool basic;   /* a Basic challenge was seen: send credentials */
	int timeouts; /* requests that timed out so far */
};

struct ct_http *ct_http_new(const struct ct_cfg *cfg)
{
	struct ct_http *h = ct_xmalloc(sizeof(*h));

	h->curl = curl_easy_init();
	if (!h->curl) {
		fprintf(stderr, "conformance: curl_easy_init failed\n");
		abort();
	}
	h->cfg = cfg;
	h->bearer = NULL;
	h->basic = false;
	h->timeouts = 0;
	return h;
}

void ct_http_free(struct ct_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h->bearer);
	free(h);
}

static void resp_free(void *p)
{
	struct ct_resp *r = p;

	for (size_t i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	free(r->body);
	free(r->url);
	free(r);
}

static void resp_clear(struct ct_resp *r)
{
	for (size_t i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	r->hdrs = NULL;
	r->nhdrs = 0;
	free(r->body);
	r->body = NULL;
	r->len = 0;
	r->status = 0;
}

struct io {
	struct ct_resp *r;
	struct sbuf body;
	bool too_big;
	const char *up; /* request body for CT_STREAM */
	size_t up_len, up_off;
};

static char *trim_dup(const char *s, size_t n)
{
	char *p;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	p = ct_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct io *io = arg;
	struct ct_resp *r = io->r;
	size_t len = size * n;
	const char *colon;

	/* A new status line (after 100 Continue or a redirect) starts over:
	 * only the final response's headers count. */
	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		for (size_t i = 0; i < r->nhdrs; i++) {
			free(r->hdrs[i].name);
			free(r->hdrs[i].value);
		}
		r->nhdrs = 0;
		return len;
	}
	colon = memchr(data, ':', len);
	if (!colon)
		return len;
	r->hdrs = ct_xrealloc(r->hdrs, (r->nhdrs + 1) * sizeof(*r->hdrs));
	r->hdrs[r->nhdrs].name = trim_dup(data, (size_t)(colon - data));
	r->hdrs[r->nhdrs].value =
		trim_dup(colon + 1, len - (size_t)(colon - data) - 1);
	r->nhdrs++;
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct io *io = arg;
	size_t len = size * n;

	if (io->body.len + len > CT_MAX_BODY) {
		io->too_big = true;
		return 0;
	}
	sbuf_add(&io->body, data, len);
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct io *io = arg;
	size_t want = size * n, left = io->up_len - io->up_off;

	/* Small pieces, so a chunked body really has several chunks. */
	if (want > 4096)
		want = 4096;
	if (want > left)
		want = left;
	memcpy(buf, io->up + io->up_off, want);
	io->up_off += want;
	return want;
}

/* strcasestr() is a GNU extension; this is all we need of it. */
static const char *find_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return hay;
	return NULL;
}

/* Value of auth-param `key` in a challenge like
 * Bearer realm="https://a/token",service="reg",scope="repository:x:pull". */
static char *challenge_param(const char *ch, const char *key)
{
	size_t klen = strlen(key);
	const char *p = ch;

	while ((p = find_nocase(p, key)) != NULL) {
		const char *v = p + klen;
		const char *end;

		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && *v == '=') {
			v++;
			if (*v == '"') {
				v++;
				end = strchr(v, '"');
			} else {
				end = v + strcspn(v, ", ");
			}
			if (!end)
				end = v + strlen(v);
			return trim_dup(v, (size_t)(end - v));
		}
		p = v;
	}
	return NULL;
}

static void set_basic(struct ct_http *h)
{
	curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(h->curl, CURLOPT_USERNAME, h->cfg->user);
	curl_easy_setopt(h->curl, CURLOPT_PASSWORD,
			 h->cfg->pass ? h->cfg->pass : "");
}

/* The token flow of distribution's docs/spec/auth/token.md: GET the realm
 * with service and scope, Basic credentials if we have them. */
static int fetch_token(struct ct *t, const char *challenge)
{
	struct ct_http *h = t->http;
	char *realm = challenge_param(challenge, "realm");
	char *service = challenge_param(challenge, "service");
	char *scope = challenge_param(challenge, "scope");
	struct sbuf url = {0};
	struct io io = {0};
	struct ct_resp r = {0};
	json_t *j = NULL;
	const char *tok;
	int ret = -1;
	long status = 0;

	if (!realm) {
		ct_fail(t, "Bearer challenge without realm: %s", challenge);
		goto out;
	}
	sbuf_adds(&url, realm);
	if (service) {
		char *e = curl_easy_escape(h->curl, service, 0);

		sbuf_addf(&url, "%sservice=%s", strchr(realm, '?') ? "&" : "?",
			  e);
		curl_free(e);
	}
	if (scope) {
		char *e = curl_easy_escape(h->curl, scope, 0);

		sbuf_addf(&url, "%cscope=%s",
			  strchr(sbuf_str(&url), '?') ? '&' : '?', e);
		curl_free(e);
	}
	io.r = &r;
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, sbuf_str(&url));
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &io);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 30L);
	if (h->cfg->user)
		set_basic(h);
	if (curl_easy_perform(h->curl) != CURLE_OK) {
		ct_fail(t, "token request to %s failed", realm);
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	j = json_loadb(sbuf_str(&io.body), io.body.len, 0, NULL);
	tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (status != 200 || !tok) {
		ct_fail(t, "token request to %s: status %ld, no token", realm,
			status);
		goto out;
	}
	free(h->bearer);
	h->bearer = ct_xstrdup(tok);
	ret = 0;
out:
	json_decref(j);
	sbuf_release(&io.body);
	sbuf_release(&url);
	free(realm);
	free(service);
	free(scope);
	return ret;
}

static bool is_body_method(const char *m)
{
	return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

static bool has_header(const char *const *hdrs, const char *name)
{
	size_t n = strlen(name);

	for (; hdrs && *hdrs; hdrs++)
		if (!strncasecmp(*hdrs, name, n) && (*hdrs)[n] == ':')
			return true;
	return false;
}

static struct curl_slist *build_headers(struct ct_http *h,
					const char *const *hdrs,
					const char *method, unsigned flags)
{
	struct curl_slist *l = NULL;
	struct sbuf auth = {0};

	for (const char *const *p = hdrs; p && *p; p++)
		l = curl_slist_append(l, *p);
	/* libcurl would add Expect by itself above 1 MiB; only the test that
	 * asks for it gets it. */
	l = curl_slist_append(l, flags & CT_EXPECT ? "Expect: 100-continue"
						   : "Expect:");
	/* and a form Content-Type to every body: none unless a test sets it. */
	if (is_body_method(method) && !has_header(hdrs, "Content-Type"))
		l = curl_slist_append(l, "Content-Type:");
	if (flags & CT_STREAM)
		l = curl_slist_append(l, "Transfer-Encoding: chunked");
	if (h->bearer && !h->basic) {
		sbuf_addf(&auth, "Authorization: Bearer %s", h->bearer);
		l = curl_slist_append(l, auth.p);
		sbuf_release(&auth);
	}
	return l;
}

static void setup(struct ct_http *h, struct io *io, const char *method,
		  const char *url, struct curl_slist *hl, const void *body,
		  size_t len, unsigned flags)
{
	CURL *c = h->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, io);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, io);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	/* A hanging registry must not hang the run for hours: after a few
	 * time-outs the rest of the requests get little time. */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeouts >= 3 ? 3L : 30L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "customs-conformance/1");
	/* Registries use self-signed certificates in tests; we check the
	 * API, not the PKI. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	if (h->basic)
		set_basic(h);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (is_body_method(method) && (flags & CT_STREAM)) {
		io->up = body;
		io->up_len = len;
		io->up_off = 0;
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, io);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (is_body_method(method)) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	/* A blob GET may be redirected to storage; nothing else may be. */
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
}

/* One attempt; returns the CURLcode. */
static CURLcode attempt(struct ct *t, struct ct_resp *r, const char *method,
			const char *url, const char *const *hdrs,
			const void *body, size_t len, unsigned flags)
{
	struct io io = {.r = r};
	struct curl_slist *hl = build_headers(t->http, hdrs, method, flags);
	CURLcode rc;

	setup(t->http, &io, method, url, hl, body, len, flags);
	rc = curl_easy_perform(t->http->curl);
	curl_easy_getinfo(t->http->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (io.too_big)
		ct_fail(t, "%s %s: response body over %u bytes", method, url,
			CT_MAX_BODY);
	free(r->body);
	r->body = io.body.p ? io.body.p : ct_xstrdup("");
	r->len = io.body.len;
	curl_slist_free_all(hl);
	return rc;
}

/* After a 401: learn how to authenticate.  Returns 0 to retry. */
static int authenticate(struct ct *t, const struct ct_resp *r)
{
	const char *ch = ct_hdr(r, "WWW-Authenticate");

	if (!ch)
		return -1;
	if (!strncasecmp(ch, "Basic", 5)) {
		if (!t->cfg->user || t->http->basic)
			return -1;
		t->http->basic = true;
		return 0;
	}
	if (!strncasecmp(ch, "Bearer", 6))
		return fetch_token(t, ch);
	return -1;
}

static const char *path_of(const char *url)
{
	const char *p = strstr(url, "://");

	if (!p)
		return url;
	p = strchr(p + 3, '/');
	return p ? p : "/";
}

static void note_request(struct ct *t, const char *method, const char *url,
			 const char *const *hdrs, size_t len, unsigned flags)
{
	struct sbuf b = {0};

	sbuf_addf(&b, "> %s %s", method, path_of(url));
	for (const char *const *h = hdrs; h && *h; h++)
		sbuf_addf(&b, "%s%s", h == hdrs ? " [" : "; ", *h);
	if (hdrs && hdrs[0])
		sbuf_adds(&b, "]");
	if (is_body_method(method))
		sbuf_addf(&b, " (%zu bytes%s)", len,
			  flags & CT_STREAM ? ", chunked" : "");
	ct_note(t, "%s", b.p);
	sbuf_release(&b);
}

struct ct_resp *ct_do(struct ct *t, const char *method, const char *url,
		      const char *const *hdrs, const void *body, size_t len,
		      unsigned flags)
{
	struct ct_resp *r = ct_xmalloc(sizeof(*r));
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	r->method = method;
	r->url = ct_xstrdup(ct_url(t, url));
	r->body = ct_xstrdup("");
	ct_keep(t, r, resp_free);
	if (t->http->timeouts >= CT_MAX_TIMEOUTS) {
		ct_fail(t, "%s %s: not sent: the registry timed out %d times",
			method, path_of(r->url), t->http->timeouts);
		return r;
	}

	rc = attempt(t, r, method, r->url, hdrs, body, len, flags);
	if (rc == CURLE_OK && r->status == 401 && authenticate(t, r) == 0) {
		resp_clear(r);
		rc = attempt(t, r, method, r->url, hdrs, body, len, flags);
	}
	note_request(t, method, r->url, hdrs, len, flags);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		t->http->timeouts++;
	if (rc == CURLE_SEND_ERROR && r->status >= 400) {
		/* The server answered before taking the whole body and closed
		 * (RFC 9112 §9.6): the answer counts. */
		ct_note(t, "server closed while the body was sent");
	} else if (rc == CURLE_PARTIAL_FILE) {
		/* The reply is there but its framing is broken. */
		ct_fail(t,
			"%s %s -> %ld: body shorter than its "
			"Content-Length (RFC 9112 §6.3)",
			method, path_of(r->url), r->status);
	} else if (rc != CURLE_OK) {
		r->status = 0;
		ct_fail(t, "%s %s: %s", method, path_of(r->url),
			curl_easy_strerror(rc));
	}
	if (r->len && r->len < 400 && ct_is_text(r->body, r->len))
		ct_note(t, "< %ld %s", r->status, r->body);
	else if (r->len)
		ct_note(t, "< %ld (%zu bytes)", r->status, r->len);
	else
		ct_note(t, "< %ld", r->status);
	return r;
}

struct ct_resp *ct_get(struct ct *t, const char *url)
{
	return ct_do(t, "GET", url, NULL, NULL, 0, 0);
}

struct ct_resp *ct_head(struct ct *t, const char *url)
{
	return ct_do(t, "HEAD", url, NULL, NULL, 0, 0);
}

const char *ct_hdr(const struct ct_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		if (!strcasecmp(r->hdrs[i].name, name))
			return r->hdrs[i].value;
	return NULL;
}

const char *ct_hdr_all(struct ct *t, const struct ct_resp *r, const char *name)
{
	struct sbuf b = {0};

	for (size_t i = 0; i < r->nhdrs; i++) {
		if (strcasecmp(r->hdrs[i].name, name) != 0)
			continue;
		if (b.len)
			sbuf_adds(&b, ", ");
		sbuf_adds(&b, r->hdrs[i].value);
	}
	return b.p ? ct_keep(t, b.p, free) : NULL;
}

const char *ct_what(struct ct *t, const struct ct_resp *r)
{
	return ct_printf(t, "%s %s", r->method, path_of(r->url));
}

/* Resolves ref against base with libcurl's RFC 3986 resolver. */
static char *resolve(struct ct *t, const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *out = NULL, *ret = NULL;

	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
		ct_fail(t, "cannot resolve '%s' against %s", ref, base);
		goto out;
	}
	ret = ct_strdup(t, out);
out:
	curl_free(out);
	curl_url_cleanup(u);
	return ret;
}

char *ct_url(struct ct *t, const char *url)
{
	if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
		return ct_strdup(t, url);
	return ct_printf(t, "%s%s%s", t->cfg->base, *url == '/' ? "" : "/",
			 url);
}

char *ct_location(struct ct *t, const struct ct_resp *r)
{
	const char *loc = ct_hdr(r, "Location");

	if (!loc || !*loc) {
		ct_fail(t, "%s %s -> %ld: no Location header", r->method,
			path_of(r->url), r->status);
		return NULL;
	}
	return resolve(t, r->url, loc);
}

char *ct_link_next(struct ct *t, const struct ct_resp *r)
{
	for (size_t i = 0; i < r->nhdrs; i++) {
		const char *v = r->hdrs[i].value, *lt, *gt;

		if (strcasecmp(r->hdrs[i].name, "Link") != 0)
			continue;
		/* One header may list several links: <a>; rel="next", ... */
		for (lt = strchr(v, '<'); lt; lt = strchr(gt, '<')) {
			const char *params, *next;
			char *target;

			gt = strchr(lt, '>');
			if (!gt)
				break;
			params = gt + 1;
			next = strchr(params, '<');
			target = ct_printf(t, "%.*s", (int)(gt - lt - 1),
					   lt + 1);
			if (strstr(params, "rel=\"next\"") &&
			    (!next || strstr(params, "rel=\"next\"") < next))
				return resolve(t, r->url, target);
			if (strstr(params, "rel=next") &&
			    (!next || strstr(params, "rel=next") < next))
				return resolve(t, r->url, target);
		}
	}
	return NULL;
}

char *ct_url_param(struct ct *t, const char *url, const char *param)
{
	return ct_printf(t, "%s%c%s", url, strchr(url, '?') ? '&' : '?', param);
}

static bool in_list(const char *list, const char *item, size_t ilen)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, "|");

		if (n == ilen && !strncmp(p, item, n))
			return true;
		p += n;
		if (*p == '|')
			p++;
	}
	return false;
}

int ct_status(struct ct *t, const struct ct_resp *r, const char *statuses)
{
	char s[16];

	snprintf(s, sizeof(s), "%ld", r->status);
	if (in_list(statuses, s, strlen(s)))
		return 0;
	return ct_fail(t, "%s %s: expected %s, got %ld%s%.300s", r->method,
		       path_of(r->url), statuses, r->status, r->len ? " " : "",
		       !r->len			     ? ""
		       : ct_is_text(r->body, r->len) ? r->body
						     : "(binary body)");
}

static bool code_well_formed(const char *c)
{
	if (!*c)
		return false;
	for (; *c; c++)
		if (!(isupper((unsigned char)*c) || *c == '_'))
			return false;
	return true;
}

/* The 14 codes of §Error Codes, and the legacy ones the spec says clients
 * may meet (§Legacy Docker support error codes: "such as" TAG_INVALID and
 * MANIFEST_UNVERIFIED; PAGINATION_NUMBER_INVALID is distribution's for a
 * bad n). */
static const char *const spec_codes =
	"BLOB_UNKNOWN|BLOB_UPLOAD_INVALID|BLOB_UPLOAD_UNKNOWN|DIGEST_INVALID|"
	"MANIFEST_BLOB_UNKNOWN|MANIFEST_INVALID|MANIFEST_UNKNOWN|NAME_INVALID|"
	"NAME_UNKNOWN|SIZE_INVALID|UNAUTHORIZED|DENIED|UNSUPPORTED|"
	"TOOMANYREQUESTS|TAG_INVALID|MANIFEST_UNVERIFIED|"
	"PAGINATION_NUMBER_INVALID";

/* Checks {"errors":[{"code":..,"message":..,"detail":..},..]}. */
static int check_error_body(struct ct *t, const struct ct_resp *r,
			    const char *codes)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL), *errs, *e;
	size_t i;
	bool want_found = false;
	int ret = -1;

	ct_keep(t, j, (void (*)(void *))json_decref);
	errs = json_object_get(j, "errors");
	if (!json_is_array(errs) || json_array_size(errs) == 0) {
		ct_fail(t,
			"%s %s -> %ld: body is not a spec error "
			"({\"errors\":[...]}): %.200s",
			r->method, path_of(r->url), r->status, r->body);
		goto out;
	}
	json_array_foreach(errs, i, e) {
		const char *code =
			json_string_value(json_object_get(e, "code"));
		json_t *msg = json_object_get(e, "message");

		if (!code || !code_well_formed(code) ||
		    !in_list(spec_codes, code, strlen(code))) {
			ct_fail(t,
				"%s %s: error code '%s' is not one of "
				"§Error Codes",
				r->method, path_of(r->url),
				code ? code : "(missing)");
			goto out;
		}
		if (msg && !json_is_string(msg)) {
			ct_fail(t, "%s %s: error 'message' is not a string",
				r->method, path_of(r->url));
			goto out;
		}
		if (in_list(codes, code, strlen(code)))
			want_found = true;
	}
	if (!want_found) {
		ct_fail(t, "%s %s -> %ld: expected error code %s, got %.200s",
			r->method, path_of(r->url), r->status, codes, r->body);
		goto out;
	}
	ret = 0;
out:
	return ret;
}

int ct_error(struct ct *t, const struct ct_resp *r, const char *statuses,
	     const char *codes, bool body_optional)
{
	json_t *probe;

	if (ct_status(t, r, statuses) < 0)
		return -1;
	if (!strcmp(r->method, "HEAD"))
		return 0;
	probe = json_loadb(r->body, r->len, 0, NULL);
	if (!probe && body_optional)
		return 0;
	json_decref(probe);
	return check_error_body(t, r, codes);
}

json_t *ct_json(struct ct *t, const struct ct_resp *r)
{
	json_error_t err;
	json_t *j = json_loadb(r->body, r->len, 0, &err);

	if (!j) {
		ct_fail(t, "%s %s: body is not JSON (%s): %.200s", r->method,
			path_of(r->url), err.text, r->body);
		return NULL;
	}
	return ct_keep(t, j, (void (*)(void *))json_decref);
}

char *ct_dump(struct ct *t, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!s)
		abort();
	return ct_keep(t, s, free);
}

json_t *ct_jkeep(struct ct *t, json_t *j)
{
	if (!j) {
		fprintf(stderr, "conformance: json_pack failed\n");
		abort();
	}
	return ct_keep(t, j, (void (*)(void *))json_decref);
}

void ct_digest(const char *alg, const void *data, size_t len,
	       char out[CT_DIGEST_MAX])
{
	const EVP_MD *md = !strcmp(alg, "sha512") ? EVP_sha512() : EVP_sha256();
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	size_t off;

	if (!EVP_Digest(data, len, h, &hl, md, NULL))
		abort();
	off = (size_t)snprintf(out, CT_DIGEST_MAX, "%s:", alg);
	for (unsigned int i = 0; i < hl && off + 2 < CT_DIGEST_MAX; i++)
		off += (size_t)snprintf(out + off, CT_DIGEST_MAX - off, "%02x",
					h[i]);
}

char *ct_digest_s(struct ct *t, const char *alg, const void *data, size_t len)
{
	char d[CT_DIGEST_MAX];

	ct_digest(alg, data, len, d);
	return ct_strdup(t, d);
}

char *ct_digest_unknown(struct ct *t)
{
	return ct_digest_s(t, "sha256", ct_random(t, 32), 32);
}

bool ct_is_digest(const char *s)
{
	size_t n;

	if (!strncmp(s, "sha256:", 7))
		n = 64;
	else if (!strncmp(s, "sha512:", 7))
		n = 128;
	else
		return false;
	s += 7;
	if (strlen(s) != n)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}
