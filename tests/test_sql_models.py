"""The SQL model layer: dependencies come from the SQL, mistakes are named by file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.definitions import RAW_TABLES
from pipeline.sql_models import ModelError, load_models, parse_model, tables_read


def write(root: Path, relative: str, sql: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql)
    return path


def test_dependencies_are_the_tables_read_not_the_ctes():
    sql = """with leads as (select * from core.fct_lead),
             reps as (select * from core.dim_rep r join core.dim_period p on true)
             select * from leads join reps using (owner_id), range(3) as t(i)"""
    assert tables_read(sql, Path("x.sql")) == {("core", "fct_lead"), ("core", "dim_rep"), ("core", "dim_period")}


def test_header_block_gives_description_and_column_docs(tmp_path):
    path = write(tmp_path, "kpi/k.sql", "/*\ndescription: What it is.\ncolumns:\n  value: The value.\n*/\nselect 1 as value from core.t")
    model = parse_model(path, tmp_path)
    assert (model.table, model.description, model.columns) == ("kpi.k", "What it is.", {"value": "The value."})
    assert model.create_statement().startswith("create or replace table kpi.k as")


def test_unknown_table_reference_fails_naming_the_file(tmp_path):
    write(tmp_path, "staging/stg_a.sql", "select * from raw.opportunity")
    bad = write(tmp_path, "core/fct_b.sql", "select * from staging.stg_a join staging.stg_missing using (id)")
    with pytest.raises(ModelError, match=rf"{bad}: reads staging.stg_missing, which no model or extract produces"):
        load_models(tmp_path, RAW_TABLES)


def test_unqualified_table_and_wrong_layer_are_errors(tmp_path):
    unqualified = write(tmp_path, "core/a.sql", "select * from fct_lead")
    with pytest.raises(ModelError, match=f"{unqualified}: table 'fct_lead' is neither a CTE nor schema-qualified"):
        parse_model(unqualified, tmp_path)
    skipping = write(tmp_path, "kpi/b.sql", "select * from staging.stg_lead")
    with pytest.raises(ModelError, match=rf"{skipping}: a kpi model may read only \['core'\]"):
        parse_model(skipping, tmp_path)


def test_an_incremental_header_must_name_a_key_and_inputs_the_model_reads(tmp_path):
    ok = write(tmp_path, "core/int_a.sql", "/*\nincremental:\n  unique_key: id\n  keyed_inputs: [staging.stg_a]\n*/\n"
                                           "select id from staging.stg_a")
    assert parse_model(ok, tmp_path).meta["incremental"] == {"unique_key": "id", "keyed_inputs": ["staging.stg_a"]}
    keyless = write(tmp_path, "core/int_b.sql", "/*\nincremental:\n  keyed_inputs: [staging.stg_a]\n*/\n"
                                                "select id from staging.stg_a")
    with pytest.raises(ModelError, match=f"{keyless}: incremental needs unique_key"):
        parse_model(keyless, tmp_path)
    unread = write(tmp_path, "core/int_c.sql", "/*\nincremental:\n  unique_key: id\n  keyed_inputs: [staging.stg_b]\n*/\n"
                                               "select id from staging.stg_a")
    with pytest.raises(ModelError, match=rf"{unread}: keyed_inputs \['staging.stg_b'\] are not tables the model reads"):
        parse_model(unread, tmp_path)
    # a rebuilt table's unique_key (its change log) is not for views or merged tables
    view = write(tmp_path, "core/v.sql", "/*\nmaterialized: view\nunique_key: id\n*/\nselect id from staging.stg_a")
    with pytest.raises(ModelError, match=f"{view}: unique_key .* not incremental"):
        parse_model(view, tmp_path)
    assert parse_model(write(tmp_path, "core/t.sql", "/*\nunique_key: id\n*/\nselect id from staging.stg_a"),
                       tmp_path).meta["unique_key"] == "id"


def test_the_real_models_have_the_expected_dependencies():
    models = {m.table: m for m in load_models(external_tables=RAW_TABLES)}
    assert models["staging.stg_opportunity"].reads == {("raw", "opportunity")}
    assert ("staging", "stg_opportunity") in models["core.fct_opportunity"].reads
    assert ("audit", "quarantine") in models["core.fct_opportunity"].reads
    assert models["kpi.new_leads"].reads == {("core", "dim_period"), ("core", "fct_lead"), ("core", "dim_kpi_scope"),
                                             ("core", "bridge_owner_scope")}
    assert models["core.dim_kpi_scope"].reads == models["core.bridge_owner_scope"].reads == {("core", "dim_rep")}
    assert {("core", "dim_rep"), ("core", "dim_period")} <= models["kpi.employee_retention"].reads
    kpis = {m.name for m in models.values() if m.schema == "kpi"}
    assert kpis == {"annual_contract_value", "customer_lifetime_value", "new_leads", "lead_age", "conversion_rate",
                    "employee_retention", "ramp_time", "referrals", "customer_retention"}
    assert {(s, t) for s, t in models["marts.kpi_scorecard"].reads if s == "kpi"} == {("kpi", k) for k in kpis}
    for model in models.values():  # every model documents itself
        assert model.description, model.path
