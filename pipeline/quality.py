"""Data-quality rules compiled to SQL: one "bad rows" query per rule.

The rules come from two places:

* the data contracts (`data_contracts/*.yaml`): every field's `checks` and every
  contract's row `checks`. They are row-level: each bad row is one record of one
  object, so they feed the quarantine (`audit.quarantine`) as well as the asset
  checks;
* `CROSS_TABLE_RULES` / `kpi_output_rules()` below: rules that guard the KPIs and
  belong to no single contract (hire dates vs activities, stage dimension,
  currency rates, the KPI tables' grain and bounds). They are checks on core and
  kpi assets only; they are not quarantined (the core facts read the quarantine, so
  a rule computed from core cannot feed it without a cycle).

Every rule compiles to ONE SELECT, the single source of truth for that rule. A
run evaluates it once (`find_failures`): its bad rows go to `audit.rule_failures`,
which the asset check validates through Great Expectations and the quarantine
asset copies, so a check's failing count always equals its quarantine rows. A query
names the checked table `{batch}` (`bind()` replaces it) and returns these columns:

    record_id    the record's id (the Salesforce Id; for plain files the staging key,
                 see RECORD_KEYS; "<file> row N" for a raw row without an Id)
    detail       what is wrong with this row, with the offending value
    _export_id   the export the row came from
    _loaded_at   when that row was loaded into raw
    _row_number  the row in the file (raw rules; NULL for staging rules)

Where each contract rule is evaluated (decided here, once):

* `parses`: against raw, each record's current rows (`current_rows`: the rows of the
  latest load that carried the record; raw keeps a version once): the raw text is
  non-empty but the typed value (the same sf_* macro staging uses for the field's
  type) is NULL. Rows marked deleted are ignored except by the IsDeleted rule
  itself. Attached to `raw/<table>`.
* `unique` (any field) and `not_null` on the primary key: against raw, the current
  rows: staging already keeps one row per Id and drops rows without one, so only raw
  can say "the same Id appears twice in one export". Attached to `raw/<table>`.
* everything else (`not_null`, `in_set`, `between`, `references`, row `checks`):
  against `staging.stg_<table>` (typed, latest version per record, deleted rows
  dropped). Attached to `staging/stg_<table>`.

Rule semantics:

* `in_set`/`between` ignore NULLs (a missing value is `not_null`'s business);
  `between` takes `min` and/or `max`, both inclusive.
* `references {object, field}`: a non-NULL value must be the Id (or `field`, or any
  of a list of fields, compared trimmed and case-insensitively) of a row of the
  referenced object (read from raw: every loaded export, rows not marked deleted;
  reading staging would make this check wait for the referenced table's own blocking
  checks). Ids are compared as the core joins compare them: exactly, after `sf_id`
  has given both sides their 18-character form (a 15-character id resolves). When the
  referenced object has no rows in the export at all the rule is skipped (the query
  returns nothing; `skip_notes()` says why): an export without User.csv cannot have
  orphan owners, it has no users, which the KPIs report on their own.
* row `checks`: a row is bad when its condition is FALSE; a condition that
  evaluates to NULL (unknown) does not fail (the contracts write their conditions
  NULL-safe). `{as_of_date}` is the run's as-of date computed exactly as
  `core.dim_run` does (settings override, else the newest SystemModstamp /
  LastModifiedDate / CreatedDate of the Salesforce objects, see `as_of_date_sql`).
  It is computed rather than read from `core.dim_run` because staging checks and the
  quarantine run before core is rebuilt; the core table in the work copy would be
  the previous run's. Rules on core tables read `core.dim_run`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import duckdb

from pipeline.contracts import Check, Contract, Field, load_contracts, snake_case

# --- the compiled rule -------------------------------------------------------------------

BAD_ROW_COLUMNS = ("record_id", "detail", "_export_id", "_loaded_at", "_row_number")

# sf_* macro that staging applies to each contract type (pipeline/warehouse.py MACROS)
PARSERS = {
    "boolean": "sf_bool",
    "date": "sf_date",
    "datetime": "sf_timestamp",
    "integer": "sf_integer",
    "number": "sf_number",
    "currency": "sf_number",
    "percent": "sf_number",
}
TYPE_WORDS = {
    "boolean": "yes/no value (0/1, true/false)",
    "date": "date (YYYY-MM-DD)",
    "datetime": "date and time (YYYY-MM-DD HH:MM:SS or ISO 8601)",
    "integer": "whole number",
    "number": "number",
    "currency": "number",
    "percent": "number",
}

# Contracts without a primary key (plain files): how staging identifies a record, on
# the staging table and on raw; must match the staging model's de-duplication key.
RECORD_KEYS = {
    "HrEmployee": (
        "coalesce(user_id, lower(trim(email)), trim(employee_id), trim(name))",
        """coalesce(sf_id("user_id"), lower(trim(sf_text("email"))), trim(sf_text("employee_id")), trim(sf_text("name")))""",
    ),
    "KpiTarget": (
        "concat_ws('|', kpi, period, scope, scope_id)",
        """concat_ws('|', lower(trim(sf_text("kpi"))), upper(trim(sf_text("period"))), lower(trim(sf_text("scope"))), sf_id("scope_id"))""",
    ),
}

SEVERITIES = ("error", "warn")
# A row rule of severity error quarantines the rows it fails and stops the run only when they are more
# than this share of the object's records (contract: `block_above_percent`, per rule). A whole column
# failing is a format the pipeline cannot read, not bad records; a few bad rows are bad records.
DEFAULT_BLOCK_ABOVE_PERCENT = 5.0


@dataclass(frozen=True)
class Rule:
    """One rule, compiled. `sql` selects the bad rows (BAD_ROW_COLUMNS) of `{batch}`."""

    name: str                  # check name, unique per asset: "amount_between", "won_implies_closed"
    object: str                # contract object ("Opportunity") or the core/kpi table for other rules
    schema: str                # where the checked table lives: raw | staging | core | kpi
    table: str                 # the checked table ({batch}): stg_opportunity, opportunity, dim_rep...
    severity: str              # error | warn
    description: str           # what is wrong and what to fix in the CRM
    sql: str                   # the bad-rows query
    summary: str               # the rule in one line: "Opportunity.Amount between min 0"
    reads: frozenset[tuple[str, str]] = frozenset()  # other tables the query reads (check deps)
    row_level: bool = True     # quarantined (contract rules) or check-only
    reference: tuple[str, str] | None = None  # (object, staging table) a references rule needs rows in
    skip_if_rows_in: tuple[str, str] | None = None  # (object, raw table) whose rows make the rule moot
    needs_batch_rows: bool = True  # no bad rows possible when {batch} is empty
    record_key: str | None = None  # rules judging each record on its own rows: the key (re-run per changed record)
    fields: tuple[str, ...] = ()   # the contract fields it reads: skipped when the object's latest file lacks one
    block_above_percent: float = 0.0  # a row rule of severity error stops the run only when more records fail

    @property
    def asset(self) -> tuple[str, str]:
        return (self.schema, self.table)

    @property
    def batch(self) -> str:
        return f"{self.schema}.{self.table}"

    def bound_sql(self) -> str:
        """The query runnable in plain DuckDB ({batch} replaced by the table)."""
        return bind(self.sql, self.batch)


def bind(sql: str, table: str) -> str:
    """Replace GX's `{batch}` placeholder (and un-double `{{ }}` braces, as GX does)."""
    return sql.replace("{batch}", table).replace("{{", "{").replace("}}", "}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _braces(sql: str) -> str:
    """Protect literal braces from GX's str.format substitution."""
    return sql.replace("{", "{{").replace("}", "}}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- per contract ------------------------------------------------------------------------


def staging_table(contract: Contract) -> str:
    return f"stg_{contract.table}"


def staging_column(contract: Contract, f: Field) -> str:
    """Column of the field in staging: snake_case, the primary key as <table>_id."""
    if contract.primary_key and f.name == contract.primary_key:
        return f"{contract.table}_id"
    return snake_case(f.name)


def staging_key(contract: Contract) -> str:
    if contract.primary_key:
        return f"{contract.table}_id"
    if contract.object not in RECORD_KEYS:
        raise ValueError(f"contract {contract.object} has no primary key and no RECORD_KEYS entry in pipeline/quality.py")
    return RECORD_KEYS[contract.object][0]


def raw_key(contract: Contract) -> str:
    if contract.primary_key:
        return f"sf_id({_q(contract.primary_key)})"
    return RECORD_KEYS[contract.object][1]


def _staging_record_key(contract: Contract) -> str | None:
    """A staging rule reads one row per record (plus other tables): for an object with an Id,
    the record's verdict changes only with its own new versions, or with what else is read."""
    return staging_key(contract) if contract.primary_key else None


def _raw_record_id(contract: Contract) -> str:
    return f"coalesce({raw_key(contract)}, _source_file || ' row ' || _row_number)"


def current_rows(contract: Contract) -> str:
    """The raw rows a raw rule judges: each record's rows from the latest load that
    carried it. Raw keeps a version once (pipeline/extract.py), so a record unchanged
    since an earlier export is judged on the rows that load added; rows without a key
    only from the latest load. Plain files (no primary key) are appended whole, so
    theirs is simply the latest load."""
    latest = "max(_loaded_at) over ()"
    if contract.primary_key:
        key = raw_key(contract)
        latest = f"case when {key} is null then {latest} else max(_loaded_at) over (partition by {key}) end"
    return f"(select * from {{batch}} qualify _loaded_at = {latest})"


def _not_deleted(contract: Contract) -> str:
    return """not sf_deleted("IsDeleted", _connector_deleted)""" if contract.field("IsDeleted") is not None else "true"


def _raw_select(contract: Contract, detail: str, where: str, source: str | None = None) -> str:
    return (
        f"select {_raw_record_id(contract)} as record_id, {detail} as detail, _export_id, _loaded_at, _row_number\n"
        f"from {source or current_rows(contract)} as t\nwhere {where}"
    )


def _staging_select(contract: Contract, detail: str, where: str) -> str:
    return (
        f"select cast({staging_key(contract)} as varchar) as record_id, {detail} as detail, _export_id, _loaded_at,"
        f" cast(null as bigint) as _row_number\nfrom (select * from {{batch}}) as t\nwhere {where}"
    )


def _field_rule(contract: Contract, f: Field, check: Check) -> Rule:
    column = staging_column(contract, f)
    label = f"{contract.object}.{f.name}"
    name = check.args.get("name") or f"{snake_case(f.name) if f.name != contract.primary_key else 'id'}_{check.rule}"
    base = dict(name=name, object=contract.object, severity=check.severity,
                description=_one_line(check.description) or f"{label}: {check.rule}", fields=(f.name,),
                block_above_percent=float(check.args.get("block_above_percent", DEFAULT_BLOCK_ABOVE_PERCENT)))
    if check.severity not in SEVERITIES:
        raise ValueError(f"{label}: severity {check.severity!r} is not one of {SEVERITIES}")
    raw = dict(schema="raw", table=contract.table)
    stg = dict(schema="staging", table=staging_table(contract), record_key=_staging_record_key(contract))
    value = f"cast(t.{column} as varchar)"

    if check.rule == "parses":
        if f.type not in PARSERS:
            raise ValueError(f"{label}: rule parses needs a typed field, {f.name} is {f.type}")
        text = _q(f.name)
        typed = f"{PARSERS[f.type]}({text}, _date_order)" if f.type in ("date", "datetime") else f"{PARSERS[f.type]}({text})"
        where = f"nullif(trim({text}), '') is not null and {typed} is null"
        if f.name != "IsDeleted":
            where += f" and {_not_deleted(contract)}"
        detail = f"{_s(f.name + ' = ')} || '''' || left({text}, 60) || '''' || {_s(' is not a valid ' + TYPE_WORDS[f.type])}"
        return Rule(**base, **raw, sql=_raw_select(contract, detail, where),
                    summary=f"{label} parses as a {TYPE_WORDS[f.type]} (latest export)",
                    record_key=raw_key(contract) if contract.primary_key else None)

    if check.rule == "unique":
        key = raw_key(contract) if f.name == contract.primary_key else (
            f"sf_id({_q(f.name)})" if f.type == "id" else f"nullif(trim({_q(f.name)}), '')")
        counted = f"(select *, count(*) over (partition by {key}) as _copies from {current_rows(contract)})"
        where = f"{key} is not null and _copies > 1"
        if f.name == contract.primary_key:  # extract marks the rows of an Id the file holds twice (see its note)
            where = f"{key} is not null and (_copies > 1 or coalesce(_duplicate_id, false))"
        detail = (f"{_s(f.name + ' ')} || {key} || {_s(' appears more than once in export ')} || _export_id"
                  f" || ' (row ' || _row_number || ')'")
        return Rule(**base, **raw, sql=_raw_select(contract, detail, where, counted),
                    summary=f"{label} unique within one export",
                    record_key=key if f.name == contract.primary_key else None)

    if check.rule == "not_null" and f.name == contract.primary_key:
        where = f"{raw_key(contract)} is null"
        detail = f"{_s(f.name + ' is empty in ')} || _source_file || ' row ' || _row_number"
        return Rule(**base, **raw, sql=_raw_select(contract, detail, where),
                    summary=f"{label} present (latest export)", record_key=raw_key(contract))

    if check.rule == "not_null":
        return Rule(**base, **stg, sql=_staging_select(contract, _s(f"{f.name} is empty"), f"t.{column} is null"),
                    summary=f"{label} not empty")

    if check.rule == "in_set":
        values = check.args.get("values") or []
        listed = ", ".join(_s(v) for v in values)
        where = f"t.{column} is not null and t.{column} not in ({listed})"
        detail = f"{_s(f.name + ' = ')} || '''' || {value} || '''' || {_s(' is not one of: ' + ', '.join(map(str, values)))}"
        return Rule(**base, **stg, sql=_staging_select(contract, detail, _braces(where)),
                    summary=f"{label} in {{{', '.join(map(str, values))}}}")

    if check.rule == "between":
        low, high = check.args.get("min"), check.args.get("max")
        if low is None and high is None:
            raise ValueError(f"{label}: rule between needs min and/or max")
        bounds = [f"t.{column} < {low}"] if low is not None else []
        bounds += [f"t.{column} > {high}"] if high is not None else []
        where = f"t.{column} is not null and ({' or '.join(bounds)})"
        span = f"{'-inf' if low is None else low}..{'+inf' if high is None else high}"
        detail = f"{_s(f.name + ' = ')} || {value} || {_s(' is outside ' + span)}"
        return Rule(**base, **stg, sql=_staging_select(contract, detail, where),
                    summary=f"{label} between {span}")

    if check.rule == "references":
        target_name = check.args.get("object") or f.references
        contracts = load_contracts()
        if target_name not in contracts:
            raise ValueError(f"{label}: references unknown object {target_name!r}")
        target = contracts[target_name]
        # The referenced side is read from raw (every loaded export, rows not marked
        # deleted), not staging: a check reading stg_B would wait for stg_B's blocking
        # checks, so one object's failing rule would stop other objects' checks.
        # The known values are one uncorrelated list (NULLs left out, so NOT IN is a plain anti-join):
        # a correlated NOT EXISTS made DuckDB copy every checked row first, 4.0 s against 0.4 s for
        # Task.OwnerId at enterprise scale (measured).
        target_table = f"raw.{target.table}"
        alive = """ where not sf_deleted(r."IsDeleted", r._connector_deleted)""" if target.field("IsDeleted") else ""
        fields = check.args.get("field")
        fields = [fields] if isinstance(fields, str) else list(fields or [])
        if fields:
            value_of, keys = f"upper(trim(t.{column}))", [f"upper(trim(r.{_q(n)}))" for n in fields]
            what = f"{target_name} {'/'.join(fields)}"
        else:
            value_of, keys = f"t.{column}", [f"sf_id(r.{_q(target.primary_key)})"]
            what = target_name
        known = " union all ".join(f"select {k} as k from {target_table} as r{alive}" for k in keys)
        where = (f"t.{column} is not null and exists (select 1 from {target_table})"
                 f" and {value_of} not in (select k from ({known}) where k is not null)")
        detail = f"{_s(f.name + ' = ')} || '''' || {value} || '''' || {_s(' matches no ' + what + ' in the export')}"
        return Rule(**base, **stg, sql=_staging_select(contract, detail, where),
                    summary=f"{label} references {what}",
                    reads=frozenset({("raw", target.table)}),
                    reference=(target_name, target_table),
                    skip_if_rows_in=_rows_make_moot(check.args.get("unless_rows_in")))

    raise ValueError(f"{label}: unknown rule {check.rule!r}")


def _rows_make_moot(obj: str | None) -> tuple[str, str] | None:
    """(object, raw table) for a rule's `unless_rows_in`: a rule a better one replaces when that object has rows."""
    if obj is None:
        return None
    contracts = load_contracts()
    if obj not in contracts:
        raise ValueError(f"unless_rows_in names unknown object {obj!r}")
    return obj, f"raw.{contracts[obj].table}"


@cache
def _dated_tables() -> dict[str, tuple[list[str], str]]:
    """Per raw table of a Salesforce object: (its SystemModstamp / LastModifiedDate /
    CreatedDate columns, the filter of the rows that date the export, with a `{since}`
    slot for the rows it reads)."""
    tables = {}
    for contract in load_contracts().values():
        if not contract.primary_key:
            continue  # plain files (HR, targets) do not date the export
        columns = [n for n in ("SystemModstamp", "LastModifiedDate", "CreatedDate") if contract.field(n)]
        if columns:
            deleted = """ and not sf_deleted("IsDeleted", _connector_deleted)""" if contract.field("IsDeleted") else ""
            tables[f"raw.{contract.table}"] = (columns, f"{{since}}{deleted}")
    return tables


@cache
def as_of_date_sql() -> str:
    """The run's as-of date as a scalar subquery, computed like core.dim_run: the
    settings override, else the date of the newest SystemModstamp / LastModifiedDate /
    CreatedDate of the Salesforce objects. Read from raw (non-deleted rows of every
    loaded export), not staging: a staging check reading every staging table would
    wait for every other staging table's blocking checks, which wait for it (a cycle).
    Older versions of a record are older, so the maximum equals dim_run's except when
    the newest version of the newest record is a deletion. `resolve_as_of` replaces
    it by its value before a rule runs."""
    export_max = " union all ".join(
        f"select greatest({', '.join(f'max(sf_timestamp({_q(c)}, _date_order))' for c in columns)}) as ts "
        f"from {table} where {where.format(since='true')}" for table, (columns, where) in _dated_tables().items())
    return (f"(select coalesce((select max(as_of_date) from raw.run_settings), "
            f"cast((select max(ts) from ({export_max})) as date)))")


def resolve_as_of(con, sqls: dict[str, str]) -> dict[str, str]:
    """The same queries with the as-of subquery replaced by its value, computed once:
    the subquery scans every raw table, too costly to repeat per rule."""
    subquery = as_of_date_sql()
    if not any(subquery in sql for sql in sqls.values()):
        return sqls
    override = con.execute("select max(as_of_date) from raw.run_settings").fetchone()[0]
    value = override or _export_max_timestamp(con)
    literal = f"date '{value.strftime('%Y-%m-%d')}'" if value is not None else "cast(null as date)"
    return {name: sql.replace(subquery, literal) for name, sql in sqls.items()}


def _export_max_timestamp(con):
    """The newest timestamp of the export, as a running maximum per raw table kept in
    audit.build_state (row `export_max:raw.<table>`: the maximum, and the `_loaded_at`
    it covers). Raw is append-only, so a table that gained rows only needs its new
    rows read."""
    from pipeline.incremental import set_version, state_of

    newest = None
    for table, (columns, where) in _dated_tables().items():
        key = f"export_max:{table}"
        loaded = con.execute(f"select max(_loaded_at) from {table}").fetchone()[0]
        state = state_of(con, key)
        if state and state[1] is not None and loaded is not None and state[1] >= loaded:
            ts = datetime.fromisoformat(state[0]) if state[0] else None
        else:
            since = ("_loaded_at > ?", [state[1]]) if state and state[1] is not None else ("true", [])
            kept = datetime.fromisoformat(state[0]) if state and state[0] else None
            ts = max(filter(None, (kept, newest_timestamp(con, table, columns, where.format(since=since[0]),
                                                          since[1]))), default=None)
            set_version(con, key, ts.isoformat() if ts else None, watermark=loaded)
        newest = max(filter(None, (newest, ts)), default=None)
    return newest


_ISO_LIKE = "____-__-__%"


def newest_timestamp(con, table: str, columns: list[str], where: str, params: list) -> datetime | None:
    """max(sf_timestamp(c)) over `columns` of the rows of `table` matching `where`,
    parsing few values: parsing all 79M timestamps of the enterprise Task table took
    9 s, this 3.5 s. The greatest text of a column that parses is a lower bound; a
    value newer than it is, as text, at or after the bound's 'YYYY-MM-DD'
    (sf_timestamp's formats all start with the date, %Y takes at most four digits, so
    a shorter year is older; unpadded months and days sort after the padded ones) or
    before that date's first character (a leading blank or zero), so only those are
    parsed."""
    # The bound comes from ISO-ordered texts only ('YYYY-MM-DD...'): the greatest slashed text is not the newest.
    texts = con.execute(f"select {', '.join(f'sf_timestamp(max({_q(c)}) filter (where {_q(c)} like {_s(_ISO_LIKE)}), null)' for c in columns)} "
                        f"from {table} where {where}", params).fetchone()
    bound = max(filter(None, texts), default=None)
    day = bound.strftime("%Y-%m-%d") if bound is not None and bound.year >= 1000 else None
    newer = [f"{_q(c)} >= '{day}' or {_q(c)} < '{day[0]}'" if day else "true" for c in columns]
    newest = con.execute(
        f"select greatest({', '.join(f'max(case when {n} then sf_timestamp({_q(c)}, _date_order) end)' for c, n in zip(columns, newer))}) "
        f"from {table} where {where}", params).fetchone()[0]
    return max(filter(None, (bound, newest)), default=None)


def as_of_reads() -> frozenset[tuple[str, str]]:
    return frozenset({("raw", "run_settings")} | {("raw", c.table) for c in load_contracts().values() if c.primary_key})


def _row_rule(contract: Contract, check) -> Rule:
    if check.severity not in SEVERITIES:
        raise ValueError(f"{contract.object}.{check.name}: severity {check.severity!r} is not one of {SEVERITIES}")
    condition = check.condition
    reads = frozenset()
    if "{as_of_date}" in condition:
        condition = condition.replace("{as_of_date}", "@AS_OF@")
        reads = as_of_reads()
    condition = _braces(condition).replace("@AS_OF@", as_of_date_sql())
    where = f"not coalesce(({condition}), true)"
    detail = _braces(_s(f"fails {check.name}: {_one_line(check.condition)}"))
    mentioned = set(re.findall(r"[a-z_0-9]+", check.condition))
    return Rule(
        name=check.name, object=contract.object, schema="staging", table=staging_table(contract),
        severity=check.severity, description=_one_line(check.description) or check.name,
        sql=_staging_select(contract, detail, where), summary=f"{contract.object}: {_one_line(check.condition)}",
        reads=reads, record_key=_staging_record_key(contract),
        fields=tuple(f.name for f in contract.fields if staging_column(contract, f) in mentioned),
        block_above_percent=float(check.block_above_percent if check.block_above_percent is not None
                                  else DEFAULT_BLOCK_ABOVE_PERCENT),
    )


def contract_rules(contract: Contract) -> list[Rule]:
    rules = [_field_rule(contract, f, c) for f in contract.fields for c in f.checks]
    rules += [_row_rule(contract, c) for c in contract.checks]
    seen: dict[tuple, str] = {}
    for rule in rules:
        key = (rule.asset, rule.name)
        if key in seen:
            raise ValueError(f"contract {contract.object}: two rules named {rule.name!r} on {rule.batch}")
        seen[key] = rule.name
    return rules


@cache
def all_contract_rules() -> tuple[Rule, ...]:
    return tuple(r for c in load_contracts().values() for r in contract_rules(c))


# --- rules that guard the KPIs across tables (checks on core assets) ----------------------

_CORE_SELECT = "cast({id} as varchar) as record_id, {detail} as detail, cast(null as varchar) as _export_id, " \
               "cast(null as timestamp) as _loaded_at, cast(null as bigint) as _row_number"


def _core(id_expr: str, detail: str) -> str:
    return _CORE_SELECT.format(id=id_expr, detail=detail)


CROSS_TABLE_RULES: tuple[Rule, ...] = (
    Rule(
        name="rep_has_hire_date", object="dim_rep", schema="core", table="dim_rep", severity="warn",
        description="A sales rep who owns records has no hire date, so employee retention and ramp time leave "
        "them out (and are empty when no rep has one). Fill in Hire Date on the user record (Hire_Date__c) or add "
        "the rep to the HR file beside the export.",
        summary="every rep (is_rep) has a hire_date",
        sql="select " + _core("user_id", "'rep ' || coalesce(rep_name, user_id) || ' has no hire date'")
        + "\nfrom {batch}\nwhere is_rep and hire_date is null",
        row_level=False,
    ),
    Rule(
        name="first_contact_not_before_hire", object="fct_activity", schema="core", table="fct_activity",
        severity="warn",
        description="A rep's first completed call, email or meeting with a lead or contact is dated before the "
        "rep's hire date, so ramp time for that rep is left out of the average. Correct the hire date (User "
        "Hire_Date__c or the HR file) or the activity's date.",
        summary="first prospect contact of each rep (core.fct_activity) not before hire (core.dim_rep)",
        sql="select " + _core("r.user_id", "'first prospect contact ' || cast(c.first_contact as date) || "
                              "' is before hire date ' || r.hire_date")
        + """
from (select owner_id, min(contact_at) as first_contact from {batch}
      where is_completed and who_type in ('lead', 'contact') and activity_type in ('call', 'email', 'meeting')
      group by owner_id) as c
join core.dim_rep as r on r.user_id = c.owner_id
where r.hire_date is not null and cast(c.first_contact as date) < r.hire_date""",
        reads=frozenset({("core", "dim_rep")}), row_level=False, needs_batch_rows=True,
    ),
    Rule(
        name="stage_names_known", object="dim_stage", schema="core", table="dim_stage", severity="error",
        description="A stage name used by an opportunity or its history is missing from the stage dimension, so "
        "the deal drops out of the stage funnel and the forecast. This points at a pipeline defect or at stage "
        "names that differ only by spaces/case; check Setup > Opportunity Stages and report it to the data team.",
        summary="every StageName of Opportunity and OpportunityHistory is in core.dim_stage",
        sql="select " + _core("o.opportunity_id", "'stage ''' || o.stage_name || ''' is not in core.dim_stage'")
        + """
from (select opportunity_id, stage_name from staging.stg_opportunity
      union all select opportunity_id, stage_name from staging.stg_opportunity_history) as o
where o.stage_name is not null and o.stage_name not in (select stage_name from {batch} where stage_name is not null)""",
        reads=frozenset({("staging", "stg_opportunity"), ("staging", "stg_opportunity_history")}),
        row_level=False, needs_batch_rows=False,
    ),
    Rule(
        name="history_ordered_in_time", object="fct_opportunity_history", schema="core",
        table="fct_opportunity_history", severity="warn",
        description="An opportunity's stage history cannot be put in time order (a history row without a date, "
        "or two rows of the same deal at the same instant in different stages), so stage durations and the "
        "as-of-period-start forecast are uncertain for this deal. Re-run the export; if it persists, check the "
        "deal's Stage History in Salesforce.",
        summary="history rows dated, valid_to >= valid_from, no two stages at one instant",
        sql="select " + _core("opportunity_id", "case when valid_from is null then 'history row without date' "
                              "when valid_to < valid_from then 'history row ends (' || valid_to || ') before it starts (' || valid_from || ')' "
                              "else 'two stages at ' || valid_from end")
        + """
from (select * from {batch}) as h
where valid_from is null or valid_to < valid_from
   or exists (select 1 from (select * from {batch}) as o where o.opportunity_id = h.opportunity_id and o.valid_from = h.valid_from
              and o.stage_name is distinct from h.stage_name)""",
        row_level=False,
    ),
    Rule(
        name="amounts_have_currency_rate", object="fct_opportunity", schema="core", table="fct_opportunity",
        severity="error",
        description="A deal's amount is in a currency with no conversion rate in force on its close date, so it "
        "cannot be converted to the corporate currency (it is never silently taken as 1.0). Add the currency and "
        "its rate in Setup > Manage Currencies (and dated exchange rates if used), or correct the deal's currency.",
        summary="every opportunity with an amount in a non-corporate currency has a rate (skipped for "
        "single-currency exports)",
        sql="select " + _core("opportunity_id", "'amount ' || amount || ' ' || coalesce(currency_iso_code, '?') || "
                              "' has no conversion rate on ' || coalesce(cast(close_date as varchar), 'its close date')")
        + """
from {batch}
where amount is not null and not coalesce(has_currency_rate, false)
  and ((select count(*) from staging.stg_currency_type) > 0
       or currency_iso_code is distinct from (select corporate_currency from core.dim_run))""",
        reads=frozenset({("staging", "stg_currency_type"), ("core", "dim_run")}), row_level=False,
    ),
)

# --- output checks on the KPI tables -------------------------------------------------------

# Columns whose formula bounds them to 0..100 %. conversion_rate.value is NOT bounded
# (won deals / leads in the pipeline exceeds 100 % where deals come without leads);
# retention = (end - new) / start counts a subset of `start` when nobody is counted
# twice, so > 100 % (or < 0) means a counting defect.
PERCENT_BOUNDED = {
    "employee_retention": ("value",),
    "customer_retention": ("value",),
    "conversion_rate": ("lead_conversion_pct", "win_rate_pct"),
}
# KPIs reported per rep (spec: scope rep): every is_rep rep of core.dim_rep has rows.
PER_REP_KPIS = frozenset({"annual_contract_value", "new_leads", "lead_age", "conversion_rate", "referrals",
                          "customer_retention"})


def kpi_output_rules(table: str, columns: set[str] | None = None) -> list[Rule]:
    """Output checks of `kpi.<table>`. `columns` (when known) drops bounds on absent columns."""
    key = "kpi || '|' || period_type || '|' || period_start || '|' || scope || '|' || coalesce(scope_id, '')"
    rules = [Rule(
        name="grain_unique", object=table, schema="kpi", table=table, severity="error",
        description=f"kpi.{table} has more than one row for the same period and scope, so the scorecard and "
        "dashboards would double count. This is a pipeline defect, not a CRM data problem: report it to the data "
        "team (often a rep listed twice in the user or HR data; check for duplicate users).",
        summary="one row per period_type x period_start x scope x scope_id",
        sql="select " + _core(key, "'duplicate ' || period_type || ' ' || period_start || ' ' || scope || ' ' || "
                              "coalesce(scope_id, '(company)')")
        + "\nfrom (select *, count(*) over (partition by period_type, period_start, scope, scope_id) as _rows "
        "from {batch}) as k\nwhere _rows > 1",
        row_level=False,
    )]
    bounded = [c for c in PERCENT_BOUNDED.get(table, ()) if columns is None or c in columns]
    out_of_bounds = ["value < 0"] + [f"({c} < 0 or {c} > 100)" for c in bounded]
    what = "value not negative" + (f"; {', '.join(bounded)} within 0..100 %" if bounded else "")
    rules.append(Rule(
        name="values_within_bounds", object=table, schema="kpi", table=table, severity="error",
        description=f"kpi.{table}: {what}. A value outside the range its formula allows means something was "
        "counted twice or a negative amount got through; report it to the data team. (conversion_rate.value may "
        "exceed 100 % by definition and is not bounded.)",
        summary=what,
        sql="select " + _core(key, "'out of bounds: value ' || coalesce(cast(value as varchar), 'NULL')"
                              + "".join(f" || ', {c} ' || coalesce(cast({c} as varchar), 'NULL')" for c in bounded))
        + f"\nfrom {{batch}}\nwhere {' or '.join(out_of_bounds)}",
        row_level=False,
    ))
    if table in PER_REP_KPIS:
        rules.append(Rule(
            name="every_rep_present", object=table, schema="kpi", table=table, severity="warn",
            description=f"A sales rep of core.dim_rep is missing from kpi.{table} for a period the table reports, "
            "so the rep's row (even if zero) is absent from rep dashboards and the leaderboard. Report it to the "
            "data team.",
            summary="every is_rep rep of core.dim_rep has a rep row in every period of the table",
            sql="select " + _core("r.user_id", "'rep missing for ' || p.period_type || ' ' || p.period_start")
            + """
from (select distinct period_type, period_start from {batch}) as p
cross join (select user_id from core.dim_rep where is_rep and user_id is not null) as r
where not exists (select 1 from (select * from {batch}) as k where k.scope = 'rep' and k.scope_id = r.user_id
                  and k.period_type = p.period_type and k.period_start = p.period_start)""",
            reads=frozenset({("core", "dim_rep")}), row_level=False,
        ))
    return rules


# --- evaluating without GX (quarantine, tests) ---------------------------------------------


def skip_notes(con, rules) -> dict[str, str]:
    """Rules skipped for this data: rules on a column the object's latest file does not have (one finding,
    not a failure per row), and references to an object with no rows in the export."""
    notes, counts = {}, {}
    columns = latest_columns(con)
    for rule in rules:
        source, have = columns.get(rule.object, ("", None))
        missing = [f for f in rule.fields if have is not None and f.lower() not in have]
        if missing:
            notes[rule.name] = (f"skipped: {source} has no {', '.join(missing)} column"
                                f"{'s' if len(missing) > 1 else ''}, so there is nothing to check")
            continue
        if rule.reference:
            obj, table = rule.reference
            if table not in counts:
                counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
            if counts[table] == 0:
                notes[rule.name] = f"skipped: the export has no {obj} rows to resolve against"
                continue
        if rule.skip_if_rows_in:
            obj, table = rule.skip_if_rows_in
            if table not in counts:
                counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
            if counts[table] > 0:
                notes[rule.name] = f"skipped: the export has {obj} rows, which the stricter rule checks against"
    return notes


def latest_columns(con) -> dict[str, tuple[str, frozenset[str]]]:
    """Object -> (its most recently loaded file, that file's lowercased raw column names)."""
    if not table_exists(con, "raw", "_loads"):
        return {}
    return {obj: (source, frozenset(c.lower() for c in columns)) for obj, source, columns in con.execute(
        "select object, arg_max(source_file, loaded_at), arg_max(columns, loaded_at) from raw._loads "
        "where len(columns) > 0 group by object").fetchall()}


FAILURES = "audit.rule_failures"
FAILURE_COLUMNS = {
    "checked_table": "varchar", "rule": "varchar", "object": "varchar", "severity": "varchar",
    "record_id": "varchar", "detail": "varchar", "_export_id": "varchar", "_loaded_at": "timestamp",
    "_row_number": "bigint",
}
EVALUATED = "audit.rule_results"


def _signature(con, rule: Rule, sql: str) -> str | None:
    """What a rule's result depends on: its SQL (as-of date resolved) and the version
    of every table it reads (pipeline/incremental.py). None when a version is unknown."""
    from pipeline.incremental import version_of

    versions = {t: version_of(con, t) for t in sorted({rule.batch} | {f"{s}.{t}" for s, t in rule.reads})}
    if None in versions.values():
        return None
    return hashlib.sha1((sql + json.dumps(versions, sort_keys=True)).encode()).hexdigest()


def _changes(rule: Rule) -> tuple[str, str]:
    """(raw table, its record key): where the new versions of the records a rule judges land."""
    if rule.schema == "raw":
        return rule.batch, rule.record_key
    contract = load_contracts()[rule.object]
    return f"raw.{contract.table}", raw_key(contract)


def _context(con, rule: Rule, sql: str) -> str | None:
    """What a per-record rule's verdicts depend on besides the records themselves: its SQL
    and the versions of the other tables it reads, and, for a staging table, its model's
    SQL and what that read besides the raw object (the run settings, say). While the
    context holds, a record's verdict changes only with the record's own new versions.
    None when unknown."""
    from pipeline.incremental import built_from, version_of

    others = {f"{s}.{t}": version_of(con, f"{s}.{t}") for s, t in rule.reads}
    if rule.schema != "raw":
        built = built_from(con, rule.batch)
        if built is None:
            return None
        others |= {t: v for t, v in built[1].items() if t != _changes(rule)[0]} | {"model sql": built[0]}
    if None in others.values():
        return None
    return hashlib.sha1((sql + (json.dumps(others, sort_keys=True) if others else "")).encode()).hexdigest()


def find_failures(con, run_id: str, rules: list[Rule], queries: dict[str, str]) -> dict[str, dict]:
    """Bring each rule's failing rows in audit.rule_failures up to date for this run
    (`queries`: rule name -> bound SQL). The check validates these rows through GX and
    the quarantine copies them, so no rule runs twice in a run; and a rule whose SQL
    and input tables are as when it last ran is not run again at all (its rows still
    hold). A per-record rule whose context (`_context`) is as when it last ran re-judges
    only the records with versions loaded since. Returns rule name -> {"error": DuckDB's
    error or None, "reused": bool}."""
    con.execute("create schema if not exists audit")
    con.execute(f"create table if not exists {FAILURES} ("
                + ", ".join(f"{c} {t}" for c, t in FAILURE_COLUMNS.items()) + ")")
    if table_exists(con, "audit", EVALUATED.split(".")[1]):  # from an older version?
        columns = {r[0] for r in con.execute("select column_name from information_schema.columns "
                                             "where table_schema = 'audit' and table_name = 'rule_results'").fetchall()}
        if "watermark" not in columns:
            con.execute(f"drop table {EVALUATED}")  # results are re-found
        elif "context" not in columns:  # a raw rule's context was its SQL's hash, as it is now
            con.execute(f"alter table {EVALUATED} rename column sql_hash to context")
    con.execute(f"create table if not exists {EVALUATED} (run_id varchar, checked_table varchar, rule varchar, "
                "signature varchar, context varchar, watermark timestamp)")
    outcomes: dict[str, dict] = {}
    loads: dict[str, tuple] = {}  # raw table -> (its latest load, whether it has only one): asked once per table
    changed_for = None  # (checked table, key, since) whose changed records _changed_rows holds
    for rule in rules:
        key = [rule.batch, rule.name]
        if rule.name not in queries:  # not evaluated (skipped, or its table is empty): no failing rows
            con.execute(f"delete from {FAILURES} where checked_table = ? and rule = ?", key)
            con.execute(f"delete from {EVALUATED} where checked_table = ? and rule = ?", key)
            continue
        signature = _signature(con, rule, queries[rule.name])
        context = _context(con, rule, queries[rule.name]) if rule.record_key else None
        previous = con.execute(f"select signature, context, watermark from {EVALUATED} "
                               "where checked_table = ? and rule = ?", key).fetchone()
        if signature is not None and previous is not None and previous[0] == signature:
            con.execute(f"update {EVALUATED} set run_id = ? where checked_table = ? and rule = ?", [run_id, *key])
            outcomes[rule.name] = {"error": None, "reused": True}
            continue
        query, watermark, one_load = queries[rule.name], None, False
        if rule.schema == "raw" or rule.record_key:
            source = _changes(rule)[0]
            if source not in loads:
                loads[source] = con.execute(f"select max(_loaded_at), (min(_loaded_at) = max(_loaded_at)) "
                                            f"is not false from {source}").fetchone()
            latest, one_load = loads[source]
            watermark = latest if rule.record_key else None
        if one_load and rule.schema == "raw":  # every row is current: no window needed
            query = bind(rule.sql.replace(current_rows(load_contracts()[rule.object]), "{batch}"), rule.batch)
        if context is not None and signature is not None and previous is not None and previous[1] == context \
                and previous[2] is not None:
            # Only records with rows loaded since (and raw rows without a key) can change verdict.
            if changed_for != (rule.batch, rule.record_key, previous[2]):
                _copy_changed_records(con, rule, previous[2])
                changed_for = (rule.batch, rule.record_key, previous[2])
            query = bind(rule.sql, "_changed_rows")
            keyless = " or record_id like '% row %'" if rule.schema == "raw" else ""
            con.execute(f"""delete from {FAILURES} where checked_table = ? and rule = ?
                and (record_id in (select cast(k as varchar) from _changed_records){keyless})""", key)
            outcomes[rule.name] = {"error": None, "reused": False, "incremental": True}
        else:
            con.execute(f"delete from {FAILURES} where checked_table = ? and rule = ?", key)
            outcomes[rule.name] = {"error": None, "reused": False}
        con.execute(f"delete from {EVALUATED} where checked_table = ? and rule = ?", key)
        try:
            con.execute(f"""
                insert into {FAILURES}
                select ?, ?, ?, ?, cast(record_id as varchar), detail, _export_id, _loaded_at, _row_number
                from ({query}) as b""", [*key, rule.object, rule.severity])
        except duckdb.Error as e:
            outcomes[rule.name] = {"error": str(e).split("\n")[0], "reused": False}
            continue
        con.execute(f"insert into {EVALUATED} values (?, ?, ?, ?, ?, ?)",
                    [run_id, *key, signature, context, watermark])
    return outcomes


def _copy_changed_records(con, rule: Rule, since) -> None:
    """Into the temp table _changed_rows: the rows of the checked table for the records
    with raw rows loaded after `since` (their keys in _changed_records), and for a raw
    table the keyless rows loaded since. A per-record rule over them gives each such
    record the verdict it gets over the whole table. Copied once per table and step:
    when each rule scanned every raw column itself it cost 20 s per rule at enterprise
    scale."""
    raw, raw_key_sql = _changes(rule)
    con.execute(f"""create or replace temp table _changed_records as
        select distinct {raw_key_sql} as k from {raw}
        where _loaded_at > ? and {raw_key_sql} is not null""", [since])
    if rule.schema == "raw":  # a raw rule judges a record's rows of its latest load: all loaded since
        con.execute(f"create or replace temp table _changed_rows as select * from {raw} where _loaded_at > ?", [since])
    else:  # the key is a plain column here: DuckDB filters it in the scan (sf_id over 26M Ids took 11 s)
        con.execute(f"""create or replace temp table _changed_rows as
            select * from {rule.batch} where {rule.record_key} in (select k from _changed_records)""")


def evaluated_rules(con, run_id: str) -> set[tuple[str, str]]:
    """(checked table, rule) pairs whose failing rows are up to date for this run."""
    if not table_exists(con, "audit", EVALUATED.split(".")[1]):
        return set()
    return set(con.execute(f"select checked_table, rule from {EVALUATED} where run_id = ?", [run_id]).fetchall())


def bad_rows(con, rule: Rule, limit: int | None = None) -> list[tuple]:
    sql = rule.bound_sql() + (f"\nlimit {limit}" if limit else "")
    return con.execute(sql).fetchall()


def table_exists(con, schema: str, table: str) -> bool:
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table]).fetchone()[0] > 0


_IDENT = re.compile(r"^[A-Za-z0-9_]+$")


def check_name_ok(name: str) -> bool:
    return bool(_IDENT.match(name))
