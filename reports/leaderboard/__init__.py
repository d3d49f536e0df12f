"""Leaderboards: many stored runs and published tables merged into one ranked page per test set
and subset.

Data flows one way: ``sources`` (load runs, published tables) -> ``merge`` (rows per board,
comparability checks that flag or refuse) -> ``ranking`` (dense ranks per metric, weighted mean
rank, bootstrap stability) -> ``render`` (Markdown, LaTeX, CSV, JSON) and ``page`` (static HTML).
"""
