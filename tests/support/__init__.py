"""Helpers shared by test modules (tests import this package, never each other)."""
