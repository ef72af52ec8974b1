/* subscribe — subscriptions, receiving and acknowledging messages (enlace.h).
 *
 * The broker's subscription ids change with every connection; the application keeps
 * the local ids of conn_sub_t, and a message remembers the connection it came over, so
 * an acknowledgement is never sent for a subscription id of an older connection
 * (where it could name another subscription).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "message.h"
#include "topic.h"
#include "validate.h"

enlace_err_t sub_request(enlace_conn_t *conn, conn_sub_t *s, enlace_start_t start, uint64_t from,
                         int64_t deadline, uint64_t *next_seq)
{
    Enlace__Subscribe sub = ENLACE__SUBSCRIBE__INIT;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    sub.correlation_id = conn_next_corr(conn);
    sub.name = s->name;
    sub.filter = s->filter;
    sub.start = (Enlace__StartMode)start;
    if (start == ENLACE_START_FROM_SEQ) {
        sub.has_from_seq = true;
        sub.from_seq = from;
    } else if (start == ENLACE_START_FROM_TIME) {
        sub.has_from_time_ms = true;
        sub.from_time_ms = from;
    }
    f.kind_case = ENLACE__FRAME__KIND_SUBSCRIBE;
    f.subscribe = &sub;
    Enlace__Frame *reply = NULL;
    enlace_err_t rc = conn_send(conn, &f, deadline);
    if (rc == ENLACE_OK)
        rc = conn_wait_reply(conn, sub.correlation_id, ENLACE__FRAME__KIND_SUBSCRIBED, deadline,
                             &reply);
    if (rc != ENLACE_OK)
        return rc;
    s->remote_id = reply->subscribed->subscription_id;
    s->generation = conn->generation;
    if (next_seq != NULL)
        *next_seq = reply->subscribed->next_seq;
    codec_free((ProtobufCMessage **)&reply);
    return ENLACE_OK;
}

enlace_err_t enlace_subscribe(enlace_conn_t *conn, const char *name, const char *filter,
                              enlace_start_t start, uint64_t from, uint32_t *sub_id,
                              uint64_t *next_seq)
{
    if (conn == NULL)
        return ENLACE_ERR_INVALID;
    conn_clear_error(conn);
    if (name == NULL || !validate_name(name))
        return conn_fail(conn, ENLACE_ERR_INVALID,
                         "subscription name must be 1-%d characters of A-Z a-z 0-9 . _ -",
                         VALIDATE_MAX_NAME);
    if (filter == NULL || !topic_filter_valid(filter))
        return conn_fail(conn, ENLACE_ERR_INVALID, "'%s' is not a valid topic filter",
                         filter ? filter : "(null)");
    if (start < ENLACE_START_NEW || start > ENLACE_START_RESUME)
        return conn_fail(conn, ENLACE_ERR_INVALID, "unknown start mode %d", (int)start);
    for (size_t i = 0; i < conn->n_subs; i++)
        if (strcmp(conn->subs[i].name, name) == 0)
            return conn_fail(conn, ENLACE_ERR_INVALID,
                             "already subscribed under the name '%s' on this connection", name);
    if (!conn->up)
        return conn_fail(conn, conn->down_rc, "not connected%s%s", conn->err[0] ? ": " : "",
                         conn->err);
    if (conn->n_subs == conn->cap_subs) {
        size_t cap = conn->cap_subs ? conn->cap_subs * 2 : 4;
        conn_sub_t *subs = realloc(conn->subs, cap * sizeof *subs);
        if (subs == NULL)
            return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
        conn->subs = subs;
        conn->cap_subs = cap;
    }
    conn_sub_t s = {.local_id = conn->next_local_id, .start = start};
    s.name = strdup(name);
    s.filter = strdup(filter);
    uint64_t first = 0;
    enlace_err_t rc = ENLACE_ERR_NOMEM;
    if (s.name == NULL || s.filter == NULL)
        conn_fail(conn, rc, "out of memory");
    else
        rc = sub_request(conn, &s, start, from, conn_deadline(conn, -1), &first);
    if (rc != ENLACE_OK) {
        free(s.name);
        free(s.filter);
        return rc;
    }
    s.first_seq = first;
    conn->subs[conn->n_subs++] = s;
    conn->next_local_id++;
    if (sub_id != NULL)
        *sub_id = s.local_id;
    if (next_seq != NULL)
        *next_seq = first;
    return ENLACE_OK;
}

enlace_err_t enlace_unsubscribe(enlace_conn_t *conn, uint32_t sub_id)
{
    if (conn == NULL)
        return ENLACE_ERR_INVALID;
    conn_clear_error(conn);
    conn_sub_t *s = conn_sub_by_local(conn, sub_id);
    if (s == NULL)
        return conn_fail(conn, ENLACE_ERR_NOT_FOUND, "no subscription %u", sub_id);
    enlace_err_t rc = ENLACE_OK;
    if (conn->up && s->generation == conn->generation) {
        /* No reply on success (protocol): send and forget; an Error would be NOT_FOUND,
         * which leaves the same outcome. */
        Enlace__Unsubscribe u = ENLACE__UNSUBSCRIBE__INIT;
        Enlace__Frame f = ENLACE__FRAME__INIT;
        u.correlation_id = conn_next_corr(conn);
        u.subscription_id = s->remote_id;
        f.kind_case = ENLACE__FRAME__KIND_UNSUBSCRIBE;
        f.unsubscribe = &u;
        rc = conn_send(conn, &f, conn_deadline(conn, -1));
        conn_drop_deliveries(conn, s->remote_id);
    }
    free(s->name);
    free(s->filter);
    size_t i = (size_t)(s - conn->subs);
    memmove(s, s + 1, (conn->n_subs - i - 1) * sizeof *s);
    conn->n_subs--;
    return rc;
}

enlace_err_t enlace_next(enlace_conn_t *conn, int timeout_ms, enlace_message_t **msg)
{
    if (conn == NULL || msg == NULL)
        return ENLACE_ERR_INVALID;
    *msg = NULL;
    conn_clear_error(conn);
    int64_t deadline = timeout_ms < 0 ? -1 : conn_deadline(conn, timeout_ms);
    bool reconnected = false;
    for (;;) {
        Enlace__Frame *f = conn_pop_delivery(conn);
        if (f != NULL) {
            const conn_sub_t *s = conn_sub_by_remote(conn, f->deliver->subscription_id);
            if (s == NULL) { /* unsubscribed while it was on its way */
                codec_free((ProtobufCMessage **)&f);
                continue;
            }
            enlace_err_t rc = message_from_deliver(conn, f->deliver, s, msg);
            codec_free((ProtobufCMessage **)&f);
            return rc;
        }
        if (!conn->up) {
            if (!conn->opts.reconnect || reconnected)
                return conn_fail(conn, conn->down_rc, "not connected%s%s", conn->err[0] ? ": " : "",
                                 conn->err);
            reconnected = true;
            enlace_err_t rc = enlace_reconnect(conn);
            if (rc == ENLACE_ERR_TIMEOUT) { /* TIMEOUT means "no message" here */
                char why[sizeof conn->err];
                snprintf(why, sizeof why, "%s", conn->err);
                return conn_fail(conn, ENLACE_ERR_CLOSED, "reconnect failed: %s", why);
            }
            if (rc != ENLACE_OK)
                return rc;
            continue;
        }
        enlace_err_t rc = conn_poll(conn, deadline);
        if (rc == ENLACE_ERR_TIMEOUT)
            return rc; /* not a failure: no error text */
        if (rc != ENLACE_OK && !conn->opts.reconnect)
            return rc;
    }
}

enlace_err_t enlace_ack(enlace_conn_t *conn, const enlace_message_t *msg)
{
    if (conn == NULL || msg == NULL)
        return ENLACE_ERR_INVALID;
    conn_clear_error(conn);
    uint32_t local, remote, generation;
    uint64_t seq;
    message_ack_target(msg, &local, &remote, &generation, &seq);
    conn_sub_t *s = conn_sub_by_local(conn, local);
    if (s == NULL)
        return conn_fail(conn, ENLACE_ERR_NOT_FOUND, "subscription %u is gone", local);
    if (!conn->up || generation != conn->generation || s->generation != generation)
        return conn_fail(conn, ENLACE_ERR_CLOSED,
                         "message %llu came over an earlier connection; the broker will "
                         "deliver it again",
                         (unsigned long long)seq);
    Enlace__DeliverAck ack = ENLACE__DELIVER_ACK__INIT;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    ack.subscription_id = remote;
    ack.seq = seq;
    f.kind_case = ENLACE__FRAME__KIND_DELIVER_ACK;
    f.deliver_ack = &ack;
    enlace_err_t rc = conn_send(conn, &f, conn_deadline(conn, -1));
    if (rc == ENLACE_OK && (!s->acked || seq > s->last_acked)) {
        s->acked = true;
        s->last_acked = seq;
    }
    return rc;
}
