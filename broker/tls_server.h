/* tls_server — the broker's TLS 1.3 server context and peer identity checks.
 *
 * tls_server_ctx_new() builds an SSL_CTX that accepts only TLS 1.3 with a
 * client certificate (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
 * verified against the CA bundle with CRLs for the whole chain when a CRL file
 * is configured, purpose sslclient (EKU clientAuth, libssl's default on the
 * server side), ALPN "enlace/1" required, no session tickets (a resumed
 * session would skip the certificate and CRL checks after a reload).
 * A reload builds a new context; live SSL objects keep the one they started
 * with (reference counted by OpenSSL).
 *
 * Per-connection verification details (first error, leaf fingerprint) are
 * captured by a verify callback into a tls_peer_info_t the caller attaches
 * with tls_server_attach().
 */
#ifndef ENLACE_TLS_SERVER_H
#define ENLACE_TLS_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "enlace_err.h"

#define ENLACE_ALPN "enlace/1"

/* What the verify callback saw, for audit records of refused handshakes. */
typedef struct tls_peer_info {
    bool have_leaf;          /* leaf_sha256 is set */
    uint8_t leaf_sha256[32]; /* SHA-256 of the client's leaf certificate DER */
    int first_error;         /* first X509_V_ERR_* seen, 0 if none */
    int error_depth;         /* depth of that error in the chain */
} tls_peer_info_t;

/* Builds the server context. why gets "what failed: OpenSSL reason".
 * Returns NULL on failure. The caller owns the context (SSL_CTX_free). */
SSL_CTX *tls_server_ctx_new(const char *cert_chain, const char *key, const char *ca,
                            const char *crl, char *why, size_t why_len);

/* Attaches info to ssl so the verify callback can fill it. info must outlive ssl's handshake. */
void tls_server_attach(SSL *ssl, tls_peer_info_t *info);

/* Human-readable reason for a failed handshake: the verify error when there
 * was one, else the OpenSSL error queue's first entry (queue is cleared). */
void tls_server_failure_reason(SSL *ssl, const tls_peer_info_t *info, char *out, size_t out_len);

#endif
