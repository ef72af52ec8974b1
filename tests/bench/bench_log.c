/* bench_log — durable appends to the audit log: records/s and commit latency with
 * group commit, beside this disk's raw fdatasync rate measured in the same run.
 *
 * Model (DESIGN.md section 2): producer threads stand for io threads with publishes in
 * flight. Each producer keeps up to --window records outstanding; the writer thread (the
 * sequencer) takes everything queued, log_appends it, calls log_commit once (one
 * fdatasync with fsync = always) and then acknowledges each record, whose latency is
 * enqueue -> acknowledgement. Records are 1 KiB packed Published records.
 *
 *   bench_log [--dir D] [--producers P] [--window W] [--records N] [--size BYTES]
 *             [--fsync always|batch|never] [--batch-ms MS] [--open-records M]
 *             [--prealloc on|off|both] [--rounds R]
 *
 * Phases: (1) the disk's own fdatasync/s in D, of a 1 KiB write that appends to a file
 * and of one that overwrites a file already written and synced (what prepared segments
 * give the log: log_prep.h); (2) light load: one producer, window 1, 2 s: the latency of
 * a lone commit, and the log's fdatasync rate (with fsync = always, one per commit);
 * (3) heavy load: P x W in flight, N records. Phases 2 and 3 run on a new log with
 * segment preparation on (the default) and with no_prealloc, R times each, alternating
 * (--prealloc picks one); with preparation on, timing starts once the writer has rolled
 * into a prepared segment. (4) with --open-records M > 0 (default 1,000,000): write M
 * records without fsync, then time log_open's recovery (read, CRC, decode, SHA-256, tree)
 * and the memory it takes, then a verifier's pass: log_scan + leaf hashes into a compact
 * tree. D defaults to a new directory under $TMPDIR (or /tmp); it is removed at the end.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log_store.h"

typedef struct {
    int producer; /* who sent it */
    uint64_t t0;  /* enqueue time, ns */
} item_t;

/* The queue between producers and the writer (a mutex is fine here: the benchmark is
 * about the disk and the log, not the queue). */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t nonempty;
    pthread_cond_t credit; /* a producer's window opened */
    item_t *items;
    size_t n, cap;
    int *credits;     /* per producer: records it may still send */
    uint64_t to_send; /* records left to enqueue, all producers */
    bool done;
} queue_t;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static queue_t q;
static uint8_t *payload;
static size_t payload_len;

typedef struct {
    int id;
} producer_arg_t;

static void *producer_main(void *arg)
{
    int id = ((producer_arg_t *)arg)->id;
    pthread_mutex_lock(&q.mu);
    for (;;) {
        while (q.credits[id] == 0 && q.to_send > 0) {
            pthread_cond_wait(&q.credit, &q.mu);
        }
        if (q.to_send == 0) {
            break;
        }
        q.to_send--;
        q.credits[id]--;
        if (q.n == q.cap) {
            q.cap = q.cap ? q.cap * 2 : 1024;
            q.items = realloc(q.items, q.cap * sizeof(*q.items));
        }
        q.items[q.n++] = (item_t){id, now_ns()};
        pthread_cond_signal(&q.nonempty);
    }
    pthread_mutex_unlock(&q.mu);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    uint64_t records, commits;
    double seconds;
    uint64_t *lat; /* per record, ns */
} result_t;

/* The writer: drain, append, commit, acknowledge. */
static int run_writer(log_store_t *log, uint64_t total, result_t *res)
{
    item_t *batch = NULL;
    size_t cap = 0;
    res->lat = malloc(total * sizeof(uint64_t));
    uint64_t start = now_ns();
    while (res->records < total) {
        pthread_mutex_lock(&q.mu);
        while (q.n == 0) {
            pthread_cond_wait(&q.nonempty, &q.mu);
        }
        if (cap < q.n) {
            cap = q.cap;
            batch = realloc(batch, cap * sizeof(*batch));
        }
        size_t n = q.n;
        memcpy(batch, q.items, n * sizeof(*batch));
        q.n = 0;
        pthread_mutex_unlock(&q.mu);
        for (size_t i = 0; i < n; i++) {
            Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
            env.header = (ProtobufCBinaryData){16, payload};
            env.payload = (ProtobufCBinaryData){payload_len, payload};
            env.signature = (ProtobufCBinaryData){64, payload};
            Enlace__Published pub = ENLACE__PUBLISHED__INIT;
            pub.session_id = (uint64_t)batch[i].producer;
            pub.envelope = &env;
            Enlace__Record rec = ENLACE__RECORD__INIT;
            rec.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
            rec.published = &pub;
            if (log_append(log, &rec, NULL, NULL) != ENLACE_OK) {
                fprintf(stderr, "log_append failed\n");
                return 1;
            }
        }
        if (log_commit(log) != ENLACE_OK) {
            fprintf(stderr, "log_commit failed\n");
            return 1;
        }
        uint64_t t1 = now_ns();
        res->commits++;
        pthread_mutex_lock(&q.mu);
        for (size_t i = 0; i < n; i++) {
            res->lat[res->records++] = t1 - batch[i].t0;
            q.credits[batch[i].producer]++;
        }
        pthread_cond_broadcast(&q.credit);
        pthread_mutex_unlock(&q.mu);
    }
    res->seconds = (double)(now_ns() - start) / 1e9;
    free(batch);
    return 0;
}

static int run_load(log_store_t *log, int producers, int window, uint64_t total, result_t *res)
{
    memset(res, 0, sizeof(*res));
    q.n = 0;
    q.to_send = total;
    q.credits = calloc((size_t)producers, sizeof(int));
    for (int i = 0; i < producers; i++) {
        q.credits[i] = window;
    }
    pthread_t th[64];
    producer_arg_t args[64];
    for (int i = 0; i < producers; i++) {
        args[i].id = i;
        pthread_create(&th[i], NULL, producer_main, &args[i]);
    }
    int rc = run_writer(log, total, res);
    pthread_mutex_lock(&q.mu);
    pthread_cond_broadcast(&q.credit);
    pthread_mutex_unlock(&q.mu);
    for (int i = 0; i < producers; i++) {
        pthread_join(th[i], NULL);
    }
    free(q.credits);
    qsort(res->lat, res->records, sizeof(uint64_t), cmp_u64);
    return rc;
}

static double pct(const result_t *r, double p)
{
    size_t i = (size_t)(p * (double)(r->records - 1));
    return (double)r->lat[i] / 1e6;
}

/* fdatasync/s for 2 s of 1 KiB writes, each followed by fdatasync: appended to a new
 * file, or (overwrite) written over a 64 MiB file of zeros already written and synced. */
static double raw_fdatasync_rate(const char *dir, bool overwrite)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/fdatasync.probe", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return 0;
    }
    static uint8_t zeros[1 << 20];
    const uint64_t area = 64u << 20;
    for (uint64_t off = 0; overwrite && off < area; off += sizeof(zeros)) {
        if (pwrite(fd, zeros, sizeof(zeros), (off_t)off) != (ssize_t)sizeof(zeros)) {
            break;
        }
    }
    if (overwrite && fdatasync(fd) != 0) {
        close(fd);
        return 0;
    }
    char buf[1024];
    memset(buf, 0xab, sizeof(buf));
    uint64_t start = now_ns(), n = 0, off = 0;
    while (now_ns() - start < 2000000000u && off + sizeof(buf) <= area) {
        if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf) ||
            fdatasync(fd) != 0) {
            break;
        }
        off += sizeof(buf);
        n++;
    }
    double rate = (double)n / ((double)(now_ns() - start) / 1e9);
    close(fd);
    unlink(path);
    return rate;
}

/* One load: append + commit single records until the writer is on a prepared segment
 * (prealloc) or just once (without), so that timing starts in the steady state. */
static int warm_up(log_store_t *log, bool prealloc)
{
    result_t r;
    if (run_load(log, 1, 1, 1, &r) != 0) {
        return 1;
    }
    free(r.lat);
    if (!prealloc) {
        return 0;
    }
    for (int i = 0; i < 30000 && !log_prepared_ready(log); i++) {
        usleep(1000);
    }
    if (!log_prepared_ready(log)) {
        fprintf(stderr, "no prepared segment after 30 s\n");
        return 1;
    }
    if (run_load(log, 1, 1, 1, &r) != 0) { /* rolls into the prepared segment */
        return 1;
    }
    free(r.lat);
    return 0;
}

typedef struct {
    double light_rate; /* light load: commits (= fdatasyncs) per second */
    double light_p50, light_p99;
    double heavy_rate; /* heavy load: records per second */
    double heavy_commits, heavy_p50, heavy_p99;
} mode_result_t;

/* Phases 2 and 3 on a new log in base/log-<label>, removed afterwards. */
static int run_mode(const char *base, const log_options_t *opt, bool prealloc, int producers,
                    int window, uint64_t records, size_t size, uint64_t light_n, mode_result_t *m)
{
    char dir[700], cmd[800];
    const char *label = prealloc ? "prepared" : "no_prealloc";
    snprintf(dir, sizeof(dir), "%s/log-%s", base, label);
    log_options_t o = *opt;
    o.dir = dir;
    o.no_prealloc = !prealloc;
    log_store_t *log = NULL;
    char why[512];
    if (log_open(&o, &log, why, sizeof(why)) != ENLACE_OK) {
        fprintf(stderr, "log_open: %s\n", why);
        return 1;
    }
    result_t light, heavy;
    if (warm_up(log, prealloc) != 0 || run_load(log, 1, 1, light_n, &light) != 0) {
        return 1;
    }
    m->light_rate = (double)light.commits / light.seconds;
    m->light_p50 = pct(&light, 0.5);
    m->light_p99 = pct(&light, 0.99);
    printf("[%s] light load (1 producer, window 1): %" PRIu64 " commits, %.0f records/s = "
           "%.0f fdatasync/s, commit latency p50 %.2f ms p99 %.2f ms\n",
           label, light.commits, (double)light.records / light.seconds, m->light_rate, m->light_p50,
           m->light_p99);
    if (run_load(log, producers, window, records, &heavy) != 0) {
        return 1;
    }
    m->heavy_rate = (double)heavy.records / heavy.seconds;
    m->heavy_commits = (double)heavy.commits / heavy.seconds;
    m->heavy_p50 = pct(&heavy, 0.5);
    m->heavy_p99 = pct(&heavy, 0.99);
    printf("[%s] heavy load (%d producers x window %d): %" PRIu64 " records in %.2f s = %.0f "
           "records/s (%.1f MiB/s); %" PRIu64 " commits (%.0f fdatasync/s), %.1f records per "
           "commit\n",
           label, producers, window, heavy.records, heavy.seconds, m->heavy_rate,
           m->heavy_rate * (double)size / 1048576.0, heavy.commits, m->heavy_commits,
           (double)heavy.records / (double)heavy.commits);
    printf("[%s]   commit latency (enqueue -> durable ack): p50 %.2f ms, p99 %.2f ms, max "
           "%.2f ms; target >= 50,000 records/s: %s\n",
           label, m->heavy_p50, m->heavy_p99, pct(&heavy, 1.0),
           m->heavy_rate >= 50000 ? "met" : "NOT met");
    uint64_t t0 = now_ns();
    if (log_checkpoint(log, true, NULL) != ENLACE_OK) {
        fprintf(stderr, "checkpoint failed\n");
    }
    printf("[%s] checkpoint (sync + sign + history + atomic replace): %.2f ms\n", label,
           (double)(now_ns() - t0) / 1e6);
    log_close(&log);
    free(light.lat);
    free(heavy.lat);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}

static enlace_err_t scan_leaf(const log_scan_entry_t *e, void *user)
{
    uint8_t leaf[32];
    merkle_leaf_hash(e->data, e->len, leaf);
    return merkle_append(user, leaf);
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2) {
        resident = 0;
    }
    if (f) {
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
    const char *dir_opt = NULL, *fsync_opt = "always";
    const char *prealloc_opt = "both";
    int producers = 4, window = 64, rounds = 1;
    uint64_t records = 200000, open_records = 1000000;
    size_t size = 1024;
    unsigned batch_ms = 5;
    static const struct option opts[] = {{"dir", 1, 0, 'd'},
                                         {"producers", 1, 0, 'p'},
                                         {"window", 1, 0, 'w'},
                                         {"records", 1, 0, 'n'},
                                         {"size", 1, 0, 's'},
                                         {"fsync", 1, 0, 'f'},
                                         {"batch-ms", 1, 0, 'b'},
                                         {"open-records", 1, 0, 'o'},
                                         {"prealloc", 1, 0, 'a'},
                                         {"rounds", 1, 0, 'r'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir_opt = optarg; break;
        case 'p': producers = atoi(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 'n': records = strtoull(optarg, NULL, 10); break;
        case 's': size = (size_t)atol(optarg); break;
        case 'f': fsync_opt = optarg; break;
        case 'b': batch_ms = (unsigned)atoi(optarg); break;
        case 'o': open_records = strtoull(optarg, NULL, 10); break;
        case 'a': prealloc_opt = optarg; break;
        case 'r': rounds = atoi(optarg); break;
        default: fprintf(stderr, "see the comment at the top of bench_log.c\n"); return 2;
        }
    }
    bool with_prep = strcmp(prealloc_opt, "off") != 0;
    bool without_prep = strcmp(prealloc_opt, "on") != 0;
    if (producers < 1 || producers > 64 || window < 1 || size < 100 || records == 0 || rounds < 1 ||
        (!with_prep && !without_prep)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    log_fsync_t mode = strcmp(fsync_opt, "never") == 0   ? LOG_FSYNC_NEVER
                       : strcmp(fsync_opt, "batch") == 0 ? LOG_FSYNC_BATCH
                                                         : LOG_FSYNC_ALWAYS;
    char base[512], dir[600];
    if (dir_opt != NULL) {
        snprintf(base, sizeof(base), "%s", dir_opt);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(base, sizeof(base), "%s/bench_log.XXXXXX", tmp ? tmp : "/tmp");
        if (mkdtemp(base) == NULL) {
            perror("mkdtemp");
            return 1;
        }
    }
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.nonempty, NULL);
    pthread_cond_init(&q.credit, NULL);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

    /* Payload length giving `size`-byte packed records. */
    payload = calloc(1, size);
    payload_len = size > 120 ? size - 120 : 1;
    for (;;) {
        Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
        env.header = (ProtobufCBinaryData){16, payload};
        env.payload = (ProtobufCBinaryData){payload_len, payload};
        env.signature = (ProtobufCBinaryData){64, payload};
        Enlace__Published pub = ENLACE__PUBLISHED__INIT;
        pub.envelope = &env;
        Enlace__Record rec = ENLACE__RECORD__INIT;
        rec.seq = 100000;
        rec.time_ms = 1800000000000ull;
        rec.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
        rec.published = &pub;
        size_t packed = protobuf_c_message_get_packed_size(&rec.base);
        if (packed >= size) {
            break;
        }
        payload_len++;
    }

    printf("bench_log: %zu-byte records, fsync = %s%s, directory %s\n", size, fsync_opt,
           mode == LOG_FSYNC_BATCH ? " (batch-ms)" : "", base);
    double raw = raw_fdatasync_rate(base, false), raw_over = raw_fdatasync_rate(base, true);
    printf("disk: fdatasync after a 1 KiB append: %.0f/s (%.2f ms each); after a 1 KiB "
           "overwrite of synced blocks: %.0f/s (%.2f ms each)\n",
           raw, raw > 0 ? 1000.0 / raw : 0.0, raw_over, raw_over > 0 ? 1000.0 / raw_over : 0.0);

    snprintf(dir, sizeof(dir), "%s/log", base);
    log_options_t o = {.dir = dir,
                       .fsync = mode,
                       .batch_ms = batch_ms,
                       .origin = "bench.enlace/log",
                       .checkpoint_key = key};
    log_store_t *log = NULL;
    char why[512];
    uint64_t light_n = raw_over > 0 ? (uint64_t)(raw_over * 2) + 10 : 500;
    mode_result_t sum[2] = {{0}}; /* [0] prepared, [1] no_prealloc */
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 2; k++) {
            /* Alternate which goes first, so drifts of a shared disk hit both alike. */
            bool prep = (k == 0) == (r % 2 == 0);
            if ((prep && !with_prep) || (!prep && !without_prep)) {
                continue;
            }
            mode_result_t m;
            if (run_mode(base, &o, prep, producers, window, records, size, light_n, &m) != 0) {
                return 1;
            }
            mode_result_t *t = &sum[prep ? 0 : 1];
            t->light_rate += m.light_rate / rounds;
            t->light_p50 += m.light_p50 / rounds;
            t->light_p99 += m.light_p99 / rounds;
            t->heavy_rate += m.heavy_rate / rounds;
            t->heavy_commits += m.heavy_commits / rounds;
            t->heavy_p50 += m.heavy_p50 / rounds;
            t->heavy_p99 += m.heavy_p99 / rounds;
        }
    }
    if (with_prep && without_prep) {
        printf("summary (mean of %d round%s)            prepared   no_prealloc   ratio\n", rounds,
               rounds == 1 ? "" : "s");
        printf("  light: fdatasync/s                  %8.0f      %8.0f   %5.2f\n",
               sum[0].light_rate, sum[1].light_rate, sum[0].light_rate / sum[1].light_rate);
        printf("  light: commit p50 / p99 ms       %5.2f/%5.2f   %5.2f/%5.2f\n", sum[0].light_p50,
               sum[0].light_p99, sum[1].light_p50, sum[1].light_p99);
        printf("  heavy: records/s                    %8.0f      %8.0f   %5.2f\n",
               sum[0].heavy_rate, sum[1].heavy_rate, sum[0].heavy_rate / sum[1].heavy_rate);
        printf("  heavy: fdatasync/s                  %8.0f      %8.0f   %5.2f\n",
               sum[0].heavy_commits, sum[1].heavy_commits,
               sum[0].heavy_commits / sum[1].heavy_commits);
        printf("  heavy: commit p50 / p99 ms       %5.2f/%5.2f   %5.2f/%5.2f\n", sum[0].heavy_p50,
               sum[0].heavy_p99, sum[1].heavy_p50, sum[1].heavy_p99);
    }
    uint64_t t0;

    if (open_records > 0) {
        /* Grow the log to open_records without syncs, then time a cold-cache-free
         * recovery (the page cache holds the data: this measures CPU, not the disk). */
        o.fsync = LOG_FSYNC_NEVER;
        if (log_open(&o, &log, why, sizeof(why)) != ENLACE_OK) {
            fprintf(stderr, "log_open: %s\n", why);
            return 1;
        }
        while (log_size(log) < open_records) {
            result_t r;
            uint64_t n = open_records - log_size(log);
            if (run_load(log, 2, 4096, n < 200000 ? n : 200000, &r) != 0) {
                return 1;
            }
            free(r.lat);
        }
        log_checkpoint(log, false, NULL);
        log_close(&log);
        long before = rss_kib();
        t0 = now_ns();
        if (log_open(&o, &log, why, sizeof(why)) != ENLACE_OK) {
            fprintf(stderr, "log_open: %s\n", why);
            return 1;
        }
        double s = (double)(now_ns() - t0) / 1e9;
        long after = rss_kib();
        uint64_t n = log_size(log);
        printf("open/recovery of %" PRIu64 " records (%.0f MiB, page cache warm): %.2f s = "
               "%.0f records/s; index + tree memory %.1f MiB (%.0f bytes/record)\n",
               n, (double)n * (double)size / 1048576.0, s, (double)n / s,
               (double)(after - before) / 1024.0, (double)(after - before) * 1024.0 / (double)n);
        log_close(&log);

        /* What enlace-audit verify will do without signature checks: log_scan (CRC, decode,
         * seq continuity) + leaf hashes into a compact tree. */
        merkle_t *m = merkle_new_compact();
        log_scan_report_t rep;
        t0 = now_ns();
        log_scan(dir, scan_leaf, NULL, m, &rep);
        s = (double)(now_ns() - t0) / 1e9;
        printf("log_scan + leaf hashes + compact tree (one core): %" PRIu64 " records, %" PRIu64
               " problems, %.2f s = %.0f records/s\n",
               rep.records, rep.problems, s, (double)rep.records / s);
        merkle_destroy(&m);
    }
    char cmd[700];
    if (dir_opt == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    } else {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    }
    if (system(cmd) != 0) {
        fprintf(stderr, "cleanup of %s failed\n", base);
    }
    EVP_PKEY_free(key);
    free(payload);
    free(q.items);
    return 0;
}
