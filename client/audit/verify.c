/* verify — `enlace-audit verify` (see verify.h). */
#include "verify.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "audit_util.h"
#include "cert.h"
#include "crypto.h"
#include "json.h"
#include "log_segment.h"
#include "merkle.h"
#include "pinned.h"
#include "progress.h"
#include "sigcheck.h"

static const char HELP[] =
    "Usage: enlace-audit verify --log DIR --key PUBKEY [--origin NAME]\n"
    "                           [--ca BUNDLE [--crl CRL]] [--threads N] [--json]\n"
    "                           [--max-errors N]\n"
    "\n"
    "Check an Enlace audit-log directory offline, trusting nothing in it but what the\n"
    "pinned checkpoint key signed.\n"
    "\n"
    "Checks\n"
    "  - every segment name, frame length and CRC-32C; that every record decodes; that\n"
    "    sequence numbers run 0, 1, 2, ... across segments without a gap;\n"
    "  - every checkpoint: each entry of the history file `checkpoints` and the\n"
    "    `checkpoint` file must carry a valid Ed25519 signature by the pinned key under\n"
    "    the log origin; sizes must never decrease along the history (equal sizes, equal\n"
    "    roots); the RFC 9162 Merkle root of the log's first SIZE records must equal the\n"
    "    signed root, which also proves consecutive checkpoints consistent. A checkpoint\n"
    "    larger than the log means records were removed (a rollback).\n"
    "  - with --ca, every published message: the signer certificate carried in the log\n"
    "    chains to BUNDLE with EKU clientAuth (and, with --crl, was not revoked), and the\n"
    "    whole chain was valid at the time the record was logged (so an old log still\n"
    "    verifies after its certificates expire); its agency id is the header's sender;\n"
    "    signer_cert_sha256 names it; the signature over the header verifies; the\n"
    "    payload matches payload_sha256. Signatures are checked on all cores.\n"
    "Records after the latest checkpoint are checked but not yet bound by a signature;\n"
    "the report says how many. A last segment that ends inside a frame (the torn tail a\n"
    "crash leaves, cut by the broker at its next start) is reported as a note; a signed\n"
    "record lost that way is a rollback. A log with no valid checkpoint fails.\n"
    "\n"
    "Options\n"
    "  --log DIR        log directory (seg-*.log, checkpoint, checkpoints)\n"
    "  --key PUBKEY     pinned checkpoint key: PEM Ed25519 public key file (e.g.\n"
    "                   checkpoint.pub) or a verifier key string NAME+KEYID+BASE64\n"
    "  --origin NAME    log origin = key name (default: from the key string, else the\n"
    "                   origin line of the first checkpoint; the signature binds it)\n"
    "  --ca BUNDLE      PEM CA bundle: also verify every sender signature\n"
    "  --crl CRL        PEM CRLs of the bundle's CAs (needs --ca)\n"
    "  --threads N      signature-checking threads (default: one per processor)\n"
    "  --json           print one JSON summary object on stdout instead of the report\n"
    "  --max-errors N   problems listed (default 20; all are counted)\n"
    "  -h, --help       show this text\n"
    "\n"
    "Output\n"
    "  A report on stdout, then OK, or FAILED with the problems in log order, the first\n"
    "  one also on stderr. Each names its place: \"seq N (SEGMENT offset BYTES)\" for a\n"
    "  record, \"checkpoint #I\" (entry I of `checkpoints`, counted from 0) or \"latest\n"
    "  checkpoint file\" for a checkpoint, and a stable problem name (bad-crc,\n"
    "  seq-mismatch, short-frame, checkpoint-signature, checkpoint-root, rollback,\n"
    "  bad-signature, ...). --json prints instead {\"ok\", \"log\", \"segments\",\n"
    "  \"records\", \"bytes\", \"checkpoints\", \"checkpoints_valid\", \"checkpoint_size\",\n"
    "  \"unsigned_tail\", \"published\", \"signatures_checked\", \"certificates\",\n"
    "  \"threads\", \"problems\", \"first_error\", \"errors\", \"elapsed_s\",\n"
    "  \"records_per_s\", \"signatures_per_s\"}. A progress bar is drawn on stderr when\n"
    "  stderr is a terminal.\n"
    "\n"
    "Exit status\n"
    "  0 everything holds; 1 usage error; 2 verification failed; 3 the log, key, bundle\n"
    "  or CRL cannot be read; 5 internal error (out of memory).\n"
    "\n"
    "Example\n"
    "  enlace-audit verify --log /var/lib/enlace/log --key checkpoint.pub --ca ca.pem\n";

/* Ordering classes of problems: checkpoint files first, then log order, then the end. */
enum { CLS_CHECKPOINT = 0, CLS_RECORD = 1, CLS_END = 2 };

/* One problem found. */
typedef struct {
    int cls;               /* CLS_* */
    uint64_t pos;          /* order within the class (seq, or checkpoint position) */
    int sub;               /* order at the same pos */
    char kind[32];         /* stable problem name */
    bool has_seq;          /* seq is meaningful */
    uint64_t seq;          /* record seq */
    char segment[64];      /* segment file ("" when none) */
    uint64_t offset;       /* frame offset in segment */
    const pinned_cp_t *cp; /* the checkpoint concerned, or NULL */
    char msg[512];         /* sentence */
} verr_t;

/* Most problems kept for the report (all are counted). */
#define MAX_KEPT 10000

typedef struct {
    const char *dir;               /* log directory */
    pinned_key_t key;              /* pinned key */
    pinned_cps_t cps;              /* every checkpoint read */
    const pinned_cp_t **order;     /* valid checkpoints sorted by size */
    size_t n_order, next;          /* how many; the next to compare */
    const pinned_cp_t *last_match; /* largest checkpoint whose root matched */
    merkle_t *tree;                /* compact tree over the records read */
    bool broken;                   /* a record was lost: the tree no longer follows the log */
    uint64_t broken_seq;           /* where */
    uint64_t skipped_cps;          /* checkpoints not compared because of that */
    sigcheck_t *sig;               /* signature checker (references only without --ca) */
    progress_t *prog;              /* progress bar or NULL */
    char last_segment[256];        /* name of the last segment file */
    bool torn_tail;                /* the last segment ends inside a frame */
    uint64_t torn_offset;          /* where */
    uint64_t torn_seq;             /* the seq that frame would have had */
    uint64_t seg_base;             /* bytes of the segments before the current one */
    char cur_segment[64];          /* current segment name */
    uint64_t cur_end;              /* end offset of the last frame in it */
    pthread_mutex_t lock;          /* guards the problem list (workers report too) */
    verr_t *errs;                  /* problems kept */
    size_t n_errs, cap_errs;       /* count and capacity */
    uint64_t problems;             /* problems found */
    enlace_err_t fatal;            /* NOMEM while keeping a problem (under lock) */
} verify_t;

static verr_t *add_err(verify_t *v, int cls, uint64_t pos, int sub, const char *kind)
{
    static verr_t overflow; /* sink for problems beyond MAX_KEPT (counted only) */
    v->problems++;
    if (v->n_errs == MAX_KEPT) {
        memset(&overflow, 0, sizeof(overflow));
        return &overflow;
    }
    if (v->n_errs == v->cap_errs) {
        size_t cap = v->cap_errs ? v->cap_errs * 2 : 32;
        verr_t *p = realloc(v->errs, cap * sizeof(*p));
        if (p == NULL) {
            v->fatal = ENLACE_ERR_NOMEM;
            memset(&overflow, 0, sizeof(overflow));
            return &overflow;
        }
        v->errs = p;
        v->cap_errs = cap;
    }
    verr_t *e = &v->errs[v->n_errs++];
    memset(e, 0, sizeof(*e));
    e->cls = cls;
    e->pos = pos;
    e->sub = sub;
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    return e;
}

static void cp_err(verify_t *v, int cls, uint64_t pos, int sub, const pinned_cp_t *cp,
                   const char *kind, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void cp_err(verify_t *v, int cls, uint64_t pos, int sub, const pinned_cp_t *cp,
                   const char *kind, const char *fmt, ...)
{
    pthread_mutex_lock(&v->lock);
    verr_t *e = add_err(v, cls, pos, sub, kind);
    e->cp = cp;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&v->lock);
}

static void rec_err(verify_t *v, uint64_t seq, int sub, const char *segment, uint64_t offset,
                    const char *kind, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void rec_err(verify_t *v, uint64_t seq, int sub, const char *segment, uint64_t offset,
                    const char *kind, const char *fmt, ...)
{
    pthread_mutex_lock(&v->lock);
    verr_t *e = add_err(v, CLS_RECORD, seq, sub, kind);
    e->has_seq = true;
    e->seq = seq;
    snprintf(e->segment, sizeof(e->segment), "%s", segment ? segment : "");
    e->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&v->lock);
}

static void on_sig_failure(const sigcheck_failure_t *f, void *user)
{
    verify_t *v = user;
    /* sigcheck serialises its callbacks, but the reader may add problems at the same
     * time: rec_err takes our own lock. */
    rec_err(v, f->seq, 2, f->segment, f->offset, f->kind, "%s", f->detail);
}

static void on_problem(const log_scan_problem_t *p, void *user)
{
    verify_t *v = user;
    if (p->issue == LOG_SCAN_SHORT && strcmp(p->segment, v->last_segment) == 0) {
        /* A torn tail of the last segment is what a crash (or a reader racing the
         * writer) leaves: the broker cuts it at its next start. Only signed records
         * count, and a signed record lost there is reported as a rollback. */
        v->torn_tail = true;
        v->torn_offset = p->offset;
        v->torn_seq = p->expected_seq;
        return;
    }
    rec_err(v, p->expected_seq, 0, p->segment, p->offset, log_scan_issue_str(p->issue), "%s",
            p->detail);
    /* Problems that lose a record break the correspondence between tree leaves and
     * seqs: later roots cannot be compared meaningfully. A seq mismatch does not lose
     * the record (the scan hands it over), so the tree still reflects the files; nor
     * does a zero tail in a segment that is not the last (records lost under it show
     * as a gap at the next segment). */
    if (p->issue != LOG_SCAN_SEQ_MISMATCH && p->issue != LOG_SCAN_BAD_NAME &&
        p->issue != LOG_SCAN_EMPTY_SEGMENT && p->issue != LOG_SCAN_ZERO_TAIL && !v->broken) {
        v->broken = true;
        v->broken_seq = p->expected_seq;
    }
}

/* Compare the tree with every checkpoint of its current size.
 * Returns ENLACE_OK or ENLACE_ERR_NOMEM. */
static enlace_err_t compare_roots(verify_t *v, const log_scan_entry_t *e)
{
    uint64_t size = merkle_size(v->tree);
    while (v->next < v->n_order && v->order[v->next]->size <= size) {
        const pinned_cp_t *cp = v->order[v->next++];
        if (cp->size < size) {
            continue; /* already handled (size 0 before the scan) */
        }
        if (v->broken) {
            v->skipped_cps++;
            continue;
        }
        uint8_t root[32];
        if (merkle_root(v->tree, size, root) != ENLACE_OK) {
            return ENLACE_ERR_NOMEM;
        }
        if (ct_equal(root, cp->root, 32)) {
            v->last_match = cp;
            continue;
        }
        char *got = audit_b64_encode(root, 32), *want = audit_b64_encode(cp->root, 32);
        uint64_t from = v->last_match ? v->last_match->size : 0;
        cp_err(v, CLS_RECORD, size - 1, 3, cp, "checkpoint-root",
               "signed root %s differs from the log's root %s over seq 0..%" PRIu64
               " (ending in %s at offset %" PRIu64 "); the log and this checkpoint "
               "disagree somewhere in seq %" PRIu64 "..%" PRIu64,
               want ? want : "?", got ? got : "?", size - 1, e->segment, e->offset, from, size - 1);
        free(got);
        free(want);
    }
    return ENLACE_OK;
}

static enlace_err_t on_record(const log_scan_entry_t *e, void *user)
{
    verify_t *v = user;
    uint8_t leaf[32];
    merkle_leaf_hash(e->data, e->len, leaf);
    if (merkle_append(v->tree, leaf) != ENLACE_OK) {
        return ENLACE_ERR_NOMEM;
    }
    if (strcmp(v->cur_segment, e->segment) != 0) {
        v->seg_base += v->cur_end;
        snprintf(v->cur_segment, sizeof(v->cur_segment), "%s", e->segment);
    }
    v->cur_end = e->offset + LOG_FRAME_HEADER + e->len;
    enlace_err_t rc = compare_roots(v, e);
    if (rc == ENLACE_OK) {
        rc = sigcheck_record(v->sig, e);
    }
    progress_update(v->prog, v->seg_base + v->cur_end, merkle_size(v->tree));
    return rc;
}

/* Checks of the checkpoints among themselves, before reading any record. */
static void check_checkpoints(verify_t *v)
{
    const pinned_cp_t *prev = NULL;
    uint8_t empty[32];
    merkle_empty_root(empty);
    for (size_t i = 0; i < v->cps.n; i++) {
        const pinned_cp_t *cp = &v->cps.v[i];
        char where[96], pw[96];
        pinned_cp_describe(cp, where, sizeof(where));
        if (cp->status != ENLACE_OK) {
            cp_err(v, CLS_CHECKPOINT, i, 0, cp,
                   cp->status == ENLACE_ERR_BAD_SIGNATURE ? "checkpoint-signature"
                                                          : "checkpoint-malformed",
                   "%s", cp->why);
            continue;
        }
        if (cp->size == 0 && !ct_equal(cp->root, empty, 32)) {
            cp_err(v, CLS_CHECKPOINT, i, 1, cp, "checkpoint-root",
                   "size 0 with a root that is not the empty tree's");
        }
        /* Order is a property of the history. The `checkpoint` file is written after
         * the history entry, so after a crash it may lag one entry behind: it is only
         * compared with the log, like every checkpoint. */
        if (prev != NULL && cp->from == PINNED_FROM_HISTORY) {
            pinned_cp_describe(prev, pw, sizeof(pw));
            if (cp->size < prev->size) {
                cp_err(v, CLS_CHECKPOINT, i, 1, cp, "checkpoint-order",
                       "size %" PRIu64 " is smaller than %s before it: the signed log went "
                       "back",
                       cp->size, pw);
            } else if (cp->size == prev->size && !ct_equal(cp->root, prev->root, 32)) {
                cp_err(v, CLS_CHECKPOINT, i, 1, cp, "checkpoint-fork",
                       "same size as %s but a different root: two different logs were signed", pw);
            }
        }
        if (cp->from == PINNED_FROM_HISTORY) {
            prev = cp;
        }
    }
}

static int cmp_size(const void *a, const void *b)
{
    const pinned_cp_t *x = *(const pinned_cp_t *const *)a, *y = *(const pinned_cp_t *const *)b;
    if (x->size != y->size) {
        return x->size < y->size ? -1 : 1;
    }
    return x < y ? -1 : (x > y);
}

static int cmp_err(const void *a, const void *b)
{
    const verr_t *x = a, *y = b;
    if (x->cls != y->cls) {
        return x->cls < y->cls ? -1 : 1;
    }
    if (x->pos != y->pos) {
        return x->pos < y->pos ? -1 : 1;
    }
    if (x->sub != y->sub) {
        return x->sub < y->sub ? -1 : 1;
    }
    return 0;
}

/* "seq 42 (seg-....log offset 123): bad-crc: ..." or "checkpoint #3 (size 9): ...". */
static void err_line(const verr_t *e, char *out, size_t out_len)
{
    if (e->cp != NULL) {
        char where[96];
        pinned_cp_describe(e->cp, where, sizeof(where));
        snprintf(out, out_len, "%s: %s: %s", where, e->kind, e->msg);
    } else if (e->has_seq && e->segment[0]) {
        snprintf(out, out_len, "seq %" PRIu64 " (%s offset %" PRIu64 "): %s: %s", e->seq,
                 e->segment, e->offset, e->kind, e->msg);
    } else if (e->has_seq) {
        snprintf(out, out_len, "seq %" PRIu64 ": %s: %s", e->seq, e->kind, e->msg);
    } else {
        snprintf(out, out_len, "%s: %s", e->kind, e->msg);
    }
}

static void json_err(json_t *j, const char *key, const verr_t *e)
{
    char line[800];
    err_line(e, line, sizeof(line));
    json_obj_begin(j, key);
    json_str(j, "kind", e->kind);
    if (e->has_seq) {
        json_u64(j, "seq", e->seq);
    }
    if (e->segment[0]) {
        json_str(j, "segment", e->segment);
        json_u64(j, "offset", e->offset);
    }
    if (e->cp != NULL) {
        if (e->cp->from == PINNED_FROM_HISTORY) {
            json_u64(j, "checkpoint", e->cp->index);
        } else {
            json_str(j, "checkpoint", "latest");
        }
    }
    json_str(j, "message", line);
    json_obj_end(j);
}

/* Total bytes of segment data (for the progress bar); last = the last segment's name.
 * The last segment may end in a zero tail (log_segment.h): its file size is not its data
 * size, which is found by reading it. */
static uint64_t segments_bytes(const char *dir, char *last, size_t last_len)
{
    log_segment_file_t *files = NULL;
    size_t n = 0;
    uint64_t total = 0;
    if (log_segment_list(dir, &files, &n) != ENLACE_OK) {
        return 0;
    }
    size_t n_valid = 0;
    while (n_valid < n && files[n_valid].valid) {
        n_valid++;
    }
    for (size_t i = 0; i < n_valid; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
        if (i + 1 < n_valid) {
            if (stat(path, &st) == 0) {
                total += (uint64_t)st.st_size;
            }
            continue;
        }
        snprintf(last, last_len, "%s", files[i].name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        uint64_t data = 0;
        if (fd >= 0 && log_segment_data_size(fd, &data) == ENLACE_OK) {
            total += data;
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    free(files);
    return total;
}

int cmd_verify(int argc, char **argv)
{
    static const struct option OPTS[] = {
        {"log", required_argument, NULL, 'l'},    {"key", required_argument, NULL, 'k'},
        {"origin", required_argument, NULL, 'o'}, {"ca", required_argument, NULL, 'c'},
        {"crl", required_argument, NULL, 'r'},    {"threads", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},         {"max-errors", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *key_spec = NULL, *origin = NULL, *ca = NULL, *crl = NULL;
    bool as_json = false;
    uint64_t threads = 0, max_errors = 20;
    verify_t v;
    memset(&v, 0, sizeof(v));
    pthread_mutex_init(&v.lock, NULL);
    X509_STORE *store = NULL;
    int status = AUDIT_EXIT_INTERNAL;
    char why[512] = "";

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (c) {
        case 'l': v.dir = optarg; break;
        case 'k': key_spec = optarg; break;
        case 'o': origin = optarg; break;
        case 'c': ca = optarg; break;
        case 'r': crl = optarg; break;
        case 'j': as_json = true; break;
        case 't':
            if (!audit_parse_u64(optarg, &threads) || threads == 0 || threads > 1024) {
                status = audit_usage("verify", "--threads wants 1..1024, not %s", optarg);
                goto done;
            }
            break;
        case 'm':
            if (!audit_parse_u64(optarg, &max_errors)) {
                status = audit_usage("verify", "--max-errors wants a number, not %s", optarg);
                goto done;
            }
            break;
        case 'h':
            fputs(HELP, stdout);
            status = AUDIT_EXIT_OK;
            goto done;
        default:
            status = audit_usage("verify", "unknown or incomplete option %s", argv[optind - 1]);
            goto done;
        }
    }
    if (optind < argc) {
        status = audit_usage("verify", "unexpected argument %s", argv[optind]);
        goto done;
    }
    if (v.dir == NULL || key_spec == NULL) {
        status = audit_usage("verify", "--log and --key are required");
        goto done;
    }
    if (crl != NULL && ca == NULL) {
        status = audit_usage("verify", "--crl needs --ca");
        goto done;
    }
    enlace_err_t rc = pinned_load(key_spec, origin, &v.key, why, sizeof(why));
    if (rc != ENLACE_OK) {
        audit_errf("%s", why);
        status = rc == ENLACE_ERR_INVALID ? AUDIT_EXIT_IO : audit_exit_for(rc);
        goto done;
    }
    if (ca != NULL && (store = cert_trust_load(ca, crl, why, sizeof(why))) == NULL) {
        audit_errf("cannot load the trust store: %s", why);
        status = AUDIT_EXIT_IO;
        goto done;
    }

    double t0 = audit_now();
    rc = pinned_load_checkpoints(v.dir, &v.key, &v.cps, why, sizeof(why));
    if (rc == ENLACE_ERR_NOT_FOUND) {
        audit_errf("%s: no such log directory", v.dir);
        status = AUDIT_EXIT_IO;
        goto done;
    }
    if (rc == ENLACE_ERR_CORRUPT) {
        cp_err(&v, CLS_CHECKPOINT, 0, 0, NULL, "checkpoint-file", "%s", why);
    } else if (rc != ENLACE_OK) {
        audit_errf("%s", why);
        status = audit_exit_for(rc);
        goto done;
    }
    check_checkpoints(&v);
    v.order = calloc(v.cps.n + 1, sizeof(*v.order));
    v.tree = merkle_new_compact();
    v.sig = sigcheck_new(store, (unsigned)threads, on_sig_failure, &v);
    if (v.order == NULL || v.tree == NULL || v.sig == NULL) {
        audit_errf("out of memory");
        goto done;
    }
    for (size_t i = 0; i < v.cps.n; i++) {
        if (v.cps.v[i].status == ENLACE_OK) {
            v.order[v.n_order++] = &v.cps.v[i];
        }
    }
    qsort(v.order, v.n_order, sizeof(*v.order), cmp_size);
    while (v.next < v.n_order && v.order[v.next]->size == 0) {
        v.last_match = v.order[v.next++]; /* the empty root was checked above */
    }

    uint64_t total = segments_bytes(v.dir, v.last_segment, sizeof(v.last_segment));
    v.prog = progress_new("verify", total);
    log_scan_report_t rep;
    rc = log_scan(v.dir, on_record, on_problem, &v, &rep);
    progress_destroy(&v.prog);
    sigcheck_finish(v.sig);
    if (rc == ENLACE_ERR_NOT_FOUND) {
        audit_errf("%s: no such log directory", v.dir);
        status = AUDIT_EXIT_IO;
        goto done;
    }
    if (rc != ENLACE_OK) {
        audit_errf("reading %s: %s", v.dir, enlace_err_str(rc));
        status = audit_exit_for(rc);
        goto done;
    }
    uint64_t n_records = merkle_size(v.tree);
    /* Checkpoints beyond the end of the log: records were removed after being signed.
     * After a lost record the leaves no longer count seqs: judge by the seqs seen. */
    uint64_t log_end = v.broken ? rep.next_seq : n_records;
    for (; v.next < v.n_order; v.next++) {
        const pinned_cp_t *cp = v.order[v.next];
        if (cp->size <= log_end) {
            v.skipped_cps++;
            continue;
        }
        cp_err(&v, CLS_END, cp->size, 0, cp, "rollback",
               "the log holds %" PRIu64 " records but this checkpoint signed %" PRIu64
               ": seq %" PRIu64 "..%" PRIu64 " are missing (rolled back or truncated)",
               log_end, cp->size, log_end, cp->size - 1);
    }
    uint64_t signed_size = v.n_order ? v.order[v.n_order - 1]->size : 0;
    if (v.n_order == 0) {
        cp_err(&v, CLS_END, 0, 1, NULL, "no-checkpoint",
               "no checkpoint signed by the pinned key: nothing binds this log to the broker");
    }
    double elapsed = audit_now() - t0;
    sigcheck_stats_t ss;
    sigcheck_stats(v.sig, &ss);
    if (v.n_errs > 1) {
        qsort(v.errs, v.n_errs, sizeof(*v.errs), cmp_err);
    }
    for (size_t i = 0; i < v.n_errs; i++) {
        verr_t *e = &v.errs[i];
        if (v.last_match != NULL && e->cp != NULL && strcmp(e->kind, "checkpoint-root") == 0 &&
            e->cp->size < v.last_match->size) {
            /* A later checkpoint matches the log: the log is what the broker signed later,
             * so this earlier checkpoint is the odd one (forged, or a signing key misused). */
            size_t n = strlen(e->msg);
            snprintf(e->msg + n, sizeof(e->msg) - n,
                     "; a later checkpoint (size %" PRIu64 ") matches the log, so this one is "
                     "inconsistent with it",
                     v.last_match->size);
        }
    }
    bool ok = v.problems == 0;
    char *vkey = pinned_vkey(&v.key);
    uint64_t tail = n_records > signed_size ? n_records - signed_size : 0;
    double rps = elapsed > 0 ? (double)n_records / elapsed : 0;
    double sps = elapsed > 0 ? (double)ss.checked / elapsed : 0;

    if (as_json) {
        json_t j;
        json_init(&j, stdout);
        json_obj_begin(&j, NULL);
        json_bool(&j, "ok", ok);
        json_str(&j, "log", v.dir);
        json_str(&j, "key", vkey);
        json_u64(&j, "segments", rep.segments);
        json_u64(&j, "records", n_records);
        json_u64(&j, "bytes", rep.bytes);
        json_u64(&j, "checkpoints", v.cps.n);
        json_u64(&j, "checkpoints_valid", v.n_order);
        json_u64(&j, "checkpoint_size", signed_size);
        json_u64(&j, "unsigned_tail", tail);
        json_u64(&j, "published", ss.published);
        json_bool(&j, "signatures_verified", store != NULL);
        json_u64(&j, "signatures_checked", ss.checked);
        json_u64(&j, "certificates", ss.certificates);
        json_u64(&j, "threads", sigcheck_threads(v.sig));
        json_u64(&j, "problems", v.problems);
        json_bool(&j, "torn_tail", v.torn_tail);
        if (v.n_errs > 0) {
            json_err(&j, "first_error", &v.errs[0]);
        } else {
            json_null(&j, "first_error");
        }
        json_arr_begin(&j, "errors");
        for (size_t i = 0; i < v.n_errs && i < max_errors; i++) {
            json_err(&j, NULL, &v.errs[i]);
        }
        json_arr_end(&j);
        json_double(&j, "elapsed_s", elapsed);
        json_double(&j, "records_per_s", rps);
        json_double(&j, "signatures_per_s", sps);
        json_obj_end(&j);
        json_newline(&j);
    } else {
        printf("log:          %s: %" PRIu64 " segment%s, %" PRIu64 " records, %" PRIu64 " bytes\n",
               v.dir, rep.segments, rep.segments == 1 ? "" : "s", n_records, rep.bytes);
        printf("key:          %s\n", vkey ? vkey : "(no key name: no checkpoint read)");
        printf("checkpoints:  %zu read, %zu valid; latest signed size %" PRIu64, v.cps.n, v.n_order,
               signed_size);
        if (tail > 0) {
            printf(" (%" PRIu64 " later record%s not yet signed)", tail, tail == 1 ? "" : "s");
        }
        printf("\n");
        if (store != NULL) {
            printf("signatures:   %" PRIu64 " published, %" PRIu64 " verified, %" PRIu64
                   " certificate%s, %u thread%s\n",
                   ss.published, ss.checked, ss.certificates, ss.certificates == 1 ? "" : "s",
                   sigcheck_threads(v.sig), sigcheck_threads(v.sig) == 1 ? "" : "s");
        } else {
            printf("signatures:   %" PRIu64 " published, not verified (no --ca)\n", ss.published);
        }
        printf("elapsed:      %.3f s, %.0f records/s", elapsed, rps);
        if (store != NULL) {
            printf(", %.0f signatures/s", sps);
        }
        printf("\n");
        if (v.torn_tail) {
            printf("note:         torn tail: %s ends inside the frame at offset %" PRIu64
                   " (seq %" PRIu64 " would start there), as a crash leaves it; the broker "
                   "cuts it at its next start\n",
                   v.last_segment, v.torn_offset, v.torn_seq);
        }
        if (v.skipped_cps > 0) {
            printf("note:         %" PRIu64 " checkpoint%s after seq %" PRIu64
                   " not compared: a record was lost there\n",
                   v.skipped_cps, v.skipped_cps == 1 ? "" : "s", v.broken_seq);
        }
        if (ok) {
            printf("OK: every CRC, sequence number, checkpoint signature and root%s holds\n",
                   store ? ", and every sender signature," : "");
        } else {
            printf("FAILED: %" PRIu64 " problem%s\n", v.problems, v.problems == 1 ? "" : "s");
            for (size_t i = 0; i < v.n_errs && i < max_errors; i++) {
                char line[800];
                err_line(&v.errs[i], line, sizeof(line));
                fputs("  ", stdout);
                audit_put_text(stdout, line, sizeof(line));
                fputc('\n', stdout);
            }
            if (v.problems > max_errors) {
                printf("  ... and %" PRIu64 " more\n", v.problems - max_errors);
            }
        }
    }
    if (!ok && v.n_errs > 0) {
        char line[800];
        err_line(&v.errs[0], line, sizeof(line));
        fputs("enlace-audit: verification FAILED: ", stderr);
        audit_put_text(stderr, line, sizeof(line)); /* reasons may quote the log's bytes */
        fputc('\n', stderr);
    }
    free(vkey);
    status = v.fatal != ENLACE_OK ? AUDIT_EXIT_INTERNAL : ok ? AUDIT_EXIT_OK : AUDIT_EXIT_FAILED;
done:
    fflush(stdout);
    sigcheck_destroy(&v.sig);
    merkle_destroy(&v.tree);
    free(v.order);
    free(v.errs);
    pinned_cps_clear(&v.cps);
    pinned_clear(&v.key);
    X509_STORE_free(store);
    pthread_mutex_destroy(&v.lock);
    return status;
}
