/* log_index — lock-free growable tables (see log_index.h). */
#include "log_index.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Doubling from 64 slots, 58 growths reach 2^64 slots: more than enough retirees. */
#define MAX_RETIRED 64

struct log_table {
    _Atomic(void **) slots;      /* current pointer array (readers load it acquire) */
    size_t cap;                  /* its number of slots (writer only) */
    void **retired[MAX_RETIRED]; /* earlier arrays, kept for readers until destroy */
    unsigned n_retired;          /* how many */
};

struct log_index {
    log_table_t *chunks; /* chunk i holds the positions of seqs i*LOG_INDEX_CHUNK.. */
    size_t n_chunks;     /* chunks allocated (writer only) */
};

log_table_t *log_table_new(void)
{
    return calloc(1, sizeof(log_table_t));
}

void log_table_destroy(log_table_t **t)
{
    if (t == NULL || *t == NULL) {
        return;
    }
    for (unsigned i = 0; i < (*t)->n_retired; i++) {
        free((*t)->retired[i]);
    }
    free(atomic_load_explicit(&(*t)->slots, memory_order_relaxed));
    free(*t);
    *t = NULL;
}

enlace_err_t log_table_set(log_table_t *t, size_t i, void *p)
{
    void **cur = atomic_load_explicit(&t->slots, memory_order_relaxed);
    if (i >= t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap <= i) {
            cap *= 2;
        }
        if (t->n_retired == MAX_RETIRED) {
            return ENLACE_ERR_NOMEM;
        }
        void **grown = calloc(cap, sizeof(*grown));
        if (grown == NULL) {
            return ENLACE_ERR_NOMEM;
        }
        if (cur != NULL) {
            memcpy(grown, cur, t->cap * sizeof(*grown));
            t->retired[t->n_retired++] = cur;
        }
        atomic_store_explicit(&t->slots, grown, memory_order_release);
        t->cap = cap;
        cur = grown;
    }
    cur[i] = p;
    return ENLACE_OK;
}

void *log_table_get(const log_table_t *t, size_t i)
{
    void **cur = atomic_load_explicit(&((log_table_t *)t)->slots, memory_order_acquire);
    return cur[i];
}

size_t log_table_capacity(const log_table_t *t)
{
    return t->cap;
}

log_index_t *log_index_new(void)
{
    log_index_t *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        return NULL;
    }
    x->chunks = log_table_new();
    if (x->chunks == NULL) {
        free(x);
        return NULL;
    }
    return x;
}

void log_index_destroy(log_index_t **x)
{
    if (x == NULL || *x == NULL) {
        return;
    }
    for (size_t i = 0; i < (*x)->n_chunks; i++) {
        free(log_table_get((*x)->chunks, i));
    }
    log_table_destroy(&(*x)->chunks);
    free(*x);
    *x = NULL;
}

enlace_err_t log_index_set(log_index_t *x, uint64_t seq, uint64_t pos)
{
    size_t chunk = (size_t)(seq >> LOG_INDEX_CHUNK_BITS);
    while (chunk >= x->n_chunks) {
        uint64_t *c = malloc(LOG_INDEX_CHUNK * sizeof(*c));
        if (c == NULL) {
            return ENLACE_ERR_NOMEM;
        }
        if (log_table_set(x->chunks, x->n_chunks, c) != ENLACE_OK) {
            free(c);
            return ENLACE_ERR_NOMEM;
        }
        x->n_chunks++;
    }
    uint64_t *c = log_table_get(x->chunks, chunk);
    c[seq & (LOG_INDEX_CHUNK - 1)] = pos;
    return ENLACE_OK;
}

uint64_t log_index_get(const log_index_t *x, uint64_t seq)
{
    const uint64_t *c = log_table_get(x->chunks, (size_t)(seq >> LOG_INDEX_CHUNK_BITS));
    return c[seq & (LOG_INDEX_CHUNK - 1)];
}
