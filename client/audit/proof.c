/* proof — printed proof format and `check-proof` (see proof.h). */
#include "proof.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "audit_util.h"
#include "checkpoint.h"
#include "codec.h"
#include "enlace.h"
#include "log_segment.h"
#include "pinned.h"
#include "records.h"

#define PROOF_MAGIC "enlace-proof v1"
/* Largest proof file read: a record (16 MiB max, base64) and two notes. */
#define PROOF_MAX_FILE ((size_t)LOG_MAX_RECORD / 3 * 4 + 4 * CHECKPOINT_MAX_NOTE + 65536)

/* ---- writing ------------------------------------------------------------------------- */

static void write_note(FILE *out, const char *keyword, const char *note)
{
    fprintf(out, "%s\n", keyword);
    const char *p = note;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n == 0) {
            fputs("|\n", out);
        } else {
            fprintf(out, "| %.*s\n", (int)n, p);
        }
        p += n + (nl ? 1 : 0);
    }
}

enlace_err_t proof_write(FILE *out, const proof_t *p, const char *comment)
{
    fprintf(out, "%s\n", PROOF_MAGIC);
    fprintf(out, "type %s\n", p->kind == PROOF_INCLUSION ? "inclusion" : "consistency");
    for (const char *c = comment; c != NULL && *c;) {
        const char *nl = strchr(c, '\n');
        size_t n = nl ? (size_t)(nl - c) : strlen(c);
        fprintf(out, "# %.*s\n", (int)n, c);
        c += n + (nl ? 1 : 0);
    }
    if (p->kind == PROOF_INCLUSION) {
        char *rec = audit_b64_encode(p->record, p->record_len);
        if (rec == NULL) {
            return ENLACE_ERR_NOMEM;
        }
        fprintf(out, "leaf-index %" PRIu64 "\ntree-size %" PRIu64 "\nrecord %s\n", p->leaf_index,
                p->tree_size, rec);
        free(rec);
    } else {
        fprintf(out, "old-size %" PRIu64 "\nnew-size %" PRIu64 "\n", p->old_size, p->new_size);
    }
    for (size_t i = 0; i < p->n_hashes; i++) {
        char *h = audit_b64_encode(p->hashes[i], 32);
        if (h == NULL) {
            return ENLACE_ERR_NOMEM;
        }
        fprintf(out, "hash %s\n", h);
        free(h);
    }
    if (p->kind == PROOF_INCLUSION) {
        write_note(out, "checkpoint", p->note);
    } else {
        write_note(out, "old-checkpoint", p->old_note);
        write_note(out, "new-checkpoint", p->note);
    }
    fputs("end\n", out);
    fflush(out);
    return ferror(out) ? ENLACE_ERR_IO : ENLACE_OK;
}

/* ---- parsing ------------------------------------------------------------------------- */

/* A growing note being read from "| " lines. */
typedef struct {
    char *buf;  /* text (NUL-terminated) */
    size_t len; /* bytes used */
} note_buf_t;

static enlace_err_t note_append(note_buf_t *nb, const char *line, size_t n)
{
    if (nb->len + n + 2 > CHECKPOINT_MAX_NOTE + 1) {
        return ENLACE_ERR_MALFORMED;
    }
    char *p = realloc(nb->buf, nb->len + n + 2);
    if (p == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    memcpy(p + nb->len, line, n);
    nb->len += n;
    p[nb->len++] = '\n';
    p[nb->len] = '\0';
    nb->buf = p;
    return ENLACE_OK;
}

/* Bits for keywords seen (each at most once). */
enum {
    K_TYPE = 1 << 0,
    K_LEAF = 1 << 1,
    K_TREE = 1 << 2,
    K_RECORD = 1 << 3,
    K_OLD = 1 << 4,
    K_NEW = 1 << 5,
    K_CP = 1 << 6,
    K_OLDCP = 1 << 7,
    K_NEWCP = 1 << 8,
    K_END = 1 << 9,
};

enlace_err_t proof_parse(const char *text, size_t len, proof_t *p, char *why, size_t why_len)
{
    memset(p, 0, sizeof(*p));
    enlace_err_t rc = ENLACE_ERR_MALFORMED;
    unsigned seen = 0;
    bool magic = false;
    note_buf_t notes[3] = {{0}}; /* checkpoint, old, new */
    int in_note = -1;            /* index into notes while reading "| " lines */
    size_t lineno = 0;
    const char *pos = text, *end = text + len;

    if (memchr(text, '\0', len) != NULL) {
        enlace_why(why, why_len, "the proof holds a NUL byte");
        goto done;
    }
    while (pos < end) {
        const char *nl = memchr(pos, '\n', (size_t)(end - pos));
        size_t n = nl ? (size_t)(nl - pos) : (size_t)(end - pos);
        const char *line = pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n > 0 && line[n - 1] == '\r') {
            n--;
        }
        if (in_note >= 0 && n >= 1 && line[0] == '|') {
            if (n >= 2 && line[1] != ' ') {
                enlace_why(why, why_len, "line %zu: a note line starts with \"| \"", lineno);
                goto done;
            }
            rc = note_append(&notes[in_note], n >= 2 ? line + 2 : "", n >= 2 ? n - 2 : 0);
            if (rc != ENLACE_OK) {
                enlace_why(why, why_len, "line %zu: note too long", lineno);
                goto done;
            }
            rc = ENLACE_ERR_MALFORMED;
            continue;
        }
        in_note = -1;
        if (n == 0 || line[0] == '#') {
            continue;
        }
        if (seen & K_END) {
            enlace_why(why, why_len, "line %zu: text after \"end\"", lineno);
            goto done;
        }
        const char *sp = memchr(line, ' ', n);
        size_t klen = sp ? (size_t)(sp - line) : n;
        const char *val = sp ? sp + 1 : "";
        size_t vlen = sp ? n - klen - 1 : 0;
        char value[64];
        snprintf(value, sizeof(value), "%.*s", (int)(vlen < 63 ? vlen : 63), val);
#define KW(s) (klen == strlen(s) && memcmp(line, s, klen) == 0)
        unsigned bit = 0;
        if (!magic) {
            if (n != strlen(PROOF_MAGIC) || memcmp(line, PROOF_MAGIC, n) != 0) {
                enlace_why(why, why_len, "line %zu: not an enlace proof (want \"%s\")", lineno,
                           PROOF_MAGIC);
                goto done;
            }
            magic = true;
            continue;
        }
        if (KW("type")) {
            bit = K_TYPE;
            if (strcmp(value, "inclusion") == 0 && vlen == 9) {
                p->kind = PROOF_INCLUSION;
            } else if (strcmp(value, "consistency") == 0 && vlen == 11) {
                p->kind = PROOF_CONSISTENCY;
            } else {
                enlace_why(why, why_len, "line %zu: unknown proof type", lineno);
                goto done;
            }
        } else if (KW("leaf-index") || KW("tree-size") || KW("old-size") || KW("new-size")) {
            uint64_t *dst = KW("leaf-index")  ? (bit = K_LEAF, &p->leaf_index)
                            : KW("tree-size") ? (bit = K_TREE, &p->tree_size)
                            : KW("old-size")  ? (bit = K_OLD, &p->old_size)
                                              : (bit = K_NEW, &p->new_size);
            if (vlen > 20 || !audit_parse_u64(value, dst)) {
                enlace_why(why, why_len, "line %zu: bad number", lineno);
                goto done;
            }
        } else if (KW("record")) {
            bit = K_RECORD;
            rc = audit_b64_decode(val, vlen, &p->record, &p->record_len);
            if (rc != ENLACE_OK || p->record_len == 0 || p->record_len > LOG_MAX_RECORD) {
                rc = rc == ENLACE_ERR_NOMEM ? rc : ENLACE_ERR_MALFORMED;
                enlace_why(why, why_len, "line %zu: record is not base64 of 1..%u bytes", lineno,
                           LOG_MAX_RECORD);
                goto done;
            }
            rc = ENLACE_ERR_MALFORMED;
        } else if (KW("hash")) {
            uint8_t *h = NULL;
            size_t hlen = 0;
            if (p->n_hashes == MERKLE_MAX_PROOF) {
                enlace_why(why, why_len, "line %zu: more than %d hashes", lineno, MERKLE_MAX_PROOF);
                goto done;
            }
            rc = audit_b64_decode(val, vlen, &h, &hlen);
            if (rc != ENLACE_OK || hlen != 32) {
                free(h);
                rc = rc == ENLACE_ERR_NOMEM ? rc : ENLACE_ERR_MALFORMED;
                enlace_why(why, why_len, "line %zu: hash is not base64 of 32 bytes", lineno);
                goto done;
            }
            rc = ENLACE_ERR_MALFORMED;
            if (p->hashes == NULL && (p->hashes = malloc(MERKLE_MAX_PROOF * 32)) == NULL) {
                free(h);
                rc = ENLACE_ERR_NOMEM;
                goto done;
            }
            memcpy(p->hashes[p->n_hashes++], h, 32);
            free(h);
        } else if (KW("checkpoint") || KW("old-checkpoint") || KW("new-checkpoint")) {
            in_note = KW("checkpoint")       ? (bit = K_CP, 0)
                      : KW("old-checkpoint") ? (bit = K_OLDCP, 1)
                                             : (bit = K_NEWCP, 2);
            if (vlen != 0) {
                enlace_why(why, why_len, "line %zu: nothing may follow the keyword", lineno);
                goto done;
            }
        } else if (KW("end")) {
            bit = K_END;
        } else {
            enlace_why(why, why_len, "line %zu: unknown keyword \"%.*s\"", lineno,
                       (int)(klen < 40 ? klen : 40), line);
            goto done;
        }
#undef KW
        if (bit != 0 && (seen & bit)) {
            enlace_why(why, why_len, "line %zu: keyword given twice", lineno);
            goto done;
        }
        seen |= bit;
    }
    unsigned want = p->kind == PROOF_INCLUSION
                        ? (K_TYPE | K_LEAF | K_TREE | K_RECORD | K_CP | K_END)
                        : (K_TYPE | K_OLD | K_NEW | K_OLDCP | K_NEWCP | K_END);
    if (!magic || !(seen & K_TYPE)) {
        enlace_why(why, why_len, "not an enlace proof (no \"%s\" and type lines)", PROOF_MAGIC);
        goto done;
    }
    if (seen != want) {
        enlace_why(why, why_len, "%s proof: %s",
                   p->kind == PROOF_INCLUSION ? "inclusion" : "consistency",
                   (seen & ~want) ? "holds keywords of the other proof type"
                                  : "incomplete (a keyword or the final \"end\" is missing)");
        goto done;
    }
    if (p->kind == PROOF_INCLUSION) {
        p->note = notes[0].buf;
        notes[0].buf = NULL;
    } else {
        p->old_note = notes[1].buf;
        p->note = notes[2].buf;
        notes[1].buf = notes[2].buf = NULL;
    }
    if (p->note == NULL || (p->kind == PROOF_CONSISTENCY && p->old_note == NULL)) {
        enlace_why(why, why_len, "a checkpoint block is empty");
        goto done;
    }
    rc = ENLACE_OK;
done:
    for (int i = 0; i < 3; i++) {
        free(notes[i].buf);
    }
    return rc;
}

void proof_clear(proof_t *p)
{
    free(p->record);
    free(p->hashes);
    free(p->note);
    free(p->old_note);
    memset(p, 0, sizeof(*p));
}

/* ---- check-proof --------------------------------------------------------------------- */

static const char HELP[] =
    "Usage: enlace-audit check-proof FILE --key PUBKEY [--origin NAME] [--message ID]\n"
    "\n"
    "Verify a proof printed by `enlace-audit prove` (inclusion of a record) or\n"
    "`enlace-audit consistency` (one checkpoint extends another) using only the pinned\n"
    "checkpoint key: no log, broker or network is needed. FILE may be - for stdin.\n"
    "\n"
    "An inclusion proof holds when the checkpoint note carries a valid Ed25519\n"
    "signature by the pinned key under the log origin, its tree size is the proof's\n"
    "tree-size, the record's seq is the proof's leaf-index, and the RFC 9162 audit\n"
    "path from SHA-256(0x00 || record) gives the signed root. A consistency proof holds\n"
    "when both notes verify, their sizes are old-size and new-size, and the RFC 9162\n"
    "consistency path links the two roots. Comment lines (#) are never trusted: what is\n"
    "printed about the record comes from the verified record bytes.\n"
    "\n"
    "Options\n"
    "  --key PUBKEY    pinned checkpoint key: PEM Ed25519 public key file or verifier\n"
    "                  key string NAME+KEYID+BASE64\n"
    "  --origin NAME   log origin = key name (default: from the key string, else the\n"
    "                  checkpoint's origin line; the signature binds it)\n"
    "  --message ID    also require the record to be the published record of this\n"
    "                  message id (32 hex digits)\n"
    "  -h, --help      show this text\n"
    "\n"
    "The proof format (line-oriented UTF-8; see also `enlace-audit prove --help`):\n"
    "  enlace-proof v1\n"
    "  type inclusion | type consistency\n"
    "  leaf-index N, tree-size N, record BASE64            (inclusion)\n"
    "  old-size N, new-size N                              (consistency)\n"
    "  hash BASE64                                         (one per proof hash)\n"
    "  checkpoint | old-checkpoint | new-checkpoint        then the signed note, each\n"
    "                                                      line prefixed by \"| \"\n"
    "  end\n"
    "\n"
    "Exit status\n"
    "  0 the proof holds; 1 usage error; 2 the proof is invalid or malformed;\n"
    "  3 FILE or the key cannot be read.\n";

/* Check an inclusion proof; prints the result. Returns an exit status. */
static int check_inclusion(const proof_t *p, pinned_key_t *key, const pinned_cp_t *cp,
                           const uint8_t *want_id)
{
    if (cp->size != p->tree_size) {
        printf("INVALID: the checkpoint signs size %" PRIu64 " but the proof is for tree size "
               "%" PRIu64 "\n",
               cp->size, p->tree_size);
        return AUDIT_EXIT_FAILED;
    }
    Enlace__Record *rec = NULL;
    if (log_record_unpack(p->record, p->record_len, &rec) != ENLACE_OK) {
        printf("INVALID: the record does not decode as an enlace.Record\n");
        return AUDIT_EXIT_FAILED;
    }
    int status = AUDIT_EXIT_FAILED;
    uint8_t leaf[32];
    merkle_leaf_hash(p->record, p->record_len, leaf);
    enlace_err_t rc = merkle_verify_inclusion(
        leaf, p->leaf_index, p->tree_size, (const uint8_t(*)[32])p->hashes, p->n_hashes, cp->root);
    char summary[400];
    rec_summary(rec, summary, sizeof(summary));
    if (rc != ENLACE_OK) {
        printf("INVALID: the audit path does not lead to the signed root (%s)\n",
               rc == ENLACE_ERR_INVALID ? "wrong number of hashes for the sizes" : "root mismatch");
    } else if (rec->seq != p->leaf_index) {
        printf("INVALID: the record says seq %" PRIu64 " but sits at leaf %" PRIu64 "\n", rec->seq,
               p->leaf_index);
    } else {
        bool id_ok = true;
        if (want_id != NULL) {
            Enlace__Header *h = NULL;
            const Enlace__Envelope *env =
                rec->kind_case == ENLACE__RECORD__KIND_PUBLISHED ? rec->published->envelope : NULL;
            id_ok =
                env != NULL &&
                codec_decode_header(env->header.data, env->header.len, &h, NULL, 0) == ENLACE_OK &&
                h->message_id.len == 16 && memcmp(h->message_id.data, want_id, 16) == 0;
            codec_free((ProtobufCMessage **)&h);
        }
        if (!id_ok) {
            printf("INVALID: the record is not the published record of the message asked for\n");
        } else {
            char t[25];
            audit_time_iso(rec->time_ms, t);
            char *vkey = pinned_vkey(key);
            char *root = audit_b64_encode(cp->root, 32);
            printf("OK: inclusion proof holds\n");
            printf("  log         %s\n", key->name);
            printf("  key         %s\n", vkey ? vkey : "?");
            printf("  checkpoint  size %" PRIu64 ", root %s\n", cp->size, root ? root : "?");
            printf("  record      seq %" PRIu64 ", logged %s\n", rec->seq, t);
            printf("  what        %s\n", summary);
            free(vkey);
            free(root);
            status = AUDIT_EXIT_OK;
        }
    }
    codec_free((ProtobufCMessage **)&rec);
    return status;
}

static int check_consistency(const proof_t *p, pinned_key_t *key, const pinned_cp_t *oldcp,
                             const pinned_cp_t *newcp)
{
    if (oldcp->size != p->old_size || newcp->size != p->new_size) {
        printf("INVALID: the checkpoints sign sizes %" PRIu64 " and %" PRIu64
               " but the proof is for %" PRIu64 " -> %" PRIu64 "\n",
               oldcp->size, newcp->size, p->old_size, p->new_size);
        return AUDIT_EXIT_FAILED;
    }
    enlace_err_t rc = merkle_verify_consistency(p->old_size, p->new_size, oldcp->root, newcp->root,
                                                (const uint8_t(*)[32])p->hashes, p->n_hashes);
    if (rc != ENLACE_OK) {
        printf("INVALID: the consistency path does not link the two signed roots (%s)\n",
               rc == ENLACE_ERR_INVALID ? "wrong number of hashes for the sizes" : "root mismatch");
        return AUDIT_EXIT_FAILED;
    }
    char *vkey = pinned_vkey(key);
    printf("OK: consistency proof holds: the log of %" PRIu64 " records extends the log of %" PRIu64
           " records\n",
           p->new_size, p->old_size);
    printf("  log         %s\n", key->name);
    printf("  key         %s\n", vkey ? vkey : "?");
    free(vkey);
    return AUDIT_EXIT_OK;
}

int cmd_check_proof(int argc, char **argv)
{
    static const struct option OPTS[] = {
        {"key", required_argument, NULL, 'k'},
        {"origin", required_argument, NULL, 'o'},
        {"message", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key_spec = NULL, *origin = NULL, *file = NULL;
    uint8_t want_id[16];
    bool by_id = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (c) {
        case 'k': key_spec = optarg; break;
        case 'o': origin = optarg; break;
        case 'm':
            if (enlace_id_from_hex(optarg, want_id) != ENLACE_OK) {
                return audit_usage("check-proof", "--message wants 32 hex digits");
            }
            by_id = true;
            break;
        case 'h': fputs(HELP, stdout); return AUDIT_EXIT_OK;
        default:
            return audit_usage("check-proof", "unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc) {
        return audit_usage("check-proof", "give exactly one proof FILE");
    }
    file = argv[optind];
    if (key_spec == NULL) {
        return audit_usage("check-proof", "--key is required");
    }

    int status = AUDIT_EXIT_INTERNAL;
    pinned_key_t key;
    proof_t p;
    pinned_cp_t cp1, cp2;
    memset(&p, 0, sizeof(p));
    memset(&cp1, 0, sizeof(cp1));
    memset(&cp2, 0, sizeof(cp2));
    char why[300];
    char *text = NULL;
    size_t len = 0;
    enlace_err_t rc = pinned_load(key_spec, origin, &key, why, sizeof(why));
    if (rc != ENLACE_OK) {
        audit_errf("%s", why);
        return rc == ENLACE_ERR_NOMEM ? AUDIT_EXIT_INTERNAL : AUDIT_EXIT_IO;
    }
    rc = audit_read_file(file, PROOF_MAX_FILE, &text, &len);
    if (rc != ENLACE_OK) {
        audit_errf("%s: %s", file, enlace_err_str(rc));
        status = rc == ENLACE_ERR_NOMEM ? AUDIT_EXIT_INTERNAL : AUDIT_EXIT_IO;
        goto done;
    }
    rc = proof_parse(text, len, &p, why, sizeof(why));
    if (rc != ENLACE_OK) {
        printf("INVALID: %s\n", rc == ENLACE_ERR_NOMEM ? "out of memory" : why);
        status = rc == ENLACE_ERR_NOMEM ? AUDIT_EXIT_INTERNAL : AUDIT_EXIT_FAILED;
        goto done;
    }
    if (p.kind == PROOF_CONSISTENCY) {
        rc = pinned_check_note(&key, p.old_note, PINNED_FROM_FILE, 0, &cp1);
    }
    if (rc == ENLACE_OK) {
        rc = pinned_check_note(&key, p.note, PINNED_FROM_FILE, 0, &cp2);
    }
    if (rc == ENLACE_ERR_NOMEM) {
        goto done;
    }
    if (rc != ENLACE_OK) {
        printf("INVALID: %scheckpoint: %s\n",
               p.kind == PROOF_CONSISTENCY && cp1.status ? "old " : "",
               cp1.status ? cp1.why : cp2.why);
        status = AUDIT_EXIT_FAILED;
        goto done;
    }
    status = p.kind == PROOF_INCLUSION ? check_inclusion(&p, &key, &cp2, by_id ? want_id : NULL)
                                       : check_consistency(&p, &key, &cp1, &cp2);
done:
    fflush(stdout);
    free(text);
    free(cp1.note);
    free(cp2.note);
    proof_clear(&p);
    pinned_clear(&key);
    return status;
}
