/* prove — `enlace-audit prove` and `enlace-audit consistency`: proofs from a local log.
 *
 * Both read the whole log directory (log_scan) into a full Merkle tree (merkle_new,
 * ~43 bytes per record), check that the checkpoint(s) involved are signed by the pinned
 * key and that the log's root at their size is the signed one (a damaged or rewritten
 * log gives no proof), and print the proof in the format of proof.h:
 *   prove        inclusion of one record (by message id or seq) in the tree of the
 *                latest checkpoint, or of a checkpoint file given with --checkpoint;
 *   consistency  between two checkpoints (files, history entries "#N", or "latest").
 */
#ifndef ENLACE_AUDIT_PROVE_H
#define ENLACE_AUDIT_PROVE_H

/* Run the subcommand; argv[0] is its name. Return the process exit status. */
int cmd_prove(int argc, char **argv);
int cmd_consistency(int argc, char **argv);

#endif
