/* publish — sealing and sending case messages, waiting for durable acks (enlace.h).
 *
 * Recipients: named agencies, or every agency the directory lists as reader of the
 * topic. Their certificates come from the directory (cached, see directory.c) and were
 * verified there against our own CA bundle; the sender is always added so that it can
 * read its sent items. A cached listing that lacks a named recipient, or holds a
 * refused certificate for it, is fetched again once before the publish is refused
 * (certificates get renewed).
 */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "crypto.h"
#include "envelope.h"
#include "topic.h"
#include "validate.h"

uint64_t publish_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool language_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > VALIDATE_MAX_LANGUAGE)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return true;
}

enlace_err_t publish_build_header(const enlace_publish_params_t *p, const char *sender,
                                  uint64_t now_ms, publish_header_t *out, char *why, size_t why_len)
{
#define REFUSE(...)                                                                                \
    do {                                                                                           \
        snprintf(why, why_len, __VA_ARGS__);                                                       \
        return ENLACE_ERR_INVALID;                                                                 \
    } while (0)
    if (p == NULL || out == NULL || sender == NULL)
        REFUSE("no publish parameters");
    memset(out, 0, sizeof *out);
    Enlace__Header *h = &out->hdr;
    enlace__header__init(h);
    if (!validate_agency_id(sender))
        REFUSE("sender '%s' is not a valid agency id", sender);
    if (p->topic == NULL || !topic_name_valid(p->topic))
        REFUSE("'%s' is not a valid topic", p->topic ? p->topic : "(none)");
    if (p->tlp < ENLACE_TLP_RED || p->tlp > ENLACE_TLP_CLEAR)
        REFUSE("a TLP label is required (TLP:RED, TLP:AMBER+STRICT, TLP:AMBER, TLP:GREEN, "
               "TLP:CLEAR)");
    if ((p->tlp == ENLACE_TLP_RED || p->tlp == ENLACE_TLP_AMBER_STRICT) && p->n_recipients == 0)
        REFUSE("%s needs named recipients", enlace_tlp_name(p->tlp));
    if (p->n_recipients > ENLACE_MAX_RECIPIENTS)
        REFUSE("%zu recipients; at most %d", p->n_recipients, ENLACE_MAX_RECIPIENTS);
    if (p->n_recipients > 0 && p->recipients == NULL)
        REFUSE("recipient list missing");
    for (size_t i = 0; i < p->n_recipients; i++) {
        const char *r = p->recipients[i];
        if (r == NULL || !validate_agency_id(r))
            REFUSE("recipient '%s' is not a valid agency id", r ? r : "(null)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->recipients[j], r) == 0)
                REFUSE("recipient %s listed twice", r);
        out->recipients[i] = (char *)r;
    }
    enlace_message_type_t type =
        p->type == ENLACE_TYPE_UNSPECIFIED ? ENLACE_TYPE_CASE_MESSAGE : p->type;
    if (type > ENLACE_TYPE_ACKNOWLEDGEMENT)
        REFUSE("unknown message type %d", (int)p->type);
    if (p->notice > ENLACE_NOTICE_UNSC_SPECIAL)
        REFUSE("unknown notice kind %d", (int)p->notice);
    if (p->handling > ENLACE_HANDLING_H3)
        REFUSE("unknown handling code %d", (int)p->handling);
    if (p->reliability > ENLACE_RELIABILITY_X)
        REFUSE("unknown source reliability %d", (int)p->reliability);
    if (p->accuracy > ENLACE_ACCURACY_4)
        REFUSE("unknown information accuracy %d", (int)p->accuracy);
    if (p->case_ref != NULL &&
        (p->case_ref[0] == '\0' || !validate_utf8(p->case_ref, VALIDATE_MAX_CASE_REF)))
        REFUSE("case reference must be 1-%d bytes of text", VALIDATE_MAX_CASE_REF);
    if (p->language != NULL && !language_valid(p->language))
        REFUSE("'%s' is not a BCP 47 language tag", p->language);
    if (p->content_type != NULL &&
        (p->content_type[0] == '\0' || !validate_utf8(p->content_type, VALIDATE_MAX_CONTENT_TYPE)))
        REFUSE("content type must be 1-%d bytes of text", VALIDATE_MAX_CONTENT_TYPE);
    if (p->expires_at_ms != 0 && p->expires_at_ms <= now_ms)
        REFUSE("expiry time is already past");
#undef REFUSE

    if (random_bytes(out->message_id, sizeof out->message_id) != ENLACE_OK) {
        snprintf(why, why_len, "no randomness for the message id");
        return ENLACE_ERR_CRYPTO;
    }
    h->message_id.data = out->message_id;
    h->message_id.len = sizeof out->message_id;
    h->sender = (char *)sender;
    h->topic = (char *)p->topic;
    h->n_recipients = p->n_recipients;
    h->recipients = p->n_recipients ? out->recipients : NULL;
    h->created_at_ms = now_ms;
    if (p->expires_at_ms != 0) {
        h->has_expires_at_ms = true;
        h->expires_at_ms = p->expires_at_ms;
    }
    h->message_type = (Enlace__MessageType)type;
    h->tlp = (Enlace__Tlp)p->tlp;
    if (p->notice != ENLACE_NOTICE_NONE) {
        h->has_notice_kind = true;
        h->notice_kind = (Enlace__NoticeKind)p->notice;
    }
    if (p->handling != ENLACE_HANDLING_NONE) {
        h->has_handling = true;
        h->handling = (Enlace__Handling)p->handling;
    }
    if (p->reliability != ENLACE_RELIABILITY_NONE) {
        h->has_source_reliability = true;
        h->source_reliability = (Enlace__SourceReliability)p->reliability;
    }
    if (p->accuracy != ENLACE_ACCURACY_NONE) {
        h->has_info_accuracy = true;
        h->info_accuracy = (Enlace__InfoAccuracy)p->accuracy;
    }
    h->case_ref = (char *)p->case_ref;
    if (p->in_reply_to != NULL) {
        memcpy(out->in_reply_to, p->in_reply_to, sizeof out->in_reply_to);
        h->has_in_reply_to = true;
        h->in_reply_to.data = out->in_reply_to;
        h->in_reply_to.len = sizeof out->in_reply_to;
    }
    h->language = (char *)p->language;
    h->content_type = (char *)p->content_type;
    return ENLACE_OK;
}

/* ---- recipients ---------------------------------------------------------------------- */

/* Growable list of borrowed certificates to encrypt to. */
typedef struct {
    X509 **certs; /* borrowed from the directory cache / conn */
    size_t n, cap;
} cert_list_t;

static bool list_add(cert_list_t *l, X509 *c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        X509 **v = realloc(l->certs, cap * sizeof *v);
        if (v == NULL)
            return false;
        l->certs = v;
        l->cap = cap;
    }
    l->certs[l->n++] = c;
    return true;
}

/* Certificates of the named recipients (other than ourselves). */
static enlace_err_t named_recipients(enlace_conn_t *conn, const enlace_publish_params_t *p,
                                     int64_t deadline, cert_list_t *out)
{
    const enlace_directory_t *dir = NULL;
    enlace_err_t rc = dir_cached(conn, NULL, false, deadline, &dir);
    for (int attempt = 0; rc == ENLACE_OK && attempt < 2; attempt++) {
        out->n = 0;
        enlace_err_t st = ENLACE_OK;
        size_t i;
        for (i = 0; i < p->n_recipients; i++) {
            if (strcmp(p->recipients[i], conn->my_id) == 0)
                continue;
            X509 *c = dir_cert(dir, p->recipients[i], &st);
            if (c == NULL)
                break;
            if (!list_add(out, c))
                return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
        }
        if (i == p->n_recipients)
            return ENLACE_OK;
        if (attempt == 0) { /* maybe a stale listing: ask the broker once more */
            rc = dir_cached(conn, NULL, true, deadline, &dir);
            continue;
        }
        const char *r = p->recipients[i], *why = NULL;
        for (size_t k = 0; k < enlace_directory_count(dir); k++)
            if (strcmp(enlace_directory_agency(dir, k), r) == 0)
                why = enlace_directory_cert_error(dir, k);
        if (st == ENLACE_ERR_BAD_CERT)
            return conn_fail(conn, st, "certificate of recipient %s refused: %s", r, why);
        return conn_fail(conn, ENLACE_ERR_NOT_FOUND, "recipient %s %s", r,
                         why ? "has no certificate in the directory" : "is not in the directory");
    }
    return rc;
}

/* Certificates of every agency the directory lists for the topic (other than us). */
static enlace_err_t topic_readers(enlace_conn_t *conn, const char *topic, int64_t deadline,
                                  cert_list_t *out, size_t *skipped)
{
    const enlace_directory_t *dir = NULL;
    enlace_err_t rc = dir_cached(conn, topic, false, deadline, &dir);
    for (int attempt = 0; rc == ENLACE_OK && attempt < 2; attempt++) {
        out->n = 0;
        *skipped = 0;
        size_t bad = SIZE_MAX;
        for (size_t i = 0; i < enlace_directory_count(dir); i++) {
            if (strcmp(enlace_directory_agency(dir, i), conn->my_id) == 0)
                continue;
            enlace_err_t st = enlace_directory_cert_status(dir, i);
            if (st == ENLACE_ERR_NOT_FOUND) {
                (*skipped)++;
            } else if (st != ENLACE_OK) {
                bad = i;
                break;
            } else if (!list_add(out, dir_cert_at(dir, i))) {
                return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
            }
        }
        if (bad == SIZE_MAX)
            return ENLACE_OK;
        if (attempt == 1)
            return conn_fail(conn, ENLACE_ERR_BAD_CERT, "certificate of %s refused: %s",
                             enlace_directory_agency(dir, bad),
                             enlace_directory_cert_error(dir, bad));
        rc = dir_cached(conn, topic, true, deadline, &dir);
    }
    return rc;
}

/* Build, encrypt and sign: *env (envelope_free), the message id and recipient counts. */
static enlace_err_t seal(enlace_conn_t *conn, const enlace_publish_params_t *p, const uint8_t *data,
                         size_t len, int64_t deadline, Enlace__Envelope **env, enlace_ack_t *info)
{
    char why[256];
    publish_header_t hb;
    cert_list_t certs = {0};
    *env = NULL;
    memset(info, 0, sizeof *info);
    if (!conn->up)
        return conn_fail(conn, conn->down_rc, "not connected%s%s", conn->err[0] ? ": " : "",
                         conn->err);
    if (data == NULL && len > 0)
        return conn_fail(conn, ENLACE_ERR_INVALID, "no payload");
    enlace_err_t rc = publish_build_header(p, conn->my_id, publish_now_ms(), &hb, why, sizeof why);
    if (rc != ENLACE_OK)
        return conn_fail(conn, rc, "%s", why);
    rc = p->n_recipients > 0 ? named_recipients(conn, p, deadline, &certs)
                             : topic_readers(conn, p->topic, deadline, &certs, &info->n_skipped);
    if (rc == ENLACE_OK && !list_add(&certs, conn->my_cert))
        rc = conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
    if (rc == ENLACE_OK) {
        static const uint8_t empty[1];
        rc = envelope_seal(&hb.hdr, data ? data : empty, len, certs.certs, certs.n, conn->my_cert,
                           conn->my_key, env);
        if (rc != ENLACE_OK)
            conn_fail(conn, rc, "cannot seal the message: %s", enlace_err_str(rc));
    }
    if (rc == ENLACE_OK) {
        memcpy(info->message_id, hb.message_id, sizeof info->message_id);
        info->n_encrypted_to = certs.n;
    }
    free(certs.certs);
    return rc;
}

static enlace_err_t send_envelope(enlace_conn_t *conn, Enlace__Envelope *env, int64_t deadline,
                                  uint64_t *corr)
{
    Enlace__Publish pub = ENLACE__PUBLISH__INIT;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    pub.correlation_id = *corr = conn_next_corr(conn);
    pub.envelope = env;
    f.kind_case = ENLACE__FRAME__KIND_PUBLISH;
    f.publish = &pub;
    return conn_send(conn, &f, deadline);
}

static enlace_err_t await_ack(enlace_conn_t *conn, uint64_t corr, int64_t deadline,
                              enlace_ack_t *ack)
{
    Enlace__Frame *reply = NULL;
    enlace_err_t rc =
        conn_wait_reply(conn, corr, ENLACE__FRAME__KIND_PUBLISH_ACK, deadline, &reply);
    if (rc != ENLACE_OK)
        return rc;
    const Enlace__PublishAck *a = reply->publish_ack;
    ack->seq = a->seq;
    memcpy(ack->leaf_hash, a->leaf_hash.data, 32); /* length checked by validate_frame */
    ack->duplicate = a->has_duplicate && a->duplicate;
    codec_free((ProtobufCMessage **)&reply);
    return ENLACE_OK;
}

enlace_err_t enlace_publish(enlace_conn_t *conn, const enlace_publish_params_t *params,
                            const uint8_t *data, size_t len, enlace_ack_t *ack)
{
    if (conn == NULL || ack == NULL)
        return ENLACE_ERR_INVALID;
    conn_clear_error(conn);
    int64_t deadline = conn_deadline(conn, -1);
    Enlace__Envelope *env = NULL;
    uint64_t corr = 0;
    enlace_err_t rc = ENLACE_OK;
    if (!conn->up && conn->opts.reconnect)
        rc = enlace_reconnect(conn);
    if (rc == ENLACE_OK)
        rc = seal(conn, params, data, len, deadline, &env, ack);
    if (rc == ENLACE_OK) {
        rc = send_envelope(conn, env, deadline, &corr);
        if (rc == ENLACE_OK)
            rc = await_ack(conn, corr, deadline, ack);
        /* Lost connection: the message may or may not be logged. Send the very same
         * envelope again: the broker acknowledges a known message id as a duplicate. */
        if ((rc == ENLACE_ERR_CLOSED || rc == ENLACE_ERR_IO) && conn->opts.reconnect &&
            enlace_reconnect(conn) == ENLACE_OK) {
            rc = send_envelope(conn, env, deadline, &corr);
            if (rc == ENLACE_OK)
                rc = await_ack(conn, corr, deadline, ack);
        }
    }
    envelope_free(&env);
    return rc;
}

enlace_err_t enlace_publish_send(enlace_conn_t *conn, const enlace_publish_params_t *params,
                                 const uint8_t *data, size_t len, uint64_t *token)
{
    if (conn == NULL || token == NULL)
        return ENLACE_ERR_INVALID;
    conn_clear_error(conn);
    int64_t deadline = conn_deadline(conn, -1);
    Enlace__Envelope *env = NULL;
    enlace_ack_t info;
    if (conn->n_inflight == conn->cap_inflight) {
        size_t cap = conn->cap_inflight ? conn->cap_inflight * 2 : 16;
        conn_inflight_t *v = realloc(conn->inflight, cap * sizeof *v);
        if (v == NULL)
            return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
        conn->inflight = v;
        conn->cap_inflight = cap;
    }
    enlace_err_t rc = seal(conn, params, data, len, deadline, &env, &info);
    uint64_t corr = 0;
    if (rc == ENLACE_OK)
        rc = send_envelope(conn, env, deadline, &corr);
    envelope_free(&env);
    if (rc != ENLACE_OK)
        return rc;
    conn_inflight_t *in = &conn->inflight[conn->n_inflight++];
    in->token = corr;
    memcpy(in->message_id, info.message_id, sizeof in->message_id);
    in->n_encrypted_to = info.n_encrypted_to;
    in->n_skipped = info.n_skipped;
    *token = corr;
    return ENLACE_OK;
}

enlace_err_t enlace_publish_wait(enlace_conn_t *conn, uint64_t token, int timeout_ms,
                                 enlace_ack_t *ack)
{
    if (conn == NULL || ack == NULL)
        return ENLACE_ERR_INVALID;
    conn_clear_error(conn);
    size_t i;
    for (i = 0; i < conn->n_inflight; i++)
        if (conn->inflight[i].token == token)
            break;
    if (i == conn->n_inflight) {
        if (!conn->up)
            return conn_fail(conn, conn->down_rc, "connection lost before the acknowledgement%s%s",
                             conn->err[0] ? ": " : "", conn->err);
        return conn_fail(conn, ENLACE_ERR_NOT_FOUND, "no publish in flight with token %llu",
                         (unsigned long long)token);
    }
    memset(ack, 0, sizeof *ack);
    memcpy(ack->message_id, conn->inflight[i].message_id, sizeof ack->message_id);
    ack->n_encrypted_to = conn->inflight[i].n_encrypted_to;
    ack->n_skipped = conn->inflight[i].n_skipped;
    enlace_err_t rc = await_ack(conn, token, conn_deadline(conn, timeout_ms), ack);
    if (rc == ENLACE_ERR_TIMEOUT)
        return rc;                           /* still in flight: may be waited for again */
    for (i = 0; i < conn->n_inflight; i++) { /* the list may have been cleared meanwhile */
        if (conn->inflight[i].token == token) {
            conn->inflight[i] = conn->inflight[--conn->n_inflight];
            break;
        }
    }
    return rc;
}
