// X-ray viewer: the display PNG carries 16-bit values in red (high byte) and green
// (low byte), so window/level is applied here at full depth. Boxes are in image pixels.
(function () {
  const root = document.querySelector(".imaging-viewer");
  if (!root) return;
  const canvas = root.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const boxes = JSON.parse(document.getElementById("imaging-boxes").textContent);
  const vmin = parseFloat(root.dataset.valueMin), vmax = parseFloat(root.dataset.valueMax);
  const defaults = { center: parseFloat(root.dataset.windowCenter), width: parseFloat(root.dataset.windowWidth) };
  const center = root.querySelector("input[name=center]"), width = root.querySelector("input[name=width]");
  const showBoxes = root.querySelector("input[name=boxes]"), showHeat = root.querySelector("input[name=heatmap]");
  center.min = vmin; center.max = vmax; width.min = 1; width.max = Math.max(vmax - vmin, 1) * 2;
  let values = null, w = 0, h = 0, windowed = document.createElement("canvas"), heat = null;
  let zoom = 1, panX = 0, panY = 0;

  function reset() { center.value = defaults.center; width.value = defaults.width; zoom = 1; panX = panY = 0; applyWindow(); }

  function applyWindow() {
    if (!values) return;
    const c = parseFloat(center.value), ww = Math.max(parseFloat(width.value), 1);
    const low = c - 0.5 - (ww - 1) / 2, wctx = windowed.getContext("2d");
    const out = wctx.createImageData(w, h);
    for (let i = 0; i < values.length; i++) {
      const v = Math.min(255, Math.max(0, ((values[i] - low) / (ww - 1)) * 255));
      out.data[4 * i] = out.data[4 * i + 1] = out.data[4 * i + 2] = v; out.data[4 * i + 3] = 255;
    }
    wctx.putImageData(out, 0, 0);
    draw();
  }

  function draw() {
    const fit = Math.min(canvas.width / w, canvas.height / h) * zoom;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(fit, 0, 0, fit, (canvas.width - w * fit) / 2 + panX, (canvas.height - h * fit) / 2 + panY);
    ctx.imageSmoothingEnabled = zoom < 2;
    ctx.drawImage(windowed, 0, 0);
    if (heat && showHeat && showHeat.checked) ctx.drawImage(heat, 0, 0, w, h);
    if (showBoxes.checked) {
      ctx.lineWidth = 2 / fit; ctx.font = `${14 / fit}px sans-serif`;
      for (const f of boxes) {
        ctx.strokeStyle = ctx.fillStyle = f.verdict === "rejected" ? "#888" : (f.verdict === "pending" ? "#ffb000" : "#00d06c");
        const [x1, y1, x2, y2] = f.box;
        ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
        ctx.fillText(`#${f.id} ${f.label}${f.confidence != null ? " " + f.confidence.toFixed(2) : ""}`, x1, y1 - 4 / fit);
      }
    }
  }

  function loadImage(url) {
    return new Promise((resolve, reject) => { const img = new Image(); img.onload = () => resolve(img); img.onerror = reject; img.src = url; });
  }

  loadImage(root.dataset.imageUrl).then((img) => {
    w = img.naturalWidth; h = img.naturalHeight; windowed.width = w; windowed.height = h;
    const scratch = document.createElement("canvas"); scratch.width = w; scratch.height = h;
    const sctx = scratch.getContext("2d"); sctx.drawImage(img, 0, 0);
    const rgba = sctx.getImageData(0, 0, w, h).data;
    values = new Float32Array(w * h);
    const scale = (vmax - vmin) / 65535;
    for (let i = 0; i < values.length; i++) values[i] = vmin + (rgba[4 * i] * 256 + rgba[4 * i + 1]) * scale;
    reset();
  });
  if (root.dataset.heatmapUrl) loadImage(root.dataset.heatmapUrl).then((img) => { heat = img; draw(); });

  center.addEventListener("input", applyWindow); width.addEventListener("input", applyWindow);
  showBoxes.addEventListener("change", draw); if (showHeat) showHeat.addEventListener("change", draw);
  root.querySelector("[data-action=reset]").addEventListener("click", reset);
  root.querySelector("[data-action=zoom-in]").addEventListener("click", () => { zoom *= 1.25; draw(); });
  root.querySelector("[data-action=zoom-out]").addEventListener("click", () => { zoom = Math.max(0.25, zoom / 1.25); draw(); });
  canvas.addEventListener("wheel", (e) => { e.preventDefault(); zoom = Math.min(16, Math.max(0.25, zoom * (e.deltaY < 0 ? 1.1 : 1 / 1.1))); draw(); });
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, wl: e.shiftKey }; canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener("pointerup", () => { drag = null; });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y; drag.x = e.clientX; drag.y = e.clientY;
    if (drag.wl) {  // shift-drag: horizontal = width, vertical = level, as on PACS workstations
      const step = (vmax - vmin) / 500;
      width.value = Math.max(1, parseFloat(width.value) + dx * step); center.value = parseFloat(center.value) + dy * step;
      applyWindow();
    } else { panX += dx; panY += dy; draw(); }
  });
})();
