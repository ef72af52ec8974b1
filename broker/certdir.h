/* certdir — the latest certificate seen for each agency.
 *
 * The Directory frame returns, for an agency whose policy entry names no certificate
 * file, the certificate it last connected with, so senders can encrypt to it while it
 * is offline. The sequencer keeps the authoritative table (rebuilt from the log's
 * SessionOpened records at start, updated as sessions open) and sends every change to
 * the io threads, which keep a copy each: the threads share no mutable state.
 */
#ifndef ENLACE_CERTDIR_H
#define ENLACE_CERTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct certdir certdir_t;

certdir_t *certdir_new(void);
void certdir_destroy(certdir_t **cd);

/* Records der as agency's latest certificate (copied). Returns true when that changed
 * the table, false when it was already the latest or out of memory. */
bool certdir_put(certdir_t *cd, const char *agency, const uint8_t *der, size_t len);

/* agency's latest certificate (valid until the next put for it), or NULL. */
const uint8_t *certdir_get(const certdir_t *cd, const char *agency, size_t *len);

/* Entries, for a full copy: agency and certificate of entry i < certdir_count(). */
size_t certdir_count(const certdir_t *cd);
const char *certdir_at(const certdir_t *cd, size_t i, const uint8_t **der, size_t *len);

#endif
