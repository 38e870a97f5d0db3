import pytest

from evalmt.data.model import Document, Segment, TestSet
from evalmt.errors import DataError, RegistryError
from evalmt.registry import Registry


def test_registry_did_you_mean():
    reg: Registry[int] = Registry("metric")
    reg.add("chrf", 1)
    reg.add("bleu", 2)
    with pytest.raises(RegistryError, match=r"did you mean 'chrf'\? available: bleu, chrf"):
        reg.get("chrff")


def test_registry_lazy_import():
    reg: Registry[object] = Registry("thing")
    reg.add_lazy("dumps", "json:dumps")
    import json

    assert reg.get("dumps") is json.dumps
    assert "dumps" in reg


def _doc(doc_id, n, refs=1):
    segments = (Segment(doc_id, str(i), f"s{i}", tuple(f"r{i}.{k}" for k in range(refs)))
                for i in range(1, n + 1))
    return Document(doc_id, tuple(segments))


def test_testset_streams_and_hash():
    ts = TestSet("t", "zh", "en", (_doc("a", 2), _doc("b", 1, refs=2)))
    assert ts.num_segments == 3 and ts.num_refs == 2
    assert ts.reference_streams() == [["r1.0", "r2.0", "r1.0"], [None, None, "r1.1"]]
    assert ts.doc_ids() == ["a", "a", "b"]
    same = TestSet("u", "zh", "en", (_doc("a", 2), _doc("b", 1, refs=2)))
    assert ts.content_hash() == same.content_hash()  # the name is not scored data


def test_testset_rejects_duplicates():
    with pytest.raises(DataError, match="duplicate doc id 'a'"):
        TestSet("t", "zh", "en", (_doc("a", 1), _doc("a", 1)))
    seg = Segment("a", "1", "x", ("y",))
    with pytest.raises(DataError, match="duplicate segment id '1'"):
        TestSet("t", "zh", "en", (Document("a", (seg, seg)),))


def test_records_are_immutable():
    seg = Segment("a", 1, "x", ["y"], {"alignment": "1-1"})
    assert seg.refs == ("y",) and seg.seg_id == "1"
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        seg.src = "z"
    with pytest.raises(TypeError):
        seg.meta["alignment"] = "2-1"
