/* tls_server — TLS 1.3 mTLS server context (see tls_server.h). */
#include "tls_server.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>

static int peer_info_index = -1; /* SSL ex_data slot for tls_peer_info_t */

static void openssl_reason(char *out, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, out, len);
    else
        snprintf(out, len, "unknown OpenSSL error");
    ERR_clear_error();
}

/* Records the first failure and the leaf fingerprint; never changes the verdict. */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_peer_info_t *info = ssl ? SSL_get_ex_data(ssl, peer_info_index) : NULL;
    if (!info)
        return ok;
    if (!info->have_leaf) {
        X509 *leaf = X509_STORE_CTX_get0_cert(xs);
        unsigned int n = 0;
        if (leaf && X509_digest(leaf, EVP_sha256(), info->leaf_sha256, &n) == 1 && n == 32)
            info->have_leaf = true;
    }
    if (!ok && info->first_error == 0) {
        info->first_error = X509_STORE_CTX_get_error(xs);
        info->error_depth = X509_STORE_CTX_get_error_depth(xs);
    }
    return ok;
}

/* ALPN: only "enlace/1"; anything else is a fatal no_application_protocol alert. */
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char want[] = "\x08" ENLACE_ALPN;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, want, sizeof want - 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = sel;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static bool load_crls(SSL_CTX *ctx, const char *crl, char *why, size_t why_len)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (!lookup || X509_load_crl_file(lookup, crl, X509_FILETYPE_PEM) <= 0) {
        char r[256];
        openssl_reason(r, sizeof r);
        snprintf(why, why_len, "cannot load CRL file %s: %s", crl, r);
        return false;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return true;
}

SSL_CTX *tls_server_ctx_new(const char *cert_chain, const char *key, const char *ca,
                            const char *crl, char *why, size_t why_len)
{
    char r[256];
    if (peer_info_index < 0)
        peer_info_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        openssl_reason(r, sizeof r);
        snprintf(why, why_len, "SSL_CTX_new: %s", r);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* One read() takes whatever the socket holds instead of a header and then a body per
     * TLS record: fewer system calls per frame. session.c keeps reading while OpenSSL
     * holds buffered bytes (SSL_has_pending), so none wait unseen by epoll. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

    if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain) != 1) {
        openssl_reason(r, sizeof r);
        snprintf(why, why_len, "cannot load broker certificate %s: %s", cert_chain, r);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        openssl_reason(r, sizeof r);
        snprintf(why, why_len,
                 "cannot load broker key %s (or it does not match the certificate): %s", key, r);
        goto fail;
    }
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        openssl_reason(r, sizeof r);
        snprintf(why, why_len, "cannot load CA bundle %s: %s", ca, r);
        goto fail;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (names)
        SSL_CTX_set_client_CA_list(ctx, names);
    if (crl && *crl && !load_crls(ctx, crl, why, why_len))
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    SSL_CTX_set_verify_depth(ctx, 8);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_server_attach(SSL *ssl, tls_peer_info_t *info)
{
    SSL_set_ex_data(ssl, peer_info_index, info);
}

void tls_server_failure_reason(SSL *ssl, const tls_peer_info_t *info, char *out, size_t out_len)
{
    if (info && info->first_error) {
        snprintf(out, out_len, "client certificate refused at depth %d: %s", info->error_depth,
                 X509_verify_cert_error_string(info->first_error));
        ERR_clear_error();
        return;
    }
    unsigned long e = ERR_peek_error();
    if (e) {
        char r[256];
        ERR_error_string_n(e, r, sizeof r);
        const char *reason = ERR_reason_error_string(e);
        snprintf(out, out_len, "TLS handshake failed: %s", reason ? reason : r);
        ERR_clear_error();
        return;
    }
    snprintf(out, out_len, "TLS handshake failed (peer closed)");
    (void)ssl;
}
