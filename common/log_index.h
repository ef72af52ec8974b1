/* log_index — lock-free growable tables shared by the log writer and its readers.
 *
 * The log store (log_store.h) has one writer thread and many reader threads. Readers
 * look up where record `seq` lives and which segment file holds it, while the writer
 * keeps adding entries. These tables let them do so without a lock:
 *   - log_table_t: an array of pointers that only grows. Growing copies the pointer
 *     array into one twice as large and publishes it with release order; the old array
 *     is kept until log_table_destroy, because a reader may still be using it (the
 *     retired arrays add up to less than the live one).
 *   - log_index_t: one 64-bit position per seq, in fixed chunks of LOG_INDEX_CHUNK
 *     entries held by a log_table_t: an entry never moves once written.
 * Writer-side functions (set) must be called by one thread. Readers may call get for
 * entries the writer published before a release store the reader has acquired (the
 * store's committed size): the tables add no ordering of their own beyond that.
 */
#ifndef ENLACE_LOG_INDEX_H
#define ENLACE_LOG_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

#define LOG_INDEX_CHUNK_BITS 16
#define LOG_INDEX_CHUNK (1u << LOG_INDEX_CHUNK_BITS) /* 65536 entries = 512 KiB */

/* A record position: segment number (order of the segment in the log, 0-based) in the
 * top 24 bits, byte offset of the frame in that segment in the low 40 bits. */
#define LOG_POS(seg, off) (((uint64_t)(seg) << 40) | (uint64_t)(off))
#define LOG_POS_SEGMENT(pos) ((size_t)((pos) >> 40))
#define LOG_POS_OFFSET(pos) ((pos) & ((UINT64_C(1) << 40) - 1))
#define LOG_MAX_SEGMENTS (1u << 24)

typedef struct log_table log_table_t;

/* A new empty table; NULL when out of memory. */
log_table_t *log_table_new(void);
/* Free the table (not the pointers it holds); NULLs *t; safe twice. */
void log_table_destroy(log_table_t **t);
/* Writer: slot i = p, growing the table as needed. ENLACE_OK or ENLACE_ERR_NOMEM. */
enlace_err_t log_table_set(log_table_t *t, size_t i, void *p);
/* Any thread: slot i (NULL if never set), i below a bound published by the writer. */
void *log_table_get(const log_table_t *t, size_t i);
/* Writer: number of slots the table can hold without growing. */
size_t log_table_capacity(const log_table_t *t);

typedef struct log_index log_index_t;

/* A new empty index; NULL when out of memory. */
log_index_t *log_index_new(void);
/* Free the index and its chunks; NULLs *x; safe twice. */
void log_index_destroy(log_index_t **x);
/* Writer: position of seq = pos. ENLACE_OK or ENLACE_ERR_NOMEM (index unchanged). */
enlace_err_t log_index_set(log_index_t *x, uint64_t seq, uint64_t pos);
/* Any thread: position of a published seq. */
uint64_t log_index_get(const log_index_t *x, uint64_t seq);

#endif
