"""newsmon's search page: a small JSON API over the index, alert store and feed state, and the page on top.

- :mod:`pipeline.web.present` turns index documents into what the page shows (pure);
- :mod:`pipeline.web.api` turns request parameters into JSON-able answers, through the Protocols only;
- :mod:`pipeline.web.server` serves the API and the static page (``static/``) with the standard library.
"""
