/* cmd_directory — `enlace directory`: agencies, roles and verified certificates. */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define CMD "directory"

enum { OPT_TOPIC = OPT_FIRST_COMMAND_OPTION, OPT_JSON };

static const char *cert_word(enlace_err_t st)
{
    return st == ENLACE_OK ? "verified" : st == ENLACE_ERR_NOT_FOUND ? "none" : "refused";
}

static void date_of(int64_t t, char out[11])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, 11, "%Y-%m-%d", &tm) == 0)
        strcpy(out, "-");
}

int cmd_directory(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"topic", required_argument, NULL, OPT_TOPIC},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    cli_common_t common = {0};
    const char *topic = NULL;
    bool json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (cli_common_option(&common, opt, optarg))
            continue;
        switch (opt) {
        case 'h': help_directory(stdout); return CLI_EXIT_OK;
        case OPT_TOPIC: topic = optarg; break;
        case OPT_JSON: json = true; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    enlace_conn_t *conn = NULL;
    int rc = cli_connect(CMD, &common, false, &conn);
    if (rc != CLI_EXIT_OK)
        return rc;
    enlace_directory_t *dir = NULL;
    enlace_err_t err = enlace_directory(conn, topic, &dir);
    if (err != ENLACE_OK) {
        rc = cli_fail(CMD, conn, err);
        enlace_close(&conn);
        return rc;
    }
    size_t refused = 0;
    if (!json)
        printf("%-24s %-8s %-9s %-10s %s\n", "AGENCY", "ROLE", "CERT", "EXPIRES",
               "SHA-256 / REASON");
    for (size_t i = 0; i < enlace_directory_count(dir); i++) {
        enlace_err_t st = enlace_directory_cert_status(dir, i);
        uint8_t fp[32];
        bool has_fp = enlace_directory_fingerprint(dir, i, fp);
        char date[11];
        date_of(enlace_directory_not_after(dir, i), date);
        if (st != ENLACE_OK && st != ENLACE_ERR_NOT_FOUND)
            refused++;
        if (json) {
            printf("{\"agency\":");
            cli_json_string(stdout, enlace_directory_agency(dir, i));
            printf(",\"role\":\"%s\",\"certificate\":\"%s\",\"reason\":",
                   enlace_role_name(enlace_directory_role(dir, i)), cert_word(st));
            cli_json_string(stdout, st == ENLACE_OK ? NULL : enlace_directory_cert_error(dir, i));
            printf(",\"sha256\":");
            if (has_fp) {
                putchar('"');
                cli_hex(stdout, fp, sizeof fp);
                putchar('"');
            } else {
                printf("null");
            }
            printf(",\"not_after\":");
            cli_json_string(stdout, strcmp(date, "-") ? date : NULL);
            printf("}\n");
            continue;
        }
        printf("%-24s %-8s %-9s %-10s ", enlace_directory_agency(dir, i),
               enlace_role_name(enlace_directory_role(dir, i)), cert_word(st), date);
        if (st == ENLACE_OK && has_fp)
            cli_hex(stdout, fp, sizeof fp);
        else if (st != ENLACE_ERR_NOT_FOUND)
            fputs(enlace_directory_cert_error(dir, i), stdout);
        putchar('\n');
    }
    if (refused > 0)
        cli_error(CMD, "%zu certificate%s refused: never encrypted to", refused,
                  refused == 1 ? "" : "s");
    enlace_directory_free(&dir);
    enlace_close(&conn);
    if (fflush(stdout) != 0)
        return CLI_EXIT_OTHER;
    return refused ? CLI_EXIT_VERIFY : CLI_EXIT_OK;
}
