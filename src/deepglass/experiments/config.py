"""The run configuration: one validated, TOML-serialisable description of a Monte Carlo experiment.

Every validation failure becomes ``deepglass.errors.ConfigError(field, value, allowed)`` with the dotted
field name (``network.c``, ``mc.beta``, ...) and the allowed range, so the CLI can print one clear line
and exit with status 2. Build configs with :func:`parse_config` (a dict), :func:`load_config` (a TOML
file) or :func:`apply_overrides` (``--set`` pairs); constructing the pydantic models directly raises
pydantic's own ``ValidationError`` instead.
"""
from __future__ import annotations

import math

import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ..errors import ConfigError
from ..model import POTENTIALS, SCENARIOS, NetworkSpec, Potential, Scenario

TEACHER_SCENARIOS = ("teacher-student", "hidden-manifold")  # scenarios whose data come from a teacher network
SEED_LIMIT = 2**63  # TOML integers are signed 64-bit


def child_seed(seed: int, key: int) -> int:
    """The one way a run seed is derived from a recorded seed: child ``key`` of ``SeedSequence(seed)``, a valid
    run seed (< SEED_LIMIT); children with distinct keys are independent, and adding a key changes no other."""
    import numpy as np

    return int(np.random.SeedSequence(seed, spawn_key=(int(key),)).generate_state(1, np.uint64)[0]) >> 1


KAPPA_LIMIT = 1e6  # |gap| <= c always; beyond this kappa is trivial and (kappa - r)^2 summed overflows float64


def _field(default: Any, doc: str, allowed: str, **constraints) -> Any:
    """A pydantic Field carrying the human description (TOML comment) and the allowed range (error text)."""
    return Field(default, description=doc, json_schema_extra={"allowed": allowed}, **constraints)


class _Section(BaseModel):
    # strict: no silent coercions (3.7 -> int, true -> 1, "40" -> 40); ints are still accepted for floats.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class NetworkConfig(_Section):
    N: int = _field(20, "neurons per layer", "an integer >= 1 (neurons per layer)", ge=1)
    L: int = _field(4, "weight layers: layer 0 is the input, layer L the output",
                    "an integer >= 1 (number of weight layers)", ge=1)
    c: int | None = _field(None, "inputs read by each perceptron; unset = N (fully connected)",
                           "an integer 1 <= c <= N, or unset for fully connected", ge=1)
    kappa: float = _field(0.0, "gap threshold: the design space is every gap >= kappa",
                          f"a finite real number with |kappa| <= {KAPPA_LIMIT:g} (gap threshold; every gap lies in "
                          "[-c, c], and larger values overflow the energy)", ge=-KAPPA_LIMIT, le=KAPPA_LIMIT)
    N_in: int | None = _field(None, "input layer width N_0; unset = N (dataset scenario: unset = the image's pixels)",
                              "an integer >= 1 (input width), or unset", ge=1)
    N_out: int | None = _field(None, "output layer width N_L; unset = N (dataset scenario: unset = the output code's "
                               "width)", "an integer >= 1 (output width), or unset", ge=1)

    @model_validator(mode="after")
    def _c_at_most_N(self):
        if self.c is not None and self.c > self.N:
            raise ConfigError("c", self.c, f"an integer with 1 <= c <= N = {self.N}, or unset for fully connected")
        return self

    def spec(self, N_in: int | None = None, N_out: int | None = None) -> NetworkSpec:
        """The network; N_in / N_out: the widths a data set imposes where the config leaves them unset."""
        return NetworkSpec(N=self.N, L=self.L, c=self.c, kappa=self.kappa, N_in=self.N_in or N_in,
                           N_out=self.N_out or N_out)


class DataConfig(_Section):
    scenario: Scenario = _field(
        "teacher-student", " | ".join(SCENARIOS), f"one of {', '.join(SCENARIOS)}")
    alpha: float = _field(1.0, "load alpha = M / c; M = round(alpha c) training patterns",
                          "a finite real number > 0 (load M / c)", gt=0)
    D: int | None = _field(None, "effective input dimension, hidden-manifold only (1 <= D <= N)",
                           "an integer 1 <= D <= N (hidden-manifold data dimension)", ge=1)
    M_test: int = _field(1000, "fresh test inputs for the generalization overlap (teacher scenarios; 0 = none); "
                         "dataset: held-out test images", "an integer >= 0 (number of test inputs)", ge=0)
    M: int | None = _field(None, "dataset only: training images (alpha is then unused: alpha_l = M / c_l)",
                           "an integer >= 1 (training images), set only with scenario = dataset", ge=1)
    source: str | None = _field(None, "dataset only: \"digits\" (scikit-learn's 8x8 digits), a directory of MNIST "
                                "IDX files, or an .npz with images and labels", "\"digits\", a directory of IDX "
                                "files or an .npz file, set only with scenario = dataset")
    classes: list[int] = _field([0, 1], "dataset only: the labels used, in output-code order",
                                "a list of at least 2 distinct integer labels")
    threshold: float = _field(0.5, "dataset only: a pixel (scaled to [0, 1]) above it is +1, else -1",
                              "a real number 0 <= threshold < 1", ge=0, lt=1)
    pool: int = _field(1, "dataset only: average pixels over pool x pool blocks before binarising",
                       "an integer 1 <= pool <= 28 dividing both image sides", ge=1, le=28)
    coding: Literal["one-hot", "binary"] = _field(
        "one-hot", "dataset only: output code, one-hot (one +-1 neuron per class) | binary (class index in bits)",
        "one of one-hot, binary")

    @field_validator("classes")
    @classmethod
    def _distinct_classes(cls, value: list[int]) -> list[int]:
        if len(value) < 2 or len(set(value)) != len(value):
            raise ConfigError("classes", value, "a list of at least 2 distinct integer labels")
        return value


class MCConfig(_Section):
    potential: Potential = _field(
        "soft", "cost per gap: soft (kappa-r)^2, hinge (kappa-r), count 1, each only where r < kappa",
        f"one of {', '.join(POTENTIALS)}")
    acceptance: Literal["greedy", "metropolis"] = _field(
        "greedy", "greedy (accept iff dE <= 0) | metropolis (needs beta)", "one of greedy, metropolis")
    beta: float | None = _field(None, "inverse temperature, metropolis only (ignored by greedy)",
                                "a finite real number > 0 (inverse temperature)", gt=0)
    delta: float = _field(0.1, "weight move size: J -> (J + delta x) / sqrt(1 + delta^2)",
                          "a real number with 0 < delta <= 10", gt=0, le=10)
    exact_sphere: bool = _field(True, "Hastings factor of the weight move, so rows sample their sphere exactly "
                                "(false: the literal move of MODEL.md, biased at O(1/c); see docs/simulation.md)",
                                "true or false")
    backend: Literal["auto", "numpy", "numba", "jax"] = _field(
        "auto", "engine backend: numpy (reference) | numba (same random numbers, same trajectory) | jax (own "
        "counter-based stream: same physics, statistically equal) | auto (jax with a GPU, else numba)",
        "one of auto, numpy, numba, jax")
    sampler: Literal["local", "design-space"] = _field(
        "local", "move set: local (neuron flips + single-weight moves: the learning dynamics) | design-space "
        "(exact T = 0 sampler of the design space: row moves, hidden neurons slaved to the forward pass)",
        "one of local, design-space")
    proposal: Literal["row", "weight", "billiard"] = _field(
        "row", "design-space weight move: row (whole row, symmetric) | weight (one weight + its Hastings factor) | "
        "billiard (a reflective geodesic walk of each row in its conditional region: greedy, kappa >= 0 only)",
        "one of row, weight, billiard")
    billiard_time: float = _field(math.pi / 2, "proposal = billiard: longest trajectory, an angle on the row's "
                                  "sphere (each row update walks U times it, U uniform)",
                                  "a real number with 0 < billiard_time <= pi", gt=0, le=math.pi)
    tune_steps: int = _field(0, "design-space burn-in MC steps during which delta adapts per layer toward "
                             "target_acceptance, then freezes (0 = delta throughout)", "an integer >= 0 (MC steps)",
                             ge=0)
    target_acceptance: float = _field(0.3, "acceptance the tuned move sizes aim at",
                                      "a real number with 0 < target_acceptance < 1", gt=0, lt=1)
    pt_betas: list[float] = _field([], "parallel tempering: inverse temperatures of each ladder's hot members "
                                   "(output-layer cost, strictly decreasing; the beta = inf member is the run; [] = "
                                   "none)", "a strictly decreasing list of finite inverse temperatures > 0")
    precision: Literal["float64", "float32"] = _field(
        "float64", "floating point of the engine state: float64 | float32 (jax backend only)",
        "one of float64, float32 (float32 needs backend = jax)")

    @model_validator(mode="after")
    def _beta_for_metropolis(self):
        if self.acceptance == "metropolis" and self.beta is None:
            raise ConfigError("beta", None, "a finite real number > 0: metropolis acceptance needs an inverse temperature")
        if self.sampler == "design-space" and self.backend == "jax":
            raise ConfigError("mc.backend", self.backend, "auto, numpy or numba with sampler = design-space "
                                                          "(it has no JAX kernels)")
        b = self.pt_betas
        if any(not math.isfinite(x) or x <= 0 for x in b) or any(x <= y for x, y in zip(b, b[1:])):
            raise ConfigError("mc.pt_betas", b, "a strictly decreasing list of finite inverse temperatures > 0")
        if b and (self.sampler != "design-space" or self.acceptance != "greedy"):
            raise ConfigError("mc.pt_betas", b, "[] unless sampler = design-space with greedy acceptance (the "
                                                "ladder's beta = infinity member)")
        if self.tune_steps > 0 and self.sampler != "design-space":
            raise ConfigError("mc.tune_steps", self.tune_steps, "0 with sampler = local (tuning is for design-space "
                                                                "moves)")
        if self.proposal == "billiard":
            for name, bad, allowed in (
                    ("mc.sampler", self.sampler != "design-space", "design-space with proposal = billiard"),
                    ("mc.acceptance", self.acceptance != "greedy", "greedy with proposal = billiard (the T = 0 sampler)"),
                    ("mc.pt_betas", bool(b), "[] with proposal = billiard (the T = 0 sampler)"),
                    ("mc.tune_steps", self.tune_steps > 0, "0 with proposal = billiard (it has no move size)")):
                if bad:
                    raise ConfigError(name, getattr(self, name[3:]), allowed)
        if self.precision == "float32" and self.backend != "jax":
            raise ConfigError("mc.precision", self.precision, f"float64 with backend = {self.backend} "
                                                              "(float32 needs backend = jax)")
        return self


class RunSection(_Section):
    protocol: Literal["learning", "planted"] = _field(
        "learning", "learning (random start) | planted (start at the teacher; needs a teacher scenario)",
        "one of learning, planted")
    t_max: int = _field(1000, "MC steps (one step = one attempted move per variable on average)",
                        "an integer >= 1 (MC steps)", ge=1)
    per_decade: int = _field(8, "log-spaced measurements per decade of MC time",
                             "an integer 1 <= per_decade <= 1000", ge=1, le=1000)
    stop_when_solved: bool = _field(False, "stop at the first measurement with no violated host gap",
                                    "true or false")
    n_samples: int = _field(4, "independent samples of the data (and of the teacher), run together",
                            "an integer >= 1 (samples of the disorder)", ge=1)
    trace_every: int = _field(0, "also measure every K MC steps (an evenly spaced series for autocorrelation "
                              "times; 0 = log-spaced measurements only)", "an integer >= 0 (MC steps)", ge=0)
    checkpoint_every: int = _field(0, "also save the full engine state every K MC steps (0 = at measurement "
                                   "times only, at most once a second)", "an integer >= 0 (MC steps)", ge=0)
    hidden_start: Literal["random", "forward"] = _field(
        "random", "learning: hidden neurons start random | forward (the forward pass of the random initial weights: "
        "every hidden gap starts >= 0)", "one of random, forward")


class ReplicaConfig(_Section):
    R: int = _field(0, "guest replicas copied from the host at each waiting time (0 = host only)",
                    "an integer >= 0 (replicas per waiting time)", ge=0)
    waiting_times: list[int] = _field([0], "MC times t_w at which the host is copied into the R guests",
                                      "a list of distinct integers 0 <= t_w < t_max")

    @field_validator("waiting_times")
    @classmethod
    def _distinct_nonnegative(cls, value: list[int]) -> list[int]:
        if any(t < 0 for t in value) or len(set(value)) != len(value):
            raise ConfigError("waiting_times", value, "a list of distinct integers 0 <= t_w < t_max")
        return sorted(value)


class RunConfig(_Section):
    """The full experiment. ``seed`` None means: draw one at run time and record it (see :meth:`with_seed`)."""

    seed: int | None = _field(None, "master seed of every random stream; unset = drawn at run time and recorded",
                              f"an integer 0 <= seed < 2**63, or unset", ge=0, lt=SEED_LIMIT)
    network: NetworkConfig = NetworkConfig()
    data: DataConfig = DataConfig()
    mc: MCConfig = MCConfig()
    run: RunSection = RunSection()
    replicas: ReplicaConfig = ReplicaConfig()

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo):
        self._check_widths_and_data(check_data=not (info.context or {}).get("skip_data", False))
        N = self.network.N
        if self.data.scenario == "hidden-manifold" and (self.data.D is None or self.data.D > N):
            raise ConfigError("data.D", self.data.D,
                              f"an integer 1 <= D <= N = {N}: hidden-manifold data need an input dimension")
        c = self.network.c or N
        if self.data.scenario != "dataset" and round(self.data.alpha * c) < 1:  # M = round(alpha c) = 0 would silently run as M = 1
            raise ConfigError("data.alpha", self.data.alpha,
                              f"a load giving M = round(alpha c) >= 1 pattern: alpha > {0.5 / c:g} for c = {c}")
        if self.run.protocol == "planted" and self.data.scenario not in TEACHER_SCENARIOS:
            raise ConfigError("run.protocol", self.run.protocol,
                              f"learning, or planted only with a teacher scenario ({', '.join(TEACHER_SCENARIOS)}); "
                              f"data.scenario is {self.data.scenario!r}")
        if self.data.D is not None and self.data.scenario != "hidden-manifold":
            raise ConfigError("data.D", self.data.D, "unset unless data.scenario = hidden-manifold (D is the "
                                                     f"hidden manifold's dimension); data.scenario is {self.data.scenario!r}")
        late = [t for t in self.replicas.waiting_times if t >= self.run.t_max]  # the engine needs MC after t_w
        if self.replicas.R > 0 and late:
            raise ConfigError("replicas.waiting_times", self.replicas.waiting_times,
                              f"distinct integers 0 <= t_w < t_max = {self.run.t_max}")
        if self.replicas.R > 0 and not self.replicas.waiting_times:
            raise ConfigError("replicas.waiting_times", [], "at least one waiting time when replicas.R >= 1")
        if self.mc.proposal == "billiard" and self.network.kappa < 0:
            raise ConfigError("mc.proposal", "billiard", f"row or weight with network.kappa = {self.network.kappa:g} < 0 "
                                                         "(the billiard needs slaved hidden neurons, kappa >= 0)")
        if self.mc.proposal == "billiard" and self.run.protocol == "learning":
            raise ConfigError("mc.proposal", "billiard", "row or weight with run.protocol = learning (the billiard moves "
                                                         "inside the design space: it needs the planted start, E = 0)")
        if self.mc.tune_steps >= self.run.t_max:
            raise ConfigError("mc.tune_steps", self.mc.tune_steps, f"an integer 0 <= tune_steps < t_max = "
                                                                   f"{self.run.t_max} (the chain is exact after it)")
        return self

    def _check_widths_and_data(self, check_data: bool = True):
        """The dataset scenario's fields, and what unequal widths need (the theory and design-space sampler refuse).

        check_data: read the data set (its widths, classes and size); False only to print an example config."""
        d, net = self.data, self.network
        dataset = d.scenario == "dataset"
        for name in ("M", "source"):
            if dataset and getattr(d, name) is None:
                raise ConfigError(f"data.{name}", None, DataConfig.model_fields[name].json_schema_extra["allowed"])
            if not dataset and getattr(d, name) is not None:
                raise ConfigError(f"data.{name}", getattr(d, name), f"unset unless data.scenario = dataset; "
                                                                    f"data.scenario is {d.scenario!r}")
        if dataset and not check_data:
            return
        if dataset:
            from .dataset_inputs import dataset_widths
            N_in, N_out = dataset_widths(self)
            for name, want in (("N_in", N_in), ("N_out", N_out)):
                if getattr(net, name) not in (None, want):
                    raise ConfigError(f"network.{name}", getattr(net, name), f"unset or {want} (fixed by the data set)")
            if self.run.protocol == "planted":
                raise ConfigError("run.protocol", "planted", "learning with scenario = dataset (no teacher)")
        if self.run.hidden_start != "random" and self.run.protocol != "learning":
            raise ConfigError("run.hidden_start", self.run.hidden_start, "random with protocol = planted (the "
                                                                         "planted start is the teacher's)")
        spec = self.spec()   # raises on a c too wide for a layer
        if not spec.uniform and self.mc.backend == "jax":
            raise ConfigError("mc.backend", "jax", f"auto, numpy or numba with unequal layer widths {spec.widths} "
                                                   "(the JAX kernels need equal widths)")

    # ------------------------------------------------------------------ derived quantities
    def spec(self) -> NetworkSpec:
        try:
            if self.data.scenario == "dataset":
                from .dataset_inputs import dataset_widths
                return self.network.spec(*dataset_widths(self))
            return self.network.spec()
        except ConfigError as exc:
            field = exc.field if "." in exc.field else f"network.{exc.field}"
            raise ConfigError(field, exc.value, exc.allowed) from None

    @property
    def n_patterns(self) -> int:
        """M = round(alpha c), the training-set size (dataset: data.M)."""
        if self.data.scenario == "dataset":
            return int(self.data.M)
        return self.spec().n_patterns(self.data.alpha)

    @property
    def has_teacher(self) -> bool:
        return self.data.scenario in TEACHER_SCENARIOS

    def with_seed(self) -> "RunConfig":
        """This config with a concrete seed: the given one, or a fresh draw (to be recorded with the results)."""
        if self.seed is not None:
            return self
        return self.model_copy(update={"seed": secrets.randbits(63)})

    def to_dict(self) -> dict:
        return self.model_dump(mode="python")

    def to_toml(self, comments: bool = True) -> str:
        return config_to_toml(self, comments=comments)


# ---------------------------------------------------------------------- dict / TOML <-> config

def _allowed(loc: tuple) -> str | None:
    """The allowed-range text of the field at ``loc`` (walking the model tree), if it is a known field."""
    model: type[BaseModel] = RunConfig
    info = None
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        model = info.annotation
    extra = info.json_schema_extra if info is not None else None
    return extra.get("allowed") if isinstance(extra, dict) else None


def _config_error(exc: ValidationError) -> ConfigError:
    """The first pydantic error as a ConfigError with the dotted field name and the allowed range."""
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"] if not isinstance(p, int))  # list indices: report the list field
    dotted = ".".join(loc)
    inner = err.get("ctx", {}).get("error")
    if isinstance(inner, ConfigError):  # raised by one of our validators: field relative to its section
        if "." in inner.field:
            field = inner.field
        else:
            field = ".".join(loc if loc and loc[-1] == inner.field else (*loc, inner.field))
        return ConfigError(field, inner.value, inner.allowed)
    if err["type"] == "extra_forbidden":
        section = _known_keys(loc[:-1])
        where = f"[{'.'.join(loc[:-1])}]" if loc[:-1] else "the top level"
        return ConfigError(dotted, err["input"], f"not a known key; allowed in {where}: {', '.join(section)}")
    if err["type"] in ("model_type", "dict_type") and _allowed(loc) is None:
        return ConfigError(dotted, err["input"], "a table of settings")
    allowed = _allowed(loc) or err["msg"]
    return ConfigError(dotted, err["input"], allowed)


def _known_keys(loc: tuple) -> list[str]:
    model: Any = RunConfig
    for part in loc:
        model = model.model_fields[part].annotation
    return list(model.model_fields)


def parse_config(data: dict, check_data: bool = True) -> RunConfig:
    """Validate a plain dict (as read from TOML) into a RunConfig, or raise ConfigError.

    check_data=False: leave a dataset config's data set unread (an example to print, not to run)."""
    if not isinstance(data, dict):
        raise ConfigError("config", data, "a table of settings")
    try:
        return RunConfig.model_validate(data, context={"skip_data": not check_data})
    except ValidationError as exc:
        raise _config_error(exc) from None


def read_toml_text(path: str | Path, field: str) -> str:
    """The text of a TOML input file, or a ConfigError naming ``field`` (config, sweep file, ...)."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(field, str(path), "an existing TOML file (file not found)") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError(field, str(path), f"a readable UTF-8 TOML file ({exc.__class__.__name__})") from None


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a TOML config file."""
    text = read_toml_text(path, "config")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", str(path), f"valid TOML ({exc})") from None
    return parse_config(data)


# ---------------------------------------------------------------------- --set KEY=VALUE overrides

def leaf_paths() -> dict[str, list[str]]:
    """Every settable dotted path, grouped by its leaf name (``N`` -> ``["network.N"]``)."""
    out: dict[str, list[str]] = {}
    for name, info in RunConfig.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            for leaf in sub.model_fields:
                out.setdefault(leaf, []).append(f"{name}.{leaf}")
        else:
            out.setdefault(name, []).append(name)
    return out


def resolve_key(key: str) -> str:
    """A dotted path (``mc.beta``) or an unambiguous leaf name (``beta``) -> the dotted path."""
    leaves = leaf_paths()
    dotted = {p for paths in leaves.values() for p in paths}
    if key in dotted:
        return key
    matches = leaves.get(key, [])
    if len(matches) == 1:
        return matches[0]
    allowed = "a known key (dotted path or unambiguous leaf name): " + ", ".join(sorted(dotted))
    if len(matches) > 1:
        allowed = f"an unambiguous key; {key!r} matches {', '.join(matches)}"
    raise ConfigError("--set", key, allowed)


def parse_value(text: str) -> Any:
    """A --set value: a TOML value (2, 0.5, true, [0, 10], "x"), ``null``/``none`` for unset, else a bare string."""
    if text.strip().lower() in ("null", "none"):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def apply_overrides(config: RunConfig | dict, overrides: dict[str, Any] | list[str]) -> RunConfig:
    """Apply ``{"N": 40, "mc.beta": 2}`` or ``["N=40", "mc.beta=2"]`` and re-validate the whole config."""
    data = config.to_dict() if isinstance(config, RunConfig) else dict(config)
    if isinstance(overrides, (list, tuple)):
        pairs = {}
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError("--set", item, "KEY=VALUE, e.g. N=40 or mc.beta=2")
            pairs[key.strip()] = parse_value(value)
        overrides = pairs
    for key, value in overrides.items():
        path = resolve_key(key).split(".")
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(".".join(path[:-1]), node, "a table of settings")
        node[path[-1]] = value
    return parse_config(data)


# ---------------------------------------------------------------------- writing TOML

def config_to_toml(config: RunConfig, comments: bool = True) -> str:
    """A complete TOML document; with ``comments`` every key is preceded by its description, unset keys commented out."""
    lines: list[str] = []

    def emit_fields(model: BaseModel):
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                continue
            if comments and info.description:
                lines.append(f"# {info.description}")
            if value is None:
                if comments:
                    lines.append(f"# {name} =")
            elif isinstance(value, list):  # short lists on one line: waiting_times = [0, 100]
                items = ", ".join(tomli_w.dumps({"v": v})[4:].rstrip("\n") for v in value)
                lines.append(f"{name} = [{items}]")
            else:
                lines.append(tomli_w.dumps({name: value}).rstrip("\n"))

    if comments:
        lines += ["# deepglass Monte Carlo run configuration (MODEL.md sections 2-4).",
                  "# Run it with: deepglass simulate THIS.toml --out DIR", ""]
    emit_fields(config)
    for name, info in type(config).model_fields.items():
        section = getattr(config, name)
        if isinstance(section, BaseModel):
            lines += ["", f"[{name}]"]
            emit_fields(section)
    return "\n".join(lines) + "\n"


def example_config(scenario: str = "teacher-student") -> RunConfig:
    """A small, complete example for each data scenario (runs in seconds)."""
    if scenario not in SCENARIOS:
        raise ConfigError("scenario", scenario, f"one of {', '.join(SCENARIOS)}")
    data: dict[str, Any] = {"scenario": scenario, "alpha": 1.0}
    run: dict[str, Any] = {"protocol": "learning", "t_max": 1000, "per_decade": 8, "n_samples": 4}
    if scenario == "hidden-manifold":
        data["D"] = 5
    if scenario == "teacher-student":
        run["protocol"] = "planted"
    if scenario == "dataset":   # the digits 0 and 1 (8x8): a deep network trained to E = 0 in minutes (docs/real_data.md)
        return parse_config({
            "seed": 2026,
            "network": {"N": 40, "L": 6, "kappa": 0.0},
            "data": {"scenario": "dataset", "source": "digits", "classes": [0, 1], "threshold": 0.5, "pool": 1,
                     "coding": "one-hot", "M": 100, "M_test": 150},
            "mc": {"potential": "count", "acceptance": "greedy", "delta": 0.1, "backend": "auto"},
            "run": {"protocol": "learning", "hidden_start": "forward", "t_max": 3000, "per_decade": 8,
                    "n_samples": 2},
            "replicas": {"R": 2, "waiting_times": [1500]},
        }, check_data=False)
    return parse_config({
        "seed": 1234,
        "network": {"N": 20, "L": 4, "kappa": 0.0},
        "data": data,
        "mc": {"potential": "soft", "acceptance": "greedy", "delta": 0.1},
        "run": run,
        "replicas": {"R": 4, "waiting_times": [0, 100]},
    })
