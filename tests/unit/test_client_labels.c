/* test_client_labels — specification of the label, id and time helpers of libenlace
 * (client/lib/labels.c, enlace.h).
 *
 * TLP labels are written exactly as TLP 2.0 does (TLP:RED, TLP:AMBER+STRICT, TLP:AMBER,
 * TLP:GREEN, TLP:CLEAR) and read with or without the "TLP:" prefix in any case; TLP 1.0's
 * WHITE is not a TLP 2.0 label. Handling codes H0-H3, reliability A/B/C/X, accuracy 1-4,
 * message types and INTERPOL notice kinds parse case-insensitively; nothing parses to a
 * NONE value. Message ids are 32 hex digits. Times are ISO 8601 / RFC 3339, durations
 * N[ms|s|m|h|d|w].
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "enlace.h"

/* ---- TLP ---------------------------------------------------------------------------- */

typedef struct {
    const char *text; /* input */
    enlace_err_t rc;  /* expected result */
    enlace_tlp_t tlp; /* expected label when OK */
} tlp_case_t;

static const tlp_case_t TLPS[] = {
    {"TLP:RED", ENLACE_OK, ENLACE_TLP_RED},
    {"TLP:AMBER+STRICT", ENLACE_OK, ENLACE_TLP_AMBER_STRICT},
    {"TLP:AMBER", ENLACE_OK, ENLACE_TLP_AMBER},
    {"TLP:GREEN", ENLACE_OK, ENLACE_TLP_GREEN},
    {"TLP:CLEAR", ENLACE_OK, ENLACE_TLP_CLEAR},
    {"red", ENLACE_OK, ENLACE_TLP_RED},
    {"amber+strict", ENLACE_OK, ENLACE_TLP_AMBER_STRICT},
    {"tlp:Amber", ENLACE_OK, ENLACE_TLP_AMBER},
    {"Tlp:green", ENLACE_OK, ENLACE_TLP_GREEN},
    {"CLEAR", ENLACE_OK, ENLACE_TLP_CLEAR},
    {"", ENLACE_ERR_INVALID, 0},
    {"TLP:", ENLACE_ERR_INVALID, 0},
    {"WHITE", ENLACE_ERR_INVALID, 0}, /* TLP 1.0, replaced by CLEAR */
    {"TLP:WHITE", ENLACE_ERR_INVALID, 0},
    {"AMBER STRICT", ENLACE_ERR_INVALID, 0},
    {"AMBER+", ENLACE_ERR_INVALID, 0},
    {"TLP-RED", ENLACE_ERR_INVALID, 0},
    {"TLP:TLP:RED", ENLACE_ERR_INVALID, 0},
    {" RED", ENLACE_ERR_INVALID, 0},
    {"REDD", ENLACE_ERR_INVALID, 0},
    {"UNLABELLED", ENLACE_ERR_INVALID, 0},
};

static void test_tlp_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof TLPS / sizeof TLPS[0]; i++) {
        enlace_tlp_t t = (enlace_tlp_t)99;
        enlace_err_t rc = enlace_tlp_parse(TLPS[i].text, &t);
        if (rc != TLPS[i].rc)
            fail_msg("'%s': got %s", TLPS[i].text, enlace_err_str(rc));
        if (rc == ENLACE_OK)
            assert_int_equal(t, TLPS[i].tlp);
        else
            assert_int_equal(t, 99); /* untouched on refusal */
    }
    enlace_tlp_t t;
    assert_int_equal(enlace_tlp_parse(NULL, &t), ENLACE_ERR_INVALID);
    assert_int_equal(enlace_tlp_parse("RED", NULL), ENLACE_ERR_INVALID);
}

static void test_tlp_names_are_tlp2_spelling(void **state)
{
    (void)state;
    assert_string_equal(enlace_tlp_name(ENLACE_TLP_RED), "TLP:RED");
    assert_string_equal(enlace_tlp_name(ENLACE_TLP_AMBER_STRICT), "TLP:AMBER+STRICT");
    assert_string_equal(enlace_tlp_name(ENLACE_TLP_AMBER), "TLP:AMBER");
    assert_string_equal(enlace_tlp_name(ENLACE_TLP_GREEN), "TLP:GREEN");
    assert_string_equal(enlace_tlp_name(ENLACE_TLP_CLEAR), "TLP:CLEAR");
    assert_string_equal(enlace_tlp_name(ENLACE_TLP_UNLABELLED), "?");
    assert_string_equal(enlace_tlp_name((enlace_tlp_t)42), "?");
    /* Every name parses back to its label. */
    for (int v = ENLACE_TLP_RED; v <= ENLACE_TLP_CLEAR; v++) {
        enlace_tlp_t t;
        assert_int_equal(enlace_tlp_parse(enlace_tlp_name((enlace_tlp_t)v), &t), ENLACE_OK);
        assert_int_equal(t, v);
    }
}

/* ---- other labels ------------------------------------------------------------------- */

typedef struct {
    const char *text; /* input */
    int value;        /* expected value; -1 = refused */
} label_case_t;

static const label_case_t HANDLINGS[] = {
    {"H0", ENLACE_HANDLING_H0},
    {"H1", ENLACE_HANDLING_H1},
    {"h2", ENLACE_HANDLING_H2},
    {"H3", ENLACE_HANDLING_H3},
    {"H4", -1},
    {"H", -1},
    {"2", -1},
    {"", -1},
    {"H00", -1},
};
static const label_case_t RELIABILITIES[] = {
    {"A", ENLACE_RELIABILITY_A},
    {"b", ENLACE_RELIABILITY_B},
    {"C", ENLACE_RELIABILITY_C},
    {"x", ENLACE_RELIABILITY_X},
    {"D", -1},
    {"E", -1},
    {"AB", -1},
    {"", -1},
};
static const label_case_t ACCURACIES[] = {
    {"1", ENLACE_ACCURACY_1},
    {"2", ENLACE_ACCURACY_2},
    {"3", ENLACE_ACCURACY_3},
    {"4", ENLACE_ACCURACY_4},
    {"0", -1},
    {"5", -1},
    {"01", -1},
    {"", -1},
};
static const label_case_t TYPES[] = {
    {"alert", ENLACE_TYPE_ALERT},
    {"NOTICE", ENLACE_TYPE_NOTICE},
    {"case-message", ENLACE_TYPE_CASE_MESSAGE},
    {"case_message", ENLACE_TYPE_CASE_MESSAGE},
    {"Request", ENLACE_TYPE_REQUEST},
    {"reply", ENLACE_TYPE_REPLY},
    {"acknowledgement", ENLACE_TYPE_ACKNOWLEDGEMENT},
    {"case", -1},
    {"unspecified", -1},
    {"alerts", -1},
    {"", -1},
};
static const label_case_t NOTICES[] = {
    {"red", ENLACE_NOTICE_RED},
    {"Yellow", ENLACE_NOTICE_YELLOW},
    {"BLUE", ENLACE_NOTICE_BLUE},
    {"black", ENLACE_NOTICE_BLACK},
    {"green", ENLACE_NOTICE_GREEN},
    {"orange", ENLACE_NOTICE_ORANGE},
    {"purple", ENLACE_NOTICE_PURPLE},
    {"unsc-special", ENLACE_NOTICE_UNSC_SPECIAL},
    {"UNSC_SPECIAL", ENLACE_NOTICE_UNSC_SPECIAL},
    {"white", -1},
    {"none", -1},
    {"", -1},
};

#define RUN_LABELS(table, parse, type)                                                             \
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {                                  \
        type v = (type)77;                                                                         \
        enlace_err_t rc = parse(table[i].text, &v);                                                \
        if (table[i].value < 0) {                                                                  \
            if (rc != ENLACE_ERR_INVALID || (int)v != 77)                                          \
                fail_msg(#parse " '%s' should be refused", table[i].text);                         \
        } else if (rc != ENLACE_OK || (int)v != table[i].value) {                                  \
            fail_msg(#parse " '%s': got %s %d", table[i].text, enlace_err_str(rc), (int)v);        \
        }                                                                                          \
    }                                                                                              \
    do {                                                                                           \
        type v;                                                                                    \
        assert_int_equal(parse(NULL, &v), ENLACE_ERR_INVALID);                                     \
    } while (0)

static void test_label_parse_tables(void **state)
{
    (void)state;
    RUN_LABELS(HANDLINGS, enlace_handling_parse, enlace_handling_t);
    RUN_LABELS(RELIABILITIES, enlace_reliability_parse, enlace_reliability_t);
    RUN_LABELS(ACCURACIES, enlace_accuracy_parse, enlace_accuracy_t);
    RUN_LABELS(TYPES, enlace_message_type_parse, enlace_message_type_t);
    RUN_LABELS(NOTICES, enlace_notice_parse, enlace_notice_t);
}

static void test_label_names(void **state)
{
    (void)state;
    assert_string_equal(enlace_handling_name(ENLACE_HANDLING_H2), "H2");
    assert_string_equal(enlace_handling_name(ENLACE_HANDLING_NONE), "?");
    assert_string_equal(enlace_reliability_name(ENLACE_RELIABILITY_X), "X");
    assert_string_equal(enlace_accuracy_name(ENLACE_ACCURACY_4), "4");
    assert_string_equal(enlace_message_type_name(ENLACE_TYPE_CASE_MESSAGE), "case-message");
    assert_string_equal(enlace_notice_name(ENLACE_NOTICE_UNSC_SPECIAL), "unsc-special");
    assert_string_equal(enlace_role_name(ENLACE_ROLE_AUDITOR), "auditor");
    assert_string_equal(enlace_broker_error_name(ENLACE_BROKER_NOT_AUTHORIZED), "NOT_AUTHORIZED");
    assert_string_equal(enlace_broker_error_name(ENLACE_BROKER_TLP_VIOLATION), "TLP_VIOLATION");
    assert_string_equal(enlace_broker_error_name(ENLACE_BROKER_TOO_MANY_SESSIONS),
                        "TOO_MANY_SESSIONS");
    assert_string_equal(enlace_broker_error_name((enlace_broker_error_t)999), "?");
}

/* ---- message ids -------------------------------------------------------------------- */

static void test_message_id_hex(void **state)
{
    (void)state;
    const uint8_t id[16] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff,
                            0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90};
    char hex[33];
    enlace_id_to_hex(id, hex);
    assert_string_equal(hex, "00017f80abcdefff1020304050607090");
    uint8_t back[16];
    assert_int_equal(enlace_id_from_hex(hex, back), ENLACE_OK);
    assert_memory_equal(back, id, 16);
    assert_int_equal(enlace_id_from_hex("00017F80ABCDEFFF1020304050607090", back), ENLACE_OK);
    assert_memory_equal(back, id, 16);

    static const char *const bad[] = {
        "",
        "00",
        "00017f80abcdefff102030405060709",   /* 31 digits */
        "00017f80abcdefff10203040506070900", /* 33 digits */
        "00017f80abcdefff1020304050607g90",  /* not hex */
        "00017f80abcdefff 020304050607090",  /* space */
        "0x017f80abcdefff1020304050607090",
    };
    memset(back, 0x55, sizeof back);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (enlace_id_from_hex(bad[i], back) != ENLACE_ERR_INVALID)
            fail_msg("'%s' should be refused", bad[i]);
    for (size_t i = 0; i < sizeof back; i++)
        assert_int_equal(back[i], 0x55); /* untouched */
    assert_int_equal(enlace_id_from_hex(NULL, back), ENLACE_ERR_INVALID);
}

/* ---- times -------------------------------------------------------------------------- */

typedef struct {
    const char *text; /* input */
    int64_t ms;       /* expected Unix ms; -1 = refused */
} time_case_t;

static const time_case_t TIMES[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"2024-05-01T12:00:00Z", 1714564800000},
    {"2024-05-01T12:00:00.123Z", 1714564800123},
    {"2024-05-01T12:00:00.1Z", 1714564800100},
    {"2024-05-01T12:00:00.123456Z", 1714564800123},
    {"2024-05-01T14:00:00+02:00", 1714564800000},
    {"2024-05-01T07:00:00-0500", 1714564800000},
    {"2024-05-01t12:00:00z", 1714564800000},
    {"2024-05-01 12:00:00Z", 1714564800000},
    {"2024-05-01T12:00Z", 1714564800000},
    {"2024-05-01T12:00:00", 1714564800000}, /* no zone: UTC */
    {"2024-05-01", 1714521600000},
    {"2024-02-29T00:00:00Z", 1709164800000},
    {"2016-12-31T23:59:60Z", 1483228799000}, /* leap second folded */
    {"2023-02-29", -1},
    {"2024-02-30", -1},
    {"2024-13-01", -1},
    {"2024-00-10", -1},
    {"24-05-01", -1},
    {"2024-5-1", -1},
    {"2024-05-01T24:00:00Z", -1},
    {"2024-05-01T12:60:00Z", -1},
    {"2024-05-01T12:00:00.Z", -1},
    {"2024-05-01T12:00:00+25:00", -1},
    {"2024-05-01T12:00:00Zjunk", -1},
    {"1969-12-31T23:59:59Z", -1},
    {"1970-01-01T00:30:00+01:00", -1}, /* before the epoch */
    {"", -1},
    {"yesterday", -1},
};

static void test_time_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof TIMES / sizeof TIMES[0]; i++) {
        uint64_t ms = 7;
        enlace_err_t rc = enlace_time_parse(TIMES[i].text, &ms);
        if (TIMES[i].ms < 0) {
            if (rc != ENLACE_ERR_INVALID || ms != 7)
                fail_msg("'%s' should be refused", TIMES[i].text);
        } else if (rc != ENLACE_OK || ms != (uint64_t)TIMES[i].ms) {
            fail_msg("'%s': got %s %llu", TIMES[i].text, enlace_err_str(rc),
                     (unsigned long long)ms);
        }
    }
}

static void test_time_format(void **state)
{
    (void)state;
    char t[25];
    enlace_time_format(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    enlace_time_format(1714564800123, t);
    assert_string_equal(t, "2024-05-01T12:00:00.123Z");
    uint64_t back;
    assert_int_equal(enlace_time_parse(t, &back), ENLACE_OK);
    assert_int_equal(back, 1714564800123);
}

typedef struct {
    const char *text; /* input */
    int64_t ms;       /* expected; -1 = refused */
} duration_case_t;

static const duration_case_t DURATIONS[] = {
    {"90s", 90000},
    {"30m", 1800000},
    {"12h", 43200000},
    {"7d", 604800000},
    {"2w", 1209600000},
    {"10", 10000},
    {"250ms", 250},
    {"1s", 1000},
    {"0", -1},
    {"0s", -1},
    {"-1", -1},
    {"1y", -1},
    {"", -1},
    {"s", -1},
    {"1.5h", -1},
    {"10 s", -1},
    {"99999999999999999999", -1},
    {"18446744073709551615w", -1},
};

static void test_duration_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof DURATIONS / sizeof DURATIONS[0]; i++) {
        uint64_t ms = 7;
        enlace_err_t rc = enlace_duration_parse(DURATIONS[i].text, &ms);
        if (DURATIONS[i].ms < 0) {
            if (rc != ENLACE_ERR_INVALID)
                fail_msg("'%s' should be refused", DURATIONS[i].text);
        } else if (rc != ENLACE_OK || ms != (uint64_t)DURATIONS[i].ms) {
            fail_msg("'%s': got %s %llu", DURATIONS[i].text, enlace_err_str(rc),
                     (unsigned long long)ms);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tlp_parse_table),
        cmocka_unit_test(test_tlp_names_are_tlp2_spelling),
        cmocka_unit_test(test_label_parse_tables),
        cmocka_unit_test(test_label_names),
        cmocka_unit_test(test_message_id_hex),
        cmocka_unit_test(test_time_parse_table),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_duration_parse_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
