/* show — `enlace-audit show` / `replay` (see show.h). */
#include "show.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_util.h"
#include "codec.h"
#include "enlace.h"
#include "log_segment.h"
#include "pubindex.h"
#include "records.h"
#include "render.h"
#include "topic.h"

static const char HELP_FMT[] =
    "Usage: enlace-audit %s --log DIR [--json] [--agency ID] [--topic FILTER]\n"
    "                         [--kind KIND[,KIND...]] [--message ID]\n"
    "                         [--from-seq N] [--to-seq N] [--since TIME] [--until TIME]\n"
    "                         [--limit N] [--no-header]\n"
    "\n"
    "%s"
    "\n"
    "Records are read in log order straight from the segment files (no index, no lock:\n"
    "a live log is fine). Damage found on the way is reported on stderr and skipped;\n"
    "run `enlace-audit verify` to check the log itself. Record fields are shown as\n"
    "logged; text is escaped so that no field can forge output lines.\n"
    "\n"
    "Filters (a record is shown when it passes all the filters given)\n"
    "  --agency ID      records concerning the agency: published by it or naming it as\n"
    "                   a recipient, delivered to it, its sessions and subscriptions,\n"
    "                   refusals of it\n"
    "  --topic FILTER   MQTT-style filter (+ one level, # the rest): published records\n"
    "                   on a matching topic, deliveries of such messages, refusals\n"
    "                   naming such a topic, subscriptions within the filter\n"
    "  --kind LIST      comma-separated kinds: %s\n"
    "  --message ID     a message id (32 hex digits): its published record, every\n"
    "                   delivered record that acknowledges it, refusals naming it\n"
    "                   (exit 3 when no published record has that id)\n"
    "  --from-seq N     records with seq >= N      --to-seq N   records with seq <= N\n"
    "  --since TIME     logged at or after TIME    --until TIME logged at or before TIME\n"
    "                   (ISO 8601: 2025-03-01, 2025-03-01T14:30:00Z, ...+01:00)\n"
    "\n"
    "Output\n"
    "  --json           one JSON object per line (JSON Lines)%s\n"
    "  --limit N        stop after N records shown\n"
    "  --no-header      omit the table's title line\n"
    "  -h, --help       show this text\n"
    "\n"
    "Exit status\n"
    "  0 shown; 1 usage error; 2 the log has damage (records shown may be incomplete);\n"
    "  3 no such log directory, or --message names no published record.\n"
    "\n"
    "Examples\n"
    "  enlace-audit %s --log log --agency US.FBI --since 2025-03-01\n"
    "  enlace-audit %s --log log --message 00112233445566778899aabbccddeeff\n"
    "  enlace-audit %s --log log --topic 'alerts/#' --kind published,delivered --json\n";

static const char SHOW_TEXT[] =
    "List audit-log records as a table: SEQ, TIME (UTC), KIND, AGENCY and DETAILS\n"
    "(published: topic, recipients, TLP, handling, message type and id, case ref;\n"
    "delivered: subscription and the messages acknowledged as seq/message-id;\n"
    "denied: operation, code, reason; sessions, configuration, subscriptions ...).\n"
    "`enlace-audit replay` prints every field of each record instead.\n";

static const char REPLAY_TEXT[] =
    "Replay the log in order with full detail: every header field of each published\n"
    "message (sender, recipients, TLP, handling, evaluation, case ref, reply-to,\n"
    "times, payload digest, signer certificate), the messages each delivery\n"
    "acknowledged (resolved to message id, sender and topic), and the details of every\n"
    "session, refusal and configuration change: who sent what to whom, when, and who\n"
    "read it. Takes the same filters as `show`.\n";

/* Filters and output choices. */
typedef struct {
    const char *dir;             /* log directory */
    bool replay;                 /* replay form */
    bool json;                   /* JSON lines */
    bool header;                 /* table title line */
    const char *agency;          /* --agency or NULL */
    const char *topic;           /* --topic or NULL */
    uint32_t kinds;              /* bit per kind case; 0 = all */
    bool by_message;             /* --message given */
    uint8_t message_id[16];      /* its id */
    uint64_t from_seq, to_seq;   /* inclusive range */
    uint64_t since_ms, until_ms; /* inclusive range */
    uint64_t limit;              /* most records to show (0 = all) */
} show_opts_t;

/* Scan state. */
typedef struct {
    const show_opts_t *o; /* options */
    pubindex_t *ix;       /* published records seen */
    uint64_t *targets;    /* seqs of published records with the --message id */
    size_t n_targets, cap_targets;
    uint64_t shown;         /* records printed */
    uint64_t problems;      /* damage reported */
    char last_segment[256]; /* name of the last segment file */
} show_t;

static bool has_target(const show_t *s, uint64_t seq)
{
    for (size_t i = 0; i < s->n_targets; i++) {
        if (s->targets[i] == seq) {
            return true;
        }
    }
    return false;
}

static bool topic_ok(const char *filter, const char *topic)
{
    return topic != NULL && topic_name_valid(topic) && topic_matches(filter, topic);
}

/* Does the record pass the cross-record filters (agency, topic, message)? */
static bool matches(const show_t *s, const Enlace__Record *r, const Enlace__Header *h)
{
    const show_opts_t *o = s->o;
    if (o->agency != NULL) {
        const char *a = rec_agency(r, h ? h->sender : NULL);
        bool hit = a != NULL && strcmp(a, o->agency) == 0;
        for (size_t i = 0; !hit && h != NULL && i < h->n_recipients; i++) {
            hit = strcmp(h->recipients[i], o->agency) == 0;
        }
        if (!hit) {
            return false;
        }
    }
    if (o->topic != NULL) {
        bool hit = false;
        switch (r->kind_case) {
        case ENLACE__RECORD__KIND_PUBLISHED: hit = h != NULL && topic_ok(o->topic, h->topic); break;
        case ENLACE__RECORD__KIND_DENIED: hit = topic_ok(o->topic, r->denied->topic); break;
        case ENLACE__RECORD__KIND_DELIVERED:
            for (size_t i = 0; !hit && i < r->delivered->n_message_seqs; i++) {
                const pub_entry_t *p = pubindex_find(s->ix, r->delivered->message_seqs[i]);
                hit = p != NULL && topic_ok(o->topic, p->topic);
            }
            break;
        case ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED: {
            const char *f = r->subscription_changed->filter;
            hit = f != NULL && topic_filter_valid(f) && topic_filter_covers(o->topic, f);
            break;
        }
        default: break;
        }
        if (!hit) {
            return false;
        }
    }
    if (o->by_message) {
        bool hit = false;
        switch (r->kind_case) {
        case ENLACE__RECORD__KIND_PUBLISHED: hit = has_target(s, r->seq); break;
        case ENLACE__RECORD__KIND_DELIVERED:
            for (size_t i = 0; !hit && i < r->delivered->n_message_seqs; i++) {
                hit = has_target(s, r->delivered->message_seqs[i]);
            }
            break;
        case ENLACE__RECORD__KIND_DENIED:
            hit = r->denied->has_message_id && r->denied->message_id.len == 16 &&
                  memcmp(r->denied->message_id.data, o->message_id, 16) == 0;
            break;
        default: break;
        }
        if (!hit) {
            return false;
        }
    }
    return true;
}

static enlace_err_t on_record(const log_scan_entry_t *e, void *user)
{
    show_t *s = user;
    const show_opts_t *o = s->o;
    const Enlace__Record *r = e->rec;
    Enlace__Header *h = NULL;
    enlace_err_t rc = ENLACE_OK;

    if (r->kind_case == ENLACE__RECORD__KIND_PUBLISHED && r->published->envelope != NULL) {
        const Enlace__Envelope *env = r->published->envelope;
        if (codec_decode_header(env->header.data, env->header.len, &h, NULL, 0) == ENLACE_OK) {
            rc = pubindex_add(s->ix, r->seq, h->message_id.data, h->sender, h->topic);
            if (rc == ENLACE_OK && o->by_message &&
                memcmp(h->message_id.data, o->message_id, 16) == 0) {
                if (s->n_targets == s->cap_targets) {
                    size_t cap = s->cap_targets ? s->cap_targets * 2 : 4;
                    uint64_t *p = realloc(s->targets, cap * sizeof(*p));
                    if (p == NULL) {
                        rc = ENLACE_ERR_NOMEM;
                        goto done;
                    }
                    s->targets = p;
                    s->cap_targets = cap;
                }
                s->targets[s->n_targets++] = r->seq;
            }
            if (rc != ENLACE_OK) {
                goto done;
            }
        }
    }
    if (r->seq < o->from_seq || r->seq > o->to_seq || r->time_ms < o->since_ms ||
        r->time_ms > o->until_ms) {
        goto done;
    }
    if (o->kinds != 0 && (r->kind_case >= 32 || !(o->kinds & (1u << r->kind_case)))) {
        goto done;
    }
    if (!matches(s, r, h)) {
        goto done;
    }
    render_rec_t rr = {
        .rec = r, .hdr = h, .ix = s->ix, .segment = e->segment, .offset = e->offset, .len = e->len};
    if (o->json) {
        render_json(stdout, &rr, o->replay);
    } else if (o->replay) {
        render_replay(stdout, &rr);
    } else {
        render_table_row(stdout, &rr);
    }
    s->shown++;
    if (o->limit != 0 && s->shown >= o->limit) {
        rc = ENLACE_ERR_AGAIN; /* stop the scan: enough shown */
    }
done:
    codec_free((ProtobufCMessage **)&h);
    return rc;
}

static void on_problem(const log_scan_problem_t *p, void *user)
{
    show_t *s = user;
    if (p->issue == LOG_SCAN_SHORT && strcmp(p->segment, s->last_segment) == 0) {
        /* A torn tail: a crash, or a record being written while we read. */
        fprintf(stderr,
                "enlace-audit: note: %s ends inside a frame at offset %" PRIu64 " (torn tail)\n",
                p->segment, p->offset);
        return;
    }
    s->problems++;
    fprintf(stderr, "enlace-audit: warning: %s offset %" PRIu64 " (seq %" PRIu64 "): %s: %s\n",
            p->segment, p->offset, p->expected_seq, log_scan_issue_str(p->issue), p->detail);
}

static int parse_kinds(const char *list, uint32_t *kinds, const char *cmd)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        Enlace__Record__KindCase k;
        if (!rec_kind_parse(tok, &k) || (unsigned)k >= 32) {
            return audit_usage(cmd, "unknown record kind \"%s\" (kinds: %s)", tok,
                               rec_kind_names());
        }
        *kinds |= 1u << k;
    }
    return *kinds ? AUDIT_EXIT_OK : audit_usage(cmd, "--kind needs at least one kind");
}

static int run(int argc, char **argv, bool replay)
{
    static const struct option OPTS[] = {
        {"log", required_argument, NULL, 'l'},      {"json", no_argument, NULL, 'j'},
        {"agency", required_argument, NULL, 'a'},   {"topic", required_argument, NULL, 't'},
        {"kind", required_argument, NULL, 'k'},     {"message", required_argument, NULL, 'm'},
        {"from-seq", required_argument, NULL, 'f'}, {"to-seq", required_argument, NULL, 'T'},
        {"since", required_argument, NULL, 's'},    {"until", required_argument, NULL, 'u'},
        {"limit", required_argument, NULL, 'n'},    {"no-header", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *cmd = replay ? "replay" : "show";
    show_opts_t o = {
        .replay = replay, .header = true, .to_seq = UINT64_MAX, .until_ms = UINT64_MAX};
    show_t s = {.o = &o};
    int status = AUDIT_EXIT_USAGE;

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (c) {
        case 'l': o.dir = optarg; break;
        case 'j': o.json = true; break;
        case 'H': o.header = false; break;
        case 'a': o.agency = optarg; break;
        case 't':
            if (!topic_filter_valid(optarg)) {
                return audit_usage(cmd, "\"%s\" is not a valid topic filter", optarg);
            }
            o.topic = optarg;
            break;
        case 'k':
            if ((status = parse_kinds(optarg, &o.kinds, cmd)) != AUDIT_EXIT_OK) {
                return status;
            }
            break;
        case 'm':
            if (enlace_id_from_hex(optarg, o.message_id) != ENLACE_OK) {
                return audit_usage(cmd, "--message wants 32 hex digits, not \"%s\"", optarg);
            }
            o.by_message = true;
            break;
        case 'f':
        case 'T':
        case 'n': {
            uint64_t v;
            if (!audit_parse_u64(optarg, &v)) {
                return audit_usage(cmd, "%s wants a number, not \"%s\"", argv[optind - 1], optarg);
            }
            *(c == 'f' ? &o.from_seq : c == 'T' ? &o.to_seq : &o.limit) = v;
            break;
        }
        case 's':
        case 'u':
            if (enlace_time_parse(optarg, c == 's' ? &o.since_ms : &o.until_ms) != ENLACE_OK) {
                return audit_usage(cmd, "\"%s\" is not an ISO 8601 time", optarg);
            }
            break;
        case 'h':
            printf(HELP_FMT, cmd, replay ? REPLAY_TEXT : SHOW_TEXT, rec_kind_names(),
                   replay ? " with every field" : "", cmd, cmd, cmd);
            return AUDIT_EXIT_OK;
        default: return audit_usage(cmd, "unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return audit_usage(cmd, "unexpected argument %s", argv[optind]);
    }
    if (o.dir == NULL) {
        return audit_usage(cmd, "--log is required");
    }
    if ((s.ix = pubindex_new()) == NULL) {
        audit_errf("out of memory");
        return AUDIT_EXIT_INTERNAL;
    }
    if (!o.json && !o.replay && o.header) {
        render_table_header(stdout);
    }
    log_segment_file_t *files = NULL;
    size_t n_files = 0;
    if (log_segment_list(o.dir, &files, &n_files) == ENLACE_OK) {
        for (size_t i = 0; i < n_files; i++) {
            if (files[i].valid) {
                snprintf(s.last_segment, sizeof(s.last_segment), "%s", files[i].name);
            }
        }
    }
    free(files);
    log_scan_report_t rep;
    enlace_err_t rc = log_scan(o.dir, on_record, on_problem, &s, &rep);
    fflush(stdout);
    if (rc == ENLACE_ERR_AGAIN) {
        rc = ENLACE_OK; /* --limit reached */
    }
    if (rc == ENLACE_ERR_NOT_FOUND) {
        audit_errf("%s: no such log directory", o.dir);
        status = AUDIT_EXIT_IO;
    } else if (rc != ENLACE_OK) {
        audit_errf("reading %s: %s", o.dir, enlace_err_str(rc));
        status = audit_exit_for(rc);
    } else if (s.problems > 0) {
        audit_errf("the log has %" PRIu64 " problem%s (see above): run enlace-audit verify",
                   s.problems, s.problems == 1 ? "" : "s");
        status = AUDIT_EXIT_FAILED;
    } else if (o.by_message && s.n_targets == 0) {
        char id[33];
        audit_hex(o.message_id, 16, id);
        audit_errf("no published record with message id %s", id);
        status = AUDIT_EXIT_IO;
    } else {
        status = AUDIT_EXIT_OK;
    }
    pubindex_destroy(&s.ix);
    free(s.targets);
    return status;
}

int cmd_show(int argc, char **argv)
{
    return run(argc, argv, false);
}

int cmd_replay(int argc, char **argv)
{
    return run(argc, argv, true);
}
