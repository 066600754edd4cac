"""Check a built site (run by `make docs` after `mkdocs build`): offline, and every equation typesets.

Fails (exit 1, one line per problem) if
  * a page loads anything from the network: a script, stylesheet, image, frame or media source with an
    http(s):// or protocol-relative address, or a CSS url() to one (plain <a href> links are fine);
  * an equation of a page (pymdownx.arithmatex output) or of a notebook's markdown is not valid for the
    vendored KaTeX (docs/javascripts/katex): each is rendered with node and katex.renderToString, throwOnError.
    Without node the equation check is skipped with a note (the offline check still runs).
Usage: python docs/check_site.py SITE_DIR
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

KATEX = Path(__file__).resolve().parent / "javascripts" / "katex" / "katex.min.js"
RESOURCE = re.compile(r"<(script|link|img|iframe|source|video|audio|embed)\b[^>]*?\b(src|href)=\"((?:https?:)?//[^\"]*)\"",
                      re.I)
CSS_URL = re.compile(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]*)", re.I)
ARITHMATEX = re.compile(r"<(span|div) class=\"arithmatex\">(.*?)</\1>", re.S)
NOTEBOOK_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.S)
RENDER_JS = """
const katex = require(process.argv[1]);
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const bad = [];
for (const [where, tex, display] of items) {
  try { katex.renderToString(tex, {displayMode: display, throwOnError: true}); }
  catch (e) { bad.push(where + ": " + JSON.stringify(tex.slice(0, 80)) + ": " + e.message.split("\\n")[0]); }
}
process.stdout.write(JSON.stringify(bad));
"""


def offline_problems(site: Path) -> list[str]:
    out = []
    for page in sorted(site.rglob("*.html")):
        for tag, _, url in RESOURCE.findall(page.read_text(errors="replace")):
            out.append(f"{page.relative_to(site)}: <{tag}> loads {url} from the network")
    for sheet in sorted(site.rglob("*.css")):
        for url in CSS_URL.findall(sheet.read_text(errors="replace")):
            out.append(f"{sheet.relative_to(site)}: url({url}) loads from the network")
    return out


def page_formulas(site: Path) -> list[tuple[str, str, bool]]:
    """(where, TeX, display) of every arithmatex formula in the pages."""
    items = []
    for page in sorted(site.rglob("*.html")):
        for tag, body in ARITHMATEX.findall(page.read_text(errors="replace")):
            tex = html.unescape(re.sub(r"<[^>]+>", "", body)).strip()
            if tex[:2] in ("\\(", "\\["):
                tex = tex[2:-2]
            items.append((str(page.relative_to(site)), tex.strip(), tag == "div"))
    return items


def notebook_formulas(site: Path) -> list[tuple[str, str, bool]]:
    """(where, TeX, display) of the $ ... $ and $$ ... $$ of the notebooks' markdown cells (the copied .ipynb)."""
    items = []
    for nb in sorted(site.rglob("*.ipynb")):
        for cell in json.loads(nb.read_text()).get("cells", []):
            if cell.get("cell_type") != "markdown":
                continue
            text = re.sub(r"`[^`]*`", "", "".join(cell.get("source", "")))   # code spans hold no math
            for display, inline in NOTEBOOK_MATH.findall(text):
                items.append((str(nb.relative_to(site)), (display or inline).strip(), bool(display)))
    return items


def formula_problems(site: Path) -> tuple[list[str], str]:
    items = page_formulas(site) + notebook_formulas(site)
    node = shutil.which("node")
    if node is None:
        return [], f"{len(items)} equations not checked (no node on this machine)"
    result = subprocess.run([node, "-e", RENDER_JS, str(KATEX)], input=json.dumps(items), capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        return [f"the KaTeX check did not run: {result.stderr.strip()[:300]}"], ""
    bad = json.loads(result.stdout)
    return bad, f"{len(items)} equations typeset by KaTeX"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python docs/check_site.py SITE_DIR (a built site)")
        return 2
    site = Path(argv[0])
    found = offline_problems(site)
    bad, note = formula_problems(site)
    found += bad
    for line in found:
        print(line)
    print(f"check_site: {len(found)} problem(s)" if found else f"check_site: nothing loads from the network; {note}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
