/* enlace — the client library of the Enlace secure information-sharing broker.
 *
 * libenlace lets an agency application publish signed, end-to-end encrypted case
 * messages, receive the messages of its subscriptions (verified against the
 * application's own CA bundle, not against the broker's word), and prove that a
 * message was logged (inclusion proof against a signed checkpoint).
 *
 *     enlace_options_t opts;
 *     enlace_options_init(&opts);
 *     opts.host = "broker.example"; opts.cert = "MX.FGR.crt"; opts.key = "MX.FGR.key";
 *     opts.ca = "ca.pem";
 *     enlace_conn_t *conn = enlace_new(&opts);
 *     if (conn == NULL || enlace_connect(conn) != ENLACE_OK)
 *         ... enlace_last_error(conn) says why ...
 *     enlace_publish(conn, &params, data, len, &ack);       // returns after the durable ack
 *     enlace_subscribe(conn, "desk", "alerts/#", ENLACE_START_RESUME, 0, &sub, NULL);
 *     while (enlace_next(conn, -1, &msg) ...) { use; enlace_ack(conn, msg);
 * enlace_message_free(&msg); } enlace_close(&conn);
 *
 * Model. One enlace_conn_t is one TLS 1.3 connection (mutual TLS, ALPN "enlace/1") to one
 * broker. It is reported up only after the protocol's Hello/Welcome exchange, so a broker
 * that refuses the client certificate is reported as such (ENLACE_ERR_BAD_CERT, "broker
 * rejected our certificate: ..."), not as a later read error. Calls block, each bounded
 * by a timeout (enlace_options_t.timeout_ms, or the timeout argument); the socket is
 * non-blocking underneath, and enlace_fd() gives a descriptor for poll/epoll loops.
 *
 * Threads. A connection must be used by one thread at a time. Different connections
 * are independent. Handles returned by the library (messages, directories, receipts)
 * are independent of their connection and may outlive it.
 *
 * Errors. Functions return enlace_err_t (enlace_err.h; ENLACE_OK is 0). After any
 * failure on a connection, enlace_last_error() holds a sentence for humans and
 * enlace_last_broker_error() the broker's Error code when the broker refused
 * (ENLACE_ERR_DENIED). Strings returned as `const char *` are borrowed from the handle
 * they came from; anything the caller must free is said so.
 */
#ifndef ENLACE_H
#define ENLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENLACE_DEFAULT_PORT 7443
#define ENLACE_DEFAULT_TIMEOUT_MS 10000
/* Largest frame this client accepts from the broker (sent in Hello). */
#define ENLACE_DEFAULT_MAX_FRAME (4u << 20)
#define ENLACE_MESSAGE_ID_LEN 16
#define ENLACE_MAX_RECIPIENTS 256
/* Room for an agency id and its NUL. */
#define ENLACE_AGENCY_ID_BUF 65

/* ------------------------------------------------------------------------------------
 * Labels of a case message (DESIGN.md section 5). Values equal the wire values.
 * ---------------------------------------------------------------------------------- */

/* FIRST Traffic Light Protocol 2.0. UNLABELLED is never accepted by the broker. */
typedef enum {
    ENLACE_TLP_UNLABELLED = 0,
    ENLACE_TLP_RED = 1,          /* named recipients only; needs explicit recipients */
    ENLACE_TLP_AMBER_STRICT = 2, /* recipient organisation only; needs explicit recipients */
    ENLACE_TLP_AMBER = 3,
    ENLACE_TLP_GREEN = 4,
    ENLACE_TLP_CLEAR = 5,
} enlace_tlp_t;

/* Europol handling codes. */
typedef enum {
    ENLACE_HANDLING_NONE = 0,
    ENLACE_HANDLING_H0 = 1, /* use only for crime */
    ENLACE_HANDLING_H1 = 2, /* not in court without the provider's permission */
    ENLACE_HANDLING_H2 = 3, /* no onward dissemination without permission */
    ENLACE_HANDLING_H3 = 4, /* other restrictions */
} enlace_handling_t;

typedef enum {
    ENLACE_RELIABILITY_NONE = 0,
    ENLACE_RELIABILITY_A = 1,
    ENLACE_RELIABILITY_B = 2,
    ENLACE_RELIABILITY_C = 3,
    ENLACE_RELIABILITY_X = 4,
} enlace_reliability_t;

typedef enum {
    ENLACE_ACCURACY_NONE = 0,
    ENLACE_ACCURACY_1 = 1,
    ENLACE_ACCURACY_2 = 2,
    ENLACE_ACCURACY_3 = 3,
    ENLACE_ACCURACY_4 = 4,
} enlace_accuracy_t;

typedef enum {
    ENLACE_TYPE_UNSPECIFIED = 0, /* publish: taken as ENLACE_TYPE_CASE_MESSAGE */
    ENLACE_TYPE_ALERT = 1,
    ENLACE_TYPE_NOTICE = 2,
    ENLACE_TYPE_CASE_MESSAGE = 3,
    ENLACE_TYPE_REQUEST = 4,
    ENLACE_TYPE_REPLY = 5,
    ENLACE_TYPE_ACKNOWLEDGEMENT = 6,
} enlace_message_type_t;

/* INTERPOL notice kinds. */
typedef enum {
    ENLACE_NOTICE_NONE = 0,
    ENLACE_NOTICE_RED = 1,
    ENLACE_NOTICE_YELLOW = 2,
    ENLACE_NOTICE_BLUE = 3,
    ENLACE_NOTICE_BLACK = 4,
    ENLACE_NOTICE_GREEN = 5,
    ENLACE_NOTICE_ORANGE = 6,
    ENLACE_NOTICE_PURPLE = 7,
    ENLACE_NOTICE_UNSC_SPECIAL = 8,
} enlace_notice_t;

typedef enum {
    ENLACE_ROLE_UNSPECIFIED = 0,
    ENLACE_ROLE_AGENCY = 1,
    ENLACE_ROLE_AUDITOR = 2,
} enlace_role_t;

/* The broker's Error codes (proto ErrorCode). ENLACE_BROKER_NONE: no broker error. */
typedef enum {
    ENLACE_BROKER_NONE = 0,
    ENLACE_BROKER_MALFORMED = 1,
    ENLACE_BROKER_FRAME_TOO_LARGE = 2,
    ENLACE_BROKER_NOT_AUTHORIZED = 3,
    ENLACE_BROKER_BAD_SIGNATURE = 4,
    ENLACE_BROKER_TLP_VIOLATION = 5,
    ENLACE_BROKER_RATE_LIMITED = 6,
    ENLACE_BROKER_PROTOCOL = 7,
    ENLACE_BROKER_SENDER_MISMATCH = 8,
    ENLACE_BROKER_PAYLOAD_HASH = 9,
    ENLACE_BROKER_UNKNOWN_AGENCY = 10,
    ENLACE_BROKER_NOT_FOUND = 11,
    ENLACE_BROKER_UNSUPPORTED_VERSION = 12,
    ENLACE_BROKER_INTERNAL = 13,
    ENLACE_BROKER_BAD_RECIPIENT = 14,
    ENLACE_BROKER_EXPIRED = 15,
    ENLACE_BROKER_TOO_MANY_SESSIONS = 16,
} enlace_broker_error_t;

/* Names and parsers. *_name() return a static string, "?" for an unknown value.
 * enlace_tlp_name gives the TLP 2.0 spelling ("TLP:AMBER+STRICT"); enlace_tlp_parse
 * accepts it with or without the "TLP:" prefix, in any case. Other parsers are
 * case-insensitive and accept: handling "H0".."H3"; reliability "A","B","C","X";
 * accuracy "1".."4"; type "alert", "notice", "case-message", "request", "reply",
 * "acknowledgement" ('_' may replace '-'); notice "red" ... "purple", "unsc-special";
 * role "agency", "auditor". Each parser returns ENLACE_OK or ENLACE_ERR_INVALID (unknown
 * or empty text, NULL argument), and never sets *out to a NONE/UNSPECIFIED value. */
const char *enlace_tlp_name(enlace_tlp_t tlp);
enlace_err_t enlace_tlp_parse(const char *text, enlace_tlp_t *out);
const char *enlace_handling_name(enlace_handling_t h);
enlace_err_t enlace_handling_parse(const char *text, enlace_handling_t *out);
const char *enlace_reliability_name(enlace_reliability_t r);
enlace_err_t enlace_reliability_parse(const char *text, enlace_reliability_t *out);
const char *enlace_accuracy_name(enlace_accuracy_t a);
enlace_err_t enlace_accuracy_parse(const char *text, enlace_accuracy_t *out);
const char *enlace_message_type_name(enlace_message_type_t t);
enlace_err_t enlace_message_type_parse(const char *text, enlace_message_type_t *out);
const char *enlace_notice_name(enlace_notice_t n);
enlace_err_t enlace_notice_parse(const char *text, enlace_notice_t *out);
const char *enlace_role_name(enlace_role_t r);
/* Stable upper-case name of a broker Error code, e.g. "NOT_AUTHORIZED". */
const char *enlace_broker_error_name(enlace_broker_error_t code);

/* Message ids as 32 lower-case hex digits. enlace_id_to_hex writes 33 bytes (with NUL).
 * enlace_id_from_hex accepts exactly 32 hex digits, either case: ENLACE_OK or
 * ENLACE_ERR_INVALID. */
void enlace_id_to_hex(const uint8_t id[ENLACE_MESSAGE_ID_LEN], char out[33]);
enlace_err_t enlace_id_from_hex(const char *hex, uint8_t out[ENLACE_MESSAGE_ID_LEN]);

/* Times. enlace_time_parse reads ISO 8601 / RFC 3339 "YYYY-MM-DDThh:mm[:ss[.fff]]" with
 * "Z" or "+hh:mm"/"-hh:mm" (a date alone means midnight UTC; no zone means UTC) into
 * Unix milliseconds. enlace_duration_parse reads "N" (seconds) or "N" followed by ms, s,
 * m, h, d or w, e.g. "90s", "30m", "7d", into milliseconds (> 0).
 * Both return ENLACE_OK or ENLACE_ERR_INVALID. enlace_time_format writes
 * "YYYY-MM-DDThh:mm:ss.fffZ" (25 bytes with NUL) into out. */
enlace_err_t enlace_time_parse(const char *text, uint64_t *ms);
enlace_err_t enlace_duration_parse(const char *text, uint64_t *ms);
void enlace_time_format(uint64_t ms, char out[25]);

/* ------------------------------------------------------------------------------------
 * Connection options and the client configuration file
 * ---------------------------------------------------------------------------------- */

/* Connection options. Strings are borrowed: enlace_new() copies what it needs. */
typedef struct {
    const char *host;           /* broker host name or IP literal; verified against the
                                   broker certificate (SAN DNS name or IP address) */
    uint16_t port;              /* default ENLACE_DEFAULT_PORT */
    const char *cert;           /* PEM: this agency's certificate, then intermediates */
    const char *key;            /* PEM: its private key (unencrypted) */
    const char *ca;             /* PEM: CA bundle for the broker AND every sender */
    const char *crl;            /* PEM CRLs (optional): revocation checked on the whole chain */
    const char *checkpoint_key; /* PEM SPKI Ed25519 key pinning the log's checkpoints
                                   (optional; without it receipts say "key not pinned") */
    const char *client_name;    /* free text sent in Hello (optional) */
    int timeout_ms;             /* bound of each blocking call; default 10000, < 0: none */
    uint32_t max_frame;         /* largest frame accepted; default ENLACE_DEFAULT_MAX_FRAME */
    bool reconnect;             /* enlace_next()/enlace_publish() reconnect once after a lost
                                   connection (subscriptions resumed); default false */
} enlace_options_t;

/* Zero *opts and set the defaults above. */
void enlace_options_init(enlace_options_t *opts);

/* Parse "HOST:PORT", "HOST", "[IPv6]:PORT" or "[IPv6]" into host[0..host_len) and *port
 * (ENLACE_DEFAULT_PORT when absent). Returns ENLACE_OK or ENLACE_ERR_INVALID (empty host,
 * bad or zero port, host too long). */
enlace_err_t enlace_parse_hostport(const char *text, char *host, size_t host_len, uint16_t *port);

/* A loaded client configuration file. */
typedef struct enlace_config enlace_config_t;

/* Read the INI client configuration at `path`:
 *     [client]
 *     broker = broker.example:7443    ; HOST[:PORT]
 *     cert = MX.FGR.crt               ; relative paths are relative to this file
 *     key = MX.FGR.key
 *     ca = ca.pem
 *     crl = crl.pem                   ; optional
 *     checkpoint_key = checkpoint.pub ; optional
 *     timeout = 10s                   ; optional, a duration (enlace_duration_parse)
 *     name = my-application           ; optional, sent in Hello
 * Unknown sections or keys, a key given twice and bad values are refused.
 * Returns ENLACE_OK with *out (enlace_config_destroy), ENLACE_ERR_IO (cannot read the
 * file), ENLACE_ERR_INVALID (with why = "FILE:LINE: reason") or ENLACE_ERR_NOMEM.
 * Keys left out keep the defaults of enlace_options_init. */
enlace_err_t enlace_config_load(const char *path, enlace_config_t **out, char *why, size_t why_len);

/* The options held by cfg; the strings are owned by cfg and live until
 * enlace_config_destroy. Copy the struct to override fields. */
const enlace_options_t *enlace_config_options(const enlace_config_t *cfg);

/* Free cfg, set *cfg to NULL. Safe on NULL and twice. */
void enlace_config_destroy(enlace_config_t **cfg);

/* ------------------------------------------------------------------------------------
 * Connection
 * ---------------------------------------------------------------------------------- */

typedef struct enlace_conn enlace_conn_t;

/* A new, unconnected handle holding copies of opts. Nothing is loaded or connected yet.
 * Returns NULL when opts is NULL, opts->host/cert/key/ca is missing, or memory ran out. */
enlace_conn_t *enlace_new(const enlace_options_t *opts);

/* Connect: on the first call, load certificate, key, CA bundle, CRL and pinned key;
 * then TCP, TLS 1.3 with ALPN enlace/1 (broker certificate verified against the CA
 * bundle and the host name), Hello, Welcome. Subscriptions made earlier on this handle
 * are made again (see enlace_subscribe). No-op when already up.
 * Returns ENLACE_OK, or:
 *   ENLACE_ERR_INVALID    a file cannot be loaded (certificate, key, CA, CRL, pinned key)
 *   ENLACE_ERR_IO         name resolution or TCP connect failed
 *   ENLACE_ERR_TIMEOUT    no Welcome within timeout_ms
 *   ENLACE_ERR_BAD_CERT   broker certificate not trusted / wrong host name, or the broker
 *                         rejected our certificate (TLS alert before Welcome, or a close
 *                         right after the handshake with no Error frame: a reset can
 *                         swallow the alert)
 *   ENLACE_ERR_DENIED     the broker refused the session (Error frame, e.g. UNKNOWN_AGENCY)
 *   ENLACE_ERR_PROTOCOL   TLS failure or protocol violation (e.g. no ALPN agreed)
 *   ENLACE_ERR_CLOSED     the broker closed the connection before Welcome
 *   ENLACE_ERR_NOMEM */
enlace_err_t enlace_connect(enlace_conn_t *conn);

/* Drop the current connection (if any) and connect again, resuming every subscription:
 * RESUME subscriptions with RESUME, the others from the first sequence number not yet
 * acknowledged through enlace_ack(). Messages received but not acknowledged before are
 * delivered again (at-least-once: deduplicate by message id). Same returns as
 * enlace_connect, plus those of enlace_subscribe for a subscription the broker now
 * refuses (the subscription is then dropped). */
enlace_err_t enlace_reconnect(enlace_conn_t *conn);

/* Close the connection (TLS close_notify, best effort) and free the handle; sets *conn
 * to NULL. Safe on NULL and twice. */
void enlace_close(enlace_conn_t **conn);

/* True when the connection is up (Welcome received, not closed since). */
bool enlace_is_up(const enlace_conn_t *conn);

/* The socket, for poll/epoll (POLLIN). When it is readable, call enlace_next() with
 * timeout 0 until it returns ENLACE_ERR_TIMEOUT (see also enlace_pending). Do not read
 * from or write to it. -1 when not connected. The descriptor changes on every (re)connect. */
int enlace_fd(const enlace_conn_t *conn);

/* Deliveries already received and queued, waiting for enlace_next(). Any call can read
 * from the socket (e.g. enlace_publish while it waits for its ack) and queue deliveries
 * that will not make the socket readable again: an event loop checks this (or calls
 * enlace_next with timeout 0 until ENLACE_ERR_TIMEOUT) before it polls. */
size_t enlace_pending(const enlace_conn_t *conn);

/* Text of the last failure on conn ("" when none). Borrowed until the next call. */
const char *enlace_last_error(const enlace_conn_t *conn);

/* Error code the broker sent with its last refusal (ENLACE_BROKER_NONE if the last
 * failure was not a broker refusal). */
enlace_broker_error_t enlace_last_broker_error(const enlace_conn_t *conn);

/* From Welcome: our agency id as the broker sees it, role, checkpoint origin. Borrowed;
 * NULL/ENLACE_ROLE_UNSPECIFIED before the first Welcome. */
const char *enlace_agency_id(const enlace_conn_t *conn);
enlace_role_t enlace_role(const enlace_conn_t *conn);
const char *enlace_log_origin(const enlace_conn_t *conn);

/* Ping the broker and wait for its Pong. ENLACE_OK, ENLACE_ERR_TIMEOUT, ENLACE_ERR_CLOSED
 * and the connection errors of enlace_next. timeout_ms < 0: the options' timeout. */
enlace_err_t enlace_ping(enlace_conn_t *conn, int timeout_ms);

/* ------------------------------------------------------------------------------------
 * Publish
 * ---------------------------------------------------------------------------------- */

/* What to publish. Strings and arrays are borrowed for the duration of the call. Zero
 * the struct (or use = {0}) and fill what applies. */
typedef struct {
    const char *topic;                /* required, e.g. "alerts/trafficking" */
    enlace_tlp_t tlp;                 /* required */
    const char *const *recipients;    /* agency ids; n_recipients == 0: every agency the
                                         broker's directory lists as reader of topic */
    size_t n_recipients;              /* at most ENLACE_MAX_RECIPIENTS */
    enlace_message_type_t type;       /* UNSPECIFIED = case message */
    enlace_notice_t notice;           /* optional */
    enlace_handling_t handling;       /* optional */
    enlace_reliability_t reliability; /* optional */
    enlace_accuracy_t accuracy;       /* optional */
    const char *case_ref;             /* optional */
    const uint8_t *in_reply_to;       /* optional: ENLACE_MESSAGE_ID_LEN bytes */
    const char *language;             /* optional BCP 47 tag, e.g. "es-MX" */
    const char *content_type;         /* optional media type, e.g. "text/plain" */
    uint64_t expires_at_ms;           /* optional, Unix ms; 0 = none */
} enlace_publish_params_t;

/* The broker's durable acknowledgement of a publish. */
typedef struct {
    uint8_t message_id[ENLACE_MESSAGE_ID_LEN]; /* fresh random id of the message */
    uint64_t seq;                              /* log sequence number of the record */
    uint8_t leaf_hash[32];                     /* RFC 9162 leaf hash of the record */
    bool duplicate;        /* the broker had logged this message already (retry) */
    size_t n_encrypted_to; /* recipients the payload was encrypted to (ourselves too) */
    size_t n_skipped;      /* directory entries skipped: no certificate known */
} enlace_ack_t;

/* Publish data[0..len) and wait for the broker's durable acknowledgement.
 * Recipients' certificates come from the broker's directory (cached for a minute) and
 * are each verified against our CA bundle (EKU clientAuth, CRL when configured) and
 * checked to carry the agency id of their entry; the payload is encrypted (CMS
 * AuthEnvelopedData, AES-256-GCM) to each of them and to ourselves, the header is
 * signed with our key. With opts.reconnect, a publish interrupted by a lost connection
 * is sent again (same message id; the broker answers duplicate=true if it had it).
 * Returns ENLACE_OK with *ack filled, or:
 *   ENLACE_ERR_INVALID     bad params (topic, labels, recipients, TLP:RED or
 *                          TLP:AMBER+STRICT without explicit recipients, expiry past)
 *   ENLACE_ERR_NOT_FOUND   a named recipient is not in the directory or has no
 *                          certificate (with no named recipients, agencies without a
 *                          certificate are skipped and counted in ack->n_skipped; if no
 *                          other agency may read the topic, only we can decrypt it)
 *   ENLACE_ERR_BAD_CERT    a directory certificate failed verification
 *   ENLACE_ERR_TOO_LARGE   the frame exceeds the broker's max_frame
 *   ENLACE_ERR_DENIED      the broker refused (enlace_last_broker_error: code)
 *   ENLACE_ERR_TIMEOUT, ENLACE_ERR_CLOSED, ENLACE_ERR_IO, ENLACE_ERR_PROTOCOL,
 *   ENLACE_ERR_CRYPTO, ENLACE_ERR_NOMEM */
enlace_err_t enlace_publish(enlace_conn_t *conn, const enlace_publish_params_t *params,
                            const uint8_t *data, size_t len, enlace_ack_t *ack);

/* Pipelining: send a publish without waiting (*token identifies it), then collect each
 * acknowledgement with enlace_publish_wait (timeout_ms < 0: the options' timeout), in
 * any order. Every sent publish must be waited for: its acknowledgement is kept until
 * then. Same returns as enlace_publish, split between the two calls (the broker's
 * refusal comes from enlace_publish_wait). No automatic resend. */
enlace_err_t enlace_publish_send(enlace_conn_t *conn, const enlace_publish_params_t *params,
                                 const uint8_t *data, size_t len, uint64_t *token);
enlace_err_t enlace_publish_wait(enlace_conn_t *conn, uint64_t token, int timeout_ms,
                                 enlace_ack_t *ack);

/* ------------------------------------------------------------------------------------
 * Subscribe and receive
 * ---------------------------------------------------------------------------------- */

typedef enum {
    ENLACE_START_NEW = 1,       /* only messages committed after subscribing */
    ENLACE_START_FROM_SEQ = 2,  /* from log sequence number `from` */
    ENLACE_START_FROM_TIME = 3, /* from the first record at or after `from` (Unix ms) */
    ENLACE_START_RESUME = 4,    /* after the last message acknowledged under this name
                                   (never acknowledged: the whole log) */
} enlace_start_t;

/* Subscribe under the durable `name` ([A-Za-z0-9._-], at most 64) to the topic filter
 * `filter` ('+' one level, '#' the rest). *sub_id receives a local subscription id,
 * stable across enlace_reconnect; *next_seq (may be NULL) the first sequence number the
 * broker will read. Returns ENLACE_OK, ENLACE_ERR_INVALID (bad name/filter/start),
 * ENLACE_ERR_DENIED (e.g. NOT_AUTHORIZED: the filter is wider than the policy allows),
 * and the connection errors. */
enlace_err_t enlace_subscribe(enlace_conn_t *conn, const char *name, const char *filter,
                              enlace_start_t start, uint64_t from, uint32_t *sub_id,
                              uint64_t *next_seq);

/* Stop a subscription (its durable cursor stays on the broker for a later RESUME).
 * Messages of it still queued are dropped. ENLACE_OK, ENLACE_ERR_NOT_FOUND (unknown id)
 * or the connection errors. */
enlace_err_t enlace_unsubscribe(enlace_conn_t *conn, uint32_t sub_id);

typedef struct enlace_message enlace_message_t;

/* Wait up to timeout_ms (< 0: forever, 0: only what has arrived) for the next delivery
 * of any subscription, verify it and hand it over in *msg (enlace_message_free).
 * Each delivery is checked, in this order: the sender certificate (Deliver.signer_cert,
 * else the directory's) chains to our CA bundle with EKU clientAuth (and CRL); its
 * agency id equals header.sender; header decodes, names that certificate, signature
 * and payload hash verify; the topic matches the subscription filter; the payload
 * decrypts for our certificate (plaintext released only on success).
 * Returns:
 *   ENLACE_OK             *msg is a verified, decrypted message
 *   ENLACE_ERR_BAD_CERT, ENLACE_ERR_BAD_SIGNATURE, ENLACE_ERR_HASH_MISMATCH,
 *   ENLACE_ERR_MALFORMED, ENLACE_ERR_DECRYPT, ENLACE_ERR_PROTOCOL
 *                         *msg is a REJECTED message: no payload, header fields (when
 *                         decodable) unverified; enlace_message_error() says why. It is
 *                         not acknowledged: decide, and enlace_ack() it to move on, or
 *                         leave it to be delivered again after a reconnect.
 *   ENLACE_ERR_TIMEOUT    nothing arrived (*msg NULL)
 *   ENLACE_ERR_CLOSED, ENLACE_ERR_IO, ENLACE_ERR_PROTOCOL (with *msg NULL), ...
 *                         the connection is down (enlace_reconnect), *msg NULL. */
enlace_err_t enlace_next(enlace_conn_t *conn, int timeout_ms, enlace_message_t **msg);

/* Acknowledge msg (and, cumulatively, every earlier message of its subscription) once
 * the application has accepted it: the broker records the delivery and moves the
 * durable cursor. ENLACE_OK, ENLACE_ERR_CLOSED (msg came over an earlier connection:
 * it will be delivered again), ENLACE_ERR_NOT_FOUND (subscription gone) or the
 * connection errors. */
enlace_err_t enlace_ack(enlace_conn_t *conn, const enlace_message_t *msg);

/* Free msg (the plaintext is wiped), set *msg to NULL. Safe on NULL and twice. */
void enlace_message_free(enlace_message_t **msg);

/* Accessors. Pointers are borrowed from msg. For a rejected message the header fields
 * come from the unverified header, or are empty when it could not be decoded. */
enlace_err_t enlace_message_status(const enlace_message_t *msg);   /* ENLACE_OK = verified */
const char *enlace_message_error(const enlace_message_t *msg);     /* "" when verified */
uint32_t enlace_message_subscription(const enlace_message_t *msg); /* local sub id */
uint64_t enlace_message_seq(const enlace_message_t *msg);
uint64_t enlace_message_logged_at_ms(const enlace_message_t *msg); /* broker's time */
/* Plaintext; NULL (and *len 0) for a rejected message. len may be NULL. */
const uint8_t *enlace_message_payload(const enlace_message_t *msg, size_t *len);
/* 16 bytes, or NULL when the header could not be decoded. */
const uint8_t *enlace_message_id(const enlace_message_t *msg);
const char *enlace_message_sender(const enlace_message_t *msg); /* "" if unknown */
const char *enlace_message_topic(const enlace_message_t *msg);  /* "" if unknown */
size_t enlace_message_recipient_count(const enlace_message_t *msg);
const char *enlace_message_recipient(const enlace_message_t *msg, size_t i);
enlace_tlp_t enlace_message_tlp(const enlace_message_t *msg);
enlace_handling_t enlace_message_handling(const enlace_message_t *msg);
enlace_reliability_t enlace_message_reliability(const enlace_message_t *msg);
enlace_accuracy_t enlace_message_accuracy(const enlace_message_t *msg);
enlace_message_type_t enlace_message_type(const enlace_message_t *msg);
enlace_notice_t enlace_message_notice(const enlace_message_t *msg);
const char *enlace_message_case_ref(const enlace_message_t *msg);       /* NULL if absent */
const uint8_t *enlace_message_in_reply_to(const enlace_message_t *msg); /* NULL if absent */
const char *enlace_message_language(const enlace_message_t *msg);       /* NULL if absent */
const char *enlace_message_content_type(const enlace_message_t *msg);   /* NULL if absent */
uint64_t enlace_message_created_at_ms(const enlace_message_t *msg);
uint64_t enlace_message_expires_at_ms(const enlace_message_t *msg); /* 0: none */
/* SHA-256 of the sender certificate's DER into out; false when none was available. */
bool enlace_message_signer_fingerprint(const enlace_message_t *msg, uint8_t out[32]);

/* ------------------------------------------------------------------------------------
 * Directory
 * ---------------------------------------------------------------------------------- */

typedef struct enlace_directory enlace_directory_t;

/* Fetch the broker's directory: every agency, or with topic (may be NULL) only the
 * agencies the policy lets read it. Every certificate is verified against our CA bundle
 * and its agency id checked against the entry; the outcome is per entry.
 * Returns ENLACE_OK with *out (enlace_directory_free), ENLACE_ERR_INVALID (bad topic),
 * ENLACE_ERR_DENIED and the connection errors. */
enlace_err_t enlace_directory(enlace_conn_t *conn, const char *topic, enlace_directory_t **out);
size_t enlace_directory_count(const enlace_directory_t *dir);
const char *enlace_directory_agency(const enlace_directory_t *dir, size_t i);
enlace_role_t enlace_directory_role(const enlace_directory_t *dir, size_t i);
/* ENLACE_OK (verified), ENLACE_ERR_NOT_FOUND (no certificate listed) or
 * ENLACE_ERR_BAD_CERT (refused; enlace_directory_cert_error says why). */
enlace_err_t enlace_directory_cert_status(const enlace_directory_t *dir, size_t i);
const char *enlace_directory_cert_error(const enlace_directory_t *dir, size_t i);
/* SHA-256 of the certificate DER; false when no certificate was listed. */
bool enlace_directory_fingerprint(const enlace_directory_t *dir, size_t i, uint8_t out[32]);
/* notAfter of the certificate, Unix seconds; 0 when none. */
int64_t enlace_directory_not_after(const enlace_directory_t *dir, size_t i);
void enlace_directory_free(enlace_directory_t **dir);

/* ------------------------------------------------------------------------------------
 * Receipts: proof that a message is in the log
 * ---------------------------------------------------------------------------------- */

typedef struct enlace_receipt enlace_receipt_t;

/* Ask the broker for the receipt of message_id (a message we sent or may read) and
 * verify it: the checkpoint's signature with the pinned checkpoint key (or, when
 * opts.checkpoint_key was not given, the key from Welcome: then
 * enlace_receipt_key_pinned() is false and the proof only shows consistency with the
 * broker's own word), tree size equal to the checkpoint's, the record's leaf hash
 * included at its sequence number under the checkpoint root (RFC 9162), and the record
 * being the Published record of message_id.
 * Returns ENLACE_OK with *out verified; ENLACE_ERR_BAD_SIGNATURE, ENLACE_ERR_HASH_MISMATCH
 * or ENLACE_ERR_MALFORMED with *out set (not verified; enlace_receipt_error says why);
 * ENLACE_ERR_DENIED (e.g. NOT_FOUND, NOT_AUTHORIZED) and the connection errors with *out
 * NULL. */
enlace_err_t enlace_receipt(enlace_conn_t *conn, const uint8_t message_id[ENLACE_MESSAGE_ID_LEN],
                            enlace_receipt_t **out);
enlace_err_t enlace_receipt_status(const enlace_receipt_t *r); /* ENLACE_OK = verified */
const char *enlace_receipt_error(const enlace_receipt_t *r);   /* "" when verified */
bool enlace_receipt_key_pinned(const enlace_receipt_t *r);
uint64_t enlace_receipt_seq(const enlace_receipt_t *r);
uint64_t enlace_receipt_tree_size(const enlace_receipt_t *r);
uint64_t enlace_receipt_logged_at_ms(const enlace_receipt_t *r);  /* 0 if unknown */
const char *enlace_receipt_sender(const enlace_receipt_t *r);     /* "" if unknown */
const char *enlace_receipt_checkpoint(const enlace_receipt_t *r); /* signed note text */
const char *enlace_receipt_origin(const enlace_receipt_t *r);     /* "" if unverified */
/* Merkle root of the checkpoint (32 bytes) and the record's leaf hash. */
const uint8_t *enlace_receipt_root(const enlace_receipt_t *r);
const uint8_t *enlace_receipt_leaf_hash(const enlace_receipt_t *r);
void enlace_receipt_free(enlace_receipt_t **r);

#ifdef __cplusplus
}
#endif

#endif
