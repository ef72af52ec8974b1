/* fetch — `enlace-audit fetch` (see fetch.h). */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_util.h"
#include "checkpoint.h"
#include "codec.h"
#include "enlace.h"
#include "log_history.h"
#include "log_segment.h"
#include "log_store.h"
#include "pinned.h"
#include "progress.h"
#include "tlsconn.h"

static const char HELP[] =
    "Usage: enlace-audit fetch --broker HOST[:PORT] --cert CERT --key KEY --ca CA\n"
    "                          --out DIR [--crl CRL] [--resume] [--batch N]\n"
    "                          [--timeout SECONDS] [--checkpoint-key PUBKEY]\n"
    "\n"
    "Download the audit log of a running broker into a local log directory, with an\n"
    "auditor certificate (the broker's policy must give it role = auditor).\n"
    "\n"
    "The connection is TLS 1.3 with mutual authentication and ALPN \"enlace/1\"; the\n"
    "broker's certificate must chain to CA and name HOST. After Hello/Welcome, records\n"
    "are requested with AuditFetch frames from seq 0 (or from the end of DIR with\n"
    "--resume) until the log size the broker reports is reached. Records are written\n"
    "byte for byte as segment files (seg-<first seq>.log: [u32 length][u32 CRC-32C]\n"
    "[record] frames), every distinct signed checkpoint received is appended to\n"
    "DIR/checkpoints and the latest is written to DIR/checkpoint. Then check it:\n"
    "    enlace-audit verify --log DIR --key PINNED-KEY --ca CA\n"
    "Nothing the broker sends is trusted here beyond framing, seq order and decoding:\n"
    "verify checks the rest against the key you pinned. The checkpoint key the broker\n"
    "announces is printed as a verifier key string for comparison; --checkpoint-key\n"
    "makes fetch refuse a broker announcing another key.\n"
    "\n"
    "Options\n"
    "  --broker HOST[:PORT]  broker address (default port 7443; [IPv6]:PORT)\n"
    "  --cert CERT           PEM: the auditor certificate, then intermediates\n"
    "  --key KEY             PEM: its private key\n"
    "  --ca CA               PEM CA bundle for the broker certificate\n"
    "  --crl CRL             PEM CRLs for that bundle (optional)\n"
    "  --out DIR             destination (created; must be empty unless --resume)\n"
    "  --resume              continue a log previously fetched into DIR\n"
    "  --batch N             records asked per AuditFetch (default 1000; the broker\n"
    "                        may send fewer)\n"
    "  --timeout SECONDS     bound of each network step (default 30)\n"
    "  --checkpoint-key PK   pinned checkpoint key (PEM file or verifier key string):\n"
    "                        refuse a broker that announces another one\n"
    "  -h, --help            show this text\n"
    "\n"
    "Exit status\n"
    "  0 fetched; 1 usage error; 2 the broker sent records out of order or undecodable,\n"
    "  or announced another checkpoint key than --checkpoint-key; 3 DIR cannot be\n"
    "  written (or is not empty); 4 connection, TLS or broker refusal (e.g. the\n"
    "  certificate is not an auditor's: NOT_AUTHORIZED).\n";

/* Where fetched records go. */
typedef struct {
    const char *dir;    /* destination directory */
    int dfd;            /* it, open */
    FILE *seg;          /* current segment, or NULL */
    uint64_t seg_bytes; /* bytes in it */
    uint64_t seg_limit; /* roll before passing this */
    uint64_t next;      /* seq of the next record */
    uint64_t bytes;     /* bytes written in this run */
    uint64_t segments;  /* segments created in this run */
    char *last_note;    /* latest checkpoint stored (history's last entry) */
    uint64_t notes;     /* checkpoints appended in this run */
} sink_t;

static enlace_err_t sink_roll(sink_t *s, char *why, size_t why_len)
{
    if (s->seg != NULL) {
        if (fflush(s->seg) != 0 || fsync(fileno(s->seg)) != 0 || fclose(s->seg) != 0) {
            s->seg = NULL;
            snprintf(why, why_len, "%s: cannot write a segment: %s", s->dir, strerror(errno));
            return ENLACE_ERR_IO;
        }
        s->seg = NULL;
    }
    char name[LOG_SEGMENT_NAME_MAX];
    log_segment_name(s->next, name);
    int fd = openat(s->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0 && errno == EEXIST && fstatat(s->dfd, name, &st, 0) == 0 && st.st_size == 0) {
        /* An empty segment left by an interrupted run (--resume): reuse it. */
        fd = openat(s->dfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC);
    }
    if (fd < 0 || (s->seg = fdopen(fd, "w")) == NULL) {
        snprintf(why, why_len, "%s/%s: %s", s->dir, name, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return ENLACE_ERR_IO;
    }
    s->seg_bytes = 0;
    s->segments++;
    return ENLACE_OK;
}

/* Append one record (bytes as received) after checking it decodes and has the next seq. */
static enlace_err_t sink_record(sink_t *s, const ProtobufCBinaryData *b, char *why, size_t why_len)
{
    if (b->len == 0 || b->len > LOG_MAX_RECORD) {
        snprintf(why, why_len, "record %" PRIu64 " has %zu bytes", s->next, b->len);
        return ENLACE_ERR_MALFORMED;
    }
    Enlace__Record *rec = NULL;
    if (log_record_unpack(b->data, b->len, &rec) != ENLACE_OK) {
        snprintf(why, why_len, "record %" PRIu64 " does not decode", s->next);
        return ENLACE_ERR_MALFORMED;
    }
    uint64_t seq = rec->seq;
    codec_free((ProtobufCMessage **)&rec);
    if (seq != s->next) {
        snprintf(why, why_len, "the broker sent seq %" PRIu64 " where %" PRIu64 " was due", seq,
                 s->next);
        return ENLACE_ERR_MALFORMED;
    }
    uint64_t frame = LOG_FRAME_HEADER + (uint64_t)b->len;
    if (s->seg == NULL || (s->seg_bytes > 0 && s->seg_bytes + frame > s->seg_limit)) {
        enlace_err_t rc = sink_roll(s, why, why_len);
        if (rc != ENLACE_OK) {
            return rc;
        }
    }
    uint8_t hdr[LOG_FRAME_HEADER];
    log_frame_header(hdr, b->data, (uint32_t)b->len);
    if (fwrite(hdr, 1, sizeof(hdr), s->seg) != sizeof(hdr) ||
        fwrite(b->data, 1, b->len, s->seg) != b->len) {
        snprintf(why, why_len, "%s: write failed: %s", s->dir, strerror(errno));
        return ENLACE_ERR_IO;
    }
    s->seg_bytes += frame;
    s->bytes += frame;
    s->next++;
    return ENLACE_OK;
}

/* Keep a checkpoint note received from the broker (untrusted text: verify checks it). */
static enlace_err_t sink_note(sink_t *s, const char *note, char *why, size_t why_len)
{
    if (s->last_note != NULL && strcmp(s->last_note, note) == 0) {
        return ENLACE_OK;
    }
    size_t n = strlen(note);
    /* A form feed or other control character would corrupt the history's framing. */
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)note[i] < 0x20 && note[i] != '\n') {
            snprintf(why, why_len, "the broker sent a checkpoint with a control character");
            return ENLACE_ERR_MALFORMED;
        }
    }
    if (n == 0 || n > CHECKPOINT_MAX_NOTE || note[n - 1] != '\n') {
        snprintf(why, why_len, "the broker sent a malformed checkpoint note");
        return ENLACE_ERR_MALFORMED;
    }
    if (log_history_append(s->dfd, note) != ENLACE_OK ||
        log_history_write_latest(s->dfd, note) != ENLACE_OK) {
        snprintf(why, why_len, "%s: cannot write the checkpoint files", s->dir);
        return ENLACE_ERR_IO;
    }
    free(s->last_note);
    if ((s->last_note = strdup(note)) == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    s->notes++;
    return ENLACE_OK;
}

/* The last segment of DIR cut to its data: it may end in a zero tail (a copy of a
 * broker's log directory), which only a last segment may have, and fetched records go
 * into a new segment after it. */
static int cut_zero_tail(sink_t *s)
{
    log_segment_file_t *files = NULL;
    size_t n = 0, n_valid = 0;
    if (log_segment_list(s->dir, &files, &n) != ENLACE_OK) {
        audit_errf("%s: cannot list the segments", s->dir);
        return AUDIT_EXIT_IO;
    }
    while (n_valid < n && files[n_valid].valid) {
        n_valid++;
    }
    int status = AUDIT_EXIT_OK;
    if (n_valid > 0) {
        const char *name = files[n_valid - 1].name;
        int fd = openat(s->dfd, name, O_RDWR | O_CLOEXEC);
        uint64_t data = 0;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || log_segment_data_size(fd, &data) != ENLACE_OK ||
            ((uint64_t)st.st_size > data &&
             (ftruncate(fd, (off_t)data) != 0 || fdatasync(fd) != 0))) {
            audit_errf("%s/%s: cannot cut its zero tail: %s", s->dir, name, strerror(errno));
            status = AUDIT_EXIT_IO;
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    free(files);
    return status;
}

/* --resume: count what DIR holds (it must read cleanly) and take its latest note. */
static int resume_from(sink_t *s)
{
    log_scan_report_t rep;
    enlace_err_t rc = log_scan(s->dir, NULL, NULL, NULL, &rep);
    if (rc != ENLACE_OK || rep.problems > 0) {
        audit_errf("%s: cannot resume: the local log has problems (run enlace-audit verify)",
                   s->dir);
        return AUDIT_EXIT_FAILED;
    }
    int status = cut_zero_tail(s);
    if (status != AUDIT_EXIT_OK) {
        return status;
    }
    s->next = rep.records;
    uint64_t valid = 0;
    if (log_history_read_last(s->dfd, &s->last_note, &valid) != ENLACE_OK) {
        audit_errf("%s: cannot read the checkpoint history", s->dir);
        return AUDIT_EXIT_IO;
    }
    return AUDIT_EXIT_OK;
}

static int open_dir(sink_t *s, bool resume)
{
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
        audit_errf("%s: %s", s->dir, strerror(errno));
        return AUDIT_EXIT_IO;
    }
    s->dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dfd < 0) {
        audit_errf("%s: %s", s->dir, strerror(errno));
        return AUDIT_EXIT_IO;
    }
    if (resume) {
        return resume_from(s);
    }
    log_segment_file_t *files = NULL;
    size_t n = 0;
    struct stat st;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", s->dir, LOG_HISTORY_FILE);
    bool has_history = stat(path, &st) == 0;
    if (log_segment_list(s->dir, &files, &n) != ENLACE_OK || n > 0 || has_history) {
        free(files);
        audit_errf("%s already holds a log: use --resume, or another directory", s->dir);
        return AUDIT_EXIT_IO;
    }
    return AUDIT_EXIT_OK;
}

/* Error frame text for the user. */
static void broker_error(const Enlace__Frame *f, const char *while_doing)
{
    const Enlace__Error *e = f->error;
    audit_errf("the broker refused %s: %s: %s", while_doing,
               enlace_broker_error_name((enlace_broker_error_t)e->code), e->text);
}

int cmd_fetch(int argc, char **argv)
{
    static const struct option OPTS[] = {
        {"broker", required_argument, NULL, 'b'},  {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},     {"ca", required_argument, NULL, 'a'},
        {"crl", required_argument, NULL, 'r'},     {"out", required_argument, NULL, 'o'},
        {"resume", no_argument, NULL, 'R'},        {"batch", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'}, {"checkpoint-key", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *broker = NULL, *pin = NULL;
    tlsconn_opts_t o = {.timeout_ms = 30000, .max_frame = 16u << 20};
    sink_t s = {.dfd = -1, .seg_limit = LOG_DEFAULT_SEGMENT_SIZE};
    bool resume = false;
    uint64_t batch = 1000, secs;
    char host[256];
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (c) {
        case 'b': broker = optarg; break;
        case 'c': o.cert = optarg; break;
        case 'k': o.key = optarg; break;
        case 'a': o.ca = optarg; break;
        case 'r': o.crl = optarg; break;
        case 'o': s.dir = optarg; break;
        case 'R': resume = true; break;
        case 'p': pin = optarg; break;
        case 'n':
            if (!audit_parse_u64(optarg, &batch) || batch == 0) {
                return audit_usage("fetch", "--batch wants a positive number");
            }
            break;
        case 't':
            if (!audit_parse_u64(optarg, &secs) || secs == 0 || secs > 86400) {
                return audit_usage("fetch", "--timeout wants 1..86400 seconds");
            }
            o.timeout_ms = (int)secs * 1000;
            break;
        case 'h': fputs(HELP, stdout); return AUDIT_EXIT_OK;
        default: return audit_usage("fetch", "unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return audit_usage("fetch", "unexpected argument %s", argv[optind]);
    }
    if (!broker || !o.cert || !o.key || !o.ca || !s.dir) {
        return audit_usage("fetch", "--broker, --cert, --key, --ca and --out are required");
    }
    if (enlace_parse_hostport(broker, host, sizeof(host), &o.port) != ENLACE_OK) {
        return audit_usage("fetch", "\"%s\" is not HOST[:PORT]", broker);
    }
    o.host = host;

    int status = AUDIT_EXIT_NETWORK;
    char why[512] = "";
    tlsconn_t *conn = NULL;
    Enlace__Frame *in = NULL;
    progress_t *prog = NULL;
    pinned_key_t pinned = {0};
    char *announced = NULL;
    enlace_err_t rc;
    if (pin != NULL && (rc = pinned_load(pin, NULL, &pinned, why, sizeof(why))) != ENLACE_OK) {
        audit_errf("%s", why);
        return AUDIT_EXIT_IO;
    }
    if ((status = open_dir(&s, resume)) != AUDIT_EXIT_OK) {
        goto done;
    }
    status = AUDIT_EXIT_NETWORK;
    if ((conn = tlsconn_open(&o, &rc, why, sizeof(why))) == NULL) {
        audit_errf("%s", why);
        status = rc == ENLACE_ERR_INVALID ? AUDIT_EXIT_IO : AUDIT_EXIT_NETWORK;
        goto done;
    }

    /* Hello / Welcome. The broker checks our certificate only now (TLS 1.3). */
    Enlace__Frame f = ENLACE__FRAME__INIT;
    Enlace__Hello hello = ENLACE__HELLO__INIT;
    hello.version = 1;
    hello.client_name = "enlace-audit/" ENLACE_VERSION;
    hello.has_max_frame = true;
    hello.max_frame = (uint32_t)o.max_frame;
    f.kind_case = ENLACE__FRAME__KIND_HELLO;
    f.hello = &hello;
    if ((rc = tlsconn_send(conn, &f, why, sizeof(why))) == ENLACE_OK) {
        rc = tlsconn_recv(conn, &in, why, sizeof(why));
    }
    if (rc != ENLACE_OK) {
        if (tlsconn_alert(conn) != NULL) {
            audit_errf("broker rejected our certificate: %s", tlsconn_alert(conn));
        } else {
            audit_errf("no Welcome from the broker: %s", why);
        }
        goto done;
    }
    if (in->kind_case == ENLACE__FRAME__KIND_ERROR) {
        broker_error(in, "the session");
        goto done;
    }
    if (in->kind_case != ENLACE__FRAME__KIND_WELCOME) {
        audit_errf("the broker answered Hello with something else than Welcome");
        goto done;
    }
    const Enlace__Welcome *w = in->welcome;
    if (note_verifier_key(w->log_origin, w->checkpoint_key.data, &announced) != ENLACE_OK) {
        announced = NULL;
    }
    fprintf(stderr, "enlace-audit: connected to %s as %s (%s); log %s, %" PRIu64 " records\n",
            broker, w->agency_id, enlace_role_name((enlace_role_t)w->role), w->log_origin,
            w->has_log_size ? w->log_size : 0);
    if (pinned.loaded &&
        (w->checkpoint_key.len != 32 || memcmp(w->checkpoint_key.data, pinned.pub, 32) != 0)) {
        audit_errf("the broker announces checkpoint key %s, not the pinned one",
                   announced ? announced : "(invalid)");
        status = AUDIT_EXIT_FAILED;
        goto done;
    }
    if (w->role != ENLACE__ROLE__ROLE_AUDITOR) {
        audit_errf("the broker gives %s the role %s: fetching the log needs an auditor "
                   "certificate",
                   w->agency_id, enlace_role_name((enlace_role_t)w->role));
        goto done;
    }
    prog = progress_new("fetch", w->has_log_size ? w->log_size : 0);
    codec_free((ProtobufCMessage **)&in);

    /* AuditFetch until caught up with the size the broker reports. */
    uint64_t corr = 1;
    for (;;) {
        Enlace__AuditFetch af = ENLACE__AUDIT_FETCH__INIT;
        af.correlation_id = corr;
        af.from_seq = s.next;
        af.has_max_records = true;
        af.max_records = batch;
        f = (Enlace__Frame)ENLACE__FRAME__INIT;
        f.kind_case = ENLACE__FRAME__KIND_AUDIT_FETCH;
        f.audit_fetch = &af;
        if ((rc = tlsconn_send(conn, &f, why, sizeof(why))) != ENLACE_OK) {
            audit_errf("%s", why);
            goto done;
        }
        /* Skip frames that are not our answer (e.g. a Ping). */
        for (;;) {
            if ((rc = tlsconn_recv(conn, &in, why, sizeof(why))) != ENLACE_OK) {
                audit_errf("%s", why);
                goto done;
            }
            if (in->kind_case == ENLACE__FRAME__KIND_PING) {
                Enlace__Pong pong = ENLACE__PONG__INIT;
                pong.nonce = in->ping->nonce;
                Enlace__Frame pf = ENLACE__FRAME__INIT;
                pf.kind_case = ENLACE__FRAME__KIND_PONG;
                pf.pong = &pong;
                tlsconn_send(conn, &pf, why, sizeof(why));
            } else if (in->kind_case == ENLACE__FRAME__KIND_ERROR) {
                broker_error(in, "AuditFetch");
                goto done;
            } else if (in->kind_case == ENLACE__FRAME__KIND_GOODBYE) {
                audit_errf("the broker said goodbye: %s", in->goodbye->reason);
                goto done;
            } else if (in->kind_case == ENLACE__FRAME__KIND_AUDIT_RECORDS &&
                       in->audit_records->correlation_id == corr) {
                break;
            }
            codec_free((ProtobufCMessage **)&in);
        }
        const Enlace__AuditRecords *ar = in->audit_records;
        for (size_t i = 0; i < ar->n_records; i++) {
            if ((rc = sink_record(&s, &ar->records[i], why, sizeof(why))) != ENLACE_OK) {
                audit_errf("%s", why);
                status = rc == ENLACE_ERR_IO ? AUDIT_EXIT_IO : AUDIT_EXIT_FAILED;
                goto done;
            }
        }
        /* Store the checkpoint only once the records it covers are stored: a local
         * directory is then always a consistent log (if interrupted, --resume). */
        if (ar->checkpoint != NULL) {
            uint64_t size = 0;
            const char *nl = strchr(ar->checkpoint, '\n');
            bool covered = nl != NULL && sscanf(nl + 1, "%" SCNu64, &size) == 1 && size <= s.next;
            if (covered && s.seg != NULL && fflush(s.seg) != 0) {
                audit_errf("%s: write failed", s.dir);
                status = AUDIT_EXIT_IO;
                goto done;
            }
            if (covered && (rc = sink_note(&s, ar->checkpoint, why, sizeof(why))) != ENLACE_OK) {
                audit_errf("%s", why);
                status = rc == ENLACE_ERR_IO ? AUDIT_EXIT_IO : AUDIT_EXIT_FAILED;
                goto done;
            }
        }
        progress_update_now(prog, s.next, s.next);
        bool done_all = s.next >= ar->log_size;
        bool stuck = ar->n_records == 0 && !done_all;
        codec_free((ProtobufCMessage **)&in);
        if (stuck) {
            audit_errf("the broker sent no record at seq %" PRIu64 " below its log size", s.next);
            status = AUDIT_EXIT_FAILED;
            goto done;
        }
        if (done_all) {
            break;
        }
        corr++;
    }
    if (s.seg != NULL && (fflush(s.seg) != 0 || fsync(fileno(s.seg)) != 0)) {
        audit_errf("%s: cannot write a segment", s.dir);
        status = AUDIT_EXIT_IO;
        goto done;
    }
    fsync(s.dfd);
    progress_destroy(&prog);
    printf("fetched %" PRIu64 " records (%" PRIu64 " bytes, %" PRIu64 " new segment%s) into %s; "
           "%" PRIu64 " new checkpoint%s\n",
           s.next, s.bytes, s.segments, s.segments == 1 ? "" : "s", s.dir, s.notes,
           s.notes == 1 ? "" : "s");
    printf("broker checkpoint key: %s\n", announced ? announced : "(invalid)");
    printf("now run: enlace-audit verify --log %s --key <your pinned checkpoint key>\n", s.dir);
    status = AUDIT_EXIT_OK;
done:
    progress_destroy(&prog);
    codec_free((ProtobufCMessage **)&in);
    tlsconn_close(&conn);
    if (s.seg != NULL) {
        fclose(s.seg);
    }
    if (s.dfd >= 0) {
        close(s.dfd);
    }
    free(s.last_note);
    free(announced);
    pinned_clear(&pinned);
    return status;
}
