"""Texts to token batches, for the feature pass and for fine-tuning."""

from __future__ import annotations

from typing import Sequence

import numpy as np


class TextBatches:
    """``(token dict, labels)`` batches of one split's texts, in order (what ``features.extract`` reads)."""

    def __init__(self, texts: Sequence[str], tokenizer, batch_size: int, labels: Sequence[int] | None = None):
        self.texts, self.tokenizer, self.batch_size = list(texts), tokenizer, int(batch_size)
        self.labels = None if labels is None else np.asarray(labels, dtype="int32")

    def __len__(self) -> int:
        return (len(self.texts) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, index: int):
        start = index * self.batch_size
        chunk = slice(start, start + self.batch_size)
        return self.tokenizer(self.texts[chunk]), None if self.labels is None else self.labels[chunk]


def text_batcher(dataset, tokenizer):
    """``batcher(samples, batch_size)`` for :func:`tlcore.features.extract`: the samples' texts as token batches."""
    def batcher(samples, batch_size: int) -> TextBatches:
        return TextBatches([dataset.text_of(s.path) for s in samples], tokenizer, batch_size)

    return batcher


def tokenize_all(tokenizer, texts: Sequence[str], batch_size: int = 256) -> dict[str, np.ndarray]:
    """Every text tokenized, as one dict of arrays (fine-tuning reads them many times)."""
    parts = [tokenizer(list(texts[i:i + batch_size])) for i in range(0, len(texts), batch_size)]
    if not parts:
        return {name: np.zeros((0, tokenizer.sequence_length), "int32") for name in tokenizer.input_names}
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def predict_batches(model, batches) -> np.ndarray:
    """``model`` over every batch of a :class:`TextBatches`, in order (inference mode)."""
    out = [np.asarray(model.predict_on_batch(x), dtype="float32") for x, _ in (batches[i] for i in range(len(batches)))]
    return np.concatenate(out, axis=0) if out else np.zeros((0,), "float32")
