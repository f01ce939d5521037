"""Metrics: recognition (:mod:`melib.metrics.recognition`) and spotting (:mod:`melib.metrics.spotting`).

Import-light: import the submodule you need.
"""
