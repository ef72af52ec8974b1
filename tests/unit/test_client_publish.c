/* test_client_publish — specification of header building for a publish
 * (client/lib/publish.c: publish_build_header).
 *
 * The header carries a fresh random 16-byte message id, the sender, topic, recipients,
 * creation time, message type (case message unless said otherwise), TLP label and the
 * optional labels and texts exactly as given; absent options stay absent (no has_ flag).
 * Refused locally, before anything is encrypted: no or unknown TLP label, TLP:RED or
 * TLP:AMBER+STRICT without named recipients, bad or wildcard topics, bad or duplicate
 * recipient ids, more than 256 recipients, unknown enum values, empty or control-character
 * texts, a language that is not a BCP 47 tag, an expiry in the past, a bad sender.
 * Once sealed (payload and signer digests filled in) the header passes validate_header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "publish.h"
#include "validate.h"

#define NOW 1714564800000ULL

static const char *const TWO[] = {"US.FBI", "CO.DIJIN"};

/* Fill the digests envelope_seal would fill, so validate_header can judge the rest. */
static void pretend_sealed(publish_header_t *hb, uint8_t digest[32])
{
    memset(digest, 0x5a, 32);
    hb->hdr.payload_sha256.data = digest;
    hb->hdr.payload_sha256.len = 32;
    hb->hdr.signer_cert_sha256.data = digest;
    hb->hdr.signer_cert_sha256.len = 32;
}

static void test_minimal_header(void **state)
{
    (void)state;
    enlace_publish_params_t p = {.topic = "alerts/trafficking", .tlp = ENLACE_TLP_AMBER};
    publish_header_t hb;
    char why[256] = "";
    assert_int_equal(publish_build_header(&p, "MX.FGR", NOW, &hb, why, sizeof why), ENLACE_OK);
    const Enlace__Header *h = &hb.hdr;
    assert_int_equal(h->message_id.len, 16);
    assert_ptr_equal(h->message_id.data, hb.message_id);
    assert_string_equal(h->sender, "MX.FGR");
    assert_string_equal(h->topic, "alerts/trafficking");
    assert_int_equal(h->n_recipients, 0);
    assert_int_equal(h->created_at_ms, NOW);
    assert_false(h->has_expires_at_ms);
    assert_int_equal(h->message_type, ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_CASE_MESSAGE);
    assert_int_equal(h->tlp, ENLACE__TLP__TLP_AMBER);
    assert_false(h->has_notice_kind);
    assert_false(h->has_handling);
    assert_false(h->has_source_reliability);
    assert_false(h->has_info_accuracy);
    assert_false(h->has_in_reply_to);
    assert_null(h->case_ref);
    assert_null(h->language);
    assert_null(h->content_type);
    assert_int_equal(h->payload_sha256.len, 0); /* left for envelope_seal */
    assert_int_equal(h->signer_cert_sha256.len, 0);
    uint8_t digest[32];
    pretend_sealed(&hb, digest);
    assert_int_equal(validate_header(h, why, sizeof why), ENLACE_OK);
}

static void test_every_field(void **state)
{
    (void)state;
    const uint8_t reply[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    enlace_publish_params_t p = {
        .topic = "cases/MX/2024-0042",
        .tlp = ENLACE_TLP_RED,
        .recipients = TWO,
        .n_recipients = 2,
        .type = ENLACE_TYPE_REPLY,
        .notice = ENLACE_NOTICE_YELLOW,
        .handling = ENLACE_HANDLING_H3,
        .reliability = ENLACE_RELIABILITY_B,
        .accuracy = ENLACE_ACCURACY_2,
        .case_ref = "FGR/UEIDMS/0042/2024 — ñ",
        .in_reply_to = reply,
        .language = "es-MX",
        .content_type = "text/plain; charset=utf-8",
        .expires_at_ms = NOW + 3600000,
    };
    publish_header_t hb;
    char why[256] = "";
    assert_int_equal(publish_build_header(&p, "MX.FGR", NOW, &hb, why, sizeof why), ENLACE_OK);
    const Enlace__Header *h = &hb.hdr;
    assert_int_equal(h->n_recipients, 2);
    assert_string_equal(h->recipients[0], "US.FBI");
    assert_string_equal(h->recipients[1], "CO.DIJIN");
    assert_int_equal(h->message_type, ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_REPLY);
    assert_int_equal(h->tlp, ENLACE__TLP__TLP_RED);
    assert_true(h->has_notice_kind);
    assert_int_equal(h->notice_kind, ENLACE__NOTICE_KIND__NOTICE_KIND_YELLOW);
    assert_true(h->has_handling);
    assert_int_equal(h->handling, ENLACE__HANDLING__HANDLING_H3);
    assert_true(h->has_source_reliability);
    assert_int_equal(h->source_reliability, ENLACE__SOURCE_RELIABILITY__SOURCE_RELIABILITY_B);
    assert_true(h->has_info_accuracy);
    assert_int_equal(h->info_accuracy, ENLACE__INFO_ACCURACY__INFO_ACCURACY_2);
    assert_string_equal(h->case_ref, "FGR/UEIDMS/0042/2024 — ñ");
    assert_true(h->has_in_reply_to);
    assert_int_equal(h->in_reply_to.len, 16);
    assert_memory_equal(h->in_reply_to.data, reply, 16);
    assert_ptr_not_equal(h->in_reply_to.data, reply); /* copied */
    assert_string_equal(h->language, "es-MX");
    assert_string_equal(h->content_type, "text/plain; charset=utf-8");
    assert_true(h->has_expires_at_ms);
    assert_int_equal(h->expires_at_ms, NOW + 3600000);
    uint8_t digest[32];
    pretend_sealed(&hb, digest);
    assert_int_equal(validate_header(h, why, sizeof why), ENLACE_OK);
}

static void test_message_ids_are_fresh(void **state)
{
    (void)state;
    enlace_publish_params_t p = {.topic = "a", .tlp = ENLACE_TLP_CLEAR};
    publish_header_t a, b;
    char why[64];
    assert_int_equal(publish_build_header(&p, "MX.FGR", NOW, &a, why, sizeof why), ENLACE_OK);
    assert_int_equal(publish_build_header(&p, "MX.FGR", NOW, &b, why, sizeof why), ENLACE_OK);
    assert_memory_not_equal(a.message_id, b.message_id, 16);
}

static void test_amber_strict_and_red_with_recipients(void **state)
{
    (void)state;
    static const char *const one[] = {"US.FBI"};
    enlace_tlp_t labels[] = {ENLACE_TLP_RED, ENLACE_TLP_AMBER_STRICT};
    for (size_t i = 0; i < 2; i++) {
        enlace_publish_params_t p = {
            .topic = "cases/x", .tlp = labels[i], .recipients = one, .n_recipients = 1};
        publish_header_t hb;
        char why[128];
        assert_int_equal(publish_build_header(&p, "MX.FGR", NOW, &hb, why, sizeof why), ENLACE_OK);
    }
}

/* ---- refusals ----------------------------------------------------------------------- */

typedef struct {
    const char *name;          /* what the row shows */
    enlace_publish_params_t p; /* parameters */
    const char *sender;        /* sender id */
    const char *why;           /* expected substring of the reason */
} refusal_t;

static const char *const BAD_ID[] = {"mx.fgr"};
static const char *const DUP[] = {"US.FBI", "CO.DIJIN", "US.FBI"};
static const char *const NULL_ID[] = {NULL};

static const refusal_t REFUSALS[] = {
    {"no topic", {.tlp = ENLACE_TLP_AMBER}, "MX.FGR", "not a valid topic"},
    {"empty level", {.topic = "a//b", .tlp = ENLACE_TLP_AMBER}, "MX.FGR", "not a valid topic"},
    {"wildcard topic",
     {.topic = "alerts/#", .tlp = ENLACE_TLP_AMBER},
     "MX.FGR",
     "not a valid topic"},
    {"no TLP label", {.topic = "a"}, "MX.FGR", "a TLP label is required"},
    {"unknown TLP value",
     {.topic = "a", .tlp = (enlace_tlp_t)9},
     "MX.FGR",
     "a TLP label is required"},
    {"RED without recipients",
     {.topic = "a", .tlp = ENLACE_TLP_RED},
     "MX.FGR",
     "TLP:RED needs named recipients"},
    {"AMBER+STRICT without recipients",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER_STRICT},
     "MX.FGR",
     "TLP:AMBER+STRICT needs named recipients"},
    {"bad recipient id",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .recipients = BAD_ID, .n_recipients = 1},
     "MX.FGR",
     "recipient 'mx.fgr' is not a valid agency id"},
    {"NULL recipient",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .recipients = NULL_ID, .n_recipients = 1},
     "MX.FGR",
     "not a valid agency id"},
    {"duplicate recipient",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .recipients = DUP, .n_recipients = 3},
     "MX.FGR",
     "recipient US.FBI listed twice"},
    {"recipient count without list",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .n_recipients = 1},
     "MX.FGR",
     "recipient list missing"},
    {"too many recipients",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .recipients = DUP, .n_recipients = 257},
     "MX.FGR",
     "257 recipients; at most 256"},
    {"unknown type",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .type = (enlace_message_type_t)7},
     "MX.FGR",
     "unknown message type"},
    {"unknown notice",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .notice = (enlace_notice_t)9},
     "MX.FGR",
     "unknown notice kind"},
    {"unknown handling",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .handling = (enlace_handling_t)5},
     "MX.FGR",
     "unknown handling code"},
    {"unknown reliability",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .reliability = (enlace_reliability_t)5},
     "MX.FGR",
     "unknown source reliability"},
    {"unknown accuracy",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .accuracy = (enlace_accuracy_t)5},
     "MX.FGR",
     "unknown information accuracy"},
    {"empty case reference",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .case_ref = ""},
     "MX.FGR",
     "case reference"},
    {"control character in case reference",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .case_ref = "A\nB"},
     "MX.FGR",
     "case reference"},
    {"language with underscore",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .language = "es_MX"},
     "MX.FGR",
     "not a BCP 47 language tag"},
    {"empty content type",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .content_type = ""},
     "MX.FGR",
     "content type"},
    {"expiry now",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .expires_at_ms = NOW},
     "MX.FGR",
     "expiry time is already past"},
    {"expiry past",
     {.topic = "a", .tlp = ENLACE_TLP_AMBER, .expires_at_ms = 1},
     "MX.FGR",
     "expiry time is already past"},
    {"bad sender", {.topic = "a", .tlp = ENLACE_TLP_AMBER}, "-MX", "not a valid agency id"},
};

static void test_refusals_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof REFUSALS / sizeof REFUSALS[0]; i++) {
        const refusal_t *r = &REFUSALS[i];
        publish_header_t hb;
        char why[256] = "";
        enlace_err_t rc = publish_build_header(&r->p, r->sender, NOW, &hb, why, sizeof why);
        if (rc != ENLACE_ERR_INVALID || strstr(why, r->why) == NULL)
            fail_msg("%s: got %s '%s', want INVALID '%s'", r->name, enlace_err_str(rc), why,
                     r->why);
    }
    publish_header_t hb;
    char why[64];
    assert_int_equal(publish_build_header(NULL, "MX.FGR", NOW, &hb, why, sizeof why),
                     ENLACE_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_header),
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_message_ids_are_fresh),
        cmocka_unit_test(test_amber_strict_and_red_with_recipients),
        cmocka_unit_test(test_refusals_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
