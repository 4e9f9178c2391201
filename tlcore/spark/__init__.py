"""Featurize on Spark: the single-machine features table, computed by a cluster.

``featurize_spark(config, out, spark=...)`` writes the same table as ``tlcore featurize``
(``tlcore featurize DATA --engine spark``); ``feature_column(save_extractor(config), size)`` is
the column function for DataFrames of your own. PySpark is an optional extra
(``pip install -e '.[spark]'``) and is imported only when one of these is called.
"""

from __future__ import annotations

from .featurize import feature_column, featurize_spark, save_extractor
from .session import spark_session

__all__ = ["feature_column", "featurize_spark", "save_extractor", "spark_session"]
