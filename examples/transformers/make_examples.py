"""Trains two tiny transformers on synthetic tasks and exports them to ONNX, as PyTorch exports real models:

- text-classifier.onnx: a BERT-style encoder (post-norm, opset 14, so LayerNorm is exported decomposed and GELU as
  an Erf subgraph) with inputs input_ids and attention_mask, trained to tell positive from negative movie reviews
  written from templates ("the plot was not good ."); with tokenizer.json (WordPiece, Hugging Face format);
- vit-quadrant.onnx: a ViT (pre-norm, opset 17 LayerNormalization op, patch 4 on 16×16 images) trained to say in
  which quadrant a bright square lies; with quadrant-example.npy, an image whose square is in quadrant 2.

Deterministic (fixed seeds); runs in well under a minute on a CPU. Usage: python3 make_examples.py (in this folder).
"""
import json
import math
import random

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
random.seed(0)
np.random.seed(0)

# ----------------------------------------------------------------------------------------------------------------
# Text: vocabulary, tokenizer.json, data
# ----------------------------------------------------------------------------------------------------------------
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
NOUNS = ["movie", "film", "plot", "acting", "story", "music", "ending", "cast"]
POS = ["good", "great", "wonderful", "excellent", "brilliant", "fun"]
NEG = ["bad", "terrible", "awful", "boring", "dull", "weak"]
OTHER = ["the", "was", "is", "not", "really", "very", "and", "but", "quite", ".", ",", "!", "##ly"]
WORDS = NOUNS + POS + NEG + OTHER
VOCAB = {w: i for i, w in enumerate(SPECIAL + WORDS)}
MAX_LEN = 16


def tokenizer_json():
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True} for i, t in enumerate(SPECIAL)],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": VOCAB},
    }


def clause():
    """One clause and its polarity (+1/−1): 'the plot was (not) (really) good'."""
    positive = random.random() < 0.5
    adj = random.choice(POS if positive else NEG)
    words = ["the", random.choice(NOUNS), random.choice(["was", "is"])]
    negated = random.random() < 0.3
    if negated:
        words.append("not")
    if random.random() < 0.3:
        words.append(random.choice(["really", "very", "quite"]))
    words.append(adj)
    return words, (1 if positive else -1) * (-1 if negated else 1)


def review():
    """One or two clauses; with two, the second clause decides the label."""
    w1, p1 = clause()
    if random.random() < 0.4:
        w2, p2 = clause()
        return w1 + [random.choice(["and", "but"])] + w2 + ["."], p2
    return w1 + [random.choice([".", "!"])], p1


def encode(words):
    ids = [VOCAB["[CLS]"]] + [VOCAB[w] for w in words] + [VOCAB["[SEP]"]]
    mask = [1] * len(ids) + [0] * (MAX_LEN - len(ids))
    return ids + [0] * (MAX_LEN - len(ids)), mask


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, mask_add):
        b, t, d = x.shape
        q = self.q(x).view(b, t, self.h, self.dh).transpose(1, 2)
        k = self.k(x).view(b, t, self.h, self.dh).transpose(1, 2)
        v = self.v(x).view(b, t, self.h, self.dh).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(self.dh)
        if mask_add is not None:
            s = s + mask_add
        a = torch.softmax(s, dim=-1)
        return self.o((a @ v).transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, d, heads, ffn, pre_norm):
        super().__init__()
        self.pre = pre_norm
        self.attn = Attention(d, heads)
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.up, self.down, self.act = nn.Linear(d, ffn), nn.Linear(ffn, d), nn.GELU()

    def forward(self, x, mask_add=None):
        if self.pre:
            x = x + self.attn(self.n1(x), mask_add)
            return x + self.down(self.act(self.up(self.n2(x))))
        x = self.n1(x + self.attn(x, mask_add))
        return self.n2(x + self.down(self.act(self.up(x))))


class TextClassifier(nn.Module):
    def __init__(self, vocab, d=32, heads=4, ffn=64, layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, MAX_LEN, d) * 0.02)
        self.norm = nn.LayerNorm(d)
        self.blocks = nn.ModuleList(Block(d, heads, ffn, False) for _ in range(layers))
        self.pool, self.head = nn.Linear(d, d), nn.Linear(d, 2)

    def forward(self, input_ids, attention_mask):
        x = self.norm(self.tok(input_ids) + self.pos[:, : input_ids.shape[1]])
        mask_add = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for blk in self.blocks:
            x = blk(x, mask_add)
        return self.head(torch.tanh(self.pool(x[:, 0])))


def train_text():
    data = [review() for _ in range(4000)]
    enc = [encode(w) for w, _ in data]
    ids = torch.tensor([e[0] for e in enc])
    mask = torch.tensor([e[1] for e in enc])
    y = torch.tensor([1 if p > 0 else 0 for _, p in data])
    model = TextClassifier(len(VOCAB))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for step in range(600):
        idx = torch.randint(0, len(data), (64,))
        loss = nn.functional.cross_entropy(model(ids[idx], mask[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(ids, mask).argmax(1) == y).float().mean().item()
    print(f"text classifier: training accuracy {acc:.3f}")
    example = encode("the acting was not good but the story was really wonderful .".split())
    with torch.no_grad():
        ex_ids = torch.tensor([example[0][:15]])
        ex_mask = torch.tensor([example[1][:15]])
        torch.onnx.export(model, (ex_ids, ex_mask), "text-classifier.onnx", input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}, opset_version=14)
    with open("tokenizer.json", "w") as f:
        json.dump(tokenizer_json(), f, indent=1)


# ----------------------------------------------------------------------------------------------------------------
# ViT: which quadrant holds the bright square
# ----------------------------------------------------------------------------------------------------------------
def square_image(quadrant, rng):
    img = rng.normal(0, 0.3, size=(3, 16, 16)).astype(np.float32)
    r0 = (quadrant // 2) * 8 + rng.integers(0, 5)
    c0 = (quadrant % 2) * 8 + rng.integers(0, 5)
    img[:, r0 : r0 + 4, c0 : c0 + 4] += 2.0
    return img


class ViT(nn.Module):
    def __init__(self, d=32, heads=4, ffn=64, layers=2, patch=4, classes=4):
        super().__init__()
        self.embed = nn.Conv2d(3, d, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, (16 // patch) ** 2 + 1, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads, ffn, True) for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

    def forward(self, x):
        p = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), p], dim=1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


def train_vit():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=3000)
    x = torch.tensor(np.stack([square_image(q, rng) for q in labels]))
    y = torch.tensor(labels)
    model = ViT()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for step in range(500):
        idx = torch.randint(0, len(y), (64,))
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    print(f"ViT: training accuracy {acc:.3f}")
    example = square_image(2, np.random.default_rng(42))[None]
    np.save("quadrant-example.npy", example)
    with torch.no_grad():
        torch.onnx.export(model, torch.tensor(example), "vit-quadrant.onnx", input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17)


if __name__ == "__main__":
    train_text()
    train_vit()
