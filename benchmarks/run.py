"""Measure stack-auditor against cfn-lint and checkov and write docs/benchmarks.md.

Run through ``bash benchmarks/run.sh`` (it sets up both environments). Every process is
timed from spawn to exit, and its peak memory is the ``ru_maxrss`` that ``wait4`` reports.
Tools take turns within each round, so a burst of noise on the machine hits all of them;
each number is the median of the rounds, and ratios are taken between medians of one run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # a sibling script, not a package

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
PEERS = BENCH / ".venv-peers" / "bin"
OURS = ROOT / ".venv" / "bin"
CORPUS = ROOT.parent / "shared" / "corpus" / "templates"
SIZES = (10, 100, 500)
SAMPLE_SIZE = 8


@dataclass
class Measured:
    """Wall seconds and peak KiB of each round of one command."""

    seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> int:
        return max(self.peak_kib)


def run_once(command: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB) of one process; its output is discarded."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode < 0 or process.returncode > 120:
        raise RuntimeError(f"{command[0]} crashed ({process.returncode}): {' '.join(command)}")
    return elapsed, usage.ru_maxrss


def clean_env() -> dict[str, str]:
    """Bytecode is written and used, as in a real install."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def tool_commands(files: Sequence[Path], *, many: bool = False) -> dict[str, list[str]]:
    paths = [str(f) for f in files]
    ours = (
        [str(OURS / "python"), str(BENCH / "inprocess.py"), "scan-many", *paths]
        if many
        else [str(OURS / "stack-auditor"), "scan", "--format", "json", *paths]
    )
    commands = {
        "stack-auditor": ours,
        "cfn-lint": [str(PEERS / "cfn-lint"), "--format", "json", *paths],
        "checkov": [
            str(PEERS / "checkov"),
            "--skip-download",  # no network: it would otherwise try for its guidelines
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--file",
            *paths,
        ],
    }
    if not many:
        commands["stack-auditor --cfn-lint"] = [*ours, "--cfn-lint"]
    return commands


def measure_cases(
    cases: dict[str, dict[str, list[list[str]]]],
    rounds: int,
    env: dict[str, str],
    *,
    warm_up: bool = True,
) -> dict[str, dict[str, Measured]]:
    """cases: case -> tool -> commands (several: one per file, summed). Round 0 is an
    unmeasured warm-up (bytecode written, files in the page cache) unless ``warm_up`` is off."""
    results = {case: {tool: Measured() for tool in tools} for case, tools in cases.items()}
    for round_number in range(0 if warm_up else 1, rounds + 1):
        for case, tools in cases.items():
            for tool, commands in tools.items():
                measured = [run_once(c, env) for c in commands]
                if round_number == 0:
                    continue
                results[case][tool].seconds.append(sum(s for s, _ in measured))
                results[case][tool].peak_kib.append(max(k for _, k in measured))
        print(f"  round {round_number}/{rounds} done", file=sys.stderr, flush=True)
    return results


def corpus_files() -> list[Path]:
    rows = (CORPUS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [CORPUS / row.split("\t", 1)[0] for row in rows if row.strip()]


def corpus_sample(files: Sequence[Path]) -> list[Path]:
    """SAMPLE_SIZE templates spread over the corpus's resource counts (smallest to largest)."""
    rows = (CORPUS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    counts = sorted((int(r.split("\t")[4]), r.split("\t", 1)[0]) for r in rows if r.strip())
    step = (len(counts) - 1) / (SAMPLE_SIZE - 1)
    return [CORPUS / counts[round(i * step)][1] for i in range(SAMPLE_SIZE)]


def resource_count(path: Path) -> int:
    from stack_auditor.template.loader import load_template_file

    resources = load_template_file(path).data.get("Resources")
    return len(resources) if isinstance(resources, dict) else 0


# ---------------------------------------------------------------------------- handler import

IMPORT_PROBE = (
    "import sys, time\n"
    "sys.path[:0] = sys.argv[1:]\n"
    "start = time.perf_counter()\n"
    "import app\n"
    "print(time.perf_counter() - start)\n"
)


def lambda_env(task_root: Path) -> dict[str, str]:
    """What the Lambda runtime sets that Powertools reads (tracing on, as deployed)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": "stack-auditor-audit",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "stack-auditor",
        "FINDINGS_TABLE": "findings",
        "PYTHONDONTWRITEBYTECODE": "1",  # /opt and /var/task are read-only in Lambda
    }


def build_layer(work: Path) -> tuple[Path, Path]:
    """The engine layer as layers/engine/Makefile builds it (with .pyc), and a copy without
    bytecode: what BuildMethod python3.13 shipped. Dependencies are cached across runs."""
    cache = BENCH / ".layer-cache"
    inputs = b"".join(
        (ROOT / "layers/engine" / name).read_bytes() for name in ("requirements.txt", "Makefile")
    )
    stamp = cache / f"stamp-{hashlib.sha1(inputs).hexdigest()[:12]}"
    built = cache / "python"
    if not stamp.is_file():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        subprocess.run(
            [
                "make",
                "-s",
                "build-EngineLayer",
                f"ARTIFACTS_DIR={cache}",
                f"PYTHON={sys.executable}",
            ],
            cwd=ROOT / "layers/engine",
            check=True,
        )
        stamp.touch()
    else:  # refresh our own package, the part that changes between runs
        shutil.rmtree(built / "stack_auditor")
        shutil.copytree(
            ROOT / "layers/engine/stack_auditor",
            built / "stack_auditor",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "compileall",
                "-q",
                "--invalidation-mode",
                "checked-hash",
                str(built / "stack_auditor"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    bare = work / "layer-no-pyc"
    shutil.copytree(built, bare, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return built, bare


def measure_handler_import(rounds: int, work: Path) -> dict[str, tuple[float, float, int]]:
    """Variant -> (median import s, median process s, peak KiB)."""
    task = work / "task"
    task.mkdir()
    shutil.copy(ROOT / "functions/audit/app.py", task / "app.py")
    built, bare = build_layer(work)
    python = sys.executable
    probe = [python, "-S", "-c", IMPORT_PROBE, str(task)]  # -S: stdlib and the layer only
    variants = {
        "Lambda layer with .pyc (layers/engine/Makefile)": (
            [*probe, str(built)],
            lambda_env(task),
        ),
        "Lambda layer without .pyc (BuildMethod python3.13)": (
            [*probe, str(bare)],
            lambda_env(task),
        ),
        "dev install (.venv, bytecode cached)": (
            [python, "-c", IMPORT_PROBE, str(ROOT / "functions/audit")],
            {**lambda_env(task), "PYTHONDONTWRITEBYTECODE": ""},
        ),
    }
    results: dict[str, tuple[float, float, int]] = {}
    for name, (command, env) in variants.items():
        env = {k: v for k, v in env.items() if v}
        imports, walls, peaks = [], [], []
        for round_number in range(rounds + 1):
            start = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
            assert process.stdout is not None
            output = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"handler import failed: {name}")
            if round_number:
                walls.append(time.perf_counter() - start)
                imports.append(float(output.strip()))
                peaks.append(usage.ru_maxrss)
        results[name] = (statistics.median(imports), statistics.median(walls), max(peaks))
    return results


# ---------------------------------------------------------------------------- warm evaluation


def measure_warm(files: dict[str, list[Path]]) -> dict[str, dict[str, float]]:
    results = {}
    for case, paths in files.items():
        completed = subprocess.run(
            [str(OURS / "python"), str(BENCH / "inprocess.py"), "warm", *map(str, paths)],
            capture_output=True,
            text=True,
            check=True,
            env=clean_env(),
        )
        results[case] = json.loads(completed.stdout)
    return results


# ---------------------------------------------------------------------------- report


def versions() -> dict[str, str]:
    def out(command: list[str]) -> str:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        return (done.stdout or done.stderr).strip().splitlines()[-1]

    return {
        "stack-auditor": out([str(OURS / "stack-auditor"), "--version"]),
        "cfn-lint": out([str(PEERS / "cfn-lint"), "--version"]),
        "checkov": out([str(PEERS / "checkov"), "--version"]),
        "python (ours)": out([str(OURS / "python"), "--version"]),
        "python (peers)": out([str(PEERS / "python"), "--version"]),
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu})"


def ratio(peer: Measured, ours: Measured) -> str:
    return f"{peer.median / ours.median:.1f}x"


def scan_table(
    results: dict[str, dict[str, Measured]], labels: dict[str, str], rounds: dict[str, int]
) -> list[str]:
    lines = [
        "| templates | runs | stack-auditor | with --cfn-lint | cfn-lint | checkov "
        "| cfn-lint / ours | checkov / ours | peak MiB ours / cfn-lint / checkov |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case, tools in results.items():
        ours = tools["stack-auditor"]
        with_lint = tools.get("stack-auditor --cfn-lint")
        mib = " / ".join(
            f"{tools[t].peak / 1024:.0f}" for t in ("stack-auditor", "cfn-lint", "checkov")
        )
        lines.append(
            f"| {labels[case]} | {rounds[case]} | {ours.median:.2f} s "
            f"| {f'{with_lint.median:.2f} s' if with_lint else 'n/a'} "
            f"| {tools['cfn-lint'].median:.2f} s | {tools['checkov'].median:.2f} s "
            f"| {ratio(tools['cfn-lint'], ours)} | {ratio(tools['checkov'], ours)} | {mib} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument(
        "--corpus-runs",
        type=int,
        default=5,
        help="rounds of the whole-corpus invocations (each takes minutes for the peers)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    env = clean_env()
    with tempfile.TemporaryDirectory(prefix="stack-auditor-bench-") as tmp:
        work = Path(tmp)
        generated = {f"cfn-{n}": generate.write(work, n) for n in SIZES}
        generated["sam-100"] = generate.write(work, 100, sam=True)
        everything = corpus_files()
        sample = corpus_sample(everything)
        sample_resources = sum(resource_count(p) for p in sample)

        labels = {f"cfn-{n}": f"generated, {n} resources" for n in SIZES}
        labels["sam-100"] = "generated SAM, 100 resources as written"
        labels["sample"] = (
            f"corpus sample: {len(sample)} templates ({sample_resources} resources), "
            "one process per file, summed"
        )
        labels["corpus"] = (
            f"whole corpus: {len(everything)} templates, one process for all "
            "(ours: benchmarks/inprocess.py scan-many)"
        )
        cases: dict[str, dict[str, list[list[str]]]] = {
            case: {tool: [cmd] for tool, cmd in tool_commands([path]).items()}
            for case, path in generated.items()
        }
        sample_tools: dict[str, list[list[str]]] = {}
        for path in sample:
            for tool, cmd in tool_commands([path]).items():
                if tool != "stack-auditor --cfn-lint":
                    sample_tools.setdefault(tool, []).append(cmd)
        cases["sample"] = sample_tools
        print(f"scans: {args.runs} rounds", file=sys.stderr)
        scans = measure_cases(cases, args.runs, env)
        if args.corpus_runs:  # 0 skips the row (a quick check of the benchmark itself)
            print(f"whole corpus: {args.corpus_runs} rounds", file=sys.stderr)
            corpus_cases = {
                "corpus": {t: [c] for t, c in tool_commands(everything, many=True).items()}
            }
            # No warm-up round here: the sample rounds already ran every tool, and one round
            # of the peers over the corpus takes minutes.
            scans.update(measure_cases(corpus_cases, args.corpus_runs, env, warm_up=False))
        rounds = {case: args.runs for case in cases} | {"corpus": args.corpus_runs}

        print("warm evaluation", file=sys.stderr)
        warm = measure_warm(
            {labels[c]: [p] for c, p in generated.items()}
            | {f"whole corpus ({len(everything)} templates)": everything}
        )
        print("handler import", file=sys.stderr)
        handler = measure_handler_import(args.runs, work)

    lines = [
        "# Benchmarks",
        "",
        "Generated by `bash benchmarks/run.sh` (benchmarks/run.py); do not edit by hand.",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; benchmark took "
        f"{(time.perf_counter() - began) / 60:.1f} min",
        f"- machine: {machine()}",
        *(f"- {name}: {version}" for name, version in versions().items()),
        "",
        "## Whole-process scan",
        "",
        "Wall time from spawn to exit, median of the rounds; the tools take turns within each "
        "round. Ratios are peer median / stack-auditor median of this run. Peak memory is the "
        "largest `ru_maxrss` of the process. Commands: `stack-auditor scan --format json FILE` "
        "(our rules; the second column adds `--cfn-lint`), `cfn-lint --format json FILE...`, "
        "`checkov --skip-download --framework cloudformation --output json --file FILE...`; "
        "output to /dev/null, bytecode cached, one unmeasured warm-up round (none for the "
        "whole corpus, which runs after the sample). Generated "
        "templates come from benchmarks/generate.py (a queue-driven function per 12 resources: "
        "key, table, queues, topic, bucket, role, policy, function, log group, alarm, event "
        "source mapping). The corpus is ../shared/corpus/templates.",
        "",
        *scan_table(scans, labels, rounds),
        "",
        "## Warm rule evaluation (one process)",
        "",
        "`evaluate()` of the whole catalog over snapshots built beforehand (after one warm-up "
        "pass, on fresh snapshots so per-snapshot indexes are built again); median of 5 "
        "passes. Resources are counted after the SAM transform. Target: at most 0.2 ms.",
        "",
        "| templates | resources | ms per resource |",
        "|---|---|---|",
        *(
            f"| {case} | {r['resources']} | {r['ms_per_resource']:.3f} |"
            for case, r in warm.items()
        ),
        "",
        "## Lambda handler cold import",
        "",
        "`import app` (functions/audit/app.py) in a fresh process with the environment the "
        "Lambda runtime sets (tracing on: Powertools Tracer imports the X-Ray SDK and patches "
        "botocore), bytecode never written (read-only /opt). The layer variants run with "
        "`python -S` and only the layer on the path, as in Lambda. Target: under 0.5 s.",
        "",
        "| variant | import | whole process | peak MiB |",
        "|---|---|---|---|",
        *(
            f"| {name} | {imp:.3f} s | {wall:.3f} s | {peak / 1024:.0f} |"
            for name, (imp, wall, peak) in handler.items()
        ),
        "",
    ]
    text = "\n".join(lines)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
