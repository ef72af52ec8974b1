/* prove — inclusion and consistency proofs from a local log (see prove.h). */
#include "prove.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_util.h"
#include "checkpoint.h"
#include "codec.h"
#include "crypto.h"
#include "enlace.h"
#include "log_segment.h"
#include "merkle.h"
#include "pinned.h"
#include "proof.h"
#include "records.h"

static const char PROVE_HELP[] =
    "Usage: enlace-audit prove --log DIR --key PUBKEY [--origin NAME]\n"
    "                          (--message ID | --seq N) [--checkpoint FILE] [--out FILE]\n"
    "\n"
    "Print an inclusion proof that a record is in the log: the record itself, its leaf\n"
    "index, the tree size, the RFC 9162 audit path and the signed checkpoint note, as\n"
    "text that anyone holding the pinned key can check without the log\n"
    "(`enlace-audit check-proof FILE --key PUBKEY`, or any RFC 9162 / C2SP tool).\n"
    "\n"
    "The proof is made against the latest checkpoint of the log signed by the pinned\n"
    "key (or the one in --checkpoint FILE, e.g. a checkpoint a court already holds).\n"
    "The whole log is read first: a log whose root at the checkpoint's size is not the\n"
    "signed root, or that has damage, gives no proof (run `enlace-audit verify`).\n"
    "\n"
    "Options\n"
    "  --log DIR          log directory\n"
    "  --key PUBKEY       pinned checkpoint key (PEM Ed25519 public key file or\n"
    "                     verifier key string NAME+KEYID+BASE64)\n"
    "  --origin NAME      log origin = key name (default: from the key string or the\n"
    "                     checkpoint)\n"
    "  --message ID       the published record of this message id (32 hex digits)\n"
    "  --seq N            the record with this seq (any kind)\n"
    "  --checkpoint FILE  prove against this signed checkpoint note instead\n"
    "  --out FILE         write the proof there instead of stdout\n"
    "  -h, --help         show this text\n"
    "\n"
    "Proof format (enlace-proof v1), one \"keyword value\" per line:\n"
    "  enlace-proof v1\n"
    "  type inclusion\n"
    "  # comments: a summary of the record (informative only, never trusted)\n"
    "  leaf-index N        the record's seq\n"
    "  tree-size N         the checkpoint's size\n"
    "  record BASE64       the serialized enlace.Record; leaf = SHA-256(0x00 || record)\n"
    "  hash BASE64         audit path, RFC 9162 section 2.1.3 order (0 or more lines)\n"
    "  checkpoint          then the C2SP signed note, each line prefixed by \"| \"\n"
    "  end\n"
    "\n"
    "Exit status\n"
    "  0 proof printed; 1 usage error; 2 the log or checkpoint does not verify;\n"
    "  3 no such log, message or seq, or the record is not yet covered by a checkpoint.\n";

static const char CONS_HELP[] =
    "Usage: enlace-audit consistency --log DIR --key PUBKEY [--origin NAME]\n"
    "                                --old CHECKPOINT --new CHECKPOINT [--out FILE]\n"
    "\n"
    "Print a consistency proof (RFC 9162 section 2.1.4) that the log signed in the new\n"
    "checkpoint extends the log signed in the old one: nothing signed before was\n"
    "changed or removed. Check it with `enlace-audit check-proof FILE --key PUBKEY`.\n"
    "Both checkpoints must be signed by the pinned key, and the log's roots at both\n"
    "sizes must be the signed roots.\n"
    "\n"
    "CHECKPOINT is a file holding a signed checkpoint note, \"#N\" for entry N (from 0)\n"
    "of the log's history file `checkpoints`, or \"latest\" for its `checkpoint` file.\n"
    "\n"
    "Options\n"
    "  --log DIR        log directory\n"
    "  --key PUBKEY     pinned checkpoint key (PEM file or verifier key string)\n"
    "  --origin NAME    log origin = key name\n"
    "  --old CP         the older checkpoint\n"
    "  --new CP         the newer checkpoint (size >= old)\n"
    "  --out FILE       write the proof there instead of stdout\n"
    "  -h, --help       show this text\n"
    "\n"
    "Proof format (enlace-proof v1): \"enlace-proof v1\", \"type consistency\",\n"
    "\"old-size N\", \"new-size N\", \"hash BASE64\" lines, \"old-checkpoint\" and\n"
    "\"new-checkpoint\" each followed by its note lines prefixed by \"| \", \"end\".\n"
    "\n"
    "Exit status\n"
    "  0 proof printed; 1 usage error; 2 a checkpoint or the log does not verify, or\n"
    "  the old checkpoint is larger than the new; 3 a file or entry cannot be read.\n";

/* What a scan for a proof looks for and finds. */
typedef struct {
    merkle_t *tree;     /* full tree of every record read */
    bool by_id;         /* looking for a message id ... */
    uint8_t id[16];     /* ... this one */
    bool by_seq;        /* or for a seq */
    uint64_t seq;       /* ... this one */
    bool found;         /* target found */
    uint64_t found_seq; /* its seq */
    uint8_t *record;    /* its bytes (owned) */
    size_t record_len;
    uint64_t duplicates; /* further published records with the same id */
    uint64_t problems;   /* damage found */
} scan_t;

static enlace_err_t on_record(const log_scan_entry_t *e, void *user)
{
    scan_t *s = user;
    uint8_t leaf[32];
    merkle_leaf_hash(e->data, e->len, leaf);
    if (merkle_append(s->tree, leaf) != ENLACE_OK) {
        return ENLACE_ERR_NOMEM;
    }
    bool hit = false;
    if (s->by_seq) {
        hit = e->seq == s->seq && merkle_size(s->tree) == e->seq + 1;
    } else if (s->by_id && e->rec->kind_case == ENLACE__RECORD__KIND_PUBLISHED &&
               e->rec->published->envelope != NULL) {
        const Enlace__Envelope *env = e->rec->published->envelope;
        Enlace__Header *h = NULL;
        if (codec_decode_header(env->header.data, env->header.len, &h, NULL, 0) == ENLACE_OK) {
            hit = h->message_id.len == 16 && memcmp(h->message_id.data, s->id, 16) == 0;
            codec_free((ProtobufCMessage **)&h);
        }
    }
    if (hit && s->found) {
        s->duplicates++;
    } else if (hit) {
        if ((s->record = malloc(e->len)) == NULL) {
            return ENLACE_ERR_NOMEM;
        }
        memcpy(s->record, e->data, e->len);
        s->record_len = e->len;
        s->found = true;
        s->found_seq = merkle_size(s->tree) - 1;
    }
    return ENLACE_OK;
}

static void on_problem(const log_scan_problem_t *p, void *user)
{
    scan_t *s = user;
    s->problems++;
    if (s->problems <= 5) {
        audit_errf("%s offset %" PRIu64 ": %s: %s", p->segment, p->offset,
                   log_scan_issue_str(p->issue), p->detail);
    }
}

/* Read the log into s->tree. Returns an exit status (OK when the log read cleanly). */
static int scan_log(const char *dir, scan_t *s)
{
    if ((s->tree = merkle_new()) == NULL) {
        audit_errf("out of memory");
        return AUDIT_EXIT_INTERNAL;
    }
    enlace_err_t rc = log_scan(dir, on_record, on_problem, s, NULL);
    if (rc == ENLACE_ERR_NOT_FOUND) {
        audit_errf("%s: no such log directory", dir);
        return AUDIT_EXIT_IO;
    }
    if (rc != ENLACE_OK) {
        audit_errf("reading %s: %s", dir, enlace_err_str(rc));
        return audit_exit_for(rc);
    }
    if (s->problems > 0) {
        audit_errf("the log has %" PRIu64 " problem%s: no proof from a damaged log (run "
                   "enlace-audit verify)",
                   s->problems, s->problems == 1 ? "" : "s");
        return AUDIT_EXIT_FAILED;
    }
    return AUDIT_EXIT_OK;
}

/* The log's root at cp's size must be the signed one. Returns an exit status. */
static int match_log(const scan_t *s, const pinned_cp_t *cp, const char *what)
{
    uint64_t n = merkle_size(s->tree);
    if (cp->size > n) {
        audit_errf("%s signs %" PRIu64 " records but the log holds only %" PRIu64 " (rolled back?)",
                   what, cp->size, n);
        return AUDIT_EXIT_FAILED;
    }
    uint8_t root[32];
    if (merkle_root(s->tree, cp->size, root) != ENLACE_OK) {
        return AUDIT_EXIT_INTERNAL;
    }
    if (!ct_equal(root, cp->root, 32)) {
        audit_errf("%s: the log's root at size %" PRIu64 " is not the signed root (run "
                   "enlace-audit verify)",
                   what, cp->size);
        return AUDIT_EXIT_FAILED;
    }
    return AUDIT_EXIT_OK;
}

/* Load checkpoint `spec` (file, "#N" or "latest") of dir into *cp, checked against key.
 * Returns an exit status. */
static int load_cp(const char *dir, const char *spec, pinned_key_t *key, pinned_cp_t *cp)
{
    memset(cp, 0, sizeof(*cp));
    if (strcmp(spec, "latest") == 0 || spec[0] == '#') {
        uint64_t want = 0;
        bool latest = spec[0] != '#';
        if (!latest && !audit_parse_u64(spec + 1, &want)) {
            return audit_usage("consistency", "\"%s\": want FILE, #N or latest", spec);
        }
        pinned_cps_t cps;
        char why[300];
        enlace_err_t rc = pinned_load_checkpoints(dir, key, &cps, why, sizeof(why));
        if (rc != ENLACE_OK) {
            audit_errf("%s", rc == ENLACE_ERR_NOT_FOUND ? "no such log directory" : why);
            return audit_exit_for(rc);
        }
        int status = AUDIT_EXIT_IO;
        for (size_t i = 0; i < cps.n; i++) {
            pinned_cp_t *c = &cps.v[i];
            if ((latest && c->from == PINNED_FROM_LATEST) ||
                (!latest && c->from == PINNED_FROM_HISTORY && c->index == want)) {
                *cp = *c;
                c->note = NULL; /* moved */
                status = AUDIT_EXIT_OK;
            }
        }
        pinned_cps_clear(&cps);
        if (status != AUDIT_EXIT_OK) {
            audit_errf("%s: no such checkpoint in %s", spec, dir);
            return status;
        }
    } else {
        char *note = NULL;
        size_t len = 0;
        enlace_err_t rc = audit_read_file(spec, CHECKPOINT_MAX_NOTE, &note, &len);
        if (rc != ENLACE_OK) {
            audit_errf("%s: %s", spec, enlace_err_str(rc));
            return rc == ENLACE_ERR_NOMEM ? AUDIT_EXIT_INTERNAL : AUDIT_EXIT_IO;
        }
        rc = pinned_check_note(key, note, PINNED_FROM_FILE, 0, cp);
        free(note);
        if (rc == ENLACE_ERR_NOMEM) {
            return AUDIT_EXIT_INTERNAL;
        }
    }
    if (cp->status != ENLACE_OK) {
        audit_errf("%s: %s", spec, cp->why);
        return AUDIT_EXIT_FAILED;
    }
    return AUDIT_EXIT_OK;
}

/* Open --out (or stdout). */
static FILE *open_out(const char *path)
{
    if (path == NULL) {
        return stdout;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        audit_errf("%s: cannot write", path);
    }
    return f;
}

static int close_out(FILE *f, int status)
{
    if (f == NULL) {
        return status;
    }
    if (fflush(f) != 0 || ferror(f)) {
        audit_errf("writing the proof failed");
        status = status == AUDIT_EXIT_OK ? AUDIT_EXIT_IO : status;
    }
    if (f != stdout) {
        fclose(f);
    }
    return status;
}

int cmd_prove(int argc, char **argv)
{
    static const struct option OPTS[] = {
        {"log", required_argument, NULL, 'l'},
        {"key", required_argument, NULL, 'k'},
        {"origin", required_argument, NULL, 'o'},
        {"message", required_argument, NULL, 'm'},
        {"seq", required_argument, NULL, 's'},
        {"checkpoint", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *key_spec = NULL, *origin = NULL, *cp_file = NULL, *out = NULL;
    scan_t s;
    memset(&s, 0, sizeof(s));
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (c) {
        case 'l': dir = optarg; break;
        case 'k': key_spec = optarg; break;
        case 'o': origin = optarg; break;
        case 'c': cp_file = optarg; break;
        case 'O': out = optarg; break;
        case 'm':
            if (enlace_id_from_hex(optarg, s.id) != ENLACE_OK) {
                return audit_usage("prove", "--message wants 32 hex digits, not \"%s\"", optarg);
            }
            s.by_id = true;
            break;
        case 's':
            if (!audit_parse_u64(optarg, &s.seq)) {
                return audit_usage("prove", "--seq wants a number, not \"%s\"", optarg);
            }
            s.by_seq = true;
            break;
        case 'h': fputs(PROVE_HELP, stdout); return AUDIT_EXIT_OK;
        default: return audit_usage("prove", "unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return audit_usage("prove", "unexpected argument %s", argv[optind]);
    }
    if (dir == NULL || key_spec == NULL || s.by_id == s.by_seq) {
        return audit_usage("prove", "--log, --key and one of --message/--seq are required");
    }

    int status;
    pinned_key_t key;
    pinned_cp_t cp;
    memset(&cp, 0, sizeof(cp));
    char why[300];
    FILE *f = NULL;
    enlace_err_t rc = pinned_load(key_spec, origin, &key, why, sizeof(why));
    if (rc != ENLACE_OK) {
        audit_errf("%s", why);
        return rc == ENLACE_ERR_NOMEM ? AUDIT_EXIT_INTERNAL : AUDIT_EXIT_IO;
    }
    if (cp_file != NULL) {
        status = load_cp(dir, cp_file, &key, &cp);
    } else {
        /* The latest valid checkpoint: the largest size signed by the pinned key. */
        pinned_cps_t cps;
        rc = pinned_load_checkpoints(dir, &key, &cps, why, sizeof(why));
        status = AUDIT_EXIT_OK;
        if (rc != ENLACE_OK) {
            audit_errf("%s", rc == ENLACE_ERR_NOT_FOUND ? "no such log directory" : why);
            status = audit_exit_for(rc);
        } else {
            pinned_cp_t *best = NULL;
            for (size_t i = 0; i < cps.n; i++) {
                if (cps.v[i].status == ENLACE_OK && (best == NULL || cps.v[i].size >= best->size)) {
                    best = &cps.v[i];
                }
            }
            if (best == NULL) {
                audit_errf("%s: no checkpoint signed by the pinned key", dir);
                status = AUDIT_EXIT_FAILED;
            } else {
                cp = *best;
                best->note = NULL; /* moved */
            }
            pinned_cps_clear(&cps);
        }
    }
    if (status != AUDIT_EXIT_OK || (status = scan_log(dir, &s)) != AUDIT_EXIT_OK ||
        (status = match_log(&s, &cp, "the checkpoint")) != AUDIT_EXIT_OK) {
        goto done;
    }
    if (!s.found) {
        audit_errf("no %s in %s", s.by_id ? "published record with that message id" : "such seq",
                   dir);
        status = AUDIT_EXIT_IO;
        goto done;
    }
    if (s.found_seq >= cp.size) {
        audit_errf("seq %" PRIu64 " is not yet covered by the checkpoint (size %" PRIu64
                   "); try again after the next checkpoint",
                   s.found_seq, cp.size);
        status = AUDIT_EXIT_IO;
        goto done;
    }
    if (s.duplicates > 0) {
        audit_errf("note: %" PRIu64 " later published record%s carry the same message id; "
                   "proving the first (seq %" PRIu64 ")",
                   s.duplicates, s.duplicates == 1 ? "" : "s", s.found_seq);
    }
    uint8_t hashes[MERKLE_MAX_PROOF][32];
    size_t n = 0;
    if (merkle_inclusion_proof(s.tree, s.found_seq, cp.size, hashes, MERKLE_MAX_PROOF, &n) !=
        ENLACE_OK) {
        status = AUDIT_EXIT_INTERNAL;
        goto done;
    }
    proof_t p = {.kind = PROOF_INCLUSION,
                 .leaf_index = s.found_seq,
                 .tree_size = cp.size,
                 .record = s.record,
                 .record_len = s.record_len,
                 .hashes = hashes,
                 .n_hashes = n,
                 .note = cp.note};
    Enlace__Record *rec = NULL;
    char comment[600] = "";
    if (log_record_unpack(s.record, s.record_len, &rec) == ENLACE_OK) {
        char summary[400], t[25];
        rec_summary(rec, summary, sizeof(summary));
        audit_time_iso(rec->time_ms, t);
        snprintf(comment, sizeof(comment),
                 "seq %" PRIu64 " logged %s: %s\nlog %s, checkpoint size %" PRIu64, rec->seq, t,
                 summary, key.name, cp.size);
        codec_free((ProtobufCMessage **)&rec);
    }
    if ((f = open_out(out)) == NULL) {
        status = AUDIT_EXIT_IO;
        goto done;
    }
    status = proof_write(f, &p, comment) == ENLACE_OK ? AUDIT_EXIT_OK : AUDIT_EXIT_IO;
done:
    status = close_out(f, status);
    merkle_destroy(&s.tree);
    free(s.record);
    free(cp.note);
    pinned_clear(&key);
    return status;
}

int cmd_consistency(int argc, char **argv)
{
    static const struct option OPTS[] = {
        {"log", required_argument, NULL, 'l'},    {"key", required_argument, NULL, 'k'},
        {"origin", required_argument, NULL, 'o'}, {"old", required_argument, NULL, 'a'},
        {"new", required_argument, NULL, 'b'},    {"out", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *key_spec = NULL, *origin = NULL, *old_spec = NULL, *new_spec = NULL,
               *out = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (c) {
        case 'l': dir = optarg; break;
        case 'k': key_spec = optarg; break;
        case 'o': origin = optarg; break;
        case 'a': old_spec = optarg; break;
        case 'b': new_spec = optarg; break;
        case 'O': out = optarg; break;
        case 'h': fputs(CONS_HELP, stdout); return AUDIT_EXIT_OK;
        default:
            return audit_usage("consistency", "unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return audit_usage("consistency", "unexpected argument %s", argv[optind]);
    }
    if (dir == NULL || key_spec == NULL || old_spec == NULL || new_spec == NULL) {
        return audit_usage("consistency", "--log, --key, --old and --new are required");
    }
    int status;
    pinned_key_t key;
    pinned_cp_t oldcp, newcp;
    memset(&oldcp, 0, sizeof(oldcp));
    memset(&newcp, 0, sizeof(newcp));
    scan_t s;
    memset(&s, 0, sizeof(s));
    FILE *f = NULL;
    char why[300];
    enlace_err_t rc = pinned_load(key_spec, origin, &key, why, sizeof(why));
    if (rc != ENLACE_OK) {
        audit_errf("%s", why);
        return rc == ENLACE_ERR_NOMEM ? AUDIT_EXIT_INTERNAL : AUDIT_EXIT_IO;
    }
    if ((status = load_cp(dir, old_spec, &key, &oldcp)) != AUDIT_EXIT_OK ||
        (status = load_cp(dir, new_spec, &key, &newcp)) != AUDIT_EXIT_OK) {
        goto done;
    }
    if (oldcp.size > newcp.size) {
        audit_errf("the old checkpoint (size %" PRIu64 ") is larger than the new one (size %" PRIu64
                   ")",
                   oldcp.size, newcp.size);
        status = AUDIT_EXIT_FAILED;
        goto done;
    }
    if ((status = scan_log(dir, &s)) != AUDIT_EXIT_OK ||
        (status = match_log(&s, &oldcp, "the old checkpoint")) != AUDIT_EXIT_OK ||
        (status = match_log(&s, &newcp, "the new checkpoint")) != AUDIT_EXIT_OK) {
        goto done;
    }
    uint8_t hashes[MERKLE_MAX_PROOF][32];
    size_t n = 0;
    if (merkle_consistency_proof(s.tree, oldcp.size, newcp.size, hashes, MERKLE_MAX_PROOF, &n) !=
        ENLACE_OK) {
        status = AUDIT_EXIT_INTERNAL;
        goto done;
    }
    proof_t p = {.kind = PROOF_CONSISTENCY,
                 .old_size = oldcp.size,
                 .new_size = newcp.size,
                 .hashes = hashes,
                 .n_hashes = n,
                 .note = newcp.note,
                 .old_note = oldcp.note};
    char comment[300];
    snprintf(comment, sizeof(comment),
             "log %s: the tree of %" PRIu64 " records extends the tree of %" PRIu64 " records",
             key.name, newcp.size, oldcp.size);
    if ((f = open_out(out)) == NULL) {
        status = AUDIT_EXIT_IO;
        goto done;
    }
    status = proof_write(f, &p, comment) == ENLACE_OK ? AUDIT_EXIT_OK : AUDIT_EXIT_IO;
done:
    status = close_out(f, status);
    merkle_destroy(&s.tree);
    free(s.record);
    free(oldcp.note);
    free(newcp.note);
    pinned_clear(&key);
    return status;
}
