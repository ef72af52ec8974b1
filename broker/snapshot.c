/* snapshot — immutable, reference-counted trust + policy generation. */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "cert.h"
#include "tls_server.h"

enlace_err_t file_sha256(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ENLACE_ERR_IO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    enlace_err_t rc = ENLACE_ERR_IO;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto done;
    unsigned char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    if (!ferror(f) && EVP_DigestFinal_ex(md, out, NULL) == 1)
        rc = ENLACE_OK;
done:
    EVP_MD_CTX_free(md);
    fclose(f);
    return rc;
}

enlace_err_t snapshot_load(const broker_config_t *cfg, snapshot_t **out, char *why, size_t why_len)
{
    *out = NULL;
    snapshot_t *s = calloc(1, sizeof *s);
    if (!s)
        return ENLACE_ERR_NOMEM;
    enlace_err_t rc = policy_load(cfg->policy_file, &s->policy, why, why_len);
    if (rc != ENLACE_OK)
        goto fail;
    /* cert_trust_load refuses a CRL that is stale, not yet valid or not signed
     * by a CA of the bundle: such a CRL would make every handshake fail, so it
     * is refused at load (the old one stays in force on reload). */
    X509_STORE *check = cert_trust_load(cfg->tls_ca, cfg->tls_crl, why, why_len);
    if (!check) {
        rc = ENLACE_ERR_BAD_CERT;
        goto fail;
    }
    X509_STORE_free(check);
    s->tls = tls_server_ctx_new(cfg->tls_certificate, cfg->tls_key, cfg->tls_ca, cfg->tls_crl, why,
                                why_len);
    if (!s->tls) {
        rc = ENLACE_ERR_BAD_CERT;
        goto fail;
    }
    file_sha256(cfg->tls_ca, s->ca_sha256);
    if (cfg->tls_crl && *cfg->tls_crl)
        file_sha256(cfg->tls_crl, s->crl_sha256);
    s->refs = 1;
    *out = s;
    return ENLACE_OK;
fail:
    policy_destroy(&s->policy);
    free(s);
    return rc;
}

snapshot_t *snapshot_ref(snapshot_t *s)
{
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
    return s;
}

void snapshot_unref(snapshot_t **sp)
{
    if (!sp || !*sp)
        return;
    snapshot_t *s = *sp;
    *sp = NULL;
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    SSL_CTX_free(s->tls);
    policy_destroy(&s->policy);
    free(s);
}
