"""``greenbump upgrade`` end to end: plan, resolve, apply, verify, commit.

Reads top-down as the pipeline. All planning, editing and testing happens in a scratch git
worktree outside the user's tree; the user's branch, index and files are never touched, except
with ``--no-commit``, where the final files are copied into the work tree at the very end, each
with an atomic replace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import platformdirs
from packaging.utils import NormalizedName
from packaging.version import Version

from greenbump.advisories import CheckResult
from greenbump.apply import apply_upgrade
from greenbump.envs import EnvBuilder, installed_files
from greenbump.errors import ExternalError, GateFailed, InputError
from greenbump.evidence import probe_result
from greenbump.index import ProjectPage
from greenbump.indexconfig import IndexConfig
from greenbump.inventory import Package, build_inventory
from greenbump.isolate import Candidate, ProbeResult, isolate
from greenbump.plan import Plan, Policy, Status, Target, make_plan
from greenbump.project import Project, load_project
from greenbump.query import advisory_source, check_vulnerabilities, fetch_pages, index_config
from greenbump.resolve import named_in, requirement_lines, resolve
from greenbump.runlog import RunLog
from greenbump.testrun import detect_test_command
from greenbump.textio import read_text, remove_stale_temp_files, write_text
from greenbump.vcs import Git, branch_name
from greenbump.verify import OutcomeStore, Trial, Verifier

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Options:
    """Everything ``upgrade`` was asked to do."""

    path: Path
    policy: Policy
    python: Version
    test_command: Sequence[str] | None
    timeout: float | None = None
    dry_run: bool = False
    no_commit: bool = False
    allow_dirty: bool = False
    require_green_baseline: bool = False
    branch_template: str = "greenbump/{date}-{id}"
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    advisories: str | None = None
    osv_api: str | None = None
    cache_ttl: float = 300.0
    refresh: bool = False
    index_timeout: float = 30.0
    install: tuple[str, ...] = ()  # files or groups that make the test environment (all: ())
    interpreter: str | None = None  # for test environments; default: the running Python


@dataclass
class PackageResult:
    """One package's outcome."""

    target: Target
    status: str  # upgraded | held | unchanged
    to: Version | None = None
    reason: str = ""
    failing_tests: tuple[str, ...] = ()
    error: str = ""
    files: tuple[str, ...] = ()
    commit: str | None = None


@dataclass
class Result:
    """What a run did, for the summary, the reports and the exit code."""

    run_id: str
    started: dt.datetime
    status: str = "running"  # planned | upgraded | held | nothing-to-do | baseline-red
    packages: list[PackageResult] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    baseline_failures: tuple[str, ...] = ()
    branch: str | None = None
    commits: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    log: RunLog | None = field(default=None, repr=False, compare=False)


Progress = Callable[[str], None]


def run_upgrade(
    options: Options,
    progress: Progress = lambda _: None,
    *,
    run_id: str | None = None,
    log: RunLog | None = None,
) -> Result:
    """Run the whole pipeline; returns the result (the caller renders and reports it)."""
    clock = _Clock(log)
    root = options.path.resolve()
    result = Result(run_id=run_id or secrets.token_hex(4), started=dt.datetime.now(dt.timezone.utc))
    result.log = log
    result.dry_run = options.dry_run
    git = None if options.dry_run else Git.find(root)
    state = git.require_clean(options.allow_dirty) if git is not None else None

    with clock("read"):
        project = load_project(root)
        if not options.dry_run:
            remove_stale_temp_files(root / f.path.parent for f in project.files)
        packages = build_inventory(project)
    with clock("query"):
        progress("querying the index")
        index = index_config(project, options.index_url, list(options.extra_index_urls))
        if log is not None:
            log.add_secrets(index.secrets())
        pages = fetch_pages(
            project,
            packages,
            config=index,
            ttl=options.cache_ttl,
            refresh=options.refresh,
            jobs=16,
            timeout=options.index_timeout,
        )
        vulns = _vulnerabilities(options, packages)
    with clock("plan"):
        plan = make_plan(packages, pages, vulns, policy=options.policy, python=options.python)
    result.packages = [_initial(t) for t in plan.targets]
    if log is not None:
        for target in plan.targets:
            log.decision(target.key, target.status.value, target.reason)
    if options.dry_run or not plan.upgrades:
        result.status = "planned" if options.dry_run else "nothing-to-do"
        result.durations = clock.totals
        return result

    command = list(options.test_command or detect_test_command(root) or [])
    if not command:
        raise InputError(
            'no test command found: set [tool.greenbump] test = "..." or pass --test',
            root / "pyproject.toml",
        )
    if git is None or state is None:
        raise AssertionError("git is set whenever this is not a dry run")
    git.drop_orphaned_worktrees()
    with git.worktree(prefix=f"greenbump-{os.getpid()}") as scratch_repo:
        scratch = scratch_repo / root.relative_to(git.root)
        if options.allow_dirty and state.changed:
            git.copy_paths(scratch_repo, state.changed)
        verifier = _verifier(options, project, scratch, index, command, log=log)
        verifier.tree_hash = Git(scratch_repo).tracked_tree_hash()
        verifier.store = OutcomeStore(_envs_root(project) / "outcomes")
        if not (options.allow_dirty and state.changed):  # copied changes must survive
            verifier.after_tests = _cleaner(git, scratch_repo, result)
        run = _Run(
            options=options,
            project=project,
            plan=plan,
            pages=pages,
            index=index,
            verifier=verifier,
            result=result,
            clock=clock,
            progress=progress,
            git=git,
            scratch_repo=scratch_repo,
            scratch=scratch,
        )
        run.verify_and_apply()
    result.trials = list(run.verifier.trials)
    result.durations = clock.totals
    return result


@dataclass
class _Run:
    """One run's context: what the stages after planning share."""

    options: Options
    project: Project
    plan: Plan
    pages: dict[NormalizedName, ProjectPage]
    index: IndexConfig
    verifier: Verifier
    result: Result
    clock: _Clock
    progress: Progress
    git: Git
    scratch_repo: Path
    scratch: Path

    def verify_and_apply(self) -> None:
        """Baseline, full set, then apply and commit what stayed green."""
        options, result, verifier = self.options, self.result, self.verifier
        current = {
            str(p.key): str(p.current)
            for p in build_inventory(self.project)
            if p.current and p.from_index
        }
        with self.clock("baseline"):
            self.progress("testing the current versions (baseline)")
            baseline = verifier.trial(current, is_baseline=True)
        if not baseline.resolution.ok:
            raise InputError(
                f"the current versions do not resolve together:\n{baseline.resolution.explanation}"
            )
        if baseline.install_error or baseline.outcome is None:
            raise ExternalError(f"the current versions do not install:\n{baseline.install_error}")
        result.baseline_failures = tuple(baseline.outcome.failed)
        if not baseline.outcome.passed and options.require_green_baseline:
            result.status = "baseline-red"
            raise GateFailed(
                "tests fail at the current versions (--require-green-baseline): "
                + ", ".join(baseline.outcome.failed[:10])
            )
        with self.clock("resolve"):
            self.progress(f"resolving {len(self.plan.upgrades)} upgrades")
            accepted, held = self.resolvable(current)
        for key, reason in held.items():
            _hold(result, key, reason)
        with self.clock("test"):
            self.progress("testing the upgraded set")
            full = verifier.trial({**current, **accepted})
        if not full.green:
            with self.clock("isolate"):
                self.progress("the upgraded set fails: finding which upgrades break which tests")
                accepted = self.isolate(current, accepted, full)
            if not accepted:
                result.status = "held"
                return
        with self.clock("apply"):
            self.progress("applying and committing")
            self.apply_all(accepted)
        result.status = "upgraded" if result.commits or options.no_commit else "nothing-to-do"

    def isolate(
        self, current: dict[str, str], accepted: dict[str, str], full: Trial
    ) -> dict[str, str]:
        """Keep every upgrade that stays green; hold the rest with their evidence."""
        candidates = []
        for target in _priority(self.plan, accepted):
            key = str(target.key)
            ladder = tuple(str(v) for v in target.steps if v <= Version(accepted[key]))
            candidates.append(Candidate(key, current[key], ladder))
        names = [c.name for c in candidates]
        venv = self.verifier.builder.path_for(0)

        def probe(changes: Mapping[str, str]) -> ProbeResult:
            trial = self.verifier.trial({**current, **changes})
            # A remembered outcome has no environment behind it: no files to blame.
            fresh = trial.outcome is not None and not trial.cached
            return probe_result(trial, installed_files(venv) if fresh else {}, names)

        known = probe_result(full, installed_files(venv) if full.outcome else {}, names)
        outcome = isolate(candidates, probe, known=[(dict(accepted), known)])
        for key, held in outcome.held.items():
            reason = held.reason
            if held.highest_passing:
                reason += f"; highest green version {held.highest_passing} (tried {held.tried})"
            _hold(
                self.result,
                key,
                reason,
                failing_tests=tuple(held.failing_tests),
                error=held.error,
            )
            if held.highest_passing and key in outcome.accepted:
                _entry(self.result, key).to = Version(outcome.accepted[key])
        for group in outcome.groups:
            self.result.notes.append("moved together: " + ", ".join(sorted(group)))
        if not outcome.confirmed:
            self.result.notes.append("the final set could not be confirmed green: nothing applied")
            return {}
        return {k: v for k, v in outcome.accepted.items() if v != current.get(k)}

    def resolves(self, pins: dict[str, str]) -> tuple[bool, str]:
        """Whether ``pins`` install together with the declared dependencies."""
        res = resolve(
            self.verifier.requirements,
            self.verifier.constraints,
            pins,
            index=self.verifier.index,
            python=self.verifier.python_version,
        )
        return res.ok, res.explanation

    def resolvable(self, current: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The planned versions that install together; for conflicts the highest that does."""
        wanted = {str(t.key): str(t.target) for t in self.plan.upgrades}
        good, why = self.resolves({**current, **wanted})
        if good:
            return wanted, {}
        accepted: dict[str, str] = {}
        held: dict[str, str] = {}
        suspects = named_in(why, list(wanted))
        for key in [k for k in wanted if k not in suspects] + suspects:  # suspects last
            chosen, explanation = self.highest_resolving(key, current, accepted, why)
            if chosen is None:
                held[key] = f"no newer version resolves with the rest: {_first_lines(explanation)}"
                continue
            accepted[key] = chosen
            if chosen != wanted[key]:
                held[key] = f"capped at {chosen} by the resolver: {_first_lines(explanation)}"
        return accepted, held

    def highest_resolving(
        self, key: str, current: dict[str, str], accepted: dict[str, str], why: str
    ) -> tuple[str | None, str]:
        """The newest release of ``key`` up to its target that resolves with ``accepted``."""
        target = self.plan.get(key)
        if target is None or target.current is None or target.target is None:
            return None, why
        # Only the releases the plan allows (not yanked, old enough, right Python, in level).
        versions = sorted(target.steps, reverse=True)
        explanation = why  # the reason a higher version does not resolve, for the report
        for version in versions[:8]:
            good, failure = self.resolves({**current, **accepted, key: str(version)})
            if good:
                return str(version), explanation
            explanation = failure
        return None, explanation

    def apply_all(self, accepted: dict[str, str]) -> None:
        """Edit, relock and commit each accepted upgrade; then branch or copy back."""
        options, result = self.options, self.result
        prefix = self.scratch.relative_to(self.scratch_repo)
        touched: set[PurePosixPath] = set()
        for key, version in accepted.items():
            target = self.plan.get(key)
            if target is None:
                continue
            applied = apply_upgrade(
                self.scratch,
                self.project.files,
                target.package.name,
                Version(version),
                page=self.pages.get(target.key),
                index=self.index,
                level=options.policy.level,
                bump_lower_bounds=options.policy.bump_lower_bounds,
                python=options.interpreter,
            )
            entry = _entry(result, target.key)
            entry.status = "upgraded"
            entry.to = Version(version)
            entry.files = tuple(str(f) for f in applied.files)
            result.notes.extend(applied.notes)
            if not applied.files:
                entry.reason = "nothing in the project's files pins it"
                continue
            touched.update(applied.files)
            if options.no_commit:
                continue
            body = "Files:\n" + "".join(f"- {f}\n" for f in applied.files)
            if target.advisories_fixed:
                body += "\nFixes: " + ", ".join(target.advisories_fixed) + "\n"
            message = f"Bump {target.package.name} from {target.current} to {version}\n\n{body}"
            sha = self.git.commit(
                self.scratch_repo, [str(prefix / f) for f in applied.files], message
            )
            entry.commit = sha
            result.commits.append(sha)
            if result.log is not None:
                result.log.decision(target.key, "upgraded", to=version, commit=sha)
        if options.no_commit:
            for rel in sorted(touched):
                data = read_text(self.scratch / rel)
                write_text(options.path.resolve() / rel, data)
            return
        if result.commits:
            name = branch_name(options.branch_template, dt.date.today(), result.run_id)
            self.git.create_branch(name, result.commits[-1])
            result.branch = name


def _verifier(
    options: Options,
    project: Project,
    scratch: Path,
    index: IndexConfig,
    command: list[str],
    *,
    log: RunLog | None,
) -> Verifier:
    requirements, constraints = requirement_lines(project, options.install)
    envs_root = _envs_root(project)
    junit = Path(tempfile.mkdtemp(prefix="greenbump-junit-"))
    python = options.interpreter or _running_python()
    return Verifier(
        project_dir=scratch,
        requirements=requirements,
        constraints=constraints,
        index=index,
        python=python,
        command=command,
        builder=EnvBuilder(envs_root, index.uv_args(), index.uv_env(), compile_bytecode=True),
        junit_dir=junit,
        editables=[scratch] if _is_package(scratch) else [],
        timeout=options.timeout,
        on_trial=None if log is None else _trial_logger(log),
    )


def _cleaner(git: Git, scratch_repo: Path, result: Result) -> Callable[[], None]:
    """Undo what a test run wrote into the scratch tree, and say so once per path."""
    seen: set[str] = set()

    def clean() -> None:
        for path in git.restore_worktree(scratch_repo):
            if path not in seen:
                seen.add(path)
                result.notes.append(
                    f"the test run wrote {path}; it was removed before the next run"
                )

    return clean


def _trial_logger(log: RunLog) -> Callable[[Trial], None]:
    def record(trial: Trial) -> None:
        log.event(
            "trial",
            env_hash=trial.env_hash,
            pins=dict(trial.pins),
            resolved=trial.resolution.ok,
            green=trial.green,
            new_failures=list(trial.new_failures),
            cached=trial.cached,
        )

    return record


def _envs_root(project: Project) -> Path:
    """Per project, in the user cache dir: environments and remembered test outcomes."""
    return Path(platformdirs.user_cache_dir("greenbump")) / "envs" / _slug(project.root)


def _is_package(root: Path) -> bool:
    if (root / "setup.py").is_file() or (root / "setup.cfg").is_file():
        return True
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return False
    text = pyproject.read_text(encoding="utf-8")
    return "[build-system]" in text and "[project]" in text


def _running_python() -> str:
    return sys.executable


def _slug(root: Path) -> str:
    return root.name + "-" + hashlib.sha256(str(root).encode()).hexdigest()[:12]


def _vulnerabilities(
    options: Options, packages: list[Package]
) -> dict[NormalizedName, CheckResult]:
    if not (options.advisories or options.osv_api or options.policy.security_only):
        return {}
    source = advisory_source(options.advisories, options.osv_api)
    return check_vulnerabilities(source, packages)


_KIND_ORDER = {"patch": 0, "minor": 1, "major": 2}


def _priority(plan: Plan, accepted: Mapping[str, str]) -> list[Target]:
    """Candidates likeliest to be innocent first: patches, then minors, then majors."""
    targets = [t for t in plan.upgrades if str(t.key) in accepted]
    return sorted(targets, key=lambda t: (_KIND_ORDER[t.kind.value] if t.kind else 3, t.key))


def _initial(target: Target) -> PackageResult:
    if target.status is Status.UPGRADE:
        return PackageResult(target, "planned", target.target, target.reason)
    return PackageResult(target, "unchanged", None, target.reason)


def _entry(result: Result, key: str) -> PackageResult:
    return next(p for p in result.packages if p.target.key == key)


def _hold(
    result: Result, key: str, reason: str, *, failing_tests: tuple[str, ...] = (), error: str = ""
) -> None:
    entry = _entry(result, key)
    entry.status = "held"
    entry.reason = reason
    if result.log is not None:
        result.log.decision(key, "held", reason, failing_tests=list(failing_tests))
    entry.failing_tests = failing_tests
    entry.error = _first_lines(error, 12)


def _first_lines(text: str, count: int = 4) -> str:
    return "\n".join(text.strip().splitlines()[:count])


class _Clock:
    """Wall time per stage, for the report, the run log and the benchmark."""

    def __init__(self, log: RunLog | None = None) -> None:
        self.totals: dict[str, float] = {}
        self.log = log

    def __call__(self, stage: str) -> _Stage:
        return _Stage(self, stage)


class _Stage:
    def __init__(self, clock: _Clock, stage: str) -> None:
        self.clock = clock
        self.stage = stage
        self.started = 0.0

    def __enter__(self) -> None:
        self.started = time.monotonic()
        if self.clock.log is not None:
            self.clock.log.stage_started(self.stage)

    def __exit__(self, *exc: object) -> None:
        elapsed = time.monotonic() - self.started
        self.clock.totals[self.stage] = self.clock.totals.get(self.stage, 0.0) + elapsed
        if self.clock.log is not None:
            self.clock.log.stage_finished(self.stage, elapsed, ok=exc[0] is None)
