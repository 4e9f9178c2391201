"""A run's trust settings (``trust.json``): temperature, threshold, "I don't know" limits.

:meth:`Trust.decide` is the one place where these settings turn a picture's numbers (its
calibrated probabilities and its similarity to the training pictures) into an answer; the
exported models compute the same answer inside their graph (:mod:`tlcore.trust.graph`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .operating import DEFAULT_THRESHOLD, RULES
from .unknown import DEFAULT_STRICTNESS, STRICTNESS


@dataclass
class Decision:
    """What the model answers for one picture."""

    label: str | None  # None: "I don't know"
    probability: float  # the calibrated probability of the class it would pick
    unknown: bool = False
    reason: str | None = None  # why it does not know
    similarity: float | None = None  # to the nearest training picture (cosine, 1 = identical)
    guess: str | None = None  # the class it would have picked


@dataclass
class Trust:
    """How a run turns numbers into answers. Saved with the run; exported inside its models."""

    classes: list[str] = field(default_factory=list)
    temperature: float = 1.0  # already folded into the model's last layer
    positive_class: str | None = None  # two classes: classes[1]
    threshold: float | None = None  # two classes: positive when p(positive) >= threshold
    rule: str = "default"
    target: float = 0.95
    strictness: str = DEFAULT_STRICTNESS
    similarity_limit: float | None = None  # unknown below this similarity to every training picture
    confidence_limit: float | None = None  # unknown below this top probability
    num_prototypes: int = 0
    prototype_subjects: list[int] | None = None  # each prototype's subject (known subjects only), for limits_of
    item: str = "picture"  # what the model is given, in words: "picture" or "text"

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"threshold rule {self.rule!r} is not one of {', '.join(RULES)}")
        if self.strictness not in STRICTNESS:
            raise ValueError(f"strictness {self.strictness!r} is not one of {', '.join(STRICTNESS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Trust":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(data or {}).items() if k in names})

    @property
    def two_classes(self) -> bool:
        return len(self.classes) == 2

    @property
    def cut(self) -> float:
        """The two-class threshold in force (0.5 unless one was chosen)."""
        return DEFAULT_THRESHOLD if self.threshold is None else float(self.threshold)

    @property
    def positive_index(self) -> int:
        """Two classes: the output of the positive class (classes[1] unless another is named)."""
        return self.classes.index(self.positive_class) if self.positive_class in self.classes else 1

    def picks(self, probs) -> np.ndarray:
        """The class index each row of probabilities is given (the threshold for two classes)."""
        probs = np.asarray(probs, dtype=np.float32)
        if self.two_classes:
            positive = self.positive_index
            return np.where(probs[:, positive] >= np.float32(self.cut), positive, 1 - positive)
        return probs.argmax(axis=1)

    def unsure_band(self) -> tuple[float, float] | None:
        """Two classes: the range of p(positive) around the threshold where the model is unsure.

        The confidence limit c says how far from the cut towards certainty an answer must be:
        the share f = 2c - 1 of the way on each side. At the default cut 0.5 this is "top
        probability below c"; at a cut of 0.1 chosen for sensitivity it stays around 0.1, so
        the low-probability positives the threshold is there to catch are answered.
        """
        if self.confidence_limit is None or not self.two_classes:
            return None
        share, cut = 2 * float(self.confidence_limit) - 1, self.cut
        return cut * (1 - share), cut + share * (1 - cut)

    def unknown_mask(self, probs, similarity=None) -> tuple[np.ndarray, np.ndarray]:
        """``(unlike, unsure)``: which pictures fall below the similarity limit, or too near a
        decision (the top probability below the confidence limit; two classes: inside the band)."""
        probs = np.asarray(probs, dtype=np.float32)
        unlike = np.zeros(len(probs), bool)
        if self.similarity_limit is not None and similarity is not None:
            unlike = np.asarray(similarity, dtype=np.float32).ravel() < np.float32(self.similarity_limit)
        unsure = np.zeros(len(probs), bool)
        band = self.unsure_band()
        if band is not None and len(probs):
            positive = probs[:, self.positive_index]
            unsure = (positive > np.float32(band[0])) & (positive < np.float32(band[1]))
        elif self.confidence_limit is not None and len(probs):
            unsure = probs.max(axis=1) < np.float32(self.confidence_limit)
        return unlike, unsure

    def nearest_limit(self, probs_row, similarity: float | None) -> tuple[bool, bool]:
        """``(unlike, unsure)`` naming the limit a picture lies closest to: the reason to give
        when another runtime's rounding put it on the "I don't know" side of that limit."""
        gaps = {}
        if self.similarity_limit is not None and similarity is not None:
            gaps["unlike"] = abs(float(similarity) - self.similarity_limit)
        band = self.unsure_band()
        if band is not None:
            positive = float(probs_row[self.positive_index])
            gaps["unsure"] = min(abs(positive - band[0]), abs(positive - band[1]))
        elif self.confidence_limit is not None:
            gaps["unsure"] = abs(float(np.max(probs_row)) - self.confidence_limit)
        nearest = min(gaps, key=gaps.get) if gaps else None
        return nearest == "unlike", nearest == "unsure"

    def reason(self, probs_row, similarity: float | None, unlike: bool, unsure: bool) -> str | None:
        """Why a picture is unknown, in words (None when it is not)."""
        if unlike:
            verb = "looks" if self.item == "picture" else "reads"
            return (f"it {verb} unlike every training {self.item} (similarity {similarity:.2f} to the nearest one; "
                    f"ordinary {self.item}s score at least {self.similarity_limit:.2f})")
        if unsure:
            order = np.argsort(-np.asarray(probs_row))[:2]
            first, second = (self.classes[i] for i in order)
            text = f"it is unsure between {first} ({probs_row[order[0]]:.0%}) and {second} ({probs_row[order[1]]:.0%})"
            band = self.unsure_band()
            if band is not None:
                return (text + f": too close to the cut-off {self.cut:.0%} for {self.positive_class} "
                        f"(it answers below {band[0]:.0%} or from {band[1]:.0%})")
            return text + f"; it answers from {self.confidence_limit:.0%}"
        return None

    def decide(self, probs, similarity=None) -> list[Decision]:
        """One :class:`Decision` per row of calibrated probabilities (and similarities)."""
        probs = np.asarray(probs, dtype=np.float32)
        sims = None if similarity is None else np.asarray(similarity, dtype=np.float32).ravel()
        picks = self.picks(probs)
        unlike, unsure = self.unknown_mask(probs, sims)
        out = []
        for i, row in enumerate(probs):
            guess = self.classes[picks[i]] if picks[i] < len(self.classes) else str(picks[i])
            sim = None if sims is None else float(sims[i])
            reason = self.reason(row, sim, bool(unlike[i]), bool(unsure[i]))
            out.append(Decision(None if reason else guess, float(row[picks[i]]), reason is not None, reason, sim,
                                guess))
        return out

    def describe(self) -> list[str]:
        """The settings in plain sentences (for pages, the CLI and the model card)."""
        lines = [f"Probabilities are calibrated by temperature scaling (T = {self.temperature:.2f}, "
                 f"fitted on the validation {self.item}s)."]
        if self.two_classes:
            rule = RULES[self.rule]
            how = f"{rule.label.lower()} {self.target:.0%}" if rule.uses_target else rule.label.lower()
            lines.append(f"A {self.item} is called {self.positive_class} when its probability of {self.positive_class} "
                         f"is at least {self.cut:.3f} (chosen by: {how}).")
        if self.similarity_limit is None and self.confidence_limit is None:
            lines.append(f'"I don\'t know" is off: every {self.item} gets a class.')
        else:
            parts = []
            if self.similarity_limit is not None:
                parts.append(f"its similarity to the nearest training {self.item} is below {self.similarity_limit:.3f}")
            band = self.unsure_band()
            if band is not None:
                parts.append(f"its probability of {self.positive_class} is between {band[0]:.1%} and {band[1]:.1%} "
                             "(too close to the cut-off to tell)")
            elif self.confidence_limit is not None:
                parts.append(f"its highest probability is below {self.confidence_limit:.0%}")
            lines.append(f"The answer is \"I don't know\" ({STRICTNESS[self.strictness].label.lower()} strictness) "
                         f"when {' or '.join(parts)}.")
        return lines


__all__ = ["Decision", "Trust"]
