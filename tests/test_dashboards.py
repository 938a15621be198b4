"""The dashboard pages: rendered from a tiny hand-built warehouse, offline, checked in
headless Chromium (when installed) with one screenshot per page in tests/artifacts/."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from marts_fixtures import run_marts, story_warehouse
from pipeline import dashboards
from pipeline.dashboards import PAGES, PLOTLY_JS, money, percent, publish_pages, ratio_percent

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PAGE_FILES = ["index.html"] + [p.filename for p in PAGES]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    con = story_warehouse(str(root / "warehouse.duckdb"))
    run_marts(con)
    publish_pages(con, root / "dashboards")
    con.close()
    return root / "dashboards"


def test_formatting_for_humans():
    assert money(1234567.4, "USD") == "$1,234,567"
    assert money(-2500, "EUR") == "-€2,500"
    assert money(1234, "CHF") == "1,234 CHF"
    assert percent(12.345) == "12.3%"
    assert ratio_percent(1.0667) == "106.7%"
    assert money(None, "USD") == percent(None) == "—"


def test_every_page_and_the_library_are_written_once(site):
    assert sorted(p.name for p in site.iterdir()) == sorted(PAGE_FILES + [PLOTLY_JS])
    assert (site / PLOTLY_JS).stat().st_size > 1_000_000  # the real plotly.js bundle, not a stub


@pytest.mark.parametrize("name", PAGE_FILES)
def test_pages_load_nothing_from_the_network(site, name):
    text = (site / name).read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", text, flags=re.I)
    assert scripts == [PLOTLY_JS]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text, flags=re.I)
    assert "cdn" not in text.lower()
    # every dashboard links to every other one
    for other in PAGE_FILES:
        assert f'href="{other}"' in text


def test_pages_show_the_marts_numbers(site):
    sotu = (site / "state_of_the_union.html").read_text(encoding="utf-8")
    # closed won FY2024 YTD: O1 1000 + O2 3000 + O6 3000; new leads YTD 14 vs target 40 -> 35.0%
    assert "$7,000" in sotu and "35.0%" in sotu and "Off track" in sotu
    assert "As of 2024-05-15" in sotu and "FY2024" in sotu
    stages = (site / "stage_analysis.html").read_text(encoding="utf-8")
    assert "bottleneck" in stages and "77.5 days" in stages
    board = (site / "leaderboard.html").read_text(encoding="utf-8")
    reps_table = board[board.index("<h2>Reps</h2>"):]
    assert reps_table.index("<td>Ann</td>") < reps_table.index("<td>Cid</td>") < reps_table.index("<td>Bob</td>")
    business = (site / "business_performance.html").read_text(encoding="utf-8")
    assert "By product family" in business
    for name in PAGE_FILES[1:]:
        assert "@example.com" not in (site / name).read_text(encoding="utf-8")


def test_publishing_again_swaps_the_whole_folder(site, tmp_path):
    target = tmp_path / "dashboards"
    target.mkdir()
    (target / "stale.html").write_text("old")
    con = story_warehouse()
    run_marts(con)
    publish_pages(con, target)
    assert sorted(p.name for p in target.iterdir()) == sorted(PAGE_FILES + [PLOTLY_JS])
    assert [p.name for p in tmp_path.iterdir()] == ["dashboards"], "temporary folders left behind"


def test_the_asset_writes_pages_next_to_the_warehouse_and_links_them(tmp_path):
    from assets.dashboards import PAGES_KEY, dashboard_pages
    from assets.publish import publish_asset
    from pipeline.warehouse import Warehouse

    published = tmp_path / "warehouse" / "warehouse.duckdb"
    published.parent.mkdir()
    con = story_warehouse(str(published))
    run_marts(con)
    con.close()
    resources = {"warehouse": Warehouse(path=str(published))}
    folder = published.parent / "dashboards"
    # Rendered pages are published with the warehouse, never before it.
    assert dg.materialize([dashboard_pages], resources=resources).success
    assert not folder.exists()
    result = dg.materialize([dashboard_pages, publish_asset([PAGES_KEY])], resources=resources)
    assert result.success
    assert sorted(p.name for p in folder.iterdir()) == sorted(PAGE_FILES + [PLOTLY_JS])
    metadata = result.asset_materializations_for_node(PAGES_KEY.to_python_identifier())[0].metadata
    assert metadata["index"].value == str(folder / "index.html")
    assert metadata["index_url"].value == (folder / "index.html").as_uri()
    assert "[State of the Union](file://" in metadata["pages"].value
    assert metadata["page_count"].value == 7


def test_the_asset_is_in_the_graph_before_publish():
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["dashboards", "pages"]))
    assert node.group_name == "dashboards"
    assert {tuple(k.path) for k in node.parent_keys} == set(dashboards.SOURCE_TABLES)
    assert node.key in graph.get(dg.AssetKey(["publish", "warehouse"])).parent_keys


# --------------------------------------------------------------------------- headless Chromium


def chromium(url: str, tmp_path: Path, *mode: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         # any name lookup fails: the page must not need the network
         "--host-resolver-rules=MAP * ~NOTFOUND",
         "--virtual-time-budget=10000", "--window-size=1400,2600", *mode, url],
        capture_output=True, text=True, timeout=180)


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (apt-get install chromium); the pages are still checked above")


@needs_chromium
@pytest.mark.parametrize("name", PAGE_FILES)
def test_page_renders_in_headless_chromium_without_errors(site, tmp_path, name):
    url = (site / name).as_uri()
    dom = chromium(url, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    source = (site / name).read_text(encoding="utf-8")
    charts = source.count('class="plotly-graph-div"')
    if name != "index.html":
        assert charts >= 2, f"{name}: expected charts on every dashboard"
    # plotly draws each chart as a plot-container holding its main-svg layers
    assert dom.stdout.count('class="plot-container plotly"') == charts, f"{name}: not every chart rendered"
    assert dom.stdout.count('class="main-svg"') >= charts

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name.replace(".html", ".png")
    shot.unlink(missing_ok=True)
    taken = chromium(url, tmp_path, f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert "Uncaught" not in taken.stderr, taken.stderr[-2000:]
    assert shot.stat().st_size > 10_000


@needs_chromium
def test_the_chromium_check_would_catch_a_page_without_its_library(site, tmp_path):
    # the harness itself: without plotly.min.js beside it, a page fails with an uncaught error
    broken = tmp_path / "broken"
    shutil.copytree(site, broken)
    (broken / PLOTLY_JS).unlink()
    dom = chromium((broken / "pipeline.html").as_uri(), tmp_path, "--dump-dom")
    assert "Uncaught" in dom.stderr
    assert 'class="main-svg"' not in dom.stdout
