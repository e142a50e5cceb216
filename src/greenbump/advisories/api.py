"""Advisories from the OSV web API: ``POST /v1/querybatch``, then ``GET /v1/vulns/{id}``.

The batch endpoint answers, per package version, only the ids (and ``modified`` stamps) of the
records that affect it, possibly over several pages (``next_page_token``). The records
themselves, needed for fixed versions and aliases, come one by one from ``/v1/vulns/{id}``;
they are fetched concurrently (a bounded thread pool sharing one connection pool), kept in
memory for the life of the source, and optionally on disk (``cache_dir``), where a record is
reused only while its ``modified`` stamp matches the one the batch answer gives.

The API decides what is affected: its ids are reported even when our own range evaluation
would disagree (it may have matched on data we ignore), since over-reporting a vulnerability
costs a look while under-reporting one costs a breach. Withdrawn records are dropped.

Failure policy: :meth:`OsvApi.query` never raises for the network. Timeouts, connection
errors, 5xx and 429 answers are retried a couple of times with backoff; what still fails makes
the packages concerned come back ``checked=False`` with the reason (a failed or garbled batch
for all its packages, a garbled result for its package, a record that cannot be fetched for
the packages it was reported for). Whether "nothing could be checked" should stop the run
(exit 3, :class:`~greenbump.errors.ExternalError`) is the caller's decision, since only the
caller knows if advisories were required or merely nice to have. A malformed ``base_url`` is
the user's input and raises :class:`~greenbump.errors.InputError` at construction.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import greenbump
from greenbump.advisories.matching import (
    CheckResult,
    PackageKey,
    build_findings,
    package_key,
    unchecked,
)
from greenbump.advisories.records import (
    ECOSYSTEM,
    Advisory,
    AdvisoryFormatError,
    parse_advisory,
    to_osv,
)
from greenbump.advisories.source import AdvisorySource
from greenbump.errors import InputError
from greenbump.names import NormalizedName

if TYPE_CHECKING:  # imported when the API is used: a run on a local database never needs it
    import httpx

DEFAULT_OSV_API = "https://api.osv.dev"
BATCH_SIZE = 1000  # the API's limit of queries per querybatch request
MAX_PAGES = 100  # per package: a server that keeps paging is broken, not thorough
_CACHEABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

_Query = tuple[NormalizedName, "str | None"]  # (name, version); no version: every record


class _Failure(Exception):
    """A request that failed for good (after retries); the message is shown to users."""


class OsvApi(AdvisorySource):
    """The OSV API at ``base_url`` (default: the public one).

    ``timeout`` applies to each request (seconds); ``retries`` is the number of extra
    attempts for transient failures, waiting ``backoff * 2**(n-1)`` seconds before the n-th
    retry; ``concurrency`` bounds the record downloads in flight.

    ``check_fixes``: for each vulnerable package, also list (and fetch) every record of the
    package, so that :meth:`CheckResult.fix` does not propose a version that an advisory
    sparing the current version hits. It costs one more batch request and, on a cold cache,
    one download per record of those packages; turn it off for a quick "is it vulnerable".
    """

    def __init__(
        self,
        base_url: str = DEFAULT_OSV_API,
        *,
        timeout: float = 15.0,
        retries: int = 2,
        backoff: float = 0.5,
        concurrency: int = 8,
        batch_size: int = BATCH_SIZE,
        cache_dir: Path | str | None = None,
        check_fixes: bool = True,
    ) -> None:
        url = base_url.strip().rstrip("/")
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError(f"not an http(s) URL for the OSV API: {base_url!r}")
        if retries < 0 or concurrency < 1 or not 1 <= batch_size <= BATCH_SIZE or timeout <= 0:
            raise ValueError("retries >= 0, concurrency >= 1, 1 <= batch_size <= 1000, timeout > 0")
        self.base_url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.check_fixes = check_fixes
        self._records: dict[str, Advisory] = {}
        self._warnings: dict[str, None] = {}

    @property
    def label(self) -> str:
        return f"OSV API {self.base_url}"

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self._warnings)

    # -- public API --------------------------------------------------------------------------

    def query(self, packages: Sequence[tuple[str, str]]) -> dict[PackageKey, CheckResult]:
        keys = list(dict.fromkeys(package_key(name, version) for name, version in packages))
        if not keys:
            return {}
        with self._client() as client:
            # 1. Which records affect each version.
            found, failures = self._query_ids(client, keys)
            # 2. For vulnerable packages only, every record of the package, so that a proposed
            #    fix can be checked against advisories that do not affect the current version.
            names = sorted({name for (name, _), ids in found.items() if ids and self.check_fixes})
            every, unlisted = self._query_ids(client, [(name, None) for name in names])
            stamps: dict[str, str] = {}
            for vulns in (*found.values(), *every.values()):
                for vuln_id, modified in vulns.items():
                    stamps[vuln_id] = max(stamps.get(vuln_id, ""), modified)
            records, errors = self._fetch_records(client, stamps)
        results: dict[PackageKey, CheckResult] = {}
        for key in keys:
            name, version = key
            if key in failures:
                results[key] = unchecked(name, version, failures[key])
                continue
            others = every.get((name, None), {})
            notes = []
            if (name, None) in unlisted:
                notes.append(
                    f"could not list every advisory of {name} ({unlisted[(name, None)]}); "
                    "the proposed fix is only checked against the advisories shown"
                )
            notes.extend(
                f"could not fetch {vuln_id}, an advisory of {name} not affecting {version}: "
                f"{errors[vuln_id]}"
                for vuln_id in sorted(others)
                if vuln_id in errors and vuln_id not in found[key]
            )
            results[key] = self._result(
                key, ids=found[key], others=others, records=records, errors=errors, notes=notes
            )
        return results

    # -- querybatch --------------------------------------------------------------------------

    def _query_ids(
        self, client: httpx.Client, queries: Sequence[_Query]
    ) -> tuple[dict[_Query, dict[str, str]], dict[_Query, str]]:
        """Ids (with ``modified`` stamps) per ``(name, version)`` query, and the failed queries.

        A query without a version asks for every record of the package.
        """
        found: dict[_Query, dict[str, str]] = {query: {} for query in queries}
        failures: dict[_Query, str] = {}
        pages: dict[_Query, int] = dict.fromkeys(queries, 0)
        pending: list[tuple[_Query, str | None]] = [(query, None) for query in queries]
        while pending:
            chunk, pending = pending[: self.batch_size], pending[self.batch_size :]
            body = {"queries": [_query_body(query, token) for query, token in chunk]}
            try:
                answer = self._request(client, "POST", "/v1/querybatch", body)
                results = answer.get("results") if isinstance(answer, dict) else None
                if not isinstance(results, list) or len(results) != len(chunk):
                    raise _Failure("unexpected answer (no results list of the right length)")
            except _Failure as exc:
                for query, _ in chunk:
                    failures[query] = f"OSV API querybatch failed: {exc}"
                continue
            for (query, _), result in zip(chunk, results, strict=True):
                if query in failures:
                    continue
                try:
                    vulns, token = _parse_result(result)
                except ValueError as exc:
                    failures[query] = f"OSV API querybatch answered garbage for this package: {exc}"
                    continue
                for vuln_id, modified in vulns:
                    found[query][vuln_id] = max(found[query].get(vuln_id, ""), modified)
                if token:
                    pages[query] += 1
                    if pages[query] >= MAX_PAGES:
                        failures[query] = f"OSV API querybatch kept paging ({MAX_PAGES} pages)"
                    else:
                        pending.append((query, token))
        for query in failures:
            found.pop(query, None)
        return found, failures

    # -- records -----------------------------------------------------------------------------

    def _fetch_records(
        self, client: httpx.Client, stamps: dict[str, str]
    ) -> tuple[dict[str, Advisory], dict[str, str]]:
        """The records for ``stamps`` (id -> modified), and an error message per missing id."""
        records: dict[str, Advisory] = {}
        todo: list[str] = []
        for vuln_id, modified in stamps.items():
            known = self._records.get(vuln_id)
            if known is not None and (not modified or known.modified == modified):
                records[vuln_id] = known
                continue
            known = self._read_cached(vuln_id, modified)
            if known is not None and known.modified == modified:
                records[vuln_id] = self._records[vuln_id] = known
            else:
                todo.append(vuln_id)
        errors: dict[str, str] = {}
        if not todo:
            return records, errors
        workers = min(self.concurrency, len(todo))
        with concurrent.futures.ThreadPoolExecutor(workers, "greenbump-osv") as pool:
            futures = {
                pool.submit(self._fetch_record, client, vuln_id): vuln_id for vuln_id in todo
            }
            for future in concurrent.futures.as_completed(futures):
                vuln_id = futures[future]
                try:
                    record = future.result()
                except _Failure as exc:
                    errors[vuln_id] = str(exc)
                    continue
                records[vuln_id] = record
                self._records[vuln_id] = record
                self._write_cached(record, stamps[vuln_id])
        return records, errors

    def _fetch_record(self, client: httpx.Client, vuln_id: str) -> Advisory:
        path = "/v1/vulns/" + urllib.parse.quote(vuln_id, safe="")
        doc = self._request(client, "GET", path)
        try:
            return parse_advisory(doc, self.base_url + path)
        except AdvisoryFormatError as exc:
            raise _Failure(f"not an OSV record: {exc}") from exc

    def _result(
        self,
        key: PackageKey,
        *,
        ids: dict[str, str],
        others: dict[str, str],
        records: dict[str, Advisory],
        errors: dict[str, str],
        notes: list[str],
    ) -> CheckResult:
        name, version = key
        matched: list[Advisory] = []
        missing: list[str] = []
        for vuln_id in sorted(ids):
            record = records.get(vuln_id)
            if record is None:
                missing.append(f"{vuln_id} ({errors.get(vuln_id, 'not fetched')})")
                matched.append(Advisory(id=vuln_id, origin=self.base_url))  # id known, no details
                continue
            if record.withdrawn is not None:
                continue
            matched.append(record)
            entry = record.for_package(name)
            if entry is not None:
                notes.extend(f"{record.id}: {problem}" for problem in entry.problems)
        known = [
            records[i]
            for i in sorted(set(ids) | set(others))
            if i in records and records[i].withdrawn is None
        ]
        findings = build_findings(name, version, matched)
        reason = None
        if missing:
            reason = "could not fetch advisory details from the OSV API: " + "; ".join(missing)
        return CheckResult(name, version, not missing, reason, findings, tuple(notes), tuple(known))

    # -- HTTP --------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        import httpx

        return httpx.Client(
            base_url=self.base_url,
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=self.concurrency),
            headers={"User-Agent": f"greenbump/{greenbump.__version__}"},
            follow_redirects=True,
        )

    def _request(self, client: httpx.Client, method: str, path: str, body: object = None) -> object:
        """The decoded JSON answer; transient failures are retried, then raise :class:`_Failure`."""
        import httpx

        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = client.request(method, path, json=body)
            except httpx.HTTPError as exc:  # timeouts, refused connections, broken answers
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            status = response.status_code
            if status >= 500 or status == 429:
                problem = f"HTTP {status} for {method} {path}"
                continue
            if status != 200:
                raise _Failure(f"HTTP {status} for {method} {path}")
            try:
                return json.loads(response.content)
            except ValueError:
                raise _Failure(f"the answer to {method} {path} is not JSON") from None
        attempts = self.retries + 1
        raise _Failure(f"{problem} ({attempts} attempt{'s' if attempts > 1 else ''})")

    # -- disk cache --------------------------------------------------------------------------

    def _cache_path(self, vuln_id: str) -> Path | None:
        if self.cache_dir is None or not _CACHEABLE_ID.fullmatch(vuln_id):
            return None
        return self.cache_dir / "osv-api" / f"{vuln_id}.json"

    def _read_cached(self, vuln_id: str, modified: str) -> Advisory | None:
        path = self._cache_path(vuln_id)
        if path is None or not modified:
            return None
        try:
            doc = json.loads(path.read_bytes())
            record = parse_advisory(doc, self.base_url + "/v1/vulns/" + vuln_id)
        except (OSError, ValueError):  # absent, damaged or not a record: fetch it again
            return None
        return record if record.id == vuln_id else None

    def _write_cached(self, record: Advisory, modified: str) -> None:
        path = self._cache_path(record.id)
        if path is None or not modified or record.modified != modified:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(to_osv(record), out)
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self._warnings[f"cannot write the OSV API cache in {self.cache_dir}: {exc}"] = None


def _query_body(query: _Query, token: str | None) -> dict[str, object]:
    name, version = query
    body: dict[str, object] = {"package": {"name": name, "ecosystem": ECOSYSTEM}}
    if version is not None:
        body["version"] = version
    if token:
        body["page_token"] = token
    return body


def _parse_result(result: object) -> tuple[list[tuple[str, str]], str | None]:
    """``(id, modified)`` pairs and the next page token of one querybatch result."""
    if not isinstance(result, dict):
        raise ValueError(f"a result is a {type(result).__name__}, not an object")
    vulns = result.get("vulns", [])
    if vulns is None:
        vulns = []
    if not isinstance(vulns, list):
        raise ValueError("'vulns' is not a list")
    pairs: list[tuple[str, str]] = []
    for vuln in vulns:
        vuln_id = vuln.get("id") if isinstance(vuln, dict) else None
        if not isinstance(vuln_id, str) or not vuln_id.strip():
            raise ValueError("a vulnerability without an id")
        modified = vuln.get("modified") if isinstance(vuln, dict) else None
        pairs.append((vuln_id.strip(), modified if isinstance(modified, str) else ""))
    token = result.get("next_page_token")
    if token is not None and not isinstance(token, str):
        raise ValueError("'next_page_token' is not a string")
    return pairs, token or None
