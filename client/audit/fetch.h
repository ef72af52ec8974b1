/* fetch — `enlace-audit fetch`: download a broker's audit log into a local directory.
 *
 * Connects to a running broker over TLS 1.3 with an auditor certificate (mutual TLS,
 * ALPN "enlace/1", broker certificate and host name verified against --ca), does the
 * Hello/Welcome exchange, then asks for the records with AuditFetch frames from seq 0
 * until it has caught up with the log size the broker reports. Records are written
 * byte for byte (they are the Merkle leaves) as segment files in the log_segment.h
 * format, and every distinct signed checkpoint received along the way is appended to
 * `checkpoints`, the last one also written to `checkpoint`. The result is a log
 * directory `enlace-audit verify` checks like the broker's own. Nothing received is
 * trusted: fetch checks framing, that seqs run in order and that records decode;
 * verify does the rest against the key the auditor pinned (the one the broker
 * announces in Welcome is only printed, for comparison).
 */
#ifndef ENLACE_AUDIT_FETCH_H
#define ENLACE_AUDIT_FETCH_H

/* Run the subcommand; argv[0] is "fetch". Returns the process exit status. */
int cmd_fetch(int argc, char **argv);

#endif
