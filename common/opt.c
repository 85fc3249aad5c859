/* opt.c: the option engine of every subcommand (opt.h). */
#include "common/opt.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "common/banned.h"

/* Every command's --config FILE, handled here rather than by a row of its
 * table. */
static const struct opt opt_config = {
	.name = "config",
	.type = OPT_STRING,
	.arg = "FILE",
	.help = "JSON object of these options (the names are its keys)",
};

static void *opt_field(void *dst, const struct opt *o)
{
	return (char *)dst + o->offset;
}

/* Compares option names ignoring '-', '_' and case: "max-manifest",
 * "max_manifest", "maxManifest" and "maxmanifest" are one option.  b is
 * blen bytes long (a flag's name ends at its '='). */
static bool opt_name_eq(const char *a, const char *b, size_t blen)
{
	const char *bend = b + blen;

	for (;;) {
		while (*a == '-' || *a == '_')
			a++;
		while (b < bend && (*b == '-' || *b == '_'))
			b++;
		if (!*a || b == bend)
			return !*a && b == bend;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

static const struct opt *opt_find(const struct opt_cmd *cmd, const char *name,
				  size_t len)
{
	for (const struct opt *o = cmd->opts; o->name; o++)
		if (opt_name_eq(o->name, name, len))
			return o;
	return NULL;
}

/* --- Values -------------------------------------------------------------- */

int64_t opt_duration(const char *s)
{
	static const struct {
		char unit;
		int64_t mul;
	} units[] = {{'s', 1},
		     {'m', 60},
		     {'h', 3600},
		     {'d', 86400},
		     {'w', 7 * 86400}};
	int64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (*p) {
		mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++)
			if (*p == units[i].unit && !p[1])
				mul = units[i].mul;
		if (!mul)
			return -1;
	}
	if (v > INT64_MAX / mul)
		return -1;
	return v * mul;
}

/* The shift of a size suffix: k, M, G, T in either case, alone or with
 * "B" or "iB" ("4M", "4MB", "4MiB"); -1 if it is none. */
static int opt_size_shift(const char *s)
{
	static const char letters[] = "kmgt";
	const char *l;

	if (!*s)
		return 0;
	l = strchr(letters, tolower((unsigned char)*s));
	if (!l || !*l)
		return -1;
	s++;
	if (*s && strcmp(s, "B") && strcmp(s, "iB"))
		return -1;
	return 10 * (int)(l - letters + 1);
}

static int opt_parse_number(const struct opt *o, const char *value,
			    long long *out, struct err *e)
{
	char *end;
	long long v;
	int shift;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (end == value || errno)
		goto bad;
	shift = opt_size_shift(end);
	if (shift < 0 || (shift && o->type != OPT_SIZE))
		goto bad;
	if (v > (LLONG_MAX >> shift) || v < (LLONG_MIN >> shift))
		goto range;
	v *= 1LL << shift;
	if (v < o->min || v > o->max)
		goto range;
	*out = v;
	return 0;
bad:
	return err_set(e, ERR_INVALID, "--%s: '%s' is not %s", o->name, value,
		       o->type == OPT_SIZE ? "a size" : "an integer");
range:
	return err_set(e, ERR_INVALID, "--%s: %s is out of range [%lld, %lld]",
		       o->name, value, o->min, o->max);
}

static int opt_parse_duration(const struct opt *o, const char *value,
			      int64_t *out, struct err *e)
{
	int64_t v = opt_duration(value);

	if (v < 0)
		return err_set(e, ERR_INVALID,
			       "--%s: '%s' is not a duration (90s, 15m, 1h, "
			       "7d)",
			       o->name, value);
	if (v < o->min || v > o->max)
		return err_set(e, ERR_INVALID,
			       "--%s: %s is out of range [%llds, %llds]",
			       o->name, value, o->min, o->max);
	*out = v;
	return 0;
}

static int opt_parse_bool(const struct opt *o, const char *value, bool *out,
			  struct err *e)
{
	if (!strcasecmp(value, "true") || !strcmp(value, "1") ||
	    !strcasecmp(value, "yes"))
		*out = true;
	else if (!strcasecmp(value, "false") || !strcmp(value, "0") ||
		 !strcasecmp(value, "no"))
		*out = false;
	else
		return err_set(e, ERR_INVALID, "--%s: '%s' is not a boolean",
			       o->name, value);
	return 0;
}

static int opt_check_choice(const struct opt *o, const char *value,
			    struct err *e)
{
	char list[128];
	size_t n = 0;

	if (!o->choices)
		return 0;
	list[0] = '\0';
	for (const char *const *ch = o->choices; *ch; ch++) {
		if (!strcmp(*ch, value))
			return 0;
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n,
					      "%s%s", n ? ", " : "", *ch);
	}
	return err_set(e, ERR_INVALID, "--%s: '%s' is not one of %s", o->name,
		       value, list);
}

static int opt_apply(void *dst, const struct opt *o, const char *value,
		     struct err *e)
{
	void *f = opt_field(dst, o);
	struct opt_list *l;
	long long v;

	switch (o->type) {
	case OPT_STRING:
		if (opt_check_choice(o, value, e) < 0)
			return -1;
		free(*(char **)f);
		*(char **)f = xstrdup(value);
		return 0;
	case OPT_INT:
		if (opt_parse_number(o, value, &v, e) < 0)
			return -1;
		*(int *)f = (int)v;
		return 0;
	case OPT_SIZE:
		if (opt_parse_number(o, value, &v, e) < 0)
			return -1;
		*(size_t *)f = (size_t)v;
		return 0;
	case OPT_BOOL:
		return opt_parse_bool(o, value, (bool *)f, e);
	case OPT_DURATION:
		return opt_parse_duration(o, value, (int64_t *)f, e);
	case OPT_LIST:
		l = f;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = xstrdup(value);
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "--%s: bad option type", o->name);
}

void opt_defaults(const struct opt_cmd *cmd, void *dst)
{
	struct err e = ERR_INIT;

	for (const struct opt *o = cmd->opts; o->name; o++) {
		if (o->def && opt_apply(dst, o, o->def, &e) < 0) {
			/* A bad default is a bug in the command's table. */
			fprintf(stderr, "customs %s: bad default: %s\n",
				cmd->name, e.msg);
			abort();
		}
	}
}

int opt_set(const struct opt_cmd *cmd, void *dst, const char *name,
	    const char *value, struct err *e)
{
	const struct opt *o = opt_find(cmd, name, strlen(name));

	if (!o)
		return err_set(e, ERR_INVALID, "unknown option '%s'", name);
	return opt_apply(dst, o, value, e);
}

void opt_release(const struct opt_cmd *cmd, void *dst)
{
	for (const struct opt *o = cmd->opts; o->name; o++) {
		void *f = opt_field(dst, o);
		struct opt_list *l;

		if (o->type == OPT_STRING) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (o->type == OPT_LIST) {
			l = f;
			for (size_t i = 0; i < l->n; i++)
				free(l->v[i]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
		}
	}
}

/* --- The file ------------------------------------------------------------ */

/* An object, kept as its compact text (see opt.h). */
static int opt_apply_object(void *dst, const struct opt *o, json_t *v,
			    struct err *e)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (!text)
		return err_set(e, ERR_INTERNAL, "%s: cannot encode", o->name);
	rc = opt_apply(dst, o, text, e);
	free(text);
	return rc;
}

/* One JSON value: strings as on the command line, integers for numbers,
 * true/false for booleans, an array of strings for lists; an object (or
 * objects in a list) for string and list options as their text. */
static int opt_set_json(void *dst, const struct opt *o, json_t *v,
			struct err *e)
{
	char num[32];
	size_t i;
	json_t *it;

	if (json_is_string(v))
		return opt_apply(dst, o, json_string_value(v), e);
	if (json_is_object(v) &&
	    (o->type == OPT_STRING || o->type == OPT_LIST) && !o->choices)
		return opt_apply_object(dst, o, v, e);
	if (json_is_integer(v) && (o->type == OPT_INT || o->type == OPT_SIZE ||
				   o->type == OPT_DURATION)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return opt_apply(dst, o, num, e);
	}
	if (json_is_boolean(v) && o->type == OPT_BOOL)
		return opt_apply(dst, o, json_is_true(v) ? "true" : "false", e);
	if (json_is_array(v) && o->type == OPT_LIST) {
		json_array_foreach(v, i, it) {
			if (json_is_object(it)) {
				if (opt_apply_object(dst, o, it, e) < 0)
					return -1;
				continue;
			}
			if (!json_is_string(it))
				return err_set(e, ERR_INVALID,
					       "%s: list items must be strings"
					       " or objects",
					       o->name);
			if (opt_apply(dst, o, json_string_value(it), e) < 0)
				return -1;
		}
		return 0;
	}
	return err_set(e, ERR_INVALID, "%s: value has the wrong JSON type",
		       o->name);
}

int opt_load_file(const struct opt_cmd *cmd, void *dst, const char *path,
		  struct err *e)
{
	const struct opt *o;
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	FILE *f;
	int rc = -1;

	/* Opened here so a missing file reads as one, not as "line -1". */
	f = fopen(path, "r");
	if (!f)
		return err_errno(e, ERR_INVALID, errno, "cannot open %s", path);
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root)
		return err_set(e, ERR_INVALID, "%s:%d: %s", path, jerr.line,
			       jerr.text);
	if (!json_is_object(root)) {
		err_set(e, ERR_INVALID, "%s: not a JSON object", path);
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (opt_name_eq(opt_config.name, key, strlen(key))) {
			err_set(e, ERR_INVALID, "%s: '%s' cannot nest", path,
				key);
			goto out;
		}
		o = opt_find(cmd, key, strlen(key));
		if (!o && (cmd->flags & OPT_SHARED_FILE))
			continue;
		if (!o) {
			err_set(e, ERR_INVALID, "%s: unknown option '%s'", path,
				key);
			goto out;
		}
		if (opt_set_json(dst, o, v, e) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* --- The command line ---------------------------------------------------- */

enum opt_token { OPT_TOK_FLAG, OPT_TOK_OPERAND, OPT_TOK_END_OF_FLAGS };

/* What argv[*i] is; for a flag its row and value ("--x=v", or "--x v"
 * which advances *i).  -1 on an unknown flag or a missing value. */
static int opt_next(const struct opt_cmd *cmd, int argc, char **argv, int *i,
		    bool flags_over, const struct opt **opt, const char **value,
		    struct err *e)
{
	const char *arg = argv[*i], *eq;
	const struct opt *o;
	size_t len;

	if (flags_over || arg[0] != '-' || !arg[1])
		return OPT_TOK_OPERAND;
	if (!strcmp(arg, "--"))
		return OPT_TOK_END_OF_FLAGS;
	if (arg[1] != '-')
		return err_set(e, ERR_INVALID, "unknown option '%s'", arg);
	arg += 2;
	eq = strchr(arg, '=');
	len = eq ? (size_t)(eq - arg) : strlen(arg);
	o = opt_name_eq(opt_config.name, arg, len) ? &opt_config
						   : opt_find(cmd, arg, len);
	if (!o)
		return err_set(e, ERR_INVALID, "unknown option '--%.*s'",
			       (int)len, arg);
	if (eq)
		*value = eq + 1;
	else if (o->type == OPT_BOOL)
		*value = "true";
	else if (*i + 1 < argc)
		*value = argv[++*i];
	else
		return err_set(e, ERR_INVALID, "--%s needs a value", o->name);
	*opt = o;
	return OPT_TOK_FLAG;
}

static bool opt_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* One pass over argv: with config, only --config is taken (the file comes
 * before the other flags wherever it is named); without, the other flags
 * are applied and the operands collected. */
static int opt_pass(const struct opt_cmd *cmd, void *dst, int argc, char **argv,
		    bool config, struct opt_args *args, struct err *e)
{
	bool flags_over = false;
	const struct opt *o = NULL;
	const char *value = NULL;
	int t;

	for (int i = 1; i < argc; i++) {
		t = opt_next(cmd, argc, argv, &i, flags_over, &o, &value, e);
		if (t < 0)
			return -1;
		if (t == OPT_TOK_END_OF_FLAGS) {
			flags_over = true;
		} else if (t == OPT_TOK_OPERAND && !config) {
			if (cmd->max_operands >= 0 &&
			    args->n >= (size_t)cmd->max_operands)
				return err_set(e, ERR_INVALID,
					       "unexpected argument '%s'",
					       argv[i]);
			args->v[args->n++] = argv[i];
		} else if (t == OPT_TOK_FLAG && o == &opt_config) {
			if (config)
				args->config = value;
		} else if (t == OPT_TOK_FLAG && !config &&
			   opt_apply(dst, o, value, e) < 0) {
			return -1;
		}
	}
	return 0;
}

int opt_parse(const struct opt_cmd *cmd, void *dst, int argc, char **argv,
	      struct opt_args *args, struct err *e)
{
	args->help = opt_wants_help(argc, argv);
	args->config = NULL;
	args->v = xcalloc(argc > 0 ? (size_t)argc : 1, sizeof(*args->v));
	args->n = 0;
	if (args->help)
		return 0;
	if (opt_pass(cmd, dst, argc, argv, true, args, e) < 0)
		return -1;
	if (args->config && opt_load_file(cmd, dst, args->config, e) < 0)
		return -1;
	return opt_pass(cmd, dst, argc, argv, false, args, e);
}

void opt_args_release(struct opt_args *args)
{
	free(args->v);
	args->v = NULL;
	args->n = 0;
	args->config = NULL;
}

int opt_fail(const struct opt_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "customs %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see customs %s --help\n", cmd->name);
	return 2;
}

bool opt_cli(const struct opt_cmd *cmd, void *dst, int argc, char **argv,
	     struct opt_args *args, int *status)
{
	struct err e = ERR_INIT;

	opt_defaults(cmd, dst);
	if (opt_parse(cmd, dst, argc, argv, args, &e) < 0) {
		*status = opt_fail(cmd, "%s", e.msg);
		return false;
	}
	if (args->help) {
		opt_usage(cmd, dst, stdout);
		*status = 0;
		return false;
	}
	return true;
}

/* --- Help ---------------------------------------------------------------- */

static const char *opt_arg(const struct opt *o)
{
	static const char *const by_type[] = {
		[OPT_STRING] = "VALUE", [OPT_INT] = "N",
		[OPT_SIZE] = "SIZE",	[OPT_BOOL] = "",
		[OPT_LIST] = "VALUE",	[OPT_DURATION] = "DURATION",
	};

	if (o->type == OPT_BOOL)
		return "";
	return o->arg ? o->arg : by_type[o->type];
}

/* "8GiB", "256MiB", "4096" */
static void opt_format_size(long long v, char *out, size_t size)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	int u = -1;

	while (u < 3 && v && !(v % 1024)) {
		v /= 1024;
		u++;
	}
	snprintf(out, size, "%lld%s", v, u < 0 ? "" : units[u]);
}

/* "2m", "1h", "90s" */
static void opt_format_duration(int64_t v, char *out, size_t size)
{
	static const struct {
		char unit;
		int64_t s;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}};

	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (v && !(v % units[i].s)) {
			snprintf(out, size, "%lld%c",
				 (long long)(v / units[i].s), units[i].unit);
			return;
		}
	}
	snprintf(out, size, "%llds", (long long)v);
}

/* The default of o as text, from its row or the field in defaults; ""
 * when there is none to show. */
static void opt_default_text(const struct opt *o, const void *defaults,
			     char *out, size_t size)
{
	const void *f;

	*out = '\0';
	if (o->def) {
		snprintf(out, size, "%s", o->def);
		return;
	}
	if (!defaults)
		return;
	f = (const char *)defaults + o->offset;
	switch (o->type) {
	case OPT_STRING:
		if (*(char *const *)f)
			snprintf(out, size, "%s", *(char *const *)f);
		break;
	case OPT_INT:
		if (*(const int *)f)
			snprintf(out, size, "%d", *(const int *)f);
		break;
	case OPT_SIZE:
		if (*(const size_t *)f)
			opt_format_size((long long)*(const size_t *)f, out,
					size);
		break;
	case OPT_BOOL:
		if (*(const bool *)f)
			snprintf(out, size, "true");
		break;
	case OPT_DURATION:
		if (*(const int64_t *)f)
			opt_format_duration(*(const int64_t *)f, out, size);
		break;
	case OPT_LIST:
		break;
	}
}

/* "--name ARG" of o into flag. */
static int opt_flag_text(const struct opt *o, char *flag, size_t size)
{
	const char *arg = opt_arg(o);

	return snprintf(flag, size, "--%s%s%s", o->name, *arg ? " " : "", arg);
}

/* One line of the help: the flag, its argument, help and default. */
static void opt_usage_row(const struct opt *o, const void *defaults, int width,
			  FILE *out)
{
	char flag[64], def[64];

	opt_flag_text(o, flag, sizeof(flag));
	fprintf(out, "  %-*s  %s", width, flag, o->help);
	opt_default_text(o, defaults, def, sizeof(def));
	if (*def)
		fprintf(out, " (default %s)", def);
	if (o->type == OPT_LIST)
		fprintf(out, " (repeatable)");
	fputc('\n', out);
}

void opt_usage(const struct opt_cmd *cmd, const void *defaults, FILE *out)
{
	bool sizes = false, durations = false;
	char flag[64];
	int width = opt_flag_text(&opt_config, flag, sizeof(flag));

	for (const struct opt *o = cmd->opts; o->name; o++) {
		int n = opt_flag_text(o, flag, sizeof(flag));

		if (o->help && n > width)
			width = n < 32 ? n : 32;
	}
	fprintf(out, "usage: customs %s %s\n\noptions:\n", cmd->name,
		cmd->synopsis ? cmd->synopsis : "[options]");
	for (const struct opt *o = cmd->opts; o->name; o++) {
		if (!o->help)
			continue;
		opt_usage_row(o, defaults, width, out);
		sizes |= o->type == OPT_SIZE;
		durations |= o->type == OPT_DURATION;
	}
	opt_usage_row(&opt_config, NULL, width, out);
	fprintf(out, "  %-*s  %s\n", width, "--help", "show this help");
	if (sizes || durations)
		fputc('\n', out);
	if (sizes)
		fprintf(out, "SIZE is bytes, or with a k, M, G or T suffix "
			     "(powers of 1024: 64k, 4MiB, 1GB).\n");
	if (durations)
		fprintf(out, "DURATION is seconds, or with an s, m, h, d or w "
			     "suffix (90s, 15m, 1h, 7d).\n");
	if (cmd->notes)
		fprintf(out, "\n%s\n", cmd->notes);
}
