/* test_cert — specification of common/cert.{h,c}.
 *
 * Identity: the agency id comes from the SAN URI urn:enlace:agency:<id> first, else the
 * CN; ids that fail validate_agency_id are refused, and an invalid agency URI never
 * falls back to the CN. Certificates for the rules are made in the test (exact control
 * over SANs and CNs, embedded NULs included); the demo PKI (ENLACE_TEST_PKI) gives the
 * real-world rows.
 * Trust: the demo PKI's good, revoked, expired, foreign-CA and wrong-EKU certificates
 * verify or fail with distinct reasons; revocation covers the whole chain (an in-test CA
 * revokes its own intermediate); stale, foreign and missing CRLs are refused at load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "crypto.h"

/* ------------------------------------------------------------ test PKI */

static char pki[512];     /* the demo PKI directory */
static char tmp_dir[128]; /* our scratch directory (and the PKI when generated here) */

/* Use ENLACE_TEST_PKI, or generate the demo PKI with certs/enlace-pki.sh into a
 * temporary directory when the test runs outside ctest. */
static int pki_setup(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_cert.XXXXXX");
    if (mkdtemp(tmp_dir) == NULL) {
        return -1;
    }
    const char *env = getenv("ENLACE_TEST_PKI");
    if (env != NULL && *env != '\0') {
        snprintf(pki, sizeof(pki), "%s", env);
        return 0;
    }
    char src[400];
    const char *src_env = getenv("ENLACE_SOURCE_DIR");
    if (src_env != NULL && *src_env != '\0') {
        snprintf(src, sizeof(src), "%s", src_env);
    } else {
        /* __FILE__ is <root>/tests/unit/test_cert.c in a CMake build. */
        snprintf(src, sizeof(src), "%s", __FILE__);
        char *cut = strstr(src, "tests/unit/");
        if (cut == NULL) {
            return -1;
        }
        *cut = '\0';
        if (src[0] == '\0') {
            snprintf(src, sizeof(src), ".");
        }
    }
    snprintf(pki, sizeof(pki), "%s/pki", tmp_dir);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "bash '%s/certs/enlace-pki.sh' --out '%s' --force --quiet", src,
             pki);
    if (system(cmd) != 0) {
        fprintf(stderr, "test PKI: '%s' failed\n", cmd);
        return -1;
    }
    return 0;
}

static int pki_teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *pki_path(const char *rel)
{
    static char path[4][700];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", pki, rel);
    return p;
}

static const char *tmp_path(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", tmp_dir, name);
    return p;
}

/* ------------------------------------------------- in-test certificates */

#define MAX_NAMES 3

/* What make_cert puts in a certificate. */
typedef struct {
    const char *cn[MAX_NAMES];  /* subject CNs, NULL-terminated list */
    size_t cn_len[MAX_NAMES];   /* 0: strlen (else explicit, for embedded NULs) */
    const char *uri[MAX_NAMES]; /* SAN URIs, NULL-terminated list */
    size_t uri_len[MAX_NAMES];  /* 0: strlen */
    const char *dns;            /* a SAN dNSName, or NULL */
    bool ca;                    /* CA:TRUE with keyCertSign/cRLSign */
    int eku;                    /* NID_client_auth, NID_server_auth or 0 for none */
    long from_days, to_days;    /* validity relative to now */
    long serial;
} spec_t;

static void add_ext(X509 *c, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ex);
    assert_int_equal(X509_add_ext(c, ex, -1), 1);
    X509_EXTENSION_free(ex);
}

/* A certificate for key per spec, signed by issuer/issuer_key (self-signed when NULL). */
static X509 *make_cert(const spec_t *s, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
    X509 *c = X509_new();
    assert_non_null(c);
    assert_int_equal(X509_set_version(c, X509_VERSION_3), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(c), s->serial ? s->serial : 1);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Test", -1, -1, 0);
    for (int i = 0; i < MAX_NAMES && s->cn[i]; i++) {
        int len = s->cn_len[i] ? (int)s->cn_len[i] : -1;
        assert_int_equal(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                                    (const unsigned char *)s->cn[i], len, -1, 0),
                         1);
    }
    assert_int_equal(
        X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c)),
        1);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(c), (int)s->from_days, 0, NULL));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(c), (int)s->to_days, 0, NULL));
    assert_int_equal(X509_set_pubkey(c, key), 1);
    X509 *iss = issuer ? issuer : c;
    if (s->ca) {
        add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(c, iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(c, iss, NID_key_usage, "critical,digitalSignature,keyAgreement");
    }
    if (s->eku) {
        add_ext(c, iss, NID_ext_key_usage, s->eku == NID_client_auth ? "clientAuth" : "serverAuth");
    }
    if (s->uri[0] || s->dns) {
        GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
        assert_non_null(names);
        for (int i = 0; i < MAX_NAMES && s->uri[i]; i++) {
            GENERAL_NAME *gn = GENERAL_NAME_new();
            ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
            int len = s->uri_len[i] ? (int)s->uri_len[i] : (int)strlen(s->uri[i]);
            assert_int_equal(ASN1_STRING_set(ia5, s->uri[i], len), 1);
            GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
            sk_GENERAL_NAME_push(names, gn);
        }
        if (s->dns) {
            GENERAL_NAME *gn = GENERAL_NAME_new();
            ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
            assert_int_equal(ASN1_STRING_set(ia5, s->dns, -1), 1);
            GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
            sk_GENERAL_NAME_push(names, gn);
        }
        assert_int_equal(X509_add1_ext_i2d(c, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT),
                         1);
        GENERAL_NAMES_free(names);
    }
    assert_true(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return c;
}

/* A CRL of issuer revoking `revoked` (serial numbers, 0-terminated), valid from
 * from_days to to_days relative to now, signed by key. */
static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, const long *revoked, long from_days,
                          long to_days)
{
    X509_CRL *crl = X509_CRL_new();
    assert_non_null(crl);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
    ASN1_TIME *t = X509_time_adj_ex(NULL, (int)from_days, 0, NULL);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
    ASN1_TIME_free(t);
    t = X509_time_adj_ex(NULL, (int)to_days, 0, NULL);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
    ASN1_TIME_free(t);
    for (const long *r = revoked; r && *r; r++) {
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        ASN1_INTEGER_set(serial, *r);
        X509_REVOKED_set_serialNumber(rev, serial);
        ASN1_INTEGER_free(serial);
        t = X509_time_adj_ex(NULL, -1, 0, NULL);
        X509_REVOKED_set_revocationDate(rev, t);
        ASN1_TIME_free(t);
        assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
    }
    X509_CRL_sort(crl);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    return crl;
}

static EVP_PKEY *p256(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    return k;
}

/* Write certificates and CRLs (NULL-terminated lists) to one PEM file. */
static const char *write_pem(const char *name, X509 *const *certs, X509_CRL *const *crls)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (X509 *const *c = certs; c && *c; c++) {
        assert_int_equal(PEM_write_X509(f, *c), 1);
    }
    for (X509_CRL *const *c = crls; c && *c; c++) {
        assert_int_equal(PEM_write_X509_CRL(f, *c), 1);
    }
    fclose(f);
    return path;
}

/* ------------------------------------------------------------ agency id */

static void test_agency_id_demo_pki(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        enlace_err_t rc;
        const char *id;
    } rows[] = {
        {"agencies/MX.FGR.crt", ENLACE_OK, "MX.FGR"},
        {"agencies/US.FBI.crt", ENLACE_OK, "US.FBI"},
        {"agencies/CO.DIJIN.crt", ENLACE_OK, "CO.DIJIN"},
        {"agencies/BR.PF.crt", ENLACE_OK, "BR.PF"},
        {"agencies/GT.PNC.crt", ENLACE_OK, "GT.PNC"},
        {"agencies/INTERPOL.NCB-MEX.crt", ENLACE_OK, "INTERPOL.NCB-MEX"},
        {"agencies/EU.EDPS.crt", ENLACE_OK, "EU.EDPS"},
        {"bad/unknown.crt", ENLACE_OK, "XX.UNKNOWN"}, /* an id; the policy refuses it */
        {"broker.crt", ENLACE_ERR_BAD_CERT, ""},      /* CN=localhost is no agency id */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        X509 *c = cert_load_pem(pki_path(rows[i].file));
        assert_non_null(c);
        char id[CERT_AGENCY_ID_BUF];
        assert_int_equal(cert_agency_id(c, id, sizeof(id)), rows[i].rc);
        assert_string_equal(id, rows[i].id);
        X509_free(c);
    }
}

#define ID64 "A123456789B123456789C123456789D123456789E123456789F123456789GHIJ"

static void test_agency_id_rules(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        spec_t spec;
        enlace_err_t rc;
        const char *id;
    } rows[] = {
        {"SAN URI, no CN", {.uri = {"urn:enlace:agency:MX.FGR"}}, ENLACE_OK, "MX.FGR"},
        {"SAN URI wins over CN",
         {.cn = {"US.FBI"}, .uri = {"urn:enlace:agency:MX.FGR"}},
         ENLACE_OK,
         "MX.FGR"},
        {"CN when there is no SAN", {.cn = {"CO.DIJIN"}}, ENLACE_OK, "CO.DIJIN"},
        {"CN when the SAN has no URI",
         {.cn = {"GT.PNC"}, .dns = "pnc.example"},
         ENLACE_OK,
         "GT.PNC"},
        {"CN when SAN URIs are not agency URIs",
         {.cn = {"US.FBI"}, .uri = {"https://fbi.example/", "urn:other:agency:MX.FGR"}},
         ENLACE_OK,
         "US.FBI"},
        {"the same agency URI twice",
         {.uri = {"urn:enlace:agency:BR.PF", "urn:enlace:agency:BR.PF"}},
         ENLACE_OK,
         "BR.PF"},
        {"agency URI among others",
         {.uri = {"https://x.example/", "urn:enlace:agency:INTERPOL.NCB-MEX"}},
         ENLACE_OK,
         "INTERPOL.NCB-MEX"},
        {"64-character id", {.uri = {"urn:enlace:agency:" ID64}}, ENLACE_OK, ID64},
        /* Refusals. */
        {"invalid URI id does not fall back to a valid CN",
         {.cn = {"US.FBI"}, .uri = {"urn:enlace:agency:us.fbi"}},
         ENLACE_ERR_BAD_CERT,
         ""},
        {"empty URI id",
         {.cn = {"US.FBI"}, .uri = {"urn:enlace:agency:"}},
         ENLACE_ERR_BAD_CERT,
         ""},
        {"two different agency URIs",
         {.uri = {"urn:enlace:agency:MX.FGR", "urn:enlace:agency:US.FBI"}},
         ENLACE_ERR_BAD_CERT,
         ""},
        {"embedded NUL in the URI",
         {.cn = {"US.FBI"}, .uri = {"urn:enlace:agency:US.FBI\0.EVIL"}, .uri_len = {29}},
         ENLACE_ERR_BAD_CERT,
         ""},
        {"65-character id", {.uri = {"urn:enlace:agency:" ID64 "K"}}, ENLACE_ERR_BAD_CERT, ""},
        {"id with a space", {.uri = {"urn:enlace:agency:US FBI"}}, ENLACE_ERR_BAD_CERT, ""},
        {"upper-case prefix is not the agency URI (and no CN)",
         {.uri = {"URN:ENLACE:AGENCY:US.FBI"}},
         ENLACE_ERR_BAD_CERT,
         ""},
        {"lower-case CN", {.cn = {"us.fbi"}}, ENLACE_ERR_BAD_CERT, ""},
        {"CN starting with a dot", {.cn = {".FBI"}}, ENLACE_ERR_BAD_CERT, ""},
        {"CN with a space", {.cn = {"US FBI"}}, ENLACE_ERR_BAD_CERT, ""},
        {"CN with non-ASCII", {.cn = {"MX.FGR\xc3\x89"}}, ENLACE_ERR_BAD_CERT, ""},
        {"CN with embedded NUL", {.cn = {"US.FBI\0X"}, .cn_len = {8}}, ENLACE_ERR_BAD_CERT, ""},
        {"two CNs", {.cn = {"US.FBI", "MX.FGR"}}, ENLACE_ERR_BAD_CERT, ""},
        {"neither SAN URI nor CN", {.dns = "fbi.example"}, ENLACE_ERR_BAD_CERT, ""},
    };
    EVP_PKEY *key = p256();
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        spec_t s = rows[i].spec;
        s.to_days = 30;
        X509 *c = make_cert(&s, key, NULL, NULL);
        char id[CERT_AGENCY_ID_BUF];
        enlace_err_t rc = cert_agency_id(c, id, sizeof(id));
        if (rc != rows[i].rc || strcmp(id, rows[i].id) != 0) {
            fail_msg("%s: got %s \"%s\"", rows[i].what, enlace_err_str(rc), id);
        }
        X509_free(c);
    }
    /* Buffer too small for the id, NULL arguments. */
    spec_t s = {.uri = {"urn:enlace:agency:US.FBI"}, .to_days = 30};
    X509 *c = make_cert(&s, key, NULL, NULL);
    char small[CERT_AGENCY_ID_BUF - 1];
    assert_int_equal(cert_agency_id(c, small, sizeof(small)), ENLACE_ERR_INVALID);
    char id[CERT_AGENCY_ID_BUF];
    assert_int_equal(cert_agency_id(NULL, id, sizeof(id)), ENLACE_ERR_INVALID);
    assert_int_equal(cert_agency_id(c, NULL, 0), ENLACE_ERR_INVALID);
    X509_free(c);
    EVP_PKEY_free(key);
}

/* ------------------------------------------- loading, DER, fingerprints */

static void test_load(void **state)
{
    (void)state;
    STACK_OF(X509) *chain = cert_load_chain_pem(pki_path("agencies/US.FBI.crt"));
    assert_non_null(chain);
    assert_int_equal(sk_X509_num(chain), 2); /* leaf + intermediate */
    X509 *first = cert_load_pem(pki_path("agencies/US.FBI.crt"));
    assert_non_null(first);
    assert_int_equal(X509_cmp(first, sk_X509_value(chain, 0)), 0);
    X509_free(first);
    sk_X509_pop_free(chain, X509_free);

    chain = cert_load_chain_pem(pki_path("ca.pem"));
    assert_non_null(chain);
    assert_int_equal(sk_X509_num(chain), 2); /* root + intermediate */
    sk_X509_pop_free(chain, X509_free);

    /* Refusals: missing file, no certificate (a key, a CRL), a corrupt block. */
    assert_null(cert_load_pem("/nonexistent.crt"));
    assert_null(cert_load_chain_pem("/nonexistent.crt"));
    assert_null(cert_load_pem(NULL));
    assert_null(cert_load_chain_pem(NULL));
    assert_null(cert_load_pem(pki_path("agencies/US.FBI.key")));
    assert_null(cert_load_chain_pem(pki_path("agencies/US.FBI.key")));
    assert_null(cert_load_chain_pem(pki_path("crl.pem")));
    const char *bad = tmp_path("corrupt.pem");
    char cmd[1600];
    snprintf(cmd, sizeof(cmd),
             "{ cat '%s'; printf -- '-----BEGIN CERTIFICATE-----\\nAAAA\\n"
             "-----END CERTIFICATE-----\\n'; } > '%s'",
             pki_path("root.crt"), bad);
    assert_int_equal(system(cmd), 0);
    assert_null(cert_load_chain_pem(bad));
}

static void test_der_round_trip(void **state)
{
    (void)state;
    X509 *c = cert_load_pem(pki_path("agencies/MX.FGR.crt"));
    assert_non_null(c);
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(cert_to_der(c, &der, &len), ENLACE_OK);
    X509 *back = cert_from_der(der, len);
    assert_non_null(back);
    assert_int_equal(X509_cmp(c, back), 0);
    X509_free(back);

    /* Exactly one certificate: trailing bytes, truncation and garbage are refused. */
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_null(cert_from_der(longer, len + 1));
    free(longer);
    for (size_t cut = 0; cut < len; cut += 37) {
        assert_null(cert_from_der(der, cut));
    }
    assert_null(cert_from_der(der, len - 1));
    assert_null(cert_from_der((const uint8_t *)"\x30\x03\x02\x01\x01", 5));
    assert_null(cert_from_der(NULL, 10));
    free(der);
    X509_free(c);
}

static void test_fingerprint(void **state)
{
    (void)state;
    const char *file = pki_path("agencies/CO.DIJIN.crt");
    X509 *c = cert_load_pem(file);
    assert_non_null(c);
    uint8_t fp[32], want[32];
    assert_int_equal(cert_sha256(c, fp), ENLACE_OK);

    /* SHA-256 of the DER, as computed here... */
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(cert_to_der(c, &der, &len), ENLACE_OK);
    sha256(der, len, want);
    assert_memory_equal(fp, want, 32);
    free(der);

    /* ...and as the openssl CLI reports it. */
    char cmd[800], line[256] = "";
    snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s' -noout -fingerprint -sha256", file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    char hex[3 * 32 + 1];
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 3 * i, 4, "%02X%s", fp[i], i < 31 ? ":" : "");
    }
    assert_non_null(strstr(line, hex));
    assert_int_equal(cert_sha256(NULL, fp), ENLACE_ERR_INVALID);
    X509_free(c);
}

static void test_subject_text(void **state)
{
    (void)state;
    X509 *c = cert_load_pem(pki_path("agencies/US.FBI.crt"));
    char text[256];
    cert_subject_text(c, text, sizeof(text));
    assert_string_equal(text, "CN=US.FBI,O=Federal Bureau of Investigation,C=US");
    cert_subject_text(c, text, 6);
    assert_string_equal(text, "CN=US");
    cert_subject_text(NULL, text, sizeof(text));
    assert_string_equal(text, "(none)");
    X509_free(c);
}

/* --------------------------------------------------------- verification */

/* Verify a demo PKI file (leaf + chain as shipped) against a store. */
static enlace_err_t verify_file(X509_STORE *store, const char *rel, bool with_chain,
                                bool client_auth, char *why, size_t why_len)
{
    STACK_OF(X509) *chain = cert_load_chain_pem(pki_path(rel));
    assert_non_null(chain);
    enlace_err_t rc = cert_verify(store, sk_X509_value(chain, 0), with_chain ? chain : NULL,
                                  client_auth, why, why_len);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static void test_verify_demo_pki(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        bool with_chain, client_auth;
        enlace_err_t rc;
        const char *why; /* substring of the reason */
    } rows[] = {
        {"agencies/US.FBI.crt", true, true, ENLACE_OK, "ok"},
        {"agencies/INTERPOL.NCB-MEX.crt", true, true, ENLACE_OK, "ok"},
        {"agencies/EU.EDPS.crt", true, true, ENLACE_OK, "ok"},
        {"bad/unknown.crt", true, true, ENLACE_OK, "ok"}, /* valid; policy refuses it */
        {"broker.crt", true, false, ENLACE_OK, "ok"},
        {"bad/wrong-eku.crt", true, false, ENLACE_OK, "ok"}, /* fine when not a client */
        {"bad/revoked.crt", true, true, ENLACE_ERR_BAD_CERT, "certificate revoked at depth 0"},
        {"bad/expired.crt", true, true, ENLACE_ERR_BAD_CERT, "certificate has expired at depth 0"},
        {"bad/foreign.crt", true, true, ENLACE_ERR_BAD_CERT,
         "unable to get local issuer certificate"},
        {"bad/wrong-eku.crt", true, true, ENLACE_ERR_BAD_CERT,
         "unsuitable certificate purpose at depth 0 (CN=MX.FGR"},
        {"broker.crt", true, true, ENLACE_ERR_BAD_CERT, "unsuitable certificate purpose"},
        /* The bundle holds the intermediate too, so the leaf alone verifies. */
        {"agencies/US.FBI.crt", false, true, ENLACE_OK, "ok"},
    };
    char why[256];
    X509_STORE *store = cert_trust_load(pki_path("ca.pem"), pki_path("crl.pem"), why, sizeof(why));
    if (store == NULL) {
        fail_msg("cert_trust_load: %s", why);
    }
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enlace_err_t rc = verify_file(store, rows[i].file, rows[i].with_chain, rows[i].client_auth,
                                      why, sizeof(why));
        if (rc != rows[i].rc || strstr(why, rows[i].why) == NULL) {
            fail_msg("%s: got %s \"%s\"", rows[i].file, enlace_err_str(rc), why);
        }
    }
    X509_STORE_free(store);
}

/* The four ways a certificate is refused are told apart. */
static void test_verify_reasons_distinct(void **state)
{
    (void)state;
    static const char *files[] = {"bad/revoked.crt", "bad/expired.crt", "bad/foreign.crt",
                                  "bad/wrong-eku.crt"};
    char why[4][256];
    X509_STORE *store = cert_trust_load(pki_path("ca.pem"), pki_path("crl.pem"), NULL, 0);
    assert_non_null(store);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(verify_file(store, files[i], true, true, why[i], sizeof(why[i])),
                         ENLACE_ERR_BAD_CERT);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(why[i], why[j]);
        }
    }
    X509_STORE_free(store);
}

/* Without a CRL the store cannot know about revocation: documents the dependency. */
static void test_verify_without_crl(void **state)
{
    (void)state;
    char why[256];
    X509_STORE *store = cert_trust_load(pki_path("ca.pem"), NULL, why, sizeof(why));
    assert_non_null(store);
    assert_int_equal(verify_file(store, "bad/revoked.crt", true, true, why, sizeof(why)),
                     ENLACE_OK);
    assert_int_equal(verify_file(store, "bad/expired.crt", true, true, why, sizeof(why)),
                     ENLACE_ERR_BAD_CERT);
    X509_STORE_free(store);
}

/* An in-test hierarchy: root -> intermediate (serial 2) -> leaf (serial 3). */
typedef struct {
    EVP_PKEY *root_key, *inter_key, *leaf_key;
    X509 *root, *inter, *leaf;
} hierarchy_t;

static void hierarchy_make(hierarchy_t *h)
{
    h->root_key = p256();
    h->inter_key = p256();
    h->leaf_key = p256();
    spec_t root = {.cn = {"Test Root"}, .ca = true, .from_days = -10, .to_days = 100, .serial = 1};
    spec_t inter = {
        .cn = {"Test Intermediate"}, .ca = true, .from_days = -10, .to_days = 100, .serial = 2};
    spec_t leaf = {.cn = {"MX.FGR"},
                   .uri = {"urn:enlace:agency:MX.FGR"},
                   .eku = NID_client_auth,
                   .from_days = -1,
                   .to_days = 30,
                   .serial = 3};
    h->root = make_cert(&root, h->root_key, NULL, NULL);
    h->inter = make_cert(&inter, h->inter_key, h->root, h->root_key);
    h->leaf = make_cert(&leaf, h->leaf_key, h->inter, h->inter_key);
}

static void hierarchy_free(hierarchy_t *h)
{
    X509_free(h->root);
    X509_free(h->inter);
    X509_free(h->leaf);
    EVP_PKEY_free(h->root_key);
    EVP_PKEY_free(h->inter_key);
    EVP_PKEY_free(h->leaf_key);
}

static void test_crl_covers_whole_chain(void **state)
{
    (void)state;
    hierarchy_t h;
    hierarchy_make(&h);
    static const long none[] = {0};
    static const long inter_revoked[] = {2, 0};
    X509 *cas[] = {h.root, h.inter, NULL};
    char ca[256];
    snprintf(ca, sizeof(ca), "%s", write_pem("chain-ca.pem", cas, NULL));

    static const struct {
        const char *what;
        bool root_crl, root_revokes_inter, inter_crl;
        enlace_err_t rc;
        const char *why;
    } rows[] = {
        {"both CRLs, nothing revoked", true, false, true, ENLACE_OK, "ok"},
        {"intermediate revoked by the root", true, true, true, ENLACE_ERR_BAD_CERT,
         "certificate revoked at depth 1 (CN=Test Intermediate"},
        {"no CRL from the root", false, false, true, ENLACE_ERR_BAD_CERT,
         "unable to get certificate CRL at depth 1"},
        {"no CRL from the intermediate", true, false, false, ENLACE_ERR_BAD_CERT,
         "unable to get certificate CRL at depth 0"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        X509_CRL *crls[3] = {NULL, NULL, NULL};
        int n = 0;
        if (rows[i].root_crl) {
            crls[n++] = make_crl(h.root, h.root_key,
                                 rows[i].root_revokes_inter ? inter_revoked : none, -1, 7);
        }
        if (rows[i].inter_crl) {
            crls[n++] = make_crl(h.inter, h.inter_key, none, -1, 7);
        }
        const char *crl = write_pem("chain-crl.pem", NULL, crls);
        char why[256];
        X509_STORE *store = cert_trust_load(ca, crl, why, sizeof(why));
        if (store == NULL) {
            fail_msg("%s: load: %s", rows[i].what, why);
        }
        enlace_err_t rc = cert_verify(store, h.leaf, NULL, true, why, sizeof(why));
        if (rc != rows[i].rc || strstr(why, rows[i].why) == NULL) {
            fail_msg("%s: got %s \"%s\"", rows[i].what, enlace_err_str(rc), why);
        }
        X509_STORE_free(store);
        for (int j = 0; j < n; j++) {
            X509_CRL_free(crls[j]);
        }
    }
    hierarchy_free(&h);
}

static void test_trust_load_refusals(void **state)
{
    (void)state;
    hierarchy_t h;
    hierarchy_make(&h);
    static const long none[] = {0};
    X509 *cas[] = {h.root, h.inter, NULL};
    char ca[256];
    snprintf(ca, sizeof(ca), "%s", write_pem("refusal-ca.pem", cas, NULL));
    EVP_PKEY *impostor = p256();

    X509_CRL *stale = make_crl(h.root, h.root_key, none, -30, -1);
    X509_CRL *future = make_crl(h.root, h.root_key, none, 2, 30);
    X509_CRL *forged = make_crl(h.root, impostor, none, -1, 7); /* right name, wrong key */
    X509_CRL *good = make_crl(h.root, h.root_key, none, -1, 7);
    X509_CRL *stale_list[] = {good, stale, NULL};
    X509_CRL *future_list[] = {future, NULL};
    X509_CRL *forged_list[] = {forged, NULL};
    char stale_pem[256], future_pem[256], forged_pem[256];
    snprintf(stale_pem, sizeof(stale_pem), "%s", write_pem("stale.pem", NULL, stale_list));
    snprintf(future_pem, sizeof(future_pem), "%s", write_pem("future.pem", NULL, future_list));
    snprintf(forged_pem, sizeof(forged_pem), "%s", write_pem("forged.pem", NULL, forged_list));

    static const char *const no_file = "/nonexistent/file.pem";
    const struct {
        const char *what, *ca, *crl, *why;
    } rows[] = {
        {"no CA bundle", NULL, NULL, "no CA bundle"},
        {"missing CA bundle", no_file, NULL, "cannot read a PEM certificate"},
        {"CA bundle without a certificate", pki_path("agencies/US.FBI.key"), NULL,
         "cannot read a PEM certificate"},
        {"missing CRL file", ca, no_file, "cannot read PEM CRLs"},
        {"CRL file without a CRL", ca, pki_path("root.crt"), "holds no CRL"},
        {"stale CRL", ca, stale_pem, "has expired"},
        {"CRL not yet valid", ca, future_pem, "not yet valid"},
        {"CRL signed by another key", ca, forged_pem, "not signed by a certificate of the CA"},
        {"CRL of a CA outside the bundle", pki_path("ca.pem"), forged_pem,
         "not signed by a certificate of the CA"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char why[256] = "";
        X509_STORE *store = cert_trust_load(rows[i].ca, rows[i].crl, why, sizeof(why));
        if (store != NULL || strstr(why, rows[i].why) == NULL) {
            fail_msg("%s: got %s \"%s\"", rows[i].what, store ? "a store" : "NULL", why);
        }
    }
    X509_CRL_free(stale);
    X509_CRL_free(future);
    X509_CRL_free(forged);
    X509_CRL_free(good);
    EVP_PKEY_free(impostor);
    hierarchy_free(&h);
}

/* A bundle holding only the root: the intermediate must come with the leaf. */
static void test_untrusted_intermediates(void **state)
{
    (void)state;
    hierarchy_t h;
    hierarchy_make(&h);
    X509 *cas[] = {h.root, NULL};
    char ca[256];
    snprintf(ca, sizeof(ca), "%s", write_pem("root-only.pem", cas, NULL));
    char why[256];
    X509_STORE *store = cert_trust_load(ca, NULL, why, sizeof(why));
    assert_non_null(store);

    assert_int_equal(cert_verify(store, h.leaf, NULL, true, why, sizeof(why)), ENLACE_ERR_BAD_CERT);
    assert_non_null(strstr(why, "unable to get local issuer certificate at depth 0 (CN=MX"));
    STACK_OF(X509) *chain = sk_X509_new_null();
    sk_X509_push(chain, h.inter);
    assert_int_equal(cert_verify(store, h.leaf, chain, true, why, sizeof(why)), ENLACE_OK);
    /* A CA certificate (keyCertSign only) is no TLS client. */
    assert_int_equal(cert_verify(store, h.inter, NULL, true, why, sizeof(why)),
                     ENLACE_ERR_BAD_CERT);
    assert_non_null(strstr(why, "unsuitable certificate purpose"));
    sk_X509_free(chain);

    /* A certificate signed by the leaf (not a CA) is refused. */
    EVP_PKEY *k = p256();
    spec_t s = {
        .uri = {"urn:enlace:agency:US.FBI"}, .eku = NID_client_auth, .to_days = 30, .serial = 9};
    X509 *under_leaf = make_cert(&s, k, h.leaf, h.leaf_key);
    chain = sk_X509_new_null();
    sk_X509_push(chain, h.leaf);
    sk_X509_push(chain, h.inter);
    assert_int_equal(cert_verify(store, under_leaf, chain, true, why, sizeof(why)),
                     ENLACE_ERR_BAD_CERT);
    assert_non_null(strstr(why, "at depth 1 (CN=MX"));
    sk_X509_free(chain);
    X509_free(under_leaf);
    EVP_PKEY_free(k);
    X509_STORE_free(store);
    hierarchy_free(&h);
}

static void test_verify_invalid_arguments(void **state)
{
    (void)state;
    char why[128];
    X509 *c = cert_load_pem(pki_path("agencies/US.FBI.crt"));
    X509_STORE *store = cert_trust_load(pki_path("ca.pem"), NULL, why, sizeof(why));
    assert_int_equal(cert_verify(NULL, c, NULL, true, why, sizeof(why)), ENLACE_ERR_INVALID);
    assert_int_equal(cert_verify(store, NULL, NULL, true, why, sizeof(why)), ENLACE_ERR_INVALID);
    assert_int_equal(cert_verify(store, c, NULL, true, NULL, 0), ENLACE_OK); /* why optional */
    X509_STORE_free(store);
    X509_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agency_id_demo_pki),
        cmocka_unit_test(test_agency_id_rules),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_der_round_trip),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_subject_text),
        cmocka_unit_test(test_verify_demo_pki),
        cmocka_unit_test(test_verify_reasons_distinct),
        cmocka_unit_test(test_verify_without_crl),
        cmocka_unit_test(test_crl_covers_whole_chain),
        cmocka_unit_test(test_trust_load_refusals),
        cmocka_unit_test(test_untrusted_intermediates),
        cmocka_unit_test(test_verify_invalid_arguments),
    };
    return cmocka_run_group_tests_name("cert", tests, pki_setup, pki_teardown);
}
