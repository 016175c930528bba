"""The `textcast` command: the one place that knows every process (web, worker, sandbox, demo)."""
