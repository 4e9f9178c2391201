"""The model card's "How to use it": code that loads each exported format and reads its answer."""

from __future__ import annotations

from pathlib import Path

from ..trust.settings import Trust
from .formats import DOWNLOADS, EXPORT_FORMATS

_LABELS = DOWNLOADS["labels"].file_name
_KERAS = EXPORT_FORMATS["keras"].file_name
_SAVED_MODEL = EXPORT_FORMATS["savedmodel"].file_name
_SAVED_MODEL_ZIP = DOWNLOADS["savedmodel-zip"].file_name
_TFLITE = EXPORT_FORMATS["tflite"].file_name
_ONNX = EXPORT_FORMATS["onnx"].file_name
_WEB = EXPORT_FORMATS["web"].file_name
_WEB_ZIP = DOWNLOADS["web-zip"].file_name


_IMPORTS = "import json\n\nimport numpy as np\nfrom PIL import Image\n"
_LOAD = (f'classes = json.load(open("{_LABELS}"))\n'
         'image = np.asarray(Image.open("photo.jpg").convert("RGB"))  # at its own size: the model resizes it\n'
         "batch = image[np.newaxis]  # shape (1, height, width, 3), dtype uint8\n")


def _onnx_lines(onnx_note: str, read: list[str]) -> list[str]:
    """ONNX Runtime in Python, outputs found by name; ``read`` turns ``out`` into the answer."""
    return [f"### ONNX (`{_ONNX}`)", "", *([onnx_note, ""] if onnx_note else []),
            "```python", _IMPORTS + "import onnxruntime as ort\n", _LOAD,
            f'session = ort.InferenceSession("{_ONNX}")',
            "names = [o.name for o in session.get_outputs()]",
            'out = dict(zip(names, session.run(names, {"image": batch})))  # by output name',
            *read, "```", ""]


def _web_lines(files: dict[str, Path], trust: Trust | None) -> list[str]:
    """How to open the web page bundle."""
    if "web" not in files:
        return []
    unknown = trust is not None and trust.strictness != "off"
    return [f"### Web page (`{_WEB}/`, also as `{_WEB_ZIP}`)", "",
            f"Unzip `{_WEB_ZIP}` and open `{_WEB}/index.html` in Chrome, Edge, Firefox or Safari (double-click "
            "it). The model runs in the browser with ONNX Runtime Web: no internet and no server are needed, so "
            "the folder works from a USB stick, and it works on any static web host too. Choose a picture or "
            "press *Start camera*; the page shows the top classes with bars"
            + (", \"I don't know\" where the model says so" if unknown else "")
            + (" and decides with the run's threshold" if trust is not None and trust.two_classes else "")
            + ", as the app does. If the browser refuses the camera on a page opened from disk, run "
            "`python -m http.server 8000` in the folder and open http://localhost:8000/.", ""]


def usage_section(tflite_note: str, files: dict[str, Path], trust: Trust | None = None, *,
                  onnx_note: str = "") -> list[str]:
    """The card's "How to use it": a short program per exported format, then the web page."""
    if trust is not None:
        return _trusted_usage_section(tflite_note, files, trust, onnx_note)
    out = ["## How to use it", "",
           "Every format takes `uint8` RGB pixels (0-255) and returns probabilities in the order of "
           f"`{_LABELS}`. Do **not** rescale or normalise the pixels yourself.", ""]
    load, imports = _LOAD, _IMPORTS
    if "keras" in files:
        out += [f"### Keras (`{_KERAS}`)", "", "```python", imports + "import keras\n", load,
                f'model = keras.saving.load_model("{_KERAS}")',
                "probs = model.predict(batch)[0]",
                "print(classes[int(probs.argmax())], float(probs.max()))", "```", ""]
    if "savedmodel" in files:
        out += [f"### TensorFlow SavedModel (`{_SAVED_MODEL}/`, also as `{_SAVED_MODEL_ZIP}`)", "",
                "```python", imports + "import tensorflow as tf\n", load,
                f'model = tf.saved_model.load("{_SAVED_MODEL}")',
                "probs = model.serve(tf.constant(batch)).numpy()[0]",
                "print(classes[int(probs.argmax())], float(probs.max()))", "```", "",
                "TensorFlow Serving uses the `serving_default` signature (input `image`, output `output_0`).", ""]
    tflite_files = [f for f in ("tflite", "tflite-quant") if f in files]
    if tflite_files:
        name = files[tflite_files[0]].name
        out += [f"### TensorFlow Lite (`{'`, `'.join(files[f].name for f in tflite_files)}`)", "",
                tflite_note, "",
                "```python", imports
                + "from ai_edge_litert.interpreter import Interpreter  # or: from tensorflow.lite import Interpreter\n",
                load,
                f'interpreter = Interpreter(model_path="{name}")',
                "inp = interpreter.get_input_details()[0]",
                'interpreter.resize_tensor_input(inp["index"], batch.shape)',
                "interpreter.allocate_tensors()",
                'interpreter.set_tensor(inp["index"], batch)',
                "interpreter.invoke()",
                'probs = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]',
                "print(classes[int(probs.argmax())], float(probs.max()))", "```", ""]
    if "onnx" in files:
        out += _onnx_lines(onnx_note, ['probs = out["probabilities"][0]',
                                       "print(classes[int(probs.argmax())], float(probs.max()))"])
    out += _web_lines(files, None)
    out += ["### With tlcore", "", "```python", "from tlcore.predict import load_predictor", "",
            f'predictor = load_predictor("{_KERAS}")  # or the run folder, {_SAVED_MODEL}/, {_TFLITE}',
            'print(predictor.predict(["photo.jpg"], top_k=3))', "```", "",
            f"or on the command line: `tlcore predict {_KERAS} photo.jpg`.", ""]
    return out


def _read_outputs(trust: Trust) -> list[str]:
    """Python that turns the named outputs (numpy arrays in ``out``) into the answer."""
    lines = ['if out["unknown"][0, 0] > 0.5:', '    print("I don\'t know")']
    if trust.two_classes:
        positive = trust.positive_index
        lines += ['else:', f'    answer = classes[{positive}] if out["positive"][0, 0] > 0.5 else classes[{1 - positive}]',
                  '    print(answer, float(out["probabilities"][0][classes.index(answer)]))']
    else:
        lines += ['else:', '    probs = out["probabilities"][0]',
                  '    print(classes[int(probs.argmax())], float(probs.max()))']
    return lines


def _trusted_usage_section(tflite_note: str, files: dict[str, Path], trust: Trust, onnx_note: str = "") -> list[str]:
    """How to read the trusted model's named outputs in each format."""
    out = ["## How to use it", "",
           "Every format takes `uint8` RGB pixels (0-255) and returns the same named outputs: "
           "`probabilities` (in the order of "
           f"`{_LABELS}`), " + ("" if trust.strictness == "off" else "`similarity`, ") + "`unknown`"
           + (", `positive`" if trust.two_classes else "")
           + ". Do **not** rescale or normalise the pixels yourself. Read the answer from `unknown`"
           + (" and `positive`" if trust.two_classes else "") + " so it is the app's answer.", ""]
    if "keras" in files:
        out += [f"### Keras (`{_KERAS}`)", "", "```python", _IMPORTS + "import keras\n", _LOAD,
                f'model = keras.saving.load_model("{_KERAS}")',
                "out = model.predict(batch)  # a dict of numpy arrays", *_read_outputs(trust), "```", ""]
    if "savedmodel" in files:
        out += [f"### TensorFlow SavedModel (`{_SAVED_MODEL}/`, also as `{_SAVED_MODEL_ZIP}`)", "",
                "```python", _IMPORTS + "import tensorflow as tf\n", _LOAD,
                f'model = tf.saved_model.load("{_SAVED_MODEL}")',
                "out = {name: value.numpy() for name, value in model.serve(tf.constant(batch)).items()}",
                *_read_outputs(trust), "```", "",
                "TensorFlow Serving uses the `serving_default` signature: input `image`, outputs named "
                "`probabilities`, " + ("" if trust.strictness == "off" else "`similarity`, ") + "`unknown`"
                + (", `positive`" if trust.two_classes else "") + ".", ""]
    tflite_files = [f for f in ("tflite", "tflite-quant") if f in files]
    if tflite_files:
        name = files[tflite_files[0]].name
        out += [f"### TensorFlow Lite (`{'`, `'.join(files[f].name for f in tflite_files)}`)", "",
                tflite_note, "",
                "Find the outputs **by name** through the signature runner: the order of "
                "`get_output_details()` is the converter's and differs between files.", "",
                "```python", _IMPORTS
                + "from ai_edge_litert.interpreter import Interpreter  # or: from tensorflow.lite import Interpreter\n",
                _LOAD,
                f'interpreter = Interpreter(model_path="{name}")',
                "runner = interpreter.get_signature_runner()  # serving_default",
                "out = runner(image=batch)  # resizes the input to the batch; a dict by output name",
                *_read_outputs(trust), "```", ""]
    if "onnx" in files:
        out += _onnx_lines(onnx_note, _read_outputs(trust))
    out += _web_lines(files, trust)
    out += ["### With tlcore", "", "```python", "from tlcore.predict import load_predictor", "",
            f'predictor = load_predictor("{_KERAS}")  # or the run folder, {_SAVED_MODEL}/, {_TFLITE}',
            'answer = predictor.answer(["photo.jpg"])[0]',
            "print(answer.label or \"I don't know\", answer.probability, answer.reason)", "```", "",
            f"or on the command line: `tlcore predict {_KERAS} photo.jpg`.", ""]
    return out


__all__ = ["usage_section"]
