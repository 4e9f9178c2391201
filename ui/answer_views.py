"""The Predict page's answers: the class or "I don't know" with the reason, in words a user can act on."""

from __future__ import annotations

import streamlit as st

from .calls import plain
from .charts import probability_figure
from .trust_views import rule_words


def threshold_words(trust, item: str = "picture") -> str:
    """A two-class run's saved threshold in a sentence (``trust``: a tlcore Trust)."""
    positive = plain(trust.positive_class or trust.classes[1])
    return (f"A {item} is called **{positive}** when the model gives {positive} **{100 * trust.cut:.1f} %** or more "
            f"(threshold {trust.cut:.3f}, chosen by {rule_words(trust.rule, trust.target)}). Change it on the "
            "Evaluate page.")


def confidence_words(probability: float, calibrated: bool, item: str = "picture") -> str:
    """What a probability means for the user, in words that follow the calibrated percentage."""
    if not calibrated:
        return ("This run's percentages were not calibrated (it was trained before that existed), so they may be "
                "over-sure: treat them as a ranking, not as a chance.")
    wrong = 100 - round(100 * probability)
    often = "fewer than 1 in 100" if wrong < 1 else f"about {wrong} in 100"
    if probability >= 0.95:
        return (f"Very likely right: {often} answers this sure are wrong (the percentages were checked on the "
                f"validation {item}s).")
    if probability >= 0.8:
        return f"Likely right, but not certain: {often} answers this sure are wrong."
    if probability >= 0.6:
        return (f"Unsure: {often} answers this sure are wrong. Look at the other guesses and check the {item} "
                "yourself.")
    return f"Close to a guess: {often} answers this sure are wrong. Check the {item} yourself."


def unknown_headline(answer, trust, picture: str = "this picture", item: str = "picture") -> str:
    """The "I don't know" headline: unlike every training picture (``item``), or torn between classes."""
    unlike = (trust is not None and trust.similarity_limit is not None and answer.similarity is not None
              and answer.similarity < trust.similarity_limit)
    looks = "looks" if item == "picture" else "reads"
    return "### I don't know — " + (f"{picture} {looks} unlike every training {item}" if unlike
                                    else "the model cannot decide between its classes")


def answer_view(answer, trust, key: str, item: str = "picture") -> None:
    """One picture's (or text's: ``item``) answer (a tlcore ``Answer``): the class, or "I don't know"
    with the reason, what the percentage means, and the best guesses as bars."""
    guesses = [(str(c), float(p)) for c, p in answer.top]
    if answer.unknown:
        st.markdown(unknown_headline(answer, trust, f"this {item}", item))
        if answer.reason:
            st.markdown(f"**Why:** {plain(answer.reason)}.")
        if guesses:
            st.caption(f"Without “I don't know” it would have said {plain(guesses[0][0])} ({guesses[0][1]:.0%}); "
                       f"do not rely on that. If such {item}s matter, add them to training (as a class of their own if "
                       "they belong to none).")
        with st.expander("What it would have guessed"):
            st.plotly_chart(probability_figure(guesses), width="stretch", key=key)
        return
    label = str(answer.label)
    st.markdown(f"### {plain(label)} — {answer.probability:.0%}")
    st.caption(confidence_words(answer.probability, calibrated=trust is not None, item=item))
    if trust is not None and trust.two_classes and guesses and guesses[0][0] != label:
        st.caption(f"Called {plain(label)} although {plain(guesses[0][0])} gets more ({guesses[0][1]:.0%}): the saved "
                   f"threshold ({trust.cut:.3f}) is set to find {plain(trust.positive_class or label)} {item}s "
                   "even when the model is not sure.")
    st.plotly_chart(probability_figure(guesses), width="stretch", key=key)


__all__ = ["answer_view", "confidence_words", "threshold_words"]
