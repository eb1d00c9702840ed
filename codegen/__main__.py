"""``python -m codegen`` (``make generate``): parse → model → render, then report.

    python -m codegen            regenerate generated/ and docs/tools.md, print the manifest diff
    python -m codegen --check    regenerate into a temporary directory and fail (exit 1), naming
                                 the files, when generated/ or docs/tools.md differ

Deterministic and offline: the same inputs give byte-identical output.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import client, model, parse, render, report
from .problems import GenerationFailed, Problems

ROOT = Path(__file__).resolve().parent.parent
DOCS = "docs/tools.md"


def generate_into(root: Path, out_dir: Path, docs_path: Path) -> Problems:
    """Run every step, writing ``out_dir`` (fresh) and ``docs_path``; raise on errors."""
    problems = Problems()
    inputs = parse.load_inputs(root, problems)
    if problems.errors:
        raise GenerationFailed(problems)
    built = model.build_model(inputs, problems)
    if problems.errors:
        raise GenerationFailed(problems)
    out_dir.mkdir(parents=True, exist_ok=True)
    client.generate_client(inputs.spec.path, out_dir, problems)
    client.generate_models(inputs.spec.path, built.object_schema, out_dir, problems)
    if problems.errors:
        raise GenerationFailed(problems)
    operations = client.read_operations(out_dir / "client", built.operations, problems)
    overrides = render.find_overrides(root / "overrides")
    render.render_all(built, operations, inputs, out_dir, docs_path, overrides)
    render.format_python([out_dir])
    manifest = {
        "generator": "ontraport-mcp codegen",
        "inputs": {src.rel: src.sha for src in (inputs.spec, inputs.meta, inputs.catalog)},
        "generators": _generator_versions(),
        "tools": len(built.tools),
        "operations": len(operations),
        "object_types": len(built.object_schema["$defs"]),
    }
    (out_dir / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if problems.errors:
        raise GenerationFailed(problems)
    return problems


def _generator_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        name: version(name)
        for name in ("openapi-python-client", "datamodel-code-generator", "black")
    }


def _differences(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two trees (added, removed or changed)."""
    diffs: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        for name in cmp.left_only:
            diffs.append(f"{prefix}{name} (would be created)")
        for name in cmp.right_only:
            if name != "__pycache__":
                diffs.append(f"{prefix}{name} (should not exist)")
        for name in cmp.common_files:
            if (Path(cmp.left) / name).read_bytes() != (Path(cmp.right) / name).read_bytes():
                diffs.append(f"{prefix}{name} (differs)")
        for name, sub in cmp.subdirs.items():
            if name != "__pycache__":
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), "generated/")
    return sorted(diffs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when generated/ is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="project root (default: this repo)")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="codegen-") as tmp:
        out_dir = Path(tmp) / "generated"
        docs_path = Path(tmp) / "tools.md"
        try:
            problems = generate_into(root, out_dir, docs_path)
        except GenerationFailed as failed:
            print(failed.problems.summary(), file=sys.stderr)
            print("make generate: failed, nothing was written", file=sys.stderr)
            return 2
        new_catalog = json.loads((out_dir / "catalog.json").read_text())
        changes = report.diff_catalogs(report.committed_catalog(root), new_catalog)
        if args.check:
            stale = _differences(out_dir, root / "generated")
            docs = root / DOCS
            if not docs.exists() or docs.read_bytes() != docs_path.read_bytes():
                stale.append(f"{DOCS} (differs)")
            if stale:
                print("generated/ is stale; run `make generate` and commit. Differences:")
                print("\n".join(f"  {line}" for line in stale))
                if changes:
                    print("Tool manifest changes against the committed catalog:")
                    print("\n".join(f"  {line}" for line in changes))
                return 1
            print(f"generated/ is up to date ({time.perf_counter() - started:.1f} s)")
            return 0
        target = root / "generated"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(out_dir, target)
        (root / DOCS).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(docs_path, root / DOCS)
    if problems.items:
        print(problems.summary())
    print("Tool manifest changes against the committed catalog:")
    print("\n".join(f"  {line}" for line in changes) if changes else "  no change")
    print(f"make generate: done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
