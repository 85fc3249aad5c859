/* upstream.c: the remotes, one transfer with the auth dance, and what an
 * upstream's failure becomes for our client. */
#include "registry/proxy/upstream_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/parse_int.h"
#include "common/banned.h"

#define UPS_USER_AGENT "customs-proxy/1"
#define UPS_CONNECT_S  15
/* A transfer slower than this many bytes/s for UPS_STALL_S fails: a
 * trickle must not hold a fetch thread for its whole deadline. */
#define UPS_STALL_BPS  1024
#define UPS_STALL_S    60
#define UPS_BUFFER     (256 * 1024)
#define UPS_MAX_REDIRS 5
/* Header bytes of one reply read at most (a header bomb is cut off). */
#define UPS_HEADERS_MAX (256 * 1024)

/* --- Remotes ------------------------------------------------------------- */

void ups_remote_release(struct ups_remote *r)
{
	if (!r)
		return;
	free(r->prefix);
	free(r->ns);
	free(r->url);
	free(r->host);
	free(r->username);
	free(r->password);
	free(r->ca);
	for (size_t i = 0; i < r->nallow; i++)
		free(r->allow[i]);
	free(r->allow);
	memset(r, 0, sizeof(*r));
}

/* Normalises url to scheme://host[:port] and fills r->url and r->host. */
static int ups_parse_url(const char *url, struct ups_remote *r, struct err *e)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *query = NULL, *frag = NULL, *user = NULL;
	CURLU *u = curl_url();
	int rc = -1;

	if (!u)
		return err_set(e, ERR_INTERNAL, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		err_set(e, ERR_INVALID, "'%.100s' is not a URL", url);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) {
		err_set(e, ERR_INVALID, "%s: only http and https upstreams",
			host);
		goto out;
	}
	/* As distribution's mirror recipe says: the root of a host. */
	if ((path && strcmp(path, "/") && *path) || query || frag) {
		err_set(e, ERR_INVALID,
			"%s: an upstream URL has no path, query or fragment",
			host);
		goto out;
	}
	if (user) {
		err_set(e, ERR_INVALID,
			"%s: credentials go in the config file's username and "
			"password, not in the URL",
			host);
		goto out;
	}
	r->host = port ? xasprintf("%s:%s", host, port) : xstrdup(host);
	r->url = xasprintf("%s://%s", scheme, r->host);
	for (char *p = r->url; *p != ':'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	r->docker_hub = !strcasecmp(host, "registry-1.docker.io") ||
			!strcasecmp(host, "index.docker.io") ||
			!strcasecmp(host, "docker.io");
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_free(frag);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

/* The length of a ":PORT" (1-65535) at the start of s, else 0. */
static size_t ups_port_len(const char *s, size_t len)
{
	size_t n = 1;
	long port = 0;

	if (!len || s[0] != ':')
		return 0;
	for (; n < len && n <= 5 && s[n] >= '0' && s[n] <= '9'; n++)
		port = port * 10 + (s[n] - '0');
	return n > 1 && port > 0 && port <= 65535 ? n : 0;
}

/* "docker.io/", "ghcr.io/team/": a repository name and a '/'.  A first
 * component may carry a port ("registry.local:5000/", the host containerd
 * names in ?ns=); our store keeps those names with '_' for the ':'
 * ("registry.local_5000/"), which no host name contains. */
static int ups_parse_prefix(const char *p, size_t len, struct ups_remote *r,
			    struct err *e)
{
	const char *slash = len ? memchr(p, '/', len) : NULL;
	const char *colon = slash ? memchr(p, ':', (size_t)(slash - p)) : NULL;
	char *local = xstrndup(p, len);
	size_t first = slash ? (size_t)(slash - p) : 0;

	if (colon) {
		if (colon == p ||
		    ups_port_len(colon, (size_t)(slash - colon)) !=
			    (size_t)(slash - colon))
			goto bad;
		local[colon - p] = '_';
	}
	if (len < 2 || p[len - 1] != '/' || !reg_name_valid(local, len - 1))
		goto bad;
	r->prefix = local;
	/* A one-component prefix is the source host ?ns= names. */
	if (first == len - 1)
		r->ns = xstrndup(p, len - 1);
	return 0;
bad:
	free(local);
	return err_set(e, ERR_INVALID,
		       "upstream prefix '%.*s' must be a repository name "
		       "and a '/' (docker.io/), its first component may have "
		       "a :PORT (registry.local:5000/)",
		       (int)(len > 100 ? 100 : len), p);
}

static int ups_json_str(json_t *o, const char *key, char **out, struct err *e)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return err_set(e, ERR_INVALID,
			       "upstream: '%s' must be a string", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* "redirect_allow": a host, or an array of them. */
static int ups_json_allow(json_t *o, struct ups_remote *r, struct err *e)
{
	json_t *v = json_object_get(o, "redirect_allow"), *it;
	size_t i;

	if (!v)
		return 0;
	if (json_is_string(v))
		return ups_remote_allow(r, json_string_value(v), e);
	if (!json_is_array(v))
		goto bad;
	json_array_foreach(v, i, it) {
		if (!json_is_string(it))
			goto bad;
		if (ups_remote_allow(r, json_string_value(it), e) < 0)
			return -1;
	}
	return 0;
bad:
	return err_set(e, ERR_INVALID,
		       "upstream: 'redirect_allow' must be a "
		       "host or an array of hosts");
}

static int ups_parse_object(const char *text, bool mirror, struct ups_remote *r,
			    struct err *e)
{
	static const char *const keys[] = {"prefix",   "url", "username",
					   "password", "ca",  "redirect_allow",
					   NULL};
	json_t *o = json_loads(text, 0, NULL), *v;
	char *url = NULL, *prefix = NULL;
	const char *key;
	int rc = -1;

	if (!json_is_object(o)) {
		err_set(e, ERR_INVALID, "upstream: not a JSON object");
		goto out;
	}
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], key); i++)
			;
		if (!keys[i] || (mirror && !strcmp(key, "prefix"))) {
			err_set(e, ERR_INVALID, "upstream: unknown key '%.40s'",
				key);
			goto out;
		}
	}
	if (ups_json_str(o, "url", &url, e) < 0 ||
	    ups_json_str(o, "prefix", &prefix, e) < 0 ||
	    ups_json_str(o, "username", &r->username, e) < 0 ||
	    ups_json_str(o, "password", &r->password, e) < 0 ||
	    ups_json_str(o, "ca", &r->ca, e) < 0 || ups_json_allow(o, r, e) < 0)
		goto out;
	if (!url || (!mirror && !prefix)) {
		err_set(e, ERR_INVALID, "upstream: needs %s",
			mirror ? "a url" : "a prefix and a url");
		goto out;
	}
	if (ups_parse_url(url, r, e) < 0)
		goto out;
	if (mirror)
		r->prefix = xstrdup("");
	else if (ups_parse_prefix(prefix, strlen(prefix), r, e) < 0)
		goto out;
	rc = 0;
out:
	free(url);
	free(prefix);
	json_decref(o);
	return rc;
}

int ups_remote_parse(const char *text, bool mirror, struct ups_remote *out,
		     struct err *e)
{
	struct ups_remote r = {0};
	const char *eq;

	if (text[0] == '{') {
		if (ups_parse_object(text, mirror, &r, e) < 0)
			goto fail;
	} else if (mirror) {
		r.prefix = xstrdup("");
		if (ups_parse_url(text, &r, e) < 0)
			goto fail;
	} else {
		eq = strchr(text, '=');
		if (!eq) {
			err_set(e, ERR_INVALID,
				"--upstream '%.100s': expected PREFIX=URL",
				text);
			goto fail;
		}
		if (ups_parse_prefix(text, (size_t)(eq - text), &r, e) < 0 ||
		    ups_parse_url(eq + 1, &r, e) < 0)
			goto fail;
	}
	if (!r.username != !r.password) {
		err_set(e, ERR_INVALID,
			"upstream %s: username and password "
			"go together",
			r.host);
		goto fail;
	}
	if (r.ca && access(r.ca, R_OK) < 0) {
		err_errno(e, ERR_INVALID, errno, "upstream %s: CA bundle %s",
			  r.host, r.ca);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	ups_remote_release(&r);
	return -1;
}

/* --- One transfer -----------------------------------------------------------
 */

void ups_xfer_init(struct ups_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->length = -1;
	buf_init(&x->body, 0);
}

void ups_xfer_release(struct ups_xfer *x)
{
	buf_release(&x->body);
}

/* What a new reply (a redirect's target, an auth retry) starts from. */
static void ups_xfer_reset(struct ups_xfer *x)
{
	x->status = 0;
	x->length = -1;
	x->digest[0] = x->ctype[0] = x->content_range[0] = '\0';
	x->retry_after[0] = x->www_auth[0] = '\0';
	buf_release(&x->body);
	buf_init(&x->body, 0);
}

struct ups_call {
	struct ups_conn *c;
	struct ups_xfer *x;
	bool too_large;
	bool err_cut;	  /* an error's body went on: we have its start */
	size_t hdr_bytes; /* of the reply being read */
	bool hdr_bomb;	  /* ... went over UPS_HEADERS_MAX */
};

static void ups_hdr_copy(char *out, size_t n, const char *v, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static int ups_start(struct ups_xfer *x)
{
	x->started = true;
	if (x->on_start && x->on_start(x->arg, x) < 0) {
		x->sink_failed = true;
		return -1;
	}
	return 0;
}

static size_t ups_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct ups_call *call = arg;
	struct ups_xfer *x = call->x;
	size_t len = size * n, nl, vl;
	const char *colon, *v;

	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		ups_xfer_reset(x);
		call->hdr_bytes = 0;
	}
	call->hdr_bytes += len;
	if (call->hdr_bytes > UPS_HEADERS_MAX) {
		call->hdr_bomb = true;
		return 0;
	}
	if (len >= 5 && !strncmp(p, "HTTP/", 5))
		return len;
	if (len <= 2 && x->sink && !x->head && !x->started) {
		long status = 0;

		/* The end of a 2xx's headers: the receiver may refuse it on
		 * them before a byte of the body comes (or does not). */
		curl_easy_getinfo(call->c->curl, CURLINFO_RESPONSE_CODE,
				  &status);
		x->status = status;
		if (status / 100 == 2 && ups_start(x) < 0)
			return 0;
		return len;
	}
	colon = memchr(p, ':', len);
	if (!colon)
		return len;
	nl = (size_t)(colon - p);
	v = colon + 1;
	vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl &&
	       (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
#define IS(name) (nl == sizeof(name) - 1 && !strncasecmp(p, name, nl))
	if (IS("Content-Length")) {
		char num[32];

		long status = 0;

		ups_hdr_copy(num, sizeof(num), v, vl);
		x->length = strtoll(num, NULL, 10);
		curl_easy_getinfo(call->c->curl, CURLINFO_RESPONSE_CODE,
				  &status);
		/* Refused before a byte of it is read. */
		if (status / 100 == 2 && !x->sink && !x->head &&
		    x->length > 0 && (uint64_t)x->length > x->max_body) {
			call->too_large = true;
			return 0;
		}
	} else if (IS("Docker-Content-Digest")) {
		ups_hdr_copy(x->digest, sizeof(x->digest), v, vl);
	} else if (IS("Content-Type")) {
		ups_hdr_copy(x->ctype, sizeof(x->ctype), v, vl);
	} else if (IS("Content-Range")) {
		ups_hdr_copy(x->content_range, sizeof(x->content_range), v, vl);
	} else if (IS("Retry-After")) {
		ups_hdr_copy(x->retry_after, sizeof(x->retry_after), v, vl);
	} else if (IS("WWW-Authenticate") && !x->www_auth[0]) {
		ups_hdr_copy(x->www_auth, sizeof(x->www_auth), v, vl);
	}
#undef IS
	return len;
}

static size_t ups_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct ups_call *call = arg;
	struct ups_xfer *x = call->x;
	size_t len = size * n, cap;
	long status = 0;

	curl_easy_getinfo(call->c->curl, CURLINFO_RESPONSE_CODE, &status);
	x->status = status;
	if (status / 100 == 2 && x->sink) {
		if (!x->started && ups_start(x) < 0)
			return 0;
		if (x->sink(x->arg, p, len) < 0) {
			x->sink_failed = true;
			return 0;
		}
		atomic_fetch_add_explicit(&call->c->u->n_bytes, len,
					  memory_order_relaxed);
		return len;
	}
	if (status / 100 == 2)
		atomic_fetch_add_explicit(&call->c->u->n_bytes, len,
					  memory_order_relaxed);
	cap = status / 100 == 2 ? x->max_body : UPS_ERR_BODY_MAX;
	if (x->body.len + len > cap) {
		/* The start of an error is enough; the rest is not read. */
		if (status / 100 != 2)
			call->err_cut = true;
		else
			call->too_large = true;
		return 0;
	}
	if (buf_add(&x->body, p, len) < 0)
		return 0;
	return len;
}

void ups_conn_setup(struct ups_conn *c, const struct ups_remote *r,
		    enum ups_hop hop)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_SHARE, c->u->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, UPS_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* Redirects are ours to follow (ups_perform), each one checked. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)UPS_CONNECT_S);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)UPS_STALL_BPS);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)UPS_STALL_S);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)UPS_BUFFER);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, ups_xferinfo);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c->u);
	if (r && r->ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, r->ca);
	if (r)
		ups_guard_setup(c, r, hop);
	c->errbuf[0] = '\0';
}

static int64_t ups_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool ups_is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	       status == 307 || status == 308;
}

/* Why curl failed, as the metrics count it. */
static enum ups_fail ups_curl_fail(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return UPS_FAIL_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return UPS_FAIL_CONNECT;
	default:
		return UPS_FAIL_TRANSFER;
	}
}

/* One request of a transfer: to url, which is hop to r.  Our auth goes
 * only to r's own origin.  0 when it got a reply. */
static int ups_request(struct ups_conn *c, const struct ups_remote *r,
		       struct ups_xfer *x, const char *url, enum ups_hop hop,
		       const char *auth, bool basic, int64_t deadline,
		       struct err *e)
{
	struct ups_call call = {c, x, false, false, 0, false};
	struct curl_slist *hdrs = NULL;
	int64_t left = deadline - ups_now_ms();
	CURL *curl = c->curl;
	char *h, host[300];
	CURLcode rc;
	int ret = -1;

	if (left <= 0) {
		c->fail = UPS_FAIL_TIMEOUT;
		return err_set(e, ERR_UPSTREAM,
			       "upstream %s: no reply within the deadline",
			       r->host);
	}
	ups_conn_setup(c, r, hop);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(curl, CURLOPT_NOBODY, x->head ? 1L : 0L);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ups_header_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &call);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ups_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &call);
	if (x->accept) {
		h = xasprintf("Accept: %s", x->accept);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	if (x->range) {
		h = xasprintf("Range: %s", x->range);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	/* A redirect to a CDN does not carry the token or the password. */
	if (auth && hop == UPS_HOP_ORIGIN)
		hdrs = curl_slist_append(hdrs, auth);
	if (basic && r->username && hop == UPS_HOP_ORIGIN) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, r->password);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	x->started = false;
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (rc == CURLE_WRITE_ERROR && call.err_cut)
		rc = CURLE_OK;
	if (rc == CURLE_OK && x->status / 100 == 2 && x->sink && !x->started &&
	    !x->head && ups_start(x) < 0)
		rc = CURLE_WRITE_ERROR;
	if (rc == CURLE_OK) {
		ret = 0;
	} else if (c->refused) {
		c->fail = UPS_FAIL_REFUSED;
		ups_guard_error(c, r, url, e);
	} else if (x->sink_failed) {
		/* The receiver has its own reason; this is for the log. */
		err_set(e, ERR_IO,
			"upstream %s: transfer stopped by its "
			"receiver",
			r->host);
	} else if (call.hdr_bomb) {
		c->fail = UPS_FAIL_TOO_LARGE;
		err_set(e, ERR_UPSTREAM,
			"upstream %s: reply headers over %d bytes", r->host,
			UPS_HEADERS_MAX);
	} else if (call.too_large) {
		c->fail = UPS_FAIL_TOO_LARGE;
		err_set(e, ERR_TOO_LARGE,
			"upstream %s: reply larger than %zu bytes", r->host,
			x->max_body);
	} else if (atomic_load(&c->u->cancel)) {
		err_set(e, ERR_UPSTREAM,
			"upstream %s: the registry is stopping", r->host);
	} else {
		c->fail = ups_curl_fail(rc);
		if (hop != UPS_HOP_ORIGIN)
			ups_url_host(url, host, sizeof(host));
		err_set(e, ERR_UPSTREAM, "upstream %s%s%s: %s", r->host,
			hop != UPS_HOP_ORIGIN ? " via " : "",
			hop != UPS_HOP_ORIGIN ? host : "",
			c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	}
	/* Nothing of ours may outlive the call in the handle. */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	return ret;
}

/* A transfer: the request to r, and the redirects r may send us on. */
static int ups_perform(struct ups_conn *c, const struct ups_remote *r,
		       struct ups_xfer *x, const char *auth, bool basic,
		       struct err *e)
{
	int64_t timeout = x->sink ? c->u->timeout_s
			  : c->u->timeout_s < UPS_SMALL_TIMEOUT_S
				  ? c->u->timeout_s
				  : UPS_SMALL_TIMEOUT_S;
	int64_t deadline = ups_now_ms() + timeout * 1000;
	char *url = xasprintf("%s%s", r->url, x->path), *loc = NULL;
	enum ups_hop hop = UPS_HOP_ORIGIN;
	char host[300];
	int ret = -1;

	ups_guard_begin(c);
	for (int hops = 0;; hops++) {
		if (ups_request(c, r, x, url, hop, auth, basic, deadline, e) <
		    0)
			goto out;
		if (!ups_is_redirect(x->status))
			break;
		loc = NULL;
		curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &loc);
		if (!loc)
			break; /* a 3xx without a Location is the reply */
		if (hops == UPS_MAX_REDIRS) {
			c->fail = UPS_FAIL_REFUSED;
			err_set(e, ERR_UPSTREAM,
				"upstream %s: more than %d redirects", r->host,
				UPS_MAX_REDIRS);
			goto out;
		}
		hop = ups_hop_of(r, loc);
		if (hop == UPS_HOP_REFUSED) {
			c->fail = UPS_FAIL_REFUSED;
			ups_url_host(loc, host, sizeof(host));
			err_set(e, ERR_UPSTREAM,
				"upstream %s: refused to follow its redirect "
				"to %s (not its own host, not https, not in "
				"its redirect allow list)",
				r->host, host);
			goto out;
		}
		free(url);
		url = xstrdup(loc);
	}
	ret = 0;
out:
	free(url);
	return ret;
}

/* What a transfer's end counts: its failure, or a reply we did not want
 * (a 404 is an answer; 2xx and 3xx are what was asked for). */
static void ups_count(struct ups_conn *c, const struct ups_xfer *x, int ret)
{
	enum ups_fail k = c->fail;

	atomic_fetch_add_explicit(&c->u->n_transfers, 1, memory_order_relaxed);
	if (ret == 0)
		k = x->status == 401 || x->status == 403 ? UPS_FAIL_DENIED
		    : x->status == 429			 ? UPS_FAIL_RATE_LIMITED
		    : x->status >= 500			 ? UPS_FAIL_SERVER
		    : x->status >= 400 && x->status != 404 ? UPS_FAIL_STATUS
							   : UPS_FAIL_NONE;
	if (k != UPS_FAIL_NONE)
		ups_note_fail(c->u, k);
}

int ups_do(struct ups_conn *c, const struct ups_remote *r, struct ups_xfer *x,
	   struct err *e)
{
	struct ups_challenge ch;
	char *scope = xasprintf("repository:%s:pull", x->repo), *auth = NULL;
	bool basic;
	int ret = -1;

	c->fail = UPS_FAIL_NONE;

	for (int attempt = 0; attempt < 2; attempt++) {
		free(auth);
		auth = ups_token_header(c->u, r, scope);
		basic = !auth && ups_wants_basic(c->u, r);
		if (ups_perform(c, r, x, auth, basic, e) < 0)
			goto out;
		if (x->status != 401 || attempt > 0 ||
		    ups_parse_challenge(x->www_auth, &ch) < 0)
			break;
		if (ch.scheme == UPS_AUTH_BASIC) {
			if (!r->username || basic)
				break;
			ups_note_basic(c->u, r);
			continue;
		}
		if (auth)
			ups_token_drop(c->u, r, scope);
		if (ups_token_fetch(c, r, &ch, scope, e) < 0) {
			if (c->fail == UPS_FAIL_NONE)
				c->fail = UPS_FAIL_AUTH;
			goto out;
		}
	}
	ret = 0;
out:
	ups_count(c, x, ret);
	free(auth);
	free(scope);
	return ret;
}

const char *ups_fail_name(enum ups_fail k)
{
	static const char *const names[UPS_NFAILS] = {
		[UPS_FAIL_CONNECT] = "connect",
		[UPS_FAIL_TIMEOUT] = "timeout",
		[UPS_FAIL_TRANSFER] = "transfer",
		[UPS_FAIL_REFUSED] = "refused",
		[UPS_FAIL_TOO_LARGE] = "too_large",
		[UPS_FAIL_AUTH] = "auth",
		[UPS_FAIL_DENIED] = "denied",
		[UPS_FAIL_RATE_LIMITED] = "rate_limited",
		[UPS_FAIL_SERVER] = "server_error",
		[UPS_FAIL_STATUS] = "status",
		[UPS_FAIL_CONTENT] = "content",
	};

	return (unsigned)k < UPS_NFAILS ? names[k] : "none";
}

void ups_note_fail(struct ups *u, enum ups_fail k)
{
	if (u && (unsigned)k < UPS_NFAILS)
		atomic_fetch_add_explicit(&u->n_fails[k], 1,
					  memory_order_relaxed);
}

void ups_stats(struct ups *u, struct ups_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!u)
		return;
	out->transfers =
		atomic_load_explicit(&u->n_transfers, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&u->n_bytes, memory_order_relaxed);
	for (size_t i = 0; i < UPS_NFAILS; i++)
		out->fails[i] = atomic_load_explicit(&u->n_fails[i],
						     memory_order_relaxed);
}

/* --- Errors ------------------------------------------------------------------
 */

/* The upstream's own error code and message, if its body has them. */
static void ups_error_body(const struct ups_xfer *x, char *code, size_t cn,
			   char *msg, size_t mn)
{
	json_t *root = json_loadb(x->body.buf, x->body.len, 0, NULL);
	json_t *first = json_array_get(json_object_get(root, "errors"), 0);
	const char *c = json_string_value(json_object_get(first, "code"));
	const char *m = json_string_value(json_object_get(first, "message"));

	snprintf(code, cn, "%s", c ? c : "");
	snprintf(msg, mn, "%s", m ? m : "");
	json_decref(root);
}

int ups_error(const struct ups_remote *r, const struct ups_xfer *x,
	      enum err_code notfound, struct err *e)
{
	char code[64], msg[160];

	ups_error_body(x, code, sizeof(code), msg, sizeof(msg));
	if (!msg[0])
		snprintf(msg, sizeof(msg), "HTTP %ld", x->status);
	switch (x->status) {
	case 404:
		if (!strcmp(code, "BLOB_UNKNOWN"))
			notfound = ERR_BLOB_UNKNOWN;
		else if (!strcmp(code, "MANIFEST_UNKNOWN"))
			notfound = ERR_MANIFEST_UNKNOWN;
		else if (!strcmp(code, "NAME_UNKNOWN"))
			notfound = ERR_NAME_UNKNOWN;
		return err_set(e, notfound, "upstream %s: %s", r->host, msg);
	case 401:
	case 403:
		return err_set(e, ERR_DENIED,
			       "upstream %s refused access (%ld): %s", r->host,
			       x->status, msg);
	case 429:
		return err_set(e, ERR_TOOMANYREQUESTS,
			       "upstream %s: too many requests%s%s", r->host,
			       x->retry_after[0] ? "; retry after " : "",
			       x->retry_after);
	default:
		return err_set(e, ERR_UPSTREAM, "upstream %s replied %ld: %s",
			       r->host, x->status, msg);
	}
}
