/* log_internal — the log store's private state, shared by log_store.c and log_recover.c.
 *
 * Not an API: nothing outside those two files includes this header. The store is split
 * in two files only to keep each readable (normal operation / recovery at open).
 */
#ifndef ENLACE_LOG_INTERNAL_H
#define ENLACE_LOG_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log_index.h"
#include "log_ckwriter.h"
#include "log_prep.h"
#include "log_segment.h"
#include "log_store.h"
#include "merkle.h"

/* One segment file. Immutable once published in the segment table, so readers use it
 * without a lock. */
typedef struct {
    uint64_t first_seq;              /* seq of its first record (from the name) */
    int fd;                          /* open for pread (and pwrite by the writer) */
    char name[LOG_SEGMENT_NAME_MAX]; /* file name in the log directory */
} log_seg_t;

/* A run of pending frames bound for one segment file. */
typedef struct {
    size_t seg;         /* segment number */
    uint64_t file_off;  /* where the run starts in that file */
    size_t buf_off;     /* where it starts in the pending buffer */
    size_t len;         /* bytes */
    bool new_seg;       /* the segment is created by this commit */
    uint64_t first_seq; /* seq of the run's first record (names a new segment) */
} log_part_t;

struct log_store {
    /* configuration (immutable after open) */
    char *dir;             /* directory path */
    int dfd;               /* directory fd: openat, fsync, flock */
    bool writable;         /* false: read-only open */
    log_fsync_t fsync;     /* durability mode */
    unsigned batch_ms;     /* BATCH sync interval */
    uint64_t segment_size; /* roll threshold in bytes */
    char *origin;          /* checkpoint origin and key name (may be NULL read-only) */
    EVP_PKEY *key;         /* borrowed signing key (writer) */
    uint8_t pub[32];       /* Ed25519 public key checkpoints are checked against */
    bool have_pub;         /* pub is set */

    /* shared with reader threads */
    _Atomic uint64_t committed; /* published record count (release/acquire) */
    log_table_t *segs;          /* segment number -> log_seg_t * */
    log_index_t *index;         /* seq -> LOG_POS(segment, offset) */
    pthread_mutex_t note_lock;  /* guards `note` */
    char *note;                 /* latest signed checkpoint note, or NULL */

    /* writer state */
    size_t n_segs;           /* segments created */
    merkle_t *tree;          /* leaves of committed and pending records */
    uint64_t last_time_ms;   /* largest record time so far */
    size_t p_seg;            /* segment the next frame goes to */
    uint64_t p_end;          /* offset in it where the next frame goes */
    uint8_t *buf;            /* pending frames */
    size_t buf_len, buf_cap; /* bytes used / allocated */
    log_part_t *parts;       /* pending runs, in order */
    size_t n_parts, cap_parts;
    uint64_t n_pending;    /* pending records */
    size_t unsynced_seg;   /* lowest segment with unsynced data, SIZE_MAX if none */
    bool dir_dirty;        /* a file was created since the directory was fsynced */
    uint64_t last_sync_ms; /* monotonic time of the last sync */
    bool failed;           /* a write or sync failed: refuse further writes */
    bool have_ckpt;        /* a checkpoint has been signed (now or before) */
    uint64_t ckpt_size;    /* its tree size */
    uint8_t ckpt_root[32]; /* its root */
    log_ckwriter_t *ckw;   /* stores checkpoints off this thread (log_checkpoint_start) */
    uint64_t ck_size;      /* size and root of the one it is storing */
    uint8_t ck_root[32];

    /* prepared segments (log_prep.h) */
    log_prep_t *prep; /* the preparing thread, NULL when off or read-only */
    uint64_t w_end;   /* end of the data written to the last segment */
    uint64_t w_size;  /* the last segment's file size (> w_end: a zero tail) */
    bool opened;      /* log_open succeeded: log_close may cut the zero tail */

    /* recovery report */
    uint64_t recovered;        /* bytes cut from the torn tail */
    char recovery_detail[512]; /* what was cut and why */
};

/* log_recover.c: list, read and check the segments, check the checkpoints, cut a torn
 * tail, prepare the writer. Fills the store; `why` names what is wrong on refusal. */
enlace_err_t log_recover(log_store_t *log, char *why, size_t why_len);

/* log_store.c helpers shared with log_recover.c. */
log_seg_t *log_seg_get(const log_store_t *log, size_t i);
enlace_err_t log_create_first_segment(log_store_t *log);
enlace_err_t log_pwrite_full(int fd, const uint8_t *buf, size_t len, uint64_t off);
uint64_t log_now_ms(void);
int log_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name);

/* Write a reason into why (may be NULL) and return rc. */
enlace_err_t log_say(enlace_err_t rc, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
