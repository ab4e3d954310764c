from __future__ import annotations

from newsrag.retrieval.document_sources import DocumentSources


def test_each_source_keeps_its_documents_as_they_move() -> None:
    sources = DocumentSources({"a": "Reuters", "b": "Reuters", "c": "The Verge"})
    found = sources.names_since(None)
    assert found is not None and found[1] == ("Reuters", "The Verge")
    version = found[0]
    sources.set({"c": "Reuters", "d": None})
    assert sources.documents(["Reuters"]) == {"a", "b", "c"}
    assert sources.names_since(version) == (version + 1, ("Reuters",))  # The Verge went


def test_the_version_changes_only_when_a_source_appears_or_goes() -> None:
    sources = DocumentSources({"a": "Reuters"})
    version = (sources.names_since(None) or (0,))[0]
    sources.set({"b": "Reuters", "a": ""})  # a has no source now; Reuters still has b
    assert sources.names_since(version) is None
    assert sources.documents(["Reuters", "Wired"]) == {"b"}
    sources.set({"b": "Wired"})
    assert sources.names_since(version) == (version + 1, ("Wired",))
    sources.set({"x": "AP"}, replace_all=True)
    assert sources.copy() == {"x": "AP"}
    assert sources.names_since(version + 1) == (version + 2, ("AP",))
    sources.set({"x": "AP"}, replace_all=True)
    assert sources.names_since(version + 2) is None
