/* test_audit_util — specification of enlace-audit's encodings and text output
 * (client/audit/audit_util.c, client/audit/json.c).
 *
 * Base64 is the strict RFC 4648 section 4 alphabet with padding: the RFC 4648 section 10
 * vectors both ways, and every malformed spelling refused (a proof must have exactly one
 * spelling). Numbers: decimal without sign or leading zeros, overflow refused. JSON
 * strings: always valid JSON and valid UTF-8 whatever the bytes (controls escaped,
 * invalid UTF-8 -> U+FFFD); terminal text: no control character gets through.
 * enlace-audit is a program, not a library, so its pure modules are compiled in here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/audit/audit_util.c"
#include "../../client/audit/json.c"

/* ---------------------------------------------------------------- base64 */

static const struct {
    const char *plain;
    const char *b64;
} RFC4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_b64_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(RFC4648) / sizeof(RFC4648[0]); i++) {
        char *enc = audit_b64_encode((const uint8_t *)RFC4648[i].plain, strlen(RFC4648[i].plain));
        assert_non_null(enc);
        assert_string_equal(enc, RFC4648[i].b64);
        free(enc);
        uint8_t *dec = NULL;
        size_t n = 0;
        assert_int_equal(audit_b64_decode(RFC4648[i].b64, strlen(RFC4648[i].b64), &dec, &n),
                         ENLACE_OK);
        assert_int_equal(n, strlen(RFC4648[i].plain));
        assert_memory_equal(dec, RFC4648[i].plain, n);
        free(dec);
    }
}

static void test_b64_binary_round_trip(void **state)
{
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++) {
        all[i] = (uint8_t)i;
    }
    for (size_t len = 0; len <= sizeof(all); len += 17) {
        char *enc = audit_b64_encode(all, len);
        uint8_t *dec = NULL;
        size_t n = 0;
        assert_int_equal(audit_b64_decode(enc, strlen(enc), &dec, &n), ENLACE_OK);
        assert_int_equal(n, len);
        assert_memory_equal(dec, all, len);
        free(enc);
        free(dec);
    }
}

static void test_b64_refusals(void **state)
{
    (void)state;
    static const char *BAD[] = {
        "Zg=",      /* length not a multiple of 4 */
        "Zg",       /* padding missing */
        "Zh==",     /* unused bits not zero: a second spelling of "f" */
        "Zm9=",     /* same, one pad */
        "Zg=a",     /* data after padding */
        "Z===",     /* three pads */
        "====",     /* only padding */
        "Zm9v\n",   /* whitespace */
        "Zm 9",     /* space inside */
        "Zm9v-_==", /* URL alphabet */
        "Zg==Zg==", /* padding in the middle */
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        uint8_t *dec = (uint8_t *)1;
        size_t n = 99;
        assert_int_equal(audit_b64_decode(BAD[i], strlen(BAD[i]), &dec, &n), ENLACE_ERR_MALFORMED);
        assert_null(dec);
        assert_int_equal(n, 0);
    }
}

/* ---------------------------------------------------------------- hex and numbers */

static void test_hex(void **state)
{
    (void)state;
    uint8_t id[4] = {0x00, 0x1f, 0xa0, 0xff}, back[4];
    char hex[9];
    audit_hex(id, 4, hex);
    assert_string_equal(hex, "001fa0ff");
    assert_true(audit_unhex("001FA0ff", back, 4));
    assert_memory_equal(back, id, 4);
    assert_false(audit_unhex("001fa0f", back, 4));   /* short */
    assert_false(audit_unhex("001fa0fff", back, 4)); /* long */
    assert_false(audit_unhex("001fa0fg", back, 4));  /* not hex */
    assert_false(audit_unhex(NULL, back, 4));
}

static void test_parse_u64(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
        uint64_t value;
    } CASES[] = {
        {"0", true, 0},
        {"42", true, 42},
        {"18446744073709551615", true, UINT64_MAX},
        {"18446744073709551616", false, 0},
        {"", false, 0},
        {"01", false, 0},
        {"-1", false, 0},
        {"+1", false, 0},
        {" 1", false, 0},
        {"1 ", false, 0},
        {"1a", false, 0},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        uint64_t v = 7;
        assert_int_equal(audit_parse_u64(CASES[i].text, &v), CASES[i].ok);
        if (CASES[i].ok) {
            assert_true(v == CASES[i].value);
        }
    }
    assert_false(audit_parse_u64(NULL, NULL));
}

static void test_time_iso(void **state)
{
    (void)state;
    char t[25];
    audit_time_iso(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    audit_time_iso(1709294400123ull, t);
    assert_string_equal(t, "2024-03-01T12:00:00.123Z");
}

/* ---------------------------------------------------------------- JSON and terminal text */

static char *capture_string(const char *s, size_t len, bool json)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    if (json) {
        json_write_string(f, s, len);
    } else {
        audit_put_text(f, s, 10);
    }
    fclose(f);
    return buf;
}

static void test_json_string_escaping(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } CASES[] = {
        {"plain", 5, "\"plain\""},
        {"q\"b\\", 4, "\"q\\\"b\\\\\""},
        {"a\nb\tc", 5, "\"a\\nb\\tc\""},
        {"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\""},
        {"nul\0x", 5, "\"nul\\u0000x\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
         "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"\xff", 1, "\"\\ufffd\""},                                  /* never valid in UTF-8 */
        {"\xc0\x80", 2, "\"\\ufffd\\ufffd\""},                       /* overlong NUL */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},            /* surrogate */
        {"\xe2\x82", 2, "\"\\ufffd\\ufffd\""},                       /* truncated */
        {"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* above U+10FFFF */
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        char *got = capture_string(CASES[i].in, CASES[i].len, true);
        assert_string_equal(got, CASES[i].out);
        free(got);
    }
}

static void test_json_writer_commas(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    json_t j;
    json_init(&j, f);
    json_obj_begin(&j, NULL);
    json_u64(&j, "seq", 42);
    json_str(&j, "kind", "published");
    json_arr_begin(&j, "to");
    json_str(&j, NULL, "US.FBI");
    json_str(&j, NULL, "CO.DIJIN");
    json_arr_end(&j);
    json_arr_begin(&j, "none");
    json_arr_end(&j);
    json_str(&j, "null", NULL);
    json_bool(&j, "ok", true);
    json_double(&j, "rate", 0.5);
    json_obj_end(&j);
    json_newline(&j);
    fclose(f);
    assert_string_equal(buf, "{\"seq\":42,\"kind\":\"published\",\"to\":[\"US.FBI\",\"CO.DIJIN\"],"
                             "\"none\":[],\"null\":null,\"ok\":true,\"rate\":0.5}\n");
    free(buf);
}

static void test_terminal_text(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *out;
    } CASES[] = {
        {"MX.FGR", "MX.FGR"},
        {"a\x1b[2Jb", "a?[2Jb"},           /* escape sequence defused */
        {"line\nforged", "line?forge..."}, /* no new line, cut at 10 bytes */
        {"\xc2\x9b"
         "31m",
         "?31m"},                       /* C1 CSI */
        {"caf\xc3\xa9", "caf\xc3\xa9"}, /* UTF-8 kept */
        {"\xff\xfe", "??"},
        {NULL, ""},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        char *got = capture_string(CASES[i].in, 0, false);
        assert_string_equal(got, CASES[i].out);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_rfc4648_vectors),
        cmocka_unit_test(test_b64_binary_round_trip),
        cmocka_unit_test(test_b64_refusals),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_time_iso),
        cmocka_unit_test(test_json_string_escaping),
        cmocka_unit_test(test_json_writer_commas),
        cmocka_unit_test(test_terminal_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
