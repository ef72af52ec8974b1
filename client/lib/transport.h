/* transport — the client's TLS 1.3 byte stream to the broker (internal to libenlace).
 *
 * A non-blocking TCP socket with an OpenSSL client session on top: connect with a
 * deadline, handshake (broker certificate and host name verified, ALPN "enlace/1"
 * required), then non-blocking reads and writes that say when to wait and for what.
 * Writes go through send(MSG_NOSIGNAL) (a custom BIO), so a broker that hangs up never
 * raises SIGPIPE in the application. Fatal TLS alerts the broker sends are recorded
 * (transport_peer_alert), because in TLS 1.3 a rejected client certificate is only
 * visible as an alert on the first read after the handshake.
 *
 *     transport_t *t = transport_new(ctx);
 *     rc = transport_connect(t, host, port, deadline, why, sizeof why);
 *     rc = transport_write(t, buf, len, &n);   // ENLACE_ERR_AGAIN: transport_wait()
 *     rc = transport_read(t, buf, cap, &n);
 *     transport_destroy(&t);
 */
#ifndef ENLACE_CLIENT_TRANSPORT_H
#define ENLACE_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "enlace_err.h"

#define TRANSPORT_ALPN "enlace/1"

typedef struct transport transport_t;

/* Monotonic clock in milliseconds (deadlines are absolute values of it). */
int64_t transport_now_ms(void);

/* Client SSL_CTX: TLS 1.3 only, peer verification against store (reference taken),
 * ALPN enlace/1, our certificate (leaf + chain) and key, partial writes.
 * Returns the context (SSL_CTX_free) or NULL with why. */
SSL_CTX *transport_ctx_new(X509_STORE *store, X509 *cert, STACK_OF(X509) * chain, EVP_PKEY *key,
                           char *why, size_t why_len);

/* A new unconnected transport using ctx (reference taken). NULL when out of memory. */
transport_t *transport_new(SSL_CTX *ctx);

/* Shut down (best-effort close_notify), close the socket, free; *t = NULL. Safe twice. */
void transport_destroy(transport_t **t);

/* Resolve host, connect (TCP_NODELAY), run the TLS handshake, check ALPN.
 * deadline < 0: no deadline. Returns ENLACE_OK; ENLACE_ERR_IO (resolve/connect failed),
 * ENLACE_ERR_TIMEOUT, ENLACE_ERR_BAD_CERT (broker certificate or host name refused),
 * ENLACE_ERR_PROTOCOL (TLS failure, alert, no ALPN agreement), ENLACE_ERR_CLOSED,
 * ENLACE_ERR_NOMEM; why says what happened. */
enlace_err_t transport_connect(transport_t *t, const char *host, uint16_t port, int64_t deadline,
                               char *why, size_t why_len);

/* Read up to cap decrypted bytes. Returns ENLACE_OK with *got > 0; ENLACE_ERR_AGAIN
 * (nothing now: transport_wait); ENLACE_ERR_CLOSED (orderly close or EOF); ENLACE_ERR_IO
 * (socket error); ENLACE_ERR_PROTOCOL (TLS error or fatal alert: see
 * transport_peer_alert); why set on errors. */
enlace_err_t transport_read(transport_t *t, uint8_t *buf, size_t cap, size_t *got, char *why,
                            size_t why_len);

/* Write up to len bytes (partial writes happen). Returns ENLACE_OK with *written > 0,
 * ENLACE_ERR_AGAIN, or the errors of transport_read. After AGAIN, call again with the
 * same bytes (at least). */
enlace_err_t transport_write(transport_t *t, const uint8_t *buf, size_t len, size_t *written,
                             char *why, size_t why_len);

/* Wait until the socket is readable, or writable too when want_write or when TLS last
 * asked for it, or until deadline (< 0: forever). Returns ENLACE_OK (something may be
 * ready), ENLACE_ERR_TIMEOUT, ENLACE_ERR_IO. */
enlace_err_t transport_wait(transport_t *t, bool want_write, int64_t deadline);

/* The socket (-1 when not connected). */
int transport_fd(const transport_t *t);

/* Description of the last fatal TLS alert the broker sent, e.g. "certificate revoked",
 * or NULL when none. Borrowed from t. */
const char *transport_peer_alert(const transport_t *t);

#endif
