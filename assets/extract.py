"""One extract asset per data contract: the export's file → raw.<object>."""


from pathlib import Path

import dagster as dg

from pipeline import layout
from pipeline.contracts import Contract, load_contracts
from pipeline.archive import resolve_export, skipped_entries
from pipeline.extract import ExportError, load_object
from pipeline.incremental import touch
from pipeline.metadata import column_schema, markdown_preview
from pipeline.resources import ExportSource
from pipeline.sql_models import downstream_of
from pipeline.warehouse import Warehouse


def export_id(path: str) -> str:
    """An export is named by its folder or zip (Salesforce names them uniquely)."""
    return Path(path).name


def extract_asset(contract: Contract) -> dg.AssetsDefinition:
    required = ", ".join(f.name for f in contract.required_fields) or "none"

    @dg.asset(
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
    def _extract(context: dg.AssetExecutionContext, warehouse: Warehouse, export: ExportSource) -> dg.MaterializeResult:
        con = warehouse.connect()
        try:
            export_dir = resolve_export(export.location, warehouse.scratch_path)
            outcome = load_object(
                con, contract, export_dir, export_id=export_id(export.location),
                scratch=warehouse.scratch_path, encoding=export.encoding, date_order=export.date_order,
                full_snapshot=export.full_snapshot,
            )
        except ExportError as e:
            # A readable failure in the UI; the published warehouse stays as it was.
            raise dg.Failure(description=str(e), metadata={"export": export.location}) from None
        if outcome["status"] in ("unusable", "absent"):
            outcome["note"] += (f" KPIs without it: {', '.join(downstream_of(f'raw.{contract.table}', 'kpi')) or 'none'}; "
                                f"dashboard tables: {', '.join(downstream_of(f'raw.{contract.table}', 'marts')) or 'none'}.")
        if outcome.get("note"):
            context.log.warning(outcome["note"])
        table = f"raw.{contract.table}"
        changed = any(outcome.get(k) for k in ("rows_loaded", "records_deleted", "records_restored"))
        touch(con, table, warehouse.run_id, changed=changed)
        rows_total = con.execute(f"select count(*) from {table}").fetchone()[0]
        metadata = {
            "dagster/row_count": dg.MetadataValue.int(rows_total),
            "rows_loaded": dg.MetadataValue.int(outcome.get("rows_loaded", 0)),
            "status": outcome["status"],
            "export": export.location,
            "dagster/column_schema": column_schema(con, table),
            "preview": dg.MetadataValue.md(markdown_preview(con, table, "order by _loaded_at desc")),
        }
        for key in ("source_file", "encoding", "dialect", "rows_rejected", "records_in_file", "records_deleted",
                    "records_restored", "duplicate_ids", "note"):
            if outcome.get(key) not in (None, ""):
                metadata[key] = outcome[key]
        for key in ("missing_optional_columns", "extra_columns"):
            if outcome.get(key):
                metadata[key] = ", ".join(outcome[key])
        if skipped := skipped_entries(export_dir):
            metadata["zip_entries_skipped"] = ", ".join(skipped)
        return dg.MaterializeResult(metadata=metadata)

    return _extract


def extract_assets() -> list[dg.AssetsDefinition]:
    return [extract_asset(c) for c in load_contracts().values()]
