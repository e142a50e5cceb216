"""The verify stage: "does the project pass its tests with these versions?".

One question, asked many times (baseline, full set, and later each isolation probe): resolve
the declared dependencies with some packages fixed at some versions, bring an environment to
that set, run the test command. Outcomes are cached by the resolved set, the tracked tree and
the command, so no set is ever tested twice in a run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName

from greenbump.envs import EnvBuilder, EnvBuildError, EnvSpec
from greenbump.indexconfig import IndexConfig
from greenbump.resolve import Resolution, resolve
from greenbump.testrun import TestOutcome, compare_to_baseline, rerun_failed, run_tests
from greenbump.textio import write_text


@dataclass(frozen=True)
class Trial:
    """One test run of one version set."""

    pins: Mapping[str, str]  # the versions asked for (name -> version)
    resolution: Resolution
    outcome: TestOutcome | None  # None when the set did not resolve or install
    new_failures: tuple[str, ...]  # tests that passed at baseline and fail here
    env_hash: str | None
    install_error: str = ""
    env_seconds: float = 0.0
    resolve_seconds: float = 0.0
    cached: bool = False

    @property
    def green(self) -> bool:
        """Resolved, installed, and no test that passed at baseline fails."""
        return self.outcome is not None and not self.new_failures and not self.install_error

    @property
    def installable(self) -> bool:
        """The set resolved and installed."""
        return self.resolution.ok and not self.install_error


@dataclass
class Verifier:
    """Runs trials in one project tree; remembers the baseline and every outcome."""

    project_dir: Path
    requirements: Sequence[str]
    constraints: Sequence[str]
    index: IndexConfig
    python: str
    command: Sequence[str]
    builder: EnvBuilder
    junit_dir: Path
    editables: Sequence[Path] = ()
    timeout: float | None = None
    tree_hash: str = ""
    on_trial: Callable[[Trial], None] | None = None
    after_tests: Callable[[], None] | None = None  # e.g. undo files a test run wrote
    store: OutcomeStore | None = None  # outcomes remembered across runs
    baseline: TestOutcome | None = None
    trials: list[Trial] = field(default_factory=list)
    _cache: dict[str, Trial] = field(default_factory=dict)

    def trial(self, pins: Mapping[str, str], *, is_baseline: bool = False) -> Trial:
        """Resolve, install and test with ``pins``; cached by the resolved set."""
        started = time.monotonic()
        resolution = resolve(
            self.requirements, self.constraints, pins, index=self.index, python=self.python_version
        )
        resolve_seconds = time.monotonic() - started
        if not resolution.ok:
            return self._record(
                Trial(pins, resolution, None, (), None, resolve_seconds=resolve_seconds)
            )
        pinned = {str(name): version for name, version in resolution.pins.items()}
        spec = EnvSpec.of(self.python, pinned, editables=self.editables)
        key = self._key(spec)
        if key not in self._cache and not is_baseline and self.store is not None:
            remembered = self.store.get(key)
            if remembered is not None and self.baseline is not None:
                new = tuple(sorted(compare_to_baseline(self.baseline, remembered)))
                self._cache[key] = Trial(pins, resolution, remembered, new, spec.hash, "")
        if key in self._cache:
            cached = self._cache[key]
            return Trial(
                pins,
                resolution,
                cached.outcome,
                cached.new_failures,
                spec.hash,
                cached.install_error,
                0.0,
                resolve_seconds,
                cached=True,
            )
        started = time.monotonic()
        try:
            self.builder.ensure(spec)
        except EnvBuildError as exc:
            trial = Trial(
                pins,
                resolution,
                None,
                (),
                spec.hash,
                str(exc),
                time.monotonic() - started,
                resolve_seconds,
            )
            self._cache[key] = trial
            return self._record(trial)
        env_seconds = time.monotonic() - started
        venv = self.builder.path_for(0)
        outcome = run_tests(self.command, self.project_dir, venv, self.timeout, self.junit_dir)
        self._after_tests()
        if not outcome.passed:
            outcome = rerun_failed(
                self.command,
                self.project_dir,
                venv,
                outcome,
                timeout=self.timeout,
                junit_dir=self.junit_dir,
            )
            self._after_tests()
        if is_baseline:
            self.baseline = outcome
        new = (
            ()
            if self.baseline is None
            else tuple(sorted(compare_to_baseline(self.baseline, outcome)))
        )
        trial = Trial(pins, resolution, outcome, new, spec.hash, "", env_seconds, resolve_seconds)
        self._cache[key] = trial
        if self.store is not None and not outcome.timed_out:
            self.store.put(key, outcome)
        return self._record(trial)

    @property
    def python_version(self) -> str:
        """The Python version uv resolves for (``3.11``), from the interpreter or request."""
        return self.python if self.python[:1].isdigit() else _version_of(self.python)

    def _after_tests(self) -> None:
        if self.after_tests is not None:
            self.after_tests()

    def _key(self, spec: EnvSpec) -> str:
        data = json.dumps([spec.hash, self.tree_hash, list(self.command)])
        return hashlib.sha256(data.encode()).hexdigest()

    def _record(self, trial: Trial) -> Trial:
        self.trials.append(trial)
        if self.on_trial is not None:
            self.on_trial(trial)
        return trial


@functools.lru_cache(maxsize=8)
def _version_of(python: str) -> str:
    """``3.11`` for an interpreter path (asked once per interpreter per process)."""
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


class OutcomeStore:
    """Test outcomes remembered across runs, one JSON file per key.

    The key covers the resolved environment, the project's tracked files and the test command,
    so a version set known to fail is not tested again until the code, the command or the
    candidate changes. Writes are atomic; an unreadable entry is simply a miss.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str) -> TestOutcome | None:
        """The outcome stored under ``key``, if any."""
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            return TestOutcome(
                passed=bool(data["passed"]),
                timed_out=bool(data["timed_out"]),
                returncode=int(data["returncode"]),
                duration=float(data["duration"]),
                command=tuple(data["command"]),
                tests=tuple((str(a), str(b)) for a, b in data["tests"]),
                failed=tuple(data["failed"]),
                excerpt=str(data["excerpt"]),
                tracebacks=tuple((str(a), str(b)) for a, b in data["tracebacks"]),
                flaky=tuple(data["flaky"]),
                per_test=bool(data["per_test"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, outcome: TestOutcome) -> None:
        """Remember ``outcome`` under ``key``."""
        document = dataclasses.asdict(outcome)
        document.pop("junit_path", None)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text(self.folder / f"{key}.json", json.dumps(document))


def pins_of(versions: Mapping[NormalizedName, object]) -> dict[str, str]:
    """``{name: str(version)}`` for the constraint file."""
    return {str(name): str(version) for name, version in versions.items()}
