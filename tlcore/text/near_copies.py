"""Which texts are near-copies of each other: close in meaning *and* in wording.

Sentence features alone call paraphrases copies ("Very prompt service." and "Service was very
prompt." sit at cosine 0.87 in MiniLM), and wording alone calls opposites copies ("The food was
great." and "The food was not great." share 94 % of their character n-grams). A pair counts when
both agree: features at least :data:`MEANING`, and character 3-5-gram count vectors (sublinear, no
IDF, so a pair's score does not depend on the rest of the dataset) at least :data:`WORDING`.
Measured on the UCI labelled sentences: this keeps reworded copies such as "Worst customer
service." / "Worst Customer Service Ever." (0.94 / 0.82) and drops paraphrases ("Service was very
prompt." / "Very prompt service.": 0.87 / 0.75) and negations (meaning below 0.9).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MEANING = 0.9  # cosine similarity of the encoder's sentence features
WORDING = 0.8  # cosine similarity of character 3-5-gram count vectors


def wording_filter(texts: Sequence[str]):
    """``(rows, cols) -> mask``: the pairs whose wording is at least :data:`WORDING` alike."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, use_idf=False).fit_transform(
        [str(t) for t in texts])  # rows are unit length

    def alike(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.asarray(vectors[rows].multiply(vectors[cols]).sum(axis=1)).ravel() >= WORDING

    return alike
