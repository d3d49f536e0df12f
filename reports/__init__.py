"""Renderers over the results store: tables, reported-vs-reproduced, listening page, plots, check.

Everything here reads a finished (or partial) run through ``reports.aggregate.load_run`` and never
touches audio models, so reports can be rebuilt anywhere the run folder is copied.
"""
