/* sigcheck — sender signatures of published records, checked on all cores.
 *
 * `enlace-audit verify --ca` checks every published message as a recipient would
 * (DESIGN.md section 5), but against the certificate the log itself carries: the
 * Published record holds the signer's DER certificate the first time it appears and
 * later records refer to that record by cert_record_seq. For each record:
 *   1. the certificate reference resolves to an earlier record carrying a certificate
 *      (checked even without a trust store: it is part of the log's structure);
 *   2. the certificate chains to the CA bundle (+ CRLs), with EKU clientAuth, and was
 *      valid when the record was logged: the record's time lies inside every chain
 *      certificate's validity and before any revocation date the CRLs give. Chains are
 *      checked once per certificate with time checks off, and the resulting validity
 *      window is compared with each record's time, so an old log whose certificates
 *      have since expired still verifies, while a message logged after its sender's
 *      certificate expired or was revoked does not;
 *   3. envelope_verify (through sigfast.h, same checks): header decodes and validates,
 * signer_cert_sha256 matches the certificate, the signature over "enlace-envelope-v1\0" || header
 * verifies, payload_sha256 matches;
 *   4. the header's sender is the certificate's agency id.
 * Steps 1-2 run in the calling thread (the log reader), in log order; steps 3-4 on
 * worker threads, each with its own parsed X509/EVP_PKEY objects, fed through a bounded
 * queue (the reader blocks when the workers fall behind, so memory stays bounded).
 *
 * Failures are reported through a callback, serialised by an internal mutex, from the
 * reader or a worker thread; their order across threads is not the log order (the
 * caller sorts by seq).
 */
#ifndef ENLACE_AUDIT_SIGCHECK_H
#define ENLACE_AUDIT_SIGCHECK_H

#include <stdint.h>

#include <openssl/x509.h>

#include "enlace_err.h"
#include "log_segment.h"

typedef struct sigcheck sigcheck_t;

/* One failed check. Borrowed for the duration of the callback. */
typedef struct {
    uint64_t seq;        /* seq of the published record */
    const char *segment; /* its segment file name */
    uint64_t offset;     /* its frame's byte offset */
    const char *kind;    /* stable name: "certificate-ref", "bad-certificate",
                            "certificate-time", "malformed-header", "signer-mismatch",
                            "bad-signature", "payload-hash", "sender-mismatch" */
    const char *detail;  /* sentence */
} sigcheck_failure_t;

typedef void (*sigcheck_fail_fn)(const sigcheck_failure_t *f, void *user);

/* Counters (sigcheck_stats). */
typedef struct {
    uint64_t published;    /* published records seen */
    uint64_t checked;      /* signatures verified good */
    uint64_t failed;       /* failures reported */
    uint64_t certificates; /* distinct certificate records */
} sigcheck_stats_t;

/* A checker. store (borrowed, may be NULL) is the trust store from cert_trust_load; with
 * NULL only step 1 is done and no thread is started. threads: workers (0 = one per
 * online processor). fail is called for each failure (required).
 * Returns NULL when out of memory or a thread cannot start. */
sigcheck_t *sigcheck_new(X509_STORE *store, unsigned threads, sigcheck_fail_fn fail, void *user);

/* Reader thread: account for one record of the scan (records of other kinds are
 * ignored), in log order. Returns ENLACE_OK or ENLACE_ERR_NOMEM. */
enlace_err_t sigcheck_record(sigcheck_t *s, const log_scan_entry_t *entry);

/* Reader thread: wait until every queued check is done. */
void sigcheck_finish(sigcheck_t *s);

/* Counters so far (exact after sigcheck_finish). */
void sigcheck_stats(sigcheck_t *s, sigcheck_stats_t *out);

/* Number of worker threads (0 without a store). */
unsigned sigcheck_threads(const sigcheck_t *s);

/* Stop the workers (after finishing the queue), free everything, *s = NULL. Safe twice. */
void sigcheck_destroy(sigcheck_t **s);

#endif
