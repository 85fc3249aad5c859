/* customs: one binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "registry/registry.h"
#include "scanner/scanner.h"
#include "storage/storage.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct subcommand subcommands[] = {
	{"serve", reg_serve_main, "run the registry"},
	{"scan", scan_cmd_main, "scan an image for known vulnerabilities"},
	{"db", scan_db_cmd_main, "import or inspect the vulnerability DB"},
	{"user", auth_user_cmd_main, "add or delete a registry user"},
	{"gc", stor_gc_cmd_main, "free unreferenced blobs and stale uploads"},
	{"fsck", stor_fsck_cmd_main, "check the store; --repair quarantines"},
	{"backup", stor_backup_cmd_main, "copy the store while it serves"},
	{"restore", stor_restore_cmd_main, "put a backup into a data directory"},
	/* Not for people: the sandboxed process that reads one image. */
	{"scan-worker", scan_worker_main, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: customs <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(*subcommands); i++)
		if (subcommands[i].help)
			fprintf(out, "  %-8s %s\n", subcommands[i].name,
				subcommands[i].help);
	fprintf(out, "\n'customs <command> --help' describes each one.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(*subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "customs: unknown command '%s'; see customs --help\n",
		argv[1]);
	return 2;
}
