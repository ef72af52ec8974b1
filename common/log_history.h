/* log_history — the checkpoint files of a log directory: latest note and history.
 *
 * Layout (see log_store.h): `checkpoint` holds the latest signed note, replaced
 * atomically (write checkpoint.tmp, fsync, rename, fsync the directory); `checkpoints`
 * holds every note ever signed, each followed by the separator line "\f\n" (form feed,
 * newline), appended with O_APPEND and fdatasync. Notes never contain a form feed
 * (checkpoint.h refuses control characters), so the split is exact; a last piece without
 * its separator is a torn append. The files are read as untrusted input: bounded sizes,
 * and notes go through checkpoint_open before anything in them is believed.
 * All functions take the directory as an open directory descriptor (openat/fsync).
 * Used by log_store.c and, through log_history_each_path, by enlace-audit verify.
 */
#ifndef ENLACE_LOG_HISTORY_H
#define ENLACE_LOG_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

#define LOG_CHECKPOINT_FILE "checkpoint"
#define LOG_CHECKPOINT_TMP "checkpoint.tmp"
#define LOG_HISTORY_FILE "checkpoints"
#define LOG_HISTORY_SEP "\f\n"

/* Read the `checkpoint` file into *note (malloc'ed, NUL-terminated, caller frees).
 * Returns ENLACE_OK, ENLACE_ERR_NOT_FOUND (no file), ENLACE_ERR_CORRUPT (larger than
 * CHECKPOINT_MAX_NOTE or holding a NUL byte), ENLACE_ERR_IO or ENLACE_ERR_NOMEM. */
enlace_err_t log_history_read_latest(int dfd, char **note);

/* The last complete entry of `checkpoints` into *note (malloc'ed; NULL when the history
 * is empty or absent), and *valid_len: the file length up to the end of its last complete
 * entry (less than the file size after a torn append).
 * Returns ENLACE_OK, ENLACE_ERR_CORRUPT (an entry larger than CHECKPOINT_MAX_NOTE or a
 * NUL byte), ENLACE_ERR_IO or ENLACE_ERR_NOMEM. */
enlace_err_t log_history_read_last(int dfd, char **note, uint64_t *valid_len);

/* Cut `checkpoints` to `len` bytes (drop a torn append) and sync it.
 * Returns ENLACE_OK or ENLACE_ERR_IO. */
enlace_err_t log_history_truncate(int dfd, uint64_t len);

/* Append note + separator to `checkpoints` (created 0600 when missing; the directory is
 * then fsynced), then fdatasync it. Returns ENLACE_OK or ENLACE_ERR_IO. */
enlace_err_t log_history_append(int dfd, const char *note);

/* Replace `checkpoint` atomically with note. Returns ENLACE_OK or ENLACE_ERR_IO. */
enlace_err_t log_history_write_latest(int dfd, const char *note);

/* Called per complete history entry, in order (index from 0). note is borrowed,
 * NUL-terminated. A non-OK return stops the walk and is returned. */
typedef enlace_err_t (*log_history_fn)(const char *note, uint64_t index, void *user);

/* Call fn for every complete entry of `checkpoints` (none when it is absent); a torn
 * last piece is skipped. Reads in bounded blocks, whatever the file size.
 * Returns ENLACE_OK, what fn returned, ENLACE_ERR_CORRUPT (an entry larger than
 * CHECKPOINT_MAX_NOTE or a NUL byte), ENLACE_ERR_IO or ENLACE_ERR_NOMEM. */
enlace_err_t log_history_each(int dfd, log_history_fn fn, void *user);

/* log_history_each on the log directory `dir` (for enlace-audit).
 * Also ENLACE_ERR_NOT_FOUND when dir does not exist. */
enlace_err_t log_history_each_path(const char *dir, log_history_fn fn, void *user);

#endif
