"""The verify stage: "does the project pass its tests with these versions?".

One question, asked many times (baseline, full set, and later each isolation probe): resolve
the declared dependencies with some packages fixed at some versions, bring an environment to
that set, run the test command. Outcomes are cached by the resolved set, the tracked tree and
the command, so no set is ever tested twice in a run.
"""

from __future__ import annotations

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


def pins_of(versions: Mapping[NormalizedName, object]) -> dict[str, str]:
    """``{name: str(version)}`` for the constraint file."""
    return {str(name): str(version) for name, version in versions.items()}
