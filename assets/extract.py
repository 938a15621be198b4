"""The extract: the export's files → raw.<object>, one asset per data contract.

One op materializes them all so that it can load files side by side. DuckDB numbers
each file's rows (`_row_number`, the line a bad row is reported at) with a window
that runs on one thread, so a single load leaves the other cores idle; loading the
largest files first on `warehouse.threads` cursors keeps every core busy
(bench/run.py measures it). Each raw table is still its own asset, with its own
metadata, checks and downstream models.
"""


from pathlib import Path

import dagster as dg

from pipeline import layout
from pipeline.contracts import Contract, load_contracts
from pipeline.extract import ExportError, load_objects, resolve_export
from pipeline.incremental import touch
from pipeline.metadata import column_schema, markdown_preview
from pipeline.resources import ExportSource
from pipeline.warehouse import Warehouse


def export_id(path: str) -> str:
    """An export is named by its folder or zip (Salesforce names them uniquely)."""
    return Path(path).name


def extract_spec(contract: Contract) -> dg.AssetSpec:
    required = ", ".join(f.name for f in contract.required_fields) or "none"
    return dg.AssetSpec(
        key=layout.asset_key("raw", contract.table),
        group_name=layout.group("raw"),
        kinds=layout.kinds("raw"),
        owners=[layout.OWNER],
        description=(
            f"{contract.description}\n\nLoaded verbatim from `{' / '.join(contract.files)}` into "
            f"`raw.{contract.table}`: every value as text, append-only, each record version kept once (an export's "
            f"unchanged rows are not appended again), with `_export_id`, `_source_file`, `_row_number`, `_loaded_at`. Required columns: {required}."
            + (" **Required object.**" if contract.required else " Optional: absent means empty.")
        ),
        metadata={
            "contract": f"data_contracts/{contract.table}.yaml",
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(f.name, "varchar", description=f.description) for f in contract.fields]
            ),
        },
    )


def load_metadata(con, table: str, outcome: dict, export: ExportSource) -> dict:
    metadata = {
        "dagster/row_count": dg.MetadataValue.int(con.execute(f"select count(*) from {table}").fetchone()[0]),
        "rows_loaded": dg.MetadataValue.int(outcome.get("rows_loaded", 0)),
        "status": outcome["status"],
        "export": export.location,
        "dagster/column_schema": column_schema(con, table),
        "preview": dg.MetadataValue.md(markdown_preview(con, table, "order by _loaded_at desc")),
    }
    for key in ("source_file", "encoding", "rows_rejected", "note"):
        if outcome.get(key) not in (None, ""):
            metadata[key] = outcome[key]
    for key in ("missing_optional_columns", "extra_columns"):
        if outcome.get(key):
            metadata[key] = ", ".join(outcome[key])
    return metadata


def extract_assets() -> list[dg.AssetsDefinition]:
    contracts = list(load_contracts().values())

    @dg.multi_asset(name="extract_export", specs=[extract_spec(c) for c in contracts], can_subset=True)
    def extract_export(context: dg.AssetExecutionContext, warehouse: Warehouse, export: ExportSource):
        con = warehouse.connect()
        selected = [c for c in contracts if layout.asset_key("raw", c.table) in context.selected_asset_keys]
        try:
            export_dir = resolve_export(export.location, warehouse.scratch_path)
        except ExportError as e:
            raise dg.Failure(description=str(e), metadata={"export": export.location}) from None
        outcomes = load_objects(con, selected, export_dir, export_id=export_id(export.location),
                                scratch=warehouse.scratch_path, encoding=export.encoding, workers=warehouse.threads)
        errors = []
        for contract in selected:
            outcome = outcomes[contract.object]
            if isinstance(outcome, ExportError):
                errors.append(str(outcome))
                continue
            if outcome.get("note"):
                context.log.warning(outcome["note"])
            table = f"raw.{contract.table}"
            touch(con, table, warehouse.run_id, changed=outcome.get("rows_loaded", 0) > 0)
            yield dg.MaterializeResult(asset_key=layout.asset_key("raw", contract.table),
                                       metadata=load_metadata(con, table, outcome, export))
        if errors:
            # A readable failure in the UI; the published warehouse stays as it was.
            raise dg.Failure(description="\n".join(errors), metadata={"export": export.location})

    return [extract_export]
