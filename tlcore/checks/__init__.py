"""The data check: trust your data before you trust a score.

:func:`check_dataset` (in :mod:`.run`) computes the bottleneck features of every image once
(cached, shared with training) and runs each check on them: suspected label errors from
out-of-fold predictions (:mod:`.labels`, cleanlab's confident learning), near-duplicates and
leaks (:mod:`.duplicates`), outliers (:mod:`.outliers`), shift between splits (:mod:`.shift`),
the learning curve (:mod:`.curve`) and a 2-D map (:mod:`.embedding`), all on the one linear
probe of :mod:`.probe`. A dataset's latest check lives in its check folder (:mod:`.store`).
"""

from __future__ import annotations

from .run import CheckFeatures, DataCheck, check_dataset, check_features, learning_curve_of
from .store import CheckFolder

__all__ = ["CheckFeatures", "CheckFolder", "DataCheck", "check_dataset", "check_features", "learning_curve_of"]
