/* blog — the broker's structured operational log (stderr).
 *
 * One line per event, as key=value pairs (text) or one JSON object (json),
 * chosen once at start-up with blog_init(). Every line carries a timestamp,
 * a level and an event name; callers add fields as "key", value pairs.
 * Secrets (keys, plaintext) are never passed here. Thread-safe: each line is
 * written with a single write(2).
 *
 *   blog(BLOG_INFO, "session.open", "agency", id, "peer", addr, NULL);
 */
#ifndef ENLACE_BLOG_H
#define ENLACE_BLOG_H

#include <stdbool.h>

typedef enum { BLOG_DEBUG, BLOG_INFO, BLOG_WARN, BLOG_ERROR } blog_level_t;

/* json: true for JSON lines, false for key=value. min: lowest level printed. */
void blog_init(bool json, blog_level_t min);

/* Logs `event` with a NULL-terminated list of (const char *key, const char *value)
 * pairs. A NULL value prints as an empty string. */
void blog(blog_level_t level, const char *event, ...) __attribute__((sentinel));

#endif
