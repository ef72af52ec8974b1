/* log_prep — the log writer's next segment file, prepared in the background.
 *
 * A commit's fdatasync costs more when its write grew the file (ext4 must write the inode
 * too; fallocate'd or sparse space is no better, as its unwritten extents must be
 * converted) than when it overwrote blocks that were already allocated, written and
 * synced: 1.2 to 2 times on the development VM. So the writer (log_store.c) rolls into
 * segment files that exist in full before they are needed: a thread owned by the
 * writable store creates LOG_PREPARED_FILE (log_store.h) in the log directory, writes
 * `size` zero bytes into it, fdatasyncs it and marks it ready; at a roll the writer
 * renames it to the new segment's name (log_prep_take) and the thread starts on the next
 * one. The writer never waits for it: when nothing is ready it creates the segment
 * empty, as without preparation. What the segments look like on disk is described in
 * log_segment.h ("zero tail").
 *
 * Pacing: writeback of the zeros competes with the writer's fdatasyncs (on a VM disk
 * each device flush also carries whatever else was written since the last one), so the
 * zeros go out in small chunks, each written back (sync_file_range) before the next,
 * at a rate that follows the log: twice the rate the writer has been writing at, at
 * least LOG_PREP_MIN_RATE. When the writer is on a segment that was not prepared
 * (log_prep_note: `waiting`), every commit pays the slower fdatasync, and the file is
 * written as fast as the disk takes it. Measured on the development VM (1 KiB
 * overwrite + fdatasync in a loop beside one 64 MiB preparation): written in one go and
 * synced at the end, the zeros stalled one fdatasync 58 ms and cut the rate by half for
 * 0.2 s; in 256 KiB chunks written back one by one, the worst was 4-7 ms; paced at
 * 16 MiB/s (4 s), neither the rate nor the p99 (1 ms) moved beyond the disk's noise.
 *
 * Space: the log directory holds up to two segments more than its records need (the
 * zero tail of the last segment, and the prepared file). Nothing is prepared when the
 * file system has less than twice segment_size plus LOG_PREP_RESERVE free, nor when
 * writing fails (ENOSPC): the writer then goes on without, and the next roll tries again.
 *
 * Threads: every function is for the writer thread. The preparing thread touches only
 * its temp file (through the directory fd it was given, which must stay open until
 * log_prep_destroy) and this object's state, under its mutex; it blocks all signals.
 */
#ifndef ENLACE_LOG_PREP_H
#define ENLACE_LOG_PREP_H

#include <stdbool.h>
#include <stdint.h>

/* Slowest pace of the preparation, bytes per second (64 MiB in 4 s). */
#define LOG_PREP_MIN_RATE (16u << 20)
/* A file is prepared only while the file system has room for two more (the zero tail
 * being filled and this one) and this much besides; else segments grow by appends. */
#define LOG_PREP_RESERVE (64u << 20)

typedef struct log_prep log_prep_t;

/* Start a thread that prepares files of `size` bytes in the directory open on `dfd`,
 * beginning at once. NULL when it cannot be started (out of memory or threads): the
 * writer then runs without. */
log_prep_t *log_prep_new(int dfd, uint64_t size);

/* Stop the thread (an unfinished file is abandoned), join it and delete the temp file.
 * Safe on NULL and twice. */
void log_prep_destroy(log_prep_t **p);

/* True when a prepared file is ready to be taken. A cheap atomic load. */
bool log_prep_ready(const log_prep_t *p);

/* When a prepared file is ready, rename it to `name` in the directory (never replacing
 * an existing file) and return a read-write descriptor of it, now the caller's (its
 * size is the `size` given to log_prep_new); the thread starts on the next file.
 * Returns -1 when none is ready or the rename failed; nothing was created then (a
 * preparation that had failed is started again). */
int log_prep_take(log_prep_t *p, const char *name);

/* Tell the thread how the log is going, for its pacing: `bytes` more were written to
 * the log, and whether the writer is `waiting` (on a segment that was not prepared). */
void log_prep_note(log_prep_t *p, uint64_t bytes, bool waiting);

#endif
