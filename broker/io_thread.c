/* io_thread — epoll loop of one network thread (see io_thread.h). */
#include "io_thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zmq.h>

#include "blog.h"
#include "bus.h"
#include "certdir.h"
#include "records.h"
#include "session.h"
#include "topic_index.h"

#define TICK_MS 250

/* epoll data pointers for the two non-session descriptors */
static char tag_bus, tag_timer;

io_thread_t *io_thread_new(int index, const io_shared_t *shared, snapshot_t *snap)
{
    io_thread_impl_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->index = index;
    t->shared = *shared;
    t->snap = snapshot_ref(snap);
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    t->cache = rcache_new();
    t->subs = topic_index_new();
    t->kinds = calloc(KIND_RING, 1);
    t->certs = certdir_new();
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://io-%d", index);
    t->pull = bus_pull(shared->zctx, ep);
    t->to_seq = bus_push(shared->zctx, BUS_SEQUENCER);
    t->head = log_size(shared->log);
    t->kinds_from = t->kinds_to = t->head; /* nothing known about older records */
    if (t->epfd < 0 || t->timerfd < 0 || !t->cache || !t->subs || !t->kinds || !t->certs ||
        !t->pull || !t->to_seq) {
        io_thread_t *x = (io_thread_t *)t;
        io_thread_destroy(&x);
        return NULL;
    }
    struct itimerspec its = {{0, TICK_MS * 1000000L}, {0, TICK_MS * 1000000L}};
    timerfd_settime(t->timerfd, 0, &its, NULL);
    int zfd;
    size_t zlen = sizeof zfd;
    zmq_getsockopt(t->pull, ZMQ_FD, &zfd, &zlen);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_bus};
    epoll_ctl(t->epfd, EPOLL_CTL_ADD, zfd, &ev);
    ev.data.ptr = &tag_timer;
    epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->timerfd, &ev);
    return (io_thread_t *)t;
}

static session_t *find_session(io_thread_impl_t *t, uint64_t id)
{
    for (size_t i = 0; i < t->n_sessions; i++)
        if (t->sessions[i]->id == id)
            return t->sessions[i];
    return NULL;
}

static void add_session(io_thread_impl_t *t, int fd, const char *peer)
{
    if (t->n_sessions == t->cap_sessions) {
        size_t ncap = t->cap_sessions ? t->cap_sessions * 2 : 64;
        session_t **n = realloc(t->sessions, ncap * sizeof *n);
        if (!n) {
            close(fd);
            __atomic_sub_fetch(t->shared.live_sessions, 1, __ATOMIC_ACQ_REL);
            return;
        }
        t->sessions = n;
        t->cap_sessions = ncap;
    }
    session_t *s = session_new(t, fd, peer);
    if (!s) {
        __atomic_sub_fetch(t->shared.live_sessions, 1, __ATOMIC_ACQ_REL);
        return;
    }
    t->sessions[t->n_sessions++] = s;
    session_on_io(t, s, true, true); /* the ClientHello may already be there */
}

/* Frees closed sessions whose output is flushed or whose grace time ran out. */
static void reap(io_thread_impl_t *t)
{
    uint64_t now = io_now_ms();
    for (size_t i = 0; i < t->n_sessions;) {
        session_t *s = t->sessions[i];
        if (s->state == SESSION_CLOSING && (s->deadline_ms == 0 || now >= s->deadline_ms)) {
            t->sessions[i] = t->sessions[--t->n_sessions];
            session_free(t, &s);
            continue;
        }
        i++;
    }
}

static void on_tick(io_thread_impl_t *t)
{
    uint64_t expirations;
    ssize_t r = read(t->timerfd, &expirations, sizeof expirations);
    (void)r;
    uint64_t now = io_now_ms();
    for (size_t i = 0; i < t->n_sessions; i++) {
        session_t *s = t->sessions[i];
        if (s->state == SESSION_CLOSING || now < s->deadline_ms)
            continue;
        if (s->state == SESSION_HANDSHAKE || s->state == SESSION_HELLO) {
            const char *why = s->state == SESSION_HANDSHAKE
                                  ? "TLS handshake timed out"
                                  : "no Hello before the handshake timeout";
            blog(BLOG_INFO, "session.timeout", "peer", s->peer, "why", why, NULL);
            io_to_sequencer(t, rec_denied(NULL, NULL, "connect", ENLACE__ERROR_CODE__ERROR_PROTOCOL,
                                          why, s->peer, NULL, NULL));
            snprintf(s->close_reason, sizeof s->close_reason, "%s", why);
            s->state = SESSION_CLOSING;
            s->deadline_ms = 0;
        } else {
            session_close(t, s, "idle timeout");
        }
    }
    time_t wall = time(NULL);
    for (size_t i = 0; i < t->n_sessions; i++) { /* cursors blocked on a read retry here */
        session_trim(t->sessions[i]);
        session_check_expiry(t, t->sessions[i], wall);
        if (t->sessions[i]->state == SESSION_READY)
            session_service(t, t->sessions[i]);
    }
}

static void on_head(io_thread_impl_t *t, uint64_t head)
{
    if (head <= t->head)
        return;
    uint64_t old = t->head;
    t->head = head;
    delivery_head_advanced(t, old, head);
}

static void on_reload(io_thread_impl_t *t, snapshot_t *snap)
{
    for (size_t i = 0; i < t->n_sessions; i++)
        session_recheck(t, t->sessions[i], snap);
    snapshot_unref(&t->snap);
    t->snap = snapshot_ref(snap);
}

static void on_shutdown(io_thread_impl_t *t)
{
    t->stopping = true;
    for (size_t i = 0; i < t->n_sessions; i++) {
        session_t *s = t->sessions[i];
        if (s->state == SESSION_READY)
            session_close(t, s, "broker shutting down");
        else if (s->state != SESSION_CLOSING) {
            s->state = SESSION_CLOSING;
            s->deadline_ms = 0;
        }
    }
}

static void drain_bus(io_thread_impl_t *t)
{
    bus_msg_t *m = NULL;
    while (bus_recv(t->pull, &m) == ENLACE_OK) {
        switch (m->type) {
        case BUS_CONN:
            if (t->stopping)
                break;
            add_session(t, m->fd, m->peer);
            m->fd = -1;
            break;
        case BUS_HEAD:
            delivery_note_head(t, m);
            on_head(t, m->seq);
            break;
        case BUS_RELOAD: on_reload(t, m->snapshot); break;
        case BUS_CERT_SEEN: certdir_put(t->certs, m->agency, m->cert, m->cert_len); break;
        case BUS_SHUTDOWN: on_shutdown(t); break;
        default: {
            session_t *s = find_session(t, m->session_id);
            if (s && s->state != SESSION_CLOSING)
                session_on_reply(t, s, m);
            break;
        }
        }
        bus_msg_free(&m);
    }
    /* One pass for everything the drained messages queued or made deliverable
     * (sessions are freed only by reap(), after this). */
    for (size_t i = 0; i < t->n_dirty; i++) {
        session_t *s = t->dirty[i];
        s->needs_service = false;
        if (s->state == SESSION_READY)
            session_service(t, s);
        else if (s->out_len > s->out_off && !s->lingering)
            session_flush(t, s);
    }
    t->n_dirty = 0;
}

void io_mark_service(io_thread_impl_t *t, session_t *s)
{
    if (s->needs_service)
        return;
    if (t->n_dirty == t->cap_dirty) {
        size_t ncap = t->cap_dirty ? t->cap_dirty * 2 : 64;
        session_t **n = realloc(t->dirty, ncap * sizeof *n);
        if (!n) { /* cannot defer: serve it now */
            if (s->state == SESSION_READY)
                session_service(t, s);
            return;
        }
        t->dirty = n;
        t->cap_dirty = ncap;
    }
    s->needs_service = true;
    t->dirty[t->n_dirty++] = s;
}

static void *io_main(void *arg)
{
    io_thread_impl_t *t = arg;
    struct epoll_event evs[64];
    bool more = false; /* some session stopped at its read cap last pass */
    for (;;) {
        int timeout = more ? 0 : TICK_MS;
        if (t->n_held && timeout > IO_HOLD_MS)
            timeout = IO_HOLD_MS;
        int n = epoll_wait(t->epfd, evs, 64, timeout);
        bool bus = false;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &tag_bus) {
                bus = true; /* drained below, after the sockets */
                continue;
            }
            if (p == &tag_timer) {
                on_tick(t);
                continue;
            }
            session_t *s = p;
            if (s->state != SESSION_CLOSING || s->lingering || (evs[i].events & EPOLLOUT))
                session_on_io(t, s, evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR),
                              evs[i].events & EPOLLOUT);
        }
        /* Only when ZMQ_FD fired: each drain reads until EAGAIN, and the EAGAIN read
         * consumes the signal, so a message arriving later always fires it again. An
         * empty probe is not free: libzmq then polls its mailbox (poll + getpid). */
        if (bus)
            drain_bus(t);
        more = false;
        for (size_t i = 0; i < t->n_sessions; i++) {
            session_t *s = t->sessions[i];
            if (s->more_input && s->state != SESSION_CLOSING)
                session_on_io(t, s, true, false);
            more = more || s->more_input;
        }
        reap(t);
        if (t->n_held && (t->stopping || io_now_ms() - t->held_since >= IO_HOLD_MS))
            io_flush_held(t);
        if (t->stopping && t->n_sessions == 0)
            break;
    }
    io_flush_held(t);
    return NULL;
}

enlace_err_t io_thread_start(io_thread_t *x)
{
    io_thread_impl_t *t = (io_thread_impl_t *)x;
    return pthread_create(&t->thread, NULL, io_main, t) == 0 ? ENLACE_OK : ENLACE_ERR_NOMEM;
}

void io_thread_join(io_thread_t *t)
{
    if (t && t->thread) {
        pthread_join(t->thread, NULL);
        t->thread = 0;
    }
}

void io_thread_destroy(io_thread_t **xp)
{
    if (!xp || !*xp)
        return;
    io_thread_impl_t *t = (io_thread_impl_t *)*xp;
    io_thread_join(t);
    for (size_t i = 0; i < t->n_sessions; i++)
        session_free(t, &t->sessions[i]);
    free(t->sessions);
    free(t->dirty);
    for (size_t i = 0; i < t->n_held; i++)
        bus_msg_free(&t->held[i]);
    rcache_destroy(&t->cache);
    topic_index_destroy(&t->subs);
    free(t->active);
    free(t->kinds);
    certdir_destroy(&t->certs);
    if (t->pull) {
        /* Messages that arrived after the loop ended (the sequencer's last head) own memory. */
        bus_msg_t *m = NULL;
        while (bus_recv(t->pull, &m) == ENLACE_OK)
            bus_msg_free(&m);
        zmq_close(t->pull);
    }
    if (t->to_seq)
        zmq_close(t->to_seq);
    if (t->epfd >= 0)
        close(t->epfd);
    if (t->timerfd >= 0)
        close(t->timerfd);
    snapshot_unref(&t->snap);
    free(t);
    *xp = NULL;
}
