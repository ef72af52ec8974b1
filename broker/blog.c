/* blog — structured log lines on stderr (see blog.h). */
#include "blog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool blog_json;                    /* JSON lines instead of key=value */
static blog_level_t blog_min = BLOG_INFO; /* lowest level printed */

void blog_init(bool json, blog_level_t min)
{
    blog_json = json;
    blog_min = min;
}

/* Appends `s` to buf at *pos, escaped for the chosen format, never past cap. */
static void put_escaped(char *buf, size_t cap, size_t *pos, const char *s, bool quote)
{
    if (quote && *pos < cap)
        buf[(*pos)++] = '"';
    for (; s && *s && *pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            *pos += (size_t)snprintf(buf + *pos, cap - *pos, "\\u%04x", c);
        } else {
            buf[(*pos)++] = (char)c;
        }
    }
    if (quote && *pos < cap)
        buf[(*pos)++] = '"';
}

static void put_raw(char *buf, size_t cap, size_t *pos, const char *s)
{
    while (*s && *pos < cap)
        buf[(*pos)++] = *s++;
}

/* Values with spaces, quotes or '=' are quoted in text mode. */
static bool needs_quotes(const char *v)
{
    return !v || !*v || strpbrk(v, " \t\"=\\") != NULL;
}

void blog(blog_level_t level, const char *event, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < blog_min)
        return;
    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);

    char buf[4096];
    size_t cap = sizeof buf - 2, pos = 0;
    va_list ap;
    va_start(ap, event);
    if (blog_json) {
        pos += (size_t)snprintf(buf, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts,
                                names[level]);
        put_escaped(buf, cap, &pos, event, true);
        const char *k;
        while ((k = va_arg(ap, const char *)) != NULL) {
            const char *v = va_arg(ap, const char *);
            put_raw(buf, cap, &pos, ",");
            put_escaped(buf, cap, &pos, k, true);
            put_raw(buf, cap, &pos, ":");
            put_escaped(buf, cap, &pos, v ? v : "", true);
        }
        put_raw(buf, cap, &pos, "}");
    } else {
        pos += (size_t)snprintf(buf, cap, "ts=%s level=%s event=%s", ts, names[level], event);
        const char *k;
        while ((k = va_arg(ap, const char *)) != NULL) {
            const char *v = va_arg(ap, const char *);
            put_raw(buf, cap, &pos, " ");
            put_raw(buf, cap, &pos, k);
            put_raw(buf, cap, &pos, "=");
            put_escaped(buf, cap, &pos, v ? v : "", needs_quotes(v));
        }
    }
    va_end(ap);
    if (pos > cap)
        pos = cap;
    buf[pos++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, pos);
    (void)w;
}
