/* sigcheck — parallel checks of published records' signatures (see sigcheck.h). */
#include "sigcheck.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "audit_util.h"
#include "cert.h"
#include "codec.h"
#include "envelope.h"
#include "sigfast.h"

/* Jobs travel in batches: one lock, and at most one wake-up, per batch rather than per
 * signature (a futex wake costs several microseconds in a VM: 10 % of an ECDSA verify).
 * A batch of 16 is about a millisecond of work. */
#define BATCH 16
/* Batches waiting for a worker: enough to keep every core busy across the reader's
 * bursts of non-published records, small enough to bound memory (a job holds one
 * envelope). */
#define QUEUE_CAP 64

/* A certificate carried by a published record. Immutable once the reader has filled it
 * in and queued a job that points to it, so workers read it without a lock. */
typedef struct {
    uint32_t id;                     /* index in the table (workers' per-thread cache index) */
    uint64_t seq;                    /* record that carries it */
    uint8_t *der;                    /* DER bytes (owned) */
    size_t der_len;                  /* their length */
    bool parsed;                     /* the DER parses as a certificate */
    bool usable;                     /* parses, chains to the bundle, names an agency */
    char agency[CERT_AGENCY_ID_BUF]; /* its agency id ("" if none) */
    char problem[300];               /* why it is not usable */
    uint64_t from_ms;                /* validity window of the whole chain: not before ... */
    uint64_t until_ms;               /* ... not after (or revocation), inclusive */
    bool revoked;                    /* until_ms is a revocation date */
} cert_entry_t;

/* One signature to check. */
typedef struct {
    uint64_t seq;                         /* record seq */
    uint64_t offset;                      /* frame offset */
    char segment[LOG_SEGMENT_NAME_MAX];   /* segment name */
    const cert_entry_t *cert;             /* signer certificate (table entry) */
    size_t off;                           /* header || payload || signature at batch bytes + off */
    size_t hdr_len, payload_len, sig_len; /* the three parts */
} job_t;

/* Jobs handed to a worker together. Their envelope bytes share one buffer: one malloc
 * and one (cross-thread) free per batch instead of per signature. */
typedef struct {
    job_t jobs[BATCH]; /* the jobs */
    size_t n;          /* how many are used */
    uint8_t *bytes;    /* the jobs' envelope bytes (owned) */
    size_t used, cap;  /* bytes used and allocated */
} batch_t;

struct sigcheck {
    X509_STORE *store;         /* trust store (borrowed), NULL: references only */
    sigcheck_fail_fn fail;     /* failure callback */
    void *user;                /* its argument */
    cert_entry_t **certs;      /* table in seq order (reader thread only) */
    size_t n_certs, cap_certs; /* its size and capacity */
    pthread_t *threads;        /* workers */
    unsigned n_threads;        /* how many were started */
    pthread_mutex_t lock;      /* guards the queue, counters and the callback */
    pthread_cond_t not_empty;  /* a job was queued or closing */
    pthread_cond_t not_full;   /* the queue drained to half: the reader may go on */
    bool reader_waiting;       /* the reader waits on not_full */
    pthread_cond_t idle;       /* queue empty and no job in progress */
    batch_t *queue[QUEUE_CAP]; /* ring buffer of full batches */
    size_t head, count;        /* first batch, number of batches */
    batch_t *filling;          /* batch the reader is filling (reader thread only) */
    unsigned busy;             /* jobs being processed */
    bool closing;              /* workers must exit once the queue is empty */
    sigcheck_stats_t stats;    /* counters */
};

static void report(sigcheck_t *s, uint64_t seq, const char *segment, uint64_t offset,
                   const char *kind, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Report a failure; takes the lock, so the callback is never run twice at once. */
static void report(sigcheck_t *s, uint64_t seq, const char *segment, uint64_t offset,
                   const char *kind, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    sigcheck_failure_t f = {
        .seq = seq, .segment = segment, .offset = offset, .kind = kind, .detail = detail};
    pthread_mutex_lock(&s->lock);
    s->stats.failed++;
    s->fail(&f, s->user);
    pthread_mutex_unlock(&s->lock);
}

/* ---- workers ---------------------------------------------------------------------------- */

/* A worker's own prepared keys, indexed by cert_entry_t.id: OpenSSL objects are never
 * shared between threads (X509_get0_pubkey caches inside the X509, verification contexts
 * are mutable). */
typedef struct {
    sigfast_key_t **own; /* prepared keys, NULL where not made yet */
    size_t cap;          /* size of own */
} worker_cache_t;

static sigfast_key_t *worker_key(worker_cache_t *wc, const cert_entry_t *c)
{
    if (c->id >= wc->cap) {
        size_t cap = wc->cap ? wc->cap : 16;
        while (cap <= c->id) {
            cap *= 2;
        }
        sigfast_key_t **p = realloc(wc->own, cap * sizeof(*p));
        if (p == NULL) {
            return NULL;
        }
        memset(p + wc->cap, 0, (cap - wc->cap) * sizeof(*p));
        wc->own = p;
        wc->cap = cap;
    }
    if (wc->own[c->id] == NULL) {
        wc->own[c->id] = sigfast_key_new(c->der, c->der_len);
    }
    return wc->own[c->id];
}

/* Check one signature; returns 1 when it holds, else 0 (the failure is reported). */
static int check_job(sigcheck_t *s, worker_cache_t *wc, const job_t *j, const uint8_t *buf)
{
    sigfast_key_t *key = worker_key(wc, j->cert);
    if (key == NULL) {
        report(s, j->seq, j->segment, j->offset, "bad-certificate",
               "cannot parse the signer certificate (out of memory?)");
        return 0;
    }
    Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
    env.header = (ProtobufCBinaryData){j->hdr_len, (uint8_t *)buf};
    env.payload = (ProtobufCBinaryData){j->payload_len, (uint8_t *)buf + j->hdr_len};
    env.signature = (ProtobufCBinaryData){j->sig_len, (uint8_t *)buf + j->hdr_len + j->payload_len};
    Enlace__Header *hdr = NULL;
    char why[256];
    enlace_err_t rc = sigfast_verify(key, &env, &hdr, why, sizeof(why));
    if (rc != ENLACE_OK) {
        const char *kind = rc == ENLACE_ERR_MALFORMED       ? "malformed-header"
                           : rc == ENLACE_ERR_BAD_CERT      ? "signer-mismatch"
                           : rc == ENLACE_ERR_HASH_MISMATCH ? "payload-hash"
                                                            : "bad-signature";
        report(s, j->seq, j->segment, j->offset, kind, "%s (certificate %s from seq %" PRIu64 ")",
               why, j->cert->agency[0] ? j->cert->agency : "?", j->cert->seq);
        return 0;
    }
    int good = 1;
    if (strcmp(hdr->sender, j->cert->agency) != 0) {
        report(s, j->seq, j->segment, j->offset, "sender-mismatch",
               "header sender %.64s is not the signer certificate's agency %s (certificate from "
               "seq %" PRIu64 ")",
               hdr->sender, j->cert->agency, j->cert->seq);
        good = 0;
    }
    codec_free((ProtobufCMessage **)&hdr);
    return good;
}

static void *worker_main(void *arg)
{
    sigcheck_t *s = arg;
    worker_cache_t wc = {0};
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->count == 0 && !s->closing) {
            pthread_cond_wait(&s->not_empty, &s->lock);
        }
        if (s->count == 0) {
            break; /* closing and drained */
        }
        batch_t *b = s->queue[s->head];
        s->head = (s->head + 1) % QUEUE_CAP;
        s->count--;
        s->busy++;
        if (s->reader_waiting && s->count <= QUEUE_CAP / 2) {
            pthread_cond_signal(&s->not_full);
        }
        pthread_mutex_unlock(&s->lock);

        uint64_t good = 0;
        for (size_t i = 0; i < b->n; i++) {
            good += check_job(s, &wc, &b->jobs[i], b->bytes + b->jobs[i].off);
        }
        free(b->bytes);
        free(b);

        pthread_mutex_lock(&s->lock);
        s->stats.checked += good;
        s->busy--;
        if (s->count == 0 && s->busy == 0) {
            pthread_cond_broadcast(&s->idle);
        }
    }
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < wc.cap; i++) {
        sigfast_key_destroy(&wc.own[i]);
    }
    free(wc.own);
    ERR_clear_error();
    OPENSSL_thread_stop();
    return NULL;
}

/* ---- certificates (reader thread) --------------------------------------------------------- */

static uint64_t asn1_ms(const ASN1_TIME *t, bool *ok)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        *ok = false;
        return 0;
    }
    time_t secs = timegm(&tm);
    return secs < 0 ? 0 : (uint64_t)secs * 1000;
}

/* Verification state shared with chain_cb through the context's app data. */
typedef struct {
    uint64_t revoked_ms;       /* earliest revocation date in the chain, UINT64_MAX if none */
    char revoked_subject[160]; /* whose */
} chain_state_t;

/* Revocation is judged against the record's time, not now: note the revocation date
 * and let the verification go on. Every other error stands. */
static int chain_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok || X509_STORE_CTX_get_error(ctx) != X509_V_ERR_CERT_REVOKED) {
        return ok;
    }
    chain_state_t *st = X509_STORE_CTX_get_app_data(ctx);
    X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
    X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
    X509_REVOKED *rev = NULL;
    bool good = true;
    uint64_t when = 0;
    if (crl != NULL && cur != NULL && X509_CRL_get0_by_cert(crl, &rev, cur) == 1 && rev) {
        when = asn1_ms(X509_REVOKED_get0_revocationDate(rev), &good);
    }
    if (!good) {
        return 0; /* a revocation without a readable date: refuse */
    }
    if (when < st->revoked_ms) {
        st->revoked_ms = when;
        cert_subject_text(cur, st->revoked_subject, sizeof(st->revoked_subject));
    }
    return 1;
}

/* Chain, purpose, revocation and validity window of c (x parsed from c->der). */
static void check_chain(sigcheck_t *s, cert_entry_t *c, X509 *x)
{
    chain_state_t st = {.revoked_ms = UINT64_MAX};
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx == NULL || X509_STORE_CTX_init(ctx, s->store, x, NULL) != 1 ||
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
        snprintf(c->problem, sizeof(c->problem), "cannot set up chain verification");
        goto done;
    }
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
    X509_STORE_CTX_set_app_data(ctx, &st);
    X509_STORE_CTX_set_verify_cb(ctx, chain_cb);
    if (X509_verify_cert(ctx) != 1) {
        char subject[160];
        cert_subject_text(X509_STORE_CTX_get_current_cert(ctx), subject, sizeof(subject));
        snprintf(c->problem, sizeof(c->problem),
                 "does not chain to the CA bundle: %s at depth %d (%s)",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)),
                 X509_STORE_CTX_get_error_depth(ctx), subject);
        goto done;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    c->from_ms = 0;
    c->until_ms = UINT64_MAX;
    bool ok = true;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *ci = sk_X509_value(chain, i);
        uint64_t nb = asn1_ms(X509_get0_notBefore(ci), &ok);
        uint64_t na = asn1_ms(X509_get0_notAfter(ci), &ok);
        c->from_ms = nb > c->from_ms ? nb : c->from_ms;
        c->until_ms = na < c->until_ms ? na : c->until_ms;
    }
    if (!ok) {
        snprintf(c->problem, sizeof(c->problem), "unreadable validity dates in the chain");
        goto done;
    }
    if (st.revoked_ms <= c->until_ms) {
        c->until_ms = st.revoked_ms;
        c->revoked = true;
        snprintf(c->problem, sizeof(c->problem), "revoked (%s)", st.revoked_subject);
    }
    c->usable = true;
done:
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
}

/* Add the certificate carried by record seq to the table. */
static cert_entry_t *add_cert(sigcheck_t *s, uint64_t seq, const uint8_t *der, size_t len)
{
    if (s->n_certs == s->cap_certs) {
        size_t cap = s->cap_certs ? s->cap_certs * 2 : 16;
        cert_entry_t **p = realloc(s->certs, cap * sizeof(*p));
        if (p == NULL) {
            return NULL;
        }
        s->certs = p;
        s->cap_certs = cap;
    }
    cert_entry_t *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->der = malloc(len ? len : 1)) == NULL) {
        free(c);
        return NULL;
    }
    memcpy(c->der, der, len);
    c->der_len = len;
    c->id = (uint32_t)s->n_certs;
    c->seq = seq;
    s->certs[s->n_certs++] = c;
    s->stats.certificates++;
    if (s->store == NULL) {
        return c; /* references only */
    }
    X509 *x = cert_from_der(der, len);
    if (x == NULL) {
        snprintf(c->problem, sizeof(c->problem), "the certificate does not parse as DER X.509");
        return c;
    }
    c->parsed = true;
    if (cert_agency_id(x, c->agency, sizeof(c->agency)) != ENLACE_OK) {
        snprintf(c->problem, sizeof(c->problem), "the certificate names no valid agency");
    } else {
        check_chain(s, c, x);
    }
    X509_free(x);
    return c;
}

/* The certificate carried by record seq (binary search: the table is in seq order). */
static const cert_entry_t *find_cert(const sigcheck_t *s, uint64_t seq)
{
    size_t lo = 0, hi = s->n_certs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->certs[mid]->seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < s->n_certs && s->certs[lo]->seq == seq ? s->certs[lo] : NULL;
}

/* Reader thread: hand the batch being filled to the workers (waits while the queue is
 * full, which bounds memory). */
static void push_batch(sigcheck_t *s)
{
    if (s->filling == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->count == QUEUE_CAP) {
        /* Full: sleep until half of it is done, not one wake-up per batch. */
        s->reader_waiting = true;
        while (s->count > QUEUE_CAP / 2) {
            pthread_cond_wait(&s->not_full, &s->lock);
        }
        s->reader_waiting = false;
    }
    s->queue[(s->head + s->count) % QUEUE_CAP] = s->filling;
    s->count++;
    pthread_cond_signal(&s->not_empty);
    pthread_mutex_unlock(&s->lock);
    s->filling = NULL;
}

static void free_batch(batch_t *b)
{
    if (b != NULL) {
        free(b->bytes);
        free(b);
    }
}

/* ---- public ----------------------------------------------------------------------------- */

sigcheck_t *sigcheck_new(X509_STORE *store, unsigned threads, sigcheck_fail_fn fail, void *user)
{
    sigcheck_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->store = store;
    s->fail = fail;
    s->user = user;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->not_empty, NULL);
    pthread_cond_init(&s->not_full, NULL);
    pthread_cond_init(&s->idle, NULL);
    if (store == NULL) {
        return s;
    }
    unsigned n = threads ? threads : audit_cpu_count();
    s->threads = calloc(n, sizeof(*s->threads));
    if (s->threads == NULL) {
        sigcheck_destroy(&s);
        return NULL;
    }
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&s->threads[i], NULL, worker_main, s) != 0) {
            sigcheck_destroy(&s);
            return NULL;
        }
        s->n_threads++;
    }
    return s;
}

enlace_err_t sigcheck_record(sigcheck_t *s, const log_scan_entry_t *e)
{
    const Enlace__Record *r = e->rec;
    if (r->kind_case != ENLACE__RECORD__KIND_PUBLISHED || r->published == NULL ||
        r->published->envelope == NULL) {
        return ENLACE_OK;
    }
    const Enlace__Published *p = r->published;
    s->stats.published++;
    const cert_entry_t *c = NULL;
    if (p->has_signer_cert) {
        if ((c = add_cert(s, e->seq, p->signer_cert.data, p->signer_cert.len)) == NULL) {
            return ENLACE_ERR_NOMEM;
        }
    } else if (p->has_cert_record_seq) {
        c = p->cert_record_seq < e->seq ? find_cert(s, p->cert_record_seq) : NULL;
        if (c == NULL) {
            report(s, e->seq, e->segment, e->offset, "certificate-ref",
                   "cert_record_seq %" PRIu64 " is not an earlier record carrying a certificate",
                   p->cert_record_seq);
            return ENLACE_OK;
        }
    } else {
        report(s, e->seq, e->segment, e->offset, "certificate-ref",
               "published record with neither signer_cert nor cert_record_seq");
        return ENLACE_OK;
    }
    if (s->store == NULL) {
        return ENLACE_OK;
    }
    if (!c->parsed) {
        report(s, e->seq, e->segment, e->offset, "bad-certificate",
               "signer certificate (from seq %" PRIu64 "): %s", c->seq, c->problem);
        return ENLACE_OK;
    }
    if (!c->usable) {
        report(s, e->seq, e->segment, e->offset, "bad-certificate",
               "signer certificate %s (from seq %" PRIu64 ") %s", c->agency[0] ? c->agency : "?",
               c->seq, c->problem);
    } else if (r->time_ms < c->from_ms || r->time_ms > c->until_ms) {
        char t[25], lim[25];
        audit_time_iso(r->time_ms, t);
        audit_time_iso(r->time_ms < c->from_ms ? c->from_ms : c->until_ms, lim);
        report(s, e->seq, e->segment, e->offset, "certificate-time",
               "logged at %s, %s the signer certificate %s (from seq %" PRIu64 ") %s %s", t,
               r->time_ms < c->from_ms ? "before" : "after", c->agency, c->seq,
               r->time_ms < c->from_ms ? "became valid at"
               : c->revoked            ? "was revoked at"
                                       : "expired at",
               lim);
    }
    /* Queue the signature check (done even when the certificate is unusable: the
     * report then also says whether the signature itself holds). */
    const Enlace__Envelope *env = p->envelope;
    job_t j = {.seq = e->seq, .offset = e->offset, .cert = c};
    snprintf(j.segment, sizeof(j.segment), "%s", e->segment);
    j.hdr_len = env->header.len;
    j.payload_len = env->payload.len;
    j.sig_len = env->signature.len;
    size_t total = j.hdr_len + j.payload_len + j.sig_len;
    if (s->filling == NULL && (s->filling = calloc(1, sizeof(batch_t))) == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    batch_t *b = s->filling;
    if (b->used + total > b->cap) {
        size_t cap = b->cap ? b->cap : 32768;
        while (cap < b->used + total) {
            cap *= 2;
        }
        uint8_t *grown = realloc(b->bytes, cap);
        if (grown == NULL) {
            return ENLACE_ERR_NOMEM;
        }
        b->bytes = grown;
        b->cap = cap;
    }
    j.off = b->used;
    if (j.hdr_len) {
        memcpy(b->bytes + b->used, env->header.data, j.hdr_len);
    }
    if (j.payload_len) {
        memcpy(b->bytes + b->used + j.hdr_len, env->payload.data, j.payload_len);
    }
    if (j.sig_len) {
        memcpy(b->bytes + b->used + j.hdr_len + j.payload_len, env->signature.data, j.sig_len);
    }
    b->used += total;
    b->jobs[b->n++] = j;
    if (s->filling->n == BATCH) {
        push_batch(s);
    }
    return ENLACE_OK;
}

void sigcheck_finish(sigcheck_t *s)
{
    push_batch(s);
    pthread_mutex_lock(&s->lock);
    while (s->n_threads > 0 && (s->count > 0 || s->busy > 0)) {
        pthread_cond_wait(&s->idle, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
}

void sigcheck_stats(sigcheck_t *s, sigcheck_stats_t *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}

unsigned sigcheck_threads(const sigcheck_t *s)
{
    return s->n_threads;
}

void sigcheck_destroy(sigcheck_t **sp)
{
    if (sp == NULL || *sp == NULL) {
        return;
    }
    sigcheck_t *s = *sp;
    pthread_mutex_lock(&s->lock);
    s->closing = true;
    pthread_cond_broadcast(&s->not_empty);
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < s->n_threads; i++) {
        pthread_join(s->threads[i], NULL);
    }
    /* Batches left only when no worker ever ran, or the reader stopped mid-batch. */
    for (size_t i = 0; i < s->count; i++) {
        free_batch(s->queue[(s->head + i) % QUEUE_CAP]);
    }
    free_batch(s->filling);
    for (size_t i = 0; i < s->n_certs; i++) {
        free(s->certs[i]->der);
        free(s->certs[i]);
    }
    free(s->certs);
    free(s->threads);
    pthread_cond_destroy(&s->not_empty);
    pthread_cond_destroy(&s->not_full);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *sp = NULL;
}
