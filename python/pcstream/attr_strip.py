"""Strip attribute streams (or their fine level ranges) from a ``.pcs`` file, as a server
that filters fields does: the result is a valid file that decodes without them.

    small = strip_attributes(data, drop=["intensity"])        # no intensity at all
    preview = strip_attributes(data, max_level=5)              # colours of levels <= 5 only

``drop``: attribute names whose metadata entry and every ATTR chunk go; ``keep`` (when
given): the names to keep, every other attribute goes (both may be given). The other
streams are renumbered (``stream_id`` = index in the new ``metadata["attributes"]``).
``max_level``: ATTR chunks whose level_hi is above it go too; a level-range stream keeps
its coarse chunks (decoders then give each point its ancestor's value at that level,
``PointCloud.attribute_levels``), a stream without any chunk left is dropped entirely.
GEOM and every other chunk are copied unchanged (payload bytes and CRCs are rewritten
by the container writer).
"""
from __future__ import annotations

from .errors import InvalidArgumentError


def resolve_drop(names, drop=(), keep=None) -> list:
    """The attribute names to drop for ``drop`` / ``keep`` against the file's ``names``;
    an unknown name in either is an InvalidArgumentError naming what the file has."""
    names = list(names)
    has = ", ".join(map(str, names)) or "no attributes"
    for what, given in (("drop", drop), ("keep", keep or ())):
        unknown = [d for d in given if d not in names]
        if unknown:
            raise InvalidArgumentError(f"no attribute {unknown[0]!r} to {what} (has: {has})")
    out = [n for n in names if n in set(drop)]
    if keep is not None:
        out += [n for n in names if n not in set(keep) and n not in out]
    return out


def strip_attributes(source, drop=(), *, keep=None, max_level: int | None = None, limits=None) -> bytes:
    """A copy of ``source`` (path, bytes or file) without the given attributes / levels."""
    from . import container as cont

    if max_level is not None and int(max_level) < 0:
        raise InvalidArgumentError(f"max_level must be >= 0, got {max_level}")
    md, chunks = cont.read_pcs(source, limits)
    if "splats" in md:
        raise InvalidArgumentError("a 3D Gaussian splat scene has no point attributes to strip")
    schema = list(md.get("attributes", []) or [])
    names = [a.get("name") if isinstance(a, dict) else None for a in schema]
    drop = resolve_drop(names, drop, keep)

    def keep(c) -> bool:
        if c.type != b"ATTR":
            return True
        sid = int(c.stream_id)
        if sid >= len(schema) or names[sid] in drop:
            return False
        return max_level is None or int(c.level_hi) <= int(max_level)

    kept = [c for c in chunks if keep(c)]
    alive = {int(c.stream_id) for c in kept if c.type == b"ATTR"}
    # Scan-order (codec 9) streams may live in the metadata alone (params["inline"]), at full resolution.
    full = max_level is None or int(max_level) >= int(md.get("levels", md.get("depth", 0)) or 0)
    alive |= {i for i, a in enumerate(schema) if isinstance(a, dict) and names[i] not in drop and full
              and isinstance(a.get("params"), dict) and "inline" in a["params"]}
    alive = sorted(alive)
    renumber = {old: new for new, old in enumerate(alive)}
    for c in kept:
        if c.type == b"ATTR":
            c.stream_id = renumber[int(c.stream_id)]
    md = dict(md)
    md["attributes"] = [schema[i] for i in alive]
    return cont.write_pcs(md, kept)


__all__ = ["strip_attributes", "resolve_drop"]
