"""Helpers the tests share: plain functions and constants, no fixtures (those are in
``conftest.py``)."""
