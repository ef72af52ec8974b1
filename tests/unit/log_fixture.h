/* log_fixture — helpers shared by test_log_store.c and test_log_recover.c.
 *
 * Scratch directories, an Ed25519 checkpoint key, records of a chosen size whose
 * content is a function of their number (so a read can be checked), and small file
 * surgery (flip a byte, cut a file, append bytes) for the damage tests.
 */
#ifndef ENLACE_TEST_LOG_FIXTURE_H
#define ENLACE_TEST_LOG_FIXTURE_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "checkpoint.h"
#include "codec.h"
#include "log_store.h"
#include "merkle.h"

#define FIX_ORIGIN "test.enlace.example/log"

static EVP_PKEY *fix_key;   /* checkpoint signing key */
static uint8_t fix_pub[32]; /* its public half */

static inline int fix_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void fix_rm_rf(const char *dir)
{
    nftw(dir, fix_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory path (not created) under a new scratch directory. */
static inline void fix_tmpdir(char *out, size_t len, const char *leaf)
{
    char base[] = "/tmp/test_log.XXXXXX";
    if (mkdtemp(base) == NULL) {
        abort();
    }
    snprintf(out, len, "%s/%s", base, leaf);
}

/* Remove the scratch directory fix_tmpdir made for `dir` (its leaf may be nested). */
static inline void fix_cleanup(const char *dir)
{
    char base[512];
    snprintf(base, sizeof(base), "%s", dir);
    char *scratch = strstr(base, "/test_log.");
    char *slash = scratch != NULL ? strchr(scratch + 1, '/') : strrchr(base, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    fix_rm_rf(base);
}

static inline void fix_setup_key(void)
{
    if (fix_key == NULL) {
        fix_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        if (fix_key == NULL || checkpoint_public_key(fix_key, fix_pub) != ENLACE_OK) {
            abort();
        }
    }
}

static inline log_options_t fix_options(const char *dir)
{
    fix_setup_key();
    log_options_t o = {.dir = dir,
                       .segment_size = 0,
                       .fsync = LOG_FSYNC_NEVER,
                       .origin = FIX_ORIGIN,
                       .checkpoint_key = fix_key};
    return o;
}

/* A Published record whose envelope carries `payload` bytes derived from `n`. */
typedef struct {
    Enlace__Record rec;
    Enlace__Published pub;
    Enlace__Envelope env;
    uint8_t header[16];
    uint8_t sig[8];
    uint8_t *payload;
} fix_rec_t;

static inline void fix_rec_init(fix_rec_t *t, uint64_t n, size_t payload)
{
    enlace__record__init(&t->rec);
    enlace__published__init(&t->pub);
    enlace__envelope__init(&t->env);
    t->payload = malloc(payload ? payload : 1);
    for (size_t i = 0; i < payload; i++) {
        t->payload[i] = (uint8_t)(n * 31 + i);
    }
    memcpy(t->header, &n, sizeof(n));
    memcpy(t->header + 8, &n, sizeof(n));
    memset(t->sig, 0x5a, sizeof(t->sig));
    t->env.header = (ProtobufCBinaryData){sizeof(t->header), t->header};
    t->env.payload = (ProtobufCBinaryData){payload, t->payload};
    t->env.signature = (ProtobufCBinaryData){sizeof(t->sig), t->sig};
    t->pub.session_id = n;
    t->pub.envelope = &t->env;
    t->rec.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
    t->rec.published = &t->pub;
}

static inline void fix_rec_free(fix_rec_t *t)
{
    free(t->payload);
    t->payload = NULL;
}

/* Append `count` records numbered from the log's next seq; payload bytes each. */
static inline enlace_err_t fix_append(log_store_t *log, uint64_t count, size_t payload)
{
    for (uint64_t i = 0; i < count; i++) {
        fix_rec_t t;
        uint64_t seq = 0;
        /* Number the content by the seq the record will get. */
        uint64_t next = log_size(log) + i;
        fix_rec_init(&t, next, payload);
        enlace_err_t rc = log_append(log, &t.rec, &seq, NULL);
        fix_rec_free(&t);
        if (rc != ENLACE_OK) {
            return rc;
        }
        if (seq != next) {
            return ENLACE_ERR_INVALID;
        }
    }
    return ENLACE_OK;
}

/* True when `data` is the record written for seq (session_id == seq, payload pattern). */
static inline int fix_record_ok(const uint8_t *data, size_t len, uint64_t seq)
{
    Enlace__Record *r = NULL;
    if (log_record_unpack(data, len, &r) != ENLACE_OK) {
        return 0;
    }
    int ok = r->seq == seq && r->kind_case == ENLACE__RECORD__KIND_PUBLISHED &&
             r->published->session_id == seq;
    const ProtobufCBinaryData *p = &r->published->envelope->payload;
    for (size_t i = 0; ok && i < p->len; i++) {
        ok = p->data[i] == (uint8_t)(seq * 31 + i);
    }
    codec_free((ProtobufCMessage **)&r);
    return ok;
}

/* The log holds exactly n records, each reading back as fix_append wrote it. */
static inline void fix_expect_records(log_store_t *log, uint64_t n)
{
    assert_int_equal(log_size(log), n);
    for (uint64_t s = 0; s < n; s++) {
        uint8_t *d = NULL;
        size_t len = 0;
        assert_int_equal(log_read(log, s, &d, &len), ENLACE_OK);
        assert_true(fix_record_ok(d, len, s));
        free(d);
    }
}

static inline char *fix_path(const char *dir, const char *name)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
    return buf[k];
}

static inline char *fix_seg(const char *dir, uint64_t first)
{
    char name[LOG_SEGMENT_NAME_MAX];
    log_segment_name(first, name);
    return fix_path(dir, name);
}

static inline long fix_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Where the frames of a segment file end (its data size: less than its file size when
 * it has a zero tail). */
static inline long fix_data_size(const char *path)
{
    int fd = open(path, O_RDONLY);
    uint64_t n = 0;
    if (fd < 0 || log_segment_data_size(fd, &n) != ENLACE_OK) {
        abort();
    }
    close(fd);
    return (long)n;
}

static inline void fix_xor_byte(const char *path, long off, uint8_t mask)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    if (fd < 0 || pread(fd, &b, 1, off) != 1) {
        abort();
    }
    b ^= mask;
    if (pwrite(fd, &b, 1, off) != 1) {
        abort();
    }
    close(fd);
}

static inline void fix_truncate(const char *path, long size)
{
    if (truncate(path, size) != 0) {
        abort();
    }
}

static inline void fix_append_bytes(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
        abort();
    }
    close(fd);
}

static inline char *fix_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) {
        abort();
    }
    s[n] = '\0';
    fclose(f);
    return s;
}

static inline void fix_write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(s, 1, strlen(s), f) != strlen(s)) {
        abort();
    }
    fclose(f);
}

/* Offset of record `seq` in its segment, found by walking the frames from offset 0. */
static inline long fix_record_offset(const char *seg_path, uint64_t index_in_segment)
{
    int fd = open(seg_path, O_RDONLY);
    long off = 0;
    for (uint64_t i = 0; i < index_in_segment; i++) {
        uint8_t h[4];
        if (pread(fd, h, 4, off) != 4) {
            abort();
        }
        off += 8 + ((long)h[0] << 24 | (long)h[1] << 16 | (long)h[2] << 8 | h[3]);
    }
    close(fd);
    return off;
}

#endif
