/* test_topic — topic names, filters, MQTT matching, covering, and the
 * topic_index trie checked against the linear definition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topic.h"
#include "topic_index.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A string of `n` copies of `c`, in a static buffer per call site. */
static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* "a/a/.../a" with `levels` levels. */
static char *levels_of(char *buf, size_t levels, const char *last)
{
    buf[0] = '\0';
    for (size_t i = 0; i < levels; i++) {
        strcat(buf, i + 1 == levels && last ? last : "a");
        if (i + 1 < levels)
            strcat(buf, "/");
    }
    return buf;
}

/* ---- syntax --------------------------------------------------------------- */

static const struct {
    const char *s;
    int name_ok;   /* valid topic name */
    int filter_ok; /* valid topic filter */
} syntax_cases[] = {
    {"alerts", 1, 1},
    {"alerts/trafficking/MX", 1, 1},
    {"a.b_c-d/E9", 1, 1},
    {"+", 0, 1},
    {"#", 0, 1},
    {"alerts/+", 0, 1},
    {"alerts/+/MX", 0, 1},
    {"alerts/#", 0, 1},
    {"+/+/#", 0, 1},
    /* refusals for both */
    {"", 0, 0},
    {"/", 0, 0},
    {"/alerts", 0, 0},
    {"alerts/", 0, 0},
    {"alerts//MX", 0, 0},
    {"alerts/#/MX", 0, 0}, /* '#' not last */
    {"alerts/a#", 0, 0},   /* '#' not a whole level */
    {"alerts/a+", 0, 0},   /* '+' not a whole level */
    {"alerts/++", 0, 0},
    {"alerts/##", 0, 0},
    {"alerts trafficking", 0, 0},
    {"alerts/tr\xc3\xa1"
     "fico",
     0, 0}, /* non-ASCII */
    {"alerts/$SYS", 0, 0},
    {"alerts\\x", 0, 0},
    {"a\tb", 0, 0},
    {"a\nb", 0, 0},
};

static void test_syntax_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(syntax_cases); i++) {
        const char *s = syntax_cases[i].s;
        if (topic_name_valid(s) != (bool)syntax_cases[i].name_ok ||
            topic_filter_valid(s) != (bool)syntax_cases[i].filter_ok)
            fail_msg("syntax case %zu \"%s\": name %d filter %d", i, s, topic_name_valid(s),
                     topic_filter_valid(s));
    }
    assert_false(topic_name_valid(NULL));
    assert_false(topic_filter_valid(NULL));
}

static void test_syntax_limits(void **state)
{
    (void)state;
    char buf[1024], lvl[128];

    /* level length: 64 ok, 65 refused */
    assert_true(topic_name_valid(repeat(lvl, 'x', TOPIC_MAX_LEVEL_LEN)));
    assert_false(topic_name_valid(repeat(lvl, 'x', TOPIC_MAX_LEVEL_LEN + 1)));
    assert_false(topic_filter_valid(lvl));

    /* levels: 16 ok, 17 refused, for names and filters */
    assert_true(topic_name_valid(levels_of(buf, TOPIC_MAX_LEVELS, NULL)));
    assert_false(topic_name_valid(levels_of(buf, TOPIC_MAX_LEVELS + 1, NULL)));
    assert_true(topic_filter_valid(levels_of(buf, TOPIC_MAX_LEVELS, "#")));
    assert_false(topic_filter_valid(levels_of(buf, TOPIC_MAX_LEVELS + 1, "#")));

    /* total length: 63/63/63/64 is 256 characters and valid; one more level is
     * within every per-level limit but 258 characters long */
    char l63[64];
    repeat(l63, 'a', 63);
    snprintf(buf, sizeof(buf), "%s/%s/%s/%s", l63, l63, l63, repeat(lvl, 'b', 64));
    assert_int_equal(strlen(buf), TOPIC_MAX_LEN);
    assert_true(topic_name_valid(buf));
    assert_true(topic_filter_valid(buf));
    strcat(buf, "/c");
    assert_false(topic_name_valid(buf));
    assert_false(topic_filter_valid(buf));
}

/* ---- matching (MQTT 3.1.1 section 4.7 and this project's "a/#" rule) ------- */

static const struct {
    const char *filter;
    const char *topic;
    int match;
} match_cases[] = {
    {"alerts/trafficking", "alerts/trafficking", 1},
    {"alerts/trafficking", "alerts/drugs", 0},
    {"alerts/trafficking", "alerts", 0},
    {"alerts/trafficking", "alerts/trafficking/MX", 0},
    {"alerts", "Alerts", 0}, /* case sensitive */
    /* '+' : exactly one level */
    {"alerts/+", "alerts/drugs", 1},
    {"alerts/+", "alerts", 0},
    {"alerts/+", "alerts/drugs/MX", 0},
    {"alerts/+/MX", "alerts/drugs/MX", 1},
    {"alerts/+/MX", "alerts/drugs/CO", 0},
    {"+/+", "a/b", 1},
    {"+/+", "a", 0},
    {"+", "a", 1},
    {"+", "a/b", 0},
    {"+/b", "a/b", 1},
    /* '#' : this level and everything below, including nothing */
    {"#", "a", 1},
    {"#", "a/b/c", 1},
    {"alerts/#", "alerts", 1},
    {"alerts/#", "alerts/drugs", 1},
    {"alerts/#", "alerts/drugs/MX/x", 1},
    {"alerts/#", "cases/drugs", 0},
    {"alerts/#", "alertsX", 0},
    {"alerts/drugs/#", "alerts", 0},
    {"+/#", "a", 1},
    {"+/#", "a/b/c", 1},
    {"+/drugs/#", "alerts/drugs", 1},
    {"+/drugs/#", "alerts/weapons/x", 0},
    /* prefixes must be whole levels */
    {"alert", "alerts", 0},
    {"alerts", "alert", 0},
    {"alerts/dru", "alerts/drugs", 0},
};

static void test_matches_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(match_cases); i++) {
        bool m = topic_matches(match_cases[i].filter, match_cases[i].topic);
        if (m != (bool)match_cases[i].match)
            fail_msg("match case %zu: filter \"%s\" topic \"%s\" gave %d", i, match_cases[i].filter,
                     match_cases[i].topic, m);
    }
    assert_false(topic_matches(NULL, "a"));
    assert_false(topic_matches("a", NULL));
}

/* ---- covering --------------------------------------------------------------- */

static const struct {
    const char *outer;
    const char *inner;
    int covers;
} cover_cases[] = {
    {"alerts/#", "alerts/+/MX", 1},
    {"alerts/+", "alerts/#", 0}, /* header example */
    {"#", "#", 1},
    {"#", "a/+/#", 1},
    {"a/#", "a", 1},
    {"a/#", "a/#", 1},
    {"a/#", "a/b/#", 1},
    {"a/b/#", "a/#", 0}, /* inner matches "a" and "a/c" */
    {"a", "a/#", 0},     /* inner matches "a/b" */
    {"a/+", "a/#", 0},   /* inner matches "a" */
    {"a/+", "a/b", 1},
    {"a/+", "a/+", 1},
    {"a/b", "a/+", 0},
    {"a/b", "a/b", 1},
    {"a/b", "a/c", 0},
    {"+/+", "a/b", 1},
    {"+/+", "a/+", 1},
    {"+/+", "a", 0},
    {"+/+", "a/b/c", 0},
    {"+", "+/#", 0},
    {"+/#", "a", 1},
    {"+/#", "#", 1}, /* topics have at least one level: "#" is "+/#" */
    {"+/+/#", "#", 0},
    {"a/#", "#", 0},
    {"a/+/c", "a/b/c", 1},
    {"a/+/c", "a/b/+", 0},
    {"a/+/+", "a/b/c", 1},
    {"a/b/c", "a/+/c", 0},
    {"a/b", "a/b/c", 0},
    {"a/b/c", "a/b", 0},
};

static void test_covers_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(cover_cases); i++) {
        bool c = topic_filter_covers(cover_cases[i].outer, cover_cases[i].inner);
        if (c != (bool)cover_cases[i].covers)
            fail_msg("cover case %zu: outer \"%s\" inner \"%s\" gave %d", i, cover_cases[i].outer,
                     cover_cases[i].inner, c);
    }
    assert_false(topic_filter_covers(NULL, "a"));
    assert_false(topic_filter_covers("a", NULL));
}

/* ---- random cross-checks ------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const char *const words[] = {"a", "b", "c", "MX", "CO"};

static void random_topic(char *buf, bool filter)
{
    size_t levels = 1 + rnd(4);
    buf[0] = '\0';
    for (size_t i = 0; i < levels; i++) {
        if (i > 0)
            strcat(buf, "/");
        uint32_t r = rnd(10);
        if (filter && i + 1 == levels && r == 0)
            strcat(buf, "#");
        else if (filter && r < 3)
            strcat(buf, "+");
        else
            strcat(buf, words[rnd(N_ELEMS(words))]);
    }
}

/* Every topic of up to 5 levels over a small alphabet, for checking covers()
 * against its definition. */
static void all_topics(char (*out)[64], size_t *n, char *prefix, size_t depth)
{
    static const char *const alpha[] = {"a", "b", "z"};
    for (size_t i = 0; i < N_ELEMS(alpha); i++) {
        char t[64];
        snprintf(t, sizeof(t), "%s%s%s", prefix, prefix[0] ? "/" : "", alpha[i]);
        strcpy(out[(*n)++], t);
        if (depth > 1)
            all_topics(out, n, t, depth - 1);
    }
}

static void test_covers_matches_definition(void **state)
{
    (void)state;
    static char topics[400][64];
    size_t nt = 0;
    all_topics(topics, &nt, "", 5);
    assert_true(nt == 3 + 9 + 27 + 81 + 243);

    static const char *const fl[] = {"a", "b", "+", "#"};
    /* all filters of 1..3 levels over {a, b, +, #} ('#' last only) */
    char filters[100][32];
    size_t nf = 0;
    for (size_t len = 1; len <= 3; len++) {
        size_t combos = 1;
        for (size_t i = 0; i < len; i++)
            combos *= 4;
        for (size_t c = 0; c < combos; c++) {
            char f[32] = "";
            size_t x = c;
            for (size_t i = 0; i < len; i++, x /= 4) {
                if (i > 0)
                    strcat(f, "/");
                strcat(f, fl[x % 4]);
            }
            if (topic_filter_valid(f))
                strcpy(filters[nf++], f);
        }
    }
    for (size_t o = 0; o < nf; o++) {
        for (size_t i = 0; i < nf; i++) {
            bool truth = true;
            for (size_t t = 0; t < nt && truth; t++)
                if (topic_matches(filters[i], topics[t]) && !topic_matches(filters[o], topics[t]))
                    truth = false;
            /* topics go 5 deep, filters 3: a '#' beyond depth 5 is never
             * exercised, so the enumeration is exact here */
            if (topic_filter_covers(filters[o], filters[i]) != truth)
                fail_msg("covers(\"%s\", \"%s\") should be %d", filters[o], filters[i], truth);
        }
    }
}

/* ---- topic_index -------------------------------------------------------------- */

static void count_cb(void *value, void *arg)
{
    size_t *hits = arg;
    hits[(uintptr_t)value - 1]++;
}

static void test_index_basic(void **state)
{
    (void)state;
    topic_index_t *idx = topic_index_new();
    assert_non_null(idx);
    size_t hits[8] = {0};
    assert_int_equal(topic_index_insert(idx, "alerts/#", (void *)1), ENLACE_OK);
    assert_int_equal(topic_index_insert(idx, "alerts/+/MX", (void *)2), ENLACE_OK);
    assert_int_equal(topic_index_insert(idx, "#", (void *)3), ENLACE_OK);
    assert_int_equal(topic_index_insert(idx, "alerts", (void *)4), ENLACE_OK);
    assert_int_equal(topic_index_insert(idx, "cases/+", (void *)5), ENLACE_OK);
    assert_int_equal(topic_index_insert(idx, "alerts/#", (void *)6), ENLACE_OK);
    assert_int_equal(topic_index_count(idx), 6);

    assert_int_equal(topic_index_match(idx, "alerts", count_cb, hits), 4); /* 1, 3, 4, 6 */
    assert_int_equal(hits[0] + hits[2] + hits[3] + hits[5], 4);
    memset(hits, 0, sizeof(hits));
    assert_int_equal(topic_index_match(idx, "alerts/drugs/MX", count_cb, hits), 4); /* 1,2,3,6 */
    assert_int_equal(hits[1], 1);
    assert_int_equal(topic_index_match(idx, "cases", count_cb, hits), 1); /* '#' only */
    assert_int_equal(topic_index_match(idx, "bad//topic", count_cb, hits), 0);
    assert_int_equal(topic_index_match(idx, "alerts/+", count_cb, hits), 0); /* not a name */

    /* refusals */
    assert_int_equal(topic_index_insert(idx, "a/#/b", (void *)7), ENLACE_ERR_INVALID);
    assert_int_equal(topic_index_insert(idx, "a", NULL), ENLACE_ERR_INVALID);
    assert_int_equal(topic_index_remove(idx, "alerts/#", (void *)5), ENLACE_ERR_NOT_FOUND);
    assert_int_equal(topic_index_remove(idx, "nothing/here", (void *)1), ENLACE_ERR_NOT_FOUND);
    assert_int_equal(topic_index_remove(idx, "bad/", (void *)1), ENLACE_ERR_INVALID);

    assert_int_equal(topic_index_remove(idx, "alerts/#", (void *)1), ENLACE_OK);
    assert_int_equal(topic_index_remove(idx, "alerts/#", (void *)1), ENLACE_ERR_NOT_FOUND);
    assert_int_equal(topic_index_remove(idx, "#", (void *)3), ENLACE_OK);
    assert_int_equal(topic_index_count(idx), 4);
    assert_int_equal(topic_index_match(idx, "cases", count_cb, hits), 0);

    topic_index_destroy(&idx);
    assert_null(idx);
    topic_index_destroy(&idx); /* safe twice */
}

/* The trie reports exactly what a linear scan with topic_matches() finds. */
static void test_index_equals_linear(void **state)
{
    (void)state;
    enum { NF = 400, NT = 2000 };
    static char filters[NF][64];
    static size_t hits[NF];
    static bool live[NF];
    topic_index_t *idx = topic_index_new();
    assert_non_null(idx);
    for (size_t i = 0; i < NF; i++) {
        random_topic(filters[i], true);
        assert_int_equal(topic_index_insert(idx, filters[i], (void *)(uintptr_t)(i + 1)),
                         ENLACE_OK);
        live[i] = true;
    }
    for (size_t round = 0; round < 2; round++) {
        for (size_t t = 0; t < NT; t++) {
            char topic[64];
            random_topic(topic, false);
            memset(hits, 0, sizeof(hits));
            size_t calls = topic_index_match(idx, topic, count_cb, hits);
            size_t expect = 0;
            for (size_t i = 0; i < NF; i++) {
                size_t want = live[i] && topic_matches(filters[i], topic);
                expect += want;
                if (hits[i] != want)
                    fail_msg("topic %s filter %s: index %zu, linear %zu", topic, filters[i],
                             hits[i], want);
            }
            assert_int_equal(calls, expect);
        }
        if (round > 0)
            break;
        /* remove every other filter and check again */
        for (size_t i = 0; i < NF; i += 2) {
            assert_int_equal(topic_index_remove(idx, filters[i], (void *)(uintptr_t)(i + 1)),
                             ENLACE_OK);
            live[i] = false;
        }
    }
    for (size_t i = 1; i < NF; i += 2)
        assert_int_equal(topic_index_remove(idx, filters[i], (void *)(uintptr_t)(i + 1)),
                         ENLACE_OK);
    assert_int_equal(topic_index_count(idx), 0);
    topic_index_destroy(&idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax_table),
        cmocka_unit_test(test_syntax_limits),
        cmocka_unit_test(test_matches_table),
        cmocka_unit_test(test_covers_table),
        cmocka_unit_test(test_covers_matches_definition),
        cmocka_unit_test(test_index_basic),
        cmocka_unit_test(test_index_equals_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
