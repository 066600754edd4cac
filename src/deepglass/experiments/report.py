"""The self-contained HTML report of ``deepglass reproduce``: one section per panel with its figures
embedded as base64 PNG data URIs (the file opens anywhere, no side files), a caption, the parameters,
the estimated and measured cost and the measured numbers; header with the deepglass version and seed.
Written atomically (deepglass.atomic.atomic_path).
"""
from __future__ import annotations

import base64
import datetime
import html
import json
from pathlib import Path

from .. import __version__
from ..atomic import atomic_path

SCALE_FLAG = {"quick": " --quick", "full": "", "tiny": " --scale tiny"}
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption, .caption { font-size: .95em; line-height: 1.4; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }
.meta { color: #555; font-size: .9em; } code { font-size: .9em; }
"""


def png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "n/a" if value is None else str(value)


def _table(rows: dict) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_value(v))}</td></tr>" for k, v in rows.items())
    return f"<table>{cells}</table>"


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def panel_section(result) -> str:
    """One panel: title, caption, figures (embedded), parameters and cost, measured numbers."""
    panel = result.panel
    origin = ("reused from DIR/data" if result.cached else
              "computed in this run; Monte Carlo runs already finished in DIR/runs are read, not rerun")
    figures = "".join(
        f'<figure><img src="{png_data_uri(f)}" alt="{html.escape(panel.title)}: {html.escape(f.name)}">'
        f"<figcaption><code>figures/{html.escape(f.name)}</code></figcaption></figure>" for f in result.figures)
    cost = {"estimated (2-core machine, from scratch)": _duration(result.estimate),
            "measured (the panel's compute call)": f"{_duration(result.seconds)} ({origin})"}
    return (f'<section id="panel-{panel.key}"><h2>{html.escape(panel.title)}</h2>'
            f'<p class="caption">{html.escape(result.caption)}</p>{figures}'
            f"<h3>Measured numbers</h3>{_table(result.numbers)}"
            f"<h3>Parameters and cost</h3>{_table(result.params)}{_table(cost)}</section>")


def render_report(result) -> str:
    """The whole HTML document of a ReproduceResult."""
    total = sum(p.seconds for p in result.panels)
    toc = "".join(f'<li><a href="#panel-{p.panel.key}">{html.escape(p.panel.title)}</a></li>' for p in result.panels)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"<h1>deepglass: the picture of the original study, reproduced</h1>"
              f'<p class="meta">deepglass {html.escape(__version__)}, scale <b>{html.escape(result.scale)}</b>, '
              f"seed <b>{result.seed}</b> (every random stream derives from it), {len(result.panels)} panels, "
              f"compute time {_duration(total)}, written {stamp}. Regenerate with "
              f"<code>deepglass reproduce{SCALE_FLAG[result.scale]} --seed {result.seed} "
              f"--out DIR</code>.</p>"
              "<p>A deep feed-forward network of perceptrons is trained on M = alpha N input/output pairs; replica "
              "theory and Monte Carlo of learning describe the space of all its solutions layer by layer "
              "(MODEL.md section 1): the layers next to the input and output freeze first, the frozen thickness "
              "grows with alpha (the original study: like log(alpha); the accurate RS tree theory: faster, closer "
              "to a power law, docs/theory.md 4.1), a deep network keeps a liquid centre, the landscape is "
              "hierarchical near the "
              "boundaries, and the dynamics is slow at the boundaries and fast in the centre.</p>"
              f"<ol>{toc}</ol>")
    body = "".join(panel_section(p) for p in result.panels)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>deepglass reproduce ({html.escape(result.scale)}, seed {result.seed})</title>"
            f"<style>{STYLE}</style></head><body>{header}{body}</body></html>\n")


def write_report(result, path: str | Path) -> Path:
    path = Path(path)
    text = render_report(result)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


__all__ = ["png_data_uri", "render_report", "write_report"]
