#include "common/digest.h"
#include "common/xmalloc.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hasher {
	enum digest_alg alg;
	EVP_MD_CTX *ctx;
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
	if (alen == 6 && !memcmp(s, "sha256", 6))
		alg = DIGEST_SHA256;
	else if (alen == 6 && !memcmp(s, "sha512", 6))
		alg = DIGEST_SHA512;
	else
		return err_set(e, ERR_DIGEST_INVALID,
			       "unsupported digest algorithm '%.*s'",
			       (int)(alen > 32 ? 32 : alen), s);
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
	snprintf(out, DIGEST_STR_MAX, "%s:%s", digest_alg_name(d->alg),
		 d->hex);
	return out;
}

bool digest_eq(const struct digest *a, const struct digest *b)
{
	return a->alg == b->alg && !strcmp(a->hex, b->hex);
}

static const EVP_MD *digest_md(enum digest_alg alg)
{
	return alg == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256();
}

struct hasher *hasher_new(enum digest_alg alg)
{
	struct hasher *h = xmalloc(sizeof(*h));

	h->alg = alg;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, digest_md(alg), NULL))
		abort();
	return h;
}

void hasher_update(struct hasher *h, const void *data, size_t len)
{
	if (len && !EVP_DigestUpdate(h->ctx, data, len))
		abort();
}

void hasher_final(struct hasher *h, struct digest *out)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(h->ctx, md, &n))
		abort();
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

	c->alg = h->alg;
	c->ctx = EVP_MD_CTX_new();
	if (!c->ctx || !EVP_MD_CTX_copy_ex(c->ctx, h->ctx))
		abort();
	return c;
}

void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void digest_of(enum digest_alg alg, const void *data, size_t len,
	       struct digest *out)
{
	struct hasher *h = hasher_new(alg);

	hasher_update(h, data, len);
	hasher_final(h, out);
	hasher_free(h);
}
