"""Stage 2 for text: train the encoder's top transformer blocks at a low rate, keep the better weights.

The tokens of every text are computed once; each epoch runs the whole encoder (its bottom stays
frozen) and updates the top blocks and the head. Which weights are kept, and why, is decided
exactly as for pictures (:func:`tlcore.train.fine_tuning.keep_better_weights`).
"""

from __future__ import annotations

import numpy as np

from .. import events as ev
from .batches import tokenize_all
from .encoders import WORDS


def _blocks(encoder) -> list:
    backbone = getattr(encoder, "backbone", None)
    return list(getattr(backbone, "transformer_layers", []) or [])


def unfreeze_top_blocks(encoder, num_layers: int) -> tuple[int, int]:
    """Unfreeze the top transformer blocks holding at most ``num_layers`` layers with weights (at
    least one block); the embeddings and the blocks below stay frozen.

    Returns ``(blocks unfrozen, layers with weights in them)``.
    """
    blocks = _blocks(encoder)
    encoder.trainable = True
    for layer in encoder.backbone.layers:
        layer.trainable = False
    chosen, layers = 0, 0
    for block in reversed(blocks):
        in_block = max(1, len(block.weights) // 2)  # a kernel and a bias (or a scale and an offset) per layer
        if chosen and layers + in_block > num_layers:
            break
        block.trainable = True
        chosen, layers = chosen + 1, layers + in_block
    return chosen, layers


def fine_tune_text(run) -> None:
    """Fine-tune a text run's encoder top (MiniLM); a word-vector encoder has nothing to fine-tune."""
    from ..model import count_params
    from ..train.feeds import one_hot
    from ..train.fine_tuning import keep_better_weights, val_score
    from ..train.fitting import _callbacks, compile_model, image_predictor

    config, parts = run.config, run.parts
    if parts.tokenizer.kind == WORDS or not _blocks(parts.base):
        text = (f"{config.backbone} averages fixed word vectors: it has no layers to fine-tune, so the frozen "
                "model (feature extraction) was kept. Choose MiniLM-L6 to fine-tune a text encoder.")
        run.fine_tune_report = {"kept": "frozen", "message": text, "layers": 0, "augmented_views": 0,
                                "learning_rate": config.fine_tune_learning_rate}
        run.emit(ev.fine_tune_result_event(**run.fine_tune_report))
        return
    frozen_predict = run.predict_split
    frozen_score = val_score(frozen_predict("val", run.val_samples), run.y_val)
    frozen_weights = parts.model.get_weights()
    blocks, layers = unfreeze_top_blocks(parts.base, config.fine_tune_layers)
    trainable, frozen = count_params(parts.model)
    run.emit(ev.stage_event(ev.STAGE_FINE_TUNE, f"Fine-tuning the top {blocks} of {len(_blocks(parts.base))} "
                                                f"transformer blocks ({layers} layers with weights)",
                            layers=layers, trainable_params=trainable, frozen_params=frozen))
    texts = run.dataset.text_of
    x_train = tokenize_all(parts.tokenizer, [texts(s.path) for s in run.train_samples])
    x_val = tokenize_all(parts.tokenizer, [texts(s.path) for s in run.val_samples])
    compile_model(parts.model, config, config.fine_tune_learning_rate)
    steps = int(np.ceil(len(run.train_samples) / run.batch))
    parts.model.fit(x_train, one_hot(run.y_train, run.num_classes), batch_size=run.batch,
                    validation_data=(x_val, one_hot(run.y_val, run.num_classes)), epochs=config.fine_tune_epochs,
                    shuffle=True, class_weight=run.class_weight, verbose=0,
                    callbacks=_callbacks(run, parts.model, ev.STAGE_FINE_TUNE, config.fine_tune_epochs, steps,
                                         len(run.train_samples), run.checkpoint()))
    tuned_predict = image_predictor(run)  # the whole model on the texts' tokens
    tuned_score = val_score(tuned_predict("val", run.val_samples), run.y_val)
    keep_better_weights(run, frozen_predict, frozen_score, frozen_weights, tuned_predict, tuned_score,
                        layers=layers, views=0)
    parts.base.trainable = False
