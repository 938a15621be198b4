"""The six dashboards as static HTML pages, written next to the warehouse."""


import shutil

import dagster as dg

from pipeline import dashboards, layout
from pipeline.warehouse import Warehouse

PAGES_KEY = dg.AssetKey(["dashboards", "pages"])


@dg.asset(
    key=PAGES_KEY,
    deps=[layout.asset_key(schema, table) for schema, table in dashboards.SOURCE_TABLES],
    group_name=layout.group("dashboards"),
    kinds=layout.kinds("dashboards"),
    owners=[layout.OWNER],
    description=(
        "The six dashboards (State of the Union, Pipeline, Team activities, Business performance, Stage "
        "analysis, Leaderboard) as static HTML pages with plotly charts and tables, plus an index page, "
        "rendered from the marts. They open offline from the file system: plotly.min.js is written once "
        "beside them, no CDN. Rendered from this run's work copy into a staging folder; `publish/warehouse` "
        "swaps them into `<warehouse folder>/dashboards/` together with the warehouse, so the pages always "
        "show the published numbers and a half-written set is never shown."
    ),
)
def dashboard_pages(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    con = warehouse.connect()
    staged, target = warehouse.staged_dashboards_path, warehouse.dashboards_path
    shutil.rmtree(staged, ignore_errors=True)
    staged_pages = dashboards.render_pages(con, staged)
    written = [target / p.name for p in staged_pages]
    index = target / "index.html"
    titles = {"index.html": "Index"} | {p.filename: p.title for p in dashboards.PAGES}
    listing = "\n".join(f"- [{titles[p.name]}]({p.as_uri()}) — `{p}`" for p in written)
    context.log.info(f"dashboards rendered; publish/warehouse moves them to {target}")
    return dg.MaterializeResult(metadata={
        "index": dg.MetadataValue.path(str(index)),
        "index_url": dg.MetadataValue.url(index.as_uri()),
        "folder": dg.MetadataValue.path(str(target)),
        "pages": dg.MetadataValue.md(listing),
        "page_count": dg.MetadataValue.int(len(written)),
        "bytes": dg.MetadataValue.int(sum(p.stat().st_size for p in staged.iterdir() if p.is_file())),
    })
