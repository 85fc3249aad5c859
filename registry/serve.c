/* Placeholder until the server lands (same session). */
#include <stdio.h>

#include "registry/registry.h"

int reg_serve_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "customs serve: not built yet\n");
	return 2;
}
