"""Seeded synthetic corpora for the metrics tests (their conftest and test modules)."""

import random

VOCAB = ("the a cat dog sat on mat house red blue runs quickly slowly and but with "
         "of to in is was big small old new tree river , . ! ?").split()


def sentence(rng: random.Random, lo: int = 3, hi: int = 15) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(lo, hi)))


def perturb(rng: random.Random, text: str, rate: float) -> str:
    out = []
    for w in text.split():
        r = rng.random()
        if r < rate / 3:
            continue
        if r < 2 * rate / 3:
            out.append(rng.choice(VOCAB))
            continue
        out.append(w)
        if r < rate:
            out.append(rng.choice(VOCAB))
    return " ".join(out)


def make_corpus(seed: int, n: int = 60, n_docs: int = 6, n_systems: int = 3, n_refs: int = 1):
    """Return (hypotheses by system, reference streams, doc_ids, seg_ids)."""
    rng = random.Random(seed)
    base = [sentence(rng) for _ in range(n)]
    refs = [base] + [[perturb(rng, s, 0.3) for s in base] for _ in range(n_refs - 1)]
    hyps = {f"sys{k}": [perturb(rng, s, 0.2 + 0.15 * k) for s in base] for k in range(n_systems)}
    doc_ids = [f"doc{i * n_docs // n}" for i in range(n)]
    seg_ids = [str(i) for i in range(n)]
    return hyps, refs, doc_ids, seg_ids
