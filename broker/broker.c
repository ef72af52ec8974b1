/* broker — start-up, accept loop, reload and shutdown (see broker.h). */
#include "broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "blog.h"
#include "bus.h"
#include "io_thread.h"
#include "records.h"
#include "sequencer.h"
#include "snapshot.h"

typedef struct broker {
    const broker_config_t *cfg; /* configuration in force */
    void *zctx;                 /* libzmq context shared by all threads */
    snapshot_t *snap;           /* current trust + policy */
    sequencer_t *seq;           /* log writer */
    io_thread_t **io;           /* io threads */
    int n_io;                   /* how many */
    void **to_io;               /* PUSH sockets of this thread to each io thread */
    void *to_seq;               /* PUSH socket of this thread to the sequencer */
    int listen_fd;              /* listening socket */
    int sig_fd;                 /* signalfd for HUP/TERM/INT */
    int live_sessions;          /* atomic: sessions alive broker-wide */
    unsigned next_io;           /* round-robin cursor */
} broker_t;

static int listen_on(const char *addr, unsigned port, unsigned *bound_port, char *why,
                     size_t why_len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    char ports[16];
    snprintf(ports, sizeof ports, "%u", port);
    int rc = getaddrinfo(addr, ports, &hints, &res);
    if (rc != 0) {
        snprintf(why, why_len, "bad listen address %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        snprintf(why, why_len, "cannot listen on %s:%u: %s", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    snprintf(out, len, "%s:%u", host, port);
}

static void send_to_seq(broker_t *b, bus_msg_t *m)
{
    if (m && bus_send(b->to_seq, &m) != ENLACE_OK)
        bus_msg_free(&m);
}

/* ConfigLoaded records for what a snapshot holds (or failed to load). */
static void audit_snapshot(broker_t *b, const snapshot_t *s, bool accepted, const char *detail)
{
    const broker_config_t *c = b->cfg;
    uint8_t d[32] = {0};
    file_sha256(c->policy_file, d);
    send_to_seq(b, rec_config_loaded("policy", c->policy_file, d, accepted, detail));
    send_to_seq(b, rec_config_loaded("ca", c->tls_ca, s ? s->ca_sha256 : d, accepted, detail));
    if (c->tls_crl && *c->tls_crl)
        send_to_seq(b,
                    rec_config_loaded("crl", c->tls_crl, s ? s->crl_sha256 : d, accepted, detail));
}

static void reload(broker_t *b)
{
    snapshot_t *n = NULL;
    char why[512] = "";
    enlace_err_t rc = snapshot_load(b->cfg, &n, why, sizeof why);
    if (rc != ENLACE_OK) {
        blog(BLOG_ERROR, "reload.refused", "why", why, "effect",
             "previous policy/CA/CRL stay in force", NULL);
        audit_snapshot(b, NULL, false, why);
        return;
    }
    for (int i = 0; i < b->n_io; i++) {
        bus_msg_t *m = bus_msg_new(BUS_RELOAD);
        if (!m)
            continue;
        m->snapshot = snapshot_ref(n);
        if (bus_send(b->to_io[i], &m) != ENLACE_OK)
            bus_msg_free(&m);
    }
    snapshot_unref(&b->snap);
    b->snap = n;
    audit_snapshot(b, n, true, "reloaded on SIGHUP");
    blog(BLOG_INFO, "reload.done", "policy", b->cfg->policy_file, "crl", b->cfg->tls_crl, NULL);
}

static void accept_all(broker_t *b)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(b->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        /* EAGAIN, or a transient error: epoll tells us again */ /* Acks and deliveries are
                                                                  * small frames: Nagle plus
                                                                  * delayed ACKs would hold
                                                                  * each one for up to 40
                                                                  * ms. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char peer[64];
        peer_name(&ss, peer, sizeof peer);
        int live = __atomic_add_fetch(&b->live_sessions, 1, __ATOMIC_ACQ_REL);
        if ((unsigned)live > b->cfg->max_sessions) {
            __atomic_sub_fetch(&b->live_sessions, 1, __ATOMIC_ACQ_REL);
            blog(BLOG_WARN, "session.refused", "peer", peer, "why", "max_sessions reached", NULL);
            send_to_seq(b, rec_denied(NULL, NULL, "connect",
                                      ENLACE__ERROR_CODE__ERROR_TOO_MANY_SESSIONS,
                                      "max_sessions reached", peer, NULL, NULL));
            close(fd);
            continue;
        }
        bus_msg_t *m = bus_msg_new(BUS_CONN);
        if (!m) {
            close(fd);
            __atomic_sub_fetch(&b->live_sessions, 1, __ATOMIC_ACQ_REL);
            continue;
        }
        m->fd = fd;
        snprintf(m->peer, sizeof m->peer, "%s", peer);
        int i = (int)(b->next_io++ % (unsigned)b->n_io);
        if (bus_send(b->to_io[i], &m) != ENLACE_OK) {
            bus_msg_free(&m);
            __atomic_sub_fetch(&b->live_sessions, 1, __ATOMIC_ACQ_REL);
        }
    }
}

static int make_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    /* Blocked before any thread starts, so every thread inherits the mask. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigdelset(&set, SIGPIPE);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Returns true when the broker should stop. */
static bool on_signal(broker_t *b)
{
    struct signalfd_siginfo si;
    bool stop = false;
    while (read(b->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            blog(BLOG_INFO, "reload.start", "signal", "SIGHUP", NULL);
            reload(b);
        } else {
            blog(BLOG_INFO, "shutdown.start", "signal",
                 si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
            stop = true;
        }
    }
    return stop;
}

static void write_ready_file(const char *path, unsigned port)
{
    if (!path)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%u\n", port);
    fclose(f);
    rename(tmp, path);
}

static void teardown(broker_t *b)
{
    for (int i = 0; i < b->n_io; i++) {
        bus_msg_t *m = bus_msg_new(BUS_SHUTDOWN);
        if (m && bus_send(b->to_io[i], &m) != ENLACE_OK)
            bus_msg_free(&m);
    }
    /* Order matters: io threads end first (their last records reach the
     * sequencer), then the sequencer writes, commits and signs its last; only
     * then are io threads freed, with whatever the sequencer still sent them. */
    for (int i = 0; i < b->n_io; i++)
        io_thread_join(b->io[i]);
    if (b->seq) {
        bus_msg_t *m = bus_msg_new(BUS_STOP);
        if (m)
            send_to_seq(b, m);
        sequencer_destroy(&b->seq);
    }
    for (int i = 0; i < b->n_io; i++)
        io_thread_destroy(&b->io[i]);
}

enlace_err_t broker_run(const broker_config_t *cfg, const char *ready_file)
{
    broker_t b = {.cfg = cfg, .listen_fd = -1, .sig_fd = -1};
    char why[512] = "";
    enlace_err_t rc = ENLACE_ERR_IO;
    int epfd = -1;
    b.n_io = cfg->io_threads ? (int)cfg->io_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (b.n_io < 1)
        b.n_io = 1;
    b.sig_fd = make_signalfd();
    b.zctx = zmq_ctx_new();
    b.io = calloc((size_t)b.n_io, sizeof *b.io);
    b.to_io = calloc((size_t)b.n_io, sizeof *b.to_io);
    if (b.sig_fd < 0 || !b.zctx || !b.io || !b.to_io) {
        snprintf(why, sizeof why, "cannot initialise: %s", strerror(errno));
        goto out;
    }
    rc = snapshot_load(cfg, &b.snap, why, sizeof why);
    if (rc != ENLACE_OK)
        goto out;
    rc = sequencer_open(cfg, b.zctx, b.n_io, &b.seq, why, sizeof why);
    if (rc != ENLACE_OK)
        goto out;
    b.to_seq = bus_push(b.zctx, BUS_SEQUENCER);
    io_shared_t shared = {.cfg = cfg,
                          .zctx = b.zctx,
                          .log = sequencer_log(b.seq),
                          .checkpoint_pub = sequencer_checkpoint_pub(b.seq),
                          .live_sessions = &b.live_sessions};
    for (int i = 0; i < b.n_io; i++) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://io-%d", i);
        b.io[i] = io_thread_new(i, &shared, b.snap);
        b.to_io[i] = b.io[i] ? bus_push(b.zctx, ep) : NULL;
        if (!b.to_io[i]) {
            snprintf(why, sizeof why, "cannot create io thread %d", i);
            rc = ENLACE_ERR_NOMEM;
            goto out;
        }
    }
    if (!b.to_seq || sequencer_start(b.seq) != ENLACE_OK) {
        snprintf(why, sizeof why, "cannot start the sequencer");
        rc = ENLACE_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < b.n_io; i++)
        if (io_thread_start(b.io[i]) != ENLACE_OK) {
            snprintf(why, sizeof why, "cannot start io thread %d", i);
            rc = ENLACE_ERR_NOMEM;
            goto out;
        }
    audit_snapshot(&b, b.snap, true, "loaded at start");
    unsigned port = 0;
    b.listen_fd = listen_on(cfg->listen_address, cfg->port, &port, why, sizeof why);
    if (b.listen_fd < 0) {
        rc = ENLACE_ERR_IO;
        goto out;
    }
    char ports[16], threads[16];
    snprintf(ports, sizeof ports, "%u", port);
    snprintf(threads, sizeof threads, "%d", b.n_io);
    blog(BLOG_INFO, "broker.listening", "address", cfg->listen_address, "port", ports, "io_threads",
         threads, "log", cfg->log_dir, NULL);
    write_ready_file(ready_file, port);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = b.listen_fd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, b.listen_fd, &ev);
    ev.data.fd = b.sig_fd;
    epoll_ctl(epfd, EPOLL_CTL_ADD, b.sig_fd, &ev);
    for (bool stop = false; !stop;) {
        struct epoll_event evs[4];
        int n = epoll_wait(epfd, evs, 4, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == b.listen_fd)
                accept_all(&b);
            else if (evs[i].data.fd == b.sig_fd)
                stop = on_signal(&b) || stop;
        }
    }
    close(b.listen_fd);
    b.listen_fd = -1;
    rc = ENLACE_OK;
out:
    if (rc != ENLACE_OK)
        blog(BLOG_ERROR, "broker.failed", "error", enlace_err_str(rc), "why", why, NULL);
    teardown(&b);
    if (epfd >= 0)
        close(epfd);
    if (b.listen_fd >= 0)
        close(b.listen_fd);
    for (int i = 0; b.to_io && i < b.n_io; i++)
        if (b.to_io[i])
            zmq_close(b.to_io[i]);
    if (b.to_seq)
        zmq_close(b.to_seq);
    free(b.to_io);
    free(b.io);
    snapshot_unref(&b.snap);
    if (b.zctx)
        zmq_ctx_term(b.zctx);
    if (b.sig_fd >= 0)
        close(b.sig_fd);
    if (rc == ENLACE_OK)
        blog(BLOG_INFO, "broker.stopped", "reason", "signal", NULL);
    return rc;
}
