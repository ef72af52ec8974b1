/* topic — topic names, topic filters and MQTT-style matching.
 *
 * A topic is 1..TOPIC_MAX_LEVELS levels separated by '/', each level
 * 1..TOPIC_MAX_LEVEL_LEN characters of [A-Za-z0-9._-], total length at most
 * TOPIC_MAX_LEN (e.g. "alerts/trafficking/MX"). A filter is a topic in which
 * a whole level may be '+' (exactly one level) and the last level may be '#'
 * (that level and every level below it, including none: "a/#" matches "a").
 * Used by message validation (common/validate.c), the broker's policy and its
 * subscription routing.
 */
#ifndef ENLACE_TOPIC_H
#define ENLACE_TOPIC_H

#include <stdbool.h>

#define TOPIC_MAX_LEN 256
#define TOPIC_MAX_LEVELS 16
#define TOPIC_MAX_LEVEL_LEN 64

/* True when `topic` is a valid topic name (no wildcards). NULL is invalid. */
bool topic_name_valid(const char *topic);

/* True when `filter` is a valid topic filter. NULL is invalid. */
bool topic_filter_valid(const char *filter);

/* True when the valid filter `filter` matches the valid topic `topic`. */
bool topic_matches(const char *filter, const char *topic);

/* True when every topic that `inner` matches is also matched by `outer`
 * (both valid filters). Used to refuse subscriptions wider than the policy:
 * covers("alerts/#", "alerts/+/MX") is true, covers("alerts/+", "alerts/#")
 * is false. */
bool topic_filter_covers(const char *outer, const char *inner);

#endif
