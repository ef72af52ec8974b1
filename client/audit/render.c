/* render — table, replay and JSON forms of one record (see render.h). */
#include "render.h"

#include <inttypes.h>
#include <string.h>

#include "audit_util.h"
#include "json.h"
#include "records.h"

/* Longest text field printed in a table before it is cut. */
#define FIELD_MAX 200

static void hex_of(const ProtobufCBinaryData *b, char *out, size_t out_len)
{
    if (b->len == 0 || b->len * 2 + 1 > out_len) {
        snprintf(out, out_len, "%s", b->len == 0 ? "" : "(too long)");
        return;
    }
    audit_hex(b->data, b->len, out);
}

static void time_of(uint64_t ms, char out[25])
{
    audit_time_iso(ms, out);
}

/* ---- table -------------------------------------------------------------------------- */

void render_table_header(FILE *out)
{
    fprintf(out, "%-8s %-24s %-20s %-18s %s\n", "SEQ", "TIME", "KIND", "AGENCY", "DETAILS");
}

/* " key=value" with the value escaped. */
static void kv(FILE *out, const char *key, const char *value)
{
    fprintf(out, " %s=", key);
    audit_put_text(out, value, FIELD_MAX);
}

static void table_published(FILE *out, const render_rec_t *r)
{
    const Enlace__Header *h = r->hdr;
    if (h == NULL) {
        fputs(" (header does not decode: run verify)", out);
        return;
    }
    kv(out, "topic", h->topic);
    fputs(" to=", out);
    if (h->n_recipients == 0) {
        fputs("(all-allowed)", out);
    }
    for (size_t i = 0; i < h->n_recipients; i++) {
        if (i > 0) {
            fputc(',', out);
        }
        audit_put_text(out, h->recipients[i], 64);
    }
    fprintf(out, " %s", rec_tlp_name(h->tlp));
    if (h->has_handling && h->handling) {
        fprintf(out, " %s", rec_handling_name(h->handling));
    }
    fprintf(out, " type=%s", rec_type_name(h->message_type));
    if (h->has_notice_kind && h->notice_kind) {
        fprintf(out, " notice=%s", rec_notice_name(h->notice_kind));
    }
    char id[65];
    hex_of(&h->message_id, id, sizeof(id));
    fprintf(out, " id=%s", id);
    if (h->case_ref != NULL && h->case_ref[0]) {
        kv(out, "case", h->case_ref);
    }
}

static void table_delivered(FILE *out, const render_rec_t *r)
{
    const Enlace__Delivered *d = r->rec->delivered;
    kv(out, "subscription", d->subscription);
    fputs(" read=", out);
    for (size_t i = 0; i < d->n_message_seqs; i++) {
        const pub_entry_t *p = r->ix ? pubindex_find(r->ix, d->message_seqs[i]) : NULL;
        fprintf(out, "%s%" PRIu64, i ? "," : "", d->message_seqs[i]);
        if (p != NULL) {
            char id[33];
            audit_hex(p->message_id, 16, id);
            fprintf(out, "/%s", id);
        }
    }
}

void render_table_row(FILE *out, const render_rec_t *r)
{
    const Enlace__Record *rec = r->rec;
    char t[25];
    time_of(rec->time_ms, t);
    const char *agency = rec_agency(rec, r->hdr ? r->hdr->sender : NULL);
    fprintf(out, "%-8" PRIu64 " %-24s %-20s ", rec->seq, t, rec_kind_name(rec->kind_case));
    /* Pad by hand: the agency is escaped text. */
    size_t alen = agency ? strlen(agency) : 1;
    audit_put_text(out, agency ? agency : "-", 64);
    for (size_t i = alen; i < 18; i++) {
        fputc(' ', out);
    }
    switch (rec->kind_case) {
    case ENLACE__RECORD__KIND_PUBLISHED: table_published(out, r); break;
    case ENLACE__RECORD__KIND_DELIVERED: table_delivered(out, r); break;
    case ENLACE__RECORD__KIND_DENIED: {
        const Enlace__Denied *d = rec->denied;
        kv(out, "operation", d->operation);
        fprintf(out, " code=%s", rec_error_code_name(d->code));
        kv(out, "reason", d->reason);
        if (d->topic) {
            kv(out, "topic", d->topic);
        }
        if (d->has_message_id) {
            char id[65];
            hex_of(&d->message_id, id, sizeof(id));
            fprintf(out, " id=%s", id);
        }
        if (d->peer_address) {
            kv(out, "peer", d->peer_address);
        }
        break;
    }
    case ENLACE__RECORD__KIND_SESSION_OPENED: {
        const Enlace__SessionOpened *s = rec->session_opened;
        char fp[65];
        hex_of(&s->cert_sha256, fp, sizeof(fp));
        fprintf(out, " session=%" PRIu64, s->session_id);
        kv(out, "peer", s->peer_address);
        fprintf(out, " cert-sha256=%s", fp);
        break;
    }
    case ENLACE__RECORD__KIND_SESSION_CLOSED:
        fprintf(out, " session=%" PRIu64, rec->session_closed->session_id);
        kv(out, "reason", rec->session_closed->reason);
        break;
    case ENLACE__RECORD__KIND_CONFIG_LOADED: {
        const Enlace__ConfigLoaded *c = rec->config_loaded;
        char fp[65];
        hex_of(&c->sha256, fp, sizeof(fp));
        kv(out, "what", c->what);
        kv(out, "path", c->path);
        fprintf(out, " %s sha256=%s", c->accepted ? "accepted" : "REFUSED", fp);
        if (c->detail) {
            kv(out, "detail", c->detail);
        }
        break;
    }
    case ENLACE__RECORD__KIND_BROKER_STARTED:
        kv(out, "version", rec->broker_started->version);
        kv(out, "origin", rec->broker_started->origin);
        break;
    case ENLACE__RECORD__KIND_BROKER_STOPPED: kv(out, "reason", rec->broker_stopped->reason); break;
    case ENLACE__RECORD__KIND_RECOVERY:
        fprintf(out, " truncated=%" PRIu64, rec->recovery->truncated_bytes);
        kv(out, "detail", rec->recovery->detail);
        break;
    case ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED: {
        const Enlace__SubscriptionChanged *s = rec->subscription_changed;
        kv(out, "name", s->name);
        kv(out, "filter", s->filter);
        fprintf(out, " next_seq=%" PRIu64 "%s", s->next_seq, s->removed ? " removed" : "");
        break;
    }
    default: fputs(" (record without a known kind)", out); break;
    }
    fputc('\n', out);
}

/* ---- replay -------------------------------------------------------------------------- */

static void line(FILE *out, const char *label, const char *value)
{
    fprintf(out, "  %-16s ", label);
    audit_put_text(out, value, 1024);
    fputc('\n', out);
}

static void replay_published(FILE *out, const render_rec_t *r)
{
    const Enlace__Published *p = r->rec->published;
    const Enlace__Header *h = r->hdr;
    char buf[160], t[25];
    if (h == NULL) {
        line(out, "header", "does not decode or validate (run verify)");
        return;
    }
    char id[65];
    hex_of(&h->message_id, id, sizeof(id));
    line(out, "message id", id);
    fprintf(out, "  %-16s ", "sender");
    audit_put_text(out, h->sender, 64);
    fprintf(out, " (session %" PRIu64 ")\n", p->session_id);
    line(out, "topic", h->topic);
    fprintf(out, "  %-16s ", "recipients");
    if (h->n_recipients == 0) {
        fputs("every agency the policy lets read the topic", out);
    }
    for (size_t i = 0; i < h->n_recipients; i++) {
        fputs(i ? ", " : "", out);
        audit_put_text(out, h->recipients[i], 64);
    }
    fputc('\n', out);
    snprintf(buf, sizeof(buf), "%s%s%s", rec_type_name(h->message_type),
             h->has_notice_kind && h->notice_kind ? ", notice " : "",
             h->has_notice_kind && h->notice_kind ? rec_notice_name(h->notice_kind) : "");
    line(out, "type", buf);
    snprintf(buf, sizeof(buf), "%s%s%s%s%s%s%s", rec_tlp_name(h->tlp),
             h->has_handling && h->handling ? ", handling " : "",
             h->has_handling ? rec_handling_name(h->handling) : "",
             h->has_source_reliability && h->source_reliability ? ", source " : "",
             h->has_source_reliability ? rec_reliability_name(h->source_reliability) : "",
             h->has_info_accuracy && h->info_accuracy ? ", accuracy " : "",
             h->has_info_accuracy ? rec_accuracy_name(h->info_accuracy) : "");
    line(out, "labels", buf);
    if (h->case_ref) {
        line(out, "case ref", h->case_ref);
    }
    if (h->has_in_reply_to) {
        hex_of(&h->in_reply_to, id, sizeof(id));
        line(out, "in reply to", id);
    }
    time_of(h->created_at_ms, t);
    line(out, "created", t);
    if (h->has_expires_at_ms && h->expires_at_ms) {
        time_of(h->expires_at_ms, t);
        line(out, "expires", t);
    }
    if (h->language) {
        line(out, "language", h->language);
    }
    if (h->content_type) {
        line(out, "content type", h->content_type);
    }
    char fp[65];
    hex_of(&h->payload_sha256, fp, sizeof(fp));
    snprintf(buf, sizeof(buf), "%zu bytes (CMS, encrypted), sha256 %s",
             p->envelope ? p->envelope->payload.len : 0, fp);
    line(out, "payload", buf);
    hex_of(&h->signer_cert_sha256, fp, sizeof(fp));
    if (p->has_signer_cert) {
        snprintf(buf, sizeof(buf), "sha256 %s (carried in this record)", fp);
    } else {
        snprintf(buf, sizeof(buf), "sha256 %s (carried by seq %" PRIu64 ")", fp,
                 p->has_cert_record_seq ? p->cert_record_seq : 0);
    }
    line(out, "signer cert", buf);
}

static void replay_delivered(FILE *out, const render_rec_t *r)
{
    const Enlace__Delivered *d = r->rec->delivered;
    line(out, "recipient", d->recipient);
    line(out, "subscription", d->subscription);
    for (size_t i = 0; i < d->n_message_seqs; i++) {
        const pub_entry_t *p = r->ix ? pubindex_find(r->ix, d->message_seqs[i]) : NULL;
        fprintf(out, "  %-16s seq %" PRIu64, i == 0 ? "acknowledged" : "", d->message_seqs[i]);
        if (p != NULL) {
            char id[33];
            audit_hex(p->message_id, 16, id);
            fprintf(out, ", message %s from ", id);
            audit_put_text(out, p->sender, 64);
            fputs(" on ", out);
            audit_put_text(out, p->topic, 256);
        }
        fputc('\n', out);
    }
}

void render_replay(FILE *out, const render_rec_t *r)
{
    const Enlace__Record *rec = r->rec;
    char t[25];
    time_of(rec->time_ms, t);
    fprintf(out, "seq %" PRIu64 "  %s  %s  (%s offset %" PRIu64 ", %zu bytes)\n", rec->seq, t,
            rec_kind_name(rec->kind_case), r->segment ? r->segment : "?", r->offset, r->len);
    char buf[200];
    switch (rec->kind_case) {
    case ENLACE__RECORD__KIND_PUBLISHED: replay_published(out, r); break;
    case ENLACE__RECORD__KIND_DELIVERED: replay_delivered(out, r); break;
    case ENLACE__RECORD__KIND_DENIED: {
        const Enlace__Denied *d = rec->denied;
        line(out, "agency", d->agency_id ? d->agency_id : "(no identity)");
        line(out, "operation", d->operation);
        line(out, "code", rec_error_code_name(d->code));
        line(out, "reason", d->reason);
        if (d->topic) {
            line(out, "topic", d->topic);
        }
        if (d->has_message_id) {
            hex_of(&d->message_id, buf, sizeof(buf));
            line(out, "message id", buf);
        }
        if (d->has_cert_sha256) {
            hex_of(&d->cert_sha256, buf, sizeof(buf));
            line(out, "cert sha256", buf);
        }
        if (d->peer_address) {
            line(out, "peer", d->peer_address);
        }
        break;
    }
    case ENLACE__RECORD__KIND_SESSION_OPENED: {
        const Enlace__SessionOpened *s = rec->session_opened;
        line(out, "agency", s->agency_id);
        snprintf(buf, sizeof(buf), "%" PRIu64, s->session_id);
        line(out, "session", buf);
        line(out, "peer", s->peer_address);
        hex_of(&s->cert_sha256, buf, sizeof(buf));
        line(out, "cert sha256", buf);
        break;
    }
    case ENLACE__RECORD__KIND_SESSION_CLOSED:
        line(out, "agency", rec->session_closed->agency_id);
        snprintf(buf, sizeof(buf), "%" PRIu64, rec->session_closed->session_id);
        line(out, "session", buf);
        line(out, "reason", rec->session_closed->reason);
        break;
    case ENLACE__RECORD__KIND_CONFIG_LOADED:
        line(out, "what", rec->config_loaded->what);
        line(out, "path", rec->config_loaded->path);
        hex_of(&rec->config_loaded->sha256, buf, sizeof(buf));
        line(out, "sha256", buf);
        line(out, "result", rec->config_loaded->accepted ? "accepted" : "REFUSED (old one kept)");
        if (rec->config_loaded->detail) {
            line(out, "detail", rec->config_loaded->detail);
        }
        break;
    case ENLACE__RECORD__KIND_BROKER_STARTED:
        line(out, "version", rec->broker_started->version);
        line(out, "origin", rec->broker_started->origin);
        break;
    case ENLACE__RECORD__KIND_BROKER_STOPPED:
        line(out, "reason", rec->broker_stopped->reason);
        break;
    case ENLACE__RECORD__KIND_RECOVERY:
        snprintf(buf, sizeof(buf), "%" PRIu64 " bytes", rec->recovery->truncated_bytes);
        line(out, "truncated", buf);
        line(out, "detail", rec->recovery->detail);
        break;
    case ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED: {
        const Enlace__SubscriptionChanged *s = rec->subscription_changed;
        line(out, "agency", s->agency_id);
        line(out, "name", s->name);
        line(out, "filter", s->filter);
        snprintf(buf, sizeof(buf), "%" PRIu64 "%s", s->next_seq, s->removed ? " (removed)" : "");
        line(out, "next seq", buf);
        break;
    }
    default: line(out, "kind", "unknown (newer broker?)"); break;
    }
    fputc('\n', out);
}

/* ---- JSON --------------------------------------------------------------------------- */

static void json_hex(json_t *j, const char *key, const ProtobufCBinaryData *b)
{
    char buf[130];
    hex_of(b, buf, sizeof(buf));
    json_str(j, key, buf);
}

static void json_published(json_t *j, const render_rec_t *r, bool full)
{
    const Enlace__Published *p = r->rec->published;
    const Enlace__Header *h = r->hdr;
    json_u64(j, "session_id", p->session_id);
    if (h == NULL) {
        json_bool(j, "header_valid", false);
        return;
    }
    json_hex(j, "message_id", &h->message_id);
    json_str(j, "sender", h->sender);
    json_str(j, "topic", h->topic);
    json_arr_begin(j, "recipients");
    for (size_t i = 0; i < h->n_recipients; i++) {
        json_str(j, NULL, h->recipients[i]);
    }
    json_arr_end(j);
    json_str(j, "tlp", rec_tlp_name(h->tlp));
    json_str(j, "handling", h->has_handling ? rec_handling_name(h->handling) : "");
    json_str(j, "message_type", rec_type_name(h->message_type));
    json_str(j, "notice_kind", h->has_notice_kind ? rec_notice_name(h->notice_kind) : "");
    json_str(j, "case_ref", h->case_ref);
    char t[25];
    time_of(h->created_at_ms, t);
    json_str(j, "created_at", t);
    if (!full) {
        return;
    }
    if (h->has_expires_at_ms && h->expires_at_ms) {
        time_of(h->expires_at_ms, t);
        json_str(j, "expires_at", t);
    } else {
        json_null(j, "expires_at");
    }
    if (h->has_in_reply_to) {
        json_hex(j, "in_reply_to", &h->in_reply_to);
    } else {
        json_null(j, "in_reply_to");
    }
    json_str(j, "source_reliability",
             h->has_source_reliability ? rec_reliability_name(h->source_reliability) : "");
    json_str(j, "info_accuracy", h->has_info_accuracy ? rec_accuracy_name(h->info_accuracy) : "");
    json_str(j, "language", h->language);
    json_str(j, "content_type", h->content_type);
    json_hex(j, "payload_sha256", &h->payload_sha256);
    json_u64(j, "payload_bytes", p->envelope ? p->envelope->payload.len : 0);
    json_hex(j, "signer_cert_sha256", &h->signer_cert_sha256);
    if (p->has_signer_cert) {
        json_str(j, "signer_cert", "inline");
    } else if (p->has_cert_record_seq) {
        json_u64(j, "cert_record_seq", p->cert_record_seq);
    }
    json_u64(j, "signature_bytes", p->envelope ? p->envelope->signature.len : 0);
}

static void json_delivered(json_t *j, const render_rec_t *r)
{
    const Enlace__Delivered *d = r->rec->delivered;
    json_str(j, "recipient", d->recipient);
    json_str(j, "subscription", d->subscription);
    json_arr_begin(j, "message_seqs");
    for (size_t i = 0; i < d->n_message_seqs; i++) {
        json_u64(j, NULL, d->message_seqs[i]);
    }
    json_arr_end(j);
    json_arr_begin(j, "messages");
    for (size_t i = 0; i < d->n_message_seqs; i++) {
        const pub_entry_t *p = r->ix ? pubindex_find(r->ix, d->message_seqs[i]) : NULL;
        json_obj_begin(j, NULL);
        json_u64(j, "seq", d->message_seqs[i]);
        if (p != NULL) {
            char id[33];
            audit_hex(p->message_id, 16, id);
            json_str(j, "message_id", id);
            json_str(j, "sender", p->sender);
            json_str(j, "topic", p->topic);
        } else {
            json_null(j, "message_id");
        }
        json_obj_end(j);
    }
    json_arr_end(j);
}

void render_json(FILE *out, const render_rec_t *r, bool full)
{
    const Enlace__Record *rec = r->rec;
    json_t j;
    json_init(&j, out);
    json_obj_begin(&j, NULL);
    json_u64(&j, "seq", rec->seq);
    char t[25];
    time_of(rec->time_ms, t);
    json_str(&j, "time", t);
    json_u64(&j, "time_ms", rec->time_ms);
    json_str(&j, "kind", rec_kind_name(rec->kind_case));
    json_str(&j, "agency", rec_agency(rec, r->hdr ? r->hdr->sender : NULL));
    if (full) {
        json_str(&j, "segment", r->segment);
        json_u64(&j, "offset", r->offset);
        json_u64(&j, "record_bytes", r->len);
    }
    switch (rec->kind_case) {
    case ENLACE__RECORD__KIND_PUBLISHED: json_published(&j, r, full); break;
    case ENLACE__RECORD__KIND_DELIVERED: json_delivered(&j, r); break;
    case ENLACE__RECORD__KIND_DENIED: {
        const Enlace__Denied *d = rec->denied;
        json_str(&j, "operation", d->operation);
        json_str(&j, "code", rec_error_code_name(d->code));
        json_str(&j, "reason", d->reason);
        json_str(&j, "topic", d->topic);
        if (d->has_message_id) {
            json_hex(&j, "message_id", &d->message_id);
        }
        if (d->has_cert_sha256) {
            json_hex(&j, "cert_sha256", &d->cert_sha256);
        }
        json_str(&j, "peer_address", d->peer_address);
        break;
    }
    case ENLACE__RECORD__KIND_SESSION_OPENED:
        json_u64(&j, "session_id", rec->session_opened->session_id);
        json_hex(&j, "cert_sha256", &rec->session_opened->cert_sha256);
        json_str(&j, "peer_address", rec->session_opened->peer_address);
        break;
    case ENLACE__RECORD__KIND_SESSION_CLOSED:
        json_u64(&j, "session_id", rec->session_closed->session_id);
        json_str(&j, "reason", rec->session_closed->reason);
        break;
    case ENLACE__RECORD__KIND_CONFIG_LOADED:
        json_str(&j, "what", rec->config_loaded->what);
        json_str(&j, "path", rec->config_loaded->path);
        json_hex(&j, "sha256", &rec->config_loaded->sha256);
        json_bool(&j, "accepted", rec->config_loaded->accepted);
        json_str(&j, "detail", rec->config_loaded->detail);
        break;
    case ENLACE__RECORD__KIND_BROKER_STARTED:
        json_str(&j, "version", rec->broker_started->version);
        json_str(&j, "origin", rec->broker_started->origin);
        break;
    case ENLACE__RECORD__KIND_BROKER_STOPPED:
        json_str(&j, "reason", rec->broker_stopped->reason);
        break;
    case ENLACE__RECORD__KIND_RECOVERY:
        json_u64(&j, "truncated_bytes", rec->recovery->truncated_bytes);
        json_str(&j, "detail", rec->recovery->detail);
        break;
    case ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED:
        json_str(&j, "name", rec->subscription_changed->name);
        json_str(&j, "filter", rec->subscription_changed->filter);
        json_u64(&j, "next_seq", rec->subscription_changed->next_seq);
        json_bool(&j, "removed", rec->subscription_changed->removed);
        break;
    default: break;
    }
    json_obj_end(&j);
    json_newline(&j);
}
