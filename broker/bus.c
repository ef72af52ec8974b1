/* bus — pointer-passing messages over inproc PUSH/PULL (see bus.h). */
#include "bus.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "publication.h"
#include "snapshot.h"

bus_msg_t *bus_msg_new(bus_type_t type)
{
    bus_msg_t *m = calloc(1, sizeof *m);
    if (m) {
        m->type = type;
        m->fd = -1;
    }
    return m;
}

void bus_msg_free(bus_msg_t **mp)
{
    if (!mp || !*mp)
        return;
    bus_msg_t *m = *mp;
    free(m->record);
    free(m->cert);
    free(m->proof);
    free(m->checkpoint);
    if (m->fd >= 0)
        close(m->fd);
    snapshot_unref(&m->snapshot);
    pub_unref(&m->pub);
    for (size_t i = 0; i < m->n_pubs; i++)
        pub_unref(&m->pubs[i]);
    free(m->pubs);
    free(m);
    *mp = NULL;
}

static void *bus_socket(void *zctx, int type, const char *endpoint, bool bind)
{
    void *s = zmq_socket(zctx, type);
    if (!s)
        return NULL;
    int zero = 0;
    /* A PUSH socket lingers until its messages are read: records sent just
     * before a thread exits (SessionClosed at shutdown) must not be lost. */
    int linger = type == ZMQ_PUSH ? -1 : 0;
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if ((bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint)) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *bus_push(void *zctx, const char *endpoint)
{
    return bus_socket(zctx, ZMQ_PUSH, endpoint, false);
}

void *bus_pull(void *zctx, const char *endpoint)
{
    return bus_socket(zctx, ZMQ_PULL, endpoint, true);
}

enlace_err_t bus_send(void *sock, bus_msg_t **m)
{
    /* Never block: high-water marks are unlimited, so EAGAIN only means the
     * receiving thread has gone (a PUSH with no peer would block forever,
     * e.g. the sequencer answering an io thread that already exited). */
    for (;;) {
        if (zmq_send(sock, m, sizeof *m, ZMQ_DONTWAIT) == (int)sizeof *m) {
            *m = NULL;
            return ENLACE_OK;
        }
        if (errno != EINTR)
            return errno == EAGAIN ? ENLACE_ERR_AGAIN : ENLACE_ERR_IO;
    }
}

enlace_err_t bus_recv(void *sock, bus_msg_t **m)
{
    bus_msg_t *p = NULL;
    int n = zmq_recv(sock, &p, sizeof p, ZMQ_DONTWAIT);
    if (n == (int)sizeof p) {
        *m = p;
        return ENLACE_OK;
    }
    return (n < 0 && (errno == EAGAIN || errno == EINTR)) ? ENLACE_ERR_AGAIN : ENLACE_ERR_IO;
}

void bus_reply_error(void *sock, const bus_msg_t *req, int code, const char *fmt, ...)
{
    bus_msg_t *r = bus_msg_new(BUS_ERROR);
    if (!r)
        return;
    r->io = req->io;
    r->session_id = req->session_id;
    r->correlation_id = req->correlation_id;
    r->err_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof r->text, fmt, ap);
    va_end(ap);
    if (bus_send(sock, &r) != ENLACE_OK)
        bus_msg_free(&r);
}
