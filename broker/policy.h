/* policy — who may publish and subscribe to what (DESIGN.md section 6).
 *
 * The policy is one INI file with a section per agency id:
 *
 *     [MX.FGR]
 *     role = agency                 ; agency | auditor
 *     publish = alerts/#, cases/MX/#
 *     subscribe = alerts/#, cases/+/requests
 *     certificate = agencies/MX.FGR.crt   ; optional, relative to the policy file
 *     max_sessions = 4              ; optional, 1..1000000
 *     publish_rate = 500            ; optional, publishes per second, 1..10000000
 *
 * `role` is required. publish/subscribe lines may repeat and accumulate; each holds
 * comma-separated topic filters (topic.h). An auditor may not publish. Anything not
 * granted is denied: an unknown agency, a topic no filter matches, a subscription wider
 * than every subscribe filter. policy_load() refuses a bad file with
 * "FILE:LINE: reason (value 'X')" — unknown keys, duplicate sections or keys, bad agency
 * ids, roles or filters, a missing certificate file, an empty policy.
 *
 * A policy_t never changes after policy_load(), so any number of threads may query it
 * without locks. A reload loads a new one and swaps the pointer; the old one is
 * destroyed once no thread uses it.
 */
#ifndef ENLACE_BROKER_POLICY_H
#define ENLACE_BROKER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

typedef enum { POLICY_ROLE_AGENCY = 1, POLICY_ROLE_AUDITOR = 2 } policy_role_t;

/* Most agencies in one policy and most filters per agency per list. */
#define POLICY_MAX_AGENCIES 4096
#define POLICY_MAX_FILTERS 256

typedef struct policy policy_t;

/* Load and check the policy file at `path`. On ENLACE_OK *out is a new policy (the
 * caller's: policy_destroy). Returns ENLACE_ERR_INVALID with `why` =
 * "FILE:LINE: reason (value 'X')" for any refusal; ENLACE_ERR_IO or ENLACE_ERR_TOO_LARGE
 * when the file cannot be read; ENLACE_ERR_NOMEM; ENLACE_ERR_CRYPTO (digest). *out is
 * NULL on failure. */
enlace_err_t policy_load(const char *path, policy_t **out, char *why, size_t why_len);

/* Free *p and set it to NULL. Safe on NULL and twice. */
void policy_destroy(policy_t **p);

/* True when the policy has a section for `agency_id`. */
bool policy_has_agency(const policy_t *p, const char *agency_id);

/* Role of `agency_id`, or 0 when the policy does not know it. */
policy_role_t policy_role(const policy_t *p, const char *agency_id);

/* True when `agency_id` is an agency (not an auditor), `topic` is a valid topic name and
 * one of its publish filters matches it. */
bool policy_may_publish(const policy_t *p, const char *agency_id, const char *topic);

/* True when `filter` is a valid topic filter covered by one of the agency's subscribe
 * filters (topic_filter_covers): a subscription never reaches wider than the policy. */
bool policy_may_subscribe(const policy_t *p, const char *agency_id, const char *filter);

/* True when the valid topic name `topic` is matched by one of the agency's subscribe
 * filters: may this agency receive a message on that topic? */
bool policy_may_read(const policy_t *p, const char *agency_id, const char *topic);

/* Number of agencies (auditors included). */
size_t policy_count(const policy_t *p);

/* Id of the i-th agency in byte order of ids (i < policy_count); borrowed from p. */
const char *policy_agency_at(const policy_t *p, size_t i);

/* Absolute path of the agency's certificate (for the Directory frame), borrowed from p;
 * NULL when the policy names none or does not know the agency. */
const char *policy_certificate_path(const policy_t *p, const char *agency_id);

/* Session limit of the agency; 0 = not set (the broker's default applies). */
unsigned policy_max_sessions(const policy_t *p, const char *agency_id);

/* Publish rate limit of the agency in publishes per second (token bucket of that size);
 * 0 = not set: the broker's [limits] publish_rate applies (whose 0 is unlimited). */
unsigned policy_publish_rate(const policy_t *p, const char *agency_id);

/* SHA-256 of the policy file's bytes (32 bytes, borrowed; NULL for a NULL p): names the
 * policy in audit records and tells whether a reload changed anything. */
const uint8_t *policy_digest(const policy_t *p);

#endif
