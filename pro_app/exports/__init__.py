"""Analyst data sets (items, scores, wide, proae, compliance, codebook) and their writers.

Used alike by the command line, the HTTP API and the coordinator's downloads.
"""
