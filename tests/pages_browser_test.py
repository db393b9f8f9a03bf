"""The interactive pages, opened in a real browser (headless Chromium).

For each kind of page (3-D with pair lines; 2-D, subsampled) the test writes
the page, adds a probe script to a copy of it, and lets Chromium run the
page's scripts (virtual time) before it saves a screenshot and the DOM. It
then checks what the scripts made: a plotly plot holding every hover text,
WebGL canvases (a live WebGL context), no "WebGL is not supported" notice,
and (2-D: plotly's own hover, triggered at a point) a hover label with the
population and the text;
and what the screen shows: a non-blank screenshot with pixels of both
populations' colours in the plot area. It skips only where no Chromium is
installed (Debian: `apt-get install -y chromium`).
"""

import html
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
from concurrent import futures

import numpy as np
import pytest
from PIL import Image

from embtrans.report import pages

_PROBE = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var gd = document.querySelector('.js-plotly-plot');
    var gl = Array.from(document.querySelectorAll('canvas')).filter(
        function (c) {
          var ctx = c.getContext('webgl2') || c.getContext('webgl');
          return ctx && !ctx.isContextLost() && ctx.drawingBufferWidth > 0;
        });
    // On a 2-D page, hover over the first point as a mouse would.
    var hovered = '';
    var fl = gd && gd._fullLayout, first = gd && gd._fullData[0];
    if (fl && fl.xaxis && first) {
      Plotly.Fx.hover(gd, {xpx: fl.xaxis.c2p(first.x[0]),
                           ypx: fl.yaxis.c2p(first.y[0])}, 'xy');
      hovered = Array.from(document.querySelectorAll(
          '.hoverlayer .hovertext')).map(function (e) {
            return e.textContent; }).join('|');
    }
    var info = {
      plot: !!fl,
      hovered: hovered,
      webgl_canvases: gl.length,
      no_webgl_notice: document.body.innerText.indexOf('WebGL') < 0,
      texts: gd ? gd.data.map(function (t) { return t.text || []; }) : [],
      names: gd ? gd.data.map(function (t) { return t.name; }) : [],
    };
    var pre = document.createElement('pre');
    pre.id = 'probe';
    pre.style.display = 'none';
    pre.textContent = JSON.stringify(info);
    document.body.appendChild(pre);
  }, 1500);
});
</script>
"""


def _chromium():
  for name in ("chromium", "chromium-browser", "google-chrome"):
    if shutil.which(name):
      return shutil.which(name)
  pytest.skip("Chromium is not installed (Debian: apt-get install -y "
              "chromium); the browser test needs it.")


def _populations(dim, n=300, seed=0):
  rng = np.random.default_rng(seed)
  a = rng.standard_normal((n, dim))
  b = a + 3 * np.eye(dim)[0] + 0.3 * rng.standard_normal((n, dim))
  texts_a = [f"summary {i}: <b>x</b> & y " + "long " * 60 for i in range(n)]
  texts_b = [f"body {i}" for i in range(n)]
  return [pages.Population("summary", a, texts_a),
          pages.Population("body", b, texts_b)]


def _render(page: pathlib.Path, tmp: pathlib.Path, timeout: float = 90,
            attempts: int = 2) -> str:
  """Runs the page (with the probe) in headless Chromium; returns the DOM
  after its scripts ran and leaves the screenshot next to the page.

  A browser that hangs (headless Chromium's virtual time does, rarely) is
  killed with its child processes and started once more; a second hang
  fails the test.
  """
  probe = page.with_name(page.stem + "_probe.html")
  probe.write_text(page.read_text(encoding="utf-8").replace(
      "</body>", _PROBE + "</body>"), encoding="utf-8")
  for attempt in range(attempts):
    cmd = [_chromium(), "--headless", "--no-sandbox",
           "--window-size=1200,900", "--virtual-time-budget=8000",
           f"--user-data-dir={tmp / f'{page.stem}-{attempt}'}",
           f"--screenshot={page.with_suffix('.png')}", "--dump-dom",
           probe.resolve().as_uri()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
      return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
      os.killpg(proc.pid, signal.SIGKILL)
      proc.communicate()
  pytest.fail(f"Chromium hung {attempts} times (> {timeout} s each) on "
              f"{page.name}.")


def _probe(dom: str) -> dict:
  found = re.search(r'<pre id="probe"[^>]*>(.*?)</pre>', dom, re.S)
  assert found, "the probe did not run: the page's scripts never finished"
  raw = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace(
      "&quot;", '"').replace("&amp;", "&")
  return json.loads(raw)


def _colour_pixels(png: pathlib.Path, hex_colour: str) -> int:
  """Pixels in the plot area (left 80 %, below the title) near the colour
  blended at the markers' opacity onto white."""
  img = np.asarray(Image.open(png).convert("RGB"), np.float64)
  h, w, _ = img.shape
  area = img[int(0.06 * h):, :int(0.8 * w)]
  rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
  target = 0.75 * rgb + 0.25 * 255
  return int(np.sum(np.linalg.norm(area - target, axis=-1) < 40))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("pages")
  pops3, pops2 = _populations(3), _populations(2, seed=1)
  pairs = np.stack([np.arange(300), np.arange(300)], 1)
  made = {
      "3d": (pops3, pages.scatter3d_page(tmp / "p3.html", pops3, "3-D page",
                                         pairs=pairs[:40], show_pairs=True)),
      "2d": (pops2, pages.scatter2d_page(tmp / "p2.html", pops2, "2-D page",
                                         pairs=pairs, max_points=400)),
  }
  with futures.ThreadPoolExecutor(2) as pool:  # both browsers at once
    doms = dict(zip(made, pool.map(
        lambda k: _render(tmp / f"p{k[0]}.html", tmp), made)))
  out_dir = os.environ.get("EMBTRANS_PAGES_SCREENSHOTS")
  if out_dir:  # keep the screenshots to look at
    for k in made:
      shutil.copy(tmp / f"p{k[0]}.png", pathlib.Path(out_dir) / f"{k}.png")
  return {k: (made[k][0], made[k][1], _probe(doms[k]),
              tmp / f"p{k[0]}.png") for k in made}


@pytest.mark.parametrize("kind", ["3d", "2d"])
def test_page_renders_with_webgl(rendered, kind):
  _, info, probe, png = rendered[kind]
  assert probe["plot"], "plotly did not build the plot"
  assert probe["webgl_canvases"] >= 1, "no live WebGL canvas"
  assert probe["no_webgl_notice"], "the page says WebGL is missing"
  img = np.asarray(Image.open(png).convert("L"), np.float64)
  assert img.shape == (900, 1200) and img.std() > 5, "blank screenshot"
  for colour in pages.COLORS[:2]:
    assert _colour_pixels(png, colour) > 200, f"no {colour} points drawn"
  assert info["dim"] == int(kind[0])


@pytest.mark.parametrize("kind", ["3d", "2d"])
def test_hover_texts_are_in_the_page_data(rendered, kind):
  pops, info, probe, _ = rendered[kind]
  assert sum(map(len, probe["texts"])) == info["points"]
  for pop, name, texts in zip(pops, probe["names"], probe["texts"]):
    assert name.startswith(pop.name)
    want = {pages.hover_text(t) for t in pop.texts}
    assert set(texts) <= want and len(texts) > 0
    if kind == "3d":  # not subsampled: every point's text is there
      assert set(texts) == want
  shown = [html.unescape(t.replace("<br>", " ")) for t in probe["texts"][0]]
  assert all(len(t) <= pages.TEXT_CHARS for t in shown)
  assert all(t.endswith("…") and "<b>x</b> & y" in t for t in shown)
  assert not any("<b>x</b>" in t for t in probe["texts"][0])  # escaped
  if kind == "2d":  # the probe hovered over the first summary point
    assert probe["hovered"].startswith(pops[0].name)
    assert shown[0][:40] in probe["hovered"].replace("\u2026", "…")
