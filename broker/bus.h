/* bus — messages between the broker's threads over libzmq inproc sockets.
 *
 * Threads share no mutable state: they exchange bus_msg_t structures. The
 * sender allocates one with bus_msg_new(), fills it and passes it with
 * bus_send(); ownership moves with the message (only the pointer travels
 * through libzmq), and the receiver frees it with bus_msg_free().
 *
 * Endpoints: the sequencer binds PULL "inproc://sequencer"; io thread i
 * binds PULL "inproc://io-<i>". Every sender connects a PUSH socket of its
 * own (a libzmq socket belongs to one thread). High-water marks are
 * unlimited so a send never blocks or drops: memory is bounded instead by
 * the per-session limits on unacknowledged publishes and deliveries.
 */
#ifndef ENLACE_BUS_H
#define ENLACE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

struct snapshot;
struct publication;

#define BUS_SEQUENCER "inproc://sequencer"

typedef enum {
    /* io thread -> sequencer */
    BUS_APPEND = 1, /* append `record`; no reply (session/denial records) */
    BUS_PUBLISH,    /* append a Published record, deduplicated; reply PUBLISH_ACK or ERROR */
    BUS_DELIVERED,  /* append a Delivered record and move cursor (agency,name) to seq+1 */
    BUS_SUBSCRIBE,  /* resolve a durable cursor; reply SUBSCRIBED or ERROR */
    BUS_RELEASE,    /* session no longer uses durable subscription (agency,name) */
    BUS_RECEIPT,    /* inclusion proof for message_id; reply RECEIPT or ERROR */
    BUS_STOP,       /* main -> sequencer: final record, checkpoint, exit */
    /* sequencer / main -> io thread */
    BUS_CONN,        /* a new accepted connection: fd, peer */
    BUS_PUBLISH_ACK, /* seq, leaf, duplicate */
    BUS_SUBSCRIBED,  /* seq = first seq of the cursor */
    BUS_RECEIPT_OK,  /* seq, record, proof, tree_size, checkpoint */
    BUS_ERROR,       /* err_code, text for request correlation_id */
    BUS_HEAD,        /* committed log size is now `seq` (was `from`); when pubs_known,
                      `pubs` holds every Published record of [from, seq), in seq order */
    BUS_RELOAD,      /* new snapshot in `snapshot` (a reference moves with it) */
    BUS_CERT_SEEN,   /* `agency` connected with certificate `cert` (certdir.h) */
    BUS_SHUTDOWN,    /* say goodbye to every session and exit */
} bus_type_t;

typedef struct bus_msg {
    bus_type_t type;           /* what this is */
    bus_type_t request;        /* for replies: the type of the request answered */
    int io;                    /* index of the io thread that asked (replies go there) */
    uint64_t session_id;       /* session that asked, 0 if none */
    uint64_t correlation_id;   /* the client's correlation id, echoed in replies */
    uint8_t *record;           /* BUS_APPEND/DELIVERED: the Record's encoded kind field
                                  (log_append_kind); RECEIPT_OK: the packed Record; owned */
    size_t record_len;         /* bytes in record */
    char agency[72];           /* agency id of the session */
    char name[72];             /* durable subscription name */
    char filter[264];          /* topic filter (subscribe) */
    uint8_t message_id[16];    /* publish / receipt */
    int start;                 /* Enlace__StartMode (subscribe) */
    uint64_t from;             /* from_seq or from_time_ms (subscribe) */
    uint64_t seq;              /* reply seq / delivered-up-to seq / head */
    uint8_t leaf[32];          /* leaf hash (PUBLISH_ACK) */
    bool duplicate;            /* PUBLISH_ACK for an already-logged message id */
    int err_code;              /* Enlace__ErrorCode (BUS_ERROR) */
    char text[256];            /* error text (BUS_ERROR) */
    uint64_t tree_size;        /* RECEIPT_OK */
    uint8_t (*proof)[32];      /* RECEIPT_OK, owned */
    size_t proof_n;            /* entries in proof */
    char *checkpoint;          /* RECEIPT_OK signed note, owned */
    int fd;                    /* BUS_CONN socket, owned */
    char peer[64];             /* BUS_CONN "address:port" */
    struct snapshot *snapshot; /* BUS_RELOAD, one reference owned */
    uint8_t *cert;             /* BUS_APPEND of SessionOpened, BUS_CERT_SEEN: DER, owned */
    size_t cert_len;           /* bytes in cert */
    struct publication *pub;   /* BUS_PUBLISH: the message to log, one reference owned */
    struct publication **pubs; /* BUS_HEAD: new publications, one reference each owned */
    size_t n_pubs;             /* entries in pubs */
    bool pubs_known;           /* BUS_HEAD: pubs lists every publication of the range */
} bus_msg_t;

/* Zeroed message of the given type; NULL when out of memory. */
bus_msg_t *bus_msg_new(bus_type_t type);
/* Frees the message and everything it owns (closing fd >= 0 unless taken). Safe on NULL. */
void bus_msg_free(bus_msg_t **m);

/* New PUSH socket connected to endpoint / PULL socket bound to endpoint. NULL on failure. */
void *bus_push(void *zctx, const char *endpoint);
void *bus_pull(void *zctx, const char *endpoint);
/* Sends the message without blocking; on success *m becomes NULL (ownership moved).
 * ENLACE_ERR_AGAIN when the receiving thread is gone, ENLACE_ERR_IO on failure. */
enlace_err_t bus_send(void *sock, bus_msg_t **m);
/* Receives one message without blocking; ENLACE_ERR_AGAIN when none is queued. */
enlace_err_t bus_recv(void *sock, bus_msg_t **m);
/* Sends a BUS_ERROR reply for request `req` to sock. */
void bus_reply_error(void *sock, const bus_msg_t *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
