"""Staging and core models on a small hand-made export.

The raw rows below are written as Salesforce writes them ("1"/"0", "2024-02-29 00:00:00",
"000000000000000AAA", "" for empty). Every expected value is worked out by hand in the
comment next to it. Two exports are loaded: export-1 (2024-06-01) and export-2 (2024-07-01);
export-2 holds newer versions of some records and deletions.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures_core import build, core_models, insert_raw, new_warehouse, one, rows, set_run_settings  # noqa: E402

from pipeline.contracts import load_contracts  # noqa: E402

D = dt.date
TS = dt.datetime
E1_AT = TS(2024, 6, 1, 6, 0, 0)   # export-1 loaded
E2_AT = TS(2024, 7, 1, 6, 0, 0)   # export-2 loaded

# ids
U1, U2, U3, U4, U5 = (f"00500000000000{i}AAA" for i in range(1, 6))   # Alice, Bob, Carol (manager), automated, Dave
U_NO_ROW = "005000000000009AAA"            # owns a lead, has no User row
QUEUE = "00G000000000001AAA"               # a lead queue, never a person
R1 = "00E000000000001AAA"
A1, A2, A3 = "001000000000001AAA", "001000000000002AAA", "001000000000003AAA"
O1, O2, O3, O4, O5, O6, O7 = (f"00600000000000{i}AAA" for i in range(1, 8))
L1, L2, L3, L4 = (f"00Q00000000000{i}AAA" for i in range(1, 5))
C1, C2, C3, C4, C5 = (f"80000000000000{i}AAA" for i in range(1, 6))
CONTACT = "003000000000001AAA"
EMPTY_ID = "000000000000000AAA"


def load_export(con, *, contracts: bool = True) -> None:
    # --- users -------------------------------------------------------------------------
    insert_raw(con, "user", [
        # an older version of Alice: superseded by export-2's newer SystemModstamp
        dict(Id=U1, Name="Alice Old", UserType="Standard", IsActive="1", SystemModstamp="2023-06-01 00:00:00"),
    ], export_id="export-1", loaded_at=E1_AT)
    insert_raw(con, "user", [
        dict(Id=U1, Name="Alice Rep", Email="alice@corp.com", UserType="Standard", IsActive="1", ManagerId=U3,
             UserRoleId=R1, Division="EMEA", Hire_Date__c="2023-01-15 00:00:00",
             CreatedDate="2020-01-01 00:00:00", SystemModstamp="2024-01-01 00:00:00"),
        dict(Id=U2, FirstName="Bob", LastName="Builder", Email="Bob@Corp.com", UserType="Standard", IsActive="1",
             ManagerId="", UserRoleId=R1, Division="Américas", Hire_Date__c="2022-01-01 00:00:00",
             SystemModstamp="2024-01-01 00:00:00"),
        dict(Id=U3, Name="Carol Manager", Email="carol@corp.com", UserType="Standard", IsActive="1",
             SystemModstamp="2024-01-01 00:00:00"),
        dict(Id=U4, Name="Automated Process", UserType="AutomatedProcess", IsActive="1",
             SystemModstamp="2024-01-01 00:00:00"),
        dict(Id=U5, Name="Dave Newhire", Email="dave@corp.com", UserType="Standard", IsActive="0",
             SystemModstamp="2024-01-01 00:00:00"),
    ], export_id="export-2", loaded_at=E2_AT)
    insert_raw(con, "user_role", [dict(Id=R1, Name="Sales EMEA", SystemModstamp="2023-01-01 00:00:00")],
               export_id="export-2", loaded_at=E2_AT)

    # --- HR file: an old load, then the current one (which replaces it) -----------------------
    insert_raw(con, "hr_employee", [
        dict(employee_id="E1", email="bob@corp.com", hire_date="2020-01-01"),
    ], export_id="export-1", loaded_at=E1_AT)
    insert_raw(con, "hr_employee", [
        dict(employee_id="E1", user_id="", email=" BOB@corp.com ", hire_date="2023-03-01", name="Bob B"),
        dict(employee_id="E5", user_id=U5[:15], email="", hire_date="2024-02-29", termination_date="2024-06-15", name="Dave"),
        dict(employee_id="E9", user_id="", email="zed@corp.com", hire_date="2022-05-01", name="Zed Nouser"),
    ], export_id="export-2", loaded_at=E2_AT)

    # --- accounts --------------------------------------------------------------------------
    insert_raw(con, "account", [
        dict(Id=A3, Name="Gone Inc", IsDeleted="0", OwnerId=U1, SystemModstamp="2024-01-01 00:00:00"),
    ], export_id="export-1", loaded_at=E1_AT)
    insert_raw(con, "account", [
        dict(Id=A1, Name="Acme", IsDeleted="0", ParentId=EMPTY_ID, OwnerId=U1, Industry="Tech", BillingCountry="Spain",
             CreatedDate="2022-01-01 00:00:00", SystemModstamp="2024-01-01 00:00:00"),
        dict(Id=A2, Name="Negociación SA", IsDeleted="0", OwnerId=U2, SystemModstamp="2024-01-01 00:00:00"),
        dict(Id=A3, Name="Gone Inc", IsDeleted="1", OwnerId=U1, SystemModstamp="2024-05-01 00:00:00"),  # deleted later
    ], export_id="export-2", loaded_at=E2_AT)

    # --- currencies: USD corporate; EUR static 0.9 + dated 0.8 (Q1 2024) and 0.5 (from 2024-04-01); GBP 0.8
    insert_raw(con, "currency_type", [
        dict(Id="CT1", IsoCode="USD", ConversionRate="1", IsCorporate="1", IsActive="1"),
        dict(Id="CT2", IsoCode="EUR", ConversionRate="0.9", IsCorporate="0", IsActive="1"),
        dict(Id="CT3", IsoCode="GBP", ConversionRate="0.8", IsCorporate="0", IsActive="1"),
    ], export_id="export-2", loaded_at=E2_AT)
    insert_raw(con, "dated_conversion_rate", [
        dict(Id="DR1", IsoCode="EUR", StartDate="2024-01-01 00:00:00", NextStartDate="2024-04-01 00:00:00", ConversionRate="0.8"),
        dict(Id="DR2", IsoCode="EUR", StartDate="2024-04-01 00:00:00", NextStartDate="9999-12-31 00:00:00", ConversionRate="0.5"),
    ], export_id="export-2", loaded_at=E2_AT)

    # --- stages: Qualification is defined only in OpportunityStage; Prospecting's SortOrder 10 there loses
    # to the Opportunity's StageSortOrder 1.
    insert_raw(con, "opportunity_stage", [
        dict(Id="OS1", MasterLabel="Qualification", ApiName="Qualification", SortOrder="2", IsClosed="0", IsWon="0",
             DefaultProbability="20"),
        dict(Id="OS2", MasterLabel="Prospecting", ApiName="Prospecting", SortOrder="10", IsClosed="0", IsWon="0",
             DefaultProbability="10"),
    ], export_id="export-2", loaded_at=E2_AT)

    # --- opportunities -------------------------------------------------------------------
    insert_raw(con, "opportunity", [
        # older version of O1 (still negotiating) and O5 before its deletion
        dict(Id=O1, IsDeleted="0", AccountId=A1, StageName="Negociación", StageSortOrder="3", Amount="800",
             CurrencyIsoCode="EUR", CloseDate="2024-03-31 00:00:00", IsClosed="0", IsWon="0", OwnerId=U1,
             CreatedDate="2024-01-10 09:00:00", SystemModstamp="2024-02-01 00:00:00"),
        dict(Id=O5, IsDeleted="0", AccountId=A1, StageName="Closed Won", StageSortOrder="5", Amount="9999",
             CurrencyIsoCode="USD", CloseDate="2024-01-15 00:00:00", IsClosed="1", IsWon="1", OwnerId=U1,
             CreatedDate="2024-01-01 00:00:00", SystemModstamp="2024-01-15 00:00:00"),
    ], export_id="export-1", loaded_at=E1_AT)
    insert_raw(con, "opportunity", [
        dict(Id=O1, IsDeleted="0", AccountId=A1, Name="Acme deal", StageName="Closed Won", StageSortOrder="5",
             Amount="1000", CurrencyIsoCode="EUR", CloseDate="2024-02-29 00:00:00", IsClosed="1", IsWon="1",
             Probability="100", OwnerId=U1, ContractId=C1, ForecastCategory="Closed",
             CreatedDate="2024-01-10 09:00:00", SystemModstamp="2024-03-01 00:00:00"),
        dict(Id=O2, IsDeleted="0", AccountId=A2, StageName="Negociación", StageSortOrder="3", Amount="500",
             CurrencyIsoCode="", CloseDate="2024-09-30 00:00:00", IsClosed="0", IsWon="0", Probability="60",
             OwnerId=U2, ContractId="000000000000000", ForecastCategory="Forecast",
             CreatedDate="2024-03-01 10:00:00", SystemModstamp="2024-03-10 00:00:00"),
        dict(Id=O3, IsDeleted="0", AccountId=A1, StageName="Closed Lost", StageSortOrder="6", Amount="200",
             CurrencyIsoCode="GBP", CloseDate="2024-05-15 00:00:00", IsClosed="1", IsWon="0", Probability="0",
             OwnerId=U1, CreatedDate="2024-04-01 00:00:00", SystemModstamp="2024-05-15 00:00:00"),
        dict(Id=O4, IsDeleted="0", AccountId=A2, StageName="Closed Won", StageSortOrder="5", Amount="300",
             CurrencyIsoCode="JPY", CloseDate="2023-11-20 00:00:00", IsClosed="1", IsWon="1", Probability="100",
             OwnerId=U4, CreatedDate="2023-10-01 00:00:00", SystemModstamp="2023-11-20 00:00:00"),
        dict(Id=O5, IsDeleted="1", AccountId=A1, StageName="Closed Won", StageSortOrder="5", Amount="9999",
             CurrencyIsoCode="USD", CloseDate="2024-01-15 00:00:00", IsClosed="1", IsWon="1", OwnerId=U1,
             CreatedDate="2024-01-01 00:00:00", SystemModstamp="2024-06-01 00:00:00"),
        dict(Id=O6, IsDeleted="0", AccountId=A1, StageName="Prospecting", StageSortOrder="1", Amount="100",
             CurrencyIsoCode="EUR", CloseDate="2023-12-15 00:00:00", IsClosed="0", IsWon="0", Probability="",
             OwnerId=U1, CreatedDate="2023-06-15 00:00:00", SystemModstamp="2023-06-15 00:00:00"),
        dict(Id=O7, IsDeleted="0", AccountId=A2, StageName="Closed Won", StageSortOrder="5", Amount="400",
             CurrencyIsoCode="EUR", CloseDate="2024-05-10 00:00:00", IsClosed="1", IsWon="1", Probability="100",
             OwnerId=U2, CreatedDate="2024-04-01 00:00:00", SystemModstamp="2024-05-10 00:00:00"),
    ], export_id="export-2", loaded_at=E2_AT)

    # --- opportunity history ---------------------------------------------------------------
    h = lambda i, opp, at, stage, **kw: dict(Id=f"008{i:015d}", OpportunityId=opp, CreatedDate=at, StageName=stage,
                                             SystemModstamp=at, IsDeleted="0", **kw)
    insert_raw(con, "opportunity_history", [
        h(2, O1, "2024-01-20 09:00:00", "Qualification", Amount="800"),   # same row again in export-2
    ], export_id="export-1", loaded_at=E1_AT)
    insert_raw(con, "opportunity_history", [
        h(1, O1, "2024-01-10 09:00:00", "Prospecting", Amount="800", Probability="10"),
        h(2, O1, "2024-01-20 09:00:00", "Qualification", Amount="800"),
        h(3, O1, "2024-01-25 09:00:00", "Qualification", Amount="900"),
        h(4, O1, "2024-02-04 21:00:00", "Negociación", Amount="1000"),
        h(5, O1, "2024-02-29 09:00:00", "Closed Won", Amount="1000", CloseDate="2024-02-29 00:00:00", Probability="100"),
        h(6, O2, "2024-03-01 10:00:00", "Negociación", Amount="500"),
        h(7, O2, "2024-03-05 10:00:00", "Prospecting", Amount="500"),
        h(9, O6, "2023-06-15 00:00:00", "Legacy Stage", Amount="100"),
        h(10, O5, "2024-01-01 00:00:00", "Prospecting", Amount="9999"),   # of a deleted opportunity
    ], export_id="export-2", loaded_at=E2_AT)

    # --- leads -----------------------------------------------------------------------------
    insert_raw(con, "lead", [
        dict(Id=L1, IsDeleted="0", Status="Closed - Not Converted", LeadSource="Referral - Partner", OwnerId=U2,
             CreatedDate="2023-02-10 08:00:00", LastModifiedDate="2023-03-01 00:00:00", SystemModstamp="2023-03-01 00:00:00"),
        dict(Id=L4, IsDeleted="0", Status="Nurturing", LeadSource="Gestión directa", OwnerId=U_NO_ROW,
             CreatedDate="2024-06-01 00:00:00", SystemModstamp="2024-06-02 00:00:00"),
    ], export_id="export-1", loaded_at=E1_AT)
    insert_raw(con, "lead", [
        # L1 reopened: newer version wins
        dict(Id=L1, IsDeleted="0", Status="Open - Not Contacted", LeadSource="Referral - Partner", OwnerId=U2,
             CreatedDate="2023-02-10 08:00:00", LastModifiedDate="2024-04-01 00:00:00", SystemModstamp="2024-04-01 00:00:00",
             Referring_Account__c=A1),
        dict(Id=L2, IsDeleted="0", Status="Closed - Converted", LeadSource="Word of mouth", OwnerId=U2, IsConverted="1",
             ConvertedDate="2024-01-09 00:00:00", ConvertedOpportunityId=O1, ConvertedAccountId=A1,
             CreatedDate="2023-12-01 00:00:00", LastModifiedDate="2024-01-09 10:00:00", SystemModstamp="2024-01-09 10:00:00"),
        dict(Id=L3, IsDeleted="0", Status="Unqualified", LeadSource="Web", OwnerId=QUEUE, IsConverted="0",
             ConvertedOpportunityId=EMPTY_ID,
             CreatedDate="2024-02-01 00:00:00", LastModifiedDate="2024-03-15 12:00:00", SystemModstamp="2024-03-15 12:00:00"),
        # same SystemModstamp as export-1's version: the later load wins
        dict(Id=L4, IsDeleted="0", Status="Working", LeadSource="Gestión directa", OwnerId=U_NO_ROW, IsConverted="0",
             CreatedDate="2024-06-01 00:00:00", SystemModstamp="2024-06-02 00:00:00"),
    ], export_id="export-2", loaded_at=E2_AT)

    # --- contracts -------------------------------------------------------------------------
    if contracts:
        insert_raw(con, "contract", [
            dict(Id=C1, AccountId=A1, OwnerId="", StatusCode="Activated", Status="Activated",
                 StartDate="2024-03-01 00:00:00", EndDate="", ContractTerm="24", IsDeleted="0"),
            dict(Id=C2, AccountId=A2, OwnerId=U2, StatusCode="Draft", Status="Draft",
                 StartDate="2024-01-01 00:00:00", EndDate="2024-12-31 00:00:00", ContractTerm="", IsDeleted="0"),
            dict(Id=C3, AccountId=A2, OwnerId=U2, StatusCode="Expired", Status="Activated",
                 StartDate="2022-01-01 00:00:00", EndDate="2022-12-31 00:00:00", ContractTerm="12", IsDeleted="0"),
            dict(Id=C4, AccountId=A2, OwnerId=U2, StatusCode="Activated", Status="Activated",
                 StartDate="2023-01-01 00:00:00", EndDate="2023-06-30 00:00:00", ContractTerm="6", IsDeleted="0"),
            dict(Id=C5, AccountId=A2, OwnerId=U2, StatusCode="Activated", Status="Activated",
                 StartDate="2024-01-01 00:00:00", EndDate="2024-12-31 00:00:00", ContractTerm="12", IsDeleted="0"),
        ], export_id="export-2", loaded_at=E2_AT)

    # --- activities ------------------------------------------------------------------------
    insert_raw(con, "task", [
        dict(Id="00T000000000001AAA", OwnerId=U1, WhoId=L1, TaskSubtype="Call", Status="Completed", IsClosed="1",
             ActivityDate="2024-02-01 00:00:00", CompletedDateTime="2024-02-01 15:00:00",
             CreatedDate="2024-01-31 00:00:00", IsDeleted="0"),
        dict(Id="00T000000000002AAA", OwnerId=U1, WhoId=CONTACT, TaskSubtype="Task", Type="Email", Status="Not Started",
             IsClosed="0", ActivityDate="2024-06-01 00:00:00", CreatedDate="2024-05-20 00:00:00", IsDeleted="0"),
        dict(Id="00T000000000003AAA", OwnerId=U2, CallDurationInSeconds="120", Status="Completed", IsClosed="",
             CreatedDate="2024-04-02 08:30:00", IsDeleted="0"),
        dict(Id="00T000000000004AAA", OwnerId=U2, WhoId=EMPTY_ID, Subject="E-mail follow up", IsClosed="0",
             Status="Not Started", ActivityDate="2024-07-15 00:00:00", CreatedDate="2024-06-10 00:00:00", IsDeleted="0"),
        dict(Id="00T000000000005AAA", OwnerId=U2, Subject="Prepare deck", IsClosed="0", Status="Not Started",
             CreatedDate="2024-06-30 12:00:00", SystemModstamp="2024-06-30 23:59:59", IsDeleted="0"),
        dict(Id="00T000000000006AAA", OwnerId=U3, Subject="Call deleted", IsClosed="1", Status="Completed",
             CreatedDate="2024-05-01 00:00:00", IsDeleted="1"),
    ], export_id="export-2", loaded_at=E2_AT)
    insert_raw(con, "event", [
        dict(Id="00U000000000001AAA", OwnerId=U1, WhoId=CONTACT, Subject="Demo", StartDateTime="2024-03-10 14:00:00",
             ActivityDateTime="2024-03-10 14:00:00", ActivityDate="2024-03-10 00:00:00",
             CreatedDate="2024-03-01 00:00:00", IsDeleted="0"),
        dict(Id="00U000000000002AAA", OwnerId=U2, Subject="Kickoff", StartDateTime="2024-07-05 10:00:00",
             ActivityDateTime="2024-07-05 10:00:00", ActivityDate="2024-07-05 00:00:00",
             CreatedDate="2024-06-20 00:00:00", IsDeleted="0"),
    ], export_id="export-2", loaded_at=E2_AT)

    # --- quotas: FT1 is the main forecasting type (2 rows); FT2's row is ignored ----------
    insert_raw(con, "forecasting_quota", [
        dict(Id="Q1", QuotaOwnerId=U1, QuotaAmount="1000", CurrencyIsoCode="EUR", StartDate="2024-04-01 00:00:00",
             ForecastingTypeId="FT1"),
        dict(Id="Q2", QuotaOwnerId=U1, QuotaAmount="99", CurrencyIsoCode="USD", StartDate="2024-04-01 00:00:00",
             ForecastingTypeId="FT2"),
        dict(Id="Q3", QuotaOwnerId=U2, QuotaAmount="500", CurrencyIsoCode="USD", StartDate="2024-01-01 00:00:00",
             ForecastingTypeId="FT1"),
    ], export_id="export-2", loaded_at=E2_AT)

    # --- KPI targets -----------------------------------------------------------------------
    insert_raw(con, "kpi_target", [
        dict(kpi="new_leads", period="2025", scope="company", scope_id="", target_value="100"),
        dict(kpi="new_leads", period="2024-Q2", scope="Rep", scope_id=U1, target_value="10"),
        dict(kpi="new_leads", period="soon", scope="company", scope_id="", target_value="5"),
    ], export_id="export-2", loaded_at=E2_AT)


def warehouse(*, contracts: bool = True, **settings):
    con = new_warehouse()
    load_export(con, contracts=contracts)
    set_run_settings(con, **settings)
    build(con)
    return con


@pytest.fixture(scope="module")
def con():
    c = warehouse()
    yield c
    c.close()


def by_id(con, table: str, key: str) -> dict:
    return {r[key]: r for r in rows(con, f"select * from {table}")}


# --- the model files --------------------------------------------------------------------------

INTERFACE = {
    "dim_run": "as_of_date fiscal_year_start_month corporate_currency customer_window_days referral_sources "
               "closed_lead_statuses team_source referral_credit on_track_attainment at_risk_attainment "
               "has_contracts has_users has_hire_dates has_tasks has_events first_data_date",
    "dim_date": "date_day week_start month_start quarter_start quarter_end fiscal_year fiscal_quarter year_start year_end",
    "dim_period": "period_type period_start period_end period_label is_partial effective_end",
    "dim_rep": "user_id rep_name email user_type is_active is_rep manager_id role_id role_name team_id team_name "
               "region hire_date termination_date hire_date_source",
    "dim_account": "account_id account_name account_type industry billing_country owner_id created_date",
    "dim_stage": "stage_name stage_order is_closed is_won is_lost forecast_category default_probability",
    "dim_product": "product_id product_name product_code family",
    "dim_currency_rate": "iso_code conversion_rate valid_from valid_to source",
    "fct_opportunity": "opportunity_id account_id owner_id opportunity_name type lead_source stage_name stage_order "
                       "is_closed is_won is_lost created_date created_at close_date currency_iso_code amount "
                       "amount_corporate has_currency_rate probability weighted_amount_corporate forecast_category "
                       "contract_id referring_account_id campaign_id from_converted_lead cycle_days",
    "fct_opportunity_history": "opportunity_id valid_from valid_to stage_name stage_order amount_corporate probability "
                               "close_date forecast_category is_closed is_won",
    "fct_opportunity_stage_change": "opportunity_id stage_name stage_order entered_at exited_at next_stage_name "
                                    "next_stage_order days_in_stage is_current outcome",
    "fct_lead": "lead_id owner_id lead_source status created_date last_modified_date is_converted converted_date "
                "converted_opportunity_id converted_account_id is_closed_status pipeline_start pipeline_end is_active "
                "is_referral referring_account_id",
    "fct_contract": "contract_id account_id owner_id status_code is_activated start_date end_date term_months term_years "
                    "tcv_corporate acv_corporate source",
    "fct_activity": "activity_id source activity_type owner_id who_id who_type what_id account_id subject status "
                    "is_completed is_overdue activity_date contact_at created_at",
    "fct_quota": "owner_id period_start quota_amount_corporate",
    "fct_customer_span": "account_id active_from active_to",
    "fct_kpi_target": "kpi period_type period_start period_end scope scope_id target_value",
}


def table_columns(con, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]


def test_core_tables_have_the_interface_columns(con):
    for table, columns in INTERFACE.items():
        missing = set(columns.split()) - set(table_columns(con, "core", table))
        assert not missing, f"core.{table} lacks {sorted(missing)}"


def test_every_contract_field_is_in_its_staging_model(con):
    for contract in load_contracts().values():
        columns = set(table_columns(con, "staging", f"stg_{contract.table}"))
        assert columns, f"staging.stg_{contract.table} missing"
        for f in contract.fields:
            expected = f"{contract.table}_id" if f.name == "Id" else f.column
            assert expected in columns, f"stg_{contract.table} lacks {expected} ({f.name})"
        assert {"_export_id", "_loaded_at"} <= columns


def test_every_model_is_documented(con):
    """Each staging/core file has a description and documents every column it outputs."""
    for model in core_models():
        assert model.description, f"{model.path} has no description"
        undocumented = set(table_columns(con, model.schema, model.name)) - set(model.columns)
        assert not undocumented, f"{model.path}: columns without docs: {sorted(undocumented)}"
        header = re.match(r"^\s*/\*(.*?)\*/", model.path.read_text(), re.S)
        assert yaml.safe_load(header.group(1))["description"]


# --- staging -----------------------------------------------------------------------------------

def test_staging_latest_version_wins_and_deleted_rows_disappear(con):
    opps = by_id(con, "staging.stg_opportunity", "opportunity_id")
    assert sorted(opps) == [O1, O2, O3, O4, O6, O7]                 # O5 deleted in export-2
    assert opps[O1]["stage_name"] == "Closed Won"                   # export-2 version (newer SystemModstamp)
    assert opps[O1]["amount"] == 1000.0
    assert opps[O1]["close_date"] == D(2024, 2, 29)                 # leap day parsed
    assert opps[O1]["is_won"] is True and opps[O3]["is_won"] is False
    assert opps[O2]["contract_id"] is None                          # '000000000000000' -> NULL
    assert opps[O2]["currency_iso_code"] is None                    # '' -> NULL
    accounts = by_id(con, "staging.stg_account", "account_id")
    assert sorted(accounts) == [A1, A2]                             # A3 deleted by a newer version
    assert accounts[A1]["parent_id"] is None                        # 000000000000000AAA -> NULL
    assert accounts[A2]["name"] == "Negociación SA"
    users = by_id(con, "staging.stg_user", "user_id")
    assert users[U1]["name"] == "Alice Rep"                         # not the older 'Alice Old'
    assert users[U1]["hire_date"] == D(2023, 1, 15)
    leads = by_id(con, "staging.stg_lead", "lead_id")
    assert leads[L1]["status"] == "Open - Not Contacted"            # newer SystemModstamp
    assert leads[L4]["status"] == "Working"                         # same SystemModstamp: later load wins
    assert leads[L3]["converted_opportunity_id"] is None
    history = rows(con, "select * from staging.stg_opportunity_history where opportunity_history_id = ?",
                   [f"008{2:015d}"])
    assert len(history) == 1                                        # loaded twice, kept once
    tasks = by_id(con, "staging.stg_task", "task_id")
    assert "00T000000000006AAA" not in tasks and len(tasks) == 5
    assert tasks["00T000000000004AAA"]["who_id"] is None


def test_sf_id_gives_the_18_character_form():
    """Salesforce's case-safe suffix, checked against the demo generator's own (numpy)
    implementation on ids with every mix of upper and lower case."""
    import duckdb
    import numpy as np

    from pipeline.demo_export_format import Ids
    from pipeline.warehouse import MACROS

    con = duckdb.connect()
    con.execute(MACROS)
    ids = Ids("001", seed=7).format(np.arange(0, 62**4, 997)).to_list()
    assert len({i[15:] for i in ids}) > 20                         # many different suffixes
    got = con.execute("select list(sf_id(v[:15]) order by i) from (select unnest(?) as v, "
                      "generate_subscripts(?, 1) as i)", [ids, ids]).fetchone()[0]
    assert got == ids
    assert con.execute("select sf_id(' 001A0000006Vm9r '), sf_id('001A0000006Vm9rIAC'), sf_id('000000000000000'), "
                       "sf_id('E1-xxxxxxxxxxxx')").fetchone() == (
        "001A0000006Vm9rIAC", "001A0000006Vm9rIAC", None, "E1-xxxxxxxxxxxx")


def test_sf_id_shortcut_for_18_character_ids_changes_no_result():
    """sf_id returns an 18-byte id with printable ASCII ends as it is, without trimming:
    on every value below it must equal the trim-everything definition (blanks, Unicode
    spaces that trim strips, multibyte characters, the empty ids, 15-character ids)."""
    import itertools

    import duckdb

    from pipeline.warehouse import MACROS

    con = duckdb.connect()
    con.execute(MACROS)
    con.execute("create macro trimmed_sf_id(v) as case when trim(v) in ('', '000000000000000AAA', "
                "'000000000000000') then null else sf_id18(trim(v)) end")
    ends = ["", " ", "  ", "\u00a0", "\u3000", "\t", "é", "x"]
    cores = ["001A0000006Vm9rIAC", "001A0000006Vm9r", "000000000000000AAA", "000000000000000", "",
             "001A0000006Vm9rIA", "0Ω1A0000006Vm9", "001A0000006Vm9rIAé", "001a0000006vm9rIAC"]
    values = [a + c + b for a, c, b in itertools.product(ends, cores, ends)] + [None]
    assert sum(len(v.encode()) == 18 for v in values if v) > 10       # the shortcut's length is hit often
    mismatched = con.execute("select list(v) from (select unnest(?) as v) "
                             "where sf_id(v) is distinct from trimmed_sf_id(v)", [values]).fetchone()[0]
    assert mismatched is None


def test_staging_plain_files_keep_only_the_latest_load(con):
    hr = rows(con, "select * from staging.stg_hr_employee order by employee_id")
    assert [r["employee_id"] for r in hr] == ["E1", "E5", "E9"]
    assert hr[0]["hire_date"] == D(2023, 3, 1)                      # not the 2020-01-01 of the older load
    assert hr[1]["user_id"] == U5 and hr[1]["hire_date"] == D(2024, 2, 29)  # 15-character id in the file
    targets = rows(con, "select * from staging.stg_kpi_target order by period")
    assert [(t["period"], t["scope"]) for t in targets] == [("2024-Q2", "rep"), ("2025", "company"), ("SOON", "company")]


def test_run_settings_defaults_when_raw_is_empty(con):
    s = one(con, "select * from staging.stg_run_settings")
    assert s["fiscal_year_start_month"] == 1
    assert s["customer_window_days"] == 365
    assert s["referral_sources"] == ["%referral%", "word of mouth"]
    assert s["team_source"] == "manager"


# --- dim_run / calendars ------------------------------------------------------------------------

def test_dim_run_derives_as_of_from_newest_systemmodstamp(con):
    run = one(con, "select * from core.dim_run")
    assert run["as_of_date"] == D(2024, 6, 30)                      # task 5's SystemModstamp 2024-06-30 23:59:59
    assert run["as_of_source"] == "export"
    assert run["first_data_date"] == D(2023, 2, 10)                 # L1 CreatedDate, the earliest
    assert run["corporate_currency"] == "USD"                       # CurrencyType.IsCorporate
    assert (run["has_contracts"], run["has_users"], run["has_hire_dates"], run["has_tasks"], run["has_events"]) == \
        (True, True, True, True, True)


def test_dim_date_calendar_years(con):
    n, first, last = con.execute("select count(*), min(date_day), max(date_day) from core.dim_date").fetchone()
    assert (first, last) == (D(2023, 1, 1), D(2024, 12, 31))        # FY of 2023-02-10 .. FY of 2024-06-30
    assert n == 365 + 366                                           # 2024 is a leap year
    leap = one(con, "select * from core.dim_date where date_day = date '2024-02-29'")
    assert leap["week_start"] == D(2024, 2, 26)                     # a Monday
    assert (leap["quarter_start"], leap["quarter_end"]) == (D(2024, 1, 1), D(2024, 3, 31))
    assert (leap["fiscal_year"], leap["fiscal_quarter"]) == (2024, 1)
    assert (leap["year_start"], leap["year_end"]) == (D(2024, 1, 1), D(2024, 12, 31))


def test_dim_period_calendar_years(con):
    periods = rows(con, "select * from core.dim_period order by period_type, period_start")
    quarters = [p for p in periods if p["period_type"] == "quarter"]
    years = [p for p in periods if p["period_type"] == "year"]
    # 2023-Q1 (holds 2023-02-10) .. 2024-Q2 (holds the as-of date)
    assert [q["period_label"] for q in quarters] == ["FY2023-Q1", "FY2023-Q2", "FY2023-Q3", "FY2023-Q4",
                                                     "FY2024-Q1", "FY2024-Q2"]
    assert quarters[-1]["period_end"] == D(2024, 6, 30) and quarters[-1]["is_partial"] is False   # ends on as-of
    assert [y["period_label"] for y in years] == ["FY2023", "FY2024"]
    assert years[1]["is_partial"] is True
    assert (years[1]["period_end"], years[1]["effective_end"]) == (D(2024, 12, 31), D(2024, 6, 30))


def test_fiscal_year_start_month_and_as_of_override():
    con = warehouse(as_of_date=D(2024, 5, 31), fiscal_year_start_month=4)
    run = one(con, "select * from core.dim_run")
    assert (run["as_of_date"], run["as_of_source"]) == (D(2024, 5, 31), "settings")
    # FY starting 2022-04-01 (holds 2023-02-10) .. FY ending 2025-03-31 (holds 2024-05-31): 365 + 366 + 365 days
    n, first, last = con.execute("select count(*), min(date_day), max(date_day) from core.dim_date").fetchone()
    assert (first, last, n) == (D(2022, 4, 1), D(2025, 3, 31), 1096)
    leap = one(con, "select * from core.dim_date where date_day = date '2024-02-29'")
    # FY2024 = 2023-04-01 .. 2024-03-31 (named by the year it ends in); Jan-Mar is its 4th quarter
    assert (leap["fiscal_year"], leap["fiscal_quarter"]) == (2024, 4)
    assert (leap["year_start"], leap["year_end"]) == (D(2023, 4, 1), D(2024, 3, 31))
    assert (leap["quarter_start"], leap["quarter_end"]) == (D(2024, 1, 1), D(2024, 3, 31))
    periods = rows(con, "select * from core.dim_period order by period_type, period_start")
    assert [p["period_label"] for p in periods if p["period_type"] == "year"] == ["FY2023", "FY2024", "FY2025"]
    quarters = [p for p in periods if p["period_type"] == "quarter"]
    assert [q["period_label"] for q in quarters] == ["FY2023-Q4", "FY2024-Q1", "FY2024-Q2", "FY2024-Q3",
                                                     "FY2024-Q4", "FY2025-Q1"]
    last_q = quarters[-1]
    assert (last_q["period_start"], last_q["period_end"], last_q["effective_end"], last_q["is_partial"]) == \
        (D(2024, 4, 1), D(2024, 6, 30), D(2024, 5, 31), True)
    # targets are fiscal: '2025' = 2024-04-01 .. 2025-03-31; '2024-Q2' = 2023-07-01 .. 2023-09-30
    targets = {t["period_label"]: t for t in rows(con, "select * from core.fct_kpi_target")}
    assert (targets["FY2025"]["period_start"], targets["FY2025"]["period_end"]) == (D(2024, 4, 1), D(2025, 3, 31))
    assert (targets["FY2024-Q2"]["period_start"], targets["FY2024-Q2"]["period_end"]) == (D(2023, 7, 1), D(2023, 9, 30))
    # the as-of override reaches the facts: L1 is in the pipeline until 2024-05-31, task 2 (due 2024-06-01)
    # is not overdue yet
    assert one(con, f"select pipeline_end from core.fct_lead where lead_id = '{L1}'")["pipeline_end"] == D(2024, 5, 31)
    assert one(con, "select is_overdue from core.fct_activity where activity_id = '00T000000000002AAA'")["is_overdue"] is False
    con.close()


# --- reps ----------------------------------------------------------------------------------------

def test_dim_rep(con):
    reps = by_id(con, "core.dim_rep", "user_id")
    # 5 users + the owner without a User row + the HR employee without a user; the queue gets no row
    assert sorted(reps) == sorted([U1, U2, U3, U4, U5, U_NO_ROW, "hr:E9"])
    assert reps[U1]["is_rep"] is True                               # owns opportunities
    assert reps[U3]["is_rep"] is False                              # Standard but owns nothing, not in HR
    assert reps[U4]["is_rep"] is False                              # AutomatedProcess owning O4: never a rep
    assert reps[U5]["is_rep"] is True                               # owns nothing but is in the HR file
    assert reps[U_NO_ROW]["is_rep"] is True and reps[U_NO_ROW]["rep_name"] == U_NO_ROW
    assert reps["hr:E9"]["is_rep"] is True and reps["hr:E9"]["hire_date"] == D(2022, 5, 1)
    # hire dates: HR by email beats the user field; HR by user_id; user field when no HR row
    assert (reps[U2]["hire_date"], reps[U2]["hire_date_source"]) == (D(2023, 3, 1), "hr_file")
    assert (reps[U5]["hire_date"], reps[U5]["termination_date"], reps[U5]["hire_date_source"]) == \
        (D(2024, 2, 29), D(2024, 6, 15), "hr_file")
    assert (reps[U1]["hire_date"], reps[U1]["hire_date_source"]) == (D(2023, 1, 15), "user_field")
    assert reps[U3]["hire_date"] is None and reps[U3]["hire_date_source"] is None   # never from CreatedDate
    # teams: manager first, else role
    assert (reps[U1]["team_id"], reps[U1]["team_name"]) == (U3, "Carol Manager")
    assert (reps[U2]["team_id"], reps[U2]["team_name"]) == (R1, "Sales EMEA")
    assert reps[U2]["rep_name"] == "Bob Builder"                    # no Name: first + last
    assert reps[U1]["region"] == "EMEA" and reps[U1]["role_name"] == "Sales EMEA"


def test_dim_rep_team_from_role():
    con = warehouse(team_source="role")
    reps = by_id(con, "core.dim_rep", "user_id")
    assert (reps[U1]["team_id"], reps[U1]["team_name"]) == (R1, "Sales EMEA")
    con.close()


# --- stages and opportunities -------------------------------------------------------------------

def test_dim_stage_order_and_state(con):
    stages = by_id(con, "core.dim_stage", "stage_name")
    # StageSortOrder: Prospecting 1 (beats OpportunityStage's 10), Negociación 3, Closed Won 5, Closed Lost 6;
    # Qualification 2 from OpportunityStage; Legacy Stage (history only, no order) last
    order = sorted(stages, key=lambda s: stages[s]["stage_order"])
    assert order == ["Prospecting", "Qualification", "Negociación", "Closed Won", "Closed Lost", "Legacy Stage"]
    assert [stages[s]["stage_order"] for s in order] == [1, 2, 3, 4, 5, 6]
    assert stages["Prospecting"]["sort_order_source"] == "opportunity"
    assert stages["Qualification"]["sort_order_source"] == "opportunity_stage"
    assert (stages["Closed Won"]["is_closed"], stages["Closed Won"]["is_won"], stages["Closed Won"]["is_lost"]) == (True, True, False)
    assert (stages["Closed Lost"]["is_closed"], stages["Closed Lost"]["is_won"], stages["Closed Lost"]["is_lost"]) == (True, False, True)
    assert (stages["Negociación"]["is_closed"], stages["Negociación"]["is_won"]) == (False, False)
    assert stages["Qualification"]["default_probability"] == 20.0


def test_fct_opportunity_currencies_and_state(con):
    opps = by_id(con, "core.fct_opportunity", "opportunity_id")
    assert O5 not in opps and len(opps) == 6
    # O1: 1000 EUR closed 2024-02-29 -> dated EUR rate of 2024-01-01..2024-04-01 = 0.8 -> 1250 USD
    assert opps[O1]["amount_corporate"] == pytest.approx(1250.0) and opps[O1]["rate_source"] == "dated"
    # O7: 400 EUR closed 2024-05-10 -> dated rate from 2024-04-01 (NextStartDate 9999-12-31 = open) 0.5 -> 800
    assert opps[O7]["amount_corporate"] == pytest.approx(800.0)
    # O6: 100 EUR closing 2023-12-15, before any dated rate -> static 0.9 -> 111.11
    assert opps[O6]["amount_corporate"] == pytest.approx(100 / 0.9) and opps[O6]["rate_source"] == "static"
    # O3: 200 GBP, static 0.8 -> 250
    assert opps[O3]["amount_corporate"] == pytest.approx(250.0)
    # O4: JPY has no rate -> NULL, flagged; never a silent 1.0
    assert opps[O4]["amount_corporate"] is None and opps[O4]["has_currency_rate"] is False
    # O2: no currency -> corporate currency, 500 * 60 / 100 = 300 weighted
    assert opps[O2]["currency_iso_code"] == "USD" and opps[O2]["amount_corporate"] == pytest.approx(500.0)
    assert opps[O2]["weighted_amount_corporate"] == pytest.approx(300.0)
    assert opps[O2]["forecast_category"] == "Commit"                # API value 'Forecast'
    # O6 has no probability: the stage's default (OpportunityStage says 10 for Prospecting)
    assert opps[O6]["probability"] == 10.0
    # state from IsClosed/IsWon
    assert (opps[O3]["is_closed"], opps[O3]["is_won"], opps[O3]["is_lost"]) == (True, False, True)
    assert (opps[O2]["is_closed"], opps[O2]["is_lost"]) == (False, False)
    # cycle: 2024-01-10 -> 2024-02-29 = 21 + 29 = 50 days; open deals have none
    assert opps[O1]["cycle_days"] == 50 and opps[O2]["cycle_days"] is None
    assert opps[O1]["created_date"] == D(2024, 1, 10) and opps[O1]["stage_order"] == 4
    assert opps[O1]["from_converted_lead"] is True and opps[O7]["from_converted_lead"] is False


def test_fct_opportunity_history_and_stage_changes(con):
    history = rows(con, f"select * from core.fct_opportunity_history where opportunity_id = '{O1}' order by history_seq")
    assert len(history) == 5                                        # the duplicated row counted once
    assert history[0]["valid_to"] == TS(2024, 1, 20, 9) and history[-1]["valid_to"] is None
    assert history[-1]["is_won"] is True and history[0]["is_closed"] is False
    # 1000 EUR of the last row, CloseDate 2024-02-29 -> 0.8 -> 1250
    assert history[-1]["amount_corporate"] == pytest.approx(1250.0)
    assert rows(con, f"select * from core.fct_opportunity_history where opportunity_id = '{O5}'") == []

    visits = rows(con, f"select * from core.fct_opportunity_stage_change where opportunity_id = '{O1}' order by visit_number")
    # two Qualification rows collapse into one visit
    assert [v["stage_name"] for v in visits] == ["Prospecting", "Qualification", "Negociación", "Closed Won"]
    # 01-10 09:00 -> 01-20 09:00 = 10 d; 01-20 09:00 -> 02-04 21:00 = 15.5 d; 02-04 21:00 -> 02-29 09:00 = 24.5 d
    assert [v["days_in_stage"] for v in visits[:3]] == pytest.approx([10.0, 15.5, 24.5])
    assert [v["outcome"] for v in visits] == ["advanced", "advanced", "won", "won"]
    # still in Closed Won: 02-29 09:00 to the end of the as-of day (07-01 00:00) = 0.625 + 122 days
    assert visits[-1]["is_current"] is True and visits[-1]["exited_at"] is None
    assert visits[-1]["days_in_stage"] == pytest.approx(122.625)
    assert visits[2]["next_stage_name"] == "Closed Won" and visits[2]["next_stage_order"] == 4
    o2 = rows(con, f"select * from core.fct_opportunity_stage_change where opportunity_id = '{O2}' order by visit_number")
    assert [(v["stage_name"], v["outcome"]) for v in o2] == [("Negociación", "moved_back"), ("Prospecting", "open")]
    assert o2[0]["days_in_stage"] == pytest.approx(4.0)


# --- leads -----------------------------------------------------------------------------------

def test_fct_lead_pipeline(con):
    leads = by_id(con, "core.fct_lead", "lead_id")
    # open lead: in the pipeline until the as-of date
    assert (leads[L1]["pipeline_start"], leads[L1]["pipeline_end"], leads[L1]["is_active"]) == \
        (D(2023, 2, 10), D(2024, 6, 30), True)
    assert leads[L1]["is_referral"] is True and leads[L1]["referring_account_id"] == A1
    # converted: until ConvertedDate
    assert (leads[L2]["pipeline_end"], leads[L2]["is_active"], leads[L2]["is_converted"]) == (D(2024, 1, 9), False, True)
    assert leads[L2]["is_referral"] is True                         # 'Word of mouth'
    # closed status 'Unqualified': until LastModifiedDate
    assert (leads[L3]["is_closed_status"], leads[L3]["pipeline_end"], leads[L3]["is_active"]) == \
        (True, D(2024, 3, 15), False)
    assert leads[L3]["is_referral"] is False
    assert leads[L1]["is_closed_status"] is False                   # 'Open - Not Contacted'
    assert leads[L4]["is_active"] is True and leads[L4]["lead_source"] == "Gestión directa"


def test_fct_lead_closed_statuses_are_configurable():
    con = warehouse(closed_lead_statuses=["%not contacted%"])
    leads = by_id(con, "core.fct_lead", "lead_id")
    assert leads[L1]["is_closed_status"] is True and leads[L1]["pipeline_end"] == D(2024, 4, 1)
    assert leads[L3]["is_closed_status"] is False and leads[L3]["is_active"] is True
    con.close()


# --- contracts and customers -----------------------------------------------------------------

def test_fct_contract_from_contracts(con):
    contracts = by_id(con, "core.fct_contract", "contract_id")
    c1 = contracts[C1]
    # no owner: the won opportunity's owner; no EndDate: 2024-03-01 + 24 months - 1 day
    assert (c1["owner_id"], c1["end_date"], c1["term_years"]) == (U1, D(2026, 2, 28), 2.0)
    assert c1["tcv_corporate"] == pytest.approx(1250.0) and c1["acv_corporate"] == pytest.approx(625.0)
    assert c1["source"] == "contract" and c1["is_activated"] is True
    c2 = contracts[C2]
    # Draft; no term: (2024-12-31 - 2024-01-01) / 365.25 = 365 / 365.25; no won deals: TCV 0, ACV 0 / max(.., 1)
    assert c2["is_activated"] is False and c2["term_years"] == pytest.approx(365 / 365.25)
    assert (c2["tcv_corporate"], c2["acv_corporate"]) == (0.0, 0.0)
    assert contracts[C3]["is_activated"] is True                    # Expired: was activated during its term


def test_fct_customer_span_from_contracts(con):
    spans = rows(con, "select * from core.fct_customer_span order by account_id, active_from")
    # A2: C3 2022-01-01..2022-12-31 and C4 2023-01-01..2023-06-30 are adjacent -> merged; C5 separate; C2 draft
    assert [(s["account_id"], s["active_from"], s["active_to"]) for s in spans] == [
        (A1, D(2024, 3, 1), D(2026, 2, 28)),
        (A2, D(2022, 1, 1), D(2023, 6, 30)),
        (A2, D(2024, 1, 1), D(2024, 12, 31)),
    ]


def test_no_contracts_fall_back_to_won_opportunities():
    con = warehouse(contracts=False)
    assert one(con, "select has_contracts from core.dim_run")["has_contracts"] is False
    contracts = by_id(con, "core.fct_contract", "contract_id")
    assert sorted(contracts) == sorted([O1, O4, O7])                # the Closed Won opportunities
    o1 = contracts[O1]
    # leap-day start: a one-year contract 2024-02-29 .. 2025-02-28
    assert (o1["start_date"], o1["end_date"], o1["term_years"]) == (D(2024, 2, 29), D(2025, 2, 28), 1.0)
    assert (o1["tcv_corporate"], o1["acv_corporate"], o1["source"], o1["owner_id"]) == \
        (pytest.approx(1250.0), pytest.approx(1250.0), "won_opportunity", U1)
    assert contracts[O4]["tcv_corporate"] is None                   # JPY without a rate: unknown, not 0
    spans = rows(con, "select * from core.fct_customer_span order by account_id, active_from")
    # window 365: day d is active when CloseDate in (d - 365, d] -> CloseDate .. CloseDate + 364
    # A1: 2024-02-29 + 364 = 2025-02-27; A2: O4 2023-11-20..2024-11-18 overlaps O7 2024-05-10..2025-05-09 -> merged
    assert [(s["account_id"], s["active_from"], s["active_to"]) for s in spans] == [
        (A1, D(2024, 2, 29), D(2025, 2, 27)),
        (A2, D(2023, 11, 20), D(2025, 5, 9)),
    ]
    con.close()


def test_customer_window_is_configurable():
    con = warehouse(contracts=False, customer_window_days=30)
    spans = rows(con, f"select * from core.fct_customer_span where account_id = '{A2}' order by active_from")
    # 2023-11-20 + 29 = 2023-12-19; 2024-05-10 + 29 = 2024-06-08: no overlap any more
    assert [(s["active_from"], s["active_to"]) for s in spans] == [
        (D(2023, 11, 20), D(2023, 12, 19)), (D(2024, 5, 10), D(2024, 6, 8))]
    con.close()


# --- activities, quotas, targets -------------------------------------------------------------

def test_fct_activity(con):
    acts = by_id(con, "core.fct_activity", "activity_id")
    assert len(acts) == 7                                           # 5 live tasks + 2 events
    t1, t2, t3, t4, t5 = (acts[f"00T00000000000{i}AAA"] for i in range(1, 6))
    assert (t1["activity_type"], t1["who_type"], t1["is_completed"]) == ("call", "lead", True)   # TaskSubtype
    assert t1["contact_at"] == TS(2024, 2, 1, 15)                   # CompletedDateTime
    assert (t2["activity_type"], t2["who_type"], t2["is_overdue"]) == ("email", "contact", True)  # Type; due 06-01
    assert t2["contact_at"] == TS(2024, 6, 1)                       # no completion: ActivityDate
    assert (t3["activity_type"], t3["is_completed"]) == ("call", True)   # call duration; Status Completed
    assert t3["contact_at"] == TS(2024, 4, 2, 8, 30)                # neither: CreatedDate
    assert (t4["activity_type"], t4["who_id"], t4["is_overdue"]) == ("email", None, False)   # subject; due later
    assert t5["activity_type"] == "task"
    e1, e2 = acts["00U000000000001AAA"], acts["00U000000000002AAA"]
    assert (e1["activity_type"], e1["source"], e1["is_completed"]) == ("meeting", "event", True)
    assert e2["is_completed"] is False                              # starts after the as-of date


def test_activity_type_from_email_message_id_and_configured_subject_patterns():
    """Spec order: TaskSubtype, Type, call fields, EmailMessageId, then the run's subject
    patterns (lowercased, replacing the defaults)."""
    con = new_warehouse()
    load_export(con)
    insert_raw(con, "task", [
        dict(Id="00T000000000007AAA", OwnerId=U1, Subject="Call back", EmailMessageId="02s000000000001AAA",
             CreatedDate="2024-06-01 00:00:00", IsDeleted="0"),    # EmailMessageId comes before subjects
        dict(Id="00T000000000008AAA", OwnerId=U1, Subject="  Ring Anna", CreatedDate="2024-06-01 00:00:00",
             IsDeleted="0"),
        dict(Id="00T000000000009AAA", OwnerId=U1, Subject="Call Bob", CreatedDate="2024-06-01 00:00:00",
             IsDeleted="0"),
        dict(Id="00T00000000000AAAA", OwnerId=U1, Subject="LinkedIn InMail", CreatedDate="2024-06-01 00:00:00",
             IsDeleted="0"),
        dict(Id="00T00000000000BAAA", OwnerId=U1, Type="Call", Subject="Email sent", EmailMessageId="02s000000000002AAA",
             CreatedDate="2024-06-01 00:00:00", IsDeleted="0"),    # Type decides first
    ], export_id="export-3", loaded_at=E2_AT + dt.timedelta(days=1))
    set_run_settings(con, call_subject_patterns=["Ring%"], email_subject_patterns=["%inmail%"])
    build(con)
    types = {a["activity_id"][-5:-3]: a["activity_type"] for a in rows(con, "select * from core.fct_activity")}
    assert {k: types[k] for k in ("07", "08", "09", "0A", "0B", "04")} == {
        "07": "email", "08": "call", "09": "task", "0A": "email", "0B": "call",
        "04": "task",  # 'E-mail follow up': the default patterns are replaced, not extended
    }
    con.close()


def test_fct_quota(con):
    quotas = {(q["owner_id"], q["period_start"]): q for q in rows(con, "select * from core.fct_quota")}
    # FT1 only; 1000 EUR on 2024-04-01 at the dated 0.5 -> 2000 USD; FT2's 99 ignored
    assert sorted(quotas) == [(U1, D(2024, 4, 1)), (U2, D(2024, 1, 1))]   # one row per owner and period
    assert quotas[(U1, D(2024, 4, 1))]["quota_amount_corporate"] == pytest.approx(2000.0)
    assert quotas[(U2, D(2024, 1, 1))]["quota_amount_corporate"] == pytest.approx(500.0)


def test_fct_kpi_target_calendar_years(con):
    targets = {t["period_label"]: t for t in rows(con, "select * from core.fct_kpi_target")}
    assert sorted(targets) == ["FY2024-Q2", "FY2025"]               # 'soon' does not parse
    assert (targets["FY2025"]["period_type"], targets["FY2025"]["period_start"], targets["FY2025"]["period_end"]) == \
        ("year", D(2025, 1, 1), D(2025, 12, 31))
    assert (targets["FY2024-Q2"]["period_start"], targets["FY2024-Q2"]["period_end"]) == (D(2024, 4, 1), D(2024, 6, 30))
    assert targets["FY2024-Q2"]["scope"] == "rep" and targets["FY2024-Q2"]["scope_id"] == U1
    assert targets["FY2025"]["scope_id"] is None and targets["FY2025"]["target_value"] == 100.0


def test_dim_currency_rate(con):
    rates = rows(con, "select * from core.dim_currency_rate order by iso_code, source, valid_from")
    eur_dated = [r for r in rates if r["iso_code"] == "EUR" and r["source"] == "dated"]
    assert [(r["valid_from"], r["valid_to"], r["conversion_rate"]) for r in eur_dated] == [
        (D(2024, 1, 1), D(2024, 4, 1), 0.8), (D(2024, 4, 1), None, 0.5)]   # 9999-12-31 -> open
    assert {r["iso_code"] for r in rates if r["source"] == "static"} == {"USD", "EUR", "GBP"}


# --- empty exports ---------------------------------------------------------------------------

def test_every_model_builds_on_empty_raw_tables():
    con = new_warehouse()                                           # no rows at all, not even run settings
    build(con)
    for model in core_models():
        con.execute(f"select count(*) from {model.table}").fetchone()
    run = one(con, "select * from core.dim_run")
    assert run["as_of_date"] is None and run["has_contracts"] is False and run["corporate_currency"] == "USD"
    assert con.execute("select count(*) from core.fct_opportunity").fetchone()[0] == 0
    assert con.execute("select count(*) from core.dim_period").fetchone()[0] == 0
    con.close()


def test_export_with_only_opportunities():
    """The real fixture lacks User, Task, Product2 (and Contract/Event/LineItem are header-only):
    reps come from the owners, contracts from won deals."""
    con = new_warehouse()
    insert_raw(con, "opportunity", [
        dict(Id=O1, IsDeleted="0", AccountId=A1, StageName="Closed Won", Amount="10", CloseDate="2024-02-29 00:00:00",
             IsClosed="1", IsWon="1", OwnerId=U1, CreatedDate="2024-01-01 00:00:00", SystemModstamp="2024-03-01 10:00:00"),
    ])
    set_run_settings(con)
    build(con)
    run = one(con, "select * from core.dim_run")
    assert (run["as_of_date"], run["has_users"], run["has_contracts"]) == (D(2024, 3, 1), False, False)
    rep = one(con, "select * from core.dim_rep")
    assert (rep["user_id"], rep["rep_name"], rep["is_rep"]) == (U1, U1, True)
    contract = one(con, "select * from core.fct_contract")
    assert (contract["contract_id"], contract["tcv_corporate"], contract["source"]) == (O1, 10.0, "won_opportunity")
    # no history: the stage is still known, ordered, and closed-won from the record's flags
    stage = one(con, "select * from core.dim_stage")
    assert (stage["stage_name"], stage["stage_order"], stage["is_won"]) == ("Closed Won", 1, True)
    con.close()


def test_rows_quarantined_by_an_error_rule_are_left_out_of_the_facts():
    con = new_warehouse()
    opp = dict(IsDeleted="0", AccountId=A1, StageName="Prospecting", Amount="10", CloseDate="2024-02-29 00:00:00",
               IsClosed="0", IsWon="0", OwnerId=U1, CreatedDate="2024-01-01 00:00:00",
               SystemModstamp="2024-03-01 10:00:00")
    insert_raw(con, "opportunity", [dict(Id=O1, **opp), dict(Id=O2, **opp), dict(Id=O3, **opp)])
    # O1 failed an error rule, O2 only a warning: only O1 leaves the facts (it stays in staging).
    con.execute("""insert into audit.quarantine (object, record_id, rule, severity) values
                   ('Opportunity', ?, 'won_implies_closed', 'error'),
                   ('Opportunity', ?, 'close_not_before_created', 'warn'),
                   ('Lead', ?, 'some_lead_rule', 'error')""", [O1, O2, O3])
    set_run_settings(con)
    build(con)
    assert {r["opportunity_id"] for r in rows(con, "select opportunity_id from core.fct_opportunity")} == {O2, O3}
    assert one(con, "select count(*) as n from staging.stg_opportunity")["n"] == 3
    con.close()
