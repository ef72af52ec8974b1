/* cert — X.509 loading, agency identity and chain verification (see cert.h). */
#include "cert.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "validate.h"

_Static_assert(CERT_AGENCY_ID_BUF == AGENCY_ID_MAX_LEN + 1,
               "CERT_AGENCY_ID_BUF fits any agency id");

/* Reason of the most recent OpenSSL error (for why texts), then clear the queue. */
static const char *openssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(buf, len, "no OpenSSL detail");
    } else {
        ERR_error_string_n(e, buf, len);
    }
    ERR_clear_error();
    return buf;
}

X509 *cert_load_pem(const char *path)
{
    if (path == NULL) {
        return NULL;
    }
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        ERR_clear_error();
        return NULL;
    }
    X509 *c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (c == NULL) {
        ERR_clear_error();
    }
    return c;
}

STACK_OF(X509) * cert_load_chain_pem(const char *path)
{
    STACK_OF(X509) *sk = NULL;
    BIO *bio = NULL;
    bool ok = false;

    if (path == NULL) {
        return NULL;
    }
    bio = BIO_new_file(path, "r");
    sk = sk_X509_new_null();
    if (bio == NULL || sk == NULL) {
        goto cleanup;
    }
    for (;;) {
        X509 *c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (c == NULL) {
            /* The loop ends on "no start line" at end of file; anything else (a
             * corrupt block) fails the whole load. */
            unsigned long e = ERR_peek_last_error();
            ok = ERR_GET_REASON(e) == PEM_R_NO_START_LINE && sk_X509_num(sk) > 0;
            break;
        }
        if (!sk_X509_push(sk, c)) {
            X509_free(c);
            goto cleanup;
        }
    }

cleanup:
    ERR_clear_error();
    BIO_free(bio);
    if (!ok) {
        sk_X509_pop_free(sk, X509_free);
        sk = NULL;
    }
    return sk;
}

X509 *cert_from_der(const uint8_t *der, size_t len)
{
    if (der == NULL || len == 0 || len > LONG_MAX) {
        return NULL;
    }
    const unsigned char *p = der;
    X509 *c = d2i_X509(NULL, &p, (long)len);
    if (c != NULL && p != der + len) {
        X509_free(c); /* trailing bytes: the DER is not exactly one certificate */
        c = NULL;
    }
    if (c == NULL) {
        ERR_clear_error();
    }
    return c;
}

enlace_err_t cert_to_der(X509 *c, uint8_t **der, size_t *len)
{
    if (c == NULL || der == NULL || len == NULL) {
        return ENLACE_ERR_INVALID;
    }
    *der = NULL;
    *len = 0;
    int n = i2d_X509(c, NULL);
    if (n <= 0) {
        ERR_clear_error();
        return ENLACE_ERR_CRYPTO;
    }
    uint8_t *buf = malloc((size_t)n);
    if (buf == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    unsigned char *p = buf;
    if (i2d_X509(c, &p) != n) {
        free(buf);
        ERR_clear_error();
        return ENLACE_ERR_CRYPTO;
    }
    *der = buf;
    *len = (size_t)n;
    return ENLACE_OK;
}

enlace_err_t cert_sha256(X509 *c, uint8_t out[32])
{
    if (c == NULL || out == NULL) {
        return ENLACE_ERR_INVALID;
    }
    unsigned int n = 0;
    /* X509_digest hashes the DER encoding (i2d), i.e. exactly the bytes on the wire. */
    if (X509_digest(c, EVP_sha256(), out, &n) != 1 || n != 32) {
        ERR_clear_error();
        return ENLACE_ERR_CRYPTO;
    }
    return ENLACE_OK;
}

/* Copy an ASN.1 string holding an id candidate into out when it has no embedded NUL
 * and fits; returns false otherwise. */
static bool copy_id(const unsigned char *data, int len, char *out, size_t out_len)
{
    if (data == NULL || len <= 0 || (size_t)len >= out_len || memchr(data, 0, (size_t)len)) {
        return false;
    }
    memcpy(out, data, (size_t)len);
    out[len] = '\0';
    return true;
}

/* Look for SAN URIs urn:enlace:agency:<id>. Returns 0 when there is none, 1 when
 * exactly one id was found (copied to out), -1 when present but unusable (invalid,
 * too long, or two different ids). */
static int agency_id_from_san(X509 *c, char *out)
{
    int found = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) {
        ERR_clear_error(); /* absent (or undecodable, which verification catches) */
        return 0;
    }
    const size_t prefix_len = strlen(CERT_AGENCY_URI_PREFIX);
    char candidate[CERT_AGENCY_ID_BUF];
    for (int i = 0; i < sk_GENERAL_NAME_num(names) && found >= 0; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_URI) {
            continue;
        }
        const unsigned char *uri = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
        int uri_len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
        /* The prefix is compared exactly (lower case, as issued): one spelling only,
         * so two certificates cannot name one agency in different ways. */
        if (uri == NULL || uri_len < (int)prefix_len ||
            memcmp(uri, CERT_AGENCY_URI_PREFIX, prefix_len) != 0) {
            continue;
        }
        if (!copy_id(uri + prefix_len, uri_len - (int)prefix_len, candidate, sizeof(candidate)) ||
            !validate_agency_id(candidate)) {
            found = -1;
        } else if (found == 0) {
            memcpy(out, candidate, strlen(candidate) + 1); /* fits: out_len checked */
            found = 1;
        } else if (strcmp(out, candidate) != 0) {
            found = -1; /* two different agencies in one certificate: ambiguous */
        }
    }
    GENERAL_NAMES_free(names);
    return found;
}

enlace_err_t cert_agency_id(X509 *c, char *out, size_t out_len)
{
    if (out != NULL && out_len > 0) {
        out[0] = '\0';
    }
    if (c == NULL || out == NULL || out_len < CERT_AGENCY_ID_BUF) {
        return ENLACE_ERR_INVALID;
    }
    int san = agency_id_from_san(c, out);
    if (san == 1) {
        return ENLACE_OK;
    }
    if (san < 0) {
        out[0] = '\0';
        return ENLACE_ERR_BAD_CERT;
    }

    const X509_NAME *subject = X509_get_subject_name(c);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0) {
        return ENLACE_ERR_BAD_CERT; /* no CN, or several: no single identity */
    }
    const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, cn);
    char candidate[CERT_AGENCY_ID_BUF];
    bool ok =
        n > 0 && copy_id(utf8, n, candidate, sizeof(candidate)) && validate_agency_id(candidate);
    OPENSSL_free(utf8);
    ERR_clear_error();
    if (!ok) {
        return ENLACE_ERR_BAD_CERT;
    }
    memcpy(out, candidate, strlen(candidate) + 1);
    return ENLACE_OK;
}

void cert_subject_text(X509 *c, char *out, size_t out_len)
{
    if (out == NULL || out_len == 0) {
        return;
    }
    snprintf(out, out_len, "(none)");
    if (c == NULL) {
        return;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        ERR_clear_error();
        return;
    }
    if (X509_NAME_print_ex(bio, X509_get_subject_name(c), 0, XN_FLAG_RFC2253) >= 0) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n >= 0 && data != NULL) {
            snprintf(out, out_len, "%.*s", (int)(n > INT_MAX ? INT_MAX : n), data);
        }
    }
    BIO_free(bio);
    ERR_clear_error();
}

/* Read every CRL of path into *out. Returns the number read, -1 on a read error. */
static int load_crls(const char *path, STACK_OF(X509_CRL) * *out)
{
    int n = -1;
    BIO *bio = BIO_new_file(path, "r");
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    if (bio == NULL || crls == NULL) {
        goto cleanup;
    }
    for (;;) {
        X509_CRL *crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
        if (crl == NULL) {
            if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE) {
                n = sk_X509_CRL_num(crls);
            }
            break;
        }
        if (!sk_X509_CRL_push(crls, crl)) {
            X509_CRL_free(crl);
            break;
        }
    }

cleanup:
    BIO_free(bio);
    if (n < 0) {
        sk_X509_CRL_pop_free(crls, X509_CRL_free);
        crls = NULL;
    } else {
        ERR_clear_error(); /* only the expected end-of-file error is queued */
    }
    *out = crls;
    return n;
}

/* Check that crl is current and signed by one of the CA certificates. */
static bool crl_acceptable(X509_CRL *crl, STACK_OF(X509) * cas, const char *path, char *why,
                           size_t why_len)
{
    char issuer[256] = "?";
    X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
    const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    if (last == NULL || X509_cmp_current_time(last) >= 0) {
        enlace_why(why, why_len, "%s: CRL of %s is not yet valid", path, issuer);
        return false;
    }
    if (next != NULL && X509_cmp_current_time(next) <= 0) {
        enlace_why(why, why_len, "%s: CRL of %s has expired (past nextUpdate)", path, issuer);
        return false;
    }
    for (int i = 0; i < sk_X509_num(cas); i++) {
        X509 *ca = sk_X509_value(cas, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 &&
            X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1) {
            return true;
        }
    }
    ERR_clear_error();
    enlace_why(why, why_len, "%s: CRL of %s is not signed by a certificate of the CA bundle", path,
               issuer);
    return false;
}

X509_STORE *cert_trust_load(const char *ca_pem, const char *crl_pem, char *why, size_t why_len)
{
    X509_STORE *store = NULL;
    STACK_OF(X509) *cas = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    bool ok = false;
    char reason[256];

    enlace_why(why, why_len, "ok");
    if (ca_pem == NULL) {
        enlace_why(why, why_len, "no CA bundle given");
        return NULL;
    }
    cas = cert_load_chain_pem(ca_pem);
    if (cas == NULL) {
        enlace_why(why, why_len, "%s: cannot read a PEM certificate", ca_pem);
        goto cleanup;
    }
    store = X509_STORE_new();
    if (store == NULL) {
        enlace_why(why, why_len, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < sk_X509_num(cas); i++) {
        if (X509_STORE_add_cert(store, sk_X509_value(cas, i)) != 1) {
            enlace_why(why, why_len, "%s: certificate %d: %s", ca_pem, i + 1,
                       openssl_reason(reason, sizeof(reason)));
            goto cleanup;
        }
    }
    if (crl_pem != NULL) {
        int n = load_crls(crl_pem, &crls);
        if (n <= 0) {
            enlace_why(why, why_len, "%s: %s", crl_pem,
                       n < 0 ? "cannot read PEM CRLs" : "holds no CRL");
            goto cleanup;
        }
        for (int i = 0; i < n; i++) {
            X509_CRL *crl = sk_X509_CRL_value(crls, i);
            if (!crl_acceptable(crl, cas, crl_pem, why, why_len)) {
                goto cleanup;
            }
            if (X509_STORE_add_crl(store, crl) != 1) {
                enlace_why(why, why_len, "%s: CRL %d: %s", crl_pem, i + 1,
                           openssl_reason(reason, sizeof(reason)));
                goto cleanup;
            }
        }
        /* CRL_CHECK alone checks only the leaf; CRL_CHECK_ALL covers intermediates. */
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }
    ok = true;

cleanup:
    sk_X509_pop_free(cas, X509_free);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    if (!ok) {
        X509_STORE_free(store);
        store = NULL;
        ERR_clear_error();
    }
    return store;
}

enlace_err_t cert_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) * chain, bool client_auth,
                         char *why, size_t why_len)
{
    enlace_err_t rc = ENLACE_ERR_BAD_CERT;
    X509_STORE_CTX *ctx = NULL;

    if (store == NULL || leaf == NULL) {
        enlace_why(why, why_len, "no certificate or trust store");
        return ENLACE_ERR_INVALID;
    }
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) {
        enlace_why(why, why_len, "out of memory");
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    if (client_auth && X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
        enlace_why(why, why_len, "cannot set purpose sslclient");
        rc = ENLACE_ERR_INVALID;
        goto cleanup;
    }
    if (X509_verify_cert(ctx) == 1) {
        enlace_why(why, why_len, "ok");
        rc = ENLACE_OK;
        goto cleanup;
    }
    int err = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    char subject[256];
    cert_subject_text(X509_STORE_CTX_get_current_cert(ctx), subject, sizeof(subject));
    if (err == X509_V_OK) {
        /* X509_verify_cert failed before examining the chain (internal error). */
        enlace_why(why, why_len, "verification failed: internal error");
    } else {
        enlace_why(why, why_len, "%s at depth %d (%s)", X509_verify_cert_error_string(err), depth,
                   subject);
    }

cleanup:
    X509_STORE_CTX_free(ctx);
    if (rc != ENLACE_OK) {
        ERR_clear_error();
    }
    return rc;
}
