/**
 * The codebook inspector of one stored tokenizer: per-level usage histograms, a 2-D PCA scatter of
 * item latents and codebook vectors (coloured by level-1 code, with axes, zoom and pan, a legend of
 * the codes in use, dead codes marked; hover for title/asin/code), collision groups, a prefix-tree
 * browser, item search with the code path and nearest codes, and a comparison of two tokenizers
 * (partition agreement per level; changed codes where the ids line up). Plain SVG: thousands of
 * points stay cheap.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { TokenizerSummary, TokenizerView } from '../../../../workers/tokenizerApi.ts';
import { useTokenizerStore } from '../../stores/tokenizer.ts';
import { ErrorBox } from '../ErrorBox.tsx';
import { niceStep, tickFormatter } from '../chartMath.ts';

function colorOf(code: number): string {
  return `hsl(${(code * 137.508) % 360}, 65%, 48%)`;
}

const pct1 = (x: number) => `${(x * 100).toFixed(1)} %`;

function codeText(v: TokenizerView, id: number): string {
  const c = v.codes;
  return `⟨${c[id * 4]}, ${c[id * 4 + 1]}, ${c[id * 4 + 2]} | ${c[id * 4 + 3]}⟩`;
}

function itemLabel(v: TokenizerView, id: number): string {
  const t = v.titles[id - 1];
  return `#${id} ${v.asins[id - 1]}${t ? ` — ${t}` : ''}`;
}

function UsageHistogram({ counts, level }: { counts: number[]; level: number }) {
  const K = counts.length;
  const max = Math.max(1, ...counts);
  const used = counts.filter((c) => c > 0).length;
  const W = 512;
  const H = 90;
  const bw = W / K;
  const [hover, setHover] = useState<number | null>(null);
  return (
    <div className="tok-hist" data-testid={`tok-usage-l${level}`} data-bars={K} data-used={used}>
      <div className="row spread small">
        <strong>Level {level}</strong>
        <span className="muted">
          {used} of {K} codes used · {K - used} dead · max {max}
          {hover !== null && <span data-testid="tok-usage-hover"> · code {hover}: {counts[hover]} items</span>}
        </span>
      </div>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" height={H} preserveAspectRatio="none" role="img" aria-label={`Level ${level} code usage`} onMouseLeave={() => setHover(null)}>
        {counts.map((c, i) => (
          <rect
            key={i}
            x={i * bw}
            y={H - (c / max) * (H - 2)}
            width={Math.max(0.5, bw - (bw > 2 ? 0.5 : 0))}
            height={(c / max) * (H - 2)}
            fill={c === 0 ? 'transparent' : colorOf(i)}
            onMouseEnter={() => setHover(i)}
          />
        ))}
        {counts.map((c, i) => (c === 0 ? <rect key={`d${i}`} x={i * bw} y={H - 2} width={Math.max(0.5, bw - 0.5)} height={2} fill="#c0392b" opacity={0.5} /> : null))}
      </svg>
    </div>
  );
}

const MAX_DOTS = 4000;

type Hover = { kind: 'item'; id: number } | { kind: 'code'; level: number; code: number } | null;

interface Domain { x0: number; x1: number; y0: number; y1: number }

/** Ticks `step` apart inside [lo, hi]. */
function ticksIn(lo: number, hi: number): { values: number[]; format: (v: number) => string } {
  const step = niceStep(hi - lo, 5);
  const values: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9 && values.length < 50; v += step) values.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { values, format: tickFormatter(step, { maxAbs: Math.max(Math.abs(lo), Math.abs(hi)) }) };
}

/** The domain scaled by `f` about the data point (cx, cy) (f < 1 zooms in). */
function zoomAbout(d: Domain, cx: number, cy: number, f: number): Domain {
  return { x0: cx + (d.x0 - cx) * f, x1: cx + (d.x1 - cx) * f, y0: cy + (d.y0 - cy) * f, y1: cy + (d.y1 - cy) * f };
}

function PcaScatter({ v, onPick }: { v: TokenizerView; onPick: (id: number) => void }) {
  const [level, setLevel] = useState(0);
  const [showItems, setShowItems] = useState(true);
  const [showDead, setShowDead] = useState(true);
  const [hover, setHover] = useState<Hover>(null);
  const [focus, setFocus] = useState<number | null>(null);
  const [zoomed, setZoomed] = useState<Domain | null>(null);
  const svgRef = useRef<SVGSVGElement | null>(null);
  const drag = useRef<{ px: number; py: number; d: Domain; moved: boolean } | null>(null);
  const book = v.codebookPca[level];
  const items = level === 0 && showItems ? v.latentPca : null;
  const W = 520;
  const H = 400;
  const M = { l: 52, r: 10, t: 10, b: 38 };
  const PW = W - M.l - M.r;
  const PH = H - M.t - M.b;
  const fit = useMemo((): Domain => {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    const add = (xs: Float32Array, ys: Float32Array) => {
      for (let i = 0; i < xs.length; i++) {
        x0 = Math.min(x0, xs[i]); x1 = Math.max(x1, xs[i]); y0 = Math.min(y0, ys[i]); y1 = Math.max(y1, ys[i]);
      }
    };
    add(book.x, book.y);
    if (items) add(items.x, items.y);
    if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
    if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
    const px = (x1 - x0) * 0.04;
    const py = (y1 - y0) * 0.04;
    return { x0: x0 - px, x1: x1 + px, y0: y0 - py, y1: y1 + py };
  }, [book, items]);
  const dom = zoomed ?? fit;
  const sx = (x: number) => M.l + ((x - dom.x0) / (dom.x1 - dom.x0)) * PW;
  const sy = (y: number) => M.t + PH - ((y - dom.y0) / (dom.y1 - dom.y0)) * PH;
  const usage = v.usage[level];
  const n = v.summary.items;
  const K = usage.length;
  const dead = usage.filter((u) => u === 0).length;
  const explained = (items ?? book).explained;
  // SVG stays responsive up to a few thousand dots: larger tables are thinned evenly.
  const stride = items ? Math.max(1, Math.ceil(items.x.length / MAX_DOTS)) : 1;
  const codesShown = Array.from({ length: book.x.length }, (_, c) => c).filter((c) => showDead || usage[c] > 0);
  const byUse = useMemo(() => Array.from({ length: K }, (_, c) => c).filter((c) => usage[c] > 0).sort((a, b) => usage[b] - usage[a] || a - b), [usage, K]);
  const zoomFactor = (fit.x1 - fit.x0) / (dom.x1 - dom.x0);
  const xt = ticksIn(dom.x0, dom.x1);
  const yt = ticksIn(dom.y0, dom.y1);

  // the data point under a client position
  const toData = (clientX: number, clientY: number) => {
    const r = svgRef.current?.getBoundingClientRect();
    if (!r) return { x: (dom.x0 + dom.x1) / 2, y: (dom.y0 + dom.y1) / 2 };
    const px = ((clientX - r.left) / r.width) * W;
    const py = ((clientY - r.top) / r.height) * H;
    return { x: dom.x0 + ((px - M.l) / PW) * (dom.x1 - dom.x0), y: dom.y0 + ((M.t + PH - py) / PH) * (dom.y1 - dom.y0) };
  };
  const domRef = useRef(dom);
  domRef.current = dom;
  // wheel zoom about the cursor (a non-passive listener: the page must not scroll meanwhile)
  useEffect(() => {
    const el = svgRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const p = toDataRef.current(e.clientX, e.clientY);
      setZoomed(zoomAbout(domRef.current, p.x, p.y, e.deltaY < 0 ? 1 / 1.25 : 1.25));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, []);
  const toDataRef = useRef(toData);
  toDataRef.current = toData;
  const zoomBy = (f: number) => setZoomed(zoomAbout(dom, (dom.x0 + dom.x1) / 2, (dom.y0 + dom.y1) / 2, f));
  const changeLevel = (l: number) => { setLevel(l); setZoomed(null); setFocus(null); };
  const dim = (code: number) => focus !== null && code !== focus;

  return (
    <section className="card" data-testid="tok-pca" data-points={(items ? Math.ceil(items.x.length / stride) : 0) + codesShown.length} data-zoom={zoomFactor.toFixed(2)}>
      <div className="row spread">
        <h3>2-D PCA projection</h3>
        <div className="row small">
          <label>
            codebook{' '}
            <select data-testid="tok-pca-level" value={level} onChange={(e) => changeLevel(Number(e.target.value))}>
              {v.codebookPca.map((_, l) => <option key={l} value={l}>level {l + 1}</option>)}
            </select>
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={showItems} disabled={level !== 0 || !v.latentPca} onChange={(e) => setShowItems(e.target.checked)} /> item latents
          </label>
          <label className="checkbox" title="Codes no item is assigned to (drawn as dashed grey rings)">
            <input type="checkbox" data-testid="tok-pca-dead" checked={showDead} disabled={dead === 0} onChange={(e) => setShowDead(e.target.checked)} /> dead codes ({dead})
          </label>
        </div>
      </div>
      <p className="small muted">
        {level === 0
          ? v.latentPca
            ? 'Item latents (encoder output, dots coloured by level-1 code) and level-1 codebook vectors (rings), on the latents\u2019 first two principal axes.'
            : 'Level-1 codebook vectors on their own principal axes (the embedding table is gone, so no item latents).'
          : `Level-${level + 1} codebook vectors (they quantise residuals) on their own principal axes; ring size = usage.`}{' '}
        {stride > 1 && ` Every ${stride}th item is drawn (${Math.ceil(n / stride)} of ${n}).`}
      </p>
      <div className="row small tok-pca-tools">
        <button type="button" data-testid="tok-pca-zoom-in" onClick={() => zoomBy(1 / 1.5)} aria-label="zoom in">+</button>
        <button type="button" data-testid="tok-pca-zoom-out" onClick={() => zoomBy(1.5)} aria-label="zoom out">−</button>
        <button type="button" data-testid="tok-pca-reset" disabled={!zoomed} onClick={() => setZoomed(null)}>Reset view</button>
        <span className="muted">{zoomed ? `×${zoomFactor.toFixed(1)} · ` : ''}wheel to zoom, drag to pan</span>
      </div>
      <div className="tok-pca-wrap">
        <svg
          ref={svgRef}
          viewBox={`0 0 ${W} ${H}`}
          width="100%"
          style={{ maxWidth: W, cursor: drag.current ? 'grabbing' : 'grab', touchAction: 'none' }}
          role="img"
          aria-label="PCA scatter"
          onMouseLeave={() => setHover(null)}
          onPointerDown={(e) => { drag.current = { px: e.clientX, py: e.clientY, d: dom, moved: false }; }}
          onPointerMove={(e) => {
            const g = drag.current;
            if (!g || e.buttons === 0) return;
            const r = svgRef.current?.getBoundingClientRect();
            if (!r) return;
            const dx = ((e.clientX - g.px) / r.width) * W;
            const dy = ((e.clientY - g.py) / r.height) * H;
            if (!g.moved && Math.hypot(dx, dy) < 3) return;
            g.moved = true;
            const ux = (dx / PW) * (g.d.x1 - g.d.x0);
            const uy = (dy / PH) * (g.d.y1 - g.d.y0);
            setZoomed({ x0: g.d.x0 - ux, x1: g.d.x1 - ux, y0: g.d.y0 + uy, y1: g.d.y1 + uy });
          }}
          onPointerUp={() => { setTimeout(() => { drag.current = null; }, 0); }}
        >
          <defs>
            <clipPath id="tok-pca-clip"><rect x={M.l} y={M.t} width={PW} height={PH} /></clipPath>
          </defs>
          <rect x={M.l} y={M.t} width={PW} height={PH} className="tok-pca-plot" />
          {xt.values.map((t) => (
            <g key={`x${t}`} className="tok-pca-axis">
              <line x1={sx(t)} x2={sx(t)} y1={M.t} y2={M.t + PH} className="tok-pca-grid" />
              <text x={sx(t)} y={M.t + PH + 13} textAnchor="middle">{xt.format(t)}</text>
            </g>
          ))}
          {yt.values.map((t) => (
            <g key={`y${t}`} className="tok-pca-axis">
              <line x1={M.l} x2={M.l + PW} y1={sy(t)} y2={sy(t)} className="tok-pca-grid" />
              <text x={M.l - 4} y={sy(t) + 3} textAnchor="end">{yt.format(t)}</text>
            </g>
          ))}
          <text className="tok-pca-axis-title" x={M.l + PW / 2} y={H - 6} textAnchor="middle" data-testid="tok-pca-xaxis">
            PC1 ({(explained[0] * 100).toFixed(1)} % of the variance)
          </text>
          <text className="tok-pca-axis-title" transform={`translate(12, ${M.t + PH / 2}) rotate(-90)`} textAnchor="middle" data-testid="tok-pca-yaxis">
            PC2 ({(explained[1] * 100).toFixed(1)} %)
          </text>
          <g clipPath="url(#tok-pca-clip)">
            {items && Array.from({ length: Math.ceil(items.x.length / stride) }, (_, j) => j * stride).map((i) => {
              const code = v.codes[(i + 1) * 4];
              return (
                <circle
                  key={`i${i}`}
                  data-testid="tok-pca-item"
                  cx={sx(items.x[i])}
                  cy={sy(items.y[i])}
                  r={hover?.kind === 'item' && hover.id === i + 1 ? 5 : 2.5}
                  fill={colorOf(code)}
                  opacity={dim(code) ? 0.08 : 0.75}
                  onMouseEnter={() => setHover({ kind: 'item', id: i + 1 })}
                  onClick={() => { if (!drag.current?.moved) onPick(i + 1); }}
                />
              );
            })}
            {codesShown.map((c) => (
              <circle
                key={`c${c}`}
                data-testid="tok-pca-code"
                cx={sx(book.x[c])}
                cy={sy(book.y[c])}
                r={level === 0 ? (focus === c ? 6.5 : 4.5) : 2.5 + 6 * Math.sqrt(usage[c] / Math.max(1, n))}
                fill={usage[c] === 0 ? 'none' : 'var(--surface, #fff)'}
                stroke={usage[c] === 0 ? '#999' : colorOf(c)}
                strokeWidth={focus === c ? 2.6 : 1.6}
                strokeDasharray={usage[c] === 0 ? '2 2' : undefined}
                opacity={dim(c) ? 0.2 : 1}
                onMouseEnter={() => setHover({ kind: 'code', level, code: c })}
                onClick={() => { if (!drag.current?.moved && usage[c] > 0) setFocus(focus === c ? null : c); }}
              />
            ))}
          </g>
        </svg>
        <div className="tok-hover small" data-testid="tok-pca-hover">
          {hover === null ? (
            <span className="muted">Hover a point; click an item to open it, a ring to single out its code.</span>
          ) : hover.kind === 'item' ? (
            <>
              <div data-testid="tok-pca-hover-item">{itemLabel(v, hover.id)}</div>
              <div>code <code>{codeText(v, hover.id)}</code></div>
            </>
          ) : (
            <div>level {hover.level + 1} code {hover.code}: {v.usage[hover.level][hover.code]} items{v.usage[hover.level][hover.code] === 0 ? ' (dead: no item is assigned to it)' : ''}</div>
          )}
        </div>
        <div className="tok-legend small" data-testid="tok-pca-legend">
          <p className="muted">
            Colour = level-{level + 1} code. {byUse.length} codes are in use; their hues step round the colour wheel by the golden angle, so
            codes with different ids can look alike (only about a dozen hues are told apart). Hover a point for its code, or pick one here to
            show it alone.{dead > 0 && ` Dashed grey rings: the ${dead} dead codes (no item is assigned to them; they still sit in the codebook).`}
          </p>
          <div className="tok-legend-chips">
            {focus !== null && <button type="button" className="tok-chip" data-testid="tok-pca-focus-clear" onClick={() => setFocus(null)}>show all</button>}
            {byUse.map((c) => (
              <button
                type="button"
                key={c}
                className={focus === c ? 'tok-chip chosen' : 'tok-chip'}
                data-testid="tok-pca-legend-code"
                title={`code ${c}: ${usage[c]} items`}
                onClick={() => setFocus(focus === c ? null : c)}
              >
                <span className="tok-swatch" style={{ background: colorOf(c) }} /> {c} <span className="muted">{usage[c]}</span>
              </button>
            ))}
          </div>
        </div>
      </div>
    </section>
  );
}

function ItemSearch({ v, selected, onSelect }: { v: TokenizerView; selected: number | null; onSelect: (id: number | null) => void }) {
  const [q, setQ] = useState('');
  const n = v.summary.items;
  const matches = useMemo(() => {
    const s = q.trim().toLowerCase();
    if (!s) return [];
    const out: number[] = [];
    const asId = /^#?\d+$/.test(s) ? Number(s.replace('#', '')) : null;
    if (asId !== null && asId >= 1 && asId <= n) out.push(asId);
    for (let i = 1; i <= n && out.length < 20; i++) {
      if (i === asId) continue;
      if (v.asins[i - 1].toLowerCase().includes(s) || (v.titles[i - 1] ?? '').toLowerCase().includes(s)) out.push(i);
    }
    return out;
  }, [q, v, n]);
  const L = 3;
  const k = v.nearest?.k ?? 0;
  const sel = selected;
  const siblings = useMemo(() => {
    if (sel === null) return [];
    const out: number[] = [];
    for (let i = 1; i <= n && out.length < 30; i++) {
      if (i !== sel && v.codes[i * 4] === v.codes[sel * 4] && v.codes[i * 4 + 1] === v.codes[sel * 4 + 1]) out.push(i);
    }
    return out;
  }, [sel, v, n]);

  return (
    <section className="card" data-testid="tok-search-panel">
      <h3>Find an item</h3>
      <input type="search" placeholder="item id, asin or title" data-testid="tok-search" value={q} onChange={(e) => setQ(e.target.value)} />
      {q.trim() && (
        <ul className="tok-results small" data-testid="tok-search-results">
          {matches.length === 0 ? <li className="muted">No match.</li> : matches.map((id) => (
            <li key={id}>
              <button className="link-button" data-testid="tok-search-result" onClick={() => onSelect(id)}>{itemLabel(v, id)}</button>{' '}
              <code>{codeText(v, id)}</code>
            </li>
          ))}
        </ul>
      )}
      {sel !== null && (
        <div className="tok-item" data-testid="tok-item">
          <p><strong data-testid="tok-item-label">{itemLabel(v, sel)}</strong></p>
          <p>
            Code path:{' '}
            <span data-testid="tok-code-path" data-code={Array.from(v.codes.subarray(sel * 4, sel * 4 + 4)).join(',')}>
              L1 <code>{v.codes[sel * 4]}</code> → L2 <code>{v.codes[sel * 4 + 1]}</code> → L3 <code>{v.codes[sel * 4 + 2]}</code> → suffix <code>{v.codes[sel * 4 + 3]}</code>
            </span>
          </p>
          {v.nearest ? (
            <table className="compact small" data-testid="tok-nearest">
              <thead><tr><th>level</th><th>nearest codes to the item&apos;s residual (squared distance)</th></tr></thead>
              <tbody>
                {Array.from({ length: L }, (_, l) => (
                  <tr key={l}>
                    <td>{l + 1}</td>
                    <td>
                      {Array.from({ length: k }, (_, q2) => {
                        const at = (sel - 1) * L * k + l * k + q2;
                        const c = v.nearest!.codes[at];
                        return (
                          <span key={q2} className={c === v.codes[sel * 4 + l] ? 'tok-chip chosen' : 'tok-chip'}>
                            {c} <span className="muted">({v.nearest!.dists[at].toPrecision(3)})</span>
                          </span>
                        );
                      })}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted small">Nearest codes need the embedding table the tokenizer was built on.</p>
          )}
          <p className="small">
            Items sharing its level-1/level-2 prefix ({siblings.length}{siblings.length === 30 ? '+' : ''}):{' '}
            {siblings.length === 0 ? <span className="muted">none</span> : siblings.map((id) => (
              <button key={id} className="link-button" onClick={() => onSelect(id)} title={itemLabel(v, id)}>#{id}</button>
            ))}
          </p>
        </div>
      )}
    </section>
  );
}

function PrefixTree({ v, onSelect }: { v: TokenizerView; onSelect: (id: number) => void }) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const n = v.summary.items;
  const tree = useMemo(() => {
    const t = new Map<number, Map<number, Map<number, number[]>>>();
    for (let i = 1; i <= n; i++) {
      const [a, b, c] = [v.codes[i * 4], v.codes[i * 4 + 1], v.codes[i * 4 + 2]];
      let m1 = t.get(a);
      if (!m1) t.set(a, (m1 = new Map()));
      let m2 = m1.get(b);
      if (!m2) m1.set(b, (m2 = new Map()));
      let arr = m2.get(c);
      if (!arr) m2.set(c, (arr = []));
      arr.push(i);
    }
    return t;
  }, [v, n]);
  const count = (m: Map<number, unknown> | number[]): number =>
    Array.isArray(m) ? m.length : [...m.values()].reduce((s: number, x) => s + count(x as Map<number, unknown> | number[]), 0);
  const toggle = (key: string) => setOpen((s) => { const c = new Set(s); if (c.has(key)) c.delete(key); else c.add(key); return c; });
  const sorted = <T,>(m: Map<number, T>) => [...m.entries()].sort((x, y) => count(y[1] as never) - count(x[1] as never) || x[0] - y[0]);

  return (
    <section className="card" data-testid="tok-tree">
      <h3>Prefix tree</h3>
      <p className="small muted">Level-1 code → level-2 → level-3 → items (most used first). {tree.size} level-1 codes in use.</p>
      <ul className="tok-tree-list">
        {sorted(tree).map(([a, m1]) => {
          const k1 = `${a}`;
          return (
            <li key={k1}>
              <button className="link-button" data-testid="tok-tree-l1" onClick={() => toggle(k1)}>{open.has(k1) ? '▾' : '▸'} {a}</button>{' '}
              <span className="muted small">{count(m1)} items · {m1.size} branches</span>
              {open.has(k1) && (
                <ul>
                  {sorted(m1).map(([b, m2]) => {
                    const k2 = `${a}/${b}`;
                    return (
                      <li key={k2}>
                        <button className="link-button" data-testid="tok-tree-l2" onClick={() => toggle(k2)}>{open.has(k2) ? '▾' : '▸'} {a}·{b}</button>{' '}
                        <span className="muted small">{count(m2)} items</span>
                        {open.has(k2) && (
                          <ul>
                            {sorted(m2).map(([c, ids]) => (
                              <li key={c} data-testid="tok-tree-l3">
                                <code>{a}·{b}·{c}</code>{ids.length > 1 && <span className="tok-chip warn">{ids.length} collide</span>}{' '}
                                {ids.map((id) => (
                                  <button key={id} className="link-button small" data-testid="tok-tree-item" onClick={() => onSelect(id)} title={itemLabel(v, id)}>
                                    {v.asins[id - 1]}
                                  </button>
                                ))}
                              </li>
                            ))}
                          </ul>
                        )}
                      </li>
                    );
                  })}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function Collisions({ v, onSelect }: { v: TokenizerView; onSelect: (id: number) => void }) {
  return (
    <section className="card" data-testid="tok-collisions">
      <h3>Collision groups</h3>
      <p className="small muted">
        {v.collisionGroupCount === 0
          ? 'No two items share a 3-tuple.'
          : `${v.collisionGroupCount} groups of items share a 3-tuple (the suffix tells them apart); largest first${v.collisionGroupCount > v.collisions.length ? `, first ${v.collisions.length} shown` : ''}.`}
      </p>
      <ol className="tok-groups">
        {v.collisions.map((g) => (
          <li key={g.prefix.join(',')} data-testid="tok-collision-group">
            <code>⟨{g.prefix.join(', ')}⟩</code> <span className="muted small">{g.items.length} items</span>
            <ul className="small">
              {g.items.map((it) => (
                <li key={it.id}>
                  <button className="link-button" onClick={() => onSelect(it.id)}>#{it.id} {it.asin}</button>
                  {it.title && <span className="muted"> — {it.title}</span>}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Compare({ v, others }: { v: TokenizerView; others: TokenizerSummary[] }) {
  const compare = useTokenizerStore((s) => s.compare);
  const { compareWith } = useTokenizerStore.getState();
  const [other, setOther] = useState('');
  const cands = others.filter((t) => t.id !== v.summary.id && t.items === v.summary.items);
  const pick = other || cands[0]?.id || '';
  const shown = compare.pair && compare.pair[0] === v.summary.id ? compare : null;
  return (
    <section className="card" data-testid="tok-compare-panel">
      <h3>Compare with another tokenizer</h3>
      {cands.length === 0 ? (
        <p className="muted small">No other tokenizer of this dataset to compare with.</p>
      ) : (
        <div className="row">
          <select data-testid="tok-compare-select" value={pick} onChange={(e) => setOther(e.target.value)}>
            {cands.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
          <button data-testid="tok-compare" disabled={!pick || compare.loading} onClick={() => void compareWith(v.summary.id, pick)}>Compare</button>
        </div>
      )}
      {shown?.error && <ErrorBox error={shown.error} />}
      {shown?.data && (() => {
        const d = shown.data;
        const changedLine = (
          <p data-testid="tok-compare-changed">
            {d.changed} of {d.items} items changed their code · per level:{' '}
            {d.changedPerLevel.map((c, l) => `${l < 3 ? `L${l + 1}` : 'suffix'} ${c}`).join(' · ')}
          </p>
        );
        return (
          <div data-testid="tok-compare-result" data-changed={d.changed} data-ids-line-up={d.idsLineUp ? 'true' : 'false'}>
            {d.idsLineUp ? (
              <p className="small muted" data-testid="tok-compare-kind">
                The code ids line up ({pct1(d.agreement[0].sameIds)} of the items keep their level-1 id, of {pct1(d.agreement[0].bestRelabelled)} any
                relabelling could keep): checkpoints of one run or a re-import, so changed codes are meaningful.
              </p>
            ) : (
              <p className="small muted" data-testid="tok-compare-kind">
                Independently trained: only {pct1(d.agreement[0].sameIds)} of the items keep their level-1 id where a relabelling could keep{' '}
                {pct1(d.agreement[0].bestRelabelled)}. Code ids are arbitrary labels in each run, so the groupings are compared instead.
              </p>
            )}
            <table className="compact small tok-table" data-testid="tok-agreement">
              <thead>
                <tr>
                  <th>grouping</th>
                  <th className="num" title="Adjusted Rand index: 1 = the same groups, ≈ 0 = no more alike than chance, < 0 = less">ARI</th>
                  <th className="num" title="Normalised mutual information (arithmetic mean of the entropies): 1 = the same groups, 0 = independent">NMI</th>
                  <th className="num">groups (this / other)</th>
                </tr>
              </thead>
              <tbody>
                {d.agreement.map((a) => (
                  <tr key={a.levels} data-testid={`tok-agreement-l${a.levels}`}>
                    <td>{a.levels === 1 ? 'level-1 code' : `level 1–${a.levels} prefix`}</td>
                    <td className="num" data-testid="tok-agreement-ari">{a.ari.toFixed(3)}</td>
                    <td className="num" data-testid="tok-agreement-nmi">{a.nmi.toFixed(3)}</td>
                    <td className="num">{a.groupsA} / {a.groupsB}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="small muted">
              ARI: 1 = the same groups, ≈ 0 = no more alike than chance, below 0 = less. NMI: 1 = the same groups, 0 = independent; it
              reads higher than ARI when the groups are many and small.
            </p>
            {d.idsLineUp ? changedLine : (
              <details className="small">
                <summary>Raw id changes (not comparable across runs)</summary>
                {changedLine}
              </details>
            )}
            {d.idsLineUp && d.rows.length > 0 && (
              <table className="compact small">
                <thead><tr><th>item</th><th>this</th><th>other</th></tr></thead>
                <tbody>
                  {d.rows.slice(0, 50).map((r) => (
                    <tr key={r.id}><td>#{r.id} {r.asin}</td><td><code>{r.a.join(', ')}</code></td><td><code>{r.b.join(', ')}</code></td></tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })()}
    </section>
  );
}

export function Inspector({ tokenizers }: { tokenizers: TokenizerSummary[] }) {
  const view = useTokenizerStore((s) => s.view);
  const { closeView } = useTokenizerStore.getState();
  const [selected, setSelected] = useState<number | null>(null);
  if (!view.id) return null;
  const v = view.data;
  return (
    <section className="tok-inspector" data-testid="tok-inspector">
      <div className="row spread">
        <h3>Codebook inspector{v ? `: ${v.summary.name}` : ''}</h3>
        <button className="secondary" onClick={closeView}>Close</button>
      </div>
      {view.loading && <p className="muted" data-testid="tok-inspector-loading">Computing the view (codes, projections)…</p>}
      {view.error && <ErrorBox error={view.error} title="Could not open the tokenizer" />}
      {v && (
        <>
          <p className="small muted" data-testid="tok-inspector-summary">
            {v.summary.items} items · codebooks {v.summary.numEmbList.join(' × ')} · collision {(v.summary.collisionRate * 100).toFixed(2)} % ·
            Gini {v.summary.giniPerLevel.map((g) => g.toFixed(3)).join(' / ')} (mean {v.summary.giniMean.toFixed(3)}) · max suffix {v.summary.maxSuffix}
          </p>
          <section className="card" data-testid="tok-usage">
            <h3>Code usage per level</h3>
            {v.usage.map((u, l) => <UsageHistogram key={l} counts={u} level={l + 1} />)}
          </section>
          <div className="two-col">
            <PcaScatter v={v} onPick={setSelected} />
            <ItemSearch v={v} selected={selected} onSelect={setSelected} />
          </div>
          <div className="two-col">
            <Collisions v={v} onSelect={setSelected} />
            <PrefixTree v={v} onSelect={setSelected} />
          </div>
          <Compare v={v} others={tokenizers} />
        </>
      )}
    </section>
  );
}
