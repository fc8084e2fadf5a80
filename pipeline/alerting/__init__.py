"""Alerting's one home: what a rule is and how an alert is made and sent.

``rules`` (RuleSpec and its loader), ``kinds/`` (one module per rule kind), ``actions`` (ActionSpec),
``channels/`` (one module per channel, behind one Protocol and one registry), ``envelope`` (the alert
document of every kind, feed health included), ``templates`` (a rule's own title and body) and
``render/`` (what messages are made from). The alerter stage that runs them is ``consumers/alerter.py``.
"""
