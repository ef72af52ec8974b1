/* pubindex — what show/replay remember of each published record: seq -> message.
 *
 * Delivered records name the published records they acknowledge by seq only; to tell
 * an auditor *which message* was read (id, sender, topic) and to filter deliveries by
 * topic or message, show keeps this small index of every published record read so
 * far (about 100 bytes per published record). Records arrive in seq order, so the
 * index is an append-only sorted array with binary search. One thread.
 */
#ifndef ENLACE_AUDIT_PUBINDEX_H
#define ENLACE_AUDIT_PUBINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

/* One published record. Strings owned by the index. */
typedef struct {
    uint64_t seq;           /* record seq */
    uint8_t message_id[16]; /* header message id */
    char *sender;           /* header sender */
    char *topic;            /* header topic */
} pub_entry_t;

typedef struct pubindex pubindex_t;

/* NULL when out of memory. */
pubindex_t *pubindex_new(void);
void pubindex_destroy(pubindex_t **ix);

/* Add a published record; seqs must increase (a smaller or equal seq is ignored, as
 * in a damaged log). Returns ENLACE_OK or ENLACE_ERR_NOMEM. */
enlace_err_t pubindex_add(pubindex_t *ix, uint64_t seq, const uint8_t message_id[16],
                          const char *sender, const char *topic);

/* The entry of seq, or NULL. Borrowed until the index is destroyed. */
const pub_entry_t *pubindex_find(const pubindex_t *ix, uint64_t seq);

#endif
