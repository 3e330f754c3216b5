"""Moved: the reliability tests are in tests/ops/test_reliability.py, their checks in tests/exactly_once.py.

This name stays only because tests/test_ui_counter.py imports from it; point that import at
tests.exactly_once and delete this file."""

from tests.exactly_once import RELAXED, assert_exactly_once, ledger_state

__all__ = ["RELAXED", "assert_exactly_once", "ledger_state"]
