/* main — entry point of the `enlace` CLI: global options, then the subcommand.
 *
 * Connection options may come before the command (`enlace --config c publish ...`) or
 * after it; they are handed on to the subcommand, which parses both.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One subcommand: name, implementation, manual page. */
typedef struct {
    const char *name;                  /* as typed */
    int (*run)(int argc, char **argv); /* argv[0] is the name */
    void (*help)(FILE *out);           /* manual page */
} command_t;

static const command_t COMMANDS[] = {
    {"publish", cmd_publish, help_publish},
    {"subscribe", cmd_subscribe, help_subscribe},
    {"directory", cmd_directory, help_directory},
    {"receipt", cmd_receipt, help_receipt},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* Global options are only collected here (to be passed on), so the subcommand sees
     * one argument vector: global options first, then its own. */
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': help_main(stdout); return CLI_EXIT_OK;
        case 'V': printf("enlace %s\n", ENLACE_VERSION); return CLI_EXIT_OK;
        case '?':
            cli_error(NULL, "unknown option '%s' (see enlace --help)", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        case ':':
            cli_error(NULL, "option '%s' needs a value", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        default: break; /* a connection option: passed on below */
        }
    }
    if (optind >= argc) {
        cli_error(NULL, "no command given (publish, subscribe, directory, receipt; see "
                        "enlace --help)");
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        const command_t *c = optind + 1 < argc ? find_command(argv[optind + 1]) : NULL;
        if (optind + 1 < argc && c == NULL) {
            cli_error(NULL, "no command '%s' (publish, subscribe, directory, receipt)",
                      argv[optind + 1]);
            return CLI_EXIT_USAGE;
        }
        if (c)
            c->help(stdout);
        else
            help_main(stdout);
        return CLI_EXIT_OK;
    }
    const command_t *cmd = find_command(name);
    if (cmd == NULL) {
        cli_error(NULL,
                  "no command '%s' (publish, subscribe, directory, receipt; see "
                  "enlace --help)",
                  name);
        return CLI_EXIT_USAGE;
    }
    /* Rebuild argv as: NAME, global options..., command arguments... */
    int n_global = optind - 1, n_rest = argc - optind - 1;
    char **args = calloc((size_t)(1 + n_global + n_rest + 1), sizeof *args);
    if (args == NULL) {
        cli_error(NULL, "out of memory");
        return CLI_EXIT_OTHER;
    }
    char prog[64]; /* getopt's messages then read "enlace publish: unrecognized option" */
    snprintf(prog, sizeof prog, "%s %s", cli_prog, cmd->name);
    args[0] = prog;
    for (int i = 0; i < n_global; i++)
        args[1 + i] = argv[1 + i];
    for (int i = 0; i < n_rest; i++)
        args[1 + n_global + i] = argv[optind + 1 + i];
    optind = 0; /* glibc: full reinitialisation for the subcommand's getopt_long */
    opterr = 1;
    int rc = cmd->run(1 + n_global + n_rest, args);
    free(args);
    return rc;
}
