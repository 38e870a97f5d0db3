"""Degenerate documents are flagged in every document row and in the notes."""

from evalmt.metrics import build_metrics, score_systems

# d1: ordinary; d2: the longest reference has 3 tokens (13a: "a b ." -> 3): no 4-grams;
# d3: 2 tokens at most: no 3-grams; d4: one empty reference of two segments.
REFS = [["the cat sat on the mat .", "a dog ran away quickly", "a b .", "x", "yes no",
         "", "it rained all day long"]]
DOCS = ["d1", "d1", "d2", "d2", "d3", "d4", "d4"]
HYPS = {"s": ["the cat sat on a mat .", "a dog ran", "a b .", "x", "yes", "nothing",
              "it rained all day"]}
EXPECTED = {"d1": "", "d2": "no reference 4-grams", "d3": "no reference 3-grams",
            "d4": "empty reference in 1 of 2 segment(s)"}


def test_degenerate_documents_flagged():
    report = score_systems(hypotheses=HYPS, references=REFS, doc_ids=DOCS,
                           seg_ids=[str(i) for i in range(len(DOCS))],
                           metrics=build_metrics(["bleu", "chrf"], tgt_lang="en"))
    for row in report.documents:
        assert row.flag == EXPECTED[row.doc_id], row
    for doc, flag in EXPECTED.items():
        assert any(n.startswith(f"document {doc}: {flag}") for n in report.notes) == bool(flag)


def test_all_references_empty_in_a_document():
    report = score_systems(hypotheses={"s": ["a", "b"]}, references=[["", " "]],
                           doc_ids=["d", "d"], seg_ids=["1", "2"],
                           metrics=build_metrics(["chrf"], tgt_lang="en"))
    assert {r.flag for r in report.documents} == {"empty reference in 2 of 2 segment(s); "
                                                  "no reference n-grams"}
