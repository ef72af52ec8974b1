/* hmap — an open-addressing hash map from 32-byte keys to two uint64 values.
 *
 * Used by the sequencer for its indexes: message id -> log seq (duplicate
 * detection, receipts), certificate digest -> seq of the record carrying it,
 * durable subscription (agency, name) -> cursor. Keys shorter than 32 bytes
 * are zero-padded by hmap_key(). Owned by one thread; not thread-safe.
 */
#ifndef ENLACE_HMAP_H
#define ENLACE_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

typedef struct hmap hmap_t;

typedef struct hmap_val {
    uint64_t a; /* meaning chosen by the user (e.g. seq) */
    uint64_t b; /* meaning chosen by the user (e.g. owner) */
} hmap_val_t;

/* Builds a key from up to two byte strings (hashing them when longer than 32 bytes). */
void hmap_key(uint8_t key[32], const void *p1, size_t n1, const void *p2, size_t n2);

hmap_t *hmap_new(void);
void hmap_destroy(hmap_t **m);
/* Pointer to the value stored under key, or NULL. Valid until the next put. */
hmap_val_t *hmap_get(hmap_t *m, const uint8_t key[32]);
/* Inserts or replaces. ENLACE_OK or ENLACE_ERR_NOMEM. */
enlace_err_t hmap_put(hmap_t *m, const uint8_t key[32], hmap_val_t val);
size_t hmap_count(const hmap_t *m);
/* Calls fn for every entry (order unspecified). */
void hmap_each(hmap_t *m, void (*fn)(const uint8_t key[32], hmap_val_t *val, void *user),
               void *user);

#endif
