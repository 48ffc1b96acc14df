"""The documentation site works offline: it loads no script, style sheet or
font from another host, serves the mermaid library itself, and a browser
draws every diagram as an SVG without a request leaving the machine."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# A URL on another host: http://, https:// or protocol-relative //.
EXTERNAL = r"(?:https?:)?//"
# Where HTML loads code, styles and fonts from.
HTML_REFERENCES = [
    re.compile(rf"<script\b[^>]*\bsrc=[\"']?({EXTERNAL}[^\"' >]+)", re.IGNORECASE),
    re.compile(rf"<link\b[^>]*\bhref=[\"']?({EXTERNAL}[^\"' >]+)", re.IGNORECASE),
    re.compile(rf"@import\s+(?:url\()?[\"']?({EXTERNAL}[^\"') ;]+)", re.IGNORECASE),
    re.compile(rf"url\(\s*[\"']?({EXTERNAL}[^\"')]+)", re.IGNORECASE),
]
CSS_REFERENCES = HTML_REFERENCES[2:]


def mermaid_blocks(page: str) -> int:
    return (ROOT / "docs" / page).read_text().count("```mermaid\n")


def test_the_theme_fetches_no_web_font_and_no_external_asset():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    assert config["theme"]["font"] == "false"
    for key in ("extra_javascript", "extra_css"):
        for entry in config.get(key, []):
            path = entry if isinstance(entry, str) else entry["path"]
            assert not re.match(EXTERNAL, path), f"{key}: {path}"


def test_the_hook_adds_mermaid_to_every_page(tmp_path, monkeypatch):
    """The theme fetches mermaid from a CDN unless a global ``mermaid``
    exists when it draws the diagrams: the hook's script defines it."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs_hooks
    finally:
        sys.path.remove(str(ROOT / "scripts"))

    class Config:
        extra_javascript = ["other.js"]

    (tmp_path / "mermaid.min.js").write_text("")
    monkeypatch.setattr(docs_hooks, "MERMAID_DIST", tmp_path / "mermaid.min.js")
    assert docs_hooks.on_config(Config()).extra_javascript == [docs_hooks.MERMAID_JS, "other.js"]
    monkeypatch.setattr(docs_hooks, "MERMAID_DIST", tmp_path / "missing.js")
    with pytest.raises(PluginError, match="make docs"):
        docs_hooks.on_config(Config())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as ``make docs`` builds it (mermaid installed by npm ci)."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: make docs needs it for the mermaid library")
    subprocess.run(["make", "docs-js"], cwd=ROOT, check=True, capture_output=True)
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_built_site_references_no_external_script_style_or_font(site: Path):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    found = []
    for path in pages:
        text = path.read_text()
        for pattern in HTML_REFERENCES:
            found += [(str(path.relative_to(site)), url) for url in pattern.findall(text)]
    for path in sorted(site.rglob("*.css")):
        text = path.read_text()
        for pattern in CSS_REFERENCES:
            found += [(str(path.relative_to(site)), url) for url in pattern.findall(text)]
    assert not found


@pytest.mark.slow
def test_the_built_site_serves_mermaid(site: Path):
    assert (site / "javascripts" / "mermaid.min.js").stat().st_size > 1_000_000
    assert (site / "javascripts" / "mermaid.LICENSE").is_file()
    concepts = (site / "concepts" / "index.html").read_text()
    assert concepts.count('<pre class="mermaid">') == mermaid_blocks("concepts.md")
    assert '<script src="../javascripts/mermaid.min.js">' in concepts


@pytest.fixture
def served_site(site: Path) -> Iterator[str]:
    """The built site over HTTP on loopback."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def shadow_roots(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shadow roots of a CDP DOM tree, closed ones included."""
    yield from node.get("shadowRoots", [])
    for child in node.get("children", []) + node.get("shadowRoots", []):
        yield from shadow_roots(child)


@pytest.mark.slow
@pytest.mark.parametrize("page", ["concepts", "deployment"])
def test_a_browser_draws_every_diagram_offline(served_site: str, page: str, tmp_path: Path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"]
        )
        try:
            tab = browser.new_page()

            def local_only(route: Any) -> None:
                if urlsplit(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            tab.route("**/*", local_only)
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.goto(f"{served_site}/{page}/")
            blocks = mermaid_blocks(f"{page}.md")
            # The theme swaps each <pre class="mermaid"> for a <div> once drawn.
            tab.wait_for_function(
                f"document.querySelectorAll('div.mermaid').length === {blocks}", timeout=30_000
            )
            assert tab.locator("pre.mermaid").count() == 0
            for box in tab.locator("div.mermaid").all():
                assert box.bounding_box()["height"] > 100
            cdp = tab.context.new_cdp_session(tab)
            tree = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
            tab.screenshot(path=str(tmp_path / f"{page}.png"), full_page=True)
        finally:
            browser.close()
    # Each diagram is an SVG (the theme keeps it in a closed shadow root).
    drawn = [
        root
        for root in shadow_roots(tree["root"])
        if [child["nodeName"] for child in root.get("children", [])][:1] == ["svg"]
    ]
    assert len(drawn) == blocks
    assert not outside
    assert not errors
