/* log_ckwriter — checkpoint files written off the log writer's thread (see log_ckwriter.h). */
#include "log_ckwriter.h"

#include <pthread.h>
#include <stdlib.h>

#include "log_history.h"
#include "log_internal.h"

struct log_ckwriter {
    int dfd;              /* log directory (borrowed) */
    pthread_t thread;     /* the writing thread */
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* job submitted, job finished, stop */
    char *note;           /* the job's note (owned here until collected) */
    bool queued;          /* a job waits for the thread */
    bool busy;            /* submitted and not yet collected */
    bool done;            /* the thread finished the job */
    enlace_err_t rc;      /* its outcome */
    bool stop;            /* destroy: exit once idle */
};

static void *run(void *arg)
{
    log_ckwriter_t *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->queued && !w->stop) {
            pthread_cond_wait(&w->cond, &w->lock);
        }
        if (!w->queued) {
            break; /* stop, nothing left to write */
        }
        char *note = w->note;
        w->queued = false;
        pthread_mutex_unlock(&w->lock);
        /* History first: after a crash between the two, open finds the newer entry in
         * the history and rewrites `checkpoint` from it (log_recover.c). */
        enlace_err_t rc = log_history_append(w->dfd, note);
        if (rc == ENLACE_OK) {
            rc = log_history_write_latest(w->dfd, note);
        }
        pthread_mutex_lock(&w->lock);
        w->rc = rc;
        w->done = true;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

log_ckwriter_t *log_ckwriter_new(int dfd)
{
    log_ckwriter_t *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return NULL;
    }
    w->dfd = dfd;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (log_thread_start(&w->thread, run, w, "enlace-ckpt") != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void log_ckwriter_destroy(log_ckwriter_t **wp)
{
    if (wp == NULL || *wp == NULL) {
        return;
    }
    log_ckwriter_t *w = *wp;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL); /* a queued job is written first */
    free(w->note);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
    *wp = NULL;
}

bool log_ckwriter_busy(const log_ckwriter_t *w)
{
    return w != NULL && w->busy; /* written and read by the writer thread only */
}

enlace_err_t log_ckwriter_submit(log_ckwriter_t *w, char *note)
{
    if (w->busy) {
        return ENLACE_ERR_AGAIN;
    }
    pthread_mutex_lock(&w->lock);
    w->note = note;
    w->queued = true;
    w->done = false;
    w->busy = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return ENLACE_OK;
}

bool log_ckwriter_poll(log_ckwriter_t *w, bool wait, enlace_err_t *rc, char **note)
{
    if (w == NULL || !w->busy) {
        return false;
    }
    pthread_mutex_lock(&w->lock);
    while (wait && !w->done) {
        pthread_cond_wait(&w->cond, &w->lock);
    }
    bool finished = w->done;
    if (finished) {
        *rc = w->rc;
        *note = w->note;
        w->note = NULL;
        w->done = false;
        w->busy = false;
    }
    pthread_mutex_unlock(&w->lock);
    return finished;
}
