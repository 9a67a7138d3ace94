"""Manifest schema validation and the merged registry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from skelloc.errors import ManifestError, UnknownModelError
from skelloc.hub import manifest as m
from skelloc.hub.api import default_model_name, list_models, parse_identifier, register_manifest

from .mockhub import make_entry, write_manifest

FILES = {"encoder": ("encoder.safetensors", b"x" * 10), "head": ("head.safetensors", b"y" * 5)}


def test_packaged_manifest_is_valid_and_has_no_test_entries() -> None:
    path = m.packaged_manifest_path()
    assert path is not None and path.name == "weights_manifest.json"
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == 1
    parsed = m.read_manifest(path)
    assert not any(n.startswith("tiny") for n in parsed.models)


def test_entry_fields_are_parsed() -> None:
    entry = m.parse_entry("tiny", make_entry(FILES, classifier_keys=["fc.weight", "fc.bias"],
                                             aliases=["t"]))
    assert entry.architecture == "stgcn" and entry.num_classes == 3
    assert entry.files["head"].size == 5 and entry.files["head"].source == "hub"
    assert entry.hub is not None and entry.hub.revision.startswith("0123")
    assert entry.classifier_keys == ["fc.weight", "fc.bias"] and entry.aliases == ["t"]


def test_entry_fields_use_the_model_config_vocabulary() -> None:
    """Typed fields: the entry's InputSpec and ModelConfig are those its weights files carry."""
    from skelloc.model_config import InputSpec, ModelConfig

    data = make_entry(FILES)
    data["inference"] = {"window": 512}
    entry = m.parse_entry("tiny", data)
    assert isinstance(entry.input_spec, InputSpec) and entry.input_spec.fps == float(
        data["input_spec"].get("fps", 30.0))
    assert entry.config == ModelConfig(entry.architecture, entry.model_args, entry.head_name,
                                       entry.head_args, 3, {"window": 512})
    assert entry.task == "temporal-action-localization"


@pytest.mark.parametrize("mutate, needle", [
    (lambda e: e.pop("architecture"), "architecture"),
    (lambda e: e["hub"].update(revision="main"), "40-hex"),
    (lambda e: e["hub"].update(repo_id="noslash"), "org/name"),
    (lambda e: e["files"]["encoder"].update(sha256="abc"), "sha256"),
    (lambda e: e["files"]["encoder"].update(size=-1), "size"),
    (lambda e: e["files"]["encoder"].update(filename="../../etc/passwd"), "traversal"),
    (lambda e: e["files"]["encoder"].update(filename="/abs/enc.safetensors"), "traversal"),
    (lambda e: e["files"]["encoder"].update(filename="a\\b.safetensors"), "traversal"),
    (lambda e: e["files"]["encoder"].update(filename="enc.pt", format="pickle"), "pickle"),
    (lambda e: e["files"].pop("encoder"), "encoder"),
    (lambda e: e["labels"].update(background_index=0), "background"),
    (lambda e: e["labels"].update(num_classes=7), "num_classes"),
    (lambda e: e["files"]["encoder"].update(source="ftp"), "source"),
    (lambda e: e.update(skelloc_min_version="99.0"), "upgrade skelloc"),
    (lambda e: e["input_spec"].update(joint_layout="ntu25"), "input_spec.joint_layout"),
    (lambda e: e["input_spec"].update(num_joints="25"), "input_spec.num_joints"),
    (lambda e: e["input_spec"].update(fps=-1.0), "invalid input spec"),
    (lambda e: e.update(inference={"beam": 3}), "inference"),
    (lambda e: e.update(task=3), "task"),
])
def test_invalid_entries_are_refused(mutate, needle: str) -> None:
    entry = make_entry(FILES)
    mutate(entry)
    with pytest.raises(ManifestError, match=needle):
        m.parse_entry("tiny", entry, "test.json")


def test_schema_version_and_top_level(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="upgrade skelloc"):
        m.parse_manifest({"schema_version": 2, "models": {}})
    with pytest.raises(ManifestError, match="schema_version"):
        m.parse_manifest({"models": {}})
    with pytest.raises(ManifestError, match="default"):
        m.parse_manifest({"schema_version": 1, "models": {}, "default": "nope"})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        m.read_manifest(bad)


def test_extra_manifests_from_env_and_register(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_manifest(tmp_path / "a.json", {"m10": make_entry(FILES), "m2": make_entry(FILES)})
    b = write_manifest(tmp_path / "b.json", {"other": make_entry(FILES, aliases=["oth"])},
                       default="oth")
    monkeypatch.setenv("SKELLOC_MANIFEST", os.pathsep.join([str(a), str(b)]))
    assert list_models("m*") == ["m2", "m10"]  # natural sort
    assert default_model_name() == "other"  # via the alias
    assert m.get_entry("oth").name == "other"
    c = write_manifest(tmp_path / "c.json", {"private-x": make_entry(FILES)})
    assert register_manifest(c) == ["private-x"]
    assert "private-x" in list_models()
    monkeypatch.delenv("SKELLOC_MANIFEST")
    assert "m2" not in list_models()  # read at call time


def test_conflicting_definitions_and_unknown_names(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_manifest(tmp_path / "a.json", {"dup": make_entry(FILES)})
    b = write_manifest(tmp_path / "b.json", {"dup": make_entry(FILES, description="other")})
    monkeypatch.setenv("SKELLOC_MANIFEST", os.pathsep.join([str(a), str(b)]))
    with pytest.raises(ManifestError, match="defined differently"):
        list_models()
    monkeypatch.setenv("SKELLOC_MANIFEST", str(a))
    with pytest.raises(UnknownModelError, match="Did you mean: dup"):
        m.get_entry("dupp")
    monkeypatch.setenv("SKELLOC_MANIFEST", str(tmp_path / "missing.json"))
    with pytest.raises(ManifestError, match="does not exist"):
        list_models()


def test_packaged_default_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packaged = json.loads((Path(__file__).parents[2] / "weights_manifest.json").read_text())
    assert default_model_name() == packaged["default"]
    extra = tmp_path / "extra.json"
    write_manifest(extra, {"mine": make_entry({"encoder": ("mine.safetensors", b"x")})},
                   default="mine")
    monkeypatch.setenv("SKELLOC_MANIFEST", str(extra))
    assert default_model_name() == "mine"  # the extra manifest's default wins


def test_identifier_grammar(tmp_path: Path) -> None:
    assert parse_identifier("tiny") == parse_identifier("tiny")
    assert parse_identifier("tiny@abc").revision == "abc"
    hub = parse_identifier("hf-hub:org/repo@" + "a" * 40)
    assert (hub.kind, hub.value, hub.revision) == ("hf-hub", "org/repo", "a" * 40)
    assert parse_identifier(f"local-dir:{tmp_path}").kind == "local"
    assert parse_identifier(str(tmp_path)).kind == "local"
    with pytest.raises(UnknownModelError, match="local-dir:"):
        parse_identifier("org/not-a-path")
    with pytest.raises(UnknownModelError, match="hf-hub:org/repo"):
        parse_identifier("hf-hub:justone")


def test_default_2d(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    tiny_files: dict[str, tuple[str, bytes]]) -> None:
    doc = {"schema_version": 1, "models": {"flat": make_entry(tiny_files)},
           "default": "flat", "default_2d": "flat"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setenv("SKELLOC_MANIFEST", str(path))
    assert default_model_name("2d") == "flat" == default_model_name("3d")
    with pytest.raises(UnknownModelError):
        default_model_name("4d")
    doc["default_2d"] = "nope"
    path.write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match="default_2d model 'nope'"):
        m.read_manifest(path)
