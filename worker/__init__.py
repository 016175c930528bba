"""The arq worker: scheduling, paced sending and reporting (later issues)."""
