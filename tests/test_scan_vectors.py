"""Frozen scan-order test vectors (formats/testvectors/attributes-manifest.json, recorded by
make_attr_vectors.py --record scan): the golden file scan-v1.pcs decodes to the recorded
points and fields forever, strips like any file, and every scan-broken-*.pcs (valid
container, damaged codec-8/9 header, payload or inline payload) gives its typed error
(checked by tests/test_attributes.py::test_broken_attribute_chunks) and a specific
`pcstream verify` exit code."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pcstream.geometry", reason="geometry codec not built")

import pcstream  # noqa: E402
from pcstream import cli  # noqa: E402

VECTORS = Path(__file__).resolve().parent.parent / "formats" / "testvectors"
MANIFEST = json.loads((VECTORS / "attributes-manifest.json").read_text())
SCAN = MANIFEST["scan_pcs"]
BROKEN = [b for b in MANIFEST["broken"] if b["file"].startswith("scan-broken-")]


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_golden_scan_file_decodes_forever():
    data = (VECTORS / SCAN["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCAN["sha256"]
    r = pcstream.open(data)
    r.verify()
    assert r.metadata["geometry_codec"] == 8
    assert [a["name"] for a in r.metadata["attributes"] if "inline" in (a.get("params") or {})] == SCAN["inline"]
    out = pcstream.decode(data)
    assert len(out) == SCAN["points"] and out.complete
    assert _sha(out.xyz.astype(np.float64)) == SCAN["xyz_sha256"]
    assert {k: _sha(v) for k, v in out.attributes.items()} == SCAN["attributes"]


def test_golden_scan_file_progressive_decoder():
    data = (VECTORS / SCAN["file"]).read_bytes()
    dec = pcstream.ProgressiveDecoder()
    dec.feed(data)
    out = dec.close()
    assert len(out) == SCAN["points"] and _sha(out.xyz.astype(np.float64)) == SCAN["xyz_sha256"]
    assert {k: _sha(v) for k, v in out.attributes.items()} == SCAN["attributes"]


def test_golden_scan_file_strips_every_field(tmp_path):
    """Dropping any one field (chunked or inline) leaves the others bit-exact."""
    src = VECTORS / SCAN["file"]
    for name in SCAN["attributes"]:
        out = tmp_path / f"no-{name}.pcs"
        assert cli.main(["strip", "-q", str(src), str(out), "--drop", name]) == cli.EXIT_OK
        c = pcstream.decode(out.read_bytes())
        assert {k: _sha(v) for k, v in c.attributes.items()} == \
            {k: h for k, h in SCAN["attributes"].items() if k != name}


def test_scan_broken_files_are_listed():
    assert len(BROKEN) >= 12
    assert {b["file"] for b in BROKEN} == {p.name for p in VECTORS.glob("scan-broken-*.pcs")}


@pytest.mark.parametrize("entry", BROKEN, ids=[b["file"] for b in BROKEN])
def test_scan_broken_file_verify_exit_code(entry, capsys):
    code = cli.main(["verify", str(VECTORS / entry["file"])])
    err = capsys.readouterr().err
    assert code in (cli.EXIT_STRUCTURE, cli.EXIT_PAYLOAD, cli.EXIT_LIMIT, cli.EXIT_TRUNCATED), (code, err)
    assert err.count("\n") == 1 and entry["file"] in err
