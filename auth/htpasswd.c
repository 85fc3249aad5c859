/* htpasswd.c: users and their bcrypt hashes, as `htpasswd -B` writes them.
 *
 * Hashes are checked with libxcrypt's crypt_rn() and made with
 * crypt_gensalt_rn("$2y$", ...); nothing here hashes by hand.  bcrypt costs
 * tens of milliseconds on purpose, which a registry cannot pay on every
 * request of a push, so a good password is remembered for a few minutes as
 * an HMAC under a per-process key (never the password itself), keyed to
 * the htpasswd version that accepted it.
 */
#include "auth/auth_int.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "common/banned.h"

/* New hashes: cost 10 is ~50 ms here, the usual choice for a server that
 * checks passwords online. */
#define HTPASSWD_COST 10

/* A real bcrypt hash of a random, forgotten password: unknown users are
 * checked against it so that they take as long as known ones. */
static const char dummy_hash[] =
	"$2y$10$ALo0sLaTlxajH2cCyGUbbOfSJrtpJuBTkd/W51MfeFlhJ0iqvbQOm";

static uint64_t users_gen;

bool auth_user_name_ok(const char *name)
{
	size_t n = strlen(name);
	json_t *j;

	if (n == 0 || n > AUTH_USER_MAX)
		return false;
	if (!strcmp(name, "anonymous") || !strcmp(name, "*"))
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p == ':' || *p == 0x7f)
			return false;
	/* Names go into JWTs and JSON replies: they must be valid UTF-8,
	 * which jansson checks for us. */
	j = json_string(name);
	json_decref(j);
	return j != NULL;
}

static bool hash_supported(const char *h)
{
	return !strncmp(h, "$2y$", 4) || !strncmp(h, "$2b$", 4) ||
	       !strncmp(h, "$2a$", 4);
}

static void users_destroy(struct auth_snap *s)
{
	struct auth_users *u = (struct auth_users *)s;

	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].name);
		OPENSSL_cleanse(u->v[i].hash, strlen(u->v[i].hash));
		free(u->v[i].hash);
	}
	free(u->v);
	free(u);
}

/* Users in file order, to sort by name with duplicates kept in order. */
struct user_ent {
	struct auth_user u;
	size_t idx;
};

static int user_ent_cmp(const void *a, const void *b)
{
	const struct user_ent *x = a, *y = b;
	int c = strcmp(x->u.name, y->u.name);

	if (c)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* One "name:hash" line; false (with a warning) if it is skipped. */
static bool parse_line(const char *line, size_t len, size_t lineno,
		       struct auth_user *out)
{
	const char *colon = memchr(line, ':', len);
	char *name;

	if (!colon) {
		log_msg(LL_WARN, "auth: htpasswd line %zu: no ':'", lineno);
		return false;
	}
	name = xstrndup(line, (size_t)(colon - line));
	if (!auth_user_name_ok(name)) {
		log_msg(LL_WARN, "auth: htpasswd line %zu: bad user name",
			lineno);
		free(name);
		return false;
	}
	out->name = name;
	out->hash = xstrndup(colon + 1, len - (size_t)(colon - line) - 1);
	if (!hash_supported(out->hash)) {
		log_msg(LL_WARN,
			"auth: htpasswd: user %s skipped: only bcrypt "
			"hashes are accepted (htpasswd -B)",
			name);
		free(out->name);
		free(out->hash);
		return false;
	}
	return true;
}

int auth_users_parse(const char *data, size_t len, struct auth_snap **out,
		     struct err *e)
{
	struct auth_users *u = xcalloc(1, sizeof(*u));
	const char *p = data, *end = data + len;
	struct user_ent *ents = NULL;
	size_t n = 0, alloc = 0, lineno = 0;

	(void)e;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct auth_user user;

		lineno++;
		if (l && p[l - 1] == '\r')
			l--;
		if (l && p[0] != '#' && parse_line(p, l, lineno, &user)) {
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				ents = xrealloc(ents, alloc * sizeof(*ents));
			}
			ents[n].u = user;
			ents[n].idx = n;
			n++;
		}
		p = nl ? nl + 1 : end;
	}
	if (n)
		qsort(ents, n, sizeof(*ents), user_ent_cmp);
	u->v = xcalloc(n ? n : 1, sizeof(*u->v));
	for (size_t i = 0; i < n; i++) {
		if (u->n && !strcmp(u->v[u->n - 1].name, ents[i].u.name)) {
			log_msg(LL_WARN,
				"auth: htpasswd: user %s appears twice; "
				"the first line counts",
				ents[i].u.name);
			free(ents[i].u.name);
			OPENSSL_cleanse(ents[i].u.hash, strlen(ents[i].u.hash));
			free(ents[i].u.hash);
			continue;
		}
		u->v[u->n++] = ents[i].u;
	}
	free(ents);
	u->snap.refs = 1;
	u->snap.destroy = users_destroy;
	u->gen = __atomic_add_fetch(&users_gen, 1, __ATOMIC_RELAXED);
	*out = &u->snap;
	return 0;
}

const struct auth_user *auth_users_find(const struct auth_users *u,
					const char *name)
{
	size_t lo = 0, hi = u ? u->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, u->v[mid].name);

		if (!c)
			return &u->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void hash_fingerprint(const char *hash, unsigned char fp[16])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)hash, strlen(hash), md);
	memcpy(fp, md, 16);
}

/* HMAC(cache_key, user NUL pass): what the login cache remembers. */
static void login_mac(struct auth *a, const char *user, const char *pass,
		      unsigned char mac[32])
{
	size_t ul = strlen(user), pl = strlen(pass);
	unsigned char *msg = xmalloc(ul + pl + 1);
	unsigned int mlen = 32;

	memcpy(msg, user, ul);
	msg[ul] = '\0';
	memcpy(msg + ul + 1, pass, pl);
	HMAC(EVP_sha256(), a->cache_key, sizeof(a->cache_key), msg, ul + pl + 1,
	     mac, &mlen);
	OPENSSL_cleanse(msg, ul + pl + 1);
	free(msg);
}

static bool cache_hit(struct auth *a, const unsigned char mac[32], uint64_t gen,
		      unsigned char fp[16])
{
	struct auth_cache_slot *s = &a->cache[mac[0] % AUTH_CACHE_SLOTS];
	bool hit;

	pthread_mutex_lock(&a->lock);
	hit = s->gen == gen && s->until > a->now() &&
	      CRYPTO_memcmp(s->mac, mac, 32) == 0;
	if (hit)
		memcpy(fp, s->fp, 16);
	pthread_mutex_unlock(&a->lock);
	return hit;
}

static void cache_store(struct auth *a, const unsigned char mac[32],
			uint64_t gen, const unsigned char fp[16])
{
	struct auth_cache_slot *s = &a->cache[mac[0] % AUTH_CACHE_SLOTS];

	pthread_mutex_lock(&a->lock);
	memcpy(s->mac, mac, 32);
	memcpy(s->fp, fp, 16);
	s->gen = gen;
	s->until = a->now() + AUTH_CACHE_TTL_S;
	pthread_mutex_unlock(&a->lock);
}

/* bcrypt-checks pass against hash in constant time.  -1 on failure of
 * the library itself. */
static int bcrypt_check(const char *pass, const char *hash, struct err *e)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *r;
	int ok;

	errno = 0;
	r = crypt_rn(pass, hash, cd, sizeof(*cd));
	if (!r && errno == ENOMEM) {
		free(cd);
		return err_set(e, ERR_INTERNAL, "crypt_rn: out of memory");
	}
	ok = r && r[0] != '*' && strlen(r) == strlen(hash) &&
	     CRYPTO_memcmp(r, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

bool auth_password_cached(struct auth *a, const char *user, const char *pass,
			  unsigned char fp_out[16])
{
	struct auth_users *u;
	unsigned char mac[32], fp[16];
	bool hit;

	u = (struct auth_users *)auth_watch_get(a, &a->users);
	if (!u)
		return false;
	login_mac(a, user, pass, mac);
	hit = cache_hit(a, mac, u->gen, fp);
	if (hit && fp_out)
		memcpy(fp_out, fp, 16);
	OPENSSL_cleanse(mac, sizeof(mac));
	auth_snap_put(a, &u->snap);
	return hit;
}

int auth_password_check(struct auth *a, const char *user, const char *pass,
			unsigned char fp_out[16], struct err *e)
{
	struct auth_users *u;
	const struct auth_user *found;
	unsigned char mac[32], fp[16];
	uint64_t gen;
	int r;

	u = (struct auth_users *)auth_watch_get(a, &a->users);
	gen = u ? u->gen : 0;
	login_mac(a, user, pass, mac);
	if (u && cache_hit(a, mac, gen, fp)) {
		r = 1;
		goto out;
	}
	found = auth_users_find(u, user);
	r = bcrypt_check(pass, found ? found->hash : dummy_hash, e);
	if (r == 1 && !found)
		r = 0;
	if (r == 1) {
		hash_fingerprint(found->hash, fp);
		cache_store(a, mac, gen, fp);
	}
out:
	if (r == 1 && fp_out)
		memcpy(fp_out, fp, 16);
	OPENSSL_cleanse(mac, sizeof(mac));
	if (u)
		auth_snap_put(a, &u->snap);
	return r;
}

bool auth_user_fingerprint(struct auth *a, const char *user,
			   unsigned char fp_out[16])
{
	struct auth_users *u;
	const struct auth_user *found;

	u = (struct auth_users *)auth_watch_get(a, &a->users);
	found = auth_users_find(u, user);
	if (found)
		hash_fingerprint(found->hash, fp_out);
	if (u)
		auth_snap_put(a, &u->snap);
	return found != NULL;
}

/* --- Writing -------------------------------------------------------------- */

static int make_hash(const char *pass, char **out, struct err *e)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *r;

	if (!crypt_gensalt_rn("$2y$", HTPASSWD_COST, NULL, 0, salt,
			      sizeof(salt)))
		return err_errno(e, ERR_INTERNAL, errno, "crypt_gensalt_rn");
	cd = xcalloc(1, sizeof(*cd));
	r = crypt_rn(pass, salt, cd, sizeof(*cd));
	if (!r || r[0] == '*') {
		free(cd);
		return err_set(e, ERR_INTERNAL, "crypt_rn failed");
	}
	*out = xstrdup(r);
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return 0;
}

/* Copies old lines, replacing (hash) or dropping (hash NULL) user's. */
static int rewrite(const char *old, size_t len, const char *user,
		   const char *hash, struct buf *out, struct err *e)
{
	const char *p = old, *end = old + len;
	size_t ul = strlen(user);
	bool found = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (l > ul && !memcmp(p, user, ul) && p[ul] == ':') {
			if (hash && !found)
				buf_addf(out, "%s:%s\n", user, hash);
			found = true;
		} else if (l) {
			buf_add(out, p, l);
			buf_adds(out, "\n");
		}
		p = nl ? nl + 1 : end;
	}
	if (!found && !hash)
		return err_set(e, ERR_NOT_FOUND, "no user %s", user);
	if (!found)
		buf_addf(out, "%s:%s\n", user, hash);
	return 0;
}

static int fsync_dir_of(const char *path, struct err *e)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd, ret = 0;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		memcpy(dir, ".", 2);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = err_errno(e, ERR_IO, errno, "fsync %s", dir);
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

/* Writes data to a temporary file beside path, fsyncs it and renames it
 * over path. */
static int write_atomic(const char *path, const char *data, size_t len,
			mode_t mode, struct err *e)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd, ret = -1;

	fd = mkstemp(tmp);
	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "create %s", tmp);
		goto out_free;
	}
	if (fchmod(fd, mode) < 0) {
		err_errno(e, ERR_IO, errno, "chmod %s", tmp);
		goto out_unlink;
	}
	if (fdio_write_all(fd, data, len) < 0) {
		err_errno(e, ERR_IO, errno, "write %s", tmp);
		goto out_unlink;
	}
	if (fsync(fd) < 0) {
		err_errno(e, ERR_IO, errno, "fsync %s", tmp);
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_errno(e, ERR_IO, errno, "close %s", tmp);
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err_errno(e, ERR_IO, errno, "rename %s", tmp);
		goto out_unlink;
	}
	ret = fsync_dir_of(path, e);
	goto out_free;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out_free:
	free(tmp);
	return ret;
}

int auth_htpasswd_update(const char *path, const char *user, const char *pass,
			 struct err *e)
{
	struct buf out = BUF_INIT;
	struct auth_stamp stamp;
	char *lockpath = xasprintf("%s.lock", path);
	char *old = NULL, *hash = NULL;
	mode_t mode = 0600;
	struct stat st;
	size_t len;
	int lockfd, ret = -1;

	if (!auth_user_name_ok(user)) {
		err_set(e, ERR_INVALID, "invalid user name");
		goto out_free;
	}
	/* A lock file beside it, so two `user add`s don't lose an update. */
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0) {
		err_errno(e, ERR_IO, errno, "open %s", lockpath);
		goto out_free;
	}
	if (flock(lockfd, LOCK_EX) < 0) {
		err_errno(e, ERR_IO, errno, "lock %s", lockpath);
		goto out_close;
	}
	if (auth_read_file(path, &old, &len, &stamp, e) < 0)
		goto out_close;
	if (!stamp.missing && stat(path, &st) == 0)
		mode = st.st_mode & 0666;
	if (pass && make_hash(pass, &hash, e) < 0)
		goto out_close;
	if (rewrite(old ? old : "", old ? len : 0, user, hash, &out, e) < 0)
		goto out_close;
	ret = write_atomic(path, out.buf, out.len, mode, e);
out_close:
	close(lockfd);
out_free:
	if (hash)
		OPENSSL_cleanse(hash, strlen(hash));
	free(hash);
	free(old);
	buf_release(&out);
	free(lockpath);
	return ret;
}
