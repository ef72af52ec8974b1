/* config — the broker's configuration file (see config.h). */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

/* ===================================================================================== */
/* Line-numbered INI reading through libinih                                              */
/* ===================================================================================== */

/* One pass of libinih over a file held in memory. */
typedef struct ini_pass {
    const char *path;  /* file name, for messages */
    const char *buf;   /* whole file contents (borrowed) */
    size_t len;        /* bytes in buf */
    size_t pos;        /* start of the next line to hand to libinih */
    unsigned lineno;   /* physical lines handed to libinih so far */
    char section[256]; /* current section, full length (a line is shorter than this) */
    config_ini_fn fn;  /* caller's callback */
    void *user;        /* its argument */
    unsigned err_line; /* line of the first refusal, 0 = none yet */
    char reason[384];  /* reason of that refusal */
} ini_pass_t;

static void quote_value(char *dst, size_t cap, const char *v)
{
    /* Values land in logs and terminals: show only printable ASCII, and keep it short. */
    const size_t max_shown = 96;
    size_t o = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; v != NULL && v[i] != '\0' && o + 1 < cap; i++) {
        if (i == max_shown) {
            for (int k = 0; k < 3 && o + 1 < cap; k++)
                dst[o++] = '.';
            break;
        }
        unsigned char c = (unsigned char)v[i];
        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[o] = '\0';
}

static void vreason(char *buf, size_t buf_len, const char *value, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vreason(char *buf, size_t buf_len, const char *value, const char *fmt, va_list ap)
{
    char text[160];
    char quoted[112];
    vsnprintf(text, sizeof text, fmt, ap);
    quote_value(quoted, sizeof quoted, value);
    snprintf(buf, buf_len, "%s (value '%s')", text, quoted);
}

void config_ini_reason(char *buf, size_t buf_len, const char *value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreason(buf, buf_len, value, fmt, ap);
    va_end(ap);
}

void config_ini_error(char *why, size_t why_len, const char *path, unsigned line, const char *value,
                      const char *fmt, ...)
{
    char reason[384];
    va_list ap;
    va_start(ap, fmt);
    vreason(reason, sizeof reason, value, fmt, ap);
    va_end(ap);
    snprintf(why, why_len, "%s:%u: %s", path, line, reason);
}

static void pass_refuse(ini_pass_t *ip, unsigned line, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void pass_refuse(ini_pass_t *ip, unsigned line, const char *value, const char *fmt, ...)
{
    va_list ap;
    if (ip->err_line != 0)
        return;
    va_start(ap, fmt);
    vreason(ip->reason, sizeof ip->reason, value, fmt, ap);
    va_end(ap);
    ip->err_line = line;
}

static void pass_callback(ini_pass_t *ip, const char *name, const char *value)
{
    unsigned line = ip->lineno;
    if (ip->err_line != 0)
        return;
    if (!ip->fn(ip->user, ip->section, name, value, &line, ip->reason, sizeof ip->reason))
        ip->err_line = line != 0 ? line : ip->lineno;
}

/* A section header as libinih reads it: '[' then everything up to the first ']', unless
 * an inline comment (';' after a blank) comes first, which libinih calls a syntax error. */
static void pass_header(ini_pass_t *ip, const char *s, size_t n)
{
    bool was_space = false;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == ']') {
            assert(i - 1 < sizeof ip->section);
            memcpy(ip->section, s + 1, i - 1);
            ip->section[i - 1] = '\0';
            pass_callback(ip, NULL, NULL);
            return;
        }
        if (was_space && s[i] == ';')
            return;
        was_space = isspace((unsigned char)s[i]) != 0;
    }
}

/* libinih's fgets-like reader: exactly one physical line per call, so the number of calls
 * is the line number that the handler's pair came from. */
static char *pass_read(char *str, int num, void *stream)
{
    ini_pass_t *ip = stream;
    if (ip->pos >= ip->len)
        return NULL;
    assert(num >= 2);
    const char *start = ip->buf + ip->pos;
    const char *nl = memchr(start, '\n', ip->len - ip->pos);
    size_t n = nl != NULL ? (size_t)(nl - start) + 1 : ip->len - ip->pos;
    ip->pos += n;
    ip->lineno++;

    /* A UTF-8 byte-order mark is dropped here, so the header check below sees the '['. */
    if (ip->lineno == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
        start += 3;
        n -= 3;
    }
    /* Without leading blanks libinih never sees a continuation line, so an indented
     * "publish = x" is a new pair, not part of the value above it. */
    while (n > 0 && *start != '\n' && isspace((unsigned char)*start)) {
        start++;
        n--;
    }
    if (memchr(start, '\0', n) != NULL) {
        pass_refuse(ip, ip->lineno, "", "NUL byte in line");
        n = 0;
    } else if (n + 1 > (size_t)num) {
        char head[64];
        snprintf(head, sizeof head, "%.*s", (int)(sizeof head - 1), start);
        pass_refuse(ip, ip->lineno, head, "line longer than %d bytes", num - 2);
        n = 0;
    }
    if (n == 0) {
        /* An empty line keeps libinih's count in step with ours. */
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    memcpy(str, start, n);
    str[n] = '\0';
    if (start[0] == '[')
        pass_header(ip, start, n);
    return str;
}

static int pass_pair(void *user, const char *section, const char *name, const char *value)
{
    (void)section; /* cut at 49 bytes by libinih: ip->section is the full one */
    pass_callback(user, name, value);
    return 1; /* refusals are tracked in ini_pass_t; libinih's errors are syntax errors */
}

static void line_text(const char *buf, size_t len, unsigned line, char *out, size_t cap)
{
    size_t pos = 0;
    for (unsigned l = 1; l < line && pos < len; l++) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        pos = nl != NULL ? (size_t)(nl - buf) + 1 : len;
    }
    size_t n = 0;
    while (pos + n < len && buf[pos + n] != '\n' && buf[pos + n] != '\r' && n + 1 < cap)
        n++;
    memcpy(out, buf + pos, n);
    out[n] = '\0';
}

static enlace_err_t read_whole_file(const char *path, char **out, size_t *out_len, char *why,
                                    size_t why_len)
{
    enlace_err_t rc = ENLACE_ERR_IO;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "%s: not a regular file", path);
        goto cleanup;
    }
    /* One byte more than the limit tells "too large" from "exactly at the limit". */
    buf = malloc(CONFIG_INI_MAX_BYTES + 1);
    if (buf == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, CONFIG_INI_MAX_BYTES + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, why_len, "%s: cannot read: %s", path, strerror(errno));
            goto cleanup;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > CONFIG_INI_MAX_BYTES) {
            snprintf(why, why_len, "%s: larger than %u bytes", path, CONFIG_INI_MAX_BYTES);
            rc = ENLACE_ERR_TOO_LARGE;
            goto cleanup;
        }
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = ENLACE_OK;
cleanup:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

enlace_err_t config_ini_parse(const char *path, config_ini_fn fn, void *user, uint8_t *digest,
                              unsigned *n_lines, char *why, size_t why_len)
{
    char *buf = NULL;
    size_t len = 0;
    ini_pass_t ip;
    enlace_err_t rc = read_whole_file(path, &buf, &len, why, why_len);
    if (rc != ENLACE_OK)
        return rc;
    if (digest != NULL && EVP_Digest(buf, len, digest, NULL, EVP_sha256(), NULL) != 1) {
        snprintf(why, why_len, "%s: SHA-256 failed", path);
        rc = ENLACE_ERR_CRYPTO;
        goto cleanup;
    }
    memset(&ip, 0, sizeof ip);
    ip.path = path;
    ip.buf = buf;
    ip.len = len;
    ip.fn = fn;
    ip.user = user;
    int syntax_line = ini_parse_stream(pass_read, &ip, pass_pair, &ip);
    if (syntax_line < 0) {
        snprintf(why, why_len, "%s: out of memory", path);
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    if (n_lines != NULL)
        *n_lines = ip.lineno;
    if (syntax_line > 0 && (ip.err_line == 0 || (unsigned)syntax_line < ip.err_line)) {
        char text[128];
        line_text(buf, len, (unsigned)syntax_line, text, sizeof text);
        config_ini_error(why, why_len, path, (unsigned)syntax_line, text,
                         "syntax error: expected '[section]' or 'name = value'");
        rc = ENLACE_ERR_INVALID;
    } else if (ip.err_line != 0) {
        snprintf(why, why_len, "%s:%u: %s", path, ip.err_line, ip.reason);
        rc = ENLACE_ERR_INVALID;
    }
cleanup:
    free(buf);
    return rc;
}

char *config_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return NULL;
    char *abs = realpath(dir, NULL);
    int saved = errno;
    free(dir);
    errno = saved;
    return abs;
}

char *config_path_join(const char *dir, const char *value)
{
    if (value[0] == '/')
        return strdup(value);
    size_t n = strlen(dir) + 1 + strlen(value) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, value);
    return p;
}

bool config_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || s[0] == '\0')
        return false;
    for (const char *c = s; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return false;
        unsigned d = (unsigned)(*c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* ===================================================================================== */
/* The directive table                                                                    */
/* ===================================================================================== */

typedef enum {
    DT_STRING,   /* text; `check` may restrict it */
    DT_PATH,     /* file or directory name, resolved against the file's directory */
    DT_UINT,     /* decimal number in [min, max], stored as unsigned */
    DT_SIZE,     /* bytes with optional K/M/G (x1024), in [min, max], stored as uint64_t */
    DT_BOOL,     /* true/false, yes/no, on/off, 1/0 */
    DT_ENUM,     /* one of `choices`; the index is the stored enum value */
    DT_DURATION, /* number with ms/s/m/h, in [min, max] milliseconds, stored as unsigned */
    DT_FSYNC,    /* always | batch-ms N | never: sets fsync and fsync_batch_ms */
} dtype_t;

typedef struct directive {
    const char *section;          /* [section] it belongs to */
    const char *name;             /* name on the left of '=' */
    dtype_t type;                 /* how the value is parsed and stored */
    const char *def;              /* default, written as in the file; NULL = none */
    bool required;                /* must appear in the file */
    uint64_t min, max;            /* bounds for UINT, SIZE, DURATION (ms), FSYNC (batch ms) */
    const char *const *choices;   /* ENUM names, NULL-terminated, index = value */
    bool (*check)(const char *v); /* extra check for STRING, NULL = none */
    const char *check_says;       /* what `check` wants, for the refusal */
    size_t offset;                /* field in broker_config_t */
    const char *help;             /* one line for --help */
} directive_t;

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define FIELD(f) offsetof(broker_config_t, f)

static bool check_ip_literal(const char *v)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, v, tmp) == 1 || inet_pton(AF_INET6, v, tmp) == 1;
}

static bool check_origin(const char *v)
{
    /* The first line of every checkpoint: no control characters, not absurdly long. */
    size_t n = strlen(v);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
            return false;
    return true;
}

static const char *const LOG_FORMATS[] = {"text", "json", NULL};

_Static_assert(sizeof(config_logfmt_t) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(config_fsync_t) == sizeof(int), "enum fields are stored as int");

static const directive_t DIRECTIVES[] = {
    {"broker", "listen", DT_STRING, "0.0.0.0", false, 0, 0, NULL, check_ip_literal,
     "an IPv4 or IPv6 address", FIELD(listen_address),
     "address to listen on (0.0.0.0 or :: for all)"},
    {"broker", "port", DT_UINT, "7443", false, 0, 65535, NULL, NULL, NULL, FIELD(port),
     "TCP port; 0 picks a free port and prints it"},
    {"broker", "io_threads", DT_UINT, "0", false, 0, 256, NULL, NULL, NULL, FIELD(io_threads),
     "TLS/io threads; 0 = one per core"},
    {"broker", "log_format", DT_ENUM, "text", false, 0, 0, LOG_FORMATS, NULL, NULL,
     FIELD(log_format), "format of the broker's own log lines on stderr"},
    {"tls", "certificate", DT_PATH, NULL, true, 0, 0, NULL, NULL, NULL, FIELD(tls_certificate),
     "broker certificate with its intermediates, PEM"},
    {"tls", "key", DT_PATH, NULL, true, 0, 0, NULL, NULL, NULL, FIELD(tls_key),
     "private key of the broker certificate, PEM"},
    {"tls", "ca", DT_PATH, NULL, true, 0, 0, NULL, NULL, NULL, FIELD(tls_ca),
     "CA bundle that agency certificates must chain to, PEM"},
    {"tls", "crl", DT_PATH, NULL, false, 0, 0, NULL, NULL, NULL, FIELD(tls_crl),
     "CRLs for every CA of the chain, PEM; unset = no revocation check"},
    {"policy", "file", DT_PATH, NULL, true, 0, 0, NULL, NULL, NULL, FIELD(policy_file),
     "policy: agencies, roles, topics they may publish and subscribe"},
    {"log", "dir", DT_PATH, NULL, true, 0, 0, NULL, NULL, NULL, FIELD(log_dir),
     "directory of the audit log (segments, index, checkpoints)"},
    {"log", "checkpoint_key", DT_PATH, NULL, true, 0, 0, NULL, NULL, NULL, FIELD(checkpoint_key),
     "Ed25519 private key (PEM) that signs checkpoints"},
    {"log", "origin", DT_STRING, "enlace.example/log", false, 0, 0, NULL, check_origin,
     "1..255 printable characters without blanks", FIELD(origin),
     "origin line of signed checkpoints (a schema-less URL)"},
    {"log", "segment_size", DT_SIZE, "64M", false, MIB, GIB, NULL, NULL, NULL, FIELD(segment_size),
     "size at which a log segment file is closed"},
    {"log", "fsync", DT_FSYNC, "always", false, 1, 1000, NULL, NULL, NULL, FIELD(fsync),
     "always: fdatasync per commit group; batch-ms N: at most every N ms; never"},
    {"log", "verify_signatures", DT_BOOL, "true", false, 0, 0, NULL, NULL, NULL,
     FIELD(verify_signatures), "check every envelope signature before logging it"},
    {"log", "prepare_segments", DT_BOOL, "true", false, 0, 0, NULL, NULL, NULL,
     FIELD(prepare_segments),
     "write the next segment's zeros ahead, so commits overwrite instead of growing a file"},
    {"limits", "max_frame", DT_SIZE, "1M", false, 4 * KIB, 16 * MIB, NULL, NULL, NULL,
     FIELD(max_frame),
     "largest frame accepted, checked before reading it (at most 16M: a log record)"},
    {"limits", "max_sessions", DT_UINT, "4096", false, 1, 1000000, NULL, NULL, NULL,
     FIELD(max_sessions), "concurrent sessions, all agencies"},
    {"limits", "max_sessions_per_agency", DT_UINT, "64", false, 1, 1000000, NULL, NULL, NULL,
     FIELD(max_sessions_per_agency), "concurrent sessions of one agency (policy may override)"},
    {"limits", "handshake_timeout", DT_DURATION, "10s", false, 100, 300000, NULL, NULL, NULL,
     FIELD(handshake_timeout_ms), "TLS handshake plus Hello must finish within this"},
    {"limits", "idle_timeout", DT_DURATION, "300s", false, 1000, 86400000, NULL, NULL, NULL,
     FIELD(idle_timeout_ms), "close a session silent for this long"},
    {"limits", "session_buffer", DT_SIZE, "4M", false, 64 * KIB, GIB, NULL, NULL, NULL,
     FIELD(session_buffer), "outbound bytes buffered per session (at least max_frame)"},
    {"limits", "publish_rate", DT_UINT, "0", false, 0, 10000000, NULL, NULL, NULL,
     FIELD(publish_rate), "publishes/s per agency unless the policy says; 0 = unlimited"},
};
#define N_DIRECTIVES (sizeof DIRECTIVES / sizeof DIRECTIVES[0])

static const char *type_name(const directive_t *d)
{
    switch (d->type) {
    case DT_STRING: return "string";
    case DT_PATH: return "path";
    case DT_UINT: return "number";
    case DT_SIZE: return "size";
    case DT_BOOL: return "bool";
    case DT_ENUM: return "enum";
    case DT_DURATION: return "duration";
    case DT_FSYNC: return "always|batch-ms N|never";
    }
    return "?";
}

static void join_choices(const char *const *choices, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; choices[i] != NULL && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i == 0 ? "" : "|", choices[i]);
}

static void fmt_size(uint64_t v, char *out, size_t cap)
{
    if (v != 0 && v % GIB == 0)
        snprintf(out, cap, "%lluG", (unsigned long long)(v / GIB));
    else if (v != 0 && v % MIB == 0)
        snprintf(out, cap, "%lluM", (unsigned long long)(v / MIB));
    else if (v != 0 && v % KIB == 0)
        snprintf(out, cap, "%lluK", (unsigned long long)(v / KIB));
    else
        snprintf(out, cap, "%llu", (unsigned long long)v);
}

static void fmt_duration(uint64_t ms, char *out, size_t cap)
{
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(out, cap, "%lluh", (unsigned long long)(ms / 3600000));
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(out, cap, "%llum", (unsigned long long)(ms / 60000));
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(out, cap, "%llus", (unsigned long long)(ms / 1000));
    else
        snprintf(out, cap, "%llums", (unsigned long long)ms);
}

/* "digits" then a unit from `units` (multipliers in `mult`), overflow-checked. */
static bool parse_scaled(const char *v, const char *const *units, const uint64_t *mult,
                         bool unit_required, uint64_t *out)
{
    size_t nd = 0;
    while (v[nd] >= '0' && v[nd] <= '9')
        nd++;
    if (nd == 0 || nd > 19)
        return false;
    char digits[20];
    memcpy(digits, v, nd);
    digits[nd] = '\0';
    uint64_t n;
    if (!config_parse_uint(digits, 0, UINT64_MAX, &n))
        return false;
    const char *unit = v + nd;
    uint64_t m = 0;
    if (unit[0] == '\0' && !unit_required)
        m = 1;
    for (size_t i = 0; m == 0 && units[i] != NULL; i++)
        if (strcmp(unit, units[i]) == 0)
            m = mult[i];
    if (m == 0 || (n != 0 && n > UINT64_MAX / m))
        return false;
    *out = n * m;
    return true;
}

static bool parse_size(const char *v, uint64_t *out)
{
    static const char *const units[] = {"K", "k", "M", "m", "G", "g", NULL};
    static const uint64_t mult[] = {KIB, KIB, MIB, MIB, GIB, GIB};
    return parse_scaled(v, units, mult, false, out);
}

static bool parse_duration(const char *v, uint64_t *out)
{
    /* A bare number is refused: "10" could mean seconds or milliseconds. */
    static const char *const units[] = {"ms", "s", "m", "h", NULL};
    static const uint64_t mult[] = {1, 1000, 60000, 3600000};
    return parse_scaled(v, units, mult, true, out);
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *out = strcasecmp(v, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

static void store(broker_config_t *c, size_t offset, const void *v, size_t n)
{
    memcpy((char *)c + offset, v, n);
}

static void range_text(const directive_t *d, char *out, size_t cap)
{
    char lo[24], hi[24];
    if (d->type == DT_SIZE) {
        fmt_size(d->min, lo, sizeof lo);
        fmt_size(d->max, hi, sizeof hi);
    } else if (d->type == DT_DURATION) {
        fmt_duration(d->min, lo, sizeof lo);
        fmt_duration(d->max, hi, sizeof hi);
    } else {
        snprintf(lo, sizeof lo, "%llu", (unsigned long long)d->min);
        snprintf(hi, sizeof hi, "%llu", (unsigned long long)d->max);
    }
    snprintf(out, cap, "%s..%s", lo, hi);
}

/* Parse `v` for directive `d` and store it in *c. `dir` resolves relative paths.
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (reason written) or ENLACE_ERR_NOMEM. */
static enlace_err_t directive_set(const directive_t *d, broker_config_t *c, const char *dir,
                                  const char *v, char *reason, size_t reason_len)
{
    char range[64];
    uint64_t n = 0;
    switch (d->type) {
    case DT_STRING:
    case DT_PATH: {
        if (v[0] == '\0') {
            config_ini_reason(reason, reason_len, v, "[%s] %s must not be empty", d->section,
                              d->name);
            return ENLACE_ERR_INVALID;
        }
        if (d->check != NULL && !d->check(v)) {
            config_ini_reason(reason, reason_len, v, "[%s] %s must be %s", d->section, d->name,
                              d->check_says);
            return ENLACE_ERR_INVALID;
        }
        char *s = d->type == DT_PATH ? config_path_join(dir, v) : strdup(v);
        if (s == NULL)
            return ENLACE_ERR_NOMEM;
        char *old;
        memcpy(&old, (char *)c + d->offset, sizeof old);
        free(old);
        store(c, d->offset, &s, sizeof s);
        return ENLACE_OK;
    }
    case DT_UINT:
        if (!config_parse_uint(v, d->min, d->max, &n)) {
            range_text(d, range, sizeof range);
            config_ini_reason(reason, reason_len, v, "[%s] %s must be a whole number in %s",
                              d->section, d->name, range);
            return ENLACE_ERR_INVALID;
        }
        store(c, d->offset, &(unsigned){(unsigned)n}, sizeof(unsigned));
        return ENLACE_OK;
    case DT_SIZE:
        if (!parse_size(v, &n) || n < d->min || n > d->max) {
            range_text(d, range, sizeof range);
            config_ini_reason(reason, reason_len, v,
                              "[%s] %s must be a size in %s (bytes, or with K, M or G)", d->section,
                              d->name, range);
            return ENLACE_ERR_INVALID;
        }
        store(c, d->offset, &n, sizeof n);
        return ENLACE_OK;
    case DT_DURATION:
        if (!parse_duration(v, &n) || n < d->min || n > d->max) {
            range_text(d, range, sizeof range);
            config_ini_reason(reason, reason_len, v,
                              "[%s] %s must be a duration in %s (a number with ms, s, m or h)",
                              d->section, d->name, range);
            return ENLACE_ERR_INVALID;
        }
        store(c, d->offset, &(unsigned){(unsigned)n}, sizeof(unsigned));
        return ENLACE_OK;
    case DT_BOOL: {
        bool b;
        if (!parse_bool(v, &b)) {
            config_ini_reason(reason, reason_len, v,
                              "[%s] %s must be true or false (also yes/no, on/off, 1/0)",
                              d->section, d->name);
            return ENLACE_ERR_INVALID;
        }
        store(c, d->offset, &b, sizeof b);
        return ENLACE_OK;
    }
    case DT_ENUM:
        for (int i = 0; d->choices[i] != NULL; i++) {
            if (strcmp(v, d->choices[i]) == 0) {
                store(c, d->offset, &i, sizeof i);
                return ENLACE_OK;
            }
        }
        join_choices(d->choices, range, sizeof range);
        config_ini_reason(reason, reason_len, v, "[%s] %s must be one of %s", d->section, d->name,
                          range);
        return ENLACE_ERR_INVALID;
    case DT_FSYNC: {
        int mode = -1;
        unsigned batch = 0;
        const char *prefix = "batch-ms";
        if (strcmp(v, "always") == 0) {
            mode = CONFIG_FSYNC_ALWAYS;
        } else if (strcmp(v, "never") == 0) {
            mode = CONFIG_FSYNC_NEVER;
        } else if (strncmp(v, prefix, strlen(prefix)) == 0 &&
                   (v[strlen(prefix)] == ' ' || v[strlen(prefix)] == '\t')) {
            const char *num = v + strlen(prefix);
            while (*num == ' ' || *num == '\t')
                num++;
            if (config_parse_uint(num, d->min, d->max, &n)) {
                mode = CONFIG_FSYNC_BATCH;
                batch = (unsigned)n;
            }
        }
        if (mode < 0) {
            config_ini_reason(reason, reason_len, v,
                              "[%s] %s must be always, never or batch-ms N with N in %llu..%llu",
                              d->section, d->name, (unsigned long long)d->min,
                              (unsigned long long)d->max);
            return ENLACE_ERR_INVALID;
        }
        store(c, d->offset, &mode, sizeof mode);
        store(c, FIELD(fsync_batch_ms), &batch, sizeof batch);
        return ENLACE_OK;
    }
    }
    return ENLACE_ERR_INVALID;
}

static enlace_err_t apply_defaults(broker_config_t *out)
{
    char reason[256];
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        if (DIRECTIVES[i].def == NULL)
            continue;
        enlace_err_t rc =
            directive_set(&DIRECTIVES[i], out, "/", DIRECTIVES[i].def, reason, sizeof reason);
        /* A default the table's own parser refuses is a bug in the table. */
        assert(rc != ENLACE_ERR_INVALID);
        if (rc != ENLACE_OK)
            return rc;
    }
    return ENLACE_OK;
}

void config_defaults(broker_config_t *out)
{
    (void)apply_defaults(out);
}

void config_free(broker_config_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        if (DIRECTIVES[i].type != DT_STRING && DIRECTIVES[i].type != DT_PATH)
            continue;
        char *s;
        memcpy(&s, (char *)c + DIRECTIVES[i].offset, sizeof s);
        free(s);
    }
    memset(c, 0, sizeof *c);
}

/* ---- loading ------------------------------------------------------------------------- */

/* State of one config_load() while libinih walks the file. */
typedef struct config_loader {
    broker_config_t cfg;             /* being filled, starts from the defaults */
    const char *dir;                 /* absolute directory of the file */
    unsigned set_line[N_DIRECTIVES]; /* line that set each directive, 0 = default */
    bool nomem;                      /* an allocation failed */
} config_loader_t;

static bool section_known(const char *section)
{
    for (size_t i = 0; i < N_DIRECTIVES; i++)
        if (strcmp(DIRECTIVES[i].section, section) == 0)
            return true;
    return false;
}

static bool config_on_line(void *user, const char *section, const char *name, const char *value,
                           unsigned *line, char *reason, size_t reason_len)
{
    config_loader_t *ld = user;
    if (name == NULL) {
        if (!section_known(section)) {
            config_ini_reason(reason, reason_len, section,
                              "unknown section (expected broker, tls, policy, log, limits)");
            return false;
        }
        return true;
    }
    if (section[0] == '\0') {
        config_ini_reason(reason, reason_len, name, "directive outside any [section]");
        return false;
    }
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        const directive_t *d = &DIRECTIVES[i];
        if (strcmp(d->section, section) != 0 || strcmp(d->name, name) != 0)
            continue;
        if (ld->set_line[i] != 0) {
            config_ini_reason(reason, reason_len, value, "[%s] %s given twice (first on line %u)",
                              section, name, ld->set_line[i]);
            return false;
        }
        enlace_err_t rc = directive_set(d, &ld->cfg, ld->dir, value, reason, reason_len);
        if (rc == ENLACE_ERR_NOMEM) {
            ld->nomem = true;
            config_ini_reason(reason, reason_len, value, "out of memory");
        }
        if (rc != ENLACE_OK)
            return false;
        ld->set_line[i] = *line;
        return true;
    }
    config_ini_reason(reason, reason_len, name, "unknown directive in [%s]", section);
    return false;
}

/* Checks that involve more than one directive. */
static bool config_cross_check(config_loader_t *ld, const char *path, char *why, size_t why_len)
{
    if (ld->cfg.session_buffer < ld->cfg.max_frame) {
        size_t sb = 0, mf = 0;
        for (size_t i = 0; i < N_DIRECTIVES; i++) {
            if (DIRECTIVES[i].offset == FIELD(session_buffer))
                sb = i;
            if (DIRECTIVES[i].offset == FIELD(max_frame))
                mf = i;
        }
        /* Blame whichever of the two the file set last. */
        size_t at = ld->set_line[sb] > ld->set_line[mf] ? sb : mf;
        char v[32], other[32];
        fmt_size(at == sb ? ld->cfg.session_buffer : ld->cfg.max_frame, v, sizeof v);
        fmt_size(at == sb ? ld->cfg.max_frame : ld->cfg.session_buffer, other, sizeof other);
        config_ini_error(why, why_len, path, ld->set_line[at], v,
                         at == sb ? "[limits] session_buffer must be at least max_frame (%s)"
                                  : "[limits] max_frame must be at most session_buffer (%s)",
                         other);
        return false;
    }
    return true;
}

enlace_err_t config_load(const char *path, broker_config_t *out, char *why, size_t why_len)
{
    config_loader_t ld;
    char *dir = NULL;
    enlace_err_t rc;
    memset(&ld, 0, sizeof ld);
    memset(out, 0, sizeof *out);
    rc = apply_defaults(&ld.cfg);
    if (rc != ENLACE_OK) {
        snprintf(why, why_len, "%s: out of memory", path);
        goto cleanup;
    }
    dir = config_dir_of(path);
    if (dir == NULL) {
        int err = errno;
        snprintf(why, why_len, "%s: cannot resolve directory: %s", path, strerror(err));
        rc = err == ENOMEM ? ENLACE_ERR_NOMEM : ENLACE_ERR_IO;
        goto cleanup;
    }
    ld.dir = dir;
    rc = config_ini_parse(path, config_on_line, &ld, NULL, NULL, why, why_len);
    if (rc == ENLACE_ERR_INVALID && ld.nomem)
        rc = ENLACE_ERR_NOMEM;
    if (rc != ENLACE_OK)
        goto cleanup;

    /* Every missing required directive at once: the operator fixes them in one go. */
    size_t used = (size_t)snprintf(why, why_len, "%s: missing required directive(s):", path);
    bool missing = false;
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        if (!DIRECTIVES[i].required || ld.set_line[i] != 0)
            continue;
        missing = true;
        if (used < why_len)
            used += (size_t)snprintf(why + used, why_len - used, " [%s] %s", DIRECTIVES[i].section,
                                     DIRECTIVES[i].name);
    }
    if (missing) {
        rc = ENLACE_ERR_INVALID;
        goto cleanup;
    }
    if (!config_cross_check(&ld, path, why, why_len)) {
        rc = ENLACE_ERR_INVALID;
        goto cleanup;
    }
    *out = ld.cfg;
    memset(&ld.cfg, 0, sizeof ld.cfg);
    if (why_len > 0)
        why[0] = '\0';
cleanup:
    config_free(&ld.cfg);
    free(dir);
    return rc;
}

void config_print_help(FILE *out)
{
    fprintf(out, "Configuration file directives (INI; sizes take K/M/G, durations ms/s/m/h;\n"
                 "relative paths are relative to the configuration file):\n");
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        const directive_t *d = &DIRECTIVES[i];
        char key[48], type[96], range[64];
        snprintf(key, sizeof key, "[%s] %s", d->section, d->name);
        if (d->type == DT_ENUM)
            join_choices(d->choices, type, sizeof type);
        else if (d->type == DT_UINT || d->type == DT_SIZE || d->type == DT_DURATION) {
            range_text(d, range, sizeof range);
            snprintf(type, sizeof type, "%s %s", type_name(d), range);
        } else
            snprintf(type, sizeof type, "%s", type_name(d));
        fprintf(out, "  %-33s %-22s %-20s %s\n", key, type,
                d->required ? "(required)" : (d->def != NULL ? d->def : "(unset)"), d->help);
    }
}
