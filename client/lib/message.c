/* message — verifying a delivery and the received-message handle (enlace.h, message.h).
 *
 * A recipient trusts its own CA bundle, not the broker (DESIGN.md section 5): the
 * sender's certificate must chain to the bundle, name the header's sender, have signed
 * the header, and the payload must hash to the signed digest and decrypt for us. Any
 * failure yields a rejected message (status + reason), never a payload. Verified
 * sender certificates are cached by fingerprint for the life of the handle, so a busy
 * subscription does not re-verify the same chain for every message.
 */
#include "message.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cert.h"
#include "crypto.h"
#include "envelope.h"
#include "topic.h"

struct enlace_message {
    uint32_t sub_local;    /* local subscription id */
    uint32_t sub_remote;   /* broker subscription id, on connection `generation` */
    uint32_t generation;   /* connection the delivery came over */
    uint64_t seq;          /* log sequence number */
    uint64_t logged_at_ms; /* broker time of the record */
    enlace_err_t status;   /* ENLACE_OK = verified and decrypted */
    char why[384];         /* reason of a rejection */
    Enlace__Header *hdr;   /* decoded header (verified when status OK), or NULL */
    uint8_t *plain;        /* plaintext (status OK only); wiped on free */
    size_t plain_len;
    bool has_fp;           /* signer fingerprint known */
    uint8_t signer_fp[32]; /* SHA-256 of the sender certificate */
};

/* ---- verified certificate cache ----------------------------------------------------- */

X509 *conn_cert_lookup(enlace_conn_t *conn, const uint8_t fp[32], char *agency, size_t len)
{
    for (size_t i = 0; i < conn->n_certs; i++) {
        if (ct_equal(conn->certs[i].fp, fp, 32)) {
            snprintf(agency, len, "%s", conn->certs[i].agency);
            return conn->certs[i].cert;
        }
    }
    return NULL;
}

void conn_cert_insert(enlace_conn_t *conn, const uint8_t fp[32], X509 *cert, const char *agency)
{
    conn_cert_t *slot;
    if (conn->n_certs < CONN_CERT_CACHE) {
        slot = &conn->certs[conn->n_certs++];
    } else { /* round-robin replacement: simple, and fine for a cache of senders */
        slot = &conn->certs[conn->next_cert];
        conn->next_cert = (conn->next_cert + 1) % CONN_CERT_CACHE;
        X509_free(slot->cert);
    }
    X509_up_ref(cert);
    slot->cert = cert;
    memcpy(slot->fp, fp, 32);
    snprintf(slot->agency, sizeof slot->agency, "%s", agency);
}

void conn_cert_clear(enlace_conn_t *conn)
{
    for (size_t i = 0; i < conn->n_certs; i++)
        X509_free(conn->certs[i].cert);
    conn->n_certs = conn->next_cert = 0;
}

/* ---- verification ------------------------------------------------------------------ */

static enlace_err_t reject(enlace_message_t *m, enlace_err_t rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Mark m rejected with rc and a reason; returns rc. */
static enlace_err_t reject(enlace_message_t *m, enlace_err_t rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->why, sizeof m->why, fmt, ap);
    va_end(ap);
    m->status = rc;
    return rc;
}

/* The sender's certificate, verified: from Deliver.signer_cert, else from the directory
 * by the (not yet verified) header's sender. Returns a new reference in *out. */
static enlace_err_t sender_cert(enlace_conn_t *conn, const Enlace__Deliver *d, enlace_message_t *m,
                                X509 **out, char *agency, size_t agency_len)
{
    char why[256];
    X509 *c = NULL;
    *out = NULL;
    if (d->has_signer_cert && d->signer_cert.len > 0) {
        c = cert_from_der(d->signer_cert.data, d->signer_cert.len);
        if (c == NULL)
            return reject(m, ENLACE_ERR_BAD_CERT, "sender certificate does not parse");
    } else {
        if (m->hdr == NULL)
            return reject(m, ENLACE_ERR_MALFORMED, "no sender certificate and no readable header");
        const enlace_directory_t *dir = NULL;
        enlace_err_t st;
        if (dir_cached(conn, NULL, false, conn_deadline(conn, -1), &dir) != ENLACE_OK)
            return reject(m, ENLACE_ERR_BAD_CERT, "no sender certificate: directory: %s",
                          conn->err);
        X509 *dc = dir_cert(dir, m->hdr->sender, &st);
        if (dc == NULL)
            return reject(m, ENLACE_ERR_BAD_CERT, "no usable certificate of %s in the directory",
                          m->hdr->sender);
        X509_up_ref(dc);
        c = dc;
    }
    if (cert_sha256(c, m->signer_fp) == ENLACE_OK)
        m->has_fp = true;
    if (m->has_fp && conn_cert_lookup(conn, m->signer_fp, agency, agency_len) != NULL) {
        *out = c;
        return ENLACE_OK;
    }
    if (cert_verify(conn->trust, c, NULL, true, why, sizeof why) != ENLACE_OK) {
        X509_free(c);
        return reject(m, ENLACE_ERR_BAD_CERT, "sender certificate not trusted: %s", why);
    }
    if (cert_agency_id(c, agency, agency_len) != ENLACE_OK) {
        X509_free(c);
        return reject(m, ENLACE_ERR_BAD_CERT, "sender certificate names no agency id");
    }
    if (m->has_fp)
        conn_cert_insert(conn, m->signer_fp, c, agency);
    *out = c;
    return ENLACE_OK;
}

enlace_err_t message_from_deliver(enlace_conn_t *conn, const Enlace__Deliver *d,
                                  const conn_sub_t *sub, enlace_message_t **out)
{
    enlace_message_t *m = calloc(1, sizeof *m);
    *out = NULL;
    if (m == NULL)
        return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
    m->sub_local = sub->local_id;
    m->sub_remote = d->subscription_id;
    m->generation = conn->generation;
    m->seq = d->seq;
    m->logged_at_ms = d->logged_at_ms;
    *out = m;

    /* The header as claimed, for the report and the directory lookup; replaced by the
     * verified decode below. */
    char why[256], agency[ENLACE_AGENCY_ID_BUF];
    if (codec_decode_header(d->envelope->header.data, d->envelope->header.len, &m->hdr, why,
                            sizeof why) != ENLACE_OK)
        return reject(m, ENLACE_ERR_MALFORMED, "header does not decode: %s", why);
    X509 *signer = NULL;
    enlace_err_t rc = sender_cert(conn, d, m, &signer, agency, sizeof agency);
    if (rc != ENLACE_OK)
        return rc;
    Enlace__Header *verified = NULL;
    rc = envelope_verify(d->envelope, signer, &verified, why, sizeof why);
    if (rc != ENLACE_OK) {
        X509_free(signer);
        return reject(m, rc, "%s", why);
    }
    codec_free((ProtobufCMessage **)&m->hdr);
    m->hdr = verified;
    if (strcmp(agency, m->hdr->sender) != 0) {
        X509_free(signer);
        return reject(m, ENLACE_ERR_BAD_CERT, "signed by %s's certificate but header sender is %s",
                      agency, m->hdr->sender);
    }
    if (!topic_matches(sub->filter, m->hdr->topic)) {
        X509_free(signer);
        return reject(m, ENLACE_ERR_PROTOCOL, "topic %s is outside the subscription filter %s",
                      m->hdr->topic, sub->filter);
    }
    X509_free(signer);
    rc = envelope_open(d->envelope, conn->my_cert, conn->my_key, &m->plain, &m->plain_len);
    if (rc != ENLACE_OK)
        return reject(m, ENLACE_ERR_DECRYPT, "payload does not decrypt for us (%s)",
                      enlace_err_str(rc));
    m->status = ENLACE_OK;
    return ENLACE_OK;
}

bool message_ack_target(const enlace_message_t *m, uint32_t *local, uint32_t *remote,
                        uint32_t *generation, uint64_t *seq)
{
    if (m == NULL)
        return false;
    *local = m->sub_local;
    *remote = m->sub_remote;
    *generation = m->generation;
    *seq = m->seq;
    return true;
}

void enlace_message_free(enlace_message_t **msg)
{
    if (msg == NULL || *msg == NULL)
        return;
    enlace_message_t *m = *msg;
    if (m->plain != NULL)
        OPENSSL_clear_free(m->plain, m->plain_len);
    codec_free((ProtobufCMessage **)&m->hdr);
    free(m);
    *msg = NULL;
}

/* ---- accessors ----------------------------------------------------------------------- */

enlace_err_t enlace_message_status(const enlace_message_t *msg)
{
    return msg ? msg->status : ENLACE_ERR_INVALID;
}

const char *enlace_message_error(const enlace_message_t *msg)
{
    return msg && msg->status != ENLACE_OK ? msg->why : "";
}

uint32_t enlace_message_subscription(const enlace_message_t *msg)
{
    return msg ? msg->sub_local : 0;
}

uint64_t enlace_message_seq(const enlace_message_t *msg)
{
    return msg ? msg->seq : 0;
}

uint64_t enlace_message_logged_at_ms(const enlace_message_t *msg)
{
    return msg ? msg->logged_at_ms : 0;
}

const uint8_t *enlace_message_payload(const enlace_message_t *msg, size_t *len)
{
    bool ok = msg && msg->status == ENLACE_OK;
    if (len != NULL)
        *len = ok ? msg->plain_len : 0;
    return ok ? msg->plain : NULL;
}

#define HDR(msg) ((msg) != NULL ? (msg)->hdr : NULL)

const uint8_t *enlace_message_id(const enlace_message_t *msg)
{
    return HDR(msg) ? msg->hdr->message_id.data : NULL;
}

const char *enlace_message_sender(const enlace_message_t *msg)
{
    return HDR(msg) ? msg->hdr->sender : "";
}

const char *enlace_message_topic(const enlace_message_t *msg)
{
    return HDR(msg) ? msg->hdr->topic : "";
}

size_t enlace_message_recipient_count(const enlace_message_t *msg)
{
    return HDR(msg) ? msg->hdr->n_recipients : 0;
}

const char *enlace_message_recipient(const enlace_message_t *msg, size_t i)
{
    return HDR(msg) && i < msg->hdr->n_recipients ? msg->hdr->recipients[i] : NULL;
}

enlace_tlp_t enlace_message_tlp(const enlace_message_t *msg)
{
    return HDR(msg) ? (enlace_tlp_t)msg->hdr->tlp : ENLACE_TLP_UNLABELLED;
}

enlace_handling_t enlace_message_handling(const enlace_message_t *msg)
{
    return HDR(msg) && msg->hdr->has_handling ? (enlace_handling_t)msg->hdr->handling
                                              : ENLACE_HANDLING_NONE;
}

enlace_reliability_t enlace_message_reliability(const enlace_message_t *msg)
{
    return HDR(msg) && msg->hdr->has_source_reliability
               ? (enlace_reliability_t)msg->hdr->source_reliability
               : ENLACE_RELIABILITY_NONE;
}

enlace_accuracy_t enlace_message_accuracy(const enlace_message_t *msg)
{
    return HDR(msg) && msg->hdr->has_info_accuracy ? (enlace_accuracy_t)msg->hdr->info_accuracy
                                                   : ENLACE_ACCURACY_NONE;
}

enlace_message_type_t enlace_message_type(const enlace_message_t *msg)
{
    return HDR(msg) ? (enlace_message_type_t)msg->hdr->message_type : ENLACE_TYPE_UNSPECIFIED;
}

enlace_notice_t enlace_message_notice(const enlace_message_t *msg)
{
    return HDR(msg) && msg->hdr->has_notice_kind ? (enlace_notice_t)msg->hdr->notice_kind
                                                 : ENLACE_NOTICE_NONE;
}

const char *enlace_message_case_ref(const enlace_message_t *msg)
{
    return HDR(msg) ? msg->hdr->case_ref : NULL;
}

const uint8_t *enlace_message_in_reply_to(const enlace_message_t *msg)
{
    return HDR(msg) && msg->hdr->has_in_reply_to && msg->hdr->in_reply_to.len == 16
               ? msg->hdr->in_reply_to.data
               : NULL;
}

const char *enlace_message_language(const enlace_message_t *msg)
{
    return HDR(msg) ? msg->hdr->language : NULL;
}

const char *enlace_message_content_type(const enlace_message_t *msg)
{
    return HDR(msg) ? msg->hdr->content_type : NULL;
}

uint64_t enlace_message_created_at_ms(const enlace_message_t *msg)
{
    return HDR(msg) ? msg->hdr->created_at_ms : 0;
}

uint64_t enlace_message_expires_at_ms(const enlace_message_t *msg)
{
    return HDR(msg) && msg->hdr->has_expires_at_ms ? msg->hdr->expires_at_ms : 0;
}

bool enlace_message_signer_fingerprint(const enlace_message_t *msg, uint8_t out[32])
{
    if (msg == NULL || !msg->has_fp)
        return false;
    memcpy(out, msg->signer_fp, 32);
    return true;
}
