/* envelope — seal, verify and open case messages (see envelope.h). */
#include "envelope.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "cert.h"
#include "codec.h"
#include "crypto.h"
#include "validate.h"

/* Tells envelope_free() an Envelope came from envelope_seal(). */
#define SEALED_MAGIC 0x454e564cu /* "ENVL" */

/* What envelope_seal() hands out: the Envelope first, so &box->env converts back,
 * followed by the storage the completed Header fields point to. */
typedef struct {
    Enlace__Envelope env;                          /* the public part; buffers malloc'ed */
    uint32_t magic;                                /* SEALED_MAGIC while allocated */
    uint8_t message_id[ENVELOPE_MESSAGE_ID_LEN];   /* hdr->message_id when we made it */
    uint8_t payload_sha256[CRYPTO_SHA256_LEN];     /* hdr->payload_sha256 */
    uint8_t signer_cert_sha256[CRYPTO_SHA256_LEN]; /* hdr->signer_cert_sha256 */
} sealed_t;

enlace_err_t envelope_signature_input(const uint8_t *hdr, size_t len, uint8_t **out,
                                      size_t *out_len)
{
    static const char context[] = ENVELOPE_SIG_CONTEXT; /* sizeof includes the 0x00 */
    if (out == NULL || out_len == NULL || (hdr == NULL && len != 0)) {
        return ENLACE_ERR_INVALID;
    }
    *out = NULL;
    *out_len = 0;
    if (len > SIZE_MAX - sizeof(context)) {
        return ENLACE_ERR_INVALID;
    }
    uint8_t *buf = malloc(sizeof(context) + len);
    if (buf == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    memcpy(buf, context, sizeof(context));
    if (len) {
        memcpy(buf + sizeof(context), hdr, len);
    }
    *out = buf;
    *out_len = sizeof(context) + len;
    return ENLACE_OK;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Add one recipient to cms with Enlace's key-management parameters in place of
 * OpenSSL's defaults (PKCS#1 v1.5; ECDH with a SHA-1 KDF). CMS_KEY_PARAM makes OpenSSL
 * wait for the parameters instead of encoding its defaults at once; they are written
 * into the RecipientInfo by CMS_final. */
static enlace_err_t add_recipient(CMS_ContentInfo *cms, X509 *cert)
{
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    if (pub == NULL) {
        return ENLACE_ERR_INVALID;
    }
    bool rsa = EVP_PKEY_is_a(pub, "RSA");
    if (rsa ? EVP_PKEY_get_bits(pub) < CRYPTO_RSA_MIN_BITS : !EVP_PKEY_is_a(pub, "EC")) {
        return ENLACE_ERR_INVALID; /* small RSA, Ed25519 (signing only), others */
    }
    CMS_RecipientInfo *ri = CMS_add1_recipient_cert(cms, cert, CMS_KEY_PARAM);
    if (ri == NULL) {
        return ENLACE_ERR_INVALID;
    }
    EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
    if (pctx == NULL) {
        return ENLACE_ERR_CRYPTO;
    }
    if (rsa) {
        /* RFC 8017 RSAES-OAEP, RFC 4055 parameters: SHA-256, MGF1-SHA-256. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0) {
            return ENLACE_ERR_CRYPTO;
        }
    } else if (EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0) {
        /* RFC 5753 dhSinglePass-stdDH-sha256kdf-scheme (X9.63 KDF with SHA-256). */
        return ENLACE_ERR_CRYPTO;
    }
    return ENLACE_OK;
}

/* Encrypt plain to every recipient as DER AuthEnvelopedData (AES-256-GCM). */
static enlace_err_t cms_seal(const uint8_t *plain, size_t plain_len, X509 *const *recipients,
                             size_t n_recipients, uint8_t **der, size_t *der_len)
{
    enlace_err_t rc = ENLACE_ERR_CRYPTO;
    CMS_ContentInfo *cms = NULL;
    BIO *in = NULL;
    uint8_t *buf = NULL;

    /* A GCM cipher makes CMS_encrypt build AuthEnvelopedData (RFC 5083) rather than
     * EnvelopedData; CMS_PARTIAL defers encryption until the recipients are set. */
    cms = CMS_encrypt(NULL, NULL, EVP_aes_256_gcm(), CMS_BINARY | CMS_PARTIAL);
    if (cms == NULL) {
        goto cleanup;
    }
    for (size_t i = 0; i < n_recipients; i++) {
        if (recipients[i] == NULL) {
            rc = ENLACE_ERR_INVALID;
            goto cleanup;
        }
        rc = add_recipient(cms, recipients[i]);
        if (rc != ENLACE_OK) {
            goto cleanup;
        }
    }
    rc = ENLACE_ERR_CRYPTO;
    in = BIO_new_mem_buf(plain_len ? (const void *)plain : "", (int)plain_len);
    if (in == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    if (CMS_final(cms, in, NULL, CMS_BINARY) != 1) {
        goto cleanup;
    }
    int n = i2d_CMS_ContentInfo(cms, NULL);
    if (n <= 0) {
        goto cleanup;
    }
    buf = malloc((size_t)n);
    if (buf == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    unsigned char *p = buf;
    if (i2d_CMS_ContentInfo(cms, &p) != n) {
        goto cleanup;
    }
    *der = buf;
    *der_len = (size_t)n;
    buf = NULL;
    rc = ENLACE_OK;

cleanup:
    free(buf);
    BIO_free(in);
    CMS_ContentInfo_free(cms);
    return rc;
}

enlace_err_t envelope_seal(Enlace__Header *hdr, const uint8_t *plain, size_t plain_len,
                           X509 *const *recipients, size_t n_recipients, X509 *signer_cert,
                           EVP_PKEY *signer_key, Enlace__Envelope **out)
{
    enlace_err_t rc = ENLACE_ERR_INVALID;
    sealed_t *box = NULL;
    uint8_t *sig_input = NULL;
    size_t sig_input_len = 0;
    char why[128];

    if (out == NULL) {
        return ENLACE_ERR_INVALID;
    }
    *out = NULL;
    if (hdr == NULL || (plain == NULL && plain_len != 0) || recipients == NULL ||
        n_recipients == 0 || signer_cert == NULL || signer_key == NULL) {
        return ENLACE_ERR_INVALID;
    }
    if (plain_len > INT_MAX) {
        return ENLACE_ERR_TOO_LARGE; /* BIO_new_mem_buf takes an int */
    }
    /* Refuse to produce an envelope that could never verify. */
    if (!crypto_key_supported(signer_key) || X509_check_private_key(signer_cert, signer_key) != 1) {
        ERR_clear_error();
        return ENLACE_ERR_INVALID;
    }
    /* The caller's fields, restored if sealing fails so hdr never points into freed
     * memory. */
    const Enlace__Header saved = *hdr;

    box = calloc(1, sizeof(*box));
    if (box == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    enlace__envelope__init(&box->env);
    box->magic = SEALED_MAGIC;

    rc = cms_seal(plain, plain_len, recipients, n_recipients, &box->env.payload.data,
                  &box->env.payload.len);
    if (rc != ENLACE_OK) {
        goto cleanup;
    }

    if (hdr->message_id.len == 0) {
        rc = random_bytes(box->message_id, sizeof(box->message_id));
        if (rc != ENLACE_OK) {
            goto cleanup;
        }
        hdr->message_id.data = box->message_id;
        hdr->message_id.len = sizeof(box->message_id);
    }
    if (hdr->created_at_ms == 0) {
        hdr->created_at_ms = now_ms();
    }
    sha256(box->env.payload.data, box->env.payload.len, box->payload_sha256);
    hdr->payload_sha256.data = box->payload_sha256;
    hdr->payload_sha256.len = sizeof(box->payload_sha256);
    rc = cert_sha256(signer_cert, box->signer_cert_sha256);
    if (rc != ENLACE_OK) {
        goto cleanup;
    }
    hdr->signer_cert_sha256.data = box->signer_cert_sha256;
    hdr->signer_cert_sha256.len = sizeof(box->signer_cert_sha256);

    /* Sign only what envelope_verify() will accept. */
    if (validate_header(hdr, why, sizeof(why)) != ENLACE_OK) {
        rc = ENLACE_ERR_INVALID;
        goto cleanup;
    }
    size_t hdr_len = enlace__header__get_packed_size(hdr);
    box->env.header.data = malloc(hdr_len ? hdr_len : 1);
    if (box->env.header.data == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    box->env.header.len = enlace__header__pack(hdr, box->env.header.data);
    assert(box->env.header.len == hdr_len);

    rc = envelope_signature_input(box->env.header.data, box->env.header.len, &sig_input,
                                  &sig_input_len);
    if (rc != ENLACE_OK) {
        goto cleanup;
    }
    rc = crypto_sign(signer_key, sig_input, sig_input_len, &box->env.signature.data,
                     &box->env.signature.len);
    if (rc != ENLACE_OK) {
        goto cleanup;
    }
    *out = &box->env;
    box = NULL;

cleanup:
    free(sig_input);
    if (box != NULL) {
        *hdr = saved;
        Enlace__Envelope *env = &box->env;
        envelope_free(&env);
    }
    ERR_clear_error();
    return rc;
}

void envelope_free(Enlace__Envelope **env)
{
    if (env == NULL || *env == NULL) {
        return;
    }
    sealed_t *box = (sealed_t *)(void *)((char *)*env - offsetof(sealed_t, env));
    assert(box->magic == SEALED_MAGIC && "envelope_free on an envelope not from envelope_seal");
    free(box->env.header.data);
    free(box->env.payload.data);
    free(box->env.signature.data);
    box->magic = 0;
    free(box);
    *env = NULL;
}

enlace_err_t envelope_verify(const Enlace__Envelope *env, X509 *signer_cert,
                             Enlace__Header **hdr_out, char *why, size_t why_len)
{
    enlace_err_t rc = ENLACE_ERR_MALFORMED;
    Enlace__Header *hdr = NULL;
    uint8_t *sig_input = NULL;
    size_t sig_input_len = 0;
    uint8_t digest[CRYPTO_SHA256_LEN];
    char reason[200];

    if (hdr_out != NULL) {
        *hdr_out = NULL;
    }
    if (env == NULL || signer_cert == NULL) {
        enlace_why(why, why_len, "no envelope or signer certificate");
        return ENLACE_ERR_INVALID;
    }
    enlace_why(why, why_len, "ok");

    /* 1. The header is untrusted bytes: through the one bounded decoder. */
    reason[0] = '\0';
    rc = codec_decode_header(env->header.data, env->header.len, &hdr, reason, sizeof(reason));
    if (rc != ENLACE_OK) {
        enlace_why(why, why_len, "header: %s", reason[0] ? reason : enlace_err_str(rc));
        rc = rc == ENLACE_ERR_NOMEM ? ENLACE_ERR_NOMEM : ENLACE_ERR_MALFORMED;
        goto cleanup;
    }

    /* 2. The certificate we were given is the one the sender signed with. */
    rc = cert_sha256(signer_cert, digest);
    if (rc != ENLACE_OK) {
        enlace_why(why, why_len, "cannot hash the signer certificate");
        goto cleanup;
    }
    if (hdr->signer_cert_sha256.len != sizeof(digest) ||
        !ct_equal(hdr->signer_cert_sha256.data, digest, sizeof(digest))) {
        enlace_why(why, why_len, "signer certificate does not match header signer_cert_sha256");
        rc = ENLACE_ERR_BAD_CERT;
        goto cleanup;
    }

    /* 3. Signature over context || 0x00 || header, scheme chosen by the key. */
    rc = envelope_signature_input(env->header.data, env->header.len, &sig_input, &sig_input_len);
    if (rc != ENLACE_OK) {
        enlace_why(why, why_len, "out of memory");
        goto cleanup;
    }
    EVP_PKEY *pub = X509_get0_pubkey(signer_cert);
    if (crypto_verify(pub, sig_input, sig_input_len, env->signature.data, env->signature.len) !=
        ENLACE_OK) {
        enlace_why(why, why_len, "signature does not verify (%s key of the signer)",
                   crypto_key_scheme(pub));
        rc = ENLACE_ERR_BAD_SIGNATURE;
        goto cleanup;
    }

    /* 4. The payload is the one the header (and so the signature) fixes. */
    sha256(env->payload.data, env->payload.len, digest);
    if (hdr->payload_sha256.len != sizeof(digest) ||
        !ct_equal(hdr->payload_sha256.data, digest, sizeof(digest))) {
        enlace_why(why, why_len, "payload does not match header payload_sha256");
        rc = ENLACE_ERR_HASH_MISMATCH;
        goto cleanup;
    }

    rc = ENLACE_OK;
    if (hdr_out != NULL) {
        *hdr_out = hdr;
        hdr = NULL;
    }

cleanup:
    free(sig_input);
    codec_free((ProtobufCMessage **)&hdr);
    return rc;
}

enlace_err_t envelope_check_sender(const Enlace__Header *hdr, X509 *signer_cert, char *why,
                                   size_t why_len)
{
    char id[CERT_AGENCY_ID_BUF];
    if (hdr == NULL || signer_cert == NULL || hdr->sender == NULL) {
        enlace_why(why, why_len, "no header, sender or certificate");
        return ENLACE_ERR_BAD_CERT;
    }
    if (cert_agency_id(signer_cert, id, sizeof(id)) != ENLACE_OK) {
        enlace_why(why, why_len, "signer certificate names no valid agency");
        return ENLACE_ERR_BAD_CERT;
    }
    if (strcmp(id, hdr->sender) != 0) {
        enlace_why(why, why_len, "sender %.64s is not the signer's agency %s", hdr->sender, id);
        return ENLACE_ERR_BAD_CERT;
    }
    enlace_why(why, why_len, "ok");
    return ENLACE_OK;
}

enlace_err_t envelope_open(const Enlace__Envelope *env, X509 *my_cert, EVP_PKEY *my_key,
                           uint8_t **plain, size_t *plain_len)
{
    enlace_err_t rc = ENLACE_ERR_DECRYPT;
    CMS_ContentInfo *cms = NULL;
    BIO *out = NULL;

    if (plain == NULL || plain_len == NULL) {
        return ENLACE_ERR_INVALID;
    }
    *plain = NULL;
    *plain_len = 0;
    if (env == NULL || my_cert == NULL || my_key == NULL) {
        return ENLACE_ERR_INVALID;
    }
    if (env->payload.data == NULL || env->payload.len == 0 || env->payload.len > LONG_MAX) {
        goto cleanup;
    }
    const unsigned char *p = env->payload.data;
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)env->payload.len);
    if (cms == NULL || p != env->payload.data + env->payload.len) {
        goto cleanup; /* undecodable, truncated, or trailing bytes */
    }
    /* Only the authenticated type: plain EnvelopedData (CBC) has no integrity. */
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_id_smime_ct_authEnvelopedData) {
        goto cleanup;
    }
    /* A secure-memory BIO is wiped when freed: a failed decryption may already have
     * written unauthenticated plaintext into it. */
    out = BIO_new(BIO_s_secmem());
    if (out == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    /* my_cert selects our RecipientInfo; with NULL, OpenSSL would try every recipient
     * and could "succeed" with a random key (its Bleichenbacher countermeasure). */
    if (CMS_decrypt(cms, my_key, my_cert, NULL, out, CMS_BINARY) != 1) {
        goto cleanup;
    }
    BUF_MEM *mem = NULL;
    if (BIO_get_mem_ptr(out, &mem) != 1 || mem == NULL) {
        goto cleanup;
    }
    uint8_t *buf = malloc(mem->length ? mem->length : 1);
    if (buf == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    if (mem->length) {
        memcpy(buf, mem->data, mem->length);
    }
    *plain = buf;
    *plain_len = mem->length;
    rc = ENLACE_OK;

cleanup:
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}
