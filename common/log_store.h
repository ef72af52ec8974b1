/* log_store — the broker's append-only audit log: segments, index, Merkle tree, checkpoints.
 *
 * The log is the source of truth (DESIGN.md sections 2 and 7). One writer thread (the
 * broker's sequencer) owns the store: it appends records to a pending batch
 * (log_append), makes the whole batch durable with one fdatasync (log_commit: group
 * commit) and then publishes the new committed size; any number of other threads read
 * committed records concurrently (log_read, log_size), without locks: the committed
 * size is an atomic published with release order after the bytes and index entries, and
 * the index grows without ever moving an entry a reader may be looking at.
 *
 * Directory layout (log_options_t.dir, created 0700 when missing):
 *   seg-<20-digit first seq>.log   segments of [u32 len][u32 crc32c][Record] frames
 *                                  (format: log_segment.h), rolled at segment_size; the
 *                                  last may end in a zero tail (below)
 *   checkpoint                     the latest signed checkpoint (checkpoint.h), replaced
 *                                  atomically: temp file, fsync, rename, fsync directory
 *   checkpoints                    history: every checkpoint ever signed, in order, each
 *                                  note followed by a line holding one form feed
 *                                  ("\f\n"). A note never contains a control character
 *                                  but newline, so splitting on "\f\n" is exact; a final
 *                                  piece without its "\f\n" is a torn append (ignored, and
 *                                  cut by the next writer open).
 *   checkpoint.tmp                 transient (left only by a crash; replaced next time)
 *   next-segment.tmp               the next segment being prepared (LOG_PREPARED_FILE);
 *                                  deleted by log_close and by a writer open
 * The writer holds flock(LOCK_EX) on the directory while open; a second writer is
 * refused. Readers of the files (log_scan, read-only opens) take no lock.
 *
 * Index and tree are rebuilt in memory at open, not persisted: open reads every record
 * once (CRC, decode, SHA-256), which is also the check that recovery needs, and a
 * persisted index would be one more file to keep consistent across crashes and one more
 * thing to distrust. Measured by bench_log on the 2-core development machine: 1.6-2.1 s
 * per million 1 KiB records (page cache warm). Memory: 8 bytes of index per record plus
 * the tree's ~43 (merkle.h): 51-52 bytes per record measured (about 50 MB per million).
 * One file descriptor stays open per segment: keep segment_size large enough that the
 * segment count stays well inside RLIMIT_NOFILE (64 MiB segments: 64 GiB per 1000 fds).
 *
 * Durability (log_fsync_t): ALWAYS (default) fdatasyncs every commit before publishing
 * it. BATCH publishes after write() and fdatasyncs when batch_ms have passed since the
 * last sync (and in log_sync, log_checkpoint, log_close): a power failure may lose up to
 * batch_ms of acknowledged records. NEVER syncs only before a checkpoint and at close.
 * In every mode a checkpoint is signed only over durable records, and a process crash
 * (not a power failure) loses nothing that was committed, as the data is in the page
 * cache. Before a new segment is created, the previous one is synced (so only the last
 * segment can have a torn tail) and the directory is fsynced after the creation.
 *
 * Prepared segments: on ext4 an fdatasync after a write that grew the file costs more
 * than one after overwriting blocks already allocated, written and synced (the inode
 * must be written too; 1.2 to 2 times on the development VM). So a writer keeps a thread
 * (log_prep.h: pacing, disk space) that prepares the next segment file: segment_size
 * zero bytes, written and synced. At a roll the writer renames
 * it into place and writes its frames over the zeros; the last segment then ends in a
 * zero tail, which every reader takes for the end of the data (log_segment.h). Before a
 * roll the previous segment is cut to its data (ftruncate, synced with it), and
 * log_close cuts the last one, so only the last segment of a log that was not closed
 * cleanly has a zero tail. When no prepared file is ready at a roll, the segment is
 * created empty and grows by appends, as with no_prealloc; and while the writer is on a
 * segment that was not prepared (the first one of a log, one created that way, or the
 * last one as found at open when it has no zero tail) it rolls at the first commit after
 * a prepared file is ready, however little it holds: segments are named by their first
 * seq and may be short. Correctness never depends on the preparation. The pages of one
 * commit are written back in no particular order, so a power failure during a commit
 * (into a zero tail, or into a growing file on a filesystem without a journal) can leave
 * a page of zeros before intact frames of that same, never acknowledged, batch: recovery
 * cuts that as a torn tail (below).
 *
 * Recovery at open: segments are read in order. A zero tail ends the last segment's data
 * (it stays: the writer goes on filling it), and is damage in any other segment. In the
 * last segment, a frame that is short, has an impossible length (a zero header followed
 * by anything but zeros included), a bad CRC or does not decode, and after which no good
 * frame follows, starts the torn tail; so does such a frame followed by good frames when
 * a whole zero page (4 KiB at a multiple of 4 KiB) lies between them (an interrupted
 * commit, see above). The torn tail is cut with all that follows it, zeros too
 * (ftruncate + fsync; writer open only),
 * its size is reported by log_recovered_bytes() and log_recovery_detail(), and the broker
 * records a Recovery record. Any other damage (a bad frame followed by a good one, damage
 * in an earlier segment, a record whose seq is not its position, a missing segment)
 * refuses the open with ENLACE_ERR_CORRUPT and names the segment, offset and seq.
 * The result is compared with the latest signed checkpoint (the `checkpoint` file and the
 * last entry of `checkpoints`, signature checked against the store's key, key name =
 * origin): a log shorter than a checkpoint, or whose root at the checkpoint's size
 * differs, is refused with ENLACE_ERR_ROLLBACK naming the checkpoint, the missing or
 * disagreeing records (located through the history) and both roots. Damage inside the
 * records a checkpoint covers is never cut: it is refused (ENLACE_ERR_CORRUPT), leaving
 * the evidence as it is. A writer that fails a write or fdatasync stops (every later
 * append/commit returns ENLACE_ERR_IO); the broker must restart and recover.
 * Limits of the open-time check: it trusts what the directory holds; someone who deletes
 * the checkpoint files and rolls the segments back is caught by the checkpoints the
 * broker gave out (receipts, auditors), not here. enlace-audit verify checks the whole
 * history (log_scan in log_segment.h, checkpoint_open in checkpoint.h).
 *
 * Thread rules: functions marked "writer" are for the thread that owns the store; those
 * marked "any thread" may run concurrently with them and each other. log_close must not
 * overlap any other call.
 */
#ifndef ENLACE_LOG_STORE_H
#define ENLACE_LOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "enlace.pb-c.h"
#include "enlace_err.h"
#include "log_segment.h"
#include "merkle.h"

#define LOG_DEFAULT_SEGMENT_SIZE (64u << 20) /* 64 MiB */
#define LOG_MIN_SEGMENT_SIZE 4096
#define LOG_MAX_SEGMENT_SIZE (UINT64_C(1) << 40) /* offsets are 40-bit in the index */
/* The segment being prepared, in the log directory. Not "seg-*": listings never see it. */
#define LOG_PREPARED_FILE "next-segment.tmp"

typedef enum { LOG_FSYNC_ALWAYS = 0, LOG_FSYNC_BATCH, LOG_FSYNC_NEVER } log_fsync_t;

typedef struct {
    const char *dir;               /* log directory (required) */
    uint64_t segment_size;         /* roll a segment before it would pass this many bytes;
                                      0 = LOG_DEFAULT_SEGMENT_SIZE; clamped to the limits above */
    log_fsync_t fsync;             /* durability mode (above); default ALWAYS */
    unsigned batch_ms;             /* BATCH: longest time between fdatasyncs (0 = every commit) */
    const char *origin;            /* checkpoint origin line, also the note key name (required
                                      with checkpoint_key; optional for read-only: when set,
                                      checkpoints with another origin are refused) */
    EVP_PKEY *checkpoint_key;      /* Ed25519 private key (borrowed; must outlive the store);
                                      NULL = read-only open (auditor): nothing is written,
                                      cut or locked, and no append is allowed */
    const uint8_t *checkpoint_pub; /* read-only open: 32-byte Ed25519 key to check the
                                      stored checkpoints against (NULL: not checked).
                                      Ignored when checkpoint_key is set. */
    bool no_prealloc;              /* writer: do not prepare segment files in the background
                                      (see "Prepared segments"); every segment then grows
                                      by appends. Default false: preparation on. */
} log_options_t;

typedef struct log_store log_store_t;

/* Open (creating the directory if needed) and recover the log described by `opt`.
 * On failure a one-line reason is written to why[0..why_len) (why may be NULL).
 * Returns ENLACE_OK with *out set, or:
 *   ENLACE_ERR_INVALID       bad options (no dir; checkpoint_key not Ed25519; no origin)
 *   ENLACE_ERR_DENIED        another writer holds the directory lock
 *   ENLACE_ERR_NOT_FOUND     read-only open of a directory that does not exist
 *   ENLACE_ERR_CORRUPT       damage that is not a torn tail (see above), a bad file name,
 *                            a checkpoint file that does not parse or has another origin
 *   ENLACE_ERR_BAD_SIGNATURE a stored checkpoint not signed by the configured key
 *   ENLACE_ERR_ROLLBACK      the log is shorter than or inconsistent with a checkpoint
 *   ENLACE_ERR_IO, ENLACE_ERR_NOMEM */
enlace_err_t log_open(const log_options_t *opt, log_store_t **out, char *why, size_t why_len);

/* Sync (if anything is unsynced), cut the last segment's zero tail, stop the preparing
 * thread and delete its file, close and free; pending uncommitted records are discarded.
 * Does NOT sign: call log_checkpoint first at shutdown. Safe on NULL/twice. */
void log_close(log_store_t **log);

/* Writer. Add `rec` to the pending batch. The store sets rec->seq to the next sequence
 * number (a non-zero rec->seq that differs is refused) and rec->time_ms, when 0, to the
 * broker clock in Unix ms (never below the previous record's time). Returns its seq and
 * leaf hash (either may be NULL). Not durable nor visible to readers until log_commit.
 * Returns ENLACE_OK; ENLACE_ERR_INVALID (read-only store, wrong seq); ENLACE_ERR_TOO_LARGE
 * (packed record above LOG_MAX_RECORD); ENLACE_ERR_IO (the store has failed);
 * ENLACE_ERR_NOMEM. On error nothing is added. */
enlace_err_t log_append(log_store_t *log, Enlace__Record *rec, uint64_t *seq, uint8_t leaf[32]);

/* A piece of an already-encoded record (log_append_kind). */
typedef struct {
    const uint8_t *data;
    size_t len;
} log_bytes_t;

/* Writer. log_append for a record given already encoded: `parts`, concatenated, are the
 * packed fields of a Record that follow seq and time_ms (its kind field, e.g. field 12
 * `published` with key and length), so the caller need not build and pack an
 * Enlace__Record. The store writes seq (field 1) and time_ms (field 2, the broker clock)
 * in front: the bytes are what protobuf-c packs for the same Record. Returns seq, time
 * and leaf hash (each may be NULL); errors as log_append. The store does not decode the
 * parts: the caller vouches that they are well formed (log_recover refuses a log holding
 * a record that does not decode). */
enlace_err_t log_append_kind(log_store_t *log, const log_bytes_t *parts, size_t n_parts,
                             uint64_t *seq, uint64_t *time_ms, uint8_t leaf[32]);

/* Writer. Write the pending batch (rolling segments as needed), fdatasync per the fsync
 * mode, then publish the new committed size. No pending records: only a BATCH sync that
 * is due. Returns ENLACE_OK; ENLACE_ERR_IO (write/sync failed: nothing of the batch is
 * published, and the store refuses every later append/commit); ENLACE_ERR_INVALID
 * (read-only store); ENLACE_ERR_NOMEM. */
enlace_err_t log_commit(log_store_t *log);

/* Writer. fdatasync the committed data now if any is unsynced (BATCH/NEVER modes).
 * Returns ENLACE_OK or ENLACE_ERR_IO (the store has then failed). */
enlace_err_t log_sync(log_store_t *log);

/* Writer. Milliseconds until a BATCH sync is due (0: due now), or -1 when nothing is
 * unsynced or the mode is not BATCH: a poll timeout for the writer's idle loop, which
 * then calls log_sync. */
long log_sync_due_ms(const log_store_t *log);

/* Any thread. Number of committed records (= next seq to be committed). */
uint64_t log_size(const log_store_t *log);

/* Any thread. Raw bytes of committed record `seq` into *data (malloc'ed, caller frees),
 * *len its length. The CRC is checked on every read.
 * Returns ENLACE_OK; ENLACE_ERR_NOT_FOUND (seq >= log_size); ENLACE_ERR_CORRUPT (the
 * bytes on disk no longer match their CRC); ENLACE_ERR_IO; ENLACE_ERR_NOMEM. */
enlace_err_t log_read(log_store_t *log, uint64_t seq, uint8_t **data, size_t *len);

/* Any thread. log_read + log_record_unpack: the committed record `seq`, unpacked (not
 * validated). Free *rec with codec_free((ProtobufCMessage **)rec).
 * Returns what log_read returns, or ENLACE_ERR_CORRUPT when the bytes do not decode. */
enlace_err_t log_read_record(log_store_t *log, uint64_t seq, Enlace__Record **rec);

/* Writer. Sign and store a checkpoint of the committed size if it grew since the last
 * one, or anyway when `force` (e.g. the first checkpoint of an empty log). Unsynced
 * data is synced first. The caller decides when: the issue asks for at most one a
 * second while the log grows, and one at shutdown; the store does not rate-limit. The new
 * checkpoint is checked to extend the previous one. *note (optional, may be NULL) receives the
 * latest note (malloc'ed, caller frees) — the existing one when nothing new was signed. Returns
 * ENLACE_OK; ENLACE_ERR_INVALID (read-only store); ENLACE_ERR_IO (the store has failed, or writing
 * the files failed); ENLACE_ERR_CRYPTO (signing failed); ENLACE_ERR_CORRUPT (the tree no longer
 * matches the previous checkpoint: never signed); ENLACE_ERR_NOT_FOUND (note requested, nothing
 * signed yet and not forced); ENLACE_ERR_NOMEM. */
enlace_err_t log_checkpoint(log_store_t *log, bool force, char **note);

/* Writer. log_checkpoint (not forced, no note) with the storing done by another thread
 * (log_ckwriter.h): signs now, sets *started, and returns; the checkpoint becomes the
 * latest (log_latest_checkpoint, log_checkpoint_size) only when log_checkpoint_poll
 * reports it finished and stored. ENLACE_ERR_AGAIN while a previous one is still being
 * stored; *started false and ENLACE_OK when there was nothing new to sign (or no thread
 * could be started: then it was stored synchronously). log_checkpoint and log_close
 * first finish one in progress. */
enlace_err_t log_checkpoint_start(log_store_t *log, bool *started);

/* Writer. *finished when a checkpoint started by log_checkpoint_start has been stored
 * (waiting for it when `wait`) and adopted; returns the storing's outcome (an error
 * leaves the previous checkpoint the latest). ENLACE_OK, *finished false otherwise. */
enlace_err_t log_checkpoint_poll(log_store_t *log, bool wait, bool *finished);

/* Writer. True while a checkpoint started by log_checkpoint_start awaits collection by
 * log_checkpoint_poll. */
bool log_checkpoint_storing(const log_store_t *log);

/* Any thread. The latest signed checkpoint note (malloc'ed, caller frees).
 * Returns ENLACE_OK, ENLACE_ERR_NOT_FOUND (none yet) or ENLACE_ERR_NOMEM. */
enlace_err_t log_latest_checkpoint(log_store_t *log, char **note);

/* Writer. Tree size of the latest signed checkpoint (0 when none). */
uint64_t log_checkpoint_size(const log_store_t *log);

/* Writer. Inclusion proof of record `seq` in the tree of the first `size` committed
 * records (merkle_inclusion_proof). Returns ENLACE_OK or ENLACE_ERR_INVALID (seq >= size,
 * size > log_size, max too small). */
enlace_err_t log_inclusion_proof(log_store_t *log, uint64_t seq, uint64_t size,
                                 uint8_t (*proof)[32], size_t max, size_t *n);

/* Writer. Consistency proof between committed sizes (merkle_consistency_proof).
 * Returns ENLACE_OK or ENLACE_ERR_INVALID. */
enlace_err_t log_consistency_proof(log_store_t *log, uint64_t old_size, uint64_t new_size,
                                   uint8_t (*proof)[32], size_t max, size_t *n);

/* Writer. Root of the first `size` committed records. ENLACE_OK or ENLACE_ERR_INVALID. */
enlace_err_t log_root(log_store_t *log, uint64_t size, uint8_t out[32]);

/* Writer. The tree (borrowed). It may hold leaves of pending, uncommitted records
 * beyond log_size: ask only for sizes <= log_size. */
const merkle_t *log_tree(const log_store_t *log);

/* Writer. True when a prepared segment file is ready for the next roll (always false
 * with no_prealloc). For tests and diagnostics: the writer never waits for one. */
bool log_prepared_ready(const log_store_t *log);

/* Bytes cut from a torn tail at open (0 when none; a zero tail is not cut), zeros after
 * the damage included; the broker writes a Recovery record. */
uint64_t log_recovered_bytes(const log_store_t *log);

/* One sentence on what recovery did at open ("" when nothing): segment, offset, bytes
 * and why. Borrowed; valid until log_close. For the Recovery record's detail. */
const char *log_recovery_detail(const log_store_t *log);

#endif
