"""Model cards: ``README.md`` with YAML front matter (keys of huggingface_hub's
``ModelCardData``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["model_card", "front_matter"]

_KNOWN_SECTIONS = {
    "intended_use": "Intended use",
    "training_data": "Training data",
    "recipe": "Training recipe",
    "seeds": "Seeds",
    "limitations": "Limitations",
}


def _yaml_scalar(value: Any) -> str:
    return json.dumps(value)  # JSON strings/numbers are valid YAML scalars


def front_matter(entry: Mapping[str, Any], extra: Mapping[str, Any]) -> str:
    lic = entry.get("license") or {}
    lic_id = lic.get("id", "other") if isinstance(lic, Mapping) else str(lic)
    lines = ["---", f"license: {_yaml_scalar(lic_id or 'other')}"]
    if lic_id in ("", "other") and isinstance(lic, Mapping):
        if lic.get("name"):
            lines.append(f"license_name: {_yaml_scalar(lic['name'])}")
        if lic.get("url"):
            lines.append(f"license_link: {_yaml_scalar(lic['url'])}")
    lines.append("library_name: skelloc")
    tags = ["skeleton", "action-localization", "temporal-action-localization",
            str(entry.get("architecture", "")), *extra.get("tags", [])]
    lines.append("tags:")
    lines += [f"- {_yaml_scalar(t)}" for t in dict.fromkeys(t for t in tags if t)]
    datasets = entry.get("datasets") or []
    if datasets:
        lines.append("datasets:")
        lines += [f"- {_yaml_scalar(str(d))}" for d in datasets]
    metrics = entry.get("metrics") or {}
    names = [k for k, v in metrics.items() if isinstance(v, int | float)]
    if names:
        lines.append("metrics:")
        lines += [f"- {_yaml_scalar(n)}" for n in names]
    lines.append("---")
    return "\n".join(lines) + "\n"


def _section_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return "\n".join(f"- **{k}**: {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "\n".join(f"- {v}" for v in value)
    return str(value)


def model_card(name: str, entry: Mapping[str, Any], *, repo_id: str | None = None,
               extra: Mapping[str, Any] | None = None) -> str:
    """Render the model card of ``entry``; ``extra`` adds sections (see ``export_model``)."""
    from skelloc._version import __version__

    extra = dict(extra or {})
    repo = repo_id or "ORG/REPO"
    spec = entry.get("input_spec", {})
    labels = entry.get("labels", {}).get("names", [])
    out = [front_matter(entry, extra), f"# {name}\n", (entry.get("description") or "") + "\n"]
    out.append("Skeleton-based temporal action localisation with "
               "[skelloc](https://pypi.org/project/skelloc/) "
               f"(exported with skelloc {__version__}).\n")
    out.append("## Input\n")
    out.append("\n".join(f"- **{k}**: {v}" for k, v in spec.items()) + "\n")
    out.append(f"## Classes\n\n{len(labels)} classes (background is index {len(labels)}, last): "
               + ", ".join(labels) + "\n")
    arch = {"architecture": entry.get("architecture"), "model_args": entry.get("model_args"),
            "head": entry.get("head")}
    out.append(f"## Model\n\n```json\n{json.dumps(arch, indent=2)}\n```\n")
    for key, title in _KNOWN_SECTIONS.items():
        if key in extra:
            out.append(f"## {title}\n\n{_section_text(extra[key])}\n")
    if entry.get("datasets") and "training_data" not in extra:
        out.append("## Training data\n\n" + ", ".join(entry["datasets"]) + "\n")
    metrics = entry.get("metrics") or {}
    if metrics:
        rows = "\n".join(f"| {k} | {v} |" for k, v in metrics.items())
        out.append(f"## Evaluation\n\n| metric | value |\n|---|---|\n{rows}\n")
    for key, value in extra.items():
        if key not in _KNOWN_SECTIONS and key not in ("tags", "paper"):
            out.append(f"## {key.replace('_', ' ').capitalize()}\n\n{_section_text(value)}\n")
    lic = entry.get("license") or {}
    if lic:
        out.append("## License\n\n" + _section_text(lic) + "\n")
    out.append(
        "## How to load\n\n```python\nimport skelloc\n"
        f"model = skelloc.load(\"hf-hub:{repo}@<commit>\")\n"
        "segments = model.localize(joints)  # (T, M, V, C) array\n```\n")
    out.append(
        "## Publishing this folder\n\n"
        f"```bash\nhf upload {repo} . . --repo-type model\n```\n\n"
        "Then pin the commit that the upload printed (a 40-hex id, not a branch): add "
        f"`\"hub\": {{\"repo_id\": \"{repo}\", \"revision\": \"<commit>\"}}` to this model's entry "
        "in `weights_manifest.json`, or load it with `hf-hub:" + repo + "@<commit>`. Every file "
        "is verified against the SHA-256 and size in the manifest.\n")
    if entry.get("citation"):
        out.append(f"## Citation\n\n```bibtex\n{entry['citation']}\n```\n")
    return "\n".join(out)
