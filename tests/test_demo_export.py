"""The demo export generator writes a realistic, deterministic Salesforce Data Export."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import pytest

from pipeline.demo_export import FIELDS, FILES, SCALES, columns_for, generate_export

DT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
PREFIX = {
    "User": "005", "UserRole": "00E", "Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006",
    "OpportunityHistory": "008", "OpportunityLineItem": "00k", "PricebookEntry": "01u", "Product2": "01t",
    "Contract": "800", "Task": "00T", "Event": "00U", "ForecastingQuota": "0J9", "CurrencyType": "01L",
    "DatedConversionRate": "04w", "OpportunityStage": "01J",
}
BOOLEANS = {"IsDeleted", "IsActive", "IsConverted", "IsClosed", "IsWon", "IsCorporate", "IsAllDayEvent",
            "IsAmount", "IsQuantity"}
DATETIMES = {"CreatedDate", "LastModifiedDate", "SystemModstamp", "CompletedDateTime", "ConvertedDate",
             "CloseDate", "StartDate", "EndDate", "ActivityDate", "ActivatedDate", "Hire_Date__c",
             "Termination_Date__c", "ActivityDateTime", "StartDateTime", "EndDateTime", "LastStageChangeDate"}


def _read(path: Path, encoding="utf-8") -> list[dict]:
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("tiny")
    counts = generate_export(out, scale="tiny", seed=7)
    return out, counts


@pytest.fixture(scope="module")
def tables(export) -> dict[str, list[dict]]:
    out, _ = export
    return {obj: _read(out / FILES[obj]) for obj in FIELDS}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_byte_identical_files_and_other_seed_differs(export, tmp_path):
    out, _ = export
    generate_export(tmp_path / "again", scale="tiny", seed=7)
    generate_export(tmp_path / "other", scale="tiny", seed=8)
    assert _digest(tmp_path / "again") == _digest(out)
    assert _digest(tmp_path / "other")["Opportunity.csv"] != _digest(out)["Opportunity.csv"]


def test_every_file_present_with_api_name_header_and_counts(export):
    out, counts = export
    for obj, name in FILES.items():
        path = out / name
        assert path.exists(), name
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f))
        assert header[: len(columns_for(obj))] == columns_for(obj)
        assert set(FIELDS[obj]) <= set(header)
        assert counts[obj] == len(_read(path)), obj
    for obj in ("User", "Account", "Lead", "Opportunity", "OpportunityHistory", "Task", "Event", "Contract"):
        assert counts[obj] > 5, obj


def test_every_value_quoted_and_lf_line_ends(export):
    out, _ = export
    for obj, name in FILES.items():
        if obj in ("HrEmployee", "KpiTarget"):
            continue
        raw = (out / name).read_bytes()
        assert raw.endswith(b'"\n'), name
        # a fully quoted file: every field delimiter sits between quotes
        text = raw.decode("utf-8")
        stripped = re.sub(r'"(?:[^"]|"")*"', "", text)
        assert set(stripped) <= {",", "\n"}, f"{name}: unquoted value or CR line end"
        assert stripped.count("\n") == len(list(csv.reader(io.StringIO(text, newline=""))))


def test_multiline_and_tricky_text_survive_csv(tables):
    tasks = tables["Task"]
    descs = [t["Description"] for t in tasks if t["Description"]]
    accounts = [a["Name"] for a in tables["Account"]]
    assert "Construcción Ibérica" in accounts
    everything = [v for obj in ("Task", "Account", "Lead", "Product2") for r in tables[obj] for v in r.values()]
    assert any("\n" in v for v in everything)
    assert any('"' in v for v in everything)
    assert any("," in v for v in accounts + descs + [r["Company"] for r in tables["Lead"]])


def test_booleans_are_0_or_1_and_datetimes_formatted(tables):
    for obj, rows in tables.items():
        if obj in ("HrEmployee", "KpiTarget"):
            continue
        for r in rows:
            for k, v in r.items():
                if k in BOOLEANS:
                    assert v in ("0", "1"), (obj, k, v)
                if k in DATETIMES and v:
                    assert DT.match(v), (obj, k, v)
    closes = [o["CloseDate"] for o in tables["Opportunity"]]
    assert all(c.endswith(" 00:00:00") for c in closes)


def test_ids_have_the_object_prefix_and_18_chars(tables):
    for obj, prefix in PREFIX.items():
        ids = [r["Id"] for r in tables[obj]]
        assert ids and all(len(i) == 18 and i.startswith(prefix) for i in ids), obj
        assert len(set(ids)) == len(ids), obj
    for lead in tables["Lead"]:
        assert lead["OwnerId"].startswith("005")
        if lead["IsConverted"] == "0":
            assert lead["ConvertedOpportunityId"] == "000000000000000AAA"


def test_referential_integrity(tables):
    opp = {o["Id"]: o for o in tables["Opportunity"]}
    users = {u["Id"] for u in tables["User"]}
    accounts = {a["Id"] for a in tables["Account"]}
    contracts = {c["Id"] for c in tables["Contract"]}
    assert {h["OpportunityId"] for h in tables["OpportunityHistory"]} <= set(opp)
    converted = [lead for lead in tables["Lead"] if lead["IsConverted"] == "1"]
    assert converted
    targets = {lead["ConvertedOpportunityId"] for lead in converted} - {"000000000000000AAA"}
    assert targets and targets <= set(opp)
    assert {lead["ConvertedAccountId"] for lead in converted} <= accounts
    won = [o for o in opp.values() if o["IsWon"] == "1"]
    assert won and all(o["ContractId"] in contracts for o in won)
    assert {o["AccountId"] for o in opp.values()} <= accounts
    assert {o["OwnerId"] for o in opp.values()} <= users
    assert {li["OpportunityId"] for li in tables["OpportunityLineItem"]} <= set(opp)
    pbe = {p["Id"] for p in tables["PricebookEntry"]}
    assert {li["PricebookEntryId"] for li in tables["OpportunityLineItem"]} <= pbe
    refs = {lead["Referring_Account__c"] for lead in tables["Lead"]} - {""}
    assert refs <= accounts
    who = {t["WhoId"][:3] for t in tables["Task"] if t["WhoId"]}
    assert who == {"00Q", "003"}


def test_opportunity_history_follows_the_stages(tables):
    hist: dict[str, list[dict]] = {}
    for h in tables["OpportunityHistory"]:
        hist.setdefault(h["OpportunityId"], []).append(h)
    opp = {o["Id"]: o for o in tables["Opportunity"]}
    assert set(hist) == set(opp)
    for oid, rows in hist.items():
        times = [r["CreatedDate"] for r in rows]
        assert times == sorted(times) and len(set(times)) == len(times), oid
        last = rows[-1]
        assert last["StageName"] == opp[oid]["StageName"]
        assert last["Amount"] == opp[oid]["Amount"]
        assert last["CloseDate"] == opp[oid]["CloseDate"]
    states = {(o["IsClosed"], o["IsWon"]) for o in opp.values()}
    assert states == {("1", "1"), ("1", "0"), ("0", "0")}
    assert {o["CurrencyIsoCode"] for o in opp.values()} >= {"USD", "EUR"}


def test_users_roles_and_hire_dates(tables):
    users = tables["User"]
    types = {u["UserType"] for u in users}
    assert {"Standard", "AutomatedProcess"} <= types
    integration = [u for u in users if u["Name"] == "Integration User"]
    assert len(integration) == 1 and integration[0]["UserType"] == "Standard"
    iid = integration[0]["Id"]
    for obj in ("Lead", "Opportunity", "Account", "Task", "Event"):
        assert all(r["OwnerId"] != iid for r in tables[obj]), obj
    ids = {u["Id"] for u in users}
    managers = {u["ManagerId"] for u in users if u["ManagerId"]}
    assert managers <= ids and len(managers) >= 2
    assert {u["Division"] for u in users} >= {"NA", "EMEA"}
    terminated = [u for u in users if u["Termination_Date__c"]]
    assert terminated
    for u in users:
        if u["Hire_Date__c"] and u["Termination_Date__c"]:
            assert u["Hire_Date__c"] <= u["Termination_Date__c"]
    hr = tables["HrEmployee"]
    assert all(not r["termination_date"] or r["hire_date"] <= r["termination_date"] for r in hr)
    assert any(not r["user_id"] and r["email"] for r in hr)
    short = [r for r in hr if r["termination_date"] and
             (int(r["termination_date"][:4]) * 365 + int(r["termination_date"][5:7]) * 30)
             - (int(r["hire_date"][:4]) * 365 + int(r["hire_date"][5:7]) * 30) < 365]
    assert short, "a rep hired and gone within a year"


def test_as_of_is_newest_systemmodstamp(tables):
    newest = max(r["SystemModstamp"] for obj, rows in tables.items() for r in rows if r.get("SystemModstamp"))
    assert newest.startswith("2025-06-30")
    created = max(r["CreatedDate"] for r in tables["Opportunity"])
    assert created <= newest


def test_tasks_have_completed_open_and_overdue(tables):
    tasks = tables["Task"]
    done = [t for t in tasks if t["IsClosed"] == "1"]
    assert done and all(t["CompletedDateTime"] for t in done)
    assert all(t["CompletedDateTime"] >= t["CreatedDate"] for t in done)
    overdue = [t for t in tasks if t["IsClosed"] == "0" and t["ActivityDate"] < "2025-06-30"]
    assert overdue
    assert {t["TaskSubtype"] for t in tasks} == {"Call", "Email", "Task"}
    assert any(t["Type"] == "" for t in tasks)


def test_kpi_targets_cover_the_nine_kpis(tables):
    kpis = {r["kpi"] for r in tables["KpiTarget"]}
    assert kpis == {"annual_contract_value", "customer_lifetime_value", "new_leads", "lead_age",
                    "conversion_rate", "employee_retention", "ramp_time", "referrals", "customer_retention"}
    assert {r["scope"] for r in tables["KpiTarget"]} == {"company", "team", "rep"}
    assert all(r["scope_id"] == "" for r in tables["KpiTarget"] if r["scope"] == "company")


def test_latin1_export_decodes_and_has_accents(tmp_path):
    generate_export(tmp_path, scale="tiny", seed=3, encoding="latin-1")
    raw = (tmp_path / "Lead.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "Gestión".encode("latin-1") in raw
    assert "Gestión" in raw.decode("latin-1")
    assert "Construcción Ibérica" in (tmp_path / "Account.csv").read_bytes().decode("latin-1")


def test_locale_es_has_spanish_stage_names(tmp_path):
    generate_export(tmp_path, scale="tiny", seed=3, locale="es")
    text = (tmp_path / "OpportunityStage.csv").read_text(encoding="utf-8")
    assert "Negociación" in text and "Negotiation" not in text
    opp = _read(tmp_path / "Opportunity.csv")
    won = {o["StageName"] for o in opp if o["IsWon"] == "1"}
    assert won == {"Cerrada ganada"}


def test_scales_named_and_factor(tmp_path):
    assert {"tiny", "small", "demo", "enterprise"} <= set(SCALES)
    counts = generate_export(tmp_path, scale=0.0002, seed=1)
    assert counts["Lead"] == 1000
    with pytest.raises(ValueError):
        generate_export(tmp_path, scale="huge")


# --- realism: ramp-up, lead lifecycle, Latin-1 quirks and long text -------------------------------------

AS_OF = "2025-06-30"


def _day(v: str) -> int:
    from datetime import date

    return date.fromisoformat(v[:10]).toordinal()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict[str, list[dict]]:
    out = tmp_path_factory.mktemp("small")
    generate_export(out, scale="small", seed=5)
    return {obj: _read(out / FILES[obj]) for obj in ("User", "Lead", "Task", "Event")}


def _activity_dates(t: dict[str, list[dict]]) -> list[tuple[str, str, str, str, bool]]:
    """(owner, who, activity date, created date, completed) for every task and event."""
    rows = [(r["OwnerId"], r["WhoId"], r["CompletedDateTime"] or r["ActivityDate"] or r["CreatedDate"],
             r["CreatedDate"], r["IsClosed"] == "1") for r in t["Task"]]
    rows += [(r["OwnerId"], r["WhoId"], r["ActivityDateTime"] or r["ActivityDate"] or r["CreatedDate"],
              r["CreatedDate"], True) for r in t["Event"]]
    return rows


@pytest.mark.parametrize("which", ["tables", "small"])
def test_no_activity_before_hire_or_after_termination(which, request):
    t = request.getfixturevalue(which)
    users = {u["Id"]: u for u in t["User"]}
    for owner, _, when, created, _ in _activity_dates(t):
        u = users[owner]
        for v in (when, created):
            if u["Hire_Date__c"]:
                assert v[:10] >= u["Hire_Date__c"][:10], (owner, v, u["Hire_Date__c"])
            if u["Termination_Date__c"]:
                assert v[:10] <= u["Termination_Date__c"][:10], (owner, v, u["Termination_Date__c"])


def test_new_reps_first_prospect_contact_5_to_60_days_after_hire(small):
    first: dict[str, str] = {}
    for owner, who, when, _, done in _activity_dates(small):
        if done and who[:3] in ("00Q", "003"):
            first[owner] = min(first.get(owner, "9999"), when)
    ramps = [_day(first[u["Id"]]) - _day(u["Hire_Date__c"]) for u in small["User"]
             if u["Hire_Date__c"] >= "2021-07-01" and u["Id"] in first]
    assert len(ramps) >= 5
    assert all(5 <= r <= 60 for r in ramps), ramps
    assert 10 <= sorted(ramps)[len(ramps) // 2] <= 35, ramps


def test_leads_leave_the_pipeline(small):
    leads = [r for r in small["Lead"] if r["IsDeleted"] == "0"]
    open_ = [r for r in leads if r["IsConverted"] == "0" and "Closed" not in r["Status"]]
    share = len(open_) / len(leads)
    mean_age = sum(_day(AS_OF) - _day(r["CreatedDate"]) for r in open_) / len(open_)
    assert 0.01 < share < 0.10, share
    assert 20 < mean_age < 120, mean_age
    recent = [r for r in open_ if _day(AS_OF) - _day(r["CreatedDate"]) <= 183]
    assert len(recent) >= 0.8 * len(open_)
    for r in leads:
        if r["Status"] == "Closed - Not Converted":
            assert 15 <= _day(r["LastModifiedDate"]) - _day(r["CreatedDate"]) <= 180, r["Id"]
        if r["IsConverted"] == "1":
            assert 5 <= _day(r["ConvertedDate"]) - _day(r["CreatedDate"]) <= 120, r["Id"]
            assert r["Status"] == "Closed - Converted"


def test_latin1_export_has_c1_and_nul_bytes_and_utf8_does_not(export, tmp_path):
    generate_export(tmp_path, scale="tiny", seed=7, encoding="latin-1")
    raw = b"".join((tmp_path / FILES[o]).read_bytes() for o in ("Account", "Opportunity", "Task"))
    assert b"BOGOT\xc3\x81" in raw  # "BOGOTÃ" + C1 control 0x81
    assert b"\x00" in raw
    with open(tmp_path / "Task.csv", newline="", encoding="latin-1") as f:
        descs = [r["Description"] for r in csv.DictReader(f)]
    assert any("\x00" in d for d in descs) and any("\x81" in d for d in descs)
    out, _ = export
    for p in out.iterdir():
        assert b"\x00" not in p.read_bytes(), p.name
    # apart from the quirks, the same data in both encodings
    lead = (tmp_path / "Lead.csv").read_bytes().decode("latin-1")
    assert lead == (out / "Lead.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_long_description_in_both_encodings(encoding, tmp_path):
    generate_export(tmp_path, scale="tiny", seed=7, encoding=encoding)
    with open(tmp_path / "Opportunity.csv", newline="", encoding=encoding) as f:
        longest = max(len(r["Description"]) for r in csv.DictReader(f))
    assert longest >= 30_000
