/* log_prep — background preparation of the next segment file (see log_prep.h). */
#include "log_prep.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log_internal.h"
#include "log_store.h"

/* Zeros are written and written back this many bytes at a time: small enough that a
 * device flush of the writer's never waits behind much of it (256 KiB is a fraction of
 * a millisecond of this disk's bandwidth), large enough to cost little CPU. */
#define CHUNK (256u << 10)
/* The writer's rate is measured over at least this long (ns). */
#define RATE_WINDOW_NS 100000000u

static const uint8_t zeros[CHUNK];

typedef enum {
    PREP_WORKING, /* the thread is writing the temp file */
    PREP_READY,   /* the temp file is complete and synced; fd is open on it */
    PREP_FAILED,  /* the last attempt failed; the next log_prep_take tries again */
} prep_state_t;

struct log_prep {
    int dfd;                    /* log directory (borrowed) */
    uint64_t size;              /* bytes per prepared file */
    pthread_t thread;           /* the preparing thread */
    pthread_mutex_t mu;         /* guards state, fd, stop (writes) */
    pthread_cond_t wake;        /* state or stop changed */
    _Atomic int state;          /* prep_state_t; read without the lock by log_prep_ready */
    int fd;                     /* READY: the prepared file; else -1 */
    atomic_bool stop;           /* log_prep_destroy: give up and exit */
    _Atomic uint64_t log_bytes; /* bytes the writer has written (log_prep_note) */
    atomic_bool waiting;        /* the writer is on a segment that was not prepared */
    /* thread-only pacing state */
    uint64_t rate;         /* the writer's measured rate, bytes/s (0 unknown) */
    uint64_t sample_ns;    /* when log_bytes was last sampled */
    uint64_t sample_bytes; /* its value then */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Bytes per second to write at now (0: as fast as the disk takes it). */
static uint64_t target_rate(log_prep_t *p)
{
    uint64_t t = now_ns();
    uint64_t bytes = atomic_load_explicit(&p->log_bytes, memory_order_relaxed);
    if (p->sample_ns == 0) {
        p->sample_ns = t;
        p->sample_bytes = bytes;
    } else if (t - p->sample_ns >= RATE_WINDOW_NS) {
        uint64_t inst =
            (uint64_t)((double)(bytes - p->sample_bytes) * 1e9 / (double)(t - p->sample_ns));
        p->rate = p->rate == 0 ? inst : (p->rate + inst) / 2;
        p->sample_ns = t;
        p->sample_bytes = bytes;
    }
    if (atomic_load_explicit(&p->waiting, memory_order_relaxed)) {
        return 0;
    }
    return 2 * p->rate > LOG_PREP_MIN_RATE ? 2 * p->rate : LOG_PREP_MIN_RATE;
}

/* Write one prepared file. Returns its fd, or -1 (the temp file then deleted). */
static int prepare(log_prep_t *p)
{
    /* Never the file that fills the disk: the writer's own appends would then fail (and
     * stop the store) before this one gives up and deletes its file. */
    struct statvfs vfs;
    if (fstatvfs(p->dfd, &vfs) != 0 ||
        (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize < 2 * p->size + LOG_PREP_RESERVE) {
        return -1;
    }
    int fd = openat(p->dfd, LOG_PREPARED_FILE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -1;
    }
    for (uint64_t off = 0; off < p->size;) {
        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) {
            goto fail;
        }
        uint64_t t0 = now_ns();
        size_t n = p->size - off < CHUNK ? (size_t)(p->size - off) : CHUNK;
        ssize_t w = pwrite(fd, zeros, n, (off_t)off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            goto fail; /* e.g. ENOSPC: the writer goes on without */
        }
        /* Written back now, not in one burst by the flusher later: at most one chunk is
         * ever in flight beside the writer's own writes. Errors show in fdatasync. */
        (void)sync_file_range(fd, (off_t)off, w,
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                  SYNC_FILE_RANGE_WAIT_AFTER);
        off += (uint64_t)w;
        uint64_t rate = target_rate(p);
        if (rate > 0) {
            uint64_t due = (uint64_t)w * 1000000000u / rate, took = now_ns() - t0;
            if (due > took) {
                sleep_ns(due - took);
            }
        }
    }
    if (fdatasync(fd) != 0) {
        goto fail;
    }
    return fd;
fail:
    close(fd);
    unlinkat(p->dfd, LOG_PREPARED_FILE, 0);
    return -1;
}

static void *prep_main(void *arg)
{
    log_prep_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!atomic_load(&p->stop) && atomic_load(&p->state) != PREP_WORKING) {
            pthread_cond_wait(&p->wake, &p->mu);
        }
        if (atomic_load(&p->stop)) {
            break;
        }
        pthread_mutex_unlock(&p->mu);
        int fd = prepare(p);
        pthread_mutex_lock(&p->mu);
        p->fd = fd;
        atomic_store(&p->state, fd >= 0 ? PREP_READY : PREP_FAILED);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

log_prep_t *log_prep_new(int dfd, uint64_t size)
{
    log_prep_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    p->dfd = dfd;
    p->size = size;
    p->fd = -1;
    atomic_init(&p->state, PREP_WORKING);
    atomic_init(&p->stop, false);
    atomic_init(&p->log_bytes, 0);
    atomic_init(&p->waiting, true);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (log_thread_start(&p->thread, prep_main, p, "enlace-logprep") != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

void log_prep_destroy(log_prep_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    log_prep_t *p = *pp;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    if (p->fd >= 0) {
        close(p->fd);
    }
    unlinkat(p->dfd, LOG_PREPARED_FILE, 0);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p);
    *pp = NULL;
}

bool log_prep_ready(const log_prep_t *p)
{
    return atomic_load_explicit(&((log_prep_t *)p)->state, memory_order_acquire) == PREP_READY;
}

int log_prep_take(log_prep_t *p, const char *name)
{
    int fd = -1;
    pthread_mutex_lock(&p->mu);
    int state = atomic_load(&p->state);
    if (state == PREP_READY) {
        fd = p->fd;
        p->fd = -1;
        if (renameat2(p->dfd, LOG_PREPARED_FILE, p->dfd, name, RENAME_NOREPLACE) != 0) {
            close(fd);
            unlinkat(p->dfd, LOG_PREPARED_FILE, 0);
            fd = -1;
        }
    }
    if (state != PREP_WORKING) {
        atomic_store(&p->state, PREP_WORKING);
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->mu);
    return fd;
}

void log_prep_note(log_prep_t *p, uint64_t bytes, bool waiting)
{
    atomic_fetch_add_explicit(&p->log_bytes, bytes, memory_order_relaxed);
    atomic_store_explicit(&p->waiting, waiting, memory_order_relaxed);
}
