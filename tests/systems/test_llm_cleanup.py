"""Cleanup rules on crafted LLM outputs: (raw output, source, expected text, rules fired)."""

from __future__ import annotations

import pytest

from evalmt.systems.llm_cleanup import RULES, CleanupCounter, clean_output

CASES = [
    # nothing to clean: multi-line, multi-sentence translations are kept as they are
    ("We went to Beijing today.", None, "We went to Beijing today.", ()),
    ("Line one.\nLine two.", None, "Line one.\nLine two.", ()),
    ("First paragraph. Second sentence.\n\nSecond paragraph.", None,
     "First paragraph. Second sentence.\n\nSecond paragraph.", ()),
    ("Okay, let's go.\nWe went home.", None, "Okay, let's go.\nWe went home.", ()),
    ("The note: it was late.", None, "The note: it was late.", ()),
    ('He said "yes" and "no".', None, 'He said "yes" and "no".', ()),
    # preambles
    ("Here is the translation:\n\nWe went home.", None, "We went home.", ("preamble",)),
    ("Here's the English translation of the text:\nWe went home.\nIt rained.", None,
     "We went home.\nIt rained.", ("preamble",)),
    ("Sure! Here is the translation:\nWe went home.", None, "We went home.", ("preamble",)),
    ("Translation: We went home.", None, "We went home.", ("preamble",)),
    ("English translation: We went home.", None, "We went home.", ("preamble",)),
    ("English: We went home.", None, "We went home.", ("preamble",)),
    ("Sure, I can help with that.\nWe went home.", None, "We went home.", ("preamble",)),
    ("Certainly!\n\nWe went home.", None, "We went home.", ("preamble",)),
    ("Translation:", None, "Translation:", ()),  # nothing after it: left alone
    # code fences
    ("```\nWe went home.\n```", None, "We went home.", ("code_fence",)),
    ("```text\nLine one.\nLine two.\n```", None, "Line one.\nLine two.", ("code_fence",)),
    ("Here is the translation:\n```\nWe went home.\n```", None, "We went home.",
     ("preamble", "code_fence")),
    # trailing explanations
    ("We went home.\n\nNote: I kept the informal tone.", None, "We went home.",
     ("trailing_note",)),
    ("We went home.\n(Note: 'home' could also be 'house'.)", None, "We went home.",
     ("trailing_note",)),
    ("We went home. (Note: literal translation)", None, "We went home.", ("trailing_note",)),
    ("We went home.\n\n**Note:** informal.", None, "We went home.", ("trailing_note",)),
    ("We went home.\n\nExplanation: the verb is past tense.", None, "We went home.",
     ("trailing_note",)),
    ("Line one.\nLine two.\n\nTranslator's note: two lines kept.", None,
     "Line one.\nLine two.", ("trailing_note",)),
    # wrapping quotes
    ('"We went home."', None, "We went home.", ("wrapping_quotes",)),
    ("“We went home.”", None, "We went home.", ("wrapping_quotes",)),
    ("「我们回家了。」", None, "我们回家了。", ("wrapping_quotes",)),
    ('"We went home."', "“我们回家了。”", '"We went home."', ()),  # the source is quoted
    ('"Yes," he said, "we did."', None, '"Yes," he said, "we did."', ()),
    # everything at once
    ('Sure! Here is the translation:\n"We went home."\n\nNote: past tense.', None,
     "We went home.", ("preamble", "trailing_note", "wrapping_quotes")),
]


@pytest.mark.parametrize(("raw", "source", "expected", "rules"), CASES)
def test_cleanup_rules(raw, source, expected, rules):
    cleaned = clean_output(raw, source=source, tgt_name="English")
    assert cleaned.text == expected
    assert cleaned.applied == rules


def test_rules_are_listed_in_order():
    assert RULES == ("preamble", "code_fence", "trailing_note", "wrapping_quotes")


def test_counter_counts_each_rule():
    counter = CleanupCounter()
    for raw, source, _, _ in CASES:
        counter.add(clean_output(raw, source=source, tgt_name="English"))
    expected = {rule: sum(rule in rules for *_, rules in CASES) for rule in RULES}
    assert counter.as_dict() == {"outputs": len(CASES), **expected}
    assert expected == {"preamble": 10, "code_fence": 3, "trailing_note": 7,
                        "wrapping_quotes": 4}
