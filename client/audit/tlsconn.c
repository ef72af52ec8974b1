/* tlsconn — blocking TLS 1.3 client for enlace-audit fetch (see tlsconn.h). */
#include "tlsconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "codec.h"
#include "crypto.h"

struct tlsconn {
    int fd;               /* TCP socket */
    SSL_CTX *ctx;         /* client context */
    SSL *ssl;             /* the session */
    codec_decoder_t *dec; /* frame decoder (bounded) */
    uint8_t buf[16384];   /* bytes read, not yet given to the decoder */
    size_t pos, have;     /* consumed / valid bytes in buf */
    char alert[96];       /* last fatal alert received ("" if none) */
};

/* Remember alerts the broker sends: in TLS 1.3 a refused client certificate shows only
 * as an alert after our handshake has completed. */
static void info_cb(const SSL *ssl, int where, int ret)
{
    if ((where & SSL_CB_READ_ALERT) && (ret >> 8) == SSL3_AL_FATAL) {
        tlsconn_t *c = SSL_get_app_data(ssl);
        if (c != NULL) {
            snprintf(c->alert, sizeof(c->alert), "%s", SSL_alert_desc_string_long(ret));
        }
    }
}

/* TCP connect with a deadline; returns the socket or -1 with why. */
static int tcp_connect(const char *host, uint16_t port, int timeout_ms, enlace_err_t *err,
                       char *why, size_t why_len)
{
    char service[8];
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        enlace_why(why, why_len, "cannot resolve %s: %s", host, gai_strerror(gai));
        *err = ENLACE_ERR_IO;
        return -1;
    }
    int fd = -1;
    *err = ENLACE_ERR_IO;
    enlace_why(why, why_len, "cannot connect to %s port %u", host, (unsigned)port);
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        int flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int pr = poll(&p, 1, timeout_ms);
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            if (pr == 0) {
                enlace_why(why, why_len, "connecting to %s port %u timed out", host,
                           (unsigned)port);
                *err = ENLACE_ERR_TIMEOUT;
                rc = -1;
            } else if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
                       soerr != 0) {
                enlace_why(why, why_len, "cannot connect to %s port %u: %s", host, (unsigned)port,
                           strerror(soerr ? soerr : errno));
                rc = -1;
            } else {
                rc = 0;
            }
        } else if (rc != 0) {
            enlace_why(why, why_len, "cannot connect to %s port %u: %s", host, (unsigned)port,
                       strerror(errno));
        }
        if (rc != 0) {
            close(fd);
            fd = -1;
            continue;
        }
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    freeaddrinfo(res);
    return fd;
}

/* SSL_CTX with our certificate chain, key, the trust store, TLS 1.3 only and ALPN. */
static SSL_CTX *make_ctx(const tlsconn_opts_t *o, char *why, size_t why_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *key = NULL;
    X509_STORE *store = NULL;
    char reason[256] = "";
    static const unsigned char alpn[] = "\x08" TLSCONN_ALPN;
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
        enlace_why(why, why_len, "cannot create a TLS 1.3 context");
        goto fail;
    }
    if ((store = cert_trust_load(o->ca, o->crl, reason, sizeof(reason))) == NULL) {
        enlace_why(why, why_len, "CA bundle: %s", reason);
        goto fail;
    }
    SSL_CTX_set_cert_store(ctx, store); /* takes ownership */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if ((chain = cert_load_chain_pem(o->cert)) == NULL) {
        enlace_why(why, why_len, "%s: no certificate", o->cert);
        goto fail;
    }
    if ((key = crypto_load_private_key(o->key)) == NULL) {
        enlace_why(why, why_len, "%s: no usable private key", o->key);
        goto fail;
    }
    if (SSL_CTX_use_certificate(ctx, sk_X509_value(chain, 0)) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        enlace_why(why, why_len, "%s does not match %s", o->key, o->cert);
        goto fail;
    }
    for (int i = 1; i < sk_X509_num(chain); i++) {
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1) {
            enlace_why(why, why_len, "cannot use the intermediates of %s", o->cert);
            goto fail;
        }
    }
    if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
        enlace_why(why, why_len, "cannot set ALPN");
        goto fail;
    }
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    return ctx;
fail:
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

tlsconn_t *tlsconn_open(const tlsconn_opts_t *o, enlace_err_t *err, char *why, size_t why_len)
{
    enlace_err_t dummy;
    err = err ? err : &dummy;
    tlsconn_t *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->dec = codec_decoder_new(o->max_frame)) == NULL) {
        free(c);
        *err = ENLACE_ERR_NOMEM;
        enlace_why(why, why_len, "out of memory");
        return NULL;
    }
    c->fd = -1;
    if ((c->ctx = make_ctx(o, why, why_len)) == NULL) {
        *err = ENLACE_ERR_INVALID;
        goto fail;
    }
    if ((c->fd = tcp_connect(o->host, o->port, o->timeout_ms, err, why, why_len)) < 0) {
        goto fail;
    }
    *err = ENLACE_ERR_PROTOCOL;
    if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        enlace_why(why, why_len, "cannot create the TLS session");
        goto fail;
    }
    SSL_set_app_data(c->ssl, c);
    SSL_set_info_callback(c->ssl, info_cb);
    /* The broker's certificate must name the host we asked for (RFC 6125): DNS name, or
     * IP address for an IP literal (SAN iPAddress). */
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, o->host, ip) == 1 || inet_pton(AF_INET6, o->host, ip) == 1;
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), o->host) != 1
              : (SSL_set1_host(c->ssl, o->host) != 1 ||
                 SSL_set_tlsext_host_name(c->ssl, o->host) != 1)) {
        enlace_why(why, why_len, "cannot set the expected broker name %s", o->host);
        goto fail;
    }
    if (SSL_connect(c->ssl) != 1) {
        long vr = SSL_get_verify_result(c->ssl);
        if (vr != X509_V_OK) {
            *err = ENLACE_ERR_BAD_CERT;
            enlace_why(why, why_len, "broker certificate refused: %s",
                       X509_verify_cert_error_string(vr));
        } else if (c->alert[0]) {
            enlace_why(why, why_len, "TLS handshake failed: the broker sent alert \"%s\"",
                       c->alert);
        } else {
            unsigned long e = ERR_peek_last_error();
            enlace_why(why, why_len, "TLS handshake failed: %s",
                       e ? ERR_reason_error_string(e) : "connection closed");
            if (e == 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                *err = ENLACE_ERR_TIMEOUT;
                enlace_why(why, why_len, "TLS handshake timed out");
            }
        }
        goto fail;
    }
    const unsigned char *sel = NULL;
    unsigned int sel_len = 0;
    SSL_get0_alpn_selected(c->ssl, &sel, &sel_len);
    if (sel_len != strlen(TLSCONN_ALPN) || memcmp(sel, TLSCONN_ALPN, sel_len) != 0) {
        enlace_why(why, why_len, "the broker did not agree to ALPN %s", TLSCONN_ALPN);
        goto fail;
    }
    *err = ENLACE_OK;
    ERR_clear_error();
    return c;
fail:
    ERR_clear_error();
    tlsconn_close(&c);
    return NULL;
}

/* Map a failed SSL_read/SSL_write. */
static enlace_err_t io_error(tlsconn_t *c, int ret, const char *what, char *why, size_t why_len)
{
    int e = SSL_get_error(c->ssl, ret);
    unsigned long q = ERR_peek_last_error();
    if (e == SSL_ERROR_ZERO_RETURN) {
        enlace_why(why, why_len, "the broker closed the connection%s%s", c->alert[0] ? ": " : "",
                   c->alert);
        ERR_clear_error();
        return ENLACE_ERR_CLOSED;
    }
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
        (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))) {
        enlace_why(why, why_len, "%s timed out", what);
        ERR_clear_error();
        return ENLACE_ERR_TIMEOUT;
    }
    if (c->alert[0]) {
        enlace_why(why, why_len, "the broker sent alert \"%s\"", c->alert);
    } else if (e == SSL_ERROR_SYSCALL && q == 0) {
        enlace_why(why, why_len, "the broker closed the connection (%s)",
                   ret == 0 ? "EOF" : strerror(errno));
        ERR_clear_error();
        return ENLACE_ERR_CLOSED;
    } else {
        enlace_why(why, why_len, "%s failed: %s", what,
                   q ? ERR_reason_error_string(q) : "TLS error");
    }
    ERR_clear_error();
    return ENLACE_ERR_PROTOCOL;
}

enlace_err_t tlsconn_send(tlsconn_t *c, const Enlace__Frame *f, char *why, size_t why_len)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enlace_err_t rc = codec_encode_frame(f, &buf, &len);
    if (rc != ENLACE_OK) {
        enlace_why(why, why_len, "cannot encode the frame");
        return rc;
    }
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        int ret = SSL_write_ex(c->ssl, buf + done, len - done, &n);
        if (ret <= 0) {
            rc = io_error(c, ret, "sending", why, why_len);
            break;
        }
        done += n;
    }
    free(buf);
    return rc;
}

enlace_err_t tlsconn_recv(tlsconn_t *c, Enlace__Frame **out, char *why, size_t why_len)
{
    *out = NULL;
    for (;;) {
        if (c->pos < c->have) {
            size_t used = 0;
            char reason[200] = "";
            enlace_err_t rc = codec_decoder_next(c->dec, c->buf + c->pos, c->have - c->pos, &used,
                                                 out, reason, sizeof(reason));
            c->pos += used;
            if (rc == ENLACE_OK) {
                return ENLACE_OK;
            }
            if (rc != ENLACE_ERR_AGAIN) {
                enlace_why(why, why_len, "bad frame from the broker: %s", reason);
                return rc;
            }
        }
        c->pos = c->have = 0;
        size_t n = 0;
        int ret = SSL_read_ex(c->ssl, c->buf, sizeof(c->buf), &n);
        if (ret <= 0) {
            return io_error(c, ret, "reading", why, why_len);
        }
        c->have = n;
    }
}

const char *tlsconn_alert(const tlsconn_t *c)
{
    return c->alert[0] ? c->alert : NULL;
}

void tlsconn_close(tlsconn_t **cp)
{
    if (cp == NULL || *cp == NULL) {
        return;
    }
    tlsconn_t *c = *cp;
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    SSL_CTX_free(c->ctx);
    codec_decoder_destroy(&c->dec);
    ERR_clear_error();
    free(c);
    *cp = NULL;
}
