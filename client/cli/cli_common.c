/* cli_common — connection options, connecting, exit codes and output helpers (cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

const char *cli_prog = "enlace";

bool cli_common_option(cli_common_t *c, int opt, const char *arg)
{
    switch (opt) {
    case OPT_CONFIG: c->config = arg; return true;
    case OPT_BROKER: c->broker = arg; return true;
    case OPT_CERT: c->cert = arg; return true;
    case OPT_KEY: c->key = arg; return true;
    case OPT_CA: c->ca = arg; return true;
    case OPT_CRL: c->crl = arg; return true;
    case OPT_CHECKPOINT_KEY: c->checkpoint_key = arg; return true;
    default: return false;
    }
}

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s%s%s: ", cli_prog, cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_code(enlace_err_t rc)
{
    switch (rc) {
    case ENLACE_OK: return CLI_EXIT_OK;
    case ENLACE_ERR_INVALID: return CLI_EXIT_USAGE;
    case ENLACE_ERR_DENIED: return CLI_EXIT_REFUSED;
    case ENLACE_ERR_BAD_CERT:
    case ENLACE_ERR_BAD_SIGNATURE:
    case ENLACE_ERR_HASH_MISMATCH:
    case ENLACE_ERR_DECRYPT:
    case ENLACE_ERR_MALFORMED: return CLI_EXIT_VERIFY;
    case ENLACE_ERR_TIMEOUT: return CLI_EXIT_TIMEOUT;
    case ENLACE_ERR_CLOSED:
    case ENLACE_ERR_IO:
    case ENLACE_ERR_PROTOCOL: return CLI_EXIT_LOST;
    default: return CLI_EXIT_OTHER;
    }
}

int cli_fail(const char *cmd, enlace_conn_t *conn, enlace_err_t rc)
{
    const char *text = enlace_last_error(conn);
    cli_error(cmd, "%s", text && text[0] ? text : enlace_err_str(rc));
    return cli_exit_code(rc);
}

int cli_connect(const char *cmd, const cli_common_t *c, bool reconnect, enlace_conn_t **conn)
{
    *conn = NULL;
    enlace_config_t *cfg = NULL;
    enlace_options_t opts;
    enlace_options_init(&opts);
    const char *path = c->config ? c->config : getenv("ENLACE_CONFIG");
    if (path != NULL && path[0] != '\0') {
        char why[512];
        enlace_err_t rc = enlace_config_load(path, &cfg, why, sizeof why);
        if (rc != ENLACE_OK) {
            cli_error(cmd, "%s", why);
            return CLI_EXIT_USAGE;
        }
        opts = *enlace_config_options(cfg);
    }
    char host[256];
    if (c->broker != NULL) {
        if (enlace_parse_hostport(c->broker, host, sizeof host, &opts.port) != ENLACE_OK) {
            cli_error(cmd, "--broker: expected HOST[:PORT], got '%s'", c->broker);
            enlace_config_destroy(&cfg);
            return CLI_EXIT_USAGE;
        }
        opts.host = host;
    }
    if (c->cert)
        opts.cert = c->cert;
    if (c->key)
        opts.key = c->key;
    if (c->ca)
        opts.ca = c->ca;
    if (c->crl)
        opts.crl = c->crl;
    if (c->checkpoint_key)
        opts.checkpoint_key = c->checkpoint_key;
    opts.client_name = "enlace-cli/" ENLACE_VERSION;
    opts.reconnect = reconnect;
    const char *missing = !opts.host   ? "--broker"
                          : !opts.cert ? "--cert"
                          : !opts.key  ? "--key"
                          : !opts.ca   ? "--ca"
                                       : NULL;
    if (missing != NULL) {
        cli_error(cmd,
                  "no %s given (flag, or the client configuration file: --config or "
                  "ENLACE_CONFIG)",
                  missing);
        enlace_config_destroy(&cfg);
        return CLI_EXIT_USAGE;
    }
    int exit_code = CLI_EXIT_OK;
    enlace_conn_t *cn = enlace_new(&opts);
    if (cn == NULL) {
        cli_error(cmd, "out of memory");
        exit_code = CLI_EXIT_OTHER;
    } else {
        enlace_err_t rc = enlace_connect(cn);
        if (rc != ENLACE_OK) {
            cli_error(cmd, "cannot connect to %s port %u: %s", opts.host, (unsigned)opts.port,
                      enlace_last_error(cn));
            enlace_close(&cn);
            exit_code = rc == ENLACE_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_CONNECT;
        }
    }
    enlace_config_destroy(&cfg); /* enlace_new copied what it needs */
    *conn = cn;
    return exit_code;
}

void cli_json_string(FILE *out, const char *s)
{
    if (s == NULL) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void cli_hex(FILE *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", p[i]);
}

char *cli_base64(const uint8_t *p, size_t n)
{
    if (n > (size_t)INT32_MAX / 2)
        return NULL;
    char *s = malloc(4 * ((n + 2) / 3) + 1);
    if (s == NULL)
        return NULL;
    EVP_EncodeBlock((unsigned char *)s, p, (int)n);
    return s;
}

bool cli_is_text(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        /* Multi-byte sequence: length from the lead byte; no overlongs, surrogates or
         * code points above U+10FFFF. */
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return false;
        i += len;
    }
    return true;
}
