/* audit_util — exit codes, messages, encodings and files for enlace-audit (audit_util.h). */
#include "audit_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

audit_exit_t audit_exit_for(enlace_err_t rc)
{
    switch (rc) {
    case ENLACE_OK: return AUDIT_EXIT_OK;
    case ENLACE_ERR_INVALID: return AUDIT_EXIT_USAGE;
    case ENLACE_ERR_MALFORMED:
    case ENLACE_ERR_TOO_LARGE:
    case ENLACE_ERR_TRUNCATED:
    case ENLACE_ERR_OVER_BUDGET:
    case ENLACE_ERR_BAD_SIGNATURE:
    case ENLACE_ERR_BAD_CERT:
    case ENLACE_ERR_HASH_MISMATCH:
    case ENLACE_ERR_CORRUPT:
    case ENLACE_ERR_ROLLBACK: return AUDIT_EXIT_FAILED;
    case ENLACE_ERR_IO:
    case ENLACE_ERR_NOT_FOUND:
    case ENLACE_ERR_EXISTS: return AUDIT_EXIT_IO;
    case ENLACE_ERR_DENIED:
    case ENLACE_ERR_TIMEOUT:
    case ENLACE_ERR_CLOSED:
    case ENLACE_ERR_PROTOCOL:
    case ENLACE_ERR_AGAIN: return AUDIT_EXIT_NETWORK;
    default: return AUDIT_EXIT_INTERNAL;
    }
}

void audit_errf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("enlace-audit: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int audit_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "enlace-audit %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see enlace-audit %s --help)\n", cmd);
    va_end(ap);
    return AUDIT_EXIT_USAGE;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *audit_b64_encode(const uint8_t *data, size_t len)
{
    size_t out_len = (len + 2) / 3 * 4;
    char *out = malloc(out_len + 1);
    if (out == NULL) {
        return NULL;
    }
    char *p = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *p++ = B64[v >> 18];
        *p++ = B64[(v >> 12) & 63];
        *p++ = B64[(v >> 6) & 63];
        *p++ = B64[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        *p++ = B64[v >> 18];
        *p++ = B64[(v >> 12) & 63];
        *p++ = '=';
        *p++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        *p++ = B64[v >> 18];
        *p++ = B64[(v >> 12) & 63];
        *p++ = B64[(v >> 6) & 63];
        *p++ = '=';
    }
    *p = '\0';
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

enlace_err_t audit_b64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len % 4 != 0) {
        return ENLACE_ERR_MALFORMED;
    }
    uint8_t *buf = malloc(len / 4 * 3 + 1);
    if (buf == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = text[i + (size_t)k];
            if (c == '=' && last && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad > 0 || (v[k] = b64_value(c)) < 0) {
                free(buf);
                return ENLACE_ERR_MALFORMED; /* bad character, or data after '=' */
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* The bits a padded group does not use must be zero, or two texts would decode
         * to the same bytes (a proof must have one spelling). */
        if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0)) {
            free(buf);
            return ENLACE_ERR_MALFORMED;
        }
        buf[n++] = (uint8_t)(w >> 16);
        if (pad < 2) {
            buf[n++] = (uint8_t)(w >> 8);
        }
        if (pad < 1) {
            buf[n++] = (uint8_t)w;
        }
    }
    *out = buf;
    *out_len = n;
    return ENLACE_OK;
}

void audit_hex(const uint8_t *data, size_t len, char *out)
{
    static const char HEX[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = HEX[data[i] >> 4];
        out[2 * i + 1] = HEX[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool audit_unhex(const char *text, uint8_t *out, size_t len)
{
    if (text == NULL || strlen(text) != 2 * len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool audit_parse_u64(const char *text, uint64_t *out)
{
    if (text == NULL || text[0] == '\0' || (text[0] == '0' && text[1] != '\0')) {
        return false;
    }
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

void audit_time_iso(uint64_t ms, char out[25])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (ms / 1000 > (uint64_t)253402300799 || gmtime_r(&s, &tm) == NULL) {
        snprintf(out, 25, "(time %llu)", (unsigned long long)(ms % 1000000000000ull));
        return;
    }
    /* Every field is in range after gmtime_r; the casts and moduli tell the compiler. */
    snprintf(out, 25, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
             (unsigned)(ms % 1000));
}

enlace_err_t audit_read_file(const char *path, size_t max, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    enlace_err_t rc = ENLACE_ERR_IO;
    char *buf = NULL;
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? ENLACE_ERR_NOT_FOUND : ENLACE_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        goto done;
    }
    if ((uint64_t)st.st_size > max) {
        rc = ENLACE_ERR_TOO_LARGE;
        goto done;
    }
    /* Pipes report size 0: start with a block and grow. */
    size_t cap = (S_ISREG(st.st_mode) ? (size_t)st.st_size : 4095) + 1, n = 0;
    buf = malloc(cap);
    if (buf == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto done;
    }
    for (;;) {
        if (n + 1 == cap) {
            /* Full: the file may have grown since fstat; allow it up to max bytes. */
            size_t want = cap - 1 >= max ? cap : (cap * 2 > max + 1 ? max + 1 : cap * 2);
            if (want == cap) {
                char probe;
                ssize_t got = read(fd, &probe, 1);
                if (got == 0) {
                    break;
                }
                rc = got < 0 ? ENLACE_ERR_IO : ENLACE_ERR_TOO_LARGE;
                goto done;
            }
            char *p = realloc(buf, want);
            if (p == NULL) {
                rc = ENLACE_ERR_NOMEM;
                goto done;
            }
            buf = p;
            cap = want;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            goto done;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
    rc = ENLACE_OK;
done:
    free(buf);
    if (!is_stdin) {
        close(fd);
    }
    return rc;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t audit_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > len) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return n;
}

void audit_put_text(FILE *out, const char *text, size_t max)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t len = strlen((const char *)p), i = 0;
    while (i < len) {
        if (i >= max) {
            fputs("...", out);
            return;
        }
        size_t n = p[i] < 0x80 ? 1 : audit_utf8_seq(p + i, len - i);
        bool c1 = n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0; /* U+0080..U+009F */
        if (n == 0 || c1 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
            fputc('?', out);
            i += n ? n : 1;
        } else {
            fwrite(p + i, 1, n, out);
            i += n;
        }
    }
}

double audit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned audit_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : (unsigned)n;
}
