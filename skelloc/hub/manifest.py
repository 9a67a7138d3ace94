"""``weights_manifest.json``: schema, validation and the registry of known models (docs/design/hub.md#manifest).

The packaged manifest (``skelloc/weights_manifest.json`` in a wheel, ``weights_manifest.json`` at
the root of a source checkout) is the trust root.  Extra manifests for private or self-hosted
models come from ``SKELLOC_MANIFEST`` (an :data:`os.pathsep`-separated list, read at call time)
and :func:`register_manifest`; their entries are validated and verified exactly like the
packaged ones.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import json
import logging
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from skelloc.errors import ConfigError, ManifestError, UnknownModelError
from skelloc.model_config import InputSpec, ModelConfig

__all__ = [
    "SCHEMA_VERSION",
    "FileSpec",
    "HubRef",
    "ModelEntry",
    "Manifest",
    "parse_manifest",
    "parse_entry",
    "parse_input_spec",
    "read_manifest",
    "packaged_manifest_path",
    "register_manifest",
    "registry",
    "get_entry",
    "natural_key",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ROLES = ("encoder", "head", "config", "labels")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
# the manifest's input_spec: InputSpec's fields (same names) and one informational extra
_INPUT_KEYS = {"layout": str, "num_joints": int, "channels": int, "fps": (int, float),
               "normalization": str, "max_persons": int, "coordinate_frame": str,
               "confidence": bool}
DEFAULT_TASK = "temporal-action-localization"


def natural_key(s: str) -> list[Any]:
    """Sort key that orders ``m2`` before ``m10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


@dataclass(frozen=True)
class FileSpec:
    """One weights file of a model: path in the repo, SHA-256, size, format, source."""

    role: str
    filename: str
    sha256: str
    size: int
    format: str = "safetensors"
    source: str = "hub"  # "hub" or "package"


@dataclass(frozen=True)
class HubRef:
    """Where the files live on the Hub, pinned to a 40-hex commit."""

    repo_id: str
    revision: str
    repo_type: str = "model"
    tag: str | None = None


@dataclass
class ModelEntry:
    """A validated manifest entry (``raw`` keeps the JSON for ``info`` and staging).

    The model fields use the vocabulary of :class:`~skelloc.model_config.ModelConfig` and
    :class:`~skelloc.model_config.InputSpec` (the weights files' metadata): :attr:`config` is
    the entry's ``ModelConfig``.
    """

    name: str
    architecture: str
    model_args: dict[str, Any]
    input_spec: InputSpec
    label_names: list[str]
    head_name: str | None
    head_args: dict[str, Any]
    classifier_keys: list[str]
    files: dict[str, FileSpec]
    hub: HubRef | None = None
    mirrors: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    origin: str = "<memory>"
    inference: dict[str, Any] = field(default_factory=dict)
    task: str = DEFAULT_TASK
    output: str = "softmax"

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def config(self) -> ModelConfig:
        """The model configuration this entry describes (as stored in its weights files)."""
        return ModelConfig(self.architecture, dict(self.model_args), self.head_name,
                           dict(self.head_args), self.num_classes, dict(self.inference),
                           self.output)

    @property
    def license_id(self) -> str:
        lic = self.raw.get("license")
        if isinstance(lic, dict):
            return str(lic.get("id", ""))
        return str(lic or "")

    def weight_files(self, load_head: bool = True) -> list[FileSpec]:
        """The safetensors files needed to build the model (encoder, then head)."""
        roles = ["encoder", "head"] if load_head else ["encoder"]
        return [self.files[r] for r in roles if r in self.files]

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)


@dataclass
class Manifest:
    """A parsed manifest file."""

    schema_version: int
    models: dict[str, ModelEntry]
    default: str | None = None
    origin: str = "<memory>"
    #: the model for 2D keypoint input when none is named (``default`` stays the 3D one)
    default_2d: str | None = None


# --------------------------------------------------------------------------- validation
def _fail(origin: str, where: str, msg: str) -> ManifestError:
    return ManifestError(f"{origin}: {where}: {msg}")


def _check_filename(origin: str, where: str, filename: Any) -> str:
    if not isinstance(filename, str) or not filename:
        raise _fail(origin, where, "filename must be a non-empty string")
    p = PurePosixPath(filename)
    if ("\\" in filename or filename.startswith("/") or re.match(r"^[A-Za-z]:", filename)
            or any(part in ("..", ".", "") for part in filename.split("/"))
            or p.is_absolute()):
        raise _fail(origin, where, f"unsafe filename {filename!r}: must be a relative path "
                    "without '..', '.', backslashes or a drive (path traversal refused)")
    return filename


def _version_tuple(v: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", v.split("+")[0])
    return tuple(int(x) for x in parts[:3])


def parse_entry(name: str, data: Any, origin: str = "<memory>") -> ModelEntry:
    """Validate one entry; raise :class:`ManifestError` saying which field is wrong."""
    where = f"models.{name}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(origin, where, "model names are lowercase kebab-case ([a-z0-9._-])")
    if not isinstance(data, dict):
        raise _fail(origin, where, "entry must be an object")

    def need(key: str, typ: type | tuple[type, ...]) -> Any:
        if key not in data:
            raise _fail(origin, where, f"missing required field {key!r}")
        if not isinstance(data[key], typ):
            raise _fail(origin, f"{where}.{key}", f"must be {getattr(typ, '__name__', typ)}")
        return data[key]

    architecture = need("architecture", str)
    model_args = need("model_args", dict)
    input_spec = parse_input_spec(need("input_spec", dict), origin, f"{where}.input_spec")
    labels = need("labels", dict)
    names = labels.get("names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _fail(origin, f"{where}.labels.names", "must be a list of class names")
    if "num_classes" in labels and labels["num_classes"] != len(names):
        raise _fail(origin, f"{where}.labels", f"num_classes={labels['num_classes']} but "
                    f"{len(names)} names")
    bg = labels.get("background_index", len(names))
    if bg != len(names):
        raise _fail(origin, f"{where}.labels.background_index",
                    f"must be {len(names)} (skelloc puts background last)")
    head = data.get("head", {})
    if not isinstance(head, dict):
        raise _fail(origin, f"{where}.head", "must be an object")
    head_name = head.get("name", "ufusion" if "head" in data.get("files", {}) else None)
    if head_name is not None and not isinstance(head_name, str):
        raise _fail(origin, f"{where}.head.name", "must be a string or null")
    head_args = head.get("args", {})
    ckeys = head.get("classifier_keys", [])
    if not isinstance(head_args, dict):
        raise _fail(origin, f"{where}.head.args", "must be an object")
    if not isinstance(ckeys, list) or not all(isinstance(k, str) for k in ckeys):
        raise _fail(origin, f"{where}.head.classifier_keys", "must be a list of tensor names")

    files_raw = need("files", dict)
    files: dict[str, FileSpec] = {}
    for role, f in files_raw.items():
        fw = f"{where}.files.{role}"
        if role not in ROLES:
            raise _fail(origin, fw, f"unknown role (expected one of {', '.join(ROLES)})")
        if not isinstance(f, dict):
            raise _fail(origin, fw, "must be an object")
        filename = _check_filename(origin, fw, f.get("filename"))
        sha = f.get("sha256")
        if not isinstance(sha, str) or not _HEX64.match(sha):
            raise _fail(origin, f"{fw}.sha256", "must be 64 lowercase hex characters")
        size = f.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _fail(origin, f"{fw}.size", "must be a non-negative integer (bytes)")
        fmt = f.get("format", "safetensors" if filename.endswith(".safetensors") else "json")
        if role in ("encoder", "head") and fmt != "safetensors":
            raise _fail(origin, f"{fw}.format", "weights must be safetensors (pickle is refused)")
        source = f.get("source", "hub")
        if source not in ("hub", "package"):
            raise _fail(origin, f"{fw}.source", "must be 'hub' or 'package'")
        files[role] = FileSpec(role, filename, sha, size, fmt, source)
    if "encoder" not in files:
        raise _fail(origin, f"{where}.files", "an 'encoder' file is required")
    if ("head" in files) != (head_name is not None):
        raise _fail(origin, f"{where}.head", "head.name and files.head must be given together")

    hub = None
    if data.get("hub") is not None:
        h = data["hub"]
        if not isinstance(h, dict):
            raise _fail(origin, f"{where}.hub", "must be an object")
        repo_id, revision = h.get("repo_id"), h.get("revision")
        if not isinstance(repo_id, str) or not _REPO.match(repo_id):
            raise _fail(origin, f"{where}.hub.repo_id", f"{repo_id!r} is not 'org/name'")
        if not isinstance(revision, str) or not _HEX40.match(revision):
            raise _fail(origin, f"{where}.hub.revision", f"{revision!r} is not a 40-hex commit; "
                        "branch and tag names are refused (pin the commit, put the tag in 'tag')")
        hub = HubRef(repo_id, revision, str(h.get("repo_type", "model")), h.get("tag"))
    needs_hub = [f.role for f in files.values() if f.source == "hub"]
    mirrors = data.get("mirrors", [])
    if not isinstance(mirrors, list) or not all(isinstance(m, str) for m in mirrors):
        raise _fail(origin, f"{where}.mirrors", "must be a list of URL templates")
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise _fail(origin, f"{where}.aliases", "must be a list of names")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(origin, f"{where}.description", "must be a string")
    min_version = data.get("skelloc_min_version")
    if min_version is not None:
        from skelloc._version import __version__

        if _version_tuple(__version__) < _version_tuple(str(min_version)):
            raise ManifestError(f"{origin}: model {name!r} needs skelloc>={min_version}, but "
                                f"{__version__} is installed; upgrade skelloc "
                                "(pip install -U skelloc)")
    if needs_hub and hub is None:
        log.debug("%s: %s has no 'hub' section; files only from local folders", origin, name)
    inference = data.get("inference", {})
    task = data.get("task", DEFAULT_TASK)
    if not isinstance(task, str):
        raise _fail(origin, f"{where}.task", "must be a string")
    entry = ModelEntry(
        name=name, architecture=architecture, model_args=dict(model_args),
        input_spec=input_spec, label_names=list(names), head_name=head_name,
        head_args=dict(head_args), classifier_keys=list(ckeys), files=files, hub=hub,
        mirrors=list(mirrors), aliases=list(aliases), description=description,
        raw=copy.deepcopy(data), origin=origin,
        inference=dict(inference) if isinstance(inference, dict) else inference, task=task,
        output=data.get("output", "softmax"),
    )
    if not isinstance(inference, dict):
        raise _fail(origin, f"{where}.inference", "must be an object")
    try:
        entry.config  # noqa: B018 - validates the inference keys and the output
    except ConfigError as err:
        raise _fail(origin, where, str(err)) from None
    return entry


def parse_input_spec(data: dict[str, Any], origin: str, where: str) -> InputSpec:
    """A manifest's ``input_spec`` (the :class:`InputSpec` fields; ``coordinate_frame`` is
    informational) as an :class:`InputSpec`."""
    for k, v in data.items():
        typ = _INPUT_KEYS.get(k)
        if typ is None:
            raise _fail(origin, f"{where}.{k}", f"unknown field (known: {', '.join(_INPUT_KEYS)})")
        if not isinstance(v, typ) or (isinstance(v, bool) and typ is not bool):  # type: ignore[arg-type]
            raise _fail(origin, f"{where}.{k}", f"has the wrong type ({v!r})")
    try:
        return InputSpec.from_dict({k: float(v) if k == "fps" else v for k, v in data.items()
                                    if k != "coordinate_frame"})
    except ConfigError as err:
        raise _fail(origin, where, str(err)) from None


def parse_manifest(data: Any, origin: str = "<memory>") -> Manifest:
    """Validate a whole manifest document."""
    if not isinstance(data, dict):
        raise ManifestError(f"{origin}: a manifest must be a JSON object")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ManifestError(f"{origin}: missing or invalid 'schema_version'")
    if version != SCHEMA_VERSION:
        raise ManifestError(f"{origin}: schema_version {version} is not supported by this "
                            f"skelloc (knows {SCHEMA_VERSION}); upgrade skelloc")
    models_raw = data.get("models")
    if not isinstance(models_raw, dict):
        raise ManifestError(f"{origin}: 'models' must be an object of name -> entry")
    models = {n: parse_entry(n, e, origin) for n, e in models_raw.items()}
    known = set(models) | {a for e in models.values() for a in e.aliases}
    for key in ("default", "default_2d"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ManifestError(f"{origin}: {key!r} must be a model name")
        if value not in known:
            raise ManifestError(f"{origin}: {key} model {value!r} is not in this manifest")
    unknown = set(data) - {"schema_version", "models", "default", "default_2d", "$schema",
                           "comment"}
    if unknown:
        raise ManifestError(f"{origin}: unknown top-level keys {sorted(unknown)}")
    return Manifest(version, models, data.get("default"), origin, data.get("default_2d"))


_READ_MEMO: dict[tuple[str, int, int], Manifest] = {}


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and validate a manifest file (memoised by path, size and mtime)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as err:
        raise ManifestError(f"manifest {p} cannot be read: {err}") from err
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key in _READ_MEMO:
        return _READ_MEMO[key]
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"manifest {p} is not valid JSON: {err}") from err
    manifest = parse_manifest(data, str(p))
    _READ_MEMO[key] = manifest
    return manifest


# --------------------------------------------------------------------------- registry
_REGISTERED: list[Path] = []


def packaged_manifest_path() -> Path | None:
    """The packaged manifest: inside the installed package, else the source checkout's root."""
    try:
        candidate = resources.files("skelloc").joinpath("weights_manifest.json")
        if candidate.is_file():
            return Path(str(candidate))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):  # pragma: no cover
        pass
    root = Path(__file__).resolve().parents[2] / "weights_manifest.json"
    return root if root.is_file() else None


def register_manifest(path: str | os.PathLike[str]) -> list[str]:
    """Add a manifest of private or self-hosted models; returns the model names it defines."""
    p = Path(path).expanduser().resolve()
    manifest = read_manifest(p)  # validate now: fail at registration, not at first load
    if p not in _REGISTERED:
        _REGISTERED.append(p)
    return sorted(manifest.models, key=natural_key)


def _manifest_paths() -> list[tuple[Path, bool]]:
    out: list[tuple[Path, bool]] = []
    pkg = packaged_manifest_path()
    if pkg is not None:
        out.append((pkg, True))
    env = os.environ.get("SKELLOC_MANIFEST", "")
    for part in env.split(os.pathsep):
        if part.strip():
            out.append((Path(part.strip()).expanduser().resolve(), False))
    out.extend((p, False) for p in _REGISTERED)
    seen: set[Path] = set()
    unique = []
    for p, packaged in out:
        if p not in seen:
            seen.add(p)
            unique.append((p, packaged))
    return unique


@dataclass
class Registry:
    """All known entries, merged from every manifest (built at call time)."""

    models: dict[str, ModelEntry]
    aliases: dict[str, str]
    default: str | None
    sources: list[str]
    default_2d: str | None = None

    def canonical(self, name: str) -> str:
        if name in self.models:
            return name
        if name in self.aliases:
            return self.aliases[name]
        close = difflib.get_close_matches(name, [*self.models, *self.aliases], n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownModelError(f"unknown model {name!r}.{hint} Run 'skelloc list' to see the "
                                "available models.")

    def get(self, name: str) -> ModelEntry:
        return self.models[self.canonical(name)]

    def names(self, pattern: str = "*") -> list[str]:
        return sorted((n for n in self.models if fnmatch.fnmatchcase(n, pattern)),
                      key=natural_key)


def registry() -> Registry:
    """Merge the packaged manifest, ``SKELLOC_MANIFEST`` and :func:`register_manifest` files.

    A name defined differently by two manifests is an error.  The ``default`` of the last extra
    manifest that sets one overrides the packaged default.
    """
    models: dict[str, ModelEntry] = {}
    aliases: dict[str, str] = {}
    default: str | None = None
    default_2d: str | None = None
    sources = []
    for path, packaged in _manifest_paths():
        if not packaged and not path.is_file():
            raise ManifestError(f"manifest {path} (from SKELLOC_MANIFEST or register_manifest) "
                                "does not exist")
        manifest = read_manifest(path)
        sources.append(str(path))
        for name, entry in manifest.models.items():
            prev = models.get(name)
            if prev is not None and prev.raw != entry.raw:
                raise ManifestError(f"model {name!r} is defined differently in {prev.origin} "
                                    f"and {entry.origin}; rename one of them")
            models[name] = entry
        if manifest.default is not None:
            default = manifest.default
        if manifest.default_2d is not None:
            default_2d = manifest.default_2d
    for name, entry in models.items():
        for alias in entry.aliases:
            if alias in models or aliases.get(alias, name) != name:
                raise ManifestError(f"alias {alias!r} of {name!r} clashes with another model")
            aliases[alias] = name
    default = aliases.get(default, default) if default is not None else None
    default_2d = aliases.get(default_2d, default_2d) if default_2d is not None else None
    return Registry(models, aliases, default, sources, default_2d)


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name`` or one of its aliases (:class:`UnknownModelError` otherwise)."""
    return registry().get(name)
