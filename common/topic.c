/* topic — topic syntax, MQTT-style matching and filter covering (see topic.h).
 *
 * Everything here works on the strings in place: no allocation, no copies, so
 * the broker can call it on every publish. Levels are walked as (pointer,
 * length) pairs split at '/'.
 */
#include "topic.h"

#include <stddef.h>
#include <string.h>

/* One level of a topic or filter: [p, p + len), not NUL-terminated. */
typedef struct {
    const char *p; /* first character of the level */
    size_t len;    /* characters in the level */
} level_t;

/* Moves *cursor past the next level and stores it in *out. Returns false when
 * the string is used up (no level left). `*cursor == NULL` marks the end. */
static bool next_level(const char **cursor, level_t *out)
{
    const char *s = *cursor;
    if (s == NULL)
        return false;
    const char *slash = strchr(s, '/');
    out->p = s;
    if (slash) {
        out->len = (size_t)(slash - s);
        *cursor = slash + 1;
    } else {
        out->len = strlen(s);
        *cursor = NULL;
    }
    return true;
}

static bool level_is(const level_t *l, char c)
{
    return l->len == 1 && l->p[0] == c;
}

static bool level_eq(const level_t *a, const level_t *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static bool level_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool literal_level_ok(const level_t *l)
{
    if (l->len == 0 || l->len > TOPIC_MAX_LEVEL_LEN)
        return false;
    for (size_t i = 0; i < l->len; i++)
        if (!level_char_ok(l->p[i]))
            return false;
    return true;
}

/* Shared syntax check: wildcards allowed only when `filter`. */
static bool syntax_ok(const char *s, bool filter)
{
    if (s == NULL || s[0] == '\0' || strnlen(s, TOPIC_MAX_LEN + 1) > TOPIC_MAX_LEN)
        return false;
    const char *cur = s;
    level_t l;
    size_t levels = 0;
    while (next_level(&cur, &l)) {
        if (++levels > TOPIC_MAX_LEVELS)
            return false;
        if (filter && level_is(&l, '+'))
            continue;
        if (filter && level_is(&l, '#')) {
            if (cur != NULL) /* '#' must be the last level */
                return false;
            continue;
        }
        if (!literal_level_ok(&l))
            return false;
    }
    return true;
}

bool topic_name_valid(const char *topic)
{
    return syntax_ok(topic, false);
}

bool topic_filter_valid(const char *filter)
{
    return syntax_ok(filter, true);
}

bool topic_matches(const char *filter, const char *topic)
{
    if (filter == NULL || topic == NULL)
        return false;
    const char *fc = filter;
    const char *tc = topic;
    level_t f, t;
    for (;;) {
        bool have_f = next_level(&fc, &f);
        if (have_f && level_is(&f, '#'))
            return true; /* '#' matches this level and everything below, or nothing */
        bool have_t = next_level(&tc, &t);
        if (!have_f || !have_t)
            return !have_f && !have_t;
        if (!level_is(&f, '+') && !level_eq(&f, &t))
            return false;
    }
}

/* Walks both filters level by level. At each level, `outer` must accept
 * everything `inner` accepts: '#' accepts all that remains, '+' accepts any
 * single level, a literal accepts only the same literal. The answer is sound
 * (true only when covering holds) for topics of any depth. */
bool topic_filter_covers(const char *outer, const char *inner)
{
    if (outer == NULL || inner == NULL)
        return false;
    const char *oc = outer;
    const char *ic = inner;
    level_t o, i;
    for (;;) {
        bool have_o = next_level(&oc, &o);
        if (have_o && level_is(&o, '#'))
            return true;
        bool have_i = next_level(&ic, &i);
        if (!have_o || !have_i)
            return !have_o && !have_i; /* one ran out first: depths differ */
        if (level_is(&i, '#')) {
            /* A topic has at least one level, so a leading '#' means "+/#". */
            if (ic == NULL && i.p == inner && level_is(&o, '+'))
                return next_level(&oc, &o) && level_is(&o, '#');
            return false; /* inner also matches "no more levels", outer needs one */
        }
        if (level_is(&o, '+'))
            continue;
        if (level_is(&i, '+') || !level_eq(&o, &i))
            return false;
    }
}
