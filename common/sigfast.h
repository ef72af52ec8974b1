/* sigfast — envelope_verify for a verifier that checks many envelopes per signer.
 *
 * The broker checks every envelope a session publishes against that session's
 * certificate; `enlace-audit verify --ca` checks every published message of a log, often
 * thousands per certificate. envelope_verify (envelope.h) sets up a digest-verify context, fetches
 * the digest and hashes the signer's certificate on every call: about 6 microseconds,
 * 11 % of a P-256 verification on the development machine. A sigfast key does that work
 * once per (thread, certificate): the certificate's SHA-256, and for ECDSA keys a
 * verification context set up once (EVP_PKEY_verify_init, signature digest set), so
 * that each envelope costs one hash of the signature input and one EVP_PKEY_verify of
 * the digest, which is what ECDSA-with-SHA-256/384 is (crypto.h: the scheme follows the
 * key; P-256 signs SHA-256, P-384 SHA-384). Other key types (Ed25519, RSA-PSS) go
 * through envelope_verify unchanged.
 *
 * The checks, their order, codes and reasons are those of envelope_verify:
 *   1. header decodes and validates (codec_decode_header)   -> ENLACE_ERR_MALFORMED
 *   2. header signer_cert_sha256 == SHA-256(certificate DER) -> ENLACE_ERR_BAD_CERT
 *   3. signature over ENVELOPE_SIG_CONTEXT || 0x00 || header -> ENLACE_ERR_BAD_SIGNATURE
 *   4. header payload_sha256 == SHA-256(payload)             -> ENLACE_ERR_HASH_MISMATCH
 * (tests/unit/test_audit_sigfast.c holds both to the same answers). A sigfast key holds
 * OpenSSL objects and must be used by one thread only.
 */
#ifndef ENLACE_SIGFAST_H
#define ENLACE_SIGFAST_H

#include <stddef.h>
#include <stdint.h>

#include "enlace.pb-c.h"
#include "enlace_err.h"

typedef struct sigfast_key sigfast_key_t;

/* A key for the certificate der[0..len). NULL when it does not parse or out of memory. */
sigfast_key_t *sigfast_key_new(const uint8_t *der, size_t len);

/* True when the key takes the fast path (ECDSA P-256/P-384), false when it falls back
 * to envelope_verify. */
int sigfast_key_is_fast(const sigfast_key_t *k);

/* Free; *k = NULL; safe twice. */
void sigfast_key_destroy(sigfast_key_t **k);

/* Verify env as signed with k's certificate: the contract of envelope_verify (codes,
 * why, *hdr_out to free with codec_free on success, NULL on error). */
enlace_err_t sigfast_verify(sigfast_key_t *k, const Enlace__Envelope *env, Enlace__Header **hdr_out,
                            char *why, size_t why_len);

#endif
