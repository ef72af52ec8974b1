/* cmd_subscribe — `enlace subscribe`: verified messages out, acknowledged after output.
 *
 * A message is acknowledged only once it has been written (stdout flushed, or the
 * --out files synced to disk): the broker's durable cursor then never passes a message
 * that was lost on the way to the user. A rejected message is never acknowledged
 * unless --skip-rejected says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CMD "subscribe"
/* enlace_next waits in slices so that SIGINT/SIGTERM end the run promptly. */
#define SLICE_MS 500

enum {
    OPT_TOPIC = OPT_FIRST_COMMAND_OPTION,
    OPT_NAME,
    OPT_FROM,
    OPT_COUNT,
    OPT_TIMEOUT,
    OPT_OUT,
    OPT_JSON,
    OPT_SKIP_REJECTED,
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void json_time(FILE *out, const char *key, uint64_t ms)
{
    char t[25];
    enlace_time_format(ms, t);
    fprintf(out, ",\"%s\":\"%s\"", key, t);
}

/* Print the label name, or null when the label is absent (value 0). */
static void json_label(FILE *out, const char *key, int value, const char *name)
{
    fprintf(out, ",\"%s\":", key);
    cli_json_string(out, value ? name : NULL);
}

/* The header fields as JSON members (after "{"). */
static void json_header(FILE *out, const enlace_message_t *m)
{
    char id[33];
    fprintf(out, "\"seq\":%llu", (unsigned long long)enlace_message_seq(m));
    const uint8_t *mid = enlace_message_id(m);
    if (mid != NULL) {
        enlace_id_to_hex(mid, id);
        fprintf(out, ",\"message_id\":\"%s\"", id);
    } else {
        fprintf(out, ",\"message_id\":null");
    }
    fprintf(out, ",\"sender\":");
    cli_json_string(out, enlace_message_sender(m));
    fprintf(out, ",\"topic\":");
    cli_json_string(out, enlace_message_topic(m));
    fprintf(out, ",\"recipients\":[");
    for (size_t i = 0; i < enlace_message_recipient_count(m); i++) {
        if (i)
            fputc(',', out);
        cli_json_string(out, enlace_message_recipient(m, i));
    }
    fputc(']', out);
    json_label(out, "tlp", enlace_message_tlp(m), enlace_tlp_name(enlace_message_tlp(m)));
    json_label(out, "handling", enlace_message_handling(m),
               enlace_handling_name(enlace_message_handling(m)));
    json_label(out, "type", enlace_message_type(m),
               enlace_message_type_name(enlace_message_type(m)));
    json_label(out, "notice", enlace_message_notice(m),
               enlace_notice_name(enlace_message_notice(m)));
    json_label(out, "reliability", enlace_message_reliability(m),
               enlace_reliability_name(enlace_message_reliability(m)));
    json_label(out, "accuracy", enlace_message_accuracy(m),
               enlace_accuracy_name(enlace_message_accuracy(m)));
    fprintf(out, ",\"case_ref\":");
    cli_json_string(out, enlace_message_case_ref(m));
    const uint8_t *reply = enlace_message_in_reply_to(m);
    if (reply != NULL) {
        enlace_id_to_hex(reply, id);
        fprintf(out, ",\"in_reply_to\":\"%s\"", id);
    } else {
        fprintf(out, ",\"in_reply_to\":null");
    }
    fprintf(out, ",\"language\":");
    cli_json_string(out, enlace_message_language(m));
    fprintf(out, ",\"content_type\":");
    cli_json_string(out, enlace_message_content_type(m));
    json_time(out, "created_at", enlace_message_created_at_ms(m));
    if (enlace_message_expires_at_ms(m))
        json_time(out, "expires_at", enlace_message_expires_at_ms(m));
    else
        fprintf(out, ",\"expires_at\":null");
    json_time(out, "logged_at", enlace_message_logged_at_ms(m));
    uint8_t fp[32];
    if (enlace_message_signer_fingerprint(m, fp)) {
        fprintf(out, ",\"signer_sha256\":\"");
        cli_hex(out, fp, sizeof fp);
        fputc('"', out);
    }
}

/* Payload as a JSON member: text when it is printable UTF-8, else base64. */
static int json_payload(FILE *out, const uint8_t *p, size_t n)
{
    if (cli_is_text(p, n)) {
        char *s = malloc(n + 1);
        if (s == NULL)
            return CLI_EXIT_OTHER;
        memcpy(s, p, n);
        s[n] = '\0';
        fprintf(out, ",\"payload_encoding\":\"utf-8\",\"payload\":");
        cli_json_string(out, s);
        free(s);
    } else {
        char *b64 = cli_base64(p, n);
        if (b64 == NULL)
            return CLI_EXIT_OTHER;
        fprintf(out, ",\"payload_encoding\":\"base64\",\"payload\":\"%s\"", b64);
        free(b64);
    }
    return CLI_EXIT_OK;
}

static void print_text(const enlace_message_t *m, const char *file)
{
    char id[33] = "?", t[25];
    const uint8_t *mid = enlace_message_id(m);
    if (mid)
        enlace_id_to_hex(mid, id);
    enlace_time_format(enlace_message_logged_at_ms(m), t);
    printf("--- seq %llu, logged %s\n", (unsigned long long)enlace_message_seq(m), t);
    printf("message_id:   %s\n", id);
    printf("sender:       %s\n", enlace_message_sender(m));
    printf("topic:        %s\n", enlace_message_topic(m));
    printf("recipients:   ");
    if (enlace_message_recipient_count(m) == 0)
        printf("(every agency allowed to read the topic)");
    for (size_t i = 0; i < enlace_message_recipient_count(m); i++)
        printf("%s%s", i ? ", " : "", enlace_message_recipient(m, i));
    printf("\ntlp:          %s\n", enlace_tlp_name(enlace_message_tlp(m)));
    printf("type:         %s\n", enlace_message_type_name(enlace_message_type(m)));
    if (enlace_message_handling(m))
        printf("handling:     %s\n", enlace_handling_name(enlace_message_handling(m)));
    if (enlace_message_notice(m))
        printf("notice:       %s\n", enlace_notice_name(enlace_message_notice(m)));
    if (enlace_message_reliability(m) || enlace_message_accuracy(m))
        printf("evaluation:   %s%s\n",
               enlace_message_reliability(m)
                   ? enlace_reliability_name(enlace_message_reliability(m))
                   : "-",
               enlace_message_accuracy(m) ? enlace_accuracy_name(enlace_message_accuracy(m)) : "-");
    if (enlace_message_case_ref(m))
        printf("case_ref:     %s\n", enlace_message_case_ref(m));
    if (enlace_message_in_reply_to(m)) {
        enlace_id_to_hex(enlace_message_in_reply_to(m), id);
        printf("in_reply_to:  %s\n", id);
    }
    if (enlace_message_language(m))
        printf("language:     %s\n", enlace_message_language(m));
    if (enlace_message_content_type(m))
        printf("content_type: %s\n", enlace_message_content_type(m));
    enlace_time_format(enlace_message_created_at_ms(m), t);
    printf("created_at:   %s\n", t);
    if (enlace_message_expires_at_ms(m)) {
        enlace_time_format(enlace_message_expires_at_ms(m), t);
        printf("expires_at:   %s\n", t);
    }
    size_t n = 0;
    const uint8_t *p = enlace_message_payload(m, &n);
    if (file != NULL) {
        printf("payload:      %zu bytes in %s\n", n, file);
    } else if (cli_is_text(p, n)) {
        printf("payload:      %zu bytes\n\n", n);
        fwrite(p, 1, n, stdout);
        if (n == 0 || p[n - 1] != '\n')
            putchar('\n');
    } else {
        printf("payload:      %zu bytes of binary data (use --out DIR or --json)\n", n);
    }
}

/* Write path durably: temporary file, write, fsync, rename. */
static int write_file(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* DIR/<seq>-<id>.bin and .json, then the directory synced. */
static int write_out(const char *dir, const enlace_message_t *m, char *bin_path, size_t bin_len)
{
    char id[33] = "unknown", path[4096];
    if (enlace_message_id(m))
        enlace_id_to_hex(enlace_message_id(m), id);
    size_t n = 0;
    const uint8_t *p = enlace_message_payload(m, &n);
    snprintf(bin_path, bin_len, "%s/%llu-%s.bin", dir, (unsigned long long)enlace_message_seq(m),
             id);
    snprintf(path, sizeof path, "%s/%llu-%s.json", dir, (unsigned long long)enlace_message_seq(m),
             id);
    char *json = NULL;
    size_t json_len = 0;
    FILE *mem = open_memstream(&json, &json_len);
    if (mem == NULL)
        return -1;
    fputc('{', mem);
    json_header(mem, m);
    fprintf(mem, ",\"payload_file\":");
    cli_json_string(mem, strrchr(bin_path, '/') + 1);
    fprintf(mem, ",\"payload_size\":%zu}\n", n);
    if (fclose(mem) != 0) {
        free(json);
        return -1;
    }
    int rc = write_file(bin_path, p ? p : (const uint8_t *)"", n);
    if (rc == 0)
        rc = write_file(path, json, json_len);
    free(json);
    int dfd = rc == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        rc = fsync(dfd);
        close(dfd);
    }
    return rc;
}

/* Where to start, from --from. */
static bool parse_from(const char *s, enlace_start_t *start, uint64_t *from)
{
    *from = 0;
    if (strcmp(s, "new") == 0) {
        *start = ENLACE_START_NEW;
        return true;
    }
    if (strcmp(s, "resume") == 0) {
        *start = ENLACE_START_RESUME;
        return true;
    }
    if (enlace_time_parse(s, from) == ENLACE_OK) {
        *start = ENLACE_START_FROM_TIME;
        return true;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0) {
        *start = ENLACE_START_FROM_SEQ;
        *from = v;
        return true;
    }
    return false;
}

/* Report a rejected message on stderr. */
static void report_rejected(const enlace_message_t *m, enlace_err_t rc)
{
    char id[33] = "?";
    if (enlace_message_id(m))
        enlace_id_to_hex(enlace_message_id(m), id);
    const char *sender = enlace_message_sender(m);
    cli_error(CMD, "REJECTED message seq %llu (id %s, claimed sender %s): %s: %s",
              (unsigned long long)enlace_message_seq(m), id, sender[0] ? sender : "unknown",
              enlace_err_str(rc), enlace_message_error(m));
}

/* Show or store one verified message. */
static int output_message(const enlace_message_t *m, const char *out_dir, bool json)
{
    char bin[4200];
    if (out_dir != NULL && write_out(out_dir, m, bin, sizeof bin) != 0) {
        cli_error(CMD, "cannot write message %llu to %s: %s",
                  (unsigned long long)enlace_message_seq(m), out_dir, strerror(errno));
        return CLI_EXIT_OTHER;
    }
    if (json) {
        putchar('{');
        json_header(stdout, m);
        if (out_dir != NULL) {
            printf(",\"payload_file\":");
            cli_json_string(stdout, bin);
        } else {
            size_t n = 0;
            const uint8_t *p = enlace_message_payload(m, &n);
            if (json_payload(stdout, p ? p : (const uint8_t *)"", n) != CLI_EXIT_OK) {
                cli_error(CMD, "out of memory");
                return CLI_EXIT_OTHER;
            }
        }
        printf("}\n");
    } else {
        print_text(m, out_dir ? bin : NULL);
    }
    if (fflush(stdout) != 0) {
        cli_error(CMD, "cannot write to standard output");
        return CLI_EXIT_OTHER;
    }
    return CLI_EXIT_OK;
}

int cmd_subscribe(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"topic", required_argument, NULL, OPT_TOPIC},
        {"name", required_argument, NULL, OPT_NAME},
        {"from", required_argument, NULL, OPT_FROM},
        {"count", required_argument, NULL, OPT_COUNT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"out", required_argument, NULL, OPT_OUT},
        {"json", no_argument, NULL, OPT_JSON},
        {"skip-rejected", no_argument, NULL, OPT_SKIP_REJECTED},
        {NULL, 0, NULL, 0},
    };
    cli_common_t common = {0};
    const char *filter = NULL, *name = NULL, *out_dir = NULL;
    enlace_start_t start = ENLACE_START_RESUME;
    uint64_t from = 0, count = 0, timeout_ms = 0;
    bool json = false, skip_rejected = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (cli_common_option(&common, opt, optarg))
            continue;
        char *end = NULL;
        switch (opt) {
        case 'h': help_subscribe(stdout); return CLI_EXIT_OK;
        case OPT_TOPIC: filter = optarg; break;
        case OPT_NAME: name = optarg; break;
        case OPT_FROM:
            if (!parse_from(optarg, &start, &from)) {
                cli_error(CMD,
                          "--from: expected new, resume, a sequence number or an ISO 8601 "
                          "time, got '%s'",
                          optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_COUNT:
            errno = 0;
            count = strtoull(optarg, &end, 10);
            if (optarg[0] < '1' || optarg[0] > '9' || *end != '\0' || errno != 0) {
                cli_error(CMD, "--count: expected a positive number, got '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_TIMEOUT:
            if (enlace_duration_parse(optarg, &timeout_ms) != ENLACE_OK ||
                timeout_ms > 365ULL * 86400 * 1000) {
                cli_error(CMD, "--timeout: expected seconds (or 30s, 5m, 1h), got '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_OUT: out_dir = optarg; break;
        case OPT_JSON: json = true; break;
        case OPT_SKIP_REJECTED: skip_rejected = true; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (filter == NULL || name == NULL) {
        cli_error(CMD, "--topic and --name are required (see enlace subscribe --help)");
        return CLI_EXIT_USAGE;
    }
    struct stat st;
    if (out_dir != NULL && (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        cli_error(CMD, "--out: %s is not a directory", out_dir);
        return CLI_EXIT_USAGE;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    enlace_conn_t *conn = NULL;
    int rc = cli_connect(CMD, &common, true, &conn);
    if (rc != CLI_EXIT_OK)
        return rc;
    uint32_t sub = 0;
    enlace_err_t err = enlace_subscribe(conn, name, filter, start, from, &sub, NULL);
    if (err != ENLACE_OK) {
        rc = cli_fail(CMD, conn, err);
        enlace_close(&conn);
        return rc;
    }
    uint64_t received = 0;
    int64_t last = now_ms();
    unsigned backoff_s = 1;
    rc = CLI_EXIT_OK;
    while (!stop_requested && (count == 0 || received < count)) {
        int slice = SLICE_MS;
        if (timeout_ms > 0) {
            int64_t left = last + (int64_t)timeout_ms - now_ms();
            if (left <= 0) {
                cli_error(CMD, "no message for %llu ms", (unsigned long long)timeout_ms);
                rc = CLI_EXIT_TIMEOUT;
                break;
            }
            if (left < slice)
                slice = (int)left;
        }
        enlace_message_t *m = NULL;
        err = enlace_next(conn, slice, &m);
        if (err == ENLACE_ERR_TIMEOUT)
            continue;
        if (m == NULL) {
            /* Connection down and the library's one reconnect failed: retry with backoff
             * while the failure looks transient, give up on a refusal. */
            if (err == ENLACE_ERR_CLOSED || err == ENLACE_ERR_IO || err == ENLACE_ERR_TIMEOUT ||
                err == ENLACE_ERR_PROTOCOL) {
                cli_error(CMD, "connection lost (%s); reconnecting in %u s",
                          enlace_last_error(conn), backoff_s);
                for (unsigned i = 0; i < backoff_s * 10 && !stop_requested; i++)
                    nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
                backoff_s = backoff_s < 30 ? backoff_s * 2 : 30;
                continue;
            }
            rc = err == ENLACE_ERR_BAD_CERT ? CLI_EXIT_CONNECT : cli_exit_code(err);
            cli_error(CMD, "%s", enlace_last_error(conn));
            break;
        }
        backoff_s = 1;
        if (err != ENLACE_OK) {
            report_rejected(m, err);
            if (!skip_rejected) {
                enlace_message_free(&m);
                rc = CLI_EXIT_VERIFY;
                break;
            }
            err = enlace_ack(conn, m); /* the operator chose to move past it */
            enlace_message_free(&m);
            if (err != ENLACE_OK)
                cli_error(CMD, "cannot acknowledge: %s", enlace_last_error(conn));
            continue;
        }
        rc = output_message(m, out_dir, json);
        if (rc == CLI_EXIT_OK) {
            err = enlace_ack(conn, m);
            if (err != ENLACE_OK) /* delivered again later: at-least-once */
                cli_error(CMD, "cannot acknowledge message %llu: %s",
                          (unsigned long long)enlace_message_seq(m), enlace_last_error(conn));
        }
        enlace_message_free(&m);
        if (rc != CLI_EXIT_OK)
            break;
        received++;
        last = now_ms();
    }
    enlace_close(&conn);
    return rc;
}
