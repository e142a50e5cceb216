"""The verify stage: "does the project pass its tests with these versions?".

One question, asked many times (baseline, full set, and later each isolation probe): resolve
the declared dependencies with some packages fixed at some versions, bring an environment to
that set, run the test command. Outcomes are cached by the resolved set, the tracked tree and
the command, so no set is ever tested twice in a run.

With ``jobs > 1`` trials come from several threads at once (the baseline beside the full set,
isolation's k-ary probes). Each borrows a :class:`Slot`: its own environment, tree and report
folder, since tests write files and import the project from their working directory. A set
already under test is claimed, so a second caller waits for its outcome instead of running it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from greenbump.envs import EnvBuilder, EnvBuildError, EnvSpec, installed_files
from greenbump.indexconfig import IndexConfig
from greenbump.names import NormalizedName
from greenbump.proc import kill_running
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
    slot: int | None = None  # the job slot whose environment and tree ran it (None: no run)
    venv: Path | None = None  # that slot's environment
    # The environment's files by owner, read right after a failing run while the slot was
    # still this trial's: with parallel jobs another trial may re-sync it a moment later.
    installed: Mapping[Path, NormalizedName] | None = field(default=None, compare=False, repr=False)

    @property
    def green(self) -> bool:
        """Resolved, installed, and no test that passed at baseline fails."""
        return self.outcome is not None and not self.new_failures and not self.install_error

    @property
    def installable(self) -> bool:
        """The set resolved and installed."""
        return self.resolution.ok and not self.install_error


@dataclass(frozen=True)
class Slot:
    """Where one trial runs: an environment slot and a tree of its own.

    Tests write files (caches, reports, fixtures) and import the project from its tree, so two
    runs at once need two trees, two environments and two JUnit folders. ``editables`` are the
    slot's own editable projects (its tree, not slot 0's); ``after_tests`` restores the tree.
    """

    number: int
    project_dir: Path
    junit_dir: Path
    editables: tuple[Path, ...] = ()
    after_tests: Callable[[], None] | None = None


# Makes slot N >= 1 the first time N trials run at once (a further scratch tree).
SlotFactory = Callable[[int], Slot]


class TrialCancelled(Exception):
    """The verifier was cancelled (the run is ending): this trial's result would be garbage."""


@dataclass
class Verifier:
    """Runs trials in one project tree; remembers the baseline and every outcome.

    :meth:`trial` may be called from up to ``jobs`` threads at once. Each call borrows a free
    slot (slot 0 is ``project_dir``; further ones come from ``make_slot``, made only when a
    trial finds every slot busy), so parallel runs never share an environment or a working
    directory. A set that is already being tested is not tested twice: the second caller waits
    for the first one's outcome. With ``jobs == 1`` everything runs in the calling thread, in
    slot 0, exactly as a single-threaded verifier would.
    """

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
    tree_hash: str = ""  # the same for every slot: they hold the same content
    on_trial: Callable[[Trial], None] | None = None
    after_tests: Callable[[], None] | None = None  # e.g. undo files a test run wrote
    store: OutcomeStore | None = None  # outcomes remembered across runs
    baseline: TestOutcome | None = None
    trials: list[Trial] = field(default_factory=list)
    jobs: int = 1
    make_slot: SlotFactory | None = None
    _cache: dict[str, Trial] = field(default_factory=dict)
    # Guards everything below, ``_cache``, ``baseline`` and ``trials``; waited on for slots,
    # for a set another thread is testing and for the baseline.
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _store_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _slots: dict[int, Slot] = field(default_factory=dict, repr=False)
    _free: list[int] = field(default_factory=list, repr=False)
    _making: set[int] = field(default_factory=set, repr=False)
    _env_in: dict[int, str] = field(default_factory=dict, repr=False)  # slot -> spec hash
    _testing: set[str] = field(default_factory=set, repr=False)  # keys being tested now
    _baseline_pending: bool = False
    _cancelled: bool = False

    def expect_baseline(self) -> None:
        """Announce a baseline trial about to start in another thread.

        Trials that finish first wait for it before comparing: "new failures" only mean
        something against the baseline.
        """
        with self._lock:
            self._baseline_pending = True

    def trial(self, pins: Mapping[str, str], *, is_baseline: bool = False) -> Trial:
        """Resolve, install and test with ``pins``; cached by the resolved set."""
        if not is_baseline:
            return self._trial(pins, is_baseline=False)
        self.expect_baseline()
        try:
            return self._trial(pins, is_baseline=True)
        finally:
            with self._lock:
                self._baseline_pending = False
                self._lock.notify_all()

    def _trial(self, pins: Mapping[str, str], *, is_baseline: bool) -> Trial:
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
        # The key names slot 0's spec, whichever slot runs it: a set's outcome is the same in
        # every slot, since all slots hold the same tree.
        spec = EnvSpec.of(self.python, pinned, editables=self.editables)
        key = self._key(spec)
        cached = self._claim(key, spec.hash, pins, resolution, remember=not is_baseline)
        if cached is not None:
            if is_baseline and cached.outcome is not None:
                with self._lock:
                    self.baseline = cached.outcome
            return Trial(
                pins,
                resolution,
                cached.outcome,
                self._new_failures(cached.outcome, is_baseline),
                spec.hash,
                cached.install_error,
                0.0,
                resolve_seconds,
                cached=True,
            )
        try:
            trial = self._run(
                pins,
                resolution,
                pinned,
                spec.hash,
                resolve_seconds=resolve_seconds,
                is_baseline=is_baseline,
            )
        except BaseException:
            with self._lock:
                self._testing.discard(key)
                self._lock.notify_all()
            raise
        with self._lock:
            self._cache[key] = trial
            self._testing.discard(key)
            self._lock.notify_all()
        if trial.outcome is not None and self.store is not None and not trial.outcome.timed_out:
            with self._store_lock:
                self.store.put(key, trial.outcome)
        # Compared only now, with the key released: a baseline waiting for this very set must
        # be able to take it from the cache, or the two would wait for each other.
        new = self._new_failures(trial.outcome, is_baseline)
        return self._record(dataclasses.replace(trial, new_failures=new))

    def _claim(
        self,
        key: str,
        env_hash: str,
        pins: Mapping[str, str],
        resolution: Resolution,
        *,
        remember: bool,
    ) -> Trial | None:
        """The known trial for ``key``, or ``None`` once this caller owns testing it.

        Waits while another thread tests the same key. ``remember`` allows the cross-run
        store (never for the baseline, which must be a real run of the current code).
        """
        with self._lock:
            while True:
                if key in self._cache:
                    return self._cache[key]
                if key not in self._testing:
                    if remember and self.store is not None:
                        with self._store_lock:
                            remembered = self.store.get(key)
                        if remembered is not None:
                            trial = Trial(pins, resolution, remembered, (), env_hash, "")
                            self._cache[key] = trial
                            return trial
                    self._testing.add(key)
                    return None
                self._lock.wait()

    def _run(
        self,
        pins: Mapping[str, str],
        resolution: Resolution,
        pinned: Mapping[str, str],
        env_hash: str,
        *,
        resolve_seconds: float,
        is_baseline: bool,
    ) -> Trial:
        """Build the environment and run the tests in a borrowed slot."""
        slot = self._borrow(env_hash)
        venv = self.builder.path_for(slot.number)
        try:
            started = time.monotonic()
            try:
                # The slot's own editables: its tree, not slot 0's.
                self.builder.ensure(
                    EnvSpec.of(self.python, pinned, editables=slot.editables), slot.number
                )
            except EnvBuildError as exc:
                self._check_cancelled()
                with self._lock:
                    self._env_in.pop(slot.number, None)
                return Trial(
                    pins,
                    resolution,
                    None,
                    (),
                    env_hash,
                    str(exc),
                    time.monotonic() - started,
                    resolve_seconds,
                    slot=slot.number,
                    venv=venv,
                )
            env_seconds = time.monotonic() - started
            with self._lock:
                self._env_in[slot.number] = env_hash
            self._check_cancelled()
            outcome = run_tests(self.command, slot.project_dir, venv, self.timeout, slot.junit_dir)
            self._after_tests(slot)
            if not outcome.passed:
                self._check_cancelled()
                outcome = rerun_failed(
                    self.command,
                    slot.project_dir,
                    venv,
                    outcome,
                    timeout=self.timeout,
                    junit_dir=slot.junit_dir,
                )
                self._after_tests(slot)
            self._check_cancelled()
            installed = None if outcome.passed else installed_files(venv)
        except BaseException:
            with self._lock:
                self._env_in.pop(slot.number, None)  # whatever it holds now, do not trust it
            raise
        finally:
            self._give_back(slot)
        if is_baseline:
            with self._lock:
                self.baseline = outcome
        return Trial(
            pins,
            resolution,
            outcome,
            (),  # compared to the baseline by the caller
            env_hash,
            "",
            env_seconds,
            resolve_seconds,
            slot=slot.number,
            venv=venv,
            installed=installed,
        )

    def _new_failures(self, outcome: TestOutcome | None, is_baseline: bool) -> tuple[str, ...]:
        """Tests that passed at baseline and fail in ``outcome`` (waits for a running baseline)."""
        if outcome is None:
            return ()
        with self._lock:
            while self._baseline_pending and not is_baseline:
                self._lock.wait()
            baseline = self.baseline
        return () if baseline is None else tuple(sorted(compare_to_baseline(baseline, outcome)))

    # -- slots ----------------------------------------------------------------------------

    def _borrow(self, env_hash: str) -> Slot:
        """A free slot, preferring one whose environment already is ``env_hash``.

        When all are busy and fewer than ``jobs`` exist, a new one is made (outside the lock:
        making a tree takes a while); otherwise this waits for one to come back.
        """
        with self._lock:
            while True:
                self._check_cancelled()
                if self._free:
                    ready = [n for n in self._free if self._env_in.get(n) == env_hash]
                    number = ready[0] if ready else min(self._free)
                    self._free.remove(number)
                    return self._slots[number]
                taken = self._slots.keys() | self._making
                limit = self.jobs if self.make_slot is not None else 1
                spare = [n for n in range(limit) if n not in taken]
                if spare:
                    number = spare[0]
                    self._making.add(number)
                    break
                self._lock.wait()
        try:
            slot = self._slot_zero() if number == 0 else self._make(number)
        except BaseException:
            with self._lock:
                self._making.discard(number)
                self._lock.notify_all()
            raise
        with self._lock:
            self._making.discard(number)
            self._slots[number] = slot
        return slot

    def _make(self, number: int) -> Slot:
        if self.make_slot is None:
            raise AssertionError("only slot 0 exists without make_slot")
        slot = self.make_slot(number)
        if slot.number != number:
            raise AssertionError(f"make_slot({number}) made slot {slot.number}")
        return slot

    def _slot_zero(self) -> Slot:
        return Slot(0, self.project_dir, self.junit_dir, tuple(self.editables), self.after_tests)

    def _give_back(self, slot: Slot) -> None:
        with self._lock:
            self._free.append(slot.number)
            self._lock.notify_all()

    @property
    def slots_made(self) -> list[int]:
        """The slots this verifier has used so far (0 first)."""
        with self._lock:
            return sorted(self._slots.keys() | self._making)

    def cancel(self, wait: float = 30.0) -> None:
        """Stop every trial running in other threads and wait (up to ``wait`` s) for them.

        For an interrupted main thread: their test runs are killed, they raise
        :class:`TrialCancelled` instead of caching a killed run as a failure, and their slots
        come back, so the caller may remove the trees and environments afterwards.
        """
        deadline = time.monotonic() + wait
        with self._lock:
            self._cancelled = True
            self._lock.notify_all()
        while True:
            kill_running()
            with self._lock:
                busy = len(self._slots) - len(self._free) + len(self._making)
                if busy <= 0 or time.monotonic() >= deadline:
                    return
                self._lock.wait(0.1)

    def close(self) -> None:
        """Remove the environments of slots beyond 0 (slot 0 is reused by the next run)."""
        for number in self.slots_made:
            if number > 0:
                self.builder.remove(number)

    def _check_cancelled(self) -> None:
        if self._cancelled:
            raise TrialCancelled("the run is ending")

    @property
    def python_version(self) -> str:
        """The Python version uv resolves for (``3.11``), from the interpreter or request."""
        return self.python if self.python[:1].isdigit() else _version_of(self.python)

    def _after_tests(self, slot: Slot) -> None:
        if slot.after_tests is not None:
            slot.after_tests()

    def _key(self, spec: EnvSpec) -> str:
        data = json.dumps([spec.hash, self.tree_hash, list(self.command)])
        return hashlib.sha256(data.encode()).hexdigest()

    def _record(self, trial: Trial) -> Trial:
        with self._lock:
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
