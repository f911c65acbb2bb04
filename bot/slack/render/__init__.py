"""Block Kit builders, separate from handling: `kit` (limits), `investigation` (a thread's
status, iterations, report, answers), `replies` (help, acknowledgements, notices)."""
