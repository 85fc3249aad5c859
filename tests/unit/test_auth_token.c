/* test_auth_token.c: token mode: the token endpoint (GET, OAuth2 POST,
 * refresh), JWT validation and its attacks, external issuers (RSA keys,
 * certificate bundles, x5c), and tokens signed elsewhere (interop). */
#define _XOPEN_SOURCE 700 /* nftw */

#include "test_auth_util.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define DATA "tests/data/auth/"

struct fx {
	char *dir;
	char *access;
	struct auth *a;
	struct auth *ext; /* also trusts an external issuer */
	EVP_PKEY *rsa;	  /* the external issuer's key (borrowed) */
};

/* RSA keys take a while to make: one for all tests. */
static EVP_PKEY *rsa_key;

static int group_setup(void **state)
{
	(void)state;
	rsa_key = EVP_RSA_gen(2048);
	return rsa_key ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	return 0;
}

static const char rules_json[] =
	"{\"groups\": {\"admins\": [\"alice\"]},\n"
	" \"rules\": [\n"
	"  {\"users\": [\"alice\"], \"repositories\": [\"team/*\"],\n"
	"   \"actions\": [\"pull\", \"push\"]},\n"
	"  {\"users\": [\"bob\", \"dave\"], \"repositories\": [\"team/*\"],\n"
	"   \"actions\": [\"pull\"]},\n"
	"  {\"users\": [\"anonymous\"], \"repositories\": [\"public/*\"],\n"
	"   \"actions\": [\"pull\"]},\n"
	"  {\"users\": [\"group:admins\"], \"repositories\": [\"*\"],\n"
	"   \"actions\": [\"admin\"]}\n"
	" ]}\n";

static struct auth *new_auth(struct fx *f, const char *issuer,
			     const char *trust)
{
	struct auth_config cfg = {0};
	struct err e = ERR_INIT;
	struct auth *a;

	cfg.mode = AUTH_MODE_TOKEN;
	cfg.data_dir = f->dir;
	cfg.access = f->access;
	cfg.token_issuer = issuer;
	cfg.token_trust = trust;
	a = auth_new(&cfg, &e);
	if (!a)
		fail_msg("auth_new: %s", e.msg);
	auth_set_clock(a, fake_clock);
	return a;
}

static char *pubkey_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;

	assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &p);
	s = xstrndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char *p, *trust;

	fake_now = time(NULL);
	f->dir = unit_tmpdir("auth");
	p = write_file(f->dir, "htpasswd", ALICE_LINE "\n" BOB_LINE "\n");
	free(p);
	f->access = write_file(f->dir, "access.json", rules_json);
	f->a = new_auth(f, NULL, NULL);
	f->rsa = rsa_key;
	p = pubkey_pem(f->rsa);
	trust = write_file(f->dir, "trust.pem", p);
	f->ext = new_auth(f, "ext-issuer", trust);
	free(trust);
	free(p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	auth_free(f->a);
	auth_free(f->ext);
	unit_tmpdir_free(f->dir);
	free(f->access);
	free(f);
	return 0;
}

/* --- Helpers -------------------------------------------------------------- */

/* Runs the token endpoint; returns the reply (NULL on failure, with *e). */
/* A token request on an event-loop thread (quick): a password the login
 * cache does not know comes back AUTH_LATER, unchecked. */
static int token_quick(struct auth *a, enum auth_token_method m,
		       const char *form, const char *authz)
{
	struct auth_token_req req = {m,	   form,	strlen(form), authz,
				     NULL, "192.0.2.9", true};
	struct auth_result res;
	struct err e = ERR_INIT;
	char *out = NULL;
	int r = auth_token_request(a, &req, &res, &out, &e);

	auth_result_release(&res);
	free(out);
	return r;
}

static json_t *token_req(struct auth *a, enum auth_token_method m,
			 const char *form, const char *authz,
			 struct auth_result *res, struct err *e)
{
	struct auth_token_req req = {m,	   form,	strlen(form), authz,
				     NULL, "192.0.2.9", false};
	char *out = NULL;
	json_t *j;

	err_clear(e);
	if (auth_token_request(a, &req, res, &out, e) < 0) {
		assert_null(out);
		return NULL;
	}
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	free(out);
	return j;
}

/* A token from the endpoint, or fail. */
static char *get_token(struct auth *a, const char *form, const char *authz)
{
	struct auth_result res;
	struct err e = ERR_INIT;
	json_t *j = token_req(a, AUTH_TOKEN_GET, form, authz, &res, &e);
	char *tok;

	if (!j)
		fail_msg("token request '%s': %s", form, e.msg);
	tok = xstrdup(json_string_value(json_object_get(j, "token")));
	assert_string_equal(
		tok, json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	auth_result_release(&res);
	return tok;
}

/* The JSON of part i (0 header, 1 claims) of a JWT. */
static json_t *jwt_part(const char *tok, int i)
{
	const char *p = tok, *end;
	unsigned char *raw;
	size_t n;
	json_t *j;

	while (i--)
		p = strchr(p, '.') + 1;
	end = strchr(p, '.');
	raw = auth_b64url_decode(p, (size_t)(end - p), &n);
	assert_non_null(raw);
	j = json_loadb((char *)raw, n, 0, NULL);
	assert_non_null(j);
	free(raw);
	return j;
}

static char *bearer(const char *tok)
{
	return xasprintf("Bearer %s", tok);
}

/* Signs arbitrary header and claims with key k (whatever alg the header
 * says: that is the point of some tests). */
static char *craft(EVP_PKEY *pkey, const char *header, const char *claims)
{
	struct auth_key k;
	struct err e = ERR_INIT;
	char *tok;

	assert_int_equal(EVP_PKEY_up_ref(pkey), 1);
	assert_int_equal(auth_key_init(&k, pkey, &e), 0);
	assert_int_equal(auth_jws_sign(&k, header, claims, &tok, &e), 0);
	auth_key_release(&k);
	return tok;
}

static char *claims(const char *iss, const char *sub, const char *aud,
		    long exp_off, long nbf_off, const char *access)
{
	return xasprintf("{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,"
			 "\"exp\":%ld,\"nbf\":%ld,\"iat\":%ld,\"jti\":\"x\","
			 "\"access\":%s}",
			 iss, sub, aud, (long)fake_now + exp_off,
			 (long)fake_now + nbf_off, (long)fake_now, access);
}

#define PULL_APP                                                               \
	"[{\"type\":\"repository\",\"name\":\"team/"                           \
	"app\",\"actions\":[\"pull\"]}]"
#define ES256_HDR "{\"typ\":\"JWT\",\"alg\":\"ES256\"}"
#define RS256_HDR "{\"typ\":\"JWT\",\"alg\":\"RS256\"}"

/* auth_check of a bearer token for one repository scope. */
static void expect_tok(struct auth *a, const char *tok, const char *repo,
		       unsigned actions, enum err_code want)
{
	char *h = bearer(tok);

	expect(a, h, NULL, repo, actions, want);
	free(h);
}

/* --- Pieces --------------------------------------------------------------- */

static void test_b64url(void **state)
{
	const unsigned char bytes[] = {0xfb, 0xff, 0x00, 0x3e, 0x3f, 'a'};
	unsigned char *d;
	size_t n;

	(void)state;
	for (size_t len = 0; len <= sizeof(bytes); len++) {
		char *s = auth_b64url_encode(bytes, len);

		assert_null(strchr(s, '='));
		assert_null(strchr(s, '+'));
		assert_null(strchr(s, '/'));
		d = auth_b64url_decode(s, strlen(s), &n);
		assert_non_null(d);
		assert_int_equal(n, len);
		assert_memory_equal(d, bytes, len);
		free(d);
		free(s);
	}
	assert_null(auth_b64url_decode("+_8A", 4, &n));
	assert_null(auth_b64url_decode("-_8=", 4, &n));
	assert_null(auth_b64url_decode("abcde", 5, &n));
	assert_null(auth_b64url_decode("ab c", 4, &n));
	d = auth_b64_decode("YTpi", 4, &n);
	assert_int_equal(n, 3);
	assert_string_equal((char *)d, "a:b");
	free(d);
	assert_null(auth_b64_decode("YTp", 3, &n));
	assert_null(auth_b64_decode("YT-i", 4, &n));
}

static void scope_ok(const char *s, enum auth_scope_type type, const char *name,
		     unsigned actions)
{
	struct auth_scope_item it;
	struct err e = ERR_INIT;

	assert_int_equal(auth_scope_parse(s, strlen(s), &it, &e), 1);
	assert_int_equal(it.type, type);
	assert_string_equal(it.name, name);
	assert_int_equal(it.actions, actions);
}

static void test_scope_parse(void **state)
{
	struct auth_scope_item it;
	struct err e = ERR_INIT;
	const char *bad[] = {"repository:pull",	    ":x:pull",
			     "repository::pull",    "repository:a:b:c:pull",
			     "Repository:x:pull",   "repository(:x:pull",
			     "repository:a b:pull", "repository:a\"b:pull"};

	(void)state;
	scope_ok("repository:team/app:pull,push", AUTH_SCOPE_REPOSITORY,
		 "team/app", AUTH_PULL | AUTH_PUSH);
	scope_ok("repository(plugin):x:pull", AUTH_SCOPE_REPOSITORY, "x",
		 AUTH_PULL);
	scope_ok("repository:localhost:5000/foo:pull", AUTH_SCOPE_REPOSITORY,
		 "localhost:5000/foo", AUTH_PULL);
	scope_ok("registry:catalog:*", AUTH_SCOPE_REGISTRY, "catalog",
		 AUTH_ALL);
	scope_ok("repository:a:pull,bogus,,delete", AUTH_SCOPE_REPOSITORY, "a",
		 AUTH_PULL | AUTH_DELETE);
	scope_ok("repository:a:", AUTH_SCOPE_REPOSITORY, "a", 0);
	assert_int_equal(auth_scope_parse("plugin:x:pull", 13, &it, &e), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err_clear(&e);
		if (auth_scope_parse(bad[i], strlen(bad[i]), &it, &e) != -1)
			fail_msg("scope '%s' accepted", bad[i]);
		assert_int_equal(e.code, ERR_INVALID);
	}
}

static void test_key_generated(void **state)
{
	struct fx *f = *state;
	char *path = xasprintf("%s/token.key", f->dir);
	struct auth *again;
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Loaded, not regenerated, next time: tokens survive a restart. */
	again = new_auth(f, NULL, NULL);
	assert_string_equal(again->own.kid, f->a->own.kid);
	assert_int_equal(strlen(f->a->own.kid), 59);
	auth_free(again);
	free(path);
}

/* --- The token endpoint --------------------------------------------------- */

static void test_get_roundtrip(void **state)
{
	struct fx *f = *state;
	char *alice = basic_header("alice", "alice-pw");
	struct auth_result res;
	struct err e = ERR_INIT;
	json_t *j, *c, *h;
	char *tok;

	j = token_req(f->a, AUTH_TOKEN_GET,
		      "service=customs&scope=repository%3Ateam%2Fapp%3Apull"
		      "%2Cpush&scope=repository:team/lib:pull+repository:"
		      "public/x:pull&account=alice&client_id=docker",
		      alice, &res, &e);
	assert_non_null(j);
	assert_string_equal(res.user, "alice");
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in")),
			 300);
	assert_non_null(json_string_value(json_object_get(j, "issued_at")));
	assert_null(json_object_get(j, "refresh_token"));
	assert_string_equal(json_string_value(json_object_get(j, "scope")),
			    "repository:team/app:pull,push "
			    "repository:team/lib:pull "
			    "repository:public/x:pull");
	tok = xstrdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
	auth_result_release(&res);

	h = jwt_part(tok, 0);
	assert_string_equal(json_string_value(json_object_get(h, "alg")),
			    "ES256");
	assert_string_equal(json_string_value(json_object_get(h, "typ")),
			    "JWT");
	assert_string_equal(json_string_value(json_object_get(h, "kid")),
			    f->a->own.kid);
	json_decref(h);
	c = jwt_part(tok, 1);
	assert_string_equal(json_string_value(json_object_get(c, "iss")),
			    "customs");
	assert_string_equal(json_string_value(json_object_get(c, "sub")),
			    "alice");
	assert_string_equal(json_string_value(json_object_get(c, "aud")),
			    "customs");
	assert_int_equal(json_integer_value(json_object_get(c, "exp")),
			 fake_now + 300);
	assert_int_equal(json_integer_value(json_object_get(c, "nbf")),
			 fake_now);
	assert_int_equal(json_integer_value(json_object_get(c, "iat")),
			 fake_now);
	assert_true(json_string_length(json_object_get(c, "jti")) >= 16);
	h = json_loads("[{\"type\":\"repository\",\"name\":\"team/app\","
		       "\"actions\":[\"pull\",\"push\"]},"
		       "{\"type\":\"repository\",\"name\":\"team/lib\","
		       "\"actions\":[\"pull\"]},"
		       "{\"type\":\"repository\",\"name\":\"public/x\","
		       "\"actions\":[\"pull\"]}]",
		       0, NULL);
	assert_true(json_equal(json_object_get(c, "access"), h));
	json_decref(h);
	json_decref(c);

	/* It opens what it says, and nothing else. */
	expect_tok(f->a, tok, "team/app", AUTH_PULL | AUTH_PUSH, ERR_OK);
	expect_tok(f->a, tok, "team/lib", AUTH_PULL, ERR_OK);
	expect_tok(f->a, tok, NULL, 0, ERR_OK);
	expect_tok(f->a, tok, "team/app", AUTH_DELETE, ERR_DENIED);
	free(tok);
	free(alice);
}

/* Checks our ES256 signature with plain OpenSSL: raw r||s, P-256, over
 * the first two parts. */
static void test_signature_format(void **state)
{
	struct fx *f = *state;
	char *tok = get_token(f->a, "service=customs", NULL);
	const char *dot = strrchr(tok, '.');
	unsigned char *raw, *der = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *sig = ECDSA_SIG_new();
	size_t n;
	int dlen;

	raw = auth_b64url_decode(dot + 1, strlen(dot + 1), &n);
	assert_int_equal(n, 64);
	ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL),
		       BN_bin2bn(raw + 32, 32, NULL));
	dlen = i2d_ECDSA_SIG(sig, &der);
	assert_true(dlen > 0);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
					      f->a->own.pkey),
			 1);
	assert_int_equal(EVP_DigestVerify(ctx, der, (size_t)dlen,
					  (unsigned char *)tok,
					  (size_t)(dot - tok)),
			 1);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	free(raw);
	free(tok);
}

static void test_intersection(void **state)
{
	struct fx *f = *state;
	char *bob = basic_header("bob", "bob-pw");
	char *tok;
	json_t *c;

	/* bob asks for push and gets pull only: not an error. */
	tok = get_token(f->a,
			"service=customs&scope=repository:team/app:pull,"
			"push&scope=repository:secret/x:pull",
			bob);
	c = jwt_part(tok, 1);
	assert_int_equal(json_array_size(json_object_get(c, "access")), 1);
	json_decref(c);
	expect_tok(f->a, tok, "team/app", AUTH_PULL, ERR_OK);
	/* Authenticated, not allowed, a new token would not help: 403. */
	expect_tok(f->a, tok, "team/app", AUTH_PULL | AUTH_PUSH, ERR_DENIED);
	expect_tok(f->a, tok, "secret/x", AUTH_PULL, ERR_DENIED);
	free(tok);

	/* Anonymous: public pull only, sub "". */
	tok = get_token(f->a,
			"scope=repository:public/lib:pull,push&"
			"scope=repository:team/app:pull",
			NULL);
	c = jwt_part(tok, 1);
	assert_string_equal(json_string_value(json_object_get(c, "sub")), "");
	assert_int_equal(json_array_size(json_object_get(c, "access")), 1);
	json_decref(c);
	expect_tok(f->a, tok, "public/lib", AUTH_PULL, ERR_OK);
	expect_tok(f->a, tok, "public/lib", AUTH_PUSH, ERR_UNAUTHORIZED);
	expect_tok(f->a, tok, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(tok);
	free(bob);
}

static void test_scope_escalation(void **state)
{
	struct fx *f = *state;
	char *alice = basic_header("alice", "alice-pw");
	char *tok = get_token(f->a, "scope=repository:team/app:pull", alice);
	char *h = bearer(tok);
	struct auth_result res;

	/* A pull token does not push, though alice may: 401 asking for a
	 * token with the wider scope. */
	res = check_as(f->a, h, NULL, AUTH_SCOPE_REPOSITORY, "team/app",
		       AUTH_PULL | AUTH_PUSH, ERR_UNAUTHORIZED);
	assert_string_equal(
		res.challenge,
		"Bearer realm=\"https://reg.test/v2/_customs/"
		"token\",service=\"customs\",scope=\"repository:"
		"team/app:pull,push\",error=\"insufficient_scope\"");
	assert_string_equal(res.user, "alice");
	auth_result_release(&res);
	/* Nor does it open another repository, even a prefix-sharing one. */
	expect_tok(f->a, tok, "team/other", AUTH_PULL, ERR_UNAUTHORIZED);
	expect_tok(f->a, tok, "team/app2", AUTH_PULL, ERR_UNAUTHORIZED);
	expect_tok(f->a, tok, "team/ap", AUTH_PULL, ERR_UNAUTHORIZED);
	expect_tok(f->a, tok, "team/app/x", AUTH_PULL, ERR_UNAUTHORIZED);
	/* Registry-wide scopes need their own entry. */
	res = check_as(f->a, h, NULL, AUTH_SCOPE_REGISTRY, "db", AUTH_ADMIN,
		       ERR_UNAUTHORIZED);
	auth_result_release(&res);
	free(h);
	free(tok);
	free(alice);
}

static void test_challenges(void **state)
{
	struct fx *f = *state;
	struct auth_result res;
	struct auth_config cfg = {0};
	struct err e = ERR_INIT;
	struct auth *a;

	res = check_as(f->a, NULL, NULL, AUTH_SCOPE_REPOSITORY, NULL, 0,
		       ERR_UNAUTHORIZED);
	assert_string_equal(res.challenge,
			    "Bearer realm=\"https://reg.test/v2/_customs/"
			    "token\",service=\"customs\"");
	auth_result_release(&res);
	res = check_as(f->a, NULL, NULL, AUTH_SCOPE_REPOSITORY, "team/app",
		       AUTH_PULL | AUTH_PUSH, ERR_UNAUTHORIZED);
	assert_string_equal(res.challenge,
			    "Bearer realm=\"https://reg.test/v2/_customs/"
			    "token\",service=\"customs\",scope=\"repository:"
			    "team/app:pull,push\"");
	auth_result_release(&res);
	res = check_as(f->a, "Bearer", NULL, AUTH_SCOPE_REPOSITORY, "x",
		       AUTH_PULL, ERR_UNAUTHORIZED);
	auth_result_release(&res);
	res = check_as(f->a, "Basic YTpi", NULL, AUTH_SCOPE_REPOSITORY, "x",
		       AUTH_PULL, ERR_UNAUTHORIZED);
	assert_non_null(strstr(res.challenge, "Bearer realm="));
	auth_result_release(&res);
	res = check_as(f->a, "Bearer not-a-jwt", NULL, AUTH_SCOPE_REGISTRY,
		       "catalog", AUTH_PULL, ERR_UNAUTHORIZED);
	assert_string_equal(res.challenge,
			    "Bearer realm=\"https://reg.test/v2/_customs/"
			    "token\",service=\"customs\",scope=\"registry:"
			    "catalog:*\",error=\"invalid_token\"");
	auth_result_release(&res);

	/* A configured realm (an external token server) wins. */
	cfg.mode = AUTH_MODE_TOKEN;
	cfg.data_dir = f->dir;
	cfg.service = "reg \"1\"";
	cfg.token_realm = "https://auth.example/token";
	a = auth_new(&cfg, &e);
	assert_non_null(a);
	res = check_as(a, NULL, NULL, AUTH_SCOPE_REPOSITORY, NULL, 0,
		       ERR_UNAUTHORIZED);
	assert_string_equal(res.challenge,
			    "Bearer realm=\"https://auth.example/token\","
			    "service=\"reg \\\"1\\\"\"");
	auth_result_release(&res);
	auth_free(a);
}

static void test_token_times(void **state)
{
	struct fx *f = *state;
	char *alice = basic_header("alice", "alice-pw");
	char *tok = get_token(f->a, "scope=repository:team/app:pull", alice);
	time_t t0 = fake_now;
	char *c, *t;

	fake_now = t0 + 300 + AUTH_SKEW_S - 1;
	expect_tok(f->a, tok, "team/app", AUTH_PULL, ERR_OK);
	fake_now = t0 + 300 + AUTH_SKEW_S;
	expect_tok(f->a, tok, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	fake_now = t0;

	/* nbf ahead: within the skew fine, beyond it not. */
	c = claims("customs", "alice", "\"customs\"", 300, 30, PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_OK);
	free(t);
	free(c);
	c = claims("customs", "alice", "\"customs\"", 300, 120, PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(c);
	/* iat in the future; no exp at all. */
	c = xasprintf("{\"iss\":\"customs\",\"sub\":\"alice\",\"aud\":"
		      "\"customs\",\"exp\":%ld,\"iat\":%ld,\"access\":%s}",
		      (long)t0 + 300, (long)t0 + 3600, PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(c);
	c = xasprintf("{\"iss\":\"customs\",\"sub\":\"alice\",\"aud\":"
		      "\"customs\",\"access\":%s}",
		      PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(c);
	free(tok);
	free(alice);
}

static void test_token_aud_iss_key(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *other = EVP_EC_gen("P-256");
	char *c, *t;

	/* Control: our key, right claims. */
	c = claims("customs", "alice", "\"customs\"", 300, 0, PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_OK);
	free(t);
	/* The same claims signed by a stranger's key. */
	t = craft(other, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(c);
	/* aud: another service; an array holding ours is fine. */
	c = claims("customs", "alice", "\"other\"", 300, 0, PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(c);
	c = claims("customs", "alice", "[\"x\",\"customs\"]", 300, 0, PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_OK);
	free(t);
	free(c);
	/* iss we do not know, even with our key. */
	c = claims("evil", "alice", "\"customs\"", 300, 0, PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(c);
	/* Tampered claims under a good signature. */
	c = claims("customs", "alice", "\"customs\"", 300, 0, PULL_APP);
	t = craft(f->a->own.pkey, ES256_HDR, c);
	{
		char *c2 = claims("customs", "alice", "\"customs\"", 300, 0,
				  "[{\"type\":\"repository\",\"name\":"
				  "\"team/app\",\"actions\":[\"push\"]}]");
		char *p64 = auth_b64url_encode(c2, strlen(c2));
		const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
		char *forged =
			xasprintf("%.*s.%s%s", (int)(d1 - t), t, p64, d2);

		expect_tok(f->a, forged, "team/app", AUTH_PUSH,
			   ERR_UNAUTHORIZED);
		free(forged);
		free(p64);
		free(c2);
	}
	free(t);
	free(c);
	EVP_PKEY_free(other);
}

/* HMAC-signed JWT with an arbitrary secret. */
static char *hs256(const char *header, const char *claims_json,
		   const void *secret, size_t secret_len)
{
	char *h = auth_b64url_encode(header, strlen(header));
	char *c = auth_b64url_encode(claims_json, strlen(claims_json));
	char *input = xasprintf("%s.%s", h, c), *s, *tok;
	unsigned char mac[32];
	unsigned int n = 32;

	HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)input,
	     strlen(input), mac, &n);
	s = auth_b64url_encode(mac, n);
	tok = xasprintf("%s.%s", input, s);
	free(h);
	free(c);
	free(input);
	free(s);
	return tok;
}

/* A token labelled with `header`'s alg but signed the way OpenSSL signs
 * with an EC key (DER), sized like an RS256 signature for that key would
 * be: only the "alg must fit the key" rule stops it. */
static char *der_signed(EVP_PKEY *ec, const char *header,
			const char *claims_json)
{
	char *h = auth_b64url_encode(header, strlen(header));
	char *c = auth_b64url_encode(claims_json, strlen(claims_json));
	char *input = xasprintf("%s.%s", h, c), *s = NULL, *tok;
	unsigned char der[80];
	size_t n = 0;

	for (int i = 0; i < 500 && n != (size_t)EVP_PKEY_get_size(ec); i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		n = sizeof(der);
		assert_int_equal(
			EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec),
			1);
		assert_int_equal(EVP_DigestSign(ctx, der, &n,
						(unsigned char *)input,
						strlen(input)),
				 1);
		EVP_MD_CTX_free(ctx);
	}
	assert_int_equal(n, EVP_PKEY_get_size(ec));
	s = auth_b64url_encode(der, n);
	tok = xasprintf("%s.%s", input, s);
	free(h);
	free(c);
	free(input);
	free(s);
	return tok;
}

static void test_alg_attacks(void **state)
{
	struct fx *f = *state;
	char *c = claims("customs", "alice", "\"customs\"", 300, 0, PULL_APP);
	char *ce =
		claims("ext-issuer", "dave", "\"customs\"", 300, 0, PULL_APP);
	char *h, *p, *t, *pem;

	/* alg none, with and without a signature part. */
	h = auth_b64url_encode("{\"alg\":\"none\",\"typ\":\"JWT\"}", 27);
	p = auth_b64url_encode(c, strlen(c));
	t = xasprintf("%s.%s.", h, p);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	t = xasprintf("%s.%s", h, p);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(h);
	free(p);
	/* HS256 keyed with our public key, and with the external issuer's
	 * (the classic confusion: the verifier must not HMAC with it). */
	pem = pubkey_pem(f->a->own.pkey);
	t = hs256("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", c, pem, strlen(pem));
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(pem);
	pem = pubkey_pem(f->rsa);
	t = hs256("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", ce, pem, strlen(pem));
	expect_tok(f->ext, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(pem);
	/* An alg that does not fit the key: RS256 claimed, EC-signed; ES256
	 * claimed for the RSA issuer; algs we never take. */
	t = craft(f->a->own.pkey, RS256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	t = der_signed(f->a->own.pkey, RS256_HDR, c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	t = craft(f->rsa, ES256_HDR, ce);
	expect_tok(f->ext, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	t = craft(f->rsa, "{\"alg\":\"PS256\"}", ce);
	expect_tok(f->ext, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	t = craft(f->a->own.pkey, "{\"alg\":\"ES384\"}", c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	/* Critical headers we do not understand; an embedded jwk is not a
	 * reason to trust a key. */
	t = craft(f->a->own.pkey,
		  "{\"alg\":\"ES256\",\"crit\":[\"b64\"],"
		  "\"b64\":false}",
		  c);
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	{
		EVP_PKEY *other = EVP_EC_gen("P-256");

		t = craft(other, "{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\"}}",
			  c);
		expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
		free(t);
		EVP_PKEY_free(other);
	}
	/* Garbage. */
	expect_tok(f->a, "a.b.c", "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	expect_tok(f->a, "..", "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	expect_tok(f->a, "a.b.c.d", "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	t = xmalloc(AUTH_TOKEN_MAX + 2);
	memset(t, 'a', AUTH_TOKEN_MAX + 1);
	t[AUTH_TOKEN_MAX + 1] = '\0';
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(c);
	free(ce);
}

static void test_refresh_flow(void **state)
{
	struct fx *f = *state;
	struct auth_result res;
	struct err e = ERR_INIT;
	char *form, *rt, *at, *h, *path;
	json_t *j;

	j = token_req(f->a, AUTH_TOKEN_POST,
		      "grant_type=password&username=alice&password=alice-pw&"
		      "client_id=containerd&service=customs&access_type=offline"
		      "&scope=repository%3Ateam%2Fapp%3Apull",
		      NULL, &res, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "scope")),
			    "repository:team/app:pull");
	rt = xstrdup(json_string_value(json_object_get(j, "refresh_token")));
	at = xstrdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	auth_result_release(&res);
	expect_tok(f->a, at, "team/app", AUTH_PULL, ERR_OK);
	free(at);
	/* A refresh token is not an access token. */
	expect_tok(f->a, rt, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	expect_tok(f->a, rt, NULL, 0, ERR_UNAUTHORIZED);
	h = bearer(rt);
	expect(f->a, h, NULL, NULL, 0, ERR_UNAUTHORIZED);
	free(h);

	/* It buys tokens of other scopes, for the same subject. */
	form = xasprintf("grant_type=refresh_token&refresh_token=%s&"
			 "client_id=containerd&service=customs&scope="
			 "repository:team/app:push%%20repository:team/x:pull",
			 rt);
	j = token_req(f->a, AUTH_TOKEN_POST, form, NULL, &res, &e);
	assert_non_null(j);
	assert_string_equal(res.user, "alice");
	assert_string_equal(
		json_string_value(json_object_get(j, "refresh_token")), rt);
	at = xstrdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	auth_result_release(&res);
	expect_tok(f->a, at, "team/app", AUTH_PUSH, ERR_OK);
	expect_tok(f->a, at, "team/x", AUTH_PULL, ERR_OK);
	free(at);

	/* A new password voids it. */
	path = xasprintf("%s/htpasswd", f->dir);
	assert_int_equal(auth_htpasswd_update(path, "alice", "new-pw", &e), 0);
	j = token_req(f->a, AUTH_TOKEN_POST, form, NULL, &res, &e);
	assert_null(j);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	auth_result_release(&res);
	free(form);
	/* Tampered, or another service. */
	form = xasprintf("grant_type=refresh_token&refresh_token=%sx&"
			 "client_id=c&service=customs",
			 rt);
	assert_null(token_req(f->a, AUTH_TOKEN_POST, form, NULL, &res, &e));
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	auth_result_release(&res);
	free(form);
	form = xasprintf("grant_type=refresh_token&refresh_token=%s&"
			 "client_id=c&service=elsewhere",
			 rt);
	assert_null(token_req(f->a, AUTH_TOKEN_POST, form, NULL, &res, &e));
	assert_int_equal(e.code, ERR_INVALID);
	auth_result_release(&res);
	free(form);
	free(rt);
	free(path);
}

static void test_get_offline(void **state)
{
	struct fx *f = *state;
	char *bob = basic_header("bob", "bob-pw");
	struct auth_result res;
	struct err e = ERR_INIT;
	const char *rt;
	char *form;
	json_t *j, *k;

	j = token_req(f->a, AUTH_TOKEN_GET,
		      "service=customs&offline_token=true&client_id=docker",
		      bob, &res, &e);
	assert_non_null(j);
	rt = json_string_value(json_object_get(j, "refresh_token"));
	assert_non_null(rt);
	assert_string_equal(json_string_value(json_object_get(j, "scope")), "");
	auth_result_release(&res);
	form = xasprintf("grant_type=refresh_token&refresh_token=%s&"
			 "client_id=docker&scope=repository:team/app:pull",
			 rt);
	k = token_req(f->a, AUTH_TOKEN_POST, form, NULL, &res, &e);
	assert_non_null(k);
	assert_string_equal(res.user, "bob");
	json_decref(k);
	auth_result_release(&res);
	free(form);
	json_decref(j);
	/* Anonymous callers get no refresh token. */
	j = token_req(f->a, AUTH_TOKEN_GET, "offline_token=true", NULL, &res,
		      &e);
	assert_non_null(j);
	assert_null(json_object_get(j, "refresh_token"));
	json_decref(j);
	auth_result_release(&res);
	free(bob);
}

static void token_fails(struct auth *a, enum auth_token_method m,
			const char *form, const char *authz, enum err_code want)
{
	struct auth_result res;
	struct err e = ERR_INIT;

	if (token_req(a, m, form, authz, &res, &e))
		fail_msg("token request '%s' succeeded", form);
	if (e.code != want)
		fail_msg("token request '%s': %s (%s), want %s", form,
			 err_code_name(e.code), e.msg, err_code_name(want));
	if (want == ERR_UNAUTHORIZED)
		assert_string_equal(res.challenge, "Basic realm=\"customs\"");
	auth_result_release(&res);
}

static void test_token_errors(void **state)
{
	struct fx *f = *state;
	char *wrong = basic_header("alice", "nope");
	char *alice = basic_header("alice", "alice-pw");
	char *big = xmalloc(AUTH_TOKEN_FORM_MAX + 2);
	struct buf many = BUF_INIT;
	struct auth_config cfg = {0};
	struct err e = ERR_INIT;
	struct auth *basic;

	token_fails(f->a, AUTH_TOKEN_GET, "service=customs", wrong,
		    ERR_UNAUTHORIZED);
	token_fails(f->a, AUTH_TOKEN_GET, "", "Bearer x", ERR_UNAUTHORIZED);
	token_fails(f->a, AUTH_TOKEN_GET, "service=other", NULL, ERR_INVALID);
	token_fails(f->a, AUTH_TOKEN_GET, "service=customs&service=customs",
		    NULL, ERR_INVALID);
	token_fails(f->a, AUTH_TOKEN_GET, "scope=repository:x", NULL,
		    ERR_INVALID);
	token_fails(f->a, AUTH_TOKEN_GET, "scope=%zz", NULL, ERR_INVALID);
	token_fails(f->a, AUTH_TOKEN_GET, "scope=a%00b", NULL, ERR_INVALID);
	token_fails(f->a, AUTH_TOKEN_GET, "account=bob", alice, ERR_INVALID);
	memset(big, 'a', AUTH_TOKEN_FORM_MAX + 1);
	big[AUTH_TOKEN_FORM_MAX + 1] = '\0';
	token_fails(f->a, AUTH_TOKEN_GET, big, NULL, ERR_INVALID);
	for (int i = 0; i <= AUTH_SCOPES_MAX; i++)
		buf_addf(&many, "scope=repository:r%d:pull&", i);
	token_fails(f->a, AUTH_TOKEN_GET, many.buf, NULL, ERR_INVALID);
	buf_reset(&many);
	for (int i = 0; i <= 64; i++)
		buf_addf(&many, "x%d=1&", i);
	token_fails(f->a, AUTH_TOKEN_GET, many.buf, NULL, ERR_INVALID);

	token_fails(f->a, AUTH_TOKEN_POST,
		    "grant_type=password&username=alice&password=alice-pw",
		    NULL, ERR_INVALID); /* no client_id */
	token_fails(f->a, AUTH_TOKEN_POST,
		    "grant_type=authorization_code&client_id=c", NULL,
		    ERR_INVALID);
	token_fails(f->a, AUTH_TOKEN_POST,
		    "grant_type=password&username=alice&client_id=c", NULL,
		    ERR_INVALID);
	token_fails(f->a, AUTH_TOKEN_POST,
		    "grant_type=password&username=alice&password=x&client_id=c",
		    NULL, ERR_UNAUTHORIZED);

	/* Not in token mode: no such endpoint. */
	cfg.mode = AUTH_MODE_BASIC;
	cfg.data_dir = f->dir;
	basic = auth_new(&cfg, &e);
	assert_non_null(basic);
	token_fails(basic, AUTH_TOKEN_GET, "", alice, ERR_NOT_FOUND);
	auth_free(basic);
	buf_release(&many);
	free(big);
	free(wrong);
	free(alice);
}

static void test_token_rate_limit(void **state)
{
	struct fx *f = *state;
	char *wrong = basic_header("alice", "nope");
	char *alice = basic_header("alice", "alice-pw");
	struct auth_result res;
	struct err e = ERR_INIT;

	for (int i = 0; i < 3; i++)
		token_fails(f->a, AUTH_TOKEN_GET, "", wrong, ERR_UNAUTHORIZED);
	for (int i = 0; i < 2; i++)
		token_fails(f->a, AUTH_TOKEN_POST,
			    "grant_type=password&username=alice&password=x&"
			    "client_id=c",
			    NULL, ERR_UNAUTHORIZED);
	assert_null(token_req(f->a, AUTH_TOKEN_GET, "", alice, &res, &e));
	assert_int_equal(e.code, ERR_TOOMANYREQUESTS);
	assert_int_equal(res.retry_after_s, AUTH_RL_BLOCK_S);
	auth_result_release(&res);
	free(wrong);
	free(alice);
}

static void test_token_quick(void **state)
{
	struct fx *f = *state;
	char *alice = basic_header("alice", "alice-pw");
	struct auth_result res;
	struct err e = ERR_INIT;
	json_t *j;

	/* Basic on GET and the password grant on POST: not checked on the
	 * loop until the cache knows them; no credentials: answered. */
	assert_int_equal(token_quick(f->a, AUTH_TOKEN_GET, "", alice),
			 AUTH_LATER);
	assert_int_equal(token_quick(f->a, AUTH_TOKEN_POST,
				     "grant_type=password&username=alice&"
				     "password=alice-pw&client_id=c",
				     NULL),
			 AUTH_LATER);
	assert_int_equal(token_quick(f->a, AUTH_TOKEN_GET, "", NULL), 0);
	j = token_req(f->a, AUTH_TOKEN_GET, "", alice, &res, &e);
	assert_non_null(j);
	json_decref(j);
	auth_result_release(&res);
	assert_int_equal(token_quick(f->a, AUTH_TOKEN_GET, "", alice), 0);
	free(alice);
}

static void test_catalog_and_admin(void **state)
{
	struct fx *f = *state;
	char *alice = basic_header("alice", "alice-pw");
	char *bob = basic_header("bob", "bob-pw");
	char *tok, *h;
	struct auth_result res;
	const char *names[] = {"secret/a", "team/b", "public/c"};

	tok = get_token(f->a,
			"scope=registry:catalog:*&scope=registry:db:"
			"admin",
			alice);
	h = bearer(tok);
	res = check_as(f->a, h, NULL, AUTH_SCOPE_REGISTRY, "catalog", AUTH_PULL,
		       ERR_OK);
	assert_int_equal(auth_catalog_filter(f->a, &res, names, 3), 2);
	assert_string_equal(names[0], "team/b");
	assert_string_equal(names[1], "public/c");
	auth_result_release(&res);
	res = check_as(f->a, h, NULL, AUTH_SCOPE_REGISTRY, "db", AUTH_ADMIN,
		       ERR_OK);
	auth_result_release(&res);
	free(h);
	free(tok);

	tok = get_token(f->a, "scope=registry:db:admin", bob);
	h = bearer(tok);
	res = check_as(f->a, h, NULL, AUTH_SCOPE_REGISTRY, "db", AUTH_ADMIN,
		       ERR_DENIED);
	auth_result_release(&res);
	free(h);
	free(tok);
	/* Anonymous: the rules let it pull public/, so the catalog opens. */
	tok = get_token(f->a, "scope=registry:catalog:*", NULL);
	expect_tok(f->a, tok, NULL, 0, ERR_OK);
	h = bearer(tok);
	res = check_as(f->a, h, NULL, AUTH_SCOPE_REGISTRY, "catalog", AUTH_PULL,
		       ERR_OK);
	auth_result_release(&res);
	free(h);
	free(tok);
	free(alice);
	free(bob);
}

static void test_cert_in_token_mode(void **state)
{
	struct fx *f = *state;
	struct auth_token_req req = {AUTH_TOKEN_GET,
				     "scope=repository:team/"
				     "app:pull,push",
				     0,
				     NULL,
				     "bob",
				     NULL,
				     false};
	struct auth_result res;
	struct err e = ERR_INIT;
	char *out = NULL;
	json_t *c;

	/* Straight to the registry with a certificate... */
	expect(f->a, NULL, "bob", "team/app", AUTH_PULL, ERR_OK);
	expect(f->a, NULL, "bob", "team/app", AUTH_PUSH, ERR_DENIED);
	/* ... or to the token endpoint. */
	req.form_len = strlen(req.form);
	assert_int_equal(auth_token_request(f->a, &req, &res, &out, &e), 0);
	assert_string_equal(res.user, "bob");
	assert_int_equal(res.via, AUTH_VIA_CERT);
	auth_result_release(&res);
	c = json_loads(out, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(c, "scope")),
			    "repository:team/app:pull");
	json_decref(c);
	free(out);
}

/* --- External issuers ----------------------------------------------------- */

static void test_external_rsa(void **state)
{
	struct fx *f = *state;
	char *c = claims("ext-issuer", "dave", "\"customs\"", 300, 0, PULL_APP);
	char *t = craft(f->rsa, RS256_HDR, c);
	char *h = bearer(t);
	struct auth_result res;

	res = check_as(f->ext, h, NULL, AUTH_SCOPE_REPOSITORY, "team/app",
		       AUTH_PULL, ERR_OK);
	assert_string_equal(res.user, "dave");
	assert_int_equal(res.via, AUTH_VIA_BEARER);
	auth_result_release(&res);
	/* It cannot be widened here: 403, with the RFC 6750 hint. */
	res = check_as(f->ext, h, NULL, AUTH_SCOPE_REPOSITORY, "team/app",
		       AUTH_PUSH, ERR_DENIED);
	assert_non_null(strstr(res.challenge, "insufficient_scope"));
	auth_result_release(&res);
	/* The registry without the trust does not take it. */
	expect_tok(f->a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(h);
	free(t);
	free(c);
	/* The external key cannot speak for us, nor we for it. */
	c = claims("customs", "dave", "\"customs\"", 300, 0, PULL_APP);
	t = craft(f->rsa, RS256_HDR, c);
	expect_tok(f->ext, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(c);
	c = claims("ext-issuer", "dave", "\"customs\"", 300, 0, PULL_APP);
	t = craft(f->ext->own.pkey, ES256_HDR, c);
	expect_tok(f->ext, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	/* Our own tokens still work beside the external issuer's. */
	t = get_token(f->ext, "scope=repository:public/a:pull", NULL);
	expect_tok(f->ext, t, "public/a", AUTH_PULL, ERR_OK);
	free(t);
	free(c);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		       EVP_PKEY *issuer_key, bool ca)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)fake_now & 0xffff);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				  ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) >
		    0);
	X509_NAME_free(name);
	return x;
}

static char *cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	s = xstrndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

/* {"alg":"ES256","x5c":[base64 DER]} */
static char *x5c_header(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	char *b = xmalloc(4 * ((size_t)n + 2) / 3 + 4), *h;

	EVP_EncodeBlock((unsigned char *)b, der, n);
	h = xasprintf("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"x5c\":[\"%s\"]}",
		      b);
	OPENSSL_free(der);
	free(b);
	return h;
}

static void test_external_cert_bundle(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *leaf_key = EVP_EC_gen("P-256");
	EVP_PKEY *rogue_key = EVP_EC_gen("P-256");
	X509 *ca = make_cert(ca_key, "test CA", NULL, NULL, true);
	X509 *leaf = make_cert(leaf_key, "token signer", ca, ca_key, false);
	X509 *rogue = make_cert(rogue_key, "token signer", NULL, NULL, false);
	char *pem = cert_pem(ca), *trust, *c, *t, *hdr, *kid;
	struct auth *a;
	struct auth_key k;
	struct err e = ERR_INIT;

	trust = write_file(f->dir, "bundle.pem", pem);
	a = new_auth(f, "ext-issuer", trust);
	c = claims("ext-issuer", "dave", "\"customs\"", 300, 0, PULL_APP);

	/* The certificate's own key is trusted... */
	t = craft(ca_key, ES256_HDR, c);
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_OK);
	free(t);
	/* ... and picked by its kid. */
	assert_int_equal(EVP_PKEY_up_ref(ca_key), 1);
	assert_int_equal(auth_key_init(&k, ca_key, &e), 0);
	hdr = xasprintf("{\"alg\":\"ES256\",\"kid\":\"%s\"}", k.kid);
	t = craft(ca_key, hdr, c);
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_OK);
	free(t);
	free(hdr);
	auth_key_release(&k);
	/* A kid that names no key: the keys are tried all the same. */
	kid = xstrdup("{\"alg\":\"ES256\",\"kid\":\"nope\"}");
	t = craft(ca_key, kid, c);
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_OK);
	free(t);
	free(kid);
	/* A leaf it issued, carried in x5c. */
	hdr = x5c_header(leaf);
	t = craft(leaf_key, hdr, c);
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_OK);
	free(t);
	/* ... but the x5c leaf's key signs for itself only. */
	t = craft(rogue_key, hdr, c);
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(hdr);
	/* An RS256 label on an EC key's signature. */
	t = der_signed(ca_key, RS256_HDR, c);
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	/* The leaf without x5c is unknown; a self-made chain is refused. */
	t = craft(leaf_key, ES256_HDR, c);
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	hdr = x5c_header(rogue);
	t = craft(rogue_key, hdr, c);
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	free(t);
	free(hdr);
	/* Certificates expire: two days on, the leaf's chain fails (the
	 * token itself would still be valid). */
	free(c);
	c = claims("ext-issuer", "dave", "\"customs\"", 5 * 86400, 0, PULL_APP);
	hdr = x5c_header(leaf);
	t = craft(leaf_key, hdr, c);
	fake_now += 2 * 86400;
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
	fake_now -= 2 * 86400;
	expect_tok(a, t, "team/app", AUTH_PULL, ERR_OK);
	free(t);
	free(hdr);

	auth_free(a);
	free(c);
	free(trust);
	free(pem);
	X509_free(ca);
	X509_free(leaf);
	X509_free(rogue);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(rogue_key);
}

static void test_trust_file_errors(void **state)
{
	struct fx *f = *state;
	struct auth_config cfg = {0};
	struct err e = ERR_INIT;
	EVP_PKEY *small = EVP_RSA_gen(1024);
	char *pem = pubkey_pem(small), *p;
	BIO *b;
	char *priv;
	long n;

	cfg.mode = AUTH_MODE_TOKEN;
	cfg.data_dir = f->dir;
	cfg.token_issuer = "ext";
	p = write_file(f->dir, "t1.pem", pem);
	cfg.token_trust = p;
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "2048"));
	free(p);
	err_clear(&e);
	p = write_file(f->dir, "t2.pem", "no pem here\n");
	cfg.token_trust = p;
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "no public keys"));
	free(p);
	err_clear(&e);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, f->rsa, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &priv);
	priv = xstrndup(priv, (size_t)n);
	BIO_free(b);
	p = write_file(f->dir, "t3.pem", priv);
	cfg.token_trust = p;
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "PRIVATE KEY"));
	free(p);
	/* Our own key must be P-256 or RSA: a P-384 key is refused. */
	err_clear(&e);
	{
		EVP_PKEY *p384 = EVP_EC_gen("P-384");

		b = BIO_new(BIO_s_mem());
		PEM_write_bio_PrivateKey(b, p384, NULL, NULL, 0, NULL, NULL);
		free(priv);
		n = BIO_get_mem_data(b, &priv);
		priv = xstrndup(priv, (size_t)n);
		BIO_free(b);
		EVP_PKEY_free(p384);
	}
	p = write_file(f->dir, "p384.pem", priv);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = AUTH_MODE_TOKEN;
	cfg.token_key = p;
	assert_null(auth_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "P-256"));
	free(p);
	free(priv);
	free(pem);
	EVP_PKEY_free(small);
}

/* Own key RSA: tokens are RS256. */
static void test_own_rsa_key(void **state)
{
	struct fx *f = *state;
	struct auth_config cfg = {0};
	struct err e = ERR_INIT;
	char *priv, *p, *tok;
	struct auth *a;
	json_t *h;
	BIO *b;
	long n;

	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, f->rsa, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &priv);
	priv = xstrndup(priv, (size_t)n);
	BIO_free(b);
	p = write_file(f->dir, "rsa.key", priv);
	cfg.mode = AUTH_MODE_TOKEN;
	cfg.token_key = p;
	cfg.access = f->access;
	a = auth_new(&cfg, &e);
	assert_non_null(a);
	auth_set_clock(a, fake_clock);
	tok = get_token(a, "scope=repository:public/a:pull", NULL);
	h = jwt_part(tok, 0);
	assert_string_equal(json_string_value(json_object_get(h, "alg")),
			    "RS256");
	json_decref(h);
	expect_tok(a, tok, "public/a", AUTH_PULL, ERR_OK);
	auth_free(a);
	free(tok);
	free(p);
	free(priv);
}

/* Tokens made by another JWS implementation (tests/data/auth/SOURCE.md). */
static void test_interop(void **state)
{
	struct fx *f = *state;
	const char *files[] = {DATA "interop_es256.jwt",
			       DATA "interop_rs256.jwt"};
	struct auth *a;
	struct auth_stamp st;
	struct err e = ERR_INIT;
	char *tok;
	size_t len;

	a = new_auth(f, "ext-issuer", DATA "interop_trust.pem");
	fake_now = 1700000100;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(auth_read_file(files[i], &tok, &len, &st, &e),
				 0);
		tok[strcspn(tok, "\n")] = '\0';
		expect_tok(a, tok, "team/app", AUTH_PULL | AUTH_PUSH, ERR_OK);
		expect_tok(a, tok, "team/app", AUTH_DELETE, ERR_DENIED);
		/* One flipped signature bit. */
		tok[strlen(tok) - 2] ^= 1;
		expect_tok(a, tok, "team/app", AUTH_PULL, ERR_UNAUTHORIZED);
		free(tok);
	}
	auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_scope_parse),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_key_generated),
		T(test_get_roundtrip),
		T(test_signature_format),
		T(test_intersection),
		T(test_scope_escalation),
		T(test_challenges),
		T(test_token_times),
		T(test_token_aud_iss_key),
		T(test_alg_attacks),
		T(test_refresh_flow),
		T(test_get_offline),
		T(test_token_errors),
		T(test_token_rate_limit),
		T(test_token_quick),
		T(test_catalog_and_admin),
		T(test_cert_in_token_mode),
		T(test_external_rsa),
		T(test_external_cert_bundle),
		T(test_trust_file_errors),
		T(test_own_rsa_key),
		T(test_interop),
#undef T
	};

	log_set_level(LL_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
