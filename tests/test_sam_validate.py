"""The SAM application validates, lints clean and builds into a deployable layer + function.

Runs the pinned SAM CLI from .sam-venv (scripts/sam-venv.sh creates it; scripts/test.sh runs
that first). A missing SAM CLI is a failure, never a skip: without it nothing proves the
template deploys.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMW = ROOT / ".sam-venv" / "bin" / "samw"  # sam with python3.13 on PATH (see sam-venv.sh)


def run_sam(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    if not os.access(SAMW, os.X_OK):
        pytest.fail(
            f"AWS SAM CLI not found at {SAMW.relative_to(ROOT)}: run `bash scripts/sam-venv.sh` "
            "(scripts/test.sh does) to install the pinned aws-sam-cli into .sam-venv"
        )
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # sam needs a region, never calls AWS here
    return subprocess.run(
        [str(SAMW), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_sam_validate_lint_is_clean() -> None:
    result = run_sam("validate", "--lint", "--template", "template.yaml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is a valid SAM Template" in output, output
    # sam prints each cfn-lint match (errors, warnings and informational) as "[[W3011: ...]"
    # and exits 1 on any of them; check the text too, so a change of exit code cannot hide one.
    assert "[[" not in output, output


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sam-build")
    result = run_sam(
        "build",
        "--template",
        "template.yaml",
        "--build-dir",
        str(out / "build"),
        "--cache-dir",
        str(out / "cache"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out / "build"


def test_build_puts_the_engine_and_its_dependencies_in_the_layer(build_dir: Path) -> None:
    layer = build_dir / "EngineLayer" / "python"
    assert (layer / "stack_auditor" / "__init__.py").is_file()
    source = ROOT / "layers" / "engine" / "stack_auditor"
    missing = [
        str(p.relative_to(source))
        for p in source.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and not (layer / "stack_auditor" / p.relative_to(source)).is_file()
    ]
    assert not missing, f"not in the layer: {missing}"
    for module in ("aws_lambda_powertools", "aws_xray_sdk", "samtranslator", "yaml"):
        assert (layer / module / "__init__.py").is_file(), f"{module} not installed in the layer"
    # Lambda cannot write bytecode into a layer (/opt is read-only): it must ship with it.
    for module in ("stack_auditor", "aws_lambda_powertools", "aws_xray_sdk"):
        assert (layer / module / "__pycache__" / "__init__.cpython-313.pyc").is_file(), module


def test_build_packages_the_handler(build_dir: Path) -> None:
    assert (build_dir / "AuditFunction" / "app.py").is_file()
    built = (build_dir / "template.yaml").read_text()
    assert "CodeUri: AuditFunction" in built
    assert "ContentUri: EngineLayer" in built
