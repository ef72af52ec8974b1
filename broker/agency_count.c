/* agency_count — per-agency live session counts and publish rate (see agency_count.h). */
#include "agency_count.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char agency[72];       /* agency id */
    unsigned sessions;     /* live sessions */
    double tokens;         /* publish token bucket (agency_rate_take) */
    uint64_t tokens_at_ms; /* its last refill; 0 = never used (starts full) */
    struct entry *next;    /* next entry in the list */
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

/* The agency's entry, created when first needed; NULL when out of memory. Lock held. */
static entry_t *find_or_add(const char *agency)
{
    entry_t *e = find(agency);
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
        strncpy(e->agency, agency, sizeof e->agency - 1);
        e->next = entries;
        entries = e;
    }
    return e;
}

bool agency_count_acquire(const char *agency, unsigned max)
{
    bool ok = false;
    pthread_mutex_lock(&lock);
    entry_t *e = find_or_add(agency);
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

bool agency_rate_take(const char *agency, unsigned rate, uint64_t now_ms)
{
    if (rate == 0)
        return true;
    bool ok = false;
    pthread_mutex_lock(&lock);
    entry_t *e = find_or_add(agency);
    if (e) {
        if (e->tokens_at_ms == 0)
            e->tokens = rate; /* the bucket starts full */
        else if (now_ms > e->tokens_at_ms)
            e->tokens += (double)(now_ms - e->tokens_at_ms) * rate / 1000.0;
        if (e->tokens > rate)
            e->tokens = rate; /* also when a reload lowered the rate */
        e->tokens_at_ms = now_ms ? now_ms : 1;
        if (e->tokens >= 1.0) {
            e->tokens -= 1.0;
            ok = true;
        }
    }
    pthread_mutex_unlock(&lock);
    return ok;
}
