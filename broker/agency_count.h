/* agency_count — per-agency state shared by the io threads: live sessions and the
 * publish rate.
 *
 * Enforces max_sessions_per_agency (and the policy's per-agency max_sessions) and the
 * publish_rate across io threads, so an agency cannot multiply its rate by opening more
 * sessions. Sessions are counted when admitted or freed; the rate costs one uncontended
 * mutex lock per accepted publish (tens of nanoseconds beside a signature check of
 * ~50 microseconds), which keeps the table simple.
 */
#ifndef ENLACE_AGENCY_COUNT_H
#define ENLACE_AGENCY_COUNT_H

#include <stdbool.h>
#include <stdint.h>

/* Counts one more session of agency if it has fewer than max (0 = no limit).
 * Returns false (and counts nothing) when the limit is reached or memory is short. */
bool agency_count_acquire(const char *agency, unsigned max);
/* Releases a session counted by agency_count_acquire. */
void agency_count_release(const char *agency);
/* Token bucket of the agency's publishes, all its sessions together: capacity `rate`
 * (one second of burst, full at first use), refilled at `rate` per second. Takes one
 * token at time now_ms (monotonic) and returns true, or returns false when the bucket
 * is empty. rate 0 = unlimited (always true). */
bool agency_rate_take(const char *agency, unsigned rate, uint64_t now_ms);

#endif
