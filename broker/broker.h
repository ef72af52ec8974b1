/* broker — the broker's life cycle: start, accept, reload, stop.
 *
 * broker_run() builds everything from a loaded configuration (trust and
 * policy snapshot, the sequencer with its log, N io threads), listens, and
 * runs the accept loop in the calling thread until SIGTERM/SIGINT. SIGHUP
 * reloads policy, CA bundle and CRL (DESIGN.md section 3): a new snapshot is
 * built and handed to every io thread, which re-checks its live sessions; an
 * invalid new file is refused, logged and audited, and the old one stays.
 */
#ifndef ENLACE_BROKER_H
#define ENLACE_BROKER_H

#include "config.h"
#include "enlace_err.h"

/* Runs the broker. ready_file (may be NULL): written with the listening port
 * once the broker accepts connections (useful with port = 0).
 * Returns ENLACE_OK after a clean shutdown, else the start-up error (printed). */
enlace_err_t broker_run(const broker_config_t *cfg, const char *ready_file);

#endif
