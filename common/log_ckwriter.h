/* log_ckwriter — checkpoint files written off the log writer's thread.
 *
 * A checkpoint is signed in microseconds, but storing it takes three syncs: the history
 * append (fdatasync), then the `checkpoint` file (temp file, fsync, rename, directory
 * fsync). Done by the log writer, they hold up every commit behind them once a second,
 * which shows in the broker's latency tail. log_checkpoint_start (log_store.h) signs on
 * the writer's thread and hands the note to this thread; log_checkpoint_poll collects
 * the result and only then adopts the checkpoint (receipts wait for that), so nothing
 * changes in what is durable before it is handed out.
 *
 * One job at a time. Every function is for the writer thread; the thread touches only
 * the two checkpoint files (through the directory fd, which must stay open until
 * log_ckwriter_destroy) and this object, under its mutex. It blocks all signals.
 */
#ifndef ENLACE_LOG_CKWRITER_H
#define ENLACE_LOG_CKWRITER_H

#include <stdbool.h>

#include "enlace_err.h"

typedef struct log_ckwriter log_ckwriter_t;

/* A writer for the log directory open on dfd; NULL when the thread cannot start. */
log_ckwriter_t *log_ckwriter_new(int dfd);

/* Waits for a job in progress (its result is dropped: collect it first with
 * log_ckwriter_poll), stops and joins the thread. Safe on NULL and twice. */
void log_ckwriter_destroy(log_ckwriter_t **w);

/* True while a job was submitted and its result not yet collected. */
bool log_ckwriter_busy(const log_ckwriter_t *w);

/* Writes `note` (ownership moves) to the history, then as the latest checkpoint.
 * ENLACE_ERR_AGAIN (note untouched) while another job is busy. */
enlace_err_t log_ckwriter_submit(log_ckwriter_t *w, char *note);

/* The busy job's result: returns true once it is finished (waiting for it when `wait`),
 * with *rc its outcome and *note the note (now the caller's); false while it runs or
 * when nothing was submitted. */
bool log_ckwriter_poll(log_ckwriter_t *w, bool wait, enlace_err_t *rc, char **note);

#endif
