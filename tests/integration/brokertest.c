/* brokertest — scenario client for the broker integration tests.
 *
 * Speaks the wire protocol directly (common/codec, common/envelope), so a
 * test can send exactly the frames it wants, malformed ones included, and
 * check the exact replies. Each scenario prints one line per check and exits
 * 0 when every check held, 1 otherwise (2 for usage errors).
 *
 *   brokertest --port P --pki DIR SCENARIO [ARGS...]
 *
 * The shell scripts in tests/integration/ start the broker and run scenarios.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cert.h"
#include "checkpoint.h"
#include "codec.h"
#include "crypto.h"
#include "envelope.h"
#include "merkle.h"

static const char *g_pki;
static int g_port;
static int g_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("  ok   ");                                                                     \
        } else {                                                                                   \
            printf("  FAIL ");                                                                     \
            g_failures++;                                                                          \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
    } while (0)

enum { P_NO_CERT = 1, P_TLS12 = 2, P_NO_ALPN = 4, P_NO_HELLO = 8 };

typedef struct peer {
    int fd;                     /* TCP socket */
    SSL_CTX *ctx;               /* client context */
    SSL *ssl;                   /* TLS connection */
    codec_decoder_t *dec;       /* frame decoder */
    X509 *cert;                 /* our certificate (NULL with P_NO_CERT) */
    EVP_PKEY *key;              /* our key */
    char agency[64];            /* agency id from Welcome */
    uint8_t ckpt_pub[32];       /* checkpoint key from Welcome */
    char origin[256];           /* log origin from Welcome */
    bool closed;                /* the broker closed the connection */
    Enlace__Frame *queue[4096]; /* frames read ahead while waiting for another kind */
    size_t nqueue;
} peer_t;

static void path_of(char *out, size_t len, const char *who, const char *ext)
{
    /* who: "MX.FGR" (agencies/), "bad/expired" or "broker" */
    if (strchr(who, '/') || strcmp(who, "broker") == 0)
        snprintf(out, len, "%s/%s.%s", g_pki, who, ext);
    else
        snprintf(out, len, "%s/agencies/%s.%s", g_pki, who, ext);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void peer_free(peer_t **pp)
{
    peer_t *p = *pp;
    if (!p)
        return;
    for (size_t i = 0; i < p->nqueue; i++)
        codec_free((ProtobufCMessage **)&p->queue[i]);
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
    if (p->fd >= 0)
        close(p->fd);
    codec_decoder_destroy(&p->dec);
    X509_free(p->cert);
    EVP_PKEY_free(p->key);
    free(p);
    *pp = NULL;
}

/* Writes all of data, waiting while the socket is full (up to 10 s). */
static int write_all(peer_t *p, const uint8_t *data, size_t len)
{
    size_t off = 0;
    uint64_t end = now_ms() + 10000;
    while (off < len) {
        int n = SSL_write(p->ssl, data + off, (int)(len - off));
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        int err = SSL_get_error(p->ssl, n);
        if ((err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) || now_ms() > end)
            return -1;
        struct pollfd pfd = {p->fd, err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0};
        poll(&pfd, 1, 100);
    }
    return 0;
}

static int peer_send(peer_t *p, const Enlace__Frame *f)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (codec_encode_frame(f, &buf, &len) != ENLACE_OK)
        return -1;
    int rc = write_all(p, buf, len);
    free(buf);
    return rc;
}

static int peer_send_raw(peer_t *p, const void *data, size_t len)
{
    return write_all(p, data, len);
}

/* Next frame from the wire within timeout_ms; NULL on timeout or close. */
static Enlace__Frame *wire_recv(peer_t *p, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    static uint8_t buf[65536];
    static size_t have, off;
    static peer_t *owner;
    if (owner != p) { /* buffered bytes belong to one peer at a time */
        owner = p;
        have = off = 0;
    }
    for (;;) {
        while (off < have) {
            size_t used = 0;
            Enlace__Frame *f = NULL;
            char why[256];
            enlace_err_t rc =
                codec_decoder_next(p->dec, buf + off, have - off, &used, &f, why, sizeof why);
            off += used;
            if (rc == ENLACE_OK)
                return f;
            if (rc != ENLACE_ERR_AGAIN) {
                printf("  (decoder: %s)\n", why);
                p->closed = true;
                return NULL;
            }
        }
        have = off = 0;
        if (p->closed)
            return NULL;
        int n = SSL_read(p->ssl, buf, sizeof buf);
        if (n > 0) {
            have = (size_t)n;
            continue;
        }
        int err = SSL_get_error(p->ssl, n);
        if (err != SSL_ERROR_WANT_READ) {
            p->closed = true;
            return NULL;
        }
        int left = (int)(end - now_ms());
        if ((int64_t)(end - now_ms()) <= 0)
            return NULL;
        struct pollfd pfd = {p->fd, POLLIN, 0};
        poll(&pfd, 1, left);
    }
}

/* Next frame of `kind` (0 = any) within timeout; frames of other kinds are queued. */
static Enlace__Frame *peer_expect(peer_t *p, Enlace__Frame__KindCase kind, int timeout_ms)
{
    for (size_t i = 0; i < p->nqueue; i++) {
        if (kind == 0 || p->queue[i]->kind_case == kind) {
            Enlace__Frame *f = p->queue[i];
            memmove(&p->queue[i], &p->queue[i + 1], (p->nqueue - i - 1) * sizeof *p->queue);
            p->nqueue--;
            return f;
        }
    }
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left <= 0)
            return NULL;
        Enlace__Frame *f = wire_recv(p, left);
        if (!f)
            return NULL;
        if (kind == 0 || f->kind_case == kind)
            return f;
        if (p->nqueue < sizeof p->queue / sizeof p->queue[0])
            p->queue[p->nqueue++] = f;
        else
            codec_free((ProtobufCMessage **)&f);
    }
}

static void frame_free(Enlace__Frame **f)
{
    codec_free((ProtobufCMessage **)f);
}

/* Connects as `who`. Returns NULL with *err describing why when refused. */
static peer_t *peer_connect(const char *who, int flags, char *err, size_t err_len)
{
    peer_t *p = calloc(1, sizeof *p);
    char crt[1024], key[1024], ca[1024];
    p->fd = -1;
    p->dec = codec_decoder_new(CODEC_DEFAULT_MAX_FRAME);
    p->ctx = SSL_CTX_new(TLS_client_method());
    if (flags & P_TLS12) {
        SSL_CTX_set_min_proto_version(p->ctx, TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(p->ctx, TLS1_2_VERSION);
    } else {
        SSL_CTX_set_min_proto_version(p->ctx, TLS1_3_VERSION);
    }
    snprintf(ca, sizeof ca, "%s/ca.pem", g_pki);
    SSL_CTX_load_verify_locations(p->ctx, ca, NULL);
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER, NULL);
    if (!(flags & P_NO_CERT)) {
        path_of(crt, sizeof crt, who, "crt");
        path_of(key, sizeof key, who, "key");
        if (SSL_CTX_use_certificate_chain_file(p->ctx, crt) != 1 ||
            SSL_CTX_use_PrivateKey_file(p->ctx, key, SSL_FILETYPE_PEM) != 1) {
            snprintf(err, err_len, "cannot load %.400s", crt);
            peer_free(&p);
            return NULL;
        }
        p->cert = cert_load_pem(crt);
        p->key = crypto_load_private_key(key);
    }
    if (!(flags & P_NO_ALPN))
        SSL_CTX_set_alpn_protos(p->ctx,
                                (const unsigned char *)"\x08"
                                                       "enlace/1",
                                9);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(p->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, err_len, "connect: %s", strerror(errno));
        peer_free(&p);
        return NULL;
    }
    p->ssl = SSL_new(p->ctx);
    SSL_set_fd(p->ssl, p->fd);
    SSL_set1_host(p->ssl, "127.0.0.1");
    if (SSL_connect(p->ssl) != 1) {
        unsigned long e = ERR_get_error();
        snprintf(err, err_len, "handshake: %s", e ? ERR_reason_error_string(e) : "closed");
        ERR_clear_error();
        peer_free(&p);
        return NULL;
    }
    /* Non-blocking from here so reads can time out. */
    fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
    if (flags & P_NO_HELLO)
        return p;
    Enlace__Hello h = ENLACE__HELLO__INIT;
    h.version = 1;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_HELLO;
    f.hello = &h;
    if (peer_send(p, &f) != 0) {
        unsigned long e = ERR_get_error();
        snprintf(err, err_len, "send Hello: %s", e ? ERR_reason_error_string(e) : "closed");
        peer_free(&p);
        return NULL;
    }
    Enlace__Frame *r = peer_expect(p, 0, 5000);
    if (!r || r->kind_case != ENLACE__FRAME__KIND_WELCOME) {
        unsigned long e = ERR_get_error();
        if (r && r->kind_case == ENLACE__FRAME__KIND_ERROR)
            snprintf(err, err_len, "Error %s: %s",
                     protobuf_c_enum_descriptor_get_value(&enlace__error_code__descriptor,
                                                          r->error->code)
                         ->name,
                     r->error->text);
        else
            snprintf(err, err_len, "no Welcome: %s",
                     e ? ERR_reason_error_string(e) : (r ? "other frame" : "closed"));
        ERR_clear_error();
        frame_free(&r);
        peer_free(&p);
        return NULL;
    }
    snprintf(p->agency, sizeof p->agency, "%s", r->welcome->agency_id);
    snprintf(p->origin, sizeof p->origin, "%s", r->welcome->log_origin);
    memcpy(p->ckpt_pub, r->welcome->checkpoint_key.data, 32);
    frame_free(&r);
    return p;
}

static const char *code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&enlace__error_code__descriptor, code);
    return v ? v->name : "?";
}

/* Waits for an Error frame and checks its code; returns true when it matches. */
static bool expect_error(peer_t *p, Enlace__ErrorCode code, const char *what)
{
    Enlace__Frame *f = peer_expect(p, ENLACE__FRAME__KIND_ERROR, 5000);
    bool ok = f && f->error->code == code;
    CHECK(ok, "%s -> Error %s (got %s%s%s)", what, code_name(code),
          f ? code_name(f->error->code) : "nothing", f ? ": " : "", f ? f->error->text : "");
    frame_free(&f);
    return ok;
}

static bool ping_ok(peer_t *p)
{
    Enlace__Ping ping = ENLACE__PING__INIT;
    ping.nonce = 42;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_PING;
    f.ping = &ping;
    if (peer_send(p, &f) != 0)
        return false;
    Enlace__Frame *r = peer_expect(p, ENLACE__FRAME__KIND_PONG, 5000);
    bool ok = r && r->pong->nonce == 42;
    frame_free(&r);
    return ok;
}

static X509 *load_agency_cert(const char *id)
{
    char path[1024];
    path_of(path, sizeof path, id, "crt");
    return cert_load_pem(path);
}

typedef struct msg_spec {
    const char *topic;  /* topic */
    Enlace__Tlp tlp;    /* label */
    const char *to;     /* comma-separated recipients, NULL = none */
    const char *sender; /* header sender override (spoofing), NULL = ours */
    const char *text;   /* plaintext */
} msg_spec_t;

/* Seals an envelope from p per spec, with message id `id` (16 bytes; NULL = a fresh
 * random one); encrypted to recipients + sender. */
static Enlace__Envelope *make_envelope_id(peer_t *p, const msg_spec_t *m, const uint8_t *id)
{
    Enlace__Header h = ENLACE__HEADER__INIT;
    char *recips[32];
    X509 *certs[33];
    size_t n = 0;
    char buf[512] = "";
    if (m->to) {
        snprintf(buf, sizeof buf, "%s", m->to);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < 32;
             t = strtok_r(NULL, ",", &save)) {
            recips[n] = t;
            certs[n] = load_agency_cert(t);
            n++;
        }
    }
    size_t nc = n;
    certs[nc++] = X509_dup(p->cert);
    h.sender = (char *)(m->sender ? m->sender : p->agency);
    h.topic = (char *)m->topic;
    h.n_recipients = n;
    h.recipients = recips;
    h.message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_ALERT;
    h.tlp = m->tlp;
    h.has_handling = true;
    h.handling = ENLACE__HANDLING__HANDLING_H2;
    h.case_ref = "TRAF-2026-0042";
    if (id)
        h.message_id = (ProtobufCBinaryData){16, (uint8_t *)id};
    Enlace__Envelope *env = NULL;
    enlace_err_t rc = envelope_seal(&h, (const uint8_t *)m->text, strlen(m->text), certs, nc,
                                    p->cert, p->key, &env);
    for (size_t i = 0; i < nc; i++)
        X509_free(certs[i]);
    if (rc != ENLACE_OK)
        printf("  (envelope_seal: %s)\n", enlace_err_str(rc));
    return env;
}

static Enlace__Envelope *make_envelope(peer_t *p, const msg_spec_t *m)
{
    return make_envelope_id(p, m, NULL);
}

static uint64_t g_corr = 1;

static int send_publish(peer_t *p, Enlace__Envelope *env, uint64_t *corr)
{
    Enlace__Publish pub = ENLACE__PUBLISH__INIT;
    pub.correlation_id = *corr = g_corr++;
    pub.envelope = env;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_PUBLISH;
    f.publish = &pub;
    return peer_send(p, &f);
}

/* Publishes and waits for the ack; returns the seq or -1 (and the Error code in *code). */
static int64_t publish_env(peer_t *p, Enlace__Envelope *env, int *code, bool *dup)
{
    uint64_t corr;
    *code = 0;
    if (send_publish(p, env, &corr) != 0)
        return -1;
    for (;;) {
        Enlace__Frame *f = peer_expect(p, 0, 10000);
        if (!f)
            return -1;
        if (f->kind_case == ENLACE__FRAME__KIND_PUBLISH_ACK &&
            f->publish_ack->correlation_id == corr) {
            int64_t seq = (int64_t)f->publish_ack->seq;
            if (dup)
                *dup = f->publish_ack->duplicate;
            frame_free(&f);
            return seq;
        }
        if (f->kind_case == ENLACE__FRAME__KIND_ERROR) {
            *code = f->error->code;
            frame_free(&f);
            return -1;
        }
        if (p->nqueue < 4096)
            p->queue[p->nqueue++] = f; /* e.g. a Deliver: keep it for later */
        else
            frame_free(&f);
    }
}

static int64_t publish(peer_t *p, const msg_spec_t *m, int *code)
{
    Enlace__Envelope *env = make_envelope(p, m);
    if (!env)
        return -1;
    int64_t seq = publish_env(p, env, code, NULL);
    envelope_free(&env);
    return seq;
}

/* Subscribes; returns the subscription id or 0 (Error code in *code). */
static uint32_t subscribe(peer_t *p, const char *name, const char *filter, Enlace__StartMode start,
                          uint64_t from, int *code)
{
    Enlace__Subscribe s = ENLACE__SUBSCRIBE__INIT;
    s.correlation_id = g_corr++;
    s.name = (char *)name;
    s.filter = (char *)filter;
    s.start = start;
    if (start == ENLACE__START_MODE__START_FROM_SEQ) {
        s.has_from_seq = true;
        s.from_seq = from;
    }
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_SUBSCRIBE;
    f.subscribe = &s;
    *code = 0;
    if (peer_send(p, &f) != 0)
        return 0;
    for (;;) {
        Enlace__Frame *r = peer_expect(p, 0, 10000);
        if (!r)
            return 0;
        if (r->kind_case == ENLACE__FRAME__KIND_SUBSCRIBED) {
            uint32_t id = r->subscribed->subscription_id;
            frame_free(&r);
            return id;
        }
        if (r->kind_case == ENLACE__FRAME__KIND_ERROR) {
            *code = r->error->code;
            frame_free(&r);
            return 0;
        }
        frame_free(&r);
    }
}

static void ack(peer_t *p, uint32_t sub, uint64_t seq)
{
    Enlace__DeliverAck a = ENLACE__DELIVER_ACK__INIT;
    a.subscription_id = sub;
    a.seq = seq;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_DELIVER_ACK;
    f.deliver_ack = &a;
    peer_send(p, &f);
}

/* Recipient-side check of a delivery: signer chain to our CA, signature, decrypt. */
static bool verify_and_open(peer_t *p, const Enlace__Deliver *d, char *plain, size_t plain_len)
{
    char ca[1024], crl[1024];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_pki);
    snprintf(crl, sizeof crl, "%s/crl.pem", g_pki);
    char why[256];
    X509_STORE *store = cert_trust_load(ca, crl, why, sizeof why);
    X509 *signer =
        d->has_signer_cert ? cert_from_der(d->signer_cert.data, d->signer_cert.len) : NULL;
    Enlace__Header *h = NULL;
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    bool ok = store && signer &&
              cert_verify(store, signer, NULL, true, why, sizeof why) == ENLACE_OK &&
              envelope_verify(d->envelope, signer, &h, why, sizeof why) == ENLACE_OK &&
              envelope_open(d->envelope, p->cert, p->key, &pt, &ptlen) == ENLACE_OK;
    if (ok)
        snprintf(plain, plain_len, "%.*s", (int)ptlen, (const char *)pt);
    free(pt);
    codec_free((ProtobufCMessage **)&h);
    X509_free(signer);
    X509_STORE_free(store);
    return ok;
}

/* ------------------------------------------------------------- scenarios */

static int sc_connect_ok(int argc, char **argv)
{
    const char *who = argc > 0 ? argv[0] : "MX.FGR";
    char err[512] = "";
    peer_t *p = peer_connect(who, 0, err, sizeof err);
    CHECK(p != NULL, "%s connects and gets Welcome (%s)", who, p ? p->agency : err);
    if (p) {
        CHECK(strcmp(p->agency, who) == 0, "Welcome names agency %s", who);
        CHECK(ping_ok(p), "Ping is answered with Pong");
    }
    peer_free(&p);
    return 0;
}

/* argv[0]: who ("bad/expired", "nocert", ...); argv[1]: expected substring of the error */
static int sc_connect_refused(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    const char *who = argv[0];
    int flags = 0;
    if (strcmp(who, "nocert") == 0)
        flags = P_NO_CERT;
    else if (strcmp(who, "tls12") == 0) {
        flags = P_TLS12;
        who = "MX.FGR";
    } else if (strcmp(who, "noalpn") == 0) {
        flags = P_NO_ALPN;
        who = "MX.FGR";
    }
    char err[512] = "";
    peer_t *p = peer_connect(who, flags, err, sizeof err);
    CHECK(p == NULL, "%s is refused (%s)", argv[0], p ? "it was accepted!" : err);
    if (argc > 1)
        CHECK(strstr(err, argv[1]) != NULL, "refusal says '%s'", argv[1]);
    peer_free(&p);
    return 0;
}

static int sc_exchange(int argc, char **argv)
{
    char err[512] = "";
    peer_t *pub = peer_connect("MX.FGR", 0, err, sizeof err);
    peer_t *fbi = peer_connect("US.FBI", 0, err, sizeof err);
    peer_t *dijin = peer_connect("CO.DIJIN", 0, err, sizeof err);
    peer_t *pf = peer_connect("BR.PF", 0, err, sizeof err);
    CHECK(pub && fbi && dijin && pf, "four agencies connect (%s)", err);
    if (!pub || !fbi || !dijin || !pf)
        goto out;
    int code;
    uint32_t s_fbi = subscribe(fbi, "live", "alerts/#", ENLACE__START_MODE__START_NEW, 0, &code);
    uint32_t s_dij = subscribe(dijin, "live", "alerts/#", ENLACE__START_MODE__START_NEW, 0, &code);
    uint32_t s_pf = subscribe(pf, "live", "alerts/#", ENLACE__START_MODE__START_NEW, 0, &code);
    CHECK(s_fbi && s_dij && s_pf, "three subscribers subscribe to alerts/#");
    msg_spec_t m = {"alerts/trafficking", ENLACE__TLP__TLP_AMBER, "US.FBI,CO.DIJIN", NULL,
                    "Shipment leaves Manzanillo on 2026-12-01"};
    int64_t seq = publish(pub, &m, &code);
    CHECK(seq >= 0, "TLP:AMBER alert to US.FBI,CO.DIJIN is acknowledged durable (seq %lld)",
          (long long)seq);
    Enlace__Frame *d = peer_expect(fbi, ENLACE__FRAME__KIND_DELIVER, 5000);
    char plain[256] = "";
    CHECK(d && (int64_t)d->deliver->seq == seq, "US.FBI receives it at the same seq");
    CHECK(d && verify_and_open(fbi, d->deliver, plain, sizeof plain) && strcmp(plain, m.text) == 0,
          "US.FBI verifies the signature against its own CA and decrypts: '%s'", plain);
    if (d)
        ack(fbi, s_fbi, d->deliver->seq);
    frame_free(&d);
    d = peer_expect(dijin, ENLACE__FRAME__KIND_DELIVER, 5000);
    CHECK(d != NULL, "CO.DIJIN receives it");
    frame_free(&d);
    d = peer_expect(pf, ENLACE__FRAME__KIND_DELIVER, 1500);
    CHECK(d == NULL, "BR.PF (not a recipient) receives nothing");
    frame_free(&d);
    /* a message with no recipients reaches every reader of the topic */
    msg_spec_t g = {"alerts/general", ENLACE__TLP__TLP_GREEN, NULL, NULL, "community notice"};
    int64_t gseq = publish(pub, &g, &code);
    CHECK(gseq > seq, "TLP:GREEN with no named recipients accepted (seq %lld)", (long long)gseq);
    d = peer_expect(pf, ENLACE__FRAME__KIND_DELIVER, 5000);
    CHECK(d && (int64_t)d->deliver->seq == gseq, "BR.PF, a reader of alerts/#, receives it");
    frame_free(&d);
out:
    peer_free(&pub);
    peer_free(&fbi);
    peer_free(&dijin);
    peer_free(&pf);
    return 0;
}

static int sc_refusals(int argc, char **argv)
{
    char err[512] = "";
    peer_t *p = peer_connect("MX.FGR", 0, err, sizeof err);
    CHECK(p != NULL, "MX.FGR connects (%s)", err);
    if (!p)
        return 0;
    int code;
    msg_spec_t m = {"secret/other", ENLACE__TLP__TLP_AMBER, "US.FBI", NULL, "x"};
    CHECK(publish(p, &m, &code) < 0 && code == ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED,
          "publish to a topic outside the policy -> NOT_AUTHORIZED (%s)", code_name(code));
    CHECK(ping_ok(p), "session still usable after a refusal");
    m = (msg_spec_t){"alerts/x", ENLACE__TLP__TLP_RED, NULL, NULL, "x"};
    CHECK(publish(p, &m, &code) < 0 && code == ENLACE__ERROR_CODE__ERROR_TLP_VIOLATION,
          "TLP:RED without recipients -> TLP_VIOLATION (%s)", code_name(code));
    m = (msg_spec_t){"alerts/x", ENLACE__TLP__TLP_AMBER_STRICT, NULL, NULL, "x"};
    CHECK(publish(p, &m, &code) < 0 && code == ENLACE__ERROR_CODE__ERROR_TLP_VIOLATION,
          "TLP:AMBER+STRICT without recipients -> TLP_VIOLATION (%s)", code_name(code));
    m = (msg_spec_t){"alerts/x", ENLACE__TLP__TLP_UNLABELLED, "US.FBI", NULL, "x"};
    CHECK(publish(p, &m, &code) < 0 && code == ENLACE__ERROR_CODE__ERROR_TLP_VIOLATION,
          "unlabelled message -> TLP_VIOLATION (%s)", code_name(code));
    m = (msg_spec_t){"cases/CO/x", ENLACE__TLP__TLP_AMBER, "BR.PF", NULL, "x"};
    CHECK(publish(p, &m, &code) < 0 && code == ENLACE__ERROR_CODE__ERROR_BAD_RECIPIENT,
          "recipient that may not read the topic -> BAD_RECIPIENT (%s)", code_name(code));
    m = (msg_spec_t){"alerts/x", ENLACE__TLP__TLP_AMBER, "US.FBI", "US.FBI", "x"};
    CHECK(publish(p, &m, &code) < 0 && code == ENLACE__ERROR_CODE__ERROR_SENDER_MISMATCH,
          "header sender US.FBI from an MX.FGR session -> SENDER_MISMATCH (%s)", code_name(code));
    m = (msg_spec_t){"alerts/x", ENLACE__TLP__TLP_AMBER, "US.FBI", NULL, "x"};
    Enlace__Envelope *env = make_envelope(p, &m);
    env->signature.data[env->signature.len / 2] ^= 0x01;
    CHECK(publish_env(p, env, &code, NULL) < 0 && code == ENLACE__ERROR_CODE__ERROR_BAD_SIGNATURE,
          "forged signature -> BAD_SIGNATURE (%s)", code_name(code));
    envelope_free(&env);
    env = make_envelope(p, &m);
    env->payload.data[env->payload.len - 1] ^= 0x01;
    CHECK(publish_env(p, env, &code, NULL) < 0 && code == ENLACE__ERROR_CODE__ERROR_PAYLOAD_HASH,
          "payload changed after signing -> PAYLOAD_HASH (%s)", code_name(code));
    envelope_free(&env);
    uint32_t sid = subscribe(p, "wide", "#", ENLACE__START_MODE__START_NEW, 0, &code);
    CHECK(sid == 0 && code == ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED,
          "subscribe to # (wider than the policy) -> NOT_AUTHORIZED (%s)", code_name(code));
    Enlace__AuditFetch af = ENLACE__AUDIT_FETCH__INIT;
    af.correlation_id = 99;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_AUDIT_FETCH;
    f.audit_fetch = &af;
    peer_send(p, &f);
    expect_error(p, ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, "AuditFetch from an agency");
    /* duplicate message id: same seq, not stored twice */
    env = make_envelope(p, &m);
    bool dup = false;
    int64_t s1 = publish_env(p, env, &code, &dup);
    int64_t s2 = publish_env(p, env, &code, &dup);
    CHECK(s1 >= 0 && s1 == s2 && dup,
          "the same message twice -> acked with the original seq %lld, duplicate=true",
          (long long)s1);
    envelope_free(&env);
    /* the same message id from another agency: refused (and audited), nothing stored */
    static const uint8_t shared_id[16] = {0xc0, 0x11, 0x1d, 0xe0, 1, 2,  3,  4,
                                          5,    6,    7,    8,    9, 10, 11, 12};
    peer_t *fbi = peer_connect("US.FBI", 0, err, sizeof err);
    CHECK(fbi != NULL, "US.FBI connects (%s)", err);
    if (fbi) {
        msg_spec_t mine = {"alerts/x", ENLACE__TLP__TLP_AMBER, "US.FBI", NULL, "first"};
        msg_spec_t theirs = {"alerts/x", ENLACE__TLP__TLP_AMBER, "MX.FGR", NULL, "second"};
        env = make_envelope_id(p, &mine, shared_id);
        int64_t first = publish_env(p, env, &code, NULL);
        envelope_free(&env);
        CHECK(first >= 0, "MX.FGR publishes message id c0111de0... (seq %lld)", (long long)first);
        env = make_envelope_id(fbi, &theirs, shared_id);
        CHECK(publish_env(fbi, env, &code, NULL) < 0 && code == ENLACE__ERROR_CODE__ERROR_MALFORMED,
              "US.FBI reusing MX.FGR's message id -> MALFORMED (%s)", code_name(code));
        envelope_free(&env);
        CHECK(ping_ok(fbi), "US.FBI's session stays usable (its envelope itself was valid)");
        peer_free(&fbi);
    }
    CHECK(ping_ok(p), "session still usable after every refusal");
    peer_free(&p);
    return 0;
}

/* argv[0]: "oversize" | "zero" | "garbage" | "before-hello" | "server-frame" */
static int sc_malformed(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    const char *kind = argv[0];
    char err[512] = "";
    bool before = strcmp(kind, "before-hello") == 0;
    peer_t *p = peer_connect("MX.FGR", before ? P_NO_HELLO : 0, err, sizeof err);
    peer_t *other = peer_connect("US.FBI", 0, err, sizeof err);
    CHECK(p && other, "two sessions up (%s)", err);
    if (!p || !other)
        goto out;
    Enlace__ErrorCode want = ENLACE__ERROR_CODE__ERROR_MALFORMED;
    if (strcmp(kind, "oversize") == 0) {
        uint8_t len[4] = {0x7f, 0xff, 0xff, 0xff};
        peer_send_raw(p, len, 4);
        want = ENLACE__ERROR_CODE__ERROR_FRAME_TOO_LARGE;
    } else if (strcmp(kind, "zero") == 0) {
        uint8_t len[4] = {0, 0, 0, 0};
        peer_send_raw(p, len, 4);
    } else if (strcmp(kind, "garbage") == 0) {
        uint8_t g[] = {0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        peer_send_raw(p, g, sizeof g);
    } else if (before || strcmp(kind, "server-frame") == 0) {
        Enlace__Ping ping = ENLACE__PING__INIT;
        Enlace__Pong pong = ENLACE__PONG__INIT;
        Enlace__Frame f = ENLACE__FRAME__INIT;
        if (before) {
            f.kind_case = ENLACE__FRAME__KIND_PING;
            f.ping = &ping;
        } else {
            Enlace__PublishAck pa = ENLACE__PUBLISH_ACK__INIT;
            uint8_t leaf[32] = {0};
            pa.leaf_hash = (ProtobufCBinaryData){32, leaf};
            f.kind_case = ENLACE__FRAME__KIND_PUBLISH_ACK;
            f.publish_ack = &pa;
            peer_send(p, &f);
            f.kind_case = 0;
        }
        if (f.kind_case)
            peer_send(p, &f);
        (void)pong;
        want = ENLACE__ERROR_CODE__ERROR_PROTOCOL;
    }
    expect_error(p, want, kind);
    Enlace__Frame *g = peer_expect(p, ENLACE__FRAME__KIND_GOODBYE, 3000);
    CHECK(g != NULL || p->closed, "the offending session is closed");
    frame_free(&g);
    Enlace__Frame *more = peer_expect(p, 0, 1000);
    CHECK(more == NULL && p->closed, "nothing more arrives; the connection is closed");
    frame_free(&more);
    CHECK(ping_ok(other), "another agency's session is unaffected");
out:
    peer_free(&p);
    peer_free(&other);
    return 0;
}

/* RED message to US.FBI only: CO.DIJIN subscribed to the topic gets nothing. */
static int sc_tlp_red(int argc, char **argv)
{
    char err[512] = "";
    peer_t *pub = peer_connect("MX.FGR", 0, err, sizeof err);
    peer_t *fbi = peer_connect("US.FBI", 0, err, sizeof err);
    peer_t *dij = peer_connect("CO.DIJIN", 0, err, sizeof err);
    CHECK(pub && fbi && dij, "sessions up (%s)", err);
    if (!pub || !fbi || !dij)
        goto out;
    int code;
    uint32_t a = subscribe(fbi, "red", "alerts/#", ENLACE__START_MODE__START_NEW, 0, &code);
    uint32_t b = subscribe(dij, "red", "alerts/#", ENLACE__START_MODE__START_NEW, 0, &code);
    CHECK(a && b, "both subscribed");
    msg_spec_t m = {"alerts/red", ENLACE__TLP__TLP_RED, "US.FBI", NULL, "eyes only"};
    int64_t seq = publish(pub, &m, &code);
    CHECK(seq >= 0, "TLP:RED to US.FBI accepted");
    Enlace__Frame *d = peer_expect(fbi, ENLACE__FRAME__KIND_DELIVER, 5000);
    CHECK(d != NULL, "US.FBI (named) receives it");
    frame_free(&d);
    d = peer_expect(dij, ENLACE__FRAME__KIND_DELIVER, 1500);
    CHECK(d == NULL, "CO.DIJIN (not named) does not");
    frame_free(&d);
out:
    peer_free(&pub);
    peer_free(&fbi);
    peer_free(&dij);
    return 0;
}

/* argv[0]: phase "setup" | "publish N" | "resume N" */
static int sc_offline(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    char err[512] = "";
    int code;
    if (strcmp(argv[0], "setup") == 0) {
        peer_t *s = peer_connect("CO.DIJIN", 0, err, sizeof err);
        uint32_t id =
            s ? subscribe(s, "offline", "cases/#", ENLACE__START_MODE__START_NEW, 0, &code) : 0;
        CHECK(id != 0, "CO.DIJIN creates durable subscription 'offline' and goes away (%s)", err);
        peer_free(&s);
        return 0;
    }
    int n = argc > 1 ? atoi(argv[1]) : 50;
    if (strcmp(argv[0], "publish") == 0) {
        peer_t *p = peer_connect("MX.FGR", 0, err, sizeof err);
        int ok = 0;
        for (int i = 0; p && i < n; i++) {
            char text[64];
            snprintf(text, sizeof text, "case message %d", i);
            msg_spec_t m = {"cases/MX/trafficking", ENLACE__TLP__TLP_AMBER, "CO.DIJIN", NULL, text};
            if (publish(p, &m, &code) >= 0)
                ok++;
        }
        CHECK(ok == n, "%d of %d case messages acknowledged while CO.DIJIN is offline", ok, n);
        peer_free(&p);
        return 0;
    }
    peer_t *s = peer_connect("CO.DIJIN", 0, err, sizeof err);
    uint32_t id =
        s ? subscribe(s, "offline", "cases/#", ENLACE__START_MODE__START_RESUME, 0, &code) : 0;
    CHECK(id != 0, "CO.DIJIN resumes 'offline'");
    int got = 0, in_order = 1;
    uint64_t last = 0;
    for (int i = 0; id && i < n; i++) {
        Enlace__Frame *d = peer_expect(s, ENLACE__FRAME__KIND_DELIVER, 5000);
        if (!d)
            break;
        char plain[128] = "", want[64];
        snprintf(want, sizeof want, "case message %d", i);
        if (!verify_and_open(s, d->deliver, plain, sizeof plain) || strcmp(plain, want) != 0 ||
            (got && d->deliver->seq <= last))
            in_order = 0;
        last = d->deliver->seq;
        got++;
        ack(s, id, d->deliver->seq);
        frame_free(&d);
    }
    CHECK(got == n && in_order, "all %d messages arrive on resume, verified and in order (%d)", n,
          got);
    Enlace__Frame *extra = peer_expect(s, ENLACE__FRAME__KIND_DELIVER, 1000);
    CHECK(extra == NULL, "nothing is delivered twice");
    frame_free(&extra);
    peer_free(&s);
    return 0;
}

/* Slow consumer: argv[0] broker pid, argv[1] messages, argv[2] max RSS growth MiB */
static long rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static int sc_slow_consumer(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int pid = atoi(argv[0]), n = atoi(argv[1]);
    long limit_mib = atol(argv[2]);
    char err[512] = "";
    int code;
    peer_t *sub = peer_connect("US.FBI", 0, err, sizeof err);
    peer_t *pub = peer_connect("MX.FGR", 0, err, sizeof err);
    CHECK(sub && pub, "sessions up (%s)", err);
    if (!sub || !pub)
        goto out;
    uint32_t id = subscribe(sub, "slow", "bulk/#", ENLACE__START_MODE__START_NEW, 0, &code);
    CHECK(id != 0, "US.FBI subscribes to bulk/# and then stops reading");
    long before = rss_kib(pid);
    static char text[8192];
    memset(text, 'x', sizeof text - 1);
    msg_spec_t m = {"bulk/data", ENLACE__TLP__TLP_GREEN, "US.FBI", NULL, text};
    Enlace__Envelope *env = make_envelope(pub, &m);
    int ok = 0;
    /* Same payload, fresh message ids: re-seal is slow, so vary the id by resealing every 1 */
    envelope_free(&env);
    for (int i = 0; i < n; i++) {
        env = make_envelope(pub, &m);
        if (env && publish_env(pub, env, &code, NULL) >= 0)
            ok++;
        envelope_free(&env);
    }
    long after = rss_kib(pid);
    CHECK(ok == n, "%d messages of 8 KiB published while the subscriber does not read", ok);
    CHECK(after - before < limit_mib * 1024,
          "broker RSS grew by %ld KiB (limit %ld MiB): bounded by the session buffer",
          after - before, limit_mib);
    int got = 0;
    for (int i = 0; i < n; i++) {
        Enlace__Frame *d = peer_expect(sub, ENLACE__FRAME__KIND_DELIVER, 10000);
        if (!d)
            break;
        got++;
        ack(sub, id, d->deliver->seq);
        frame_free(&d);
    }
    CHECK(got == n, "the subscriber then reads all %d of %d", got, n);
out:
    peer_free(&sub);
    peer_free(&pub);
    return 0;
}

static int sc_receipt(int argc, char **argv)
{
    char err[512] = "";
    int code;
    peer_t *p = peer_connect("MX.FGR", 0, err, sizeof err);
    peer_t *o = peer_connect("BR.PF", 0, err, sizeof err);
    CHECK(p && o, "sessions up (%s)", err);
    if (!p || !o)
        goto out;
    msg_spec_t m = {"alerts/receipt", ENLACE__TLP__TLP_AMBER, "US.FBI", NULL, "prove me"};
    Enlace__Envelope *env = make_envelope(p, &m);
    int64_t seq = publish_env(p, env, &code, NULL);
    Enlace__Header *h = NULL;
    char why[256];
    codec_decode_header(env->header.data, env->header.len, &h, why, sizeof why);
    Enlace__ReceiptRequest rr = ENLACE__RECEIPT_REQUEST__INIT;
    rr.correlation_id = 7;
    rr.message_id = h->message_id;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_RECEIPT_REQUEST;
    f.receipt_request = &rr;
    peer_send(p, &f);
    Enlace__Frame *r = peer_expect(p, 0, 5000);
    CHECK(r && r->kind_case == ENLACE__FRAME__KIND_RECEIPT, "the sender gets a Receipt");
    if (r && r->kind_case == ENLACE__FRAME__KIND_RECEIPT) {
        Enlace__Receipt *rc = r->receipt;
        char *origin = NULL;
        uint64_t size = 0;
        uint8_t root[32], leaf[32];
        CHECK(checkpoint_open(rc->checkpoint, p->origin, p->ckpt_pub, &origin, &size, root) ==
                      ENLACE_OK &&
                  size == rc->tree_size,
              "its checkpoint is signed by the broker's key, tree size %llu",
              (unsigned long long)size);
        merkle_leaf_hash(rc->record.data, rc->record.len, leaf);
        uint8_t(*proof)[32] = calloc(rc->n_proof + 1, 32);
        for (size_t i = 0; i < rc->n_proof; i++)
            memcpy(proof[i], rc->proof[i].data, 32);
        CHECK((int64_t)rc->seq == seq &&
                  merkle_verify_inclusion(leaf, rc->seq, size, (const uint8_t(*)[32])proof,
                                          rc->n_proof, root) == ENLACE_OK,
              "the inclusion proof of seq %lld verifies against the checkpoint root",
              (long long)seq);
        free(proof);
        free(origin);
    }
    frame_free(&r);
    rr.correlation_id = 8;
    peer_send(o, &f);
    expect_error(o, ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED, "receipt asked by a non-recipient");
    uint8_t unknown[16] = {1, 2, 3};
    rr.message_id = (ProtobufCBinaryData){16, unknown};
    peer_send(p, &f);
    expect_error(p, ENLACE__ERROR_CODE__ERROR_NOT_FOUND, "receipt for an unknown message id");
    codec_free((ProtobufCMessage **)&h);
    envelope_free(&env);
out:
    peer_free(&p);
    peer_free(&o);
    return 0;
}

static int sc_audit_fetch(int argc, char **argv)
{
    char err[512] = "";
    peer_t *a = peer_connect("EU.EDPS", 0, err, sizeof err);
    CHECK(a != NULL, "the auditor connects (%s)", err);
    if (!a)
        return 0;
    Enlace__AuditFetch af = ENLACE__AUDIT_FETCH__INIT;
    af.correlation_id = 5;
    af.from_seq = 0;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_AUDIT_FETCH;
    f.audit_fetch = &af;
    peer_send(a, &f);
    Enlace__Frame *r = peer_expect(a, ENLACE__FRAME__KIND_AUDIT_RECORDS, 5000);
    CHECK(r && r->audit_records->n_records > 0, "AuditRecords returns %zu records of %llu",
          r ? r->audit_records->n_records : 0,
          r ? (unsigned long long)r->audit_records->log_size : 0ull);
    bool decoded = r != NULL;
    for (size_t i = 0; r && i < r->audit_records->n_records; i++) {
        Enlace__Record *rec = NULL;
        char why[128];
        if (codec_decode_record(r->audit_records->records[i].data, r->audit_records->records[i].len,
                                &rec, why, sizeof why) != ENLACE_OK ||
            rec->seq != i)
            decoded = false;
        codec_free((ProtobufCMessage **)&rec);
    }
    CHECK(decoded, "every record decodes and carries its sequence number");
    frame_free(&r);
    peer_free(&a);
    return 0;
}

/* Connects, prints READY, waits up to argv[1] seconds for Goodbye; argv[0] who. */
static int sc_wait_goodbye(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    char err[512] = "";
    peer_t *p = peer_connect(argv[0], 0, err, sizeof err);
    CHECK(p != NULL, "%s connects (%s)", argv[0], err);
    if (!p)
        return 0;
    printf("READY\n");
    fflush(stdout);
    Enlace__Frame *g = peer_expect(p, ENLACE__FRAME__KIND_GOODBYE, atoi(argv[1]) * 1000);
    CHECK(g != NULL, "the broker says Goodbye: %s", g ? g->goodbye->reason : "(none)");
    if (argc > 2)
        CHECK(g && strstr(g->goodbye->reason, argv[2]), "the reason mentions '%s'", argv[2]);
    frame_free(&g);
    peer_free(&p);
    return 0;
}

/* Publish as argv[0] to topic argv[1]; expect ok or the error code name argv[2]. */
static int sc_publish_expect(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    char err[512] = "";
    peer_t *p = peer_connect(argv[0], 0, err, sizeof err);
    CHECK(p != NULL, "%s connects (%s)", argv[0], err);
    if (!p)
        return 0;
    int code = 0;
    msg_spec_t m = {argv[1], ENLACE__TLP__TLP_GREEN, "US.FBI", NULL, "x"};
    int64_t seq = publish(p, &m, &code);
    if (strcmp(argv[2], "ok") == 0)
        CHECK(seq >= 0, "publish to %s accepted (%s)", argv[1], code ? code_name(code) : "ok");
    else
        CHECK(seq < 0 && strcmp(code_name(code), argv[2]) == 0, "publish to %s -> %s (%s)", argv[1],
              argv[2], code_name(code));
    peer_free(&p);
    return 0;
}

/* argv[0] WHO, argv[1] R: WHO's publish_rate is R/s. Two sessions share the bucket:
 * R publishes from the first pass, one more from the second is RATE_LIMITED (the
 * session stays usable), and after a second of refill a publish passes again. */
static int sc_rate(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int r = atoi(argv[1]);
    char err[512] = "";
    peer_t *a = peer_connect(argv[0], 0, err, sizeof err);
    peer_t *b = peer_connect(argv[0], 0, err, sizeof err);
    CHECK(a && b, "two sessions of %s (%s)", argv[0], err);
    if (!a || !b)
        goto out;
    msg_spec_t m = {"alerts/rate", ENLACE__TLP__TLP_GREEN, "US.FBI", NULL, "x"};
    int code = 0, ok = 0;
    for (int i = 0; i < r; i++)
        ok += publish(a, &m, &code) >= 0;
    CHECK(ok == r, "%d of %d publishes within the rate accepted", ok, r);
    CHECK(publish(b, &m, &code) < 0 && code == ENLACE__ERROR_CODE__ERROR_RATE_LIMITED,
          "one more from the agency's other session -> RATE_LIMITED (%s)", code_name(code));
    CHECK(ping_ok(b), "that session stays usable");
    usleep(1100000);
    CHECK(publish(b, &m, &code) >= 0, "after a second of refill a publish passes (%s)",
          code ? code_name(code) : "ok");
out:
    peer_free(&a);
    peer_free(&b);
    return 0;
}

/* argv[0] WHO, argv[1] N: N sessions are admitted, the next is refused TOO_MANY_SESSIONS. */
static int sc_session_limit(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int n = atoi(argv[1]);
    peer_t *held[64] = {0};
    char err[512] = "";
    int up = 0;
    for (int i = 0; i < n && i < 64; i++)
        if ((held[i] = peer_connect(argv[0], 0, err, sizeof err)) != NULL)
            up++;
    CHECK(up == n, "%d of %d sessions of %s admitted (%s)", up, n, argv[0], err);
    peer_t *extra = peer_connect(argv[0], 0, err, sizeof err);
    CHECK(extra == NULL && strstr(err, "TOO_MANY_SESSIONS"), "session %d is refused: %s", n + 1,
          extra ? "accepted!" : err);
    peer_free(&extra);
    peer_free(&held[0]);
    usleep(300000); /* the broker notices the close */
    err[0] = 0;
    extra = peer_connect(argv[0], 0, err, sizeof err);
    CHECK(extra != NULL, "after one closes, a new session is admitted again (%s)", err);
    peer_free(&extra);
    for (int i = 1; i < 64; i++)
        peer_free(&held[i]);
    return 0;
}

typedef struct scenario {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} scenario_t;

static const scenario_t scenarios[] = {
    {"connect-ok", sc_connect_ok, "[WHO]: connect, Welcome, Ping"},
    {"connect-refused", sc_connect_refused,
     "WHO|nocert|tls12|noalpn [TEXT]: refused, error contains TEXT"},
    {"exchange", sc_exchange, "publish, deliver to recipients only, verify and decrypt"},
    {"refusals", sc_refusals, "every publish/subscribe refusal, session stays usable"},
    {"malformed", sc_malformed, "oversize|zero|garbage|before-hello|server-frame"},
    {"tlp-red", sc_tlp_red, "TLP:RED reaches only named recipients"},
    {"offline", sc_offline, "setup | publish N | resume N"},
    {"slow-consumer", sc_slow_consumer, "PID N MIB: memory bounded, nothing lost"},
    {"receipt", sc_receipt, "inclusion proof against a signed checkpoint"},
    {"audit-fetch", sc_audit_fetch, "auditor fetches records"},
    {"wait-goodbye", sc_wait_goodbye, "WHO SECONDS [TEXT]: wait for the broker's Goodbye"},
    {"publish-expect", sc_publish_expect, "WHO TOPIC ok|ERROR_CODE"},
    {"session-limit", sc_session_limit, "WHO N: N sessions admitted, one more refused"},
    {"rate", sc_rate, "WHO R: publish_rate R/s shared by the agency's sessions"},
};

int main(int argc, char **argv)
{
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            g_port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--pki") == 0)
            g_pki = argv[i + 1];
    }
    if (!g_port || !g_pki || i >= argc) {
        fprintf(stderr, "usage: brokertest --port P --pki DIR SCENARIO [ARGS]\nscenarios:\n");
        for (size_t k = 0; k < sizeof scenarios / sizeof scenarios[0]; k++)
            fprintf(stderr, "  %-16s %s\n", scenarios[k].name, scenarios[k].help);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t k = 0; k < sizeof scenarios / sizeof scenarios[0]; k++) {
        if (strcmp(scenarios[k].name, argv[i]) == 0) {
            printf("scenario %s\n", argv[i]);
            int rc = scenarios[k].run(argc - i - 1, argv + i + 1);
            if (rc == 2) {
                fprintf(stderr, "brokertest: bad arguments for %s: %s\n", argv[i],
                        scenarios[k].help);
                return 2;
            }
            return g_failures ? 1 : 0;
        }
    }
    fprintf(stderr, "brokertest: unknown scenario %s\n", argv[i]);
    return 2;
}
