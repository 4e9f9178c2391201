"""A run in plain words (tlcore.run_in_words): every sentence follows from evaluation.json."""

from tlcore import run_in_words


def _evaluation(matrix, classes=("cat", "dog"), mistakes=()):
    total = sum(map(sum, matrix))
    right = sum(matrix[i][i] for i in range(len(matrix)))
    report = {c: {"recall": matrix[i][i] / max(1, sum(matrix[i]))} for i, c in enumerate(classes)}
    return {"classes": list(classes), "num_images": total, "accuracy": right / total, "accuracy_ci": [0.6, 0.95],
            "confusion_matrix": matrix, "report": report, "misclassified": list(mistakes)}


def test_words_name_the_classes_the_score_its_interval_and_the_confusions():
    words = run_in_words(_evaluation([[9, 1], [3, 7]], mistakes=[{"confidence": 0.9}, {"confidence": 0.6}]))
    assert words[0] == "It learned to tell “cat” and “dog” apart."
    assert "it was right 16 times (80 %)" in words[1] and "from 60 % to 95 %" in words[1]
    assert "It took 3 of the 10 pictures of “dog” for “cat”." in words
    assert any("1 of its mistakes it made while over 80 % sure" in w for w in words)
    assert "least sure about “dog”" in words[-1]


def test_all_right_and_a_shared_recording_are_said_plainly():
    words = run_in_words(_evaluation([[3, 0], [0, 3]]), shared_subjects=6)
    assert any(w.startswith("All of those pictures came from a recording it also learned from") for w in words)
    assert words[-1].startswith("It got all of them right.")
    assert run_in_words({}) == [] and run_in_words({"classes": ["a"], "num_images": 0}) == []
