/* test_config — the broker configuration file, read as a specification.
 *
 * Every directive's default; good and bad values of each type, every refusal with the
 * exact "FILE:LINE:" prefix; unknown sections and directives; missing required
 * directives; relative paths; the shipped example (deploy/enlace-broker.conf.example).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char g_dir[256]; /* realpath of this run's temporary directory (short: paths fit) */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    char tmpl[] = "/tmp/enlace-test-config-XXXXXX";
    char abs[PATH_MAX];
    if (mkdtemp(tmpl) == NULL || realpath(tmpl, abs) == NULL || strlen(abs) >= sizeof g_dir)
        return -1;
    memcpy(g_dir, abs, strlen(abs) + 1);
    return 0;
}

static int teardown(void **state)
{
    return nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Write `len` bytes (or strlen) of `text` to g_dir/name; the full path goes to path. */
static void write_file(const char *name, const char *text, size_t len, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len == 0)
        len = strlen(text);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* The required directives, with values the tests recognise. */
static const struct {
    const char *section, *name, *value;
} REQUIRED[] = {
    {"tls", "certificate", "tls/broker.crt"},
    {"tls", "key", "tls/broker.key"},
    {"tls", "ca", "tls/ca.pem"},
    {"policy", "file", "policy.ini"},
    {"log", "dir", "log"},
    {"log", "checkpoint_key", "checkpoint.key"},
};

/* The required directives as file text, leaving out section/name (may be NULL). */
static void required_text(const char *skip_section, const char *skip_name, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++) {
        if (skip_section != NULL && strcmp(REQUIRED[i].section, skip_section) == 0 &&
            strcmp(REQUIRED[i].name, skip_name) == 0)
            continue;
        used += (size_t)snprintf(out + used, cap - used, "[%s]\n%s = %s\n", REQUIRED[i].section,
                                 REQUIRED[i].name, REQUIRED[i].value);
    }
}

/* A field as text, so tables can state expected values: numbers in decimal, strings as
 * they are ("(null)" when unset), "@" standing for g_dir in expected paths. */
static void field_text(const broker_config_t *c, const char *section, const char *name, char *out,
                       size_t cap)
{
    const char *fsync_names[] = {"always", "batch", "never"};
#define IS(s, n) (strcmp(section, s) == 0 && strcmp(name, n) == 0)
#define STR(v) snprintf(out, cap, "%s", (v) != NULL ? (v) : "(null)")
#define NUM(v) snprintf(out, cap, "%llu", (unsigned long long)(v))
    if (IS("broker", "listen"))
        STR(c->listen_address);
    else if (IS("broker", "port"))
        NUM(c->port);
    else if (IS("broker", "io_threads"))
        NUM(c->io_threads);
    else if (IS("broker", "log_format"))
        STR(c->log_format == CONFIG_LOG_TEXT ? "text" : "json");
    else if (IS("tls", "certificate"))
        STR(c->tls_certificate);
    else if (IS("tls", "key"))
        STR(c->tls_key);
    else if (IS("tls", "ca"))
        STR(c->tls_ca);
    else if (IS("tls", "crl"))
        STR(c->tls_crl);
    else if (IS("policy", "file"))
        STR(c->policy_file);
    else if (IS("log", "dir"))
        STR(c->log_dir);
    else if (IS("log", "checkpoint_key"))
        STR(c->checkpoint_key);
    else if (IS("log", "origin"))
        STR(c->origin);
    else if (IS("log", "segment_size"))
        NUM(c->segment_size);
    else if (IS("log", "fsync"))
        snprintf(out, cap, "%s %u", fsync_names[c->fsync], c->fsync_batch_ms);
    else if (IS("log", "verify_signatures"))
        STR(c->verify_signatures ? "true" : "false");
    else if (IS("limits", "max_frame"))
        NUM(c->max_frame);
    else if (IS("limits", "max_sessions"))
        NUM(c->max_sessions);
    else if (IS("limits", "max_sessions_per_agency"))
        NUM(c->max_sessions_per_agency);
    else if (IS("limits", "handshake_timeout"))
        NUM(c->handshake_timeout_ms);
    else if (IS("limits", "idle_timeout"))
        NUM(c->idle_timeout_ms);
    else if (IS("limits", "session_buffer"))
        NUM(c->session_buffer);
    else if (IS("limits", "publish_rate"))
        NUM(c->publish_rate);
    else
        fail_msg("no such directive [%s] %s", section, name);
#undef IS
#undef STR
#undef NUM
}

static void expand_at(const char *expected, char *out, size_t cap)
{
    if (expected[0] == '@')
        snprintf(out, cap, "%s%s", g_dir, expected + 1);
    else
        snprintf(out, cap, "%s", expected);
}

/* ---- defaults ------------------------------------------------------------------------ */

static const struct {
    const char *section, *name, *value;
} DEFAULTS[] = {
    {"broker", "listen", "0.0.0.0"},
    {"broker", "port", "7443"},
    {"broker", "io_threads", "0"},
    {"broker", "log_format", "text"},
    {"tls", "crl", "(null)"},
    {"log", "origin", "enlace.example/log"},
    {"log", "segment_size", "67108864"},
    {"log", "fsync", "always 0"},
    {"log", "verify_signatures", "true"},
    {"limits", "max_frame", "1048576"},
    {"limits", "max_sessions", "4096"},
    {"limits", "max_sessions_per_agency", "64"},
    {"limits", "handshake_timeout", "10000"},
    {"limits", "idle_timeout", "300000"},
    {"limits", "session_buffer", "4194304"},
    {"limits", "publish_rate", "0"},
};

static void test_defaults_when_only_required_given(void **state)
{
    char text[1024], path[PATH_MAX], why[512], got[PATH_MAX];
    broker_config_t from_file, defaults;
    required_text(NULL, NULL, text, sizeof text);
    write_file("required-only.conf", text, 0, path, sizeof path);
    assert_int_equal(config_load(path, &from_file, why, sizeof why), ENLACE_OK);
    config_defaults(&defaults);
    for (size_t i = 0; i < sizeof DEFAULTS / sizeof DEFAULTS[0]; i++) {
        field_text(&from_file, DEFAULTS[i].section, DEFAULTS[i].name, got, sizeof got);
        if (strcmp(got, DEFAULTS[i].value) != 0)
            fail_msg("[%s] %s: default %s, expected %s", DEFAULTS[i].section, DEFAULTS[i].name, got,
                     DEFAULTS[i].value);
        field_text(&defaults, DEFAULTS[i].section, DEFAULTS[i].name, got, sizeof got);
        assert_string_equal(got, DEFAULTS[i].value);
    }
    /* Required directives have no default. */
    for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++) {
        field_text(&defaults, REQUIRED[i].section, REQUIRED[i].name, got, sizeof got);
        assert_string_equal(got, "(null)");
    }
    config_free(&from_file);
    config_free(&defaults);
    config_free(&defaults); /* safe twice */
}

/* ---- values of every type, good and bad ---------------------------------------------- */

/* expect == NULL: refused, and `why` must be "FILE:2: " + a text containing `reason`
 * + " (value '<value>')". */
static const struct {
    const char *section, *name, *value;
    const char *expect; /* field_text of the stored value, NULL = refused */
    const char *reason; /* for refusals: part of the message */
} VALUES[] = {
    /* string with a check: listen takes an IP literal */
    {"broker", "listen", "127.0.0.1", "127.0.0.1", NULL},
    {"broker", "listen", "::1", "::1", NULL},
    {"broker", "listen", "::", "::", NULL},
    {"broker", "listen", "localhost", NULL, "[broker] listen must be an IPv4 or IPv6 address"},
    {"broker", "listen", "10.0.0.256", NULL, "must be an IPv4 or IPv6 address"},
    {"broker", "listen", "", NULL, "[broker] listen must not be empty"},
    {"log", "origin", "fgr.gob.mx/enlace/log", "fgr.gob.mx/enlace/log", NULL},
    {"log", "origin", "enlace log", NULL, "[log] origin must be 1..255 printable characters"},
    /* path: relative to the file's directory, absolute kept */
    {"tls", "certificate", "certs/broker.crt", "@/certs/broker.crt", NULL},
    {"tls", "certificate", "/etc/enlace/broker.crt", "/etc/enlace/broker.crt", NULL},
    {"tls", "crl", "crl.pem", "@/crl.pem", NULL},
    {"log", "dir", "../log", "@/../log", NULL},
    {"tls", "certificate", "", NULL, "[tls] certificate must not be empty"},
    /* unsigned whole numbers within a range */
    {"broker", "port", "0", "0", NULL},
    {"broker", "port", "65535", "65535", NULL},
    {"broker", "port", "08443", "8443", NULL},
    {"broker", "port", "65536", NULL, "[broker] port must be a whole number in 0..65535"},
    {"broker", "port", "-1", NULL, "[broker] port must be a whole number in 0..65535"},
    {"broker", "port", "+443", NULL, "must be a whole number"},
    {"broker", "port", "443x", NULL, "must be a whole number"},
    {"broker", "port", "4 43", NULL, "must be a whole number"},
    {"broker", "port", "", NULL, "must be a whole number"},
    {"broker", "port", "99999999999999999999999", NULL, "must be a whole number"},
    {"broker", "io_threads", "256", "256", NULL},
    {"broker", "io_threads", "257", NULL, "[broker] io_threads must be a whole number in 0..256"},
    {"limits", "max_sessions", "0", NULL,
     "[limits] max_sessions must be a whole number in 1..1000000"},
    {"limits", "publish_rate", "500", "500", NULL},
    /* sizes: bytes or K/M/G (x1024), within a range */
    {"log", "segment_size", "1M", "1048576", NULL},
    {"log", "segment_size", "128m", "134217728", NULL},
    {"log", "segment_size", "1G", "1073741824", NULL},
    {"log", "segment_size", "2097152", "2097152", NULL},
    {"log", "segment_size", "1023K", NULL, "[log] segment_size must be a size in 1M..1G"},
    {"log", "segment_size", "2G", NULL, "[log] segment_size must be a size in 1M..1G"},
    {"log", "segment_size", "1T", NULL, "must be a size"},
    {"log", "segment_size", "1.5M", NULL, "must be a size"},
    {"log", "segment_size", "M", NULL, "must be a size"},
    {"log", "segment_size", "64 M", NULL, "must be a size"},
    {"log", "segment_size", "18446744073709551615G", NULL, "must be a size"},
    {"limits", "max_frame", "4K", "4096", NULL},
    {"limits", "max_frame", "4M", "4194304", NULL},
    {"limits", "max_frame", "17M", NULL, "[limits] max_frame must be a size in 4K..16M"},
    {"limits", "max_frame", "4095", NULL, "[limits] max_frame must be a size in 4K..16M"},
    {"limits", "session_buffer", "64K", NULL,
     "[limits] session_buffer must be at least max_frame (1M)"},
    /* booleans */
    {"log", "verify_signatures", "false", "false", NULL},
    {"log", "verify_signatures", "NO", "false", NULL},
    {"log", "verify_signatures", "off", "false", NULL},
    {"log", "verify_signatures", "0", "false", NULL},
    {"log", "verify_signatures", "yes", "true", NULL},
    {"log", "verify_signatures", "On", "true", NULL},
    {"log", "verify_signatures", "1", "true", NULL},
    {"log", "verify_signatures", "maybe", NULL, "[log] verify_signatures must be true or false"},
    {"log", "verify_signatures", "2", NULL, "must be true or false"},
    /* enums */
    {"broker", "log_format", "json", "json", NULL},
    {"broker", "log_format", "text", "text", NULL},
    {"broker", "log_format", "JSON", NULL, "[broker] log_format must be one of text|json"},
    {"broker", "log_format", "xml", NULL, "must be one of text|json"},
    /* durations: a number with ms, s, m or h, within a range */
    {"limits", "handshake_timeout", "250ms", "250", NULL},
    {"limits", "handshake_timeout", "30s", "30000", NULL},
    {"limits", "handshake_timeout", "5m", "300000", NULL},
    {"limits", "handshake_timeout", "6m", NULL,
     "[limits] handshake_timeout must be a duration in 100ms..5m"},
    {"limits", "handshake_timeout", "99ms", NULL, "must be a duration in 100ms..5m"},
    {"limits", "handshake_timeout", "10", NULL, "must be a duration"},
    {"limits", "handshake_timeout", "10 s", NULL, "must be a duration"},
    {"limits", "handshake_timeout", "s", NULL, "must be a duration"},
    {"limits", "handshake_timeout", "10S", NULL, "must be a duration"},
    {"limits", "idle_timeout", "1h", "3600000", NULL},
    {"limits", "idle_timeout", "24h", "86400000", NULL},
    {"limits", "idle_timeout", "25h", NULL, "[limits] idle_timeout must be a duration in 1s..24h"},
    /* fsync: always | batch-ms N | never */
    {"log", "fsync", "never", "never 0", NULL},
    {"log", "fsync", "always", "always 0", NULL},
    {"log", "fsync", "batch-ms 5", "batch 5", NULL},
    {"log", "fsync", "batch-ms  1000", "batch 1000", NULL},
    {"log", "fsync", "batch-ms 0", NULL,
     "[log] fsync must be always, never or batch-ms N with N in 1..1000"},
    {"log", "fsync", "batch-ms 1001", NULL, "must be always, never or batch-ms N"},
    {"log", "fsync", "batch-ms", NULL, "must be always, never or batch-ms N"},
    {"log", "fsync", "batch-ms5", NULL, "must be always, never or batch-ms N"},
    {"log", "fsync", "sometimes", NULL, "must be always, never or batch-ms N"},
};

static void test_values_of_every_type(void **state)
{
    for (size_t i = 0; i < sizeof VALUES / sizeof VALUES[0]; i++) {
        char text[1024], path[PATH_MAX], why[512], got[PATH_MAX], want[PATH_MAX];
        broker_config_t c;
        int n = snprintf(text, sizeof text, "[%s]\n%s = %s\n", VALUES[i].section, VALUES[i].name,
                         VALUES[i].value);
        required_text(VALUES[i].section, VALUES[i].name, text + n, sizeof text - (size_t)n);
        write_file("value.conf", text, 0, path, sizeof path);
        enlace_err_t rc = config_load(path, &c, why, sizeof why);
        if (VALUES[i].expect != NULL) {
            if (rc != ENLACE_OK)
                fail_msg("[%s] %s = '%s' refused: %s", VALUES[i].section, VALUES[i].name,
                         VALUES[i].value, why);
            field_text(&c, VALUES[i].section, VALUES[i].name, got, sizeof got);
            expand_at(VALUES[i].expect, want, sizeof want);
            if (strcmp(got, want) != 0)
                fail_msg("[%s] %s = '%s' stored %s, expected %s", VALUES[i].section, VALUES[i].name,
                         VALUES[i].value, got, want);
        } else {
            char prefix[PATH_MAX + 128], value[128];
            snprintf(prefix, sizeof prefix, "%s:2: ", path);
            snprintf(value, sizeof value, " (value '%s')", VALUES[i].value);
            if (rc != ENLACE_ERR_INVALID || strncmp(why, prefix, strlen(prefix)) != 0 ||
                strstr(why, VALUES[i].reason) == NULL || strstr(why, value) == NULL)
                fail_msg("[%s] %s = '%s': rc %s, why '%s'", VALUES[i].section, VALUES[i].name,
                         VALUES[i].value, enlace_err_str(rc), why);
            /* Nothing leaks out of a refused load. */
            assert_null(c.listen_address);
            assert_null(c.tls_certificate);
        }
        config_free(&c);
    }
}

/* ---- refusals about the file rather than one value ----------------------------------- */

static const struct {
    const char *what;
    const char *text;   /* the file; "%s" is replaced by the required directives */
    unsigned line;      /* expected "FILE:LINE: " */
    const char *reason; /* part of the message, including the value */
} FILE_REFUSALS[] = {
    {"unknown directive", "[broker]\nportt = 7443\n%s", 2,
     "unknown directive in [broker] (value 'portt')"},
    {"directive in the wrong section", "%s[limits]\nport = 7443\n", 14,
     "unknown directive in [limits] (value 'port')"},
    {"unknown section", "%s[logging]\nlevel = debug\n", 13,
     "unknown section (expected broker, tls, policy, log, limits) (value 'logging')"},
    {"unknown empty section", "[tuning]\n%s", 1, "unknown section"},
    {"directive before any section", "port = 7443\n%s", 1,
     "directive outside any [section] (value 'port')"},
    {"directive given twice", "[broker]\nport = 7443\n\nport = 8443\n%s", 4,
     "[broker] port given twice (first on line 2) (value '8443')"},
    {"twice across repeated sections", "[log]\nfsync = never\n%s[log]\nfsync = always\n", 16,
     "[log] fsync given twice (first on line 2)"},
    {"name without value", "[broker]\nport\n%s", 2,
     "syntax error: expected '[section]' or 'name = value' (value 'port')"},
    {"unterminated section", "%s[broker\nport = 1\n", 13, "syntax error"},
    {"comment inside section header", "[broker ; x]\n%s", 1, "syntax error"},
    {"comments and blank lines count", "; comment\n\n# comment\n[broker]\nport = x\n%s", 5,
     "(value 'x')"},
    {"CRLF line ends", "[broker]\r\nport = 7443\r\nio_threads = many\r\n%s", 3, "(value 'many')"},
    {"byte-order mark", "\xEF\xBB\xBF[broker]\nport = no\n%s", 2, "(value 'no')"},
    {"indented line is its own pair", "[broker]\nport = 7443\n    io_threads = -2\n%s", 3,
     "io_threads must be a whole number in 0..256 (value '-2')"},
    {"inline comment ends a value", "[broker]\nport = 7443 ; tls\nlog_format = html ; no\n%s", 3,
     "(value 'html')"},
    {"session_buffer below max_frame", "[limits]\nmax_frame = 8M\nsession_buffer = 2M\n%s", 3,
     "[limits] session_buffer must be at least max_frame (8M) (value '2M')"},
    {"max_frame raised above session_buffer", "[limits]\nsession_buffer = 2M\nmax_frame = 8M\n%s",
     3, "[limits] max_frame must be at most session_buffer (2M) (value '8M')"},
    {"first error wins", "[broker]\nport = x\nio_threads = y\n%s", 2, "(value 'x')"},
    {"syntax error before a bad value", "[broker]\nbad line\nport = x\n%s", 2, "syntax error"},
};

static void test_file_refusals(void **state)
{
    for (size_t i = 0; i < sizeof FILE_REFUSALS / sizeof FILE_REFUSALS[0]; i++) {
        char req[1024], text[2048], path[PATH_MAX], why[512], prefix[PATH_MAX + 128];
        broker_config_t c;
        required_text(NULL, NULL, req, sizeof req);
        const char *at = strstr(FILE_REFUSALS[i].text, "%s");
        assert_non_null(at);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - FILE_REFUSALS[i].text),
                 FILE_REFUSALS[i].text, req, at + 2);
        write_file("refusal.conf", text, 0, path, sizeof path);
        enlace_err_t rc = config_load(path, &c, why, sizeof why);
        snprintf(prefix, sizeof prefix, "%s:%u: ", path, FILE_REFUSALS[i].line);
        if (rc != ENLACE_ERR_INVALID || strncmp(why, prefix, strlen(prefix)) != 0 ||
            strstr(why, FILE_REFUSALS[i].reason) == NULL)
            fail_msg("%s: rc %s, why '%s', expected line %u and '%s'", FILE_REFUSALS[i].what,
                     enlace_err_str(rc), why, FILE_REFUSALS[i].line, FILE_REFUSALS[i].reason);
        config_free(&c);
    }
}

static void test_line_too_long_and_nul_byte(void **state)
{
    char text[1024], path[PATH_MAX], why[512], prefix[PATH_MAX + 128];
    broker_config_t c;
    /* libinih's line buffer is 200 bytes: a longer line is refused, not cut in two. */
    int n = snprintf(text, sizeof text, "[log]\norigin = ");
    memset(text + n, 'a', 250);
    snprintf(text + n + 250, sizeof text - (size_t)n - 250, "\n");
    write_file("long.conf", text, 0, path, sizeof path);
    assert_int_equal(config_load(path, &c, why, sizeof why), ENLACE_ERR_INVALID);
    snprintf(prefix, sizeof prefix, "%s:2: line longer than 198 bytes (value 'origin = aaa", path);
    assert_memory_equal(why, prefix, strlen(prefix));

    static const char nul[] = "[broker]\nport = 7443\nlisten = 0.0.0.0\0junk\n";
    write_file("nul.conf", nul, sizeof nul - 1, path, sizeof path);
    assert_int_equal(config_load(path, &c, why, sizeof why), ENLACE_ERR_INVALID);
    snprintf(prefix, sizeof prefix, "%s:3: NUL byte in line (value '')", path);
    assert_string_equal(why, prefix);
}

static void test_accepted_syntax(void **state)
{
    static const char *const forms[] = {
        "[broker]\nport = 8443\n",
        "[broker]\nport=8443\n",
        "[broker]\nport: 8443\n",
        "[broker]\n  port = 8443   \n",
        "[broker]\nport = 8443 ; the usual one\n",
        "\xEF\xBB\xBF[broker]\r\nport = 8443\r\n",
        "[broker]\nlisten = ::1\n[broker]\nport = 8443\n",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char req[1024], text[2048], path[PATH_MAX], why[512];
        broker_config_t c;
        required_text(NULL, NULL, req, sizeof req);
        snprintf(text, sizeof text, "%s%s", forms[i], req);
        write_file("form.conf", text, 0, path, sizeof path);
        if (config_load(path, &c, why, sizeof why) != ENLACE_OK)
            fail_msg("form %zu refused: %s", i, why);
        assert_int_equal(c.port, 8443);
        config_free(&c);
    }
}

/* ---- required directives ------------------------------------------------------------- */

static void test_missing_required_listed_together(void **state)
{
    char path[PATH_MAX], why[512], want[PATH_MAX + 256], text[1024];
    broker_config_t c;
    write_file("empty.conf", "", 0, path, sizeof path);
    assert_int_equal(config_load(path, &c, why, sizeof why), ENLACE_ERR_INVALID);
    snprintf(want, sizeof want,
             "%s: missing required directive(s): [tls] certificate [tls] key [tls] ca "
             "[policy] file [log] dir [log] checkpoint_key",
             path);
    assert_string_equal(why, want);

    for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++) {
        required_text(REQUIRED[i].section, REQUIRED[i].name, text, sizeof text);
        write_file("one-missing.conf", text, 0, path, sizeof path);
        assert_int_equal(config_load(path, &c, why, sizeof why), ENLACE_ERR_INVALID);
        snprintf(want, sizeof want, "%s: missing required directive(s): [%s] %s", path,
                 REQUIRED[i].section, REQUIRED[i].name);
        assert_string_equal(why, want);
        config_free(&c);
    }
}

static void test_unreadable_files(void **state)
{
    char path[PATH_MAX], why[512];
    broker_config_t c;
    snprintf(path, sizeof path, "%s/does-not-exist.conf", g_dir);
    assert_int_equal(config_load(path, &c, why, sizeof why), ENLACE_ERR_IO);
    assert_non_null(strstr(why, "does-not-exist.conf: cannot open: No such file or directory"));
    assert_int_equal(config_load(g_dir, &c, why, sizeof why), ENLACE_ERR_IO);
    assert_non_null(strstr(why, "not a regular file"));

    /* One byte over the limit. */
    size_t big = CONFIG_INI_MAX_BYTES + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, '\n', big);
    text[0] = ';';
    write_file("big.conf", text, big, path, sizeof path);
    free(text);
    assert_int_equal(config_load(path, &c, why, sizeof why), ENLACE_ERR_TOO_LARGE);
}

/* ---- relative paths ------------------------------------------------------------------ */

static void test_relative_paths_follow_the_file(void **state)
{
    char path[PATH_MAX], why[512], want[PATH_MAX], cwd[PATH_MAX];
    broker_config_t c;
    snprintf(path, sizeof path, "%s/etc", g_dir);
    assert_int_equal(mkdir(path, 0700), 0);
    write_file("etc/broker.conf",
               "[tls]\ncertificate = tls/broker.crt\nkey = /abs/broker.key\nca = ./ca.pem\n"
               "crl = ../crl.pem\n[policy]\nfile = policy.ini\n[log]\ndir = /var/lib/enlace\n"
               "checkpoint_key = keys/checkpoint.key\n",
               0, path, sizeof path);
    /* Loaded by a relative name from elsewhere: paths still point next to the file. */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(g_dir), 0);
    enlace_err_t rc = config_load("etc/broker.conf", &c, why, sizeof why);
    assert_int_equal(chdir(cwd), 0);
    if (rc != ENLACE_OK)
        fail_msg("%s", why);
    snprintf(want, sizeof want, "%s/etc/tls/broker.crt", g_dir);
    assert_string_equal(c.tls_certificate, want);
    assert_string_equal(c.tls_key, "/abs/broker.key");
    snprintf(want, sizeof want, "%s/etc/./ca.pem", g_dir);
    assert_string_equal(c.tls_ca, want);
    snprintf(want, sizeof want, "%s/etc/../crl.pem", g_dir);
    assert_string_equal(c.tls_crl, want);
    snprintf(want, sizeof want, "%s/etc/policy.ini", g_dir);
    assert_string_equal(c.policy_file, want);
    assert_string_equal(c.log_dir, "/var/lib/enlace");
    snprintf(want, sizeof want, "%s/etc/keys/checkpoint.key", g_dir);
    assert_string_equal(c.checkpoint_key, want);
    config_free(&c);
}

/* ---- the shipped example and --help -------------------------------------------------- */

static void test_example_config_loads(void **state)
{
    const char *src = getenv("ENLACE_SOURCE_DIR");
    char path[PATH_MAX], why[512];
    broker_config_t c;
    if (src == NULL)
        skip();
    snprintf(path, sizeof path, "%s/deploy/enlace-broker.conf.example", src);
    if (config_load(path, &c, why, sizeof why) != ENLACE_OK)
        fail_msg("%s", why);
    assert_string_equal(c.listen_address, "0.0.0.0");
    assert_int_equal(c.port, 7443);
    assert_string_equal(c.tls_certificate, "/etc/enlace/tls/broker.crt");
    assert_string_equal(c.tls_crl, "/etc/enlace/tls/crl.pem");
    assert_string_equal(c.policy_file, "/etc/enlace/policy.ini");
    assert_string_equal(c.log_dir, "/var/lib/enlace/log");
    assert_int_equal(c.fsync, CONFIG_FSYNC_ALWAYS);
    assert_true(c.verify_signatures);
    assert_int_equal(c.max_frame, 1u << 20);
    assert_int_equal(c.handshake_timeout_ms, 10000);
    config_free(&c);
}

static void test_help_lists_every_directive(void **state)
{
    static const char *const rows[] = {
        "[broker] listen",
        "[broker] port",
        "[broker] io_threads",
        "[broker] log_format",
        "[tls] certificate",
        "[tls] key",
        "[tls] ca",
        "[tls] crl",
        "[policy] file",
        "[log] dir",
        "[log] checkpoint_key",
        "[log] origin",
        "[log] segment_size",
        "[log] fsync",
        "[log] verify_signatures",
        "[limits] max_frame",
        "[limits] max_sessions",
        "[limits] max_sessions_per_agency",
        "[limits] handshake_timeout",
        "[limits] idle_timeout",
        "[limits] session_buffer",
        "[limits] publish_rate",
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_print_help(f);
    assert_int_equal(fclose(f), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strstr(buf, rows[i]) == NULL)
            fail_msg("--help lacks %s", rows[i]);
    assert_non_null(strstr(buf, "size 1M..1G"));
    assert_non_null(strstr(buf, "(required)"));
    assert_non_null(strstr(buf, "text|json"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_when_only_required_given),
        cmocka_unit_test(test_values_of_every_type),
        cmocka_unit_test(test_file_refusals),
        cmocka_unit_test(test_line_too_long_and_nul_byte),
        cmocka_unit_test(test_accepted_syntax),
        cmocka_unit_test(test_missing_required_listed_together),
        cmocka_unit_test(test_unreadable_files),
        cmocka_unit_test(test_relative_paths_follow_the_file),
        cmocka_unit_test(test_example_config_loads),
        cmocka_unit_test(test_help_lists_every_directive),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
