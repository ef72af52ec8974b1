/* publication — one published message as the broker routes it (see publication.h). */
#include "publication.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "wire.h"

/* Field numbers of proto/enlace.proto written by hand here. */
enum {
    F_RECORD_PUBLISHED = 12,
    F_PUBLISHED_SESSION = 1,
    F_PUBLISHED_ENVELOPE = 2,
    F_PUBLISHED_CERT = 3,
    F_PUBLISHED_CERT_SEQ = 4,
    F_FRAME_DELIVER = 8,
    F_DELIVER_SUB = 1,
    F_DELIVER_SEQ = 2,
    F_DELIVER_ENVELOPE = 3,
    F_DELIVER_TIME = 4,
    F_DELIVER_CERT = 5,
};

/* One allocation holds the structure and everything it points to (a publication is
 * made per message: one malloc and one free instead of ten). */
static publication_t *build(const Enlace__Header *h, const Enlace__Envelope *env,
                            const uint8_t *cert, size_t cert_len)
{
    size_t sender = strlen(h->sender) + 1, topic = strlen(h->topic) + 1, names = 0;
    for (size_t i = 0; i < h->n_recipients; i++)
        names += strlen(h->recipients[i]) + 1;
    size_t env_len = enlace__envelope__get_packed_size(env);
    size_t size = sizeof(publication_t) + h->n_recipients * sizeof(char *) + env_len +
                  (cert ? cert_len : 0) + sender + topic + names;
    publication_t *p = malloc(size);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    uint8_t *w = (uint8_t *)(p + 1);
    p->recipients = (char **)w; /* pointers first: aligned after the structure */
    w += h->n_recipients * sizeof(char *);
    p->envelope = w;
    p->envelope_len = enlace__envelope__pack(env, w);
    w += env_len;
    if (cert) {
        p->cert = memcpy(w, cert, cert_len);
        p->cert_len = cert_len;
        w += cert_len;
    }
    p->sender = memcpy(w, h->sender, sender);
    w += sender;
    p->topic = memcpy(w, h->topic, topic);
    w += topic;
    for (size_t i = 0; i < h->n_recipients; i++) {
        size_t n = strlen(h->recipients[i]) + 1;
        p->recipients[i] = memcpy(w, h->recipients[i], n);
        w += n;
    }
    p->n_recipients = h->n_recipients;
    if (h->message_id.len == sizeof p->message_id)
        memcpy(p->message_id, h->message_id.data, sizeof p->message_id);
    p->tlp = h->tlp;
    p->refs = 1;
    return p;
}

publication_t *pub_new(uint64_t session_id, const Enlace__Header *h, const Enlace__Envelope *env,
                       const uint8_t *cert, size_t cert_len, const uint8_t cert_sha256[32])
{
    publication_t *p = build(h, env, cert, cert_len);
    if (p) {
        p->session_id = session_id;
        memcpy(p->cert_sha256, cert_sha256, 32);
    }
    return p;
}

publication_t *pub_from_record(const Enlace__Record *r, const Enlace__Header *h,
                               const uint8_t *cert, size_t cert_len)
{
    publication_t *p = build(h, r->published->envelope, cert, cert_len);
    if (p) {
        p->seq = r->seq;
        p->time_ms = r->time_ms;
        p->session_id = r->published->session_id;
        if (cert)
            sha256(cert, cert_len, p->cert_sha256);
    }
    return p;
}

publication_t *pub_ref(publication_t *p)
{
    if (p)
        __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
    return p;
}

void pub_unref(publication_t **pp)
{
    if (!pp || !*pp)
        return;
    publication_t *p = *pp;
    *pp = NULL;
    if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(p);
}

size_t pub_record_parts(const publication_t *p, bool inline_cert, uint64_t cert_seq,
                        uint8_t scratch[PUB_RECORD_SCRATCH], log_bytes_t parts[PUB_RECORD_PARTS])
{
    /* Record.published = Published { session_id, envelope, signer_cert | cert_record_seq }.
     * scratch holds [key+length of the field][session_id][envelope key+length] from 0
     * and [signer_cert key+length | cert_record_seq] from PUB_RECORD_SCRATCH / 2. */
    bool with_cert = inline_cert && p->cert;
    uint8_t mid[2 * (1 + WIRE_VARINT_MAX)];
    size_t ml = wire_uint_field(mid, F_PUBLISHED_SESSION, p->session_id);
    ml += wire_len_prefix(mid + ml, F_PUBLISHED_ENVELOPE, p->envelope_len);
    uint8_t *tail = scratch + PUB_RECORD_SCRATCH / 2;
    size_t tl = with_cert ? wire_len_prefix(tail, F_PUBLISHED_CERT, p->cert_len)
                          : wire_uint_field(tail, F_PUBLISHED_CERT_SEQ, cert_seq);
    size_t inner = ml + p->envelope_len + tl + (with_cert ? p->cert_len : 0);
    size_t hl = wire_len_prefix(scratch, F_RECORD_PUBLISHED, inner);
    memcpy(scratch + hl, mid, ml);
    size_t n = 0;
    parts[n++] = (log_bytes_t){scratch, hl + ml};
    parts[n++] = (log_bytes_t){p->envelope, p->envelope_len};
    parts[n++] = (log_bytes_t){tail, tl};
    if (with_cert)
        parts[n++] = (log_bytes_t){p->cert, p->cert_len};
    return n;
}

/* Bytes of the Deliver message body (without the Frame key and length). */
static size_t deliver_len(const publication_t *p, uint32_t sub_id)
{
    size_t n = 1 + wire_varint_size(sub_id) + 1 + wire_varint_size(p->seq) + 1 +
               wire_varint_size(p->envelope_len) + p->envelope_len + 1 +
               wire_varint_size(p->time_ms);
    if (p->cert)
        n += 1 + wire_varint_size(p->cert_len) + p->cert_len;
    return n;
}

size_t pub_deliver_size(const publication_t *p, uint32_t sub_id)
{
    size_t d = deliver_len(p, sub_id);
    return 4 + 1 + wire_varint_size(d) + d;
}

void pub_deliver_write(const publication_t *p, uint32_t sub_id, uint8_t *dst)
{
    size_t d = deliver_len(p, sub_id);
    size_t body = 1 + wire_varint_size(d) + d;
    wire_put_be32(dst, (uint32_t)body);
    uint8_t *w = dst + 4;
    w += wire_len_prefix(w, F_FRAME_DELIVER, d);
    w += wire_uint_field(w, F_DELIVER_SUB, sub_id);
    w += wire_uint_field(w, F_DELIVER_SEQ, p->seq);
    w += wire_len_prefix(w, F_DELIVER_ENVELOPE, p->envelope_len);
    memcpy(w, p->envelope, p->envelope_len);
    w += p->envelope_len;
    w += wire_uint_field(w, F_DELIVER_TIME, p->time_ms);
    if (p->cert) {
        w += wire_len_prefix(w, F_DELIVER_CERT, p->cert_len);
        memcpy(w, p->cert, p->cert_len);
    }
}
