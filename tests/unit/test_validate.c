/* test_validate — every validation rule, each with a passing and a failing
 * case. Tables start from a valid message of each kind, apply one change and
 * state the expected result and the field the reason must name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define OK ENLACE_OK
#define BAD ENLACE_ERR_MALFORMED

static uint8_t zeros[70000];   /* backing bytes for any length */
static char text_buf[4][2048]; /* long strings built on demand */

static ProtobufCBinaryData bytes(size_t n)
{
    ProtobufCBinaryData b = {n, zeros};
    return b;
}

/* A string of n copies of c (one of four rotating buffers). */
static char *str_of(char c, size_t n)
{
    static unsigned next;
    char *b = text_buf[next++ % 4];
    memset(b, c, n);
    b[n] = '\0';
    return b;
}

/* ---- character classes --------------------------------------------------- */

static const struct {
    const char *s;
    size_t max;
    int ok;
} utf8_cases[] = {
    {"", 10, 1},
    {"plain ASCII text", 100, 1},
    {"Fiscal\xc3\xad"
     "a General",
     100, 1},                          /* U+00ED */
    {"\xe2\x80\x94 em dash", 100, 1},  /* U+2014 */
    {"\xf0\x9d\x84\x9e clef", 100, 1}, /* U+1D11E, 4 bytes */
    {"\xf4\x8f\xbf\xbf", 4, 1},        /* U+10FFFF, the last code point */
    {"abc", 3, 1},                     /* exactly max_len */
    {"abcd", 3, 0},                    /* one over */
    {"\xc3\xad", 1, 0},                /* 2 bytes over a 1-byte limit */
    {"tab\there", 100, 0},             /* C0 */
    {"new\nline", 100, 0},
    {"\x1b[31m", 100, 0},         /* ESC: terminal injection */
    {"del\x7f", 100, 0},          /* DEL */
    {"nel\xc2\x85", 100, 0},      /* U+0085, C1 */
    {"\xc2\x9f", 100, 0},         /* U+009F, C1 */
    {"\xc2\xa0", 100, 1},         /* U+00A0, first after C1 */
    {"\xc0\xaf", 100, 0},         /* overlong '/' */
    {"\xc1\xbf", 100, 0},         /* overlong */
    {"\xe0\x80\xaf", 100, 0},     /* overlong 3-byte */
    {"\xf0\x80\x80\xaf", 100, 0}, /* overlong 4-byte */
    {"\xed\xa0\x80", 100, 0},     /* U+D800 surrogate */
    {"\xed\xbf\xbf", 100, 0},     /* U+DFFF surrogate */
    {"\xf4\x90\x80\x80", 100, 0}, /* U+110000 */
    {"\xf5\x80\x80\x80", 100, 0}, /* lead byte F5 */
    {"\xff", 100, 0},
    {"\x80", 100, 0},      /* lone continuation */
    {"\xe2\x82", 100, 0},  /* truncated at the end */
    {"\xe2\x82x", 100, 0}, /* truncated in the middle */
};

static void test_utf8(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(utf8_cases); i++)
        if (validate_utf8(utf8_cases[i].s, utf8_cases[i].max) != (bool)utf8_cases[i].ok)
            fail_msg("utf8 case %zu expected %d", i, utf8_cases[i].ok);
    assert_false(validate_utf8(NULL, 10));
}

static const struct {
    const char *s;
    int ok;
} agency_cases[] = {
    {"MX.FGR", 1}, {"US.FBI", 1}, {"INTERPOL.NCB-MEX", 1}, {"EU.EDPS", 1},  {"9A_B", 1},
    {"X", 1},      {"", 0},       {"mx.fgr", 0}, /* lowercase */
    {".MX", 0},                                  /* must start with [A-Z0-9] */
    {"-MX", 0},    {"MX FGR", 0}, {"MX/FGR", 0},           {"MX.FGR\n", 0}, {"M\xc3\x89X", 0},
};

static void test_agency_id(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(agency_cases); i++)
        if (validate_agency_id(agency_cases[i].s) != (bool)agency_cases[i].ok)
            fail_msg("agency case %zu \"%s\"", i, agency_cases[i].s);
    assert_true(validate_agency_id(str_of('A', AGENCY_ID_MAX_LEN)));
    assert_false(validate_agency_id(str_of('A', AGENCY_ID_MAX_LEN + 1)));
    assert_false(validate_agency_id(NULL));
}

static const struct {
    const char *s;
    int ok;
} name_cases[] = {
    {"alerts-mx", 1}, {"Durable.Name_1", 1}, {"x", 1}, {"", 0}, {"a/b", 0}, {"a b", 0},
    {"a+b", 0},       {"caf\xc3\xa9", 0},
};

static void test_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(name_cases); i++)
        if (validate_name(name_cases[i].s) != (bool)name_cases[i].ok)
            fail_msg("name case %zu \"%s\"", i, name_cases[i].s);
    assert_true(validate_name(str_of('n', VALIDATE_MAX_NAME)));
    assert_false(validate_name(str_of('n', VALIDATE_MAX_NAME + 1)));
    assert_false(validate_name(NULL));
}

/* ---- header ---------------------------------------------------------------- */

static char *recips[VALIDATE_MAX_RECIPIENTS + 1];
static char recip_names[VALIDATE_MAX_RECIPIENTS + 1][24];

static void header_init(Enlace__Header *h)
{
    static char *two[2];
    two[0] = "US.FBI"; /* reset: a case may have changed them */
    two[1] = "CO.DIJIN";
    Enlace__Header init = ENLACE__HEADER__INIT;
    *h = init;
    h->message_id = bytes(16);
    h->sender = "MX.FGR";
    h->topic = "alerts/trafficking/MX";
    h->recipients = two;
    h->n_recipients = 2;
    h->created_at_ms = 1700000000000ull;
    h->message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_ALERT;
    h->tlp = ENLACE__TLP__TLP_AMBER;
    h->payload_sha256 = bytes(32);
    h->signer_cert_sha256 = bytes(32);
}

static void many_recipients(Enlace__Header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(recip_names[i], sizeof(recip_names[i]), "AG.%03zu", i);
        recips[i] = recip_names[i];
    }
    h->recipients = recips;
    h->n_recipients = n;
}

#define HMUT(name, body)                                                                           \
    static void name(Enlace__Header *h)                                                            \
    {                                                                                              \
        body;                                                                                      \
    }
/* clang-format off */
HMUT(h_none, (void)h)
HMUT(h_id15, h->message_id = bytes(15))
HMUT(h_id17, h->message_id = bytes(17))
HMUT(h_id_missing, h->message_id.data = NULL)
HMUT(h_sender_lower, h->sender = "mx.fgr")
HMUT(h_sender_null, h->sender = NULL)
HMUT(h_sender_64, h->sender = str_of('S', 64))
HMUT(h_sender_65, h->sender = str_of('S', 65))
HMUT(h_topic_bad, h->topic = "alerts//MX")
HMUT(h_topic_wild, h->topic = "alerts/#")
HMUT(h_topic_null, h->topic = NULL)
HMUT(h_recips_none, h->n_recipients = 0)
HMUT(h_recips_256, many_recipients(h, 256))
HMUT(h_recips_257, many_recipients(h, 257))
HMUT(h_recip_bad, h->recipients[1] = "co.dijin")
HMUT(h_recip_dup, { many_recipients(h, 10); recips[7] = recips[2]; })
HMUT(h_expires_after, { h->has_expires_at_ms = 1; h->expires_at_ms = h->created_at_ms + 1; })
HMUT(h_expires_zero, { h->has_expires_at_ms = 1; h->expires_at_ms = 0; })
HMUT(h_expires_before, { h->has_expires_at_ms = 1; h->expires_at_ms = h->created_at_ms; })
HMUT(h_type_unspec, h->message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_UNSPECIFIED)
HMUT(h_type_77, h->message_type = (Enlace__MessageType)77)
HMUT(h_type_reply, h->message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_ACKNOWLEDGEMENT)
HMUT(h_notice_red, { h->has_notice_kind = 1; h->notice_kind = ENLACE__NOTICE_KIND__NOTICE_KIND_RED; })
HMUT(h_notice_99, { h->has_notice_kind = 1; h->notice_kind = (Enlace__NoticeKind)99; })
HMUT(h_case_128, h->case_ref = str_of('c', 128))
HMUT(h_case_129, h->case_ref = str_of('c', 129))
HMUT(h_case_empty, h->case_ref = "")
HMUT(h_case_ctrl, h->case_ref = "case\r1")
HMUT(h_reply_16, { h->has_in_reply_to = 1; h->in_reply_to = bytes(16); })
HMUT(h_reply_3, { h->has_in_reply_to = 1; h->in_reply_to = bytes(3); })
HMUT(h_tlp_unlabelled, h->tlp = ENLACE__TLP__TLP_UNLABELLED)
HMUT(h_tlp_clear, h->tlp = ENLACE__TLP__TLP_CLEAR)
HMUT(h_tlp_6, h->tlp = (Enlace__Tlp)6)
HMUT(h_tlp_neg, h->tlp = (Enlace__Tlp)-1)
HMUT(h_handling_h3, { h->has_handling = 1; h->handling = ENLACE__HANDLING__HANDLING_H3; })
HMUT(h_handling_9, { h->has_handling = 1; h->handling = (Enlace__Handling)9; })
HMUT(h_rel_x, { h->has_source_reliability = 1; h->source_reliability = ENLACE__SOURCE_RELIABILITY__SOURCE_RELIABILITY_X; })
HMUT(h_rel_9, { h->has_source_reliability = 1; h->source_reliability = (Enlace__SourceReliability)9; })
HMUT(h_acc_4, { h->has_info_accuracy = 1; h->info_accuracy = ENLACE__INFO_ACCURACY__INFO_ACCURACY_4; })
HMUT(h_acc_5, { h->has_info_accuracy = 1; h->info_accuracy = (Enlace__InfoAccuracy)5; })
HMUT(h_lang_ok, h->language = "es-MX")
HMUT(h_lang_35, h->language = str_of('x', 35))
HMUT(h_lang_36, h->language = str_of('x', 36))
HMUT(h_lang_underscore, h->language = "es_MX")
HMUT(h_lang_empty, h->language = "")
HMUT(h_ctype_ok, h->content_type = "application/json; charset=utf-8")
HMUT(h_ctype_129, h->content_type = str_of('t', 129))
HMUT(h_ctype_ctrl, h->content_type = "text/plain\n")
HMUT(h_payload_31, h->payload_sha256 = bytes(31))
HMUT(h_signer_33, h->signer_cert_sha256 = bytes(33))
HMUT(h_signer_0, h->signer_cert_sha256 = bytes(0))
/* clang-format on */

static const struct {
    const char *name;
    void (*mut)(Enlace__Header *);
    enlace_err_t rc;
    const char *why; /* substring of the reason */
} header_cases[] = {
    {"valid", h_none, OK, NULL},
    {"message_id 15 bytes", h_id15, BAD, "header.message_id"},
    {"message_id 17 bytes", h_id17, BAD, "header.message_id"},
    {"message_id NULL data", h_id_missing, BAD, "header.message_id"},
    {"sender lowercase", h_sender_lower, BAD, "header.sender"},
    {"sender missing", h_sender_null, BAD, "header.sender: missing"},
    {"sender 64 chars", h_sender_64, OK, NULL},
    {"sender 65 chars", h_sender_65, BAD, "header.sender"},
    {"topic empty level", h_topic_bad, BAD, "header.topic"},
    {"topic with wildcard", h_topic_wild, BAD, "header.topic"},
    {"topic missing", h_topic_null, BAD, "header.topic"},
    {"no recipients", h_recips_none, OK, NULL},
    {"256 recipients", h_recips_256, OK, NULL},
    {"257 recipients", h_recips_257, BAD, "header.recipients: 257 entries"},
    {"recipient invalid", h_recip_bad, BAD, "header.recipients[1]"},
    {"recipient duplicate", h_recip_dup, BAD, "duplicate agency id AG.002"},
    {"expires after created", h_expires_after, OK, NULL},
    {"expires 0 = never", h_expires_zero, OK, NULL},
    {"expires not after created", h_expires_before, BAD, "header.expires_at_ms"},
    {"message_type unspecified", h_type_unspec, BAD, "header.message_type: unspecified"},
    {"message_type 77", h_type_77, BAD, "header.message_type: unknown value 77"},
    {"message_type acknowledgement", h_type_reply, OK, NULL},
    {"notice_kind red", h_notice_red, OK, NULL},
    {"notice_kind 99", h_notice_99, BAD, "header.notice_kind"},
    {"case_ref 128", h_case_128, OK, NULL},
    {"case_ref 129", h_case_129, BAD, "header.case_ref"},
    {"case_ref empty", h_case_empty, BAD, "header.case_ref: empty"},
    {"case_ref control char", h_case_ctrl, BAD, "header.case_ref"},
    {"in_reply_to 16", h_reply_16, OK, NULL},
    {"in_reply_to 3", h_reply_3, BAD, "header.in_reply_to"},
    {"tlp unlabelled is the broker's refusal", h_tlp_unlabelled, OK, NULL},
    {"tlp clear", h_tlp_clear, OK, NULL},
    {"tlp 6", h_tlp_6, BAD, "header.tlp: unknown value 6"},
    {"tlp -1", h_tlp_neg, BAD, "header.tlp"},
    {"handling H3", h_handling_h3, OK, NULL},
    {"handling 9", h_handling_9, BAD, "header.handling"},
    {"source_reliability X", h_rel_x, OK, NULL},
    {"source_reliability 9", h_rel_9, BAD, "header.source_reliability"},
    {"info_accuracy 4", h_acc_4, OK, NULL},
    {"info_accuracy 5", h_acc_5, BAD, "header.info_accuracy"},
    {"language es-MX", h_lang_ok, OK, NULL},
    {"language 35", h_lang_35, OK, NULL},
    {"language 36", h_lang_36, BAD, "header.language"},
    {"language underscore", h_lang_underscore, BAD, "header.language"},
    {"language empty", h_lang_empty, BAD, "header.language"},
    {"content_type", h_ctype_ok, OK, NULL},
    {"content_type 129", h_ctype_129, BAD, "header.content_type"},
    {"content_type newline", h_ctype_ctrl, BAD, "header.content_type"},
    {"payload_sha256 31", h_payload_31, BAD, "header.payload_sha256: 31 bytes, must be 32"},
    {"signer_cert_sha256 33", h_signer_33, BAD, "header.signer_cert_sha256"},
    {"signer_cert_sha256 empty", h_signer_0, BAD, "header.signer_cert_sha256"},
};

static void check_why(const char *what, enlace_err_t got, enlace_err_t want, const char *why,
                      const char *want_why)
{
    if (got != want)
        fail_msg("%s: got %s (%s), want %s", what, enlace_err_str(got), why, enlace_err_str(want));
    if (want_why != NULL && strstr(why, want_why) == NULL)
        fail_msg("%s: reason \"%s\" lacks \"%s\"", what, why, want_why);
}

static void test_header_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(header_cases); i++) {
        Enlace__Header h;
        char why[256] = "";
        header_init(&h);
        header_cases[i].mut(&h);
        enlace_err_t rc = validate_header(&h, why, sizeof(why));
        check_why(header_cases[i].name, rc, header_cases[i].rc, why, header_cases[i].why);
    }
    assert_int_equal(validate_header(NULL, NULL, 0), BAD); /* NULL why is fine */
}

/* ---- frames ----------------------------------------------------------------- */

/* One valid message of every frame kind; frame_init points f at one of them. */
typedef struct {
    Enlace__Frame f;
    Enlace__Hello hello;
    Enlace__Welcome welcome;
    Enlace__Envelope env;
    Enlace__Publish publish;
    Enlace__PublishAck publish_ack;
    Enlace__Subscribe subscribe;
    Enlace__Subscribed subscribed;
    Enlace__Unsubscribe unsubscribe;
    Enlace__Deliver deliver;
    Enlace__DeliverAck deliver_ack;
    Enlace__DirectoryRequest directory_request;
    Enlace__DirectoryEntry entry[2];
    Enlace__DirectoryEntry *entries[VALIDATE_MAX_DIRECTORY + 1];
    Enlace__Directory directory;
    Enlace__ReceiptRequest receipt_request;
    ProtobufCBinaryData proof[VALIDATE_MAX_PROOF + 1];
    Enlace__Receipt receipt;
    Enlace__AuditFetch audit_fetch;
    ProtobufCBinaryData records[2];
    Enlace__AuditRecords audit_records;
    Enlace__Ping ping;
    Enlace__Pong pong;
    Enlace__Error error;
    Enlace__Goodbye goodbye;
} sample_t;

static const char note[] = "enlace.example/log\n42\nq6rBtGAvWq5zJDz0PwNlUOBJc1Sb8xAOBEwSx4oPdPY=\n"
                           "\n\xe2\x80\x94 enlace.example/log AAAAAA==\n";

static void frame_init(sample_t *s, Enlace__Frame__KindCase kind)
{
    memset(s, 0, sizeof(*s));
    Enlace__Frame f = ENLACE__FRAME__INIT;
    s->f = f;
    Enlace__Hello hello = ENLACE__HELLO__INIT;
    s->hello = hello;
    s->hello.version = 1;
    s->hello.client_name = "enlace-cli/0.1";
    Enlace__Welcome welcome = ENLACE__WELCOME__INIT;
    s->welcome = welcome;
    s->welcome.version = 1;
    s->welcome.agency_id = "MX.FGR";
    s->welcome.role = ENLACE__ROLE__ROLE_AGENCY;
    s->welcome.max_frame = 1u << 20;
    s->welcome.log_origin = "enlace.example/log";
    s->welcome.checkpoint_key = bytes(32);
    Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
    s->env = env;
    s->env.header = bytes(200);
    s->env.payload = bytes(1000);
    s->env.signature = bytes(72);
    Enlace__Publish publish = ENLACE__PUBLISH__INIT;
    s->publish = publish;
    s->publish.correlation_id = 7;
    s->publish.envelope = &s->env;
    Enlace__PublishAck ack = ENLACE__PUBLISH_ACK__INIT;
    s->publish_ack = ack;
    s->publish_ack.leaf_hash = bytes(32);
    Enlace__Subscribe sub = ENLACE__SUBSCRIBE__INIT;
    s->subscribe = sub;
    s->subscribe.name = "alerts-mx";
    s->subscribe.filter = "alerts/+/MX";
    s->subscribe.start = ENLACE__START_MODE__START_NEW;
    Enlace__Subscribed subd = ENLACE__SUBSCRIBED__INIT;
    s->subscribed = subd;
    Enlace__Unsubscribe unsub = ENLACE__UNSUBSCRIBE__INIT;
    s->unsubscribe = unsub;
    Enlace__Deliver deliver = ENLACE__DELIVER__INIT;
    s->deliver = deliver;
    s->deliver.envelope = &s->env;
    Enlace__DeliverAck dack = ENLACE__DELIVER_ACK__INIT;
    s->deliver_ack = dack;
    Enlace__DirectoryRequest dreq = ENLACE__DIRECTORY_REQUEST__INIT;
    s->directory_request = dreq;
    Enlace__DirectoryEntry entry = ENLACE__DIRECTORY_ENTRY__INIT;
    for (size_t i = 0; i < 2; i++) {
        s->entry[i] = entry;
        s->entry[i].agency_id = i ? "US.FBI" : "MX.FGR";
        s->entry[i].role = ENLACE__ROLE__ROLE_AGENCY;
        s->entry[i].has_certificate = 1;
        s->entry[i].certificate = bytes(600);
    }
    for (size_t i = 0; i < N_ELEMS(s->entries); i++)
        s->entries[i] = &s->entry[i % 2];
    Enlace__Directory dir = ENLACE__DIRECTORY__INIT;
    s->directory = dir;
    s->directory.entries = s->entries;
    s->directory.n_entries = 2;
    Enlace__ReceiptRequest rreq = ENLACE__RECEIPT_REQUEST__INIT;
    s->receipt_request = rreq;
    s->receipt_request.message_id = bytes(16);
    for (size_t i = 0; i < N_ELEMS(s->proof); i++)
        s->proof[i] = bytes(32);
    Enlace__Receipt receipt = ENLACE__RECEIPT__INIT;
    s->receipt = receipt;
    s->receipt.seq = 41;
    s->receipt.tree_size = 42;
    s->receipt.record = bytes(300);
    s->receipt.proof = s->proof;
    s->receipt.n_proof = 6;
    s->receipt.checkpoint = (char *)note;
    Enlace__AuditFetch af = ENLACE__AUDIT_FETCH__INIT;
    s->audit_fetch = af;
    s->records[0] = bytes(100);
    s->records[1] = bytes(2000);
    Enlace__AuditRecords ar = ENLACE__AUDIT_RECORDS__INIT;
    s->audit_records = ar;
    s->audit_records.records = s->records;
    s->audit_records.n_records = 2;
    s->audit_records.log_size = 10;
    Enlace__Ping ping = ENLACE__PING__INIT;
    s->ping = ping;
    Enlace__Pong pong = ENLACE__PONG__INIT;
    s->pong = pong;
    Enlace__Error err = ENLACE__ERROR__INIT;
    s->error = err;
    s->error.code = ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED;
    s->error.text = "publish to alerts/x not allowed";
    Enlace__Goodbye bye = ENLACE__GOODBYE__INIT;
    s->goodbye = bye;
    s->goodbye.reason = "shutting down";

    s->f.kind_case = kind;
    switch (kind) {
    case ENLACE__FRAME__KIND_HELLO: s->f.hello = &s->hello; break;
    case ENLACE__FRAME__KIND_WELCOME: s->f.welcome = &s->welcome; break;
    case ENLACE__FRAME__KIND_PUBLISH: s->f.publish = &s->publish; break;
    case ENLACE__FRAME__KIND_PUBLISH_ACK: s->f.publish_ack = &s->publish_ack; break;
    case ENLACE__FRAME__KIND_SUBSCRIBE: s->f.subscribe = &s->subscribe; break;
    case ENLACE__FRAME__KIND_SUBSCRIBED: s->f.subscribed = &s->subscribed; break;
    case ENLACE__FRAME__KIND_UNSUBSCRIBE: s->f.unsubscribe = &s->unsubscribe; break;
    case ENLACE__FRAME__KIND_DELIVER: s->f.deliver = &s->deliver; break;
    case ENLACE__FRAME__KIND_DELIVER_ACK: s->f.deliver_ack = &s->deliver_ack; break;
    case ENLACE__FRAME__KIND_DIRECTORY_REQUEST:
        s->f.directory_request = &s->directory_request;
        break;
    case ENLACE__FRAME__KIND_DIRECTORY: s->f.directory = &s->directory; break;
    case ENLACE__FRAME__KIND_RECEIPT_REQUEST: s->f.receipt_request = &s->receipt_request; break;
    case ENLACE__FRAME__KIND_RECEIPT: s->f.receipt = &s->receipt; break;
    case ENLACE__FRAME__KIND_AUDIT_FETCH: s->f.audit_fetch = &s->audit_fetch; break;
    case ENLACE__FRAME__KIND_AUDIT_RECORDS: s->f.audit_records = &s->audit_records; break;
    case ENLACE__FRAME__KIND_PING: s->f.ping = &s->ping; break;
    case ENLACE__FRAME__KIND_PONG: s->f.pong = &s->pong; break;
    case ENLACE__FRAME__KIND_ERROR: s->f.error = &s->error; break;
    case ENLACE__FRAME__KIND_GOODBYE: s->f.goodbye = &s->goodbye; break;
    default: break;
    }
}

#define FMUT(name, body)                                                                           \
    static void name(sample_t *s)                                                                  \
    {                                                                                              \
        body;                                                                                      \
    }
/* clang-format off */
FMUT(f_none, (void)s)
FMUT(f_null_member, s->f.hello = NULL)
FMUT(f_hello_name_1024, s->hello.client_name = str_of('n', 1024))
FMUT(f_hello_name_1025, s->hello.client_name = str_of('n', 1025))
FMUT(f_hello_name_ctrl, s->hello.client_name = "cli\x07")
FMUT(f_hello_no_name, s->hello.client_name = NULL)
FMUT(f_hello_max0, { s->hello.has_max_frame = 1; s->hello.max_frame = 0; })
FMUT(f_welcome_agency, s->welcome.agency_id = "mx")
FMUT(f_welcome_role0, s->welcome.role = ENLACE__ROLE__ROLE_UNSPECIFIED)
FMUT(f_welcome_role9, s->welcome.role = (Enlace__Role)9)
FMUT(f_welcome_auditor, s->welcome.role = ENLACE__ROLE__ROLE_AUDITOR)
FMUT(f_welcome_max0, s->welcome.max_frame = 0)
FMUT(f_welcome_origin_empty, s->welcome.log_origin = "")
FMUT(f_welcome_key31, s->welcome.checkpoint_key = bytes(31))
FMUT(f_env_null, s->publish.envelope = NULL)
FMUT(f_env_header_0, s->env.header = bytes(0))
FMUT(f_env_header_max, s->env.header = bytes(VALIDATE_MAX_ENV_HEADER))
FMUT(f_env_header_big, s->env.header = bytes(VALIDATE_MAX_ENV_HEADER + 1))
FMUT(f_env_payload_0, s->env.payload = bytes(0))
FMUT(f_env_sig_0, s->env.signature = bytes(0))
FMUT(f_env_sig_max, s->env.signature = bytes(VALIDATE_MAX_SIGNATURE))
FMUT(f_env_sig_big, s->env.signature = bytes(VALIDATE_MAX_SIGNATURE + 1))
FMUT(f_leaf_31, s->publish_ack.leaf_hash = bytes(31))
FMUT(f_leaf_33, s->publish_ack.leaf_hash = bytes(33))
FMUT(f_sub_name_64, s->subscribe.name = str_of('n', 64))
FMUT(f_sub_name_65, s->subscribe.name = str_of('n', 65))
FMUT(f_sub_name_slash, s->subscribe.name = "a/b")
FMUT(f_sub_name_empty, s->subscribe.name = "")
FMUT(f_sub_filter_hash, s->subscribe.filter = "alerts/#")
FMUT(f_sub_filter_bad, s->subscribe.filter = "alerts/#/MX")
FMUT(f_sub_start0, s->subscribe.start = ENLACE__START_MODE__START_UNSPECIFIED)
FMUT(f_sub_start9, s->subscribe.start = (Enlace__StartMode)9)
FMUT(f_sub_resume, s->subscribe.start = ENLACE__START_MODE__START_RESUME)
FMUT(f_sub_seq_ok, { s->subscribe.start = ENLACE__START_MODE__START_FROM_SEQ; s->subscribe.has_from_seq = 1; })
FMUT(f_sub_seq_missing, s->subscribe.start = ENLACE__START_MODE__START_FROM_SEQ)
FMUT(f_sub_time_ok, { s->subscribe.start = ENLACE__START_MODE__START_FROM_TIME; s->subscribe.has_from_time_ms = 1; })
FMUT(f_sub_time_missing, s->subscribe.start = ENLACE__START_MODE__START_FROM_TIME)
FMUT(f_sub_new_with_seq, s->subscribe.has_from_seq = 1)
FMUT(f_sub_seq_with_time, { s->subscribe.start = ENLACE__START_MODE__START_FROM_SEQ; s->subscribe.has_from_seq = 1; s->subscribe.has_from_time_ms = 1; })
FMUT(f_deliver_env, s->env.signature = bytes(0))
FMUT(f_deliver_cert, { s->deliver.has_signer_cert = 1; s->deliver.signer_cert = bytes(700); })
FMUT(f_deliver_cert_0, { s->deliver.has_signer_cert = 1; s->deliver.signer_cert = bytes(0); })
FMUT(f_deliver_cert_big, { s->deliver.has_signer_cert = 1; s->deliver.signer_cert = bytes(VALIDATE_MAX_CERT + 1); })
FMUT(f_dreq_topic, s->directory_request.topic = "alerts/trafficking")
FMUT(f_dreq_filter, s->directory_request.topic = "alerts/+")
FMUT(f_dir_empty, s->directory.n_entries = 0)
FMUT(f_dir_max, s->directory.n_entries = VALIDATE_MAX_DIRECTORY)
FMUT(f_dir_over, s->directory.n_entries = VALIDATE_MAX_DIRECTORY + 1)
FMUT(f_dir_agency, s->entry[1].agency_id = "us.fbi")
FMUT(f_dir_role0, s->entry[1].role = ENLACE__ROLE__ROLE_UNSPECIFIED)
FMUT(f_dir_no_cert, s->entry[1].has_certificate = 0)
FMUT(f_dir_cert_0, s->entry[1].certificate = bytes(0))
FMUT(f_dir_cert_big, s->entry[1].certificate = bytes(VALIDATE_MAX_CERT + 1))
FMUT(f_rreq_15, s->receipt_request.message_id = bytes(15))
FMUT(f_rcpt_seq, s->receipt.seq = s->receipt.tree_size)
FMUT(f_rcpt_proof_0, s->receipt.n_proof = 0)
FMUT(f_rcpt_proof_64, s->receipt.n_proof = 64)
FMUT(f_rcpt_proof_65, s->receipt.n_proof = 65)
FMUT(f_rcpt_proof_short, s->proof[3] = bytes(31))
FMUT(f_rcpt_record_0, s->receipt.record = bytes(0))
FMUT(f_rcpt_note_tab, s->receipt.checkpoint = "origin\t\n1\n")
FMUT(f_rcpt_note_empty, s->receipt.checkpoint = "")
static char big_note[VALIDATE_MAX_NOTE + 2];
FMUT(f_rcpt_note_8k, { memset(big_note, 'n', VALIDATE_MAX_NOTE); big_note[VALIDATE_MAX_NOTE] = 0; s->receipt.checkpoint = big_note; })
FMUT(f_rcpt_note_big, { memset(big_note, 'n', VALIDATE_MAX_NOTE + 1); big_note[VALIDATE_MAX_NOTE + 1] = 0; s->receipt.checkpoint = big_note; })
FMUT(f_ar_record_0, s->records[1] = bytes(0))
FMUT(f_ar_note, s->audit_records.checkpoint = (char *)note)
FMUT(f_ar_note_bad, s->audit_records.checkpoint = "\x01")
FMUT(f_error_code0, s->error.code = ENLACE__ERROR_CODE__ERROR_UNSPECIFIED)
FMUT(f_error_code99, s->error.code = (Enlace__ErrorCode)99)
FMUT(f_error_text_ctrl, s->error.text = "bad\x1b[0m")
FMUT(f_error_text_empty, s->error.text = "")
FMUT(f_bye_1025, s->goodbye.reason = str_of('r', 1025))
FMUT(f_bye_null, s->goodbye.reason = NULL)
/* clang-format on */

#define K(x) ENLACE__FRAME__KIND_##x
static const struct {
    const char *name;
    Enlace__Frame__KindCase kind;
    void (*mut)(sample_t *);
    enlace_err_t rc;
    const char *why;
} frame_cases[] = {
    {"no kind", ENLACE__FRAME__KIND__NOT_SET, f_none, BAD, "frame: no kind set"},
    {"kind without message", K(HELLO), f_null_member, BAD, "frame: kind 1"},
    {"hello", K(HELLO), f_none, OK, NULL},
    {"hello client_name 1024", K(HELLO), f_hello_name_1024, OK, NULL},
    {"hello client_name 1025", K(HELLO), f_hello_name_1025, BAD, "hello.client_name"},
    {"hello client_name BEL", K(HELLO), f_hello_name_ctrl, BAD, "hello.client_name"},
    {"hello without client_name", K(HELLO), f_hello_no_name, OK, NULL},
    {"hello max_frame 0", K(HELLO), f_hello_max0, BAD, "hello.max_frame"},
    {"welcome", K(WELCOME), f_none, OK, NULL},
    {"welcome auditor", K(WELCOME), f_welcome_auditor, OK, NULL},
    {"welcome agency_id", K(WELCOME), f_welcome_agency, BAD, "welcome.agency_id"},
    {"welcome role unspecified", K(WELCOME), f_welcome_role0, BAD, "welcome.role: unspecified"},
    {"welcome role 9", K(WELCOME), f_welcome_role9, BAD, "welcome.role: unknown value 9"},
    {"welcome max_frame 0", K(WELCOME), f_welcome_max0, BAD, "welcome.max_frame"},
    {"welcome log_origin empty", K(WELCOME), f_welcome_origin_empty, BAD, "welcome.log_origin"},
    {"welcome checkpoint_key 31", K(WELCOME), f_welcome_key31, BAD, "welcome.checkpoint_key"},
    {"publish", K(PUBLISH), f_none, OK, NULL},
    {"publish no envelope", K(PUBLISH), f_env_null, BAD, "publish.envelope: missing"},
    {"publish header empty", K(PUBLISH), f_env_header_0, BAD, "publish.envelope.header"},
    {"publish header 64 KiB", K(PUBLISH), f_env_header_max, OK, NULL},
    {"publish header 64 KiB + 1", K(PUBLISH), f_env_header_big, BAD, "publish.envelope.header"},
    {"publish payload empty", K(PUBLISH), f_env_payload_0, BAD, "publish.envelope.payload"},
    {"publish signature empty", K(PUBLISH), f_env_sig_0, BAD, "publish.envelope.signature"},
    {"publish signature 1 KiB", K(PUBLISH), f_env_sig_max, OK, NULL},
    {"publish signature 1 KiB + 1", K(PUBLISH), f_env_sig_big, BAD, "publish.envelope.signature"},
    {"publish_ack", K(PUBLISH_ACK), f_none, OK, NULL},
    {"publish_ack leaf_hash 31", K(PUBLISH_ACK), f_leaf_31, BAD, "publish_ack.leaf_hash"},
    {"publish_ack leaf_hash 33", K(PUBLISH_ACK), f_leaf_33, BAD, "publish_ack.leaf_hash"},
    {"subscribe", K(SUBSCRIBE), f_none, OK, NULL},
    {"subscribe name 64", K(SUBSCRIBE), f_sub_name_64, OK, NULL},
    {"subscribe name 65", K(SUBSCRIBE), f_sub_name_65, BAD, "subscribe.name"},
    {"subscribe name slash", K(SUBSCRIBE), f_sub_name_slash, BAD, "subscribe.name"},
    {"subscribe name empty", K(SUBSCRIBE), f_sub_name_empty, BAD, "subscribe.name"},
    {"subscribe filter #", K(SUBSCRIBE), f_sub_filter_hash, OK, NULL},
    {"subscribe filter # inside", K(SUBSCRIBE), f_sub_filter_bad, BAD, "subscribe.filter"},
    {"subscribe start unspecified", K(SUBSCRIBE), f_sub_start0, BAD, "subscribe.start"},
    {"subscribe start 9", K(SUBSCRIBE), f_sub_start9, BAD, "subscribe.start: unknown value 9"},
    {"subscribe resume", K(SUBSCRIBE), f_sub_resume, OK, NULL},
    {"subscribe from_seq", K(SUBSCRIBE), f_sub_seq_ok, OK, NULL},
    {"subscribe FROM_SEQ without from_seq", K(SUBSCRIBE), f_sub_seq_missing, BAD,
     "subscribe.from_seq: required"},
    {"subscribe from_time", K(SUBSCRIBE), f_sub_time_ok, OK, NULL},
    {"subscribe FROM_TIME without from_time_ms", K(SUBSCRIBE), f_sub_time_missing, BAD,
     "subscribe.from_time_ms: required"},
    {"subscribe NEW with from_seq", K(SUBSCRIBE), f_sub_new_with_seq, BAD,
     "subscribe.from_seq: only allowed"},
    {"subscribe FROM_SEQ with from_time_ms", K(SUBSCRIBE), f_sub_seq_with_time, BAD,
     "subscribe.from_time_ms: only allowed"},
    {"subscribed", K(SUBSCRIBED), f_none, OK, NULL},
    {"unsubscribe", K(UNSUBSCRIBE), f_none, OK, NULL},
    {"deliver", K(DELIVER), f_none, OK, NULL},
    {"deliver bad envelope", K(DELIVER), f_deliver_env, BAD, "deliver.envelope.signature"},
    {"deliver signer_cert", K(DELIVER), f_deliver_cert, OK, NULL},
    {"deliver signer_cert empty", K(DELIVER), f_deliver_cert_0, BAD, "deliver.signer_cert"},
    {"deliver signer_cert 16 KiB + 1", K(DELIVER), f_deliver_cert_big, BAD, "deliver.signer_cert"},
    {"deliver_ack", K(DELIVER_ACK), f_none, OK, NULL},
    {"directory_request", K(DIRECTORY_REQUEST), f_none, OK, NULL},
    {"directory_request topic", K(DIRECTORY_REQUEST), f_dreq_topic, OK, NULL},
    {"directory_request filter", K(DIRECTORY_REQUEST), f_dreq_filter, BAD,
     "directory_request.topic"},
    {"directory", K(DIRECTORY), f_none, OK, NULL},
    {"directory empty", K(DIRECTORY), f_dir_empty, OK, NULL},
    {"directory 4096 entries", K(DIRECTORY), f_dir_max, OK, NULL},
    {"directory 4097 entries", K(DIRECTORY), f_dir_over, BAD, "directory.entries: 4097"},
    {"directory agency_id", K(DIRECTORY), f_dir_agency, BAD, "directory.entries[1].agency_id"},
    {"directory role", K(DIRECTORY), f_dir_role0, BAD, "directory.entries[1].role"},
    {"directory entry without certificate", K(DIRECTORY), f_dir_no_cert, OK, NULL},
    {"directory certificate empty", K(DIRECTORY), f_dir_cert_0, BAD,
     "directory.entries[1].certificate"},
    {"directory certificate too big", K(DIRECTORY), f_dir_cert_big, BAD,
     "directory.entries[1].certificate"},
    {"receipt_request", K(RECEIPT_REQUEST), f_none, OK, NULL},
    {"receipt_request message_id 15", K(RECEIPT_REQUEST), f_rreq_15, BAD,
     "receipt_request.message_id"},
    {"receipt", K(RECEIPT), f_none, OK, NULL},
    {"receipt seq = tree_size", K(RECEIPT), f_rcpt_seq, BAD, "receipt.seq"},
    {"receipt no proof", K(RECEIPT), f_rcpt_proof_0, OK, NULL},
    {"receipt 64 proof entries", K(RECEIPT), f_rcpt_proof_64, OK, NULL},
    {"receipt 65 proof entries", K(RECEIPT), f_rcpt_proof_65, BAD, "receipt.proof: 65"},
    {"receipt proof entry 31", K(RECEIPT), f_rcpt_proof_short, BAD, "receipt.proof[3]"},
    {"receipt record empty", K(RECEIPT), f_rcpt_record_0, BAD, "receipt.record"},
    {"receipt checkpoint with tab", K(RECEIPT), f_rcpt_note_tab, BAD, "receipt.checkpoint"},
    {"receipt checkpoint empty", K(RECEIPT), f_rcpt_note_empty, BAD, "receipt.checkpoint"},
    {"receipt checkpoint 8 KiB", K(RECEIPT), f_rcpt_note_8k, OK, NULL},
    {"receipt checkpoint 8 KiB + 1", K(RECEIPT), f_rcpt_note_big, BAD, "receipt.checkpoint"},
    {"audit_fetch", K(AUDIT_FETCH), f_none, OK, NULL},
    {"audit_records", K(AUDIT_RECORDS), f_none, OK, NULL},
    {"audit_records record empty", K(AUDIT_RECORDS), f_ar_record_0, BAD,
     "audit_records.records[1]"},
    {"audit_records checkpoint", K(AUDIT_RECORDS), f_ar_note, OK, NULL},
    {"audit_records checkpoint bad", K(AUDIT_RECORDS), f_ar_note_bad, BAD,
     "audit_records.checkpoint"},
    {"ping", K(PING), f_none, OK, NULL},
    {"pong", K(PONG), f_none, OK, NULL},
    {"error", K(ERROR), f_none, OK, NULL},
    {"error code unspecified", K(ERROR), f_error_code0, BAD, "error.code: unspecified"},
    {"error code 99", K(ERROR), f_error_code99, BAD, "error.code: unknown value 99"},
    {"error text ESC", K(ERROR), f_error_text_ctrl, BAD, "error.text"},
    {"error text empty", K(ERROR), f_error_text_empty, OK, NULL},
    {"goodbye", K(GOODBYE), f_none, OK, NULL},
    {"goodbye reason 1025", K(GOODBYE), f_bye_1025, BAD, "goodbye.reason"},
    {"goodbye reason missing", K(GOODBYE), f_bye_null, BAD, "goodbye.reason: missing"},
};

static void test_frame_table(void **state)
{
    (void)state;
    static sample_t s;
    for (size_t i = 0; i < N_ELEMS(frame_cases); i++) {
        char why[256] = "";
        frame_init(&s, frame_cases[i].kind);
        frame_cases[i].mut(&s);
        enlace_err_t rc = validate_frame(&s.f, why, sizeof(why));
        check_why(frame_cases[i].name, rc, frame_cases[i].rc, why, frame_cases[i].why);
    }
    /* every kind has a passing case above */
    for (int k = 1; k <= 19; k++) {
        frame_init(&s, (Enlace__Frame__KindCase)k);
        assert_int_equal(validate_frame(&s.f, NULL, 0), OK);
    }
    assert_int_equal(validate_frame(NULL, NULL, 0), BAD);
}

static void test_why_truncation(void **state)
{
    (void)state;
    static sample_t s;
    char why[8];
    frame_init(&s, K(SUBSCRIBE));
    s.subscribe.filter = "#/a";
    memset(why, 'x', sizeof(why));
    assert_int_equal(validate_frame(&s.f, why, sizeof(why)), BAD);
    assert_int_equal(why[sizeof(why) - 1], '\0');
    assert_string_equal(why, "subscri");
    assert_int_equal(validate_frame(&s.f, why, 0), BAD); /* no room: untouched */
}

/* ---- records --------------------------------------------------------------- */

typedef struct {
    Enlace__Record r;
    Enlace__SessionOpened so;
    Enlace__SessionClosed sc;
    Enlace__Envelope env;
    Enlace__Published pub;
    uint64_t seqs[VALIDATE_MAX_DELIVERED_SEQS + 1];
    Enlace__Delivered del;
    Enlace__Denied den;
    Enlace__ConfigLoaded cl;
    Enlace__BrokerStarted bs;
    Enlace__BrokerStopped bt;
    Enlace__Recovery rec;
    Enlace__SubscriptionChanged chg;
} rsample_t;

static void record_init(rsample_t *s, Enlace__Record__KindCase kind)
{
    memset(s, 0, sizeof(*s));
    Enlace__Record r = ENLACE__RECORD__INIT;
    s->r = r;
    s->r.seq = 5000;
    s->r.time_ms = 1700000000000ull;
    Enlace__SessionOpened so = ENLACE__SESSION_OPENED__INIT;
    s->so = so;
    s->so.agency_id = "MX.FGR";
    s->so.cert_sha256 = bytes(32);
    s->so.peer_address = "[2001:db8::1]:50412";
    Enlace__SessionClosed sc = ENLACE__SESSION_CLOSED__INIT;
    s->sc = sc;
    s->sc.agency_id = "MX.FGR";
    s->sc.reason = "certificate revoked";
    Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
    s->env = env;
    s->env.header = bytes(200);
    s->env.payload = bytes(500);
    s->env.signature = bytes(64);
    Enlace__Published pub = ENLACE__PUBLISHED__INIT;
    s->pub = pub;
    s->pub.envelope = &s->env;
    s->pub.has_signer_cert = 1;
    s->pub.signer_cert = bytes(700);
    for (size_t i = 0; i < N_ELEMS(s->seqs); i++)
        s->seqs[i] = i;
    Enlace__Delivered del = ENLACE__DELIVERED__INIT;
    s->del = del;
    s->del.recipient = "US.FBI";
    s->del.subscription = "alerts-mx";
    s->del.message_seqs = s->seqs;
    s->del.n_message_seqs = 3;
    Enlace__Denied den = ENLACE__DENIED__INIT;
    s->den = den;
    s->den.operation = "publish";
    s->den.code = ENLACE__ERROR_CODE__ERROR_TLP_VIOLATION;
    s->den.reason = "TLP:RED needs explicit recipients";
    Enlace__ConfigLoaded cl = ENLACE__CONFIG_LOADED__INIT;
    s->cl = cl;
    s->cl.what = "policy";
    s->cl.path = "/etc/enlace/policy.ini";
    s->cl.sha256 = bytes(32);
    s->cl.accepted = 1;
    Enlace__BrokerStarted bs = ENLACE__BROKER_STARTED__INIT;
    s->bs = bs;
    s->bs.version = "0.1.0";
    s->bs.origin = "enlace.example/log";
    Enlace__BrokerStopped bt = ENLACE__BROKER_STOPPED__INIT;
    s->bt = bt;
    s->bt.reason = "SIGTERM";
    Enlace__Recovery rec = ENLACE__RECOVERY__INIT;
    s->rec = rec;
    s->rec.detail = "cut torn tail";
    Enlace__SubscriptionChanged chg = ENLACE__SUBSCRIPTION_CHANGED__INIT;
    s->chg = chg;
    s->chg.agency_id = "US.FBI";
    s->chg.name = "alerts-mx";
    s->chg.filter = "alerts/+/MX";

    s->r.kind_case = kind;
    switch (kind) {
    case ENLACE__RECORD__KIND_SESSION_OPENED: s->r.session_opened = &s->so; break;
    case ENLACE__RECORD__KIND_SESSION_CLOSED: s->r.session_closed = &s->sc; break;
    case ENLACE__RECORD__KIND_PUBLISHED: s->r.published = &s->pub; break;
    case ENLACE__RECORD__KIND_DELIVERED: s->r.delivered = &s->del; break;
    case ENLACE__RECORD__KIND_DENIED: s->r.denied = &s->den; break;
    case ENLACE__RECORD__KIND_CONFIG_LOADED: s->r.config_loaded = &s->cl; break;
    case ENLACE__RECORD__KIND_BROKER_STARTED: s->r.broker_started = &s->bs; break;
    case ENLACE__RECORD__KIND_BROKER_STOPPED: s->r.broker_stopped = &s->bt; break;
    case ENLACE__RECORD__KIND_RECOVERY: s->r.recovery = &s->rec; break;
    case ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED: s->r.subscription_changed = &s->chg; break;
    default: break;
    }
}

#define RMUT(name, body)                                                                           \
    static void name(rsample_t *s)                                                                 \
    {                                                                                              \
        body;                                                                                      \
    }
/* clang-format off */
RMUT(r_none, (void)s)
RMUT(r_null_member, s->r.session_opened = NULL)
RMUT(r_so_agency, s->so.agency_id = "")
RMUT(r_so_cert, s->so.cert_sha256 = bytes(20))
RMUT(r_so_addr_empty, s->so.peer_address = "")
RMUT(r_sc_reason_ctrl, s->sc.reason = "x\ry")
RMUT(r_pub_ref, { s->pub.has_signer_cert = 0; s->pub.has_cert_record_seq = 1; s->pub.cert_record_seq = 4999; })
RMUT(r_pub_ref_future, { s->pub.has_signer_cert = 0; s->pub.has_cert_record_seq = 1; s->pub.cert_record_seq = 5000; })
RMUT(r_pub_both, { s->pub.has_cert_record_seq = 1; s->pub.cert_record_seq = 1; })
RMUT(r_pub_neither, s->pub.has_signer_cert = 0)
RMUT(r_pub_cert_0, s->pub.signer_cert = bytes(0))
RMUT(r_pub_env, s->env.header = bytes(0))
RMUT(r_del_max, s->del.n_message_seqs = VALIDATE_MAX_DELIVERED_SEQS)
RMUT(r_del_over, s->del.n_message_seqs = VALIDATE_MAX_DELIVERED_SEQS + 1)
RMUT(r_del_future, s->seqs[2] = 5000)
RMUT(r_del_recipient, s->del.recipient = "someone")
RMUT(r_del_sub, s->del.subscription = "a b")
RMUT(r_den_agency, s->den.agency_id = "MX.FGR")
RMUT(r_den_agency_bad, s->den.agency_id = "CN=John")
RMUT(r_den_cert, { s->den.has_cert_sha256 = 1; s->den.cert_sha256 = bytes(32); })
RMUT(r_den_cert_bad, { s->den.has_cert_sha256 = 1; s->den.cert_sha256 = bytes(1); })
RMUT(r_den_op_empty, s->den.operation = "")
RMUT(r_den_code0, s->den.code = ENLACE__ERROR_CODE__ERROR_UNSPECIFIED)
RMUT(r_den_code77, s->den.code = (Enlace__ErrorCode)77)
RMUT(r_den_topic_bad_syntax, s->den.topic = "alerts/#/x")
RMUT(r_den_topic_ctrl, s->den.topic = "alerts\n")
RMUT(r_den_msgid, { s->den.has_message_id = 1; s->den.message_id = bytes(16); })
RMUT(r_den_msgid_bad, { s->den.has_message_id = 1; s->den.message_id = bytes(8); })
RMUT(r_cl_sha, s->cl.sha256 = bytes(0))
RMUT(r_cl_what, s->cl.what = "")
RMUT(r_cl_path_1025, s->cl.path = str_of('p', 1025))
RMUT(r_cl_detail, s->cl.detail = "line 12: unknown agency ZZ")
RMUT(r_bs_version, s->bs.version = "")
RMUT(r_bt_reason_null, s->bt.reason = NULL)
RMUT(r_rec_detail, s->rec.detail = "\xff")
RMUT(r_chg_filter, s->chg.filter = "alerts/")
RMUT(r_chg_name, s->chg.name = "")
RMUT(r_chg_agency, s->chg.agency_id = "us.fbi")
/* clang-format on */

#define RK(x) ENLACE__RECORD__KIND_##x
static const struct {
    const char *name;
    Enlace__Record__KindCase kind;
    void (*mut)(rsample_t *);
    enlace_err_t rc;
    const char *why;
} record_cases[] = {
    {"no kind", ENLACE__RECORD__KIND__NOT_SET, r_none, BAD, "record: no kind set"},
    {"kind without message", RK(SESSION_OPENED), r_null_member, BAD, "record: kind 10"},
    {"session_opened", RK(SESSION_OPENED), r_none, OK, NULL},
    {"session_opened agency", RK(SESSION_OPENED), r_so_agency, BAD, "session_opened.agency_id"},
    {"session_opened cert", RK(SESSION_OPENED), r_so_cert, BAD, "session_opened.cert_sha256"},
    {"session_opened address", RK(SESSION_OPENED), r_so_addr_empty, BAD,
     "session_opened.peer_address"},
    {"session_closed", RK(SESSION_CLOSED), r_none, OK, NULL},
    {"session_closed reason", RK(SESSION_CLOSED), r_sc_reason_ctrl, BAD, "session_closed.reason"},
    {"published", RK(PUBLISHED), r_none, OK, NULL},
    {"published cert by reference", RK(PUBLISHED), r_pub_ref, OK, NULL},
    {"published reference not earlier", RK(PUBLISHED), r_pub_ref_future, BAD,
     "published.cert_record_seq"},
    {"published both", RK(PUBLISHED), r_pub_both, BAD, "published: both"},
    {"published neither", RK(PUBLISHED), r_pub_neither, OK, NULL},
    {"published cert empty", RK(PUBLISHED), r_pub_cert_0, BAD, "published.signer_cert"},
    {"published envelope", RK(PUBLISHED), r_pub_env, BAD, "published.envelope.header"},
    {"delivered", RK(DELIVERED), r_none, OK, NULL},
    {"delivered 1024 seqs", RK(DELIVERED), r_del_max, OK, NULL},
    {"delivered 1025 seqs", RK(DELIVERED), r_del_over, BAD, "delivered.message_seqs: 1025"},
    {"delivered seq not earlier", RK(DELIVERED), r_del_future, BAD, "delivered.message_seqs[2]"},
    {"delivered recipient", RK(DELIVERED), r_del_recipient, BAD, "delivered.recipient"},
    {"delivered subscription", RK(DELIVERED), r_del_sub, BAD, "delivered.subscription"},
    {"denied", RK(DENIED), r_none, OK, NULL},
    {"denied agency", RK(DENIED), r_den_agency, OK, NULL},
    {"denied agency invalid", RK(DENIED), r_den_agency_bad, BAD, "denied.agency_id"},
    {"denied cert", RK(DENIED), r_den_cert, OK, NULL},
    {"denied cert 1 byte", RK(DENIED), r_den_cert_bad, BAD, "denied.cert_sha256"},
    {"denied operation empty", RK(DENIED), r_den_op_empty, BAD, "denied.operation"},
    {"denied code unspecified", RK(DENIED), r_den_code0, BAD, "denied.code"},
    {"denied code 77", RK(DENIED), r_den_code77, BAD, "denied.code: unknown value 77"},
    {"denied topic of bad syntax is recorded", RK(DENIED), r_den_topic_bad_syntax, OK, NULL},
    {"denied topic control", RK(DENIED), r_den_topic_ctrl, BAD, "denied.topic"},
    {"denied message_id", RK(DENIED), r_den_msgid, OK, NULL},
    {"denied message_id 8", RK(DENIED), r_den_msgid_bad, BAD, "denied.message_id"},
    {"config_loaded", RK(CONFIG_LOADED), r_none, OK, NULL},
    {"config_loaded detail", RK(CONFIG_LOADED), r_cl_detail, OK, NULL},
    {"config_loaded sha256", RK(CONFIG_LOADED), r_cl_sha, BAD, "config_loaded.sha256"},
    {"config_loaded what", RK(CONFIG_LOADED), r_cl_what, BAD, "config_loaded.what"},
    {"config_loaded path", RK(CONFIG_LOADED), r_cl_path_1025, BAD, "config_loaded.path"},
    {"broker_started", RK(BROKER_STARTED), r_none, OK, NULL},
    {"broker_started version", RK(BROKER_STARTED), r_bs_version, BAD, "broker_started.version"},
    {"broker_stopped", RK(BROKER_STOPPED), r_none, OK, NULL},
    {"broker_stopped reason", RK(BROKER_STOPPED), r_bt_reason_null, BAD, "broker_stopped.reason"},
    {"recovery", RK(RECOVERY), r_none, OK, NULL},
    {"recovery detail", RK(RECOVERY), r_rec_detail, BAD, "recovery.detail"},
    {"subscription_changed", RK(SUBSCRIPTION_CHANGED), r_none, OK, NULL},
    {"subscription_changed filter", RK(SUBSCRIPTION_CHANGED), r_chg_filter, BAD,
     "subscription_changed.filter"},
    {"subscription_changed name", RK(SUBSCRIPTION_CHANGED), r_chg_name, BAD,
     "subscription_changed.name"},
    {"subscription_changed agency", RK(SUBSCRIPTION_CHANGED), r_chg_agency, BAD,
     "subscription_changed.agency_id"},
};

static void test_record_table(void **state)
{
    (void)state;
    static rsample_t s;
    for (size_t i = 0; i < N_ELEMS(record_cases); i++) {
        char why[256] = "";
        record_init(&s, record_cases[i].kind);
        record_cases[i].mut(&s);
        enlace_err_t rc = validate_record(&s.r, why, sizeof(why));
        check_why(record_cases[i].name, rc, record_cases[i].rc, why, record_cases[i].why);
    }
    assert_int_equal(validate_record(NULL, NULL, 0), BAD);
}

static void test_envelope(void **state)
{
    (void)state;
    Enlace__Envelope e = ENLACE__ENVELOPE__INIT;
    char why[128];
    e.header = bytes(10);
    e.payload = bytes(10);
    e.signature = bytes(10);
    assert_int_equal(validate_envelope(&e, why, sizeof(why)), OK);
    e.payload = bytes(0);
    assert_int_equal(validate_envelope(&e, why, sizeof(why)), BAD);
    assert_string_equal(why, "envelope.payload: empty");
    assert_int_equal(validate_envelope(NULL, why, sizeof(why)), BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),         cmocka_unit_test(test_agency_id),
        cmocka_unit_test(test_name),         cmocka_unit_test(test_header_table),
        cmocka_unit_test(test_frame_table),  cmocka_unit_test(test_why_truncation),
        cmocka_unit_test(test_record_table), cmocka_unit_test(test_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
