"""Salesforce export → DuckDB KPI warehouse, orchestrated by Dagster."""
