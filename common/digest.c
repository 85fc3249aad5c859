/* The hasher uses OpenSSL's SHA256_CTX and SHA512_CTX (the same assembly
 * as EVP underneath), deprecated in 3.0 but kept there, because EVP gives
 * no way to save a running state and resume it in another process, which
 * an upload's hash needs across restarts (hasher_save()). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "common/digest.h"
#include "common/xmalloc.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hasher {
	enum digest_alg alg;
	union {
		SHA256_CTX s256;
		SHA512_CTX s512;
	} u;
};

const char *digest_alg_name(enum digest_alg alg)
{
	return alg == DIGEST_SHA512 ? "sha512" : "sha256";
}

size_t digest_hex_len(enum digest_alg alg)
{
	return alg == DIGEST_SHA512 ? 128 : 64;
}

static bool digest_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int digest_alg_parse(const char *s, size_t len, enum digest_alg *out,
		     struct err *e)
{
	if (len == 6 && !memcmp(s, "sha256", 6))
		*out = DIGEST_SHA256;
	else if (len == 6 && !memcmp(s, "sha512", 6))
		*out = DIGEST_SHA512;
	else
		return err_set(e, ERR_DIGEST_INVALID,
			       "unsupported digest algorithm '%.*s'",
			       (int)(len > 32 ? 32 : len), s);
	return 0;
}

int digest_parse(const char *s, size_t len, struct digest *out, struct err *e)
{
	const char *colon = memchr(s, ':', len);
	size_t alen, hlen;
	enum digest_alg alg;

	if (!colon)
		return err_set(e, ERR_DIGEST_INVALID,
			       "digest has no algorithm prefix");
	alen = (size_t)(colon - s);
	hlen = len - alen - 1;
	if (digest_alg_parse(s, alen, &alg, e) < 0)
		return -1;
	if (hlen != digest_hex_len(alg))
		return err_set(e, ERR_DIGEST_INVALID,
			       "%s digest must have %zu hex digits, not %zu",
			       digest_alg_name(alg), digest_hex_len(alg), hlen);
	for (size_t i = 0; i < hlen; i++)
		if (!digest_is_hex(colon[1 + i]))
			return err_set(e, ERR_DIGEST_INVALID,
				       "digest must be lower-case hex");
	out->alg = alg;
	memcpy(out->hex, colon + 1, hlen);
	out->hex[hlen] = '\0';
	return 0;
}

const char *digest_str(const struct digest *d, char out[DIGEST_STR_MAX])
{
	snprintf(out, DIGEST_STR_MAX, "%s:%s", digest_alg_name(d->alg), d->hex);
	return out;
}

bool digest_eq(const struct digest *a, const struct digest *b)
{
	return a->alg == b->alg && !strcmp(a->hex, b->hex);
}

int digest_cmp(const struct digest *a, const struct digest *b)
{
	if (a->alg != b->alg)
		return a->alg < b->alg ? -1 : 1;
	return strcmp(a->hex, b->hex);
}

static int digest_qsort_cmp(const void *a, const void *b)
{
	return digest_cmp(a, b);
}

void digest_sort_unique(struct digest *v, size_t *n)
{
	size_t k = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(*v), digest_qsort_cmp);
	for (size_t i = 0; i < *n; i++)
		if (k == 0 || !digest_eq(&v[k - 1], &v[i]))
			v[k++] = v[i];
	*n = k;
}

struct hasher *hasher_new(enum digest_alg alg)
{
	struct hasher *h = xcalloc(1, sizeof(*h));

	h->alg = alg;
	if (alg == DIGEST_SHA512 ? !SHA512_Init(&h->u.s512)
				 : !SHA256_Init(&h->u.s256))
		abort();
	return h;
}

void hasher_update(struct hasher *h, const void *data, size_t len)
{
	if (!len)
		return;
	if (h->alg == DIGEST_SHA512 ? !SHA512_Update(&h->u.s512, data, len)
				    : !SHA256_Update(&h->u.s256, data, len))
		abort();
}

void hasher_final(struct hasher *h, struct digest *out)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char md[SHA512_DIGEST_LENGTH];
	unsigned int n;

	if (h->alg == DIGEST_SHA512) {
		n = SHA512_DIGEST_LENGTH;
		if (!SHA512_Final(md, &h->u.s512))
			abort();
	} else {
		n = SHA256_DIGEST_LENGTH;
		if (!SHA256_Final(md, &h->u.s256))
			abort();
	}
	out->alg = h->alg;
	for (unsigned int i = 0; i < n; i++) {
		out->hex[2 * i] = hexd[md[i] >> 4];
		out->hex[2 * i + 1] = hexd[md[i] & 15];
	}
	out->hex[2 * n] = '\0';
}

struct hasher *hasher_dup(const struct hasher *h)
{
	struct hasher *c = xmalloc(sizeof(*c));

	*c = *h;
	return c;
}

void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
}

/* The saved state: a tag, then the context's fields one by one, each in
 * the byte order of this machine (a state is read back where it was
 * written), so nothing depends on the struct's padding. */
#define HASHER_TAG_256 0x32353601u /* "256", version 1 */
#define HASHER_TAG_512 0x35313201u

struct hasher_io {
	unsigned char *p;
	const unsigned char *q;
	size_t n, cap;
	bool bad;
};

static void io_put(struct hasher_io *io, const void *v, size_t len)
{
	if (io->n + len > io->cap) {
		io->bad = true;
		return;
	}
	memcpy(io->p + io->n, v, len);
	io->n += len;
}

static void io_get(struct hasher_io *io, void *v, size_t len)
{
	if (io->n + len > io->cap) {
		io->bad = true;
		memset(v, 0, len);
		return;
	}
	memcpy(v, io->q + io->n, len);
	io->n += len;
}

size_t hasher_save(const struct hasher *h, unsigned char *out, size_t cap)
{
	struct hasher_io io = {.p = out, .cap = cap};
	uint32_t tag;

	if (h->alg == DIGEST_SHA512) {
		const SHA512_CTX *c = &h->u.s512;

		tag = HASHER_TAG_512;
		io_put(&io, &tag, sizeof(tag));
		io_put(&io, c->h, sizeof(c->h));
		io_put(&io, &c->Nl, sizeof(c->Nl));
		io_put(&io, &c->Nh, sizeof(c->Nh));
		io_put(&io, c->u.p, sizeof(c->u.p));
		io_put(&io, &c->num, sizeof(c->num));
	} else {
		const SHA256_CTX *c = &h->u.s256;

		tag = HASHER_TAG_256;
		io_put(&io, &tag, sizeof(tag));
		io_put(&io, c->h, sizeof(c->h));
		io_put(&io, &c->Nl, sizeof(c->Nl));
		io_put(&io, &c->Nh, sizeof(c->Nh));
		io_put(&io, c->data, sizeof(c->data));
		io_put(&io, &c->num, sizeof(c->num));
	}
	return io.bad ? 0 : io.n;
}

struct hasher *hasher_load(enum digest_alg alg, const void *in, size_t len)
{
	struct hasher_io io = {.q = in, .cap = len};
	struct hasher *h = hasher_new(alg);
	uint32_t tag;
	bool ok;

	io_get(&io, &tag, sizeof(tag));
	if (alg == DIGEST_SHA512) {
		SHA512_CTX *c = &h->u.s512;

		io_get(&io, c->h, sizeof(c->h));
		io_get(&io, &c->Nl, sizeof(c->Nl));
		io_get(&io, &c->Nh, sizeof(c->Nh));
		io_get(&io, c->u.p, sizeof(c->u.p));
		io_get(&io, &c->num, sizeof(c->num));
		ok = tag == HASHER_TAG_512 && c->num < sizeof(c->u.p);
	} else {
		SHA256_CTX *c = &h->u.s256;

		io_get(&io, c->h, sizeof(c->h));
		io_get(&io, &c->Nl, sizeof(c->Nl));
		io_get(&io, &c->Nh, sizeof(c->Nh));
		io_get(&io, c->data, sizeof(c->data));
		io_get(&io, &c->num, sizeof(c->num));
		ok = tag == HASHER_TAG_256 && c->num < sizeof(c->data);
	}
	if (!ok || io.bad || io.n != len) {
		hasher_free(h);
		return NULL;
	}
	return h;
}

void digest_of(enum digest_alg alg, const void *data, size_t len,
	       struct digest *out)
{
	struct hasher *h = hasher_new(alg);

	hasher_update(h, data, len);
	hasher_final(h, out);
	hasher_free(h);
}
