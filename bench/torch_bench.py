"""PyTorch counterpart of the stage benchmarks (bench/*.bench.ts), for side-by-side numbers.

A test/benchmark tool only (never a runtime dependency of the studio). Same shapes and model
configurations as the TypeScript stages: the paper's Instrument shapes on synthetic data (24,587
items, histories of 1..50 items distributed like Instrument's training samples), T5 6+6 / d_model
128 / 4 heads x d_kv 64 / d_ff 512 with the ETEGRec heads and losses (spec 5.3-5.5), the RQ-VAE
256-512-256-128 with 3 x 256 codes, and RecBole SASRec (hidden 256, 4 layers, 4 heads). Each step
is a full training step: forward, backward, global-norm clipping, AdamW. Differences from the
studio, on purpose and named in the output: a batch is padded to its longest history (as the
reference does) instead of length-bucketed micro-batches; the FLOPs reported are the same useful
FLOPs as bench/flops.ts (unpadded), so achieved GFLOP/s compare like with like.

  /usr/bin/python3 bench/torch_bench.py [--device auto|cuda|cpu] [--stage NAME]... [--threads N (default: all cores)]
      [--joint-batch 32] [--sasrec-batch 256] [--runs 3] [--eval-users 64] [--items 24587]
      [--max-history 50] [--rqvae-items 24587]

Prints ONE JSON object {"stages": {...}, "torch": {...}} on stdout; progress on stderr.
"""
import argparse
import json
import math
import os
import sys
import time

# On a shared machine OpenMP's default busy-waiting collapses a 2-thread torch under load (measured:
# 0.96 vs 14.8 samples/s single-threaded); passive waiting keeps the comparison fair. Set before torch loads.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

STAGES = ['sasrec_step', 'rqvae_epoch', 'joint_tok_step', 'joint_rec_step', 'beam_eval']
INSTRUMENT = dict(users=57439, items=24587, interactions=511836, max_history=50)


def log(msg):
    sys.stderr.write('[torch] %s\n' % msg)
    sys.stderr.flush()


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return float('nan')
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


# ---------------------------------------------------------------- synthetic data (bench/common.ts)

def instrument_lengths(count, gen, max_len):
    mean_seq = INSTRUMENT['interactions'] / INSTRUMENT['users']
    p_more = 1 - 1 / (mean_seq - 5 + 1)
    out = []
    while len(out) < count:
        n = 5
        while torch.rand(1, generator=gen).item() < p_more and n < 2000:
            n += 1
        for ln in range(1, n - 2):
            if len(out) >= count:
                break
            out.append(min(ln, max_len))
    t = torch.tensor(out, dtype=torch.long)
    return t[torch.randperm(count, generator=gen)]


def synthetic(count, n_items, gen, L):
    lens = instrument_lengths(count, gen, L)
    hist = torch.zeros(count, L, dtype=torch.long)
    for i in range(count):
        hist[i, :lens[i]] = torch.randint(1, n_items + 1, (int(lens[i]),), generator=gen)
    tgt = torch.randint(1, n_items + 1, (count,), generator=gen)
    return hist, lens, tgt


# ---------------------------------------------------------------- FLOP counts (bench/flops.ts)

def attention_flops(q, k, d, h, dkv):
    inner = h * dkv
    return 2 * q * d * inner + 4 * k * d * inner + 4 * h * q * k * dkv + 2 * q * inner * d


def t5_train_flops(lens, code_len=4, code_num=256, sem=256, d=128, dff=512, h=4, dkv=64, ne=6, nd=6):
    f = 0
    for ln in lens.tolist():
        s = code_len * ln
        t = code_len
        enc = ne * (attention_flops(s, s, d, h, dkv) + 4 * s * d * dff)
        dec = nd * (attention_flops(t, t, d, h, dkv) + attention_flops(t, s, d, h, dkv) + 4 * t * d * dff)
        f += enc + dec + 2 * t * d * code_num + 2 * d * d + 2 * d * sem
    return 3 * f


def sasrec_train_flops(B, L, hidden, inner, layers, n_items):
    layer = 8 * L * hidden * hidden + 4 * L * L * hidden + 4 * L * hidden * inner
    return 3 * B * (layers * layer + 2 * hidden * (n_items + 1))


def rqvae_train_flops(B, widths, levels, K):
    mlp = sum(2 * widths[i] * widths[i + 1] for i in range(len(widths) - 1))
    return 3 * B * (2 * mlp + levels * 2 * K * widths[-1])


# ---------------------------------------------------------------- T5 recommender (spec 5.3, 5.4)

class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


def rel_bucket(rel, bidirectional, nb=32, maxd=128):
    off = torch.zeros_like(rel)
    if bidirectional:
        nb //= 2
        off = (rel > 0).long() * nb
        n = rel.abs()
    else:
        n = (-rel).clamp(min=0)
    exact = nb // 2
    big = exact + (torch.log(n.float().clamp(min=1) / exact) / math.log(maxd / exact) * (nb - exact)).long()
    big = big.clamp(max=nb - 1)
    return off + torch.where(n < exact, n, big)


class Attention(nn.Module):
    def __init__(self, d, h, dkv, dropout, bias_table, bidirectional):
        super().__init__()
        self.h, self.dkv = h, dkv
        self.q = nn.Linear(d, h * dkv, bias=False)
        self.k = nn.Linear(d, h * dkv, bias=False)
        self.v = nn.Linear(d, h * dkv, bias=False)
        self.o = nn.Linear(h * dkv, d, bias=False)
        self.drop = nn.Dropout(dropout)
        self.bidirectional = bidirectional
        self.rel = nn.Embedding(32, h) if bias_table else None

    def position_bias(self, q_len, k_len, device):
        ctx = torch.arange(q_len, device=device)[:, None]
        mem = torch.arange(k_len, device=device)[None, :]
        b = rel_bucket(mem - ctx, self.bidirectional)
        return self.rel(b).permute(2, 0, 1)[None]  # (1, H, q, k)

    def forward(self, x, kv, bias):
        B, q_len, _ = x.shape
        k_len = kv.shape[1]
        q = self.q(x).view(B, q_len, self.h, self.dkv).transpose(1, 2)
        k = self.k(kv).view(B, k_len, self.h, self.dkv).transpose(1, 2)
        v = self.v(kv).view(B, k_len, self.h, self.dkv).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) + bias  # no 1/sqrt(d) scaling (T5)
        p = self.drop(scores.float().softmax(-1))
        ctx = (p @ v).transpose(1, 2).reshape(B, q_len, self.h * self.dkv)
        return self.o(ctx)


class Block(nn.Module):
    def __init__(self, d, dff, h, dkv, dropout, first, decoder):
        super().__init__()
        self.self_attn = Attention(d, h, dkv, dropout, first, not decoder)
        self.n1 = RMSNorm(d)
        self.cross = Attention(d, h, dkv, dropout, False, False) if decoder else None
        self.n2 = RMSNorm(d) if decoder else None
        self.wi = nn.Linear(d, dff, bias=False)
        self.wo = nn.Linear(dff, d, bias=False)
        self.n3 = RMSNorm(d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias, enc=None, enc_bias=None):
        y = self.n1(x)
        x = x + self.drop(self.self_attn(y, y, bias))
        if self.cross is not None:
            x = x + self.drop(self.cross(self.n2(x), enc, enc_bias))
        x = x + self.drop(self.wo(self.drop(F.relu(self.wi(self.n3(x))))))
        return x


class Stack(nn.Module):
    def __init__(self, n, d, dff, h, dkv, dropout, decoder):
        super().__init__()
        self.blocks = nn.ModuleList([Block(d, dff, h, dkv, dropout, i == 0, decoder) for i in range(n)])
        self.norm = RMSNorm(d)
        self.drop = nn.Dropout(dropout)
        self.decoder = decoder

    def forward(self, x, mask_add, enc=None, enc_mask_add=None):
        T = x.shape[1]
        bias = self.blocks[0].self_attn.position_bias(T, T, x.device) + mask_add
        x = self.drop(x)
        for b in self.blocks:
            x = b(x, bias, enc, enc_mask_add)
        return self.drop(self.norm(x))


class Recommender(nn.Module):
    def __init__(self, n_items, sem, d=128, dff=512, h=4, dkv=64, layers=6, code_len=4, code_num=256, dropout=0.1):
        super().__init__()
        self.shared = nn.Embedding(1, d)
        self.encoder = Stack(layers, d, dff, h, dkv, dropout, False)
        self.decoder = Stack(layers, d, dff, h, dkv, dropout, True)
        self.tok = nn.ModuleList([nn.Embedding(code_num, d) for _ in range(code_len)])
        self.enc_adapter = nn.Linear(d, 128)
        self.dec_adapter = nn.Linear(d, sem)
        self.code_len = code_len
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0, 0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)

    def embed_codes(self, X):
        """X (B, S) codes with -1 for padding -> (B, S, d); position p uses table p mod code_len."""
        B, S = X.shape
        mask = X >= 0
        Xc = X.clamp(min=0).view(B, S // self.code_len, self.code_len)
        parts = [self.tok[j](Xc[:, :, j]) for j in range(self.code_len)]
        e = torch.stack(parts, 2).view(B, S, -1)
        return torch.where(mask[..., None], e, self.shared.weight[0]), mask

    def encode(self, X):
        e, mask = self.embed_codes(X)
        mask_add = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        return self.encoder(e, mask_add), mask, mask_add

    def decode(self, enc, mask_add, prefix):
        """prefix (B, t) codes of levels 1..t; decoder input = BOS + their embeddings."""
        B = prefix.shape[0]
        parts = [self.shared.weight[0].expand(B, 1, -1)]
        for j in range(prefix.shape[1]):
            parts.append(self.tok[j](prefix[:, j])[:, None])
        x = torch.cat(parts, 1)
        T = x.shape[1]
        causal = torch.triu(torch.full((T, T), torch.finfo(torch.float32).min, device=x.device), 1)[None, None]
        return self.decoder(x, causal, enc, mask_add)

    def forward(self, X, Y):
        enc, mask, mask_add = self.encode(X)
        H = self.decode(enc, mask_add, Y[:, : self.code_len - 1])
        logits = torch.stack([H[:, i] @ self.tok[i].weight.t() for i in range(self.code_len)], 1)
        m = mask[..., None].float()
        z_e = self.enc_adapter((enc * m).sum(1) / m.sum(1).clamp(min=1))
        h_d = self.dec_adapter(H[:, 0])
        return logits, z_e, h_d


# ---------------------------------------------------------------- RQ-VAE tokenizer (spec 4.1)

class Rqvae(nn.Module):
    def __init__(self, widths=(256, 512, 256, 128), levels=3, K=256):
        super().__init__()
        enc = []
        for i in range(len(widths) - 1):
            enc.append(nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2:
                enc.append(nn.ReLU())
        self.encoder = nn.Sequential(*enc)
        rw = widths[::-1]
        dec = []
        for i in range(len(rw) - 1):
            dec.append(nn.Linear(rw[i], rw[i + 1]))
            if i < len(rw) - 2:
                dec.append(nn.ReLU())
        self.decoder = nn.Sequential(*dec)
        self.codebooks = nn.ParameterList([nn.Parameter(torch.randn(K, widths[-1]) * 0.3) for _ in range(levels)])

    def quantize(self, z):
        """Residual quantisation with straight-through estimator; returns (quantised, rq_loss, distances)."""
        residual = z
        q_sum = torch.zeros_like(z)
        losses, dists = [], []
        for cb in self.codebooks:
            d = (residual.pow(2).sum(1, keepdim=True) - 2 * residual @ cb.t() + cb.pow(2).sum(1)[None])
            idx = d.argmin(1)
            q = cb[idx]
            losses.append(F.mse_loss(q, residual.detach()) + 0.25 * F.mse_loss(q.detach(), residual))
            q_st = residual + (q - residual).detach()
            q_sum = q_sum + q_st
            residual = residual - q.detach()
            dists.append(d)
        return q_sum, torch.stack(losses).mean(), torch.stack(dists, 1)

    def forward(self, x):
        z = self.encoder(x)
        q, rq, d = self.quantize(z)
        return self.decoder(q), rq, d


def info_nce(a, b, tau=0.07):
    s = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).t() / tau
    lab = torch.arange(a.shape[0], device=a.device)
    return F.cross_entropy(s, lab)


def sym_kl(dt, ds):
    pt, ps = F.log_softmax(dt, -1), F.log_softmax(ds, -1)
    rows = dt.shape[0] * dt.shape[1]
    kl1 = (pt.exp() * (pt - ps)).sum() / rows
    kl2 = (ps.exp() * (ps - pt)).sum() / rows
    return kl1 + kl2


def unique_first(t):
    """Index of the first occurrence of each distinct value, distinct values ascending (numpy unique)."""
    v, order = t.sort(stable=True)
    keep = torch.ones_like(v, dtype=torch.bool)
    keep[1:] = v[1:] != v[:-1]
    return order[keep]


# ---------------------------------------------------------------- stage runners

def sync(dev):
    if dev.type == 'cuda':
        torch.cuda.synchronize()


CPU_MS = {}


def timed_steps(step, runs, dev, name=None):
    """Wall ms of the first step and of the rest; process CPU ms (all threads) per step go to CPU_MS[name]."""
    times, cpu = [], []
    for _ in range(runs + 1):
        sync(dev)
        t, c = time.perf_counter(), time.process_time()
        step()
        sync(dev)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    if name:
        CPU_MS[name] = cpu[1:]
    return times[0], times[1:]


def summary(first, steps, samples, flops=None, name=None):
    med = median(steps)
    out = dict(samples_per_s=round(samples * 1000 / med, 2), median_step_ms=round(med, 1), first_step_ms=round(first, 1),
               step_ms=[round(s, 1) for s in steps], steps_timed=len(steps))
    if name in CPU_MS:
        mc = median(CPU_MS[name])
        out['median_step_cpu_ms'] = round(mc, 1)
        out['samples_per_cpu_s'] = round(samples * 1000 / mc, 2)
    if flops is not None:
        out['gflop_per_step'] = round(flops / 1e9, 3)
        out['gflops'] = round(flops / 1e9 / (med / 1000), 3)
    return out


class JointSetup:
    """Shared pieces of the joint stages: code table, semantic table, the two models."""

    def __init__(self, a, dev, gen):
        self.dev = dev
        N, L, SEM = a.items, a.max_history, 256
        self.N, self.L = N, L
        self.code = torch.randint(0, 256, (N + 1, 4), generator=gen)
        self.code[0] = -1
        self.sem = (torch.randn(N + 1, SEM, generator=gen) * 0.5).to(dev)
        self.rec = Recommender(N, SEM).to(dev)
        self.tok = Rqvae().to(dev)
        self.code = self.code.to(dev)

    def batch(self, hist, lens, tgt):
        Lb = int(lens.max())
        h = hist[:, :Lb].to(self.dev)
        X = self.code[h].view(h.shape[0], Lb * 4)
        Y = self.code[tgt.to(self.dev)]
        return X, Y, tgt.to(self.dev)


def run_joint(a, dev, want):
    gen = torch.Generator().manual_seed(1)
    s = JointSetup(a, dev, gen)
    B, runs = a.joint_batch, a.runs
    hist, lens, tgt = synthetic(B * (runs + 1), s.N, gen, s.L)
    batches = [(hist[i * B:(i + 1) * B], lens[i * B:(i + 1) * B], tgt[i * B:(i + 1) * B]) for i in range(runs + 1)]
    out = {}
    common = dict(batch=B, padding='each batch padded to its longest history (as the reference); FLOPs unpadded',
                  device=str(dev), shapes=dict(items=s.N, max_history=s.L, mean_history=round(float(lens.float().mean()), 2)))

    if 'joint_rec_step' in want:
        opt = torch.optim.AdamW(s.rec.parameters(), lr=5e-3, weight_decay=0.05)
        s.rec.train()
        s.tok.eval()
        for p in s.tok.parameters():
            p.requires_grad_(False)
        it = iter(batches)

        def rec_step():
            hb, lb, tb = next(it)
            X, Y, T = s.batch(hb, lb, tb)
            U = unique_first(T)
            with torch.no_grad():
                zr_t, _, d_t = s.tok(s.sem[T])
            logits, z_e, h_d = s.rec(X, Y)
            _, _, d_s = s.tok.quantize(z_e)
            loss = F.cross_entropy(logits.reshape(-1, 256), Y.reshape(-1))
            loss = loss + 1e-4 * sym_kl(d_t[U], d_s[U]) + 3e-4 * (info_nce(zr_t[U], h_d[U]) + info_nce(h_d[U], zr_t[U]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(s.rec.parameters(), 1.0)
            opt.step()

        first, steps = timed_steps(rec_step, runs, dev, 'joint_rec_step')
        flops = t5_train_flops(lens) / (runs + 1)
        out['joint_rec_step'] = dict(summary(first, steps, B, flops, 'joint_rec_step'), **common)
        log('joint_rec_step %.1f samples/s' % out['joint_rec_step']['samples_per_s'])
        for p in s.tok.parameters():
            p.requires_grad_(True)

    if 'joint_tok_step' in want:
        opt = torch.optim.AdamW(s.tok.parameters(), lr=1e-4, weight_decay=0.05)
        s.rec.eval()
        s.tok.train()
        it = iter(batches)

        def tok_step():
            hb, lb, tb = next(it)
            X, Y, T = s.batch(hb, lb, tb)
            U = unique_first(T)
            with torch.no_grad():
                _, z_e, h_d = s.rec(X, Y)
            zu = s.sem[T[U]]
            zr_u, rq_u, d_t = s.tok(zu)
            _, _, d_s = s.tok.quantize(z_e[U])
            loss = F.mse_loss(zr_u, zu) + rq_u + 1e-4 * sym_kl(d_t, d_s) + 3e-4 * (info_nce(zr_u, h_d[U]) + info_nce(h_d[U], zr_u))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(s.tok.parameters(), 1.0)
            opt.step()

        first, steps = timed_steps(tok_step, runs, dev, 'joint_tok_step')
        out['joint_tok_step'] = dict(summary(first, steps, B, name='joint_tok_step'), flops_note='tokenizer step FLOPs not counted',
                                     note='excludes the code-table rebuild (the studio times it inside its first batch only)', **common)
        log('joint_tok_step %.1f samples/s' % out['joint_tok_step']['samples_per_s'])

    if 'beam_eval' in want:
        out['beam_eval'] = beam_eval(s, a, dev, gen)
        log('beam_eval %.2f users/s' % out['beam_eval']['users_per_s'])
    return out


@torch.no_grad()
def beam_eval(s, a, dev, gen, beams=20, ret=10, eval_batch=32):
    s.rec.eval()
    users = a.eval_users
    hist, lens, tgt = synthetic(users, s.N, gen, s.L)
    sync(dev)
    t0 = time.perf_counter()
    for i in range(0, users, eval_batch):
        hb, lb, tb = hist[i:i + eval_batch], lens[i:i + eval_batch], tgt[i:i + eval_batch]
        X, _, _ = s.batch(hb, lb, tb)
        B = X.shape[0]
        enc, _, mask_add = s.rec.encode(X)
        enc = enc.repeat_interleave(beams, 0)
        mask_add = mask_add.repeat_interleave(beams, 0)
        scores = torch.full((B, beams), -1e9, device=dev)
        scores[:, 0] = 0
        prefix = torch.zeros(B * beams, 0, dtype=torch.long, device=dev)
        for t in range(4):
            H = s.rec.decode(enc, mask_add, prefix)
            lp = F.log_softmax(H[:, t] @ s.rec.tok[t].weight.t(), -1).view(B, beams, -1)
            cand = (scores[..., None] + lp).view(B, -1)
            top, idx = cand.topk(2 * beams, 1)
            top, idx = top[:, :beams], idx[:, :beams]
            parent, token = idx // 256, idx % 256
            base = (torch.arange(B, device=dev) * beams)[:, None]
            prefix = torch.cat([prefix[(base + parent).view(-1)], token.view(-1, 1)], 1)
            scores = top
        _ = prefix.view(B, beams, 4)[:, :ret].cpu()
    sync(dev)
    sec = time.perf_counter() - t0
    return dict(users=users, beams=beams, eval_batch=eval_batch, seconds=round(sec, 3),
                seconds_per_1000_users=round(sec * 1000 / users, 2), users_per_s=round(users / sec, 3), device=str(dev))


class Sasrec(nn.Module):
    def __init__(self, n_items, L=50, hidden=256, inner=256, layers=4, heads=4, dropout=0.5):
        super().__init__()
        self.item = nn.Embedding(n_items + 1, hidden, padding_idx=0)
        self.pos = nn.Embedding(L, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(hidden, heads, inner, dropout, activation='gelu', batch_first=True, layer_norm_eps=1e-12)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.L = L

    def forward(self, hist, lens):
        B, L = hist.shape
        x = self.drop(self.ln(self.item(hist) + self.pos.weight[None, :L]))
        causal = torch.triu(torch.full((L, L), float('-inf'), device=hist.device), 1)
        h = self.enc(x, mask=causal, src_key_padding_mask=hist == 0)
        last = h[torch.arange(B, device=hist.device), (lens - 1).clamp(min=0)]
        return last @ self.item.weight.t()


def run_sasrec(a, dev):
    gen = torch.Generator().manual_seed(1)
    B, N, L = a.sasrec_batch, a.items, 50
    hist, lens, tgt = synthetic(B, N, gen, L)
    hist, lens, tgt = hist.to(dev), lens.to(dev), tgt.to(dev)
    m = Sasrec(N, L).to(dev).train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)

    def step():
        loss = F.cross_entropy(m(hist, lens), tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    first, steps = timed_steps(step, a.runs, dev, 'sasrec_step')
    return dict(summary(first, steps, B, sasrec_train_flops(B, L, 256, 256, 4, N), 'sasrec_step'), batch=B, device=str(dev),
                note='one pass over the batch (no micro-batches); full-length L = 50 like the studio\'s paper preset')


def run_rqvae(a, dev):
    gen = torch.Generator().manual_seed(7)
    N, dim, B = a.rqvae_items, 256, 1024
    centres = torch.randn(500, dim, generator=gen)
    data = (centres[torch.randint(0, 500, (N,), generator=gen)] + 0.3 * torch.randn(N, dim, generator=gen)).to(dev)
    m = Rqvae().to(dev).train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-4)
    epochs = []
    for _ in range(2):
        perm = torch.randperm(N, generator=gen).to(dev)
        sync(dev)
        t = time.perf_counter()
        for i in range(0, N, B):
            x = data[perm[i:i + B]]
            recon, rq, _ = m(x)
            loss = F.mse_loss(recon, x) + rq
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync(dev)
        epochs.append(time.perf_counter() - t)
    steps = math.ceil(N / B)
    med = epochs[1]
    return dict(samples_per_s=round(N / med, 2), epoch_seconds=round(med, 3), first_epoch_seconds=round(epochs[0], 3),
                median_step_ms=round(med / steps * 1000, 1), gflops=round(rqvae_train_flops(B, [256, 512, 256, 128], 3, 256) / 1e9 / (med / steps), 3),
                batch=B, steps_per_epoch=steps, device=str(dev), note='no k-means init (the studio times it in its first epoch)')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='auto')
    p.add_argument('--stage', action='append')
    p.add_argument('--threads', type=int)
    p.add_argument('--joint-batch', type=int, default=32)
    p.add_argument('--sasrec-batch', type=int, default=256)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--eval-users', type=int, default=64)
    p.add_argument('--items', type=int, default=INSTRUMENT['items'])
    p.add_argument('--rqvae-items', type=int, default=INSTRUMENT['items'])
    p.add_argument('--max-history', type=int, default=50)
    a = p.parse_args()
    want = [x for s in (a.stage or STAGES) for x in s.split(',')]
    for w in want:
        if w not in STAGES:
            p.error('unknown stage %r; known: %s' % (w, ', '.join(STAGES)))
    # Debian's torch build starts with one OpenMP thread here unless told; use every core we may run on
    torch.set_num_threads(a.threads or len(os.sched_getaffinity(0)))
    if a.device == 'auto':
        dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    else:
        dev = torch.device(a.device)
    torch.manual_seed(0)
    info = dict(version=torch.__version__, device=str(dev), cuda_available=torch.cuda.is_available(),
                cuda_build=torch.version.cuda, threads=torch.get_num_threads(), omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'),
                label='PyTorch %s on %s' % (torch.__version__, 'CUDA' if dev.type == 'cuda' else 'CPU (%d threads)' % torch.get_num_threads()))
    if dev.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(dev)
    stages = {}
    c0 = time.process_time()
    if 'sasrec_step' in want:
        stages['sasrec_step'] = run_sasrec(a, dev)
        log('sasrec_step %.1f samples/s' % stages['sasrec_step']['samples_per_s'])
    if 'rqvae_epoch' in want:
        stages['rqvae_epoch'] = run_rqvae(a, dev)
        log('rqvae_epoch %.0f items/s' % stages['rqvae_epoch']['samples_per_s'])
    if any(w.startswith('joint') or w == 'beam_eval' for w in want):
        stages.update(run_joint(a, dev, want))
    info['cpu_seconds'] = round(time.process_time() - c0, 2)
    print(json.dumps(dict(stages=stages, torch=info)))


if __name__ == '__main__':
    main()
