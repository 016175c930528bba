"""Names that look like Textcast settings but are not one, found before the settings are read.

A mistyped setting is otherwise ignored without a word (`MONTHLY_BUDGT=50`: no cap at all), so
start-up stops with one line saying which setting was meant. What counts as ours:

- In `.env`, every name: the file is Textcast's. Compose reads the same file, so its own
  `POSTGRES_PASSWORD` and `COMPOSE_*` variables are allowed there (and in the environment, where
  compose's `env_file` puts them).
- In the environment, only a name very close to a setting's (difflib, CLOSE_IN_ENVIRONMENT), for
  it also holds the shell's, the system's, CI's and other programs' variables (PATH, HOSTNAME,
  CI, PYTEST_*, POSTGRES_URL, REDIS_HOST, SLACK_WEBHOOK_URL, a Kubernetes service's
  TEXTCAST_PORT...), none of which may stop Textcast. Upper and lower case count alike.

Only names are ever printed, never a value.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values

from campaigns.errors import TextcastError

# Compose's, documented in compose.yaml and the README: allowed beside the settings.
COMPOSE_NAMES = frozenset({"POSTGRES_PASSWORD"})
COMPOSE_PREFIX = "COMPOSE_"
# A one-letter slip in all but the shortest names scores above this (MONTHLY_BUDGT 0.96, SEND_HOUR
# 0.95, TWILIO_AUTHTOKEN 0.97); the closest unrelated names found in shells, CI, containers and
# systemd stay under it (PGHOST/HOST 0.80, SIGNING_SECRET 0.82), except DATABASE_URI and
# REDIS_URI, which are more likely a slip than another program's.
CLOSE_IN_ENVIRONMENT = 0.85
# In .env, where every name is ours, a looser match still makes a useful suggestion.
CLOSE_IN_FILE = 0.6


class UnknownSettingError(TextcastError):
    """A name in .env or the environment that is not a setting; the message says which is meant."""


def check_setting_names(
    settings: Iterable[str], environ: Mapping[str, str], env_file: Path | None
) -> None:
    """Raise UnknownSettingError naming the first name in `env_file` that is not a setting, or
    else the first in `environ` that looks like a mistyped one."""
    known = frozenset(settings)
    for name in names_in(env_file):
        if not _allowed(name, known):
            raise UnknownSettingError(_in_file(name, env_file, known), field=name)
    for name in sorted(environ):
        if _allowed(name, known):
            continue
        meant = closest(name, known, CLOSE_IN_ENVIRONMENT)
        if meant is not None:
            raise UnknownSettingError(
                f"{name} is not a setting: did you mean {meant}? (it is in the environment)",
                field=name,
            )


def names_in(env_file: Path | None) -> list[str]:
    """The names `env_file` sets, read as pydantic-settings reads it; none if there is no file."""
    if env_file is None or not env_file.is_file():
        return []
    return list(dotenv_values(env_file, encoding="utf-8"))


def closest(name: str, known: Iterable[str], cutoff: float) -> str | None:
    matches = difflib.get_close_matches(name.upper(), list(known), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def default_env_file(configured: object) -> Path | None:
    """The one `.env` file pydantic-settings would read (`_env_file` or the model's)."""
    if configured is None:
        return None
    if isinstance(configured, (str, os.PathLike)):
        return Path(configured)
    raise TypeError(f"one .env file expected, not {configured!r}")


def _allowed(name: str, known: frozenset[str]) -> bool:
    return name in known or name in COMPOSE_NAMES or name.startswith(COMPOSE_PREFIX)


def _in_file(name: str, env_file: Path | None, known: frozenset[str]) -> str:
    meant = closest(name, known, CLOSE_IN_FILE)
    hint = (
        f"did you mean {meant}?"
        if meant
        else "the README's Configuration table lists every setting"
    )
    return f"{name} in {env_file} is not a setting: {hint}"
