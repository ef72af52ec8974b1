/* cli — shared parts of the `enlace` command-line client.
 *
 * The CLI is a thin layer over libenlace (enlace.h): main.c picks the subcommand,
 * cmd_*.c implement them, cli_common.c holds what they share: the connection options
 * (flags, client configuration file, ENLACE_CONFIG), connecting, mapping library
 * errors to the documented exit codes, and JSON/text output helpers.
 */
#ifndef ENLACE_CLI_H
#define ENLACE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "enlace.h"

/* Exit codes (documented in `enlace --help`). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 1,   /* bad arguments or configuration */
    CLI_EXIT_CONNECT = 2, /* cannot connect: network, TLS, broker refused the session */
    CLI_EXIT_REFUSED = 3, /* the broker refused the operation (Error code printed) */
    CLI_EXIT_VERIFY = 4,  /* verification failed: certificate, signature, decryption, proof */
    CLI_EXIT_TIMEOUT = 5, /* no message / reply in time */
    CLI_EXIT_LOST = 6,    /* connection lost during the operation */
    CLI_EXIT_OTHER = 7,   /* anything else: recipient unknown, file I/O, memory */
};

/* getopt_long codes of the connection options every subcommand accepts. */
enum {
    OPT_CONFIG = 0x100,
    OPT_BROKER,
    OPT_CERT,
    OPT_KEY,
    OPT_CA,
    OPT_CRL,
    OPT_CHECKPOINT_KEY,
    OPT_FIRST_COMMAND_OPTION /* subcommands number their own options from here */
};

/* clang-format off */
#define CLI_COMMON_LONG_OPTIONS                                          \
    {"config", required_argument, NULL, OPT_CONFIG},                     \
    {"broker", required_argument, NULL, OPT_BROKER},                     \
    {"cert", required_argument, NULL, OPT_CERT},                         \
    {"key", required_argument, NULL, OPT_KEY},                           \
    {"ca", required_argument, NULL, OPT_CA},                             \
    {"crl", required_argument, NULL, OPT_CRL},                           \
    {"checkpoint-key", required_argument, NULL, OPT_CHECKPOINT_KEY},     \
    {"help", no_argument, NULL, 'h'}
/* clang-format on */

/* Connection settings gathered from the command line (strings borrowed from argv). */
typedef struct {
    const char *config; /* --config, else $ENLACE_CONFIG */
    const char *broker; /* --broker HOST[:PORT] */
    const char *cert, *key, *ca, *crl, *checkpoint_key;
} cli_common_t;

/* Program name for messages ("enlace"). */
extern const char *cli_prog;

/* Handle a common option code; false when opt is not one. */
bool cli_common_option(cli_common_t *c, int opt, const char *arg);

/* Report "enlace CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Load the configuration, apply the flags, connect. On failure prints why and returns
 * the exit code (CLI_EXIT_USAGE / CLI_EXIT_CONNECT / ...), *conn NULL. */
int cli_connect(const char *cmd, const cli_common_t *c, bool reconnect, enlace_conn_t **conn);

/* Exit code for a failed library call, after printing enlace_last_error. */
int cli_fail(const char *cmd, enlace_conn_t *conn, enlace_err_t rc);

/* Exit code for an error code (no printing). */
int cli_exit_code(enlace_err_t rc);

/* JSON output: a string value with escapes (NULL prints null), hex of bytes. */
void cli_json_string(FILE *out, const char *s);
void cli_hex(FILE *out, const uint8_t *p, size_t n);

/* base64 (standard alphabet, padded) of p[0..n) into a malloc'ed string; NULL on OOM. */
char *cli_base64(const uint8_t *p, size_t n);

/* True when p[0..n) is UTF-8 text fit to print: no NUL, no control characters except
 * tab, newline and carriage return. */
bool cli_is_text(const uint8_t *p, size_t n);

/* Subcommands: argv[0] is the subcommand name. Return the exit code. */
int cmd_publish(int argc, char **argv);
int cmd_subscribe(int argc, char **argv);
int cmd_directory(int argc, char **argv);
int cmd_receipt(int argc, char **argv);

/* Help texts (printed by --help and `enlace help CMD`). */
void help_main(FILE *out);
void help_publish(FILE *out);
void help_subscribe(FILE *out);
void help_directory(FILE *out);
void help_receipt(FILE *out);

#endif
