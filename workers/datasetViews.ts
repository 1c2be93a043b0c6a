/**
 * Paging and search over an in-memory PreparedDataset (items, users, one user's sequence), with
 * the per-dataset derived arrays (item counts, lowercase strings, last sorted order) memoised.
 */
import { StudioError } from '../src/core/errors.ts';
import { splitOfPosition } from '../src/core/data/samples.ts';
import type { PreparedDataset } from '../src/core/data/types.ts';
import type { ItemRow, Page, PageQuery, SequenceEntry, UserRow } from './api.ts';

export const MAX_PAGE = 1000;

interface OrderCache { key: string; order: Int32Array }

export class DatasetView {
  private counts?: Int32Array;
  private itemText?: string[];
  private userText?: string[];
  private itemOrder?: OrderCache;
  private userOrder?: OrderCache;

  constructor(readonly id: string, readonly ds: PreparedDataset) {}

  get numItems(): number {
    return this.ds.itemIds.length;
  }

  get numUsers(): number {
    return this.ds.seqOffsets.length - 1;
  }

  /** Interactions per item id (index = id; 0 is PAD). */
  itemCounts(): Int32Array {
    if (!this.counts) {
      const c = new Int32Array(this.numItems + 1);
      for (const id of this.ds.seqItems) c[id]++;
      this.counts = c;
    }
    return this.counts;
  }

  userLength(u: number): number {
    return this.ds.seqOffsets[u + 1] - this.ds.seqOffsets[u];
  }

  /** Items: query matches id, asin or title (case-insensitive); sort 'id' (default) or 'count' ('length' = 'count'). */
  items(q: PageQuery): Page<ItemRow> {
    const counts = this.itemCounts();
    const sort = q.sort === 'count' || q.sort === 'length' ? 'count' : 'id';
    const needle = normaliseQuery(q.query);
    const key = `${sort}\u0000${needle}`;
    if (this.itemOrder?.key !== key) {
      if (needle && !this.itemText) {
        const titles = this.ds.itemTitles;
        this.itemText = this.ds.itemIds.map((asin, i) => `${i + 1}\u0000${asin}\u0000${titles?.[i] ?? ''}`.toLowerCase());
      }
      const ids: number[] = [];
      for (let id = 1; id <= this.numItems; id++) {
        if (!needle || this.itemText![id - 1].includes(needle)) ids.push(id);
      }
      if (sort === 'count') ids.sort((a, b) => counts[b] - counts[a] || a - b);
      this.itemOrder = { key, order: Int32Array.from(ids) };
    }
    const order = this.itemOrder.order;
    const rows = pageOf(order, q).map((id) => ({
      id,
      asin: this.ds.itemIds[id - 1],
      title: this.ds.itemTitles?.[id - 1] ?? null,
      count: counts[id],
    }));
    return { total: order.length, rows };
  }

  /** Users: query matches the user id (case-insensitive); sort 'id' (stored order, default) or 'length' ('count' = 'length'). */
  users(q: PageQuery): Page<UserRow> {
    const sort = q.sort === 'length' || q.sort === 'count' ? 'length' : 'id';
    const needle = normaliseQuery(q.query);
    const key = `${sort}\u0000${needle}`;
    if (this.userOrder?.key !== key) {
      if (needle && !this.userText) this.userText = this.ds.userIds.map((u) => u.toLowerCase());
      const idx: number[] = [];
      for (let u = 0; u < this.numUsers; u++) {
        if (!needle || this.userText![u].includes(needle)) idx.push(u);
      }
      if (sort === 'length') idx.sort((a, b) => this.userLength(b) - this.userLength(a) || a - b);
      this.userOrder = { key, order: Int32Array.from(idx) };
    }
    const order = this.userOrder.order;
    const rows = pageOf(order, q).map((index) => ({ index, userId: this.ds.userIds[index], length: this.userLength(index) }));
    return { total: order.length, rows };
  }

  /** One user's chronological sequence with the leave-one-out split of each position. */
  sequence(userIndex: number): SequenceEntry[] {
    if (!Number.isInteger(userIndex) || userIndex < 0 || userIndex >= this.numUsers) {
      throw new StudioError({
        code: 'not_found',
        message: `User index ${userIndex} is out of range (the dataset has ${this.numUsers} users).`,
      });
    }
    const { seqOffsets, seqItems, seqTimes, itemIds, itemTitles, hasTimestamps } = this.ds;
    const start = seqOffsets[userIndex];
    const len = seqOffsets[userIndex + 1] - start;
    const out: SequenceEntry[] = [];
    for (let p = 0; p < len; p++) {
      const itemId = seqItems[start + p];
      out.push({
        itemId,
        asin: itemIds[itemId - 1],
        title: itemTitles?.[itemId - 1] ?? null,
        time: hasTimestamps ? seqTimes[start + p] : null,
        split: splitOfPosition(len, p),
      });
    }
    return out;
  }
}

function normaliseQuery(q: string | undefined): string {
  return (q ?? '').trim().toLowerCase();
}

function pageOf(order: Int32Array, q: PageQuery): number[] {
  const offset = Math.max(0, Math.floor(Number(q.offset) || 0));
  const limit = Math.min(MAX_PAGE, Math.max(0, Math.floor(Number(q.limit) || 0)));
  return Array.from(order.subarray(offset, offset + limit));
}
