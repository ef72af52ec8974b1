/* records — names and summaries of audit-log records for enlace-audit's reports.
 *
 * One place that knows how each Record kind (proto/enlace.proto) is called on the
 * command line and in output ("published", "session-opened", ...), which agencies a
 * record concerns (for --agency), and how to say in one line what a record is (for
 * verify's error messages and proof comments). Records come from disk or the network:
 * they are unpacked (bounded) but not validated, so every field is treated as
 * untrusted text (callers escape when printing).
 */
#ifndef ENLACE_AUDIT_RECORDS_H
#define ENLACE_AUDIT_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "enlace.pb-c.h"

/* Stable lower-case name of a record kind ("published", "session-opened", ...);
 * "none" for a record without a kind. */
const char *rec_kind_name(Enlace__Record__KindCase kind);

/* Parse a kind name (case-insensitive; '_' may replace '-'). Returns true on success. */
bool rec_kind_parse(const char *name, Enlace__Record__KindCase *out);

/* All kind names, comma-separated (for --help and error messages). Static string. */
const char *rec_kind_names(void);

/* The record's principal agency: sender (published, decoded from the header by the
 * caller and passed as `sender`, may be NULL), recipient (delivered), agency_id
 * (session records, denied, subscription changed); NULL when none. Borrowed. */
const char *rec_agency(const Enlace__Record *r, const char *sender);

/* TLP name as written in TLP 2.0 ("TLP:AMBER+STRICT"); "unlabelled" for 0 and "?" for
 * values outside the enum. Static string. */
const char *rec_tlp_name(int tlp);

/* Names of the other header enums; "" for the NONE value, "?" outside the enum. */
const char *rec_handling_name(int v);
const char *rec_type_name(int v);
const char *rec_notice_name(int v);
const char *rec_reliability_name(int v);
const char *rec_accuracy_name(int v);
/* ErrorCode name, e.g. "NOT_AUTHORIZED". */
const char *rec_error_code_name(int v);

/* One line describing r into out: "published by MX.FGR on alerts/x, message 3f..." or
 * "delivered to US.FBI (subscription desk): seqs 4, 7". Text fields are cut and made
 * printable (non-printable bytes become '?'). */
void rec_summary(const Enlace__Record *r, char *out, size_t out_len);

#endif
