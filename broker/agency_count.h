/* agency_count — how many live sessions each agency has, broker-wide.
 *
 * Enforces max_sessions_per_agency (and the policy's per-agency max_sessions)
 * across io threads. Touched only when a session is admitted or freed, never
 * on the message path, so a mutex is cheap here and keeps the table simple.
 */
#ifndef ENLACE_AGENCY_COUNT_H
#define ENLACE_AGENCY_COUNT_H

#include <stdbool.h>

/* Counts one more session of agency if it has fewer than max (0 = no limit).
 * Returns false (and counts nothing) when the limit is reached or memory is short. */
bool agency_count_acquire(const char *agency, unsigned max);
/* Releases a session counted by agency_count_acquire. */
void agency_count_release(const char *agency);

#endif
