/* clientconf — the client configuration file and connection options (enlace.h).
 *
 * One [client] section, one row per directive in CLIENT_DIRECTIVES (STYLE.md rule 10).
 * libinih (Debian r55) does not pass line numbers to handlers, so the file is read
 * into memory and fed to ini_parse_stream() through a reader that counts lines; an
 * error names "FILE:LINE". Relative paths are resolved against the file's directory,
 * so the CLI finds them from any working directory.
 */
#include "enlace.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

/* Largest client configuration file read (it holds a handful of lines). */
#define CLIENTCONF_MAX_BYTES 65536
#define CLIENTCONF_MAX_LINE 4096

struct enlace_config {
    enlace_options_t opts; /* what callers read; string members point at the fields below */
    char *host;            /* broker host */
    char *cert;            /* absolute or as given when absolute */
    char *key;             /* private key path */
    char *ca;              /* CA bundle path */
    char *crl;             /* CRL path or NULL */
    char *checkpoint_key;  /* pinned checkpoint key path or NULL */
    char *name;            /* client name or NULL */
};

typedef enum {
    DIRECTIVE_HOSTPORT, /* HOST[:PORT] */
    DIRECTIVE_PATH,     /* file path, relative to the configuration file */
    DIRECTIVE_DURATION, /* enlace_duration_parse */
    DIRECTIVE_TEXT,     /* UTF-8 text without control characters */
} directive_type_t;

/* One row of the directive table. */
typedef struct {
    const char *name;      /* key in [client] */
    directive_type_t type; /* how the value is checked */
    size_t field;          /* offsetof(struct enlace_config, <char *>) for strings */
} directive_t;

static const directive_t CLIENT_DIRECTIVES[] = {
    {"broker", DIRECTIVE_HOSTPORT, offsetof(struct enlace_config, host)},
    {"cert", DIRECTIVE_PATH, offsetof(struct enlace_config, cert)},
    {"key", DIRECTIVE_PATH, offsetof(struct enlace_config, key)},
    {"ca", DIRECTIVE_PATH, offsetof(struct enlace_config, ca)},
    {"crl", DIRECTIVE_PATH, offsetof(struct enlace_config, crl)},
    {"checkpoint_key", DIRECTIVE_PATH, offsetof(struct enlace_config, checkpoint_key)},
    {"timeout", DIRECTIVE_DURATION, 0},
    {"name", DIRECTIVE_TEXT, offsetof(struct enlace_config, name)},
};
#define N_DIRECTIVES (sizeof(CLIENT_DIRECTIVES) / sizeof(CLIENT_DIRECTIVES[0]))

/* State of one parse: the buffer the reader walks and the first error. */
typedef struct {
    const char *path;          /* file name, for messages */
    char *dir;                 /* directory of the file (for relative paths) */
    const char *text;          /* file contents */
    size_t len, pos;           /* contents length and read position */
    unsigned line;             /* number of the line last handed to inih */
    struct enlace_config *cfg; /* being filled */
    bool seen[N_DIRECTIVES];   /* a directive given twice is refused */
    char *why;                 /* caller's message buffer */
    size_t why_len;
    enlace_err_t rc; /* first error */
} parse_t;

void enlace_options_init(enlace_options_t *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->port = ENLACE_DEFAULT_PORT;
    opts->timeout_ms = ENLACE_DEFAULT_TIMEOUT_MS;
    opts->max_frame = ENLACE_DEFAULT_MAX_FRAME;
}

enlace_err_t enlace_parse_hostport(const char *text, char *host, size_t host_len, uint16_t *port)
{
    if (text == NULL || host == NULL || host_len == 0 || port == NULL)
        return ENLACE_ERR_INVALID;
    const char *h = text, *colon = NULL;
    size_t hlen;
    if (text[0] == '[') { /* [IPv6]:port */
        const char *close = strchr(text, ']');
        if (close == NULL)
            return ENLACE_ERR_INVALID;
        h = text + 1;
        hlen = (size_t)(close - h);
        if (close[1] == ':')
            colon = close + 1;
        else if (close[1] != '\0')
            return ENLACE_ERR_INVALID;
    } else {
        colon = strrchr(text, ':');
        if (colon != NULL && strchr(text, ':') != colon) /* bare IPv6 literal */
            colon = NULL;
        hlen = colon ? (size_t)(colon - text) : strlen(text);
    }
    if (hlen == 0 || hlen >= host_len)
        return ENLACE_ERR_INVALID;
    for (size_t i = 0; i < hlen; i++)
        if (h[i] <= ' ' || h[i] == 0x7f || h[i] == '/' || h[i] == '[' || h[i] == ']')
            return ENLACE_ERR_INVALID;
    uint16_t p = ENLACE_DEFAULT_PORT;
    if (colon != NULL) {
        const char *s = colon + 1;
        if (*s == '\0' || strlen(s) > 5)
            return ENLACE_ERR_INVALID;
        unsigned long v = 0;
        for (; *s; s++) {
            if (*s < '0' || *s > '9')
                return ENLACE_ERR_INVALID;
            v = v * 10 + (unsigned long)(*s - '0');
        }
        if (v == 0 || v > 65535)
            return ENLACE_ERR_INVALID;
        p = (uint16_t)v;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = p;
    return ENLACE_OK;
}

static int parse_fail(parse_t *ps, enlace_err_t rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error as "FILE:LINE: reason"; returns 0 for inih ("error"). */
static int parse_fail(parse_t *ps, enlace_err_t rc, const char *fmt, ...)
{
    if (ps->rc != ENLACE_OK)
        return 0;
    ps->rc = rc;
    if (ps->why != NULL && ps->why_len > 0) {
        int n = snprintf(ps->why, ps->why_len, "%s:%u: ", ps->path, ps->line);
        if (n >= 0 && (size_t)n < ps->why_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ps->why + n, ps->why_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return 0;
}

/* inih reader over the in-memory file: one physical line per call, counted. A line too
 * long for inih's buffer is an error rather than silently split in two. */
static char *line_reader(char *str, int num, void *stream)
{
    parse_t *ps = stream;
    if (ps->pos >= ps->len || num < 2)
        return NULL;
    const char *start = ps->text + ps->pos;
    const char *nl = memchr(start, '\n', ps->len - ps->pos);
    size_t n = nl ? (size_t)(nl - start) + 1 : ps->len - ps->pos;
    ps->line++;
    ps->pos += n;
    if (n > (size_t)num - 1) {
        parse_fail(ps, ENLACE_ERR_INVALID, "line longer than %d bytes", num - 1);
        n = 0; /* hand inih an empty line; the error is already recorded */
    }
    memcpy(str, start, n);
    str[n] = '\0';
    return str;
}

static char *resolve_path(const parse_t *ps, const char *value)
{
    if (value[0] == '/' || ps->dir == NULL)
        return strdup(value);
    size_t n = strlen(ps->dir) + 1 + strlen(value) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", ps->dir, value);
    return p;
}

static int directive_handler(void *user, const char *section, const char *name, const char *value)
{
    parse_t *ps = user;
    if (ps->rc != ENLACE_OK)
        return 0;
    if (strcmp(section, "client") != 0)
        return parse_fail(ps, ENLACE_ERR_INVALID, "unknown section [%s] (only [client])", section);
    size_t i;
    for (i = 0; i < N_DIRECTIVES; i++)
        if (strcmp(CLIENT_DIRECTIVES[i].name, name) == 0)
            break;
    if (i == N_DIRECTIVES)
        return parse_fail(ps, ENLACE_ERR_INVALID, "unknown directive '%s'", name);
    const directive_t *d = &CLIENT_DIRECTIVES[i];
    if (ps->seen[i])
        return parse_fail(ps, ENLACE_ERR_INVALID, "'%s' given twice", name);
    ps->seen[i] = true;
    if (value == NULL || value[0] == '\0')
        return parse_fail(ps, ENLACE_ERR_INVALID, "'%s' needs a value", name);
    if (!validate_utf8(value, CLIENTCONF_MAX_LINE))
        return parse_fail(ps, ENLACE_ERR_INVALID, "'%s': not valid text", name);

    char **field = d->type == DIRECTIVE_DURATION ? NULL : (char **)((char *)ps->cfg + d->field);
    switch (d->type) {
    case DIRECTIVE_HOSTPORT: {
        char host[256];
        uint16_t port;
        if (enlace_parse_hostport(value, host, sizeof host, &port) != ENLACE_OK)
            return parse_fail(ps, ENLACE_ERR_INVALID, "broker: expected HOST[:PORT] (value '%s')",
                              value);
        *field = strdup(host);
        ps->cfg->opts.port = port;
        break;
    }
    case DIRECTIVE_PATH: *field = resolve_path(ps, value); break;
    case DIRECTIVE_DURATION: {
        uint64_t ms;
        if (enlace_duration_parse(value, &ms) != ENLACE_OK || ms > 24ULL * 3600 * 1000)
            return parse_fail(ps, ENLACE_ERR_INVALID,
                              "timeout: expected a duration such as 10s, up to 24h "
                              "(value '%s')",
                              value);
        ps->cfg->opts.timeout_ms = (int)ms;
        return 1;
    }
    case DIRECTIVE_TEXT:
        if (strlen(value) > 128)
            return parse_fail(ps, ENLACE_ERR_INVALID, "'%s' longer than 128 bytes", name);
        *field = strdup(value);
        break;
    }
    if (*field == NULL)
        return parse_fail(ps, ENLACE_ERR_NOMEM, "out of memory");
    return 1;
}

static enlace_err_t read_file(const char *path, char **out, size_t *len, char *why, size_t why_len)
{
    enlace_err_t rc = ENLACE_ERR_IO;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        goto done;
    }
    buf = malloc(CLIENTCONF_MAX_BYTES + 1);
    if (buf == NULL) {
        rc = ENLACE_ERR_NOMEM;
        snprintf(why, why_len, "%s: out of memory", path);
        goto done;
    }
    size_t n = fread(buf, 1, CLIENTCONF_MAX_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(why, why_len, "%s: read error", path);
        goto done;
    }
    if (n > CLIENTCONF_MAX_BYTES) {
        rc = ENLACE_ERR_TOO_LARGE;
        snprintf(why, why_len, "%s: larger than %d bytes", path, CLIENTCONF_MAX_BYTES);
        goto done;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = ENLACE_OK;
done:
    free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

enlace_err_t enlace_config_load(const char *path, enlace_config_t **out, char *why, size_t why_len)
{
    char dummy[1];
    if (why == NULL || why_len == 0) {
        why = dummy;
        why_len = sizeof dummy;
    }
    why[0] = '\0';
    if (path == NULL || out == NULL) {
        snprintf(why, why_len, "no configuration file given");
        return ENLACE_ERR_INVALID;
    }
    *out = NULL;
    parse_t ps = {.path = path, .why = why, .why_len = why_len};
    char *text = NULL;
    enlace_err_t rc = read_file(path, &text, &ps.len, why, why_len);
    if (rc != ENLACE_OK)
        return rc;
    ps.text = text;
    ps.cfg = calloc(1, sizeof *ps.cfg);
    const char *slash = strrchr(path, '/');
    ps.dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : NULL;
    if (ps.cfg == NULL || (slash && ps.dir == NULL)) {
        rc = ENLACE_ERR_NOMEM;
        snprintf(why, why_len, "%s: out of memory", path);
        goto done;
    }
    enlace_options_init(&ps.cfg->opts);
    int line = ini_parse_stream(line_reader, &ps, directive_handler, &ps);
    if (ps.rc != ENLACE_OK) {
        rc = ps.rc;
        goto done;
    }
    if (line != 0) { /* inih's own syntax error: no handler call, so no message yet */
        ps.line = line > 0 ? (unsigned)line : ps.line;
        parse_fail(&ps, ENLACE_ERR_INVALID, "syntax error (expected [section] or key = value)");
        rc = ps.rc;
        goto done;
    }
    struct enlace_config *c = ps.cfg;
    c->opts.host = c->host;
    c->opts.cert = c->cert;
    c->opts.key = c->key;
    c->opts.ca = c->ca;
    c->opts.crl = c->crl;
    c->opts.checkpoint_key = c->checkpoint_key;
    c->opts.client_name = c->name;
    *out = ps.cfg;
    ps.cfg = NULL;
    rc = ENLACE_OK;
done:
    enlace_config_destroy(&ps.cfg);
    free(ps.dir);
    free(text);
    return rc;
}

const enlace_options_t *enlace_config_options(const enlace_config_t *cfg)
{
    return cfg ? &cfg->opts : NULL;
}

void enlace_config_destroy(enlace_config_t **cfg)
{
    if (cfg == NULL || *cfg == NULL)
        return;
    struct enlace_config *c = *cfg;
    free(c->host);
    free(c->cert);
    free(c->key);
    free(c->ca);
    free(c->crl);
    free(c->checkpoint_key);
    free(c->name);
    free(c);
    *cfg = NULL;
}
