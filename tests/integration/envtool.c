/* envtool — drive common/envelope from the command line for interoperability tests.
 *
 * Used by tests/integration/20-envelope-openssl.sh to check Enlace envelopes against the
 * openssl CLI in both directions. Not an installed tool.
 *
 *   envtool seal --cert S.crt --key S.key --recip R.crt [--recip R2.crt ...]
 *                --in PLAIN --out ENV [--cms P.der] [--siginput SI] [--sig SIG]
 *       Seal PLAIN from the holder of S.crt (sender = its agency id, recipients = the
 *       recipients' agency ids) and write the packed Envelope, and optionally its CMS
 *       payload (DER), the exact signature input and the signature, to files.
 *   envtool verify --signer S.crt --in ENV
 *       envelope_verify; prints "ok" or "<CODE>: <why>".
 *   envtool open --cert R.crt --key R.key (--in ENV | --cms P.der) --out PLAIN
 *       envelope_open of an Envelope, or of a bare CMS (e.g. from `openssl cms -encrypt`).
 * Exit status: 0 success, 1 refused (the code is printed), 2 usage or I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "codec.h"
#include "crypto.h"
#include "envelope.h"

#define MAX_RECIPIENTS 16

/* Parsed command line. */
typedef struct {
    const char *cmd;
    const char *cert, *key, *signer, *in, *out, *cms, *siginput, *sig;
    const char *recip[MAX_RECIPIENTS];
    size_t n_recip;
} args_t;

static int usage(void)
{
    fprintf(stderr, "usage: envtool seal|verify|open [options] (see envtool.c)\n");
    return 2;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) {
            fclose(f);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) {
            break;
        }
        cap *= 2;
        uint8_t *bigger = realloc(buf, cap);
        if (bigger == NULL) {
            free(buf);
        }
        buf = bigger;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    size_t n = len ? fwrite(data, 1, len, f) : 0;
    if (fclose(f) != 0 || n != len) {
        perror(path);
        return -1;
    }
    return 0;
}

static int parse(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof(*a));
    if (argc < 2) {
        return -1;
    }
    a->cmd = argv[1];
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) {
            return -1;
        }
        const char *opt = argv[i], *val = argv[i + 1];
        if (strcmp(opt, "--cert") == 0) {
            a->cert = val;
        } else if (strcmp(opt, "--key") == 0) {
            a->key = val;
        } else if (strcmp(opt, "--signer") == 0) {
            a->signer = val;
        } else if (strcmp(opt, "--in") == 0) {
            a->in = val;
        } else if (strcmp(opt, "--out") == 0) {
            a->out = val;
        } else if (strcmp(opt, "--cms") == 0) {
            a->cms = val;
        } else if (strcmp(opt, "--siginput") == 0) {
            a->siginput = val;
        } else if (strcmp(opt, "--sig") == 0) {
            a->sig = val;
        } else if (strcmp(opt, "--recip") == 0 && a->n_recip < MAX_RECIPIENTS) {
            a->recip[a->n_recip++] = val;
        } else {
            return -1;
        }
    }
    return 0;
}

static int cmd_seal(const args_t *a)
{
    int status = 2;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    X509 *recips[MAX_RECIPIENTS] = {0};
    char ids[MAX_RECIPIENTS][CERT_AGENCY_ID_BUF];
    char *id_ptrs[MAX_RECIPIENTS];
    char sender[CERT_AGENCY_ID_BUF];
    uint8_t *plain = NULL, *packed = NULL, *input = NULL;
    size_t plain_len = 0, input_len = 0;
    Enlace__Envelope *env = NULL;

    if (a->cert == NULL || a->key == NULL || a->in == NULL || a->out == NULL || a->n_recip == 0) {
        return usage();
    }
    cert = cert_load_pem(a->cert);
    key = crypto_load_private_key(a->key);
    if (cert == NULL || key == NULL || cert_agency_id(cert, sender, sizeof(sender)) != ENLACE_OK) {
        fprintf(stderr, "envtool: cannot load sender %s / %s\n", a->cert, a->key);
        goto cleanup;
    }
    for (size_t i = 0; i < a->n_recip; i++) {
        recips[i] = cert_load_pem(a->recip[i]);
        if (recips[i] == NULL || cert_agency_id(recips[i], ids[i], sizeof(ids[i])) != ENLACE_OK) {
            fprintf(stderr, "envtool: cannot load recipient %s\n", a->recip[i]);
            goto cleanup;
        }
        id_ptrs[i] = ids[i];
    }
    if (read_file(a->in, &plain, &plain_len) != 0) {
        goto cleanup;
    }
    Enlace__Header hdr;
    enlace__header__init(&hdr);
    hdr.sender = sender;
    hdr.topic = "alerts/interop";
    hdr.recipients = id_ptrs;
    hdr.n_recipients = a->n_recip;
    hdr.message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_CASE_MESSAGE;
    hdr.tlp = ENLACE__TLP__TLP_AMBER;
    enlace_err_t rc = envelope_seal(&hdr, plain, plain_len, recips, a->n_recip, cert, key, &env);
    if (rc != ENLACE_OK) {
        printf("%s: envelope_seal\n", enlace_err_str(rc));
        status = 1;
        goto cleanup;
    }
    size_t packed_len = enlace__envelope__get_packed_size(env);
    packed = malloc(packed_len);
    if (packed == NULL) {
        goto cleanup;
    }
    enlace__envelope__pack(env, packed);
    if (envelope_signature_input(env->header.data, env->header.len, &input, &input_len) !=
        ENLACE_OK) {
        goto cleanup;
    }
    if (write_file(a->out, packed, packed_len) != 0 ||
        (a->cms && write_file(a->cms, env->payload.data, env->payload.len) != 0) ||
        (a->siginput && write_file(a->siginput, input, input_len) != 0) ||
        (a->sig && write_file(a->sig, env->signature.data, env->signature.len) != 0)) {
        goto cleanup;
    }
    printf("sealed %zu bytes from %s to %zu recipients (%s signature)\n", plain_len, sender,
           a->n_recip, crypto_key_scheme(key));
    status = 0;

cleanup:
    envelope_free(&env);
    free(plain);
    free(packed);
    free(input);
    for (size_t i = 0; i < a->n_recip; i++) {
        X509_free(recips[i]);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return status;
}

/* Read a packed Envelope through the bounded codec. */
static Enlace__Envelope *load_envelope(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_file(path, &data, &len) != 0) {
        return NULL;
    }
    ProtobufCMessage *msg = NULL;
    enlace_err_t rc =
        codec_unpack(&enlace__envelope__descriptor, data, len, codec_default_budget(len), &msg);
    free(data);
    if (rc != ENLACE_OK) {
        fprintf(stderr, "envtool: %s: %s\n", path, enlace_err_str(rc));
        return NULL;
    }
    return (Enlace__Envelope *)msg;
}

static int cmd_verify(const args_t *a)
{
    if (a->signer == NULL || a->in == NULL) {
        return usage();
    }
    int status = 2;
    X509 *signer = cert_load_pem(a->signer);
    Enlace__Envelope *env = load_envelope(a->in);
    if (signer != NULL && env != NULL) {
        char why[256];
        enlace_err_t rc = envelope_verify(env, signer, NULL, why, sizeof(why));
        if (rc == ENLACE_OK) {
            printf("ok\n");
            status = 0;
        } else {
            printf("%s: %s\n", enlace_err_str(rc), why);
            status = 1;
        }
    }
    codec_free((ProtobufCMessage **)&env);
    X509_free(signer);
    return status;
}

static int cmd_open(const args_t *a)
{
    if (a->cert == NULL || a->key == NULL || a->out == NULL ||
        (a->in == NULL) == (a->cms == NULL)) {
        return usage();
    }
    int status = 2;
    X509 *cert = cert_load_pem(a->cert);
    EVP_PKEY *key = crypto_load_private_key(a->key);
    Enlace__Envelope *env = NULL;
    Enlace__Envelope bare = ENLACE__ENVELOPE__INIT;
    const Enlace__Envelope *use = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;

    if (cert == NULL || key == NULL) {
        fprintf(stderr, "envtool: cannot load %s / %s\n", a->cert, a->key);
        goto cleanup;
    }
    if (a->in != NULL) {
        env = load_envelope(a->in);
        use = env;
    } else if (read_file(a->cms, &bare.payload.data, &bare.payload.len) == 0) {
        use = &bare;
    }
    if (use == NULL) {
        goto cleanup;
    }
    enlace_err_t rc = envelope_open(use, cert, key, &plain, &plain_len);
    if (rc != ENLACE_OK) {
        printf("%s: envelope_open\n", enlace_err_str(rc));
        status = 1;
        goto cleanup;
    }
    if (write_file(a->out, plain, plain_len) == 0) {
        status = 0;
    }

cleanup:
    free(plain);
    free(bare.payload.data);
    codec_free((ProtobufCMessage **)&env);
    X509_free(cert);
    EVP_PKEY_free(key);
    return status;
}

int main(int argc, char **argv)
{
    args_t a;
    if (parse(argc, argv, &a) != 0) {
        return usage();
    }
    if (strcmp(a.cmd, "seal") == 0) {
        return cmd_seal(&a);
    }
    if (strcmp(a.cmd, "verify") == 0) {
        return cmd_verify(&a);
    }
    if (strcmp(a.cmd, "open") == 0) {
        return cmd_open(&a);
    }
    return usage();
}
