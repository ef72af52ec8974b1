/* audit_util — small shared pieces of enlace-audit: exit codes, messages, encodings, files.
 *
 * Every subcommand of enlace-audit returns one of the audit_exit_t values as the process
 * exit status (documented in `enlace-audit --help`), reports usage and I/O problems on
 * stderr through audit_errf(), and uses the strict base64 and hex helpers below for
 * anything it prints for, or reads back from, a third party (proofs, message ids).
 * Nothing here keeps state; all functions are thread safe.
 */
#ifndef ENLACE_AUDIT_UTIL_H
#define ENLACE_AUDIT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "enlace_err.h"

/* Process exit statuses of enlace-audit (all subcommands). */
typedef enum {
    AUDIT_EXIT_OK = 0,       /* everything checked holds / the command did its job */
    AUDIT_EXIT_USAGE = 1,    /* bad command line */
    AUDIT_EXIT_FAILED = 2,   /* verification failed: damaged, forged or inconsistent data */
    AUDIT_EXIT_IO = 3,       /* a file or directory cannot be read/written, or not found */
    AUDIT_EXIT_NETWORK = 4,  /* fetch: connection, TLS or broker refusal */
    AUDIT_EXIT_INTERNAL = 5, /* out of memory or an unexpected library failure */
} audit_exit_t;

/* The exit status that fits an error code: verification failures (CORRUPT, ROLLBACK,
 * BAD_SIGNATURE, HASH_MISMATCH, MALFORMED, BAD_CERT...) -> FAILED; IO, NOT_FOUND,
 * EXISTS -> IO; INVALID -> USAGE; CLOSED, PROTOCOL, TIMEOUT, DENIED -> NETWORK;
 * NOMEM and the rest -> INTERNAL; ENLACE_OK -> OK. */
audit_exit_t audit_exit_for(enlace_err_t rc);

/* Print "enlace-audit: <message>\n" on stderr. */
void audit_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "enlace-audit <cmd>: <message>" and a hint to --help on stderr; returns
 * AUDIT_EXIT_USAGE (for `return audit_usage(...)`). */
int audit_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Standard base64 (RFC 4648 section 4, with padding) of data[0..len) as a malloc'ed,
 * NUL-terminated string (caller frees), or NULL when out of memory. */
char *audit_b64_encode(const uint8_t *data, size_t len);

/* Decode text[0..len) as strict standard base64 with padding (no whitespace, no
 * missing or extra padding, unused bits zero) into *out (malloc'ed, caller frees; non-NULL
 * even for empty input), *out_len bytes.
 * Returns ENLACE_OK, ENLACE_ERR_MALFORMED or ENLACE_ERR_NOMEM. */
enlace_err_t audit_b64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len);

/* Lower-case hex of data[0..len) into out, which must hold 2 * len + 1 bytes. */
void audit_hex(const uint8_t *data, size_t len, char *out);

/* Parse exactly 2 * len hex digits (either case) into out[0..len).
 * Returns true on success. */
bool audit_unhex(const char *text, uint8_t *out, size_t len);

/* Parse a decimal uint64 without sign, spaces or trailing characters ("0" allowed,
 * leading zeros refused). Returns true on success. */
bool audit_parse_u64(const char *text, uint64_t *out);

/* Unix milliseconds as ISO 8601 UTC, "YYYY-MM-DDThh:mm:ss.fffZ" (out: 25 bytes). */
void audit_time_iso(uint64_t ms, char out[25]);

/* Read the whole file at path ("-": standard input; pipes are fine) into *data
 * (malloc'ed, NUL-terminated, caller frees) and *len (without the NUL). More than max
 * bytes is refused.
 * Returns ENLACE_OK, ENLACE_ERR_NOT_FOUND, ENLACE_ERR_TOO_LARGE, ENLACE_ERR_IO or
 * ENLACE_ERR_NOMEM. */
enlace_err_t audit_read_file(const char *path, size_t max, char **data, size_t *len);

/* Length (1..4) of the valid UTF-8 sequence at s[0..len), or 0 when the bytes there are
 * not one (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t audit_utf8_seq(const unsigned char *s, size_t len);

/* Write text to out for a terminal: valid printable UTF-8 as is, control characters
 * (C0, DEL, C1) and invalid bytes as '?', at most max bytes of text (then "..."), so
 * untrusted fields cannot move the cursor or forge lines. NULL prints "". */
void audit_put_text(FILE *out, const char *text, size_t max);

/* Seconds of a monotonic clock, for elapsed times and rates. */
double audit_now(void);

/* Number of online processors (at least 1). */
unsigned audit_cpu_count(void);

#endif
