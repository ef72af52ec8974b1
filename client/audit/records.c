/* records — record kind names, agencies and one-line summaries (see records.h). */
#include "records.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audit_util.h"
#include "codec.h"
#include "enlace.h"

/* One row per record kind: the oneof case and its command-line name. */
static const struct {
    Enlace__Record__KindCase kind; /* oneof case */
    const char *name;              /* stable name */
} KINDS[] = {
    {ENLACE__RECORD__KIND_SESSION_OPENED, "session-opened"},
    {ENLACE__RECORD__KIND_SESSION_CLOSED, "session-closed"},
    {ENLACE__RECORD__KIND_PUBLISHED, "published"},
    {ENLACE__RECORD__KIND_DELIVERED, "delivered"},
    {ENLACE__RECORD__KIND_DENIED, "denied"},
    {ENLACE__RECORD__KIND_CONFIG_LOADED, "config-loaded"},
    {ENLACE__RECORD__KIND_BROKER_STARTED, "broker-started"},
    {ENLACE__RECORD__KIND_BROKER_STOPPED, "broker-stopped"},
    {ENLACE__RECORD__KIND_RECOVERY, "recovery"},
    {ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED, "subscription-changed"},
};
#define N_KINDS (sizeof(KINDS) / sizeof(KINDS[0]))

const char *rec_kind_name(Enlace__Record__KindCase kind)
{
    for (size_t i = 0; i < N_KINDS; i++) {
        if (KINDS[i].kind == kind) {
            return KINDS[i].name;
        }
    }
    return "none";
}

bool rec_kind_parse(const char *name, Enlace__Record__KindCase *out)
{
    char norm[32];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof(norm)) {
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        norm[i] = name[i] == '_' ? '-' : name[i];
    }
    for (size_t i = 0; i < N_KINDS; i++) {
        if (strcasecmp(KINDS[i].name, norm) == 0) {
            *out = KINDS[i].kind;
            return true;
        }
    }
    return false;
}

const char *rec_kind_names(void)
{
    return "session-opened, session-closed, published, delivered, denied, config-loaded, "
           "broker-started, broker-stopped, recovery, subscription-changed";
}

const char *rec_agency(const Enlace__Record *r, const char *sender)
{
    switch (r->kind_case) {
    case ENLACE__RECORD__KIND_PUBLISHED: return sender;
    case ENLACE__RECORD__KIND_SESSION_OPENED: return r->session_opened->agency_id;
    case ENLACE__RECORD__KIND_SESSION_CLOSED: return r->session_closed->agency_id;
    case ENLACE__RECORD__KIND_DELIVERED: return r->delivered->recipient;
    case ENLACE__RECORD__KIND_DENIED: return r->denied->agency_id;
    case ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED: return r->subscription_changed->agency_id;
    default: return NULL;
    }
}

const char *rec_tlp_name(int tlp)
{
    if (tlp == 0) {
        return "unlabelled";
    }
    const char *n = enlace_tlp_name((enlace_tlp_t)tlp);
    return n;
}

const char *rec_handling_name(int v)
{
    return v == 0 ? "" : enlace_handling_name((enlace_handling_t)v);
}

const char *rec_type_name(int v)
{
    return v == 0 ? "" : enlace_message_type_name((enlace_message_type_t)v);
}

const char *rec_notice_name(int v)
{
    return v == 0 ? "" : enlace_notice_name((enlace_notice_t)v);
}

const char *rec_reliability_name(int v)
{
    return v == 0 ? "" : enlace_reliability_name((enlace_reliability_t)v);
}

const char *rec_accuracy_name(int v)
{
    return v == 0 ? "" : enlace_accuracy_name((enlace_accuracy_t)v);
}

const char *rec_error_code_name(int v)
{
    return enlace_broker_error_name((enlace_broker_error_t)v);
}

/* Copy s into out[0..out_len), at most max bytes, replacing non-printable ASCII. */
static void printable(const char *s, char *out, size_t out_len, size_t max)
{
    size_t i = 0;
    if (s == NULL) {
        s = "";
    }
    for (; s[i] && i < max && i + 1 < out_len; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[i] = '\0';
}

void rec_summary(const Enlace__Record *r, char *out, size_t out_len)
{
    char a[72], b[72];
    switch (r->kind_case) {
    case ENLACE__RECORD__KIND_PUBLISHED: {
        Enlace__Header *h = NULL;
        const Enlace__Envelope *env = r->published->envelope;
        if (env != NULL &&
            codec_decode_header(env->header.data, env->header.len, &h, NULL, 0) == ENLACE_OK) {
            char id[33] = "?";
            if (h->message_id.len == 16) {
                audit_hex(h->message_id.data, 16, id);
            }
            printable(h->sender, a, sizeof(a), 64);
            printable(h->topic, b, sizeof(b), 64);
            snprintf(out, out_len, "published by %s on %s, message %s, %s", a, b, id,
                     rec_tlp_name(h->tlp));
            codec_free((ProtobufCMessage **)&h);
        } else {
            snprintf(out, out_len, "published (header does not decode)");
        }
        break;
    }
    case ENLACE__RECORD__KIND_DELIVERED: {
        const Enlace__Delivered *d = r->delivered;
        printable(d->recipient, a, sizeof(a), 64);
        printable(d->subscription, b, sizeof(b), 64);
        int n = snprintf(out, out_len, "delivered to %s (subscription %s): seqs", a, b);
        for (size_t i = 0; i < d->n_message_seqs && n > 0 && (size_t)n < out_len; i++) {
            n += snprintf(out + n, out_len - (size_t)n, "%s %" PRIu64, i ? "," : "",
                          d->message_seqs[i]);
        }
        break;
    }
    case ENLACE__RECORD__KIND_DENIED: {
        const Enlace__Denied *d = r->denied;
        printable(d->agency_id ? d->agency_id : "(unknown)", a, sizeof(a), 64);
        printable(d->operation, b, sizeof(b), 64);
        snprintf(out, out_len, "denied %s to %s: %s", b, a, rec_error_code_name(d->code));
        break;
    }
    default: {
        const char *ag = rec_agency(r, NULL);
        printable(ag, a, sizeof(a), 64);
        snprintf(out, out_len, "%s%s%s", rec_kind_name(r->kind_case), ag ? " " : "", a);
        break;
    }
    }
}
