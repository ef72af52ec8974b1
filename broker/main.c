/* enlace-broker — command line of the Enlace broker daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "broker.h"
#include "config.h"
#include "snapshot.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: enlace-broker --config FILE [--check] [--ready-file PATH]\n"
        "       enlace-broker --version | --help\n"
        "\n"
        "Enlace secure information-sharing broker. Agencies connect with mutual TLS 1.3,\n"
        "publish signed, end-to-end encrypted messages on topics; the broker checks\n"
        "identity, policy and signatures, appends everything to a tamper-evident audit\n"
        "log (group-committed, Merkle tree, signed checkpoints) and delivers to the\n"
        "subscribers the policy allows. It runs in the foreground and logs structured\n"
        "lines to standard error.\n"
        "\n"
        "Options:\n"
        "  -c, --config FILE     broker configuration (INI); see the directives below\n"
        "      --check           validate the configuration, TLS material and policy, then exit\n"
        "      --ready-file PATH write the listening port to PATH once accepting\n"
        "                        (useful with port = 0, which picks a free port)\n"
        "  -V, --version         print the version and exit\n"
        "  -h, --help            print this help and exit\n"
        "\n"
        "Signals:\n"
        "  SIGHUP            reload policy, CA bundle and CRL; live sessions whose\n"
        "                    certificate is now revoked, expired or unknown are closed.\n"
        "                    An invalid new file is refused and the old one stays.\n"
        "  SIGTERM, SIGINT   stop accepting, finish commits, say goodbye, sign a final\n"
        "                    checkpoint, exit 0.\n"
        "\n"
        "Exit status:\n"
        "  0  clean shutdown (or --check passed)\n"
        "  1  usage error\n"
        "  2  configuration, policy or TLS material invalid\n"
        "  3  the audit log could not be opened (rollback, corruption, I/O)\n"
        "  4  other start-up failure (cannot listen, out of memory)\n"
        "\n"
        "Configuration directives:\n");
    config_print_help(out);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check", no_argument, NULL, 'k'},
                                         {"ready-file", required_argument, NULL, 'r'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = NULL, *ready = NULL;
    bool check = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'k': check = true; break;
        case 'r': ready = optarg; break;
        case 'V': printf("enlace-broker %s\n", ENLACE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!config_path || optind != argc) {
        fprintf(stderr, "enlace-broker: --config FILE is required (see --help)\n");
        return 1;
    }
    broker_config_t cfg;
    char why[1024] = "";
    if (config_load(config_path, &cfg, why, sizeof why) != ENLACE_OK) {
        fprintf(stderr, "enlace-broker: %s\n", why);
        return 2;
    }
    blog_init(cfg.log_format == CONFIG_LOG_JSON, BLOG_INFO);
    if (check) {
        snapshot_t *s = NULL;
        enlace_err_t rc = snapshot_load(&cfg, &s, why, sizeof why);
        snapshot_unref(&s);
        if (rc != ENLACE_OK) {
            fprintf(stderr, "enlace-broker: %s\n", why);
            config_free(&cfg);
            return 2;
        }
        printf("enlace-broker: configuration %s, TLS material and policy %s are valid\n",
               config_path, cfg.policy_file);
        config_free(&cfg);
        return 0;
    }
    enlace_err_t rc = broker_run(&cfg, ready);
    config_free(&cfg);
    switch (rc) {
    case ENLACE_OK: return 0;
    case ENLACE_ERR_INVALID:
    case ENLACE_ERR_BAD_CERT: return 2;
    case ENLACE_ERR_ROLLBACK:
    case ENLACE_ERR_CORRUPT: return 3;
    default: return 4;
    }
}
