/* bench_verify — envelope_verify throughput against the machine's signature ceiling.
 *
 * DESIGN.md section 8 asks for figures beside the machine's own ceiling. This measures,
 * for a 1 KiB payload sealed by an ECDSA P-256 sender:
 *   raw       EVP_DigestVerifyInit + EVP_DigestVerify of the same signature input
 *             (the ceiling: what any envelope check must at least cost);
 *   envelope  envelope_verify: bounded header decode + validation, signer certificate
 *             digest, signature, payload SHA-256;
 * each with 1 thread and with 2 threads, and prints the ratio envelope/raw, both per
 * second of wall time and per second of process CPU time (the latter is not skewed by
 * other load on the machine).
 *
 * Usage: bench_verify [seconds per measurement, default 2]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "codec.h"
#include "crypto.h"
#include "envelope.h"

#define PAYLOAD_LEN 1024
#define MAX_THREADS 2
#define ROUNDS 10 /* alternations of raw and envelope runs per thread count */

/* What every worker reads (shared, never written while workers run). */
typedef struct {
    const Enlace__Envelope *env; /* the sealed envelope */
    X509 *cert;                  /* the signer's certificate */
    EVP_PKEY *pub;               /* its public key (X509_get0_pubkey) */
    const uint8_t *input;        /* signature input: context || 0 || header */
    size_t input_len;
    double seconds; /* duration of one measurement */
} shared_t;

/* One worker's assignment and result. */
typedef struct {
    const shared_t *s;
    int envelope;      /* 1: envelope_verify, 0: raw EVP_DigestVerify */
    unsigned long ops; /* completed verifications */
    int failed;        /* a verification did not succeed */
} worker_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int raw_verify(const shared_t *s)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, s->pub) == 1 &&
             EVP_DigestVerify(ctx, s->env->signature.data, s->env->signature.len, s->input,
                              s->input_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    const shared_t *s = w->s;
    double end = now_s() + s->seconds;
    while (now_s() < end) {
        /* Check the clock every 16 operations: a verification takes ~50-100 us. */
        for (int i = 0; i < 16; i++) {
            int ok = w->envelope ? envelope_verify(s->env, s->cert, NULL, NULL, 0) == ENLACE_OK
                                 : raw_verify(s);
            if (!ok) {
                w->failed = 1;
                return NULL;
            }
            w->ops++;
        }
    }
    return NULL;
}

/* Totals of one kind of measurement. */
typedef struct {
    unsigned long ops; /* verifications */
    double wall;       /* elapsed seconds */
    double cpu;        /* process CPU seconds (all threads) */
} tally_t;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run `threads` workers of one kind for s->seconds and add to t. */
static void measure(const shared_t *s, int envelope, int threads, tally_t *t)
{
    pthread_t tid[MAX_THREADS];
    worker_t w[MAX_THREADS];
    double start = now_s(), cpu_start = cpu_s();
    for (int i = 0; i < threads; i++) {
        w[i] = (worker_t){.s = s, .envelope = envelope};
        if (pthread_create(&tid[i], NULL, work, &w[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        if (w[i].failed) {
            fprintf(stderr, "bench_verify: a verification failed\n");
            exit(1);
        }
        t->ops += w[i].ops;
    }
    t->wall += now_s() - start;
    t->cpu += cpu_s() - cpu_start;
}

/* A self-signed P-256 client certificate for agency id. */
static X509 *make_cert(EVP_PKEY *key, const char *id)
{
    X509 *c = X509_new();
    if (c == NULL) {
        return NULL;
    }
    X509_set_version(c, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                               (const unsigned char *)id, -1, -1, 0);
    X509_set_issuer_name(c, X509_get_subject_name(c));
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, key);
    if (X509_sign(c, key, EVP_sha256()) <= 0) {
        X509_free(c);
        return NULL;
    }
    return c;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0) {
        fprintf(stderr, "usage: bench_verify [seconds]\n");
        return 2;
    }
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *cert = key ? make_cert(key, "MX.FGR") : NULL;
    if (cert == NULL) {
        fprintf(stderr, "bench_verify: key/certificate generation failed\n");
        return 2;
    }
    uint8_t payload[PAYLOAD_LEN];
    if (random_bytes(payload, sizeof(payload)) != ENLACE_OK) {
        return 2;
    }
    char *recipients[] = {"US.FBI", "CO.DIJIN"};
    Enlace__Header hdr;
    enlace__header__init(&hdr);
    hdr.sender = "MX.FGR";
    hdr.topic = "alerts/trafficking";
    hdr.recipients = recipients;
    hdr.n_recipients = 2;
    hdr.message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_ALERT;
    hdr.tlp = ENLACE__TLP__TLP_AMBER;
    Enlace__Envelope *env = NULL;
    X509 *to[] = {cert};
    if (envelope_seal(&hdr, payload, sizeof(payload), to, 1, cert, key, &env) != ENLACE_OK) {
        fprintf(stderr, "bench_verify: envelope_seal failed\n");
        return 2;
    }
    shared_t s = {
        .env = env, .cert = cert, .pub = X509_get0_pubkey(cert), .seconds = seconds / ROUNDS};
    uint8_t *input = NULL;
    if (envelope_signature_input(env->header.data, env->header.len, &input, &s.input_len) !=
        ENLACE_OK) {
        return 2;
    }
    s.input = input;

    printf("bench_verify: ECDSA P-256, %d-byte plaintext, CMS payload %zu bytes, header %zu "
           "bytes, signature %zu bytes, %.1f s per measurement\n",
           PAYLOAD_LEN, env->payload.len, env->header.len, env->signature.len, seconds);
    /* Raw and envelope runs alternate in short rounds so that load from other processes
     * weighs on both alike; per CPU-second rates are immune to it altogether. */
    printf("%-8s %14s %18s %7s   %18s %18s %7s\n", "threads", "raw verify/s", "envelope_verify/s",
           "ratio", "raw /cpu-s", "envelope /cpu-s", "ratio");
    for (int threads = 1; threads <= MAX_THREADS; threads++) {
        tally_t raw = {0}, full = {0};
        for (int round = 0; round < ROUNDS; round++) {
            measure(&s, 0, threads, &raw);
            measure(&s, 1, threads, &full);
        }
        double raw_rate = (double)raw.ops / raw.wall, full_rate = (double)full.ops / full.wall;
        double raw_cpu = (double)raw.ops / raw.cpu, full_cpu = (double)full.ops / full.cpu;
        printf("%-8d %14.0f %18.0f %6.1f%%   %18.0f %18.0f %6.1f%%\n", threads, raw_rate, full_rate,
               100.0 * full_rate / raw_rate, raw_cpu, full_cpu, 100.0 * full_cpu / raw_cpu);
    }
    free(input);
    envelope_free(&env);
    X509_free(cert);
    EVP_PKEY_free(key);
    return 0;
}
