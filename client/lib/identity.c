/* identity — loading the client's certificate, key, trust store and pinned key (conn.h).
 *
 * Done once per handle, by the first enlace_connect(): every later (re)connect reuses
 * the loaded material. Each failure names the file, so a misconfigured client says
 * which path is wrong before it touches the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "cert.h"
#include "checkpoint.h"
#include "conn.h"
#include "crypto.h"

/* Pinned checkpoint key: a PEM SubjectPublicKeyInfo (Ed25519), or a note verifier key
 * "name+keyid+base64" as the Go/C2SP tools print it (then the name is pinned too). */
static enlace_err_t load_pinned_key(enlace_conn_t *conn, const char *path)
{
    char text[2048];
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return conn_fail(conn, ENLACE_ERR_INVALID, "cannot read checkpoint key %s", path);
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    if (strstr(text, "-----BEGIN") != NULL) {
        EVP_PKEY *k = crypto_load_public_key(path);
        enlace_err_t rc = k ? checkpoint_public_key(k, conn->pinned_key) : ENLACE_ERR_INVALID;
        EVP_PKEY_free(k);
        if (rc != ENLACE_OK)
            return conn_fail(conn, ENLACE_ERR_INVALID,
                             "checkpoint key %s is not an Ed25519 public key (PEM SPKI)", path);
    } else {
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
            text[--n] = '\0';
        if (note_parse_verifier_key(text, &conn->pinned_name, conn->pinned_key) != ENLACE_OK)
            return conn_fail(conn, ENLACE_ERR_INVALID,
                             "checkpoint key %s: neither a PEM public key nor a verifier key",
                             path);
    }
    conn->pinned = true;
    return ENLACE_OK;
}

enlace_err_t conn_load_identity(enlace_conn_t *conn)
{
    char why[512];
    const enlace_options_t *o = &conn->opts;
    conn->my_chain = cert_load_chain_pem(o->cert);
    if (conn->my_chain == NULL)
        return conn_fail(conn, ENLACE_ERR_INVALID, "cannot load certificate %s", o->cert);
    conn->my_cert = sk_X509_value(conn->my_chain, 0);
    X509_up_ref(conn->my_cert);
    conn->my_key = crypto_load_private_key(o->key);
    if (conn->my_key == NULL)
        return conn_fail(conn, ENLACE_ERR_INVALID, "cannot load private key %s (PEM, unencrypted)",
                         o->key);
    if (X509_check_private_key(conn->my_cert, conn->my_key) != 1) {
        ERR_clear_error();
        return conn_fail(conn, ENLACE_ERR_INVALID, "key %s does not belong to certificate %s",
                         o->key, o->cert);
    }
    if (cert_agency_id(conn->my_cert, conn->my_id, sizeof conn->my_id) != ENLACE_OK)
        return conn_fail(conn, ENLACE_ERR_INVALID, "certificate %s names no valid agency id",
                         o->cert);
    conn->trust = cert_trust_load(o->ca, o->crl, why, sizeof why);
    if (conn->trust == NULL)
        return conn_fail(conn, ENLACE_ERR_INVALID, "trust store: %s", why);
    if (o->checkpoint_key != NULL) {
        enlace_err_t rc = load_pinned_key(conn, o->checkpoint_key);
        if (rc != ENLACE_OK)
            return rc;
    }
    conn->ssl_ctx = transport_ctx_new(conn->trust, conn->my_cert, conn->my_chain, conn->my_key, why,
                                      sizeof why);
    if (conn->ssl_ctx == NULL)
        return conn_fail(conn, ENLACE_ERR_INVALID, "%s", why);
    conn->loaded = true;
    return ENLACE_OK;
}

void conn_unload_identity(enlace_conn_t *conn)
{
    SSL_CTX_free(conn->ssl_ctx);
    X509_STORE_free(conn->trust);
    X509_free(conn->my_cert);
    sk_X509_pop_free(conn->my_chain, X509_free);
    EVP_PKEY_free(conn->my_key);
    free(conn->pinned_name);
    conn->ssl_ctx = NULL;
    conn->trust = NULL;
    conn->my_cert = NULL;
    conn->my_chain = NULL;
    conn->my_key = NULL;
    conn->pinned_name = NULL;
    conn->loaded = false;
}
