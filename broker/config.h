/* config — the broker's configuration file, and the line-numbered INI reader behind it.
 *
 * The broker reads one INI file (libinih) at start and on reload. Every directive is a
 * row of one table in config.c (section, name, type, default, bounds, help), so
 * defaults, checks and `enlace-broker --help` cannot drift apart. A bad value, an
 * unknown section or directive and a directive given twice are refused with
 * "FILE:LINE: reason (value 'X')"; missing required directives are listed together.
 * Relative paths are resolved against the directory of the configuration file, so a
 * daemon that changes directory still finds them.
 *
 *     broker_config_t cfg;
 *     char why[512];
 *     if (config_load("/etc/enlace/enlace-broker.conf", &cfg, why, sizeof why) != ENLACE_OK)
 *         fprintf(stderr, "%s\n", why);
 *     ...
 *     config_free(&cfg);
 *
 * The second half of this header is the INI reader itself, shared with the policy file
 * (policy.c): libinih as Debian builds it (r55) does not pass line numbers to handlers,
 * so the reader feeds libinih one physical line at a time and counts them.
 */
#ifndef ENLACE_BROKER_CONFIG_H
#define ENLACE_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "enlace_err.h"

typedef enum { CONFIG_FSYNC_ALWAYS, CONFIG_FSYNC_BATCH, CONFIG_FSYNC_NEVER } config_fsync_t;
typedef enum { CONFIG_LOG_TEXT, CONFIG_LOG_JSON } config_logfmt_t;

/* The loaded configuration. Every char * is owned by the struct (config_free). Paths are
 * absolute when the file gave a relative one. Defaults are those of config_defaults(). */
typedef struct broker_config {
    char *listen_address; /* [broker] listen: IPv4/IPv6 literal (default 0.0.0.0) */
    unsigned port;        /* [broker] port = 7443 (0 = pick a free port; the broker prints it) */
    unsigned io_threads;  /* [broker] io_threads = 0 (0 = number of cores) */
    config_logfmt_t log_format; /* [broker] log_format = text|json (the broker's own log lines) */
    char *tls_certificate;      /* [tls] certificate: broker certificate chain, PEM (required) */
    char *tls_key;              /* [tls] key: its private key, PEM (required) */
    char *tls_ca;               /* [tls] ca: CA bundle clients are verified against (required) */
    char *tls_crl;              /* [tls] crl: CRLs for the whole chain, PEM; NULL = no CRL check */
    char *policy_file;          /* [policy] file: the policy (policy.h) (required) */
    char *log_dir;              /* [log] dir: audit log segments and checkpoints (required) */
    char *checkpoint_key;       /* [log] checkpoint_key: Ed25519 private key, PEM (required) */
    char *origin;               /* [log] origin = enlace.example/log (checkpoint origin line) */
    uint64_t segment_size;      /* [log] segment_size = 64M (sizes accept K/M/G) */
    config_fsync_t fsync;       /* [log] fsync = always | batch-ms N | never */
    unsigned fsync_batch_ms;    /* N of "batch-ms N" (1..1000); 0 unless fsync is BATCH */
    bool verify_signatures;     /* [log] verify_signatures = true (false only for benchmarks) */
    bool prepare_segments;      /* [log] prepare_segments = true (log_options_t.no_prealloc) */
    uint64_t max_frame;         /* [limits] max_frame = 1M (bytes after the length prefix) */
    unsigned max_sessions;      /* [limits] max_sessions = 4096 */
    unsigned max_sessions_per_agency; /* [limits] max_sessions_per_agency = 64 */
    unsigned handshake_timeout_ms;    /* [limits] handshake_timeout = 10s (durations: ms/s/m/h) */
    unsigned idle_timeout_ms;         /* [limits] idle_timeout = 300s */
    uint64_t session_buffer;          /* [limits] session_buffer = 4M (outbound bytes/session) */
    unsigned publish_rate; /* [limits] publish_rate = 0 (publishes/s per agency, 0 = unlimited) */
} broker_config_t;

/* Read the configuration file at `path` into *out (which need not be initialised).
 * Returns ENLACE_OK; ENLACE_ERR_INVALID for a bad value, unknown section or directive,
 * duplicate directive, syntax error or missing required directive; ENLACE_ERR_IO when the
 * file cannot be read; ENLACE_ERR_TOO_LARGE above CONFIG_INI_MAX_BYTES; ENLACE_ERR_NOMEM.
 * On failure `why` holds "FILE:LINE: reason (value 'X')" (or "FILE: reason" when no line
 * applies) and *out holds no allocations (config_free is still safe). */
enlace_err_t config_load(const char *path, broker_config_t *out, char *why, size_t why_len);

/* Fill *out with every default (the table's default column). The caller config_free()s
 * it. Only an allocation failure leaves a string default NULL. */
void config_defaults(broker_config_t *out);

/* Free every string of *c and zero it. Safe on a zeroed struct and twice. */
void config_free(broker_config_t *c);

/* Print the directive table (section, name, type, default, help) — enlace-broker --help. */
void config_print_help(FILE *out);

/* ---- Line-numbered INI files through libinih (used by config.c and policy.c) ----------- */

/* Largest configuration or policy file accepted. */
#define CONFIG_INI_MAX_BYTES (4u << 20)

/* Called for every section header (name == NULL, value == NULL) and every name = value
 * pair, in file order. `section` is the full name of the current section ("" before the
 * first header; libinih's own copy is cut at 49 bytes, this one is not). Keys and values
 * are trimmed; a line is at most about 200 bytes (libinih's buffer). `*line` is the
 * physical line number; to refuse, write a reason with config_ini_reason() into
 * reason[0..reason_len) and return false — the callback may point *line at an earlier
 * line when the refusal is about one (e.g. a section closed by this header). The first
 * refusal stops further calls. */
typedef bool (*config_ini_fn)(void *user, const char *section, const char *name, const char *value,
                              unsigned *line, char *reason, size_t reason_len);

/* Read `path` (a regular file of at most CONFIG_INI_MAX_BYTES), hash it, and pass it
 * through libinih calling `fn`. Leading blanks are dropped from every line, so libinih's
 * multi-line continuation values are off: an indented line is an ordinary line. Lines
 * containing NUL bytes or too long for libinih are refused. If `digest` is not NULL it
 * receives the SHA-256 of the whole file; `n_lines` (may be NULL) the number of lines.
 * Returns ENLACE_OK; ENLACE_ERR_INVALID (syntax error or a refusal of `fn`);
 * ENLACE_ERR_IO; ENLACE_ERR_TOO_LARGE; ENLACE_ERR_NOMEM; ENLACE_ERR_CRYPTO (hash).
 * `why` gets "FILE:LINE: reason (value 'X')" or "FILE: reason". */
enlace_err_t config_ini_parse(const char *path, config_ini_fn fn, void *user, uint8_t *digest,
                              unsigned *n_lines, char *why, size_t why_len);

/* Write "<reason> (value 'X')" into buf, with non-printable bytes of `value` shown as
 * '?' and long values shortened. `value` NULL counts as "". */
void config_ini_reason(char *buf, size_t buf_len, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write "FILE:LINE: <reason> (value 'X')" into why (for checks made after parsing). */
void config_ini_error(char *why, size_t why_len, const char *path, unsigned line, const char *value,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Absolute directory of the file `path` (realpath of its directory), malloc'ed; NULL on
 * failure with errno set. */
char *config_dir_of(const char *path);

/* `value` if absolute, else "dir/value"; malloc'ed, NULL when out of memory. */
char *config_path_join(const char *dir, const char *value);

/* Parse a whole decimal number within [min, max]: digits only, no sign, no blanks. */
bool config_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
