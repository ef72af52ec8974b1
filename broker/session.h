/* session — one agency's TLS connection inside an io thread.
 *
 * Internal to the io threads (io_thread.c, session.c, delivery.c): the
 * structures are visible here because the three files share them, but no
 * other thread ever touches a session. A session moves through
 *   HANDSHAKE -> HELLO -> READY -> CLOSING
 * Identity and authorisation are settled before READY: the TLS handshake
 * verifies the certificate (chain, CRL, EKU), then the agency id from the
 * certificate must exist in the policy, then the client's Hello is answered
 * with Welcome. Only READY sessions touch topics, the log or subscriptions.
 */
#ifndef ENLACE_SESSION_H
#define ENLACE_SESSION_H

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <openssl/ssl.h>

#include "bus.h"
#include "codec.h"
#include "enlace.pb-c.h"
#include "io_thread.h"
#include "tls_server.h"

#define SESSION_MAX_SUBS 16      /* subscriptions per session */
#define SESSION_MAX_PENDING 1024 /* publishes awaiting durability per session */
#define SUB_WINDOW 1024          /* unacknowledged deliveries per subscription */
#define KIND_RING 65536          /* recent records whose kind an io thread remembers */
#define IO_HOLD_MAX 256          /* Delivered records an io thread holds back ... */
#define IO_HOLD_MS 5             /* ... for at most this long (io_to_sequencer) */

typedef enum { SESSION_HANDSHAKE, SESSION_HELLO, SESSION_READY, SESSION_CLOSING } session_state_t;

typedef struct subscription {
    bool used;             /* slot in use */
    bool active;           /* Subscribed was sent; cursor runs */
    uint32_t id;           /* subscription id on the wire */
    uint64_t correlation;  /* of the Subscribe, until Subscribed */
    char name[72];         /* durable name */
    char filter[264];      /* topic filter */
    uint64_t next;         /* next log seq to examine */
    bool caught_up;        /* next was the head when the head last advanced */
    bool hit;              /* a new record matched this filter (topic index) */
    uint64_t *inflight;    /* seqs delivered, not yet acknowledged (ring of SUB_WINDOW) */
    size_t in_head;        /* ring index of the oldest */
    size_t in_count;       /* entries in the ring */
    struct session *owner; /* the session (set while active) */
} subscription_t;

typedef struct session {
    uint64_t id;                  /* broker-unique session id */
    int fd;                       /* TCP socket */
    SSL *ssl;                     /* TLS state */
    session_state_t state;        /* where in the life cycle */
    char peer[64];                /* "address:port" */
    tls_peer_info_t tls_info;     /* what certificate verification saw */
    snapshot_t *snap;             /* trust/policy in force for this session (a reference) */
    char agency[72];              /* agency id from the certificate */
    Enlace__Role role;            /* from the policy */
    X509 *cert;                   /* peer leaf certificate */
    STACK_OF(X509) * chain;       /* peer chain as sent (for re-verification) */
    uint8_t cert_sha256[32];      /* leaf fingerprint */
    time_t cert_not_after;        /* leaf expiry: a live session ends when it passes */
    uint8_t *cert_der;            /* leaf DER (for Published records) */
    size_t cert_der_len;          /* bytes in cert_der */
    struct sigfast_key *verifier; /* envelope checks against cert, made at the first publish */
    bool opened;                  /* a SessionOpened record was written */
    bool counted;                 /* holds a slot in agency_count */
    bool lingering;               /* refused handshake: draining input so the alert arrives */
    codec_decoder_t *dec;         /* bounded frame decoder */
    uint8_t *out;                 /* encoded frames waiting for SSL_write */
    size_t out_len;               /* bytes in out */
    size_t out_off;               /* bytes of out already written */
    size_t out_cap;               /* allocated size of out */
    bool want_write;              /* EPOLLOUT registered */
    bool reading_paused;          /* EPOLLIN withdrawn (backpressure) */
    bool more_input;              /* stopped at the per-pass read cap: continue next pass */
    bool needs_service;           /* replies or new records queued: service after the bus drain */
    uint32_t events;              /* epoll events currently registered */
    unsigned pending;             /* publishes sent to the sequencer, unanswered */
    uint64_t deadline_ms;         /* handshake deadline, then idle deadline */
    uint32_t next_sub_id;         /* id for the next subscription */
    subscription_t subs[SESSION_MAX_SUBS];
    char close_reason[320]; /* why the session is closing */
} session_t;

/* The io thread's state as the session code sees it. */
typedef struct io_thread {
    int index;            /* thread number, for replies */
    io_shared_t shared;   /* broker-wide read-only state */
    snapshot_t *snap;     /* newest snapshot (new sessions use it) */
    void *pull;           /* inproc PULL (bound) */
    void *to_seq;         /* PUSH to the sequencer */
    int epfd;             /* epoll instance */
    int timerfd;          /* periodic timeout tick */
    uint64_t head;        /* committed log size last announced */
    session_t **sessions; /* sessions owned by this thread */
    size_t n_sessions, cap_sessions;
    session_t **dirty; /* sessions to service after the bus drain (needs_service set) */
    size_t n_dirty, cap_dirty;
    uint64_t next_session;    /* counter for session ids */
    struct rcache *cache;     /* recently read records, shared by this thread's cursors */
    struct topic_index *subs; /* filters of this thread's active subscriptions */
    subscription_t **active;  /* this thread's active subscriptions */
    size_t n_active, cap_active;
    struct certdir *certs; /* latest certificate per agency (the sequencer's copy) */
    uint8_t *kinds;        /* ring of KIND_RING: 1 = record is Published */
    uint64_t kinds_from;   /* kinds are known for seqs [kinds_from, kinds_to) */
    uint64_t kinds_to;
    bus_msg_t *held[IO_HOLD_MAX]; /* Delivered records not yet sent to the sequencer */
    size_t n_held;                /* entries in held */
    uint64_t held_since;          /* io_now_ms() when the oldest was held */
    bool stopping;                /* shutdown in progress */
    pthread_t thread;             /* the thread */
} io_thread_impl_t;

/* --- session.c --- */
/* Takes ownership of fd, creates the SSL and starts the handshake. NULL on failure (fd closed). */
session_t *session_new(io_thread_impl_t *io, int fd, const char *peer);
/* Handles readiness of the socket (readable and/or writable). */
void session_on_io(io_thread_impl_t *io, session_t *s, bool readable, bool writable);
/* Room for n more bytes of output, counted as queued: the caller writes them now.
 * NULL when out of memory. */
uint8_t *session_out_claim(session_t *s, size_t n);
/* Queues a frame; ENLACE_ERR_NOMEM when it cannot. */
enlace_err_t session_send(io_thread_impl_t *io, session_t *s, const Enlace__Frame *f);
void session_send_error(io_thread_impl_t *io, session_t *s, Enlace__ErrorCode code,
                        uint64_t correlation, const char *text);
/* Sends Goodbye (when READY), stops reading and closes once output is flushed. */
void session_close(io_thread_impl_t *io, session_t *s, const char *reason);
/* Frees everything the session owns, writes SessionClosed, releases subscriptions. */
void session_free(io_thread_impl_t *io, session_t **s);
/* Reply from the sequencer for this session: queues the frame and marks the session for
 * session_service, which the io thread runs once after draining its bus (one write for
 * a whole batch of acknowledgements, not one per reply). */
void session_on_reply(io_thread_impl_t *io, session_t *s, bus_msg_t *m);
/* Closes the session (Goodbye + audit) when its certificate has expired since the handshake. */
void session_check_expiry(io_thread_impl_t *io, session_t *s, time_t now);
/* Re-checks a live session against a new snapshot (certificate, revocation, policy). */
void session_recheck(io_thread_impl_t *io, session_t *s, snapshot_t *snap);
/* Flushes output, resumes reading paused by backpressure, moves cursors, flushes. */
void session_service(io_thread_impl_t *io, session_t *s);
/* Frees a large, empty output buffer (called on the periodic tick: freeing it after
 * every flush would churn the allocator while a subscriber is busy). */
void session_trim(session_t *s);
/* Writes pending output; updates epoll interest. */
void session_flush(io_thread_impl_t *io, session_t *s);
void session_update_events(io_thread_impl_t *io, session_t *s);
/* Marks s to be serviced (flush, pump) once the current bus drain is done. */
void io_mark_service(io_thread_impl_t *io, session_t *s);
/* Sends a record or request to the sequencer (ownership of m moves); Delivered
 * records may be held back briefly and go with the next message. */
void io_to_sequencer(io_thread_impl_t *io, bus_msg_t *m);
/* Sends the held Delivered records now. */
void io_flush_held(io_thread_impl_t *io);
uint64_t io_now_ms(void);

/* --- delivery.c --- */
/* Moves every active cursor of s forward as far as window and buffer allow. */
void delivery_pump(io_thread_impl_t *io, session_t *s);
/* The committed head moved from old_head to new_head: cursors that were caught
 * up skip the new records no filter of theirs matches (found with the topic
 * index, once per record instead of once per subscription and record), and the
 * sessions with subscriptions are marked for service (io_mark_service). Costs
 * nothing per session without subscriptions. */
void delivery_head_advanced(io_thread_impl_t *io, uint64_t old_head, uint64_t new_head);
/* Takes what a head announcement says of its range: which records are publications,
 * and the publications themselves (their references move into this thread's cache). */
void delivery_note_head(io_thread_impl_t *io, bus_msg_t *m);
/* Starts / stops routing new records to an active subscription. */
void delivery_sub_added(io_thread_impl_t *io, struct session *s, subscription_t *sub);
void delivery_sub_removed(io_thread_impl_t *io, subscription_t *sub);
/* Handles a DeliverAck: acknowledges inflight seqs <= seq, writes Delivered. */
void delivery_ack(io_thread_impl_t *io, session_t *s, const Enlace__DeliverAck *ack);
struct rcache *rcache_new(void);
void rcache_destroy(struct rcache **c);

#endif
