/* s3.c: the S3 client of s3_int.h on libcurl (see there for why not
 * libs3).
 *
 * One request shape: a method, a key and a sorted, encoded query; a body
 * from memory or from a range of an fd; a response to memory (bounded), to
 * an fd or to a callback.  curl signs it with SigV4; we send the payload's
 * sha256 (S3 checks it) or UNSIGNED-PAYLOAD.  Failures that may pass (a
 * network error, 5xx, 429) are tried again while nothing was delivered.
 */
#include "storage/s3_int.h"
#include "common/digest.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

/* Idle curl handles kept (each keeps its connection). */
#define S3_POOL_MAX 16
/* Bodies parsed as XML (listings, errors) are read this far. */
#define S3_XML_MAX     ((size_t)8 << 20)
#define S3_ERRBODY_MAX ((size_t)64 << 10)
#define S3_TRIES       3
#define S3_EMPTY_SHA256                                                        \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
	char *base;   /* scheme://host[:port] (with bucket. when virtual) */
	char *bucket; /* path-style: the first path segment */
	char *sigv4;  /* aws:amz:REGION:s3 */
	char *region;
	char *userpwd;
	char *ca_file;
	bool virtual_host;
	pthread_mutex_t lock;
	CURL *pool[S3_POOL_MAX];
	size_t npool;
};

struct s3_req {
	const char *method;
	const char *key; /* NULL: the bucket itself */
	const char *query;
	const void *data; /* body from memory ... */
	size_t len;
	int in_fd; /* ... or from in_fd (>= 0) */
	int64_t in_off, in_len;
	const char *sha256_hex; /* NULL: UNSIGNED-PAYLOAD */
	const char *header;	/* one extra header line, or NULL */
	const char *header2;	/* another, or NULL */
	char *presigned;	/* the URL, signed in its query (not by curl) */
	const char *range;
	struct buf *out; /* response body to memory (capped), ... */
	int out_fd;	 /* ... to an fd (>= 0), ... */
	s3_data_fn fn;	 /* ... or to fn */
	void *arg;
	/* Filled in. */
	long status;
	int64_t size, mtime, got;
	char etag[160];
	/* Private. */
	int64_t sent;
	struct buf errbody;
	struct err cb_err;
};

static pthread_once_t s3_once = PTHREAD_ONCE_INIT;

static void s3_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

int s3_encode(struct buf *out, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3] = {'%', 0, 0};
	unsigned char c;

	for (; *s; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (keep_slash && c == '/')) {
			if (buf_add(out, s, 1) < 0)
				return -1;
			continue;
		}
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		if (buf_add(out, esc, 3) < 0)
			return -1;
	}
	return 0;
}

struct s3 *s3_new(const struct s3_cfg *cfg, struct err *e)
{
	const char *ep = cfg->endpoint, *host;
	size_t schemelen;
	struct s3 *s;

	pthread_once(&s3_once, s3_global_init);
	if (!ep || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))) {
		err_set(e, ERR_INVALID, "S3 endpoint %s: want http(s)://host",
			ep ? ep : "(none)");
		return NULL;
	}
	if (!cfg->bucket || !*cfg->bucket || strchr(cfg->bucket, '/')) {
		err_set(e, ERR_INVALID, "S3 bucket missing or malformed");
		return NULL;
	}
	if (!cfg->access_key || !cfg->secret_key) {
		err_set(e, ERR_INVALID,
			"S3 credentials missing (AWS_ACCESS_KEY_ID and "
			"AWS_SECRET_ACCESS_KEY, or the config file)");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	schemelen = (size_t)(strstr(ep, "://") - ep) + 3;
	host = ep + schemelen;
	if (cfg->virtual_host)
		s->base = xasprintf("%.*s%s.%s", (int)schemelen, ep,
				    cfg->bucket, host);
	else
		s->base = xstrdup(ep);
	/* No trailing slash: paths are appended with theirs. */
	while (*s->base && s->base[strlen(s->base) - 1] == '/')
		s->base[strlen(s->base) - 1] = '\0';
	s->bucket = xstrdup(cfg->bucket);
	s->region = xstrdup(cfg->region ? cfg->region : "us-east-1");
	s->sigv4 = xasprintf("aws:amz:%s:s3", s->region);
	s->userpwd = xasprintf("%s:%s", cfg->access_key, cfg->secret_key);
	s->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
	s->virtual_host = cfg->virtual_host;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void s3_free(struct s3 *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	pthread_mutex_destroy(&s->lock);
	free(s->base);
	free(s->bucket);
	free(s->sigv4);
	free(s->region);
	/* The secret should not linger in freed memory. */
	explicit_bzero(s->userpwd, strlen(s->userpwd));
	free(s->userpwd);
	free(s->ca_file);
	free(s);
}

/* --- Presigned URLs --------------------------------------------------------
 *
 * SigV4 in the query (AWS's "Authenticating Requests: Using Query
 * Parameters"): curl signs only the requests it sends itself. */

static void s3_hmac(const void *key, size_t klen, const char *msg,
		    unsigned char out[32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = sizeof(md);

	/* Into md first: out may be key. */
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
	     strlen(msg), md, &n);
	memcpy(out, md, 32);
	explicit_bzero(md, sizeof(md));
}

/* The presigned URL of method on key with query (sorted, encoded, its
 * names after "X-Amz-": lower-case; or NULL) and headers hdrs[0..n)
 * ("name:value", names lower-case, sorted by name) signed besides host. */
static char *s3_presign_req(struct s3 *s, const char *method, const char *key,
			    const char *query, const char *const *hdrs,
			    size_t n, int64_t expires_s, time_t now)
{
	struct buf path = BUF_INIT, q = BUF_INIT, canon = BUF_INIT;
	struct buf names = BUF_INIT, vals = BUF_INIT;
	char date[9], stamp[17], *cred, *sts, *url, sig[65];
	const char *host = strstr(s->base, "://") + 3;
	size_t aklen = strcspn(s->userpwd, ":");
	unsigned char k[32];
	struct digest h;
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (!s->virtual_host) {
		buf_adds(&path, "/");
		s3_encode(&path, s->bucket, false);
	}
	buf_adds(&path, "/");
	s3_encode(&path, key, true);
	/* host sorts before every x-amz-* header. */
	buf_addf(&vals, "host:%s\n", host);
	buf_adds(&names, "host");
	for (size_t i = 0; i < n; i++) {
		buf_addf(&vals, "%s\n", hdrs[i]);
		buf_addf(&names, ";%.*s", (int)strcspn(hdrs[i], ":"), hdrs[i]);
	}
	cred = xasprintf("%.*s/%s/%s/s3/aws4_request", (int)aklen, s->userpwd,
			 date, s->region);
	/* Parameters sorted by name, as the canonical query wants them. */
	buf_adds(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
	s3_encode(&q, cred, false);
	buf_addf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%lld&X-Amz-SignedHeaders=",
		 stamp, (long long)expires_s);
	s3_encode(&q, names.buf, false);
	if (query)
		buf_addf(&q, "&%s", query);
	buf_addf(&canon, "%s\n%s\n%s\n%s\n%s\nUNSIGNED-PAYLOAD", method,
		 path.buf, q.buf, vals.buf, names.buf);
	digest_of(DIGEST_SHA256, canon.buf, canon.len, &h);
	sts = xasprintf("AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
			stamp, date, s->region, h.hex);
	{
		/* "AWS4" + secret, then date, region, service, terminator. */
		char *k0 = xasprintf("AWS4%s", s->userpwd + aklen + 1);

		s3_hmac(k0, strlen(k0), date, k);
		explicit_bzero(k0, strlen(k0));
		free(k0);
	}
	s3_hmac(k, sizeof(k), s->region, k);
	s3_hmac(k, sizeof(k), "s3", k);
	s3_hmac(k, sizeof(k), "aws4_request", k);
	s3_hmac(k, sizeof(k), sts, k);
	for (size_t i = 0; i < sizeof(k); i++)
		snprintf(sig + 2 * i, 3, "%02x", k[i]);
	url = xasprintf("%s%s?%s&X-Amz-Signature=%s", s->base, path.buf, q.buf,
			sig);
	explicit_bzero(k, sizeof(k));
	free(cred);
	free(sts);
	buf_release(&path);
	buf_release(&q);
	buf_release(&canon);
	buf_release(&names);
	buf_release(&vals);
	return url;
}

char *s3_presign(struct s3 *s, const char *method, const char *key,
		 int64_t expires_s, time_t now)
{
	return s3_presign_req(s, method, key, NULL, NULL, 0, expires_s, now);
}

static CURL *s3_handle_take(struct s3 *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->npool)
		h = s->pool[--s->npool];
	pthread_mutex_unlock(&s->lock);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

static void s3_handle_give(struct s3 *s, CURL *h)
{
	pthread_mutex_lock(&s->lock);
	if (s->npool < S3_POOL_MAX) {
		s->pool[s->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (h)
		curl_easy_cleanup(h);
}

/* The request's URL: base, then /bucket (path-style), then /key. */
static char *s3_url(struct s3 *s, const struct s3_req *r)
{
	struct buf u = BUF_INIT;

	buf_adds(&u, s->base);
	if (!s->virtual_host) {
		buf_adds(&u, "/");
		s3_encode(&u, s->bucket, false);
	}
	if (r->key) {
		buf_adds(&u, "/");
		s3_encode(&u, r->key, true);
	} else if (s->virtual_host) {
		buf_adds(&u, "/");
	}
	if (r->query) {
		buf_adds(&u, "?");
		buf_adds(&u, r->query);
	}
	return buf_detach(&u, NULL);
}

static size_t s3_read_cb(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t want = size * n, left;
	ssize_t got;

	if (r->in_fd < 0) {
		left = r->len - (size_t)r->sent;
		if (want > left)
			want = left;
		memcpy(p, (const char *)r->data + r->sent, want);
		r->sent += (int64_t)want;
		return want;
	}
	left = (size_t)(r->in_len - r->sent);
	if (want > left)
		want = left;
	if (!want)
		return 0;
	got = fdio_pread_all(r->in_fd, p, want, (off_t)(r->in_off + r->sent));
	if (got <= 0) {
		err_errno(&r->cb_err, ERR_IO, got < 0 ? errno : EIO,
			  "reading the body of S3 %s %s", r->method, r->key);
		return CURL_READFUNC_ABORT;
	}
	r->sent += got;
	return (size_t)got;
}

static size_t s3_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n;

	if (r->status < 200 || r->status >= 300) {
		/* An error's body: kept (capped) for its <Code>. */
		if (r->errbody.len + len <= S3_ERRBODY_MAX)
			buf_add(&r->errbody, p, len);
		return len;
	}
	if (r->out) {
		if (buf_add(r->out, p, len) < 0) {
			err_set(&r->cb_err, ERR_IO,
				"S3 response to %s %s is too large", r->method,
				r->key ? r->key : "");
			return 0;
		}
	} else if (r->out_fd >= 0) {
		if (fdio_write_all(r->out_fd, p, len) < 0) {
			err_errno(&r->cb_err, ERR_IO, errno,
				  "writing an S3 object out");
			return 0;
		}
	} else if (r->fn) {
		if (r->fn(r->arg, p, len, &r->cb_err) < 0)
			return 0;
	}
	r->got += (int64_t)len;
	return len;
}

static size_t s3_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n, vl;
	const char *v;

	/* The status line: the write callback must know it. */
	if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		v = memchr(p, ' ', len);
		r->status = v ? strtol(v + 1, NULL, 10) : 0;
		buf_reset(&r->errbody);
		return len;
	}
	if (len > 5 && !strncasecmp(p, "etag:", 5)) {
		v = p + 5;
		vl = len - 5;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
			      v[vl - 1] == ' '))
			vl--;
		if (vl < sizeof(r->etag)) {
			memcpy(r->etag, v, vl);
			r->etag[vl] = '\0';
		}
	}
	return len;
}

/* --- XML ------------------------------------------------------------------ */

static xmlDocPtr s3_xml(const struct buf *b)
{
	if (!b->len || b->len > S3_XML_MAX)
		return NULL;
	/* No network, no entity expansion beyond the predefined ones. */
	return xmlReadMemory(b->buf, (int)b->len, NULL, NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR |
				     XML_PARSE_NOWARNING);
}

static xmlNodePtr s3_xml_child(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

static xmlNodePtr s3_xml_next(xmlNodePtr n, const char *name)
{
	for (n = n->next; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

/* The text of child `name` of n (caller frees), or NULL. */
static char *s3_xml_text(xmlNodePtr n, const char *name)
{
	xmlChar *t;
	char *s;

	n = s3_xml_child(n, name);
	if (!n)
		return NULL;
	t = xmlNodeGetContent(n);
	s = xstrdup(t ? (const char *)t : "");
	xmlFree(t);
	return s;
}

/* An S3 error document's code and message, into e. */
static int s3_fail(const struct s3_req *r, const struct buf *body,
		   struct err *e)
{
	xmlDocPtr doc = s3_xml(body);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *code = root ? s3_xml_text(root, "Code") : NULL;
	char *msg = root ? s3_xml_text(root, "Message") : NULL;
	enum err_code ec = ERR_IO;

	if (r->status == 404 || (code && (!strcmp(code, "NoSuchKey") ||
					  !strcmp(code, "NoSuchUpload"))))
		ec = ERR_NOT_FOUND;
	err_set(e, ec, "S3 %s %s: HTTP %ld%s%s%s%s", r->method,
		r->key ? r->key : "(bucket)", r->status, code ? " " : "",
		code ? code : "", msg && *msg ? ": " : "", msg ? msg : "");
	free(code);
	free(msg);
	if (doc)
		xmlFreeDoc(doc);
	return -1;
}

/* --- Requests --------------------------------------------------------------
 */

static bool s3_passing(CURLcode rc, long status)
{
	if (rc != CURLE_OK)
		return rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
		       rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
		       rc == CURLE_PARTIAL_FILE ||
		       rc == CURLE_OPERATION_TIMEDOUT;
	return status >= 500 || status == 429;
}

static int s3_do(struct s3 *s, struct s3_req *r, struct err *e)
{
	struct curl_slist *hdrs = NULL;
	char *url = r->presigned ? xstrdup(r->presigned) : s3_url(s, r), *line;
	CURL *h = s3_handle_take(s);
	curl_off_t cl = -1;
	CURLcode rc = CURLE_OK;
	int ret = -1, tries;
	long ft = -1;

	buf_init(&r->errbody, 0);
	if (!h) {
		err_set(e, ERR_INTERNAL, "no curl handle");
		goto out;
	}
	/* A presigned request sends only the headers it signed. */
	if (!r->presigned) {
		line = xasprintf("x-amz-content-sha256: %s",
				 r->sha256_hex ? r->sha256_hex
					       : "UNSIGNED-PAYLOAD");
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	/* (No "Expect:" to drop 100-continue: curl would sign the header it
	 * then leaves out.) */
	if (r->header)
		hdrs = curl_slist_append(hdrs, r->header);
	if (r->header2)
		hdrs = curl_slist_append(hdrs, r->header2);
	for (tries = 0; tries < S3_TRIES; tries++) {
		if (tries) {
			sleep((unsigned)tries);
			curl_easy_reset(h);
		}
		r->status = 0;
		r->sent = 0;
		r->etag[0] = '\0';
		buf_reset(&r->errbody);
		if (r->out)
			buf_reset(r->out);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4,
				 r->presigned ? NULL : s->sigv4);
		curl_easy_setopt(h, CURLOPT_USERPWD,
				 r->presigned ? NULL : s->userpwd);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
		/* Stalled below 1 KiB/s for a minute: cut. */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
		if (s->ca_file)
			curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_write_cb);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_header_cb);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
		if (r->range)
			curl_easy_setopt(h, CURLOPT_RANGE, r->range);
		if (!strcmp(r->method, "HEAD")) {
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		} else if (!strcmp(r->method, "PUT")) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_read_cb);
			curl_easy_setopt(h, CURLOPT_READDATA, r);
			curl_easy_setopt(
				h, CURLOPT_INFILESIZE_LARGE,
				(curl_off_t)(r->in_fd >= 0 ? r->in_len
							   : (int64_t)r->len));
		} else if (!strcmp(r->method, "POST")) {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS,
					 r->data ? r->data : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)r->len);
		} else if (strcmp(r->method, "GET")) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
		}
		rc = curl_easy_perform(h);
		if (r->cb_err.code != ERR_OK) {
			err_set(e, r->cb_err.code, "%s", r->cb_err.msg);
			goto out;
		}
		if (!s3_passing(rc, r->status) || r->got)
			break;
		log_msg(LL_WARN, "S3 %s %s: %s; trying again", r->method,
			r->key ? r->key : "(bucket)",
			rc ? curl_easy_strerror(rc) : "server error");
	}
	if (rc != CURLE_OK) {
		err_set(e, ERR_IO, "S3 %s %s: %s", r->method,
			r->key ? r->key : "(bucket)", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status < 200 || r->status >= 300) {
		s3_fail(r, &r->errbody, e);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	curl_easy_getinfo(h, CURLINFO_FILETIME, &ft);
	r->size = cl;
	r->mtime = ft;
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	if (h)
		s3_handle_give(s, h);
	buf_release(&r->errbody);
	free(url);
	return ret;
}

static void s3_req_init(struct s3_req *r, const char *method, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->key = key;
	r->in_fd = -1;
	r->out_fd = -1;
	r->sha256_hex = S3_EMPTY_SHA256;
	r->cb_err.code = ERR_OK;
}

/* A 200 whose body is an <Error> (copy, complete) failed all the same. */
static int s3_body_error(struct s3_req *r, const struct buf *body,
			 struct err *e)
{
	xmlDocPtr doc = s3_xml(body);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	bool bad = root && !strcmp((const char *)root->name, "Error");

	if (doc)
		xmlFreeDoc(doc);
	if (!bad)
		return 0;
	r->status = 500;
	return s3_fail(r, body, e);
}

int s3_head(struct s3 *s, const char *key, int64_t *size, int64_t *mtime,
	    struct err *e)
{
	struct s3_req r;

	s3_req_init(&r, "HEAD", key);
	if (s3_do(s, &r, e) < 0)
		return -1;
	if (size)
		*size = r.size;
	if (mtime)
		*mtime = r.mtime;
	return 0;
}

int s3_get_fd(struct s3 *s, const char *key, int64_t off, int64_t len, int fd,
	      int64_t *got, struct err *e)
{
	char range[64];
	struct s3_req r;
	int ret;

	s3_req_init(&r, "GET", key);
	r.out_fd = fd;
	if (off > 0 || len >= 0) {
		if (len >= 0)
			snprintf(range, sizeof(range), "%lld-%lld",
				 (long long)off, (long long)(off + len - 1));
		else
			snprintf(range, sizeof(range), "%lld-", (long long)off);
		r.range = range;
	}
	ret = s3_do(s, &r, e);
	if (got)
		*got = r.got;
	return ret;
}

int s3_get_cb(struct s3 *s, const char *key, s3_data_fn fn, void *arg,
	      struct err *e)
{
	struct s3_req r;

	s3_req_init(&r, "GET", key);
	r.fn = fn;
	r.arg = arg;
	return s3_do(s, &r, e);
}

int s3_put(struct s3 *s, const char *key, const void *data, size_t len,
	   struct err *e)
{
	struct digest d;
	struct s3_req r;

	digest_of(DIGEST_SHA256, data, len, &d);
	s3_req_init(&r, "PUT", key);
	r.data = data;
	r.len = len;
	r.sha256_hex = d.hex;
	return s3_do(s, &r, e);
}

int s3_put_fd(struct s3 *s, const char *key, int fd, int64_t off, int64_t len,
	      const char *sha256_hex, struct err *e)
{
	struct s3_req r;

	s3_req_init(&r, "PUT", key);
	r.in_fd = fd;
	r.in_off = off;
	r.in_len = len;
	r.sha256_hex = sha256_hex;
	return s3_do(s, &r, e);
}

int s3_delete(struct s3 *s, const char *key, struct err *e)
{
	struct s3_req r;
	struct err e2 = ERR_INIT;

	s3_req_init(&r, "DELETE", key);
	if (s3_do(s, &r, &e2) == 0 || e2.code == ERR_NOT_FOUND)
		return 0;
	return err_set(e, e2.code, "%s", e2.msg);
}

/* "x-amz-copy-source:/BUCKET/KEY", encoded (also its canonical line). */
static void s3_copy_source(struct s3 *s, const char *src, struct buf *hdr)
{
	buf_adds(hdr, "x-amz-copy-source:/");
	s3_encode(hdr, s->bucket, false);
	buf_adds(hdr, "/");
	s3_encode(hdr, src, true);
}

int s3_copy(struct s3 *s, const char *src, const char *dst, struct err *e)
{
	struct buf hdr = BUF_INIT, body;
	struct s3_req r;
	int ret;

	buf_init(&body, S3_XML_MAX);
	s3_copy_source(s, src, &hdr);
	s3_req_init(&r, "PUT", dst);
	r.header = hdr.buf;
	r.out = &body;
	ret = s3_do(s, &r, e);
	if (ret == 0)
		ret = s3_body_error(&r, &body, e);
	buf_release(&hdr);
	buf_release(&body);
	return ret;
}

int s3_mpu_create(struct s3 *s, const char *key, char **upload_id,
		  struct err *e)
{
	xmlDocPtr doc = NULL;
	struct s3_req r;
	struct buf body;
	char *id = NULL;
	int ret = -1;

	buf_init(&body, S3_XML_MAX);
	s3_req_init(&r, "POST", key);
	r.query = "uploads=";
	r.out = &body;
	if (s3_do(s, &r, e) < 0)
		goto out;
	doc = s3_xml(&body);
	if (doc)
		id = s3_xml_text(xmlDocGetRootElement(doc), "UploadId");
	if (!id || !*id) {
		err_set(e, ERR_IO, "S3 POST %s?uploads: no UploadId", key);
		goto out;
	}
	*upload_id = id;
	id = NULL;
	ret = 0;
out:
	free(id);
	if (doc)
		xmlFreeDoc(doc);
	buf_release(&body);
	return ret;
}

/* "partNumber=N&uploadId=ID" (sorted, as curl signs it as written). */
static char *s3_part_query(int partno, const char *upload_id)
{
	struct buf q = BUF_INIT;

	if (partno > 0)
		buf_addf(&q, "partNumber=%d&", partno);
	buf_adds(&q, "uploadId=");
	s3_encode(&q, upload_id, false);
	return buf_detach(&q, NULL);
}

int s3_mpu_part(struct s3 *s, const char *key, const char *upload_id,
		int partno, int fd, int64_t off, int64_t len,
		const char *sha256_hex, char **etag, struct err *e)
{
	char *q = s3_part_query(partno, upload_id);
	struct s3_req r;
	int ret;

	s3_req_init(&r, "PUT", key);
	r.query = q;
	r.in_fd = fd;
	r.in_off = off;
	r.in_len = len;
	r.sha256_hex = sha256_hex;
	ret = s3_do(s, &r, e);
	if (ret == 0 && !r.etag[0])
		ret = err_set(e, ERR_IO, "S3 part %d of %s: no ETag", partno,
			      key);
	if (ret == 0)
		*etag = xstrdup(r.etag);
	free(q);
	return ret;
}

int s3_mpu_complete(struct s3 *s, const char *key, const char *upload_id,
		    char *const *etags, size_t n, struct err *e)
{
	char *q = s3_part_query(0, upload_id);
	struct buf req = BUF_INIT, body;
	struct digest d;
	struct s3_req r;
	int ret;

	buf_init(&body, S3_XML_MAX);
	buf_adds(&req, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < n; i++)
		buf_addf(&req,
			 "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag>"
			 "</Part>",
			 i + 1, etags[i]);
	buf_adds(&req, "</CompleteMultipartUpload>");
	digest_of(DIGEST_SHA256, req.buf, req.len, &d);
	s3_req_init(&r, "POST", key);
	r.query = q;
	r.data = req.buf;
	r.len = req.len;
	r.sha256_hex = d.hex;
	r.out = &body;
	ret = s3_do(s, &r, e);
	if (ret == 0)
		ret = s3_body_error(&r, &body, e);
	buf_release(&req);
	buf_release(&body);
	free(q);
	return ret;
}

/* One UploadPartCopy: bytes [off, off+len) of src as part partno. */
/* One UploadPartCopy: bytes [off, off+len) of src as part partno.  Signed
 * here, in the query: curl (7.88) sorts the headers it signs as whole
 * lines, which puts x-amz-copy-source-range before x-amz-copy-source. */
static int s3_copy_part(struct s3 *s, const char *src, const char *dst,
			const char *upload_id, int partno, int64_t off,
			int64_t len, char **etag, struct err *e)
{
	char *q = s3_part_query(partno, upload_id), *tag = NULL, range[96];
	struct buf hdr = BUF_INIT, body;
	const char *signed_hdrs[2];
	xmlDocPtr doc = NULL;
	struct s3_req r;
	int ret = -1;

	buf_init(&body, S3_XML_MAX);
	s3_copy_source(s, src, &hdr);
	snprintf(range, sizeof(range),
		 "x-amz-copy-source-range:bytes=%lld-%lld", (long long)off,
		 (long long)(off + len - 1));
	signed_hdrs[0] = hdr.buf;
	signed_hdrs[1] = range;
	s3_req_init(&r, "PUT", dst);
	r.presigned = s3_presign_req(s, "PUT", dst, q, signed_hdrs, 2, 3600,
				     time(NULL));
	r.header = hdr.buf;
	r.header2 = range;
	r.out = &body;
	if (s3_do(s, &r, e) < 0 || s3_body_error(&r, &body, e) < 0)
		goto out;
	doc = s3_xml(&body);
	if (doc)
		tag = s3_xml_text(xmlDocGetRootElement(doc), "ETag");
	if (!tag || !*tag) {
		err_set(e, ERR_IO, "S3 part copy %d of %s: no ETag", partno,
			dst);
		goto out;
	}
	*etag = tag;
	tag = NULL;
	ret = 0;
out:
	free(tag);
	free(r.presigned);
	if (doc)
		xmlFreeDoc(doc);
	buf_release(&hdr);
	buf_release(&body);
	free(q);
	return ret;
}

int s3_copy_parts(struct s3 *s, const char *src, int64_t size, int64_t part,
		  const char *dst, struct err *e)
{
	size_t n = (size_t)((size + part - 1) / part), got = 0;
	char **etags = xcalloc(n ? n : 1, sizeof(*etags)), *id = NULL;
	struct err e2 = ERR_INIT;
	int ret = -1;

	if (s3_mpu_create(s, dst, &id, e) < 0)
		goto out;
	for (; got < n; got++) {
		int64_t off = (int64_t)got * part;

		if (s3_copy_part(s, src, dst, id, (int)got + 1, off,
				 size - off < part ? size - off : part,
				 &etags[got], e) < 0)
			break;
	}
	if (got == n && s3_mpu_complete(s, dst, id, etags, n, e) == 0)
		ret = 0;
	else
		s3_mpu_abort(s, dst, id, &e2);
out:
	for (size_t i = 0; i < n; i++)
		free(etags[i]);
	free(etags);
	free(id);
	return ret;
}

int s3_mpu_abort(struct s3 *s, const char *key, const char *upload_id,
		 struct err *e)
{
	char *q = s3_part_query(0, upload_id);
	struct err e2 = ERR_INIT;
	struct s3_req r;
	int ret = 0;

	s3_req_init(&r, "DELETE", key);
	r.query = q;
	if (s3_do(s, &r, &e2) < 0 && e2.code != ERR_NOT_FOUND)
		ret = err_set(e, e2.code, "%s", e2.msg);
	free(q);
	return ret;
}

/* "2026-12-03T17:19:24.261Z" as unix time; 0 if malformed. */
static int64_t s3_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon,
			 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* A listing, page by page: query() writes the next page's query (from the
 * markers the last page() kept), page() takes a page's root element and
 * says whether there is more. */
struct s3_pager {
	void (*query)(struct s3_pager *p, struct buf *q);
	int (*page)(struct s3_pager *p, xmlNodePtr root, bool *more,
		    struct err *e);
};

static int s3_pages(struct s3 *s, struct s3_pager *p, struct err *e)
{
	struct buf q = BUF_INIT, body;
	xmlDocPtr doc = NULL;
	struct s3_req r;
	bool more = true;
	int ret = 0;

	buf_init(&body, S3_XML_MAX);
	while (ret == 0 && more) {
		buf_reset(&q);
		p->query(p, &q);
		s3_req_init(&r, "GET", NULL);
		r.query = q.buf;
		r.out = &body;
		if (doc)
			xmlFreeDoc(doc);
		doc = NULL;
		if (s3_do(s, &r, e) < 0) {
			ret = -1;
			break;
		}
		doc = s3_xml(&body);
		if (!doc || !xmlDocGetRootElement(doc))
			ret = err_set(e, ERR_IO, "S3 listing: not XML");
		else
			ret = p->page(p, xmlDocGetRootElement(doc), &more, e);
	}
	if (doc)
		xmlFreeDoc(doc);
	buf_release(&q);
	buf_release(&body);
	return ret < 0 ? -1 : 0;
}

static bool s3_xml_true(xmlNodePtr n, const char *name)
{
	char *t = s3_xml_text(n, name);
	bool yes = t && !strcmp(t, "true");

	free(t);
	return yes;
}

/* Replaces *marker with child `name` of root; whether it is set. */
static bool s3_marker(char **marker, xmlNodePtr root, const char *name)
{
	free(*marker);
	*marker = s3_xml_text(root, name);
	return *marker && **marker;
}

struct s3_objects {
	struct s3_pager p; /* first */
	const char *prefix;
	char *token;
	s3_object_fn fn;
	void *arg;
};

static void s3_objects_query(struct s3_pager *p, struct buf *q)
{
	struct s3_objects *l = (struct s3_objects *)p;

	if (l->token) {
		buf_adds(q, "continuation-token=");
		s3_encode(q, l->token, false);
		buf_adds(q, "&");
	}
	buf_adds(q, "list-type=2&max-keys=1000&prefix=");
	s3_encode(q, l->prefix, false);
}

static int s3_objects_page(struct s3_pager *p, xmlNodePtr root, bool *more,
			   struct err *e)
{
	struct s3_objects *l = (struct s3_objects *)p;
	char *key, *size, *mod;
	struct s3_object o;
	xmlNodePtr c;
	int ret = 0;

	for (c = s3_xml_child(root, "Contents"); c && ret == 0;
	     c = s3_xml_next(c, "Contents")) {
		key = s3_xml_text(c, "Key");
		size = s3_xml_text(c, "Size");
		mod = s3_xml_text(c, "LastModified");
		if (key) {
			o.key = key;
			o.size = size ? strtoll(size, NULL, 10) : -1;
			o.mtime = s3_time(mod);
			ret = l->fn(l->arg, &o, e);
		}
		free(key);
		free(size);
		free(mod);
	}
	*more = s3_marker(&l->token, root, "NextContinuationToken") &&
		s3_xml_true(root, "IsTruncated");
	return ret;
}

int s3_list(struct s3 *s, const char *prefix, s3_object_fn fn, void *arg,
	    struct err *e)
{
	struct s3_objects l = {
		{s3_objects_query, s3_objects_page}, prefix, NULL, fn, arg};
	int ret = s3_pages(s, &l.p, e);

	free(l.token);
	return ret;
}

struct s3_mpus {
	struct s3_pager p; /* first */
	const char *prefix;
	char *kmark, *umark;
	s3_mpu_fn fn;
	void *arg;
};

/* Sorted, as curl signs the query as written. */
static void s3_mpus_query(struct s3_pager *p, struct buf *q)
{
	struct s3_mpus *l = (struct s3_mpus *)p;

	if (l->kmark && *l->kmark) {
		buf_adds(q, "key-marker=");
		s3_encode(q, l->kmark, false);
		buf_adds(q, "&");
	}
	buf_adds(q, "prefix=");
	s3_encode(q, l->prefix, false);
	if (l->umark && *l->umark) {
		buf_adds(q, "&upload-id-marker=");
		s3_encode(q, l->umark, false);
	}
	buf_adds(q, "&uploads=");
}

static int s3_mpus_page(struct s3_pager *p, xmlNodePtr root, bool *more,
			struct err *e)
{
	struct s3_mpus *l = (struct s3_mpus *)p;
	char *key, *id;
	xmlNodePtr c;
	int ret = 0;

	for (c = s3_xml_child(root, "Upload"); c && ret == 0;
	     c = s3_xml_next(c, "Upload")) {
		key = s3_xml_text(c, "Key");
		id = s3_xml_text(c, "UploadId");
		if (key && id)
			ret = l->fn(l->arg, key, id, e);
		free(key);
		free(id);
	}
	s3_marker(&l->umark, root, "NextUploadIdMarker");
	*more = s3_marker(&l->kmark, root, "NextKeyMarker") &&
		s3_xml_true(root, "IsTruncated");
	return ret;
}

int s3_mpu_list(struct s3 *s, const char *prefix, s3_mpu_fn fn, void *arg,
		struct err *e)
{
	struct s3_mpus l = {
		{s3_mpus_query, s3_mpus_page}, prefix, NULL, NULL, fn, arg};
	int ret = s3_pages(s, &l.p, e);

	free(l.kmark);
	free(l.umark);
	return ret;
}
