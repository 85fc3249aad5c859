/* jwt.c: keys, JWS signatures and JWT claims (RFC 7515/7519, the
 * distribution token spec).
 *
 * Only ES256 (P-256) and RS256 are accepted, and only with a key of that
 * type: "none", HS*, or an alg that does not fit the key are refused, so
 * a public key can never be used as an HMAC secret.  Which keys may verify
 * a token is decided by its issuer: our own tokens by our key, the
 * external issuer's by its trust file (or an x5c chain rooted there).
 * Embedded "jwk" headers are never trusted.
 *
 * ES256 signatures are raw r||s (64 bytes) on the wire, DER in OpenSSL.
 */
#include "auth/auth_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "common/banned.h"

#define KEYS_MAX 64
#define X5C_MAX	 8

/* --- base64 --------------------------------------------------------------- */

char *auth_b64url_encode(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (char *p = out; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

/* Decodes standard base64 of length len % 4 == 0 (padding included). */
static unsigned char *b64_block(const char *s, size_t len, size_t pad,
				size_t *len_out)
{
	unsigned char *out = xmalloc(len / 4 * 3 + 1);
	int n;

	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(out);
		return NULL;
	}
	n -= (int)pad;
	out[n] = '\0';
	*len_out = (size_t)n;
	return out;
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9');
}

unsigned char *auth_b64url_decode(const char *s, size_t len, size_t *len_out)
{
	unsigned char *out;
	size_t pad = (4 - len % 4) % 4;
	char *tmp;

	if (len % 4 == 1 || len > INT32_MAX / 2)
		return NULL;
	tmp = xmalloc(len + pad + 1);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!b64_char(c)) {
			free(tmp);
			return NULL;
		}
		tmp[i] = c;
	}
	memset(tmp + len, '=', pad);
	out = b64_block(tmp, len + pad, pad, len_out);
	free(tmp);
	return out;
}

unsigned char *auth_b64_decode(const char *s, size_t len, size_t *len_out)
{
	size_t pad = 0;

	if (len % 4 || len > INT32_MAX / 2)
		return NULL;
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char(s[i]) && s[i] != '+' && s[i] != '/')
			return NULL;
	return b64_block(s, len, pad, len_out);
}

/* --- Keys ----------------------------------------------------------------- */

/* libtrust's key id (what docker's distribution puts in "kid"): the first
 * 240 bits of SHA-256 of the SubjectPublicKeyInfo, base32, in groups of 4
 * joined by ':'.  base32 is a dozen lines, so it is ours. */
static int key_id(EVP_PKEY *pkey, char out[AUTH_KID_LEN])
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char md[SHA256_DIGEST_LENGTH], *der = NULL;
	char s[49];
	size_t o = 0;
	int n;

	n = i2d_PUBKEY(pkey, &der);
	if (n <= 0)
		return -1;
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	for (size_t i = 0; i < 30; i += 5) {
		uint64_t v = 0;

		for (size_t j = 0; j < 5; j++)
			v = v << 8 | md[i + j];
		for (int j = 7; j >= 0; j--)
			s[o++] = b32[(v >> (5 * j)) & 31];
	}
	s[48] = '\0';
	for (size_t i = 0, w = 0; i < 48; i += 4) {
		if (i)
			out[w++] = ':';
		memcpy(out + w, s + i, 4);
		w += 4;
		out[w] = '\0';
	}
	return 0;
}

int auth_key_init(struct auth_key *k, EVP_PKEY *pkey, struct err *e)
{
	char group[64];

	memset(k, 0, sizeof(*k));
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_group_name(pkey, group, sizeof(group),
					     NULL) ||
		    strcmp(group, "prime256v1")) {
			EVP_PKEY_free(pkey);
			return err_set(e, ERR_INVALID,
				       "EC key is not P-256 (ES256)");
		}
		k->alg = AUTH_ALG_ES256;
		break;
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) < 2048) {
			EVP_PKEY_free(pkey);
			return err_set(e, ERR_INVALID,
				       "RSA key shorter than 2048 bits");
		}
		k->alg = AUTH_ALG_RS256;
		break;
	default:
		EVP_PKEY_free(pkey);
		return err_set(e, ERR_INVALID,
			       "unsupported key type (want EC P-256 or RSA)");
	}
	if (key_id(pkey, k->kid) < 0) {
		EVP_PKEY_free(pkey);
		return err_set(e, ERR_INTERNAL, "cannot encode public key");
	}
	k->pkey = pkey;
	return 0;
}

void auth_key_release(struct auth_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

/* Encrypted keys fail instead of prompting on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int ssl_err(struct err *e, enum err_code code, const char *what,
		   const char *path)
{
	char msg[160];
	unsigned long l = ERR_peek_last_error();

	ERR_error_string_n(l, msg, sizeof(msg));
	ERR_clear_error();
	return err_set(e, code, "%s %s: %s", what, path, l ? msg : "failed");
}

/* Writes a new P-256 key to path: a 0600 temp file, fsynced, then linked
 * into place so that a concurrent generator's key wins whole. */
static int key_generate(const char *path, struct err *e)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int fd, ret = -1;

	fd = mkstemp(tmp);
	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "create %s", tmp);
		goto out;
	}
	pkey = EVP_EC_gen("P-256");
	bio = BIO_new_fd(fd, BIO_NOCLOSE);
	if (!pkey || !bio || fchmod(fd, 0600) < 0 ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) ||
	    BIO_flush(bio) != 1) {
		ssl_err(e, ERR_IO, "write key", tmp);
		goto out_unlink;
	}
	if (fsync(fd) < 0) {
		err_errno(e, ERR_IO, errno, "fsync %s", tmp);
		goto out_unlink;
	}
	if (link(tmp, path) < 0 && errno != EEXIST) {
		err_errno(e, ERR_IO, errno, "link %s", path);
		goto out_unlink;
	}
	log_msg(LL_INFO, "auth: token signing key %s ready", path);
	ret = 0;
out_unlink:
	unlink(tmp);
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	if (fd >= 0)
		close(fd);
	free(tmp);
	return ret;
}

int auth_key_load_private(struct auth_key *k, const char *path, bool gen,
			  struct err *e)
{
	struct err ke = ERR_INIT;
	EVP_PKEY *pkey;
	struct stat st;
	BIO *bio;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT || !gen)
			return err_errno(e, ERR_INVALID, errno, "token key %s",
					 path);
		if (key_generate(path, e) < 0)
			return -1;
	} else if (st.st_mode & 077) {
		log_msg(LL_WARN,
			"auth: token key %s is readable by others "
			"(chmod 600 it)",
			path);
	}
	bio = BIO_new_file(path, "r");
	if (!bio)
		return ssl_err(e, ERR_IO, "open", path);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey)
		return ssl_err(e, ERR_INVALID, "read private key", path);
	if (auth_key_init(k, pkey, &ke) < 0)
		return err_set(e, ERR_INVALID, "token key %s: %.200s", path,
			       ke.msg);
	return 0;
}

/* One PEM block of a trust file: a certificate (also added to roots for
 * x5c) or a public key. */
static int keyset_add(struct auth_keyset *ks, const char *name,
		      const unsigned char *der, long len, struct err *e)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = NULL;
	X509 *cert;

	if (!strcmp(name, "CERTIFICATE")) {
		cert = d2i_X509(NULL, &p, len);
		if (!cert)
			return err_set(e, ERR_INVALID, "bad certificate");
		if (!ks->roots)
			ks->roots = X509_STORE_new();
		X509_STORE_add_cert(ks->roots, cert);
		pkey = X509_get_pubkey(cert);
		X509_free(cert);
	} else if (!strcmp(name, "PUBLIC KEY")) {
		pkey = d2i_PUBKEY(NULL, &p, len);
	} else if (!strcmp(name, "RSA PUBLIC KEY")) {
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
	} else {
		return err_set(e, ERR_INVALID,
			       "unexpected PEM block \"%s\" (want public keys "
			       "or certificates)",
			       name);
	}
	if (!pkey)
		return err_set(e, ERR_INVALID, "bad %s", name);
	if (ks->n == KEYS_MAX) {
		EVP_PKEY_free(pkey);
		return err_set(e, ERR_INVALID, "more than %d keys", KEYS_MAX);
	}
	if (auth_key_init(&ks->v[ks->n], pkey, e) < 0)
		return -1;
	ks->n++;
	return 0;
}

int auth_keyset_load(struct auth_keyset *ks, const char *path, struct err *e)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len;
	BIO *bio;
	int ret = -1;

	memset(ks, 0, sizeof(*ks));
	ks->v = xcalloc(KEYS_MAX, sizeof(*ks->v));
	bio = BIO_new_file(path, "r");
	if (!bio)
		return ssl_err(e, ERR_INVALID, "open token trust file", path);
	while (PEM_read_bio(bio, &name, &header, &data, &len)) {
		struct err ke = ERR_INIT;
		int r = keyset_add(ks, name, data, len, &ke);

		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (r < 0) {
			err_set(e, ERR_INVALID, "token trust file %s: %.200s",
				path, ke.msg);
			goto out;
		}
	}
	ERR_clear_error(); /* the end of the file reads as an error */
	if (ks->n == 0) {
		err_set(e, ERR_INVALID,
			"token trust file %s: no public keys "
			"or certificates",
			path);
		goto out;
	}
	ret = 0;
out:
	BIO_free(bio);
	return ret;
}

void auth_keyset_release(struct auth_keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		auth_key_release(&ks->v[i]);
	free(ks->v);
	X509_STORE_free(ks->roots);
	memset(ks, 0, sizeof(*ks));
}

/* --- Signatures ----------------------------------------------------------- */

/* DER ECDSA-Sig-Value -> raw r||s. */
static int ecdsa_der_to_raw(const unsigned char *der, size_t len,
			    unsigned char raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (!sig)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, 32) == 32 &&
	     BN_bn2binpad(s, raw + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

/* raw r||s -> DER; the caller frees *der with OPENSSL_free. */
static int ecdsa_raw_to_der(const unsigned char raw[64], unsigned char **der,
			    size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL),
	       *s = BN_bin2bn(raw + 32, 32, NULL);
	int n = -1;

	if (sig && r && s && ECDSA_SIG_set0(sig, r, s)) {
		r = s = NULL;
		*der = NULL;
		n = i2d_ECDSA_SIG(sig, der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

int auth_jws_sign(const struct auth_key *k, const char *header,
		  const char *claims, char **out, struct err *e)
{
	char *h64 = auth_b64url_encode(header, strlen(header));
	char *c64 = auth_b64url_encode(claims, strlen(claims));
	char *input = xasprintf("%s.%s", h64, c64), *s64 = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL, raw[64];
	size_t siglen = 0;
	int ret = -1;

	if (!ctx ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *)input,
			   strlen(input)) != 1) {
		ssl_err(e, ERR_INTERNAL, "sign", "token");
		goto out;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input,
			   strlen(input)) != 1) {
		ssl_err(e, ERR_INTERNAL, "sign", "token");
		goto out;
	}
	if (k->alg == AUTH_ALG_ES256) {
		if (ecdsa_der_to_raw(sig, siglen, raw) < 0) {
			err_set(e, ERR_INTERNAL, "sign token: bad ECDSA value");
			goto out;
		}
		s64 = auth_b64url_encode(raw, sizeof(raw));
	} else {
		s64 = auth_b64url_encode(sig, siglen);
	}
	*out = xasprintf("%s.%s", input, s64);
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(sig);
	free(s64);
	free(input);
	free(h64);
	free(c64);
	return ret;
}

/* Does sig (as on the wire) verify input under pkey? */
static bool sig_ok(EVP_PKEY *pkey, enum auth_alg alg, const char *input,
		   size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	size_t derlen = 0;
	bool ok = false;

	if (alg == AUTH_ALG_ES256) {
		if (siglen != 64 || ecdsa_raw_to_der(sig, &der, &derlen) < 0)
			goto out;
		sig = der;
		siglen = derlen;
	} else if (siglen != (size_t)EVP_PKEY_get_size(pkey)) {
		goto out;
	}
	ok = ctx &&
	     EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input,
			      len) == 1;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}

/* The key of a valid x5c chain ending in one of the trust file's certs. */
static EVP_PKEY *x5c_key(struct auth *a, const struct auth_keyset *ks,
			 json_t *x5c)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE_CTX *ctx = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *pkey = NULL;
	json_t *v;
	size_t i;

	if (!ks->roots || !json_is_array(x5c) || json_array_size(x5c) == 0 ||
	    json_array_size(x5c) > X5C_MAX || !chain)
		goto out;
	json_array_foreach(x5c, i, v) {
		unsigned char *der;
		const unsigned char *p;
		size_t len;
		X509 *c;

		if (!json_is_string(v))
			goto out;
		der = auth_b64_decode(json_string_value(v),
				      json_string_length(v), &len);
		if (!der)
			goto out;
		p = der;
		c = d2i_X509(NULL, &p, (long)len);
		free(der);
		if (!c)
			goto out;
		if (i == 0)
			leaf = c;
		else if (!sk_X509_push(chain, c))
			X509_free(c);
	}
	ctx = X509_STORE_CTX_new();
	if (!ctx || !X509_STORE_CTX_init(ctx, ks->roots, leaf, chain))
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), a->now());
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
				    X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_verify_cert(ctx) == 1)
		pkey = X509_get_pubkey(leaf);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return pkey;
}

static bool pkey_fits(EVP_PKEY *pkey, enum auth_alg alg)
{
	struct auth_key k;
	struct err e = ERR_INIT;
	bool ok;

	if (!EVP_PKEY_up_ref(pkey))
		return false;
	if (auth_key_init(&k, pkey, &e) < 0)
		return false;
	ok = k.alg == alg;
	auth_key_release(&k);
	return ok;
}

/* Tries the keys that may sign for this issuer: an x5c leaf chained to the
 * trust file; else the key named by kid; else each key of the alg's type. */
static bool keyset_verify(struct auth *a, const struct auth_keyset *ks,
			  json_t *hdr, enum auth_alg alg, const char *input,
			  size_t len, const unsigned char *sig, size_t siglen)
{
	json_t *kid = json_object_get(hdr, "kid");
	EVP_PKEY *leaf;
	bool ok;

	leaf = x5c_key(a, ks, json_object_get(hdr, "x5c"));
	if (leaf) {
		ok = pkey_fits(leaf, alg) &&
		     sig_ok(leaf, alg, input, len, sig, siglen);
		EVP_PKEY_free(leaf);
		if (ok)
			return true;
	}
	if (json_is_string(kid))
		for (size_t i = 0; i < ks->n; i++)
			if (!strcmp(ks->v[i].kid, json_string_value(kid)))
				return ks->v[i].alg == alg &&
				       sig_ok(ks->v[i].pkey, alg, input, len,
					      sig, siglen);
	for (size_t i = 0; i < ks->n; i++)
		if (ks->v[i].alg == alg &&
		    sig_ok(ks->v[i].pkey, alg, input, len, sig, siglen))
			return true;
	return false;
}

/* --- Claims --------------------------------------------------------------- */

static json_t *json_part(const char *s, size_t len)
{
	unsigned char *raw;
	size_t n;
	json_t *j;

	raw = auth_b64url_decode(s, len, &n);
	if (!raw)
		return NULL;
	j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static bool aud_has(json_t *aud, const char *want)
{
	json_t *v;
	size_t i;

	if (json_is_string(aud))
		return !strcmp(json_string_value(aud), want);
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), want))
			return true;
	return false;
}

static int check_times(struct auth *a, json_t *claims, double *exp_out,
		       struct err *e)
{
	json_t *exp = json_object_get(claims, "exp");
	json_t *nbf = json_object_get(claims, "nbf");
	json_t *iat = json_object_get(claims, "iat");
	double now = (double)a->now();

	if (!json_is_number(exp))
		return err_set(e, ERR_UNAUTHORIZED, "token has no exp");
	if (now >= json_number_value(exp) + AUTH_SKEW_S)
		return err_set(e, ERR_UNAUTHORIZED, "token expired");
	if (nbf && (!json_is_number(nbf) ||
		    json_number_value(nbf) > now + AUTH_SKEW_S))
		return err_set(e, ERR_UNAUTHORIZED, "token not valid yet");
	if (iat && (!json_is_number(iat) ||
		    json_number_value(iat) > now + AUTH_SKEW_S))
		return err_set(e, ERR_UNAUTHORIZED,
			       "token issued in the future");
	*exp_out = json_number_value(exp);
	return 0;
}

static int parse_alg(json_t *hdr, enum auth_alg *alg, struct err *e)
{
	const char *s = json_string_value(json_object_get(hdr, "alg"));

	if (json_object_get(hdr, "crit"))
		return err_set(e, ERR_UNAUTHORIZED,
			       "token has critical headers we do not know");
	if (s && !strcmp(s, "ES256"))
		*alg = AUTH_ALG_ES256;
	else if (s && !strcmp(s, "RS256"))
		*alg = AUTH_ALG_RS256;
	else
		return err_set(e, ERR_UNAUTHORIZED,
			       "token algorithm not accepted");
	return 0;
}

int auth_jwt_verify(struct auth *a, const char *tok, size_t len,
		    const char *aud, struct auth_claims *out, struct err *e)
{
	const char *d1, *d2, *iss;
	json_t *hdr = NULL, *claims = NULL, *sub;
	unsigned char *sig = NULL;
	enum auth_alg alg = AUTH_ALG_ES256;
	size_t siglen;
	bool own, ok;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (len > AUTH_TOKEN_MAX)
		return err_set(e, ERR_UNAUTHORIZED, "token too long");
	d1 = memchr(tok, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
		return err_set(e, ERR_UNAUTHORIZED, "malformed token");
	hdr = json_part(tok, (size_t)(d1 - tok));
	claims = json_part(d1 + 1, (size_t)(d2 - d1 - 1));
	sig = auth_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - tok), &siglen);
	if (!hdr || !claims || !sig) {
		err_set(e, ERR_UNAUTHORIZED, "malformed token");
		goto out;
	}
	if (parse_alg(hdr, &alg, e) < 0)
		goto out;
	/* The issuer picks the keys; a forged iss only picks keys that will
	 * not verify. */
	iss = json_string_value(json_object_get(claims, "iss"));
	own = iss && a->own.pkey && !strcmp(iss, a->issuer);
	if (!own && !(iss && a->ext_issuer && !strcmp(iss, a->ext_issuer))) {
		err_set(e, ERR_UNAUTHORIZED, "token from an untrusted issuer");
		goto out;
	}
	if (own)
		ok = a->own.alg == alg &&
		     sig_ok(a->own.pkey, alg, tok, (size_t)(d2 - tok), sig,
			    siglen);
	else
		ok = keyset_verify(a, &a->ext, hdr, alg, tok,
				   (size_t)(d2 - tok), sig, siglen);
	if (!ok) {
		err_set(e, ERR_UNAUTHORIZED, "token signature invalid");
		goto out;
	}
	if (!aud_has(json_object_get(claims, "aud"), aud)) {
		err_set(e, ERR_UNAUTHORIZED, "token is for another audience");
		goto out;
	}
	if (check_times(a, claims, &out->exp, e) < 0)
		goto out;
	sub = json_object_get(claims, "sub");
	if (sub && !json_is_string(sub)) {
		err_set(e, ERR_UNAUTHORIZED, "token sub is not a string");
		goto out;
	}
	out->root = claims;
	out->iss = iss;
	out->sub = json_string_value(sub);
	out->own = own;
	out->access = json_object_get(claims, "access");
	claims = NULL;
	ret = 0;
out:
	json_decref(hdr);
	json_decref(claims);
	free(sig);
	return ret;
}

void auth_claims_release(struct auth_claims *c)
{
	json_decref(c->root);
	memset(c, 0, sizeof(*c));
}

/* "repository(plugin)" is "repository": the class is ignored. */
static bool type_is(const char *t, const char *want)
{
	size_t n = strlen(want);

	return !strncmp(t, want, n) && (t[n] == '\0' || t[n] == '(');
}

unsigned auth_claims_granted(const struct auth_claims *c,
			     enum auth_scope_type type, const char *name)
{
	const char *want =
		type == AUTH_SCOPE_REPOSITORY ? "repository" : "registry";
	json_t *ent, *act;
	unsigned g = 0;
	size_t i, j;

	if (!json_is_array(c->access))
		return 0;
	json_array_foreach(c->access, i, ent) {
		const char *t = json_string_value(json_object_get(ent, "type"));
		const char *n = json_string_value(json_object_get(ent, "name"));
		json_t *acts = json_object_get(ent, "actions");

		if (!t || !n || !type_is(t, want) || strcmp(n, name) ||
		    !json_is_array(acts))
			continue;
		json_array_foreach(acts, j, act)
			if (json_is_string(act))
				g |= auth_action_parse(json_string_value(act),
						       json_string_length(act));
	}
	return g;
}
