// The platform's page: sign up / in / out, describe a clip and watch it being made (server-sent
// events with a preview frame; a reload picks running jobs up again), personal defaults and
// playback settings, the gallery (play, again with another seed, variations, download, share,
// delete) and the shared-clip view. Plain DOM, no framework; the server compiles this file.

interface Attributes { digit: number; colour: string; direction: string; speed: string; size: string }
interface JobAccepted { id: string; attributes: Attributes[]; defaults: Partial<Attributes>[]; drawn: Partial<Attributes>[]; ignored: string[]; text: string; seed: number; translation?: { from: string; english: string }; summary?: string }
interface JobView { id: string; status: string; progress: { position?: number; step?: number; steps?: number }; clipId?: string; error?: string; params: { text: string; model: string; seed: number } }
interface ClipView { id: string; text: string; caption?: string; attributes: Attributes[]; model: string; checkpoint: string; seed: number; steps: number; guidance: number; ms: number; shared: boolean; created: number }
interface Settings { colour?: string; speed?: string; size?: string; fps?: number; loop?: boolean; scale?: number }
interface ModelInfo { model: string; available: boolean }

interface DraftModule { draftClip(text: string, seed: number): Promise<{ frames: Float32Array; ms: number; loadMs: number; backend: string; step?: number }> }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let settings: Settings = {};
let ganAvailable = false;
// the in-browser draft's code (TensorFlow.js and the clip engine, ~650 KB) loads only when first used
let draftModule: Promise<DraftModule> | undefined;
const loadDraft = () => (draftModule ??= import('/draft.js' as string) as Promise<DraftModule>);

async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const r = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return undefined as T;
  const j = (await r.json().catch(() => ({}))) as { message?: string };
  if (!r.ok) throw new Error(j.message ?? `${r.status}`);
  return j as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

const describe = (a: Attributes) => `${a.size} ${a.colour} ${a.digit} moving ${a.direction} ${a.speed}`;

/** Plays a clip's PNG strip (16 frames side by side, 2-pixel gaps) on a canvas at the person's fps, loop and scale. */
function player(stripUrl: string): HTMLCanvasElement {
  const scale = settings.scale ?? 3, canvas = el('canvas', { width: 64 * scale, height: 64 * scale, title: 'click to play again' });
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  const img = new Image();
  let frame = 0, timer = 0;
  const draw = () => { ctx.drawImage(img, frame * 66, 0, 64, 64, 0, 0, 64 * scale, 64 * scale); };
  const play = () => {
    clearInterval(timer);
    frame = 0;
    timer = window.setInterval(() => {
      draw();
      frame += 1;
      if (frame === 16) { if (settings.loop === false) clearInterval(timer); frame = 0; }
    }, 1000 / (settings.fps ?? 8));
  };
  img.onload = play;
  canvas.onclick = play;
  img.src = stripUrl;
  return canvas;
}

/** Plays frames [16, 64, 64, 3] in [0, 1] (a draft made here) like player(). */
function framePlayer(frames: Float32Array): HTMLCanvasElement {
  const scale = settings.scale ?? 3, canvas = el('canvas', { width: 64 * scale, height: 64 * scale, title: 'draft' });
  const ctx = canvas.getContext('2d')!, small = el('canvas', { width: 64, height: 64 }), sctx = small.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  const images = Array.from({ length: 16 }, (_, f) => {
    const img = sctx.createImageData(64, 64);
    for (let i = 0; i < 64 * 64; i++) {
      for (let c = 0; c < 3; c++) img.data[i * 4 + c] = Math.round(Math.min(1, Math.max(0, frames[(f * 64 * 64 + i) * 3 + c])) * 255);
      img.data[i * 4 + 3] = 255;
    }
    return img;
  });
  let frame = 0;
  const timer = window.setInterval(() => {
    if (!canvas.isConnected && frame > 0) { clearInterval(timer); return; }
    sctx.putImageData(images[frame], 0, 0);
    ctx.drawImage(small, 0, 0, 64 * scale, 64 * scale);
    frame = (frame + 1) % 16;
    if (frame === 0 && settings.loop === false) clearInterval(timer);
  }, 1000 / (settings.fps ?? 8));
  return canvas;
}

/** A draft of the same text and seed from the GAN, made in this browser while the server works. */
function showDraft(card: HTMLElement, text: string, seed: number): void {
  const box = el('div', { className: 'draft' }, el('div', { className: 'meta', textContent: 'draft on this device: loading the GAN…' }));
  card.append(box);
  loadDraft().then((m) => m.draftClip(text, seed)).then((d) => {
    box.replaceChildren(framePlayer(d.frames), el('div', { className: 'meta', textContent: `draft on this device: GAN, ${d.ms} ms (${d.backend}; model loaded in ${d.loadMs} ms)` }));
    box.dataset.ready = '1';
  }, (e: Error) => { box.replaceChildren(el('div', { className: 'meta', textContent: `no draft: ${e.message}` })); });
}

function clipCard(c: ClipView, base: string, owner: boolean): HTMLElement {
  const card = el('div', { className: 'card' });
  card.dataset.clip = c.id;
  card.append(player(`${base}/clip.png`), el('div', {}, `“${c.text}”`));
  if (c.caption !== undefined) card.append(el('div', { className: 'meta', title: 'what the clip captioner reads in this clip' }, `captioner: “${c.caption}”`));
  if (c.attributes?.[0]) card.append(el('div', { className: 'meta' }, describe(c.attributes[0])));
  card.append(el('div', { className: 'meta' }, `${c.model}${c.checkpoint ? ` (${c.checkpoint})` : ''}, seed ${c.seed}${c.model === 'diffusion' ? `, ${c.steps} steps, guidance ${c.guidance}` : ''}, ${c.ms} ms`));
  const actions = el('div', { className: 'actions' });
  for (const ext of ['gif', 'mp4', 'png']) actions.append(el('a', { href: `${base}/clip.${ext}`, download: `clip.${ext}`, textContent: ext.toUpperCase() }));
  if (owner) {
    const again = (seed: number) => submit({ text: c.text, model: c.model, seed, ...(c.model === 'diffusion' ? { steps: c.steps, guidance: c.guidance } : {}) });
    actions.append(
      el('button', { textContent: 'Again', title: 'the same description with a new seed', onclick: () => void again(Math.floor(Math.random() * 2147483647)) }),
      el('button', { textContent: 'Variations', title: 'three clips with the next seeds', onclick: () => { for (let k = 1; k <= 3; k++) void again((c.seed + k) % 2147483648); } }),
      el('button', { textContent: c.shared ? 'Unshare' : 'Share', onclick: async () => {
        if (c.shared) { await api('DELETE', `/api/clips/${c.id}/share`); c.shared = false; } else {
          const s = await api<{ url: string }>('POST', `/api/clips/${c.id}/share`);
          c.shared = true;
          await navigator.clipboard?.writeText(location.origin + s.url).catch(() => undefined);
          actions.append(el('a', { href: s.url, textContent: 'share link' }));
        }
        (actions.querySelector('button:nth-of-type(3)') as HTMLButtonElement).textContent = c.shared ? 'Unshare' : 'Share';
      } }),
      el('button', { textContent: 'Delete', onclick: async () => { await api('DELETE', `/api/clips/${c.id}`); card.remove(); } }),
    );
  }
  card.append(actions);
  return card;
}

async function loadGallery(): Promise<void> {
  const { clips } = await api<{ clips: ClipView[] }>('GET', '/api/clips');
  $('gallery').replaceChildren(...clips.map((c) => clipCard(c, `/api/clips/${c.id}`, true)));
}

/** A job's live card: status, progress bar, preview frame, then the clip; EventSource reconnects with Last-Event-ID by itself. */
function watch(id: string, heading: string): HTMLElement | undefined {
  if (document.querySelector(`[data-job="${id}"]`)) return undefined;
  const status = el('div', { className: 'meta', textContent: 'queued' }), bar = el('progress', { max: 1, value: 0 }), preview = el('img', { width: 192, height: 192, alt: 'preview' });
  const card = el('div', { className: 'card' }, el('div', {}, heading), status, bar, preview);
  card.dataset.job = id;
  $('jobs').prepend(card);
  const es = new EventSource(`/api/jobs/${id}/events`);
  const end = () => { es.close(); };
  es.addEventListener('status', (e) => {
    const v = JSON.parse((e as MessageEvent).data as string) as JobView;
    status.textContent = v.status === 'queued' ? `queued, position ${v.progress.position}` : v.status;
    if (v.status === 'done' && v.clipId) void finish(v.clipId);
    if (v.status === 'failed' || v.status === 'cancelled') { status.textContent = `${v.status}${v.error ? `: ${v.error}` : ''}`; end(); }
  });
  es.addEventListener('queued', (e) => { status.textContent = `queued, position ${(JSON.parse((e as MessageEvent).data as string) as { position: number }).position}`; });
  es.addEventListener('running', () => { status.textContent = 'running'; });
  es.addEventListener('progress', (e) => {
    const p = JSON.parse((e as MessageEvent).data as string) as { step: number; steps: number; preview?: string };
    status.textContent = `step ${p.step} of ${p.steps}`;
    bar.max = p.steps; bar.value = p.step;
    if (p.preview) preview.src = p.preview;
  });
  const finish = async (clipId: string) => {
    end();
    const c = await api<ClipView>('GET', `/api/clips/${clipId}`), done = clipCard(c, `/api/clips/${clipId}`, true);
    // the draft made here stays beside the server's clip, for comparison
    const draft = card.querySelector('.draft');
    if (draft) done.append(draft);
    card.replaceWith(done);
    void loadGallery();
  };
  es.addEventListener('done', (e) => void finish((JSON.parse((e as MessageEvent).data as string) as { clipId: string }).clipId));
  es.addEventListener('failed', (e) => { status.textContent = `failed: ${(JSON.parse((e as MessageEvent).data as string) as { error: string }).error}`; end(); });
  es.addEventListener('cancelled', () => { status.textContent = 'cancelled'; end(); });
  card.append(el('button', { textContent: 'Cancel', onclick: () => void api('DELETE', `/api/jobs/${id}`).catch(() => undefined) }));
  return card;
}

async function submit(body: Record<string, unknown>): Promise<void> {
  $('composeerror').textContent = '';
  try {
    const j = await api<JobAccepted>('POST', '/api/jobs', body);
    const a = j.attributes[0], d = Object.keys(j.defaults[0] ?? {}), r = Object.keys(j.drawn[0] ?? {});
    const notes = [j.translation ? `${j.translation.from} read as “${j.translation.english}”` : '', j.summary !== undefined ? `summarised as “${j.summary}”` : '', d.length ? `defaults: ${d.join(', ')}` : '', r.length ? `drawn from the seed: ${r.join(', ')}` : '', j.ignored.length ? `ignored: ${j.ignored.join(', ')}` : ''].filter(Boolean).join('; ');
    const card = watch(j.id, `${describe(a)} (seed ${j.seed})${notes ? ` — ${notes}` : ''}`);
    if (card && ganAvailable && $<HTMLInputElement>('draft').checked) showDraft(card, j.text, j.seed);
  } catch (e) {
    $('composeerror').textContent = (e as Error).message;
  }
}

async function showApp(username: string): Promise<void> {
  $('auth').hidden = true; $('app').hidden = false; $('signout').hidden = false;
  $('who').textContent = username;
  const me = await api<{ settings: Settings }>('GET', '/api/me');
  settings = me.settings;
  for (const k of ['colour', 'speed', 'size'] as const) $<HTMLSelectElement>(`s-${k}`).value = settings[k] ?? '';
  $<HTMLInputElement>('s-fps').value = String(settings.fps ?? 8);
  $<HTMLInputElement>('s-loop').checked = settings.loop !== false;
  $<HTMLInputElement>('s-scale').value = String(settings.scale ?? 3);
  const { models } = await api<{ models: ModelInfo[] }>('GET', '/api/models');
  $('model').replaceChildren(...models.map((m) => el('option', { value: m.model, textContent: m.available ? m.model : `${m.model} (not available yet)`, disabled: !m.available })));
  ganAvailable = models.some((m) => m.model === 'gan' && m.available);
  $('draftrow').hidden = !ganAvailable;
  const first = models.find((m) => m.available);
  if (first) $<HTMLSelectElement>('model').value = first.model;
  const { jobs } = await api<{ jobs: JobView[] }>('GET', '/api/jobs');
  for (const j of jobs.filter((x) => x.status === 'queued' || x.status === 'running').reverse()) watch(j.id, `“${j.params.text}” (seed ${j.params.seed})`);
  await loadGallery();
}

/** The digits panel: a 28x28 drawing (or photo) and a damage mask, sent to the image models. */
function setupDigits(): void {
  const view = $<HTMLCanvasElement>('d-canvas'), vc = view.getContext('2d')!;
  const layer = () => { const c = document.createElement('canvas'); c.width = c.height = 28; return [c, c.getContext('2d')!] as const; };
  const [img, ic] = layer(), [mask, mc] = layer();
  const redraw = () => {
    vc.imageSmoothingEnabled = false;
    vc.drawImage(img, 0, 0, view.width, view.height);
    vc.globalAlpha = 0.5; vc.drawImage(mask, 0, 0, view.width, view.height); vc.globalAlpha = 1;
  };
  const clear = () => { ic.fillStyle = '#000'; ic.fillRect(0, 0, 28, 28); mc.clearRect(0, 0, 28, 28); redraw(); };
  const pen = () => (document.querySelector<HTMLInputElement>('input[name=d-pen]:checked')?.value ?? 'draw');
  const dot = (e: PointerEvent) => {
    const r = view.getBoundingClientRect(), x = ((e.clientX - r.left) / r.width) * 28, y = ((e.clientY - r.top) / r.height) * 28;
    const c = pen() === 'mark' ? mc : ic;
    c.fillStyle = pen() === 'mark' ? '#f00' : '#fff';
    c.beginPath(); c.arc(x, y, pen() === 'mark' ? 2 : 1.3, 0, 2 * Math.PI); c.fill();
    redraw();
  };
  view.onpointerdown = (e) => { view.setPointerCapture(e.pointerId); dot(e); };
  view.onpointermove = (e) => { if (e.buttons) dot(e); };
  $('d-clear').onclick = clear;
  $<HTMLInputElement>('d-file').onchange = async () => {
    const f = $<HTMLInputElement>('d-file').files?.[0];
    if (!f) return;
    try {
      const b = await createImageBitmap(f);
      ic.fillStyle = '#000'; ic.fillRect(0, 0, 28, 28); ic.drawImage(b, 0, 0, 28, 28); redraw();
    } catch { $('d-error').textContent = 'that file is not an image this browser can read'; }
  };
  // the mask goes as white where marked, black elsewhere
  const maskPng = () => {
    const [out, oc] = layer(), d = mc.getImageData(0, 0, 28, 28), o = oc.createImageData(28, 28);
    for (let i = 0; i < 784; i++) { const v = d.data[4 * i + 3] > 0 ? 255 : 0; o.data.set([v, v, v, 255], 4 * i); }
    oc.putImageData(o, 0, 0);
    return out.toDataURL('image/png');
  };
  const digit = () => ($<HTMLSelectElement>('d-digit').value === '' ? undefined : Number($<HTMLSelectElement>('d-digit').value));
  const show = (urls: string[]) => $('d-results').replaceChildren(...urls.map((u) => el('img', { src: u, className: 'digit', alt: 'a digit the model drew' })));
  const go = (p: Promise<string[]>) => { $('d-error').textContent = ''; $('d-results').textContent = 'working...'; p.then(show).catch((x: Error) => { $('d-results').textContent = ''; $('d-error').textContent = x.message; }); };
  const seed = () => Math.floor(Math.random() * 2147483647);
  $('d-restore').onclick = () => go(api<{ image: string }>('POST', '/api/images/restore', { image: img.toDataURL('image/png'), mask: maskPng(), digit: digit(), seed: seed() }).then((r) => [r.image]));
  $('d-sketch').onclick = () => go(api<{ images: string[] }>('POST', '/api/images/sketch', { image: img.toDataURL('image/png'), n: 4, digit: digit(), seed: seed() }).then((r) => r.images));
  clear();
}

/** A recording as a 16-bit mono WAV at its own sample rate: the browser decodes whatever MediaRecorder wrote (WebM/Opus, Ogg, MP4). */
async function recordingToWav(blob: Blob): Promise<ArrayBuffer> {
  const ctx = new AudioContext(), buf = await ctx.decodeAudioData(await blob.arrayBuffer());
  await ctx.close();
  const n = buf.length, mono = new Float32Array(n);
  for (let c = 0; c < buf.numberOfChannels; c++) { const d = buf.getChannelData(c); for (let i = 0; i < n; i++) mono[i] += d[i] / buf.numberOfChannels; }
  const out = new DataView(new ArrayBuffer(44 + 2 * n)), str = (o: number, t: string) => { for (let i = 0; i < 4; i++) out.setUint8(o + i, t.charCodeAt(i)); };
  str(0, 'RIFF'); out.setUint32(4, 36 + 2 * n, true); str(8, 'WAVE'); str(12, 'fmt ');
  out.setUint32(16, 16, true); out.setUint16(20, 1, true); out.setUint16(22, 1, true); out.setUint32(24, buf.sampleRate, true);
  out.setUint32(28, 2 * buf.sampleRate, true); out.setUint16(32, 2, true); out.setUint16(34, 16, true); str(36, 'data'); out.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) out.setInt16(44 + 2 * i, Math.round(Math.max(-1, Math.min(1, mono[i])) * 32767), true);
  return out.buffer;
}

/** The microphone button: record a spoken prompt (at most 15 s), the server transcribes it, the words go into the text box to edit before Make. */
function setupVoice(): void {
  const btn = $<HTMLButtonElement>('mic'), note = $('micnote');
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') { btn.hidden = true; return; }
  let rec: MediaRecorder | undefined;
  btn.onclick = async () => {
    if (rec) { rec.stop(); return; }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) { note.textContent = `no microphone: ${(e as Error).message}`; return; }
    const chunks: Blob[] = [], r = new MediaRecorder(stream);
    rec = r;
    r.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    r.onstop = async () => {
      stream.getTracks().forEach((t) => t.stop());
      rec = undefined; btn.textContent = 'Speak'; note.textContent = 'listening to the recording...';
      try {
        const wav = await recordingToWav(new Blob(chunks, { type: r.mimeType }));
        const res = await fetch('/api/voice', { method: 'POST', headers: { 'content-type': 'audio/wav' }, body: wav });
        const j = (await res.json().catch(() => ({}))) as { text?: string; message?: string };
        if (!res.ok) throw new Error(j.message ?? `${res.status}`);
        $<HTMLInputElement>('text').value = j.text ?? '';
        $<HTMLInputElement>('text').focus();
        note.textContent = j.text ? `heard "${j.text}": edit it if it is wrong, then Make` : 'heard no words; try again, nearer the microphone';
      } catch (e) { note.textContent = `the recording could not be read: ${(e as Error).message}`; }
    };
    r.start(); btn.textContent = 'Stop'; note.textContent = 'recording: say the clip, then Stop';
    setTimeout(() => { if (r.state === 'recording') r.stop(); }, 15_000);
  };
}

function showAuth(): void {
  $('auth').hidden = false; $('app').hidden = true; $('signout').hidden = true; $('who').textContent = '';
}

async function main(): Promise<void> {
  const shared = /^\/shared\/([A-Za-z0-9_-]{43})$/.exec(location.pathname);
  if (shared) {
    const base = `/api/shared/${shared[1]}`;
    try {
      const c = await api<ClipView>('GET', base);
      $('shared').replaceChildren(clipCard(c, base, false));
    } catch (e) {
      $('shared').textContent = (e as Error).message;
    }
    $('shared').hidden = false;
    return;
  }
  const creds = () => ({ username: $<HTMLInputElement>('username').value.trim(), password: $<HTMLInputElement>('password').value });
  const signIn = async () => { const r = await api<{ username: string }>('POST', '/api/sessions', creds()); await showApp(r.username); };
  $('authform').onsubmit = (e) => { e.preventDefault(); $('autherror').textContent = ''; signIn().catch((x: Error) => { $('autherror').textContent = x.message; }); };
  $('signup').onclick = () => { $('autherror').textContent = ''; api('POST', '/api/users', creds()).then(signIn).catch((x: Error) => { $('autherror').textContent = x.message; }); };
  $('signout').onclick = () => { void api('DELETE', '/api/sessions').then(showAuth); };
  setupDigits();
  setupVoice();
  $('model').onchange = () => { for (const n of document.querySelectorAll<HTMLElement>('.diffusion')) n.hidden = $<HTMLSelectElement>('model').value !== 'diffusion'; };
  $('compose').onsubmit = (e) => {
    e.preventDefault();
    const num = (id: string) => ($<HTMLInputElement>(id).value === '' ? undefined : Number($<HTMLInputElement>(id).value));
    const model = $<HTMLSelectElement>('model').value, seed = num('seed') ?? Math.floor(Math.random() * 2147483647), n = Math.min(4, Math.max(1, num('count') ?? 1));
    for (let k = 0; k < n; k++) {
      void submit({ text: $<HTMLInputElement>('text').value, model, seed: (seed + k) % 2147483648, ...($<HTMLInputElement>('summarise').checked ? { summarise: true } : {}), ...(model === 'diffusion' ? { steps: num('steps'), guidance: num('guidance') } : {}) });
    }
  };
  $('settingsform').onsubmit = (e) => {
    e.preventDefault();
    const pick = (k: string) => $<HTMLSelectElement>(`s-${k}`).value || undefined;
    const s: Settings = { colour: pick('colour'), speed: pick('speed'), size: pick('size'), fps: Number($<HTMLInputElement>('s-fps').value), loop: $<HTMLInputElement>('s-loop').checked, scale: Number($<HTMLInputElement>('s-scale').value) };
    api<{ settings: Settings }>('PUT', '/api/me/settings', JSON.parse(JSON.stringify(s))).then((r) => { settings = r.settings; $('saved').textContent = 'saved'; void loadGallery(); }).catch((x: Error) => { $('saved').textContent = x.message; });
  };
  try {
    const me = await api<{ username: string }>('GET', '/api/me');
    await showApp(me.username);
  } catch {
    showAuth();
  }
}

void main();
