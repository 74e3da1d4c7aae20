"""The scale-out deployment files: the compose file validates, the image has every package."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_file_validates(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        message = "neither 'docker compose' nor 'docker-compose' is installed"
        if os.environ.get("RSSBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        [*command, "config", "-q"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_compose_services_and_health_checks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "proxy", "bot-1", "bot-2", "sender", "migrate"} <= set(services)
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert "pgdata" in compose["volumes"]
    for worker in ("bot-1", "bot-2"):
        assert services[worker]["command"][:2] == ["run", "--webhook"]
    assert services["sender"]["command"][:2] == ["round", "worker"]
    env_example = (ROOT / ".env.example").read_text()
    for variable in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_WEBHOOK_SECRET",
        "POSTGRES_PASSWORD",
        "WHATSAPP_TOKEN",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
    ):
        assert variable in env_example
    # both webhooks reach the workers through the proxy
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "@webhooks path /telegram /whatsapp" in caddyfile


def test_the_image_contains_every_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, package
