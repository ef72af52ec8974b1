/* conn — the connection state shared by libenlace's modules (internal, not installed).
 *
 * enlace_conn_t is opaque to applications (enlace.h). Inside the library, publish.c,
 * subscribe.c, message.c, directory.c and receipt.c all work on one connection, so
 * the struct is defined here rather than in conn.c; only conn.c changes the transport,
 * decoder and queues, the other modules go through the conn_* functions below.
 *
 * Frame flow. conn_send() encodes a frame into the output buffer and flushes it before a
 * deadline. Incoming bytes pass through the bounded codec decoder (STYLE.md rule 7) and
 * are sorted as they arrive: Deliver frames into the delivery queue (taken by
 * enlace_next), replies (PublishAck, Subscribed, Directory, Receipt, Pong, Error with a
 * correlation id) into the reply list (taken by conn_wait_reply), Ping answered at once,
 * Goodbye and connection-level Errors recorded. Both queues are bounded by the broker:
 * it keeps a window of unacknowledged deliveries and answers only what was asked.
 */
#ifndef ENLACE_CLIENT_CONN_H
#define ENLACE_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "codec.h"
#include "enlace.h"
#include "enlace.pb-c.h"
#include "transport.h"

/* Directory results kept for publishes (per topic, NULL topic = all agencies). */
#define CONN_DIR_CACHE 8
#define CONN_DIR_TTL_MS 60000
/* Sender certificates already verified on this handle. */
#define CONN_CERT_CACHE 64
/* Replies nobody waits for any more (after a timeout) are dropped beyond this many. */
#define CONN_MAX_REPLIES 1024

/* One subscription as the application knows it; the local id survives reconnects. */
typedef struct {
    uint32_t local_id;    /* id handed to the application */
    uint32_t remote_id;   /* broker's subscription id on connection `generation` */
    uint32_t generation;  /* connection the remote id belongs to */
    char *name;           /* durable name */
    char *filter;         /* topic filter */
    enlace_start_t start; /* how it was first made */
    uint64_t first_seq;   /* Subscribed.next_seq of the first subscribe */
    bool acked;           /* something was acknowledged through enlace_ack */
    uint64_t last_acked;  /* highest seq acknowledged (valid when acked) */
} conn_sub_t;

/* A received frame waiting in a queue. */
typedef struct frame_node {
    struct frame_node *next; /* FIFO link */
    uint64_t corr;           /* correlation id (replies) */
    Enlace__Frame *frame;    /* owned; codec_free */
} frame_node_t;

/* A verified sender certificate. */
typedef struct {
    uint8_t fp[32];                    /* SHA-256 of the DER */
    X509 *cert;                        /* owned */
    char agency[ENLACE_AGENCY_ID_BUF]; /* its agency id */
} conn_cert_t;

/* A cached directory listing. */
typedef struct {
    bool used;               /* slot holds a listing */
    char *topic;             /* topic asked for, NULL = all agencies */
    enlace_directory_t *dir; /* owned */
    int64_t fetched_ms;      /* transport_now_ms() when fetched */
} conn_dir_t;

/* A publish sent with enlace_publish_send and not yet waited for. */
typedef struct {
    uint64_t token; /* correlation id */
    uint8_t message_id[ENLACE_MESSAGE_ID_LEN];
    size_t n_encrypted_to, n_skipped; /* for the ack */
} conn_inflight_t;

struct enlace_conn {
    /* options (strings owned) */
    enlace_options_t opts; /* string members point at the copies below */
    char *host, *cert_path, *key_path, *ca_path, *crl_path, *ckpt_path, *client_name;
    /* identity and trust, loaded by the first enlace_connect */
    bool loaded;                      /* the fields below are valid */
    X509_STORE *trust;                /* CA bundle (+CRL): broker, senders, directory */
    X509 *my_cert;                    /* our leaf certificate */
    STACK_OF(X509) * my_chain;        /* leaf + intermediates from the cert file */
    EVP_PKEY *my_key;                 /* our private key */
    char my_id[ENLACE_AGENCY_ID_BUF]; /* agency id of my_cert */
    SSL_CTX *ssl_ctx;                 /* client TLS context */
    bool pinned;                      /* pinned_key is from opts.checkpoint_key */
    uint8_t pinned_key[32];           /* pinned Ed25519 checkpoint key */
    char *pinned_name;                /* key name from a verifier-key file, else NULL */
    /* connection */
    transport_t *tp;      /* NULL when down */
    codec_decoder_t *dec; /* frame decoder of the current connection */
    bool up;              /* Welcome received and not closed since */
    uint32_t generation;  /* incremented on every Welcome */
    enlace_err_t down_rc; /* why the connection is down (ENLACE_ERR_CLOSED...) */
    /* Welcome */
    Enlace__Frame *welcome;               /* the Welcome frame while connecting, then kept */
    char agency_id[ENLACE_AGENCY_ID_BUF]; /* identity the broker sees */
    enlace_role_t role;                   /* our role */
    uint32_t broker_max_frame;            /* largest frame the broker accepts */
    char *log_origin;                     /* checkpoint origin / key name */
    uint8_t welcome_key[32];              /* checkpoint key the broker announced */
    /* output */
    uint8_t *out; /* encoded frames not yet written */
    size_t out_len, out_off, out_cap;
    /* input */
    frame_node_t *replies, *replies_tail;       /* replies by correlation id */
    size_t n_replies;                           /* entries in replies (bounded: CONN_MAX_REPLIES) */
    frame_node_t *deliveries, *deliveries_tail; /* Deliver frames in arrival order */
    uint64_t frames_in;                         /* frames received (progress counter) */
    uint64_t next_corr;                         /* next correlation id / ping nonce */
    /* subscriptions */
    conn_sub_t *subs; /* array */
    size_t n_subs, cap_subs;
    uint32_t next_local_id;
    /* caches and publishes in flight */
    conn_cert_t certs[CONN_CERT_CACHE];
    size_t n_certs, next_cert;
    conn_dir_t dirs[CONN_DIR_CACHE];
    conn_inflight_t *inflight;
    size_t n_inflight, cap_inflight;
    /* errors */
    char err[768];                    /* enlace_last_error */
    enlace_broker_error_t broker_err; /* enlace_last_broker_error */
};

/* (identity.c) Load certificate, key, trust store (CA + CRL), pinned checkpoint key and
 * the TLS context from conn->opts. Returns ENLACE_OK or ENLACE_ERR_INVALID with conn's
 * error naming the file (ENLACE_ERR_NOMEM). On failure, call conn_unload_identity. */
enlace_err_t conn_load_identity(enlace_conn_t *conn);
/* (identity.c) Free what conn_load_identity loaded; safe on a partial load and twice. */
void conn_unload_identity(enlace_conn_t *conn);

/* Record a failure: err text from fmt (previous text replaced), broker code reset.
 * Returns rc, so `return conn_fail(conn, ENLACE_ERR_INVALID, "...")` reads well. */
enlace_err_t conn_fail(enlace_conn_t *conn, enlace_err_t rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear the last error (start of a public call). */
void conn_clear_error(enlace_conn_t *conn);

/* Absolute deadline for timeout_ms (< 0: the options' timeout; the options' < 0: none). */
int64_t conn_deadline(const enlace_conn_t *conn, int timeout_ms);

/* Fresh correlation id (never 0). */
uint64_t conn_next_corr(enlace_conn_t *conn);

/* Encode f, append it and write everything pending before deadline. Refuses a frame
 * above the broker's max_frame (ENLACE_ERR_TOO_LARGE). Returns ENLACE_OK,
 * ENLACE_ERR_TOO_LARGE, ENLACE_ERR_TIMEOUT, ENLACE_ERR_NOMEM or the connection-down code
 * (ENLACE_ERR_CLOSED, ENLACE_ERR_IO, ENLACE_ERR_PROTOCOL) with conn's error set. */
enlace_err_t conn_send(enlace_conn_t *conn, const Enlace__Frame *f, int64_t deadline);

/* Wait until the reply with correlation id corr arrives. A reply of kind `expect` is
 * returned in *out (codec_free). An Error reply sets the broker error and returns
 * ENLACE_ERR_DENIED; another kind: ENLACE_ERR_PROTOCOL. Also ENLACE_ERR_TIMEOUT and
 * the connection-down codes. */
enlace_err_t conn_wait_reply(enlace_conn_t *conn, uint64_t corr, Enlace__Frame__KindCase expect,
                             int64_t deadline, Enlace__Frame **out);

/* Read what the broker sent, waiting until at least one frame arrived or deadline.
 * Returns ENLACE_OK (frames may have been queued), ENLACE_ERR_TIMEOUT or the
 * connection-down code. */
enlace_err_t conn_poll(enlace_conn_t *conn, int64_t deadline);

/* Take the oldest queued Deliver frame (caller codec_frees), NULL when none. */
Enlace__Frame *conn_pop_delivery(enlace_conn_t *conn);

/* Drop queued deliveries of broker subscription remote_id. */
void conn_drop_deliveries(enlace_conn_t *conn, uint32_t remote_id);

/* Subscription lookup: by local id, or by the broker's id on the current connection. */
conn_sub_t *conn_sub_by_local(enlace_conn_t *conn, uint32_t local_id);
conn_sub_t *conn_sub_by_remote(enlace_conn_t *conn, uint32_t remote_id);

/* (subscribe.c) Send Subscribe for s with start/from and wait for Subscribed; sets
 * s->remote_id, s->generation and *next_seq. Returns as enlace_subscribe. */
enlace_err_t sub_request(enlace_conn_t *conn, conn_sub_t *s, enlace_start_t start, uint64_t from,
                         int64_t deadline, uint64_t *next_seq);

/* (directory.c) Directory for topic (NULL = all agencies), from the cache when younger
 * than CONN_DIR_TTL_MS unless fresh is true. The result is borrowed from the cache.
 * Returns as enlace_directory. */
enlace_err_t dir_cached(enlace_conn_t *conn, const char *topic, bool fresh, int64_t deadline,
                        const enlace_directory_t **out);
/* (directory.c) The verified certificate of agency in dir, NULL when absent/refused;
 * *status receives the entry's status (ENLACE_ERR_NOT_FOUND when not listed). */
X509 *dir_cert(const enlace_directory_t *dir, const char *agency, enlace_err_t *status);
/* (directory.c) Verified certificate of entry i (NULL when none/refused). */
X509 *dir_cert_at(const enlace_directory_t *dir, size_t i);
/* (directory.c) Free the cached listings. */
void dir_cache_clear(enlace_conn_t *conn);

/* (message.c) Verified sender certificate lookup/insert (cache takes a reference). */
X509 *conn_cert_lookup(enlace_conn_t *conn, const uint8_t fp[32], char *agency, size_t len);
void conn_cert_insert(enlace_conn_t *conn, const uint8_t fp[32], X509 *cert, const char *agency);
void conn_cert_clear(enlace_conn_t *conn);

#endif
