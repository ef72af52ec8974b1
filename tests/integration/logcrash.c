/* logcrash — helper of 10-log-crash.sh: a log writer to kill, and the check after.
 *
 *   logcrash write DIR KEY.pem       append and commit forever (fsync = always, 64 KiB
 *                                    segments, a checkpoint every 50 ms); after each
 *                                    log_commit returns, write the committed size as a
 *                                    line to stdout (write(2): nothing is buffered)
 *   logcrash verify DIR KEY.pem MIN [crash]
 *                                    open the log as the broker would (recovery), and
 *                                    check: at least MIN records (every size ever reported
 *                                    committed), each record's content, the root against
 *                                    an independent recomputation and the latest
 *                                    checkpoint, and a clean log_scan; then close the log,
 *                                    or with `crash` exit without closing it (a zero tail
 *                                    the writer had stays for the next writer to fill)
 * Record n carries a payload of (n * 7919) % 1200 bytes, each byte (n * 31 + i) & 0xff,
 * so every record can be checked after the crash.
 * Exit status 0 on success; 1 with a reason on stderr otherwise.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "codec.h"
#include "crypto.h"
#include "log_store.h"
#include "merkle.h"

#define ORIGIN "crash.test.enlace/log"

static size_t payload_len(uint64_t n)
{
    return (size_t)((n * 7919) % 1200);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "logcrash: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

static int do_write(log_store_t *log)
{
    static uint8_t payload[1200];
    uint8_t header[16] = {0}, sig[8] = {0};
    unsigned seed = (unsigned)getpid();
    uint64_t last_ckpt = 0;
    for (;;) {
        int batch = 1 + rand_r(&seed) % 40;
        for (int b = 0; b < batch; b++) {
            uint64_t n = log_size(log) + (uint64_t)b;
            size_t len = payload_len(n);
            for (size_t i = 0; i < len; i++) {
                payload[i] = (uint8_t)(n * 31 + i);
            }
            Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
            env.header = (ProtobufCBinaryData){sizeof(header), header};
            env.payload = (ProtobufCBinaryData){len, payload};
            env.signature = (ProtobufCBinaryData){sizeof(sig), sig};
            Enlace__Published pub = ENLACE__PUBLISHED__INIT;
            pub.session_id = n;
            pub.envelope = &env;
            Enlace__Record rec = ENLACE__RECORD__INIT;
            rec.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
            rec.published = &pub;
            uint64_t seq;
            if (log_append(log, &rec, &seq, NULL) != ENLACE_OK || seq != n) {
                return fail("append failed");
            }
        }
        if (log_commit(log) != ENLACE_OK) {
            return fail("commit failed");
        }
        /* Reported only now: these records are durable. */
        char line[32];
        int k = snprintf(line, sizeof(line), "%" PRIu64 "\n", log_size(log));
        if (write(1, line, (size_t)k) != k) {
            return 1;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
        if (now - last_ckpt >= 50) {
            if (log_checkpoint(log, false, NULL) != ENLACE_OK) {
                return fail("checkpoint failed");
            }
            last_ckpt = now;
        }
    }
}

static int do_verify(log_store_t *log, const char *dir, uint64_t min, const uint8_t pub[32])
{
    uint64_t n = log_size(log);
    if (n < min) {
        return fail("log holds %" PRIu64 " records but %" PRIu64 " were reported committed", n,
                    min);
    }
    merkle_t *m = merkle_new_compact();
    for (uint64_t s = 0; s < n; s++) {
        Enlace__Record *r = NULL;
        uint8_t *data = NULL, leaf[32];
        size_t len = 0;
        if (log_read(log, s, &data, &len) != ENLACE_OK ||
            log_record_unpack(data, len, &r) != ENLACE_OK) {
            return fail("record %" PRIu64 " unreadable", s);
        }
        const ProtobufCBinaryData *p = &r->published->envelope->payload;
        int ok = r->seq == s && r->published->session_id == s && p->len == payload_len(s);
        for (size_t i = 0; ok && i < p->len; i++) {
            ok = p->data[i] == (uint8_t)(s * 31 + i);
        }
        codec_free((ProtobufCMessage **)&r);
        merkle_leaf_hash(data, len, leaf);
        free(data);
        if (!ok || merkle_append(m, leaf) != ENLACE_OK) {
            return fail("record %" PRIu64 " has the wrong content", s);
        }
    }
    uint8_t mine[32], theirs[32], ck_root[32];
    merkle_root(m, n, mine);
    merkle_destroy(&m);
    if (log_root(log, n, theirs) != ENLACE_OK || memcmp(mine, theirs, 32) != 0) {
        return fail("tree root differs from the recomputation");
    }
    char *note = NULL;
    uint64_t ck_size = 0;
    if (log_latest_checkpoint(log, &note) == ENLACE_OK) {
        if (checkpoint_open(note, ORIGIN, pub, NULL, &ck_size, ck_root) != ENLACE_OK) {
            free(note);
            return fail("latest checkpoint does not verify");
        }
        free(note);
        uint8_t at[32];
        if (ck_size > n || log_root(log, ck_size, at) != ENLACE_OK ||
            memcmp(at, ck_root, 32) != 0) {
            return fail("latest checkpoint disagrees with the log");
        }
    }
    log_scan_report_t rep;
    if (log_scan(dir, NULL, NULL, NULL, &rep) != ENLACE_OK || rep.problems != 0 ||
        rep.records != n) {
        return fail("log_scan found problems after recovery");
    }
    printf("ok: %" PRIu64 " records (>= %" PRIu64 " reported), checkpoint %" PRIu64 ", %" PRIu64
           " bytes cut: %s\n",
           n, min, ck_size, log_recovered_bytes(log), log_recovery_detail(log));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "verify") != 0) ||
        (strcmp(argv[1], "verify") == 0 && argc < 5)) {
        fprintf(stderr,
                "usage: logcrash write DIR KEY.pem | logcrash verify DIR KEY.pem MIN [crash]\n");
        return 2;
    }
    EVP_PKEY *key = crypto_load_private_key(argv[3]);
    uint8_t pub[32];
    if (key == NULL || checkpoint_public_key(key, pub) != ENLACE_OK) {
        return fail("cannot load the Ed25519 key %s", argv[3]);
    }
    log_options_t o = {.dir = argv[2],
                       .segment_size = 65536,
                       .fsync = LOG_FSYNC_ALWAYS,
                       .origin = ORIGIN,
                       .checkpoint_key = key};
    log_store_t *log = NULL;
    char why[1024];
    enlace_err_t rc = log_open(&o, &log, why, sizeof(why));
    if (rc != ENLACE_OK) {
        EVP_PKEY_free(key);
        return fail("log_open: %s: %s", enlace_err_str(rc), why);
    }
    int status = strcmp(argv[1], "write") == 0
                     ? do_write(log)
                     : do_verify(log, argv[2], strtoull(argv[4], NULL, 10), pub);
    if (argc > 5 && strcmp(argv[5], "crash") == 0) {
        fflush(stdout);
        _exit(status);
    }
    log_close(&log);
    EVP_PKEY_free(key);
    return status;
}
