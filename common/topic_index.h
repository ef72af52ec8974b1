/* topic_index — a trie of topic filters for finding every subscription that
 * matches a published topic.
 *
 * The broker keeps one index per io thread: each subscription inserts its
 * filter with an opaque value (e.g. the subscription pointer); for each record
 * the log commits, topic_index_match() calls back once per (filter, value)
 * pair whose filter matches the record's topic. Matching costs
 * O(levels x wildcard branches), independent of the number of subscriptions
 * (tests/bench/bench_topic.c, 10,000 filters, ~63 matches per topic: 0.6 us
 * per publish, where a linear scan with topic_matches() takes 170 us and
 * would cap one core at ~6,000 publishes/s).
 *
 * Not thread safe: an index belongs to one thread (DESIGN.md section 2).
 */
#ifndef ENLACE_TOPIC_INDEX_H
#define ENLACE_TOPIC_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "enlace_err.h"

typedef struct topic_index topic_index_t;

/* Called once per matching (filter, value) pair; `value` is what was inserted.
 * The callback must not insert into or remove from the index it is called for. */
typedef void (*topic_index_cb)(void *value, void *arg);

/* A new, empty index, or NULL when out of memory. */
topic_index_t *topic_index_new(void);

/* Frees the index (not the values), sets *idx to NULL; safe on NULL and twice. */
void topic_index_destroy(topic_index_t **idx);

/* Adds `value` under `filter` (topic_filter_valid). The same pair may be
 * inserted twice; it is then reported and must be removed twice.
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (bad filter or NULL value) or
 * ENLACE_ERR_NOMEM (the index is unchanged). */
enlace_err_t topic_index_insert(topic_index_t *idx, const char *filter, void *value);

/* Removes one (filter, value) pair and prunes emptied nodes.
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (bad filter) or ENLACE_ERR_NOT_FOUND. */
enlace_err_t topic_index_remove(topic_index_t *idx, const char *filter, void *value);

/* Calls cb(value, arg) for every inserted pair whose filter matches `topic`
 * (a valid topic name; an invalid one matches nothing), in no particular
 * order. Returns the number of calls made. */
size_t topic_index_match(const topic_index_t *idx, const char *topic, topic_index_cb cb, void *arg);

/* Number of (filter, value) pairs in the index. */
size_t topic_index_count(const topic_index_t *idx);

#endif
