/* json — streaming JSON writer (see json.h). */
#include "json.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "audit_util.h"

void json_init(json_t *j, FILE *out)
{
    memset(j, 0, sizeof(*j));
    j->out = out;
    j->first[0] = true;
}

void json_write_string(FILE *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            i++;
        } else if (c == '\n') {
            fputs("\\n", out);
            i++;
        } else if (c == '\t') {
            fputs("\\t", out);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, out);
            i++;
        } else {
            size_t n = audit_utf8_seq(p + i, len - i);
            if (n == 0) {
                fputs("\\ufffd", out);
                i++;
            } else {
                fwrite(p + i, 1, n, out);
                i += n;
            }
        }
    }
    fputc('"', out);
}

/* Comma and key before a value at the current level. */
static void member(json_t *j, const char *key)
{
    if (!j->first[j->depth]) {
        fputc(',', j->out);
    }
    j->first[j->depth] = false;
    if (key != NULL) {
        json_write_string(j->out, key, strlen(key));
        fputc(':', j->out);
    }
}

static void open_level(json_t *j, const char *key, char c)
{
    member(j, key);
    fputc(c, j->out);
    assert(j->depth + 1 < JSON_MAX_DEPTH);
    j->depth++;
    j->first[j->depth] = true;
}

static void close_level(json_t *j, char c)
{
    assert(j->depth > 0);
    j->depth--;
    fputc(c, j->out);
}

void json_obj_begin(json_t *j, const char *key)
{
    open_level(j, key, '{');
}

void json_obj_end(json_t *j)
{
    close_level(j, '}');
}

void json_arr_begin(json_t *j, const char *key)
{
    open_level(j, key, '[');
}

void json_arr_end(json_t *j)
{
    close_level(j, ']');
}

void json_str(json_t *j, const char *key, const char *val)
{
    if (val == NULL) {
        json_null(j, key);
        return;
    }
    json_strn(j, key, val, strlen(val));
}

void json_strn(json_t *j, const char *key, const char *val, size_t len)
{
    member(j, key);
    json_write_string(j->out, val, len);
}

void json_u64(json_t *j, const char *key, uint64_t v)
{
    member(j, key);
    fprintf(j->out, "%" PRIu64, v);
}

void json_i64(json_t *j, const char *key, int64_t v)
{
    member(j, key);
    fprintf(j->out, "%" PRId64, v);
}

void json_double(json_t *j, const char *key, double v)
{
    if (!isfinite(v)) {
        json_null(j, key);
        return;
    }
    member(j, key);
    fprintf(j->out, "%.6g", v);
}

void json_bool(json_t *j, const char *key, bool v)
{
    member(j, key);
    fputs(v ? "true" : "false", j->out);
}

void json_null(json_t *j, const char *key)
{
    member(j, key);
    fputs("null", j->out);
}

void json_newline(json_t *j)
{
    fputc('\n', j->out);
    j->first[0] = true;
}
