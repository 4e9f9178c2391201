/* Transfer Studio web page: runs the exported model (model.onnx, embedded in model.js) with
 * ONNX Runtime Web, in this browser, offline. Opened from disk (file://) nothing is fetched:
 * the runtime is inlined in index.html, its WebAssembly binary (ort-wasm.js) and the model
 * (model.js) are classic scripts holding base64, because a browser refuses module files and
 * fetch() on file:// pages.
 *
 * A picture is treated as the app treats it: EXIF orientation applied, transparency on white,
 * then resized to the training size with the model's own arithmetic (bilinear, half-pixel
 * centres, no antialiasing, no crop; tlcore.images.resize_image) and passed as uint8 RGB.
 * The answer is read as the app reads it (tlcore.predict.Predictor.answer): "I don't know"
 * when the model's `unknown` output says so, for two classes the model's `positive` output
 * (the run's threshold), else the most likely class.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("model-config").textContent);
  var session = null;
  var busy = false;
  var stream = null;
  var previewUrl = null;
  var $ = function (id) { return document.getElementById(id); };

  function setState(state, text, isError) {
    document.body.dataset.state = state;
    var status = $("status");
    status.textContent = text;
    status.className = isError ? "message error" : "message";
  }

  function hasWebAssembly() {
    return typeof WebAssembly === "object" && WebAssembly !== null &&
      typeof WebAssembly.instantiate === "function" && typeof WebAssembly.Memory === "function";
  }

  function decodeBase64(text) {
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // ------------------------------------------------------------ pixels, as the app makes them

  // numpy's rint: round half to even
  function rint(v) {
    var f = Math.floor(v), d = v - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }

  // Source indices and weights of a half-pixel-centred bilinear resize along one axis (float32, as numpy does).
  function taps(inSize, outSize) {
    var f = Math.fround, scale = f(inSize / outSize);
    var low = new Int32Array(outSize), high = new Int32Array(outSize), weight = new Float32Array(outSize);
    for (var i = 0; i < outSize; i++) {
      var x = f(f((i + 0.5) * scale) - 0.5), floor = Math.floor(x);
      low[i] = Math.max(floor, 0);
      high[i] = Math.min(Math.ceil(x), inSize - 1);
      weight[i] = f(x - floor);
    }
    return { low: low, high: high, weight: weight };
  }

  // (height, width) RGBA pixels -> size x size RGB uint8, the arithmetic of tlcore.images.resize_image.
  function resizeRgb(rgba, width, height, size) {
    var out = new Uint8Array(size * size * 3), f = Math.fround;
    var ys = taps(height, size), xs = taps(width, size);
    for (var oy = 0; oy < size; oy++) {
      var top = ys.low[oy] * width, bottom = ys.high[oy] * width, wy = ys.weight[oy];
      for (var ox = 0; ox < size; ox++) {
        var l = xs.low[ox], r = xs.high[ox], wx = xs.weight[ox];
        for (var c = 0; c < 3; c++) {
          var tl = rgba[(top + l) * 4 + c], tr = rgba[(top + r) * 4 + c];
          var bl = rgba[(bottom + l) * 4 + c], br = rgba[(bottom + r) * 4 + c];
          var upper = f(tl + f((tr - tl) * wx)), lower = f(bl + f((br - bl) * wx));
          var v = rint(f(upper + f(f(lower - upper) * wy)));
          out[(oy * size + ox) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
    }
    return out;
  }

  function rgbOf(rgba) {
    var out = new Uint8Array((rgba.length / 4) * 3);
    for (var i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      out[j] = rgba[i]; out[j + 1] = rgba[i + 1]; out[j + 2] = rgba[i + 2];
    }
    return out;
  }

  // Draw a picture (image bitmap or video frame) on white and return the model's input tensor.
  function inputOf(source, width, height) {
    var canvas = $("canvas");
    canvas.width = width;
    canvas.height = height;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#ffffff";  // transparent pictures are composited onto white, as in the app
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(source, 0, 0, width, height);
    var rgba = ctx.getImageData(0, 0, width, height).data;
    var size = config.image_size;
    if (size) return new ort.Tensor("uint8", resizeRgb(rgba, width, height, size), [1, size, size, 3]);
    return new ort.Tensor("uint8", rgbOf(rgba), [1, height, width, 3]);  // the model resizes it
  }

  // ------------------------------------------------------------ the answer, as the app reads it

  function pct(p) { return Math.round(p * 100) + " %"; }

  function reasonOf(probs, similarity) {
    var t = config.trust || {};
    if (similarity !== null && t.similarity_limit !== null && t.similarity_limit !== undefined &&
        similarity < t.similarity_limit) {
      return "it looks unlike every training picture (similarity " + similarity.toFixed(2) +
        " to the nearest one; ordinary pictures score at least " + t.similarity_limit.toFixed(2) + ")";
    }
    var order = probs.map(function (p, i) { return i; }).sort(function (a, b) { return probs[b] - probs[a]; });
    var text = "it is unsure between " + config.classes[order[0]] + " (" + pct(probs[order[0]]) + ") and " +
      config.classes[order[1]] + " (" + pct(probs[order[1]]) + ")";
    if (t.unsure_band) {
      return text + ": too close to the cut-off " + pct(t.threshold) + " for " + config.classes[t.positive_index];
    }
    return t.confidence_limit ? text + "; it answers from " + pct(t.confidence_limit) : text;
  }

  function answerOf(outputs) {
    var probs = Array.from(outputs.probabilities.data);
    var similarity = outputs.similarity ? outputs.similarity.data[0] : null;
    var unknown = outputs.unknown ? outputs.unknown.data[0] >= 0.5 : false;
    var pick = 0;
    for (var i = 1; i < probs.length; i++) if (probs[i] > probs[pick]) pick = i;
    if (outputs.positive && config.classes.length === 2) {
      var positive = config.trust && config.trust.positive_index !== undefined ? config.trust.positive_index : 1;
      pick = outputs.positive.data[0] >= 0.5 ? positive : 1 - positive;
    }
    var order = probs.map(function (p, j) { return j; }).sort(function (a, b) { return probs[b] - probs[a]; });
    return {
      label: unknown ? null : config.classes[pick], unknown: unknown, probability: probs[pick],
      guess: config.classes[pick], probabilities: probs, similarity: similarity,
      reason: unknown ? reasonOf(probs, similarity) : null,
      top: order.slice(0, Math.min(5, probs.length)).map(function (j) { return [config.classes[j], probs[j]]; }),
    };
  }

  function show(answer, ms, where) {
    var box = $("answer");
    box.hidden = false;
    $("answer-label").textContent = answer.unknown ? "I don't know" : answer.label;
    $("answer-label").className = answer.unknown ? "label unknown" : "label";
    $("answer-detail").textContent = answer.unknown ? "Because " + answer.reason + "." :
      (100 * answer.probability).toFixed(1) + " % sure" + (where ? " (" + where + ")" : "") + ".";
    var bars = $("bars");
    bars.textContent = "";
    answer.top.forEach(function (item) {
      var row = document.createElement("div");
      row.className = "bar-row";
      var name = document.createElement("span");
      name.className = "bar-name";
      name.textContent = item[0];
      var track = document.createElement("span");
      track.className = "bar-track";
      var fill = document.createElement("span");
      fill.className = "bar-fill" + (!answer.unknown && item[0] === answer.label ? " picked" : "");
      fill.style.width = (100 * item[1]).toFixed(1) + "%";
      track.appendChild(fill);
      var value = document.createElement("span");
      value.className = "bar-value";
      value.textContent = (100 * item[1]).toFixed(1) + " %";
      row.appendChild(name); row.appendChild(track); row.appendChild(value);
      bars.appendChild(row);
    });
    $("timing").textContent = "The model took " + Math.round(ms) + " ms in this browser.";
    answer.ms = ms;
    answer.source = where || null;
    window.transferStudioAnswer = answer;  // for tests and the curious
    document.body.dataset.answered = String(Number(document.body.dataset.answered || 0) + 1);
  }

  async function classify(source, width, height, where) {
    var started = performance.now();
    var feeds = {};
    feeds[session.inputNames[0]] = inputOf(source, width, height);
    var outputs = await session.run(feeds);
    show(answerOf(outputs), performance.now() - started, where);
  }

  // ------------------------------------------------------------ file upload

  async function bitmapOf(file) {
    if (typeof createImageBitmap === "function") {
      try { return await createImageBitmap(file, { imageOrientation: "from-image" }); } catch (e) { /* below */ }
    }
    var url = URL.createObjectURL(file);
    try {
      var img = new Image();
      img.src = url;
      await img.decode();
      return img;
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  async function onFile(event) {
    var file = event.target.files && event.target.files[0];
    if (!file || !session) return;
    $("file-message").textContent = "";
    try {
      var picture = await bitmapOf(file);
      var width = picture.width || picture.naturalWidth, height = picture.height || picture.naturalHeight;
      var preview = $("preview");
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = URL.createObjectURL(file);
      preview.src = previewUrl;
      preview.hidden = false;
      await classify(picture, width, height, file.name);
    } catch (err) {
      $("file-message").textContent = "This file could not be read as a picture (" + (err.message || err) +
        "). Choose a JPEG, PNG, GIF or WebP image.";
    }
  }

  // ------------------------------------------------------------ camera

  function cameraProblem(err) {
    var name = err && err.name;
    var text;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
      text = "The camera was not allowed. Allow the camera for this page (the camera icon in the address bar), " +
        "then press Start camera again.";
    } else if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      text = "No camera was found. Connect a camera, or upload a picture instead.";
    } else if (name === "NotReadableError" || name === "TrackStartError") {
      text = "The camera is busy: another program or tab is using it. Close that, then try again.";
    } else {
      text = "The camera could not be started (" + (err && err.message ? err.message : err) + ").";
    }
    if (location.protocol === "file:") {
      text += " Some browsers allow the camera only on pages served by a web server: in this folder run " +
        "\"python -m http.server 8000\" and open http://localhost:8000/ instead.";
    }
    return text;
  }

  async function startCamera() {
    var message = $("camera-message");
    message.textContent = "";
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      message.textContent = "This browser offers no camera to this page. Browsers allow the camera only on " +
        "https:// pages, on http://localhost and (most of them) on files opened from disk; upload a picture instead.";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false });
    } catch (err) {
      message.textContent = cameraProblem(err);
      return;
    }
    var video = $("video");
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    $("camera-start").disabled = true;
    $("camera-stop").disabled = false;
    loop();
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    $("video").hidden = true;
    $("camera-start").disabled = !session;
    $("camera-stop").disabled = true;
  }

  async function loop() {  // one frame at a time: the next is taken when the last answer is shown
    var video = $("video");
    if (!stream) return;
    if (!busy && video.videoWidth > 0) {
      busy = true;
      try { await classify(video, video.videoWidth, video.videoHeight, "camera"); } catch (err) {
        $("camera-message").textContent = "The camera picture could not be classified (" + (err.message || err) + ").";
      }
      busy = false;
    }
    requestAnimationFrame(loop);
  }

  // ------------------------------------------------------------ start

  async function start(runtime) {
    if (!hasWebAssembly()) return;
    if (!runtime || !runtime.InferenceSession) {
      setState("error", "The model runtime (ONNX Runtime Web) did not load in this browser. Open the page in " +
        "a recent Chrome, Edge, Firefox or Safari.", true);
      return;
    }
    window.ort = runtime;
    try {
      runtime.env.wasm.numThreads = 1;  // threads need a cross-origin-isolated server; a file has none
      runtime.env.wasm.proxy = false;  // no worker: a worker script cannot be loaded from a file
      runtime.env.wasm.wasmBinary = decodeBase64(window.TS_ORT_WASM).buffer;
      var started = performance.now();
      session = await runtime.InferenceSession.create(decodeBase64(window.TS_MODEL), { executionProviders: ["wasm"] });
      window.TS_ORT_WASM = window.TS_MODEL = null;  // the strings are no longer needed
      setState("ready", "Ready: choose a picture or start the camera (model loaded in " +
        Math.round(performance.now() - started) + " ms).", false);
      $("file").disabled = false;
      $("camera-start").disabled = false;
    } catch (err) {
      setState("error", "The model could not be loaded in this browser: " + (err.message || err), true);
    }
  }

  window.transferStudioStart = start;
  $("file").addEventListener("change", onFile);
  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", stopCamera);
  if (!hasWebAssembly()) {
    setState("no-webassembly", "This browser cannot run the model: it has no WebAssembly (or it is switched " +
      "off). Open this page in a recent Chrome, Edge, Firefox or Safari with WebAssembly allowed.", true);
  } else {
    setState("loading", "Loading the model…", false);
  }
})();
