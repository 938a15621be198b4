"""Data contracts: the one place that knows the shape of each export object."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "data_contracts"

# contract type -> DuckDB type used by staging casts
DUCKDB_TYPES = {
    "id": "varchar",
    "string": "varchar",
    "text": "varchar",
    "picklist": "varchar",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamp",
    "integer": "bigint",
    "number": "double",
    "currency": "double",
    "percent": "double",
}


def snake_case(name: str) -> str:
    """`StageSortOrder` -> `stage_sort_order`, `Hire_Date__c` -> `hire_date`."""
    name = re.sub(r"__c$", "", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"_+", "_", name).lower()


@dataclass(frozen=True)
class Check:
    rule: str
    severity: str = "error"
    description: str = ""
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False
    description: str = ""
    pii: bool = False
    references: str | None = None
    checks: tuple[Check, ...] = ()

    @property
    def column(self) -> str:
        return snake_case(self.name)

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class RowCheck:
    name: str
    condition: str
    severity: str = "error"
    description: str = ""
    block_above_percent: float | None = None


@dataclass(frozen=True)
class Contract:
    object: str
    files: tuple[str, ...]
    required: bool
    description: str
    primary_key: str | None
    version_column: str | None
    owner: str
    fields: tuple[Field, ...]
    checks: tuple[RowCheck, ...] = ()

    @property
    def table(self) -> str:
        """Name of the object's table in `raw` and (prefixed `stg_`) in `staging`."""
        return snake_case(self.object)

    @property
    def required_fields(self) -> list[Field]:
        return [f for f in self.fields if f.required]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name.lower() == name.lower()), None)


def _check(raw: dict) -> Check:
    raw = dict(raw)
    return Check(
        rule=raw.pop("rule"),
        severity=raw.pop("severity", "error"),
        description=raw.pop("description", ""),
        args=raw,
    )


def parse_contract(doc: dict) -> Contract:
    fields = tuple(
        Field(
            name=f["name"],
            type=f["type"],
            required=bool(f.get("required", False)),
            description=f.get("description", ""),
            pii=bool(f.get("pii", False)),
            references=f.get("references"),
            checks=tuple(_check(c) for c in f.get("checks") or ()),
        )
        for f in doc["fields"]
    )
    unknown = {f.type for f in fields} - DUCKDB_TYPES.keys()
    if unknown:
        raise ValueError(f"contract {doc['object']}: unknown field types {sorted(unknown)}")
    return Contract(
        object=doc["object"],
        files=tuple(doc.get("files") or [f"{doc['object']}.csv"]),
        required=bool(doc.get("required", False)),
        description=doc.get("description", "").strip(),
        primary_key=doc.get("primary_key"),
        version_column=doc.get("version_column"),
        owner=doc.get("owner", "sales-ops"),
        fields=fields,
        checks=tuple(RowCheck(**c) for c in doc.get("checks") or ()),
    )


@cache
def load_contracts(directory: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    """All contracts by object name, in file-name order."""
    contracts = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        contract = parse_contract(yaml.safe_load(path.read_text(encoding="utf-8")))
        contracts[contract.object] = contract
    return contracts
