/* bench_topic — finding the subscriptions that match a published topic.
 *
 * 10,000 subscriptions with filters drawn from a law-enforcement-like
 * vocabulary (exact topics, '+' at every level, '#' at several depths) and
 * random published topics of 3-4 levels. Measures:
 *   - linear scan: topic_matches() against every subscription, per publish;
 *   - topic_index: the trie, per publish;
 * and checks both find the same number of subscriptions.
 *
 * Usage: bench_topic [subscriptions] [publishes]   (defaults 10000 20000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topic.h"
#include "topic_index.h"

static const char *const roots[] = {"alerts",  "cases", "requests",  "notices",
                                    "replies", "intel", "bulletins", "ops"};
static const char *const crimes[] = {"trafficking", "drugs",     "cyber",      "fraud",
                                     "weapons",     "homicide",  "kidnapping", "smuggling",
                                     "laundering",  "terrorism", "corruption", "extortion"};
static const char *const countries[] = {"MX", "US", "CO", "BR", "GT", "AR", "CL", "PE", "EC", "BO",
                                        "PY", "UY", "VE", "PA", "CR", "HN", "SV", "NI", "DO", "CU",
                                        "ES", "PT", "FR", "DE", "IT", "NL", "BE", "GB", "IE", "PL",
                                        "RO", "GR", "SE", "FI", "DK", "NO", "AT", "CH", "CA", "JM"};
static const char *const units[] = {"FGR", "FBI", "DIJIN", "PF",  "PNC",
                                    "NCB", "DEA", "UIF",   "SAT", "CNI"};

#define PICK(a) (a)[rnd(sizeof(a) / sizeof((a)[0]))]

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void random_topic(char *out, size_t cap)
{
    if (rnd(2))
        snprintf(out, cap, "%s/%s/%s", PICK(roots), PICK(crimes), PICK(countries));
    else
        snprintf(out, cap, "%s/%s/%s/%s", PICK(roots), PICK(crimes), PICK(countries), PICK(units));
}

static void random_filter(char *out, size_t cap)
{
    uint32_t r = rnd(100);
    if (r < 30)
        random_topic(out, cap);
    else if (r < 45)
        snprintf(out, cap, "%s/%s/+", PICK(roots), PICK(crimes));
    else if (r < 60)
        snprintf(out, cap, "%s/+/%s", PICK(roots), PICK(countries));
    else if (r < 70)
        snprintf(out, cap, "%s/%s/#", PICK(roots), PICK(crimes));
    else if (r < 73)
        snprintf(out, cap, "%s/#", PICK(roots));
    else if (r < 83)
        snprintf(out, cap, "+/%s/%s", PICK(crimes), PICK(countries));
    else if (r < 93)
        snprintf(out, cap, "%s/+/%s/#", PICK(roots), PICK(countries));
    else if (r < 99)
        snprintf(out, cap, "%s/%s/%s/+", PICK(roots), PICK(crimes), PICK(countries));
    else
        snprintf(out, cap, "+/+/%s/+", PICK(countries));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_cb(void *value, void *arg)
{
    (void)value;
    (*(size_t *)arg)++;
}

int main(int argc, char **argv)
{
    size_t n_subs = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t n_pubs = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
    int rc = 1;
    char(*filters)[64] = calloc(n_subs, sizeof(*filters));
    char(*topics)[64] = calloc(n_pubs, sizeof(*topics));
    size_t *linear_hits = calloc(n_pubs, sizeof(size_t));
    topic_index_t *idx = topic_index_new();
    if (!filters || !topics || !linear_hits || !idx || n_subs == 0 || n_pubs == 0)
        goto out;

    for (size_t i = 0; i < n_subs; i++) {
        random_filter(filters[i], sizeof(filters[i]));
        if (!topic_filter_valid(filters[i])) {
            fprintf(stderr, "bad filter %s\n", filters[i]);
            goto out;
        }
    }
    for (size_t i = 0; i < n_pubs; i++)
        random_topic(topics[i], sizeof(topics[i]));

    /* linear scan */
    size_t total_linear = 0;
    double t0 = now_s();
    for (size_t p = 0; p < n_pubs; p++) {
        size_t hits = 0;
        for (size_t s = 0; s < n_subs; s++)
            hits += topic_matches(filters[s], topics[p]);
        linear_hits[p] = hits;
        total_linear += hits;
    }
    double t_linear = now_s() - t0;

    /* trie */
    t0 = now_s();
    for (size_t s = 0; s < n_subs; s++)
        if (topic_index_insert(idx, filters[s], (void *)(uintptr_t)(s + 1)) != ENLACE_OK)
            goto out;
    double t_build = now_s() - t0;
    size_t total_index = 0, mismatches = 0;
    t0 = now_s();
    for (size_t p = 0; p < n_pubs; p++) {
        size_t hits = 0;
        topic_index_match(idx, topics[p], count_cb, &hits);
        total_index += hits;
        mismatches += hits != linear_hits[p];
    }
    double t_index = now_s() - t0;

    double comparisons = (double)n_subs * (double)n_pubs;
    printf("bench_topic: %zu subscriptions, %zu publishes, %.1f matching subscriptions per "
           "publish\n",
           n_subs, n_pubs, (double)total_linear / (double)n_pubs);
    printf("  linear scan : %.1f M topic_matches()/s, %.1f us per publish, %.0f publishes/s\n",
           comparisons / t_linear / 1e6, t_linear / (double)n_pubs * 1e6,
           (double)n_pubs / t_linear);
    printf("  topic_index : %.2f us per publish, %.0f publishes/s (build %.1f ms), %.0fx faster\n",
           t_index / (double)n_pubs * 1e6, (double)n_pubs / t_index, t_build * 1e3,
           t_linear / t_index);
    printf("  check       : %s (%zu vs %zu matches, %zu publishes differ)\n",
           mismatches == 0 && total_index == total_linear ? "same results" : "DIFFERENT",
           total_index, total_linear, mismatches);
    rc = mismatches == 0 ? 0 : 1;
out:
    topic_index_destroy(&idx);
    free(filters);
    free(topics);
    free(linear_hits);
    return rc;
}
