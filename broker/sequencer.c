/* sequencer — group-committing log writer thread (see sequencer.h). */
#include "sequencer.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "blog.h"
#include "bus.h"
#include "certdir.h"
#include "checkpoint.h"
#include "codec.h"
#include "crypto.h"
#include "enlace.pb-c.h"
#include "hmap.h"
#include "publication.h"
#include "records.h"

#define MAX_PROOF 64
/* Records nobody waits for (session, denial and delivery records) are committed with the
 * next batch that has a reply waiting, or at the latest this long after the first of
 * them was appended: one fdatasync less per DeliverAck at low rates. */
#define LAZY_COMMIT_MS 5

struct sequencer {
    log_store_t *log;            /* the audit log; this thread is its only writer */
    EVP_PKEY *key;               /* Ed25519 checkpoint signing key */
    uint8_t pub[32];             /* its raw public key */
    char origin[256];            /* checkpoint origin line */
    void *zctx;                  /* shared libzmq context */
    int n_io;                    /* number of io threads */
    void *pull;                  /* inbound requests (bound here) */
    int pull_fd;                 /* its ZMQ_FD: readable when messages may be waiting */
    void **to_io;                /* PUSH socket per io thread */
    pthread_t thread;            /* the writer thread */
    bool started;                /* thread was started */
    uint64_t next_seq;           /* seq the next appended record gets */
    hmap_t *by_message;          /* message id -> {seq, sender hash} */
    hmap_t *by_cert;             /* cert sha256 -> {seq of record carrying it} */
    hmap_t *cursors;             /* (agency, name) -> {next seq, owning session id} */
    certdir_t *certs;            /* latest certificate each agency connected with */
    uint64_t *times;             /* record time per seq (start from a time) */
    size_t times_cap;            /* capacity of times */
    uint64_t checkpoint_size;    /* tree size of the latest signed checkpoint */
    uint64_t last_checkpoint_ms; /* when it was signed */
    publication_t **pubs;        /* publications appended since the last head, in seq order */
    size_t n_pubs, cap_pubs;     /* entries and capacity of pubs */
    bus_msg_t **waiting;         /* receipts waiting for a checkpoint that covers them */
    size_t n_waiting;            /* entries in waiting */
    bus_msg_t **replies;         /* answers held until the batch is durable */
    size_t n_replies, cap_replies;
    uint64_t uncommitted_since; /* mono ms of the oldest uncommitted append, 0 = none */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t sender_hash(const char *agency)
{
    uint8_t k[32];
    hmap_key(k, agency, strlen(agency), "sender", 6);
    uint64_t h;
    memcpy(&h, k, sizeof h);
    return h;
}

static void cursor_key(uint8_t key[32], const char *agency, const char *name)
{
    hmap_key(key, agency, strlen(agency), name, strlen(name));
}

static enlace_err_t note_time(sequencer_t *s, uint64_t seq, uint64_t t)
{
    if (seq >= s->times_cap) {
        size_t ncap = s->times_cap ? s->times_cap * 2 : 4096;
        while (ncap <= seq)
            ncap *= 2;
        uint64_t *nt = realloc(s->times, ncap * sizeof *nt);
        if (!nt)
            return ENLACE_ERR_NOMEM;
        s->times = nt;
        s->times_cap = ncap;
    }
    s->times[seq] = t;
    return ENLACE_OK;
}

/* A Delivered record moves durable cursor (agency, name) to `next`, never backwards. */
static void cursor_advance(sequencer_t *s, const char *agency, const char *name, uint64_t next)
{
    uint8_t key[32];
    cursor_key(key, agency, name);
    hmap_val_t *v = hmap_get(s->cursors, key);
    if (!v)
        hmap_put(s->cursors, key, (hmap_val_t){next, 0});
    else if (next > v->a)
        v->a = next;
}

/* Updates the indexes for one record (at open, and after each append). */
static void index_record(sequencer_t *s, const Enlace__Record *r)
{
    note_time(s, r->seq, r->time_ms);
    uint8_t key[32];
    if (r->kind_case == ENLACE__RECORD__KIND_PUBLISHED) {
        const Enlace__Published *p = r->published;
        Enlace__Header *h = NULL;
        char why[128];
        if (codec_decode_header(p->envelope->header.data, p->envelope->header.len, &h, why,
                                sizeof why) == ENLACE_OK) {
            hmap_key(key, h->message_id.data, h->message_id.len, NULL, 0);
            hmap_put(s->by_message, key, (hmap_val_t){r->seq, sender_hash(h->sender)});
            if (p->has_signer_cert) /* logs from before SessionOpened carried certificates */
                certdir_put(s->certs, h->sender, p->signer_cert.data, p->signer_cert.len);
            codec_free((ProtobufCMessage **)&h);
        }
        if (p->has_signer_cert) {
            uint8_t d[32];
            EVP_Digest(p->signer_cert.data, p->signer_cert.len, d, NULL, EVP_sha256(), NULL);
            hmap_put(s->by_cert, d, (hmap_val_t){r->seq, 0});
        }
    } else if (r->kind_case == ENLACE__RECORD__KIND_SESSION_OPENED) {
        const Enlace__SessionOpened *o = r->session_opened;
        if (o->has_cert_der)
            certdir_put(s->certs, o->agency_id, o->cert_der.data, o->cert_der.len);
    } else if (r->kind_case == ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED) {
        const Enlace__SubscriptionChanged *c = r->subscription_changed;
        cursor_key(key, c->agency_id, c->name);
        hmap_val_t *v = hmap_get(s->cursors, key);
        hmap_put(s->cursors, key, (hmap_val_t){c->next_seq, v ? v->b : 0});
    } else if (r->kind_case == ENLACE__RECORD__KIND_DELIVERED) {
        const Enlace__Delivered *d = r->delivered;
        uint64_t top = 0;
        for (size_t i = 0; i < d->n_message_seqs; i++)
            if (d->message_seqs[i] + 1 > top)
                top = d->message_seqs[i] + 1;
        cursor_advance(s, d->recipient, d->subscription, top);
    }
}

static enlace_err_t rebuild_indexes(sequencer_t *s, char *why, size_t why_len)
{
    uint64_t n = log_size(s->log);
    for (uint64_t seq = 0; seq < n; seq++) {
        uint8_t *data = NULL;
        size_t len = 0;
        enlace_err_t rc = log_read(s->log, seq, &data, &len);
        if (rc != ENLACE_OK) {
            snprintf(why, why_len, "cannot read record %llu back: %s", (unsigned long long)seq,
                     enlace_err_str(rc));
            return rc;
        }
        Enlace__Record *r = NULL;
        char w[128];
        rc = codec_decode_record(data, len, &r, w, sizeof w);
        free(data);
        if (rc != ENLACE_OK) {
            snprintf(why, why_len, "record %llu does not decode: %s", (unsigned long long)seq, w);
            return ENLACE_ERR_CORRUPT;
        }
        index_record(s, r);
        codec_free((ProtobufCMessage **)&r);
    }
    s->next_seq = n;
    return ENLACE_OK;
}

/* Bookkeeping after any append: the next seq and the oldest uncommitted record. */
static void appended(sequencer_t *s, uint64_t seq, uint64_t time_ms)
{
    note_time(s, seq, time_ms);
    s->next_seq = seq + 1;
    if (!s->uncommitted_since)
        s->uncommitted_since = mono_ms();
}

/* Appends rec, built here (seq/time assigned by the log), and indexes it. */
static enlace_err_t append(sequencer_t *s, Enlace__Record *rec, uint64_t *seq, uint8_t leaf[32])
{
    uint64_t sq;
    uint8_t lf[32];
    rec->seq = 0;
    rec->time_ms = 0; /* the store stamps it, never going backwards */
    enlace_err_t rc = log_append(s->log, rec, &sq, lf);
    if (rc != ENLACE_OK)
        return rc;
    rec->seq = sq;
    appended(s, sq, rec->time_ms);
    index_record(s, rec);
    if (seq)
        *seq = sq;
    if (leaf)
        memcpy(leaf, lf, 32);
    return ENLACE_OK;
}

static void hold_reply(sequencer_t *s, bus_msg_t *m)
{
    if (s->n_replies == s->cap_replies) {
        size_t ncap = s->cap_replies ? s->cap_replies * 2 : 64;
        bus_msg_t **nr = realloc(s->replies, ncap * sizeof *nr);
        if (!nr) {
            bus_msg_free(&m);
            return;
        }
        s->replies = nr;
        s->cap_replies = ncap;
    }
    s->replies[s->n_replies++] = m;
}

/* Turns request m into a reply of type t and holds it until the commit. */
static void reply_after_commit(sequencer_t *s, bus_msg_t *m, bus_type_t t)
{
    m->request = m->type;
    m->type = t;
    free(m->record);
    m->record = NULL;
    m->record_len = 0;
    hold_reply(s, m);
}

static void error_after_commit(sequencer_t *s, bus_msg_t *m, int code, const char *text)
{
    m->err_code = code;
    snprintf(m->text, sizeof m->text, "%s", text);
    reply_after_commit(s, m, BUS_ERROR);
}

/* Tells every io thread that agency's latest certificate is der. */
static void announce_cert(sequencer_t *s, const char *agency, const uint8_t *der, size_t len)
{
    for (int i = 0; i < s->n_io; i++) {
        bus_msg_t *m = bus_msg_new(BUS_CERT_SEEN);
        if (!m || !(m->cert = malloc(len))) {
            bus_msg_free(&m);
            continue;
        }
        memcpy(m->cert, der, len);
        m->cert_len = len;
        snprintf(m->agency, sizeof m->agency, "%s", agency);
        if (bus_send(s->to_io[i], &m) != ENLACE_OK)
            bus_msg_free(&m);
    }
}

/* Session, denial and delivery records: encoded by the io thread, logged as they are. */
static void handle_append(sequencer_t *s, bus_msg_t *m)
{
    log_bytes_t kind = {m->record, m->record_len};
    uint64_t seq, t;
    if (!m->record || log_append_kind(s->log, &kind, 1, &seq, &t, NULL) != ENLACE_OK) {
        blog(BLOG_ERROR, "log.append_failed", "what", "audit record", NULL);
    } else {
        appended(s, seq, t);
        if (m->cert && certdir_put(s->certs, m->agency, m->cert, m->cert_len))
            announce_cert(s, m->agency, m->cert, m->cert_len);
        if (m->type == BUS_DELIVERED)
            cursor_advance(s, m->agency, m->name, m->seq + 1);
    }
    bus_msg_free(&m);
}

/* Room for one more entry in pubs. */
static bool reserve_pub(sequencer_t *s)
{
    if (s->n_pubs < s->cap_pubs)
        return true;
    size_t ncap = s->cap_pubs ? s->cap_pubs * 2 : 256;
    publication_t **n = realloc(s->pubs, ncap * sizeof *n);
    if (!n)
        return false;
    s->pubs = n;
    s->cap_pubs = ncap;
    return true;
}

static void handle_publish(sequencer_t *s, bus_msg_t *m)
{
    publication_t *p = m->pub;
    if (!p) {
        error_after_commit(s, m, ENLACE__ERROR_CODE__ERROR_INTERNAL, "bad internal message");
        return;
    }
    uint8_t key[32];
    hmap_key(key, p->message_id, 16, NULL, 0);
    hmap_val_t *dup = hmap_get(s->by_message, key);
    if (dup) {
        if (dup->b != sender_hash(p->sender)) {
            static const char why[] = "message id already used by another sender";
            bus_msg_t *d =
                rec_denied(p->sender, p->cert_sha256, "publish",
                           ENLACE__ERROR_CODE__ERROR_MALFORMED, why, NULL, p->topic, p->message_id);
            if (d)
                handle_append(s, d); /* audited like every refusal */
            error_after_commit(s, m, ENLACE__ERROR_CODE__ERROR_MALFORMED, why);
            return;
        }
        m->seq = dup->a;
        m->duplicate = true;
        merkle_leaf(log_tree(s->log), dup->a, m->leaf);
        reply_after_commit(s, m, BUS_PUBLISH_ACK);
        return;
    }
    /* The log carries each signer certificate once; later records refer to it. */
    hmap_val_t *c = hmap_get(s->by_cert, p->cert_sha256);
    uint8_t scratch[PUB_RECORD_SCRATCH];
    log_bytes_t parts[PUB_RECORD_PARTS];
    size_t n = pub_record_parts(p, c == NULL, c ? c->a : 0, scratch, parts);
    if (!reserve_pub(s)) { /* before the append: nothing to undo after it */
        error_after_commit(s, m, ENLACE__ERROR_CODE__ERROR_INTERNAL, "out of memory");
        return;
    }
    uint64_t seq, t;
    if (log_append_kind(s->log, parts, n, &seq, &t, m->leaf) != ENLACE_OK) {
        error_after_commit(s, m, ENLACE__ERROR_CODE__ERROR_INTERNAL, "audit log append failed");
        return;
    }
    appended(s, seq, t);
    p->seq = seq;
    p->time_ms = t;
    hmap_put(s->by_message, key, (hmap_val_t){seq, sender_hash(p->sender)});
    if (!c && p->cert)
        hmap_put(s->by_cert, p->cert_sha256, (hmap_val_t){seq, 0});
    s->pubs[s->n_pubs++] = p; /* announced with the head after the commit */
    m->pub = NULL;
    m->seq = seq;
    reply_after_commit(s, m, BUS_PUBLISH_ACK);
}

static uint64_t first_seq_at(const sequencer_t *s, uint64_t t)
{
    uint64_t lo = 0, hi = s->next_seq;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s->times[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void handle_subscribe(sequencer_t *s, bus_msg_t *m)
{
    uint8_t key[32];
    cursor_key(key, m->agency, m->name);
    hmap_val_t *v = hmap_get(s->cursors, key);
    if (v && v->b != 0 && v->b != m->session_id) {
        error_after_commit(s, m, ENLACE__ERROR_CODE__ERROR_PROTOCOL,
                           "durable subscription is in use by another session of this agency");
        return;
    }
    uint64_t next;
    switch (m->start) {
    case ENLACE__START_MODE__START_NEW: next = s->next_seq; break;
    case ENLACE__START_MODE__START_FROM_SEQ:
        next = m->from < s->next_seq ? m->from : s->next_seq;
        break;
    case ENLACE__START_MODE__START_FROM_TIME: next = first_seq_at(s, m->from); break;
    default: next = v ? v->a : 0; break; /* RESUME; never acknowledged: from the start */
    }
    Enlace__SubscriptionChanged sc = ENLACE__SUBSCRIPTION_CHANGED__INIT;
    sc.agency_id = m->agency;
    sc.name = m->name;
    sc.filter = m->filter;
    sc.next_seq = next;
    sc.removed = false;
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED;
    r.subscription_changed = &sc;
    if (append(s, &r, NULL, NULL) != ENLACE_OK) {
        error_after_commit(s, m, ENLACE__ERROR_CODE__ERROR_INTERNAL, "audit log append failed");
        return;
    }
    hmap_put(s->cursors, key, (hmap_val_t){next, m->session_id});
    m->seq = next;
    reply_after_commit(s, m, BUS_SUBSCRIBED);
}

static void handle_release(sequencer_t *s, bus_msg_t *m)
{
    uint8_t key[32];
    cursor_key(key, m->agency, m->name);
    hmap_val_t *v = hmap_get(s->cursors, key);
    if (v && v->b == m->session_id)
        v->b = 0;
    bus_msg_free(&m);
}

/* Signs a checkpoint and stores it now (at shutdown). */
static enlace_err_t sign_checkpoint(sequencer_t *s, bool force)
{
    uint64_t size = log_size(s->log);
    if (!force && size == s->checkpoint_size && !log_checkpoint_storing(s->log))
        return ENLACE_OK;
    enlace_err_t rc = log_checkpoint(s->log, force, NULL); /* finishes one in progress */
    if (rc == ENLACE_OK) {
        s->checkpoint_size = log_checkpoint_size(s->log);
        s->last_checkpoint_ms = mono_ms();
    } else {
        blog(BLOG_ERROR, "checkpoint.failed", "error", enlace_err_str(rc), NULL);
    }
    return rc;
}

/* The periodic checkpoint: signed here, stored by the log's checkpoint thread so that
 * commits do not wait behind its three syncs; adopted (and receipts answered) once
 * stored (checkpoint_progress). */
static void start_checkpoint(sequencer_t *s)
{
    s->last_checkpoint_ms = mono_ms();
    if (log_checkpoint_storing(s->log) || log_size(s->log) == s->checkpoint_size)
        return;
    bool started = false;
    enlace_err_t rc = log_checkpoint_start(s->log, &started);
    if (rc != ENLACE_OK)
        blog(BLOG_ERROR, "checkpoint.failed", "error", enlace_err_str(rc), NULL);
    if (!started) /* nothing new, or stored synchronously */
        s->checkpoint_size = log_checkpoint_size(s->log);
}

static void checkpoint_progress(sequencer_t *s)
{
    bool finished = false;
    enlace_err_t rc = log_checkpoint_poll(s->log, false, &finished);
    if (!finished)
        return;
    if (rc != ENLACE_OK)
        blog(BLOG_ERROR, "checkpoint.failed", "error", enlace_err_str(rc), NULL);
    s->checkpoint_size = log_checkpoint_size(s->log);
}

/* Receipts are answered after the batch commit so the proof covers it. */
static void handle_receipt(sequencer_t *s, bus_msg_t *m)
{
    uint8_t key[32];
    hmap_key(key, m->message_id, 16, NULL, 0);
    hmap_val_t *v = hmap_get(s->by_message, key);
    if (!v) {
        error_after_commit(s, m, ENLACE__ERROR_CODE__ERROR_NOT_FOUND, "no such message in the log");
        return;
    }
    m->seq = v->a;
    reply_after_commit(s, m, BUS_RECEIPT_OK); /* completed in finish_receipt() */
}

static void finish_receipt(sequencer_t *s, bus_msg_t *m)
{
    m->proof = calloc(MAX_PROOF, sizeof *m->proof);
    if (!m->proof || log_inclusion_proof(s->log, m->seq, s->checkpoint_size, m->proof, MAX_PROOF,
                                         &m->proof_n) != ENLACE_OK)
        goto fail;
    m->tree_size = s->checkpoint_size;
    if (log_latest_checkpoint(s->log, &m->checkpoint) != ENLACE_OK ||
        log_read(s->log, m->seq, &m->record, &m->record_len) != ENLACE_OK)
        goto fail;
    return;
fail:
    m->type = BUS_ERROR;
    m->err_code = ENLACE__ERROR_CODE__ERROR_INTERNAL;
    snprintf(m->text, sizeof m->text, "cannot build the receipt");
}

static void handle(sequencer_t *s, bus_msg_t *m, bool *stop)
{
    switch (m->type) {
    case BUS_APPEND:
    case BUS_DELIVERED: handle_append(s, m); break;
    case BUS_PUBLISH: handle_publish(s, m); break;
    case BUS_SUBSCRIBE: handle_subscribe(s, m); break;
    case BUS_RELEASE: handle_release(s, m); break;
    case BUS_RECEIPT: handle_receipt(s, m); break;
    case BUS_STOP:
        *stop = true;
        bus_msg_free(&m);
        break;
    default: bus_msg_free(&m); break;
    }
}

static void send_reply(sequencer_t *s, bus_msg_t *m)
{
    if (m->type == BUS_RECEIPT_OK)
        finish_receipt(s, m);
    if (m->io >= 0 && m->io < s->n_io && bus_send(s->to_io[m->io], &m) == ENLACE_OK)
        return;
    bus_msg_free(&m);
}

/* A receipt for a record no checkpoint covers yet waits for the next one:
 * checkpoints are signed at most once a second, never on demand. */
static void hold_receipt(sequencer_t *s, bus_msg_t *m)
{
    bus_msg_t **n = realloc(s->waiting, (s->n_waiting + 1) * sizeof *n);
    if (!n) {
        m->type = BUS_ERROR;
        m->err_code = ENLACE__ERROR_CODE__ERROR_INTERNAL;
        snprintf(m->text, sizeof m->text, "out of memory");
        send_reply(s, m);
        return;
    }
    s->waiting = n;
    s->waiting[s->n_waiting++] = m;
}

/* Answers the receipts the latest checkpoint now covers. */
static void answer_waiting_receipts(sequencer_t *s)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->n_waiting; i++) {
        if (s->waiting[i]->seq < s->checkpoint_size)
            send_reply(s, s->waiting[i]);
        else
            s->waiting[keep++] = s->waiting[i];
    }
    s->n_waiting = keep;
}

/* Commits the batch, then sends the held replies and the new head. */
static void commit_and_answer(sequencer_t *s)
{
    uint64_t before = log_size(s->log);
    enlace_err_t rc = log_commit(s->log);
    if (rc != ENLACE_OK) {
        /* Nothing may be acknowledged that is not durable: fail every answer. */
        blog(BLOG_ERROR, "log.commit_failed", "error", enlace_err_str(rc), NULL);
        for (size_t i = 0; i < s->n_replies; i++) {
            bus_msg_t *m = s->replies[i];
            m->type = BUS_ERROR;
            m->err_code = ENLACE__ERROR_CODE__ERROR_INTERNAL;
            snprintf(m->text, sizeof m->text, "audit log write failed; not accepted");
        }
    }
    for (size_t i = 0; i < s->n_replies; i++) {
        bus_msg_t *m = s->replies[i];
        if (m->type == BUS_RECEIPT_OK && m->seq >= s->checkpoint_size) {
            hold_receipt(s, m); /* answered with the next checkpoint (at most 1 s) */
            continue;
        }
        send_reply(s, m);
    }
    s->n_replies = 0;
    uint64_t after = log_size(s->log);
    if (after != before) {
        /* Each io thread gets a reference to every new publication: live delivery
         * then never reads the log back. */
        for (int i = 0; i < s->n_io; i++) {
            bus_msg_t *h = bus_msg_new(BUS_HEAD);
            if (!h)
                continue;
            h->seq = after;
            h->from = before;
            if (rc == ENLACE_OK &&
                (s->n_pubs == 0 || (h->pubs = malloc(s->n_pubs * sizeof *h->pubs)) != NULL)) {
                for (size_t k = 0; k < s->n_pubs; k++)
                    h->pubs[k] = pub_ref(s->pubs[k]);
                h->n_pubs = s->n_pubs;
                h->pubs_known = true;
            }
            if (bus_send(s->to_io[i], &h) != ENLACE_OK)
                bus_msg_free(&h);
        }
    }
    for (size_t k = 0; k < s->n_pubs; k++)
        pub_unref(&s->pubs[k]);
    s->n_pubs = 0;
    s->uncommitted_since = 0;
}

/* Commit now: someone waits for the batch, or lazy records have waited long enough. */
static bool commit_due(const sequencer_t *s)
{
    return s->n_replies > 0 ||
           (s->uncommitted_since && mono_ms() - s->uncommitted_since >= LAZY_COMMIT_MS);
}

/* Poll timeout of the writer loop: the next lazy commit, batch sync or checkpoint. */
static long wait_ms(const sequencer_t *s)
{
    long t = 250;
    long due = log_sync_due_ms(s->log);
    if (due >= 0 && due < t)
        t = due;
    if (log_checkpoint_storing(s->log) && t > 1)
        t = 1; /* collect the stored checkpoint soon: receipts wait for it */
    if (s->uncommitted_since) {
        uint64_t age = mono_ms() - s->uncommitted_since;
        long left = age >= LAZY_COMMIT_MS ? 0 : (long)(LAZY_COMMIT_MS - age);
        if (left < t)
            t = left;
    }
    return t;
}

static void *sequencer_main(void *arg)
{
    sequencer_t *s = arg;
    bool stop = false;
    for (size_t i = 0; i < certdir_count(s->certs); i++) { /* what the log knows */
        const uint8_t *der;
        size_t len;
        const char *agency = certdir_at(s->certs, i, &der, &len);
        announce_cert(s, agency, der, len);
    }
    while (!stop) {
        /* Sleep on ZMQ_FD itself: the drain below reads until EAGAIN, which consumes
         * the wake-up signal, so any later message signals it again (zmq_poll would
         * probe the socket's mailbox twice more per wake-up). */
        struct pollfd pfd = {s->pull_fd, POLLIN, 0};
        poll(&pfd, 1, (int)wait_ms(s));
        bus_msg_t *m = NULL;
        while (bus_recv(s->pull, &m) == ENLACE_OK)
            handle(s, m, &stop);
        if (commit_due(s))
            commit_and_answer(s);
        else if (log_sync_due_ms(s->log) == 0 && log_sync(s->log) != ENLACE_OK)
            blog(BLOG_ERROR, "log.sync_failed", NULL);
        if (mono_ms() - s->last_checkpoint_ms >= 1000)
            start_checkpoint(s);
        checkpoint_progress(s);
        answer_waiting_receipts(s);
    }
    /* Other threads' last records may sit in pipes fair-queued behind STOP. */
    for (;;) {
        zmq_pollitem_t item = {s->pull, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            break;
        bus_msg_t *m = NULL;
        while (bus_recv(s->pull, &m) == ENLACE_OK)
            handle(s, m, &stop);
    }
    Enlace__BrokerStopped bs = ENLACE__BROKER_STOPPED__INIT;
    bs.reason = "shutdown";
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_BROKER_STOPPED;
    r.broker_stopped = &bs;
    append(s, &r, NULL, NULL);
    commit_and_answer(s);
    sign_checkpoint(s, false);
    answer_waiting_receipts(s);
    return NULL;
}

static enlace_err_t append_startup(sequencer_t *s)
{
    Enlace__BrokerStarted bs = ENLACE__BROKER_STARTED__INIT;
    bs.version = ENLACE_VERSION;
    bs.origin = s->origin;
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_BROKER_STARTED;
    r.broker_started = &bs;
    enlace_err_t rc = append(s, &r, NULL, NULL);
    uint64_t cut = log_recovered_bytes(s->log);
    if (rc == ENLACE_OK && cut > 0) {
        Enlace__Recovery rv = ENLACE__RECOVERY__INIT;
        rv.truncated_bytes = cut;
        rv.detail = (char *)log_recovery_detail(s->log); /* what was cut, where and why */
        Enlace__Record r2 = ENLACE__RECORD__INIT;
        r2.kind_case = ENLACE__RECORD__KIND_RECOVERY;
        r2.recovery = &rv;
        rc = append(s, &r2, NULL, NULL);
    }
    if (rc == ENLACE_OK)
        rc = log_commit(s->log);
    return rc;
}

enlace_err_t sequencer_open(const broker_config_t *cfg, void *zctx, int n_io, sequencer_t **out,
                            char *why, size_t why_len)
{
    *out = NULL;
    sequencer_t *s = calloc(1, sizeof *s);
    if (!s)
        return ENLACE_ERR_NOMEM;
    enlace_err_t rc = ENLACE_ERR_NOMEM;
    s->zctx = zctx;
    s->n_io = n_io;
    snprintf(s->origin, sizeof s->origin, "%s", cfg->origin);
    s->by_message = hmap_new();
    s->by_cert = hmap_new();
    s->cursors = hmap_new();
    s->certs = certdir_new();
    s->to_io = calloc((size_t)n_io, sizeof *s->to_io);
    if (!s->by_message || !s->by_cert || !s->cursors || !s->certs || !s->to_io)
        goto fail;
    s->key = crypto_load_private_key(cfg->checkpoint_key);
    size_t publen = sizeof s->pub;
    if (!s->key || EVP_PKEY_get_raw_public_key(s->key, s->pub, &publen) != 1 || publen != 32) {
        snprintf(why, why_len, "cannot load the Ed25519 checkpoint key %s", cfg->checkpoint_key);
        rc = ENLACE_ERR_INVALID;
        goto fail;
    }
    log_options_t opt = {
        .dir = cfg->log_dir,
        .segment_size = cfg->segment_size,
        .fsync = cfg->fsync == CONFIG_FSYNC_ALWAYS  ? LOG_FSYNC_ALWAYS
                 : cfg->fsync == CONFIG_FSYNC_BATCH ? LOG_FSYNC_BATCH
                                                    : LOG_FSYNC_NEVER,
        .batch_ms = cfg->fsync_batch_ms,
        .no_prealloc = !cfg->prepare_segments,
        .origin = cfg->origin,
        .checkpoint_key = s->key,
    };
    rc = log_open(&opt, &s->log, why, why_len);
    if (rc != ENLACE_OK)
        goto fail;
    rc = rebuild_indexes(s, why, why_len);
    if (rc != ENLACE_OK)
        goto fail;
    s->checkpoint_size = log_checkpoint_size(s->log);
    rc = append_startup(s);
    if (rc != ENLACE_OK) {
        snprintf(why, why_len, "cannot write to the audit log in %s: %s", cfg->log_dir,
                 enlace_err_str(rc));
        goto fail;
    }
    s->pull = bus_pull(zctx, BUS_SEQUENCER);
    size_t fdlen = sizeof s->pull_fd;
    if (s->pull && zmq_getsockopt(s->pull, ZMQ_FD, &s->pull_fd, &fdlen) != 0) {
        zmq_close(s->pull);
        s->pull = NULL;
    }
    for (int i = 0; i < n_io && s->pull; i++) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://io-%d", i);
        if (!(s->to_io[i] = bus_push(zctx, ep)))
            break;
    }
    if (!s->pull || (n_io > 0 && !s->to_io[n_io - 1])) {
        snprintf(why, why_len, "cannot create inproc sockets: %s", zmq_strerror(zmq_errno()));
        rc = ENLACE_ERR_IO;
        goto fail;
    }
    *out = s;
    return ENLACE_OK;
fail:
    sequencer_destroy(&s);
    return rc;
}

enlace_err_t sequencer_start(sequencer_t *s)
{
    if (pthread_create(&s->thread, NULL, sequencer_main, s) != 0)
        return ENLACE_ERR_NOMEM;
    s->started = true;
    return ENLACE_OK;
}

void sequencer_destroy(sequencer_t **sp)
{
    if (!sp || !*sp)
        return;
    sequencer_t *s = *sp;
    if (s->started)
        pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->n_replies; i++)
        bus_msg_free(&s->replies[i]);
    free(s->replies);
    for (size_t i = 0; i < s->n_waiting; i++)
        bus_msg_free(&s->waiting[i]);
    free(s->waiting);
    if (s->pull) {
        bus_msg_t *m = NULL;
        while (bus_recv(s->pull, &m) == ENLACE_OK)
            bus_msg_free(&m);
        zmq_close(s->pull);
    }
    for (int i = 0; s->to_io && i < s->n_io; i++)
        if (s->to_io[i])
            zmq_close(s->to_io[i]);
    free(s->to_io);
    log_close(&s->log);
    EVP_PKEY_free(s->key);
    hmap_destroy(&s->by_message);
    hmap_destroy(&s->by_cert);
    hmap_destroy(&s->cursors);
    certdir_destroy(&s->certs);
    free(s->times);
    for (size_t k = 0; k < s->n_pubs; k++)
        pub_unref(&s->pubs[k]);
    free(s->pubs);
    free(s);
    *sp = NULL;
}

log_store_t *sequencer_log(sequencer_t *s)
{
    return s->log;
}

const uint8_t *sequencer_checkpoint_pub(const sequencer_t *s)
{
    return s->pub;
}
