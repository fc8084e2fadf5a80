"""Feed producers: schedule, fetch, parse (pure), normalise and publish feed items to ``newsmon.raw``."""
