/* bench_broker — end-to-end broker benchmark: throughput, latency, idle sessions.
 *
 * Measures the DESIGN.md section 8 targets against a running enlace-broker over mutual TLS
 * on loopback (tests/bench/run-broker-bench.sh starts one with its own PKI and config):
 *   --throughput S  P publishers x S subscribers (default 4 x 4), 1 KiB payloads, Publish
 *                   frames pipelined (a window of W unacknowledged per publisher) for S
 *                   seconds at the highest rate the broker sustains;
 *   --latency R     the same sessions, R publishes/s in total, evenly paced: percentiles of
 *                   publish->PublishAck (durable) and publish->Deliver (every subscriber);
 *   --idle N        N idle sessions (TLS 1.3 mTLS handshake + Hello/Welcome): broker RSS
 *                   before and after.
 * Beside the figures it prints the machine's own ceilings (`openssl speed ecdsap256`
 * verify/s x cores; appends of 4 KiB + fdatasync per second in the log directory) and the
 * broker's CPU time from /proc/PID next to wall time and this program's own CPU time: on a
 * 2-core machine the client competes with the broker for the same cores.
 *
 * The client side is kept cheap so that it does not dominate: every publisher's Publish
 * frames are built before timing, back to back in one buffer, and incoming PublishAck and
 * Deliver frames are scanned at the protobuf wire level instead of being unpacked. Each
 * publisher seals (CMS, one ECDH per recipient) one envelope with envelope_seal(), then
 * gives every message its own header (message id) and its own signature by the agency key:
 * everything the broker checks differs per message; the ciphertext (and so payload_sha256)
 * is shared. Message ids are run id (8 bytes) || publisher (1) || index (7), which lets a
 * subscriber find the send time of what it receives.
 *
 * Usage: bench_broker --port P --pki DIR --broker-pid PID MODE [options]; --help lists them.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cert.h"
#include "codec.h"
#include "crypto.h"
#include "envelope.h"

#define MAX_PEERS 16
#define MAX_TASKS 64
#define NS 1000000000ull

enum mode { MODE_NONE, MODE_THROUGHPUT, MODE_LATENCY, MODE_IDLE };

/* Command line. */
static struct {
    enum mode mode;
    int port;
    const char *pki;
    int broker_pid;
    const char *log_dir;      /* where fdatasync is measured */
    const char *label;        /* broker configuration, printed in the title */
    double seconds;           /* measured window */
    double warmup;            /* excluded from the figures */
    double rate;              /* --latency: publishes/s in total */
    unsigned idle;            /* --idle: sessions */
    size_t payload;           /* plaintext bytes */
    unsigned window;          /* publishes in flight per publisher */
    unsigned ack_every;       /* DeliverAck after this many deliveries (or when idle) */
    size_t pool;              /* pre-built publishes in total (throughput) */
    const char *topic;
    char *pubs[MAX_PEERS], *subs[MAX_PEERS], *idles[MAX_PEERS];
    int n_pubs, n_subs, n_idles;
    bool ceilings, json;
} o = {.seconds = 5, .warmup = 1, .payload = 1024, .window = 256, .ack_every = 64,
       .topic = "bench/load", .ceilings = true};

/* One TLS connection to the broker, used by one thread. */
typedef struct conn {
    int fd;          /* TCP socket */
    SSL *ssl;        /* TLS 1.3 session */
    uint8_t *in;     /* received bytes not yet consumed as frames */
    size_t in_len;   /* bytes in `in` */
    size_t in_cap;   /* allocated size of `in` */
    char err[256];   /* what went wrong */
} conn_t;

/* A publishing session and its pre-built frames. */
typedef struct pub {
    int index;          /* publisher number, byte 8 of the message ids */
    const char *agency; /* agency id (certificate file name) */
    SSL_CTX *ctx;       /* TLS client context for this agency */
    conn_t c;           /* the connection */
    uint8_t *buf;       /* Publish frames (length-prefixed), back to back */
    size_t len, cap;    /* bytes used / allocated in buf */
    size_t *off;        /* frame i is buf[off[i] .. off[i+1]) */
    size_t n;           /* frames built */
    uint64_t *sent_ns;  /* send time of frame i (latency mode; atomic) */
    uint64_t *ack_ns;   /* publish->ack time of frame i (latency mode) */
    uint64_t queued;    /* frames handed to TLS (atomic) */
    uint64_t acked;     /* PublishAcks received (atomic) */
    uint64_t errors;    /* Error replies to publishes */
    char first_error[256]; /* text of the first one */
    bool failed;        /* the connection failed */
    pthread_t thread;
} pub_t;

/* A subscribing session. */
typedef struct sub {
    const char *agency; /* agency id */
    SSL_CTX *ctx;       /* TLS client context */
    conn_t c;           /* the connection */
    uint32_t sub_id;    /* subscription id from Subscribed */
    uint64_t received;  /* Deliver frames received (atomic) */
    uint64_t last_seq;  /* highest seq delivered */
    uint64_t unacked;   /* deliveries not yet acknowledged */
    uint64_t *lat;      /* publish->deliver samples, ns (latency mode) */
    size_t n_lat, cap_lat;
    bool failed;
    pthread_t thread;
} sub_t;

static pub_t g_pub[MAX_PEERS];
static sub_t g_sub[MAX_PEERS];
static uint8_t g_run_id[8];        /* first 8 bytes of every message id of this run */
static uint64_t g_t0;              /* schedule origin (monotonic ns) */
static uint64_t g_measure_from;    /* latency samples count from here */
static int g_stop;                 /* throughput: stop queueing (atomic) */
static uint64_t g_expect = UINT64_MAX; /* deliveries each subscriber must see (atomic) */
static uint64_t g_deadline;        /* give up waiting for acks/deliveries (atomic) */
static pthread_barrier_t g_start;  /* publishers wait for the monitor */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / NS), (long)(t % NS)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void path_of(char *out, size_t len, const char *agency, const char *ext)
{
    snprintf(out, len, "%s/agencies/%s.%s", o.pki, agency, ext);
}

/* ------------------------------------------------------------------ connections */

static SSL_CTX *client_ctx(const char *agency)
{
    char crt[1024], key[1024], ca[1024];
    path_of(crt, sizeof crt, agency, "crt");
    path_of(key, sizeof key, agency, "key");
    snprintf(ca, sizeof ca, "%s/ca.pem", o.pki);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x08"
                                                            "enlace/1",
                                9) != 0) {
        fprintf(stderr, "bench_broker: cannot set up TLS for %s (%s)\n", agency, crt);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

static void conn_close(conn_t *c)
{
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Writes what the socket takes now: bytes written (0: would block), -1 on failure. */
static long conn_write_some(conn_t *c, const uint8_t *p, size_t n)
{
    if (n > (1u << 20))
        n = 1u << 20;
    ERR_clear_error();
    int w = SSL_write(c->ssl, p, (int)n);
    if (w > 0)
        return w;
    int e = SSL_get_error(c->ssl, w);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        return 0;
    snprintf(c->err, sizeof c->err, "write failed (TLS error %d)", e);
    return -1;
}

static int conn_write_all(conn_t *c, const uint8_t *p, size_t n)
{
    uint64_t end = now_ns() + 10 * NS;
    while (n > 0) {
        long w = conn_write_some(c, p, n);
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
        if (w == 0) {
            if (now_ns() > end) {
                snprintf(c->err, sizeof c->err, "write timed out");
                return -1;
            }
            struct pollfd pfd = {c->fd, POLLOUT | POLLIN, 0};
            poll(&pfd, 1, 100);
        }
    }
    return 0;
}

static int conn_send(conn_t *c, const Enlace__Frame *f)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (codec_encode_frame(f, &buf, &len) != ENLACE_OK)
        return -1;
    int rc = conn_write_all(c, buf, len);
    free(buf);
    return rc;
}

/* Reads what is there: >0 bytes read, 0 would block, -1 closed or failed. */
static long conn_read(conn_t *c)
{
    long total = 0;
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            size_t ncap = c->in_cap ? c->in_cap * 2 : 65536;
            uint8_t *n = realloc(c->in, ncap);
            if (!n)
                return -1;
            c->in = n;
            c->in_cap = ncap;
        }
        ERR_clear_error();
        int r = SSL_read(c->ssl, c->in + c->in_len, (int)(c->in_cap - c->in_len));
        if (r > 0) {
            c->in_len += (size_t)r;
            total += r;
            if (total >= 262144)
                return total; /* let the caller consume what is there */
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return total;
        snprintf(c->err, sizeof c->err, "connection %s",
                 e == SSL_ERROR_ZERO_RETURN ? "closed by the broker" : "lost");
        return total > 0 ? total : -1;
    }
}

/* Hands each complete frame body in c->in to fn, then keeps the incomplete rest. */
static void conn_frames(conn_t *c, void (*fn)(void *, const uint8_t *, size_t), void *arg)
{
    size_t pos = 0;
    while (c->in_len - pos >= 4) {
        const uint8_t *p = c->in + pos;
        size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (c->in_len - pos - 4 < n)
            break;
        fn(arg, p + 4, n);
        pos += 4 + n;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
}

/* Next whole frame unpacked (setup only: Welcome, Subscribed, Error); NULL on timeout. */
static Enlace__Frame *conn_wait_frame(conn_t *c, int timeout_ms)
{
    uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        if (c->in_len >= 4) {
            size_t n = (size_t)c->in[0] << 24 | (size_t)c->in[1] << 16 |
                       (size_t)c->in[2] << 8 | c->in[3];
            if (c->in_len - 4 >= n) {
                ProtobufCMessage *m = NULL;
                codec_unpack(&enlace__frame__descriptor, c->in + 4, n, codec_default_budget(n),
                             &m);
                memmove(c->in, c->in + 4 + n, c->in_len - 4 - n);
                c->in_len -= 4 + n;
                if (!m)
                    snprintf(c->err, sizeof c->err, "undecodable frame from the broker");
                return (Enlace__Frame *)m;
            }
        }
        if (conn_read(c) < 0 || now_ns() > end) {
            if (!c->err[0])
                snprintf(c->err, sizeof c->err, "no answer from the broker");
            return NULL;
        }
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (c->in_len < 4 || SSL_pending(c->ssl) == 0)
            poll(&pfd, 1, 50);
    }
}

static void error_text(conn_t *c, const Enlace__Frame *f, const char *expected)
{
    if (f && f->kind_case == ENLACE__FRAME__KIND_ERROR)
        snprintf(c->err, sizeof c->err, "broker Error %d: %s", (int)f->error->code,
                 f->error->text);
    else if (f)
        snprintf(c->err, sizeof c->err, "expected %s, got frame kind %d", expected,
                 (int)f->kind_case);
}

/* TCP + TLS 1.3 (blocking) + Hello/Welcome; the socket is non-blocking afterwards. */
static int conn_open(conn_t *c, SSL_CTX *ctx)
{
    memset(c, 0, sizeof *c);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(c->err, sizeof c->err, "connect: %s", strerror(errno));
        return -1;
    }
    c->ssl = SSL_new(ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set1_host(c->ssl, "127.0.0.1") != 1 ||
        SSL_connect(c->ssl) != 1) {
        unsigned long e = ERR_get_error();
        snprintf(c->err, sizeof c->err, "TLS handshake: %s",
                 e ? ERR_reason_error_string(e) : "closed");
        return -1;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    Enlace__Hello h = ENLACE__HELLO__INIT;
    h.version = 1;
    h.client_name = "bench_broker";
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_HELLO;
    f.hello = &h;
    if (conn_send(c, &f) != 0)
        return -1;
    Enlace__Frame *r = conn_wait_frame(c, 10000);
    int rc = r && r->kind_case == ENLACE__FRAME__KIND_WELCOME ? 0 : -1;
    if (rc != 0)
        error_text(c, r, "Welcome");
    codec_free((ProtobufCMessage **)&r);
    return rc;
}

/* ------------------------------------------------------- protobuf wire scanning */

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* Finds field `num` in message m[0..n): its varint value or its bytes. */
static bool pb_find(const uint8_t *m, size_t n, uint32_t num, uint64_t *v, const uint8_t **d,
                    size_t *len)
{
    const uint8_t *p = m, *end = m + n;
    while (p < end) {
        uint64_t key, x = 0;
        if (!pb_varint(&p, end, &key))
            return false;
        const uint8_t *data = p;
        switch (key & 7) {
        case 0:
            if (!pb_varint(&p, end, &x))
                return false;
            break;
        case 1: p += 8; break;
        case 2:
            if (!pb_varint(&p, end, &x) || x > (uint64_t)(end - p))
                return false;
            data = p;
            p += x;
            break;
        case 5: p += 4; break;
        default: return false;
        }
        if (p > end)
            return false;
        if ((key >> 3) == num) {
            if (v)
                *v = x;
            if (d) {
                *d = data;
                *len = (size_t)x;
            }
            return true;
        }
    }
    return false;
}

/* ----------------------------------------------------------------- publishers */

/* Builds p->n Publish frames: one sealed envelope, then a header + signature per message. */
static int build_pool(pub_t *p, X509 *const *rcpt, char **rcpt_ids, size_t n)
{
    char crt[1024], keyp[1024];
    path_of(crt, sizeof crt, p->agency, "crt");
    path_of(keyp, sizeof keyp, p->agency, "key");
    X509 *cert = cert_load_pem(crt);
    EVP_PKEY *key = crypto_load_private_key(keyp);
    uint8_t *plain = calloc(1, o.payload + 1);
    Enlace__Envelope *tmpl = NULL;
    Enlace__Header *th = NULL;
    int rc = -1;
    Enlace__Header h = ENLACE__HEADER__INIT;
    h.sender = (char *)p->agency;
    h.topic = (char *)o.topic;
    h.n_recipients = (size_t)o.n_subs;
    h.recipients = rcpt_ids;
    h.message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_ALERT;
    h.tlp = ENLACE__TLP__TLP_AMBER;
    h.has_handling = true;
    h.handling = ENLACE__HANDLING__HANDLING_H2;
    h.case_ref = "BENCH-2026-0001";
    if (!cert || !key || !plain || random_bytes(plain, o.payload) != ENLACE_OK ||
        envelope_seal(&h, plain, o.payload, rcpt, (size_t)o.n_subs, cert, key, &tmpl) !=
            ENLACE_OK ||
        !(th = enlace__header__unpack(NULL, tmpl->header.len, tmpl->header.data)) ||
        th->message_id.len != 16) {
        fprintf(stderr, "bench_broker: cannot seal a template envelope for %s\n", p->agency);
        goto out;
    }
    p->off = calloc(n + 1, sizeof *p->off);
    p->sent_ns = calloc(n, sizeof *p->sent_ns);
    p->ack_ns = calloc(n, sizeof *p->ack_ns);
    if (!p->off || !p->sent_ns || !p->ack_ns)
        goto out;
    for (size_t i = 0; i < n; i++) {
        memcpy(th->message_id.data, g_run_id, 8);
        th->message_id.data[8] = (uint8_t)p->index;
        for (int b = 0; b < 7; b++)
            th->message_id.data[9 + b] = (uint8_t)((uint64_t)i >> (8 * (6 - b)));
        uint8_t *hdr = NULL, *input = NULL, *sig = NULL;
        size_t hdr_len = 0, input_len = 0, sig_len = 0;
        bool ok = codec_pack(&th->base, &hdr, &hdr_len) == ENLACE_OK &&
                  envelope_signature_input(hdr, hdr_len, &input, &input_len) == ENLACE_OK &&
                  crypto_sign(key, input, input_len, &sig, &sig_len) == ENLACE_OK;
        Enlace__Envelope e = ENLACE__ENVELOPE__INIT;
        e.header = (ProtobufCBinaryData){hdr_len, hdr};
        e.payload = tmpl->payload;
        e.signature = (ProtobufCBinaryData){sig_len, sig};
        Enlace__Publish pb = ENLACE__PUBLISH__INIT;
        pb.correlation_id = i + 1;
        pb.envelope = &e;
        Enlace__Frame f = ENLACE__FRAME__INIT;
        f.kind_case = ENLACE__FRAME__KIND_PUBLISH;
        f.publish = &pb;
        size_t sz = ok ? enlace__frame__get_packed_size(&f) : 0;
        if (ok && p->len + sz + 4 > p->cap) {
            size_t ncap = p->cap ? p->cap * 2 : (sz + 4) * n + 4096;
            uint8_t *nb = realloc(p->buf, ncap);
            ok = nb != NULL;
            if (ok) {
                p->buf = nb;
                p->cap = ncap;
            }
        }
        if (ok) {
            uint8_t *w = p->buf + p->len;
            w[0] = (uint8_t)(sz >> 24), w[1] = (uint8_t)(sz >> 16);
            w[2] = (uint8_t)(sz >> 8), w[3] = (uint8_t)sz;
            enlace__frame__pack(&f, w + 4);
            p->off[i] = p->len;
            p->len += sz + 4;
        }
        free(hdr);
        free(input);
        free(sig);
        if (!ok)
            goto out;
    }
    p->off[n] = p->len;
    p->n = n;
    rc = 0;
out:
    if (th)
        enlace__header__free_unpacked(th, NULL);
    envelope_free(&tmpl);
    free(plain);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

/* The kind of a Frame (its oneof field number) and the kind's body; 0 when unreadable. */
static uint32_t frame_kind(const uint8_t *f, size_t n, const uint8_t **d, size_t *len)
{
    const uint8_t *p = f, *end = f + n;
    uint64_t key = 0, l = 0;
    if (!pb_varint(&p, end, &key) || (key & 7) != 2 || !pb_varint(&p, end, &l) ||
        l > (uint64_t)(end - p))
        return 0;
    *d = p;
    *len = (size_t)l;
    return (uint32_t)(key >> 3);
}

static void pub_frame(void *arg, const uint8_t *f, size_t n)
{
    pub_t *p = arg;
    const uint8_t *d = NULL, *t = NULL;
    size_t len = 0, tl = 0;
    uint64_t corr = 0;
    uint32_t kind = frame_kind(f, n, &d, &len);
    if (kind != ENLACE__FRAME__KIND_PUBLISH_ACK && kind != ENLACE__FRAME__KIND_ERROR)
        return;
    pb_find(d, len, kind == ENLACE__FRAME__KIND_ERROR ? 3 : 1, &corr, NULL, NULL);
    if (corr >= 1 && corr <= p->n) {
        uint64_t s = __atomic_load_n(&p->sent_ns[corr - 1], __ATOMIC_RELAXED);
        if (s)
            p->ack_ns[corr - 1] = now_ns() - s;
    }
    if (kind == ENLACE__FRAME__KIND_PUBLISH_ACK) {
        __atomic_add_fetch(&p->acked, 1, __ATOMIC_RELAXED);
    } else if (p->errors++ == 0 && pb_find(d, len, 2, NULL, &t, &tl)) {
        snprintf(p->first_error, sizeof p->first_error, "%.*s", (int)tl, (const char *)t);
    }
}

/* Send time of frame i in latency mode: messages k = i*P + index, evenly spaced. */
static uint64_t due_ns(const pub_t *p, size_t i)
{
    double k = (double)i * o.n_pubs + p->index;
    return g_t0 + (uint64_t)(k * 1e9 / o.rate);
}

static void *pub_main(void *arg)
{
    pub_t *p = arg;
    pthread_barrier_wait(&g_start);
    size_t queued = 0, woff = 0;
    for (;;) {
        uint64_t now = now_ns();
        uint64_t done = __atomic_load_n(&p->acked, __ATOMIC_RELAXED) + p->errors;
        bool stopping = __atomic_load_n(&g_stop, __ATOMIC_ACQUIRE);
        if (o.mode == MODE_LATENCY) {
            while (queued < p->n && due_ns(p, queued) <= now)
                __atomic_store_n(&p->sent_ns[queued++], now, __ATOMIC_RELAXED);
        } else if (!stopping) {
            while (queued < p->n && queued - done < o.window)
                queued++;
        }
        __atomic_store_n(&p->queued, queued, __ATOMIC_RELAXED);
        while (woff < p->off[queued]) {
            long w = conn_write_some(&p->c, p->buf + woff, p->off[queued] - woff);
            if (w < 0)
                goto fail;
            if (w == 0)
                break;
            woff += (size_t)w;
        }
        long r = conn_read(&p->c);
        if (r < 0)
            goto fail;
        conn_frames(&p->c, pub_frame, p);
        done = __atomic_load_n(&p->acked, __ATOMIC_RELAXED) + p->errors;
        if ((stopping || queued == p->n) && done == queued)
            break;
        if (now > __atomic_load_n(&g_deadline, __ATOMIC_RELAXED)) {
            snprintf(p->c.err, sizeof p->c.err, "%zu publishes unanswered at the deadline",
                     (size_t)(queued - done));
            goto fail;
        }
        if (r > 0 && SSL_pending(p->c.ssl) > 0)
            continue;
        uint64_t wait = 100000000u; /* 100 ms */
        if (o.mode == MODE_LATENCY && queued < p->n) {
            uint64_t due = due_ns(p, queued), t = now_ns();
            wait = due > t ? due - t : 0;
        }
        struct pollfd pfd = {p->c.fd, (short)(POLLIN | (woff < p->off[queued] ? POLLOUT : 0)), 0};
        struct timespec ts = {(time_t)(wait / NS), (long)(wait % NS)};
        ppoll(&pfd, 1, &ts, NULL);
    }
    return NULL;
fail:
    p->failed = true;
    fprintf(stderr, "bench_broker: publisher %s: %s\n", p->agency, p->c.err);
    return NULL;
}

/* ---------------------------------------------------------------- subscribers */

static void sub_ack(sub_t *s)
{
    if (!s->unacked)
        return;
    Enlace__DeliverAck a = ENLACE__DELIVER_ACK__INIT;
    a.subscription_id = s->sub_id;
    a.seq = s->last_seq;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_DELIVER_ACK;
    f.deliver_ack = &a;
    if (conn_send(&s->c, &f) != 0)
        s->failed = true;
    s->unacked = 0;
}

static void sub_frame(void *arg, const uint8_t *f, size_t n)
{
    sub_t *s = arg;
    const uint8_t *d = NULL, *env = NULL, *hdr = NULL, *id = NULL;
    size_t len = 0, env_len = 0, hdr_len = 0, id_len = 0;
    uint64_t seq = 0;
    uint32_t kind = frame_kind(f, n, &d, &len);
    if (kind == ENLACE__FRAME__KIND_ERROR || kind == ENLACE__FRAME__KIND_GOODBYE) {
        pb_find(d, len, kind == ENLACE__FRAME__KIND_ERROR ? 2 : 1, NULL, &id, &id_len);
        fprintf(stderr, "bench_broker: subscriber %s got %s: %.*s\n", s->agency,
                kind == ENLACE__FRAME__KIND_ERROR ? "Error" : "Goodbye", (int)id_len,
                id ? (const char *)id : "");
        return;
    }
    if (kind != ENLACE__FRAME__KIND_DELIVER || !pb_find(d, len, 2, &seq, NULL, NULL))
        return;
    __atomic_add_fetch(&s->received, 1, __ATOMIC_RELAXED);
    s->last_seq = seq;
    if (o.mode == MODE_LATENCY && pb_find(d, len, 3, NULL, &env, &env_len) &&
        pb_find(env, env_len, 1, NULL, &hdr, &hdr_len) &&
        pb_find(hdr, hdr_len, 1, NULL, &id, &id_len) && id_len == 16 &&
        memcmp(id, g_run_id, 8) == 0 && id[8] < o.n_pubs) {
        uint64_t i = 0;
        for (int b = 9; b < 16; b++)
            i = i << 8 | id[b];
        const pub_t *p = &g_pub[id[8]];
        uint64_t sent = i < p->n ? __atomic_load_n(&p->sent_ns[i], __ATOMIC_RELAXED) : 0;
        if (sent >= g_measure_from && s->n_lat < s->cap_lat)
            s->lat[s->n_lat++] = now_ns() - sent;
    }
    if (++s->unacked >= o.ack_every)
        sub_ack(s);
}

static void *sub_main(void *arg)
{
    sub_t *s = arg;
    for (;;) {
        long r = conn_read(&s->c);
        if (r < 0) {
            s->failed = true;
            break;
        }
        conn_frames(&s->c, sub_frame, s);
        if (r > 0 && SSL_pending(s->c.ssl) > 0)
            continue;
        sub_ack(s); /* idle: acknowledge what arrived */
        if (s->failed ||
            __atomic_load_n(&s->received, __ATOMIC_RELAXED) >=
                __atomic_load_n(&g_expect, __ATOMIC_ACQUIRE) ||
            now_ns() > __atomic_load_n(&g_deadline, __ATOMIC_RELAXED))
            break;
        struct pollfd pfd = {s->c.fd, POLLIN, 0};
        poll(&pfd, 1, 50);
    }
    if (s->failed)
        fprintf(stderr, "bench_broker: subscriber %s: %s\n", s->agency, s->c.err);
    return NULL;
}

static int sub_open(sub_t *s, int k)
{
    if (conn_open(&s->c, s->ctx) != 0)
        return -1;
    char name[64];
    snprintf(name, sizeof name, "bench-%d-%d", (int)getpid(), k);
    char filter[300];
    snprintf(filter, sizeof filter, "%s", o.topic);
    Enlace__Subscribe sb = ENLACE__SUBSCRIBE__INIT;
    sb.correlation_id = 1;
    sb.name = name;
    sb.filter = filter;
    sb.start = ENLACE__START_MODE__START_NEW;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_SUBSCRIBE;
    f.subscribe = &sb;
    if (conn_send(&s->c, &f) != 0)
        return -1;
    Enlace__Frame *r = conn_wait_frame(&s->c, 10000);
    int rc = r && r->kind_case == ENLACE__FRAME__KIND_SUBSCRIBED ? 0 : -1;
    if (rc == 0)
        s->sub_id = r->subscribed->subscription_id;
    else
        error_text(&s->c, r, "Subscribed");
    codec_free((ProtobufCMessage **)&r);
    return rc;
}
