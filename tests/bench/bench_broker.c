/* bench_broker — end-to-end broker benchmark: throughput, latency, idle sessions.
 *
 * Measures the DESIGN.md section 8 targets against a running enlace-broker over mutual TLS
 * on loopback (tests/bench/run-broker-bench.sh starts one with its own PKI and config):
 *   --throughput T  4 publishers x 4 subscribers (--publishers, --subscribers), 1 KiB
 *                   payloads, Publish frames pipelined (--window unacknowledged per
 *                   publisher) for T seconds at the highest rate the broker sustains;
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
#include <signal.h>
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
#include "wire.h"

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
    const char *log_dir; /* where fdatasync is measured */
    const char *label;   /* broker configuration, printed in the title */
    double seconds;      /* measured window */
    double warmup;       /* excluded from the figures */
    double rate;         /* --latency: publishes/s in total */
    unsigned idle;       /* --idle: sessions */
    size_t payload;      /* plaintext bytes */
    unsigned window;     /* publishes in flight per publisher */
    unsigned dwindow;    /* published but not yet delivered to every subscriber (0: no limit) */
    unsigned ack_every;  /* DeliverAck after this many deliveries (or when idle) */
    bool ack_idle;       /* also DeliverAck whenever the socket has nothing more */
    size_t pool;         /* pre-built publishes in total (throughput) */
    const char *topic;
    char *pubs[MAX_PEERS], *subs[MAX_PEERS], *idles[MAX_PEERS];
    int n_pubs, n_subs, n_idles;
    bool ceilings, json;
    double verify_given; /* --verify-per-core: skip openssl speed */
    bool same_work;      /* broker runs verify_signatures = false, fsync = batch-ms */
} o = {.seconds = 5,
       .warmup = 1,
       .payload = 1024,
       .window = 1024,
       .dwindow = 1024,
       .ack_every = 64,
       .topic = "bench/load",
       .ack_idle = true,
       .ceilings = true};

/* One TLS connection to the broker, used by one thread. */
typedef struct conn {
    int fd;        /* TCP socket */
    SSL *ssl;      /* TLS 1.3 session */
    uint8_t *in;   /* received bytes not yet consumed as frames */
    size_t in_len; /* bytes in `in` */
    size_t in_cap; /* allocated size of `in` */
    char err[256]; /* what went wrong */
} conn_t;

/* A publishing session and its pre-built frames. */
typedef struct pub {
    int index;             /* publisher number, byte 8 of the message ids */
    const char *agency;    /* agency id (certificate file name) */
    SSL_CTX *ctx;          /* TLS client context for this agency */
    conn_t c;              /* the connection */
    uint8_t *buf;          /* Publish frames (length-prefixed), back to back */
    size_t len, cap;       /* bytes used / allocated in buf */
    size_t *off;           /* frame i is buf[off[i] .. off[i+1]) */
    size_t n;              /* frames built */
    uint64_t *sent_ns;     /* send time of frame i (latency mode; atomic) */
    uint64_t *ack_ns;      /* publish->ack time of frame i (latency mode) */
    uint64_t queued;       /* frames handed to TLS (atomic) */
    uint64_t acked;        /* PublishAcks received (atomic) */
    uint64_t errors;       /* Error replies to publishes */
    char first_error[256]; /* text of the first one */
    bool failed;           /* the connection failed */
    pthread_t thread;
} pub_t;

/* A subscribing session. */
typedef struct sub {
    const char *agency;       /* agency id */
    SSL_CTX *ctx;             /* TLS client context */
    conn_t c;                 /* the connection */
    uint32_t sub_id;          /* subscription id from Subscribed */
    uint64_t received;        /* Deliver frames received (atomic) */
    uint64_t from[MAX_PEERS]; /* of which from each publisher (atomic) */
    uint64_t last_seq;        /* highest seq delivered */
    uint64_t unacked;         /* deliveries not yet acknowledged */
    uint64_t *lat;            /* publish->deliver samples, ns (latency mode) */
    size_t n_lat, cap_lat;
    bool failed;
    pthread_t thread;
} sub_t;

static pub_t g_pub[MAX_PEERS];
static sub_t g_sub[MAX_PEERS];
static uint8_t g_run_id[8];            /* first 8 bytes of every message id of this run */
static uint64_t g_t0;                  /* schedule origin (monotonic ns) */
static uint64_t g_measure_from;        /* latency samples count from here */
static int g_stop;                     /* throughput: stop queueing (atomic) */
static uint64_t g_expect = UINT64_MAX; /* deliveries each subscriber must see (atomic) */
static uint64_t g_deadline;            /* give up waiting for acks/deliveries (atomic) */
static pthread_barrier_t g_start;      /* publishers wait for the monitor */

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
        SSL_CTX_set_alpn_protos(ctx,
                                (const unsigned char *)"\x08"
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
        size_t n = wire_get_be32(p);
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
            size_t n = wire_get_be32(c->in);
            if (c->in_len - 4 >= n) {
                ProtobufCMessage *m = NULL;
                codec_unpack(&enlace__frame__descriptor, c->in + 4, n, codec_default_budget(n), &m);
                memmove(c->in, c->in + 4 + n, c->in_len - 4 - n);
                c->in_len -= 4 + n;
                if (!m)
                    snprintf(c->err, sizeof c->err, "undecodable frame from the broker");
                return (Enlace__Frame *)m;
            }
        }
        long r = conn_read(c);
        if (r < 0 || now_ns() > end) {
            if (!c->err[0])
                snprintf(c->err, sizeof c->err, "no answer from the broker");
            return NULL;
        }
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (r == 0)
            poll(&pfd, 1, 50);
    }
}

static void error_text(conn_t *c, const Enlace__Frame *f, const char *expected)
{
    if (f && f->kind_case == ENLACE__FRAME__KIND_ERROR)
        snprintf(c->err, sizeof c->err, "broker Error %d: %s", (int)f->error->code, f->error->text);
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
    bool gated = false; /* waiting for deliveries, which no socket of ours announces */
    for (;;) {
        uint64_t now = now_ns();
        uint64_t done = __atomic_load_n(&p->acked, __ATOMIC_RELAXED) + p->errors;
        bool stopping = __atomic_load_n(&g_stop, __ATOMIC_ACQUIRE);
        if (o.mode == MODE_LATENCY) {
            while (queued < p->n && due_ns(p, queued) <= now)
                __atomic_store_n(&p->sent_ns[queued++], now, __ATOMIC_RELAXED);
        } else if (!stopping) {
            /* End to end: at most --deliver-window of ours not yet delivered everywhere. */
            uint64_t dmin = UINT64_MAX;
            for (int k = 0; o.dwindow && k < o.n_subs; k++) {
                uint64_t v = __atomic_load_n(&g_sub[k].from[p->index], __ATOMIC_ACQUIRE);
                dmin = v < dmin ? v : dmin;
            }
            while (queued < p->n && queued - done < o.window &&
                   (!o.dwindow || queued - dmin < o.dwindow))
                queued++;
            gated = o.dwindow && queued - dmin >= o.dwindow && queued - done < o.window;
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
        uint64_t wait = gated ? 1000000u : 100000000u; /* 1 ms : 100 ms */
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
    if (pb_find(d, len, 3, NULL, &env, &env_len) &&
        pb_find(env, env_len, 1, NULL, &hdr, &hdr_len) &&
        pb_find(hdr, hdr_len, 1, NULL, &id, &id_len) && id_len == 16 &&
        memcmp(id, g_run_id, 8) == 0 && id[8] < o.n_pubs) {
        __atomic_add_fetch(&s->from[id[8]], 1, __ATOMIC_RELEASE);
    }
    if (o.mode == MODE_LATENCY && id_len == 16 && memcmp(id, g_run_id, 8) == 0 &&
        id[8] < o.n_pubs) {
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
        if (o.ack_idle)
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

/* ------------------------------------------------------- machine, broker, figures */

/* `openssl speed -seconds 2 ecdsap256`: verify/s of one core (0 when unavailable). */
static double openssl_verify_per_core(void)
{
    FILE *f = popen("openssl speed -seconds 2 ecdsap256 2>/dev/null", "r");
    char line[512];
    double sign = 0, verify = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "ecdsa (nistp256)");
        if (p && sscanf(p + strlen("ecdsa (nistp256)"), "%*fs %*fs %lf %lf", &sign, &verify) != 2)
            verify = 0;
    }
    if (f)
        pclose(f);
    return verify;
}

static void percentiles(uint64_t *v, size_t n, double out[4]);

/* Appends of 4 KiB, each followed by fdatasync, per second for 2 s in dir; lat gets the
 * p50, p90, p99 and max of one append + fdatasync in ms. */
static double fdatasync_rate(const char *dir, double lat[4])
{
    char path[1024];
    snprintf(path, sizeof path, "%s/.bench-fdatasync-%d", dir, (int)getpid());
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
    size_t cap = 1u << 20, n = 0;
    uint64_t *v = calloc(cap, sizeof *v);
    if (fd < 0 || !v) {
        free(v);
        if (fd >= 0)
            close(fd);
        return 0;
    }
    uint8_t block[4096];
    memset(block, 0x5a, sizeof block);
    uint64_t start = now_ns(), end = start + 2 * NS, t = start;
    while (t < end && n < cap && write(fd, block, sizeof block) == (ssize_t)sizeof block &&
           fdatasync(fd) == 0) {
        uint64_t t2 = now_ns();
        v[n++] = t2 - t;
        t = t2;
    }
    double rate = (double)n / ((double)(now_ns() - start) / 1e9);
    percentiles(v, n, lat);
    free(v);
    close(fd);
    unlink(path);
    return rate;
}

/* utime + stime of /proc/.../stat in seconds; comm copied when asked. */
static double proc_cpu(const char *path, char *comm, size_t comm_len)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!open_p || !close_p ||
        sscanf(close_p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    if (comm)
        snprintf(comm, comm_len, "%.*s", (int)(close_p - open_p - 1), open_p + 1);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double broker_rss_mib(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", o.broker_pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib < 0 ? -1 : (double)kib / 1024.0;
}

/* The broker's threads (by tid) and their CPU seconds. */
typedef struct tasks {
    int n;
    int tid[MAX_TASKS];
    char comm[MAX_TASKS][32];
    double cpu[MAX_TASKS];
} tasks_t;

static int cmp_int(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static void read_tasks(tasks_t *t)
{
    char path[128];
    t->n = 0;
    snprintf(path, sizeof path, "/proc/%d/task", o.broker_pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d)) != NULL && t->n < MAX_TASKS;)
        if (e->d_name[0] != '.')
            t->tid[t->n++] = atoi(e->d_name);
    if (d)
        closedir(d);
    qsort(t->tid, (size_t)t->n, sizeof t->tid[0], cmp_int);
    for (int i = 0; i < t->n; i++) {
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", o.broker_pid, t->tid[i]);
        t->cpu[i] = proc_cpu(path, t->comm[i], sizeof t->comm[i]);
    }
}

/* Counters and CPU times at one instant of a load run. */
typedef struct sample {
    uint64_t t;         /* monotonic ns */
    uint64_t acked;     /* PublishAcks, all publishers */
    uint64_t delivered; /* Delivers, all subscribers */
    double broker_cpu;  /* broker CPU seconds */
    double self_cpu;    /* this process's CPU seconds */
    double busy, steal; /* whole machine: busy and stolen CPU seconds (/proc/stat) */
    tasks_t tasks;      /* per broker thread */
} sample_t;

/* Busy (everything but idle and iowait, steal excluded) and steal seconds of all cores. */
static void machine_cpu(double *busy, double *steal)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7]) != 8)
        memset(v, 0, sizeof v);
    if (f)
        fclose(f);
    double hz = (double)sysconf(_SC_CLK_TCK);
    *busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
    *steal = (double)v[7] / hz;
}

static void take_sample(sample_t *s)
{
    s->t = now_ns();
    s->acked = s->delivered = 0;
    for (int i = 0; i < o.n_pubs; i++)
        s->acked += __atomic_load_n(&g_pub[i].acked, __ATOMIC_RELAXED);
    for (int i = 0; i < o.n_subs; i++)
        s->delivered += __atomic_load_n(&g_sub[i].received, __ATOMIC_RELAXED);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    s->self_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    machine_cpu(&s->busy, &s->steal);
    s->broker_cpu = 0;
    s->tasks.n = 0;
    if (o.broker_pid > 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", o.broker_pid);
        s->broker_cpu = proc_cpu(path, NULL, 0);
        read_tasks(&s->tasks);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    return (*(const uint64_t *)a > *(const uint64_t *)b) -
           (*(const uint64_t *)a < *(const uint64_t *)b);
}

/* p50, p90, p99, max of v[0..n) in ms (nearest rank); v is sorted in place. */
static void percentiles(uint64_t *v, size_t n, double out[4])
{
    static const double q[3] = {0.50, 0.90, 0.99};
    memset(out, 0, 4 * sizeof *out);
    if (n == 0)
        return;
    qsort(v, n, sizeof *v, cmp_u64);
    for (int i = 0; i < 3; i++) {
        size_t rank = (size_t)(q[i] * (double)n + 0.999999);
        out[i] = (double)v[rank ? rank - 1 : 0] / 1e6;
    }
    out[3] = (double)v[n - 1] / 1e6;
}

/* Everything a run reports. */
typedef struct result {
    int cores;
    double verify_core, fsync_rate; /* machine ceilings (0: not measured) */
    double fsync_ms[4];             /* one append + fdatasync: p50 p90 p99 max */
    size_t frame_bytes;             /* size of one Publish frame */
    double window_s;                /* measured wall time */
    double pub_rate, del_rate;      /* over the window */
    double sec_min, sec_max;        /* per-second publish rate extremes */
    double broker_cpu, client_cpu;  /* CPU seconds per wall second */
    sample_t a, b;                  /* window start and end */
    double ack_ms[4], del_ms[4];    /* latency percentiles (p50 p90 p99 max) */
    size_t n_ack, n_del;            /* samples behind them */
    uint64_t published, delivered;  /* whole run */
    uint64_t errors;                /* Error replies to publishes */
    const char *first_error;        /* text of one */
    double drain_s;                 /* subscribers' catch-up after publishers stopped */
    bool exhausted, failed;         /* pool ran out; a connection failed */
    double rss0, rss1, open_s;      /* idle mode */
    unsigned sessions;              /* idle sessions opened */
} result_t;

typedef struct pool_job {
    pub_t *p;
    X509 **rcpt;
    char **ids;
    size_t n;
    int rc;
} pool_job_t;

static void *pool_main(void *arg)
{
    pool_job_t *j = arg;
    j->rc = build_pool(j->p, j->rcpt, j->ids, j->n);
    return NULL;
}

/* Clients' TLS contexts, one per agency. */
static SSL_CTX *ctx_for(const char *agency)
{
    static const char *names[3 * MAX_PEERS];
    static SSL_CTX *ctxs[3 * MAX_PEERS];
    static int n;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], agency) == 0)
            return ctxs[i];
    if (n == 3 * MAX_PEERS)
        return NULL;
    names[n] = agency;
    ctxs[n] = client_ctx(agency);
    return ctxs[n++];
}

static int run_load(result_t *r)
{
    int np = o.n_pubs, ns = o.n_subs;
    size_t per = o.mode == MODE_LATENCY
                     ? (size_t)(o.rate * (o.warmup + o.seconds) / np) + 1
                     : (o.pool ? o.pool : (size_t)((o.warmup + o.seconds) * 16000)) / (size_t)np;
    X509 *rcpt[MAX_PEERS] = {0};
    for (int i = 0; i < ns; i++) {
        char crt[1024];
        path_of(crt, sizeof crt, o.subs[i], "crt");
        if (!(rcpt[i] = cert_load_pem(crt))) {
            fprintf(stderr, "bench_broker: cannot load %s\n", crt);
            return -1;
        }
    }
    /* Pools are built in parallel, before anything is timed. */
    pool_job_t jobs[MAX_PEERS];
    pthread_t th[MAX_PEERS];
    uint64_t t_build = now_ns();
    for (int i = 0; i < np; i++) {
        g_pub[i].index = i;
        g_pub[i].agency = o.pubs[i];
        jobs[i] = (pool_job_t){&g_pub[i], rcpt, o.subs, per, -1};
        pthread_create(&th[i], NULL, pool_main, &jobs[i]);
    }
    int bad = 0;
    for (int i = 0; i < np; i++) {
        pthread_join(th[i], NULL);
        bad |= jobs[i].rc;
    }
    for (int i = 0; i < ns; i++)
        X509_free(rcpt[i]);
    if (bad)
        return -1;
    r->frame_bytes = g_pub[0].off[1] - g_pub[0].off[0];
    fprintf(stderr, "bench_broker: %zu publishes pre-built in %.1f s\n", per * (size_t)np,
            (double)(now_ns() - t_build) / 1e9);
    for (int i = 0; i < ns; i++) {
        sub_t *s = &g_sub[i];
        s->agency = o.subs[i];
        s->cap_lat = o.mode == MODE_LATENCY ? per * (size_t)np : 0;
        s->lat = calloc(s->cap_lat + 1, sizeof *s->lat);
        if (!(s->ctx = ctx_for(s->agency)) || !s->lat || sub_open(s, i) != 0) {
            fprintf(stderr, "bench_broker: subscriber %s: %s\n", s->agency, s->c.err);
            return -1;
        }
    }
    for (int i = 0; i < np; i++) {
        pub_t *p = &g_pub[i];
        if (!(p->ctx = ctx_for(p->agency)) || conn_open(&p->c, p->ctx) != 0) {
            fprintf(stderr, "bench_broker: publisher %s: %s\n", p->agency, p->c.err);
            return -1;
        }
    }
    g_deadline = UINT64_MAX;
    pthread_barrier_init(&g_start, NULL, (unsigned)np + 1);
    for (int i = 0; i < ns; i++)
        pthread_create(&g_sub[i].thread, NULL, sub_main, &g_sub[i]);
    for (int i = 0; i < np; i++)
        pthread_create(&g_pub[i].thread, NULL, pub_main, &g_pub[i]);
    g_t0 = now_ns() + 20000000u;
    g_measure_from = g_t0 + (uint64_t)(o.warmup * 1e9);
    pthread_barrier_wait(&g_start);
    /* Window: [t0 + warm-up, t0 + warm-up + seconds], sampled every second. */
    sleep_until(g_measure_from);
    take_sample(&r->a);
    sample_t prev = r->a, cur;
    uint64_t end = g_measure_from + (uint64_t)(o.seconds * 1e9);
    r->sec_min = 1e18;
    for (uint64_t next = r->a.t + NS;; next += NS) {
        while (now_ns() < (next < end ? next : end)) {
            sleep_until(now_ns() + 100000000u < next ? now_ns() + 100000000u : next);
            for (int i = 0; i < np; i++)
                if (o.mode == MODE_THROUGHPUT &&
                    __atomic_load_n(&g_pub[i].queued, __ATOMIC_RELAXED) == g_pub[i].n)
                    r->exhausted = true;
            if (r->exhausted)
                break;
        }
        take_sample(&cur);
        double rate = (double)(cur.acked - prev.acked) / ((double)(cur.t - prev.t) / 1e9);
        if (cur.t - prev.t > NS / 2) {
            r->sec_min = rate < r->sec_min ? rate : r->sec_min;
            r->sec_max = rate > r->sec_max ? rate : r->sec_max;
        }
        prev = cur;
        if (cur.t >= end || r->exhausted)
            break;
    }
    r->b = cur;
    __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&g_deadline, now_ns() + 20 * NS, __ATOMIC_RELAXED);
    uint64_t total = 0;
    for (int i = 0; i < np; i++) {
        pthread_join(g_pub[i].thread, NULL);
        total += g_pub[i].acked;
        r->errors += g_pub[i].errors;
        if (g_pub[i].errors && !r->first_error)
            r->first_error = g_pub[i].first_error;
        r->failed |= g_pub[i].failed;
    }
    uint64_t t_pubs = now_ns();
    __atomic_store_n(&g_expect, total, __ATOMIC_RELEASE);
    for (int i = 0; i < ns; i++) {
        pthread_join(g_sub[i].thread, NULL);
        r->delivered += g_sub[i].received;
        r->failed |= g_sub[i].failed || g_sub[i].received < total;
    }
    r->drain_s = (double)(now_ns() - t_pubs) / 1e9;
    r->published = total;
    r->window_s = (double)(r->b.t - r->a.t) / 1e9;
    r->pub_rate = (double)(r->b.acked - r->a.acked) / r->window_s;
    r->del_rate = (double)(r->b.delivered - r->a.delivered) / r->window_s;
    r->broker_cpu = (r->b.broker_cpu - r->a.broker_cpu) / r->window_s;
    r->client_cpu = (r->b.self_cpu - r->a.self_cpu) / r->window_s;
    if (o.mode == MODE_LATENCY) {
        size_t cap = per * (size_t)np, n = 0;
        uint64_t *v = calloc(cap + 1, sizeof *v);
        for (int i = 0; v && i < np; i++)
            for (size_t k = 0; k < g_pub[i].n; k++)
                if (g_pub[i].sent_ns[k] >= g_measure_from && g_pub[i].ack_ns[k])
                    v[n++] = g_pub[i].ack_ns[k];
        percentiles(v, n, r->ack_ms);
        r->n_ack = n;
        free(v);
        size_t all = 0;
        for (int i = 0; i < ns; i++)
            all += g_sub[i].n_lat;
        v = calloc(all + 1, sizeof *v);
        for (int i = 0, k = 0; v && i < ns; i++)
            for (size_t j = 0; j < g_sub[i].n_lat; j++)
                v[k++] = g_sub[i].lat[j];
        percentiles(v, all, r->del_ms);
        r->n_del = all;
        free(v);
    }
    return 0;
}

static int run_idle(result_t *r)
{
    conn_t *c = calloc(o.idle ? o.idle : 1, sizeof *c);
    if (!c)
        return -1;
    r->rss0 = broker_rss_mib();
    uint64_t t = now_ns();
    int rc = 0;
    for (unsigned i = 0; i < o.idle; i++) {
        SSL_CTX *ctx = ctx_for(o.idles[i % (unsigned)o.n_idles]);
        if (!ctx || conn_open(&c[i], ctx) != 0) {
            fprintf(stderr, "bench_broker: idle session %u (%s): %s\n", i + 1,
                    o.idles[i % (unsigned)o.n_idles], c[i].err);
            conn_close(&c[i]);
            rc = -1;
            break;
        }
        free(c[i].in); /* idle: no buffer kept on our side */
        c[i].in = NULL;
        c[i].in_len = c[i].in_cap = 0;
        r->sessions++;
    }
    r->open_s = (double)(now_ns() - t) / 1e9;
    sleep_until(now_ns() + NS); /* let the broker settle (Welcome sent, records written) */
    r->rss1 = broker_rss_mib();
    for (unsigned i = 0; i < r->sessions; i++)
        conn_close(&c[i]);
    free(c);
    r->failed = rc != 0;
    return rc;
}

/* -------------------------------------------------------------------- output */

static const char *verdict(bool met)
{
    return met ? "met" : "MISSED";
}

/* Names the broker's threads: those sharing the process name, by creation order, are
 * main, sequencer, io-0, io-1, ... (broker.c starts the sequencer before the io threads);
 * libzmq names its own. */
static void thread_name(const tasks_t *t, int i, char *out, size_t len)
{
    int k = 0;
    for (int j = 0; j < i; j++)
        k += strcmp(t->comm[j], t->comm[0]) == 0;
    if (strcmp(t->comm[i], t->comm[0]) != 0)
        snprintf(out, len, "%s", t->comm[i]);
    else if (k < 2)
        snprintf(out, len, "%s", k == 0 ? "main" : "sequencer");
    else
        snprintf(out, len, "io-%d", k - 2);
}

static void print_machine(const result_t *r)
{
    if (r->verify_core > 0)
        printf("  machine: %d cores; P-256 verify %.0f/s per core (openssl speed%s) -> ceiling "
               "%.0f/s\n",
               r->cores, r->verify_core, o.verify_given > 0 ? ", earlier in this series" : "",
               r->verify_core * r->cores);
    if (r->fsync_rate > 0)
        printf("  machine: fdatasync %.0f/s (append 4 KiB + fdatasync, in %s); one takes p50 "
               "%.2f p90 %.2f p99 %.2f max %.2f ms\n",
               r->fsync_rate, o.log_dir, r->fsync_ms[0], r->fsync_ms[1], r->fsync_ms[2],
               r->fsync_ms[3]);
}

static void print_table(const result_t *r)
{
    static const char *names[] = {"", "throughput", "latency", "idle sessions"};
    printf("\n== Enlace broker benchmark: %s", names[o.mode]);
    if (o.mode == MODE_LATENCY)
        printf(" at %.0f publishes/s", o.rate);
    printf(" [%s] ==\n", o.label ? o.label : "broker config not given");
    print_machine(r);
    if (o.mode == MODE_IDLE) {
        printf("  sessions (mTLS + Hello/Welcome)  %u over %d agencies in %.2f s (%.0f/s)\n",
               r->sessions, o.n_idles, r->open_s, r->sessions / (r->open_s > 0 ? r->open_s : 1));
        printf("  broker RSS before                %.1f MiB\n", r->rss0);
        printf("  broker RSS with the sessions     %.1f MiB   target <= 100 MiB for 1000: %s\n",
               r->rss1, r->sessions >= 1000 ? verdict(r->rss1 <= 100.0) : "n/a (fewer sessions)");
        printf("  per session                      %.1f KiB\n",
               r->sessions ? (r->rss1 - r->rss0) * 1024.0 / r->sessions : 0.0);
        return;
    }
    printf("  workload: %d publishers x %d subscribers, %zu B payload (Publish frame %zu B), "
           "DeliverAck every %u%s\n",
           o.n_pubs, o.n_subs, o.payload, r->frame_bytes, o.ack_every,
           o.ack_idle ? " or when idle" : "");
    if (o.mode == MODE_THROUGHPUT && o.dwindow)
        printf("  flow: per publisher <= %u unacknowledged and <= %u not yet delivered to every "
               "subscriber (end to end)\n",
               o.window, o.dwindow);
    else if (o.mode == MODE_THROUGHPUT)
        printf("  flow: per publisher <= %u unacknowledged; deliveries not waited for (ingest "
               "only)\n",
               o.window);
    printf("  window: %.2f s after %.1f s warm-up%s\n", r->window_s, o.warmup,
           r->exhausted ? " (ENDED EARLY: pre-built pool exhausted, raise --pool)" : "");
    printf("  %-34s %10s   %s\n", "figure", "measured", "target");
    bool tp = o.mode == MODE_THROUGHPUT;
    char t_pub[96] = "", t_del[96] = "";
    if (tp && o.same_work) {
        snprintf(t_pub, sizeof t_pub, "> 22000 (NATS JetStream, same work): %s",
                 verdict(r->pub_rate > 22000));
    } else if (tp) {
        snprintf(t_pub, sizeof t_pub, ">= 10000: %s", verdict(r->pub_rate >= 10000));
        snprintf(t_del, sizeof t_del, ">= 40000: %s", verdict(r->del_rate >= 40000));
    }
    printf("  %-34s %10.0f   %s\n", "publishes/s (durable, acked)", r->pub_rate, t_pub);
    printf("  %-34s %10.0f   %s\n", "deliveries/s", r->del_rate, t_del);
    long long backlog = (long long)(r->b.acked * (uint64_t)o.n_subs) - (long long)r->b.delivered;
    if (tp)
        printf("  %-34s %10lld   %s\n", "delivery backlog at window end", backlog,
               r->del_rate >= 0.95 * o.n_subs * r->pub_rate
                   ? "deliveries kept up"
                   : "DELIVERIES FELL BEHIND: publishes/s is not sustainable end to end");
    if (r->sec_max > 0)
        printf("  %-34s %4.0f..%-5.0f\n", "publishes/s, per second min..max", r->sec_min,
               r->sec_max);
    if (o.mode == MODE_LATENCY) {
        printf("  %-34s p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (n=%zu)\n",
               "publish->PublishAck ms", r->ack_ms[0], r->ack_ms[1], r->ack_ms[2], r->ack_ms[3],
               r->n_ack);
        printf("  %-34s p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (n=%zu)\n", "publish->Deliver ms",
               r->del_ms[0], r->del_ms[1], r->del_ms[2], r->del_ms[3], r->n_del);
        double design = o.rate <= 1000 ? 2 : o.rate <= 2000 ? 3 : 0;
        if (design > 0)
            printf("  %-34s DESIGN.md p99 <= %.0f ms: %s", "", design,
                   verdict(r->del_ms[2] <= design));
        if (o.rate > 1000 && o.rate <= 2000)
            printf("; issue p99 <= 5 ms: %s", verdict(r->del_ms[2] <= 5));
        printf("\n");
    }
    if (o.broker_pid > 0) {
        printf("  %-34s %10.2f   s/s = %.0f%% of %d cores\n", "broker CPU", r->broker_cpu,
               100 * r->broker_cpu / r->cores, r->cores);
        for (int i = 0; i < r->b.tasks.n; i++) {
            double before = 0;
            for (int j = 0; j < r->a.tasks.n; j++)
                if (r->a.tasks.tid[j] == r->b.tasks.tid[i])
                    before = r->a.tasks.cpu[j];
            char name[40];
            thread_name(&r->b.tasks, i, name, sizeof name);
            double v = (r->b.tasks.cpu[i] - before) / r->window_s;
            if (v >= 0.005)
                printf("    thread %-27s %10.2f   s/s\n", name, v);
        }
        if (r->pub_rate > 0)
            printf("  %-34s %10.0f   us\n", "broker CPU per publish",
                   1e6 * r->broker_cpu / r->pub_rate);
    }
    printf("  %-34s %10.2f   s/s = %.0f%% of %d cores (competes with the broker)\n",
           "bench client CPU", r->client_cpu, 100 * r->client_cpu / r->cores, r->cores);
    double busy = (r->b.busy - r->a.busy) / r->window_s;
    double other = busy - r->client_cpu - (o.broker_pid > 0 ? r->broker_cpu : 0);
    printf("  %-34s %10.2f   s/s (machine busy %.2f of %d, steal %.2f): %s\n",
           "other processes' CPU", other > 0 ? other : 0, busy, r->cores,
           (r->b.steal - r->a.steal) / r->window_s,
           other > 0.1 ? "NOT QUIET, figures disturbed" : "quiet");
    if (r->verify_core > 0 && r->pub_rate > 0 && !o.same_work)
        printf("  %-34s %9.0f%%   of the machine's P-256 verify ceiling\n", "verify load",
               100 * r->pub_rate / (r->verify_core * r->cores));
    if (r->fsync_rate > 0 && r->pub_rate > 0 && !o.same_work)
        printf("  %-34s %10.1f   publishes per fdatasync at least (if fsync-bound)\n",
               "group commit needed", r->pub_rate / r->fsync_rate);
    printf("  %-34s %10llu   published, %llu delivered (%d subscribers: expected %llu), drained "
           "%.2f s after the last ack\n",
           "totals", (unsigned long long)r->published, (unsigned long long)r->delivered, o.n_subs,
           (unsigned long long)r->published * (unsigned long long)o.n_subs, r->drain_s);
    if (r->errors)
        printf("  publish errors: %llu (first: %s)\n", (unsigned long long)r->errors,
               r->first_error ? r->first_error : "?");
    if (r->failed)
        printf("  RUN INCOMPLETE: a connection failed or deliveries are missing (see stderr)\n");
}

static void print_json(const result_t *r)
{
    static const char *names[] = {"", "throughput", "latency", "idle"};
    printf("{\"mode\":\"%s\",\"label\":\"%s\",\"cores\":%d,\"verify_per_core\":%.0f,"
           "\"fdatasync_per_s\":%.0f,\"fdatasync_ms\":[%.3f,%.3f,%.3f,%.3f]",
           names[o.mode], o.label ? o.label : "", r->cores, r->verify_core, r->fsync_rate,
           r->fsync_ms[0], r->fsync_ms[1], r->fsync_ms[2], r->fsync_ms[3]);
    if (o.mode == MODE_IDLE) {
        printf(",\"sessions\":%u,\"open_s\":%.3f,\"rss_before_mib\":%.1f,\"rss_after_mib\":%.1f,"
               "\"per_session_kib\":%.1f",
               r->sessions, r->open_s, r->rss0, r->rss1,
               r->sessions ? (r->rss1 - r->rss0) * 1024.0 / r->sessions : 0.0);
    } else {
        printf(",\"publishers\":%d,\"subscribers\":%d,\"payload\":%zu,\"frame_bytes\":%zu,"
               "\"window_s\":%.3f,\"publishes_per_s\":%.1f,\"deliveries_per_s\":%.1f,"
               "\"broker_cpu\":%.3f,\"client_cpu\":%.3f,\"machine_busy\":%.3f,"
               "\"published\":%llu,\"delivered\":%llu,"
               "\"errors\":%llu,\"pool_exhausted\":%s,\"deliver_window\":%u,"
               "\"delivery_backlog\":%lld",
               o.n_pubs, o.n_subs, o.payload, r->frame_bytes, r->window_s, r->pub_rate, r->del_rate,
               r->broker_cpu, r->client_cpu, (r->b.busy - r->a.busy) / r->window_s,
               (unsigned long long)r->published, (unsigned long long)r->delivered,
               (unsigned long long)r->errors, r->exhausted ? "true" : "false", o.dwindow,
               (long long)(r->b.acked * (uint64_t)o.n_subs) - (long long)r->b.delivered);
        if (o.mode == MODE_LATENCY)
            printf(",\"rate\":%.0f,\"ack_ms\":[%.3f,%.3f,%.3f,%.3f],"
                   "\"deliver_ms\":[%.3f,%.3f,%.3f,%.3f]",
                   o.rate, r->ack_ms[0], r->ack_ms[1], r->ack_ms[2], r->ack_ms[3], r->del_ms[0],
                   r->del_ms[1], r->del_ms[2], r->del_ms[3]);
    }
    printf(",\"failed\":%s}\n", r->failed ? "true" : "false");
}

/* ---------------------------------------------------------------------- main */

static int split_list(char *s, char **out)
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(s, ",", &save); t && n < MAX_PEERS;
         t = strtok_r(NULL, ",", &save))
        out[n++] = t;
    return n;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: bench_broker --port P --pki DIR [--broker-pid PID] [--log-dir DIR] MODE [options]\n"
        "modes:\n"
        "  --throughput S        maximum rate for S seconds (after --warmup)\n"
        "  --latency R           R publishes/s in total for --seconds\n"
        "  --idle N              N idle sessions; broker RSS before/after\n"
        "options:\n"
        "  --seconds S           latency window (default 5)\n"
        "  --warmup S            not counted (default 1)\n"
        "  --publishers A,B,..   publishing agencies (default "
        "MX.FGR,US.FBI,CO.DIJIN,INTERPOL.NCB-MEX)\n"
        "  --subscribers A,B,..  subscribing agencies = recipients (default "
        "BR.PF,GT.PNC,US.FBI,CO.DIJIN)\n"
        "  --idle-agencies A,..  certificates used round robin by --idle (default: all six)\n"
        "  --topic T             (default bench/load)\n"
        "  --payload BYTES       plaintext size (default 1024)\n"
        "  --window N            unacknowledged publishes per publisher (default 1024 = the\n"
        "                        broker's per-session limit, so that acks are not the limit)\n"
        "  --deliver-window N    publishes per publisher not yet delivered to every subscriber\n"
        "                        (default 1024; 0: publish as fast as acks allow, deliveries may\n"
        "                        fall behind)\n"
        "  --ack-every N         DeliverAck after N deliveries or when idle (default 64)\n"
        "  --no-idle-ack         DeliverAck only every --ack-every deliveries\n"
        "  --pool N              pre-built publishes for --throughput (default 16000/s)\n"
        "  --label TEXT          broker configuration, printed with the figures\n"
        "  --no-ceilings         skip openssl speed and the fdatasync measurement\n"
        "  --verify-per-core N   P-256 verify/s of one core measured earlier (no openssl speed)\n"
        "  --same-work           the broker runs without signature checks and fsync per commit:\n"
        "                        compare with NATS JetStream (22,000/s) instead\n"
        "  --json                also print one JSON object (last line)\n");
}

int main(int argc, char **argv)
{
    static char def_pubs[] = "MX.FGR,US.FBI,CO.DIJIN,INTERPOL.NCB-MEX";
    static char def_subs[] = "BR.PF,GT.PNC,US.FBI,CO.DIJIN";
    static char def_idle[] = "MX.FGR,US.FBI,CO.DIJIN,BR.PF,GT.PNC,INTERPOL.NCB-MEX";
    static const struct option opts[] = {{"port", 1, 0, 'p'},        {"pki", 1, 0, 'k'},
                                         {"broker-pid", 1, 0, 'b'},  {"log-dir", 1, 0, 'l'},
                                         {"throughput", 1, 0, 'T'},  {"latency", 1, 0, 'L'},
                                         {"idle", 1, 0, 'I'},        {"seconds", 1, 0, 's'},
                                         {"warmup", 1, 0, 'w'},      {"publishers", 1, 0, 'P'},
                                         {"subscribers", 1, 0, 'S'}, {"idle-agencies", 1, 0, 'A'},
                                         {"topic", 1, 0, 't'},       {"payload", 1, 0, 'y'},
                                         {"window", 1, 0, 'W'},      {"deliver-window", 1, 0, 'D'},
                                         {"ack-every", 1, 0, 'a'},   {"pool", 1, 0, 'o'},
                                         {"label", 1, 0, 'B'},       {"no-ceilings", 0, 0, 'n'},
                                         {"json", 0, 0, 'j'},        {"help", 0, 0, 'h'},
                                         {"no-idle-ack", 0, 0, 'N'}, {"verify-per-core", 1, 0, 'V'},
                                         {"same-work", 0, 0, 'M'},   {0, 0, 0, 0}};
    char *pubs = def_pubs, *subs = def_subs, *idles = def_idle;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'p': o.port = atoi(optarg); break;
        case 'k': o.pki = optarg; break;
        case 'b': o.broker_pid = atoi(optarg); break;
        case 'l': o.log_dir = optarg; break;
        case 'T': o.mode = MODE_THROUGHPUT, o.seconds = atof(optarg); break;
        case 'L': o.mode = MODE_LATENCY, o.rate = atof(optarg); break;
        case 'I': o.mode = MODE_IDLE, o.idle = (unsigned)atoi(optarg); break;
        case 's': o.seconds = atof(optarg); break;
        case 'w': o.warmup = atof(optarg); break;
        case 'P': pubs = optarg; break;
        case 'S': subs = optarg; break;
        case 'A': idles = optarg; break;
        case 't': o.topic = optarg; break;
        case 'y': o.payload = (size_t)atol(optarg); break;
        case 'W': o.window = (unsigned)atoi(optarg); break;
        case 'D': o.dwindow = (unsigned)atoi(optarg); break;
        case 'a': o.ack_every = (unsigned)atoi(optarg); break;
        case 'o': o.pool = (size_t)atol(optarg); break;
        case 'B': o.label = optarg; break;
        case 'n': o.ceilings = false; break;
        case 'N': o.ack_idle = false; break;
        case 'V': o.verify_given = atof(optarg); break;
        case 'M': o.same_work = true; break;
        case 'j': o.json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    o.n_pubs = split_list(pubs, o.pubs);
    o.n_subs = split_list(subs, o.subs);
    o.n_idles = split_list(idles, o.idles);
    if (!o.mode || o.port <= 0 || !o.pki || o.n_pubs < 1 || o.n_subs < 1 || o.n_idles < 1 ||
        o.seconds <= 0 || o.warmup < 0 || o.window < 1 || o.ack_every < 1 || o.payload < 1 ||
        (o.mode == MODE_LATENCY && o.rate <= 0) || (o.mode == MODE_IDLE && o.idle < 1)) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    result_t *r = calloc(1, sizeof *r);
    if (!r || random_bytes(g_run_id, sizeof g_run_id) != ENLACE_OK)
        return 1;
    r->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (o.ceilings) { /* measured first, while nothing else runs */
        if (!o.log_dir)
            o.log_dir = ".";
        r->verify_core = o.verify_given > 0 ? o.verify_given : openssl_verify_per_core();
        r->fsync_rate = fdatasync_rate(o.log_dir, r->fsync_ms);
    }
    int rc = o.mode == MODE_IDLE ? run_idle(r) : run_load(r);
    if (rc == 0 || o.mode == MODE_IDLE || r->window_s > 0) {
        print_table(r);
        if (o.json)
            print_json(r);
    }
    fflush(stdout);
    free(r);
    /* Connections, pools and contexts end with the process. */
    return rc == 0 ? 0 : 1;
}
