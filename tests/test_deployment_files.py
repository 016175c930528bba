"""The Dockerfile and compose.yaml agree with the code: they run commands `textcast` accepts, set
only real settings, all of them in the README's table, and the image does not run as root.

Nothing is built or started: the files are read as the code reads its own settings and commands.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from campaigns.settings import Settings
from textcast.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# The services run from Textcast's own image; postgres and redis come from theirs.
TEXTCAST = {name: service for name, service in SERVICES.items() if "build" in service}
SETTINGS = set(Settings.model_fields)
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def textcast(argv: list[str]) -> argparse.Namespace:
    """`argv` (without the leading `textcast`) parsed as the console command would parse it."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`textcast {' '.join(argv)}` is not a command build_parser() accepts")


def command_of(service: str) -> argparse.Namespace:
    command = TEXTCAST[service]["command"]
    assert isinstance(command, list) and command[0] == "textcast", f"{service}: {command!r}"
    return textcast(command[1:])


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.partition("=")[::2] for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def with_defaults(value: str) -> str | None:
    """`value` as compose interpolates it from an empty environment; None when it needs a
    variable from the host (`${NAME:?message}`)."""
    if re.search(r"\$\{\w+:?\?", value):
        return None
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def readme_settings() -> set[str]:
    """The names in the first column of the README's settings table."""
    lines = (ROOT / "README.md").read_text().splitlines()
    header = "| setting | default | meaning |"
    assert header in lines, f"README.md has no table starting {header!r}"
    names: set[str] = set()
    for line in lines[lines.index(header) + 2 :]:  # past the header and its `| --- |` row
        if not line.startswith("|"):
            break
        names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def final_stage(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile's last stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile)
    instructions = [
        (keyword.upper(), rest.strip())
        for keyword, _, rest in (
            line.strip().partition(" ") for line in text.splitlines() if line.strip()
        )
        if not keyword.startswith("#")
    ]
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def test_the_textcast_services_run_the_right_commands_in_order() -> None:
    assert set(TEXTCAST) == {"migrate", "web", "worker"}
    assert command_of("web").command == "bot"
    assert command_of("worker").command == "worker"
    migrate = command_of("migrate")
    assert (migrate.command, migrate.db_command) == ("db", "upgrade")
    # The anchor's `restart: unless-stopped` would run the migration again after each success.
    assert TEXTCAST["migrate"].get("restart", "no") == "no"
    assert TEXTCAST["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "worker"):
        assert TEXTCAST[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
    for name in ("postgres", "redis"):
        assert SERVICES[name]["healthcheck"]["test"], f"{name} needs a healthcheck to be waited on"


def test_compose_sets_only_textcast_settings_and_valid_ones() -> None:
    for name, service in TEXTCAST.items():
        env = environment(service)
        assert env, f"{name} sets no settings"
        assert set(env) <= SETTINGS, f"{name}: not settings: {sorted(set(env) - SETTINGS)}"
        # What compose fills in without the host's help must be a setting Textcast accepts
        # (an empty value means the default, as Textcast ignores empty variables).
        known = {key: value for key, raw in env.items() if (value := with_defaults(raw))}
        Settings(_env_file=None, **known)  # type: ignore[call-arg]


# Set by compose itself, over .env: where its postgres and redis are, and the address and port
# its proxy and healthcheck reach the web process on.
COMPOSE_OWN = {"DATABASE_URL", "REDIS_URL", "HOST", "PORT"}
# What every install needs, whichever way it sends (numbers or a Messaging Service) and talks to
# Slack (HTTP or Socket Mode, or not at all): the only settings compose may require.
EVERY_INSTALL = {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}


def passed_through(name: str, value: str) -> bool:
    """`value` is `${NAME}` or `${NAME:?message}`: the same variable, as .env or the shell has it."""
    return re.fullmatch(rf"\$\{{{name}(?::?\?[^}}]*)?\}}", value) is not None


def test_every_setting_in_dot_env_reaches_the_textcast_services() -> None:
    header = (ROOT / "compose.yaml").read_text().split("\n\n")[0]
    assert "Compose v2.24 or later" in header, "env_file's `required:` needs Compose v2.24"
    for name, service in TEXTCAST.items():
        # The whole file, so any setting in the README's table works without editing compose.
        assert service.get("env_file") == [{"path": ".env", "required": False}], name
        env = environment(service)
        for setting in readme_settings() | SETTINGS:
            value = env.get(setting)
            if value is None or setting in COMPOSE_OWN:
                continue
            # `environment:` wins over env_file: a value here must be .env's own.
            assert passed_through(setting, value), f"{name}: {setting}: {value!r} hides .env's"
        required = {key for key, value in env.items() if with_defaults(value) is None}
        assert required <= EVERY_INSTALL, f"{name} requires {sorted(required - EVERY_INSTALL)}"


def test_the_urls_point_at_the_compose_postgres_and_redis() -> None:
    postgres = environment(SERVICES["postgres"])
    for name, service in TEXTCAST.items():
        env = environment(service)
        database = urlsplit(with_defaults(env["DATABASE_URL"]) or "")
        assert database.scheme == "postgresql+asyncpg", name
        assert SERVICES[database.hostname or ""]["image"].startswith("postgres:"), name
        assert database.username == postgres["POSTGRES_USER"], name
        assert database.password == with_defaults(postgres["POSTGRES_PASSWORD"]), name
        assert database.path == f"/{postgres['POSTGRES_DB']}", name
        redis = urlsplit(with_defaults(env["REDIS_URL"]) or "")
        assert redis.scheme == "redis", name
        assert SERVICES[redis.hostname or ""]["image"].startswith("redis:"), name


def test_the_readme_table_lists_every_setting_and_only_settings() -> None:
    documented = readme_settings()
    in_compose = set().union(*(environment(service) for service in TEXTCAST.values()))
    assert not in_compose - documented, f"add to the README: {sorted(in_compose - documented)}"
    assert not SETTINGS - documented, f"add to the README: {sorted(SETTINGS - documented)}"
    assert not documented - SETTINGS, f"not settings: {sorted(documented - SETTINGS)}"


def test_the_image_runs_as_a_user_other_than_root_and_starts_the_bot() -> None:
    stage = final_stage(DOCKERFILE)
    users = [arguments for keyword, arguments in stage if keyword == "USER"]
    assert users, "the final stage sets no USER, so it runs as root"
    assert users[-1].partition(":")[0] not in {"root", "0"}
    [cmd] = [arguments for keyword, arguments in stage if keyword == "CMD"]
    command = json.loads(cmd)  # the exec form: textcast is PID 1 and receives SIGTERM itself
    assert command[0] == "textcast"
    assert textcast(command[1:]).command == "bot"


def test_the_web_healthcheck_asks_healthz_on_the_port_it_serves_and_publishes() -> None:
    web = SERVICES["web"]
    env = environment(web)
    port = int(with_defaults(env.get("PORT", "")) or Settings.model_fields["PORT"].default)
    test = web["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1].startswith("python") and test[2] == "-c", (
        "the slim image has Python, not curl"
    )
    compile(test[3], "healthcheck", "exec")
    assert re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)/healthz\b", test[3]) == [str(port)]
    targets = [
        str(p["target"]) if isinstance(p, dict) else str(p).rsplit(":", 1)[-1].split("/")[0]
        for p in web["ports"]
    ]
    assert targets == [str(port)]
    exposed = [args for keyword, args in final_stage(DOCKERFILE) if keyword == "EXPOSE"]
    assert exposed == [str(port)]


# -- the TLS proxy in front (deploy/Caddyfile), and its timeouts against the web process's

CADDYFILE = re.sub(r"#.*", "", (ROOT / "deploy" / "Caddyfile").read_text())


def caddy(option: str) -> str:
    """The value of the Caddyfile's one `option` line."""
    [value] = re.findall(rf"^\s*{option}\s+(\S+)\s*$", CADDYFILE, re.MULTILINE)
    return value


def seconds(duration: str) -> float:
    """A Caddy duration (`500ms`, `10s`, `10m`, `1h`) in seconds."""
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration).groups()  # type: ignore[union-attr]
    return float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def web_setting(name: str) -> float:
    """A setting's value in the web service: compose's, or else the default."""
    raw = with_defaults(environment(SERVICES["web"]).get(name, ""))
    return float(raw) if raw else float(Settings.model_fields[name].default)


def test_a_tls_proxy_is_the_only_way_in_and_passes_requests_to_the_web_process() -> None:
    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("caddy:2")
    published = {str(p).split(":")[0] for p in proxy["ports"]}
    assert published >= {"80", "443"}, (
        "Caddy needs 80 for the certificate's challenge, 443 to serve"
    )
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    # The site is PUBLIC_BASE_URL, the address Twilio signs and Slack is given, and it is required.
    assert re.search(r"^\{\$PUBLIC_BASE_URL\}\s*\{", CADDYFILE, re.MULTILINE)
    assert with_defaults(environment(proxy)["PUBLIC_BASE_URL"]) is None
    port = int(web_setting("PORT"))
    assert re.findall(r"reverse_proxy\s+(\S+)", CADDYFILE) == [f"web:{port}"]
    # The web process's own port is published to this machine only: nobody goes around the proxy.
    for mapping in SERVICES["web"]["ports"]:
        assert str(mapping).startswith("127.0.0.1:"), mapping


def test_the_proxy_gives_up_on_slow_clients_before_the_web_process_does() -> None:
    request_timeout = web_setting("REQUEST_TIMEOUT_SECONDS")
    assert 0 < seconds(caddy("read_header")) <= seconds(caddy("read_body")) <= request_timeout
    assert 0 < seconds(caddy("idle")) <= 300
    # Caddy must drop an idle upstream connection before the web process closes it, or a
    # request sent on it as it closes fails (a 502 for Slack or Twilio).
    assert seconds(caddy("keepalive")) < web_setting("KEEPALIVE_TIMEOUT_SECONDS")
    # All of Caddy's connections come from one address, which the web process caps.
    assert int(caddy("max_conns_per_host")) < web_setting("MAX_CONNECTIONS_PER_ADDRESS")


# -- the README's systemd example ("Going live", step 5)


def readme_block(language: str, containing: str) -> str:
    """The README's one ```language block that contains `containing`, unindented."""
    blocks = re.findall(rf"^( *)```{language}\n(.*?)^\1```", (ROOT / "README.md").read_text(),
                        re.MULTILINE | re.DOTALL)  # fmt: skip
    [(indent, block)] = [(indent, text) for indent, text in blocks if containing in text]
    return "\n".join(line.removeprefix(indent) for line in block.splitlines())


def test_the_systemd_example_makes_its_user_and_keeps_the_settings_to_it() -> None:
    unit = dict(
        line.split("=", 1)
        for line in readme_block("ini", "ExecStart=").splitlines()
        if "=" in line and not line.startswith("#")
    )
    setup = readme_block("sh", "useradd")
    user, folder = unit["User"], unit["WorkingDirectory"]
    assert re.search(rf"^useradd --system .*\b{user}$", setup, re.MULTILINE)
    # The settings hold the secrets: the file and its folder are the user's alone.
    assert re.search(rf"install -m 600 -o {user} -g {user} \S+ {folder}/\.env", setup)
    assert re.search(rf"install -d -m 700 -o {user} -g {user} {folder}\b", setup)
    # SQLite's file goes where the user may write, the unit's StateDirectory, not in /etc.
    [url] = re.findall(r"DATABASE_URL=(\S+)", setup)
    state = f"/var/lib/{unit['StateDirectory']}"
    assert url == f"sqlite+aiosqlite:///{state}/textcast.db"
    Settings(_env_file=None, DATABASE_URL=url)  # type: ignore[call-arg]
