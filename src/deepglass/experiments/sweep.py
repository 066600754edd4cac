"""Parameter sweeps: the sweep file (TOML), its expansion into points, and the hash that names each point.

A sweep file has
  * ``[base]``: a normal run config (the schema of ``deepglass config example``);
  * ``[sweep]``: config keys (dotted ``"network.N"``, nested ``[sweep.network] N = ...`` or an unambiguous leaf
    name ``N``) mapped to a list of values or a range table ``{start, stop, num, log = false}`` (inclusive
    linspace / logspace; integer fields get integers);
  * ``seeds``: a list of distinct seeds or ``{count = n, first = s}`` (default: ``[base.seed]``);
  * ``zip``: optional groups of swept keys that vary together (``zip = [["data.alpha", "run.t_max"]]``);
  * ``theory``: optional bool: every point also gets the RS dense-limit theory of its (scenario, L, alpha, kappa).
Points are the cartesian product of the swept axes (a zip group is one axis), seeds innermost.
Every error is a ``ConfigError`` naming the field (``sweep.data.alpha``, ``seeds``, ...) and what is allowed,
raised before anything is written.

Hashes: a point is named by sha256 of the canonical JSON of its full config (seed included) together with
the major.minor deepglass version: a patch release reuses cached points, a minor release recomputes them.
Any change of the config schema (a new field) changes every hash too, the safe direction.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from .. import __version__
from ..errors import ConfigError
from ..theory.problem import THEORY_SCENARIOS
from .config import SEED_LIMIT, RunConfig, apply_overrides, parse_config, read_toml_text, resolve_key

TOP_LEVEL_KEYS = ("base", "sweep", "seeds", "zip", "theory")
RANGE_KEYS = ("start", "stop", "num", "log")
POINT_FORMAT = "deepglass-sweep-point-1"
THEORY_FORMAT = "deepglass-sweep-theory-rs-1"


def cache_version() -> str:
    """The part of the deepglass version that enters every hash (major.minor)."""
    return ".".join(__version__.split(".")[:2])


def _sha256_json(payload: dict) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def point_hash(config: RunConfig) -> str:
    """sha256 (hex) of the full point config (seed included) and the cache version."""
    if config.seed is None:
        raise ValueError("a sweep point needs a concrete seed")
    return _sha256_json({"format": POINT_FORMAT, "version": cache_version(), "config": config.to_dict()})


@dataclass(frozen=True)
class TheoryKey:
    """One RS theory solve, shared by every point (and seed) with the same (scenario, L, alpha, kappa)."""

    scenario: str
    L: int
    alpha: float
    kappa: float

    @property
    def hash(self) -> str:
        return _sha256_json({"format": THEORY_FORMAT, "version": cache_version(), "scenario": self.scenario,
                             "L": self.L, "alpha": self.alpha, "kappa": self.kappa})

    def problem(self):
        """The ChainProblem solved for this key (teacher-student: the Bayes-optimal / Nishimori chain)."""
        from ..theory import ChainProblem

        return ChainProblem(self.scenario, self.L, self.alpha, kappa=self.kappa)

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "L": self.L, "alpha": self.alpha, "kappa": self.kappa}


@dataclass(frozen=True)
class SweepPoint:
    """One run of the sweep: the swept values (dotted keys), its seed, the full config and its hash."""

    overrides: dict[str, Any]
    seed: int
    config: RunConfig
    hash: str
    theory: TheoryKey | None = None

    @property
    def short(self) -> str:
        return self.hash[:16]

    def label(self) -> str:
        """'N=8 alpha=1.0 seed=3' (leaf names) for messages."""
        parts = [f"{key.split('.')[-1]}={value!r}" for key, value in self.overrides.items()]
        return " ".join(parts + [f"seed={self.seed}"])


@dataclass
class Sweep:
    """A validated sweep: the base config, the axes, the seeds, and every point (in a fixed order)."""

    base: RunConfig
    axes: dict[str, list[Any]]  # dotted key -> its values
    zip_groups: list[list[str]]
    seeds: list[int]
    theory: bool
    points: list[SweepPoint] = field(default_factory=list)
    text: str = ""  # the sweep file as given

    @property
    def keys(self) -> list[str]:
        return list(self.axes)

    def to_toml(self) -> str:
        """The sweep file as given, or (for a sweep built from a dict) an equivalent TOML document."""
        if self.text:
            return self.text
        import tomli_w

        def drop_none(table):
            return {k: drop_none(v) if isinstance(v, dict) else v for k, v in table.items() if v is not None}

        data = {"seeds": self.seeds, "theory": self.theory, "zip": self.zip_groups,
                "sweep": self.axes, "base": drop_none(self.base.to_dict())}
        return tomli_w.dumps(data if self.zip_groups else {k: v for k, v in data.items() if k != "zip"})

    def theory_keys(self) -> list[TheoryKey]:
        """The distinct theory solves, in first-use order."""
        return list(dict.fromkeys(p.theory for p in self.points if p.theory is not None))


# ---------------------------------------------------------------------- parsing

def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file."""
    return parse_sweep_text(read_toml_text(path, "sweep file"), source=str(path))


def parse_sweep_text(text: str, source: str = "<sweep>") -> Sweep:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("sweep file", source, f"valid TOML ({exc})") from None
    sweep = parse_sweep(data)
    sweep.text = text
    return sweep


def parse_sweep(data: dict) -> Sweep:
    """Validate a sweep (a dict as read from TOML) and expand it into points, or raise ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError("sweep file", data, "a table with base, sweep and seeds")
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS]
    if unknown:
        raise ConfigError(unknown[0], data[unknown[0]],
                          f"not a known key; a sweep file has {', '.join(TOP_LEVEL_KEYS)}")
    base_table = data.get("base", {})
    if not isinstance(base_table, dict):
        raise ConfigError("base", base_table, "a table holding a run config (see `deepglass config example`)")
    try:
        base = parse_config(base_table)
    except ConfigError as exc:
        raise ConfigError(f"base.{exc.field}", exc.value, exc.allowed) from None
    table = data.get("sweep")
    if not isinstance(table, dict) or not table:
        raise ConfigError("sweep", table, 'a non-empty table of swept keys, e.g. "data.alpha" = [0.5, 1.0]')
    axes: dict[str, list[Any]] = {}
    for key, spec in _flatten(table):
        dotted = _resolve(key)
        if dotted in axes:
            raise ConfigError(f"sweep.{key}", spec, f"each key swept once ({dotted} appears twice)")
        axes[dotted] = _axis_values(dotted, spec)
    zip_groups = _zip_groups(data.get("zip", []), axes)
    seeds = _seeds(data.get("seeds"), base)
    theory = data.get("theory", False)
    if not isinstance(theory, bool):
        raise ConfigError("theory", theory, "true or false (also solve the RS theory of every point)")
    sweep = Sweep(base=base, axes=axes, zip_groups=zip_groups, seeds=seeds, theory=theory)
    sweep.points = _expand(sweep)
    return sweep


def _flatten(table: dict, prefix: str = ""):
    """(key, spec) pairs; nested tables ([sweep.network] N = ...) become dotted keys, range tables stay."""
    for key, spec in table.items():
        name = f"{prefix}{key}"
        if isinstance(spec, dict) and not (set(spec) & set(RANGE_KEYS)):
            if not spec:
                raise ConfigError(f"sweep.{name}", spec, "a list of values or a range {start, stop, num}")
            yield from _flatten(spec, prefix=f"{name}.")
        else:
            yield name, spec


def _resolve(key: str) -> str:
    if key == "seed":
        raise ConfigError("sweep.seed", key, "not swept here: list the seeds in the top-level `seeds`")
    try:
        return resolve_key(key)
    except ConfigError as exc:
        raise ConfigError(f"sweep.{key}", key, exc.allowed) from None


def _field_info(dotted: str):
    """The pydantic FieldInfo of a dotted config key (``network.N``) or top-level one."""
    section, leaf = dotted.split(".") if "." in dotted else (None, dotted)
    model: type[BaseModel] = RunConfig if section is None else RunConfig.model_fields[section].annotation
    return model.model_fields[leaf]


def _field_kind(dotted: str) -> str:
    """'int', 'float' or 'other': what a range of this config field produces."""
    annotation = _field_info(dotted).annotation
    kinds = {a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)}
    if kinds == {int}:
        return "int"
    if kinds == {float}:
        return "float"
    return "other"


def _validated_value(dotted: str, value: Any) -> Any:
    """The value as the field alone validates it (type and range; 1 -> 1.0 for floats), or ConfigError.

    Rules that relate several fields (c <= N, planted needs a teacher, ...) are checked on the whole point
    instead, so a value that is fine together with another swept value is not rejected against [base].
    """
    info = _field_info(dotted)
    adapter = TypeAdapter(Annotated[info.annotation, info], config=ConfigDict(strict=True, allow_inf_nan=False))
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        raise ConfigError(f"sweep.{dotted}", value, extra.get("allowed") or exc.errors()[0]["msg"]) from None


def _axis_values(dotted: str, spec: Any) -> list[Any]:
    where = f"sweep.{dotted}"
    if isinstance(spec, dict):
        values = _range_values(where, dotted, spec)
    elif isinstance(spec, list):
        values = spec
        if not values:
            raise ConfigError(where, spec, "a non-empty list of values (or a range {start, stop, num})")
    else:
        raise ConfigError(where, spec, "a list of values or a range table {start, stop, num, log = false}")
    values = [_validated_value(dotted, value) for value in values]
    canonical = [json.dumps(v, sort_keys=True) for v in values]
    if len(set(canonical)) != len(canonical):
        raise ConfigError(where, values, "distinct values (a repeated value would be the same point twice)")
    return list(values)


def _range_values(where: str, dotted: str, spec: dict) -> list[Any]:
    allowed = "a range {start, stop, num [, log = true]}: numbers start, stop and an integer num >= 2 (inclusive)"
    unknown = [k for k in spec if k not in RANGE_KEYS]
    if unknown or not {"start", "stop", "num"} <= set(spec):
        raise ConfigError(where, spec, allowed)
    start, stop, num, log = spec["start"], spec["stop"], spec["num"], spec.get("log", False)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (start, stop)):
        raise ConfigError(where, spec, allowed)
    if not isinstance(num, int) or isinstance(num, bool) or num < 2 or num > 100_000:
        raise ConfigError(f"{where}.num", num, "an integer 2 <= num <= 100000 (number of values, ends included)")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log", log, "true (log-spaced) or false (linear)")
    kind = _field_kind(dotted)
    if kind == "other":
        raise ConfigError(where, spec, f"a list of values: {dotted} is not a numeric field, ranges need one")
    if log:
        if start <= 0 or stop <= 0:
            raise ConfigError(where, spec, "start > 0 and stop > 0 for a log range")
        grid = np.logspace(math.log10(start), math.log10(stop), num)
    else:
        grid = np.linspace(start, stop, num)
    if kind == "float":
        return [float(f"{v:.12g}") for v in grid]  # 0.30000000000000004 -> 0.3: clean values, stable hashes
    ints = [int(round(v)) for v in grid]
    if len(set(ints)) != len(ints):
        raise ConfigError(where, spec, f"a range whose {num} values stay distinct after rounding to integers "
                                       f"({dotted} is an integer field): lower num")
    return ints


def _zip_groups(spec: Any, axes: dict[str, list]) -> list[list[str]]:
    allowed = 'a list of groups of swept keys varied together, e.g. zip = [["data.alpha", "run.t_max"]]'
    if not isinstance(spec, list):
        raise ConfigError("zip", spec, allowed)
    if spec and all(isinstance(k, str) for k in spec):
        spec = [spec]  # one group written flat
    groups, seen = [], set()
    for group in spec:
        if not isinstance(group, list) or len(group) < 2 or not all(isinstance(k, str) for k in group):
            raise ConfigError("zip", spec, allowed + " (each group: at least two keys)")
        resolved = []
        for key in group:
            dotted = _resolve(key) if key != "seed" else key
            if dotted not in axes:
                raise ConfigError("zip", key, f"a swept key (one of {', '.join(axes)})")
            if dotted in seen:
                raise ConfigError("zip", key, "each key in at most one zip group")
            seen.add(dotted)
            resolved.append(dotted)
        lengths = {len(axes[k]) for k in resolved}
        if len(lengths) != 1:
            raise ConfigError("zip", group, "keys with the same number of values "
                              f"({', '.join(f'{k}: {len(axes[k])}' for k in resolved)})")
        groups.append(resolved)
    return groups


def _seeds(spec: Any, base: RunConfig) -> list[int]:
    allowed = "a list of distinct integers 0 <= seed < 2**63, or {count = n, first = s}"
    if spec is None:
        if base.seed is None:
            raise ConfigError("seeds", None, allowed + " (or base.seed): every point needs a recorded seed")
        return [base.seed]
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in ("count", "first")]
        count, first = spec.get("count"), spec.get("first", 0)
        if unknown or not all(isinstance(v, int) and not isinstance(v, bool) for v in (count, first)):
            raise ConfigError("seeds", spec, allowed)
        if count < 1 or first < 0 or first + count > SEED_LIMIT:
            raise ConfigError("seeds", spec, "count >= 1 and 0 <= first, first + count <= 2**63")
        return list(range(first, first + count))
    if not isinstance(spec, list) or not spec:
        raise ConfigError("seeds", spec, allowed)
    for seed in spec:
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < SEED_LIMIT:
            raise ConfigError("seeds", seed, allowed)
    if len(set(spec)) != len(spec):
        raise ConfigError("seeds", spec, allowed)
    return list(spec)


def _expand(sweep: Sweep) -> list[SweepPoint]:
    """The cartesian product of the axes (zip groups as one axis), seeds innermost; every point validated."""
    in_group = {k: g for g in sweep.zip_groups for k in g}
    axes: list[list[dict]] = []
    done: set[str] = set()
    for key in sweep.axes:
        if key in done:
            continue
        group = in_group.get(key, [key])
        done.update(group)
        axes.append([dict(zip(group, values)) for values in zip(*(sweep.axes[k] for k in group))])
    points, hashes = [], set()
    for combo in itertools.product(*axes):
        overrides = {k: v for part in combo for k, v in part.items()}
        overrides = {k: overrides[k] for k in sweep.axes}  # file order
        try:
            config = apply_overrides(sweep.base, overrides)
        except ConfigError as exc:
            where = " ".join(f"{k}={v!r}" for k, v in overrides.items())
            raise ConfigError(f"{exc.field} (sweep point {where})", exc.value, exc.allowed) from None
        theory = _theory_key(config, overrides) if sweep.theory else None
        for seed in sweep.seeds:
            seeded = config.model_copy(update={"seed": seed})
            digest = point_hash(seeded)
            if digest in hashes:  # e.g. a swept key the config ignores (beta with greedy acceptance is still recorded)
                raise ConfigError("sweep", overrides, "axes that give distinct configs")
            hashes.add(digest)
            points.append(SweepPoint(overrides, seed, seeded, digest, theory))
    return points


def _theory_key(config: RunConfig, overrides: dict) -> TheoryKey:
    where = " ".join(f"{k}={v!r}" for k, v in overrides.items())
    scenario = config.data.scenario
    if scenario not in THEORY_SCENARIOS:
        raise ConfigError("theory", True, f"false, or data.scenario in {', '.join(THEORY_SCENARIOS)} for every point "
                                          f"(the replica theory has no {scenario} data; sweep point {where})")
    if not config.spec().uniform:   # the replica theory's layers all have width N (MODEL.md section 5)
        raise ConfigError("theory", True, f"false, or equal layer widths for every point (the replica theory assumes "
                                          f"them; widths {config.spec().widths} at sweep point {where})")
    key = TheoryKey(scenario, config.network.L, float(config.data.alpha), float(config.network.kappa))
    try:
        key.problem()
    except ConfigError as exc:
        raise ConfigError("theory", True, f"false, or points the theory accepts: {exc} (sweep point {where})") from None
    return key


# ---------------------------------------------------------------------- example

EXAMPLE_SWEEP = '''\
# deepglass parameter sweep. Run it with:  deepglass sweep THIS.toml --out STORE
# Results: python -c "import deepglass; print(deepglass.open_sweep('STORE'))"

# Every swept key (and seed) runs the [base] config with that value changed.
# [base] is a normal run config: see `deepglass config example`.
seeds = {count = 2, first = 1}     # or a list: seeds = [1, 2, 7]
theory = true                      # also solve the RS dense-limit theory of each (scenario, L, alpha, kappa)

[sweep]
"data.alpha" = {start = 0.5, stop = 2.0, num = 3}   # inclusive linspace; add log = true for logspace
"network.L" = [2, 4]                                 # or a list of values
# zip = [["data.alpha", "run.t_max"]] (top level) varies keys together instead of crossing them

[base.network]
N = 12
kappa = 0.0

[base.data]
scenario = "teacher-student"
M_test = 200

[base.run]
protocol = "planted"
t_max = 200
per_decade = 4
n_samples = 2

[base.replicas]
R = 2
waiting_times = [0]
'''
