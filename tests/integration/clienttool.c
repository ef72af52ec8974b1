/* clienttool — drive libenlace, down to its raw deliveries, for the client integration tests.
 *
 * Used by tests/integration/51-client-interop.sh and 52-client-offline.sh where the CLI
 * cannot show what a test needs: the exact bytes a recipient received (to check them
 * with the openssl CLI), what the library says of a delivery altered on its way, a
 * sender that lies in its header, and the poll()-driven event loop. Not an installed
 * tool. It reaches into the library's internals (conn.h, message.h, publish.h) on
 * purpose: a test helper, never an example of the public API.
 *
 * Every command takes a client configuration file (enlace.h, enlace_config_load).
 * FROM is "resume" or a log sequence number.
 *
 *   clienttool raw CONFIG FILTER NAME FROM COUNT DIR
 *       Subscribe, take COUNT raw deliveries and, for each, write DIR/<seq>.hdr
 *       (Envelope.header), .cms (Envelope.payload, DER CMS), .sig (Envelope.signature)
 *       and .signer.der (Deliver.signer_cert, when sent); then verify it as enlace_next
 *       does, print "seq=N status=CODE sender=ID" and acknowledge verified ones.
 *   clienttool tamper CONFIG FILTER NAME FROM WHAT [CERT.pem]
 *       Take one raw delivery, alter it (WHAT: none, header = topic "alerts/..." made
 *       "Alerts/...", truncate = header cut in half, payload, signature, signer =
 *       replace Deliver.signer_cert by CERT.pem, nosigner = drop it), verify
 *       it and print "status=CODE payload=yes|no error=TEXT". Nothing is acknowledged.
 *   clienttool forge CONFIG TOPIC LISTED CERT.pem...
 *       Publish a TLP:AMBER message whose signed header names the recipients LISTED
 *       (comma list) while its CMS is encrypted only to the CERT.pem files and the
 *       sender: a sender lying to some of its addressees. Prints "message_id ID\nseq N".
 *   clienttool poll CONFIG FILTER NAME FROM COUNT TIMEOUT_MS
 *       Event loop on enlace_fd() with poll(2), enlace_pending() and enlace_next(0):
 *       "subscribed" on stderr once subscribed, then "seq=N payload=TEXT" per verified
 *       message (acknowledged) and "polls=N" (poll(2) calls) after COUNT messages
 *       (exit 0); exit 5 after TIMEOUT_MS without one.
 * Exit status: 0 done, 1 usage, 2 cannot connect, 3 the operation failed, 4 a message
 * failed verification (raw), 5 timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "codec.h"
#include "conn.h"
#include "enlace.h"
#include "envelope.h"
#include "message.h"
#include "publish.h"

#define WAIT_MS 15000 /* bound of every wait for a delivery */

/* Short stable name of an error code, for the scripts to match. */
static const char *code_name(enlace_err_t rc)
{
    switch (rc) {
    case ENLACE_OK: return "OK";
    case ENLACE_ERR_MALFORMED: return "MALFORMED";
    case ENLACE_ERR_BAD_SIGNATURE: return "BAD_SIGNATURE";
    case ENLACE_ERR_BAD_CERT: return "BAD_CERT";
    case ENLACE_ERR_HASH_MISMATCH: return "HASH_MISMATCH";
    case ENLACE_ERR_DECRYPT: return "DECRYPT";
    case ENLACE_ERR_PROTOCOL: return "PROTOCOL";
    case ENLACE_ERR_TIMEOUT: return "TIMEOUT";
    case ENLACE_ERR_DENIED: return "DENIED";
    case ENLACE_ERR_CLOSED: return "CLOSED";
    case ENLACE_ERR_NOMEM: return "NOMEM";
    default: return enlace_err_str(rc);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: clienttool raw|tamper|forge|poll ... (see clienttool.c)\n");
    return 1;
}

/* Connect with the options of the configuration file at path. NULL on failure (printed). */
static enlace_conn_t *open_conn(const char *path)
{
    enlace_config_t *cfg = NULL;
    char why[512];
    if (enlace_config_load(path, &cfg, why, sizeof why) != ENLACE_OK) {
        fprintf(stderr, "clienttool: %s: %s\n", path, why);
        return NULL;
    }
    enlace_options_t opts = *enlace_config_options(cfg);
    opts.client_name = "clienttool";
    enlace_conn_t *conn = enlace_new(&opts);
    enlace_config_destroy(&cfg);
    if (conn == NULL || enlace_connect(conn) != ENLACE_OK) {
        fprintf(stderr, "clienttool: cannot connect: %s\n",
                conn ? enlace_last_error(conn) : "out of memory");
        enlace_close(&conn);
        return NULL;
    }
    return conn;
}

/* Subscribe NAME to FILTER from FROM ("resume" or a sequence number). */
static enlace_err_t subscribe_from(enlace_conn_t *conn, const char *filter, const char *name,
                                   const char *from)
{
    uint32_t sub;
    enlace_err_t rc;
    if (strcmp(from, "resume") == 0)
        rc = enlace_subscribe(conn, name, filter, ENLACE_START_RESUME, 0, &sub, NULL);
    else
        rc = enlace_subscribe(conn, name, filter, ENLACE_START_FROM_SEQ, strtoull(from, NULL, 10),
                              &sub, NULL);
    if (rc != ENLACE_OK)
        fprintf(stderr, "clienttool: subscribe: %s\n", enlace_last_error(conn));
    return rc;
}

/* The next raw Deliver frame (codec_free), waiting up to WAIT_MS; NULL on timeout. */
static Enlace__Frame *next_raw(enlace_conn_t *conn)
{
    int64_t deadline = conn_deadline(conn, WAIT_MS);
    for (;;) {
        Enlace__Frame *f = conn_pop_delivery(conn);
        if (f != NULL)
            return f;
        enlace_err_t rc = conn_poll(conn, deadline);
        if (rc != ENLACE_OK) {
            fprintf(stderr, "clienttool: waiting for a delivery: %s (%s)\n", code_name(rc),
                    enlace_last_error(conn));
            return NULL;
        }
    }
}

static int write_bytes(const char *dir, unsigned long long seq, const char *ext, const uint8_t *p,
                       size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%llu.%s", dir, seq, ext);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "clienttool: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Verify delivery f as enlace_next does. *msg (enlace_message_free) may be NULL. */
static enlace_err_t verify_delivery(enlace_conn_t *conn, const Enlace__Frame *f,
                                    enlace_message_t **msg)
{
    *msg = NULL;
    const conn_sub_t *s = conn_sub_by_remote(conn, f->deliver->subscription_id);
    if (s == NULL)
        return ENLACE_ERR_NOT_FOUND;
    return message_from_deliver(conn, f->deliver, s, msg);
}

static int cmd_raw(enlace_conn_t *conn, char **argv)
{
    const char *filter = argv[0], *name = argv[1], *from = argv[2], *dir = argv[4];
    unsigned long count = strtoul(argv[3], NULL, 10);
    if (subscribe_from(conn, filter, name, from) != ENLACE_OK)
        return 3;
    int exit_code = 0;
    for (unsigned long i = 0; i < count; i++) {
        Enlace__Frame *f = next_raw(conn);
        if (f == NULL)
            return 5;
        const Enlace__Deliver *d = f->deliver;
        unsigned long long seq = (unsigned long long)d->seq;
        const Enlace__Envelope *e = d->envelope;
        if (write_bytes(dir, seq, "hdr", e->header.data, e->header.len) != 0 ||
            write_bytes(dir, seq, "cms", e->payload.data, e->payload.len) != 0 ||
            write_bytes(dir, seq, "sig", e->signature.data, e->signature.len) != 0 ||
            (d->has_signer_cert &&
             write_bytes(dir, seq, "signer.der", d->signer_cert.data, d->signer_cert.len) != 0)) {
            codec_free((ProtobufCMessage **)&f);
            return 3;
        }
        enlace_message_t *m = NULL;
        enlace_err_t rc = verify_delivery(conn, f, &m);
        codec_free((ProtobufCMessage **)&f);
        printf("seq=%llu status=%s sender=%s\n", seq, code_name(rc),
               m ? enlace_message_sender(m) : "?");
        if (rc == ENLACE_OK && enlace_ack(conn, m) != ENLACE_OK) {
            fprintf(stderr, "clienttool: ack: %s\n", enlace_last_error(conn));
            exit_code = 3;
        } else if (rc != ENLACE_OK) {
            exit_code = 4;
        }
        enlace_message_free(&m);
    }
    enlace_ping(conn, -1); /* the broker has read the acks before we hang up */
    return exit_code;
}

/* DER of the first certificate in a PEM file into *der (OPENSSL_free). */
static int cert_der(const char *path, unsigned char **der, int *len)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    *der = NULL;
    *len = x ? i2d_X509(x, der) : -1;
    X509_free(x);
    if (*len <= 0) {
        fprintf(stderr, "clienttool: cannot read a certificate from %s\n", path);
        return -1;
    }
    return 0;
}

static int cmd_tamper(enlace_conn_t *conn, int argc, char **argv)
{
    const char *filter = argv[0], *name = argv[1], *from = argv[2], *what = argv[3];
    unsigned char *der = NULL;
    int der_len = 0;
    if (strcmp(what, "signer") == 0 && (argc < 5 || cert_der(argv[4], &der, &der_len) != 0))
        return 1;
    if (subscribe_from(conn, filter, name, from) != ENLACE_OK) {
        OPENSSL_free(der);
        return 3;
    }
    Enlace__Frame *f = next_raw(conn);
    if (f == NULL) {
        OPENSSL_free(der);
        return 5;
    }
    Enlace__Deliver *d = f->deliver;
    Enlace__Envelope *e = d->envelope;
    ProtobufCBinaryData saved = d->signer_cert;
    protobuf_c_boolean saved_has = d->has_signer_cert;
    int rc_usage = 0;
    if (strcmp(what, "header") == 0) {
        /* A change that still decodes: the first letter of the topic, upper-cased. */
        const char *t = "alerts/";
        size_t tl = strlen(t);
        uint8_t *hit = e->header.len >= tl ? memmem(e->header.data, e->header.len, t, tl) : NULL;
        if (hit == NULL) {
            codec_free((ProtobufCMessage **)&f);
            fprintf(stderr, "clienttool: no 'alerts/' in the header\n");
            return 3;
        }
        hit[0] = 'A';
    } else if (strcmp(what, "truncate") == 0)
        e->header.len /= 2;
    else if (strcmp(what, "payload") == 0)
        e->payload.data[e->payload.len / 2] ^= 0x01;
    else if (strcmp(what, "signature") == 0)
        e->signature.data[e->signature.len - 1] ^= 0x01;
    else if (strcmp(what, "signer") == 0) {
        d->signer_cert.data = der;
        d->signer_cert.len = (size_t)der_len;
        d->has_signer_cert = 1;
    } else if (strcmp(what, "nosigner") == 0)
        d->has_signer_cert = 0;
    else if (strcmp(what, "none") != 0)
        rc_usage = 1;
    if (rc_usage) {
        codec_free((ProtobufCMessage **)&f);
        return usage();
    }
    enlace_message_t *m = NULL;
    enlace_err_t rc = verify_delivery(conn, f, &m);
    d->signer_cert = saved; /* the decoder owns the original bytes */
    d->has_signer_cert = saved_has;
    codec_free((ProtobufCMessage **)&f);
    OPENSSL_free(der);
    size_t n = 0;
    const uint8_t *p = m ? enlace_message_payload(m, &n) : NULL;
    printf("status=%s payload=%s error=%s\n", code_name(rc), p ? "yes" : "no",
           m ? enlace_message_error(m) : "(no message)");
    enlace_message_free(&m);
    return 0;
}

/* Load the certificate of a PEM file (X509_free). */
static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (x == NULL)
        fprintf(stderr, "clienttool: cannot read a certificate from %s\n", path);
    return x;
}

/* Seal p's message for certs[0..n) (not for every listed recipient) and publish it. */
static int send_forged(enlace_conn_t *conn, const enlace_publish_params_t *p, X509 **certs,
                       size_t n)
{
    static const uint8_t text[] = "forged: not encrypted to every listed recipient\n";
    publish_header_t hb;
    char why[256];
    Enlace__Envelope *env = NULL;
    Enlace__Frame *reply = NULL;
    Enlace__Publish pub = ENLACE__PUBLISH__INIT;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    enlace_err_t rc = publish_build_header(p, conn->my_id, publish_now_ms(), &hb, why, sizeof why);
    if (rc != ENLACE_OK) {
        fprintf(stderr, "clienttool: header: %s\n", why);
        return 3;
    }
    rc = envelope_seal(&hb.hdr, text, sizeof text - 1, certs, n, conn->my_cert, conn->my_key, &env);
    if (rc != ENLACE_OK) {
        fprintf(stderr, "clienttool: seal: %s\n", enlace_err_str(rc));
        return 3;
    }
    pub.correlation_id = conn_next_corr(conn);
    pub.envelope = env;
    f.kind_case = ENLACE__FRAME__KIND_PUBLISH;
    f.publish = &pub;
    int64_t deadline = conn_deadline(conn, -1);
    rc = conn_send(conn, &f, deadline);
    if (rc == ENLACE_OK)
        rc = conn_wait_reply(conn, pub.correlation_id, ENLACE__FRAME__KIND_PUBLISH_ACK, deadline,
                             &reply);
    int exit_code = 3;
    if (rc == ENLACE_OK) {
        char id[33];
        enlace_id_to_hex(hb.message_id, id);
        printf("message_id %s\nseq %llu\n", id, (unsigned long long)reply->publish_ack->seq);
        exit_code = 0;
    } else {
        fprintf(stderr, "clienttool: publish: %s\n", enlace_last_error(conn));
    }
    codec_free((ProtobufCMessage **)&reply);
    envelope_free(&env);
    return exit_code;
}

static int cmd_forge(enlace_conn_t *conn, int argc, char **argv)
{
    char listed[1024];
    const char *names[16];
    size_t n_names = 0;
    snprintf(listed, sizeof listed, "%s", argv[1]);
    for (char *save = NULL, *t = strtok_r(listed, ",", &save); t && n_names < 16;
         t = strtok_r(NULL, ",", &save))
        names[n_names++] = t;
    enlace_publish_params_t p = {
        .topic = argv[0],
        .tlp = ENLACE_TLP_AMBER,
        .recipients = names,
        .n_recipients = n_names,
        .type = ENLACE_TYPE_ALERT,
    };
    X509 *certs[17];
    size_t n_certs = 0;
    int exit_code = 3;
    bool loaded = true;
    for (int i = 2; i < argc && n_certs < 16 && loaded; i++)
        loaded = (certs[n_certs++] = load_cert(argv[i])) != NULL;
    if (loaded) {
        certs[n_certs] = conn->my_cert; /* borrowed: not freed below */
        exit_code = send_forged(conn, &p, certs, n_certs + 1);
    }
    for (size_t i = 0; i < n_certs; i++)
        X509_free(certs[i]);
    return exit_code;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_poll(enlace_conn_t *conn, char **argv)
{
    const char *filter = argv[0], *name = argv[1], *from = argv[2];
    unsigned long count = strtoul(argv[3], NULL, 10), got = 0;
    int64_t timeout = strtoll(argv[4], NULL, 10), last = mono_ms();
    if (subscribe_from(conn, filter, name, from) != ENLACE_OK)
        return 3;
    fprintf(stderr, "subscribed\n"); /* the script publishes after this line */
    unsigned long polls = 0;
    while (got < count) {
        /* Drain what is queued or readable without blocking, then sleep in poll(2). */
        enlace_message_t *m = NULL;
        enlace_err_t rc = enlace_next(conn, 0, &m);
        if (rc == ENLACE_OK) {
            size_t n = 0;
            const uint8_t *p = enlace_message_payload(m, &n);
            printf("seq=%llu payload=%.*s\n", (unsigned long long)enlace_message_seq(m), (int)n,
                   (const char *)p);
            if (enlace_ack(conn, m) != ENLACE_OK) {
                fprintf(stderr, "clienttool: ack: %s\n", enlace_last_error(conn));
                enlace_message_free(&m);
                return 3;
            }
            enlace_message_free(&m);
            got++;
            last = mono_ms();
            continue;
        }
        if (m != NULL || rc != ENLACE_ERR_TIMEOUT) {
            fprintf(stderr, "clienttool: next: %s: %s\n", code_name(rc),
                    m ? enlace_message_error(m) : enlace_last_error(conn));
            enlace_message_free(&m);
            return rc == ENLACE_OK ? 3 : 4;
        }
        if (enlace_pending(conn) != 0) {
            fprintf(stderr, "clienttool: enlace_next timed out with %zu deliveries pending\n",
                    enlace_pending(conn));
            return 3;
        }
        int64_t left = last + timeout - mono_ms();
        if (left <= 0)
            return 5;
        struct pollfd pfd = {.fd = enlace_fd(conn), .events = POLLIN};
        if (pfd.fd < 0) {
            fprintf(stderr, "clienttool: enlace_fd is -1 while connected\n");
            return 3;
        }
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return 3;
        polls++;
    }
    printf("polls=%lu\n", polls);
    enlace_ping(conn, -1); /* the broker has read the acks before we hang up */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *cmd = argv[1];
    int need = strcmp(cmd, "raw") == 0      ? 8
               : strcmp(cmd, "tamper") == 0 ? 7
               : strcmp(cmd, "forge") == 0  ? 6
               : strcmp(cmd, "poll") == 0   ? 8
                                            : -1;
    if (need < 0 || argc < need)
        return usage();
    enlace_conn_t *conn = open_conn(argv[2]);
    if (conn == NULL)
        return 2;
    int rc;
    if (strcmp(cmd, "raw") == 0)
        rc = cmd_raw(conn, argv + 3);
    else if (strcmp(cmd, "tamper") == 0)
        rc = cmd_tamper(conn, argc - 3, argv + 3);
    else if (strcmp(cmd, "forge") == 0)
        rc = cmd_forge(conn, argc - 3, argv + 3);
    else
        rc = cmd_poll(conn, argv + 3);
    fflush(stdout);
    enlace_close(&conn);
    return rc;
}
