"""Rendering an alert for people, pure: the alert document read into plain values (``view``), text as
unsplittable escaped atoms (``markup``), Slack's and Adaptive Cards' markup (``mrkdwn``,
``card_markdown``) and the size guard (``fit``)."""
