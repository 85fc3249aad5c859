/* customs: one binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <seccomp.h>
#include <sqlite3.h>
#include <yajl/yajl_version.h>

#include "auth/auth.h"
#include "common/log.h"
#include "registry/registry.h"
#include "scanner/scanner.h"
#include "storage/storage.h"

#include "common/banned.h"

/* The Makefile passes both; a bare `cc` build still says something. */
#ifndef CUSTOMS_VERSION
#define CUSTOMS_VERSION "unknown"
#endif
#ifndef CUSTOMS_COMMIT
#define CUSTOMS_COMMIT "unknown"
#endif

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
	{"restore", stor_restore_cmd_main,
	 "put a backup into a data directory"},
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
	fprintf(out, "  %-8s %s\n", "version",
		"print the version, commit and library versions");
	fprintf(out, "\n'customs <command> --help' describes each one.\n");
}

/* The libraries as loaded at run time, which may be newer than the
 * headers built against: what a bug report needs. */
static int version(void)
{
	const struct scmp_version *sv = seccomp_version();
	int y = yajl_version();

	printf("customs %s (commit %s)\n", CUSTOMS_VERSION, CUSTOMS_COMMIT);
	printf("libevent %s\n%s\nsqlite %s\njansson %s\n%s\n",
	       event_get_version(), OpenSSL_version(OPENSSL_VERSION),
	       sqlite3_libversion(), jansson_version_str(),
	       archive_version_details());
	printf("curl %s\n", curl_version_info(CURLVERSION_NOW)->version);
	printf("libseccomp %u.%u.%u\nyajl %d.%d.%d\n", sv->major, sv->minor,
	       sv->micro, y / 10000, y / 100 % 100, y % 100);
	return 0;
}

int main(int argc, char **argv)
{
	/* CUSTOMS_LOG=json,info: the log format and level of any subcommand
	 * (serve sets it from its flags for the scan workers it starts). */
	log_env_import();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
		return version();
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(*subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "customs: unknown command '%s'; see customs --help\n",
		argv[1]);
	return 2;
}
