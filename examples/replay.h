/*
 * replay -- `stek replay TRACE --dir DIR` (CLI.md): replay a workload trace
 * (../shared/workloads/gen_trace.py) over one store per replica, DIR/A,
 * DIR/B, ..., syncing over loopback TCP as the trace says, and print one
 * JSON summary on stdout.
 *
 * The whole trace is read and checked before any store is touched, so a
 * malformed trace changes nothing.  Must never: copy a store file (each
 * replica keeps its own device identity), or talk to anything but
 * 127.0.0.1.
 */
#ifndef STEK_EXAMPLES_REPLAY_H
#define STEK_EXAMPLES_REPLAY_H

/* Replay the trace at trace_path into dir.  Returns the process exit code:
 * 0 converged, 1 not converged or a failure, 4 a malformed trace (the
 * message names its line); failures are one "stek: " line on stderr. */
int replay_trace(const char *trace_path, const char *dir);

#endif
