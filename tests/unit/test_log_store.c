/* test_log_store — specification of common/log_store.{h,c} in normal operation.
 *
 * Append/commit/read: records become visible only when committed, get consecutive seqs
 * and non-decreasing broker times, read back byte for byte with their leaf hashes; the
 * tree root equals a recomputation from the read records. Segments roll at the
 * configured size, are named by their first seq and read back across the boundary, also
 * after a reopen. Checkpoints: signed notes that verify with the store's key, written to
 * `checkpoint` and appended to `checkpoints`, only when the log grew (or forced), each
 * consistent with the previous one; proofs verify against the roots. Concurrency: reader
 * threads read every committed record while the writer appends. fsync modes: all three
 * produce the same log; the BATCH bookkeeping says when a sync is due. Refusals: wrong
 * seq, oversized record, read-only stores, a second writer, bad options. Prepared
 * segments: a roll renames the prepared file into place (the new segment is segment_size
 * bytes at once) after cutting the previous segment to its data; a writer on a segment
 * that was not prepared rolls as soon as one is ready; a clean close leaves no zero tail
 * and no temp file; a crash leaves a zero tail the next writer fills, and a temp file a
 * writer open deletes; no_prealloc behaves as before (files always end at their data).
 * Damage, recovery and rollback are in test_log_recover.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "log_fixture.h"
#include "log_history.h"
#include "wire.h"

static log_store_t *open_ok(const log_options_t *o)
{
    char why[512] = "";
    log_store_t *log = NULL;
    enlace_err_t rc = log_open(o, &log, why, sizeof(why));
    if (rc != ENLACE_OK) {
        print_error("log_open: %s: %s\n", enlace_err_str(rc), why);
    }
    assert_int_equal(rc, ENLACE_OK);
    return log;
}

/* Root recomputed from the records as read back (independent of the store's tree). */
static void root_from_reads(log_store_t *log, uint64_t size, uint8_t out[32])
{
    merkle_t *m = merkle_new_compact();
    for (uint64_t s = 0; s < size; s++) {
        uint8_t *d = NULL, leaf[32];
        size_t n = 0;
        assert_int_equal(log_read(log, s, &d, &n), ENLACE_OK);
        merkle_leaf_hash(d, n, leaf);
        assert_int_equal(merkle_append(m, leaf), ENLACE_OK);
        free(d);
    }
    assert_int_equal(merkle_root(m, size, out), ENLACE_OK);
    merkle_destroy(&m);
}

static void test_append_commit_read(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "nested/log"); /* parents are created too */
    log_options_t o = fix_options(dir);
    log_store_t *log = open_ok(&o);
    assert_int_equal(log_size(log), 0);
    assert_int_equal(log_recovered_bytes(log), 0);
    assert_string_equal(log_recovery_detail(log), "");

    uint8_t leaves[50][32];
    uint64_t prev_time = 0;
    for (uint64_t i = 0; i < 50; i++) {
        fix_rec_t t;
        uint64_t seq = 99;
        fix_rec_init(&t, i, 100 + i);
        assert_int_equal(log_append(log, &t.rec, &seq, leaves[i]), ENLACE_OK);
        assert_int_equal(seq, i);
        assert_int_equal(t.rec.seq, i);                /* set by the store */
        assert_true(t.rec.time_ms >= prev_time);       /* never goes back */
        assert_true(t.rec.time_ms > 1700000000000ull); /* Unix ms */
        prev_time = t.rec.time_ms;
        fix_rec_free(&t);
    }
    /* Not committed: invisible. */
    uint8_t *d = NULL;
    size_t n = 0;
    assert_int_equal(log_size(log), 0);
    assert_int_equal(log_read(log, 0, &d, &n), ENLACE_ERR_NOT_FOUND);
    assert_null(d);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_size(log), 50);
    for (uint64_t i = 0; i < 50; i++) {
        uint8_t leaf[32];
        assert_int_equal(log_read(log, i, &d, &n), ENLACE_OK);
        assert_true(fix_record_ok(d, n, i));
        merkle_leaf_hash(d, n, leaf);
        assert_memory_equal(leaf, leaves[i], 32);
        free(d);
        Enlace__Record *r = NULL;
        assert_int_equal(log_read_record(log, i, &r), ENLACE_OK);
        assert_int_equal(r->seq, i);
        codec_free((ProtobufCMessage **)&r);
    }
    assert_int_equal(log_read(log, 50, &d, &n), ENLACE_ERR_NOT_FOUND);
    uint8_t a[32], b[32];
    assert_int_equal(log_root(log, 50, a), ENLACE_OK);
    root_from_reads(log, 50, b);
    assert_memory_equal(a, b, 32);
    assert_int_equal(log_root(log, 51, a), ENLACE_ERR_INVALID);
    /* An empty commit is fine. */
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_size(log), 50);
    log_close(&log);
    log_close(&log);
    assert_null(log);
    fix_cleanup(dir);
}

static void test_append_refusals(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    log_store_t *log = open_ok(&o);
    fix_rec_t t;
    uint64_t seq = 7;

    fix_rec_init(&t, 0, 10);
    t.rec.seq = 5; /* the next seq is 0 */
    assert_int_equal(log_append(log, &t.rec, &seq, NULL), ENLACE_ERR_INVALID);
    assert_int_equal(t.rec.seq, 5); /* untouched on refusal */
    assert_int_equal(t.rec.time_ms, 0);
    fix_rec_free(&t);

    fix_rec_init(&t, 0, LOG_MAX_RECORD); /* packed size above the limit */
    assert_int_equal(log_append(log, &t.rec, &seq, NULL), ENLACE_ERR_TOO_LARGE);
    fix_rec_free(&t);

    /* A caller-given time is kept; a matching seq is accepted. */
    fix_rec_init(&t, 0, 10);
    t.rec.time_ms = 1234;
    assert_int_equal(log_append(log, &t.rec, &seq, NULL), ENLACE_OK);
    assert_int_equal(t.rec.time_ms, 1234);
    fix_rec_free(&t);
    fix_rec_init(&t, 1, 10);
    t.rec.seq = 1;
    assert_int_equal(log_append(log, &t.rec, &seq, NULL), ENLACE_OK);
    assert_int_equal(seq, 1);
    fix_rec_free(&t);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_size(log), 2);

    /* A second writer on the same directory is refused while the first is open. */
    log_store_t *second = NULL;
    char why[256];
    assert_int_equal(log_open(&o, &second, why, sizeof(why)), ENLACE_ERR_DENIED);
    assert_null(second);
    assert_non_null(strstr(why, "another writer"));
    log_close(&log);

    /* Bad options. */
    log_options_t bad = o;
    bad.dir = NULL;
    assert_int_equal(log_open(&bad, &second, why, sizeof(why)), ENLACE_ERR_INVALID);
    bad = o;
    bad.origin = NULL;
    assert_int_equal(log_open(&bad, &second, why, sizeof(why)), ENLACE_ERR_INVALID);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    bad = o;
    bad.checkpoint_key = ec;
    assert_int_equal(log_open(&bad, &second, why, sizeof(why)), ENLACE_ERR_INVALID);
    EVP_PKEY_free(ec);
    assert_int_equal(log_open(NULL, &second, why, sizeof(why)), ENLACE_ERR_INVALID);

    /* Read-only stores read, but never write. */
    log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
    log_store_t *r = open_ok(&ro);
    assert_int_equal(log_size(r), 2);
    fix_rec_init(&t, 2, 10);
    assert_int_equal(log_append(r, &t.rec, &seq, NULL), ENLACE_ERR_INVALID);
    fix_rec_free(&t);
    assert_int_equal(log_commit(r), ENLACE_ERR_INVALID);
    assert_int_equal(log_checkpoint(r, true, NULL), ENLACE_ERR_INVALID);
    log_close(&r);
    /* A read-only open does not create a missing directory. */
    ro.dir = fix_path(dir, "missing");
    assert_int_equal(log_open(&ro, &r, why, sizeof(why)), ENLACE_ERR_NOT_FOUND);
    fix_cleanup(dir);
}

static void test_segments_roll_and_reopen(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    o.segment_size = 8192;
    log_store_t *log = open_ok(&o);
    /* ~1 KiB records: 7 per segment; commit in uneven batches so rolls fall inside
     * batches too. */
    uint64_t batches[] = {1, 5, 13, 2, 40, 9};
    for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
        assert_int_equal(fix_append(log, batches[i], 1000), ENLACE_OK);
        assert_int_equal(log_commit(log), ENLACE_OK);
    }
    assert_int_equal(log_size(log), 70);
    /* One record larger than a segment gets a segment of its own. */
    assert_int_equal(fix_append(log, 1, 20000), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(fix_append(log, 1, 10), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    uint8_t root[32], again[32];
    assert_int_equal(log_root(log, 72, root), ENLACE_OK);
    log_close(&log);

    log_segment_file_t *files = NULL;
    size_t nfiles = 0;
    assert_int_equal(log_segment_list(dir, &files, &nfiles), ENLACE_OK);
    assert_true(nfiles >= 11);
    assert_int_equal(files[0].first_seq, 0);
    assert_string_equal(files[0].name, "seg-00000000000000000000.log");
    for (size_t i = 0; i < nfiles; i++) {
        assert_true(files[i].valid);
        assert_true(fix_file_size(fix_path(dir, files[i].name)) <= 8192 ||
                    files[i].first_seq == 70);
        if (i > 0) {
            assert_true(files[i].first_seq > files[i - 1].first_seq);
        }
    }
    assert_int_equal(files[nfiles - 2].first_seq, 70); /* the big one alone */
    assert_int_equal(files[nfiles - 1].first_seq, 71);
    free(files);

    log = open_ok(&o);
    fix_expect_records(log, 72);
    assert_int_equal(log_root(log, 72, again), ENLACE_OK);
    assert_memory_equal(root, again, 32);
    /* Appending continues where it stopped, with the next seq. */
    assert_int_equal(fix_append(log, 3, 1000), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_size(log), 75);
    log_close(&log);

    log_scan_report_t rep;
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.records, 75);
    assert_int_equal(rep.problems, 0);
    assert_int_equal(rep.next_seq, 75);
    fix_cleanup(dir);
}

/* ---- checkpoints -------------------------------------------------------------------- */

typedef struct {
    uint64_t count;     /* entries seen */
    uint64_t sizes[16]; /* their sizes */
    uint8_t roots[16][32];
} history_t;

static enlace_err_t collect(const char *note, uint64_t index, void *user)
{
    history_t *h = user;
    assert_true(index < 16);
    assert_int_equal(
        checkpoint_open(note, FIX_ORIGIN, fix_pub, NULL, &h->sizes[index], h->roots[index]),
        ENLACE_OK);
    h->count = index + 1;
    return ENLACE_OK;
}

static void test_checkpoints_and_proofs(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    log_store_t *log = open_ok(&o);
    char *note = NULL;
    assert_int_equal(log_latest_checkpoint(log, &note), ENLACE_ERR_NOT_FOUND);
    assert_int_equal(log_checkpoint(log, false, &note), ENLACE_ERR_NOT_FOUND); /* empty log */
    assert_int_equal(log_checkpoint(log, true, &note), ENLACE_OK);             /* forced */
    uint64_t size = 99;
    uint8_t root[32], want[32];
    assert_int_equal(checkpoint_open(note, FIX_ORIGIN, fix_pub, NULL, &size, root), ENLACE_OK);
    assert_int_equal(size, 0);
    merkle_empty_root(want);
    assert_memory_equal(root, want, 32);
    free(note);

    uint64_t grow[] = {5, 8, 1, 30};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(fix_append(log, grow[i], 200), ENLACE_OK);
        assert_int_equal(log_commit(log), ENLACE_OK);
        assert_int_equal(log_checkpoint(log, false, &note), ENLACE_OK);
        assert_int_equal(checkpoint_open(note, FIX_ORIGIN, fix_pub, NULL, &size, root), ENLACE_OK);
        assert_int_equal(size, log_size(log));
        assert_int_equal(log_checkpoint_size(log), log_size(log));
        assert_int_equal(log_root(log, size, want), ENLACE_OK);
        assert_memory_equal(root, want, 32);
        char *file = fix_read_file(fix_path(dir, LOG_CHECKPOINT_FILE));
        assert_string_equal(file, note);
        free(file);
        free(note);
    }
    /* No growth: nothing new is written, forced or not. */
    assert_int_equal(log_checkpoint(log, false, NULL), ENLACE_OK);
    assert_int_equal(log_checkpoint(log, true, NULL), ENLACE_OK);
    /* Appended but not committed: the checkpoint covers committed records only. */
    assert_int_equal(fix_append(log, 2, 10), ENLACE_OK);
    assert_int_equal(log_checkpoint(log, false, &note), ENLACE_OK);
    assert_int_equal(checkpoint_open(note, FIX_ORIGIN, fix_pub, NULL, &size, root), ENLACE_OK);
    assert_int_equal(size, 44);
    free(note);
    assert_int_equal(log_commit(log), ENLACE_OK);

    history_t h = {0};
    assert_int_equal(log_history_each_path(dir, collect, &h), ENLACE_OK);
    assert_int_equal(h.count, 5); /* 0, 5, 13, 14, 44 */
    uint64_t want_sizes[] = {0, 5, 13, 14, 44};
    for (uint64_t i = 0; i < h.count; i++) {
        assert_int_equal(h.sizes[i], want_sizes[i]);
        if (i == 0) {
            continue;
        }
        /* Each checkpoint extends the previous one. */
        uint8_t p[MERKLE_MAX_PROOF][32];
        size_t n;
        assert_int_equal(
            log_consistency_proof(log, h.sizes[i - 1], h.sizes[i], p, MERKLE_MAX_PROOF, &n),
            ENLACE_OK);
        assert_int_equal(merkle_verify_consistency(h.sizes[i - 1], h.sizes[i], h.roots[i - 1],
                                                   h.roots[i], (const uint8_t(*)[32])p, n),
                         ENLACE_OK);
    }
    /* Inclusion proofs of records in the last checkpoint verify against its root. */
    for (uint64_t s = 0; s < 44; s += 3) {
        uint8_t p[MERKLE_MAX_PROOF][32], leaf[32], *d = NULL;
        size_t n, len;
        assert_int_equal(log_inclusion_proof(log, s, 44, p, MERKLE_MAX_PROOF, &n), ENLACE_OK);
        assert_int_equal(log_read(log, s, &d, &len), ENLACE_OK);
        merkle_leaf_hash(d, len, leaf);
        free(d);
        assert_int_equal(
            merkle_verify_inclusion(leaf, s, 44, (const uint8_t(*)[32])p, n, h.roots[4]),
            ENLACE_OK);
    }
    uint8_t p[MERKLE_MAX_PROOF][32];
    size_t n;
    assert_int_equal(log_inclusion_proof(log, 0, 47, p, MERKLE_MAX_PROOF, &n), ENLACE_ERR_INVALID);
    assert_int_equal(log_inclusion_proof(log, 46, 46, p, MERKLE_MAX_PROOF, &n), ENLACE_ERR_INVALID);
    assert_int_equal(log_consistency_proof(log, 5, 47, p, MERKLE_MAX_PROOF, &n),
                     ENLACE_ERR_INVALID);
    log_close(&log);

    /* Reopen: the latest checkpoint is known again. */
    log = open_ok(&o);
    assert_int_equal(log_checkpoint_size(log), 44);
    assert_int_equal(log_latest_checkpoint(log, &note), ENLACE_OK);
    assert_int_equal(checkpoint_open(note, FIX_ORIGIN, fix_pub, NULL, &size, root), ENLACE_OK);
    assert_int_equal(size, 44);
    free(note);
    log_close(&log);
    fix_cleanup(dir);
}

/* ---- concurrency -------------------------------------------------------------------- */

typedef struct {
    log_store_t *log;
    atomic_bool *stop;
    uint64_t reads;
    int failures;
    unsigned seed;
} reader_t;

static void *reader_main(void *arg)
{
    reader_t *r = arg;
    uint64_t next = 0;
    while (!atomic_load(r->stop) || next < log_size(r->log)) {
        uint64_t n = log_size(r->log);
        if (n == 0) {
            continue;
        }
        /* Sequential catch-up, as a subscription cursor does, plus random reads. */
        uint64_t targets[2] = {next < n ? next : n - 1, (uint64_t)rand_r(&r->seed) % n};
        for (int i = 0; i < 2; i++) {
            uint8_t *d = NULL;
            size_t len = 0;
            if (log_read(r->log, targets[i], &d, &len) != ENLACE_OK ||
                !fix_record_ok(d, len, targets[i])) {
                r->failures++;
            }
            free(d);
            r->reads++;
        }
        if (next < n) {
            next++;
        }
    }
    return NULL;
}

/* Checkpoints stored by the checkpoint thread: adopted only when polled as stored; one
 * at a time; log_checkpoint and log_close finish one in progress; history in order. */
static void test_checkpoints_stored_off_the_writer_thread(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    log_store_t *log = open_ok(&o);
    bool started = false, finished = false;
    assert_int_equal(log_checkpoint_start(log, &started), ENLACE_OK);
    assert_false(started); /* empty log: nothing to sign */
    assert_int_equal(fix_append(log, 10, 50), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_checkpoint_start(log, &started), ENLACE_OK);
    assert_true(started);
    assert_int_equal(log_checkpoint_size(log), 0); /* not adopted before it is stored */
    bool again = false;
    assert_int_equal(log_checkpoint_start(log, &again), ENLACE_ERR_AGAIN);
    assert_int_equal(log_checkpoint_poll(log, true, &finished), ENLACE_OK);
    assert_true(finished);
    assert_int_equal(log_checkpoint_size(log), 10);
    char *note = NULL;
    uint64_t size = 0;
    uint8_t root[32], want[32];
    assert_int_equal(log_latest_checkpoint(log, &note), ENLACE_OK);
    assert_int_equal(checkpoint_open(note, FIX_ORIGIN, fix_pub, NULL, &size, root), ENLACE_OK);
    assert_int_equal(size, 10);
    assert_int_equal(log_root(log, 10, want), ENLACE_OK);
    assert_memory_equal(root, want, 32);
    free(note);
    assert_int_equal(log_checkpoint_poll(log, false, &finished), ENLACE_OK);
    assert_false(finished); /* nothing in progress */

    /* In progress when the synchronous one comes: it is finished first. */
    assert_int_equal(fix_append(log, 5, 50), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_checkpoint_start(log, &started), ENLACE_OK);
    assert_true(started);
    assert_int_equal(fix_append(log, 1, 50), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_checkpoint(log, false, NULL), ENLACE_OK);
    assert_int_equal(log_checkpoint_size(log), 16);

    /* In progress at close: stored, and the reopened log adopts it. */
    assert_int_equal(fix_append(log, 4, 50), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_checkpoint_start(log, &started), ENLACE_OK);
    assert_true(started);
    log_close(&log);
    log = open_ok(&o);
    assert_int_equal(log_checkpoint_size(log), 20);
    log_close(&log);
    history_t h = {0};
    assert_int_equal(log_history_each_path(dir, collect, &h), ENLACE_OK);
    assert_int_equal(h.count, 4);
    const uint64_t sizes[] = {10, 15, 16, 20};
    for (int i = 0; i < 4; i++)
        assert_int_equal(h.sizes[i], sizes[i]);
    fix_cleanup(dir);
}

static void test_concurrent_readers_see_only_committed_records(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    o.segment_size = 65536; /* many segments: the segment table grows under the readers */
    log_store_t *log = open_ok(&o);
    atomic_bool stop = false;
    reader_t readers[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        readers[i] = (reader_t){.log = log, .stop = &stop, .seed = (unsigned)i + 1};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &readers[i]), 0);
    }
    /* 70,000 records crosses the index's 65,536-entry chunk boundary. */
    unsigned seed = 42;
    while (log_size(log) < 70000) {
        uint64_t batch = 1 + (uint64_t)rand_r(&seed) % 300;
        assert_int_equal(fix_append(log, batch, (size_t)rand_r(&seed) % 64), ENLACE_OK);
        assert_int_equal(log_commit(log), ENLACE_OK);
    }
    atomic_store(&stop, true);
    uint64_t total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(readers[i].failures, 0);
        total += readers[i].reads;
    }
    print_message("%" PRIu64 " concurrent reads of %" PRIu64 " records\n", total, log_size(log));
    log_close(&log);
    fix_cleanup(dir);
}

typedef struct {
    log_store_t *log;
    atomic_bool *stop;
} writer_t;

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    for (int i = 0; !atomic_load(w->stop) && log_size(w->log) < 20000; i++) {
        assert_int_equal(fix_append(w->log, 1 + (uint64_t)i % 17, 700), ENLACE_OK);
        assert_int_equal(log_commit(w->log), ENLACE_OK);
        if (i % 10 == 0) {
            assert_int_equal(log_checkpoint(w->log, false, NULL), ENLACE_OK);
        }
    }
    return NULL;
}

static void count_damage(const log_scan_problem_t *p, void *user)
{
    if (p->issue != LOG_SCAN_SHORT) {
        print_error("log_scan of a live log: %s: %s\n", log_scan_issue_str(p->issue), p->detail);
        (*(int *)user)++;
    }
}

static void test_read_only_opens_beside_a_live_writer(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    o.segment_size = 262144;
    log_store_t *log = open_ok(&o);
    atomic_bool stop = false;
    writer_t w = {.log = log, .stop = &stop};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
    /* An auditor opening the live log never sees a rollback or corruption: it reads the
     * checkpoints before the segments, and a write in progress is only a torn tail (or a
     * frame half copied into a zero tail, which it reads again). */
    log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
    int opens = 0, torn = 0;
    for (; opens < 30 || log_size(log) < 20000; opens++) {
        log_store_t *r = NULL;
        char why[512] = "";
        enlace_err_t rc = log_open(&ro, &r, why, sizeof(why));
        if (rc != ENLACE_OK) {
            print_error("read-only open %d: %s: %s\n", opens, enlace_err_str(rc), why);
        }
        assert_int_equal(rc, ENLACE_OK);
        torn += log_recovered_bytes(r) > 0;
        log_close(&r);
        /* So does the verifier's scan: at most a write in progress (a short frame) at the
         * end, never damage, though the writer fills prepared (pre-zeroed) segments. */
        int damage = 0;
        log_scan_report_t rep;
        assert_int_equal(log_scan(dir, NULL, count_damage, &damage, &rep), ENLACE_OK);
        assert_int_equal(damage, 0);
    }
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    print_message("%d read-only opens of a live log (%d saw a write in progress), %" PRIu64
                  " records\n",
                  opens, torn, log_size(log));
    log_close(&log);
    fix_cleanup(dir);
}

/* ---- fsync modes ------------------------------------------------------------------------ */

static void test_fsync_modes(void **state)
{
    (void)state;
    const log_fsync_t modes[] = {LOG_FSYNC_ALWAYS, LOG_FSYNC_BATCH, LOG_FSYNC_NEVER};
    for (int m = 0; m < 3; m++) {
        char dir[256];
        fix_tmpdir(dir, sizeof(dir), "log");
        log_options_t o = fix_options(dir);
        o.fsync = modes[m];
        o.batch_ms = 50;
        o.segment_size = 4096;
        log_store_t *log = open_ok(&o);
        assert_int_equal(log_sync_due_ms(log), -1); /* nothing unsynced */
        for (int i = 0; i < 10; i++) {
            assert_int_equal(fix_append(log, 3, 500), ENLACE_OK);
            assert_int_equal(log_commit(log), ENLACE_OK);
        }
        long due = log_sync_due_ms(log);
        if (modes[m] == LOG_FSYNC_BATCH) {
            assert_true(due >= 0 && due <= 50);
            usleep(60000);
            assert_int_equal(log_sync_due_ms(log), 0);
            assert_int_equal(log_commit(log), ENLACE_OK); /* an empty commit does a due sync */
            assert_int_equal(log_sync_due_ms(log), -1);
        } else {
            assert_int_equal(due, -1); /* ALWAYS: synced; NEVER: not tracked for timing */
        }
        assert_int_equal(log_sync(log), ENLACE_OK);
        assert_int_equal(log_checkpoint(log, false, NULL), ENLACE_OK);
        log_close(&log);
        log = open_ok(&o);
        assert_int_equal(log_size(log), 30);
        assert_int_equal(log_checkpoint_size(log), 30);
        log_close(&log);
        fix_cleanup(dir);
    }
}

/* ---- prepared segments (log_prep.h) ---------------------------------------------------- */

/* Wait, at most 20 s, for the store's background thread to have a prepared file ready. */
static void wait_prepared(log_store_t *log)
{
    for (int i = 0; i < 20000 && !log_prepared_ready(log); i++) {
        usleep(1000);
    }
    assert_true(log_prepared_ready(log));
}

/* The segment files of dir, in order. */
static size_t list_segments(const char *dir, log_segment_file_t **files)
{
    size_t n = 0;
    assert_int_equal(log_segment_list(dir, files, &n), ENLACE_OK);
    return n;
}

/* Every segment but the last ends at its data; returns the last one's path (a static
 * buffer, valid until the next call). */
static const char *check_segments(const char *dir, size_t *count)
{
    static char last_path[600];
    log_segment_file_t *files = NULL;
    size_t n = list_segments(dir, &files);
    assert_true(n > 0);
    for (size_t i = 0; i + 1 < n; i++) {
        const char *path = fix_path(dir, files[i].name);
        assert_true(files[i].valid);
        assert_int_equal(fix_file_size(path), fix_data_size(path));
    }
    snprintf(last_path, sizeof(last_path), "%s", fix_path(dir, files[n - 1].name));
    *count = n;
    free(files);
    return last_path;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void test_prepared_segments_are_rolled_into(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    o.segment_size = 65536;
    log_store_t *log = open_ok(&o);
    size_t n;

    /* The first segment of a new log exists before anything is prepared: it grows. */
    assert_int_equal(fix_append(log, 3, 1000), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    char seg0[600];
    snprintf(seg0, sizeof(seg0), "%s", fix_seg(dir, 0));
    assert_int_equal(fix_file_size(seg0), fix_data_size(seg0));
    wait_prepared(log);
    assert_int_equal(fix_file_size(fix_path(dir, LOG_PREPARED_FILE)), 65536);

    /* Early roll: the next commit starts a segment in the prepared file, though the
     * first one is far from full; the first one ends at its data. */
    assert_int_equal(fix_append(log, 2, 1000), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    const char *last = check_segments(dir, &n);
    assert_int_equal(n, 2);
    assert_string_equal(last, fix_seg(dir, 3));
    assert_int_equal(fix_file_size(last), 65536);
    long two = fix_data_size(last);
    assert_true(two > 2000 && two < 2200);
    assert_int_equal(fix_file_size(seg0), fix_data_size(seg0));

    /* Readers of the live log take the zero tail for the end of the data. */
    log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
    log_store_t *r = open_ok(&ro);
    assert_int_equal(log_size(r), 5);
    assert_int_equal(log_recovered_bytes(r), 0);
    log_close(&r);
    log_scan_report_t rep;
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 0);
    assert_int_equal(rep.records, 5);

    /* Filling it: writes land inside the file (its size stays), and the roll at
     * segment_size goes to the next prepared file after cutting this one to its data. */
    while (n < 4) {
        wait_prepared(log);
        assert_int_equal(fix_append(log, 9, 1000), ENLACE_OK);
        assert_int_equal(log_commit(log), ENLACE_OK);
        size_t before = n;
        last = check_segments(dir, &n);
        assert_int_equal(fix_file_size(last), 65536);
        assert_true(n == before || n == before + 1);
    }
    log_close(&log);

    /* A clean close: no zero tail, no temp file. */
    last = check_segments(dir, &n);
    assert_int_equal(fix_file_size(last), fix_data_size(last));
    assert_false(exists(fix_path(dir, LOG_PREPARED_FILE)));
    uint64_t size = 0;
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 0);
    size = rep.records;

    /* Reopened, the last segment was not prepared (it was cut at close): the writer
     * moves to a prepared one at the first commit after one is ready. */
    log = open_ok(&o);
    assert_int_equal(log_size(log), size);
    assert_int_equal(fix_append(log, 1, 100), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    wait_prepared(log);
    size_t before = n;
    assert_int_equal(fix_append(log, 1, 100), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    last = check_segments(dir, &n);
    assert_int_equal(n, before + 1);
    assert_string_equal(last, fix_seg(dir, size + 1));
    assert_int_equal(fix_file_size(last), 65536);
    log_close(&log);
    log = open_ok(&o);
    fix_expect_records(log, size + 2);
    log_close(&log);
    fix_cleanup(dir);
}

static void test_no_prealloc_and_leftover_prepared_files(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    o.segment_size = 8192;
    o.no_prealloc = true;
    log_store_t *log = open_ok(&o);
    /* Without preparation every segment always ends at its data: as before. */
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(fix_append(log, 1 + (uint64_t)i % 4, 900), ENLACE_OK);
        assert_int_equal(log_commit(log), ENLACE_OK);
        const char *last = check_segments(dir, &n);
        assert_int_equal(fix_file_size(last), fix_data_size(last));
        assert_false(exists(fix_path(dir, LOG_PREPARED_FILE)));
        assert_false(log_prepared_ready(log));
    }
    assert_true(n > 4);
    uint64_t size = log_size(log);
    log_close(&log);

    /* A temp file left by a crash: readers ignore it, a writer open deletes it. */
    fix_write_file(fix_path(dir, LOG_PREPARED_FILE), "half-prepared");
    log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
    log_store_t *r = open_ok(&ro);
    assert_int_equal(log_size(r), size);
    log_close(&r);
    log_scan_report_t rep;
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 0);
    assert_true(exists(fix_path(dir, LOG_PREPARED_FILE)));
    log = open_ok(&o);
    assert_false(exists(fix_path(dir, LOG_PREPARED_FILE)));
    log_close(&log);

    /* With preparation, a writer open replaces it with a file of zeros it prepares. */
    fix_write_file(fix_path(dir, LOG_PREPARED_FILE), "half-prepared");
    o.no_prealloc = false;
    log = open_ok(&o);
    wait_prepared(log);
    char *z = fix_read_file(fix_path(dir, LOG_PREPARED_FILE));
    assert_int_equal(fix_file_size(fix_path(dir, LOG_PREPARED_FILE)), 8192);
    for (int i = 0; i < 8192; i++) {
        assert_int_equal(z[i], 0);
    }
    free(z);
    log_close(&log);
    assert_false(exists(fix_path(dir, LOG_PREPARED_FILE)));
    fix_cleanup(dir);
}

/* A writer that dies (no log_close) on a prepared segment leaves a zero tail; the next
 * writer goes on filling it. */
static void test_a_crash_leaves_a_zero_tail_that_the_next_writer_fills(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    log_options_t o = fix_options(dir);
    o.segment_size = 65536;
    o.fsync = LOG_FSYNC_ALWAYS;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        log_store_t *log = NULL;
        if (log_open(&o, &log, NULL, 0) != ENLACE_OK || fix_append(log, 3, 1000) != ENLACE_OK ||
            log_commit(log) != ENLACE_OK) {
            _exit(1);
        }
        for (int i = 0; i < 20000 && !log_prepared_ready(log); i++) {
            usleep(1000);
        }
        if (fix_append(log, 2, 1000) != ENLACE_OK || log_commit(log) != ENLACE_OK) {
            _exit(1);
        }
        for (int i = 0; i < 20000 && !log_prepared_ready(log); i++) {
            usleep(1000);
        }
        _exit(log_prepared_ready(log) ? 0 : 2); /* no log_close: as a crash leaves it */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char seg[600];
    snprintf(seg, sizeof(seg), "%s", fix_seg(dir, 3));
    long data = fix_data_size(seg);
    assert_int_equal(fix_file_size(seg), 65536);
    assert_true(exists(fix_path(dir, LOG_PREPARED_FILE)));

    log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
    log_store_t *log = open_ok(&ro);
    assert_int_equal(log_size(log), 5);
    log_close(&log);
    o.no_prealloc = true;
    log = open_ok(&o);
    assert_false(exists(fix_path(dir, LOG_PREPARED_FILE)));
    assert_int_equal(log_size(log), 5);
    assert_int_equal(log_recovered_bytes(log), 0);
    assert_int_equal(fix_append(log, 3, 1000), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(fix_file_size(seg), 65536); /* written inside the zero tail */
    assert_true(fix_data_size(seg) > data + 3000);
    log_close(&log);
    assert_int_equal(fix_file_size(seg), fix_data_size(seg));
    log = open_ok(&o);
    fix_expect_records(log, 8);
    log_close(&log);
    fix_cleanup(dir);
}

/* log_append_kind: a record given as its encoded kind field is stored as exactly the
 * bytes protobuf-c packs for the whole Record (seq and time written by the store),
 * across one- and two-byte seq varints; oversized input is refused and adds nothing. */
static void test_append_kind_is_canonical(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "kind");
    log_options_t o = fix_options(dir);
    log_store_t *log = open_ok(&o);
    for (uint64_t i = 0; i < 300; i++) {
        fix_rec_t t;
        fix_rec_init(&t, i, 40 + i);
        size_t plen = enlace__published__get_packed_size(&t.pub);
        uint8_t *pub = malloc(plen);
        enlace__published__pack(&t.pub, pub);
        uint8_t key[16];
        size_t kl = wire_len_prefix(key, 12, plen); /* Record.published */
        log_bytes_t parts[2] = {{key, kl}, {pub, plen}};
        uint64_t seq = 0, t_ms = 0;
        uint8_t leaf[32];
        assert_int_equal(log_append_kind(log, parts, 2, &seq, &t_ms, leaf), ENLACE_OK);
        assert_int_equal(seq, i);
        assert_true(t_ms > 0);
        assert_int_equal(log_commit(log), ENLACE_OK);
        uint8_t *d = NULL;
        size_t n = 0;
        assert_int_equal(log_read(log, i, &d, &n), ENLACE_OK);
        uint8_t h[32];
        merkle_leaf_hash(d, n, h);
        assert_memory_equal(h, leaf, 32);
        t.rec.seq = i;
        t.rec.time_ms = t_ms;
        size_t want_len = enlace__record__get_packed_size(&t.rec);
        uint8_t *want = malloc(want_len);
        enlace__record__pack(&t.rec, want);
        assert_int_equal(n, want_len);
        assert_memory_equal(d, want, n);
        free(want);
        free(d);
        free(pub);
        fix_rec_free(&t);
    }
    size_t big = LOG_MAX_RECORD;
    uint8_t *junk = calloc(1, big);
    log_bytes_t one = {junk, big};
    assert_int_equal(log_append_kind(log, &one, 1, NULL, NULL, NULL), ENLACE_ERR_TOO_LARGE);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_size(log), 300);
    free(junk);
    log_close(&log);
    fix_cleanup(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_commit_read),
        cmocka_unit_test(test_append_refusals),
        cmocka_unit_test(test_append_kind_is_canonical),
        cmocka_unit_test(test_segments_roll_and_reopen),
        cmocka_unit_test(test_checkpoints_and_proofs),
        cmocka_unit_test(test_checkpoints_stored_off_the_writer_thread),
        cmocka_unit_test(test_concurrent_readers_see_only_committed_records),
        cmocka_unit_test(test_read_only_opens_beside_a_live_writer),
        cmocka_unit_test(test_fsync_modes),
        cmocka_unit_test(test_prepared_segments_are_rolled_into),
        cmocka_unit_test(test_no_prealloc_and_leftover_prepared_files),
        cmocka_unit_test(test_a_crash_leaves_a_zero_tail_that_the_next_writer_fills),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_PKEY_free(fix_key);
    return rc;
}
