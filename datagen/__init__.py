"""Datagen: describe data in plain English or a JSON schema; get realistic, deterministic tables."""

__version__ = "0.1.0"
