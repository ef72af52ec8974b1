/* sigfast — envelope verification with per-thread prepared keys (see sigfast.h). */
#include "sigfast.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "codec.h"
#include "crypto.h"
#include "envelope.h"

struct sigfast_key {
    X509 *cert;         /* the signer certificate (own copy) */
    uint8_t fp[32];     /* SHA-256 of its DER */
    EVP_PKEY_CTX *vctx; /* ECDSA verification context, or NULL: use envelope_verify */
    EVP_MD *md;         /* digest of the scheme (SHA-256 / SHA-384), fetched once */
    EVP_MD_CTX *mdctx;  /* reused digest context */
};

sigfast_key_t *sigfast_key_new(const uint8_t *der, size_t len)
{
    sigfast_key_t *k = calloc(1, sizeof(*k));
    if (k == NULL || (k->cert = cert_from_der(der, len)) == NULL) {
        free(k);
        return NULL;
    }
    sha256(der, len, k->fp);
    EVP_PKEY *pub = X509_get0_pubkey(k->cert);
    const char *scheme = crypto_key_scheme(pub);
    const char *mdname = strcmp(scheme, "ECDSA-P256-SHA256") == 0   ? "SHA256"
                         : strcmp(scheme, "ECDSA-P384-SHA384") == 0 ? "SHA384"
                                                                    : NULL;
    if (mdname != NULL) {
        k->md = EVP_MD_fetch(NULL, mdname, NULL);
        k->mdctx = EVP_MD_CTX_new();
        k->vctx = EVP_PKEY_CTX_new(pub, NULL);
        if (k->md == NULL || k->mdctx == NULL || k->vctx == NULL ||
            EVP_PKEY_verify_init(k->vctx) != 1 ||
            EVP_PKEY_CTX_set_signature_md(k->vctx, k->md) != 1) {
            /* Not fatal: the slow path still gives the right answer. */
            EVP_PKEY_CTX_free(k->vctx);
            k->vctx = NULL;
        }
    }
    ERR_clear_error();
    return k;
}

int sigfast_key_is_fast(const sigfast_key_t *k)
{
    return k->vctx != NULL;
}

void sigfast_key_destroy(sigfast_key_t **k)
{
    if (k == NULL || *k == NULL) {
        return;
    }
    X509_free((*k)->cert);
    EVP_PKEY_CTX_free((*k)->vctx);
    EVP_MD_free((*k)->md);
    EVP_MD_CTX_free((*k)->mdctx);
    free(*k);
    *k = NULL;
}

/* digest = H(ENVELOPE_SIG_CONTEXT || 0x00 || header). Returns its length, 0 on failure. */
static unsigned input_digest(sigfast_key_t *k, const ProtobufCBinaryData *hdr,
                             uint8_t out[EVP_MAX_MD_SIZE])
{
    static const char ctx[] = ENVELOPE_SIG_CONTEXT; /* sizeof includes the 0x00 */
    unsigned n = 0;
    if (EVP_DigestInit_ex(k->mdctx, k->md, NULL) != 1 ||
        EVP_DigestUpdate(k->mdctx, ctx, sizeof(ctx)) != 1 ||
        (hdr->len > 0 && EVP_DigestUpdate(k->mdctx, hdr->data, hdr->len) != 1) ||
        EVP_DigestFinal_ex(k->mdctx, out, &n) != 1) {
        return 0;
    }
    return n;
}

enlace_err_t sigfast_verify(sigfast_key_t *k, const Enlace__Envelope *env, Enlace__Header **hdr_out,
                            char *why, size_t why_len)
{
    if (hdr_out != NULL) {
        *hdr_out = NULL;
    }
    if (k->vctx == NULL) {
        return envelope_verify(env, k->cert, hdr_out, why, why_len);
    }
    if (env == NULL) {
        enlace_why(why, why_len, "no envelope or signer certificate");
        return ENLACE_ERR_INVALID;
    }
    Enlace__Header *hdr = NULL;
    char reason[200] = "";
    uint8_t digest[EVP_MAX_MD_SIZE];
    enlace_err_t rc =
        codec_decode_header(env->header.data, env->header.len, &hdr, reason, sizeof(reason));
    if (rc != ENLACE_OK) {
        enlace_why(why, why_len, "header: %s", reason[0] ? reason : enlace_err_str(rc));
        return rc == ENLACE_ERR_NOMEM ? ENLACE_ERR_NOMEM : ENLACE_ERR_MALFORMED;
    }
    if (hdr->signer_cert_sha256.len != 32 || !ct_equal(hdr->signer_cert_sha256.data, k->fp, 32)) {
        enlace_why(why, why_len, "signer certificate does not match header signer_cert_sha256");
        rc = ENLACE_ERR_BAD_CERT;
        goto cleanup;
    }
    unsigned dlen = input_digest(k, &env->header, digest);
    /* 1 is the only success (0: wrong signature, < 0: malformed or internal error). */
    if (dlen == 0 || env->signature.len == 0 ||
        EVP_PKEY_verify(k->vctx, env->signature.data, env->signature.len, digest, dlen) != 1) {
        enlace_why(why, why_len, "signature does not verify (%s key of the signer)",
                   crypto_key_scheme(X509_get0_pubkey(k->cert)));
        rc = ENLACE_ERR_BAD_SIGNATURE;
        goto cleanup;
    }
    sha256(env->payload.data, env->payload.len, digest);
    if (hdr->payload_sha256.len != 32 || !ct_equal(hdr->payload_sha256.data, digest, 32)) {
        enlace_why(why, why_len, "payload does not match header payload_sha256");
        rc = ENLACE_ERR_HASH_MISMATCH;
        goto cleanup;
    }
    enlace_why(why, why_len, "ok");
    rc = ENLACE_OK;
    if (hdr_out != NULL) {
        *hdr_out = hdr;
        hdr = NULL;
    }
cleanup:
    ERR_clear_error();
    codec_free((ProtobufCMessage **)&hdr);
    return rc;
}
