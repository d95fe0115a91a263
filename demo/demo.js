/* The demo page: draw digits on a 64x84 canvas and watch a trained model label every pixel, in the browser.
 *
 * Everything the page needs sits beside this script in _static/demo/ (written by demo/segmentation_demo.py):
 * book-data.js (class names, palette, sample images), ONNX Runtime Web (ort.wasm.min.js, with its WebAssembly
 * in ort-wasm-embedded.js) and one model-<name>.js per model. They are loaded with <script> elements, never with
 * fetch(), so the page also works when opened as a plain file. The model runs after every change of the drawing,
 * one run at a time; the page says in words when the canvas is empty, when it is mostly ink, and when a file
 * is missing or damaged.
 */
(() => {
  "use strict";

  const BASE_URL = document.currentScript.src.replace(/[^/]*$/, "");
  const DEFAULT_MODEL = "unet";
  const BRUSHES = { thin: 1.1, medium: 1.6, thick: 2.6 }; // radius in image pixels; MNIST strokes are 2-4 wide
  const MOSTLY_INK = 0.5; // share of inked pixels above which the canvas looks nothing like M2NIST
  const TIMING_WINDOW = 25; // runs in the median latency shown per model

  let book, root, ui;
  let image; // grey levels 0..255 of the drawing, row by row, as the models read them
  const sessions = {}; // model name -> Promise of an ONNX Runtime session
  const loadedModels = new Set();
  const timings = {}; // model name -> latest run times in ms
  let probabilities = null; // the last softmax output, (64, 84, 11) flattened
  let running = false;
  let pending = false;
  let runs = 0;

  function element(tag, attributes = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function loadScript(file) {
    return new Promise((resolve, reject) => {
      const script = element("script", { src: BASE_URL + file });
      script.onload = resolve;
      script.onerror = () => reject(new Error(`the file ${file} is missing or could not be read`));
      document.head.append(script);
    });
  }

  function decodeBase64(text, file) {
    if (typeof text !== "string") throw new Error(`the file ${file} is damaged: it holds no data`);
    try {
      if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
      const binary = atob(text);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return bytes;
    } catch (error) {
      throw new Error(`the file ${file} is damaged (${error.message})`);
    }
  }

  let runtimeReady = null;
  function loadRuntime() {
    runtimeReady ??= (async () => {
      await loadScript("ort.wasm.min.js");
      await loadScript("ort-wasm-embedded.js");
      const runtime = window.segmentationDemoRuntime;
      if (!window.ort || !runtime) throw new Error("the ONNX Runtime Web files are damaged");
      ort.env.logLevel = "error";
      ort.env.wasm.numThreads = 1; // a page opened as a file, or served plainly, cannot share memory with workers
      ort.env.wasm.wasmBinary = decodeBase64(runtime.wasm, "ort-wasm-embedded.js");
      const glue = new Blob([runtime.glue], { type: "text/javascript" });
      ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(glue) };
      delete window.segmentationDemoRuntime;
    })();
    return runtimeReady;
  }

  function loadSession(name) {
    sessions[name] ??= (async () => {
      await loadRuntime();
      const file = `model-${name}.js`;
      await loadScript(file);
      const bytes = decodeBase64((window.segmentationDemoModels || {})[name], file);
      delete window.segmentationDemoModels[name];
      try {
        const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
        loadedModels.add(name);
        return session;
      } catch (error) {
        throw new Error(`the file ${file} is damaged: ONNX Runtime cannot read it (${error.message || error})`);
      }
    })();
    sessions[name].catch(() => delete sessions[name]); // a later choice of the same model tries again
    return sessions[name];
  }

  function buildInterface() {
    const { height, width } = book;
    const modelChoice = element("select", { "aria-label": "model" });
    for (const [name, label] of Object.entries(book.models)) modelChoice.append(new Option(label, name));
    modelChoice.value = DEFAULT_MODEL in book.models ? DEFAULT_MODEL : modelChoice.options[0].value;
    const brushChoice = element("select", { "aria-label": "brush" });
    for (const name of Object.keys(BRUSHES)) brushChoice.append(new Option(`${name} brush`, name));
    brushChoice.value = "medium";
    brushChoice.append(new Option("eraser", "eraser"));
    const sampleButtons = book.samples.map((sample, i) =>
      element("button", { type: "button", "data-sample": i }, [`Sample ${i + 1}: ${sample.digits.join(" ")}`]));
    const clearButton = element("button", { type: "button", class: "demo-clear" }, ["Clear"]);
    const input = element("canvas", { width, height, class: "demo-input", "aria-label": "drawing canvas" });
    const output = element("canvas", { width, height, class: "demo-output", "aria-label": "predicted class map" });
    const outputTitle = element("figcaption");
    const legend = element("ul", { class: "demo-legend" }, book.class_names.map((name, k) =>
      element("li", {}, [element("span", { class: "demo-swatch", style: `background:${book.palette[k]}` }), name])));
    ui = {
      modelChoice, brushChoice, input, output, outputTitle,
      status: element("p", { class: "demo-status", role: "status" }),
      timing: element("p", { class: "demo-timing" }),
      readout: element("p", { class: "demo-readout" }),
    };
    root.replaceChildren(
      element("div", { class: "demo-controls" }, [modelChoice, brushChoice, clearButton, ...sampleButtons]),
      element("div", { class: "demo-panels" }, [
        element("figure", {}, [input, element("figcaption", {}, [`Your drawing (${height} x ${width} pixels)`])]),
        element("figure", {}, [output, outputTitle]),
      ]),
      ui.status, legend, ui.readout, ui.timing);
    modelChoice.addEventListener("change", () => requestPrediction());
    clearButton.addEventListener("click", () => setImage(new Uint8Array(image.length)));
    sampleButtons.forEach((button, i) =>
      button.addEventListener("click", () => setImage(decodeBase64(book.samples[i].pixels, "book-data.js"))));
    listenToPointer();
  }

  function pixelAt(canvas, event) {
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * book.width - 0.5,
      y: ((event.clientY - box.top) / box.height) * book.height - 0.5,
    };
  }

  /* One dab of the brush at (x, y): full ink within the radius, a one-pixel soft edge, never lighter than before. */
  function dab(x, y, erase) {
    const radius = erase ? BRUSHES.thick : BRUSHES[ui.brushChoice.value];
    for (let row = Math.floor(y - radius - 1); row <= Math.ceil(y + radius + 1); row++) {
      for (let col = Math.floor(x - radius - 1); col <= Math.ceil(x + radius + 1); col++) {
        if (row < 0 || row >= book.height || col < 0 || col >= book.width) continue;
        const cover = Math.min(1, Math.max(0, radius + 0.5 - Math.hypot(col - x, row - y)));
        const index = row * book.width + col;
        image[index] = erase ? Math.min(image[index], 255 * (1 - cover)) : Math.max(image[index], 255 * cover);
      }
    }
  }

  function listenToPointer() {
    let last = null;
    ui.input.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      ui.input.setPointerCapture(event.pointerId);
      last = pixelAt(ui.input, event);
      dab(last.x, last.y, ui.brushChoice.value === "eraser");
      drawInput();
      requestPrediction();
    });
    ui.input.addEventListener("pointermove", (event) => {
      const point = pixelAt(ui.input, event);
      if (last) {
        const steps = Math.max(1, Math.ceil(4 * Math.hypot(point.x - last.x, point.y - last.y)));
        for (let step = 1; step <= steps; step++) {
          const t = step / steps;
          dab(last.x + t * (point.x - last.x), last.y + t * (point.y - last.y), ui.brushChoice.value === "eraser");
        }
        last = point;
        drawInput();
        requestPrediction();
      }
      showPixel(point);
    });
    const endStroke = () => { last = null; };
    ui.input.addEventListener("pointerup", endStroke);
    ui.input.addEventListener("pointercancel", endStroke);
    ui.output.addEventListener("pointermove", (event) => showPixel(pixelAt(ui.output, event)));
    for (const canvas of [ui.input, ui.output]) canvas.addEventListener("pointerleave", () => showPixel(null));
  }

  function setImage(pixels) {
    image.set(pixels);
    drawInput();
    requestPrediction();
  }

  function drawInput() {
    const picture = new ImageData(book.width, book.height);
    image.forEach((grey, i) => picture.data.set([grey, grey, grey, 255], 4 * i));
    ui.input.getContext("2d").putImageData(picture, 0, 0);
  }

  function drawClassMap(classes) {
    const colours = book.palette.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
    const picture = new ImageData(book.width, book.height);
    classes.forEach((k, i) => picture.data.set([...colours[k], 255], 4 * i));
    ui.output.getContext("2d").putImageData(picture, 0, 0);
  }

  /* The class of every pixel (the most probable one) from the softmax output. */
  function argmaxClasses(scores) {
    const classes = new Uint8Array(image.length);
    const n = book.class_names.length;
    for (let i = 0; i < classes.length; i++) {
      let best = 0;
      for (let k = 1; k < n; k++) if (scores[i * n + k] > scores[i * n + best]) best = k;
      classes[i] = best;
    }
    return classes;
  }

  function showPixel(point) {
    const row = point && Math.round(point.y);
    const col = point && Math.round(point.x);
    if (!point || !probabilities || row < 0 || row >= book.height || col < 0 || col >= book.width) {
      ui.readout.textContent = "Point at a pixel of either image to see its class and how confident the model is.";
      return;
    }
    const n = book.class_names.length;
    const scores = Array.from(probabilities.subarray((row * book.width + col) * n, (row * book.width + col + 1) * n));
    const ranked = scores.map((p, k) => [p, k]).sort((a, b) => b[0] - a[0]);
    const percent = (p) => `${(100 * p).toFixed(1)} %`;
    const [[p1, k1], [p2, k2]] = ranked;
    ui.readout.textContent = `Row ${row}, column ${col} (grey level ${image[row * book.width + col]}): ` +
      `${book.class_names[k1]} with ${percent(p1)} confidence; next ${book.class_names[k2]} with ${percent(p2)}.`;
  }

  function describeCanvas() {
    const inked = image.reduce((count, grey) => count + (grey > 127), 0) / image.length;
    if (image.every((grey) => grey === 0)) {
      return "The canvas is empty, so every pixel is background. Draw two or three digits, or start from a sample.";
    }
    if (inked > MOSTLY_INK) {
      return `Ink covers ${Math.round(100 * inked)} % of the canvas. The models learned from images in which a ` +
        "few thin digits cover a small part of the canvas, so their labels for this one say little. Clear it " +
        "and draw digits instead.";
    }
    return "";
  }

  function requestPrediction() {
    pending = true;
    root.dataset.busy = "true"; // cleared once no run is left to do
    if (!running) predictWhilePending();
  }

  async function predictWhilePending() {
    running = true;
    while (pending) {
      pending = false;
      await predictOnce(ui.modelChoice.value);
    }
    running = false;
    root.dataset.busy = "false";
  }

  async function predictOnce(name) {
    const label = book.models[name];
    root.dataset.model = name;
    try {
      if (!loadedModels.has(name)) setStatus("loading", `Loading ${label}...`);
      const session = await loadSession(name);
      const input = new ort.Tensor("float32", Float32Array.from(image), [1, book.height, book.width, 1]);
      const start = performance.now();
      const result = await session.run({ [session.inputNames[0]]: input });
      const milliseconds = performance.now() - start;
      probabilities = result[session.outputNames[0]].data;
      drawClassMap(argmaxClasses(probabilities));
      ui.output.classList.remove("demo-none");
      ui.outputTitle.textContent = `${label}'s class map`;
      recordTiming(name, label, milliseconds);
      runs += 1;
      root.dataset.runs = runs;
      setStatus("ready", describeCanvas());
    } catch (error) {
      probabilities = null;
      ui.output.getContext("2d").clearRect(0, 0, book.width, book.height);
      ui.output.classList.add("demo-none");
      ui.outputTitle.textContent = `No class map from ${label}`;
      ui.timing.textContent = "";
      setStatus("error", `${label} cannot run: ${error.message || error}. Choose another model, or build the ` +
        "book again to restore its files.");
    }
  }

  function recordTiming(name, label, milliseconds) {
    timings[name] = [...(timings[name] || []), milliseconds].slice(-TIMING_WINDOW);
    const sorted = [...timings[name]].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    root.dataset.lastMs = milliseconds.toFixed(2);
    const summary = sorted.length > 1 ? ` (median of its last ${sorted.length} runs: ${median.toFixed(1)} ms)` : "";
    ui.timing.textContent = `${label} labelled this image in ${milliseconds.toFixed(1)} ms in your browser${summary}.`;
  }

  function setStatus(state, message) {
    root.dataset.state = state;
    ui.status.textContent = message;
    ui.status.classList.toggle("demo-error", state === "error");
  }

  async function start() {
    root = document.getElementById("segmentation-demo");
    if (!root) return;
    try {
      await loadScript("book-data.js");
      book = window.segmentationDemoBook;
      if (!book) throw new Error("the file book-data.js is damaged");
    } catch (error) {
      root.dataset.state = "error";
      root.querySelector(".demo-status").textContent = `The demo cannot start: ${error.message}.`;
      return;
    }
    image = new Uint8ClampedArray(book.height * book.width);
    buildInterface();
    showPixel(null);
    setImage(decodeBase64(book.samples[0].pixels, "book-data.js"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
