/* receipt — fetching and verifying proofs that a message is in the log (see receipt.h). */
#include "receipt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "codec.h"
#include "conn.h"
#include "crypto.h"
#include "merkle.h"

struct enlace_receipt {
    enlace_err_t status;               /* ENLACE_OK = verified */
    char why[384];                     /* reason when not verified */
    bool key_pinned;                   /* verified with the pinned key (not Welcome's) */
    uint64_t seq;                      /* leaf index of the record */
    uint64_t tree_size;                /* size of the tree the proof is for */
    uint64_t logged_at_ms;             /* Record.time_ms (once decoded) */
    char sender[ENLACE_AGENCY_ID_BUF]; /* header sender (once decoded) */
    char *checkpoint;                  /* signed note as received */
    char *origin;                      /* checkpoint origin (once verified) */
    uint8_t root[32];                  /* checkpoint root (once verified) */
    uint8_t leaf[32];                  /* leaf hash of the record */
};

enlace_receipt_t *receipt_new(bool key_pinned)
{
    enlace_receipt_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->status = ENLACE_ERR_MALFORMED;
    snprintf(r->why, sizeof r->why, "not verified");
    r->key_pinned = key_pinned;
    return r;
}

static enlace_err_t fail(enlace_receipt_t *r, enlace_err_t rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enlace_err_t fail(enlace_receipt_t *r, enlace_err_t rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    r->status = rc;
    return rc;
}

/* Step 4 of receipt.h: the leaf is the Published record of message_id at seq. */
static enlace_err_t check_record(enlace_receipt_t *r, const Enlace__Receipt *rc,
                                 const uint8_t message_id[ENLACE_MESSAGE_ID_LEN])
{
    char why[256];
    Enlace__Record *rec = NULL;
    Enlace__Header *hdr = NULL;
    enlace_err_t st = ENLACE_OK;
    if (codec_decode_record(rc->record.data, rc->record.len, &rec, why, sizeof why) != ENLACE_OK) {
        st = fail(r, ENLACE_ERR_MALFORMED, "record does not decode: %s", why);
        goto done;
    }
    r->logged_at_ms = rec->time_ms;
    if (rec->seq != rc->seq) {
        st = fail(r, ENLACE_ERR_MALFORMED, "record says seq %llu, receipt says %llu",
                  (unsigned long long)rec->seq, (unsigned long long)rc->seq);
        goto done;
    }
    if (rec->kind_case != ENLACE__RECORD__KIND_PUBLISHED) {
        st = fail(r, ENLACE_ERR_MALFORMED, "record %llu is not a published message",
                  (unsigned long long)rec->seq);
        goto done;
    }
    const Enlace__Envelope *env = rec->published->envelope;
    if (codec_decode_header(env->header.data, env->header.len, &hdr, why, sizeof why) !=
        ENLACE_OK) {
        st = fail(r, ENLACE_ERR_MALFORMED, "logged header does not decode: %s", why);
        goto done;
    }
    snprintf(r->sender, sizeof r->sender, "%s", hdr->sender);
    if (hdr->message_id.len != ENLACE_MESSAGE_ID_LEN ||
        !ct_equal(hdr->message_id.data, message_id, ENLACE_MESSAGE_ID_LEN)) {
        st = fail(r, ENLACE_ERR_MALFORMED, "record %llu holds another message",
                  (unsigned long long)rec->seq);
        goto done;
    }
done:
    codec_free((ProtobufCMessage **)&hdr);
    codec_free((ProtobufCMessage **)&rec);
    return st;
}

enlace_err_t receipt_verify(enlace_receipt_t *r, const Enlace__Receipt *rc,
                            const uint8_t message_id[ENLACE_MESSAGE_ID_LEN], const char *key_name,
                            const uint8_t key[32])
{
    char why[256];
    uint8_t(*proof)[32] = NULL;
    r->seq = rc->seq;
    r->tree_size = rc->tree_size;
    free(r->checkpoint);
    r->checkpoint = strdup(rc->checkpoint);
    if (r->checkpoint == NULL)
        return fail(r, ENLACE_ERR_NOMEM, "out of memory");
    merkle_leaf_hash(rc->record.data, rc->record.len, r->leaf);

    /* 1. checkpoint signed by the key, for this log */
    char *origin = NULL;
    uint64_t size = 0;
    enlace_err_t st = checkpoint_open_why(rc->checkpoint, key_name, key, &origin, &size, r->root,
                                          why, sizeof why);
    if (st != ENLACE_OK)
        return fail(r, st == ENLACE_ERR_BAD_SIGNATURE ? st : ENLACE_ERR_MALFORMED, "checkpoint: %s",
                    why);
    free(r->origin);
    r->origin = origin;
    if (strcmp(origin, key_name) != 0)
        return fail(r, ENLACE_ERR_MALFORMED, "checkpoint of log '%s', expected '%s'", origin,
                    key_name);
    /* 2. sizes */
    if (rc->tree_size != size)
        return fail(r, ENLACE_ERR_MALFORMED, "receipt is for tree size %llu, checkpoint for %llu",
                    (unsigned long long)rc->tree_size, (unsigned long long)size);
    if (rc->seq >= size)
        return fail(r, ENLACE_ERR_MALFORMED, "seq %llu is outside the tree of %llu records",
                    (unsigned long long)rc->seq, (unsigned long long)size);
    /* 3. inclusion (RFC 9162 section 2.1.3.2) */
    if (rc->n_proof > 0) {
        proof = malloc(rc->n_proof * sizeof *proof);
        if (proof == NULL)
            return fail(r, ENLACE_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < rc->n_proof; i++) {
            if (rc->proof[i].len != 32) {
                free(proof);
                return fail(r, ENLACE_ERR_MALFORMED, "proof hash %zu is not 32 bytes", i);
            }
            memcpy(proof[i], rc->proof[i].data, 32);
        }
    }
    st = merkle_verify_inclusion(r->leaf, rc->seq, size, (const uint8_t(*)[32])proof, rc->n_proof,
                                 r->root);
    free(proof);
    if (st == ENLACE_ERR_HASH_MISMATCH)
        return fail(r, st, "inclusion proof does not lead to the checkpoint root");
    if (st != ENLACE_OK)
        return fail(r, ENLACE_ERR_MALFORMED,
                    "inclusion proof of %zu hashes does not fit "
                    "index %llu of %llu",
                    rc->n_proof, (unsigned long long)rc->seq, (unsigned long long)size);
    /* 4. the record is the message */
    st = check_record(r, rc, message_id);
    if (st != ENLACE_OK)
        return st;
    r->status = ENLACE_OK;
    r->why[0] = '\0';
    return ENLACE_OK;
}

enlace_err_t enlace_receipt(enlace_conn_t *conn, const uint8_t message_id[ENLACE_MESSAGE_ID_LEN],
                            enlace_receipt_t **out)
{
    if (conn == NULL || message_id == NULL || out == NULL)
        return ENLACE_ERR_INVALID;
    *out = NULL;
    conn_clear_error(conn);
    if (!conn->up)
        return conn_fail(conn, conn->down_rc, "not connected%s%s", conn->err[0] ? ": " : "",
                         conn->err);
    int64_t deadline = conn_deadline(conn, -1);
    Enlace__ReceiptRequest req = ENLACE__RECEIPT_REQUEST__INIT;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    req.correlation_id = conn_next_corr(conn);
    req.message_id.data = (uint8_t *)message_id;
    req.message_id.len = ENLACE_MESSAGE_ID_LEN;
    f.kind_case = ENLACE__FRAME__KIND_RECEIPT_REQUEST;
    f.receipt_request = &req;
    Enlace__Frame *reply = NULL;
    enlace_err_t rc = conn_send(conn, &f, deadline);
    if (rc == ENLACE_OK)
        rc = conn_wait_reply(conn, req.correlation_id, ENLACE__FRAME__KIND_RECEIPT, deadline,
                             &reply);
    if (rc != ENLACE_OK)
        return rc;
    enlace_receipt_t *r = receipt_new(conn->pinned);
    if (r == NULL) {
        codec_free((ProtobufCMessage **)&reply);
        return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
    }
    /* Pinned key: ours, with the name from a verifier-key file if it had one. Else the
     * broker's own word from Welcome (the result says "key not pinned"). */
    const char *name = conn->pinned && conn->pinned_name ? conn->pinned_name : conn->log_origin;
    const uint8_t *key = conn->pinned ? conn->pinned_key : conn->welcome_key;
    rc = receipt_verify(r, reply->receipt, message_id, name, key);
    codec_free((ProtobufCMessage **)&reply);
    if (rc != ENLACE_OK)
        conn_fail(conn, rc, "receipt not verified: %s", r->why);
    *out = r;
    return rc;
}

void enlace_receipt_free(enlace_receipt_t **r)
{
    if (r == NULL || *r == NULL)
        return;
    free((*r)->checkpoint);
    free((*r)->origin);
    free(*r);
    *r = NULL;
}

enlace_err_t enlace_receipt_status(const enlace_receipt_t *r)
{
    return r ? r->status : ENLACE_ERR_INVALID;
}

const char *enlace_receipt_error(const enlace_receipt_t *r)
{
    return r && r->status != ENLACE_OK ? r->why : "";
}

bool enlace_receipt_key_pinned(const enlace_receipt_t *r)
{
    return r && r->key_pinned;
}

uint64_t enlace_receipt_seq(const enlace_receipt_t *r)
{
    return r ? r->seq : 0;
}

uint64_t enlace_receipt_tree_size(const enlace_receipt_t *r)
{
    return r ? r->tree_size : 0;
}

uint64_t enlace_receipt_logged_at_ms(const enlace_receipt_t *r)
{
    return r ? r->logged_at_ms : 0;
}

const char *enlace_receipt_sender(const enlace_receipt_t *r)
{
    return r ? r->sender : "";
}

const char *enlace_receipt_checkpoint(const enlace_receipt_t *r)
{
    return r && r->checkpoint ? r->checkpoint : "";
}

const char *enlace_receipt_origin(const enlace_receipt_t *r)
{
    return r && r->origin && r->status == ENLACE_OK ? r->origin : "";
}

const uint8_t *enlace_receipt_root(const enlace_receipt_t *r)
{
    return r ? r->root : NULL;
}

const uint8_t *enlace_receipt_leaf_hash(const enlace_receipt_t *r)
{
    return r ? r->leaf : NULL;
}
