#!/usr/bin/env python3
"""Writes the starting inputs of the fuzz targets into seeds/TARGET/ (checked in).

Run from anywhere: python3 fuzz/make-seeds.py (needs PyYAML and the zstd command). Inputs are built from the repository's own
test data (crates/ferry-transform/testdata, docs/transform-rules.md) and a few hand-written
YAML cases; archive seeds are tar streams laid out as docs/archive-format.md describes.
Files named regression-* are kept: they are inputs that once broke a contract.
"""
import hashlib
import io
import json
import pathlib
import subprocess
import tarfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
TESTDATA = sorted((ROOT / "crates/ferry-transform/testdata/kube-no-trouble").glob("*.yaml"))
VERSIONS = 6  # the transform target picks one of six target versions by its first byte

HANDWRITTEN_YAML = {
    "anchors.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: a, namespace: shop}\ndata:\n  base: &b {x: '1'}\n  more: {<<: *b, y: '2'}\n",
    "multi.yaml": "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n# empty\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {ports: [{port: 80}]}}\n",
    "json.yaml": '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generateName": "web-"}, "spec": {"replicas": 1.0}}\n',
    "scalars.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"s\"\ndata:\n  a: 0755\n  b: on\n  c: !!str 12\n  d: |\n    text\n  e: >-\n    folded\n  f: ~\n  g: 1e3\n  h: 'it''s'\n",
    "helm.yaml": "# Source: chart/templates/web.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n",
    "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
}


def write(target, name, data):
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def archive_tar(objects):
    """A ferry.archive/v1 tar stream holding `objects` (GNU format, manifest last)."""
    out = io.BytesIO()
    entries = []
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for obj in objects:
            api_version, kind, meta = obj["apiVersion"], obj["kind"], obj["metadata"]
            group = api_version.split("/")[0] if "/" in api_version else "core"
            namespace = meta.get("namespace")
            path = f"objects/{group}/{kind}/{namespace or '_cluster'}/{meta['name']}.json"
            data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
            add(tar, path, data)
            entry = {"apiVersion": api_version, "kind": kind}
            if namespace:
                entry["namespace"] = namespace
            entry.update({"name": meta["name"], "resource": kind.lower() + "s", "path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
            entries.append(entry)
        header = {"source": {"context": "old", "serverVersion": "v1.20.2"}, "created": "2026-12-07T00:00:00Z",
                  "filters": {"namespaces": [], "selector": None, "include": [], "exclude": [], "includeGenerated": False}}
        manifest = json.dumps({"format": "ferry.archive/v1", "header": header, "objects": entries}, indent=2).encode() + b"\n"
        add(tar, "manifest.json", manifest)
    return out.getvalue()


def add(tar, path, data):
    info = tarfile.TarInfo(path)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def main():
    objects = [doc for path in TESTDATA for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict) and "name" in (doc.get("metadata") or {})]
    for path in TESTDATA:
        write("yaml", path.name, path.read_bytes())
    for name, text in HANDWRITTEN_YAML.items():
        write("yaml", name, text.encode())
    for i, obj in enumerate(objects):
        write("transform", f"{obj['kind'].lower()}-{i}.json", bytes([i % VERSIONS]) + json.dumps(obj).encode())
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "data": {"password": "c2VjcmV0"}, "type": "Opaque"}
    write("transform", "secret.json", b"\x03" + json.dumps(secret).encode())
    small = [secret, objects[0], objects[1]]
    tars = {"empty": archive_tar([]), "three": archive_tar(small), "one": archive_tar([objects[2]])}
    for name, tar in tars.items():
        write("archive_plain", f"tar-{name}", b"\x01" + tar)
        write("archive_plain", f"zstd-{name}", b"\x00" + subprocess.run(["zstd", "-q", "-c"], input=tar, capture_output=True, check=True).stdout)
        write("archive_encrypted", f"sealed-{name}", b"\x01" + tar)
        write("archive_encrypted", f"changed-{name}", b"\x02\x00\x40\x01" + tar)
        write("archive_encrypted", f"cut-{name}", b"\x02\x00\x30\x00" + tar)
    write("archive_encrypted", "header", b"\x00FERRYENC\x01" + bytes(35))
    doc = (ROOT / "docs/transform-rules.md").read_text()
    example = doc.split("```yaml\n")[1].split("```")[0]
    write("rules", "documented.yaml", example.encode())
    write("rules", "minimal.yaml", b"apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\n")
    write("rules", "bad-patch.yaml", b"apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\npatches:\n- match: {kinds: ['*/*'], name: '(a|b)*c'}\n  jsonPatch: [{op: remove, path: /spec}]\n  mergePatch: {}\n")


if __name__ == "__main__":
    main()
