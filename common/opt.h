/* opt.h: the options of every subcommand (serve, scan, db, gc, fsck,
 * user), parsed one way.
 *
 * A command describes its options as a table (redis's static_configs):
 * one row per option with its name, type, bounds, default, the offset of
 * its field in the command's own struct, and its help.  The same name is
 * the flag (`--max-manifest 4MiB` or `--max-manifest=4MiB`; a bool is a
 * bare `--dry-run`, cleared by `--dry-run=false`) and the key of the JSON
 * object read with `--config FILE`, which every command takes
 * (`"max-manifest": "4MiB"`; '-', '_' and case are ignored in names, so
 * "max_manifest" and "maxManifest" work too).  A JSON object given for a
 * string or list option is kept as its compact JSON text, for the
 * option's user to parse.  Precedence: the defaults, then the file, then
 * the flags.  Arguments that are not flags are operands; `--` makes every
 * later argument one.
 *
 * Every command reports a usage error the same way, on one line:
 * `customs <cmd>: <what is wrong>; see customs <cmd> --help`, and exits
 * 2; `--help` (or -h) anywhere prints the usage line, then one line per
 * flag with its argument and default, then what the units mean, then the
 * command's notes.
 *
 * String and list fields are owned by the struct: opt_release() frees
 * them.  Fields without a row are the command's own business.
 */
#ifndef COMMON_OPT_H
#define COMMON_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

/* A repeatable option (e.g. --upstream PREFIX=URL): every value, in order. */
struct opt_list {
	char **v;
	size_t n;
};

enum opt_type {
	OPT_STRING,   /* char *; `choices` may restrict it */
	OPT_INT,      /* int, within [min, max] */
	OPT_SIZE,     /* size_t bytes: "4194304", "64k", "4M", "4MiB", "1GB" */
	OPT_BOOL,     /* bool; a bare flag sets it, "=false" clears it */
	OPT_LIST,     /* struct opt_list; each occurrence appends */
	OPT_DURATION, /* int64_t seconds: "90", "90s", "15m", "1h", "7d" */
};

struct opt {
	const char *name;
	enum opt_type type;
	long long min, max;	    /* OPT_INT, OPT_SIZE, OPT_DURATION */
	const char *def;	    /* default as text, or NULL */
	size_t offset;		    /* offsetof(struct x, field) */
	const char *const *choices; /* OPT_STRING: NULL-terminated */
	const char *arg;	    /* for --help ("ADDR"); NULL: by type */
	const char *help;	    /* NULL: accepted but not listed */
};

enum opt_cmd_flags {
	/* The --config file is shared with other commands (serve's): keys
	 * this one does not know are theirs, not errors. */
	OPT_SHARED_FILE = 1 << 0,
};

struct opt_cmd {
	const char *name;	/* "serve": "customs serve: ..." */
	const char *synopsis;	/* after the name; NULL: "[options]" */
	const char *notes;	/* printed after the options, or NULL */
	const struct opt *opts; /* terminated by a row with name NULL */
	int max_operands;	/* -1: any number */
	unsigned flags;		/* enum opt_cmd_flags */
};

/* What opt_parse() found besides the options. */
struct opt_args {
	bool help;	    /* --help or -h: nothing else was parsed */
	const char *config; /* the --config FILE read, or NULL */
	const char **v;	    /* the operands */
	size_t n;	    /* (all borrowed from argv) */
};

/* Sets the fields of rows with a default; the others are left alone, so
 * the caller zeroes dst (and may fill computed defaults) first. */
void opt_defaults(const struct opt_cmd *cmd, void *dst);
/* Sets option `name` from text, as its flag would. */
int opt_set(const struct opt_cmd *cmd, void *dst, const char *name,
	    const char *value, struct err *e);
/* Applies the JSON object of options in path. */
int opt_load_file(const struct opt_cmd *cmd, void *dst, const char *path,
		  struct err *e);
/* --config FILE, then the other flags of argv (argv[0] is the command).
 * On --help sets args->help and parses nothing.  Unknown flags, bad
 * values and operands past cmd->max_operands are errors (ERR_INVALID).
 * args is filled in either way; opt_args_release() it. */
int opt_parse(const struct opt_cmd *cmd, void *dst, int argc, char **argv,
	      struct opt_args *args, struct err *e);
void opt_args_release(struct opt_args *args);
/* Frees the string and list fields of dst and clears them. */
void opt_release(const struct opt_cmd *cmd, void *dst);

/* The front door of a command: opt_defaults() and opt_parse(); true if the
 * command is to run.  Otherwise the help (to stdout) or the usage error
 * (to stderr) is printed and *status is the exit status (0 or 2).  The
 * help shows what dst holds before the flags as the defaults.  Either
 * way the caller releases dst and args. */
bool opt_cli(const struct opt_cmd *cmd, void *dst, int argc, char **argv,
	     struct opt_args *args, int *status);
/* Prints a usage error, `customs <cmd>: <message>; see customs <cmd>
 * --help`, and returns 2, the exit status of usage errors. */
int opt_fail(const struct opt_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The help.  Defaults come from the rows' def, else from the fields of
 * defaults (when not NULL and not zero). */
void opt_usage(const struct opt_cmd *cmd, const void *defaults, FILE *out);

/* "90", "90s", "15m", "1h", "7d", "2w" in seconds; -1 if malformed. */
int64_t opt_duration(const char *s);

#endif
