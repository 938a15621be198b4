"""Resources besides the warehouse: where the export is, and the KPI settings of a run."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from pipeline import settings


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    return [v.strip().lower() for v in value.split(",") if v.strip()] if value else default


class ExportSource(dg.ConfigurableResource):
    """The Salesforce export to load: a folder or .zip (SF_EXPORT_PATH) and its
    encoding (SF_EXPORT_ENCODING: auto | utf-8 | latin-1)."""

    path: str | None = Field(default=None, description="default: $SF_EXPORT_PATH, else exports/demo")
    encoding: str = Field(default_factory=lambda: os.environ.get("SF_EXPORT_ENCODING", "auto"))
    date_order: str = Field(
        default_factory=lambda: os.environ.get("SF_DATE_ORDER", "mdy").lower(),
        description="mdy | dmy: how to read slashed dates (Excel re-saves) when no day above 12 decides it.",
    )
    full_snapshot: bool = Field(
        default_factory=lambda: os.environ.get("SF_EXPORT_FULL_SNAPSHOT", "true").lower() not in ("0", "false", "no"),
        description="Each object file holds every record (the Data Export does): a record it lacks was deleted. "
        "false for exports filtered to some records.",
    )

    @property
    def location(self) -> str:
        return self.path or settings.export_path()


class KpiSettings(dg.ConfigurableResource):
    """How KPIs are computed where the spec leaves a choice (environment variables
    KPI_<NAME>, or run config). Written to raw.run_settings for the SQL models."""

    as_of_date: str | None = Field(
        default_factory=lambda: os.environ.get("KPI_AS_OF_DATE") or None,
        description="YYYY-MM-DD; default: the newest modification date in the export (never the wall clock).",
    )
    fiscal_year_start_month: int = Field(default_factory=lambda: int(os.environ.get("KPI_FISCAL_YEAR_START_MONTH", "1")))
    corporate_currency: str | None = Field(
        default_factory=lambda: os.environ.get("KPI_CORPORATE_CURRENCY") or None,
        description="Reporting currency; default: CurrencyType's corporate currency, else USD.",
    )
    referral_sources: list[str] = Field(
        default_factory=lambda: _env_list("KPI_REFERRAL_SOURCES", ["%referral%", "word of mouth"]),
        description="Lowercase LIKE patterns of LeadSource values that count as referrals.",
    )
    closed_lead_statuses: list[str] = Field(
        default_factory=lambda: _env_list(
            "KPI_CLOSED_LEAD_STATUSES", ["%closed%", "%unqualified%", "%disqualified%", "%converted%"]
        ),
        description="Lowercase LIKE patterns of Lead.Status values that end a lead's time in the pipeline.",
    )
    call_subject_patterns: list[str] = Field(
        default_factory=lambda: _env_list("KPI_CALL_SUBJECT_PATTERNS", ["call%"]),
        description="Lowercase LIKE patterns of Task subjects that make a task a call when TaskSubtype, Type, "
        "the call fields and EmailMessageId say nothing.",
    )
    email_subject_patterns: list[str] = Field(
        default_factory=lambda: _env_list("KPI_EMAIL_SUBJECT_PATTERNS", ["email%", "e-mail%"]),
        description="Lowercase LIKE patterns of Task subjects that make a task an email (after the call patterns).",
    )
    customer_window_days: int = Field(default_factory=lambda: int(os.environ.get("KPI_CUSTOMER_WINDOW_DAYS", "365")))
    team_source: str = Field(default_factory=lambda: os.environ.get("KPI_TEAM_SOURCE", "manager"),
                                description="manager (User.ManagerId, falling back to the role) or role.")
    referral_credit: str = Field(default_factory=lambda: os.environ.get("KPI_REFERRAL_CREDIT", "referring_account"),
                                    description="referring_account (owner of Referring_Account__c) or owner.")
    on_track_attainment: float = Field(default_factory=lambda: float(os.environ.get("KPI_ON_TRACK_ATTAINMENT", "1.0")))
    at_risk_attainment: float = Field(default_factory=lambda: float(os.environ.get("KPI_AT_RISK_ATTAINMENT", "0.9")))
