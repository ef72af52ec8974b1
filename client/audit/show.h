/* show — `enlace-audit show` and `enlace-audit replay`: records in order, filtered.
 *
 * Reads the log directory with log_scan (no index, no lock: works on a live or a
 * damaged log, reporting damage on stderr) and prints the records that pass every
 * filter given (--agency, --topic, --kind, --message, seq and time ranges) as a table,
 * replay blocks or JSON lines (render.h). Filters look across records: a delivered
 * record matches --topic/--message through the published records it acknowledges.
 */
#ifndef ENLACE_AUDIT_SHOW_H
#define ENLACE_AUDIT_SHOW_H

/* Run `show` (table) / `replay` (full detail); argv[0] is the subcommand name.
 * Return the process exit status. */
int cmd_show(int argc, char **argv);
int cmd_replay(int argc, char **argv);

#endif
