/* verify — `enlace-audit verify`: check a whole audit-log directory offline.
 *
 * Checks, in one pass over the segments (log_scan, no index trusted):
 *   - every frame length and CRC-32C, that records decode, that seqs run 0, 1, 2, ...
 *     across segments with no gap, and segment names;
 *   - every checkpoint (each entry of `checkpoints`, and the `checkpoint` file): signed
 *     by the pinned key under the log origin, sizes never decreasing along the history,
 *     equal sizes with equal roots, and the Merkle root of the log's first `size` records
 *     equal to the signed root (which also proves consecutive checkpoints consistent);
 *   - a checkpoint larger than the log is a rollback, named with the missing seqs;
 *   - with --ca, every published record's sender signature (sigcheck.h), on all cores.
 * Exit 0 only when everything holds; otherwise 2, naming the first bad record (seq,
 * segment, byte offset) or checkpoint (history index) and why, then the others.
 */
#ifndef ENLACE_AUDIT_VERIFY_H
#define ENLACE_AUDIT_VERIFY_H

/* Run the subcommand; argv[0] is "verify". Returns the process exit status. */
int cmd_verify(int argc, char **argv);

#endif
