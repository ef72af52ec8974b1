/* conn — connecting, the Hello/Welcome exchange, frame I/O and reconnects (see conn.h).
 *
 * TLS 1.3 trap (NOTES.md): SSL_connect succeeds even when the broker goes on to reject
 * our certificate; its alert arrives on the first read. So the connection is called up
 * only once Welcome has arrived, and an alert or a close before Welcome is reported as
 * the broker rejecting us, with the alert text.
 */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#define CONN_READ_CHUNK 16384
#define PROTOCOL_VERSION 1

/* ---- errors -------------------------------------------------------------------------- */

enlace_err_t conn_fail(enlace_conn_t *conn, enlace_err_t rc, const char *fmt, ...)
{
    if (conn == NULL)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(conn->err, sizeof conn->err, fmt, ap);
    va_end(ap);
    conn->broker_err = ENLACE_BROKER_NONE;
    return rc;
}

void conn_clear_error(enlace_conn_t *conn)
{
    conn->err[0] = '\0';
    conn->broker_err = ENLACE_BROKER_NONE;
}

/* The broker refused: keep its code and text. */
static enlace_err_t conn_broker_refused(enlace_conn_t *conn, const Enlace__Error *e)
{
    conn_fail(conn, ENLACE_ERR_DENIED, "broker refused: %s: %s",
              enlace_broker_error_name((enlace_broker_error_t)e->code), e->text);
    conn->broker_err = (enlace_broker_error_t)e->code;
    return ENLACE_ERR_DENIED;
}

const char *enlace_last_error(const enlace_conn_t *conn)
{
    return conn ? conn->err : "no connection handle (out of memory or missing options)";
}

enlace_broker_error_t enlace_last_broker_error(const enlace_conn_t *conn)
{
    return conn ? conn->broker_err : ENLACE_BROKER_NONE;
}

/* ---- queues -------------------------------------------------------------------------- */

static void queue_free(frame_node_t **head, frame_node_t **tail)
{
    for (frame_node_t *n = *head, *next; n != NULL; n = next) {
        next = n->next;
        codec_free((ProtobufCMessage **)&n->frame);
        free(n);
    }
    *head = *tail = NULL;
}

static bool queue_push(frame_node_t **head, frame_node_t **tail, Enlace__Frame *f, uint64_t corr)
{
    frame_node_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        return false;
    n->frame = f;
    n->corr = corr;
    if (*tail)
        (*tail)->next = n;
    else
        *head = n;
    *tail = n;
    return true;
}

Enlace__Frame *conn_pop_delivery(enlace_conn_t *conn)
{
    frame_node_t *n = conn->deliveries;
    if (n == NULL)
        return NULL;
    conn->deliveries = n->next;
    if (conn->deliveries == NULL)
        conn->deliveries_tail = NULL;
    Enlace__Frame *f = n->frame;
    free(n);
    return f;
}

void conn_drop_deliveries(enlace_conn_t *conn, uint32_t remote_id)
{
    frame_node_t **pp = &conn->deliveries, *last = NULL;
    while (*pp != NULL) {
        frame_node_t *n = *pp;
        if (n->frame->deliver->subscription_id == remote_id) {
            *pp = n->next;
            codec_free((ProtobufCMessage **)&n->frame);
            free(n);
        } else {
            last = n;
            pp = &n->next;
        }
    }
    conn->deliveries_tail = last;
}

static Enlace__Frame *take_reply(enlace_conn_t *conn, uint64_t corr)
{
    frame_node_t **pp = &conn->replies, *prev = NULL;
    for (; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        frame_node_t *n = *pp;
        if (n->corr != corr)
            continue;
        *pp = n->next;
        if (conn->replies_tail == n)
            conn->replies_tail = prev;
        Enlace__Frame *f = n->frame;
        free(n);
        conn->n_replies--;
        return f;
    }
    return NULL;
}

/* ---- connection state ---------------------------------------------------------------- */

/* The connection is gone: keep why, release transport and everything tied to it.
 * Queued deliveries are dropped: they could not be acknowledged on a new connection
 * and the broker delivers them again after a resume. */
static enlace_err_t conn_down(enlace_conn_t *conn, enlace_err_t rc, const char *why)
{
    if (why != NULL && why != conn->err)
        snprintf(conn->err, sizeof conn->err, "%s", why);
    conn->up = false;
    conn->down_rc = rc;
    transport_destroy(&conn->tp);
    codec_decoder_destroy(&conn->dec);
    queue_free(&conn->deliveries, &conn->deliveries_tail);
    queue_free(&conn->replies, &conn->replies_tail);
    conn->n_replies = 0;
    conn->out_len = conn->out_off = 0;
    conn->n_inflight = 0; /* their acknowledgements can no longer arrive */
    return rc;
}

/* The transport failed with rc/why: say what it means. Before Welcome, a fatal alert
 * is the broker rejecting our certificate (TLS 1.3 sends it after the handshake); a
 * broker Error frame followed by the close says more than the close itself. */
static enlace_err_t conn_lost(enlace_conn_t *conn, enlace_err_t rc, const char *why)
{
    char text[sizeof conn->err];
    enlace_broker_error_t code = conn->broker_err;
    if (code != ENLACE_BROKER_NONE) {
        snprintf(text, sizeof text, "%s", conn->err);
        conn_down(conn, conn->up ? rc : ENLACE_ERR_DENIED, text);
        conn->broker_err = code;
        return conn->down_rc;
    }
    if (!conn->up && transport_peer_alert(conn->tp) != NULL) {
        snprintf(text, sizeof text, "broker rejected our certificate: %s",
                 transport_peer_alert(conn->tp));
        return conn_down(conn, ENLACE_ERR_BAD_CERT, text);
    }
    return conn_down(conn, rc, why);
}

int64_t conn_deadline(const enlace_conn_t *conn, int timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = conn->opts.timeout_ms;
    if (timeout_ms < 0)
        return -1;
    return transport_now_ms() + timeout_ms;
}

uint64_t conn_next_corr(enlace_conn_t *conn)
{
    if (++conn->next_corr == 0)
        conn->next_corr = 1;
    return conn->next_corr;
}

/* ---- output -------------------------------------------------------------------------- */

static enlace_err_t out_append(enlace_conn_t *conn, const uint8_t *p, size_t n)
{
    if (conn->out_off > 0 && conn->out_off == conn->out_len)
        conn->out_off = conn->out_len = 0;
    if (conn->out_len + n > conn->out_cap) {
        if (conn->out_off > 0) { /* compact before growing */
            memmove(conn->out, conn->out + conn->out_off, conn->out_len - conn->out_off);
            conn->out_len -= conn->out_off;
            conn->out_off = 0;
        }
        size_t cap = conn->out_cap ? conn->out_cap : 4096;
        while (cap < conn->out_len + n)
            cap *= 2;
        if (cap != conn->out_cap) {
            uint8_t *b = realloc(conn->out, cap);
            if (b == NULL)
                return ENLACE_ERR_NOMEM;
            conn->out = b;
            conn->out_cap = cap;
        }
    }
    memcpy(conn->out + conn->out_len, p, n);
    conn->out_len += n;
    return ENLACE_OK;
}

/* Write what the socket takes now. ENLACE_OK (maybe some left) or down. */
static enlace_err_t flush_some(enlace_conn_t *conn)
{
    char why[256];
    while (conn->out_off < conn->out_len) {
        size_t n = 0;
        enlace_err_t rc = transport_write(conn->tp, conn->out + conn->out_off,
                                          conn->out_len - conn->out_off, &n, why, sizeof why);
        if (rc == ENLACE_ERR_AGAIN)
            return ENLACE_OK;
        if (rc != ENLACE_OK)
            return conn_lost(conn, rc, why);
        conn->out_off += n;
    }
    conn->out_off = conn->out_len = 0;
    return ENLACE_OK;
}

static enlace_err_t queue_frame(enlace_conn_t *conn, const Enlace__Frame *f)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enlace_err_t rc = codec_encode_frame(f, &buf, &len);
    if (rc != ENLACE_OK)
        return conn_fail(conn, rc, "cannot encode frame: %s", enlace_err_str(rc));
    if (conn->up && len - CODEC_LENGTH_PREFIX > conn->broker_max_frame) {
        free(buf);
        return conn_fail(conn, ENLACE_ERR_TOO_LARGE,
                         "frame of %zu bytes is above the broker's limit of %u bytes",
                         len - CODEC_LENGTH_PREFIX, conn->broker_max_frame);
    }
    rc = out_append(conn, buf, len);
    free(buf);
    if (rc != ENLACE_OK)
        return conn_fail(conn, rc, "out of memory");
    return ENLACE_OK;
}

/* ---- input --------------------------------------------------------------------------- */

static uint64_t reply_corr(const Enlace__Frame *f)
{
    switch (f->kind_case) {
    case ENLACE__FRAME__KIND_PUBLISH_ACK: return f->publish_ack->correlation_id;
    case ENLACE__FRAME__KIND_SUBSCRIBED: return f->subscribed->correlation_id;
    case ENLACE__FRAME__KIND_DIRECTORY: return f->directory->correlation_id;
    case ENLACE__FRAME__KIND_RECEIPT: return f->receipt->correlation_id;
    case ENLACE__FRAME__KIND_AUDIT_RECORDS: return f->audit_records->correlation_id;
    case ENLACE__FRAME__KIND_PONG: return f->pong->nonce;
    case ENLACE__FRAME__KIND_ERROR: return f->error->correlation_id;
    default: return 0;
    }
}

/* Sort one decoded (and validated) frame; takes ownership of f. */
static enlace_err_t dispatch(enlace_conn_t *conn, Enlace__Frame *f)
{
    char why[1200];
    enlace_err_t rc = ENLACE_OK;
    conn->frames_in++;
    switch (f->kind_case) {
    case ENLACE__FRAME__KIND_WELCOME:
        if (conn->welcome != NULL) {
            snprintf(why, sizeof why, "protocol violation: a second Welcome from the broker");
            rc = conn_down(conn, ENLACE_ERR_PROTOCOL, why);
            break;
        }
        conn->welcome = f;
        return ENLACE_OK;
    case ENLACE__FRAME__KIND_DELIVER:
        if (!conn->up) {
            rc = conn_down(conn, ENLACE_ERR_PROTOCOL, "protocol violation: Deliver before Welcome");
            break;
        }
        if (!queue_push(&conn->deliveries, &conn->deliveries_tail, f, 0))
            break;
        return ENLACE_OK;
    case ENLACE__FRAME__KIND_ERROR:
        if (!f->error->has_correlation_id || f->error->correlation_id == 0) {
            /* A refusal of the session itself (or of an ack): the broker closes after it
             * when it is fatal; the text is what the user needs to see. */
            conn_broker_refused(conn, f->error);
            break;
        }
        __attribute__((fallthrough)); /* a reply */
    case ENLACE__FRAME__KIND_PUBLISH_ACK:
    case ENLACE__FRAME__KIND_SUBSCRIBED:
    case ENLACE__FRAME__KIND_DIRECTORY:
    case ENLACE__FRAME__KIND_RECEIPT:
    case ENLACE__FRAME__KIND_AUDIT_RECORDS:
    case ENLACE__FRAME__KIND_PONG:
        if (conn->n_replies >= CONN_MAX_REPLIES) { /* oldest first: long given up on */
            frame_node_t *old = conn->replies;
            conn->replies = old->next;
            if (conn->replies == NULL)
                conn->replies_tail = NULL;
            codec_free((ProtobufCMessage **)&old->frame);
            free(old);
            conn->n_replies--;
        }
        if (!queue_push(&conn->replies, &conn->replies_tail, f, reply_corr(f)))
            break;
        conn->n_replies++;
        return ENLACE_OK;
    case ENLACE__FRAME__KIND_PING: {
        Enlace__Pong pong = ENLACE__PONG__INIT;
        Enlace__Frame out = ENLACE__FRAME__INIT;
        pong.nonce = f->ping->nonce;
        out.kind_case = ENLACE__FRAME__KIND_PONG;
        out.pong = &pong;
        rc = queue_frame(conn, &out); /* written by the next flush */
        break;
    }
    case ENLACE__FRAME__KIND_GOODBYE:
        if (conn->broker_err != ENLACE_BROKER_NONE && !conn->up) {
            /* Error then Goodbye: the Error says more; keep it. */
            enlace_broker_error_t code = conn->broker_err;
            rc = conn_down(conn, ENLACE_ERR_DENIED, conn->err);
            conn->broker_err = code;
        } else {
            snprintf(why, sizeof why, "the broker closed the session: %s", f->goodbye->reason);
            rc = conn_down(conn, ENLACE_ERR_CLOSED, why);
        }
        break;
    default:
        snprintf(why, sizeof why, "protocol violation: unexpected frame kind %d from the broker",
                 (int)f->kind_case);
        rc = conn_down(conn, ENLACE_ERR_PROTOCOL, why);
        break;
    }
    codec_free((ProtobufCMessage **)&f);
    return rc;
}

/* Read and dispatch until TLS has nothing more (so no data waits in OpenSSL's buffer
 * while the application polls the socket). */
static enlace_err_t read_available(enlace_conn_t *conn)
{
    uint8_t buf[CONN_READ_CHUNK];
    char why[512];
    while (conn->tp != NULL) {
        size_t got = 0;
        enlace_err_t rc = transport_read(conn->tp, buf, sizeof buf, &got, why, sizeof why);
        if (rc == ENLACE_ERR_AGAIN)
            return ENLACE_OK;
        if (rc != ENLACE_OK)
            return conn_lost(conn, rc, why);
        size_t off = 0;
        while (off < got && conn->dec != NULL) {
            size_t used = 0;
            Enlace__Frame *f = NULL;
            char dwhy[256];
            rc = codec_decoder_next(conn->dec, buf + off, got - off, &used, &f, dwhy, sizeof dwhy);
            off += used;
            if (rc == ENLACE_ERR_AGAIN)
                break;
            if (rc != ENLACE_OK) {
                snprintf(why, sizeof why, "bad frame from the broker: %s", dwhy);
                return conn_down(conn, ENLACE_ERR_PROTOCOL, why);
            }
            rc = dispatch(conn, f);
            if (rc != ENLACE_OK)
                return rc;
        }
    }
    return conn->up || conn->tp ? ENLACE_OK : conn->down_rc;
}

enlace_err_t conn_poll(enlace_conn_t *conn, int64_t deadline)
{
    if (conn->tp == NULL)
        return conn->down_rc ? conn->down_rc : ENLACE_ERR_CLOSED;
    uint64_t before = conn->frames_in;
    for (;;) {
        enlace_err_t rc = flush_some(conn);
        if (rc == ENLACE_OK)
            rc = read_available(conn);
        if (rc != ENLACE_OK)
            return rc;
        if (conn->frames_in != before)
            return ENLACE_OK;
        rc = transport_wait(conn->tp, conn->out_off < conn->out_len, deadline);
        if (rc == ENLACE_ERR_TIMEOUT)
            return rc;
        if (rc != ENLACE_OK)
            return conn_down(conn, ENLACE_ERR_IO, "poll on the broker connection failed");
    }
}

enlace_err_t conn_send(enlace_conn_t *conn, const Enlace__Frame *f, int64_t deadline)
{
    if (conn->tp == NULL)
        return conn_fail(conn, conn->down_rc ? conn->down_rc : ENLACE_ERR_CLOSED,
                         "not connected%s%s", conn->err[0] ? ": " : "", conn->err);
    enlace_err_t rc = queue_frame(conn, f);
    if (rc != ENLACE_OK)
        return rc;
    for (;;) {
        rc = flush_some(conn);
        if (rc != ENLACE_OK || conn->out_off == conn->out_len)
            return rc;
        /* Read while waiting to write: the broker may be blocked writing to us. */
        rc = transport_wait(conn->tp, true, deadline);
        if (rc == ENLACE_ERR_TIMEOUT)
            return conn_fail(conn, rc, "timed out sending to the broker");
        if (rc != ENLACE_OK)
            return conn_down(conn, ENLACE_ERR_IO, "poll on the broker connection failed");
        rc = read_available(conn);
        if (rc != ENLACE_OK)
            return rc;
    }
}

enlace_err_t conn_wait_reply(enlace_conn_t *conn, uint64_t corr, Enlace__Frame__KindCase expect,
                             int64_t deadline, Enlace__Frame **out)
{
    *out = NULL;
    for (;;) {
        Enlace__Frame *f = take_reply(conn, corr);
        if (f != NULL) {
            enlace_err_t rc = ENLACE_OK;
            if (f->kind_case == expect) {
                *out = f;
                return ENLACE_OK;
            }
            if (f->kind_case == ENLACE__FRAME__KIND_ERROR)
                rc = conn_broker_refused(conn, f->error);
            else
                rc = conn_fail(conn, ENLACE_ERR_PROTOCOL,
                               "protocol violation: reply of kind %d, expected %d",
                               (int)f->kind_case, (int)expect);
            codec_free((ProtobufCMessage **)&f);
            return rc;
        }
        enlace_err_t rc = conn_poll(conn, deadline);
        if (rc == ENLACE_ERR_TIMEOUT)
            return conn_fail(conn, rc, "no reply from the broker in time");
        if (rc != ENLACE_OK)
            return rc;
    }
}

/* ---- public: lifecycle --------------------------------------------------------------- */

static char *dup_opt(const char *s, bool *ok)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *ok = false;
    return d;
}

enlace_conn_t *enlace_new(const enlace_options_t *opts)
{
    if (opts == NULL || opts->host == NULL || opts->cert == NULL || opts->key == NULL ||
        opts->ca == NULL)
        return NULL;
    enlace_conn_t *conn = calloc(1, sizeof *conn);
    if (conn == NULL)
        return NULL;
    bool ok = true;
    conn->opts = *opts;
    conn->opts.host = conn->host = dup_opt(opts->host, &ok);
    conn->opts.cert = conn->cert_path = dup_opt(opts->cert, &ok);
    conn->opts.key = conn->key_path = dup_opt(opts->key, &ok);
    conn->opts.ca = conn->ca_path = dup_opt(opts->ca, &ok);
    conn->opts.crl = conn->crl_path = dup_opt(opts->crl, &ok);
    conn->opts.checkpoint_key = conn->ckpt_path = dup_opt(opts->checkpoint_key, &ok);
    conn->opts.client_name = conn->client_name =
        dup_opt(opts->client_name ? opts->client_name : "libenlace/" ENLACE_VERSION, &ok);
    if (conn->opts.port == 0)
        conn->opts.port = ENLACE_DEFAULT_PORT;
    if (conn->opts.timeout_ms == 0)
        conn->opts.timeout_ms = ENLACE_DEFAULT_TIMEOUT_MS;
    if (conn->opts.max_frame == 0)
        conn->opts.max_frame = ENLACE_DEFAULT_MAX_FRAME;
    conn->down_rc = ENLACE_ERR_CLOSED;
    conn->next_local_id = 1;
    snprintf(conn->err, sizeof conn->err, "not connected");
    if (!ok)
        enlace_close(&conn);
    else
        conn->err[0] = '\0';
    return conn;
}

/* Check the Welcome and take what the session needs from it. */
static enlace_err_t accept_welcome(enlace_conn_t *conn)
{
    const Enlace__Welcome *w = conn->welcome->welcome;
    if (w->version != PROTOCOL_VERSION)
        return conn_fail(conn, ENLACE_ERR_PROTOCOL, "broker speaks protocol version %u, not %u",
                         w->version, PROTOCOL_VERSION);
    if (strcmp(w->agency_id, conn->my_id) != 0)
        return conn_fail(conn, ENLACE_ERR_PROTOCOL,
                         "the broker sees us as '%s' but our certificate names '%s'", w->agency_id,
                         conn->my_id);
    if (w->checkpoint_key.len != 32)
        return conn_fail(conn, ENLACE_ERR_PROTOCOL, "Welcome without a checkpoint key");
    char *origin = strdup(w->log_origin);
    if (origin == NULL)
        return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
    free(conn->log_origin);
    conn->log_origin = origin;
    snprintf(conn->agency_id, sizeof conn->agency_id, "%s", w->agency_id);
    conn->role = (enlace_role_t)w->role;
    conn->broker_max_frame = w->max_frame;
    memcpy(conn->welcome_key, w->checkpoint_key.data, 32);
    return ENLACE_OK;
}

/* One connection attempt: TCP, TLS, Hello, Welcome. */
static enlace_err_t connect_once(enlace_conn_t *conn)
{
    char why[512];
    int64_t deadline = conn_deadline(conn, -1);
    codec_free((ProtobufCMessage **)&conn->welcome);
    conn->broker_err = ENLACE_BROKER_NONE;
    conn->tp = transport_new(conn->ssl_ctx);
    conn->dec = codec_decoder_new(conn->opts.max_frame);
    if (conn->tp == NULL || conn->dec == NULL)
        return conn_down(conn, ENLACE_ERR_NOMEM, "out of memory");
    enlace_err_t rc =
        transport_connect(conn->tp, conn->opts.host, conn->opts.port, deadline, why, sizeof why);
    if (rc != ENLACE_OK)
        return conn_down(conn, rc, why);

    Enlace__Hello hello = ENLACE__HELLO__INIT;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    hello.version = PROTOCOL_VERSION;
    hello.client_name = (char *)conn->opts.client_name;
    hello.has_max_frame = true;
    hello.max_frame = conn->opts.max_frame;
    f.kind_case = ENLACE__FRAME__KIND_HELLO;
    f.hello = &hello;
    rc = conn_send(conn, &f, deadline);
    while (rc == ENLACE_OK && conn->welcome == NULL)
        rc = conn_poll(conn, deadline);
    if (rc == ENLACE_ERR_TIMEOUT)
        return conn_down(conn, rc, "no Welcome from the broker in time");
    if (rc == ENLACE_ERR_CLOSED && strstr(conn->err, "closed the connection") != NULL)
        /* No Error frame, no alert we could read: on loopback the broker's reset often
         * discards its alert before we read it. A broker that refuses anything else says
         * so with an Error frame, so this is the certificate. */
        return conn_down(conn, ENLACE_ERR_BAD_CERT,
                         "the broker closed the connection right after the TLS handshake, "
                         "without a reason: most likely it rejected our certificate (revoked, "
                         "expired, not for client authentication, or from a CA it does not "
                         "trust; its log says which)");
    if (rc != ENLACE_OK) {
        enlace_broker_error_t code = conn->broker_err;
        conn_down(conn, rc, NULL);
        conn->broker_err = code;
        return rc;
    }
    rc = accept_welcome(conn);
    if (rc != ENLACE_OK)
        return conn_down(conn, rc, NULL);
    conn->up = true;
    conn->generation++;
    return ENLACE_OK;
}

/* Make every subscription again on the new connection. A subscription the broker now
 * refuses is dropped; the first error is returned after trying them all. */
static enlace_err_t restore_subscriptions(enlace_conn_t *conn)
{
    enlace_err_t first = ENLACE_OK;
    char first_why[sizeof conn->err + 128] = "";
    for (size_t i = 0; i < conn->n_subs && conn->up;) {
        conn_sub_t *s = &conn->subs[i];
        enlace_start_t start = ENLACE_START_RESUME;
        uint64_t from = 0;
        if (s->start != ENLACE_START_RESUME) {
            /* Not RESUME: the broker's cursor for a never-acknowledged name is the start
             * of the log; continue exactly after what this handle saw acknowledged. */
            start = ENLACE_START_FROM_SEQ;
            from = s->acked && s->last_acked + 1 > s->first_seq ? s->last_acked + 1 : s->first_seq;
        }
        enlace_err_t rc = sub_request(conn, s, start, from, conn_deadline(conn, -1), NULL);
        if (rc == ENLACE_ERR_DENIED || rc == ENLACE_ERR_INVALID) {
            if (first == ENLACE_OK) {
                first = rc;
                snprintf(first_why, sizeof first_why, "subscription '%s' dropped: %s", s->name,
                         conn->err);
            }
            free(s->name);
            free(s->filter);
            memmove(s, s + 1, (conn->n_subs - i - 1) * sizeof *s);
            conn->n_subs--;
            continue;
        }
        if (rc != ENLACE_OK)
            return rc;
        i++;
    }
    if (first != ENLACE_OK)
        snprintf(conn->err, sizeof conn->err, "%.*s", (int)sizeof conn->err - 1, first_why);
    return first;
}

enlace_err_t enlace_connect(enlace_conn_t *conn)
{
    if (conn == NULL)
        return ENLACE_ERR_INVALID;
    if (conn->up)
        return ENLACE_OK;
    conn_clear_error(conn);
    if (!conn->loaded) {
        enlace_err_t rc = conn_load_identity(conn);
        if (rc != ENLACE_OK) {
            conn_unload_identity(conn);
            return rc;
        }
    }
    conn_down(conn, ENLACE_ERR_CLOSED, NULL); /* leftovers of an earlier connection */
    enlace_err_t rc = connect_once(conn);
    if (rc != ENLACE_OK)
        return rc;
    conn->err[0] = '\0';
    return restore_subscriptions(conn);
}

enlace_err_t enlace_reconnect(enlace_conn_t *conn)
{
    if (conn == NULL)
        return ENLACE_ERR_INVALID;
    if (conn->up)
        conn_down(conn, ENLACE_ERR_CLOSED, "reconnecting");
    return enlace_connect(conn);
}

void enlace_close(enlace_conn_t **connp)
{
    if (connp == NULL || *connp == NULL)
        return;
    enlace_conn_t *conn = *connp;
    if (conn->up)
        flush_some(conn); /* e.g. a last DeliverAck still buffered */
    conn_down(conn, ENLACE_ERR_CLOSED, NULL);
    codec_free((ProtobufCMessage **)&conn->welcome);
    conn_unload_identity(conn);
    dir_cache_clear(conn);
    conn_cert_clear(conn);
    for (size_t i = 0; i < conn->n_subs; i++) {
        free(conn->subs[i].name);
        free(conn->subs[i].filter);
    }
    free(conn->subs);
    free(conn->inflight);
    free(conn->out);
    free(conn->log_origin);
    free(conn->host);
    free(conn->cert_path);
    free(conn->key_path);
    free(conn->ca_path);
    free(conn->crl_path);
    free(conn->ckpt_path);
    free(conn->client_name);
    free(conn);
    *connp = NULL;
}

size_t enlace_pending(const enlace_conn_t *conn)
{
    size_t n = 0;
    for (const frame_node_t *f = conn ? conn->deliveries : NULL; f != NULL; f = f->next)
        n++;
    return n;
}

bool enlace_is_up(const enlace_conn_t *conn)
{
    return conn != NULL && conn->up;
}

int enlace_fd(const enlace_conn_t *conn)
{
    return conn && conn->up ? transport_fd(conn->tp) : -1;
}

const char *enlace_agency_id(const enlace_conn_t *conn)
{
    return conn && conn->agency_id[0] ? conn->agency_id : NULL;
}

enlace_role_t enlace_role(const enlace_conn_t *conn)
{
    return conn ? conn->role : ENLACE_ROLE_UNSPECIFIED;
}

const char *enlace_log_origin(const enlace_conn_t *conn)
{
    return conn ? conn->log_origin : NULL;
}

enlace_err_t enlace_ping(enlace_conn_t *conn, int timeout_ms)
{
    if (conn == NULL)
        return ENLACE_ERR_INVALID;
    conn_clear_error(conn);
    int64_t deadline = conn_deadline(conn, timeout_ms);
    Enlace__Ping ping = ENLACE__PING__INIT;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    ping.nonce = conn_next_corr(conn);
    f.kind_case = ENLACE__FRAME__KIND_PING;
    f.ping = &ping;
    enlace_err_t rc = conn_send(conn, &f, deadline);
    Enlace__Frame *reply = NULL;
    if (rc == ENLACE_OK)
        rc = conn_wait_reply(conn, ping.nonce, ENLACE__FRAME__KIND_PONG, deadline, &reply);
    codec_free((ProtobufCMessage **)&reply);
    return rc;
}

/* ---- subscriptions table -------------------------------------------------------------- */

conn_sub_t *conn_sub_by_local(enlace_conn_t *conn, uint32_t local_id)
{
    for (size_t i = 0; i < conn->n_subs; i++)
        if (conn->subs[i].local_id == local_id)
            return &conn->subs[i];
    return NULL;
}

conn_sub_t *conn_sub_by_remote(enlace_conn_t *conn, uint32_t remote_id)
{
    for (size_t i = 0; i < conn->n_subs; i++)
        if (conn->subs[i].generation == conn->generation && conn->subs[i].remote_id == remote_id)
            return &conn->subs[i];
    return NULL;
}
