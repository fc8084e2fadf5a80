"""Rule kinds beyond the per-item rule: ``spike``, ``frequency`` and ``flatline`` count distinct
stories per event-time window (optionally per value of a key field), ``new_term`` watches for the
first mention of a name.

- :mod:`consumers.rule_kinds.policy`: the decisions, pure (windows, keys, trailing average, when a
  kind fires, when a term is new);
- :mod:`consumers.rule_kinds.state`: their tables in the state database (stories per window,
  window marks, claims, terms);
- :mod:`consumers.rule_kinds.recorder`: what the alerter stage does with a match of such a rule
  and when a window closes, each decision in one ``BEGIN IMMEDIATE`` transaction;
- :mod:`consumers.rule_kinds.backtest`: ``newsmon rules test`` for these kinds, the recorder
  replayed on a throw-away store with a simulated clock.
"""
