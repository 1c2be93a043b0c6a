"""Checks a "continue on the reference trainer" layout with PyTorch (test/core/io/referenceTorch.test.ts).

Usage: python3 reference_torch_check.py <layout root> <spec.json>

* torch.load(weights_only=True) of every .pt / .pt.rqvae / .pth the spec names;
* the modules of the reference (model.py's Model around HF T5ForConditionalGeneration, vq.py's
  RQVAE, layers.py's MLPLayers) rebuilt from config/<name>.yaml's keys with the reference's
  parameter names -- HF transformers is not installed here, so the T5 is written out below as HF
  computes it (spec section 5.3) -- and load_state_dict(strict=True) into them;
* the tokenizer's codes of the semantic table (RQ argmin per level);
* a teacher-forced forward (logits, z_E, h_D) and the reference's beam search (spec section 5.8)
  on the spec's users, with Recall/NDCG of their targets under the exported code table;
* with `resave`, the loaded modules saved back as the reference saves them (torch.save of the
  state dicts: <epoch>.pt, .pt.rqvae, .code.json, and an RQ-VAE best_collision_*.pth with
  pickle protocol 4), for the studio to read.
Prints one JSON object.
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn as nn
import yaml

torch.set_grad_enabled(False)
root, spec_path = sys.argv[1], sys.argv[2]
spec = json.load(open(spec_path))
cfg = yaml.safe_load(open(f"{root}/{spec['config']}"))
out = {'config_types': {k: type(v).__name__ for k, v in cfg.items()}}


def load(p):
    return torch.load(f"{root}/{p}", map_location='cpu', weights_only=True)


class MLPLayers(nn.Module):
    """layers.py: Dropout, Linear, then ReLU except after the last Linear."""

    def __init__(self, layers, dropout=0.0):
        super().__init__()
        mods = []
        for idx, (i, o) in enumerate(zip(layers[:-1], layers[1:])):
            mods += [nn.Dropout(p=dropout), nn.Linear(i, o)]
            if idx != len(layers) - 2:
                mods.append(nn.ReLU())
        self.mlp_layers = nn.Sequential(*mods)

    def forward(self, x):
        return self.mlp_layers(x)


class VectorQuantizer(nn.Module):
    def __init__(self, n_e, e_dim):
        super().__init__()
        self.embedding = nn.Embedding(n_e, e_dim)

    def forward(self, x):
        w = self.embedding.weight
        d = (x ** 2).sum(1, keepdim=True) + (w ** 2).sum(1, keepdim=True).t() - 2 * x @ w.t()
        idx = d.argmin(-1)
        return self.embedding(idx), idx


class ResidualVectorQuantizer(nn.Module):
    def __init__(self, num_emb_list, e_dim):
        super().__init__()
        self.vq_layers = nn.ModuleList([VectorQuantizer(k, e_dim) for k in num_emb_list])

    def forward(self, x):
        residual, xq, codes = x, 0, []
        for q in self.vq_layers:
            x_res, idx = q(residual)
            residual = residual - x_res
            xq = xq + x_res
            codes.append(idx)
        return xq, torch.stack(codes, -1)


class RQVAE(nn.Module):
    """vq.py's RQVAE built from the config's keys (in_dim = semantic_hidden_size)."""

    def __init__(self, c, in_dim):
        super().__init__()
        dims = [in_dim] + c['layers'] + [c['e_dim']]
        self.encoder = MLPLayers(dims, c['dropout_prob'])
        self.rq = ResidualVectorQuantizer(c['num_emb_list'], c['e_dim'])
        self.decoder = MLPLayers(dims[::-1], c['dropout_prob'])


# ---- HF T5 (T5ForConditionalGeneration, relu FFN, no biases), names as HF writes them --------

class T5LayerNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def bucket(rel, bidirectional, nb=32, maxd=128):
    off = torch.zeros_like(rel)
    if bidirectional:
        nb //= 2
        off = (rel > 0).long() * nb
        n = rel.abs()
    else:
        n = -torch.min(rel, torch.zeros_like(rel))
    exact = nb // 2
    small = n < exact
    big = exact + (torch.log(n.float() / exact) / math.log(maxd / exact) * (nb - exact)).long()
    big = torch.min(big, torch.full_like(big, nb - 1))
    return off + torch.where(small, n, big)


class T5Attention(nn.Module):
    def __init__(self, c, has_bias, bidirectional):
        super().__init__()
        d, h, kv = c['d_model'], c['num_heads'], c['d_kv']
        self.h, self.kv, self.bidirectional = h, kv, bidirectional
        self.q = nn.Linear(d, h * kv, bias=False)
        self.k = nn.Linear(d, h * kv, bias=False)
        self.v = nn.Linear(d, h * kv, bias=False)
        self.o = nn.Linear(h * kv, d, bias=False)
        if has_bias:
            self.relative_attention_bias = nn.Embedding(32, h)

    def position_bias(self, lq, lk):
        rel = torch.arange(lk)[None, :] - torch.arange(lq)[:, None]
        return self.relative_attention_bias(bucket(rel, self.bidirectional)).permute(2, 0, 1)[None]

    def forward(self, x, kv, bias):
        b = x.shape[0]
        split = lambda t: t.view(b, -1, self.h, self.kv).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(kv)), split(self.v(kv))
        scores = q @ k.transpose(-1, -2) + bias  # no 1/sqrt(d) scaling in T5
        w = torch.softmax(scores.float(), -1)
        return self.o((w @ v).transpose(1, 2).reshape(b, -1, self.h * self.kv))


class T5LayerSelfAttention(nn.Module):
    def __init__(self, c, has_bias, bidirectional):
        super().__init__()
        self.SelfAttention = T5Attention(c, has_bias, bidirectional)
        self.layer_norm = T5LayerNorm(c['d_model'])


class T5LayerCrossAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.EncDecAttention = T5Attention(c, False, True)
        self.layer_norm = T5LayerNorm(c['d_model'])


class T5DenseActDense(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wi = nn.Linear(c['d_model'], c['d_ff'], bias=False)
        self.wo = nn.Linear(c['d_ff'], c['d_model'], bias=False)


class T5LayerFF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.DenseReluDense = T5DenseActDense(c)
        self.layer_norm = T5LayerNorm(c['d_model'])

    def forward(self, h):
        y = self.layer_norm(h)
        return h + self.DenseReluDense.wo(torch.relu(self.DenseReluDense.wi(y)))


class T5Block(nn.Module):
    def __init__(self, c, first, decoder):
        super().__init__()
        layers = [T5LayerSelfAttention(c, first, not decoder)]
        if decoder:
            layers.append(T5LayerCrossAttention(c))
        layers.append(T5LayerFF(c))
        self.layer = nn.ModuleList(layers)


class T5Stack(nn.Module):
    def __init__(self, c, shared, n, decoder):
        super().__init__()
        self.embed_tokens = shared
        self.block = nn.ModuleList([T5Block(c, i == 0, decoder) for i in range(n)])
        self.final_layer_norm = T5LayerNorm(c['d_model'])
        self.decoder = decoder

    def forward(self, x, mask, enc=None, enc_mask=None):
        neg = torch.finfo(torch.float32).min
        L = x.shape[1]
        if self.decoder:
            causal = torch.tril(torch.ones(L, L))[None, None]
            m = (1 - causal) * neg
        else:
            m = (1 - mask[:, None, None, :].float()) * neg
        bias = self.block[0].layer[0].SelfAttention.position_bias(L, L) + m
        cross = None if enc is None else (1 - enc_mask[:, None, None, :].float()) * neg
        h = x
        for blk in self.block:
            sa = blk.layer[0]
            h = h + sa.SelfAttention(sa.layer_norm(h), sa.layer_norm(h), bias)
            if self.decoder:
                ca = blk.layer[1]
                h = h + ca.EncDecAttention(ca.layer_norm(h), enc, cross)
            h = blk.layer[-1](h)
        return self.final_layer_norm(h)


class T5ForConditionalGeneration(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.shared = nn.Embedding(1, c['d_model'])  # vocab_size=1
        self.encoder = T5Stack(c, self.shared, c['encoder_layers'], False)
        self.decoder = T5Stack(c, self.shared, c['decoder_layers'], True)
        self.lm_head = nn.Linear(c['d_model'], 1, bias=False)
        self.lm_head.weight = self.shared.weight  # tied, as HF ties them


class Model(nn.Module):
    """model.py's Model: semantic table, one token table per code position, the two adapters."""

    def __init__(self, c, n_items):
        super().__init__()
        d = c['d_model']
        self.model = T5ForConditionalGeneration(c)
        self.semantic_embedding = nn.Embedding(n_items, c['semantic_hidden_size'])
        self.token_embeddings = nn.ModuleList([nn.Embedding(c['code_num'], d) for _ in range(c['code_length'])])
        self.enc_adapter = MLPLayers([d, c['e_dim']])
        self.dec_adapter = MLPLayers([d, c['semantic_hidden_size']])

    def encode(self, codes):
        mask = codes != -1
        emb = torch.stack([self.token_embeddings[p % 4](codes[:, p].clamp(min=0)) for p in range(codes.shape[1])], 1)
        emb = torch.where(mask[..., None], emb, self.model.shared.weight[0])
        return self.model.encoder(emb, mask), mask

    def decode(self, enc, mask, prefix):
        b = prefix.shape[0]
        steps = [self.model.shared.weight[0].expand(b, -1)]
        for t in range(prefix.shape[1]):
            steps.append(self.token_embeddings[t](prefix[:, t]))
        return self.model.decoder(torch.stack(steps, 1), None, enc, mask)


strict = {}
# -- tokenizer: the RQ-VAE .pth (rqvae_path) and the run's .pt.rqvae, strict into vq.py's layout --
tok = RQVAE(cfg, cfg['semantic_hidden_size'])
for key in ('pth', 'rqvae_pt'):
    sd = load(spec[key])
    r = tok.load_state_dict(sd, strict=True)
    strict[key] = {'missing': list(r.missing_keys), 'unexpected': list(r.unexpected_keys), 'n': len(sd)}
# -- recommender: <epoch>.pt strict into model.py's Model ----------------------------------------
emb_map = json.load(open(f"{root}/{spec['emb_map']}"))
rec = Model(cfg, len(emb_map))
sd = load(spec['pt'])
r = rec.load_state_dict(sd, strict=True)
strict['pt'] = {'missing': list(r.missing_keys), 'unexpected': list(r.unexpected_keys), 'n': len(sd)}
out['strict'] = strict
out['tied'] = rec.model.lm_head.weight.data_ptr() == rec.model.shared.weight.data_ptr()
rec.eval()
tok.eval()

# -- the semantic .npy is rows 1..N of the semantic table; the tokenizer's codes of it ------------
sem = np.load(f"{root}/{spec['npy']}")
out['npy_shape'] = list(sem.shape)
out['npy_equals_table'] = bool(np.array_equal(sem, rec.semantic_embedding.weight[1:].numpy()))
xs = torch.tensor(sem)
_, rq_codes = tok.rq(tok.encoder(xs))
out['rq_codes'] = rq_codes.tolist()

# -- teacher-forced forward (spec section 5.4) -----------------------------------------------------
codes = torch.tensor(spec['teacher']['codes'])
labels = torch.tensor(spec['teacher']['labels'])
enc, mask = rec.encode(codes)
hd = rec.decode(enc, mask, labels[:, :3])
out['logits'] = torch.stack([hd[:, i] @ rec.token_embeddings[i].weight.t() for i in range(4)], 1).flatten().tolist()
m = mask[..., None].float()
seq = (enc * m).sum(1) / m.sum(1)
out['z_e'] = rec.enc_adapter(seq).flatten().tolist()
out['h_d'] = rec.dec_adapter(hd[:, 0]).flatten().tolist()

# -- beam search (spec section 5.8) and the metrics of the targets -------------------------------
code_table = json.load(open(f"{root}/{spec['code_json']}"))
beams, ret = cfg['num_beams'], spec['return_beams']
K = cfg['code_num']
rows, hits = [], []
for user in spec['users']:
    hist = torch.tensor([[c for i in user['history'] for c in code_table[i]]])
    enc, mask = rec.encode(hist.repeat(beams, 1))
    seqs = torch.zeros(beams, 0, dtype=torch.long)
    score = torch.full((beams,), -1e9)
    score[0] = 0
    for t in range(4):
        h = rec.decode(enc, mask, seqs)
        lp = torch.log_softmax(h[:, t] @ rec.token_embeddings[t].weight.t(), -1)
        cand = (score[:, None] + lp).flatten()
        top = torch.topk(cand, 2 * beams).indices[:beams]
        parent, token = top // K, top % K
        seqs = torch.cat([seqs[parent], token[:, None]], 1)
        score = cand[top]
    gen = seqs[:ret].tolist()
    target = code_table[user['target']]
    rank = next((i + 1 for i, s in enumerate(gen) if s == target), None)
    rows.append({'codes': gen, 'scores': score[:ret].tolist()})
    hits.append(rank)
out['beams'] = rows
out['ranks'] = hits
n = len(hits)
metric = lambda f: round(sum(f(r) for r in hits) / n, 6)
out['metrics'] = {
    'recall@1': metric(lambda r: 1.0 if r is not None and r <= 1 else 0.0),
    'recall@5': metric(lambda r: 1.0 if r is not None and r <= 5 else 0.0),
    'ndcg@5': metric(lambda r: 1 / math.log2(r + 1) if r is not None and r <= 5 else 0.0),
    'recall@10': metric(lambda r: 1.0 if r is not None and r <= 10 else 0.0),
    'ndcg@10': metric(lambda r: 1 / math.log2(r + 1) if r is not None and r <= 10 else 0.0),
}

# -- the reference writes its own files: Trainer.safe_save (accelerator.save = torch.save of the
#    unwrapped state dicts) and the RQ-VAE trainer (torch.save(state_dict, pickle_protocol=4)) --------
if spec.get('resave'):
    import shutil
    d = f"{root}/{spec['resave']}"
    import os
    os.makedirs(d, exist_ok=True)
    torch.save(rec.state_dict(), f"{d}/9.pt")
    torch.save(tok.state_dict(), f"{d}/9.pt.rqvae")
    torch.save(tok.state_dict(), f"{d}/best_collision_0.0100_gini_0.0200.pth", pickle_protocol=4)
    json.dump(code_table, open(f"{d}/9.code.json", 'w'))
    shutil.copy(f"{root}/{spec['config']}", f"{d}/config.yaml")
print(json.dumps(out))
