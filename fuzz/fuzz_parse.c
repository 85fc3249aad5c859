/* fuzz_parse.c: the parsers of values a client puts in a URL or header:
 * digests, repository names, references, tags, upload ids, Content-Range,
 * Range, page parameters, media types and percent-decoding.  The first
 * byte picks the parser; the rest is its input. */
#include "fuzz/fuzz.h"

#include "common/digest.h"
#include "common/log.h"
#include "registry/http/http.h"
#include "registry/http/http_int.h"
#include "registry/parse_int.h"

static void fz_check_digest(const char *s, size_t len)
{
	struct digest d, back;
	char str[DIGEST_STR_MAX];

	if (digest_parse(s, len, &d, NULL) < 0)
		return;
	/* What parses prints back to what parses to the same. */
	digest_str(&d, str);
	if (digest_parse(str, strlen(str), &back, NULL) < 0 ||
	    !digest_eq(&d, &back))
		abort();
}

static void fz_check_name(const char *s, size_t len)
{
	char name[REG_NAME_MAX + 1];

	if (reg_parse_name(s, len, name, NULL) == 0 &&
	    (strlen(name) != len || !reg_name_valid(name, len)))
		abort();
}

static void fz_check_range(const char *s, size_t len)
{
	int64_t a, b, off, n;

	if (reg_parse_content_range(s, len, &a, &b, NULL) == 0 &&
	    (a < 0 || b < a))
		abort();
	/* Range against a few blob sizes. */
	for (int64_t size = 0; size < 3000; size += 997) {
		if (http_parse_range(s, size, &off, &n) == 206 &&
		    (off < 0 || n <= 0 || off + n > size))
			abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char mt[REG_MEDIA_TYPE_MAX + 1], *s, *dec;
	struct reg_ref ref;
	long n;

	if (size < 1)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 8) {
	case 0:
		fz_check_digest(s, size - 1);
		break;
	case 1:
		fz_check_name(s, size - 1);
		break;
	case 2:
		reg_parse_ref(s, size - 1, &ref, NULL);
		reg_tag_valid(s, size - 1);
		break;
	case 3:
		reg_upload_id_valid(s, size - 1);
		fz_check_range(s, size - 1);
		break;
	case 4:
		reg_parse_page_n(s, 1000, &n, NULL);
		reg_parse_last(s, true, NULL);
		reg_parse_last(s, false, NULL);
		break;
	case 5:
		reg_parse_media_type(s, mt, NULL);
		break;
	case 6:
	case 7:
		dec = http_pct_decode(s, size - 1, data[0] & 1);
		free(dec);
		break;
	}
	free(s);
	return 0;
}
