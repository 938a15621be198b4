"""Synthetic Salesforce Data Export for demos, tests and benchmarks.

`generate_export(out_dir, scale, seed, encoding, locale)` writes one `<Object>.csv`
per object in the real export format (every value double-quoted, "0"/"1"
booleans, GMT "YYYY-MM-DD HH:MM:SS" datetimes, "YYYY-MM-DD 00:00:00" dates,
18-character ids with the right key prefixes, `000000000000000AAA` where
Salesforce writes the empty id) plus the two plain files sales operations keep,
`hr_employees.csv` and `kpi_targets.csv`.

Everything is drawn from one numpy Generator seeded by `seed`, vectorised, and
dated against a fixed as-of date (default 2025-06-30, the newest
SystemModstamp), so the same arguments give byte-identical files.
Columns follow the data contracts' field order when `data_contracts/` holds one
for the object (fields not simulated are written empty).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo_export_format import (
    DAY,
    EMPTY_ID,
    NA,
    Ids,
    c_bool,
    c_cat,
    c_concat,
    c_const,
    c_date,
    c_dt,
    c_id,
    c_int,
    c_num,
    c_plain_date,
    c_str,
    epoch_day,
    epoch_sec,
    write_table,
)

# --------------------------------------------------------------------------------------
# Scales
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    reps: int  # sales reps ever employed over the history (managers come on top)
    leads: int
    direct_opportunities: int  # opportunities not born from a lead (renewals come on top)
    accounts: int  # accounts that exist without a converted lead
    tasks_per_lead: float = 2.3
    tasks_per_opportunity: float = 4.5
    events_per_opportunity: float = 1.6
    events_per_lead: float = 0.25
    products: int = 18


SCALES: dict[str, Scale] = {
    "tiny": Scale(reps=8, leads=300, direct_opportunities=60, accounts=40, tasks_per_lead=1.2, tasks_per_opportunity=2.5),
    "small": Scale(reps=20, leads=3_000, direct_opportunities=250, accounts=250),
    "demo": Scale(reps=50, leads=20_000, direct_opportunities=1_500, accounts=900),
    "enterprise": Scale(
        reps=2_000, leads=5_000_000, direct_opportunities=380_000, accounts=200_000, products=60,
        tasks_per_lead=2.8, tasks_per_opportunity=5.0,
    ),
}


def resolve_scale(scale: str | float | Scale) -> Scale:
    """A named scale, a Scale, or a float factor relative to enterprise (0.01, 0.1)."""
    if isinstance(scale, Scale):
        return scale
    if isinstance(scale, str):
        if scale in SCALES:
            return SCALES[scale]
        try:
            scale = float(scale)
        except ValueError:
            raise ValueError(f"unknown scale {scale!r}; use one of {sorted(SCALES)} or a factor like 0.1") from None
    f = float(scale)
    if not 0 < f <= 10:
        raise ValueError(f"scale factor must be in (0, 10], got {f}")
    e = SCALES["enterprise"]
    return Scale(
        reps=max(6, round(e.reps * f)),
        leads=max(100, round(e.leads * f)),
        direct_opportunities=max(30, round(e.direct_opportunities * f)),
        accounts=max(20, round(e.accounts * f)),
        products=max(18, min(e.products, round(18 + 42 * f))),
        tasks_per_lead=e.tasks_per_lead, tasks_per_opportunity=e.tasks_per_opportunity,
    )


# --------------------------------------------------------------------------------------
# Vocabulary (all Latin-1 encodable)
# --------------------------------------------------------------------------------------

AS_OF = date(2025, 6, 30)
YEARS = 4
ORG_COMPANY = "Vértice Software"
ORG_DOMAIN = "vertice-demo.com"

REGIONS = ["NA", "EMEA", "LATAM", "APAC"]
# country, region, currency, cities
COUNTRIES = [
    ("United States", "NA", "USD", ["New York", "Austin", "Chicago", "San Francisco"], ["NY", "TX", "IL", "CA"]),
    ("Canada", "NA", "USD", ["Toronto", "Montréal"], ["ON", "QC"]),
    ("Spain", "EMEA", "EUR", ["Madrid", "Barcelona", "Málaga"], ["", "", ""]),
    ("Germany", "EMEA", "EUR", ["München", "Köln", "Düsseldorf"], ["", "", ""]),
    ("France", "EMEA", "EUR", ["Paris", "Lyon"], ["", ""]),
    ("United Kingdom", "EMEA", "GBP", ["London", "Manchester"], ["", ""]),
    ("Colombia", "LATAM", "USD", ["Bogotá", "Medellín"], ["", ""]),
    ("Mexico", "LATAM", "USD", ["Ciudad de México", "Guadalajara"], ["", ""]),
    ("Brazil", "LATAM", "USD", ["São Paulo"], ["SP"]),
    ("Australia", "APAC", "USD", ["Sydney", "Melbourne"], ["NSW", "VIC"]),
    ("Singapore", "APAC", "USD", ["Singapore"], [""]),
    ("Japan", "APAC", "USD", ["Tokyo"], [""]),
]
CURRENCIES = ["USD", "EUR", "GBP"]
CURRENCY_RATE = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}

FIRST_NAMES = [
    "José", "María", "Jürgen", "Zoë", "Renée", "Björn", "Íñigo", "François", "Søren", "Chloé",
    "Noémie", "Andrés", "Sebastián", "Lucía", "Ana", "John", "Emily", "Michael", "Sarah", "David",
    "Laura", "James", "Olivia", "Daniel", "Sofía", "Mateo", "Camila", "Lukas", "Hannah", "Pierre",
    "Amélie", "Raúl", "Joaquín", "Inés", "Wei", "Aiko", "Priya", "Liam", "Emma", "Noah",
]
LAST_NAMES = [
    "García", "Müller", "Núñez", "Pérez", "Schröder", "Dubois", "O'Brien", "Smith", "Johnson", "Brown",
    "López", "Martínez", "González", "Fernández", "Gómez", "Wagner", "Becker", "Lefèvre", "Moreau",
    "Rossi", "Tanaka", "Chen", "Patel", "Wilson", "Taylor", "Anderson", "Thomas", "Jackson", "Ramírez",
    "Jiménez", "Castaño", "Peña", "Ibáñez", "Østergaard", "Kowalski", "Nguyen", "Silva", "Costa",
]
COMPANY_WORDS = [
    "Construcción Ibérica", "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli",
    "Café São Paulo", "Müller & Söhne", "Smith, Jones & Partners", 'The "Blue Ocean"', "Nordlicht",
    "Andes", "Pacífico", "Atlántico", "Cóndor", "Río Grande", "Alpen", "Baltic", "Sakura", "Kiwi",
    "Maple", "Sierra", "Orion", "Vega", "Polaris", "Helix", "Quantum", "Nimbus", "Zenith",
    "Everest", "Aurora", "Delta", "Fénix", "Lumière", "Boréal", "Tundra", "Savanna", "Coral",
]
COMPANY_SUFFIX = [
    "", " Inc.", " Ltd", " GmbH", " S.A.", " Ltda.", " Logística", " Holdings", " Industries",
    " Group", " Solutions", " Energía", " Pty Ltd", " KK", " Corp.", " & Co.",
]
INDUSTRIES = [
    "Technology", "Manufacturing", "Retail", "Finance", "Healthcare", "Construction",
    "Energy", "Education", "Transportation", "Telecommunications", "Agriculture", "Media",
]
TITLES = ["CEO", "CFO", "CTO", "VP Operations", "Director of IT", "Head of Procurement",
          "Operations Manager", "Jefe de Compras", "Geschäftsführer", "IT Manager", "Analyst"]

LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Customer Referral", "Word of mouth",
                "Trade Show", "Gestión directa", "Purchased List", "Other"]
LEAD_SOURCE_W = [0.27, 0.11, 0.08, 0.07, 0.05, 0.10, 0.13, 0.07, 0.04]  # + 8% empty
REFERRAL_SOURCES = {2, 3, 4}
LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]

STAGES = {
    "en": ["Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation", "Closed Won", "Closed Lost"],
    "es": ["Prospección", "Calificación", "Análisis de necesidades", "Propuesta", "Negociación",
           "Cerrada ganada", "Cerrada perdida"],
}
STAGE_PROB = np.array([10, 20, 40, 60, 80, 100, 0])
STAGE_FC = ["Pipeline", "Pipeline", "Pipeline", "BestCase", "Forecast", "Closed", "Omitted"]
STAGE_FC_NAME = ["Pipeline", "Pipeline", "Pipeline", "Best Case", "Commit", "Closed", "Omitted"]
WON, LOST = 5, 6  # stage codes (0-based); SortOrder = code + 1

OPP_TYPES = ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Renewal"]
OPP_LABELS = [" - New Business", " - Expansion", " - Renewal"]

PRODUCTS = [  # name, family, list price USD
    ("Vértice Cloud CRM", "Software", 12000), ("Vértice Analytics", "Software", 18000),
    ("Vértice Mobile", "Software", 6000), ("Data Connector Pack", "Software", 4000),
    ("Forecasting Add-on", "Software", 9000), ("Premium Support", "Services", 5000),
    ("Implementation Services", "Services", 15000), ("Training - On-site", "Services", 3500),
    ("Consultoría de procesos", "Services", 8000), ("Data Migration", "Services", 7000),
    ("Edge Gateway", "Hardware", 2500), ("Scanner Kit", "Hardware", 900),
    ("Rugged Tablet", "Hardware", 1200), ("Server Appliance", "Hardware", 22000),
    ("Kiosk Terminal", "Hardware", 3000), ("Partner Portal", "Software", 7500),
    ("Security Suite", "Software", 11000), ("Success Plan Platinum", "Services", 20000),
]

DESCRIPTIONS = [
    "Customer asked for a revised quote.\nNext step: call the CFO, \"ASAP\".",
    "Notes from call:\n- budget approved, 2 sites\n- decision in Q3, competitor \"Globex\" in the running",
    "Cliente pide descuento del 10%, revisar con dirección.",
    "Left voicemail, will try again Monday, then email.",
    "Reunión en Bogotá:\r\nrevisar propuesta técnica; enviar contrato, \"versión final\".",
    "He said: \"we'll sign next week\", but legal, procurement and IT still need to approve.",
]

# Latin-1 exports only: what real ones carry -- C1 bytes left by UTF-8 text that was decoded as Latin-1
# before it reached Salesforce ("BOGOTÁ" -> "BOGOTÃ" + 0x81) and NUL bytes inside text areas
MOJIBAKE_CITY = "BOGOTÃ\x81"
LATIN1_DESCRIPTIONS = [
    "Visita a BOGOTÃ\x81: el cliente confirma el piloto.\nEnviar propuesta, \"versión 2\".",
    "Notas importadas del sistema anterior:\x00 llamar de nuevo en marzo.",
]
LONG_TEXT_CHARS = 32_000  # Salesforce's Long Text Area maximum (Description)


def _long_notes(n_chars: int = LONG_TEXT_CHARS) -> str:
    """An account-plan log pasted into Description over the years: many dated, multi-line entries."""
    lines = [
        "Llamada con el CFO (José Núñez): revisión de la propuesta, \"versión {k}\", descuento del {p}%.",
        "Meeting with procurement in München; they want 3-year pricing, SSO and a data-residency clause.",
        "Next steps: send the MSA to legal, book the demo for the Düsseldorf team, follow up on invoice #{k}04.",
        "Competidor \"Globex\" ofrece 20% menos; destacar soporte en español y la integración con SAP.",
        "Renewal risk: champion (Zoë Lefèvre) moved to another role; new sponsor is the CTO, Søren Østergaard.",
    ]
    out, size, k = [], 0, 0
    while size < n_chars:
        day = date(2021, 7, 1).toordinal() + 3 * k
        entry = f"{date.fromordinal(day).isoformat()} - " + lines[k % len(lines)].format(k=k, p=5 + k % 15) + "\n"
        out.append(entry)
        size += len(entry)
        k += 1
    return "".join(out)[:n_chars]


TASK_SUBJECTS = {
    0: ["Call", "Discovery call", "Follow-up call", "Llamada de seguimiento"],  # Call
    1: ["Email: Introduction", "Email: Proposal sent", "Email: Re: pricing", "Correo: propuesta"],  # Email
    2: ["Send quote", "Prepare proposal", "Follow up", "Update opportunity"],  # Task
}
EVENT_SUBJECTS = ["Meeting", "Demo", "Discovery meeting", "Reunión con cliente", "Quarterly business review"]
EVENT_LOCATIONS = ["Zoom", "Microsoft Teams", "Customer office", "Bogotá", "München", ""]


def _ascii(s: str) -> str:
    import unicodedata

    s = s.replace("ø", "o").replace("Ø", "O").replace("ß", "ss")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(ch for ch in s.lower() if ch.isalnum())


# --------------------------------------------------------------------------------------
# Field lists (fallback when no data contract exists) -- from the project's field list
# --------------------------------------------------------------------------------------

FIELDS: dict[str, list[str]] = {
    "User": ["Id", "Username", "FirstName", "LastName", "Name", "Email", "Phone", "IsActive", "UserType",
             "ManagerId", "UserRoleId", "Division", "Department", "Title", "CompanyName", "CreatedDate",
             "LastModifiedDate", "SystemModstamp", "Hire_Date__c", "Termination_Date__c"],
    "UserRole": ["Id", "Name", "DeveloperName", "ParentRoleId", "LastModifiedDate", "SystemModstamp"],
    "Account": ["Id", "IsDeleted", "MasterRecordId", "Name", "Type", "ParentId", "BillingStreet", "BillingCity",
                "BillingState", "BillingPostalCode", "BillingCountry", "Phone", "Website", "Industry",
                "AnnualRevenue", "NumberOfEmployees", "OwnerId", "CurrencyIsoCode", "CreatedDate", "CreatedById",
                "LastModifiedDate", "SystemModstamp", "Description"],
    "Contact": ["Id", "IsDeleted", "AccountId", "FirstName", "LastName", "Email", "Phone", "Title", "LeadSource",
                "OwnerId", "CreatedDate", "LastModifiedDate", "SystemModstamp"],
    "Lead": ["Id", "IsDeleted", "FirstName", "LastName", "Email", "Phone", "Title", "Company", "Country",
             "Industry", "LeadSource", "Status", "OwnerId", "IsConverted", "ConvertedDate", "ConvertedAccountId",
             "ConvertedContactId", "ConvertedOpportunityId", "CreatedDate", "CreatedById", "LastModifiedDate",
             "SystemModstamp", "LastActivityDate", "Referring_Account__c"],
    "Opportunity": ["Id", "IsDeleted", "AccountId", "Name", "StageName", "StageSortOrder", "Amount",
                    "Probability", "ExpectedRevenue", "CloseDate", "Type", "LeadSource", "IsClosed", "IsWon",
                    "ForecastCategory", "ForecastCategoryName", "CampaignId", "Pricebook2Id", "OwnerId",
                    "ContractId", "CurrencyIsoCode", "CreatedDate", "CreatedById", "LastModifiedDate",
                    "SystemModstamp", "LastStageChangeDate", "Referring_Account__c", "Description"],
    "OpportunityHistory": ["Id", "OpportunityId", "CreatedById", "CreatedDate", "StageName", "Amount",
                           "ExpectedRevenue", "CloseDate", "Probability", "ForecastCategory", "SystemModstamp",
                           "IsDeleted"],
    "OpportunityLineItem": ["Id", "OpportunityId", "PricebookEntryId", "Product2Id", "Quantity", "UnitPrice",
                            "TotalPrice", "ServiceDate", "CurrencyIsoCode", "CreatedDate", "LastModifiedDate",
                            "SystemModstamp", "IsDeleted"],
    "PricebookEntry": ["Id", "Pricebook2Id", "Product2Id", "UnitPrice", "IsActive", "CurrencyIsoCode",
                       "CreatedDate", "SystemModstamp", "IsDeleted"],
    "Product2": ["Id", "Name", "ProductCode", "Family", "IsActive", "Description", "CreatedDate",
                 "LastModifiedDate", "SystemModstamp", "IsDeleted"],
    "Contract": ["Id", "AccountId", "ContractNumber", "Status", "StatusCode", "StartDate", "EndDate",
                 "ContractTerm", "OwnerId", "ActivatedDate", "CurrencyIsoCode", "CreatedDate", "LastModifiedDate",
                 "SystemModstamp", "IsDeleted"],
    "Task": ["Id", "WhoId", "WhatId", "AccountId", "Subject", "ActivityDate", "Status", "Priority", "IsClosed",
             "OwnerId", "Type", "TaskSubtype", "CallType", "CallDurationInSeconds", "CallDisposition",
             "CompletedDateTime", "Description", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"],
    "Event": ["Id", "WhoId", "WhatId", "AccountId", "Subject", "Location", "ActivityDateTime", "ActivityDate",
              "StartDateTime", "EndDateTime", "DurationInMinutes", "IsAllDayEvent", "Type", "EventSubtype",
              "OwnerId", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"],
    "ForecastingQuota": ["Id", "QuotaOwnerId", "QuotaAmount", "QuotaQuantity", "StartDate", "PeriodId",
                         "ForecastingTypeId", "IsAmount", "IsQuantity", "CurrencyIsoCode", "CreatedDate",
                         "LastModifiedDate", "SystemModstamp"],
    "CurrencyType": ["Id", "IsoCode", "ConversionRate", "DecimalPlaces", "IsActive", "IsCorporate", "CreatedDate",
                     "LastModifiedDate", "SystemModstamp"],
    "DatedConversionRate": ["Id", "IsoCode", "StartDate", "NextStartDate", "ConversionRate", "CreatedDate",
                            "LastModifiedDate", "SystemModstamp"],
    "OpportunityStage": ["Id", "MasterLabel", "ApiName", "IsActive", "SortOrder", "IsClosed", "IsWon",
                         "ForecastCategory", "ForecastCategoryName", "DefaultProbability", "Description",
                         "CreatedDate", "LastModifiedDate", "SystemModstamp"],
    "HrEmployee": ["employee_id", "user_id", "email", "hire_date", "termination_date", "name"],
    "KpiTarget": ["kpi", "period", "scope", "scope_id", "target_value"],
}
FILES = {o: f"{o}.csv" for o in FIELDS} | {"HrEmployee": "hr_employees.csv", "KpiTarget": "kpi_targets.csv"}


def columns_for(obj: str) -> list[str]:
    """The contract's field order when a contract exists, plus any listed field it lacks."""
    try:
        from pipeline.contracts import load_contracts

        contract = load_contracts().get(obj)
    except Exception as exc:  # contracts half-written or unreadable: fall back, loudly
        warnings.warn(f"demo export: data contracts unreadable ({exc}); using the built-in field list")
        contract = None
    if contract is None:
        return list(FIELDS[obj])
    names = [f.name for f in contract.fields]
    return names + [c for c in FIELDS[obj] if c not in names]


# --------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------


class Clock:
    def __init__(self, as_of: date):
        self.as_of = as_of
        self.as_of_day = epoch_day(as_of)
        # history starts on the first day of the month after as_of - 4 years
        m = as_of.month % 12 + 1
        y = as_of.year - YEARS + (1 if as_of.month == 12 else 0)
        self.start = date(y, m, 1)
        self.start_day = epoch_day(self.start)
        self.end_ts = epoch_sec(datetime(as_of.year, as_of.month, as_of.day, 18, 0, 0))  # newest SystemModstamp
        self.n_buckets = (self.as_of_day - self.start_day) // 30 + 1

    def bucket(self, ts: np.ndarray) -> np.ndarray:
        return np.clip((ts // DAY - self.start_day) // 30, 0, self.n_buckets - 1)


def _tod(rng, n) -> np.ndarray:
    """Business-hour time of day in GMT seconds."""
    return np.clip(rng.normal(15.5 * 3600, 2.6 * 3600, n), 6 * 3600, 23 * 3600 + 3599).astype(np.int64)


def _times(rng, n: int, d0: int, d1: int, growth: float = 0.6, qend: float = 0.0) -> np.ndarray:
    """n creation timestamps in [d0, d1): more on weekdays, growing over time, optional quarter-end bump."""
    days = np.arange(d0, d1)
    dd = days.astype("datetime64[D]")
    weekday = (days + 3) % 7  # 0 = Monday
    w = np.where(weekday < 5, 1.0, 0.12) * (1 + growth * (days - d0) / max(1, d1 - d0))
    if qend:
        month = dd.astype("datetime64[M]").astype(np.int64) % 12
        nxt = (dd.astype("datetime64[M]") + 1).astype("datetime64[D]").astype(np.int64)
        late = (month % 3 == 2) & (nxt - days <= 12)
        w = w * np.where(late, 1 + qend, 1.0)
    day = rng.choice(days, size=n, p=w / w.sum())
    return day * DAY + _tod(rng, n)


def _quarter_end(days: np.ndarray) -> np.ndarray:
    m = days.astype("datetime64[D]").astype("datetime64[M]")
    mi = m.astype(np.int64)
    qstart = mi - mi % 3
    return (qstart + 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1


def _quarter_start(days: np.ndarray) -> np.ndarray:
    mi = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return (mi - mi % 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _next_month_start(days: np.ndarray) -> np.ndarray:
    m = days.astype("datetime64[D]").astype("datetime64[M]")
    return (m + 1).astype("datetime64[D]").astype(np.int64)


def _add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    off = (d - m.astype("datetime64[D]")).astype(np.int64)
    target = (m + months.astype(np.int64)).astype("datetime64[D]").astype(np.int64)
    nxt = (m + months.astype(np.int64) + 1).astype("datetime64[D]").astype(np.int64)
    return np.minimum(target + off, nxt - 1)


def _segments(counts: np.ndarray):
    """For a repeat by counts: parent index per child and position within the parent."""
    counts = counts.astype(np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(parent)) - np.repeat(starts, counts)
    return parent, pos


# --------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------


class Users:
    pass


def _make_users(rng, sc: Scale, clk: Clock) -> Users:
    U = Users()
    n_rep = sc.reps
    n_mgr = max(2, math.ceil(n_rep / 7))
    # layout: 0 = VP Sales, managers, reps, then system users
    n_human = 1 + n_mgr + n_rep
    U.vp = 0
    U.mgr = np.arange(1, 1 + n_mgr)
    U.rep = np.arange(1 + n_mgr, n_human)
    U.auto, U.integration, U.chatter = n_human, n_human + 1, n_human + 2
    n = n_human + 3
    U.n = n
    U.type = np.zeros(n, np.int64)  # 0 Standard, 1 AutomatedProcess, 2 CsnOnly
    U.type[U.auto] = 1
    U.type[U.chatter] = 2
    mgr_region = np.arange(n_mgr) % len(REGIONS)
    rep_mgr = U.mgr[rng.permutation(np.arange(n_rep) % n_mgr)]
    U.manager = np.full(n, -1, np.int64)
    U.manager[U.mgr] = U.vp
    U.manager[U.rep] = rep_mgr
    U.region = np.full(n, -1, np.int64)
    U.region[U.mgr] = mgr_region
    U.region[U.rep] = mgr_region[rep_mgr - 1]
    U.region[U.vp] = len(REGIONS)  # "Global"
    U.first = rng.integers(0, len(FIRST_NAMES), n)
    U.last = rng.integers(0, len(LAST_NAMES), n)

    d0 = clk.start_day
    hire = np.full(n, NA, np.int64)
    term = np.full(n, NA, np.int64)
    hire[U.vp] = epoch_day(date(2016, 3, 1))
    hire[U.mgr] = d0 - rng.integers(300, 2500, n_mgr)
    initial = rng.random(n_rep) < 0.55
    initial[:2] = True
    rh = np.where(initial, d0 - rng.integers(20, 2200, n_rep), rng.integers(d0, clk.as_of_day - 45, n_rep))
    tenure = (rng.exponential(2.4, n_rep) * 365).astype(np.int64) + 90
    rt = np.maximum(rh, d0) + tenure
    leaves = (rt < clk.as_of_day - 1) & (rng.random(n_rep) < 0.8)
    leaves[:2] = False
    # one rep hired and gone within a year
    k = 2 if n_rep > 2 else 1
    rh[k] = d0 + 400 + rng.integers(0, 60)
    rt[k] = rh[k] + 150 + rng.integers(0, 150)
    leaves[k] = True
    hire[U.rep] = rh
    term[U.rep] = np.where(leaves, rt, NA)
    U.hire_day, U.term_day = hire, term
    big = np.iinfo(np.int64).max // 2
    U.hire_s = np.where(hire == NA, -big, hire * DAY + 8 * 3600)
    U.term_s = np.where(term == NA, big, term * DAY)
    # onboarding: a rep hired during the history makes the first prospect contact 5-60 days after the
    # hire date (median ~20); no task or event of a rep falls before this moment
    ramp_days = np.clip(np.round(rng.lognormal(np.log(20), 0.55, n_rep)), 5, 60).astype(np.int64)
    ramp_tod = _tod(rng, n_rep)
    U.ready_s = U.hire_s.copy()
    new_rep = hire[U.rep] >= d0
    U.ready_s[U.rep[new_rep]] = (hire[U.rep] + ramp_days)[new_rep] * DAY + ramp_tod[new_rep]
    U.skill = np.exp(rng.normal(0, 0.3, n))
    U.active_at_end = U.term_s > clk.end_ts

    # per-month sampling weights over reps (employed for the whole month, ramping up)
    nb = clk.n_buckets
    W = np.zeros((nb, n_rep))
    for b in range(nb):
        b0 = (clk.start_day + 30 * b) * DAY
        b1 = b0 + 30 * DAY
        ok = (U.hire_s[U.rep] <= b0) & (U.term_s[U.rep] > b1)
        if not ok.any():
            ok = (U.hire_s[U.rep] <= b1) & (U.term_s[U.rep] > b1)
        ramp = np.clip((b0 - U.hire_s[U.rep]) / (120 * DAY), 0.25, 1.0)
        W[b] = np.where(ok, U.skill[U.rep] * ramp, 0)
        W[b] /= W[b].sum()
    U.weights = W
    return U


def _pick_reps(rng, U: Users, clk: Clock, ts: np.ndarray) -> np.ndarray:
    """A rep employed at each timestamp, weighted by skill and ramp-up."""
    b = clk.bucket(ts)
    out = np.empty(len(ts), np.int64)
    order = np.argsort(b, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(b, minlength=clk.n_buckets))])
    for k in range(clk.n_buckets):
        idx = order[bounds[k]:bounds[k + 1]]
        if len(idx):
            out[idx] = U.rep[rng.choice(len(U.rep), size=len(idx), p=U.weights[k])]
    return out


def _keep_or_pick(rng, U, clk, owner, ts):
    """Keep `owner` if employed at ts, else pick an employed rep."""
    ok = (U.hire_s[owner] <= ts) & (U.term_s[owner] > ts)
    if (~ok).any():
        owner = owner.copy()
        owner[~ok] = _pick_reps(rng, U, clk, ts[~ok])
    return owner


BIG_TS = np.iinfo(np.int64).max // 2


def _reassign_departed(rng, U, clk, owner, is_open):
    """Open records of reps who left are reassigned when the rep leaves, to a rep still there today.

    Returns (current owner, switch time): before the switch time the record belonged to the original
    owner (whose tasks and events on it keep that owner), from it on to the current one.
    """
    gone = is_open & ~U.active_at_end[owner]
    switch = np.full(len(owner), BIG_TS, np.int64)
    if gone.any():
        owner = owner.copy()
        left = U.term_s[owner[gone]]
        new = _pick_reps(rng, U, clk, np.minimum(left + DAY, clk.end_ts - DAY))
        again = ~U.active_at_end[new]
        if again.any():
            new[again] = _pick_reps(rng, U, clk, np.full(again.sum(), clk.end_ts - DAY))
        switch[gone] = left
        owner[gone] = new
    return owner, switch


# --------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------


def generate_export(
    out_dir,
    scale: str | float | Scale = "demo",
    seed: int = 42,
    encoding: str = "utf-8",
    locale: str = "en",
    *,
    as_of: date = AS_OF,
) -> dict[str, int]:
    """Write a synthetic Salesforce Data Export to `out_dir`; return rows written per object.

    scale: "tiny" | "small" | "demo" | "enterprise" | a float factor of enterprise (0.01, 0.1).
    encoding: "utf-8" or "latin-1" (ISO-8859-1) for every file. locale: "en" or "es" (stage names).
    """
    sc = resolve_scale(scale)
    if locale not in STAGES:
        raise ValueError(f"locale must be one of {sorted(STAGES)}, got {locale!r}")
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf8", "utf-8"):
        enc = "utf-8"
    elif enc in ("latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1"):
        enc = "latin-1"
    else:
        raise ValueError(f"encoding must be 'utf-8' or 'latin-1', got {encoding!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    clk = Clock(as_of)
    ids = {k: Ids(p, seed) for k, p in {
        "User": "005", "UserRole": "00E", "Account": "001", "Contact": "003", "Lead": "00Q",
        "Opportunity": "006", "OpportunityHistory": "008", "OpportunityLineItem": "00k",
        "PricebookEntry": "01u", "Product2": "01t", "Contract": "800", "Task": "00T", "Event": "00U",
        "ForecastingQuota": "0J9", "CurrencyType": "01L", "DatedConversionRate": "04w",
        "OpportunityStage": "01J", "Pricebook2": "01s", "Period": "026", "ForecastingType": "0Db",
    }.items()}
    g = _Gen(rng, sc, clk, ids, locale, enc)
    g.build()
    counts = {}
    for obj, n, renders, quote in g.tables():
        counts[obj] = write_table(out / FILES[obj], n, columns_for(obj), renders, enc, quote)
    return counts


class _Gen:
    def __init__(self, rng, sc, clk, ids, locale, encoding="utf-8"):
        self.rng, self.sc, self.clk, self.ids, self.locale = rng, sc, clk, ids, locale
        # the Latin-1 quirks are placed without drawing from rng, so both encodings hold the same data
        self.latin1 = encoding == "latin-1"
        self._tables = []

    def tables(self):
        return self._tables

    def add(self, obj, n, renders, quote="always"):
        self._tables.append((obj, n, renders, quote))

    # ------------------------------------------------------------------ build
    def build(self):
        rng, sc, clk = self.rng, self.sc, self.clk
        U = self.U = _make_users(rng, sc, clk)
        self._leads_and_accounts()
        self._opportunities()
        self._contracts_and_renewals()
        self._finish_opportunities()
        self._referrals()
        self._line_items()
        self._activities()
        self._emit_users()
        self._emit_accounts_contacts_leads()
        self._emit_opportunities()
        self._emit_reference()
        self._emit_quotas_and_targets()
        del U

    # ------------------------------------------------------------------ leads, accounts, contacts
    def _leads_and_accounts(self):
        rng, sc, clk, U = self.rng, self.sc, self.clk, self.U
        n = sc.leads
        created = _times(rng, n, clk.start_day, clk.as_of_day + 1)
        created = np.minimum(created, clk.end_ts - 3600)
        owner = _pick_reps(rng, U, clk, created)
        p_src = np.array([*LEAD_SOURCE_W, 0.08])
        src = rng.choice(len(LEAD_SOURCES) + 1, size=n, p=p_src / p_src.sum())
        src = np.where(src == len(LEAD_SOURCES), -1, src)
        p_conv = np.where(np.isin(src, list(REFERRAL_SOURCES)), 0.34, np.where(src == 0, 0.13, 0.19))
        p_conv = p_conv * np.clip(U.skill[owner], 0.6, 1.6)
        # lifecycle: a lead is converted 5-120 days after creation (median ~20) or, if not, closed as
        # "Closed - Not Converted" 15-180 days after creation (median ~45); only recent leads are still
        # open at the as-of date, plus a small tail of stale ones (~2% of last year's unconverted leads)
        lag = np.clip(rng.lognormal(np.log(20 * DAY), 0.65, n), 5 * DAY + 60, 120 * DAY - 60).astype(np.int64)
        conv_ts = created + lag
        converted = (rng.random(n) < p_conv) & (conv_ts < clk.end_ts - 600)
        age = (clk.end_ts - created) / DAY
        close_lag = np.clip(rng.lognormal(np.log(45 * DAY), 0.6, n), 15 * DAY + 60, 180 * DAY - 60).astype(np.int64)
        stale = (rng.random(n) < 0.02) & (age < 420)
        closed_nc = ~converted & ~stale & (created + close_lag < clk.end_ts)
        working = ~converted & ~closed_nc & (rng.random(n) < np.where(age > 20, 0.75, 0.45))
        status = np.where(converted, 2, np.where(closed_nc, 3, np.where(working, 1, 0)))
        end_ts = np.where(converted, conv_ts, np.where(closed_nc, created + close_lag, clk.end_ts))
        touched = created + (rng.random(n) * np.minimum(clk.end_ts - created, 60 * DAY)).astype(np.int64)
        lastmod = np.where(status >= 2, end_ts, np.minimum(touched, clk.end_ts))
        owner = self._first_contact_leads(owner, created, status, end_ts)
        owner0 = owner
        owner, switch = _reassign_departed(rng, U, clk, owner, status < 2)
        country = self._country_for_region(U.region[owner])
        self.L = dict(n=n, created=created, owner=owner, owner0=owner0, switch=switch, src=src, status=status, converted=converted,
                      conv_ts=np.where(converted, conv_ts, NA), end_ts=end_ts, lastmod=lastmod, country=country,
                      first=rng.integers(0, len(FIRST_NAMES), n), last=rng.integers(0, len(LAST_NAMES), n),
                      company=rng.integers(0, len(COMPANY_WORDS) * len(COMPANY_SUFFIX), n),
                      industry=rng.integers(0, len(INDUSTRIES), n), title=rng.integers(0, len(TITLES), n),
                      web=(src == 0))
        conv_idx = np.flatnonzero(converted)
        # accounts: pre-existing ones, then one per converted lead
        na0 = sc.accounts
        a_created = np.concatenate([
            (clk.start_day - rng.integers(30, 1500, na0 // 2)) * DAY + _tod(rng, na0 // 2),
            _times(rng, na0 - na0 // 2, clk.start_day, clk.as_of_day - 30),
        ])
        a_owner0 = _pick_reps(rng, U, clk, np.maximum(a_created, clk.start_day * DAY + 1))
        A = dict(n=na0 + len(conv_idx))
        A["created"] = np.concatenate([a_created, conv_ts[conv_idx]])
        A["owner"] = np.concatenate([a_owner0, owner[conv_idx]])
        A["name"] = np.concatenate([rng.integers(0, len(COMPANY_WORDS) * len(COMPANY_SUFFIX), na0), self.L["company"][conv_idx]])
        A["name"][0] = 0  # "Construcción Ibérica"
        A["country"] = np.concatenate([self._country_for_region(U.region[a_owner0]), country[conv_idx]])
        A["industry"] = np.concatenate([rng.integers(0, len(INDUSTRIES), na0), self.L["industry"][conv_idx]])
        A["from_lead"] = np.concatenate([np.full(na0, -1), conv_idx])
        A["size"] = np.exp(rng.normal(0, 0.7, A["n"]))
        self.A = A
        self.L["account"] = np.full(n, -1, np.int64)
        self.L["account"][conv_idx] = na0 + np.arange(len(conv_idx))
        # contacts: one per converted lead, plus 1-3 per pre-existing account
        k = rng.integers(1, 4, na0)
        par, _ = _segments(k)
        c_acc = np.concatenate([par, na0 + np.arange(len(conv_idx))])
        c_created = np.concatenate([A["created"][par] + rng.integers(3600, 40 * DAY, len(par)), conv_ts[conv_idx]])
        self.C = dict(n=len(c_acc), account=c_acc, created=np.minimum(c_created, clk.end_ts - 60),
                      first=np.concatenate([rng.integers(0, len(FIRST_NAMES), len(par)), self.L["first"][conv_idx]]),
                      last=np.concatenate([rng.integers(0, len(LAST_NAMES), len(par)), self.L["last"][conv_idx]]),
                      title=rng.integers(0, len(TITLES), len(c_acc)),
                      src=np.concatenate([np.full(len(par), -1), src[conv_idx]]))
        self.L["contact"] = np.full(n, -1, np.int64)
        self.L["contact"][conv_idx] = len(par) + np.arange(len(conv_idx))
        # first contact of each account (for activities)
        first_contact = np.full(A["n"], -1, np.int64)
        first_contact[c_acc[::-1]] = np.arange(len(c_acc))[::-1]
        A["contact"] = first_contact
        A["currency"] = np.array([CURRENCIES.index(COUNTRIES[c][2]) for c in range(len(COUNTRIES))])[A["country"]]

    def _first_contact_leads(self, owner, created, status, end_ts):
        """Give each rep hired during the history a lead to contact on the day the rep's ramp-up ends.

        The lead is the newest one created before that moment (at most 90 days before) that gets
        contacted and is still in the pipeline then; it is reassigned to the new rep, and
        `_activities` logs the rep's first call on it at exactly `U.ready_s`.
        """
        U, clk = self.U, self.clk
        reps = U.rep[(U.hire_day[U.rep] >= clk.start_day) & (U.ready_s[U.rep] < clk.end_ts - DAY)
                     & (U.ready_s[U.rep] < U.term_s[U.rep] - DAY)]
        reps = reps[np.argsort(U.ready_s[reps], kind="stable")]
        order = np.argsort(created, kind="stable")
        cs = created[order]
        taken = np.zeros(len(created), bool)
        first_rep, first_lead = [], []
        for r in reps:
            rs = U.ready_s[r]
            j = int(np.searchsorted(cs, rs - 3600)) - 1
            while j >= 0 and cs[j] >= rs - 90 * DAY:
                i = order[j]
                if not taken[i] and status[i] != 0 and end_ts[i] > rs + 3600:
                    taken[i] = True
                    first_rep.append(r)
                    first_lead.append(i)
                    break
                j -= 1
        first_lead = np.array(first_lead, np.int64)
        owner = owner.copy()
        owner[first_lead] = np.array(first_rep, np.int64)
        self.first_lead = first_lead
        return owner

    def _country_for_region(self, region):
        n = len(region)
        out = np.empty(n, np.int64)
        u = self.rng.random(n)
        for r in range(len(REGIONS) + 1):
            opts = [i for i, c in enumerate(COUNTRIES) if r == len(REGIONS) or c[1] == REGIONS[r]]
            m = region == r
            out[m] = np.array(opts)[(u[m] * len(opts)).astype(np.int64)]
        m = region < 0
        out[m] = 0
        return out

    # ------------------------------------------------------------------ opportunities
    def _new_opps(self, created, owner, account, otype, src, *, start_stage=None, cycle_days=55.0,
                  p_win=0.33, close_ts=None):
        """Decide outcome, stage path and close date for a batch of opportunities."""
        rng, clk, U = self.rng, self.clk, self.U
        n = len(created)
        if close_ts is None:
            cycle = (rng.lognormal(np.log(cycle_days * DAY), 0.65, n)).astype(np.int64)
            cycle = np.clip(cycle, 2 * DAY, 420 * DAY)
            close_ts = created + cycle
        closed = close_ts < clk.end_ts - 600
        pw = np.clip(p_win * U.skill[owner] * np.where(np.isin(src, list(REFERRAL_SOURCES)), 1.4, 1.0), 0.05, 0.9)
        won = closed & (rng.random(n) < pw)
        # quarter-end spike: some closed deals slip to the last days of their quarter
        cday = close_ts // DAY
        qe = _quarter_end(cday)
        target = qe - rng.integers(0, 9, n)
        shift = closed & (rng.random(n) < 0.35) & (target * DAY > created + DAY) & (target * DAY + 20 * 3600 < clk.end_ts) & (target >= cday)
        cday = np.where(shift, target, cday)
        close_ts = np.where(shift, cday * DAY + _tod(rng, n), close_ts)
        close_ts = np.where(closed, np.minimum(np.maximum(close_ts, created + 7200), clk.end_ts - 300), close_ts)
        cday = close_ts // DAY
        s0 = np.where(rng.random(n) < 0.8, 0, 1) if start_stage is None else np.full(n, start_stage)
        # lost: furthest stage reached; open: current stage by elapsed share of the cycle
        top = 4
        lost_k = np.minimum(s0 + rng.geometric(0.45, n) - 1, top)
        frac = np.clip((clk.end_ts - created) / np.maximum(close_ts - created, 1), 0, 1)
        open_k = np.clip(s0 + np.floor(frac * (top - s0 + 1)).astype(np.int64), s0, top)
        kmax = np.where(won, top, np.where(closed, lost_k, open_k))
        final = np.where(won, WON, np.where(closed, LOST, kmax))
        # stale open deals: close date already passed
        stale = ~closed & (rng.random(n) < 0.1)
        cday = np.where(stale, np.maximum(clk.as_of_day - rng.integers(1, 60, n), created // DAY + 1), cday)
        last_change = np.where(closed, close_ts,
                               created + ((clk.end_ts - 600 - created) * rng.uniform(0.2, 1.0, n)).astype(np.int64))
        last_change = np.where((kmax == s0) & ~closed, created, last_change)
        return dict(created=created, owner=owner, account=account, type=otype, src=src, closed=closed, won=won,
                    close_day=cday, s0=s0, kmax=kmax, final=final, last_change=last_change)

    def _opportunities(self):
        rng, sc, clk, U, L, A = self.rng, self.sc, self.clk, self.U, self.L, self.A
        # from converted leads (95% of conversions create an opportunity)
        li = np.flatnonzero(L["converted"] & (rng.random(L["n"]) < 0.95))
        batch_lead = self._new_opps(L["conv_ts"][li] + 60, L["owner"][li], L["account"][li],
                                    np.zeros(len(li), np.int64), L["src"][li], start_stage=None, p_win=0.36)
        batch_lead["lead"] = li
        # direct: on an account that exists by then
        nd = sc.direct_opportunities
        created = _times(rng, nd, clk.start_day, clk.as_of_day + 1, qend=0.3)
        created = np.minimum(created, clk.end_ts - 3600)
        order = np.argsort(A["created"], kind="stable")
        acc_sorted_created = A["created"][order]
        avail = np.searchsorted(acc_sorted_created, created, side="left")
        ok = avail > 0
        created, avail = created[ok], avail[ok]
        acc = order[(rng.random(len(created)) * avail).astype(np.int64)]
        owner = _keep_or_pick(rng, U, clk, A["owner"][acc], created)
        dsrc_choices = np.array([-1, -1, -1, 3, 2, 6, 5, 8, 4])
        dsrc = dsrc_choices[rng.integers(0, len(dsrc_choices), len(created))]
        batch_direct = self._new_opps(created, owner, acc, np.zeros(len(created), np.int64), dsrc, p_win=0.3)
        batch_direct["lead"] = np.full(len(created), -1)
        self.batches = [batch_lead, batch_direct]

    def _contracts_and_renewals(self):
        """Won deals become contracts; contracts ending come up for renewal (won, lost = churn, open)."""
        rng, clk, U = self.rng, self.clk, self.U
        K = {k: [] for k in ("account", "owner", "start", "term", "close_ts", "currency_acc", "opp_amount_seed")}
        n_contracts = 0
        pending = self.batches
        all_batches = []
        offset = 0
        for gen in range(12):
            if not pending:
                break
            new_pending = []
            for b in pending:
                nb = len(b["created"])
                b["opp"] = offset + np.arange(nb)
                offset += nb
                b["contract"] = np.full(nb, -1, np.int64)
                all_batches.append(b)
                w = np.flatnonzero(b["won"])
                if not len(w):
                    continue
                # per account, a win inside an active contract attaches to it (upgrade); others open a contract
                df = pl.DataFrame({"i": w, "acc": b["account"][w], "day": b["close_day"][w]}).sort(["acc", "day", "i"])
                acc_a, day_a, i_a = df["acc"].to_numpy(), df["day"].to_numpy(), df["i"].to_numpy()
                unassigned = np.ones(len(i_a), bool)
                while unassigned.any():
                    ua = np.flatnonzero(unassigned)
                    first = ua[np.concatenate([[True], acc_a[ua][1:] != acc_a[ua][:-1]])]
                    m = len(first)
                    start = day_a[first] + np.where(rng.random(m) < 0.5, rng.integers(0, 10, m), 0)
                    start = np.where(rng.random(m) < 0.5, _next_month_start(start), start)
                    term = rng.choice([12, 24, 36], m, p=[0.55, 0.27, 0.18])
                    if "renewal_term" in b:
                        term = b["renewal_term"][i_a[first]]
                        start = b["renewal_start"][i_a[first]]
                    end = _add_months(start, term) - 1
                    cid = n_contracts + np.arange(m)
                    n_contracts += m
                    for key, val in (("account", acc_a[first]), ("owner", b["owner"][i_a[first]]), ("start", start),
                                     ("term", term), ("close_ts", b["last_change"][i_a[first]])):
                        K[key].append(val)
                    # attach: every unassigned win of the same account closing within [close, end]
                    grp = np.searchsorted(acc_a[first], acc_a[ua])
                    hit = (acc_a[first][np.clip(grp, 0, m - 1)] == acc_a[ua]) & (day_a[ua] <= end[np.clip(grp, 0, m - 1)])
                    b["contract"][i_a[ua[hit]]] = cid[grp[hit]]
                    upg = ua[hit & ~np.isin(ua, first)]
                    b["type"][i_a[upg]] = 1
                    unassigned[ua[hit]] = False
                    # renewals for contracts ending before as_of + 90 days
                    due = end <= clk.as_of_day + 90
                    if due.any():
                        r_end = end[due]
                        nr = len(r_end)
                        r_created = (r_end - rng.integers(35, 95, nr)) * DAY + _tod(rng, nr)
                        keep = r_created < clk.end_ts - 3600
                        if keep.any():
                            r_end, r_created = r_end[keep], r_created[keep]
                            nr = len(r_end)
                            r_acc = acc_a[first][due][keep]
                            r_owner = _keep_or_pick(rng, U, clk, b["owner"][i_a[first]][due][keep], r_created)
                            r_close = (r_end - rng.integers(0, 25, nr)) * DAY + _tod(rng, nr)
                            r_close = np.maximum(r_close, r_created + 3 * DAY)
                            rb = self._new_opps(r_created, r_owner, r_acc, np.full(nr, 2), np.full(nr, -1),
                                                start_stage=3, p_win=0.78, close_ts=r_close)
                            rb["lead"] = np.full(nr, -1)
                            rb["renewal_start"] = r_end + 1
                            rb["renewal_term"] = np.where(rng.random(nr) < 0.7, term[due][keep], 12)
                            rb["prev_amount_key"] = cid[due][keep]
                            new_pending.append(rb)
                            # churned renewals: some customers come back later (win-back new business)
                            lost = rb["closed"] & ~rb["won"]
                            wb = lost & (rng.random(nr) < 0.25)
                            if wb.any():
                                wb_created = (r_end[wb] + rng.integers(150, 500, wb.sum())) * DAY + _tod(rng, wb.sum())
                                okw = wb_created < clk.end_ts - 5 * DAY
                                if okw.any():
                                    wc = wb_created[okw]
                                    wacc = r_acc[wb][okw]
                                    wown = _keep_or_pick(rng, U, clk, r_owner[wb][okw], wc)
                                    wbatch = self._new_opps(wc, wown, wacc, np.zeros(len(wc), np.int64),
                                                            np.full(len(wc), -1), p_win=0.6)
                                    wbatch["lead"] = np.full(len(wc), -1)
                                    new_pending.append(wbatch)
            pending = new_pending
        self.batches = all_batches
        self.K = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in K.items() if v}
        self.K["n"] = n_contracts

    def _finish_opportunities(self):
        rng, clk, U, A = self.rng, self.clk, self.U, self.A
        cat = {k: np.concatenate([b[k] for b in self.batches]) for k in
               ("created", "owner", "account", "type", "src", "closed", "won", "close_day", "s0", "kmax", "final",
                "last_change", "lead", "contract")}
        n = len(cat["created"])
        cat["n"] = n
        cat["owner0"] = cat["owner"]
        cat["owner"], cat["switch"] = _reassign_departed(rng, U, clk, cat["owner"], ~cat["closed"])
        cat["currency"] = A["currency"][cat["account"]]
        usd = rng.lognormal(np.log(24000), 0.75, n) * A["size"][cat["account"]]
        usd = np.where(cat["type"] == 1, usd * 0.45, usd)
        rate = np.array([CURRENCY_RATE[c] for c in CURRENCIES])[cat["currency"]]
        cat["amount"] = np.round(usd * rate, -2)
        no_amount = ~cat["closed"] & (cat["kmax"] == 0) & (rng.random(n) < 0.15)
        cat["amount"] = np.where(no_amount, np.nan, cat["amount"])
        # deleted: a few lost direct deals
        cand = cat["closed"] & ~cat["won"] & (cat["lead"] < 0)
        cat["deleted"] = cand & (rng.random(n) < 0.01)
        self.O = cat
        self.A["customer_first_won"] = None

    def _referrals(self):
        """Referral-sourced leads and deals get Referring_Account__c = an account that was a customer by then."""
        rng, O, L = self.rng, self.O, self.L
        w = O["won"]
        first_won = pl.DataFrame({"acc": O["account"][w], "day": O["close_day"][w]}).group_by("acc").agg(pl.col("day").min()).sort(["day", "acc"])
        acc_s, day_s = first_won["acc"].to_numpy(), first_won["day"].to_numpy()
        self.A["is_customer"] = np.zeros(self.A["n"], bool)
        self.A["is_customer"][acc_s] = True

        def pick(ts, mask):
            out = np.full(len(ts), -1, np.int64)
            cnt = np.searchsorted(day_s, ts // DAY, side="left")
            ok = mask & (cnt > 0)
            out[ok] = acc_s[(rng.random(ok.sum()) * cnt[ok]).astype(np.int64)]
            return out

        L["referrer"] = pick(L["created"], L["src"] == 3)
        has_lead_ref = np.where(O["lead"] >= 0, L["referrer"][np.maximum(O["lead"], 0)], -1)
        O["referrer"] = np.where(O["lead"] >= 0, has_lead_ref, pick(O["created"], O["src"] == 3))

    def _line_items(self):
        rng, sc, O = self.rng, self.sc, self.O
        n_prod = sc.products
        base = [PRODUCTS[i % len(PRODUCTS)] for i in range(n_prod)]
        self.P = dict(
            n=n_prod,
            name=[b[0] + ("" if i < len(PRODUCTS) else f" {i // len(PRODUCTS) + 1}") for i, b in enumerate(base)],
            family=[b[1] for b in base],
            price=np.array([b[2] for b in base], dtype=np.float64),
        )
        has = ~np.isnan(O["amount"]) & (rng.random(O["n"]) < 0.72)
        k = np.where(has, rng.integers(1, 4, O["n"]), 0)
        par, pos = _segments(k)
        m = len(par)
        prod = rng.integers(0, n_prod, m)
        cur = O["currency"][par]
        rate = np.array([CURRENCY_RATE[c] for c in CURRENCIES])[cur]
        list_price = np.round(self.P["price"][prod] * rate, 2)
        unit = np.round(list_price * rng.choice([1.0, 0.95, 0.9, 0.85, 0.8], m), 2)
        share = rng.exponential(1.0, m)
        tot_share = np.bincount(par, weights=share, minlength=O["n"])[par]
        alloc = O["amount"][par] * share / tot_share
        qty = np.maximum(1, np.round(alloc / unit)).astype(np.int64)
        total = np.round(qty * unit, 2)
        amt = np.round(np.bincount(par, weights=total, minlength=O["n"]), 2)
        O["amount"] = np.where(has, amt, O["amount"])
        self.LI = dict(n=m, opp=par, product=prod, qty=qty, unit=unit, total=total, currency=cur,
                       pbe=prod * len(CURRENCIES) + cur)
        self.P["list_rates"] = rate

    # ------------------------------------------------------------------ tasks and events
    def _activities(self):
        """Tasks and events on leads and deals.

        Each activity is drawn inside its record's life, then owned by whoever owned the record at
        that moment (the original owner before a reassignment, the current one after). Activities
        a rep could not have logged -- before the end of the rep's ramp-up (`U.ready_s`, which is the
        hire date for reps hired before the history) or from the termination date on -- are dropped,
        so no task or event of a rep predates the hire date or follows the termination date.
        """
        rng, sc, clk, U, L, O, A = self.rng, self.sc, self.clk, self.U, self.L, self.O, self.A
        # lead activities (+ one first call per new rep on the lead picked in _first_contact_leads)
        lam = sc.tasks_per_lead * np.array([0.35, 1.1, 1.4, 1.0])[L["status"]]
        k = rng.poisson(lam)
        lp, _ = _segments(k)
        fl = self.first_lead
        lp = np.concatenate([lp, fl])
        forced = np.concatenate([np.zeros(len(lp) - len(fl), bool), np.ones(len(fl), bool)])
        # opportunity activities
        dur = np.where(O["closed"], O["last_change"], clk.end_ts) - O["created"]
        ko = rng.poisson(sc.tasks_per_opportunity * np.clip(dur / (60 * DAY), 0.4, 2.0))
        op, _ = _segments(ko)
        nl, no = len(lp), len(op)
        n = nl + no
        t0 = np.concatenate([L["created"][lp], O["created"][op]])
        t1 = np.concatenate([np.minimum(L["end_ts"][lp], t0[:nl] + 75 * DAY),
                             np.where(O["closed"][op], O["last_change"][op], clk.end_ts)])
        t1 = np.maximum(np.minimum(t1, clk.end_ts - 60), t0 + 60)
        t = np.minimum(t0 + (rng.random(n) ** 1.3 * (t1 - t0)).astype(np.int64), clk.end_ts - 60)
        forced_all = np.concatenate([forced, np.zeros(no, bool)])
        t = np.where(forced_all, U.ready_s[np.concatenate([L["owner0"][lp], O["owner0"][op]])], t)
        switch = np.concatenate([L["switch"][lp], O["switch"][op]])
        owner = np.where(t < switch, np.concatenate([L["owner0"][lp], O["owner0"][op]]),
                         np.concatenate([L["owner"][lp], O["owner"][op]]))
        keep = (t >= U.ready_s[owner]) & (t < U.term_s[owner] - 60)
        lp, op = lp[keep[:nl]], op[keep[nl:]]
        owner, t, t0, forced_all = owner[keep], t[keep], t0[keep], forced_all[keep]
        nl, no = len(lp), len(op)
        n = nl + no
        never_contacted = np.concatenate([L["status"][lp] == 0, np.zeros(no, bool)])
        recent = t > clk.end_ts - 14 * DAY
        open_ = (never_contacted | (recent & (rng.random(n) < 0.55)) | (rng.random(n) < 0.03)) & ~forced_all
        sub = np.where(forced_all, 0, rng.choice(3, n, p=[0.45, 0.35, 0.20]))
        created = np.where(open_, t - rng.integers(0, 3 * DAY, n), t - rng.integers(60, 2 * DAY, n))
        created = np.maximum(np.maximum(created, t0), U.hire_s[owner])
        created = np.minimum(created, t)
        due_day = np.where(open_, created // DAY + rng.integers(1, 15, n), t // DAY)
        last_day = np.where(U.term_s[owner] >= BIG_TS, NA, U.term_s[owner] // DAY - 1)
        due_day = np.where(open_ & (last_day != NA), np.maximum(np.minimum(due_day, last_day), created // DAY), due_day)
        who = np.concatenate([lp, np.where(rng.random(no) < 0.8, A["contact"][O["account"][op]], -1)])
        who_is_lead = np.concatenate([np.ones(nl, bool), np.zeros(no, bool)])
        what = np.concatenate([np.full(nl, -1), op])
        account = np.concatenate([np.full(nl, -1), O["account"][op]])
        calltype = np.where((sub == 0) & (rng.random(n) < 0.7), rng.choice(2, n, p=[0.8, 0.2]), -1)
        calldur = np.where((calltype >= 0) & ~open_, rng.integers(20, 2400, n), NA)
        disp = np.where((calltype >= 0) & ~open_, rng.integers(0, 3, n), -1)
        typ = np.where(rng.random(n) < 0.65, -1, np.array([0, 1, 3])[sub])  # Call, Email, Other
        status = np.where(open_, rng.choice([1, 2, 3], n, p=[0.7, 0.2, 0.1]), 0)
        lastmod = np.where(open_, created, t)
        deleted = (rng.random(n) < 0.001) & ~forced_all
        desc = np.where(rng.random(n) < 0.01, rng.integers(0, len(DESCRIPTIONS), n), -1)
        subj = np.where(forced_all, 1, sub * 4 + rng.integers(0, 4, n))  # "Discovery call"
        self.T = dict(n=n, owner=owner, t=t, open=open_, sub=sub, created=created, due=due_day, who=who,
                      who_is_lead=who_is_lead, what=what, account=account, calltype=calltype, calldur=calldur,
                      disp=disp, type=typ, status=status, lastmod=lastmod, deleted=deleted, desc=desc, subj=subj,
                      prio=rng.choice(3, n, p=[0.8, 0.15, 0.05]))
        # lead LastActivityDate: latest completed activity
        last = np.full(L["n"], NA, np.int64)
        done = ~open_[:nl]
        np.maximum.at(last, lp[done], t[:nl][done] // DAY)
        L["last_activity"] = last
        # events: meetings on deals and with converted/working leads
        ke = rng.poisson(sc.events_per_opportunity * np.clip(dur / (60 * DAY), 0.4, 2.0))
        ep, _ = _segments(ke)
        kl = rng.poisson(sc.events_per_lead * (L["status"] >= 1))
        elp, _ = _segments(kl)
        ne = len(ep) + len(elp)
        e0 = np.concatenate([O["created"][ep], L["created"][elp]])
        e1 = np.concatenate([np.where(O["closed"][ep], O["last_change"][ep], clk.end_ts + 20 * DAY),
                             np.minimum(L["end_ts"][elp], L["created"][elp] + 60 * DAY)])
        e1 = np.maximum(e1, e0 + 3600)
        st = e0 + (rng.random(ne) * (e1 - e0)).astype(np.int64)
        st = (st // 1800) * 1800 + 1800
        allday = rng.random(ne) < 0.01
        durm = np.where(allday, 1440, rng.choice([30, 45, 60, 90], ne, p=[0.35, 0.15, 0.4, 0.1]))
        st = np.where(allday, (st // DAY) * DAY, st)
        e_switch = np.concatenate([O["switch"][ep], L["switch"][elp]])
        e_owner = np.where(st < e_switch, np.concatenate([O["owner0"][ep], L["owner0"][elp]]),
                           np.concatenate([O["owner"][ep], L["owner"][elp]]))
        e_created = np.minimum(np.maximum(e0, st - rng.integers(3600, 10 * DAY, ne)), clk.end_ts - 120)
        e_created = np.minimum(np.maximum(e_created, U.hire_s[e_owner]), st)
        ekeep = (st >= U.ready_s[e_owner]) & (st + durm * 60 <= U.term_s[e_owner]) & (e_created <= clk.end_ts - 120)
        e_who = np.concatenate([np.where(rng.random(len(ep)) < 0.85, A["contact"][O["account"][ep]], -1), elp])
        e_what = np.concatenate([ep, np.full(len(elp), -1)])
        e_acc = np.concatenate([O["account"][ep], np.full(len(elp), -1)])
        e_is_lead = np.concatenate([np.zeros(len(ep), bool), np.ones(len(elp), bool)])
        subj = rng.integers(0, len(EVENT_SUBJECTS), ne)
        loc = rng.integers(0, len(EVENT_LOCATIONS), ne)
        etype = np.where(rng.random(ne) < 0.5, 0, -1)
        edel = rng.random(ne) < 0.001
        self.E = dict(n=int(ekeep.sum()), owner=e_owner[ekeep], start=st[ekeep], dur=durm[ekeep],
                      allday=allday[ekeep], created=e_created[ekeep], who=e_who[ekeep],
                      who_is_lead=e_is_lead[ekeep], what=e_what[ekeep], account=e_acc[ekeep], subj=subj[ekeep],
                      loc=loc[ekeep], type=etype[ekeep], deleted=edel[ekeep])

    # ------------------------------------------------------------------ emit
    def _emit_users(self):
        U, ids, clk, rng = self.U, self.ids, self.clk, self.rng
        n = U.n
        first = pl.Series([FIRST_NAMES[i] for i in U.first])
        last = pl.Series([LAST_NAMES[i] for i in U.last])
        first = first.scatter([U.auto, U.integration, U.chatter], ["Automated", "Integration", "Chatter"])
        last = last.scatter([U.auto, U.integration, U.chatter], ["Process", "User", "Expert"])
        local = [f"{_ascii(f)[:1]}{_ascii(l)}{i}" for i, (f, l) in enumerate(zip(first, last))]
        local[U.auto], local[U.integration], local[U.chatter] = "autoproc", "integration", "chatty"
        email = [f"{x}@{ORG_DOMAIN}" for x in local]
        # roles: 0 VP Sales, 1.. manager roles per region, then rep roles per region
        nr = len(REGIONS)
        role = np.full(n, -1, np.int64)
        role[U.vp] = 0
        role[U.mgr] = 1 + U.region[U.mgr]
        role[U.rep] = 1 + nr + U.region[U.rep]
        title = np.full(n, -1, np.int64)
        title[U.vp], title[U.mgr] = 0, 1
        title[U.rep] = np.where(U.skill[U.rep] > 1.2, 3, 2)
        created = np.where(U.hire_day == NA, clk.start_day - 2000, U.hire_day - 3) * DAY + 9 * 3600
        lastmod = np.where(U.term_day != NA, U.term_day * DAY + 17 * 3600,
                           np.maximum(created, clk.end_ts - self.rng.integers(DAY, 200 * DAY, n)))
        lastmod[U.integration] = clk.end_ts  # the integration user syncs constantly: newest SystemModstamp
        phone = [f"+1 415 555 {1000 + i:04d}" for i in range(n)]
        phone[U.auto] = phone[U.chatter] = ""
        self.user_email = email
        self.add("User", n, {
            "Id": c_id(ids["User"], np.arange(n)),
            "Username": c_str([e.replace(ORG_DOMAIN, ORG_DOMAIN + ".prod") for e in email]),
            "FirstName": c_str(first), "LastName": c_str(last), "Name": c_str(first + " " + last),
            "Email": c_str(email), "Phone": c_str(phone),
            "IsActive": c_bool(U.active_at_end),
            "UserType": c_cat(U.type, ["Standard", "AutomatedProcess", "CsnOnly"]),
            "ManagerId": c_id(ids["User"], U.manager),
            "UserRoleId": c_id(ids["UserRole"], role),
            "Division": c_cat(U.region, [*REGIONS, "Global"]),
            "Department": c_cat(np.where(U.type == 0, np.where(np.arange(n) == U.integration, 1, 0), -1),
                                ["Sales", "IT"]),
            "Title": c_cat(title, ["VP Sales", "Sales Manager", "Account Executive", "Senior Account Executive"]),
            "CompanyName": c_const(ORG_COMPANY),
            "CreatedDate": c_dt(created), "LastModifiedDate": c_dt(lastmod), "SystemModstamp": c_dt(lastmod),
            "Hire_Date__c": c_date(U.hire_day), "Termination_Date__c": c_date(U.term_day),
        })
        role_names = ["VP Sales"] + [f"Sales Manager {r}" for r in REGIONS] + [f"Sales Rep {r}" for r in REGIONS]
        parent = np.array([-1] + [0] * nr + list(range(1, nr + 1)))
        rmod = np.full(len(role_names), clk.start_day * DAY - 400 * DAY + 10 * 3600)
        self.add("UserRole", len(role_names), {
            "Id": c_id(ids["UserRole"], np.arange(len(role_names))), "Name": c_str(role_names),
            "DeveloperName": c_str([r.replace(" ", "_") for r in role_names]),
            "ParentRoleId": c_id(ids["UserRole"], parent), "LastModifiedDate": c_dt(rmod), "SystemModstamp": c_dt(rmod),
        })
        # HR export: every human; a few rows carry only the email
        human = np.concatenate([[U.vp], U.mgr, U.rep])
        only_email = rng.random(len(human)) < 0.08
        only_email[min(3, len(human) - 1)] = True
        uid = ids["User"].format(human)
        uid = pl.DataFrame({"u": uid, "m": only_email}).select(
            pl.when(pl.col("m")).then(pl.lit("")).otherwise(pl.col("u"))).to_series()
        self.add("HrEmployee", len(human), {
            "employee_id": c_str([f"E{10000 + 7 * i}" for i in range(len(human))]),
            "user_id": c_str(uid), "email": c_str([email[int(i)] for i in human]),
            "hire_date": c_plain_date(U.hire_day[human]), "termination_date": c_plain_date(U.term_day[human]),
            "name": c_str([f"{first[int(i)]} {last[int(i)]}" for i in human]),
        }, quote="necessary")

    def _emit_accounts_contacts_leads(self):
        rng, clk, ids, A, C, L, O = self.rng, self.clk, self.ids, self.A, self.C, self.L, self.O
        names = [w + s for w in COMPANY_WORDS for s in COMPANY_SUFFIX]
        domains = [_ascii(w)[:14] + ".example.com" for w in COMPANY_WORDS for s in COMPANY_SUFFIX]
        n = A["n"]
        # Type: current customers (active contract or a won deal in the last year), former, prospects
        has_contract_now = np.zeros(n, bool)
        if self.K["n"]:
            end = _add_months(self.K["start"], self.K["term"]) - 1
            act = (self.K["start"] <= clk.as_of_day) & (end >= clk.as_of_day)
            has_contract_now[self.K["account"][act]] = True
        atype = np.where(has_contract_now, np.where(rng.random(n) < 0.85, 1, 2),
                         np.where(A["is_customer"], 3, np.where(rng.random(n) < 0.05, 4, 0)))
        parent = np.full(n, -1, np.int64)
        sub = (rng.random(n) < 0.03) & (np.arange(n) > 10)
        parent[sub] = rng.integers(0, 10, sub.sum())
        used = np.zeros(n, bool)
        used[O["account"]] = True
        used[self.L["account"][self.L["account"] >= 0]] = True
        used[C["account"][C["account"] >= 0]] = True  # Salesforce cascades an account's delete to its contacts
        if self.K["n"]:
            used[self.K["account"]] = True
        deleted = ~used & (rng.random(n) < 0.05)
        lastmod = np.minimum(A["created"] + (rng.random(n) * (clk.end_ts - A["created"])).astype(np.int64), clk.end_ts - 60)
        owner, _ = _reassign_departed(rng, self.U, clk, A["owner"], np.ones(n, bool))
        A["owner_now"] = owner
        city_lab, state_lab, city_code, state_code = [], [], np.zeros(n, np.int64), np.zeros(n, np.int64)
        u = rng.random(n)
        for ci, (cname, _, _, cities, states) in enumerate(COUNTRIES):
            m = A["country"] == ci
            j = (u[m] * len(cities)).astype(np.int64)
            city_code[m] = len(city_lab) + j
            state_code[m] = len(state_lab) + j
            city_lab += cities
            state_lab += [s or "" for s in states]
        state_code = np.where(np.array(state_lab)[state_code] == "", -1, state_code)
        if self.latin1:  # a few Bogotá accounts typed in upper case through a mis-encoding import
            bogota = np.flatnonzero(city_code == city_lab.index("Bogotá"))
            city_code[bogota[::5][:5]] = len(city_lab)
            city_lab = city_lab + [MOJIBAKE_CITY]
        street = rng.integers(1, 999, n)
        self.add("Account", n, {
            "Id": c_id(ids["Account"], np.arange(n)), "IsDeleted": c_bool(deleted),
            "MasterRecordId": c_const(""),
            "Name": c_cat(A["name"], names),
            "Type": c_cat(atype, ["Prospect", "Customer - Direct", "Customer - Channel", "Former Customer",
                                  "Channel Partner / Reseller"]),
            "ParentId": c_id(ids["Account"], parent, EMPTY_ID),
            "BillingStreet": c_concat(c_int(street), " ", c_cat(rng.integers(0, 5, n), [
                "Main Street", "Calle Mayor, 3º B", "Hauptstraße", "Avenida Paulista", "Rue de l'Église"])),
            "BillingCity": c_cat(city_code, city_lab), "BillingState": c_cat(state_code, state_lab),
            "BillingPostalCode": c_int(rng.integers(10000, 99999, n)),
            "BillingCountry": c_cat(A["country"], [c[0] for c in COUNTRIES]),
            "Phone": c_concat("+1 (555) ", c_int(rng.integers(100, 999, n)), "-", c_int(rng.integers(1000, 9999, n))),
            "Website": c_concat("https://www.", c_cat(A["name"], domains)),
            "Industry": c_cat(A["industry"], INDUSTRIES),
            "AnnualRevenue": c_num(np.round(A["size"] * 2e7, -4)),
            "NumberOfEmployees": c_int((A["size"] * 180).astype(np.int64) + 5),
            "OwnerId": c_id(ids["User"], owner), "CurrencyIsoCode": c_cat(A["currency"], CURRENCIES),
            "CreatedDate": c_dt(A["created"]),
            "CreatedById": c_id(ids["User"], np.where(A["created"] < clk.start_day * DAY, self.U.vp, A["owner"])),
            "LastModifiedDate": c_dt(lastmod), "SystemModstamp": c_dt(lastmod),
            "Description": c_cat(np.where(rng.random(n) < 0.04, rng.integers(0, len(DESCRIPTIONS), n), -1),
                                 DESCRIPTIONS),
        })
        nc = C["n"]
        c_owner = owner[C["account"]]
        self.add("Contact", nc, {
            "Id": c_id(ids["Contact"], np.arange(nc)), "IsDeleted": c_bool(np.zeros(nc, bool)),
            "AccountId": c_id(ids["Account"], C["account"], EMPTY_ID),
            "FirstName": c_cat(C["first"], FIRST_NAMES), "LastName": c_cat(C["last"], LAST_NAMES),
            "Email": c_concat(c_cat(C["first"], [_ascii(x) for x in FIRST_NAMES]), ".",
                              c_cat(C["last"], [_ascii(x) for x in LAST_NAMES]), "@",
                              c_cat(A["name"][C["account"]], domains)),
            "Phone": c_concat("+34 91 ", c_int(rng.integers(100, 999, nc)), " ", c_int(rng.integers(1000, 9999, nc))),
            "Title": c_cat(C["title"], TITLES), "LeadSource": c_cat(C["src"], LEAD_SOURCES),
            "OwnerId": c_id(ids["User"], c_owner), "CreatedDate": c_dt(C["created"]),
            "LastModifiedDate": c_dt(C["created"]), "SystemModstamp": c_dt(C["created"]),
        })
        n = L["n"]
        opp_of_lead = np.full(n, -1, np.int64)
        fl = O["lead"] >= 0
        opp_of_lead[O["lead"][fl]] = np.flatnonzero(fl)
        creator = np.where(L["web"], self.U.integration, L["owner"])
        deleted = (L["status"] == 3) & (rng.random(n) < 0.004)
        self.add("Lead", n, {
            "Id": c_id(ids["Lead"], np.arange(n)), "IsDeleted": c_bool(deleted),
            "FirstName": c_cat(L["first"], FIRST_NAMES), "LastName": c_cat(L["last"], LAST_NAMES),
            "Email": c_concat(c_cat(L["first"], [_ascii(x) for x in FIRST_NAMES]), ".",
                              c_cat(L["last"], [_ascii(x) for x in LAST_NAMES]), "@", c_cat(L["company"], domains)),
            "Phone": c_concat("+57 1 ", c_int(rng.integers(100, 999, n)), " ", c_int(rng.integers(1000, 9999, n))),
            "Title": c_cat(L["title"], TITLES), "Company": c_cat(L["company"], names),
            "Country": c_cat(L["country"], [c[0] for c in COUNTRIES]), "Industry": c_cat(L["industry"], INDUSTRIES),
            "LeadSource": c_cat(L["src"], LEAD_SOURCES), "Status": c_cat(L["status"], LEAD_STATUSES),
            "OwnerId": c_id(ids["User"], L["owner"]), "IsConverted": c_bool(L["converted"]),
            "ConvertedDate": c_date(np.where(L["converted"], L["conv_ts"] // DAY, NA)),
            "ConvertedAccountId": c_id(ids["Account"], L["account"], EMPTY_ID),
            "ConvertedContactId": c_id(ids["Contact"], L["contact"], EMPTY_ID),
            "ConvertedOpportunityId": c_id(ids["Opportunity"], opp_of_lead, EMPTY_ID),
            "CreatedDate": c_dt(L["created"]), "CreatedById": c_id(ids["User"], creator),
            "LastModifiedDate": c_dt(L["lastmod"]), "SystemModstamp": c_dt(L["lastmod"]),
            "LastActivityDate": c_date(L["last_activity"]),
            "Referring_Account__c": c_id(ids["Account"], L["referrer"]),
        })

    def _emit_opportunities(self):
        rng, clk, ids, O, A = self.rng, self.clk, self.ids, self.O, self.A
        stages = STAGES[self.locale]
        n = O["n"]
        final = O["final"]
        names = [w + s for w in COMPANY_WORDS for s in COMPANY_SUFFIX]
        amount = O["amount"]
        exp_rev = np.round(amount * STAGE_PROB[final] / 100, 2)
        lastmod = np.minimum(np.maximum(O["last_change"], O["created"]) + rng.integers(0, 5 * DAY, n), clk.end_ts - 30)
        lastmod = np.where(O["closed"], np.maximum(lastmod, O["last_change"]), lastmod)
        lastmod = np.minimum(lastmod, clk.end_ts - 30)
        lastmod = np.maximum(lastmod, O["last_change"])
        # Description: a few short notes; the biggest won deal carries years of pasted notes (32k chars)
        desc = np.where(rng.random(n) < 0.04, rng.integers(0, len(DESCRIPTIONS), n), -1)
        desc_labels = DESCRIPTIONS + LATIN1_DESCRIPTIONS + [_long_notes()]
        if n:
            big = np.where(O["won"] & ~O["deleted"] & ~np.isnan(amount), amount, -1.0)
            desc[int(np.argmax(big))] = len(desc_labels) - 1
            if self.latin1:
                rows = np.flatnonzero((desc >= 0) & (desc < len(DESCRIPTIONS)))[:2]
                desc[rows] = len(DESCRIPTIONS) + 1  # text with a NUL byte
        self.add("Opportunity", n, {
            "Id": c_id(ids["Opportunity"], np.arange(n)), "IsDeleted": c_bool(O["deleted"]),
            "AccountId": c_id(ids["Account"], O["account"]),
            "Name": c_concat(c_cat(A["name"][O["account"]], names), c_cat(O["type"], OPP_LABELS)),
            "StageName": c_cat(final, stages), "StageSortOrder": c_int(final + 1),
            "Amount": c_num(amount), "Probability": c_int(STAGE_PROB[final]), "ExpectedRevenue": c_num(exp_rev),
            "CloseDate": c_date(O["close_day"]), "Type": c_cat(O["type"], OPP_TYPES),
            "LeadSource": c_cat(O["src"], LEAD_SOURCES),
            "IsClosed": c_bool(O["closed"]), "IsWon": c_bool(O["won"]),
            "ForecastCategory": c_cat(final, STAGE_FC), "ForecastCategoryName": c_cat(final, STAGE_FC_NAME),
            "CampaignId": c_const(EMPTY_ID), "Pricebook2Id": c_const(ids["Pricebook2"].one(0)),
            "OwnerId": c_id(ids["User"], O["owner"]), "ContractId": c_id(ids["Contract"], O["contract"]),
            "CurrencyIsoCode": c_cat(O["currency"], CURRENCIES),
            "CreatedDate": c_dt(O["created"]), "CreatedById": c_id(ids["User"], O["owner"]),
            "LastModifiedDate": c_dt(lastmod), "SystemModstamp": c_dt(lastmod),
            "LastStageChangeDate": c_dt(np.where((O["kmax"] == O["s0"]) & ~O["closed"], NA, O["last_change"])),
            "Referring_Account__c": c_id(ids["Account"], O["referrer"]),
            "Description": c_cat(desc, desc_labels),
        })
        # history: one row per stage reached, then the closing row
        rows = O["kmax"] - O["s0"] + 1 + O["closed"]
        par, pos = _segments(rows)
        m = len(par)
        stage = np.where(pos == rows[par] - 1, final[par], O["s0"][par] + pos)
        stage = np.where(O["closed"][par] & (pos == rows[par] - 1), final[par], np.minimum(stage, 4))
        gap = rng.exponential(1.0, m)
        gap[pos == 0] = 0
        cum = np.cumsum(gap)
        seg_start = np.repeat(np.cumsum(rows) - rows, rows)
        cum = cum - cum[seg_start]
        tot = np.repeat(np.bincount(par, weights=gap, minlength=n), 1)[par]
        frac = np.where(tot > 0, cum / np.where(tot > 0, tot, 1), 0)
        t0 = O["created"][par]
        span = np.maximum(O["last_change"][par] - t0 - 60 * rows[par], 0)
        ts = t0 + (frac * span).astype(np.int64) + 60 * pos
        last = pos == rows[par] - 1
        ts = np.where(last & (rows[par] > 1), np.maximum(O["last_change"][par], ts), ts)
        drift = np.where(last, 1.0, rng.uniform(0.8, 1.2, m))
        h_amount = np.where(last, amount[par], np.round(amount[par] * drift, -2))
        slip = (rng.exponential(20, m) * (1 - frac)).astype(np.int64)
        h_close = np.where(last, O["close_day"][par], np.maximum(O["close_day"][par] - slip, ts // DAY))
        h_deleted = O["deleted"][par]
        self.add("OpportunityHistory", m, {
            "Id": c_id(ids["OpportunityHistory"], np.arange(m)), "OpportunityId": c_id(ids["Opportunity"], par),
            "CreatedById": c_id(ids["User"], O["owner"][par]), "CreatedDate": c_dt(ts),
            "StageName": c_cat(stage, stages), "Amount": c_num(h_amount),
            "ExpectedRevenue": c_num(np.round(h_amount * STAGE_PROB[stage] / 100, 2)),
            "CloseDate": c_date(h_close), "Probability": c_int(STAGE_PROB[stage]),
            "ForecastCategory": c_cat(stage, STAGE_FC), "SystemModstamp": c_dt(ts), "IsDeleted": c_bool(h_deleted),
        })
        LI = self.LI
        li_ts = O["created"][LI["opp"]] + rng.integers(60, 3 * DAY, LI["n"])
        li_ts = np.minimum(li_ts, np.maximum(O["last_change"][LI["opp"]], O["created"][LI["opp"]] + 60))
        self.add("OpportunityLineItem", LI["n"], {
            "Id": c_id(ids["OpportunityLineItem"], np.arange(LI["n"])),
            "OpportunityId": c_id(ids["Opportunity"], LI["opp"]),
            "PricebookEntryId": c_id(ids["PricebookEntry"], LI["pbe"]),
            "Product2Id": c_id(ids["Product2"], LI["product"]),
            "Quantity": c_int(LI["qty"]), "UnitPrice": c_num(LI["unit"]), "TotalPrice": c_num(LI["total"]),
            "ServiceDate": c_date(np.where(rng.random(LI["n"]) < 0.5, O["close_day"][LI["opp"]], NA)),
            "CurrencyIsoCode": c_cat(LI["currency"], CURRENCIES),
            "CreatedDate": c_dt(li_ts), "LastModifiedDate": c_dt(li_ts), "SystemModstamp": c_dt(li_ts),
            "IsDeleted": c_bool(O["deleted"][LI["opp"]]),
        })
        # contracts
        K = self.K
        nk = K["n"]
        if nk:
            start, term = K["start"], K["term"]
            end = _add_months(start, term) - 1
            recent = K["close_ts"] > clk.end_ts - 12 * DAY
            status = np.where(recent & (rng.random(nk) < 0.5), np.where(rng.random(nk) < 0.5, 0, 1), 2)
            created = K["close_ts"] + rng.integers(600, DAY, nk)
            created = np.minimum(created, clk.end_ts - 120)
            activated = np.where(status == 2, np.minimum(np.maximum(created + rng.integers(3600, 3 * DAY, nk),
                                                                     created), clk.end_ts - 60), NA)
            lastmod = np.where(status == 2, activated, created)
            acc, owner, cur = K["account"], K["owner"], A["currency"][K["account"]]
        else:
            start = term = end = status = created = activated = lastmod = acc = owner = cur = np.zeros(0, np.int64)
        self.add("Contract", nk, {
            "Id": c_id(ids["Contract"], np.arange(nk)), "AccountId": c_id(ids["Account"], acc),
            "ContractNumber": c_str([f"{100 + i:08d}" for i in range(nk)]) if nk < 2_000_000 else
            c_concat("0", c_int(np.arange(nk) + 10_000_000)),
            "Status": c_cat(status, ["Draft", "In Approval Process", "Activated"]),
            "StatusCode": c_cat(status, ["Draft", "InApproval", "Activated"]),
            "StartDate": c_date(start), "EndDate": c_date(end), "ContractTerm": c_int(term),
            "OwnerId": c_id(ids["User"], owner), "ActivatedDate": c_dt(activated),
            "CurrencyIsoCode": c_cat(cur, CURRENCIES), "CreatedDate": c_dt(created),
            "LastModifiedDate": c_dt(lastmod), "SystemModstamp": c_dt(lastmod),
            "IsDeleted": c_bool(np.zeros(nk, bool)),
        })
        # tasks
        T = self.T
        nt = T["n"]
        lead_ids = ids["Lead"]
        contact_ids = ids["Contact"]

        def who(idx, is_lead):
            def r(sl):
                a, lmask = idx[sl], is_lead[sl]
                s_lead = lead_ids.format(np.where(lmask, a, -1))
                s_con = contact_ids.format(np.where(lmask, -1, a))
                return pl.DataFrame({"l": s_lead, "c": s_con}).select(pl.coalesce("l", "c")).to_series()
            return r

        subjects = [s for k in range(3) for s in TASK_SUBJECTS[k]]
        t_desc = T["desc"]
        if self.latin1 and nt:
            rows = np.flatnonzero(t_desc >= 0)[:4]
            rows = rows if len(rows) >= 2 else np.arange(min(2, nt))
            t_desc = t_desc.copy()
            t_desc[rows] = len(DESCRIPTIONS) + np.arange(len(rows)) % len(LATIN1_DESCRIPTIONS)
        completed = np.where(T["open"], NA, T["t"])
        self.add("Task", nt, {
            "Id": c_id(ids["Task"], np.arange(nt)), "WhoId": who(T["who"], T["who_is_lead"]),
            "WhatId": c_id(ids["Opportunity"], T["what"]), "AccountId": c_id(ids["Account"], T["account"]),
            "Subject": c_cat(T["subj"], subjects), "ActivityDate": c_date(T["due"]),
            "Status": c_cat(T["status"], ["Completed", "Not Started", "In Progress", "Waiting on someone else"]),
            "Priority": c_cat(T["prio"], ["Normal", "High", "Low"]), "IsClosed": c_bool(~T["open"]),
            "OwnerId": c_id(ids["User"], T["owner"]), "Type": c_cat(T["type"], ["Call", "Email", "Meeting", "Other"]),
            "TaskSubtype": c_cat(T["sub"], ["Call", "Email", "Task"]),
            "CallType": c_cat(T["calltype"], ["Outbound", "Inbound"]), "CallDurationInSeconds": c_int(T["calldur"]),
            "CallDisposition": c_cat(T["disp"], ["Connected", "Left voicemail", "No answer"]),
            "CompletedDateTime": c_dt(completed), "Description": c_cat(t_desc, DESCRIPTIONS + LATIN1_DESCRIPTIONS),
            "CreatedDate": c_dt(T["created"]), "LastModifiedDate": c_dt(T["lastmod"]),
            "SystemModstamp": c_dt(T["lastmod"]), "IsDeleted": c_bool(T["deleted"]),
        })
        E = self.E
        ne = E["n"]
        end_dt = E["start"] + E["dur"] * 60
        self.add("Event", ne, {
            "Id": c_id(ids["Event"], np.arange(ne)), "WhoId": who(E["who"], E["who_is_lead"]),
            "WhatId": c_id(ids["Opportunity"], E["what"]), "AccountId": c_id(ids["Account"], E["account"]),
            "Subject": c_cat(E["subj"], EVENT_SUBJECTS), "Location": c_cat(E["loc"], EVENT_LOCATIONS),
            "ActivityDateTime": c_dt(E["start"]), "ActivityDate": c_date(E["start"] // DAY),
            "StartDateTime": c_dt(E["start"]), "EndDateTime": c_dt(end_dt),
            "DurationInMinutes": c_int(E["dur"]), "IsAllDayEvent": c_bool(E["allday"]),
            "Type": c_cat(E["type"], ["Meeting"]), "EventSubtype": c_const("Event"),
            "OwnerId": c_id(ids["User"], E["owner"]), "CreatedDate": c_dt(E["created"]),
            "LastModifiedDate": c_dt(E["created"]), "SystemModstamp": c_dt(E["created"]),
            "IsDeleted": c_bool(E["deleted"]),
        })

    def _emit_reference(self):
        clk, ids, P, rng = self.clk, self.ids, self.P, self.rng
        setup = (clk.start_day - 500) * DAY + 10 * 3600
        stages = STAGES[self.locale]
        ns = len(stages)
        st = np.full(ns, setup)
        self.add("OpportunityStage", ns, {
            "Id": c_id(ids["OpportunityStage"], np.arange(ns)), "MasterLabel": c_str(stages),
            "ApiName": c_str(stages), "IsActive": c_bool(np.ones(ns, bool)), "SortOrder": c_int(np.arange(1, ns + 1)),
            "IsClosed": c_bool(np.arange(ns) >= WON), "IsWon": c_bool(np.arange(ns) == WON),
            "ForecastCategory": c_str(STAGE_FC), "ForecastCategoryName": c_str(STAGE_FC_NAME),
            "DefaultProbability": c_int(STAGE_PROB), "Description": c_const(""),
            "CreatedDate": c_dt(st), "LastModifiedDate": c_dt(st), "SystemModstamp": c_dt(st),
        })
        npd = P["n"]
        pt = np.full(npd, setup + 3600)
        descs = [f"{nm} ({fam.lower()})" for nm, fam in zip(P["name"], P["family"])]
        descs[0] = "Cloud CRM, per seat.\nIncludes \"Standard\" support."
        self.add("Product2", npd, {
            "Id": c_id(ids["Product2"], np.arange(npd)), "Name": c_str(P["name"]),
            "ProductCode": c_str([f"VS-{1000 + i}" for i in range(npd)]), "Family": c_str(P["family"]),
            "IsActive": c_bool(np.arange(npd) != npd - 1), "Description": c_str(descs),
            "CreatedDate": c_dt(pt), "LastModifiedDate": c_dt(pt), "SystemModstamp": c_dt(pt),
            "IsDeleted": c_bool(np.zeros(npd, bool)),
        })
        nc = len(CURRENCIES)
        prod = np.repeat(np.arange(npd), nc)
        cur = np.tile(np.arange(nc), npd)
        rates = np.array([CURRENCY_RATE[c] for c in CURRENCIES])
        self.add("PricebookEntry", npd * nc, {
            "Id": c_id(ids["PricebookEntry"], np.arange(npd * nc)), "Pricebook2Id": c_const(ids["Pricebook2"].one(0)),
            "Product2Id": c_id(ids["Product2"], prod), "UnitPrice": c_num(np.round(P["price"][prod] * rates[cur], 2)),
            "IsActive": c_bool(np.ones(npd * nc, bool)), "CurrencyIsoCode": c_cat(cur, CURRENCIES),
            "CreatedDate": c_dt(np.full(npd * nc, setup + 7200)), "SystemModstamp": c_dt(np.full(npd * nc, setup + 7200)),
            "IsDeleted": c_bool(np.zeros(npd * nc, bool)),
        })
        ct = np.full(nc, setup)
        self.add("CurrencyType", nc, {
            "Id": c_id(ids["CurrencyType"], np.arange(nc)), "IsoCode": c_str(CURRENCIES),
            "ConversionRate": c_num(rates, 6), "DecimalPlaces": c_const("2"), "IsActive": c_bool(np.ones(nc, bool)),
            "IsCorporate": c_bool(np.arange(nc) == 0), "CreatedDate": c_dt(ct), "LastModifiedDate": c_dt(ct),
            "SystemModstamp": c_dt(ct),
        })
        # dated rates: quarterly for each non-corporate currency, open-ended before and after
        qs = []
        d = _quarter_start(np.array([clk.start_day]))[0]
        while d <= clk.as_of_day:
            qs.append(d)
            d = _add_months(np.array([d]), np.array([3]))[0]
        qs = np.array(qs)
        rows_cur, rows_start, rows_next, rows_rate = [], [], [], []
        for ci in range(1, nc):
            walk = rates[ci] * np.exp(np.cumsum(rng.normal(0, 0.025, len(qs))))
            starts = np.concatenate([[NA], qs])
            nexts = np.concatenate([qs, [NA]])
            rr = np.concatenate([[rates[ci]], np.round(walk, 4)])
            rows_cur += [ci] * len(starts)
            rows_start.append(starts)
            rows_next.append(nexts)
            rows_rate.append(rr)
        nd = len(rows_cur)
        s_all, n_all = np.concatenate(rows_start), np.concatenate(rows_next)
        created = np.where(s_all == NA, setup, np.maximum(s_all * DAY - 3 * DAY, setup) + 9 * 3600)

        def dated(a, fill):
            r = c_date(np.where(a == NA, clk.start_day, a))

            def f(sl):
                s = r(sl)
                return pl.DataFrame({"s": s, "m": a[sl] == NA}).select(
                    pl.when(pl.col("m")).then(pl.lit(fill)).otherwise(pl.col("s"))).to_series()
            return f

        self.add("DatedConversionRate", nd, {
            "Id": c_id(ids["DatedConversionRate"], np.arange(nd)), "IsoCode": c_cat(np.array(rows_cur), CURRENCIES),
            "StartDate": dated(s_all, "0001-01-01 00:00:00"), "NextStartDate": dated(n_all, "9999-12-31 00:00:00"),
            "ConversionRate": c_num(np.concatenate(rows_rate), 6), "CreatedDate": c_dt(created),
            "LastModifiedDate": c_dt(created), "SystemModstamp": c_dt(created),
        })

    def _emit_quotas_and_targets(self):
        rng, clk, ids, U, O, L = self.rng, self.clk, self.ids, self.U, self.O, self.L
        qs = []
        d = _quarter_start(np.array([clk.start_day]))[0]
        while d <= _add_months(np.array([clk.as_of_day]), np.array([3]))[0]:
            qs.append(d)
            d = _add_months(np.array([d]), np.array([3]))[0]
        qs = np.array(qs)
        qe = _add_months(qs, np.full(len(qs), 3)) - 1
        reps = U.rep
        R, Q = np.meshgrid(np.arange(len(reps)), np.arange(len(qs)), indexing="ij")
        R, Q = R.ravel(), Q.ravel()
        emp = (U.hire_day[reps][R] <= qe[Q]) & ((U.term_day[reps][R] == NA) | (U.term_day[reps][R] > qs[Q]))
        R, Q = R[emp], Q[emp]
        rates = np.array([CURRENCY_RATE[c] for c in CURRENCIES])
        won_usd = np.nansum(O["amount"][O["won"]] / rates[O["currency"][O["won"]]])
        per_rep_q = won_usd / max(1, len(R))
        ramp = np.clip((qs[Q] - U.hire_day[reps][R]) / 180, 0.4, 1.0)
        usd = np.round(per_rep_q * 1.15 * ramp * np.exp(rng.normal(0, 0.1, len(R))), -3)
        cur = np.where(U.region[reps][R] == 1, 1, 0)
        amount = np.round(usd * rates[cur], -3)
        created = np.maximum(qs[Q] - 20, clk.start_day - 20) * DAY + 10 * 3600
        created = np.minimum(created, clk.end_ts - 3600)
        nq = len(R)
        self.add("ForecastingQuota", nq, {
            "Id": c_id(ids["ForecastingQuota"], np.arange(nq)), "QuotaOwnerId": c_id(ids["User"], reps[R]),
            "QuotaAmount": c_num(amount), "QuotaQuantity": c_const(""), "StartDate": c_date(qs[Q]),
            "PeriodId": c_id(ids["Period"], Q), "ForecastingTypeId": c_const(ids["ForecastingType"].one(0)),
            "IsAmount": c_const("1"), "IsQuantity": c_const("0"), "CurrencyIsoCode": c_cat(cur, CURRENCIES),
            "CreatedDate": c_dt(created), "LastModifiedDate": c_dt(created), "SystemModstamp": c_dt(created),
        })
        # KPI targets: company scope per year / quarter, a few team and rep rows
        years = list(range(clk.start.year, clk.as_of.year + 1))
        leads_per_q = L["n"] / max(1, len(qs) - 1)
        won_n = O["won"].sum()
        rows = []
        for y in years:
            rows += [("annual_contract_value", str(y), "company", "", round(won_usd / max(1, won_n) * 1.1, -2)),
                     ("customer_lifetime_value", str(y), "company", "", round(won_usd / max(1, won_n) * 3.5, -2)),
                     ("lead_age", str(y), "company", "", 45),
                     ("employee_retention", str(y), "company", "", 85),
                     ("ramp_time", str(y), "company", "", 30),
                     ("customer_retention", str(y), "company", "", 80)]
            for q in range(1, 5):
                rows += [("new_leads", f"{y}-Q{q}", "company", "", round(leads_per_q * 1.1)),
                         ("conversion_rate", f"{y}-Q{q}", "company", "", 150),
                         ("referrals", f"{y}-Q{q}", "company", "", round(leads_per_q * 0.2))]
        active = [r for r in U.rep if U.active_at_end[r]][:4]
        per_rep = max(1, round(leads_per_q / max(1, len(U.rep) * 0.6)))
        for r in active:
            rid = ids["User"].one(r)
            rows += [("new_leads", f"{clk.as_of.year}-Q{q}", "rep", rid, per_rep) for q in (1, 2)]
            rows.append(("referrals", f"{clk.as_of.year}-Q2", "rep", rid, max(1, per_rep // 5)))
        for mgr in U.mgr[:2]:
            rows.append(("new_leads", f"{clk.as_of.year}-Q2", "team", ids["User"].one(mgr), per_rep * 7))
        df = pl.DataFrame(rows, schema=["kpi", "period", "scope", "scope_id", "target_value"], orient="row")
        self.add("KpiTarget", len(rows), {
            c: c_str(df[c].cast(pl.String).str.replace(r"\.0$", "").replace("", None)) for c in df.columns
        }, quote="necessary")
