/* json — a small streaming JSON writer for enlace-audit's machine-readable output.
 *
 * `show --json` prints one object per line (JSON Lines) and `verify --json` one summary
 * object; both go through this writer so that every string is escaped the same way.
 * Record fields are untrusted bytes: strings are written as valid UTF-8 whatever they
 * hold (control characters as \u00XX, invalid UTF-8 sequences as U+FFFD), so the output
 * always parses. Members are written in call order; the writer adds the commas.
 *
 *     json_t j;
 *     json_init(&j, stdout);
 *     json_obj_begin(&j, NULL);
 *     json_u64(&j, "seq", 42);
 *     json_str(&j, "kind", "published");
 *     json_arr_begin(&j, "recipients"); json_str(&j, NULL, "US.FBI"); json_arr_end(&j);
 *     json_obj_end(&j);
 *     json_newline(&j);
 *
 * Keys are written as given (callers pass literals). Nesting deeper than JSON_MAX_DEPTH
 * is a programming error (assert). A json_t is used by one thread.
 */
#ifndef ENLACE_AUDIT_JSON_H
#define ENLACE_AUDIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

/* Writer state; a plain struct so it can live on the stack. */
typedef struct {
    FILE *out;                  /* destination (borrowed) */
    int depth;                  /* open objects/arrays */
    bool first[JSON_MAX_DEPTH]; /* per level: nothing written in it yet */
} json_t;

void json_init(json_t *j, FILE *out);
/* key is the member name inside an object, NULL inside an array or at top level. */
void json_obj_begin(json_t *j, const char *key);
void json_obj_end(json_t *j);
void json_arr_begin(json_t *j, const char *key);
void json_arr_end(json_t *j);
/* A string member; val NULL writes null. */
void json_str(json_t *j, const char *key, const char *val);
/* A string of len bytes (may hold NUL bytes: written as \u0000). */
void json_strn(json_t *j, const char *key, const char *val, size_t len);
void json_u64(json_t *j, const char *key, uint64_t v);
void json_i64(json_t *j, const char *key, int64_t v);
/* A number with up to 6 significant decimals; NaN and infinities become null. */
void json_double(json_t *j, const char *key, double v);
void json_bool(json_t *j, const char *key, bool v);
void json_null(json_t *j, const char *key);
/* End a top-level value with a newline. */
void json_newline(json_t *j);

/* Write s[0..len) as a quoted JSON string to out (the escaping above). */
void json_write_string(FILE *out, const char *s, size_t len);

#endif
