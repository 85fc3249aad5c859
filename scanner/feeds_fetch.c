/* feeds_fetch.c: one feed download with libcurl (see feeds_int.h).
 *
 * The server is untrusted: only http and https, redirects bounded, a
 * connect timeout and a stall timeout (under 1 KiB/s), a cap on the body
 * counted as it arrives, and what the response promises (Content-Length,
 * a 206's Content-Range, Google Cloud Storage's x-goog-hash) checked
 * before the file is handed on.  Passing failures (5xx, 429, 408, network
 * errors, a body cut short) are tried again after 1, 2, 4... seconds; a
 * partial body is resumed with Range/If-Range when the server said it
 * takes ranges and the response had a validator.
 */
#include "scanner/feeds_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/* Longest wait between two tries. */
#define FEED_BACKOFF_MAX_S 60
/* An error response's body is read this far, then the request ends. */
#define FEED_ERROR_BODY_MAX ((int64_t)64 << 10)

static pthread_once_t feed_curl_once = PTHREAD_ONCE_INIT;

static void feed_curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void vulndb_fetch_defaults(struct vulndb_fetch_limits *l)
{
	l->connect_timeout_s = 30;
	l->stall_timeout_s = 60;
	l->timeout_s = 3600;
	l->max_bytes = VULNDB_FETCH_MAX_BYTES;
	l->attempts = 4;
	l->backoff_s = 1;
	l->max_redirects = 5;
}

bool feed_sleep(int s, bool (*stopping)(void *ctx), void *ctx)
{
	struct timespec slice = {0, 100 * 1000 * 1000};

	for (int i = 0; i < s * 10; i++) {
		if (stopping && stopping(ctx))
			return false;
		nanosleep(&slice, NULL);
	}
	return !(stopping && stopping(ctx));
}

/* --- Headers ------------------------------------------------------------- */

void feed_headers_init(struct feed_headers *h)
{
	memset(h, 0, sizeof(*h));
	h->length = h->range_start = h->range_total = -1;
}

static void feed_copy(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = 0; /* too long to be a validator we would send back */
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int64_t feed_num(const char *s, size_t n)
{
	int64_t v = 0;

	if (!n || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "bytes START-END/TOTAL" (TOTAL may be "*"). */
static void feed_content_range(struct feed_headers *h, const char *v, size_t n)
{
	const char *dash, *slash, *end = v + n;

	if (n < 6 || strncasecmp(v, "bytes ", 6))
		return;
	v += 6;
	dash = memchr(v, '-', (size_t)(end - v));
	slash = dash ? memchr(dash, '/', (size_t)(end - dash)) : NULL;
	if (!slash)
		return;
	h->range_start = feed_num(v, (size_t)(dash - v));
	h->range_total = feed_num(slash + 1, (size_t)(end - slash - 1));
}

/* "crc32c=AAAAAA==,md5=BASE64==" (one header or several). */
static void feed_goog_hash(struct feed_headers *h, const char *v, size_t n)
{
	const char *end = v + n;

	while (v < end) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		size_t len = (size_t)((comma ? comma : end) - v);

		while (len && *v == ' ') {
			v++;
			len--;
		}
		if (len > 4 && !strncasecmp(v, "md5=", 4))
			feed_copy(h->md5, sizeof(h->md5), v + 4, len - 4);
		else if (len > 7 && !strncasecmp(v, "crc32c=", 7))
			feed_copy(h->crc32c, sizeof(h->crc32c), v + 7, len - 7);
		v += len + (comma ? 1 : 0);
	}
}

void feed_headers_line(struct feed_headers *h, const char *line, size_t len)
{
	const char *colon, *v;
	size_t nlen, vlen;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > 5 && !strncmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', len);

		feed_headers_init(h);
		if (sp && (size_t)(line + len - sp) >= 4)
			h->status = (long)feed_num(sp + 1, 3);
		return;
	}
	colon = memchr(line, ':', len);
	if (!colon)
		return;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
#define FEED_IS(name)                                                          \
	(nlen == sizeof(name) - 1 && !strncasecmp(line, name, nlen))
	if (FEED_IS("etag"))
		feed_copy(h->etag, sizeof(h->etag), v, vlen);
	else if (FEED_IS("last-modified"))
		feed_copy(h->last_modified, sizeof(h->last_modified), v, vlen);
	else if (FEED_IS("content-length"))
		h->length = feed_num(v, vlen);
	else if (FEED_IS("content-range"))
		feed_content_range(h, v, vlen);
	else if (FEED_IS("accept-ranges"))
		h->ranges = vlen == 5 && !strncasecmp(v, "bytes", 5);
	else if (FEED_IS("content-encoding"))
		h->encoded = !(vlen == 8 && !strncasecmp(v, "identity", 8));
	else if (FEED_IS("x-goog-hash"))
		feed_goog_hash(h, v, vlen);
#undef FEED_IS
}

/* --- Checksums ------------------------------------------------------------ */

uint32_t feed_crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* The file's md5 and crc32c, base64 as x-goog-hash has them. */
static int feed_file_hashes(const char *path, char md5[32], char crc[16],
			    struct err *e)
{
	unsigned char buf[65536], dg[EVP_MAX_MD_SIZE], be[4];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int dlen = 0;
	uint32_t c = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "open %s", path);
		goto out;
	}
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	while ((n = fdio_read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		c = feed_crc32c(c, buf, (size_t)n);
	}
	if (n < 0) {
		err_errno(e, ERR_IO, errno, "read %s", path);
		goto out;
	}
	EVP_DigestFinal_ex(ctx, dg, &dlen);
	EVP_EncodeBlock((unsigned char *)md5, dg, (int)dlen);
	be[0] = (unsigned char)(c >> 24);
	be[1] = (unsigned char)(c >> 16);
	be[2] = (unsigned char)(c >> 8);
	be[3] = (unsigned char)c;
	EVP_EncodeBlock((unsigned char *)crc, be, 4);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	return ret;
}

/* --- One request ------------------------------------------------------------
 */

struct feed_xfer {
	struct feed_get *g;
	int fd;
	int64_t got;	/* bytes in the file */
	int64_t resume; /* asked from this offset (0: the whole body) */
	char validator[FEED_ETAG_MAX]; /* If-Range of a resumed request */
	bool started; /* the first body byte of this response came */
	bool over_cap;
	bool bad_body;	   /* came whole but wrong: never resumed */
	int64_t discarded; /* bytes of an error response's body */
	bool bad_range;	   /* a 206 of another range than asked */
	int write_errno;
};

static size_t feed_header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct feed_xfer *x = arg;

	feed_headers_line(&x->g->h, line, size * n);
	return size * n;
}

/* A 200 to a Range request is the whole body again: start over. */
static int feed_body_start(struct feed_xfer *x)
{
	if (x->g->h.status == 206 && x->g->h.range_start == x->resume)
		return 0;
	if (x->g->h.status == 206) {
		x->bad_range = true; /* not the range we asked for */
		return -1;
	}
	if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0) {
		x->write_errno = errno;
		return -1;
	}
	x->got = 0;
	return 0;
}

static size_t feed_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct feed_xfer *x = arg;
	size_t len = size * n;
	long st = x->g->h.status;

	/* Error bodies are not kept, nor read past a few pages. */
	if (st != 200 && st != 206) {
		x->discarded += (int64_t)len;
		return x->discarded > FEED_ERROR_BODY_MAX ? 0 : len;
	}
	if (!x->started) {
		x->started = true;
		if (feed_body_start(x) < 0)
			return 0;
	}
	if (x->got + (int64_t)len > x->g->max_bytes) {
		x->over_cap = true;
		return 0;
	}
	if (fdio_write_all(x->fd, data, len) < 0) {
		x->write_errno = errno;
		return 0;
	}
	x->got += (int64_t)len;
	return len;
}

static int feed_progress_cb(void *arg, curl_off_t dt, curl_off_t dn,
			    curl_off_t ut, curl_off_t un)
{
	struct feed_xfer *x = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return x->g->stopping && x->g->stopping(x->g->ctx) ? 1 : 0;
}

static CURL *feed_handle(struct feed_xfer *x, char *errbuf)
{
	const struct vulndb_fetch_limits *l = x->g->lim;
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, x->g->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* An https feed is never redirected down to http. */
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
			 strncasecmp(x->g->url, "https:", 6) ? "http,https"
							     : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)l->max_redirects);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)l->connect_timeout_s);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)l->stall_timeout_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)l->timeout_s);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)x->g->max_bytes);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "customs-db-update/1");
	/* Feeds are large text: let the server compress the transfer. */
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, feed_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, feed_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, feed_progress_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	return h;
}

enum feed_try {
	FEED_OK,
	FEED_NOT_MODIFIED,
	FEED_RETRY, /* a passing failure: e says which */
	FEED_FAIL,  /* for good */
};

static bool feed_curl_passing(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_BAD_CONTENT_ENCODING:
		return true;
	default:
		return false;
	}
}

/* The response is whole: what it promised is what came. */
static enum feed_try feed_check_body(struct feed_xfer *x, struct err *e)
{
	const struct feed_headers *h = &x->g->h;
	char md5[32], crc[16];
	int64_t want = -1;

	if (h->status == 206)
		want = h->range_total;
	else if (!h->encoded)
		want = h->length;
	if (want >= 0 && x->got != want) {
		err_set(e, ERR_UPSTREAM,
			"%s: got %lld bytes, the server announced %lld",
			x->g->url, (long long)x->got, (long long)want);
		x->bad_body = true;
		return FEED_RETRY;
	}
	/* The hashes are of the stored object, not of a transcoded one. */
	if (h->encoded || (!h->md5[0] && !h->crc32c[0]))
		return FEED_OK;
	if (feed_file_hashes(x->g->path, md5, crc, e) < 0)
		return FEED_FAIL;
	if ((h->md5[0] && strcmp(md5, h->md5)) ||
	    (h->crc32c[0] && strcmp(crc, h->crc32c))) {
		err_set(e, ERR_UPSTREAM,
			"%s: the body does not match its x-goog-hash (%s%s%s): "
			"corrupt download",
			x->g->url, h->md5[0] ? "md5" : "",
			h->md5[0] && h->crc32c[0] ? ", " : "",
			h->crc32c[0] ? "crc32c" : "");
		x->bad_body = true;
		return FEED_RETRY;
	}
	return FEED_OK;
}

static enum feed_try feed_try_once(struct feed_xfer *x, struct err *e)
{
	struct feed_get *g = x->g;
	char errbuf[CURL_ERROR_SIZE] = "", *hdr = NULL;
	struct curl_slist *hs = NULL;
	enum feed_try t = FEED_FAIL;
	CURLcode rc;
	CURL *h = feed_handle(x, errbuf);

	if (!h) {
		err_set(e, ERR_INTERNAL, "curl_easy_init failed");
		return FEED_FAIL;
	}
	feed_headers_init(&g->h);
	x->started = false;
	x->over_cap = false;
	x->bad_body = false;
	x->discarded = 0;
	x->bad_range = false;
	x->write_errno = 0;
	if (x->resume > 0) {
		/* If-Range: the rest of this very body, or all of a new one. */
		hdr = xasprintf("Range: bytes=%lld-", (long long)x->resume);
		hs = curl_slist_append(hs, hdr);
		free(hdr);
		hdr = xasprintf("If-Range: %s", x->validator);
		hs = curl_slist_append(hs, hdr);
		free(hdr);
	} else {
		if (g->etag && g->etag[0]) {
			hdr = xasprintf("If-None-Match: %s", g->etag);
			hs = curl_slist_append(hs, hdr);
			free(hdr);
		}
		if (g->last_modified && g->last_modified[0]) {
			hdr = xasprintf("If-Modified-Since: %s",
					g->last_modified);
			hs = curl_slist_append(hs, hdr);
			free(hdr);
		}
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	g->attempts++;
	rc = curl_easy_perform(h);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		err_set(e, ERR_IO, "%s: stopped", g->url);
	} else if (x->over_cap || rc == CURLE_FILESIZE_EXCEEDED) {
		err_set(e, ERR_TOO_LARGE, "%s: larger than %lld bytes", g->url,
			(long long)g->max_bytes);
	} else if (x->bad_range) {
		err_set(e, ERR_UPSTREAM,
			"%s: answered another range than bytes=%lld-", g->url,
			(long long)x->resume);
		x->bad_body = true;
		t = FEED_RETRY;
	} else if (x->discarded > FEED_ERROR_BODY_MAX) {
		err_set(e, ERR_UPSTREAM, "%s: HTTP %ld", g->url, g->h.status);
		t = g->h.status >= 500 ? FEED_RETRY : FEED_FAIL;
	} else if (x->write_errno) {
		err_errno(e, ERR_IO, x->write_errno, "write %s", g->path);
	} else if (rc != CURLE_OK) {
		err_set(e, ERR_UPSTREAM, "%s: %s", g->url,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
		t = feed_curl_passing(rc) ? FEED_RETRY : FEED_FAIL;
	} else if (g->h.status == 304 && x->resume == 0 &&
		   ((g->etag && g->etag[0]) ||
		    (g->last_modified && g->last_modified[0]))) {
		t = FEED_NOT_MODIFIED;
	} else if (g->h.status == 200 || g->h.status == 206) {
		t = feed_check_body(x, e);
	} else {
		err_set(e, ERR_UPSTREAM, "%s: HTTP %ld", g->url, g->h.status);
		t = g->h.status >= 500 || g->h.status == 429 ||
				    g->h.status == 408
			    ? FEED_RETRY
			    : FEED_FAIL;
	}
	curl_slist_free_all(hs);
	curl_easy_cleanup(h);
	return t;
}

/* After a passing failure: resume what came if the server allows it. */
static void feed_plan_resume(struct feed_xfer *x)
{
	const struct feed_headers *h = &x->g->h;
	const char *v = h->etag[0] ? h->etag : h->last_modified;

	/* A weak ETag may not be used with If-Range. */
	if (h->etag[0] && !strncmp(h->etag, "W/", 2))
		v = h->last_modified;
	if (x->got > 0 && !x->bad_body &&
	    (h->status == 200 || h->status == 206) &&
	    (h->ranges || h->status == 206) && v[0] && !h->encoded) {
		if (h->status == 200 || !x->validator[0])
			snprintf(x->validator, sizeof(x->validator), "%s", v);
		x->resume = x->got;
		return;
	}
	x->resume = 0;
	x->validator[0] = '\0';
}

int feed_get(struct feed_get *g, struct err *e)
{
	struct feed_xfer x = {.g = g, .fd = -1};
	enum feed_try t = FEED_FAIL;
	int wait = g->lim->backoff_s > 0 ? g->lim->backoff_s : 1;
	int ret = -1;

	pthread_once(&feed_curl_once, feed_curl_init);
	g->not_modified = false;
	g->attempts = 0;
	g->bytes = 0;
	x.fd = open(g->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (x.fd < 0)
		return err_errno(e, ERR_IO, errno, "create %s", g->path);
	for (int i = 0; i < (g->lim->attempts > 0 ? g->lim->attempts : 1);
	     i++) {
		if (i) {
			if (!feed_sleep(wait, g->stopping, g->ctx))
				break;
			wait = wait * 2 > FEED_BACKOFF_MAX_S
				       ? FEED_BACKOFF_MAX_S
				       : wait * 2;
		}
		err_clear(e);
		t = feed_try_once(&x, e);
		if (t != FEED_RETRY)
			break;
		feed_plan_resume(&x);
		if (!x.resume &&
		    (ftruncate(x.fd, 0) < 0 || lseek(x.fd, 0, SEEK_SET) < 0)) {
			err_errno(e, ERR_IO, errno, "truncate %s", g->path);
			t = FEED_FAIL;
			break;
		}
		x.got = x.resume;
	}
	if (t == FEED_OK && fsync(x.fd) < 0) {
		err_errno(e, ERR_IO, errno, "fsync %s", g->path);
		t = FEED_FAIL;
	}
	if (close(x.fd) < 0 && t == FEED_OK) {
		err_errno(e, ERR_IO, errno, "close %s", g->path);
		t = FEED_FAIL;
	}
	if (t == FEED_OK || t == FEED_NOT_MODIFIED) {
		g->not_modified = t == FEED_NOT_MODIFIED;
		g->bytes = x.got;
		ret = 0;
	} else if (e->code == ERR_OK) {
		err_set(e, ERR_IO, "%s: stopped", g->url);
	}
	if (ret < 0 || g->not_modified)
		unlink(g->path);
	return ret;
}
