"""The code location loads with the expected asset graph."""

from __future__ import annotations

import dagster as dg

from pipeline.contracts import load_contracts
from pipeline.definitions import RAW_TABLES, defs
from pipeline.sql_models import load_models


def graph():
    return defs.resolve_asset_graph()


def test_one_extract_asset_per_contract_with_description():
    keys = graph().get_all_asset_keys()
    for contract in load_contracts().values():
        key = dg.AssetKey(["raw", contract.table])
        assert key in keys
        node = graph().get(key)
        assert contract.description[:40] in node.description
        assert node.group_name == "raw"
        assert node.owners == ["team:sales-ops"]


def test_every_sql_model_is_an_asset_whose_deps_are_the_tables_it_reads():
    for model in load_models(external_tables=RAW_TABLES):
        node = graph().get(dg.AssetKey([model.schema, model.name]))
        assert node.group_name == model.schema
        assert {tuple(k.path) for k in node.parent_keys} == set(model.reads), model.path


def test_publish_comes_after_every_other_asset():
    keys = graph().get_all_asset_keys()
    publish = graph().get(dg.AssetKey(["publish", "warehouse"]))
    assert set(publish.parent_keys) == keys - {publish.key}


def test_nightly_job_schedule_sensor_and_in_process_executor():
    job = defs.resolve_job_def("nightly")
    assert job.executor_def.name == "in_process"
    assert defs.resolve_schedule_def("nightly_at_2am").cron_schedule == "0 2 * * *"
    assert defs.resolve_sensor_def("new_export_in_inbox").job_name == "nightly"
