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
#include "publication.h"
#include "records.h"
#include "session.h"
#include "topic.h"
#include "topic_index.h"

/* Records a cursor can lag behind the head and still find here: at least the deliveries
 * publishers may have outstanding (4 x 1024 in the benchmark) plus the other records
 * interleaved with them. Slots hold references to publications shared with the other
 * io threads. */
#define RCACHE_SLOTS 8192

/* One record a cursor examined: a publication, or (pub NULL) a record of another kind. */
typedef struct rentry {
    uint64_t seq;       /* seq + 1 of the record held (0 = empty) */
    publication_t *pub; /* one reference, NULL when the record is not a publication */
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
    pub_unref(&e->pub);
    e->seq = 0;
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

/* Stores p (a reference moves in) as record seq. */
static void rcache_put(io_thread_impl_t *io, uint64_t seq, publication_t *p)
{
    rentry_t *e = &io->cache->slot[seq % RCACHE_SLOTS];
    rentry_clear(e);
    e->seq = seq + 1;
    e->pub = p;
}

/* Decodes committed record seq from the log; *rec NULL when it cannot be read. */
static void read_record(io_thread_impl_t *io, uint64_t seq, Enlace__Record **rec)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char why[128];
    *rec = NULL;
    if (log_read(io->shared.log, seq, &data, &len) != ENLACE_OK)
        return;
    if (codec_decode_record(data, len, rec, why, sizeof why) != ENLACE_OK)
        blog(BLOG_ERROR, "log.record_unreadable", "why", why, NULL);
    free(data);
}

static rentry_t *rcache_get(io_thread_impl_t *io, uint64_t seq);

/* The signer certificate of a logged Published record: inline, or carried by the
 * earlier record it refers to (read through the cache, or directly when that record
 * would take the same slot). Sets *cert and *len to memory valid while *hold lives. */
static void record_cert(io_thread_impl_t *io, const Enlace__Record *r, const uint8_t **cert,
                        size_t *len, Enlace__Record **hold)
{
    const Enlace__Published *p = r->published;
    *cert = NULL;
    *len = 0;
    *hold = NULL;
    if (p->has_signer_cert) {
        *cert = p->signer_cert.data;
        *len = p->signer_cert.len;
        return;
    }
    if (!p->has_cert_record_seq || p->cert_record_seq >= r->seq)
        return;
    uint64_t cs = p->cert_record_seq;
    if (cs % RCACHE_SLOTS != r->seq % RCACHE_SLOTS) {
        rentry_t *c = rcache_get(io, cs);
        if (c && c->pub && c->pub->cert) {
            *cert = c->pub->cert;
            *len = c->pub->cert_len;
        }
        return;
    }
    read_record(io, cs, hold); /* same slot: do not evict what we are building */
    if (*hold && (*hold)->kind_case == ENLACE__RECORD__KIND_PUBLISHED &&
        (*hold)->published->has_signer_cert) {
        *cert = (*hold)->published->signer_cert.data;
        *len = (*hold)->published->signer_cert.len;
    }
}

/* Record seq as a cursor sees it: from the cache (filled by head announcements), else
 * read back from the log. NULL when it cannot be read now. */
static rentry_t *rcache_get(io_thread_impl_t *io, uint64_t seq)
{
    rentry_t *e = &io->cache->slot[seq % RCACHE_SLOTS];
    if (e->seq == seq + 1)
        return e;
    Enlace__Record *r = NULL;
    read_record(io, seq, &r);
    if (!r)
        return NULL;
    publication_t *p = NULL;
    if (r->kind_case == ENLACE__RECORD__KIND_PUBLISHED) {
        const ProtobufCBinaryData *hb = &r->published->envelope->header;
        Enlace__Header *h = NULL;
        char why[128];
        if (codec_decode_header(hb->data, hb->len, &h, why, sizeof why) == ENLACE_OK) {
            const uint8_t *cert;
            size_t cert_len;
            Enlace__Record *hold;
            record_cert(io, r, &cert, &cert_len, &hold);
            p = pub_from_record(r, h, cert, cert_len);
            codec_free((ProtobufCMessage **)&hold);
            codec_free((ProtobufCMessage **)&h);
            if (!p) { /* out of memory: retry later */
                codec_free((ProtobufCMessage **)&r);
                return NULL;
            }
        }
    }
    codec_free((ProtobufCMessage **)&r);
    rcache_put(io, seq, p);
    return &io->cache->slot[seq % RCACHE_SLOTS];
}

/* May this session's agency receive this message on this subscription? */
static bool deliverable(const session_t *s, const subscription_t *sub, const publication_t *p)
{
    if (!topic_matches(sub->filter, p->topic))
        return false;
    if (!policy_may_read(s->snap->policy, s->agency, p->topic))
        return false;
    if (p->n_recipients == 0)
        return p->tlp != ENLACE__TLP__TLP_RED && p->tlp != ENLACE__TLP__TLP_AMBER_STRICT;
    for (size_t i = 0; i < p->n_recipients; i++)
        if (strcmp(p->recipients[i], s->agency) == 0)
            return true;
    return false;
}

/* Queues the Deliver, written straight from the publication's encoded bytes; false
 * when out of memory (nothing queued, nothing marked in flight). */
static bool send_deliver(session_t *s, subscription_t *sub, const publication_t *p)
{
    size_t n = pub_deliver_size(p, sub->id);
    uint8_t *dst = session_out_claim(s, n);
    if (!dst)
        return false;
    pub_deliver_write(p, sub->id, dst);
    sub->inflight[(sub->in_head + sub->in_count) % SUB_WINDOW] = p->seq;
    sub->in_count++;
    return true;
}

/* True when seq is known (from the sequencer's announcement) not to be a publication. */
static bool known_unpublished(const io_thread_impl_t *io, uint64_t seq)
{
    return seq >= io->kinds_from && seq < io->kinds_to && !io->kinds[seq % KIND_RING];
}

void delivery_note_head(io_thread_impl_t *io, bus_msg_t *m)
{
    if (!m->pubs_known)
        return; /* nothing known of the range: cursors read it from the log */
    uint64_t from = m->from, to = m->seq;
    if (from != io->kinds_to) /* a gap: start knowing afresh */
        io->kinds_from = from;
    for (uint64_t q = to - from > KIND_RING ? to - KIND_RING : from; q < to; q++)
        io->kinds[q % KIND_RING] = 0;
    for (size_t i = 0; i < m->n_pubs; i++) {
        publication_t *p = m->pubs[i];
        if (p->seq < from || p->seq >= to)
            continue; /* cannot happen: the sequencer lists exactly the range */
        io->kinds[p->seq % KIND_RING] = 1;
        rcache_put(io, p->seq, p);
        m->pubs[i] = NULL; /* the reference moved into the cache */
    }
    io->kinds_to = to;
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
            if (e->pub && deliverable(s, sub, e->pub) && !send_deliver(s, sub, e->pub))
                break; /* out of memory: retry on the next head or tick */
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

void delivery_sub_added(io_thread_impl_t *io, session_t *s, subscription_t *sub)
{
    sub->caught_up = false;
    sub->owner = s;
    if (topic_index_insert(io->subs, sub->filter, sub) != ENLACE_OK)
        blog(BLOG_ERROR, "delivery.index_failed", "filter", sub->filter, NULL);
    if (io->n_active == io->cap_active) {
        size_t ncap = io->cap_active ? io->cap_active * 2 : 64;
        subscription_t **n = realloc(io->active, ncap * sizeof *n);
        if (!n) { /* the cursor then moves only when its session is serviced for */
            blog(BLOG_ERROR, "delivery.out_of_memory", NULL); /* other reasons */
            return;
        }
        io->active = n;
        io->cap_active = ncap;
    }
    io->active[io->n_active++] = sub;
}

void delivery_sub_removed(io_thread_impl_t *io, subscription_t *sub)
{
    if (!sub->active)
        return;
    topic_index_remove(io->subs, sub->filter, sub);
    for (size_t i = 0; i < io->n_active; i++)
        if (io->active[i] == sub) {
            io->active[i] = io->active[--io->n_active];
            break;
        }
}

static void mark_hit(void *value, void *arg)
{
    (void)arg;
    ((subscription_t *)value)->hit = true;
}

void delivery_head_advanced(io_thread_impl_t *io, uint64_t old_head, uint64_t new_head)
{
    size_t caught = 0;
    for (size_t i = 0; i < io->n_active; i++) {
        subscription_t *sub = io->active[i];
        sub->hit = false;
        sub->caught_up = sub->owner->state == SESSION_READY && sub->next == old_head;
        caught += sub->caught_up;
        io_mark_service(io, sub->owner); /* its cursors may move */
    }
    if (caught == 0)
        return;
    for (uint64_t seq = old_head; seq < new_head; seq++) {
        if (known_unpublished(io, seq))
            continue;
        rentry_t *e = rcache_get(io, seq);
        if (!e)
            return; /* unreadable now: no cursor skips anything */
        if (e->pub)
            topic_index_match(io->subs, e->pub->topic, mark_hit, NULL);
    }
    /* Nothing new for these filters: the cursor moves without reading. */
    for (size_t i = 0; i < io->n_active; i++) {
        subscription_t *sub = io->active[i];
        if (sub->caught_up && !sub->hit)
            sub->next = new_head;
    }
}
