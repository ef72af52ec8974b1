/* test_client_conf — specification of the client configuration file and connection
 * options (client/lib/clientconf.c, enlace.h).
 *
 * The [client] section of an INI file gives broker, cert, key, ca and optionally crl,
 * checkpoint_key, timeout and name. Relative paths are relative to the file; keys left
 * out keep the defaults of enlace_options_init. Unknown sections or keys, a key given
 * twice, bad values, syntax errors and overlong lines are refused with "FILE:LINE:".
 * HOST[:PORT] parsing covers names, IPv4, bracketed and bare IPv6, and bad ports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enlace.h"

static char dir[64]; /* scratch directory holding the configuration files */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_client_conf.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write text to DIR/name and return the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* ---- enlace_options_init ----------------------------------------------------------- */

static void test_options_defaults(void **state)
{
    (void)state;
    enlace_options_t o;
    memset(&o, 0xab, sizeof o);
    enlace_options_init(&o);
    assert_null(o.host);
    assert_null(o.cert);
    assert_null(o.crl);
    assert_null(o.checkpoint_key);
    assert_int_equal(o.port, ENLACE_DEFAULT_PORT);
    assert_int_equal(o.port, 7443);
    assert_int_equal(o.timeout_ms, 10000);
    assert_int_equal(o.max_frame, ENLACE_DEFAULT_MAX_FRAME);
    assert_false(o.reconnect);
}

/* ---- HOST[:PORT] ------------------------------------------------------------------- */

typedef struct {
    const char *text; /* input */
    enlace_err_t rc;  /* expected result */
    const char *host; /* expected host when OK */
    unsigned port;    /* expected port when OK */
} hostport_case_t;

static const hostport_case_t HOSTPORTS[] = {
    {"broker.example.org:8443", ENLACE_OK, "broker.example.org", 8443},
    {"broker.example.org", ENLACE_OK, "broker.example.org", 7443},
    {"127.0.0.1:1", ENLACE_OK, "127.0.0.1", 1},
    {"localhost:65535", ENLACE_OK, "localhost", 65535},
    {"[::1]:9000", ENLACE_OK, "::1", 9000},
    {"[2001:db8::7]", ENLACE_OK, "2001:db8::7", 7443},
    {"::1", ENLACE_OK, "::1", 7443}, /* bare IPv6 literal: no port */
    {"", ENLACE_ERR_INVALID, NULL, 0},
    {":7443", ENLACE_ERR_INVALID, NULL, 0},
    {"host:", ENLACE_ERR_INVALID, NULL, 0},
    {"host:0", ENLACE_ERR_INVALID, NULL, 0},
    {"host:65536", ENLACE_ERR_INVALID, NULL, 0},
    {"host:123456", ENLACE_ERR_INVALID, NULL, 0},
    {"host:12a", ENLACE_ERR_INVALID, NULL, 0},
    {"host:-1", ENLACE_ERR_INVALID, NULL, 0},
    {"[::1", ENLACE_ERR_INVALID, NULL, 0},
    {"[::1]x", ENLACE_ERR_INVALID, NULL, 0},
    {"[]:80", ENLACE_ERR_INVALID, NULL, 0},
    {"bad host:80", ENLACE_ERR_INVALID, NULL, 0},
    {"host/path:80", ENLACE_ERR_INVALID, NULL, 0},
};

static void test_hostport_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof HOSTPORTS / sizeof HOSTPORTS[0]; i++) {
        const hostport_case_t *c = &HOSTPORTS[i];
        char host[64] = "unchanged";
        uint16_t port = 1;
        enlace_err_t rc = enlace_parse_hostport(c->text, host, sizeof host, &port);
        if (rc != c->rc)
            fail_msg("'%s': got %s, want %s", c->text, enlace_err_str(rc), enlace_err_str(c->rc));
        if (rc == ENLACE_OK) {
            assert_string_equal(host, c->host);
            assert_int_equal(port, c->port);
        }
    }
}

static void test_hostport_refuses_host_too_long(void **state)
{
    (void)state;
    char host[8];
    uint16_t port;
    assert_int_equal(enlace_parse_hostport("abcdefgh:1", host, sizeof host, &port),
                     ENLACE_ERR_INVALID);
    assert_int_equal(enlace_parse_hostport("abcdefg:1", host, sizeof host, &port), ENLACE_OK);
    assert_string_equal(host, "abcdefg");
    assert_int_equal(enlace_parse_hostport(NULL, host, sizeof host, &port), ENLACE_ERR_INVALID);
}

/* ---- the configuration file --------------------------------------------------------- */

static void test_full_file_with_relative_paths(void **state)
{
    (void)state;
    const char *path = write_conf("full.conf", "; MX.FGR client\n"
                                               "[client]\n"
                                               "broker = broker.example.org:8443\n"
                                               "cert = certs/MX.FGR.crt\n"
                                               "key = certs/MX.FGR.key\n"
                                               "ca = /etc/enlace/ca.pem\n"
                                               "crl = crl.pem\n"
                                               "checkpoint_key = checkpoint.pub\n"
                                               "timeout = 30s\n"
                                               "name = case-desk\n");
    enlace_config_t *cfg = NULL;
    char why[256] = "";
    assert_int_equal(enlace_config_load(path, &cfg, why, sizeof why), ENLACE_OK);
    const enlace_options_t *o = enlace_config_options(cfg);
    char want[256];
    assert_string_equal(o->host, "broker.example.org");
    assert_int_equal(o->port, 8443);
    snprintf(want, sizeof want, "%s/certs/MX.FGR.crt", dir);
    assert_string_equal(o->cert, want);
    snprintf(want, sizeof want, "%s/certs/MX.FGR.key", dir);
    assert_string_equal(o->key, want);
    assert_string_equal(o->ca, "/etc/enlace/ca.pem"); /* absolute: unchanged */
    snprintf(want, sizeof want, "%s/crl.pem", dir);
    assert_string_equal(o->crl, want);
    snprintf(want, sizeof want, "%s/checkpoint.pub", dir);
    assert_string_equal(o->checkpoint_key, want);
    assert_int_equal(o->timeout_ms, 30000);
    assert_string_equal(o->client_name, "case-desk");
    enlace_config_destroy(&cfg);
    assert_null(cfg);
    enlace_config_destroy(&cfg); /* safe twice */
}

static void test_minimal_file_keeps_defaults(void **state)
{
    (void)state;
    const char *path = write_conf("min.conf", "[client]\nbroker=10.0.0.5\ncert=a.crt\n"
                                              "key=a.key\nca=ca.pem\n");
    enlace_config_t *cfg = NULL;
    char why[256];
    assert_int_equal(enlace_config_load(path, &cfg, why, sizeof why), ENLACE_OK);
    const enlace_options_t *o = enlace_config_options(cfg);
    assert_string_equal(o->host, "10.0.0.5");
    assert_int_equal(o->port, 7443);
    assert_int_equal(o->timeout_ms, 10000);
    assert_null(o->crl);
    assert_null(o->checkpoint_key);
    assert_null(o->client_name);
    enlace_config_destroy(&cfg);
}

static void test_relative_config_path(void **state)
{
    (void)state;
    /* A configuration named without a directory: paths stay relative to the cwd. */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    write_conf("here.conf", "[client]\nbroker=h\ncert=c.crt\nkey=k\nca=ca\n");
    enlace_config_t *cfg = NULL;
    char why[256];
    enlace_err_t rc = enlace_config_load("here.conf", &cfg, why, sizeof why);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, ENLACE_OK);
    assert_string_equal(enlace_config_options(cfg)->cert, "c.crt");
    enlace_config_destroy(&cfg);
}

typedef struct {
    const char *name; /* what the row shows */
    const char *text; /* file contents */
    enlace_err_t rc;  /* expected refusal */
    const char *why;  /* expected substring of the reason, with the line number */
} bad_file_t;

static const bad_file_t BAD_FILES[] = {
    {"unknown directive", "[client]\nbroker=h\nport=7443\n", ENLACE_ERR_INVALID,
     ":3: unknown directive 'port'"},
    {"unknown section", "[client]\nbroker=h\n[server]\nca=x\n", ENLACE_ERR_INVALID,
     ":4: unknown section [server]"},
    {"key outside a section", "broker=h\n", ENLACE_ERR_INVALID, ":1: unknown section []"},
    {"duplicate key", "[client]\nca=a\n\nca=b\n", ENLACE_ERR_INVALID, ":4: 'ca' given twice"},
    {"empty value", "[client]\ncert=\n", ENLACE_ERR_INVALID, ":2: 'cert' needs a value"},
    {"port zero", "[client]\nbroker=h:0\n", ENLACE_ERR_INVALID, ":2: broker: expected HOST[:PORT]"},
    {"port too big", "[client]\nbroker=h:70000\n", ENLACE_ERR_INVALID, "(value 'h:70000')"},
    {"timeout not a duration", "[client]\ntimeout=soon\n", ENLACE_ERR_INVALID,
     ":2: timeout: expected a duration"},
    {"timeout zero", "[client]\ntimeout=0\n", ENLACE_ERR_INVALID, ":2: timeout"},
    {"timeout above a day", "[client]\ntimeout=2d\n", ENLACE_ERR_INVALID, ":2: timeout"},
    {"syntax error", "[client]\nbroker=h\nthis is not ini\n", ENLACE_ERR_INVALID,
     ":3: syntax error"},
    {"control character",
     "[client]\nname=a\x01"
     "b\n",
     ENLACE_ERR_INVALID, ":2: 'name': not valid text"},
};

static void test_bad_files_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BAD_FILES / sizeof BAD_FILES[0]; i++) {
        const bad_file_t *b = &BAD_FILES[i];
        const char *path = write_conf("bad.conf", b->text);
        enlace_config_t *cfg = (enlace_config_t *)&cfg; /* must be reset to NULL */
        char why[512] = "";
        enlace_err_t rc = enlace_config_load(path, &cfg, why, sizeof why);
        if (rc != b->rc || strstr(why, b->why) == NULL || strstr(why, path) != why)
            fail_msg("%s: got %s '%s', want %s '...%s'", b->name, enlace_err_str(rc), why,
                     enlace_err_str(b->rc), b->why);
        assert_null(cfg);
    }
}

static void test_line_too_long(void **state)
{
    (void)state;
    size_t n = 5000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    strcpy(text, "[client]\nname=");
    memset(text + strlen(text), 'a', n);
    strcpy(text + 14 + n, "\n");
    const char *path = write_conf("long.conf", text);
    free(text);
    enlace_config_t *cfg = NULL;
    char why[512] = "";
    assert_int_equal(enlace_config_load(path, &cfg, why, sizeof why), ENLACE_ERR_INVALID);
    assert_non_null(strstr(why, ":2: line longer than"));
    assert_null(cfg);
}

static void test_missing_file(void **state)
{
    (void)state;
    enlace_config_t *cfg = NULL;
    char why[512] = "";
    char path[128];
    snprintf(path, sizeof path, "%s/does-not-exist.conf", dir);
    assert_int_equal(enlace_config_load(path, &cfg, why, sizeof why), ENLACE_ERR_IO);
    assert_non_null(strstr(why, "does-not-exist.conf"));
    assert_null(cfg);
    assert_int_equal(enlace_config_load(NULL, &cfg, why, sizeof why), ENLACE_ERR_INVALID);
}

static void test_file_too_large(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/big.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 70000 / 16; i++)
        fputs("; padding.......\n", f);
    fclose(f);
    enlace_config_t *cfg = NULL;
    char why[256];
    assert_int_equal(enlace_config_load(path, &cfg, why, sizeof why), ENLACE_ERR_TOO_LARGE);
    assert_null(cfg);
}

static void test_new_refuses_missing_options(void **state)
{
    (void)state;
    enlace_options_t o;
    enlace_options_init(&o);
    assert_null(enlace_new(NULL));
    assert_null(enlace_new(&o));
    o.host = "h";
    o.cert = "c";
    o.key = "k";
    assert_null(enlace_new(&o)); /* no CA bundle: nothing could be verified */
    o.ca = "ca";
    enlace_conn_t *conn = enlace_new(&o);
    assert_non_null(conn);
    assert_false(enlace_is_up(conn));
    assert_int_equal(enlace_fd(conn), -1);
    assert_null(enlace_agency_id(conn));
    /* Loading fails before any network access, with the file named. */
    assert_int_equal(enlace_connect(conn), ENLACE_ERR_INVALID);
    assert_non_null(strstr(enlace_last_error(conn), "cannot load certificate c"));
    enlace_close(&conn);
    assert_null(conn);
    enlace_close(&conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults),
        cmocka_unit_test(test_hostport_table),
        cmocka_unit_test(test_hostport_refuses_host_too_long),
        cmocka_unit_test(test_full_file_with_relative_paths),
        cmocka_unit_test(test_minimal_file_keeps_defaults),
        cmocka_unit_test(test_relative_config_path),
        cmocka_unit_test(test_bad_files_table),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_file_too_large),
        cmocka_unit_test(test_new_refuses_missing_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
