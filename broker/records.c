/* records — pack audit records into bus messages (see records.h). */
#include "records.h"

#include <stdlib.h>
#include <string.h>

/* Packs r into a new message of type t. */
static bus_msg_t *pack(bus_type_t t, Enlace__Record *r)
{
    bus_msg_t *m = bus_msg_new(t);
    if (!m)
        return NULL;
    m->record_len = enlace__record__get_packed_size(r);
    m->record = malloc(m->record_len ? m->record_len : 1);
    if (!m->record) {
        bus_msg_free(&m);
        return NULL;
    }
    enlace__record__pack(r, m->record);
    return m;
}

bus_msg_t *rec_session_opened(uint64_t session_id, const char *agency, const uint8_t cert[32],
                              const char *peer)
{
    Enlace__SessionOpened so = ENLACE__SESSION_OPENED__INIT;
    so.session_id = session_id;
    so.agency_id = (char *)agency;
    so.cert_sha256 = (ProtobufCBinaryData){32, (uint8_t *)cert};
    so.peer_address = (char *)peer;
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_SESSION_OPENED;
    r.session_opened = &so;
    return pack(BUS_APPEND, &r);
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

bus_msg_t *rec_published(uint64_t session_id, Enlace__Envelope *env, const uint8_t *cert_der,
                         size_t cert_len)
{
    Enlace__Published p = ENLACE__PUBLISHED__INIT;
    p.session_id = session_id;
    p.envelope = env;
    p.has_signer_cert = true;
    p.signer_cert = (ProtobufCBinaryData){cert_len, (uint8_t *)cert_der};
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
    r.published = &p;
    return pack(BUS_PUBLISH, &r);
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
