"""Benchmarks for the figures the issues name; each file runs on its own."""
