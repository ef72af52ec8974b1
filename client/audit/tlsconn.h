/* tlsconn — a minimal blocking TLS 1.3 client connection to an Enlace broker.
 *
 * What `enlace-audit fetch` needs and no more (libenlace's public API has no AuditFetch
 * and its transport is internal): mutual TLS 1.3 with the auditor's certificate chain
 * and key, the broker's certificate verified against the CA bundle (+ CRLs) and the
 * host name (or IP address), ALPN "enlace/1" required, then whole frames sent and
 * received through common/codec (the one bounded decoder). Calls block, each bounded by
 * the connection's timeout (socket SO_RCVTIMEO/SO_SNDTIMEO).
 *
 * TLS 1.3 trap (protocol.md): the handshake completes on the client before the broker
 * has checked our certificate, so a refusal arrives as an alert on the first read;
 * tlsconn records the alert text (tlsconn_alert) so the caller can say "broker rejected
 * our certificate: <alert>" while waiting for Welcome.
 *
 *     tlsconn_t *c = tlsconn_open(&opts, why, sizeof why);
 *     tlsconn_send(c, &frame, why, sizeof why);
 *     tlsconn_recv(c, &frame, why, sizeof why);   // codec_free((ProtobufCMessage **)&frame)
 *     tlsconn_close(&c);
 */
#ifndef ENLACE_AUDIT_TLSCONN_H
#define ENLACE_AUDIT_TLSCONN_H

#include <stddef.h>
#include <stdint.h>

#include "enlace.pb-c.h"
#include "enlace_err.h"

#define TLSCONN_ALPN "enlace/1"

/* Connection parameters (strings borrowed for the duration of tlsconn_open). */
typedef struct {
    const char *host; /* broker host name or IP literal */
    uint16_t port;    /* TCP port */
    const char *cert; /* PEM: our certificate, then intermediates */
    const char *key;  /* PEM: its private key */
    const char *ca;   /* PEM: CA bundle that must issue the broker certificate */
    const char *crl;  /* PEM CRLs (optional) */
    int timeout_ms;   /* bound of every blocking step */
    size_t max_frame; /* largest frame accepted from the broker */
} tlsconn_opts_t;

typedef struct tlsconn tlsconn_t;

/* Connect and complete the TLS handshake (certificate, host name and ALPN checked).
 * Returns NULL with a sentence in why on failure; *err (may be NULL) gets
 * ENLACE_ERR_INVALID (our certificate/key/CA cannot be loaded), ENLACE_ERR_IO (resolve
 * or connect failed), ENLACE_ERR_TIMEOUT, ENLACE_ERR_BAD_CERT (broker certificate or
 * name refused), ENLACE_ERR_PROTOCOL (TLS failure, no ALPN agreement) or ENLACE_ERR_NOMEM. */
tlsconn_t *tlsconn_open(const tlsconn_opts_t *opts, enlace_err_t *err, char *why, size_t why_len);

/* Send one frame. Returns ENLACE_OK, ENLACE_ERR_CLOSED, ENLACE_ERR_TIMEOUT,
 * ENLACE_ERR_PROTOCOL (TLS error) or ENLACE_ERR_NOMEM, with why. */
enlace_err_t tlsconn_send(tlsconn_t *c, const Enlace__Frame *f, char *why, size_t why_len);

/* Receive one decoded, validated frame into *out (codec_free it). Returns ENLACE_OK,
 * ENLACE_ERR_CLOSED (peer closed; see tlsconn_alert), ENLACE_ERR_TIMEOUT,
 * ENLACE_ERR_PROTOCOL (TLS error or alert), ENLACE_ERR_MALFORMED / ENLACE_ERR_TOO_LARGE
 * (a bad frame: the connection is then unusable), with why. */
enlace_err_t tlsconn_recv(tlsconn_t *c, Enlace__Frame **out, char *why, size_t why_len);

/* Text of the last fatal alert the broker sent (e.g. "certificate unknown"), or NULL.
 * Borrowed from c. */
const char *tlsconn_alert(const tlsconn_t *c);

/* close_notify (best effort), close, free; *c = NULL. Safe on NULL and twice. */
void tlsconn_close(tlsconn_t **c);

#endif
