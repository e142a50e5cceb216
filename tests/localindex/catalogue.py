"""The small default catalogue served by the session-scoped ``local_index`` fixture."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from localindex.release import Release


def _day(n: int) -> datetime:
    return datetime(2021, 1, 1, tzinfo=timezone.utc) + timedelta(days=n)


def _alpha(value: int, greeting: str, extra: str = "") -> str:
    return f"VALUE = {value}\n{extra}\n\ndef greet():\n    return {greeting!r}\n"


#: alpha: versions that behave differently, 2.x needs beta, a prerelease on top.
#: beta: a plain dependency, with an sdist on its latest version.
#: gamma: the newest version is yanked. delta: the newest needs a future Python.
#: Zeta.Pkg: a non-normalized name with an extra. source-only: no wheel at all.
DEFAULT_CATALOGUE: tuple[Release, ...] = (
    Release("alpha", "1.0.0", module=_alpha(1, "hello"), uploaded=_day(0)),
    Release("alpha", "1.1.0", module=_alpha(1, "hello!"), uploaded=_day(30)),
    Release(
        "alpha",
        "2.0.0",
        requires=["beta>=1.0"],
        module=_alpha(2, "hi", "import beta\nBETA = beta.__version__"),
        uploaded=_day(90),
    ),
    Release(
        "alpha", "2.1.0rc1", requires=["beta>=1.0"], module=_alpha(3, "hey"), uploaded=_day(120)
    ),
    Release("beta", "1.0.0", uploaded=_day(10)),
    Release("beta", "1.1.0", uploaded=_day(40)),
    Release("beta", "2.0.0", uploaded=_day(100), sdist=True),
    Release("gamma", "1.0.0", uploaded=_day(5)),
    Release("gamma", "1.5.0", uploaded=_day(50)),
    Release("gamma", "2.0.0", yanked="broken build", uploaded=_day(110)),
    Release("delta", "1.0.0", uploaded=_day(20)),
    Release("delta", "2.0.0", requires_python=">=3.99", uploaded=_day(80)),
    Release("Zeta.Pkg", "0.1.0", extras={"fast": ["gamma>=1"]}, uploaded=_day(60)),
    Release("source-only", "1.0.0", wheel=False, sdist=True, uploaded=_day(70)),
)
