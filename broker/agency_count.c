/* agency_count — per-agency live session counts (see agency_count.h). */
#include "agency_count.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char agency[72];    /* agency id */
    unsigned sessions;  /* live sessions */
    struct entry *next; /* next entry in the list */
} entry_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry_t *entries; /* one per agency ever seen: bounded by the policy's size */

static entry_t *find(const char *agency)
{
    for (entry_t *e = entries; e; e = e->next)
        if (strcmp(e->agency, agency) == 0)
            return e;
    return NULL;
}

bool agency_count_acquire(const char *agency, unsigned max)
{
    bool ok = false;
    pthread_mutex_lock(&lock);
    entry_t *e = find(agency);
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
        strncpy(e->agency, agency, sizeof e->agency - 1);
        e->next = entries;
        entries = e;
    }
    if (e && (max == 0 || e->sessions < max)) {
        e->sessions++;
        ok = true;
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

void agency_count_release(const char *agency)
{
    pthread_mutex_lock(&lock);
    entry_t *e = find(agency);
    if (e && e->sessions > 0)
        e->sessions--;
    pthread_mutex_unlock(&lock);
}
