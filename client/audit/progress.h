/* progress — a one-line progress bar on stderr for long enlace-audit runs.
 *
 * Shown only when stderr is a terminal (isatty), so pipes, files and tests see nothing.
 * The caller reports how much of a known total is done (bytes of segments, records
 * fetched); the bar redraws at most ten times a second, so calling progress_update for
 * every record costs one clock read every 256 calls. progress_destroy erases the line.
 *
 *     progress_t *p = progress_new("verify", total_bytes);   // NULL when not a terminal
 *     progress_update(p, done_bytes, records);               // p may be NULL
 *     progress_destroy(&p);
 *
 * Not thread safe: one thread (the one that reads the log) owns the bar.
 */
#ifndef ENLACE_AUDIT_PROGRESS_H
#define ENLACE_AUDIT_PROGRESS_H

#include <stdint.h>

typedef struct progress progress_t;

/* A bar labelled `label` for `total` units (bytes); 0 = unknown total (no percentage).
 * Returns NULL when stderr is not a terminal or out of memory: every function accepts
 * NULL and does nothing. */
progress_t *progress_new(const char *label, uint64_t total);

/* done units of the total, and `items` records so far (shown with their rate). Cheap
 * enough to call per record: the clock is read every 256 calls. */
void progress_update(progress_t *p, uint64_t done, uint64_t items);

/* progress_update that reads the clock on every call, for coarse steps (batches). */
void progress_update_now(progress_t *p, uint64_t done, uint64_t items);

/* Erase the bar and free it; *p = NULL. Safe on NULL and twice. */
void progress_destroy(progress_t **p);

#endif
