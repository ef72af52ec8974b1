/* cmd_publish — `enlace publish`: one message, printed id and seq after the durable ack. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CMD "publish"
/* Largest payload read; the broker's max_frame (1 MiB by default) is the real bound and
 * the library reports it precisely. */
#define MAX_PAYLOAD (64u << 20)

enum {
    OPT_TOPIC = OPT_FIRST_COMMAND_OPTION,
    OPT_TLP,
    OPT_TO,
    OPT_TYPE,
    OPT_CASE,
    OPT_REPLY_TO,
    OPT_NOTICE,
    OPT_HANDLING,
    OPT_RELIABILITY,
    OPT_ACCURACY,
    OPT_LANGUAGE,
    OPT_CONTENT_TYPE,
    OPT_EXPIRES,
    OPT_FILE,
    OPT_JSON,
};

/* Read all of `path` ("-" or NULL: stdin) into a malloc'ed buffer. */
static int read_payload(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = stdin;
    if (path != NULL && strcmp(path, "-") != 0 && (f = fopen(path, "rb")) == NULL) {
        cli_error(CMD, "cannot open %s: %s", path, strerror(errno));
        return CLI_EXIT_OTHER;
    }
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    int rc = CLI_EXIT_OK;
    while (buf != NULL) {
        if (n == cap) {
            if (cap >= MAX_PAYLOAD) {
                cli_error(CMD, "payload larger than %u bytes", MAX_PAYLOAD);
                rc = CLI_EXIT_USAGE;
                break;
            }
            uint8_t *b = realloc(buf, cap * 2);
            if (b == NULL)
                break;
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                cli_error(CMD, "cannot read %s", path && strcmp(path, "-") ? path : "stdin");
                rc = CLI_EXIT_OTHER;
            }
            break;
        }
    }
    if (buf == NULL && rc == CLI_EXIT_OK) {
        cli_error(CMD, "out of memory");
        rc = CLI_EXIT_OTHER;
    }
    if (f != stdin)
        fclose(f);
    if (rc != CLI_EXIT_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return CLI_EXIT_OK;
}

/* Split a comma list into list[] (strings point into `text`, which is modified). */
static int add_recipients(char *text, const char **list, size_t *n)
{
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t l = strlen(tok);
        while (l > 0 && tok[l - 1] == ' ')
            tok[--l] = '\0';
        if (*tok == '\0')
            continue;
        if (*n == ENLACE_MAX_RECIPIENTS) {
            cli_error(CMD, "more than %d recipients", ENLACE_MAX_RECIPIENTS);
            return CLI_EXIT_USAGE;
        }
        list[(*n)++] = tok;
    }
    return CLI_EXIT_OK;
}

#define BAD_VALUE(opt, expected)                                                                   \
    do {                                                                                           \
        cli_error(CMD, "--%s: expected %s, got '%s'", opt, expected, optarg);                      \
        return CLI_EXIT_USAGE;                                                                     \
    } while (0)

int cmd_publish(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"topic", required_argument, NULL, OPT_TOPIC},
        {"tlp", required_argument, NULL, OPT_TLP},
        {"to", required_argument, NULL, OPT_TO},
        {"type", required_argument, NULL, OPT_TYPE},
        {"case", required_argument, NULL, OPT_CASE},
        {"reply-to", required_argument, NULL, OPT_REPLY_TO},
        {"notice", required_argument, NULL, OPT_NOTICE},
        {"handling", required_argument, NULL, OPT_HANDLING},
        {"reliability", required_argument, NULL, OPT_RELIABILITY},
        {"accuracy", required_argument, NULL, OPT_ACCURACY},
        {"language", required_argument, NULL, OPT_LANGUAGE},
        {"content-type", required_argument, NULL, OPT_CONTENT_TYPE},
        {"expires", required_argument, NULL, OPT_EXPIRES},
        {"file", required_argument, NULL, OPT_FILE},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    cli_common_t common = {0};
    enlace_publish_params_t p = {0};
    static const char *recipients[ENLACE_MAX_RECIPIENTS];
    uint8_t reply_to[ENLACE_MESSAGE_ID_LEN];
    const char *file = NULL;
    bool json = false, tlp_given = false;
    uint64_t expires_in = 0;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (cli_common_option(&common, opt, optarg))
            continue;
        switch (opt) {
        case 'h': help_publish(stdout); return CLI_EXIT_OK;
        case OPT_TOPIC: p.topic = optarg; break;
        case OPT_TLP:
            if (enlace_tlp_parse(optarg, &p.tlp) != ENLACE_OK)
                BAD_VALUE("tlp", "TLP:RED, TLP:AMBER+STRICT, TLP:AMBER, TLP:GREEN or TLP:CLEAR");
            tlp_given = true;
            break;
        case OPT_TO:
            if ((rc = add_recipients(optarg, recipients, &p.n_recipients)) != CLI_EXIT_OK)
                return rc;
            break;
        case OPT_TYPE:
            if (enlace_message_type_parse(optarg, &p.type) != ENLACE_OK)
                BAD_VALUE("type", "alert, notice, case-message, request, reply or "
                                  "acknowledgement");
            break;
        case OPT_CASE: p.case_ref = optarg; break;
        case OPT_REPLY_TO:
            if (enlace_id_from_hex(optarg, reply_to) != ENLACE_OK)
                BAD_VALUE("reply-to", "a message id of 32 hex digits");
            p.in_reply_to = reply_to;
            break;
        case OPT_NOTICE:
            if (enlace_notice_parse(optarg, &p.notice) != ENLACE_OK)
                BAD_VALUE("notice",
                          "red, yellow, blue, black, green, orange, purple or unsc-special");
            break;
        case OPT_HANDLING:
            if (enlace_handling_parse(optarg, &p.handling) != ENLACE_OK)
                BAD_VALUE("handling", "H0, H1, H2 or H3");
            break;
        case OPT_RELIABILITY:
            if (enlace_reliability_parse(optarg, &p.reliability) != ENLACE_OK)
                BAD_VALUE("reliability", "A, B, C or X");
            break;
        case OPT_ACCURACY:
            if (enlace_accuracy_parse(optarg, &p.accuracy) != ENLACE_OK)
                BAD_VALUE("accuracy", "1, 2, 3 or 4");
            break;
        case OPT_LANGUAGE: p.language = optarg; break;
        case OPT_CONTENT_TYPE: p.content_type = optarg; break;
        case OPT_EXPIRES:
            if (enlace_duration_parse(optarg, &expires_in) != ENLACE_OK)
                BAD_VALUE("expires", "a duration such as 90s, 30m, 12h, 7d");
            break;
        case OPT_FILE: file = optarg; break;
        case OPT_JSON: json = true; break;
        default: return CLI_EXIT_USAGE; /* getopt printed the problem */
        }
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s' (payload goes in --file or stdin)", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (p.topic == NULL || !tlp_given) {
        cli_error(CMD, "--topic and --tlp are required (see enlace publish --help)");
        return CLI_EXIT_USAGE;
    }
    if ((p.tlp == ENLACE_TLP_RED || p.tlp == ENLACE_TLP_AMBER_STRICT) && p.n_recipients == 0) {
        cli_error(CMD, "%s is for named recipients only: give --to", enlace_tlp_name(p.tlp));
        return CLI_EXIT_USAGE;
    }
    p.recipients = recipients;
    if (file == NULL && isatty(STDIN_FILENO))
        fprintf(stderr, "%s %s: reading the payload from standard input (end with Ctrl-D)\n",
                cli_prog, CMD);
    uint8_t *data = NULL;
    size_t len = 0;
    if ((rc = read_payload(file, &data, &len)) != CLI_EXIT_OK)
        return rc;

    enlace_conn_t *conn = NULL;
    rc = cli_connect(CMD, &common, true, &conn);
    if (rc != CLI_EXIT_OK) {
        free(data);
        return rc;
    }
    if (expires_in != 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        p.expires_at_ms =
            (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + expires_in;
    }
    enlace_ack_t ack;
    enlace_err_t err = enlace_publish(conn, &p, data, len, &ack);
    free(data);
    if (err != ENLACE_OK) {
        rc = cli_fail(CMD, conn, err);
        enlace_close(&conn);
        return rc;
    }
    char id[33];
    enlace_id_to_hex(ack.message_id, id);
    if (json) {
        printf("{\"message_id\":\"%s\",\"seq\":%llu,\"leaf_hash\":\"", id,
               (unsigned long long)ack.seq);
        cli_hex(stdout, ack.leaf_hash, sizeof ack.leaf_hash);
        printf("\",\"duplicate\":%s,\"encrypted_to\":%zu,\"skipped\":%zu}\n",
               ack.duplicate ? "true" : "false", ack.n_encrypted_to, ack.n_skipped);
    } else {
        printf("message_id %s\nseq %llu\n", id, (unsigned long long)ack.seq);
        if (ack.duplicate)
            printf("duplicate yes\n");
    }
    if (ack.n_skipped > 0)
        fprintf(stderr,
                "%s %s: warning: %zu agenc%s allowed to read %s ha%s no certificate in the "
                "directory and cannot decrypt this message\n",
                cli_prog, CMD, ack.n_skipped, ack.n_skipped == 1 ? "y" : "ies", p.topic,
                ack.n_skipped == 1 ? "s" : "ve");
    else if (p.n_recipients == 0 && ack.n_encrypted_to <= 1)
        fprintf(stderr,
                "%s %s: warning: no other agency may read %s; only this agency can decrypt "
                "the message\n",
                cli_prog, CMD, p.topic);
    enlace_close(&conn);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_OTHER;
}
