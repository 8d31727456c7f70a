"""an.viz.to_html: one self-contained page to study a graph and step through its backward pass.

The structure tests read the file; the browser test opens it in a headless Chromium (Debian's
``chromium`` and ``chromium-driver``, with Selenium) and clicks through it.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile

import numpy as np
import pytest
from helpers import traced_neuron

import autonet as an

pytest.importorskip("graphviz")
from autonet.viz import draw_graph, to_html
from autonet.viz.graph import node_id, value_id

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def data_of(page: str) -> dict:
    """The page's embedded JSON, read strictly (NaN or Infinity would be invalid JSON)."""
    payload = re.search(r'<script type="application/json" class="an-data">(.*?)</script>', page,
                        flags=re.S).group(1)  # fmt: skip
    return json.loads(payload, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))


def svg_titles(page: str) -> list[str]:
    return re.findall(r'<g id="node\d+" class="node">\s*<title>(.*?)</title>', page)


def assert_self_contained(page: str) -> None:
    """Nothing the page would fetch: no URL at all once the SVG's XML namespaces are set aside."""
    without_namespaces = re.sub(r'xmlns(?::\w+)?="[^"]*"', "", page)
    assert "http:" not in without_namespaces and "https:" not in without_namespaces
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*//""", page)
    assert "@import" not in page and "url(" not in page


# ---- the file ----------------------------------------------------------------------------------


def test_a_trace_page_is_one_self_contained_file_with_the_svg_inline(tmp_path):
    tr, _, params = traced_neuron()
    path = to_html(tr, tmp_path / "neuron.html", params=params)
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "neuron.html"
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert_self_contained(page)
    assert page.count("<svg") == 1 and "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert "<title>autonet: 5 operations, 5 backward steps</title>" in page
    assert page.count('class="an-grad"') == 10  # five values and five leaves, each with a grad


def test_every_drawn_node_has_its_details_in_the_json(tmp_path):
    tr, o, params = traced_neuron()
    page = to_html(tr, tmp_path / "neuron.html", params=params).read_text()
    nodes = data_of(page)["nodes"]
    assert sorted(nodes) == sorted(svg_titles(page))
    kinds = [n["kind"] for n in nodes.values()]
    assert (kinds.count("operation"), kinds.count("value"), kinds.count("leaf")) == (5, 5, 5)
    for record in tr.records:
        assert nodes[node_id(record.node)]["label"] == record.label
        assert nodes[node_id(record.node)]["rule"] == record.rule
        assert nodes[node_id(record.node)]["step"] == record.step
    tanh = nodes[value_id(o.grad_fn)]
    assert (tanh["kind"], tanh["shape"], tanh["dtype"], tanh["step"]) == ("value", [], "float32", 0)
    np.testing.assert_allclose(tanh["value"]["array"], 0.7071, atol=1e-4)
    assert tanh["grad"]["array"] == 1.0 and tanh["grad"]["text"] == "1."
    x1 = nodes[node_id(params["x1"])]
    assert (x1["kind"], x1["label"], x1["grad"]["text"]) == ("leaf", "x1", "-1.5")
    assert x1["grad"]["array"] == pytest.approx(-1.5)
    assert x1["step"] == 4  # its gradient is complete after the last step, x1·w1
    mul = nodes[node_id(tr.steps[4].record.node)]
    assert [i["grad"] for i in mul["inputs"]] == ["-1.5", "1."]


def test_the_steps_of_the_backward_pass_are_embedded_in_order(tmp_path):
    tr, _, params = traced_neuron()
    steps = data_of(to_html(tr, tmp_path / "neuron.html", params=params).read_text())["steps"]
    assert len(steps) == len(tr.steps) == 5
    assert [s["node"] for s in steps] == [node_id(s.record.node) for s in tr.steps]
    assert [s["label"] for s in steps] == ["tanh", "add", "add", "mul", "mul"]
    assert steps[0]["rule"] == "dy/dx = 1 - tanh²x = 1 - y²"
    assert steps[0]["grad_output"] == "1." and steps[0]["grad_inputs"] == ["0.5"]


def test_large_arrays_are_statistics_and_nan_is_still_valid_json(tmp_path):
    x = an.tensor(np.arange(-6.0, 6.0).reshape(3, 4), requires_grad=True)
    odd = an.tensor([np.nan, np.inf, -np.inf, 1.0], requires_grad=True)
    with an.viz.trace(max_elements=4) as tr:
        y = (x * 2).sum() + (odd * 1.0).sum()
        y.backward()
    nodes = data_of(to_html(tr, tmp_path / "big.html").read_text())["nodes"]
    big = nodes[value_id(y.grad_fn.parents[0].parents[0])]  # x * 2: twelve elements
    assert big["value"]["array"] is None and big["shape"] == [3, 4]
    assert big["value"]["text"].startswith("min -12 mean -1 max 10")
    assert nodes[node_id(odd)]["value"]["array"] == ["NaN", "Infinity", "-Infinity", 1.0]


def test_names_cannot_break_out_of_the_page(tmp_path):
    w = an.tensor(2.0, requires_grad=True)
    with an.viz.trace() as tr:
        (w * 3).backward()
    page = to_html(tr, tmp_path / "w.html", params={"</script><b>": w}).read_text()
    assert page.count("</script>") == 2  # the data's and the script's own
    assert data_of(page)["nodes"][node_id(w)]["label"] == "</script><b>"


def test_a_drawing_and_a_tensor_make_pages_too(tmp_path):
    _, o, params = traced_neuron()
    drawing = to_html(draw_graph(o, params=params), tmp_path / "drawing.html").read_text()
    assert_self_contained(drawing)
    data = data_of(drawing)
    assert data["steps"] == [] and sorted(data["nodes"]) == sorted(svg_titles(drawing))
    x1 = data["nodes"][node_id(params["x1"])]  # a drawing alone: what is drawn in each node
    assert x1["drawn"] == ["x1", "() float32", "data 2.", "grad -1.5"]
    assert '<span class="an-controls" hidden>' in drawing

    a = an.tensor([1.0, 2.0], requires_grad=True)
    loss = (a * a).sum()
    loss.backward()
    page = to_html(loss, tmp_path / "tensor.html", params={"a": a}, title="a·a").read_text()
    assert_self_contained(page)
    assert "<title>a·a</title>" in page
    nodes = data_of(page)["nodes"]
    assert nodes[node_id(a)]["label"] == "a" and nodes[node_id(a)]["grad"]["array"] == [2.0, 4.0]
    assert nodes[value_id(loss.grad_fn)]["value"]["array"] == 5.0  # the tensor asked for
    assert nodes[node_id(loss.grad_fn)]["rule"].startswith("dy/dx")


def test_the_write_is_atomic(tmp_path):
    tr, _, _ = traced_neuron()
    path = tmp_path / "page.html"
    path.write_text("the old page")
    with pytest.raises(TypeError, match="expected a trace, a Tensor or a graphviz drawing"):
        to_html(42, path)
    with pytest.raises(TypeError, match="steps through the backward pass itself"):
        to_html(tr, path, step=2)
    with pytest.raises(ValueError, match="recorded no operations"):
        to_html(an.viz.trace(), path)
    assert path.read_text() == "the old page"  # a failure leaves what was there
    to_html(tr, path)
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # no temporary file left
    assert "<svg" in path.read_text()


def test_a_trace_shows_the_page_in_jupyter():
    tr, _, _ = traced_neuron()
    first, second = tr._repr_html_(), tr._repr_html_()
    assert first.startswith('<div class="an-page" id="an-') and "<!DOCTYPE" not in first
    assert "<svg" in first and len(data_of(first)["steps"]) == 5
    ids = [re.search(r'id="(an-\w+)"', f).group(1) for f in (first, second)]
    assert ids[0] != ids[1]  # two pages in one notebook do not find each other's parts


# ---- the page in a browser ---------------------------------------------------------------------

CHROME_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--window-size=1800,650",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by Selenium, with the browser's console log kept."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("needs Chromium and its driver: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    with tempfile.TemporaryDirectory() as profile:
        for flag in [*CHROME_FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=webdriver.ChromeService(driver_path), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def errors(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def highlighted(driver) -> str | None:
    """The title of the SVG group highlighted as the current step."""
    return driver.execute_script(
        "const g = document.querySelector('g.node.an-current');"
        "return g ? g.querySelector('title').textContent : null;"
    )


def group(driver, title: str):
    return driver.execute_script(
        "return [...document.querySelectorAll('g.node')]"
        ".find(g => g.querySelector('title').textContent === arguments[0]);",
        title,
    )


def grad_shown(driver, title: str) -> bool:
    """Is the gradient drawn in this node visible?"""
    return driver.execute_script(
        "const t = arguments[0].querySelector('text.an-grad');"
        "return getComputedStyle(t).visibility === 'visible';",
        group(driver, title),
    )


def test_the_page_steps_through_the_backward_pass_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    tr, o, params = traced_neuron()
    path = to_html(tr, tmp_path / "neuron.html", params=params)
    browser.get(path.as_uri())
    assert errors(browser) == []
    steps = [node_id(s.record.node) for s in tr.steps]
    assert highlighted(browser) == steps[-1]  # it opens after the last step

    def press(name: str) -> None:
        browser.find_element(By.CSS_SELECTOR, f'button[data-go="{name}"]').click()

    group(browser, value_id(o.grad_fn)).click()  # the value of tanh
    panel = browser.find_element(By.CSS_SELECTOR, ".an-details").text
    assert "value of tanh" in panel and "gradient\n1." in panel and "0.7071" in panel
    group(browser, node_id(params["x1"])).click()
    assert "gradient\n-1.5" in browser.find_element(By.CSS_SELECTOR, ".an-details").text

    press("previous")
    assert highlighted(browser) == steps[-2]
    assert not grad_shown(browser, node_id(params["x1"]))  # x1·w1 has not run yet
    assert "not yet" in browser.find_element(By.CSS_SELECTOR, ".an-details").text
    press("next")
    assert highlighted(browser) == steps[-1] and grad_shown(browser, node_id(params["x1"]))
    press("start")
    assert highlighted(browser) is None and not grad_shown(browser, value_id(o.grad_fn))
    press("next")
    assert highlighted(browser) == steps[0] and grad_shown(browser, value_id(o.grad_fn))
    assert "tr.steps[0] of 5: tanh" in browser.find_element(By.CSS_SELECTOR, ".an-step").text
    browser.find_element(By.CSS_SELECTOR, ".an-page").send_keys(Keys.ARROW_RIGHT)
    assert highlighted(browser) == steps[1]
    assert browser.find_element(By.CSS_SELECTOR, ".an-slider").get_attribute("value") == "1"

    browser.save_screenshot(str(tmp_path / "page.png"))
    assert (tmp_path / "page.png").stat().st_size > 10_000
    assert errors(browser) == []


def test_a_plain_drawing_opens_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By

    _, o, params = traced_neuron()
    path = to_html(draw_graph(o, params=params), tmp_path / "drawing.html")
    browser.get(path.as_uri())
    group(browser, node_id(params["w1"])).click()
    assert "grad 1." in browser.find_element(By.CSS_SELECTOR, ".an-details").text
    assert not browser.find_element(By.CSS_SELECTOR, ".an-controls").is_displayed()
    assert errors(browser) == []
