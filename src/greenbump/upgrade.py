"""``greenbump upgrade`` end to end: plan, resolve, apply, verify, commit.

Reads top-down as the pipeline. All planning, editing and testing happens in a scratch git
worktree outside the user's tree; the user's branch, index and files are never touched, except
with ``--no-commit``, where the final files are copied into the work tree at the very end, each
with an atomic replace.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.version import Version

from greenbump.advisories import CheckResult
from greenbump.apply import ParsedFiles, apply_upgrade
from greenbump.dirs import user_cache
from greenbump.envs import EnvBuilder, installed_files
from greenbump.errors import ExternalError, GateFailed, InputError
from greenbump.evidence import probe_result
from greenbump.indexconfig import IndexConfig
from greenbump.inventory import Package, build_inventory
from greenbump.isolate import Candidate, ProbeResult, isolate
from greenbump.names import NormalizedName
from greenbump.pages import ProjectPage
from greenbump.plan import Plan, Policy, Status, Target, make_plan
from greenbump.project import Project, load_project
from greenbump.query import advisory_source, check_vulnerabilities, fetching_pages, index_config
from greenbump.resolve import named_in, requirement_lines, resolve
from greenbump.runlog import RunLog
from greenbump.testrun import TestOutcome, detect_test_command, failure_lines
from greenbump.textio import read_text, remove_stale_temp_files, write_text
from greenbump.vcs import Git, branch_name
from greenbump.verify import OutcomeStore, Slot, SlotFactory, Trial, Verifier

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
    jobs: int = 1  # test environments (and scratch trees) used at once


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
    status: str = "running"  # planned | upgraded | held | nothing-to-do | baseline-red | failed
    packages: list[PackageResult] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    baseline_failures: tuple[str, ...] = ()
    baseline_passed_nothing: bool = False  # then only sets whose tests all pass are green
    baseline_error: str = ""  # why the baseline's failing tests failed, one line each
    branch: str | None = None
    commits: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    log: RunLog | None = field(default=None, repr=False, compare=False)

    def record_baseline(self, outcome: TestOutcome) -> None:
        """Keep what the reports say of tests that already failed at the current versions."""
        self.baseline_failures = tuple(outcome.failed)
        if not outcome.passed:
            self.baseline_passed_nothing = not any(r == "passed" for _, r in outcome.tests)
            self.baseline_error = failure_lines(outcome)


Progress = Callable[[str], None]


def new_result() -> Result:
    """An empty result for a run starting now, with a new run id."""
    return Result(run_id=secrets.token_hex(4), started=dt.datetime.now(dt.timezone.utc))


def failed(result: Result, error: str) -> Result:
    """``result`` as the report of a run that stopped with ``error``.

    Packages marked upgraded on the way without a commit (tested green, then stopped while
    their files were edited or relocked) are reported as planned: they reached no branch.
    """
    result.status = "failed"
    for entry in result.packages:
        if entry.status == "upgraded" and entry.commit is None:
            entry.status = "planned"
    result.notes.append(f"stopped: {error}")
    return result


def run_upgrade(
    options: Options,
    progress: Progress = lambda _: None,
    *,
    log: RunLog | None = None,
    into: Result | None = None,
) -> Result:
    """Run the whole pipeline; returns the result (the caller renders and reports it).

    ``into`` is filled as the run goes, so a caller still has what was found when the run
    stops with an error (see :func:`failed`).
    """
    clock = _Clock(log)
    root = options.path.resolve()
    result = into if into is not None else new_result()
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
        with fetching_pages(
            project,
            packages,
            config=index,
            ttl=options.cache_ttl,
            refresh=options.refresh,
            jobs=16,
            timeout=options.index_timeout,
        ) as lookup:
            vulns = _vulnerabilities(options, packages)  # while the index answers
            pages = lookup()
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
    with (
        # At the HEAD that was checked clean (and whose changes copy_paths carries over).
        git.worktree(prefix=f"greenbump-{os.getpid()}", commit=state.head) as scratch_repo,
        contextlib.ExitStack() as more_trees,  # parallel jobs' trees; removed before the first
    ):
        scratch = scratch_repo / root.relative_to(git.root)
        copied = state.changed if options.allow_dirty else ()
        if copied:
            git.copy_paths(scratch_repo, copied)
        verifier = _verifier(options, project, scratch, index, command, log=log)
        verifier.tree_hash = Git(scratch_repo).tracked_tree_hash()
        verifier.store = OutcomeStore(_envs_root(project) / "outcomes")
        seen: set[str] = set()  # paths tests wrote, noted once whichever tree they wrote in
        if not copied:  # copied changes must survive
            verifier.after_tests = _cleaner(git, scratch_repo, result, seen)
        if options.jobs > 1:
            verifier.make_slot = _slot_maker(
                git,
                scratch_repo,
                verifier,
                copied=copied,
                stack=more_trees,
                cleaner=None if copied else (lambda repo: _cleaner(git, repo, result, seen)),
            )
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
        try:
            run.verify_and_apply()
        finally:
            verifier.close()  # the environments of slots beyond the first
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
        if options.jobs > 1 and not options.require_green_baseline:
            baseline, accepted, held, full = self.baseline_beside_full(current)
        else:
            with self.clock("baseline"):
                self.progress("testing the current versions (baseline)")
                baseline = verifier.trial(current, is_baseline=True)
            outcome = _usable_baseline(baseline)
            result.record_baseline(outcome)
            if not outcome.passed and options.require_green_baseline:
                result.status = "baseline-red"
                raise GateFailed(
                    "tests fail at the current versions (--require-green-baseline):\n"
                    + (result.baseline_error or ", ".join(outcome.failed[:10]))
                )
            with self.clock("resolve"):
                self.progress(f"resolving {len(self.plan.upgrades)} upgrades")
                accepted, held = self.resolvable(current)
            full = None
        for key, reason in held.items():
            _hold(result, key, reason)
        if full is None:
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

    def baseline_beside_full(
        self, current: dict[str, str]
    ) -> tuple[Trial, dict[str, str], dict[str, str], Trial]:
        """With ``jobs >= 2``: the baseline runs while the upgrades resolve, then beside the
        full set, in another slot. The full set's new failures are judged against the
        baseline once both are done (the verifier waits for it); a baseline that does not
        resolve or install ends the run as it would with one job.
        """
        verifier = self.verifier
        verifier.expect_baseline()
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="greenbump-trial")
        try:
            self.progress("testing the current versions (baseline) and the upgraded set")
            baseline_run = pool.submit(verifier.trial, current, is_baseline=True)
            resolve_error: Exception | None = None
            accepted: dict[str, str] = {}
            held: dict[str, str] = {}
            with self.clock("resolve"):
                try:
                    accepted, held = self.resolvable(current)
                except Exception as exc:  # raised below, unless the baseline fails first
                    resolve_error = exc
            full_run = None
            if resolve_error is None:
                full_run = pool.submit(verifier.trial, {**current, **accepted})
            with self.clock("baseline"):
                baseline = baseline_run.result()
                outcome = _usable_baseline(baseline)
            self.result.record_baseline(outcome)
            if resolve_error is not None or full_run is None:
                raise resolve_error or AssertionError("no full-set trial")
            with self.clock("test"):
                full = full_run.result()
        except BaseException:
            verifier.cancel()  # stop the other trial; its slot's tree is removed next
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return baseline, accepted, held, full

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
        jobs = self.options.jobs

        def probe(changes: Mapping[str, str]) -> ProbeResult:
            # Called from up to ``jobs`` threads. The files are those of the slot the trial ran
            # in, read before the slot was given back; a remembered outcome has no environment
            # behind it: no files to blame.
            trial = self.verifier.trial({**current, **changes})
            return probe_result(trial, trial.installed or {}, names)

        files = full.installed
        if files is None:  # passed, or remembered: slot 0 holds a related environment
            files = installed_files(self.verifier.builder.path_for(0)) if full.outcome else {}
        known = probe_result(full, files, names)
        try:
            outcome = isolate(candidates, probe, known=[(dict(accepted), known)], jobs=jobs)
        except BaseException:
            if jobs > 1:
                self.verifier.cancel()  # probes may still run in other threads
            raise
        moved = any(v != current.get(k) for k, v in outcome.accepted.items())
        if self.result.baseline_passed_nothing and not moved:
            # No set passed, as nothing passed at baseline: per-package verdicts ("breaks",
            # "only together with") would be artefacts of tests that never ran. Say so once.
            why = failure_lines(full.outcome) if full.outcome else full.install_error
            for key in outcome.held:
                _hold(
                    self.result,
                    key,
                    "no tested set passes the tests, which already failed at the current versions",
                    failing_tests=tuple(full.new_failures),
                    error=_first_lines(why, 8),
                )
            self.result.notes.append(
                "no set of upgrades made the tests pass; see the baseline note for why they fail"
            )
            return {}
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
        """The planned versions that install together; for conflicts the highest that does.

        When the whole planned set does not resolve, the packages uv's explanation names are
        set aside and the rest is tried again, whole, until it resolves (one uv call a round,
        rather than one per package). The set-aside packages then get, one by one, the highest
        allowed version that resolves with what is accepted so far (the target first, then a
        binary search), in plan order: a library planned before the tool that caps it keeps
        its upgrade and the tool gets the highest release that fits. Packages left held or
        capped are tried once more at the end against the final set, so a hold never cites a
        version of another package that the run then moved (found on a real application).
        """
        wanted = {str(t.key): str(t.target) for t in self.plan.upgrades}
        good, why = self.resolves({**current, **wanted})
        if good:
            return wanted, {}
        accepted = dict(wanted)
        aside: list[str] = []
        reasons: dict[str, str] = {}
        while not good:
            named = named_in(why, list(accepted))
            if not named:  # uv blames nothing we move: fall back to one package at a time
                for key in accepted:
                    reasons[key] = why
                aside += list(accepted)
                accepted = {}
                break
            for key in named:
                reasons[key] = why
                del accepted[key]
            aside += named
            if not accepted:
                break
            good, why = self.resolves({**current, **accepted})
        held: dict[str, str] = {}
        for _round in range(2):
            for key in aside:
                if key in accepted and accepted[key] == wanted[key]:
                    continue
                chosen, explanation = self.highest_resolving(key, current, accepted, reasons[key])
                if chosen is None:
                    held[key] = (
                        f"no newer version resolves with the rest: {_first_lines(explanation)}"
                    )
                    accepted.pop(key, None)
                    continue
                accepted[key] = chosen
                held.pop(key, None)
                if chosen != wanted[key]:
                    held[key] = f"capped at {chosen} by the resolver: {_first_lines(explanation)}"
            if not held:
                break
        return {k: accepted[k] for k in wanted if k in accepted}, held

    def highest_resolving(
        self, key: str, current: dict[str, str], accepted: dict[str, str], why: str
    ) -> tuple[str | None, str]:
        """The newest release of ``key`` up to its target that resolves with ``accepted``.

        The target first (often fine once others moved), then a binary search over the
        allowed releases between current and target: resolvability mostly falls off with
        newer releases, and the search costs log2 of them in uv calls, not one per release.
        """
        target = self.plan.get(key)
        if target is None or target.current is None or target.target is None:
            return None, why
        # Only the releases the plan allows (not yanked, old enough, right Python, in level).
        versions = sorted(v for v in target.steps if v <= target.target)
        others = {k: v for k, v in accepted.items() if k != key}
        explanation = why  # the reason a higher version does not resolve, for the report

        def fits(version: Version) -> bool:
            nonlocal explanation
            good, failure = self.resolves({**current, **others, key: str(version)})
            if not good:
                explanation = failure
            return good

        if not versions:
            return None, explanation
        if fits(versions[-1]):
            return str(versions[-1]), explanation
        low, high, best = 0, len(versions) - 2, None
        while low <= high:
            middle = (low + high) // 2
            if fits(versions[middle]):
                best, low = versions[middle], middle + 1
            else:
                high = middle - 1
        return (str(best) if best is not None else None), explanation

    def apply_all(self, accepted: dict[str, str]) -> None:
        """Edit, relock and commit each accepted upgrade; then branch or copy back.

        One commit per package, but git is asked once for all of them (a commit series, one
        ``git fast-import``) and each manifest is parsed once (``ParsedFiles``): per-package
        ``git commit`` calls and re-parses were most of this stage's time.
        """
        options, result = self.options, self.result
        prefix = self.scratch.relative_to(self.scratch_repo)
        touched: set[PurePosixPath] = set()
        parsed = ParsedFiles()
        series = self.git.commit_series(self.scratch_repo)
        committed: list[tuple[PackageResult, str]] = []  # in commit order, with the version
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
                parsed=parsed,
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
            series.add([str(prefix / f) for f in applied.files], message)
            committed.append((entry, version))
        for (entry, version), sha in zip(committed, series.write(), strict=True):
            entry.commit = sha
            result.commits.append(sha)
            if result.log is not None:
                result.log.decision(entry.target.key, "upgraded", to=version, commit=sha)
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
        jobs=options.jobs,
    )


def _slot_maker(
    git: Git,
    scratch_repo: Path,
    verifier: Verifier,
    *,
    copied: Sequence[str],
    stack: contextlib.ExitStack,
    cleaner: Callable[[Path], Callable[[], None]] | None,
) -> SlotFactory:
    """Further scratch trees for parallel trials, made on first use, removed with ``stack``.

    Each is a worktree of the first tree's commit (not HEAD: the user may commit meanwhile)
    with the same copied changes, so it holds the same content and the outcome cache's tree
    hash holds for it too. Its folder is named like the first (``greenbump-<pid>-...``), so
    the next run's orphan clean-up removes it after a SIGKILL.
    """
    commit = Git(scratch_repo).head()
    rel = verifier.project_dir.relative_to(scratch_repo)
    lock = threading.Lock()

    def make(number: int) -> Slot:
        with lock:  # ExitStack is not thread-safe; slots are made rarely
            repo = stack.enter_context(
                git.worktree(prefix=f"greenbump-{os.getpid()}", commit=commit)
            )
        if copied:
            Git(scratch_repo).copy_paths(repo, copied)
        tree = repo / rel
        junit = verifier.junit_dir / f"slot-{number}"
        junit.mkdir(parents=True, exist_ok=True)
        editables = (tree,) if verifier.editables else ()
        return Slot(number, tree, junit, editables, None if cleaner is None else cleaner(repo))

    return make


_NOTES_LOCK = threading.Lock()  # the cleaners of parallel slots note into one result


def _cleaner(
    git: Git, scratch_repo: Path, result: Result, seen: set[str] | None = None
) -> Callable[[], None]:
    """Undo what a test run wrote into a scratch tree, and say so once per path.

    ``seen`` is shared by the cleaners of all slots: a path the tests write in every tree is
    one note.
    """
    noted: set[str] = set() if seen is None else seen

    def clean() -> None:
        for path in git.restore_worktree(scratch_repo):
            with _NOTES_LOCK:
                if path in noted:
                    continue
                noted.add(path)
                result.notes.append(
                    f"the test run wrote {path}; it was removed before the next run"
                )

    return clean


def _usable_baseline(baseline: Trial) -> TestOutcome:
    """The baseline's outcome; a baseline that does not resolve or install ends the run."""
    if not baseline.resolution.ok:
        raise InputError(
            f"the current versions do not resolve together:\n{baseline.resolution.explanation}"
        )
    if baseline.install_error or baseline.outcome is None:
        raise ExternalError(f"the current versions do not install:\n{baseline.install_error}")
    return baseline.outcome


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
    return user_cache("envs", _slug(project.root))


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
