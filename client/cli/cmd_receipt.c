/* cmd_receipt — `enlace receipt MESSAGE-ID`: the verified proof that a message is logged. */
#include <getopt.h>
#include <string.h>

#include "cli.h"

#define CMD "receipt"

enum { OPT_JSON = OPT_FIRST_COMMAND_OPTION };

static void print_json(const enlace_receipt_t *r, const char *id)
{
    enlace_err_t st = enlace_receipt_status(r);
    printf("{\"message_id\":\"%s\",\"seq\":%llu,\"tree_size\":%llu", id,
           (unsigned long long)enlace_receipt_seq(r),
           (unsigned long long)enlace_receipt_tree_size(r));
    printf(",\"verified\":%s,\"reason\":", st == ENLACE_OK ? "true" : "false");
    cli_json_string(stdout, st == ENLACE_OK ? NULL : enlace_receipt_error(r));
    printf(",\"key_pinned\":%s", enlace_receipt_key_pinned(r) ? "true" : "false");
    printf(",\"sender\":");
    cli_json_string(stdout, enlace_receipt_sender(r)[0] ? enlace_receipt_sender(r) : NULL);
    if (enlace_receipt_logged_at_ms(r)) {
        char t[25];
        enlace_time_format(enlace_receipt_logged_at_ms(r), t);
        printf(",\"logged_at\":\"%s\"", t);
    }
    printf(",\"leaf_hash\":\"");
    cli_hex(stdout, enlace_receipt_leaf_hash(r), 32);
    printf("\",\"root\":");
    if (st == ENLACE_OK) {
        putchar('"');
        cli_hex(stdout, enlace_receipt_root(r), 32);
        putchar('"');
    } else {
        printf("null");
    }
    printf(",\"origin\":");
    cli_json_string(stdout, st == ENLACE_OK ? enlace_receipt_origin(r) : NULL);
    printf(",\"checkpoint\":");
    cli_json_string(stdout, enlace_receipt_checkpoint(r));
    printf("}\n");
}

static void print_text(const enlace_receipt_t *r, const char *id)
{
    enlace_err_t st = enlace_receipt_status(r);
    printf("message_id  %s\n", id);
    printf("seq         %llu\n", (unsigned long long)enlace_receipt_seq(r));
    printf("tree_size   %llu\n", (unsigned long long)enlace_receipt_tree_size(r));
    if (enlace_receipt_sender(r)[0])
        printf("sender      %s\n", enlace_receipt_sender(r));
    if (enlace_receipt_logged_at_ms(r)) {
        char t[25];
        enlace_time_format(enlace_receipt_logged_at_ms(r), t);
        printf("logged_at   %s\n", t);
    }
    if (st == ENLACE_OK)
        printf("proof       verified yes\n");
    else
        printf("proof       verified NO: %s\n", enlace_receipt_error(r));
    printf("key         %s\n", enlace_receipt_key_pinned(r)
                                   ? "pinned"
                                   : "NOT pinned (the broker's own key from Welcome)");
    printf("checkpoint\n%s", enlace_receipt_checkpoint(r));
}

int cmd_receipt(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    cli_common_t common = {0};
    bool json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (cli_common_option(&common, opt, optarg))
            continue;
        switch (opt) {
        case 'h': help_receipt(stdout); return CLI_EXIT_OK;
        case OPT_JSON: json = true; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        cli_error(CMD, "expected one MESSAGE-ID (see enlace receipt --help)");
        return CLI_EXIT_USAGE;
    }
    uint8_t id[ENLACE_MESSAGE_ID_LEN];
    if (enlace_id_from_hex(argv[optind], id) != ENLACE_OK) {
        cli_error(CMD, "'%s' is not a message id (32 hex digits)", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    char hex[33];
    enlace_id_to_hex(id, hex);
    enlace_conn_t *conn = NULL;
    int rc = cli_connect(CMD, &common, false, &conn);
    if (rc != CLI_EXIT_OK)
        return rc;
    enlace_receipt_t *r = NULL;
    enlace_err_t err = enlace_receipt(conn, id, &r);
    if (r == NULL) {
        rc = cli_fail(CMD, conn, err);
        enlace_close(&conn);
        return rc;
    }
    if (json)
        print_json(r, hex);
    else
        print_text(r, hex);
    if (err != ENLACE_OK)
        cli_error(CMD, "receipt did not verify: %s", enlace_receipt_error(r));
    else if (!enlace_receipt_key_pinned(r))
        cli_error(CMD, "warning: checkpoint key not pinned (--checkpoint-key): the proof only "
                       "shows the broker agrees with itself");
    enlace_receipt_free(&r);
    enlace_close(&conn);
    if (fflush(stdout) != 0)
        return CLI_EXIT_OTHER;
    return err == ENLACE_OK ? CLI_EXIT_OK : cli_exit_code(err);
}
