/* session — TLS I/O, handshake, identity and frame handlers (see session.h). */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "agency_count.h"
#include "blog.h"
#include "certdir.h"
#include "cert.h"
#include "crypto.h"
#include "envelope.h"
#include "publication.h"
#include "records.h"
#include "sigfast.h"
#include "topic.h"
#include "wire.h"

#define READ_CHUNK 16384
/* At most this many TLS reads per session per loop pass: one busy publisher
 * must not hold the thread (verifying ~1000 signatures) while other sessions'
 * acknowledgements and deliveries wait. */
#define READ_CHUNKS_PER_PASS 4

uint64_t io_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void send_to_sequencer(io_thread_impl_t *io, bus_msg_t *m)
{
    if (bus_send(io->to_seq, &m) != ENLACE_OK) {
        blog(BLOG_ERROR, "bus.send_failed", "to", "sequencer", NULL);
        bus_msg_free(&m);
    }
}

void io_flush_held(io_thread_impl_t *io)
{
    for (size_t i = 0; i < io->n_held; i++)
        send_to_sequencer(io, io->held[i]);
    io->n_held = 0;
    io->held_since = 0;
}

void io_to_sequencer(io_thread_impl_t *io, bus_msg_t *m)
{
    if (!m)
        return;
    m->io = io->index;
    /* Delivered records wait here for the next message that must go now (or
     * IO_HOLD_MS): the sequencer is not woken once per DeliverAck. Whatever goes
     * now takes them along first, so the sequencer sees this thread's messages
     * in order (a release after the deliveries it follows, say). */
    if (m->type == BUS_DELIVERED && io->n_held < IO_HOLD_MAX) {
        if (io->n_held == 0)
            io->held_since = io_now_ms();
        io->held[io->n_held++] = m;
        return;
    }
    io_flush_held(io);
    send_to_sequencer(io, m);
}

static void audit_denied(io_thread_impl_t *io, session_t *s, const char *op, Enlace__ErrorCode code,
                         const char *reason, const char *topic, const uint8_t *msgid)
{
    /* the session's certificate, else the one the verify callback saw, else none */
    const uint8_t *cert = s->cert                 ? s->cert_sha256
                          : s->tls_info.have_leaf ? s->tls_info.leaf_sha256
                                                  : NULL;
    io_to_sequencer(io, rec_denied(s->agency[0] ? s->agency : NULL, cert, op, code, reason, s->peer,
                                   topic, msgid));
    blog(BLOG_INFO, "denied", "agency", s->agency, "peer", s->peer, "op", op, "reason", reason,
         "topic", topic, NULL);
}

/* Every refusal: an audit record, an Error frame, and for violations of the
 * protocol (close = true) a Goodbye and the end of the session. */
static void refuse(io_thread_impl_t *io, session_t *s, const char *op, Enlace__ErrorCode code,
                   uint64_t correlation, const char *why, bool close)
{
    audit_denied(io, s, op, code, why, NULL, NULL);
    session_send_error(io, s, code, correlation, why);
    if (close) {
        if (s->state == SESSION_HELLO)
            s->state = SESSION_READY; /* so that session_close says Goodbye */
        session_close(io, s, why);
    }
}

session_t *session_new(io_thread_impl_t *io, int fd, const char *peer)
{
    session_t *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return NULL;
    }
    s->fd = fd;
    s->id = ((uint64_t)(io->index + 1) << 48) | ++io->next_session;
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    s->snap = snapshot_ref(io->snap);
    s->state = SESSION_HANDSHAKE;
    s->deadline_ms = io_now_ms() + io->shared.cfg->handshake_timeout_ms;
    s->next_sub_id = 1;
    s->ssl = SSL_new(s->snap->tls);
    s->dec = codec_decoder_new(io->shared.cfg->max_frame);
    if (!s->ssl || !s->dec || SSL_set_fd(s->ssl, fd) != 1)
        goto fail;
    tls_server_attach(s->ssl, &s->tls_info);
    SSL_set_accept_state(s->ssl);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    s->events = EPOLLIN;
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        goto fail;
    return s;
fail:
    SSL_free(s->ssl);
    codec_decoder_destroy(&s->dec);
    snapshot_unref(&s->snap);
    close(fd);
    free(s);
    return NULL;
}

static enlace_err_t out_reserve(session_t *s, size_t more)
{
    if (s->out_off > 0 && s->out_off == s->out_len)
        s->out_off = s->out_len = 0;
    if (s->out_len + more <= s->out_cap)
        return ENLACE_OK;
    if (s->out_off > 0) { /* compact before growing */
        memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
        s->out_len -= s->out_off;
        s->out_off = 0;
        if (s->out_len + more <= s->out_cap)
            return ENLACE_OK;
    }
    size_t ncap = s->out_cap ? s->out_cap : 16384;
    while (ncap < s->out_len + more)
        ncap *= 2;
    uint8_t *n = realloc(s->out, ncap);
    if (!n)
        return ENLACE_ERR_NOMEM;
    s->out = n;
    s->out_cap = ncap;
    return ENLACE_OK;
}

uint8_t *session_out_claim(session_t *s, size_t n)
{
    if (out_reserve(s, n) != ENLACE_OK)
        return NULL;
    uint8_t *p = s->out + s->out_len;
    s->out_len += n;
    return p;
}

enlace_err_t session_send(io_thread_impl_t *io, session_t *s, const Enlace__Frame *f)
{
    size_t body = enlace__frame__get_packed_size(f);
    if (out_reserve(s, body + 4) != ENLACE_OK)
        return ENLACE_ERR_NOMEM;
    uint8_t *p = s->out + s->out_len;
    wire_put_be32(p, (uint32_t)body);
    enlace__frame__pack(f, p + 4);
    s->out_len += body + 4;
    (void)io;
    return ENLACE_OK;
}

void session_send_error(io_thread_impl_t *io, session_t *s, Enlace__ErrorCode code,
                        uint64_t correlation, const char *text)
{
    Enlace__Error e = ENLACE__ERROR__INIT;
    e.code = code;
    e.text = (char *)text;
    if (correlation) {
        e.has_correlation_id = true;
        e.correlation_id = correlation;
    }
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_ERROR;
    f.error = &e;
    session_send(io, s, &f);
}

void session_update_events(io_thread_impl_t *io, session_t *s)
{
    bool pending_out = s->out_len > s->out_off;
    struct epoll_event ev = {.data.ptr = s};
    if ((!s->reading_paused && s->state != SESSION_CLOSING) || s->lingering)
        ev.events |= EPOLLIN;
    if (pending_out || s->want_write)
        ev.events |= EPOLLOUT;
    if (ev.events == s->events)
        return; /* unchanged: spare the system call */
    s->events = ev.events;
    epoll_ctl(io->epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

void session_close(io_thread_impl_t *io, session_t *s, const char *reason)
{
    if (s->state == SESSION_CLOSING)
        return;
    if (s->state == SESSION_READY) {
        Enlace__Goodbye g = ENLACE__GOODBYE__INIT;
        g.reason = (char *)reason;
        Enlace__Frame f = ENLACE__FRAME__INIT;
        f.kind_case = ENLACE__FRAME__KIND_GOODBYE;
        f.goodbye = &g;
        session_send(io, s, &f);
    }
    snprintf(s->close_reason, sizeof s->close_reason, "%s", reason);
    s->state = SESSION_CLOSING;
    s->deadline_ms = io_now_ms() + 2000; /* at most 2 s to flush the goodbye */
    session_flush(io, s);
}

static void release_sub(io_thread_impl_t *io, session_t *s, subscription_t *sub);

void session_free(io_thread_impl_t *io, session_t **sp)
{
    session_t *s = *sp;
    if (!s)
        return;
    if (s->opened) {
        for (int i = 0; i < SESSION_MAX_SUBS; i++)
            if (s->subs[i].used)
                release_sub(io, s, &s->subs[i]); /* the durable name is free again */
        io_to_sequencer(io, rec_session_closed(s->id, s->agency,
                                               s->close_reason[0] ? s->close_reason : "closed"));
        blog(BLOG_INFO, "session.closed", "agency", s->agency, "peer", s->peer, "reason",
             s->close_reason, NULL);
    }
    if (s->counted)
        agency_count_release(s->agency);
    for (int i = 0; i < SESSION_MAX_SUBS; i++) { /* subscriptions of a never-opened session */
        delivery_sub_removed(io, &s->subs[i]);
        free(s->subs[i].inflight);
    }
    epoll_ctl(io->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    if (s->ssl && s->state != SESSION_HANDSHAKE && !s->lingering)
        SSL_shutdown(s->ssl); /* best effort close_notify; non-blocking */
    SSL_free(s->ssl);
    close(s->fd);
    X509_free(s->cert);
    sk_X509_pop_free(s->chain, X509_free);
    free(s->cert_der);
    sigfast_key_destroy(&s->verifier);
    free(s->out);
    codec_decoder_destroy(&s->dec);
    snapshot_unref(&s->snap);
    __atomic_sub_fetch(io->shared.live_sessions, 1, __ATOMIC_ACQ_REL);
    free(s);
    *sp = NULL;
}

/* Identity after a completed handshake: ALPN, certificate -> agency -> policy. */
static void on_handshake_done(io_thread_impl_t *io, session_t *s)
{
    const unsigned char *alpn = NULL;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(s->ssl, &alpn, &alpn_len);
    s->state = SESSION_HELLO; /* the handshake deadline also covers Hello */
    s->cert = SSL_get1_peer_certificate(s->ssl);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(s->ssl);
    if (chain)
        s->chain = X509_chain_up_ref(chain);
    char why[256];
    if (alpn_len != strlen(ENLACE_ALPN) || memcmp(alpn, ENLACE_ALPN, alpn_len) != 0) {
        snprintf(why, sizeof why, "client did not negotiate ALPN %s", ENLACE_ALPN);
        refuse(io, s, "connect", ENLACE__ERROR_CODE__ERROR_PROTOCOL, 0, why, true);
        return;
    }
    struct tm tm;
    if (s->cert && ASN1_TIME_to_tm(X509_get0_notAfter(s->cert), &tm) == 1)
        s->cert_not_after = timegm(&tm);
    if (!s->cert || cert_sha256(s->cert, s->cert_sha256) != ENLACE_OK ||
        cert_to_der(s->cert, &s->cert_der, &s->cert_der_len) != ENLACE_OK) {
        session_close(io, s, "no usable client certificate");
        return;
    }
    /* OpenSSL's sslclient purpose also passes a certificate without any EKU;
     * Enlace requires clientAuth to be stated explicitly. */
    if (!(X509_get_extension_flags(s->cert) & EXFLAG_XKUSAGE) ||
        !(X509_get_extended_key_usage(s->cert) & XKU_SSL_CLIENT)) {
        snprintf(why, sizeof why, "client certificate lacks extended key usage clientAuth");
        refuse(io, s, "connect", ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, 0, why, true);
        return;
    }
    if (cert_agency_id(s->cert, s->agency, sizeof s->agency) != ENLACE_OK) {
        s->agency[0] = 0;
        snprintf(why, sizeof why, "certificate carries no valid agency id");
    } else if (!policy_has_agency(s->snap->policy, s->agency)) {
        snprintf(why, sizeof why, "agency %s is not in the policy", s->agency);
    } else {
        s->role = policy_role(s->snap->policy, s->agency) == POLICY_ROLE_AUDITOR
                      ? ENLACE__ROLE__ROLE_AUDITOR
                      : ENLACE__ROLE__ROLE_AGENCY;
        unsigned max = policy_max_sessions(s->snap->policy, s->agency);
        if (!max)
            max = io->shared.cfg->max_sessions_per_agency;
        if (agency_count_acquire(s->agency, max)) {
            s->counted = true;
            return;
        }
        snprintf(why, sizeof why, "agency %s already has its maximum of %u sessions", s->agency,
                 max);
        refuse(io, s, "connect", ENLACE__ERROR_CODE__ERROR_TOO_MANY_SESSIONS, 0, why, true);
        return;
    }
    refuse(io, s, "connect", ENLACE__ERROR_CODE__ERROR_UNKNOWN_AGENCY, 0, why, true);
}

static void do_handshake(io_thread_impl_t *io, session_t *s)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(s->ssl);
    if (rc == 1) {
        on_handshake_done(io, s);
        return;
    }
    int err = SSL_get_error(s->ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        s->want_write = err == SSL_ERROR_WANT_WRITE;
        session_update_events(io, s);
        return;
    }
    char why[256];
    tls_server_failure_reason(s->ssl, &s->tls_info, why, sizeof why);
    audit_denied(io, s, "connect", ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, why, NULL, NULL);
    snprintf(s->close_reason, sizeof s->close_reason, "%s", why);
    s->state = SESSION_CLOSING;
    /* Lingering close: the client has usually sent more (its Hello) that we will
     * never read; close() with unread input sends a reset that can destroy the
     * alert before the client reads it. Send FIN and drain for up to 1 s. */
    shutdown(s->fd, SHUT_WR);
    s->lingering = true;
    s->deadline_ms = io_now_ms() + 1000;
    session_update_events(io, s);
}

/* Discards input of a lingering session; done at EOF or error. */
static void linger_drain(session_t *s)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            s->deadline_ms = 0;
        return;
    }
}

void session_flush(io_thread_impl_t *io, session_t *s)
{
    s->want_write = false;
    while (s->out_len > s->out_off) {
        ERR_clear_error();
        int n = SSL_write(s->ssl, s->out + s->out_off, (int)(s->out_len - s->out_off));
        if (n > 0) {
            s->out_off += (size_t)n;
            continue;
        }
        int err = SSL_get_error(s->ssl, n);
        if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
            s->want_write = err == SSL_ERROR_WANT_WRITE;
            break;
        }
        /* peer gone: drop the output, the session ends */
        s->out_off = s->out_len;
        if (s->state != SESSION_CLOSING) {
            snprintf(s->close_reason, sizeof s->close_reason, "connection lost while writing");
            s->state = SESSION_CLOSING;
        }
        s->deadline_ms = 0;
        break;
    }
    if (s->out_off == s->out_len)
        s->out_off = s->out_len = 0; /* a large buffer is kept until session_trim */
    if (s->state == SESSION_CLOSING && s->out_len == 0)
        s->deadline_ms = 0; /* flushed: io thread frees it */
    else
        session_update_events(io, s);
}

/* ---------------------------------------------------------------- frames */

/* Publishes per second allowed to this session: the agency's policy, else the broker's default. */
static unsigned session_publish_rate(io_thread_impl_t *io, const session_t *s)
{
    unsigned rate = policy_publish_rate(s->snap->policy, s->agency);
    return rate ? rate : io->shared.cfg->publish_rate;
}

static void on_hello(io_thread_impl_t *io, session_t *s, const Enlace__Hello *h)
{
    if (h->version != 1) {
        refuse(io, s, "hello", ENLACE__ERROR_CODE__ERROR_UNSUPPORTED_VERSION, 0,
               "unsupported protocol version: this broker speaks version 1", true);
        return;
    }
    Enlace__Welcome w = ENLACE__WELCOME__INIT;
    w.version = 1;
    w.agency_id = s->agency;
    w.role = s->role;
    w.max_frame = (uint32_t)io->shared.cfg->max_frame;
    w.log_origin = io->shared.cfg->origin;
    w.checkpoint_key = (ProtobufCBinaryData){32, (uint8_t *)io->shared.checkpoint_pub};
    w.has_log_size = true;
    w.log_size = log_size(io->shared.log);
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_WELCOME;
    f.welcome = &w;
    session_send(io, s, &f);
    s->state = SESSION_READY;
    s->opened = true;
    s->deadline_ms = io_now_ms() + io->shared.cfg->idle_timeout_ms;
    io_to_sequencer(io, rec_session_opened(s->id, s->agency, s->cert_sha256, s->peer, s->cert_der,
                                           s->cert_der_len));
    blog(BLOG_INFO, "session.opened", "agency", s->agency, "peer", s->peer, NULL);
}

static bool is_recipient(const Enlace__Header *h, const char *agency)
{
    for (size_t i = 0; i < h->n_recipients; i++)
        if (strcmp(h->recipients[i], agency) == 0)
            return true;
    return false;
}

/* Checks of DESIGN.md section 5, in order; returns 0 when accepted. */
static Enlace__ErrorCode check_publish(io_thread_impl_t *io, session_t *s,
                                       const Enlace__Envelope *env, Enlace__Header **hdr, char *why,
                                       size_t why_len)
{
    const policy_t *pol = s->snap->policy;
    enlace_err_t rc;
    if (io->shared.cfg->verify_signatures) {
        /* Prepared once per publishing session (not for sessions that only read). */
        if (!s->verifier)
            s->verifier = sigfast_key_new(s->cert_der, s->cert_der_len);
        rc = s->verifier ? sigfast_verify(s->verifier, env, hdr, why, why_len)
                         : envelope_verify(env, s->cert, hdr, why, why_len);
    } else {
        /* same checks but the signature: recipients and auditors still verify it */
        rc = codec_decode_header(env->header.data, env->header.len, hdr, why, why_len);
        uint8_t d[32];
        if (rc == ENLACE_OK && ((*hdr)->signer_cert_sha256.len != 32 ||
                                !ct_equal((*hdr)->signer_cert_sha256.data, s->cert_sha256, 32))) {
            rc = ENLACE_ERR_BAD_CERT;
            snprintf(why, why_len, "signer certificate is not this session's certificate");
        }
        if (rc == ENLACE_OK) {
            sha256(env->payload.data, env->payload.len, d);
            if ((*hdr)->payload_sha256.len != 32 || !ct_equal((*hdr)->payload_sha256.data, d, 32)) {
                rc = ENLACE_ERR_HASH_MISMATCH;
                snprintf(why, why_len, "payload_sha256 does not match the payload");
            }
        }
    }
    switch (rc) {
    case ENLACE_OK: break;
    case ENLACE_ERR_BAD_CERT: return ENLACE__ERROR_CODE__ERROR_SENDER_MISMATCH;
    case ENLACE_ERR_BAD_SIGNATURE: return ENLACE__ERROR_CODE__ERROR_BAD_SIGNATURE;
    case ENLACE_ERR_HASH_MISMATCH: return ENLACE__ERROR_CODE__ERROR_PAYLOAD_HASH;
    default: return ENLACE__ERROR_CODE__ERROR_MALFORMED;
    }
    const Enlace__Header *h = *hdr;
    if (strcmp(h->sender, s->agency) != 0) {
        snprintf(why, why_len, "header sender %s is not this session's agency %s", h->sender,
                 s->agency);
        return ENLACE__ERROR_CODE__ERROR_SENDER_MISMATCH;
    }
    if (!policy_may_publish(pol, s->agency, h->topic)) {
        snprintf(why, why_len, "agency %s may not publish to %s", s->agency, h->topic);
        return ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED;
    }
    if (h->tlp == ENLACE__TLP__TLP_UNLABELLED) {
        snprintf(why, why_len, "message has no TLP label");
        return ENLACE__ERROR_CODE__ERROR_TLP_VIOLATION;
    }
    if ((h->tlp == ENLACE__TLP__TLP_RED || h->tlp == ENLACE__TLP__TLP_AMBER_STRICT) &&
        h->n_recipients == 0) {
        snprintf(why, why_len, "%s requires explicit recipients",
                 h->tlp == ENLACE__TLP__TLP_RED ? "TLP:RED" : "TLP:AMBER+STRICT");
        return ENLACE__ERROR_CODE__ERROR_TLP_VIOLATION;
    }
    for (size_t i = 0; i < h->n_recipients; i++) {
        if (!policy_has_agency(pol, h->recipients[i]) ||
            !policy_may_read(pol, h->recipients[i], h->topic)) {
            snprintf(why, why_len, "recipient %s is unknown or may not read %s", h->recipients[i],
                     h->topic);
            return ENLACE__ERROR_CODE__ERROR_BAD_RECIPIENT;
        }
    }
    if (h->has_expires_at_ms && h->expires_at_ms != 0 && h->expires_at_ms <= wall_ms()) {
        snprintf(why, why_len, "message expired before it was published");
        return ENLACE__ERROR_CODE__ERROR_EXPIRED;
    }
    unsigned rate = session_publish_rate(io, s);
    if (!agency_rate_take(s->agency, rate, io_now_ms())) {
        snprintf(why, why_len, "publish rate limit of %u/s exceeded", rate);
        return ENLACE__ERROR_CODE__ERROR_RATE_LIMITED;
    }
    return 0;
}

static void on_publish(io_thread_impl_t *io, session_t *s, Enlace__Publish *p)
{
    Enlace__Header *h = NULL;
    char why[256] = "";
    Enlace__ErrorCode code = check_publish(io, s, p->envelope, &h, why, sizeof why);
    if (code) {
        audit_denied(io, s, "publish", code, why, h ? h->topic : NULL,
                     h && h->message_id.len == 16 ? h->message_id.data : NULL);
        session_send_error(io, s, code, p->correlation_id, why);
        if (code == ENLACE__ERROR_CODE__ERROR_MALFORMED)
            session_close(io, s, "malformed envelope");
        codec_free((ProtobufCMessage **)&h);
        return;
    }
    bus_msg_t *m = bus_msg_new(BUS_PUBLISH);
    if (m && (m->pub = pub_new(s->id, h, p->envelope, s->cert_der, s->cert_der_len,
                               s->cert_sha256)) != NULL) {
        m->session_id = s->id;
        m->correlation_id = p->correlation_id;
        snprintf(m->agency, sizeof m->agency, "%s", s->agency);
        memcpy(m->message_id, h->message_id.data, 16);
        s->pending++;
        io_to_sequencer(io, m);
    } else {
        bus_msg_free(&m);
        session_send_error(io, s, ENLACE__ERROR_CODE__ERROR_INTERNAL, p->correlation_id,
                           "out of memory");
    }
    codec_free((ProtobufCMessage **)&h);
}

static subscription_t *find_sub(session_t *s, uint32_t id)
{
    for (int i = 0; i < SESSION_MAX_SUBS; i++)
        if (s->subs[i].used && s->subs[i].id == id)
            return &s->subs[i];
    return NULL;
}

static void on_subscribe(io_thread_impl_t *io, session_t *s, const Enlace__Subscribe *sub)
{
    char why[320];
    if (!policy_may_subscribe(s->snap->policy, s->agency, sub->filter)) {
        snprintf(why, sizeof why, "agency %s may not subscribe to %s", s->agency, sub->filter);
        audit_denied(io, s, "subscribe", ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, why, sub->filter,
                     NULL);
        session_send_error(io, s, ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, sub->correlation_id,
                           why);
        return;
    }
    subscription_t *slot = NULL;
    for (int i = 0; i < SESSION_MAX_SUBS; i++) {
        if (s->subs[i].used && strcmp(s->subs[i].name, sub->name) == 0) {
            refuse(io, s, "subscribe", ENLACE__ERROR_CODE__ERROR_PROTOCOL, sub->correlation_id,
                   "this session already uses that subscription name", false);
            return;
        }
        if (!s->subs[i].used && !slot)
            slot = &s->subs[i];
    }
    if (!slot) {
        refuse(io, s, "subscribe", ENLACE__ERROR_CODE__ERROR_RATE_LIMITED, sub->correlation_id,
               "too many subscriptions in this session", false);
        return;
    }
    bus_msg_t *m = bus_msg_new(BUS_SUBSCRIBE);
    if (!m)
        return;
    memset(slot, 0, sizeof *slot);
    slot->used = true;
    slot->id = s->next_sub_id++;
    slot->correlation = sub->correlation_id;
    snprintf(slot->name, sizeof slot->name, "%s", sub->name);
    snprintf(slot->filter, sizeof slot->filter, "%s", sub->filter);
    m->session_id = s->id;
    m->correlation_id = sub->correlation_id;
    snprintf(m->agency, sizeof m->agency, "%s", s->agency);
    snprintf(m->name, sizeof m->name, "%s", sub->name);
    snprintf(m->filter, sizeof m->filter, "%s", sub->filter);
    m->start = sub->start;
    m->from = sub->start == ENLACE__START_MODE__START_FROM_TIME ? sub->from_time_ms : sub->from_seq;
    io_to_sequencer(io, m);
}

static void release_sub(io_thread_impl_t *io, session_t *s, subscription_t *sub)
{
    delivery_sub_removed(io, sub);
    bus_msg_t *m = bus_msg_new(BUS_RELEASE);
    if (m) {
        m->session_id = s->id;
        snprintf(m->agency, sizeof m->agency, "%s", s->agency);
        snprintf(m->name, sizeof m->name, "%s", sub->name);
        io_to_sequencer(io, m);
    }
    free(sub->inflight);
    memset(sub, 0, sizeof *sub);
}

static void on_unsubscribe(io_thread_impl_t *io, session_t *s, const Enlace__Unsubscribe *u)
{
    subscription_t *sub = find_sub(s, u->subscription_id);
    if (!sub) {
        session_send_error(io, s, ENLACE__ERROR_CODE__ERROR_NOT_FOUND, u->correlation_id,
                           "no such subscription");
        return;
    }
    release_sub(io, s, sub);
}

/* An agency's certificate for the directory: the policy's file when it names one (the
 * administrator's choice), else the latest `agency` (when not NULL) connected with
 * (certdir.h). */
static void directory_cert(io_thread_impl_t *io, const char *path, const char *agency,
                           ProtobufCBinaryData *out, protobuf_c_boolean *has)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (path) {
        X509 *c = cert_load_pem(path);
        if (!c || cert_to_der(c, &der, &len) != ENLACE_OK)
            der = NULL;
        X509_free(c);
    } else if (agency) {
        const uint8_t *seen = certdir_get(io->certs, agency, &len);
        if (seen && (der = malloc(len)) != NULL)
            memcpy(der, seen, len);
    }
    if (der) {
        out->data = der;
        out->len = len;
        *has = true;
    }
}

static void on_directory(io_thread_impl_t *io, session_t *s, const Enlace__DirectoryRequest *d)
{
    const policy_t *pol = s->snap->policy;
    size_t n = policy_count(pol);
    Enlace__DirectoryEntry *entries = calloc(n ? n : 1, sizeof *entries);
    Enlace__DirectoryEntry **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    size_t k = 0;
    for (size_t i = 0; entries && ptrs && i < n; i++) {
        const char *id = policy_agency_at(pol, i);
        if (d->topic && !policy_may_read(pol, id, d->topic))
            continue;
        Enlace__DirectoryEntry *e = &entries[k];
        enlace__directory_entry__init(e);
        e->agency_id = (char *)id;
        e->role = policy_role(pol, id) == POLICY_ROLE_AUDITOR ? ENLACE__ROLE__ROLE_AUDITOR
                                                              : ENLACE__ROLE__ROLE_AGENCY;
        /* Auditors receive no messages: nobody encrypts to them, no latest seen. */
        directory_cert(io, policy_certificate_path(pol, id),
                       e->role == ENLACE__ROLE__ROLE_AGENCY ? id : NULL, &e->certificate,
                       &e->has_certificate);
        ptrs[k++] = e;
    }
    Enlace__Directory dir = ENLACE__DIRECTORY__INIT;
    dir.correlation_id = d->correlation_id;
    dir.n_entries = k;
    dir.entries = ptrs;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_DIRECTORY;
    f.directory = &dir;
    session_send(io, s, &f);
    for (size_t i = 0; i < k; i++)
        free(entries[i].certificate.data);
    free(entries);
    free(ptrs);
}

static void on_receipt_request(io_thread_impl_t *io, session_t *s, const Enlace__ReceiptRequest *r)
{
    bus_msg_t *m = bus_msg_new(BUS_RECEIPT);
    if (!m)
        return;
    m->session_id = s->id;
    m->correlation_id = r->correlation_id;
    snprintf(m->agency, sizeof m->agency, "%s", s->agency);
    memcpy(m->message_id, r->message_id.data, 16);
    io_to_sequencer(io, m);
}

static void on_audit_fetch(io_thread_impl_t *io, session_t *s, const Enlace__AuditFetch *a)
{
    if (s->role != ENLACE__ROLE__ROLE_AUDITOR) {
        refuse(io, s, "audit-fetch", ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, a->correlation_id,
               "only the auditor role may fetch the log", false);
        return;
    }
    uint64_t size = log_size(io->shared.log);
    uint64_t max =
        a->has_max_records && a->max_records && a->max_records < 1000 ? a->max_records : 1000;
    size_t budget = io->shared.cfg->max_frame > 65536 ? io->shared.cfg->max_frame - 65536 : 0;
    ProtobufCBinaryData *recs = calloc((size_t)max, sizeof *recs);
    size_t n = 0, bytes = 0;
    for (uint64_t seq = a->from_seq; recs && seq < size && n < max; seq++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (log_read(io->shared.log, seq, &data, &len) != ENLACE_OK)
            break;
        if (n > 0 && bytes + len + 16 > budget) {
            free(data);
            break;
        }
        recs[n].data = data;
        recs[n].len = len;
        bytes += len + 16;
        n++;
    }
    Enlace__AuditRecords ar = ENLACE__AUDIT_RECORDS__INIT;
    ar.correlation_id = a->correlation_id;
    ar.n_records = n;
    ar.records = recs;
    ar.log_size = size;
    char *note = NULL;
    if (log_latest_checkpoint(io->shared.log, &note) == ENLACE_OK)
        ar.checkpoint = note;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_AUDIT_RECORDS;
    f.audit_records = &ar;
    session_send(io, s, &f);
    for (size_t i = 0; i < n; i++)
        free(recs[i].data);
    free(recs);
    free(note);
}

static void on_frame(io_thread_impl_t *io, session_t *s, Enlace__Frame *f)
{
    if (s->state == SESSION_HELLO) {
        if (f->kind_case != ENLACE__FRAME__KIND_HELLO) {
            refuse(io, s, "hello", ENLACE__ERROR_CODE__ERROR_PROTOCOL, 0,
                   "the first frame must be Hello", true);
            return;
        }
        on_hello(io, s, f->hello);
        return;
    }
    s->deadline_ms = io_now_ms() + io->shared.cfg->idle_timeout_ms;
    switch (f->kind_case) {
    case ENLACE__FRAME__KIND_PUBLISH: on_publish(io, s, f->publish); break;
    case ENLACE__FRAME__KIND_SUBSCRIBE: on_subscribe(io, s, f->subscribe); break;
    case ENLACE__FRAME__KIND_UNSUBSCRIBE: on_unsubscribe(io, s, f->unsubscribe); break;
    case ENLACE__FRAME__KIND_DELIVER_ACK: delivery_ack(io, s, f->deliver_ack); break;
    case ENLACE__FRAME__KIND_DIRECTORY_REQUEST: on_directory(io, s, f->directory_request); break;
    case ENLACE__FRAME__KIND_RECEIPT_REQUEST: on_receipt_request(io, s, f->receipt_request); break;
    case ENLACE__FRAME__KIND_AUDIT_FETCH: on_audit_fetch(io, s, f->audit_fetch); break;
    case ENLACE__FRAME__KIND_PING: {
        Enlace__Pong p = ENLACE__PONG__INIT;
        p.nonce = f->ping->nonce;
        Enlace__Frame r = ENLACE__FRAME__INIT;
        r.kind_case = ENLACE__FRAME__KIND_PONG;
        r.pong = &p;
        session_send(io, s, &r);
        break;
    }
    case ENLACE__FRAME__KIND_PONG: break;
    case ENLACE__FRAME__KIND_GOODBYE: session_close(io, s, "client said goodbye"); break;
    default:
        refuse(io, s, "frame", ENLACE__ERROR_CODE__ERROR_PROTOCOL, 0,
               "frame kind not accepted from a client", true);
        break;
    }
}

/* Limits that pause reading: too many publishes in flight, or output not drained. */
static bool reading_allowed(io_thread_impl_t *io, const session_t *s)
{
    return s->pending < SESSION_MAX_PENDING &&
           s->out_len - s->out_off <= io->shared.cfg->session_buffer;
}

/* Reads and dispatches frames until the socket would block or backpressure applies. */
static void read_frames(io_thread_impl_t *io, session_t *s)
{
    uint8_t buf[READ_CHUNK];
    s->reading_paused = false; /* set again below while limits still apply */
    s->more_input = false;
    for (int chunks = 0; s->state == SESSION_HELLO || s->state == SESSION_READY; chunks++) {
        if (!reading_allowed(io, s)) {
            s->reading_paused = true; /* TCP backpressure until acks/output drain */
            break;
        }
        if (chunks == READ_CHUNKS_PER_PASS) {
            s->more_input = true; /* the io loop comes back after serving the others */
            break;
        }
        ERR_clear_error();
        int n = SSL_read(s->ssl, buf, sizeof buf);
        if (n <= 0) {
            int err = SSL_get_error(s->ssl, n);
            if (err == SSL_ERROR_WANT_READ)
                break;
            if (err == SSL_ERROR_WANT_WRITE) {
                s->want_write = true;
                break;
            }
            session_close(io, s,
                          err == SSL_ERROR_ZERO_RETURN ? "client closed the connection"
                                                       : "connection lost");
            s->out_off = s->out_len = 0; /* nobody to say goodbye to */
            s->deadline_ms = 0;
            break;
        }
        size_t off = 0;
        while (off < (size_t)n && (s->state == SESSION_HELLO || s->state == SESSION_READY)) {
            size_t used = 0;
            Enlace__Frame *f = NULL;
            char why[256] = "";
            enlace_err_t rc =
                codec_decoder_next(s->dec, buf + off, (size_t)n - off, &used, &f, why, sizeof why);
            off += used;
            if (rc == ENLACE_ERR_AGAIN)
                break;
            if (rc != ENLACE_OK) {
                Enlace__ErrorCode code = rc == ENLACE_ERR_TOO_LARGE
                                             ? ENLACE__ERROR_CODE__ERROR_FRAME_TOO_LARGE
                                             : ENLACE__ERROR_CODE__ERROR_MALFORMED;
                refuse(io, s, "frame", code, 0, why, true);
                break;
            }
            on_frame(io, s, f);
            codec_free((ProtobufCMessage **)&f);
        }
        /* epoll is level-triggered: it reports what is still in the socket. Only what
         * OpenSSL has buffered must be read now, which saves the read() per wake-up
         * that would only return EAGAIN. */
        if (!SSL_has_pending(s->ssl))
            break;
    }
}

void session_service(io_thread_impl_t *io, session_t *s)
{
    if (s->out_len > s->out_off)
        session_flush(io, s);
    /* Reading paused for backpressure resumes here: OpenSSL may hold buffered
     * records that no EPOLLIN would announce, so read explicitly. */
    if (s->reading_paused && reading_allowed(io, s))
        read_frames(io, s);
    if (s->state == SESSION_READY)
        delivery_pump(io, s);
    session_flush(io, s);
}

void session_on_io(io_thread_impl_t *io, session_t *s, bool readable, bool writable)
{
    if (s->lingering) {
        linger_drain(s);
        return;
    }
    if (s->state == SESSION_HANDSHAKE) {
        do_handshake(io, s);
        if (s->state != SESSION_HELLO)
            return; /* still handshaking, or refused */
    }
    if (s->out_len > s->out_off)
        session_flush(io, s);
    if (s->state != SESSION_CLOSING && (readable || !s->reading_paused))
        read_frames(io, s);
    session_service(io, s);
    (void)writable;
}

void session_on_reply(io_thread_impl_t *io, session_t *s, bus_msg_t *m)
{
    Enlace__Frame f = ENLACE__FRAME__INIT;
    switch (m->type) {
    case BUS_PUBLISH_ACK: {
        if (s->pending)
            s->pending--;
        Enlace__PublishAck a = ENLACE__PUBLISH_ACK__INIT;
        a.correlation_id = m->correlation_id;
        a.seq = m->seq;
        a.leaf_hash = (ProtobufCBinaryData){32, m->leaf};
        a.has_duplicate = m->duplicate;
        a.duplicate = m->duplicate;
        f.kind_case = ENLACE__FRAME__KIND_PUBLISH_ACK;
        f.publish_ack = &a;
        session_send(io, s, &f);
        break;
    }
    case BUS_SUBSCRIBED: {
        subscription_t *sub = NULL;
        for (int i = 0; i < SESSION_MAX_SUBS; i++)
            if (s->subs[i].used && !s->subs[i].active &&
                s->subs[i].correlation == m->correlation_id &&
                strcmp(s->subs[i].name, m->name) == 0)
                sub = &s->subs[i];
        if (!sub)
            break;
        sub->inflight = calloc(SUB_WINDOW, sizeof *sub->inflight);
        if (!sub->inflight) {
            release_sub(io, s, sub);
            session_send_error(io, s, ENLACE__ERROR_CODE__ERROR_INTERNAL, m->correlation_id,
                               "out of memory");
            break;
        }
        sub->active = true;
        sub->next = m->seq;
        delivery_sub_added(io, s, sub);
        Enlace__Subscribed sd = ENLACE__SUBSCRIBED__INIT;
        sd.correlation_id = m->correlation_id;
        sd.subscription_id = sub->id;
        sd.next_seq = m->seq;
        f.kind_case = ENLACE__FRAME__KIND_SUBSCRIBED;
        f.subscribed = &sd;
        session_send(io, s, &f);
        delivery_pump(io, s);
        break;
    }
    case BUS_RECEIPT_OK: {
        /* Authorisation: the caller sent the message or may read it. */
        Enlace__Record *r = NULL;
        Enlace__Header *h = NULL;
        char why[128];
        bool ok = codec_decode_record(m->record, m->record_len, &r, why, sizeof why) == ENLACE_OK &&
                  r->kind_case == ENLACE__RECORD__KIND_PUBLISHED &&
                  codec_decode_header(r->published->envelope->header.data,
                                      r->published->envelope->header.len, &h, why,
                                      sizeof why) == ENLACE_OK;
        bool allowed = ok && (strcmp(h->sender, s->agency) == 0 ||
                              (policy_may_read(s->snap->policy, s->agency, h->topic) &&
                               (h->n_recipients == 0 || is_recipient(h, s->agency))));
        if (!allowed) {
            refuse(io, s, "receipt", ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, m->correlation_id,
                   "no receipt: you neither sent nor may read that message", false);
        } else {
            Enlace__Receipt rc = ENLACE__RECEIPT__INIT;
            rc.correlation_id = m->correlation_id;
            rc.seq = m->seq;
            rc.record = (ProtobufCBinaryData){m->record_len, m->record};
            rc.tree_size = m->tree_size;
            ProtobufCBinaryData proof[64];
            for (size_t i = 0; i < m->proof_n && i < 64; i++)
                proof[i] = (ProtobufCBinaryData){32, m->proof[i]};
            rc.n_proof = m->proof_n;
            rc.proof = proof;
            rc.checkpoint = m->checkpoint;
            f.kind_case = ENLACE__FRAME__KIND_RECEIPT;
            f.receipt = &rc;
            session_send(io, s, &f);
        }
        codec_free((ProtobufCMessage **)&h);
        codec_free((ProtobufCMessage **)&r);
        break;
    }
    case BUS_ERROR:
        if (m->request == BUS_PUBLISH && s->pending)
            s->pending--;
        for (int i = 0; m->request == BUS_SUBSCRIBE && i < SESSION_MAX_SUBS; i++)
            if (s->subs[i].used && !s->subs[i].active &&
                s->subs[i].correlation == m->correlation_id)
                memset(&s->subs[i], 0, sizeof s->subs[i]);
        session_send_error(io, s, (Enlace__ErrorCode)m->err_code, m->correlation_id, m->text);
        break;
    default: break;
    }
    io_mark_service(io, s); /* flushed once after the io thread drains its bus */
}

void session_recheck(io_thread_impl_t *io, session_t *s, snapshot_t *snap)
{
    if (s->state != SESSION_READY && s->state != SESSION_HELLO)
        return;
    char why[256] = "";
    X509_STORE *store = SSL_CTX_get_cert_store(snap->tls);
    if (cert_verify(store, s->cert, s->chain, true, why, sizeof why) != ENLACE_OK) {
        char reason[300];
        snprintf(reason, sizeof reason, "certificate no longer valid after reload: %s", why);
        audit_denied(io, s, "reload", ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, reason, NULL, NULL);
        session_close(io, s, reason);
        return;
    }
    if (!policy_has_agency(snap->policy, s->agency)) {
        audit_denied(io, s, "reload", ENLACE__ERROR_CODE__ERROR_UNKNOWN_AGENCY,
                     "agency removed from the policy", NULL, NULL);
        session_close(io, s, "agency removed from the policy");
        return;
    }
    snapshot_unref(&s->snap);
    s->snap = snapshot_ref(snap);
    s->role = policy_role(snap->policy, s->agency) == POLICY_ROLE_AUDITOR
                  ? ENLACE__ROLE__ROLE_AUDITOR
                  : ENLACE__ROLE__ROLE_AGENCY;
    /* Subscriptions that the new policy no longer allows end now. */
    for (int i = 0; i < SESSION_MAX_SUBS; i++) {
        if (s->subs[i].used && !policy_may_subscribe(snap->policy, s->agency, s->subs[i].filter)) {
            session_send_error(io, s, ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, 0,
                               "subscription ended: the new policy no longer allows it");
            release_sub(io, s, &s->subs[i]);
        }
    }
}

void session_trim(session_t *s)
{
    if (s->out_len == 0 && s->out_cap > 65536) { /* the burst is over */
        free(s->out);
        s->out = NULL;
        s->out_cap = 0;
    }
}

void session_check_expiry(io_thread_impl_t *io, session_t *s, time_t now)
{
    if (s->state != SESSION_READY || s->cert_not_after == 0 || now < s->cert_not_after)
        return;
    const char *why = "client certificate expired during the session";
    audit_denied(io, s, "session", ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, why, NULL, NULL);
    session_close(io, s, why);
}
