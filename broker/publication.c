/* publication — one published message as the broker routes it (see publication.h). */
#include "publication.h"

#include <stdlib.h>
#include <string.h>

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

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void *dup_bytes(const void *d, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p && n)
        memcpy(p, d, n);
    return p;
}

/* Fills the routing fields from a decoded header; false when out of memory. */
static bool take_header(publication_t *p, const Enlace__Header *h)
{
    if (h->message_id.len == sizeof p->message_id)
        memcpy(p->message_id, h->message_id.data, sizeof p->message_id);
    p->tlp = h->tlp;
    p->sender = dup_str(h->sender);
    p->topic = dup_str(h->topic);
    if (!p->sender || !p->topic)
        return false;
    if (h->n_recipients) {
        p->recipients = calloc(h->n_recipients, sizeof *p->recipients);
        if (!p->recipients)
            return false;
        for (size_t i = 0; i < h->n_recipients; i++)
            if (!(p->recipients[p->n_recipients++] = dup_str(h->recipients[i])))
                return false;
    }
    return true;
}

static bool take_envelope(publication_t *p, const Enlace__Envelope *env)
{
    p->envelope_len = enlace__envelope__get_packed_size(env);
    p->envelope = malloc(p->envelope_len ? p->envelope_len : 1);
    if (!p->envelope)
        return false;
    enlace__envelope__pack(env, p->envelope);
    return true;
}

static bool take_cert(publication_t *p, const uint8_t *cert, size_t len)
{
    if (!cert)
        return true;
    if (!(p->cert = dup_bytes(cert, len)))
        return false;
    p->cert_len = len;
    return true;
}

publication_t *pub_new(uint64_t session_id, const Enlace__Header *h, const Enlace__Envelope *env,
                       const uint8_t *cert, size_t cert_len, const uint8_t cert_sha256[32])
{
    publication_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->refs = 1;
    p->session_id = session_id;
    memcpy(p->cert_sha256, cert_sha256, 32);
    if (!take_header(p, h) || !take_envelope(p, env) || !take_cert(p, cert, cert_len))
        pub_unref(&p);
    return p;
}

publication_t *pub_from_record(const Enlace__Record *r, const Enlace__Header *h,
                               const uint8_t *cert, size_t cert_len)
{
    publication_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->refs = 1;
    p->seq = r->seq;
    p->time_ms = r->time_ms;
    p->session_id = r->published->session_id;
    if (!take_header(p, h) || !take_envelope(p, r->published->envelope) ||
        !take_cert(p, cert, cert_len))
        pub_unref(&p);
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
    if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < p->n_recipients; i++)
        free(p->recipients[i]);
    free(p->recipients);
    free(p->sender);
    free(p->topic);
    free(p->envelope);
    free(p->cert);
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
    dst[0] = (uint8_t)(body >> 24);
    dst[1] = (uint8_t)(body >> 16);
    dst[2] = (uint8_t)(body >> 8);
    dst[3] = (uint8_t)body;
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
