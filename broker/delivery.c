/* delivery — subscription cursors over the committed log.
 *
 * A subscription is a cursor: `next` is the next log seq to examine. Live
 * delivery, catch-up after a reconnect and a slow consumer are one mechanism:
 * the cursor reads committed records (from this thread's small cache of
 * recently decoded records, else from the log) and sends a Deliver for each
 * published message the agency may read. It stops when the window of
 * unacknowledged deliveries is full or the session's output buffer is over
 * its limit, so per-session memory is bounded and nothing is dropped: the
 * rest stays in the log until the consumer catches up.
 */
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "records.h"
#include "session.h"
#include "topic.h"
#include "topic_index.h"

#define RCACHE_SLOTS 4096

/* One decoded record; a cache slot. */
typedef struct rentry {
    uint64_t seq;        /* seq + 1 of the record held (0 = empty) */
    Enlace__Record *rec; /* decoded record */
    Enlace__Header *hdr; /* decoded header when rec is Published, else NULL */
    uint8_t *cert;       /* signer certificate DER for Published records */
    size_t cert_len;     /* bytes in cert */
} rentry_t;

struct rcache {
    rentry_t slot[RCACHE_SLOTS]; /* indexed by seq % RCACHE_SLOTS */
};

struct rcache *rcache_new(void)
{
    return calloc(1, sizeof(struct rcache));
}

static void rentry_clear(rentry_t *e)
{
    codec_free((ProtobufCMessage **)&e->hdr);
    codec_free((ProtobufCMessage **)&e->rec);
    free(e->cert);
    memset(e, 0, sizeof *e);
}

void rcache_destroy(struct rcache **c)
{
    if (!c || !*c)
        return;
    for (size_t i = 0; i < RCACHE_SLOTS; i++)
        rentry_clear(&(*c)->slot[i]);
    free(*c);
    *c = NULL;
}

static rentry_t *rcache_get(io_thread_impl_t *io, uint64_t seq);

/* Reads record cs (which carries a certificate inline) without the cache. */
static void read_cert_direct(io_thread_impl_t *io, uint64_t cs, rentry_t *e)
{
    uint8_t *data = NULL;
    size_t len = 0;
    Enlace__Record *r = NULL;
    char why[128];
    if (log_read(io->shared.log, cs, &data, &len) == ENLACE_OK &&
        codec_decode_record(data, len, &r, why, sizeof why) == ENLACE_OK &&
        r->kind_case == ENLACE__RECORD__KIND_PUBLISHED && r->published->has_signer_cert &&
        (e->cert = malloc(r->published->signer_cert.len)) != NULL) {
        memcpy(e->cert, r->published->signer_cert.data, r->published->signer_cert.len);
        e->cert_len = r->published->signer_cert.len;
    }
    codec_free((ProtobufCMessage **)&r);
    free(data);
}

/* The DER certificate of a Published record: inline, or in the record it refers to. */
static void resolve_cert(io_thread_impl_t *io, rentry_t *e)
{
    const Enlace__Published *p = e->rec->published;
    const ProtobufCBinaryData *src = NULL;
    if (p->has_signer_cert) {
        src = &p->signer_cert;
    } else if (p->has_cert_record_seq && p->cert_record_seq < e->rec->seq) {
        uint64_t cs = p->cert_record_seq;
        if (cs % RCACHE_SLOTS == e->rec->seq % RCACHE_SLOTS) {
            read_cert_direct(io, cs, e); /* same slot: do not evict ourselves */
            return;
        }
        rentry_t *c = rcache_get(io, cs);
        if (c && c->cert) {
            e->cert = malloc(c->cert_len);
            if (e->cert) {
                memcpy(e->cert, c->cert, c->cert_len);
                e->cert_len = c->cert_len;
            }
        }
        return;
    }
    if (src && (e->cert = malloc(src->len)) != NULL) {
        memcpy(e->cert, src->data, src->len);
        e->cert_len = src->len;
    }
}

static rentry_t *rcache_get(io_thread_impl_t *io, uint64_t seq)
{
    rentry_t *e = &io->cache->slot[seq % RCACHE_SLOTS];
    if (e->seq == seq + 1)
        return e;
    rentry_clear(e);
    uint8_t *data = NULL;
    size_t len = 0;
    if (log_read(io->shared.log, seq, &data, &len) != ENLACE_OK)
        return NULL;
    char why[128];
    enlace_err_t rc = codec_decode_record(data, len, &e->rec, why, sizeof why);
    free(data);
    if (rc != ENLACE_OK) {
        blog(BLOG_ERROR, "log.record_unreadable", "why", why, NULL);
        return NULL;
    }
    e->seq = seq + 1;
    if (e->rec->kind_case == ENLACE__RECORD__KIND_PUBLISHED) {
        const ProtobufCBinaryData *hb = &e->rec->published->envelope->header;
        if (codec_decode_header(hb->data, hb->len, &e->hdr, why, sizeof why) != ENLACE_OK)
            e->hdr = NULL;
        else
            resolve_cert(io, e);
    }
    return e;
}

/* May this session's agency receive this message on this subscription? */
static bool deliverable(const session_t *s, const subscription_t *sub, const Enlace__Header *h)
{
    if (!topic_matches(sub->filter, h->topic))
        return false;
    if (!policy_may_read(s->snap->policy, s->agency, h->topic))
        return false;
    if (h->n_recipients == 0)
        return h->tlp != ENLACE__TLP__TLP_RED && h->tlp != ENLACE__TLP__TLP_AMBER_STRICT;
    for (size_t i = 0; i < h->n_recipients; i++)
        if (strcmp(h->recipients[i], s->agency) == 0)
            return true;
    return false;
}

static void send_deliver(io_thread_impl_t *io, session_t *s, subscription_t *sub, rentry_t *e)
{
    Enlace__Deliver d = ENLACE__DELIVER__INIT;
    d.subscription_id = sub->id;
    d.seq = e->rec->seq;
    d.envelope = e->rec->published->envelope;
    d.logged_at_ms = e->rec->time_ms;
    if (e->cert) {
        d.has_signer_cert = true;
        d.signer_cert = (ProtobufCBinaryData){e->cert_len, e->cert};
    }
    Enlace__Frame f = ENLACE__FRAME__INIT;
    f.kind_case = ENLACE__FRAME__KIND_DELIVER;
    f.deliver = &d;
    session_send(io, s, &f);
    sub->inflight[(sub->in_head + sub->in_count) % SUB_WINDOW] = d.seq;
    sub->in_count++;
}

/* True when seq is known (from the sequencer's announcement) not to be a publication. */
static bool known_unpublished(const io_thread_impl_t *io, uint64_t seq)
{
    return seq >= io->kinds_from && seq < io->kinds_to && !io->kinds[seq % KIND_RING];
}

void delivery_note_kinds(io_thread_impl_t *io, uint64_t from, const uint8_t *kinds, size_t n)
{
    if (from != io->kinds_to) /* a gap: start knowing afresh */
        io->kinds_from = from;
    for (size_t i = 0; i < n; i++)
        io->kinds[(from + i) % KIND_RING] = kinds[i];
    io->kinds_to = from + n;
    if (io->kinds_to - io->kinds_from > KIND_RING)
        io->kinds_from = io->kinds_to - KIND_RING;
}

void delivery_pump(io_thread_impl_t *io, session_t *s)
{
    uint64_t head = io->head;
    for (int i = 0; i < SESSION_MAX_SUBS; i++) {
        subscription_t *sub = &s->subs[i];
        if (!sub->active)
            continue;
        while (sub->next < head && sub->in_count < SUB_WINDOW &&
               s->out_len - s->out_off < io->shared.cfg->session_buffer) {
            if (known_unpublished(io, sub->next)) {
                sub->next++; /* a session, delivery or other record: nothing to read */
                continue;
            }
            rentry_t *e = rcache_get(io, sub->next);
            if (!e)
                break; /* unreadable now: retry on the next head or tick */
            if (e->hdr && deliverable(s, sub, e->hdr))
                send_deliver(io, s, sub, e);
            sub->next++;
        }
    }
}

void delivery_ack(io_thread_impl_t *io, session_t *s, const Enlace__DeliverAck *ack)
{
    subscription_t *sub = NULL;
    for (int i = 0; i < SESSION_MAX_SUBS; i++)
        if (s->subs[i].active && s->subs[i].id == ack->subscription_id)
            sub = &s->subs[i];
    if (!sub) {
        session_send_error(io, s, ENLACE__ERROR_CODE__ERROR_NOT_FOUND, 0,
                           "DeliverAck for an unknown subscription");
        return;
    }
    uint64_t seqs[SUB_WINDOW];
    size_t n = 0;
    while (sub->in_count > 0 && sub->inflight[sub->in_head] <= ack->seq) {
        seqs[n++] = sub->inflight[sub->in_head];
        sub->in_head = (sub->in_head + 1) % SUB_WINDOW;
        sub->in_count--;
    }
    if (n == 0)
        return; /* nothing new acknowledged (repeated or early ack) */
    bus_msg_t *m = rec_delivered(s->agency, sub->name, seqs, n);
    if (m) {
        m->session_id = s->id;
        snprintf(m->agency, sizeof m->agency, "%s", s->agency);
        snprintf(m->name, sizeof m->name, "%s", sub->name);
        m->seq = seqs[n - 1];
        io_to_sequencer(io, m);
    }
    delivery_pump(io, s);
}

void delivery_sub_added(io_thread_impl_t *io, subscription_t *sub)
{
    sub->caught_up = false;
    if (topic_index_insert(io->subs, sub->filter, sub) != ENLACE_OK)
        blog(BLOG_ERROR, "delivery.index_failed", "filter", sub->filter, NULL);
}

void delivery_sub_removed(io_thread_impl_t *io, subscription_t *sub)
{
    if (sub->active)
        topic_index_remove(io->subs, sub->filter, sub);
}

static void mark_hit(void *value, void *arg)
{
    (void)arg;
    ((subscription_t *)value)->hit = true;
}

void delivery_head_advanced(io_thread_impl_t *io, uint64_t old_head, uint64_t new_head)
{
    size_t caught = 0;
    for (size_t i = 0; i < io->n_sessions; i++) {
        session_t *s = io->sessions[i];
        for (int k = 0; k < SESSION_MAX_SUBS; k++) {
            subscription_t *sub = &s->subs[k];
            sub->hit = false;
            sub->caught_up = sub->active && s->state == SESSION_READY && sub->next == old_head;
            caught += sub->caught_up;
        }
    }
    if (caught == 0)
        return;
    for (uint64_t seq = old_head; seq < new_head; seq++) {
        if (known_unpublished(io, seq))
            continue;
        rentry_t *e = rcache_get(io, seq);
        if (!e)
            return; /* unreadable now: no cursor skips anything */
        if (e->hdr)
            topic_index_match(io->subs, e->hdr->topic, mark_hit, NULL);
    }
    /* Nothing new for these filters: the cursor moves without reading. */
    for (size_t i = 0; i < io->n_sessions; i++)
        for (int k = 0; k < SESSION_MAX_SUBS; k++) {
            subscription_t *sub = &io->sessions[i]->subs[k];
            if (sub->caught_up && !sub->hit)
                sub->next = new_head;
        }
}
