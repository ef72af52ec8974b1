/* sequencer — the broker's single log-writer thread.
 *
 * The sequencer owns the audit log (common/log_store.h). Every record the
 * broker writes reaches it as a bus message (bus.h); it assigns sequence
 * numbers, appends everything queued, commits with one fdatasync (group
 * commit), and only then answers: PublishAcks, Subscribed, receipts. After
 * each commit it tells every io thread the new committed head, which is what
 * moves subscription cursors. It also keeps the indexes that need the whole
 * log: message id -> seq (duplicates, receipts), certificate digest -> seq of
 * the record that carries the certificate, durable cursors per (agency, name)
 * and record times (start from a time). They are rebuilt at open by reading
 * the log back, so the log stays the only source of truth.
 *
 * Signs a checkpoint at most once a second while the log grows, on demand
 * for a receipt, and at stop.
 */
#ifndef ENLACE_SEQUENCER_H
#define ENLACE_SEQUENCER_H

#include <stdint.h>
#include <openssl/evp.h>

#include "config.h"
#include "enlace_err.h"
#include "log_store.h"

typedef struct sequencer sequencer_t;

/* Opens (and recovers) the log named by cfg, rebuilds the indexes and
 * appends a BrokerStarted record (and a Recovery record when a torn tail was
 * cut). Runs in the caller's thread. n_io: number of io threads to notify.
 * Returns ENLACE_OK, or the log's error (ENLACE_ERR_ROLLBACK, ENLACE_ERR_CORRUPT,
 * ENLACE_ERR_IO, ...) with why naming the cause. */
enlace_err_t sequencer_open(const broker_config_t *cfg, void *zctx, int n_io, sequencer_t **out,
                            char *why, size_t why_len);

/* Starts the thread. It runs until it receives BUS_STOP, then appends a
 * BrokerStopped record, commits, signs a final checkpoint and exits. */
enlace_err_t sequencer_start(sequencer_t *s);

/* Waits for the thread (after BUS_STOP was sent) and frees everything. */
void sequencer_destroy(sequencer_t **s);

/* The log, for io threads' concurrent log_read/log_size calls. */
log_store_t *sequencer_log(sequencer_t *s);
/* Raw 32-byte Ed25519 checkpoint public key (Welcome.checkpoint_key). */
const uint8_t *sequencer_checkpoint_pub(const sequencer_t *s);

#endif
