"""One asset per SQL model file; its dependencies are the tables the SQL reads."""


import dagster as dg

from pipeline import layout
from pipeline.incremental import build_model
from pipeline.metadata import table_metadata
from pipeline.sql_models import SqlModel
from pipeline.warehouse import Warehouse

# What a KPI needs from the export, as flags of core.dim_run, and what to say when it is missing.
KPI_NEEDS = {
    "employee_retention": [("has_hire_dates", "no hire dates: add an HR file (hr_employees.csv) or the User fields "
                            "Hire_Date__c / Termination_Date__c to the export")],
    "ramp_time": [("has_hire_dates", "no hire dates: add an HR file (hr_employees.csv) or the User fields "
                   "Hire_Date__c / Termination_Date__c to the export"),
                  ("has_tasks or has_events", "no Task or Event file: first prospect contacts are unknown")],
}


def why_empty(con, kpi: str) -> str:
    """Why a KPI table has no rows, from what the export lacks."""
    reasons = [reason for flag, reason in KPI_NEEDS.get(kpi, [])
               if not con.execute(f"select {flag} from core.dim_run").fetchone()[0]]
    return "; ".join(reasons) or "no periods with data in the export"


def kpi_headline(con, table: str) -> dict:
    """The latest company value, as numeric metadata so the UI plots it over runs."""
    row = con.execute(
        f"""select value, numerator, denominator, period_type, period_start, unit from {table}
            where scope = 'company'
            order by case period_type when 'as_of' then 0 when 'year' then 1 else 2 end, period_start desc
            limit 1"""
    ).fetchone()
    if row is None:
        reason = why_empty(con, table.split(".")[1])
        return {"value": dg.MetadataValue.float(float("nan")), "headline": f"no rows: {reason}", "why_empty": reason}
    value, numerator, denominator, period_type, period_start, unit = row
    return {
        "value": dg.MetadataValue.float(float(value) if value is not None else float("nan")),
        "numerator": dg.MetadataValue.float(float(numerator or 0)),
        "denominator": dg.MetadataValue.float(float(denominator or 0)),
        "headline": f"{value if value is not None else 'NULL'} {unit} ({period_type} from {period_start}, company)",
    }


def model_asset(model: SqlModel) -> dg.AssetsDefinition:
    @dg.asset(
        key=layout.asset_key(model.schema, model.name),
        deps=[layout.asset_key(schema, table) for schema, table in sorted(model.reads)],
        group_name=layout.group(model.schema),
        kinds=layout.kinds(model.schema),
        owners=[layout.OWNER],
        description=model.description or f"`{model.table}`",
        metadata={
            "sql": dg.MetadataValue.path(str(model.path)),
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name, "", description=doc) for name, doc in model.columns.items()]
            ),
        },
    )
    def _model(warehouse: Warehouse) -> dg.MaterializeResult:
        con = warehouse.connect()
        build = build_model(con, model, warehouse.run_id)
        metadata = table_metadata(con, model.table, model.columns) | {
            "build": build["build"], "build_reason": build["reason"]}
        if model.schema == "kpi":
            metadata |= kpi_headline(con, model.table)
        return dg.MaterializeResult(metadata=metadata)

    return _model
