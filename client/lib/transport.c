/* transport — TLS 1.3 client byte stream over a non-blocking socket (see transport.h). */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

struct transport {
    SSL_CTX *ctx;   /* reference held */
    SSL *ssl;       /* session, NULL before connect */
    int fd;         /* socket, -1 before connect */
    short want;     /* poll events TLS asked for last (POLLIN or POLLOUT) */
    char alert[96]; /* last fatal alert received, "" if none */
};

int64_t transport_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll timeout for an absolute deadline (< 0: infinite). */
static int remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - transport_now_ms();
    if (left <= 0)
        return 0;
    return left > 60000 ? 60000 : (int)left;
}

/* The OpenSSL error queue as one line, then cleared. */
static void ssl_reason(char *out, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, out, len);
    else
        snprintf(out, len, "unknown TLS error");
    ERR_clear_error();
}

/* ---- a socket BIO that never raises SIGPIPE ---------------------------------------
 * OpenSSL's socket BIO writes with write(2): a peer that has gone away kills a process
 * that did not ignore SIGPIPE. A library must not touch the application's signal
 * dispositions, so writes use send(MSG_NOSIGNAL) instead. */

static BIO_METHOD *nosig_method;
static pthread_once_t nosig_once = PTHREAD_ONCE_INIT;

static int nosig_write(BIO *b, const char *buf, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            BIO_set_retry_write(b);
        return -1;
    }
    return (int)n;
}

static int nosig_read(BIO *b, char *buf, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = recv(fd, buf, (size_t)len, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            BIO_set_retry_read(b);
        return -1;
    }
    return (int)n;
}

static long nosig_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1; /* nothing is buffered here */
    default: return 0;
    }
}

static int nosig_create(BIO *b)
{
    BIO_set_data(b, (void *)(intptr_t)-1);
    BIO_set_init(b, 1);
    return 1;
}

static void nosig_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "enlace-socket");
    if (m == NULL)
        return;
    if (BIO_meth_set_write(m, nosig_write) != 1 || BIO_meth_set_read(m, nosig_read) != 1 ||
        BIO_meth_set_ctrl(m, nosig_ctrl) != 1 || BIO_meth_set_create(m, nosig_create) != 1) {
        BIO_meth_free(m);
        return;
    }
    nosig_method = m; /* lives for the process, like OpenSSL's own methods */
}

static BIO *nosig_bio_new(int fd)
{
    pthread_once(&nosig_once, nosig_init);
    if (nosig_method == NULL)
        return NULL;
    BIO *b = BIO_new(nosig_method);
    if (b != NULL)
        BIO_set_data(b, (void *)(intptr_t)fd);
    return b;
}

/* ---- context ------------------------------------------------------------------------ */

static int alert_index = -1;
static pthread_once_t alert_once = PTHREAD_ONCE_INIT;

static void alert_index_init(void)
{
    alert_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Keeps the broker's fatal alert: in TLS 1.3 it is how a rejected client certificate
 * shows (certificate required / revoked / expired / unknown CA). */
static void info_cb(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_READ_ALERT) || alert_index < 0)
        return;
    transport_t *t = SSL_get_ex_data(ssl, alert_index);
    if (t == NULL || (ret >> 8) != SSL3_AL_FATAL)
        return;
    snprintf(t->alert, sizeof t->alert, "%s", SSL_alert_desc_string_long(ret));
}

SSL_CTX *transport_ctx_new(X509_STORE *store, X509 *cert, STACK_OF(X509) * chain, EVP_PKEY *key,
                           char *why, size_t why_len)
{
    static const unsigned char alpn[] = "\x08" TRANSPORT_ALPN;
    char r[256];
    pthread_once(&alert_once, alert_index_init);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        goto fail;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        if (X509_cmp(c, cert) != 0 && SSL_CTX_add1_chain_cert(ctx, c) != 1)
            goto fail;
    }
    SSL_CTX_set1_cert_store(ctx, store);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1) != 0) /* 0 is success here */
        goto fail;
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_info_callback(ctx, info_cb);
    return ctx;
fail:
    ssl_reason(r, sizeof r);
    snprintf(why, why_len, "TLS setup failed: %s", r);
    SSL_CTX_free(ctx);
    return NULL;
}

transport_t *transport_new(SSL_CTX *ctx)
{
    transport_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->fd = -1;
    t->want = POLLIN;
    if (ctx != NULL && SSL_CTX_up_ref(ctx) == 1)
        t->ctx = ctx;
    return t;
}

void transport_destroy(transport_t **tp)
{
    if (tp == NULL || *tp == NULL)
        return;
    transport_t *t = *tp;
    if (t->ssl != NULL) {
        /* One non-blocking attempt at close_notify: a polite goodbye, never a wait. */
        if (SSL_is_init_finished(t->ssl))
            SSL_shutdown(t->ssl);
        ERR_clear_error();
        SSL_free(t->ssl);
    }
    if (t->fd >= 0)
        close(t->fd);
    SSL_CTX_free(t->ctx);
    free(t);
    *tp = NULL;
}

int transport_fd(const transport_t *t)
{
    return t ? t->fd : -1;
}

const char *transport_peer_alert(const transport_t *t)
{
    return t && t->alert[0] ? t->alert : NULL;
}

static enlace_err_t wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int to = remaining_ms(deadline);
        int n = poll(&p, 1, to);
        if (n > 0)
            return ENLACE_OK;
        if (n == 0) {
            if (deadline >= 0 && transport_now_ms() >= deadline)
                return ENLACE_ERR_TIMEOUT;
            continue; /* a capped slice of a long wait */
        }
        if (errno != EINTR)
            return ENLACE_ERR_IO;
        if (deadline >= 0 && transport_now_ms() >= deadline)
            return ENLACE_ERR_TIMEOUT;
    }
}

enlace_err_t transport_wait(transport_t *t, bool want_write, int64_t deadline)
{
    if (t == NULL || t->fd < 0)
        return ENLACE_ERR_IO;
    short ev = (short)(POLLIN | t->want | (want_write ? POLLOUT : 0));
    return wait_fd(t->fd, ev, deadline);
}

/* TCP connect to the first address of host:port that answers before the deadline. */
static enlace_err_t tcp_connect(const char *host, uint16_t port, int64_t deadline, int *out,
                                char *why, size_t why_len)
{
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        snprintf(why, why_len, "cannot resolve %s: %s", host, gai_strerror(gai));
        return ENLACE_ERR_IO;
    }
    enlace_err_t rc = ENLACE_ERR_IO;
    int err = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            err = errno;
            close(fd);
            continue;
        }
        rc = wait_fd(fd, POLLOUT, deadline);
        socklen_t sl = sizeof err;
        if (rc == ENLACE_OK && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 || err))
            rc = ENLACE_ERR_IO;
        if (rc != ENLACE_OK) {
            close(fd);
            if (rc == ENLACE_ERR_TIMEOUT)
                break;
            continue;
        }
        /* Frames are small and latency matters (publish -> ack -> deliver). */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        *out = fd;
        break;
    }
    freeaddrinfo(res);
    if (rc == ENLACE_ERR_TIMEOUT)
        snprintf(why, why_len, "connecting to %s port %u timed out", host, (unsigned)port);
    else if (rc != ENLACE_OK)
        snprintf(why, why_len, "cannot connect to %s port %u: %s", host, (unsigned)port,
                 strerror(err ? err : ECONNREFUSED));
    return rc;
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Classify a failed SSL_* call: AGAIN (with t->want set) or a terminal error + why. */
static enlace_err_t ssl_status(transport_t *t, int ret, char *why, size_t why_len)
{
    int saved = errno;
    int e = SSL_get_error(t->ssl, ret);
    char r[256];
    switch (e) {
    case SSL_ERROR_WANT_READ: t->want = POLLIN; return ENLACE_ERR_AGAIN;
    case SSL_ERROR_WANT_WRITE: t->want = POLLOUT; return ENLACE_ERR_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(why, why_len, "the broker closed the connection");
        return ENLACE_ERR_CLOSED;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (saved == 0 || saved == EPIPE || saved == ECONNRESET) {
            if (t->alert[0])
                snprintf(why, why_len, "TLS alert from the broker: %s", t->alert);
            else
                snprintf(why, why_len, "the broker closed the connection");
            return ENLACE_ERR_CLOSED;
        }
        snprintf(why, why_len, "connection error: %s", strerror(saved));
        return ENLACE_ERR_IO;
    default:
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING &&
            !t->alert[0]) {
            ERR_clear_error();
            snprintf(why, why_len, "the broker closed the connection");
            return ENLACE_ERR_CLOSED;
        }
        ssl_reason(r, sizeof r);
        if (t->alert[0])
            snprintf(why, why_len, "TLS alert from the broker: %s", t->alert);
        else
            snprintf(why, why_len, "TLS error: %s", r);
        return ENLACE_ERR_PROTOCOL;
    }
}

enlace_err_t transport_connect(transport_t *t, const char *host, uint16_t port, int64_t deadline,
                               char *why, size_t why_len)
{
    if (t == NULL || t->ctx == NULL || host == NULL || t->ssl != NULL) {
        snprintf(why, why_len, "transport not usable");
        return ENLACE_ERR_INVALID;
    }
    enlace_err_t rc = tcp_connect(host, port, deadline, &t->fd, why, why_len);
    if (rc != ENLACE_OK)
        return rc;
    char r[256];
    BIO *bio = NULL;
    t->ssl = SSL_new(t->ctx);
    if (t->ssl == NULL || (bio = nosig_bio_new(t->fd)) == NULL) {
        ssl_reason(r, sizeof r);
        snprintf(why, why_len, "TLS setup failed: %s", r);
        return ENLACE_ERR_NOMEM;
    }
    SSL_set_bio(t->ssl, bio, bio); /* the session owns the BIO */
    SSL_set_ex_data(t->ssl, alert_index, t);
    /* Host name check (RFC 6125): SAN DNS names, or the SAN IP for an IP literal. */
    X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = is_ip_literal(host)
                 ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
                 : SSL_set1_host(t->ssl, host) == 1 && SSL_set_tlsext_host_name(t->ssl, host) == 1;
    if (ok != 1) {
        ssl_reason(r, sizeof r);
        snprintf(why, why_len, "cannot set the expected host name %s: %s", host, r);
        return ENLACE_ERR_INVALID;
    }
    for (;;) {
        ERR_clear_error();
        int ret = SSL_connect(t->ssl);
        if (ret == 1)
            break;
        rc = ssl_status(t, ret, why, why_len);
        if (rc == ENLACE_ERR_AGAIN) {
            rc = wait_fd(t->fd, t->want, deadline);
            if (rc == ENLACE_ERR_TIMEOUT) {
                snprintf(why, why_len, "TLS handshake with %s timed out", host);
                return rc;
            }
            if (rc != ENLACE_OK) {
                snprintf(why, why_len, "poll: %s", strerror(errno));
                return rc;
            }
            continue;
        }
        long vr = SSL_get_verify_result(t->ssl);
        if (vr != X509_V_OK) {
            snprintf(why, why_len, "broker certificate refused: %s",
                     X509_verify_cert_error_string(vr));
            return ENLACE_ERR_BAD_CERT;
        }
        return rc;
    }
    const unsigned char *sel = NULL;
    unsigned int sel_len = 0;
    SSL_get0_alpn_selected(t->ssl, &sel, &sel_len);
    if (sel_len != strlen(TRANSPORT_ALPN) || memcmp(sel, TRANSPORT_ALPN, sel_len) != 0) {
        snprintf(why, why_len, "the broker did not agree on ALPN %s", TRANSPORT_ALPN);
        return ENLACE_ERR_PROTOCOL;
    }
    t->want = POLLIN;
    return ENLACE_OK;
}

enlace_err_t transport_read(transport_t *t, uint8_t *buf, size_t cap, size_t *got, char *why,
                            size_t why_len)
{
    *got = 0;
    if (t == NULL || t->ssl == NULL) {
        snprintf(why, why_len, "not connected");
        return ENLACE_ERR_CLOSED;
    }
    ERR_clear_error();
    int n = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (n > 0) {
        *got = (size_t)n;
        t->want = POLLIN;
        return ENLACE_OK;
    }
    return ssl_status(t, n, why, why_len);
}

enlace_err_t transport_write(transport_t *t, const uint8_t *buf, size_t len, size_t *written,
                             char *why, size_t why_len)
{
    *written = 0;
    if (t == NULL || t->ssl == NULL) {
        snprintf(why, why_len, "not connected");
        return ENLACE_ERR_CLOSED;
    }
    if (len == 0)
        return ENLACE_OK;
    ERR_clear_error();
    int n = SSL_write(t->ssl, buf, len > (1u << 30) ? (1 << 30) : (int)len);
    if (n > 0) {
        *written = (size_t)n;
        return ENLACE_OK;
    }
    return ssl_status(t, n, why, why_len);
}
