/* registry.h: the registry server's entry point. */
#ifndef REGISTRY_REGISTRY_H
#define REGISTRY_REGISTRY_H

/* customs serve [flags]: parses argv (argv[0] = "serve"), runs the server
 * until SIGTERM/SIGINT, returns the exit status. */
int reg_serve_main(int argc, char **argv);

#endif
