"""Corpus-scale helpers: Ray Data callables (``dashscope_ws.scale.ray``, extra ``[ray]``).

See ``docs/scale.md`` for when to use async fan-out, Ray, or a batch job.
"""
