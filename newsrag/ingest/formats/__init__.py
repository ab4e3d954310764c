"""Newsroom formats read into articles: web pages, IPTC ninjs and NewsML-G2 (see ``item``)."""
