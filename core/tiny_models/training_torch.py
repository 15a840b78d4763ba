"""The PyTorch side of training (imported by ``core.tiny_models.training`` only when torch is present).

The modules mirror ``core.tiny_models.model`` exactly (same names, ``x @ W`` orientation on export), so
the NumPy inference reproduces the trained network's outputs.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.tiny_models.training import Plan, cosine_lr


class Block(nn.Module):
    def __init__(self, d: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d, bias=False)
        self.fc2 = nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)

        def heads(z):
            return z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)

        a = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, cfg) -> None:
        super().__init__()
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.context, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg.d_model, cfg.n_heads) for _ in range(cfg.n_layers))
        self.lnf = nn.LayerNorm(cfg.d_model)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def hidden(self, ids):
        x = self.tok_emb(ids) + self.pos_emb.weight[: ids.shape[1]]
        for blk in self.blocks:
            x = blk(x)
        return x

    def logits(self, hidden):
        return self.lnf(hidden) @ self.tok_emb.weight.T


class Eagle(nn.Module):
    """fc on [h_t, emb(x_{t+1})] then one block: predicts h_{t+1}; reuses the target's lnf and head."""

    def __init__(self, cfg) -> None:
        super().__init__()
        self.fc = nn.Linear(2 * cfg.d_model, cfg.d_model, bias=False)
        self.h = Block(cfg.d_model, cfg.n_heads)
        nn.init.normal_(self.fc.weight, std=0.02)

    def forward(self, features, next_emb):
        return self.h(self.fc(torch.cat([features, next_emb], dim=-1)))


def _block_weights(prefix: str, blk: Block) -> dict:
    w = {
        prefix + "ln1.w": blk.ln1.weight,
        prefix + "ln1.b": blk.ln1.bias,
        prefix + "ln2.w": blk.ln2.weight,
        prefix + "ln2.b": blk.ln2.bias,
    }
    for name in ("qkv", "proj", "fc1", "fc2"):
        w[prefix + name] = getattr(blk, name).weight.T
    return {k: v.detach().float().numpy().copy() for k, v in w.items()}


def export_gpt(model: GPT) -> dict:
    w = {
        "tok_emb": model.tok_emb.weight.detach().numpy().copy(),
        "pos_emb": model.pos_emb.weight.detach().numpy().copy(),
        "lnf.w": model.lnf.weight.detach().numpy().copy(),
        "lnf.b": model.lnf.bias.detach().numpy().copy(),
    }
    for i, blk in enumerate(model.blocks):
        w.update(_block_weights(f"l{i}.", blk))
    return w


def export_eagle(head: Eagle) -> dict:
    return {"fc": head.fc.weight.T.detach().numpy().copy(), **_block_weights("h.", head.h)}


def _batches(ids: np.ndarray, plan: Plan, seed: int, salt: int):
    rng = np.random.default_rng([seed, salt])
    n = plan.context + 1
    while True:
        starts = rng.integers(0, len(ids) - n, size=plan.batch)
        yield torch.from_numpy(np.stack([ids[s : s + n] for s in starts]).astype(np.int64))


def _optimise(params, steps: int, plan: Plan, loss_of_batch, batches, log, label: str) -> float:
    opt = torch.optim.AdamW(params, lr=plan.learning_rate, betas=(0.9, 0.95), weight_decay=0.1)
    started = time.perf_counter()
    loss = float("nan")
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, plan.learning_rate)
        loss_t = loss_of_batch(next(batches))
        opt.zero_grad(set_to_none=True)
        loss_t.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loss = float(loss_t.detach())
        if step % 8 == 0 or step == steps - 1:
            log(f"{label} step {step + 1}/{steps} loss {loss:.3f} ({time.perf_counter() - started:.0f} s)")
    return time.perf_counter() - started


@torch.no_grad()
def held_out_perplexity(model: GPT, held: np.ndarray, context: int, max_windows: int = 64) -> float:
    """exp(mean next-token cross-entropy) over non-overlapping held-out windows of ``context`` tokens."""
    model.eval()
    n = context + 1
    windows = [held[i : i + n] for i in range(0, len(held) - n, n)][:max_windows]
    x = torch.from_numpy(np.stack(windows).astype(np.int64))
    total = 0.0
    for chunk in x.split(16):
        logits = model.logits(model.hidden(chunk[:, :-1]))
        total += float(F.cross_entropy(logits.flatten(0, 1), chunk[:, 1:].flatten(), reduction="sum"))
    model.train()
    return math.exp(total / (x.shape[0] * context))


def _soft_ce(student_logits, teacher_logits):
    return -(F.softmax(teacher_logits, -1) * F.log_softmax(student_logits, -1)).sum(-1).mean()


def train_models(torch_mod, plan: Plan, train: np.ndarray, held: np.ndarray, seed: int, log) -> dict:
    """Target first, then the two drafts that learn from it; returns weights and facts per model."""
    target = GPT(plan.target)

    def target_loss(batch):
        logits = target.logits(target.hidden(batch[:, :-1]))
        return F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())

    secs = _optimise(
        list(target.parameters()),
        plan.target_steps,
        plan,
        target_loss,
        _batches(train, plan, seed, 1),
        log,
        "target",
    )
    out = {"target": _facts(target, plan.target, plan.target_steps, secs, held, plan)}
    target.requires_grad_(False)
    target.eval()
    out["standalone"] = _train_standalone(target, plan, train, held, seed, log)
    out["eagle"] = _train_eagle(target, plan, train, held, seed, log)
    return out


def _facts(model: GPT, cfg, steps: int, secs: float, held, plan: Plan) -> dict:
    return {
        "kind": "transformer",
        "config": cfg.to_dict(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "tokens_seen": steps * plan.batch * plan.context,
        "training_seconds": round(secs, 1),
        "held_out_perplexity": round(held_out_perplexity(model, held, plan.context), 3),
        "weights": export_gpt(model),
    }


def _train_standalone(target: GPT, plan: Plan, train, held, seed: int, log) -> dict:
    draft = GPT(plan.draft)

    def loss(batch):
        x = batch[:, :-1]
        with torch.no_grad():
            teacher = target.logits(target.hidden(x))
        return _soft_ce(draft.logits(draft.hidden(x)), teacher)

    secs = _optimise(
        list(draft.parameters()),
        plan.draft_steps,
        plan,
        loss,
        _batches(train, plan, seed, 2),
        log,
        "standalone",
    )
    return _facts(draft, plan.draft, plan.draft_steps, secs, held, plan)


@torch.no_grad()
def eagle_held_out(target: GPT, head: Eagle, held: np.ndarray, context: int) -> tuple[float, float]:
    """Perplexity of the head's next-next-token guesses on held-out text, and top-1 agreement with the target."""
    n = context + 1
    windows = [held[i : i + n] for i in range(0, len(held) - n, n)][:32]
    x = torch.from_numpy(np.stack(windows).astype(np.int64))[:, :-1]
    h = target.hidden(x)
    pred = head(h[:, :-1], target.tok_emb(x[:, 1:]))
    logits = target.logits(pred)
    truth = x[:, 2:]
    ce = F.cross_entropy(logits[:, :-1].flatten(0, 1), truth.flatten())
    agree = (logits.argmax(-1) == target.logits(h[:, 1:]).argmax(-1)).float().mean()
    return math.exp(float(ce)), float(agree)


def _train_eagle(target: GPT, plan: Plan, train, held, seed: int, log) -> dict:
    head = Eagle(plan.target)

    def loss(batch):
        x = batch[:, :-1]
        with torch.no_grad():
            h = target.hidden(x)
            teacher = target.logits(h[:, 1:])
        pred = head(h[:, :-1], target.tok_emb(x[:, 1:]))
        return F.smooth_l1_loss(pred, h[:, 1:]) + _soft_ce(target.logits(pred), teacher)

    secs = _optimise(
        list(head.parameters()), plan.eagle_steps, plan, loss, _batches(train, plan, seed, 3), log, "eagle"
    )
    ppl, agree = eagle_held_out(target, head, held, plan.context)
    return {
        "kind": "eagle_head",
        "config": {"d_model": plan.target.d_model, "n_heads": plan.target.n_heads, "layers": 1},
        "parameters": sum(p.numel() for p in head.parameters()),
        "steps": plan.eagle_steps,
        "tokens_seen": plan.eagle_steps * plan.batch * plan.context,
        "training_seconds": round(secs, 1),
        "held_out_perplexity": round(ppl, 3),
        "held_out_top1_agreement_with_target": round(agree, 4),
        "weights": export_eagle(head),
    }


def load_gpt(cfg, weights: dict) -> GPT:
    """A torch ``GPT`` holding exported (NumPy, ``x @ W``) weights: the inverse of ``export_gpt``."""
    model = GPT(cfg)
    state = {
        "tok_emb.weight": weights["tok_emb"],
        "pos_emb.weight": weights["pos_emb"],
        "lnf.weight": weights["lnf.w"],
        "lnf.bias": weights["lnf.b"],
    }
    for i in range(cfg.n_layers):
        p = f"l{i}."
        for ln in ("ln1", "ln2"):
            state[f"blocks.{i}.{ln}.weight"] = weights[p + ln + ".w"]
            state[f"blocks.{i}.{ln}.bias"] = weights[p + ln + ".b"]
        for name in ("qkv", "proj", "fc1", "fc2"):
            state[f"blocks.{i}.{name}.weight"] = weights[p + name].T
    model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()}
    )
    return model
