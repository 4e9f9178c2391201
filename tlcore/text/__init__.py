"""Text data: labelled sentences through the same journey as pictures.

One module per stage: ``table`` (read a CSV/TSV/text file or a folder of ``.txt`` files, find the
text and label columns), ``dataset`` (a checked, split :class:`~tlcore.data.Dataset` of texts),
``checks`` (what the data check says about texts), ``encoders`` (the registry's text encoders and
their tokenizers), ``batches`` (texts to token batches), ``model`` (the classifier on an encoder),
``fine_tune`` (training the encoder's top layers) and ``export`` (a model that takes raw strings).
Nothing here imports keras-hub until a text encoder is built: without the ``text`` extra, the app
says what to install (:func:`~tlcore.text.encoders.require_text_support`).
"""
