"""newsmon's search page: a small JSON API over the index, alert store and feed state, and the page on top.

- :mod:`newsmon.web.present` turns index documents into what the page shows (pure);
- :mod:`newsmon.web.api` turns request parameters into JSON-able answers, through the Protocols only;
- :mod:`newsmon.web.verdicts` takes analysts' verdicts (``POST /api/label``), the one write;
- :mod:`newsmon.web.csrf` refuses that write when it comes from another web site;
- :mod:`newsmon.web.server` serves the API and the static page (``static/``) with the standard library.
"""
