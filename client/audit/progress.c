/* progress — terminal progress bar on stderr (see progress.h). */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit_util.h"

#define BAR_WIDTH 30
#define REDRAW_S 0.1

struct progress {
    const char *label; /* borrowed static label */
    uint64_t total;    /* units for 100 %, 0 when unknown */
    double start;      /* audit_now() at creation */
    double last;       /* time of the last redraw */
    unsigned calls;    /* updates since the last clock read */
    int drawn;         /* a line is on the screen */
};

progress_t *progress_new(const char *label, uint64_t total)
{
    if (!isatty(STDERR_FILENO)) {
        return NULL;
    }
    progress_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    p->label = label;
    p->total = total;
    p->start = p->last = audit_now();
    return p;
}

void progress_update(progress_t *p, uint64_t done, uint64_t items)
{
    if (p == NULL || (++p->calls & 255) != 0) {
        return;
    }
    progress_update_now(p, done, items);
}

void progress_update_now(progress_t *p, uint64_t done, uint64_t items)
{
    if (p == NULL) {
        return;
    }
    double now = audit_now();
    if (now - p->last < REDRAW_S) {
        return;
    }
    p->last = now;
    double rate = now > p->start ? (double)items / (now - p->start) : 0;
    char bar[BAR_WIDTH + 1];
    int fill = p->total ? (int)((double)done / (double)p->total * BAR_WIDTH) : 0;
    fill = fill > BAR_WIDTH ? BAR_WIDTH : fill;
    for (int i = 0; i < BAR_WIDTH; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[BAR_WIDTH] = '\0';
    if (p->total) {
        fprintf(stderr, "\r%s [%s] %3d%%  %llu records  %.0f/s ", p->label, bar,
                (int)((double)done * 100.0 / (double)p->total) % 101, (unsigned long long)items,
                rate);
    } else {
        fprintf(stderr, "\r%s %llu records  %.0f/s ", p->label, (unsigned long long)items, rate);
    }
    fflush(stderr);
    p->drawn = 1;
}

void progress_destroy(progress_t **p)
{
    if (p == NULL || *p == NULL) {
        return;
    }
    if ((*p)->drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    free(*p);
    *p = NULL;
}
