"""The last step of a run: the work copy becomes the published warehouse."""


import dagster as dg

from pipeline import layout
from pipeline.warehouse import Warehouse


def publish_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=layout.asset_key("publish", "warehouse"),
        deps=upstream,
        group_name=layout.group("publish"),
        kinds=layout.kinds("publish"),
        owners=[layout.OWNER],
        description="Atomically replaces the published warehouse file (WAREHOUSE_PATH) with this run's work "
        "copy. Runs only when every asset before it succeeded and no blocking check failed, so readers "
        "never see half a build and a failed run leaves the last good warehouse in place. The file it "
        "replaces becomes the standby the next run catches up instead of copying the whole warehouse "
        "(`work_copy` says how this run's was made).",
    )
    def _publish(warehouse: Warehouse) -> dg.MaterializeResult:
        con = warehouse.connect()
        tables = con.execute(
            "select table_schema, count(*) from information_schema.tables group by 1 order by 1").fetchall()
        outcome = warehouse.publish()
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(outcome["path"]),
            "bytes": dg.MetadataValue.int(outcome["bytes"]),
            "tables": dg.MetadataValue.md("\n".join(f"- `{s}`: {n} tables" for s, n in tables)),
            "checkpoint_seconds": dg.MetadataValue.float(round(outcome["checkpoint_seconds"], 2)),
            "close_and_fsync_seconds": dg.MetadataValue.float(round(outcome["close_and_fsync_seconds"], 2)),
            "standby_seconds": dg.MetadataValue.float(round(outcome["standby_seconds"], 2)),
            "work_copy": dg.MetadataValue.text(outcome["work_copy"]),
        })

    return _publish
