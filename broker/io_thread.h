/* io_thread — one of the broker's network threads.
 *
 * Each io thread runs an epoll loop over the TLS sessions it owns, its inproc
 * PULL socket (new connections, acks and the committed head from the
 * sequencer, reloads) and a 250 ms timer (handshake/idle timeouts). It owns
 * its sockets, SSL objects and sessions outright; everything it tells other
 * threads goes over its PUSH socket to the sequencer. Signature checks run
 * here, in the thread of the publishing session, so they spread over cores.
 */
#ifndef ENLACE_IO_THREAD_H
#define ENLACE_IO_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "enlace_err.h"
#include "log_store.h"
#include "snapshot.h"

typedef struct io_thread io_thread_t;

/* What every io thread shares read-only with the others. */
typedef struct io_shared {
    const broker_config_t *cfg;    /* limits, timeouts, verify_signatures */
    void *zctx;                    /* libzmq context */
    log_store_t *log;              /* committed records (log_read is thread-safe) */
    const uint8_t *checkpoint_pub; /* 32-byte Ed25519 key for Welcome */
    int *live_sessions;            /* atomic count of sessions broker-wide */
} io_shared_t;

/* Creates io thread `index` with the initial snapshot (a reference is taken). */
io_thread_t *io_thread_new(int index, const io_shared_t *shared, snapshot_t *snap);
/* Starts its thread. ENLACE_OK or ENLACE_ERR_NOMEM. */
enlace_err_t io_thread_start(io_thread_t *t);
/* Waits for the thread to end (after a BUS_SHUTDOWN was sent to it). */
void io_thread_join(io_thread_t *t);
/* Joins the thread if still running, frees what is still queued for it, and frees it.
 * Call after the sequencer has stopped, so nothing more is sent to it. */
void io_thread_destroy(io_thread_t **t);

#endif
