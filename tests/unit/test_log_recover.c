/* test_log_recover — specification of the log store's recovery at open, and of log_scan.
 *
 * Torn tails in the last segment (a short frame, a bad CRC, zeros, a frame cut in half)
 * are cut and reported (bytes and detail), and appending resumes; a read-only open
 * reports the same tail without touching the file. Damage that is not a torn tail is
 * refused with ENLACE_ERR_CORRUPT naming the record, segment and offset: a bad CRC or a
 * broken length followed by good records, damage in an earlier segment, a missing
 * segment, a record with the wrong seq, a stray file. Damage inside records a checkpoint
 * signed is never cut. Rollback: old segments put back after a newer checkpoint, and a
 * record changed with a recomputed CRC, are refused with ENLACE_ERR_ROLLBACK naming the
 * checkpoint and the records; checkpoints by another key are refused. Crash leftovers in
 * the checkpoint files are repaired. log_scan reports every problem with its segment and
 * offset and carries on. Zero tails: zero bytes from the end of the last frame to the end
 * of the last segment end its data for every reader (writer and read-only opens, log_scan)
 * and are neither cut nor reported; the writer fills them and a clean close cuts what is
 * left. Zeros followed by other bytes are damage (a torn tail, or refused when a good
 * frame follows), and a zero tail in an earlier segment is refused, naming the segment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "log_fixture.h"
#include "log_history.h"
#include "wire.h"

/* Make a log in `dir` of `n` records of `payload` bytes (committed in batches of 7),
 * with checkpoints after the sizes listed in ckpt (0-terminated). */
static void make_log(const char *dir, uint64_t segment_size, uint64_t n, size_t payload,
                     const uint64_t *ckpt)
{
    log_options_t o = fix_options(dir);
    o.segment_size = segment_size;
    log_store_t *log = NULL;
    assert_int_equal(log_open(&o, &log, NULL, 0), ENLACE_OK);
    while (log_size(log) < n) {
        uint64_t stop = n;
        for (const uint64_t *c = ckpt; c && *c; c++) {
            if (*c > log_size(log) && *c < stop) {
                stop = *c;
            }
        }
        uint64_t batch = stop - log_size(log) < 7 ? stop - log_size(log) : 7;
        assert_int_equal(fix_append(log, batch, payload), ENLACE_OK);
        assert_int_equal(log_commit(log), ENLACE_OK);
        for (const uint64_t *c = ckpt; c && *c; c++) {
            if (*c == log_size(log)) {
                assert_int_equal(log_checkpoint(log, false, NULL), ENLACE_OK);
            }
        }
    }
    log_close(&log);
}

/* Open with the fixture key; returns the error and fills why. */
static enlace_err_t try_open(const char *dir, uint64_t segment_size, log_store_t **log, char *why,
                             size_t why_len)
{
    log_options_t o = fix_options(dir);
    o.segment_size = segment_size;
    *log = NULL;
    enlace_err_t rc = log_open(&o, log, why, why_len);
    print_message("open: %s: %s\n", enlace_err_str(rc), rc ? why : "ok");
    return rc;
}

static void expect_refusal(const char *dir, enlace_err_t want, const char *const *needles)
{
    char why[1024] = "";
    log_store_t *log = NULL;
    assert_int_equal(try_open(dir, 0, &log, why, sizeof(why)), want);
    assert_null(log);
    for (const char *const *n = needles; *n != NULL; n++) {
        if (strstr(why, *n) == NULL) {
            print_error("reason \"%s\" lacks \"%s\"\n", why, *n);
            fail();
        }
    }
}

/* ---- torn tails ------------------------------------------------------------------------- */

typedef struct {
    const char *name; /* the damage */
    int kind;         /* 0 short frame, 1 bad CRC frame, 2 zeros, 3 cut last record */
    uint64_t left;    /* records left after recovery */
} tail_row_t;

static void test_torn_tails_are_cut_and_reported(void **state)
{
    (void)state;
    const tail_row_t rows[] = {
        {"header announcing 100 bytes, 20 present", 0, 10},
        {"whole frame with a bad CRC", 1, 10},
        {"4 KiB of zeros, then a byte (zeros are a zero tail only up to the end)", 2, 10},
        {"last record cut in half", 3, 9},
        {"3 bytes of a header", 4, 10},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        print_message("%s\n", rows[i].name);
        char dir[256];
        fix_tmpdir(dir, sizeof(dir), "log");
        make_log(dir, 0, 10, 300, NULL);
        const char *seg = fix_seg(dir, 0);
        long size = fix_file_size(seg);
        long cut = 0;
        if (rows[i].kind == 0) {
            uint8_t frame[28] = {0, 0, 0, 100, 1, 2, 3, 4, 0x08, 10};
            fix_append_bytes(seg, frame, sizeof(frame));
            cut = 28;
        } else if (rows[i].kind == 1) {
            uint8_t frame[12] = {0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef, 0x08, 10, 0x10, 1};
            fix_append_bytes(seg, frame, sizeof(frame));
            cut = 12;
        } else if (rows[i].kind == 2) {
            static uint8_t zeros[4097];
            zeros[4096] = 0x2a;
            fix_append_bytes(seg, zeros, sizeof(zeros));
            cut = 4097;
        } else if (rows[i].kind == 3) {
            long last = fix_record_offset(seg, 9);
            fix_truncate(seg, last + 150);
            size = last + 150;
            cut = 150;
        } else {
            fix_append_bytes(seg, "\0\0\1", 3);
            cut = 3;
        }
        /* A read-only open reports it and leaves the file alone. */
        log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
        log_store_t *log = NULL;
        char why[512];
        assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_OK);
        assert_int_equal(log_size(log), rows[i].left);
        assert_int_equal(log_recovered_bytes(log), cut);
        log_close(&log);
        assert_int_equal(fix_file_size(seg), (rows[i].kind == 3 ? size : size + cut));
        /* The writer cuts it. */
        assert_int_equal(try_open(dir, 0, &log, why, sizeof(why)), ENLACE_OK);
        assert_int_equal(log_size(log), rows[i].left);
        assert_int_equal(log_recovered_bytes(log), cut);
        print_message("  %s\n", log_recovery_detail(log));
        assert_non_null(strstr(log_recovery_detail(log), "seg-00000000000000000000.log"));
        assert_int_equal(fix_file_size(seg), (rows[i].kind == 3 ? size - cut : size));
        /* And the log goes on from there. */
        assert_int_equal(fix_append(log, 2, 300), ENLACE_OK);
        assert_int_equal(log_commit(log), ENLACE_OK);
        log_close(&log);
        assert_int_equal(try_open(dir, 0, &log, why, sizeof(why)), ENLACE_OK);
        assert_int_equal(log_recovered_bytes(log), 0);
        fix_expect_records(log, rows[i].left + 2);
        log_close(&log);
        fix_cleanup(dir);
    }
}

static void test_damage_inside_signed_records_is_never_cut(void **state)
{
    (void)state;
    char dir[256];
    const uint64_t ckpt[] = {10, 0};
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 10, 300, ckpt);
    const char *seg = fix_seg(dir, 0);
    long last = fix_record_offset(seg, 9);
    fix_truncate(seg, last + 100);
    const char *needles[] = {"record 9", "seg-00000000000000000000.log", "signed 10 records",
                             "refusing to cut", NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);
    assert_int_equal(fix_file_size(seg), last + 100); /* evidence left as found */
    fix_cleanup(dir);
}

/* ---- damage that is not a torn tail ------------------------------------------------------ */

static void test_crc_error_in_the_middle_is_refused(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 10, 300, NULL);
    const char *seg = fix_seg(dir, 0);
    long off = fix_record_offset(seg, 5);
    long size = fix_file_size(seg);
    fix_xor_byte(seg, off + 100, 0x01); /* a payload byte of record 5 */
    char at[64];
    snprintf(at, sizeof(at), "offset %ld", off);
    const char *needles[] = {"record 5", "seg-00000000000000000000.log", at, "CRC mismatch", NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);
    assert_int_equal(fix_file_size(seg), size);

    /* The verifier's scan reports it and carries on. */
    log_scan_report_t rep;
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 1);
    assert_int_equal(rep.records, 9);
    assert_int_equal(rep.next_seq, 10);
    fix_cleanup(dir);
}

static void test_broken_length_in_the_middle_is_refused(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 10, 300, NULL);
    const char *seg = fix_seg(dir, 0);
    long off = fix_record_offset(seg, 4);
    fix_xor_byte(seg, off, 0x80); /* length now above the limit: cannot frame further */
    const char *needles[] = {"record 4", "impossible frame length", "good records follow", NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);
    fix_xor_byte(seg, off, 0x80);
    fix_xor_byte(seg, off + 2, 0x01); /* length 256 bytes too long: a CRC error */
    const char *needles2[] = {"record 4", "good records follow", NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles2);
    fix_cleanup(dir);
}

static void test_damage_in_an_earlier_segment_is_refused(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 4096, 20, 1000, NULL); /* 3 records per segment */
    const char *seg0 = fix_seg(dir, 0);
    fix_truncate(seg0, fix_file_size(seg0) - 10); /* torn, but not the last segment */
    const char *needles[] = {"record 2", "seg-00000000000000000000.log", NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);
    fix_cleanup(dir);
}

static void test_missing_segment_and_stray_files_are_refused(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 4096, 20, 1000, NULL);
    assert_int_equal(unlink(fix_seg(dir, 3)), 0);
    const char *needles[] = {"seg-00000000000000000006.log", "records 3..5 are missing", NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);

    log_scan_report_t rep;
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 1); /* the gap */
    assert_int_equal(rep.records, 17);
    fix_cleanup(dir);

    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 3, 10, NULL);
    fix_write_file(fix_path(dir, "seg-12.log"), "x");
    const char *needles2[] = {"unexpected file seg-12.log", NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles2);
    fix_cleanup(dir);
}

static void test_record_with_wrong_seq_is_refused(void **state)
{
    (void)state;
    /* Two logs; splice the second record of B in place of A's (same length, good CRC). */
    char a[256], b[256];
    fix_tmpdir(a, sizeof(a), "log");
    fix_tmpdir(b, sizeof(b), "log");
    make_log(a, 0, 3, 50, NULL);
    make_log(b, 0, 3, 50, NULL);
    char *sa = fix_read_file(fix_seg(a, 0));
    char *sb = fix_read_file(fix_seg(b, 0));
    long len = fix_file_size(fix_seg(a, 0));
    long r1 = fix_record_offset(fix_seg(a, 0), 1), r2 = fix_record_offset(fix_seg(a, 0), 2);
    /* Put B's record 2 where A's record 1 was: its seq field says 2. */
    memcpy(sa + r1, sb + r2, (size_t)(len - r2));
    FILE *f = fopen(fix_seg(a, 0), "wb");
    fwrite(sa, 1, (size_t)(r1 + len - r2), f);
    fclose(f);
    const char *needles[] = {"has seq 2 but is record 1", NULL};
    expect_refusal(a, ENLACE_ERR_CORRUPT, needles);
    free(sa);
    free(sb);
    fix_cleanup(a);
    fix_cleanup(b);
}

/* ---- rollback ------------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    char *s = fix_read_file(from);
    long n = fix_file_size(from);
    FILE *f = fopen(to, "wb");
    assert_int_equal(fwrite(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(s);
}

static void test_rollback_to_old_segments_is_refused(void **state)
{
    (void)state;
    char dir[256], backup[600];
    const uint64_t ckpt[] = {20, 0};
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 20, 200, ckpt);
    snprintf(backup, sizeof(backup), "%s.seg0", dir);
    copy_file(fix_seg(dir, 0), backup); /* the operator's "backup" */

    log_options_t o = fix_options(dir);
    log_store_t *log = NULL;
    assert_int_equal(log_open(&o, &log, NULL, 0), ENLACE_OK);
    assert_int_equal(fix_append(log, 20, 200), ENLACE_OK);
    assert_int_equal(log_commit(log), ENLACE_OK);
    assert_int_equal(log_checkpoint(log, false, NULL), ENLACE_OK);
    log_close(&log);

    copy_file(backup, fix_seg(dir, 0)); /* put the old segment back */
    const char *needles[] = {"rollback",   "holds 20 records",           "signed 40 records",
                             "checkpoint", "records 20..39 are missing", NULL};
    expect_refusal(dir, ENLACE_ERR_ROLLBACK, needles);
    unlink(backup);
    fix_cleanup(dir);
}

static void test_changed_record_is_refused_and_located(void **state)
{
    (void)state;
    char dir[256];
    const uint64_t ckpt[] = {10, 20, 30, 0};
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 30, 200, ckpt);
    /* Change record 15's payload and recompute its CRC, as a tamperer would. */
    const char *seg = fix_seg(dir, 0);
    long off = fix_record_offset(seg, 15);
    fix_xor_byte(seg, off + 8 + 150, 0xff);
    int fd = open(seg, O_RDWR);
    uint8_t hdr[8], rec[1024];
    assert_int_equal(pread(fd, hdr, 8, off), 8);
    uint32_t n = wire_get_be32(hdr);
    assert_int_equal(pread(fd, rec, n, off + 8), (ssize_t)n);
    log_frame_header(hdr, rec, n);
    assert_int_equal(pwrite(fd, hdr, 8, off), 8);
    close(fd);
    const char *needles[] = {"rollback or tampering", "size 20", "has size 10", "seq 10..19", NULL};
    expect_refusal(dir, ENLACE_ERR_ROLLBACK, needles);
    fix_cleanup(dir);
}

static void test_checkpoint_by_another_key_or_origin_is_refused(void **state)
{
    (void)state;
    char dir[256];
    const uint64_t ckpt[] = {5, 0};
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 5, 10, ckpt);
    /* Same origin, another key. */
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    log_options_t o = fix_options(dir);
    o.checkpoint_key = other;
    log_store_t *log = NULL;
    char why[512];
    assert_int_equal(log_open(&o, &log, why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    assert_non_null(strstr(why, "not signed by the configured checkpoint key"));
    /* Another origin (the key name is the origin). */
    o = fix_options(dir);
    o.origin = "elsewhere.example/log";
    assert_int_equal(log_open(&o, &log, why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    assert_non_null(strstr(why, "is for origin \"" FIX_ORIGIN "\""));
    /* A read-only open checks against the pinned public key. */
    uint8_t other_pub[32];
    assert_int_equal(checkpoint_public_key(other, other_pub), ENLACE_OK);
    log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = other_pub};
    assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    ro.checkpoint_pub = fix_pub;
    assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_OK);
    log_close(&log);
    /* A garbled checkpoint file. */
    fix_write_file(fix_path(dir, LOG_CHECKPOINT_FILE), "garbage\n");
    assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_ERR_CORRUPT);
    EVP_PKEY_free(other);
    fix_cleanup(dir);
}

static void test_checkpoint_files_left_by_a_crash_are_repaired(void **state)
{
    (void)state;
    char dir[256];
    const uint64_t ckpt[] = {5, 10, 0};
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 10, 10, ckpt);
    /* Crash after the history append, before the rename: `checkpoint` is the older one. */
    char *history = fix_read_file(fix_path(dir, LOG_HISTORY_FILE));
    char *latest = fix_read_file(fix_path(dir, LOG_CHECKPOINT_FILE));
    char *first_end = strstr(history, LOG_HISTORY_SEP);
    *first_end = '\0';
    fix_write_file(fix_path(dir, LOG_CHECKPOINT_FILE), history);
    /* And a torn append after the last entry. */
    fix_append_bytes(fix_path(dir, LOG_HISTORY_FILE), "test.enlace.exa", 15);
    long hsize = fix_file_size(fix_path(dir, LOG_HISTORY_FILE));
    log_store_t *log = NULL;
    char why[512];
    assert_int_equal(try_open(dir, 0, &log, why, sizeof(why)), ENLACE_OK);
    assert_int_equal(log_checkpoint_size(log), 10);
    log_close(&log);
    char *now = fix_read_file(fix_path(dir, LOG_CHECKPOINT_FILE));
    assert_string_equal(now, latest);
    assert_int_equal(fix_file_size(fix_path(dir, LOG_HISTORY_FILE)), hsize - 15);
    free(now);
    free(history);
    free(latest);
    fix_cleanup(dir);
}

/* ---- log_scan ----------------------------------------------------------------------------- */

typedef struct {
    int n;
    log_scan_issue_t issues[8];
    char segments[8][64];
    uint64_t offsets[8];
    uint64_t records;
} scan_log_t;

static void on_problem(const log_scan_problem_t *p, void *user)
{
    scan_log_t *s = user;
    print_message("  %s %s @%" PRIu64 ": %s\n", log_scan_issue_str(p->issue), p->segment, p->offset,
                  p->detail);
    if (s->n < 8) {
        s->issues[s->n] = p->issue;
        snprintf(s->segments[s->n], 64, "%s", p->segment);
        s->offsets[s->n] = p->offset;
        s->n++;
    }
}

static enlace_err_t on_record(const log_scan_entry_t *e, void *user)
{
    scan_log_t *s = user;
    assert_true(fix_record_ok(e->data, e->len, e->seq));
    assert_int_equal(e->rec->seq, e->seq);
    s->records++;
    return e->seq == 1000 ? ENLACE_ERR_DENIED : ENLACE_OK;
}

static void test_scan_reports_every_problem_with_its_place(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 4096, 15, 1000, NULL); /* segments of 3: seg 0, 3, 6, 9, 12 */
    long off1 = fix_record_offset(fix_seg(dir, 3), 1);
    fix_xor_byte(fix_seg(dir, 3), off1 + 500, 0x04); /* bad CRC: record 4 */
    fix_truncate(fix_seg(dir, 6), fix_record_offset(fix_seg(dir, 6), 2) + 10); /* short */
    fix_write_file(fix_path(dir, "seg-oops.log"), "");
    fix_append_bytes(fix_seg(dir, 12), "\0\0\0\0\0\0\0\0\0\1", 10); /* zero length */
    scan_log_t s = {0};
    log_scan_report_t rep;
    assert_int_equal(log_scan(dir, on_record, on_problem, &s, &rep), ENLACE_OK);
    assert_int_equal(rep.segments, 5);
    assert_int_equal(rep.problems, 5);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.issues[0], LOG_SCAN_BAD_NAME);
    assert_int_equal(s.issues[1], LOG_SCAN_BAD_CRC);
    assert_string_equal(s.segments[1], "seg-00000000000000000003.log");
    assert_int_equal(s.offsets[1], off1);
    assert_int_equal(s.issues[2], LOG_SCAN_SHORT);
    assert_string_equal(s.segments[2], "seg-00000000000000000006.log");
    assert_int_equal(s.issues[3], LOG_SCAN_SEGMENT_GAP); /* record 8 was in the torn frame */
    assert_string_equal(s.segments[3], "seg-00000000000000000009.log");
    assert_int_equal(s.issues[4], LOG_SCAN_BAD_LENGTH);
    assert_string_equal(s.segments[4], "seg-00000000000000000012.log");
    assert_int_equal(rep.records, 13); /* all but 4 (bad CRC) and 8 (torn) */
    assert_int_equal(s.records, 13);
    /* A callback error stops the scan and is returned. */
    fix_cleanup(dir);
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 1200, 1, NULL);
    memset(&s, 0, sizeof(s));
    assert_int_equal(log_scan(dir, on_record, on_problem, &s, &rep), ENLACE_ERR_DENIED);
    assert_int_equal(s.records, 1001);
    assert_int_equal(log_scan(fix_path(dir, "nope"), NULL, NULL, NULL, &rep), ENLACE_ERR_NOT_FOUND);
    fix_cleanup(dir);
}

/* ---- zero tails (pre-zeroed space, log_segment.h) ------------------------------------------ */

static void append_zeros(const char *path, size_t n)
{
    uint8_t *z = calloc(1, n);
    fix_append_bytes(path, z, n);
    free(z);
}

typedef struct {
    const char *name; /* the tail */
    size_t zeros;     /* zero bytes after the last frame */
} zero_row_t;

static void test_zero_tail_in_the_last_segment_ends_its_data(void **state)
{
    (void)state;
    const zero_row_t rows[] = {
        {"1 zero byte", 1},
        {"7 zero bytes (less than a frame header)", 7},
        {"8 zero bytes (one all-zero header)", 8},
        {"4 KiB and 3 bytes of zeros", 4099},
        {"1 MiB of zeros (a prepared segment barely used)", 1u << 20},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        print_message("%s\n", rows[i].name);
        char dir[256], why[512];
        const uint64_t ckpt[] = {10, 0};
        fix_tmpdir(dir, sizeof(dir), "log");
        make_log(dir, 0, 12, 300, ckpt);
        const char *seg = fix_seg(dir, 0);
        long data = fix_file_size(seg);
        log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
        log_store_t *log = NULL;
        uint8_t root[32], again[32];
        assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_OK);
        assert_int_equal(log_root(log, 12, root), ENLACE_OK);
        log_close(&log);
        append_zeros(seg, rows[i].zeros);
        long size = data + (long)rows[i].zeros;
        assert_int_equal(fix_data_size(seg), data);

        /* The verifier's scan: no problem, every record. */
        log_scan_report_t rep;
        assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
        assert_int_equal(rep.problems, 0);
        assert_int_equal(rep.records, 12);
        assert_int_equal(rep.bytes, data);
        /* A read-only open: the same log, nothing to report. */
        assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_OK);
        assert_int_equal(log_size(log), 12);
        assert_int_equal(log_recovered_bytes(log), 0);
        assert_string_equal(log_recovery_detail(log), "");
        assert_int_equal(log_root(log, 12, again), ENLACE_OK);
        assert_memory_equal(root, again, 32);
        log_close(&log);
        /* A writer open keeps the zero tail and writes its next frames over it. */
        log_options_t o = fix_options(dir);
        o.no_prealloc = true;
        assert_int_equal(log_open(&o, &log, why, sizeof(why)), ENLACE_OK);
        assert_int_equal(log_size(log), 12);
        assert_int_equal(log_checkpoint_size(log), 10);
        assert_int_equal(log_recovered_bytes(log), 0);
        assert_int_equal(log_root(log, 12, again), ENLACE_OK);
        assert_memory_equal(root, again, 32);
        assert_int_equal(fix_file_size(seg), size);
        assert_int_equal(fix_append(log, 2, 300), ENLACE_OK);
        assert_int_equal(log_commit(log), ENLACE_OK);
        long written = fix_data_size(seg);
        assert_true(written > data);
        assert_int_equal(fix_file_size(seg), written > size ? written : size);
        /* A clean close cuts the zero tail. */
        log_close(&log);
        assert_int_equal(fix_file_size(seg), written);
        assert_int_equal(log_open(&o, &log, why, sizeof(why)), ENLACE_OK);
        fix_expect_records(log, 14);
        log_close(&log);
        fix_cleanup(dir);
    }
}

static void test_zeros_followed_by_data_are_damage(void **state)
{
    (void)state;
    char dir[256], why[1024];
    log_store_t *log = NULL;

    /* Zeros, then bytes that are no frame: a torn tail, cut zeros and all. */
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 12, 300, NULL);
    const char *seg = fix_seg(dir, 0);
    long data = fix_file_size(seg);
    append_zeros(seg, 100);
    fix_append_bytes(seg, "junk", 4);
    log_scan_report_t rep;
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 1); /* bad-length (0) at `data` */
    assert_int_equal(try_open(dir, 0, &log, why, sizeof(why)), ENLACE_OK);
    assert_int_equal(log_size(log), 12);
    assert_int_equal(log_recovered_bytes(log), 104);
    assert_non_null(strstr(log_recovery_detail(log), "zero bytes followed by other data"));
    log_close(&log);
    assert_int_equal(fix_file_size(seg), data);
    fix_cleanup(dir);

    /* Zeros, then a good frame of a later record: damage in the middle, refused. */
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 12, 300, NULL);
    seg = fix_seg(dir, 0);
    long r10 = fix_record_offset(seg, 10), r11 = fix_record_offset(seg, 11);
    long size = fix_file_size(seg);
    char *bytes = fix_read_file(seg);
    fix_truncate(seg, r10);
    append_zeros(seg, 64);
    fix_append_bytes(seg, bytes + r11, (size_t)(size - r11));
    free(bytes);
    char at[64];
    snprintf(at, sizeof(at), "offset %ld", r10);
    const char *needles[] = {"record 10", at, "zero bytes followed by other data",
                             "good records follow", NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);
    log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
    assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_ERR_CORRUPT);
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 1);
    assert_int_equal(rep.records, 10);
    fix_cleanup(dir);

    /* A frame cut short by a crash in pre-zeroed space: its header and some bytes, then
     * the zeros it was written over. A torn tail (bad CRC), cut with the zeros. */
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 0, 12, 300, NULL);
    seg = fix_seg(dir, 0);
    r11 = fix_record_offset(seg, 11);
    fix_truncate(seg, r11 + 40);
    append_zeros(seg, 8192);
    assert_int_equal(try_open(dir, 0, &log, why, sizeof(why)), ENLACE_OK);
    assert_int_equal(log_size(log), 11);
    assert_int_equal(log_recovered_bytes(log), 40 + 8192);
    print_message("  %s\n", log_recovery_detail(log));
    assert_non_null(strstr(log_recovery_detail(log), "CRC mismatch"));
    assert_non_null(strstr(log_recovery_detail(log), "zero"));
    log_close(&log);
    assert_int_equal(fix_file_size(seg), r11);
    fix_cleanup(dir);
}

/* Overwrites the 4 KiB page at `page` (a multiple of 4096) of path with `fill`. */
static void fill_page(const char *path, long page, uint8_t fill)
{
    uint8_t buf[4096];
    memset(buf, fill, sizeof(buf));
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, sizeof(buf), page), (ssize_t)sizeof(buf));
    close(fd);
}

/* A power failure during a commit: one page of the batch never reached the disk (zeros)
 * while later frames of it did. Past the last checkpoint it is an interrupted, never
 * acknowledged commit: cut like a torn tail, intact frames after it included. Inside
 * signed records it is refused; a page of anything but zeros is refused as damage. */
static void test_interrupted_commit_is_cut(void **state)
{
    (void)state;
    char dir[256], why[1024];
    for (int round = 0; round < 3; round++) {
        const uint64_t early[] = {20, 0}, all[] = {60, 0};
        fix_tmpdir(dir, sizeof(dir), "log");
        make_log(dir, 0, 60, 300, round == 1 ? all : early);
        const char *seg = fix_seg(dir, 0);
        long page = (fix_record_offset(seg, 40) / 4096 + 1) * 4096; /* lands in record >= 40 */
        uint64_t hit = 40;
        while (fix_record_offset(seg, hit + 1) <= page)
            hit++; /* the record the page starts in */
        long hit_off = fix_record_offset(seg, hit);
        assert_true(hit < 58); /* intact frames follow the page */
        fill_page(seg, page, round == 2 ? 0x5a : 0x00);
        log_store_t *log = NULL;
        if (round == 0) {
            assert_int_equal(try_open(dir, 0, &log, why, sizeof(why)), ENLACE_OK);
            assert_int_equal(log_size(log), hit);
            assert_non_null(strstr(log_recovery_detail(log), "power failure"));
            log_close(&log);
            assert_int_equal(fix_data_size(seg), hit_off);
        } else if (round == 1) {
            const char *needles[] = {"signed 60 records", "refusing to cut", NULL};
            expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);
        } else {
            const char *needles[] = {"good records follow", NULL};
            expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);
        }
        fix_cleanup(dir);
    }
}

static void test_zero_tail_in_an_earlier_segment_is_refused(void **state)
{
    (void)state;
    char dir[256];
    fix_tmpdir(dir, sizeof(dir), "log");
    make_log(dir, 4096, 20, 1000, NULL); /* 3 records per segment */
    const char *seg0 = fix_seg(dir, 0);
    long data = fix_file_size(seg0);
    append_zeros(seg0, 500);
    char at[64];
    snprintf(at, sizeof(at), "offset %ld", data);
    const char *needles[] = {"seg-00000000000000000000.log", "500 zero bytes", at,
                             "not the last segment",         "zero tail",      NULL};
    expect_refusal(dir, ENLACE_ERR_CORRUPT, needles);
    log_options_t ro = {.dir = dir, .origin = FIX_ORIGIN, .checkpoint_pub = fix_pub};
    log_store_t *log = NULL;
    char why[512];
    assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_ERR_CORRUPT);
    assert_non_null(strstr(why, "seg-00000000000000000000.log"));

    scan_log_t s = {0};
    log_scan_report_t rep;
    assert_int_equal(log_scan(dir, NULL, on_problem, &s, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 1);
    assert_int_equal(s.issues[0], LOG_SCAN_ZERO_TAIL);
    assert_string_equal(s.segments[0], "seg-00000000000000000000.log");
    assert_int_equal(s.offsets[0], data);
    assert_int_equal(rep.records, 20); /* nothing lost */

    /* The same zeros at the end of the last segment are its zero tail. */
    fix_truncate(seg0, data);
    append_zeros(fix_seg(dir, 18), 500);
    assert_int_equal(log_scan(dir, NULL, NULL, NULL, &rep), ENLACE_OK);
    assert_int_equal(rep.problems, 0);
    assert_int_equal(log_open(&ro, &log, why, sizeof(why)), ENLACE_OK);
    assert_int_equal(log_size(log), 20);
    log_close(&log);
    fix_cleanup(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torn_tails_are_cut_and_reported),
        cmocka_unit_test(test_damage_inside_signed_records_is_never_cut),
        cmocka_unit_test(test_crc_error_in_the_middle_is_refused),
        cmocka_unit_test(test_broken_length_in_the_middle_is_refused),
        cmocka_unit_test(test_damage_in_an_earlier_segment_is_refused),
        cmocka_unit_test(test_missing_segment_and_stray_files_are_refused),
        cmocka_unit_test(test_record_with_wrong_seq_is_refused),
        cmocka_unit_test(test_rollback_to_old_segments_is_refused),
        cmocka_unit_test(test_changed_record_is_refused_and_located),
        cmocka_unit_test(test_checkpoint_by_another_key_or_origin_is_refused),
        cmocka_unit_test(test_checkpoint_files_left_by_a_crash_are_repaired),
        cmocka_unit_test(test_scan_reports_every_problem_with_its_place),
        cmocka_unit_test(test_zero_tail_in_the_last_segment_ends_its_data),
        cmocka_unit_test(test_zeros_followed_by_data_are_damage),
        cmocka_unit_test(test_interrupted_commit_is_cut),
        cmocka_unit_test(test_zero_tail_in_an_earlier_segment_is_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_PKEY_free(fix_key);
    return rc;
}
