/**
 * The codebook inspector of one stored tokenizer: per-level usage histograms, a 2-D PCA scatter of
 * item latents and codebook vectors (coloured by level-1 code, hover for title/asin/code), collision
 * groups, a prefix-tree browser, item search with the code path and nearest codes, and a comparison
 * of two tokenizers' code tables. Plain SVG: thousands of points stay cheap.
 */
import { useMemo, useState } from 'react';
import type { TokenizerSummary, TokenizerView } from '../../../../workers/tokenizerApi.ts';
import { useTokenizerStore } from '../../stores/tokenizer.ts';
import { ErrorBox } from '../ErrorBox.tsx';

function colorOf(code: number): string {
  return `hsl(${(code * 137.508) % 360}, 65%, 48%)`;
}

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

function PcaScatter({ v, onPick }: { v: TokenizerView; onPick: (id: number) => void }) {
  const [level, setLevel] = useState(0);
  const [showItems, setShowItems] = useState(true);
  const [hover, setHover] = useState<Hover>(null);
  const book = v.codebookPca[level];
  const items = level === 0 && showItems ? v.latentPca : null;
  const W = 520;
  const H = 380;
  const pad = 12;
  const bounds = useMemo(() => {
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
    return { x0, x1, y0, y1 };
  }, [book, items]);
  const sx = (x: number) => pad + ((x - bounds.x0) / (bounds.x1 - bounds.x0)) * (W - 2 * pad);
  const sy = (y: number) => H - pad - ((y - bounds.y0) / (bounds.y1 - bounds.y0)) * (H - 2 * pad);
  const usage = v.usage[level];
  const n = v.summary.items;
  const explained = (items ?? book).explained;
  // SVG stays responsive up to a few thousand dots: larger tables are thinned evenly.
  const stride = items ? Math.max(1, Math.ceil(items.x.length / MAX_DOTS)) : 1;

  return (
    <section className="card" data-testid="tok-pca" data-points={(items ? Math.ceil(items.x.length / stride) : 0) + book.x.length}>
      <div className="row spread">
        <h3>2-D PCA projection</h3>
        <div className="row small">
          <label>
            codebook{' '}
            <select data-testid="tok-pca-level" value={level} onChange={(e) => setLevel(Number(e.target.value))}>
              {v.codebookPca.map((_, l) => <option key={l} value={l}>level {l + 1}</option>)}
            </select>
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={showItems} disabled={level !== 0 || !v.latentPca} onChange={(e) => setShowItems(e.target.checked)} /> item latents
          </label>
        </div>
      </div>
      <p className="small muted">
        {level === 0
          ? v.latentPca
            ? 'Item latents (encoder output, dots coloured by level-1 code) and level-1 codebook vectors (rings), on the latents\u2019 first two principal axes.'
            : 'Level-1 codebook vectors on their own principal axes (the embedding table is gone, so no item latents).'
          : `Level-${level + 1} codebook vectors (they quantise residuals) on their own principal axes; ring size = usage.`}{' '}
        Explained variance {(explained[0] * 100).toFixed(1)} % + {(explained[1] * 100).toFixed(1)} %.
        {stride > 1 && ` Every ${stride}th item is drawn (${Math.ceil(n / stride)} of ${n}).`}
      </p>
      <div className="tok-pca-wrap">
        <svg viewBox={`0 0 ${W} ${H}`} width="100%" style={{ maxWidth: W }} role="img" aria-label="PCA scatter" onMouseLeave={() => setHover(null)}>
          <rect x={0} y={0} width={W} height={H} fill="transparent" />
          {items && Array.from({ length: Math.ceil(items.x.length / stride) }, (_, j) => j * stride).map((i) => (
            <circle
              key={`i${i}`}
              data-testid="tok-pca-item"
              cx={sx(items.x[i])}
              cy={sy(items.y[i])}
              r={hover?.kind === 'item' && hover.id === i + 1 ? 5 : 2.5}
              fill={colorOf(v.codes[(i + 1) * 4])}
              opacity={0.75}
              onMouseEnter={() => setHover({ kind: 'item', id: i + 1 })}
              onClick={() => onPick(i + 1)}
            />
          ))}
          {Array.from({ length: book.x.length }, (_, c) => (
            <circle
              key={`c${c}`}
              data-testid="tok-pca-code"
              cx={sx(book.x[c])}
              cy={sy(book.y[c])}
              r={level === 0 ? 4.5 : 2.5 + 6 * Math.sqrt(usage[c] / Math.max(1, n))}
              fill={usage[c] === 0 ? 'none' : 'white'}
              stroke={usage[c] === 0 ? '#999' : colorOf(c)}
              strokeWidth={1.6}
              strokeDasharray={usage[c] === 0 ? '2 2' : undefined}
              onMouseEnter={() => setHover({ kind: 'code', level, code: c })}
            />
          ))}
        </svg>
        <div className="tok-hover small" data-testid="tok-pca-hover">
          {hover === null ? (
            <span className="muted">Hover a point; click an item to open it.</span>
          ) : hover.kind === 'item' ? (
            <>
              <div data-testid="tok-pca-hover-item">{itemLabel(v, hover.id)}</div>
              <div>code <code>{codeText(v, hover.id)}</code></div>
            </>
          ) : (
            <div>level {hover.level + 1} code {hover.code}: {v.usage[hover.level][hover.code]} items{v.usage[hover.level][hover.code] === 0 ? ' (dead)' : ''}</div>
          )}
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
          <button data-testid="tok-compare" disabled={!pick || compare.loading} onClick={() => void compareWith(v.summary.id, pick)}>Compare code tables</button>
        </div>
      )}
      {shown?.error && <ErrorBox error={shown.error} />}
      {shown?.data && (
        <div data-testid="tok-compare-result" data-changed={shown.data.changed}>
          <p>
            {shown.data.changed} of {shown.data.items} items changed their code · per level:{' '}
            {shown.data.changedPerLevel.map((c, l) => `${l < 3 ? `L${l + 1}` : 'suffix'} ${c}`).join(' · ')}
          </p>
          {shown.data.rows.length > 0 && (
            <table className="compact small">
              <thead><tr><th>item</th><th>this</th><th>other</th></tr></thead>
              <tbody>
                {shown.data.rows.slice(0, 50).map((r) => (
                  <tr key={r.id}><td>#{r.id} {r.asin}</td><td><code>{r.a.join(', ')}</code></td><td><code>{r.b.join(', ')}</code></td></tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
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
