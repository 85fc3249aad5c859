/* upstream_guard.c: where a transfer for an upstream may go.
 *
 * An upstream decides where its redirects (and its token realm) point, so
 * without a check it could make us fetch from our own loopback, a cloud
 * metadata address or the private network, and hand the reply to an
 * anonymous client.  Two checks, both needed:
 *
 *   - by name (ups_hop_of), before a request: the upstream's own origin,
 *     a host on its allow list, or any host over https;
 *   - by address (ups_hop_addr_ok), as the connection is made or reused:
 *     the first request of a transfer goes to the upstream wherever it is
 *     (the operator put it there), and that fixes the upstream's kind of
 *     range; later ones (redirects, the token realm) may go to a public
 *     address, or one in that same kind of range if the host is the
 *     upstream's own or listed (a registry on the private network may
 *     redirect to a listed object store there), never elsewhere.  The
 *     address is the one curl connected to, so a name that resolves to
 *     127.0.0.1 (or is rebound to it between two requests) is caught.
 */
#include "registry/proxy/upstream_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "common/banned.h"

/* --- Address ranges ------------------------------------------------------- */

/* a.b.c.d/bits as host-order integers. */
struct ups_net4 {
	uint32_t net;
	int bits;
	enum ups_addr_kind kind;
};

#define NET4(a, b, c, d)                                                       \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) |                       \
	 ((uint32_t)(c) << 8) | (uint32_t)(d))

/* IANA's special-purpose registry, the parts that are not the internet. */
static const struct ups_net4 ups_nets4[] = {
	{NET4(0, 0, 0, 0), 8, UPS_ADDR_SPECIAL}, /* "this network" */
	{NET4(10, 0, 0, 0), 8, UPS_ADDR_PRIVATE},
	{NET4(100, 64, 0, 0), 10, UPS_ADDR_PRIVATE}, /* carrier NAT */
	{NET4(127, 0, 0, 0), 8, UPS_ADDR_LOOPBACK},
	{NET4(169, 254, 0, 0), 16, UPS_ADDR_LINKLOCAL}, /* cloud metadata */
	{NET4(172, 16, 0, 0), 12, UPS_ADDR_PRIVATE},
	{NET4(192, 0, 0, 0), 24, UPS_ADDR_SPECIAL},
	{NET4(192, 0, 2, 0), 24, UPS_ADDR_SPECIAL}, /* documentation */
	{NET4(192, 88, 99, 0), 24, UPS_ADDR_SPECIAL},
	{NET4(192, 168, 0, 0), 16, UPS_ADDR_PRIVATE},
	{NET4(198, 18, 0, 0), 15, UPS_ADDR_PRIVATE}, /* benchmarking */
	{NET4(198, 51, 100, 0), 24, UPS_ADDR_SPECIAL},
	{NET4(203, 0, 113, 0), 24, UPS_ADDR_SPECIAL},
	{NET4(224, 0, 0, 0), 4, UPS_ADDR_SPECIAL}, /* multicast */
	{NET4(240, 0, 0, 0), 4, UPS_ADDR_SPECIAL}, /* and broadcast */
};

static enum ups_addr_kind ups_kind4(const unsigned char a[4])
{
	uint32_t v = NET4(a[0], a[1], a[2], a[3]);

	for (size_t i = 0; i < sizeof(ups_nets4) / sizeof(ups_nets4[0]); i++) {
		uint32_t mask = ~(uint32_t)0 << (32 - ups_nets4[i].bits);

		if ((v & mask) == ups_nets4[i].net)
			return ups_nets4[i].kind;
	}
	return UPS_ADDR_PUBLIC;
}

static bool ups_prefix6(const unsigned char a[16], const unsigned char *p,
			int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, p, (size_t)bytes))
		return false;
	return !rest || ((a[bytes] ^ p[bytes]) & (0xff << (8 - rest))) == 0;
}

static enum ups_addr_kind ups_kind6(const unsigned char a[16])
{
	static const unsigned char zero[16];
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const unsigned char six2four[2] = {0x20, 0x02};
	static const unsigned char doc[4] = {0x20, 0x01, 0x0d, 0xb8};
	static const unsigned char discard[8] = {0x01, 0x00};
	static const unsigned char ula[1] = {0xfc};
	static const unsigned char ll[2] = {0xfe, 0x80};
	static const unsigned char site[2] = {0xfe, 0xc0};

	if (!memcmp(a, zero, 15))
		return a[15] == 1 ? UPS_ADDR_LOOPBACK : UPS_ADDR_SPECIAL;
	/* Forms that carry an IPv4 address are judged by it. */
	if (ups_prefix6(a, mapped, 96) || ups_prefix6(a, nat64, 96))
		return ups_kind4(a + 12);
	if (ups_prefix6(a, six2four, 16))
		return ups_kind4(a + 2);
	if (ups_prefix6(a, zero, 96)) /* IPv4-compatible, deprecated */
		return UPS_ADDR_SPECIAL;
	if (ups_prefix6(a, ula, 7) || ups_prefix6(a, site, 10))
		return UPS_ADDR_PRIVATE;
	if (ups_prefix6(a, ll, 10))
		return UPS_ADDR_LINKLOCAL;
	if (a[0] == 0xff || ups_prefix6(a, doc, 32) ||
	    ups_prefix6(a, discard, 64))
		return UPS_ADDR_SPECIAL;
	return UPS_ADDR_PUBLIC;
}

enum ups_addr_kind ups_addr_kind(const struct sockaddr *sa, size_t len)
{
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;

	if (sa->sa_family == AF_INET && len >= sizeof(in4)) {
		memcpy(&in4, sa, sizeof(in4));
		return ups_kind4((const unsigned char *)&in4.sin_addr);
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(in6)) {
		memcpy(&in6, sa, sizeof(in6));
		return ups_kind6(in6.sin6_addr.s6_addr);
	}
	return UPS_ADDR_SPECIAL;
}

enum ups_addr_kind ups_addr_kind_str(const char *ip)
{
	unsigned char a[16];

	if (!ip)
		return UPS_ADDR_SPECIAL;
	if (inet_pton(AF_INET, ip, a) == 1)
		return ups_kind4(a);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return ups_kind6(a);
	return UPS_ADDR_SPECIAL;
}

const char *ups_addr_kind_name(enum ups_addr_kind k)
{
	switch (k) {
	case UPS_ADDR_PUBLIC:
		return "public";
	case UPS_ADDR_LOOPBACK:
		return "loopback";
	case UPS_ADDR_PRIVATE:
		return "private";
	case UPS_ADDR_LINKLOCAL:
		return "link-local";
	case UPS_ADDR_SPECIAL:
		break;
	}
	return "special-purpose";
}

bool ups_hop_addr_ok(enum ups_hop hop, enum ups_addr_kind origin,
		     enum ups_addr_kind addr)
{
	switch (hop) {
	case UPS_HOP_ORIGIN:
		return addr == UPS_ADDR_PUBLIC || addr == origin;
	case UPS_HOP_LISTED:
		return addr == UPS_ADDR_PUBLIC ||
		       (addr == origin && addr != UPS_ADDR_SPECIAL);
	case UPS_HOP_HTTPS:
		return addr == UPS_ADDR_PUBLIC;
	case UPS_HOP_REFUSED:
		break;
	}
	return false;
}

/* --- Names ------------------------------------------------------------------
 */

/* The scheme, host (lower case; "[v6]" in brackets) and port of url. */
struct ups_origin {
	char scheme[8];
	char host[256];
	long port;
};

static int ups_origin_of(const char *url, struct ups_origin *o)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u = curl_url();
	int rc = -1;

	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK)
		goto out;
	if (strlen(scheme) >= sizeof(o->scheme) ||
	    strlen(host) >= sizeof(o->host))
		goto out;
	for (size_t i = 0; scheme[i]; i++)
		o->scheme[i] = (char)tolower((unsigned char)scheme[i]);
	o->scheme[strlen(scheme)] = '\0';
	for (size_t i = 0; host[i]; i++)
		o->host[i] = (char)tolower((unsigned char)host[i]);
	o->host[strlen(host)] = '\0';
	o->port = strtol(port, NULL, 10);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int ups_url_host(const char *url, char *out, size_t n)
{
	struct ups_origin o;

	if (ups_origin_of(url, &o) < 0) {
		snprintf(out, n, "(a bad URL)");
		return -1;
	}
	snprintf(out, n, "%s:%ld", o.host, o.port);
	return 0;
}

/* Splits an allow entry into host and port (0: any). */
static int ups_allow_split(const char *s, char *host, size_t n, long *port)
{
	const char *end, *colon;
	size_t len;
	char *stop;

	*port = 0;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return -1;
		end++;
		colon = *end == ':' ? end : NULL;
		if (*end && !colon)
			return -1;
	} else {
		colon = strrchr(s, ':');
		end = colon ? colon : s + strlen(s);
	}
	if (colon) {
		if (!isdigit((unsigned char)colon[1]))
			return -1;
		*port = strtol(colon + 1, &stop, 10);
		if (*stop || *port < 1 || *port > 65535)
			return -1;
	}
	len = (size_t)(end - s);
	if (len == 0 || len >= n)
		return -1;
	for (size_t i = 0; i < len; i++)
		host[i] = (char)tolower((unsigned char)s[i]);
	host[len] = '\0';
	return 0;
}

int ups_remote_allow(struct ups_remote *r, const char *entry, struct err *e)
{
	char host[256];
	long port;
	const char *h;

	if (ups_allow_split(entry, host, sizeof(host), &port) < 0)
		goto bad;
	h = strncmp(host, "*.", 2) ? host : host + 2;
	if (!*h)
		goto bad;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_[]:", *p))
			goto bad;
	r->allow = xrealloc(r->allow, (r->nallow + 1) * sizeof(*r->allow));
	r->allow[r->nallow++] = xstrdup(entry);
	return 0;
bad:
	return err_set(e, ERR_INVALID,
		       "redirect allow entry '%.100s': expected HOST, "
		       "HOST:PORT or *.DOMAIN",
		       entry);
}

static bool ups_allow_match(const char *entry, const struct ups_origin *o)
{
	char host[256];
	size_t hl, ol;
	long port;

	if (ups_allow_split(entry, host, sizeof(host), &port) < 0)
		return false;
	if (port && port != o->port)
		return false;
	if (strncmp(host, "*.", 2))
		return !strcmp(host, o->host);
	/* "*.example.com": any name below it, not itself. */
	hl = strlen(host + 1);
	ol = strlen(o->host);
	return ol > hl && !strcmp(o->host + ol - hl, host + 1);
}

enum ups_hop ups_hop_of(const struct ups_remote *r, const char *url)
{
	struct ups_origin to, self;

	if (ups_origin_of(url, &to) < 0 ||
	    (strcmp(to.scheme, "http") && strcmp(to.scheme, "https")))
		return UPS_HOP_REFUSED;
	if (ups_origin_of(r->url, &self) == 0 && !strcmp(to.host, self.host) &&
	    to.port == self.port)
		return UPS_HOP_ORIGIN;
	for (size_t i = 0; i < r->nallow; i++)
		if (ups_allow_match(r->allow[i], &to))
			return UPS_HOP_LISTED;
	if (!strcmp(to.scheme, "https"))
		return UPS_HOP_HTTPS;
	return UPS_HOP_REFUSED;
}

/* --- In the transfer -------------------------------------------------------
 */

/* Whether conn may talk to an address of kind k; notes a refusal.  The
 * first contact of a transfer (its origin, not yet seen) is not judged:
 * record says whether it now counts as seen (the connection is made). */
static bool ups_guard_admit(struct ups_conn *c, enum ups_addr_kind k,
			    const char *ip, bool record)
{
	if (c->hop == UPS_HOP_ORIGIN && !c->origin_known) {
		if (record) {
			c->origin = k;
			c->origin_known = true;
		}
		return true;
	}
	if (ups_hop_addr_ok(c->hop, c->origin, k))
		return true;
	c->refused = true;
	c->refused_kind = k;
	snprintf(c->refused_ip, sizeof(c->refused_ip), "%s", ip ? ip : "?");
	return false;
}

/* A new connection: refused before it is made. */
static curl_socket_t ups_opensocket_cb(void *arg, curlsocktype purpose,
				       struct curl_sockaddr *a)
{
	struct ups_conn *c = arg;
	struct sockaddr_storage ss;
	char ip[INET6_ADDRSTRLEN] = "?";
	size_t len = a->addrlen < sizeof(ss) ? a->addrlen : sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a->addr, len);
	if (purpose == CURLSOCKTYPE_IPCXN) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET,
				  &((struct sockaddr_in *)&ss)->sin_addr, ip,
				  sizeof(ip));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((struct sockaddr_in6 *)&ss)->sin6_addr, ip,
				  sizeof(ip));
		if (!ups_guard_admit(c,
				     ups_addr_kind((struct sockaddr *)&ss, len),
				     ip, false))
			return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* Every connection, new or reused from the cache, before a byte is sent. */
static int ups_prereq_cb(void *arg, char *ip, char *local_ip, int port,
			 int local_port)
{
	(void)local_ip;
	(void)port;
	(void)local_port;
	return ups_guard_admit(arg, ups_addr_kind_str(ip), ip, true)
		       ? CURL_PREREQFUNC_OK
		       : CURL_PREREQFUNC_ABORT;
}
#endif

void ups_guard_setup(struct ups_conn *c, const struct ups_remote *r,
		     enum ups_hop hop)
{
	CURL *h = c->curl;

	if (c->origin_r != r) {
		c->origin_r = r;
		c->origin_known = false;
	}
	c->hop = hop;
	c->refused = false;
	c->refused_ip[0] = '\0';
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, ups_opensocket_cb);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
#if LIBCURL_VERSION_NUM >= 0x075000
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, ups_prereq_cb);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, c);
#else
	/* Without the check on reuse, another host gets a fresh connection. */
	if (hop != UPS_HOP_ORIGIN)
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
#endif
}

void ups_guard_begin(struct ups_conn *c)
{
	c->origin_known = false;
}

int ups_guard_error(struct ups_conn *c, const struct ups_remote *r,
		    const char *url, struct err *e)
{
	char host[300];

	ups_url_host(url, host, sizeof(host));
	return err_set(e, ERR_UPSTREAM,
		       "upstream %s: refused to follow it to %s, a %s address "
		       "(%s)",
		       r->host, host, ups_addr_kind_name(c->refused_kind),
		       c->refused_ip);
}
