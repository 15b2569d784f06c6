"""Run the commands that README.md (and docs/api.md, its API section) show to users.

Fenced blocks marked for testing are those with info string ``sh`` (or ``python``) whose
first line is ``# test:``. Shell blocks run with bash -e in a fresh temporary folder;
``pip install`` steps and test-suite runs (``pytest``) are skipped (the suite is already
running in an installed environment). When the ``pcstream`` command is not installed
(developer checkout), a shim running ``python -m pcstream.cli`` stands in for it.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pcstream.geometry", reason="geometry codec not built")
pytest.importorskip("pcstream.container", reason="container not built")

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["README.md", "docs/api.md"]
_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def marked_blocks(path: Path):
    if not path.exists():
        return []
    out = []
    for m in _FENCE.finditer(path.read_text(encoding="utf-8")):
        lang, body = m.group(1), m.group(2)
        first = body.lstrip("\n").splitlines()[0] if body.strip() else ""
        if lang in ("sh", "python") and first.startswith("# test:"):
            out.append((lang, first[len("# test:"):].strip(), body))
    return out


def _skip_step(step: str) -> bool:
    s = step.strip()
    return s.startswith("pip install") or s.startswith("python -m pip") or "pytest" in s


def shell_script(body: str) -> str:
    lines = []
    for line in body.splitlines():
        steps = [s for s in line.split("&&")]
        if any(_skip_step(s) for s in steps) and not line.lstrip().startswith("#"):
            steps = [s for s in steps if not _skip_step(s)]
            line = " && ".join(s.strip() for s in steps)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python"), env.get("PYTHONPATH", "")])
    if shutil.which("pcstream") is None:
        bindir = tmp / "_bin"
        bindir.mkdir()
        shim = bindir / "pcstream"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pcstream.cli "$@"\n')
        shim.chmod(0o755)
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    py = Path(sys.executable).parent
    env["PATH"] = f"{py}{os.pathsep}{env['PATH']}"   # `python` means the interpreter running the tests
    env["PCSTREAM_REPO"] = str(ROOT)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CASES = [(src, i, blk) for src in SOURCES for i, blk in enumerate(marked_blocks(ROOT / src))]


def test_docs_have_marked_blocks():
    assert marked_blocks(ROOT / "docs" / "api.md"), "docs/api.md lost its `# test:` blocks"


@pytest.mark.parametrize("src,i,block", CASES, ids=[f"{s}#{i}:{b[1][:30]}" for s, i, b in CASES])
def test_block(src, i, block, tmp_path):
    lang, title, body = block
    # The docs use port 8765; a free port avoids clashes with other servers on this machine.
    body = body.replace("8765", str(_free_port()))
    env = _env(tmp_path)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")   # blocks run "python examples/..." as from the root
    if lang == "sh":
        script = tmp_path / "block.sh"
        script.write_text("set -e\n" + shell_script(body))
        cmd = ["bash", str(script)]
    else:
        script = tmp_path / "block.py"
        script.write_text(body)
        cmd = [sys.executable, str(script)]
    # Own process group: a block that leaves a background server behind is killed with it.
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{src} block {i} ({title}) timed out:\n{body}\n--- stdout\n{out}\n--- stderr\n{err}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, f"{src} block {i} ({title}) failed:\n{body}\n--- stdout\n{out}\n--- stderr\n{err}"
