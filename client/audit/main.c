/* main — `enlace-audit`: verify, inspect, prove and fetch Enlace audit logs.
 *
 * Dispatches to one module per subcommand (verify.h, show.h, prove.h, proof.h,
 * fetch.h). Each subcommand parses its own options and prints its own --help.
 */
#include <stdio.h>
#include <string.h>

#include "audit_util.h"
#include "fetch.h"
#include "proof.h"
#include "prove.h"
#include "show.h"
#include "verify.h"

static const char HELP[] =
    "Usage: enlace-audit COMMAND [OPTIONS]\n"
    "\n"
    "Verify, inspect and prove the audit log of an Enlace broker. The log is the\n"
    "broker's append-only record of every session, publication, delivery and refusal;\n"
    "its Merkle tree root is signed in checkpoints with the broker's Ed25519 key, which\n"
    "the auditor pins (--key).\n"
    "\n"
    "Commands\n"
    "  verify       check every CRC, sequence number, checkpoint signature and tree\n"
    "               root, and (with --ca) every sender signature, offline\n"
    "  show         list records as a table or JSON lines, with filters (agency,\n"
    "               topic, kind, message, seq and time ranges)\n"
    "  replay       show with every header field: who sent what to whom, when, and\n"
    "               who read it\n"
    "  prove        print an inclusion proof of a message against the latest\n"
    "               checkpoint, checkable by a third party without the log\n"
    "  consistency  print a consistency proof between two checkpoints\n"
    "  check-proof  verify a printed proof with the pinned key only\n"
    "  fetch        download the log from a running broker with an auditor\n"
    "               certificate into a local directory that verify can check\n"
    "\n"
    "Run `enlace-audit COMMAND --help` for each command's options.\n"
    "\n"
    "Exit status (all commands)\n"
    "  0  success: everything checked holds\n"
    "  1  usage error\n"
    "  2  verification failed: damaged, forged, rolled-back or inconsistent data, or\n"
    "     an invalid proof (show: the log has damage; records shown may be incomplete)\n"
    "  3  a file or directory cannot be read or written, or what was asked for does\n"
    "     not exist (no such message)\n"
    "  4  fetch: connection, TLS or broker refusal\n"
    "  5  internal error (out of memory)\n";

int main(int argc, char **argv)
{
    static const struct {
        const char *name;         /* subcommand */
        int (*run)(int, char **); /* its entry point */
    } CMDS[] = {
        {"verify", cmd_verify},
        {"show", cmd_show},
        {"replay", cmd_replay},
        {"prove", cmd_prove},
        {"consistency", cmd_consistency},
        {"check-proof", cmd_check_proof},
        {"fetch", cmd_fetch},
    };
    if (argc < 2) {
        fputs(HELP, stderr);
        return AUDIT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(HELP, stdout);
        return AUDIT_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("enlace-audit %s\n", ENLACE_VERSION);
        return AUDIT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(CMDS) / sizeof(CMDS[0]); i++) {
        if (strcmp(argv[1], CMDS[i].name) == 0) {
            return CMDS[i].run(argc - 1, argv + 1);
        }
    }
    audit_errf("unknown command \"%s\" (see enlace-audit --help)", argv[1]);
    return AUDIT_EXIT_USAGE;
}
