"""Trust in a trained model: intervals, calibration, the operating point and "I don't know".

Numbers only (numpy, scipy, scikit-learn), so the pages can import it; the graph that
carries the same decisions inside exported models is :mod:`tlcore.trust.graph` (Keras).
"""
