"""Fixtures for the `sam local invoke` test: the SAM CLI, its container runtime, a build, moto.

Not collected by the default pytest run (pyproject's norecursedirs excludes sam_local); run it
with scripts/sam-local-test.sh or `.venv/bin/pytest tests/sam_local -q`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMW = ROOT / ".sam-venv" / "bin" / "samw"  # sam with python3.13 on PATH (scripts/sam-venv.sh)
RUNTIME_SCRIPT = ROOT.parent / "shared" / "tools" / "sam-local" / "sam-local-runtime.sh"
RUNTIME_VARS = (
    "DOCKER_HOST",
    "SAM_CLI_TELEMETRY",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_MAX_ATTEMPTS",
)


@pytest.fixture(scope="session")
def samw() -> Path:
    if not os.access(SAMW, os.X_OK):
        pytest.fail(
            f"AWS SAM CLI not found at {SAMW.relative_to(ROOT)}: run `bash scripts/sam-venv.sh`"
        )
    return SAMW


@pytest.fixture(scope="session")
def sam_env() -> dict[str, str]:
    """Environment for sam: the local container runtime's variables (DOCKER_HOST, ...).

    Taken from the environment when scripts/sam-local-test.sh exported them; otherwise the
    runtime script is run here (idempotent: ~0.2 s once set up, ~45 s and root the first time).
    """
    env = dict(os.environ)
    if not env.get("DOCKER_HOST"):
        if not RUNTIME_SCRIPT.is_file():
            pytest.fail(f"sam-local runtime script not found at {RUNTIME_SCRIPT}")
        setup = subprocess.run(
            ["bash", str(RUNTIME_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
        )
        if setup.returncode != 0:
            pytest.fail(f"sam-local runtime setup failed:\n{setup.stdout}\n{setup.stderr}")
        for name, value in re.findall(r"^export (\w+)=(.*)$", setup.stdout, re.MULTILINE):
            env[name] = value.strip().strip("'\"")
    missing = [name for name in RUNTIME_VARS if not env.get(name)]
    if missing:
        pytest.fail(f"sam-local runtime variables missing: {missing}")
    env.pop("AWS_ENDPOINT_URL", None)  # the function gets it from --env-vars, sam needs none
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


@pytest.fixture(scope="session")
def built_template(
    samw: Path, sam_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """`sam build` of the application into a temporary directory; the built template."""
    out = tmp_path_factory.mktemp("sam-build")
    result = subprocess.run(
        [
            str(samw),
            "build",
            "--template",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(out / "build"),
            "--cache-dir",
            str(out / "cache"),
        ],
        cwd=ROOT,
        env=sam_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out / "build" / "template.yaml"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on a free loopback port; the function reaches it as the host's 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
