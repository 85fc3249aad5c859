/* test_s3.c: the S3 client's key encoding (what curl signs as written),
 * the upload state kept in the metadata (storage/blob_s3.c) and a running
 * hash saved into it and resumed giving the same digest. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "storage/blob_s3_int.h"
#include "common/xmalloc.h"

#include "common/banned.h"

static char *enc(const char *s, bool keep_slash)
{
	struct buf b = BUF_INIT;

	assert_int_equal(s3_encode(&b, s, keep_slash), 0);
	return buf_detach(&b, NULL);
}

static void test_encode(void **state)
{
	char *s;

	(void)state;
	/* Unreserved characters stay, as SigV4's canonical URI has them. */
	s = enc("p/blobs/sha256/0af9-._~", true);
	assert_string_equal(s, "p/blobs/sha256/0af9-._~");
	free(s);
	/* A query value encodes '/' too. */
	s = enc("p/uploads/", false);
	assert_string_equal(s, "p%2Fuploads%2F");
	free(s);
	/* Everything else as %XX, upper-case hex, byte by byte. */
	s = enc("a b+c:d=e&f?g%h*\xc3\xa9", true);
	assert_string_equal(s, "a%20b%2Bc%3Ad%3De%26f%3Fg%25h%2A%C3%A9");
	free(s);
	s = enc("", true);
	assert_string_equal(s, "");
	free(s);
}

static void state_fill(struct s3up *u)
{
	memset(u, 0, sizeof(*u));
	u->mpu_id = xstrdup("2~Zx_9-abc.def");
	s3up_add_part(u, "\"5d41402abc4b2a76b9719d911017c592\"", 5 << 20);
	s3up_add_part(u, "\"7d793037a0760186574b0282f2f435e7\"", 6 << 20);
	u->tail = 12345;
	u->hash_len = 4;
	u->hash = xmalloc(4);
	memcpy(u->hash, "\x00\xff\x10\x7f", 4);
}

static void test_state_roundtrip(void **state)
{
	struct buf t = BUF_INIT, t2 = BUF_INIT;
	struct s3up u, v = {0};
	struct err e = ERR_INIT;

	(void)state;
	state_fill(&u);
	assert_int_equal(s3up_encode(&u, &t), 0);
	assert_int_equal(s3up_decode(t.buf, t.len, &v, &e), 0);
	assert_string_equal(v.mpu_id, u.mpu_id);
	assert_int_equal(v.nparts, 2);
	assert_string_equal(v.etags[0], u.etags[0]);
	assert_string_equal(v.etags[1], u.etags[1]);
	assert_int_equal(v.parts_bytes, 11 << 20);
	assert_int_equal(v.tail, 12345);
	assert_int_equal(v.hash_len, 4);
	assert_memory_equal(v.hash, u.hash, 4);
	/* The same text again. */
	assert_int_equal(s3up_encode(&v, &t2), 0);
	assert_string_equal(t.buf, t2.buf);
	s3up_release(&u);
	s3up_release(&v);
	buf_release(&t);
	buf_release(&t2);

	/* An upload with no part and no hash yet. */
	memset(&u, 0, sizeof(u));
	u.tail = 7;
	assert_int_equal(s3up_encode(&u, &t), 0);
	assert_int_equal(s3up_decode(t.buf, t.len, &v, &e), 0);
	assert_null(v.mpu_id);
	assert_int_equal(v.nparts, 0);
	assert_int_equal(v.tail, 7);
	assert_int_equal(v.hash_len, 0);
	s3up_release(&v);
	buf_release(&t);
}

static void test_state_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"customs-s3up-2\nmpu -\nbytes 0\ntail 0\nhash -\n",
		"customs-s3up-1\nmpu -\nbytes 0\ntail 0\nhash -", /* no \n */
		"customs-s3up-1\nmpu -\nbytes -1\ntail 0\nhash -\n",
		"customs-s3up-1\nmpu -\nbytes 1x\ntail 0\nhash -\n",
		"customs-s3up-1\nmpu -\nbytes 99999999999999999999\n",
		"customs-s3up-1\nmpu a b\nbytes 0\ntail 0\nhash -\n",
		"customs-s3up-1\nmpu -\npart \"x\"\nhash -\n", /* no mpu */
		"customs-s3up-1\nmpu id\nmpu id2\n",
		"customs-s3up-1\nmpu -\nhash abc\n",
		"customs-s3up-1\nmpu -\nhash zz\n",
		"customs-s3up-1\nmpu -\nsize 3\n",
		"customs-s3up-1\nmpu\n",
	};
	struct s3up v = {0};
	struct err e = ERR_INIT;
	char nul[] = "customs-s3up-1\nmpu a\0b\n";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err_clear(&e);
		assert_int_equal(s3up_decode(bad[i], strlen(bad[i]), &v, &e),
				 -1);
		assert_int_equal(e.code, ERR_INVALID);
		assert_null(v.mpu_id);
		assert_int_equal(v.nparts, 0);
	}
	err_clear(&e);
	assert_int_equal(s3up_decode(nul, sizeof(nul) - 1, &v, &e), -1);
}

static void test_state_parts_cap(void **state)
{
	struct buf t = BUF_INIT;
	struct s3up v = {0};
	struct err e = ERR_INIT;

	(void)state;
	buf_adds(&t, "customs-s3up-1\nmpu x\n");
	for (int i = 0; i <= S3UP_PARTS_MAX; i++)
		buf_addf(&t, "part \"%d\"\n", i);
	assert_int_equal(s3up_decode(t.buf, t.len, &v, &e), -1);
	buf_release(&t);
}

/* A hash saved part-way, carried in the state's text and resumed, gives
 * the digest of the whole, wherever the cut falls in SHA-256's blocks. */
static void test_hash_resume(void **state)
{
	static const size_t cuts[] = {0, 1, 55, 63, 64, 65, 1000, 4096 + 3};
	size_t len = 8192;
	unsigned char *data = xmalloc(len), saved[HASHER_STATE_MAX];
	struct digest whole, got;
	struct err e = ERR_INIT;

	(void)state;
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	digest_of(DIGEST_SHA256, data, len, &whole);
	for (size_t c = 0; c < sizeof(cuts) / sizeof(*cuts); c++) {
		struct hasher *h = hasher_new(DIGEST_SHA256), *r;
		struct s3up u = {0}, v = {0};
		struct buf t = BUF_INIT;
		size_t n;

		hasher_update(h, data, cuts[c]);
		n = hasher_save(h, saved, sizeof(saved));
		assert_true(n > 0);
		hasher_free(h);
		u.hash = xmalloc(n);
		memcpy(u.hash, saved, n);
		u.hash_len = n;
		assert_int_equal(s3up_encode(&u, &t), 0);
		assert_int_equal(s3up_decode(t.buf, t.len, &v, &e), 0);
		r = hasher_load(DIGEST_SHA256, v.hash, v.hash_len);
		assert_non_null(r);
		hasher_update(r, data + cuts[c], len - cuts[c]);
		hasher_final(r, &got);
		hasher_free(r);
		assert_true(digest_eq(&got, &whole));
		s3up_release(&u);
		s3up_release(&v);
		buf_release(&t);
	}
	free(data);
}

/* AWS's worked example of a presigned GET ("Authenticating Requests:
 * Using Query Parameters", S3 API reference): its credentials, bucket,
 * key, time and expiry, and the signature the page gives. */
static void test_presign_aws_example(void **state)
{
	struct s3_cfg c = {
		.endpoint = "https://s3.amazonaws.com",
		.region = "us-east-1",
		.bucket = "examplebucket",
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		.virtual_host = true,
	};
	struct err e = ERR_INIT;
	struct s3 *s = s3_new(&c, &e);
	char *url;

	(void)state;
	assert_non_null(s);
	url = s3_presign(s, "GET", "test.txt", 86400,
			 (time_t)1369353600 /* 2013-05-24T00:00:00Z */);
	assert_string_equal(
		url,
		"https://examplebucket.s3.amazonaws.com/test.txt"
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256"
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
		"%2Fs3%2Faws4_request"
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
		"&X-Amz-SignedHeaders=host"
		"&X-Amz-Signature="
		"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d4"
		"04");
	free(url);
	s3_free(s);
}

/* Path style: the bucket is the first segment of the signed path, and a
 * key's reserved characters are encoded as in the request. */
static void test_presign_path_style(void **state)
{
	struct s3_cfg c = {
		.endpoint = "http://127.0.0.1:8000",
		.region = "default",
		.bucket = "b",
		.access_key = "ak",
		.secret_key = "sk",
	};
	const char *want = "http://127.0.0.1:8000/b/p/blobs/a%20b"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=ak%2F19700101%2Fdefault%2Fs3"
			   "%2Faws4_request&X-Amz-Date=19700101T000000Z"
			   "&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
			   "&X-Amz-Signature=";
	struct err e = ERR_INIT;
	struct s3 *s = s3_new(&c, &e);
	char *url;

	(void)state;
	assert_non_null(s);
	url = s3_presign(s, "GET", "p/blobs/a b", 900, (time_t)0);
	assert_memory_equal(url, want, strlen(want));
	assert_int_equal(strlen(strstr(url, "Signature=") + 10), 64);
	free(url);
	s3_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_malformed),
		cmocka_unit_test(test_state_parts_cap),
		cmocka_unit_test(test_hash_resume),
		cmocka_unit_test(test_presign_aws_example),
		cmocka_unit_test(test_presign_path_style),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
