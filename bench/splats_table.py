"""Markdown table of bench/results/splats.json (for docs/splats.md)."""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
rows = json.loads((ROOT / "bench" / "results" / "splats.json").read_text())
out = ["| scene | splats | SH | SPZ v4 B/splat | SPZ render dB | preset | B/splat | × SPZ v4 | render dB | pos max | log-scale max | rot mean / p99 ° | opacity dB | DC dB | SH dB | SPZ-level fidelity |",
       "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    for p in ("spz", "small"):
        if p not in r:
            continue
        x = r[p]
        f = x["fidelity"]
        sh = "–" if f["sh_psnr"] is None else f"{f['sh_psnr']:.2f}"
        op = "∞" if f["opacity_psnr"] == float("inf") or f["opacity_psnr"] > 150 else f"{f['opacity_psnr']:.1f}"
        out.append(f"| {r['scene']} | {r['splats']} | {r['sh_degree']} | {r['spz_v4_anchor']} | {r['spz_render_psnr']:.2f} | {p} | "
                   f"{x['bytes_per_splat']:.2f} | {x['ratio_vs_spz_v4']:.3f} | {x['render_psnr']:.2f} | "
                   f"{f['position_max_err']:.3g} | {f['log_scale_max_err']:.3g} | {f['rotation_mean_deg']:.3f} / {f['rotation_p99_deg']:.3f} | "
                   f"{op} | {f['dc_psnr']:.2f} | {sh} | {'yes' if x['meets_spz_fidelity'] else 'no'} |")
print("\n".join(out))
