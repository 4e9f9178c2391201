import numpy as np

from tlcore.evaluate import evaluate_predictions


def test_metrics_match_a_hand_count():
    y = [0, 0, 1, 1, 1]
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    result = evaluate_predictions(y, probs, ["NORMAL", "PNEUMONIA"], [f"{i}.png" for i in range(5)])
    assert result["accuracy"] == 0.6
    assert result["confusion_matrix"] == [[1, 1], [1, 2]]
    assert result["sensitivity"] == 2 / 3 and result["specificity"] == 0.5
    assert result["report"]["PNEUMONIA"]["precision"] == 2 / 3
    wrong = {m["path"]: m for m in result["misclassified"]}
    assert set(wrong) == {"1.png", "4.png"}
    assert wrong["4.png"]["predicted"] == "NORMAL" and abs(wrong["4.png"]["confidence"] - 0.6) < 1e-9
