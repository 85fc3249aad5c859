/* Placeholder until the scanner's command line lands (same session). */
#include <stdio.h>

#include "scanner/scanner.h"

int scan_cmd_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "customs scan: not built yet\n");
	return 2;
}

int scan_db_cmd_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "customs db: not built yet\n");
	return 2;
}
