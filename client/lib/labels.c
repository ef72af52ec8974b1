/* labels — names and parsers of message labels, message ids and times (enlace.h).
 *
 * The public enums mirror the wire enums of proto/enlace.proto value for value, so the
 * library converts by cast; the static assertions below keep that true.
 */
#include "enlace.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "enlace.pb-c.h"

_Static_assert((int)ENLACE_TLP_AMBER_STRICT == ENLACE__TLP__TLP_AMBER_STRICT, "tlp");
_Static_assert((int)ENLACE_TLP_CLEAR == ENLACE__TLP__TLP_CLEAR, "tlp");
_Static_assert((int)ENLACE_HANDLING_H3 == ENLACE__HANDLING__HANDLING_H3, "handling");
_Static_assert((int)ENLACE_RELIABILITY_X == ENLACE__SOURCE_RELIABILITY__SOURCE_RELIABILITY_X,
               "reliability");
_Static_assert((int)ENLACE_ACCURACY_4 == ENLACE__INFO_ACCURACY__INFO_ACCURACY_4, "accuracy");
_Static_assert((int)ENLACE_TYPE_ACKNOWLEDGEMENT ==
                   ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_ACKNOWLEDGEMENT,
               "type");
_Static_assert((int)ENLACE_NOTICE_UNSC_SPECIAL == ENLACE__NOTICE_KIND__NOTICE_KIND_UNSC_SPECIAL,
               "notice");
_Static_assert((int)ENLACE_ROLE_AUDITOR == ENLACE__ROLE__ROLE_AUDITOR, "role");
_Static_assert((int)ENLACE_BROKER_TOO_MANY_SESSIONS == ENLACE__ERROR_CODE__ERROR_TOO_MANY_SESSIONS,
               "error code");
_Static_assert((int)ENLACE_START_RESUME == ENLACE__START_MODE__START_RESUME, "start");

/* One row of a name table: enum value and its canonical spelling. */
typedef struct {
    int value;        /* enum value */
    const char *name; /* canonical name, printed by *_name() */
} label_t;

static const label_t TLP_LABELS[] = {
    {ENLACE_TLP_RED, "TLP:RED"},     {ENLACE_TLP_AMBER_STRICT, "TLP:AMBER+STRICT"},
    {ENLACE_TLP_AMBER, "TLP:AMBER"}, {ENLACE_TLP_GREEN, "TLP:GREEN"},
    {ENLACE_TLP_CLEAR, "TLP:CLEAR"},
};
static const label_t HANDLING_LABELS[] = {
    {ENLACE_HANDLING_H0, "H0"},
    {ENLACE_HANDLING_H1, "H1"},
    {ENLACE_HANDLING_H2, "H2"},
    {ENLACE_HANDLING_H3, "H3"},
};
static const label_t RELIABILITY_LABELS[] = {
    {ENLACE_RELIABILITY_A, "A"},
    {ENLACE_RELIABILITY_B, "B"},
    {ENLACE_RELIABILITY_C, "C"},
    {ENLACE_RELIABILITY_X, "X"},
};
static const label_t ACCURACY_LABELS[] = {
    {ENLACE_ACCURACY_1, "1"},
    {ENLACE_ACCURACY_2, "2"},
    {ENLACE_ACCURACY_3, "3"},
    {ENLACE_ACCURACY_4, "4"},
};
static const label_t TYPE_LABELS[] = {
    {ENLACE_TYPE_ALERT, "alert"},
    {ENLACE_TYPE_NOTICE, "notice"},
    {ENLACE_TYPE_CASE_MESSAGE, "case-message"},
    {ENLACE_TYPE_REQUEST, "request"},
    {ENLACE_TYPE_REPLY, "reply"},
    {ENLACE_TYPE_ACKNOWLEDGEMENT, "acknowledgement"},
};
static const label_t NOTICE_LABELS[] = {
    {ENLACE_NOTICE_RED, "red"},       {ENLACE_NOTICE_YELLOW, "yellow"},
    {ENLACE_NOTICE_BLUE, "blue"},     {ENLACE_NOTICE_BLACK, "black"},
    {ENLACE_NOTICE_GREEN, "green"},   {ENLACE_NOTICE_ORANGE, "orange"},
    {ENLACE_NOTICE_PURPLE, "purple"}, {ENLACE_NOTICE_UNSC_SPECIAL, "unsc-special"},
};
static const label_t ROLE_LABELS[] = {
    {ENLACE_ROLE_AGENCY, "agency"},
    {ENLACE_ROLE_AUDITOR, "auditor"},
};
static const label_t BROKER_ERROR_LABELS[] = {
    {ENLACE_BROKER_NONE, "NONE"},
    {ENLACE_BROKER_MALFORMED, "MALFORMED"},
    {ENLACE_BROKER_FRAME_TOO_LARGE, "FRAME_TOO_LARGE"},
    {ENLACE_BROKER_NOT_AUTHORIZED, "NOT_AUTHORIZED"},
    {ENLACE_BROKER_BAD_SIGNATURE, "BAD_SIGNATURE"},
    {ENLACE_BROKER_TLP_VIOLATION, "TLP_VIOLATION"},
    {ENLACE_BROKER_RATE_LIMITED, "RATE_LIMITED"},
    {ENLACE_BROKER_PROTOCOL, "PROTOCOL"},
    {ENLACE_BROKER_SENDER_MISMATCH, "SENDER_MISMATCH"},
    {ENLACE_BROKER_PAYLOAD_HASH, "PAYLOAD_HASH"},
    {ENLACE_BROKER_UNKNOWN_AGENCY, "UNKNOWN_AGENCY"},
    {ENLACE_BROKER_NOT_FOUND, "NOT_FOUND"},
    {ENLACE_BROKER_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION"},
    {ENLACE_BROKER_INTERNAL, "INTERNAL"},
    {ENLACE_BROKER_BAD_RECIPIENT, "BAD_RECIPIENT"},
    {ENLACE_BROKER_EXPIRED, "EXPIRED"},
    {ENLACE_BROKER_TOO_MANY_SESSIONS, "TOO_MANY_SESSIONS"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *label_name(const label_t *t, size_t n, int value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return "?";
}

/* Case-insensitive equality where '_' in the input also matches '-' in the name, so
 * "case_message" and "UNSC_SPECIAL" read as users expect. */
static bool label_equal(const char *text, const char *name)
{
    for (; *text && *name; text++, name++) {
        char a = (char)tolower((unsigned char)*text), b = (char)tolower((unsigned char)*name);
        if (a == '_')
            a = '-';
        if (a != b)
            return false;
    }
    return *text == '\0' && *name == '\0';
}

static enlace_err_t label_parse(const label_t *t, size_t n, const char *text, int *out)
{
    if (text == NULL || out == NULL || *text == '\0')
        return ENLACE_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (label_equal(text, t[i].name)) {
            *out = t[i].value;
            return ENLACE_OK;
        }
    }
    return ENLACE_ERR_INVALID;
}

const char *enlace_tlp_name(enlace_tlp_t tlp)
{
    return label_name(TLP_LABELS, N_OF(TLP_LABELS), (int)tlp);
}

enlace_err_t enlace_tlp_parse(const char *text, enlace_tlp_t *out)
{
    if (text == NULL || out == NULL)
        return ENLACE_ERR_INVALID;
    /* TLP 2.0 writes the prefix; users often leave it out. Compare without it. */
    const char *bare = strncasecmp(text, "TLP:", 4) == 0 ? text + 4 : text;
    if (*bare == '\0')
        return ENLACE_ERR_INVALID;
    for (size_t i = 0; i < N_OF(TLP_LABELS); i++) {
        if (strcasecmp(bare, TLP_LABELS[i].name + 4) == 0) {
            *out = (enlace_tlp_t)TLP_LABELS[i].value;
            return ENLACE_OK;
        }
    }
    return ENLACE_ERR_INVALID;
}

#define PARSE_AS(type, table)                                                                      \
    do {                                                                                           \
        int v = 0;                                                                                 \
        enlace_err_t rc = label_parse(table, N_OF(table), text, &v);                               \
        if (rc == ENLACE_OK)                                                                       \
            *out = (type)v;                                                                        \
        return rc;                                                                                 \
    } while (0)

const char *enlace_handling_name(enlace_handling_t h)
{
    return label_name(HANDLING_LABELS, N_OF(HANDLING_LABELS), (int)h);
}

enlace_err_t enlace_handling_parse(const char *text, enlace_handling_t *out)
{
    PARSE_AS(enlace_handling_t, HANDLING_LABELS);
}

const char *enlace_reliability_name(enlace_reliability_t r)
{
    return label_name(RELIABILITY_LABELS, N_OF(RELIABILITY_LABELS), (int)r);
}

enlace_err_t enlace_reliability_parse(const char *text, enlace_reliability_t *out)
{
    PARSE_AS(enlace_reliability_t, RELIABILITY_LABELS);
}

const char *enlace_accuracy_name(enlace_accuracy_t a)
{
    return label_name(ACCURACY_LABELS, N_OF(ACCURACY_LABELS), (int)a);
}

enlace_err_t enlace_accuracy_parse(const char *text, enlace_accuracy_t *out)
{
    PARSE_AS(enlace_accuracy_t, ACCURACY_LABELS);
}

const char *enlace_message_type_name(enlace_message_type_t t)
{
    return label_name(TYPE_LABELS, N_OF(TYPE_LABELS), (int)t);
}

enlace_err_t enlace_message_type_parse(const char *text, enlace_message_type_t *out)
{
    PARSE_AS(enlace_message_type_t, TYPE_LABELS);
}

const char *enlace_notice_name(enlace_notice_t n)
{
    return label_name(NOTICE_LABELS, N_OF(NOTICE_LABELS), (int)n);
}

enlace_err_t enlace_notice_parse(const char *text, enlace_notice_t *out)
{
    PARSE_AS(enlace_notice_t, NOTICE_LABELS);
}

const char *enlace_role_name(enlace_role_t r)
{
    return label_name(ROLE_LABELS, N_OF(ROLE_LABELS), (int)r);
}

const char *enlace_broker_error_name(enlace_broker_error_t code)
{
    return label_name(BROKER_ERROR_LABELS, N_OF(BROKER_ERROR_LABELS), (int)code);
}

/* ---- message ids ---------------------------------------------------------------- */

void enlace_id_to_hex(const uint8_t id[ENLACE_MESSAGE_ID_LEN], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < ENLACE_MESSAGE_ID_LEN; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 0x0f];
    }
    out[32] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enlace_err_t enlace_id_from_hex(const char *hex, uint8_t out[ENLACE_MESSAGE_ID_LEN])
{
    if (hex == NULL || out == NULL || strlen(hex) != 2 * ENLACE_MESSAGE_ID_LEN)
        return ENLACE_ERR_INVALID;
    uint8_t tmp[ENLACE_MESSAGE_ID_LEN];
    for (size_t i = 0; i < ENLACE_MESSAGE_ID_LEN; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ENLACE_ERR_INVALID;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, tmp, sizeof tmp);
    return ENLACE_OK;
}

/* ---- times ------------------------------------------------------------------------ */

/* Read exactly n decimal digits at *p into *v and advance. */
static bool read_digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

enlace_err_t enlace_time_parse(const char *text, uint64_t *ms)
{
    if (text == NULL || ms == NULL)
        return ENLACE_ERR_INVALID;
    const char *p = text;
    int year, mon, day, hour = 0, min = 0, sec = 0, frac_ms = 0;
    if (!read_digits(&p, 4, &year) || *p++ != '-' || !read_digits(&p, 2, &mon) || *p++ != '-' ||
        !read_digits(&p, 2, &day))
        return ENLACE_ERR_INVALID;
    if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
        return ENLACE_ERR_INVALID;
    long offset_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &min))
            return ENLACE_ERR_INVALID;
        if (*p == ':') {
            p++;
            if (!read_digits(&p, 2, &sec))
                return ENLACE_ERR_INVALID;
            if (*p == '.' || *p == ',') {
                p++;
                int digits = 0;
                while (*p >= '0' && *p <= '9') {
                    if (digits < 3)
                        frac_ms = frac_ms * 10 + (*p - '0');
                    digits++;
                    p++;
                }
                if (digits == 0)
                    return ENLACE_ERR_INVALID;
                for (; digits < 3; digits++)
                    frac_ms *= 10;
            }
        }
        if (hour > 23 || min > 59 || sec > 60) /* 60: a leap second, folded below */
            return ENLACE_ERR_INVALID;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (!read_digits(&p, 2, &oh))
                return ENLACE_ERR_INVALID;
            if (*p == ':')
                p++;
            if (!read_digits(&p, 2, &om) || oh > 23 || om > 59)
                return ENLACE_ERR_INVALID;
            offset_s = sign * (oh * 3600L + om * 60L);
        }
    }
    if (*p != '\0')
        return ENLACE_ERR_INVALID;
    if (sec == 60)
        sec = 59;
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || (long long)t - offset_s < 0)
        return ENLACE_ERR_INVALID;
    *ms = (uint64_t)((long long)t - offset_s) * 1000u + (uint64_t)frac_ms;
    return ENLACE_OK;
}

enlace_err_t enlace_duration_parse(const char *text, uint64_t *ms)
{
    if (text == NULL || ms == NULL || !isdigit((unsigned char)text[0]))
        return ENLACE_ERR_INVALID;
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno != 0)
        return ENLACE_ERR_INVALID;
    static const struct {
        const char *unit;      /* suffix */
        unsigned long long ms; /* milliseconds per unit */
    } units[] = {{"", 1000},        {"ms", 1},          {"s", 1000},        {"m", 60000},
                 {"h", 3600000ULL}, {"d", 86400000ULL}, {"w", 604800000ULL}};
    for (size_t i = 0; i < N_OF(units); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (n == 0 || n > UINT64_MAX / units[i].ms)
                return ENLACE_ERR_INVALID;
            *ms = n * units[i].ms;
            return ENLACE_OK;
        }
    }
    return ENLACE_ERR_INVALID;
}

void enlace_time_format(uint64_t ms, char out[25])
{
    time_t t = (time_t)(ms / 1000u);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999) {
        snprintf(out, 25, "%s", "9999-12-31T23:59:59.999Z");
        return;
    }
    /* Formatted into a roomier buffer first: the compiler cannot see that every field
     * is in range after gmtime_r, and warns about truncation otherwise. */
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000u));
    memcpy(out, buf, 24);
    out[24] = '\0';
}
