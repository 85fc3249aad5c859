/* auth_int.h: what the files of auth/ share.  Not for other modules; the
 * unit tests include it to reach the pieces (JWS, scopes, clock). */
#ifndef AUTH_AUTH_INT_H
#define AUTH_AUTH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/auth.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/slots.h"

#define AUTH_USER_MAX	255	   /* bytes in a user name */
#define AUTH_PASS_MAX	1024	   /* bytes in a password */
#define AUTH_TOKEN_MAX	16384	   /* bytes in a JWT we accept */
#define AUTH_SKEW_S	60	   /* clock skew allowed on exp/nbf/iat */
#define AUTH_FILE_MAX	(16 << 20) /* htpasswd and access files */
#define AUTH_NAME_MAX	255	   /* repository name in a scope */
#define AUTH_SCOPES_MAX 32	   /* scopes in one token request */
#define AUTH_KID_LEN	60	   /* libtrust key id and its NUL */

/* --- Snapshots of watched files ------------------------------------------- */

/* A parsed file, shared by readers and freed with its last reference. */
struct auth_snap {
	unsigned refs;
	void (*destroy)(struct auth_snap *s);
};

struct auth_stamp {
	bool missing;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
};

/* Parses a file's bytes into a snapshot. */
typedef int (*auth_parse_fn)(const char *data, size_t len,
			     struct auth_snap **out, struct err *e);

struct auth_watch {
	char *path;
	const char *what; /* "htpasswd", "access rules": for messages */
	bool missing_ok;  /* absent file = parse of an empty one */
	auth_parse_fn parse;
	struct auth_stamp stamp;
	struct auth_snap *cur; /* NULL until loaded */
};

/* Loads w at startup; fails on a missing (unless missing_ok) or bad file. */
int auth_watch_init(struct auth *a, struct auth_watch *w, struct err *e);
/* The current snapshot (re-read first if the file changed; a bad new file
 * keeps the old snapshot and logs once).  Drop it with auth_snap_put().
 * NULL if the watch has no path. */
struct auth_snap *auth_watch_get(struct auth *a, struct auth_watch *w);
void auth_snap_put(struct auth *a, struct auth_snap *s);
void auth_watch_release(struct auth_watch *w);
/* Reads a whole file (at most AUTH_FILE_MAX bytes) into *data (the
 * caller's, NUL-terminated).  Returns 1 if it does not exist, with
 * stamp->missing set. */
int auth_read_file(const char *path, char **data, size_t *len,
		   struct auth_stamp *stamp, struct err *e);

/* --- Users (htpasswd.c) --------------------------------------------------- */

struct auth_user {
	char *name;
	char *hash; /* bcrypt: $2y$, $2b$ or $2a$ */
};

struct auth_users {
	struct auth_snap snap;
	uint64_t gen;	     /* tells cached logins apart across reloads */
	struct auth_user *v; /* sorted by name */
	size_t n;
};

int auth_users_parse(const char *data, size_t len, struct auth_snap **out,
		     struct err *e);
const struct auth_user *auth_users_find(const struct auth_users *u,
					const char *name);
/* Whether the login cache knows user/pass as good (no bcrypt); fills
 * fp_out (optional) as auth_password_check() would. */
bool auth_password_cached(struct auth *a, const char *user, const char *pass,
			  unsigned char fp_out[16]);
/* Checks a password against the htpasswd snapshot.  1 = good, 0 = bad
 * (unknown users cost as much as known ones), -1 = internal error.
 * fp_out (optional, 16 bytes) gets the fingerprint of the stored hash that
 * matched, which refresh tokens carry so that a new password voids them. */
int auth_password_check(struct auth *a, const char *user, const char *pass,
			unsigned char fp_out[16], struct err *e);
/* The fingerprint of `user`'s current hash; false if there is no user. */
bool auth_user_fingerprint(struct auth *a, const char *user,
			   unsigned char fp_out[16]);
/* Valid names: 1..AUTH_USER_MAX bytes of UTF-8, no ':', whitespace or
 * control characters, not "anonymous" or "*". */
bool auth_user_name_ok(const char *name);
/* Rewrites the htpasswd file with `user` set to a new bcrypt hash of pass
 * (pass NULL: removed).  ERR_NOT_FOUND when removing an unknown user. */
int auth_htpasswd_update(const char *path, const char *user, const char *pass,
			 struct err *e);

/* --- Access rules (access.c) ---------------------------------------------- */

int auth_rules_parse(const char *data, size_t len, struct auth_snap **out,
		     struct err *e);
/* The actions the rules grant user (NULL = anonymous) on repo (NULL = the
 * whole registry); rules NULL = the default policy. */
unsigned auth_rules_granted(const struct auth_snap *rules, const char *user,
			    const char *repo);
/* The actions `user` gets on scope (type, name) under the current rules
 * and mode (catalog included). */
unsigned auth_granted(struct auth *a, const char *user,
		      enum auth_scope_type type, const char *name);
/* "pull" -> AUTH_PULL, "*" -> AUTH_ALL; 0 if unknown. */
unsigned auth_action_parse(const char *s, size_t len);
/* Appends "pull,push" (canonical order) to b. */
int auth_actions_str(struct buf *b, unsigned actions);

/* --- Scopes (token.c) ----------------------------------------------------- */

struct auth_scope_item {
	enum auth_scope_type type;
	char name[AUTH_NAME_MAX + 1];
	unsigned actions;
};

/* Parses one "type[(class)]:name:action[,action]" (the name may hold one
 * ':' for a port).  Unknown actions are dropped; 1 = parsed, 0 = a type
 * we do not serve (ignored), -1 = malformed (ERR_INVALID). */
int auth_scope_parse(const char *s, size_t len, struct auth_scope_item *out,
		     struct err *e);

/* --- JWS / JWT (jwt.c) ---------------------------------------------------- */

enum auth_alg { AUTH_ALG_ES256, AUTH_ALG_RS256 };

struct auth_key {
	EVP_PKEY *pkey;
	enum auth_alg alg;
	char kid[AUTH_KID_LEN]; /* libtrust-style SPKI fingerprint */
};

/* Keys that verify one issuer's tokens. */
struct auth_keyset {
	struct auth_key *v;
	size_t n;
	X509_STORE *roots; /* certs of the trust file, for x5c; or NULL */
};

/* Base64url without padding.  The caller frees the result. */
char *auth_b64url_encode(const void *data, size_t len);
/* Strict: url alphabet only, no padding; NULL if malformed. *len_out is
 * the decoded length; the result is NUL-terminated for convenience. */
unsigned char *auth_b64url_decode(const char *s, size_t len, size_t *len_out);
/* Standard base64 with padding (Basic credentials, x5c). */
unsigned char *auth_b64_decode(const char *s, size_t len, size_t *len_out);

/* Fills k from pkey (taking the reference): EC P-256 -> ES256, RSA of at
 * least 2048 bits -> RS256; anything else is refused. */
int auth_key_init(struct auth_key *k, EVP_PKEY *pkey, struct err *e);
void auth_key_release(struct auth_key *k);
/* Our signing key: loaded from path, or generated (0600) when gen is set
 * and the file is absent. */
int auth_key_load_private(struct auth_key *k, const char *path, bool gen,
			  struct err *e);
/* A trust file: PEM public keys and/or certificates. */
int auth_keyset_load(struct auth_keyset *ks, const char *path, struct err *e);
void auth_keyset_release(struct auth_keyset *ks);

/* Signs header.claims (both compact JSON) into a JWS; *out is the
 * caller's. */
int auth_jws_sign(const struct auth_key *k, const char *header,
		  const char *claims, char **out, struct err *e);

/* A verified token's claims; release with auth_claims_release(). */
struct auth_claims {
	json_t *root;
	const char *iss, *sub; /* borrowed from root; sub NULL if absent */
	bool own;	       /* issued by us */
	json_t *access;	       /* array or NULL, borrowed */
	double exp;
};

/* Verifies a JWT: the alg must match the key (ES256/RS256 only), the key
 * must belong to the issuer named in iss, aud must include `aud`, and
 * exp/nbf/iat must hold within AUTH_SKEW_S.  ERR_UNAUTHORIZED otherwise. */
int auth_jwt_verify(struct auth *a, const char *tok, size_t len,
		    const char *aud, struct auth_claims *out, struct err *e);
void auth_claims_release(struct auth_claims *c);
/* The actions the claims' `access` grant on (type, name). */
unsigned auth_claims_granted(const struct auth_claims *c,
			     enum auth_scope_type type, const char *name);

/* --- Failed-login limiter (ratelimit.c) -------------------------------- */

#define AUTH_RL_SLOTS	    4096
#define AUTH_RL_BURST	    5	/* failures allowed per window ... */
#define AUTH_RL_WINDOW_S    60	/* ... refilled over this many seconds */
#define AUTH_RL_BLOCK_S	    30	/* first block; doubles per block ... */
#define AUTH_RL_BLOCK_MAX_S 900 /* ... up to this */
#define AUTH_RL_PEER_MAX    48	/* bytes of a peer address kept */

struct auth_rl_slot {
	time_t last; /* last failure (the end of a block while blocked) */
	double tokens;
	unsigned strikes; /* blocks so far */
	time_t blocked_until;
};

struct auth_rl {
	pthread_mutex_t lock;
	struct slots slots; /* peer -> struct auth_rl_slot */
	/* Failures from all peers together: a token bucket of `budget`
	 * refilled over AUTH_RL_WINDOW_S; budget 0 = none. */
	int budget;
	double gtokens;
	time_t glast;
};

void auth_rl_init(struct auth_rl *rl);
void auth_rl_release(struct auth_rl *rl);
/* Seconds the peer must still wait (0 = may try). */
int auth_rl_wait(struct auth_rl *rl, const char *peer, time_t now);
/* Records a failed login. */
void auth_rl_fail(struct auth_rl *rl, const char *peer, time_t now);
/* The global budget: seconds until a password may be checked (0 = now);
 * take reserves one failure before the check (0, or the seconds to wait
 * with nothing taken), refund gives it back after a good password. */
int auth_rl_global_wait(struct auth_rl *rl, time_t now);
int auth_rl_global_take(struct auth_rl *rl, time_t now);
void auth_rl_global_refund(struct auth_rl *rl);

/* --- Sign-in (auth.c) ------------------------------------------------- */

/* Checks user/pass for peer, rate-limited: on success res->user is set;
 * ERR_UNAUTHORIZED (with a Basic challenge in res) or ERR_TOOMANYREQUESTS
 * (with res->retry_after_s) otherwise.  fp as for auth_password_check().
 * quick: AUTH_LATER rather than a bcrypt check (auth_request.quick). */
int auth_login(struct auth *a, const char *peer, const char *user,
	       const char *pass, bool quick, unsigned char fp[16],
	       struct auth_result *res, struct err *e);
/* The same from the base64 of "user:pass". */
int auth_basic_login(struct auth *a, const char *cred, const char *peer,
		     bool quick, unsigned char fp[16], struct auth_result *res,
		     struct err *e);
/* The credentials after "Scheme " (case-insensitive), or NULL. */
const char *auth_header_cred(const char *hdr, const char *scheme);

/* --- The module ----------------------------------------------------------- */

#define AUTH_CACHE_SLOTS 256
#define AUTH_CACHE_TTL_S 300

/* A password recently proved good, remembered as an HMAC so the next
 * request skips bcrypt. */
struct auth_cache_slot {
	unsigned char mac[32];
	unsigned char fp[16];
	uint64_t gen;
	time_t until;
};

struct auth {
	enum auth_mode mode;
	char *service, *issuer, *realm, *ext_issuer;
	char *refresh_aud;
	int token_ttl_s, refresh_ttl_s;

	pthread_mutex_t lock; /* watches, snapshots and the cache */
	struct auth_watch users, rules;
	uint64_t users_gen;
	struct auth_cache_slot cache[AUTH_CACHE_SLOTS];
	unsigned char cache_key[32];

	struct auth_key own;	/* pkey NULL unless token mode */
	struct auth_keyset ext; /* n == 0 unless an external issuer */
	struct auth_rl rl;
	time_t (*now)(void);
};

/* Tests move the clock. */
void auth_set_clock(struct auth *a, time_t (*now)(void));

#endif
