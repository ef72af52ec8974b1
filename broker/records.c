/* records — pack audit records into bus messages (see records.h). */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Encodes r (seq and time_ms 0) as its kind field alone, the form log_append_kind takes,
 * into a new message of type t. protobuf-c packs fields in number order, so the packed
 * Record starts with seq and time_ms (fields 1 and 2, value 0: 08 00 10 00); the kind
 * field is what follows. */
static bus_msg_t *pack(bus_type_t t, Enlace__Record *r)
{
    static const uint8_t zero_head[4] = {0x08, 0x00, 0x10, 0x00};
    bus_msg_t *m = bus_msg_new(t);
    if (!m)
        return NULL;
    r->seq = 0;
    r->time_ms = 0;
    size_t len = enlace__record__get_packed_size(r);
    uint8_t *buf = malloc(len);
    if (!buf || len <= sizeof zero_head || enlace__record__pack(r, buf) != len ||
        memcmp(buf, zero_head, sizeof zero_head) != 0) {
        free(buf);
        bus_msg_free(&m);
        return NULL;
    }
    memmove(buf, buf + sizeof zero_head, len - sizeof zero_head);
    m->record = buf;
    m->record_len = len - sizeof zero_head;
    return m;
}

bus_msg_t *rec_session_opened(uint64_t session_id, const char *agency, const uint8_t cert[32],
                              const char *peer, const uint8_t *der, size_t der_len)
{
    Enlace__SessionOpened so = ENLACE__SESSION_OPENED__INIT;
    so.session_id = session_id;
    so.agency_id = (char *)agency;
    so.cert_sha256 = (ProtobufCBinaryData){32, (uint8_t *)cert};
    so.peer_address = (char *)peer;
    so.has_cert_der = der != NULL;
    so.cert_der = (ProtobufCBinaryData){der_len, (uint8_t *)der};
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_SESSION_OPENED;
    r.session_opened = &so;
    bus_msg_t *m = pack(BUS_APPEND, &r);
    if (m && der) { /* for the sequencer's table of latest certificates */
        snprintf(m->agency, sizeof m->agency, "%s", agency);
        if ((m->cert = malloc(der_len)) != NULL) {
            memcpy(m->cert, der, der_len);
            m->cert_len = der_len;
        }
    }
    return m;
}

bus_msg_t *rec_session_closed(uint64_t session_id, const char *agency, const char *reason)
{
    Enlace__SessionClosed sc = ENLACE__SESSION_CLOSED__INIT;
    sc.session_id = session_id;
    sc.agency_id = (char *)agency;
    sc.reason = (char *)reason;
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_SESSION_CLOSED;
    r.session_closed = &sc;
    return pack(BUS_APPEND, &r);
}

bus_msg_t *rec_denied(const char *agency, const uint8_t *cert, const char *operation,
                      Enlace__ErrorCode code, const char *reason, const char *peer,
                      const char *topic, const uint8_t *message_id)
{
    Enlace__Denied d = ENLACE__DENIED__INIT;
    d.agency_id = (char *)agency;
    if (cert) {
        d.has_cert_sha256 = true;
        d.cert_sha256 = (ProtobufCBinaryData){32, (uint8_t *)cert};
    }
    d.operation = (char *)operation;
    d.code = code;
    d.reason = (char *)reason;
    d.peer_address = (char *)peer;
    d.topic = (char *)topic;
    if (message_id) {
        d.has_message_id = true;
        d.message_id = (ProtobufCBinaryData){16, (uint8_t *)message_id};
    }
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_DENIED;
    r.denied = &d;
    return pack(BUS_APPEND, &r);
}

bus_msg_t *rec_config_loaded(const char *what, const char *path, const uint8_t sha[32],
                             bool accepted, const char *detail)
{
    Enlace__ConfigLoaded c = ENLACE__CONFIG_LOADED__INIT;
    c.what = (char *)what;
    c.path = (char *)path;
    c.sha256 = (ProtobufCBinaryData){32, (uint8_t *)sha};
    c.accepted = accepted;
    c.detail = (char *)detail;
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_CONFIG_LOADED;
    r.config_loaded = &c;
    return pack(BUS_APPEND, &r);
}

bus_msg_t *rec_delivered(const char *recipient, const char *name, const uint64_t *seqs, size_t n)
{
    Enlace__Delivered d = ENLACE__DELIVERED__INIT;
    d.recipient = (char *)recipient;
    d.subscription = (char *)name;
    d.n_message_seqs = n;
    d.message_seqs = (uint64_t *)seqs;
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_DELIVERED;
    r.delivered = &d;
    return pack(BUS_DELIVERED, &r);
}
