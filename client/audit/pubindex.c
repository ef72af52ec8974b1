/* pubindex — seq -> published message index (see pubindex.h). */
#include "pubindex.h"

#include <stdlib.h>
#include <string.h>

struct pubindex {
    pub_entry_t *v; /* entries in seq order */
    size_t n, cap;  /* count and capacity */
};

pubindex_t *pubindex_new(void)
{
    return calloc(1, sizeof(pubindex_t));
}

void pubindex_destroy(pubindex_t **ix)
{
    if (ix == NULL || *ix == NULL) {
        return;
    }
    for (size_t i = 0; i < (*ix)->n; i++) {
        free((*ix)->v[i].sender);
        free((*ix)->v[i].topic);
    }
    free((*ix)->v);
    free(*ix);
    *ix = NULL;
}

enlace_err_t pubindex_add(pubindex_t *ix, uint64_t seq, const uint8_t message_id[16],
                          const char *sender, const char *topic)
{
    if (ix->n > 0 && ix->v[ix->n - 1].seq >= seq) {
        return ENLACE_OK;
    }
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 256;
        pub_entry_t *p = realloc(ix->v, cap * sizeof(*p));
        if (p == NULL) {
            return ENLACE_ERR_NOMEM;
        }
        ix->v = p;
        ix->cap = cap;
    }
    pub_entry_t *e = &ix->v[ix->n];
    e->seq = seq;
    memcpy(e->message_id, message_id, 16);
    e->sender = strdup(sender ? sender : "");
    e->topic = strdup(topic ? topic : "");
    if (e->sender == NULL || e->topic == NULL) {
        free(e->sender);
        free(e->topic);
        return ENLACE_ERR_NOMEM;
    }
    ix->n++;
    return ENLACE_OK;
}

const pub_entry_t *pubindex_find(const pubindex_t *ix, uint64_t seq)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->v[mid].seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < ix->n && ix->v[lo].seq == seq ? &ix->v[lo] : NULL;
}
