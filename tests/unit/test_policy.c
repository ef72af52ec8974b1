/* test_policy — the policy file, read as a specification.
 *
 * Decisions for a multi-agency policy (publish, subscribe, read; '+' and '#'; deny by
 * default; auditors cannot publish; subscriptions wider than the grant refused), limits,
 * certificates, the digest, every refusal with its "FILE:LINE:" prefix, and the shipped
 * example (deploy/policy.ini.example).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "policy.h"

static char g_dir[256]; /* realpath of this run's temporary directory (short: paths fit) */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    char tmpl[] = "/tmp/enlace-test-policy-XXXXXX";
    char abs[PATH_MAX];
    if (mkdtemp(tmpl) == NULL || realpath(tmpl, abs) == NULL || strlen(abs) >= sizeof g_dir)
        return -1;
    memcpy(g_dir, abs, strlen(abs) + 1);
    return 0;
}

static int teardown(void **state)
{
    return nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static policy_t *load_text(const char *text)
{
    char path[PATH_MAX], why[512];
    policy_t *p = NULL;
    write_file("policy.ini", text, path, sizeof path);
    if (policy_load(path, &p, why, sizeof why) != ENLACE_OK)
        fail_msg("policy refused: %s", why);
    return p;
}

/* ---- decisions ----------------------------------------------------------------------- */

static const char POLICY[] = "; four agencies and an auditor\n"
                             "[MX.FGR]\n"
                             "role = agency\n"
                             "publish = alerts/#, cases/MX/#\n"
                             "subscribe = alerts/#, cases/+/requests\n"
                             "max_sessions = 4\n"
                             "publish_rate = 500\n"
                             "\n"
                             "[US.FBI]\n"
                             "role = agency\n"
                             "publish = alerts/+/US\n"
                             "publish = cases/US/#   ; repeated lines accumulate\n"
                             "subscribe = cases/US/#,alerts/trafficking/+\n"
                             "\n"
                             "[EU.EDPS]\n"
                             "role = auditor\n"
                             "subscribe = #\n"
                             "\n"
                             "[GT.PNC]\n"
                             "role = agency\n"
                             "; nothing granted: everything denied\n"
                             "\n"
                             "[INTERPOL.NCB-MEX]\n"
                             "role = agency\n"
                             "publish = notices/+/+\n"
                             "subscribe = +/MX\n";

enum op { PUBLISH, SUBSCRIBE, READ };

static const struct {
    const char *agency;
    enum op op;
    const char *what; /* topic (PUBLISH, READ) or filter (SUBSCRIBE) */
    bool allowed;
} DECISIONS[] = {
    /* '#' matches its level and every level below, including none */
    {"MX.FGR", PUBLISH, "alerts/trafficking/MX", true},
    {"MX.FGR", PUBLISH, "alerts", true},
    {"MX.FGR", PUBLISH, "cases/MX/2024-0117/evidence", true},
    {"MX.FGR", PUBLISH, "cases/MX", true},
    {"MX.FGR", PUBLISH, "cases/US/1", false},
    {"MX.FGR", PUBLISH, "cases", false},
    {"MX.FGR", PUBLISH, "notices/red/MX", false},
    /* a publish names a topic, never a filter; invalid names are refused */
    {"MX.FGR", PUBLISH, "alerts/+", false},
    {"MX.FGR", PUBLISH, "alerts/#", false},
    {"MX.FGR", PUBLISH, "alerts//MX", false},
    {"MX.FGR", PUBLISH, "", false},
    {"MX.FGR", PUBLISH, NULL, false},
    /* '+' is exactly one level */
    {"US.FBI", PUBLISH, "alerts/drugs/US", true},
    {"US.FBI", PUBLISH, "alerts/drugs/MX", false},
    {"US.FBI", PUBLISH, "alerts/US", false},
    {"US.FBI", PUBLISH, "alerts/drugs/cartel/US", false},
    {"US.FBI", PUBLISH, "cases/US", true},
    {"INTERPOL.NCB-MEX", PUBLISH, "notices/red/MX", true},
    {"INTERPOL.NCB-MEX", PUBLISH, "notices/red", false},
    /* auditors never publish, agencies without grants get nothing, strangers nothing */
    {"EU.EDPS", PUBLISH, "alerts/trafficking/MX", false},
    {"GT.PNC", PUBLISH, "alerts/trafficking/GT", false},
    {"XX.UNKNOWN", PUBLISH, "alerts/trafficking/MX", false},
    {NULL, PUBLISH, "alerts/trafficking/MX", false},
    {"mx.fgr", PUBLISH, "alerts/trafficking/MX", false},
    /* a subscription must lie within one subscribe filter */
    {"MX.FGR", SUBSCRIBE, "alerts/#", true},
    {"MX.FGR", SUBSCRIBE, "alerts/+/MX", true},
    {"MX.FGR", SUBSCRIBE, "alerts/trafficking/MX", true},
    {"MX.FGR", SUBSCRIBE, "cases/+/requests", true},
    {"MX.FGR", SUBSCRIBE, "cases/CO/requests", true},
    {"MX.FGR", SUBSCRIBE, "cases/#", false},
    {"MX.FGR", SUBSCRIBE, "cases/+/+", false},
    {"MX.FGR", SUBSCRIBE, "cases/+/requests/#", false},
    {"MX.FGR", SUBSCRIBE, "#", false},
    {"MX.FGR", SUBSCRIBE, "+/+/MX", false},
    {"MX.FGR", SUBSCRIBE, "alerts/#/MX", false},
    {"MX.FGR", SUBSCRIBE, "", false},
    {"MX.FGR", SUBSCRIBE, NULL, false},
    {"US.FBI", SUBSCRIBE, "alerts/trafficking/+", true},
    {"US.FBI", SUBSCRIBE, "alerts/trafficking/MX", true},
    {"US.FBI", SUBSCRIBE, "alerts/trafficking/#", false},
    {"US.FBI", SUBSCRIBE, "alerts/+/MX", false},
    {"INTERPOL.NCB-MEX", SUBSCRIBE, "+/MX", true},
    {"INTERPOL.NCB-MEX", SUBSCRIBE, "alerts/MX", true},
    {"INTERPOL.NCB-MEX", SUBSCRIBE, "alerts/+", false},
    {"EU.EDPS", SUBSCRIBE, "#", true},
    {"EU.EDPS", SUBSCRIBE, "cases/MX/#", true},
    {"GT.PNC", SUBSCRIBE, "alerts/#", false},
    {"XX.UNKNOWN", SUBSCRIBE, "alerts/#", false},
    /* reading: is the topic matched by one subscribe filter? */
    {"MX.FGR", READ, "alerts/trafficking/MX", true},
    {"MX.FGR", READ, "cases/CO/requests", true},
    {"MX.FGR", READ, "cases/CO/replies", false},
    {"MX.FGR", READ, "cases/MX/1", false},
    {"MX.FGR", READ, "alerts/+", false},
    {"US.FBI", READ, "alerts/trafficking/MX", true},
    {"US.FBI", READ, "alerts/trafficking", false},
    {"US.FBI", READ, "cases/US", true},
    {"EU.EDPS", READ, "cases/MX/2024-0117", true},
    {"GT.PNC", READ, "alerts/trafficking/GT", false},
    {"XX.UNKNOWN", READ, "alerts/trafficking/MX", false},
};

static void test_decisions(void **state)
{
    policy_t *p = load_text(POLICY);
    static const char *const names[] = {"publish", "subscribe", "read"};
    for (size_t i = 0; i < sizeof DECISIONS / sizeof DECISIONS[0]; i++) {
        const char *a = DECISIONS[i].agency, *w = DECISIONS[i].what;
        bool got = DECISIONS[i].op == PUBLISH     ? policy_may_publish(p, a, w)
                   : DECISIONS[i].op == SUBSCRIBE ? policy_may_subscribe(p, a, w)
                                                  : policy_may_read(p, a, w);
        if (got != DECISIONS[i].allowed)
            fail_msg("%s %s '%s': %s, expected %s", a ? a : "(null)", names[DECISIONS[i].op],
                     w ? w : "(null)", got ? "allowed" : "denied",
                     DECISIONS[i].allowed ? "allowed" : "denied");
    }
    policy_destroy(&p);
    assert_null(p);
    policy_destroy(&p); /* safe twice */
}

static void test_agencies_roles_and_limits(void **state)
{
    policy_t *p = load_text(POLICY);
    static const char *const sorted[] = {"EU.EDPS", "GT.PNC", "INTERPOL.NCB-MEX", "MX.FGR",
                                         "US.FBI"};
    assert_int_equal(policy_count(p), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(policy_agency_at(p, i), sorted[i]);
        assert_true(policy_has_agency(p, sorted[i]));
    }
    assert_null(policy_agency_at(p, 5));
    assert_false(policy_has_agency(p, "XX.UNKNOWN"));
    assert_false(policy_has_agency(p, "MX"));

    assert_int_equal(policy_role(p, "MX.FGR"), POLICY_ROLE_AGENCY);
    assert_int_equal(policy_role(p, "EU.EDPS"), POLICY_ROLE_AUDITOR);
    assert_int_equal(policy_role(p, "XX.UNKNOWN"), 0);

    assert_int_equal(policy_max_sessions(p, "MX.FGR"), 4);
    assert_int_equal(policy_publish_rate(p, "MX.FGR"), 500);
    assert_int_equal(policy_max_sessions(p, "US.FBI"), 0);
    assert_int_equal(policy_publish_rate(p, "US.FBI"), 0);
    assert_int_equal(policy_max_sessions(p, "XX.UNKNOWN"), 0);
    assert_null(policy_certificate_path(p, "MX.FGR"));
    assert_null(policy_certificate_path(p, "XX.UNKNOWN"));
    policy_destroy(&p);
}

static void test_digest_is_sha256_of_the_file(void **state)
{
    uint8_t want[32];
    policy_t *p = load_text(POLICY);
    assert_int_equal(EVP_Digest(POLICY, strlen(POLICY), want, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(policy_digest(p), want, 32);
    policy_destroy(&p);

    /* A comment is a change too: the digest names the exact file that was in force. */
    char changed[sizeof POLICY + 16];
    snprintf(changed, sizeof changed, "%s; edited\n", POLICY);
    p = load_text(changed);
    assert_memory_not_equal(policy_digest(p), want, 32);
    policy_destroy(&p);
}

static void test_certificate_paths(void **state)
{
    char dir[PATH_MAX], path[PATH_MAX], want[PATH_MAX], why[512], cwd[PATH_MAX];
    policy_t *p = NULL;
    snprintf(dir, sizeof dir, "%s/agencies", g_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file("agencies/MX.FGR.crt", "not parsed by the policy\n", path, sizeof path);
    char text[PATH_MAX + 256];
    snprintf(text, sizeof text,
             "[MX.FGR]\nrole = agency\ncertificate = agencies/MX.FGR.crt\n"
             "[US.FBI]\nrole = agency\ncertificate = %s\n",
             path);
    write_file("with-certs.ini", text, path, sizeof path);
    /* Relative to the policy file, whatever the working directory. */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir("/"), 0);
    enlace_err_t rc = policy_load(path, &p, why, sizeof why);
    assert_int_equal(chdir(cwd), 0);
    if (rc != ENLACE_OK)
        fail_msg("%s", why);
    snprintf(want, sizeof want, "%s/agencies/MX.FGR.crt", g_dir);
    assert_string_equal(policy_certificate_path(p, "MX.FGR"), want);
    assert_string_equal(policy_certificate_path(p, "US.FBI"), want);
    policy_destroy(&p);
}

static void test_long_agency_id(void **state)
{
    /* libinih cuts section names at 49 bytes; agency ids may have 64. */
    static const char id64[] = "INTERPOL.NCB-MEX.LIAISON-OFFICE-FOR-CENTRAL-AMERICA-AND-CARIBBEA";
    char text[256];
    assert_int_equal(strlen(id64), 64);
    snprintf(text, sizeof text, "[%s]\nrole = agency\npublish = alerts/#\n", id64);
    policy_t *p = load_text(text);
    assert_true(policy_has_agency(p, id64));
    assert_true(policy_may_publish(p, id64, "alerts/x"));
    assert_string_equal(policy_agency_at(p, 0), id64);
    policy_destroy(&p);
}

/* ---- refusals ------------------------------------------------------------------------ */

static const struct {
    const char *what;
    const char *text;
    unsigned line;      /* expected "FILE:LINE: " */
    const char *reason; /* the rest of the message, exactly */
} REFUSALS[] = {
    {"empty file", "", 1, "policy defines no agency section (value '')"},
    {"only comments", "; nothing\n; here\n", 2, "policy defines no agency section (value '')"},
    {"key before any section", "role = agency\n[MX.FGR]\nrole = agency\n", 1,
     "key outside any [agency] section (value 'role')"},
    {"bad role", "[MX.FGR]\nrole = admin\n", 2,
     "role must be 'agency' or 'auditor' (value 'admin')"},
    {"role is case-sensitive", "[MX.FGR]\nrole = Agency\n", 2,
     "role must be 'agency' or 'auditor' (value 'Agency')"},
    {"missing role", "[MX.FGR]\npublish = alerts/#\n", 1,
     "agency has no 'role' (agency or auditor) (value 'MX.FGR')"},
    {"missing role, told when the next section starts",
     "[MX.FGR]\nrole = agency\n[US.FBI]\nsubscribe = alerts/#\n[CO.DIJIN]\nrole = bogus\n", 3,
     "agency has no 'role' (agency or auditor) (value 'US.FBI')"},
    {"unknown key", "[MX.FGR]\nrole = agency\ncolour = blue\n", 3,
     "unknown key (expected role, publish, subscribe, certificate, max_sessions, publish_rate) "
     "(value 'colour')"},
    {"duplicate section", "[MX.FGR]\nrole = agency\n\n[US.FBI]\nrole = agency\n[MX.FGR]\n", 6,
     "duplicate agency section (first on line 1) (value 'MX.FGR')"},
    {"duplicate empty section", "[MX.FGR]\n[MX.FGR]\nrole = agency\n", 1,
     "agency has no 'role' (agency or auditor) (value 'MX.FGR')"},
    {"duplicate key", "[MX.FGR]\nrole = agency\nmax_sessions = 2\nmax_sessions = 3\n", 4,
     "duplicate key 'max_sessions' (first on line 3) (value '3')"},
    {"duplicate role", "[MX.FGR]\nrole = agency\nrole = auditor\n", 3,
     "duplicate key 'role' (first on line 2) (value 'auditor')"},
    {"lower-case agency id", "[mx.fgr]\nrole = agency\n", 1,
     "section name is not an agency id ([A-Z0-9] then [A-Z0-9._-], at most 64) (value 'mx.fgr')"},
    {"agency id with a blank", "[MX FGR]\nrole = agency\n", 1,
     "section name is not an agency id ([A-Z0-9] then [A-Z0-9._-], at most 64) (value 'MX FGR')"},
    {"agency id too long",
     "[INTERPOL.NCB-MEX.LIAISON-OFFICE-FOR-CENTRAL-AMERICA-AND-CARIBBEAN]\nrole = agency\n", 1,
     "section name is not an agency id ([A-Z0-9] then [A-Z0-9._-], at most 64) "
     "(value 'INTERPOL.NCB-MEX.LIAISON-OFFICE-FOR-CENTRAL-AMERICA-AND-CARIBBEAN')"},
    {"empty section name", "[]\nrole = agency\n", 1,
     "section name is not an agency id ([A-Z0-9] then [A-Z0-9._-], at most 64) (value '')"},
    {"'#' not last", "[MX.FGR]\nrole = agency\npublish = alerts/#/MX\n", 3,
     "invalid topic filter in 'publish' (value 'alerts/#/MX')"},
    {"'+' inside a level", "[MX.FGR]\nrole = agency\nsubscribe = alerts, cases/M+\n", 3,
     "invalid topic filter in 'subscribe' (value 'cases/M+')"},
    {"empty level", "[MX.FGR]\nrole = agency\nsubscribe = alerts//MX\n", 3,
     "invalid topic filter in 'subscribe' (value 'alerts//MX')"},
    {"empty list item", "[MX.FGR]\nrole = agency\npublish = alerts/#,,cases/MX/#\n", 3,
     "empty topic filter in 'publish' (value 'alerts/#,,cases/MX/#')"},
    {"trailing comma", "[MX.FGR]\nrole = agency\npublish = alerts/#,\n", 3,
     "empty topic filter in 'publish' (value 'alerts/#,')"},
    {"empty value", "[MX.FGR]\nrole = agency\nsubscribe =\n", 3,
     "empty topic filter in 'subscribe' (value '')"},
    {"auditor may not publish", "[EU.EDPS]\nrole = auditor\nsubscribe = #\npublish = alerts/#\n", 4,
     "an auditor may not publish (value 'alerts/#')"},
    {"auditor role after its publish line", "[EU.EDPS]\npublish = cases/#\nrole = auditor\n", 2,
     "an auditor may not publish (value 'cases/#')"},
    {"max_sessions zero", "[MX.FGR]\nrole = agency\nmax_sessions = 0\n", 3,
     "max_sessions must be a whole number in 1..1000000 (value '0')"},
    {"max_sessions not a number", "[MX.FGR]\nrole = agency\nmax_sessions = four\n", 3,
     "max_sessions must be a whole number in 1..1000000 (value 'four')"},
    {"publish_rate too high", "[MX.FGR]\nrole = agency\npublish_rate = 10000001\n", 3,
     "publish_rate must be a whole number in 1..10000000 (value '10000001')"},
    {"publish_rate negative", "[MX.FGR]\nrole = agency\npublish_rate = -5\n", 3,
     "publish_rate must be a whole number in 1..10000000 (value '-5')"},
    {"empty certificate", "[MX.FGR]\nrole = agency\ncertificate =\n", 3,
     "empty certificate path (value '')"},
    {"certificate is a directory", "[MX.FGR]\nrole = agency\ncertificate = .\n", 3,
     "certificate is not a regular file (value '.')"},
    {"syntax error", "[MX.FGR]\nrole = agency\npublish alerts/#\n", 3,
     "syntax error: expected '[section]' or 'name = value' (value 'publish alerts/#')"},
    {"unterminated header", "[MX.FGR\nrole = agency\n", 1,
     "syntax error: expected '[section]' or 'name = value' (value '[MX.FGR')"},
    {"error in a later section keeps its line",
     "; demo\n[MX.FGR]\nrole = agency\npublish = alerts/#\n\n[US.FBI]\n  role = agency\n"
     "  subscribe = alerts/+/US, cases/US/##\n",
     8, "invalid topic filter in 'subscribe' (value 'cases/US/##')"},
};

static void test_refusals(void **state)
{
    for (size_t i = 0; i < sizeof REFUSALS / sizeof REFUSALS[0]; i++) {
        char path[PATH_MAX], why[512], want[PATH_MAX + 512];
        policy_t *p = (policy_t *)&p; /* must come back NULL */
        write_file("refused.ini", REFUSALS[i].text, path, sizeof path);
        enlace_err_t rc = policy_load(path, &p, why, sizeof why);
        snprintf(want, sizeof want, "%s:%u: %s", path, REFUSALS[i].line, REFUSALS[i].reason);
        if (rc != ENLACE_ERR_INVALID || strcmp(why, want) != 0)
            fail_msg("%s: rc %s\n got  '%s'\n want '%s'", REFUSALS[i].what, enlace_err_str(rc), why,
                     want);
        assert_null(p);
    }
}

static void test_missing_certificate_file(void **state)
{
    char path[PATH_MAX], why[512], want[PATH_MAX * 2 + 128];
    policy_t *p = NULL;
    write_file(
        "missing-cert.ini",
        "[MX.FGR]\nrole = agency\n\n[US.FBI]\nrole = agency\ncertificate = nope/US.FBI.crt\n", path,
        sizeof path);
    assert_int_equal(policy_load(path, &p, why, sizeof why), ENLACE_ERR_INVALID);
    snprintf(want, sizeof want,
             "%s:6: cannot read certificate file %s/nope/US.FBI.crt: No such file or directory "
             "(value 'nope/US.FBI.crt')",
             path, g_dir);
    assert_string_equal(why, want);
    assert_null(p);
}

static void test_unreadable_policy(void **state)
{
    char path[PATH_MAX], why[512];
    policy_t *p = NULL;
    snprintf(path, sizeof path, "%s/no-such-policy.ini", g_dir);
    assert_int_equal(policy_load(path, &p, why, sizeof why), ENLACE_ERR_IO);
    assert_non_null(strstr(why, "no-such-policy.ini: cannot open"));
    assert_null(p);
}

/* ---- the shipped example ------------------------------------------------------------- */

static void test_example_policy_loads(void **state)
{
    const char *src = getenv("ENLACE_SOURCE_DIR");
    char path[PATH_MAX], why[512];
    policy_t *p = NULL;
    if (src == NULL)
        skip();
    snprintf(path, sizeof path, "%s/deploy/policy.ini.example", src);
    if (policy_load(path, &p, why, sizeof why) != ENLACE_OK)
        fail_msg("%s", why);
    static const char *const ids[] = {"BR.PF",  "CO.DIJIN", "EU.EDPS", "GT.PNC", "INTERPOL.NCB-MEX",
                                      "MX.FGR", "US.FBI"};
    assert_int_equal(policy_count(p), 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(policy_agency_at(p, i), ids[i]);
    assert_int_equal(policy_role(p, "EU.EDPS"), POLICY_ROLE_AUDITOR);
    assert_false(policy_may_publish(p, "EU.EDPS", "alerts/trafficking/MX"));
    assert_true(policy_may_publish(p, "MX.FGR", "alerts/trafficking/MX"));
    assert_false(policy_may_publish(p, "MX.FGR", "alerts/trafficking/US"));
    assert_true(policy_may_publish(p, "MX.FGR", "cases/CO/requests"));
    assert_true(policy_may_read(p, "CO.DIJIN", "cases/CO/requests"));
    assert_false(policy_may_read(p, "GT.PNC", "cases/CO/requests"));
    assert_true(policy_may_subscribe(p, "US.FBI", "notices/red/+"));
    assert_false(policy_may_subscribe(p, "US.FBI", "notices/#"));
    assert_true(policy_may_subscribe(p, "GT.PNC", "alerts/trafficking/#"));
    assert_false(policy_may_subscribe(p, "GT.PNC", "alerts/#"));
    assert_int_equal(policy_publish_rate(p, "GT.PNC"), 50);
    assert_int_equal(policy_max_sessions(p, "MX.FGR"), 8);
    policy_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decisions),
        cmocka_unit_test(test_agencies_roles_and_limits),
        cmocka_unit_test(test_digest_is_sha256_of_the_file),
        cmocka_unit_test(test_long_agency_id),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_missing_certificate_file),
        cmocka_unit_test(test_unreadable_policy),
        cmocka_unit_test(test_certificate_paths),
        cmocka_unit_test(test_example_policy_loads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
